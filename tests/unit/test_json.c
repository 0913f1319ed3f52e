/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the strict JSON parser (control/json.c): values and walking
 * the document, string escapes to UTF-8, every refusal with its position,
 * the depth limit (no deep C stack), exact 64-bit integers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/json.h>

static struct pt_json_doc *
parse_ok(const char *s)
{
    struct pt_json_err err = { 0 };
    struct pt_json_doc *doc = pt_json_parse(s, strlen(s), 0, &err);

    if (doc == NULL)
        fail_msg("'%s' refused at %zu: %s", s, err.pos, err.reason);
    return doc;
}

/* Parse s expecting a refusal at byte pos with a reason containing why. */
static void
parse_bad(const char *s, size_t len, size_t pos, const char *why)
{
    struct pt_json_err err = { 0 };
    struct pt_json_doc *doc;

    errno = 0;
    doc = pt_json_parse(s, len, 0, &err);
    if (doc != NULL) {
        pt_json_free(doc);
        fail_msg("'%.*s' accepted", (int)len, s);
    }
    assert_int_equal(errno, EINVAL);
    assert_non_null(err.reason);
    if (strstr(err.reason, why) == NULL || err.pos != pos)
        fail_msg("'%.*s': got \"%s\" at %zu, want \"%s\" at %zu", (int)len,
                 s, err.reason, err.pos, why, pos);
}

#define BAD(s, pos, why) parse_bad((s), sizeof(s) - 1, (pos), (why))

