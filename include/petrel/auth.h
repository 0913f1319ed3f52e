/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Login credentials of the control plane: the password file (Mosquitto's
 * mosquitto_passwd format) and the throttling of failed logins. Pure
 * library code: no logging, no config reading, no DPDK; the broker's login
 * path decides what to do with the answers (docs/access.md).
 *
 * Password file (control/auth_passwd.c). One "user:hash" per line; blank
 * lines and lines whose first non-blank character is '#' are ignored;
 * blanks around the user name and the hash and a CR before the LF are
 * accepted, as Mosquitto accepts them. Hashes petrel reads:
 *   $7$<iterations>$<base64 salt>$<base64 digest>
 *       PBKDF2-HMAC-SHA512 with a 64-byte key (mosquitto_passwd's default
 *       since 2.0: 101 iterations, 12-byte salt)
 *   $6$<base64 salt>$<base64 digest>
 *       SHA-512(password || salt) (the default of Mosquitto 1.6 and older)
 * Base64 is the standard alphabet with '=' padding; the salt is 12 or 64
 * bytes and the digest 64, as in Mosquitto; iterations 1..PT_PASSWD_ITER_MAX.
 * Where Mosquitto skips a bad line with a warning, petrel refuses the whole
 * file: a login table with a silently missing user is worse than keeping
 * the old one. Error messages name "origin:line: reason" and never contain
 * a hash or a password (a user name may appear).
 *
 * Throttling (control/auth_throttle.c). A fixed-size table from keys (a
 * source address, a user name) to failure records; see pt_throttle_fail()
 * for the policy. Keys of up to PT_THROTTLE_KEY_INLINE bytes are stored
 * verbatim; longer keys (user names of up to 65535 bytes) are stored only
 * as a 64-bit SipHash-2-4 keyed with a random per-table secret, so every
 * entry has the same size and the table's memory is allocated once, at
 * creation. Two long keys with the same 64-bit keyed hash share a record;
 * an outsider cannot aim for that without the secret.
 *
 * Threading: every function here is for the control plane thread only;
 * pt_passwd objects are immutable after loading and may be read from any
 * thread while nothing frees them; pt_throttle tables are not locked.
 * Ownership: pt_passwd_load/parse hand the caller a table it frees with
 * pt_passwd_free(); pt_throttle_create's table is freed with
 * pt_throttle_destroy(). No function keeps a pointer to its arguments.
 */
#ifndef PETREL_AUTH_H
#define PETREL_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* ---- password file ---- */

/** Largest PBKDF2 iteration count accepted from a file (one check costs
 * about 1 us per iteration on the control thread). */
#define PT_PASSWD_ITER_MAX 1000000u
/** Iterations and salt size pt_passwd_hash() uses (mosquitto_passwd's). */
#define PT_PASSWD_ITER_DEFAULT 101u
#define PT_PASSWD_SALT_DEFAULT 12u
/** Buffer size that always holds pt_passwd_hash()'s output with its NUL. */
#define PT_PASSWD_HASH_MAX 128
/** Longest user name (MQTT's string limit). */
#define PT_PASSWD_USER_MAX 65535u

/** A loaded password file: immutable, opaque. */
struct pt_passwd;

enum pt_auth_result {
    PT_AUTH_OK = 0,
    PT_AUTH_BAD_PASSWORD,
    PT_AUTH_UNKNOWN_USER,
};

/**
 * Load a password file.
 * @param path   file to read (also the origin in error messages)
 * @param out    receives the table on success (untouched on failure)
 * @param err    receives "path:line: reason" or "path: reason" on failure
 * @param errlen size of err (0: no message)
 * @return 0; -ENOENT, -EACCES, ... (cannot open or read: the -errno);
 *         -EFBIG (over 256 MiB); -EINVAL (a bad line, see err);
 *         -ENOMEM.
 */
int pt_passwd_load(const char *path, struct pt_passwd **out,
                   char *err, size_t errlen);

/**
 * Parse password file text held in memory (need not be NUL-terminated).
 * @param origin name used in error messages
 * @return 0, -EINVAL (see err) or -ENOMEM.
 */
int pt_passwd_parse(const char *text, size_t len, const char *origin,
                    struct pt_passwd **out, char *err, size_t errlen);

/** Free a table. NULL is a no-op. */
void pt_passwd_free(struct pt_passwd *pw);

/** Users in the table. */
size_t pt_passwd_count(const struct pt_passwd *pw);

/**
 * Call fn for every user name, in file order (to intern the names). The
 * name is NUL-terminated at user[len] and valid until pt_passwd_free().
 */
void pt_passwd_foreach(const struct pt_passwd *pw,
                       void (*fn)(void *arg, const char *user, size_t len),
                       void *arg);

