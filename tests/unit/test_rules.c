/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the content rules (control/rules_load.c and
 * dataplane/rules.c): every field of a rule line and every error with
 * file:line (Hyperscan's own message for a refused pattern, mapped back
 * to its line in either database), loading from a file, the empty set,
 * scopes, the effect of each flag, the topic-filter restriction, action
 * precedence and its tie-break, each rule counted once per message
 * however often it matches, the seen-set cleared between scans, -EIO on
 * a Hyperscan failure (nothing counted) and never on random input, a
 * pattern in the middle of a large contiguous payload, and a 10,000-rule
 * set. The scratch layout (rules_priv.h) is reached into only to force a
 * Hyperscan error.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <petrel/rules.h>

#include "rules_priv.h"

/* ---- helpers ---- */

static struct pt_rules *
rules_of(const char *text)
{
    struct pt_rules *r = NULL;
    char err[512] = "";
    int rc = pt_rules_parse(text, strlen(text), "t.rules", &r, err,
                            sizeof(err));

    if (rc != 0)
        fail_msg("parse failed (%d): %s\n%s", rc, err, text);
    assert_non_null(r);
    return r;
}

/* Parse must fail with -EINVAL and exactly this message. */
static void
refused(const char *text, const char *want)
{
    struct pt_rules *r = NULL;
    char err[512] = "";
    int rc = pt_rules_parse(text, strlen(text), "t.rules", &r, err,
                            sizeof(err));

    if (rc != -EINVAL || strcmp(err, want) != 0)
        fail_msg("rc %d, err\n  %s\nwanted\n  %s\nfor\n%s", rc, err, want,
                 text);
    assert_null(r);
}

/* Parse must fail with -EINVAL and a message starting with prefix. */
static void
refused_prefix(const char *text, const char *prefix)
{
    struct pt_rules *r = NULL;
    char err[512] = "";
    int rc = pt_rules_parse(text, strlen(text), "t.rules", &r, err,
                            sizeof(err));

    if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("rc %d, err\n  %s\nwanted a prefix\n  %s\nfor\n%s", rc, err,
                 prefix, text);
    assert_null(r);
}

/* A set, its scratch and its counters. */
struct set {
    struct pt_rules *r;
    struct pt_rules_scratch *s;
    uint64_t *hits;
};

static struct set
set_of(const char *text)
{
    struct set t = { .r = rules_of(text) };

    assert_int_equal(pt_rules_scratch_alloc(t.r, &t.s), 0);
    t.hits = calloc(pt_rules_count(t.r) + 1, sizeof(*t.hits));
    assert_non_null(t.hits);
    return t;
}

static void
set_free(struct set *t)
{
    pt_rules_scratch_free(t->s);
    pt_rules_free(t->r);
    free(t->hits);
}

/* Scan; @return the action (-1: none), *rule the deciding rule's id. */
static int
scan_n(struct set *t, const char *topic, const void *payload, size_t plen,
       uint32_t *id)
{
    struct pt_rules_verdict v = { .action = 99, .rule = 99 };
    struct pt_rule_info info;

    assert_int_equal(pt_rules_scan(t->r, t->s, topic, strlen(topic), payload,
                                   plen, t->hits, &v), 0);
    if (v.action >= 0) {
        assert_true(v.rule < pt_rules_count(t->r));
        pt_rules_info(t->r, v.rule, &info);
        if (id != NULL)
            *id = info.id;
    }
    return v.action;
}

static int
scan(struct set *t, const char *topic, const char *payload, uint32_t *id)
{
    return scan_n(t, topic, payload, strlen(payload), id);
}

/* Whether rule `i` (index) matches this message alone. */
static bool
hit(struct set *t, unsigned i, const char *topic, const char *payload)
{
    uint64_t before = t->hits[i];

    scan(t, topic, payload, NULL);
    assert_true(t->hits[i] - before <= 1);
    return t->hits[i] != before;
}

/* ---- parsing ---- */

