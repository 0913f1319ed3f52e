/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Content rules, the compiled layout (include/petrel/rules.h) that the
 * control plane builds (control/rules_load.c) and the dataplane scans
 * with (dataplane/rules.c). Not an API: nothing outside those two files
 * and their unit tests includes it.
 *
 * A struct pt_rules is immutable once built: the rule table in file
 * order (a rule's index is its Hyperscan expression id in both
 * databases), the strings of every rule in one text block, and the two
 * block-mode databases (NULL when no rule has that scope).
 *
 * A struct pt_rules_scratch belongs to one core: Hyperscan's scratch,
 * good for both databases, and the per-scan seen-set (a bitmap with one
 * bit per rule, and the list of the rules met during the current scan,
 * so that only their bits are cleared afterwards).
 */
#ifndef PT_RULES_PRIV_H
#define PT_RULES_PRIV_H

#include <stdint.h>

#include <hs.h>

#include <petrel/rules.h>

/* Tag on a rules_scratch.met entry: the rule's filter admits the topic. */
#define RULES_ADMITTED 0x80000000u

struct rule {
    uint32_t id;
    uint8_t action;         /* enum pt_rule_action */
    uint8_t scope;          /* enum pt_rule_scope */
    uint32_t line;
    uint32_t hs_flags;      /* HS_FLAG_* as given */
    uint32_t flags_off;     /* NUL-terminated strings in pt_rules.text */
    uint32_t filter_off;
    uint32_t filter_len;    /* 0: no restriction */
    uint32_t pattern_off;
};

struct pt_rules {
    const struct rule *rules;
    const char *text;
    unsigned n;
    unsigned ntopic;        /* rules in db_topic */
    unsigned npayload;      /* rules in db_payload */
    hs_database_t *db_topic;
    hs_database_t *db_payload;
    size_t bytes;           /* table, text and databases */
};

struct pt_rules_scratch {
    hs_scratch_t *hs;       /* NULL when neither database exists */
    uint64_t *seen;         /* one bit per rule */
    uint32_t *met;          /* rules met this scan, | RULES_ADMITTED */
    unsigned nrules;        /* the rule count it was sized for */
};

#endif /* PT_RULES_PRIV_H */
