/*
 * test_state: the state repository (core/state) over the real LMDB plugin
 * of this build tree, loaded through the real loader, on a real libevent
 * loop: round trips of every entity, reopen, a failed commit leaving
 * memory unchanged, pruning, and a load of 1,000 apps and 10,000
 * instances (timed, printed, never asserted).
 *
 * The plugin is copied into a private directory with mode 0755 first: the
 * loader refuses group-writable files, which a umask of 002 produces.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include <stadion/storage.h>

#include "lib/cu_run.h"
#include "lib/testfs.h"
#include "log.h"
#include "model/model_app.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"
#include "state/state.h"

#ifndef LMDB_PLUGIN
#define LMDB_PLUGIN "plugins/storage/lmdb/.libs/storage_lmdb.so"
#endif

#define CONF_DEFAULT "{\"path\": \"%s/state\"}"
/* Small values only: a big app fails its commit. */
#define CONF_SMALL "{\"path\": \"%s/state\", \"max_value_bytes\": 4096}"
#define WAIT_SECONDS 60

static char suite_dir[PATH_MAX];  /* our copy of the .so */
static char plugin_path[PATH_MAX + 32];
static char test_dir[PATH_MAX];   /* this test's store */

static struct {
	struct event_base *base;
	struct plugin_host *host;
	struct plugin_conf *pconf;
	struct plugin_set *set;
	struct state *state;
} st;

static int suite_init(void)
{
	if (!testfs_mkdtemp(suite_dir, sizeof(suite_dir), "state-so"))
		return 1;
	snprintf(plugin_path, sizeof(plugin_path), "%s/storage_lmdb.so",
	         suite_dir);
	if (!testfs_copy_file(LMDB_PLUGIN, plugin_path)) {
		fprintf(stderr, "cannot copy %s\n", LMDB_PLUGIN);
		return 1;
	}
	/* post() from the plugin's writer thread needs a locking base. */
	if (evthread_use_pthreads() != 0)
		return 1;
	log_set_level(LOG_LVL_ERROR);
	return 0;
}

static int suite_clean(void)
{
	testfs_rm_tree(suite_dir);
	return 0;
}

/* ------------------------------------------------------------------------
 * A store and a repository over it
 * ------------------------------------------------------------------------ */

static void close_store(void)
{
	/* The plugin first: its destroy() calls completions still due,
	 * which use the repository. */
	plugin_set_free(st.set);
	state_free(st.state);
	plugin_host_free(st.host);
	plugin_conf_free(st.pconf);
	if (st.base != NULL)
		event_base_free(st.base);
	memset(&st, 0, sizeof(st));
}

struct res {
	int calls;
	int rc;
	char msg[256];
	struct app *app;
};

static void on_done(void *arg, int rc, const char *errmsg)
{
	struct res *r = arg;

	r->calls++;
	r->rc = rc;
	snprintf(r->msg, sizeof(r->msg), "%s", errmsg != NULL ? errmsg : "");
}

static void on_app(void *arg, int rc, struct app *app, const char *errmsg)
{
	struct res *r = arg;

	on_done(arg, rc, errmsg);
	model_app_free(r->app);
	r->app = app;
}

/* The plugin's ops with batch() wrapped, so that a test can make the next
 * batch fail to start (as a backend that refuses work would). */
static const struct stadion_storage_ops *real_ops;
static struct stadion_storage_ops wrap_ops;
static int fail_batches; /* refuse this many batch() starts */

static int wrap_batch(void *state, const struct stadion_storage_op *ops,
                      size_t count, stadion_storage_done_fn *done, void *arg,
                      struct stadion_err *err)
{
	if (fail_batches > 0) {
		fail_batches--;
		return stadion_err_set(err, STADION_EBUSY, "injected: busy");
	}
	return real_ops->batch(state, ops, count, done, arg, err);
}

static bool timed_out;
static double load_seconds; /* of the last open_store */
static double now_s(void);

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

/* Run the loop until R was called. */
static bool wait_for(struct res *r)
{
	struct timeval tv = {.tv_sec = WAIT_SECONDS};
	struct event *t = evtimer_new(st.base, on_timeout, NULL);

	if (!CHECK(t != NULL) || evtimer_add(t, &tv) != 0)
		return false;
	timed_out = false;
	while (!timed_out && r->calls == 0)
		event_base_loop(st.base, EVLOOP_ONCE);
	event_free(t);
	return CHECK(!timed_out) && CHECK_INT(r->calls, 1);
}

