/*
 * constraint_group_by: GROUP_BY, spread the instances evenly over the
 * values of the field, optionally over at least N of them
 * (["rack_id", "GROUP_BY", "3"]).
 *
 * Marathon 1.10's checkGroupBy, not the per-group quota of later masters
 * (which divides by zero without a value): accepted iff the agent's value
 * has no instance yet, or at least N values are in use and the agent's
 * value has as few instances as the smallest group in use.  A value of
 * 0 or less is no minimum.
 *
 * On scale-down the weight of a victim is the size of its group, so the
 * largest groups shrink first and the spread stays at most one (Marathon's
 * selectInstancesToKill, reference 3.3).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../constraint_common.h"

static int group_by_compile(void *state, const char *field,
                            const char *operand, void **arg_r,
                            struct stadion_err *err)
{
	int64_t n = 0, *arg;

	(void)state;
	(void)field;
	if (operand != NULL && !cc_parse_int(operand, &n))
		return stadion_err_set(err, STADION_EINVAL,
		                       "GROUP BY must define an integer value "
		                       "or else no value at all");
	if ((arg = malloc(sizeof(*arg))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	*arg = n > 0 ? n : 0;
	*arg_r = arg;
	return 0;
}

static void group_by_free_arg(void *state, void *arg)
{
	(void)state;
	free(arg);
}

static enum stadion_match
group_by_match(void *state, const void *arg,
               const struct stadion_constraint_view *v)
{
	const int64_t *minimum = arg;

	(void)state;
	if (v->value == NULL)
		return STADION_MATCH_NEVER;
	if (v->placed_here == 0)
		return STADION_MATCH_YES;
	/* Not now; the other groups catching up may change that. */
	if ((int64_t)v->values_used >= *minimum &&
	    v->placed_here == v->min_used)
		return STADION_MATCH_YES;
	return STADION_MATCH_NO;
}

static uint32_t group_by_victim_weight(void *state, const void *arg,
                                       const struct stadion_constraint_view *v)
{
	(void)state;
	(void)arg;
	return v->placed_here;
}

static const struct stadion_constraint_ops group_by_ops = {
	.compile = group_by_compile,
	.free_arg = group_by_free_arg,
	.match = group_by_match,
	.victim_weight = group_by_victim_weight,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "GROUP_BY", "1.0.0",
                      "spread instances evenly over the values of the field",
                      group_by_ops);
