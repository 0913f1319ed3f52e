/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `petrelctl top`: a live view of the broker. Every interval it asks
 * `stats` and `status` and shows, per dataplane core and in total:
 *
 *   RX/S TX/S      packets per second (rx_pkts, tx_pkts)
 *   MSG_IN/S       PUBLISH received per second (mqtt.mqtt_publish_received)
 *   MSG_OUT/S      PUBLISH sent per second (mqtt.mqtt_publish_sent)
 *   TCP            TCP connections in use (tcp.conns_in_use)
 *   SESSIONS       MQTT sessions, offline included (mqtt.mqtt_sessions)
 *   BUSY%          busy_loops / loops over the interval (the total is over
 *                  all cores' loops)
 *   DROPS/S        every drop reason per second (drops.*, tcp.drops.*)
 *
 * under a header with the instance name, its uptime and the time. A rate
 * needs two samples, so the first refresh shows '-' for rates, as it does
 * for any counter the answer lacks (a broker without MQTT, an older one).
 *
 * On a terminal: the alternate screen redrawn in place, the keyboard in
 * non-canonical mode without echo; 'q' or Ctrl-C quits, and the terminal
 * is restored on every way out (signals included; Ctrl-Z restores it while
 * stopped). Otherwise one plain block per refresh, for logs and tests.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "petrelctl.h"

enum field {
    F_RX,
    F_TX,
    F_MSG_IN,
    F_MSG_OUT,
    F_TCP,
    F_SESSIONS,
    F_LOOPS,
    F_BUSY_LOOPS,
    F_DROPS,
    F_MAX,
};

/* Where each field is in a core's (or the total's) stats object; DROPS
 * is the sum of two objects. */
static const char *const field_path[F_MAX][2] = {
    [F_RX] = { NULL, "rx_pkts" },
    [F_TX] = { NULL, "tx_pkts" },
    [F_MSG_IN] = { "mqtt", "mqtt_publish_received" },
    [F_MSG_OUT] = { "mqtt", "mqtt_publish_sent" },
    [F_TCP] = { "tcp", "conns_in_use" },
    [F_SESSIONS] = { "mqtt", "mqtt_sessions" },
    [F_LOOPS] = { NULL, "loops" },
    [F_BUSY_LOOPS] = { NULL, "busy_loops" },
    [F_DROPS] = { NULL, NULL },
};

struct row {
    uint64_t v[F_MAX];
    bool has[F_MAX];
};

struct sample {
    int64_t t_ms;
    unsigned n_cores;
    struct row *cores;
    struct row total;
};

static struct termios term_saved;
static volatile sig_atomic_t term_raw;   /* keyboard mode changed */
static volatile sig_atomic_t term_screen; /* alternate screen on */
static bool keyboard;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Async-signal-safe: only write(2) and tcsetattr(3). */
static void
term_leave(void)
{
    static const char out[] = "\033[?25h\033[?1049l";

    if (term_screen) {
        (void)!write(STDOUT_FILENO, out, sizeof(out) - 1);
        term_screen = 0;
    }
    if (term_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
        term_raw = 0;
    }
}

static void
term_enter(void)
{
    static const char in[] = "\033[?1049h\033[?25l";

    if (keyboard && tcgetattr(STDIN_FILENO, &term_saved) == 0) {
        struct termios t = term_saved;

        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
            term_raw = 1;
    }
    (void)!write(STDOUT_FILENO, in, sizeof(in) - 1);
    term_screen = 1;
}

static void
on_stop_signal(int sig)
{
    (void)sig;
    ctl_interrupted = 1;
}

/* Ctrl-Z: give the terminal back while stopped, take it again after. */
static void
on_tstp(int sig)
{
    term_leave();
    signal(sig, SIG_DFL);
    raise(sig);
    /* continued */
    signal(sig, on_tstp);
    term_enter();
}

static void
signals_install(bool fullscreen)
{
    struct sigaction sa = { .sa_handler = on_stop_signal };

    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: poll() returns at once with EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (fullscreen)
        signal(SIGTSTP, on_tstp);
}

static const struct pt_json *
lookup(const struct pt_json *obj, const char *const path[2])
{
    if (path[0] != NULL)
        obj = pt_json_get(obj, path[0]);
    return pt_json_get(obj, path[1]);
}

/* Sum of the numbers in an object; false when it is absent. */
static bool
sum_object(const struct pt_json *o, uint64_t *sum)
{
    uint64_t u;

    if (o == NULL || o->type != PT_JSON_OBJECT)
        return false;
    for (const struct pt_json *m = pt_json_first(o); m != NULL;
         m = pt_json_next(o, m))
        if (pt_json_u64(m, &u) == 0)
            *sum += u;
    return true;
}

static void
row_read(const struct pt_json *obj, struct row *r)
{
    memset(r, 0, sizeof(*r));
    for (unsigned f = 0; f < F_MAX; f++)
        if (field_path[f][1] != NULL)
            r->has[f] = pt_json_u64(lookup(obj, field_path[f]),
                                    &r->v[f]) == 0;
    /* every drop reason: the stack's and TCP-lite's */
    r->has[F_DROPS] = sum_object(pt_json_get(obj, "drops"), &r->v[F_DROPS]);
    if (r->has[F_DROPS])
        sum_object(pt_json_get(pt_json_get(obj, "tcp"), "drops"),
                   &r->v[F_DROPS]);
}

static int
sample_read(const struct pt_json *stats, struct sample *s)
{
    const struct pt_json *cores = pt_json_get(stats, "cores");
    unsigned i = 0;

    if (cores != NULL && cores->type != PT_JSON_ARRAY)
        cores = NULL;
    s->n_cores = cores != NULL ? cores->n : 0;
    s->cores = calloc(s->n_cores ? s->n_cores : 1, sizeof(*s->cores));
    if (s->cores == NULL)
        return -1;
    for (const struct pt_json *c = pt_json_first(cores); c != NULL;
         c = pt_json_next(cores, c), i++)
        row_read(c, &s->cores[i]);
    row_read(pt_json_get(stats, "total"), &s->total);
    /* the total has no busy_loops: add up the cores' */
    if (!s->total.has[F_BUSY_LOOPS] && s->n_cores > 0) {
        bool all = true;
        uint64_t loops = 0, busy = 0;

        for (i = 0; i < s->n_cores; i++) {
            all &= s->cores[i].has[F_LOOPS] && s->cores[i].has[F_BUSY_LOOPS];
            loops += s->cores[i].v[F_LOOPS];
            busy += s->cores[i].v[F_BUSY_LOOPS];
        }
        s->total.has[F_LOOPS] = s->total.has[F_BUSY_LOOPS] = all;
        s->total.v[F_LOOPS] = loops;
        s->total.v[F_BUSY_LOOPS] = busy;
    }
    return 0;
}

static void
sample_free(struct sample *s)
{
    free(s->cores);
    memset(s, 0, sizeof(*s));
}

/* The cells of one row: rates against prev (NULL on the first refresh). */
static void
row_cells(const struct row *cur, const struct row *prev, int64_t dt_ms,
          char cells[8][24])
{
    static const enum field rate[] = { F_RX, F_TX, F_MSG_IN, F_MSG_OUT };
    unsigned c = 0;

#define HAS_DELTA(f) (prev != NULL && dt_ms > 0 && cur->has[f] && \
                      prev->has[f] && cur->v[f] >= prev->v[f])
#define RATE(f) ((double)(cur->v[f] - prev->v[f]) * 1000.0 / (double)dt_ms)
    for (unsigned i = 0; i < 4; i++, c++) {
        if (HAS_DELTA(rate[i]))
            snprintf(cells[c], 24, "%.0f", RATE(rate[i]));
        else
            snprintf(cells[c], 24, "-");
    }
    for (enum field f = F_TCP; f <= F_SESSIONS; f++, c++) {
        if (cur->has[f])
            snprintf(cells[c], 24, "%lu", (unsigned long)cur->v[f]);
        else
            snprintf(cells[c], 24, "-");
    }
    if (HAS_DELTA(F_LOOPS) && HAS_DELTA(F_BUSY_LOOPS) &&
        cur->v[F_LOOPS] > prev->v[F_LOOPS]) {
        double busy = (double)(cur->v[F_BUSY_LOOPS] - prev->v[F_BUSY_LOOPS]);
        double loops = (double)(cur->v[F_LOOPS] - prev->v[F_LOOPS]);

        snprintf(cells[c++], 24, "%.1f", busy > loops ? 100.0 :
                 100.0 * busy / loops);
    } else {
        snprintf(cells[c++], 24, "-");
    }
    if (HAS_DELTA(F_DROPS))
        snprintf(cells[c], 24, "%.0f", RATE(F_DROPS));
    else
        snprintf(cells[c], 24, "-");
#undef HAS_DELTA
#undef RATE
}

