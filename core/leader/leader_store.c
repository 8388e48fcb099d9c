/*
 * leader_store: the store plugin and its configuration (see
 * leader_store.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "leader/leader_store.h"
#include "leader/zk_url.h"

/* The ZooKeeper plugin's own ceiling for a value (1 MB znodes, less the
 * framing), whatever --zk_max_node_size says. */
#define ZK_MAX_VALUE 1000000

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int configure_zk(const struct flags *f, struct plugin_conf **pc,
                        char *err, size_t len)
{
	static const char kind[] = "storage", name[] = "zookeeper";
	struct zk_url url;
	char path[4096];
	int rc = -1;

	if (zk_url_parse(f->zk, &url, err, len) != 0)
		return -1;
	/* Beside it, <path>/leader holds the election's candidates. */
	snprintf(path, sizeof(path), "%s/state", url.path);
	if (plugin_conf_default(pc, kind, name, "hosts", url.hosts) != 0 ||
	    plugin_conf_default(pc, kind, name, "path", path) != 0 ||
	    (url.digest != NULL &&
	     plugin_conf_default(pc, kind, name, "digest", url.digest) != 0) ||
	    plugin_conf_default_int(pc, kind, name, "session_timeout_ms",
	                            clamp(f->zk_session_timeout, 1000,
	                                  600000)) != 0 ||
	    plugin_conf_default_int(pc, kind, name, "timeout_ms",
	                            clamp(f->zk_timeout, 100, 3600000)) != 0 ||
	    plugin_conf_default_int(pc, kind, name, "max_value_bytes",
	                            clamp(f->zk_max_node_size, 0,
	                                  ZK_MAX_VALUE)) != 0 ||
	    plugin_conf_default_int(pc, kind, name,
	                            "compression_threshold_bytes",
	                            f->zk_compression
	                                    ? clamp(f->zk_compression_threshold,
	                                            0, INT32_MAX)
	                                    : INT32_MAX) != 0) {
		snprintf(err, len, "out of memory configuring the store");
		goto out_clear_url;
	}
	rc = 0;
out_clear_url:
	zk_url_clear(&url);
	return rc;
}

int leader_store_configure(const struct flags *f, struct plugin_conf **pc,
                           const char **store_r, char *err, size_t len)
{
	char dir[4096];

	/* The store lives under --data_dir unless --plugin_conf says
	 * otherwise; LMDB gets its directory also in cluster mode, where it
	 * is loaded but unused, so that it is not refused for lack of it. */
	snprintf(dir, sizeof(dir), "%s/state", f->data_dir);
	if (plugin_conf_default(pc, "storage", "lmdb", "path", dir) != 0) {
		snprintf(err, len, "out of memory configuring the store");
		return -1;
	}
	if (f->zk != NULL) {
		if (configure_zk(f, pc, err, len) != 0)
			return -1;
		*store_r = "zookeeper";
		return 0;
	}
	*store_r = "lmdb";
	return 0;
}
