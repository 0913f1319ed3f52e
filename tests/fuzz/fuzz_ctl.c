/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: what the control socket parses (control/json.c,
 * control/ctl.c) on arbitrary bytes. Every input is used twice:
 *
 *   1. as a JSON document for pt_json_parse. A failure must say where
 *      (inside the input) and why, with errno EINVAL. A success is walked
 *      with pt_json_first/next/at/get/str/u64 and must hold together:
 *      spans sum up, child counts match, keys only in objects, strings and
 *      numbers NUL-terminated at their length, a number read by
 *      pt_json_u64 exactly when it is all digits. The tree is then written
 *      back as JSON (strings escaped here, NULs included) and parsed again
 *      to the same tree. Its deepest nesting d is accepted with max_depth
 *      d and refused with d - 1. The answers' writer, pt_buf_json_str, is
 *      given the raw input (up to its first NUL) and every decoded string
 *      without a NUL: what it writes must parse back to the same bytes,
 *      each byte that is not valid UTF-8 turned into U+FFFD.
 *
 *   2. as one client's request to a real control server (pt_ctl_open on a
 *      Unix socket in a mkdtemp directory, pumped by hand with epoll on
 *      this thread; opened once and kept): the client connects, sends the
 *      input, shuts its write side and reads until the server closes.
 *      Commands: "echo" (answers its arguments as a JSON array), "fail"
 *      (an error whose message holds the arguments' raw bytes), "config
 *      show" (two words), and "later", which defers; its first argument
 *      says how the answer comes: "err" (pt_ctl_answer with an error),
 *      "now" (inside the handler), "sweep" (never: pt_ctl_sweep times it
 *      out), anything else (pt_ctl_answer with the arguments). Checked:
 *      an empty input gets no answer; any other gets exactly one line,
 *      '\n'-terminated, that pt_json_parse accepts as an object starting
 *      {"ok":, with "result" when ok is true and a string "error" when
 *      false; the server counts one request, and an error exactly when
 *      ok is false; what echo and later answer is exactly the arguments
 *      the handler got, and what fail says is exactly its message (both
 *      with U+FFFD for bytes that are not UTF-8, as the writer does).
 *
 * The real server costs little: a connect, an accept and a handful of
 * epoll rounds per input, about 4,000 inputs a second under ASan+UBSan.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include <petrel/ctl.h>
#include <petrel/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fail: %s (line %d)\n", \
                                          #c, __LINE__); abort(); } } while (0)

/* ---- 1. the parser ---- */

static bool
same_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* s[0..n) as pt_buf_json_str must carry it: each byte that does not
 * start a valid UTF-8 sequence replaced by U+FFFD; @return the length. */
static size_t
sanitized(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        size_t l = (unsigned char)s[i] < 0x80 ? 1 :
                   pt_json_utf8_len(s + i, n - i);

        if (l == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        }
    }
    return o;
}

/* pt_buf_json_str(s) parses back to sanitized(s), for any bytes s. */
static void
check_writer_bytes(const char *s, size_t n)
{
    static char want[3 * (PT_CTL_REQ_MAX * 4 + 1)];
    struct pt_buf b = { 0 };
    struct pt_json_doc *doc;
    struct pt_json_err err;
    const struct pt_json *v;

    CHECK(n <= PT_CTL_REQ_MAX * 4 && strlen(s) == n);
    pt_buf_json_str(&b, s);
    CHECK(!b.oom);
    doc = pt_json_parse(b.data, b.len, 1, &err);
    if (doc == NULL)
        fprintf(stderr, "written %.*s is not JSON at %zu: %s\n",
                (int)b.len, b.data, err.pos, err.reason);
    CHECK(doc != NULL);
    v = pt_json_root(doc);
    CHECK(v->type == PT_JSON_STRING);
    CHECK(same_bytes(v->str, v->n, want, sanitized(s, n, want)));
    pt_json_free(doc);
    pt_buf_free(&b);
}

/* Walk v and its subtree; @return its deepest nesting (0 for a scalar). */
static unsigned
walk(const struct pt_json *v)
{
    unsigned deepest = 0, i = 0;
    uint32_t spans = 1;
    uint64_t u;
    int rc;

    CHECK(v->span >= 1);
    CHECK(pt_json_type_name(v->type)[0] != '?');
    CHECK(pt_json_is_scalar(v) ==
          (v->type != PT_JSON_ARRAY && v->type != PT_JSON_OBJECT));
    switch (v->type) {
    case PT_JSON_STRING:
        CHECK(v->span == 1 && pt_json_str(v) == v->str);
        CHECK(v->str != NULL && v->str[v->n] == '\0');
        CHECK(pt_json_u64(v, &u) == -EINVAL);
        return 0;
    case PT_JSON_NUMBER: {
        bool digits = true;

        CHECK(v->span == 1 && pt_json_str(v) == NULL);
        CHECK(v->str != NULL && v->n > 0 && strlen(v->str) == v->n);
        for (uint32_t k = 0; k < v->n; k++)
            digits &= v->str[k] >= '0' && v->str[k] <= '9';
        rc = pt_json_u64(v, &u);
        CHECK(digits ? rc == 0 || rc == -ERANGE : rc == -EINVAL);
        if (rc == 0 && v->n < 20) {
            char back[24];

            snprintf(back, sizeof(back), "%llu", (unsigned long long)u);
            CHECK(strcmp(back, v->str) == 0);
        }
        return 0;
    }
    case PT_JSON_NULL:
    case PT_JSON_TRUE:
    case PT_JSON_FALSE:
        CHECK(v->span == 1 && pt_json_first(v) == NULL);
        return 0;
    case PT_JSON_ARRAY:
    case PT_JSON_OBJECT:
        break;
    }
    CHECK(pt_json_str(v) == NULL);
    for (const struct pt_json *c = pt_json_first(v); c != NULL;
         c = pt_json_next(v, c), i++) {
        unsigned d;

        CHECK(c > v && c + c->span <= v + v->span);
        if (v->type == PT_JSON_OBJECT) {
            CHECK(c->key != NULL && c->key[c->key_len] == '\0');
            /* pt_json_get finds the first member of that key */
            if (strlen(c->key) == c->key_len) {
                const struct pt_json *g = pt_json_get(v, c->key);

                CHECK(g != NULL && g <= c);
                CHECK(same_bytes(g->key, g->key_len, c->key, c->key_len));
            }
            CHECK(pt_json_at(v, i) == NULL);
        } else {
            CHECK(c->key == NULL);
            if (i < 8)
                CHECK(pt_json_at(v, i) == c);
        }
        d = walk(c);
        deepest = d > deepest ? d : deepest;
        spans += c->span;
    }
    CHECK(i == v->n && spans == v->span);
    if (v->type == PT_JSON_ARRAY)
        CHECK(pt_json_at(v, v->n) == NULL);
    return deepest + 1;
}

/* Write s[0..n) as a JSON string; every byte but '"', '\\' and controls
 * as it is (the parser let only valid UTF-8 through). */
static void
emit_str(struct pt_buf *b, const char *s, size_t n)
{
    pt_buf_printf(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            pt_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            pt_buf_printf(b, "\\u%04x", c);
        else
            pt_buf_printf(b, "%c", c);
    }
    pt_buf_printf(b, "\"");
}

/* Write v back as JSON, members and elements in order. */
static void
emit(struct pt_buf *b, const struct pt_json *v)
{
    const char *sep = "";

    switch (v->type) {
    case PT_JSON_NULL:
        pt_buf_printf(b, "null");
        return;
    case PT_JSON_TRUE:
        pt_buf_printf(b, "true");
        return;
    case PT_JSON_FALSE:
        pt_buf_printf(b, "false");
        return;
    case PT_JSON_NUMBER:
        pt_buf_printf(b, "%s", v->str);
        return;
    case PT_JSON_STRING:
        emit_str(b, v->str, v->n);
        return;
    case PT_JSON_ARRAY:
    case PT_JSON_OBJECT:
        break;
    }
    pt_buf_printf(b, v->type == PT_JSON_ARRAY ? "[" : "{");
    for (const struct pt_json *c = pt_json_first(v); c != NULL;
         c = pt_json_next(v, c)) {
        pt_buf_printf(b, "%s", sep);
        sep = ",";
        if (v->type == PT_JSON_OBJECT) {
            emit_str(b, c->key, c->key_len);
            pt_buf_printf(b, ":");
        }
        emit(b, c);
    }
    pt_buf_printf(b, v->type == PT_JSON_ARRAY ? "]" : "}");
}

/* The two trees are value for value the same (pre-order arrays). */
static void
check_same_tree(const struct pt_json *a, const struct pt_json *b)
{
    uint32_t n = a->span;

    CHECK(b->span == n);
    for (uint32_t i = 0; i < n; i++) {
        CHECK(a[i].type == b[i].type && a[i].n == b[i].n &&
              a[i].span == b[i].span);
        CHECK((a[i].key == NULL) == (b[i].key == NULL));
        if (a[i].key != NULL)
            CHECK(same_bytes(a[i].key, a[i].key_len, b[i].key,
                             b[i].key_len));
        if (a[i].type == PT_JSON_STRING || a[i].type == PT_JSON_NUMBER)
            CHECK(same_bytes(a[i].str, a[i].n, b[i].str, b[i].n));
    }
}

/* Every string without a NUL, written by pt_buf_json_str, reads back
 * unchanged (it is valid UTF-8, so sanitized() is the identity). */
static void
check_writer(const struct pt_json *root)
{
    for (uint32_t i = 0; i < root->span; i++) {
        const struct pt_json *v = &root[i];

        if (v->type == PT_JSON_STRING && strlen(v->str) == v->n)
            check_writer_bytes(v->str, v->n);
    }
}

static void
fuzz_json(const char *text, size_t len)
{
    struct pt_json_err err = { .pos = SIZE_MAX, .reason = NULL };
    struct pt_json_doc *doc, *again;
    const struct pt_json *root;
    struct pt_buf out = { 0 };
    unsigned deepest;

    /* the writer on the raw bytes, up to the first NUL */
    {
        static char raw[16384 + 1];
        size_t n = strnlen(text, len);

        memcpy(raw, text, n);
        raw[n] = '\0';
        check_writer_bytes(raw, n);
    }

    errno = 0;
    doc = pt_json_parse(text, len, 0, &err);
    if (doc == NULL) {
        CHECK(errno == EINVAL);
        CHECK(err.reason != NULL && err.reason[0] != '\0');
        CHECK(err.pos <= len);
        return;
    }
    root = pt_json_root(doc);
    CHECK(root->key == NULL);
    deepest = walk(root);
    CHECK(deepest <= PT_JSON_DEPTH_DEFAULT);

    emit(&out, root);
    CHECK(!out.oom);
    again = pt_json_parse(out.data, out.len, 0, &err);
    if (again == NULL)
        fprintf(stderr, "rewritten %.*s refused at %zu: %s\n",
                (int)out.len, out.data, err.pos, err.reason);
    CHECK(again != NULL);
    check_same_tree(root, pt_json_root(again));
    pt_json_free(again);
    pt_buf_free(&out);
    check_writer(root);

    /* the depth limit is exact */
    if (deepest >= 1) {
        again = pt_json_parse(text, len, deepest, NULL);
        CHECK(again != NULL);
        pt_json_free(again);
    }
    if (deepest >= 2) {
        err.reason = NULL;
        again = pt_json_parse(text, len, deepest - 1, &err);
        CHECK(again == NULL && errno == EINVAL);
        CHECK(strcmp(err.reason, "nested too deep") == 0);
    }
    pt_json_free(doc);
}

/* ---- 2. the control server ---- */

struct args {
    int argc;
    size_t len[PT_CTL_MAX_ARGS];
    char word[PT_CTL_MAX_ARGS][PT_CTL_REQ_MAX + 1];
};

static struct {
    struct pt_ctl *ctl;
    int epfd;
    char dir[64];
    char path[96];
    /* what the handlers saw and promised, for the current input */
    bool echoed;            /* echo or later answered the arguments */
    bool failed;            /* fail or later err answered msg */
    struct args args;
    struct pt_buf msg;
    uint64_t ticket;        /* of later, to answer after the handler */
    bool sweep;             /* ... by the deadline, not pt_ctl_answer */
} srv;

static void
save_args(int argc, char **argv)
{
    srv.args.argc = argc;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);

        CHECK(l <= PT_CTL_REQ_MAX);
        srv.args.len[i] = l;
        memcpy(srv.args.word[i], argv[i], l + 1);
    }
}

