/*
 * test_cluster_zk: stadiond with its state in ZooKeeper (--zk), against a
 * real ZooKeeper server started by the harness (tests/lib/zkserver.h) on
 * a free loopback port: the flags, the state shared through ZooKeeper
 * rather than the node's disk, and acknowledged writes across a restart
 * of ZooKeeper in the middle of a burst.
 *
 * Without Debian's zookeeper package every test fails and says so.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cu_run.h"
#include "lib/harness.h"
#include "lib/testfs.h"
#include "lib/tjson.h"
#include "lib/zkserver.h"

#define BURST 30

static struct zk_server zk;
static bool zk_up;
static char zk_url[96];
static char agents_path[PATH_MAX];

static int suite_init(void)
{
	static const char agents[] =
		"[{\"hostname\":\"h1\",\"cpus\":8,\"mem\":8192,\"disk\":10000,"
		"\"ports\":\"31000-31200\",\"simulated\":true}]";

	if (!testfs_write_temp(agents_path, sizeof(agents_path),
	                       "test_cluster_zk-agents", agents))
		return -1;
	zk_up = zk_server_start(&zk) == 0;
	if (!zk_up)
		fprintf(stderr, "test_cluster_zk: no ZooKeeper server, every "
		                "test fails (see above)\n");
	snprintf(zk_url, sizeof(zk_url), "zk://%s/stadion", zk.hosts);
	return 0;
}

static int suite_cleanup(void)
{
	zk_server_free(&zk);
	unlink(agents_path);
	return 0;
}

/* Start D on the ZooKeeper store (--disable_ha: one node). */
static bool start_on_zk(struct daemon *d)
{
	const char *args[] = {"--zk", zk_url, "--disable_ha",
	                      "--zk_session_timeout", "4000",
	                      "--local_agents", agents_path, NULL};

	return CHECK(zk_up) && CHECK_INT(daemon_start(d, args), 0);
}

static bool refused(const char *const *args, const char *needle)
{
	char *log = NULL;
	int status = -1;
	bool ok;

	ok = CHECK_INT(daemon_run_to_exit(args, &status, &log), 0) &&
	     CHECK(status != 0) && CHECK(log != NULL);
	if (ok)
		ok = CHECK_CONTAINS(log, needle);
	free(log);
	return ok;
}

static void test_flags(void)
{
	const char *no_path[] = {"--zk", "zk://127.0.0.1:2181",
	                         "--disable_ha", NULL};
	const char *bad_port[] = {"--zk", "zk://127.0.0.1:x/stadion",
	                          "--disable_ha", NULL};
	const char *scheme[] = {"--zk", "http://127.0.0.1:2181/s",
	                        "--disable_ha", NULL};

	if (!CHECK(zk_up))
		return;
	refused(no_path, "the path (/stadion) is missing");
	refused(bad_port, "a port is not a number");
	refused(scheme, "does not start with zk://");
}

static int post_app(const struct daemon *d, const char *id)
{
	char body[256];
	struct http_resp r = {0};
	int status;

	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"cmd\":\"sleep 1000\",\"cpus\":0.01,"
	         "\"mem\":16,\"instances\":1}",
	         id);
	if (daemon_call(d, "POST", "/v2/apps", NULL, body, &r) != 0)
		return -1;
	status = r.status;
	http_resp_free(&r);
	return status;
}

static int get_status(const struct daemon *d, const char *path)
{
	struct http_resp r = {0};
	int status;

	if (daemon_call(d, "GET", path, NULL, NULL, &r) != 0)
		return -1;
	status = r.status;
	http_resp_free(&r);
	return status;
}

/* The state is in ZooKeeper, not on the node: a second node with another
 * data directory sees the first one's apps. */
static void test_state_in_zk(void)
{
	struct daemon a = {0}, b = {0};

	if (!start_on_zk(&a))
		return;
	CHECK_INT(post_app(&a, "/shared/web"), 201);
	CHECK_INT(get_status(&a, "/v2/apps/shared/web"), 200);
	CHECK(daemon_log_contains(&a, "zookeeper"));
	daemon_stop_with(&a, SIGKILL);
	if (!start_on_zk(&b))
		return;
	CHECK_INT(get_status(&b, "/v2/apps/shared/web"), 200);
	CHECK_INT(get_status(&b, "/v2/apps/shared/nothing"), 404);
	CHECK_INT(daemon_stop(&b), 0);
}

/* An app whose stored form needs a znode over --zk_max_node_size: the
 * creation fails with an error that names the limit, and nothing of it is
 * stored, also for a node started afterwards. */
