/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the fault-injection shim (dataplane/fault.c): tagged
 * frames in, frames (or captured transmissions) and counters out, fake
 * clock. Every test ends with the mempool back to zero in use: no path of
 * the shim may leak a frame, held ones included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>

#include <petrel/config.h>
#include <petrel/fault.h>

#include "pt_test.h"

#define T0 1000000000ull /* fake clock start, ns */
#define US 1000ull

struct fixture {
    struct pt_test_tx tx;
    struct pt_fault *f;
};

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->tx.accept = UINT32_MAX;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    pt_fault_free(fx->f);
    pt_test_tx_reset(&fx->tx);
    free(fx);
    /* no path may leak an mbuf, held frames included */
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
    return 0;
}

static void
conf_init(struct fixture *fx, struct pt_fault_conf *c, uint32_t seed)
{
    *c = (struct pt_fault_conf){
        .seed = seed,
        .pool = pt_test_pool(),
        .tx_fn = pt_test_tx_capture,
        .tx_ctx = &fx->tx,
        .socket_id = SOCKET_ID_ANY,
    };
}

static struct pt_fault *
shim(struct fixture *fx, const struct pt_fault_conf *c)
{
    fx->f = pt_fault_create(c);
    assert_non_null(fx->f);
    return fx->f;
}

/* A 64-byte frame carrying id in its first 4 bytes, the rest a pattern
 * derived from id; split into 20-byte segments when seg. */
static struct rte_mbuf *
frame(uint32_t id, int seg)
{
    uint8_t b[64];

    memcpy(b, &id, sizeof(id));
    for (size_t i = sizeof(id); i < sizeof(b); i++)
        b[i] = (uint8_t)(id * 7 + i);
    return pt_test_mbuf(b, sizeof(b), seg ? 20 : 0);
}

static uint32_t
id_of(const struct rte_mbuf *m)
{
    uint32_t id;

    assert_int_equal(pt_test_read(m, &id, sizeof(id)), sizeof(id));
    return id;
}

static void
free_all(struct rte_mbuf **pkts, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++)
        rte_pktmbuf_free(pkts[i]);
}

/* Feed frames ids[0..n) to rx; check the ids that come out. */
static void
rx_expect(struct pt_fault *f, const uint32_t *ids, uint16_t n, uint16_t cap,
          uint64_t now, const uint32_t *want, uint16_t nwant)
{
    struct rte_mbuf *pkts[64];
    uint16_t got;

    assert_true(cap <= 64);
    for (uint16_t i = 0; i < n; i++)
        pkts[i] = frame(ids[i], 0);
    got = pt_fault_rx(f, pkts, n, cap, now);
    assert_int_equal(got, nwant);
    for (uint16_t i = 0; i < got; i++)
        assert_int_equal(id_of(pkts[i]), want[i]);
    free_all(pkts, got);
}

static void
tx_expect(struct fixture *fx, const uint32_t *want, unsigned nwant)
{
    assert_int_equal(fx->tx.n, nwant);
    for (unsigned i = 0; i < nwant; i++)
        assert_int_equal(id_of(fx->tx.pkts[i]), want[i]);
    pt_test_tx_reset(&fx->tx);
}

static void
test_fault_conf_active(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;

    conf_init(fx, &c, 1);
    assert_false(pt_fault_conf_active(&c));
    assert_false(pt_fault_conf_active(NULL));
    c.tx.delay_us = 1;
    assert_true(pt_fault_conf_active(&c));
    c.tx.delay_us = 0;
    c.rx.reorder_ppm = 1;
    assert_true(pt_fault_conf_active(&c));
}

