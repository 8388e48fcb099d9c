/*
 * stadion plugin ABI: constraint operators (kind STADION_PLUGIN_KIND_CONSTRAINT).
 *
 * An operator is named as users write it in an app's constraints
 * (["rack_id", "GROUP_BY", "3"] uses the plugin named "GROUP_BY").  It
 * compiles its operand once when an app is validated and then answers, for
 * each candidate agent, whether one more instance may go there.  match() is
 * pure and fast: stadiond hands it precomputed counts, so no operator scans
 * the app's instances.
 *
 * Status: the members below are ABI 1.0.  The placement issue may still append
 * members before 1.0 is released; see plugin.h for the growth rules.
 */
#ifndef STADION_CONSTRAINT_H
#define STADION_CONSTRAINT_H

#include <stadion/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum stadion_match {
	STADION_MATCH_NO = 0,
	STADION_MATCH_YES = 1,
};

/* Per-value instance counts of the app being placed, keyed by the value of
 * the constraint's field.  Returns the number of the app's instances on
 * agents whose field equals VALUE. */
typedef uint32_t stadion_constraint_count_fn(const void *count_ctx,
                                             const char *value);

/* One candidate agent, seen through one constraint's field.  Borrowed for
 * the duration of the call. */
struct stadion_constraint_view {
	uint32_t size;           /* sizeof(struct stadion_constraint_view) */
	const char *field;       /* "hostname", "@region", "@zone", "rack_id" */
	const char *value;       /* the agent's value of field as text (scalars
	                          * formatted as Marathon does), NULL when the
	                          * agent lacks the field */
	uint32_t placed_here;    /* app instances on agents with this value */
	uint32_t placed_total;   /* app instances placed on agents having field */
	uint32_t values_used;    /* distinct values among those instances */
	uint32_t values_known;   /* distinct values offered by all agents */
	uint32_t min_per_value;  /* fewest instances on any known value (0 when
	                          * some known value has none) */
	stadion_constraint_count_fn *count; /* counts for any other value */
	const void *count_ctx;
};

struct stadion_constraint_ops {
	stadion_create_fn *create;   /* optional, see plugin.h */
	stadion_destroy_fn *destroy; /* optional, see plugin.h */

	/* compile(state, field, operand, arg_r, err)             required
	 *   Check OPERAND (NULL when the constraint has none) for FIELD and
	 *   turn it into the plugin's compiled form, written to *arg_r (owned
	 *   by the plugin until free_arg).  A bad operand: fill ERR with the
	 *   message users see in the 422 and return STADION_EINVAL.
	 *   Thread: loop. */
	int (*compile)(void *state, const char *field, const char *operand,
	               void **arg_r, struct stadion_err *err);

	/* free_arg(state, arg)                                   optional
	 *   Free what compile() wrote.  Thread: loop. */
	void (*free_arg)(void *state, void *arg);

	/* match(state, arg, view)                                required
	 *   May one more instance go to the agent VIEW describes?  Pure: no
	 *   I/O, no allocation, no state change.  Thread: loop. */
	enum stadion_match (*match)(void *state, const void *arg,
	                            const struct stadion_constraint_view *view);

	/* victim_weight(state, arg, view)                        optional
	 *   On scale-down: how strongly an instance on the agent VIEW
	 *   describes should be killed to keep the placement valid (higher
	 *   first; GROUP_BY prefers the largest groups).  NULL: no preference.
	 *   Thread: loop. */
	uint32_t (*victim_weight)(void *state, const void *arg,
	                          const struct stadion_constraint_view *view);
	/* Later minors append here only. */
};

#define STADION_CONSTRAINT_OPS_SIZE_1_0                                   \
	(offsetof(struct stadion_constraint_ops, victim_weight) +         \
	 sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* STADION_CONSTRAINT_H */
