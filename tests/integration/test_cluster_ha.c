/*
 * test_cluster_ha: three stadiond sharing one real ZooKeeper (started by
 * the harness, tests/lib/zkserver.h) and one host: exactly one leads, the
 * standbys proxy to it, a SIGKILL of the leader or DELETE /v2/leader moves
 * the leadership, and no task of the local driver is killed or doubled on
 * the way.
 *
 * The nodes share one --data_dir, as nodes on one host must: the sandboxes
 * (and so the tasks a former leader started) are where the next leader
 * adopts them.  Each test uses a ZooKeeper path of its own.
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
#include "lib/tjson.h"
#include "lib/zkserver.h"

#define NODES 3
#define SESSION_MS "4000"
/* A SIGKILLed leader's session must expire (4 s) before anyone leads. */
#define FAILOVER_WAIT_MS 30000

static struct zk_server zk;
static bool zk_up;

struct cluster {
	struct daemon node[NODES];
	struct daemon shared;   /* only its data_dir: the shared one */
	char zk_url[128];
};

static int suite_init(void)
{
	zk_up = zk_server_start(&zk) == 0;
	if (!zk_up)
		fprintf(stderr, "test_cluster_ha: no ZooKeeper server, every "
		                "test fails (see above)\n");
	return 0;
}

static int suite_cleanup(void)
{
	zk_server_free(&zk);
	return 0;
}

static bool node_start(struct cluster *c, int i)
{
	const char *args[] = {"--zk", c->zk_url, "--zk_session_timeout",
	                      SESSION_MS, "--data_dir", c->shared.data_dir,
	                      "--hostname", "127.0.0.1", NULL};

	return CHECK_INT(daemon_start(&c->node[i], args), 0);
}

static bool cluster_start(struct cluster *c, const char *name)
{
	if (!CHECK(zk_up))
		return false;
	snprintf(c->zk_url, sizeof(c->zk_url), "zk://%s/%s", zk.hosts, name);
	snprintf(c->shared.data_dir, sizeof(c->shared.data_dir),
	         "/tmp/test_cluster_ha-XXXXXX");
	if (!CHECK(mkdtemp(c->shared.data_dir) != NULL))
		return false;
	for (int i = 0; i < NODES; i++)
		if (!node_start(c, i))
			return false;
	return true;
}

static void cluster_stop(struct cluster *c)
{
	char cmd[PATH_MAX + 16];

	for (int i = 0; i < NODES; i++)
		if (c->node[i].pid != 0)
			CHECK_INT(daemon_stop(&c->node[i]), 0);
	daemon_kill_tasks(&c->shared);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->shared.data_dir);
	if (getenv("KEEP_TEST_DATA") == NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", c->shared.data_dir);
}

/* What node D says of the leadership: its "host:port" for the leader
 * (GET /v2/leader; "" when none) and whether D is elected (/v2/info). */
static void ask(const struct daemon *d, char *leader, size_t len,
                bool *elected_r)
{
	struct json_object *o;
	const char *s;

	leader[0] = '\0';
	*elected_r = false;
	if (d->pid == 0)
		return;
	if ((o = daemon_get_json(d, "/v2/leader")) != NULL) {
		if ((s = json_str_at(o, "leader")) != NULL)
			snprintf(leader, len, "%s", s);
		json_object_put(o);
	}
	if ((o = daemon_get_json(d, "/v2/info")) != NULL) {
		struct json_object *e = json_at(o, "elected");

		*elected_r = e != NULL && json_object_get_boolean(e);
		json_object_put(o);
	}
}

/* The node that leads, agreed by every running node and serving as
 * leader (GET /v2/apps answers 200 through it); -1 while there is none. */
static int agreed_leader(struct cluster *c)
{
	char first[128] = "", got[128], self[128];
	int leader = -1, n_elected = 0;
	bool elected;

	for (int i = 0; i < NODES; i++) {
		if (c->node[i].pid == 0)
			continue;
		ask(&c->node[i], got, sizeof(got), &elected);
		if (got[0] == '\0' ||
		    (first[0] != '\0' && strcmp(first, got) != 0))
			return -1;
		snprintf(first, sizeof(first), "%s", got);
		snprintf(self, sizeof(self), "127.0.0.1:%u",
		         (unsigned)c->node[i].port);
		if (elected) {
			n_elected++;
			leader = i;
			if (strcmp(got, self) != 0)
				return -1;
		}
	}
	if (n_elected != 1 ||
	    daemon_json(&c->node[leader], "GET", "/v2/apps", NULL, NULL) != 200)
		return -1;
	return leader;
}

