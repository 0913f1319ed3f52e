/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the ACL unit tests (tests/unit/test_acl_parse.c,
 * test_acl_match.c): parse a list or fail the test, ask it whether a client
 * may publish or subscribe, and assert the answer with a message naming
 * the client. User and client id are NUL-terminated strings; NULL is no
 * user (anonymous) or no client id.
 *
 * The *_OK and *_NO macros call cmocka's fail_msg: include <cmocka.h>
 * before using them. Threading: the calling thread only.
 */
#ifndef PT_ACL_TEST_H
#define PT_ACL_TEST_H

#include <stdbool.h>

#include <petrel/acl.h>

/* text parsed as "t.acl"; fails the test with the error if it is refused.
 * The caller frees the result with pt_acl_free(). */
struct pt_acl *acl_of(const char *text);

/* May user/cid publish to topic, subscribe to filter (in user's section)? */
bool pub(const struct pt_acl *acl, const char *user, const char *cid,
         const char *topic);
bool sub(const struct pt_acl *acl, const char *user, const char *cid,
         const char *filter);

/* user and cid for messages: "(anon)" and "(null)" for NULL. */
const char *nm_u(const char *u);
const char *nm_c(const char *c);

#define PUB_OK(acl, u, c, t)                                                \
    do {                                                                    \
        if (!pub(acl, u, c, t))                                             \
            fail_msg("publish %s by %s/%s refused", t, nm_u(u), nm_c(c));   \
    } while (0)
#define PUB_NO(acl, u, c, t)                                                \
    do {                                                                    \
        if (pub(acl, u, c, t))                                              \
            fail_msg("publish %s by %s/%s allowed", t, nm_u(u), nm_c(c));   \
    } while (0)
#define SUB_OK(acl, u, c, f)                                                \
    do {                                                                    \
        if (!sub(acl, u, c, f))                                             \
            fail_msg("subscribe %s by %s/%s refused", f, nm_u(u),           \
                     nm_c(c));                                              \
    } while (0)
#define SUB_NO(acl, u, c, f)                                                \
    do {                                                                    \
        if (sub(acl, u, c, f))                                              \
            fail_msg("subscribe %s by %s/%s allowed", f, nm_u(u),           \
                     nm_c(c));                                              \
    } while (0)

#endif /* PT_ACL_TEST_H */
