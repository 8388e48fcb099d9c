/*
 * probe "tcp": Marathon's TCP health check (and MESOS_TCP on the local
 * driver): healthy when a connection to the port is accepted within the
 * timeout.  A nonblocking connect watched through the host's fd watch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stadion/probe.h>

#include "../probe_common.h"

/* One check under way. */
struct tcp_check {
	struct probe_common_check base; /* first: see probe_common.h */
	int fd;                         /* -1 once closed */
	struct stadion_watch *watch;    /* writable: connected or refused */
	struct stadion_timer *timer;    /* the timeout, or an early verdict */
	uint32_t timeout_ms;
	int early_errno;                /* connect() failed at once (or 0 with
	                                 * early set: connected at once) */
	bool early;
};

static const char *const tcp_protocols[] = {"TCP", "MESOS_TCP", NULL};

/* Release what C holds (whether or not it is still linked); the caller
 * frees it. */
static void check_release(struct probe_common_check *base)
{
	struct tcp_check *c = (struct tcp_check *)base;
	const struct stadion_host *host = base->pr->host;

	if (c->watch != NULL)
		host->fd_unwatch(host->ctx, c->watch);
	if (c->timer != NULL)
		host->timer_stop(host->ctx, c->timer);
	if (c->fd >= 0)
		close(c->fd);
}

static void check_finish(struct tcp_check *c, int error)
{
	char cause[128];

	check_release(&c->base);
	snprintf(cause, sizeof(cause), "%s", strerror(error));
	probe_common_check_finish(&c->base,
	                          error == 0 ? STADION_PROBE_HEALTHY
	                                     : STADION_PROBE_UNHEALTHY,
	                          error == 0 ? NULL : cause);
}

static void tcp_writable(int fd, unsigned ready, void *arg)
{
	struct tcp_check *c = arg;
	int error = 0;
	socklen_t len = sizeof(error);

	(void)ready;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
		error = errno;
	check_finish(c, error);
}

static void tcp_timer(void *arg)
{
	struct tcp_check *c = arg;
	char cause[64];

	if (c->early) {
		check_finish(c, c->early_errno);
		return;
	}
	check_release(&c->base);
	snprintf(cause, sizeof(cause), "timed out after %u ms", c->timeout_ms);
	probe_common_check_finish(&c->base, STADION_PROBE_UNHEALTHY, cause);
}

static int tcp_create(const struct stadion_host *host,
                      const struct stadion_conf *conf, void **state_r,
                      struct stadion_err *err)
{
	(void)conf;
	/* Sockets are its own: it needs only the timers and fd watches every
	 * host has. */
	return probe_common_create(host, NULL, state_r, err);
}

static void tcp_destroy(void *state)
{
	probe_common_destroy(state, check_release);
}

static int tcp_check(void *state, const struct stadion_probe_target *target,
                     stadion_probe_done_fn *done, void *done_arg,
                     struct stadion_err *err)
{
	struct probe_common *pr = state;
	const struct stadion_host *host = pr->host;
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	struct tcp_check *c;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, target->host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(target->port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, target->host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(target->port);
		len = sizeof(*in6);
	} else {
		return stadion_err_set(err, STADION_EINVAL,
		                       "cannot check task %s at %s: its agent "
		                       "needs a numeric address",
		                       target->task_id, target->host);
	}
	if ((c = probe_common_check_new(pr, sizeof(*c), done, done_arg)) ==
	    NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	c->timeout_ms = target->timeout_ms;
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	               0);
	if (c->fd < 0)
		goto out_fail;
	if (connect(c->fd, (struct sockaddr *)&ss, len) == 0)
		c->early = true;
	else if (errno != EINPROGRESS)
		c->early = true, c->early_errno = errno;
	if (c->early) {
		/* Decided already, but done must not run inside check(). */
		c->timer = host->timer_start(host->ctx, 0, 0, tcp_timer, c);
	} else {
		c->watch = host->fd_watch(host->ctx, c->fd, STADION_FD_WRITE,
		                          tcp_writable, c);
		c->timer = host->timer_start(host->ctx, c->timeout_ms, 0,
		                             tcp_timer, c);
		if (c->watch == NULL)
			goto out_fail;
	}
	if (c->timer == NULL)
		goto out_fail;
	probe_common_check_link(&c->base);
	return STADION_OK;
out_fail:
	check_release(&c->base);
	free(c);
	return stadion_err_set(err, STADION_EIO, "cannot check task %s: %s",
	                       target->task_id, strerror(errno));
}

static void tcp_cancel(void *state, void *done_arg)
{
	probe_common_cancel(state, done_arg, check_release);
}

static const struct stadion_probe_ops tcp_ops = {
	.create = tcp_create,
	.destroy = tcp_destroy,
	.protocols = tcp_protocols,
	.check = tcp_check,
	.cancel = tcp_cancel,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "tcp", "1.0.0",
                      "TCP connect health checks", tcp_ops);