struct leader_wait {
	struct cluster *c;
	int not;     /* a node that must not be the one, or -1 */
	int leader;
};

static bool leader_found(void *arg)
{
	struct leader_wait *w = arg;

	w->leader = agreed_leader(w->c);
	return w->leader >= 0 && w->leader != w->not;
}

static int wait_leader(struct cluster *c, int not, int timeout_ms)
{
	struct leader_wait w = {.c = c, .not = not, .leader = -1};

	return wait_until(leader_found, &w, timeout_ms) ? w.leader : -1;
}

static int standby_of(int leader, int k)
{
	return (leader + k) % NODES;
}

static int post(const struct daemon *d, const char *body)
{
	return daemon_json(d, "POST", "/v2/apps", body, NULL);
}

struct running {
	const struct daemon *d;
	const char *path;
	long long n;
};

static bool app_running(void *arg)
{
	struct running *r = arg;
	struct json_object *o = daemon_get_json(r->d, r->path);
	bool ok = o != NULL && json_int_at(o, "app.tasksRunning", -1) == r->n;

	json_object_put(o);
	return ok;
}

static bool wait_running(const struct daemon *d, const char *path,
                         long long n)
{
	struct running r = {d, path, n};

	return wait_until(app_running, &r, 20000);
}

/* The task groups on the host, sorted by task id, as "id:pgid ..." */
static void tasks_seen(struct cluster *c, char *buf, size_t len)
{
	struct task_proc *p = NULL;
	size_t n = 0, off = 0;

	buf[0] = '\0';
	if (task_procs_list(&c->shared, &p, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(p[j].task_id, p[i].task_id) < 0) {
				struct task_proc t = p[i];

				p[i] = p[j];
				p[j] = t;
			}
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s:%d ",
		                        p[i].task_id, (int)p[i].pgid);
	free(p);
}

static bool mirror_ready(void *arg)
{
	return daemon_log_contains(arg, "znodes, following changes");
}

/* The standbys of leader L hold the state in their mirrors: the next
 * leader's load can come from memory (storage_zookeeper's README). */
static bool standbys_mirror(struct cluster *c, int l)
{
	return wait_until(mirror_ready, &c->node[standby_of(l, 1)], 20000) &&
	       wait_until(mirror_ready, &c->node[standby_of(l, 2)], 20000);
}

/* The new leader L2 loaded the state from its standby mirror. */
static bool loaded_from_mirror(const struct cluster *c, int l2)
{
	return daemon_log_contains(&c->node[l2],
	                           "reads come from the standby mirror");
}

static const char app_body[] =
	"{\"id\":\"/ha/web\",\"cmd\":\"sleep 3600\",\"cpus\":0.01,"
	"\"mem\":8,\"instances\":3}";
/* Never placed: its deployment stays, to be found after a failover. */
static const char stuck_body[] =
	"{\"id\":\"/ha/stuck\",\"cmd\":\"sleep 3600\",\"cpus\":100000,"
	"\"mem\":8,\"instances\":1}";

/* One leader; the standbys answer what every node answers and proxy the
 * rest to it. */
