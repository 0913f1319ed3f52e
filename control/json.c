/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict JSON parser (see include/petrel/json.h for what is accepted).
 *
 * One pass, no recursion. The parser keeps a stack of the containers it is
 * inside (indices into the value array) and is always in one of three
 * states:
 *
 *     VALUE  --scalar--> AFTER
 *     VALUE  --'[' / '{'--> VALUE / KEY (push), or AFTER when empty
 *     KEY    --"key" ':'--> VALUE
 *     AFTER  --','--> VALUE (in an array) / KEY (in an object)
 *     AFTER  --']' / '}'--> AFTER (pop; the container's span is now known)
 *     AFTER  --stack empty--> done (only whitespace may follow)
 *
 * Memory: the value array grows by doubling (values are addressed by index
 * while parsing); decoded strings go to one arena sized from the input up
 * front (a string never decodes longer than it is written, a number is
 * copied with its NUL), so pointers into it stay valid.
 *
 * This file does not depend on DPDK: petrelctl links it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/json.h>

struct pt_json_doc {
    struct pt_json *v;
    uint32_t n;
    char *arena;
};

struct parser {
    const char *start;
    const char *p;
    const char *end;
    struct pt_json *v;
    uint32_t n;
    uint32_t cap;
    char *arena;
    size_t arena_len;
    uint32_t *stack;
    unsigned depth;
    unsigned max_depth;
    const char *key;        /* key of the member being parsed */
    uint32_t key_len;
    struct pt_json_err err;
};

static int
fail(struct parser *ps, const char *at, const char *reason)
{
    ps->err.pos = (size_t)(at - ps->start);
    ps->err.reason = reason;
    return -1;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Append a value to the array; the parent container (stack top) counts it
 * and an object member takes the pending key. Returns its index or -1. */
static int64_t
new_value(struct parser *ps, enum pt_json_type type)
{
    struct pt_json *x;

    if (ps->n == ps->cap) {
        uint32_t cap = ps->cap ? ps->cap * 2 : 16;
        struct pt_json *v;

        if (ps->cap >= UINT32_MAX / 2)
            return fail(ps, ps->p, "too many values");
        v = realloc(ps->v, (size_t)cap * sizeof(*v));
        if (v == NULL)
            return fail(ps, ps->p, "out of memory");
        ps->v = v;
        ps->cap = cap;
    }
    x = &ps->v[ps->n];
    memset(x, 0, sizeof(*x));
    x->type = type;
    x->span = 1;
    if (ps->depth > 0) {
        struct pt_json *parent = &ps->v[ps->stack[ps->depth - 1]];

        parent->n++;
        if (parent->type == PT_JSON_OBJECT) {
            x->key = ps->key;
            x->key_len = ps->key_len;
        }
    }
    return ps->n++;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned u = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        u <<= 4;
        if (c >= '0' && c <= '9')
            u |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            u |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            u |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = u;
    return 0;
}

static size_t
put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), 0 if it is
 * invalid: bad lead, missing continuation, overlong, surrogate, > U+10FFFF
 * (RFC 3629 table). */
static size_t
utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

size_t
pt_json_utf8_len(const char *s, size_t avail)
{
    return avail == 0 ? 0 : utf8_len((const unsigned char *)s,
                                     (const unsigned char *)s + avail);
}

/* Decode the string at ps->p (on its opening quote) into the arena. */
static int
parse_string(struct parser *ps, const char **out, uint32_t *out_len)
{
    const char *s = ps->p + 1;
    char *d = ps->arena + ps->arena_len, *d0 = d;

    while (s < ps->end && *s != '"') {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20)
            return fail(ps, s, "control character in string (use an "
                        "escape)");
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)s,
                                (const unsigned char *)ps->end);

            if (l == 0)
                return fail(ps, s, "invalid UTF-8 in string");
            memcpy(d, s, l);
            d += l;
            s += l;
            continue;
        }
        if (c != '\\') {
            *d++ = (char)c;
            s++;
            continue;
        }
        if (ps->end - s < 2)
            return fail(ps, ps->p, "unterminated string");
        switch (s[1]) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;

            if (ps->end - s < 6 || hex4(s + 2, &cp) != 0)
                return fail(ps, s, "bad \\u escape (want 4 hex digits)");
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(ps, s, "lone low surrogate in \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (ps->end - s < 12 || s[6] != '\\' || s[7] != 'u' ||
                    hex4(s + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    return fail(ps, s, "high surrogate not followed by a "
                                "low one in \\u escape");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            }
            d += put_utf8(d, cp);
            s += 6;
            continue;
        }
        default:
            return fail(ps, s, "unknown escape in string");
        }
        s += 2;
    }
    if (s >= ps->end)
        return fail(ps, ps->p, "unterminated string");
    if (d - d0 > (ptrdiff_t)UINT32_MAX - 1)
        return fail(ps, ps->p, "string too long");
    *d++ = '\0';
    *out = d0;
    *out_len = (uint32_t)(d - d0 - 1);
    ps->arena_len += (size_t)(d - d0);
    ps->p = s + 1;
    return 0;
}

