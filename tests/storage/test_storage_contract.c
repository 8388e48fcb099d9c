/*
 * test_storage_contract: what every storage plugin (include/stadion/
 * storage.h) must do, checked through the real loader and a real libevent
 * loop, so that the LMDB and the ZooKeeper plugin answer to the same suite.
 *
 * Environment:
 *   STORAGE_PLUGIN      the plugin's .so (default: the bundled LMDB plugin
 *                       of this build tree)
 *   STORAGE_CONF        its "configuration" object as JSON text; every
 *                       "@DIR@" becomes a fresh, empty temporary directory
 *                       per test (default for LMDB: {"path": "@DIR@/state"})
 *   STORAGE_MAX_VALUE   the largest value the configuration allows, in
 *                       bytes (default 1048576)
 *   STORAGE_SMALL_CONF  a configuration whose store fills up after a few
 *                       MiB, for the "store full" case (default for LMDB:
 *                       map_size_mb 1); without it, for another plugin,
 *                       that case is skipped
 *
 * The suite copies the .so into a private directory with mode 0755 first:
 * the loader refuses group-writable files, which a umask of 002 produces.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include <stadion/storage.h>

#include "lib/cu_run.h"
#include "lib/testfs.h"
#include "lib/tfmt.h"
#include "log.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"

#ifndef LMDB_PLUGIN
#define LMDB_PLUGIN "plugins/storage/lmdb/.libs/storage_lmdb.so"
#endif

#define LMDB_CONF       "{\"path\": \"@DIR@/state\"}"
#define LMDB_SMALL_CONF "{\"path\": \"@DIR@/state\", \"map_size_mb\": 1, " \
                        "\"max_value_bytes\": 262144}"
#define WAIT_SECONDS 60
#define RC_NONE 12345 /* no (single) completion to take an rc from */

/* ------------------------------------------------------------------------
 * The plugin under test, and one store opened through the loader
 * ------------------------------------------------------------------------ */

static const char *conf_tmpl;       /* STORAGE_CONF */
static const char *small_tmpl;      /* STORAGE_SMALL_CONF or NULL */
static size_t max_value;            /* STORAGE_MAX_VALUE */
static char plugin_name[STADION_PLUGIN_NAME_MAX + 1];
static char suite_dir[PATH_MAX];    /* holds our copy of the .so */
static char plugin_path[PATH_MAX];  /* that copy */
static char test_dir[PATH_MAX];     /* this test's @DIR@ */

static struct {
	struct event_base *base;
	struct plugin_host *host;
	struct plugin_conf *pconf;
	struct plugin_set *set;
	const struct stadion_storage_ops *ops;
	void *state; /* NULL when no store is open */
} st;

/* The plugin's name, read from its descriptor, for the --plugin_conf
 * entry. */
static bool read_plugin_name(const char *path)
{
	stadion_plugin_describe_fn *describe;
	const struct stadion_plugin_desc *d;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL), *sym;
	bool ok = false;

	if (h == NULL) {
		fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
		return false;
	}
	if ((sym = dlsym(h, STADION_PLUGIN_ENTRY_NAME)) != NULL) {
		memcpy(&describe, &sym, sizeof(describe));
		d = describe();
		if (d != NULL && d->kind == STADION_PLUGIN_KIND_STORAGE &&
		    d->name != NULL && strlen(d->name) < sizeof(plugin_name)) {
			tfmt(plugin_name, sizeof(plugin_name), "%s", d->name);
			ok = true;
		}
	}
	dlclose(h);
	if (!ok)
		fprintf(stderr, "%s is not a storage plugin\n", path);
	return ok;
}

static bool is_lmdb(void)
{
	return strcmp(plugin_name, "lmdb") == 0;
}

static int suite_init(void)
{
	const char *src = getenv("STORAGE_PLUGIN");
	const char *mv = getenv("STORAGE_MAX_VALUE");
	const char *slash;

	if (src == NULL || src[0] == '\0')
		src = LMDB_PLUGIN;
	conf_tmpl = getenv("STORAGE_CONF");
	small_tmpl = getenv("STORAGE_SMALL_CONF");
	max_value = mv != NULL && mv[0] != '\0' ? strtoul(mv, NULL, 10)
	                                        : 1048576;
	if (!testfs_mkdtemp(suite_dir, sizeof(suite_dir), "storage-so"))
		return 1;
	slash = strrchr(src, '/');
	tfmt(plugin_path, sizeof(plugin_path), "%s/%s", suite_dir,
	     slash != NULL ? slash + 1 : src);
	if (!testfs_copy_file(src, plugin_path)) {
		fprintf(stderr, "cannot copy the plugin %s (STORAGE_PLUGIN)\n",
		        src);
		return 1;
	}
	if (!read_plugin_name(plugin_path))
		return 1;
	if (conf_tmpl == NULL || conf_tmpl[0] == '\0')
		conf_tmpl = is_lmdb() ? LMDB_CONF : "{}";
	if ((small_tmpl == NULL || small_tmpl[0] == '\0'))
		small_tmpl = is_lmdb() ? LMDB_SMALL_CONF : NULL;
	fprintf(stderr, "\nstorage plugin \"%s\" from %s, configuration %s\n",
	        plugin_name, src, conf_tmpl);
	/* post() from the plugin's threads needs a base with locking. */
	if (evthread_use_pthreads() != 0)
		return 1;
	log_set_level(LOG_LVL_WARN);
	return 0;
}

