#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_app.h"
#include "jsonutil.h"
#include "sched/sched_queue.h"

/* Entries are few (apps being launched right now) and looked up by id a
 * few times per offer round: an array of pointers, so that an entry never
 * moves while it lives, scanned linearly. */
struct sched_queue {
	struct sched_queue_entry **entries;
	size_t n, cap;
};

struct sched_queue *sched_queue_new(void)
{
	return calloc(1, sizeof(struct sched_queue));
}

static void entry_free(struct sched_queue_entry *e)
{
	if (e == NULL)
		return;
	free(e->app_id);
	free(e->config_version);
	sched_match_stats_reset(&e->stats);
	free(e);
}

void sched_queue_free(struct sched_queue *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n; i++)
		entry_free(q->entries[i]);
	free(q->entries);
	free(q);
}

static ptrdiff_t find_index(const struct sched_queue *q, const char *app_id)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->entries[i]->app_id, app_id) == 0)
			return (ptrdiff_t)i;
	return -1;
}

struct sched_queue_entry *sched_queue_find(const struct sched_queue *q,
                                           const char *app_id)
{
	ptrdiff_t i = find_index(q, app_id);

	return i < 0 ? NULL : q->entries[i];
}

int sched_queue_push(struct sched_queue *q, const char *app_id,
                     const char *config_version, uint32_t n, int64_t now_ms)
{
	struct sched_queue_entry *e;
	char *version;

	if (app_id == NULL || config_version == NULL || n == 0)
		return -EINVAL;
	version = strdup(config_version);
	if (version == NULL)
		return -ENOMEM;

	e = sched_queue_find(q, app_id);
	if (e != NULL) {
		free(e->config_version);
		e->config_version = version;
		/* Saturate: a count beyond 2^32 is not a real queue. */
		e->count = e->count > UINT32_MAX - n ? UINT32_MAX
		                                     : e->count + n;
		return 0;
	}

	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 8;
		struct sched_queue_entry **grown =
			realloc(q->entries, cap * sizeof(*grown));

		if (grown == NULL)
			goto err_version;
		q->entries = grown;
		q->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto err_version;
	e->app_id = strdup(app_id);
	if (e->app_id == NULL)
		goto err_entry;
	e->config_version = version;
	e->count = n;
	e->since_ms = now_ms;
	sched_match_stats_init(&e->stats);
	q->entries[q->n++] = e;
	return 0;

err_entry:
	free(e);
err_version:
	free(version);
	return -ENOMEM;
}

static void remove_at(struct sched_queue *q, size_t i)
{
	entry_free(q->entries[i]);
	/* Keep creation order: /v2/queue lists entries in it. */
	memmove(&q->entries[i], &q->entries[i + 1],
	        (q->n - i - 1) * sizeof(*q->entries));
	q->n--;
}

uint32_t sched_queue_launched(struct sched_queue *q, const char *app_id,
                              uint32_t n)
{
	ptrdiff_t i = find_index(q, app_id);
	struct sched_queue_entry *e;

	if (i < 0)
		return 0;
	e = q->entries[i];
	e->count = n >= e->count ? 0 : e->count - n;
	if (e->count > 0)
		return e->count;
	remove_at(q, (size_t)i);
	return 0;
}

bool sched_queue_remove(struct sched_queue *q, const char *app_id)
{
	ptrdiff_t i = find_index(q, app_id);

	if (i < 0)
		return false;
	remove_at(q, (size_t)i);
	return true;
}

size_t sched_queue_size(const struct sched_queue *q)
{
	return q->n;
}

struct sched_queue_entry *sched_queue_at(const struct sched_queue *q,
                                         size_t i)
{
	return i < q->n ? q->entries[i] : NULL;
}

struct sched_backoff_key sched_queue_entry_key(
	const struct sched_queue_entry *entry)
{
	return (struct sched_backoff_key){
		.app_id = entry->app_id,
		.config_version = entry->config_version,
	};
}

