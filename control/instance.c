/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Instance lock, host probe and EAL argument derivation (see
 * include/petrel/instance.h). Runs once at start, before EAL exists.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/broker.h>
#include <petrel/instance.h>
#include <petrel/port.h>
#include <petrel/tcp.h>

void
pt_host_probe(struct pt_host *host)
{
    cpu_set_t set;
    FILE *f;
    char line[256];

    memset(host, 0, sizeof(*host));
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && host->n_cpus < 256; c++)
            if (CPU_ISSET(c, &set))
                host->cpus[host->n_cpus++] = c;
    }
    if (host->n_cpus == 0) {
        host->n_cpus = 1;
        host->cpus[0] = 0;
    }
    f = fopen("/proc/meminfo", "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            sscanf(line, "HugePages_Free: %u", &host->hugepages_free);
        fclose(f);
    }
    f = fopen("/proc/mounts", "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (strstr(line, " hugetlbfs ") != NULL)
                host->hugetlbfs_mounted = 1;
        fclose(f);
    }
}

static int
push(struct pt_eal_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
push(struct pt_eal_args *a, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (a->argc == PT_EAL_ARGV_MAX)
        return -E2BIG;
    va_start(ap, fmt);
    n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(a->store) - a->used)
        return -E2BIG;
    a->argv[a->argc++] = a->store + a->used;
    a->argv[a->argc] = NULL;
    a->used += (size_t)n + 1;
    return 0;
}

/* Does the user's EAL vector contain one of the options (prefix match, so
 * "--file-prefix" matches "--file-prefix=x")? */
static int
has_opt(int argc, char **argv, const char *const *opts)
{
    for (int i = 0; i < argc; i++)
        for (const char *const *o = opts; *o != NULL; o++)
            if (strncmp(argv[i], *o, strlen(*o)) == 0 &&
                (argv[i][strlen(*o)] == '\0' || argv[i][strlen(*o)] == '=' ||
                 (*o)[1] != '-'))
                return 1;
    return 0;
}

/* Does any argument mention a petrel log type ("--log-level=pt.dp.*:debug")? */
int
pt_eal_args_set_pt_log(const struct pt_eal_args *a)
{
    for (int i = 0; i < a->argc; i++)
        if (strncmp(a->argv[i], "--log-level", 11) == 0 &&
            strstr(a->argv[i], "pt.") != NULL)
            return 1;
    return 0;
}

int
pt_eal_args_build(struct pt_eal_args *a, const char *argv0,
                  const struct pt_config *cfg, const struct pt_host *host,
                  int uargc, char **uargv)
{
    static const char *const lcore_opts[] = { "-l", "-c", "--lcores", NULL };
    static const char *const prefix_opts[] = { "--file-prefix", "--in-memory",
                                               NULL };
    static const char *const mem_opts[] = { "--no-huge", "-m", "--socket-mem",
                                            NULL };
    static const char *const dev_opts[] = { "--vdev", "-a", "--allow", "-b",
                                            "--block", "--no-pci", NULL };
    static const char *const log_opts[] = { "--log-level", NULL };
    char buf[sizeof(cfg->eal_args)];
    char *words[PT_EAL_ARGV_MAX + 1];
    char *save = NULL;
    int rc = 0, nw = 0;

    /* What the user already says, in eal.args or before `--`, wins over
     * every default below. */
    snprintf(buf, sizeof(buf), "%s", cfg->eal_args);
    for (char *w = strtok_r(buf, " \t", &save); w != NULL;
         w = strtok_r(NULL, " \t", &save)) {
        if (nw == PT_EAL_ARGV_MAX)
            return -E2BIG;
        words[nw++] = w;
    }
    for (int i = 0; i < uargc; i++) {
        if (nw == PT_EAL_ARGV_MAX)
            return -E2BIG;
        words[nw++] = uargv[i];
    }

    memset(a, 0, sizeof(*a));
    rc |= push(a, "%s", argv0);
    if (!has_opt(nw, words, prefix_opts))
        rc |= push(a, "--file-prefix=petrel-%s", cfg->name);
    if (!has_opt(nw, words, lcore_opts)) {
        char map[1024];
        size_t off = 0;

        /* lcore i on allowed CPU i mod n: the main lcore (control plane)
         * and each dataplane lcore get their own CPU when there are enough. */
        for (unsigned i = 0; i <= cfg->dp_cores && off < sizeof(map); i++)
            off += (size_t)snprintf(map + off, sizeof(map) - off, "%s%u@%d",
                                    i ? "," : "", i,
                                    host->cpus[i % host->n_cpus]);
        if (off >= sizeof(map))
            return -E2BIG;
        rc |= push(a, "--lcores=%s", map);
    }
    if (!has_opt(nw, words, mem_opts) &&
        (host->hugepages_free == 0 || !host->hugetlbfs_mounted)) {
        /* per-core pools of ~2.3 KiB mbufs and TCP-lite's connection
         * pools and table, plus room for rings and the drivers */
        uint64_t per_core = (uint64_t)cfg->mbufs_per_core * 2432 +
                            pt_tcp_memory(cfg->tcp_max_conns,
                                          cfg->tcp_time_wait_max);
        uint64_t mb = (cfg->dp_cores * per_core +
                       (cfg->mqtt_port != 0
                            ? pt_broker_memory(cfg, cfg->dp_cores)
                            : 0)) / (1024 * 1024) + 128;

        rc |= push(a, "--no-huge");
        rc |= push(a, "-m");
        rc |= push(a, "%lu", (unsigned long)mb);
    }
    if (!has_opt(nw, words, dev_opts)) {
        if (pt_port_is_vdev(cfg->port_devargs)) {
            rc |= push(a, "--no-pci");
            rc |= push(a, "--vdev=%s", cfg->port_devargs);
        } else {
            rc |= push(a, "-a");
            rc |= push(a, "%s", cfg->port_devargs);
        }
    }
    if (!has_opt(nw, words, log_opts))
        rc |= push(a, "--log-level=lib.eal:notice");

    for (int i = 0; i < nw; i++)
        rc |= push(a, "%s", words[i]);
    return rc ? -E2BIG : 0;
}

int
pt_instance_lock(const struct pt_config *cfg, char *path, size_t len)
{
    int fd;

    /* By name, whatever the socket path: the name also picks the DPDK
     * runtime prefix, so two instances may never share it. */
    if (mkdir(PT_RUN_DIR, 0755) != 0 && errno != EEXIST)
        return -errno;
    snprintf(path, len, "%s/%s.lock", PT_RUN_DIR, cfg->name);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno == EWOULDBLOCK ? EBUSY : errno;

        close(fd);
        return -err;
    }
    return fd;
}

void
pt_instance_netns(char *buf, size_t len)
{
    struct stat self, st;
    DIR *d;
    struct dirent *e;
    char p[512];

    buf[0] = '\0';
    if (stat("/proc/self/ns/net", &self) != 0)
        return;
    d = opendir("/run/netns");
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/run/netns/%s", e->d_name);
        if (stat(p, &st) == 0 && st.st_ino == self.st_ino &&
            st.st_dev == self.st_dev) {
            snprintf(buf, len, "%s", e->d_name);
            break;
        }
    }
    closedir(d);
}
