/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT 3.1.1 string rules: UTF-8 well-formedness (1.5.3), topic names and
 * topic filters (4.7), and matching a topic name against a filter. Pure
 * functions over contiguous bytes; the codec (mqtt_codec.c) gathers split
 * strings before calling them, and the subscription trie uses them too.
 *
 * Accepted although discouraged: control characters U+0001..U+001F,
 * U+007F..U+009F and Unicode non-characters (MQTT-1.5.3-4 only says a
 * sender SHOULD NOT use them); a leading U+FEFF is kept, never stripped
 * (MQTT-1.5.3-3). Refused: overlong forms (including C0 80 for U+0000),
 * surrogates, code points above U+10FFFF, truncated sequences, U+0000.
 */
#include <stdbool.h>
#include <string.h>

#include <petrel/mqtt.h>

enum pt_mqtt_err
pt_mqtt_utf8_check(const void *s, size_t len)
{
    const uint8_t *p = s;
    size_t i = 0;

    while (i < len) {
        uint8_t c = p[i];
        uint8_t lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0x80) {
            if (c == 0)
                return PT_MQTT_E_UTF8_NUL;
            i++;
            continue;
        }
        if (c < 0xc2)           /* stray continuation, or overlong C0/C1 */
            return PT_MQTT_E_UTF8;
        if (c < 0xe0) {
            n = 1;
        } else if (c < 0xf0) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0;      /* overlong 3-byte */
            else if (c == 0xed)
                hi = 0x9f;      /* U+D800..DFFF */
        } else if (c < 0xf5) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;      /* overlong 4-byte */
            else if (c == 0xf4)
                hi = 0x8f;      /* above U+10FFFF */
        } else {
            return PT_MQTT_E_UTF8;
        }
        if (len - i <= n)
            return PT_MQTT_E_UTF8;   /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return PT_MQTT_E_UTF8;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return PT_MQTT_E_UTF8;
        i += n + 1;
    }
    return PT_MQTT_OK;
}

/* Word-at-a-time tests (bit 7 of each byte set where the test holds). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGH)
#define HAS_BYTE(v, b) HAS_ZERO((v) ^ (ONES * (uint8_t)(b)))

/* Whether s is plain ASCII without NUL, '+' or '#': the common topic,
 * checked 8 bytes at a time. false sends the caller to the full check. */
static inline bool
plain_topic(const char *s, size_t len)
{
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t v;

        memcpy(&v, s + i, 8);
        if ((v & HIGH) | HAS_ZERO(v) | HAS_BYTE(v, '+') | HAS_BYTE(v, '#'))
            return false;
    }
    for (; i < len; i++) {
        uint8_t c = (uint8_t)s[i];

        if (c >= 0x80 || c == 0 || c == '+' || c == '#')
            return false;
    }
    return true;
}

enum pt_mqtt_err
pt_mqtt_topic_check(const char *s, size_t len)
{
    enum pt_mqtt_err e;

    if (len == 0)
        return PT_MQTT_E_TOPIC_EMPTY;
    if (plain_topic(s, len))
        return PT_MQTT_OK;
    e = pt_mqtt_utf8_check(s, len);
    if (e != PT_MQTT_OK)
        return e;
    /* '+' and '#' are ASCII, never inside a multi-byte sequence */
    for (size_t i = 0; i < len; i++)
        if (s[i] == '+' || s[i] == '#')
            return PT_MQTT_E_TOPIC_WILDCARD;
    return PT_MQTT_OK;
}

enum pt_mqtt_err
pt_mqtt_filter_check(const char *s, size_t len)
{
    enum pt_mqtt_err e;

    if (len == 0)
        return PT_MQTT_E_FILTER_EMPTY;
    e = pt_mqtt_utf8_check(s, len);
    if (e != PT_MQTT_OK)
        return e;
    for (size_t i = 0; i < len; i++) {
        bool starts = i == 0 || s[i - 1] == '/';
        bool ends = i + 1 == len || s[i + 1] == '/';

        if (s[i] == '#' && (!starts || i + 1 != len))
            return PT_MQTT_E_FILTER_WILDCARD;
        if (s[i] == '+' && (!starts || !ends))
            return PT_MQTT_E_FILTER_WILDCARD;
    }
    return PT_MQTT_OK;
}

/* End of the level that starts at i: the next '/' or len. */
static size_t
level_end(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] != '/')
        i++;
    return i;
}

bool
pt_mqtt_topic_match(const char *filter, size_t flen, const char *topic,
                    size_t tlen)
{
    size_t fi = 0, ti = 0;

    if (flen == 0)
        return false;
    if (tlen > 0 && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
        return false;
    for (;;) {
        size_t fe, te;

        /* both at the start of a level */
        if (filter[fi] == '#')
            return true;
        fe = level_end(filter, flen, fi);
        te = level_end(topic, tlen, ti);
        if (!(fe - fi == 1 && filter[fi] == '+') &&
            (fe - fi != te - ti || memcmp(filter + fi, topic + ti, fe - fi)))
            return false;
        fi = fe;
        ti = te;
        if (fi == flen)
            return ti == tlen;
        if (ti == tlen)   /* topic done, filter goes on: only "/#" matches */
            return flen - fi == 2 && filter[fi + 1] == '#';
        fi++;             /* skip '/' on both */
        ti++;
        if (fi == flen)   /* filter ends with '/': an empty last level */
            return ti == tlen;
    }
}
