/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The content rules on the dataplane: the verdict on one PUBLISH.
 *
 * The control plane publishes the compiled rules (include/petrel/rules.h)
 * by RCU in a struct pt_rules_pub with a Hyperscan scratch for each core
 * and each core's row of hit counters; a core loads the pointer with an
 * acquire inside its poll iteration, so the object outlives the scan.
 *
 * Hyperscan's block mode scans contiguous bytes: a payload that spans
 * mbuf segments is copied into the core's rbuf first (mqtt.max_packet
 * bytes, allocated at start), so a pattern across a segment boundary is
 * found. The topic is contiguous already (the codec's view, or a
 * message's head segment). Wills are scanned when they are published: a
 * drop or disconnect verdict keeps a will from being published.
 *
 * Threading: the connection's core only; no allocation, no locks.
 */
#include <petrel/rules.h>

#include "mqtt_priv.h"

/* The verdict on topic and a contiguous payload, counted. */
static int
verdict(struct pt_mqtt_core *mc, const char *topic, size_t tlen,
        const void *payload, size_t plen)
{
    const struct pt_rules_pub *pub = __atomic_load_n(&mc->b->rules,
                                                     __ATOMIC_ACQUIRE);
    struct pt_rules_verdict v;

    if (pub == NULL)
        return -1;      /* removed since the caller looked */
    pt_mqtt_count(mc, PT_MQTT_C_RULE_SCANNED, 1);
    if (pt_rules_scan(pub->rules, pub->scratch[mc->core], topic, tlen,
                      payload, plen, pub->hits + (size_t)mc->core * pub->n,
                      &v) != 0) {
        pt_mqtt_count(mc, PT_MQTT_C_RULE_ERRORS, 1);
        return -1;
    }
    return v.action;
}

int
pt_mqtt_rules_check(struct pt_mqtt_conn *c, const struct pt_mqtt_publish *p)
{
    struct pt_mqtt_core *mc = c->mc;
    const struct pt_mqtt_span *sp = &p->payload;
    const void *payload = NULL;

    if (sp->len > 0) {
        if (sp->seg != NULL && sp->seg_off + sp->len <= sp->seg->data_len)
            payload = rte_pktmbuf_mtod_offset(sp->seg, const char *,
                                              sp->seg_off);
        else if (pt_mqtt_span_copy(sp, mc->rbuf, mc->pscratch_len) == sp->len)
            payload = mc->rbuf;
        else
            return -1;  /* cannot happen: max_packet bounds the payload */
    }
    return verdict(mc, p->topic.p, p->topic.len, payload,
                   payload != NULL ? sp->len : 0);
}

int
pt_mqtt_rules_check_msg(struct pt_mqtt_core *mc, const struct rte_mbuf *m)
{
    const struct pt_msg_meta *mm = pt_msg_meta(m);
    uint32_t plen = pt_msg_payload_len(m);
    const void *payload = NULL;

    if (plen > mc->pscratch_len)
        return -1;      /* cannot happen: max_packet bounds a will */
    if (plen > 0)
        payload = rte_pktmbuf_read(m, mm->hdr_len + 2u + mm->topic_len, plen,
                                   mc->rbuf);
    return verdict(mc, pt_msg_topic(m), mm->topic_len, payload,
                   payload != NULL ? plen : 0);
}