static void
args_json(struct pt_buf *out, const struct args *a)
{
    pt_buf_printf(out, "[");
    for (int i = 0; i < a->argc; i++) {
        pt_buf_printf(out, "%s", i ? "," : "");
        pt_buf_json_str(out, a->word[i]);
    }
    pt_buf_printf(out, "]");
}

/* The plain-text error message: "failed:" and every argument, raw. */
static void
args_msg(struct pt_buf *out, const struct args *a)
{
    pt_buf_printf(out, "failed:");
    for (int i = 0; i < a->argc; i++)
        pt_buf_printf(out, " %s", a->word[i]);
}

static int
cmd_echo(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    CHECK(argv[argc] == NULL);
    save_args(argc, argv);
    srv.echoed = true;
    args_json(out, &srv.args);
    return 0;
}

static int
cmd_fail(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    save_args(argc, argv);
    srv.failed = true;
    args_msg(&srv.msg, &srv.args);
    pt_buf_printf(out, "%s", srv.msg.data);
    return -EIO;
}

static int
cmd_show(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    pt_buf_printf(out, "\"shown\"");
    return 0;
}

static int
cmd_later(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    const char *how = argc > 0 ? argv[0] : "";
    struct pt_buf res = { 0 };

    (void)ctx;
    pt_buf_printf(out, "discarded");
    save_args(argc, argv);
    srv.ticket = pt_ctl_ticket(srv.ctl);
    CHECK(srv.ticket != 0);
    if (strcmp(how, "sweep") == 0) {
        srv.sweep = true;
    } else if (strcmp(how, "err") == 0) {
        srv.failed = true;
        args_msg(&srv.msg, &srv.args);
    } else {
        srv.echoed = true;
        if (strcmp(how, "now") == 0) {
            args_json(&res, &srv.args);
            CHECK(pt_ctl_answer(srv.ctl, srv.ticket, 0, res.data,
                                res.len) == 1);
            CHECK(pt_ctl_answer(srv.ctl, srv.ticket, 0, "1", 1) == 0);
            pt_buf_free(&res);
            srv.ticket = 0;
        }
    }
    return PT_CTL_DEFER;
}

