/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the MQTT broker as a whole: the broker rig
 * (tests/lib/pt_broker_rig.h) with 2 dataplane cores and the control
 * half, and four client slots (slot k talks to core k % 2) whose TCP
 * byte streams come from the input. Sessions, subscriptions, QoS 1/2
 * flows, retained messages, wills, takeovers across cores, keep-alive
 * and every way the codec or the session can refuse are in reach; the
 * seeds in tests/fuzz/corpus_broker/ (tests/fuzz/make_corpus_broker.py)
 * are valid sessions to start from.
 *
 * Input: byte 0 settings (bits 0-1 mqtt.max_inflight 32/1/2/4, bit 2
 * mqtt.max_queued 2, bit 3 mqtt.max_retained 1, bit 4 small output
 * queues: tcp.snd_buf 1460 and mqtt.max_packet 512, so a connection's
 * queue fills and deliveries wait in flight unsent; bit 5 content rules:
 * FZ_RULES, so PUBLISH payloads and topics from the input go through
 * Hyperscan and every action), then records:
 *   op < 0xc0   data: slot = op & 3, then a length byte n and n bytes
 *               sent as TCP data on the slot's connection; then a full
 *               rig_poll, unless op & 0x04 (the next record comes while
 *               rings and the control plane still hold work)
 *   op >= 0xc0  control, slot = op & 3, kind = (op >> 2) & 0xf:
 *               0 reset the slot's connection (RST) and open a new one
 *               1 close it (FIN) and open a new one
 *               2 advance the clock by (next byte) x 100 ms
 *               3 one rig_step (cores, control plane, ACKs once)
 *               4 poll the slot's core only
 *               5 poll the control plane only
 *               else a full rig_poll
 *
 * Checked on every input, besides ASan/UBSan and the rig's own livelock
 * abort:
 *   - what the broker sends each connection is an in-order byte stream
 *     (no segment past a hole) of server-to-client MQTT packets: valid
 *     remaining lengths, types CONNACK PUBLISH PUBACK PUBREC PUBREL
 *     PUBCOMP SUBACK UNSUBACK PINGRESP only, their fixed flags, a
 *     well-formed PUBLISH, at most one CONNACK and first;
 *   - every connection still open had each of its requests answered
 *     (fz_check_answers; FUZZ_BROKER_NO_ANSWERS=1 turns this off);
 *   - then every client id a connection opened with (its first packet,
 *     if a persistent CONNECT the codec accepts) connects once more with
 *     a clean session (CONNACK 0, session present 0) and disconnects,
 *     after which no core may hold an offline session (sessions ==
 *     connected);
 *   - after the rig's tear-down no mbuf of the test pool, no session and
 *     no queue entry is in use, and the DPDK heap holds what it held
 *     after the previous input.
 * Any violation abort()s, which libFuzzer reports as a crash.
 *
 * Built only with clang (meson option `fuzz`); the suite runs it for a
 * bounded number of inputs from the seed corpus.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_mempool.h>

#include <petrel/mqtt.h>

#include "pt_broker_rig.h"
#include "pt_test.h"

#define FZ_SLOTS 4
#define FZ_CORES 2
#define FZ_SENT 2048            /* bytes of a client's stream kept */
#define FZ_CIDS 48              /* client ids cleaned up at the end */
#define FZ_CID_MAX 128          /* longest client id a session keeps */
#define FZ_CONNS (RIG_CLIENTS_MAX - FZ_CIDS)
#define FZ_CLOCK_MAX_MS 600000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One client connection of the input. */
struct fz_conn {
    struct rig_client *c;
    uint8_t sent[FZ_SENT];     /* what it sent (the start of it) */
    size_t sent_len;
    bool sent_cut;             /* it sent more than that */
    bool connack;              /* a CONNACK came */
    bool accepted;             /* ... with return code 0 */
    bool other;                /* another packet came */
    unsigned got[16];          /* packets received, by type */
};