/* Open the store in test_dir with configuration CONF (a format with one
 * %s for the directory) and load the repository. */
static bool open_store(const char *conf, uint32_t max_versions)
{
	char file[PATH_MAX + 32], errbuf[512], cbuf[PATH_MAX + 128];
	struct state_config cfg = {.max_versions = max_versions};
	struct stadion_err err = {0};
	const struct plugin *p;
	struct res r = {0};
	FILE *f;

	snprintf(cbuf, sizeof(cbuf), conf, test_dir);
	snprintf(file, sizeof(file), "%s/plugin_conf.json", test_dir);
	if ((f = fopen(file, "w")) == NULL)
		return false;
	fprintf(f, "{\"plugins\": {\"store\": {\"plugin\": \"storage\", "
	           "\"implementation\": \"lmdb\", \"configuration\": %s}}}\n",
	        cbuf);
	if (fclose(f) != 0)
		return false;
	if (!CHECK_INT(plugin_conf_load(file, &st.pconf, errbuf,
	                                sizeof(errbuf)), 0))
		return false;
	st.base = event_base_new();
	st.host = st.base != NULL ? plugin_host_new(st.base) : NULL;
	st.set = st.host != NULL ? plugin_set_new(st.host, st.pconf) : NULL;
	if (!CHECK(st.set != NULL) ||
	    !CHECK_INT(plugin_set_load_file(st.set, plugin_path), 0))
		goto fail;
	p = st.set->loaded;
	real_ops = p->ops;
	wrap_ops = *real_ops;
	wrap_ops.batch = wrap_batch;
	fail_batches = 0;
	st.state = state_new(&wrap_ops, p->state, &cfg);
	load_seconds = now_s();
	if (!CHECK(st.state != NULL) ||
	    !CHECK_INT(state_load(st.state, on_done, &r, &err), 0) ||
	    !wait_for(&r) || !CHECK_INT(r.rc, 0)) {
		fprintf(stderr, "load: %s %s\n", err.msg, r.msg);
		goto fail;
	}
	load_seconds = now_s() - load_seconds;
	return true;

fail:
	close_store();
	return false;
}

static bool reopen(const char *conf, uint32_t max_versions)
{
	close_store();
	return open_store(conf, max_versions);
}

static void setup(void)
{
	if (!testfs_mkdtemp(test_dir, sizeof(test_dir), "state"))
		test_dir[0] = '\0';
	open_store(CONF_DEFAULT, 0);
}

static void teardown(void)
{
	close_store();
	if (test_dir[0] != '\0')
		testfs_rm_tree(test_dir);
}

/* ------------------------------------------------------------------------
 * Building entities
 * ------------------------------------------------------------------------ */

/* Version N as a timestamp: 2026-01-01 plus N seconds. */
static void version(int n, char buf[MODEL_TIMESTAMP_LEN])
{
	model_timestamp_format(1767225600000LL + 1000LL * n, buf);
}

static struct app *make_app(const char *id, const char *cmd, int instances,
                            int v)
{
	char ts[MODEL_TIMESTAMP_LEN], text[16384];
	struct model_errors errs;
	struct json_object *in;
	struct app *app = NULL;

	version(v, ts);
	snprintf(text, sizeof(text),
	         "{\"id\": \"%s\", \"cmd\": \"%s\", \"instances\": %d}", id,
	         cmd, instances);
	model_errors_init(&errs);
	in = json_tokener_parse(text);
	if (in == NULL || model_app_parse(in, "/", NULL, &app, &errs) != 0 ||
	    model_app_stamp(app, NULL, ts, false) != 0) {
		fprintf(stderr, "cannot make app %s\n", id);
		abort();
	}
	json_object_put(in);
	model_errors_clear(&errs);
	return app;
}

static char *xstrdup(const char *s)
{
	char *out = s != NULL ? strdup(s) : NULL;

	if (s != NULL && out == NULL)
		abort();
	return out;
}

static struct state_deployment *make_dep(const char *id, const char *from,
                                         const char *to, const char *app_id)
{
	struct state_deployment *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->affected_apps = calloc(1, sizeof(char *))) == NULL)
		abort();
	d->id = xstrdup(id);
	d->version = xstrdup(to);
	d->affected_apps[0] = xstrdup(app_id);
	d->n_affected_apps = 1;
	d->steps = json_tokener_parse(
		"[{\"actions\": [{\"action\": \"StartApplication\", "
		"\"app\": \"/x\"}]}]");
	d->current_step = 1;
	d->from_root = xstrdup(from);
	d->to_root = xstrdup(to);
	return d;
}

