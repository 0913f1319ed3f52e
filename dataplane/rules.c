/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Content rules, dataplane half (include/petrel/rules.h): scan one
 * message against a compiled set (control/rules_load.c; layout in
 * rules_priv.h) with the calling core's scratch, and the read-only
 * accessors the commands and metrics use.
 *
 * A scan runs the topic database over the topic, then the payload
 * database over the payload (a NULL database, or an empty payload, is
 * skipped). Hyperscan calls match() once per match (per end offset of
 * each rule; once per rule and scan with the singlematch flag). The
 * first time a rule is met in the message its bit is set in the
 * scratch's seen-set and its index appended to the scratch's met list,
 * tagged when its topic filter (if any) admits the topic; later
 * matches of the same rule, in the topic or the payload, cost one bit
 * test. The verdict keeps the strongest admitted action, and among
 * equals the lowest rule index (earliest line).
 *
 * The scan is never stopped early, not even by a disconnect rule: the
 * counters of every matching rule stay exact, and a disconnect is rare
 * enough that the rest of the scan does not matter.
 *
 * After both scans, the met list is walked once: each bit is cleared
 * (so the seen-set is all zero between scans, at a cost proportional
 * to the rules met, not to the rule count) and, unless Hyperscan
 * failed, the hit counter of each admitted rule is bumped.
 *
 * Never: allocation, locks, syscalls, writes to the set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs.h>

#include <petrel/debug.h>
#include <petrel/mqtt.h>
#include <petrel/rules.h>

#include "rules_priv.h"

/* What match() needs; on the scanning core's stack. */
struct scan_ctx {
    const struct pt_rules *r;
    struct pt_rules_scratch *s;
    const char *topic;
    size_t tlen;
    unsigned nmet;
    int action;
    uint32_t rule;
};

static int
match(unsigned int id, unsigned long long from, unsigned long long to,
      unsigned int flags, void *arg)
{
    struct scan_ctx *c = arg;
    struct pt_rules_scratch *s = c->s;
    uint64_t bit = UINT64_C(1) << (id & 63);
    const struct rule *rl;

    (void)from;
    (void)to;
    (void)flags;
    if (s->seen[id >> 6] & bit)
        return 0;
    s->seen[id >> 6] |= bit;
    rl = &c->r->rules[id];
    if (rl->filter_len != 0 &&
        !pt_mqtt_topic_match(c->r->text + rl->filter_off, rl->filter_len,
                             c->topic, c->tlen)) {
        s->met[c->nmet++] = id;
        return 0;
    }
    s->met[c->nmet++] = id | RULES_ADMITTED;
    if ((int)rl->action > c->action ||
        ((int)rl->action == c->action && id < c->rule)) {
        c->action = rl->action;
        c->rule = id;
    }
    return 0;
}

int
pt_rules_scan(const struct pt_rules *r, struct pt_rules_scratch *s,
              const char *topic, size_t tlen, const void *payload,
              size_t plen, uint64_t *hits, struct pt_rules_verdict *v)
{
    struct scan_ctx c = {
        .r = r,
        .s = s,
        .topic = topic,
        .tlen = tlen,
        .action = -1,
        .rule = 0,
    };
    hs_error_t e = HS_SUCCESS;

    PT_HOT_ASSERT(s->nrules == r->n);
    PT_HOT_ASSERT(tlen <= UINT32_MAX && plen <= UINT32_MAX);
    if (r->db_topic != NULL && tlen > 0)
        e = hs_scan(r->db_topic, topic, (unsigned)tlen, 0, s->hs, match, &c);
    if (e == HS_SUCCESS && r->db_payload != NULL && plen > 0)
        e = hs_scan(r->db_payload, payload, (unsigned)plen, 0, s->hs, match,
                    &c);
    for (unsigned i = 0; i < c.nmet; i++) {
        uint32_t id = s->met[i] & ~RULES_ADMITTED;

        s->seen[id >> 6] &= ~(UINT64_C(1) << (id & 63));
        if (e == HS_SUCCESS && (s->met[i] & RULES_ADMITTED))
            __atomic_store_n(&hits[id], hits[id] + 1, __ATOMIC_RELAXED);
    }
    if (e != HS_SUCCESS) {
        v->action = -1;
        v->rule = 0;
        return -EIO;
    }
    v->action = c.action;
    v->rule = c.rule;
    return 0;
}

unsigned
pt_rules_count(const struct pt_rules *r)
{
    return r->n;
}

size_t
pt_rules_bytes(const struct pt_rules *r)
{
    return r->bytes;
}

void
pt_rules_info(const struct pt_rules *r, unsigned i, struct pt_rule_info *out)
{
    const struct rule *rl = &r->rules[i];

    out->id = rl->id;
    out->action = (enum pt_rule_action)rl->action;
    out->scope = (enum pt_rule_scope)rl->scope;
    out->line = rl->line;
    out->flags = r->text + rl->flags_off;
    out->filter = r->text + rl->filter_off;
    out->pattern = r->text + rl->pattern_off;
}

const char *
pt_rule_action_name(enum pt_rule_action a)
{
    switch (a) {
    case PT_RULE_COUNT:
        return "count";
    case PT_RULE_DROP:
        return "drop";
    case PT_RULE_DISCONNECT:
        return "disconnect";
    }
    return "?";
}

const char *
pt_rule_scope_name(enum pt_rule_scope s)
{
    switch (s) {
    case PT_RULE_TOPIC:
        return "topic";
    case PT_RULE_PAYLOAD:
        return "payload";
    case PT_RULE_BOTH:
        return "both";
    }
    return "?";
}

const char *
pt_rules_engine(void)
{
#ifdef PT_REGEX_VECTORSCAN
    return "vectorscan";
#else
    return "hyperscan";
#endif
}

const char *
pt_rules_engine_version(void)
{
    return hs_version();
}