static void
test_rules_parse_fields(void **state)
{
    struct pt_rules *r;
    struct pt_rule_info in;

    (void)state;
    r = rules_of("# a comment\n"
                 "\n"
                 "  \t \n"
                 "   # an indented comment\n"
                 "1 count topic - - abc\n"
                 "\t42\tdrop\tpayload\tcaseless,dotall\tsensors/+/temp\ta b\t c \r\n"
                 "4294967295 disconnect both multiline,utf8,singlematch # x#y  \n"
                 "007 count payload - $SYS/# ^foo$");
    assert_int_equal(pt_rules_count(r), 4);
    assert_true(pt_rules_bytes(r) > 4 * sizeof(struct pt_rule_info));

    pt_rules_info(r, 0, &in);
    assert_int_equal(in.id, 1);
    assert_int_equal(in.action, PT_RULE_COUNT);
    assert_int_equal(in.scope, PT_RULE_TOPIC);
    assert_int_equal(in.line, 5);
    assert_string_equal(in.flags, "-");
    assert_string_equal(in.filter, "");
    assert_string_equal(in.pattern, "abc");

    /* tabs separate; the pattern keeps its inner and trailing blanks,
     * not the CR */
    pt_rules_info(r, 1, &in);
    assert_int_equal(in.id, 42);
    assert_int_equal(in.action, PT_RULE_DROP);
    assert_int_equal(in.scope, PT_RULE_PAYLOAD);
    assert_int_equal(in.line, 6);
    assert_string_equal(in.flags, "caseless,dotall");
    assert_string_equal(in.filter, "sensors/+/temp");
    assert_string_equal(in.pattern, "a b\t c ");

    /* '#' as a filter and inside a pattern is no comment */
    pt_rules_info(r, 2, &in);
    assert_int_equal(in.id, 4294967295u);
    assert_int_equal(in.action, PT_RULE_DISCONNECT);
    assert_int_equal(in.scope, PT_RULE_BOTH);
    assert_int_equal(in.line, 7);
    assert_string_equal(in.flags, "multiline,utf8,singlematch");
    assert_string_equal(in.filter, "#");
    assert_string_equal(in.pattern, "x#y  ");

    /* leading zeros, no final newline */
    pt_rules_info(r, 3, &in);
    assert_int_equal(in.id, 7);
    assert_int_equal(in.line, 8);
    assert_string_equal(in.filter, "$SYS/#");
    assert_string_equal(in.pattern, "^foo$");
    pt_rules_free(r);

    assert_string_equal(pt_rule_action_name(PT_RULE_COUNT), "count");
    assert_string_equal(pt_rule_action_name(PT_RULE_DROP), "drop");
    assert_string_equal(pt_rule_action_name(PT_RULE_DISCONNECT),
                        "disconnect");
    assert_string_equal(pt_rule_scope_name(PT_RULE_TOPIC), "topic");
    assert_string_equal(pt_rule_scope_name(PT_RULE_PAYLOAD), "payload");
    assert_string_equal(pt_rule_scope_name(PT_RULE_BOTH), "both");
    assert_true(strcmp(pt_rules_engine(), "hyperscan") == 0 ||
                strcmp(pt_rules_engine(), "vectorscan") == 0);
    assert_true(strlen(pt_rules_engine_version()) > 0);
    pt_rules_free(NULL);
    pt_rules_scratch_free(NULL);
}

