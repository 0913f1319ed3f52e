/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench's (address, port) picking (apps/petrel-bench/rss.c):
 *   - the Toeplitz hash of the broker's answers matches the Microsoft RSS
 *     verification vector (so the tuple's field order and byte order are
 *     the NIC's);
 *   - without RSS, the cores' tuples are disjoint and cover the space,
 *     from any starting point, and then run out (-ENOSPC);
 *   - with RSS, every tuple a core gets hashes (through the redirection
 *     table) to that core's queue, and the cores' tuples are disjoint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bench.h"

/* The key of Microsoft's "Verifying the RSS Hash Calculation". */
static const uint8_t ms_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static void
setup_run(struct pb_run *run, struct pb_opts *o, unsigned cores, bool rss)
{
    memset(run, 0, sizeof(*run));
    memset(o, 0, sizeof(*o));
    o->cores = cores;
    o->broker_ip = inet_addr("10.99.0.2");
    o->broker_port = 1883;
    o->src_ip = inet_addr("10.99.0.100");
    o->src_count = 3;
    o->sport_min = 2000;
    o->sport_max = 2099;
    run->o = o;
    if (rss) {
        run->rss = true;
        memcpy(run->rss_key, ms_key, sizeof(ms_key));
        run->rss_key_len = sizeof(ms_key);
        run->reta_size = 128;
        for (unsigned i = 0; i < run->reta_size; i++)
            run->reta[i] = (uint16_t)(i % cores);
    }
}

/* The answer of 66.9.149.187:2794 to 161.142.100.80:1766 hashes to
 * 0x51ccc178 (IPv4 with TCP ports, the vector's first row). */
static void
test_bench_rss_hash_vector(void **state)
{
    struct pb_run run;
    struct pb_opts o;

    (void)state;
    setup_run(&run, &o, 1, true);
    o.broker_ip = inet_addr("66.9.149.187");
    o.broker_port = 2794;
    assert_int_equal(pb_rss_hash(&run, inet_addr("161.142.100.80"), 1766),
                     0x51ccc178);
    /* second row: 199.92.111.2:14230 -> 65.69.140.83:4739 */
    o.broker_ip = inet_addr("199.92.111.2");
    o.broker_port = 14230;
    assert_int_equal(pb_rss_hash(&run, inet_addr("65.69.140.83"), 4739),
                     0xc626b0ea);
}

static unsigned
slot(const struct pb_opts *o, uint32_t laddr, uint16_t lport)
{
    uint32_t a = ntohl(laddr) - ntohl(o->src_ip);

    assert_true(a < o->src_count);
    assert_true(lport >= o->sport_min && lport <= o->sport_max);
    return a * (o->sport_max - o->sport_min + 1u) + (lport - o->sport_min);
}

/* Walk every core's tuples; each slot once at most; returns how many. */
static unsigned
walk(struct pb_run *run, unsigned cores, uint8_t *owner_of)
{
    const struct pb_opts *o = run->o;
    unsigned total = 0;

    for (unsigned c = 0; c < cores; c++) {
        uint64_t cursor = 0;
        uint32_t laddr;
        uint16_t lport;

        while (pb_tuple_next(run, c, cores, &cursor, &laddr, &lport) == 0) {
            unsigned k = slot(o, laddr, lport);

            assert_int_equal(owner_of[k], 0xff);   /* never twice */
            owner_of[k] = (uint8_t)c;
            total++;
            if (run->rss)
                assert_int_equal(run->reta[pb_rss_hash(run, laddr, lport) %
                                           run->reta_size], c);
        }
        assert_int_equal(pb_tuple_next(run, c, cores, &cursor, &laddr,
                                       &lport), -ENOSPC);
    }
    return total;
}

static void
test_bench_rss_disjoint_without_rss(void **state)
{
    static const uint64_t starts[] = { 0, 1, 299, 12345678901ull };
    struct pb_run run;
    struct pb_opts o;
    uint8_t owner_of[300];

    (void)state;
    for (unsigned i = 0; i < RTE_DIM(starts); i++) {
        setup_run(&run, &o, 3, false);
        run.tuple_start = starts[i];
        memset(owner_of, 0xff, sizeof(owner_of));
        assert_int_equal(walk(&run, 3, owner_of), 300);
        for (unsigned k = 0; k < 300; k++)
            assert_true(owner_of[k] < 3);
    }
}

static void
test_bench_rss_steered(void **state)
{
    struct pb_run run;
    struct pb_opts o;
    uint8_t owner_of[300];
    unsigned per_core[4] = { 0 };

    (void)state;
    setup_run(&run, &o, 4, true);
    run.tuple_start = 77;
    memset(owner_of, 0xff, sizeof(owner_of));
    assert_int_equal(walk(&run, 4, owner_of), 300);
    for (unsigned k = 0; k < 300; k++)
        per_core[owner_of[k]]++;
    /* the hash spreads: every core gets a fair share (not all on one) */
    for (unsigned c = 0; c < 4; c++)
        assert_true(per_core[c] > 30);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_rss_hash_vector),
        cmocka_unit_test(test_bench_rss_disjoint_without_rss),
        cmocka_unit_test(test_bench_rss_steered),
    };

    return cmocka_run_group_tests_name("bench_rss", tests, NULL, NULL);
}
