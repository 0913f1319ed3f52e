/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access control lists, control-plane half (include/petrel/acl.h): read
 * an acl file, parse Mosquitto's acl_file format line by line, and
 * compile it into the flat, immutable form of dataplane/acl_priv.h that
 * the dataplane's checks (dataplane/acl.c) read without parsing.
 *
 * Parsing appends to growable arrays (text, pieces, levels, one raw entry
 * per topic or pattern line, sections with their name hash); compiling
 * then sorts the raw entries into each section's deny | write |
 * readwrite | read groups. Every error names its line and stops the
 * load: a half-read acl is never returned.
 *
 * Accepted beyond Mosquitto: tabs as blanks, leading blanks before a
 * comment or keyword. Refused where Mosquitto is lenient: unknown
 * keywords (Mosquitto ignores them), an access word with no filter after
 * it (Mosquitto takes the word as the filter), invalid MQTT filters,
 * filters of more than PT_ACL_MAX_LEVELS levels, names that are not
 * UTF-8, lines over PT_ACL_MAX_LINE bytes, NUL bytes.
 *
 * Not here: the checks (dataplane/acl.c), deciding when to reload or how
 * readers see a new acl (the broker's, with RCU).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/acl.h>
#include <petrel/mqtt.h>

#include "acl_priv.h"
#include "readfile.h"

#define SEC_ANON 0u
#define SEC_EMPTY 1u
#define SEC_PATTERNS UINT32_MAX

enum access {
    A_DENY,
    A_WRITE,
    A_RW,
    A_READ,
    A_N,
};

struct raw_entry {
    uint32_t sec;       /* section index, or SEC_PATTERNS */
    uint8_t access;     /* enum access */
    struct acl_entry e;
};

/* A growable array of elements of `size` bytes. */
struct vec {
    void *p;
    size_t n;
    size_t cap;
};

struct builder {
    const char *origin;
    unsigned line;
    char *err;
    size_t errlen;
    struct vec text;        /* char */
    struct vec pieces;      /* struct acl_piece */
    struct vec levels;      /* struct acl_level */
    struct vec raw;         /* struct raw_entry */
    struct vec secs;        /* struct pt_acl_section */
    uint32_t *slots;
    uint32_t slot_mask;
    uint32_t cur;           /* section topic lines go to */
    size_t ntopics;
    size_t npatterns;
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

/* ---- growable arrays ---- */

/* Room for `more` further elements. */
static int
vec_reserve(struct vec *v, size_t size, size_t more)
{
    size_t cap = v->cap ? v->cap : 16;
    void *p;

    if (v->n + more <= v->cap)
        return 0;
    while (cap < v->n + more)
        cap *= 2;
    p = realloc(v->p, cap * size);
    if (p == NULL)
        return -ENOMEM;
    v->p = p;
    v->cap = cap;
    return 0;
}

/* Append n bytes to the text. @return their offset, or UINT32_MAX when
 * out of memory (text never reaches 4 GiB: files are under
 * PT_ACL_MAX_FILE). */
static uint32_t
text_add(struct builder *b, const char *s, size_t n)
{
    uint32_t off = (uint32_t)b->text.n;

    if (vec_reserve(&b->text, 1, n) != 0)
        return UINT32_MAX;
    memcpy((char *)b->text.p + off, s, n);
    b->text.n += n;
    return off;
}

/* ---- sections ---- */

static struct pt_acl_section *
sec_at(struct builder *b, uint32_t i)
{
    return (struct pt_acl_section *)b->secs.p + i;
}

static uint32_t
slot_find(const struct builder *b, const char *name, size_t n)
{
    const char *text = b->text.p;
    uint32_t i = acl_name_hash(name, n) & b->slot_mask;

    for (;; i = (i + 1) & b->slot_mask) {
        const struct pt_acl_section *s;

        if (b->slots[i] == 0)
            return i;
        s = (const struct pt_acl_section *)b->secs.p + b->slots[i];
        if (s->name_len == n && memcmp(text + s->name_off, name, n) == 0)
            return i;
    }
}

/* Double the hash table and put every user section back in. */
static int
slots_grow(struct builder *b)
{
    uint32_t nslots = (b->slot_mask + 1) * 2;
    uint32_t *old = b->slots;

    b->slots = calloc(nslots, sizeof(*b->slots));
    if (b->slots == NULL) {
        b->slots = old;
        return -ENOMEM;
    }
    b->slot_mask = nslots - 1;
    for (uint32_t k = 2; k < b->secs.n; k++) {
        const struct pt_acl_section *s = sec_at(b, k);

        b->slots[slot_find(b, (const char *)b->text.p + s->name_off,
                           s->name_len)] = k;
    }
    free(old);
    return 0;
}

static int
sec_new(struct builder *b, uint32_t name_off, size_t name_len)
{
    struct pt_acl_section *s;

    if (vec_reserve(&b->secs, sizeof(*s), 1) != 0)
        return -ENOMEM;
    s = sec_at(b, (uint32_t)b->secs.n++);
    memset(s, 0, sizeof(*s));
    s->name_off = name_off;
    s->name_len = (uint32_t)name_len;
    return 0;
}

/* `user <name>`: make the name's section current, creating it. */
static int
on_user(struct builder *b, const char *name, size_t n)
{
    uint32_t slot, off;

    if (n == 0)
        return fail(b, "`user` without a name");
    if (pt_mqtt_utf8_check(name, n) != PT_MQTT_OK)
        return fail(b, "user name is not valid UTF-8 (or has a NUL)");
    slot = slot_find(b, name, n);
    if (b->slots[slot] != 0) {
        b->cur = b->slots[slot];
        return 0;
    }
    off = text_add(b, name, n);
    if (off == UINT32_MAX || sec_new(b, off, n) != 0)
        return fail_nomem(b);
    b->cur = (uint32_t)b->secs.n - 1;
    b->slots[slot] = b->cur;
    /* keep the table at most half full */
    if ((b->secs.n - 2) * 2 > b->slot_mask && slots_grow(b) != 0)
        return fail_nomem(b);
    return 0;
}

/* ---- filters ---- */

/* Split a pattern's level at %u and %c (scanned left to right as
 * Mosquitto does: "%%u" is '%' then %u) into pieces. */
static int
level_pieces(struct builder *b, uint32_t text_off, const char *s, size_t n,
             struct acl_level *lv)
{
    size_t lit = 0, i = 0;

    lv->kind = ACL_SUB;
    lv->off = (uint32_t)b->pieces.n;
    lv->len = 0;
    lv->npieces = lv->nu = lv->nc = 0;
    while (i <= n) {
        bool sub = i + 1 < n && s[i] == '%' && (s[i + 1] == 'u' ||
                                                s[i + 1] == 'c');
        struct acl_piece *p;

        if (!sub && i < n) {
            i++;
            continue;
        }
        /* flush the literal run [lit, i), then the substitution */
        if (vec_reserve(&b->pieces, sizeof(*p), 2) != 0)
            return -ENOMEM;
        p = (struct acl_piece *)b->pieces.p + b->pieces.n;
        if (i > lit) {
            p->kind = ACL_P_LIT;
            p->off = text_off + (uint32_t)lit;
            p->len = (uint16_t)(i - lit);
            lv->len = (uint16_t)(lv->len + p->len);
            p++;
            b->pieces.n++;
            lv->npieces++;
        }
        if (!sub)
            break;
        p->kind = s[i + 1] == 'u' ? ACL_P_USER : ACL_P_CID;
        p->off = 0;
        p->len = 0;
        if (p->kind == ACL_P_USER)
            lv->nu++;
        else
            lv->nc++;
        b->pieces.n++;
        lv->npieces++;
        i += 2;
        lit = i;
    }
    return 0;
}

/* Whether a level of a pattern holds %u or %c. */
static bool
has_subst(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == '%' && (s[i + 1] == 'u' || s[i + 1] == 'c'))
            return true;
    }
    return false;
}

