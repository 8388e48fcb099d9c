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

/* One check under way. */
struct tcp_check {
	struct tcp_probe *pr;
	int fd;                         /* -1 once closed */
	struct stadion_watch *watch;    /* writable: connected or refused */
	struct stadion_timer *timer;    /* the timeout, or an early verdict */
	stadion_probe_done_fn *done;
	void *done_arg;                 /* also what cancel() knows it by */
	uint32_t timeout_ms;
	int early_errno;                /* connect() failed at once (or 0 with
	                                 * early set: connected at once) */
	bool early;
	struct tcp_check *prev, *next;
};

struct tcp_probe {
	const struct stadion_host *host; /* borrowed until destroy() */
	struct tcp_check *checks;
};

static const char *const tcp_protocols[] = {"TCP", "MESOS_TCP", NULL};

/* Unlink C and release what it holds; the caller frees it. */
static void check_release(struct tcp_check *c)
{
	const struct stadion_host *host = c->pr->host;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->pr->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
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

	check_release(c);
	snprintf(cause, sizeof(cause), "%s", strerror(error));
	c->done(c->done_arg,
	        error == 0 ? STADION_PROBE_HEALTHY : STADION_PROBE_UNHEALTHY,
	        error == 0 ? NULL : cause);
	free(c);
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
	check_release(c);
	snprintf(cause, sizeof(cause), "timed out after %u ms", c->timeout_ms);
	c->done(c->done_arg, STADION_PROBE_UNHEALTHY, cause);
	free(c);
}

static int tcp_create(const struct stadion_host *host,
                      const struct stadion_conf *conf, void **state_r,
                      struct stadion_err *err)
{
	struct tcp_probe *pr = calloc(1, sizeof(*pr));

	(void)conf;
	if (pr == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	pr->host = host;
	*state_r = pr;
	return STADION_OK;
}

static void tcp_destroy(void *state)
{
	struct tcp_probe *pr = state;

	while (pr->checks != NULL) {
		struct tcp_check *c = pr->checks;

		check_release(c);
		free(c);
	}
	free(pr);
}

static int tcp_check(void *state, const struct stadion_probe_target *target,
                     stadion_probe_done_fn *done, void *done_arg,
                     struct stadion_err *err)
{
	struct tcp_probe *pr = state;
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
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	c->pr = pr;
	c->done = done;
	c->done_arg = done_arg;
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
	c->next = pr->checks;
	if (pr->checks != NULL)
		pr->checks->prev = c;
	pr->checks = c;
	return STADION_OK;
out_fail:
	if (c->watch != NULL)
		host->fd_unwatch(host->ctx, c->watch);
	if (c->timer != NULL)
		host->timer_stop(host->ctx, c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return stadion_err_set(err, STADION_EIO, "cannot check task %s: %s",
	                       target->task_id, strerror(errno));
}

static void tcp_cancel(void *state, void *done_arg)
{
	struct tcp_probe *pr = state;

	for (struct tcp_check *c = pr->checks; c != NULL; c = c->next) {
		if (c->done_arg != done_arg)
			continue;
		check_release(c);
		free(c);
		return;
	}
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
