/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access control lists, dataplane half (include/petrel/acl.h): the
 * section lookup and the publish and subscribe checks, run by the
 * dataplane cores against an acl compiled by control/acl_load.c
 * (layout in acl_priv.h).
 *
 * A check splits the topic or filter at '/' once, into offsets, lengths
 * and fingerprints (acl_fp) on the stack (at most PT_ACL_MAX_LEVELS + 1
 * levels are kept: an entry has at most PT_ACL_MAX_LEVELS, so a longer
 * topic can only be matched by an entry ending in '#', and the level
 * count alone says so), then walks the applicable entries: the section's
 * denies and the patterns' denies first, then the grants. An entry is
 * rejected by its level count before any byte is looked at, a literal
 * level by its length and fingerprint; bytes are compared only for levels
 * over 8 bytes whose fingerprints agree. A topic is compared with an
 * entry from its last level back: entries of one file tend to share their
 * first levels. Levels of patterns holding %u or %c are compared piece by
 * piece against the user name and client id: nothing is built. Whether
 * the names are safe to substitute is worked out once per check, and only
 * when a pattern that substitutes is reached.
 *
 * Relations, for a topic T, a filter F and an entry E (i the level
 * index; a topic is never empty, MQTT-4.7.3-1, so "#" alone is "+/#"
 * and the single empty level "" is no topic either):
 *   E matches T:     E[i] '#' matches the rest (none too: "a/#" matches
 *                    "a"); '+' any one level; a literal the same bytes;
 *                    and E ends exactly where T ends.
 *   E covers F:      every topic F matches, E matches: E[i] '#' covers
 *                    the rest; '+' covers a literal or '+', not '#'; a
 *                    literal only the same literal; E and F end together.
 *   E intersects F:  some topic matches both: a '#' on either side ends
 *                    the walk with yes; '+' meets anything but '#'; two
 *                    literals must be equal; otherwise both must end
 *                    together, or one end where the other has "/#".
 * '$': a topic or filter starting with '$' is matched, covered or met
 * only by an entry whose text starts with a literal '$' (a wildcard or
 * substitution first level never matches it, MQTT-4.7.2-1), and an
 * entry starting with '$' meets no filter that does not.
 *
 * Never: allocation, locks, syscalls, writes to the acl.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <petrel/acl.h>
#include <petrel/debug.h>
#include <petrel/mqtt.h>

#include "acl_priv.h"

#define KEEP (PT_ACL_MAX_LEVELS + 1)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Word-at-a-time byte tests (bit 7 of each byte set where one holds). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGH)
#define HAS_BYTE(v, b) HAS_ZERO((v) ^ (ONES * (uint8_t)(b)))

/* One level of a topic or filter. */
struct lvl {
    uint64_t fp;        /* acl_fp() */
    uint32_t off;
    uint32_t len;
};

/* A topic or filter split at '/'. n counts levels up to KEEP (KEEP: KEEP
 * or more); only the first n are filled. */
struct split {
    const char *s;
    uint32_t n;
    bool dollar;
    struct lvl lv[KEEP];
};

/* The client a check is for. */
struct who {
    const char *user;
    size_t ulen;
    const char *cid;
    size_t clen;
    uint8_t state;      /* ACL_S_* bits, once known */
    bool known;
};

/* Index of the first '/' at or after i, or len: 8 bytes at a time (the
 * lowest flagged byte of HAS_BYTE is exact, so on little-endian the
 * first match is the lowest set bit). */
static inline size_t
next_slash(const char *s, size_t len, size_t i)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= len; i += 8) {
        uint64_t v, m;

        memcpy(&v, s + i, 8);
        m = HAS_BYTE(v, '/');
        if (m != 0)
            return i + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    while (i < len && s[i] != '/')
        i++;
    return i;
}

