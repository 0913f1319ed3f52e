/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT 3.1.1 broker: connection actors on the dataplane cores, the
 * rings between cores, and the control plane's half (login, client-id
 * registry, route table writer, retained store, $SYS).
 *
 * Pieces (docs/architecture.md has the picture):
 *   - struct pt_broker: node-wide, created by petreld before the cores
 *     start: the ring mesh (one single-producer single-consumer ring for
 *     every ordered pair of dataplane cores, and one each way between
 *     every core and the control plane), the global route table
 *     (mqtt_route.h, RCU) and the node-wide session and queue-entry pools.
 *   - struct pt_mqtt_core: one per dataplane core: its listener on
 *     mqtt.port, its connection actors, its subscription trie, its timer
 *     wheel (keep-alive), its counters. pt_mqtt_core_poll() runs once per
 *     poll loop: it drains the rings addressed to the core and runs the
 *     keep-alive timers.
 *   - the control half, pt_broker_ctl_poll(), runs on the control-plane
 *     thread (every millisecond while the broker runs): it answers logins,
 *     resolves client-id conflicts (takeover), applies route changes and
 *     acknowledges them once every core sees them, keeps retained
 *     messages and publishes $SYS.
 *
 * Threading: pt_broker_create/free and pt_mqtt_core_create/free run on
 * the main lcore while the cores are stopped. pt_mqtt_core_poll/idle run
 * on the core's own lcore only. pt_broker_ctl_poll runs on one thread (the
 * control plane). pt_mqtt_core_stats() and pt_broker_ctl_stats() may be
 * read by any thread (relaxed; each counter exact, the set not a
 * snapshot).
 */
#ifndef PETREL_BROKER_H
#define PETREL_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include <petrel/config.h>
#include <petrel/mqtt.h>

struct pt_tcp;
struct pt_broker;
struct pt_mqtt_core;

/*
 * Protocol violations found above the codec (the codec's own are
 * PT_MQTT_ERRORS); each closes that connection only and is counted.
 */
#define PT_MQTT_VIOLATIONS(X)                                                 \
    X(FIRST_NOT_CONNECT, "mqtt_first_packet_not_connect", "first packet of a connection not CONNECT (MQTT-3.1.0-1)") \
    X(SECOND_CONNECT, "mqtt_second_connect", "a second CONNECT on a connection (MQTT-3.1.0-2)") \
    X(CLIENT_ID_LONG, "mqtt_client_id_too_long", "client id longer than the broker keeps (CONNACK 0x02)") \
    X(QOS2_WINDOW, "mqtt_qos2_window_full", "more unreleased QoS 2 packet ids than mqtt.max_inflight x 4") \
    X(CONNECT_TIMEOUT, "mqtt_connect_timeout", "no CONNECT within 10 s of the TCP handshake") \
    X(TOPIC_LONG, "mqtt_topic_too_long", "PUBLISH or will topic longer than a message's head segment keeps (about 2000 bytes)")

enum pt_mqtt_violation {
#define PT_X(id, name, help) PT_MQTT_V_##id,
    PT_MQTT_VIOLATIONS(PT_X)
#undef PT_X
    PT_MQTT_V_MAX
};

