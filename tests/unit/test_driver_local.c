/*
 * test_driver_local: the local driver (core/driver/driver_local.c) with a
 * real event loop and real processes: sandboxes and their stdout, the
 * environment, exit statuses, kills (SIGTERM, then SIGKILL after the grace
 * period, to the whole process group), ports and offers, simulated agents
 * (10,000 launches), the --local_agents file and its errors, adoption after
 * a restart, the launch record in the sandbox (adoption with pid 0, the
 * sweep of tasks the scheduler never stored), and docker tasks through a
 * stand-in docker script.
 *
 * Every process a test starts is killed (its group) and reaped in the
 * teardown, whatever the test's outcome.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>

#include "driver/driver.h"
#include "driver/driver_local.h"
#include "lib/cu_run.h"
#include "log.h"

extern char **environ;

/* One status report, copied. */
struct rec {
	char id[64];
	enum driver_task_state state;
	char msg[256];
	int exit_status, term_signal;
};

static struct event_base *base;
static struct driver *drv;
static char data_dir[64];
static struct rec *recs;
static size_t n_recs, cap_recs;
static size_t n_running, n_killed;  /* for the bulk tests */
static pid_t groups[64];            /* to kill in the teardown */
static size_t n_groups;
static pid_t helpers[8];            /* our direct children, to kill */
static size_t n_helpers;
static char saved_path[4096];

static void on_status(const struct driver_status *st, void *arg)
{
	struct rec *r;

	(void)arg;
	if (st->state == DRIVER_TASK_RUNNING)
		n_running++;
	if (st->state == DRIVER_TASK_KILLED)
		n_killed++;
	if (n_recs == cap_recs) {
		cap_recs = cap_recs == 0 ? 64 : cap_recs * 2;
		recs = realloc(recs, cap_recs * sizeof(*recs));
		if (recs == NULL)
			abort();
	}
	r = &recs[n_recs++];
	snprintf(r->id, sizeof(r->id), "%s", st->task_id);
	r->state = st->state;
	snprintf(r->msg, sizeof(r->msg), "%s",
	         st->message != NULL ? st->message : "");
	r->exit_status = st->exit_status;
	r->term_signal = st->term_signal;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop for at most MS milliseconds (once round). */
static void spin(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static const struct rec *find(const char *id, enum driver_task_state state)
{
	for (size_t i = 0; i < n_recs; i++)
		if (strcmp(recs[i].id, id) == 0 && recs[i].state == state)
			return &recs[i];
	return NULL;
}

/* Run the loop until ID reported STATE, at most MS milliseconds. */
static const struct rec *wait_for(const char *id, enum driver_task_state state,
                                  int ms)
{
	double end = now_s() + ms / 1000.0;
	const struct rec *r;

	while ((r = find(id, state)) == NULL && now_s() < end)
		spin(10);
	if (r == NULL)
		fprintf(stderr, "\n    no %s for %s\n",
		        driver_task_state_name(state), id);
	return r;
}

/* The states reported for ID, in order, as "STAGING RUNNING ...". */
static const char *states_of(const char *id)
{
	static char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n_recs; i++)
		if (strcmp(recs[i].id, id) == 0)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			        "%s%s", len > 0 ? " " : "",
			        driver_task_state_name(recs[i].state) + 5);
	return buf;
}

static void new_driver(const char *agents_file)
{
	struct driver_local_config cfg = {
		.data_dir = data_dir,
		.agents_file = agents_file,
		.hostname = "test-host",
	};
	char err[512] = "";

	drv = driver_local_new(base, &cfg, err, sizeof(err));
	if (!CHECK(drv != NULL))
		fprintf(stderr, "\n    driver_local_new: %s\n", err);
	else
		driver_set_status_cb(drv, on_status, NULL);
}

static void remember_group(const char *id)
{
	struct driver_launch_record rec;

	if (drv != NULL && driver_launch_record(drv, id, &rec) == 0 &&
	    rec.pid > 0 && n_groups < sizeof(groups) / sizeof(groups[0]))
		groups[n_groups++] = rec.pid;
}

/* Launch a shell command on the default agent. */
static int launch_sh(const char *id, const char *cmd, int64_t grace_ms,
                     const uint32_t *ports, size_t n_ports)
{
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	struct driver_task_spec spec = {
		.task_id = id, .shell = cmd, .env = env, .cpus = 0.1,
		.mem = 16, .ports = ports, .n_ports = n_ports,
		.kill_grace_ms = grace_ms,
	};
	char err[512] = "";
	int rc = driver_launch(drv, &spec, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n    launch %s: %s\n", id, err);
	remember_group(id);
	return rc;
}

/* The contents of the sandbox file <data_dir>/sandboxes/ID/NAME, or "". */
static const char *sandbox_file(const char *id, const char *name)
{
	static char buf[8192];
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/sandboxes/%s/%s", data_dir, id, name);
	if ((fd = open(path, O_RDONLY)) < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static const char *wait_file(const char *id, const char *name,
                             const char *needle, int ms)
{
	double end = now_s() + ms / 1000.0;
	const char *s;

	while (strstr((s = sandbox_file(id, name)), needle) == NULL &&
	       now_s() < end)
		spin(10);
	return s;
}

/* PID is gone or a zombie (of whoever reaps orphans here). */
static bool process_gone(pid_t pid, int ms)
{
	double end = now_s() + ms / 1000.0;

	for (;;) {
		char path[64], buf[512];
		FILE *f;
		bool gone = true;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL) {
				char *p = strrchr(buf, ')');

				gone = p != NULL && (p[2] == 'Z' || p[2] == 'X');
			}
			fclose(f);
		}
		if (gone)
			return true;
		if (now_s() > end)
			return false;
		spin(10);
	}
}

static int rm_rf(const char *path)
{
	char *argv[] = {"rm", "-rf", (char *)path, NULL};
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) != 0)
		return -1;
	waitpid(pid, &st, 0);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void setup(void)
{
	snprintf(data_dir, sizeof(data_dir), "/tmp/test_driver_local.XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		abort();
	base = event_base_new();
	n_recs = 0;
	n_running = n_killed = 0;
	n_groups = 0;
	n_helpers = 0;
	snprintf(saved_path, sizeof(saved_path), "%s",
	         getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	drv = NULL;
}

static void teardown(void)
{
	driver_destroy(drv);
	drv = NULL;
	for (size_t i = 0; i < n_groups; i++) {
		killpg(groups[i], SIGKILL);
		waitpid(groups[i], NULL, 0);
	}
	for (size_t i = 0; i < n_helpers; i++)
		kill(helpers[i], SIGKILL);
	/* What the tasks left (killed with their group, but orphaned, so
	 * reparented to us, the subreaper) and the helpers: reap them all,
	 * so that no zombie is left behind. */
	for (int i = 0; i < 200; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0)
			break;
		if (pid == 0)
			usleep(5000);
	}
	setenv("PATH", saved_path, 1);
	event_base_free(base);
	base = NULL;
	rm_rf(data_dir);
	free(recs);
	recs = NULL;
	n_recs = cap_recs = 0;
}

/* ---- real processes --------------------------------------------------- */

static void test_hello(void)
{
	struct driver_launch_record rec;
	char sandbox[PATH_MAX];

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("hello", "echo Hello Marathon; sleep 60", -1,
	                    NULL, 0), 0);
	/* Reports come from the loop, never from inside launch(). */
	CHECK_INT(n_recs, 0);
	CHECK(wait_for("hello", DRIVER_TASK_RUNNING, 2000) != NULL);
	CHECK_STR(states_of("hello"), "STAGING RUNNING");
	CHECK_STR(wait_file("hello", "stdout", "Hello Marathon\n", 2000),
	          "Hello Marathon\n");
	CHECK_INT(driver_launch_record(drv, "hello", &rec), 0);
	CHECK(rec.pid > 0);
	CHECK(rec.start_ticks != 0);
	CHECK_INT(rec.start_ticks, driver_local_start_ticks(rec.pid));
	snprintf(sandbox, sizeof(sandbox), "%s/sandboxes/hello", data_dir);
	CHECK_STR(rec.sandbox, sandbox);
	/* Its own process group. */
	CHECK_INT(getpgid(rec.pid), rec.pid);
	/* Reconcile repeats the current state. */
	CHECK_INT(driver_reconcile(drv, "hello"), 0);
	spin(20);
	CHECK_STR(states_of("hello"), "STAGING RUNNING RUNNING");
	CHECK_INT(driver_reconcile(drv, "nope"), -1);
	CHECK_INT(errno, ENOENT);
}

