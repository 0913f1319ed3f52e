/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Read a whole (configuration-size) file into memory: the password file,
 * the ACL and the content rules are parsed from a buffer.
 *
 * Threading: any thread. Ownership: the caller frees *buf.
 */
#ifndef PETREL_CONTROL_READFILE_H
#define PETREL_CONTROL_READFILE_H

#include <stddef.h>

/**
 * Read path into a malloc'd, NUL-terminated buffer (the NUL not counted in
 * *len). Reads until end of file, so a file that changes size meanwhile
 * is read as it ends up.
 * @return 0, -EFBIG (more than max bytes), -ENOMEM, or -errno of
 *         open/read.
 */
int pt_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif /* PETREL_CONTROL_READFILE_H */
