/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Login costs on the control plane (control/auth_passwd.c,
 * control/auth_throttle.c): what one password check costs, and what a
 * login refused by throttling costs instead. Both run on the control
 * thread, never on a dataplane core, so these figures bound the logins
 * one control core can answer per second.
 *
 * Password file: 1,000 users dev0000..dev0999 with $7$ hashes (PBKDF2-
 * HMAC-SHA512, 101 iterations, 12-byte salt: what mosquitto_passwd writes
 * by default, made here with pt_passwd_hash()) and one $6$ user (SHA-512
 * of password and salt, Mosquitto 1.6's default).
 *
 *   bm_passwd_check_pbkdf2        dev0042, right password
 *   bm_passwd_check_pbkdf2_wrong  dev0042, wrong password (same work)
 *   bm_passwd_check_sha512        the $6$ user, right password
 *   bm_passwd_check_unknown       a name not in the file (one PBKDF2 of
 *                                 the default strength all the same)
 *
 * Throttle table of auth.throttle_entries' default (4,096), full: 4,096
 * keys, each blocked (auth.fail_limit failures at the default policy), the
 * shape of a guessing flood from many sources. Keys of 4 bytes (an IPv4
 * source, stored inline) or 32 (a user name over PT_THROTTLE_KEY_INLINE:
 * stored as a keyed SipHash), taken in turn, so every lookup lands on a
 * different record. The clock stands still: nothing expires.
 *
 *   bm_throttle_blocked   pt_throttle_blocked() on a blocked key
 *   bm_throttle_fail      pt_throttle_fail() on a blocked key
 *   bm_throttle_refused   both: what pt_bctl_authenticate() does with a
 *                         login from a blocked source, instead of a
 *                         password check
 *   bm_throttle_fail_new  pt_throttle_fail() on keys not in the full
 *                         table: each takes the least recently failed
 *                         record (an eviction)
 *
 * Not included: the ring hops of the LOGIN request and its answer, the
 * CONNACK, the connection itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/auth.h>

#include "pt_bench.h"

#define USERS 1000
#define KEYS 4096           /* auth.throttle_entries' default */
#define NOW_MS 1000000u

static const char pass[] = "correct horse battery staple";
static const char wrong[] = "correct horse battery stapler";
/* carol's line of tests/unit/test_auth_passwd.c, password "carol-old-sha512" */
static const char carol[] =
    "carol:$6$f/Pr+hshoKyih3zi$WyCzRLg2OOAf28vKBMcCnuoFuNpvgnridJ58iWrg"
    "/MWrXZXbH0CrU4ZqgkwFFIIYowmiU5hkMkhHZywQiRtFLQ==\n";
static const char carol_pass[] = "carol-old-sha512";

/* auth.fail_limit, auth.fail_block_ms, auth.fail_block_max_ms defaults */
static const struct pt_throttle_policy pol = {
    .limit = 5,
    .block_ms = 1000,
    .block_max_ms = 60000,
};

/* The password table (users share one $7$ hash of `pass`: the cost of a
 * check does not depend on the salt). */
static struct pt_passwd *
passwd_make(struct pt_bench_state *st)
{
    size_t cap = (size_t)USERS * (PT_PASSWD_HASH_MAX + 16) + sizeof(carol);
    char *text = malloc(cap), hash[PT_PASSWD_HASH_MAX], err[256];
    struct pt_passwd *pw = NULL;
    size_t n = 0;

    if (text == NULL) {
        pt_bench_skip_with_error(st, "out of memory");
        return NULL;
    }
    if (pt_passwd_hash(pass, strlen(pass), hash, sizeof(hash)) != 0) {
        pt_bench_skip_with_error(st, "pt_passwd_hash failed");
        free(text);
        return NULL;
    }
    for (unsigned u = 0; u < USERS; u++)
        n += (size_t)snprintf(text + n, cap - n, "dev%04u:%s\n", u, hash);
    n += (size_t)snprintf(text + n, cap - n, "%s", carol);
    if (pt_passwd_parse(text, n, "bench", &pw, err, sizeof(err)) != 0)
        pt_bench_skip_with_error(st, err);
    free(text);
    return pw;
}

static void
run_passwd(struct pt_bench_state *st, const char *user, const char *pw_text,
           enum pt_auth_result want)
{
    struct pt_passwd *pw = passwd_make(st);
    uint64_t right = 0;

    if (pw == NULL)
        return;
    while (pt_bench_keep_running(st))
        right += pt_passwd_check(pw, user, strlen(user), pw_text,
                                 strlen(pw_text)) == want;
    if (right != (uint64_t)pt_bench_iterations_done(st))
        pt_bench_skip_with_error(st, "a check gave the wrong answer");
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_passwd_free(pw);
}

static void
bm_passwd_check_pbkdf2(struct pt_bench_state *st)
{
    run_passwd(st, "dev0042", pass, PT_AUTH_OK);
}
PT_BENCH(bm_passwd_check_pbkdf2);

static void
bm_passwd_check_pbkdf2_wrong(struct pt_bench_state *st)
{
    run_passwd(st, "dev0042", wrong, PT_AUTH_BAD_PASSWORD);
}
PT_BENCH(bm_passwd_check_pbkdf2_wrong);

static void
bm_passwd_check_sha512(struct pt_bench_state *st)
{
    run_passwd(st, "carol", carol_pass, PT_AUTH_OK);
}
PT_BENCH(bm_passwd_check_sha512);

static void
bm_passwd_check_unknown(struct pt_bench_state *st)
{
    run_passwd(st, "mallory", pass, PT_AUTH_UNKNOWN_USER);
}
PT_BENCH(bm_passwd_check_unknown);

/* ---- throttling ---- */

/* Key k of klen bytes (4: an address; longer: a user name). */
static void
key_make(uint8_t *key, size_t klen, uint32_t k)
{
    memset(key, 'u', klen);
    memcpy(key, &k, sizeof(k));
}

enum thr_op {
    T_BLOCKED,
    T_FAIL,
    T_REFUSED,
    T_FAIL_NEW,
};

static void
run_throttle(struct pt_bench_state *st, enum thr_op op)
{
    size_t klen = (size_t)pt_bench_range_x(st, 0);
    struct pt_throttle *t = pt_throttle_create(KEYS);
    struct pt_throttle_stats ts;
    uint8_t key[64];
    uint64_t blocked = 0, i = 0;

    if (t == NULL) {
        pt_bench_skip_with_error(st, "pt_throttle_create failed");
        return;
    }
    for (uint32_t k = 0; k < KEYS; k++) {
        key_make(key, klen, k);
        for (uint32_t f = 0; f < pol.limit; f++)
            pt_throttle_fail(t, key, klen, NOW_MS, &pol);
    }
    while (pt_bench_keep_running(st)) {
        uint32_t k = op == T_FAIL_NEW ? (uint32_t)(KEYS + i)
                                      : (uint32_t)(i & (KEYS - 1));

        i++;
        memcpy(key, &k, sizeof(k));
        if (op == T_BLOCKED || op == T_REFUSED)
            blocked += pt_throttle_blocked(t, key, klen, NOW_MS, &pol) != 0;
        if (op != T_BLOCKED)
            pt_throttle_fail(t, key, klen, NOW_MS, &pol);
    }
    pt_throttle_stats(t, &ts);
    if ((op == T_BLOCKED || op == T_REFUSED) && blocked != i)
        pt_bench_skip_with_error(st, "a blocked key was let through");
    else if (ts.in_use != KEYS ||
             ts.evictions != (op == T_FAIL_NEW ? i : 0))
        pt_bench_skip_with_error(st, "the table did not keep its keys");
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_throttle_destroy(t);
}

static void
bm_throttle_blocked(struct pt_bench_state *st)
{
    run_throttle(st, T_BLOCKED);
}
PT_BENCH_CONFIG(bm_throttle_blocked)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 4), 32), "keylen");
}

static void
bm_throttle_fail(struct pt_bench_state *st)
{
    run_throttle(st, T_FAIL);
}
PT_BENCH_CONFIG(bm_throttle_fail)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 4), 32), "keylen");
}

static void
bm_throttle_refused(struct pt_bench_state *st)
{
    run_throttle(st, T_REFUSED);
}
PT_BENCH_CONFIG(bm_throttle_refused)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 4), 32), "keylen");
}

static void
bm_throttle_fail_new(struct pt_bench_state *st)
{
    run_throttle(st, T_FAIL_NEW);
}
PT_BENCH_CONFIG(bm_throttle_fail_new)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 4), 32), "keylen");
}

PT_BENCH_MAIN();
