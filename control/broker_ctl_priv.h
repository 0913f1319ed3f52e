/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the control plane's half of the broker, shared by its files:
 *   broker_ctl.c    the ring protocol: logins, registry, routes, syncs,
 *                   retained store, $SYS (state machine there);
 *   broker_auth.c   credentials (password file, throttling), user names,
 *                   the ACL and its RCU publication;
 *   broker_admin.c  what the operator asks: clients, sessions, routes,
 *                   queries to cores and their answers, graceful stop;
 *   broker_rules.c  the content rules: publication, per-rule counts.
 *
 * Threading: control-plane thread only, like everything in them.
 */
#ifndef PETREL_BROKER_CTL_PRIV_H
#define PETREL_BROKER_CTL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <petrel/broker.h>

#include "mqtt_priv.h"
#include "strmap.h"

#define PT_CTL_BURST 64
/* Descriptors taken from one core's ring per pt_broker_ctl_poll() call. */
#define PT_CTL_POLL_MAX 4096

enum reg_state { R_ONLINE, R_OFFLINE, R_MOVING };

/** Who logged in, for the registry and `clients list`. */
struct reg_login {
    uint64_t since_ns;       /* when the login was granted */
    uint32_t user;           /* pt_broker.users index; 0 = anonymous */
    uint32_t ip;             /* network order */
    uint16_t port;
    uint8_t clean;
};

struct reg {
    enum reg_state state;
    unsigned core;           /* where conn / session lives */
    uint64_t conn;           /* ONLINE; MOVING: the old connection */
    uint64_t sid;            /* OFFLINE; MOVING: offline session seen */
    unsigned new_core;       /* MOVING: the waiting login */
    uint64_t new_conn;
    uint8_t retried;         /* MOVING: takeover by session id sent */
    uint8_t new_gone;        /* MOVING: the waiting login's connection
                              * closed meanwhile */
    struct reg_login cur;    /* the connection in ONLINE / OFFLINE */
    struct reg_login next;   /* MOVING: the waiting login's */
    uint16_t cid_len;
    char cid[PT_MQTT_CID_MAX];
};

/* A route the table refused (mqtt.max_routes reached), until the core's
 * next SYNC answers its filter with 0x80. */
struct refused {
    struct refused *next;
    uint16_t len;
    char filter[];
};

struct sync {
    struct sync *next;
    struct pt_bus_desc d;    /* the SYNC as received */
    uint64_t seq;            /* route changes it waits for */
};

/* An RCU publication (ACL, rules) that cores may still read: `done`
 * frees it once every core has passed a quiescent state. */
struct retire {
    struct retire *next;
    void *obj;
    void (*done)(struct pt_broker_ctl *x, void *obj);
    uint64_t token;                  /* rte_rcu_qsbr_start() */
};

struct pt_broker_ctl {
    struct pt_broker *b;
    struct pt_strmap *reg;
    struct pt_strmap *retained;
    struct sync *syncs, *syncs_tail;
    uint64_t last_seq;       /* newest route change staged */
    struct refused *refused[PT_MQTT_ROUTE_MAX_CORES];
    uint64_t next_sys_ns;
    uint64_t started_ns;
    uint64_t now_ns;         /* of the current poll */

    /* login and access (broker_auth.c) */
    struct pt_passwd *pw;            /* NULL: user names not checked */
    struct pt_throttle *thr_src;     /* failures per source address */
    struct pt_throttle *thr_user;    /* failures per user name */
    struct pt_strmap *user_ids;      /* name -> index (as a pointer) */
    uint32_t n_users;                /* indexes used; 0 is anonymous */
    struct retire *retire;           /* old publications in their grace
                                      * period (broker_ctl.c) */
    uint64_t acl_gen;                /* last publication's generation */

    /* content rules (broker_rules.c) */
    struct pt_strmap *rule_totals;   /* rule id -> struct rule_total */

    /* the operator (broker_admin.c) */
    struct pt_strmap *routes;        /* filter -> core mask (a pointer) */
    pt_broker_answer_fn answer_fn;
    void *answer_arg;
    unsigned shutdown_acks[3];       /* per PT_SHUTDOWN_* phase */

    struct pt_broker_ctl_stats st;
};

/* Bump a counter or gauge (owner only; relaxed store for readers). */
static inline void
count(uint64_t *c, int64_t d)
{
    __atomic_store_n(c, *c + (uint64_t)d, __ATOMIC_RELAXED);
}

/* broker_ctl.c */
/** Send d to a core (from = the control plane). @return 0 or -ENOBUFS. */
int pt_bctl_send(struct pt_broker_ctl *x, unsigned core,
                 struct pt_bus_desc *d);
/** The same for replies that must not be lost (spins briefly). */
void pt_bctl_send_must(struct pt_broker_ctl *x, unsigned core,
                       struct pt_bus_desc *d);
/** obj, just unpublished (an atomic exchange), goes to `done` after a
 * grace period; r is the caller's allocation (it cannot fail here). */
void pt_bctl_retire(struct pt_broker_ctl *x, struct retire *r, void *obj,
                    void (*done)(struct pt_broker_ctl *x, void *obj));
/** Hand what has passed its grace period to `done` (all: everything, the
 * cores being stopped). */
void pt_bctl_retire_poll(struct pt_broker_ctl *x, bool all);
/** Publish a retained $SYS message (payload formatted). */
void pt_bctl_sys_publish(struct pt_broker_ctl *x, const char *topic,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* broker_rules.c */
int pt_bctl_rules_init(struct pt_broker_ctl *x);
void pt_bctl_rules_fini(struct pt_broker_ctl *x);

/** $SYS/broker/rules/<id>/matches for the rules whose count moved. */
void pt_bctl_rules_sys(struct pt_broker_ctl *x);

/* broker_auth.c */
int pt_bctl_auth_init(struct pt_broker_ctl *x);
void pt_bctl_auth_fini(struct pt_broker_ctl *x);
/**
 * Check a login's credentials (throttling first, then the password file)
 * and intern its user name.
 * @return 0 with *user set, or the CONNACK code to refuse with.
 */
uint8_t pt_bctl_authenticate(struct pt_broker_ctl *x,
                             const struct pt_bus_login *lg,
                             const char *user, const char *pass,
                             uint32_t *user_idx);


/* broker_admin.c */
int pt_bctl_admin_init(struct pt_broker_ctl *x);
void pt_bctl_admin_fini(struct pt_broker_ctl *x);
/** A route change the table accepted: keep the filter's core mask. */
void pt_bctl_admin_route(struct pt_broker_ctl *x, const char *f,
                         uint16_t len, unsigned core, bool add);
/** A core answered a query (PT_BUS_ANSWER); frees the descriptor's mbuf. */
void pt_bctl_admin_answer(struct pt_broker_ctl *x,
                          const struct pt_bus_desc *d);

#endif /* PETREL_BROKER_CTL_PRIV_H */