static struct {
    struct rig *rig;
    struct fz_conn conns[RIG_CLIENTS_MAX];
    unsigned n_conns;
    int slot[FZ_SLOTS];        /* index in conns, -1: none */
    char cid[FZ_CIDS][FZ_CID_MAX];
    uint16_t cid_len[FZ_CIDS];
    unsigned n_cid;
    bool cids_lost;            /* an id not kept: no strict check */
    uint32_t clock_ms;
} fz;

static void
fz_fail(const char *what, const struct rig_client *c)
{
    fprintf(stderr, "fuzz_broker: invariant broken: %s", what);
    if (c != NULL)
        fprintf(stderr, " (client port %u, core %u)", c->port, c->core);
    fprintf(stderr, "\n");
    abort();
}

/* ---- what the broker sent ---- */

/* Fixed header length of a complete packet. */
static size_t
fz_hdr_len(const uint8_t *pkt)
{
    size_t hl = 1;

    while (hl < 5 && (pkt[hl] & 0x80))
        hl++;
    return hl + 1;
}

/* Check the packets of k's stream not yet checked. */
static void
fz_check_stream(struct fz_conn *k)
{
    struct rig_client *c = k->c;
    static uint8_t pkt[1 << 17];
    size_t n;

    if (c->gaps != 0)
        fz_fail("the broker sent a segment past a hole", c);
    while ((n = rig_recv_packet(c, pkt, sizeof(pkt))) > 0) {
        uint8_t type = pkt[0] >> 4, flags = pkt[0] & 0xf;

        if (n > sizeof(pkt))
            fz_fail("a packet larger than the broker may send", c);
        k->got[type]++;
        switch (type) {
        case PT_MQTT_T_CONNACK:
            if (k->connack || k->other || n != 4 || flags != 0 ||
                pkt[1] != 2 || pkt[2] > 1 || pkt[3] > 5 ||
                (pkt[3] != 0 && pkt[2] != 0))
                fz_fail("bad or misplaced CONNACK", c);
            k->connack = true;
            k->accepted = pkt[3] == 0;
            break;
        case PT_MQTT_T_PUBLISH: {
            struct rig_publish p;

            if (rig_parse_publish(pkt, n, &p) != 0)
                fz_fail("malformed PUBLISH", c);
            if (pt_mqtt_topic_check(p.topic, p.topic_len) != PT_MQTT_OK ||
                (p.qos > 0 && p.pid == 0) || (p.qos == 0 && p.dup))
                fz_fail("PUBLISH with a bad topic, packet id or DUP", c);
            k->other = true;
            break;
        }
        case PT_MQTT_T_PUBACK:
        case PT_MQTT_T_PUBREC:
        case PT_MQTT_T_PUBREL:
        case PT_MQTT_T_PUBCOMP:
        case PT_MQTT_T_UNSUBACK:
            if (n != 4 || pkt[1] != 2 ||
                flags != (type == PT_MQTT_T_PUBREL ? 2 : 0) ||
                (pkt[2] == 0 && pkt[3] == 0))
                fz_fail("bad acknowledgement", c);
            k->other = true;
            break;
        case PT_MQTT_T_SUBACK:
            if (flags != 0 || n < 5 + fz_hdr_len(pkt) - 2)
                fz_fail("bad SUBACK", c);
            for (size_t i = fz_hdr_len(pkt) + 2; i < n; i++)
                if (pkt[i] > 2 && pkt[i] != 0x80)
                    fz_fail("SUBACK with a bad return code", c);
            k->other = true;
            break;
        case PT_MQTT_T_PINGRESP:
            if (n != 2 || flags != 0)
                fz_fail("bad PINGRESP", c);
            k->other = true;
            break;
        default:
            fz_fail("a packet type the server never sends", c);
        }
        if (k->other && !k->connack)
            fz_fail("a packet before CONNACK", c);
    }
    if (rig_pending(c) >= 5 &&
        (c->rx[c->rx_off + 1] & c->rx[c->rx_off + 2] &
         c->rx[c->rx_off + 3] & c->rx[c->rx_off + 4] & 0x80))
        fz_fail("remaining length longer than 4 bytes", c);
}

