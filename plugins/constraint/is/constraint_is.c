/*
 * constraint_is: IS, the agent's value equals the operand
 * (["@zone", "IS", "z1"]).  Marathon accepts only Mesos text and float
 * literals as the operand; a scalar attribute is compared as a number, so
 * "2.50" is 2.5 and "1024" is the value formatted "1,024".
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/constraint.h>

struct is_arg {
	bool numeric;  /* the operand reads as a number */
	double number;
	char text[];   /* the operand */
};

/* Marathon's MesosLiteralOrFloatValue: ^[a-zA-Z0-9_/.-]*$ */
static bool literal_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_/.-", *s) != NULL))
			return false;
	return true;
}

/* S as a number, grouping commas skipped; false when it is none. */
static bool number_of(const char *s, double *v_r)
{
	char buf[64], *end;
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ',')
			continue;
		if (n + 1 >= sizeof(buf))
			return false;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	if (n == 0)
		return false;
	*v_r = strtod(buf, &end);
	return *end == '\0';
}

static int is_compile(void *state, const char *field, const char *operand,
                      void **arg_r, struct stadion_err *err)
{
	const char *text = operand != NULL ? operand : "";
	size_t len = strlen(text);
	struct is_arg *a;

	(void)state;
	(void)field;
	if (!literal_ok(text))
		return stadion_err_set(err, STADION_EINVAL,
		                       "IS only supports Mesos text and float "
		                       "values (see http://mesos.apache.org/"
		                       "documentation/latest/"
		                       "attributes-resources/)");
	if ((a = malloc(sizeof(*a) + len + 1)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	memcpy(a->text, text, len + 1);
	a->numeric = number_of(text, &a->number);
	*arg_r = a;
	return 0;
}

static void is_free_arg(void *state, void *arg)
{
	(void)state;
	free(arg);
}

static enum stadion_match is_match(void *state, const void *arg,
                                   const struct stadion_constraint_view *v)
{
	const struct is_arg *a = arg;
	double n;

	(void)state;
	switch (v->type) {
	case STADION_VALUE_TEXT:
		if (strcmp(v->value, a->text) == 0)
			return STADION_MATCH_YES;
		break;
	case STADION_VALUE_SCALAR:
		if (a->numeric && number_of(v->value, &n) && n == a->number)
			return STADION_MATCH_YES;
		break;
	default:
		/* Ranges and sets cannot be written as an operand. */
		break;
	}
	return STADION_MATCH_NEVER;
}

static const struct stadion_constraint_ops is_ops = {
	.compile = is_compile,
	.free_arg = is_free_arg,
	.match = is_match,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_CONSTRAINT, "IS", "1.0.0",
                      "the field equals a text or number", is_ops);