static void test_env_exact(void)
{
	static const char *const argv[] = {"/usr/bin/env", NULL};
	static const char *const env[] = {"A=1", "B=two words",
	                                  "MARATHON_APP_ID=/a/b", NULL};
	struct driver_task_spec spec = {.task_id = "env", .argv = argv,
	                                .env = env};
	char err[256];

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	CHECK(wait_for("env", DRIVER_TASK_FINISHED, 2000) != NULL);
	CHECK_STR(sandbox_file("env", "stdout"),
	          "A=1\nB=two words\nMARATHON_APP_ID=/a/b\n");
	CHECK_STR(sandbox_file("env", "stderr"), "");
}

static void test_exit_status(void)
{
	const struct rec *r;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("ok", "exit 0", -1, NULL, 0), 0);
	CHECK_INT(launch_sh("three", "echo oops >&2; exit 3", -1, NULL, 0), 0);
	CHECK_INT(launch_sh("segv", "kill -SEGV $$", -1, NULL, 0), 0);
	if (CHECK((r = wait_for("ok", DRIVER_TASK_FINISHED, 2000)) != NULL)) {
		CHECK_INT(r->exit_status, 0);
		CHECK_STR(r->msg, "exited with status 0");
	}
	CHECK_STR(states_of("ok"), "STAGING RUNNING FINISHED");
	if (CHECK((r = wait_for("three", DRIVER_TASK_FAILED, 2000)) != NULL)) {
		CHECK_INT(r->exit_status, 3);
		CHECK_INT(r->term_signal, 0);
		CHECK_STR(r->msg, "exited with status 3");
	}
	CHECK_STR(sandbox_file("three", "stderr"), "oops\n");
	if (CHECK((r = wait_for("segv", DRIVER_TASK_FAILED, 2000)) != NULL)) {
		CHECK_INT(r->exit_status, -1);
		CHECK_INT(r->term_signal, SIGSEGV);
		CHECK_CONTAINS(r->msg, "killed by signal SIGSEGV");
	}
	/* The driver forgot them. */
	CHECK_INT(driver_reconcile(drv, "ok"), -1);
}

static void test_spawn_failure(void)
{
	static const char *const argv[] = {"/nonexistent/prog", NULL};
	struct driver_task_spec spec = {.task_id = "bad", .argv = argv};
	const struct rec *r;
	char err[256];

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	if (CHECK((r = wait_for("bad", DRIVER_TASK_FAILED, 2000)) != NULL))
		CHECK_STR(r->msg, "cannot start /nonexistent/prog: No such "
		          "file or directory");
	CHECK_STR(states_of("bad"), "STAGING FAILED");
	/* An id that cannot name a sandbox is refused at once. */
	spec.task_id = "../escape";
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "invalid task id \"../escape\"");
}

static void test_kill(void)
{
	const struct rec *r;
	double t0;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("k", "sleep 60", 2000, NULL, 0), 0);
	CHECK(wait_for("k", DRIVER_TASK_RUNNING, 2000) != NULL);
	t0 = now_s();
	CHECK_INT(driver_kill(drv, "k", -1), 0);
	/* A second kill while killing is harmless. */
	CHECK_INT(driver_kill(drv, "k", -1), 0);
	spin(1);
	CHECK(find("k", DRIVER_TASK_KILLING) != NULL);
	if (CHECK((r = wait_for("k", DRIVER_TASK_KILLED, 3000)) != NULL)) {
		CHECK(now_s() - t0 < 1.5);
		CHECK_INT(r->term_signal, SIGTERM);
		CHECK_STR(r->msg, "killed by signal SIGTERM");
	}
	CHECK_STR(states_of("k"), "STAGING RUNNING KILLING KILLED");
	CHECK_INT(driver_kill(drv, "k", -1), -1);
	CHECK_INT(errno, ENOENT);
}

static void test_kill_ignores_term(void)
{
	const struct rec *r;
	double t0, dt;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("stubborn", "trap '' TERM; echo ready; sleep 60",
	                    300, NULL, 0), 0);
	CHECK(wait_for("stubborn", DRIVER_TASK_RUNNING, 2000) != NULL);
	/* Wait until the trap is set, or SIGTERM would kill the shell. */
	wait_file("stubborn", "stdout", "ready", 2000);
	t0 = now_s();
	CHECK_INT(driver_kill(drv, "stubborn", -1), 0);
	if (CHECK((r = wait_for("stubborn", DRIVER_TASK_KILLED, 3000)) !=
	          NULL)) {
		dt = now_s() - t0;
		CHECK(dt >= 0.29);
		CHECK(dt < 2.0);
		CHECK_INT(r->term_signal, SIGKILL);
	}
}