/* Compile a filter into levels (and pieces); fill e. */
static int
compile_filter(struct builder *b, const char *f, size_t n, bool pattern,
               struct acl_entry *e)
{
    enum pt_mqtt_err me = pt_mqtt_filter_check(f, n);
    uint32_t off, nlv = 1;
    size_t i = 0;

    if (me != PT_MQTT_OK)
        return fail(b, "invalid filter `%.*s`: %s", pt_quote_len(n), f,
                    pt_mqtt_err_help(me));
    if (n > UINT16_MAX)
        return fail(b, "filter longer than %u bytes", UINT16_MAX);
    for (size_t k = 0; k < n; k++)
        nlv += f[k] == '/';
    if (nlv > PT_ACL_MAX_LEVELS)
        return fail(b, "filter has %u levels, at most %u are allowed", nlv,
                    PT_ACL_MAX_LEVELS);
    off = text_add(b, f, n);
    if (off == UINT32_MAX || vec_reserve(&b->levels, sizeof(struct acl_level),
                                         nlv) != 0)
        return fail_nomem(b);
    memset(e, 0, sizeof(*e));
    e->lvl = (uint32_t)b->levels.n;
    e->nlv = (uint8_t)nlv;
    e->dollar = f[0] == '$';
    for (uint32_t k = 0; k < nlv; k++) {
        const char *le = memchr(f + i, '/', n - i);
        size_t end = le ? (size_t)(le - f) : n;
        size_t len = end - i;
        struct acl_level *lv = (struct acl_level *)b->levels.p + b->levels.n;

        memset(lv, 0, sizeof(*lv));
        if (len == 1 && f[i] == '+') {
            lv->kind = ACL_PLUS;
        } else if (len == 1 && f[i] == '#') {
            lv->kind = ACL_HASH;
            e->hash = 1;
        } else if (pattern && has_subst(f + i, len)) {
            if (level_pieces(b, off + (uint32_t)i, f + i, len, lv) != 0)
                return fail_nomem(b);
            if (lv->nu > 0)
                e->needs |= ACL_S_ANON | ACL_S_USER_BAD;
            if (lv->nc > 0)
                e->needs |= ACL_S_CID_BAD;
            if (k == 0) {
                const struct acl_piece *p =
                    (const struct acl_piece *)b->pieces.p + lv->off;

                if (p->kind == ACL_P_USER)
                    e->needs |= ACL_S_USER_LEAD;
                else if (p->kind == ACL_P_CID)
                    e->needs |= ACL_S_CID_LEAD;
            }
        } else {
            lv->kind = ACL_LIT;
            lv->off = off + (uint32_t)i;
            lv->len = (uint16_t)len;
            lv->fp = acl_fp(f + i, len);
        }
        b->levels.n++;
        i = end + 1;
    }
    return 0;
}