static void
test_fault_conf_from_config(void **state)
{
    struct fixture *fx = *state;
    struct pt_config cfg;
    struct pt_fault_conf c;

    memset(&cfg, 0, sizeof(cfg));
    cfg.fault_seed = UINT32_MAX;
    cfg.fault_rx_drop_ppm = 1;
    cfg.fault_rx_dup_ppm = 2;
    cfg.fault_rx_reorder_ppm = 3;
    cfg.fault_rx_delay_us = 4;
    cfg.fault_tx_drop_ppm = 5;
    cfg.fault_tx_dup_ppm = 6;
    cfg.fault_tx_reorder_ppm = 7;
    cfg.fault_tx_delay_us = 8;
    conf_init(fx, &c, 0);
    pt_fault_conf_from_config(&c, &cfg, 3);
    assert_int_equal(c.seed, 2); /* wraps */
    assert_int_equal(c.rx.drop_ppm, 1);
    assert_int_equal(c.rx.dup_ppm, 2);
    assert_int_equal(c.rx.reorder_ppm, 3);
    assert_int_equal(c.rx.delay_us, 4);
    assert_int_equal(c.tx.drop_ppm, 5);
    assert_int_equal(c.tx.dup_ppm, 6);
    assert_int_equal(c.tx.reorder_ppm, 7);
    assert_int_equal(c.tx.delay_us, 8);
    /* the rest is the caller's */
    assert_ptr_equal(c.pool, pt_test_pool());
    assert_ptr_equal(c.tx_ctx, &fx->tx);
    assert_true(pt_fault_conf_active(&c));
}

static void
test_fault_create_bad_args(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct pt_fault_dir_conf dc = { 0 };

    assert_null(pt_fault_create(NULL));
    assert_int_equal(rte_errno, EINVAL);
    conf_init(fx, &c, 1);
    c.rx.drop_ppm = 1000001;
    rte_errno = 0;
    assert_null(pt_fault_create(&c));
    assert_int_equal(rte_errno, EINVAL);
    conf_init(fx, &c, 1);
    c.tx.delay_us = PT_FAULT_DELAY_MAX_US + 1;
    assert_null(pt_fault_create(&c));
    conf_init(fx, &c, 1);
    c.tx_fn = NULL;
    assert_null(pt_fault_create(&c));
    conf_init(fx, &c, 1);
    c.pool = NULL;
    c.tx.dup_ppm = 1;
    rte_errno = 0;
    assert_null(pt_fault_create(&c));
    assert_int_equal(rte_errno, EINVAL);
    conf_init(fx, &c, 1);
    c.held_max = PT_FAULT_HELD_MAX + 1;
    assert_null(pt_fault_create(&c));

    /* the limits themselves are fine; run-time changes are checked too */
    conf_init(fx, &c, 1);
    c.pool = NULL;
    c.rx.drop_ppm = 1000000;
    c.rx.delay_us = PT_FAULT_DELAY_MAX_US;
    shim(fx, &c);
    dc.dup_ppm = 1; /* no pool */
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_RX, &dc), -EINVAL);
    dc.dup_ppm = 0;
    dc.reorder_ppm = 1000001;
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &dc), -EINVAL);
    dc.reorder_ppm = 0;
    assert_int_equal(pt_fault_set_dir(fx->f, (enum pt_fault_dir)2, &dc),
                     -EINVAL);
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &dc), 0);
}

/* All off: every frame passes in order, the very same mbufs, untouched. */
static void
test_fault_all_off_passes_in_order(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct rte_mbuf *pkts[32], *orig[32];
    uint32_t ids[32];
    const struct pt_fault_stats *st;

    conf_init(fx, &c, 7);
    shim(fx, &c);
    for (uint32_t i = 0; i < 32; i++) {
        ids[i] = i;
        pkts[i] = orig[i] = frame(i, i % 2);
    }
    assert_int_equal(pt_fault_rx(fx->f, pkts, 32, 32, T0), 32);
    for (unsigned i = 0; i < 32; i++) {
        assert_ptr_equal(pkts[i], orig[i]);
        assert_int_equal(id_of(pkts[i]), i);
        assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), 64);
    }
    /* the same frames out through tx, in order */
    assert_int_equal(pt_fault_tx(fx->f, pkts, 32), 32);
    for (unsigned i = 0; i < 32; i++)
        assert_ptr_equal(fx->tx.pkts[i], orig[i]);
    tx_expect(fx, ids, 32);
    pt_fault_poll(fx->f, T0 + 1000 * US);
    assert_int_equal(fx->tx.n, 0);
    st = pt_fault_stats(fx->f);
    assert_int_equal(st->rx.passed, 32);
    assert_int_equal(st->tx.passed, 32);
    assert_int_equal(st->rx.dropped + st->rx.duplicated + st->rx.reordered +
                     st->rx.delayed + st->rx.held, 0);
    assert_int_equal(st->tx.dropped + st->tx.duplicated + st->tx.reordered +
                     st->tx.delayed + st->tx.held, 0);
}

/* Run `frames` frames one at a time through a shim dropping drop_ppm on
 * rx; record which were dropped. @return the number dropped. */
