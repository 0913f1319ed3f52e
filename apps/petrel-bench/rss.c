/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Local (address, port) pairs for the sessions of each bench core.
 *
 * The pairs are walked in one global order: address index a, port p, as
 * t = a * n_ports + (p - sport_min), starting at a random t for the run
 * and wrapping around. Each pair belongs to exactly one core,
 * so cores never pick the same 4-tuple:
 *   - on a port with RSS (a NIC), the core whose queue the broker's answers
 *     land on: the Toeplitz hash of the answer's tuple (broker address and
 *     port as source, ours as destination) with the port's own key, through
 *     its redirection table;
 *   - otherwise (memif, af_packet, one queue) t mod n_cores: each core has
 *     its own queue pair and the broker answers on the queue it was asked on.
 *
 * Threading: pure functions of the run (read-only) and the caller's cursor.
 */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_thash.h>

#include "bench.h"

uint32_t
pb_rss_hash(const struct pb_run *run, uint32_t laddr, uint16_t lport)
{
    const struct pb_opts *o = run->o;
    struct rte_ipv4_tuple tuple = {
        .src_addr = rte_be_to_cpu_32(o->broker_ip),
        .dst_addr = rte_be_to_cpu_32(laddr),
        .sport = o->broker_port,
        .dport = lport,
    };

    return rte_softrss((uint32_t *)&tuple, RTE_THASH_V4_L4_LEN, run->rss_key);
}

int
pb_tuple_next(const struct pb_run *run, unsigned core, unsigned n_cores,
              uint64_t *cursor, uint32_t *laddr, uint16_t *lport)
{
    const struct pb_opts *o = run->o;
    uint64_t n_ports = (uint64_t)o->sport_max - o->sport_min + 1;
    uint64_t end = n_ports * o->src_count;

    for (uint64_t i = *cursor; i < end; i++) {
        uint64_t t = (run->tuple_start + i) % end;
        uint32_t a = rte_be_to_cpu_32(o->src_ip) + (uint32_t)(t / n_ports);
        uint16_t p = (uint16_t)(o->sport_min + t % n_ports);
        unsigned owner;

        if (run->rss) {
            uint32_t h = pb_rss_hash(run, rte_cpu_to_be_32(a), p);

            owner = run->reta[h % run->reta_size];
        } else {
            owner = (unsigned)(t % n_cores);
        }
        if (owner != core)
            continue;
        *cursor = i + 1;
        *laddr = rte_cpu_to_be_32(a);
        *lport = p;
        return 0;
    }
    *cursor = end;
    return -ENOSPC;
}
