/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of petrel-bench's latency histogram (apps/petrel-bench/hist.c):
 * the bucket error bound, percentiles against a sorted reference for three
 * distributions, edge cases, merge, reset, the CDF text, and a merge racing
 * its owner's records.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"

#define N_REF 100000
#define US 1000ull
#define MS 1000000ull

static const double pcts[] = {
    0.0, 0.001, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99,
    99.999, 100.0,
};

/* xorshift64*: deterministic, good enough for test data. */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static double
rnd01(uint64_t *s)
{
    return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller. */
static double
rnd_normal(uint64_t *s)
{
    double u1 = rnd01(s), u2 = rnd01(s);

    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static struct pb_hist *
hist(uint64_t highest, int digits)
{
    struct pb_hist *h = pb_hist_new(highest, digits);

    assert_non_null(h);
    return h;
}

/* Largest bucket width allowed relative to the value: 1/1024 for 3 digits,
 * 1/128 for 2 (S/2 sub-buckets per power of two). */
static double
rel_err(int digits)
{
    return digits == 3 ? 1.0 / 1024 : digits == 2 ? 1.0 / 128 : 1.0 / 16;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static char *
cdf_text(const struct pb_hist *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_int_equal(pb_hist_write_cdf(h, f), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
test_hist_new_bad_args(void **state)
{
    struct pb_hist *h;

    (void)state;
    errno = 0;
    assert_null(pb_hist_new(1, 3));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pb_hist_new(0, 3));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pb_hist_new(PB_HIST_HOUR_NS, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pb_hist_new(PB_HIST_HOUR_NS, 4));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(pb_hist_new(PB_HIST_HOUR_NS, -1));
    assert_int_equal(errno, EINVAL);

    /* the footprint the header promises for 3 and 2 digits, 1 hour */
    h = hist(PB_HIST_HOUR_NS, 3);
    assert_int_equal(pb_hist_bytes(h), 267456);
    pb_hist_free(h);
    h = hist(PB_HIST_HOUR_NS, 2);
    assert_int_equal(pb_hist_bytes(h), 36608);
    pb_hist_free(h);
    /* the whole 64-bit range fits */
    h = hist(UINT64_MAX, 3);
    pb_hist_record(h, UINT64_MAX);
    assert_int_equal(pb_hist_overflow(h), 0);
    assert_true(pb_hist_percentile(h, 100) == UINT64_MAX);
    pb_hist_free(h);
    pb_hist_free(NULL);
}

/* Check v's bucket: contains v, is narrower than the error bound, and the
 * buckets tile the line (the next one starts right after). */
static void
check_bucket(const struct pb_hist *h, uint64_t v, double err)
{
    uint64_t lo = pb_hist_lowest_equivalent(h, v);
    uint64_t hi = pb_hist_highest_equivalent(h, v);

    if (!(lo <= v && v <= hi))
        fail_msg("value %" PRIu64 " outside its bucket [%" PRIu64
                 ", %" PRIu64 "]", v, lo, hi);
    if ((double)(hi - lo) > err * (double)lo)
        fail_msg("bucket [%" PRIu64 ", %" PRIu64 "] of %" PRIu64
                 " wider than %g", lo, hi, v, err);
    if (hi < UINT64_MAX && hi < PB_HIST_HOUR_NS)
        assert_true(pb_hist_lowest_equivalent(h, hi + 1) == hi + 1);
    if (lo > 0)
        assert_true(pb_hist_highest_equivalent(h, lo - 1) == lo - 1);
}

static void
test_hist_bucket_error_bound(void **state)
{
    (void)state;
    for (int digits = 1; digits <= 3; digits++) {
        struct pb_hist *h = hist(PB_HIST_HOUR_NS, digits);
        double err = rel_err(digits);
        uint64_t s = 42;

        for (uint64_t v = 0; v < 70000; v++)
            check_bucket(h, v, err);
        for (int k = 1; k < 42; k++) {
            uint64_t p = UINT64_C(1) << k;

            check_bucket(h, p - 1, err);
            check_bucket(h, p, err);
            check_bucket(h, p + 1, err);
        }
        for (int i = 0; i < 200000; i++) {
            /* log-uniform over 1 ns .. 1 hour */
            uint64_t v = (uint64_t)exp(rnd01(&s) *
                                       log((double)PB_HIST_HOUR_NS));

            check_bucket(h, v, err);
        }
        check_bucket(h, PB_HIST_HOUR_NS, err);
        pb_hist_free(h);
    }
}

/* One value alone: every percentile reads its bucket's top, within the
 * error bound of the value. */
static void
test_hist_single_value_equivalent(void **state)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, 3);
    uint64_t s = 7;

    (void)state;
    for (int i = 0; i < 2000; i++) {
        uint64_t v = (uint64_t)exp(rnd01(&s) * log((double)PB_HIST_HOUR_NS));
        uint64_t p;

        pb_hist_reset(h);
        pb_hist_record(h, v);
        p = pb_hist_percentile(h, 50);
        assert_true(p >= v);
        assert_true((double)(p - v) <= (double)v / 1000.0);
        assert_true(pb_hist_percentile(h, 0) <= v);
        assert_true(pb_hist_min(h) == v && pb_hist_max(h) == v);
        assert_true(fabs(pb_hist_mean(h) - (double)v) <= (double)v / 1000.0);
    }
    pb_hist_free(h);
}

/* The mean takes each bucket at its middle: values spread evenly over a
 * bucket average out exactly, wherever the bucket is. */
static void
test_hist_mean_bucket_middle(void **state)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, 3);
    const uint64_t vs[] = { 1000000, 123456789, 3000000000000ull };

    (void)state;
    for (size_t k = 0; k < sizeof(vs) / sizeof(vs[0]); k++) {
        uint64_t lo = pb_hist_lowest_equivalent(h, vs[k]);
        uint64_t hi = pb_hist_highest_equivalent(h, vs[k]);

        pb_hist_reset(h);
        assert_true(hi - lo >= 511);   /* a wide bucket: the test bites */
        pb_hist_record_n(h, lo, 1000);
        pb_hist_record_n(h, hi, 1000);
        assert_true(fabs(pb_hist_mean(h) - ((double)lo + (double)hi) / 2)
                    <= 1.0);
    }
    pb_hist_free(h);
}

