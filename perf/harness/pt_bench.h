/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pt_bench: a plain-C face on Google Benchmark, so petrel's microbenchmarks
 * are written in C like the code they measure. It is a thin shim
 * (pt_bench.cc): every call maps onto one benchmark::Benchmark or
 * benchmark::State method, and the numbers, flags and JSON output are
 * Google's. It is not a framework of its own: no fixtures, no multi-threaded
 * benchmarks, no complexity fitting; write those in C++ if ever needed.
 *
 * A benchmark file:
 *
 *     #include "pt_bench.h"
 *
 *     static void bm_parse(struct pt_bench_state *st)
 *     {
 *         uint8_t buf[64] = { 0 };
 *         while (pt_bench_keep_running(st)) {
 *             int rc = parse(buf, sizeof(buf));
 *             pt_bench_do_not_optimize(&rc);
 *         }
 *     }
 *     PT_BENCH(bm_parse);
 *
 *     static void bm_copy(struct pt_bench_state *st) { ... }
 *     PT_BENCH_CONFIG(bm_copy)
 *     {
 *         pt_bench_range(b, 8, 4096);
 *     }
 *
 *     PT_BENCH_MAIN();
 *
 * or, when the program needs global setup (EAL, mempools) first, its own
 * main() that ends in `return pt_bench_main(argc, argv);`.
 *
 * Build rule: PT_BENCH() registers from an ELF constructor, so a benchmark
 * .c file must be a source of the executable itself; in a static library the
 * linker would drop the object and the benchmark with it.
 *
 * Threading: registration (pt_bench_register, the setters, the PT_BENCH
 * constructors) is not thread-safe; it happens before main() or in main()
 * before pt_bench_main(). Benchmarks run one at a time on the thread that
 * calls pt_bench_main(); the pt_bench_state functions may be called only
 * from the benchmark function, on that thread.
 *
 * Ownership: every string passed in (names, labels, counter names, error
 * messages) is copied; the caller keeps its own. A struct pt_bench belongs
 * to the registry and lives until the program exits; never free it.
 *
 * Errors: misuse that Google Benchmark CHECKs (Range with lo > hi,
 * Iterations after MinTime, pausing outside the loop, ...) and misuse this
 * shim detects (bad range_x index, unknown flag bits) print a message and
 * abort(): a benchmark that measures the wrong thing should not look fine.
 */
#ifndef PT_BENCH_H
#define PT_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A registered benchmark (opaque; wraps benchmark::internal::Benchmark). */
struct pt_bench;

/** The state of a running benchmark (opaque; wraps benchmark::State). */
struct pt_bench_state;

/** A benchmark body: runs its timed loop on @p st. */
typedef void (*pt_bench_fn)(struct pt_bench_state *st);

/** Time unit for the reported times (benchmark::TimeUnit). */
enum pt_bench_time_unit {
    PT_BENCH_UNIT_NS,
    PT_BENCH_UNIT_US,
    PT_BENCH_UNIT_MS,
    PT_BENCH_UNIT_S,
};

/**
 * User-counter flags, OR-ed together (benchmark::Counter flags).
 * The value is reported as given unless a flag says otherwise.
 */
enum pt_bench_counter_flag {
    PT_BENCH_COUNTER_DEFAULT = 0,
    /** Divide by the measured time: the value becomes a per-second rate. */
    PT_BENCH_COUNTER_RATE = 1u << 0,
    /** Average over threads (one thread here; kept for Google parity). */
    PT_BENCH_COUNTER_AVG_THREADS = 1u << 1,
    /** Multiply by the iteration count: the value was per iteration. */
    PT_BENCH_COUNTER_ITERATION_INVARIANT = 1u << 2,
    /** Divide by the iteration count: the value was a total. */
    PT_BENCH_COUNTER_AVG_ITERATIONS = 1u << 3,
    /** Report 1/value (after the above): e.g. seconds per item from a rate. */
    PT_BENCH_COUNTER_INVERT = 1u << 4,
    /** Print with binary prefixes (Ki, Mi) instead of k, M: byte counts. */
    PT_BENCH_COUNTER_1024 = 1u << 5,
};

/* ------------------------------------------------------------------ */
/* Registration: before pt_bench_main(), one thread.                  */
/* ------------------------------------------------------------------ */

/**
 * Register a benchmark. Benchmarks run in registration order (constructors
 * run in link order, and in file order within a file).
 *
 * @param name  Name shown in reports and matched by --benchmark_filter;
 *              copied.
 * @param fn    The benchmark body.
 * @return The benchmark, to configure with the setters below; NULL with
 *         errno EINVAL (name or fn NULL) or ENOMEM.
 */
struct pt_bench *pt_bench_register(const char *name, pt_bench_fn fn);

/*
 * Setters. Each returns @p b so calls can be nested or chained, and each
 * passes a NULL @p b through as NULL so a failed registration does not crash
 * the configuration that follows it. A benchmark takes at most one argument
 * per run, read with pt_bench_range_x(st, 0).
 */

