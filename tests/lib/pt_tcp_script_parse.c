/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading script lines: the tokenizer, numbers and KEY=N pairs, TCP flag
 * letters (both ways), the <OPTIONS> list and the SEG of `in` and `out`
 * lines (pt_tcp_script.h has the grammar). Nothing here touches the stack
 * or the frames; a parse error is appended to sc->err and returns -1.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "pt_tcp_script_priv.h"

/* TCP flag bits in byte 13, in tcpdump's letter order; ACK is `.`. */
static const struct {
    char c;
    uint8_t bit;
} sc_flag_chars[] = {
    { 'S', 0x02 }, { 'F', 0x01 }, { 'R', 0x04 }, { 'P', 0x08 },
    { 'U', 0x20 }, { 'E', 0x40 }, { 'W', 0x80 }, { '.', 0x10 },
};

/* Split s in place; quoted strings lose their quotes (\n \t \\ \"
 * escapes), <...> stays one token. @return the count or -1. */
int
sc_tokenize(char *s, char **tok, bool *quoted, int max)
{
    int n = 0;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (*s == '\0' || *s == '#')
            return n;
        if (n == max)
            return -1;
        quoted[n] = false;
        if (*s == '"') {
            char *w = ++s;

            tok[n] = w;
            quoted[n] = true;
            while (*s != '\0' && *s != '"') {
                if (*s == '\\' && s[1] != '\0') {
                    s++;
                    *w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
                    s++;
                } else {
                    *w++ = *s++;
                }
            }
            if (*s != '"')
                return -1;
            s++;
            *w = '\0';
        } else if (*s == '<') {
            tok[n] = s;
            while (*s != '\0' && *s != '>')
                s++;
            if (*s != '>')
                return -1;
            s++;
            if (*s != '\0')
                *s++ = '\0';
        } else {
            tok[n] = s;
            while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' &&
                   *s != '#')
                s++;
            if (*s == '#') {
                *s = '\0';
                return n + 1;
            }
            if (*s != '\0')
                *s++ = '\0';
        }
        n++;
    }
}

int
sc_num(struct sc *sc, const char *s, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0')
        return sc_fail(sc, "not a number: '%s'", s);
    return 0;
}

int
sc_ip(struct sc *sc, const char *s, uint32_t *ip)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
        return sc_fail(sc, "not an IPv4 address: '%s'", s);
    *ip = ntohl(a.s_addr);
    return 0;
}

/* "KEY=N" with KEY matching. */
bool
sc_kv(const char *tok, const char *key, const char **val)
{
    size_t n = strlen(key);

    if (strncmp(tok, key, n) != 0 || tok[n] != '=')
        return false;
    *val = tok + n + 1;
    return true;
}

static int
sc_flags_parse(struct sc *sc, const char *s, uint8_t *flags)
{
    *flags = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (; *s != '\0'; s++) {
        size_t i;

        for (i = 0; i < RTE_DIM(sc_flag_chars); i++)
            if (sc_flag_chars[i].c == *s)
                break;
        if (i == RTE_DIM(sc_flag_chars))
            return sc_fail(sc, "bad flag '%c'", *s);
        *flags |= sc_flag_chars[i].bit;
    }
    return 0;
}

static bool
sc_is_flags(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    for (; *s != '\0'; s++)
        if (strchr("SFRPUEW.", *s) == NULL)
            return false;
    return true;
}

void
sc_flags_str(uint8_t flags, char *out)
{
    char *o = out;

    for (size_t i = 0; i < RTE_DIM(sc_flag_chars); i++)
        if (flags & sc_flag_chars[i].bit)
            *o++ = sc_flag_chars[i].c;
    if (o == out)
        *o++ = '-';
    *o = '\0';
}

