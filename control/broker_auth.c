/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Login credentials and access control, on the control plane.
 *
 * A LOGIN from a core carries the client's address, user name and
 * password. pt_bctl_authenticate() decides, in this order:
 *   1. no user name: accepted only with mqtt.allow_anonymous (else 0x05);
 *   2. the source address, then the user name, is throttled (blocked after
 *      auth.fail_limit failures, doubling up to auth.fail_block_max_ms):
 *      refused 0x05 without looking at the password, so a guessing flood
 *      costs a hash lookup per attempt, not a PBKDF2 run; the attempt
 *      counts as one more failure of the key that is blocked;
 *   3. with a password file: the password must match (PBKDF2 or SHA-512
 *      runs here, never on a core); a wrong password or an unknown user
 *      gets 0x04 and one failure for both the address and the name; a
 *      success forgets both;
 *      without one: the name is taken unchecked when anonymous access is
 *      on (it only names the client for the ACL), refused 0x05 when off;
 *   4. the name is interned (an index into pt_broker.users that the core
 *      keeps in the session; the ACL's %u reads it): 0x03 when
 *      auth.max_users names are known.
 *
 * ACL publication (RCU): the compiled ACL goes out wrapped in a
 * pt_acl_pub with a fresh generation, by an atomic exchange of
 * pt_broker.acl; the old one waits in the retire list (pt_bctl_retire)
 * until the route table's QSBR variable says every core has passed a
 * quiescent state (rte_rcu_qsbr_check, never blocking), then is freed.
 *
 * Threading: control-plane thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include <petrel/acl.h>
#include <petrel/auth.h>
#include <petrel/log.h>

#include "broker_ctl_priv.h"

PT_LOG_REGISTER(ctl_auth, pt.ctl.auth, INFO);

int
pt_bctl_auth_init(struct pt_broker_ctl *x)
{
    const struct pt_config *cfg = x->b->cfg;

    x->b->users = calloc(cfg->auth_max_users, sizeof(*x->b->users));
    x->thr_src = pt_throttle_create(cfg->auth_throttle_entries);
    x->thr_user = pt_throttle_create(cfg->auth_throttle_entries);
    x->user_ids = pt_strmap_create(rte_rdtsc() * 7);
    x->n_users = 1;     /* 0 is anonymous */
    if (x->b->users == NULL || x->thr_src == NULL || x->thr_user == NULL ||
        x->user_ids == NULL)
        return -ENOMEM;
    return 0;
}

/* An ACL publication past its grace period (pt_bctl_retire). */
static void
acl_pub_free(struct pt_broker_ctl *x, void *obj)
{
    struct pt_acl_pub *pub = obj;

    (void)x;
    pt_acl_free(pub->acl);
    free(pub);
}

void
pt_bctl_auth_fini(struct pt_broker_ctl *x)
{
    struct pt_broker *b = x->b;
    struct pt_acl_pub *pub;

    /* the cores are stopped (or never ran) by now */
    pub = __atomic_exchange_n(&b->acl, NULL, __ATOMIC_ACQ_REL);
    if (pub != NULL)
        acl_pub_free(x, pub);
    pt_passwd_free(x->pw);
    x->pw = NULL;
    pt_throttle_destroy(x->thr_src);
    pt_throttle_destroy(x->thr_user);
    pt_strmap_free(x->user_ids);
    if (b->users != NULL) {
        for (uint32_t i = 0; i < x->n_users; i++)
            free(b->users[i]);
        free(b->users);
        b->users = NULL;
    }
}

/* The index of a user name, interned on first use. @return 0 when the
 * table is full (or no memory). */
static uint32_t
intern(struct pt_broker_ctl *x, const char *user, uint16_t len)
{
    uintptr_t v = (uintptr_t)pt_strmap_get(x->user_ids, user, len);
    struct pt_mqtt_user *u;
    int err;

    if (v != 0)
        return (uint32_t)v;
    if (x->n_users >= x->b->cfg->auth_max_users)
        return 0;
    u = malloc(sizeof(*u) + len);
    if (u == NULL)
        return 0;
    u->len = len;
    memcpy(u->name, user, len);
    pt_strmap_put(x->user_ids, u->name, len, (void *)(uintptr_t)x->n_users,
                  &err);
    if (err != 0) {
        free(u);
        return 0;
    }
    /* visible to a core through the ring that carries LOGIN_OK (release
     * on enqueue, acquire on dequeue) */
    x->b->users[x->n_users] = u;
    count(&x->st.users, 1);
    return x->n_users++;
}

uint8_t
pt_bctl_authenticate(struct pt_broker_ctl *x, const struct pt_bus_login *lg,
                     const char *user, const char *pass, uint32_t *user_idx)
{
    const struct pt_config *cfg = x->b->cfg;
    const struct pt_throttle_policy pol = {
        .limit = cfg->auth_fail_limit,
        .block_ms = cfg->auth_fail_block_ms,
        .block_max_ms = cfg->auth_fail_block_max_ms,
    };
    uint64_t now_ms = x->now_ns / 1000000u;

    *user_idx = 0;
    if (user == NULL) {
        if (cfg->mqtt_allow_anonymous)
            return 0;
        count(&x->st.auth_no_credentials, 1);
        return PT_MQTT_CONNACK_NOT_AUTHORIZED;
    }
    if (pt_throttle_blocked(x->thr_src, &lg->src_ip, sizeof(lg->src_ip),
                            now_ms, &pol) != 0) {
        pt_throttle_fail(x->thr_src, &lg->src_ip, sizeof(lg->src_ip), now_ms,
                         &pol);
        count(&x->st.auth_throttled, 1);
        return PT_MQTT_CONNACK_NOT_AUTHORIZED;
    }
    if (pt_throttle_blocked(x->thr_user, user, lg->user_len, now_ms,
                            &pol) != 0) {
        pt_throttle_fail(x->thr_user, user, lg->user_len, now_ms, &pol);
        count(&x->st.auth_throttled, 1);
        return PT_MQTT_CONNACK_NOT_AUTHORIZED;
    }
    if (x->pw != NULL) {
        /* one check either way (an unknown name costs a hash too, so
         * timing does not tell which names exist); no password never
         * matches */
        enum pt_auth_result r =
            pt_passwd_check(x->pw, user, lg->user_len,
                            pass != NULL ? pass : "",
                            pass != NULL ? lg->pass_len : 0);

        if (pass == NULL && r == PT_AUTH_OK)
            r = PT_AUTH_BAD_PASSWORD;
        if (r != PT_AUTH_OK) {
            count(r == PT_AUTH_UNKNOWN_USER ? &x->st.auth_unknown_user
                                            : &x->st.auth_bad_password, 1);
            pt_throttle_fail(x->thr_src, &lg->src_ip, sizeof(lg->src_ip),
                             now_ms, &pol);
            pt_throttle_fail(x->thr_user, user, lg->user_len, now_ms, &pol);
            PT_LOG(INFO, ctl_auth, "login refused: %s for user %.*s",
                   r == PT_AUTH_UNKNOWN_USER ? "unknown user"
                                             : "wrong password",
                   (int)RTE_MIN(lg->user_len, 64), user);
            return PT_MQTT_CONNACK_BAD_LOGIN;
        }
        count(&x->st.auth_ok, 1);
        pt_throttle_forget(x->thr_src, &lg->src_ip, sizeof(lg->src_ip));
        pt_throttle_forget(x->thr_user, user, lg->user_len);
    } else if (!cfg->mqtt_allow_anonymous) {
        /* nothing to check the name against: it proves nothing */
        count(&x->st.auth_no_credentials, 1);
        return PT_MQTT_CONNACK_NOT_AUTHORIZED;
    }
    *user_idx = intern(x, user, lg->user_len);
    if (*user_idx == 0) {
        count(&x->st.auth_users_full, 1);
        return PT_MQTT_CONNACK_UNAVAILABLE;
    }
    return 0;
}

int
pt_broker_ctl_load_passwd(struct pt_broker *b, char *err, size_t errlen)
{
    struct pt_broker_ctl *x = b->ctl;
    const char *path = b->cfg->auth_password_file;
    struct pt_passwd *pw = NULL;
    int rc;

    if (path[0] != '\0') {
        rc = pt_passwd_load(path, &pw, err, errlen);
        if (rc != 0) {
            count(&x->st.reload_errors, 1);
            PT_LOG(ERR, ctl_auth, "password file not loaded (the previous "
                   "one stays in force): %s", err);
            return rc;
        }
    }
    pt_passwd_free(x->pw);
    x->pw = pw;
    count(&x->st.reloads, 1);
    count(&x->st.passwd_users,
          (int64_t)(pw != NULL ? pt_passwd_count(pw) : 0) -
              (int64_t)x->st.passwd_users);
    if (pw != NULL)
        PT_LOG(INFO, ctl_auth, "password file %s: %zu users", path,
               pt_passwd_count(pw));
    return 0;
}

int
pt_broker_ctl_load_acl(struct pt_broker *b, char *err, size_t errlen)
{
    struct pt_broker_ctl *x = b->ctl;
    const char *path = b->cfg->auth_acl_file;
    struct pt_acl_pub *pub = NULL, *old;
    struct pt_acl_info info = { 0 };
    struct retire *r;
    struct pt_acl *acl = NULL;
    int rc;

    if (path[0] != '\0') {
        rc = pt_acl_load(path, &acl, err, errlen);
        if (rc != 0) {
            count(&x->st.reload_errors, 1);
            PT_LOG(ERR, ctl_auth, "ACL not loaded (the previous one stays "
                   "in force): %s", err);
            return rc;
        }
        pub = malloc(sizeof(*pub));
        if (pub == NULL)
            goto oom;
        pub->acl = acl;
        pub->gen = ++x->acl_gen;
        pt_acl_info(acl, &info);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto oom;
    old = __atomic_exchange_n(&b->acl, pub, __ATOMIC_ACQ_REL);
    pt_bctl_retire(x, r, old, acl_pub_free);
    count(&x->st.reloads, 1);
    count(&x->st.acl_rules, (int64_t)(info.topics + info.patterns) -
                                (int64_t)x->st.acl_rules);
    if (pub != NULL)
        PT_LOG(INFO, ctl_auth, "ACL %s: %zu users, %zu topic and %zu "
               "pattern entries", path, info.users, info.topics,
               info.patterns);
    return 0;

oom:
    free(pub);
    pt_acl_free(acl);
    snprintf(err, errlen, "%s: out of memory", path);
    count(&x->st.reload_errors, 1);
    return -ENOMEM;
}
