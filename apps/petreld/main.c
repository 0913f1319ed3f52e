/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petreld: the broker. Usage: petreld [EAL args] [-- petrel args]
 *
 * Start-up, in order, unwinding in reverse on failure: parse the config,
 * take the instance lock, derive the EAL arguments, rte_eal_init(), create
 * the dataplane's pools, start the port, launch the dataplane lcores, open
 * the control socket, then serve on the main lcore until SIGINT/SIGTERM or
 * `petrelctl shutdown`. Shutdown: stop every lcore, close the port, free
 * the pools, rte_eal_cleanup(), exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <petrel/clock.h>
#include <petrel/config.h>
#include <petrel/control.h>
#include <petrel/dataplane.h>
#include <petrel/instance.h>
#include <petrel/port.h>

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: petreld [EAL args] [-- petrel args]\n"
            "petrel args:\n"
            "  -f, --config FILE      read settings from FILE\n"
            "  -s, --set KEY=VALUE    set one key (after the file; repeatable)\n"
            "  -n, --name NAME        instance name (same as --set name=NAME)\n"
            "      --check            validate the settings, print them, exit\n"
            "      --describe-config  print the key table (markdown) and exit\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             this text\n"
            "EAL args are DPDK's (see `petreld --help --`); petreld adds\n"
            "defaults for lcores, file prefix, memory and the port unless you\n"
            "give them. See docs/configuration.md.\n");
}

static void
describe_config(void)
{
    size_t n = pt_config_describe(NULL, 0);
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];

    pt_config_describe(info, n);
    printf("| key | default | range | run time | meaning |\n");
    printf("|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        printf("| `%s` | %s%s%s | %s | %s | %s |\n", info[i].key,
               info[i].default_value[0] ? "`" : "*(empty)*",
               info[i].default_value, info[i].default_value[0] ? "`" : "",
               info[i].range,
               info[i].runtime ? "yes" : "no", info[i].help);
}

static void
print_config(const struct pt_config *cfg)
{
    size_t n = pt_config_describe(NULL, 0);
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    char val[PT_EAL_ARGS_MAX];

    pt_config_describe(info, n);
    for (size_t i = 0; i < n; i++) {
        pt_config_get(cfg, info[i].key, val, sizeof(val));
        printf("%s = %s\n", info[i].key, val);
    }
}

