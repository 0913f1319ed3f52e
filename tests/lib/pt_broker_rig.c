/* SPDX-License-Identifier: BSD-3-Clause */
/* The in-process broker rig for tests (see pt_broker_rig.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <petrel/mqtt_wire.h>
#include <petrel/net.h>

#include "pt_broker_rig.h"
#include "pt_test.h"

#define RIG_PEER_PORT 40000
#define RIG_SEG_MAX 1400       /* payload per forged segment */
#define RIG_POLL_MAX 100000    /* rounds before rig_poll calls it a livelock */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct rig_core {
    struct rig *rig;
    unsigned idx;
    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_mqtt_core *mc;
};

struct rig {
    struct pt_config cfg;          /* the broker keeps a pointer to it */
    unsigned n;
    uint64_t now;
    struct pt_broker *broker;
    bool ctl;
    struct rig_core cores[RIG_CORES_MAX];
    struct rig_client *clients[RIG_CLIENTS_MAX];
    unsigned n_clients;
    uint8_t frame[2048];           /* forging */
    uint8_t seen[2048];            /* reading what a core sent */
};

void
rig_config_defaults(struct pt_config *cfg)
{
    pt_config_defaults(cfg);
    /* the defaults size everything for 65536 connections per core: far
     * more than the test EAL's 128 MB. The node-wide session and queue
     * entry pools keep a 256-entry per-lcore cache, which DPDK refuses
     * below 384 entries. */
    cfg->tcp_max_conns = 256;
    cfg->tcp_time_wait_max = 256;
    cfg->tcp_delayed_ack_ms = 0;
    cfg->mqtt_max_sessions = 512;
    cfg->mqtt_max_subscriptions = 512;
    cfg->mqtt_queue_entries = 1024;
    cfg->mqtt_max_routes = 512;
    cfg->mqtt_max_retained = 64;
    cfg->mqtt_ring_size = 1024;
    cfg->mqtt_sys_interval_s = 0;
    cfg->mqtt_allow_anonymous = true; /* tests of access control turn it off */
    cfg->metrics_port = 0;
}

/* ---- the peer: what the cores send ---- */

static struct rig_client *
client_of(struct rig *rig, unsigned core, uint16_t port)
{
    for (unsigned i = 0; i < rig->n_clients; i++) {
        struct rig_client *c = rig->clients[i];

        if (c->core == core && c->port == port)
            return c;
    }
    return NULL;
}

static void
rx_append(struct rig_client *c, const uint8_t *p, size_t n)
{
    if (c->rx_off == c->rx_len)
        c->rx_off = c->rx_len = 0;
    if (c->rx_len + n > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        uint8_t *nb;

        while (cap < c->rx_len + n)
            cap *= 2;
        nb = realloc(c->rx, cap);
        if (nb == NULL) {
            fprintf(stderr, "rig: out of memory\n");
            abort();
        }
        c->rx = nb;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, p, n);
    c->rx_len += n;
}

/* One frame a core sent: learn the peer's side of it. */
static void
observe(struct rig_core *rc, const struct rte_mbuf *m)
{
    struct rig *rig = rc->rig;
    const struct rte_ipv4_hdr *ip = (const void *)(rig->seen + 14);
    const struct rte_tcp_hdr *th = (const void *)(rig->seen + 34);
    uint32_t len = rte_pktmbuf_pkt_len(m), hl, plen, seq;
    struct rig_client *c;
    int32_t d;

    if (len < PT_TEST_TCP_HDRS || len > sizeof(rig->seen))
        return;
    pt_test_read(m, rig->seen, sizeof(rig->seen));
    if (ip->next_proto_id != IPPROTO_TCP)
        return;
    c = client_of(rig, rc->idx, rte_be_to_cpu_16(th->dst_port));
    if (c == NULL)
        return;
    hl = (uint32_t)(th->data_off >> 4) * 4;
    plen = rte_be_to_cpu_16(ip->total_length) - 20 - hl;
    seq = rte_be_to_cpu_32(th->sent_seq);
    if (th->tcp_flags & TH_RST) {
        c->rst_rcvd = true;
        return;
    }
    if ((th->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
        if (!c->established) {
            c->rcv_nxt = seq + 1;
            c->established = true;
        }
        return;
    }
    if (th->tcp_flags & TH_ACK) {
        uint32_t ack = rte_be_to_cpu_32(th->recv_ack);

        if ((int32_t)(ack - c->acked) > 0 || c->acked == 0)
            c->acked = ack;
    }
    d = (int32_t)(seq - c->rcv_nxt);
    if (plen > 0) {
        c->ack_due = true;
        if (d > 0) {
            c->gaps++;                          /* past a hole: dropped */
            return;
        }
        if ((uint32_t)-d < plen) {
            rx_append(c, rig->seen + 34 + hl + (uint32_t)-d,
                      plen - (uint32_t)-d);
            c->rcv_nxt += plen - (uint32_t)-d;
        }
    }
    if ((th->tcp_flags & TH_FIN) && seq + plen == c->rcv_nxt &&
        !c->fin_rcvd) {
        c->rcv_nxt++;
        c->fin_rcvd = true;
        c->ack_due = true;
    }
}

/* The emulated driver: read every frame, free it, as a TX completion. */
static uint16_t
rig_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct rig_core *rc = ctx;

    for (uint16_t i = 0; i < n; i++) {
        observe(rc, pkts[i]);
        rte_pktmbuf_free(pkts[i]);
    }
    return n;
}

