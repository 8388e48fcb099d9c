#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "plugin/plugin_host.h"
#include "plugin/plugin_io.h"
#include "spawnutil.h"

/* A status line longer than this is no HTTP server's. */
#define STATUS_LINE_MAX 8192
#define DEFAULT_TIMEOUT_MS 20000

struct stadion_http_call {
	struct plugin_services *owner;
	struct bufferevent *bev;
	struct event *timer;        /* the timeout, or a deferred failure */
	stadion_http_done_fn *done;
	void *arg;
	uint32_t timeout_ms;
	char error[160];            /* a failure found inside http_get */
	struct stadion_http_call *prev, *next;
};

struct stadion_proc {
	struct plugin_services *owner;
	pid_t pid;
	int pidfd;
	struct event *exit_ev;      /* pidfd readable: it has ended */
	struct event *timer;        /* the timeout; NULL without one */
	stadion_spawn_done_fn *done;
	void *arg;
	uint32_t timeout_ms;
	bool timed_out;
	bool cancelled;             /* reap it, call nobody */
	struct stadion_proc *prev, *next;
};

/* One client context for every HTTPS check: building one costs far more
 * than a check. */
static SSL_CTX *tls_ctx;

static struct event_base *base_of(const struct plugin_services *s)
{
	return plugin_host_base(s->host);
}

static struct timeval ms_tv(uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

/* ---- HTTP GET --------------------------------------------------------- */

static void call_unlink(struct stadion_http_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->owner->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void call_free(struct stadion_http_call *c)
{
	call_unlink(c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

/* Report and free C: done runs last, so that it may start another call. */
static void call_finish(struct stadion_http_call *c, int status,
                        const char *error)
{
	stadion_http_done_fn *done = c->done;
	void *arg = c->arg;
	char why[sizeof(c->error)];

	snprintf(why, sizeof(why), "%s", error != NULL ? error : "");
	call_free(c);
	done(arg, status, status > 0 ? NULL : why);
}

static void call_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stadion_http_call *c = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (c->error[0] != '\0') {
		call_finish(c, 0, c->error);
		return;
	}
	snprintf(why, sizeof(why), "timed out after %u ms", c->timeout_ms);
	call_finish(c, 0, why);
}

/* "HTTP/1.1 204 No Content" -> 204; 0 when it is not a status line. */
static int status_of(const char *line)
{
	int code = 0;

	if (strncmp(line, "HTTP/", 5) != 0 || (line = strchr(line, ' ')) == NULL)
		return 0;
	for (int i = 1; i <= 3; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		code = code * 10 + (line[i] - '0');
	}
	return code >= 100 ? code : 0;
}

static void call_read(struct bufferevent *bev, void *arg)
{
	struct stadion_http_call *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	int status;

	if (line == NULL) {
		if (evbuffer_get_length(in) > STATUS_LINE_MAX)
			call_finish(c, 0, "no HTTP status line in the answer");
		return;
	}
	status = status_of(line);
	free(line);
	call_finish(c, status, status > 0 ? NULL : "the answer is not HTTP");
}

static void call_event(struct bufferevent *bev, short what, void *arg)
{
	struct stadion_http_call *c = arg;
	unsigned long tls_err;
	char why[sizeof(c->error)];
	int e = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((tls_err = bufferevent_get_openssl_error(c->bev)) != 0) {
		char buf[120];

		ERR_error_string_n(tls_err, buf, sizeof(buf));
		snprintf(why, sizeof(why), "TLS: %s", buf);
	} else if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why), "connection closed before an answer");
	} else {
		snprintf(why, sizeof(why), "%s", e != 0 ? strerror(e)
		                                        : "connection failed");
	}
	call_finish(c, 0, why);
}

static int sockaddr_of(const char *address, uint16_t port,
                       struct sockaddr_storage *ss, socklen_t *len_r)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len_r = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len_r = sizeof(*in6);
		return 0;
	}
	return -1;
}

