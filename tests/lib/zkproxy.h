/*
 * zkproxy: a TCP relay between one ZooKeeper client and the test's server
 * (zkserver.h) that can stop the client's requests half-way, so that a
 * test puts another session's write between two requests one client sent
 * together: a race that otherwise happens once in thousands of tries.  It
 * can also cut the client off, for as long as a test wants, to lose the
 * connection while the session lives on (with the requests held), or to
 * let the session expire.
 *
 * The relay reads the client's requests as ZooKeeper frames (a 4-byte
 * length, then the request); the server's answers pass as they come.  It
 * serves one connection at a time, on its own thread, until stopped.
 */
#ifndef STADION_TEST_ZKPROXY_H
#define STADION_TEST_ZKPROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* All fields are the relay's; tests read hosts. */
struct zk_proxy {
	char hosts[32];          /* "127.0.0.1:<port>": give it to the client */
	uint16_t server_port;
	bool running;            /* the thread is */
	int lfd;                 /* listening */
	int wake[2];             /* a pipe: the thread looks at the orders */
	pthread_t thread;
	pthread_mutex_t lock;    /* guards the orders, held, answered */
	pthread_cond_t cond;
	char trap[256];          /* the path of a request to stop at */
	uint32_t trap_op;        /* its opcode */
	bool trap_holds_it;      /* it waits too, or goes first */
	bool held;               /* stopped: the client's requests wait */
	bool cut;                /* connections wait, unanswered */
	unsigned answered;       /* connections the server answered */
	bool stop;
};

/* Relay 127.0.0.1:<a free port> to 127.0.0.1:SERVER_PORT.  0, or -1 with
 * the reason on stderr (nothing left running). */
int zk_proxy_start(struct zk_proxy *p, uint16_t server_port);

/* The client's next getData of PATH goes to the server, and every request
 * after it waits until zk_proxy_release(). */
void zk_proxy_trap(struct zk_proxy *p, const char *path);

/* The client's next sync of PATH waits, with every request after it,
 * until zk_proxy_release() or zk_proxy_cut(), which drops them. */
void zk_proxy_trap_sync(struct zk_proxy *p, const char *path);

/* Wait up to MS for the trap to have caught its request; whether it
 * did. */
bool zk_proxy_wait_held(struct zk_proxy *p, int ms);

/* Send the requests that wait, and relay freely again. */
void zk_proxy_release(struct zk_proxy *p);

/* Close the client's connection, with any requests held, and leave new
 * ones unanswered until zk_proxy_mend(): to the client the server is
 * gone, and the server hears nothing more of the session. */
void zk_proxy_cut(struct zk_proxy *p);

/* Relay the client's connections again, from the oldest that waits. */
void zk_proxy_mend(struct zk_proxy *p);

/* Wait up to MS until the server has answered N of the client's
 * connections since the start (each connection's first answer is to its
 * connect request); whether it has. */
bool zk_proxy_wait_answered(struct zk_proxy *p, unsigned n, int ms);

/* Close the connections and the thread; safe twice, and on a zeroed
 * relay that never started. */
void zk_proxy_stop(struct zk_proxy *p);

#endif /* STADION_TEST_ZKPROXY_H */