static uint32_t
drop_run(struct fixture *fx, uint32_t seed, uint32_t drop_ppm,
         uint8_t *dropped, uint32_t frames)
{
    struct pt_fault_conf c;
    uint32_t n = 0;

    conf_init(fx, &c, seed);
    c.rx.drop_ppm = drop_ppm;
    shim(fx, &c);
    for (uint32_t i = 0; i < frames; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(pt_test_pool());

        assert_non_null(m);
        dropped[i] = pt_fault_rx(fx->f, &m, 1, 1, T0) == 0;
        if (!dropped[i])
            rte_pktmbuf_free(m);
        n += dropped[i];
    }
    assert_int_equal(pt_fault_stats(fx->f)->rx.dropped, n);
    assert_int_equal(pt_fault_stats(fx->f)->rx.passed, frames - n);
    pt_fault_free(fx->f);
    fx->f = NULL;
    return n;
}

/* 10% drop over 100k frames: 10000 expected, sd ~95; 5 sd of slack.
 * The same seed drops exactly the same frames; another seed does not. */
static void
test_fault_drop_rate_and_seed(void **state)
{
    struct fixture *fx = *state;
    enum { FRAMES = 100000 };
    uint8_t *a = calloc(FRAMES, 1), *b = calloc(FRAMES, 1),
            *o = calloc(FRAMES, 1);
    uint32_t na, nb, no;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(o);
    na = drop_run(fx, 42, 100000, a, FRAMES);
    nb = drop_run(fx, 42, 100000, b, FRAMES);
    no = drop_run(fx, 43, 100000, o, FRAMES);
    assert_in_range(na, 9500, 10500);
    assert_in_range(no, 9500, 10500);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, FRAMES);
    assert_memory_not_equal(a, o, FRAMES);
    /* the extremes are exact */
    assert_int_equal(drop_run(fx, 42, 0, a, 1000), 0);
    assert_int_equal(drop_run(fx, 42, 1000000, a, 1000), 1000);
    free(a);
    free(b);
    free(o);
}

/* Drop on tx too, at 1%: 1000 expected of 100k, sd ~31. */
static void
test_fault_tx_drop_rate(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    const struct pt_fault_stats *st;
    uint64_t sent = 0;

    conf_init(fx, &c, 9);
    c.tx.drop_ppm = 10000;
    shim(fx, &c);
    for (unsigned burst = 0; burst < 100000 / 32 + 1; burst++) {
        struct rte_mbuf *pkts[32];

        assert_int_equal(rte_pktmbuf_alloc_bulk(pt_test_pool(), pkts, 32), 0);
        assert_int_equal(pt_fault_tx(fx->f, pkts, 32), 32);
        sent += fx->tx.n;
        pt_test_tx_reset(&fx->tx);
    }
    st = pt_fault_stats(fx->f);
    assert_in_range(st->tx.dropped, 1000 - 160, 1000 + 160);
    assert_int_equal(st->tx.dropped + sent, (100000 / 32 + 1) * 32);
    assert_int_equal(st->tx.passed, sent);
    assert_int_equal(st->rx.dropped, 0);
}

static void
assert_same_bytes(const struct rte_mbuf *x, const struct rte_mbuf *y)
{
    uint8_t bx[128], by[128];
    size_t lx = pt_test_read(x, bx, sizeof(bx));

    assert_ptr_not_equal(x, y);
    assert_int_equal(lx, pt_test_read(y, by, sizeof(by)));
    assert_memory_equal(bx, by, lx);
}

/* Every frame duplicated: the copy is a distinct mbuf with the same bytes
 * (chained originals included), right after its original. */
static void
test_fault_dup_byte_identical(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct rte_mbuf *pkts[8];
    const struct pt_fault_stats *st;

    conf_init(fx, &c, 3);
    c.rx.dup_ppm = 1000000;
    c.tx.dup_ppm = 1000000;
    shim(fx, &c);
    for (uint32_t i = 0; i < 4; i++)
        pkts[i] = frame(100 + i, i % 2);
    assert_int_equal(pt_fault_rx(fx->f, pkts, 4, 8, T0), 8);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(id_of(pkts[2 * i]), 100 + i);
        assert_same_bytes(pkts[2 * i], pkts[2 * i + 1]);
    }
    st = pt_fault_stats(fx->f);
    assert_int_equal(st->rx.duplicated, 4);
    assert_int_equal(st->rx.passed, 4);

    /* tx: the same, through the real transmit function */
    assert_int_equal(pt_fault_tx(fx->f, pkts, 4), 4);
    assert_int_equal(fx->tx.n, 8);
    assert_ptr_equal(fx->tx.pkts[0], pkts[0]);
    assert_ptr_equal(fx->tx.pkts[2], pkts[1]); /* rx copy of 100 */
    for (unsigned i = 0; i < 4; i++)
        assert_same_bytes(fx->tx.pkts[2 * i], fx->tx.pkts[2 * i + 1]);
    assert_int_equal(st->tx.duplicated, 4);
    pt_test_tx_reset(&fx->tx);
    free_all(pkts + 4, 4);
}

