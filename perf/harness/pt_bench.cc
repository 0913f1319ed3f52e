/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The C++ side of pt_bench.h: each C call forwards to one Google Benchmark
 * method. A struct pt_bench pairs the Google benchmark with the C function
 * and whether it was given an argument (State::range() does not check its
 * index in release builds, so this shim does); a struct pt_bench_state is a
 * stack object around the benchmark::State& for the length of one run.
 *
 * Not here: any measurement logic of its own; the timing, statistics and
 * reporters are Google's, chosen by the --benchmark_* flags.
 *
 * Errors: misuse aborts with a message (see pt_bench.h). An exception (only
 * std::bad_alloc can come out of these calls) cannot cross the C frames of
 * a benchmark body; it ends the program through std::terminate, which for a
 * benchmark is the right outcome. pt_bench_register() alone catches it,
 * because it has an error return.
 */
#include "pt_bench.h"

#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>

struct pt_bench {
    std::string name;                    /* for error messages */
    pt_bench_fn fn;
    benchmark::internal::Benchmark *gb;  /* owned by Google's registry */
    bool has_arg;                        /* range(0) is valid in a run */
};

struct pt_bench_state {
    benchmark::State &gs;
    const struct pt_bench *b;
};

/* Set by pt_bench_skip_with_error(); read by pt_bench_main(). */
static bool pt_bench_failed;

/*
 * Every struct pt_bench, at a stable address for the program's life. A
 * function-local static, because C constructors may register before this
 * file's own static objects would be constructed.
 */
static std::deque<struct pt_bench> &pt_bench_registry()
{
    static std::deque<struct pt_bench> registry;
    return registry;
}

