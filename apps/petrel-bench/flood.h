/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench's stateless flood generator: frames a broker must survive
 * while its established sessions keep working (issue 7, resilience tests).
 *
 *   PB_FLOOD_SYN   valid TCP SYNs (MSS option, random ISN, correct
 *                  checksums) at a given rate, the source address and port
 *                  walked pseudo-randomly through the configured range so
 *                  that every flow of the range comes once per period: a
 *                  broker's SYN backlog and SYN cookies see many distinct
 *                  flows, never the same one twice in a row.
 *   PB_FLOOD_JUNK  malformed or unwanted frames, cycling through the kinds
 *                  of PB_FLOOD_JUNK_KINDS in table order (frame i is the
 *                  i-th enabled kind, modulo their number). Each kind has
 *                  exactly one fault, and the table says under which drop
 *                  reason petrel counts it (pt_net/pt_tcp stats names).
 *
 * Not here: transmitting, receiving, any state per flow (nothing answers
 * the broker's SYN-ACKs; that is what makes the flood stateless).
 *
 * Cost: pb_flood_fill() allocates its burst with one
 * rte_pktmbuf_alloc_bulk(), copies a precomputed template per frame and
 * patches a few fields; SYN checksums are finished incrementally from
 * precomputed partial sums (a handful of adds per frame) or left to the
 * port (tx_cksum_offload). Junk frames compute their checksums in software
 * over their 20 to 60 header bytes. No locks, no syscalls, no libc call
 * per frame, one 64-bit division per frame (source address and port).
 *
 * Ownership: frames returned by pb_flood_fill() are the caller's (to
 * transmit, and to free those the device refuses). The generator keeps no
 * reference to them.
 *
 * Threading: one generator per lcore; pb_flood_fill() only on the lcore
 * that first called it (checked with PT_HOT_ASSERT_OWNER in -Dhot_debug
 * builds). pb_flood_stats() may be read from any thread: 64-bit counters
 * written by the owner alone with relaxed atomic stores, so a reader sees
 * a value one burst old, never a torn one. pb_flood_create()/free() are
 * control-path calls (any thread, not concurrently with fill).
 */
#ifndef PETREL_BENCH_FLOOD_H
#define PETREL_BENCH_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/*
 * Every junk kind: (ID, name, counted as, builder, TCP flags, meaning).
 *   name        what petrel-bench reports ("junk_syn_fin" counters)
 *   counted as  the drop reason petrel counts it under (pt_net_drop_name /
 *               pt_tcp_drop_name), with its defaults: syncookies on, the
 *               broker listening on conf.dst_port only
 *   builder     the fault applied to a valid TCP segment (flood.c, JOP_*)
 *   TCP flags   of the segment (F_* in flood.c)
 * Adding a kind is one line here (plus a JOP_ case when no existing
 * builder fits). Frames below 60 bytes reach a broker as they are over
 * memif or in-process; an Ethernet wire pads them to 60 bytes with zeros,
 * which turns truncated_ip into ip_bad_length or ip_bad_checksum and
 * eth_runt into eth_not_for_us or eth_type_unsupported. The other kinds
 * are built to be counted the same, padded or not.
 */
#define PB_FLOOD_JUNK_KINDS(X)                                                \
    X(IP_CSUM, "bad_ip_checksum", "ip_bad_checksum", CSUM_IP, F_SYN,          \
      "SYN to the broker with a wrong IPv4 header checksum")                  \
    X(TCP_CSUM, "bad_tcp_checksum", "tcp_bad_checksum", CSUM_TCP, F_SYN,      \
      "SYN to the broker with a wrong TCP checksum")                          \
    X(SYN_FIN, "syn_fin", "tcp_bad_flags", FLAGS, F_SYN | F_FIN,              \
      "SYN+FIN, plus random PSH/URG/ECE/CWR")                                 \
    X(SYN_RST, "syn_rst", "tcp_bad_flags", FLAGS, F_SYN | F_RST,              \
      "SYN+RST, plus random PSH/URG/ECE/CWR")                                 \
    X(NO_FLAGS, "no_flags", "tcp_bad_flags", FLAGS, 0,                        \
      "none of SYN/ACK/FIN/RST, random PSH/URG/ECE/CWR")                      \
    X(FIN, "fin_no_conn", "tcp_no_conn", SEG, F_FIN,                          \
      "FIN for no connection, random sequence (RST answered)")                \
    X(ACK, "ack_no_conn", "tcp_bad_cookie", SEG, F_ACK,                       \
      "ACK for no connection, random seq/ack: fails the SYN cookie check "    \
      "(tcp_no_conn with cookies off; RST answered)")                         \
    X(RST, "rst_no_conn", "tcp_no_conn", SEG, F_RST,                          \
      "RST for no connection, random sequence")                               \
    X(DATA, "data_no_conn", "tcp_bad_cookie", DATA, F_PSH | F_ACK,            \
      "64 bytes of data for no connection (as ack_no_conn)")                  \
    X(CLOSED_PORT, "closed_port", "tcp_no_listener", CLOSED_PORT, F_SYN,      \
      "SYN to a random port other than the broker's (RST answered)")          \
    X(PORT_ZERO, "port_zero", "tcp_port_zero", PORT_ZERO, F_SYN,              \
      "SYN from source port 0")                                               \
    X(DOFF_SHORT, "doff_short", "tcp_bad_data_offset", DOFF_SHORT, F_SYN,     \
      "TCP data offset of 0 to 4 words")                                      \
    X(DOFF_LONG, "doff_past_end", "tcp_bad_data_offset", DOFF_LONG, F_SYN,    \
      "TCP data offset of 6 to 15 words in a 20-byte segment")                \
    X(TRUNC_IP, "truncated_ip", "ip_short", TRUNC_IP, F_SYN,                  \
      "frame ends 1 to 19 bytes into the IPv4 header")                        \
    X(TRUNC_TCP, "truncated_tcp", "tcp_short", TRUNC_TCP, F_SYN,              \
      "IPv4 (consistent length) carries 1 to 19 bytes of TCP header")         \
    X(IP_LEN, "ip_len_long", "ip_bad_length", IP_LEN, F_SYN,                  \
      "IPv4 total length past the frame, even padded to 60 bytes")                     \
    X(IP_FRAG, "ip_fragment", "ip_fragment", IP_FRAG, F_SYN,                  \
      "IPv4 fragment: MF and/or a fragment offset")                           \
    X(IP_OPTS, "ip_options", "ip_options", IP_OPTS, F_SYN,                    \
      "IPv4 header of 24 to 60 bytes (NOP options)")                          \
    X(IP_PROTO, "ip_proto", "ip_proto_unsupported", IP_PROTO, 0,              \
      "IP protocol other than TCP and ICMP")                                  \
    X(ETH_TYPE, "eth_type", "eth_type_unsupported", ETH_TYPE, 0,              \
      "EtherType other than IPv4 and ARP")                                    \
    X(ETH_RUNT, "eth_runt", "eth_short", ETH_RUNT, 0,                         \
      "frame of 1 to 13 bytes")                                               \
    X(ARP, "arp_garbage", "arp_bad_format", ARP, 0,                           \
      "ARP with a random body and a hardware type other than Ethernet")

