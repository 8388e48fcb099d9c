/*
 * bench_spawn: how much the local driver adds to starting processes.
 *
 * The floor is a plain posix_spawn loop of N `sleep 3600` (own process
 * group each, as the driver does, no sandbox); the figure is N tasks
 * launched through the local driver (sandbox directory, stdout/stderr
 * files, pidfd watch) until every one is RUNNING.  Prints both rates and
 * their ratio.  Never part of make check.
 *
 *   tests/bench/bench_spawn [N]     (default 1000)
 */
#include "config.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench/bench_util.h"
#include "driver/driver.h"
#include "driver/driver_local.h"

extern char **environ;

static size_t running, killed;

static void on_status(const struct driver_status *st, void *arg)
{
	(void)arg;
	if (st->state == DRIVER_TASK_RUNNING)
		running++;
	else if (st->state == DRIVER_TASK_KILLED)
		killed++;
	else if (st->state != DRIVER_TASK_STAGING &&
	         st->state != DRIVER_TASK_KILLING)
		fprintf(stderr, "bench_spawn: %s %s: %s\n", st->task_id,
		        driver_task_state_name(st->state),
		        st->message != NULL ? st->message : "");
}

/* The floor: N plain spawns, then kill and reap them. */
static double plain_loop(size_t n)
{
	char *argv[] = {"sleep", "3600", NULL};
	pid_t *pids = calloc(n, sizeof(*pids));
	posix_spawnattr_t attr;
	double t0, dt;

	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++)
		if (posix_spawn(&pids[i], "/bin/sleep", NULL, &attr, argv,
		                environ) != 0)
			pids[i] = 0;
	dt = bench_now_s() - t0;
	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0) {
			killpg(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	posix_spawnattr_destroy(&attr);
	free(pids);
	return dt;
}

static double driver_loop(size_t n)
{
	static const char *const argv[] = {"/bin/sleep", "3600", NULL};
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	char dir[] = "/tmp/bench_spawn.XXXXXX";
	char err[512], id[32], *rm[] = {"rm", "-rf", dir, NULL};
	struct driver_local_config cfg = {.data_dir = dir};
	struct event_base *base = event_base_new();
	struct driver *d;
	double t0, dt;
	pid_t pid;

	if (mkdtemp(dir) == NULL ||
	    (d = driver_local_new(base, &cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_spawn: %s\n", err);
		exit(1);
	}
	driver_set_status_cb(d, on_status, NULL);
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		struct driver_task_spec spec = {.task_id = id, .argv = argv,
		                                .env = env};

		snprintf(id, sizeof(id), "bench.%zu", i);
		if (driver_launch(d, &spec, err, sizeof(err)) != 0)
			fprintf(stderr, "bench_spawn: %s\n", err);
	}
	while (running < n)
		event_base_loop(base, EVLOOP_ONCE);
	dt = bench_now_s() - t0;
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "bench.%zu", i);
		driver_kill(d, id, 0);
	}
	/* Until every KILLED is in: the driver reaps them. */
	while (killed < n)
		event_base_loop(base, EVLOOP_ONCE);
	driver_destroy(d);
	event_base_free(base);
	if (posix_spawnp(&pid, "rm", NULL, NULL, rm, environ) == 0)
		waitpid(pid, NULL, 0);
	return dt;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1000;
	double floor_s, drv_s;

	if (n == 0)
		n = 1000;
	floor_s = plain_loop(n);
	drv_s = driver_loop(n);
	printf("plain posix_spawn: %zu in %.3f s (%.0f/s)\n", n, floor_s,
	       n / floor_s);
	printf("local driver:      %zu in %.3f s (%.0f/s) until all RUNNING\n",
	       n, drv_s, n / drv_s);
	printf("ratio driver/plain: %.2f\n", drv_s / floor_s);
	return 0;
}
