/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pt_synflood: a bounded SYN flood for the integration tests.
 *
 *     pt_synflood [--src ADDR] DST_IP DST_PORT SECONDS [MAX_PACKETS]
 *
 * Sends TCP SYNs (MSS option, random source port, ISN and IP id) from a raw
 * socket with IP_HDRINCL, as fast as the socket takes them, until SECONDS
 * have passed or MAX_PACKETS have been sent, whichever comes first; then
 * prints how many it sent, the rate, and how many sends the kernel refused
 * (ENOBUFS/EAGAIN: a full device queue; those are retried, not counted as
 * sent). The source address is the one the kernel would use towards DST_IP,
 * or ADDR (which may be an address nobody owns: the SYN-ACKs then go
 * nowhere and the half-open connections stay half-open).
 *
 * What it is not: a general packet generator. It never completes a
 * handshake, never answers anything, and always stops by itself. Run it only
 * inside a test's own network namespace (`ip netns exec NS pt_synflood ...`);
 * it needs CAP_NET_RAW.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* IPv4 header, 20 bytes, no options; multi-byte fields big-endian. */
struct pt_flood_ip {
    uint8_t ver_ihl;     /* 0x45 */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    uint16_t frag;       /* DF */
    uint8_t ttl;
    uint8_t proto;       /* 6 = TCP */
    uint16_t csum;
    uint32_t src;
    uint32_t dst;
} __attribute__((packed));

/* TCP header with one MSS option, 24 bytes; big-endian. */
struct pt_flood_tcp {
    uint16_t sport;
    uint16_t dport;
    uint32_t seq;
    uint32_t ack;
    uint8_t doff;        /* data offset << 4: 6 words */
    uint8_t flags;       /* 0x02 = SYN */
    uint16_t win;
    uint16_t csum;
    uint16_t urg;
    uint8_t opt_kind;    /* 2 = MSS */
    uint8_t opt_len;     /* 4 */
    uint16_t opt_mss;
} __attribute__((packed));

struct pt_flood_pkt {
    struct pt_flood_ip ip;
    struct pt_flood_tcp tcp;
} __attribute__((packed));

static uint64_t rng_state;

/* xorshift64*: fast, good enough for ports and sequence numbers. */
static uint64_t
rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static uint32_t
csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (; len > 1; len -= 2, p += 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--src ADDR] DST_IP DST_PORT SECONDS [MAX_PACKETS]\n"
            "  sends SYNs with random source ports and ISNs until SECONDS "
            "pass or\n  MAX_PACKETS are sent; prints the count and the rate\n",
            prog);
}

/* The address the kernel would send from towards dst (no packet sent). */
static int
source_for(struct in_addr dst, struct in_addr *src)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9),
                              .sin_addr = dst };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    *src = sa.sin_addr;
    return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno || end == s || *end || s[0] == '-') ? -1 : 0;
}

int
main(int argc, char **argv)
{
    struct in_addr src = { 0 }, dst;
    uint64_t port, seconds, max_pkts = UINT64_MAX, sent = 0, refused = 0;
    struct sockaddr_in to = { .sin_family = AF_INET };
    struct pt_flood_pkt pkt;
    uint32_t pseudo;
    double t0, t_end, elapsed;
    int argi = 1, one = 1, fd;

    if (argc > 2 && strcmp(argv[1], "--src") == 0) {
        if (inet_pton(AF_INET, argv[2], &src) != 1) {
            fprintf(stderr, "bad --src address '%s'\n", argv[2]);
            return 2;
        }
        argi = 3;
    }
    if (argc - argi < 3 || argc - argi > 4) {
        usage(argv[0]);
        return 2;
    }
    if (inet_pton(AF_INET, argv[argi], &dst) != 1 ||
        parse_u64(argv[argi + 1], &port) < 0 || port == 0 || port > 65535 ||
        parse_u64(argv[argi + 2], &seconds) < 0 || seconds == 0 ||
        seconds > 3600 ||
        (argc - argi == 4 &&
         (parse_u64(argv[argi + 3], &max_pkts) < 0 || max_pkts == 0))) {
        usage(argv[0]);
        return 2;
    }
    if (src.s_addr == 0 && source_for(dst, &src) < 0) {
        perror("no route to the destination");
        return 1;
    }

    fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        perror("socket(AF_INET, SOCK_RAW) (needs CAP_NET_RAW)");
        return 1;
    }
    if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
        perror("setsockopt(IP_HDRINCL)");
        close(fd);
        return 1;
    }
    to.sin_addr = dst;

    rng_state = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() ^
                0x9e3779b97f4a7c15ULL;
    memset(&pkt, 0, sizeof(pkt));
    pkt.ip.ver_ihl = 0x45;
    pkt.ip.total_len = htons(sizeof(pkt));
    pkt.ip.frag = htons(0x4000);
    pkt.ip.ttl = 64;
    pkt.ip.proto = IPPROTO_TCP;
    pkt.ip.src = src.s_addr;
    pkt.ip.dst = dst.s_addr;
    pkt.tcp.dport = htons((uint16_t)port);
    pkt.tcp.doff = 6 << 4;
    pkt.tcp.flags = 0x02;
    pkt.tcp.win = htons(64240);
    pkt.tcp.opt_kind = 2;
    pkt.tcp.opt_len = 4;
    pkt.tcp.opt_mss = htons(1460);
    /* pseudo header: addresses, protocol, TCP length */
    pseudo = csum_add(0, &pkt.ip.src, 8) + IPPROTO_TCP + sizeof(pkt.tcp);

    t0 = now_s();
    t_end = t0 + (double)seconds;
    while (sent < max_pkts) {
        uint64_t r = rng_next();

        if ((sent + refused) % 256 == 0 && now_s() >= t_end)
            break;
        pkt.ip.id = (uint16_t)r;
        pkt.ip.csum = 0;
        pkt.ip.csum = csum_fold(csum_add(0, &pkt.ip, sizeof(pkt.ip)));
        pkt.tcp.sport = htons((uint16_t)(1024 + (r >> 16) % 64512));
        pkt.tcp.seq = (uint32_t)(r >> 32);
        pkt.tcp.csum = 0;
        pkt.tcp.csum = csum_fold(csum_add(pseudo, &pkt.tcp, sizeof(pkt.tcp)));
        if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
                   sizeof(to)) == (ssize_t)sizeof(pkt)) {
            sent++;
        } else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
            refused++; /* device queue full: try again */
        } else {
            perror("sendto");
            close(fd);
            return 1;
        }
    }
    elapsed = now_s() - t0;
    close(fd);
    printf("sent %" PRIu64 " SYNs in %.3f s: %.0f pps (%" PRIu64
           " sends refused: queue full)\n",
           sent, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0, refused);
    return 0;
}
