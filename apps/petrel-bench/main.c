/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench: set-up, the run's phases, and the verdict.
 *
 *   petrel-bench [EAL options] -- --port DEVARGS [options]
 *
 * The main lcore lays the clients out in groups, starts EAL and the port
 * (the EAL arguments are derived as petreld derives its own: lcores,
 * --no-huge when there are no hugepages, the port as --vdev), starts one
 * bench core per worker lcore, then drives the phases (bench.h) and
 * reports once a second until every session is closed. The summary is
 * JSON on stdout; exit 0 when the run kept every promise, 1 when not,
 * 2 when it could not run.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include <petrel/clock.h>
#include <petrel/config.h>
#include <petrel/instance.h>
#include <petrel/port.h>

#include "bench.h"

#define TICK_NS (10 * 1000 * 1000ull)
#define NS 1000000000.0
#define CLOSE_WAIT_S 10.0
#define ARP_WAIT_S 5.0
#define QUIET_BEFORE_STOP_US (200 * 1000)

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    interrupted++;
}

static const char *const phase_names[] = {
    [PB_PH_CONNECT] = "connect", [PB_PH_WARMUP] = "warmup",
    [PB_PH_MEASURE] = "measure", [PB_PH_DRAIN] = "drain",
    [PB_PH_CLOSE] = "close",     [PB_PH_STOP] = "stop",
};

/* RSS: the port's key and redirection table, when it spreads flows. */
static int
rss_setup(struct pb_run *run, const struct pt_port *port, unsigned cores)
{
    struct rte_eth_dev_info info;
    struct rte_eth_rss_conf rc;
    struct rte_eth_rss_reta_entry64 reta[512 / RTE_ETH_RETA_GROUP_SIZE];

    if (cores == 1)
        return 0;
    if (rte_eth_dev_info_get(port->port_id, &info) != 0)
        return -1;
    if (info.flow_type_rss_offloads == 0 || info.reta_size == 0) {
        if (strcmp(info.driver_name, "net_memif") == 0)
            return 0;       /* answers come back on the queue asked on */
        fprintf(stderr, "petrel-bench: %s has no RSS to steer answers to "
                "the core that opened them: use --cores 1 (af_packet "
                "spreads by the kernel's own hash)\n", info.driver_name);
        return -1;
    }
    memset(&rc, 0, sizeof(rc));
    rc.rss_key = run->rss_key;
    rc.rss_key_len = sizeof(run->rss_key);
    if (rte_eth_dev_rss_hash_conf_get(port->port_id, &rc) != 0 ||
        info.reta_size > 512) {
        fprintf(stderr, "petrel-bench: cannot read the RSS key/table\n");
        return -1;
    }
    memset(reta, 0, sizeof(reta));
    for (unsigned i = 0; i < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
        reta[i].mask = ~0ull;
    if (rte_eth_dev_rss_reta_query(port->port_id, reta, info.reta_size) != 0) {
        fprintf(stderr, "petrel-bench: cannot read the RSS table\n");
        return -1;
    }
    for (unsigned i = 0; i < info.reta_size; i++)
        run->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE]
                           .reta[i % RTE_ETH_RETA_GROUP_SIZE];
    run->reta_size = info.reta_size;
    run->rss_key_len = rc.rss_key_len;
    run->rss = true;
    return 0;
}

struct clock_marks {
    uint64_t start, mac_ok, connect_end, measure_start, measure_end;
    uint64_t phase_start, last_report;
};

static void
set_phase(struct pb_run *run, enum pb_phase ph, struct clock_marks *m,
          uint64_t now)
{
    __atomic_store_n(&run->phase, ph, __ATOMIC_RELEASE);
    m->phase_start = now;
}

/* Drive the phases; returns when the cores have been told to stop. */
static void
drive(struct pb_run *run, struct pb_core *cores, struct pb_summary *s,
      struct pb_totals *now_t, struct pb_totals *prev_t, FILE *csv)
{
    const struct pb_opts *o = run->o;
    struct clock_marks m = { 0 };
    struct timespec tick = { 0, TICK_NS };
    int stopping = 0;

