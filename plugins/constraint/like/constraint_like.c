/*
 * constraint_like: LIKE, the agent's value must match a regular
 * expression as a whole (["hostname", "LIKE", "web-[0-9]+"]).  POSIX
 * extended syntax (regcomp), not Java's: see docs/api.md.  An agent
 * lacking the field never matches.
 */
#include "../constraint_common.h"

static int like_compile(void *state, const char *field, const char *operand,
                        void **arg_r, struct stadion_err *err)
{
	(void)state;
	(void)field;
	return cc_regex_compile(operand, arg_r, err);
}

static enum stadion_match like_match(void *state, const void *arg,
                                     const struct stadion_constraint_view *v)
{
	(void)state;
	if (v->value == NULL || !cc_regex_whole(arg, v->value))
		return STADION_MATCH_NEVER;
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops like_ops = {
	.compile = like_compile,
	.free_arg = cc_regex_free,
	.match = like_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "LIKE", "1.0.0",
                      "the field matches a regular expression", like_ops);