/* Event counters of a core (ID, stats name, meaning). */
#define PT_MQTT_COUNTERS(X)                                                   \
    X(CONNECTS, "mqtt_connects", "CONNECT packets accepted by the codec")      \
    X(CONNACK_OK, "mqtt_connack_accepted", "CONNACK 0x00 sent")               \
    X(CONNACK_REFUSED, "mqtt_connack_refused", "CONNACK with a refusal code sent") \
    X(TAKEOVERS, "mqtt_takeovers", "connections closed because their client id connected again") \
    X(PUB_RX, "mqtt_publish_received", "PUBLISH packets received from clients") \
    X(PUB_TX, "mqtt_publish_sent", "PUBLISH packets sent to clients (resends included)") \
    X(PUB_RESENT, "mqtt_publish_resent", "PUBLISH resent with DUP on a session's reconnect") \
    X(PUB_NO_SUB, "mqtt_publish_unrouted", "PUBLISH that matched no subscriber anywhere") \
    X(QOS2_DUP, "mqtt_qos2_duplicates", "QoS 2 PUBLISH with an unreleased packet id: not routed again") \
    X(SUBSCRIBES, "mqtt_subscribes", "SUBSCRIBE filters accepted")            \
    X(SUB_REFUSED, "mqtt_subscribe_refused", "SUBSCRIBE filters answered 0x80") \
    X(UNSUBSCRIBES, "mqtt_unsubscribes", "UNSUBSCRIBE filters removed")       \
    X(PINGS, "mqtt_pings", "PINGREQ answered")                                \
    X(DISCONNECTS, "mqtt_disconnects", "DISCONNECT received (will discarded)") \
    X(WILLS, "mqtt_wills_published", "wills published (abnormal close, keep-alive expiry, takeover)") \
    X(KEEPALIVE, "mqtt_keepalive_timeouts", "connections closed after 1.5 x keep-alive without a packet") \
    X(QUEUE_DROP, "mqtt_queue_dropped", "QoS 1/2 messages not queued for a session: mqtt.max_queued(_bytes) or entry pool") \
    X(QOS0_DROP, "mqtt_qos0_dropped", "QoS 0 messages not sent: subscriber's send queue full or offline") \
    X(SLOW_CLOSED, "mqtt_slow_reader_closed", "connections closed: 65535 buffers of answers waiting for a client that does not read") \
    X(RING_FULL, "mqtt_ring_full", "descriptors not sent: ring to another core or the control plane full") \
    X(NO_MBUF, "mqtt_no_mbuf", "packets not built or received: mempool empty") \
    X(SESSION_FULL, "mqtt_session_pool_full", "CONNECT refused (CONNACK 0x03): session pool empty") \
    X(RESUMED, "mqtt_sessions_resumed", "persistent sessions resumed (session present 1)") \
    X(MOVED_IN, "mqtt_sessions_moved_in", "sessions handed over from another core") \
    X(ACL_PUB_DENIED, "mqtt_acl_publish_denied", "PUBLISH dropped: the ACL denies the topic to its client (acknowledged all the same)") \
    X(ACL_SUB_DENIED, "mqtt_acl_subscribe_denied", "SUBSCRIBE filters answered 0x80: the ACL denies them") \
    X(ACL_WILL_DENIED, "mqtt_acl_will_denied", "wills not published: the ACL denies the topic to its client") \
    X(ACL_REVOKED, "mqtt_acl_revoked", "subscriptions dropped because a reloaded ACL refuses them") \
    X(RULE_SCANNED, "mqtt_rules_scanned", "PUBLISH scanned against the content rules") \
    X(RULE_DROPPED, "mqtt_rules_dropped", "PUBLISH not routed: a content rule says drop (acknowledged all the same)") \
    X(RULE_DISCONNECTED, "mqtt_rules_disconnected", "connections closed: a PUBLISH matched a disconnect rule (not routed)") \
    X(RULE_ERRORS, "mqtt_rules_errors", "scans Hyperscan failed (the message passed)") \
    X(KICKED, "mqtt_kicked", "connections closed by the operator (`clients kick`; will published)") \
    X(SHUTDOWN_CLOSED, "mqtt_shutdown_closed", "connections closed by a graceful shutdown (will published)") \
    X(SHUTDOWN_REFUSED, "mqtt_shutdown_refused", "connections refused while shutting down (RST)") \
    X(RX_BYTES, "mqtt_rx_bytes", "MQTT bytes received")                       \
    X(TX_BYTES, "mqtt_tx_bytes", "MQTT bytes queued for sending")

enum pt_mqtt_counter {
#define PT_X(id, name, help) PT_MQTT_C_##id,
    PT_MQTT_COUNTERS(PT_X)
#undef PT_X
    PT_MQTT_C_MAX
};

