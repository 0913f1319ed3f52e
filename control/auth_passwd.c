/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The password file: loading Mosquitto's mosquitto_passwd format into an
 * immutable table, checking a login against it, hashing a new password,
 * and rewriting one user's line atomically (for `petrelctl user add`).
 * The format, the accepted hashes and the error rules are at the top of
 * include/petrel/auth.h; docs/access.md is the user's view.
 *
 * Not here: deciding what a failed login means (the broker's login path),
 * throttling (auth_throttle.c), ACLs.
 *
 * The table is an array of users in file order plus an open-addressing
 * index of SipHash-2-4 keyed with a per-table random secret, so the cost
 * of looking up an attacker's user name does not depend on the names in
 * the file. Hashes are decoded once, at load: a check is one KDF and one
 * constant-time compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <petrel/auth.h>
#include <petrel/siphash.h>

#include "readfile.h"

#define PW_DIGEST_LEN 64            /* SHA-512 */
#define PW_SALT_MAX 64
#define PW_B64_MAX 128              /* longest base64 field we decode */
#define PW_FILE_MAX (256u << 20)    /* a password file larger is refused */

enum pw_type {
    PW_SHA512 = 6,                  /* $6$ */
    PW_PBKDF2 = 7,                  /* $7$ */
};

struct pw_user {
    char *name;                     /* NUL-terminated copy */
    uint32_t len;
    uint32_t line;                  /* for duplicate messages */
    uint8_t type;                   /* enum pw_type */
    uint8_t salt_len;
    uint32_t iter;                  /* PBKDF2 only */
    uint8_t salt[PW_SALT_MAX];
    uint8_t digest[PW_DIGEST_LEN];
};

struct pt_passwd {
    struct pw_user *users;          /* file order */
    size_t n;
    size_t cap;
    uint32_t *slots;                /* index + 1 into users; 0 = empty */
    size_t mask;                    /* slots - 1, a power of two minus one */
    uint8_t key[16];                /* SipHash key of the index */
};

/* One line, split as Mosquitto splits it. */
struct pw_line {
    const char *user;
    size_t ulen;
    const char *hash;               /* NULL: no ':' on the line */
    size_t hlen;
    bool skip;                      /* blank or comment */
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void
trim(const char **p, size_t *n)
{
    while (*n > 0 && is_blank(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*p)[*n - 1]))
        (*n)--;
}

/* p[0..n) is one line without its '\n'. */
static void
split_line(const char *p, size_t n, struct pw_line *l)
{
    const char *colon;

    memset(l, 0, sizeof(*l));
    if (n > 0 && p[n - 1] == '\r')
        n--;
    l->user = p;
    l->ulen = n;
    trim(&l->user, &l->ulen);
    if (l->ulen == 0 || l->user[0] == '#') {
        l->skip = true;
        return;
    }
    colon = memchr(p, ':', n);
    if (colon == NULL)
        return;
    l->user = p;
    l->ulen = (size_t)(colon - p);
    trim(&l->user, &l->ulen);
    l->hash = colon + 1;
    l->hlen = n - (size_t)(l->hash - p);
    trim(&l->hash, &l->hlen);
}

/* NULL when the name is acceptable, else why not. */
static const char *
user_problem(const char *u, size_t n)
{
    if (n == 0)
        return "empty user name";
    if (n > PT_PASSWD_USER_MAX)
        return "user name longer than 65535 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];

        if (c < 0x20 || c == 0x7f)
            return "control character in user name";
        if (c == ':')
            return "':' in user name";
    }
    return NULL;
}

static bool
b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Strict standard base64 with '=' padding. EVP_DecodeBlock counts the
 * padding in its length and would skip blanks; we check the text first
 * and subtract the padding.
 */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax,
           size_t *outlen)
{
    uint8_t buf[PW_B64_MAX / 4 * 3];
    size_t pad = 0;
    int r;

    if (n == 0 || n % 4 != 0 || n > PW_B64_MAX)
        return -1;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(s[i]))
            return -1;
    r = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
    if (r < 0 || (size_t)r != n / 4 * 3 || (size_t)r - pad > outmax)
        return -1;
    *outlen = (size_t)r - pad;
    memcpy(out, buf, *outlen);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* Split s[0..n) at '$' into at most max fields; returns the count, or
 * max + 1 when there are more. */
