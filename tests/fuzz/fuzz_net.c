/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: arbitrary bytes as a received Ethernet frame into
 * pt_net_input(), then flushed. The first input byte picks a segment size
 * so chained mbufs are fuzzed too. Invariants checked on every input: the
 * frame is consumed exactly once (sent or dropped) and no mbuf leaks.
 *
 * Built only with clang (meson option `fuzz`, on in the sanitizer build);
 * the test suite runs it for a bounded number of inputs from a seed corpus
 * (tests/fuzz/corpus_net/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ip.h>

#include <petrel/net.h>

#include "pt_test.h"

static struct pt_net *net;
static struct pt_test_tx tx = { .accept = UINT32_MAX };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct pt_net_stats *s;
    uint64_t before_rx, before_done, done;
    struct rte_mbuf *m;
    size_t seg;

    if (net == NULL) {
        struct pt_net_conf conf;

        if (pt_test_eal_init() != 0)
            abort();
        pt_test_net_conf(&conf, pt_test_tx_capture, &tx);
        conf.arp_entries = 64;
        net = pt_net_create(&conf);
        if (net == NULL)
            abort();
    }
    if (size < 1 || size > 9000)
        return 0;
    seg = data[0] % 4 == 0 ? 0 : 1 + data[0] % 64 * 8;
    s = pt_net_stats(net);
    before_rx = s->rx_pkts;
    before_done = s->tx_pkts;
    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        before_done += s->drops[d];

    m = pt_test_mbuf(data + 1, size - 1, seg);
    pt_net_input(net, &m, 1, 1000);
    pt_net_flush(net);
    pt_test_tx_reset(&tx);

    done = s->tx_pkts;
    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        done += s->drops[d];
    /* consumed once: sent or dropped (an ARP reply to us is neither) */
    if (s->rx_pkts != before_rx + 1 || done - before_done > 1)
        abort();
    if (rte_mempool_in_use_count(pt_test_pool()) != 0)
        abort();
    return 0;
}
