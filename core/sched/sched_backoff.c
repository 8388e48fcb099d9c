#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_backoff.h"

#define NS_PER_MS  INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)
/* Seconds that still fit in int64 nanoseconds. */
#define MAX_SECONDS (INT64_MAX / NS_PER_SEC)

struct delay {
	char *app_id;         /* owned */
	char *config_version; /* owned */
	int64_t reference_ms; /* last failure or start */
	int64_t current_ns;   /* the delay after the last failure */
	int64_t max_ns;       /* maxLaunchDelay of that config */
};

/* A handful of apps fail at once at most: a linear array is enough. */
struct sched_backoff {
	struct delay *delays;
	size_t n, cap;
};

struct sched_backoff *sched_backoff_new(void)
{
	return calloc(1, sizeof(struct sched_backoff));
}

static void delay_free(struct delay *d)
{
	free(d->app_id);
	free(d->config_version);
}

void sched_backoff_free(struct sched_backoff *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		delay_free(&b->delays[i]);
	free(b->delays);
	free(b);
}

static struct delay *find(const struct sched_backoff *b,
                          const struct sched_backoff_key *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->delays[i].app_id, key->app_id) == 0 &&
		    strcmp(b->delays[i].config_version,
		           key->config_version) == 0)
			return &b->delays[i];
	return NULL;
}

/* Remove D (an element of B) by moving the last one into its place. */
static void drop(struct sched_backoff *b, struct delay *d)
{
	delay_free(d);
	*d = b->delays[--b->n];
}

/* now > reference + maxLaunchDelay: the delay is over for good. */
static bool run_out(const struct delay *d, int64_t now_ms)
{
	return now_ms > d->reference_ms + d->max_ns / NS_PER_MS;
}

/* KEY's delay if it has not run out at NOW (one that has is dropped, as
 * Marathon's periodic sweep would have). */
static struct delay *live(struct sched_backoff *b,
                          const struct sched_backoff_key *key, int64_t now_ms)
{
	struct delay *d = find(b, key);

	if (d != NULL && run_out(d, now_ms)) {
		drop(b, d);
		d = NULL;
	}
	return d;
}

/* The const queries see a run-out delay as none, without dropping it. */
static const struct delay *live_const(const struct sched_backoff *b,
                                      const struct sched_backoff_key *key,
                                      int64_t now_ms)
{
	const struct delay *d = find(b, key);

	return d != NULL && !run_out(d, now_ms) ? d : NULL;
}

static int64_t deadline_of(const struct delay *d)
{
	return d->reference_ms + d->current_ns / NS_PER_MS;
}

static bool strategy_ok(const struct sched_backoff_strategy *s)
{
	return s->backoff_seconds >= 0 && s->backoff_seconds <= MAX_SECONDS &&
	       s->max_launch_delay_seconds >= 0 &&
	       s->max_launch_delay_seconds <= MAX_SECONDS &&
	       s->factor >= 1.0 && s->factor <= 1e6; /* also refuses NaN */
}

static struct delay *add(struct sched_backoff *b,
                         const struct sched_backoff_key *key)
{
	struct delay *d;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct delay *v = realloc(b->delays, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		b->delays = v;
		b->cap = cap;
	}
	d = &b->delays[b->n];
	*d = (struct delay){
		.app_id = strdup(key->app_id),
		.config_version = strdup(key->config_version),
	};
	if (d->app_id == NULL || d->config_version == NULL) {
		delay_free(d);
		return NULL;
	}
	b->n++;
	return d;
}

int sched_backoff_raise(struct sched_backoff *b,
                        const struct sched_backoff_key *key,
                        const struct sched_backoff_strategy *strategy,
                        int64_t now_ms, int64_t *deadline_r)
{
	struct delay *d;
	int64_t max_ns, next_ns;

	if (!strategy_ok(strategy))
		return -EINVAL;
	max_ns = strategy->max_launch_delay_seconds * NS_PER_SEC;
	d = live(b, key, now_ms);
	if (d == NULL) {
		/* Delay(clock.now(), spec): backoff min maxLaunchDelay. */
		next_ns = strategy->backoff_seconds * NS_PER_SEC;
		if (next_ns > max_ns)
			next_ns = max_ns;
		d = add(b, key);
		if (d == NULL)
			return -ENOMEM;
	} else {
		/* increased(): maxLaunchDelay min (nanos * factor).toLong;
		 * compared in doubles first, as the product may not fit. */
		double product = (double)d->current_ns * strategy->factor;

		next_ns = product >= (double)max_ns ? max_ns
		                                    : (int64_t)product;
	}
	d->reference_ms = now_ms;
	d->current_ns = next_ns;
	d->max_ns = max_ns;
	if (deadline_r != NULL)
		*deadline_r = deadline_of(d);
	return 0;
}

