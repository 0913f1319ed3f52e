/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the password file (control/auth_passwd.c) against vectors
 * written by mosquitto_passwd: parsing, verification, hashing and
 * pt_passwd_file_update, plus the SipHash the lookup table keys on. The
 * failed-login throttle (control/auth_throttle.c) is tested apart, in
 * test_auth_throttle.c.
 *
 * Fixtures live in tests/unit/auth/ (found through $PT_AUTH_FIXTURES):
 * mosquitto.passwd (verbatim mosquitto_passwd 2.0.11 output),
 * crafted.passwd (vectors it cannot write, with the commands that made
 * them), passwords.txt (the clear text of both), bad/ (one malformed kind
 * per file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <petrel/auth.h>
#include <petrel/siphash.h>

static const char *
fixtures(void)
{
    const char *d = getenv("PT_AUTH_FIXTURES");
    struct stat st;

    if (d != NULL)
        return d;
    /* run by hand from the source root or a build directory */
    if (stat("tests/unit/auth/passwords.txt", &st) == 0)
        return "tests/unit/auth";
    if (stat("../tests/unit/auth/passwords.txt", &st) == 0)
        return "../tests/unit/auth";
    fail_msg("PT_AUTH_FIXTURES is not set (run through meson test)");
    return NULL;
}

static void
fixture(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", fixtures(), name);
}

/* The whole file as a NUL-terminated malloc'd string (NULL if missing). */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    if (f == NULL)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void
spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static enum pt_auth_result
check(const struct pt_passwd *pw, const char *user, const char *pass)
{
    return pt_passwd_check(pw, user, strlen(user), pass, strlen(pass));
}

/* ---- SipHash ---- */

/* Reference vectors: key 00..0f, message 00..len-1 (the SipHash paper's;
 * cross-checked with `openssl mac ... SIPHASH`). */
static void
test_auth_siphash_vectors(void **state)
{
    static const struct { size_t len; uint64_t h; } v[] = {
        { 0, 0x726fdb47dd0e0e31ull },
        { 1, 0x74f839c593dc67fdull },
        { 8, 0x93f5f5799a932462ull },
        { 15, 0xa129ca6149be45e5ull },
        { 63, 0x958a324ceb064572ull },
    };
    uint8_t key[16], msg[64];

    (void)state;
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(pt_siphash(key, msg, v[i].len), v[i].h);
    /* the two-word form TCP uses is the same function on 16 bytes */
    for (int k = 0; k < 4; k++) {
        uint64_t m0, m1;

        msg[k] ^= 0x5a;
        memcpy(&m0, msg, 8);
        memcpy(&m1, msg + 8, 8);
        assert_int_equal(pt_siphash_2w(key, m0, m1), pt_siphash(key, msg, 16));
    }
}

/* ---- password file ---- */

/* Every line of passwords.txt verifies against its file; a wrong password
 * (one byte more, one less, empty, another user's) does not. */
static void
test_auth_vectors_verify(void **state)
{
    char path[512], err[256], *list, *save = NULL;
    struct pt_passwd *mq = NULL, *cr = NULL, *pw;
    unsigned seen = 0;

    (void)state;
    fixture(path, sizeof(path), "mosquitto.passwd");
    assert_int_equal(pt_passwd_load(path, &mq, err, sizeof(err)), 0);
    assert_int_equal(pt_passwd_count(mq), 5);
    fixture(path, sizeof(path), "crafted.passwd");
    assert_int_equal(pt_passwd_load(path, &cr, err, sizeof(err)), 0);
    assert_int_equal(pt_passwd_count(cr), 2);

    fixture(path, sizeof(path), "passwords.txt");
    list = slurp(path);
    assert_non_null(list);
    for (char *l = strtok_r(list, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        char *file, *user, *pass, wrong[128];
        size_t n;

        if (l[0] == '#')
            continue;
        file = l;
        user = strchr(file, '\t');
        assert_non_null(user);
        *user++ = '\0';
        pass = strchr(user, '\t');
        assert_non_null(pass);
        *pass++ = '\0';
        pw = strcmp(file, "mosquitto.passwd") == 0 ? mq : cr;
        assert_int_equal(check(pw, user, pass), PT_AUTH_OK);
        n = strlen(pass);
        snprintf(wrong, sizeof(wrong), "%sx", pass);
        assert_int_equal(check(pw, user, wrong), PT_AUTH_BAD_PASSWORD);
        assert_int_equal(pt_passwd_check(pw, user, strlen(user), pass, n - 1),
                         PT_AUTH_BAD_PASSWORD);
        assert_int_equal(check(pw, user, ""), PT_AUTH_BAD_PASSWORD);
        wrong[0] ^= 0x20;
        wrong[n] = '\0';
        assert_int_equal(check(pw, user, wrong), PT_AUTH_BAD_PASSWORD);
        seen++;
    }
    assert_int_equal(seen, 7);
    /* another user's password */
    assert_int_equal(check(mq, "alice", "x"), PT_AUTH_BAD_PASSWORD);
    assert_int_equal(check(mq, "dave", "wonderland"), PT_AUTH_BAD_PASSWORD);
    free(list);
    pt_passwd_free(mq);
    pt_passwd_free(cr);
}

static void
test_auth_unknown_user(void **state)
{
    char path[512], err[256];
    struct pt_passwd *pw = NULL;

    (void)state;
    fixture(path, sizeof(path), "mosquitto.passwd");
    assert_int_equal(pt_passwd_load(path, &pw, err, sizeof(err)), 0);
    assert_int_equal(check(pw, "mallory", "wonderland"), PT_AUTH_UNKNOWN_USER);
    assert_int_equal(check(pw, "alic", "wonderland"), PT_AUTH_UNKNOWN_USER);
    assert_int_equal(check(pw, "alicee", "wonderland"), PT_AUTH_UNKNOWN_USER);
    assert_int_equal(check(pw, "Alice", "wonderland"), PT_AUTH_UNKNOWN_USER);
    assert_int_equal(check(pw, "", "wonderland"), PT_AUTH_UNKNOWN_USER);
    /* the length counts, not a NUL */
    assert_int_equal(pt_passwd_check(pw, "alice", 6, "wonderland", 10),
                     PT_AUTH_UNKNOWN_USER);
    assert_int_equal(pt_passwd_check(pw, "alice", 5, "wonderland", 10),
                     PT_AUTH_OK);
    assert_int_equal(pt_passwd_check(NULL, "alice", 5, "wonderland", 10),
                     PT_AUTH_UNKNOWN_USER);
    pt_passwd_free(pw);
}

/* 200 users "x", "xx", ... each with its own password, longest first so
 * that short names often probe past longer ones: the lookup must compare
 * whole names, not prefixes. */
static void
test_auth_many_prefix_users(void **state)
{
    enum { N = 200 };
    char *text = malloc(N * (N + PT_PASSWD_HASH_MAX + 2)), name[N + 1];
    char pass[16], hash[PT_PASSWD_HASH_MAX], err[256];
    struct pt_passwd *pw = NULL;
    size_t n = 0;

    (void)state;
    assert_non_null(text);
    for (int k = N; k >= 1; k--) {
        snprintf(pass, sizeof(pass), "pw%d", k);
        assert_int_equal(pt_passwd_hash(pass, strlen(pass), hash,
                                        sizeof(hash)), 0);
        memset(name, 'x', (size_t)k);
        n += (size_t)sprintf(text + n, "%.*s:%s\n", k, name, hash);
    }
    assert_int_equal(pt_passwd_parse(text, n, "mem", &pw, err, sizeof(err)),
                     0);
    assert_int_equal(pt_passwd_count(pw), N);
    for (int k = 1; k <= N; k++) {
        snprintf(pass, sizeof(pass), "pw%d", k);
        assert_int_equal(pt_passwd_check(pw, name, (size_t)k, pass,
                                         strlen(pass)), PT_AUTH_OK);
    }
    memset(name, 'y', 1);
    assert_int_equal(pt_passwd_check(pw, name, 1, "pw1", 3),
                     PT_AUTH_UNKNOWN_USER);
    pt_passwd_free(pw);
    free(text);
}

struct names {
    char buf[256];
    size_t n;
};

static void
collect(void *arg, const char *user, size_t len)
{
    struct names *s = arg;

    assert_int_equal(user[len], '\0');
    s->n += (size_t)snprintf(s->buf + s->n, sizeof(s->buf) - s->n, "%.*s,",
                             (int)len, user);
}

/* Blank lines, comments, CRLF, blanks around the fields, a last line
 * without '\n'; user names in file order; an empty file. */
static void
test_auth_parse_accepts(void **state)
{
    static const char text[] =
        "# comment\n"
        "\n"
        "   \t\n"
        "carol:$6$f/Pr+hshoKyih3zi$WyCzRLg2OOAf28vKBMcCnuoFuNpvgnridJ58iWrg"
        "/MWrXZXbH0CrU4ZqgkwFFIIYowmiU5hkMkhHZywQiRtFLQ==\r\n"
        "#alice:$6$garbage\n"
        " alice\t: $7$101$+T0+php38SivcOab$FH2190r9lCn8ZZbFYjMY4fgl0XuBpSWw"
        "OKVSOadzRcOGe6u0W4/JRHux/Zy7GnnfdqZOy2hrUw6x8KPLJp2r2w== ";
    struct pt_passwd *pw = NULL;
    struct names s = { .n = 0 };
    char err[256];

    (void)state;
    assert_int_equal(pt_passwd_parse(text, strlen(text), "mem", &pw, err,
                                     sizeof(err)), 0);
    assert_int_equal(pt_passwd_count(pw), 2);
    pt_passwd_foreach(pw, collect, &s);
    assert_string_equal(s.buf, "carol,alice,");
    assert_int_equal(check(pw, "alice", "wonderland"), PT_AUTH_OK);
    assert_int_equal(check(pw, "carol", "carol-old-sha512"), PT_AUTH_OK);
    pt_passwd_free(pw);

    pw = NULL;
    assert_int_equal(pt_passwd_parse("", 0, "mem", &pw, err, sizeof(err)), 0);
    assert_int_equal(pt_passwd_count(pw), 0);
    assert_int_equal(check(pw, "alice", "wonderland"), PT_AUTH_UNKNOWN_USER);
    pt_passwd_free(pw);
    pw = NULL;
    assert_int_equal(pt_passwd_parse(NULL, 0, "mem", &pw, err, sizeof(err)),
                     0);
    assert_int_equal(pt_passwd_count(pw), 0);
    pt_passwd_free(pw);
}

/* Each malformed kind is refused with "path:line: reason", and the
 * message never quotes the hash. */
static void
test_auth_malformed_files(void **state)
{
    static const struct { const char *file; unsigned line; const char *why; }
    bad[] = {
        { "no_colon", 3, "no ':'" },
        { "empty_user", 2, "empty user name" },
        { "empty_hash", 3, "no hash" },
        { "plain_text", 2, "plain-text" },
        { "argon2id", 3, "unsupported hash type" },
        { "iterations_zero", 2, "iteration count" },
        { "iterations_text", 2, "iteration count" },
        { "iterations_huge", 2, "iteration count" },
        { "salt_base64", 2, "salt is not valid base64" },
        { "salt_length", 3, "salt is not 12 or 64 bytes" },
        { "digest_base64", 2, "digest is not valid base64" },
        { "digest_padding", 2, "digest is not valid base64" },
        { "digest_length", 2, "digest is not 64 bytes" },
        { "missing_field", 2, "is not $7$<iterations>$<salt>$<digest>" },
        { "extra_field", 2, "is not $6$<salt>$<digest>" },
        { "second_colon", 2, "':' in the hash" },
        { "duplicate", 4, "duplicate user 'alice' (first on line 1)" },
        { "control_user", 2, "control character" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[512], name[64], want[600], err[512], *text, *line, *hash;
        struct pt_passwd *pw = NULL;

        snprintf(name, sizeof(name), "bad/%s.passwd", bad[i].file);
        fixture(path, sizeof(path), name);
        err[0] = '\0';
        assert_int_equal(pt_passwd_load(path, &pw, err, sizeof(err)),
                         -EINVAL);
        assert_null(pw);
        snprintf(want, sizeof(want), "%s:%u: ", path, bad[i].line);
        if (strncmp(err, want, strlen(want)) != 0 ||
            strstr(err, bad[i].why) == NULL)
            fail_msg("%s: got \"%s\", want \"%s...%s\"", bad[i].file, err,
                     want, bad[i].why);
        /* no 8-byte piece of the offending line's hash is in the message */
        text = slurp(path);
        assert_non_null(text);
        line = text;
        for (unsigned l = 1; l < bad[i].line; l++)
            line = strchr(line, '\n') + 1;
        *strchr(line, '\n') = '\0';
        hash = strchr(line, ':') != NULL ? strchr(line, ':') + 1 : line;
        for (size_t o = 0; o + 8 <= strlen(hash); o++) {
            char piece[9];

            memcpy(piece, hash + o, 8);
            piece[8] = '\0';
            if (strstr(err + strlen(want), piece) != NULL)
                fail_msg("%s: message \"%s\" quotes the hash", bad[i].file,
                         err);
        }
        free(text);
    }
}

static void
test_auth_missing_file(void **state)
{
    struct pt_passwd *pw = NULL;
    char err[256];

    (void)state;
    assert_int_equal(pt_passwd_load("/nonexistent/pw", &pw, err,
                                     sizeof(err)), -ENOENT);
    assert_null(pw);
    assert_non_null(strstr(err, "/nonexistent/pw"));
}

static bool
b64ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
            return false;
    return true;
}

/* "$7$101$" + base64(12 bytes) + "$" + base64(64 bytes): mosquitto_passwd's
 * shape; it verifies; two hashes of one password differ (random salt). */
static void
test_auth_hash_roundtrip(void **state)
{
    char h1[PT_PASSWD_HASH_MAX], h2[PT_PASSWD_HASH_MAX], line[256], err[256];
    static const char pass[] = "correct horse battery staple";
    struct pt_passwd *pw = NULL;

    (void)state;
    assert_int_equal(pt_passwd_hash(pass, strlen(pass), h1, sizeof(h1)), 0);
    assert_int_equal(strlen(h1), 7 + 16 + 1 + 88);
    assert_memory_equal(h1, "$7$101$", 7);
    assert_true(b64ok(h1 + 7, 16));
    assert_int_equal(h1[23], '$');
    assert_true(b64ok(h1 + 24, 86));
    assert_string_equal(h1 + 110, "==");

    assert_int_equal(pt_passwd_hash(pass, strlen(pass), h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2);

    snprintf(line, sizeof(line), "u1:%s\nu2:%s\n", h1, h2);
    assert_int_equal(pt_passwd_parse(line, strlen(line), "mem", &pw, err,
                                     sizeof(err)), 0);
    assert_int_equal(check(pw, "u1", pass), PT_AUTH_OK);
    assert_int_equal(check(pw, "u2", pass), PT_AUTH_OK);
    assert_int_equal(check(pw, "u1", "correct horse battery stapler"),
                     PT_AUTH_BAD_PASSWORD);
    pt_passwd_free(pw);

    /* a binary password with a NUL byte: every byte counts */
    assert_int_equal(pt_passwd_hash("a\0b", 3, h1, sizeof(h1)), 0);
    snprintf(line, sizeof(line), "u:%s\n", h1);
    pw = NULL;
    assert_int_equal(pt_passwd_parse(line, strlen(line), "mem", &pw, err,
                                     sizeof(err)), 0);
    assert_int_equal(pt_passwd_check(pw, "u", 1, "a\0b", 3), PT_AUTH_OK);
    assert_int_equal(pt_passwd_check(pw, "u", 1, "a\0c", 3),
                     PT_AUTH_BAD_PASSWORD);
    assert_int_equal(pt_passwd_check(pw, "u", 1, "a", 1),
                     PT_AUTH_BAD_PASSWORD);
    pt_passwd_free(pw);

    /* exactly enough room, and one byte less */
    assert_int_equal(pt_passwd_hash("x", 1, h1, 113), 0);
    assert_int_equal(pt_passwd_hash("x", 1, h1, 112), -ERANGE);
    assert_string_equal(h1, "");
}

/* ---- file update ---- */

struct tmpdir {
    char dir[64];
    char path[128];
};

static void
tmpdir_make(struct tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/pt_test_auth_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/pw", t->dir);
}

/* Entries in the directory (the temp file must not be among them). */
static int
tmpdir_entries(const struct tmpdir *t)
{
    DIR *d = opendir(t->dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            assert_null(strstr(e->d_name, ".tmp."));
            n++;
        }
    closedir(d);
    return n;
}

static void
tmpdir_remove(const struct tmpdir *t)
{
    unlink(t->path);
    assert_int_equal(rmdir(t->dir), 0);
}

static void
assert_mode_0600(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static struct pt_passwd *
load_ok(const char *path)
{
    struct pt_passwd *pw = NULL;
    char err[256];

    if (pt_passwd_load(path, &pw, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return pw;
}

#define ALICE "alice:$7$101$+T0+php38SivcOab$FH2190r9lCn8ZZbFYjMY4fgl0XuBpSW" \
    "wOKVSOadzRcOGe6u0W4/JRHux/Zy7GnnfdqZOy2hrUw6x8KPLJp2r2w=="
#define CAROL "carol:$6$f/Pr+hshoKyih3zi$WyCzRLg2OOAf28vKBMcCnuoFuNpvgnridJ58i" \
    "Wrg/MWrXZXbH0CrU4ZqgkwFFIIYowmiU5hkMkhHZywQiRtFLQ=="

/* Add, change and delete keep every other line verbatim and in order. */
static void
test_auth_file_update_edits(void **state)
{
    static const char head[] = "# users of the test\n\n" ALICE "\n";
    static const char mid[] = "  # indented comment\r\n";
    static const char tail[] = CAROL;   /* no final newline */
    char before[1024], err[256], *now, *p;
    struct pt_passwd *pw;
    struct tmpdir t;
    mode_t um;

    (void)state;
    tmpdir_make(&t);
    snprintf(before, sizeof(before), "%s bob :$6$old\n%s%s", head, mid, tail);
    spit(t.path, before);
    um = umask(0);              /* the file is 0600 whatever the umask */

    /* add: appended after a '\n' closing the unterminated last line */
    assert_int_equal(pt_passwd_file_update(t.path, "zed", "zzz", err,
                                           sizeof(err)), 0);
    now = slurp(t.path);
    assert_memory_equal(now, before, strlen(before));
    assert_memory_equal(now + strlen(before), "\nzed:$7$101$", 12);
    assert_int_equal(now[strlen(now) - 1], '\n');
    assert_int_equal(strchr(now + strlen(before) + 1, '\n') - now + 1,
                     (long)strlen(now));
    free(now);
    assert_mode_0600(t.path);
    assert_int_equal(tmpdir_entries(&t), 1);

    /* change bob: replaced in place (his old line had a bad hash) */
    assert_int_equal(pt_passwd_file_update(t.path, "bob", "builder", err,
                                           sizeof(err)), 0);
    now = slurp(t.path);
    assert_memory_equal(now, head, strlen(head));
    p = now + strlen(head);
    assert_memory_equal(p, "bob:$7$101$", 11);
    p = strchr(p, '\n') + 1;
    assert_memory_equal(p, mid, strlen(mid));
    p += strlen(mid);
    assert_memory_equal(p, tail, strlen(tail));
    assert_memory_equal(p + strlen(tail), "\nzed:$7$101$", 12);
    free(now);
    pw = load_ok(t.path);
    assert_int_equal(pt_passwd_count(pw), 4);
    assert_int_equal(check(pw, "bob", "builder"), PT_AUTH_OK);
    assert_int_equal(check(pw, "zed", "zzz"), PT_AUTH_OK);
    assert_int_equal(check(pw, "alice", "wonderland"), PT_AUTH_OK);
    assert_int_equal(check(pw, "carol", "carol-old-sha512"), PT_AUTH_OK);
    pt_passwd_free(pw);

    /* change zed again: the old password stops working */
    assert_int_equal(pt_passwd_file_update(t.path, "zed", "new", err,
                                           sizeof(err)), 0);
    pw = load_ok(t.path);
    assert_int_equal(check(pw, "zed", "zzz"), PT_AUTH_BAD_PASSWORD);
    assert_int_equal(check(pw, "zed", "new"), PT_AUTH_OK);
    pt_passwd_free(pw);

    /* delete alice: only her line goes */
    before[0] = '\0';
    now = slurp(t.path);
    p = strstr(now, ALICE "\n");
    assert_non_null(p);
    snprintf(before, sizeof(before), "%.*s%s", (int)(p - now), now,
             p + strlen(ALICE) + 1);
    free(now);
    assert_int_equal(pt_passwd_file_update(t.path, "alice", NULL, err,
                                           sizeof(err)), 0);
    now = slurp(t.path);
    assert_string_equal(now, before);
    free(now);

    /* deleting her again: -ENOENT and nothing changes */
    assert_int_equal(pt_passwd_file_update(t.path, "alice", NULL, err,
                                           sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "alice"));
    now = slurp(t.path);
    assert_string_equal(now, before);
    free(now);
    assert_mode_0600(t.path);
    assert_int_equal(tmpdir_entries(&t), 1);
    umask(um);
    tmpdir_remove(&t);
}

/* A missing file is created by an add (mode 0600), not by a delete; a
 * user listed twice ends up listed once. */
static void
test_auth_file_update_create_and_duplicates(void **state)
{
    char err[256], *now;
    struct pt_passwd *pw;
    struct tmpdir t;

    (void)state;
    tmpdir_make(&t);
    assert_int_equal(pt_passwd_file_update(t.path, "alice", NULL, err,
                                           sizeof(err)), -ENOENT);
    assert_int_equal(tmpdir_entries(&t), 0);
    assert_int_equal(pt_passwd_file_update(t.path, "alice", "a", err,
                                           sizeof(err)), 0);
    assert_mode_0600(t.path);
    now = slurp(t.path);
    assert_memory_equal(now, "alice:$7$101$", 13);
    assert_int_equal(strlen(now), 6 + 112 + 1);
    free(now);

    spit(t.path, ALICE "\n" CAROL "\n" ALICE "\n");
    assert_int_equal(pt_passwd_file_update(t.path, "alice", "again", err,
                                           sizeof(err)), 0);
    pw = load_ok(t.path);
    assert_int_equal(pt_passwd_count(pw), 2);
    assert_int_equal(check(pw, "alice", "again"), PT_AUTH_OK);
    pt_passwd_free(pw);
    now = slurp(t.path);
    assert_memory_equal(now, "alice:$7$101$", 13);
    free(now);
    tmpdir_remove(&t);
}

/* The file is replaced, not rewritten: a reader holding the old file
 * still reads all of it, and the inode changes. A temp file in the way
 * makes the update fail and leaves the file alone. */
static void
test_auth_file_update_atomic(void **state)
{
    char err[256], tmp[200], buf[512];
    struct stat a, b;
    struct tmpdir t;
    int fd;

    (void)state;
    tmpdir_make(&t);
    spit(t.path, ALICE "\n");
    assert_int_equal(stat(t.path, &a), 0);
    fd = open(t.path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pt_passwd_file_update(t.path, "alice", NULL, err,
                                           sizeof(err)), 0);
    assert_int_equal(stat(t.path, &b), 0);
    assert_int_not_equal(a.st_ino, b.st_ino);
    assert_int_equal(b.st_size, 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)strlen(ALICE) + 1);
    close(fd);
    assert_int_equal(tmpdir_entries(&t), 1);

    /* a directory where the temp file goes: refused, file untouched */
    spit(t.path, CAROL "\n");
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", t.path, (long)getpid());
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_true(pt_passwd_file_update(t.path, "bob", "b", err,
                                      sizeof(err)) < 0);
    assert_non_null(strstr(err, ".tmp."));
    assert_int_equal(rmdir(tmp), 0);
    {
        char *now = slurp(t.path);

        assert_string_equal(now, CAROL "\n");
        free(now);
    }
    tmpdir_remove(&t);
}

/* A write that fails (here: past RLIMIT_FSIZE) leaves the old file as it
 * was and no temp file behind. */
static void
test_auth_file_update_write_fails(void **state)
{
    struct rlimit old, small;
    char err[256], *now;
    struct tmpdir t;

    (void)state;
    tmpdir_make(&t);
    spit(t.path, ALICE "\n");
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(pt_passwd_file_update(t.path, "bob", "b", err,
                                           sizeof(err)), -EFBIG);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_non_null(strstr(err, "write"));
    now = slurp(t.path);
    assert_string_equal(now, ALICE "\n");
    free(now);
    assert_int_equal(tmpdir_entries(&t), 1);
    tmpdir_remove(&t);
}

static void
test_auth_file_update_rejects(void **state)
{
    static const char *names[] = {
        "", "a:b", "a\tb", "a\nb", "a\rb", "\x01", "del\x7f", " lead",
        "trail ", "\ttab",
    };
    char err[256], *longname;
    struct pt_passwd *pw;
    struct tmpdir t;

    (void)state;
    tmpdir_make(&t);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        err[0] = '\0';
        assert_int_equal(pt_passwd_file_update(t.path, names[i], "pw", err,
                                               sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
        assert_int_equal(pt_passwd_file_update(t.path, names[i], NULL, err,
                                               sizeof(err)), -EINVAL);
    }
    assert_int_equal(pt_passwd_file_update(t.path, "ok", "", err,
                                           sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "password"));

    longname = malloc(PT_PASSWD_USER_MAX + 2);
    assert_non_null(longname);
    memset(longname, 'n', PT_PASSWD_USER_MAX + 1);
    longname[PT_PASSWD_USER_MAX + 1] = '\0';
    assert_int_equal(pt_passwd_file_update(t.path, longname, "pw", err,
                                           sizeof(err)), -EINVAL);
    assert_int_equal(tmpdir_entries(&t), 0);    /* nothing was written */

    /* 65535 bytes is allowed, and loads */
    longname[PT_PASSWD_USER_MAX] = '\0';
    assert_int_equal(pt_passwd_file_update(t.path, longname, "pw", err,
                                           sizeof(err)), 0);
    pw = load_ok(t.path);
    assert_int_equal(pt_passwd_check(pw, longname, PT_PASSWD_USER_MAX, "pw",
                                     2), PT_AUTH_OK);
    pt_passwd_free(pw);
    free(longname);
    tmpdir_remove(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_siphash_vectors),
        cmocka_unit_test(test_auth_vectors_verify),
        cmocka_unit_test(test_auth_unknown_user),
        cmocka_unit_test(test_auth_many_prefix_users),
        cmocka_unit_test(test_auth_parse_accepts),
        cmocka_unit_test(test_auth_malformed_files),
        cmocka_unit_test(test_auth_missing_file),
        cmocka_unit_test(test_auth_hash_roundtrip),
        cmocka_unit_test(test_auth_file_update_edits),
        cmocka_unit_test(test_auth_file_update_create_and_duplicates),
        cmocka_unit_test(test_auth_file_update_atomic),
        cmocka_unit_test(test_auth_file_update_write_fails),
        cmocka_unit_test(test_auth_file_update_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
