/*
 * api_queue: /v2/queue (reference 1.6; Marathon's QueueResource): the
 * launch queue with each entry's backoff delay, and the reset of a delay.
 */
#include "config.h"

#include <stdlib.h>

#include "api/api.h"
#include "api/api_util.h"
#include "sched/sched_backoff.h"
#include "sched/sched_queue.h"
#include "sched/sched_tracker.h"
#include "state/state.h"

/* The AppDefinition of a queue entry: the app's latest definition, the
 * one its scheduled instances launch with. */
static struct json_object *entry_app_json(void *arg, const char *app_id)
{
	const struct stadiond *d = arg;
	const struct tracker_app *ta = tracker_app(d->tracker, app_id);

	if (ta != NULL && ta->current != NULL)
		return ta->current->json;
	return NULL;
}

void api_queue_list(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct json_object *body;

	if (!api_util_ready(req))
		return;
	body = sched_queue_to_json(tracker_queue(d->tracker),
	                           tracker_backoff(d->tracker),
	                           api_util_now_ms(), entry_app_json, d);
	if (body == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 200, body);
}

void api_queue_reset_delay(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	const struct tracker_app *ta;
	char *id;

	if (!api_util_ready(req) || (id = api_util_id(req, 0)) == NULL)
		return;
	ta = tracker_app(d->tracker, id);
	/* Marathon's test: the app exists and has a Scheduled instance. */
	if (ta == NULL || ta->n_scheduled == 0 ||
	    state_app(d->state, id) == NULL) {
		http_reply_message(req, 404,
		                   "Application %s not found in tasks queue.", id);
		free(id);
		return;
	}
	/* Every config's delay: the scheduled instances of an older config
	 * wait on theirs. */
	sched_backoff_reset_app(tracker_backoff(d->tracker), id);
	tracker_poke(d->tracker);
	free(id);
	http_reply_raw(req, 204, NULL, NULL, 0);
}
