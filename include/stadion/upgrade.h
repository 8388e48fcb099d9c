/*
 * stadion plugin ABI: upgrade strategies (kind STADION_PLUGIN_KIND_UPGRADE).
 *
 * A restart step replaces an app's old instances (another version) with new
 * ones.  stadiond drives it with ticks: one when the step begins, then one
 * whenever an instance of the app changes state or health, becomes ready, or
 * a timer fires.  On every tick stadiond describes where the step stands
 * (struct stadion_upgrade_view) and the strategy answers how many old
 * instances to decommission and how many new ones to queue now (struct
 * stadion_upgrade_decision).  stadiond does the killing and starting:
 *
 *   - kill_old is clamped to view->old_running.  Victims are picked
 *     unhealthy first, then oldest first; they are decommissioned (stopped,
 *     for resident apps) and stay in old_active until Mesos reports them
 *     terminal.
 *   - start_new instances go to the launch queue (with its backoff) and count
 *     in new_started from the next tick on.  A new instance whose task fails
 *     while it is still meant to run is relaunched by the queue and stays in
 *     new_started; one that is gone for good leaves it, and only the
 *     strategy starts a replacement.
 *   - An old instance that turns terminal by itself leaves old_active and
 *     old_running; it is not counted in old_decommissioned.
 *   - The step is done when new_healthy == target and old_active == 0; the
 *     strategy is not asked again after that.
 *
 * The view carries both the current counts and the events since the previous
 * tick (new_ready), so that a strategy can reproduce an event-driven
 * algorithm such as Marathon's without watching instances itself.  A
 * strategy that needs memory across ticks keeps it per step: begin() creates
 * it, step() gets it, end() frees it.  Several steps (apps) may run at once,
 * each with its own step state.
 *
 * The bundled "rolling" strategy is Marathon's minimumHealthCapacity /
 * maximumOverCapacity algorithm (plugins/upgrade/rolling).
 *
 * Status: the members below are ABI 1.0.  The apps issue may still append
 * members before 1.0 is released; see plugin.h for the growth rules.
 */
#ifndef STADION_UPGRADE_H
#define STADION_UPGRADE_H

#include <stadion/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* View flags.  Strategies ignore bits they do not know. */
#define STADION_UPGRADE_F_FIRST    0x1u /* the step's first tick */
#define STADION_UPGRADE_F_RESIDENT 0x2u /* the app has persistent volumes:
                                         * its instances are stopped, not
                                         * decommissioned, and keep their
                                         * reservations */

/*
 * Where a restart step stands at this tick.  Filled by stadiond, borrowed
 * for the duration of the call.  "Old" is any version other than the one the
 * step deploys; "healthy" is running, and passing the health checks when the
 * app has any; "ready" is passing the readiness check, or having none.
 * Counts never include instances of other apps.
 */
struct stadion_upgrade_view {
	uint32_t size;               /* sizeof(struct stadion_upgrade_view) */
	uint32_t flags;              /* STADION_UPGRADE_F_* */
	uint32_t target;             /* N: instances the new version asks
	                              * for */
	uint32_t old_active;         /* old instances not terminal, including
	                              * those being killed */
	uint32_t old_running;        /* of old_active, those still meant to
	                              * run (goal Running): what kill_old
	                              * picks from */
	uint32_t old_healthy;        /* of old_running, the healthy ones */
	uint32_t old_decommissioned; /* old instances this step has
	                              * decommissioned so far, whether
	                              * terminal yet or not */
	uint32_t new_started;        /* new instances not terminal, in any
	                              * state, including those still in the
	                              * launch queue; on the first tick, those
	                              * a previous leader already started */
	uint32_t new_healthy;        /* of new_started, healthy and ready */
	uint32_t new_ready;          /* new instances that became healthy and
	                              * ready since the previous tick (each
	                              * instance counted once); 0 on the
	                              * first tick */
	double minimum_health_capacity; /* the new version's upgradeStrategy,
	                                 * 0..1 */
	double maximum_over_capacity;   /* likewise, 0..1 */
};

/* What to do now.  stadiond zeroes it and sets size before each call; the
 * strategy writes the other members.  All zeros means "wait". */
struct stadion_upgrade_decision {
	uint32_t size;      /* sizeof(struct stadion_upgrade_decision) in
	                     * stadiond */
	uint32_t kill_old;  /* old instances to decommission now */
	uint32_t start_new; /* new instances to queue now */
};

struct stadion_upgrade_ops {
	stadion_create_fn *create;   /* optional, see plugin.h */
	stadion_destroy_fn *destroy; /* optional, see plugin.h */

	/* begin(state, view, step_r, err)                         optional
	 *   A restart step starts (also again after a leader change, as the
	 *   step starts over from what the new leader finds).  VIEW is the
	 *   view of the first tick, the one the first step() call gets too.
	 *   On success write the step's state to *step_r (NULL is fine) and
	 *   return 0: it belongs to the plugin and is passed to step() and
	 *   end() of this step only.  A negative return (fill ERR) fails the
	 *   deployment; step() and end() are then not called.
	 *   Without begin, step() gets a NULL step state.
	 *   Thread: loop. */
	int (*begin)(void *state, const struct stadion_upgrade_view *view,
	             void **step_r, struct stadion_err *err);

	/* step(state, step, view, decision_r, err)                required
	 *   Decide this tick's moves for the step VIEW describes.  STEP is what
	 *   begin() wrote.  Pure apart from STEP: no I/O, no clock.  Return 0
	 *   with DECISION_R filled; a negative return (fill ERR) fails the
	 *   deployment (end() is still called).
	 *   Thread: loop. */
	int (*step)(void *state, void *step,
	            const struct stadion_upgrade_view *view,
	            struct stadion_upgrade_decision *decision_r,
	            struct stadion_err *err);

	/* end(state, step)                                        optional
	 *   The step is over: done, failed, cancelled or superseded by another
	 *   deployment, or stadiond stops.  Free STEP.  Called exactly once
	 *   for every begin() that succeeded, always before destroy().
	 *   A plugin whose begin() allocates must provide end().
	 *   Thread: loop, or main after the loop has stopped. */
	void (*end)(void *state, void *step);
	/* Later minors append here only. */
};

#define STADION_UPGRADE_OPS_SIZE_1_0 \
	(offsetof(struct stadion_upgrade_ops, end) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* STADION_UPGRADE_H */
