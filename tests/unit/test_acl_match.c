/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of what access control lists decide (dataplane/acl.c):
 * patterns with %u and %c (anonymous clients, names with wildcard
 * characters, '$'), deny precedence, subscribe coverage and intersection
 * (a table, also written as patterns), '$' topics, and randomized
 * cross-checks of publish and subscribe against a reference written here
 * (string matcher, substitution by building strings, subscribe by
 * enumerating every topic of a small alphabet). Reading the file (line
 * kinds, sections, errors, limits, a 10k-user file) is tested in
 * test_acl_parse.c; the helpers both use are in tests/lib/pt_acl_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/acl.h>

#include "pt_acl_test.h"
#include "pt_test.h"
/* ---- patterns ---- */

static void
test_acl_patterns(void **state)
{
    struct pt_acl *acl;

    (void)state;
    acl = acl_of("pattern readwrite users/%u/#\n"
                 "pattern write dev/%c/state\n"
                 "pattern read mix/%u-%c/x%%u\n"
                 "pattern read lit/%x/%\n"
                 "pattern read both/%u%u\n"
                 "topic read plain/%u\n");
    PUB_OK(acl, "alice", "c1", "users/alice/a/b");
    PUB_OK(acl, "alice", "c1", "users/alice");
    PUB_NO(acl, "alice", "c1", "users/bob/a");
    PUB_NO(acl, "alice", "c1", "users/alicex/a");
    PUB_NO(acl, "alice", "c1", "users/alic/a");
    PUB_OK(acl, "alice", "c1", "dev/c1/state");
    PUB_NO(acl, "alice", "c1", "dev/c2/state");
    SUB_NO(acl, "alice", "c1", "dev/c1/state");
    /* substitution inside a level, "%%u" is '%' then %u */
    SUB_OK(acl, "al", "c9", "mix/al-c9/x%al");
    SUB_NO(acl, "al", "c9", "mix/al-c8/x%al");
    SUB_NO(acl, "al", "c9", "mix/al-c9/x%%u");
    /* '%' not followed by u or c is literal */
    SUB_OK(acl, "al", "c9", "lit/%x/%");
    SUB_OK(acl, "ab", "c9", "both/abab");
    SUB_NO(acl, "ab", "c9", "both/ab");
    /* topic lines do not substitute */
    SUB_OK(acl, NULL, "c9", "plain/%u");
    SUB_NO(acl, NULL, "c9", "plain/al");
    /* an empty user name substitutes as empty */
    PUB_OK(acl, "", "c1", "users//x");

    /* anonymous: patterns with %u don't apply, %c ones do */
    PUB_NO(acl, NULL, "c1", "users//x");
    PUB_NO(acl, NULL, "c1", "users/%u/x");
    PUB_OK(acl, NULL, "c1", "dev/c1/state");
    SUB_NO(acl, NULL, "c9", "mix/-c9/x%");
    pt_acl_free(acl);
}

