/*
 * test_health: health checks on the real stadiond with real processes on
 * the local driver (core/health, the plugins/probe plugins, reference 4.1): HTTP,
 * TCP and COMMAND verdicts, the grace period, the timeout of a hanging
 * COMMAND check, Marathon's kill and relaunch, and the replacement of an
 * unhealthy instance before its kill.  Intervals are one second; every
 * wait polls with a bound.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "lib/harness.h"
#include "lib/testfs.h"
#include "lib/testnet.h"
#include "lib/tjson.h"

#define POLL_MS 100
#define POLL_TRIES 150 /* 15 s */

static struct daemon dmn;   /* this host as its agent: room to replace */
static struct daemon tight; /* an agent with room for one task only */
static char agents_path[PATH_MAX];

/* A web server whose every path answers 500 while ./sick exists in its
 * working directory (the task's sandbox), 200 otherwise; but /ready answers
 * 503 until ./ready exists. */
static const char server_py[] =
	"import http.server,os,sys\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def do_GET(self):\n"
	"        if self.path=='/ready':\n"
	"            ok=os.path.exists('ready')\n"
	"            self.send_response(200 if ok else 503)\n"
	"        else:\n"
	"            bad=os.path.exists('sick')\n"
	"            self.send_response(500 if bad else 200)\n"
	"        self.send_header('Content-Length','0')\n"
	"        self.end_headers()\n"
	"    def log_message(self,*a): pass\n"
	"http.server.HTTPServer(('127.0.0.1',int(sys.argv[1])),H)"
	".serve_forever()\n";
static char server_path[PATH_MAX];

/* The same over TLS with a self-signed certificate: 204 on every path. */
static const char tls_server_py[] =
	"import http.server,ssl,sys\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def do_GET(self):\n"
	"        self.send_response(204)\n"
	"        self.end_headers()\n"
	"    def log_message(self,*a): pass\n"
	"s=http.server.HTTPServer(('127.0.0.1',int(sys.argv[1])),H)\n"
	"c=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"c.load_cert_chain(sys.argv[2],sys.argv[3])\n"
	"s.socket=c.wrap_socket(s.socket,server_side=True)\n"
	"s.serve_forever()\n";
static char tls_server_path[PATH_MAX];
static char tls_dir[PATH_MAX];

/* daemon_json(), with the answer on stderr when it is an error: what a
 * failed CHECK_INT(status, ...) cannot show. */
static struct json_object *djson(const struct daemon *d, const char *method,
                                 const char *path, const char *body,
                                 int *status_r)
{
	struct json_object *o;

	*status_r = daemon_json(d, method, path, body, &o);
	if (*status_r >= 400)
		fprintf(stderr, "\n%s %s: %d %s\n", method, path, *status_r,
		        o != NULL ? json_object_to_json_string(o) : "");
	return o;
}

static bool post_app(const struct daemon *d, const char *body)
{
	int status;
	struct json_object *o = djson(d, "POST", "/v2/apps", body, &status);

	json_object_put(o);
	return CHECK_INT(status, 201);
}

static void delete_app(const struct daemon *d, const char *id)
{
	char path[256];
	int status;

	snprintf(path, sizeof(path), "/v2/apps%s", id);
	json_object_put(djson(d, "DELETE", path, NULL, &status));
	CHECK_INT(status, 200);
	/* Gone means its processes are dead: none outlives the test. */
	if (!daemon_wait_status(d, path, 404, POLL_TRIES * POLL_MS))
		CHECK(!"the app was deleted");
}

/* The first health result of task I of APP, or NULL. */
static struct json_object *result_of(struct json_object *app, size_t i)
{
	return tjson_at(tjson_get(tjson_at(tjson_get(app, "tasks"), i),
	                          "healthCheckResults"),
	                0);
}

/* Wait until app ID has HEALTHY healthy and UNHEALTHY unhealthy tasks of
 * RUNNING running; the app then, to put, or NULL. */