/* "<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>" into wire options. */
static int
sc_opts_parse(struct sc *sc, const char *tok, struct sc_seg *g, bool out)
{
    char copy[256], *item, *save = NULL;
    uint8_t *o = g->opts;

    snprintf(copy, sizeof(copy), "%.*s", (int)strlen(tok) - 2, tok + 1);
    g->has_opts = true;
    for (item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        unsigned long a, b;

        while (*item == ' ')
            item++;
        if (o - g->opts > 28)
            return sc_fail(sc, "too many options");
        if (sscanf(item, "mss %lu", &a) == 1) {
            g->has_mss = true;
            g->mss = (uint16_t)a;
            *o++ = 2, *o++ = 4, *o++ = (uint8_t)(a >> 8), *o++ = (uint8_t)a;
            continue;
        }
        if (out)
            return sc_fail(sc, "`out` checks only <mss N>, not '%s'", item);
        if (strncmp(item, "sackOK", 6) == 0) {
            *o++ = 4, *o++ = 2;
        } else if (sscanf(item, "TS val %lu ecr %lu", &a, &b) == 2) {
            *o++ = 8, *o++ = 10;
            for (int i = 3; i >= 0; i--)
                *o++ = (uint8_t)(a >> (8 * i));
            for (int i = 3; i >= 0; i--)
                *o++ = (uint8_t)(b >> (8 * i));
        } else if (sscanf(item, "wscale %lu", &a) == 1) {
            *o++ = 3, *o++ = 3, *o++ = (uint8_t)a;
        } else if (strncmp(item, "nop", 3) == 0) {
            *o++ = 1;
        } else if (strncmp(item, "eol", 3) == 0) {
            *o++ = 0;
        } else {
            return sc_fail(sc, "unknown option '%s'", item);
        }
    }
    while ((o - g->opts) % 4 != 0)
        *o++ = 0;
    g->optlen = (size_t)(o - g->opts);
    return 0;
}

int
sc_seg_parse(struct sc *sc, char **t, bool *q, int n, struct sc_seg *g,
             bool out)
{
    int i = 0;
    long long v;
    const char *val;

    memset(g, 0, sizeof(*g));
    g->doff = g->tcplen = g->sport = g->dport = -1;
    /* modifiers first (in), then flags */
    for (; i < n && !sc_is_flags(t[i]); i++) {
        if (!out && strcmp(t[i], "badcsum") == 0) {
            g->badcsum = true;
        } else if (!out && sc_kv(t[i], "doff", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->doff = (int)v;
        } else if (!out && sc_kv(t[i], "tcplen", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->tcplen = (int)v;
        } else if (sc_kv(t[i], "sport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->sport = (int)v;
        } else if (!out && sc_kv(t[i], "dport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->dport = (int)v;
        } else if (!out && sc_kv(t[i], "dst", &val)) {
            if (sc_ip(sc, val, &g->dst) < 0)
                return -1;
        } else {
            return sc_fail(sc, "unknown modifier or flags '%s'", t[i]);
        }
    }
    if (i == n)
        return sc_fail(sc, "no flags");
    if (sc_flags_parse(sc, t[i++], &g->flags) < 0)
        return -1;
    if (i < n && !q[i] && (isdigit((unsigned char)t[i][0]) ||
                           t[i][0] == '-')) {
        long long s, e, l;
        char *p;

        s = strtoll(t[i], &p, 10);
        if (*p++ != ':')
            return sc_fail(sc, "sequence '%s' is not SEQ:END(LEN)", t[i]);
        e = strtoll(p, &p, 10);
        if (*p++ != '(')
            return sc_fail(sc, "sequence '%s' is not SEQ:END(LEN)", t[i]);
        l = strtoll(p, &p, 10);
        if (strcmp(p, ")") != 0 || e - s != l || l < 0)
            return sc_fail(sc, "sequence '%s': END-SEQ must be LEN", t[i]);
        g->has_seq = true;
        g->seq = (uint32_t)s;
        g->len = (uint32_t)l;
        i++;
    }
    while (i < n) {
        if (strcmp(t[i], "ack") == 0 && i + 1 < n) {
            if (sc_num(sc, t[i + 1], &v) < 0)
                return -1;
            g->has_ack = true;
            g->ack = (uint32_t)v;
            i += 2;
        } else if (strcmp(t[i], "win") == 0 && i + 1 < n) {
            if (sc_num(sc, t[i + 1], &v) < 0)
                return -1;
            g->has_win = true;
            g->win = (uint32_t)v;
            i += 2;
        } else if (t[i][0] == '<' && !q[i]) {
            if (sc_opts_parse(sc, t[i], g, out) < 0)
                return -1;
            i++;
        } else if (strcmp(t[i], "data") == 0 && i + 1 < n && q[i + 1]) {
            if (out)
                return sc_fail(sc, "`out` payloads come from app sends");
            g->has_data = true;
            g->data = t[i + 1];
            g->data_len = strlen(t[i + 1]);
            i += 2;
        } else {
            return sc_fail(sc, "unexpected '%s'", t[i]);
        }
    }
    if (g->has_data && g->has_seq && g->data_len != g->len)
        return sc_fail(sc, "data has %zu bytes, LEN says %u", g->data_len,
                       g->len);
    if (g->has_data && !g->has_seq) {
        g->has_seq = true;
        g->seq = 1;
        g->len = (uint32_t)g->data_len;
    }
    if (!out && (g->flags & SC_ACK) && !g->has_ack)
        return sc_fail(sc, "ACK flag without `ack N`");
    return 0;
}