/* ---- lines ---- */

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Skip blanks from s; set *len to what is left without trailing blanks. */
static const char *
trim(const char *s, const char *end, size_t *len)
{
    while (s < end && is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    *len = (size_t)(end - s);
    return s;
}

static bool
word_is(const char *s, size_t n, const char *w)
{
    return n == strlen(w) && memcmp(s, w, n) == 0;
}

static int
access_word(const char *s, size_t n)
{
    if (word_is(s, n, "read"))
        return A_READ;
    if (word_is(s, n, "write"))
        return A_WRITE;
    if (word_is(s, n, "readwrite"))
        return A_RW;
    if (word_is(s, n, "deny"))
        return A_DENY;
    return -1;
}

/* `topic ...` or `pattern ...`; rest is trimmed, after the keyword. */
static int
on_entry(struct builder *b, const char *kw, const char *rest, size_t n,
         bool pattern)
{
    const char *end = rest + n, *w = rest, *filter;
    size_t wlen = 0, flen;
    struct raw_entry *r;
    int access, rc;

    if (n == 0)
        return fail(b, "`%s` without a filter", kw);
    while (w + wlen < end && !is_blank(w[wlen]))
        wlen++;
    filter = trim(w + wlen, end, &flen);
    access = access_word(w, wlen);
    if (flen == 0) {
        if (access >= 0)
            return fail(b, "`%s %.*s` without a filter", kw, (int)wlen, w);
        filter = w;
        flen = wlen;
        access = A_RW;
    } else if (access < 0) {
        return fail(b, "bad access `%.*s` (read, write, readwrite or deny; "
                    "a filter with blanks needs one)", pt_quote_len(wlen), w);
    }
    if (vec_reserve(&b->raw, sizeof(*r), 1) != 0)
        return fail_nomem(b);
    r = (struct raw_entry *)b->raw.p + b->raw.n;
    rc = compile_filter(b, filter, flen, pattern, &r->e);
    if (rc != 0)
        return rc;
    r->sec = pattern ? SEC_PATTERNS : b->cur;
    r->access = (uint8_t)access;
    b->raw.n++;
    if (pattern)
        b->npatterns++;
    else
        b->ntopics++;
    return 0;
}

static int
parse_line(struct builder *b, const char *s, size_t n)
{
    const char *end = s + n, *kw, *rest;
    size_t kwlen = 0, rlen;

    if (memchr(s, '\0', n) != NULL)
        return fail(b, "NUL byte in line");
    kw = trim(s, end, &n);
    if (n == 0 || kw[0] == '#')
        return 0;
    while (kwlen < n && !is_blank(kw[kwlen]))
        kwlen++;
    rest = trim(kw + kwlen, kw + n, &rlen);
    if (word_is(kw, kwlen, "user"))
        return on_user(b, rest, rlen);
    if (word_is(kw, kwlen, "topic"))
        return on_entry(b, "topic", rest, rlen, false);
    if (word_is(kw, kwlen, "pattern"))
        return on_entry(b, "pattern", rest, rlen, true);
    return fail(b, "unknown keyword `%.*s` (user, topic or pattern)",
                pt_quote_len(kwlen), kw);
}

/* ---- compiling ---- */

static void
builder_free(struct builder *b)
{
    free(b->text.p);
    free(b->pieces.p);
    free(b->levels.p);
    free(b->raw.p);
    free(b->secs.p);
    free(b->slots);
}

static void
group_counts(struct pt_acl_section *s, const uint32_t cnt[A_N])
{
    s->ndeny = cnt[A_DENY];
    s->nwrite = cnt[A_WRITE];
    s->nrw = cnt[A_RW];
    s->nread = cnt[A_READ];
}

/* Hand the builder's arrays over to a new acl, entries grouped per
 * section. On failure the builder still owns everything. */
static int
compile(struct builder *b, struct pt_acl **out)
{
    uint32_t nsec = (uint32_t)b->secs.n;
    uint32_t (*cnt)[A_N] = calloc(nsec + 1, sizeof(*cnt));
    uint32_t (*pos)[A_N] = calloc(nsec + 1, sizeof(*pos));
    struct acl_entry *ent = malloc((b->raw.n ? b->raw.n : 1) * sizeof(*ent));
    struct pt_acl *acl = calloc(1, sizeof(*acl));
    const struct raw_entry *raw = b->raw.p;
    uint32_t next = 0;

    if (cnt == NULL || pos == NULL || ent == NULL || acl == NULL) {
        free(cnt);
        free(pos);
        free(ent);
        free(acl);
        return -ENOMEM;
    }
    /* row nsec counts the patterns */
    for (size_t i = 0; i < b->raw.n; i++)
        cnt[raw[i].sec == SEC_PATTERNS ? nsec : raw[i].sec][raw[i].access]++;
    for (uint32_t s = 0; s <= nsec; s++) {
        struct pt_acl_section *sec = s < nsec ? sec_at(b, s) : &acl->patterns;

        sec->first = next;
        group_counts(sec, cnt[s]);
        for (int a = 0; a < A_N; a++) {
            pos[s][a] = next;
            next += cnt[s][a];
        }
    }
    for (size_t i = 0; i < b->raw.n; i++) {
        uint32_t s = raw[i].sec == SEC_PATTERNS ? nsec : raw[i].sec;

        ent[pos[s][raw[i].access]++] = raw[i].e;
        if (s == nsec)
            acl->pat_needs |= raw[i].e.needs;
    }
    free(cnt);
    free(pos);

    acl->text = b->text.p;
    acl->pieces = b->pieces.p;
    acl->levels = b->levels.p;
    acl->entries = ent;
    acl->sections = b->secs.p;
    acl->slots = b->slots;
    acl->nsections = nsec;
    acl->slot_mask = b->slot_mask;
    acl->ntopics = b->ntopics;
    acl->npatterns = b->npatterns;
    acl->bytes = sizeof(*acl) + b->text.cap + b->pieces.cap *
                 sizeof(struct acl_piece) + b->levels.cap *
                 sizeof(struct acl_level) + b->raw.n * sizeof(*ent) +
                 b->secs.cap * sizeof(struct pt_acl_section) +
                 (b->slot_mask + 1) * sizeof(*b->slots);
    free(b->raw.p);
    memset(b, 0, sizeof(*b));
    *out = acl;
    return 0;
}

/* ---- API ---- */

int
pt_acl_parse(const char *text, size_t len, const char *origin,
             struct pt_acl **out, char *err, size_t errlen)
{
    struct builder b = {
        .origin = origin ? origin : "acl",
        .err = err,
        .errlen = errlen,
        .cur = SEC_ANON,
    };
    struct pt_lines lines;
    const char *s;
    size_t n;
    int rc = 0;

    rc = pt_text_size_check(b.origin, len, PT_ACL_MAX_FILE, err, errlen);
    if (rc != 0)
        return rc;
    b.slots = calloc(16, sizeof(*b.slots));
    b.slot_mask = 15;
    if (b.slots == NULL || sec_new(&b, 0, 0) != 0 || sec_new(&b, 0, 0) != 0) {
        rc = fail_nomem(&b);
        goto out;
    }
    pt_lines_init(&lines, text, len);
    while (pt_lines_next(&lines, &s, &n)) {
        b.line = lines.no;
        if (n > PT_ACL_MAX_LINE) {
            rc = fail(&b, "line longer than %u bytes", PT_ACL_MAX_LINE);
            goto out;
        }
        rc = parse_line(&b, s, n);
        if (rc != 0)
            goto out;
    }
    rc = compile(&b, out);
    if (rc != 0)
        rc = fail_nomem(&b);
out:
    builder_free(&b);
    return rc;
}

int
pt_acl_load(const char *path, struct pt_acl **out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    int rc = pt_read_file(path, PT_ACL_MAX_FILE, &buf, &len, err, errlen);

    if (rc != 0)
        return rc;
    rc = pt_acl_parse(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

void
pt_acl_free(struct pt_acl *acl)
{
    if (acl == NULL)
        return;
    free((void *)acl->text);
    free((void *)acl->pieces);
    free((void *)acl->levels);
    free((void *)acl->entries);
    free((void *)acl->sections);
    free((void *)acl->slots);
    free(acl);
}

void
pt_acl_info(const struct pt_acl *acl, struct pt_acl_info *info)
{
    info->users = acl->nsections - 2;
    info->topics = acl->ntopics;
    info->patterns = acl->npatterns;
    info->bytes = acl->bytes;
}

void
pt_acl_foreach_user(const struct pt_acl *acl,
                    void (*fn)(void *arg, const char *user, size_t len),
                    void *arg)
{
    for (uint32_t i = 2; i < acl->nsections; i++)
        fn(arg, acl->text + acl->sections[i].name_off,
           acl->sections[i].name_len);
}
