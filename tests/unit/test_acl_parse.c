/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of reading access control lists (control/acl_load.c): every
 * line kind (comments, blanks, CRLF, tabs), the default access of each
 * keyword, the anonymous and user sections (a repeated `user` adds to its
 * section), info and foreach, the example of docs/acl.md, every error
 * with file:line and the size limits, loading from a file, and a 10k-user
 * file. What the compiled lists decide (patterns, deny, subscribe
 * coverage and intersection, '$' topics, randomized cross-checks against a
 * reference) is tested in test_acl_match.c; the helpers both use are in
 * tests/lib/pt_acl_test.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <petrel/acl.h>

#include "pt_acl_test.h"
struct names {
    char buf[8][32];
    unsigned n;
};

static void
collect(void *arg, const char *user, size_t len)
{
    struct names *nm = arg;

    assert_true(nm->n < 8 && len < 32);
    memcpy(nm->buf[nm->n], user, len);
    nm->buf[nm->n][len] = '\0';
    nm->n++;
}

/* ---- parsing ---- */

static void
test_acl_parse_line_kinds(void **state)
{
    struct pt_acl *acl;
    struct pt_acl_info info;
    struct names nm = { 0 };

    (void)state;
    acl = acl_of("# a comment\n"
                 "\n"
                 "   \t\n"
                 "  # an indented comment\n"
                 "topic read anon/r\r\n"
                 "\ttopic\twrite\tanon/w  \n"
                 "user alice\n"
                 "topic alice/rw\n"
                 "pattern read p/%u/r\n"
                 "user bob smith\n"
                 "topic readwrite with space/x y\n"
                 "user alice\n"
                 "topic deny alice/rw/secret\n"
                 "pattern write p/%c/w\n");
    pt_acl_info(acl, &info);
    assert_int_equal(info.users, 2);
    assert_int_equal(info.topics, 5);
    assert_int_equal(info.patterns, 2);
    assert_true(info.bytes > sizeof(info));
    pt_acl_foreach_user(acl, collect, &nm);
    assert_int_equal(nm.n, 2);
    assert_string_equal(nm.buf[0], "alice");
    assert_string_equal(nm.buf[1], "bob smith");

    /* anonymous section, CRLF and tabs */
    SUB_OK(acl, NULL, "c", "anon/r");
    PUB_NO(acl, NULL, "c", "anon/r");
    PUB_OK(acl, NULL, "c", "anon/w");
    SUB_NO(acl, NULL, "c", "anon/w");
    /* the second `user alice` adds to the first section */
    PUB_OK(acl, "alice", "c", "alice/rw");
    PUB_NO(acl, "alice", "c", "alice/rw/secret");
    /* a name and a filter with blanks */
    PUB_OK(acl, "bob smith", "c", "with space/x y");
    PUB_NO(acl, "bob", "c", "with space/x y");
    /* patterns, wherever they are */
    SUB_OK(acl, "bob smith", "c", "p/bob smith/r");
    PUB_OK(acl, "bob smith", "cl", "p/cl/w");
    PUB_OK(acl, NULL, "cl", "p/cl/w");
    pt_acl_free(acl);
    pt_acl_free(NULL);
}

static void
test_acl_default_access(void **state)
{
    struct pt_acl *acl;

    (void)state;
    acl = acl_of("topic both\n"
                 "topic read r\n"
                 "topic write w\n"
                 "topic readwrite rw\n"
                 "topic deny d\n"
                 "topic readwrite d\n"
                 "topic long/abcd1234wxyz\n");
    PUB_OK(acl, NULL, "c", "both");
    SUB_OK(acl, NULL, "c", "both");
    PUB_NO(acl, NULL, "c", "r");
    SUB_OK(acl, NULL, "c", "r");
    PUB_OK(acl, NULL, "c", "w");
    SUB_NO(acl, NULL, "c", "w");
    PUB_OK(acl, NULL, "c", "rw");
    SUB_OK(acl, NULL, "c", "rw");
    PUB_NO(acl, NULL, "c", "d");
    SUB_NO(acl, NULL, "c", "d");
    PUB_NO(acl, NULL, "c", "other");
    /* levels over 8 bytes that differ only inside */
    PUB_OK(acl, NULL, "c", "long/abcd1234wxyz");
    PUB_NO(acl, NULL, "c", "long/abcd1243wxyz");
    SUB_NO(acl, NULL, "c", "long/abcd1243wxyz");
    SUB_NO(acl, NULL, "c", "other");
    pt_acl_free(acl);

    /* an empty file: nothing for anybody */
    acl = acl_of("");
    PUB_NO(acl, NULL, "c", "a");
    SUB_NO(acl, "u", "c", "a");
    pt_acl_free(acl);
}

