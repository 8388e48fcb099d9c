/*
 * leader_store: which storage plugin holds the state, and its
 * configuration from the flags: LMDB under --data_dir standalone, the
 * ZooKeeper plugin under "<--zk path>/state" in cluster mode.
 */
#ifndef STADION_LEADER_STORE_H
#define STADION_LEADER_STORE_H

#include <stddef.h>

#include "flags.h"
#include "plugin/plugin_conf.h"

/* Give the store plugin its configuration from F (the operator's
 * --plugin_conf entries win, key by key) in *PC, which may be NULL and is
 * created then (owned by the caller, as before).  *STORE_R is the store
 * plugin's name, a static string.  0, or -1 with a message for the
 * operator in ERR (LEN bytes): a malformed --zk, or out of memory. */
int leader_store_configure(const struct flags *f, struct plugin_conf **pc,
                           const char **store_r, char *err, size_t len);

#endif /* STADION_LEADER_STORE_H */
