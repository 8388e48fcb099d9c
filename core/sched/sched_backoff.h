/*
 * sched_backoff: the launch queue's rate limiter, Marathon's RateLimiter
 * (core/launchqueue/impl/RateLimiter.scala, NotifyRateLimiterStepImpl.scala,
 * QueueInfoConversion.scala; reference 3.6).
 *
 * One delay per key (app id, versionInfo.lastConfigChangeAt), so scaling or
 * a restart keeps the delay while any other change starts from none.  A
 * delay is (reference time, current delay, maxLaunchDelay) and its deadline
 * is reference + current delay:
 *   - an instance turning Failed, Finished, Error, Gone or Dropped raises
 *     it: the first time to min(backoffSeconds, maxLaunchDelaySeconds), then
 *     to min(previous * backoffFactor, maxLaunchDelaySeconds), the
 *     reference becoming the failure time.  Killed does not raise it, so
 *     health-check kills do not back off;
 *   - an instance turning Created, Staging, Starting or Running moves the
 *     reference time to now (the delay itself stays);
 *   - it is gone after an explicit reset (DELETE /v2/queue/{id}/delay, a
 *     restart or stop deployment), or once now > reference + maxLaunchDelay.
 *     Marathon sweeps the last case every few seconds; here a delay past it
 *     is treated as gone at once, by every call, so that results depend on
 *     the times passed in only.
 *
 * Pure: no clock is read, every call takes the time (milliseconds since the
 * epoch, like Marathon's timestamps).  Durations are kept in nanoseconds
 * and multiplied as Marathon does ((nanos * factor).toLong), deadlines are
 * whole milliseconds.  Not thread-safe: the loop thread owns it.
 */
#ifndef STADION_SCHED_BACKOFF_H
#define STADION_SCHED_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The app definition's backoff fields (RAML v2/types/app.raml). */
struct sched_backoff_strategy {
	int64_t backoff_seconds;          /* backoffSeconds, >= 0 (1) */
	double factor;                    /* backoffFactor, >= 1 (1.15) */
	int64_t max_launch_delay_seconds; /* maxLaunchDelaySeconds, >= 0
	                                   * (300; 3600 before 1.8) */
};

#define SCHED_BACKOFF_STRATEGY_DEFAULT                                      \
	((struct sched_backoff_strategy){                                   \
		.backoff_seconds = 1,                                       \
		.factor = 1.15,                                             \
		.max_launch_delay_seconds = 300,                            \
	})

/* A delay's key.  Both strings are borrowed for the call; the limiter keeps
 * its own copies. */
struct sched_backoff_key {
	const char *app_id;         /* "/a/b" */
	const char *config_version; /* versionInfo.lastConfigChangeAt */
};

/* What an instance's new condition does to its app's delay. */
enum sched_backoff_change {
	SCHED_BACKOFF_NONE,    /* Killed, Killing, Unreachable, unknown, ... */
	SCHED_BACKOFF_RAISE,   /* Failed, Finished, Error, Gone, Dropped */
	SCHED_BACKOFF_ADVANCE, /* Created, Staging, Starting, Running */
};

/* The "delay" object of a /v2/queue entry. */
struct sched_backoff_queue_delay {
	int64_t time_left_seconds; /* timeLeftSeconds */
	bool overdue;              /* overdue */
};

struct sched_backoff;

/* NULL when out of memory.  The caller owns the result. */
struct sched_backoff *sched_backoff_new(void);
/* NULL-safe. */
void sched_backoff_free(struct sched_backoff *b);

/* The change for CONDITION, a Marathon condition name ("Failed") or a Mesos
 * task state ("TASK_FAILED"); NULL and unknown names are
 * SCHED_BACKOFF_NONE. */
enum sched_backoff_change sched_backoff_change_of(const char *condition);

/* An instance of KEY failed at NOW: raise the delay as above.  *DEADLINE_R
 * (may be NULL) gets the new deadline.  0, -EINVAL for a strategy outside
 * the ranges above (nothing changes), or -ENOMEM. */
int sched_backoff_raise(struct sched_backoff *b,
                        const struct sched_backoff_key *key,
                        const struct sched_backoff_strategy *strategy,
                        int64_t now_ms, int64_t *deadline_r);
/* An instance of KEY started at NOW: move the reference time to NOW.
 * Returns whether KEY had a delay. */
bool sched_backoff_advance(struct sched_backoff *b,
                           const struct sched_backoff_key *key,
                           int64_t now_ms);
/* An instance of KEY entered CONDITION at NOW (call it for changes of
 * condition only, not for repeated updates): raise, advance or nothing, by
 * sched_backoff_change_of().  0 or what sched_backoff_raise() returns. */
int sched_backoff_notify(struct sched_backoff *b,
                         const struct sched_backoff_key *key,
                         const struct sched_backoff_strategy *strategy,
                         const char *condition, int64_t now_ms);

/* Forget KEY's delay.  Returns whether it had one. */
bool sched_backoff_reset(struct sched_backoff *b,
                         const struct sched_backoff_key *key);
/* Forget the delays of every config of APP_ID (the app is gone).  Returns
 * how many. */
size_t sched_backoff_reset_app(struct sched_backoff *b, const char *app_id);
/* Free the delays that have run out (now > reference + maxLaunchDelay):
 * Marathon's cleanUpOverdueDelays(), for memory only.  Returns how many. */
size_t sched_backoff_expire(struct sched_backoff *b, int64_t now_ms);
/* Delays held, run out or not. */
size_t sched_backoff_count(const struct sched_backoff *b);

/* KEY's deadline at NOW: true and *DEADLINE_R set when KEY has a delay that
 * has not run out, even if the deadline itself has passed. */
bool sched_backoff_deadline(const struct sched_backoff *b,
                            const struct sched_backoff_key *key,
                            int64_t now_ms, int64_t *deadline_r);
/* Whether launches of KEY must wait at NOW (deadline > NOW). */
bool sched_backoff_delayed(const struct sched_backoff *b,
                           const struct sched_backoff_key *key,
                           int64_t now_ms);
/* Milliseconds until KEY may launch again, 0 when it may now. */
int64_t sched_backoff_time_left_ms(const struct sched_backoff *b,
                                   const struct sched_backoff_key *key,
                                   int64_t now_ms);
/* KEY's "delay" object at NOW, as QueueInfoConversion writes it:
 * timeLeft = backOffUntil - NOW in whole seconds truncated toward zero,
 * overdue = timeLeft < 0, timeLeftSeconds = max(0, timeLeft).  backOffUntil
 * is the deadline, or SINCE_MS (when the queue entry became launchable)
 * without a delay.  So a backed-off entry shows {n > 0, false}, and one
 * waiting for offers {0, true} from a second after its deadline or SINCE. */
void sched_backoff_queue_delay(const struct sched_backoff *b,
                               const struct sched_backoff_key *key,
                               int64_t now_ms, int64_t since_ms,
                               struct sched_backoff_queue_delay *delay_r);

#endif /* STADION_SCHED_BACKOFF_H */
