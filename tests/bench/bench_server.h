/*
 * bench_server: an evhttp server on 127.0.0.1 with its own event loop on
 * its own thread, for the benchmarks that need something to answer HTTP
 * beside stadiond: bench_api's bare server (the floor for stadiond's GETs)
 * and bench_health's check target.  Built into each benchmark that uses
 * it; libtesting stays free of libevent.
 */
#ifndef STADION_BENCH_SERVER_H
#define STADION_BENCH_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/http.h>

/* Owned by the caller's storage; filled by bench_server_start(), freed
 * inside by bench_server_stop(). */
struct bench_server {
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_ev;
	int stop_pipe[2];   /* a byte on [1] ends the loop */
	uint16_t port;      /* the bound port, chosen by the kernel */
	pthread_t thread;
};

/* Listen on 127.0.0.1 (a free port, in S->port), answer every request with
 * CB(req, ARG) on the server's thread, and start that thread.  NODELAY sets
 * TCP_NODELAY on the listener (accepted sockets inherit it), as stadiond's
 * listener has it.  Returns 0, or -1 (then S is not running; what was made
 * is leaked: a benchmark gives up). */
int bench_server_start(struct bench_server *s,
                       void (*cb)(struct evhttp_request *req, void *arg),
                       void *arg, bool nodelay);
/* Stop the thread, then free what bench_server_start() made. */
void bench_server_stop(struct bench_server *s);

#endif /* STADION_BENCH_SERVER_H */
