/*
 * bench_store: one storage plugin loaded as stadiond loads it (its .so
 * copied into a directory the loader accepts, a plugin configuration that
 * selects it, a loop and a host), for the storage benchmarks bench_storage
 * and bench_zk, and for tests/storage/test_zk_mirror.  Built into each of
 * them.
 */
#ifndef STADION_BENCH_STORE_H
#define STADION_BENCH_STORE_H

#include <stadion/storage.h>

struct bench_store {
	struct event_base *evb;          /* the loop the plugin runs on */
	struct plugin_host *host;
	struct plugin_conf *pconf;
	struct plugin_set *set;
	/* Borrowed from SET while it lives. */
	const struct stadion_storage_ops *ops;
	void *state;
};

/* Copy SRC (a built storage .so) into DIR, write DIR/plugin_conf.json that
 * selects IMPLEMENTATION with CONF_JSON (the text of a JSON object), and
 * load it.  Returns 0, or -1 with a message on stderr; either way
 * bench_store_close() frees what S holds. */
int bench_store_open(struct bench_store *s, const char *dir, const char *src,
                     const char *implementation, const char *conf_json);
void bench_store_close(struct bench_store *s);

#endif /* STADION_BENCH_STORE_H */
