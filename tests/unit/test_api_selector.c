/*
 * test_api_selector: Marathon's label selector (core/api/api_selector.c):
 * every form, escapes, blanks, "in" as a label name, the label that must
 * exist even for != and notin, and the 422 messages of what does not
 * parse.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "api/api_selector.h"
#include "lib/cu_run.h"
#include "model/model_app.h"

/* An app with the labels of LABELS_JSON (an object's text). */
static struct app *app_with(const char *labels_json)
{
	char text[512];
	struct json_object *in;
	struct model_errors errs;
	struct app *app = NULL;

	snprintf(text, sizeof(text),
	         "{\"id\":\"/a\",\"cmd\":\"sleep 10\",\"labels\":%s}",
	         labels_json);
	in = json_tokener_parse(text);
	model_errors_init(&errs);
	if (in == NULL || model_app_parse(in, "/", NULL, &app, &errs) != 0)
		app = NULL;
	model_errors_clear(&errs);
	json_object_put(in);
	return app;
}

/* Whether QUERY parses and selects APP; -1 when it does not parse. */
static int selects(const char *query, const struct app *app)
{
	struct api_selector *sel = NULL;
	char err[256];
	int rc;

	if (api_selector_parse(query, &sel, err, sizeof(err)) != 0) {
		fprintf(stderr, "\n\"%s\": %s\n", query, err);
		return -1;
	}
	rc = api_selector_match(sel, app) ? 1 : 0;
	api_selector_free(sel);
	return rc;
}

static void test_forms(void)
{
	struct app *prod = app_with("{\"env\":\"prod\",\"tier\":\"web\"}");
	struct app *bare = app_with("{}");

	if (!CHECK(prod != NULL && bare != NULL))
		goto out;
	CHECK_INT(selects("env", prod), 1);
	CHECK_INT(selects("nope", prod), 0);
	CHECK_INT(selects("env==prod", prod), 1);
	CHECK_INT(selects("env == qa", prod), 0);
	CHECK_INT(selects("env!=qa", prod), 1);
	CHECK_INT(selects("env!=prod", prod), 0);
	CHECK_INT(selects("env in (qa, prod)", prod), 1);
	CHECK_INT(selects("env in (qa)", prod), 0);
	CHECK_INT(selects("env in ()", prod), 0);
	CHECK_INT(selects("env notin (qa,dev)", prod), 1);
	CHECK_INT(selects("env notin (prod)", prod), 0);
	/* Comma: all must hold. */
	CHECK_INT(selects("env==prod, tier", prod), 1);
	CHECK_INT(selects("env==prod,tier==db", prod), 0);
	/* != and notin need the label. */
	CHECK_INT(selects("env!=prod", bare), 0);
	CHECK_INT(selects("env notin (prod)", bare), 0);
	/* Nothing: everything. */
	CHECK_INT(selects("", bare), 1);
	CHECK_INT(selects("  ", prod), 1);
out:
	model_app_free(prod);
	model_app_free(bare);
}

static void test_terms(void)
{
	struct app *odd = app_with("{\"a b\":\"x,y\",\"in\":\"1\",\"index\":"
	                           "\"2\",\"k.-_9\":\"v\"}");

	if (!CHECK(odd != NULL))
		return;
	/* Anything escaped with a backslash. */
	CHECK_INT(selects("a\\ b==x\\,y", odd), 1);
	CHECK_INT(selects("a\\ b in (x\\,y, z)", odd), 1);
	CHECK_INT(selects("k.-_9==v", odd), 1);
	/* "in" and "index" are labels when no set follows. */
	CHECK_INT(selects("in", odd), 1);
	CHECK_INT(selects("index, in==1", odd), 1);
	model_app_free(odd);
}

static void expect_error(const char *query, const char *message)
{
	struct api_selector *sel = NULL;
	char err[256] = "";

	CHECK_INT(api_selector_parse(query, &sel, err, sizeof(err)), -1);
	CHECK(sel == NULL);
	CHECK_STR(err, message);
}

static void test_errors(void)
{
	expect_error("env==", "Can not parse label selector env==. Reason: a "
	                      "label or value expected but end of source "
	                      "found");
	expect_error("env,", "Can not parse label selector env,. Reason: a "
	                     "label or value expected but end of source found");
	expect_error("a b", "Can not parse label selector a b. Reason: ',' "
	                    "or end of input expected but 'b' found");
	expect_error("env in (a b)", "Can not parse label selector env in (a "
	                             "b). Reason: ')' expected but 'b' found");
	expect_error("env in (a", "Can not parse label selector env in (a. "
	                          "Reason: ')' expected but end of source "
	                          "found");
	expect_error("!x", "Can not parse label selector !x. Reason: a label "
	                   "or value expected but '!' found");
}

static CU_TestInfo selector_tests[] = {
	{"every form", test_forms},
	{"terms: escapes, keywords as labels", test_terms},
	{"parse errors", test_errors},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"label selector", NULL, NULL, NULL, NULL, selector_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
