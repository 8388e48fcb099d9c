/*
 * bench_cluster: the election issue's performance goals, measured on three
 * real stadiond in cluster mode (--zk) against a real, local ZooKeeper
 * (tests/lib/zkserver.h), each figure with its goal and its ratio to a
 * floor measured in the same run with the bare ZooKeeper C client on the
 * same server:
 *
 *   failover   SIGKILL of the leader until a POST /v2/apps sent to a
 *              surviving node is answered 201 (goal <= 5 s); floor: a
 *              bare client in a child process holding an ephemeral node
 *              with the same session timeout is SIGKILLed, and a watcher
 *              here times until the node is gone (the session expiry no
 *              election can beat)
 *   abdicate   DELETE /v2/leader until a POST is answered 201 by the new
 *              leader (goal <= 200 ms); floor: a bare client closes a
 *              session holding an ephemeral node and a watcher sees it go
 *   load       the same with A apps and I instances stored (goal <= 1 s),
 *              and the new leader's own "elected: loading the state" ->
 *              "is the leader and serves the API" interval from its log,
 *              with its line saying whether the load came from its
 *              standby mirror; then again after a restart of every node
 *              with the mirror off (the whole state read from ZooKeeper);
 *              floor: a synchronous list + get of every znode under the
 *              state path with the bare client; and the same reads
 *              pipelined, ZooKeeper's own limit on this machine
 *   post       POST /v2/apps p99 at 20 mutations/s for S seconds against
 *              the leader (goal <= 30 ms); floor: synchronous zoo_create
 *              of a node of the body's size
 *   znode      the largest znode under <path>/state with the A apps stored
 *              (goal <= 64 KB; no floor: the ratio is to the goal)
 *
 * Usage: bench_cluster [APPS] [INSTANCES] [SECONDS]   (1000 10000 10)
 * STADIOND and BUNDLED_PLUGINS name the daemon and its plugins, as in
 * make check; "make bench-cluster" sets them.  Everything it starts (the
 * daemons, ZooKeeper, the floor's child) is stopped at the end, and every
 * wait is bounded.  Figures mean something only in a build without
 * --enable-sanitizers.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zookeeper/zookeeper.h>

#include "bench/bench_util.h"
#include "lib/harness.h"
#include "lib/testfs.h"
#include "lib/zkserver.h"

#define NODES 3
#define SESSION_MS 4000
#define SESSION_MS_STR "4000"
/* How long a leader may take to appear, far above every goal, so that a
 * slow run still reports its figure. */
#define LEADER_WAIT_MS 60000
/* The failover poll: "every ~20 ms, alternating surviving nodes". */
#define PROBE_EVERY_MS 20
#define ABDICATE_REPS 3
#define FLOOR_FAILOVER_REPS 3
#define ZNODE_BUF (1024 * 1024)

/* ---- The bare client ---------------------------------------------------- */

/* Set from ZooKeeper's thread: when the watched node went. */
static pthread_mutex_t gone_lock = PTHREAD_MUTEX_INITIALIZER;
static double gone_at;

static void gone_watcher(zhandle_t *zh, int type, int state, const char *path,
                         void *ctx)
{
	(void)zh;
	(void)state;
	(void)path;
	(void)ctx;
	if (type != ZOO_DELETED_EVENT)
		return;
	pthread_mutex_lock(&gone_lock);
	gone_at = bench_now_s();
	pthread_mutex_unlock(&gone_lock);
}

static double gone_time(void)
{
	double t;

	pthread_mutex_lock(&gone_lock);
	t = gone_at;
	pthread_mutex_unlock(&gone_lock);
	return t;
}

/* A connected session with SESSION_MS, or NULL after 10 s. */
static zhandle_t *zk_connect(const char *hosts, int session_ms)
{
	zhandle_t *zh = zookeeper_init(hosts, NULL, session_ms, NULL, NULL, 0);

	for (int i = 0; zh != NULL && i < 200; i++) {
		if (zoo_state(zh) == ZOO_CONNECTED_STATE)
			return zh;
		harness_sleep_ms(50);
	}
	fprintf(stderr, "bench_cluster: no ZooKeeper session at %s\n", hosts);
	if (zh != NULL)
		zookeeper_close(zh);
	return NULL;
}

/* Watch PATH (which must exist) for its deletion; 0 or -1. */
static int watch_gone(zhandle_t *zh, const char *path)
{
	struct Stat st;

	pthread_mutex_lock(&gone_lock);
	gone_at = 0;
	pthread_mutex_unlock(&gone_lock);
	if (zoo_wexists(zh, path, gone_watcher, NULL, &st) != ZOK) {
		fprintf(stderr, "bench_cluster: %s does not exist\n", path);
		return -1;
	}
	return 0;
}

