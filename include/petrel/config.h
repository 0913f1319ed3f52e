/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel configuration: the typed settings struct, and the table-driven
 * parser that fills it from a file and from `--set key=value` overrides.
 *
 * The file format is one `key = value` per line; `#` starts a comment; blank
 * lines are ignored; values are taken verbatim after trimming (no quoting).
 * Unknown keys, malformed values and out-of-range numbers are errors that
 * name the file, the line and the key. Every key, its default, range and
 * whether it can change at run time is listed by pt_config_describe() and
 * documented in docs/configuration.md (the two are kept in step by a test).
 *
 * Threading: parsing happens once on the main thread before rte_eal_init();
 * afterwards the struct is read-only and may be read from any lcore.
 * Ownership: the caller owns struct pt_config; the parser never allocates
 * memory that outlives a call.
 */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PT_NAME_MAX 32
#define PT_DEVARGS_MAX 256
#define PT_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define PT_EAL_ARGS_MAX 512
#define PT_FILE_MAX 256 /* config paths of data files */

/** How a dataplane lcore behaves when its queues are empty. */
enum pt_idle_mode {
    PT_IDLE_AUTO = 0,  /**< adaptive below 4 CPUs, busy otherwise */
    PT_IDLE_BUSY,      /**< spin: lowest latency, one full CPU per core */
    PT_IDLE_ADAPTIVE,  /**< spin briefly, then nap with growing sleeps */
};

/** Every setting petreld has. Addresses are in network byte order. */
struct pt_config {
    char name[PT_NAME_MAX];          /**< instance name: locks, prefix, socket */
    char port_devargs[PT_DEVARGS_MAX]; /**< vdev spec or PCI address */
    uint16_t rx_desc;
    uint16_t tx_desc;
    uint32_t ip;                     /**< our IPv4 address */
    uint8_t prefix_len;              /**< our subnet's prefix length */
    uint32_t gateway;                /**< 0 = none */
    uint32_t tap_host_ip;            /**< kernel side of a tap port; 0 = leave alone */
    uint8_t tap_host_prefix_len;
    uint32_t dp_cores;               /**< dataplane lcores (= queues per port) */
    enum pt_idle_mode idle;
    uint32_t idle_max_sleep_us;
    uint32_t burst;
    uint32_t mbufs_per_core;
    uint32_t arp_entries;
    uint32_t arp_timeout_s;
    char ctl_socket[PT_PATH_MAX];    /**< empty = /run/petrel/<name>.sock */
    char log_level[16];
    char eal_args[PT_EAL_ARGS_MAX];  /**< extra EAL arguments */

    /* TCP-lite (per dataplane core unless said otherwise) */
    uint16_t tcp_echo_port;          /**< diagnostic echo listener; 0 = off */
    uint16_t tcp_mss;                /**< MSS we announce and send at most */
    uint32_t tcp_max_conns;          /**< connection pool per core */
    uint32_t tcp_syn_backlog;        /**< half-open connections per core */
    bool tcp_syncookies;             /**< answer with cookies when it is full */
    uint32_t tcp_rcv_buf;            /**< receive budget (window) per conn */
    uint32_t tcp_snd_buf;            /**< send queue budget per conn */
    uint32_t tcp_delayed_ack_ms;     /**< 0 = acknowledge every segment */
    uint32_t tcp_rto_initial_ms;
    uint32_t tcp_rto_min_ms;
    uint32_t tcp_rto_max_ms;
    uint32_t tcp_max_retries;        /**< retransmissions before abort */
    uint32_t tcp_synack_retries;
    uint32_t tcp_time_wait_ms;
    uint32_t tcp_time_wait_max;      /**< compact TIME_WAIT entries per core */
    uint32_t tcp_reply_limit;        /**< RSTs + challenge ACKs per s per core */
    uint32_t tcp_ooo_segments;       /**< out-of-order queue per conn; 0 = off */

    /* fault injection under the stack (tests only; all zero = off) */
    uint32_t fault_seed;
    uint32_t fault_rx_drop_ppm;
    uint32_t fault_rx_dup_ppm;
    uint32_t fault_rx_reorder_ppm;
    uint32_t fault_rx_delay_us;
    uint32_t fault_tx_drop_ppm;
    uint32_t fault_tx_dup_ppm;
    uint32_t fault_tx_reorder_ppm;
    uint32_t fault_tx_delay_us;

