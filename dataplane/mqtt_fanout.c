/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fan-out of a published message: which other cores get it (the global
 * route table), and which of this core's sessions (its own trie, always:
 * the route table's bit for this core is not needed, so a route the table
 * had no room for still serves the core's own publishers).
 *
 * Both answers depend only on the topic and on the two tables, and a
 * busy broker sees the same topics again and again, so each core keeps a
 * small direct-mapped cache: topic -> (route-table generation, core mask,
 * trie generation, up to PT_FANOUT_SUBS local subscribers with their
 * QoS). An entry is used only while both generations are unchanged (any
 * route swap or any change to the core's trie makes it stale), so a hit
 * answers exactly what the two matches would. Topics longer than
 * PT_FANOUT_TOPIC bytes, and topics with more local subscribers than an
 * entry holds, always take the matches.
 *
 * Cost: a hit is one CRC32 of the topic, one compare and the deliveries;
 * a miss adds both matches and fills the entry.
 *
 * Threading: the core's lcore only (the cache is the core's).
 */
#include <string.h>

#include "mqtt_priv.h"

static struct pt_fanout_ent *
cache_find(struct pt_mqtt_core *mc, const char *topic, uint16_t len,
           uint32_t *hash)
{
    struct pt_fanout_ent *e;
    uint32_t h;

    if (len > PT_FANOUT_TOPIC)
        return NULL;
    h = pt_fanout_hash(topic, len);
    e = &mc->fanout[h & (PT_FANOUT_SIZE - 1)];
    *hash = h;
    if (e->hash != h || e->len != len || memcmp(e->topic, topic, len) != 0) {
        /* take the slot over; both generations invalid */
        e->hash = h;
        e->len = len;
        memcpy(e->topic, topic, len);
        e->rgen = UINT64_MAX;
        e->lgen = UINT64_MAX;
    }
    return e;
}

struct deliver_ctx {
    struct pt_mqtt_core *mc;
    struct rte_mbuf *msg;
    struct pt_fanout_ent *e;   /* filled on a miss, NULL: not cached */
};

static void
deliver_cb(void *arg, uint64_t sub_id, uint8_t qos)
{
    struct deliver_ctx *x = arg;
    struct pt_mqtt_session *s = pt_actor_lookup(x->mc->sids, sub_id);

    if (x->e != NULL) {
        if (x->e->n < PT_FANOUT_SUBS) {
            x->e->sid[x->e->n] = sub_id;
            x->e->qos[x->e->n] = qos;
            x->e->n++;
        } else {
            x->e->n = PT_FANOUT_MANY;
        }
    }
    if (s == NULL)
        return;
    pt_mqtt_session_deliver(x->mc, s, x->msg,
                            RTE_MIN(qos, pt_msg_meta(x->msg)->qos), false);
}

/* @return the subscribers found (stale ids included) */
static unsigned
deliver_local(struct pt_mqtt_core *mc, struct rte_mbuf *msg,
              struct pt_fanout_ent *e)
{
    struct deliver_ctx x = { .mc = mc, .msg = msg };
    uint64_t lgen = pt_mqtt_trie_gen(mc->trie);
    uint8_t mq = pt_msg_meta(msg)->qos;
    unsigned n;

    if (e != NULL && e->lgen == lgen && e->n != PT_FANOUT_MANY) {
        for (unsigned i = 0; i < e->n; i++) {
            struct pt_mqtt_session *s = pt_actor_lookup(mc->sids, e->sid[i]);

            if (s != NULL)
                pt_mqtt_session_deliver(mc, s, msg, RTE_MIN(e->qos[i], mq),
                                        false);
        }
        return e->n;
    }
    if (e != NULL) {
        e->n = 0;
        x.e = e;
    }
    n = pt_mqtt_trie_match(mc->trie, pt_msg_topic(msg),
                           pt_msg_meta(msg)->topic_len, deliver_cb, &x);
    /* deliveries do not change the trie: the entry is good for lgen */
    if (e != NULL)
        e->lgen = lgen;
    return n;
}

void
pt_mqtt_deliver_local(struct pt_mqtt_core *mc, struct rte_mbuf *msg)
{
    uint32_t h;

    deliver_local(mc, msg,
                  cache_find(mc, pt_msg_topic(msg),
                             pt_msg_meta(msg)->topic_len, &h));
}

void
pt_mqtt_publish_route(struct pt_mqtt_core *mc, struct rte_mbuf *msg)
{
    const char *topic = pt_msg_topic(msg);
    uint16_t len = pt_msg_meta(msg)->topic_len;
    uint32_t h;
    struct pt_fanout_ent *e = cache_find(mc, topic, len, &h);
    uint64_t mask, others;
    bool remote;

    if (e != NULL) {
        uint64_t rgen = pt_mqtt_route_gen(mc->b->route);

        if (e->rgen == rgen) {
            mask = e->mask;
        } else {
            /* the generation is read before the match (see
             * pt_mqtt_route_gen) */
            mask = pt_mqtt_route_match(mc->b->route, topic, len);
            e->mask = mask;
            e->rgen = rgen;
        }
    } else {
        mask = pt_mqtt_route_match(mc->b->route, topic, len);
    }
    others = mask & ~(UINT64_C(1) << mc->core);
    remote = others != 0;
    while (others != 0) {
        unsigned to = (unsigned)__builtin_ctzll(others);
        struct pt_bus_desc d = { .type = PT_BUS_PUBLISH, .ptr = msg };

        others &= others - 1;
        pt_msg_ref(msg);
        if (pt_mqtt_bus_send(mc, to, &d) != 0)
            pt_msg_unref(msg);
    }
    /* this core's subscribers come from its own trie whatever the route
     * table says (a route the table had no room for still serves them) */
    if (deliver_local(mc, msg, e) == 0 && !remote)
        pt_mqtt_count(mc, PT_MQTT_C_PUB_NO_SUB, 1);
    pt_msg_unref(msg);
}