/* Seconds from T0 until the watch fired, or -1 after 30 s. */
static double wait_gone(double t0)
{
	for (int i = 0; i < 30000; i++) {
		double t = gone_time();

		if (t > 0)
			return t - t0;
		harness_sleep_ms(1);
	}
	fprintf(stderr, "bench_cluster: the ephemeral node outlived its "
	                "session by 30 s\n");
	return -1;
}

/* The child of the failover floor (bench_cluster --hold HOSTS PATH): an
 * ephemeral node with a SESSION_MS session, "1" on stdout once it exists,
 * then nothing until SIGKILL. */
static int hold_ephemeral(const char *hosts, const char *path)
{
	zhandle_t *zh;

	/* Not a second longer than the bench. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	if ((zh = zk_connect(hosts, SESSION_MS)) == NULL ||
	    zoo_create(zh, path, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
	               NULL, 0) != ZOK)
		return 1;
	if (write(STDOUT_FILENO, "1", 1) != 1)
		return 1;
	for (int i = 0; i < 600; i++)
		sleep(1);
	return 1;
}

/* Failover floor: a child holding an ephemeral node is SIGKILLed; the
 * seconds until the node is gone, or -1. */
static double floor_failover(const char *hosts, zhandle_t *zh)
{
	static const char path[] = "/floor-failover";
	int fds[2];
	char c;
	pid_t pid;
	double t0, dt = -1;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl("/proc/self/exe", "bench_cluster", "--hold", hosts, path,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1 || watch_gone(zh, path) != 0) {
		fprintf(stderr, "bench_cluster: the failover floor's child "
		                "did not create %s\n",
		        path);
	} else {
		t0 = bench_now_s();
		kill(pid, SIGKILL);
		dt = wait_gone(t0);
	}
	close(fds[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return dt;
}

/* Abdication floor: a session holding an ephemeral node is closed; the
 * seconds until the watcher sees it go, or -1. */
static double floor_abdicate(const char *hosts, zhandle_t *zh)
{
	static const char path[] = "/floor-abdicate";
	zhandle_t *holder = zk_connect(hosts, SESSION_MS);
	double t0;

	if (holder == NULL)
		return -1;
	if (zoo_create(holder, path, "x", 1, &ZOO_OPEN_ACL_UNSAFE,
	               ZOO_EPHEMERAL, NULL, 0) != ZOK ||
	    watch_gone(zh, path) != 0) {
		zookeeper_close(holder);
		return -1;
	}
	t0 = bench_now_s();
	zookeeper_close(holder);
	return wait_gone(t0);
}

/* POST floor: N synchronous zoo_create of LEN bytes; latencies in ms into
 * LAT, sorted. */
static int floor_post(zhandle_t *zh, size_t len, double *lat, size_t n)
{
	char path[64], *data = malloc(len);

	if (data == NULL || zoo_create(zh, "/floor-post", "", 0,
	                               &ZOO_OPEN_ACL_UNSAFE, 0, NULL,
	                               0) != ZOK) {
		free(data);
		return -1;
	}
	memset(data, 'p', len);
	for (size_t i = 0; i < n; i++) {
		double t0 = bench_now_s();

		snprintf(path, sizeof(path), "/floor-post/%06zu", i);
		if (zoo_create(zh, path, data, (int)len, &ZOO_OPEN_ACL_UNSAFE,
		               0, NULL, 0) != ZOK) {
			free(data);
			return -1;
		}
		lat[i] = (bench_now_s() - t0) * 1000;
	}
	free(data);
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	return 0;
}

/* What a synchronous walk of a subtree found. */
struct walk {
	char *buf;             /* ZNODE_BUF bytes */
	size_t znodes;
	size_t bytes;
	int max_len;
	char max_path[1024];
	int depth_left;        /* bounds the recursion */
};

/* List + get of every znode under PATH, one at a time (the floor of a
 * new leader's load); the largest on the way.  0 or -1. */
static int walk_tree(zhandle_t *zh, const char *path, struct walk *w)
{
	struct String_vector kids = {0};
	char child[1024];
	int len = ZNODE_BUF, rc;

	if (zoo_get(zh, path, 0, w->buf, &len, NULL) != ZOK)
		return -1;
	w->znodes++;
	if (len > 0) {
		w->bytes += (size_t)len;
		if (len > w->max_len) {
			w->max_len = len;
			snprintf(w->max_path, sizeof(w->max_path), "%s", path);
		}
	}
	if (w->depth_left-- <= 0)
		return -1;
	if (zoo_get_children(zh, path, 0, &kids) != ZOK)
		return -1;
	rc = 0;
	for (int32_t i = 0; i < kids.count && rc == 0; i++) {
		snprintf(child, sizeof(child), "%s/%s", path, kids.data[i]);
		rc = walk_tree(zh, child, w);
	}
	deallocate_String_vector(&kids);
	w->depth_left++;
	return rc;
}

/* The same reads pipelined: level by level, a get and a list of every
 * znode of the level in flight at once (what a store that sends all its
 * reads together could reach at best; stadion's load goes in three such
 * rounds).  Tells ZooKeeper's own limit from stadion's. */
struct pwalk {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending;
	char **next;          /* the next level's paths */
	size_t n_next, cap_next;
	bool failed;
};

static void pwalk_one_done(struct pwalk *p)
{
	if (--p->pending == 0)
		pthread_cond_signal(&p->cond);
}

static void pget_done(int rc, const char *value, int len,
                      const struct Stat *stat, const void *data)
{
	struct pwalk *p = (struct pwalk *)data;

	(void)value;
	(void)len;
	(void)stat;
	pthread_mutex_lock(&p->lock);
	p->failed |= rc != ZOK;
	pwalk_one_done(p);
	pthread_mutex_unlock(&p->lock);
}

struct plist {
	struct pwalk *p;
	char *path;
};

static void plist_done(int rc, const struct String_vector *kids,
                       const void *data)
{
	struct plist *l = (struct plist *)data;
	struct pwalk *p = l->p;

	pthread_mutex_lock(&p->lock);
	p->failed |= rc != ZOK;
	for (int32_t i = 0; rc == ZOK && kids != NULL && i < kids->count; i++) {
		char *c;

		if (p->n_next == p->cap_next) {
			size_t cap = p->cap_next ? 2 * p->cap_next : 1024;
			char **v = realloc(p->next, cap * sizeof(*v));

			if (v == NULL) {
				p->failed = true;
				break;
			}
			p->next = v;
			p->cap_next = cap;
		}
		if (asprintf(&c, "%s/%s", l->path, kids->data[i]) < 0) {
			p->failed = true;
			break;
		}
		p->next[p->n_next++] = c;
	}
	pwalk_one_done(p);
	pthread_mutex_unlock(&p->lock);
}

/* Seconds for the pipelined walk of ROOT, or -1. */
static double walk_pipelined(zhandle_t *zh, const char *root, size_t *n_r)
{
	struct pwalk p = {.pending = 0};
	char **level = malloc(sizeof(char *));
	size_t n = 1, total = 0;
	double t0 = bench_now_s();
	bool ok = level != NULL && (level[0] = strdup(root)) != NULL;

	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	for (int depth = 0; ok && n > 0 && depth < 64; depth++) {
		struct plist *ls = calloc(n, sizeof(*ls));

		if (ls == NULL) {
			ok = false;
			break;
		}
		pthread_mutex_lock(&p.lock);
		p.pending = 2 * n;
		pthread_mutex_unlock(&p.lock);
		for (size_t i = 0; i < n; i++) {
			ls[i].p = &p;
			ls[i].path = level[i];
			if (zoo_aget(zh, level[i], 0, pget_done, &p) != ZOK ||
			    zoo_aget_children(zh, level[i], 0, plist_done,
			                      &ls[i]) != ZOK)
				ok = false;
		}
		/* Every request was queued (a refused one means a broken
		 * session, and the bench stops there). */
		pthread_mutex_lock(&p.lock);
		while (ok && p.pending > 0)
			pthread_cond_wait(&p.cond, &p.lock);
		ok = ok && !p.failed;
		pthread_mutex_unlock(&p.lock);
		total += n;
		for (size_t i = 0; i < n; i++)
			free(level[i]);
		free(level);
		free(ls);
		level = p.next;
		n = p.n_next;
		p.next = NULL;
		p.n_next = p.cap_next = 0;
	}
	for (size_t i = 0; level != NULL && i < n; i++)
		free(level[i]);
	free(level);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	*n_r = total;
	return ok ? bench_now_s() - t0 : -1;
}

/* ---- The cluster -------------------------------------------------------- */

struct cluster {
	struct daemon node[NODES];
	struct daemon shared;   /* only its data_dir: the nodes' --data_dir */
	char zk_url[128];
	char agents[PATH_MAX + 32];
	const char *plugin_conf; /* --plugin_conf of every node, or NULL */
};

static int node_start(struct cluster *c, int i)
{
	const char *args[] = {"--zk", c->zk_url, "--zk_session_timeout",
	                      SESSION_MS_STR, "--data_dir", c->shared.data_dir,
	                      "--hostname", "127.0.0.1", "--local_agents",
	                      c->agents,
	                      c->plugin_conf != NULL ? "--plugin_conf" : NULL,
	                      c->plugin_conf, NULL};

	return daemon_start(&c->node[i], args);
}

static int cluster_start(struct cluster *c, const struct zk_server *zk,
                         const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->zk_url, sizeof(c->zk_url), "zk://%s/%s", zk->hosts, name);
	if (!testfs_mkdtemp(c->shared.data_dir, sizeof(c->shared.data_dir),
	                    "bench-cluster"))
		return -1;
	snprintf(c->agents, sizeof(c->agents), "%s/agents.json",
	         c->shared.data_dir);
	/* Simulated: 10,000 instances cost nothing to "run", only the
	 * scheduler and the store are measured. */
	if (bench_write_agents(c->agents, 100, true, 20, 1000000) != 0)
		return -1;
	for (int i = 0; i < NODES; i++)
		if (node_start(c, i) != 0)
			return -1;
	return 0;
}

static void cluster_stop(struct cluster *c)
{
	for (int i = 0; i < NODES; i++)
		if (daemon_stop(&c->node[i]) != 0 && c->node[i].pid != 0)
			fprintf(stderr, "bench_cluster: a node did not stop "
			                "cleanly (its log is above)\n");
	if (c->shared.data_dir[0] != '\0') {
		daemon_kill_tasks(&c->shared);
		testfs_rm_tree(c->shared.data_dir);
	}
}

static void node_url(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u", (unsigned)d->port);
}

/* The node every running node agrees leads, elected and serving (GET
 * /v2/apps 200); -1 while there is none. */
static int agreed_leader(struct cluster *c)
{
	char first[128] = "";
	int leader = -1;

	for (int i = 0; i < NODES; i++) {
		struct json_object *o;
		const char *s;
		bool elected = false;

		if (c->node[i].pid == 0)
			continue;
		/* 404 while nobody leads: daemon_json, which does not
		 * complain about it. */
		if (daemon_json(&c->node[i], "GET", "/v2/leader", NULL, &o) !=
		            200 ||
		    o == NULL) {
			json_object_put(o);
			return -1;
		}
		s = json_str_at(o, "leader");
		if (s == NULL || (first[0] != '\0' && strcmp(first, s) != 0)) {
			json_object_put(o);
			return -1;
		}
		snprintf(first, sizeof(first), "%s", s);
		json_object_put(o);
		if ((o = daemon_get_json(&c->node[i], "/v2/info")) != NULL) {
			struct json_object *e = json_at(o, "elected");

			elected = e != NULL && json_object_get_boolean(e);
			json_object_put(o);
		}
		if (elected) {
			if (leader >= 0)
				return -1;
			leader = i;
		}
	}
	if (leader < 0 || daemon_json(&c->node[leader], "GET", "/v2/apps",
	                              NULL, NULL) != 200)
		return -1;
	return leader;
}

static int wait_leader(struct cluster *c)
{
	double deadline = bench_now_s() + LEADER_WAIT_MS / 1000.0;
	int l;

	while ((l = agreed_leader(c)) < 0 && bench_now_s() < deadline)
		harness_sleep_ms(50);
	if (l < 0)
		fprintf(stderr, "bench_cluster: no agreed leader after %d s\n",
		        LEADER_WAIT_MS / 1000);
	return l;
}

static const char *const json_headers[] = {"Content-Type: application/json",
                                           NULL};

/* POST an app to D: its status (-1 without an answer) and, into LEADER,
 * who answered as leader (X-Marathon-Leader). */
static int post_app(const struct daemon *d, const char *body, char *leader,
                    size_t len)
{
	struct http_resp r = {0};
	const char *h;
	int status = -1;

	if (leader != NULL)
		leader[0] = '\0';
	if (http_call("127.0.0.1", d->port, "POST", "/v2/apps", json_headers,
	              body, strlen(body), &r) == 0) {
		status = r.status;
		if (leader != NULL &&
		    (h = http_resp_header(&r, "X-Marathon-Leader")) != NULL)
			snprintf(leader, len, "%s", h);
		if (status != 201 && status != 503)
			fprintf(stderr, "bench_cluster: POST /v2/apps: %d %s\n",
			        status, r.body);
	}
	http_resp_free(&r);
	return status;
}

/* Probe POSTs to the nodes in ASK (N of them, in turn) every
 * PROBE_EVERY_MS until one is answered 201 by a leader other than
 * NOT_URL.  Seconds from T0, or -1 after LEADER_WAIT_MS; the answering
 * leader into LEADER, the number of probes into *PROBES_R. */
static double probe_until_201(struct cluster *c, const int *ask, int n,
                              const char *not_url, double t0, char *leader,
                              size_t len, int *probes_r)
{
	static unsigned long seq;
	char body[256];
	double deadline = t0 + LEADER_WAIT_MS / 1000.0;
	int k;

	for (k = 0; bench_now_s() < deadline; k++) {
		const struct daemon *d = &c->node[ask[k % n]];
		int status;

		snprintf(body, sizeof(body),
		         "{\"id\": \"probe/p-%lu\", \"cmd\": \"sleep 3600\", "
		         "\"cpus\": 0.01, \"mem\": 1, \"instances\": 1}",
		         seq++);
		status = post_app(d, body, leader, len);
		if (status == 201 && strcmp(leader, not_url) != 0) {
			double dt = bench_now_s() - t0;

			*probes_r = k + 1;
			return dt;
		}
		harness_sleep_ms(PROBE_EVERY_MS);
	}
	fprintf(stderr, "bench_cluster: no POST answered 201 by a new leader "
	                "within %d s\n",
	        LEADER_WAIT_MS / 1000);
	return -1;
}

static int node_of_url(const struct cluster *c, const char *url)
{
	char u[64];

	for (int i = 0; i < NODES; i++) {
		node_url(&c->node[i], u, sizeof(u));
		if (strcmp(u, url) == 0)
			return i;
	}
	return -1;
}

/* The start of the last line of LOG containing NEEDLE, or NULL. */
static const char *last_line(const char *log, const char *needle)
{
	const char *p, *line = NULL;

	for (p = strstr(log, needle); p != NULL; p = strstr(p + 1, needle))
		line = p;
	while (line != NULL && line > log && line[-1] != '\n')
		line--;
	return line;
}

/* The time of day (s) of the last log line of D containing NEEDLE, or -1.
 * Lines start "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static double log_time(const struct daemon *d, const char *needle)
{
	char *log = daemon_log(d);
	const char *line = log != NULL ? last_line(log, needle) : NULL;
	int h, m, s, ms;
	double t = -1;

	if (line != NULL &&
	    sscanf(line, "%*d-%*d-%*dT%d:%d:%d.%dZ", &h, &m, &s, &ms) == 4)
		t = h * 3600.0 + m * 60.0 + s + ms / 1000.0;
	free(log);
	return t;
}

/* Print D's last log line about the standby mirror (which says whether
 * the load came from memory), after PREFIX. */
static void print_mirror_line(const struct daemon *d, const char *prefix)
{
	char *log = daemon_log(d);
	const char *line = log != NULL ? last_line(log, "standby mirror of ")
	                               : NULL;

	if (line != NULL)
		printf("%s%.*s\n", prefix, (int)strcspn(line, "\n"), line);
	free(log);
}

/* The last "elected: loading the state" -> "is the leader and serves the
 * API" interval in D's log, in seconds; -1 when it lacks either. */
static double log_interval(const struct daemon *d)
{
	double t_elected = log_time(d, "elected: loading the state");
	double t_serving = log_time(d, "is the leader and serves the API");

	if (t_elected < 0 || t_serving < 0)
		return -1;
	/* Past midnight. */
	return t_serving >= t_elected ? t_serving - t_elected
	                              : t_serving + 86400 - t_elected;
}

/* The other nodes than L, running ones only, into ASK; how many. */
static int others(const struct cluster *c, int l, int *ask)
{
	int n = 0;

	for (int i = 0; i < NODES; i++)
		if (i != l && c->node[i].pid != 0)
			ask[n++] = i;
	return n;
}

/* DELETE /v2/leader on L, then probe the others until a new leader answers
 * 201.  Seconds, or -1; the new leader's index into *NEW_R. */
static double abdicate(struct cluster *c, int l, int *new_r, int *probes_r)
{
	char old_url[64], leader[128];
	int ask[NODES], n = others(c, l, ask), status;
	double t0, dt;

	node_url(&c->node[l], old_url, sizeof(old_url));
	t0 = bench_now_s();
	status = daemon_json(&c->node[l], "DELETE", "/v2/leader", NULL, NULL);
	if (status != 200) {
		fprintf(stderr, "bench_cluster: DELETE /v2/leader: %d\n",
		        status);
		return -1;
	}
	dt = probe_until_201(c, ask, n, old_url, t0, leader, sizeof(leader),
	                     probes_r);
	*new_r = node_of_url(c, leader);
	return dt;
}

/* Sum of tasksRunning over GET /v2/apps on D, -1 when unreadable. */
static long running_tasks(const struct daemon *d)
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
	json_object_put(o);
	return sum;
}

static int wait_running(const struct daemon *d, long want)
{
	double deadline = bench_now_s() + 600;
	long got = -1;

	while (bench_now_s() < deadline) {
		if ((got = running_tasks(d)) >= want)
			return 0;
		harness_sleep_ms(200);
	}
	fprintf(stderr, "bench_cluster: %ld of %ld instances RUNNING after "
	                "600 s\n",
	        got, want);
	return -1;
}

/* ---- The small cluster: abdicate, post, failover ------------------------ */

static int bench_small(const struct zk_server *zk, zhandle_t *zh, long seconds)
{
	struct cluster c = {0};
	char body[256], url[64], leader[128];
	size_t n = (size_t)seconds * 20, body_len = 0;
	double *lat = calloc(n, sizeof(*lat)), *flat = calloc(n, sizeof(*lat));
	double ab[ABDICATE_REPS], fab[ABDICATE_REPS], t0, dt, ffo;
	double ffos[FLOOR_FAILOVER_REPS];
	int l, l2, ask[NODES], n_ask, probes, rc = 1;

	if (lat == NULL || flat == NULL ||
	    cluster_start(&c, zk, "small") != 0 || (l = wait_leader(&c)) < 0)
		goto out;
	/* Some apps stored before anything is measured. */
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof(body),
		         "{\"id\": \"stored/app-%d\", \"cmd\": \"sleep 3600\", "
		         "\"cpus\": 0.01, \"mem\": 1, \"instances\": 2}",
		         i);
		if (post_app(&c.node[l], body, NULL, 0) != 201)
			goto out;
	}

	/* abdicate, a few times, with only those apps stored (the POSTs
	 * below would add 20 a second, and the new leader loads them all):
	 * the old leader comes back as a standby (the same process,
	 * re-executed) before the next one. */
	for (int r = 0; r < ABDICATE_REPS; r++) {
		if ((ab[r] = abdicate(&c, l, &l2, &probes)) < 0 || l2 < 0 ||
		    (l = wait_leader(&c)) < 0)
			goto out;
		printf("abdicate: run %d: %.1f ms from DELETE /v2/leader to a "
		       "201 from the new leader (%d probes); its own load, "
		       "from its log: %.0f ms\n",
		       r + 1, ab[r] * 1000, probes,
		       log_interval(&c.node[l2]) * 1000);
		if ((fab[r] = floor_abdicate(zk->hosts, zh)) < 0)
			goto out;
	}
	qsort(ab, ABDICATE_REPS, sizeof(*ab), bench_cmp_double);
	qsort(fab, ABDICATE_REPS, sizeof(*fab), bench_cmp_double);
	printf("abdicate: floor, a bare session closed until a watcher sees "
	       "its ephemeral node go: median %.2f ms\n",
	       fab[ABDICATE_REPS / 2] * 1000);
	printf("abdicate: median %.1f ms, goal <= 200 ms (ratio to goal "
	       "%.2f); ratio to the floor %.0f\n",
	       ab[ABDICATE_REPS / 2] * 1000, ab[ABDICATE_REPS / 2] / 0.2,
	       ab[ABDICATE_REPS / 2] / fab[ABDICATE_REPS / 2]);

	/* post: open loop, request i leaves at t0 + i / 20 s (or when the
	 * one before has its answer, if later), straight to the leader. */
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		double wait = t0 + (double)i / 20.0 - bench_now_s(), start;

		if (wait > 0)
			harness_sleep_ms((long)(wait * 1000));
		snprintf(body, sizeof(body),
		         "{\"id\": \"post/app-%zu\", \"cmd\": \"sleep 3600\", "
		         "\"cpus\": 0.01, \"mem\": 1, \"instances\": 1}",
		         i);
		body_len = strlen(body);
		start = bench_now_s();
		if (post_app(&c.node[l], body, NULL, 0) != 201)
			goto out;
		lat[i] = (bench_now_s() - start) * 1000;
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	if (floor_post(zh, body_len, flat, n) != 0) {
		fprintf(stderr, "bench_cluster: the zoo_create floor failed\n");
		goto out;
	}
	printf("post: %zu POST /v2/apps at 20/s to the leader on ZooKeeper: "
	       "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       n, bench_percentile(lat, n, 0.5), bench_percentile(lat, n, 0.99),
	       lat[n - 1]);
	printf("post: floor, synchronous zoo_create of %zu bytes: p50 %.2f "
	       "ms, p99 %.2f ms\n",
	       body_len, bench_percentile(flat, n, 0.5), bench_percentile(flat, n, 0.99));
	printf("post: p99 %.2f ms, goal <= 30 ms (ratio to goal %.2f); ratio "
	       "to the floor's p99 %.1f\n",
	       bench_percentile(lat, n, 0.99), bench_percentile(lat, n, 0.99) / 30.0,
	       bench_percentile(lat, n, 0.99) / bench_percentile(flat, n, 0.99));

	/* failover */
	n_ask = others(&c, l, ask);
	node_url(&c.node[l], url, sizeof(url));
	t0 = bench_now_s();
	if (daemon_kill(&c.node[l], SIGKILL) != 128 + SIGKILL)
		goto out;
	c.node[l].pid = 0;
	if ((dt = probe_until_201(&c, ask, n_ask, url, t0, leader,
	                          sizeof(leader), &probes)) < 0)
		goto out;
	/* The server expires sessions on a tick (500 ms here): the floor
	 * varies by that much, so its median of a few. */
	for (int r = 0; r < FLOOR_FAILOVER_REPS; r++)
		if ((ffos[r] = floor_failover(zk->hosts, zh)) < 0)
			goto out;
	qsort(ffos, FLOOR_FAILOVER_REPS, sizeof(*ffos), bench_cmp_double);
	ffo = ffos[FLOOR_FAILOVER_REPS / 2];
	printf("failover: floor, a bare client with a %d ms session "
	       "SIGKILLed until its ephemeral node is gone: median %.3f s "
	       "(%.3f to %.3f s in %d runs)\n",
	       SESSION_MS, ffo, ffos[0], ffos[FLOOR_FAILOVER_REPS - 1],
	       FLOOR_FAILOVER_REPS);
	printf("failover: %.3f s from SIGKILL of the leader to a 201 from a "
	       "survivor (%d probes), goal <= 5 s (ratio to goal %.2f); "
	       "ratio to the floor %.2f\n",
	       dt, probes, dt / 5.0, dt / ffo);
	rc = 0;
