/* Fixture: a constraint operator with a lower-case name ("unique"). */
#include <stadion/constraint.h>

static int lower_compile(void *state, const char *field, const char *operand,
                         void **arg_r, struct stadion_err *err)
{
	*arg_r = NULL;
	return 0;
}

static enum stadion_match
lower_match(void *state, const void *arg,
            const struct stadion_constraint_view *view)
{
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops lower_ops = {
	.compile = lower_compile,
	.match = lower_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "unique", "1",
                      "fixture: lower-case constraint", lower_ops);
