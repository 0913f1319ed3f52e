/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internet checksums (RFC 1071) for the dataplane's hot paths.
 *
 * DPDK's rte_raw_cksum() adds 16-bit words one at a time; these add 64-bit
 * words with an end-around carry (add + adc), 16 bytes per loop, which
 * makes a 20-byte header a handful of instructions. Sums are in memory byte order, as DPDK's are: fold and
 * complement, and the result can be stored into a header as is.
 *
 * Not here: multi-segment mbufs (callers fall back to rte_raw_cksum_mbuf()).
 * Pure functions; any thread.
 */
#ifndef PETREL_CKSUM_H
#define PETREL_CKSUM_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

/* sum += w with the carry added back in (one's complement, 64 bits). */
static inline uint64_t
pt_cksum_add64(uint64_t sum, uint64_t w)
{
    sum += w;
    return sum + (sum < w);
}

/** Add len bytes at buf to a running sum. */
static inline uint64_t
pt_cksum_add(const void *buf, size_t len, uint64_t sum)
{
    const uint8_t *p = buf;

    for (; len >= 16; len -= 16, p += 16) {
        uint64_t a, b;

        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        sum = pt_cksum_add64(sum, a);
        sum = pt_cksum_add64(sum, b);
    }
    if (len >= 8) {
        uint64_t a;

        memcpy(&a, p, 8);
        sum = pt_cksum_add64(sum, a);
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;

        memcpy(&w, p, 4);
        sum = pt_cksum_add64(sum, w);
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;

        memcpy(&w, p, 2);
        sum = pt_cksum_add64(sum, w);
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        uint16_t w = 0;

        memcpy(&w, p, 1); /* the odd byte is the high-order byte of its word */
        sum = pt_cksum_add64(sum, w);
    }
    return sum;
}

/** Fold a sum to 16 bits (not complemented). */
static inline uint16_t
pt_cksum_fold(uint64_t sum)
{
    uint32_t s32 = (uint32_t)sum, hi = (uint32_t)(sum >> 32);

    s32 += hi;
    s32 += s32 < hi;           /* end-around carry */
    s32 = (s32 & 0xffffu) + (s32 >> 16);
    s32 = (s32 & 0xffffu) + (s32 >> 16);
    return (uint16_t)s32;
}

/** Add 20 bytes (an option-less IPv4 or TCP header) to a running sum. */
static inline uint64_t
pt_cksum_add20(const void *p, uint64_t sum)
{
    uint64_t a, b;
    uint32_t c;

    memcpy(&a, p, 8);
    memcpy(&b, (const uint8_t *)p + 8, 8);
    memcpy(&c, (const uint8_t *)p + 16, 4);
    return pt_cksum_add64(pt_cksum_add64(pt_cksum_add64(sum, a), b), c);
}

/** Sum of a 20-byte IPv4 header (checksum field included as it is). */
static inline uint64_t
pt_cksum_ipv4_hdr(const struct rte_ipv4_hdr *ip)
{
    return pt_cksum_add20(ip, 0);
}

/** Sum of the TCP/UDP pseudo-header for l4_len bytes of protocol proto. */
static inline uint64_t
pt_cksum_pseudo(const struct rte_ipv4_hdr *ip, uint8_t proto, uint16_t l4_len)
{
    uint64_t sum = (uint64_t)ip->src_addr + ip->dst_addr;

    sum += rte_cpu_to_be_16((uint16_t)proto);
    sum += rte_cpu_to_be_16(l4_len);
    return sum;
}

#endif /* PETREL_CKSUM_H */
