/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench's stateless flood generator (see flood.h): SYN floods and
 * junk frames built from precomputed templates.
 *
 * How a frame is made:
 *   SYN   the 58-byte template (Ethernet, IPv4 with DF, TCP with an MSS
 *         option) is copied and five fields patched: source address and
 *         port (the flow), IPv4 id and ISN (random), checksums. The
 *         checksums are the template's partial one's-complement sums plus
 *         the patched words, folded: byte-order independent, so the raw
 *         16-bit words are added as they lie in memory.
 *   junk  the 54-byte template (no option) is copied, the flow and random
 *         sequence numbers patched, then the kind's builder (JOP_*) applies
 *         its one fault and the checksums that must stay right are
 *         computed with rte_ipv4_cksum / rte_ipv4_udptcp_cksum.
 *
 * The flow walk: flows are numbered 0 .. addresses * ports - 1 (address
 * major). A counter runs over [0, 2^k) (2^k the smallest power of two
 * covering the flows) through a seeded bijection of k-bit numbers (odd
 * multiply, add, xorshift, odd multiply, xorshift, all modulo 2^k);
 * results past the last flow are skipped (at most half of them). So every
 * flow comes exactly once per 2^k counter steps, in a scrambled order.
 *
 * Not here: what the bench does with the frames, any per-flow state.
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include <petrel/debug.h>

#include "flood.h"

#define PB_NS_PER_S 1000000000ull

/* Frame layout of the templates. */
#define L2_LEN ((uint16_t)sizeof(struct rte_ether_hdr))            /* 14 */
#define L3_LEN ((uint16_t)sizeof(struct rte_ipv4_hdr))             /* 20 */
#define L4_OFF (L2_LEN + L3_LEN)                                   /* 34 */
#define TCP_LEN ((uint16_t)sizeof(struct rte_tcp_hdr))             /* 20 */
#define MSS_OPT_LEN 4
#define SYN_LEN (L4_OFF + TCP_LEN + MSS_OPT_LEN)                   /* 58 */
#define JUNK_LEN (L4_OFF + TCP_LEN)                                /* 54 */
#define JUNK_DATA_LEN 64       /* payload of data_no_conn */
#define TMPL_SIZE 64           /* templates are copied whole */
#define FRAME_MAX 128          /* longest frame built (data_no_conn: 118) */

#define SYN_MSS 1460
#define SYN_WIN 65535
#define TTL 64

/* TCP flags of the table (flood.h). */
#define F_FIN RTE_TCP_FIN_FLAG
#define F_SYN RTE_TCP_SYN_FLAG
#define F_RST RTE_TCP_RST_FLAG
#define F_PSH RTE_TCP_PSH_FLAG
#define F_ACK RTE_TCP_ACK_FLAG
#define F_URG RTE_TCP_URG_FLAG
#define F_ECE RTE_TCP_ECE_FLAG
#define F_CWR RTE_TCP_CWR_FLAG

/* The fault each junk kind applies to a valid segment. */
enum junk_op {
    JOP_SEG,         /* none: a valid segment with the table's flags */
    JOP_FLAGS,       /* table's flags plus random PSH/URG/ECE/CWR */
    JOP_DATA,        /* JUNK_DATA_LEN random payload bytes */
    JOP_CSUM_IP,     /* IPv4 header checksum wrong */
    JOP_CSUM_TCP,    /* TCP checksum wrong */
    JOP_CLOSED_PORT, /* destination port not the broker's, not 0 */
    JOP_PORT_ZERO,   /* source port 0 */
    JOP_DOFF_SHORT,  /* data offset 0..4 */
    JOP_DOFF_LONG,   /* data offset 6..15 in a 20-byte segment */
    JOP_TRUNC_IP,    /* frame ends inside the IPv4 header */
    JOP_TRUNC_TCP,   /* IPv4 carries 1..19 bytes of TCP header */
    JOP_IP_LEN,      /* total length past the frame (and any padding) */
    JOP_IP_FRAG,     /* MF and/or fragment offset */
    JOP_IP_OPTS,     /* IHL 6..15, NOP options */
    JOP_IP_PROTO,    /* protocol neither TCP nor ICMP */
    JOP_ETH_TYPE,    /* EtherType neither IPv4 nor ARP */
    JOP_ETH_RUNT,    /* 1..13 bytes */
    JOP_ARP,         /* ARP, random body, hardware type not Ethernet */
};

