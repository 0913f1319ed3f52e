/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Content rules, control-plane half (include/petrel/rules.h): read a
 * rules file, parse it line by line, compile the patterns into two
 * block-mode Hyperscan databases (topic and payload scope), and allocate
 * the per-core scratches the dataplane scans with (dataplane/rules.c;
 * layout in dataplane/rules_priv.h).
 *
 * Line format (docs/rules.md is the manual):
 *   ID ACTION SCOPE FLAGS FILTER PATTERN...
 * fields separated by blanks (spaces, tabs); PATTERN is the rest of the
 * line, verbatim (blanks inside and at the end kept, a CR before the
 * line end dropped). Blank lines and lines whose first non-blank is '#'
 * are ignored; there are no comments after a rule.
 *
 * Refused, naming path:line and the field: an id that is not a decimal
 * in 1..2^32-1 or that an earlier line has; an unknown action, scope or
 * flag, a flag given twice, an empty flag in the list; a FILTER that is
 * not a valid MQTT topic filter; a missing field; a NUL byte; a line
 * over PT_RULES_MAX_LINE bytes; more than PT_RULES_MAX rules; and any
 * pattern Hyperscan refuses (hs_compile_multi names the expression: its
 * index in the database maps back to the rule, hence the line). One
 * error refuses the whole file.
 *
 * Not here: the scan (dataplane/rules.c); when to reload and how cores
 * see a new set (the broker's, with RCU).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hs.h>

#include <petrel/mqtt.h>
#include <petrel/rules.h>

#include "rules_priv.h"
#include "readfile.h"

/* Id hash table: open addressing, index + 1 of the rule (0: empty). */
#define ID_SLOTS (1u << 18)     /* > 2 x PT_RULES_MAX */

struct builder {
    const char *origin;
    unsigned line;
    char *err;
    size_t errlen;
    struct rule *rules;
    size_t n, cap;
    char *text;
    size_t tlen, tcap;
    uint32_t *ids;
};

static const struct {
    const char *name;
    unsigned flag;
} flag_names[] = {
    { "caseless", HS_FLAG_CASELESS },
    { "dotall", HS_FLAG_DOTALL },
    { "multiline", HS_FLAG_MULTILINE },
    { "utf8", HS_FLAG_UTF8 },
    { "singlematch", HS_FLAG_SINGLEMATCH },
};

/* ---- errors ---- */

static int
fail(struct builder *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pt_line_vfail(b->err, b->errlen, b->origin, b->line, fmt, ap);
    va_end(ap);
    return rc;
}

static int
fail_nomem(struct builder *b)
{
    fail(b, "out of memory");
    return -ENOMEM;
}

/* ---- fields ---- */

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated field of [*s, end): its start and length;
 * *s moves past it and the blanks after it. */
static const char *
field(const char **s, const char *end, size_t *len)
{
    const char *f = *s, *p;

    while (f < end && is_blank(*f))
        f++;
    p = f;
    while (p < end && !is_blank(*p))
        p++;
    *len = (size_t)(p - f);
    while (p < end && is_blank(*p))
        p++;
    *s = p;
    return f;
}

static bool
word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int
parse_id(struct builder *b, const char *s, size_t n, uint32_t *id)
{
    uint64_t v = 0;

    if (n == 0 || n > 20)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            goto bad;
    }
    if (v == 0)
        goto bad;
    *id = (uint32_t)v;
    return 0;
bad:
    return fail(b, "bad id `%.*s` (a decimal from 1 to 4294967295)",
                pt_quote_len(n), s);
}

/* Slot of id in the table: where it is, or the empty one to put it. */
static uint32_t
id_slot(const struct builder *b, uint32_t id)
{
    uint32_t i = (id * 2654435761u) & (ID_SLOTS - 1);

    while (b->ids[i] != 0 && b->rules[b->ids[i] - 1].id != id)
        i = (i + 1) & (ID_SLOTS - 1);
    return i;
}