static void
test_acl_pattern_unsafe_names(void **state)
{
    struct pt_acl *acl;

    (void)state;
    acl = acl_of("pattern readwrite users/%u/#\n"
                 "pattern readwrite dev/%c/#\n"
                 "pattern readwrite %u/home/#\n"
                 "pattern readwrite %c\n"
                 "pattern readwrite free/#\n");
    /* '+', '#', '/' in the name: patterns substituting it grant nothing */
    PUB_NO(acl, "a/b", "c", "users/a/b/x");
    PUB_NO(acl, "+", "c", "users/x/x");
    PUB_NO(acl, "#", "c", "users/x");
    SUB_NO(acl, "#", "c", "users/#");
    PUB_NO(acl, "u", "x/y", "dev/x/y/z");
    PUB_NO(acl, "u", "+", "dev/a/z");
    SUB_NO(acl, "u", "#", "dev/#");
    /* other patterns still apply to such clients */
    PUB_OK(acl, "a/b", "c", "dev/c/x");
    PUB_OK(acl, "u", "x/y", "users/u/x");
    PUB_OK(acl, "a/b", "x/y", "free/x");
    /* a leading substitution that is empty or starts with '$' (would
     * reach $SYS): not applied there, applied elsewhere */
    PUB_NO(acl, "$SYS", "c", "$SYS/home/x");
    PUB_OK(acl, "$SYS", "c", "users/$SYS/x");
    PUB_NO(acl, "u", "$SYS", "$SYS");
    PUB_OK(acl, "u", "$SYS", "dev/$SYS/x");
    PUB_NO(acl, "", "c", "/home/x");
    PUB_OK(acl, "u", "", "dev//x");
    PUB_OK(acl, "sys", "c", "sys/home/x");
    PUB_OK(acl, "u", "cid", "cid");
    /* no client id: %c patterns grant nothing */
    PUB_NO(acl, "u", NULL, "dev//x");
    PUB_OK(acl, "u", NULL, "users/u/x");
    pt_acl_free(acl);

    /* deny patterns fail closed for unsafe names, don't apply to
     * anonymous clients when they use %u */
    acl = acl_of("topic readwrite #\n"
                 "user u\n"
                 "topic readwrite #\n"
                 "user a/b\n"
                 "topic readwrite #\n"
                 "pattern deny secret/%u\n"
                 "pattern deny private/%c/#\n");
    PUB_OK(acl, "u", "c", "x");
    PUB_NO(acl, "u", "c", "secret/u");
    PUB_OK(acl, "u", "c", "secret/v");
    PUB_NO(acl, "u", "c", "private/c/x");
    PUB_OK(acl, "u", "c", "private/d/x");
    PUB_OK(acl, NULL, "c", "secret/x");     /* %u: not for anonymous */
    PUB_NO(acl, NULL, "c", "private/c");    /* %c: for everybody */
    PUB_NO(acl, "a/b", "c", "x");           /* fail closed */
    SUB_NO(acl, "a/b", "c", "x");
    PUB_NO(acl, "u", "c/d", "x");
    PUB_NO(acl, NULL, "#", "x");
    PUB_NO(acl, "u", NULL, "x");
    pt_acl_free(acl);
}

/* ---- deny ---- */

static void
test_acl_deny_precedence(void **state)
{
    struct pt_acl *acl;

    (void)state;
    /* deny wins before or after the grant, section or pattern */
    acl = acl_of("topic deny a/secret\n"
                 "topic readwrite a/#\n"
                 "topic deny a/+/hidden\n"
                 "user u\n"
                 "topic readwrite #\n"
                 "topic deny x/#\n"
                 "pattern deny %c/private/#\n"
                 "pattern readwrite own/%c/#\n"
                 "user v\n"
                 "topic deny own/#\n");
    PUB_OK(acl, NULL, "c", "a/open");
    PUB_NO(acl, NULL, "c", "a/secret");
    PUB_NO(acl, NULL, "c", "a/b/hidden");
    PUB_OK(acl, NULL, "c", "a/b/hidden/not");
    PUB_NO(acl, "u", "c", "x");
    PUB_NO(acl, "u", "c", "x/y");
    PUB_OK(acl, "u", "c", "xy");
    PUB_NO(acl, "u", "c", "c/private/z");
    PUB_NO(acl, NULL, "c", "c/private/z");
    PUB_OK(acl, "u", "d", "c/private/z");
    PUB_NO(acl, "v", "c", "own/c/q");       /* section deny, pattern grant */
    PUB_OK(acl, "u", "c", "own/c/q");
    /* subscriptions: any intersection with a deny refuses */
    SUB_OK(acl, NULL, "c", "a/open");
    SUB_NO(acl, NULL, "c", "a/open/#");     /* a/open/hidden */
    SUB_NO(acl, NULL, "c", "a/#");
    SUB_NO(acl, NULL, "c", "a/+");
    SUB_NO(acl, NULL, "c", "a/+/hidden");
    SUB_NO(acl, NULL, "c", "a/b/+");
    SUB_OK(acl, NULL, "c", "a/b/c");
    SUB_NO(acl, NULL, "c", "a/b/hidden/#");
    SUB_OK(acl, NULL, "c", "a/b/hidden/x/#");
    SUB_NO(acl, "u", "c", "#");
    SUB_NO(acl, "u", "c", "+/y");
    SUB_OK(acl, "u", "c", "y/#");
    SUB_NO(acl, "u", "c", "+/public");        /* x/public */
    SUB_NO(acl, "u", "c", "c/+/x");           /* c/private/x */
    SUB_OK(acl, "u", "c", "d/+/x");
    pt_acl_free(acl);

    /* deny write only stops writing, not reading: deny is absolute */
    acl = acl_of("topic read #\n"
                 "topic write w/#\n"
                 "topic deny w/x\n");
    SUB_NO(acl, NULL, "c", "w/x");
    SUB_NO(acl, NULL, "c", "w/#");
    SUB_OK(acl, NULL, "c", "w/y");
    PUB_NO(acl, NULL, "c", "w/x");
    PUB_OK(acl, NULL, "c", "w/y");
    pt_acl_free(acl);
}