static size_t
split_dollar(const char *s, size_t n, const char **f, size_t *fl, size_t max)
{
    size_t k = 0;
    const char *end = s + n;

    for (;;) {
        const char *d = memchr(s, '$', (size_t)(end - s));
        const char *e = d != NULL ? d : end;

        if (k == max)
            return max + 1;
        f[k] = s;
        fl[k++] = (size_t)(e - s);
        if (d == NULL)
            return k;
        s = d + 1;
    }
}

/* Decode one hash field into u; NULL or the reason it is refused (which
 * never quotes the field). */
static const char *
decode_hash(const char *h, size_t n, struct pw_user *u)
{
    const char *f[3];
    size_t fl[3], k, len, salt_i;
    uint64_t iter = 0;

    if (n == 0)
        return "no hash after the user name";
    if (memchr(h, ':', n) != NULL)
        return "':' in the hash";
    if (n >= 3 && memcmp(h, "$7$", 3) == 0) {
        u->type = PW_PBKDF2;
        k = split_dollar(h + 3, n - 3, f, fl, 3);
        if (k != 3)
            return "$7$ hash is not $7$<iterations>$<salt>$<digest>";
        if (fl[0] == 0 || fl[0] > 7)
            return "$7$ iteration count is not a number from 1 to 1000000";
        for (size_t i = 0; i < fl[0]; i++) {
            if (f[0][i] < '0' || f[0][i] > '9')
                return "$7$ iteration count is not a number from 1 to 1000000";
            iter = iter * 10 + (uint64_t)(f[0][i] - '0');
        }
        if (iter < 1 || iter > PT_PASSWD_ITER_MAX)
            return "$7$ iteration count is not a number from 1 to 1000000";
        u->iter = (uint32_t)iter;
        salt_i = 1;
    } else if (n >= 3 && memcmp(h, "$6$", 3) == 0) {
        u->type = PW_SHA512;
        k = split_dollar(h + 3, n - 3, f, fl, 2);
        if (k != 2)
            return "$6$ hash is not $6$<salt>$<digest>";
        salt_i = 0;
    } else if (h[0] == '$') {
        return "unsupported hash type (petrel reads $6$ and $7$)";
    } else {
        return "not a hash: a plain-text password? (mosquitto_passwd -U "
               "hashes a plain-text file)";
    }
    if (b64_decode(f[salt_i], fl[salt_i], u->salt, sizeof(u->salt), &len))
        return "salt is not valid base64";
    if (len != 12 && len != 64)
        return "salt is not 12 or 64 bytes";
    u->salt_len = (uint8_t)len;
    if (b64_decode(f[salt_i + 1], fl[salt_i + 1], u->digest,
                   sizeof(u->digest), &len))
        return "digest is not valid base64";
    if (len != PW_DIGEST_LEN)
        return "digest is not 64 bytes";
    return NULL;
}

static uint64_t
user_hash(const struct pt_passwd *pw, const void *name, size_t len)
{
    return pt_siphash(pw->key, name, len);
}

/* The user's slot, or the empty slot where it would go. */
static uint32_t *
find_slot(const struct pt_passwd *pw, const char *name, size_t len)
{
    size_t i = user_hash(pw, name, len) & pw->mask;

    for (;; i = (i + 1) & pw->mask) {
        uint32_t *s = &pw->slots[i];
        const struct pw_user *u;

        if (*s == 0)
            return s;
        u = &pw->users[*s - 1];
        if (u->len == len && memcmp(u->name, name, len) == 0)
            return s;
    }
}

void
pt_passwd_free(struct pt_passwd *pw)
{
    if (pw == NULL)
        return;
    for (size_t i = 0; i < pw->n; i++)
        free(pw->users[i].name);
    if (pw->users != NULL)
        OPENSSL_cleanse(pw->users, pw->cap * sizeof(*pw->users));
    free(pw->users);
    free(pw->slots);
    free(pw);
}

