/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's operator commands: `clients list|show|kick`, `sessions`,
 * `routes`, `subscriptions`, `user add|passwd|del|list`, `acl reload`.
 *
 * Listings answer at once from the control plane's tables. `clients show`,
 * `clients kick` and `subscriptions ID` ask the core that holds the client
 * and defer: the core's answer comes back through
 * pt_broker_ctl_on_answer() and goes to the waiting request with
 * pt_ctl_answer() (a core that never answers: the control socket times
 * the request out).
 *
 * `user ...` rewrites auth.password_file atomically (write, fsync,
 * rename) and reloads it; passwords arrive as an argument of a JSON
 * request (petrelctl reads them without echo) and are never logged.
 *
 * Threading: control-plane thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <petrel/auth.h>
#include <petrel/broker.h>
#include <petrel/control.h>
#include <petrel/ctl.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_cmd_broker, pt.ctl.cmd, INFO);

#define LIST_LIMIT_DEFAULT 1000

enum { C_LIST, C_SHOW, C_KICK, C_SESSIONS, C_ROUTES, C_SUBS, C_USER_ADD,
       C_USER_PASSWD, C_USER_DEL, C_USER_LIST, C_ACL_RELOAD, C_MAX };

struct cmd_broker {
    struct pt_ctl *ctl;
    struct pt_broker *b;
    struct pt_dp *dp;
    const struct pt_config *cfg;
    struct pt_ctl_cmd cmds[C_MAX];
};

