/*
 * test_constraint_ops: the bundled constraint operators
 * (plugins/constraint/), each loaded from its built .so against a mock
 * host, table-driven: for an operand, an agent's value and the app's
 * placed instances per value, the answer of match() (and for GROUP_BY the
 * victim weight), and every operand compile() refuses, with Marathon's
 * message (reference 5).
 *
 * The placed instances are a small table of (value, count) pairs, NULL
 * standing for the agents lacking the field; the mock host derives the
 * view's counts from it exactly as stadiond's placement does, and answers
 * count() from it.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <stadion/constraint.h>

#include "lib/cu_run.h"

#ifndef CONSTRAINT_PLUGINS
#error "CONSTRAINT_PLUGINS must name the build's plugins/constraint"
#endif

/* ---- the mock host ---------------------------------------------------- */

static char last_log[512];

static void mock_log(void *ctx, enum stadion_log_level level, const char *fmt,
                     ...)
{
	va_list ap;

	(void)ctx;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static const struct stadion_host mock_host = {
	.size = sizeof(struct stadion_host),
	.abi_major = STADION_PLUGIN_ABI_MAJOR,
	.abi_minor = STADION_PLUGIN_ABI_MINOR,
	.log = mock_log,
};

/* One loaded operator. */
struct op {
	const char *name;  /* "UNIQUE" */
	const char *dir;   /* "unique" */
	void *dl;
	const struct stadion_constraint_ops *ops;
	void *state;
};

static struct op ops_table[] = {
	{"UNIQUE", "unique", NULL, NULL, NULL},
	{"CLUSTER", "cluster", NULL, NULL, NULL},
	{"GROUP_BY", "group_by", NULL, NULL, NULL},
	{"LIKE", "like", NULL, NULL, NULL},
	{"UNLIKE", "unlike", NULL, NULL, NULL},
	{"MAX_PER", "max_per", NULL, NULL, NULL},
	{"IS", "is", NULL, NULL, NULL},
};
#define N_OPS (sizeof(ops_table) / sizeof(ops_table[0]))

static struct op *op_get(const char *name)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (strcmp(ops_table[i].name, name) == 0)
			return &ops_table[i];
	return NULL;
}

/* Load every operator as stadiond would: the entry symbol, the descriptor
 * checks that matter here, create() with the mock host. */
