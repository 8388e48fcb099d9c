/*
 * /v2/leader: who leads, and abdication.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "leader/leader_proxy.h"
#include "stadiond.h"

/* Answered by every node from what the election told it. */
void api_leader_get(struct http_req *req)
{
	const struct stadiond *d = req->app;
	const char *leader = stadiond_leader(d);
	struct json_object *body;

	if (leader == NULL) {
		http_reply_message(req, 404, "There is no leader");
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "leader", json_object_new_string(leader));
	http_reply_json(req, 200, body);
}

/* Marathon's abdication: answer, then leave.  The process is replaced by a
 * fresh one (same pid, same command line) that stands again as a
 * candidate; closing the session on the way out hands leadership over at
 * once.  Standalone, the fresh process leads again after reloading the
 * state and adopting the tasks: a scheduler restart that kills nothing.
 * Reached only on the leader: standbys proxy the call to it. */
void api_leader_delete(struct http_req *req)
{
	struct stadiond *d = req->app;
	/* Long enough for the answer to leave, short enough for the
	 * 200 ms hand-over. */
	const struct timeval flush = {0, 20 * 1000};

	if (http_req_query(req, "backup") != NULL ||
	    http_req_query(req, "restore") != NULL) {
		http_reply_message(req, 400,
		                   "DELETE /v2/leader: backup and restore are "
		                   "not supported by stadion; abdicate without "
		                   "them and back up the store (LMDB file or "
		                   "ZooKeeper path) with its own tools");
		return;
	}
	d->reexec = true;
	event_base_loopexit(d->base, &flush);
	http_reply_message(req, 200, "Leadership abdicated");
}

/* A request that arrived while no leader was known, or while this node,
 * elected, was loading the state: waiting for a leader to serve it. */
struct leader_wait {
	struct http_req *req;     /* deferred copy */
	struct event *timer;
	struct stadiond *d;
	struct leader_wait *next, *prev;
};

/* Marathon waits as long for a leader before it gives up. */
#define LEADER_WAIT_MS 2500

static void wait_unlink(struct leader_wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->d->waiting = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	event_free(w->timer);
	free(w);
}

static void wait_dropped(void *arg)
{
	wait_unlink(arg);
}

static void wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct leader_wait *w = arg;
	struct http_req *req = w->req;
	struct stadiond *d = w->d;

	(void)fd;
	(void)what;
	wait_unlink(w);
	if (stadiond_elected(d)) {
		http_reply_header(req, "Retry-After", "1");
		http_reply_message(req, 503,
		                   "this stadiond was elected leader and is "
		                   "still loading the state; retry in a moment");
		return;
	}
	http_reply_message(req, 503,
	                   "Could not determine the current leader: no "
	                   "stadiond holds the leadership in ZooKeeper; retry "
	                   "in a moment, and check that ZooKeeper and at "
	                   "least one stadiond with the same --zk are up");
}

/* REQ goes to the known leader, another node. */
static void route(struct stadiond *d, struct http_req *req)
{
	const char *leader = stadiond_leader(d);

	if (strcmp(req->path, "/v2/events") == 0)
		leader_proxy_redirect(req, leader);
	else
		leader_proxy_forward(d->proxy, req, leader);
}

static void wait_for_leader(struct stadiond *d, struct http_req *req)
{
	const struct timeval tv = {LEADER_WAIT_MS / 1000,
	                           (LEADER_WAIT_MS % 1000) * 1000};
	struct leader_wait *w = calloc(1, sizeof(*w));
	struct http_req *copy = NULL;

	if (w == NULL || (copy = http_req_defer(req)) == NULL ||
	    (w->timer = evtimer_new(d->base, wait_expired, w)) == NULL ||
	    evtimer_add(w->timer, &tv) != 0) {
		if (w != NULL && w->timer != NULL)
			event_free(w->timer);
		free(w);
		/* A successful defer moved the request into the copy. */
		http_reply_message(copy != NULL ? copy : req, 503,
		                   "out of memory");
		return;
	}
	w->req = copy;
	w->d = d;
	w->next = d->waiting;
	if (w->next != NULL)
		w->next->prev = w;
	d->waiting = w;
	http_req_on_drop(copy, wait_dropped, w);
}

bool api_leader_intercept(void *app, struct http_req *req)
{
	struct stadiond *d = app;

	if (d->acting)
		return false;
	/* Elected and loading: the load takes a fraction of a second with
	 * a standby's copy of the state, so the call waits for it. */
	if (stadiond_leader(d) == NULL || stadiond_elected(d))
		wait_for_leader(d, req);
	else
		route(d, req);
	return true;
}

void api_leader_changed(struct stadiond *d)
{
	while (d->waiting != NULL && stadiond_leader(d) != NULL &&
	       !stadiond_elected(d)) {
		struct leader_wait *w = d->waiting;
		struct http_req *req = w->req;

		wait_unlink(w);
		http_req_on_drop(req, NULL, NULL);
		route(d, req);
	}
}

void api_leader_acting(struct stadiond *d)
{
	while (d->waiting != NULL) {
		struct leader_wait *w = d->waiting;
		struct http_req *req = w->req;

		wait_unlink(w);
		http_req_serve(req);
	}
}
