/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small strict JSON parser (RFC 8259) for the control socket: the server
 * reads JSON requests with it and petrelctl reads the answers. It is not a
 * general-purpose library: no writer (answers are built with struct pt_buf),
 * no streaming, no comments or other extensions.
 *
 * The document is one allocation of values in pre-order (a value is
 * followed by its children; v + v->span is its next sibling) plus one arena
 * of decoded strings, so a parse costs a handful of allocations whatever
 * the input. The parser is a loop over an explicit stack: nesting deeper
 * than max_depth is an error, never a deep C stack.
 *
 * Accepted: one value (any type) with optional whitespace around it; strings
 * of valid UTF-8 with every escape including \uXXXX and surrogate pairs;
 * numbers in the JSON grammar. Refused, with the byte offset and a reason:
 * trailing commas, leading zeros, bare control characters in strings, bad
 * escapes, lone surrogates, invalid or overlong UTF-8, NaN/Infinity, single
 * quotes, anything after the value. Duplicate object keys are kept (lookups
 * return the first).
 *
 * Threading: any thread; a document is not shared while being parsed.
 */
#ifndef PETREL_JSON_H
#define PETREL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Nesting limit used when the caller passes max_depth = 0. */
#define PT_JSON_DEPTH_DEFAULT 64
/** Larger max_depth values are lowered to this. */
#define PT_JSON_DEPTH_MAX 4096

enum pt_json_type {
    PT_JSON_NULL = 0,
    PT_JSON_FALSE,
    PT_JSON_TRUE,
    PT_JSON_NUMBER,
    PT_JSON_STRING,
    PT_JSON_ARRAY,
    PT_JSON_OBJECT,
};

/** One value of a parsed document. */
struct pt_json {
    enum pt_json_type type;
    uint32_t n;       /**< array/object: children; string/number: bytes */
    uint32_t span;    /**< values in this subtree, itself included */
    uint32_t key_len; /**< member of an object: bytes of its key */
    const char *key;  /**< member of an object: its key (NUL-terminated);
                       *   NULL otherwise */
    const char *str;  /**< string: decoded UTF-8, NUL-terminated (may hold
                       *   NULs itself: use n); number: its text as written */
    double num;       /**< number: its value (rounded for big integers) */
};

/** Where and why a parse failed. */
struct pt_json_err {
    size_t pos;          /**< byte offset of the offending input */
    const char *reason;  /**< static text, e.g. "unterminated string" */
};

struct pt_json_doc;

/**
 * Parse text[0..len) (need not be NUL-terminated).
 * @param max_depth  arrays/objects nested deeper are refused; 0 = default.
 * @param err        filled on failure (may be NULL).
 * @return the document, or NULL with errno EINVAL (bad JSON, err filled)
 *         or ENOMEM (err->reason "out of memory").
 */
struct pt_json_doc *pt_json_parse(const char *text, size_t len,
                                  unsigned max_depth, struct pt_json_err *err);

/** Free a document (NULL is fine). Values taken from it die with it. */
void pt_json_free(struct pt_json_doc *doc);

/** The top-level value. */
const struct pt_json *pt_json_root(const struct pt_json_doc *doc);

/** First child of an array or object, NULL if empty or not a container. */
const struct pt_json *pt_json_first(const struct pt_json *v);

/** Next sibling of a child of parent, NULL after the last. */
const struct pt_json *pt_json_next(const struct pt_json *parent,
                                   const struct pt_json *child);

/** Member key of object obj, NULL if absent or obj is not an object. */
const struct pt_json *pt_json_get(const struct pt_json *obj, const char *key);

/** Element i of an array, NULL if out of range or not an array. */
const struct pt_json *pt_json_at(const struct pt_json *arr, size_t i);

/** True for null, booleans, numbers and strings. */
bool pt_json_is_scalar(const struct pt_json *v);

/**
 * Read a number that is a non-negative integer (no fraction, no exponent)
 * exactly, up to UINT64_MAX.
 * @return 0, or -EINVAL (not a number, negative, fractional) or -ERANGE.
 */
int pt_json_u64(const struct pt_json *v, uint64_t *out);

/** The string of v, or NULL when v is NULL or not a string. */
const char *pt_json_str(const struct pt_json *v);

/**
 * Length of the UTF-8 sequence at s, given avail bytes from s: 2 to 4
 * when it is a valid one with a lead byte >= 0x80, else 0 (ASCII, bad
 * lead, missing continuation, overlong, surrogate, above U+10FFFF).
 * What the parser accepts in a string, and what pt_buf_json_str writes
 * unescaped.
 */
size_t pt_json_utf8_len(const char *s, size_t avail);

/** Name of a type ("object", "string", ...) for error messages. */
const char *pt_json_type_name(enum pt_json_type t);

#endif /* PETREL_JSON_H */