/* ---- subscribe relations ---- */

struct rel_case {
    const char *entry;
    const char *filter;
    bool covers;
    bool meets;
};

static const struct rel_case rel_cases[] = {
    { "#", "a", true, true },
    { "#", "a/b/c", true, true },
    { "#", "#", true, true },
    { "#", "+/#", true, true },
    { "#", "/", true, true },
    { "a/#", "a", true, true },
    { "a/#", "a/b/#", true, true },
    { "a/#", "a/#", true, true },
    { "a/#", "a/+", true, true },
    { "a/#", "#", false, true },
    { "a/#", "+", false, true },
    { "a/#", "+/b", false, true },
    { "a/#", "b/#", false, false },
    { "a/#", "ab", false, false },
    { "a/b/#", "a", false, false },
    { "a/b/#", "a/#", false, true },
    { "a/+", "a/b", true, true },
    { "a/+", "a/+", true, true },
    { "a/+", "a/#", false, true },
    { "a/+", "a", false, false },
    { "a/+", "a/b/c", false, false },
    { "a/+", "a/", true, true },
    { "+", "a", true, true },
    { "+", "+", true, true },
    { "+", "#", false, true },
    { "+", "a/b", false, false },
    { "+", "/", false, false },
    { "+/+", "/", true, true },
    { "+/#", "a", true, true },
    { "+/#", "#", true, true },      /* no topic has 0 levels */
    { "+/+/#", "#", false, true },
    { "+", "#", false, true },
    { "+/#", "a/#", true, true },
    { "a/b", "a/b", true, true },
    { "a/b", "a/+", false, true },
    { "a/b", "a/#", false, true },
    { "a/b", "+/b", false, true },
    { "a/b", "a/c", false, false },
    { "a/b", "a/b/c", false, false },
    { "a/b", "a/b/#", false, true },
    { "a/b", "a", false, false },
    { "a/b/c", "a/b/#", false, true },
    { "a", "a/#", false, true },
    { "a/", "a/+", false, true },
    { "a//b", "a/+/b", false, true },
    { "a/+/c", "a/b/+", false, true },
    { "a/+/c", "+/b/c", false, true },
    { "a/+/c", "a/b/d", false, false },
    /* the single empty level is no topic (MQTT-4.7.3-1) */
    { "+", "/#", false, false },
    { "/#", "+", false, false },
    { "/+/#", "/#", true, true },
    { "+/+/#", "/#", true, true },
    { "+/#", "/#", true, true },
    { "/+", "/#", false, true },
    { "/", "/#", false, true },
    { "/#", "/", true, true },
    { "+/#", "+", true, true },
    { "a/#", "a/", true, true },
    /* '$' first levels */
    { "#", "$SYS", false, false },
    { "#", "$SYS/#", false, false },
    { "+/#", "$SYS/a", false, false },
    { "+", "$SYS", false, false },
    { "$SYS/#", "$SYS/a/b", true, true },
    { "$SYS/#", "$SYS", true, true },
    { "$SYS/#", "#", false, false },
    { "$SYS/#", "+/a", false, false },
    { "$SYS/+", "$SYS/+", true, true },
    { "$SYS", "$SYS", true, true },
    { "$SYS", "$SYX", false, false },
    { "a/$b", "a/+", false, true },
    { "a/+", "a/$b", true, true },
    { "a/#", "a/$b/#", true, true },
};