static struct json_object *wait_counts(const struct daemon *d, const char *id,
                                       int64_t running, int64_t healthy,
                                       int64_t unhealthy)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		struct json_object *app = daemon_get_app(d, id);

		if (tjson_int(app, "tasksRunning") == running &&
		    tjson_int(app, "tasksHealthy") == healthy &&
		    tjson_int(app, "tasksUnhealthy") == unhealthy)
			return app;
		json_object_put(app);
		usleep(POLL_MS * 1000);
	}
	fprintf(stderr, "\napp %s never had %lld running, %lld healthy, "
	        "%lld unhealthy\n", id, (long long)running,
	        (long long)healthy, (long long)unhealthy);
	return NULL;
}

/* The id of task I of APP, copied into BUF. */
static const char *task_id(struct json_object *app, size_t i, char *buf,
                           size_t len)
{
	const char *id = tjson_str(tjson_at(tjson_get(app, "tasks"), i), "id");

	snprintf(buf, len, "%s", id != NULL ? id : "");
	return buf;
}

/* Create file NAME in task TASK's sandbox of daemon D. */
static bool make_file(const struct daemon *d, const char *task,
                      const char *name)
{
	char path[PATH_MAX + 512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sandboxes/%s/%s", d->data_dir, task,
	         name);
	if ((f = fopen(path, "w")) == NULL)
		return false;
	return fclose(f) == 0;
}

static bool make_sick(const struct daemon *d, const char *task)
{
	return make_file(d, task, "sick");
}

/* Whether daemon D lists any deployment. */
static bool deploying(const struct daemon *d)
{
	int status;
	struct json_object *list = djson(d, "GET", "/v2/deployments", NULL,
	                                 &status);
	bool any = tjson_len(list) > 0;

	json_object_put(list);
	return any;
}

/* ---- HTTP: healthy, then 500, then replaced before the kill ------------- */

static void test_http_replaced(void)
{
	char body[PATH_MAX + 1024], old[256], now[256];
	struct json_object *app, *r;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/web\",\"cmd\":\"exec python3 %s $PORT0\","
	         "\"cpus\":0.1,\"mem\":32,\"portDefinitions\":[{\"port\":0}],"
	         "\"healthChecks\":[{\"protocol\":\"HTTP\",\"path\":\"/h\","
	         "\"gracePeriodSeconds\":10,\"intervalSeconds\":1,"
	         "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":1}]}",
	         server_path);
	if (!post_app(&dmn, body))
		return;
	app = wait_counts(&dmn, "/web", 1, 1, 0);
	if (!CHECK(app != NULL))
		return;
	r = result_of(app, 0);
	CHECK(json_object_get_boolean(tjson_get(r, "alive")));
	CHECK_INT(tjson_int(r, "consecutiveFailures"), 0);
	CHECK(tjson_str(r, "firstSuccess") != NULL);
	CHECK(tjson_str(r, "lastSuccess") != NULL);
	CHECK(json_object_get_type(tjson_get(r, "lastFailure")) ==
	      json_type_null);
	CHECK(tjson_str(r, "instanceId") != NULL);
	task_id(app, 0, old, sizeof(old));
	json_object_put(app);
	CHECK(make_sick(&dmn, old));
	/* Unhealthy first, counted as such... */
	app = wait_counts(&dmn, "/web", 1, 0, 1);
	if (CHECK(app != NULL)) {
		r = result_of(app, 0);
		CHECK(!json_object_get_boolean(tjson_get(r, "alive")));
		CHECK_STR(tjson_str(r, "lastFailureCause"), "HTTP status 500");
		CHECK(tjson_int(r, "consecutiveFailures") >= 1);
	}
	json_object_put(app);
	/* ...then a replacement runs beside it (capacity never dips)... */
	{
		bool both = false;

		for (int i = 0; i < POLL_TRIES && !both; i++) {
			app = daemon_get_app(&dmn, "/web");
			both = tjson_int(app, "tasksRunning") == 2 &&
			       tjson_int(app, "tasksUnhealthy") == 1;
			json_object_put(app);
			usleep(POLL_MS * 1000 / 2);
		}
		CHECK(both);
	}
	/* ...and the unhealthy one goes once the replacement is healthy. */
	app = wait_counts(&dmn, "/web", 1, 1, 0);
	if (CHECK(app != NULL))
		CHECK(strcmp(task_id(app, 0, now, sizeof(now)), old) != 0);
	json_object_put(app);
	CHECK(daemon_log_contains(&dmn, "unhealthy_instance_kill"));
	CHECK(daemon_log_contains(&dmn, "replaced before it is killed"));
	delete_app(&dmn, "/web");
}