out:
	cluster_stop(&c);
	free(lat);
	free(flat);
	return rc;
}

/* ---- The loaded cluster: largest znode, election load ------------------- */

/* Abdicate leader L of the loaded cluster C and print the figures, the
 * lines starting with WHAT; T_WALK and T_PIPE are the floors. */
static int load_abdicate(struct cluster *c, int l, const char *what,
                         double t_walk, double t_pipe)
{
	char prefix[128];
	double dt, in_log;
	int l2, probes;

	if ((dt = abdicate(c, l, &l2, &probes)) < 0 || l2 < 0)
		return -1;
	in_log = log_interval(&c->node[l2]);
	printf("%s: %.3f s from DELETE /v2/leader to a 201 from the new "
	       "leader (%d probes), goal <= 1 s (ratio to goal %.2f); ratio "
	       "to the floor %.2f\n",
	       what, dt, probes, dt, dt / t_walk);
	if (in_log >= 0)
		printf("%s: the new leader's log: \"elected: loading the "
		       "state\" -> \"is the leader and serves the API\" %.3f s "
		       "(ratio to the floor %.2f; to the pipelined reads "
		       "%.2f)\n",
		       what, in_log, in_log / t_walk, in_log / t_pipe);
	else
		printf("%s: the new leader's log lacks the election lines\n",
		       what);
	snprintf(prefix, sizeof(prefix), "%s: the new leader's log: ", what);
	print_mirror_line(&c->node[l2], prefix);
	return wait_leader(c) < 0 ? -1 : 0;
}

