/*
 * upgrade_rolling: Marathon's rolling restart (minimumHealthCapacity /
 * maximumOverCapacity), the upgrade strategy "rolling".
 *
 * This is TaskReplaceActor.scala (Marathon 1.10) recast onto the tick model
 * of <stadion/upgrade.h>.  Marathon computes a RestartStrategy once, when the
 * step's actor starts, and then reacts to events; so do we:
 *
 *   begin()            computeRestartStrategy(): from the first tick's view,
 *                      with H = healthy instances of any version still meant
 *                      to run and C = all current instances,
 *                        minHealthy  = ceil(N * minimumHealthCapacity)
 *                        maxCapacity = floor(N * (1 + maximumOverCapacity))
 *                        killNow     = max(0, H - minHealthy)
 *                        if minHealthy == maxCapacity && maxCapacity <= H:
 *                          resident ? killNow = H - minHealthy + 1
 *                                   : maxCapacity += 1
 *                        if N < C: killNow = max(C - N, killNow)
 *                      kept as the step state.
 *   step(), first tick preStart(): killNextOldInstance() killNow times,
 *                      then launchInstances().
 *   step(), new_ready  instanceConditionChanged(): one more old instance per
 *                      new instance that became healthy and ready.
 *   step(), every tick launchInstances():
 *                        min(N - started,
 *                            max(0, maxCapacity - oldActive - started))
 *                      Marathon calls it only when an old instance turns
 *                      terminal or a new one fails; calling it on every tick
 *                      is the same, because its result only grows when
 *                      oldActive or started shrinks, which is exactly those
 *                      events.
 *   stadiond           checkFinished(): N new healthy and ready, no old
 *                      active.
 *
 * Kills beyond the old instances still running are dropped, as Marathon's
 * killNextOldInstance() does when its queue is empty.  The arithmetic is
 * Marathon's, in IEEE doubles: ceil(100 * 0.07) is 8, not 7, there too
 * (100 * 0.07 is 7.000000000000001).
 */
#include <stdint.h>
#include <stdlib.h>

#include <stadion/upgrade.h>

struct rolling {
	const struct stadion_host *host; /* borrowed until destroy() */
};

/* One restart step: Marathon's RestartStrategy. */
struct rolling_step {
	uint32_t kill_first;   /* killNow: decommissioned on the first tick */
	uint32_t max_capacity; /* old active + new started never go past it
	                        * through a launch */
};

static int rolling_create(const struct stadion_host *host,
                          const struct stadion_conf *conf, void **state_r,
                          struct stadion_err *err)
{
	struct rolling *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	r->host = host;
	*state_r = r;
	return 0;
}

static void rolling_destroy(void *state)
{
	free(state);
}

/* Scala's Double.ceil.toInt and Double.toInt for 0 <= x < 2^53, without
 * libm (plugins link nothing but libc). */
static uint64_t ceil_u64(double x)
{
	uint64_t t = (uint64_t)x;

	return (double)t < x ? t + 1 : t;
}

static uint64_t trunc_u64(double x)
{
	return (uint64_t)x;
}

/* The fraction is a valid upgradeStrategy member: 0..1, not NaN. */
static bool fraction_ok(double x)
{
	return x >= 0.0 && x <= 1.0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int rolling_begin(void *state, const struct stadion_upgrade_view *view,
                         void **step_r, struct stadion_err *err)
{
	struct rolling *r = state;
	struct rolling_step *st;
	uint64_t n, h, c, min_healthy, max_capacity, kill_now;
	bool bumped = false;

	if (!STADION_HAS_MEMBER(struct stadion_upgrade_view, view->size,
	                        maximum_over_capacity))
		return stadion_err_set(err, STADION_EINVAL,
		                       "upgrade view too short (%u bytes)",
		                       view->size);
	if (!fraction_ok(view->minimum_health_capacity))
		return stadion_err_set(err, STADION_EINVAL,
		                       "minimumHealthCapacity must be between 0 "
		                       "and 1, not %g",
		                       view->minimum_health_capacity);
	if (!fraction_ok(view->maximum_over_capacity))
		return stadion_err_set(err, STADION_EINVAL,
		                       "maximumOverCapacity must be between 0 "
		                       "and 1, not %g",
		                       view->maximum_over_capacity);

	/* 64 bits: N * 2 and the sums below cannot overflow. */
	n = view->target;
	h = (uint64_t)view->old_healthy + view->new_healthy;
	c = (uint64_t)view->old_active + view->new_started;
	min_healthy = ceil_u64((double)n * view->minimum_health_capacity);
	max_capacity = trunc_u64((double)n *
	                         (1.0 + view->maximum_over_capacity));
	kill_now = h > min_healthy ? h - min_healthy : 0;
	if (min_healthy == max_capacity && max_capacity <= h) {
		/* Without room for one more instance nothing could start.
		 * A resident app cannot go over capacity (its reservations
		 * are fixed), so it goes one under minHealthy instead. */
		if (view->flags & STADION_UPGRADE_F_RESIDENT)
			kill_now = h - min_healthy + 1;
		else
			max_capacity++;
		bumped = true;
	}
	/* Instances left over from an earlier (forced) deployment beyond N
	 * go at once. */
	if (n < c)
		kill_now = max_u64(c - n, kill_now);

	st = malloc(sizeof(*st));
	if (st == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	/* Sums of two 32-bit counts could pass UINT32_MAX in theory: clamp
	 * rather than wrap. */
	st->kill_first = (uint32_t)min_u64(kill_now, UINT32_MAX);
	st->max_capacity = (uint32_t)min_u64(max_capacity, UINT32_MAX);
	*step_r = st;

	if (r != NULL && r->host != NULL && r->host->log != NULL)
		r->host->log(r->host->ctx, STADION_LOG_DEBUG,
		             "minHealthy %llu, maxCapacity %u%s, killing %u of "
		             "%llu healthy (%llu current) at once",
		             (unsigned long long)min_healthy, st->max_capacity,
		             bumped && !(view->flags & STADION_UPGRADE_F_RESIDENT)
		                     ? " (one over, to make progress)"
		                     : "",
		             st->kill_first, (unsigned long long)h,
		             (unsigned long long)c);
	return 0;
}

static int rolling_step(void *state, void *step,
                        const struct stadion_upgrade_view *view,
                        struct stadion_upgrade_decision *decision_r,
                        struct stadion_err *err)
{
	const struct rolling_step *st = step;
	uint64_t kill, used, left, not_started;

	if (st == NULL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "step() without a successful begin()");

	kill = view->new_ready;
	if (view->flags & STADION_UPGRADE_F_FIRST)
		kill += st->kill_first;
	decision_r->kill_old = (uint32_t)min_u64(kill, view->old_running);

	/* Old instances count against the capacity until they are
	 * terminal, not from the moment they are decommissioned. */
	used = (uint64_t)view->old_active + view->new_started;
	left = st->max_capacity > used ? st->max_capacity - used : 0;
	not_started = view->target > view->new_started
	                      ? view->target - view->new_started
	                      : 0;
	decision_r->start_new = (uint32_t)min_u64(not_started, left);
	return 0;
}

static void rolling_end(void *state, void *step)
{
	free(step);
}

static const struct stadion_upgrade_ops rolling_ops = {
	.create = rolling_create,
	.destroy = rolling_destroy,
	.begin = rolling_begin,
	.step = rolling_step,
	.end = rolling_end,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_UPGRADE, "rolling", "1.0.0",
                      "Marathon rolling restart (minimumHealthCapacity, "
                      "maximumOverCapacity)",
                      rolling_ops);
