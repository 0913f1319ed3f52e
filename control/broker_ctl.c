/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's half of the broker: logins, the client-id registry
 * with session takeover, the route table's writer, the retained store and
 * $SYS. Runs in pt_broker_ctl_poll() on the control-plane thread (every
 * millisecond); never blocks, never touches packets.
 *
 * Registry entry of a client id (state machine):
 *
 *   (none) --LOGIN--> ONLINE(core, conn)         LOGIN_OK to the core
 *   ONLINE --OFFLINE(conn)--> OFFLINE(core, session)
 *   ONLINE --END(conn)--> (none)                  clean session ended
 *   OFFLINE --LOGIN same core--> ONLINE           LOGIN_OK, attach by id
 *   ONLINE/OFFLINE --LOGIN--> MOVING(old, pending new)   TAKEOVER to old core
 *   MOVING --LOGIN--> MOVING (the pending login is refused, the newest waits)
 *   MOVING --HANDOFF(session or none)--> ONLINE(new)     LOGIN_OK to new core
 *   MOVING --HANDOFF(miss) with an OFFLINE seen meanwhile--> MOVING
 *          (TAKEOVER again, by session id)
 *   MOVING --HANDOFF(none) after END of the waiting login--> (none)
 *
 * Invariants: an entry in MOVING is never freed (its address travels in
 * TAKEOVER/HANDOFF); OFFLINE/END only apply when they name the entry's
 * current connection, so a late report about an older connection never
 * undoes a newer login. Every LOGIN gets exactly one LOGIN_OK or
 * LOGIN_FAIL.
 *
 * Route changes and SUBACK: ROUTE_ADD/DEL are staged into the route table
 * as they come (each gets a sequence number); a SYNC waits until the
 * table's visible sequence (every core passed a quiescent state since the
 * swap) reaches the last sequence staged before it, then goes back as
 * SYNC_ACK, followed by the retained messages its filters match.
 *
 * Retained store: topic -> message (one reference); an empty payload
 * clears the topic; at most mqtt.max_retained topics. Matching a new
 * subscription walks the whole store (O(retained)); fine for thousands of
 * retained topics, a topic trie is the next step beyond.
 *
 * Threading: control-plane thread only, except pt_broker_ctl_stats (any
 * thread; relaxed).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <petrel/broker.h>
#include <petrel/log.h>

#include "broker_ctl_priv.h"

PT_LOG_REGISTER(ctl_broker, pt.ctl.broker, INFO);

int
pt_bctl_send(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    struct pt_broker *b = x->b;

    d->from = (uint8_t)b->n;
    if (rte_ring_enqueue_elem(b->rings[b->n * (b->n + 1) + core], d,
                              sizeof(*d)) != 0) {
        count(&x->st.ring_full, 1);
        return -ENOBUFS;
    }
    return 0;
}

void
pt_bctl_retire(struct pt_broker_ctl *x, struct retire *r, void *obj,
               void (*done)(struct pt_broker_ctl *x, void *obj))
{
    r->obj = obj;
    r->done = done;
    r->token = rte_rcu_qsbr_start(pt_mqtt_route_qsbr(x->b->route));
    r->next = x->retire;
    x->retire = r;
}