static void
test_json_scalars(void **state)
{
    static const struct {
        const char *text;
        enum pt_json_type type;
        double num;
    } cases[] = {
        { "null", PT_JSON_NULL, 0 },
        { " true ", PT_JSON_TRUE, 0 },
        { "\tfalse\r\n", PT_JSON_FALSE, 0 },
        { "0", PT_JSON_NUMBER, 0 },
        { "-0", PT_JSON_NUMBER, 0 },
        { "42", PT_JSON_NUMBER, 42 },
        { "-1.5e3", PT_JSON_NUMBER, -1500 },
        { "2.5E-1", PT_JSON_NUMBER, 0.25 },
        { "1e+2", PT_JSON_NUMBER, 100 },
        { "\"\"", PT_JSON_STRING, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pt_json_doc *doc = parse_ok(cases[i].text);
        const struct pt_json *v = pt_json_root(doc);

        assert_int_equal(v->type, cases[i].type);
        assert_int_equal(v->span, 1);
        assert_null(v->key);
        assert_true(pt_json_is_scalar(v));
        if (v->type == PT_JSON_NUMBER)
            assert_true(v->num == cases[i].num);
        pt_json_free(doc);
    }
}

static void
test_json_walk_nested(void **state)
{
    struct pt_json_doc *doc = parse_ok(
        "{\"cores\":[{\"core\":0,\"rx\":10},{\"core\":1,\"rx\":20}],"
        "\"total\":{\"rx\":30,\"drops\":{}},\"name\":\"petrel\","
        "\"tags\":[],\"ok\":true}");
    const struct pt_json *root = pt_json_root(doc), *cores, *c1, *m;
    const char *keys[5];
    int n = 0;

    (void)state;
    assert_int_equal(root->type, PT_JSON_OBJECT);
    assert_int_equal(root->n, 5);
    /* root, cores, 2 x (object + 2), total, rx, drops, name, tags, ok */
    assert_int_equal(root->span, 1 + 1 + 6 + 3 + 1 + 1 + 1);
    for (m = pt_json_first(root); m != NULL; m = pt_json_next(root, m))
        keys[n++] = m->key;
    assert_int_equal(n, 5);
    assert_string_equal(keys[0], "cores");
    assert_string_equal(keys[1], "total");
    assert_string_equal(keys[4], "ok");

    cores = pt_json_get(root, "cores");
    assert_non_null(cores);
    assert_int_equal(cores->type, PT_JSON_ARRAY);
    assert_int_equal(cores->n, 2);
    c1 = pt_json_at(cores, 1);
    assert_non_null(c1);
    assert_null(c1->key); /* array elements have no key */
    assert_true(pt_json_get(c1, "rx")->num == 20);
    assert_null(pt_json_at(cores, 2));
    assert_null(pt_json_next(cores, c1));
    assert_true(pt_json_get(pt_json_get(root, "total"), "rx")->num == 30);
    assert_null(pt_json_first(pt_json_get(pt_json_get(root, "total"),
                                          "drops")));
    assert_string_equal(pt_json_str(pt_json_get(root, "name")), "petrel");
    assert_null(pt_json_str(pt_json_get(root, "ok")));
    assert_null(pt_json_first(pt_json_get(root, "tags")));
    assert_int_equal(pt_json_get(root, "ok")->type, PT_JSON_TRUE);
    assert_null(pt_json_get(root, "absent"));
    assert_null(pt_json_get(cores, "core")); /* not an object */
    assert_null(pt_json_at(root, 0));        /* not an array */
    pt_json_free(doc);
}

static void
test_json_string_escapes(void **state)
{
    struct pt_json_doc *doc = parse_ok(
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
        "\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\","
        "\"a\\u0000b\","
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]");
    const struct pt_json *a = pt_json_root(doc);

    (void)state;
    assert_string_equal(pt_json_at(a, 0)->str, "\"\\/\b\f\n\r\t");
    assert_int_equal(pt_json_at(a, 0)->n, 8);
    assert_string_equal(pt_json_at(a, 1)->str,
                        "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_int_equal(pt_json_at(a, 1)->n, 1 + 2 + 3 + 4);
    /* an escaped NUL is kept: the length tells */
    assert_int_equal(pt_json_at(a, 2)->n, 3);
    assert_memory_equal(pt_json_at(a, 2)->str, "a\0b", 4);
    assert_string_equal(pt_json_at(a, 3)->str,
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                        "\xf4\x8f\xbf\xbf");
    pt_json_free(doc);
}

static void
test_json_keys_escaped_and_duplicate(void **state)
{
    struct pt_json_doc *doc = parse_ok("{\"a\\u0062\":1,\"ab\":2}");
    const struct pt_json *o = pt_json_root(doc);

    (void)state;
    assert_string_equal(pt_json_first(o)->key, "ab");
    assert_int_equal(pt_json_first(o)->key_len, 2);
    assert_true(pt_json_get(o, "ab")->num == 1); /* the first wins */
    pt_json_free(doc);
}

static void
test_json_refusals(void **state)
{
    (void)state;
    BAD("", 0, "expected a value");
    BAD("   ", 3, "expected a value");
    BAD("{", 1, "expected a string key");
    BAD("[", 1, "expected a value");
    BAD("[1", 2, "unterminated array");
    BAD("{\"a\":1", 6, "unterminated object");
    BAD("[1,]", 3, "trailing comma");
    BAD("{\"a\":1,}", 7, "trailing comma");
    BAD("[1 2]", 3, "expected ',' or ']'");
    BAD("{\"a\":1]", 6, "expected ',' or '}'");
    BAD("{\"a\" 1}", 5, "expected ':'");
    BAD("{1:2}", 1, "expected a string key");
    BAD("[1]]", 3, "after the value");
    BAD("1 2", 2, "after the value");
    BAD("01", 0, "leading zero");
    BAD("-01", 1, "leading zero");
    BAD("1.", 2, "after '.'");
    BAD(".5", 0, "expected a value");
    BAD("-", 1, "expected a digit");
    BAD("+1", 0, "expected a value");
    BAD("1e", 2, "exponent");
    BAD("1e+", 3, "exponent");
    BAD("NaN", 0, "expected a value");
    BAD("Infinity", 0, "expected a value");
    BAD("tru", 0, "expected a value");
    BAD("nul", 0, "expected a value");
    BAD("truex", 4, "after the value");
    BAD("'a'", 0, "expected a value");
    BAD("\"abc", 0, "unterminated string");
    BAD("\"abc\\", 0, "unterminated string");
    BAD("\"a\x01\"", 2, "control character");
    BAD("\"a\nb\"", 2, "control character");
    BAD("\"\\x\"", 1, "unknown escape");
    BAD("\"\\u12\"", 1, "bad \\u escape");
    BAD("\"\\u12g4\"", 1, "bad \\u escape");
    BAD("\"\\ud800\"", 1, "high surrogate");
    BAD("\"\\ud800\\u0041\"", 1, "high surrogate");
    BAD("\"\\udc00\"", 1, "lone low surrogate");
    BAD("\"a\xff\"", 2, "invalid UTF-8");
    BAD("\"\xc0\xaf\"", 1, "invalid UTF-8");          /* overlong '/' */
    BAD("\"\xe0\x80\xaf\"", 1, "invalid UTF-8");      /* overlong */
    BAD("\"\xed\xa0\x80\"", 1, "invalid UTF-8");      /* surrogate */
    BAD("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8");  /* > U+10FFFF */
    BAD("\"\xe2\x82\"", 1, "invalid UTF-8");          /* truncated */
    BAD("\"\x80\"", 1, "invalid UTF-8");              /* lone continuation */
    BAD("[1,\"a\"\x00]", 6, "expected ',' or ']'");
}

static void
test_json_depth_limit(void **state)
{
    enum { DEEP = 200000 };
    char *s = malloc(2 * DEEP + 1);
    struct pt_json_err err = { 0 };
    struct pt_json_doc *doc;

    (void)state;
    for (int d = 0; d < DEEP; d++) {
        s[d] = '[';
        s[2 * DEEP - 1 - d] = ']';
    }
    /* exactly the default depth: fine */
    doc = pt_json_parse(s + DEEP - PT_JSON_DEPTH_DEFAULT,
                        2 * PT_JSON_DEPTH_DEFAULT, 0, &err);
    assert_non_null(doc);
    assert_int_equal(pt_json_root(doc)->span, PT_JSON_DEPTH_DEFAULT);
    pt_json_free(doc);
    /* one more: refused where the extra bracket is */
    parse_bad(s + DEEP - PT_JSON_DEPTH_DEFAULT - 1,
              2 * PT_JSON_DEPTH_DEFAULT + 2, PT_JSON_DEPTH_DEFAULT,
              "nested too deep");
    /* very deep input is refused, not a stack overflow, even with the
     * largest limit */
    parse_bad(s, 2 * DEEP, PT_JSON_DEPTH_DEFAULT, "nested too deep");
    doc = pt_json_parse(s, 2 * DEEP, UINT32_MAX, &err);
    assert_null(doc);
    assert_int_equal(err.pos, PT_JSON_DEPTH_MAX);
    /* a caller's own limit; empty containers count as a level too */
    assert_null(pt_json_parse("[[1]]", 5, 1, &err));
    assert_int_equal(err.pos, 1);
    assert_null(pt_json_parse("{\"a\":{}}", 8, 1, &err));
    assert_int_equal(err.pos, 5);
    doc = pt_json_parse("[[1]]", 5, 2, &err);
    assert_non_null(doc);
    pt_json_free(doc);
    free(s);
}

static void
test_json_u64_exact(void **state)
{
    struct pt_json_doc *doc = parse_ok(
        "[18446744073709551615,18446744073709551616,9007199254740993,"
        "-1,1.0,1e3,\"1\",0]");
    const struct pt_json *a = pt_json_root(doc);
    uint64_t u = 7;

    (void)state;
    assert_int_equal(pt_json_u64(pt_json_at(a, 0), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(pt_json_u64(pt_json_at(a, 1), &u), -ERANGE);
    assert_int_equal(pt_json_u64(pt_json_at(a, 2), &u), 0);
    assert_true(u == 9007199254740993ull); /* not rounded through double */
    assert_string_equal(pt_json_at(a, 2)->str, "9007199254740993");
    assert_int_equal(pt_json_u64(pt_json_at(a, 3), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 4), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 5), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 6), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 7), &u), 0);
    assert_true(u == 0);
    assert_int_equal(pt_json_u64(NULL, &u), -EINVAL);
    pt_json_free(doc);
    /* fractional or with an exponent: -EINVAL however large */
    doc = parse_ok("[18446744073709551616.5,-18446744073709551616,1e400]");
    a = pt_json_root(doc);
    assert_int_equal(pt_json_u64(pt_json_at(a, 0), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 1), &u), -EINVAL);
    assert_int_equal(pt_json_u64(pt_json_at(a, 2), &u), -EINVAL);
    pt_json_free(doc);
}

