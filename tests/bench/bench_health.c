/*
 * bench_health: health-check fan-out (issue 5; performance-anchors B7).
 *
 *   bench_health [N] [INTERVAL_S] [SECONDS]
 *
 * One app of N (10000) instances on simulated agents named 127.0.0.1, each
 * with an HTTP health check every INTERVAL_S (10) seconds against a target
 * HTTP server this process runs (the checks' "port"), so stadiond checks
 * N / INTERVAL_S (1,000) tasks per second over real connections.  Once
 * every task is healthy and the schedule has settled, it measures over
 * SECONDS (20):
 *   - stadiond's CPU (utime + stime from /proc) as a share of one core
 *     (budget: <= 25%);
 *   - the p95 lateness of a check's start against its schedule, from
 *     GET /v2/info "health" (budget: <= 50 ms; over the latest 8192
 *     checks, all inside the window);
 * and, as the floor, the same number of checks per second made by this
 * process with a bare libevent client (connect, GET, status line, close)
 * on a 1 ms timer grid: its thread's CPU and its own p95 lateness.  Both
 * figures are printed with their ratio to the floor.
 *
 * Built by make check, never run by it: make bench-health.  Configure
 * without --enable-sanitizers for figures that mean something.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "bench/bench_server.h"
#include "bench/bench_util.h"
#include "lib/harness.h"
#include "lib/testfs.h"
#include "lib/tjson.h"

/* ---- the target server ---------------------------------------------------- */

/* Every check healthy: 200 with no body. */
static void target_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* ---- the floor: bare checks at the same rate ------------------------------ */

struct floor_run {
	struct event_base *base;
	struct sockaddr_in sin;
	double t0, period;        /* the schedule */
	long due, started, done, failed;
	long max;
	double *late;             /* seconds, one per started check */
	struct event *tick;
};

static void floor_read(struct bufferevent *bev, void *arg)
{
	struct floor_run *f = arg;
	size_t len;
	char *line = evbuffer_readln(bufferevent_get_input(bev), &len,
	                             EVBUFFER_EOL_CRLF);

	if (line == NULL)
		return;
	f->done++;
	f->failed += strncmp(line, "HTTP/1.1 200", 12) != 0;
	free(line);
	bufferevent_free(bev);
}

static void floor_event(struct bufferevent *bev, short what, void *arg)
{
	struct floor_run *f = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	f->done++;
	f->failed++;
	bufferevent_free(bev);
}

static void floor_tick(evutil_socket_t fd, short what, void *arg)
{
	struct floor_run *f = arg;
	double now = bench_now_s();

	(void)fd;
	(void)what;
	/* Every check whose time has come, each noted with its lateness. */
	while (f->started < f->max &&
	       f->t0 + (double)f->started * f->period <= now) {
		struct bufferevent *bev = bufferevent_socket_new(
			f->base, -1, BEV_OPT_CLOSE_ON_FREE);

		f->late[f->started] = now - (f->t0 + f->started * f->period);
		f->started++;
		if (bev == NULL)
			continue;
		bufferevent_setcb(bev, floor_read, NULL, floor_event, f);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		evbuffer_add_printf(bufferevent_get_output(bev),
		                    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		                    "Connection: close\r\n\r\n");
		bufferevent_socket_connect(bev, (struct sockaddr *)&f->sin,
		                           sizeof(f->sin));
	}
	if (f->started >= f->max && f->done >= f->max)
		event_base_loopexit(f->base, NULL);
}

/* RATE checks per second for SECONDS against PORT: this thread's CPU share
 * of one core and the p95 lateness (ms) into *CPU_R, *P95_R. */
static int floor_measure(uint16_t port, double rate, double seconds,
                         double *cpu_r, double *p95_r)
{
	struct floor_run f = {0};
	struct timeval one_ms = {0, 1000};
	struct timespec c0, c1;
	double wall;

	f.max = (long)(rate * seconds);
	f.period = 1.0 / rate;
	if ((f.late = calloc((size_t)f.max, sizeof(*f.late))) == NULL ||
	    (f.base = event_base_new()) == NULL)
		return -1;
	f.sin.sin_family = AF_INET;
	f.sin.sin_port = htons(port);
	f.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f.tick = event_new(f.base, -1, EV_PERSIST, floor_tick, &f);
	event_add(f.tick, &one_ms);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	f.t0 = bench_now_s();
	event_base_dispatch(f.base);
	wall = bench_now_s() - f.t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	*cpu_r = ((double)(c1.tv_sec - c0.tv_sec) +
	          (c1.tv_nsec - c0.tv_nsec) / 1e9) /
	         wall;
	qsort(f.late, (size_t)f.max, sizeof(*f.late), bench_cmp_double);
	*p95_r = f.late[(size_t)(f.max * 0.95)] * 1000;
	if (f.failed > 0)
		fprintf(stderr, "bench_health: %ld of %ld floor checks "
		        "failed\n", f.failed, f.max);
	event_free(f.tick);
	event_base_free(f.base);
	free(f.late);
	return 0;
}

/* ---- stadiond ------------------------------------------------------------- */

