/*
 * bench_zk: the ZooKeeper store against a real, local ZooKeeper server
 * (started here, tests/lib/zkserver.h), each figure with a floor measured
 * in the same run on the same server with the bare C client:
 *   sequential puts  each waits for the previous one (a commit of the API
 *                    path): puts/s and p99 latency; floor: synchronous
 *                    zoo_create of new nodes of the same size;
 *   burst            all puts issued at once;
 *   load             list + get of every key, what a newly elected leader
 *                    reads before it serves; floor: synchronous zoo_get of
 *                    the same number of nodes.
 * Usage: bench_zk [N]   (default 2000 entities of 512 bytes)
 * Never part of make check; "make bench-zk" builds and runs it.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <zookeeper/zookeeper.h>

#include <stadion/storage.h>

#include "bench/bench_util.h"
#include "lib/testfs.h"
#include "lib/zkserver.h"
#include "bench/bench_store.h"
#include "log.h"

#ifndef ZK_PLUGIN
#define ZK_PLUGIN "plugins/storage/zookeeper/.libs/storage_zookeeper.so"
#endif

#define VALUE_LEN 512

static size_t completed, failed;
static double *lat;   /* per put, seconds */
static double *start; /* per put, issue time */

static void on_done(void *arg, int rc, const char *errmsg)
{
	size_t i = (size_t)(uintptr_t)arg;

	lat[i] = bench_now_s() - start[i];
	completed++;
	failed += rc != 0;
}

static void on_get(void *arg, int rc, const void *v, size_t len,
                   const char *errmsg)
{
	completed++;
	failed += rc != 0 || len != VALUE_LEN;
}

static void on_list(void *arg, int rc, const char *const *names, size_t n,
                    const char *errmsg)
{
	size_t *count = arg;

	*count = n;
	completed++;
	failed += rc != 0;
}

/* Puts 0..N-1 of "bench/<i>", WINDOW in flight; seconds, or -1. */
static double put_run(struct event_base *evb,
                      const struct stadion_storage_ops *ops, void *state,
                      const char *prefix, size_t n, size_t window)
{
	char value[VALUE_LEN], key[64];
	struct stadion_err err;
	size_t issued = 0;
	double t0 = bench_now_s();

	memset(value, 'p', sizeof(value));
	completed = failed = 0;
	while (completed < n) {
		while (issued < n && issued - completed < window) {
			snprintf(key, sizeof(key), "%s/%06zu", prefix, issued);
			start[issued] = bench_now_s();
			if (ops->put(state, key, value, sizeof(value), on_done,
			             (void *)(uintptr_t)issued, &err) != 0) {
				fprintf(stderr, "put: %s\n", err.msg);
				return -1;
			}
			issued++;
		}
		event_base_loop(evb, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
	}
	return failed != 0 ? -1 : bench_now_s() - t0;
}

/* list(PREFIX), then get every key, all in flight; seconds, or -1. */
static double load_run(struct event_base *evb,
                       const struct stadion_storage_ops *ops, void *state,
                       const char *prefix, size_t n)
{
	struct stadion_err err;
	size_t count = 0;
	char key[64];
	double t0 = bench_now_s();

	completed = failed = 0;
	if (ops->list(state, prefix, on_list, &count, &err) != 0)
		return -1;
	while (completed < 1)
		event_base_loop(evb, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
	if (count != n)
		return -1;
	completed = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s/%06zu", prefix, i);
		if (ops->get(state, key, on_get, NULL, &err) != 0)
			return -1;
	}
	while (completed < n)
		event_base_loop(evb, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
	return failed != 0 ? -1 : bench_now_s() - t0;
}

/* The floor: bare synchronous creates, then gets, of N nodes. */
static int floor_run(const char *hosts, size_t n, double *create_s_r,
                     double *get_s_r)
{
	char value[VALUE_LEN], path[64], buf[VALUE_LEN + 16];
	zhandle_t *zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
	double t0;
	int len, rc = -1;

	if (zh == NULL)
		return -1;
	memset(value, 'r', sizeof(value));
	for (int i = 0; i < 200 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	if (zoo_create(zh, "/floor", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL,
	               0) != ZOK)
		goto out_close;
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/floor/%06zu", i);
		if (zoo_create(zh, path, value, VALUE_LEN, &ZOO_OPEN_ACL_UNSAFE,
		               0, NULL, 0) != ZOK)
			goto out_close;
	}
	*create_s_r = bench_now_s() - t0;
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/floor/%06zu", i);
		len = sizeof(buf);
		if (zoo_get(zh, path, 0, buf, &len, NULL) != ZOK)
			goto out_close;
	}
	*get_s_r = bench_now_s() - t0;
	rc = 0;
out_close:
	zookeeper_close(zh);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	char dir[PATH_MAX], conf[256];
	struct zk_server zk = {0};
	struct bench_store st = {0};
	double fc, fg, seq, burst, load;
	int status = 1;

	if (n == 0)
		n = 2000;
	lat = calloc(n, sizeof(*lat));
	start = calloc(n, sizeof(*start));
	if (lat == NULL || start == NULL || evthread_use_pthreads() != 0 ||
	    !testfs_mkdtemp(dir, sizeof(dir), "bench-zk"))
		return 1;
	log_set_level(LOG_LVL_WARN);
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	if (zk_server_start(&zk) != 0)
		goto out;
	snprintf(conf, sizeof(conf),
	         "{\"hosts\": \"%s\", \"path\": \"/bench\"}", zk.hosts);
	if (bench_store_open(&st, dir, ZK_PLUGIN, "zookeeper", conf) != 0)
		goto out;
	if (floor_run(zk.hosts, n, &fc, &fg) != 0 ||
	    (seq = put_run(st.evb, st.ops, st.state, "seq", n, 1)) < 0)
		goto out;
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("zookeeper store bench: %zu entities of %d bytes, local "
	       "ZooKeeper\n",
	       n, VALUE_LEN);
	printf("  floor, zoo_create (sync, one at a time): %8.0f /s\n",
	       (double)n / fc);
	printf("  put, sequential:                          %8.0f /s  ratio "
	       "%.2f  p50 %.2f ms  p99 %.2f ms\n",
	       (double)n / seq, fc / seq, lat[n / 2] * 1e3,
	       lat[n * 99 / 100] * 1e3);
	if ((burst = put_run(st.evb, st.ops, st.state, "burst", n, n)) < 0)
		goto out;
	printf("  put, burst (all issued at once):          %8.0f /s  ratio "
	       "%.2f\n",
	       (double)n / burst, fc / burst);
	if ((load = load_run(st.evb, st.ops, st.state, "seq", n)) < 0)
		goto out;
	printf("  floor, zoo_get (sync, one at a time):    %8.0f /s\n",
	       (double)n / fg);
	printf("  load (list + get all):                    %8.0f /s  ratio "
	       "%.2f  (%.3f s for %zu entities)\n",
	       (double)n / load, fg / load, load, n);
	status = 0;
out:
	bench_store_close(&st);
	zk_server_free(&zk);
	testfs_rm_tree(dir);
	free(lat);
	free(start);
	if (status != 0)
		fprintf(stderr, "bench_zk failed\n");
	return status;
}