static const struct pt_ctl_cmd cmds[] = {
    { "echo", "[words]", "answer the words", cmd_echo, NULL },
    { "fail", "[words]", "fail with the words", cmd_fail, NULL },
    { "config show", "", "two words", cmd_show, NULL },
    { "later", "err|now|sweep|[words]", "defer", cmd_later, NULL },
};

static void
srv_close(void)
{
    pt_ctl_close(srv.ctl);
    close(srv.epfd);
    rmdir(srv.dir);
    pt_buf_free(&srv.msg);
}

static void
srv_open(void)
{
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/pt-fuzz-ctl-XXXXXX");
    CHECK(mkdtemp(srv.dir) != NULL);
    snprintf(srv.path, sizeof(srv.path), "%s/ctl.sock", srv.dir);
    /* not a NOTICE line for every "later sweep" */
    rte_log_set_level_pattern("pt.ctl.sock", RTE_LOG_WARNING);
    srv.epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(srv.epfd >= 0);
    srv.ctl = pt_ctl_open(srv.path, srv.epfd);
    CHECK(srv.ctl != NULL);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        CHECK(pt_ctl_register(srv.ctl, &cmds[i]) == 0);
    atexit(srv_close);
}


/* Check the answer's "result" (ok) or "error" (not ok) against what the
 * handlers promised. */
