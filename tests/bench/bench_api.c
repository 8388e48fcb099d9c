/*
 * bench_api: the apps issue's performance goals, measured on the real
 * stadiond over HTTP on loopback, each figure printed with its ratio to a
 * floor measured in the same run (or, where no meaningful floor exists,
 * to the budget, and the output says which).  Never part of make
 * check (which only builds it); run through the make targets:
 *
 *   bench_api launch [N]     1 app x N (1000) instances of `sleep 3600` on
 *                            a real agent: POST until every one is RUNNING,
 *                            against a plain posix_spawn loop of the same N
 *                            processes (goal: ratio <= 1.3)
 *   bench_api simulated [N] [A]
 *                            1 app x N (100000) instances on simulated
 *                            agents until all RUNNING (goal <= 10 s), then
 *                            A (1000) more apps and stadiond's RSS (goal
 *                            <= 256 MB)
 *   bench_api http [A] [I]   GET /v2/apps with A (1000) apps and GET
 *                            /v2/apps?embed=apps.tasks with A x I (10000)
 *                            simulated tasks over 8 keep-alive
 *                            connections, against a bare evhttp server in
 *                            this process sending the same bytes (goal:
 *                            ratio >= 0.5)
 *   bench_api post [S]       POST /v2/apps at 20 mutations/s for S (10)
 *                            seconds: p99 latency (goal <= 20 ms), against
 *                            an fdatasync'ed write of the same size on the
 *                            same disk
 *
 * STADIOND and BUNDLED_PLUGINS name the daemon and its plugins, as in
 * make check.  Everything it starts is stopped at the end, task processes
 * included (the harness kills their process groups), and every loop is
 * bounded in count and time.  A build with sanitizers (--enable-sanitizers)
 * measures the sanitizers too: the figures mean something only without.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "bench/bench_server.h"
#include "bench/bench_util.h"
#include "lib/harness.h"
#include "lib/testfs.h"

extern char **environ;

/* How long waits for the daemon may take at most: far above the goals,
 * so that a slow build still reports its figure instead of giving up. */
#define WAIT_MAX_MS (10 * 60 * 1000)

static void note_build(void)
{
#if defined(__SANITIZE_ADDRESS__)
	printf("note: built with sanitizers (ASan): the figures include "
	       "their cost; configure without --enable-sanitizers to "
	       "measure\n");
#endif
}

/* ---- Scratch directory, agents ------------------------------------------ */

static char scratch[PATH_MAX];