/* ---- HTTPS: TLS without certificate checks ------------------------------- */

/* Two checks of one TLS server with a self-signed certificate: HTTPS is
 * healthy (the certificate is not verified, as in Marathon), plain HTTP to
 * the same port is not, so the task counts as unhealthy. */
static void test_https(void)
{
	char body[3 * PATH_MAX + 1024];
	struct json_object *app, *results;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/tls\",\"cmd\":\"exec python3 %s $PORT0 "
	         "%s/cert.pem %s/key.pem\",\"cpus\":0.05,\"mem\":32,"
	         "\"portDefinitions\":[{\"port\":0}],\"healthChecks\":["
	         "{\"protocol\":\"HTTPS\",\"gracePeriodSeconds\":0,"
	         "\"intervalSeconds\":1,\"timeoutSeconds\":2,"
	         "\"maxConsecutiveFailures\":0},"
	         "{\"protocol\":\"HTTP\",\"gracePeriodSeconds\":0,"
	         "\"intervalSeconds\":1,\"timeoutSeconds\":2,"
	         "\"maxConsecutiveFailures\":0}]}",
	         tls_server_path, tls_dir, tls_dir);
	if (!post_app(&dmn, body))
		return;
	for (int i = 0; i < POLL_TRIES; i++) {
		app = wait_counts(&dmn, "/tls", 1, 0, 1);
		results = tjson_get(tjson_at(tjson_get(app, "tasks"), 0),
		                   "healthCheckResults");
		if (tjson_len(results) == 2 &&
		    json_object_get_boolean(
			    tjson_get(tjson_at(results, 0), "alive")))
			break;
		json_object_put(app);
		app = NULL;
		usleep(POLL_MS * 1000);
	}
	if (CHECK(app != NULL)) {
		results = tjson_get(tjson_at(tjson_get(app, "tasks"), 0),
		                   "healthCheckResults");
		CHECK(json_object_get_boolean(
			tjson_get(tjson_at(results, 0), "alive")));
		CHECK(!json_object_get_boolean(
			tjson_get(tjson_at(results, 1), "alive")));
		CHECK(tjson_str(tjson_at(results, 1), "lastFailureCause") !=
		      NULL);
	}
	json_object_put(app);
	delete_app(&dmn, "/tls");
}

/* ---- readiness ----------------------------------------------------------- */

/* A deployment waits for its new task to be ready (reference 4.2). */
static void test_readiness(void)
{
	char body[PATH_MAX + 1024], id[256];
	struct json_object *app;
	bool done = false;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/rdy\",\"cmd\":\"exec python3 %s $PORT0\","
	         "\"cpus\":0.05,\"mem\":32,\"portDefinitions\":[{"
	         "\"port\":0,\"name\":\"http\"}],\"readinessChecks\":[{"
	         "\"name\":\"readinessCheck\",\"protocol\":\"HTTP\","
	         "\"path\":\"/ready\",\"portName\":\"http\","
	         "\"intervalSeconds\":2,\"timeoutSeconds\":1,"
	         "\"httpStatusCodesForReady\":[200],"
	         "\"preserveLastResponse\":false}]}",
	         server_path);
	if (!post_app(&dmn, body))
		return;
	app = wait_counts(&dmn, "/rdy", 1, 0, 0);
	if (!CHECK(app != NULL))
		return;
	task_id(app, 0, id, sizeof(id));
	json_object_put(app);
	/* Running, answering 503 on /ready: the deployment waits. */
	sleep(3);
	CHECK(deploying(&dmn));
	CHECK(make_file(&dmn, id, "ready"));
	for (int i = 0; i < POLL_TRIES && !done; i++) {
		done = !deploying(&dmn);
		usleep(POLL_MS * 1000);
	}
	CHECK(done);
	delete_app(&dmn, "/rdy");
}

/* ---- TCP and COMMAND verdicts ------------------------------------------- */

