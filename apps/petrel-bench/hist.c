/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pb_hist: the HdrHistogram-style latency histogram of petrel-bench (see
 * hist.h for the layout, the error bound and the threading contract).
 *
 * Index arithmetic (lowest discernible value 1, so HdrHistogram's unit
 * magnitude is 0). With S = 2^m sub-buckets and H = S/2 = 2^h:
 *
 *     bucket(v) = (64 - clz(v | (S-1))) - m      (0 for v < S)
 *     index(v)  = (bucket(v) << h) + (v >> bucket(v))
 *
 * Bucket 0 holds 0 .. S-1 one value per counter (indices 0 .. S-1); bucket
 * b >= 1 holds [S * 2^(b-1), S * 2^b) in H counters of width 2^b, at
 * indices (b+1)H .. (b+2)H - 1: v >> b then lies in [H, S), so the
 * formula lands exactly there. This is HdrHistogram's
 * counts_index((b+1) << h) + (sub - H)) folded into one add.
 *
 * What it is not: no auto-resize, no negative values, no coordinated
 * omission correction (petrel-bench timestamps every message at send, so
 * a stalled sender shows up as latency anyway).
 */
#include "hist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef PT_HOT_DEBUG
#include <pthread.h>
#endif

#define PB_HIST_ALIGN 64

struct pb_hist {
    /* Written by the owner only, with relaxed atomic stores. */
    uint64_t total;
    uint64_t min;             /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t overflow;
    /* Fixed at pb_hist_new(). */
    uint64_t highest;
    uint64_t sub_mask;        /* S - 1 */
    uint32_t counts_len;
    uint8_t sub_mag;          /* m: S = 2^m */
    uint8_t half_mag;         /* h = m - 1 */
    uint8_t sig_digits;
#ifdef PT_HOT_DEBUG
    bool owner_bound;
    pthread_t owner;
#endif
    /* counts_len counters, cache-line aligned (the header is padded). */
    _Alignas(PB_HIST_ALIGN) uint64_t counts[];
};

/* The owner's increments: plain load/add/store, atomic only so that a
 * concurrent merge never reads a torn value (no lock prefix emitted). */