/**
 * Add one run with argument @p x (Benchmark::Arg). Repeat for more runs.
 * @return @p b.
 */
struct pt_bench *pt_bench_arg(struct pt_bench *b, int64_t x);

/**
 * Add runs for lo, then powers of the range multiplier (default 8) in
 * between, then hi (Benchmark::Range). Set the multiplier first.
 * @param lo  First argument, 0 <= lo <= hi.
 * @param hi  Last argument.
 * @return @p b.
 */
struct pt_bench *pt_bench_range(struct pt_bench *b, int64_t lo, int64_t hi);

/**
 * Set the multiplier pt_bench_range() steps by (Benchmark::RangeMultiplier).
 * @param mult  Multiplier, > 1.
 * @return @p b.
 */
struct pt_bench *pt_bench_range_multiplier(struct pt_bench *b, int mult);

/**
 * Add runs for lo, lo+step, ... up to hi inclusive (Benchmark::DenseRange).
 * @param step  Increment, > 0.
 * @return @p b.
 */
struct pt_bench *pt_bench_dense_range(struct pt_bench *b, int64_t lo,
                                      int64_t hi, int step);

/**
 * Report times in @p unit (Benchmark::Unit); the default is nanoseconds.
 * @return @p b.
 */
struct pt_bench *pt_bench_unit(struct pt_bench *b,
                               enum pt_bench_time_unit unit);

/**
 * Run each repetition for at least @p seconds (Benchmark::MinTime),
 * overriding --benchmark_min_time. Excludes pt_bench_iterations().
 * @return @p b.
 */
struct pt_bench *pt_bench_min_time(struct pt_bench *b, double seconds);

/**
 * Repeat the measurement @p n times and report aggregates
 * (Benchmark::Repetitions), overriding --benchmark_repetitions.
 * @return @p b.
 */
struct pt_bench *pt_bench_repetitions(struct pt_bench *b, int n);

/**
 * Run exactly @p n iterations instead of timing to a minimum
 * (Benchmark::Iterations): for bodies too slow or stateful to repeat freely.
 * Excludes pt_bench_min_time().
 * @param n  Iteration count, > 0.
 * @return @p b.
 */
struct pt_bench *pt_bench_iterations(struct pt_bench *b, int64_t n);

/**
 * Name the argument in reports: "bm_copy/len:64" rather than "bm_copy/64"
 * (Benchmark::ArgName). Copied.
 * @return @p b.
 */
struct pt_bench *pt_bench_arg_name(struct pt_bench *b, const char *name);

/* ------------------------------------------------------------------ */
/* Inside a benchmark body, on the pt_bench_main() thread.            */
/* ------------------------------------------------------------------ */

/**
 * Loop condition of the timed loop: `while (pt_bench_keep_running(st))`.
 * The first call starts the timer, the last stops it; leave the loop only
 * when it returns false (or after pt_bench_skip_with_error()).
 *
 * Cost: one out-of-line call plus Google's inlined counter check, about
 * 1-2 ns per iteration; for bodies that cheap use the batch form.
 *
 * @return true while more iterations are wanted.
 */
bool pt_bench_keep_running(struct pt_bench_state *st);

/**
 * Batch loop condition: each true return pays for @p n iterations, which
 * the body must then perform. The last batch may overshoot the target
 * count; pt_bench_iterations_done() counts the overshoot, so rates stay
 * right.
 *
 * @param n  Iterations per batch, > 0.
 * @return true while more batches are wanted.
 */
bool pt_bench_keep_running_batch(struct pt_bench_state *st, int64_t n);

/**
 * The argument of this run (State::range).
 * @param index  0: the only argument a pt_bench benchmark has. An index the
 *               benchmark was not registered with aborts.
 * @return The argument.
 */
int64_t pt_bench_range_x(struct pt_bench_state *st, int index);

/**
 * Iterations run so far (State::iterations): 0 before the loop, the final
 * count after it.
 */
int64_t pt_bench_iterations_done(struct pt_bench_state *st);

/**
 * Stop the timer for untimed work inside the loop (State::PauseTiming).
 * Costs a clock read, hundreds of ns: only around work much larger than
 * that. Must be paired with pt_bench_resume_timing() before the next
 * loop-condition call.
 */
void pt_bench_pause_timing(struct pt_bench_state *st);

/** Restart the timer stopped by pt_bench_pause_timing(). */
void pt_bench_resume_timing(struct pt_bench_state *st);

/**
 * Report @p items items processed in total; shown as items_per_second.
 * Call after the loop, typically with iterations_done() * items per pass.
 */
void pt_bench_set_items_processed(struct pt_bench_state *st, int64_t items);

/**
 * Report @p bytes bytes processed in total; shown as bytes_per_second.
 * Call after the loop.
 */
void pt_bench_set_bytes_processed(struct pt_bench_state *st, int64_t bytes);

/** Attach a free-form label to this run's report line. Copied. */
void pt_bench_set_label(struct pt_bench_state *st, const char *label);

