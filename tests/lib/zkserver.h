/*
 * zkserver: a real ZooKeeper server for the tests, Debian's `zookeeper`
 * package run in the foreground: standalone, on a free loopback port, with
 * its data in a fresh temporary directory, admin server off.  One per test
 * program; the tests of cluster mode and the ZooKeeper store need it.
 *
 * The server is a child of the test with PR_SET_PDEATHSIG: a test that
 * crashes takes its server along.  When the package is missing,
 * zk_server_start() fails and says which package to install; callers fail
 * their test (a skipped ZooKeeper test would hide a missing install step).
 *
 * Environment:
 *   ZK_JAR   the server's jar (default /usr/share/java/zookeeper.jar; its
 *            manifest names the jars it needs)
 *   JAVA     the java binary (default /usr/bin/java)
 */
#ifndef STADION_TEST_ZKSERVER_H
#define STADION_TEST_ZKSERVER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* How long the server may take to answer "ruok" after it was started. */
#define ZK_SERVER_START_S 60

/* All fields are the harness's; tests read port and hosts. */
struct zk_server {
	pid_t pid;              /* 0 when not running */
	uint16_t port;          /* its clientPort on 127.0.0.1 */
	char hosts[32];         /* "127.0.0.1:<port>", for --zk and plugins */
	char dir[PATH_MAX];     /* zoo.cfg, data/ and zookeeper.log */
};

/* Start a server on a free port with an empty data directory, and wait
 * until it answers.  0, or -1 (nothing left running) with the reason on
 * stderr. */
int zk_server_start(struct zk_server *z);

/* Kill the server with SIGKILL and wait for it; its data stays, so that
 * zk_server_restart() brings back everything it acknowledged.  0, or -1
 * when it was not running. */
int zk_server_kill(struct zk_server *z);

/* Start the server again, on the same port with the same data, and wait
 * until it answers.  0 or -1, as zk_server_start(). */
int zk_server_restart(struct zk_server *z);

/* Stop the server (if running) and remove its directory; safe twice. */
void zk_server_free(struct zk_server *z);

#endif /* STADION_TEST_ZKSERVER_H */
