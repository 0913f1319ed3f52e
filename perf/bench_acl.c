/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access control checks (dataplane/acl.c): one publish or subscribe check
 * of a user whose section has N topic entries (10, 100) in an acl of
 * 1,000 users, with 3 patterns, and the section lookup itself.
 *
 * The user's section (user dev0042, client id cid-dev0042):
 *   topic deny devices/dev0042/secret/#
 *   N - 1 entries, alternating
 *     topic readwrite devices/dev0042/s<k>/#
 *     topic write     devices/dev0042/s<k>/+/value
 *   pattern readwrite clients/%c/#
 *   pattern write users/%u/out/#
 *   pattern read users/%u/in/#
 * Every entry shares the topics' first two levels, so each is rejected
 * only at its third: close to the worst case of a real file.
 *
 * Benchmarks:
 *   publish_allowed  topics matching a random entry of the section, or
 *                    one of the patterns (every 8th)
 *   publish_denied   topics nothing matches (every entry is tried)
 *   subscribe        filters a random entry covers (all entries' deny
 *                    checks, then coverage)
 *   section          the user-name lookup among the 1,000 users
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/acl.h>

#include "pt_bench.h"
#include "pt_test.h"

#define USERS 1000
#define NTOPICS 256
#define TLEN 64

static const char user[] = "dev0042";
static const char cid[] = "cid-dev0042";

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
    return pt_test_rnd(&rng, n);
}

/* The file: USERS users, dev0042 with `entries` topic entries. */
static struct pt_acl *
acl_make(struct pt_bench_state *st, unsigned entries)
{
    size_t cap = (size_t)USERS * 256 + (size_t)entries * 64 + 512, n = 0;
    char *text = malloc(cap), err[256];
    struct pt_acl *acl = NULL;

    if (text == NULL) {
        pt_bench_skip_with_error(st, "out of memory");
        return NULL;
    }
    n += (size_t)snprintf(text + n, cap - n,
                          "pattern readwrite clients/%%c/#\n"
                          "pattern write users/%%u/out/#\n"
                          "pattern read users/%%u/in/#\n");
    for (unsigned u = 0; u < USERS; u++) {
        unsigned k = u == 42 ? entries - 1 : 3;

        n += (size_t)snprintf(text + n, cap - n, "user dev%04u\n"
                              "topic deny devices/dev%04u/secret/#\n", u, u);
        for (unsigned i = 0; i < k; i++)
            n += (size_t)snprintf(text + n, cap - n,
                                  i % 2 ? "topic write devices/dev%04u/s%u/+/value\n"
                                        : "topic readwrite devices/dev%04u/s%u/#\n",
                                  u, i);
    }
    if (pt_acl_parse(text, n, "bench", &acl, err, sizeof(err)) != 0)
        pt_bench_skip_with_error(st, err);
    free(text);
    return acl;
}

enum kind {
    K_ALLOWED,
    K_DENIED,
    K_SUBSCRIBE,
};

static void
topics_make(char (*t)[TLEN], unsigned entries, enum kind kind)
{
    for (unsigned i = 0; i < NTOPICS; i++) {
        unsigned k = rnd(entries - 1);

        if (kind == K_DENIED)
            snprintf(t[i], TLEN, "devices/dev0042/x%u/temp", k);
        else if (kind == K_ALLOWED && i % 16 == 7)
            snprintf(t[i], TLEN, "clients/%s/state", cid);
        else if (kind == K_ALLOWED && i % 16 == 15)
            snprintf(t[i], TLEN, "users/%s/out/x", user);
        else if (kind == K_ALLOWED)
            snprintf(t[i], TLEN, k % 2 ? "devices/dev0042/s%u/t/value"
                                       : "devices/dev0042/s%u/temp", k);
        else    /* readable: the readwrite entries, k even */
            snprintf(t[i], TLEN, k % 4 ? "devices/dev0042/s%u/+/value"
                                       : "devices/dev0042/s%u/+", k & ~1u);
    }
}

static void
run(struct pt_bench_state *st, enum kind kind)
{
    unsigned entries = (unsigned)pt_bench_range_x(st, 0);
    static char topics[NTOPICS][TLEN];
    static size_t lens[NTOPICS];
    struct pt_acl *acl = acl_make(st, entries);
    const struct pt_acl_section *sec;
    uint64_t i = 0, allowed = 0;
    bool want = kind != K_DENIED;

    if (acl == NULL)
        return;
    sec = pt_acl_section(acl, user, strlen(user));
    topics_make(topics, entries, kind);
    for (unsigned k = 0; k < NTOPICS; k++)
        lens[k] = strlen(topics[k]);
    while (pt_bench_keep_running(st)) {
        unsigned k = (unsigned)(i++ & (NTOPICS - 1));
        bool ok = kind == K_SUBSCRIBE
                      ? pt_acl_may_subscribe(acl, sec, user, sizeof(user) - 1,
                                             cid, sizeof(cid) - 1, topics[k],
                                             lens[k])
                      : pt_acl_may_publish(acl, sec, user, sizeof(user) - 1,
                                           cid, sizeof(cid) - 1, topics[k],
                                           lens[k]);

        allowed += ok == want;
    }
    if (allowed != i)
        pt_bench_skip_with_error(st, "a check gave the wrong answer");
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_acl_free(acl);
}

static void
bm_acl_publish_allowed(struct pt_bench_state *st)
{
    run(st, K_ALLOWED);
}
PT_BENCH_CONFIG(bm_acl_publish_allowed)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 10), 100), "entries");
}

static void
bm_acl_publish_denied(struct pt_bench_state *st)
{
    run(st, K_DENIED);
}
PT_BENCH_CONFIG(bm_acl_publish_denied)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 10), 100), "entries");
}

static void
bm_acl_subscribe(struct pt_bench_state *st)
{
    run(st, K_SUBSCRIBE);
}
PT_BENCH_CONFIG(bm_acl_subscribe)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 10), 100), "entries");
}

/* The lookup a session does once per acl generation. */
static void
bm_acl_section(struct pt_bench_state *st)
{
    struct pt_acl *acl = acl_make(st, 10);
    char names[NTOPICS][16];
    uint64_t i = 0;

    if (acl == NULL)
        return;
    for (unsigned k = 0; k < NTOPICS; k++)
        snprintf(names[k], sizeof(names[k]), "dev%04u", rnd(USERS));
    while (pt_bench_keep_running(st)) {
        const struct pt_acl_section *s =
            pt_acl_section(acl, names[i++ & (NTOPICS - 1)], 7);

        pt_bench_do_not_optimize(&s);
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_acl_free(acl);
}
PT_BENCH(bm_acl_section);

PT_BENCH_MAIN();
