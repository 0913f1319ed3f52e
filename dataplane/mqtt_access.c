/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access control on the dataplane: may this connection's client publish
 * to a topic, or subscribe to a filter, under the ACL in force?
 *
 * The control plane compiles the ACL file (control/acl_load.c) and
 * publishes it in pt_broker.acl by RCU: a release store of the new
 * pointer, then the old object is freed once every core has passed a
 * quiescent state (the route table's rte_rcu_qsbr variable). A core reads
 * the pointer with an acquire load inside its poll iteration, so the
 * object cannot go away while a check runs.
 *
 * Each connection caches its client's section of the ACL with the
 * publication's generation (struct pt_acl_pub: unique, never reused), so the user-name
 * lookup runs once per connection and ACL, not per PUBLISH; after a
 * reload the first check finds the generation changed and looks again.
 *
 * A reload can take away what was granted: each core notices the new
 * generation at its next poll and walks its sessions once (O(their
 * subscriptions), by each session's own filter list), dropping every
 * subscription the new ACL would refuse (counted mqtt_acl_revoked), so a
 * subscriber stops getting what it may no longer read without losing its
 * session.
 *
 * Threading: the connection's core only. No allocation on the PUBLISH
 * path, no locks.
 */
#include <petrel/acl.h>
#include <petrel/log.h>

#include "mqtt_priv.h"

PT_LOG_REGISTER(mqtt_access, pt.mqtt.access, INFO);

static const struct pt_acl_section *
section(struct pt_mqtt_conn *c, const struct pt_acl_pub *pub,
        const struct pt_mqtt_user *u)
{
    if (c->acl_gen != pub->gen) {
        c->acl_sec = pt_acl_section(pub->acl, u != NULL ? u->name : NULL,
                                    u != NULL ? u->len : 0);
        c->acl_gen = pub->gen;
    }
    return c->acl_sec;
}

bool
pt_mqtt_acl_check(struct pt_mqtt_conn *c, const char *name, size_t len,
                  bool subscribe)
{
    const struct pt_acl_pub *pub = __atomic_load_n(&c->mc->b->acl,
                                                   __ATOMIC_ACQUIRE);
    const struct pt_mqtt_session *s = c->s;
    const struct pt_acl_section *sec;
    const struct pt_mqtt_user *u;
    const char *uname;
    uint16_t ulen;

    if (pub == NULL)
        return true;    /* removed since the caller looked */
    u = s != NULL ? pt_mqtt_user_of(c->mc->b, s->user) : NULL;
    uname = u != NULL ? u->name : NULL;
    ulen = u != NULL ? u->len : 0;
    sec = section(c, pub, u);
    return (subscribe ? pt_acl_may_subscribe : pt_acl_may_publish)(
        pub->acl, sec, uname, ulen, s != NULL ? s->cid : "",
        s != NULL ? s->cid_len : 0, name, len);
}

/* ---- revoking what a reloaded ACL refuses ---- */

struct sweep {
    struct pt_mqtt_core *mc;
    const struct pt_acl_pub *pub;
    const struct pt_acl_section *sec;
    const struct pt_mqtt_session *s;
    const struct pt_mqtt_user *u;
    struct rte_mbuf *head, *tail;   /* denied filters: len16, bytes */
    int err;
};

static int
check_filter(void *arg, const char *f, size_t len, uint8_t qos)
{
    struct sweep *w = arg;
    uint16_t l = (uint16_t)len;

    (void)qos;
    if (pt_acl_may_subscribe(w->pub->acl, w->sec,
                             w->u != NULL ? w->u->name : NULL,
                             w->u != NULL ? w->u->len : 0, w->s->cid,
                             w->s->cid_len, f, len))
        return 0;
    if (pt_mqtt_blob_append(w->mc->pool, &w->head, &w->tail, &l,
                            sizeof(l)) != 0 ||
        pt_mqtt_blob_append(w->mc->pool, &w->head, &w->tail, f, l) != 0)
        w->err = -ENOBUFS;
    return 0;
}

static void
sweep_session(void *arg, uint64_t id, void *obj)
{
    struct sweep *w = arg;
    struct pt_mqtt_session *s = obj;
    struct pt_mqtt_core *mc = w->mc;
    uint32_t off = 0;

    (void)id;
    if (s->n_subs == 0)
        return;
    w->s = s;
    w->u = pt_mqtt_user_of(mc->b, s->user);
    w->sec = pt_acl_section(w->pub->acl, w->u != NULL ? w->u->name : NULL,
                            w->u != NULL ? w->u->len : 0);
    w->head = w->tail = NULL;
    pt_mqtt_trie_for_each(mc->trie, s->id, check_filter, w);
    while (w->head != NULL && off + 2 <= w->head->pkt_len) {
        uint16_t len;

        pt_mqtt_copy(w->head, off, 2, &len);
        if (off + 2 + len > w->head->pkt_len || len > mc->pscratch_len)
            break;
        pt_mqtt_copy(w->head, off + 2, len, mc->pscratch);
        if (pt_mqtt_session_unsubscribe(mc, s, (const char *)mc->pscratch,
                                        len) == 0)
            pt_mqtt_count(mc, PT_MQTT_C_ACL_REVOKED, 1);
        off += 2u + len;
    }
    rte_pktmbuf_free(w->head);
}

void
pt_mqtt_acl_sweep(struct pt_mqtt_core *mc)
{
    const struct pt_acl_pub *pub = __atomic_load_n(&mc->b->acl,
                                                   __ATOMIC_ACQUIRE);
    struct sweep w = { .mc = mc, .pub = pub };

    mc->acl_gen = pub != NULL ? pub->gen : 0;
    if (pub == NULL)
        return;             /* no ACL: nothing is refused */
    pt_actor_for_each(mc->sids, sweep_session, &w);
    if (w.err != 0)
        PT_LOG(WARNING, mqtt_access, "core %u: no mbufs to check every "
               "subscription against the new ACL; some may stay",
               mc->core);
}
