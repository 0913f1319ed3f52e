/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small hash map from byte-string keys to pointers, for the control
 * plane's tables (client-id registry, retained messages). Keys are copied
 * into the entry; values are the caller's. Chained buckets, FNV-1a hash
 * (seeded per map), doubling when the load passes 1.
 *
 * Not for the dataplane: it allocates with malloc.
 * Threading: one thread (the control plane) per map.
 */
#ifndef PETREL_CONTROL_STRMAP_H
#define PETREL_CONTROL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct pt_strmap;

struct pt_strmap *pt_strmap_create(uint64_t seed);
/** Free the map (values are not touched). NULL is a no-op. */
void pt_strmap_free(struct pt_strmap *m);
/** The value of key, or NULL. */
void *pt_strmap_get(const struct pt_strmap *m, const void *key, size_t len);
/** Set key's value (replacing). @return the old value or NULL; *err = -ENOMEM
 * when it could not be stored. */
void *pt_strmap_put(struct pt_strmap *m, const void *key, size_t len,
                    void *value, int *err);
/** Remove key. @return its value or NULL. */
void *pt_strmap_del(struct pt_strmap *m, const void *key, size_t len);
/** Entries. */
size_t pt_strmap_count(const struct pt_strmap *m);
/** Call fn for every entry (fn must not change the map). */
void pt_strmap_each(const struct pt_strmap *m,
                    void (*fn)(void *arg, const void *key, size_t len,
                               void *value),
                    void *arg);

#endif /* PETREL_CONTROL_STRMAP_H */