/* Stop every node of C and start them again with PLUGIN_CONF (JSON text)
 * as their --plugin_conf. */
static int cluster_restart(struct cluster *c, const char *plugin_conf)
{
	static char path[PATH_MAX + 32];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/plugins.json", c->shared.data_dir);
	ok = (f = fopen(path, "w")) != NULL && fputs(plugin_conf, f) >= 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "bench_cluster: cannot write %s\n", path);
		return -1;
	}
	c->plugin_conf = path;
	for (int i = 0; i < NODES; i++)
		daemon_stop(&c->node[i]);
	for (int i = 0; i < NODES; i++)
		if (node_start(c, i) != 0)
			return -1;
	return 0;
}

static int bench_loaded(const struct zk_server *zk, zhandle_t *zh, long apps,
                        long instances)
{
	struct cluster c = {0};
	struct walk w = {.depth_left = 64};
	char body[512], path[256];
	long per_app = instances / apps;
	double t0, t_walk, t_pipe;
	size_t n_pipe = 0;
	int l, rc = 1;

	if ((w.buf = malloc(ZNODE_BUF)) == NULL ||
	    cluster_start(&c, zk, "loaded") != 0 || (l = wait_leader(&c)) < 0)
		goto out;
	t0 = bench_now_s();
	for (long i = 0; i < apps; i++) {
		/* As bench_api's http: groups, labels, default ports. */
		snprintf(body, sizeof(body),
		         "{\"id\": \"group-%ld/app-%ld\", \"cmd\": \"sleep "
		         "3600\", \"cpus\": 0.01, \"mem\": 1, \"instances\": "
		         "%ld, \"labels\": {\"team\": \"bench\"}}",
		         i % 10, i, per_app);
		if (post_app(&c.node[l], body, NULL, 0) != 201)
			goto out;
	}
	if (wait_running(&c.node[l], apps * per_app) != 0)
		goto out;
	/* Let the last instance writes land before the store is walked. */
	harness_sleep_ms(2000);
	printf("load: %ld apps x %ld instances (simulated agents) posted and "
	       "RUNNING in %.1f s\n",
	       apps, per_app, bench_now_s() - t0);

	snprintf(path, sizeof(path), "/loaded/state");
	t0 = bench_now_s();
	if (walk_tree(zh, path, &w) != 0) {
		fprintf(stderr, "bench_cluster: cannot walk %s\n", path);
		goto out;
	}
	t_walk = bench_now_s() - t0;
	printf("znode: largest under %s: %d bytes at %s (%zu znodes, %.1f MB "
	       "in all), goal <= 64 KB (ratio to goal %.2f)\n",
	       path, w.max_len, w.max_path, w.znodes, w.bytes / 1e6,
	       w.max_len / 65536.0);
	printf("load: floor, synchronous list + get of those %zu znodes with "
	       "the bare client: %.3f s\n",
	       w.znodes, t_walk);
	if ((t_pipe = walk_pipelined(zh, path, &n_pipe)) < 0) {
		fprintf(stderr, "bench_cluster: the pipelined walk failed\n");
		goto out;
	}
	printf("load: the same reads pipelined with the bare client (every "
	       "znode of a level in flight at once): %.3f s for %zu znodes "
	       "(%.0f reads/s), ZooKeeper's own limit here\n",
	       t_pipe, n_pipe, 2.0 * (double)n_pipe / t_pipe);

	if (load_abdicate(&c, l, "load", t_walk, t_pipe) != 0)
		goto out;
	/* The same with every node's standby mirror off: the new leader
	 * reads the whole state from ZooKeeper. */
	if (cluster_restart(&c, "{\"plugins\": {\"zk\": {\"plugin\": "
	                        "\"storage\", \"implementation\": "
	                        "\"zookeeper\", \"configuration\": "
	                        "{\"standby_mirror\": false}}}}") != 0 ||
	    (l = wait_leader(&c)) < 0 ||
	    load_abdicate(&c, l, "load, standby mirror off", t_walk,
	                  t_pipe) != 0)
		goto out;
	rc = 0;
out:
	cluster_stop(&c);
	free(w.buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct zk_server zk = {0};
	zhandle_t *zh = NULL;
	long apps, instances, seconds;
	int rc = 1;

	if (argc == 4 && strcmp(argv[1], "--hold") == 0)
		return hold_ephemeral(argv[2], argv[3]);
	apps = bench_arg_or(argc, argv, 1, 1000);
	instances = bench_arg_or(argc, argv, 2, 10000);
	seconds = bench_arg_or(argc, argv, 3, 10);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
#if defined(__SANITIZE_ADDRESS__)
	printf("note: built with sanitizers (ASan): the figures include "
	       "their cost; configure without --enable-sanitizers to "
	       "measure\n");
#endif
	if (zk_server_start(&zk) != 0 ||
	    (zh = zk_connect(zk.hosts, 10000)) == NULL)
		goto out;
	printf("cluster bench: 3 stadiond, --zk_session_timeout %d, local "
	       "ZooKeeper %s\n",
	       SESSION_MS, zk.hosts);
	if (bench_small(&zk, zh, seconds) != 0 ||
	    bench_loaded(&zk, zh, apps, instances) != 0)
		goto out;
	rc = 0;
out:
	if (zh != NULL)
		zookeeper_close(zh);
	zk_server_free(&zk);
	if (rc != 0)
		fprintf(stderr, "bench_cluster failed\n");
	return rc;
}