/**
 * Check a login. The user is found in O(1) (a hash table keyed with a
 * random secret); the digest is compared in constant time
 * (CRYPTO_memcmp). An unknown user costs one PBKDF2 of the default
 * strength all the same, so timing does not tell which names exist. The
 * password is all plen bytes (Mosquitto stops at a NUL byte).
 * Cost: one PBKDF2-HMAC-SHA512 of the user's iterations, or one SHA-512.
 */
enum pt_auth_result pt_passwd_check(const struct pt_passwd *pw,
                                    const char *user, size_t ulen,
                                    const void *password, size_t plen);

/**
 * Hash a password the way mosquitto_passwd does by default:
 * "$7$101$<base64 of a 12-byte salt from getrandom()>$<base64 digest>".
 * @param out    receives the NUL-terminated hash
 * @param outlen size of out; PT_PASSWD_HASH_MAX always suffices
 * @return 0; -ERANGE (out too small); -EINVAL (plen over INT_MAX);
 *         -EIO (OpenSSL failed); or getrandom()'s -errno.
 */
int pt_passwd_hash(const void *password, size_t plen, char *out,
                   size_t outlen);

/**
 * Add or change (password != NULL) or delete (password == NULL) one user
 * in the file at path, atomically: the file is read, every other line is
 * kept verbatim and in order, the user's line is replaced in place (added
 * at the end when new; later duplicates of it are dropped), and the result
 * goes to "path.tmp.<pid>" in the same directory with mode 0600, is
 * fsync'ed and renamed over path (then the directory is fsync'ed). A
 * missing file is created by an add. Readers see the old file or the new
 * one, never a mix. Two writers at once are not serialised: the last
 * rename wins.
 * @param user     NUL-terminated user name
 * @param password NUL-terminated clear text, or NULL to delete
 * @param err      receives a message on failure (never the password)
 * @return 0; -ENOENT (delete of a user not in the file, or no file);
 *         -EINVAL (user name empty, longer than 65535 bytes, containing
 *         ':' or a control character, or starting or ending with a blank;
 *         password empty); -EFBIG; -ENOMEM; -EIO; or the -errno of the
 *         failed open, read, write, fsync or rename (-EEXIST: something
 *         that is not a file holds the temp name); the temp file is
 *         removed.
 */
int pt_passwd_file_update(const char *path, const char *user,
                          const char *password, char *err, size_t errlen);

/* ---- failed-login throttling ---- */

/** Keys up to this many bytes are stored verbatim, longer ones by hash. */
#define PT_THROTTLE_KEY_INLINE 16

/** The policy, passed per call: its config keys (auth.fail_limit,
 * auth.fail_block_ms, auth.fail_block_max_ms) can change at run time. */
struct pt_throttle_policy {
    uint32_t limit;         /**< failures before a block (0 acts as 1) */
    uint32_t block_ms;      /**< first block */
    uint32_t block_max_ms;  /**< longest block; also the memory of a key */
};

/** A bounded table of keys -> failure records. */
struct pt_throttle;

/**
 * Create a table of a fixed number of entries; all its memory is
 * allocated here and never grows.
 * @return the table, or NULL with errno EINVAL (entries 0 or over 2^30),
 *         ENOMEM, or getrandom()'s errno.
 */
struct pt_throttle *pt_throttle_create(uint32_t entries);

/** Free a table. NULL is a no-op. */
void pt_throttle_destroy(struct pt_throttle *t);

/**
 * May key try to log in now? A key whose record has expired (see
 * pt_throttle_fail) is forgotten here. O(1).
 * @param now_ms monotonic milliseconds
 * @return 0 when it may; otherwise the now_ms at which its block ends
 *         (always > now_ms).
 */
uint64_t pt_throttle_blocked(struct pt_throttle *t, const void *key,
                             size_t len, uint64_t now_ms,
                             const struct pt_throttle_policy *p);

/**
 * Record a failed login of key (also call it for an attempt refused
 * because the key was blocked: that counts as a failure). The policy:
 * the limit-th failure blocks the key for block_ms from now, each further
 * failure blocks it for twice the previous block from now, never longer
 * than block_max_ms. A key with no failure for block_max_ms and not
 * blocked is forgotten. When the table is full, an expired record is
 * reused or else the least recently failed entry is evicted (counted in
 * the stats). O(1): one hash lookup and LRU list moves.
 */
void pt_throttle_fail(struct pt_throttle *t, const void *key, size_t len,
                      uint64_t now_ms, const struct pt_throttle_policy *p);

/** A successful login: forget key's failures. O(1). */
void pt_throttle_forget(struct pt_throttle *t, const void *key, size_t len);

struct pt_throttle_stats {
    uint64_t in_use;     /**< keys remembered now */
    uint64_t capacity;   /**< entries, fixed at creation */
    uint64_t evictions;  /**< live records dropped because the table was full */
    uint64_t blocks;     /**< times a key went from allowed to blocked */
};

/** Read the table's counters. */
void pt_throttle_stats(const struct pt_throttle *t,
                       struct pt_throttle_stats *st);

#endif /* PETREL_AUTH_H */