/* Every request of a connection that is still open was answered: what
 * it sent parses into packets the codec accepts (else the broker would
 * have closed it), and each QoS 1/2 PUBLISH, PUBREL, SUBSCRIBE,
 * UNSUBSCRIBE and PINGREQ got its answer, each PUBREC a PUBREL (at least:
 * a resumed session resends PUBRELs). Not checked where the broker was
 * out of mbufs, queue entries or ring room (it may then leave a PUBLISH
 * unanswered for the client to resend). */
static void
fz_check_answers(const struct fz_conn *k, bool short_of_resources)
{
    static uint8_t scratch[4096];
    const struct rig_client *c = k->c;
    unsigned want[16] = { 0 }, rec = 0;
    struct rte_mbuf *m;
    uint32_t off = 0;

    if (!k->accepted || k->sent_cut || short_of_resources || c->fin_rcvd ||
        c->rst_rcvd || c->fin_sent || c->rst_sent)
        return;
    m = pt_test_mbuf(k->sent, k->sent_len, 1024);
    while (off < m->pkt_len) {
        struct pt_mqtt_frame f;
        struct pt_mqtt_packet p;
        int n = pt_mqtt_frame(m, off, m->pkt_len - off, 65536, &f);

        if (n == 0)
            break;
        if (n < 0 ||
            pt_mqtt_parse(m, &f, scratch, sizeof(scratch), &p) != PT_MQTT_OK)
            fz_fail("a connection that sent a malformed packet is open", c);
        switch (p.type) {
        case PT_MQTT_T_PUBLISH:
            if (p.u.publish.qos == 1)
                want[PT_MQTT_T_PUBACK]++;
            else if (p.u.publish.qos == 2)
                want[PT_MQTT_T_PUBREC]++;
            break;
        case PT_MQTT_T_PUBREL:
            want[PT_MQTT_T_PUBCOMP]++;
            break;
        case PT_MQTT_T_PUBREC:
            rec++;
            break;
        case PT_MQTT_T_SUBSCRIBE:
            want[PT_MQTT_T_SUBACK]++;
            break;
        case PT_MQTT_T_UNSUBSCRIBE:
            want[PT_MQTT_T_UNSUBACK]++;
            break;
        case PT_MQTT_T_PINGREQ:
            want[PT_MQTT_T_PINGRESP]++;
            break;
        default:
            break;
        }
        off += (uint32_t)n;
    }
    rte_pktmbuf_free(m);
    if (k->got[PT_MQTT_T_PUBACK] != want[PT_MQTT_T_PUBACK])
        fz_fail("PUBACKs not one per QoS 1 PUBLISH", c);
    if (k->got[PT_MQTT_T_PUBREC] != want[PT_MQTT_T_PUBREC])
        fz_fail("PUBRECs not one per QoS 2 PUBLISH", c);
    if (k->got[PT_MQTT_T_PUBCOMP] != want[PT_MQTT_T_PUBCOMP])
        fz_fail("PUBCOMPs not one per PUBREL", c);
    if (k->got[PT_MQTT_T_SUBACK] != want[PT_MQTT_T_SUBACK])
        fz_fail("SUBACKs not one per SUBSCRIBE", c);
    if (k->got[PT_MQTT_T_UNSUBACK] != want[PT_MQTT_T_UNSUBACK])
        fz_fail("UNSUBACKs not one per UNSUBSCRIBE", c);
    if (k->got[PT_MQTT_T_PINGRESP] != want[PT_MQTT_T_PINGRESP])
        fz_fail("PINGRESPs not one per PINGREQ", c);
    if (k->got[PT_MQTT_T_PUBREL] < rec)
        fz_fail("a PUBREC without PUBREL", c);
}

/* ---- client ids the input used ---- */