static void test_node_over_limit(void)
{
	/* Compression off: 40 KB of padding must stay 40 KB. */
	const char *args[] = {"--zk", zk_url, "--disable_ha",
	                      "--zk_max_node_size", "16384",
	                      "--disable_zk_compression",
	                      "--local_agents", agents_path, NULL};
	enum { PAD = 40000 };
	static char body[PAD + 256];
	struct daemon a = {0};
	struct http_resp r = {0};
	int n;

	if (!CHECK(zk_up) || !CHECK_INT(daemon_start(&a, args), 0))
		return;
	CHECK_INT(post_app(&a, "/big/small"), 201);
	n = snprintf(body, sizeof(body),
	             "{\"id\":\"/big/large\",\"cmd\":\"sleep 1000\","
	             "\"cpus\":0.01,\"mem\":16,\"instances\":1,"
	             "\"env\":{\"PAD\":\"");
	memset(body + n, 'x', PAD);
	strcpy(body + n + PAD, "\"}}");
	if (CHECK_INT(daemon_call(&a, "POST", "/v2/apps", NULL, body, &r), 0)) {
		CHECK_INT(r.status, 422);
		CHECK_CONTAINS(r.body, "over max_value_bytes (16384)");
		CHECK_CONTAINS(r.body, "nothing changed");
	}
	http_resp_free(&r);
	CHECK_INT(get_status(&a, "/v2/apps/big/large"), 404);
	CHECK_INT(get_status(&a, "/v2/apps/big/small"), 200);
	CHECK_INT(daemon_json(&a, "GET", "/v2/deployments", NULL, NULL), 200);
	/* What ZooKeeper holds says the same to a fresh node. */
	daemon_stop_with(&a, SIGKILL);
	if (!CHECK_INT(daemon_start(&a, args), 0))
		return;
	CHECK_INT(get_status(&a, "/v2/apps/big/large"), 404);
	CHECK_INT(get_status(&a, "/v2/apps/big/small"), 200);
	/* And the store still takes writes. */
	CHECK_INT(post_app(&a, "/big/after"), 201);
	CHECK_INT(daemon_stop(&a), 0);
}

struct burst {
	struct daemon *d;
	int status[BURST];
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	char id[64];

	for (int i = 0; i < BURST; i++) {
		snprintf(id, sizeof(id), "/burst/app-%02d", i);
		b->status[i] = post_app(b->d, id);
	}
	return NULL;
}

/* ZooKeeper killed and restarted while apps are being created: every
 * creation that was acknowledged (201) is there afterwards, also for a
 * node started after it all. */
static void test_zk_restart_in_burst(void)
{
	struct daemon a = {0}, b = {0};
	struct burst bu = {.d = &a};
	pthread_t t;
	size_t acked = 0, lost = 0;
	char path[96];

	if (!start_on_zk(&a))
		return;
	if (!CHECK_INT(pthread_create(&t, NULL, burst_main, &bu), 0))
		goto out_stop_a;
	/* The server is our child and dies with the thread that forked it
	 * (PR_SET_PDEATHSIG): kill and restart it from this thread. */
	usleep(150 * 1000);
	CHECK_INT(zk_server_kill(&zk), 0);
	usleep(300 * 1000);
	CHECK_INT(zk_server_restart(&zk), 0);
	pthread_join(t, NULL);
	for (int i = 0; i < BURST; i++) {
		if (bu.status[i] != 201)
			continue;
		acked++;
		snprintf(path, sizeof(path), "/v2/apps/burst/app-%02d", i);
		lost += !CHECK_INT(get_status(&a, path), 200);
	}
	fprintf(stderr, "(%zu of %d creations acknowledged) ", acked, BURST);
	CHECK(acked > 0);
	CHECK_INT(lost, 0);
	daemon_stop_with(&a, SIGKILL);
	if (!start_on_zk(&b))
		return;
	for (int i = 0; i < BURST; i++) {
		if (bu.status[i] != 201)
			continue;
		snprintf(path, sizeof(path), "/v2/apps/burst/app-%02d", i);
		lost += !CHECK_INT(get_status(&b, path), 200);
	}
	CHECK_INT(lost, 0);
	CHECK_INT(daemon_stop(&b), 0);
	return;
out_stop_a:
	daemon_stop(&a);
}

static CU_TestInfo zk_tests[] = {
	{"malformed --zk URLs refused", test_flags},
	{"the state lives in ZooKeeper", test_state_in_zk},
	{"a znode over the limit: a clear error, nothing stored",
	 test_node_over_limit},
	{"ZooKeeper restarted in a burst of writes", test_zk_restart_in_burst},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"cluster: ZooKeeper store", suite_init, suite_cleanup, NULL, NULL,
	 zk_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