/* Parse the petrel args (after `--`). Returns 1 to exit 0, -1 to exit 1. */
static int
parse_args(struct pt_config *cfg, int argc, char **argv, int *check,
           struct pt_config_source *src)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'f' },
        { "set", required_argument, NULL, 's' },
        { "name", required_argument, NULL, 'n' },
        { "check", no_argument, NULL, 'C' },
        { "describe-config", no_argument, NULL, 'D' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* settings from the command line apply after the file, whatever order */
    char *sets[PT_CONFIG_SETS_MAX];
    int n_sets = 0, c;
    const char *file = NULL;
    char err[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:s:n:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 's':
        case 'n':
            if (n_sets == PT_CONFIG_SETS_MAX) {
                fprintf(stderr, "petreld: too many --set\n");
                return -1;
            }
            if (c == 'n') {
                static char namebuf[PT_NAME_MAX + 8];

                snprintf(namebuf, sizeof(namebuf), "name=%s", optarg);
                sets[n_sets++] = namebuf;
            } else {
                sets[n_sets++] = optarg;
            }
            break;
        case 'C':
            *check = 1;
            break;
        case 'D':
            describe_config();
            return 1;
        case 'V':
            printf("petreld %s\n", PT_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "petreld: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    src->file = file;
    if (file != NULL && pt_config_load(cfg, file, err, sizeof(err)) != 0) {
        fprintf(stderr, "petreld: %s\n", err);
        return -1;
    }
    for (int i = 0; i < n_sets; i++) {
        char *eq = strchr(sets[i], '=');

        if (eq == NULL) {
            fprintf(stderr, "petreld: --set %s: expected KEY=VALUE\n", sets[i]);
            return -1;
        }
        *eq = '\0';
        src->keys[src->n] = sets[i];
        src->values[src->n++] = eq + 1;
        if (pt_config_set(cfg, sets[i], eq + 1, "command line", 0, err,
                          sizeof(err)) != 0) {
            fprintf(stderr, "petreld: %s\n", err);
            return -1;
        }
    }
    if (pt_config_validate(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "petreld: %s\n", err);
        return -1;
    }
    return 0;
}

static void
print_banner(const struct pt_config *cfg, const struct pt_port *port)
{
    char ip[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN], ns[64], sock[PT_PATH_MAX];
    char pre[96] = "";

    inet_ntop(AF_INET, &cfg->ip, ip, sizeof(ip));
    pt_instance_netns(ns, sizeof(ns));
    if (ns[0] != '\0')
        snprintf(pre, sizeof(pre), "ip netns exec %s ", ns);
    pt_config_ctl_path(cfg, sock, sizeof(sock));
    printf("petreld %s: instance '%s' up at %s/%u on %s", PT_VERSION,
           cfg->name, ip, cfg->prefix_len, port->name);
    if (port->ifname[0] != '\0' && cfg->tap_host_ip != 0) {
        inet_ntop(AF_INET, &cfg->tap_host_ip, host, sizeof(host));
        printf(" (kernel side %s = %s%s%s)", port->ifname, host,
               ns[0] ? " in netns " : "", ns);
    }
    printf("\n  try:  %sping -c 3 %s\n", pre, ip);
    printf("        petrelctl --socket %s stats\n", sock);
    printf("  stop: Ctrl-C, SIGTERM or `petrelctl --socket %s shutdown`\n",
           sock);
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    static struct pt_config_source src; /* for `reload`: outlives main */
    struct pt_config cfg;
    struct pt_host host;
    struct pt_eal_args eal;
    struct pt_port port = { .port_id = RTE_MAX_ETHPORTS };
    struct pt_dp *dp = NULL;
    struct pt_control *cp = NULL;
    char lock_path[PT_PATH_MAX + 8];
    int sep = argc, check = 0, lock_fd, rc, status = EXIT_FAILURE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            sep = i;
            break;
        }
    }
    pt_config_defaults(&cfg);
    /* petrel args: argv[sep+1..]; give getopt its own argv[0] */
    argv[sep < argc ? sep : 0] = argv[0];
    rc = parse_args(&cfg, sep < argc ? argc - sep : 1,
                    sep < argc ? argv + sep : argv, &check, &src);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    if (check) {
        print_config(&cfg);
        return EXIT_SUCCESS;
    }

    lock_fd = pt_instance_lock(&cfg, lock_path, sizeof(lock_path));
    if (lock_fd < 0) {
        if (lock_fd == -EBUSY)
            fprintf(stderr, "petreld: an instance named '%s' is already "
                    "running (lock %s); give this one another name with "
                    "`-- --name NAME`\n", cfg.name, lock_path);
        else
            fprintf(stderr, "petreld: lock %s: %s\n", lock_path,
                    strerror(-lock_fd));
        return EXIT_FAILURE;
    }

    pt_host_probe(&host);
    if (pt_eal_args_build(&eal, argv[0], &cfg, &host, sep - 1, argv + 1)) {
        fprintf(stderr, "petreld: too many EAL arguments\n");
        return EXIT_FAILURE;
    }
    rc = pt_control_block_signals();
    if (rc != 0) {
        fprintf(stderr, "petreld: blocking signals: %s\n", strerror(-rc));
        return EXIT_FAILURE;
    }
    if (rte_eal_init(eal.argc, eal.argv) < 0) {
        fprintf(stderr, "petreld: EAL init failed: %s\n",
                rte_errno ? rte_strerror(rte_errno)
                          : "see the EAL messages above");
        return EXIT_FAILURE;
    }
    pt_clock_init();
    if (!pt_eal_args_set_pt_log(&eal))
        rte_log_set_level_pattern("pt.*",
                                  (uint32_t)pt_log_level_parse(cfg.log_level));

    dp = pt_dp_create(&cfg);
    if (dp == NULL) {
        fprintf(stderr, "petreld: dataplane: %s\n", rte_strerror(rte_errno));
        goto out;
    }
    rc = pt_port_start(&port, &cfg, (uint16_t)pt_dp_n_cores(dp),
                       pt_dp_pools(dp));
    if (rc != 0) {
        fprintf(stderr, "petreld: port %s: %s\n", cfg.port_devargs,
                strerror(-rc));
        goto out;
    }
    rc = pt_dp_launch(dp, &port);
    if (rc != 0) {
        fprintf(stderr, "petreld: launching dataplane: %s\n", strerror(-rc));
        goto out;
    }
    cp = pt_control_create(&cfg, dp, &port, &src);
    if (cp == NULL) {
        fprintf(stderr, "petreld: control plane: %s\n", strerror(errno));
        goto out;
    }
    print_banner(&cfg, &port);
    if (pt_control_run(cp) == 0)
        status = EXIT_SUCCESS;

out:
    if (dp != NULL)
        pt_dp_stop(dp);
    pt_port_stop(&port);
    pt_control_destroy(cp);
    pt_dp_destroy(dp);
    rte_eal_cleanup();
    close(lock_fd);
    if (status == EXIT_SUCCESS)
        printf("petreld: stopped cleanly\n");
    return status;
}