static void test_leader_and_proxy(void)
{
	struct cluster c = {0};
	struct http_resp r = {0};
	char leader_url[64];
	int l, s1, s2;

	if (!cluster_start(&c, "proxy") ||
	    !CHECK((l = wait_leader(&c, -1, 20000)) >= 0))
		goto out_stop;
	s1 = standby_of(l, 1);
	s2 = standby_of(l, 2);
	snprintf(leader_url, sizeof(leader_url), "http://127.0.0.1:%u",
	         (unsigned)c.node[l].port);
	/* Answered by the standby itself, naming the leader. */
	if (CHECK_INT(daemon_call(&c.node[s1], "GET", "/ping", NULL, NULL, &r),
	              0)) {
		CHECK_INT(r.status, 200);
		CHECK_STR(http_resp_header(&r, "X-Marathon-Leader"), leader_url);
	}
	http_resp_free(&r);
	/* A creation through a standby is the leader's. */
	if (CHECK_INT(daemon_call(&c.node[s1], "POST", "/v2/apps", NULL,
	                          "{\"id\":\"/ha/p\",\"cmd\":\"sleep 3600\","
	                          "\"cpus\":0.01,\"mem\":8,\"instances\":1}",
	                          &r),
	              0)) {
		CHECK_INT(r.status, 201);
		CHECK_CONTAINS(r.body, "\"id\":\"/ha/p\"");
		CHECK_STR(http_resp_header(&r, "X-Marathon-Leader"), leader_url);
		CHECK(http_resp_header(&r, "Marathon-Deployment-Id") != NULL);
	}
	http_resp_free(&r);
	CHECK_INT(daemon_json(&c.node[s2], "GET", "/v2/apps/ha/p", NULL, NULL),
	          200);
	CHECK_INT(daemon_json(&c.node[l], "GET", "/v2/apps/ha/p", NULL, NULL),
	          200);
	CHECK(wait_running(&c.node[s2], "/v2/apps/ha/p", 1));
	/* Errors come back as the leader gave them. */
	if (CHECK_INT(daemon_call(&c.node[s2], "POST", "/v2/apps", NULL,
	                          "{\"id\":\"/ha/bad\",\"cpus\":-1}", &r),
	              0)) {
		CHECK_INT(r.status, 422);
		CHECK_CONTAINS(r.body, "\"details\"");
	}
	http_resp_free(&r);
	CHECK_INT(daemon_json(&c.node[s1], "GET", "/v2/nothing", NULL, NULL),
	          404);
	/* Events: the standby sends the client to the leader. */
	if (CHECK_INT(daemon_call(&c.node[s1], "GET", "/v2/events", NULL, NULL,
	                          &r),
	              0)) {
		CHECK_INT(r.status, 307);
		char location[96];

		snprintf(location, sizeof(location), "%s/v2/events",
		         leader_url);
		CHECK_STR(http_resp_header(&r, "Location"), location);
	}
	http_resp_free(&r);
	/* No backup/restore: refused, and nobody abdicated. */
	CHECK_INT(daemon_json(&c.node[s1], "DELETE", "/v2/leader?backup=file:///x",
	                      NULL, NULL),
	          400);
	CHECK_INT(agreed_leader(&c), l);
out_stop:
	cluster_stop(&c);
}

/* SIGKILL of the leader: a standby leads within the session timeout and
 * then some, with the apps, the deployments and every task as they were. */
static void test_failover(void)
{
	struct cluster c = {0};
	struct json_object *o;
	char before[4096], after[4096], deployment[64] = "";
	int l, l2, n_tasks_before;
	int64_t t0;

	if (!cluster_start(&c, "failover") ||
	    !CHECK((l = wait_leader(&c, -1, 20000)) >= 0))
		goto out_stop;
	CHECK_INT(post(&c.node[standby_of(l, 1)], app_body), 201);
	CHECK_INT(post(&c.node[standby_of(l, 2)], stuck_body), 201);
	if (!CHECK(wait_running(&c.node[l], "/v2/apps/ha/web", 3)))
		goto out_stop;
	if ((o = daemon_get_json(&c.node[l], "/v2/deployments")) != NULL) {
		const char *id = json_str_at(o, "0.id");

		CHECK_INT(json_object_array_length(o), 1);
		snprintf(deployment, sizeof(deployment), "%s", id ? id : "");
		json_object_put(o);
	}
	tasks_seen(&c, before, sizeof(before));
	n_tasks_before = task_procs_count(&c.shared, NULL);
	CHECK_INT(n_tasks_before, 3);
	CHECK(standbys_mirror(&c, l));

	t0 = harness_now_ms();
	CHECK_INT(daemon_kill(&c.node[l], SIGKILL), 128 + SIGKILL);
	c.node[l].pid = 0;
	if (!CHECK((l2 = wait_leader(&c, l, FAILOVER_WAIT_MS)) >= 0))
		goto out_stop;
	fprintf(stderr, "(new leader serving %lld ms after the SIGKILL) ",
	        (long long)(harness_now_ms() - t0));
	CHECK(loaded_from_mirror(&c, l2));
	CHECK(wait_running(&c.node[l2], "/v2/apps/ha/web", 3));
	/* Give a wrong kill or relaunch time to show. */
	harness_sleep_ms(1500);
	tasks_seen(&c, after, sizeof(after));
	CHECK_STR(after, before);
	CHECK_INT(task_procs_count(&c.shared, NULL), 3);
	if ((o = daemon_get_json(&c.node[standby_of(l2, 1)],
	                         "/v2/deployments")) != NULL) {
		CHECK_INT(json_object_array_length(o), 1);
		CHECK_STR(json_str_at(o, "0.id"), deployment);
		json_object_put(o);
	}
	CHECK_INT(daemon_json(&c.node[l2], "GET", "/v2/apps/ha/stuck", NULL,
	                      NULL),
	          200);
	/* The old leader comes back as a standby. */
	if (CHECK(node_start(&c, l)))
		CHECK_INT(wait_leader(&c, -1, 20000), l2);
out_stop:
	cluster_stop(&c);
}

