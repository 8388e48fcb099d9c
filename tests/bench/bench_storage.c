/*
 * bench_storage: durable puts per second through a storage plugin (default:
 * the bundled LMDB plugin; STORAGE_PLUGIN / STORAGE_CONF as for
 * tests/storage/test_storage_contract, plus STORAGE_NAME, the plugin's
 * name, when it is not "lmdb"), against a floor measured in the same
 * run on the same file system: raw LMDB, one synced write transaction per
 * put.  Two figures for the plugin:
 *   sequential  each put waits for the previous one's completion, so each is
 *               one commit: the ratio shows the plugin's overhead (thread
 *               hand-off, post(), loop);
 *   burst       all puts issued at once: the writer groups them into few
 *               commits, so the ratio shows what group commit buys.
 * Usage: bench_storage [N]   (default 500 puts of 256 bytes per figure)
 * Never part of make check; "make bench-storage" builds and runs it.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <lmdb.h>

#include <stadion/storage.h>

#include "bench/bench_util.h"
#include "bench/bench_store.h"
#include "log.h"

#ifndef LMDB_PLUGIN
#define LMDB_PLUGIN "plugins/storage/lmdb/.libs/storage_lmdb.so"
#endif

#define VALUE_LEN 256
#define ROUNDS 10

/* The floor's store: a plain LMDB environment in DIR. */
static MDB_env *raw_open(const char *dir, MDB_dbi *dbi_r)
{
	MDB_env *env = NULL;
	MDB_txn *txn;

	if (mkdir(dir, 0700) != 0 || mdb_env_create(&env) != 0)
		return NULL;
	if (mdb_env_set_mapsize(env, (size_t)1 << 30) != 0 ||
	    mdb_env_open(env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0)
		goto fail_close;
	if (mdb_dbi_open(txn, NULL, 0, dbi_r) != 0 ||
	    mdb_txn_commit(txn) != 0)
		goto fail_close;
	return env;

fail_close:
	mdb_env_close(env);
	return NULL;
}

/* Floor: puts BASE..BASE+N-1, one synced write transaction each; the
 * seconds taken, or -1. */
static double raw_run(MDB_env *env, MDB_dbi dbi, size_t base, size_t n)
{
	char value[VALUE_LEN], key[32];
	double t0 = bench_now_s();
	MDB_txn *txn;

	memset(value, 'r', sizeof(value));
	for (size_t i = base; i < base + n; i++) {
		MDB_val k = {.mv_data = key}, v = {.mv_size = sizeof(value),
		                                    .mv_data = value};

		k.mv_size = (size_t)snprintf(key, sizeof(key), "raw/%06zu", i);
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			return -1;
		if (mdb_put(txn, dbi, &k, &v, 0) != 0) {
			mdb_txn_abort(txn);
			return -1;
		}
		if (mdb_txn_commit(txn) != 0)
			return -1;
	}
	return bench_now_s() - t0;
}

static size_t completed, failed;

static void on_done(void *arg, int rc, const char *errmsg)
{
	completed++;
	failed += rc != 0;
}

/* Issue puts BASE..BASE+N-1, WINDOW at a time, and wait for them all; the
 * seconds taken, or -1. */
static double plugin_run(struct event_base *evb,
                          const struct stadion_storage_ops *ops, void *state,
                          size_t base, size_t n, size_t window)
{
	char value[VALUE_LEN], key[32];
	struct stadion_err err;
	size_t issued = 0;
	double t0 = bench_now_s();

	memset(value, 'p', sizeof(value));
	completed = failed = 0;
	while (completed < n) {
		while (issued < n && issued - completed < window) {
			snprintf(key, sizeof(key), "bench/%06zu",
			         base + issued);
			if (ops->put(state, key, value, sizeof(value), on_done,
			             NULL, &err) != 0) {
				fprintf(stderr, "put: %s\n", err.msg);
				return -1;
			}
			issued++;
		}
		event_base_loop(evb, EVLOOP_ONCE);
	}
	if (failed != 0) {
		fprintf(stderr, "%zu puts failed\n", failed);
		return -1;
	}
	return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
	const char *src = getenv("STORAGE_PLUGIN");
	const char *tmpl = getenv("STORAGE_CONF");
	const char *t = getenv("TMPDIR"), *name = getenv("STORAGE_NAME");
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500;
	char dir[PATH_MAX], sub[PATH_MAX + 32];
	char conf[PATH_MAX + 256];
	struct bench_store st = {0};
	double floor_s = 0, seq_s = 0, burst_s, floor_rate, seq, burst, dt;
	MDB_env *raw = NULL;
	MDB_dbi dbi;
	int status = 1;

	if (n == 0)
		n = 500;
	if (name == NULL || name[0] == '\0')
		name = "lmdb";
	if (src == NULL || src[0] == '\0')
		src = LMDB_PLUGIN;
	snprintf(dir, sizeof(dir), "%s/stadion-bench-storage-XXXXXX",
	         t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL || evthread_use_pthreads() != 0)
		return 1;
	log_set_level(LOG_LVL_WARN);

	snprintf(sub, sizeof(sub), "%s/raw", dir);
	if ((raw = raw_open(sub, &dbi)) == NULL) {
		fprintf(stderr, "raw LMDB floor failed\n");
		goto out;
	}

	if (tmpl != NULL && tmpl[0] != '\0') {
		/* Only @DIR@ at most once is supported here. */
		const char *at = strstr(tmpl, "@DIR@");

		if (at != NULL)
			snprintf(conf, sizeof(conf), "%.*s%s%s",
			         (int)(at - tmpl), tmpl, dir, at + 5);
		else
			snprintf(conf, sizeof(conf), "%s", tmpl);
	} else {
		snprintf(conf, sizeof(conf), "{\"path\": \"%s/plugin\"}", dir);
	}
	if (bench_store_open(&st, dir, src, name, conf) != 0)
		goto out;

	/* fsync times drift with whatever else the disk does: alternate the
	 * floor and the sequential puts in rounds, so both see the same. */
	for (size_t r = 0; r < ROUNDS; r++) {
		size_t chunk = n / ROUNDS + (r < n % ROUNDS);

		if ((dt = raw_run(raw, dbi, r * n, chunk)) < 0)
			goto out;
		floor_s += dt;
		if ((dt = plugin_run(st.evb, st.ops, st.state, r * n, chunk,
		                     1)) < 0)
			goto out;
		seq_s += dt;
	}
	burst_s = plugin_run(st.evb, st.ops, st.state, ROUNDS * n, n, n);
	if (burst_s <= 0)
		goto out;
	floor_rate = (double)n / floor_s;
	seq = (double)n / seq_s;
	burst = (double)n / burst_s;
	printf("storage bench: %zu durable puts of %d bytes each\n", n,
	       VALUE_LEN);
	printf("  floor, raw LMDB (one synced txn per put): %10.0f puts/s\n",
	       floor_rate);
	printf("  plugin, sequential (wait for each):        %10.0f puts/s  "
	       "ratio %.2f\n",
	       seq, seq / floor_rate);
	printf("  plugin, burst (all issued at once):        %10.0f puts/s  "
	       "ratio %.2f\n",
	       burst, burst / floor_rate);
	status = 0;
out:
	bench_store_close(&st);
	if (raw != NULL)
		mdb_env_close(raw);
	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	if (system(sub) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return status;
}