static void pt_bench_die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void pt_bench_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("pt_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* ---- registration ------------------------------------------------------ */

struct pt_bench *pt_bench_register(const char *name, pt_bench_fn fn)
{
    if (name == nullptr || fn == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    std::deque<struct pt_bench> &registry = pt_bench_registry();
    try {
        registry.push_back(pt_bench{name, fn, nullptr, false});
        struct pt_bench *b = &registry.back();
        /* Google copies the name; the lambda keeps only b, which is stable. */
        b->gb = benchmark::RegisterBenchmark(
            name, [b](benchmark::State &gs) {
                struct pt_bench_state st{gs, b};
                b->fn(&st);
            });
        return b;
    } catch (const std::bad_alloc &) {
        if (!registry.empty() && registry.back().gb == nullptr)
            registry.pop_back();
        errno = ENOMEM;
        return nullptr;
    }
}

struct pt_bench *pt_bench_arg(struct pt_bench *b, int64_t x)
{
    if (b == nullptr)
        return nullptr;
    b->gb->Arg(x);
    b->has_arg = true;
    return b;
}

struct pt_bench *pt_bench_range(struct pt_bench *b, int64_t lo, int64_t hi)
{
    if (b == nullptr)
        return nullptr;
    b->gb->Range(lo, hi);
    b->has_arg = true;
    return b;
}

struct pt_bench *pt_bench_range_multiplier(struct pt_bench *b, int mult)
{
    if (b == nullptr)
        return nullptr;
    b->gb->RangeMultiplier(mult);
    return b;
}

struct pt_bench *pt_bench_dense_range(struct pt_bench *b, int64_t lo,
                                      int64_t hi, int step)
{
    if (b == nullptr)
        return nullptr;
    b->gb->DenseRange(lo, hi, step);
    b->has_arg = true;
    return b;
}

struct pt_bench *pt_bench_unit(struct pt_bench *b,
                               enum pt_bench_time_unit unit)
{
    if (b == nullptr)
        return nullptr;
    switch (unit) {
    case PT_BENCH_UNIT_NS:
        b->gb->Unit(benchmark::kNanosecond);
        break;
    case PT_BENCH_UNIT_US:
        b->gb->Unit(benchmark::kMicrosecond);
        break;
    case PT_BENCH_UNIT_MS:
        b->gb->Unit(benchmark::kMillisecond);
        break;
    case PT_BENCH_UNIT_S:
        b->gb->Unit(benchmark::kSecond);
        break;
    default:
        pt_bench_die("%s: unknown time unit %d", b->name.c_str(),
                     static_cast<int>(unit));
    }
    return b;
}

struct pt_bench *pt_bench_min_time(struct pt_bench *b, double seconds)
{
    if (b == nullptr)
        return nullptr;
    b->gb->MinTime(seconds);
    return b;
}

struct pt_bench *pt_bench_repetitions(struct pt_bench *b, int n)
{
    if (b == nullptr)
        return nullptr;
    b->gb->Repetitions(n);
    return b;
}

struct pt_bench *pt_bench_iterations(struct pt_bench *b, int64_t n)
{
    if (b == nullptr)
        return nullptr;
    b->gb->Iterations(n);
    return b;
}

struct pt_bench *pt_bench_arg_name(struct pt_bench *b, const char *name)
{
    if (b == nullptr)
        return nullptr;
    if (name == nullptr)
        pt_bench_die("%s: NULL argument name", b->name.c_str());
    b->gb->ArgName(name);
    return b;
}

/* ---- inside a run -------------------------------------------------------- */

bool pt_bench_keep_running(struct pt_bench_state *st)
{
    return st->gs.KeepRunning();
}

bool pt_bench_keep_running_batch(struct pt_bench_state *st, int64_t n)
{
    /* Google only assert()s this; n <= 0 would never end the loop. */
    if (n <= 0)
        pt_bench_die("%s: batch of %lld iterations", st->b->name.c_str(),
                     static_cast<long long>(n));
    return st->gs.KeepRunningBatch(n);
}

int64_t pt_bench_range_x(struct pt_bench_state *st, int index)
{
    if (index != 0 || !st->b->has_arg)
        pt_bench_die("%s: no argument %d (register it with pt_bench_arg, "
                     "_range or _dense_range)", st->b->name.c_str(), index);
    return st->gs.range(0);
}

int64_t pt_bench_iterations_done(struct pt_bench_state *st)
{
    return st->gs.iterations();
}

void pt_bench_pause_timing(struct pt_bench_state *st)
{
    st->gs.PauseTiming();
}

void pt_bench_resume_timing(struct pt_bench_state *st)
{
    st->gs.ResumeTiming();
}

void pt_bench_set_items_processed(struct pt_bench_state *st, int64_t items)
{
    st->gs.SetItemsProcessed(items);
}

void pt_bench_set_bytes_processed(struct pt_bench_state *st, int64_t bytes)
{
    st->gs.SetBytesProcessed(bytes);
}

void pt_bench_set_label(struct pt_bench_state *st, const char *label)
{
    st->gs.SetLabel(label != nullptr ? label : "");
}

void pt_bench_skip_with_error(struct pt_bench_state *st, const char *msg)
{
    pt_bench_failed = true;
    st->gs.SkipWithError(msg != nullptr ? msg : "(no message)");
}

void pt_bench_counter_set(struct pt_bench_state *st, const char *name,
                          double value, unsigned flags)
{
    static const unsigned known = PT_BENCH_COUNTER_RATE |
                                  PT_BENCH_COUNTER_AVG_THREADS |
                                  PT_BENCH_COUNTER_ITERATION_INVARIANT |
                                  PT_BENCH_COUNTER_AVG_ITERATIONS |
                                  PT_BENCH_COUNTER_INVERT |
                                  PT_BENCH_COUNTER_1024;
    using benchmark::Counter;
    int gflags = Counter::kDefaults;

    if (name == nullptr)
        pt_bench_die("%s: NULL counter name", st->b->name.c_str());
    if ((flags & ~known) != 0)
        pt_bench_die("%s: counter %s: unknown flags %#x", st->b->name.c_str(),
                     name, flags & ~known);
    /* Mapped one by one: Google's bit values are not part of our ABI. */
    if (flags & PT_BENCH_COUNTER_RATE)
        gflags |= Counter::kIsRate;
    if (flags & PT_BENCH_COUNTER_AVG_THREADS)
        gflags |= Counter::kAvgThreads;
    if (flags & PT_BENCH_COUNTER_ITERATION_INVARIANT)
        gflags |= Counter::kIsIterationInvariant;
    if (flags & PT_BENCH_COUNTER_AVG_ITERATIONS)
        gflags |= Counter::kAvgIterations;
    if (flags & PT_BENCH_COUNTER_INVERT)
        gflags |= Counter::kInvert;
    st->gs.counters[name] =
        Counter(value, static_cast<Counter::Flags>(gflags),
                (flags & PT_BENCH_COUNTER_1024) ? Counter::kIs1024
                                                : Counter::kIs1000);
}

/* ---- running ------------------------------------------------------------- */

int pt_bench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    pt_bench_failed = false;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return pt_bench_failed ? 2 : 0;
}