static struct state_instance *make_inst(const char *app_id, int n)
{
	struct state_instance *i = calloc(1, sizeof(*i));
	char buf[256];

	if (i == NULL || (i->host_ports = calloc(2, sizeof(uint32_t))) == NULL)
		abort();
	snprintf(buf, sizeof(buf), "%s.instance-%08d-0000-1000-8000-000000000000",
	         app_id + 1, n);
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '/')
			*p = '_'; /* the safe id */
	i->instance_id = xstrdup(buf);
	i->app_id = xstrdup(app_id);
	i->app_version = xstrdup("2026-01-01T00:00:00.000Z");
	i->agent_id = xstrdup("local-0");
	i->hostname = xstrdup("h1");
	snprintf(buf, sizeof(buf), "%s._app.%d", i->instance_id, n % 7 + 1);
	i->task_id = xstrdup(buf);
	i->incarnation = (uint32_t)(n % 7 + 1);
	i->state = xstrdup("Running");
	i->goal = n % 3 == 0 ? STATE_GOAL_STOPPED : STATE_GOAL_RUNNING;
	i->host_ports[0] = 31000 + (uint32_t)n % 1000;
	i->host_ports[1] = 32000;
	i->n_host_ports = 2;
	i->staged_at = xstrdup("2026-01-01T00:00:01.000Z");
	i->started_at = xstrdup("2026-01-01T00:00:02.000Z");
	i->pid = 1000 + n;
	i->start_ticks = 123456789012ULL + (uint64_t)n;
	i->sandbox = xstrdup("/var/lib/stadion/sandboxes/x");
	return i;
}

/* Commit CH and wait: the completion's rc (or a start's negative rc). */
static int commit(const struct state_change *ch)
{
	struct stadion_err err = {0};
	struct res r = {0};
	int rc = state_commit(st.state, ch, on_done, &r, &err);

	if (rc != 0)
		return rc;
	if (!wait_for(&r))
		return 12345;
	return r.rc;
}

/* A new root VERSION with the one app APP put. */
static int commit_app(int v, struct app *app, struct state_deployment *dep,
                      const char *del_dep)
{
	char ts[MODEL_TIMESTAMP_LEN];
	struct state_change ch = {0};

	version(v, ts);
	ch.root_version = ts;
	ch.put_apps = &app;
	ch.n_put_apps = app != NULL ? 1 : 0;
	ch.put_deployments = &dep;
	ch.n_put_deployments = dep != NULL ? 1 : 0;
	ch.del_deployments = &del_dep;
	ch.n_del_deployments = del_dep != NULL ? 1 : 0;
	return commit(&ch);
}

static int put_inst(struct state_instance *inst)
{
	struct stadion_err err = {0};
	struct res r = {0};
	int rc = state_put_instance(st.state, inst, on_done, &r, &err);

	if (rc != 0)
		return rc;
	return wait_for(&r) ? r.rc : 12345;
}