static void
split(struct split *sp, const char *s, size_t len)
{
    uint32_t n = 0;
    size_t i = 0;

    sp->s = s;
    sp->dollar = len > 0 && s[0] == '$';
    for (;;) {
        size_t end = next_slash(s, len, i);
        struct lvl *l = &sp->lv[n++];

        l->fp = acl_fp(s + i, end - i);
        l->off = (uint32_t)i;
        l->len = (uint32_t)(end - i);
        if (end == len || n == KEEP)
            break;
        i = end + 1;
    }
    sp->n = n;
}

static inline bool
lvl_is(const struct split *sp, uint32_t i, char c)
{
    return sp->lv[i].len == 1 && sp->s[sp->lv[i].off] == c;
}

/* Unsafe for substitution: '+', '#' or '/' inside; *lead: empty or
 * starting with '$' (unsafe where the pattern starts with it). */
static bool
name_bad(const char *s, size_t n, bool *lead)
{
    size_t i = 0;

    *lead = n == 0 || s[0] == '$';
    for (; i + 8 <= n; i += 8) {
        uint64_t v;

        memcpy(&v, s + i, 8);
        if (HAS_BYTE(v, '+') | HAS_BYTE(v, '#') | HAS_BYTE(v, '/'))
            return true;
    }
    for (; i < n; i++) {
        char c = s[i];

        if (c == '+' || c == '#' || c == '/')
            return true;
    }
    return false;
}

static inline void
who_init(struct who *w, const char *user, size_t ulen, const char *cid,
         size_t clen)
{
    w->user = user;
    w->ulen = user ? ulen : 0;
    w->cid = cid;
    w->clen = cid ? clen : 0;
    w->state = 0;       /* set with known; this quiets gcc -O3's
                         * maybe-uninitialized (-Werror in release) */
    w->known = false;
}

/* The client's ACL_S_* state, worked out the first time a pattern that
 * substitutes asks (most checks end before one does). */
static uint8_t
who_state(struct who *w)
{
    uint8_t st = 0;
    bool lead;

    if (w->known)
        return w->state;
    if (w->user == NULL) {
        st |= ACL_S_ANON;
    } else {
        if (name_bad(w->user, w->ulen, &lead))
            st |= ACL_S_USER_BAD;
        if (lead)
            st |= ACL_S_USER_LEAD;
    }
    if (w->cid == NULL) {
        st |= ACL_S_CID_BAD | ACL_S_CID_LEAD;
    } else {
        if (name_bad(w->cid, w->clen, &lead))
            st |= ACL_S_CID_BAD;
        if (lead)
            st |= ACL_S_CID_LEAD;
    }
    w->state = st;
    w->known = true;
    return st;
}

/* Whether a substituted entry level equals s[0, n). */
static bool
sub_eq(const struct pt_acl *acl, const struct acl_level *lv, const char *s,
       size_t n, const struct who *w)
{
    const struct acl_piece *p;

    if (lv->len + lv->nu * w->ulen + lv->nc * w->clen != n)
        return false;
    p = acl->pieces + lv->off;
    for (uint32_t k = 0; k < lv->npieces; k++, p++) {
        const char *v;
        size_t vn;

        if (p->kind == ACL_P_LIT) {
            v = acl->text + p->off;
            vn = p->len;
        } else if (p->kind == ACL_P_USER) {
            v = w->user;
            vn = w->ulen;
        } else {
            v = w->cid;
            vn = w->clen;
        }
        if (vn > 0 && memcmp(s, v, vn) != 0)
            return false;
        s += vn;
    }
    return true;
}

/* Whether a literal or substituted entry level equals level i of sp: a
 * literal by length and fingerprint, and bytes only past 8 of them. */
static ALWAYS_INLINE bool
level_eq(const struct pt_acl *acl, const struct acl_level *lv,
         const struct split *sp, uint32_t i, const struct who *w)
{
    const struct lvl *l = &sp->lv[i];

    if (lv->kind == ACL_LIT)
        return lv->len == l->len && lv->fp == l->fp &&
               (l->len <= 8 ||
                memcmp(acl->text + lv->off, sp->s + l->off, l->len) == 0);
    return sub_eq(acl, lv, sp->s + l->off, l->len, w);
}