enum pb_junk_kind {
#define PB_X(id, name, drop, op, flags, help) PB_JUNK_##id,
    PB_FLOOD_JUNK_KINDS(PB_X)
#undef PB_X
    PB_JUNK_KINDS
};

enum pb_flood_mode {
    PB_FLOOD_SYN,
    PB_FLOOD_JUNK,
};

/** Settings of one generator. */
struct pb_flood_conf {
    enum pb_flood_mode mode;
    struct rte_ether_addr src_mac, dst_mac;
    uint32_t src_ip;        /**< first source address, network order */
    uint32_t src_ip_count;  /**< addresses in the range (>= 1, not past
                             *   255.255.255.255) */
    uint16_t src_port_min, src_port_max; /**< host order, min <= max */
    uint32_t dst_ip;        /**< network order */
    uint16_t dst_port;      /**< host order: the broker's port (not 0) */
    uint64_t rate_pps;      /**< frames per second; 0 = as fast as asked */
    uint64_t seed;          /**< deterministic sequence for a seed */
    /** The port fills IPv4/TCP checksums (SYN mode only; junk checksums,
     * right or deliberately wrong, are always computed in software). */
    bool tx_cksum_offload;
    /** Junk mode: kinds to cycle through, bit (1 << enum pb_junk_kind);
     * 0 = all. */
    uint32_t junk_mask;
    struct rte_mempool *pool; /**< frames come from here */
};

struct pb_flood;

/**
 * Create a generator (control path; allocates with rte_zmalloc).
 * @return the generator, or NULL with rte_errno = EINVAL (NULL conf or
 *         pool, src_ip_count 0 or past the last address, src_port_min >
 *         src_port_max, dst_port 0,
 *         unknown mode, junk_mask with no known kind, pool buffers with
 *         less than 128 bytes past the headroom) or ENOMEM.
 */
struct pb_flood *pb_flood_create(const struct pb_flood_conf *conf);

/** Free a generator (NULL is ignored). Frames it built stay the caller's. */
void pb_flood_free(struct pb_flood *f);

/**
 * Build the frames due at now_ns under the rate, at most max.
 *
 * Rate: a token bucket filled at rate_pps from the first call's now_ns on
 * (that call gets nothing), holding at most max frames, so a long pause
 * between calls never produces more than one burst. With rate_pps 0 every
 * call builds max frames. now_ns must not go backwards (a step back is
 * ignored: it adds nothing).
 *
 * Cost: one bulk allocation and ~60 bytes written per frame (see the top
 * of this file); no locks, no syscalls.
 *
 * @param pkts  receives the frames (ownership passes to the caller)
 * @param max   most frames to build (any value; the caller's burst)
 * @return frames put in pkts; 0 when none is due or the pool is empty (the
 *         frames that could not be built are counted in no_mbuf and stay
 *         due, within the burst cap)
 */
uint16_t pb_flood_fill(struct pb_flood *f, uint64_t now_ns,
                       struct rte_mbuf **pkts, uint16_t max);

/** Counters (see the threading note). */
struct pb_flood_stats {
    uint64_t built;                  /**< frames built, all kinds */
    uint64_t kind[PB_JUNK_KINDS];    /**< junk frames built, per kind */
    uint64_t no_mbuf;                /**< frames not built: pool empty */
};

/** The generator's counters (any thread). */
const struct pb_flood_stats *pb_flood_stats(const struct pb_flood *f);

/** Name of a junk kind ("syn_fin"), or "?" out of range. Any thread. */
const char *pb_flood_kind_name(unsigned kind);

/** The drop reason petrel counts a junk kind under ("tcp_bad_flags"),
 * or "?" out of range. Any thread. */
const char *pb_flood_kind_drop(unsigned kind);

/** One-line meaning of a junk kind, or "?". Any thread. */
const char *pb_flood_kind_help(unsigned kind);

#endif /* PETREL_BENCH_FLOOD_H */
