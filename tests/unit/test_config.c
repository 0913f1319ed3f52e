/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the config parser (control/config.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include <petrel/config.h>

static char *
write_tmp(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/pt_test_config_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
test_config_defaults_valid(void **state)
{
    struct pt_config c;
    char err[256];

    (void)state;
    pt_config_defaults(&c);
    assert_string_equal(c.name, "petrel");
    assert_int_equal(c.ip, inet_addr("10.99.0.2"));
    assert_int_equal(c.prefix_len, 24);
    assert_int_equal(c.tap_host_ip, inet_addr("10.99.0.1"));
    assert_int_equal(c.dp_cores, 1);
    assert_int_equal(c.idle, PT_IDLE_AUTO);
    assert_int_equal(c.rx_desc, 1024);
    assert_int_equal(pt_config_validate(&c, err, sizeof(err)), 0);
}

/* Every default in the table must parse (pt_config_defaults ignores
 * errors, so check each one here). */
static void
test_config_every_default_parses(void **state)
{
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    size_t n = pt_config_describe(info, PT_CONFIG_KEYS_MAX);
    struct pt_config c;
    char err[256], got[600];

    (void)state;
    assert_true(n > 10 && n <= PT_CONFIG_KEYS_MAX);
    pt_config_defaults(&c);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pt_config_set(&c, info[i].key, info[i].default_value,
                                       "t", 1, err, sizeof(err)), 0);
        assert_int_equal(pt_config_get(&c, info[i].key, got, sizeof(got)), 0);
        assert_string_equal(got, info[i].default_value);
        assert_true(strlen(info[i].help) > 10);
    }
}

static void
test_config_file_parsed(void **state)
{
    struct pt_config c;
    char err[256];
    char *p = write_tmp("# comment\n\n"
                        "name = edge-1   # trailing comment\n"
                        "net.ip = 192.168.7.10/16\n"
                        "net.gateway = 192.168.0.1\n"
                        "tap.host_ip =\n"
                        "dp.cores=3\n"
                        "dp.idle = busy\n"
                        "port = 0000:3b:00.0\n");

    (void)state;
    pt_config_defaults(&c);
    assert_int_equal(pt_config_load(&c, p, err, sizeof(err)), 0);
    assert_string_equal(c.name, "edge-1");
    assert_int_equal(c.ip, inet_addr("192.168.7.10"));
    assert_int_equal(c.prefix_len, 16);
    assert_int_equal(c.gateway, inet_addr("192.168.0.1"));
    assert_int_equal(c.tap_host_ip, 0);
    assert_int_equal(c.dp_cores, 3);
    assert_int_equal(c.idle, PT_IDLE_BUSY);
    assert_string_equal(c.port_devargs, "0000:3b:00.0");
    assert_int_equal(pt_config_validate(&c, err, sizeof(err)), 0);
    unlink(p);
}

/* Each bad line: the error names file, line and key. */
static void
test_config_errors_name_file_line_key(void **state)
{
    static const struct {
        const char *text;
        const char *expect;
    } cases[] = {
        { "name = a\nbogus = 1\n", ":2: bogus: unknown key" },
        { "dp.cores = 0\n", ":1: dp.cores: 0 out of range 1-64" },
        { "dp.cores = 65\n", ":1: dp.cores: 65 out of range" },
        { "dp.cores = -1\n", ":1: dp.cores: '-1' is not a non-negative" },
        { "dp.cores = 1x\n", ":1: dp.cores: '1x' is not" },
        { "dp.cores = 99999999999\n", ":1: dp.cores: '99999999999'" },
        { "\n\nnet.ip = 10.0.0.300/24\n", ":3: net.ip: '10.0.0.300'" },
        { "net.ip = 10.0.0.1\n", ":1: net.ip: '10.0.0.1' is not an address/prefix" },
        { "net.ip = 10.0.0.1/33\n", ":1: net.ip:" },
        { "net.gateway = x\n", ":1: net.gateway: 'x' is not an IPv4" },
        { "dp.idle = sometimes\n", ":1: dp.idle: 'sometimes' is not one of" },
        { "name = a b\n", ":1: name: only letters" },
        { "name =\n", ":1: name: must not be empty" },
        { "just words\n", ":1: just words: expected `key = value`" },
        { "name = 0123456789012345678901234567890123\n",
          ":1: name: value longer than 31" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pt_config c;
        char err[256];
        char *p = write_tmp(cases[i].text);

        pt_config_defaults(&c);
        assert_int_equal(pt_config_load(&c, p, err, sizeof(err)), -EINVAL);
        if (strstr(err, cases[i].expect) == NULL || strstr(err, p) != err)
            fail_msg("case %zu: got '%s', want '%s' after the path", i, err,
                     cases[i].expect);
        unlink(p);
    }
}

static void
test_config_missing_file(void **state)
{
    struct pt_config c;
    char err[256];

    (void)state;
    pt_config_defaults(&c);
    assert_int_equal(pt_config_load(&c, "/nonexistent/petrel.conf", err,
                                    sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/petrel.conf"));
}

static void
test_config_validate_cross_keys(void **state)
{
    struct pt_config c;
    char err[256];

    (void)state;
    pt_config_defaults(&c);
    assert_int_equal(pt_config_set(&c, "net.gateway", "10.1.0.1", "cli", 0,
                                   err, sizeof(err)), 0);
    assert_int_equal(pt_config_validate(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "net.gateway"));

    pt_config_defaults(&c);
    assert_int_equal(pt_config_set(&c, "tap.host_ip", "10.99.0.2/24", "cli",
                                   0, err, sizeof(err)), 0);
    assert_int_equal(pt_config_validate(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "tap.host_ip"));
}

/* docs/configuration.md must list every key (kept in step by this test). */
static void
test_config_documented(void **state)
{
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    size_t n = pt_config_describe(info, PT_CONFIG_KEYS_MAX);
    const char *doc = getenv("PT_CONFIG_DOC");
    FILE *f;
    char *text;
    long len;

    (void)state;
    if (doc == NULL)
        skip();
    f = fopen(doc, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        char needle[80];

        snprintf(needle, sizeof(needle), "| `%s` |", info[i].key);
        if (strstr(text, needle) == NULL)
            fail_msg("%s does not document key %s", doc, info[i].key);
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_valid),
        cmocka_unit_test(test_config_every_default_parses),
        cmocka_unit_test(test_config_file_parsed),
        cmocka_unit_test(test_config_errors_name_file_line_key),
        cmocka_unit_test(test_config_missing_file),
        cmocka_unit_test(test_config_validate_cross_keys),
        cmocka_unit_test(test_config_documented),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