struct junk_desc {
    uint8_t op;
    uint8_t flags;
};

static const struct junk_desc junk_descs[PB_JUNK_KINDS] = {
#define PB_X(id, name, drop, op, flags, help)                                  \
    [PB_JUNK_##id] = { JOP_##op, (uint8_t)(flags) },
    PB_FLOOD_JUNK_KINDS(PB_X)
#undef PB_X
};

static const char *const junk_names[PB_JUNK_KINDS] = {
#define PB_X(id, name, drop, op, flags, help) [PB_JUNK_##id] = name,
    PB_FLOOD_JUNK_KINDS(PB_X)
#undef PB_X
};

static const char *const junk_drops[PB_JUNK_KINDS] = {
#define PB_X(id, name, drop, op, flags, help) [PB_JUNK_##id] = drop,
    PB_FLOOD_JUNK_KINDS(PB_X)
#undef PB_X
};

static const char *const junk_helps[PB_JUNK_KINDS] = {
#define PB_X(id, name, drop, op, flags, help) [PB_JUNK_##id] = help,
    PB_FLOOD_JUNK_KINDS(PB_X)
#undef PB_X
};

/* The enabled-kinds order must fit a uint32_t mask. */
_Static_assert(PB_JUNK_KINDS <= 32, "junk_mask holds 32 kinds");

struct pb_flood {
    /* ---- hot, owner only ---- */
    uint64_t rng;               /* xorshift64* state, never 0 */
    uint64_t credit;            /* token bucket, PB_NS_PER_S per frame */
    uint64_t last_ns;           /* clock of the previous fill */
    uint64_t flow_ctr;          /* position of the flow walk */
    uint64_t flow_mask;         /* 2^k - 1 */
    uint64_t flow_n;            /* flows: addresses * ports */
    uint64_t flow_mul1, flow_add, flow_mul2; /* the bijection's keys */
    uint32_t flow_shift;
    uint32_t ports;             /* ports in the range */
    uint32_t src_ip_base;       /* host order */
    uint16_t src_port_min;
    uint16_t dst_port;          /* host order */
    uint64_t rate_pps;
    bool started;
    bool offload;
    enum pb_flood_mode mode;
    unsigned owner_lcore;       /* PT_HOT_ASSERT_OWNER */
    struct rte_mempool *pool;
    uint32_t ip_sum;            /* SYN IPv4 header, varying words zero */
    uint32_t tcp_sum;           /* SYN TCP + pseudo header, same */
    uint32_t phdr_sum;          /* pseudo header alone (offload) */
    uint8_t junk_n;             /* enabled kinds */
    uint8_t junk_next;          /* index in junk_order of the next one */
    uint8_t junk_order[PB_JUNK_KINDS];

    uint8_t syn_tmpl[TMPL_SIZE] __rte_cache_aligned;
    uint8_t junk_tmpl[TMPL_SIZE];

    /* ---- written by the owner, read by anyone ---- */
    struct pb_flood_stats stats __rte_cache_aligned;
};

/* ---- small helpers ---- */

static inline uint64_t
rnd(struct pb_flood *f)
{
    uint64_t x = f->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    f->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* splitmix64: spreads a seed (any value, 0 included) over 64 bits. */
static uint64_t
mix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Relaxed store: another thread reading the counter never sees it torn. */
static inline void
stat_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

/* One's-complement sum of a 32-bit value as it lies in memory. */
static inline uint32_t
sum32(uint32_t v)
{
    return (v & 0xffff) + (v >> 16);
}

static inline uint16_t
fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* A checksum value that fails verification whatever c was: c changed,
 * and never into the other encoding of zero (0x0000 == 0xffff). */
static inline uint16_t
csum_break(uint16_t c, uint64_t r)
{
    uint16_t bad = (uint16_t)(c ^ (uint16_t)(1 + r % 0xffff));

    if ((bad == 0 || bad == 0xffff) && (c == 0 || c == 0xffff))
        bad = (uint16_t)(c ^ 0x0101);
    return bad;
}

/* ---- the flow walk ---- */

static inline uint64_t
flow_perm(const struct pb_flood *f, uint64_t x)
{
    x = (x * f->flow_mul1 + f->flow_add) & f->flow_mask;
    x ^= x >> f->flow_shift;
    x = (x * f->flow_mul2) & f->flow_mask;
    x ^= x >> f->flow_shift;
    return x;
}

/* Next flow: source address (network order) and port (host order). */
static inline void
flow_next(struct pb_flood *f, uint32_t *ip, uint16_t *port)
{
    uint64_t x;

    do {
        x = flow_perm(f, f->flow_ctr++ & f->flow_mask);
    } while (x >= f->flow_n);
    *ip = rte_cpu_to_be_32(f->src_ip_base + (uint32_t)(x / f->ports));
    *port = (uint16_t)(f->src_port_min + x % f->ports);
}

/* ---- templates ---- */

static void
tmpl_init(const struct pb_flood_conf *conf, uint8_t *p, uint16_t optlen,
          uint8_t flags)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + L2_LEN);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + L4_OFF);

    memset(p, 0, TMPL_SIZE);
    eh->dst_addr = conf->dst_mac;
    eh->src_addr = conf->src_mac;
    eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(L3_LEN + TCP_LEN + optlen);
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = TTL;
    ip->next_proto_id = IPPROTO_TCP;
    ip->dst_addr = conf->dst_ip;
    th->dst_port = rte_cpu_to_be_16(conf->dst_port);
    th->data_off = (uint8_t)(((TCP_LEN + optlen) / 4) << 4);
    th->tcp_flags = flags;
    th->rx_win = RTE_BE16(SYN_WIN);
    if (optlen == MSS_OPT_LEN) {
        uint8_t *o = (uint8_t *)(th + 1);

        o[0] = 2; /* MSS, RFC 793 */
        o[1] = 4;
        o[2] = SYN_MSS >> 8;
        o[3] = SYN_MSS & 0xff;
    }
}