/* A cluster under NAME whose leader runs the 3 tasks of app_body: the
 * leader, or -1 (with the failed check). */
static int start_with_web(struct cluster *c, const char *name)
{
	int l;

	if (!cluster_start(c, name) ||
	    !CHECK((l = wait_leader(c, -1, 20000)) >= 0))
		return -1;
	CHECK_INT(post(&c->node[l], app_body), 201);
	if (!CHECK(wait_running(&c->node[l], "/v2/apps/ha/web", 3)))
		return -1;
	return l;
}

/* DELETE /v2/leader through a standby: the leader answers, steps down
 * (and comes back as a standby, the same process), another node leads,
 * and the tasks are untouched. */
static void test_abdicate(void)
{
	struct cluster c = {0};
	struct json_object *o = NULL;
	char before[4096], after[4096];
	int l, l2;
	pid_t old_pid;
	int64_t t0;

	if ((l = start_with_web(&c, "abdicate")) < 0)
		goto out_stop;
	tasks_seen(&c, before, sizeof(before));
	CHECK(standbys_mirror(&c, l));
	old_pid = c.node[l].pid;
	t0 = harness_now_ms();
	if (CHECK_INT(daemon_json(&c.node[standby_of(l, 1)], "DELETE",
	                          "/v2/leader", NULL, &o),
	              200))
		CHECK_STR(json_str_at(o, "message"), "Leadership abdicated");
	json_object_put(o);
	if (!CHECK((l2 = wait_leader(&c, l, 20000)) >= 0))
		goto out_stop;
	fprintf(stderr, "(new leader serving %lld ms after the DELETE) ",
	        (long long)(harness_now_ms() - t0));
	CHECK(loaded_from_mirror(&c, l2));
	CHECK(wait_running(&c.node[l2], "/v2/apps/ha/web", 3));
	/* Same process, back as a standby that knows the new leader. */
	CHECK(kill(old_pid, 0) == 0);
	CHECK_INT(wait_leader(&c, -1, 20000), l2);
	harness_sleep_ms(1500);
	tasks_seen(&c, after, sizeof(after));
	CHECK_STR(after, before);
	CHECK_INT(task_procs_count(&c.shared, NULL), 3);
out_stop:
	cluster_stop(&c);
}

/* The leader every running node but NOT names, once they agree on one
 * that is not NOT (elected, maybe still loading); -1 while they do not. */
struct named_wait {
	struct cluster *c;
	int not;
	int leader;
};

static bool leader_named(void *arg)
{
	struct named_wait *w = arg;
	char got[128], first[128] = "", id[128];
	bool elected;

	w->leader = -1;
	for (int i = 0; i < NODES; i++) {
		if (i == w->not || w->c->node[i].pid == 0)
			continue;
		ask(&w->c->node[i], got, sizeof(got), &elected);
		if (got[0] == '\0' ||
		    (first[0] != '\0' && strcmp(first, got) != 0))
			return false;
		snprintf(first, sizeof(first), "%s", got);
	}
	for (int i = 0; i < NODES; i++) {
		snprintf(id, sizeof(id), "127.0.0.1:%u",
		         (unsigned)w->c->node[i].port);
		if (i != w->not && strcmp(id, first) == 0)
			w->leader = i;
	}
	return w->leader >= 0;
}

/* One POST in a thread of its own: the calls must be under way together. */
struct post_call {
	pthread_t thread;
	const struct daemon *d;
	const char *body;
	int status;
};

static void *post_main(void *arg)
{
	struct post_call *p = arg;

	p->status = daemon_json(p->d, "POST", "/v2/apps", p->body, NULL);
	return NULL;
}

/* A leader elected while it loads the state holds the calls that reach it,
 * its own and those its standbys forward, and serves them once it has
 * loaded, instead of answering 503: the load is made to last 1.5 s
 * (STADIOND_TEST_LOAD_DELAY_MS) and a POST goes to each node but the old
 * leader, together, in that window. */