    /* MQTT broker (dataplane/mqtt_*.c, control/broker.c) */
    uint16_t mqtt_port;              /**< MQTT listener; 0 = off */
    uint32_t mqtt_max_packet;        /**< largest packet accepted, bytes */
    uint32_t mqtt_max_sessions;      /**< sessions per core (online + offline) */
    uint32_t mqtt_max_subscriptions; /**< subscriptions per core */
    uint32_t mqtt_max_inflight;      /**< unacknowledged QoS 1/2 per session */
    uint32_t mqtt_max_queued;        /**< queued messages per session */
    uint32_t mqtt_max_queued_bytes;  /**< queued payload bytes per session */
    uint32_t mqtt_queue_entries;     /**< queue entries per core (all sessions) */
    uint32_t mqtt_max_routes;        /**< (filter, core) routes, whole broker */
    uint32_t mqtt_max_retained;      /**< retained messages, whole broker */
    uint32_t mqtt_ring_size;         /**< descriptors per inter-core ring */
    uint32_t mqtt_sys_interval_s;    /**< $SYS period; 0 = off */
    bool mqtt_allow_anonymous;       /**< CONNECT without user name accepted */
    uint32_t mqtt_shutdown_grace_ms; /**< graceful stop: wait for wills, output */

    /* login and access (control/auth_*.c, control/acl_*.c) */
    char auth_password_file[PT_FILE_MAX]; /**< empty = no password check */
    char auth_acl_file[PT_FILE_MAX];      /**< empty = every topic allowed */
    uint32_t auth_fail_limit;        /**< failures before a source/user is blocked */
    uint32_t auth_fail_block_ms;     /**< first block; doubles per failure */
    uint32_t auth_fail_block_max_ms; /**< longest block */
    uint32_t auth_throttle_entries;  /**< sources and users tracked, each */
    uint32_t auth_max_users;         /**< distinct user names known at once */

    /* content rules (control/rules_load.c, dataplane/rules.c) */
    char rules_file[PT_FILE_MAX];    /**< empty = no rules */

    /* health watchdog (control/health.c) */
    uint32_t health_stall_ms;        /**< heartbeat silence that marks a core stalled */
    uint32_t health_pool_warn_pct;   /**< pool use that makes health fail */
    uint32_t health_ring_warn_pct;   /**< ring fill that makes health fail */
    bool debug_hooks;                /**< test-only control commands (debug ...) */

    /* metrics (control/metrics.c) */
    uint32_t metrics_address;        /**< Prometheus listener address */
    uint16_t metrics_port;           /**< 0 = no HTTP listener */
    bool metrics_telemetry;          /**< register with DPDK telemetry */
};

/** Fill cfg with every key's default. */
void pt_config_defaults(struct pt_config *cfg);

/**
 * Parse a config file into cfg (on top of what cfg already holds).
 * @param cfg   settings to update
 * @param path  file to read
 * @param err   receives "file:line: key: reason" on failure
 * @param errlen size of err
 * @return 0, -ENOENT/-EACCES (cannot open), or -EINVAL (bad line; see err)
 */
int pt_config_load(struct pt_config *cfg, const char *path,
                   char *err, size_t errlen);

/**
 * Set one key from a string, as a file line would.
 * @param origin name used in error messages ("<command line>", a file name)
 * @param line   line number for error messages (0 = none)
 * @return 0, or -EINVAL (unknown key, bad value; see err)
 */
int pt_config_set(struct pt_config *cfg, const char *key, const char *value,
                  const char *origin, unsigned line, char *err, size_t errlen);

/**
 * Check cross-key constraints (e.g. the tap host address in our subnet).
 * @return 0 or -EINVAL with err filled.
 */
int pt_config_validate(const struct pt_config *cfg, char *err, size_t errlen);

/**
 * Format one key's current value into buf.
 * @return 0, or -ENOENT for an unknown key.
 */
int pt_config_get(const struct pt_config *cfg, const char *key,
                  char *buf, size_t buflen);

/** Upper bound on the number of keys (checked at compile time), so callers
 * can size a pt_config_key_info array without allocating. */
#define PT_CONFIG_KEYS_MAX 256

/** One entry of the key table, as reported by pt_config_describe(). */
struct pt_config_key_info {
    const char *key;
    const char *default_value;
    const char *range;   /**< human text: "1-65535", "busy|adaptive|auto" */
    bool runtime;        /**< can change while running */
    const char *help;
};

/**
 * Walk the key table.
 * @return the number of keys; with info != NULL, info[i] filled for i < max.
 */
size_t pt_config_describe(struct pt_config_key_info *info, size_t max);

/** The control socket path: cfg->ctl_socket, or the per-name default. */
void pt_config_ctl_path(const struct pt_config *cfg, char *buf, size_t len);

/** Map a log.level value to its RTE_LOG_* level; -1 if unknown. */
int pt_log_level_parse(const char *s);

/** Name of an idle mode ("auto", "busy", "adaptive"). */
const char *pt_idle_mode_name(enum pt_idle_mode m);

#define PT_RUN_DIR "/run/petrel"

#endif /* PETREL_CONFIG_H */