    m.start = m.phase_start = m.last_report = pt_clock_ns();
    for (;;) {
        uint64_t now, expected, highest;
        double in_phase;
        bool report;
        int ph;

        nanosleep(&tick, NULL);
        now = pt_clock_ns();
        ph = __atomic_load_n(&run->phase, __ATOMIC_RELAXED);
        in_phase = (double)(now - m.phase_start) / NS;
        if (interrupted && !stopping) {
            stopping = 1;
            snprintf(s->why, sizeof(s->why), "interrupted");
            s->failed = true;
            if (ph < PB_PH_CLOSE)
                set_phase(run, PB_PH_CLOSE, &m, now);
            continue;
        }
        if (interrupted > 1 && ph != PB_PH_STOP)
            set_phase(run, PB_PH_STOP, &m, now);
        pb_totals_collect(now_t, cores, o->cores, false);
        s->up_max = RTE_MAX(s->up_max, now_t->up);

        switch (ph) {
        case PB_PH_CONNECT:
            if (!__atomic_load_n(&run->broker_mac_ok, __ATOMIC_ACQUIRE)) {
                if (in_phase > ARP_WAIT_S) {
                    snprintf(s->why, sizeof(s->why),
                             "the broker did not answer ARP in %.0f s",
                             ARP_WAIT_S);
                    s->failed = true;
                    set_phase(run, PB_PH_STOP, &m, now);
                }
                break;
            }
            if (m.mac_ok == 0)
                m.mac_ok = now;
            if (now_t->open_done >= run->n_clients ||
                (double)(now - m.mac_ok) / NS > o->connect_timeout_s) {
                m.connect_end = now;
                s->connect_s = (double)(now - m.mac_ok) / NS;
                if (now_t->open_done < run->n_clients) {
                    snprintf(s->why, sizeof(s->why),
                             "%u of %u sessions still opening after %.0f s",
                             run->n_clients - now_t->open_done,
                             run->n_clients, o->connect_timeout_s);
                    s->failed = true;
                }
                set_phase(run, o->scenario == PB_SC_CONNECT ? PB_PH_DRAIN
                                                            : PB_PH_WARMUP,
                          &m, now);
            }
            break;
        case PB_PH_WARMUP:
            if (in_phase >= o->warmup_s) {
                m.measure_start = now;
                set_phase(run, PB_PH_MEASURE, &m, now);
            }
            break;
        case PB_PH_MEASURE:
            if (in_phase >= o->duration_s) {
                m.measure_end = now;
                s->measure_s = (double)(now - m.measure_start) / NS;
                set_phase(run, PB_PH_DRAIN, &m, now);
            }
            break;
        case PB_PH_DRAIN:
            if (o->scenario == PB_SC_CONNECT) {
                if (in_phase >= o->hold_s)
                    set_phase(run, PB_PH_CLOSE, &m, now);
                break;
            }
            pb_run_deliveries(run, &expected, &highest);
            if (highest - now_t->c[PB_C_MSG_GAP] >= expected ||
                in_phase >= o->drain_s)
                set_phase(run, PB_PH_CLOSE, &m, now);
            break;
        case PB_PH_CLOSE:
            /* closes are paced like opens: give a big run its time */
            if ((now_t->up == 0 && now_t->closing == 0) ||
                in_phase >= CLOSE_WAIT_S + run->n_clients / 10000.0)
                set_phase(run, PB_PH_STOP, &m, now);
            break;
        default:
            break;
        }
        /* once a second, and a last time at the end */
        report = ((double)(now - m.last_report) / NS >= 1.0 ||
                  __atomic_load_n(&run->phase, __ATOMIC_RELAXED) ==
                      PB_PH_STOP) &&
                 (!o->quiet || csv != NULL);
        if (report) {
            pb_totals_collect(now_t, cores, o->cores, true);
            double dt = (double)(now - m.last_report) / NS;
            double t = (double)(now - m.start) / NS;

            if (dt > 0)
                pb_report_tick(o->quiet ? NULL : stderr, csv, t,
                               phase_names[ph], now_t, prev_t, dt);
            memcpy(prev_t->c, now_t->c, sizeof(prev_t->c));
            m.last_report = now;
        }
        if (__atomic_load_n(&run->phase, __ATOMIC_RELAXED) == PB_PH_STOP)
            return;
    }
}

/*
 * Unless the EAL options place the lcores, put bench core i on allowed CPU
 * i and the main lcore (which mostly sleeps) after them: the mirror of
 * petreld's own default (its control plane first, its dataplane cores
 * after), so on a small machine the two busy-polling sides do not share a
 * CPU.
 */