static void
test_acl_sections(void **state)
{
    struct pt_acl *acl;
    const struct pt_acl_section *anon, *none1, *none2, *al;

    (void)state;
    acl = acl_of("topic anon/#\n"
                 "user alice\n"
                 "topic alice/#\n"
                 "user bob\n");
    anon = pt_acl_section(acl, NULL, 0);
    al = pt_acl_section(acl, "alice", 5);
    none1 = pt_acl_section(acl, "carol", 5);
    none2 = pt_acl_section(acl, "dave", 4);
    assert_non_null(anon);
    assert_non_null(none1);
    assert_ptr_equal(none1, none2);
    assert_ptr_not_equal(anon, none1);
    assert_ptr_not_equal(al, none1);
    /* lengths count, not NUL: "alicex" cut at 5 is alice */
    assert_ptr_equal(pt_acl_section(acl, "alicex", 5), al);
    assert_ptr_equal(pt_acl_section(acl, "alic", 4), none1);
    /* an empty user name is a name, not anonymous */
    assert_ptr_equal(pt_acl_section(acl, "", 0), none1);

    PUB_OK(acl, NULL, "c", "anon/x");
    PUB_NO(acl, NULL, "c", "alice/x");
    PUB_OK(acl, "alice", "c", "alice/x");
    PUB_NO(acl, "alice", "c", "anon/x");    /* users don't get anon's */
    PUB_NO(acl, "bob", "c", "anon/x");      /* empty section */
    PUB_NO(acl, "carol", "c", "anon/x");    /* no section */
    PUB_NO(acl, "", "c", "anon/x");
    pt_acl_free(acl);
}

/* The example of docs/acl.md, line by line. */
static void
test_acl_doc_example(void **state)
{
    struct pt_acl *acl;

    (void)state;
    acl = acl_of("# Anonymous clients: read the public tree, nothing else.\n"
                 "topic read public/#\n"
                 "\n"
                 "pattern readwrite users/%u/#\n"
                 "pattern write clients/%c/status\n"
                 "pattern deny users/%u/config/locked\n"
                 "\n"
                 "user ops\n"
                 "topic read $SYS/#\n"
                 "topic readwrite #\n"
                 "topic deny secrets/#\n"
                 "\n"
                 "user sensor-17\n"
                 "topic write telemetry/sensor-17/+\n");
    SUB_OK(acl, NULL, "c", "public/news/#");
    SUB_NO(acl, NULL, "c", "#");
    PUB_NO(acl, NULL, "c", "public/x");
    PUB_OK(acl, "alice", "c1", "users/alice/a/b");
    PUB_NO(acl, "alice", "c1", "users/bob/a");
    PUB_OK(acl, "alice", "c1", "clients/c1/status");
    PUB_NO(acl, "alice", "c1", "users/alice/config/locked");
    SUB_NO(acl, "ops", "c", "#");
    SUB_OK(acl, "ops", "c", "sensors/#");
    SUB_OK(acl, "ops", "c", "$SYS/broker/#");
    PUB_OK(acl, "sensor-17", "c", "telemetry/sensor-17/temp");
    PUB_NO(acl, "a/b", "c", "users/a/b/x");
    pt_acl_free(acl);
}

/* ---- errors ---- */

struct err_case {
    const char *text;
    const char *want;       /* substring of the message */
};

