/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time administration: `config set`, `reload` (also SIGHUP), `log
 * level`, and the test hook `debug stall` (debug.hooks only).
 *
 * The settings struct is shared with the dataplane cores, which only read
 * keys that cannot change at run time. A run-time key is read by the
 * control plane alone (auth.*, health.*, mqtt.allow_anonymous, ...), so
 * writing it here, on the control-plane thread, races with nobody.
 *
 * `config set KEY VALUE`: the value is parsed and the settings validated
 * on a copy first; then only that key is written and its owner told
 * (log levels set, password file or ACL reloaded; if that reload fails
 * the old value is put back).
 *
 * `reload`: the file (and the --set overrides after it, as at start) is
 * read into fresh settings; a parse error rejects the whole reload. Each
 * run-time key whose value differs is applied as above; a key that would
 * need a restart is listed, not applied. The password file and the ACL
 * (and the content rules) are re-read whether or not their paths changed (their contents may
 * have); a file that fails keeps the old one in force and the answer is
 * an error saying so.
 *
 * Threading: control-plane thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include <petrel/admin.h>
#include <petrel/broker.h>
#include <petrel/ctl.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_admin, pt.ctl.admin, INFO);

enum { A_SET, A_RELOAD, A_LOG, A_STALL, A_MAX };

struct pt_admin {
    struct pt_config *cfg;
    const struct pt_config_source *src;
    struct pt_dp *dp;
    struct pt_broker *broker;
    struct pt_ctl_cmd cmds[A_MAX];
};

static const char *const level_names[] = { "emerg", "alert", "crit", "err",
                                           "warning", "notice", "info",
                                           "debug" };

/* Tell the owner of key that it changed. @return 0 or an error (in err). */
static int
apply_key(struct pt_admin *a, const char *key, char *err, size_t errlen)
{
    if (strcmp(key, "log.level") == 0) {
        rte_log_set_level_pattern("pt.*", (uint32_t)pt_log_level_parse(
                                              a->cfg->log_level));
        return 0;
    }
    if (a->broker == NULL)
        return 0;
    if (strcmp(key, "auth.password_file") == 0)
        return pt_broker_ctl_load_passwd(a->broker, err, errlen);
    if (strcmp(key, "auth.acl_file") == 0)
        return pt_broker_ctl_load_acl(a->broker, err, errlen);
    if (strcmp(key, "rules.file") == 0)
        return pt_broker_ctl_load_rules(a->broker, err, errlen);
    return 0;
}

static bool
key_runtime(const char *key, bool *known)
{
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    size_t n = pt_config_describe(info, PT_CONFIG_KEYS_MAX);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(info[i].key, key) == 0) {
            *known = true;
            return info[i].runtime;
        }
    }
    *known = false;
    return false;
}

/* Set one run-time key on the live settings and apply it; on failure the
 * old value stays. @return 0 or an error (message in out). */
static int
set_live(struct pt_admin *a, const char *key, const char *value,
         const char *origin, struct pt_buf *out)
{
    struct pt_config copy = *a->cfg;
    char err[512], old[PT_EAL_ARGS_MAX];
    bool known;
    int rc;

    if (!key_runtime(key, &known)) {
        if (known)
            pt_buf_printf(out, "%s cannot change at run time (restart "
                          "petreld with the new value)", key);
        else
            pt_buf_printf(out, "unknown key '%s'; `config show` lists "
                          "them", key);
        return known ? -EPERM : -ENOENT;
    }
    rc = pt_config_set(&copy, key, value, origin, 0, err, sizeof(err));
    if (rc == 0)
        rc = pt_config_validate(&copy, err, sizeof(err));
    if (rc != 0) {
        pt_buf_printf(out, "%s", err);
        return rc;
    }
    pt_config_get(a->cfg, key, old, sizeof(old));
    pt_config_set(a->cfg, key, value, origin, 0, NULL, 0);
    rc = apply_key(a, key, err, sizeof(err));
    if (rc != 0) {
        pt_config_set(a->cfg, key, old, origin, 0, NULL, 0);
        pt_buf_printf(out, "%s (%s stays '%s')", err, key, old);
        return rc;
    }
    PT_LOG(NOTICE, ctl_admin, "%s = %s (%s)", key, value, origin);
    return 0;
}

static int
cmd_set(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_admin *a = ctx;
    char now[PT_EAL_ARGS_MAX];
    int rc;

    if (argc != 2 && !(argc == 1 && strchr(argv[0], '=') == NULL)) {
        pt_buf_printf(out, "usage: config set KEY VALUE");
        return -EINVAL;
    }
    rc = set_live(a, argv[0], argc == 2 ? argv[1] : "", "config set", out);
    if (rc != 0)
        return rc;
    pt_config_get(a->cfg, argv[0], now, sizeof(now));
    pt_buf_printf(out, "{\"key\":");
    pt_buf_json_str(out, argv[0]);
    pt_buf_printf(out, ",\"value\":");
    pt_buf_json_str(out, now);
    pt_buf_printf(out, "}");
    return 0;
}