static pid_t read_pid(const char *id)
{
	const char *s = wait_file(id, "child.pid", "\n", 2000);

	return (pid_t)atoi(s);
}

static void test_process_group(void)
{
	pid_t child;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* Killed: the shell's child dies with it. */
	CHECK_INT(launch_sh("grp", "sleep 60 & echo $! > child.pid; wait",
	                    1000, NULL, 0), 0);
	CHECK(wait_for("grp", DRIVER_TASK_RUNNING, 2000) != NULL);
	child = read_pid("grp");
	CHECK(child > 0);
	CHECK_INT(driver_kill(drv, "grp", -1), 0);
	CHECK(wait_for("grp", DRIVER_TASK_KILLED, 3000) != NULL);
	if (child > 0)
		CHECK(process_gone(child, 2000));
	/* Finished: what it left running in its group is killed too. */
	CHECK_INT(launch_sh("orphan", "sleep 60 & echo $! > child.pid", -1,
	                    NULL, 0), 0);
	child = read_pid("orphan");
	CHECK(wait_for("orphan", DRIVER_TASK_FINISHED, 2000) != NULL);
	if (child > 0)
		CHECK(process_gone(child, 2000));
}

/* ---- ports and offers ------------------------------------------------- */

static const struct driver_offer *offer_of(struct driver_offer *o, size_t n,
                                           const char *agent)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].agent->id, agent) == 0)
			return &o[i];
	return NULL;
}

static void test_ports_and_offers(void)
{
	const uint32_t ports[] = {31000, 31005};
	const uint32_t taken[] = {31005};
	const uint32_t outside[] = {80};
	struct driver_offer *o = NULL;
	const struct driver_offer *lo;
	const struct driver_agent *agents;
	double cpus0, mem0;
	size_t n = 0;
	char err[256];
	struct driver_task_spec spec = {.task_id = "x", .shell = "sleep 60",
	                                .ports = taken, .n_ports = 1};

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(driver_agents(drv, &agents, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(agents[0].id, "local-0");
	CHECK_STR(agents[0].hostname, "test-host");
	CHECK(agents[0].cpus >= 1);
	CHECK(agents[0].mem > 0);
	CHECK(!agents[0].simulated);

	CHECK_INT(driver_offers(drv, &o, &n), 0);
	lo = offer_of(o, n, "local-0");
	if (!CHECK(lo != NULL))
		goto out;
	cpus0 = lo->cpus;
	mem0 = lo->mem;
	CHECK_INT(lo->n_ports, 1);
	CHECK_INT(lo->ports[0].begin, 31000);
	CHECK_INT(lo->ports[0].end, 32000);
	driver_offers_free(o, n);
	o = NULL;

	CHECK_INT(launch_sh("p", "sleep 60", 200, ports, 2), 0);
	CHECK(wait_for("p", DRIVER_TASK_RUNNING, 2000) != NULL);
	/* Offers shrink... */
	CHECK_INT(driver_offers(drv, &o, &n), 0);
	lo = offer_of(o, n, "local-0");
	if (!CHECK(lo != NULL))
		goto out;
	CHECK(lo->cpus < cpus0 - 0.09 && lo->cpus > cpus0 - 0.11);
	CHECK(lo->mem == mem0 - 16);
	if (CHECK_INT(lo->n_ports, 2)) {
		CHECK_INT(lo->ports[0].begin, 31001);
		CHECK_INT(lo->ports[0].end, 31004);
		CHECK_INT(lo->ports[1].begin, 31006);
		CHECK_INT(lo->ports[1].end, 32000);
	}
	driver_offers_free(o, n);
	o = NULL;
	/* ... ports in use or outside the ranges are refused ... */
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_STR(err, "task x: port 31005 on agent local-0 is already in use");
	spec.ports = outside;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_STR(err, "task x: port 80 is not in agent local-0's port ranges");
	spec.ports = NULL;
	spec.n_ports = 0;
	spec.cpus = 100000;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "cpus free, the task needs 100000");
	spec.cpus = 0;
	spec.agent_id = "local-9";
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_STR(err, "task x: no agent \"local-9\"");
	spec.agent_id = NULL;
	spec.task_id = "p";
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), -1);
	CHECK_STR(err, "task p is already known to the local driver");
	/* ... and grow back on a terminal state. */
	CHECK_INT(driver_kill(drv, "p", -1), 0);
	CHECK(wait_for("p", DRIVER_TASK_KILLED, 2000) != NULL);
	CHECK_INT(driver_offers(drv, &o, &n), 0);
	lo = offer_of(o, n, "local-0");
	if (!CHECK(lo != NULL))
		goto out;
	CHECK(lo->cpus > cpus0 - 1e-6 && lo->cpus < cpus0 + 1e-6);
	CHECK(lo->mem == mem0);
	CHECK_INT(lo->n_ports, 1);
	CHECK_INT(lo->ports[0].begin, 31000);
	CHECK_INT(lo->ports[0].end, 32000);
out:
	driver_offers_free(o, n);
}

/* ---- simulated agents ------------------------------------------------- */

static char agents_path[256];

static const char *agents_file(const char *json)
{
	snprintf(agents_path, sizeof(agents_path), "%s/agents.json",
	         data_dir);
	write_file(agents_path, json, 0644);
	return agents_path;
}

static void test_simulated(void)
{
	struct driver_task_spec spec = {.task_id = "sim", .shell = "ignored",
	                                .agent_id = "local-0", .cpus = 1,
	                                .mem = 1};
	struct driver_offer *o = NULL;
	char err[256], id[32];
	size_t n;
	double t0;

	new_driver(agents_file("[{\"hostname\": \"sim1\", \"cpus\": 100000, "
	                       "\"mem\": 1e9, \"disk\": 0, "
	                       "\"simulated\": true}]"));
	if (drv == NULL)
		return;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	CHECK(wait_for("sim", DRIVER_TASK_RUNNING, 1000) != NULL);
	CHECK_STR(states_of("sim"), "STAGING RUNNING");
	CHECK_INT(driver_kill(drv, "sim", -1), 0);
	spin(1);
	CHECK_STR(states_of("sim"), "STAGING RUNNING KILLING KILLED");
	/* Killed while still staging: off the timer queue too. */
	spec.task_id = "early";
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	CHECK_INT(driver_kill(drv, "early", -1), 0);
	spin(50);
	CHECK_STR(states_of("early"), "STAGING KILLING KILLED");

	/* 10,000 launches, all RUNNING, then all killed. */
	n_running = n_killed = 0;
	t0 = now_s();
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "bulk.%d", i);
		spec.task_id = id;
		if (driver_launch(drv, &spec, err, sizeof(err)) != 0) {
			CHECK_STR(err, "");
			break;
		}
	}
	while (n_running < 10000 && now_s() - t0 < 10)
		spin(10);
	CHECK_INT(n_running, 10000);
	CHECK_INT(driver_offers(drv, &o, &n), 0);
	if (CHECK_INT(n, 1))
		CHECK(o[0].cpus > 89999.5 && o[0].cpus < 90000.5);
	driver_offers_free(o, n);
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "bulk.%d", i);
		driver_kill(drv, id, -1);
	}
	spin(1);
	CHECK_INT(n_killed, 10000);
	fprintf(stderr, "\n    10,000 simulated launches + kills: %.3f s\n",
	        now_s() - t0);
	CHECK(now_s() - t0 < 5);
	CHECK_INT(driver_reconcile(drv, "bulk.0"), -1);
}