void
pt_bctl_retire_poll(struct pt_broker_ctl *x, bool all)
{
    struct rte_rcu_qsbr *v = pt_mqtt_route_qsbr(x->b->route);

    for (struct retire **pp = &x->retire; *pp != NULL;) {
        struct retire *r = *pp;

        if (all || rte_rcu_qsbr_check(v, r->token, false) == 1) {
            *pp = r->next;
            if (r->obj != NULL)
                r->done(x, r->obj);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* Replies that must not be lost (LOGIN_OK/FAIL, TAKEOVER, SYNC_ACK): the
 * rings are sized for bursts far above what a core can have in flight;
 * if one is full anyway, spin briefly for the core to drain it. */
void
pt_bctl_send_must(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    for (unsigned i = 0; pt_bctl_send(x, core, d) != 0; i++) {
        if (i == 100000) {
            PT_LOG(ERR, ctl_broker, "core %u does not drain its ring: "
                   "descriptor %u lost", core, d->type);
            return;
        }
        rte_pause();
    }
}

/* ---- registry ---- */

/* A registry entry for cid, counted; its state is the caller's to set.
 * @return it, or NULL (no memory). */
static struct reg *
reg_new(struct pt_broker_ctl *x, const char *cid, uint16_t len)
{
    struct reg *e = calloc(1, sizeof(*e));
    int err;

    if (e == NULL)
        return NULL;
    e->cid_len = len;
    memcpy(e->cid, cid, len);
    pt_strmap_put(x->reg, e->cid, e->cid_len, e, &err);
    if (err != 0) {
        free(e);
        return NULL;
    }
    count(&x->st.clients, 1);
    return e;
}

static void
reg_remove(struct pt_broker_ctl *x, struct reg *e)
{
    pt_strmap_del(x->reg, e->cid, e->cid_len);
    free(e);
    count(&x->st.clients, -1);
}

static void
login_fail(struct pt_broker_ctl *x, unsigned core, uint64_t conn, uint8_t rc)
{
    struct pt_bus_desc d = { .type = PT_BUS_LOGIN_FAIL, .id = conn,
                             .aux = rc };

    count(&x->st.refused, 1);
    pt_bctl_send_must(x, core, &d);
}

static void
takeover_send(struct pt_broker_ctl *x, struct reg *e, uint64_t id,
              uint16_t flags)
{
    struct pt_bus_desc d = { .type = PT_BUS_TAKEOVER, .id = id,
                             .u64 = (uint64_t)(uintptr_t)e };

    if (e->next.clean)
        flags |= PT_BUS_F_CLEAN;
    d.aux = flags;
    pt_bctl_send_must(x, e->core, &d);
}

/* The user name and password of a LOGIN (after the client id), copied
 * NUL-terminated into one buffer the caller frees (after wiping it).
 * @return 0, or -EINVAL (lengths beyond the mbuf) or -ENOMEM. */
static int
login_credentials(const struct rte_mbuf *m, const struct pt_bus_login *lg,
                  char **buf)
{
    uint32_t off = (uint32_t)sizeof(*lg) + lg->cid_len;

    *buf = NULL;
    if ((uint64_t)off + lg->user_len + lg->pass_len > m->pkt_len)
        return -EINVAL;
    *buf = malloc((size_t)lg->user_len + lg->pass_len + 2);
    if (*buf == NULL)
        return -ENOMEM;
    pt_mqtt_copy(m, off, lg->user_len, *buf);
    (*buf)[lg->user_len] = '\0';
    pt_mqtt_copy(m, off + lg->user_len, lg->pass_len,
                 *buf + lg->user_len + 1);
    (*buf)[lg->user_len + 1 + lg->pass_len] = '\0';
    return 0;
}

static void
on_login(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    struct rte_mbuf *m = d->ptr;
    struct pt_bus_login lg;
    struct reg_login who = { .since_ns = x->now_ns };
    char cid[PT_MQTT_CID_MAX];
    char *cred;
    struct reg *e;
    uint8_t rc;

    count(&x->st.logins, 1);
    if (m == NULL || m->pkt_len < sizeof(lg)) {
        login_fail(x, core, d->id, PT_MQTT_CONNACK_UNAVAILABLE);
        return;
    }
    pt_mqtt_copy(m, 0, sizeof(lg), &lg);
    if (lg.cid_len > PT_MQTT_CID_MAX ||
        m->pkt_len < sizeof(lg) + lg.cid_len) {
        login_fail(x, core, d->id, PT_MQTT_CONNACK_IDENTIFIER);
        return;
    }
    if (login_credentials(m, &lg, &cred) != 0) {
        login_fail(x, core, d->id, PT_MQTT_CONNACK_UNAVAILABLE);
        return;
    }
    rc = pt_bctl_authenticate(x, &lg, lg.has_user ? cred : NULL,
                              lg.has_password ? cred + lg.user_len + 1
                                              : NULL,
                              &who.user);
    explicit_bzero(cred, (size_t)lg.user_len + lg.pass_len + 2);
    free(cred);
    if (rc != 0) {
        login_fail(x, core, d->id, rc);
        return;
    }
    who.ip = lg.src_ip;
    who.port = lg.src_port;
    who.clean = lg.clean;
    pt_mqtt_copy(m, sizeof(lg), lg.cid_len, cid);
    e = pt_strmap_get(x->reg, cid, lg.cid_len);
    if (e == NULL) {
        struct pt_bus_desc ok = { .type = PT_BUS_LOGIN_OK, .id = d->id,
                                  .arg = who.user };

        e = reg_new(x, cid, lg.cid_len);
        if (e == NULL) {
            login_fail(x, core, d->id, PT_MQTT_CONNACK_UNAVAILABLE);
            return;
        }
        e->state = R_ONLINE;
        e->core = core;
        e->conn = d->id;
        e->cur = who;
        pt_bctl_send_must(x, core, &ok);
        return;
    }
    switch (e->state) {
    case R_ONLINE:
        count(&x->st.takeovers, 1);
        e->state = R_MOVING;
        e->sid = 0;
        e->retried = 0;
        e->new_gone = 0;
        e->new_core = core;
        e->new_conn = d->id;
        e->next = who;
        takeover_send(x, e, e->conn, 0);
        break;
    case R_OFFLINE:
        if (e->core == core) {
            struct pt_bus_desc ok = { .type = PT_BUS_LOGIN_OK, .id = d->id,
                                      .u64 = e->sid, .arg = who.user };

            ok.aux = PT_BUS_F_ATTACH_ID | (lg.clean ? 0 : PT_BUS_F_PRESENT);
            e->state = R_ONLINE;
            e->conn = d->id;
            e->cur = who;
            pt_bctl_send_must(x, core, &ok);
            break;
        }
        e->state = R_MOVING;
        e->conn = 0;
        e->retried = 1;
        e->new_gone = 0;
        e->new_core = core;
        e->new_conn = d->id;
        e->next = who;
        takeover_send(x, e, e->sid, PT_BUS_F_SESSION);
        break;
    case R_MOVING:
        /* two logins racing for one id: the newest wins */
        if (!e->new_gone)
            login_fail(x, e->new_core, e->new_conn, 0xff);
        e->new_gone = 0;
        e->new_core = core;
        e->new_conn = d->id;
        e->next = who;
        break;
    }
}

static void
on_handoff(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    struct reg *e = (struct reg *)(uintptr_t)d->u64;
    struct pt_bus_desc ok = { .type = PT_BUS_LOGIN_OK, .ptr = d->ptr };

    if (d->aux == 1 && e->sid != 0 && !e->retried) {
        /* the connection had gone offline: take the session by id */
        e->retried = 1;
        e->core = core;
        takeover_send(x, e, e->sid, PT_BUS_F_SESSION);
        return;
    }
    if (e->new_gone && d->ptr == NULL) {
        reg_remove(x, e);   /* nobody left to answer, nothing to keep */
        return;
    }
    if (d->ptr != NULL)
        ok.aux = PT_BUS_F_PRESENT;
    ok.id = e->new_conn;
    ok.arg = e->next.user;
    e->cur = e->next;
    e->state = R_ONLINE;
    e->core = e->new_core;
    e->conn = e->new_conn;
    e->sid = 0;
    pt_bctl_send_must(x, e->core, &ok);
}

static struct reg *
reg_of(struct pt_broker_ctl *x, const struct pt_bus_desc *d)
{
    struct rte_mbuf *m = d->ptr;
    char cid[PT_MQTT_CID_MAX];

    if (m == NULL || m->pkt_len == 0 || m->pkt_len > PT_MQTT_CID_MAX)
        return NULL;
    return pt_strmap_get(x->reg,
                         rte_pktmbuf_read(m, 0, m->pkt_len, cid),
                         m->pkt_len);
}

static void
on_offline(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    struct reg *e = reg_of(x, d);

    if (e == NULL) {
        /* its registry entry went while the session came back here */
        struct rte_mbuf *m = d->ptr;
        char cid[PT_MQTT_CID_MAX];

        if (m == NULL || m->pkt_len == 0 || m->pkt_len > PT_MQTT_CID_MAX)
            return;
        pt_mqtt_copy(m, 0, m->pkt_len, cid);
        e = reg_new(x, cid, (uint16_t)m->pkt_len);
        if (e == NULL)
            return;
        e->state = R_OFFLINE;
        e->core = core;
        e->sid = d->id;
        return;
    }
    if (e->state == R_ONLINE && e->conn == d->u64) {
        e->state = R_OFFLINE;
        e->core = core;
        e->sid = d->id;
    } else if (e->state == R_MOVING && e->conn == d->u64) {
        e->sid = d->id;
    }
}

static void
on_end(struct pt_broker_ctl *x, struct pt_bus_desc *d)
{
    struct reg *e = reg_of(x, d);

    if (e == NULL)
        return;
    if (e->state == R_ONLINE && e->conn == d->u64)
        reg_remove(x, e);
    else if (e->state == R_MOVING && e->conn == d->u64)
        e->sid = 0;
    else if (e->state == R_MOVING && e->new_conn == d->u64)
        e->new_gone = 1;
}

/* ---- retained ---- */

static void
on_retain(struct pt_broker_ctl *x, struct rte_mbuf *msg)
{
    const char *topic = pt_msg_topic(msg);
    uint16_t tlen = pt_msg_meta(msg)->topic_len;
    struct rte_mbuf *old;
    int err;

    if (pt_msg_payload_len(msg) == 0) {
        /* MQTT-3.3.1-10/11: an empty retained message clears the topic */
        old = pt_strmap_del(x->retained, topic, tlen);
        if (old != NULL) {
            pt_msg_unref(old);
            count(&x->st.retained, -1);
        }
        pt_msg_unref(msg);
        return;
    }
    if (pt_strmap_get(x->retained, topic, tlen) == NULL &&
        pt_strmap_count(x->retained) >= x->b->cfg->mqtt_max_retained) {
        count(&x->st.retained_dropped, 1);
        pt_msg_unref(msg);
        return;
    }
    old = pt_strmap_put(x->retained, topic, tlen, msg, &err);
    if (err != 0) {
        count(&x->st.retained_dropped, 1);
        pt_msg_unref(msg);
        return;
    }
    if (old != NULL)
        pt_msg_unref(old);
    else
        count(&x->st.retained, 1);
}

struct retained_walk {
    struct pt_broker_ctl *x;
    unsigned core;
    uint64_t sid;
    const char *filter;
    uint16_t flen;
    uint8_t qos;
};

static void
retained_match(void *arg, const void *key, size_t len, void *value)
{
    struct retained_walk *w = arg;
    struct rte_mbuf *msg = value;
    struct pt_bus_desc d = { .type = PT_BUS_RETAINED, .id = w->sid,
                             .ptr = msg };

    if (!pt_mqtt_topic_match(w->filter, w->flen, key, len))
        return;
    d.aux = RTE_MIN(w->qos, pt_msg_meta(msg)->qos);
    pt_msg_ref(msg);
    if (pt_bctl_send(w->x, w->core, &d) != 0)
        pt_msg_unref(msg);
}

/* ---- routes the table refused ---- */

static void
refused_add(struct pt_broker_ctl *x, unsigned core, const char *f,
            uint16_t len)
{
    struct refused *r = malloc(sizeof(*r) + len);

    if (r == NULL)
        return;     /* then the SUBACK grants it: the old, logged, way */
    count(&x->st.routes_refused, 1);
    r->len = len;
    memcpy(r->filter, f, len);
    r->next = x->refused[core];
    x->refused[core] = r;
}

/* A later add of the same route succeeded: it is not refused any more. */
static void
refused_forget(struct pt_broker_ctl *x, unsigned core, const char *f,
               uint16_t len)
{
    for (struct refused **pp = &x->refused[core]; *pp != NULL;
         pp = &(*pp)->next) {
        if ((*pp)->len == len && memcmp((*pp)->filter, f, len) == 0) {
            struct refused *r = *pp;

            *pp = r->next;
            free(r);
            return;
        }
    }
}

static void
refused_clear(struct pt_broker_ctl *x, unsigned core)
{
    while (x->refused[core] != NULL) {
        struct refused *r = x->refused[core];

        x->refused[core] = r->next;
        free(r);
    }
}

/*
 * A SYNC follows, on the same ring, the route changes its SUBSCRIBE made:
 * a filter whose route was refused gets 0x80 in the SUBACK it carries
 * (MQTT-3.9.3: failure) and in its record, which tells the core to drop
 * the local subscription too. Consumes the core's refused list.
 */
static void
refused_apply(struct pt_broker_ctl *x, unsigned core, struct rte_mbuf *m)
{
    struct pt_bus_sync hdr;
    uint32_t off, codes;
    uint8_t b1;
    char f[256];

    if (x->refused[core] == NULL)
        return;
    pt_mqtt_copy(m, 0, sizeof(hdr), &hdr);
    if (hdr.connack || hdr.reply_len < 5) {
        refused_clear(x, core);
        return;
    }
    /* SUBACK: type, 1 or 2 remaining-length bytes, packet id, codes */
    pt_mqtt_copy(m, sizeof(hdr) + 1, 1, &b1);
    codes = sizeof(hdr) + 1 + ((b1 & 0x80) ? 2 : 1) + 2;
    for (off = sizeof(hdr) + hdr.reply_len;
         off + PT_SYNC_REC_HDR <= m->pkt_len;) {
        uint8_t rec[PT_SYNC_REC_HDR];
        uint16_t len;

        pt_mqtt_copy(m, off, sizeof(rec), rec);
        len = (uint16_t)(rec[2] << 8 | rec[3]);
        if (off + sizeof(rec) + len > m->pkt_len)
            break;
        for (struct refused *r = x->refused[core]; r != NULL; r = r->next) {
            char *buf;
            bool same;

            if (r->len != len)
                continue;
            buf = len <= sizeof(f) ? f : malloc(len);
            if (buf == NULL)
                continue;
            pt_mqtt_copy(m, off + (uint32_t)sizeof(rec), len, buf);
            same = memcmp(buf, r->filter, len) == 0;
            if (buf != f)
                free(buf);
            if (!same)
                continue;
            pt_mqtt_poke(m, off, 0x80);
            pt_mqtt_poke(m, codes + rec[1], 0x80);
            break;
        }
        off += (uint32_t)sizeof(rec) + len;
    }
    refused_clear(x, core);
}

/* ---- syncs ---- */

static void
sync_done(struct pt_broker_ctl *x, struct sync *s)
{
    struct rte_mbuf *m = s->d.ptr;
    struct pt_bus_desc ack = { .type = PT_BUS_SYNC_ACK, .id = s->d.id,
                               .ptr = m };
    struct pt_bus_sync hdr;
    char *filters = NULL;
    uint32_t off, flen = 0;

    count(&x->st.route_syncs, 1);
    pt_mqtt_copy(m, 0, sizeof(hdr), &hdr);
    /* keep the filters: the mbuf goes back to the core with the ack */
    off = sizeof(hdr) + hdr.reply_len;
    if (hdr.n_filters > 0 && m->pkt_len > off) {
        flen = m->pkt_len - off;
        filters = malloc(flen);
        if (filters != NULL)
            pt_mqtt_copy(m, off, flen, filters);
    }
    pt_bctl_send_must(x, s->d.from, &ack);
    if (filters == NULL)
        return;
    for (uint32_t p = 0; p + PT_SYNC_REC_HDR <= flen;) {
        struct retained_walk w = {
            .x = x, .core = s->d.from, .sid = s->d.u64,
            .qos = (uint8_t)filters[p],
            .flen = (uint16_t)((uint8_t)filters[p + 2] << 8 |
                               (uint8_t)filters[p + 3]),
            .filter = filters + p + PT_SYNC_REC_HDR,
        };

        if (p + PT_SYNC_REC_HDR + w.flen > flen)
            break;
        if (w.qos != 0x80 && pt_strmap_count(x->retained) > 0)
            pt_strmap_each(x->retained, retained_match, &w);
        p += PT_SYNC_REC_HDR + w.flen;
    }
    free(filters);
}

static void
on_sync(struct pt_broker_ctl *x, struct pt_bus_desc *d)
{
    struct sync *s = calloc(1, sizeof(*s));

    refused_apply(x, d->from, d->ptr);
    if (s == NULL) {
        /* answer now rather than never */
        struct sync now = { .d = *d };

        sync_done(x, &now);
        return;
    }
    s->d = *d;
    s->seq = x->last_seq;
    if (x->syncs == NULL)
        x->syncs = s;
    else
        x->syncs_tail->next = s;
    x->syncs_tail = s;
}

static void
syncs_advance(struct pt_broker_ctl *x)
{
    uint64_t visible;

    pt_mqtt_route_poll(x->b->route);
    visible = pt_mqtt_route_visible_seq(x->b->route);
    while (x->syncs != NULL && x->syncs->seq <= visible) {
        struct sync *s = x->syncs;

        x->syncs = s->next;
        sync_done(x, s);
        free(s);
    }
}

static void
on_route(struct pt_broker_ctl *x, unsigned core, struct pt_bus_desc *d)
{
    struct rte_mbuf *m = d->ptr;
    char buf[256];
    const char *f;
    char *heap = NULL;
    int64_t seq;

    if (m->pkt_len > sizeof(buf)) {
        heap = malloc(m->pkt_len);
        if (heap == NULL)
            return;
    }
    f = rte_pktmbuf_read(m, 0, m->pkt_len, heap != NULL ? heap : buf);
    seq = d->type == PT_BUS_ROUTE_ADD
              ? pt_mqtt_route_add(x->b->route, f, m->pkt_len, core)
              : pt_mqtt_route_del(x->b->route, f, m->pkt_len, core);
    if (seq > 0) {
        x->last_seq = (uint64_t)seq;
        pt_bctl_admin_route(x, f, (uint16_t)m->pkt_len, core,
                            d->type == PT_BUS_ROUTE_ADD);
        if (d->type == PT_BUS_ROUTE_ADD)
            refused_forget(x, core, f, (uint16_t)m->pkt_len);
    } else {
        PT_LOG(WARNING, ctl_broker, "route %s from core %u: %s",
               d->type == PT_BUS_ROUTE_ADD ? "add" : "del", core,
               strerror((int)-seq));
        if (d->type == PT_BUS_ROUTE_ADD)
            refused_add(x, core, f, (uint16_t)m->pkt_len);
    }
    free(heap);
}

/* ---- $SYS ---- */

void
pt_bctl_sys_publish(struct pt_broker_ctl *x, const char *topic,
                    const char *fmt, ...)
{
    struct pt_broker *b = x->b;
    char payload[64];
    struct rte_mbuf *msg;
    uint64_t mask;
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(payload, sizeof(payload), fmt, ap);
    va_end(ap);
    msg = pt_msg_build(b->msg_pool, topic, (uint16_t)strlen(topic), NULL,
                       payload, (uint32_t)len, 0, true);
    if (msg == NULL)
        return;
    count(&x->st.sys_published, 1);
    /* the writer may read the active copy: it only writes the other */
    mask = pt_mqtt_route_match(b->route, topic, strlen(topic));
    while (mask != 0) {
        unsigned core = (unsigned)__builtin_ctzll(mask);
        struct pt_bus_desc d = { .type = PT_BUS_PUBLISH, .ptr = msg };

        mask &= mask - 1;
        pt_msg_ref(msg);
        if (pt_bctl_send(x, core, &d) != 0)
            pt_msg_unref(msg);
    }
    on_retain(x, msg);   /* $SYS topics are retained, as in Mosquitto */
}

static void
sys_tick(struct pt_broker_ctl *x, uint64_t now_ns)
{
    uint64_t sum[PT_MQTT_C_MAX] = { 0 }, connected = 0, subs = 0;
    struct pt_broker *b = x->b;

    for (unsigned i = 0; i < b->n; i++) {
        const struct pt_mqtt_core *mc = b->cores[i];
        struct pt_mqtt_trie_stats ts;

        if (mc == NULL)
            continue;
        for (unsigned k = 0; k < PT_MQTT_C_MAX; k++)
            sum[k] += __atomic_load_n(&mc->st.c[k], __ATOMIC_RELAXED);
        connected += __atomic_load_n(&mc->st.connected, __ATOMIC_RELAXED);
        pt_mqtt_trie_stats(mc->trie, &ts);
        subs += ts.subs_used;
    }
    pt_bctl_sys_publish(x, "$SYS/broker/version", "petrel %s", PT_VERSION);
    pt_bctl_sys_publish(x, "$SYS/broker/uptime", "%lu seconds",
                        (unsigned long)((now_ns - x->started_ns) / 1000000000u));
    pt_bctl_sys_publish(x, "$SYS/broker/clients/connected", "%lu",
                        (unsigned long)connected);
    pt_bctl_sys_publish(x, "$SYS/broker/clients/total", "%lu",
                        (unsigned long)x->st.clients);
    pt_bctl_sys_publish(x, "$SYS/broker/messages/received", "%lu",
                        (unsigned long)sum[PT_MQTT_C_PUB_RX]);
    pt_bctl_sys_publish(x, "$SYS/broker/messages/sent", "%lu",
                        (unsigned long)sum[PT_MQTT_C_PUB_TX]);
    pt_bctl_sys_publish(x, "$SYS/broker/subscriptions/count", "%lu",
                        (unsigned long)subs);
    pt_bctl_sys_publish(x, "$SYS/broker/retained messages/count", "%lu",
                        (unsigned long)x->st.retained);
    pt_bctl_sys_publish(x, "$SYS/broker/bytes/received", "%lu",
                        (unsigned long)sum[PT_MQTT_C_RX_BYTES]);
    pt_bctl_sys_publish(x, "$SYS/broker/bytes/sent", "%lu",
                        (unsigned long)sum[PT_MQTT_C_TX_BYTES]);
    pt_bctl_rules_sys(x);
}

/* ---- the poll ---- */

static void
dispatch(struct pt_broker_ctl *x, struct pt_bus_desc *d)
{
    unsigned core = d->from;

    switch (d->type) {
    case PT_BUS_LOGIN:
        on_login(x, core, d);
        rte_pktmbuf_free(d->ptr);
        break;
    case PT_BUS_OFFLINE:
        on_offline(x, core, d);
        rte_pktmbuf_free(d->ptr);
        break;
    case PT_BUS_END:
        on_end(x, d);
        rte_pktmbuf_free(d->ptr);
        break;
    case PT_BUS_HANDOFF:
        on_handoff(x, core, d);
        break;
    case PT_BUS_ROUTE_ADD:
    case PT_BUS_ROUTE_DEL:
        on_route(x, core, d);
        rte_pktmbuf_free(d->ptr);
        break;
    case PT_BUS_SYNC:
        on_sync(x, d);
        break;
    case PT_BUS_RETAIN:
        on_retain(x, d->ptr);
        break;
    case PT_BUS_ANSWER:
        pt_bctl_admin_answer(x, d);
        break;
    case PT_BUS_SHUTDOWN_ACK:
        if (d->aux < 3)
            x->shutdown_acks[d->aux]++;
        break;
    default:
        PT_LOG(ERR, ctl_broker, "unexpected descriptor %u from core %u",
               d->type, core);
        rte_pktmbuf_free(d->ptr);
        break;
    }
}

unsigned
pt_broker_ctl_poll(struct pt_broker *b, uint64_t now_ns)
{
    struct pt_broker_ctl *x = b->ctl;
    struct pt_bus_desc ds[PT_CTL_BURST];
    unsigned total = 0;

    if (x == NULL)
        return 0;
    if (x->started_ns == 0)
        x->started_ns = now_ns;
    x->now_ns = now_ns;
    for (unsigned i = 0; i < b->n; i++) {
        struct rte_ring *r = b->rings[i * (b->n + 1) + b->n];

        /* drain each core's ring (up to PT_CTL_POLL_MAX a call, so one
         * busy core cannot starve the others or the control socket) */
        for (unsigned got = 0; got < PT_CTL_POLL_MAX;) {
            unsigned n = rte_ring_dequeue_burst_elem(r, ds, sizeof(ds[0]),
                                                     PT_CTL_BURST, NULL);

            for (unsigned k = 0; k < n; k++)
                dispatch(x, &ds[k]);
            got += n;
            total += n;
            if (n < PT_CTL_BURST)
                break;
        }
    }
    syncs_advance(x);
    pt_bctl_retire_poll(x, false);
    if (b->cfg->mqtt_sys_interval_s != 0 && now_ns >= x->next_sys_ns) {
        if (x->next_sys_ns != 0)
            sys_tick(x, now_ns);
        x->next_sys_ns = now_ns +
                         (uint64_t)b->cfg->mqtt_sys_interval_s * 1000000000u;
    }
    return total;
}

int
pt_broker_ctl_attach(struct pt_broker *b)
{
    struct pt_broker_ctl *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return -ENOMEM;
    x->b = b;
    x->reg = pt_strmap_create(rte_rdtsc());
    x->retained = pt_strmap_create(rte_rdtsc() * 31);
    if (x->reg == NULL || x->retained == NULL) {
        pt_strmap_free(x->reg);
        pt_strmap_free(x->retained);
        free(x);
        return -ENOMEM;
    }
    b->ctl = x;
    if (pt_bctl_auth_init(x) != 0 || pt_bctl_admin_init(x) != 0 ||
        pt_bctl_rules_init(x) != 0) {
        pt_broker_ctl_detach(b);
        return -ENOMEM;
    }
    return 0;
}

static void
free_reg(void *arg, const void *key, size_t len, void *value)
{
    (void)arg;
    (void)key;
    (void)len;
    free(value);
}

static void
free_retained(void *arg, const void *key, size_t len, void *value)
{
    (void)arg;
    (void)key;
    (void)len;
    pt_msg_unref(value);
}

void
pt_broker_ctl_detach(struct pt_broker *b)
{
    struct pt_broker_ctl *x = b->ctl;

    if (x == NULL)
        return;
    while (x->syncs != NULL) {
        struct sync *s = x->syncs;

        x->syncs = s->next;
        rte_pktmbuf_free(s->d.ptr);
        free(s);
    }
    for (unsigned i = 0; i < PT_MQTT_ROUTE_MAX_CORES; i++)
        refused_clear(x, i);
    pt_bctl_retire_poll(x, true);   /* the cores are stopped by now */
    pt_bctl_rules_fini(x);
    pt_bctl_admin_fini(x);
    pt_bctl_auth_fini(x);
    pt_strmap_each(x->reg, free_reg, NULL);
    pt_strmap_each(x->retained, free_retained, NULL);
    pt_strmap_free(x->reg);
    pt_strmap_free(x->retained);
    free(x);
    b->ctl = NULL;
}

void
pt_broker_ctl_stats(const struct pt_broker *b,
                    struct pt_broker_ctl_stats *out)
{
    const uint64_t *s;
    uint64_t *d = (uint64_t *)out;

    if (b->ctl == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    s = (const uint64_t *)&b->ctl->st;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    {
        struct pt_mqtt_route_stats rs;

        pt_mqtt_route_stats(b->route, &rs);
        out->routes = rs.routes_used;
        out->route_bytes = rs.bytes_used;
    }
}
