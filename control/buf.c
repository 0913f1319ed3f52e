/* SPDX-License-Identifier: BSD-3-Clause */
/* Growable text buffer for control-socket answers (control plane only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/ctl.h>
#include <petrel/json.h>

static int
reserve(struct pt_buf *b, size_t more)
{
    size_t want = b->len + more + 1;
    char *p;

    if (b->oom)
        return -1;
    if (want <= b->cap)
        return 0;
    if (want < b->cap * 2)
        want = b->cap * 2;
    if (want < 256)
        want = 256;
    p = realloc(b->data, want);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = want;
    return 0;
}

void
pt_buf_printf(struct pt_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
pt_buf_json_str(struct pt_buf *b, const char *s)
{
    const char *end = s + strlen(s);

    pt_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        size_t l;

        if (c == '"' || c == '\\') {
            pt_buf_printf(b, "\\%c", c);
        } else if (c < 0x20) {
            pt_buf_printf(b, "\\u%04x", c);
        } else if (c < 0x80) {
            pt_buf_printf(b, "%c", c);
        } else if ((l = pt_json_utf8_len(s, (size_t)(end - s))) == 0) {
            pt_buf_printf(b, "\\ufffd"); /* not UTF-8: JSON can't carry it */
        } else {
            pt_buf_printf(b, "%.*s", (int)l, s);
            s += l - 1;
        }
    }
    pt_buf_printf(b, "\"");
}

void
pt_buf_free(struct pt_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
