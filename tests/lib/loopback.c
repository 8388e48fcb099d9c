#include "config.h"

#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/loopback.h"

static struct sockaddr_in loopback_addr(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(port)};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

int loopback_listen(int backlog, uint16_t *port_r)
{
	struct sockaddr_in sa = loopback_addr(0);
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    listen(fd, backlog) != 0) {
		close(fd);
		return -1;
	}
	*port_r = ntohs(sa.sin_port);
	return fd;
}

int loopback_send_raw(uint16_t port, const char *request)
{
	struct sockaddr_in sa = loopback_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t len = strlen(request);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, request, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

bool loop_run_until(struct event_base *base, bool (*done)(const void *arg),
                    const void *arg, int max_steps)
{
	struct timeval step = {0, LOOP_STEP_MS * 1000};

	for (int i = 0; i < max_steps && !done(arg); i++) {
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
	}
	return done(arg);
}

void loop_run_steps(struct event_base *base, int n)
{
	struct timeval step = {0, LOOP_STEP_MS * 1000};

	for (int i = 0; i < n; i++) {
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
	}
}
