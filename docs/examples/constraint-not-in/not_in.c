/*
 * not_in: a constraint operator of our own, NOT_IN: keep an app off the
 * agents whose field is one of a comma-separated list.
 *
 *   "constraints": [["hostname", "NOT_IN", "db1,db2"]]
 *
 * An agent lacking the field is not in the list, so it matches (as
 * Marathon's UNLIKE does).  The list is parsed once, in compile(); match()
 * only compares strings.  Build it against an installed stadion (see
 * README.md) and drop not_in.so into a --plugin_dir.
 */
#include <stdlib.h>
#include <string.h>

#include <stadion/constraint.h>

/* The compiled operand: the items, pointing into TEXT. */
struct not_in {
	size_t n;
	const char **items;
	char text[];
};

static int not_in_compile(void *state, const char *field, const char *operand,
                          void **arg_r, struct stadion_err *err)
{
	size_t len, n = 1;
	struct not_in *ni;
	char *p;

	(void)state;
	(void)field;
	if (operand == NULL || *operand == '\0')
		return stadion_err_set(err, STADION_EINVAL,
		                       "NOT_IN requires a comma-separated list "
		                       "of values, like \"db1,db2\"");
	len = strlen(operand);
	for (const char *s = operand; *s != '\0'; s++)
		n += *s == ',';
	if ((ni = malloc(sizeof(*ni) + len + 1)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	if ((ni->items = calloc(n, sizeof(*ni->items))) == NULL) {
		free(ni);
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	}
	memcpy(ni->text, operand, len + 1);
	ni->n = 0;
	for (p = ni->text;; p++) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		if (*p == '\0') {
			free(ni->items);
			free(ni);
			return stadion_err_set(
				err, STADION_EINVAL,
				"NOT_IN: \"%s\" has an empty item; write "
				"values separated by single commas", operand);
		}
		ni->items[ni->n++] = p;
		if (comma == NULL)
			break;
		p = comma;
	}
	*arg_r = ni;
	return 0;
}

static void not_in_free_arg(void *state, void *arg)
{
	struct not_in *ni = arg;

	(void)state;
	if (ni == NULL)
		return;
	free(ni->items);
	free(ni);
}

static enum stadion_match not_in_match(void *state, const void *arg,
                                       const struct stadion_constraint_view *v)
{
	const struct not_in *ni = arg;

	(void)state;
	if (v->value == NULL)
		return STADION_MATCH_YES;
	for (size_t i = 0; i < ni->n; i++)
		if (strcmp(v->value, ni->items[i]) == 0)
			/* An agent's value never changes: no need to ask
			 * again. */
			return STADION_MATCH_NEVER;
	return STADION_MATCH_YES;
}

static const struct stadion_constraint_ops not_in_ops = {
	.compile = not_in_compile,
	.free_arg = not_in_free_arg,
	.match = not_in_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "NOT_IN", "1.0.0",
                      "the field is none of a comma-separated list",
                      not_in_ops);