static int load_all(void)
{
	for (size_t i = 0; i < N_OPS; i++) {
		struct op *o = &ops_table[i];
		char path[1024];
		stadion_plugin_describe_fn *fn;
		const struct stadion_plugin_desc *d;
		struct stadion_err err = {0};

		snprintf(path, sizeof(path), "%s/%s/.libs/constraint_%s.so",
		         CONSTRAINT_PLUGINS, o->dir, o->dir);
		if ((o->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			fprintf(stderr, "%s\n", dlerror());
			return 1;
		}
		*(void **)&fn = dlsym(o->dl, STADION_PLUGIN_ENTRY_NAME);
		if (fn == NULL || (d = fn()) == NULL ||
		    d->magic != STADION_PLUGIN_MAGIC ||
		    d->kind != STADION_PLUGIN_KIND_CONSTRAINT ||
		    strcmp(d->name, o->name) != 0 ||
		    d->ops_size < STADION_CONSTRAINT_OPS_SIZE_1_0) {
			fprintf(stderr, "%s: not the %s operator\n", path,
			        o->name);
			return 1;
		}
		o->ops = d->ops;
		if (o->ops->create != NULL &&
		    o->ops->create(&mock_host, NULL, &o->state, &err) != 0) {
			fprintf(stderr, "%s: create: %s\n", path, err.msg);
			return 1;
		}
	}
	return 0;
}

static int unload_all(void)
{
	for (size_t i = 0; i < N_OPS; i++) {
		struct op *o = &ops_table[i];

		if (o->ops != NULL && o->ops->destroy != NULL)
			o->ops->destroy(o->state);
		if (o->dl != NULL)
			dlclose(o->dl);
	}
	return 0;
}

/* ---- placed instances ------------------------------------------------- */

#define ABSENT_V "\x01" /* in a table: the agents lacking the field */

struct placed {
	const char *value; /* ABSENT_V for the group lacking the field */
	uint32_t n;
};

struct table {
	struct placed p[6]; /* ends at value NULL */
};

static uint32_t table_count(const void *ctx, const char *value)
{
	const struct table *t = ctx;
	const char *key = value != NULL ? value : ABSENT_V;

	for (size_t i = 0; t->p[i].value != NULL; i++)
		if (strcmp(t->p[i].value, key) == 0)
			return t->p[i].n;
	return 0;
}

/* The view of an agent with VALUE (NULL: lacking) of TYPE against T. */
static struct stadion_constraint_view view_of(const char *field,
                                              uint32_t type,
                                              const char *value,
                                              const struct table *t)
{
	struct stadion_constraint_view v = {
		.size = sizeof(v),
		.type = value != NULL ? type : STADION_VALUE_ABSENT,
		.field = field,
		.value = value,
		.count = table_count,
		.count_ctx = t,
	};

	v.placed_here = table_count(t, value);
	for (size_t i = 0; t->p[i].value != NULL; i++) {
		if (t->p[i].n == 0)
			continue;
		v.placed_total += t->p[i].n;
		if (v.values_used++ == 0 || t->p[i].n < v.min_used)
			v.min_used = t->p[i].n;
		if (strcmp(t->p[i].value, ABSENT_V) != 0)
			v.values_known++;
	}
	return v;
}

/* ---- the tables ------------------------------------------------------- */

#define T STADION_VALUE_TEXT
#define S STADION_VALUE_SCALAR
#define YES STADION_MATCH_YES
#define NO STADION_MATCH_NO
#define NEVER STADION_MATCH_NEVER

struct row {
	const char *field, *operand; /* operand NULL: two elements */
	uint32_t type;
	const char *value;           /* the agent's; NULL: lacking */
	struct table placed;
	enum stadion_match want;
};

static void run_rows(const char *opname, const struct row *rows, size_t n)
{
	struct op *o = op_get(opname);

	if (!CHECK(o != NULL && o->ops != NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct stadion_err err = {0};
		struct stadion_constraint_view v;
		void *arg = NULL;
		enum stadion_match got;

		if (!CHECK(o->ops->compile(o->state, r->field, r->operand,
		                           &arg, &err) == 0)) {
			fprintf(stderr, "%s row %zu: %s\n", opname, i, err.msg);
			continue;
		}
		v = view_of(r->field, r->type, r->value, &r->placed);
		got = o->ops->match(o->state, arg, &v);
		if (!CHECK_INT(got, r->want))
			fprintf(stderr, "%s row %zu (%s %s on %s)\n", opname,
			        i, r->field, r->operand ? r->operand : "-",
			        r->value ? r->value : "(lacking)");
		if (o->ops->free_arg != NULL)
			o->ops->free_arg(o->state, arg);
	}
}

struct bad {
	const char *operand;
	const char *message;
};

static void run_bad(const char *opname, const struct bad *bad, size_t n)
{
	struct op *o = op_get(opname);

	if (!CHECK(o != NULL && o->ops != NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		struct stadion_err err = {0};
		void *arg = NULL;

		CHECK_INT(o->ops->compile(o->state, "f", bad[i].operand, &arg,
		                          &err),
		          STADION_EINVAL);
		CHECK_INT(err.code, STADION_EINVAL);
		CHECK_STR(err.msg, bad[i].message);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NONE {{{NULL, 0}}}

static void test_unique(void)
{
	static const struct row rows[] = {
		{"hostname", NULL, T, "a", NONE, YES},
		{"hostname", NULL, T, "a", {{{"b", 1}}}, YES},
		{"hostname", NULL, T, "a", {{{"a", 1}, {"b", 1}}}, NEVER},
		{"rack_id", NULL, T, "r1", {{{"r2", 3}}}, YES},
		{"rack_id", NULL, T, "r1", {{{"r1", 1}}}, NEVER},
		{"rack_id", NULL, T, NULL, NONE, NEVER},
		{"cores", NULL, S, "2.5", {{{"2.5", 1}}}, NEVER},
	};
	static const struct bad bad[] = {
		{"", "UNIQUE does not accept a value"},
		{"x", "UNIQUE does not accept a value"},
	};

	run_rows("UNIQUE", rows, N(rows));
	run_bad("UNIQUE", bad, N(bad));
}

static void test_cluster(void)
{
	static const struct row rows[] = {
		{"rack_id", "r1", T, "r1", NONE, YES},
		{"rack_id", "r1", T, "r2", NONE, NEVER},
		{"rack_id", "r1", T, NULL, NONE, NEVER},
		{"hostname", "h1", T, "h1", {{{"h1", 4}}}, YES},
		/* without a value: the first goes anywhere, the rest follow */
		{"rack_id", NULL, T, "r2", NONE, YES},
		{"rack_id", "", T, "r2", NONE, YES},
		{"rack_id", NULL, T, "r2", {{{"r2", 2}}}, YES},
		{"rack_id", NULL, T, "r1", {{{"r2", 2}}}, NEVER},
		{"rack_id", NULL, T, "r1", {{{ABSENT_V, 1}}}, NEVER},
	};

	run_rows("CLUSTER", rows, N(rows));
}

static void test_group_by(void)
{
	static const struct row rows[] = {
		/* no value: a new group, or the smallest in use */
		{"rack_id", NULL, T, "r1", NONE, YES},
		{"rack_id", NULL, T, "r2", {{{"r1", 1}}}, YES},
		{"rack_id", NULL, T, "r1", {{{"r1", 1}}}, YES},
		{"rack_id", NULL, T, "r1", {{{"r1", 2}, {"r2", 1}}}, NO},
		{"rack_id", NULL, T, "r2", {{{"r1", 2}, {"r2", 1}}}, YES},
		{"rack_id", NULL, T, "r1", {{{"r1", 2}, {"r2", 2}}}, YES},
		{"rack_id", NULL, T, NULL, NONE, NEVER},
		/* the group lacking the field counts (Marathon's None key) */
		{"rack_id", NULL, T, "r1", {{{"r1", 2}, {ABSENT_V, 1}}}, NO},
		/* a value: used groups wait until that many are in use */
		{"rack_id", "2", T, "r1", {{{"r1", 1}}}, NO},
		{"rack_id", "2", T, "r2", {{{"r1", 1}}}, YES},
		{"rack_id", "2", T, "r1", {{{"r1", 1}, {"r2", 1}}}, YES},
		{"rack_id", "3", T, "r1", {{{"r1", 1}, {"r2", 1}}}, NO},
		{"rack_id", "0", T, "r1", {{{"r1", 1}}}, YES},
		{"rack_id", "-4", T, "r1", {{{"r1", 1}}}, YES},
		{"hostname", "+2", T, "h1", {{{"h1", 1}, {"h2", 1}}}, YES},
	};
	static const struct bad bad[] = {
		{"", "GROUP BY must define an integer value or else no value "
		     "at all"},
		{"two", "GROUP BY must define an integer value or else no "
		        "value at all"},
		{"1.5", "GROUP BY must define an integer value or else no "
		        "value at all"},
		{"2147483648", "GROUP BY must define an integer value or else "
		               "no value at all"},
	};
	struct op *o = op_get("GROUP_BY");
	struct table t = {{{"r1", 3}, {"r2", 1}}};
	struct stadion_constraint_view v;
	struct stadion_err err = {0};
	void *arg = NULL;

	run_rows("GROUP_BY", rows, N(rows));
	run_bad("GROUP_BY", bad, N(bad));
	/* Scale-down: the largest group weighs most. */
	if (!CHECK(o != NULL && o->ops->victim_weight != NULL &&
	           o->ops->compile(o->state, "rack_id", NULL, &arg,
	                           &err) == 0))
		return;
	v = view_of("rack_id", T, "r1", &t);
	CHECK_INT(o->ops->victim_weight(o->state, arg, &v), 3);
	v = view_of("rack_id", T, "r2", &t);
	CHECK_INT(o->ops->victim_weight(o->state, arg, &v), 1);
	o->ops->free_arg(o->state, arg);
}

static void test_like(void)
{
	static const struct row rows[] = {
		{"hostname", "web-[0-9]+", T, "web-12", NONE, YES},
		/* the whole value, as Java's String.matches */
		{"hostname", "web-[0-9]+", T, "web-12x", NONE, NEVER},
		{"hostname", "web", T, "my-web", NONE, NEVER},
		/* leftmost-longest: the second branch covers the value */
		{"rack_id", "r|r1", T, "r1", NONE, YES},
		{"rack_id", "r(1|2)", T, "r2", NONE, YES},
		{"rack_id", "r(1|2)", T, "r3", NONE, NEVER},
		{"rack_id", "r.*", T, NULL, NONE, NEVER},
		{"cores", "2\\.5", S, "2.5", NONE, YES},
		{"ports", "\\[.*\\]", STADION_VALUE_RANGES, "[1-5,8-9]", NONE,
		 YES},
	};
	static const struct bad bad[] = {
		{NULL, "LIKE and UNLIKE require a non-empty, regular "
		       "expression value"},
		{"", "LIKE and UNLIKE require a non-empty, regular expression "
		     "value"},
		{"web-(", "is not a valid regular expression"},
		{"[a-", "is not a valid regular expression"},
	};

	run_rows("LIKE", rows, N(rows));
	run_bad("LIKE", bad, N(bad));
}

static void test_unlike(void)
{
	static const struct row rows[] = {
		{"hostname", "db-.*", T, "db-1", NONE, NEVER},
		{"hostname", "db-.*", T, "web-1", NONE, YES},
		{"hostname", "db", T, "db-1", NONE, YES},
		/* the one operator an agent lacking the field satisfies */
		{"rack_id", "r1", T, NULL, NONE, YES},
	};
	static const struct bad bad[] = {
		{NULL, "LIKE and UNLIKE require a non-empty, regular "
		       "expression value"},
		{"(", "is not a valid regular expression"},
	};

	run_rows("UNLIKE", rows, N(rows));
	run_bad("UNLIKE", bad, N(bad));
}

static void test_max_per(void)
{
	static const struct row rows[] = {
		{"rack_id", "2", T, "r1", NONE, YES},
		{"rack_id", "2", T, "r1", {{{"r1", 1}}}, YES},
		{"rack_id", "2", T, "r1", {{{"r1", 2}}}, NEVER},
		{"rack_id", "2", T, "r2", {{{"r1", 2}}}, YES},
		{"rack_id", "0", T, "r1", NONE, NEVER},
		{"rack_id", "-1", T, "r1", NONE, NEVER},
		{"rack_id", "2", T, NULL, NONE, NEVER},
		{"hostname", "1", T, "h", {{{"h", 1}}}, NEVER},
	};
	static const struct bad bad[] = {
		{NULL, "MAX_PER requires an integer value"},
		{"", "MAX_PER requires an integer value"},
		{"two", "MAX_PER requires an integer value"},
		{"2 ", "MAX_PER requires an integer value"},
	};

	run_rows("MAX_PER", rows, N(rows));
	run_bad("MAX_PER", bad, N(bad));
}

static void test_is(void)
{
	static const struct row rows[] = {
		{"@zone", "z1", T, "z1", NONE, YES},
		{"@zone", "z1", T, "z2", NONE, NEVER},
		{"@zone", "z1", T, NULL, NONE, NEVER},
		{"@zone", NULL, T, "", NONE, YES},
		/* scalars compare as numbers */
		{"cores", "2.50", S, "2.5", NONE, YES},
		{"cores", "1024", S, "1,024", NONE, YES},
		{"cores", "2", S, "2.5", NONE, NEVER},
		/* a text attribute compares as text */
		{"rack", "2.50", T, "2.5", NONE, NEVER},
		{"set", "a", STADION_VALUE_SET, "{a}", NONE, NEVER},
	};
	static const struct bad bad[] = {
		{"a b", "IS only supports Mesos text and float values (see "
		        "http://mesos.apache.org/documentation/latest/"
		        "attributes-resources/)"},
		{"{a,b}", "IS only supports Mesos text and float values (see "
		          "http://mesos.apache.org/documentation/latest/"
		          "attributes-resources/)"},
	};

	run_rows("IS", rows, N(rows));
	run_bad("IS", bad, N(bad));
}

int main(void)
{
	CU_TestInfo unique[] = {{"table", test_unique}, CU_TEST_INFO_NULL};
	CU_TestInfo cluster[] = {{"table", test_cluster}, CU_TEST_INFO_NULL};
	CU_TestInfo group_by[] = {{"table and victims", test_group_by},
	                          CU_TEST_INFO_NULL};
	CU_TestInfo like[] = {{"table", test_like}, CU_TEST_INFO_NULL};
	CU_TestInfo unlike[] = {{"table", test_unlike}, CU_TEST_INFO_NULL};
	CU_TestInfo max_per[] = {{"table", test_max_per}, CU_TEST_INFO_NULL};
	CU_TestInfo is[] = {{"table", test_is}, CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {
		{"UNIQUE", load_all, NULL, NULL, NULL, unique},
		{"CLUSTER", NULL, NULL, NULL, NULL, cluster},
		{"GROUP_BY", NULL, NULL, NULL, NULL, group_by},
		{"LIKE", NULL, NULL, NULL, NULL, like},
		{"UNLIKE", NULL, NULL, NULL, NULL, unlike},
		{"MAX_PER", NULL, NULL, NULL, NULL, max_per},
		{"IS", NULL, unload_all, NULL, NULL, is},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
