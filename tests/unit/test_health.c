/*
 * test_health: health_check_parse, the reading of one healthChecks element
 * with Marathon's defaults (reference 4.1) that core/health schedules from.
 * The checks themselves run against real processes in
 * tests/integration/test_health*.c.
 */
#include "config.h"

#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "health/health.h"
#include "lib/cu_run.h"

static int parse(const char *text, size_t n_ports, struct health_check *c,
                 char *err, size_t len)
{
	struct json_object *o = json_tokener_parse(text);
	int rc = health_check_parse(o, n_ports, c, err, len);

	json_object_put(o);
	return rc;
}

static void test_defaults(void)
{
	struct health_check c;
	char err[256];

	if (!CHECK_INT(parse("{}", 1, &c, err, sizeof(err)), 0))
		return;
	CHECK_STR(c.protocol, "HTTP");
	CHECK_INT(c.grace_period_s, 300);
	CHECK_INT(c.interval_s, 60);
	CHECK_INT(c.timeout_s, 20);
	CHECK_INT(c.max_failures, 3);
	CHECK_INT(c.port_index, 0);
	CHECK_INT(c.port, -1);
	CHECK_STR(c.path, "/");
	CHECK(!c.ignore_http1xx);
	CHECK(c.command == NULL);
	health_check_clear(&c);
}

static void test_fields(void)
{
	struct health_check c;
	char err[256];

	if (CHECK_INT(parse("{\"protocol\":\"HTTPS\",\"path\":\"/h\","
	                    "\"port\":9,\"portIndex\":1,"
	                    "\"gracePeriodSeconds\":0,\"intervalSeconds\":2,"
	                    "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":0,"
	                    "\"ignoreHttp1xx\":true}",
	                    2, &c, err, sizeof(err)),
	              0)) {
		CHECK_STR(c.protocol, "HTTPS");
		CHECK_STR(c.path, "/h");
		CHECK_INT(c.port, 9);
		CHECK_INT(c.port_index, 1);
		CHECK_INT(c.grace_period_s, 0);
		CHECK_INT(c.interval_s, 2);
		CHECK_INT(c.timeout_s, 1);
		CHECK_INT(c.max_failures, 0);
		CHECK(c.ignore_http1xx);
		health_check_clear(&c);
	}
	if (CHECK_INT(parse("{\"protocol\":\"COMMAND\",\"command\":{"
	                    "\"value\":\"exit 0\"}}",
	                    0, &c, err, sizeof(err)),
	              0)) {
		CHECK_STR(c.command, "exit 0");
		CHECK_INT(c.port_index, -1);
		health_check_clear(&c);
	}
}

static void test_refused(void)
{
	static const struct {
		const char *json, *message;
		size_t n_ports;
	} cases[] = {
		{"{\"protocol\":\"TCP\"}",
		 "Health check port indices must address an element of the "
		 "ports array or container port mappings.", 0},
		{"{\"portIndex\":2}",
		 "Health check port indices must address an element of the "
		 "ports array or container port mappings.", 2},
		{"{\"protocol\":\"COMMAND\"}",
		 "a COMMAND health check needs command.value", 0},
		{"{\"intervalSeconds\":0}", "intervalSeconds must be 1 or more",
		 1},
		{"{\"timeoutSeconds\":-1}",
		 "timeoutSeconds must be a whole number of 0 or more", 1},
		{"[]", "a health check must be an object", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct health_check c;
		char err[256] = "";

		CHECK_INT(parse(cases[i].json, cases[i].n_ports, &c, err,
		                sizeof(err)),
		          -1);
		CHECK_STR(err, cases[i].message);
	}
}

static CU_TestInfo tests[] = {
	{"defaults", test_defaults},
	{"every field", test_fields},
	{"refusals name the field", test_refused},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"health_check_parse", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
