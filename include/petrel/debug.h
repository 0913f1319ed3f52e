/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hot-path checks that cost nothing in production builds. With meson's
 * `-Dhot_debug=true` (on in the sanitizer build) PT_HOT_DEBUG is defined
 * and each check aborts with file and line when it fails; otherwise the
 * checks compile to nothing. Use them for argument checks and threading
 * contracts on functions called per packet or per burst.
 *
 * Threading: any thread.
 */
#ifndef PETREL_DEBUG_H
#define PETREL_DEBUG_H

#include <rte_debug.h>
#include <rte_lcore.h>

#ifdef PT_HOT_DEBUG
#define PT_HOT_ASSERT(cond) RTE_VERIFY(cond)
#else
#define PT_HOT_ASSERT(cond) do { } while (0)
#endif

/*
 * "Called only on the owning lcore": the first call binds *owner to the
 * calling lcore; every later call must come from the same one.
 */
#ifdef PT_HOT_DEBUG
#define PT_HOT_ASSERT_OWNER(owner)                                          \
    do {                                                                    \
        if (*(owner) == LCORE_ID_ANY)                                       \
            *(owner) = rte_lcore_id();                                      \
        RTE_VERIFY(*(owner) == rte_lcore_id());                             \
    } while (0)
#else
#define PT_HOT_ASSERT_OWNER(owner) do { } while (0)
#endif

#endif /* PETREL_DEBUG_H */
