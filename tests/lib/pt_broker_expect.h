/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Broker unit-test helpers (tests/lib/pt_broker_expect.c): open and close
 * the rig (checking that no mbuf, queue entry or session is left), what a
 * forged client does (connect, subscribe, publish, ack, disconnect, ping)
 * and what it must see next (expect_*: cmocka assertions), logins, and
 * files (password, ACL) in a temporary directory. One rig at a time;
 * teardown() frees the rig of a test that failed half-way, cleanup() also
 * its files.
 */
#ifndef PT_BROKER_EXPECT_H
#define PT_BROKER_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <petrel/broker.h>

#include "pt_broker_rig.h"

/* A string literal and its length, for payloads. */
#define S(lit) lit, sizeof(lit) - 1

/* The rig for this test (EAL up, test pool's mbufs counted). */
struct rig *open_rig(unsigned cores, const struct pt_config *cfg);
/* Quiesce, tear down, assert no mbuf, queue entry or session is left. */
void close_rig(struct rig *rig);
/* cmocka teardown: frees the rig of a test that failed half-way. */
int teardown(void **state);

/* ---- files in a temporary directory ---- */
/* Write text to <dir>/name, the directory made by mkdtemp on first use
 * (at most 4 names; writing a name again replaces it); @return its path,
 * valid until cleanup(). */
const char *write_file(const char *name, const char *text);
/* cmocka teardown for tests that write files: teardown(), then remove
 * every file write_file() wrote and the directory. */
int cleanup(void **state);

/* ---- what a client must see next ---- */
void expect_packet(struct rig_client *c, const uint8_t *want, size_t len);
void expect_connack(struct rig_client *c, bool present, uint8_t code);
void expect_ack(struct rig_client *c, uint8_t type, uint16_t pid);
void expect_suback(struct rig_client *c, uint16_t pid, uint8_t code);
/* A PUBLISH of topic with payload, qos, retain, dup; @return its id. */
uint16_t expect_publish(struct rig_client *c, const char *topic,
                        const void *payload, size_t plen, uint8_t qos,
                        bool retain, bool dup);
void expect_nothing(struct rig_client *c);
/* The broker closed c and sent nothing more. */
void expect_closed(struct rig_client *c);

/* ---- what a client does ---- */
void send_pkt(struct rig_client *c, const uint8_t *p, size_t n);
/* TCP, CONNECT, poll; the CONNACK must accept with session present. */
struct rig_client *mqtt_connect(struct rig *rig, unsigned core,
                                const struct rig_connect *opt, bool present);
/* Clean session, keep-alive 60 s. */
struct rig_client *client(struct rig *rig, unsigned core, const char *cid);
/* Clean session 0. */
struct rig_client *persistent(struct rig *rig, unsigned core,
                              const char *cid, bool present);
/* TCP, CONNECT (clean session) with user and password (NULL: none),
 * polled; the caller checks the CONNACK. */
struct rig_client *login(struct rig *rig, unsigned core, const char *cid,
                         const char *user, const char *password);
/* login(); the CONNACK must accept, and nothing else come. */
struct rig_client *accepted(struct rig *rig, unsigned core, const char *cid,
                            const char *user, const char *password);
/* login(); refused with code, then closed. */
void refused(struct rig *rig, unsigned core, const char *cid,
             const char *user, const char *password, uint8_t code);
/* A clean-session client of user (NULL: none) with a QoS 0 will on topic,
 * its payload the client id; the CONNACK must accept. */
struct rig_client *client_with_will(struct rig *rig, unsigned core,
                                    const char *cid, const char *user,
                                    const char *topic);
void subscribe(struct rig_client *c, uint16_t pid, const char *filter,
               uint8_t qos);
void publish(struct rig_client *c, const char *topic, const void *payload,
             size_t plen, uint8_t qos, bool retain, uint16_t pid);
void ack(struct rig_client *c, uint8_t type, uint16_t pid);
void disconnect(struct rig_client *c);
void ping(struct rig_client *c);

/* ---- counters ---- */
uint64_t count(struct rig *rig, unsigned core, enum pt_mqtt_counter k);
/* QoS 1/2 deliveries queued or in flight, all cores. */
uint64_t queued(struct rig *rig);
/* The control half's counters (logins, ACL, reloads, kicks, ...). */
struct pt_broker_ctl_stats ctl_stats(struct rig *rig);

#endif /* PT_BROKER_EXPECT_H */