static int
is_digit(const char *s, const char *end)
{
    return s < end && *s >= '0' && *s <= '9';
}

static int
parse_number(struct parser *ps, struct pt_json *x)
{
    const char *s = ps->p;
    char *d = ps->arena + ps->arena_len;
    size_t len;

    if (s < ps->end && *s == '-')
        s++;
    if (!is_digit(s, ps->end))
        return fail(ps, s, "expected a digit");
    if (*s == '0' && is_digit(s + 1, ps->end))
        return fail(ps, s, "leading zero in number");
    while (is_digit(s, ps->end))
        s++;
    if (s < ps->end && *s == '.') {
        if (!is_digit(++s, ps->end))
            return fail(ps, s, "expected a digit after '.'");
        while (is_digit(s, ps->end))
            s++;
    }
    if (s < ps->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < ps->end && (*s == '+' || *s == '-'))
            s++;
        if (!is_digit(s, ps->end))
            return fail(ps, s, "expected a digit in the exponent");
        while (is_digit(s, ps->end))
            s++;
    }
    len = (size_t)(s - ps->p);
    memcpy(d, ps->p, len);
    d[len] = '\0';
    ps->arena_len += len + 1;
    x->str = d;
    x->n = (uint32_t)len;
    x->num = strtod(d, NULL);
    ps->p = s;
    return 0;
}

static int
parse_literal(struct parser *ps, const char *word, enum pt_json_type type)
{
    size_t l = strlen(word);

    if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, word, l) != 0)
        return fail(ps, ps->p, "expected a value");
    if (new_value(ps, type) < 0)
        return -1;
    ps->p += l;
    return 0;
}

/* Open a container: push it. Returns 1 when it is empty and already
 * closed, 0 when open, -1 on error. */
static int
open_container(struct parser *ps, enum pt_json_type type, char close)
{
    int64_t i;

    if (ps->depth == ps->max_depth)
        return fail(ps, ps->p, "nested too deep");
    i = new_value(ps, type);
    if (i < 0)
        return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    ps->stack[ps->depth++] = (uint32_t)i;
    return 0;
}

/* Parse one value starting at ps->p. Returns 1 when a container was
 * opened (its contents come next), 0 when the value is complete. */
static int
parse_value(struct parser *ps)
{
    int64_t i;

    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "expected a value, found the end");
    switch (*ps->p) {
    case '{': {
        int rc = open_container(ps, PT_JSON_OBJECT, '}');

        return rc < 0 ? -1 : !rc;
    }
    case '[': {
        int rc = open_container(ps, PT_JSON_ARRAY, ']');

        return rc < 0 ? -1 : !rc;
    }
    case '"':
        i = new_value(ps, PT_JSON_STRING);
        if (i < 0)
            return -1;
        return parse_string(ps, &ps->v[i].str, &ps->v[i].n);
    case 't':
        return parse_literal(ps, "true", PT_JSON_TRUE);
    case 'f':
        return parse_literal(ps, "false", PT_JSON_FALSE);
    case 'n':
        return parse_literal(ps, "null", PT_JSON_NULL);
    default:
        if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
            return fail(ps, ps->p, "expected a value");
        i = new_value(ps, PT_JSON_NUMBER);
        if (i < 0)
            return -1;
        return parse_number(ps, &ps->v[i]);
    }
}

/* In an object, before a member: "key" ':'. */
static int
parse_key(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, ps->p, "expected a string key");
    if (parse_string(ps, &ps->key, &ps->key_len) != 0)
        return -1;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        return fail(ps, ps->p, "expected ':' after the key");
    ps->p++;
    return 0;
}