enum dist { UNIFORM, EXPONENTIAL, BIMODAL };

static uint64_t
draw(enum dist d, uint64_t *s)
{
    double x;

    switch (d) {
    case UNIFORM:      /* 1 ns .. 10 ms */
        return 1 + rnd(s) % (10 * MS);
    case EXPONENTIAL:  /* mean 50 us */
        return (uint64_t)(-log(1.0 - rnd01(s)) * 50.0 * US);
    case BIMODAL:      /* 90% around 20 us, 10% around 2 ms */
        if (rnd(s) % 10 != 0)
            x = 20.0 * US + 3.0 * US * rnd_normal(s);
        else
            x = 2.0 * MS + 0.3 * MS * rnd_normal(s);
        return x < 1.0 ? 1 : (uint64_t)x;
    }
    return 0;
}

static void
check_against_reference(enum dist d, int digits, uint64_t seed)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, digits);
    uint64_t *ref = malloc(N_REF * sizeof(*ref));
    double err = rel_err(digits), sum = 0.0;
    uint64_t s = seed;

    assert_non_null(ref);
    for (int i = 0; i < N_REF; i++) {
        ref[i] = draw(d, &s);
        sum += (double)ref[i];
        pb_hist_record(h, ref[i]);
    }
    qsort(ref, N_REF, sizeof(*ref), cmp_u64);
    assert_int_equal(pb_hist_count(h), N_REF);
    assert_true(pb_hist_min(h) == ref[0]);
    assert_true(pb_hist_max(h) == ref[N_REF - 1]);
    assert_int_equal(pb_hist_overflow(h), 0);
    assert_true(fabs(pb_hist_mean(h) - sum / N_REF) <= err * sum / N_REF);

    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
        uint64_t rank = (uint64_t)(pcts[k] / 100.0 * N_REF + 0.5);
        uint64_t want, got = pb_hist_percentile(h, pcts[k]);

        if (rank < 1)
            rank = 1;
        want = ref[rank - 1];
        /* the bucket of the rank's value: top (or bottom for p0) of it */
        if (pcts[k] == 0.0) {
            assert_true(got <= want);
            assert_true((double)(want - got) <= err * (double)want);
        } else if (got < want ||
                   (double)(got - want) > err * (double)want) {
            fail_msg("dist %d digits %d p%g: got %" PRIu64 " want %" PRIu64,
                     d, digits, pcts[k], got, want);
        }
    }
    free(ref);
    pb_hist_free(h);
}

