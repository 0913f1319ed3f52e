/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Read a whole (configuration-size) file into memory: the password file,
 * the ACL and the content rules are parsed from a buffer. And what their
 * line-oriented parsers share: the line loop and "origin:line: why"
 * error messages.
 *
 * Threading: any thread. Ownership: the caller frees *buf.
 */
#ifndef PETREL_CONTROL_READFILE_H
#define PETREL_CONTROL_READFILE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/**
 * Read path into a malloc'd, NUL-terminated buffer (the NUL not counted in
 * *len). Reads until end of file, so a file that changes size meanwhile
 * is read as it ends up. On failure err (if not NULL) gets "path: larger
 * than MAX bytes" or "path: <strerror>".
 * @return 0, -EFBIG (more than max bytes), -ENOMEM, or -errno of
 *         open/read.
 */
int pt_read_file(const char *path, size_t max, char **buf, size_t *len,
                 char *err, size_t errlen);

/**
 * A text's size against a parser's limit: 0 when len <= max, else -EFBIG
 * with err (if not NULL) "origin: larger than MAX bytes", the words
 * pt_read_file() uses for a file.
 */
int pt_text_size_check(const char *origin, size_t len, size_t max, char *err,
                       size_t errlen);

/** The lines of a text, for the line-oriented parsers (password file,
 * ACL, rules): each without its '\n' nor a '\r' before it; `no` is the
 * number of the line last returned (from 1). */
struct pt_lines {
    const char *p, *end;
    unsigned no;
};

static inline void
pt_lines_init(struct pt_lines *l, const char *text, size_t len)
{
    l->p = text;
    l->end = len > 0 ? text + len : text;   /* text may be NULL when empty */
    l->no = 0;
}

/** The next line in *s, *n. @return false at the end of the text. */
static inline bool
pt_lines_next(struct pt_lines *l, const char **s, size_t *n)
{
    const char *nl;

    if (l->p >= l->end)
        return false;
    nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    *s = l->p;
    *n = (size_t)((nl != NULL ? nl : l->end) - l->p);
    l->p = nl != NULL ? nl + 1 : l->end;
    if (*n > 0 && (*s)[*n - 1] == '\r')
        (*n)--;
    l->no++;
    return true;
}

/**
 * Write "origin:line: <fmt, ap>" into err (nothing when err is NULL or
 * errlen 0): a parser's error naming the file (or "-" for text) and line.
 * @return -EINVAL, what a parse error returns
 */
int pt_line_vfail(char *err, size_t errlen, const char *origin, unsigned line,
                  const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/** At most 48 bytes of a quoted field, for messages ("%.*s"). */
static inline int
pt_quote_len(size_t n)
{
    return n > 48 ? 48 : (int)n;
}

#endif /* PETREL_CONTROL_READFILE_H */
