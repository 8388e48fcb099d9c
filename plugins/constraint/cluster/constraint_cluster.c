/*
 * constraint_cluster: CLUSTER, every instance on agents sharing one value
 * of the field.  With a value (["rack_id", "CLUSTER", "r1"]) the agent's
 * value must be it; without, the first instance goes anywhere and the
 * others follow it (Marathon 1.10's checkCluster).
 */
#include <stdlib.h>
#include <string.h>

#include <stadion/constraint.h>

static int cluster_compile(void *state, const char *field, const char *operand,
                           void **arg_r, struct stadion_err *err)
{
	char *copy = NULL;

	(void)state;
	(void)field;
	/* Marathon treats "" as no value. */
	if (operand != NULL && *operand != '\0' &&
	    (copy = strdup(operand)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	*arg_r = copy;
	return 0;
}

static void cluster_free_arg(void *state, void *arg)
{
	(void)state;
	free(arg);
}

static enum stadion_match cluster_match(void *state, const void *arg,
                                        const struct stadion_constraint_view *v)
{
	const char *want = arg;

	(void)state;
	if (v->value == NULL)
		return STADION_MATCH_NEVER;
	if (want != NULL)
		return strcmp(v->value, want) == 0 ? STADION_MATCH_YES
		                                   : STADION_MATCH_NEVER;
	/* The first instance picks the value; once one is placed, only its
	 * group may grow, whatever else is placed. */
	if (v->placed_total == 0 || v->placed_here == v->placed_total)
		return STADION_MATCH_YES;
	return STADION_MATCH_NEVER;
}

static const struct stadion_constraint_ops cluster_ops = {
	.compile = cluster_compile,
	.free_arg = cluster_free_arg,
	.match = cluster_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "CLUSTER", "1.0.0",
                      "every instance on one value of the field",
                      cluster_ops);