static void
test_hist_percentiles_uniform(void **state)
{
    (void)state;
    check_against_reference(UNIFORM, 3, 1);
    check_against_reference(UNIFORM, 2, 2);
}

static void
test_hist_percentiles_exponential(void **state)
{
    (void)state;
    check_against_reference(EXPONENTIAL, 3, 3);
    check_against_reference(EXPONENTIAL, 2, 4);
}

static void
test_hist_percentiles_bimodal(void **state)
{
    (void)state;
    check_against_reference(BIMODAL, 3, 5);
    check_against_reference(BIMODAL, 2, 6);
}

static void
test_hist_empty(void **state)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, 3);
    char *txt;

    (void)state;
    assert_int_equal(pb_hist_count(h), 0);
    assert_int_equal(pb_hist_min(h), 0);
    assert_int_equal(pb_hist_max(h), 0);
    assert_int_equal(pb_hist_overflow(h), 0);
    assert_true(pb_hist_mean(h) == 0.0);
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
        assert_int_equal(pb_hist_percentile(h, pcts[k]), 0);
    txt = cdf_text(h);
    assert_string_equal(txt, "value_us,cum_fraction,count\n");
    free(txt);
    /* NULL is "nothing" for every reader */
    assert_int_equal(pb_hist_count(NULL), 0);
    assert_int_equal(pb_hist_percentile(NULL, 50), 0);
    assert_int_equal(pb_hist_bytes(NULL), 0);
    assert_int_equal(pb_hist_write_cdf(NULL, stdout), -EINVAL);
    assert_int_equal(pb_hist_write_cdf(h, NULL), -EINVAL);
    pb_hist_merge(h, NULL);
    pb_hist_merge(NULL, h);
    pb_hist_reset(NULL);
    pb_hist_free(h);
}

static void
test_hist_edges(void **state)
{
    const uint64_t highest = 10 * 1000 * MS;   /* 10 s */
    struct pb_hist *h = hist(highest, 3);

    (void)state;
    /* zero is a value like any other, in its own counter */
    pb_hist_record(h, 0);
    assert_int_equal(pb_hist_count(h), 1);
    assert_int_equal(pb_hist_min(h), 0);
    assert_int_equal(pb_hist_max(h), 0);
    assert_int_equal(pb_hist_percentile(h, 100), 0);
    assert_int_equal(pb_hist_percentile(h, 0), 0);

    /* highest fits exactly */
    pb_hist_reset(h);
    pb_hist_record(h, highest);
    assert_int_equal(pb_hist_overflow(h), 0);
    assert_true(pb_hist_max(h) == highest);
    assert_true(pb_hist_percentile(h, 50) >= highest);
    assert_true(pb_hist_percentile(h, 50) ==
                pb_hist_highest_equivalent(h, highest));

    /* above it: clamped, counted, still part of the count */
    pb_hist_reset(h);
    pb_hist_record(h, 5);
    pb_hist_record(h, highest + 1);
    pb_hist_record(h, UINT64_MAX);
    pb_hist_record_n(h, highest * 3, 7);
    assert_int_equal(pb_hist_overflow(h), 9);
    assert_int_equal(pb_hist_count(h), 10);
    assert_true(pb_hist_max(h) == highest);
    assert_int_equal(pb_hist_min(h), 5);
    assert_true(pb_hist_percentile(h, 99) ==
                pb_hist_highest_equivalent(h, highest));
    assert_int_equal(pb_hist_percentile(h, 5), 5);

    /* percentile arguments out of range read as 0 and 100 */
    assert_int_equal(pb_hist_percentile(h, -3), pb_hist_percentile(h, 0));
    assert_int_equal(pb_hist_percentile(h, NAN), pb_hist_percentile(h, 0));
    assert_int_equal(pb_hist_percentile(h, 250), pb_hist_percentile(h, 100));

    /* record_n: n copies, n = 0 is nothing */
    pb_hist_reset(h);
    pb_hist_record_n(h, 1000, 0);
    assert_int_equal(pb_hist_count(h), 0);
    assert_int_equal(pb_hist_max(h), 0);
    pb_hist_record_n(h, 1000, 99);
    pb_hist_record(h, 2000);
    assert_int_equal(pb_hist_count(h), 100);
    assert_int_equal(pb_hist_percentile(h, 99), 1000);
    assert_int_equal(pb_hist_percentile(h, 99.6), 2000);
    pb_hist_free(h);

    /* the smallest histogram: values 0..2 */
    h = hist(2, 1);
    pb_hist_record(h, 2);
    pb_hist_record(h, 3);
    assert_int_equal(pb_hist_overflow(h), 1);
    assert_int_equal(pb_hist_percentile(h, 100), 2);
    pb_hist_free(h);
}