static int
add_user(struct pt_passwd *pw, const struct pw_user *tmpl, const char *name,
         size_t len)
{
    struct pw_user *u;

    if (pw->n == pw->cap) {
        size_t cap = pw->cap ? pw->cap * 2 : 16;
        struct pw_user *a = realloc(pw->users, cap * sizeof(*a));

        if (a == NULL)
            return -ENOMEM;
        pw->users = a;
        pw->cap = cap;
    }
    u = &pw->users[pw->n];
    *u = *tmpl;
    u->name = malloc(len + 1);
    if (u->name == NULL)
        return -ENOMEM;
    memcpy(u->name, name, len);
    u->name[len] = '\0';
    u->len = (uint32_t)len;
    pw->n++;
    return 0;
}

/* Index every user; a name seen twice is an error naming both lines. */
static int
build_index(struct pt_passwd *pw, const char *origin, char *err,
            size_t errlen)
{
    size_t ns = 16;

    while (ns < pw->n * 2)
        ns *= 2;
    pw->slots = calloc(ns, sizeof(*pw->slots));
    if (pw->slots == NULL)
        return -ENOMEM;
    pw->mask = ns - 1;
    for (size_t i = 0; i < pw->n; i++) {
        const struct pw_user *u = &pw->users[i];
        uint32_t *s = find_slot(pw, u->name, u->len);

        if (*s != 0) {
            seterr(err, errlen, "%s:%u: duplicate user '%.*s' (first on "
                   "line %u)", origin, u->line,
                   u->len > 64 ? 64 : (int)u->len, u->name,
                   pw->users[*s - 1].line);
            return -EINVAL;
        }
        *s = (uint32_t)i + 1;
    }
    return 0;
}

int
pt_passwd_parse(const char *text, size_t len, const char *origin,
                struct pt_passwd **out, char *err, size_t errlen)
{
    struct pt_passwd *pw = calloc(1, sizeof(*pw));
    struct pt_lines lines;
    const char *p;
    size_t n;
    int rc = -ENOMEM;

    if (pw == NULL)
        goto fail;
    if (getrandom(pw->key, sizeof(pw->key), 0) != sizeof(pw->key)) {
        rc = errno != 0 ? -errno : -EIO;
        seterr(err, errlen, "%s: getrandom: %s", origin, strerror(-rc));
        goto fail;
    }
    pt_lines_init(&lines, text, len);
    while (pt_lines_next(&lines, &p, &n)) {
        unsigned line = lines.no;
        const char *why;
        struct pw_line l;
        struct pw_user u;

        split_line(p, n, &l);
        if (l.skip)
            continue;
        memset(&u, 0, sizeof(u));
        u.line = line;
        if (l.hash == NULL)
            why = "no ':' between user name and hash";
        else if ((why = user_problem(l.user, l.ulen)) == NULL)
            why = decode_hash(l.hash, l.hlen, &u);
        if (why != NULL) {
            seterr(err, errlen, "%s:%u: %s", origin, line, why);
            rc = -EINVAL;
            goto fail;
        }
        rc = add_user(pw, &u, l.user, l.ulen);
        OPENSSL_cleanse(&u, sizeof(u));
        if (rc < 0)
            goto fail;
    }
    rc = build_index(pw, origin, err, errlen);
    if (rc < 0)
        goto fail;
    *out = pw;
    return 0;
fail:
    if (rc == -ENOMEM)
        seterr(err, errlen, "%s: out of memory", origin);
    pt_passwd_free(pw);
    return rc;
}

int
pt_passwd_load(const char *path, struct pt_passwd **out, char *err,
               size_t errlen)
{
    char *text;
    size_t len;
    int rc = pt_read_file(path, PW_FILE_MAX, &text, &len, err, errlen);

    if (rc < 0)
        return rc;
    rc = pt_passwd_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}

size_t
pt_passwd_count(const struct pt_passwd *pw)
{
    return pw != NULL ? pw->n : 0;
}

