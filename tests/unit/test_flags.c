/*
 * test_flags: flags_parse() (core/flags.c): defaults, the two command-line
 * spellings, booleans, the MARATHON_ / STADION_ environment and its
 * precedence, list flags, every error message, --help and --version.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "flags.h"
#include "lib/cu_run.h"

static struct flags f;
static char err[1024];

#define ARGV(...) ((char *const[]){"stadiond", __VA_ARGS__, NULL})
#define NO_ARGS ((char *const[]){"stadiond", NULL})
#define ENV(...) ((char *const[]){__VA_ARGS__, NULL})
#define NO_ENV ((char *const[]){NULL})

/* Parse ARGV (NULL-terminated) and ENVP into f, after freeing what the
 * previous parse left. */
static enum flags_result parse(char *const argv[], char *const envp[])
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	flags_free(&f);
	memset(err, 0, sizeof(err));
	return flags_parse(&f, argc, argv, envp, err, sizeof(err));
}

/* Parsing ARGV and ENVP fails with exactly MESSAGE. */
static void expect_error_(char *const argv[], char *const envp[],
                          const char *message, int line)
{
	enum flags_result rc = parse(argv, envp);

	if (rc != FLAGS_ERROR)
		fprintf(stderr, "\n    line %d: result %d, not FLAGS_ERROR\n",
		        line, (int)rc);
	CU_ASSERT_EQUAL(rc, FLAGS_ERROR);
	cu_check_str(err, message, "err", __FILE__, (unsigned)line);
}

#define expect_error(argv, envp, message) \
	expect_error_((argv), (envp), (message), __LINE__)

static void setup(void)
{
	memset(&f, 0, sizeof(f));
}

static void teardown(void)
{
	flags_free(&f);
}

static void check_defaults(void)
{
	char host[256];

	CHECK_STR(f.master, "local");
	CHECK_STR(f.framework_name, "marathon");
	CU_ASSERT_FATAL(gethostname(host, sizeof(host)) == 0);
	host[sizeof(host) - 1] = '\0';
	CHECK_STR(f.hostname, host);
	CHECK_STR(f.mesos_role, "*");
	CU_ASSERT_PTR_NULL(f.mesos_user);
	CU_ASSERT_PTR_NULL(f.webui_url);
	CU_ASSERT_EQUAL(f.failover_timeout, 604800);
	CU_ASSERT_EQUAL(f.task_launch_timeout, 300000);
	CU_ASSERT_EQUAL(f.reconciliation_interval, 600000);
	CU_ASSERT_EQUAL(f.local_port_min, 10000);
	CU_ASSERT_EQUAL(f.local_port_max, 20000);
	CHECK_STR(f.http_address, "0.0.0.0");
	CU_ASSERT_EQUAL(f.http_port, 8080);
	CU_ASSERT_EQUAL(f.https_port, 8443);
	CU_ASSERT_EQUAL(f.http_max_body_bytes, 1048576);
	CU_ASSERT_PTR_NULL(f.zk);
	CU_ASSERT_TRUE(f.ha);
	CU_ASSERT_EQUAL(f.zk_timeout, 10000);
	CU_ASSERT_EQUAL(f.zk_session_timeout, 10000);
	CU_ASSERT_EQUAL(f.zk_connection_timeout, 10000);
	CU_ASSERT_EQUAL(f.zk_max_versions, 50);
	CU_ASSERT_TRUE(f.zk_compression);
	CU_ASSERT_EQUAL(f.zk_compression_threshold, 65536);
	CU_ASSERT_EQUAL(f.zk_max_node_size, 1024000);
	CU_ASSERT_EQUAL(f.leader_proxy_connection_timeout, 5000);
	CU_ASSERT_EQUAL(f.leader_proxy_read_timeout, 10000);
	CU_ASSERT_EQUAL(f.leader_proxy_max_open_connections, 64);
	CU_ASSERT_EQUAL(f.plugin_dir.n, 0);
	CU_ASSERT_PTR_NULL(f.plugin_dir.items);
	CHECK_STR(f.system_plugin_dir, PLUGINS_DIR);
	CU_ASSERT_PTR_NULL(f.plugin_conf);
	CU_ASSERT_FALSE(f.strict_plugins);
	CHECK_STR(f.data_dir, "/var/lib/stadion");
	CHECK_STR(f.logging_level, "info");
	CU_ASSERT_FALSE(f.syslog);
}

