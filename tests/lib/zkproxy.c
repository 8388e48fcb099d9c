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

#define GETDATA_OP 4 /* ZooKeeper's opcode (zookeeper/proto.h) */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static bool write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

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

/* FRAME (LEN bytes, after its length) is a getData of the trap's path.
 * p->lock held. */
static bool is_trapped(const struct zk_proxy *p, const unsigned char *frame,
                       size_t len)
{
	size_t tlen = strlen(p->trap);

	/* xid, type, then the path as a length and its bytes. */
	return tlen > 0 && len >= 12 + tlen && be32(frame + 4) == GETDATA_OP &&
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

/* Relay one client on CFD until either side closes or the relay stops;
 * whether it stops. */
static bool relay(struct zk_proxy *p, int cfd)
{
	struct pending pd = {.first = true};
	int sfd = connect_server(p->server_port);
	bool stop = false;

	while (sfd >= 0) {
		struct pollfd fds[3] = {{.fd = p->wake[0], .events = POLLIN},
		                        {.fd = sfd, .events = POLLIN},
		                        {.fd = cfd, .events = POLLIN}};
		unsigned char buf[65536];
		ssize_t n;

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents != 0 && (stop = woken(p)))
			break;
		if (fds[1].revents != 0 &&
		    ((n = read(sfd, buf, sizeof(buf))) <= 0 ||
		     !write_all(cfd, buf, (size_t)n)))
			break;
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
	return stop;
}

static void *proxy_main(void *arg)
{
	struct zk_proxy *p = arg;
	bool stop = false;

	while (!stop) {
		struct pollfd fds[2] = {{.fd = p->wake[0], .events = POLLIN},
		                        {.fd = p->lfd, .events = POLLIN}};
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

void zk_proxy_trap(struct zk_proxy *p, const char *path)
{
	pthread_mutex_lock(&p->lock);
	snprintf(p->trap, sizeof(p->trap), "%s", path);
	pthread_mutex_unlock(&p->lock);
}

bool zk_proxy_wait_held(struct zk_proxy *p, int ms)
{
	struct timespec ts;
	bool held;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->held &&
	       pthread_cond_timedwait(&p->cond, &p->lock, &ts) == 0)
		;
	held = p->held;
	pthread_mutex_unlock(&p->lock);
	return held;
}

void zk_proxy_release(struct zk_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->trap[0] = '\0';
	p->held = false;
	pthread_mutex_unlock(&p->lock);
	poke(p);
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