/** A core's counters and gauges (written by its lcore, read by any). */
struct pt_mqtt_stats {
    uint64_t c[PT_MQTT_C_MAX];
    uint64_t errors[PT_MQTT_E_MAX];       /**< codec violations, by reason */
    uint64_t violations[PT_MQTT_V_MAX];   /**< session violations */
    uint64_t connections;     /**< MQTT connection actors alive */
    uint64_t connected;       /**< ... of which past CONNACK 0x00 */
    uint64_t sessions;        /**< sessions on this core, offline included */
    uint64_t subscriptions;   /**< entries in the core's trie */
    uint64_t queued;          /**< messages queued or in flight, all sessions */
    uint64_t conn_bytes;      /**< bytes per connection actor */
    uint64_t session_bytes;   /**< bytes per session */
    uint64_t sub_bytes;       /**< trie bytes in use per subscription */
    uint64_t ring_backlog;    /**< descriptors waiting in the rings into
                               *   this core (filled by pt_dp_core_info) */
};

/**
 * Control plane's counters (C) and gauges (G): field, name in `stats` and
 * metrics, kind, help. Everything that lists them (stats, metrics,
 * telemetry) walks this table, so a new row shows up everywhere.
 */
#define PT_BROKER_CTL_STATS(X)                                                \
    X(logins, "logins", C, "login requests answered")                        \
    X(refused, "logins_refused", C, "logins refused, every reason")          \
    X(auth_ok, "auth_ok", C, "logins whose user name and password matched the password file") \
    X(auth_bad_password, "auth_bad_password", C, "logins refused: wrong password (CONNACK 0x04)") \
    X(auth_unknown_user, "auth_unknown_user", C, "logins refused: user name not in the password file (CONNACK 0x04)") \
    X(auth_no_credentials, "auth_no_credentials", C, "logins refused: no user name (or none checkable) while anonymous access is off (CONNACK 0x05)") \
    X(auth_throttled, "auth_throttled", C, "logins refused unchecked: source address or user name blocked after repeated failures (CONNACK 0x05)") \
    X(auth_users_full, "auth_users_full", C, "logins refused: auth.max_users distinct user names known (CONNACK 0x03)") \
    X(takeovers, "client_ids_taken_over", C, "client ids taken over by a new connection") \
    X(clients, "client_ids", G, "client ids registered (online and offline)") \
    X(users, "users", G, "distinct user names known (interned)")              \
    X(passwd_users, "password_file_users", G, "users in the password file in force") \
    X(acl_rules, "acl_rules", G, "topic and pattern entries of the ACL in force (0: no ACL)") \
    X(reloads, "auth_reloads", C, "password and ACL files (re)loaded")        \
    X(rules, "rules", G, "content rules in force")                            \
    X(rules_reloads, "rules_reloads", C, "content rules files (re)loaded")     \
    X(rules_reload_errors, "rules_reload_errors", C, "rules reloads rejected: the rules in force stay") \
    X(reload_errors, "auth_reload_errors", C, "reloads rejected: the old files stay in force") \
    X(kicks, "clients_kicked", C, "connections closed by `clients kick`")    \
    X(retained, "retained", G, "retained messages stored")                   \
    X(retained_dropped, "retained_dropped", C, "messages not retained: mqtt.max_retained reached") \
    X(route_syncs, "route_syncs", C, "subscribe/connect syncs acknowledged")  \
    X(routes, "routes", G, "(filter, core) routes")                           \
    X(routes_refused, "routes_refused", C, "route adds refused: table full (the SUBACK said 0x80)") \
    X(route_bytes, "route_bytes", G, "route-table bytes in use (both copies)") \
    X(sys_published, "sys_published", C, "$SYS messages published")          \
    X(ring_full, "control_ring_full", C, "replies delayed: ring to a core full")

struct pt_broker_ctl_stats {
#define PT_X(field, name, kind, help) uint64_t field;
    PT_BROKER_CTL_STATS(PT_X)
#undef PT_X
};

/**
 * Create the node-wide broker for n_cores dataplane cores with the
 * mqtt.* settings of cfg. msg_pool is the mempool the control plane takes
 * mbufs from ($SYS messages, replies). Allocates the rings, route table
 * and pools on socket_id.
 * @return the broker, or NULL with rte_errno = EINVAL or ENOMEM.
 */
struct pt_broker *pt_broker_create(const struct pt_config *cfg,
                                   unsigned n_cores,
                                   struct rte_mempool *msg_pool,
                                   int socket_id);