static void test_defaults(void)
{
	CU_ASSERT_EQUAL(parse(NO_ARGS, NO_ENV), FLAGS_OK);
	check_defaults();
	/* A NULL environment, and one with only unrelated variables. */
	CU_ASSERT_EQUAL(parse(NO_ARGS, NULL), FLAGS_OK);
	check_defaults();
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("PATH=/bin", "HTTP_PORT=1",
	                                   "MARATHON_NO_SUCH_FLAG=1",
	                                   "STADION_=1", "STADIONX_HTTP_PORT=1",
	                                   "stadion_http_port=1",
	                                   "MARATHON_HTTP_PORT")),
	                FLAGS_OK);
	check_defaults();
}

static void test_value_spellings(void)
{
	CU_ASSERT_EQUAL(parse(ARGV("--http_port", "9000"), NO_ENV), FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9000);
	CU_ASSERT_EQUAL(parse(ARGV("--http_port=9001"), NO_ENV), FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9001);
	CU_ASSERT_EQUAL(parse(ARGV("--http_port", "1", "--http_port=65535"),
	                      NO_ENV),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 65535);

	/* Only the first '=' splits; the rest belongs to the value. */
	CU_ASSERT_EQUAL(parse(ARGV("--webui_url=http://x/?a=b",
	                           "--framework_name", "--not-a-flag",
	                           "--mesos_user="),
	                      NO_ENV),
	                FLAGS_OK);
	CHECK_STR(f.webui_url, "http://x/?a=b");
	CHECK_STR(f.framework_name, "--not-a-flag");
	CHECK_STR(f.mesos_user, "");

	CU_ASSERT_EQUAL(parse(ARGV("--zk", "zk://h:2181/marathon",
	                           "--failover_timeout=0",
	                           "--task_launch_timeout",
	                           "9223372036854775807",
	                           "--local_port_min", "20000"),
	                      NO_ENV),
	                FLAGS_OK);
	CHECK_STR(f.zk, "zk://h:2181/marathon");
	CU_ASSERT_EQUAL(f.failover_timeout, 0);
	CU_ASSERT_EQUAL(f.task_launch_timeout, INT64_MAX);
	CU_ASSERT_EQUAL(f.local_port_min, 20000); /* equal to max is fine */
}

static void test_booleans(void)
{
	CU_ASSERT_EQUAL(parse(ARGV("--strict_plugins"), NO_ENV), FLAGS_OK);
	CU_ASSERT_TRUE(f.strict_plugins);
	CU_ASSERT_TRUE(f.ha);

	CU_ASSERT_EQUAL(parse(ARGV("--disable_ha"), NO_ENV), FLAGS_OK);
	CU_ASSERT_FALSE(f.ha);
	CU_ASSERT_FALSE(f.strict_plugins);

	CU_ASSERT_EQUAL(parse(ARGV("--disable_ha", "--ha"), NO_ENV), FLAGS_OK);
	CU_ASSERT_TRUE(f.ha);
	CU_ASSERT_EQUAL(parse(ARGV("--strict_plugins",
	                           "--disable_strict_plugins",
	                           "--disable_zk_compression", "--syslog"),
	                      NO_ENV),
	                FLAGS_OK);
	CU_ASSERT_FALSE(f.strict_plugins);
	CU_ASSERT_FALSE(f.zk_compression);
	CU_ASSERT_TRUE(f.syslog);

	/* --flag=value spellings, any case. */
	static const char *const no[] = {"false", "no", "off", "0", "FALSE",
	                                 "Off"};
	static const char *const yes[] = {"true", "yes", "on", "1", "TRUE",
	                                  ""};
	char arg[64];

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(arg, sizeof(arg), "--ha=%s", no[i]);
		CU_ASSERT_EQUAL(parse(ARGV(arg), NO_ENV), FLAGS_OK);
		CU_ASSERT_FALSE(f.ha);
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(arg, sizeof(arg), "--strict_plugins=%s", yes[i]);
		CU_ASSERT_EQUAL(parse(ARGV(arg), NO_ENV), FLAGS_OK);
		CU_ASSERT_TRUE(f.strict_plugins);
	}
}