/* Partial sums of the SYN template; the varying fields (source address,
 * IPv4 id, source port, sequence) are still zero in it. */
static void
syn_sums(struct pb_flood *f)
{
    const struct rte_ipv4_hdr *ip =
        (const struct rte_ipv4_hdr *)(f->syn_tmpl + L2_LEN);
    const uint8_t *th = f->syn_tmpl + L4_OFF;
    uint16_t l4 = TCP_LEN + MSS_OPT_LEN;

    f->ip_sum = __rte_raw_cksum(ip, L3_LEN, 0);
    /* pseudo header: addresses, protocol, TCP length */
    f->phdr_sum = sum32(ip->dst_addr) + rte_cpu_to_be_16(IPPROTO_TCP) +
                  rte_cpu_to_be_16(l4);
    f->tcp_sum = __rte_raw_cksum(th, l4, f->phdr_sum);
}

/* ---- SYN ---- */

static inline void
syn_build(struct pb_flood *f, struct rte_mbuf *m)
{
    uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + L2_LEN);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + L4_OFF);
    uint64_t r = rnd(f);
    uint32_t src, seq = (uint32_t)r;
    uint16_t sport, id = (uint16_t)(r >> 32);

    flow_next(f, &src, &sport);
    memcpy(p, f->syn_tmpl, TMPL_SIZE);
    ip->packet_id = id;
    ip->src_addr = src;
    th->src_port = rte_cpu_to_be_16(sport);
    th->sent_seq = seq;
    m->data_len = SYN_LEN;
    m->pkt_len = SYN_LEN;
    if (f->offload) {
        /* the port fills both; TCP wants the pseudo header sum */
        m->l2_len = L2_LEN;
        m->l3_len = L3_LEN;
        m->l4_len = TCP_LEN + MSS_OPT_LEN;
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                       RTE_MBUF_F_TX_TCP_CKSUM;
        th->cksum = fold(f->phdr_sum + sum32(src));
        return;
    }
    ip->hdr_checksum = (uint16_t)~fold(f->ip_sum + sum32(src) + id);
    th->cksum = (uint16_t)~fold(f->tcp_sum + sum32(src) +
                                th->src_port + sum32(seq));
}