static bool app_json_equal(const struct app *a, const struct app *b)
{
	struct json_object *ja = model_app_to_json(a);
	struct json_object *jb = model_app_to_json(b);
	bool eq = ja != NULL && jb != NULL && json_object_equal(ja, jb);

	json_object_put(ja);
	json_object_put(jb);
	return eq;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

static void test_empty(void)
{
	const struct state_snapshot *sn;

	if (!CHECK(st.state != NULL))
		return;
	sn = state_snapshot(st.state);
	CHECK(sn->root_version == NULL);
	CHECK_INT(sn->n_apps, 0);
	CHECK_INT(sn->n_deployments, 0);
	CHECK_INT(sn->n_instances, 0);
	CHECK(sn->framework_id == NULL);
}

/* The snapshot of the round-trip test, checked before and after reopen. */
static void check_roundtrip(const struct app *ab, const struct app *c)
{
	const struct state_snapshot *sn = state_snapshot(st.state);
	const struct state_deployment *d;
	const struct state_instance *i;
	const char *const *vs;
	char v1[MODEL_TIMESTAMP_LEN];
	size_t n;

	version(1, v1);
	CHECK_STR(sn->root_version, v1);
	CHECK_STR(sn->framework_id, "fw-1234");
	if (CHECK_INT(sn->n_apps, 2)) {
		CHECK_STR(sn->apps[0]->id, "/a/b");
		CHECK_STR(sn->apps[1]->id, "/c");
		CHECK(app_json_equal(sn->apps[0], ab));
		CHECK(app_json_equal(sn->apps[1], c));
		CHECK(state_app(st.state, "/c") == sn->apps[1]);
	}
	d = state_deployment(st.state, "d-1");
	if (CHECK(d != NULL)) {
		CHECK_STR(d->version, v1);
		CHECK(d->from_root == NULL);
		CHECK_STR(d->to_root, v1);
		CHECK_INT(d->current_step, 1);
		CHECK_INT(d->n_affected_apps, 1);
		CHECK_STR(d->affected_apps[0], "/a/b");
		CHECK_INT(json_object_array_length(d->steps), 1);
	}
	i = state_instance(st.state,
	                   "a_b.instance-00000005-0000-1000-8000-000000000000");
	if (CHECK(i != NULL)) {
		CHECK_STR(i->app_id, "/a/b");
		CHECK_STR(i->task_id, "a_b.instance-00000005-0000-1000-8000-"
		                      "000000000000._app.6");
		CHECK_INT(i->incarnation, 6);
		CHECK_STR(i->state, "Running");
		CHECK_INT(i->goal, STATE_GOAL_RUNNING);
		CHECK_INT(i->n_host_ports, 2);
		CHECK_INT(i->host_ports[0], 31005);
		CHECK_STR(i->staged_at, "2026-01-01T00:00:01.000Z");
		CHECK_INT(i->pid, 1005);
		CHECK(i->start_ticks == 123456789017ULL);
		CHECK_STR(i->sandbox, "/var/lib/stadion/sandboxes/x");
	}
	if (CHECK_INT(state_app_versions(st.state, "/a/b", &vs, &n), 0) &&
	    CHECK_INT(n, 1))
		CHECK_STR(vs[0], v1);
	CHECK_INT(state_app_versions(st.state, "/nope", &vs, &n),
	          STADION_ENOENT);
	state_root_versions(st.state, &vs, &n);
	if (CHECK_INT(n, 1))
		CHECK_STR(vs[0], v1);
}

static void test_roundtrip(void)
{
	struct app *apps[2], *ab_copy, *c_copy;
	struct state_deployment *dep;
	struct state_instance *inst;
	struct stadion_err err = {0};
	struct state_change ch = {0};
	char v1[MODEL_TIMESTAMP_LEN], key[256];
	struct res r = {0};

	if (!CHECK(st.state != NULL))
		return;
	version(1, v1);
	/* Instance ids hold no '/' (they start with the safe app id). */
	inst = make_inst("/a/b", 5);
	free(inst->instance_id);
	inst->instance_id = xstrdup("a/b.instance-1");
	CHECK_INT(state_put_instance(st.state, inst, on_done, &r, &err),
	          STADION_EINVAL);
	state_instance_free(inst);
	CHECK_INT(r.calls, 0);

	apps[0] = make_app("/c", "sleep 2", 2, 1);
	apps[1] = make_app("/a/b", "sleep 1", 1, 1);
	ab_copy = make_app("/a/b", "sleep 1", 1, 1);
	c_copy = make_app("/c", "sleep 2", 2, 1);
	dep = make_dep("d-1", NULL, v1, "/a/b");
	ch.root_version = v1;
	ch.put_apps = apps;
	ch.n_put_apps = 2;
	ch.put_deployments = &dep;
	ch.n_put_deployments = 1;
	CHECK_INT(commit(&ch), 0);
	CHECK_INT(put_inst(make_inst("/a/b", 5)), 0);
	memset(&r, 0, sizeof(r));
	CHECK_INT(state_put_framework_id(st.state, "fw-1234", on_done, &r,
	                                 &err), 0);
	if (wait_for(&r))
		CHECK_INT(r.rc, 0);
	CHECK_INT(state_app_key("/a/b", v1, key, sizeof(key)), 0);
	CHECK_STR(key, "apps/a_b/2026-01-01T00:00:01.000Z");

	check_roundtrip(ab_copy, c_copy);
	if (!reopen(CONF_DEFAULT, 0))
		goto out;
	check_roundtrip(ab_copy, c_copy);

	/* The version read back from storage, and a missing one. */
	memset(&r, 0, sizeof(r));
	CHECK_INT(state_read_app(st.state, "/a/b", v1, on_app, &r, &err), 0);
	if (wait_for(&r) && CHECK_INT(r.rc, 0) && CHECK(r.app != NULL))
		CHECK(app_json_equal(r.app, ab_copy));
	model_app_free(r.app);
	memset(&r, 0, sizeof(r));
	CHECK_INT(state_read_app(st.state, "/a/b", "2020-01-01T00:00:00.000Z",
	                         on_app, &r, &err), 0);
	if (wait_for(&r))
		CHECK_INT(r.rc, STADION_ENOENT);
	CHECK(r.app == NULL);

	/* Deleting the instance and the deployment, and an app. */
	memset(&r, 0, sizeof(r));
	CHECK_INT(state_del_instance(st.state, "a_b.instance-00000005-0000-"
	                             "1000-8000-000000000000", on_done, &r,
	                             &err), 0);
	if (wait_for(&r))
		CHECK_INT(r.rc, 0);
	CHECK_INT(state_snapshot(st.state)->n_instances, 0);
	{
		const char *del_app = "/c", *del_dep = "d-1";
		char v2[MODEL_TIMESTAMP_LEN];
		struct state_change ch2 = {0};

		version(2, v2);
		ch2.root_version = v2;
		ch2.del_apps = &del_app;
		ch2.n_del_apps = 1;
		ch2.del_deployments = &del_dep;
		ch2.n_del_deployments = 1;
		CHECK_INT(commit(&ch2), 0);
	}
	if (!reopen(CONF_DEFAULT, 0))
		goto out;
	CHECK_INT(state_snapshot(st.state)->n_instances, 0);
	CHECK_INT(state_snapshot(st.state)->n_deployments, 0);
	if (CHECK_INT(state_snapshot(st.state)->n_apps, 1))
		CHECK_STR(state_snapshot(st.state)->apps[0]->id, "/a/b");
	{
		const char *const *vs;
		size_t n;

		/* No root references /c any more: its versions are gone. */
		CHECK_INT(state_app_versions(st.state, "/c", &vs, &n),
		          STADION_ENOENT);
	}
out:
	model_app_free(ab_copy);
	model_app_free(c_copy);
}

static void test_failed_commit(void)
{
	const struct state_snapshot *sn;
	char big[8000], v1[MODEL_TIMESTAMP_LEN];
	struct state_instance *inst;
	struct stadion_err err = {0};
	struct res r = {0};

	if (!CHECK(st.state != NULL) || !reopen(CONF_SMALL, 0))
		return;
	version(1, v1);
	CHECK_INT(commit_app(1, make_app("/small", "sleep 1", 1, 1),
	                     make_dep("d-1", NULL, v1, "/small"), NULL), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Over max_value_bytes: the whole batch fails, with its deployment
	 * and the root. */
	CHECK_INT(commit_app(2, make_app("/big", big, 1, 2),
	                     make_dep("d-2", v1, "x", "/big"), "d-1"),
	          STADION_ETOOBIG);
	sn = state_snapshot(st.state);
	CHECK_STR(sn->root_version, v1);
	if (CHECK_INT(sn->n_apps, 1))
		CHECK_STR(sn->apps[0]->id, "/small");
	if (CHECK_INT(sn->n_deployments, 1))
		CHECK_STR(sn->deployments[0]->id, "d-1");
	/* A failed instance write too. */
	inst = make_inst("/i", 1);
	free(inst->sandbox);
	inst->sandbox = xstrdup(big);
	CHECK_INT(put_inst(inst), STADION_ETOOBIG);
	CHECK_INT(sn->n_instances, 0);
	/* A commit queued behind the failing one still runs, against the
	 * unchanged snapshot. */
	{
		struct app *a = make_app("/big", big, 1, 3), *b;
		char v3[MODEL_TIMESTAMP_LEN], v4[MODEL_TIMESTAMP_LEN];
		struct state_change c1 = {0}, c2 = {0};
		struct res r1 = {0}, r2 = {0};

		version(3, v3);
		version(4, v4);
		b = make_app("/second", "sleep 1", 1, 4);
		c1.root_version = v3;
		c1.put_apps = &a;
		c1.n_put_apps = 1;
		c2.root_version = v4;
		c2.put_apps = &b;
		c2.n_put_apps = 1;
		CHECK_INT(state_commit(st.state, &c1, on_done, &r1, &err), 0);
		CHECK_INT(state_commit(st.state, &c2, on_done, &r2, &err), 0);
		CHECK(wait_for(&r2));
		CHECK_INT(r1.calls, 1);
		CHECK_INT(r1.rc, STADION_ETOOBIG);
		CHECK_INT(r2.rc, 0);
		sn = state_snapshot(st.state);
		CHECK_STR(sn->root_version, v4);
		CHECK_INT(sn->n_apps, 2);
		CHECK(state_app(st.state, "/second") != NULL);
		CHECK(state_app(st.state, "/big") == NULL);
	}
	/* Storage agrees. */
	if (!reopen(CONF_SMALL, 0))
		return;
	sn = state_snapshot(st.state);
	CHECK_INT(sn->n_apps, 2);
	CHECK(state_app(st.state, "/big") == NULL);
	CHECK_INT(sn->n_deployments, 1);
	CHECK_INT(sn->n_instances, 0);
	/* Misuse is refused at once and leaves the caller its objects. */
	{
		struct app *a = make_app("/x", "sleep 1", 1, 9);
		struct state_change bad = {.put_apps = &a, .n_put_apps = 1};

		memset(&r, 0, sizeof(r));
		CHECK_INT(state_commit(st.state, &bad, on_done, &r, &err),
		          STADION_EINVAL);
		CHECK_INT(r.calls, 0);
		model_app_free(a);
		memset(&bad, 0, sizeof(bad));
		CHECK_INT(state_commit(st.state, &bad, on_done, &r, &err),
		          STADION_EINVAL);
		CHECK_INT(r.calls, 0);
	}
}

/* A batch that does not start: at once, the caller keeps its objects;
 * queued, the commit completes with the error when its turn comes. */
static void test_start_fails(void)
{
	char v1[MODEL_TIMESTAMP_LEN], v2[MODEL_TIMESTAMP_LEN];
	char v3[MODEL_TIMESTAMP_LEN];
	struct app *a, *b, *c;
	struct state_change c1 = {0}, c2 = {0}, c3 = {0};
	struct stadion_err err = {0};
	struct res r1 = {0}, r2 = {0}, r3 = {0};

	if (!CHECK(st.state != NULL))
		return;
	version(1, v1);
	version(2, v2);
	version(3, v3);
	a = make_app("/s1", "sleep 1", 1, 1);
	c1.root_version = v1;
	c1.put_apps = &a;
	c1.n_put_apps = 1;
	fail_batches = 1;
	CHECK_INT(state_commit(st.state, &c1, on_done, &r1, &err),
	          STADION_EBUSY);
	CHECK_STR(err.msg, "injected: busy");
	CHECK(state_snapshot(st.state)->root_version == NULL);
	/* Still ours: commit it again, now it starts. */
	CHECK_INT(state_commit(st.state, &c1, on_done, &r1, &err), 0);
	b = make_app("/s2", "sleep 1", 1, 2);
	c2.root_version = v2;
	c2.put_apps = &b;
	c2.n_put_apps = 1;
	c = make_app("/s3", "sleep 1", 1, 3);
	c3.root_version = v3;
	c3.put_apps = &c;
	c3.n_put_apps = 1;
	CHECK_INT(state_commit(st.state, &c2, on_done, &r2, &err), 0);
	CHECK_INT(state_commit(st.state, &c3, on_done, &r3, &err), 0);
	fail_batches = 1; /* c2's start, once c1 completed */
	CHECK(wait_for(&r3));
	CHECK_INT(r1.rc, 0);
	CHECK_INT(r2.calls, 1);
	CHECK_INT(r2.rc, STADION_EBUSY);
	CHECK_INT(r3.rc, 0);
	CHECK_STR(state_snapshot(st.state)->root_version, v3);
	CHECK(state_app(st.state, "/s1") != NULL);
	CHECK(state_app(st.state, "/s2") == NULL);
	CHECK(state_app(st.state, "/s3") != NULL);
	if (reopen(CONF_DEFAULT, 0)) {
		CHECK_STR(state_snapshot(st.state)->root_version, v3);
		CHECK_INT(state_snapshot(st.state)->n_apps, 2);
	}
}

/* Instance writes are pipelined and applied in the order started. */
static void test_instances_in_order(void)
{
	struct state_instance *a = make_inst("/o", 1), *b = make_inst("/o", 1);
	struct stadion_err err = {0};
	struct res r1 = {0}, r2 = {0}, r3 = {0};
	char *id;

	if (!CHECK(st.state != NULL)) {
		state_instance_free(a);
		state_instance_free(b);
		return;
	}
	id = xstrdup(a->instance_id);
	free(b->state);
	b->state = xstrdup("Killed");
	CHECK_INT(state_put_instance(st.state, a, on_done, &r1, &err), 0);
	CHECK_INT(state_put_instance(st.state, b, on_done, &r2, &err), 0);
	CHECK_INT(state_snapshot(st.state)->n_instances, 0);
	CHECK(wait_for(&r2));
	CHECK_INT(r1.calls, 1);
	if (CHECK(state_instance(st.state, id) != NULL))
		CHECK_STR(state_instance(st.state, id)->state, "Killed");
	CHECK_INT(state_del_instance(st.state, id, on_done, &r3, &err), 0);
	CHECK(state_instance(st.state, id) != NULL);
	CHECK(wait_for(&r3));
	CHECK(state_instance(st.state, id) == NULL);
	if (reopen(CONF_DEFAULT, 0))
		CHECK_INT(state_snapshot(st.state)->n_instances, 0);
	free(id);
}

/* After a load the instance array is exactly as long as what was loaded:
 * new instances in several writes under way at once each need their own
 * room when they apply (ASan caught one written past the end). */
static void test_instances_pipelined_growth(void)
{
	enum { LOADED = 3, NEW = 8 };
	struct stadion_err err = {0};
	struct res r[NEW] = {{0}};

	for (int i = 0; i < LOADED; i++) {
		struct res one = {0};

		if (!CHECK_INT(state_put_instance(st.state, make_inst("/g", i),
		                                  on_done, &one, &err),
		               0) ||
		    !CHECK(wait_for(&one)))
			return;
	}
	if (!CHECK(reopen(CONF_DEFAULT, 0)) ||
	    !CHECK_INT(state_snapshot(st.state)->n_instances, LOADED))
		return;
	for (int i = 0; i < NEW; i++)
		CHECK_INT(state_put_instance(st.state,
		                             make_inst("/g", LOADED + i),
		                             on_done, &r[i], &err),
		          0);
	for (int i = 0; i < NEW; i++)
		CHECK(wait_for(&r[i]));
	CHECK_INT(state_snapshot(st.state)->n_instances, LOADED + NEW);
}

/* The versions of app ID in the snapshot, as "v1,v2,..." seconds. */
static void versions_text(const char *id, char *buf, size_t len)
{
	const char *const *vs;
	size_t n = 0, off = 0;

	buf[0] = '\0';
	if (state_app_versions(st.state, id, &vs, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%c",
		                        i > 0 ? "," : "", vs[i][18]);
}

static void roots_text(char *buf, size_t len)
{
	const char *const *vs;
	size_t n = 0, off = 0;

	buf[0] = '\0';
	state_root_versions(st.state, &vs, &n);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%c",
		                        i > 0 ? "," : "", vs[i][18]);
}

static void test_prune(void)
{
	char v1[MODEL_TIMESTAMP_LEN], buf[256], cmd[32];

	/* max_versions 3: versions are seconds 1..7, shown as one digit. */
	if (!CHECK(st.state != NULL) || !reopen(CONF_DEFAULT, 3))
		return;
	version(1, v1);
	{
		struct app *apps[2] = {make_app("/p", "sleep 1", 1, 1),
		                       make_app("/q", "sleep 1", 1, 1)};
		struct state_deployment *dep = make_dep("d-1", NULL, v1, "/p");
		struct state_change ch = {.root_version = v1,
		                          .put_apps = apps,
		                          .n_put_apps = 2,
		                          .put_deployments = &dep,
		                          .n_put_deployments = 1};

		CHECK_INT(commit(&ch), 0);
	}
	for (int v = 2; v <= 6; v++) {
		char ts[MODEL_TIMESTAMP_LEN];
		struct app *a;
		const char *del_q = "/q";
		struct state_change ch = {0};

		version(v, ts);
		snprintf(cmd, sizeof(cmd), "sleep %d", v);
		a = make_app("/p", cmd, 1, v);
		ch.root_version = ts;
		ch.put_apps = &a;
		ch.n_put_apps = 1;
		ch.del_apps = &del_q;
		ch.n_del_apps = v == 2 ? 1 : 0;
		CHECK_INT(commit(&ch), 0);
	}
	/* d-1 still references root 1 (/p@1, /q@1). */
	versions_text("/p", buf, sizeof(buf));
	CHECK_STR(buf, "1,4,5,6");
	versions_text("/q", buf, sizeof(buf));
	CHECK_STR(buf, "1");
	roots_text(buf, sizeof(buf));
	CHECK_STR(buf, "1,4,5,6");
	if (!reopen(CONF_DEFAULT, 3))
		return;
	versions_text("/p", buf, sizeof(buf));
	CHECK_STR(buf, "1,4,5,6");
	versions_text("/q", buf, sizeof(buf));
	CHECK_STR(buf, "1");
	roots_text(buf, sizeof(buf));
	CHECK_STR(buf, "1,4,5,6");
	/* The deployment ends: what only it kept goes. */
	{
		const char *del = "d-1";
		struct state_change ch = {.del_deployments = &del,
		                          .n_del_deployments = 1};

		CHECK_INT(commit(&ch), 0);
	}
	versions_text("/p", buf, sizeof(buf));
	CHECK_STR(buf, "4,5,6");
	versions_text("/q", buf, sizeof(buf));
	CHECK_STR(buf, "");
	roots_text(buf, sizeof(buf));
	CHECK_STR(buf, "4,5,6");
	/* A rollback to a kept version adds no app version. */
	{
		char ts[MODEL_TIMESTAMP_LEN];
		struct app *a = make_app("/p", "sleep 4", 1, 4);
		struct state_change ch = {0};

		version(7, ts);
		ch.root_version = ts;
		ch.put_apps = &a;
		ch.n_put_apps = 1;
		CHECK_INT(commit(&ch), 0);
	}
	versions_text("/p", buf, sizeof(buf));
	CHECK_STR(buf, "4,5,6");
	roots_text(buf, sizeof(buf));
	CHECK_STR(buf, "5,6,7");
	if (!reopen(CONF_DEFAULT, 3))
		return;
	versions_text("/p", buf, sizeof(buf));
	CHECK_STR(buf, "4,5,6");
	versions_text("/q", buf, sizeof(buf));
	CHECK_STR(buf, "");
	roots_text(buf, sizeof(buf));
	CHECK_STR(buf, "5,6,7");
	if (CHECK(state_app(st.state, "/p") != NULL))
		CHECK_STR(state_app(st.state, "/p")->cmd, "sleep 4");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_load_many(void)
{
	enum { N_APPS = 1000, N_INSTS = 10000, CHUNK = 1000 };
	struct app **apps = calloc(N_APPS, sizeof(*apps));
	struct state_instance **insts = calloc(CHUNK, sizeof(*insts));
	char ts[MODEL_TIMESTAMP_LEN], id[64];
	struct stadion_err err = {0};
	struct state_change ch = {0};
	double t0;

	if (!CHECK(st.state != NULL) || !CHECK(apps != NULL) ||
	    !CHECK(insts != NULL))
		goto out;
	version(1, ts);
	for (int i = 0; i < N_APPS; i++) {
		snprintf(id, sizeof(id), "/g%d/app-%04d", i % 10, i);
		apps[i] = make_app(id, "sleep 100", 10, 1);
	}
	ch.root_version = ts;
	ch.put_apps = apps;
	ch.n_put_apps = N_APPS;
	CHECK_INT(commit(&ch), 0);
	for (int c = 0; c < N_INSTS / CHUNK; c++) {
		struct res r = {0};

		for (int i = 0; i < CHUNK; i++) {
			int n = c * CHUNK + i;

			snprintf(id, sizeof(id), "/g%d/app-%04d", n % 10,
			         n % N_APPS);
			insts[i] = make_inst(id, n);
		}
		CHECK_INT(state_put_instances(st.state, insts, CHUNK, on_done,
		                              &r, &err), 0);
		if (wait_for(&r))
			CHECK_INT(r.rc, 0);
	}
	t0 = now_s();
	if (!reopen(CONF_DEFAULT, 0))
		goto out;
	fprintf(stderr, "\n  reopen with %d apps and %d instances: %.3f s "
	        "(of which state_load %.3f s)\n",
	        N_APPS, N_INSTS, now_s() - t0, load_seconds);
	CHECK_INT(state_snapshot(st.state)->n_apps, N_APPS);
	CHECK_INT(state_snapshot(st.state)->n_instances, N_INSTS);
	CHECK(state_app(st.state, "/g3/app-0123") != NULL);
out:
	free(apps);
	free(insts);
}

static CU_TestInfo tests[] = {
	{"empty store", test_empty},
	{"round trip of every entity, reopen", test_roundtrip},
	{"failed commit leaves memory unchanged", test_failed_commit},
	{"a batch that does not start", test_start_fails},
	{"instance writes apply in order", test_instances_in_order},
	{"new instances in writes under way at once, after a load",
	 test_instances_pipelined_growth},
	{"pruning keeps newest N and referenced", test_prune},
	{"1000 apps and 10000 instances", test_load_many},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"state", suite_init, suite_clean, setup, teardown, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
