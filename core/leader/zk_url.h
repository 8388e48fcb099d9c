/*
 * zk_url: Marathon's --zk URL, zk://[user:password@]host:port[,host:port...]/path,
 * taken apart for the ZooKeeper store and the leader election.
 */
#ifndef STADION_ZK_URL_H
#define STADION_ZK_URL_H

#include <stddef.h>

/* The parts of a --zk URL.  All strings are owned by the struct: free them
 * with zk_url_clear(). */
struct zk_url {
	char *hosts;  /* "h1:2181,h2:2181", as the ZooKeeper client wants */
	char *path;   /* "/stadion": absolute, no trailing '/', not "/" */
	char *digest; /* "user:password", or NULL without credentials */
};

/* Parse URL into *URL_R (written only on success).  0, or -1 with a
 * message for the operator in ERR (LEN bytes) that names the URL and says
 * what is wrong with it. */
int zk_url_parse(const char *url, struct zk_url *url_r, char *err, size_t len);

/* Free what URL owns and empty it; safe twice. */
void zk_url_clear(struct zk_url *url);

#endif /* STADION_ZK_URL_H */