static int suite_clean(void)
{
	testfs_rm_tree(suite_dir);
	return 0;
}

/* TMPL with every "@DIR@" replaced by this test's directory, into BUF. */
static void expand(char *buf, size_t len, const char *tmpl)
{
	size_t n = 0, dlen = strlen(test_dir);

	for (const char *p = tmpl; *p != '\0';) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			if (n + dlen >= len)
				abort();
			memcpy(buf + n, test_dir, dlen);
			n += dlen;
			p += 5;
		} else {
			if (n + 1 >= len)
				abort();
			buf[n++] = *p++;
		}
	}
	buf[n] = '\0';
}

static void close_store(void);

/* Open the plugin with configuration template TMPL on a fresh loop. */
static bool open_store(const char *tmpl)
{
	char conf[4096], file[PATH_MAX + 32], errbuf[512];
	const struct plugin *p;
	FILE *f;

	expand(conf, sizeof(conf), tmpl);
	tfmt(file, sizeof(file), "%s/plugin_conf.json", test_dir);
	if ((f = fopen(file, "w")) == NULL)
		return false;
	fprintf(f, "{\"plugins\": {\"store\": {\"plugin\": \"storage\", "
	           "\"implementation\": \"%s\", \"configuration\": %s}}}\n",
	        plugin_name, conf);
	if (fclose(f) != 0)
		return false;
	if (!CHECK_INT(plugin_conf_load(file, &st.pconf, errbuf,
	                                sizeof(errbuf)), 0)) {
		fprintf(stderr, "plugin_conf: %s\n", errbuf);
		return false;
	}
	st.base = event_base_new();
	st.host = st.base != NULL ? plugin_host_new(st.base) : NULL;
	st.set = st.host != NULL ? plugin_set_new(st.host, st.pconf) : NULL;
	if (!CHECK(st.set != NULL))
		goto fail;
	if (!CHECK_INT(plugin_set_load_file(st.set, plugin_path), 0)) {
		if (st.set->refused != NULL)
			fprintf(stderr, "refused: %s\n",
			        st.set->refused->reason);
		goto fail;
	}
	p = st.set->loaded;
	st.ops = p->ops;
	st.state = p->state;
	return true;

fail:
	close_store();
	return false;
}

/* Destroy the plugin (completions still due are called from here), then the
 * loop: posts the plugin left queued are dropped, never run. */
static void close_store(void)
{
	plugin_set_free(st.set);
	plugin_host_free(st.host);
	plugin_conf_free(st.pconf);
	if (st.base != NULL)
		event_base_free(st.base);
	memset(&st, 0, sizeof(st));
}

static void setup(void)
{
	if (!testfs_mkdtemp(test_dir, sizeof(test_dir), "storage"))
		test_dir[0] = '\0';
	open_store(conf_tmpl);
}

static void teardown(void)
{
	close_store();
	if (test_dir[0] != '\0')
		testfs_rm_tree(test_dir);
}

/* ------------------------------------------------------------------------
 * Completions: record each call, and wait for them on the loop
 * ------------------------------------------------------------------------ */

struct res {
	bool returned;      /* set as soon as the starting call returned */
	int calls;          /* completions seen */
	bool early;         /* a completion ran before the call returned */
	unsigned seq;       /* order among all completions */
	int rc;
	char msg[256];
	unsigned char *value; /* get: owned copy */
	size_t len;
	char **names;       /* list: owned copies */
	size_t count;
};

static unsigned seq_counter;