static const struct err_case err_cases[] = {
    { "# c\n\nbogus a\n", "t.acl:3: unknown keyword `bogus`" },
    { "topic a\n#\nUser x\n", "t.acl:3: unknown keyword `User`" },
    { "topic read\n", "t.acl:1: `topic read` without a filter" },
    { "\n pattern deny  \n", "t.acl:2: `pattern deny` without a filter" },
    { "topic\n", "t.acl:1: `topic` without a filter" },
    { "pattern   \t\n", "t.acl:1: `pattern` without a filter" },
    { "topic rw a b\n", "t.acl:1: bad access `rw`" },
    { "topic Read a\n", "t.acl:1: bad access `Read`" },
    { "user\n", "t.acl:1: `user` without a name" },
    { "topic a\nuser  \t \n", "t.acl:2: `user` without a name" },
    { "topic a/#/b\n", "t.acl:1: invalid filter `a/#/b`" },
    { "topic a#\n", "t.acl:1: invalid filter `a#`" },
    { "topic read a/b+\n", "t.acl:1: invalid filter `a/b+`" },
    { "pattern read +%u\n", "t.acl:1: invalid filter `+%u`" },
    { "topic read \xc0\x80\n", "t.acl:1: invalid filter" },
    { "user \xff\xfe\n", "t.acl:1: user name is not valid UTF-8" },
    { "topic a\ntopic b\r\nuser x\r\nbad\r\n", "t.acl:4: unknown keyword" },
};

static void
test_acl_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        struct pt_acl *acl = (struct pt_acl *)&acl;
        char err[256] = "";
        int rc = pt_acl_parse(err_cases[i].text, strlen(err_cases[i].text),
                              "t.acl", &acl, err, sizeof(err));

        if (rc != -EINVAL || strstr(err, err_cases[i].want) == NULL)
            fail_msg("case %zu: rc %d err \"%s\", want \"%s\"", i, rc, err,
                     err_cases[i].want);
        assert_ptr_equal(acl, (struct pt_acl *)&acl);   /* untouched */
        /* no err buffer: same result, no crash */
        assert_int_equal(pt_acl_parse(err_cases[i].text,
                                      strlen(err_cases[i].text), NULL, &acl,
                                      NULL, 0), -EINVAL);
    }
}

static void
test_acl_errors_limits(void **state)
{
    size_t big = PT_ACL_MAX_LINE + 64;
    char *text = malloc(big), err[256];
    struct pt_acl *acl = NULL;
    size_t n;

    (void)state;
    assert_non_null(text);
    /* a line of PT_ACL_MAX_LINE bytes (CR not counted) is fine */
    n = (size_t)snprintf(text, big, "topic a\n# ");
    memset(text + n, 'x', PT_ACL_MAX_LINE - 2);
    n += PT_ACL_MAX_LINE - 2;
    memcpy(text + n, "\r\ntopic b\n", 10);
    n += 10;
    assert_int_equal(pt_acl_parse(text, n, "t.acl", &acl, err, sizeof(err)),
                     0);
    pt_acl_free(acl);
    /* one more byte is not */
    n = (size_t)snprintf(text, big, "topic a\n# ");
    memset(text + n, 'x', PT_ACL_MAX_LINE - 1);
    n += PT_ACL_MAX_LINE - 1;
    assert_int_equal(pt_acl_parse(text, n, "t.acl", &acl, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "t.acl:2: line longer than 65536 bytes"));

    /* over PT_ACL_MAX_FILE: refused before a byte is read */
    assert_int_equal(pt_acl_parse("", (size_t)PT_ACL_MAX_FILE + 1, "t.acl",
                                  &acl, err, sizeof(err)), -EFBIG);
    assert_non_null(strstr(err, "t.acl: larger than"));

    /* a NUL byte */
    memcpy(text, "topic a\ntopic b\0c\n", 18);
    assert_int_equal(pt_acl_parse(text, 18, "t.acl", &acl, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "t.acl:2: NUL byte"));

    /* 64 levels are fine, 65 are not */
    n = (size_t)snprintf(text, big, "topic a");
    for (int i = 1; i < PT_ACL_MAX_LEVELS; i++)
        n += (size_t)snprintf(text + n, big - n, "/a");
    assert_int_equal(pt_acl_parse(text, n, "t.acl", &acl, err, sizeof(err)),
                     0);
    pt_acl_free(acl);
    n += (size_t)snprintf(text + n, big - n, "/#");
    assert_int_equal(pt_acl_parse(text, n, "t.acl", &acl, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "t.acl:1: filter has 65 levels"));
    free(text);
}

