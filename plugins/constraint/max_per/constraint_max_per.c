/*
 * constraint_max_per: MAX_PER, at most N instances per value of the field
 * (["rack_id", "MAX_PER", "2"]).  Marathon 1.10's checkMaxPer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../constraint_common.h"

static int max_per_compile(void *state, const char *field,
                           const char *operand, void **arg_r,
                           struct stadion_err *err)
{
	int64_t n, *arg;

	(void)state;
	(void)field;
	if (!cc_parse_int(operand, &n))
		return stadion_err_set(err, STADION_EINVAL,
		                       "MAX_PER requires an integer value");
	if ((arg = malloc(sizeof(*arg))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	*arg = n;
	*arg_r = arg;
	return 0;
}

static void max_per_free_arg(void *state, void *arg)
{
	(void)state;
	free(arg);
}

static enum stadion_match max_per_match(void *state, const void *arg,
                                        const struct stadion_constraint_view *v)
{
	const int64_t *max = arg;

	(void)state;
	if (v->value == NULL || (int64_t)v->placed_here >= *max)
		return STADION_MATCH_NEVER;
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops max_per_ops = {
	.compile = max_per_compile,
	.free_arg = max_per_free_arg,
	.match = max_per_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "MAX_PER", "1.0.0",
                      "at most N instances per value of the field",
                      max_per_ops);