/* utime + stime of PID in seconds. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return 0;
	/* Fields 14 and 15 (utime, stime); the 2nd field ends at ')'. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	           &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct json_object *get_json(const struct daemon *d, const char *path)
{
	struct http_resp resp;
	struct json_object *o = NULL;

	if (daemon_call(d, "GET", path, NULL, NULL, &resp) == 0 &&
	    resp.status == 200)
		o = http_resp_json(&resp);
	http_resp_free(&resp);
	return o;
}

static void health_info(const struct daemon *d, long *started_r,
                        long *p95_r)
{
	struct json_object *o = get_json(d, "/v2/info");
	struct json_object *h = tjson_get(o, "health");

	*started_r = (long)tjson_int(h, "checksStarted");
	*p95_r = (long)tjson_int(h, "lateMsP95");
	json_object_put(o);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	long interval = argc > 2 ? atol(argv[2]) : 10;
	double seconds = argc > 3 ? atof(argv[3]) : 20;
	char scratch[PATH_MAX], agents[PATH_MAX + 32], body[1024];
	const char *args[] = {"--local_agents", agents, NULL};
	struct bench_server tgt;
	struct daemon d;
	struct http_resp resp;
	double t0, cpu0, cpu1, w0, w1, floor_cpu, floor_p95, rate;
	long started0, started1, p95, healthy = 0;
	int n_agents = (int)(n / 1000 + 1), rc = 1;
	FILE *f;

	if (n <= 0 || interval <= 0 || seconds <= 0) {
		fprintf(stderr, "usage: bench_health [N] [INTERVAL_S] "
		        "[SECONDS]\n");
		return 2;
	}
	rate = (double)n / (double)interval;
	if (!testfs_mkdtemp(scratch, sizeof(scratch), "bench-health") ||
	    bench_server_start(&tgt, target_cb, NULL, false) != 0) {
		fprintf(stderr, "bench_health: cannot set up: %s\n",
		        strerror(errno));
		return 1;
	}
	snprintf(agents, sizeof(agents), "%s/agents.json", scratch);
	if ((f = fopen(agents, "w")) == NULL)
		return 1;
	fputc('[', f);
	for (int i = 0; i < n_agents; i++)
		fprintf(f, "%s{\"hostname\": \"127.0.0.1\", \"cpus\": 20, "
		        "\"mem\": 1000000, \"disk\": 100000, \"ports\": "
		        "\"31000-32000\", \"simulated\": true}",
		        i > 0 ? ",\n" : "");
	fputs("]\n", f);
	fclose(f);
	if (daemon_start(&d, args) != 0)
		goto out_target;
	snprintf(body, sizeof(body),
	         "{\"id\":\"/checked\",\"cmd\":\"sleep 3600\",\"cpus\":0.01,"
	         "\"mem\":1,\"instances\":%ld,\"healthChecks\":[{"
	         "\"protocol\":\"HTTP\",\"port\":%u,\"path\":\"/health\","
	         "\"gracePeriodSeconds\":300,\"intervalSeconds\":%ld,"
	         "\"timeoutSeconds\":5,\"maxConsecutiveFailures\":3}]}",
	         n, tgt.port, interval);
	if (daemon_call(&d, "POST", "/v2/apps", NULL, body, &resp) != 0 ||
	    resp.status != 201) {
		fprintf(stderr, "bench_health: POST: %d %s\n", resp.status,
		        resp.body);
		http_resp_free(&resp);
		goto out_daemon;
	}
	http_resp_free(&resp);
	/* Every task healthy: each has had its first check. */
	t0 = bench_now_s();
	while (healthy < n && bench_now_s() - t0 < 60 + 2.0 * interval) {
		struct json_object *o = get_json(&d, "/v2/apps/checked");

		healthy = (long)tjson_int(tjson_get(o, "app"), "tasksHealthy");
		json_object_put(o);
		sleep(1);
	}
	printf("health: %ld of %ld instances healthy after %.1f s\n", healthy,
	       n, bench_now_s() - t0);
	if (healthy < n)
		goto out_daemon;
	/* One more interval: the grid is settled. */
	sleep((unsigned)interval);
	health_info(&d, &started0, &p95);
	cpu0 = proc_cpu_s(d.pid);
	w0 = bench_now_s();
	usleep((useconds_t)(seconds * 1e6));
	w1 = bench_now_s();
	cpu1 = proc_cpu_s(d.pid);
	health_info(&d, &started1, &p95);
	printf("health: stadiond ran %.0f checks/s (%ld instances every %ld s)"
	       " using %.1f%% of one core (budget <= 25%%); p95 lateness "
	       "against the schedule %ld ms (budget <= 50 ms)\n",
	       (started1 - started0) / (w1 - w0), n, interval,
	       100 * (cpu1 - cpu0) / (w1 - w0), p95);
	if (floor_measure(tgt.port, rate, seconds, &floor_cpu, &floor_p95) !=
	    0)
		goto out_daemon;
	printf("health: floor, bare libevent client at %.0f checks/s: %.1f%% "
	       "of one core, p95 lateness %.1f ms\n",
	       rate, 100 * floor_cpu, floor_p95);
	printf("health: ratio to the floor: CPU %.2f, p95 lateness %.2f\n",
	       (cpu1 - cpu0) / (w1 - w0) / (floor_cpu > 0 ? floor_cpu : 1e-9),
	       (double)p95 / (floor_p95 > 0.1 ? floor_p95 : 0.1));
	rc = 0;
out_daemon:
	daemon_stop(&d);
out_target:
	bench_server_stop(&tgt);
	testfs_rm_tree(scratch);
	return rc;
}
