/* Fixture: probe "conf", which exercises the host table.
 *
 * create() reads its configuration through every typed accessor and logs
 * what each returned in one INFO line; with "fail": true it fails without a
 * message instead.  It then starts a thread whose only act is post().  The
 * posted callback (loop thread) starts a 10 ms repeating timer that stops
 * itself after 3 ticks, a one-shot timer and a one-hour timer (both left for
 * stadiond to sweep), and watches a pipe it writes one byte to.  Every event
 * is logged at INFO.  destroy() joins the thread and logs. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <stadion/probe.h>

struct conf_state {
	const struct stadion_host *host;
	pthread_t thread;
	int post_rc;
	unsigned ticks;
	struct stadion_timer *ticker;
	struct stadion_watch *watch;
	int fds[2];
};

#define LOG(s, ...) \
	(s)->host->log((s)->host->ctx, STADION_LOG_INFO, __VA_ARGS__)

static void on_tick(void *arg)
{
	struct conf_state *s = arg;

	LOG(s, "tick %u", ++s->ticks);
	if (s->ticks == 3) {
		s->host->timer_stop(s->host->ctx, s->ticker);
		s->ticker = NULL;
	}
}

static void on_once(void *arg)
{
	LOG((struct conf_state *)arg, "one-shot fired");
}

static void on_hour(void *arg)
{
	LOG((struct conf_state *)arg, "hour timer fired");
}

static void on_readable(int fd, unsigned events, void *arg)
{
	struct conf_state *s = arg;
	char c = '?';

	if (read(fd, &c, 1) != 1)
		c = '?';
	LOG(s, "fd events 0x%x byte %c", events, c);
	s->host->fd_unwatch(s->host->ctx, s->watch);
	s->watch = NULL;
}

static void on_posted(void *arg)
{
	struct conf_state *s = arg;
	void *ctx = s->host->ctx;

	LOG(s, "posted");
	s->ticker = s->host->timer_start(ctx, 10, 10, on_tick, s);
	s->watch = s->host->fd_watch(ctx, s->fds[0], STADION_FD_READ,
	                             on_readable, s);
	if (s->ticker == NULL || s->watch == NULL ||
	    s->host->timer_start(ctx, 0, 0, on_once, s) == NULL ||
	    s->host->timer_start(ctx, 3600000, 0, on_hour, s) == NULL ||
	    write(s->fds[1], "x", 1) != 1)
		LOG(s, "setting up timers or the watch failed");
}

static void *poster(void *arg)
{
	struct conf_state *s = arg;

	s->post_rc = s->host->post(s->host->ctx, on_posted, s);
	return NULL;
}

static int conf_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	const char *h = "-", *t0 = "-", *t1 = "-", *t2 = "-";
	int64_t port = 7, missing = 7, wrong = 7;
	bool verify = false, fail = false;
	double ratio = -1;
	size_t ntags = 99;
	int rh, rp, rv, rr, rn, r0, r1, r2, rm, rw;
	struct conf_state *s;

	if (host->conf_bool(conf, "fail", &fail) == 0 && fail)
		return STADION_EINVAL; /* no message on purpose */
	rh = host->conf_str(conf, "endpoint.host", &h);
	rp = host->conf_int(conf, "endpoint.port", &port);
	rv = host->conf_bool(conf, "tls.verify", &verify);
	rr = host->conf_double(conf, "ratio", &ratio);
	rn = host->conf_array_len(conf, "tags", &ntags);
	r0 = host->conf_array_str(conf, "tags", 0, &t0);
	r1 = host->conf_array_str(conf, "tags", 1, &t1);
	r2 = host->conf_array_str(conf, "tags", 2, &t2);
	rm = host->conf_int(conf, "endpoint.missing", &missing);
	rw = host->conf_int(conf, "endpoint.host", &wrong);
	host->log(host->ctx, STADION_LOG_INFO,
	          "endpoint.host=%s(%d) endpoint.port=%" PRId64 "(%d) "
	          "tls.verify=%d(%d) ratio=%g(%d) tags=%zu(%d) [%s(%d) %s(%d) "
	          "%s(%d)] endpoint.missing=%" PRId64 "(%d) "
	          "int endpoint.host=%" PRId64 "(%d) host=%u.%u/%u",
	          h, rh, port, rp, verify, rv, ratio, rr, ntags, rn, t0, r0,
	          t1, r1, t2, r2, missing, rm, wrong, rw, host->abi_major,
	          host->abi_minor, host->size);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	s->host = host;
	s->post_rc = 1;
	if (pipe(s->fds) != 0) {
		free(s);
		return stadion_err_set(err, STADION_EIO, "pipe() failed");
	}
	if (pthread_create(&s->thread, NULL, poster, s) != 0) {
		close(s->fds[0]);
		close(s->fds[1]);
		free(s);
		return stadion_err_set(err, STADION_EIO, "no thread");
	}
	*state_r = s;
	return 0;
}

static void conf_destroy(void *state)
{
	struct conf_state *s = state;

	pthread_join(s->thread, NULL);
	if (s->watch != NULL)
		s->host->fd_unwatch(s->host->ctx, s->watch);
	close(s->fds[0]);
	close(s->fds[1]);
	LOG(s, "destroy: post returned %d, %u ticks", s->post_rc, s->ticks);
	free(s);
}

static const char *const conf_protocols[] = {"TCP", "HTTP", NULL};

static int conf_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops conf_ops = {
	.create = conf_create,
	.destroy = conf_destroy,
	.protocols = conf_protocols,
	.check = conf_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "conf", "0.0.1",
                      "fixture: reads its configuration, uses the host table",
                      conf_ops);