static void
put_row(FILE *f, const char *name, char cells[8][24], const char *eol)
{
    static const int width[8] = { 10, 10, 10, 10, 8, 9, 6, 9 };

    fprintf(f, "%-6s", name);
    for (int i = 0; i < 8; i++)
        fprintf(f, " %*s", width[i], cells[i]);
    fputs(eol, f);
}

static void
format_uptime(const struct pt_json *status, char *buf, size_t size)
{
    const struct pt_json *u = pt_json_get(status, "uptime_s");
    unsigned long s;

    if (u == NULL || u->type != PT_JSON_NUMBER || u->num < 0) {
        snprintf(buf, size, "-");
        return;
    }
    s = (unsigned long)u->num;
    if (s >= 86400)
        snprintf(buf, size, "%lud %02lu:%02lu:%02lu", s / 86400,
                 s / 3600 % 24, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%02lu:%02lu:%02lu", s / 3600, s / 60 % 60,
                 s % 60);
}

static void
frame(FILE *f, bool fullscreen, const struct pt_json *status,
      const struct sample *cur, const struct sample *prev, int interval_ms)
{
    static const char *const titles[8] = {
        "RX/S", "TX/S", "MSG_IN/S", "MSG_OUT/S", "TCP", "SESSIONS", "BUSY%",
        "DROPS/S",
    };
    const char *eol = fullscreen ? "\033[K\n" : "\n";
    int64_t dt = prev != NULL ? cur->t_ms - prev->t_ms : 0;
    char up[64], now[32], name[64], cells[8][24], label[16];
    const char *nm = pt_json_str(pt_json_get(status, "name"));
    time_t t = time(NULL);
    struct tm tm;

    format_uptime(status, up, sizeof(up));
    localtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", &tm);
    if (nm != NULL) {
        struct pt_json s = { .type = PT_JSON_STRING, .str = nm,
                             .n = (uint32_t)strlen(nm) };

        ctl_scalar(&s, name, sizeof(name));
    } else {
        snprintf(name, sizeof(name), "-");
    }
    if (fullscreen)
        fputs("\033[H", f);
    fprintf(f, "petrel %s  up %s  %s  every %d ms%s%s", name, up, now,
            interval_ms, fullscreen && keyboard ? "  (q quits)" : "", eol);
    fputs(eol, f);
    for (int i = 0; i < 8; i++)
        snprintf(cells[i], sizeof(cells[i]), "%s", titles[i]);
    put_row(f, "CORE", cells, eol);
    for (unsigned i = 0; i < cur->n_cores; i++) {
        bool same = prev != NULL && prev->n_cores == cur->n_cores;

        row_cells(&cur->cores[i], same ? &prev->cores[i] : NULL, dt, cells);
        snprintf(label, sizeof(label), "%u", i);
        put_row(f, label, cells, eol);
    }
    row_cells(&cur->total, prev != NULL ? &prev->total : NULL, dt, cells);
    put_row(f, "total", cells, eol);
    if (fullscreen)
        fputs("\033[J", f);
    else
        fputc('\n', f);
    fflush(f);
}

