/*
 * sched_queue: the launch queue.  One entry per app with instances left to
 * launch: how many, since when, the key of its backoff delay
 * (sched_backoff) and the offer statistics of this launch attempt
 * (sched_match).  It renders GET /v2/queue (reference 1.6, RAML
 * v2/types/queue.raml, Marathon's QueueInfoConversion.scala) and derives
 * the app status the UI shows (reference 3.5).
 *
 * An entry lives from the first push until its count drops to zero or it
 * is removed; that is Marathon's launch attempt, so the statistics start
 * from zero with each new entry (launchFinished).
 *
 * Not thread-safe: the loop thread owns it.
 */
#ifndef STADION_SCHED_QUEUE_H
#define STADION_SCHED_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sched/sched_backoff.h"
#include "sched/sched_match.h"

/* One app's entry; owned by the queue, valid until it is removed. */
struct sched_queue_entry {
	char *app_id;                 /* owned, "/a/b" */
	char *config_version;         /* owned, lastConfigChangeAt */
	uint32_t count;               /* instances left to launch */
	int64_t since_ms;             /* when the entry was created */
	struct sched_match_stats stats; /* owned */
};

struct sched_queue;

/* NULL when out of memory; the caller owns the result. */
struct sched_queue *sched_queue_new(void);
/* NULL-safe. */
void sched_queue_free(struct sched_queue *q);

/* Queue N more instances of APP_ID (config CONFIG_VERSION) at NOW: a new
 * entry starts with since = NOW; an existing one keeps its since and
 * statistics and takes the new config version (the strings are copied).
 * 0, -EINVAL for N == 0 or a NULL string, or -ENOMEM (nothing changes). */
int sched_queue_push(struct sched_queue *q, const char *app_id,
                     const char *config_version, uint32_t n, int64_t now_ms);
/* APP_ID's entry or NULL. */
struct sched_queue_entry *sched_queue_find(const struct sched_queue *q,
                                           const char *app_id);
/* N instances of APP_ID were launched: the count drops (not below zero)
 * and at zero the entry goes, with its statistics.  Returns the count
 * left, 0 also for an unknown app. */
uint32_t sched_queue_launched(struct sched_queue *q, const char *app_id,
                              uint32_t n);
/* Drop APP_ID's entry (app deleted, scaled down, deployment cancelled).
 * Returns whether there was one. */
bool sched_queue_remove(struct sched_queue *q, const char *app_id);
/* Entries, in the order they were created. */
size_t sched_queue_size(const struct sched_queue *q);
struct sched_queue_entry *sched_queue_at(const struct sched_queue *q,
                                         size_t i);

/* The backoff key of ENTRY, borrowing its strings. */
struct sched_backoff_key sched_queue_entry_key(
	const struct sched_queue_entry *entry);

/* One element of "queue": {"count","role","delay","since",
 * "processedOffersSummary","app"}.  APP_JSON is the AppDefinition
 * (model_app_to_json()); a reference is taken, the caller keeps its own.
 * "role" is the app's role, "*" when it has none.  A new reference, NULL
 * when out of memory. */
struct json_object *sched_queue_entry_to_json(
	const struct sched_queue_entry *entry, struct json_object *app_json,
	const struct sched_backoff_queue_delay *delay);

/* The AppDefinition of APP_ID, borrowed, or NULL when the app is gone
 * (its entry is then left out). */
typedef struct json_object *sched_queue_app_json_fn(void *arg,
                                                    const char *app_id);

/* The body of GET /v2/queue at NOW: {"queue":[...]}, each delay from
 * BACKOFF (sched_backoff_queue_delay() with the entry's key and since).  A
 * new reference, NULL when out of memory. */
struct json_object *sched_queue_to_json(const struct sched_queue *q,
                                        const struct sched_backoff *backoff,
                                        int64_t now_ms,
                                        sched_queue_app_json_fn *app_json,
                                        void *arg);

/* The UI's app status (marathon-ui AppsStore.js, reference 3.5). */
enum sched_queue_status {
	SCHED_QUEUE_RUNNING,
	SCHED_QUEUE_DEPLOYING,
	SCHED_QUEUE_SUSPENDED,
	SCHED_QUEUE_WAITING,
	SCHED_QUEUE_DELAYED,
};

/* "Running", "Deploying", ...; static storage, NULL out of range. */
const char *sched_queue_status_name(enum sched_queue_status status);

struct sched_queue_status_in {
	bool deploying;             /* the app's deployments are not empty */
	int64_t instances;          /* the definition's instances */
	int64_t tasks_running;
	bool queued;                /* /v2/queue has an entry for it */
	bool overdue;               /* that entry's delay */
	int64_t time_left_seconds;
};

/* Deploying if deploying, else Suspended if instances == 0 and
 * tasksRunning == 0, else Running; then a queue entry overrides it:
 * Delayed when not overdue with time left, Waiting when overdue. */
enum sched_queue_status sched_queue_status(
	const struct sched_queue_status_in *in);

#endif /* STADION_SCHED_QUEUE_H */
