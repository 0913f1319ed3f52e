/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the ACL unit tests: see pt_acl_test.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/acl.h>

#include "pt_acl_test.h"

struct pt_acl *
acl_of(const char *text)
{
    struct pt_acl *acl = NULL;
    char err[256] = "";
    int rc = pt_acl_parse(text, strlen(text), "t.acl", &acl, err,
                          sizeof(err));

    if (rc != 0)
        fail_msg("parse failed (%d): %s\n%s", rc, err, text);
    assert_non_null(acl);
    return acl;
}

static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}

bool
pub(const struct pt_acl *acl, const char *user, const char *cid,
    const char *topic)
{
    return pt_acl_may_publish(acl, pt_acl_section(acl, user, slen(user)),
                              user, slen(user), cid, slen(cid), topic,
                              strlen(topic));
}

bool
sub(const struct pt_acl *acl, const char *user, const char *cid,
    const char *filter)
{
    return pt_acl_may_subscribe(acl, pt_acl_section(acl, user, slen(user)),
                                user, slen(user), cid, slen(cid), filter,
                                strlen(filter));
}

const char *
nm_u(const char *u)
{
    return u ? u : "(anon)";
}

const char *
nm_c(const char *c)
{
    return c ? c : "(null)";
}
