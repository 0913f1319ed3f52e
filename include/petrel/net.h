/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel L2/L3: Ethernet demux, ARP (answer for our addresses, learn
 * peers, announce ourselves), IPv4 header validation and ICMP echo, for one
 * dataplane core.
 *
 * Addresses: a context owns one MAC and a range of IPv4 addresses,
 * ip .. ip + ip_count - 1 (the broker uses one; the load generator, which
 * runs this stack in client mode, spreads its connections over several
 * to get past 64 K ports per peer). Every "is it ours" check covers the
 * whole range: IPv4 input accepts any of them as destination, ARP answers
 * for each (with the asked-for address as sender) and refuses senders that
 * claim one of them.
 *
 * Each dataplane core owns one struct pt_net. pt_net_input() takes a burst
 * of received frames and consumes every one of them: a frame is either
 * turned into a reply in place (zero copy, no allocation) and queued for
 * transmission, or freed and counted under exactly one drop reason. Queued
 * frames leave through the core's transmit function when the burst is done
 * (pt_net_flush()); the transmit function is pluggable so tests capture
 * frames instead of sending them.
 *
 * TCP segments that pass IPv4 validation go to the TCP-lite stack attached
 * to the context (include/petrel/tcp.h), which then also transmits through
 * the context's queue. Not here: IP options, fragments, IPv6 (counted and
 * dropped).
 *
 * Threading: a struct pt_net is touched only by its owning lcore, except
 * its stats, which any thread may read (64-bit counters written by the
 * owner alone; a reader may see a value one burst old, never a torn one).
 */
#ifndef PETREL_NET_H
#define PETREL_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

/*
 * Every reason a frame can be dropped: (ID, name in stats, meaning).
 * The table is the single source for the enum, the names reported by
 * `petrelctl stats`, and docs/operations.md.
 */
#define PT_NET_DROPS(X)                                                       \
    X(ETH_SHORT, "eth_short", "frame shorter than an Ethernet header")       \
    X(ETH_DST, "eth_not_for_us", "destination MAC neither ours nor broadcast") \
    X(ETH_TYPE, "eth_type_unsupported", "EtherType not IPv4 or ARP (IPv6, VLAN, LLDP...)") \
    X(ARP_SHORT, "arp_short", "ARP packet shorter than 28 bytes")            \
    X(ARP_FORMAT, "arp_bad_format", "ARP hardware/protocol type or address lengths not Ethernet/IPv4") \
    X(ARP_OP, "arp_bad_op", "ARP opcode neither request nor reply")          \
    X(ARP_SENDER, "arp_bad_sender", "ARP sender MAC multicast, or sender IP ours, broadcast or off-subnet") \
    X(ARP_NOT_FOR_US, "arp_not_for_us", "ARP for another address (peers still learned)") \
    X(IP_SHORT, "ip_short", "frame too short for an IPv4 header")            \
    X(IP_VERSION, "ip_bad_version", "IP version field not 4")                \
    X(IP_IHL, "ip_bad_ihl", "IPv4 header length below 20 bytes")             \
    X(IP_LEN, "ip_bad_length", "IPv4 total length below the header length or beyond the frame") \
    X(IP_CSUM, "ip_bad_checksum", "IPv4 header checksum wrong")              \
    X(IP_OPTIONS, "ip_options", "IPv4 options present (not supported)")      \
    X(IP_FRAG, "ip_fragment", "IPv4 fragment (no reassembly)")               \
    X(IP_SRC, "ip_bad_src", "source address zero, broadcast, multicast, loopback or ours") \
    X(IP_DST, "ip_not_for_us", "destination address not ours")               \
    X(IP_PROTO, "ip_proto_unsupported", "IP protocol not handled (UDP, ...; TCP when no TCP-lite stack is attached)") \
    X(ICMP_SHORT, "icmp_short", "ICMP message shorter than 8 bytes")         \
    X(ICMP_CSUM, "icmp_bad_checksum", "ICMP checksum wrong")                 \
    X(ICMP_TYPE, "icmp_type_unsupported", "ICMP type other than echo request") \
    X(TX_FULL, "tx_full", "transmit queue refused the frame")                \
    X(NO_MBUF, "no_mbuf", "mempool empty when building a frame")

enum pt_net_drop {
#define PT_X(id, name, help) PT_NET_DROP_##id,
    PT_NET_DROPS(PT_X)
#undef PT_X
    PT_NET_DROP_MAX
};