/* Copies that do not fit in cap stay held and come out with the next call,
 * n = 0 included; originals always fit. */
static void
test_fault_dup_over_cap_held(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    const uint32_t in[4] = { 1, 2, 3, 4 };
    const uint32_t first[5] = { 1, 1, 2, 3, 4 };
    const uint32_t rest[3] = { 2, 3, 4 };

    conf_init(fx, &c, 3);
    c.rx.dup_ppm = 1000000;
    shim(fx, &c);
    /* cap 5: one spare slot, taken by the first copy */
    rx_expect(fx->f, in, 4, 5, T0, first, 5);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 3);
    assert_int_equal(pt_fault_stats(fx->f)->rx.duplicated, 4);
    rx_expect(fx->f, NULL, 0, 2, T0, rest, 2);
    rx_expect(fx->f, NULL, 0, 2, T0, rest + 2, 1);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 0);
    /* a cap below n is taken as n: nothing is lost */
    rx_expect(fx->f, in, 1, 0, T0, in, 1);
    rx_expect(fx->f, NULL, 0, 4, T0, in, 1);
}

/* Reorder: a held frame comes out right behind the next frame that
 * passes; several held frames keep their order. */
static void
test_fault_reorder_swaps_behind_next(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct pt_fault_dir_conf on = { .reorder_ppm = 1000000 }, off = { 0 };
    const uint32_t a[1] = { 1 }, bc[2] = { 2, 3 }, bac[3] = { 2, 1, 3 };
    const uint32_t de[2] = { 4, 5 }, f6[1] = { 6 }, fde[3] = { 6, 4, 5 };

    conf_init(fx, &c, 5);
    c.rx = on;
    shim(fx, &c);
    rx_expect(fx->f, a, 1, 4, T0, NULL, 0);
    assert_int_equal(pt_fault_stats(fx->f)->rx.reordered, 1);
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_RX, &off), 0);
    rx_expect(fx->f, bc, 2, 4, T0 + 10 * US, bac, 3);

    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_RX, &on), 0);
    rx_expect(fx->f, de, 2, 4, T0 + 20 * US, NULL, 0);
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_RX, &off), 0);
    rx_expect(fx->f, f6, 1, 4, T0 + 30 * US, fde, 3);
    assert_int_equal(pt_fault_stats(fx->f)->rx.reordered, 3);
    assert_int_equal(pt_fault_stats(fx->f)->rx.passed, 3);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 0);
}

/* A lone held frame waits PT_FAULT_REORDER_MAX_NS at most. */
static void
test_fault_reorder_lone_frame_after_1ms(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    const uint32_t a[1] = { 1 };

    conf_init(fx, &c, 5);
    c.rx.reorder_ppm = 1000000;
    shim(fx, &c);
    rx_expect(fx->f, a, 1, 4, T0, NULL, 0);
    rx_expect(fx->f, NULL, 0, 4, T0 + PT_FAULT_REORDER_MAX_NS - 1, NULL, 0);
    rx_expect(fx->f, NULL, 0, 4, T0 + PT_FAULT_REORDER_MAX_NS, a, 1);
    /* a clock going back is ignored */
    rx_expect(fx->f, a, 1, 4, T0, NULL, 0);
    rx_expect(fx->f, NULL, 0, 4, T0 + 2 * PT_FAULT_REORDER_MAX_NS - 1, NULL,
              0);
    rx_expect(fx->f, NULL, 0, 4, T0 + 2 * PT_FAULT_REORDER_MAX_NS, a, 1);
}

/* Half the frames reordered, one frame per call, same clock: whatever the
 * generator picks, each call yields either nothing (held) or the new frame
 * followed by every frame held since the last one passed. */
