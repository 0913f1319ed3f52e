/* SPDX-License-Identifier: BSD-3-Clause */
/* TSC-to-nanosecond scale factor (see include/petrel/clock.h). */
#include <petrel/clock.h>

uint64_t pt_clock_mult;

void
pt_clock_init(void)
{
    uint64_t hz = rte_get_tsc_hz();

    pt_clock_mult = (uint64_t)(((unsigned __int128)1000000000u << 32) / hz);
}
