/*
 * stadion plugin ABI: upgrade strategies (kind STADION_PLUGIN_KIND_UPGRADE).
 *
 * A restart step replaces an app's old instances with new ones.  On each tick
 * (a task changed state, or a timer fired) stadiond describes where the step
 * stands and the strategy says how many old instances to kill and how many
 * new ones to start now.  stadiond does the killing and starting and ends
 * the step when no old instance is left and the new ones are all healthy.
 * The bundled "rolling" strategy is Marathon's minimumHealthCapacity /
 * maximumOverCapacity algorithm.
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

/* Where a restart step stands.  Borrowed for the duration of the call. */
struct stadion_upgrade_view {
	uint32_t size;                  /* sizeof(struct stadion_upgrade_view) */
	uint32_t target;                /* instances the new version asks for */
	uint32_t old_running;           /* old instances not yet killed */
	uint32_t old_healthy;           /* of those, healthy (or RUNNING
	                                 * when the app has no health checks) */
	uint32_t new_launched;          /* new instances started, any state */
	uint32_t new_healthy;           /* new instances healthy and ready */
	double minimum_health_capacity; /* upgradeStrategy, 0..1 */
	double maximum_over_capacity;   /* upgradeStrategy, 0..1 */
};

/* What to do now.  Written by the strategy. */
struct stadion_upgrade_decision {
	uint32_t kill_old;  /* old instances to kill now */
	uint32_t start_new; /* new instances to start now */
};

struct stadion_upgrade_ops {
	stadion_create_fn *create;   /* optional, see plugin.h */
	stadion_destroy_fn *destroy; /* optional, see plugin.h */

	/* step(state, view, decision_r, err)                     required
	 *   Decide the next move for the step VIEW describes.  Pure: no I/O.
	 *   Writing zeros means "wait for the next tick".  A negative return
	 *   (fill ERR) fails the deployment with that message.
	 *   Thread: loop. */
	int (*step)(void *state, const struct stadion_upgrade_view *view,
	            struct stadion_upgrade_decision *decision_r,
	            struct stadion_err *err);
	/* Later minors append here only. */
};

#define STADION_UPGRADE_OPS_SIZE_1_0 \
	(offsetof(struct stadion_upgrade_ops, step) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* STADION_UPGRADE_H */