static void
test_rules_parse_errors(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        { "0 count topic - - a", "t.rules:1: bad id `0` (a decimal from 1 to 4294967295)" },
        { "# c\n4294967296 count topic - - a", "t.rules:2: bad id `4294967296` (a decimal from 1 to 4294967295)" },
        { "-1 count topic - - a", "t.rules:1: bad id `-1` (a decimal from 1 to 4294967295)" },
        { "+1 count topic - - a", "t.rules:1: bad id `+1` (a decimal from 1 to 4294967295)" },
        { "1a count topic - - a", "t.rules:1: bad id `1a` (a decimal from 1 to 4294967295)" },
        { "1", "t.rules:1: missing ACTION (count, drop or disconnect)" },
        { "1 kill topic - - a", "t.rules:1: bad ACTION `kill` (count, drop or disconnect)" },
        { "1 Count topic - - a", "t.rules:1: bad ACTION `Count` (count, drop or disconnect)" },
        { "1 count", "t.rules:1: missing SCOPE (topic, payload or both)" },
        { "1 count body - - a", "t.rules:1: bad SCOPE `body` (topic, payload or both)" },
        { "1 count topic", "t.rules:1: missing FLAGS (`-` or a comma list)" },
        { "1 count topic nocase - a", "t.rules:1: bad flag `nocase` in FLAGS (`-` or a comma list of caseless, dotall, multiline, utf8, singlematch)" },
        { "1 count topic caseless,dotal - a", "t.rules:1: bad flag `dotal` in FLAGS (`-` or a comma list of caseless, dotall, multiline, utf8, singlematch)" },
        { "1 count topic caseless,,utf8 - a", "t.rules:1: empty flag in FLAGS `caseless,,utf8`" },
        { "1 count topic caseless, - a", "t.rules:1: empty flag in FLAGS `caseless,`" },
        { "1 count topic utf8,caseless,utf8 - a", "t.rules:1: flag `utf8` given twice in FLAGS" },
        { "1 count topic -", "t.rules:1: missing FILTER (`-` or an MQTT topic filter)" },
        { "1 count topic - a/#/b x", "t.rules:1: bad FILTER `a/#/b`: '#' not last and alone in its level, or '+' not alone in its level (MQTT-4.7.1-2/3)" },
        { "1 count topic - a+ x", "t.rules:1: bad FILTER `a+`: '#' not last and alone in its level, or '+' not alone in its level (MQTT-4.7.1-2/3)" },
        { "1 count topic - -", "t.rules:1: missing PATTERN" },
        { "1 count topic - -   ", "t.rules:1: missing PATTERN" },
        { "1 count topic - a/b", "t.rules:1: missing PATTERN" },
        { "5 count topic - - a\n\n5 drop payload - - b", "t.rules:3: duplicate id 5 (first on line 1)" },
    };
    char *big;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refused(cases[i].text, cases[i].err);

    /* a NUL byte; a bad UTF-8 filter (message from the MQTT module) */
    {
        static const char nul[] = "1 count topic - - a\0b";
        struct pt_rules *r = NULL;
        char err[256] = "";

        assert_int_equal(pt_rules_parse(nul, sizeof(nul) - 1, "t.rules", &r,
                                        err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "t.rules:1: NUL byte in the line");
        assert_null(r);
    }
    refused_prefix("1 count topic - a/\xff x", "t.rules:1: bad FILTER `a/\xff`: ");

    /* over-long line */
    big = malloc(PT_RULES_MAX_LINE + 64);
    assert_non_null(big);
    memset(big, 'a', PT_RULES_MAX_LINE + 63);
    memcpy(big, "\n1 count topic - - ", 19);
    big[PT_RULES_MAX_LINE + 63] = '\0';
    refused(big, "t.rules:2: line longer than 65536 bytes");
    free(big);

    /* origin NULL names "rules"; err NULL is allowed */
    {
        struct pt_rules *r = NULL;
        char err[128];

        assert_int_equal(pt_rules_parse("x", 1, NULL, &r, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "rules:1: bad id `x` (a decimal from 1 to 4294967295)");
        assert_int_equal(pt_rules_parse("x", 1, NULL, &r, NULL, 0), -EINVAL);
        assert_null(r);
    }
}

/* Hyperscan's compile errors, mapped back to the line of the rule, in
 * the topic and in the payload database. */
static void
test_rules_parse_hyperscan_errors(void **state)
{
    (void)state;
    refused("1 count topic - - abc\n"
            "2 count topic - - a(b\n",
            "t.rules:2: PATTERN `a(b`: Missing close parenthesis for group "
            "started at index 1.");
    /* payload-only rules: the expression index is in the payload db,
     * not the file, and must still map to line 5 */
    refused("1 count topic - - t1\n"
            "2 count topic - - t2\n"
            "3 count payload - - p1\n"
            "# comment\n"
            "4 drop payload - - [z-a]\n"
            "5 drop both - - ok\n",
            "t.rules:5: PATTERN `[z-a]`: Range out of order in character class "
            "at index 3.");
    refused_prefix("1 count payload - - x*\n",
                   "t.rules:1: PATTERN `x*`: Pattern matches empty buffer");
    refused_prefix("1 count both utf8 - \xff\n",
                   "t.rules:1: PATTERN `\xff`: ");
    /* back-references are a Hyperscan limit, not a syntax error */
    refused_prefix("9 count payload - - (a)\\1\n", "t.rules:1: PATTERN `(a)\\1`: ");
}

static void
test_rules_parse_limits(void **state)
{
    size_t cap = (size_t)(PT_RULES_MAX + 1) * 32, n = 0;
    char *text = malloc(cap);
    struct pt_rules *r = NULL;
    char err[256] = "";

    (void)state;
    assert_non_null(text);
    for (unsigned i = 1; i <= PT_RULES_MAX + 1; i++)
        n += (size_t)snprintf(text + n, cap - n, "%u count topic - - x%u\n",
                              i, i);
    assert_int_equal(pt_rules_parse(text, n, "t.rules", &r, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "t.rules:100001: more than 100000 rules");
    assert_null(r);
    assert_int_equal(pt_rules_parse(text, (size_t)PT_RULES_MAX_FILE + 1,
                                    "t.rules", &r, err, sizeof(err)), -EFBIG);
    assert_string_equal(err, "t.rules: larger than 1073741824 bytes");
    free(text);
}

static void
test_rules_empty(void **state)
{
    static const char *const texts[] = { "", "\n\n", "# only\n  # comments\n" };

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct set t = set_of(texts[i]);

        assert_int_equal(pt_rules_count(t.r), 0);
        assert_int_equal(scan(&t, "a/b", "payload", NULL), -1);
        set_free(&t);
    }
}

static void
test_rules_load_file(void **state)
{
    char path[] = "/tmp/test_rules_XXXXXX";
    const char text[] = "1 drop payload - - secret\n2 count topic - - a(\n";
    struct pt_rules *r = NULL;
    char err[512], want[600];
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, 26), 26);
    close(fd);
    assert_int_equal(pt_rules_load(path, &r, err, sizeof(err)), 0);
    assert_int_equal(pt_rules_count(r), 1);
    pt_rules_free(r);
    r = NULL;

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    assert_int_equal(pt_rules_load(path, &r, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: PATTERN `a(`: ", path);
    assert_memory_equal(err, want, strlen(want));
    assert_null(r);

    unlink(path);
    assert_int_equal(pt_rules_load(path, &r, err, sizeof(err)), -ENOENT);
    snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);
    assert_null(r);
}