static void test_environment(void)
{
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_HTTP_PORT=9000",
	                                   "MARATHON_FRAMEWORK_NAME=fw",
	                                   "MARATHON_PLUGIN_CONF=/etc/p.json")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9000);
	CHECK_STR(f.framework_name, "fw");
	CHECK_STR(f.plugin_conf, "/etc/p.json");

	/* STADION_ wins over MARATHON_, wherever it is in the environment. */
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("STADION_HTTP_PORT=9100",
	                                   "MARATHON_HTTP_PORT=9000")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9100);
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_HTTP_PORT=9000",
	                                   "STADION_HTTP_PORT=9100")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9100);

	/* The command line wins over both. */
	CU_ASSERT_EQUAL(parse(ARGV("--http_port", "9200"),
	                      ENV("STADION_HTTP_PORT=9100",
	                          "MARATHON_HTTP_PORT=9000")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.http_port, 9200);
	CU_ASSERT_EQUAL(parse(ARGV("--master=local"),
	                      ENV("MARATHON_MASTER=zk://m/mesos")),
	                FLAGS_OK);
	CHECK_STR(f.master, "local");
}

static void test_environment_booleans(void)
{
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_HA=false")), FLAGS_OK);
	CU_ASSERT_FALSE(f.ha);
	/* Empty means true. */
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_HA=")), FLAGS_OK);
	CU_ASSERT_TRUE(f.ha);
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_HA=false", "STADION_HA=")),
	                FLAGS_OK);
	CU_ASSERT_TRUE(f.ha);
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_STRICT_PLUGINS=",
	                                   "STADION_SYSLOG=yes")),
	                FLAGS_OK);
	CU_ASSERT_TRUE(f.strict_plugins);
	CU_ASSERT_TRUE(f.syslog);
	/* The command line still wins. */
	CU_ASSERT_EQUAL(parse(ARGV("--disable_ha", "--disable_strict_plugins"),
	                      ENV("STADION_HA=", "MARATHON_STRICT_PLUGINS=")),
	                FLAGS_OK);
	CU_ASSERT_FALSE(f.ha);
	CU_ASSERT_FALSE(f.strict_plugins);
}

static void check_list(const struct flags_list *l, const char *const *want,
                       size_t n, int line)
{
	CU_ASSERT_EQUAL(l->n, n);
	if (l->n != n || n == 0)
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(l->items);
	for (size_t i = 0; i < n; i++)
		cu_check_str(l->items[i], want[i], "l->items[i]",
		             __FILE__, (unsigned)line);
	CU_ASSERT_PTR_NULL(l->items[n]);
}

#define CHECK_LIST(l, ...)                                                  \
	check_list((l), (const char *const[]){__VA_ARGS__},                 \
	           sizeof((const char *const[]){__VA_ARGS__}) /             \
	                   sizeof(const char *),                            \
	           __LINE__)

static void test_plugin_dirs(void)
{
	CU_ASSERT_EQUAL(parse(ARGV("--plugin_dir", "/a", "--plugin_dir=/b",
	                           "--plugin_dir", "/c"),
	                      NO_ENV),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/a", "/b", "/c");

	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("STADION_PLUGIN_DIR=/x:/y")),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/x", "/y");
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("MARATHON_PLUGIN_DIR=/m")),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/m");
	/* Empty elements are skipped. */
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("STADION_PLUGIN_DIR=:/x::/y:")),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/x", "/y");

	/* STADION_ replaces MARATHON_, the command line replaces both. */
	CU_ASSERT_EQUAL(parse(NO_ARGS, ENV("STADION_PLUGIN_DIR=/s:/t",
	                                   "MARATHON_PLUGIN_DIR=/m:/n")),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/s", "/t");
	CU_ASSERT_EQUAL(parse(ARGV("--plugin_dir", "/c", "--plugin_dir", "/d"),
	                      ENV("STADION_PLUGIN_DIR=/s:/t",
	                          "MARATHON_PLUGIN_DIR=/m")),
	                FLAGS_OK);
	CHECK_LIST(&f.plugin_dir, "/c", "/d");
}

