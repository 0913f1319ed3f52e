/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The human rendering of any JSON result, so a new broker command needs
 * nothing here:
 *
 *   object            aligned "key: value" lines; a member that is an
 *                     object or array gets "key:" and its contents
 *                     indented by two
 *   array of objects  a table when every element is a flat object (only
 *   with scalars      scalars): a header row of the union of the keys, in
 *                     order of appearance, upper-cased; numeric columns
 *                     right-aligned; a missing cell is "-"
 *   array of scalars  one per line
 *   other arrays      each element under an "[i]" heading
 *   scalars           strings as they are (control characters escaped, so
 *                     a client id cannot drive the terminal), numbers as
 *                     written (no thousands separators), null as "-"
 *   empty object or array  "(none)"
 *
 * It is not a pretty-printer of JSON: --json prints the answer verbatim.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrelctl.h"

#define INDENT 2

size_t
ctl_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* Copy s[0..n) escaping control characters; always NUL-terminates. */
static void
sanitize(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    if (size == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[5];
        size_t l;

        if (c >= 0x20 && c != 0x7f) {
            esc[0] = (char)c;
            l = 1;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            l = 2;
        } else {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            l = 4;
        }
        if (o + l >= size)
            break;
        memcpy(buf + o, esc, l);
        o += l;
    }
    buf[o] = '\0';
}

void
ctl_scalar(const struct pt_json *v, char *buf, size_t size)
{
    switch (v->type) {
    case PT_JSON_STRING:
    case PT_JSON_NUMBER:
        sanitize(v->str, v->n, buf, size);
        break;
    case PT_JSON_TRUE:
        snprintf(buf, size, "true");
        break;
    case PT_JSON_FALSE:
        snprintf(buf, size, "false");
        break;
    case PT_JSON_NULL:
        snprintf(buf, size, "-");
        break;
    default:
        snprintf(buf, size, "%s", v->n ? "..." : "(none)");
    }
}

/* A scalar (or an empty container) for people, malloc'd. */
static char *
scalar_dup(const struct pt_json *v)
{
    size_t size = (pt_json_is_scalar(v) ? (size_t)v->n * 4 : 0) + 16;
    char *s = malloc(size);

    if (s != NULL)
        ctl_scalar(v, s, size);
    return s;
}

static char *
key_dup(const struct pt_json *v)
{
    size_t size = (size_t)v->key_len * 4 + 1;
    char *s = malloc(size);

    if (s != NULL)
        sanitize(v->key, v->key_len, s, size);
    return s;
}

/* Shown on the line of its key: scalars and empty containers. */
static bool
inline_value(const struct pt_json *v)
{
    return pt_json_is_scalar(v) || v->n == 0;
}

static bool
flat_object(const struct pt_json *v)
{
    if (v->type != PT_JSON_OBJECT)
        return false;
    for (const struct pt_json *m = pt_json_first(v); m != NULL;
         m = pt_json_next(v, m))
        if (!pt_json_is_scalar(m))
            return false;
    return true;
}

static bool
table_array(const struct pt_json *a)
{
    if (a->n == 0)
        return false;
    for (const struct pt_json *e = pt_json_first(a); e != NULL;
         e = pt_json_next(a, e))
        if (!flat_object(e))
            return false;
    return true;
}

static void
pad(FILE *f, size_t n)
{
    fprintf(f, "%*s", (int)n, "");
}

struct column {
    const struct pt_json *first; /* a member carrying the key */
    char *title;
    size_t width;
    bool numeric;
};

static const struct pt_json *
cell(const struct pt_json *row, const struct column *c)
{
    for (const struct pt_json *m = pt_json_first(row); m != NULL;
         m = pt_json_next(row, m))
        if (m->key_len == c->first->key_len &&
            memcmp(m->key, c->first->key, m->key_len) == 0)
            return m;
    return NULL;
}

