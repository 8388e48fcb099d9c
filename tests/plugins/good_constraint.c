/* Fixture: a well-formed constraint operator "UNIQUE_TEST". */
#include <stadion/constraint.h>

static int unique_compile(void *state, const char *field, const char *operand,
                          void **arg_r, struct stadion_err *err)
{
	*arg_r = NULL;
	return 0;
}

static enum stadion_match
unique_match(void *state, const void *arg,
             const struct stadion_constraint_view *view)
{
	return view->placed_here == 0 ? STADION_MATCH_YES : STADION_MATCH_NO;
}

static const struct stadion_constraint_ops unique_ops = {
	.compile = unique_compile,
	.match = unique_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "UNIQUE_TEST", "0.1",
                      "fixture: good constraint", unique_ops);
