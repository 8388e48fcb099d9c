/*
 * plugin_io: the asynchronous I/O services of the host table, http_get and
 * spawn (include/stadion/plugin.h), over the daemon's event loop.
 *
 * http_get speaks just enough HTTP/1.1 for health probes: one GET with
 * "Connection: close", the status line of the answer, no body.  HTTPS goes
 * through libevent's OpenSSL bufferevents with one client context shared by
 * all calls, which verifies no certificate (Marathon's health checks do
 * not).  spawn uses posix_spawn (never fork: the daemon is large) and
 * watches the child's pidfd, so that nothing waits on the loop and no
 * SIGCHLD handler is needed.
 *
 * Every call and process is linked into the plugin_services of the plugin
 * that started it, so that plugin_io_sweep() can end what a plugin left
 * behind.  Not thread-safe: the loop thread owns everything.
 */
#ifndef STADION_PLUGIN_IO_H
#define STADION_PLUGIN_IO_H

#include <event2/event.h>
#include <stadion/plugin.h>

struct plugin_services;

/* The table's members; CTX is a struct plugin_services bound to a host
 * whose base plugin_io_base() knows. */
struct stadion_http_call *plugin_io_http_get(void *ctx,
                                             const struct stadion_http_get *req,
                                             stadion_http_done_fn *done,
                                             void *arg);
void plugin_io_http_cancel(void *ctx, struct stadion_http_call *call);
struct stadion_proc *plugin_io_spawn(void *ctx, const struct stadion_spawn *req,
                                     stadion_spawn_done_fn *done, void *arg);
void plugin_io_spawn_cancel(void *ctx, struct stadion_proc *proc);

/* Abandon S's HTTP calls; kill its processes and reap them (waiting: this
 * runs at shutdown, on the main thread). */
void plugin_io_sweep(struct plugin_services *s);

/* Free the shared TLS context (at shutdown, after the last sweep). */
void plugin_io_cleanup(void);

#endif /* STADION_PLUGIN_IO_H */