static void
test_fault_reorder_property(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    uint32_t pending[64], np = 0, held = 0;

    conf_init(fx, &c, 11);
    c.rx.reorder_ppm = 500000;
    c.held_max = 64;
    shim(fx, &c);
    for (uint32_t id = 0; id < 2000; id++) {
        struct rte_mbuf *pkts[64] = { frame(id, 0) };
        uint16_t got = pt_fault_rx(fx->f, pkts, 1, 64, T0);

        if (got == 0) {
            assert_true(np < 64);
            pending[np++] = id;
            held++;
            continue;
        }
        assert_int_equal(got, 1 + np);
        assert_int_equal(id_of(pkts[0]), id);
        for (uint32_t i = 0; i < np; i++)
            assert_int_equal(id_of(pkts[1 + i]), pending[i]);
        np = 0;
        free_all(pkts, got);
    }
    assert_int_equal(pt_fault_stats(fx->f)->rx.reordered, held);
    assert_in_range(held, 900, 1100);
    /* whatever is still held goes at pt_fault_free() (teardown) */
}

/* Delay: every frame held delay_us by the fake clock, then out in order. */
static void
test_fault_delay_holds_until_due(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    const uint32_t ab[2] = { 1, 2 }, cc[1] = { 3 };

    conf_init(fx, &c, 1);
    c.rx.delay_us = 100;
    c.tx.delay_us = 100;
    shim(fx, &c);
    rx_expect(fx->f, ab, 2, 4, T0, NULL, 0);
    rx_expect(fx->f, cc, 1, 4, T0 + 50 * US, NULL, 0);
    assert_int_equal(pt_fault_stats(fx->f)->rx.delayed, 3);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 3);
    rx_expect(fx->f, NULL, 0, 4, T0 + 100 * US - 1, NULL, 0);
    rx_expect(fx->f, NULL, 0, 4, T0 + 100 * US, ab, 2);
    /* cap 0 with n 0: nothing fits, the frame stays held */
    rx_expect(fx->f, NULL, 0, 0, T0 + 200 * US, NULL, 0);
    rx_expect(fx->f, NULL, 0, 4, T0 + 200 * US, cc, 1);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 0);
    assert_int_equal(pt_fault_stats(fx->f)->rx.passed, 0);

    /* tx: held on the clock of the last poll, sent by a later poll */
    pt_fault_poll(fx->f, T0 + 1000 * US);
    {
        struct rte_mbuf *m = frame(7, 0);
        const uint32_t seven[1] = { 7 };

        assert_int_equal(pt_fault_tx(fx->f, &m, 1), 1);
        assert_int_equal(fx->tx.n, 0);
        pt_fault_poll(fx->f, T0 + 1100 * US - 1);
        assert_int_equal(fx->tx.n, 0);
        pt_fault_poll(fx->f, T0 + 1100 * US);
        tx_expect(fx, seven, 1);
    }
    assert_int_equal(pt_fault_stats(fx->f)->tx.delayed, 1);
    assert_int_equal(pt_fault_stats(fx->f)->tx.held, 0);
}

/* tx: frames reach the real transmit function in order, reordered frames
 * right behind the next one or at the poll after 1 ms, more than one chunk
 * per call; frames the real transmit refuses are freed and counted. */