static void test_tcp_refused(void)
{
	char body[512];
	struct json_object *app;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/tcp\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
	         "\"mem\":8,\"healthChecks\":[{\"protocol\":\"TCP\","
	         "\"port\":%d,\"gracePeriodSeconds\":0,"
	         "\"intervalSeconds\":1,\"timeoutSeconds\":1,"
	         "\"maxConsecutiveFailures\":0}]}",
	         /* A loopback port nobody listens on. */
	         testnet_free_port());
	if (!post_app(&dmn, body))
		return;
	app = wait_counts(&dmn, "/tcp", 1, 0, 1);
	if (CHECK(app != NULL))
		CHECK_CONTAINS(tjson_str(result_of(app, 0), "lastFailureCause"),
		               "refused");
	json_object_put(app);
	delete_app(&dmn, "/tcp");
}

static void test_command(void)
{
	static const char fmt[] =
		"{\"id\":\"%s\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
		"\"mem\":8,\"healthChecks\":[{\"protocol\":\"COMMAND\","
		"\"command\":{\"value\":\"%s\"},\"gracePeriodSeconds\":0,"
		"\"intervalSeconds\":1,\"timeoutSeconds\":2,"
		"\"maxConsecutiveFailures\":0}]}";
	char body[512];
	struct json_object *app;

	/* The task's environment and sandbox reach the command. */
	snprintf(body, sizeof(body), fmt, "/cmd-ok",
	         "test -n \\\"$MESOS_TASK_ID\\\" && test -f stdout && exit 0");
	if (!post_app(&dmn, body))
		return;
	snprintf(body, sizeof(body), fmt, "/cmd-bad", "exit 1");
	if (!post_app(&dmn, body))
		return;
	app = wait_counts(&dmn, "/cmd-ok", 1, 1, 0);
	CHECK(app != NULL);
	json_object_put(app);
	app = wait_counts(&dmn, "/cmd-bad", 1, 0, 1);
	if (CHECK(app != NULL))
		CHECK_STR(tjson_str(result_of(app, 0), "lastFailureCause"),
		          "exit status 1");
	json_object_put(app);
	delete_app(&dmn, "/cmd-ok");
	delete_app(&dmn, "/cmd-bad");
}

static void test_command_timeout(void)
{
	struct json_object *app;

	if (!post_app(&dmn,
	              "{\"id\":\"/hang\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
	              "\"mem\":8,\"healthChecks\":[{\"protocol\":\"COMMAND\","
	              "\"command\":{\"value\":\"sleep 60\"},"
	              "\"gracePeriodSeconds\":0,\"intervalSeconds\":1,"
	              "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":0}]}"))
		return;
	app = wait_counts(&dmn, "/hang", 1, 0, 1);
	if (CHECK(app != NULL))
		CHECK_STR(tjson_str(result_of(app, 0), "lastFailureCause"),
		          "timed out after 1000 ms");
	json_object_put(app);
	delete_app(&dmn, "/hang");
}

/* Failures before the first success inside the grace period: no result,
 * no kill. */
static void test_grace(void)
{
	struct json_object *app;
	char first[256], later[256];

	if (!post_app(&dmn,
	              "{\"id\":\"/grace\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
	              "\"mem\":8,\"healthChecks\":[{\"protocol\":\"COMMAND\","
	              "\"command\":{\"value\":\"exit 1\"},"
	              "\"gracePeriodSeconds\":60,\"intervalSeconds\":1,"
	              "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":1}]}"))
		return;
	app = wait_counts(&dmn, "/grace", 1, 0, 0);
	if (!CHECK(app != NULL))
		return;
	task_id(app, 0, first, sizeof(first));
	json_object_put(app);
	/* Several intervals: with maxConsecutiveFailures 1, two counted
	 * failures would have killed it. */
	sleep(4);
	app = daemon_get_app(&dmn, "/grace");
	CHECK_STR(task_id(app, 0, later, sizeof(later)), first);
	CHECK_INT(tjson_int(app, "tasksUnhealthy"), 0);
	CHECK_INT(tjson_len(tjson_get(tjson_at(tjson_get(app, "tasks"), 0),
	                              "healthCheckResults")),
	          0);
	json_object_put(app);
	CHECK(!daemon_log_contains(&dmn, "unhealthy_instance_kill: task "
	                                 "grace."));
	delete_app(&dmn, "/grace");
}

/* ---- Marathon's kill: no room for a replacement ------------------------- */