static SSL_CTX *tls_client_ctx(void)
{
	if (tls_ctx == NULL && (tls_ctx = SSL_CTX_new(TLS_client_method())) !=
	                               NULL)
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	return tls_ctx;
}

struct stadion_http_call *plugin_io_http_get(void *ctx,
                                             const struct stadion_http_get *req,
                                             stadion_http_done_fn *done,
                                             void *arg)
{
	struct plugin_services *s = ctx;
	struct event_base *base = base_of(s);
	struct stadion_http_call *c;
	struct sockaddr_storage ss;
	socklen_t sslen;
	SSL *ssl;
	const char *path;
	struct timeval tv;

	if (done == NULL || req == NULL ||
	    !STADION_HAS_MEMBER(struct stadion_http_get, req->size,
	                        timeout_ms) ||
	    req->address == NULL ||
	    sockaddr_of(req->address, req->port, &ss, &sslen) != 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->owner = s;
	c->done = done;
	c->arg = arg;
	c->timeout_ms = req->timeout_ms != 0 ? req->timeout_ms
	                                     : DEFAULT_TIMEOUT_MS;
	path = req->path != NULL && req->path[0] == '/' ? req->path : "/";
	if ((c->timer = evtimer_new(base, call_timer, c)) == NULL)
		goto out_free_call;
	if (req->tls) {
		if (tls_client_ctx() == NULL || (ssl = SSL_new(tls_ctx)) == NULL)
			goto out_free_timer;
		/* The bufferevent owns SSL from here, also on failure. */
		c->bev = bufferevent_openssl_socket_new(
			base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL)
		goto out_free_timer;
	bufferevent_setcb(c->bev, call_read, NULL, call_event, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
	    evbuffer_add_printf(bufferevent_get_output(c->bev),
	                        "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
	                        "User-Agent: stadion-health\r\n"
	                        "Accept: */*\r\nConnection: close\r\n\r\n",
	                        path, ss.ss_family == AF_INET6 ? "[" : "",
	                        req->address,
	                        ss.ss_family == AF_INET6 ? "]" : "",
	                        req->port) < 0)
		goto out_free_bev;
	c->next = s->calls;
	if (s->calls != NULL)
		s->calls->prev = c;
	s->calls = c;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	                               (int)sslen) != 0) {
		/* Reported from the loop, never from inside http_get. */
		snprintf(c->error, sizeof(c->error), "cannot connect: %s",
		         strerror(errno != 0 ? errno : ECONNREFUSED));
		bufferevent_free(c->bev);
		c->bev = NULL;
		tv = ms_tv(0);
	} else {
		tv = ms_tv(c->timeout_ms);
	}
	evtimer_add(c->timer, &tv);
	return c;
out_free_bev:
	bufferevent_free(c->bev);
out_free_timer:
	event_free(c->timer);
out_free_call:
	free(c);
	return NULL;
}

void plugin_io_http_cancel(void *ctx, struct stadion_http_call *call)
{
	(void)ctx;
	if (call != NULL)
		call_free(call);
}

/* ---- spawn ------------------------------------------------------------ */

static void proc_unlink(struct stadion_proc *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->owner->procs = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void proc_free(struct stadion_proc *p)
{
	proc_unlink(p);
	if (p->exit_ev != NULL)
		event_free(p->exit_ev);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}

/* The whole group: a shell's children die with it. */
static void proc_kill(struct stadion_proc *p)
{
	if (killpg(p->pid, SIGKILL) != 0 && errno == ESRCH)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

static void proc_exited(evutil_socket_t fd, short what, void *arg)
{
	struct stadion_proc *p = arg;
	stadion_spawn_done_fn *done = p->done;
	void *done_arg = p->arg;
	siginfo_t si;
	char why[64] = "";
	int code = -1;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) != 0)
		snprintf(why, sizeof(why), "lost: %s", strerror(errno));
	else if (si.si_pid == 0)
		return; /* not yet: a spurious wake-up */
	if (p->cancelled) {
		proc_free(p);
		return;
	}
	if (p->timed_out)
		snprintf(why, sizeof(why), "timed out after %u ms",
		         p->timeout_ms);
	else if (si.si_code == CLD_EXITED)
		code = si.si_status;
	else if (why[0] == '\0')
		snprintf(why, sizeof(why), "killed by signal %d", si.si_status);
	proc_free(p);
	done(done_arg, code, code >= 0 ? NULL : why);
}

