/*
 * plugin_host: the host-services table handed to plugins (struct stadion_host
 * in include/stadion/plugin.h), implemented over the daemon's event loop.
 *
 * One struct plugin_host is shared by all plugins: it owns the queue behind
 * post().  Each plugin gets its own struct plugin_services, whose table logs
 * with the plugin's label and tracks the timers and watches the plugin
 * registers, so that they can be swept after the plugin is destroyed.
 *
 * The HTTP client (http_get) and process spawn (spawn) live in
 * plugin_io.c; this module binds them into the table.
 */
#ifndef STADION_PLUGIN_HOST_H
#define STADION_PLUGIN_HOST_H

#include <event2/event.h>
#include <stadion/plugin.h>

struct plugin_host;
struct plugin_resource; /* a timer or watch, private to plugin_host.c */

struct plugin_services {
	struct stadion_host table;       /* what the plugin sees */
	struct plugin_host *host;        /* borrowed */
	char label[48];                  /* "probe tcp", prefixes log lines */
	struct plugin_resource *live;    /* timers and watches not yet freed */
	struct stadion_http_call *calls; /* HTTP GETs under way */
	struct stadion_proc *procs;      /* processes not yet reaped */
};

/* BASE must have been created after evthread_use_pthreads(), so that post()
 * from another thread wakes the loop.  BASE is borrowed and must outlive the
 * host.  NULL when out of memory. */
struct plugin_host *plugin_host_new(struct event_base *base);
/* Drops posts that have not run yet.  NULL-safe. */
void plugin_host_free(struct plugin_host *host);
/* The loop the host runs on, borrowed. */
struct event_base *plugin_host_base(const struct plugin_host *host);

/* Fill S's table for the plugin called LABEL. */
void plugin_host_bind(struct plugin_host *host, struct plugin_services *s,
                      const char *label);
/* Free the timers, watches and HTTP calls S's plugin left behind, kill and
 * reap its processes, and drop its posts that have not run (after
 * destroy(), before unloading its code). */
void plugin_host_sweep(struct plugin_services *s);

#endif /* STADION_PLUGIN_HOST_H */