static void test_kill_relaunch(void)
{
	struct json_object *app;
	char old[256], now[256];

	if (!post_app(&tight,
	              "{\"id\":\"/sick\",\"cmd\":\"sleep 1000\",\"cpus\":0.5,"
	              "\"mem\":8,\"healthChecks\":[{\"protocol\":\"COMMAND\","
	              "\"command\":{\"value\":\"test ! -e sick\"},"
	              "\"gracePeriodSeconds\":0,\"intervalSeconds\":1,"
	              "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":2}]}"))
		return;
	app = wait_counts(&tight, "/sick", 1, 1, 0);
	if (!CHECK(app != NULL))
		return;
	task_id(app, 0, old, sizeof(old));
	json_object_put(app);
	CHECK(make_sick(&tight, old));
	/* Killed after the failure beyond maxConsecutiveFailures, and its
	 * instance relaunched as the next incarnation, healthy again. */
	for (int i = 0; i < POLL_TRIES; i++) {
		app = wait_counts(&tight, "/sick", 1, 1, 0);
		task_id(app, 0, now, sizeof(now));
		json_object_put(app);
		if (strcmp(now, old) != 0)
			break;
		usleep(POLL_MS * 1000);
	}
	CHECK(strcmp(now, old) != 0);
	CHECK_CONTAINS(now, "._app.2");
	CHECK(strncmp(now, old, strlen(old) - 1) == 0);
	CHECK(daemon_log_contains(&tight, "unhealthy_instance_kill"));
	CHECK(!daemon_log_contains(&tight, "replaced before it is killed"));
	delete_app(&tight, "/sick");
}

/* ---- suites ------------------------------------------------------------- */

static int suite_init(void)
{
	char cmd[3 * PATH_MAX];

	if (!testfs_write_temp(server_path, sizeof(server_path),
	                       "test_health-server", server_py) ||
	    !testfs_write_temp(tls_server_path, sizeof(tls_server_path),
	                       "test_health-tls", tls_server_py))
		return -1;
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/test_health-cert-XXXXXX");
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
	         "-subj /CN=stadion-test -keyout %s/key.pem -out %s/cert.pem "
	         ">/dev/null 2>&1",
	         tls_dir, tls_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_health: cannot make a certificate with "
		        "openssl(1); install openssl\n");
		return -1;
	}
	return daemon_start(&dmn, NULL) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	int rc = dmn.pid == 0 || daemon_stop(&dmn) == 0 ? 0 : -1;
	char path[PATH_MAX + 16];

	unlink(server_path);
	unlink(tls_server_path);
	snprintf(path, sizeof(path), "%s/key.pem", tls_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cert.pem", tls_dir);
	unlink(path);
	rmdir(tls_dir);
	return rc;
}

static int tight_init(void)
{
	const char *args[] = {"--local_agents", agents_path, NULL};

	if (!testfs_write_temp(agents_path, sizeof(agents_path),
	                       "test_health-agents",
	                       "[{\"hostname\":\"127.0.0.1\",\"cpus\":0.6,"
	                       "\"mem\":512,\"disk\":100,"
	                       "\"ports\":\"31000-31010\"}]"))
		return -1;
	return daemon_start(&tight, args) == 0 ? 0 : -1;
}

static int tight_cleanup(void)
{
	int rc = tight.pid == 0 || daemon_stop(&tight) == 0 ? 0 : -1;

	unlink(agents_path);
	return rc;
}

static CU_TestInfo probe_tests[] = {
	{"HTTP: healthy, 500, replaced before the kill", test_http_replaced},
	{"HTTPS: self-signed certificate, not verified", test_https},
	{"TCP: nobody listens -> unhealthy", test_tcp_refused},
	{"readiness: the deployment waits for ready", test_readiness},
	{"COMMAND: exit 0 healthy, exit 1 unhealthy", test_command},
	{"COMMAND: a hanging check is killed at the timeout",
	 test_command_timeout},
	{"grace period: early failures kill nothing", test_grace},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo kill_tests[] = {
	{"no room: killed and relaunched", test_kill_relaunch},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"probes", suite_init, suite_cleanup, NULL, NULL, probe_tests},
	{"kills", tight_init, tight_cleanup, NULL, NULL, kill_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
