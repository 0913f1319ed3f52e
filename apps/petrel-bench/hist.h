/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pb_hist: petrel-bench's latency histogram, an HdrHistogram-style
 * log-linear bucket array. Each lcore of petrel-bench records the latency
 * of every delivered message (nanoseconds) into its own histogram; the
 * reporter thread merges them once a second and prints percentiles. It is
 * plain C11 with no DPDK dependency, so tests and tools link it freely. It
 * is not a general statistics library: unsigned integer values only, no
 * auto-resize, no serialisation other than the CDF text for perf/plot.
 *
 * Layout (as HdrHistogram with lowest discernible value 1): with
 * S = 2^ceil(log2(2 * 10^sig_digits)) sub-buckets, values 0 .. S-1 each
 * get their own counter; above that, every power-of-two range
 * [2^k, 2^(k+1)) is split into S/2 equal sub-buckets. A bucket's width is
 * therefore at most 2/S of its lowest value: relative error <= 1/1024
 * (< 0.1%) for 3 digits, <= 1/128 (< 1%) for 2 digits, <= 1/16 for 1 digit.
 * Memory is fixed at pb_hist_new(): (index of `highest` + 1) 8-byte
 * counters plus a 64-byte header, rounded up to a cache line. For 3 digits
 * and highest = 1 hour in ns (3.6e12) that is 33,421 counters: 267,456
 * bytes (about 261 KiB); for 2 digits, 4,562 counters: 36,608 bytes.
 * pb_hist_bytes() tells exactly (the unit test pins both numbers).
 *
 * Values: 0 .. highest are recorded; a value above highest is clamped to
 * highest (so it lands in the top bucket and max() reads highest) and
 * counted in pb_hist_overflow(): a garbage timestamp cannot grow the
 * histogram or hide. Count counters wrap at 2^64 (never in practice).
 *
 * Threading: one writer. pb_hist_record(), pb_hist_record_n() and
 * pb_hist_reset() are called only on the thread that owns the histogram
 * (checked under PT_HOT_DEBUG: the first record binds the owner, reset
 * unbinds). The owner updates every counter, min and max with a relaxed
 * atomic load and a relaxed atomic store, with no lock prefix: a plain
 * mov/add/mov on x86-64, the same cost as non-atomic code, and never torn.
 * pb_hist_merge(dst, src) may run on another thread while src's owner
 * records: it reads src with relaxed atomic loads, so the merged result
 * misses at most the records in flight during the merge (they show up in
 * the next merge), and its own count is the sum of the counters it read,
 * so dst is always self-consistent. dst must not be written concurrently
 * by anyone else (the merging thread owns dst). The read functions
 * (count, min, max, mean, percentile, overflow, write_cdf) are meant for
 * the owner or for a merge target; on a histogram being recorded into
 * they return a value off by the records in flight, never crash.
 * For per-interval percentiles, merge each lcore's histogram into a fresh
 * (reset) dst each interval and let the owners reset their own at a point
 * they choose, or keep cumulative histograms and report those.
 *
 * Ownership: pb_hist_new() allocates once; pb_hist_free() frees. No other
 * function allocates, frees or keeps a pointer passed to it.
 *
 * Errors: pb_hist_new() returns NULL with errno set; pb_hist_write_cdf()
 * returns a negative errno. The other functions take NULL as "nothing":
 * readers return 0, writers do nothing (record checks only under
 * PT_HOT_DEBUG, as it is the hot path).
 */
#ifndef PB_HIST_H
#define PB_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Opaque histogram; the body lives in hist.c. */
struct pb_hist;

/** Default highest trackable value: one hour in nanoseconds. */
#define PB_HIST_HOUR_NS (3600ull * 1000000000ull)

/**
 * Create a histogram for values 0 .. @p highest.
 *
 * @param highest     Highest value tracked exactly (>= 2); larger values
 *                    are clamped and counted as overflow. Up to UINT64_MAX.
 * @param sig_digits  Significant decimal digits kept: 1, 2 or 3 (3 means a
 *                    relative error <= 0.1%).
 * @return The histogram, all counts zero; NULL with errno EINVAL (highest
 *         < 2 or sig_digits outside 1..3) or ENOMEM.
 */
