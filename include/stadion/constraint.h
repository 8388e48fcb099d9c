/*
 * stadion plugin ABI: constraint operators
 * (kind STADION_PLUGIN_KIND_CONSTRAINT).
 *
 * An operator is named as users write it in an app's constraints
 * (["rack_id", "GROUP_BY", "3"] uses the plugin named "GROUP_BY"; stadiond
 * upper-cases the operator before the lookup, as Marathon does).  It
 * compiles its operand once, when an app is validated, and then answers,
 * for each candidate agent, whether one more instance of the app may go
 * there.  match() is pure and fast: stadiond hands it precomputed counts of
 * the app's placed instances per value of the constraint's field, so no
 * operator scans instances.
 *
 * Fields.  "hostname" and "@hostname" are the agent's hostname; "@region"
 * and "@zone" its fault domain (the agent attributes "region" and "zone");
 * any other field is the agent attribute of that name.  Values reach the
 * operator as text, formatted as Marathon formats Mesos attributes:
 *   text     as is
 *   scalar   at most three decimals, rounded half-even, with "," grouping
 *            thousands (Java's NumberFormat): 2.5, 1,024, 0.333
 *   ranges   [begin-end,...] sorted by begin: [1000-2000,3000-3000]
 *   set      {item,...} sorted: {a,b,c}
 * An agent without the field has the value NULL (type ABSENT); Marathon's
 * operators then match only for UNLIKE.
 *
 * Counting.  Every count in the view is over the app's placed instances:
 * those with a task on an agent, including the ones placed earlier in the
 * same matching run.  Instances on agents lacking the field form one group
 * of their own (the value NULL), as Marathon groups them.
 */
#ifndef STADION_CONSTRAINT_H
#define STADION_CONSTRAINT_H

#include <stadion/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What match() answers.  NO and NEVER both keep the instance off the agent;
 * NEVER also says that placing more instances of the app elsewhere cannot
 * change the answer (UNIQUE once the value is taken, LIKE, IS, MAX_PER at
 * its limit), so stadiond does not ask again in this run.  NO is right for
 * answers that other placements may turn (GROUP_BY waiting for the other
 * groups).  When unsure, answer NO: it is never wrong, only slower. */
enum stadion_match {
	STADION_MATCH_NO = 0,
	STADION_MATCH_YES = 1,
	STADION_MATCH_NEVER = 2,
};

/* The kind of an agent's value for a field. */
enum stadion_value_type {
	STADION_VALUE_ABSENT = 0, /* the agent lacks the field; value NULL */
	STADION_VALUE_TEXT = 1,   /* also the hostname */
	STADION_VALUE_SCALAR = 2,
	STADION_VALUE_RANGES = 3,
	STADION_VALUE_SET = 4,
};

/* The number of the app's placed instances on agents whose field equals
 * VALUE (NULL: on agents lacking the field).  COUNT_CTX is the view's. */
typedef uint32_t stadion_constraint_count_fn(const void *count_ctx,
                                             const char *value);

/* One candidate agent, seen through one constraint's field.  Borrowed for
 * the duration of the call; stadiond fills every member up to SIZE. */
struct stadion_constraint_view {
	uint32_t size;           /* sizeof(struct stadion_constraint_view) */
	uint32_t type;           /* enum stadion_value_type of VALUE */
	const char *field;       /* as the app wrote it: "hostname",
	                          * "@zone", "rack_id" */
	const char *value;       /* the agent's value as text (see above),
	                          * NULL when it lacks the field */
	uint32_t placed_here;    /* app instances in VALUE's group */
	uint32_t placed_total;   /* all placed app instances */
	uint32_t values_used;    /* groups among them (distinct values, the
	                          * agents lacking the field counting as one) */
	uint32_t min_used;       /* instances in the smallest of those groups;
	                          * 0 when nothing is placed */
	uint32_t values_known;   /* distinct values all agents have for the
	                          * field (not counting "lacking") */
	stadion_constraint_count_fn *count; /* counts of any other value */
	const void *count_ctx;
};

struct stadion_constraint_ops {
	stadion_create_fn *create;   /* optional, see plugin.h */
	stadion_destroy_fn *destroy; /* optional, see plugin.h */

	/* compile(state, field, operand, arg_r, err)             required
	 *   Check OPERAND (NULL when the constraint has two elements; "" is
	 *   a value, and not the same as none) for FIELD and turn it into the
	 *   plugin's compiled form, written to *arg_r (it may be NULL; owned
	 *   by the plugin until free_arg).  FIELD and OPERAND are borrowed
	 *   for the call.  A bad operand: fill ERR with the message users see
	 *   in the 422 under the constraint's path ("MAX_PER requires an
	 *   integer value") and return STADION_EINVAL.  The same constraint
	 *   may be compiled more than once (each compiled form is freed).
	 *   Thread: loop. */
	int (*compile)(void *state, const char *field, const char *operand,
	               void **arg_r, struct stadion_err *err);

	/* free_arg(state, arg)                                   optional
	 *   Free what compile() wrote.  Thread: loop. */
	void (*free_arg)(void *state, void *arg);

	/* match(state, arg, view)                                required
	 *   May one more instance go to the agent VIEW describes?  Pure: no
	 *   I/O, no allocation, no state change; it is called millions of
	 *   times.  Values other than enum stadion_match are taken as NO.
	 *   Thread: loop. */
	enum stadion_match (*match)(void *state, const void *arg,
	                            const struct stadion_constraint_view *view);

	/* victim_weight(state, arg, view)                        optional
	 *   On scale-down: how strongly to prefer killing an instance on the
	 *   agent VIEW describes, to keep the placement valid (higher first;
	 *   GROUP_BY answers the size of the instance's group, so groups are
	 *   evened out).  The counts are those of the instances still meant
	 *   to run: each pick is taken out before the next question.  Weights
	 *   of several constraints add up; ties go to Marathon's order
	 *   (condition, then killSelection).  NULL: no preference.  Pure.
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