/* ---- --local_agents --------------------------------------------------- */

static void test_agents_file(void)
{
	struct driver_local_config cfg = {.data_dir = data_dir,
	                                  .hostname = "test-host"};
	const struct driver_agent *a;
	char err[512];
	size_t n;

	new_driver(agents_file(
		"[{\"hostname\": \"h1\", \"cpus\": 4, \"mem\": 8192, "
		"\"disk\": 1000, \"ports\": \"33000-33100, 31000-32000\", "
		"\"attributes\": {\"rack_id\": \"r1\", \"zone\": \"z\", "
		"\"level\": 3, \"mem_gb\": 1234.5675, \"p\": \"[8-9,1-5]\", "
		"\"s\": \"{b,a}\", \"t\": [\"z\", \"y\"], \"h\": 0.0625}},"
		" {\"simulated\": true}]"));
	if (drv == NULL)
		return;
	CHECK_INT(driver_agents(drv, &a, &n), 0);
	if (!CHECK_INT(n, 2))
		return;
	CHECK_STR(a[0].id, "local-0");
	CHECK_STR(a[0].hostname, "h1");
	CHECK(a[0].cpus == 4 && a[0].mem == 8192 && a[0].disk == 1000);
	if (CHECK_INT(a[0].n_ports, 2)) {
		CHECK_INT(a[0].ports[0].begin, 31000);
		CHECK_INT(a[0].ports[1].end, 33100);
	}
	/* Values as Marathon's constraints see them (getValueString). */
	if (CHECK_INT(a[0].n_attributes, 8)) {
		static const struct {
			const char *name, *value;
			enum driver_attr_type type;
		} want[] = {
			{"rack_id", "r1", DRIVER_ATTR_TEXT},
			{"zone", "z", DRIVER_ATTR_TEXT},
			{"level", "3", DRIVER_ATTR_SCALAR},
			{"mem_gb", "1,234.568", DRIVER_ATTR_SCALAR},
			{"p", "[1-5,8-9]", DRIVER_ATTR_RANGES},
			{"s", "{a,b}", DRIVER_ATTR_SET},
			{"t", "{y,z}", DRIVER_ATTR_SET},
			{"h", "0.062", DRIVER_ATTR_SCALAR},
		};

		for (size_t i = 0; i < 8; i++) {
			CHECK_STR(a[0].attributes[i].name, want[i].name);
			CHECK_STR(a[0].attributes[i].value, want[i].value);
			CHECK_INT(a[0].attributes[i].type, want[i].type);
		}
	}
	CHECK(!a[0].simulated);
	/* Defaults: this host. */
	CHECK_STR(a[1].id, "local-1");
	CHECK_STR(a[1].hostname, "test-host");
	CHECK(a[1].simulated);
	CHECK(a[1].cpus >= 1);
	CHECK_INT(a[1].n_ports, 1);

	static const struct {
		const char *json, *error;
	} bad[] = {
		{"[", "cannot read or parse"},
		{"{}", "must be a JSON array of agents"},
		{"[]", "no agents (an empty array)"},
		{"[1]", "agent 0: must be an object"},
		{"[{}, {\"cpu\": 1}]", "agent 1: unknown field \"cpu\" (known: "
		 "hostname, cpus, mem, disk, ports, attributes, simulated)"},
		{"[{\"hostname\": \"\"}]",
		 "agent 0: \"hostname\" must be a non-empty string"},
		{"[{\"cpus\": \"4\"}]", "agent 0: \"cpus\" must be a number >= 0"},
		{"[{\"mem\": -1}]", "agent 0: \"mem\" must be a number >= 0"},
		{"[{\"disk\": null}]", "agent 0: \"disk\" must be a number >= 0"},
		{"[{\"ports\": 31000}]", "agent 0: \"ports\" must be a string "
		 "like \"31000-32000\""},
		{"[{\"ports\": \"a-b\"}]", "agent 0: \"ports\": \"a-b\" is not a "
		 "list of port ranges like \"31000-32000,33000-33100\""},
		{"[{\"ports\": \"32000-31000\"}]", "agent 0: \"ports\": "
		 "\"32000-31000\" is not a range of ports (1-65535, low-high)"},
		{"[{\"ports\": \"1-70000\"}]", "agent 0: \"ports\": \"1-70000\" "
		 "is not a range of ports (1-65535, low-high)"},
		{"[{\"ports\": \"100-200,150-300\"}]", "agent 0: \"ports\": port "
		 "ranges 100-200 and 150-300 overlap"},
		{"[{\"ports\": \"\"}]", "agent 0: \"ports\": no port ranges"},
		{"[{\"simulated\": 1}]",
		 "agent 0: \"simulated\" must be true or false"},
		{"[{\"attributes\": []}]",
		 "agent 0: \"attributes\" must be an object"},
		{"[{\"attributes\": {\"rack\": [1]}}]", "agent 0: "
		 "\"attributes\".\"rack\" must hold strings without \",\", "
		 "\"{\" or \"}\" (a set)"},
		{"[{\"attributes\": {\"rack\": true}}]", "agent 0: "
		 "\"attributes\".\"rack\" must be a string, a number or an "
		 "array of strings"},
		{"[{\"attributes\": {\"p\": \"[5-1]\"}}]", "agent 0: "
		 "\"attributes\".\"p\" \"[5-1]\" is not ranges like "
		 "\"[1-5,8-9]\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct driver *d2;
		char expected[1024];

		cfg.agents_file = agents_file(bad[i].json);
		snprintf(expected, sizeof(expected), "%s: %s", agents_path,
		         bad[i].error);
		err[0] = '\0';
		d2 = driver_local_new(base, &cfg, err, sizeof(err));
		CHECK(d2 == NULL);
		driver_destroy(d2);
		if (i == 0)
			CHECK_CONTAINS(err, expected);
		else if (!CHECK_STR(err, expected))
			fprintf(stderr, "    for %s\n", bad[i].json);
	}
	cfg.agents_file = "/nonexistent/agents.json";
	CHECK(driver_local_new(base, &cfg, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "/nonexistent/agents.json: cannot read or parse");
}

/* ---- adoption --------------------------------------------------------- */

/* driver_adopt() SPEC with REC, then run the loop until SPEC's task
 * reports STATE (at most 1 s): that report, or NULL. */
static const struct rec *adopt_until(const struct driver_task_spec *spec,
                                     const struct driver_launch_record *rec,
                                     enum driver_task_state state)
{
	char err[256] = "";

	if (!CHECK_INT(driver_adopt(drv, spec, rec, err, sizeof(err)), 0))
		fprintf(stderr, "\n    driver_adopt: %s\n", err);
	return wait_for(spec->task_id, state, 1000);
}

/* A pid that was ours and is gone: `true`, spawned and reaped, with its
 * start ticks in *TICKS_R (read before the reaping, while they exist);
 * -1 when it could not be spawned. */
static pid_t spawn_exited(uint64_t *ticks_r)
{
	char *argv[] = {"true", NULL};
	pid_t pid;

	if (!CHECK_INT(posix_spawnp(&pid, "true", NULL, NULL, argv, environ),
	               0))
		return -1;
	*ticks_r = driver_local_start_ticks(pid);
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_adopt(void)
{
	struct driver_task_spec spec = {.task_id = "survivor", .cpus = 0.1,
	                                .mem = 16};
	const uint32_t ports[] = {31500};
	struct driver_launch_record rec;
	const struct rec *r;
	struct driver_offer *o = NULL;
	size_t n;
	pid_t pid;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("survivor", "sleep 60", 500, ports, 1), 0);
	CHECK(wait_for("survivor", DRIVER_TASK_RUNNING, 2000) != NULL);
	if (!CHECK_INT(driver_launch_record(drv, "survivor", &rec), 0))
		return;
	pid = rec.pid;
	rec.sandbox = NULL; /* borrowed from the driver going away */
	/* "stadiond restarts": the driver goes, the task stays. */
	driver_destroy(drv);
	drv = NULL;
	spin(50);
	CHECK(kill(pid, 0) == 0);
	CHECK(!process_gone(pid, 0));
	n_recs = 0;
	new_driver(NULL);
	if (drv == NULL)
		return;
	spec.ports = ports;
	spec.n_ports = 1;
	if (CHECK((r = adopt_until(&spec, &rec, DRIVER_TASK_RUNNING)) != NULL))
		CHECK_STR(r->msg, "adopted");
	/* Its port is accounted again. */
	CHECK_INT(driver_offers(drv, &o, &n), 0);
	if (CHECK_INT(n, 1))
		CHECK_INT(o[0].n_ports, 2);
	driver_offers_free(o, n);
	/* Watched: a kill works. */
	CHECK_INT(driver_kill(drv, "survivor", -1), 0);
	CHECK(wait_for("survivor", DRIVER_TASK_KILLED, 2000) != NULL);
	CHECK(process_gone(pid, 1000));
}

static void test_adopt_dead(void)
{
	struct driver_task_spec spec = {.task_id = "ghost"};
	struct driver_launch_record rec = {0};
	const struct rec *r;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* A pid that was ours and is gone. */
	if ((rec.pid = spawn_exited(&rec.start_ticks)) < 0)
		return;
	if (CHECK((r = adopt_until(&spec, &rec, DRIVER_TASK_LOST)) != NULL))
		CHECK_STR(r->msg, "the process exited while stadiond was not "
		          "running");
	/* A live pid that is another process now (other start time). */
	spec.task_id = "impostor";
	rec.pid = getpid();
	rec.start_ticks = driver_local_start_ticks(getpid()) + 1;
	if (CHECK((r = adopt_until(&spec, &rec, DRIVER_TASK_LOST)) != NULL))
		CHECK_STR(r->msg, "the process exited while stadiond was not "
		          "running");
	/* Nothing was signalled: we are still here to check. */
	CHECK_INT(driver_reconcile(drv, "impostor"), -1);
}

/* Start `sleep 60` as an orphan (its parent shell exits at once, so it is
 * not our child, as a task is not the child of a restarted stadiond), its
 * own group leader as tasks are, and its group killed in teardown; its
 * pid, or -1. */
static pid_t orphan_sleep(void)
{
	/* The shell stays (as sleep 61) so that the task's parent is not us
	 * (we are a subreaper, see suite_init()); it is killed in teardown,
	 * and the zombie it leaves then comes to us to be reaped. */
	char *argv[] = {"sh", "-c", "setsid sleep 60 >/dev/null 2>&1 & "
	                "echo $!; exec sleep 61 >/dev/null", NULL};
	posix_spawn_file_actions_t fa;
	char buf[32] = "";
	int fds[2];
	pid_t sh;
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(&sh, "sh", &fa, NULL, argv, environ) != 0)
		sh = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	n = sh > 0 ? read(fds[0], buf, sizeof(buf) - 1) : -1;
	close(fds[0]);
	if (sh > 0 && n_helpers < sizeof(helpers) / sizeof(helpers[0]))
		helpers[n_helpers++] = sh;
	if (n <= 0 || atoi(buf) <= 0)
		return -1;
	if (n_groups < sizeof(groups) / sizeof(groups[0]))
		groups[n_groups++] = (pid_t)atoi(buf);
	return (pid_t)atoi(buf);
}

static void test_adopt_not_a_child(void)
{
	struct driver_task_spec spec = {.task_id = "orphan"};
	struct driver_launch_record rec = {0};
	const struct rec *r;
	pid_t pid;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* It exits on its own: how is unknowable, so LOST. */
	if (!CHECK((pid = orphan_sleep()) > 0))
		return;
	rec.pid = pid;
	rec.start_ticks = driver_local_start_ticks(pid);
	CHECK(adopt_until(&spec, &rec, DRIVER_TASK_RUNNING) != NULL);
	kill(pid, SIGTERM);
	if (CHECK((r = wait_for("orphan", DRIVER_TASK_LOST, 2000)) != NULL))
		CHECK_STR(r->msg, "the process exited after adoption; its exit "
		          "status is unknown (not a child of this stadiond)");
	/* Killed through the driver: KILLED, status unknown. */
	spec.task_id = "orphan2";
	if (!CHECK((pid = orphan_sleep()) > 0))
		return;
	rec.pid = pid;
	rec.start_ticks = driver_local_start_ticks(pid);
	CHECK(adopt_until(&spec, &rec, DRIVER_TASK_RUNNING) != NULL);
	CHECK_INT(driver_kill(drv, "orphan2", -1), 0);
	if (CHECK((r = wait_for("orphan2", DRIVER_TASK_KILLED, 2000)) != NULL))
		CHECK_STR(r->msg, "killed on request (exit status unknown: not "
		          "a child of this stadiond)");
	CHECK_STR(states_of("orphan2"), "RUNNING KILLING KILLED");
}

/* ---- launch records and the sweep -------------------------------------- */

/* What <sandbox>/launch should hold for REC. */
/* The launch record the driver writes for REC on the first agent, with
 * no ports. */
static const char *launch_line(const struct driver_launch_record *rec)
{
	static char buf[512];
	const struct driver_agent *agents;
	size_t n = 0;

	if (driver_agents(drv, &agents, &n) != 0 || n == 0)
		return "(no agent)";
	snprintf(buf, sizeof(buf), "%d %llu\nagent %s\nports\n",
	         (int)rec->pid, (unsigned long long)rec->start_ticks,
	         agents[0].id);
	return buf;
}

/* Write <data_dir>/sandboxes/ID/launch as an earlier stadiond would have,
 * with TEXT. */
static void plant_launch_file(const char *id, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sandboxes/%s", data_dir, id);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sandboxes/%s/launch", data_dir, id);
	write_file(path, text, 0644);
}