static void
test_fault_tx_through_real_fn(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct pt_fault_dir_conf on = { .reorder_ppm = 1000000 }, off = { 0 };
    struct rte_mbuf *pkts[200];
    uint32_t want[400];
    const uint32_t bac[3] = { 2, 1, 3 }, d4[1] = { 4 };
    const struct pt_fault_stats *st;

    conf_init(fx, &c, 5);
    c.tx = on;
    shim(fx, &c);
    st = pt_fault_stats(fx->f);
    pt_fault_poll(fx->f, T0);
    pkts[0] = frame(1, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 1), 1);
    assert_int_equal(fx->tx.n, 0);
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &off), 0);
    pkts[0] = frame(2, 0);
    pkts[1] = frame(3, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 2), 2);
    tx_expect(fx, bac, 3);

    /* a lone reordered frame goes at the first poll 1 ms on */
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &on), 0);
    pkts[0] = frame(4, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 1), 1);
    pt_fault_poll(fx->f, T0 + PT_FAULT_REORDER_MAX_NS - 1);
    assert_int_equal(fx->tx.n, 0);
    pt_fault_poll(fx->f, T0 + PT_FAULT_REORDER_MAX_NS);
    tx_expect(fx, d4, 1);

    /* 200 frames in one call, each duplicated: 400 go out in order, over
     * several calls of the real transmit function */
    on = (struct pt_fault_dir_conf){ .dup_ppm = 1000000 };
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &on), 0);
    for (uint32_t i = 0; i < 200; i++) {
        pkts[i] = frame(1000 + i, 0);
        want[2 * i] = want[2 * i + 1] = 1000 + i;
    }
    assert_int_equal(pt_fault_tx(fx->f, pkts, 200), 200);
    tx_expect(fx, want, 400);
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &off), 0);

    /* refused by the device: freed and counted as dropped, on both paths */
    fx->tx.accept = 1;
    for (uint32_t i = 0; i < 3; i++)
        pkts[i] = frame(i, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 3), 3); /* all-off path */
    assert_int_equal(fx->tx.n, 1);
    assert_int_equal(st->tx.dropped, 2);
    pt_test_tx_reset(&fx->tx);
    on = (struct pt_fault_dir_conf){ .delay_us = 10 };
    assert_int_equal(pt_fault_set_dir(fx->f, PT_FAULT_TX, &on), 0);
    for (uint32_t i = 0; i < 3; i++)
        pkts[i] = frame(i, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 3), 3);
    pt_fault_poll(fx->f, T0 + PT_FAULT_REORDER_MAX_NS + 10 * US);
    assert_int_equal(fx->tx.n, 1);
    assert_int_equal(st->tx.dropped, 4);
    assert_int_equal(st->tx.held, 0);
}

/* Freeing a shim frees the frames it holds in both directions. */
static void
test_fault_free_releases_held(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    struct rte_mbuf *pkts[16];

    conf_init(fx, &c, 1);
    c.rx.delay_us = 1000;
    c.tx.reorder_ppm = 1000000;
    shim(fx, &c);
    for (uint32_t i = 0; i < 16; i++)
        pkts[i] = frame(i, 1);
    assert_int_equal(pt_fault_rx(fx->f, pkts, 16, 16, T0), 0);
    for (uint32_t i = 0; i < 16; i++)
        pkts[i] = frame(i, 0);
    assert_int_equal(pt_fault_tx(fx->f, pkts, 16), 16);
    assert_int_equal(fx->tx.n, 0);
    assert_int_equal(pt_fault_stats(fx->f)->rx.held, 16);
    assert_int_equal(pt_fault_stats(fx->f)->tx.held, 16);
    /* rx frames are chains of 4 segments (64 bytes in 20-byte pieces) */
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 16 * 4 + 16);
    pt_fault_free(fx->f);
    fx->f = NULL;
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

/* Rings full: frames that should be held pass unharmed, in place. */
static void
test_fault_held_overflow_passes(void **state)
{
    struct fixture *fx = *state;
    struct pt_fault_conf c;
    const uint32_t in[6] = { 1, 2, 3, 4, 5, 6 };
    const uint32_t late[4] = { 1, 2, 3, 4 };
    const struct pt_fault_stats *st;

    conf_init(fx, &c, 1);
    c.rx.delay_us = 10;
    c.held_max = 4;
    shim(fx, &c);
    st = pt_fault_stats(fx->f);
    rx_expect(fx->f, in, 6, 8, T0, in + 4, 2);
    assert_int_equal(st->rx.delayed, 4);
    assert_int_equal(st->rx.held_overflow, 2);
    assert_int_equal(st->rx.passed, 2);
    assert_int_equal(st->rx.held, 4);
    rx_expect(fx->f, NULL, 0, 8, T0 + 10 * US, late, 4);
    assert_int_equal(st->rx.held, 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fault_conf_active),
        T(test_fault_conf_from_config),
        T(test_fault_create_bad_args),
        T(test_fault_all_off_passes_in_order),
        T(test_fault_drop_rate_and_seed),
        T(test_fault_tx_drop_rate),
        T(test_fault_dup_byte_identical),
        T(test_fault_dup_over_cap_held),
        T(test_fault_reorder_swaps_behind_next),
        T(test_fault_reorder_lone_frame_after_1ms),
        T(test_fault_reorder_property),
        T(test_fault_delay_holds_until_due),
        T(test_fault_tx_through_real_fn),
        T(test_fault_free_releases_held),
        T(test_fault_held_overflow_passes),
    };
#undef T

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