/* Whether the '#' at level i of filter f matches no parent: the parent
 * would be no level at all, or the single empty level, and neither is a
 * topic (MQTT-4.7.3-1). Then "#" there means "+/#". */
static inline bool
no_parent(const struct split *f, uint32_t i)
{
    return i == 0 || (i == 1 && f->lv[0].len == 0);
}

/* Whether the topic of levels 0..i-1 that an entry and a filter both
 * match (where one of them ends and the other goes on with '#') can be a
 * topic: not when it is the single empty level, forced by either. */
static inline bool
witness_ok(const struct acl_level *lv, const struct split *f, uint32_t i)
{
    return i != 1 || ((lv[0].kind != ACL_LIT || lv[0].len > 0) &&
                      f->lv[0].len > 0);
}

static ALWAYS_INLINE bool
entry_matches(const struct pt_acl *acl, const struct acl_entry *e,
              const struct split *t, const struct who *w)
{
    uint32_t n = e->nlv - e->hash;      /* levels before a '#' */
    const struct acl_level *lv = acl->levels + e->lvl;

    if (e->hash ? t->n < n : t->n != n)
        return false;
    if (t->dollar && !e->dollar)
        return false;
    /* last level first: entries tend to share their first levels */
    for (uint32_t i = n; i-- > 0;) {
        if (lv[i].kind != ACL_PLUS && !level_eq(acl, &lv[i], t, i, w))
            return false;
    }
    return true;
}

static ALWAYS_INLINE bool
entry_covers(const struct pt_acl *acl, const struct acl_entry *e,
             const struct split *f, const struct who *w)
{
    const struct acl_level *lv = acl->levels + e->lvl;

    if (f->dollar && !e->dollar)
        return false;
    for (uint32_t i = 0; i < e->nlv; i++) {
        if (lv[i].kind == ACL_HASH)
            return true;
        if (i == f->n)
            return false;
        if (lvl_is(f, i, '#'))  /* where its parent is no topic: "+/#" */
            return no_parent(f, i) && lv[i].kind == ACL_PLUS &&
                   i + 1 < e->nlv && lv[i + 1].kind == ACL_HASH;
        if (lv[i].kind == ACL_PLUS)
            continue;
        /* a literal never equals a '+' level (nor does a substitution:
         * names with '+' are unsafe) */
        if (!level_eq(acl, &lv[i], f, i, w))
            return false;
    }
    return f->n == e->nlv;
}

static ALWAYS_INLINE bool
entry_meets(const struct pt_acl *acl, const struct acl_entry *e,
            const struct split *f, const struct who *w)
{
    const struct acl_level *lv = acl->levels + e->lvl;

    if (f->dollar != e->dollar)
        return false;
    for (uint32_t i = 0; i < e->nlv; i++) {
        if (lv[i].kind == ACL_HASH)
            return i < f->n || witness_ok(lv, f, i);
        if (i == f->n)
            return false;
        if (lvl_is(f, i, '#'))
            return true;
        if (lv[i].kind == ACL_PLUS || lvl_is(f, i, '+'))
            continue;
        if (!level_eq(acl, &lv[i], f, i, w))
            return false;
    }
    return f->n == e->nlv ||
           (lvl_is(f, e->nlv, '#') && witness_ok(lv, f, e->nlv));
}

typedef bool (*relation_fn)(const struct pt_acl *acl,
                            const struct acl_entry *e,
                            const struct split *sp, const struct who *w);

/* Whether a deny among entries[first, first + n) of a section or of the
 * patterns relates to sp. A deny pattern that would substitute an unsafe
 * name relates to everything (fail closed); one with %u, for an
 * anonymous client, to nothing. */
