/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Access control lists: Mosquitto's acl_file format, parsed on the control
 * plane into an immutable compiled form (control/acl_load.c), and the
 * checks the dataplane cores run against it on every PUBLISH and every
 * SUBSCRIBE filter (dataplane/acl.c). docs/acl.md is the user's manual.
 *
 * Format (one statement per line; leading and trailing blanks ignored):
 *   # comment
 *   user <name>                          the rest of the line is the name
 *   topic [read|write|readwrite|deny] <filter>
 *   pattern [read|write|readwrite|deny] <filter>
 * The access word defaults to readwrite; the filter is the rest of the
 * line and may contain blanks (then the access word is required). Topic
 * lines before the first `user` line form the anonymous section; a user's
 * section is every topic line after a `user <name>` line up to the next
 * one (repeated `user` lines for one name add to the same section).
 * Patterns apply to every client wherever they appear; in them `%u` is
 * the user name and `%c` the client id, anywhere in the filter.
 *
 * Semantics: the applicable entries of a client are its section (the
 * user's, or the anonymous one when it gave no user name; a user without
 * a section has none) and every pattern that applies to it:
 *   - a pattern with %u does not apply to an anonymous client;
 *   - a name is unsafe for substitution when it contains '+', '#' or
 *     '/', or (only where the pattern starts with that substitution) is
 *     empty or starts with '$'. A granting pattern substituting an unsafe
 *     name does not apply; a deny pattern substituting one denies
 *     everything it is asked about (fail closed).
 * publish(topic) is allowed iff an applicable write or readwrite entry
 * matches the topic and no applicable deny entry does (deny wins,
 * whatever the order in the file).
 * subscribe(filter) is allowed iff an applicable read or readwrite entry
 * covers the filter (every topic the filter can match is matched by the
 * entry) and no applicable deny entry intersects it (no topic matches
 * both). Stricter than Mosquitto, which grants every subscription and
 * filters at delivery.
 * '$' topics: a first level that is a wildcard never matches or covers a
 * first level starting with '$' (MQTT-4.7.2-1): `topic read #` does not
 * grant $SYS, `topic read $SYS/#` does. Matching is on exact bytes.
 * No ACL loaded means every client may do everything: the caller's
 * business, this module always has a file.
 *
 * Threading: pt_acl_load(), pt_acl_parse() and pt_acl_free() run on the
 * control plane (they allocate). A loaded acl is immutable: every other
 * function is read-only, lock-free, allocation-free and may run on any
 * number of threads at once, until the owner frees the acl, which it does
 * only once no reader can still see it (the broker publishes acls with
 * RCU).
 *
 * Ownership: the acl belongs to whoever loaded it; sections point into
 * their acl and die with it. Nothing passed in is kept.
 */
#ifndef PETREL_ACL_H
#define PETREL_ACL_H

#include <stdbool.h>
#include <stddef.h>

/** Most levels an entry's filter may have (more is a load error). */
#define PT_ACL_MAX_LEVELS 64
/** Longest line of an acl file, in bytes, its line end not counted. */
#define PT_ACL_MAX_LINE 65536
/** Largest acl file pt_acl_load() and pt_acl_parse() take, in bytes. */
#define PT_ACL_MAX_FILE (1u << 30)

/** A compiled acl: immutable after load, freed by its owner. */
struct pt_acl;
/** One user's (or the anonymous) entries inside an acl. */
struct pt_acl_section;

/** What an acl holds. */
struct pt_acl_info {
    size_t users;       /**< user sections (distinct names) */
    size_t topics;      /**< topic lines, all sections */
    size_t patterns;    /**< pattern lines */
    size_t bytes;       /**< memory the compiled form takes */
};

/**
 * Read and compile an acl file. Control plane only.
 * @param path the file
 * @param out set to the acl on success, untouched on failure
 * @param err receives "path:line: reason" (or "path: reason") on failure;
 *        may be NULL
 * @param errlen size of err
 * @return 0; -EINVAL (a line is wrong: err says which), -EFBIG (file over
 *         PT_ACL_MAX_FILE), -ENOMEM, or the negative errno of open/read.
 */
int pt_acl_load(const char *path, struct pt_acl **out, char *err,
                size_t errlen);

/**
 * Compile acl text held in memory (need not be NUL-terminated; a NUL
 * byte in it is an error). Control plane only.
 * @param origin names the text in error messages (NULL: "acl")
 * @return 0, -EINVAL, -EFBIG or -ENOMEM, as pt_acl_load().
 */
int pt_acl_parse(const char *text, size_t len, const char *origin,
                 struct pt_acl **out, char *err, size_t errlen);

/** Free an acl (NULL is a no-op) once no reader can see it. */
void pt_acl_free(struct pt_acl *acl);

/**
 * The section of a user name; user == NULL: the anonymous section (an
 * empty name, user != NULL and ulen 0, is a name like any other).
 * Cost: one hash of the name and a compare; callers cache the result
 * per (session, acl). Any thread.
 * @return the section, valid as long as the acl; a user without a
 *         section gets a shared empty one: never NULL.
 */
const struct pt_acl_section *pt_acl_section(const struct pt_acl *acl,
                                            const char *user, size_t ulen);

/**
 * Whether a client may publish to a topic.
 * @param sec pt_acl_section(acl, user, ulen) (of this acl; checked only
 *        in -Dhot_debug builds)
 * @param user the client's user name, NULL when anonymous
 * @param cid the client id (NULL: patterns with %c do not grant and
 *        deny patterns with %c deny)
 * @param topic a valid topic name (checked only in -Dhot_debug builds)
 * Cost: O(topic levels + applicable entries x their levels); no
 * allocation, no locks, no writes. Any thread.
 * @return true when allowed.
 */
bool pt_acl_may_publish(const struct pt_acl *acl,
                        const struct pt_acl_section *sec,
                        const char *user, size_t ulen,
                        const char *cid, size_t cidlen,
                        const char *topic, size_t tlen);

/**
 * Whether a client may subscribe to a filter (coverage and intersection
 * as above); same arguments and cost as pt_acl_may_publish(), filter a
 * valid topic filter (checked only in -Dhot_debug builds).
 * @return true when allowed.
 */
bool pt_acl_may_subscribe(const struct pt_acl *acl,
                          const struct pt_acl_section *sec,
                          const char *user, size_t ulen,
                          const char *cid, size_t cidlen,
                          const char *filter, size_t flen);

/** Fill *info. Any thread. */
void pt_acl_info(const struct pt_acl *acl, struct pt_acl_info *info);

/** Call fn once per user section, in the order the file first names
 * them; the name (not NUL-terminated) lives as long as the acl. */
void pt_acl_foreach_user(const struct pt_acl *acl,
                         void (*fn)(void *arg, const char *user, size_t len),
                         void *arg);

#endif /* PETREL_ACL_H */
