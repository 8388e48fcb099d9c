/*
 * skeleton: the smallest useful stadion probe plugin, as a starting point
 * for your own.
 *
 * It serves the made-up protocol "SKELETON" and answers every check with
 * "healthy" after configuration.delay_ms milliseconds (default 0).  That is
 * enough to show everything a real probe needs: reading configuration in
 * create(), answering asynchronously through a host timer, honouring
 * timeout_ms, and cancelling a pending check.
 *
 * Build it out of tree against the installed headers (see README.md).  It
 * includes only <stadion/...> headers and calls stadiond only through the
 * host table: plugins never link against the daemon.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <stadion/probe.h>

struct skeleton_pending;

/* One per loaded plugin: what create() returns as the state. */
struct skeleton {
	const struct stadion_host *host;  /* borrowed until destroy() returns */
	uint64_t delay_ms;                /* configuration.delay_ms */
	struct skeleton_pending *pending; /* checks not answered yet */
};

/* One check in flight, from check() until done is called or cancelled. */
struct skeleton_pending {
	struct skeleton *sk;
	struct stadion_timer *timer; /* one-shot; ours until timer_stop() */
	stadion_probe_done_fn *done;
	void *done_arg;              /* also what cancel() knows it by */
	bool healthy;                /* the answer to give */
	char cause[64];              /* why not, when !healthy */
	struct skeleton_pending *next;
};

static const char *const skeleton_protocols[] = {"SKELETON", NULL};

/* Take C off its plugin's pending list. */
static void skeleton_unlink(struct skeleton_pending *c)
{
	struct skeleton_pending **pp;

	for (pp = &c->sk->pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static int skeleton_create(const struct stadion_host *host,
                           const struct stadion_conf *conf, void **state_r,
                           struct stadion_err *err)
{
	struct skeleton *sk;
	int64_t delay = 0;
	int rc;

	/* ENOENT (no key, or no configuration at all) keeps the default;
	 * a value of the wrong type is the operator's mistake: refuse to
	 * load, with a message that names the key. */
	rc = host->conf_int(conf, "delay_ms", &delay);
	if (rc != STADION_OK && rc != STADION_ENOENT)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration.delay_ms must be an "
		                       "integer");
	if (delay < 0)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration.delay_ms must not be "
		                       "negative, not %" PRId64, delay);

	sk = calloc(1, sizeof(*sk));
	if (sk == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	sk->host = host;
	sk->delay_ms = (uint64_t)delay;
	host->log(host->ctx, STADION_LOG_INFO, "answering after %" PRIu64 " ms",
	          sk->delay_ms);
	*state_r = sk;
	return STADION_OK;
}

/* Runs on the loop thread, never from inside check(): that is the whole
 * point of answering through a timer even when delay_ms is 0. */
static void skeleton_answer(void *arg)
{
	struct skeleton_pending *c = arg;
	const struct stadion_host *host = c->sk->host;

	/* Unlink before calling done: done may call cancel() for this very
	 * check, which must then find nothing left to free. */
	skeleton_unlink(c);
	c->done(c->done_arg,
	        c->healthy ? STADION_PROBE_HEALTHY : STADION_PROBE_UNHEALTHY,
	        c->healthy ? NULL : c->cause);
	/* A one-shot timer that has fired is still ours to free. */
	host->timer_stop(host->ctx, c->timer);
	free(c);
}

static int skeleton_check(void *state,
                          const struct stadion_probe_target *target,
                          stadion_probe_done_fn *done, void *done_arg,
                          struct stadion_err *err)
{
	struct skeleton *sk = state;
	const struct stadion_host *host = sk->host;
	struct skeleton_pending *c;
	uint64_t delay = sk->delay_ms;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	c->sk = sk;
	c->done = done;
	c->done_arg = done_arg;
	c->healthy = true;
	/* The probe, not stadiond, enforces the timeout: a probe slower than
	 * timeout_ms answers "unhealthy" when the time is up. */
	if (target->timeout_ms != 0 && delay >= target->timeout_ms) {
		delay = target->timeout_ms;
		c->healthy = false;
		snprintf(c->cause, sizeof(c->cause), "timed out after %u ms",
		         (unsigned)target->timeout_ms);
	}
	c->timer = host->timer_start(host->ctx, delay, 0, skeleton_answer, c);
	if (c->timer == NULL) {
		rc = stadion_err_set(err, STADION_ENOMEM,
		                     "cannot start a timer");
		goto fail_free_check;
	}
	c->next = sk->pending;
	sk->pending = c;
	return STADION_OK;

fail_free_check:
	free(c);
	return rc;
}

/* The task is gone: forget its check, so that done is never called. */
static void skeleton_cancel(void *state, void *done_arg)
{
	struct skeleton *sk = state;
	struct skeleton_pending *c;

	for (c = sk->pending; c != NULL; c = c->next)
		if (c->done_arg == done_arg)
			break;
	if (c == NULL)
		return; /* already answered */
	skeleton_unlink(c);
	sk->host->timer_stop(sk->host->ctx, c->timer);
	free(c);
}

/* The loop has stopped, so no timer fires any more.  The timers of checks
 * still pending are swept by stadiond after this returns (timer_stop is a
 * loop-thread service); only our own memory is ours to free. */
static void skeleton_destroy(void *state)
{
	struct skeleton *sk = state;
	struct skeleton_pending *c, *next;

	for (c = sk->pending; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(sk);
}

static const struct stadion_probe_ops skeleton_ops = {
	.create = skeleton_create,
	.destroy = skeleton_destroy,
	.protocols = skeleton_protocols,
	.check = skeleton_check,
	.cancel = skeleton_cancel,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "skeleton", "1.0.0",
                      "example probe: answers healthy after delay_ms",
                      skeleton_ops);