/* ---- the peer: what the clients send ---- */

static void
inject(struct rig_client *c, uint8_t flags, const uint8_t *payload,
       size_t plen)
{
    static const uint8_t mss_opt[4] = { 2, 4, 1460 >> 8, 1460 & 0xff };
    struct rig *rig = c->rig;
    struct rig_core *rc = &rig->cores[c->core];
    struct pt_test_tcp seg = {
        .eth_dst = &pt_test_our_mac,
        .src = PT_TEST_PEER_IP,
        .dst = PT_TEST_OUR_IP,
        .ip_id = 1,
        .sport = c->port,
        .dport = RIG_PORT,
        .seq = c->snd_nxt,
        .ack = !(flags & TH_ACK) ? 0 : c->frozen ? c->frozen_ack
                                                 : c->rcv_nxt,
        .flags = flags,
        .win = 65535,
        .opts = mss_opt,
        .optlen = (flags & TH_SYN) ? sizeof(mss_opt) : 0,
        .payload = payload,
        .plen = plen,
    };
    size_t len = pt_test_tcp_frame(rig->frame, &seg);
    struct rte_mbuf *m = rte_pktmbuf_alloc(pt_test_pool());

    if (m == NULL) {
        fprintf(stderr, "rig: test pool empty: segment not sent\n");
        return;
    }
    memcpy(rte_pktmbuf_append(m, (uint16_t)len), rig->frame, len);
    c->snd_nxt += (uint32_t)plen + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
    if ((flags & TH_ACK) && !c->frozen)
        c->ack_due = false;
    pt_net_input(rc->net, &m, 1, rig->now);
    pt_net_flush(rc->net);
}

struct rig_client *
rig_client_open(struct rig *rig, unsigned core)
{
    struct rig_client *c;

    if (core >= rig->n || rig->n_clients == RIG_CLIENTS_MAX)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->rig = rig;
    c->core = core;
    c->port = (uint16_t)(RIG_PEER_PORT + rig->n_clients);
    c->snd_nxt = 1000000u * (rig->n_clients + 1);
    rig->clients[rig->n_clients++] = c;
    inject(c, TH_SYN, NULL, 0);
    if (!c->established)
        return NULL;        /* the rig keeps and frees it */
    inject(c, TH_ACK, NULL, 0);
    return c;
}

void
rig_send(struct rig_client *c, const void *bytes, size_t len)
{
    const uint8_t *p = bytes;

    if (c->fin_sent || c->rst_sent)
        return;
    while (len > 0) {
        size_t n = len < RIG_SEG_MAX ? len : RIG_SEG_MAX;

        inject(c, TH_ACK | TH_PSH, p, n);
        p += n;
        len -= n;
    }
}

void
rig_client_freeze(struct rig_client *c, bool frozen)
{
    c->frozen = frozen;
    c->frozen_ack = c->rcv_nxt;
    if (!frozen)
        c->ack_due = true;
}

void
rig_client_close(struct rig_client *c)
{
    if (c->fin_sent || c->rst_sent)
        return;
    c->fin_sent = true;
    inject(c, TH_ACK | TH_FIN, NULL, 0);
}

void
rig_client_reset(struct rig_client *c)
{
    if (c->rst_sent)
        return;
    c->rst_sent = true;
    inject(c, TH_RST | TH_ACK, NULL, 0);
}