static void test_held_while_loading(void)
{
	static const char *bodies[2] = {
		"{\"id\": \"/ha/held-1\", \"cmd\": \"sleep 3600\", "
		"\"cpus\": 0.01, \"mem\": 8, \"instances\": 1}",
		"{\"id\": \"/ha/held-2\", \"cmd\": \"sleep 3600\", "
		"\"cpus\": 0.01, \"mem\": 8, \"instances\": 1}",
	};
	struct cluster c = {0};
	struct named_wait w = {.c = &c};
	struct post_call calls[2];
	bool started;
	int l, n = 0;

	setenv("STADIOND_TEST_LOAD_DELAY_MS", "1500", 1);
	started = cluster_start(&c, "held");
	unsetenv("STADIOND_TEST_LOAD_DELAY_MS");
	if (!started || !CHECK((l = wait_leader(&c, -1, 20000)) >= 0))
		goto out_stop;
	CHECK_INT(daemon_json(&c.node[l], "DELETE", "/v2/leader", NULL, NULL),
	          200);
	/* Until the survivors name the new leader, a call could still be
	 * forwarded to the old one, which is going. */
	w.not = l;
	if (!CHECK(wait_until(leader_named, &w, 5000)))
		goto out_stop;
	for (int i = 0; i < NODES; i++) {
		if (i == l)
			continue;
		calls[n] = (struct post_call){.d = &c.node[i],
		                              .body = bodies[n]};
		if (!CHECK_INT(pthread_create(&calls[n].thread, NULL,
		                              post_main, &calls[n]),
		               0))
			break;
		n++;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(calls[i].thread, NULL);
		CHECK_INT(calls[i].status, 201);
	}
	/* Both held by the new leader, whose load had not even begun. */
	CHECK(daemon_log_contains(&c.node[w.leader],
	                          "STADIOND_TEST_LOAD_DELAY_MS is set"));
	CHECK_INT(wait_leader(&c, -1, 20000), w.leader);
	CHECK_INT(daemon_json(&c.node[w.leader], "GET", "/v2/apps/ha/held-1",
	                      NULL, NULL),
	          200);
	CHECK_INT(daemon_json(&c.node[w.leader], "GET", "/v2/apps/ha/held-2",
	                      NULL, NULL),
	          200);
out_stop:
	cluster_stop(&c);
}

/* ZooKeeper goes away under a running cluster: the leader stops leading
 * within the session timeout (its process replaced by a fresh one, same
 * pid), nobody leads while ZooKeeper is down, and once it is back a node
 * leads again with the state and the tasks as they were. */
static void test_zk_outage(void)
{
	struct cluster c = {0};
	struct http_resp r = {0};
	char before[4096], after[4096];
	int l, l2;
	pid_t pids[NODES];
	int64_t t0;

	if ((l = start_with_web(&c, "outage")) < 0)
		goto out_stop;
	/* Right away: launches not stored yet are adopted all the same
	 * (their instances were stored as Scheduled first). */
	tasks_seen(&c, before, sizeof(before));
	for (int i = 0; i < NODES; i++)
		pids[i] = c.node[i].pid;
	CHECK_INT(zk_server_kill(&zk), 0);
	/* Two thirds of the 4 s session, and some. */
	harness_sleep_ms(4000);
	CHECK(daemon_log_contains(&c.node[l], "stops leading"));
	CHECK_INT(daemon_json(&c.node[l], "GET", "/v2/leader", NULL, NULL),
	          404);
	/* A call held for a leader that does not come: 503 after 2.5 s. */
	t0 = harness_now_ms();
	if (CHECK_INT(daemon_call(&c.node[l], "POST", "/v2/apps", NULL,
	                          app_body, &r),
	              0)) {
		CHECK_INT(r.status, 503);
		CHECK_CONTAINS(r.body, "Could not determine the current leader");
		CHECK(harness_now_ms() - t0 >= 2400);
	}
	http_resp_free(&r);
	CHECK_INT(zk_server_restart(&zk), 0);
	if (!CHECK((l2 = wait_leader(&c, -1, FAILOVER_WAIT_MS)) >= 0))
		goto out_stop;
	CHECK(wait_running(&c.node[l2], "/v2/apps/ha/web", 3));
	harness_sleep_ms(1500);
	tasks_seen(&c, after, sizeof(after));
	CHECK_STR(after, before);
	CHECK_INT(task_procs_count(&c.shared, NULL), 3);
	for (int i = 0; i < NODES; i++)
		CHECK_INT(c.node[i].pid, pids[i]);
out_stop:
	cluster_stop(&c);
}

static CU_TestInfo ha_tests[] = {
	{"one leader; standbys answer /ping, /v2/leader, /v2/info and proxy "
	 "the rest",
	 test_leader_and_proxy},
	{"SIGKILL of the leader: a standby takes over, nothing killed or "
	 "doubled",
	 test_failover},
	{"DELETE /v2/leader moves the leadership", test_abdicate},
	{"calls during a new leader's load are held, then served",
	 test_held_while_loading},
	{"ZooKeeper down and back: the leader stops, a leader comes back",
	 test_zk_outage},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"cluster: leader election", suite_init, suite_cleanup, NULL, NULL,
	 ha_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