/* A JSON string of len bytes that need not end in NUL. */
static void
json_strn(struct pt_buf *out, const char *s, size_t len)
{
    char *tmp = malloc(len + 1);

    if (tmp == NULL) {
        out->oom = 1;
        return;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    pt_buf_json_str(out, tmp);
    free(tmp);
}

/* [MATCH] [LIMIT] of a listing. @return 0 or -EINVAL (message in out). */
static int
list_args(int argc, char **argv, const char **match, size_t *limit,
          struct pt_buf *out)
{
    char *end;

    *match = argc > 0 ? argv[0] : NULL;
    *limit = LIST_LIMIT_DEFAULT;
    if (argc > 1) {
        unsigned long v = strtoul(argv[1], &end, 10);

        if (*end != '\0' || argv[1][0] == '\0' || argv[1][0] == '-') {
            pt_buf_printf(out, "limit '%s' is not a number", argv[1]);
            return -EINVAL;
        }
        *limit = v;
    }
    if (argc > 2) {
        pt_buf_printf(out, "too many arguments: [MATCH] [LIMIT]");
        return -EINVAL;
    }
    return 0;
}

struct list_out {
    struct pt_buf *out;
    size_t shown;
};

static void
client_json(void *arg, const struct pt_broker_client *c)
{
    struct list_out *lo = arg;
    struct pt_buf *out = lo->out;
    char a[INET_ADDRSTRLEN] = "";

    if (c->ip != 0)
        inet_ntop(AF_INET, &c->ip, a, sizeof(a));
    pt_buf_printf(out, "%s{\"client_id\":", lo->shown++ ? "," : "");
    json_strn(out, c->cid, c->cid_len);
    pt_buf_printf(out, ",\"state\":\"%s\",\"core\":%u,\"user\":", c->state,
                  c->core);
    if (c->user != NULL)
        json_strn(out, c->user, c->user_len);
    else
        pt_buf_printf(out, "null");
    if (c->ip != 0)
        pt_buf_printf(out, ",\"address\":\"%s:%u\"", a, c->port);
    else
        pt_buf_printf(out, ",\"address\":null");
    pt_buf_printf(out, ",\"clean_session\":%s,\"since_s\":%.1f}",
                  c->clean ? "true" : "false", c->online_s);
}

static int
list_clients(struct cmd_broker *cb, int argc, char **argv,
             struct pt_buf *out, bool online_only)
{
    struct list_out lo = { .out = out };
    const char *match;
    size_t limit, total;

    if (list_args(argc, argv, &match, &limit, out) != 0)
        return -EINVAL;
    pt_buf_printf(out, "{\"%s\":[", online_only ? "clients" : "sessions");
    total = pt_broker_ctl_clients(cb->b, match, online_only, limit,
                                  client_json, &lo);
    pt_buf_printf(out, "],\"matched\":%zu,\"shown\":%zu}", total, lo.shown);
    return 0;
}

static int
cmd_list(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return list_clients(ctx, argc, argv, out, true);
}

static int
cmd_sessions(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return list_clients(ctx, argc, argv, out, false);
}

static void
route_json(void *arg, const char *f, size_t len, uint64_t cores)
{
    struct list_out *lo = arg;
    struct pt_buf *out = lo->out;
    bool first = true;

    pt_buf_printf(out, "%s{\"filter\":", lo->shown++ ? "," : "");
    json_strn(out, f, len);
    pt_buf_printf(out, ",\"cores\":[");
    for (unsigned i = 0; i < 64; i++) {
        if (cores & (1ull << i)) {
            pt_buf_printf(out, "%s%u", first ? "" : ",", i);
            first = false;
        }
    }
    pt_buf_printf(out, "]}");
}

static int
cmd_routes(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_broker *cb = ctx;
    struct list_out lo = { .out = out };
    const char *match;
    size_t limit, total;

    if (list_args(argc, argv, &match, &limit, out) != 0)
        return -EINVAL;
    pt_buf_printf(out, "{\"routes\":[");
    total = pt_broker_ctl_routes(cb->b, match, limit, route_json, &lo);
    pt_buf_printf(out, "],\"matched\":%zu,\"shown\":%zu}", total, lo.shown);
    return 0;
}

/* ---- deferred: a core answers ---- */

static void
on_answer(void *arg, uint64_t ticket, int err, const char *text, size_t len)
{
    struct cmd_broker *cb = arg;
    const char *msg;

    if (err == 0) {
        pt_ctl_answer(cb->ctl, ticket, 0, text, len);
        return;
    }
    switch (err) {
    case ENOENT: msg = "no such client (it went away)"; break;
    case ENOTCONN: msg = "the client is not connected"; break;
    default: msg = strerror(err); break;
    }
    pt_ctl_answer(cb->ctl, ticket, -err, msg, strlen(msg));
}

static int
ask_core(struct cmd_broker *cb, int argc, char **argv, struct pt_buf *out,
         enum pt_broker_query q)
{
    int rc;

    if (argc != 1) {
        pt_buf_printf(out, "usage: CLIENT_ID");
        return -EINVAL;
    }
    rc = pt_broker_ctl_query(cb->b, argv[0], strlen(argv[0]), q,
                             pt_ctl_ticket(cb->ctl));
    switch (rc) {
    case 0:
        return PT_CTL_DEFER;
    case -ENOENT:
        pt_buf_printf(out, "no client id '%s'", argv[0]);
        break;
    case -ENOTCONN:
        pt_buf_printf(out, "'%s' is an offline session: nothing to kick",
                      argv[0]);
        break;
    case -EBUSY:
        pt_buf_printf(out, "'%s' is moving between cores; try again",
                      argv[0]);
        break;
    default:
        pt_buf_printf(out, "the core's ring is full; try again");
        break;
    }
    return rc;
}

static int
cmd_show(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return ask_core(ctx, argc, argv, out, PT_BROKER_SHOW);
}

static int
cmd_kick(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return ask_core(ctx, argc, argv, out, PT_BROKER_KICK);
}

static int
cmd_subs(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_broker *cb = ctx;
    uint64_t total = 0;
    unsigned n = pt_dp_n_cores(cb->dp);

    if (argc > 0)
        return ask_core(cb, argc, argv, out, PT_BROKER_SUBS);
    /* no client: the totals */
    pt_buf_printf(out, "{\"per_core\":[");
    for (unsigned i = 0; i < n; i++) {
        struct pt_dp_core_info ci;

        pt_dp_core_info(pt_dp_core(cb->dp, i), &ci);
        total += ci.mqtt.subscriptions;
        pt_buf_printf(out, "%s{\"core\":%u,\"subscriptions\":%lu}",
                      i ? "," : "", i, (unsigned long)ci.mqtt.subscriptions);
    }
    pt_buf_printf(out, "],\"subscriptions\":%lu,\"filters\":%zu}",
                  (unsigned long)total,
                  pt_broker_ctl_routes(cb->b, NULL, 0, NULL, NULL));
    return 0;
}

/* ---- users and ACL ---- */

static int
passwd_path(struct cmd_broker *cb, struct pt_buf *out)
{
    if (cb->cfg->auth_password_file[0] == '\0') {
        pt_buf_printf(out, "auth.password_file is not set: no password "
                      "file to change");
        return -ENOENT;
    }
    return 0;
}

/* Is user in the file as it is on disk now? -1: the file is unreadable. */
static int
user_exists(struct cmd_broker *cb, const char *user, struct pt_buf *out)
{
    struct pt_passwd *pw = NULL;
    char err[256];
    int rc = pt_passwd_load(cb->cfg->auth_password_file, &pw, err,
                            sizeof(err));

    if (rc == -ENOENT)
        return 0;               /* `user add` creates it */
    if (rc != 0) {
        pt_buf_printf(out, "%s", err);
        return -1;
    }
    rc = pt_passwd_check(pw, user, strlen(user), "", 0) !=
         PT_AUTH_UNKNOWN_USER;
    pt_passwd_free(pw);
    return rc;
}

static int
user_change(struct cmd_broker *cb, int argc, char **argv, struct pt_buf *out,
            int kind)
{
    char err[256];
    int exists, rc;

    if (passwd_path(cb, out) != 0)
        return -ENOENT;
    if (argc != (kind == C_USER_DEL ? 1 : 2)) {
        pt_buf_printf(out, kind == C_USER_DEL ? "usage: user del NAME"
                                              : "usage: NAME PASSWORD");
        return -EINVAL;
    }
    exists = user_exists(cb, argv[0], out);
    if (exists < 0)
        return -EIO;
    if (kind == C_USER_ADD && exists) {
        pt_buf_printf(out, "user '%s' exists; `user passwd` changes a "
                      "password", argv[0]);
        return -EEXIST;
    }
    if (kind != C_USER_ADD && !exists) {
        pt_buf_printf(out, "no user '%s' in %s", argv[0],
                      cb->cfg->auth_password_file);
        return -ENOENT;
    }
    rc = pt_passwd_file_update(cb->cfg->auth_password_file, argv[0],
                               kind == C_USER_DEL ? NULL : argv[1], err,
                               sizeof(err));
    if (argc > 1)
        explicit_bzero(argv[1], strlen(argv[1]));
    if (rc != 0) {
        pt_buf_printf(out, "%s", err);
        return rc;
    }
    PT_LOG(NOTICE, ctl_cmd_broker, "user %s %s in %s", argv[0],
           kind == C_USER_ADD ? "added" : kind == C_USER_DEL ? "deleted"
                                                             : "changed",
           cb->cfg->auth_password_file);
    rc = pt_broker_ctl_load_passwd(cb->b, err, sizeof(err));
    if (rc != 0) {
        pt_buf_printf(out, "file written, but reloading it failed: %s", err);
        return rc;
    }
    pt_buf_printf(out, "{\"user\":");
    pt_buf_json_str(out, argv[0]);
    pt_buf_printf(out, ",\"%s\":true}", kind == C_USER_ADD ? "added"
                                        : kind == C_USER_DEL ? "deleted"
                                                             : "changed");
    return 0;
}

static int
cmd_user_add(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return user_change(ctx, argc, argv, out, C_USER_ADD);
}

static int
cmd_user_passwd(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return user_change(ctx, argc, argv, out, C_USER_PASSWD);
}

static int
cmd_user_del(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    return user_change(ctx, argc, argv, out, C_USER_DEL);
}

struct names {
    struct pt_buf *out;
    size_t n;
};

static void
name_json(void *arg, const char *user, size_t len)
{
    struct names *nm = arg;

    pt_buf_printf(nm->out, "%s", nm->n++ ? "," : "");
    json_strn(nm->out, user, len);
}

static int
cmd_user_list(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_broker *cb = ctx;
    struct pt_passwd *pw = NULL;
    struct names nm = { .out = out };
    char err[256];
    int rc;

    (void)argc;
    (void)argv;
    if (passwd_path(cb, out) != 0)
        return -ENOENT;
    rc = pt_passwd_load(cb->cfg->auth_password_file, &pw, err, sizeof(err));
    if (rc != 0) {
        pt_buf_printf(out, "%s", err);
        return rc;
    }
    pt_buf_printf(out, "{\"file\":");
    pt_buf_json_str(out, cb->cfg->auth_password_file);
    pt_buf_printf(out, ",\"users\":[");
    pt_passwd_foreach(pw, name_json, &nm);
    pt_buf_printf(out, "]}");
    pt_passwd_free(pw);
    return 0;
}

static int
cmd_acl_reload(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_broker *cb = ctx;
    struct pt_broker_ctl_stats st;
    char err[512];
    int rc;

    (void)argc;
    (void)argv;
    rc = pt_broker_ctl_load_acl(cb->b, err, sizeof(err));
    if (rc != 0) {
        pt_buf_printf(out, "%s (the ACL in force is unchanged)", err);
        return rc;
    }
    pt_broker_ctl_stats(cb->b, &st);
    pt_buf_printf(out, "{\"acl_file\":");
    pt_buf_json_str(out, cb->cfg->auth_acl_file);
    pt_buf_printf(out, ",\"entries\":%lu}", (unsigned long)st.acl_rules);
    return 0;
}

static const struct pt_ctl_cmd templates[C_MAX] = {
    [C_LIST] = { "clients list", "[MATCH] [LIMIT]",
                 "connected clients whose id contains MATCH (at most LIMIT, "
                 "default 1000): id, core, user, address, since", cmd_list },
    [C_SHOW] = { "clients show", "CLIENT_ID",
                 "one client, from its core: state, address, keep-alive, "
                 "in-flight and queued messages, subscriptions", cmd_show },
    [C_KICK] = { "clients kick", "CLIENT_ID",
                 "close a client's connection (its will is published; a "
                 "persistent session stays)", cmd_kick },
    [C_SESSIONS] = { "sessions", "[MATCH] [LIMIT]",
                     "every client id the broker holds, online and offline "
                     "persistent sessions", cmd_sessions },
    [C_ROUTES] = { "routes", "[MATCH] [LIMIT]",
                   "route table: each topic filter with the cores that have "
                   "subscribers on it", cmd_routes },
    [C_SUBS] = { "subscriptions", "[CLIENT_ID]",
                 "a client's subscriptions (from its core), or the totals "
                 "per core", cmd_subs },
    [C_USER_ADD] = { "user add", "NAME PASSWORD",
                     "add a user to auth.password_file ($7$ PBKDF2-SHA512) "
                     "and reload it", cmd_user_add },
    [C_USER_PASSWD] = { "user passwd", "NAME PASSWORD",
                        "change a user's password and reload",
                        cmd_user_passwd },
    [C_USER_DEL] = { "user del", "NAME",
                     "remove a user from the password file and reload (its "
                     "sessions stay until they reconnect)", cmd_user_del },
    [C_USER_LIST] = { "user list", "", "the users in the password file",
                      cmd_user_list },
    [C_ACL_RELOAD] = { "acl reload", "",
                       "re-read auth.acl_file and swap it in (no session is "
                       "dropped); a bad file changes nothing",
                       cmd_acl_reload },
};

static struct cmd_broker the_cmds;

int
pt_cmd_broker_register(struct pt_ctl *ctl, struct pt_broker *b,
                       struct pt_dp *dp, const struct pt_config *cfg)
{
    struct cmd_broker *cb = &the_cmds;
    int rc;

    cb->ctl = ctl;
    cb->b = b;
    cb->dp = dp;
    cb->cfg = cfg;
    pt_broker_ctl_on_answer(b, on_answer, cb);
    for (unsigned i = 0; i < C_MAX; i++) {
        cb->cmds[i] = templates[i];
        cb->cmds[i].ctx = cb;
        rc = pt_ctl_register(ctl, &cb->cmds[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}
