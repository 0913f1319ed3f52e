/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `rules stats` and `rules reload`: the content rules in force with their
 * match counts, and swapping in a new rules file (compiled on the control
 * plane; a file that does not compile changes nothing).
 *
 * Threading: control-plane thread only.
 */
#include <errno.h>
#include <string.h>

#include <petrel/broker.h>
#include <petrel/control.h>
#include <petrel/ctl.h>
#include <petrel/rules.h>

struct cmd_rules {
    struct pt_broker *b;
    const struct pt_config *cfg;
    struct pt_ctl_cmd stats, reload;
};

struct rules_out {
    struct pt_buf *out;
    unsigned n;
    uint64_t matches;
};

static void
rule_json(void *arg, const struct pt_rule_info *r, uint64_t matches)
{
    struct rules_out *ro = arg;
    struct pt_buf *out = ro->out;

    pt_buf_printf(out, "%s{\"id\":%u,\"action\":\"%s\",\"scope\":\"%s\","
                  "\"flags\":", ro->n++ ? "," : "", r->id,
                  pt_rule_action_name(r->action),
                  pt_rule_scope_name(r->scope));
    pt_buf_json_str(out, r->flags);
    pt_buf_printf(out, ",\"filter\":");
    pt_buf_json_str(out, r->filter);
    pt_buf_printf(out, ",\"matches\":%lu,\"pattern\":", (unsigned long)matches);
    pt_buf_json_str(out, r->pattern);
    pt_buf_printf(out, "}");
    ro->matches += matches;
}

static int
cmd_stats(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_rules *cr = ctx;
    struct rules_out ro = { .out = out };

    (void)argc;
    (void)argv;
    pt_buf_printf(out, "{\"file\":");
    pt_buf_json_str(out, cr->cfg->rules_file);
    pt_buf_printf(out, ",\"rules\":[");
    pt_broker_ctl_rules(cr->b, rule_json, &ro);
    pt_buf_printf(out, "],\"count\":%u,\"matches\":%lu}", ro.n,
                  (unsigned long)ro.matches);
    return 0;
}

static int
cmd_reload(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct cmd_rules *cr = ctx;
    struct pt_broker_ctl_stats st;
    char err[1024];
    int rc;

    (void)argc;
    (void)argv;
    rc = pt_broker_ctl_load_rules(cr->b, err, sizeof(err));
    if (rc != 0) {
        pt_buf_printf(out, "%s (the rules in force are unchanged)", err);
        return rc;
    }
    pt_broker_ctl_stats(cr->b, &st);
    pt_buf_printf(out, "{\"file\":");
    pt_buf_json_str(out, cr->cfg->rules_file);
    pt_buf_printf(out, ",\"rules\":%lu}", (unsigned long)st.rules);
    return 0;
}

static struct cmd_rules the_rules;

int
pt_cmd_rules_register(struct pt_ctl *ctl, struct pt_broker *b,
                      const struct pt_config *cfg)
{
    struct cmd_rules *cr = &the_rules;
    int rc;

    cr->b = b;
    cr->cfg = cfg;
    cr->stats = (struct pt_ctl_cmd){
        .name = "rules stats", .args = "",
        .help = "the content rules in force (rules.file) with their match "
                "counts since start",
        .fn = cmd_stats, .ctx = cr,
    };
    cr->reload = (struct pt_ctl_cmd){
        .name = "rules reload", .args = "",
        .help = "compile rules.file again and swap it in (no core waits); "
                "a file that does not compile changes nothing",
        .fn = cmd_reload, .ctx = cr,
    };
    rc = pt_ctl_register(ctl, &cr->stats);
    return rc != 0 ? rc : pt_ctl_register(ctl, &cr->reload);
}