static void test_errors(void)
{
	expect_error(ARGV("--nope"), NO_ENV,
	             "unknown flag --nope; see stadiond --help");
	expect_error(ARGV("--nope=1"), NO_ENV,
	             "unknown flag --nope; see stadiond --help");
	expect_error(ARGV("--HTTP_PORT=1"), NO_ENV,
	             "unknown flag --HTTP_PORT; see stadiond --help");
	expect_error(ARGV("--disable_nope"), NO_ENV,
	             "unknown flag --disable_nope; see stadiond --help");
	/* Only booleans have a --disable_ form. */
	expect_error(ARGV("--disable_master"), NO_ENV,
	             "unknown flag --disable_master; see stadiond --help");
	expect_error(ARGV("--disable_http_port", "1"), NO_ENV,
	             "unknown flag --disable_http_port; see stadiond --help");
	expect_error(ARGV("--disable_plugin_dir=/x"), NO_ENV,
	             "unknown flag --disable_plugin_dir; see stadiond --help");
	expect_error(ARGV("--disable_ha=true"), NO_ENV,
	             "--disable_ha takes no value");

	expect_error(ARGV("--http_port", "abc"), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"abc\"");
	expect_error(ARGV("--http_port=70000"), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"70000\"");
	expect_error(ARGV("--http_port", "0"), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"0\"");
	expect_error(ARGV("--http_port", "-8080"), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"-8080\"");
	expect_error(ARGV("--http_port", "80x"), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"80x\"");
	expect_error(ARGV("--http_port="), NO_ENV,
	             "command line: --http_port must be a whole number from 1 "
	             "to 65535, not \"\"");
	expect_error(ARGV("--task_launch_timeout", "9223372036854775808"),
	             NO_ENV,
	             "command line: --task_launch_timeout must be a whole "
	             "number from 1 to 9223372036854775807, not "
	             "\"9223372036854775808\"");
	expect_error(ARGV("--failover_timeout=-1"), NO_ENV,
	             "command line: --failover_timeout must be a whole number "
	             "from 0 to 9223372036854775807, not \"-1\"");
	expect_error(ARGV("--ha=maybe"), NO_ENV,
	             "command line: --ha takes true or false, not \"maybe\"");

	expect_error(ARGV("--master"), NO_ENV, "--master needs a value");
	expect_error(ARGV("--http_port", "1", "--plugin_dir"), NO_ENV,
	             "--plugin_dir needs a value");

	expect_error(ARGV("--local_port_min", "30000"), NO_ENV,
	             "--local_port_min (30000) is above --local_port_max "
	             "(20000)");
	expect_error(ARGV("--local_port_max=9999"), NO_ENV,
	             "--local_port_min (10000) is above --local_port_max "
	             "(9999)");

	expect_error(ARGV("stray"), NO_ENV,
	             "unexpected argument \"stray\"; flags start with --, see "
	             "stadiond --help");
	expect_error(ARGV("-p", "8080"), NO_ENV,
	             "unexpected argument \"-p\"; flags start with --, see "
	             "stadiond --help");
	/* A boolean takes no separate value. */
	expect_error(ARGV("--strict_plugins", "false"), NO_ENV,
	             "unexpected argument \"false\"; flags start with --, see "
	             "stadiond --help");

	/* Errors from the environment name the variable. */
	expect_error(NO_ARGS, ENV("MARATHON_HTTP_PORT=x"),
	             "MARATHON_HTTP_PORT=x: --http_port must be a whole number "
	             "from 1 to 65535, not \"x\"");
	expect_error(NO_ARGS, ENV("STADION_HA=maybe"),
	             "STADION_HA=maybe: --ha takes true or false, not "
	             "\"maybe\"");
	expect_error(ARGV("--local_port_max", "30000"),
	             ENV("STADION_LOCAL_PORT_MIN=70000"),
	             "STADION_LOCAL_PORT_MIN=70000: --local_port_min must be a "
	             "whole number from 1 to 65535, not \"70000\"");
	/* The range check sees the final values, from all sources. */
	CU_ASSERT_EQUAL(parse(ARGV("--local_port_max", "40000"),
	                      ENV("STADION_LOCAL_PORT_MIN=30000")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.local_port_min, 30000);
	CU_ASSERT_EQUAL(f.local_port_max, 40000);

	/* Arguments are read in order: the first problem is reported. */
	expect_error(ARGV("--nope", "--help"), NO_ENV,
	             "unknown flag --nope; see stadiond --help");
}

/* The leader proxy's timeouts also answer to their "_ms" spellings, on
 * the command line and in the environment. */
static void test_aliases(void)
{
	CU_ASSERT_EQUAL(parse(ARGV("--leader_proxy_connection_timeout_ms", "7",
	                           "--leader_proxy_read_timeout_ms=8",
	                           "--leader_proxy_max_open_connections", "3"),
	                      NO_ENV),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.leader_proxy_connection_timeout, 7);
	CU_ASSERT_EQUAL(f.leader_proxy_read_timeout, 8);
	CU_ASSERT_EQUAL(f.leader_proxy_max_open_connections, 3);
	CU_ASSERT_EQUAL(parse(NO_ARGS,
	                      ENV("MARATHON_LEADER_PROXY_READ_TIMEOUT_MS=9")),
	                FLAGS_OK);
	CU_ASSERT_EQUAL(f.leader_proxy_read_timeout, 9);
	/* Errors name the flag by its own name. */
	CU_ASSERT_EQUAL(parse(ARGV("--leader_proxy_read_timeout_ms", "0"),
	                      NO_ENV),
	                FLAGS_ERROR);
	CHECK_CONTAINS(err, "--leader_proxy_read_timeout must be");
	CU_ASSERT_EQUAL(parse(ARGV("--leader_proxy_max_open_connections", "0"),
	                      NO_ENV),
	                FLAGS_ERROR);
}

static void test_help_version(void)
{
	CU_ASSERT_EQUAL(parse(ARGV("--help"), NO_ENV), FLAGS_HELP);
	CU_ASSERT_EQUAL(parse(ARGV("-h"), NO_ENV), FLAGS_HELP);
	CU_ASSERT_EQUAL(parse(ARGV("--http_port", "1", "--help", "--nope"),
	                      NO_ENV),
	                FLAGS_HELP);
	CU_ASSERT_EQUAL(parse(ARGV("--version"), NO_ENV), FLAGS_VERSION);
	CU_ASSERT_EQUAL(parse(ARGV("--strict_plugins", "--version", "stray"),
	                      NO_ENV),
	                FLAGS_VERSION);
	/* --help wins over an out-of-range final check it never reaches. */
	CU_ASSERT_EQUAL(parse(ARGV("--local_port_min", "30000", "--help"),
	                      NO_ENV),
	                FLAGS_HELP);
	/* flags_free is safe twice. */
	flags_free(&f);
	flags_free(&f);
}

static void test_usage(void)
{
	static const char usage_head[] =
		"Usage: stadiond [--flag value | --flag=value]...\n";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	flags_usage(out);
	CU_ASSERT_FATAL(fclose(out) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT(strncmp(text, usage_head, strlen(usage_head)) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --http_port N\n      port of "
	                                    "the REST API (default: 8080)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --strict_plugins\n      refuse "
	                                    "to start when any plugin is "
	                                    "refused (default: false)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --master VALUE\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --plugin_dir VALUE\n"));
	CU_ASSERT(len >= 20 &&
	          strcmp(text + len - 20, "  --help, --version\n") == 0);
	free(text);
}

static CU_TestInfo flags_tests[] = {
	{"_ms aliases of the leader proxy timeouts", test_aliases},
	{"defaults", test_defaults},
	{"--flag value and --flag=value", test_value_spellings},
	{"booleans and --disable_", test_booleans},
	{"MARATHON_ and STADION_ environment", test_environment},
	{"booleans in the environment", test_environment_booleans},
	{"--plugin_dir and PLUGIN_DIR", test_plugin_dirs},
	{"error messages", test_errors},
	{"--help and --version", test_help_version},
	{"flags_usage", test_usage},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"flags", NULL, NULL, setup, teardown, flags_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