static void
test_acl_subscribe_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rel_cases) / sizeof(rel_cases[0]); i++) {
        const struct rel_case *c = &rel_cases[i];
        char text[256];
        struct pt_acl *acl;
        bool got;

        /* coverage: the entry is the only grant */
        snprintf(text, sizeof(text), "topic read %s\n", c->entry);
        acl = acl_of(text);
        got = sub(acl, NULL, "c", c->filter);
        if (got != c->covers)
            fail_msg("entry %s filter %s: covers %d, want %d", c->entry,
                     c->filter, got, c->covers);
        pt_acl_free(acl);

        /* intersection: grants cover everything, the entry denies */
        snprintf(text, sizeof(text), "topic read #\ntopic read $SYS/#\n"
                 "topic read $SYX/#\ntopic deny %s\n", c->entry);
        acl = acl_of(text);
        got = !sub(acl, NULL, "c", c->filter);
        if (got != c->meets)
            fail_msg("entry %s filter %s: meets %d, want %d", c->entry,
                     c->filter, got, c->meets);
        pt_acl_free(acl);
    }
}

/* The same relations with the entry's literal levels written as %u and
 * %c: substitution must not change them. */
static void
test_acl_subscribe_table_patterns(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rel_cases) / sizeof(rel_cases[0]); i++) {
        const struct rel_case *c = &rel_cases[i];
        char ent[64] = "", text[256];
        const char *s = c->entry;
        struct pt_acl *acl;
        bool got;

        /* every level "a" -> "%u", checked for user "a" */
        while (*s) {
            if (s[0] == 'a' && (s[1] == '/' || s[1] == '\0') &&
                (s == c->entry || s[-1] == '/')) {
                strcat(ent, "%u");
                s++;
            } else {
                strncat(ent, s, 1);
                s++;
            }
        }
        snprintf(text, sizeof(text), "pattern read %s\n", ent);
        acl = acl_of(text);
        got = sub(acl, "a", "c", c->filter);
        if (got != c->covers)
            fail_msg("pattern %s filter %s: covers %d, want %d", ent,
                     c->filter, got, c->covers);
        pt_acl_free(acl);

        snprintf(text, sizeof(text), "pattern read #\npattern read $SYS/#\n"
                 "pattern read $SYX/#\npattern deny %s\n", ent);
        acl = acl_of(text);
        got = !sub(acl, "a", "c", c->filter);
        if (got != c->meets)
            fail_msg("pattern %s filter %s: meets %d, want %d", ent,
                     c->filter, got, c->meets);
        pt_acl_free(acl);
    }
}

static void
test_acl_dollar_topics(void **state)
{
    struct pt_acl *acl;

    (void)state;
    acl = acl_of("topic readwrite #\n"
                 "topic read +/status\n"
                 "user ops\n"
                 "topic read $SYS/#\n"
                 "topic write $share/+/x\n");
    PUB_OK(acl, NULL, "c", "a/b");
    PUB_NO(acl, NULL, "c", "$SYS/broker/load");
    PUB_NO(acl, NULL, "c", "$x");
    SUB_NO(acl, NULL, "c", "$SYS/#");
    SUB_NO(acl, NULL, "c", "$SYS/status");
    SUB_OK(acl, NULL, "c", "#");            /* '#' doesn't reach $ either */
    SUB_OK(acl, "ops", "c", "$SYS/#");
    SUB_OK(acl, "ops", "c", "$SYS/broker/+");
    SUB_OK(acl, "ops", "c", "$SYS");
    SUB_NO(acl, "ops", "c", "#");
    PUB_NO(acl, "ops", "c", "$SYS/x");
    PUB_OK(acl, "ops", "c", "$share/g/x");
    PUB_NO(acl, "ops", "c", "$share/g/y");
    /* a '$' later than the first byte is an ordinary character */
    PUB_OK(acl, NULL, "c", "a/$SYS");
    pt_acl_free(acl);
}