void
pt_passwd_foreach(const struct pt_passwd *pw,
                  void (*fn)(void *, const char *, size_t), void *arg)
{
    if (pw == NULL)
        return;
    for (size_t i = 0; i < pw->n; i++)
        fn(arg, pw->users[i].name, pw->users[i].len);
}

/* The digest of password under type/salt/iter; 0 or -1 (OpenSSL failed). */
static int
digest(uint8_t type, const uint8_t *salt, size_t salt_len, uint32_t iter,
       const void *password, size_t plen, uint8_t out[PW_DIGEST_LEN])
{
    static const char empty[1] = "";
    EVP_MD_CTX *ctx;
    int ok;

    if (password == NULL)
        password = empty;
    if (plen > INT_MAX)
        return -1;
    if (type == PW_PBKDF2)
        return PKCS5_PBKDF2_HMAC(password, (int)plen, salt, (int)salt_len,
                                 (int)iter, EVP_sha512(), PW_DIGEST_LEN,
                                 out) == 1 ? 0 : -1;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return -1;
    ok = EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, password, plen) == 1 &&
         EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
         EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

enum pt_auth_result
pt_passwd_check(const struct pt_passwd *pw, const char *user, size_t ulen,
                const void *password, size_t plen)
{
    static const uint8_t dummy_salt[PT_PASSWD_SALT_DEFAULT];
    uint8_t got[PW_DIGEST_LEN];
    const struct pw_user *u = NULL;
    enum pt_auth_result r;
    uint32_t *s;

    if (pw != NULL && ulen <= PT_PASSWD_USER_MAX) {
        s = find_slot(pw, user, ulen);
        if (*s != 0)
            u = &pw->users[*s - 1];
    }
    if (u == NULL) {
        /* the work a real user costs, so timing does not reveal names */
        (void)digest(PW_PBKDF2, dummy_salt, sizeof(dummy_salt),
                     PT_PASSWD_ITER_DEFAULT, password, plen, got);
        OPENSSL_cleanse(got, sizeof(got));
        return PT_AUTH_UNKNOWN_USER;
    }
    if (digest(u->type, u->salt, u->salt_len, u->iter, password, plen,
               got) < 0)
        r = PT_AUTH_BAD_PASSWORD;
    else if (CRYPTO_memcmp(got, u->digest, PW_DIGEST_LEN) == 0)
        r = PT_AUTH_OK;
    else
        r = PT_AUTH_BAD_PASSWORD;
    OPENSSL_cleanse(got, sizeof(got));
    return r;
}

int
pt_passwd_hash(const void *password, size_t plen, char *out, size_t outlen)
{
    uint8_t salt[PT_PASSWD_SALT_DEFAULT], d[PW_DIGEST_LEN];
    char salt64[(PT_PASSWD_SALT_DEFAULT + 2) / 3 * 4 + 1];
    char d64[(PW_DIGEST_LEN + 2) / 3 * 4 + 1];
    ssize_t r;
    int n, rc = 0;

    if (plen > INT_MAX)
        return -EINVAL;
    do
        r = getrandom(salt, sizeof(salt), 0);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof(salt))
        return r < 0 ? -errno : -EIO;
    if (digest(PW_PBKDF2, salt, sizeof(salt), PT_PASSWD_ITER_DEFAULT,
               password, plen, d) < 0) {
        rc = -EIO;
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
    EVP_EncodeBlock((unsigned char *)d64, d, sizeof(d));
    n = snprintf(out, outlen, "$7$%u$%s$%s", PT_PASSWD_ITER_DEFAULT, salt64,
                 d64);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        rc = -ERANGE;
    }
out:
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(d64, sizeof(d64));
    return rc;
}

/* Write buf to path.tmp.<pid> (0600), fsync, rename over path, fsync the
 * directory. On failure the temp file is gone. */