/* Wait until deadline; a 'q' on the keyboard or a signal ends it early.
 * Returns 1 to quit. */
static int
wait_next(int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        int64_t left = deadline - mono_ms();
        int n;

        if (ctl_interrupted)
            return 1;
        if (left <= 0)
            return 0;
        n = poll(&pfd, keyboard ? 1 : 0, (int)left);
        if (n > 0) {
            char buf[64];
            ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

            if (r <= 0) {
                keyboard = false; /* EOF: stop watching it */
                continue;
            }
            if (memchr(buf, 'q', (size_t)r) || memchr(buf, 'Q', (size_t)r))
                return 1;
        }
    }
}

static void
top_usage(FILE *f)
{
    fprintf(f, "usage: petrelctl top [-c|--count N] [-i|--interval MS]\n");
}

int
ctl_top(const struct ctl_target *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "count", required_argument, NULL, 'c' },
        { "interval", required_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static char *stats_argv[] = { "stats" }, *status_argv[] = { "status" };
    struct sample prev = { 0 }, cur = { 0 };
    long count = 0, interval = 1000;
    bool fullscreen, have_prev = false;
    int rc = CTL_EXIT_OK, c;
    int64_t next;
    char *end;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            count = strtol(optarg, &end, 10);
            if (*end != '\0' || count < 1) {
                fprintf(stderr, "petrelctl: top: --count wants a number "
                        ">= 1\n");
                return CTL_EXIT_NO_ANSWER;
            }
            break;
        case 'i':
            interval = strtol(optarg, &end, 10);
            if (*end != '\0' || interval < 100 || interval > 3600000) {
                fprintf(stderr, "petrelctl: top: --interval wants "
                        "milliseconds, 100 to 3600000\n");
                return CTL_EXIT_NO_ANSWER;
            }
            break;
        case 'h':
            top_usage(stdout);
            return CTL_EXIT_OK;
        default:
            fprintf(stderr, "petrelctl: top: bad option '%s'\n",
                    argv[optind - 1]);
            top_usage(stderr);
            return CTL_EXIT_NO_ANSWER;
        }
    }
    if (optind != argc) {
        top_usage(stderr);
        return CTL_EXIT_NO_ANSWER;
    }
    fullscreen = !t->json && isatty(STDOUT_FILENO);
    keyboard = fullscreen && isatty(STDIN_FILENO);
    signals_install(fullscreen);
    if (fullscreen)
        term_enter();
    ctl_hold_errors = fullscreen;
    next = mono_ms();
    for (long n = 0; count == 0 || n < count; n++) {
        struct ctl_answer stats, status;
        int64_t t0 = mono_ms();

        if (ctl_call(t, 1, stats_argv, &stats) != 0) {
            /* Ctrl-C while asking is a way to quit, not a failure */
            rc = ctl_interrupted ? CTL_EXIT_OK : CTL_EXIT_NO_ANSWER;
            break;
        }
        if (t->json) {
            printf("%s\n", stats.raw);
            fflush(stdout);
        }
        if (!stats.ok || stats.result == NULL) {
            term_leave();
            ctl_hold_errors = false;
            rc = ctl_print(&(struct ctl_target){ .json = false }, &stats);
            ctl_answer_free(&stats);
            break;
        }
        if (!t->json) {
            /* status for the header; without it the header shows '-' */
            if (ctl_call(t, 1, status_argv, &status) != 0) {
                memset(&status, 0, sizeof(status));
                if (ctl_interrupted) {
                    ctl_answer_free(&stats);
                    break;
                }
            }
            cur.t_ms = t0;
            if (sample_read(stats.result, &cur) != 0) {
                fprintf(stderr, "petrelctl: out of memory\n");
                rc = CTL_EXIT_NO_ANSWER;
                ctl_answer_free(&stats);
                ctl_answer_free(&status);
                break;
            }
            frame(stdout, fullscreen, status.ok ? status.result : NULL, &cur,
                  have_prev ? &prev : NULL, (int)interval);
            sample_free(&prev);
            prev = cur;
            memset(&cur, 0, sizeof(cur));
            have_prev = true;
            ctl_answer_free(&status);
        }
        ctl_answer_free(&stats);
        if (count != 0 && n + 1 == count)
            break;
        next += interval;
        if (next < mono_ms())
            next = mono_ms(); /* the broker was slow: do not catch up */
        if (wait_next(next))
            break;
    }
    term_leave();
    ctl_hold_errors = false;
    if (!ctl_interrupted)
        ctl_flush_errors();
    sample_free(&prev);
    sample_free(&cur);
    return rc;
}