static bool sandbox_exists(const char *id, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sandboxes/%s%s%s", data_dir, id,
	         name != NULL ? "/" : "", name != NULL ? name : "");
	return access(path, F_OK) == 0;
}

static void test_launch_file(void)
{
	struct driver_task_spec spec = {.task_id = "sim", .shell = "x",
	                                .agent_id = "local-1"};
	struct driver_launch_record rec;
	char err[256];

	new_driver(agents_file("[{}, {\"simulated\": true}]"));
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("rec", "sleep 60", -1, NULL, 0), 0);
	if (!CHECK_INT(driver_launch_record(drv, "rec", &rec), 0))
		return;
	CHECK(rec.pid > 0);
	/* Written by the time driver_launch() returns, before the scheduler
	 * can store the record itself. */
	CHECK_STR(sandbox_file("rec", "launch"), launch_line(&rec));
	/* Through a temporary file, renamed. */
	CHECK(!sandbox_exists("rec", "launch.tmp"));
	CHECK(wait_for("rec", DRIVER_TASK_RUNNING, 2000) != NULL);
	/* A simulated task runs nothing and records nothing. */
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	CHECK(wait_for("sim", DRIVER_TASK_RUNNING, 1000) != NULL);
	CHECK(!sandbox_exists("sim", NULL));
}

