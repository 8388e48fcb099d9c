/*
 * test_zk_mirror: the ZooKeeper store's standby mirror (plugins/storage/
 * zookeeper/zk_mirror.h) against a real ZooKeeper server that this program
 * starts on a free loopback port (tests/lib/zkserver.h).
 *
 * Two stores of the plugin share one znode path, as an old leader and its
 * standby do: W, loaded through the real loader with "standby_mirror"
 * false, writes; M, a second create() of the same plugin on the same loop,
 * mirrors.  Once M's first operation is a read, M's whole tree, walked with
 * list and get, must be W's: the same keys, the same answers.  M's host
 * table logs into a recorder, so that each case also checks which way M
 * went ("reads come from the standby mirror", or "not used").
 *
 * The cases, each on a fresh path:
 *   follows changes  W changes a tree of every kind of znode (nested,
 *                    compressed, empty, implied parents) after M's mirror
 *                    is ready;
 *   random changes   300 random puts, dels and batches while M reads the
 *                    tree for the first time, 300 more after;
 *   not ready        M's first read comes at once, with 3000 keys to read:
 *                    either way M answers as W does;
 *   a write ends it  after its first write M reads ZooKeeper, and sees W's;
 *                    a first write drops the mirror unused;
 *   created between  W deletes a znode and puts it again between the two
 *                    requests of one of M's reads, which a relay between M
 *                    and the server holds apart (tests/lib/zkproxy.h);
 *   reconnected      W changes the tree while relays keep two standbys
 *                    from the server for less than their session timeout:
 *                    the changes reach them when the client sets their
 *                    watches again on reconnecting, also when the first
 *                    read's catch-up lost its sync with the connection;
 *   expired          the same, for longer than M's session timeout: M
 *                    reads everything again under a new session;
 *   off              "standby_mirror": false, and a value that is no bool.
 *
 * A held standby.  A standby follows changes in the background, so
 * whether its first read had anything left to catch up with is a race.
 * The first two cases run a second standby whose log function blocks the
 * worker thread in the "ready" line until the test lets it go: everything
 * W changes meanwhile is queued, and only the catch-up at the first read
 * can apply it.
 *
 * MIRROR_SEED sets the random case's seed (it prints the one it used).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <json-c/json.h>

#include <stadion/storage.h>

#include "bench/bench_store.h"
#include "lib/cu_run.h"
#include "lib/testfs.h"
#include "lib/tfmt.h"
#include "lib/zkproxy.h"
#include "lib/zkserver.h"
#include "log.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"

#ifndef ZK_PLUGIN
#define ZK_PLUGIN "plugins/storage/zookeeper/.libs/storage_zookeeper.so"
#endif

#define WAIT_MS 30000    /* the longest wait for a completion or a line */
#define ABSENT_MS 1500   /* how long a line that must not come is awaited */
#define MAX_STANDBYS 2
#define BIG_LEN 200000   /* over compression_threshold_bytes (65536) */

/* A cut-off that a session outlives, and one it does not: the server
 * expires a session within a tick (500 ms, zkserver.c) after its timeout,
 * and the second cut-off leaves a late expirer a second more. */
#define OUTLIVED_SESSION ", \"session_timeout_ms\": 4000"
#define OUTLIVED_CUT_MS 1000
#define EXPIRING_SESSION ", \"session_timeout_ms\": 2000"
#define EXPIRING_CUT_MS 3500
/* What the store logs when it replaces an expired session. */
#define EXPIRED_TEXT "expired; opening a new one"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------
 * The server, W, and this test's path and log lines
 * ------------------------------------------------------------------------ */

static struct zk_server zk;
static bool zk_up;
static unsigned test_no;
static char test_dir[PATH_MAX];   /* W's plugin copy and configuration */
static char zpath[64];            /* this test's znode path */
static struct bench_store w;      /* W; w.evb is the loop of both */
static const char *m_hosts;       /* where standbys connect */
/* Relays between standbys and the server, zeroed when not running. */
static struct zk_proxy proxies[MAX_STANDBYS];

/* The lines of zk_mirror.h's contract, for this test's path; MIRROR_TEXT
 * is in each of them, and not in "standby mirror off". */
static char mirror_text[96];
static char ready_text[128];
static char served_text[160];
static char unused_text[128];

static int suite_init(void)
{
	/* post() from the plugin's threads needs a base with locking. */
	if (evthread_use_pthreads() != 0)
		return 1;
	/* W's own lines; M's go to its recorder. */
	log_set_level(LOG_LVL_WARN);
	if (zk_server_start(&zk) != 0) {
		fprintf(stderr, "FAIL: the standby mirror tests need a "
		                "ZooKeeper server (see above)\n");
		return 1;
	}
	zk_up = true;
	return 0;
}

static int suite_clean(void)
{
	if (zk_up)
		zk_server_free(&zk);
	zk_up = false;
	return 0;
}

static void standbys_close(void);

static void setup(void)
{
	char conf[512];

	test_no++;
	m_hosts = zk.hosts;
	tfmt(zpath, sizeof(zpath), "/mirror/case%u", test_no);
	tfmt(mirror_text, sizeof(mirror_text), "standby mirror of %s", zpath);
	tfmt(ready_text, sizeof(ready_text), "%s ready: ", mirror_text);
	tfmt(served_text, sizeof(served_text),
	     "reads come from the standby mirror of %s until the first "
	     "write: ",
	     zpath);
	tfmt(unused_text, sizeof(unused_text), "%s not used: ", mirror_text);
	if (!testfs_mkdtemp(test_dir, sizeof(test_dir), "zk-mirror")) {
		test_dir[0] = '\0';
		return;
	}
	tfmt(conf, sizeof(conf),
	     "{\"hosts\": \"%s\", \"path\": \"%s\", \"standby_mirror\": false}",
	     zk.hosts, zpath);
	if (bench_store_open(&w, test_dir, ZK_PLUGIN, "zookeeper", conf) != 0)
		bench_store_close(&w);
}

/* Also what a test calls before its completions' memory goes: destroy()
 * still calls those that are due. */
static void stores_close(void)
{
	standbys_close();
	bench_store_close(&w);
	for (size_t i = 0; i < MAX_STANDBYS; i++)
		zk_proxy_stop(&proxies[i]);
}

