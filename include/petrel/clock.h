/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Monotonic nanoseconds from the TSC, cheap enough to read once per burst:
 * one rdtsc and a 128-bit multiply. pt_clock_init() must run once after
 * rte_eal_init() (it reads the calibrated TSC rate).
 *
 * Threading: any thread after pt_clock_init().
 */
#ifndef PETREL_CLOCK_H
#define PETREL_CLOCK_H

#include <stdint.h>

#include <rte_cycles.h>

extern uint64_t pt_clock_mult; /* ns per cycle, 32.32 fixed point */

/** Calibrate from rte_get_tsc_hz(). */
void pt_clock_init(void);

/** Nanoseconds since an arbitrary fixed point. */
static inline uint64_t
pt_clock_ns(void)
{
    return (uint64_t)(((unsigned __int128)rte_get_tsc_cycles() *
                       pt_clock_mult) >> 32);
}

#endif /* PETREL_CLOCK_H */