/**
 * Mark this run failed with @p msg (copied): it is reported as an error,
 * the loop condition returns false from now on, and pt_bench_main() will
 * return non-zero. Return from the body right after, without touching the
 * timer: `pt_bench_skip_with_error(st, "no mbuf"); return;`.
 */
void pt_bench_skip_with_error(struct pt_bench_state *st, const char *msg);

/**
 * Set user counter @p name (copied) to @p value, reported as its own column
 * and JSON field. Setting it again overwrites.
 * @param flags  OR of enum pt_bench_counter_flag; unknown bits abort.
 */
void pt_bench_counter_set(struct pt_bench_state *st, const char *name,
                          double value, unsigned flags);

/**
 * Make the compiler assume the object at @p p is read, and may be written,
 * here: keeps a computed result (pass its address) from being optimized
 * away. Emits no instruction, but forces the object to memory. Same trick
 * as benchmark::DoNotOptimize.
 */
static inline void pt_bench_do_not_optimize(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/**
 * Make the compiler assume all memory is read and written here: stores
 * before it are not dropped as dead. Same as benchmark::ClobberMemory.
 * "All memory" is what the compiler thinks may be visible outside: let a
 * local or malloc()ed buffer escape first with pt_bench_do_not_optimize().
 */
static inline void pt_bench_clobber_memory(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* ------------------------------------------------------------------ */
/* Running.                                                           */
/* ------------------------------------------------------------------ */

/**
 * Parse the --benchmark_* flags out of @p argv (benchmark::Initialize),
 * then run every registered benchmark that --benchmark_filter matches, in
 * order, on the calling thread. --help prints the flags and exits(0).
 * Call it last in main(), after the program's own setup; with DPDK, after
 * rte_eal_init() has consumed the EAL arguments:
 *
 *     int n = rte_eal_init(argc, argv);
 *     ...
 *     return pt_bench_main(argc - n, argv + n);
 *
 * (rte_eal_init() leaves the program name at the shifted argv[0].)
 *
 * @return 0 when every run succeeded (also when the filter matched nothing);
 *         1 when argv holds arguments Google Benchmark does not recognize
 *         (listed on stderr, nothing run); 2 when a benchmark called
 *         pt_bench_skip_with_error().
 */
int pt_bench_main(int argc, char **argv);

/* ------------------------------------------------------------------ */
/* Registration macros (C files of a benchmark executable).           */
/* ------------------------------------------------------------------ */

/* Ends a macro that defines a function, so the use site takes a ';'. */
#ifdef __cplusplus
#define PT_BENCH_END_ static_assert(true, "")
#else
#define PT_BENCH_END_ _Static_assert(1, "")
#endif

/*
 * Registration from a constructor cannot report failure to anyone, and a
 * silently missing benchmark is worse than a crash.
 */
#define PT_BENCH_REGISTER_OR_DIE_(fn, b)                                    \
    struct pt_bench *b = pt_bench_register(#fn, fn);                        \
    if (b == NULL) {                                                        \
        perror("pt_bench: registering " #fn);                               \
        abort();                                                            \
    }

/**
 * Register the already declared benchmark function @p fn under its own
 * name, before main() runs:
 *
 *     static void bm_parse(struct pt_bench_state *st) { ... }
 *     PT_BENCH(bm_parse);
 */
#define PT_BENCH(fn)                                                        \
    __attribute__((constructor)) static void pt_bench_ctor_##fn(void)       \
    {                                                                       \
        PT_BENCH_REGISTER_OR_DIE_(fn, pt_bench_b_)                          \
        (void)pt_bench_b_;                                                  \
    }                                                                       \
    PT_BENCH_END_

/**
 * Register @p fn like PT_BENCH() and configure it: the braced body that
 * follows runs at registration with `struct pt_bench *b` in scope.
 *
 *     PT_BENCH_CONFIG(bm_copy)
 *     {
 *         pt_bench_arg_name(pt_bench_range(b, 8, 4096), "len");
 *     }
 */
#define PT_BENCH_CONFIG(fn)                                                 \
    static void pt_bench_config_##fn(struct pt_bench *b);                   \
    __attribute__((constructor)) static void pt_bench_ctor_##fn(void)       \
    {                                                                       \
        PT_BENCH_REGISTER_OR_DIE_(fn, pt_bench_b_)                          \
        pt_bench_config_##fn(pt_bench_b_);                                  \
    }                                                                       \
    static void pt_bench_config_##fn(struct pt_bench *b)

/**
 * Define main() for a benchmark program that needs no setup of its own:
 * `PT_BENCH_MAIN();` once per executable.
 */
#define PT_BENCH_MAIN()                                                     \
    int main(int argc, char **argv)                                         \
    {                                                                       \
        return pt_bench_main(argc, argv);                                   \
    }                                                                       \
    PT_BENCH_END_

#ifdef __cplusplus
}
#endif

#endif /* PT_BENCH_H */