/* ---- junk ---- */

static inline void
tcp_fix(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th)
{
    th->cksum = 0;
    th->cksum = rte_ipv4_udptcp_cksum(ip, th);
}

static inline void
ip_fix(struct rte_ipv4_hdr *ip)
{
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* Build one junk frame of kind k into p. @return its length. */
static uint16_t
junk_build(struct pb_flood *f, unsigned k, uint8_t *p)
{
    const struct junk_desc *d = &junk_descs[k];
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + L2_LEN);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + L4_OFF);
    uint64_t r = rnd(f), r2 = rnd(f);
    uint16_t len = JUNK_LEN, sport, n;
    uint32_t src;

    flow_next(f, &src, &sport);
    memcpy(p, f->junk_tmpl, TMPL_SIZE);
    ip->packet_id = (uint16_t)r2;
    ip->src_addr = src;
    th->src_port = rte_cpu_to_be_16(sport);
    th->sent_seq = (uint32_t)r;
    if (d->flags & F_ACK)
        th->recv_ack = (uint32_t)(r >> 32);
    th->tcp_flags = d->flags;

    switch (d->op) {
    case JOP_SEG:
        break;
    case JOP_FLAGS:
        th->tcp_flags |= (uint8_t)((r2 >> 16) & (F_PSH | F_URG | F_ECE |
                                                 F_CWR));
        break;
    case JOP_DATA: {
        uint8_t *pl = (uint8_t *)(th + 1);

        for (unsigned i = 0; i < JUNK_DATA_LEN; i += 8) {
            uint64_t v = rnd(f);

            memcpy(pl + i, &v, 8);
        }
        len += JUNK_DATA_LEN;
        ip->total_length = rte_cpu_to_be_16(L3_LEN + TCP_LEN +
                                            JUNK_DATA_LEN);
        break;
    }
    case JOP_CLOSED_PORT:
        n = (uint16_t)(1 + (r2 >> 16) % 65534); /* 1 .. 65534 */
        if (n >= f->dst_port)
            n++;                                /* skip the broker's */
        th->dst_port = rte_cpu_to_be_16(n);
        break;
    case JOP_PORT_ZERO:
        th->src_port = 0;
        break;
    case JOP_DOFF_SHORT:
        th->data_off = (uint8_t)(((r2 >> 16) % 5) << 4);
        break;
    case JOP_DOFF_LONG:
        th->data_off = (uint8_t)((6 + (r2 >> 16) % 10) << 4);
        break;
    case JOP_TRUNC_IP:
        ip_fix(ip);
        return (uint16_t)(L2_LEN + 1 + (r2 >> 16) % (L3_LEN - 1));
    case JOP_TRUNC_TCP:
        n = (uint16_t)(1 + (r2 >> 16) % (TCP_LEN - 1));
        ip->total_length = rte_cpu_to_be_16(L3_LEN + n);
        ip_fix(ip);
        return (uint16_t)(L4_OFF + n);
    case JOP_IP_LEN:
        tcp_fix(ip, th);
        /* past 46 bytes: what a 60-byte padded frame holds after its
         * Ethernet header (our IPv4 packet itself is 40) */
        ip->total_length = rte_cpu_to_be_16(47 + (r2 >> 16) % (1500 - 46));
        ip_fix(ip);
        return len;
    case JOP_IP_FRAG: {
        uint16_t off = (uint16_t)(1 + (r2 >> 16) % RTE_IPV4_HDR_OFFSET_MASK);

        switch ((r2 >> 32) % 3) {
        case 0: /* first fragment */
            ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
            break;
        case 1: /* middle */
            ip->fragment_offset =
                rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | off);
            break;
        default: /* last */
            ip->fragment_offset = rte_cpu_to_be_16(off);
            break;
        }
        break;
    }
    case JOP_IP_OPTS: {
        uint16_t optlen = (uint16_t)(4 * (1 + (r2 >> 16) % 10)); /* 4..40 */

        memmove(p + L4_OFF + optlen, th, TCP_LEN);
        memset(p + L4_OFF, 1 /* NOP */, optlen);
        ip->version_ihl = (uint8_t)(0x40 | ((L3_LEN + optlen) / 4));
        ip->total_length = rte_cpu_to_be_16(L3_LEN + optlen + TCP_LEN);
        tcp_fix(ip, (struct rte_tcp_hdr *)(p + L4_OFF + optlen));
        ip_fix(ip);
        return (uint16_t)(len + optlen);
    }
    case JOP_IP_PROTO:
        n = (uint16_t)((r2 >> 16) % 254); /* 0..253, skipping 1 and 6 */
        if (n >= IPPROTO_ICMP)
            n++;
        if (n >= IPPROTO_TCP)
            n++;
        ip->next_proto_id = (uint8_t)n;
        ip_fix(ip);
        return len;
    case JOP_ETH_TYPE:
        n = (uint16_t)(r2 >> 16);
        if (n == RTE_ETHER_TYPE_IPV4 || n == RTE_ETHER_TYPE_ARP)
            n = RTE_ETHER_TYPE_IPV6;
        eh->ether_type = rte_cpu_to_be_16(n);
        return len;
    case JOP_ETH_RUNT:
        /* a 13-byte runt keeps the first EtherType byte: not IPv4's (8),
         * so that padding makes it an unknown type, not an IPv4 packet */
        eh->ether_type = RTE_BE16(0x88b5); /* local experimental */
        return (uint16_t)(1 + (r2 >> 16) % (L2_LEN - 1));
    case JOP_ARP: {
        struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
        uint64_t v[4] = { r, r2, rnd(f), rnd(f) };

        RTE_BUILD_BUG_ON(sizeof(*ah) > sizeof(v));
        memcpy(ah, v, sizeof(*ah));
        if (ah->arp_hardware == RTE_BE16(RTE_ARP_HRD_ETHER))
            ah->arp_hardware = 0;
        eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
        return (uint16_t)(L2_LEN + sizeof(*ah));
    }
    default:
        break;
    }

    /* a well-formed segment (maybe with bad flags, ports or offset) */
    tcp_fix(ip, th);
    ip_fix(ip);
    if (d->op == JOP_CSUM_TCP)
        th->cksum = csum_break(th->cksum, r2 >> 16);
    else if (d->op == JOP_CSUM_IP)
        ip->hdr_checksum = csum_break(ip->hdr_checksum, r2 >> 16);
    return len;
}