static struct json_object *delay_json(const struct sched_backoff_queue_delay *d)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (json_object_object_add(o, "timeLeftSeconds",
	        json_object_new_int64(d->time_left_seconds)) != 0 ||
	    json_object_object_add(o, "overdue",
	        json_object_new_boolean(d->overdue)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *sched_queue_entry_to_json(
	const struct sched_queue_entry *entry, struct json_object *app_json,
	const struct sched_backoff_queue_delay *delay)
{
	struct json_object *o = json_object_new_object(), *role = NULL;
	char since[MODEL_TIMESTAMP_LEN];

	if (o == NULL)
		return NULL;
	model_timestamp_format(entry->since_ms, since);
	if (app_json != NULL)
		json_object_object_get_ex(app_json, "role", &role);
	/* Each value is made only when its turn comes, so that a failure
	 * leaves nothing made and not added. */
	if (jsonutil_add(o, "count", json_object_new_int64(entry->count)) != 0 ||
	    jsonutil_add(o, "role", role != NULL
	                                ? json_object_get(role)
	                                : json_object_new_string("*")) != 0 ||
	    jsonutil_add(o, "delay", delay_json(delay)) != 0 ||
	    jsonutil_add(o, "since", json_object_new_string(since)) != 0 ||
	    jsonutil_add(o, "processedOffersSummary",
	                 sched_match_stats_to_json(&entry->stats)) != 0 ||
	    jsonutil_add(o, "app", app_json != NULL
	                                   ? json_object_get(app_json)
	                                   : json_object_new_object()) != 0)
		goto err_o;
	return o;

err_o:
	json_object_put(o);
	return NULL;
}

struct json_object *sched_queue_to_json(const struct sched_queue *q,
                                        const struct sched_backoff *backoff,
                                        int64_t now_ms,
                                        sched_queue_app_json_fn *app_json,
                                        void *arg)
{
	struct json_object *body = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	if (body == NULL || arr == NULL) {
		json_object_put(arr);
		goto err_body;
	}
	if (jsonutil_add(body, "queue", arr) != 0)
		goto err_body; /* arr is released */
	for (size_t i = 0; i < q->n; i++) {
		const struct sched_queue_entry *e = q->entries[i];
		struct sched_backoff_key key = sched_queue_entry_key(e);
		struct sched_backoff_queue_delay delay;
		struct json_object *app = app_json(arg, e->app_id), *item;

		if (app == NULL)
			continue; /* deleted meanwhile: nothing to show */
		sched_backoff_queue_delay(backoff, &key, now_ms, e->since_ms,
		                          &delay);
		item = sched_queue_entry_to_json(e, app, &delay);
		if (item == NULL)
			goto err_body;
		if (json_object_array_add(arr, item) != 0) {
			json_object_put(item);
			goto err_body;
		}
	}
	return body;

err_body:
	json_object_put(body);
	return NULL;
}

static const char *const status_names[] = {
	[SCHED_QUEUE_RUNNING] = "Running",
	[SCHED_QUEUE_DEPLOYING] = "Deploying",
	[SCHED_QUEUE_SUSPENDED] = "Suspended",
	[SCHED_QUEUE_WAITING] = "Waiting",
	[SCHED_QUEUE_DELAYED] = "Delayed",
};

const char *sched_queue_status_name(enum sched_queue_status status)
{
	if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
		return NULL;
	return status_names[status];
}

enum sched_queue_status sched_queue_status(
	const struct sched_queue_status_in *in)
{
	enum sched_queue_status s;

	if (in->deploying)
		s = SCHED_QUEUE_DEPLOYING;
	else if (in->instances == 0 && in->tasks_running == 0)
		s = SCHED_QUEUE_SUSPENDED;
	else
		s = SCHED_QUEUE_RUNNING;
	/* The queue entry wins over the deployment: a backed-off or starved
	 * launch is what the operator must see. */
	if (in->queued) {
		if (!in->overdue && in->time_left_seconds > 0)
			s = SCHED_QUEUE_DELAYED;
		else if (in->overdue)
			s = SCHED_QUEUE_WAITING;
	}
	return s;
}