/* ---- randomized cross-checks against a reference ---- */

/* Rounds of the randomized checks are multiplied by PT_ACL_SCALE (the
 * environment; default 1) and the generator seeded from PT_ACL_SEED, for
 * longer runs by hand. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned scale = 1;

static unsigned
rnd(unsigned n)
{
    return pt_test_rnd(&rng, n);
}

/* MQTT matching, written straight from the spec over NUL-terminated
 * strings: the reference the compiled checks are compared with. */
static bool
ref_match_levels(const char *f, const char *t)
{
    const char *fe = strchrnul(f, '/'), *te = strchrnul(t, '/');

    if (fe - f == 1 && f[0] == '#')
        return true;
    if (!(fe - f == 1 && f[0] == '+') &&
        (fe - f != te - t || memcmp(f, t, (size_t)(fe - f)) != 0))
        return false;
    if (*fe == '\0' && *te == '\0')
        return true;
    if (*fe == '\0')
        return false;
    if (*te == '\0')
        return strcmp(fe, "/#") == 0;
    return ref_match_levels(fe + 1, te + 1);
}

static bool
ref_match(const char *f, const char *t)
{
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
        return false;
    return ref_match_levels(f, t);
}

enum { REF_OK, REF_SKIP, REF_UNSAFE };

/* Substitute a pattern Mosquitto's way, into out. */
static int
ref_subst(const char *p, const char *user, const char *cid, char *out)
{
    bool uses_u = false, uses_c = false;
    char lead = 0;

    out[0] = '\0';
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '%' && (p[i + 1] == 'u' || p[i + 1] == 'c')) {
            if (i == 0)
                lead = p[1];
            if (p[i + 1] == 'u') {
                uses_u = true;
                strcat(out, user ? user : "");
            } else {
                uses_c = true;
                strcat(out, cid ? cid : "");
            }
            i++;
        } else {
            strncat(out, p + i, 1);
        }
    }
    if (uses_u && user == NULL)
        return REF_SKIP;
    if ((uses_u && strpbrk(user, "+#/")) ||
        (uses_c && (cid == NULL || strpbrk(cid, "+#/"))) ||
        (lead == 'u' && (user[0] == '\0' || user[0] == '$')) ||
        (lead == 'c' && (cid == NULL || cid[0] == '\0' || cid[0] == '$')))
        return REF_UNSAFE;
    return REF_OK;
}

#define R_LINES 24
#define R_SECS 5

/* Users that may get sections, and the clients checked. */
static const char *const r_sec_users[R_SECS] = { "a", "b", "+", "a/b", "$a" };
static const char *const r_users[] = { NULL, "a", "b", "+", "a/b", "$a", "c",
                                       "" };
static const char *const r_cids[] = { NULL, "a", "b", "c", "x/y", "#", "$a",
                                      "" };
/* Levels of entries, filters and topics. */
static const char *const r_levels[] = { "a", "b", "c", "$a", "", "xay" };

struct rline {
    bool pattern;
    int sec;            /* -1 anonymous, else r_sec_users index */
    int access;         /* 0 deny, 1 read, 2 write, 3 readwrite */
    char f[64];
};

struct rmodel {
    struct rline l[R_LINES];
    unsigned n;
};

/* A random filter; pattern: with whole-level %u and %c, inlevel: and
 * "x%uy" (whose substitutions are in r_levels only for user "a"). */
static void
random_filter(char *f, bool pattern, bool inlevel)
{
    unsigned nlv = 1 + rnd(3);

    do {
        f[0] = '\0';
        for (unsigned i = 0; i < nlv; i++) {
            unsigned k = rnd(pattern ? (inlevel ? 12 : 11) : 9);

            if (i > 0)
                strcat(f, "/");
            if (i == nlv - 1 && k == 8)
                strcat(f, "#");
            else if (k >= 6 && k <= 8)
                strcat(f, "+");
            else if (k == 9)
                strcat(f, "%u");
            else if (k == 10)
                strcat(f, "%c");
            else if (k == 11)
                strcat(f, "x%uy");
            else
                strcat(f, r_levels[k]);
        }
    } while (f[0] == '\0');
}