/* Many values: the value array grows; the text need not end in NUL. */
static void
test_json_large_and_unterminated_input(void **state)
{
    enum { N = 20000 };
    char *s = malloc(N * 8 + 16);
    size_t len = 0;
    struct pt_json_doc *doc;
    const struct pt_json *a, *e;
    uint64_t u;
    int i = 0;

    (void)state;
    s[len++] = '[';
    for (int k = 0; k < N; k++)
        len += (size_t)sprintf(s + len, "%s%d", k ? "," : "", k);
    s[len++] = ']';
    memcpy(s + len, "garbage", 7); /* past len: must not be read */
    doc = pt_json_parse(s, len, 0, NULL);
    assert_non_null(doc);
    a = pt_json_root(doc);
    assert_int_equal(a->n, N);
    assert_int_equal(a->span, N + 1);
    for (e = pt_json_first(a); e != NULL; e = pt_json_next(a, e), i++) {
        assert_int_equal(pt_json_u64(e, &u), 0);
        assert_true(u == (uint64_t)i);
    }
    assert_int_equal(i, N);
    pt_json_free(doc);
    /* a number at the very end of a buffer without a NUL after it */
    memcpy(s, "12345", 5);
    doc = pt_json_parse(s, 3, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(pt_json_root(doc)->str, "123");
    pt_json_free(doc);
    pt_json_free(NULL);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_json_walk_nested),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_json_keys_escaped_and_duplicate),
        cmocka_unit_test(test_json_refusals),
        cmocka_unit_test(test_json_depth_limit),
        cmocka_unit_test(test_json_u64_exact),
        cmocka_unit_test(test_json_large_and_unterminated_input),
    };

    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