static void
fz_note_cid(const char *p, uint16_t len)
{
    for (unsigned i = 0; i < fz.n_cid; i++)
        if (fz.cid_len[i] == len && memcmp(fz.cid[i], p, len) == 0)
            return;
    if (fz.n_cid == FZ_CIDS) {
        fz.cids_lost = true;
        return;
    }
    memcpy(fz.cid[fz.n_cid], p, len);
    fz.cid_len[fz.n_cid++] = len;
}

/* Note the client id of k's first packet if it is a persistent CONNECT
 * the codec accepts (what the broker may keep a session for). */
static void
fz_first_packet(const struct fz_conn *k)
{
    static uint8_t scratch[4096];
    struct pt_mqtt_frame f;
    struct pt_mqtt_packet p;
    struct rte_mbuf *m;
    int n;

    if (k->sent_len == 0)
        return;
    m = pt_test_mbuf(k->sent, RTE_MIN(k->sent_len, (size_t)1024), 0);
    n = pt_mqtt_frame(m, 0, m->pkt_len, UINT32_MAX, &f);
    if (n > 0 &&
        pt_mqtt_parse(m, &f, scratch, sizeof(scratch), &p) == PT_MQTT_OK &&
        p.type == PT_MQTT_T_CONNECT) {
        if (!p.u.connect.clean_session && p.u.connect.client_id.len > 0 &&
            p.u.connect.client_id.len <= FZ_CID_MAX)
            fz_note_cid(p.u.connect.client_id.p, p.u.connect.client_id.len);
    } else if (n == 0 && k->sent_len > 1024) {
        fz.cids_lost = true;    /* a CONNECT longer than we kept */
    }
    rte_pktmbuf_free(m);
}

/* ---- the slots ---- */

static void
fz_open(unsigned slot)
{
    struct fz_conn *k;

    fz.slot[slot] = -1;
    if (fz.n_conns == FZ_CONNS)
        return;         /* the rest are for the clean-up */
    k = &fz.conns[fz.n_conns];
    memset(k, 0, sizeof(*k));
    k->c = rig_client_open(fz.rig, slot % FZ_CORES);
    if (k->c == NULL)
        fz_fail("no SYN-ACK from the broker's core", NULL);
    fz.slot[slot] = (int)fz.n_conns++;
}

static void
fz_data(unsigned slot, const uint8_t *p, size_t n)
{
    struct fz_conn *k;

    if (fz.slot[slot] < 0)
        return;
    k = &fz.conns[fz.slot[slot]];
    if (!k->c->fin_sent && !k->c->rst_sent) {
        size_t keep = RTE_MIN(n, FZ_SENT - k->sent_len);

        k->sent_cut |= keep < n;
        memcpy(k->sent + k->sent_len, p, keep);
        k->sent_len += keep;
    }
    rig_send(k->c, p, n);
}

static void
fz_end(unsigned slot, bool reset)
{
    if (fz.slot[slot] >= 0) {
        struct rig_client *c = fz.conns[fz.slot[slot]].c;

        if (reset)
            rig_client_reset(c);
        else
            rig_client_close(c);
    }
    fz_open(slot);
}

/* ---- the end of an input ---- */

/* Every id that may have a persistent session connects with a clean
 * session and disconnects: no session may be left. */
static void
fz_clean_up(void)
{
    uint8_t buf[512];
    char cid[FZ_CID_MAX + 1];

    for (unsigned i = 0; i < fz.n_conns; i++)
        fz_first_packet(&fz.conns[i]);
    for (unsigned i = 0; i < fz.n_cid; i++) {
        struct rig_connect opt = { .client_id = cid, .clean = true };
        struct rig_client *c = rig_client_open(fz.rig, i % FZ_CORES);

        if (c == NULL)
            fz_fail("no SYN-ACK for a clean-up connection", NULL);
        memcpy(cid, fz.cid[i], fz.cid_len[i]);
        cid[fz.cid_len[i]] = '\0';
        if (strlen(cid) != fz.cid_len[i]) {
            fz.cids_lost = true;        /* U+0000 is refused anyway */
            continue;
        }
        rig_send(c, buf, rig_pkt_connect(buf, &opt));
        rig_poll(fz.rig);
        if (rig_recv_packet(c, buf, sizeof(buf)) != 4 || buf[0] != 0x20 ||
            buf[3] != 0 || buf[2] != 0)
            fz_fail("a clean-up CONNECT was not accepted (session "
                    "present 0)", c);
        rig_send(c, buf, rig_pkt_disconnect(buf));
        rig_poll(fz.rig);
    }
}