static void
table(FILE *f, const struct pt_json *a, int ind)
{
    struct column *cols = NULL;
    size_t n = 0, cap = 0;

    /* columns: the union of the keys, in order of appearance */
    for (const struct pt_json *e = pt_json_first(a); e != NULL;
         e = pt_json_next(a, e)) {
        for (const struct pt_json *m = pt_json_first(e); m != NULL;
             m = pt_json_next(e, m)) {
            size_t i;

            for (i = 0; i < n; i++)
                if (cols[i].first->key_len == m->key_len &&
                    memcmp(cols[i].first->key, m->key, m->key_len) == 0)
                    break;
            if (i < n)
                continue;
            if (n == cap) {
                struct column *p = realloc(cols, (cap = cap * 2 + 8) *
                                                 sizeof(*cols));

                if (p == NULL)
                    goto out;
                cols = p;
            }
            cols[n].first = m;
            cols[n].title = key_dup(m);
            if (cols[n].title == NULL)
                goto out;
            for (char *t = cols[n].title; *t; t++)
                *t = (char)toupper((unsigned char)*t);
            cols[n].width = ctl_width(cols[n].title);
            cols[n].numeric = true;
            n++;
        }
    }
    for (const struct pt_json *e = pt_json_first(a); e != NULL;
         e = pt_json_next(a, e)) {
        for (size_t i = 0; i < n; i++) {
            const struct pt_json *v = cell(e, &cols[i]);
            char *s = v != NULL ? scalar_dup(v) : NULL;
            size_t w = s != NULL ? ctl_width(s) : 1;

            if (v != NULL && v->type != PT_JSON_NUMBER &&
                v->type != PT_JSON_NULL)
                cols[i].numeric = false;
            if (w > cols[i].width)
                cols[i].width = w;
            free(s);
        }
    }
    /* header, then one row per element */
    for (const struct pt_json *e = NULL;;) {
        pad(f, (size_t)ind);
        for (size_t i = 0; i < n; i++) {
            const struct pt_json *v = e != NULL ? cell(e, &cols[i]) : NULL;
            char *s = e == NULL ? NULL : v != NULL ? scalar_dup(v) : NULL;
            const char *txt = e == NULL ? cols[i].title : s ? s : "-";
            size_t gap = cols[i].width - ctl_width(txt);
            bool last = i + 1 == n;

            if (cols[i].numeric)
                pad(f, gap);
            fputs(txt, f);
            if (!cols[i].numeric && !last)
                pad(f, gap);
            if (!last)
                fputs("  ", f);
            free(s);
        }
        fputc('\n', f);
        e = e == NULL ? pt_json_first(a) : pt_json_next(a, e);
        if (e == NULL)
            break;
    }

out:
    for (size_t i = 0; i < n; i++)
        free(cols[i].title);
    free(cols);
}

static void value(FILE *f, const struct pt_json *v, int ind);

static void
object(FILE *f, const struct pt_json *o, int ind)
{
    size_t w = 0;

    for (const struct pt_json *m = pt_json_first(o); m != NULL;
         m = pt_json_next(o, m)) {
        char *k = key_dup(m);

        if (k != NULL && inline_value(m) && ctl_width(k) > w)
            w = ctl_width(k);
        free(k);
    }
    for (const struct pt_json *m = pt_json_first(o); m != NULL;
         m = pt_json_next(o, m)) {
        char *k = key_dup(m);

        if (k == NULL)
            return;
        pad(f, (size_t)ind);
        if (inline_value(m)) {
            char *s = scalar_dup(m);

            fprintf(f, "%s:", k);
            pad(f, w - ctl_width(k) + 1);
            fprintf(f, "%s\n", s ? s : "?");
            free(s);
        } else {
            fprintf(f, "%s:\n", k);
            value(f, m, ind + INDENT);
        }
        free(k);
    }
}

static void
array(FILE *f, const struct pt_json *a, int ind)
{
    size_t i = 0;

    if (table_array(a)) {
        table(f, a, ind);
        return;
    }
    for (const struct pt_json *e = pt_json_first(a); e != NULL;
         e = pt_json_next(a, e), i++) {
        if (inline_value(e)) {
            char *s = scalar_dup(e);

            pad(f, (size_t)ind);
            fprintf(f, "%s\n", s ? s : "?");
            free(s);
        } else {
            pad(f, (size_t)ind);
            fprintf(f, "[%zu]\n", i);
            value(f, e, ind + INDENT);
        }
    }
}

static void
value(FILE *f, const struct pt_json *v, int ind)
{
    if (inline_value(v)) {
        char *s = scalar_dup(v);

        pad(f, (size_t)ind);
        fprintf(f, "%s\n", s ? s : "?");
        free(s);
    } else if (v->type == PT_JSON_OBJECT) {
        object(f, v, ind);
    } else {
        array(f, v, ind);
    }
}

void
ctl_render(FILE *f, const struct pt_json *v)
{
    value(f, v, 0);
}