/* ---- scanning ---- */

static void
test_rules_scope(void **state)
{
    struct set t = set_of("1 count topic - - alpha\n"
                          "2 count payload - - alpha\n"
                          "3 count both - - alpha\n");

    (void)state;
    /* alpha in the topic only: rules 1 and 3 */
    assert_int_equal(scan(&t, "x/alpha", "nothing", NULL), PT_RULE_COUNT);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 0);
    assert_int_equal(t.hits[2], 1);
    /* in the payload only: 2 and 3 */
    assert_int_equal(scan(&t, "x/y", "an alpha here", NULL), PT_RULE_COUNT);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 1);
    assert_int_equal(t.hits[2], 2);
    /* nowhere */
    assert_int_equal(scan(&t, "x/y", "alph", NULL), -1);
    /* empty payload: not scanned */
    assert_int_equal(scan(&t, "x/y", "", NULL), -1);
    assert_int_equal(t.hits[0] + t.hits[1] + t.hits[2], 4);
    set_free(&t);
}

static void
test_rules_flags(void **state)
{
    struct set t = set_of("1 count payload - - ab\n"
                          "2 count payload caseless - cd\n"
                          "3 count payload - - e.f\n"
                          "4 count payload dotall - g.h\n"
                          "5 count payload - - ^ij\n"
                          "6 count payload multiline - ^kl\n"
                          "7 count payload - - ^m.n$\n"
                          "8 count payload utf8 - ^o.p$\n"
                          "9 count payload singlematch - q+\n"
                          "10 count payload caseless,dotall,multiline - ^R.S$\n");

    (void)state;
    /* caseless */
    assert_false(hit(&t, 0, "t", "AB"));
    assert_true(hit(&t, 0, "t", "ab"));
    assert_true(hit(&t, 1, "t", "cD"));
    /* dotall: '.' takes a newline */
    assert_false(hit(&t, 2, "t", "e\nf"));
    assert_true(hit(&t, 2, "t", "eXf"));
    assert_true(hit(&t, 3, "t", "g\nh"));
    /* multiline: '^' after a newline */
    assert_false(hit(&t, 4, "t", "x\nij"));
    assert_true(hit(&t, 4, "t", "ij"));
    assert_true(hit(&t, 5, "t", "x\nkl"));
    assert_false(hit(&t, 5, "t", "xkl"));
    /* utf8: '.' is one character, two bytes here */
    assert_false(hit(&t, 6, "t", "m\xc3\xa9n"));
    assert_true(hit(&t, 6, "t", "mxn"));
    assert_true(hit(&t, 7, "t", "o\xc3\xa9p"));
    assert_false(hit(&t, 7, "t", "oxyp"));
    /* singlematch: counted once either way; it saves the callbacks */
    assert_true(hit(&t, 8, "t", "qqqqq q q"));
    assert_int_equal(t.hits[8], 1);
    /* together */
    assert_true(hit(&t, 9, "t", "zz\nr\nS\nzz"));
    assert_false(hit(&t, 9, "t", "zz\nr\nSzz"));
    set_free(&t);
}

