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
#include "leader/leader.h"
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
	/* Cluster mode (--zk, HA on); NULL standalone, where this node
	 * always leads. */
	struct leader *leader;
	/* The scheduler is open: this node leads and has loaded the state.
	 * Until then only the routes marked HTTP_ROUTE_ANY_NODE run here. */
	bool acting;
	bool opening;                    /* elected, loading the state */
	/* Fault injection for tests (STADIOND_TEST_LOAD_DELAY_MS): the load
	 * after an election starts this late, to hold calls meanwhile. */
	struct event *load_delay;
	bool stopping;                   /* stop() has begun */
	int load_rc;                     /* 1 while loading, then its rc */
	/* Replace the process by a fresh one after the loop ends
	 * (DELETE /v2/leader, a failed take-over). */
	bool reexec;
	struct event *sig_chld;          /* standby: reaps former tasks */
	struct leader_proxy *proxy;      /* cluster mode: to the leader */
	struct leader_wait *waiting;     /* requests waiting for a leader
	                                  * (api_leader.c) */
	char self_id[300];               /* "host:port" of this node */
	char leader_url[320];            /* "http://host:port" of the leader */
};

/* "host:port" of the current leader, NULL when none is known. */
static inline const char *stadiond_leader(const struct stadiond *d)
{
	if (d->leader == NULL)
		return d->self_id;
	return leader_current(d->leader);
}

/* This node is the elected leader (possibly still loading the state). */
static inline bool stadiond_elected(const struct stadiond *d)
{
	return d->leader == NULL || leader_is_self(d->leader);
}

#endif /* STADION_STADIOND_H */