static void
random_topic(char *t)
{
    unsigned nlv = 1 + rnd(4);

    do {
        t[0] = '\0';
        for (unsigned i = 0; i < nlv; i++) {
            if (i > 0)
                strcat(t, "/");
            strcat(t, r_levels[rnd(6)]);
        }
    } while (t[0] == '\0');
}

static const char *const r_access[] = { "deny", "read", "write",
                                        "readwrite" };

/* A random acl file and the model of it. */
static char *
random_acl(struct rmodel *m, bool inlevel)
{
    static char text[R_LINES * 96];
    int cur = -1;

    text[0] = '\0';
    m->n = 0;
    for (unsigned i = 0; i < R_LINES; i++) {
        struct rline *l = &m->l[m->n++];
        char line[96];

        if (i > 4 && rnd(4) == 0) {
            cur = (int)rnd(R_SECS);
            snprintf(line, sizeof(line), "user %s\n", r_sec_users[cur]);
            strcat(text, line);
        }
        l->pattern = rnd(3) == 0;
        l->sec = cur;
        l->access = (int)rnd(4);
        random_filter(l->f, l->pattern, inlevel);
        if (l->access == 3 && rnd(2) == 0)
            snprintf(line, sizeof(line), "%s %s\n",
                     l->pattern ? "pattern" : "topic", l->f);
        else
            snprintf(line, sizeof(line), "%s %s %s\n",
                     l->pattern ? "pattern" : "topic", r_access[l->access],
                     l->f);
        strcat(text, line);
    }
    return text;
}

/* The model's client section: -1 anonymous, -2 none, else index. */
static int
ref_section(const char *user)
{
    if (user == NULL)
        return -1;
    for (int i = 0; i < R_SECS; i++)
        if (strcmp(user, r_sec_users[i]) == 0)
            return i;
    return -2;
}

/* For each applicable line: call rel(f) with its substituted filter.
 * A deny relating (or failing closed) refuses; a grant relating allows. */
static bool
ref_decide(const struct rmodel *m, const char *user, const char *cid,
           bool write, bool (*rel_grant)(const char *e, const void *arg),
           bool (*rel_deny)(const char *e, const void *arg), const void *arg)
{
    int sec = ref_section(user);
    bool granted = false;

    for (unsigned i = 0; i < m->n; i++) {
        const struct rline *l = &m->l[i];
        char f[256];
        int rs = REF_OK;

        if (l->pattern)
            rs = ref_subst(l->f, user, cid, f);
        else if (l->sec == sec)
            strcpy(f, l->f);
        else
            continue;
        if (l->access == 0) {
            if (rs == REF_UNSAFE || (rs == REF_OK && rel_deny(f, arg)))
                return false;
            continue;
        }
        if (rs != REF_OK)
            continue;
        if ((write ? l->access != 1 : l->access != 2) && rel_grant(f, arg))
            granted = true;
    }
    return granted;
}

static bool
rel_pub(const char *e, const void *arg)
{
    return ref_match(e, arg);
}

static void
test_acl_random_publish(void **state)
{
    struct rmodel m;
    unsigned allowed = 0, checks = 0;

    (void)state;
    for (unsigned round = 0; round < 200 * scale; round++) {
        char *text = random_acl(&m, true);
        struct pt_acl *acl = acl_of(text);

        for (unsigned k = 0; k < 200; k++) {
            const char *user = r_users[rnd(8)];
            const char *cid = r_cids[rnd(8)];
            char topic[64];
            bool want, got;

            random_topic(topic);
            want = ref_decide(&m, user, cid, true, rel_pub, rel_pub, topic);
            got = pub(acl, user, cid, topic);
            if (want != got)
                fail_msg("publish %s by %s/%s: got %d want %d, acl:\n%s",
                         topic, user ? user : "(anon)",
                         cid ? cid : "(null)", got, want, text);
            allowed += got;
            checks++;
        }
        pt_acl_free(acl);
    }
    /* both answers are common */
    assert_true(allowed > checks / 20);
    assert_true(allowed < checks - checks / 20);
}

