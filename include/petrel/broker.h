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
};

/** Control plane's counters. */
struct pt_broker_ctl_stats {
    uint64_t logins;          /**< login requests answered */
    uint64_t refused;         /**< ... refused (bad credentials, ...) */
    uint64_t takeovers;       /**< client ids taken over */
    uint64_t clients;         /**< client ids registered (online+offline) */
    uint64_t retained;        /**< retained messages stored */
    uint64_t retained_dropped;/**< not retained: mqtt.max_retained reached */
    uint64_t route_syncs;     /**< subscribe/connect syncs acknowledged */
    uint64_t routes;          /**< (filter, core) routes */
    uint64_t routes_refused;  /**< route adds refused: table full (the
                               *   SUBACK said 0x80) */
    uint64_t route_bytes;     /**< route-table bytes in use (both copies) */
    uint64_t sys_published;   /**< $SYS messages published */
    uint64_t ring_full;       /**< replies delayed: ring to a core full */
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

/** Register core stats for the $SYS and stats readers (the control plane
 * sums them). */
void pt_broker_set_core(struct pt_broker *b, unsigned core,
                        const struct pt_mqtt_core *mc);

/** Names and meanings for stats output. */
const char *pt_mqtt_counter_name(enum pt_mqtt_counter c);
const char *pt_mqtt_violation_name(enum pt_mqtt_violation v);

#endif /* PETREL_BROKER_H */
