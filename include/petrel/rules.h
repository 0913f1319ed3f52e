/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Content rules: Hyperscan patterns that every PUBLISH is scanned against
 * on the dataplane core that received it, before it fans out.
 *
 * A rules file (format in docs/rules.md; parsed and compiled by
 * control/rules_load.c on the control plane) becomes an immutable
 * struct pt_rules: the rule table and two block-mode Hyperscan databases,
 * one for rules scoped to the topic and one for those scoped to the
 * payload (a rule scoped to both is in both). pt_rules_scan()
 * (dataplane/rules.c) scans one message with a scratch of the calling
 * core's own and gives the verdict: the strongest action among the
 * matching rules whose topic-filter restriction admits the topic
 * (disconnect > drop > count; among equals the rule met first in file
 * order is reported), every matching rule counted once per message.
 *
 * Threading: load/parse/free and scratch alloc/free on the control plane
 * (they allocate); pt_rules_scan on any number of dataplane cores at once,
 * each with its own scratch (no allocation, no locks, no syscalls).
 * Ownership: the caller owns the rules and scratches and frees them once
 * no core can use them (the broker publishes them by RCU).
 */
#ifndef PETREL_RULES_H
#define PETREL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most rules a file may hold. */
#define PT_RULES_MAX 100000
/** Longest line of a rules file, in bytes, its line end not counted. */
#define PT_RULES_MAX_LINE 65536
/** Largest rules file pt_rules_load() and pt_rules_parse() take. */
#define PT_RULES_MAX_FILE (1u << 30)

/** What a matching rule does; the order is the precedence. */
enum pt_rule_action {
    PT_RULE_COUNT = 0,       /**< pass, counted only */
    PT_RULE_DROP = 1,        /**< not routed; the publisher is acked */
    PT_RULE_DISCONNECT = 2,  /**< not routed; the publisher is closed */
};

/** Where a rule looks. */
enum pt_rule_scope {
    PT_RULE_TOPIC = 1,
    PT_RULE_PAYLOAD = 2,
    PT_RULE_BOTH = 3,
};

struct pt_rules;
struct pt_rules_scratch;

/**
 * Parse and compile a rules file. A line that does not parse, or a
 * pattern Hyperscan refuses, rejects the whole file: err gets
 * "path:line: reason" (Hyperscan's message for a pattern; "path: reason"
 * for what belongs to no line). An empty file (or only comments) is a
 * valid set of no rules.
 * @param out set on success, untouched on failure
 * @param err may be NULL
 * @return 0, -EINVAL (err says why), -EFBIG (over PT_RULES_MAX_FILE),
 *         -ENOMEM, or -errno from opening or reading the file.
 */
int pt_rules_load(const char *path, struct pt_rules **out, char *err,
                  size_t errlen);
/** The same from text in memory (need not be NUL-terminated; origin
 * names it in errors, NULL: "rules"). @return as pt_rules_load(). */
int pt_rules_parse(const char *text, size_t len, const char *origin,
                   struct pt_rules **out, char *err, size_t errlen);
/** Free a set (NULL is a no-op) once no core can scan it. */
void pt_rules_free(struct pt_rules *r);

/** Rules in the set. Any thread. */
unsigned pt_rules_count(const struct pt_rules *r);

/** Memory the set takes (rule table, strings, Hyperscan databases), in
 * bytes, for metrics. Any thread. */
size_t pt_rules_bytes(const struct pt_rules *r);

/** The regex library built in: "hyperscan" or "vectorscan" (meson's
 * -Dregex), and its version string (hs_version()), for logs. */
const char *pt_rules_engine(void);
const char *pt_rules_engine_version(void);

/** One rule, for `rules stats` and metrics (strings live in r). */
struct pt_rule_info {
    uint32_t id;
    enum pt_rule_action action;
    enum pt_rule_scope scope;
    unsigned line;
    const char *flags;       /**< as written ("-" when none) */
    const char *filter;      /**< topic filter, "" when none */
    const char *pattern;
};
void pt_rules_info(const struct pt_rules *r, unsigned i,
                   struct pt_rule_info *out);

/** Names for output. */
const char *pt_rule_action_name(enum pt_rule_action a);
const char *pt_rule_scope_name(enum pt_rule_scope s);

/** A scratch for one core, good for r only (control plane): Hyperscan's
 * scratch for both databases and a seen-set of one bit per rule.
 * @return 0 or -ENOMEM (*out untouched). */
int pt_rules_scratch_alloc(const struct pt_rules *r,
                           struct pt_rules_scratch **out);
/** Free a scratch (NULL is a no-op). */
void pt_rules_scratch_free(struct pt_rules_scratch *s);

/** The verdict on one message. */
struct pt_rules_verdict {
    int action;              /**< enum pt_rule_action, or -1: no rule */
    uint32_t rule;           /**< index of the deciding rule */
};

/**
 * Scan topic and payload (both contiguous: the caller linearises a
 * payload that spans mbuf segments). hits[i] is bumped (relaxed store,
 * the caller's core owns the array) once for every rule i that matched
 * and whose filter admits the topic.
 * The scan always runs to the end, also after a disconnect rule
 * matched: every matching rule is counted, whatever the verdict. A rule
 * is counted once per message however often it matches, in the topic
 * and the payload together. An empty payload is not scanned.
 * @param s a scratch from pt_rules_scratch_alloc(r) (checked only in
 *        -Dhot_debug builds), used by one core at a time
 * @param hits pt_rules_count(r) counters
 * @param v receives the verdict (action -1 when no rule matched)
 * Cost: Hyperscan's scan of tlen + plen bytes, plus a callback per
 * match (one bit test for a rule already met; a topic-filter match the
 * first time a restricted rule matches). No allocation, no locks, no
 * syscalls; nothing per rule that did not match.
 * @return 0, or -EIO when Hyperscan failed (nothing is counted, *v is
 *         no rule; the caller passes the message and counts the error).
 */
int pt_rules_scan(const struct pt_rules *r, struct pt_rules_scratch *s,
                  const char *topic, size_t tlen, const void *payload,
                  size_t plen, uint64_t *hits, struct pt_rules_verdict *v);

#endif /* PETREL_RULES_H */