static void
assert_same(const struct pb_hist *a, const struct pb_hist *b)
{
    char *ta, *tb;

    assert_int_equal(pb_hist_count(a), pb_hist_count(b));
    assert_int_equal(pb_hist_min(a), pb_hist_min(b));
    assert_int_equal(pb_hist_max(a), pb_hist_max(b));
    assert_int_equal(pb_hist_overflow(a), pb_hist_overflow(b));
    assert_true(pb_hist_mean(a) == pb_hist_mean(b));
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
        assert_int_equal(pb_hist_percentile(a, pcts[k]),
                         pb_hist_percentile(b, pcts[k]));
    ta = cdf_text(a);
    tb = cdf_text(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

static void
test_hist_merge_equals_one(void **state)
{
    const uint64_t highest = 60 * 1000 * MS;
    struct pb_hist *part[3], *all = hist(highest, 3);
    struct pb_hist *dst = hist(highest, 3);
    uint64_t s = 11;

    (void)state;
    for (int p = 0; p < 3; p++)
        part[p] = hist(highest, 3);
    for (int i = 0; i < 30000; i++) {
        uint64_t v = draw((enum dist)(i % 3), &s);

        if (i % 1000 == 0)
            v = highest + 1 + (uint64_t)i;   /* some overflow too */
        pb_hist_record(part[i % 3], v);
        pb_hist_record(all, v);
    }
    for (int p = 0; p < 3; p++)
        pb_hist_merge(dst, part[p]);
    assert_int_equal(pb_hist_overflow(dst), 30);
    assert_same(dst, all);

    /* merging an empty one or itself changes nothing */
    pb_hist_reset(part[0]);
    pb_hist_merge(dst, part[0]);
    pb_hist_merge(dst, dst);
    assert_same(dst, all);

    /* a different layout merges value by value, at dst's precision */
    {
        struct pb_hist *coarse = hist(PB_HIST_HOUR_NS, 2);

        pb_hist_merge(coarse, all);
        assert_int_equal(pb_hist_count(coarse), pb_hist_count(all));
        assert_int_equal(pb_hist_min(coarse), pb_hist_min(all));
        assert_int_equal(pb_hist_max(coarse), pb_hist_max(all));
        for (size_t k = 1; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
            double a = (double)pb_hist_percentile(all, pcts[k]);
            double c = (double)pb_hist_percentile(coarse, pcts[k]);

            assert_true(fabs(c - a) <= a * (rel_err(2) + rel_err(3)));
        }
        pb_hist_free(coarse);
    }
    for (int p = 0; p < 3; p++)
        pb_hist_free(part[p]);
    pb_hist_free(all);
    pb_hist_free(dst);
}

static void
test_hist_reset(void **state)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, 3);
    struct pb_hist *fresh = hist(PB_HIST_HOUR_NS, 3);
    uint64_t s = 5;

    (void)state;
    for (int i = 0; i < 10000; i++)
        pb_hist_record(h, draw(EXPONENTIAL, &s));
    pb_hist_record(h, UINT64_MAX);
    pb_hist_reset(h);
    assert_same(h, fresh);
    assert_int_equal(pb_hist_count(h), 0);
    /* usable again, and min is not stuck at an old value */
    pb_hist_record(h, 777777);
    pb_hist_record(fresh, 777777);
    assert_same(h, fresh);
    assert_int_equal(pb_hist_min(h), 777777);
    pb_hist_free(h);
    pb_hist_free(fresh);
}