bool sched_backoff_advance(struct sched_backoff *b,
                           const struct sched_backoff_key *key,
                           int64_t now_ms)
{
	struct delay *d = live(b, key, now_ms);

	if (d == NULL)
		return false;
	d->reference_ms = now_ms;
	return true;
}

enum sched_backoff_change sched_backoff_change_of(const char *condition)
{
	/* NotifyRateLimiterStep's limitWorthy and advanceWorthy sets, by
	 * Marathon condition and by the Mesos state that maps to it. */
	static const struct {
		const char *name;
		enum sched_backoff_change change;
	} map[] = {
		{"Failed", SCHED_BACKOFF_RAISE},
		{"Finished", SCHED_BACKOFF_RAISE},
		{"Error", SCHED_BACKOFF_RAISE},
		{"Gone", SCHED_BACKOFF_RAISE},
		{"Dropped", SCHED_BACKOFF_RAISE},
		{"TASK_FAILED", SCHED_BACKOFF_RAISE},
		{"TASK_FINISHED", SCHED_BACKOFF_RAISE},
		{"TASK_ERROR", SCHED_BACKOFF_RAISE},
		{"TASK_GONE", SCHED_BACKOFF_RAISE},
		{"TASK_DROPPED", SCHED_BACKOFF_RAISE},
		{"Created", SCHED_BACKOFF_ADVANCE},
		{"Staging", SCHED_BACKOFF_ADVANCE},
		{"Starting", SCHED_BACKOFF_ADVANCE},
		{"Running", SCHED_BACKOFF_ADVANCE},
		{"TASK_STAGING", SCHED_BACKOFF_ADVANCE},
		{"TASK_STARTING", SCHED_BACKOFF_ADVANCE},
		{"TASK_RUNNING", SCHED_BACKOFF_ADVANCE},
	};

	if (condition == NULL)
		return SCHED_BACKOFF_NONE;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, condition) == 0)
			return map[i].change;
	return SCHED_BACKOFF_NONE;
}

int sched_backoff_notify(struct sched_backoff *b,
                         const struct sched_backoff_key *key,
                         const struct sched_backoff_strategy *strategy,
                         const char *condition, int64_t now_ms)
{
	switch (sched_backoff_change_of(condition)) {
	case SCHED_BACKOFF_RAISE:
		return sched_backoff_raise(b, key, strategy, now_ms, NULL);
	case SCHED_BACKOFF_ADVANCE:
		sched_backoff_advance(b, key, now_ms);
		return 0;
	case SCHED_BACKOFF_NONE:
		break;
	}
	return 0;
}

bool sched_backoff_reset(struct sched_backoff *b,
                         const struct sched_backoff_key *key)
{
	struct delay *d = find(b, key);

	if (d == NULL)
		return false;
	drop(b, d);
	return true;
}

size_t sched_backoff_reset_app(struct sched_backoff *b, const char *app_id)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n;) {
		if (strcmp(b->delays[i].app_id, app_id) == 0) {
			drop(b, &b->delays[i]);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

size_t sched_backoff_expire(struct sched_backoff *b, int64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n;) {
		if (run_out(&b->delays[i], now_ms)) {
			drop(b, &b->delays[i]);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

size_t sched_backoff_count(const struct sched_backoff *b)
{
	return b->n;
}

bool sched_backoff_deadline(const struct sched_backoff *b,
                            const struct sched_backoff_key *key,
                            int64_t now_ms, int64_t *deadline_r)
{
	const struct delay *d = live_const(b, key, now_ms);

	if (d == NULL)
		return false;
	*deadline_r = deadline_of(d);
	return true;
}

bool sched_backoff_delayed(const struct sched_backoff *b,
                           const struct sched_backoff_key *key,
                           int64_t now_ms)
{
	return sched_backoff_time_left_ms(b, key, now_ms) > 0;
}

int64_t sched_backoff_time_left_ms(const struct sched_backoff *b,
                                   const struct sched_backoff_key *key,
                                   int64_t now_ms)
{
	int64_t deadline;

	if (!sched_backoff_deadline(b, key, now_ms, &deadline))
		return 0;
	return deadline > now_ms ? deadline - now_ms : 0;
}

void sched_backoff_queue_delay(const struct sched_backoff *b,
                               const struct sched_backoff_key *key,
                               int64_t now_ms, int64_t since_ms,
                               struct sched_backoff_queue_delay *delay_r)
{
	int64_t until, left_s;

	if (!sched_backoff_deadline(b, key, now_ms, &until))
		until = since_ms;
	/* Duration.toSeconds: C's division truncates toward zero too. */
	left_s = (until - now_ms) / 1000;
	delay_r->overdue = left_s < 0;
	delay_r->time_left_seconds = left_s > 0 ? left_s : 0;
}