static void
check_answer(const char *ans, size_t len, bool *ok)
{
    static char want[3 * (PT_CTL_REQ_MAX + 64)];
    struct pt_json_err err;
    struct pt_json_doc *doc;
    const struct pt_json *root, *okv, *v;

    CHECK(len > 0 && ans[len - 1] == '\n');
    CHECK(memchr(ans, '\n', len - 1) == NULL);
    CHECK(len >= 7 && memcmp(ans, "{\"ok\":", 6) == 0);
    doc = pt_json_parse(ans, len - 1, 0, &err);
    if (doc == NULL)
        fprintf(stderr, "answer %.*s is not JSON at %zu: %s\n",
                (int)len, ans, err.pos, err.reason);
    CHECK(doc != NULL);
    root = pt_json_root(doc);
    CHECK(root->type == PT_JSON_OBJECT && root->n == 2);
    okv = pt_json_first(root);
    CHECK(okv->type == PT_JSON_TRUE || okv->type == PT_JSON_FALSE);
    *ok = okv->type == PT_JSON_TRUE;
    v = pt_json_next(root, okv);
    CHECK(strcmp(v->key, *ok ? "result" : "error") == 0);
    CHECK(!srv.echoed || *ok);
    CHECK(!srv.failed || !*ok);
    if (!*ok) {
        CHECK(v->type == PT_JSON_STRING && v->n > 0);
        if (srv.failed)
            CHECK(same_bytes(v->str, v->n, want,
                             sanitized(srv.msg.data, srv.msg.len, want)));
    } else if (srv.echoed) {
        const struct pt_json *w = pt_json_first(v);

        CHECK(v->type == PT_JSON_ARRAY &&
              v->n == (uint32_t)srv.args.argc);
        for (int i = 0; i < srv.args.argc; i++, w = pt_json_next(v, w))
            CHECK(w->type == PT_JSON_STRING &&
                  same_bytes(w->str, w->n, want,
                             sanitized(srv.args.word[i], srv.args.len[i],
                                       want)));
    }
    pt_json_free(doc);
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
    static char ans[1 << 17];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const struct pt_ctl_stats *st = pt_ctl_stats(srv.ctl);
    uint64_t requests = st->requests, errors = st->errors;
    size_t got = 0;
    bool eof = false, ok = false;
    int fd, idle = 0;

    srv.echoed = srv.failed = srv.sweep = false;
    srv.ticket = 0;
    srv.msg.len = 0;
    srv.args.argc = 0;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    if (size > 0)
        CHECK(send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT) ==
              (ssize_t)size);
    CHECK(shutdown(fd, SHUT_WR) == 0);

    while (!eof) {
        struct epoll_event ev[8];
        int n = epoll_wait(srv.epfd, ev, 8, 0);
        ssize_t r;

        CHECK(n >= 0);
        for (int i = 0; i < n; i++)
            CHECK(pt_ctl_event(srv.ctl, ev[i].data.ptr, ev[i].events) == 1);
        if (srv.ticket != 0 && !srv.sweep) {
            uint64_t t = srv.ticket;

            srv.ticket = 0;
            if (srv.failed) {
                CHECK(pt_ctl_answer(srv.ctl, t, -EIO, srv.msg.data,
                                    srv.msg.len) == 1);
            } else {
                struct pt_buf res = { 0 };

                args_json(&res, &srv.args);
                CHECK(pt_ctl_answer(srv.ctl, t, 0, res.data, res.len) == 1);
                pt_buf_free(&res);
            }
            CHECK(pt_ctl_answer(srv.ctl, t, 0, NULL, 0) == 0);
        } else if (srv.ticket != 0 && n == 0) {
            /* waiting on the deadline: only the sweep answers it */
            pt_ctl_sweep(srv.ctl, pt_ctl_now_ms() + PT_CTL_IDLE_MS + 1);
            CHECK(pt_ctl_answer(srv.ctl, srv.ticket, 0, NULL, 0) == 0);
            srv.ticket = 0;
        }
        r = recv(fd, ans + got, sizeof(ans) - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
            CHECK(got < sizeof(ans));
            idle = 0;
        } else if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            eof = true; /* reset: the server closed with bytes unread */
        } else {
            CHECK(errno == EAGAIN);
            /* nothing for the server to do, nothing to read: stuck */
            CHECK(n > 0 || ++idle < 1000);
        }
    }
    close(fd);
    if (size == 0) {
        /* hung up without a byte: closed without an answer */
        CHECK(got == 0 && st->requests == requests);
        return;
    }
    check_answer(ans, got, &ok);
    CHECK(st->requests == requests + 1);
    CHECK(st->errors == errors + !ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (srv.ctl == NULL)
        srv_open();
    if (size > 16384)
        return 0;
    fuzz_json((const char *)data, size);
    fuzz_request(data, size);
    return 0;
}