static void
place_lcores(struct pt_config *cfg, const struct pt_host *host,
             unsigned cores, int argc, char **argv)
{
    size_t off = 0;

    for (int k = 0; k < argc; k++)
        if (strcmp(argv[k], "-l") == 0 || strcmp(argv[k], "-c") == 0 ||
            strncmp(argv[k], "--lcores", 8) == 0)
            return;
    if (host->n_cpus == 0)
        return;
    off += (size_t)snprintf(cfg->eal_args, sizeof(cfg->eal_args),
                            "--lcores=0@%d",
                            host->cpus[cores % host->n_cpus]);
    for (unsigned i = 1; i <= cores && off < sizeof(cfg->eal_args); i++)
        off += (size_t)snprintf(cfg->eal_args + off,
                                sizeof(cfg->eal_args) - off, ",%u@%d", i,
                                host->cpus[(i - 1) % host->n_cpus]);
}

static int
write_file(const char *path, const struct pb_run *run,
           const struct pb_summary *s)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "petrel-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    pb_report_summary(f, run, s);
    return fclose(f);
}

int
main(int argc, char **argv)
{
    static struct pb_opts o;
    static struct pb_run run;
    static struct pb_core cores[PB_MAX_CORES];
    struct pb_totals now_t = { 0 }, prev_t = { 0 };
    struct pb_summary sum = { 0 };
    struct rte_mempool *pools[PB_MAX_CORES];
    struct pt_config cfg;
    struct pt_host host;
    struct pt_eal_args eal;
    struct pt_port port = { .port_id = RTE_MAX_ETHPORTS };
    FILE *csv = NULL;
    int sep = argc, rc, status = 2;
    unsigned lcore, i = 0;
    uint32_t per_core;

    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0) {
            sep = k;
            break;
        }
    }
    if (sep < argc) {
        argv[sep] = argv[0];
        rc = pb_opts_parse(&o, argc - sep, argv + sep);
    } else {
        rc = pb_opts_parse(&o, argc, argv);
        sep = 1;
    }
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    run.o = &o;
    if (pb_run_layout(&run, &o) != 0)
        return 2;
    per_core = run.n_clients / o.cores + 1;

    pt_config_defaults(&cfg);
    snprintf(cfg.name, sizeof(cfg.name), "bench-%d", (int)getpid());
    snprintf(cfg.port_devargs, sizeof(cfg.port_devargs), "%s", o.port);
    cfg.dp_cores = o.cores;
    cfg.mbufs_per_core = o.mbufs;
    cfg.tcp_max_conns = per_core + 64;
    cfg.tcp_time_wait_max = per_core + 64;
    cfg.mqtt_port = 0;
    pt_host_probe(&host);
    place_lcores(&cfg, &host, o.cores, sep - 1, argv + 1);
    if (pt_eal_args_build(&eal, argv[0], &cfg, &host, sep - 1, argv + 1)) {
        fprintf(stderr, "petrel-bench: too many EAL arguments\n");
        return 2;
    }
    if (rte_eal_init(eal.argc, eal.argv) < 0) {
        fprintf(stderr, "petrel-bench: EAL init failed: %s\n",
                rte_strerror(rte_errno));
        return 2;
    }
    pt_clock_init();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (rte_lcore_count() < o.cores + 1) {
        fprintf(stderr, "petrel-bench: --cores %u needs %u lcores, EAL has "
                "%u\n", o.cores, o.cores + 1, rte_lcore_count());
        goto out;
    }
    RTE_LCORE_FOREACH_WORKER(lcore) {
        char name[RTE_MEMPOOL_NAMESIZE];

        if (i == o.cores)
            break;
        cores[i].lcore_id = lcore;
        snprintf(name, sizeof(name), "pb_pool_%u", i);
        cores[i].pool = rte_pktmbuf_pool_create(
            name, o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
            (int)rte_lcore_to_socket_id(lcore));
        if (cores[i].pool == NULL) {
            fprintf(stderr, "petrel-bench: mempool of %u mbufs: %s\n",
                    o.mbufs, rte_strerror(rte_errno));
            goto out;
        }
        pools[i] = cores[i].pool;
        i++;
    }
    rc = pt_port_start(&port, &cfg, (uint16_t)o.cores, pools);
    if (rc != 0) {
        fprintf(stderr, "petrel-bench: port %s: %s\n", o.port, strerror(-rc));
        goto out;
    }
    run.port_id = port.port_id;
    run.tuple_start = rte_rand();
    run.tx_cksum = port.tx_cksum;
    if (rss_setup(&run, &port, o.cores) != 0)
        goto out;
    for (i = 0; i < o.cores; i++) {
        rc = pb_core_setup(&cores[i], &run, i, cores[i].lcore_id);
        if (rc != 0) {
            fprintf(stderr, "petrel-bench: core %u: %s\n", i,
                    rte_strerror(-rc));
            goto out;
        }
    }
    now_t.lat = pb_hist_new(3600ull * 1000000000ull, 3);
    now_t.conn_lat = pb_hist_new(3600ull * 1000000000ull, 3);
    prev_t.lat = pb_hist_new(3600ull * 1000000000ull, 3);
    prev_t.conn_lat = pb_hist_new(3600ull * 1000000000ull, 3);
    if (!now_t.lat || !now_t.conn_lat || !prev_t.lat || !prev_t.conn_lat)
        goto out;
    if (o.csv_path[0] != '\0') {
        csv = fopen(o.csv_path, "w");
        if (csv == NULL) {
            fprintf(stderr, "petrel-bench: %s: %s\n", o.csv_path,
                    strerror(errno));
            goto out;
        }
        pb_report_csv_header(csv);
    }
    if (!o.quiet)
        fprintf(stderr, "petrel-bench: %s, %u clients (%u publishers, %u "
                "subscribers) on %u core(s), port %s\n",
                pb_scenario_name(o.scenario), run.n_clients, run.n_pubs_total,
                run.n_subs_total, o.cores, port.name);
    for (i = 0; i < o.cores; i++)
        rte_eal_remote_launch(pb_core_main, &cores[i], cores[i].lcore_id);
    drive(&run, cores, &sum, &now_t, &prev_t, csv);
    rte_eal_mp_wait_lcore();

    sum.t = &now_t;
    {
        struct rte_eth_stats es;

        if (rte_eth_stats_get(port.port_id, &es) == 0) {
            sum.port_ipackets = es.ipackets;
            sum.port_opackets = es.opackets;
            sum.port_imissed = es.imissed;
            sum.port_oerrors = es.oerrors;
            sum.port_rx_nombuf = es.rx_nombuf;
        }
    }
    pb_run_verdict(&run, cores, &sum, &now_t);
    pb_report_summary(stdout, &run, &sum);
    if (o.json_path[0] != '\0' && write_file(o.json_path, &run, &sum) != 0)
        sum.failed = true;
    if (o.cdf_path[0] != '\0') {
        FILE *f = fopen(o.cdf_path, "w");

        if (f == NULL || pb_hist_write_cdf(now_t.lat, f) != 0) {
            fprintf(stderr, "petrel-bench: %s: %s\n", o.cdf_path,
                    strerror(errno));
            sum.failed = true;
        }
        if (f != NULL)
            fclose(f);
    }
    if (sum.failed)
        fprintf(stderr, "petrel-bench: FAILED: %s\n", sum.why);
    status = sum.failed ? 1 : 0;

out:
    if (csv != NULL)
        fclose(csv);
    for (i = 0; i < o.cores; i++)
        pb_core_free(&cores[i]);
    /*
     * Let the link go quiet before it goes down. DPDK 22.11's memif server
     * unmaps our shared regions on disconnect while its lcore may be in
     * the middle of a burst over them (a use-after-unmap in the broker,
     * seen twice in ~50 runs while traffic was still flowing); with
     * nothing in flight its bursts are empty and the window is tiny.
     */
    if (port.port_id != RTE_MAX_ETHPORTS)
        rte_delay_us_sleep(QUIET_BEFORE_STOP_US);
    pt_port_stop(&port);
    for (i = 0; i < o.cores; i++)
        rte_mempool_free(cores[i].pool);
    pb_hist_free(now_t.lat);
    pb_hist_free(now_t.conn_lat);
    pb_hist_free(prev_t.lat);
    pb_hist_free(prev_t.conn_lat);
    free(run.clients);
    free(run.groups);
    free(run.next_slots);
    rte_eal_cleanup();
    return status;
}