/* Every topic over r_levels of up to 4 levels: with entries and filters
 * of at most 3 levels over the same alphabet (substituted names among
 * them, or unsafe), a counterexample to coverage or a witness of an
 * intersection always has a representative here. */
#define U_MAX 2000
static char universe[U_MAX][32];
static unsigned nuniverse;

static void
universe_build(void)
{
    unsigned idx[4];

    nuniverse = 0;
    for (unsigned depth = 1; depth <= 4; depth++) {
        unsigned total = 1;

        for (unsigned i = 0; i < depth; i++)
            total *= 6;
        for (unsigned k = 0; k < total; k++) {
            char *t = universe[nuniverse];
            unsigned x = k;

            for (unsigned i = 0; i < depth; i++) {
                idx[i] = x % 6;
                x /= 6;
            }
            t[0] = '\0';
            for (unsigned i = 0; i < depth; i++) {
                if (i > 0)
                    strcat(t, "/");
                strcat(t, r_levels[idx[i]]);
            }
            if (t[0] == '\0')
                continue;
            assert_true(++nuniverse < U_MAX);
        }
    }
}

/* The topics of the universe the filter matches. */
struct fset {
    unsigned n;
    unsigned idx[U_MAX];
};

static bool
rel_covers(const char *e, const void *arg)
{
    const struct fset *fs = arg;

    for (unsigned i = 0; i < fs->n; i++)
        if (!ref_match(e, universe[fs->idx[i]]))
            return false;
    return true;
}

static bool
rel_meets(const char *e, const void *arg)
{
    const struct fset *fs = arg;

    for (unsigned i = 0; i < fs->n; i++)
        if (ref_match(e, universe[fs->idx[i]]))
            return true;
    return false;
}

static void
test_acl_random_subscribe(void **state)
{
    static struct fset fs;
    struct rmodel m;
    unsigned allowed = 0, checks = 0;

    (void)state;
    universe_build();
    for (unsigned round = 0; round < 60 * scale; round++) {
        char *text = random_acl(&m, false);
        struct pt_acl *acl = acl_of(text);

        for (unsigned k = 0; k < 100; k++) {
            const char *user = r_users[rnd(8)];
            const char *cid = r_cids[rnd(8)];
            char filter[64];
            bool want, got;

            random_filter(filter, false, false);
            fs.n = 0;
            for (unsigned i = 0; i < nuniverse; i++)
                if (ref_match(filter, universe[i]))
                    fs.idx[fs.n++] = i;
            want = ref_decide(&m, user, cid, false, rel_covers, rel_meets,
                              &fs);
            got = sub(acl, user, cid, filter);
            if (want != got)
                fail_msg("subscribe %s by %s/%s: got %d want %d, acl:\n%s",
                         filter, user ? user : "(anon)",
                         cid ? cid : "(null)", got, want, text);
            allowed += got;
            checks++;
        }
        pt_acl_free(acl);
    }
    assert_true(allowed > checks / 50);
    assert_true(allowed < checks - checks / 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_patterns),
        cmocka_unit_test(test_acl_pattern_unsafe_names),
        cmocka_unit_test(test_acl_deny_precedence),
        cmocka_unit_test(test_acl_subscribe_table),
        cmocka_unit_test(test_acl_subscribe_table_patterns),
        cmocka_unit_test(test_acl_dollar_topics),
        cmocka_unit_test(test_acl_random_publish),
        cmocka_unit_test(test_acl_random_subscribe),
    };

    const char *env = getenv("PT_ACL_SEED");

    if (env != NULL && strtoull(env, NULL, 0) != 0)
        rng = strtoull(env, NULL, 0);
    env = getenv("PT_ACL_SCALE");
    if (env != NULL && atoi(env) > 0)
        scale = (unsigned)atoi(env);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
