/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An in-process broker for tests: N dataplane cores (1..4) wired as
 * pt_dp_launch() wires them, all driven from the test thread, and MQTT
 * clients that speak to them through forged TCP segments.
 *
 * Each core has its own pt_net (the driver is emulated: every frame the
 * core transmits is read by the rig and freed), its own pt_tcp and its
 * pt_mqtt_core; one pt_broker joins them, with its control half attached
 * (pt_broker_ctl_attach) and polled from the same thread. Time is a fake
 * clock that moves only in rig_advance(). TCP delayed ACKs are off, so
 * every client segment is acknowledged at once, and the broker's
 * keep-alive and connect timers see only the fake clock.
 *
 * A client is one TCP connection from the peer (10.99.0.1, a source port
 * of its own) to port 1883 of one core: "which core" is simply which
 * core's net the rig injects its segments into. The rig plays a polite
 * TCP peer: it acknowledges everything the broker sends (in rig_poll),
 * reassembles the byte stream per client so tests read whole MQTT
 * packets back (rig_recv_packet), and answers the broker's FIN with its
 * own. It never retransmits and always advertises a 65535-byte window.
 *
 * What it is not: a TCP model (the rig trusts the stack's order: bytes
 * past a hole are counted in rig_client.gaps, not kept) nor an MQTT
 * client (tests write packets with the rig_pkt_* helpers and check the
 * answers themselves).
 *
 * Tear-down (rig_destroy) is the one petreld does (pt_dp_destroy): every
 * core's pt_tcp_free (connections reset, their `closed` reaches the
 * broker) then pt_mqtt_core_free, the control half, pt_broker_free
 * (rings drained), the nets. It reports what is still held
 * (struct rig_leaks) so a test can assert that nothing leaked.
 *
 * Threading: the calling thread only (lcore 0 of the test EAL); one rig
 * at a time per process (the broker's pools and rings have fixed names).
 */
#ifndef PETREL_BROKER_RIG_H
#define PETREL_BROKER_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <petrel/broker.h>
#include <petrel/config.h>
#include <petrel/tcp.h>

#define RIG_CORES_MAX 4
#define RIG_CLIENTS_MAX 128
#define RIG_PORT 1883
/** Fake clock at creation (ns). */
#define RIG_T0_NS (1000ull * 1000000000ull)

struct rig;

/** One client connection as the rig's peer sees it. */
struct rig_client {
    struct rig *rig;
    unsigned core;          /* the core whose net it talks to */
    uint16_t port;          /* its source port (unique in the rig) */
    uint32_t snd_nxt;       /* its next sequence number */
    uint32_t rcv_nxt;       /* next byte expected from the broker */
    uint32_t acked;         /* highest ACK the broker sent it */
    bool established;       /* SYN-ACK seen */
    bool ack_due;           /* the broker sent something unacknowledged */
    bool fin_rcvd;          /* the broker closed (FIN) */
    bool rst_rcvd;          /* the broker reset it */
    bool fin_sent;          /* this side sent FIN */
    bool rst_sent;          /* this side sent RST */
    bool frozen;            /* not reading: see rig_client_freeze */
    uint32_t frozen_ack;    /* what its segments acknowledge meanwhile */
    unsigned gaps;          /* broker segments past a hole (never kept) */
    uint8_t *rx;            /* bytes received from the broker */
    size_t rx_len, rx_cap;
    size_t rx_off;          /* consumed by rig_recv_packet */
};

/** What rig_destroy found still in use. */
struct rig_leaks {
    unsigned mbufs;         /* test pool mbufs in use after tear-down */
    unsigned sessions;      /* session objects in use once the cores
                             * were freed, before the broker's pools */
    unsigned qents;         /* queue entries in use, likewise */
    uint64_t queued;        /* messages queued or in flight, all cores,
                             * once every connection was gone */
};

/** Settings the rig uses unless a test changes them: pt_config_defaults()
 * with pools cut to fit the test EAL, delayed ACKs off, $SYS off. */
void rig_config_defaults(struct pt_config *cfg);

/**
 * Build the broker with n_cores cores (1..RIG_CORES_MAX) and cfg (NULL:
 * rig_config_defaults; copied). Uses the test pool (pt_test_pool()) for
 * every core and the control plane.
 * @return the rig, or NULL (with a message on stderr).
 */
struct rig *rig_create(unsigned n_cores, const struct pt_config *cfg);

/** Tear down as petreld does and report what is still held (leaks may be
 * NULL). Frees every client. */
void rig_destroy(struct rig *rig, struct rig_leaks *leaks);

/** One round: every core's pt_mqtt_core_poll + pt_tcp_tick +
 * pt_net_flush, then pt_broker_ctl_poll, then the clients' ACKs (and FINs
 * answering the broker's). @return descriptors handled + segments sent. */
unsigned rig_step(struct rig *rig);

/** Rounds until nothing happens for three rounds in a row (route-table
 * grace periods need a round without descriptors). @return rounds run. */
unsigned rig_poll(struct rig *rig);

/** One core only: pt_mqtt_core_poll + pt_tcp_tick + pt_net_flush (no
 * control plane, no ACKs). @return descriptors handled. */
unsigned rig_poll_core(struct rig *rig, unsigned core);

/** The control plane only. @return descriptors handled. */
unsigned rig_poll_ctl(struct rig *rig);

/** Move the fake clock by ms, then rig_poll. */
void rig_advance(struct rig *rig, uint64_t ms);

/** The fake clock (ns). */
uint64_t rig_now(const struct rig *rig);

struct pt_broker *rig_broker(struct rig *rig);
struct pt_mqtt_core *rig_core(struct rig *rig, unsigned core);
struct pt_tcp *rig_tcp(struct rig *rig, unsigned core);
const struct pt_mqtt_stats *rig_stats(struct rig *rig, unsigned core);
/** A counter summed over every core. */
uint64_t rig_count(struct rig *rig, enum pt_mqtt_counter c);

/**
 * Open a TCP connection to port 1883 of core: SYN, SYN-ACK, ACK (the
 * broker accepts it). @return the client (the rig's), or NULL (no
 * SYN-ACK, or RIG_CLIENTS_MAX reached).
 */
struct rig_client *rig_client_open(struct rig *rig, unsigned core);

/** Send len bytes as data segments (at most 1400 bytes each) into the
 * client's core, then flush that core's net (the broker's direct answers
 * go out; nothing else is polled). A client that sent FIN or RST sends
 * nothing. */
void rig_send(struct rig_client *c, const void *bytes, size_t len);

/** The client stops reading (frozen) or reads again: while frozen its
 * segments keep acknowledging only what it had received when frozen, and
 * the rig sends no ACK for it, so the broker's send queue fills (bytes
 * still arrive and are kept). */
void rig_client_freeze(struct rig_client *c, bool frozen);

/** Send FIN (the client closes its side; no DISCONNECT implied). */
void rig_client_close(struct rig_client *c);

/** Send RST (abnormal end). */
void rig_client_reset(struct rig_client *c);

/**
 * The next complete MQTT packet the broker sent c, copied into buf
 * (at most cap bytes; a longer packet is consumed and cut).
 * @return its full length, or 0 if no complete packet is waiting.
 */
size_t rig_recv_packet(struct rig_client *c, uint8_t *buf, size_t cap);

/** Bytes received and not yet consumed by rig_recv_packet. */
size_t rig_pending(const struct rig_client *c);

/* ---- MQTT packets as a client writes them (each returns its length) ---- */

/** CONNECT options; will_topic NULL = no will. */
struct rig_connect {
    const char *client_id;
    bool clean;
    uint16_t keepalive;
    const char *will_topic;
    const void *will_msg;
    uint16_t will_len;
    uint8_t will_qos;
    bool will_retain;
    const char *username;   /* NULL = none */
    const char *password;   /* NULL = none */
};

size_t rig_pkt_connect(uint8_t *buf, const struct rig_connect *c);
/** SUBSCRIBE of one filter. */
size_t rig_pkt_subscribe(uint8_t *buf, uint16_t pid, const char *filter,
                         uint8_t qos);
size_t rig_pkt_unsubscribe(uint8_t *buf, uint16_t pid, const char *filter);
/** PUBLISH (pid ignored at QoS 0). */
size_t rig_pkt_publish(uint8_t *buf, const char *topic, const void *payload,
                       size_t plen, uint8_t qos, bool retain, bool dup,
                       uint16_t pid);
/** PUBACK/PUBREC/PUBCOMP (flags 0) or PUBREL (flags 2) with pid. */
size_t rig_pkt_ack(uint8_t *buf, uint8_t type, uint16_t pid);
size_t rig_pkt_pingreq(uint8_t *buf);
size_t rig_pkt_disconnect(uint8_t *buf);

/** A received PUBLISH taken apart (pointers into the packet). */
struct rig_publish {
    uint8_t qos;
    bool retain, dup;
    uint16_t pid;
    const char *topic;
    uint16_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
};

/** Decode a PUBLISH packet as rig_recv_packet returned it.
 * @return 0, or -1 when it is not a well-formed PUBLISH. */
int rig_parse_publish(const uint8_t *pkt, size_t len, struct rig_publish *p);

#endif /* PETREL_BROKER_RIG_H */