int
pt_admin_reload(struct pt_admin *a, struct pt_buf *out)
{
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    size_t n = pt_config_describe(info, PT_CONFIG_KEYS_MAX);
    struct pt_config fresh;
    struct pt_buf applied = { 0 }, restart = { 0 }, errs = { 0 };
    char err[512];
    bool files_done[3] = { false, false, false };
    int rc = 0;

    pt_config_defaults(&fresh);
    if (a->src->file != NULL &&
        pt_config_load(&fresh, a->src->file, err, sizeof(err)) != 0) {
        pt_buf_printf(out, "reload rejected: %s", err);
        return -EINVAL;
    }
    for (int i = 0; i < a->src->n; i++) {
        if (pt_config_set(&fresh, a->src->keys[i], a->src->values[i],
                          "command line", 0, err, sizeof(err)) != 0) {
            pt_buf_printf(out, "reload rejected: %s", err);
            return -EINVAL;
        }
    }
    if (pt_config_validate(&fresh, err, sizeof(err)) != 0) {
        pt_buf_printf(out, "reload rejected: %s", err);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char was[PT_EAL_ARGS_MAX], want[PT_EAL_ARGS_MAX];
        struct pt_buf msg = { 0 };

        pt_config_get(a->cfg, info[i].key, was, sizeof(was));
        pt_config_get(&fresh, info[i].key, want, sizeof(want));
        if (strcmp(was, want) == 0)
            continue;
        if (!info[i].runtime) {
            pt_buf_printf(&restart, "%s", restart.len ? "," : "");
            pt_buf_json_str(&restart, info[i].key);
            continue;
        }
        if (strcmp(info[i].key, "auth.password_file") == 0)
            files_done[0] = true;
        if (strcmp(info[i].key, "auth.acl_file") == 0)
            files_done[1] = true;
        if (strcmp(info[i].key, "rules.file") == 0)
            files_done[2] = true;
        if (set_live(a, info[i].key, want, "reload", &msg) != 0) {
            pt_buf_printf(&errs, "%s%.*s", errs.len ? "; " : "",
                          (int)msg.len, msg.data);
            rc = -EINVAL;
        } else {
            pt_buf_printf(&applied, "%s{\"key\":", applied.len ? "," : "");
            pt_buf_json_str(&applied, info[i].key);
            pt_buf_printf(&applied, ",\"value\":");
            pt_buf_json_str(&applied, want);
            pt_buf_printf(&applied, "}");
        }
        pt_buf_free(&msg);
    }
    if (a->broker != NULL && !files_done[0] &&
        pt_broker_ctl_load_passwd(a->broker, err, sizeof(err)) != 0) {
        pt_buf_printf(&errs, "%s%s", errs.len ? "; " : "", err);
        rc = -EINVAL;
    }
    if (a->broker != NULL && !files_done[1] &&
        pt_broker_ctl_load_acl(a->broker, err, sizeof(err)) != 0) {
        pt_buf_printf(&errs, "%s%s", errs.len ? "; " : "", err);
        rc = -EINVAL;
    }
    if (a->broker != NULL && !files_done[2] &&
        pt_broker_ctl_load_rules(a->broker, err, sizeof(err)) != 0) {
        pt_buf_printf(&errs, "%s%s", errs.len ? "; " : "", err);
        rc = -EINVAL;
    }
    if (rc != 0) {
        pt_buf_printf(out, "reload incomplete (what failed stays as it "
                      "was): %.*s", (int)errs.len, errs.data);
    } else {
        pt_buf_printf(out, "{\"file\":");
        if (a->src->file != NULL)
            pt_buf_json_str(out, a->src->file);
        else
            pt_buf_printf(out, "null");
        pt_buf_printf(out, ",\"applied\":[%.*s],\"restart_needed\":[%.*s],"
                      "\"password_file\":\"reloaded\",\"acl\":\"reloaded\","
                      "\"rules\":\"reloaded\"}",
                      (int)applied.len, applied.data ? applied.data : "",
                      (int)restart.len, restart.data ? restart.data : "");
    }
    if (restart.len > 0)
        PT_LOG(WARNING, ctl_admin, "reload: changed keys that need a "
               "restart were not applied: %.*s", (int)restart.len,
               restart.data);
    pt_buf_free(&applied);
    pt_buf_free(&restart);
    pt_buf_free(&errs);
    return rc;
}