static void
test_rules_filter(void **state)
{
    struct set t = set_of("1 drop payload - sensors/+/temp hot\n"
                          "2 count both - - hot\n"
                          "3 disconnect topic - $SYS/# hot\n"
                          "4 disconnect topic - # evil\n");
    uint32_t id = 0;

    (void)state;
    assert_int_equal(scan(&t, "sensors/a/temp", "hot", &id), PT_RULE_DROP);
    assert_int_equal(id, 1);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 1);
    /* the filter does not admit the topic: rule 1 neither decides nor
     * counts, rule 2 still does */
    assert_int_equal(scan(&t, "sensors/a/humidity", "hot", &id),
                     PT_RULE_COUNT);
    assert_int_equal(id, 2);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 2);
    assert_int_equal(scan(&t, "sensors/a/temp/x", "hot", &id), PT_RULE_COUNT);
    assert_int_equal(t.hits[0], 1);
    /* '$' topics: only a literal '$' filter admits them ... */
    assert_int_equal(scan(&t, "$SYS/hot", "", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 3);
    assert_int_equal(scan(&t, "sys/hot", "", &id), PT_RULE_COUNT);
    assert_int_equal(t.hits[2], 1);
    /* ... and '#' does not */
    assert_int_equal(scan(&t, "$SYS/evil", "", &id), -1);
    assert_int_equal(scan(&t, "a/evil", "", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 4);
    assert_int_equal(t.hits[3], 1);
    set_free(&t);
}

static void
test_rules_precedence(void **state)
{
    struct set t = set_of("10 count payload - - a\n"
                          "20 drop payload - - b\n"
                          "30 disconnect payload - - c\n"
                          "40 drop both - - d\n"
                          "50 count topic - - e\n"
                          "60 disconnect topic - - f\n"
                          "70 disconnect payload - - f\n");
    uint32_t id = 0;

    (void)state;
    /* the strongest wins, whatever the order in the message */
    assert_int_equal(scan(&t, "t", "abc", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 30);
    assert_int_equal(scan(&t, "t", "cba", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 30);
    assert_int_equal(scan(&t, "t", "ba", &id), PT_RULE_DROP);
    assert_int_equal(id, 20);
    assert_int_equal(scan(&t, "t", "a", &id), PT_RULE_COUNT);
    assert_int_equal(id, 10);
    /* the scan went on after the disconnect: all three counted */
    assert_int_equal(t.hits[0], 4);
    assert_int_equal(t.hits[1], 3);
    assert_int_equal(t.hits[2], 2);
    /* tie: the earlier rule, though the later one matches first */
    assert_int_equal(scan(&t, "t", "db", &id), PT_RULE_DROP);
    assert_int_equal(id, 20);
    assert_int_equal(scan(&t, "d", "b", &id), PT_RULE_DROP);
    assert_int_equal(id, 20);
    /* a topic match against a stronger payload match */
    assert_int_equal(scan(&t, "e", "d", &id), PT_RULE_DROP);
    assert_int_equal(id, 40);
    /* equal disconnects in topic and payload: the earlier line */
    assert_int_equal(scan(&t, "x", "f", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 70);
    assert_int_equal(scan(&t, "f", "f", &id), PT_RULE_DISCONNECT);
    assert_int_equal(id, 60);
    set_free(&t);
}

static void
test_rules_counted_once(void **state)
{
    struct set t = set_of("1 count both - - x\n"
                          "2 count payload - - x+\n"
                          "3 count both singlematch - y\n");
    char big[4096];

    (void)state;
    memset(big, 'x', sizeof(big));
    big[100] = 'y';
    scan_n(&t, "x/x/x/y", big, sizeof(big), NULL);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 1);
    assert_int_equal(t.hits[2], 1);
    /* the seen-set was cleared: the next messages count again */
    scan_n(&t, "x", big, sizeof(big), NULL);
    assert_int_equal(t.hits[0], 2);
    assert_int_equal(t.hits[1], 2);
    assert_int_equal(t.hits[2], 2);
    assert_int_equal(scan(&t, "q", "y", NULL), PT_RULE_COUNT);
    assert_int_equal(t.hits[0], 2);
    assert_int_equal(t.hits[2], 3);
    /* a rule met with its filter refusing the topic is not counted, and
     * its bit is cleared as well */
    set_free(&t);
    t = set_of("1 count payload - a/# z\n");
    assert_int_equal(scan(&t, "b", "zzz", NULL), -1);
    assert_int_equal(t.hits[0], 0);
    assert_int_equal(scan(&t, "a/b", "z", NULL), PT_RULE_COUNT);
    assert_int_equal(t.hits[0], 1);
    set_free(&t);
}

/* A payload scan that fails after the topic matched: -EIO, no verdict,
 * nothing counted, the seen-set clean for the next scan. */
static void
test_rules_scan_error(void **state)
{
    struct set t = set_of("1 drop topic - - alpha\n"
                          "2 count payload - - (foo|ba[rz]){2,40}.{0,30}q[^x]{20}\n");
    struct pt_rules_verdict v = { .action = 7, .rule = 7 };
    hs_scratch_t *small = NULL, *saved = t.s->hs;
    static const char pay[] = "foobarbaz qqqqqqqqqqqqqqqqqqqqqq";

    (void)state;
    assert_int_equal(hs_alloc_scratch(t.r->db_topic, &small), HS_SUCCESS);
    /* the premise: a scratch for the topic db alone does not do for the
     * payload db */
    assert_int_not_equal(hs_scan(t.r->db_payload, "x", 1, 0, small, NULL,
                                 NULL), HS_SUCCESS);
    t.s->hs = small;
    assert_int_equal(pt_rules_scan(t.r, t.s, "alpha", 5, pay, sizeof(pay) - 1,
                                   t.hits, &v), -EIO);
    assert_int_equal(v.action, -1);
    assert_int_equal(t.hits[0], 0);
    assert_int_equal(t.hits[1], 0);
    t.s->hs = saved;
    hs_free_scratch(small);
    assert_int_equal(scan(&t, "alpha", pay, NULL), PT_RULE_DROP);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(t.hits[1], 1);
    set_free(&t);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Random bytes and random topics against a mixed set: never an error. */
static void
test_rules_random_input(void **state)
{
    struct set t = set_of("1 count both caseless - a[bc]{2}\n"
                          "2 drop payload dotall - x.*y\n"
                          "3 disconnect payload multiline a/+ ^\\d{3}$\n"
                          "4 count topic - # /\n"
                          "5 count payload singlematch - \\x00\\xff\n"
                          "6 count payload - - (?i)evil|bad[0-9]+\n");
    uint8_t buf[2048];
    char topic[64];

    (void)state;
    for (unsigned k = 0; k < 3000; k++) {
        size_t plen = rnd() % sizeof(buf), tlen = 1 + rnd() % 40;
        struct pt_rules_verdict v;

        for (size_t i = 0; i < plen; i++)
            buf[i] = k & 1 ? (uint8_t)rnd()
                             : (uint8_t)"abcxy/\n0123"[rnd() % 11];
        for (size_t i = 0; i < tlen; i++)
            topic[i] = "ab/c+#$"[rnd() % 7];
        assert_int_equal(pt_rules_scan(t.r, t.s, topic, tlen, buf, plen,
                                       t.hits, &v), 0);
        assert_true(v.action >= -1 && v.action <= PT_RULE_DISCONNECT);
    }
    set_free(&t);
}

/* The broker hands a multi-segment payload over linearised: a pattern
 * across what was a segment boundary (2048) is found. */
static void
test_rules_contiguous(void **state)
{
    struct set t = set_of("1 drop payload - - needle-\\d+-end\n");
    static char pay[4096];
    uint32_t id = 0;

    (void)state;
    memset(pay, '.', sizeof(pay));
    memcpy(pay + 2040, "needle-1234567-end", 18);
    assert_int_equal(scan_n(&t, "t", pay, sizeof(pay), &id), PT_RULE_DROP);
    assert_int_equal(id, 1);
    /* each half alone has no match */
    assert_int_equal(scan_n(&t, "t", pay, 2048, NULL), -1);
    assert_int_equal(scan_n(&t, "t", pay + 2048, 2048, NULL), -1);
    set_free(&t);
}

static void
test_rules_10k(void **state)
{
    enum { N = 10000 };
    size_t cap = (size_t)N * 64, n = 0;
    char *text = malloc(cap), pay[256];
    struct set t;
    uint32_t id = 0;

    (void)state;
    assert_non_null(text);
    for (unsigned i = 1; i <= N; i++) {
        if (i % 5 == 0)
            n += (size_t)snprintf(text + n, cap - n,
                                  "%u %s payload - - re%05u[a-f]{2,4}(x|yz)\n",
                                  i, i % 1000 == 0 ? "drop" : "count", i);
        else
            n += (size_t)snprintf(text + n, cap - n,
                                  "%u count both - - lit%05u\n", i, i);
    }
    text[n] = '\0';
    t = set_of(text);
    free(text);
    assert_int_equal(pt_rules_count(t.r), N);

    assert_int_equal(scan(&t, "a/lit00007", "lit00009 and lit09999", &id),
                     PT_RULE_COUNT);
    assert_int_equal(id, 7);
    assert_int_equal(t.hits[6], 1);
    assert_int_equal(t.hits[8], 1);
    assert_int_equal(t.hits[9998], 1);
    snprintf(pay, sizeof(pay), "..re02000abyz.. re00005fax lit00001");
    assert_int_equal(scan(&t, "t", pay, &id), PT_RULE_DROP);
    assert_int_equal(id, 2000);
    assert_int_equal(t.hits[1999], 1);
    assert_int_equal(t.hits[4], 1);
    assert_int_equal(t.hits[0], 1);
    assert_int_equal(scan(&t, "t", "re02000g lit0001", NULL), -1);
    set_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_parse_fields),
        cmocka_unit_test(test_rules_parse_errors),
        cmocka_unit_test(test_rules_parse_hyperscan_errors),
        cmocka_unit_test(test_rules_parse_limits),
        cmocka_unit_test(test_rules_empty),
        cmocka_unit_test(test_rules_load_file),
        cmocka_unit_test(test_rules_scope),
        cmocka_unit_test(test_rules_flags),
        cmocka_unit_test(test_rules_filter),
        cmocka_unit_test(test_rules_precedence),
        cmocka_unit_test(test_rules_counted_once),
        cmocka_unit_test(test_rules_scan_error),
        cmocka_unit_test(test_rules_random_input),
        cmocka_unit_test(test_rules_contiguous),
        cmocka_unit_test(test_rules_10k),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