static int
write_atomic(const char *path, const char *buf, size_t len, char *err,
             size_t errlen)
{
    size_t tl = strlen(path) + 32, off = 0;
    char *tmp = malloc(tl), *dir = NULL, *slash;
    const char *what = "open";
    int fd = -1, dfd, rc = 0;

    if (tmp == NULL)
        return -ENOMEM;
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    (void)unlink(tmp);          /* a leftover of a crashed run of this pid */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0600);
    if (fd < 0)
        goto fail;
    what = "chmod";
    if (fchmod(fd, 0600) < 0)   /* whatever the umask */
        goto fail;
    what = "write";
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail;
        off += (size_t)w;
    }
    what = "fsync";
    if (fsync(fd) < 0)
        goto fail;
    what = "close";
    rc = close(fd);
    fd = -1;
    if (rc < 0)
        goto fail;
    what = "rename";
    if (rename(tmp, path) < 0)
        goto fail;
    /* make the rename durable; the file is in place whatever this says */
    dir = strdup(path);
    if (dir != NULL) {
        slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash != NULL)
            *slash = '\0';
        dfd = open(slash != NULL ? dir : ".",
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(tmp);
    return 0;
fail:
    rc = errno != 0 ? -errno : -EIO;
    seterr(err, errlen, "%s: %s: %s", tmp, what, strerror(-rc));
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    free(tmp);
    return rc;
}

static void
emit(char *out, size_t *n, const void *p, size_t len)
{
    memcpy(out + *n, p, len);
    *n += len;
}

int
pt_passwd_file_update(const char *path, const char *user,
                      const char *password, char *err, size_t errlen)
{
    char hash[PT_PASSWD_HASH_MAX], *text = NULL, *out = NULL;
    size_t ulen = strlen(user), hlen = 0, len = 0, n = 0;
    const char *p, *end, *why;
    bool found = false;
    int rc;

    why = user_problem(user, ulen);
    if (why == NULL && (is_blank(user[0]) || is_blank(user[ulen - 1])))
        why = "user name starts or ends with a blank";
    if (why == NULL && password != NULL && password[0] == '\0')
        why = "empty password";
    if (why != NULL) {
        seterr(err, errlen, "%s", why);
        return -EINVAL;
    }
    if (password != NULL) {
        rc = pt_passwd_hash(password, strlen(password), hash, sizeof(hash));
        if (rc < 0) {
            seterr(err, errlen, "hashing the password: %s", strerror(-rc));
            return rc;
        }
        hlen = strlen(hash);
    }
    rc = pt_read_file(path, PW_FILE_MAX, &text, &len, err, errlen);
    if (rc == -ENOENT && password != NULL) {
        rc = 0;             /* an add creates the file */
        text = NULL;
        len = 0;
    }
    if (rc < 0)
        return rc;
    /* the old text, a new line and a '\n' for an unterminated last line */
    out = malloc(len + ulen + hlen + 3);
    if (out == NULL) {
        rc = -ENOMEM;
        seterr(err, errlen, "%s: out of memory", path);
        goto done;
    }
    for (p = text, end = text != NULL ? text + len : NULL; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl + 1 : end;
        struct pw_line l;

        split_line(p, (size_t)(e - p) - (nl != NULL), &l);
        if (!l.skip && l.hash != NULL && l.ulen == ulen &&
            memcmp(l.user, user, ulen) == 0) {
            if (password != NULL && !found) {
                emit(out, &n, user, ulen);
                emit(out, &n, ":", 1);
                emit(out, &n, hash, hlen);
                emit(out, &n, "\n", 1);
            }
            found = true;
        } else {
            emit(out, &n, p, (size_t)(e - p));
        }
        p = e;
    }
    if (!found && password == NULL) {
        rc = -ENOENT;
        seterr(err, errlen, "%s: no user '%.*s'", path,
               ulen > 64 ? 64 : (int)ulen, user);
        goto done;
    }
    if (!found) {
        if (n > 0 && out[n - 1] != '\n')
            emit(out, &n, "\n", 1);
        emit(out, &n, user, ulen);
        emit(out, &n, ":", 1);
        emit(out, &n, hash, hlen);
        emit(out, &n, "\n", 1);
    }
    rc = write_atomic(path, out, n, err, errlen);
done:
    OPENSSL_cleanse(hash, sizeof(hash));
    free(out);
    free(text);
    return rc;
}