static inline uint64_t
ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void
st(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

#ifdef PT_HOT_DEBUG
static void
check_owner(struct pb_hist *h)
{
    if (!h->owner_bound) {
        h->owner = pthread_self();
        h->owner_bound = true;
    } else if (!pthread_equal(h->owner, pthread_self())) {
        fprintf(stderr, "pb_hist: %p recorded from two threads\n",
                (void *)h);
        abort();
    }
}
#define PB_HIST_CHECK(h)                                                    \
    do {                                                                    \
        if ((h) == NULL) {                                                  \
            fprintf(stderr, "pb_hist: record into NULL\n");                 \
            abort();                                                        \
        }                                                                   \
        check_owner(h);                                                     \
    } while (0)
#else
#define PB_HIST_CHECK(h) do { } while (0)
#endif

static inline uint32_t
bucket_of(const struct pb_hist *h, uint64_t v)
{
    return (uint32_t)(64 - __builtin_clzll(v | h->sub_mask)) - h->sub_mag;
}

static inline uint32_t
index_of(const struct pb_hist *h, uint64_t v)
{
    uint32_t b = bucket_of(h, v);

    return (b << h->half_mag) + (uint32_t)(v >> b);
}

/* Lowest value of counter i, and the log2 of its width. */
static inline uint64_t
value_at(const struct pb_hist *h, uint32_t i, unsigned *width_log2)
{
    int64_t b = (int64_t)(i >> h->half_mag) - 1;
    uint64_t sub = (i & ((1u << h->half_mag) - 1)) + (1u << h->half_mag);

    if (b < 0) {
        sub -= 1u << h->half_mag;
        b = 0;
    }
    *width_log2 = (unsigned)b;
    return sub << b;
}

static inline uint64_t
highest_at(const struct pb_hist *h, uint32_t i)
{
    unsigned w;
    uint64_t lo = value_at(h, i, &w);

    return lo + ((UINT64_C(1) << w) - 1);
}

struct pb_hist *
pb_hist_new(uint64_t highest, int sig_digits)
{
    struct pb_hist *h;
    uint64_t largest = 2;
    unsigned mag = 0;
    size_t bytes;
    struct pb_hist probe;

    if (highest < 2 || sig_digits < 1 || sig_digits > 3) {
        errno = EINVAL;
        return NULL;
    }
    for (int d = 0; d < sig_digits; d++)
        largest *= 10;
    while ((UINT64_C(1) << mag) < largest)
        mag++;
    memset(&probe, 0, sizeof(probe));
    probe.sub_mag = (uint8_t)mag;
    probe.half_mag = (uint8_t)(mag - 1);
    probe.sub_mask = (UINT64_C(1) << mag) - 1;
    probe.counts_len = index_of(&probe, highest) + 1;

    bytes = sizeof(*h) + (size_t)probe.counts_len * sizeof(uint64_t);
    bytes = (bytes + PB_HIST_ALIGN - 1) & ~(size_t)(PB_HIST_ALIGN - 1);
    h = aligned_alloc(PB_HIST_ALIGN, bytes);
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memset(h, 0, bytes);
    h->highest = highest;
    h->sub_mask = probe.sub_mask;
    h->counts_len = probe.counts_len;
    h->sub_mag = probe.sub_mag;
    h->half_mag = probe.half_mag;
    h->sig_digits = (uint8_t)sig_digits;
    h->min = UINT64_MAX;
    return h;
}

void
pb_hist_free(struct pb_hist *h)
{
    free(h);
}

size_t
pb_hist_bytes(const struct pb_hist *h)
{
    size_t bytes;

    if (h == NULL)
        return 0;
    bytes = sizeof(*h) + (size_t)h->counts_len * sizeof(uint64_t);
    return (bytes + PB_HIST_ALIGN - 1) & ~(size_t)(PB_HIST_ALIGN - 1);
}

/* Count n at v (clamped) without touching min/max. Caller owns h. */
static inline uint64_t
add_at(struct pb_hist *h, uint64_t v, uint64_t n)
{
    uint32_t i;

    if (__builtin_expect(v > h->highest, 0)) {
        v = h->highest;
        st(&h->overflow, ld(&h->overflow) + n);
    }
    i = index_of(h, v);
    st(&h->counts[i], ld(&h->counts[i]) + n);
    st(&h->total, ld(&h->total) + n);
    return v;
}

static inline void
update_min_max(struct pb_hist *h, uint64_t v)
{
    if (v < ld(&h->min))
        st(&h->min, v);
    if (v > ld(&h->max))
        st(&h->max, v);
}

void
pb_hist_record(struct pb_hist *h, uint64_t v)
{
    PB_HIST_CHECK(h);
    update_min_max(h, add_at(h, v, 1));
}

void
pb_hist_record_n(struct pb_hist *h, uint64_t v, uint64_t n)
{
    PB_HIST_CHECK(h);
    if (n == 0)
        return;
    update_min_max(h, add_at(h, v, n));
}

void
pb_hist_reset(struct pb_hist *h)
{
    if (h == NULL)
        return;
    for (uint32_t i = 0; i < h->counts_len; i++)
        st(&h->counts[i], 0);
    st(&h->total, 0);
    st(&h->min, UINT64_MAX);
    st(&h->max, 0);
    st(&h->overflow, 0);
#ifdef PT_HOT_DEBUG
    h->owner_bound = false;
#endif
}

void
pb_hist_merge(struct pb_hist *dst, const struct pb_hist *src)
{
    uint64_t sum = 0, smin, smax;

    if (dst == NULL || src == NULL || dst == src)
        return;
    if (dst->highest == src->highest && dst->sig_digits == src->sig_digits) {
        for (uint32_t i = 0; i < src->counts_len; i++) {
            uint64_t c = ld(&src->counts[i]);

            if (c != 0) {
                st(&dst->counts[i], ld(&dst->counts[i]) + c);
                sum += c;
            }
        }
        st(&dst->total, ld(&dst->total) + sum);
    } else {
        for (uint32_t i = 0; i < src->counts_len; i++) {
            uint64_t c = ld(&src->counts[i]);
            unsigned w;

            if (c != 0) {
                add_at(dst, value_at(src, i, &w), c);
                sum += c;
            }
        }
    }
    if (sum == 0)
        return;
    st(&dst->overflow, ld(&dst->overflow) + ld(&src->overflow));
    /* src's exact extremes, clamped to what dst can hold. A min/max
     * stored after the counters we read may be newer; it is still a value
     * src recorded. */
    smin = ld(&src->min);
    smax = ld(&src->max);
    if (smin != UINT64_MAX)
        update_min_max(dst, smin > dst->highest ? dst->highest : smin);
    if (smax != 0)
        update_min_max(dst, smax > dst->highest ? dst->highest : smax);
}

uint64_t
pb_hist_count(const struct pb_hist *h)
{
    return h == NULL ? 0 : ld(&h->total);
}

uint64_t
pb_hist_min(const struct pb_hist *h)
{
    uint64_t v;

    if (h == NULL || ld(&h->total) == 0)
        return 0;
    v = ld(&h->min);
    return v == UINT64_MAX ? 0 : v;
}

uint64_t
pb_hist_max(const struct pb_hist *h)
{
    if (h == NULL || ld(&h->total) == 0)
        return 0;
    return ld(&h->max);
}

uint64_t
pb_hist_overflow(const struct pb_hist *h)
{
    return h == NULL ? 0 : ld(&h->overflow);
}

uint64_t
pb_hist_lowest_equivalent(const struct pb_hist *h, uint64_t v)
{
    unsigned w;

    if (h == NULL)
        return 0;
    if (v > h->highest)
        v = h->highest;
    return value_at(h, index_of(h, v), &w);
}

uint64_t
pb_hist_highest_equivalent(const struct pb_hist *h, uint64_t v)
{
    if (h == NULL)
        return 0;
    if (v > h->highest)
        v = h->highest;
    return highest_at(h, index_of(h, v));
}

double
pb_hist_mean(const struct pb_hist *h)
{
    double acc = 0.0;
    uint64_t n = 0;

    if (h == NULL)
        return 0.0;
    for (uint32_t i = 0; i < h->counts_len; i++) {
        uint64_t c = ld(&h->counts[i]);
        unsigned w;
        uint64_t lo;

        if (c == 0)
            continue;
        lo = value_at(h, i, &w);
        /* the middle of the bucket, as HdrHistogram's median equivalent */
        acc += (double)c * (double)(lo + ((UINT64_C(1) << w) >> 1));
        n += c;
    }
    return n == 0 ? 0.0 : acc / (double)n;
}

uint64_t
pb_hist_percentile(const struct pb_hist *h, double pct)
{
    uint64_t total, rank, cum = 0;
    uint32_t last = 0;
    bool any = false;

    if (h == NULL)
        return 0;
    total = ld(&h->total);
    if (total == 0)
        return 0;
    if (!(pct > 0.0))     /* also NaN */
        pct = 0.0;
    if (pct > 100.0)
        pct = 100.0;
    rank = (uint64_t)(pct / 100.0 * (double)total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > total)
        rank = total;
    for (uint32_t i = 0; i < h->counts_len; i++) {
        uint64_t c = ld(&h->counts[i]);

        if (c == 0)
            continue;
        cum += c;
        last = i;
        any = true;
        if (cum >= rank) {
            unsigned w;

            return pct == 0.0 ? value_at(h, i, &w) : highest_at(h, i);
        }
    }
    /* Only reachable while the owner records: total ran ahead of the
     * counters we read. */
    return any ? highest_at(h, last) : 0;
}

int
pb_hist_write_cdf(const struct pb_hist *h, FILE *f)
{
    uint64_t total = 0, cum = 0;

    if (h == NULL || f == NULL)
        return -EINVAL;
    /* the total of the counters themselves, so the last line is 1.0 even
     * if the owner records meanwhile */
    for (uint32_t i = 0; i < h->counts_len; i++)
        total += ld(&h->counts[i]);
    if (fputs("value_us,cum_fraction,count\n", f) == EOF)
        return -EIO;
    for (uint32_t i = 0; i < h->counts_len && cum < total; i++) {
        uint64_t c = ld(&h->counts[i]);
        uint64_t v;

        if (c == 0)
            continue;
        if (cum + c > total)   /* grew since the first pass */
            c = total - cum;
        cum += c;
        v = highest_at(h, i);
        if (fprintf(f, "%" PRIu64 ".%03" PRIu64 ",%.9f,%" PRIu64 "\n",
                    v / 1000, v % 1000,
                    cum == total ? 1.0 : (double)cum / (double)total,
                    c) < 0)
            return -EIO;
    }
    if (fflush(f) == EOF || ferror(f))
        return -EIO;
    return 0;
}
