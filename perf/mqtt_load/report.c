// SPDX-License-Identifier: BSD-3-Clause
/*
 * Latency figures for pt-mqtt-load's reports, over petrel-bench's
 * histogram (apps/petrel-bench/hist.h: HdrHistogram layout, 3 significant
 * digits, relative error <= 0.1%, values up to one hour in ns, ~261 KiB
 * each). Percentiles are the bucket's highest equivalent value, capped at
 * the exact recorded maximum so that p99.9 never reads above max. The
 * JSON object uses petrel-bench's names (count, p50, p90, p99, p999, max,
 * mean, in microseconds) so the two tools' summaries compare key by key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "load.h"

struct pb_hist *ld_hist_new(void)
{
    struct pb_hist *h = pb_hist_new(PB_HIST_HOUR_NS, 3);

    if (h == NULL) {
        perror("pt-mqtt-load: histogram");
        exit(2);
    }
    return h;
}

double ld_hist_us(const struct pb_hist *h, double pct)
{
    uint64_t v = pb_hist_percentile(h, pct), max = pb_hist_max(h);

    return (double)(v < max ? v : max) * 1e-3;
}

void ld_json_hist(FILE *f, const char *name, const struct pb_hist *h)
{
    fprintf(f, ",\"%s\":{\"count\":%llu,\"p50\":%.1f,\"p90\":%.1f,"
            "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}", name,
            (unsigned long long)pb_hist_count(h), ld_hist_us(h, 50),
            ld_hist_us(h, 90), ld_hist_us(h, 99), ld_hist_us(h, 99.9),
            (double)pb_hist_max(h) * 1e-3, pb_hist_mean(h) * 1e-3);
}

void ld_text_latency(FILE *f, const struct pb_hist *h)
{
    fprintf(f, "latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
            "max %.1f\n", ld_hist_us(h, 50), ld_hist_us(h, 90),
            ld_hist_us(h, 99), ld_hist_us(h, 99.9),
            (double)pb_hist_max(h) * 1e-3);
}
