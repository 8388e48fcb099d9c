/*
 * constraint_unlike: UNLIKE, the agent's value must not match a regular
 * expression as a whole (["hostname", "UNLIKE", "db-.*"]).  The one
 * operator an agent lacking the field satisfies (Marathon's
 * checkMissingAttribute).
 */
#include "../constraint_common.h"

static int unlike_compile(void *state, const char *field, const char *operand,
                          void **arg_r, struct stadion_err *err)
{
	(void)state;
	(void)field;
	return cc_regex_compile(operand, arg_r, err);
}

static enum stadion_match unlike_match(void *state, const void *arg,
                                       const struct stadion_constraint_view *v)
{
	(void)state;
	if (v->value != NULL && cc_regex_whole(arg, v->value))
		return STADION_MATCH_NEVER;
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops unlike_ops = {
	.compile = unlike_compile,
	.free_arg = cc_regex_free,
	.match = unlike_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "UNLIKE", "1.0.0",
                      "the field does not match a regular expression",
                      unlike_ops);