static void teardown(void)
{
	stores_close();
	if (test_dir[0] != '\0')
		testfs_rm_tree(test_dir);
	test_dir[0] = '\0';
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until DONE(ARG), for at most MS: back as soon as it
 * holds, where loop_run_until() (loopback.h) turns the loop 10 ms at a
 * time, too slow for the thousands of completions waited for one after
 * another here.  Log lines do not wake the loop: a tick does, to look
 * again. */
static bool wait_until(bool (*done)(void *), void *arg, int ms)
{
	struct event *tick = event_new(w.evb, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {.tv_usec = 10000};
	double deadline = now_ms() + ms;
	bool ok;

	if (tick == NULL || event_add(tick, &tv) != 0)
		abort();
	while (!(ok = done(arg)) && now_ms() < deadline)
		event_base_loop(w.evb, EVLOOP_ONCE);
	event_free(tick);
	return ok;
}

static bool never(void *arg)
{
	return false;
}

/* Run the loop for MS (none when it is not positive). */
static void run_for(double ms)
{
	if (ms > 0)
		wait_until(never, NULL, (int)ms);
}

/* ------------------------------------------------------------------------
 * Standbys: second stores with a host table of their own that records what
 * they log
 * ------------------------------------------------------------------------ */

struct standby {
	struct plugin_services svc;   /* first: its table's ctx, &svc, is us */
	const char *name;             /* for messages */
	struct json_object *conf_obj; /* owned: create() borrows its strings */
	struct stadion_conf conf;
	void *state;                  /* NULL when create() failed */

	pthread_mutex_t lock;         /* the plugin logs from its worker */
	pthread_cond_t cond;
	char **lines;                 /* owned */
	size_t n_lines, cap_lines;
	bool hold;                    /* keep the worker in the ready line */
};

static struct standby *standbys[MAX_STANDBYS];

static void standby_log(void *ctx, enum stadion_log_level level,
                        const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void standby_log(void *ctx, enum stadion_log_level level,
                        const char *format, ...)
{
	struct standby *sb = ctx;
	char line[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(line, sizeof(line), format, ap);
	va_end(ap);
	fprintf(stderr, "  %s: %s\n", sb->name, line);
	pthread_mutex_lock(&sb->lock);
	if (sb->n_lines == sb->cap_lines) {
		sb->cap_lines = sb->cap_lines != 0 ? sb->cap_lines * 2 : 16;
		sb->lines = realloc(sb->lines,
		                    sb->cap_lines * sizeof(*sb->lines));
	}
	if (sb->lines == NULL ||
	    (sb->lines[sb->n_lines++] = strdup(line)) == NULL)
		abort();
	while (sb->hold && strstr(line, ready_text) != NULL)
		pthread_cond_wait(&sb->cond, &sb->lock);
	pthread_mutex_unlock(&sb->lock);
}

/* Let SB's worker out of its ready line. */
static void standby_release(struct standby *sb)
{
	pthread_mutex_lock(&sb->lock);
	sb->hold = false;
	pthread_cond_broadcast(&sb->cond);
	pthread_mutex_unlock(&sb->lock);
}

static void standby_free(struct standby *sb)
{
	if (sb->state != NULL) {
		standby_release(sb);
		w.ops->destroy(sb->state);
	}
	/* Its drain posts must not run after destroy(). */
	plugin_host_sweep(&sb->svc);
	json_object_put(sb->conf_obj);
	for (size_t i = 0; i < sb->n_lines; i++)
		free(sb->lines[i]);
	free(sb->lines);
	pthread_cond_destroy(&sb->cond);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

static void standbys_close(void)
{
	for (size_t i = 0; i < MAX_STANDBYS; i++) {
		if (standbys[i] != NULL)
			standby_free(standbys[i]);
		standbys[i] = NULL;
	}
}

/* A second store on this test's path, on W's loop: EXTRA is more of its
 * configuration (", \"standby_mirror\": false"), HOLD keeps its worker in
 * the ready line until standby_release().  NULL when create() failed, with
 * *ERR filled when ERR is given. */
static struct standby *standby_open(const char *name, const char *extra,
                                    bool hold, struct stadion_err *err)
{
	struct stadion_err local = {0};
	struct standby *sb = calloc(1, sizeof(*sb));
	size_t slot = 0;
	char conf[512];

	while (slot < MAX_STANDBYS && standbys[slot] != NULL)
		slot++;
	if (sb == NULL || slot == MAX_STANDBYS || w.host == NULL)
		abort();
	plugin_host_bind(w.host, &sb->svc, name);
	sb->svc.table.log = standby_log;
	sb->name = name;
	sb->hold = hold;
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->cond, NULL);
	tfmt(conf, sizeof(conf), "{\"hosts\": \"%s\", \"path\": \"%s\"%s}",
	     m_hosts, zpath, extra);
	if ((sb->conf_obj = json_tokener_parse(conf)) == NULL)
		abort();
	sb->conf.obj = sb->conf_obj;
	if (w.ops->create(&sb->svc.table, &sb->conf, &sb->state,
	                  err != NULL ? err : &local) != 0) {
		if (err == NULL)
			fprintf(stderr, "%s: create() failed: %s\n", name,
			        local.msg);
		sb->state = NULL;
		standby_free(sb);
		return NULL;
	}
	standbys[slot] = sb;
	return sb;
}

/* A copy of the NTH line (from 1) SB logged that contains TEXT, or
 * NULL. */
static char *nth_line_with(struct standby *sb, const char *text, size_t nth)
{
	char *copy = NULL;

	pthread_mutex_lock(&sb->lock);
	for (size_t i = 0; i < sb->n_lines && copy == NULL; i++)
		if (strstr(sb->lines[i], text) != NULL && --nth == 0 &&
		    (copy = strdup(sb->lines[i])) == NULL)
			abort();
	pthread_mutex_unlock(&sb->lock);
	return copy;
}

static char *line_with(struct standby *sb, const char *text)
{
	return nth_line_with(sb, text, 1);
}

struct line_wait {
	struct standby *sb;
	const char *text;
	size_t nth;
	char *line;
};

static bool line_came(void *arg)
{
	struct line_wait *lw = arg;

	return (lw->line = nth_line_with(lw->sb, lw->text, lw->nth)) != NULL;
}

/* The NTH line SB logs with TEXT in it, waited for MS at the most: owned,
 * or NULL. */
static char *wait_nth_line(struct standby *sb, const char *text, size_t nth,
                           int ms)
{
	struct line_wait lw = {sb, text, nth, NULL};

	wait_until(line_came, &lw, ms);
	return lw.line;
}

static char *wait_line(struct standby *sb, const char *text, int ms)
{
	return wait_nth_line(sb, text, 1, ms);
}

/* The number right after TEXT in LINE, or -1. */
static long long number_after(const char *line, const char *text)
{
	const char *p = line != NULL ? strstr(line, text) : NULL;

	return p != NULL ? strtoll(p + strlen(text), NULL, 10) : -1;
}

/* ------------------------------------------------------------------------
 * Operations and their completions
 * ------------------------------------------------------------------------ */

struct call {
	int calls;
	int rc;
	char msg[256];
	char *value;     /* get: owned copy */
	size_t len;
	char **names;    /* list: owned copies */
	size_t n_names;
};

static void call_clear(struct call *c)
{
	free(c->value);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	memset(c, 0, sizeof(*c));
}

static void on_done(void *arg, int rc, const char *errmsg)
{
	struct call *c = arg;

	c->calls++;
	c->rc = rc;
	snprintf(c->msg, sizeof(c->msg), "%s", errmsg != NULL ? errmsg : "");
}

static void on_get(void *arg, int rc, const void *value, size_t len,
                   const char *errmsg)
{
	struct call *c = arg;

	on_done(c, rc, errmsg);
	if (rc != 0)
		return;
	if ((c->value = malloc(len + 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(c->value, value, len);
	c->value[len] = '\0'; /* for messages */
	c->len = len;
}

static void on_list(void *arg, int rc, const char *const *names,
                    size_t count, const char *errmsg)
{
	struct call *c = arg;

	on_done(c, rc, errmsg);
	if (rc != 0 || count == 0)
		return;
	if ((c->names = calloc(count, sizeof(*c->names))) == NULL)
		abort();
	for (size_t i = 0; i < count; i++)
		if ((c->names[c->n_names++] = strdup(names[i])) == NULL)
			abort();
}

/* A call that did not start completes at once, with its code. */
static void started(struct call *c, int rc, const struct stadion_err *err,
                    const char *what, const char *key)
{
	if (rc == 0)
		return;
	fprintf(stderr, "%s '%s' did not start: %s\n", what, key, err->msg);
	c->calls = 1;
	c->rc = rc;
}

static void start_get(void *state, struct call *c, const char *key)
{
	struct stadion_err err = {0};

	started(c, w.ops->get(state, key, on_get, c, &err), &err, "get", key);
}

static void start_list(void *state, struct call *c, const char *key)
{
	struct stadion_err err = {0};

	started(c, w.ops->list(state, key, on_list, c, &err), &err, "list",
	        key);
}

static void start_put(void *state, struct call *c, const char *key,
                      const void *value, size_t len)
{
	struct stadion_err err = {0};

	started(c, w.ops->put(state, key, value, len, on_done, c, &err), &err,
	        "put", key);
}

static void start_del(void *state, struct call *c, const char *key)
{
	struct stadion_err err = {0};

	started(c, w.ops->del(state, key, on_done, c, &err), &err, "del", key);
}

static void start_batch(void *state, struct call *c,
                        const struct stadion_storage_op *ops, size_t n)
{
	struct stadion_err err = {0};

	started(c, w.ops->batch(state, ops, n, on_done, c, &err), &err,
	        "batch", "");
}

struct calls_wait {
	const struct call *c;
	size_t n;
};

static bool calls_came(void *arg)
{
	struct calls_wait *cw = arg;

	for (size_t i = 0; i < cw->n; i++)
		if (cw->c[i].calls == 0)
			return false;
	return true;
}

/* Run the loop until each of the N calls C completed.  On false the caller
 * must leave C allocated: a completion may still come. */
static bool wait_calls(const struct call *c, size_t n)
{
	struct calls_wait cw = {c, n};

	if (wait_until(calls_came, &cw, WAIT_MS))
		return true;
	fprintf(stderr, "operations did not complete within %d ms\n",
	        WAIT_MS);
	return CHECK(false);
}

/* The one call of the helpers below that wait for it: static, so that a
 * completion after a timeout still has somewhere to go. */
static struct call one;

static int settle(void)
{
	return wait_calls(&one, 1) ? one.rc : INT_MIN;
}

static int put(void *state, const char *key, const void *value, size_t len)
{
	call_clear(&one);
	start_put(state, &one, key, value, len);
	return settle();
}

static int put_str(void *state, const char *key, const char *value)
{
	return put(state, key, value, strlen(value));
}

static int del(void *state, const char *key)
{
	call_clear(&one);
	start_del(state, &one, key);
	return settle();
}

static int batch(void *state, const struct stadion_storage_op *ops, size_t n)
{
	call_clear(&one);
	start_batch(state, &one, ops, n);
	return settle();
}

/* get(KEY) through STATE answers VALUE, or ENOENT for NULL. */
static bool check_get_at(void *state, const char *key, const char *value,
                         int line)
{
	bool ok;

	call_clear(&one);
	start_get(state, &one, key);
	if (value == NULL)
		return cu_check_int(settle(), STADION_ENOENT, key, __FILE__,
		                    (unsigned)line);
	ok = cu_check_int(settle(), 0, key, __FILE__, (unsigned)line) &&
	     cu_check_int((long long)one.len, (long long)strlen(value), key,
	                  __FILE__, (unsigned)line) &&
	     CHECK(memcmp(one.value, value, one.len) == 0);
	return ok;
}
#define CHECK_GET(state, key, value) check_get_at(state, key, value, __LINE__)

/* A value of LEN bytes that deflates well, different for each SEED. */
static char *text_value(size_t len, unsigned seed)
{
	char *v = malloc(len + 1);

	if (v == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		v[i] = (char)('a' + (i / 64 + seed) % 26);
	v[len] = '\0';
	return v;
}

/* ------------------------------------------------------------------------
 * Walks: every key of a store, and what get answers for it
 * ------------------------------------------------------------------------ */

struct entry {
	char *key;      /* owned */
	int rc;         /* 0, or STADION_ENOENT for an implied parent */
	char *value;    /* owned */
	size_t len;
};

struct walk {
	struct entry *v; /* owned, by key once walk() returned true */
	size_t n, cap;
};

static void walk_free(struct walk *wk)
{
	for (size_t i = 0; i < wk->n; i++) {
		free(wk->v[i].key);
		free(wk->v[i].value);
	}
	free(wk->v);
	memset(wk, 0, sizeof(*wk));
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key,
	              ((const struct entry *)b)->key);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append to the N_R keys of *V_R (*CAP_R allocated) PARENT's child NAME. */
static void add_child(char ***v_r, size_t *n_r, size_t *cap_r,
                      const char *parent, const char *name)
{
	size_t len = strlen(parent) + strlen(name) + 2;

	if (*n_r == *cap_r) {
		*cap_r = *cap_r != 0 ? *cap_r * 2 : 64;
		if ((*v_r = realloc(*v_r, *cap_r * sizeof(**v_r))) == NULL)
			abort();
	}
	if (((*v_r)[*n_r] = malloc(len)) == NULL)
		abort();
	tfmt((*v_r)[(*n_r)++], len, "%s%s%s", parent,
	     parent[0] != '\0' ? "/" : "", name);
}

/* Append KEY (taken) and what get answered, G, to WK. */
static void add_entry(struct walk *wk, char *key, struct call *g)
{
	if (wk->n == wk->cap) {
		wk->cap = wk->cap != 0 ? wk->cap * 2 : 256;
		if ((wk->v = realloc(wk->v, wk->cap * sizeof(*wk->v))) == NULL)
			abort();
	}
	wk->v[wk->n++] = (struct entry){key, g->rc, g->value, g->len};
	g->value = NULL;
}

/* Get and list one level's N KEYS at once (list only for "").  Takes
 * each key into its entry in WK, and gives the level below in *NEXT_R
 * (*N_NEXT_R keys).  false when an operation failed or did not complete. */
static bool walk_level(void *state, const char *who, char **keys, size_t n,
                       struct walk *wk, char ***next_r, size_t *n_next_r)
{
	/* [2i] the get of keys[i], [2i + 1] its list. */
	struct call *c = calloc(2 * n, sizeof(*c));
	size_t cap_next = 0;
	bool ok = true;

	if (c == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (keys[i][0] != '\0')
			start_get(state, &c[2 * i], keys[i]);
		else
			c[2 * i].calls = 1; /* the root has no value */
		start_list(state, &c[2 * i + 1], keys[i]);
	}
	if (!wait_calls(c, 2 * n))
		return false; /* C stays: its completions may still come */
	for (size_t i = 0; i < n && ok; i++) {
		struct call *g = &c[2 * i], *l = &c[2 * i + 1];

		if ((g->rc != 0 && g->rc != STADION_ENOENT) || l->rc != 0) {
			fprintf(stderr, "%s: walk at '%s': get %d (%s), list "
			                "%d (%s)\n",
			        who, keys[i], g->rc, g->msg, l->rc, l->msg);
			ok = CHECK(false);
			break;
		}
		for (size_t j = 0; j < l->n_names; j++)
			add_child(next_r, n_next_r, &cap_next, keys[i],
			          l->names[j]);
		if (keys[i][0] != '\0') {
			add_entry(wk, keys[i], g);
			keys[i] = NULL;
		}
	}
	for (size_t i = 0; i < 2 * n; i++)
		call_clear(&c[i]);
	free(c);
	return ok;
}

/* Walk STATE's whole tree into WK, a level at a time, from list("") on
 * its own: a standby's first operation is that read.  WHO names STATE in
 * messages. */
static bool walk(void *state, const char *who, struct walk *wk)
{
	char **keys = malloc(sizeof(*keys)), **next = NULL;
	size_t n = 1, n_next = 0;
	bool ok = true;

	if (keys == NULL || (keys[0] = strdup("")) == NULL)
		abort();
	while (ok && n > 0) {
		ok = walk_level(state, who, keys, n, wk, &next, &n_next);
		strv_free(keys, n);
		keys = next;
		n = n_next;
		next = NULL;
		n_next = 0;
	}
	strv_free(keys, n);
	if (wk->n > 1)
		qsort(wk->v, wk->n, sizeof(*wk->v), cmp_entries);
	return ok;
}

/* WK (sorted) has KEY. */
static bool walk_has(const struct walk *wk, const char *key)
{
	const struct entry probe = {.key = (char *)key};

	return wk->n > 0 && bsearch(&probe, wk->v, wk->n, sizeof(*wk->v),
	                            cmp_entries) != NULL;
}

static void print_entry(const char *who, const struct entry *e)
{
	if (e == NULL) {
		fprintf(stderr, "    %s: (no such key)\n", who);
		return;
	}
	fprintf(stderr, "    %s: rc %d, %zu bytes \"%.40s%s\"\n", who, e->rc,
	        e->len, e->value != NULL ? e->value : "",
	        e->len > 40 ? "..." : "");
}

/* A (of store AN) and B (of BN) hold the same keys with the same answers;
 * the first few differences are printed. */
static bool walks_equal(const struct walk *a, const char *an,
                        const struct walk *b, const char *bn)
{
	size_t i = 0, j = 0, diffs = 0;

	while (i < a->n || j < b->n) {
		const struct entry *x = i < a->n ? &a->v[i] : NULL;
		const struct entry *y = j < b->n ? &b->v[j] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->key, y->key);

		if (c < 0)
			y = NULL;
		else if (c > 0)
			x = NULL;
		i += x != NULL;
		j += y != NULL;
		if (x != NULL && y != NULL && x->rc == y->rc &&
		    x->len == y->len &&
		    (x->len == 0 || memcmp(x->value, y->value, x->len) == 0))
			continue;
		if (++diffs <= 5) {
			fprintf(stderr, "  '%s' differs:\n",
			        x != NULL ? x->key : y->key);
			print_entry(an, x);
			print_entry(bn, y);
		}
	}
	if (diffs > 0)
		fprintf(stderr, "  %zu keys differ between %s (%zu keys) and "
		                "%s (%zu keys)\n",
		        diffs, an, a->n, bn, b->n);
	return CHECK_INT(diffs, 0);
}

/* SB answered its first read from the mirror, which then held the N_KEYS
 * of the walk and the base znode. */
static bool served_from_mirror(struct standby *sb, size_t n_keys)
{
	char *served = line_with(sb, served_text);
	char *unused = line_with(sb, unused_text);
	bool ok = CHECK(served != NULL) & CHECK(unused == NULL);

	if (served != NULL)
		ok &= CHECK_INT(number_after(served, served_text),
		                (long long)n_keys + 1);
	if (unused != NULL)
		fprintf(stderr, "%s: %s\n", sb->name, unused);
	free(served);
	free(unused);
	return ok;
}

/* SB logged its ready line, with the N_KEYS W had then and the base
 * znode (N_KEYS -1: any number). */
static bool ready_with(struct standby *sb, long long n_keys)
{
	char *line = wait_line(sb, ready_text, WAIT_MS);
	bool ok = CHECK(line != NULL) &&
	          (n_keys < 0 ||
	           CHECK_INT(number_after(line, ready_text), n_keys + 1));

	free(line);
	return ok;
}

/* The first read of a held SB queued while it is held, then let go: it
 * must catch up with what it could not follow.  READS_R: its catch-up's
 * reads. */
static bool first_read_held(struct standby *sb, long long *reads_r)
{
	struct call *c = calloc(1, sizeof(*c));
	char *line;

	if (c == NULL)
		abort();
	start_list(sb->state, c, "");
	standby_release(sb);
	if (!wait_calls(c, 1))
		return false; /* C stays: its completion may still come */
	CHECK_INT(c->rc, 0);
	call_clear(c);
	free(c);
	line = line_with(sb, served_text);
	*reads_r = number_after(line, "caught up with ");
	free(line);
	return true;
}

/* ------------------------------------------------------------------------
 * The cases
 * ------------------------------------------------------------------------ */

/* W's tree before any standby: every kind of znode there is. */
static bool write_tree(void)
{
	char key[32], value[32], *big = text_value(BIG_LEN, 0);
	bool ok = true;

	ok &= CHECK_INT(put_str(w.state, "apps/a/v1", "{\"id\":\"/a\",1}"), 0);
	ok &= CHECK_INT(put_str(w.state, "apps/a/v2", "{\"id\":\"/a\",2}"), 0);
	ok &= CHECK_INT(put_str(w.state, "apps/b/v1", "{\"id\":\"/b\",1}"), 0);
	for (unsigned i = 1; i <= 50 && ok; i++) {
		tfmt(key, sizeof(key), "instances/i%u", i);
		tfmt(value, sizeof(value), "instance %u", i);
		ok &= CHECK_INT(put_str(w.state, key, value), 0);
	}
	ok &= CHECK_INT(put(w.state, "big/blob", big, BIG_LEN), 0);
	ok &= CHECK_INT(put(w.state, "empty", "", 0), 0);
	ok &= CHECK_INT(put_str(w.state, "to-empty", "something"), 0);
	ok &= CHECK_INT(put_str(w.state, "sub/a", "sub a"), 0);
	ok &= CHECK_INT(put_str(w.state, "sub/a/b", "sub a b"), 0);
	ok &= CHECK_INT(put_str(w.state, "sub/c/d", "sub c d"), 0);
	ok &= CHECK_INT(put_str(w.state, "gone/leaf", "leaf"), 0);
	ok &= CHECK_INT(put_str(w.state, "deep/x/y/z", "deep"), 0);
	ok &= CHECK_INT(put_str(w.state, "over/k", "old"), 0);
	free(big);
	return ok;
}

/* W's changes to write_tree()'s tree: every kind of change there is. */
static bool change_tree(void)
{
	char *big = text_value(BIG_LEN, 7), *big2 = text_value(BIG_LEN, 9);
	const struct stadion_storage_op mix[] = {
		{STADION_STORAGE_PUT, "apps/c/v1", "{\"id\":\"/c\",1}", 13},
		{STADION_STORAGE_DEL, "apps/b", NULL, 0},
		{STADION_STORAGE_PUT, "instances/i51", "instance 51", 11},
		{STADION_STORAGE_DEL, "instances/i1", NULL, 0},
		{STADION_STORAGE_PUT, "over/k", "newer", 5},
		{STADION_STORAGE_DEL, "deep/x/y/z", NULL, 0},
		{STADION_STORAGE_PUT, "deep/w", "", 0},
		{STADION_STORAGE_PUT, "big/second", big2, BIG_LEN},
	};
	bool ok = true;

	ok &= CHECK_INT(put_str(w.state, "apps/a/v1", "{\"id\":\"/a\",1,x}"),
	                0);
	ok &= CHECK_INT(put(w.state, "big/blob", big, BIG_LEN), 0);
	ok &= CHECK_INT(put_str(w.state, "empty", "not any more"), 0);
	ok &= CHECK_INT(put(w.state, "to-empty", "", 0), 0);
	ok &= CHECK_INT(put_str(w.state, "new/p1/p2/p3/p4/key", "deep new"),
	                0);
	ok &= CHECK_INT(put_str(w.state, "instances/i2/health", "ok"), 0);
	ok &= CHECK_INT(del(w.state, "gone/leaf"), 0);
	ok &= CHECK_INT(del(w.state, "sub"), 0);
	ok &= CHECK_INT(put_str(w.state, "sub/again", "back"), 0);
	ok &= CHECK_INT(batch(w.state, mix, sizeof(mix) / sizeof(mix[0])), 0);
	free(big);
	free(big2);
	return ok;
}

/* M1 follows W's changes as they come; M2, held in its ready line, finds
 * them all queued at its first read. */
static void test_follows(void)
{
	struct walk before = {0}, wk = {0}, w1 = {0}, w2 = {0};
	struct standby *m1, *m2;
	long long reads = -1;

	if (!CHECK(w.state != NULL) || !write_tree() ||
	    !walk(w.state, "W", &before))
		goto out;
	m1 = standby_open("M1", "", false, NULL);
	m2 = standby_open("M2", "", true, NULL);
	if (!CHECK(m1 != NULL && m2 != NULL) ||
	    !ready_with(m1, (long long)before.n) ||
	    !ready_with(m2, (long long)before.n) ||
	    !change_tree())
		goto out;
	if (!walk(m1->state, "M1", &w1) ||
	    !first_read_held(m2, &reads) || !walk(m2->state, "M2", &w2) ||
	    !walk(w.state, "W", &wk))
		goto out;
	walks_equal(&wk, "W", &w1, "M1");
	walks_equal(&wk, "W", &w2, "M2");
	served_from_mirror(m1, wk.n);
	served_from_mirror(m2, wk.n);
	CHECK(reads > 0);
	/* The tree changed in the ways meant. */
	CHECK(walk_has(&wk, "new/p1/p2/p3/p4/key"));
	CHECK(walk_has(&wk, "sub/again"));
	CHECK(walk_has(&wk, "deep/w"));
	CHECK(!walk_has(&wk, "gone"));
	CHECK(!walk_has(&wk, "sub/a"));
	CHECK(!walk_has(&wk, "deep/x"));
	CHECK(!walk_has(&wk, "apps/b"));
out:
	stores_close();
	walk_free(&before);
	walk_free(&wk);
	walk_free(&w1);
	walk_free(&w2);
}

/* A small deterministic generator, so that a failing seed can be rerun. */
static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

#define RAND_BATCH_MAX 5
#define RAND_WINDOW 4 /* W's operations in flight */

/* One element of a random operation: a key of one to three segments of
 * "a" to "d" (84 keys, so that puts, dels and parents meet), and for a put
 * a value that says which operation wrote it.  A del is mostly of a leaf:
 * one of a whole branch now and then leaves a tree to follow. */
struct relem {
	char key[8];
	char value[32];
	char *big;      /* owned: now and then a compressed value */
	bool put;
};

static void relem_make(struct relem *e, unsigned op_no, unsigned i)
{
	unsigned depth, n = 0;

	e->put = rnd(4) != 0;
	e->big = NULL;
	if (e->put)
		depth = 1 + rnd(3);
	else
		depth = rnd(10) == 0 ? 1 : rnd(3) == 0 ? 2 : 3;
	for (unsigned d = 0; d < depth; d++) {
		if (d > 0)
			e->key[n++] = '/';
		e->key[n++] = (char)('a' + rnd(4));
	}
	e->key[n] = '\0';
	if (!e->put)
		return;
	if (rnd(20) == 0)
		e->value[0] = '\0';
	else
		tfmt(e->value, sizeof(e->value), "op %u.%u", op_no, i);
	if (rnd(40) == 0)
		e->big = text_value(70000, op_no);
}

/* Start W's random operation OP_NO into C: a put, a del or a batch. */
static void start_random(struct call *c, unsigned op_no)
{
	struct relem e[RAND_BATCH_MAX];
	struct stadion_storage_op ops[RAND_BATCH_MAX];
	unsigned kind = rnd(4), n = kind < 3 ? 1 : 2 + rnd(RAND_BATCH_MAX - 1);

	for (unsigned i = 0; i < n; i++) {
		relem_make(&e[i], op_no, i);
		ops[i] = (struct stadion_storage_op){
			e[i].put ? STADION_STORAGE_PUT : STADION_STORAGE_DEL,
			e[i].key,
			e[i].put ? (e[i].big != NULL ? e[i].big : e[i].value)
			         : NULL,
			!e[i].put ? 0 : e[i].big != NULL ? 70000
			                                 : strlen(e[i].value)};
	}
	if (n > 1)
		start_batch(w.state, c, ops, n);
	else if (e[0].put)
		start_put(w.state, c, e[0].key, ops[0].value, ops[0].len);
	else
		start_del(w.state, c, e[0].key);
	for (unsigned i = 0; i < n; i++)
		free(e[i].big);
}

/* W's random operations FIRST..FIRST+N, RAND_WINDOW in flight.  After the
 * twentieth, while W goes on writing, N_OPEN standbys are created into
 * OPEN: M1, and M2 held in its ready line. */
static bool random_ops(unsigned first, unsigned n, struct standby **open,
                       size_t n_open)
{
	struct call *c = calloc(n, sizeof(*c));
	unsigned issued = 0, done = 0, failed = 0;

	if (c == NULL)
		abort();
	while (done < n) {
		while (issued < n && issued - done < RAND_WINDOW)
			start_random(&c[issued], first + issued), issued++;
		if (issued >= 20 && n_open > 0) {
			open[0] = standby_open("M1", "", false, NULL);
			if (n_open > 1)
				open[1] = standby_open("M2", "", true, NULL);
			n_open = 0;
		}
		if (!wait_calls(&c[done], 1))
			return false; /* C stays: completions may still come */
		failed += c[done].rc != 0;
		if (c[done].rc != 0)
			fprintf(stderr, "W's random operation %u: %d %s\n",
			        first + done, c[done].rc, c[done].msg);
		call_clear(&c[done]);
		done++;
	}
	free(c);
	return CHECK_INT(failed, 0);
}

static void test_random(void)
{
	struct standby *m[2] = {NULL, NULL};
	struct walk wk = {0}, w1 = {0}, w2 = {0};
	const char *env = getenv("MIRROR_SEED");
	long long reads = -1;

	rng_state = env != NULL && env[0] != '\0'
	                    ? strtoull(env, NULL, 0)
	                    : (uint64_t)time(NULL) * 2654435761u;
	if (rng_state == 0)
		rng_state = 1;
	fprintf(stderr, "\nMIRROR_SEED=%" PRIu64 " ", rng_state);
	if (!CHECK(w.state != NULL) || !random_ops(0, 300, m, 2) ||
	    !CHECK(m[0] != NULL && m[1] != NULL))
		goto out;
	/* Ready, whatever the count: the tree changed while it was read. */
	if (!ready_with(m[0], -1) || !ready_with(m[1], -1) ||
	    !random_ops(300, 300, NULL, 0))
		goto out;
	if (!walk(m[0]->state, "M1", &w1) || !first_read_held(m[1], &reads) ||
	    !walk(m[1]->state, "M2", &w2) || !walk(w.state, "W", &wk))
		goto out;
	walks_equal(&wk, "W", &w1, "M1");
	walks_equal(&wk, "W", &w2, "M2");
	served_from_mirror(m[0], wk.n);
	served_from_mirror(m[1], wk.n);
	CHECK(reads > 0);
out:
	stores_close();
	walk_free(&wk);
	walk_free(&w1);
	walk_free(&w2);
}

/* M's first read comes before M can have read 3000 keys: it is answered
 * from ZooKeeper (or, on a fast day, from a mirror that made it). */
static void test_not_ready(void)
{
	enum { GROUPS = 30, PER_GROUP = 100 };
	struct stadion_storage_op ops[PER_GROUP];
	char keys[PER_GROUP][32], values[PER_GROUP][64];
	struct walk wk = {0}, wm = {0};
	char *served = NULL, *unused = NULL;
	struct standby *m;

	if (!CHECK(w.state != NULL))
		goto out;
	for (unsigned g = 0; g < GROUPS; g++) {
		for (unsigned i = 0; i < PER_GROUP; i++) {
			tfmt(keys[i], sizeof(keys[i]), "inst/g%02u/i%04u", g,
			     g * PER_GROUP + i);
			tfmt(values[i], sizeof(values[i]),
			     "{\"id\":\"i%04u\",\"state\":\"running\"}",
			     g * PER_GROUP + i);
			ops[i] = (struct stadion_storage_op){
				STADION_STORAGE_PUT, keys[i], values[i],
				strlen(values[i])};
		}
		if (!CHECK_INT(batch(w.state, ops, PER_GROUP), 0))
			goto out;
	}
	if (!walk(w.state, "W", &wk) ||
	    !CHECK((m = standby_open("M", "", false, NULL)) != NULL) ||
	    !walk(m->state, "M", &wm))
		goto out;
	walks_equal(&wk, "W", &wm, "M");
	CHECK_INT(wk.n, GROUPS * PER_GROUP + GROUPS + 1);
	served = line_with(m, served_text);
	unused = line_with(m, unused_text);
	CHECK((served != NULL) != (unused != NULL));
	fprintf(stderr, "\n  (%s) ",
	        unused != NULL ? "not used, as meant" : "the mirror made it");
out:
	stores_close();
	free(served);
	free(unused);
	walk_free(&wk);
	walk_free(&wm);
}

/* After its first write M reads ZooKeeper: it sees what W writes next,
 * which its mirror, serving, no longer follows.  M2's first operation is
 * a write: its mirror is never used. */
static void test_write_ends_it(void)
{
	static const char *const k_names[] = {"m", "w"};
	struct walk wk = {0}, wm = {0};
	struct standby *m, *m2;
	char *line;

	if (!CHECK(w.state != NULL) ||
	    !CHECK_INT(put_str(w.state, "apps/a", "a"), 0) ||
	    !CHECK_INT(put_str(w.state, "apps/b", "b"), 0) ||
	    !CHECK((m = standby_open("M", "", false, NULL)) != NULL) ||
	    !ready_with(m, 3) || !walk(m->state, "M", &wm) ||
	    !served_from_mirror(m, wm.n))
		goto out;
	if (!CHECK_INT(put_str(m->state, "k/m", "from M"), 0) ||
	    !CHECK_INT(put_str(w.state, "k/w", "from W"), 0) ||
	    !CHECK_INT(del(w.state, "apps/a"), 0))
		goto out;
	CHECK_GET(m->state, "k/w", "from W");
	CHECK_GET(m->state, "k/m", "from M");
	CHECK_GET(m->state, "apps/a", NULL);
	call_clear(&one);
	start_list(m->state, &one, "k");
	if (CHECK_INT(settle(), 0) && CHECK_INT(one.n_names, 2))
		for (size_t i = 0; i < 2; i++)
			CHECK_STR(one.names[i], k_names[i]);
	walk_free(&wm);
	if (walk(w.state, "W", &wk) && walk(m->state, "M", &wm))
		walks_equal(&wk, "W", &wm, "M");
	CHECK((line = line_with(m, unused_text)) == NULL);
	free(line);

	if (!CHECK((m2 = standby_open("M2", "", false, NULL)) != NULL) ||
	    !ready_with(m2, (long long)wk.n) ||
	    !CHECK_INT(put_str(m2->state, "k/m2", "from M2"), 0))
		goto out;
	line = line_with(m2, unused_text);
	CHECK_CONTAINS(line, "the first operation was a write");
	free(line);
	CHECK_INT(put_str(w.state, "k/w", "from W again"), 0);
	CHECK_GET(m2->state, "k/w", "from W again");
	CHECK_GET(m2->state, "k/m2", "from M2");
out:
	call_clear(&one);
	stores_close();
	walk_free(&wk);
	walk_free(&wm);
}

/* M reads a znode just deleted, and W puts it again between M's data read
 * and its child read (the proxy holds M's requests in between): the data
 * read found no znode and left no watch, the child read found one. */
static void test_created_between(void)
{
	struct walk wk = {0}, wm = {0};
	struct standby *m;
	char trap[128];

	if (!CHECK(w.state != NULL) ||
	    !CHECK_INT(zk_proxy_start(&proxies[0], zk.port), 0))
		goto out;
	m_hosts = proxies[0].hosts;
	tfmt(trap, sizeof(trap), "%s/x/k", zpath);
	/* x/other keeps x, so that only x/k goes and comes back. */
	if (!CHECK_INT(put_str(w.state, "x/k", "first"), 0) ||
	    !CHECK_INT(put_str(w.state, "x/other", "other"), 0) ||
	    !CHECK((m = standby_open("M", "", false, NULL)) != NULL) ||
	    !ready_with(m, 3))
		goto out;
	zk_proxy_trap(&proxies[0], trap);
	if (!CHECK_INT(del(w.state, "x/k"), 0) ||
	    !CHECK(zk_proxy_wait_held(&proxies[0], WAIT_MS)) ||
	    !CHECK_INT(put_str(w.state, "x/k", "second"), 0))
		goto out;
	zk_proxy_release(&proxies[0]);
	if (walk(m->state, "M", &wm) && walk(w.state, "W", &wk))
		walks_equal(&wk, "W", &wm, "M");
	served_from_mirror(m, wk.n);
out:
	stores_close();
	walk_free(&wk);
	walk_free(&wm);
}

/* Standby NAME with CONF through a relay of its own, PROXY, whose mirror
 * logged its ready line with the N_KEYS of W's tree; NULL (a failed
 * check) otherwise. */
static struct standby *standby_relayed(const char *name, const char *conf,
                                       struct zk_proxy *proxy, size_t n_keys)
{
	struct standby *sb;

	if (!CHECK_INT(zk_proxy_start(proxy, zk.port), 0))
		return NULL;
	m_hosts = proxy->hosts;
	sb = standby_open(name, conf, false, NULL);
	return CHECK(sb != NULL) && ready_with(sb, (long long)n_keys) ? sb
	                                                             : NULL;
}

/* Cut the standbys of the first N relays off the server; when to let them
 * back: CUT_MS from now. */
static double cut_off(size_t n, int cut_ms)
{
	for (size_t i = 0; i < n; i++)
		zk_proxy_cut(&proxies[i]);
	return now_ms() + cut_ms;
}

/* Let them back at END (now_ms() time), however long W's changes took. */
static void mend_at(double end, size_t n)
{
	run_for(end - now_ms());
	for (size_t i = 0; i < n; i++)
		zk_proxy_mend(&proxies[i]);
}

/* M1 and M2 lose their connections while W changes the tree, and get
 * them back within their sessions: the client sets their watches again,
 * and ZooKeeper fires those of the znodes that changed meanwhile.  M1's
 * first read comes once the server answered its reconnection.  M2's comes
 * just before the cut, whose connection takes along the sync of M2's
 * catch-up (its relay holds it): the catch-up must start again once M2 is
 * back, its sync then the first request after the watches. */
static void test_reconnected(void)
{
	struct walk before = {0}, wk = {0}, wm[2] = {{0}};
	static const char *const names[] = {"M1", "M2"};
	struct call first = {0}; /* M2's: destroy() calls it if late */
	struct standby *m[2];
	double end;
	char *line;
	bool ok;

	if (!CHECK(w.state != NULL) || !write_tree() ||
	    !walk(w.state, "W", &before))
		goto out;
	for (size_t i = 0; i < 2; i++)
		if ((m[i] = standby_relayed(names[i], OUTLIVED_SESSION,
		                            &proxies[i], before.n)) == NULL)
			goto out;
	zk_proxy_trap_sync(&proxies[1], zpath);
	start_list(m[1]->state, &first, "");
	if (!CHECK(zk_proxy_wait_held(&proxies[1], WAIT_MS)))
		goto out;
	end = cut_off(2, OUTLIVED_CUT_MS);
	ok = change_tree();
	mend_at(end, 2);
	if (!ok || !CHECK(zk_proxy_wait_answered(&proxies[0], 2, WAIT_MS)) ||
	    !wait_calls(&first, 1) || !CHECK_INT(first.rc, 0))
		goto out;
	if (!walk(m[0]->state, "M1", &wm[0]) ||
	    !walk(m[1]->state, "M2", &wm[1]) || !walk(w.state, "W", &wk))
		goto out;
	for (size_t i = 0; i < 2; i++) {
		walks_equal(&wk, "W", &wm[i], names[i]);
		served_from_mirror(m[i], wk.n);
		/* The session lived: the changes came by its watches. */
		CHECK((line = line_with(m[i], EXPIRED_TEXT)) == NULL);
		free(line);
	}
out:
	stores_close();
	call_clear(&first);
	walk_free(&before);
	walk_free(&wk);
	walk_free(&wm[0]);
	walk_free(&wm[1]);
}

/* M is cut off for longer than its session timeout while W changes the
 * tree.  The watches went with the session: the store opens a new one,
 * and the mirror reads everything again, before any operation comes. */
static void test_expired(void)
{
	struct walk before = {0}, wk = {0}, wm = {0};
	char *ready = NULL, *expired = NULL;
	struct standby *m;
	double end;
	bool ok;

	if (!CHECK(w.state != NULL) || !write_tree() ||
	    !walk(w.state, "W", &before) ||
	    (m = standby_relayed("M", EXPIRING_SESSION, &proxies[0],
	                         before.n)) == NULL)
		goto out;
	end = cut_off(1, EXPIRING_CUT_MS);
	ok = change_tree();
	mend_at(end, 1);
	/* Missing only if the server expired nothing for a second after it
	 * was due (EXPIRING_CUT_MS). */
	if (!ok ||
	    !CHECK((expired = wait_line(m, EXPIRED_TEXT, WAIT_MS)) != NULL) ||
	    !CHECK((ready = wait_nth_line(m, ready_text, 2, WAIT_MS)) != NULL))
		goto out;
	if (walk(m->state, "M", &wm) && walk(w.state, "W", &wk)) {
		walks_equal(&wk, "W", &wm, "M");
		served_from_mirror(m, wk.n);
		CHECK_INT(number_after(ready, ready_text), (long long)wk.n + 1);
	}
out:
	stores_close();
	free(ready);
	free(expired);
	walk_free(&before);
	walk_free(&wk);
	walk_free(&wm);
}

/* "standby_mirror": false is a store without a mirror; anything but a
 * bool refuses the store. */
static void test_off(void)
{
	struct stadion_err err = {0};
	struct walk wk = {0}, wm = {0};
	struct standby *m;
	char *line;

	if (!CHECK(w.state != NULL) ||
	    !CHECK_INT(put_str(w.state, "apps/a", "a"), 0) ||
	    !CHECK((m = standby_open("M", ", \"standby_mirror\": false",
	                             false, NULL)) != NULL))
		goto out;
	CHECK((line = line_with(m, "state under")) != NULL);
	CHECK_CONTAINS(line, "standby mirror off");
	free(line);
	CHECK((line = wait_line(m, mirror_text, ABSENT_MS)) == NULL);
	free(line);
	if (walk(w.state, "W", &wk) && walk(m->state, "M", &wm))
		walks_equal(&wk, "W", &wm, "M");
	CHECK((line = line_with(m, mirror_text)) == NULL);
	free(line);

	CHECK(standby_open("bad", ", \"standby_mirror\": \"yes\"", false,
	                   &err) == NULL);
	CHECK_INT(err.code, STADION_EINVAL);
	CHECK_CONTAINS(err.msg, "standby_mirror");
out:
	stores_close();
	walk_free(&wk);
	walk_free(&wm);
}

static CU_TestInfo mirror_tests[] = {
	{"follows changes: a standby answers as the writer", test_follows},
	{"random changes, while the mirror is read and after", test_random},
	{"first read before the mirror is ready", test_not_ready},
	{"after its first write a standby reads ZooKeeper",
	 test_write_ends_it},
	{"a znode created between the two reads of one",
	 test_created_between},
	{"changes while a standby was cut off, its session alive",
	 test_reconnected},
	{"changes while a standby's session expired", test_expired},
	{"standby_mirror false, and not a bool", test_off},
	CU_TEST_INFO_NULL,
};

int main(void)
{
	CU_SuiteInfo suites[] = {
		{"zookeeper standby mirror", suite_init, suite_clean, setup,
		 teardown, mirror_tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