static int make_scratch(void)
{
	if (!testfs_mkdtemp(scratch, sizeof(scratch), "bench")) {
		fprintf(stderr, "bench_api: cannot create a directory: %s\n",
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* bench_write_agents() to <scratch>/agents.json, its path into BUF. */
static int write_agents(char *buf, size_t len, int n, bool simulated,
                        double cpus, double mem)
{
	snprintf(buf, len, "%s/agents.json", scratch);
	return bench_write_agents(buf, n, simulated, cpus, mem);
}

/* ---- Talking to the daemon ---------------------------------------------- */

/* POST an app; 0 when it answered 201. */
static int post_app(const struct daemon *d, const char *body)
{
	struct json_object *o = NULL;
	int status = daemon_json(d, "POST", "/v2/apps", body, &o);

	if (status != 201) {
		fprintf(stderr, "bench_api: POST /v2/apps %s: %d %s\n", body,
		        status,
		        o != NULL ? json_object_to_json_string(o) : "");
		json_object_put(o);
		return -1;
	}
	json_object_put(o);
	return 0;
}

/* Sum of tasksRunning over GET /v2/apps (no tasks embedded: small), and
 * the number of apps; -1 when it cannot be read. */
static long running_tasks(const struct daemon *d, long *n_apps_r)
{
	struct json_object *o = daemon_get_json(d, "/v2/apps");
	struct json_object *apps = json_at(o, "apps");
	long sum = 0;

	if (apps == NULL || !json_object_is_type(apps, json_type_array)) {
		json_object_put(o);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(apps); i++)
		sum += (long)json_int_at(json_object_array_get_idx(apps, i),
		                         "tasksRunning", 0);
	if (n_apps_r != NULL)
		*n_apps_r = (long)json_object_array_length(apps);
	json_object_put(o);
	return sum;
}

/* Poll until WANT tasks run in all; the time it took from T0 (bench_now_s()),
 * or a negative number after WAIT_MAX_MS. */
static double wait_running(const struct daemon *d, long want, double t0,
                           int poll_ms)
{
	double deadline = bench_now_s() + WAIT_MAX_MS / 1000.0;

	for (;;) {
		long got = running_tasks(d, NULL);

		if (got == want)
			return bench_now_s() - t0;
		if (bench_now_s() > deadline) {
			fprintf(stderr, "bench_api: only %ld of %ld tasks "
			                "RUNNING after %d s\n",
			        got, want, WAIT_MAX_MS / 1000);
			return -1;
		}
		harness_sleep_ms(poll_ms);
	}
}

/* VmRSS and VmHWM of PID in MB; -1 when unreadable. */
static void rss_mb(pid_t pid, double *rss_r, double *hwm_r)
{
	char path[64], line[256];
	FILE *f;

	*rss_r = *hwm_r = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		long kb;

		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			*rss_r = kb / 1024.0;
		else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			*hwm_r = kb / 1024.0;
	}
	fclose(f);
}

/* The kind of file system DIR is on, for the reader of the figures:
 * sandboxes are directories and files there, and ext4's inode allocator
 * slows down after many deletions (as test runs leave in /tmp). */
static const char *fs_kind(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st) != 0)
		return "an unknown file system";
	switch ((unsigned long)st.f_type) {
	case 0x01021994UL: return "tmpfs";
	case 0xEF53UL: return "ext2/3/4";
	case 0x58465342UL: return "xfs";
	case 0x9123683EUL: return "btrfs";
	case 0x794C7630UL: return "overlayfs";
	default: return "another file system";
	}
}

static void stop_daemon(struct daemon *d)
{
	if (d->pid > 0 && daemon_stop(d) != 0)
		fprintf(stderr, "bench_api: stadiond did not stop cleanly "
		                "(its log is above)\n");
}

/* ---- launch --------------------------------------------------------------- */

/* The floor: N plain posix_spawns of the same process the driver starts
 * (/bin/sh -c "sleep 3600", a process group each), then killed and
 * reaped.  The seconds the spawns took. */
static double spawn_floor(long n)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 3600", NULL};
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	posix_spawnattr_t attr;
	double t0, dt;

	if (pids == NULL)
		return -1;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	t0 = bench_now_s();
	for (long i = 0; i < n; i++)
		if (posix_spawn(&pids[i], "/bin/sh", NULL, &attr, argv,
		                environ) != 0)
			pids[i] = 0;
	dt = bench_now_s() - t0;
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			killpg(pids[i], SIGKILL);
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	posix_spawnattr_destroy(&attr);
	free(pids);
	return dt;
}

/* How often the launch benchmark asks for tasksRunning: rarely enough
 * that the asking does not slow the launching (stadiond serves it on the
 * loop that launches), often enough to add at most a few percent. */
#define LAUNCH_POLL_MS 50