static ALWAYS_INLINE bool
any_deny(const struct pt_acl *acl, uint32_t first, uint32_t n,
         const struct split *sp, struct who *w, relation_fn rel)
{
    const struct acl_entry *e = acl->entries + first;

    for (uint32_t i = 0; i < n; i++, e++) {
        if (e->needs != 0) {
            uint8_t hit = who_state(w) & e->needs;

            if (hit & ACL_S_ANON)
                continue;
            if (hit != 0)
                return true;
        }
        if (rel(acl, e, sp, w))
            return true;
    }
    return false;
}

/* Whether a grant among entries[first, first + n) relates to sp; a
 * pattern that would substitute an unsafe or absent name grants nothing. */
static ALWAYS_INLINE bool
any_grant(const struct pt_acl *acl, uint32_t first, uint32_t n,
          const struct split *sp, struct who *w, relation_fn rel)
{
    const struct acl_entry *e = acl->entries + first;

    for (uint32_t i = 0; i < n; i++, e++) {
        if (rel(acl, e, sp, w) &&
            (e->needs == 0 || (who_state(w) & e->needs) == 0))
            return true;
    }
    return false;
}

static inline void
check_sec(const struct pt_acl *acl, const struct pt_acl_section *sec)
{
    PT_HOT_ASSERT(sec >= acl->sections &&
                  sec < acl->sections + acl->nsections);
    (void)acl;
    (void)sec;
}

const struct pt_acl_section *
pt_acl_section(const struct pt_acl *acl, const char *user, size_t ulen)
{
    uint32_t i;

    if (user == NULL)
        return &acl->sections[0];
    for (i = acl_name_hash(user, ulen) & acl->slot_mask;;
         i = (i + 1) & acl->slot_mask) {
        uint32_t k = acl->slots[i];
        const struct pt_acl_section *s = &acl->sections[k];

        if (k == 0)
            return &acl->sections[1];
        if (s->name_len == ulen &&
            memcmp(acl->text + s->name_off, user, ulen) == 0)
            return s;
    }
}

bool
pt_acl_may_publish(const struct pt_acl *acl,
                   const struct pt_acl_section *sec,
                   const char *user, size_t ulen,
                   const char *cid, size_t cidlen,
                   const char *topic, size_t tlen)
{
    const struct pt_acl_section *pat = &acl->patterns;
    struct split t;
    struct who w;

    check_sec(acl, sec);
    PT_HOT_ASSERT(pt_mqtt_topic_check(topic, tlen) == PT_MQTT_OK);
    split(&t, topic, tlen);
    who_init(&w, user, ulen, cid, cidlen);
    if (any_deny(acl, sec->first, sec->ndeny, &t, &w, entry_matches) ||
        any_deny(acl, pat->first, pat->ndeny, &t, &w, entry_matches))
        return false;
    return any_grant(acl, sec->first + sec->ndeny, sec->nwrite + sec->nrw,
                     &t, &w, entry_matches) ||
           any_grant(acl, pat->first + pat->ndeny, pat->nwrite + pat->nrw,
                     &t, &w, entry_matches);
}

bool
pt_acl_may_subscribe(const struct pt_acl *acl,
                     const struct pt_acl_section *sec,
                     const char *user, size_t ulen,
                     const char *cid, size_t cidlen,
                     const char *filter, size_t flen)
{
    const struct pt_acl_section *pat = &acl->patterns;
    struct split f;
    struct who w;

    check_sec(acl, sec);
    PT_HOT_ASSERT(pt_mqtt_filter_check(filter, flen) == PT_MQTT_OK);
    split(&f, filter, flen);
    who_init(&w, user, ulen, cid, cidlen);
    if (any_deny(acl, sec->first, sec->ndeny, &f, &w, entry_meets) ||
        any_deny(acl, pat->first, pat->ndeny, &f, &w, entry_meets))
        return false;
    return any_grant(acl, sec->first + sec->ndeny + sec->nwrite,
                     sec->nrw + sec->nread, &f, &w, entry_covers) ||
           any_grant(acl, pat->first + pat->ndeny + pat->nwrite,
                     pat->nrw + pat->nread, &f, &w, entry_covers);
}