static int
run(struct parser *ps)
{
    enum { VALUE, KEY, AFTER } st = VALUE;

    for (;;) {
        struct pt_json *top;
        int rc;

        switch (st) {
        case KEY:
            if (parse_key(ps) != 0)
                return -1;
            st = VALUE;
            break;
        case VALUE:
            rc = parse_value(ps);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                st = AFTER;
            } else {
                top = &ps->v[ps->stack[ps->depth - 1]];
                st = top->type == PT_JSON_OBJECT ? KEY : VALUE;
            }
            break;
        case AFTER:
            skip_ws(ps);
            if (ps->depth == 0) {
                if (ps->p != ps->end)
                    return fail(ps, ps->p, "unexpected text after the "
                                "value");
                return 0;
            }
            top = &ps->v[ps->stack[ps->depth - 1]];
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                st = top->type == PT_JSON_OBJECT ? KEY : VALUE;
                skip_ws(ps);
                if (ps->p < ps->end && (*ps->p == ']' || *ps->p == '}'))
                    return fail(ps, ps->p, "trailing comma");
                break;
            }
            if (ps->p < ps->end &&
                *ps->p == (top->type == PT_JSON_OBJECT ? '}' : ']')) {
                ps->p++;
                top->span = ps->n - ps->stack[--ps->depth];
                break;
            }
            if (ps->p >= ps->end)
                return fail(ps, ps->p, top->type == PT_JSON_OBJECT ?
                            "unterminated object" : "unterminated array");
            return fail(ps, ps->p, top->type == PT_JSON_OBJECT ?
                        "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

struct pt_json_doc *
pt_json_parse(const char *text, size_t len, unsigned max_depth,
              struct pt_json_err *err)
{
    struct parser ps = {
        .start = text,
        .p = text,
        .end = text + len,
        .max_depth = max_depth == 0 ? PT_JSON_DEPTH_DEFAULT :
                     max_depth > PT_JSON_DEPTH_MAX ? PT_JSON_DEPTH_MAX :
                     max_depth,
    };
    struct pt_json_doc *doc = NULL;
    int e = EINVAL;

    if (len >= UINT32_MAX / 2) {
        fail(&ps, text, "input too large");
        goto out;
    }
    /* a string decodes to at most its written length less the quotes,
     * plus a NUL; a number is copied with a NUL: 2 * len + 1 bounds both */
    ps.arena = malloc(2 * len + 1);
    ps.stack = malloc(ps.max_depth * sizeof(*ps.stack));
    doc = malloc(sizeof(*doc));
    if (ps.arena == NULL || ps.stack == NULL || doc == NULL) {
        fail(&ps, text, "out of memory");
        e = ENOMEM;
        goto out;
    }
    if (run(&ps) != 0) {
        if (strcmp(ps.err.reason, "out of memory") == 0)
            e = ENOMEM;
        goto out;
    }
    free(ps.stack);
    doc->v = ps.v;
    doc->n = ps.n;
    doc->arena = ps.arena;
    return doc;

out:
    free(doc);
    free(ps.v);
    free(ps.arena);
    free(ps.stack);
    if (err != NULL)
        *err = ps.err;
    errno = e;
    return NULL;
}

void
pt_json_free(struct pt_json_doc *doc)
{
    if (doc == NULL)
        return;
    free(doc->v);
    free(doc->arena);
    free(doc);
}

const struct pt_json *
pt_json_root(const struct pt_json_doc *doc)
{
    return doc->v;
}

const struct pt_json *
pt_json_first(const struct pt_json *v)
{
    if (v == NULL || (v->type != PT_JSON_ARRAY && v->type != PT_JSON_OBJECT)
        || v->n == 0)
        return NULL;
    return v + 1;
}

const struct pt_json *
pt_json_next(const struct pt_json *parent, const struct pt_json *child)
{
    const struct pt_json *next = child + child->span;

    return next < parent + parent->span ? next : NULL;
}

const struct pt_json *
pt_json_get(const struct pt_json *obj, const char *key)
{
    size_t l = strlen(key);

    if (obj == NULL || obj->type != PT_JSON_OBJECT)
        return NULL;
    for (const struct pt_json *m = pt_json_first(obj); m != NULL;
         m = pt_json_next(obj, m))
        if (m->key_len == l && memcmp(m->key, key, l) == 0)
            return m;
    return NULL;
}

const struct pt_json *
pt_json_at(const struct pt_json *arr, size_t i)
{
    const struct pt_json *e;

    if (arr == NULL || arr->type != PT_JSON_ARRAY || i >= arr->n)
        return NULL;
    for (e = pt_json_first(arr); i > 0; i--)
        e = pt_json_next(arr, e);
    return e;
}

bool
pt_json_is_scalar(const struct pt_json *v)
{
    return v->type != PT_JSON_ARRAY && v->type != PT_JSON_OBJECT;
}

int
pt_json_u64(const struct pt_json *v, uint64_t *out)
{
    uint64_t u = 0;

    /* negative or fractional is -EINVAL however large (1e400, 2^64.5) */
    if (v == NULL || v->type != PT_JSON_NUMBER ||
        strcspn(v->str, "-.eE") != v->n)
        return -EINVAL;
    for (uint32_t i = 0; i < v->n; i++) {
        unsigned d = (unsigned)(v->str[i] - '0');

        if (u > (UINT64_MAX - d) / 10)
            return -ERANGE;
        u = u * 10 + d;
    }
    *out = u;
    return 0;
}

const char *
pt_json_str(const struct pt_json *v)
{
    return v != NULL && v->type == PT_JSON_STRING ? v->str : NULL;
}

const char *
pt_json_type_name(enum pt_json_type t)
{
    static const char *const names[] = {
        [PT_JSON_NULL] = "null",
        [PT_JSON_FALSE] = "false",
        [PT_JSON_TRUE] = "true",
        [PT_JSON_NUMBER] = "number",
        [PT_JSON_STRING] = "string",
        [PT_JSON_ARRAY] = "array",
        [PT_JSON_OBJECT] = "object",
    };

    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] :
           "?";
}