/* A task stored only as scheduled: the launch record tells whether it was
 * started, on which agent, with which ports. */
static void test_find_launch(void)
{
	const uint32_t ports[] = {31000, 31005};
	struct driver_found_launch f;
	struct driver_launch_record rec;
	const struct driver_agent *agents;
	size_t n = 0;

	new_driver(NULL);
	if (drv == NULL || !CHECK_INT(driver_agents(drv, &agents, &n), 0) ||
	    !CHECK(n > 0))
		return;
	CHECK_INT(launch_sh("found", "sleep 60", -1, ports, 2), 0);
	if (!CHECK_INT(driver_launch_record(drv, "found", &rec), 0))
		return;
	if (CHECK_INT(driver_find_launch(drv, "found", &f), 0)) {
		CHECK_INT(f.pid, rec.pid);
		CHECK_INT(f.start_ticks, rec.start_ticks);
		CHECK_STR(f.agent_id, agents[0].id);
		CHECK_INT(f.n_ports, 2);
		CHECK_INT(f.ports[0], 31000);
		CHECK_INT(f.ports[1], 31005);
	}
	/* Never launched. */
	errno = 0;
	CHECK_INT(driver_find_launch(drv, "never", &f), -1);
	CHECK_INT(errno, ENOENT);
	/* An older stadiond's record names no agent: nothing to adopt on. */
	plant_launch_file("old", "4242 77\n");
	errno = 0;
	CHECK_INT(driver_find_launch(drv, "old", &f), -1);
	CHECK_INT(errno, ENOENT);
	plant_launch_file("bad", "4242 77\nagent x\nports 0\n");
	errno = 0;
	CHECK_INT(driver_find_launch(drv, "bad", &f), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(driver_kill(drv, "found", -1), 0);
	CHECK(wait_for("found", DRIVER_TASK_KILLED, 2000) != NULL);
}

/* Stored with pid 0 (stadiond died before storing the launch record):
 * the sandbox's record finds the process. */
static void test_adopt_from_launch_file(void)
{
	struct driver_task_spec spec = {.task_id = "unrecorded", .cpus = 0.1,
	                                .mem = 16};
	struct driver_launch_record rec, stored = {0};
	const struct rec *r;
	pid_t pid;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("unrecorded", "sleep 60", 500, NULL, 0), 0);
	CHECK(wait_for("unrecorded", DRIVER_TASK_RUNNING, 2000) != NULL);
	if (!CHECK_INT(driver_launch_record(drv, "unrecorded", &rec), 0))
		return;
	pid = rec.pid;
	driver_destroy(drv);
	drv = NULL;
	n_recs = 0;
	new_driver(NULL);
	if (drv == NULL)
		return;
	if (CHECK((r = adopt_until(&spec, &stored, DRIVER_TASK_RUNNING)) !=
	          NULL))
		CHECK_STR(r->msg, "adopted");
	/* Now the scheduler can store what it missed. */
	if (CHECK_INT(driver_launch_record(drv, "unrecorded", &rec), 0)) {
		CHECK_INT(rec.pid, pid);
		CHECK_INT(rec.start_ticks, driver_local_start_ticks(pid));
	}
	/* Watched: a kill works. */
	CHECK_INT(driver_kill(drv, "unrecorded", -1), 0);
	CHECK(wait_for("unrecorded", DRIVER_TASK_KILLED, 2000) != NULL);
	CHECK(process_gone(pid, 1000));
}