/** Per-core L2/L3 counters. */
struct pt_net_stats {
    uint64_t rx_pkts;
    uint64_t rx_bytes;
    uint64_t tx_pkts;
    uint64_t tx_bytes;
    uint64_t arp_replies;     /**< ARP replies we sent */
    uint64_t arp_requests;    /**< ARP requests we sent (announce, resolve) */
    uint64_t arp_learned;     /**< neighbour entries created */
    uint64_t icmp_echo_replies;
    uint64_t drops[PT_NET_DROP_MAX];
};

/**
 * Transmit function: send up to n frames, return how many the device took.
 * Ownership: frames taken belong to the device; the caller frees the rest.
 */
typedef uint16_t (*pt_net_tx_fn)(void *ctx, struct rte_mbuf **pkts,
                                 uint16_t n);

struct pt_net;

/** Settings a struct pt_net is created with. */
struct pt_net_conf {
    struct rte_ether_addr mac;  /**< our MAC (the port's) */
    uint32_t ip;                /**< our (first) address, network order */
    uint32_t ip_count;          /**< addresses ip .. ip + ip_count - 1
                                 *   (counted in host order, all inside
                                 *   the subnet, none its broadcast);
                                 *   0 or 1: just ip */
    uint8_t prefix_len;         /**< our subnet */
    uint32_t arp_entries;       /**< neighbour cache size (rounded up to 2^n) */
    uint64_t arp_timeout_ns;    /**< neighbour lifetime without refresh */
    struct rte_mempool *pool;   /**< for frames we originate (ARP requests) */
    pt_net_tx_fn tx;            /**< transmit function */
    void *tx_ctx;               /**< its context */
    int socket_id;              /**< NUMA node for the core's memory */
};

/**
 * Create a core's L2/L3 context (allocates the struct and its neighbour
 * cache on conf->socket_id; never called on the packet path).
 * @return the context, or NULL with rte_errno set (ENOMEM, EINVAL: e.g.
 *         an address range leaving the subnet or reaching its broadcast).
 */
struct pt_net *pt_net_create(const struct pt_net_conf *conf);

/** Free a context made by pt_net_create(); frames still queued are freed. */
void pt_net_free(struct pt_net *net);

/**
 * Handle a burst of received frames.
 *
 * Cost: per frame, a few header loads and compares; ICMP echo verifies the
 * checksum over the message (O(payload)). No locks, no allocation, no
 * syscalls. Replies are queued on the context; call pt_net_flush() after.
 *
 * @param pkts   frames; all are consumed (queued as replies or freed)
 * @param n      number of frames (at most 64)
 * @param now_ns monotonic time, for neighbour aging
 */
void pt_net_input(struct pt_net *net, struct rte_mbuf **pkts, uint16_t n,
                  uint64_t now_ns);

/**
 * Send what pt_net_input() queued. Frames the device refuses are freed and
 * counted as tx_full.
 */
void pt_net_flush(struct pt_net *net);

/**
 * Broadcast a gratuitous ARP request for our (first) address, so neighbours
 * (the kernel side of a tap, a switch) learn us at once. Queues one frame.
 * @return 0, or -ENOBUFS (pool empty; counted as no_mbuf)
 */
int pt_net_announce(struct pt_net *net);

/**
 * Broadcast an ARP request for ip (network order), e.g. the gateway; the
 * reply is learned by pt_net_input(). Queues one frame.
 * The request's sender address is our first one.
 * @return 0, -EINVAL (ip is ours or off our subnet), or -ENOBUFS (pool
 *         empty; counted as no_mbuf)
 */
int pt_net_resolve(struct pt_net *net, uint32_t ip);

/**
 * Look up a neighbour learned from ARP or IPv4 traffic.
 * @param ip  address, network order
 * @param mac receives the MAC when found
 * @return 0, or -ENOENT (unknown or expired)
 */
int pt_net_neigh_lookup(struct pt_net *net, uint32_t ip, uint64_t now_ns,
                        struct rte_ether_addr *mac);

/**
 * Whether ip (network order) is one of our addresses. Any thread (reads
 * only what creation set). Cost: a byte swap, a subtraction, a compare.
 */
bool pt_net_is_local(const struct pt_net *net, uint32_t ip);

/** The context's counters (read-only for other threads). */
const struct pt_net_stats *pt_net_stats(const struct pt_net *net);

/** Name of a drop reason as reported in stats ("ip_bad_checksum"). */
const char *pt_net_drop_name(enum pt_net_drop d);

/** One-line meaning of a drop reason. */
const char *pt_net_drop_help(enum pt_net_drop d);

#endif /* PETREL_NET_H */