/* FUZZ_BROKER_TRACE=1: what an input reached (to check seeds by hand). */
static void
fz_trace(void)
{
    struct pt_broker_ctl_stats cs;

    for (int k = 0; k < PT_MQTT_C_MAX; k++)
        if (rig_count(fz.rig, k) != 0)
            fprintf(stderr, "  %s %llu\n", pt_mqtt_counter_name(k),
                    (unsigned long long)rig_count(fz.rig, k));
    for (unsigned i = 0; i < FZ_CORES; i++) {
        const struct pt_mqtt_stats *st = rig_stats(fz.rig, i);

        for (int k = 1; k < PT_MQTT_E_MAX; k++)
            if (st->errors[k] != 0)
                fprintf(stderr, "  core %u %s %llu\n", i,
                        pt_mqtt_err_name(k),
                        (unsigned long long)st->errors[k]);
        for (int k = 0; k < PT_MQTT_V_MAX; k++)
            if (st->violations[k] != 0)
                fprintf(stderr, "  core %u %s %llu\n", i,
                        pt_mqtt_violation_name(k),
                        (unsigned long long)st->violations[k]);
    }
    pt_broker_ctl_stats(rig_broker(fz.rig), &cs);
    fprintf(stderr, "  ctl: logins %llu takeovers %llu clients %llu "
            "retained %llu syncs %llu; %u connections, %u ids to clean\n",
            (unsigned long long)cs.logins, (unsigned long long)cs.takeovers,
            (unsigned long long)cs.clients, (unsigned long long)cs.retained,
            (unsigned long long)cs.route_syncs, fz.n_conns, fz.n_cid);
}

static uint64_t
fz_heap_bytes(void)
{
    struct rte_malloc_socket_stats st;
    uint64_t sum = 0;

    for (unsigned i = 0; i < rte_socket_count(); i++)
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
            sum += st.heap_allocsz_bytes;
    return sum;
}

/* A drop, a disconnect and a count rule on payloads, a drop on topics. */
#define FZ_RULES                                                            \
    "1 drop payload caseless - drop\n"                                       \
    "2 disconnect payload - - k[i1]ll\n"                                     \
    "3 count both - - a\n"                                                   \
    "4 drop topic - - ^t/x\n"

static char fz_rules_path[] = "/tmp/pt-fuzz-rules.XXXXXX";

static void
fz_rules_unlink(void)
{
    unlink(fz_rules_path);
}

/* The rules file, written once per process (removed at exit). */
static const char *
fz_rules_file(void)
{
    static char *path = fz_rules_path;
    static bool made;

    if (!made) {
        int fd = mkstemp(path);

        if (fd < 0 || write(fd, FZ_RULES, sizeof(FZ_RULES) - 1) !=
                          (ssize_t)(sizeof(FZ_RULES) - 1))
            fz_fail("cannot write the rules file", NULL);
        close(fd);
        atexit(fz_rules_unlink);
        made = true;
    }
    return path;
}