static void test_adopt_no_launch_file(void)
{
	struct driver_task_spec spec = {.task_id = "unborn"};
	struct driver_launch_record stored = {0};
	const struct rec *r;
	char line[64];
	uint64_t ticks;
	pid_t pid;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* No record: stadiond died before the spawn. */
	if (CHECK((r = adopt_until(&spec, &stored, DRIVER_TASK_LOST)) != NULL))
		CHECK_STR(r->msg, "the task was never started");
	CHECK_STR(states_of("unborn"), "LOST");
	/* A record of a process that has exited since. */
	if ((pid = spawn_exited(&ticks)) < 0)
		return;
	snprintf(line, sizeof(line), "%d %llu\n", (int)pid,
	         (unsigned long long)ticks);
	plant_launch_file("gone", line);
	spec.task_id = "gone";
	if (CHECK((r = adopt_until(&spec, &stored, DRIVER_TASK_LOST)) != NULL))
		CHECK_STR(r->msg, "the process exited while stadiond was not "
		          "running");
	/* Not a launch record: never trusted. */
	snprintf(line, sizeof(line), "%d\n", (int)getpid());
	plant_launch_file("garbled", line);
	spec.task_id = "garbled";
	r = adopt_until(&spec, &stored, DRIVER_TASK_LOST);
	if (CHECK(r != NULL)) {
		CHECK_CONTAINS(r->msg, "cannot read the launch record in ");
		CHECK_CONTAINS(r->msg, "/sandboxes/garbled: Invalid argument");
	}
}

struct sweep_arg {
	const char *const *known;   /* NULL-terminated */
	bool asked_own;             /* about a task the driver tracks */
};

static bool is_known(void *arg, const char *task_id)
{
	struct sweep_arg *a = arg;

	if (strcmp(task_id, "own") == 0)
		a->asked_own = true;
	for (const char *const *k = a->known; *k != NULL; k++)
		if (strcmp(*k, task_id) == 0)
			return true;
	return false;
}

/* driver_local_sweep() without its warnings in the test's output. */
static int sweep(struct sweep_arg *arg, size_t *killed_r)
{
	int rc;

	log_set_level(LOG_LVL_ERROR);
	rc = driver_local_sweep(drv, is_known, arg, killed_r);
	log_set_level(LOG_LVL_WARN);
	return rc;
}

static void test_sweep(void)
{
	static const char *const known[] = {"known", NULL};
	struct sweep_arg arg = {.known = known};
	struct driver_launch_record rec;
	pid_t lost = -1, lost_child = -1, kept = -1, own = -1;
	char path[PATH_MAX];
	size_t killed = 99;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* The first stadiond launches two tasks, stores only "known", and
	 * dies. */
	CHECK_INT(launch_sh("lost", "sleep 60 & echo $! > child.pid; wait",
	                    -1, NULL, 0), 0);
	CHECK_INT(launch_sh("known", "sleep 60", -1, NULL, 0), 0);
	if (driver_launch_record(drv, "lost", &rec) == 0)
		lost = rec.pid;
	if (driver_launch_record(drv, "known", &rec) == 0)
		kept = rec.pid;
	CHECK(wait_for("lost", DRIVER_TASK_RUNNING, 2000) != NULL);
	CHECK(wait_for("known", DRIVER_TASK_RUNNING, 2000) != NULL);
	lost_child = read_pid("lost");
	if (!CHECK(lost > 0 && kept > 0 && lost_child > 0))
		return;
	driver_destroy(drv);
	drv = NULL;
	/* The next one runs a task of its own, which the scheduler has not
	 * stored yet either, and finds a sandbox with no record. */
	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("own", "sleep 60", -1, NULL, 0), 0);
	if (driver_launch_record(drv, "own", &rec) == 0)
		own = rec.pid;
	CHECK(wait_for("own", DRIVER_TASK_RUNNING, 2000) != NULL);
	snprintf(path, sizeof(path), "%s/sandboxes/empty", data_dir);
	mkdir(path, 0755);

	CHECK_INT(sweep(&arg, &killed), 0);
	CHECK_INT(killed, 1);
	/* The unknown task, with its whole group. */
	CHECK(process_gone(lost, 2000));
	CHECK(process_gone(lost_child, 2000));
	/* The known one and the driver's own, untouched. */
	CHECK(!process_gone(kept, 200));
	CHECK(!process_gone(own, 200));
	CHECK(!arg.asked_own);
	spin(20);
	CHECK_STR(states_of("own"), "STAGING RUNNING");
	/* Reaped (as init would reap it after a real restart), it is
	 * nothing to sweep again.  (Not reaped alive: that would wait.) */
	if (!process_gone(lost, 0))
		return;
	waitpid(lost, NULL, 0);
	killed = 99;
	CHECK_INT(sweep(&arg, &killed), 0);
	CHECK_INT(killed, 0);
	CHECK(!process_gone(kept, 200));
	/* KNOWN is required: without it everything would look unknown. */
	CHECK_INT(driver_local_sweep(drv, NULL, NULL, &killed), -1);
	CHECK_INT(errno, EINVAL);
}

/* A stadiond killed between the spawn and the launch record's rename
 * leaves a process with no record: the sweep finds it by its cwd. */
static void test_sweep_no_record(void)
{
	static const char *const none[] = {NULL};
	struct sweep_arg arg = {.known = none};
	struct driver_launch_record rec;
	char path[PATH_MAX];
	size_t killed = 99;
	pid_t pid = -1;

	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(launch_sh("unrecorded-task", "sleep 60", -1, NULL, 0), 0);
	if (driver_launch_record(drv, "unrecorded-task", &rec) == 0)
		pid = rec.pid;
	CHECK(wait_for("unrecorded-task", DRIVER_TASK_RUNNING, 2000) != NULL);
	if (!CHECK(pid > 0))
		return;
	driver_destroy(drv);
	drv = NULL;
	snprintf(path, sizeof(path), "%s/sandboxes/unrecorded-task/launch",
	         data_dir);
	CHECK_INT(unlink(path), 0);
	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(sweep(&arg, &killed), 0);
	CHECK_INT(killed, 1);
	CHECK(process_gone(pid, 2000));
}

static void test_sweep_reused_pid(void)
{
	static const char *const none[] = {NULL};
	struct sweep_arg arg = {.known = none};
	char line[64];
	size_t killed = 99;
	uint64_t ticks;
	pid_t pid;

	new_driver(NULL);
	if (drv == NULL)
		return;
	/* The record's pid belongs to another process now: same number,
	 * another start time. */
	if (!CHECK((pid = orphan_sleep()) > 0))
		return;
	ticks = driver_local_start_ticks(pid);
	snprintf(line, sizeof(line), "%d %llu\n", (int)pid,
	         (unsigned long long)ticks + 1);
	plant_launch_file("reused", line);
	CHECK_INT(sweep(&arg, &killed), 0);
	CHECK_INT(killed, 0);
	CHECK(!process_gone(pid, 200));
	/* The same process with its own start time is killed: the pid was
	 * spared for the mismatch alone. */
	snprintf(line, sizeof(line), "%d %llu\n", (int)pid,
	         (unsigned long long)ticks);
	plant_launch_file("reused", line);
	CHECK_INT(sweep(&arg, &killed), 0);
	CHECK_INT(killed, 1);
	CHECK(process_gone(pid, 2000));
}