static void res_clear(struct res *r)
{
	free(r->value);
	for (size_t i = 0; i < r->count; i++)
		free(r->names[i]);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

static void record(struct res *r, int rc, const char *errmsg)
{
	r->calls++;
	if (!r->returned)
		r->early = true;
	r->seq = ++seq_counter;
	r->rc = rc;
	tfmt(r->msg, sizeof(r->msg), "%s", errmsg != NULL ? errmsg : "");
}

static void on_done(void *arg, int rc, const char *errmsg)
{
	record(arg, rc, errmsg);
}

static void on_get(void *arg, int rc, const void *value, size_t len,
                   const char *errmsg)
{
	struct res *r = arg;

	record(r, rc, errmsg);
	free(r->value);
	r->value = NULL;
	r->len = 0;
	if (rc == 0 && (r->value = malloc(len + 1)) != NULL) {
		if (len > 0)
			memcpy(r->value, value, len);
		r->len = len;
	}
}

static void on_list(void *arg, int rc, const char *const *names,
                    size_t count, const char *errmsg)
{
	struct res *r = arg;

	record(r, rc, errmsg);
	if (rc != 0 || r->names != NULL ||
	    (r->names = calloc(count + 1, sizeof(*r->names))) == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		if ((r->names[r->count] = strdup(names[i])) != NULL)
			r->count++;
}

static bool timed_out;

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

/* Run the loop until each of the N results has been called, then a little
 * longer, so that a second call would be seen. */
static bool wait_all(struct res *rs, size_t n)
{
	struct timeval tv = {.tv_sec = WAIT_SECONDS};
	struct event *t = evtimer_new(st.base, on_timeout, NULL);
	size_t i = 0;

	if (!CHECK(t != NULL) || evtimer_add(t, &tv) != 0)
		return false;
	timed_out = false;
	while (!timed_out) {
		while (i < n && rs[i].calls > 0)
			i++;
		if (i == n)
			break;
		event_base_loop(st.base, EVLOOP_ONCE);
	}
	event_free(t);
	for (int spin = 0; spin < 4; spin++)
		event_base_loop(st.base, EVLOOP_NONBLOCK);
	return CHECK(!timed_out);
}

/* Each of the N results was called exactly once, never from inside the call
 * that started it. */
static bool check_once(const struct res *rs, size_t n)
{
	size_t bad_calls = 0, early = 0;

	for (size_t i = 0; i < n; i++) {
		bad_calls += rs[i].calls != 1;
		early += rs[i].early;
	}
	return CHECK_INT(bad_calls, 0) & CHECK_INT(early, 0);
}

/* Wait for R and return its rc (RC_NONE without exactly one completion). */
static int settle(struct res *r)
{
	if (!wait_all(r, 1) || !check_once(r, 1))
		return RC_NONE;
	return r->rc;
}

/* ------------------------------------------------------------------------
 * Starting operations
 * ------------------------------------------------------------------------ */

/* A start that failed counts as a completion that will never come. */
static bool started(struct res *r, int rc, const struct stadion_err *err,
                    const char *what, const char *key)
{
	if (!CHECK_INT(rc, 0)) {
		fprintf(stderr, "%s '%s' did not start: %s\n", what, key,
		        err->msg);
		r->calls = -1;
		r->returned = true;
		return false;
	}
	r->returned = true;
	return true;
}

static bool start_put(struct res *r, const char *key, const void *value,
                      size_t len)
{
	struct stadion_err err = {0};

	return started(r, st.ops->put(st.state, key, value, len, on_done, r,
	                              &err),
	               &err, "put", key);
}

static bool start_get(struct res *r, const char *key)
{
	struct stadion_err err = {0};

	return started(r, st.ops->get(st.state, key, on_get, r, &err), &err,
	               "get", key);
}

static bool start_del(struct res *r, const char *key)
{
	struct stadion_err err = {0};

	return started(r, st.ops->del(st.state, key, on_done, r, &err), &err,
	               "del", key);
}

static bool start_list(struct res *r, const char *key)
{
	struct stadion_err err = {0};

	return started(r, st.ops->list(st.state, key, on_list, r, &err), &err,
	               "list", key);
}

static bool start_batch(struct res *r, const struct stadion_storage_op *ops,
                        size_t count)
{
	struct stadion_err err = {0};

	return started(r, st.ops->batch(st.state, ops, count, on_done, r,
	                                &err),
	               &err, "batch", "");
}

static int put_str(const char *key, const char *value)
{
	struct res r = {0};

	start_put(&r, key, value, strlen(value));
	return settle(&r);
}

static int del_key(const char *key)
{
	struct res r = {0};

	start_del(&r, key);
	return settle(&r);
}

static int batch(const struct stadion_storage_op *ops, size_t count)
{
	struct res r = {0};

	start_batch(&r, ops, count);
	return settle(&r);
}

/* KEY holds exactly VALUE (LEN bytes); or is missing when VALUE is NULL. */
static bool check_value_at(const char *key, const void *value, size_t len,
                           int line)
{
	struct res r = {0};
	bool ok;

	start_get(&r, key);
	if (value == NULL) {
		ok = cu_check_int(settle(&r), STADION_ENOENT, key, __FILE__,
		                  (unsigned)line);
	} else {
		ok = cu_check_int(settle(&r), 0, key, __FILE__,
		                  (unsigned)line) &&
		     cu_check_int((long long)r.len, (long long)len, key,
		                  __FILE__, (unsigned)line) &&
		     CHECK(r.value != NULL && memcmp(r.value, value, len) == 0);
	}
	res_clear(&r);
	return ok;
}
#define CHECK_VALUE(key, value, len) check_value_at(key, value, len, __LINE__)
#define CHECK_STRV(key, s) check_value_at(key, s, strlen(s), __LINE__)
#define CHECK_MISSING(key) check_value_at(key, NULL, 0, __LINE__)

/* list(KEY) succeeds with exactly the N names of EXPECTED, in that order. */
static bool check_list_at(const char *key, const char *const *expected,
                          size_t n, int line)
{
	struct res r = {0};
	bool ok;

	start_list(&r, key);
	ok = cu_check_int(settle(&r), 0, key, __FILE__, (unsigned)line) &&
	     cu_check_int((long long)r.count, (long long)n, key, __FILE__,
	                  (unsigned)line);
	for (size_t i = 0; ok && i < n; i++)
		ok = cu_check_str(r.names[i], expected[i], key, __FILE__,
		                  (unsigned)line);
	res_clear(&r);
	return ok;
}
#define CHECK_LIST(key, ...)                                                \
	do {                                                                \
		static const char *const exp_[] = {__VA_ARGS__};            \
		check_list_at(key, exp_, sizeof(exp_) / sizeof(exp_[0]),    \
		              __LINE__);                                    \
	} while (0)
#define CHECK_LIST_EMPTY(key) check_list_at(key, NULL, 0, __LINE__)

/* ------------------------------------------------------------------------
 * The contract
 * ------------------------------------------------------------------------ */

static void test_round_trip(void)
{
	static const unsigned char bin[] = {'a', 0, 'b', 0, 0, 0xff, 0x80, 0};
	struct res r = {0};

	if (!CHECK(st.state != NULL))
		return;
	start_put(&r, "bin", bin, sizeof(bin));
	CHECK_INT(settle(&r), 0);
	CHECK_VALUE("bin", bin, sizeof(bin));

	/* An empty value is a value: get finds it, with length 0. */
	memset(&r, 0, sizeof(r));
	start_put(&r, "empty", "", 0);
	CHECK_INT(settle(&r), 0);
	CHECK_VALUE("empty", "", 0);

	CHECK_INT(put_str("apps/web/v1", "{\"id\":\"/web\"}"), 0);
	CHECK_STRV("apps/web/v1", "{\"id\":\"/web\"}");
}

static void test_get_missing(void)
{
	struct res r = {0};

	if (!CHECK(st.state != NULL))
		return;
	start_get(&r, "nothing");
	CHECK_INT(settle(&r), STADION_ENOENT);
	CHECK(r.value == NULL);
	res_clear(&r);
	CHECK_MISSING("no/such/path");
	CHECK_INT(put_str("a/b", "x"), 0);
	CHECK_MISSING("a/b/c");
	CHECK_MISSING("a/bc");
}

static void test_overwrite(void)
{
	if (!CHECK(st.state != NULL))
		return;
	CHECK_INT(put_str("k", "first, and longer"), 0);
	CHECK_INT(put_str("k", "second"), 0);
	CHECK_STRV("k", "second");
	CHECK_INT(put_str("k", ""), 0);
	CHECK_STRV("k", "");
}

static void test_del_recursive(void)
{
	static const char *const keys[] = {"a", "a/b", "a/b/c", "a/d",
	                                   "a-x", "ab", "a-x/y", "b/a"};

	if (!CHECK(st.state != NULL))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK_INT(put_str(keys[i], keys[i]), 0);
	CHECK_INT(del_key("a"), 0);
	CHECK_MISSING("a");
	CHECK_MISSING("a/b");
	CHECK_MISSING("a/b/c");
	CHECK_MISSING("a/d");
	/* Siblings that merely share a prefix stay. */
	CHECK_STRV("a-x", "a-x");
	CHECK_STRV("a-x/y", "a-x/y");
	CHECK_STRV("ab", "ab");
	CHECK_STRV("b/a", "b/a");
	CHECK_LIST("", "a-x", "ab", "b");

	/* A subtree only, from the middle. */
	CHECK_INT(del_key("a-x/y"), 0);
	CHECK_STRV("a-x", "a-x");
	CHECK_MISSING("a-x/y");
}

/* A subtree over many LMDB pages, put in one batch and deleted in one del,
 * between neighbours that must stay. */
static void test_del_large(void)
{
	enum { N = 1500 };
	struct stadion_storage_op *ops = calloc(2 * N, sizeof(*ops));
	char (*keys)[32] = calloc(2 * N, sizeof(*keys));

	if (!CHECK(st.state != NULL) || !CHECK(ops != NULL && keys != NULL))
		goto out;
	CHECK_INT(put_str("bia", "before"), 0);
	CHECK_INT(put_str("bigger", "after"), 0);
	for (size_t i = 0; i < N; i++) {
		tfmt(keys[2 * i], sizeof(keys[0]), "big/%04zu", i);
		tfmt(keys[2 * i + 1], sizeof(keys[0]), "big/%04zu/x", i);
		for (size_t j = 2 * i; j < 2 * i + 2; j++)
			ops[j] = (struct stadion_storage_op){
				.type = STADION_STORAGE_PUT, .key = keys[j],
				.value = keys[j], .len = strlen(keys[j])};
	}
	CHECK_INT(batch(ops, 2 * N), 0);
	CHECK_STRV("big/0777/x", "big/0777/x");
	CHECK_LIST("", "bia", "big", "bigger");
	CHECK_INT(del_key("big"), 0);
	CHECK_LIST("", "bia", "bigger");
	CHECK_LIST_EMPTY("big");
	CHECK_MISSING("big/0000");
	CHECK_MISSING("big/1499/x");
	CHECK_STRV("bia", "before");
	CHECK_STRV("bigger", "after");
out:
	free(ops);
	free(keys);
}

static void test_del_missing(void)
{
	if (!CHECK(st.state != NULL))
		return;
	CHECK_INT(del_key("never/was"), 0);
	CHECK_INT(del_key("never"), 0);
	CHECK_INT(put_str("x", "1"), 0);
	CHECK_INT(del_key("x"), 0);
	CHECK_INT(del_key("x"), 0);
	CHECK_MISSING("x");
}

static void test_list_children(void)
{
	static const char *const keys[] = {
		"apps/web/v2", "apps/web/v1", "apps/db/v1", "apps/a-b",
		"apps/a", "apps/a/x/y", "deployments/1", "framework",
		"apps/web", "z/\xc3\xa9", "z/Z", "z/a", "z/~",
	};

	if (!CHECK(st.state != NULL))
		return;
	CHECK_LIST_EMPTY("");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK_INT(put_str(keys[i], "v"), 0);
	CHECK_LIST("", "apps", "deployments", "framework", "z");
	/* Children only, never grandchildren; a child named once even when
	 * it has a value and children of its own. */
	CHECK_LIST("apps", "a", "a-b", "db", "web");
	CHECK_LIST("apps/web", "v1", "v2");
	CHECK_LIST("apps/a", "x");
	CHECK_LIST("apps/a/x", "y");
	/* Byte order: unsigned bytes, so UTF-8 sorts after ASCII. */
	CHECK_LIST("z", "Z", "a", "~", "\xc3\xa9");
	/* A leaf and a missing key have no children. */
	CHECK_LIST_EMPTY("framework");
	CHECK_LIST_EMPTY("apps/web/v1");
	CHECK_LIST_EMPTY("nothing/here");
	CHECK_LIST_EMPTY("app");
}

static void test_batch(void)
{
	const struct stadion_storage_op ok_ops[] = {
		{.type = STADION_STORAGE_PUT, .key = "t/a", .value = "1",
		 .len = 1},
		{.type = STADION_STORAGE_PUT, .key = "t/b", .value = "2",
		 .len = 1},
		{.type = STADION_STORAGE_PUT, .key = "t/b", .value = "3",
		 .len = 1},
		{.type = STADION_STORAGE_PUT, .key = "u/x/y", .value = "",
		 .len = 0},
		{.type = STADION_STORAGE_DEL, .key = "u/x"},
		{.type = STADION_STORAGE_DEL, .key = "old"},
	};

	if (!CHECK(st.state != NULL))
		return;
	CHECK_INT(put_str("old", "o"), 0);
	CHECK_INT(put_str("old/child", "c"), 0);
	/* Applied in order, as one unit. */
	CHECK_INT(batch(ok_ops, sizeof(ok_ops) / sizeof(ok_ops[0])), 0);
	CHECK_STRV("t/a", "1");
	CHECK_STRV("t/b", "3");
	CHECK_MISSING("u/x/y");
	CHECK_MISSING("old");
	CHECK_MISSING("old/child");
	/* An empty batch succeeds. */
	CHECK_INT(batch(NULL, 0), 0);
}

static void test_batch_atomic(void)
{
	size_t big_len = max_value + 1;
	char *big = calloc(1, big_len);
	struct stadion_storage_op ops[] = {
		{.type = STADION_STORAGE_PUT, .key = "keep", .value = "changed",
		 .len = 7},
		{.type = STADION_STORAGE_DEL, .key = "other"},
		{.type = STADION_STORAGE_PUT, .key = "new", .value = "n",
		 .len = 1},
		{.type = STADION_STORAGE_PUT, .key = "big", .value = big,
		 .len = big_len},
		{.type = STADION_STORAGE_PUT, .key = "after", .value = "a",
		 .len = 1},
	};
	struct res r = {0};

	if (!CHECK(st.state != NULL) || !CHECK(big != NULL))
		goto out;
	CHECK_INT(put_str("keep", "original"), 0);
	CHECK_INT(put_str("other", "still here"), 0);
	start_batch(&r, ops, sizeof(ops) / sizeof(ops[0]));
	CHECK_INT(settle(&r), STADION_ETOOBIG);
	CHECK(r.msg[0] != '\0');
	/* Nothing of it happened. */
	CHECK_STRV("keep", "original");
	CHECK_STRV("other", "still here");
	CHECK_MISSING("new");
	CHECK_MISSING("big");
	CHECK_MISSING("after");
out:
	free(big);
}

static void test_too_big(void)
{
	char *v = malloc(max_value + 1);
	struct res r = {0};

	if (!CHECK(st.state != NULL) || !CHECK(v != NULL))
		goto out;
	memset(v, 'v', max_value + 1);
	CHECK_INT(put_str("k", "small"), 0);
	start_put(&r, "k", v, max_value + 1);
	CHECK_INT(settle(&r), STADION_ETOOBIG);
	CHECK(r.msg[0] != '\0');
	CHECK_STRV("k", "small");
	memset(&r, 0, sizeof(r));
	start_put(&r, "fresh", v, max_value + 1);
	CHECK_INT(settle(&r), STADION_ETOOBIG);
	CHECK_MISSING("fresh");
	/* The limit itself is allowed. */
	memset(&r, 0, sizeof(r));
	start_put(&r, "k", v, max_value);
	CHECK_INT(settle(&r), 0);
	CHECK_VALUE("k", v, max_value);
out:
	free(v);
}

/* A flag set right after each call returns must be seen set by its
 * completion: for every operation, in its success and failure paths. */
static void test_never_synchronous(void)
{
	const struct stadion_storage_op op = {
		.type = STADION_STORAGE_PUT, .key = "b", .value = "1",
		.len = 1};
	char *big = calloc(1, max_value + 1);
	struct res r[10] = {{0}};

	if (!CHECK(st.state != NULL) || !CHECK(big != NULL))
		goto out;
	start_put(&r[0], "a", "1", 1);
	start_get(&r[1], "a");
	start_get(&r[2], "missing");
	start_list(&r[3], "");
	start_del(&r[4], "a");
	start_batch(&r[5], &op, 1);
	start_put(&r[6], "c", big, max_value + 1);
	start_batch(&r[7], NULL, 0);
	wait_all(r, 8);
	check_once(r, 8);
	/* Again with nothing in flight: reads may be served at once. */
	start_get(&r[8], "b");
	wait_all(&r[8], 1);
	start_list(&r[9], "");
	wait_all(&r[9], 1);
	check_once(r, 10);
	CHECK_INT(r[8].rc, 0);
	CHECK_INT(r[9].rc, 0);
out:
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		res_clear(&r[i]);
	free(big);
}

/* Reads see every write started before them, and completions come in the
 * order the operations were started, without waiting in between. */
static void test_order(void)
{
	struct res r[8] = {{0}};

	if (!CHECK(st.state != NULL))
		return;
	start_put(&r[0], "k", "v1", 2);
	start_get(&r[1], "k");
	start_put(&r[2], "k/x", "x", 1);
	start_list(&r[3], "k");
	start_del(&r[4], "k");
	start_get(&r[5], "k");
	start_list(&r[6], "");
	start_put(&r[7], "k", "v2", 2);
	if (!wait_all(r, 8) || !check_once(r, 8))
		goto out;
	for (size_t i = 1; i < 8; i++)
		CHECK(r[i].seq > r[i - 1].seq);
	CHECK_INT(r[1].rc, 0);
	CHECK(r[1].len == 2 && memcmp(r[1].value, "v1", 2) == 0);
	CHECK_INT(r[3].count, 1);
	if (r[3].count == 1)
		CHECK_STR(r[3].names[0], "x");
	CHECK_INT(r[5].rc, STADION_ENOENT);
	CHECK_INT(r[6].count, 0);
	CHECK_STRV("k", "v2");
out:
	for (size_t i = 0; i < 8; i++)
		res_clear(&r[i]);
}

#define MANY 1000

static void test_many_puts(void)
{
	struct res *r = calloc(MANY, sizeof(*r));
	char key[32], value[32];
	size_t failed = 0, wrong = 0, order = 0;
	struct res lr = {0};

	if (!CHECK(st.state != NULL) || !CHECK(r != NULL))
		goto out;
	for (size_t i = 0; i < MANY; i++) {
		tfmt(key, sizeof(key), "many/%04zu", i);
		tfmt(value, sizeof(value), "value %zu", i);
		start_put(&r[i], key, value, strlen(value));
	}
	if (!wait_all(r, MANY) || !check_once(r, MANY))
		goto out;
	for (size_t i = 0; i < MANY; i++) {
		failed += r[i].rc != 0;
		order += i > 0 && r[i].seq < r[i - 1].seq;
	}
	CHECK_INT(failed, 0);
	CHECK_INT(order, 0);

	for (size_t i = 0; i < MANY; i++) {
		tfmt(key, sizeof(key), "many/%04zu", i);
		memset(&r[i], 0, sizeof(r[i]));
		start_get(&r[i], key);
	}
	if (!wait_all(r, MANY) || !check_once(r, MANY))
		goto out;
	for (size_t i = 0; i < MANY; i++) {
		tfmt(value, sizeof(value), "value %zu", i);
		wrong += r[i].rc != 0 || r[i].len != strlen(value) ||
		         memcmp(r[i].value, value, r[i].len) != 0;
	}
	CHECK_INT(wrong, 0);

	start_list(&lr, "many");
	if (CHECK_INT(settle(&lr), 0) && CHECK_INT(lr.count, MANY)) {
		wrong = 0;
		for (size_t i = 0; i < MANY; i++) {
			tfmt(key, sizeof(key), "%04zu", i);
			wrong += strcmp(lr.names[i], key) != 0;
		}
		CHECK_INT(wrong, 0);
	}
out:
	res_clear(&lr);
	for (size_t i = 0; r != NULL && i < MANY; i++)
		res_clear(&r[i]);
	free(r);
}

static void test_persistence(void)
{
	static const unsigned char bin[] = {0, 1, 2, 0, 0xfe};
	struct res r = {0};

	if (!CHECK(st.state != NULL))
		return;
	CHECK_INT(put_str("apps/web", "w"), 0);
	CHECK_INT(put_str("apps/db/v1", "d"), 0);
	CHECK_INT(put_str("gone", "g"), 0);
	CHECK_INT(del_key("gone"), 0);
	start_put(&r, "bin", bin, sizeof(bin));
	CHECK_INT(settle(&r), 0);

	close_store();
	if (!CHECK(open_store(conf_tmpl)))
		return;
	CHECK_STRV("apps/web", "w");
	CHECK_STRV("apps/db/v1", "d");
	CHECK_VALUE("bin", bin, sizeof(bin));
	CHECK_MISSING("gone");
	CHECK_LIST("", "apps", "bin");
	CHECK_LIST("apps", "db", "web");
}

/* destroy() with writes still in flight: every completion is still called
 * exactly once, and whatever reported success is there after a restart. */
static void test_destroy_in_flight(void)
{
	struct res r[100] = {{0}};
	size_t ok = 0, lost = 0;
	char key[32];

	if (!CHECK(st.state != NULL))
		return;
	for (size_t i = 0; i < 100; i++) {
		tfmt(key, sizeof(key), "inflight/%03zu", i);
		start_put(&r[i], key, key, strlen(key));
	}
	close_store();
	check_once(r, 100);
	if (!CHECK(open_store(conf_tmpl)))
		return;
	for (size_t i = 0; i < 100; i++) {
		if (r[i].rc != 0)
			continue;
		ok++;
		tfmt(key, sizeof(key), "inflight/%03zu", i);
		lost += !CHECK_STRV(key, key);
	}
	CHECK_INT(lost, 0);
	fprintf(stderr, "(%zu of 100 writes in flight at destroy() "
	                "succeeded) ",
	        ok);
	if (is_lmdb())
		CHECK_INT(ok, 100); /* LMDB finishes them */
}

/* Keys that break the rules are refused by the call itself: negative
 * return, ERR filled, and no completion ever. */
static void test_bad_keys(void)
{
	static const char *const bad[] = {"", "/a", "a/", "a//b", "/"};
	const struct stadion_storage_op ops[] = {
		{.type = STADION_STORAGE_PUT, .key = "fine", .value = "1",
		 .len = 1},
		{.type = STADION_STORAGE_PUT, .key = "bad//key", .value = "1",
		 .len = 1},
	};
	const struct stadion_storage_op unknown = {.type = 99, .key = "k"};
	struct res r = {0};
	size_t n = sizeof(bad) / sizeof(bad[0]);

	if (!CHECK(st.state != NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		struct stadion_err e[4] = {{0}};
		int rc[4];

		rc[0] = st.ops->put(st.state, bad[i], "v", 1, on_done, &r,
		                    &e[0]);
		rc[1] = st.ops->get(st.state, bad[i], on_get, &r, &e[1]);
		rc[2] = st.ops->del(st.state, bad[i], on_done, &r, &e[2]);
		rc[3] = st.ops->list(st.state, bad[i], on_list, &r, &e[3]);
		for (size_t j = 0; j < 4; j++) {
			if (j == 3 && bad[i][0] == '\0')
				continue; /* list("") is the root */
			CHECK(rc[j] < 0);
			CHECK_INT(e[j].code, rc[j]);
			CHECK(e[j].msg[0] != '\0');
		}
	}
	{
		struct stadion_err e = {0};

		CHECK(st.ops->batch(st.state, ops, 2, on_done, &r, &e) < 0);
		CHECK(e.msg[0] != '\0');
		CHECK(st.ops->batch(st.state, &unknown, 1, on_done, &r, &e) <
		      0);
	}
	/* The only completion due is list("")'s: wait for it as long as
	 * for any other (a store over the network takes a round trip). */
	wait_all(&r, 1);
	CHECK_INT(r.calls, 1);
	CHECK_MISSING("fine");
	res_clear(&r);
}

/* A store that runs out of room fails the write with an error, and keeps
 * what it had. */
static void test_store_full(void)
{
	enum { N = 64, SIZE = 64 * 1024 };
	struct res r[N] = {{0}}, one = {0};
	char *v = malloc(SIZE);
	size_t failed = 0, lost = 0;
	char key[32];

	if (small_tmpl == NULL) {
		fprintf(stderr, "(skipped: no STORAGE_SMALL_CONF) ");
		goto out;
	}
	if (!CHECK(v != NULL))
		goto out;
	close_store();
	if (!CHECK(open_store(small_tmpl)))
		goto out;
	CHECK_INT(put_str("keep", "safe"), 0);
	for (size_t i = 0; i < N; i++) {
		memset(v, (int)('a' + i % 26), SIZE);
		tfmt(key, sizeof(key), "fill/%02zu", i);
		start_put(&r[i], key, v, SIZE);
	}
	if (!wait_all(r, N) || !check_once(r, N))
		goto out;
	for (size_t i = 0; i < N; i++) {
		if (r[i].rc != 0) {
			if (failed++ == 0) {
				CHECK(r[i].rc < 0);
				CHECK(r[i].msg[0] != '\0');
				if (is_lmdb()) {
					CHECK_INT(r[i].rc, STADION_EIO);
					CHECK_CONTAINS(r[i].msg,
					               "map_size_mb");
				}
			}
			continue;
		}
		memset(v, (int)('a' + i % 26), SIZE);
		tfmt(key, sizeof(key), "fill/%02zu", i);
		lost += !CHECK_VALUE(key, v, SIZE);
	}
	CHECK(failed > 0);
	CHECK_INT(lost, 0);
	CHECK_STRV("keep", "safe");

	/* Still full, one at a time. */
	memset(v, 'z', SIZE);
	start_put(&one, "one more", v, SIZE);
	CHECK(settle(&one) < 0);
	CHECK_STRV("keep", "safe");

	/* Reopened with the normal configuration, the data is all there and
	 * writes work again. */
	close_store();
	if (!CHECK(open_store(conf_tmpl)))
		goto out;
	CHECK_STRV("keep", "safe");
	memset(&one, 0, sizeof(one));
	start_put(&one, "one more", v, SIZE);
	CHECK_INT(settle(&one), 0);
out:
	for (size_t i = 0; i < N; i++)
		res_clear(&r[i]);
	res_clear(&one);
	free(v);
}

/* ------------------------------------------------------------------------
 * LMDB only: its configuration
 * ------------------------------------------------------------------------ */

static void quiet(int level, const char *line, void *arg)
{
}

/* create() with configuration TMPL fails, and the refusal says NEEDLE. */
static void refused_with(const char *tmpl, const char *needle)
{
	char conf[4096], file[PATH_MAX + 32], errbuf[512];
	struct plugin_conf *pc = NULL;
	struct event_base *base = event_base_new();
	struct plugin_host *host = base != NULL ? plugin_host_new(base) : NULL;
	struct plugin_set *set = NULL;
	FILE *f;

	expand(conf, sizeof(conf), tmpl);
	tfmt(file, sizeof(file), "%s/bad_conf.json", test_dir);
	if (!CHECK(host != NULL) || !CHECK((f = fopen(file, "w")) != NULL))
		goto out;
	fprintf(f, "{\"plugins\": {\"store\": {\"plugin\": \"storage\", "
	           "\"implementation\": \"lmdb\", \"configuration\": %s}}}\n",
	        conf);
	fclose(f);
	if (!CHECK_INT(plugin_conf_load(file, &pc, errbuf, sizeof(errbuf)),
	               0))
		goto out;
	if (!CHECK((set = plugin_set_new(host, pc)) != NULL))
		goto out;
	log_set_sink(quiet, NULL); /* the refusal is expected */
	CHECK_INT(plugin_set_load_file(set, plugin_path), -1);
	log_set_sink(NULL, NULL);
	if (CHECK(set->refused != NULL))
		CHECK_CONTAINS(set->refused->reason, needle);
out:
	plugin_set_free(set);
	plugin_host_free(host);
	plugin_conf_free(pc);
	if (base != NULL)
		event_base_free(base);
}

static void test_lmdb_conf(void)
{
	refused_with("{}", "\"path\"");
	refused_with("{\"path\": 7}", "\"path\" must be a string");
	refused_with("{\"path\": \"@DIR@/x\", \"map_size_mb\": 0}",
	             "\"map_size_mb\" must be an integer");
	refused_with("{\"path\": \"@DIR@/x\", \"map_size_mb\": \"big\"}",
	             "\"map_size_mb\" must be an integer");
	refused_with("{\"path\": \"@DIR@/x\", \"max_value_bytes\": -1}",
	             "\"max_value_bytes\" must be an integer");
	refused_with("{\"path\": \"@DIR@/x\", \"map_size_mb\": 1, "
	             "\"max_value_bytes\": 1048576}",
	             "over half of map_size_mb");
	refused_with("{\"path\": \"@DIR@/no/such/parent\"}",
	             "cannot create the LMDB directory");
}

/* The limits in the configuration are the ones enforced. */
static void test_lmdb_max_value(void)
{
	char *v = calloc(1, 101);
	struct res r = {0};

	if (!CHECK(v != NULL))
		goto out;
	close_store();
	if (!CHECK(open_store("{\"path\": \"@DIR@/small\", "
	                      "\"max_value_bytes\": 100}")))
		goto out;
	start_put(&r, "k", v, 101);
	CHECK_INT(settle(&r), STADION_ETOOBIG);
	CHECK_CONTAINS(r.msg, "max_value_bytes (100)");
	memset(&r, 0, sizeof(r));
	start_put(&r, "k", v, 100);
	CHECK_INT(settle(&r), 0);
out:
	free(v);
}

/* Keys of LMDB's longest size (511 bytes) work like any other; one byte
 * more is refused by the call. */
static void test_lmdb_long_keys(void)
{
	char key[600], name[600], over[600];
	struct stadion_err err = {0};
	struct res r = {0};

	if (!CHECK(st.state != NULL))
		return;
	memset(name, 'x', 509);
	name[509] = '\0';
	tfmt(key, sizeof(key), "p/%s", name);          /* 511 bytes */
	tfmt(over, sizeof(over), "p/%sx", name);       /* 512 bytes */
	CHECK_INT(put_str(key, "long"), 0);
	CHECK_INT(put_str("p/y", "short"), 0);
	CHECK_STRV(key, "long");
	{
		const char *const both[] = {name, "y"};

		check_list_at("p", both, 2, __LINE__);
	}
	CHECK_LIST_EMPTY(key);
	CHECK(st.ops->put(st.state, over, "v", 1, on_done, &r, &err) ==
	      STADION_EINVAL);
	CHECK_CONTAINS(err.msg, "over LMDB's limit");
	CHECK(st.ops->list(st.state, over, on_list, &r, &err) ==
	      STADION_EINVAL);
	CHECK_INT(del_key(key), 0);
	CHECK_MISSING(key);
	CHECK_LIST("p", "y");
	CHECK_INT(r.calls, 0);
}

static CU_TestInfo contract_tests[] = {
	{"put/get round trip: binary, empty", test_round_trip},
	{"get of a missing key: ENOENT", test_get_missing},
	{"overwrite", test_overwrite},
	{"del is recursive, siblings stay", test_del_recursive},
	{"del of a large subtree", test_del_large},
	{"del of a missing key succeeds", test_del_missing},
	{"list: direct children in byte order", test_list_children},
	{"batch: applied in order", test_batch},
	{"batch: all or nothing (ETOOBIG)", test_batch_atomic},
	{"put over the limit: ETOOBIG, nothing changed", test_too_big},
	{"completions never from inside the call", test_never_synchronous},
	{"reads see earlier writes; completions in order", test_order},
	{"1000 puts back to back", test_many_puts},
	{"persistence across destroy and create", test_persistence},
	{"destroy with writes in flight", test_destroy_in_flight},
	{"bad keys refused by the call", test_bad_keys},
	{"store full: an error, earlier data intact", test_store_full},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo lmdb_tests[] = {
	{"configuration errors refuse the plugin", test_lmdb_conf},
	{"max_value_bytes is enforced", test_lmdb_max_value},
	{"keys of the longest size", test_lmdb_long_keys},
	CU_TEST_INFO_NULL,
};

int main(void)
{
	CU_SuiteInfo suites[] = {
		{"storage contract", suite_init, suite_clean, setup, teardown,
		 contract_tests},
		{"storage lmdb", suite_init, suite_clean, setup, teardown,
		 lmdb_tests},
		CU_SUITE_INFO_NULL,
	};
	const char *src = getenv("STORAGE_PLUGIN");

	/* The LMDB suite runs only for the LMDB plugin. */
	if (src != NULL && src[0] != '\0' && strstr(src, "lmdb") == NULL)
		suites[1] = (CU_SuiteInfo)CU_SUITE_INFO_NULL;
	return cu_run(suites);
}