static int
parse_flags(struct builder *b, const char *s, size_t n, uint32_t *flags)
{
    size_t i = 0;

    *flags = 0;
    if (word_is(s, n, "-"))
        return 0;
    while (i <= n) {
        const char *w = s + i;
        const char *comma = memchr(w, ',', n - i);
        size_t wl = comma ? (size_t)(comma - w) : n - i;
        unsigned k;

        if (wl == 0)
            return fail(b, "empty flag in FLAGS `%.*s`", pt_quote_len(n), s);
        for (k = 0; k < sizeof(flag_names) / sizeof(flag_names[0]); k++)
            if (word_is(w, wl, flag_names[k].name))
                break;
        if (k == sizeof(flag_names) / sizeof(flag_names[0]))
            return fail(b, "bad flag `%.*s` in FLAGS (`-` or a comma list "
                        "of caseless, dotall, multiline, utf8, singlematch)",
                        pt_quote_len(wl), w);
        if (*flags & flag_names[k].flag)
            return fail(b, "flag `%s` given twice in FLAGS",
                        flag_names[k].name);
        *flags |= flag_names[k].flag;
        i += wl + 1;
    }
    return 0;
}

/* Append a string and its NUL. @return its offset, UINT32_MAX when out
 * of memory. */
static uint32_t
text_add(struct builder *b, const char *s, size_t n)
{
    uint32_t off = (uint32_t)b->tlen;

    if (b->tlen + n + 1 > b->tcap) {
        size_t cap = b->tcap ? b->tcap : 4096;
        char *p;

        while (cap < b->tlen + n + 1)
            cap *= 2;
        p = realloc(b->text, cap);
        if (p == NULL)
            return UINT32_MAX;
        b->text = p;
        b->tcap = cap;
    }
    memcpy(b->text + off, s, n);
    b->text[off + n] = '\0';
    b->tlen += n + 1;
    return off;
}

static int
parse_line(struct builder *b, const char *s, size_t n)
{
    const char *end = s + n, *p = s, *f;
    size_t fl;
    struct rule r = { .line = b->line };
    uint32_t slot, off[3];
    const char *ff, *pat;
    size_t ffl, patl;

    f = field(&p, end, &fl);
    if (fl == 0 || f[0] == '#')
        return 0;
    if (memchr(s, '\0', n) != NULL)
        return fail(b, "NUL byte in the line");
    if (parse_id(b, f, fl, &r.id) != 0)
        return -EINVAL;

    f = field(&p, end, &fl);
    if (fl == 0)
        return fail(b, "missing ACTION (count, drop or disconnect)");
    if (word_is(f, fl, "count"))
        r.action = PT_RULE_COUNT;
    else if (word_is(f, fl, "drop"))
        r.action = PT_RULE_DROP;
    else if (word_is(f, fl, "disconnect"))
        r.action = PT_RULE_DISCONNECT;
    else
        return fail(b, "bad ACTION `%.*s` (count, drop or disconnect)",
                    pt_quote_len(fl), f);

    f = field(&p, end, &fl);
    if (fl == 0)
        return fail(b, "missing SCOPE (topic, payload or both)");
    if (word_is(f, fl, "topic"))
        r.scope = PT_RULE_TOPIC;
    else if (word_is(f, fl, "payload"))
        r.scope = PT_RULE_PAYLOAD;
    else if (word_is(f, fl, "both"))
        r.scope = PT_RULE_BOTH;
    else
        return fail(b, "bad SCOPE `%.*s` (topic, payload or both)",
                    pt_quote_len(fl), f);

    f = field(&p, end, &fl);
    if (fl == 0)
        return fail(b, "missing FLAGS (`-` or a comma list)");
    if (parse_flags(b, f, fl, &r.hs_flags) != 0)
        return -EINVAL;

    ff = field(&p, end, &ffl);
    if (ffl == 0)
        return fail(b, "missing FILTER (`-` or an MQTT topic filter)");
    if (!word_is(ff, ffl, "-") && pt_mqtt_filter_check(ff, ffl) != PT_MQTT_OK)
        return fail(b, "bad FILTER `%.*s`: %s", pt_quote_len(ffl), ff,
                    pt_mqtt_err_help(pt_mqtt_filter_check(ff, ffl)));

    pat = p;
    patl = (size_t)(end - p);
    if (patl == 0)
        return fail(b, "missing PATTERN");

    if (b->n == PT_RULES_MAX)
        return fail(b, "more than %u rules", PT_RULES_MAX);
    slot = id_slot(b, r.id);
    if (b->ids[slot] != 0)
        return fail(b, "duplicate id %u (first on line %u)", r.id,
                    b->rules[b->ids[slot] - 1].line);

    off[0] = text_add(b, f, fl);
    if (word_is(ff, ffl, "-"))
        ffl = 0;
    off[1] = text_add(b, ff, ffl);
    off[2] = text_add(b, pat, patl);
    if (off[0] == UINT32_MAX || off[1] == UINT32_MAX || off[2] == UINT32_MAX)
        return fail_nomem(b);
    r.flags_off = off[0];
    r.filter_off = off[1];
    r.filter_len = (uint32_t)ffl;
    r.pattern_off = off[2];
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct rule *nr = realloc(b->rules, cap * sizeof(*nr));

        if (nr == NULL)
            return fail_nomem(b);
        b->rules = nr;
        b->cap = cap;
    }
    b->rules[b->n++] = r;
    b->ids[slot] = (uint32_t)b->n;
    return 0;
}