static void
test_acl_load_file(void **state)
{
    char path[] = "/tmp/test_acl_XXXXXX", err[512];
    const char *text = "user u\ntopic write a/#\n\nfoo\n";
    struct pt_acl *acl = NULL;
    int fd;

    (void)state;
    assert_int_equal(pt_acl_load("/nonexistent/acl", &acl, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/acl: "));
    assert_null(acl);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(pt_acl_load(path, &acl, err, sizeof(err)), -EINVAL);
    {
        char want[600];

        snprintf(want, sizeof(want), "%s:4: unknown keyword `foo`", path);
        assert_memory_equal(err, want, strlen(want));
    }
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, text, 22, 0), 22);  /* no last newline */
    close(fd);
    assert_int_equal(pt_acl_load(path, &acl, err, sizeof(err)), 0);
    PUB_OK(acl, "u", "c", "a/b");
    PUB_NO(acl, "u", "c", "b");
    pt_acl_free(acl);
    unlink(path);
}

/* ---- scale ---- */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
test_acl_many_users(void **state)
{
    const unsigned users = 10000;
    size_t cap = (size_t)users * 128 + 256, n = 0;
    char *text = malloc(cap), name[32], topic[64];
    struct pt_acl *acl;
    struct pt_acl_info info;
    double t0, t_load, t_check;

    (void)state;
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n,
                          "pattern readwrite clients/%%c/#\n");
    for (unsigned i = 0; i < users; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "user user%05u\n"
                              "topic readwrite home/user%05u/#\n"
                              "topic read shared/+/status\n"
                              "topic deny home/user%05u/locked\n",
                              i, i, i);
    t0 = now_s();
    acl = acl_of(text);
    t_load = now_s() - t0;
    pt_acl_info(acl, &info);
    assert_int_equal(info.users, users);
    assert_int_equal(info.topics, 3 * users);
    assert_int_equal(info.patterns, 1);

    t0 = now_s();
    for (unsigned i = 0; i < users; i++) {
        unsigned other = (i * 7919u + 1) % users;

        snprintf(name, sizeof(name), "user%05u", i);
        snprintf(topic, sizeof(topic), "home/user%05u/x", i);
        PUB_OK(acl, name, "cid", topic);
        snprintf(topic, sizeof(topic), "home/user%05u/locked", i);
        PUB_NO(acl, name, "cid", topic);
        if (other != i) {
            snprintf(topic, sizeof(topic), "home/user%05u/x", other);
            PUB_NO(acl, name, "cid", topic);
        }
        SUB_OK(acl, name, "cid", "shared/a/status");
        SUB_NO(acl, name, "cid", "shared/#");
    }
    t_check = now_s() - t0;
    PUB_NO(acl, "user10000", "cid", "home/user10000/x");
    PUB_OK(acl, "user10000", "cid", "clients/cid/x");
    pt_acl_free(acl);
    free(text);
    /* generous bounds (sanitizer builds, shared CPUs): both are well
     * under 100 ms in a release build */
    if (t_load > 2.0 || t_check > 2.0)
        fail_msg("10k users: load %.3f s, 50k checks %.3f s", t_load,
                 t_check);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_parse_line_kinds),
        cmocka_unit_test(test_acl_default_access),
        cmocka_unit_test(test_acl_sections),
        cmocka_unit_test(test_acl_doc_example),
        cmocka_unit_test(test_acl_errors),
        cmocka_unit_test(test_acl_errors_limits),
        cmocka_unit_test(test_acl_load_file),
        cmocka_unit_test(test_acl_many_users),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
