/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The content rules on the control plane: compile a rules file, publish it
 * to the cores, keep the per-rule match counts.
 *
 * Publication (RCU, as the ACL's in broker_auth.c): the compiled set goes
 * out in a struct pt_rules_pub with one Hyperscan scratch per core (a
 * scratch is allocated here, never on a core) and a row of hit counters
 * per core, by an atomic exchange of pt_broker.rules; the old publication
 * waits for a grace period of the route table's QSBR variable, then its
 * counts are folded into the totals and it is freed. No core ever waits
 * for a compile: a reload costs the cores one pointer load.
 *
 * Totals: rule id -> matches of publications already retired, so a rule
 * keeps its count across reloads (a new file with the same id goes on
 * counting). `rules stats`, metrics and $SYS read totals + the live rows
 * (relaxed loads of the cores' counters). $SYS/broker/rules/<id>/matches
 * is published for a rule when its count moved since the last period.
 *
 * Threading: control-plane thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include <petrel/log.h>
#include <petrel/rules.h>

#include "broker_ctl_priv.h"

PT_LOG_REGISTER(ctl_rules, pt.ctl.rules, INFO);

/* A rule id's count outside the live publication. */
struct rule_total {
    uint64_t retired;        /* matches of retired publications */
    uint64_t published;      /* last value sent to $SYS */
};

static void
pub_free(struct pt_broker_ctl *x, struct pt_rules_pub *pub)
{
    if (pub == NULL)
        return;
    for (unsigned i = 0; i < x->b->n; i++)
        pt_rules_scratch_free(pub->scratch[i]);
    free(pub->hits);
    pt_rules_free(pub->rules);
    free(pub);
}

static struct rule_total *
total_of(struct pt_broker_ctl *x, uint32_t id, bool create)
{
    struct rule_total *t = pt_strmap_get(x->rule_totals, &id, sizeof(id));
    int err;

    if (t != NULL || !create)
        return t;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    pt_strmap_put(x->rule_totals, &id, sizeof(id), t, &err);
    if (err != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* Matches of rule i counted by the cores in pub (relaxed). */
static uint64_t
live_hits(const struct pt_broker_ctl *x, const struct pt_rules_pub *pub,
          unsigned i)
{
    uint64_t n = 0;

    for (unsigned c = 0; c < x->b->n; c++)
        n += __atomic_load_n(&pub->hits[(size_t)c * pub->n + i],
                             __ATOMIC_RELAXED);
    return n;
}

/* A publication no core can see any more (pt_bctl_retire): keep its
 * counts, free it. */
static void
retire_rules(struct pt_broker_ctl *x, void *obj)
{
    struct pt_rules_pub *pub = obj;

    for (unsigned i = 0; pub != NULL && i < pub->n; i++) {
        struct pt_rule_info ri;
        struct rule_total *t;

        pt_rules_info(pub->rules, i, &ri);
        t = total_of(x, ri.id, true);
        if (t != NULL)
            t->retired += live_hits(x, pub, i);
    }
    pub_free(x, pub);
}

int
pt_bctl_rules_init(struct pt_broker_ctl *x)
{
    x->rule_totals = pt_strmap_create(0x5eed);
    return x->rule_totals != NULL ? 0 : -ENOMEM;
}

static void
free_total(void *arg, const void *key, size_t len, void *value)
{
    (void)arg;
    (void)key;
    (void)len;
    free(value);
}

void
pt_bctl_rules_fini(struct pt_broker_ctl *x)
{
    /* the cores are stopped (or never ran) by now */
    pub_free(x, __atomic_exchange_n(&x->b->rules, NULL, __ATOMIC_ACQ_REL));
    if (x->rule_totals != NULL) {
        pt_strmap_each(x->rule_totals, free_total, NULL);
        pt_strmap_free(x->rule_totals);
        x->rule_totals = NULL;
    }
}

/* The publication of r: a scratch and a row of counters per core. */
static struct pt_rules_pub *
pub_new(struct pt_broker_ctl *x, struct pt_rules *r)
{
    struct pt_rules_pub *pub = calloc(1, sizeof(*pub));

    if (pub == NULL)
        return NULL;
    pub->rules = r;
    pub->n = pt_rules_count(r);
    pub->hits = calloc((size_t)x->b->n * (pub->n ? pub->n : 1),
                       sizeof(*pub->hits));
    if (pub->hits == NULL)
        goto fail;
    for (unsigned i = 0; i < x->b->n; i++)
        if (pt_rules_scratch_alloc(r, &pub->scratch[i]) != 0)
            goto fail;
    for (unsigned i = 0; i < pub->n; i++) {
        struct pt_rule_info ri;

        pt_rules_info(r, i, &ri);
        if (total_of(x, ri.id, true) == NULL)
            goto fail;
    }
    return pub;

fail:
    pub->rules = NULL;      /* the caller frees r */
    pub_free(x, pub);
    return NULL;
}

int
pt_broker_ctl_load_rules(struct pt_broker *b, char *err, size_t errlen)
{
    struct pt_broker_ctl *x = b->ctl;
    const char *path = b->cfg->rules_file;
    struct pt_rules_pub *pub = NULL;
    struct pt_rules *r = NULL;
    struct retire *ret;
    int rc;

    if (path[0] != '\0') {
        rc = pt_rules_load(path, &r, err, errlen);
        if (rc != 0) {
            count(&x->st.rules_reload_errors, 1);
            PT_LOG(ERR, ctl_rules, "rules not loaded (the rules in force "
                   "stay): %s", err);
            return rc;
        }
        if (pt_rules_count(r) == 0) {
            pt_rules_free(r);   /* nothing to scan for: publish none */
            r = NULL;
        }
    }
    if (r != NULL) {
        pub = pub_new(x, r);
        if (pub == NULL)
            goto oom;
    }
    ret = calloc(1, sizeof(*ret));
    if (ret == NULL) {
        pub_free(x, pub);
        r = NULL;
        goto oom;
    }
    pt_bctl_retire(x, ret, __atomic_exchange_n(&b->rules, pub,
                                               __ATOMIC_ACQ_REL),
                   retire_rules);
    count(&x->st.rules_reloads, 1);
    count(&x->st.rules, (int64_t)(pub != NULL ? pub->n : 0) -
                            (int64_t)x->st.rules);
    if (pub != NULL)
        PT_LOG(INFO, ctl_rules, "content rules %s: %u rules", path, pub->n);
    return 0;

oom:
    pt_rules_free(r);
    snprintf(err, errlen, "%s: out of memory", path);
    count(&x->st.rules_reload_errors, 1);
    return -ENOMEM;
}

void
pt_broker_ctl_rules(struct pt_broker *b,
                    void (*fn)(void *arg, const struct pt_rule_info *r,
                               uint64_t matches),
                    void *arg)
{
    struct pt_broker_ctl *x = b->ctl;
    /* the control plane is the writer: what it published stays until it
     * retires it */
    const struct pt_rules_pub *pub = __atomic_load_n(&b->rules,
                                                     __ATOMIC_RELAXED);

    for (unsigned i = 0; pub != NULL && i < pub->n; i++) {
        struct pt_rule_info ri;
        const struct rule_total *t;

        pt_rules_info(pub->rules, i, &ri);
        t = total_of(x, ri.id, false);
        fn(arg, &ri, (t != NULL ? t->retired : 0) + live_hits(x, pub, i));
    }
}

void
pt_bctl_rules_sys(struct pt_broker_ctl *x)
{
    const struct pt_rules_pub *pub = __atomic_load_n(&x->b->rules,
                                                     __ATOMIC_RELAXED);

    for (unsigned i = 0; pub != NULL && i < pub->n; i++) {
        struct pt_rule_info ri;
        struct rule_total *t;
        uint64_t m;
        char topic[64];

        pt_rules_info(pub->rules, i, &ri);
        t = total_of(x, ri.id, false);
        if (t == NULL)
            continue;
        m = t->retired + live_hits(x, pub, i);
        if (m == t->published)
            continue;
        t->published = m;
        snprintf(topic, sizeof(topic), "$SYS/broker/rules/%u/matches", ri.id);
        pt_bctl_sys_publish(x, topic, "%lu", (unsigned long)m);
    }
}