struct pb_hist *pb_hist_new(uint64_t highest, int sig_digits);

/** Free @p h (NULL is fine). */
void pb_hist_free(struct pb_hist *h);

/**
 * Record one value. Owner thread only.
 *
 * Cost: O(1), no allocation, no lock: one predictable compare against
 * highest, a count-leading-zeros, two shifts and an add for the index,
 * relaxed load/add/store of the bucket counter and the total (no locked
 * instruction), two compares for min/max. Measured 2.4-2.6 ns per call
 * with the call itself (perf/bench_hist, bm_hist_record).
 *
 * @param v  The value; above highest it is clamped and counted as overflow.
 */
void pb_hist_record(struct pb_hist *h, uint64_t v);

/**
 * Record @p v @p n times (n = 0 records nothing). Owner thread only. Same
 * cost as pb_hist_record().
 */
void pb_hist_record_n(struct pb_hist *h, uint64_t v, uint64_t n);

/**
 * Zero every count, min, max and overflow. Owner thread only (or when no
 * thread records into @p h). O(number of counters).
 */
void pb_hist_reset(struct pb_hist *h);

/**
 * Add @p src's counts into @p dst. May run while src's owner records (see
 * the threading note); dst must be owned by the caller. With the same
 * highest and sig_digits this adds counter by counter; otherwise each
 * non-empty bucket of src is re-recorded into dst at its lowest equivalent
 * value (clamped and counted as overflow above dst's highest), so
 * different layouts merge too, at dst's precision. src's overflow count
 * is added to dst's (with different layouts a value that overflowed both
 * is counted twice: overflow is a warning sign, not a statistic). Merging a histogram into itself, or NULL, does
 * nothing. O(number of counters).
 */
void pb_hist_merge(struct pb_hist *dst, const struct pb_hist *src);

/** Values recorded (overflowing ones included); 0 for NULL. */
uint64_t pb_hist_count(const struct pb_hist *h);

/** Smallest value recorded (exact, not bucketed); 0 when empty. */
uint64_t pb_hist_min(const struct pb_hist *h);

/** Largest value recorded after clamping (exact); 0 when empty. */
uint64_t pb_hist_max(const struct pb_hist *h);

/**
 * Mean of the recorded values, each taken at the middle of its bucket (as
 * HdrHistogram): within the relative error of the true mean. 0.0 when
 * empty. O(number of counters).
 */
double pb_hist_mean(const struct pb_hist *h);

/**
 * The value at percentile @p pct (HdrHistogram semantics): the highest
 * value equivalent to the bucket holding the rank round(pct/100 * count)
 * (at least rank 1). So p100 may exceed max() by up to the bucket width,
 * and pct = 0 gives the lowest value equivalent to min()'s bucket.
 * O(number of counters).
 *
 * @param pct  0 .. 100; below 0 or NaN reads as 0, above 100 as 100.
 * @return The value; 0 when empty.
 */
uint64_t pb_hist_percentile(const struct pb_hist *h, double pct);

/** Values recorded above highest (and clamped); 0 for NULL. */
uint64_t pb_hist_overflow(const struct pb_hist *h);

/** Lowest value that shares @p v's bucket (v clamped to highest). */
uint64_t pb_hist_lowest_equivalent(const struct pb_hist *h, uint64_t v);

/** Highest value that shares @p v's bucket (v clamped to highest). */
uint64_t pb_hist_highest_equivalent(const struct pb_hist *h, uint64_t v);

/** Bytes @p h occupies (header and counters); 0 for NULL. */
size_t pb_hist_bytes(const struct pb_hist *h);

/**
 * Write the CDF for plotting (perf/plot --cdf): the header line
 * "value_us,cum_fraction,count", then one line per non-empty bucket in
 * increasing value order: the bucket's highest equivalent value in
 * microseconds with 3 decimals (exact: values are integer ns), the
 * fraction of values at or below it (9 decimals; the last line is exactly
 * 1.000000000), and the bucket's count. An empty histogram writes only the
 * header.
 *
 * @return 0; -EINVAL when @p h or @p f is NULL; -EIO when a write fails
 *         (the file may hold part of the output).
 */
int pb_hist_write_cdf(const struct pb_hist *h, FILE *f);

#endif /* PB_HIST_H */