/* ACK what the broker sent; answer its FIN with ours. */
static unsigned
clients_answer(struct rig *rig)
{
    unsigned sent = 0;

    for (unsigned i = 0; i < rig->n_clients; i++) {
        struct rig_client *c = rig->clients[i];

        if (!c->established || c->rst_sent || c->rst_rcvd) {
            c->ack_due = false;
            continue;
        }
        if (c->frozen)
            continue;
        if (c->fin_rcvd && !c->fin_sent) {
            c->fin_sent = true;
            inject(c, TH_ACK | TH_FIN, NULL, 0);
            sent++;
        } else if (c->ack_due) {
            inject(c, TH_ACK, NULL, 0);
            sent++;
        }
    }
    return sent;
}

/* ---- MQTT stream ---- */

size_t
rig_pending(const struct rig_client *c)
{
    return c->rx_len - c->rx_off;
}

size_t
rig_recv_packet(struct rig_client *c, uint8_t *buf, size_t cap)
{
    size_t avail = rig_pending(c), hl = 1, rem = 0, total;
    const uint8_t *p;
    unsigned shift = 0;

    if (avail < 2)
        return 0;
    p = c->rx + c->rx_off;
    for (;;) {
        if (hl >= avail)
            return 0;
        rem |= (size_t)(p[hl] & 0x7f) << shift;
        shift += 7;
        if ((p[hl++] & 0x80) == 0)
            break;
        if (hl == 5)
            return 0;       /* not MQTT: a test will see nothing come */
    }
    total = hl + rem;
    if (total > avail)
        return 0;
    memcpy(buf, p, total < cap ? total : cap);
    c->rx_off += total;
    return total;
}

static size_t
put_str(uint8_t *p, const void *s, size_t len)
{
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return 2 + len;
}

/* Fixed header + body already written at buf + 5: move it into place. */
static size_t
finish(uint8_t *buf, uint8_t first, size_t body)
{
    uint8_t hdr[5];
    size_t hl = 1;
    size_t rem = body;

    hdr[0] = first;
    do {
        hdr[hl] = (uint8_t)(rem & 0x7f);
        rem >>= 7;
        if (rem)
            hdr[hl] |= 0x80;
        hl++;
    } while (rem);
    memmove(buf + hl, buf + 5, body);
    memcpy(buf, hdr, hl);
    return hl + body;
}

size_t
rig_pkt_connect(uint8_t *buf, const struct rig_connect *c)
{
    uint8_t *p = buf + 5;
    uint8_t flags = 0;
    size_t n = 0;

    if (c->clean)
        flags |= PT_MQTT_CF_CLEAN;
    if (c->will_topic != NULL)
        flags |= PT_MQTT_CF_WILL | (uint8_t)(c->will_qos << 3) |
                 (c->will_retain ? PT_MQTT_CF_WILL_RETAIN : 0);
    if (c->username != NULL)
        flags |= PT_MQTT_CF_USERNAME;
    if (c->password != NULL)
        flags |= PT_MQTT_CF_PASSWORD;
    n += put_str(p + n, "MQTT", 4);
    p[n++] = PT_MQTT_PROTO_LEVEL;
    p[n++] = flags;
    p[n++] = (uint8_t)(c->keepalive >> 8);
    p[n++] = (uint8_t)c->keepalive;
    n += put_str(p + n, c->client_id, strlen(c->client_id));
    if (c->will_topic != NULL) {
        n += put_str(p + n, c->will_topic, strlen(c->will_topic));
        n += put_str(p + n, c->will_msg, c->will_len);
    }
    if (c->username != NULL)
        n += put_str(p + n, c->username, strlen(c->username));
    if (c->password != NULL)
        n += put_str(p + n, c->password, strlen(c->password));
    return finish(buf, PT_MQTT_T_CONNECT << 4, n);
}

size_t
rig_pkt_subscribe(uint8_t *buf, uint16_t pid, const char *filter,
                  uint8_t qos)
{
    uint8_t *p = buf + 5;
    size_t n = 0;

    p[n++] = (uint8_t)(pid >> 8);
    p[n++] = (uint8_t)pid;
    n += put_str(p + n, filter, strlen(filter));
    p[n++] = qos;
    return finish(buf, PT_MQTT_T_SUBSCRIBE << 4 | 0x2, n);
}

size_t
rig_pkt_unsubscribe(uint8_t *buf, uint16_t pid, const char *filter)
{
    uint8_t *p = buf + 5;
    size_t n = 0;

    p[n++] = (uint8_t)(pid >> 8);
    p[n++] = (uint8_t)pid;
    n += put_str(p + n, filter, strlen(filter));
    return finish(buf, PT_MQTT_T_UNSUBSCRIBE << 4 | 0x2, n);
}

