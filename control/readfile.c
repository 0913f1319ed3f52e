/* SPDX-License-Identifier: BSD-3-Clause */
/* Read a whole file into memory (see readfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

static int
read_all(const char *path, size_t max, char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *b = NULL;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t r;

        if (b == NULL || cap - n < 2) {
            char *nb;

            if (b != NULL)
                cap *= 2;
            nb = realloc(b, cap);
            if (nb == NULL) {
                rc = -ENOMEM;
                break;
            }
            b = nb;
        }
        r = read(fd, b + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

int
pt_text_size_check(const char *origin, size_t len, size_t max, char *err,
                   size_t errlen)
{
    if (len <= max)
        return 0;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: larger than %zu bytes", origin, max);
    return -EFBIG;
}

int
pt_read_file(const char *path, size_t max, char **buf, size_t *len,
             char *err, size_t errlen)
{
    int rc = read_all(path, max, buf, len);

    if (rc == -EFBIG)
        return pt_text_size_check(path, SIZE_MAX, max, err, errlen);
    if (rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    return rc;
}

int
pt_line_vfail(char *err, size_t errlen, const char *origin, unsigned line,
              const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s:%u: %s", origin, line, msg);
    return -EINVAL;
}
