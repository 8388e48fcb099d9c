/*
 * zkproxy: a ZooKeeper relay that can hold a client's requests (see
 * zkproxy.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/loopback.h"
#include "lib/zkproxy.h"

/* ZooKeeper's opcodes (zookeeper/proto.h) */
#define GETDATA_OP 4
#define SYNC_OP 9

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* To socket FD: a connection the client gave up on while it waited, cut
 * off, is relayed at the mend, and must not raise SIGPIPE. */
static bool write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void poke(struct zk_proxy *p)
{
	char c = 0;

	while (write(p->wake[1], &c, 1) < 0 && errno == EINTR)
		;
}

/* The wake pipe spoke: empty it; whether the relay is to stop. */
static bool woken(struct zk_proxy *p)
{
	char buf[64];
	bool stop;

	while (read(p->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static bool is_cut(struct zk_proxy *p)
{
	bool cut;

	pthread_mutex_lock(&p->lock);
	cut = p->cut;
	pthread_mutex_unlock(&p->lock);
	return cut;
}

/* FRAME (LEN bytes, after its length) is the trap's request.  p->lock
 * held. */
static bool is_trapped(const struct zk_proxy *p, const unsigned char *frame,
                       size_t len)
{
	size_t tlen = strlen(p->trap);

	/* xid, type, then the path as a length and its bytes. */
	return tlen > 0 && len >= 12 + tlen && be32(frame + 4) == p->trap_op &&
	       be32(frame + 8) == tlen &&
	       memcmp(frame + 12, p->trap, tlen) == 0;
}

/* The client's bytes waiting to go on. */
struct pending {
	unsigned char *buf;
	size_t len, cap;
	bool first; /* the connect request, which has no request header */
};

/* Send on to SFD the whole frames of PD that may go; false when the
 * server is gone. */
static bool forward(struct zk_proxy *p, struct pending *pd, int sfd)
{
	size_t off = 0;
	bool ok = true;

	pthread_mutex_lock(&p->lock);
	while (!p->held && pd->len - off >= 4) {
		size_t flen = be32(pd->buf + off);

		if (pd->len - off - 4 < flen)
			break;
		if (!pd->first && is_trapped(p, pd->buf + off + 4, flen)) {
			p->trap[0] = '\0';
			p->held = true;
			pthread_cond_broadcast(&p->cond);
			if (p->trap_holds_it)
				break;
		}
		pd->first = false;
		if (!(ok = write_all(sfd, pd->buf + off, 4 + flen)))
			break;
		off += 4 + flen;
	}
	pthread_mutex_unlock(&p->lock);
	if (off > 0) {
		memmove(pd->buf, pd->buf + off, pd->len - off);
		pd->len -= off;
	}
	return ok;
}

/* The frames go on one by one as the trap allows: Nagle's algorithm
 * would hold each behind the last one's delayed acknowledgement. */
static void no_delay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int connect_server(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		no_delay(fd);
	return fd;
}

/* The server answered a connection for the first time. */
static void count_answer(struct zk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->answered++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Relay one client on CFD until either side closes, the client is cut
 * off, or the relay stops; whether it stops. */
static bool relay(struct zk_proxy *p, int cfd)
{
	struct pending pd = {.first = true};
	int sfd = connect_server(p->server_port);
	bool stop = false, answered = false;

	while (sfd >= 0) {
		struct pollfd fds[3] = {{.fd = p->wake[0], .events = POLLIN},
		                        {.fd = sfd, .events = POLLIN},
		                        {.fd = cfd, .events = POLLIN}};
		unsigned char buf[65536];
		ssize_t n;

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents != 0 && ((stop = woken(p)) || is_cut(p)))
			break;
		if (fds[1].revents != 0) {
			if ((n = read(sfd, buf, sizeof(buf))) <= 0 ||
			    !write_all(cfd, buf, (size_t)n))
				break;
			if (!answered)
				count_answer(p);
			answered = true;
		}
		if (fds[2].revents != 0) {
			if ((n = read(cfd, buf, sizeof(buf))) <= 0)
				break;
			if (pd.len + (size_t)n > pd.cap) {
				pd.cap = (pd.len + (size_t)n) * 2;
				if ((pd.buf = realloc(pd.buf, pd.cap)) == NULL)
					abort();
			}
			memcpy(pd.buf + pd.len, buf, (size_t)n);
			pd.len += (size_t)n;
		}
		if (!forward(p, &pd, sfd))
			break;
	}
	free(pd.buf);
	if (sfd >= 0)
		close(sfd);
	/* The requests held went with the connection.  Not earlier, in
	 * zk_proxy_cut(): released before the relay has seen the cut, they
	 * could still reach the server. */
	pthread_mutex_lock(&p->lock);
	p->held = false;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void *proxy_main(void *arg)
{
	struct zk_proxy *p = arg;
	bool stop = false;

	while (!stop) {
		/* Cut off, the client's connections wait in the backlog,
		 * unanswered, as behind a partition: closed at once, they
		 * would fill the client's log with a failure each. */
		struct pollfd fds[2] = {
			{.fd = p->wake[0], .events = POLLIN},
			{.fd = p->lfd, .events = is_cut(p) ? 0 : POLLIN}};
		int cfd;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents != 0 && woken(p))
			break;
		if (fds[1].revents == 0 ||
		    (cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		no_delay(cfd);
		stop = relay(p, cfd);
		close(cfd);
	}
	return NULL;
}

int zk_proxy_start(struct zk_proxy *p, uint16_t server_port)
{
	uint16_t port;

	memset(p, 0, sizeof(*p));
	p->server_port = server_port;
	if ((p->lfd = loopback_listen(8, &port)) < 0) {
		fprintf(stderr, "zkproxy: cannot listen: %s\n",
		        strerror(errno));
		return -1;
	}
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "zkproxy: pipe: %s\n", strerror(errno));
		goto fail_close_listen;
	}
	snprintf(p->hosts, sizeof(p->hosts), "127.0.0.1:%u", (unsigned)port);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
		fprintf(stderr, "zkproxy: cannot start its thread\n");
		goto fail_destroy;
	}
	p->running = true;
	return 0;

fail_destroy:
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	close(p->wake[0]);
	close(p->wake[1]);
fail_close_listen:
	close(p->lfd);
	return -1;
}

static void set_trap(struct zk_proxy *p, const char *path, uint32_t op,
                     bool holds_it)
{
	pthread_mutex_lock(&p->lock);
	snprintf(p->trap, sizeof(p->trap), "%s", path);
	p->trap_op = op;
	p->trap_holds_it = holds_it;
	pthread_mutex_unlock(&p->lock);
}

void zk_proxy_trap(struct zk_proxy *p, const char *path)
{
	set_trap(p, path, GETDATA_OP, false);
}

void zk_proxy_trap_sync(struct zk_proxy *p, const char *path)
{
	set_trap(p, path, SYNC_OP, true);
}

static bool is_held(const struct zk_proxy *p, unsigned n)
{
	(void)n;
	return p->held;
}

static bool has_answered(const struct zk_proxy *p, unsigned n)
{
	return p->answered >= n;
}

/* Wait up to MS until DONE(P, N), which looks at what p->lock guards;
 * whether it holds. */
static bool wait_for(struct zk_proxy *p,
                     bool (*done)(const struct zk_proxy *, unsigned),
                     unsigned n, int ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (!done(p, n) &&
	       pthread_cond_timedwait(&p->cond, &p->lock, &ts) == 0)
		;
	ok = done(p, n);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

bool zk_proxy_wait_held(struct zk_proxy *p, int ms)
{
	return wait_for(p, is_held, 0, ms);
}

void zk_proxy_release(struct zk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->trap[0] = '\0';
	p->held = false;
	pthread_mutex_unlock(&p->lock);
	poke(p);
}

void zk_proxy_cut(struct zk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->cut = true;
	pthread_mutex_unlock(&p->lock);
	poke(p);
}

void zk_proxy_mend(struct zk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->cut = false;
	pthread_mutex_unlock(&p->lock);
	poke(p);
}

bool zk_proxy_wait_answered(struct zk_proxy *p, unsigned n, int ms)
{
	return wait_for(p, has_answered, n, ms);
}

void zk_proxy_stop(struct zk_proxy *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_mutex_unlock(&p->lock);
	poke(p);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	close(p->wake[0]);
	close(p->wake[1]);
	close(p->lfd);
	p->running = false;
}
