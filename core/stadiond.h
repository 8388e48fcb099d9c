/*
 * stadiond: the daemon's context, created by main() and handed to every API
 * handler as req->app.  Everything in it lives on the loop thread.
 */
#ifndef STADION_STADIOND_H
#define STADION_STADIOND_H

#include <event2/event.h>

#include "deploy/deploy_run.h"
#include "driver/driver.h"
#include "flags.h"
#include "health/health.h"
#include "http/http_server.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_place.h"
#include "sched/sched_tracker.h"
#include "state/state.h"

struct stadiond {
	struct event_base *base;
	struct flags flags;
	struct plugin_conf *plugin_conf; /* NULL without --plugin_conf */
	struct plugin_host *plugin_host;
	struct plugin_set *plugins;
	const char *store_name;          /* static: "lmdb" or "zookeeper" */
	struct state *state;             /* over the storage plugin */
	struct driver *driver;           /* the local driver */
	struct sched_place *place;       /* constraints over the driver's
	                                  * agents and the operators */
	struct tracker *tracker;         /* instances, launches */
	struct deploy_run *runner;       /* deployments */
	struct health *health;           /* health checks */
	struct http_server *http;
	struct event *sig_term, *sig_int;
	char leader_url[320];            /* "http://host:port" of the leader */
};

#endif /* STADION_STADIOND_H */