/* ---- compiling ---- */

/* Compile the rules whose scope has `bit` into *db (NULL when none). */
static int
compile_db(struct builder *b, unsigned bit, hs_database_t **db,
           unsigned *count)
{
    const char **exprs = malloc((b->n ? b->n : 1) * sizeof(*exprs));
    unsigned *flags = malloc((b->n ? b->n : 1) * sizeof(*flags));
    unsigned *ids = malloc((b->n ? b->n : 1) * sizeof(*ids));
    hs_compile_error_t *cerr = NULL;
    unsigned k = 0;
    int rc = 0;

    *db = NULL;
    if (exprs == NULL || flags == NULL || ids == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!(b->rules[i].scope & bit))
            continue;
        exprs[k] = b->text + b->rules[i].pattern_off;
        flags[k] = b->rules[i].hs_flags;
        ids[k] = (unsigned)i;
        k++;
    }
    *count = k;
    if (k == 0)
        goto out;
    if (hs_compile_multi(exprs, flags, ids, k, HS_MODE_BLOCK, NULL, db,
                         &cerr) != HS_SUCCESS) {
        if (cerr != NULL && cerr->expression >= 0 &&
            (unsigned)cerr->expression < k) {
            b->line = b->rules[ids[cerr->expression]].line;
            rc = fail(b, "PATTERN `%.*s`: %s",
                      pt_quote_len(strlen(exprs[cerr->expression])),
                      exprs[cerr->expression], cerr->message);
        } else {
            if (b->err != NULL && b->errlen > 0)
                snprintf(b->err, b->errlen, "%s: %s database: %s",
                         b->origin, bit == PT_RULE_TOPIC ? "topic"
                                                         : "payload",
                         cerr != NULL ? cerr->message : "compile failed");
            rc = -EINVAL;
        }
        hs_free_compile_error(cerr);
        *db = NULL;
    }
out:
    free(exprs);
    free(flags);
    free(ids);
    return rc;
}

static void
builder_free(struct builder *b)
{
    free(b->rules);
    free(b->text);
    free(b->ids);
}