/* ---- API ---- */

struct pb_flood *
pb_flood_create(const struct pb_flood_conf *conf)
{
    struct pb_flood *f;
    uint64_t s, flows;
    unsigned k = 0;

    if (conf == NULL || conf->pool == NULL || conf->src_ip_count == 0 ||
        (uint64_t)rte_be_to_cpu_32(conf->src_ip) + conf->src_ip_count >
            (1ull << 32) ||
        conf->src_port_min > conf->src_port_max || conf->dst_port == 0 ||
        (conf->mode != PB_FLOOD_SYN && conf->mode != PB_FLOOD_JUNK) ||
        (conf->junk_mask != 0 &&
         (conf->junk_mask & (uint32_t)((1ull << PB_JUNK_KINDS) - 1)) == 0) ||
        rte_pktmbuf_data_room_size(conf->pool) <
            RTE_PKTMBUF_HEADROOM + FRAME_MAX) {
        rte_errno = EINVAL;
        return NULL;
    }
    f = rte_zmalloc("pb_flood", sizeof(*f), RTE_CACHE_LINE_SIZE);
    if (f == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    f->mode = conf->mode;
    f->pool = conf->pool;
    f->rate_pps = conf->rate_pps;
    f->offload = conf->tx_cksum_offload;
    f->dst_port = conf->dst_port;
    f->src_ip_base = rte_be_to_cpu_32(conf->src_ip);
    f->src_port_min = conf->src_port_min;
    f->ports = (uint32_t)conf->src_port_max - conf->src_port_min + 1;
    f->owner_lcore = LCORE_ID_ANY;

    s = conf->seed;
    f->rng = mix64(&s) | 1; /* xorshift state must not be 0 */
    flows = (uint64_t)conf->src_ip_count * f->ports;
    f->flow_n = flows;
    while (k < 63 && (1ull << k) < flows)
        k++;
    f->flow_mask = (1ull << k) - 1;
    f->flow_shift = k / 2 > 0 ? k / 2 : 1;
    f->flow_mul1 = mix64(&s) | 1;
    f->flow_mul2 = mix64(&s) | 1;
    f->flow_add = mix64(&s);
    f->flow_ctr = mix64(&s);

    for (unsigned i = 0; i < PB_JUNK_KINDS; i++)
        if (conf->junk_mask == 0 || (conf->junk_mask & (1u << i)))
            f->junk_order[f->junk_n++] = (uint8_t)i;

    tmpl_init(conf, f->syn_tmpl, MSS_OPT_LEN, F_SYN);
    tmpl_init(conf, f->junk_tmpl, 0, 0);
    syn_sums(f);
    return f;
}

void
pb_flood_free(struct pb_flood *f)
{
    rte_free(f);
}

/* Frames due now under the token bucket, at most max. */
static inline uint16_t
due(struct pb_flood *f, uint64_t now_ns, uint16_t max)
{
    uint64_t cap = (uint64_t)max * PB_NS_PER_S, n;

    if (f->rate_pps == 0)
        return max;
    if (!f->started) {
        f->started = true;
        f->last_ns = now_ns;
        return 0;
    }
    if (now_ns > f->last_ns) {
        uint64_t el = now_ns - f->last_ns;

        f->last_ns = now_ns;
        /* el * rate may overflow after a long pause: it fills the bucket
         * anyway */
        if (el > cap / f->rate_pps)
            f->credit = cap;
        else
            f->credit += el * f->rate_pps;
    }
    if (f->credit > cap)
        f->credit = cap;
    n = f->credit / PB_NS_PER_S;
    return (uint16_t)n;
}

uint16_t
pb_flood_fill(struct pb_flood *f, uint64_t now_ns, struct rte_mbuf **pkts,
              uint16_t max)
{
    uint16_t n, got;

    PT_HOT_ASSERT(f != NULL && (pkts != NULL || max == 0));
    PT_HOT_ASSERT_OWNER(&f->owner_lcore);
    n = due(f, now_ns, max);
    if (n == 0)
        return 0;
    /* rte_pktmbuf_alloc_bulk() is all or nothing: halve the burst until
     * the pool can give it */
    for (got = n; got > 0; got /= 2)
        if (rte_pktmbuf_alloc_bulk(f->pool, pkts, got) == 0)
            break;
    if (got < n)
        stat_add(&f->stats.no_mbuf, n - got);
    if (got == 0)
        return 0;
    if (f->rate_pps != 0)
        f->credit -= (uint64_t)got * PB_NS_PER_S;

    if (f->mode == PB_FLOOD_SYN) {
        for (uint16_t i = 0; i < got; i++)
            syn_build(f, pkts[i]);
    } else {
        for (uint16_t i = 0; i < got; i++) {
            unsigned k = f->junk_order[f->junk_next];
            uint16_t len;

            if (++f->junk_next == f->junk_n)
                f->junk_next = 0;
            len = junk_build(f, k, rte_pktmbuf_mtod(pkts[i], uint8_t *));
            pkts[i]->data_len = len;
            pkts[i]->pkt_len = len;
            stat_add(&f->stats.kind[k], 1);
        }
    }
    stat_add(&f->stats.built, got);
    return got;
}

const struct pb_flood_stats *
pb_flood_stats(const struct pb_flood *f)
{
    return &f->stats;
}

const char *
pb_flood_kind_name(unsigned kind)
{
    return kind < PB_JUNK_KINDS ? junk_names[kind] : "?";
}

const char *
pb_flood_kind_drop(unsigned kind)
{
    return kind < PB_JUNK_KINDS ? junk_drops[kind] : "?";
}

const char *
pb_flood_kind_help(unsigned kind)
{
    return kind < PB_JUNK_KINDS ? junk_helps[kind] : "?";
}