/** Free the broker; every core must be freed first. Messages still in
 * rings are freed. */
void pt_broker_free(struct pt_broker *b);

/** Bytes pt_broker_create and the n pt_mqtt_core_create calls allocate
 * with cfg (for sizing EAL memory). */
uint64_t pt_broker_memory(const struct pt_config *cfg, unsigned n_cores);

/**
 * Create core `core`'s MQTT side: listen on mqtt.port on tcp, register as
 * a route-table reader. Allocates the core's connection pool, trie and
 * wheel on the core's socket.
 * @return the core, or NULL with rte_errno set.
 */
struct pt_mqtt_core *pt_mqtt_core_create(struct pt_broker *b, unsigned core,
                                         struct pt_tcp *tcp,
                                         struct rte_mempool *pool,
                                         uint64_t now_ns, int socket_id);

/** Close every connection (sessions are dropped) and free the core. Runs
 * where the core ran or on the main lcore after the core stopped. */
void pt_mqtt_core_free(struct pt_mqtt_core *mc);

/**
 * Once per poll loop on the core's lcore: drain the rings addressed to
 * this core (deliveries, login answers, takeovers, route acks), run due
 * keep-alive timers, report an RCU quiescent state.
 * Cost: O(descriptors drained + timers due); no allocation beyond mbufs.
 * @return descriptors handled (0: nothing to do).
 */
unsigned pt_mqtt_core_poll(struct pt_mqtt_core *mc, uint64_t now_ns);

/** The core is about to nap (sleeping = true) or woke up: it goes
 * offline / online as a route-table reader so it never holds up a grace
 * period while asleep. */
void pt_mqtt_core_idle(struct pt_mqtt_core *mc, bool sleeping);

/** Whether a descriptor is waiting for the core (cheap; the idle policy
 * checks it before napping). */
bool pt_mqtt_core_pending(const struct pt_mqtt_core *mc);

/** Counters (any thread; relaxed). */
const struct pt_mqtt_stats *pt_mqtt_core_stats(const struct pt_mqtt_core *mc);

/** Descriptors waiting in the rings into this core (any thread). */
uint64_t pt_mqtt_core_ring_backlog(const struct pt_mqtt_core *mc);

/**
 * Create the control plane's half of the broker (control/broker_ctl.c):
 * client-id registry, retained store, route-table writer, $SYS.
 * @return 0 or -ENOMEM.
 */
int pt_broker_ctl_attach(struct pt_broker *b);

/** Free the control half (before pt_broker_free). */
void pt_broker_ctl_detach(struct pt_broker *b);

/**
 * The control plane's half: answer what cores sent (logins, takeovers,
 * route changes, retained messages), advance the route table's grace
 * periods, publish $SYS when due. Control-plane thread only; never
 * blocks.
 * @return descriptors handled.
 */
unsigned pt_broker_ctl_poll(struct pt_broker *b, uint64_t now_ns);

/** Control plane's counters (any thread). */
void pt_broker_ctl_stats(const struct pt_broker *b,
                         struct pt_broker_ctl_stats *out);

/* ---- what the operator reaches (control/broker_auth.c, broker_admin.c;
 * control-plane thread only) ---- */

/**
 * (Re)load the password file (auth.password_file; empty: user names are
 * not checked) and the ACL file (auth.acl_file; empty: no ACL) named in
 * the broker's settings. Either file failing to load rejects that part
 * and keeps what was in force; the ACL is published to the cores by RCU
 * (no core waits; sessions stay). err gets "file:line: reason".
 * @return 0, or the first error (negative errno).
 */
int pt_broker_ctl_load_passwd(struct pt_broker *b, char *err, size_t errlen);
int pt_broker_ctl_load_acl(struct pt_broker *b, char *err, size_t errlen);

/**
 * (Re)load the content rules (rules.file; empty: none): compiled here,
 * published to the cores by RCU with a Hyperscan scratch per core; a file
 * that does not compile keeps the rules in force (err: "file:line: ...").
 * @return 0 or a negative errno.
 */
int pt_broker_ctl_load_rules(struct pt_broker *b, char *err, size_t errlen);