size_t
rig_pkt_publish(uint8_t *buf, const char *topic, const void *payload,
                size_t plen, uint8_t qos, bool retain, bool dup,
                uint16_t pid)
{
    uint8_t *p = buf + 5;
    size_t n = put_str(p, topic, strlen(topic));

    if (qos > 0) {
        p[n++] = (uint8_t)(pid >> 8);
        p[n++] = (uint8_t)pid;
    }
    if (plen > 0)
        memcpy(p + n, payload, plen);
    n += plen;
    return finish(buf, (uint8_t)(PT_MQTT_T_PUBLISH << 4 | qos << 1 |
                                 (retain ? PT_MQTT_PUB_RETAIN : 0) |
                                 (dup ? PT_MQTT_PUB_DUP : 0)), n);
}

size_t
rig_pkt_ack(uint8_t *buf, uint8_t type, uint16_t pid)
{
    buf[0] = (uint8_t)(type << 4 | (type == PT_MQTT_T_PUBREL ? 0x2 : 0));
    buf[1] = 2;
    buf[2] = (uint8_t)(pid >> 8);
    buf[3] = (uint8_t)pid;
    return 4;
}

size_t
rig_pkt_pingreq(uint8_t *buf)
{
    buf[0] = PT_MQTT_T_PINGREQ << 4;
    buf[1] = 0;
    return 2;
}

size_t
rig_pkt_disconnect(uint8_t *buf)
{
    buf[0] = PT_MQTT_T_DISCONNECT << 4;
    buf[1] = 0;
    return 2;
}

int
rig_parse_publish(const uint8_t *pkt, size_t len, struct rig_publish *p)
{
    size_t hl = 1, rem = 0, off;
    unsigned shift = 0;

    if (len < 2 || pkt[0] >> 4 != PT_MQTT_T_PUBLISH)
        return -1;
    do {
        if (hl >= len || hl == 5)
            return -1;
        rem |= (size_t)(pkt[hl] & 0x7f) << shift;
        shift += 7;
    } while (pkt[hl++] & 0x80);
    if (hl + rem != len || rem < 2)
        return -1;
    memset(p, 0, sizeof(*p));
    p->qos = (pkt[0] >> 1) & 3;
    p->retain = pkt[0] & PT_MQTT_PUB_RETAIN;
    p->dup = pkt[0] & PT_MQTT_PUB_DUP;
    p->topic_len = (uint16_t)(pkt[hl] << 8 | pkt[hl + 1]);
    off = hl + 2 + p->topic_len;
    if (p->qos == 3 || off + (p->qos ? 2 : 0) > len)
        return -1;
    p->topic = (const char *)pkt + hl + 2;
    if (p->qos) {
        p->pid = (uint16_t)(pkt[off] << 8 | pkt[off + 1]);
        off += 2;
    }
    p->payload = pkt + off;
    p->payload_len = len - off;
    return 0;
}

/* ---- the broker ---- */

struct rig *
rig_create(unsigned n_cores, const struct pt_config *cfg)
{
    static const uint8_t secret[16] = "petrel-rig-1234";
    struct rig *rig;

    if (pt_test_eal_init() != 0 || n_cores == 0 || n_cores > RIG_CORES_MAX)
        return NULL;
    rig = calloc(1, sizeof(*rig));
    if (rig == NULL)
        return NULL;
    if (cfg != NULL)
        rig->cfg = *cfg;
    else
        rig_config_defaults(&rig->cfg);
    rig->n = n_cores;
    rig->now = RIG_T0_NS;
    for (unsigned i = 0; i < n_cores; i++) {
        struct rig_core *rc = &rig->cores[i];
        struct pt_net_conf nc;
        struct pt_tcp_conf tc;

        rc->rig = rig;
        rc->idx = i;
        pt_test_net_conf(&nc, rig_tx, rc);
        rc->net = pt_net_create(&nc);
        if (rc->net == NULL) {
            fprintf(stderr, "rig: pt_net_create failed\n");
            goto fail;
        }
        pt_tcp_conf_from_config(&tc, &rig->cfg);
        tc.net = rc->net;
        tc.now_ns = rig->now;
        tc.secret = secret;
        tc.socket_id = SOCKET_ID_ANY;
        rc->tcp = pt_tcp_create(&tc);
        if (rc->tcp == NULL) {
            fprintf(stderr, "rig: pt_tcp_create failed\n");
            goto fail;
        }
    }
    rig->broker = pt_broker_create(&rig->cfg, n_cores, pt_test_pool(),
                                   SOCKET_ID_ANY);
    if (rig->broker == NULL) {
        fprintf(stderr, "rig: pt_broker_create failed\n");
        goto fail;
    }
    if (pt_broker_ctl_attach(rig->broker) != 0) {
        fprintf(stderr, "rig: pt_broker_ctl_attach failed\n");
        goto fail;
    }
    rig->ctl = true;
    for (unsigned i = 0; i < n_cores; i++) {
        struct rig_core *rc = &rig->cores[i];

        rc->mc = pt_mqtt_core_create(rig->broker, i, rc->tcp, pt_test_pool(),
                                     rig->now, SOCKET_ID_ANY);
        if (rc->mc == NULL) {
            fprintf(stderr, "rig: pt_mqtt_core_create failed\n");
            goto fail;
        }
    }
    return rig;

fail:
    rig_destroy(rig, NULL);
    return NULL;
}

