/*
 * test_model_id: Marathon path ids (core/model/model_id.c): normalization
 * against a base, "." and "..", the segment regex and the reserved last
 * segments with PathId's exact messages, the safe id and the parent.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "lib/cu_run.h"
#include "model/model_id.h"

static void test_normalize(void)
{
	static const struct {
		const char *id, *base, *want;
	} cases[] = {
		{"web", "/", "/web"},
		{"web", NULL, "/web"},
		{"/web", "/group", "/web"},
		{"web/", "/", "/web"},
		{"//a//b//", "/", "/a/b"},
		{"web", "/group", "/group/web"},
		{"web", "/group/", "/group/web"},
		{"./web", "/group", "/group/web"},
		{"../web", "/group/sub", "/group/web"},
		{"../../../web", "/group", "/web"},
		{"/a/./b/../c", "/", "/a/c"},
		{"/", "/", "/"},
		{"", "/", "/"},
		{"..", "/a", "/"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = model_id_normalize(cases[i].id, cases[i].base);

		CHECK_STR(got, cases[i].want);
		free(got);
	}
}

static void test_check(void)
{
	static const struct {
		const char *id;
		const char *why; /* NULL = valid */
	} cases[] = {
		{"/web", NULL},
		{"/a/b-c/d.e", NULL},
		{"/0", NULL},
		{"/a1.b2.c3", NULL},
		{"/", MODEL_ID_MSG_EMPTY},
		{"/Web", MODEL_ID_MSG_REGEX},
		{"/-web", MODEL_ID_MSG_REGEX},
		{"/web-", MODEL_ID_MSG_REGEX},
		{"/a..b", MODEL_ID_MSG_REGEX},
		{"/a./b", MODEL_ID_MSG_REGEX},
		{"/.a", MODEL_ID_MSG_REGEX},
		{"/a_b", MODEL_ID_MSG_REGEX},
		{"/a b", MODEL_ID_MSG_REGEX},
		{"/ok/Bad/ok", MODEL_ID_MSG_REGEX},
		{"/app/restart", MODEL_ID_MSG_RESERVED},
		{"/app/tasks", MODEL_ID_MSG_RESERVED},
		{"/versions", MODEL_ID_MSG_RESERVED},
		{"/tasks/app", NULL},
		{"/restarts", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = model_id_check(cases[i].id);

		if (cases[i].why == NULL) {
			if (!CHECK(why == NULL))
				fprintf(stderr, "  %s: %s\n", cases[i].id, why);
		} else {
			CHECK_STR(why, cases[i].why);
		}
	}
}

/* The message is Marathon's, with the regex as PathId prints it. */
static void test_messages(void)
{
	CHECK_STR(MODEL_ID_MSG_REGEX,
	          "must fully match regular expression "
	          "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|"
	          "[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'");
	CHECK_STR(MODEL_ID_MSG_EMPTY,
	          "Path must contain at least one path element");
	CHECK(model_id_segment_valid(".", 1));
	CHECK(model_id_segment_valid("..", 2));
	CHECK(!model_id_segment_valid("...", 3));
	CHECK(!model_id_segment_valid("", 0));
}

static void test_safe_parent(void)
{
	static const struct {
		const char *id, *safe, *parent;
	} cases[] = {
		{"/web", "web", "/"},
		{"/a/b/c", "a_b_c", "/a/b"},
		{"/a.b/c-d", "a.b_c-d", "/a.b"},
		{"/", "", "/"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *safe = model_id_safe(cases[i].id);
		char *parent = model_id_parent(cases[i].id);

		CHECK_STR(safe, cases[i].safe);
		CHECK_STR(parent, cases[i].parent);
		free(safe);
		free(parent);
	}
	CHECK(model_id_is_root("/"));
	CHECK(!model_id_is_root("/a"));
}

static CU_TestInfo id_tests[] = {
	{"normalize against a base", test_normalize},
	{"segment regex and reserved words", test_check},
	{"Marathon's messages", test_messages},
	{"safe id and parent", test_safe_parent},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"model_id", NULL, NULL, NULL, NULL, id_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