static int bench_launch(long n)
{
	char agents[PATH_MAX + 32], body[512];
	const char *args[] = {"--local_agents", agents, NULL};
	struct daemon d;
	double floor_s, floor2_s, t0, took, posted;
	char fs[64];
	int procs, rc = 1;

	/* Room for every instance, no ports: only launching is measured. */
	if (make_scratch() != 0 ||
	    write_agents(agents, sizeof(agents), 1, false, 100000, 10000000) !=
	            0)
		return 1;
	floor_s = spawn_floor(n);
	if (daemon_start(&d, args) != 0)
		goto out;
	snprintf(body, sizeof(body),
	         "{\"id\": \"bench-launch\", \"cmd\": \"sleep 3600\", "
	         "\"cpus\": 0.01, \"mem\": 1, \"instances\": %ld, "
	         "\"portDefinitions\": []}",
	         n);
	t0 = bench_now_s();
	if (post_app(&d, body) != 0)
		goto out;
	posted = bench_now_s() - t0;
	if ((took = wait_running(&d, n, t0, LAUNCH_POLL_MS)) < 0)
		goto out;
	procs = task_procs_count(&d, NULL);
	snprintf(fs, sizeof(fs), "%s", fs_kind(d.data_dir));
	/* The floor again with the daemon and its tasks gone (the harness
	 * kills them): the better of the two runs. */
	stop_daemon(&d);
	floor2_s = spawn_floor(n);
	if (floor2_s > 0 && floor2_s < floor_s)
		floor_s = floor2_s;
	printf("launch: %ld instances of `sleep 3600`, POST until all "
	       "RUNNING: %.3f s (%.0f tasks/s; the POST's answer came after "
	       "%.3f s); %d task processes ran; sandboxes on %s "
	       "($TMPDIR)\n",
	       n, took, n / took, posted, procs, fs);
	printf("launch: floor, a posix_spawn loop of the same %ld "
	       "processes (the better of one run before and one after): "
	       "%.3f s (%.0f/s)\n",
	       n, floor_s, n / floor_s);
	printf("launch: ratio %.2f (goal <= 1.3)\n", took / floor_s);
	rc = 0;
out:
	stop_daemon(&d);
	testfs_rm_tree(scratch);
	return rc;
}

/* ---- percentiles ---------------------------------------------------- */

/* ---- simulated ---------------------------------------------------------- */

static int bench_simulated(long n, long extra_apps)
{
	char agents[PATH_MAX + 32], body[512];
	const char *args[] = {"--local_agents", agents, NULL};
	struct daemon d;
	double t0, took, posts, rss, hwm;
	double *lat = calloc((size_t)extra_apps, sizeof(*lat));
	int rc = 1;

	/* 100 agents with room for 2,000 instances of 0.01 cpus each. */
	if (lat == NULL || make_scratch() != 0 ||
	    write_agents(agents, sizeof(agents), 100, true, 20, 1000000) != 0)
		return 1;
	if (daemon_start(&d, args) != 0)
		goto out;
	snprintf(body, sizeof(body),
	         "{\"id\": \"bench-sim\", \"cmd\": \"sleep 3600\", "
	         "\"cpus\": 0.01, \"mem\": 1, \"instances\": %ld, "
	         "\"portDefinitions\": []}",
	         n);
	t0 = bench_now_s();
	if (post_app(&d, body) != 0 || (took = wait_running(&d, n, t0, 20)) < 0)
		goto out;
	rss_mb(d.pid, &rss, &hwm);
	printf("simulated: %ld instances on 100 simulated agents, POST until "
	       "all RUNNING: %.3f s (%.0f tasks/s); RSS %.1f MB\n",
	       n, took, n / took, rss);
	printf("simulated: ratio to the 10 s budget %.2f (goal <= 1; no "
	       "floor: simulated agents start nothing to compare with; "
	       "Nomad's published record is 3,750 placements/s, this is "
	       "%.1fx that rate)\n",
	       took / 10.0, n / took / 3750.0);
	t0 = bench_now_s();
	for (long i = 0; i < extra_apps; i++) {
		double start = bench_now_s();

		snprintf(body, sizeof(body),
		         "{\"id\": \"more/app-%ld\", \"cmd\": \"sleep 3600\", "
		         "\"cpus\": 0.01, \"mem\": 1, \"instances\": 1, "
		         "\"portDefinitions\": []}",
		         i);
		if (post_app(&d, body) != 0)
			goto out;
		lat[i] = (bench_now_s() - start) * 1000;
	}
	posts = bench_now_s() - t0;
	printf("simulated: the first POSTs took");
	for (long i = 0; i < extra_apps && i < 5; i++)
		printf(" %.1f", lat[i]);
	qsort(lat, (size_t)extra_apps, sizeof(*lat), bench_cmp_double);
	printf(" ms; all %ld: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       extra_apps, bench_percentile(lat, (size_t)extra_apps, 0.5),
	       bench_percentile(lat, (size_t)extra_apps, 0.99),
	       lat[extra_apps - 1]);
	if (wait_running(&d, n + extra_apps, t0, 50) < 0)
		goto out;
	rss_mb(d.pid, &rss, &hwm);
	printf("simulated: %ld more apps (1 instance each) POSTed one at a "
	       "time in %.2f s; with %ld apps and %ld instances stadiond's "
	       "RSS is %.1f MB (peak %.1f MB)\n",
	       extra_apps, posts, extra_apps + 1, n + extra_apps, rss, hwm);
	printf("simulated: RSS ratio to the 256 MB budget %.2f (goal <= 1; "
	       "no floor)\n",
	       rss / 256.0);
	rc = 0;
out:
	stop_daemon(&d);
	testfs_rm_tree(scratch);
	free(lat);
	return rc;
}