static unsigned
pool_in_use(const char *name)
{
    struct rte_mempool *mp = rte_mempool_lookup(name);

    return mp != NULL ? rte_mempool_in_use_count(mp) : 0;
}

void
rig_destroy(struct rig *rig, struct rig_leaks *leaks)
{
    struct rig_leaks l = { 0 };

    if (rig == NULL)
        return;
    /* as pt_dp_destroy: TCP first (its `closed` callbacks still reach the
     * MQTT core), then the core */
    for (unsigned i = 0; i < rig->n; i++) {
        struct rig_core *rc = &rig->cores[i];

        if (rc->tcp != NULL) {
            pt_tcp_free(rc->tcp);
            rc->tcp = NULL;
            pt_net_flush(rc->net);
        }
        if (rc->mc != NULL) {
            l.queued += pt_mqtt_core_stats(rc->mc)->queued;
            pt_mqtt_core_free(rc->mc);
            rc->mc = NULL;
        }
    }
    if (rig->ctl)
        pt_broker_ctl_detach(rig->broker);
    if (rig->broker != NULL) {
        l.sessions = pool_in_use("pt_mqtt_sessions");
        l.qents = pool_in_use("pt_mqtt_qents");
        pt_broker_free(rig->broker);
    }
    for (unsigned i = 0; i < rig->n; i++)
        pt_net_free(rig->cores[i].net);
    for (unsigned i = 0; i < rig->n_clients; i++) {
        free(rig->clients[i]->rx);
        free(rig->clients[i]);
    }
    free(rig);
    l.mbufs = rte_mempool_in_use_count(pt_test_pool());
    if (leaks != NULL)
        *leaks = l;
}

/* ---- driving ---- */

unsigned
rig_poll_core(struct rig *rig, unsigned core)
{
    struct rig_core *rc = &rig->cores[core];
    unsigned n = pt_mqtt_core_poll(rc->mc, rig->now);

    pt_tcp_tick(rc->tcp, rig->now);
    pt_net_flush(rc->net);
    return n;
}

unsigned
rig_poll_ctl(struct rig *rig)
{
    return pt_broker_ctl_poll(rig->broker, rig->now);
}

unsigned
rig_step(struct rig *rig)
{
    unsigned n = 0;

    for (unsigned i = 0; i < rig->n; i++)
        n += rig_poll_core(rig, i);
    n += rig_poll_ctl(rig);
    n += clients_answer(rig);
    return n;
}

unsigned
rig_poll(struct rig *rig)
{
    unsigned rounds = 0, quiet = 0;

    while (quiet < 3) {
        quiet = rig_step(rig) != 0 ? 0 : quiet + 1;
        if (++rounds == RIG_POLL_MAX) {
            fprintf(stderr, "rig: still busy after %u rounds\n", rounds);
            abort();
        }
    }
    return rounds;
}

void
rig_advance(struct rig *rig, uint64_t ms)
{
    rig->now += ms * 1000000u;
    rig_poll(rig);
}

uint64_t
rig_now(const struct rig *rig)
{
    return rig->now;
}

struct pt_broker *
rig_broker(struct rig *rig)
{
    return rig->broker;
}

struct pt_mqtt_core *
rig_core(struct rig *rig, unsigned core)
{
    return rig->cores[core].mc;
}

struct pt_tcp *
rig_tcp(struct rig *rig, unsigned core)
{
    return rig->cores[core].tcp;
}

const struct pt_mqtt_stats *
rig_stats(struct rig *rig, unsigned core)
{
    return pt_mqtt_core_stats(rig->cores[core].mc);
}

uint64_t
rig_count(struct rig *rig, enum pt_mqtt_counter c)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < rig->n; i++)
        sum += rig_stats(rig, i)->c[c];
    return sum;
}