static void proc_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stadion_proc *p = arg;

	(void)fd;
	(void)what;
	p->timed_out = true;
	proc_kill(p);
}

static int spawn_child(const struct stadion_spawn *req, pid_t *pid_r)
{
	static char *const no_env[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	/* Its own group, to be killed as a whole at the timeout. */
	if ((rc = spawnutil_attr_init(&attr)) != 0)
		goto out_destroy_fa;
	for (int fd = 0; fd <= 2; fd++)
		if ((rc = posix_spawn_file_actions_addopen(
			     &fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY,
			     0)) != 0)
			goto out_destroy_attr;
	if (req->cwd != NULL &&
	    (rc = posix_spawn_file_actions_addchdir_np(&fa, req->cwd)) != 0)
		goto out_destroy_attr;
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto out_destroy_attr;
#endif
	rc = posix_spawn(pid_r, req->path, &fa, &attr,
	                 (char *const *)req->argv,
	                 req->env != NULL ? (char *const *)req->env : no_env);
out_destroy_attr:
	posix_spawnattr_destroy(&attr);
out_destroy_fa:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

struct stadion_proc *plugin_io_spawn(void *ctx, const struct stadion_spawn *req,
                                     stadion_spawn_done_fn *done, void *arg)
{
	struct plugin_services *s = ctx;
	struct event_base *base = base_of(s);
	struct stadion_proc *p;
	int rc;

	if (done == NULL || req == NULL ||
	    !STADION_HAS_MEMBER(struct stadion_spawn, req->size, timeout_ms) ||
	    req->path == NULL || req->argv == NULL || req->argv[0] == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->owner = s;
	p->done = done;
	p->arg = arg;
	p->pidfd = -1;
	p->timeout_ms = req->timeout_ms;
	if ((rc = spawn_child(req, &p->pid)) != 0) {
		errno = rc;
		free(p);
		return NULL;
	}
	p->next = s->procs;
	if (s->procs != NULL)
		s->procs->prev = p;
	s->procs = p;
	if ((p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0)) < 0 ||
	    (p->exit_ev = event_new(base, p->pidfd, EV_READ | EV_PERSIST,
	                            proc_exited, p)) == NULL ||
	    event_add(p->exit_ev, NULL) != 0)
		goto out_abandon;
	if (req->timeout_ms != 0) {
		struct timeval tv = ms_tv(req->timeout_ms);

		if ((p->timer = evtimer_new(base, proc_timer, p)) == NULL ||
		    evtimer_add(p->timer, &tv) != 0)
			goto out_abandon;
	}
	return p;
out_abandon:
	/* Unwatched, nobody would reap it. */
	killpg(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	proc_free(p);
	return NULL;
}

void plugin_io_spawn_cancel(void *ctx, struct stadion_proc *proc)
{
	(void)ctx;
	if (proc == NULL)
		return;
	proc->cancelled = true;
	proc_kill(proc);
}

void plugin_io_sweep(struct plugin_services *s)
{
	while (s->calls != NULL)
		call_free(s->calls);
	while (s->procs != NULL) {
		struct stadion_proc *p = s->procs;

		proc_kill(p);
		waitpid(p->pid, NULL, 0);
		proc_free(p);
	}
}

void plugin_io_cleanup(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}