struct pt_rule_info;
/** Call fn for each rule in force with its matches since start (rules of
 * earlier files with the same id included), in file order. */
void pt_broker_ctl_rules(struct pt_broker *b,
                         void (*fn)(void *arg, const struct pt_rule_info *r,
                                    uint64_t matches),
                         void *arg);

/** One registry entry, as `clients list` and `sessions` show it. */
struct pt_broker_client {
    const char *cid;
    uint16_t cid_len;
    const char *state;       /**< "online", "offline", "moving" */
    unsigned core;
    const char *user;        /**< NULL: anonymous */
    uint16_t user_len;
    uint32_t ip;             /**< network order; 0 unknown */
    uint16_t port;
    bool clean;
    double online_s;         /**< since the login was granted */
};

/**
 * Call fn for registry entries whose client id contains `match` (NULL or
 * "": all), online ones only if online_only; stop after limit calls.
 * @return the number of entries that matched (may exceed limit).
 */
size_t pt_broker_ctl_clients(struct pt_broker *b, const char *match,
                             bool online_only, size_t limit,
                             void (*fn)(void *arg,
                                        const struct pt_broker_client *c),
                             void *arg);

/** Call fn for each route filter (containing match, if given) with its
 * core mask; stop after limit calls. @return filters matched. */
size_t pt_broker_ctl_routes(struct pt_broker *b, const char *match,
                            size_t limit,
                            void (*fn)(void *arg, const char *filter,
                                       size_t len, uint64_t cores),
                            void *arg);

/** A deferred operator request answered by a core: err 0 and JSON text,
 * or a positive errno (text may be NULL). */
typedef void (*pt_broker_answer_fn)(void *arg, uint64_t ticket, int err,
                                    const char *text, size_t len);
void pt_broker_ctl_on_answer(struct pt_broker *b, pt_broker_answer_fn fn,
                             void *arg);

/** Operator queries a core answers (PT_QUERY_* in dataplane/mqtt_priv.h) */
enum pt_broker_query { PT_BROKER_SHOW = 1, PT_BROKER_KICK = 2,
                       PT_BROKER_SUBS = 3 };

/**
 * Ask the core holding client id cid (show: its connection and session;
 * kick: close its connection, will published). The answer comes through
 * the pt_broker_ctl_on_answer() callback with ticket.
 * @return 0 (asked), -ENOENT (no such client id), -ENOTCONN (kick of an
 *         offline session), -EBUSY (it is moving between cores), -ENOBUFS.
 */
int pt_broker_ctl_query(struct pt_broker *b, const char *cid, size_t len,
                        enum pt_broker_query q, uint64_t ticket);

/* Phases of the graceful stop (dataplane/mqtt_admin.c has the details) */
#define PT_SHUTDOWN_WILLS  1   /* refuse new connections; publish every will */
#define PT_SHUTDOWN_CLOSE  2   /* deliver what is in the rings, then close
                                * every connection (FIN after its output) */

/**
 * Graceful stop, phase by phase (PT_SHUTDOWN_WILLS = 1, then
 * PT_SHUTDOWN_CLOSE = 2): ask every core; pt_broker_ctl_shutdown_done()
 * says whether all of them acknowledged the phase.
 * @return the number of cores asked.
 */
unsigned pt_broker_ctl_shutdown(struct pt_broker *b, unsigned phase);
bool pt_broker_ctl_shutdown_done(const struct pt_broker *b, unsigned phase);

/** The fullest inter-core ring: fill in percent, and its ends (n = the
 * control plane). Any thread (a relaxed view). */
unsigned pt_broker_ring_fill(const struct pt_broker *b, unsigned *from,
                             unsigned *to);

/** Register core stats for the $SYS and stats readers (the control plane
 * sums them). */
void pt_broker_set_core(struct pt_broker *b, unsigned core,
                        const struct pt_mqtt_core *mc);

/** Names and meanings for stats output. */
const char *pt_mqtt_counter_name(enum pt_mqtt_counter c);
const char *pt_mqtt_violation_name(enum pt_mqtt_violation v);

#endif /* PETREL_BROKER_H */