static int
compile(struct builder *b, struct pt_rules **out)
{
    struct pt_rules *r = calloc(1, sizeof(*r));
    size_t sz;
    int rc;

    if (r == NULL)
        return fail_nomem(b);
    rc = compile_db(b, PT_RULE_TOPIC, &r->db_topic, &r->ntopic);
    if (rc == 0)
        rc = compile_db(b, PT_RULE_PAYLOAD, &r->db_payload, &r->npayload);
    if (rc != 0) {
        if (rc == -ENOMEM)
            fail_nomem(b);
        hs_free_database(r->db_topic);
        hs_free_database(r->db_payload);
        free(r);
        return rc;
    }
    r->rules = b->rules;
    r->text = b->text;
    r->n = (unsigned)b->n;
    r->bytes = sizeof(*r) + b->cap * sizeof(*b->rules) + b->tcap;
    if (r->db_topic != NULL && hs_database_size(r->db_topic, &sz) == 0)
        r->bytes += sz;
    if (r->db_payload != NULL && hs_database_size(r->db_payload, &sz) == 0)
        r->bytes += sz;
    b->rules = NULL;
    b->text = NULL;
    *out = r;
    return 0;
}

/* ---- API ---- */

int
pt_rules_parse(const char *text, size_t len, const char *origin,
               struct pt_rules **out, char *err, size_t errlen)
{
    struct builder b = {
        .origin = origin ? origin : "rules",
        .err = err,
        .errlen = errlen,
    };
    struct pt_lines lines;
    const char *s;
    size_t n;
    int rc = 0;

    rc = pt_text_size_check(b.origin, len, PT_RULES_MAX_FILE, err, errlen);
    if (rc != 0)
        return rc;
    b.ids = calloc(ID_SLOTS, sizeof(*b.ids));
    if (b.ids == NULL) {
        rc = fail_nomem(&b);
        goto out;
    }
    pt_lines_init(&lines, text, len);
    while (pt_lines_next(&lines, &s, &n)) {
        b.line = lines.no;
        if (n > PT_RULES_MAX_LINE) {
            rc = fail(&b, "line longer than %u bytes", PT_RULES_MAX_LINE);
            goto out;
        }
        rc = parse_line(&b, s, n);
        if (rc != 0)
            goto out;
    }
    rc = compile(&b, out);
out:
    builder_free(&b);
    return rc;
}

int
pt_rules_load(const char *path, struct pt_rules **out, char *err,
              size_t errlen)
{
    char *buf;
    size_t len;
    int rc = pt_read_file(path, PT_RULES_MAX_FILE, &buf, &len, err, errlen);

    if (rc != 0)
        return rc;
    rc = pt_rules_parse(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

void
pt_rules_free(struct pt_rules *r)
{
    if (r == NULL)
        return;
    hs_free_database(r->db_topic);
    hs_free_database(r->db_payload);
    free((void *)r->rules);
    free((void *)r->text);
    free(r);
}

int
pt_rules_scratch_alloc(const struct pt_rules *r,
                       struct pt_rules_scratch **out)
{
    struct pt_rules_scratch *s = calloc(1, sizeof(*s));
    size_t words = (r->n + 63) / 64;

    if (s == NULL)
        return -ENOMEM;
    s->nrules = r->n;
    s->seen = calloc(words ? words : 1, sizeof(*s->seen));
    s->met = malloc((r->n ? r->n : 1) * sizeof(*s->met));
    if (s->seen == NULL || s->met == NULL)
        goto nomem;
    /* one scratch serves both databases: the second call grows it */
    if (r->db_topic != NULL &&
        hs_alloc_scratch(r->db_topic, &s->hs) != HS_SUCCESS)
        goto nomem;
    if (r->db_payload != NULL &&
        hs_alloc_scratch(r->db_payload, &s->hs) != HS_SUCCESS)
        goto nomem;
    *out = s;
    return 0;
nomem:
    pt_rules_scratch_free(s);
    return -ENOMEM;
}

void
pt_rules_scratch_free(struct pt_rules_scratch *s)
{
    if (s == NULL)
        return;
    hs_free_scratch(s->hs);
    free(s->seen);
    free(s->met);
    free(s);
}