static struct rig *
fz_rig(uint8_t settings)
{
    static const uint32_t inflight[4] = { 32, 1, 2, 4 };
    struct pt_config cfg;
    struct rig *rig;
    char err[512];

    rig_config_defaults(&cfg);
    cfg.mqtt_max_inflight = inflight[settings & 3];
    if (settings & 4)
        cfg.mqtt_max_queued = 2;
    if (settings & 8)
        cfg.mqtt_max_retained = 1;
    cfg.mqtt_max_packet = 65536;
    if (settings & 16) {
        cfg.tcp_snd_buf = 1460;
        cfg.mqtt_max_packet = 512;
    }
    if (settings & 32)
        snprintf(cfg.rules_file, sizeof(cfg.rules_file), "%s",
                 fz_rules_file());
    rig = rig_create(FZ_CORES, &cfg);
    if (rig != NULL && (settings & 32) &&
        pt_broker_ctl_load_rules(rig_broker(rig), err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_broker: %s\n", err);
        fz_fail("the rules file does not load", NULL);
    }
    return rig;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool heap_known;
    static uint64_t heap_idle;
    const uint8_t *end = data + size;
    struct rig_leaks leaks;
    unsigned mbufs0;
    bool short_of;

    if (pt_test_eal_init() != 0)
        abort();
    if (size < 1)
        return 0;
    mbufs0 = rte_mempool_in_use_count(pt_test_pool());
    memset(&fz, 0, sizeof(fz));
    fz.rig = fz_rig(*data++);
    if (fz.rig == NULL)
        fz_fail("rig_create failed", NULL);
    for (unsigned i = 0; i < FZ_SLOTS; i++)
        fz_open(i);
    while (data < end) {
        uint8_t op = *data++;
        unsigned slot = op & 3;

        if (op < 0xc0) {
            size_t n = data < end ? *data++ : 0;

            n = RTE_MIN(n, (size_t)(end - data));
            fz_data(slot, data, n);
            data += n;
            if (!(op & 0x04))
                rig_poll(fz.rig);
            continue;
        }
        switch ((op >> 2) & 0xf) {
        case 0:
        case 1:
            fz_end(slot, ((op >> 2) & 0xf) == 0);
            break;
        case 2: {
            uint32_t ms = (data < end ? *data++ : 0) * 100u;

            if (fz.clock_ms + ms > FZ_CLOCK_MAX_MS)
                ms = 0;
            fz.clock_ms += ms;
            rig_advance(fz.rig, ms);
            break;
        }
        case 3:
            rig_step(fz.rig);
            break;
        case 4:
            rig_poll_core(fz.rig, slot % FZ_CORES);
            break;
        case 5:
            rig_poll_ctl(fz.rig);
            break;
        default:
            rig_poll(fz.rig);
            break;
        }
    }
    rig_poll(fz.rig);
    short_of = rig_count(fz.rig, PT_MQTT_C_NO_MBUF) +
               rig_count(fz.rig, PT_MQTT_C_RING_FULL) +
               rig_count(fz.rig, PT_MQTT_C_QUEUE_DROP) > 0;
    for (unsigned i = 0; i < fz.n_conns; i++) {
        fz_check_stream(&fz.conns[i]);
        if (getenv("FUZZ_BROKER_NO_ANSWERS") == NULL)
            fz_check_answers(&fz.conns[i], short_of);
    }
    fz_clean_up();
    if (getenv("FUZZ_BROKER_TRACE") != NULL)
        fz_trace();
    if (!fz.cids_lost) {
        uint64_t sessions = 0, connected = 0;

        for (unsigned i = 0; i < FZ_CORES; i++) {
            sessions += rig_stats(fz.rig, i)->sessions;
            connected += rig_stats(fz.rig, i)->connected;
        }
        if (sessions != connected)
            fz_fail("a session outlived a clean-session CONNECT of its id",
                    NULL);
    }
    for (unsigned i = 0; i < fz.n_conns; i++)
        fz_check_stream(&fz.conns[i]);
    rig_destroy(fz.rig, &leaks);
    fz.rig = NULL;
    if (leaks.mbufs != mbufs0)
        fz_fail("mbufs still in use after the rig's tear-down", NULL);
    if (leaks.qents != 0)
        fz_fail("queue entries still in use after the tear-down", NULL);
    if (leaks.sessions != 0)
        fz_fail("sessions still in use after the tear-down", NULL);
    if (heap_known && fz_heap_bytes() != heap_idle)
        fz_fail("DPDK heap memory not freed by the tear-down", NULL);
    heap_idle = fz_heap_bytes();
    heap_known = true;
    return 0;
}