static void
test_hist_cdf(void **state)
{
    struct pb_hist *h = hist(PB_HIST_HOUR_NS, 3);
    uint64_t s = 9, n_read = 0, total;
    double last_v = -1.0, last_f = 0.0;
    char *txt, *line, *save = NULL;
    int lines = 0;
    FILE *full;

    (void)state;
    for (int i = 0; i < 50000; i++)
        pb_hist_record(h, draw(BIMODAL, &s));
    pb_hist_record(h, 0);
    pb_hist_record(h, 999);
    total = pb_hist_count(h);
    txt = cdf_text(h);
    line = strtok_r(txt, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "value_us,cum_fraction,count");
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        double v, f;
        uint64_t c;
        int used = 0;
        const char *dot = strchr(line, '.');

        if (sscanf(line, "%lf,%lf,%" SCNu64 "%n", &v, &f, &c, &used) != 3 ||
            line[used] != '\0')
            fail_msg("bad CDF line '%s'", line);
        /* microseconds with exactly 3 decimals */
        assert_non_null(dot);
        assert_int_equal(strchr(line, ',') - dot, 4);
        assert_true(v > last_v);
        assert_true(f >= last_f && f <= 1.0);
        assert_true(c > 0);
        n_read += c;
        /* the fraction is the running count over the total */
        assert_true(fabs(f - (double)n_read / (double)total) < 1e-9);
        last_v = v;
        last_f = f;
        lines++;
    }
    assert_true(lines > 100);
    assert_int_equal(n_read, total);
    assert_true(last_f == 1.0);
    free(txt);

    /* the first lines: 0 ns and 999 ns are exact (bucket width 1) */
    txt = cdf_text(h);
    assert_non_null(strstr(txt, "\n0.000,"));
    assert_non_null(strstr(txt, "\n0.999,"));
    free(txt);

    /* a write that fails is reported */
    full = fopen("/dev/full", "w");
    if (full != NULL) {
        assert_int_equal(pb_hist_write_cdf(h, full), -EIO);
        fclose(full);
    }
    pb_hist_free(h);
}

/* The documented race: one owner records while another thread merges. */
struct racer {
    struct pb_hist *h;
    uint64_t n;
    volatile int done;
};

static void *
race_owner(void *arg)
{
    struct racer *r = arg;

    for (uint64_t i = 0; i < r->n; i++)
        pb_hist_record(r->h, 1000 + (i & 0xffff));
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void
test_hist_merge_while_recording(void **state)
{
    struct racer r = { .h = hist(PB_HIST_HOUR_NS, 3), .n = 2000000 };
    struct pb_hist *snap = hist(PB_HIST_HOUR_NS, 3);
    pthread_t t;
    uint64_t prev = 0;
    int merges = 0;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, race_owner, &r), 0);
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) || merges == 0) {
        uint64_t c;
        char *txt;

        pb_hist_reset(snap);
        pb_hist_merge(snap, r.h);
        c = pb_hist_count(snap);
        /* monotone, never more than recorded, self-consistent */
        assert_true(c >= prev && c <= r.n);
        if (c > 0) {
            assert_true(pb_hist_min(snap) >= 1000);
            assert_true(pb_hist_max(snap) <= 1000 + 0xffff);
            assert_true(pb_hist_percentile(snap, 100) <= 1000 + 0xffff +
                        (1000 + 0xffff) / 1000);
            txt = cdf_text(snap);
            assert_non_null(strstr(txt, ",1.000000000,"));
            free(txt);
        }
        prev = c;
        merges++;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    pb_hist_reset(snap);
    pb_hist_merge(snap, r.h);
    assert_int_equal(pb_hist_count(snap), r.n);
    assert_int_equal(pb_hist_min(snap), 1000);
    assert_int_equal(pb_hist_max(snap), 1000 + 0xffff);
    pb_hist_free(snap);
    pb_hist_free(r.h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_new_bad_args),
        cmocka_unit_test(test_hist_bucket_error_bound),
        cmocka_unit_test(test_hist_single_value_equivalent),
        cmocka_unit_test(test_hist_mean_bucket_middle),
        cmocka_unit_test(test_hist_percentiles_uniform),
        cmocka_unit_test(test_hist_percentiles_exponential),
        cmocka_unit_test(test_hist_percentiles_bimodal),
        cmocka_unit_test(test_hist_empty),
        cmocka_unit_test(test_hist_edges),
        cmocka_unit_test(test_hist_merge_equals_one),
        cmocka_unit_test(test_hist_reset),
        cmocka_unit_test(test_hist_cdf),
        cmocka_unit_test(test_hist_merge_while_recording),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