/* ---- http: a keep-alive load client and a bare server -------------------- */

/* One keep-alive connection of the load client: a request out, a whole
 * response in (Content-Length or chunked), again. */
struct conn {
	int fd;
	/* Response parsing. */
	char head[16384];
	size_t head_len;
	enum { C_HEAD, C_BODY, C_CHUNK_SIZE, C_CHUNK_DATA, C_CHUNK_CRLF,
	       C_TRAILER } state;
	size_t left;         /* body or chunk bytes still to come */
	char line[64];       /* a chunk-size or trailer line */
	size_t line_len;
	size_t body_bytes;   /* of the current response */
	int status;
};

struct load {
	uint16_t port;
	const char *path;
	size_t expect_bytes; /* body size every answer must have */
	double seconds;
	long responses, bad;
	size_t bytes;
};

static int conn_open(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int conn_send(struct conn *c, const struct load *l)
{
	char req[512];
	int len = snprintf(req, sizeof(req),
	                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	                   "Accept: application/json\r\n\r\n",
	                   l->path, (unsigned)l->port);
	const char *p = req;

	while (len > 0) {
		ssize_t n = send(c->fd, p, (size_t)len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (int)n;
	}
	c->state = C_HEAD;
	c->head_len = 0;
	c->body_bytes = 0;
	return 0;
}

/* Feed N bytes of P to C.  Returns 1 when a response ended (the rest of
 * P, if any, would be a protocol error: one request is in flight), 0 for
 * more, -1 on a malformed answer. */
static int conn_feed(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		switch (c->state) {
		case C_HEAD: {
			size_t take = n;
			char *end, *cl, *te;

			if (c->head_len + take >= sizeof(c->head))
				take = sizeof(c->head) - 1 - c->head_len;
			if (take == 0)
				return -1;
			memcpy(c->head + c->head_len, p, take);
			c->head_len += take;
			c->head[c->head_len] = '\0';
			if ((end = strstr(c->head, "\r\n\r\n")) == NULL) {
				p += take;
				n -= take;
				break;
			}
			/* What came after the head goes on as body. */
			{
				size_t used = (size_t)(end + 4 - c->head) -
				              (c->head_len - take);

				p += used;
				n -= used;
			}
			*end = '\0';
			if (sscanf(c->head, "HTTP/1.%*c %d", &c->status) != 1)
				return -1;
			cl = strcasestr(c->head, "\r\nContent-Length:");
			te = strcasestr(c->head, "\r\nTransfer-Encoding: chunked");
			if (te != NULL) {
				c->state = C_CHUNK_SIZE;
				c->line_len = 0;
			} else if (cl != NULL) {
				c->left = strtoul(cl + 17, NULL, 10);
				c->state = C_BODY;
				if (c->left == 0)
					return 1;
			} else {
				return -1;
			}
			break;
		}
		case C_BODY: {
			size_t take = n < c->left ? n : c->left;

			c->left -= take;
			c->body_bytes += take;
			p += take;
			n -= take;
			if (c->left == 0)
				return 1;
			break;
		}
		case C_CHUNK_SIZE:
		case C_TRAILER:
			if (c->line_len + 1 >= sizeof(c->line))
				return -1;
			c->line[c->line_len++] = *p++;
			n--;
			if (c->line_len < 2 ||
			    memcmp(c->line + c->line_len - 2, "\r\n", 2) != 0)
				break;
			c->line[c->line_len - 2] = '\0';
			if (c->state == C_TRAILER) {
				bool empty = c->line_len == 2;

				c->line_len = 0;
				if (empty)
					return 1;
				break;
			}
			c->left = strtoul(c->line, NULL, 16);
			c->line_len = 0;
			c->state = c->left == 0 ? C_TRAILER : C_CHUNK_DATA;
			break;
		case C_CHUNK_DATA: {
			size_t take = n < c->left ? n : c->left;

			c->left -= take;
			c->body_bytes += take;
			p += take;
			n -= take;
			if (c->left == 0) {
				c->state = C_CHUNK_CRLF;
				c->left = 2;
			}
			break;
		}
		case C_CHUNK_CRLF: {
			size_t take = n < c->left ? n : c->left;

			c->left -= take;
			p += take;
			n -= take;
			if (c->left == 0) {
				c->state = C_CHUNK_SIZE;
				c->line_len = 0;
			}
			break;
		}
		}
	}
	return 0;
}

#define N_CONNS 8

/* Run L: N_CONNS keep-alive connections, each sending its next request as
 * soon as the answer to the last one is in, for L->seconds. */
static int run_load(struct load *l)
{
	static char buf[1 << 20];
	struct conn conns[N_CONNS];
	int ep = epoll_create1(EPOLL_CLOEXEC), rc = -1;
	double end;

	if (ep < 0)
		return -1;
	memset(conns, 0, sizeof(conns));
	for (int i = 0; i < N_CONNS; i++)
		conns[i].fd = -1;
	l->responses = l->bad = 0;
	l->bytes = 0;
	for (int i = 0; i < N_CONNS; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		if ((conns[i].fd = conn_open(l->port)) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0 ||
		    conn_send(&conns[i], l) != 0) {
			fprintf(stderr, "bench_api: cannot connect to port "
			                "%u: %s\n",
			        (unsigned)l->port, strerror(errno));
			goto out;
		}
	}
	end = bench_now_s() + l->seconds;
	while (bench_now_s() < end) {
		struct epoll_event evs[N_CONNS];
		int n = epoll_wait(ep, evs, N_CONNS, 100);

		for (int k = 0; k < n; k++) {
			struct conn *c = &conns[evs[k].data.u32];
			ssize_t got = recv(c->fd, buf, sizeof(buf), 0);
			int done;

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				fprintf(stderr, "bench_api: the server closed "
				                "a keep-alive connection\n");
				goto out;
			}
			if ((done = conn_feed(c, buf, (size_t)got)) < 0) {
				fprintf(stderr, "bench_api: malformed answer "
				                "from port %u\n",
				        (unsigned)l->port);
				goto out;
			}
			if (done == 0)
				continue;
			l->responses++;
			l->bytes += c->body_bytes;
			if (c->status != 200 ||
			    c->body_bytes != l->expect_bytes)
				l->bad++;
			if (conn_send(c, l) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	for (int i = 0; i < N_CONNS; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	close(ep);
	return rc;
}

/* The bare server's answer to every request: BODY as application/json
 * (borrowed from the caller of compare_get()). */
struct bare_body {
	const char *body;
	size_t len;
};

static void bare_cb(struct evhttp_request *req, void *arg)
{
	const struct bare_body *b = arg;
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "application/json; charset=utf-8");
	evbuffer_add_reference(out, b->body, b->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* Measure PATH on D and the same bytes from a bare evhttp server. */
static int compare_get(const struct daemon *d, const char *path,
                       const char *what, double seconds)
{
	struct http_resp resp;
	struct bare_body body;
	struct bench_server b;
	struct load ld = {.path = path, .seconds = seconds};
	double ours, bare;

	if (daemon_call(d, "GET", path, NULL, NULL, &resp) != 0 ||
	    resp.status != 200) {
		fprintf(stderr, "bench_api: GET %s failed\n", path);
		http_resp_free(&resp);
		return -1;
	}
	ld.expect_bytes = resp.body_len;
	ld.port = d->port;
	if (run_load(&ld) != 0) {
		http_resp_free(&resp);
		return -1;
	}
	ours = ld.responses / seconds;
	if (ld.bad > 0)
		printf("http: %ld of stadiond's answers were not 200 with "
		       "%zu bytes\n",
		       ld.bad, ld.expect_bytes);
	body.body = resp.body;
	body.len = resp.body_len;
	/* TCP_NODELAY as stadiond's listener: the same sockets, the same
	 * bytes. */
	if (bench_server_start(&b, bare_cb, &body, true) != 0) {
		fprintf(stderr, "bench_api: the bare server did not start\n");
		http_resp_free(&resp);
		return -1;
	}
	ld.port = b.port;
	if (run_load(&ld) != 0) {
		bench_server_stop(&b);
		http_resp_free(&resp);
		return -1;
	}
	bare = ld.responses / seconds;
	bench_server_stop(&b);
	printf("http: GET %s (%s, %zu bytes): stadiond %.0f req/s (%.1f "
	       "MB/s), bare evhttp with the same bytes %.0f req/s; ratio "
	       "%.2f (goal >= 0.5), %d keep-alive connections\n",
	       path, what, resp.body_len, ours,
	       ours * (double)resp.body_len / 1e6, bare, ours / bare, N_CONNS);
	http_resp_free(&resp);
	return 0;
}

static int bench_http(long n_apps, long per_app)
{
	char agents[PATH_MAX + 32], body[512], what[64];
	const char *args[] = {"--local_agents", agents, NULL};
	struct daemon d;
	int rc = 1;

	if (make_scratch() != 0 ||
	    write_agents(agents, sizeof(agents), 10, true, 1000, 1000000) != 0)
		return 1;
	if (daemon_start(&d, args) != 0)
		goto out;
	for (long i = 0; i < n_apps; i++) {
		snprintf(body, sizeof(body),
		         "{\"id\": \"group-%ld/app-%ld\", \"cmd\": \"sleep "
		         "3600\", \"cpus\": 0.01, \"mem\": 1, \"instances\": "
		         "%ld, \"labels\": {\"team\": \"bench\"}}",
		         i % 10, i, per_app);
		if (post_app(&d, body) != 0)
			goto out;
	}
	if (wait_running(&d, n_apps * per_app, bench_now_s(), 50) < 0)
		goto out;
	snprintf(what, sizeof(what), "%ld apps", n_apps);
	if (compare_get(&d, "/v2/apps", what, 3) != 0)
		goto out;
	snprintf(what, sizeof(what), "%ld apps, %ld tasks", n_apps,
	         n_apps * per_app);
	if (compare_get(&d, "/v2/apps?embed=apps.tasks", what, 3) != 0)
		goto out;
	rc = 0;
out:
	stop_daemon(&d);
	testfs_rm_tree(scratch);
	return rc;
}

/* ---- post ----------------------------------------------------------------- */

/* The floor: N writes of LEN bytes, each followed by fdatasync, to a file
 * in DIR (the daemon's data directory: the disk its store is on).  Their
 * latencies in ms into LAT (sorted). */
static int fsync_floor(const char *dir, size_t len, double *lat, size_t n)
{
	char path[PATH_MAX + 32];
	char *data = malloc(len);
	int fd;

	snprintf(path, sizeof(path), "%s/fsync-floor", dir);
	if (data == NULL ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	            0) {
		free(data);
		return -1;
	}
	memset(data, 'x', len);
	for (size_t i = 0; i < n; i++) {
		double t0 = bench_now_s();

		if (pwrite(fd, data, len, (off_t)(i * len)) != (ssize_t)len ||
		    fdatasync(fd) != 0) {
			close(fd);
			free(data);
			return -1;
		}
		lat[i] = (bench_now_s() - t0) * 1000;
	}
	close(fd);
	unlink(path);
	free(data);
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	return 0;
}

static int bench_post(long seconds)
{
	char agents[PATH_MAX + 32], body[512];
	const char *args[] = {"--local_agents", agents, NULL};
	static const char *const headers[] = {
		"Content-Type: application/json", NULL};
	size_t n = (size_t)seconds * 20, done = 0, body_len = 0;
	double *lat = calloc(n, sizeof(*lat)), *floor_lat = calloc(n,
	                                                            sizeof(*lat));
	struct daemon d;
	double t0;
	int rc = 1;

	if (lat == NULL || floor_lat == NULL || make_scratch() != 0 ||
	    write_agents(agents, sizeof(agents), 10, true, 1000, 1000000) != 0)
		goto out_free;
	if (daemon_start(&d, args) != 0)
		goto out;
	/* Open loop: request i leaves at t0 + i / 20 s (or as soon as the
	 * one before has its answer, if that is later). */
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		double due = t0 + (double)i / 20.0, start, wait = due - bench_now_s();
		struct http_resp resp;

		if (wait > 0)
			harness_sleep_ms((long)(wait * 1000));
		snprintf(body, sizeof(body),
		         "{\"id\": \"post/app-%zu\", \"cmd\": \"sleep 3600\", "
		         "\"cpus\": 0.01, \"mem\": 1, \"instances\": 1}",
		         i);
		body_len = strlen(body);
		start = bench_now_s();
		if (daemon_call(&d, "POST", "/v2/apps", headers, body, &resp) !=
		            0 ||
		    resp.status != 201) {
			fprintf(stderr, "bench_api: POST %zu: %d %s\n", i,
			        resp.status, resp.body != NULL ? resp.body : "");
			http_resp_free(&resp);
			goto out;
		}
		lat[done++] = (bench_now_s() - start) * 1000;
		http_resp_free(&resp);
	}
	qsort(lat, done, sizeof(*lat), bench_cmp_double);
	if (fsync_floor(d.data_dir, body_len, floor_lat, n) != 0) {
		fprintf(stderr, "bench_api: the fsync floor failed: %s\n",
		        strerror(errno));
		goto out;
	}
	printf("post: %zu POST /v2/apps at 20/s, each committed before the "
	       "answer: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       done, bench_percentile(lat, done, 0.5), bench_percentile(lat, done, 0.99),
	       lat[done - 1]);
	printf("post: floor, a write of %zu bytes + fdatasync on the same "
	       "disk: p50 %.2f ms, p99 %.2f ms (an LMDB commit syncs at "
	       "least twice)\n",
	       body_len, bench_percentile(floor_lat, n, 0.5),
	       bench_percentile(floor_lat, n, 0.99));
	printf("post: p99 ratio to the floor's p99 %.2f; to the 20 ms budget "
	       "%.2f (goal <= 1)\n",
	       bench_percentile(lat, done, 0.99) / bench_percentile(floor_lat, n, 0.99),
	       bench_percentile(lat, done, 0.99) / 20.0);
	rc = 0;
out:
	stop_daemon(&d);
	testfs_rm_tree(scratch);
out_free:
	free(lat);
	free(floor_lat);
	return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	note_build();
	if (strcmp(what, "launch") == 0)
		return bench_launch(bench_arg_or(argc, argv, 2, 1000));
	if (strcmp(what, "simulated") == 0)
		return bench_simulated(bench_arg_or(argc, argv, 2, 100000),
		                       bench_arg_or(argc, argv, 3, 1000));
	if (strcmp(what, "http") == 0)
		return bench_http(bench_arg_or(argc, argv, 2, 1000),
		                  bench_arg_or(argc, argv, 3, 10));
	if (strcmp(what, "post") == 0)
		return bench_post(bench_arg_or(argc, argv, 2, 10));
	fprintf(stderr, "usage: bench_api launch [N] | simulated [N] [APPS] | "
	                "http [APPS] [INSTANCES] | post [SECONDS]\n");
	return 2;
}
