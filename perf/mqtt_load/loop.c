// SPDX-License-Identifier: BSD-3-Clause
/*
 * The event loop p2p and fanout share. Phases:
 *
 *   SETUP --all_ready--> RUN --all_sent--> DRAIN --all_received or idle--> END
 *     any phase --deadline (--timeout)--> END (timed out)
 *     any phase --ld_io.setup_failed--> END
 *
 * SETUP: connections connect, CONNACK, subscribe. RUN: pump() sends what
 * the mode's pacing allows and says when the next send is due (open
 * loop: a timerfd wakes the loop then). DRAIN: wait until every message
 * sent has arrived, or LD_DRAIN_NS after the later of the last delivery
 * and the start of the drain. Every epoll wait is at most 100 ms. It is
 * not a scheduler: one thread, level-triggered epoll, no priorities.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

enum ld_phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_END };

bool ld_loop(const struct ld_loop_ops *ops, bool paced)
{
    struct epoll_event evs[256];
    uint64_t start = ld_now_ns();
    uint64_t deadline = start + (uint64_t)(ld_opt.timeout * 1e9);
    uint64_t drain_from = 0, armed = 0;
    enum ld_phase ph = PH_SETUP;
    int tfd = -1;

    if (paced) {
        struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tfd < 0 || epoll_ctl(ld_io.ep, EPOLL_CTL_ADD, tfd, &tev) < 0) {
            perror("pt-mqtt-load: timerfd");
            ld_io.setup_failed = true;
            return false;
        }
    }
    while (ph != PH_END) {
        uint64_t now = ld_now_ns(), wake = deadline;

        if (now >= deadline)
            return true;
        if (ld_io.setup_failed)
            return false;
        if (ph == PH_SETUP && ops->all_ready()) {
            ph = PH_RUN;
            ops->start(now);
        }
        if (ph == PH_RUN) {
            uint64_t due = ops->pump(now);
            if (due < wake)
                wake = due;
            if (ops->all_sent()) {
                ph = PH_DRAIN;
                drain_from = now;
            }
        }
        if (ph == PH_DRAIN) {
            uint64_t last = ops->last_recv();
            uint64_t idle_from = last > drain_from ? last : drain_from;
            if (ops->all_received() || now >= idle_from + LD_DRAIN_NS)
                break;
            if (idle_from + LD_DRAIN_NS < wake)
                wake = idle_from + LD_DRAIN_NS;
        }
        if (paced && wake != armed && wake < deadline) {
            struct itimerspec its = {
                .it_value = { .tv_sec = (time_t)(wake / 1000000000ull),
                              .tv_nsec = (long)(wake % 1000000000ull) },
            };
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = wake;
        }
        uint64_t ms = (wake - now + 999999) / 1000000;
        int n = epoll_wait(ld_io.ep, evs, 256, ms > 100 ? 100 : (int)ms);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) < 0)
                    (void)0;            /* spurious: nothing to consume */
                armed = 0;
                continue;
            }
            ld_conn_event(evs[i].data.ptr, evs[i].events);
        }
        ops->after_events();
    }
    return false;
}
