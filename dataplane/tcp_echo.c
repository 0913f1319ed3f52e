/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The diagnostic TCP echo application (tcp.echo_port): every byte a client
 * sends comes back, so TCP-lite can be tested and operated without MQTT.
 *
 * It is also the smallest example of a connection actor: its whole
 * per-connection state is the `user` pointer, which holds the chain of
 * received bytes that did not fit in the send queue yet (NULL when none).
 * Bytes are reported consumed (pt_tcp_recved) only once they are queued
 * for sending, so a client that sends but does not read sees our receive
 * window close: back-pressure end to end, with no memory growth.
 *
 * When the client closes its side, we close ours once everything it sent
 * has been queued back.
 */
#include <errno.h>

#include <petrel/tcp.h>

#include "mbuf_chain.h"

/* Queue as much of the held chain as fits; return what is left. */
static struct rte_mbuf *
echo_push(struct pt_tcp_conn *c, struct rte_mbuf *held)
{
    uint32_t take;
    struct rte_mbuf *rest = pt_mbuf_split(held, pt_tcp_send_space(c), &take);

    if (take == 0)
        return held;
    if (pt_tcp_send(c, held) < 0) {
        /* cannot happen (it fitted), but never lose the bytes */
        pt_mbuf_unsplit(held, rest);
        return held;
    }
    pt_tcp_recved(c, take);
    return rest;
}

static void
echo_flush(struct pt_tcp_conn *c, struct rte_mbuf *held)
{
    if (held != NULL)
        held = echo_push(c, held);
    pt_tcp_conn_set_user(c, held);
    if (held == NULL && pt_tcp_conn_state(c) == PT_TCP_CLOSE_WAIT)
        pt_tcp_close(c);
}

static int
echo_accept(void *arg, struct pt_tcp_conn *c, void **user)
{
    (void)arg;
    (void)c;
    *user = NULL;
    return 0;
}

static void
echo_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    struct rte_mbuf *held = user;

    if (held != NULL && rte_pktmbuf_chain(held, m) != 0) {
        /* more than 65535 segments held: cannot happen within a window */
        rte_pktmbuf_free(m);
        pt_tcp_abort(c);
        return;
    }
    echo_flush(c, held != NULL ? held : m);
}

static void
echo_eof(void *user, struct pt_tcp_conn *c)
{
    echo_flush(c, user);
}

static void
echo_sent(void *user, struct pt_tcp_conn *c, uint32_t bytes)
{
    (void)bytes;
    if (user != NULL)
        echo_flush(c, user);
}

static void
echo_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    (void)c;
    (void)reason;
    rte_pktmbuf_free(user);
}

static const struct pt_tcp_ops echo_ops = {
    .accept = echo_accept,
    .data = echo_data,
    .eof = echo_eof,
    .sent = echo_sent,
    .closed = echo_closed,
};

int
pt_tcp_echo_listen(struct pt_tcp *tcp, uint16_t port)
{
    return pt_tcp_listen(tcp, port, &echo_ops, NULL);
}
