#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "bench/bench_server.h"

static void bench_server_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void *bench_server_main(void *arg)
{
	struct bench_server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

int bench_server_start(struct bench_server *s,
                       void (*cb)(struct evhttp_request *req, void *arg),
                       void *arg, bool nodelay)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int one = 1;

	memset(s, 0, sizeof(*s));
	if (pipe(s->stop_pipe) != 0 || (s->base = event_base_new()) == NULL ||
	    (s->http = evhttp_new(s->base)) == NULL ||
	    (bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1",
	                                            0)) == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bound),
	                (struct sockaddr *)&sin, &slen) != 0)
		return -1;
	s->port = ntohs(sin.sin_port);
	if (nodelay)
		setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP,
		           TCP_NODELAY, &one, sizeof(one));
	evhttp_set_gencb(s->http, cb, arg);
	s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ,
	                       bench_server_stop_cb, s->base);
	if (s->stop_ev == NULL || event_add(s->stop_ev, NULL) != 0 ||
	    pthread_create(&s->thread, NULL, bench_server_main, s) != 0)
		return -1;
	return 0;
}

void bench_server_stop(struct bench_server *s)
{
	if (write(s->stop_pipe[1], "x", 1) == 1)
		pthread_join(s->thread, NULL);
	event_free(s->stop_ev);
	evhttp_free(s->http);
	event_base_free(s->base);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
}
