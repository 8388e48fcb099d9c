/*
 * constraint_unique: UNIQUE, at most one instance of the app per value of
 * the field (["hostname", "UNIQUE"]: one per host).  Marathon 1.10:
 * accepted iff no placed instance has the agent's value.
 */
#include <stadion/constraint.h>

static int unique_compile(void *state, const char *field, const char *operand,
                          void **arg_r, struct stadion_err *err)
{
	(void)state;
	(void)field;
	/* Marathon refuses any value, the empty string too. */
	if (operand != NULL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "UNIQUE does not accept a value");
	*arg_r = NULL;
	return 0;
}

static enum stadion_match unique_match(void *state, const void *arg,
                                       const struct stadion_constraint_view *v)
{
	(void)state;
	(void)arg;
	/* Counts only grow within a run: a taken value stays taken. */
	if (v->value == NULL || v->placed_here > 0)
		return STADION_MATCH_NEVER;
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops unique_ops = {
	.compile = unique_compile,
	.match = unique_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "UNIQUE", "1.0.0",
                      "one instance per value of the field", unique_ops);
