/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Layout of a compiled acl, shared by control/acl_load.c (which builds
 * it) and dataplane/acl.c (which reads it). Not an API:
 * include/petrel/acl.h is.
 *
 * Everything is an index into a few flat arrays, so a check follows no
 * pointer but the acl's own:
 *
 *   sections[0]       anonymous section
 *   sections[1]       the shared empty section of users without one
 *   sections[2..]     user sections, in the order the file names them
 *   patterns          a section of its own holding every pattern
 *   entries[]         each section's entries, contiguous, grouped
 *                     deny | write | readwrite | read
 *                     so the write grants (write, readwrite) and the read
 *                     grants (readwrite, read) are each one range
 *   levels[]          each entry's filter, split at '/'
 *   pieces[]          a level of a pattern holding %u or %c, as literal
 *                     text and substitutions
 *   text              user names and entry filters, not NUL-terminated
 *   slots[]           open-addressing hash of user names -> section
 *                     index (0: empty slot; 0 is the anonymous section,
 *                     which has no name)
 *
 * Invariants: entries have 1..PT_ACL_MAX_LEVELS levels, only the last
 * may be ACL_HASH; only patterns have ACL_SUB levels; `needs` is 0 for
 * topic entries.
 */
#ifndef PETREL_ACL_PRIV_H
#define PETREL_ACL_PRIV_H

#include <stdint.h>
#include <string.h>

#include <petrel/acl.h>

enum acl_level_kind {
    ACL_LIT,    /* text[off, off + len) */
    ACL_PLUS,
    ACL_HASH,
    ACL_SUB,    /* pieces[off, off + npieces); len literal bytes in all */
};

enum acl_piece_kind {
    ACL_P_LIT,  /* text[off, off + len) */
    ACL_P_USER, /* %u */
    ACL_P_CID,  /* %c */
};

struct acl_piece {
    uint32_t off;
    uint16_t len;
    uint8_t kind;
    uint8_t pad;
};

struct acl_level {
    uint64_t fp;        /* ACL_LIT: acl_fp() of the level */
    uint32_t off;
    uint16_t len;
    uint8_t kind;
    uint8_t pad;
    uint16_t npieces;
    uint16_t nu;        /* %u pieces */
    uint16_t nc;        /* %c pieces */
    uint16_t pad2;
};

/* Client states that make a pattern unusable (struct acl_entry.needs):
 * the check computes the client's state once, a pattern applies when
 * (state & needs) == 0. */
#define ACL_S_ANON      0x01u   /* no user name (and the pattern has %u) */
#define ACL_S_USER_BAD  0x02u   /* user name has '+', '#' or '/' */
#define ACL_S_CID_BAD   0x04u   /* client id has them, or is missing */
#define ACL_S_USER_LEAD 0x08u   /* user name empty or starts with '$' */
#define ACL_S_CID_LEAD  0x10u   /* client id empty or starts with '$' */

struct acl_entry {
    uint32_t lvl;       /* first level in levels[] */
    uint8_t nlv;        /* levels, a trailing '#' included */
    uint8_t hash;       /* 1 when the last level is '#' */
    uint8_t dollar;     /* 1 when the filter starts with a literal '$' */
    uint8_t needs;      /* ACL_S_* bits that make the pattern unusable */
};

struct pt_acl_section {
    uint32_t name_off;  /* in text (sections 2..) */
    uint32_t name_len;
    uint32_t first;     /* first entry in entries[] */
    uint32_t ndeny;
    uint32_t nwrite;
    uint32_t nrw;
    uint32_t nread;
};

struct pt_acl {
    const char *text;
    const struct acl_piece *pieces;
    const struct acl_level *levels;
    const struct acl_entry *entries;
    const struct pt_acl_section *sections;
    const uint32_t *slots;
    uint32_t nsections;
    uint32_t slot_mask;
    struct pt_acl_section patterns;
    uint8_t pat_needs;  /* OR of the patterns' needs */
    size_t ntopics;
    size_t npatterns;
    size_t bytes;
};

/* Fingerprint of a level: its first and last 4 bytes (all of them when
 * shorter). Two levels of equal length up to 8 bytes are equal iff their
 * fingerprints are; longer ones differ when their fingerprints do. */
static inline uint64_t
acl_fp(const char *s, size_t n)
{
    uint32_t a = 0, b = 0;

    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            a |= (uint32_t)(uint8_t)s[i] << (8 * i);
    }
    return (uint64_t)a | (uint64_t)b << 32;
}

/* Hash of a user name (FNV-1a), for slots[]. */
static inline uint32_t
acl_name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

#endif /* PETREL_ACL_PRIV_H */