/* ---- docker ----------------------------------------------------------- */

static const struct driver_docker_port dports[] = {
	{.container_port = 80, .host_port = 31001, .protocol = "tcp"},
	{.container_port = 53, .host_port = 31002, .protocol = "tcp,udp"},
};
static const struct driver_kv dparams[] = {{"memory-swap", "1g"}};
static const struct driver_kv dlabels[] = {{"team", "web"}};
static const struct driver_docker dk = {
	.image = "nginx:1.25", .network = "BRIDGE",
	.port_mappings = dports, .n_port_mappings = 2,
	.parameters = dparams, .n_parameters = 1,
	.labels = dlabels, .n_labels = 1, .privileged = true,
};
static const uint32_t dhost_ports[] = {31001, 31002};
static const char *const denv[] = {"PORT0=31001", "HOST=test-host", NULL};

#define DOCKER_ARGS                                                         \
	"run\n--rm\n--name\ndock\n--network=bridge\n--privileged\n"         \
	"-p\n31001:80/tcp\n-p\n31002:53/tcp\n-p\n31002:53/udp\n"             \
	"-e\nPORT0=31001\n-e\nHOST=test-host\n--label\nteam=web\n"          \
	"--memory-swap=1g\n--entrypoint\n/bin/sh\nnginx:1.25\n-c\n"         \
	"echo hi\n"

/* Java's NumberFormat: three decimals half-even, grouped thousands. */
static void test_format_scalar(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{2.5, "2.5"}, {2.0, "2"}, {1024, "1,024"}, {100, "100"},
		{-1234567.125, "-1,234,567.125"}, {0.0625, "0.062"},
		{0.1875, "0.188"}, {1e6, "1,000,000"}, {0.3333333, "0.333"},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		driver_attr_format_scalar(cases[i].v, buf, sizeof(buf));
		CHECK_STR(buf, cases[i].want);
	}
}

static void test_docker_argv(void)
{
	struct driver_task_spec spec = {
		.task_id = "dock", .shell = "echo hi", .env = denv,
		.ports = dhost_ports, .n_ports = 2, .docker = &dk,
	};
	char bin[128], script[256], path[8192], err[256];
	char expected[1024], **argv;
	size_t len = 0;

	/* The function alone. */
	argv = driver_local_docker_argv("docker", &spec);
	if (CHECK(argv != NULL)) {
		for (char **a = argv + 1; *a != NULL; a++)
			len += (size_t)snprintf(expected + len,
			        sizeof(expected) - len, "%s\n", *a);
		CHECK_STR(expected, DOCKER_ARGS);
	}
	driver_local_argv_free(argv);

	/* Through a launch, with a stand-in docker on PATH that writes its
	 * arguments into the sandbox (its cwd). */
	snprintf(bin, sizeof(bin), "%s/bin", data_dir);
	mkdir(bin, 0755);
	snprintf(script, sizeof(script), "%s/docker", bin);
	write_file(script, "#!/bin/sh\nprintf '%s\\n' \"$@\" > argv.txt\n",
	           0755);
	snprintf(path, sizeof(path), "%s:%s", bin, saved_path);
	setenv("PATH", path, 1);
	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	CHECK(wait_for("dock", DRIVER_TASK_FINISHED, 2000) != NULL);
	CHECK_STR(sandbox_file("dock", "argv.txt"), DOCKER_ARGS);
}

static void test_no_docker(void)
{
	struct driver_task_spec spec = {.task_id = "nodock", .shell = "x",
	                                .docker = &dk};
	const struct rec *r;
	char err[256], empty[128];

	snprintf(empty, sizeof(empty), "%s/empty", data_dir);
	mkdir(empty, 0755);
	setenv("PATH", empty, 1);
	new_driver(NULL);
	if (drv == NULL)
		return;
	CHECK_INT(driver_launch(drv, &spec, err, sizeof(err)), 0);
	if (CHECK((r = wait_for("nodock", DRIVER_TASK_FAILED, 1000)) != NULL))
		CHECK_STR(r->msg, "docker is not installed on this agent (no "
		          "docker executable on PATH); install Docker or use "
		          "a command app");
	CHECK_STR(states_of("nodock"), "STAGING FAILED");
}

static CU_TestInfo tests[] = {
	{"launch: RUNNING, stdout in the sandbox", test_hello},
	{"launch: the environment exactly", test_env_exact},
	{"exit 0 FINISHED, exit 3 FAILED, signals", test_exit_status},
	{"launch: a missing program FAILED", test_spawn_failure},
	{"kill: KILLING then KILLED by SIGTERM", test_kill},
	{"kill: SIGKILL after the grace period", test_kill_ignores_term},
	{"kill: the whole process group", test_process_group},
	{"ports and offers shrink and grow", test_ports_and_offers},
	{"simulated agent, 10,000 tasks", test_simulated},
	{"--local_agents file and its errors", test_agents_file},
	{"adopt a task after a restart", test_adopt},
	{"adopt a dead or reused pid: LOST", test_adopt_dead},
	{"adopt a process that is not our child", test_adopt_not_a_child},
	{"launch: the launch record in the sandbox", test_launch_file},
	{"find_launch: agent and ports of a task stored as scheduled",
	 test_find_launch},
	{"adopt with pid 0: the sandbox's launch record",
	 test_adopt_from_launch_file},
	{"adopt with pid 0, no live record: LOST", test_adopt_no_launch_file},
	{"sweep: unknown tasks killed, known and own spared", test_sweep},
	{"sweep: a reused pid is not killed", test_sweep_reused_pid},
	{"sweep: a process with no record, found by its cwd",
	 test_sweep_no_record},
	{"scalar attributes formatted as Marathon does", test_format_scalar},
	{"docker argv through a stand-in docker", test_docker_argv},
	{"no docker on PATH: FAILED", test_no_docker},
	CU_TEST_INFO_NULL,
};

static int suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of the tasks (a shell's background child) come to us, not
	 * to an init that may not reap them (it does not in some sandboxes),
	 * so that the teardown can reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* The SIGKILL after a grace period is logged at info. */
	log_set_level(LOG_LVL_WARN);
	return 0;
}

int main(void)
{
	CU_SuiteInfo suites[] = {
		{"driver_local", suite_init, NULL, setup, teardown, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
