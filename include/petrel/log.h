/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel logging: one DPDK log type per module, named "pt.<plane>.<module>"
 * (pt.dp.net, pt.ctl.sock, ...). `log.level` in the config sets them all;
 * an EAL `--log-level=pt.dp.net:debug` (before `--` or in eal.args) tunes
 * one type, and then log.level is not applied over it.
 *
 * PT_LOG() checks the level before it evaluates its arguments, so a debug
 * line on the packet path costs one load and a branch when debug is off.
 * Nothing above DEBUG may be logged per packet.
 *
 * Threading: any thread, after the module's RTE_INIT constructor has run
 * (that is, from main() on).
 */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <rte_log.h>

/**
 * Register a module's log type. Use once per module, in its .c file:
 *   PT_LOG_REGISTER(dp_net, pt.dp.net, INFO);
 * and declare it where other files of the module need it:
 *   PT_LOG_DECLARE(dp_net);
 */
#define PT_LOG_REGISTER(mod, name, level) \
    RTE_LOG_REGISTER(pt_logtype_##mod, name, level)
#define PT_LOG_DECLARE(mod) extern int pt_logtype_##mod

/** Log at RTE_LOG_<level> (ERR, WARNING, NOTICE, INFO, DEBUG) for module mod. */
#define PT_LOG(level, mod, fmt, ...)                                        \
    do {                                                                    \
        if (rte_log_can_log(pt_logtype_##mod, RTE_LOG_##level))             \
            rte_log(RTE_LOG_##level, pt_logtype_##mod,                      \
                    "petrel: " fmt "\n", ##__VA_ARGS__);                    \
    } while (0)

#endif /* PETREL_LOG_H */
