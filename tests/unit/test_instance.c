/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of EAL argument derivation and the instance lock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <petrel/instance.h>

static struct pt_host
host(unsigned cpus, unsigned huge)
{
    struct pt_host h = { .n_cpus = cpus, .hugepages_free = huge,
                         .hugetlbfs_mounted = huge > 0 };

    for (unsigned i = 0; i < cpus; i++)
        h.cpus[i] = (int)i + 4;
    return h;
}

static int
has(const struct pt_eal_args *a, const char *arg)
{
    for (int i = 0; i < a->argc; i++)
        if (strcmp(a->argv[i], arg) == 0)
            return i;
    return 0;
}

static void
test_instance_eal_defaults(void **state)
{
    struct pt_config c;
    struct pt_host h = host(2, 0);
    struct pt_eal_args a;
    int i;

    (void)state;
    pt_config_defaults(&c);
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    assert_string_equal(a.argv[0], "petreld");
    assert_true(has(&a, "--file-prefix=petrel-petrel"));
    assert_true(has(&a, "--lcores=0@4,1@5"));
    assert_true(has(&a, "--no-huge"));
    i = has(&a, "-m");
    assert_true(i > 0);
    assert_true(atoi(a.argv[i + 1]) >= 128);
    assert_true(has(&a, "--no-pci"));
    assert_true(has(&a, "--vdev=net_tap0,iface=petrel0"));
    assert_null(a.argv[a.argc]);

    /* TCP-lite's pools count too: a million connections on each of two
     * cores need well over 2 x 200 MB */
    c.dp_cores = 2;
    c.tcp_max_conns = 1000000;
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    i = has(&a, "-m");
    assert_true(i > 0);
    assert_true(atoi(a.argv[i + 1]) >= 2 * 200 + 128);
}

static void
test_instance_eal_more_cores_than_cpus(void **state)
{
    struct pt_config c;
    struct pt_host h = host(2, 512);
    struct pt_eal_args a;
    char err[128];

    (void)state;
    pt_config_defaults(&c);
    pt_config_set(&c, "dp.cores", "3", "t", 0, err, sizeof(err));
    pt_config_set(&c, "name", "b", "t", 0, err, sizeof(err));
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    assert_true(has(&a, "--lcores=0@4,1@5,2@4,3@5"));
    assert_true(has(&a, "--file-prefix=petrel-b"));
    assert_false(has(&a, "--no-huge")); /* hugepages are free: use them */
}

static void
test_instance_eal_user_args_win(void **state)
{
    struct pt_config c;
    struct pt_host h = host(8, 0);
    struct pt_eal_args a;
    char *user[] = { "-l", "2-3", "--file-prefix=mine", "--no-huge", "-m",
                     "512", "-a", "0000:01:00.0" };
    char err[128];

    (void)state;
    pt_config_defaults(&c);
    pt_config_set(&c, "eal.args", "--log-level=pt.*:debug  -n 4", "t", 0, err,
                  sizeof(err));
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 8, user), 0);
    for (int i = 0; i < a.argc; i++) {
        assert_null(strstr(a.argv[i], "--lcores"));
        assert_null(strstr(a.argv[i], "petrel-petrel"));
        assert_null(strstr(a.argv[i], "--vdev"));
    }
    /* config extras, then the user's arguments, in order, at the end */
    assert_string_equal(a.argv[a.argc - 11], "--log-level=pt.*:debug");
    assert_string_equal(a.argv[a.argc - 10], "-n");
    assert_string_equal(a.argv[a.argc - 8], "-l");
    assert_string_equal(a.argv[a.argc - 1], "0000:01:00.0");
}

static void
test_instance_eal_config_args_win(void **state)
{
    struct pt_config c;
    struct pt_host h = host(2, 0);
    struct pt_eal_args a;
    char err[128];

    (void)state;
    pt_config_defaults(&c);
    pt_config_set(&c, "eal.args", "--lcores=0@1,1@1 --log-level=pt.*:debug",
                  "t", 0, err, sizeof(err));
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    assert_true(has(&a, "--lcores=0@1,1@1"));
    assert_false(has(&a, "--lcores=0@4,1@5"));
    assert_false(has(&a, "--log-level=lib.eal:notice"));
    assert_true(pt_eal_args_set_pt_log(&a));
    pt_config_defaults(&c);
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    assert_false(pt_eal_args_set_pt_log(&a));
}

static void
test_instance_eal_pci_port(void **state)
{
    struct pt_config c;
    struct pt_host h = host(4, 1024);
    struct pt_eal_args a;
    char err[128];
    int i;

    (void)state;
    pt_config_defaults(&c);
    pt_config_set(&c, "port", "0000:3b:00.1", "t", 0, err, sizeof(err));
    assert_int_equal(pt_eal_args_build(&a, "petreld", &c, &h, 0, NULL), 0);
    i = has(&a, "-a");
    assert_true(i > 0);
    assert_string_equal(a.argv[i + 1], "0000:3b:00.1");
    assert_false(has(&a, "--no-pci"));
}

static void
test_instance_lock_exclusive(void **state)
{
    struct pt_config c;
    char err[128], p1[200], p2[200], sock[64];
    int a, b;

    (void)state;
    pt_config_defaults(&c);
    snprintf(sock, sizeof(sock), "pt-test-lock-%d", (int)getpid());
    pt_config_set(&c, "name", sock, "t", 0, err, sizeof(err));
    a = pt_instance_lock(&c, p1, sizeof(p1));
    assert_true(a >= 0);
    /* a second open file description of the same lock must be refused */
    b = pt_instance_lock(&c, p2, sizeof(p2));
    assert_int_equal(b, -EBUSY);
    close(a);
    b = pt_instance_lock(&c, p2, sizeof(p2));
    assert_true(b >= 0);
    close(b);
    unlink(p1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_eal_defaults),
        cmocka_unit_test(test_instance_eal_more_cores_than_cpus),
        cmocka_unit_test(test_instance_eal_user_args_win),
        cmocka_unit_test(test_instance_eal_config_args_win),
        cmocka_unit_test(test_instance_eal_pci_port),
        cmocka_unit_test(test_instance_lock_exclusive),
    };

    return cmocka_run_group_tests_name("instance", tests, NULL, NULL);
}