static int
cmd_reload(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)argc;
    (void)argv;
    return pt_admin_reload(ctx, out);
}

static int
level_of(const char *s)
{
    for (unsigned i = 0; i < 8; i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i + 1;     /* RTE_LOG_EMERG = 1 */
    return -1;
}

/* The levels of the pt.* log types, as a JSON object. DPDK lists the
 * names only (one per line, after the prefix it is given); registering a
 * name again returns its id, whose level we can read. */
static void
levels_json(struct pt_buf *out)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool first = true;

    pt_buf_printf(out, "{");
    if (f != NULL) {
        rte_log_list_types(f, "");
        fclose(f);
    }
    for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL;
         line != NULL; line = strtok_r(NULL, "\n", &save)) {
        int id, lvl;

        if (strncmp(line, "pt.", 3) != 0)
            continue;
        id = rte_log_register(line);
        lvl = id >= 0 ? rte_log_get_level((uint32_t)id) : -1;
        pt_buf_printf(out, "%s", first ? "" : ",");
        pt_buf_json_str(out, line);
        pt_buf_printf(out, ":");
        pt_buf_json_str(out, lvl >= 1 && lvl <= 8 ? level_names[lvl - 1]
                                                  : "?");
        first = false;
    }
    pt_buf_printf(out, "}");
    free(text);
}

static int
cmd_log(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_admin *a = ctx;
    const char *pattern = argc > 1 ? argv[1] : "pt.*";
    int level;

    if (argc == 0) {
        levels_json(out);
        return 0;
    }
    level = level_of(argv[0]);
    if (level < 0 || argc > 2) {
        pt_buf_printf(out, "usage: log level [LEVEL [PATTERN]]; LEVEL is "
                      "one of emerg alert crit err warning notice info "
                      "debug, PATTERN a log type glob (default pt.*)");
        return -EINVAL;
    }
    if (rte_log_set_level_pattern(pattern, (uint32_t)level) != 0) {
        pt_buf_printf(out, "cannot set level of '%s'", pattern);
        return -EINVAL;
    }
    if (strcmp(pattern, "pt.*") == 0 && pt_log_level_parse(argv[0]) >= 0)
        pt_config_set(a->cfg, "log.level", argv[0], "log level", 0, NULL, 0);
    PT_LOG(NOTICE, ctl_admin, "log level of %s set to %s", pattern, argv[0]);
    levels_json(out);
    return 0;
}

static int
cmd_stall(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_admin *a = ctx;
    char *e1, *e2;
    unsigned long core, ms;

    if (argc != 2) {
        pt_buf_printf(out, "usage: debug stall CORE MS");
        return -EINVAL;
    }
    core = strtoul(argv[0], &e1, 10);
    ms = strtoul(argv[1], &e2, 10);
    if (*e1 != '\0' || *e2 != '\0' || ms == 0 || ms > 60000 ||
        pt_dp_debug_stall(a->dp, (unsigned)core, (uint32_t)ms) != 0) {
        pt_buf_printf(out, "no core %s, or MS not within 1-60000", argv[0]);
        return -EINVAL;
    }
    pt_buf_printf(out, "{\"core\":%lu,\"stall_ms\":%lu}", core, ms);
    return 0;
}

static const struct pt_ctl_cmd templates[A_MAX] = {
    [A_SET] = { "config set", "KEY VALUE",
                "change a run-time key now (docs/configuration.md marks "
                "them); other keys need a restart", cmd_set },
    [A_RELOAD] = { "reload", "",
                   "re-read the config file (run-time keys applied, others "
                   "listed), the password file and the ACL; also on SIGHUP",
                   cmd_reload },
    [A_LOG] = { "log level", "[LEVEL [PATTERN]]",
                "show the pt.* log levels, or set them (or PATTERN's)",
                cmd_log },
    [A_STALL] = { "debug stall", "CORE MS",
                  "test hook (debug.hooks): core CORE stops polling for MS "
                  "ms", cmd_stall },
};

struct pt_admin *
pt_admin_create(struct pt_ctl *ctl, struct pt_config *cfg,
                const struct pt_config_source *src, struct pt_dp *dp,
                struct pt_broker *broker)
{
    struct pt_admin *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->src = src;
    a->dp = dp;
    a->broker = broker;
    for (unsigned i = 0; i < A_MAX; i++) {
        if (i == A_STALL && !cfg->debug_hooks)
            continue;
        a->cmds[i] = templates[i];
        a->cmds[i].ctx = a;
        if (pt_ctl_register(ctl, &a->cmds[i]) != 0) {
            free(a);
            return NULL;
        }
    }
    return a;
}

void
pt_admin_destroy(struct pt_admin *a)
{
    free(a);
}
