#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lib/harness.h"
#include "lib/testnet.h"

extern char **environ;

#define TIMEOUT_MS (HARNESS_TIMEOUT_S * 1000)
/* Response bytes read at most: far above anything a test expects. */
#define MAX_RESPONSE (64u << 20)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- HTTP client ------------------------------------------------------ */

/* A growable byte buffer, always NUL-terminated when data != NULL. */
struct buf {
	char *data;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 1024;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((grown = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = grown;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[1024], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

/* Whether HEADERS (NULL-terminated "Name: value") has header NAME. */
static bool has_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		if (strncasecmp(headers[i], name, len) == 0 &&
		    headers[i][len] == ':')
			return true;
	return false;
}

/* Wait until FD is ready for EVENTS or DEADLINE (now_ms()) passes.
 * Returns 0 when ready, -1 with errno set (ETIMEDOUT at the deadline). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connect to HOST:PORT before DEADLINE; a non-blocking socket or -1. */
static int connect_to(const char *host, uint16_t port, int64_t deadline,
                      bool quiet)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	char service[8];
	int fd = -1, rc, err = 0;

	snprintf(service, sizeof(service), "%u", (unsigned)port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		fprintf(stderr, "http_call: cannot resolve %s: %s\n", host,
		        gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family,
		            ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			break;
		if (err == EINPROGRESS)
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && !quiet)
		fprintf(stderr, "http_call: cannot connect to %s port %u: %s\n",
		        host, (unsigned)port, strerror(err));
	return fd;
}

/* Send all LEN bytes of P before DEADLINE. */
static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

void http_resp_free(struct http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->reason);
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

static char *strndup_trim(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return strndup(s, len);
}

/* Parse the status line and headers in HEAD (LEN bytes, lines ending in
 * CRLF, without the empty line) into RESP. */
static int parse_head(const char *head, size_t len, struct http_resp *resp)
{
	const char *end = head + len, *eol, *p;
	char *num_end;
	long status;

	eol = memmem(head, len, "\r\n", 2);
	if (eol == NULL)
		eol = end;
	if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
		return -1;
	status = strtol(head + 9, &num_end, 10);
	if (num_end != head + 12 || status < 100 || status > 999)
		return -1;
	resp->status = (int)status;
	p = num_end < eol && *num_end == ' ' ? num_end + 1 : num_end;
	if ((resp->reason = strndup_trim(p, (size_t)(eol - p))) == NULL)
		return -1;
	for (p = eol + 2; p < end; p = eol + 2) {
		const char *colon;
		struct http_header *grown;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return -1;
		grown = realloc(resp->headers,
		                (resp->n_headers + 1) * sizeof(*grown));
		if (grown == NULL)
			return -1;
		resp->headers = grown;
		grown[resp->n_headers].name = strndup(p, (size_t)(colon - p));
		grown[resp->n_headers].value =
			strndup_trim(colon + 1, (size_t)(eol - colon - 1));
		resp->n_headers++;
		if (grown[resp->n_headers - 1].name == NULL ||
		    grown[resp->n_headers - 1].value == NULL)
			return -1;
		if (eol == end)
			break;
	}
	return 0;
}

/* Decode the chunked body in P (LEN bytes) into OUT.  Returns 1 when it is
 * complete (trailers included), 0 when more is needed, -1 when malformed. */
static int dechunk(const char *p, size_t len, struct buf *out)
{
	const char *end = p + len;

	out->len = 0;
	for (;;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		unsigned long long size;
		char *num_end;

		if (eol == NULL)
			return 0;
		if (!isxdigit((unsigned char)*p))
			return -1;
		errno = 0;
		size = strtoull(p, &num_end, 16);
		if (errno != 0 || (num_end != eol && *num_end != ';' &&
		                   *num_end != ' ' && *num_end != '\t'))
			return -1;
		p = eol + 2;
		if (size == 0)
			break;
		if (size > MAX_RESPONSE)
			return -1;
		if ((size_t)(end - p) < size + 2)
			return 0;
		if (memcmp(p + size, "\r\n", 2) != 0 ||
		    buf_add(out, p, (size_t)size) != 0)
			return -1;
		p += size + 2;
	}
	/* Trailers, up to an empty line. */
	for (;;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (eol == NULL)
			return 0;
		if (eol == p)
			return 1;
		p = eol + 2;
	}
}

/* How far a response in IN is. */
enum parse_state { PARSE_MORE, PARSE_DONE, PARSE_ERROR };

/* Try to parse the response in IN (AT_EOF: the server has closed).  On
 * PARSE_DONE RESP is complete; on PARSE_ERROR WHY says what is wrong. */
static enum parse_state parse_response(const struct buf *in, bool at_eof,
                                       bool head_request,
                                       struct http_resp *resp,
                                       const char **why)
{
	const char *start = in->data, *end = in->data + in->len;
	const char *head_end, *te, *cl, *body;
	size_t body_avail;

	*why = "malformed response";
	for (;;) {
		head_end = start == end ? NULL
		                        : memmem(start, (size_t)(end - start),
		                                 "\r\n\r\n", 4);
		if (head_end == NULL) {
			*why = "connection closed before the end of the "
			       "response head";
			return at_eof ? PARSE_ERROR : PARSE_MORE;
		}
		http_resp_free(resp);
		if (parse_head(start, (size_t)(head_end - start), resp) != 0)
			return PARSE_ERROR;
		start = head_end + 4;
		/* 100 Continue and other interim answers: the real one
		 * follows. */
		if (resp->status >= 200 || resp->status == 101)
			break;
	}
	body = start;
	body_avail = (size_t)(end - body);
	te = http_resp_header(resp, "Transfer-Encoding");
	cl = http_resp_header(resp, "Content-Length");
	if (head_request || resp->status == 204 || resp->status == 304 ||
	    resp->status < 200) {
		body_avail = 0;
	} else if (te != NULL && strcasecmp(te, "identity") != 0) {
		struct buf out = {0};
		int rc;

		if (strcasecmp(te, "chunked") != 0) {
			*why = "unsupported Transfer-Encoding";
			return PARSE_ERROR;
		}
		rc = dechunk(body, body_avail, &out);
		if (rc <= 0) {
			free(out.data);
			*why = rc < 0 ? "malformed chunked body"
			              : "connection closed inside a chunked body";
			return rc < 0 || at_eof ? PARSE_ERROR : PARSE_MORE;
		}
		if (out.data == NULL && buf_add(&out, "", 0) != 0)
			return PARSE_ERROR;
		resp->body = out.data;
		resp->body_len = out.len;
		return PARSE_DONE;
	} else if (cl != NULL) {
		char *num_end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &num_end, 10);
		if (errno != 0 || num_end == cl || *num_end != '\0' ||
		    !isdigit((unsigned char)cl[0])) {
			*why = "bad Content-Length";
			return PARSE_ERROR;
		}
		if (body_avail < n) {
			*why = "connection closed before the end of the body";
			return at_eof ? PARSE_ERROR : PARSE_MORE;
		}
		body_avail = (size_t)n;
	} else if (!at_eof) {
		return PARSE_MORE; /* the body ends with the connection */
	}
	if ((resp->body = malloc(body_avail + 1)) == NULL)
		return PARSE_ERROR;
	memcpy(resp->body, body, body_avail);
	resp->body[body_avail] = '\0';
	resp->body_len = body_avail;
	return PARSE_DONE;
}

/* http_call(), silent about connection failures when QUIET (the daemon's
 * start-up polls until it listens). */
static int http_call_(const char *host, uint16_t port, const char *method,
                      const char *path, const char *const *headers,
                      const char *body, size_t body_len,
                      struct http_resp *resp_r, bool quiet)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	struct buf req = {0}, in = {0};
	const char *why = NULL;
	enum parse_state state = PARSE_MORE;
	bool at_eof = false, sent;
	int fd, rc = -1;

	memset(resp_r, 0, sizeof(*resp_r));
	if ((fd = connect_to(host, port, deadline, quiet)) < 0)
		return -1;
	if (buf_printf(&req, "%s %s HTTP/1.1\r\n", method, path) != 0)
		goto out;
	if (!has_header(headers, "Host") &&
	    buf_printf(&req, strchr(host, ':') != NULL ? "Host: [%s]:%u\r\n"
	                                              : "Host: %s:%u\r\n",
	               host, (unsigned)port) != 0)
		goto out;
	if (!has_header(headers, "Content-Length") &&
	    !has_header(headers, "Transfer-Encoding") &&
	    buf_printf(&req, "Content-Length: %zu\r\n", body_len) != 0)
		goto out;
	if (!has_header(headers, "Connection") &&
	    buf_printf(&req, "Connection: close\r\n") != 0)
		goto out;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		if (buf_printf(&req, "%s\r\n", headers[i]) != 0)
			goto out;
	if (buf_printf(&req, "\r\n") != 0)
		goto out;
	/* Ask first, as curl does: send the body once the server says
	 * 100 Continue, or after a second without an answer; not at all when
	 * it answers for good first (a 413, a 417). */
	if (body_len > 0 && has_header(headers, "Expect")) {
		int64_t wait_until = now_ms() + 1000;
		ssize_t n;

		if (send_all(fd, req.data, req.len, deadline) != 0) {
			why = strerror(errno);
			goto out;
		}
		req.len = 0;
		if (wait_fd(fd, POLLIN,
		            wait_until < deadline ? wait_until : deadline) == 0) {
			char chunk[4096];

			while ((n = recv(fd, chunk, sizeof(chunk), 0)) < 0 &&
			       errno == EINTR)
				;
			if (n <= 0)
				at_eof = true;
			else if (buf_add(&in, chunk, (size_t)n) != 0)
				goto out;
			/* A final answer: the server wants no body. */
			if (n <= 0 || in.len < 10 || in.data[9] != '1')
				body_len = 0;
		}
	}
	if (body_len > 0 && buf_add(&req, body, body_len) != 0)
		goto out;
	/* A server may answer (413) and close before reading the whole
	 * body: then its answer is still there to read. */
	sent = send_all(fd, req.data, req.len, deadline) == 0;
	if (!sent && errno == ETIMEDOUT) {
		why = "timed out sending the request";
		goto out;
	}
	if (in.len > 0)
		state = parse_response(&in, at_eof,
		                       strcasecmp(method, "HEAD") == 0, resp_r,
		                       &why);
	while (state == PARSE_MORE) {
		char chunk[16384];
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) != 0) {
			why = errno == ETIMEDOUT ? "timed out waiting for the "
			                           "response"
			                         : "poll failed";
			goto out;
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			why = strerror(errno);
			goto out;
		}
		if (n <= 0)
			at_eof = true; /* closed, or reset after the answer */
		else if (in.len + (size_t)n > MAX_RESPONSE) {
			why = "response too large";
			goto out;
		} else if (buf_add(&in, chunk, (size_t)n) != 0) {
			why = "out of memory";
			goto out;
		}
		if (in.data == NULL && !at_eof)
			continue;
		if (in.data == NULL) {
			why = sent ? "connection closed without a response"
			           : "connection closed while sending";
			goto out;
		}
		state = parse_response(&in, at_eof,
		                       strcasecmp(method, "HEAD") == 0, resp_r,
		                       &why);
	}
	if (state == PARSE_DONE)
		rc = 0;
out:
	if (rc != 0) {
		if (why != NULL)
			fprintf(stderr, "http_call: %s %s on %s port %u: %s\n",
			        method, path, host, (unsigned)port, why);
		http_resp_free(resp_r);
	}
	close(fd);
	free(req.data);
	free(in.data);
	return rc;
}

int http_call(const char *host, uint16_t port, const char *method,
              const char *path, const char *const *headers, const char *body,
              size_t body_len, struct http_resp *resp_r)
{
	return http_call_(host, port, method, path, headers, body, body_len,
	                  resp_r, false);
}

struct json_object *http_resp_json(const struct http_resp *resp)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (resp->body == NULL || resp->body_len >= (size_t)INT32_MAX) {
		fprintf(stderr, "http_resp_json: no body to parse\n");
		return NULL;
	}
	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	/* With the NUL after the body, so that a bare number ends. */
	obj = json_tokener_parse_ex(tok, resp->body, (int)resp->body_len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	while (end < resp->body_len && isspace((unsigned char)resp->body[end]))
		end++;
	if (jerr != json_tokener_success) {
		fprintf(stderr, "http_resp_json: not JSON (%s): %s\n",
		        json_tokener_error_desc(jerr), resp->body);
		json_object_put(obj);
		obj = NULL;
	} else if (end < resp->body_len) {
		fprintf(stderr,
		        "http_resp_json: bytes after the JSON value at "
		        "offset %zu: %s\n",
		        end, resp->body);
		json_object_put(obj);
		obj = NULL;
	} else if (obj == NULL) {
		fprintf(stderr, "http_resp_json: the body is JSON null\n");
	}
	json_tokener_free(tok);
	return obj;
}

/* ---- The daemon ------------------------------------------------------- */

/* Read all of PATH; NULL if it cannot be read. */
static char *read_file(const char *path)
{
	struct buf b = {0};
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&b, chunk, (size_t)n) != 0) {
			free(b.data);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	if (b.data == NULL && buf_add(&b, "", 0) != 0)
		return NULL;
	return b.data;
}

char *daemon_log(const struct daemon *d)
{
	return read_file(d->log_path);
}

bool daemon_log_contains(const struct daemon *d, const char *needle)
{
	char *log = daemon_log(d);
	bool found = log != NULL && strstr(log, needle) != NULL;

	free(log);
	return found;
}

static void dump_log(const struct daemon *d, const char *why)
{
	char *log = daemon_log(d);

	fprintf(stderr,
	        "---- stadiond on port %u %s; its output (%s): ----\n%s"
	        "---- end of stadiond output ----\n",
	        (unsigned)d->port, why, d->log_path,
	        log != NULL ? log : "(cannot be read)\n");
	free(log);
}

/* Exit status of a waitpid() STATUS: the code, or 128+signal. */
static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		         WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped with wait status %#x", status);
}

/* Wait for PID until DEADLINE.  Returns 1 with *STATUS_R set once it has
 * exited, 0 at the deadline, -1 on error. */
static int wait_exit(pid_t pid, int64_t deadline, int *status_r)
{
	for (;;) {
		pid_t got = waitpid(pid, status_r, WNOHANG);

		if (got == pid)
			return 1;
		if (got < 0 && errno != EINTR) {
			fprintf(stderr, "harness: waitpid(%ld): %s\n",
			        (long)pid, strerror(errno));
			return -1;
		}
		if (now_ms() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

static int rm_entry(const char *path, const struct stat *st, int type,
                    struct FTW *ftw)
{
	if (remove(path) != 0)
		fprintf(stderr, "harness: cannot remove %s: %s\n", path,
		        strerror(errno));
	return 0;
}

/* ---- Task processes ----------------------------------------------------- */

/* The local driver starts every task (the docker CLI of a DOCKER task
 * too) with <data_dir>/sandboxes/<task id> as its working directory, in a
 * process group of its own, and whatever the task starts inherits both.
 * The working directory is what identifies a task's processes: unlike
 * MESOS_TASK_ID in the environment, it holds for the docker CLI (which
 * gets the daemon's environment) and for commands that clear theirs. */

/* "<realpath of D's data dir>/sandboxes/" into BUF, or -1. */
static int sandboxes_prefix(const struct daemon *d, char *buf, size_t len)
{
	char real[PATH_MAX];

	if (d->data_dir[0] == '\0' || realpath(d->data_dir, real) == NULL)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/sandboxes/", real) >= len)
		return -1;
	return 0;
}

/* Read /proc/PID/FILE (at most LEN-1 bytes) into BUF, NUL-terminated;
 * the byte count or -1. */
static ssize_t read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((size_t)got + 1 < len &&
	       (n = read(fd, buf + got, len - 1 - (size_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* PID's process group from /proc/PID/stat, 0 when it is gone or a
 * zombie (a dead process: it runs nothing, whoever reaps it). */
static pid_t live_pgid(pid_t pid)
{
	char stat[1024], *p;
	char state;
	long ppid, pgid;

	if (read_proc(pid, "stat", stat, sizeof(stat)) <= 0 ||
	    (p = strrchr(stat, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgid) != 3 ||
	    state == 'Z' || state == 'X' || pgid <= 0)
		return 0;
	return (pid_t)pgid;
}

/* MARATHON_APP_VERSION of PID's environment into BUF ("" when absent). */
static void proc_version(pid_t pid, char *buf, size_t len)
{
	static const char name[] = "MARATHON_APP_VERSION=";
	char env[65536];
	ssize_t n = read_proc(pid, "environ", env, sizeof(env));

	buf[0] = '\0';
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(env + i) + 1)
		if (strncmp(env + i, name, sizeof(name) - 1) == 0) {
			snprintf(buf, len, "%s", env + i + sizeof(name) - 1);
			return;
		}
}

int task_procs_list(const struct daemon *d, struct task_proc **procs_r,
                    size_t *n_r)
{
	char prefix[PATH_MAX + 16];
	size_t prefix_len, n = 0, cap = 0;
	struct task_proc *procs = NULL;
	struct dirent *e;
	DIR *dir;

	*procs_r = NULL;
	*n_r = 0;
	if (sandboxes_prefix(d, prefix, sizeof(prefix)) != 0) {
		fprintf(stderr, "harness: no data directory to look for task "
		                "processes in\n");
		return -1;
	}
	prefix_len = strlen(prefix);
	if ((dir = opendir("/proc")) == NULL) {
		fprintf(stderr, "harness: cannot read /proc: %s\n",
		        strerror(errno));
		return -1;
	}
	while ((e = readdir(dir)) != NULL) {
		char link[64], cwd[PATH_MAX + 32];
		const char *task;
		size_t i, task_len;
		ssize_t len;
		pid_t pid, pgid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)strtol(e->d_name, NULL, 10);
		snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)pid);
		len = readlink(link, cwd, sizeof(cwd) - 1);
		if (len <= (ssize_t)prefix_len)
			continue; /* gone, a kernel thread, or not ours */
		cwd[len] = '\0';
		if (strncmp(cwd, prefix, prefix_len) != 0 ||
		    (pgid = live_pgid(pid)) == 0)
			continue;
		/* The sandbox's name, without what a removed directory's
		 * link adds. */
		task = cwd + prefix_len;
		task_len = strcspn(task, "/ ");
		for (i = 0; i < n && procs[i].pgid != pgid; i++)
			;
		if (i == n) {
			if (n == cap) {
				size_t ncap = cap == 0 ? 64 : cap * 2;
				struct task_proc *grown =
					realloc(procs, ncap * sizeof(*grown));

				if (grown == NULL) {
					free(procs);
					closedir(dir);
					return -1;
				}
				procs = grown;
				cap = ncap;
			}
			memset(&procs[n], 0, sizeof(procs[n]));
			procs[n].pgid = pgid;
			snprintf(procs[n].task_id, sizeof(procs[n].task_id),
			         "%.*s", (int)task_len, task);
			n++;
		}
		procs[i].n_procs++;
		if (pid == pgid)
			procs[i].leader = true;
		if (procs[i].version[0] == '\0')
			proc_version(pid, procs[i].version,
			             sizeof(procs[i].version));
	}
	closedir(dir);
	*procs_r = procs;
	*n_r = n;
	return 0;
}

int task_procs_count(const struct daemon *d, const char *version)
{
	struct task_proc *procs;
	size_t n;
	int count = 0;

	if (task_procs_list(d, &procs, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (version == NULL || strcmp(procs[i].version, version) == 0)
			count++;
	free(procs);
	return count;
}

int daemon_kill_tasks(struct daemon *d)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	int killed = 0;

	if (d->data_dir[0] == '\0')
		return 0;
	for (int round = 0;; round++) {
		struct task_proc *procs;
		size_t n;

		if (task_procs_list(d, &procs, &n) != 0)
			return -1;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (killpg(procs[i].pgid, SIGKILL) == 0 && round == 0)
				killed++;
		free(procs);
		if (now_ms() >= deadline) {
			fprintf(stderr, "harness: task processes of %s are "
			                "still there after %d s of SIGKILL\n",
			        d->data_dir, HARNESS_TIMEOUT_S);
			return -1;
		}
		/* Killed processes are reaped by their parent (the daemon,
		 * or init once it is gone): until then they are zombies,
		 * which the list leaves out. */
		sleep_ms(10);
	}
	if (killed > 0)
		fprintf(stderr, "harness: killed %d task process group(s) "
		                "left in %s\n",
		        killed, d->data_dir);
	return killed;
}

/* Remove D's data directory, unless KEEP_TEST_DATA says to keep it. */
static void remove_data_dir(struct daemon *d)
{
	if (d->data_dir[0] == '\0')
		return;
	/* Tasks outlive the daemon (the driver's rule): a test must not
	 * leave them behind, whether it passed or not. */
	daemon_kill_tasks(d);
	if (getenv("KEEP_TEST_DATA") != NULL)
		fprintf(stderr, "harness: KEEP_TEST_DATA: kept %s\n",
		        d->data_dir);
	else
		nftw(d->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	d->data_dir[0] = '\0';
	d->log_path[0] = '\0';
}

/* A free TCP port on 127.0.0.1 (free now: the daemon binds it soon after),
 * or 0 with a message. */
static uint16_t free_port(void)
{
	uint16_t port = testnet_free_port();

	if (port == 0)
		fprintf(stderr, "harness: cannot find a free port: %s\n",
		        strerror(errno));
	return port;
}

/* The daemon's environment: ours less STADION_* and MARATHON_*, plus
 * EXTRA_ENV, which replaces variables of the same name.  The array is
 * allocated, the strings borrowed. */
static char **child_env(const char *const *extra_env)
{
	size_t n = 0, n_extra = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (extra_env != NULL && extra_env[n_extra] != NULL)
		n_extra++;
	if ((env = calloc(n + n_extra + 1, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *v = environ[i];
		size_t name_len = strcspn(v, "=");
		bool replaced = false;

		if (strncmp(v, "STADION_", 8) == 0 ||
		    strncmp(v, "MARATHON_", 9) == 0)
			continue;
		for (size_t j = 0; j < n_extra && !replaced; j++)
			replaced = strncmp(extra_env[j], v, name_len) == 0 &&
			           extra_env[j][name_len] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < n_extra; j++)
		env[k++] = (char *)extra_env[j];
	env[k] = NULL;
	return env;
}

/* The bundled plugins (the store among them) as make check copies them,
 * or "" outside make check. */
static char *bundled_plugins(void)
{
	char *dir = getenv("BUNDLED_PLUGINS");

	return dir != NULL ? dir : "";
}

/* Empty D and give it a fresh data directory and its log's path.  On -1
 * nothing is left behind. */
static int new_data_dir(struct daemon *d)
{
	const char *tmp = getenv("TMPDIR");

	memset(d, 0, sizeof(*d));
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(d->data_dir, sizeof(d->data_dir),
	                     "%s/stadiond-test-XXXXXX",
	                     tmp) >= sizeof(d->data_dir) - 32 ||
	    mkdtemp(d->data_dir) == NULL) {
		fprintf(stderr, "harness: cannot create a directory in %s: %s\n",
		        tmp, strerror(errno));
		d->data_dir[0] = '\0';
		return -1;
	}
	if ((size_t)snprintf(d->log_path, sizeof(d->log_path),
	                     "%s/stadiond.log",
	                     d->data_dir) >= sizeof(d->log_path)) {
		remove_data_dir(d);
		return -1;
	}
	return 0;
}

/* Spawn $STADIOND on D's data directory and D->port with the leading
 * flags, ARGS and EXTRA_ENV; its output goes to D's log, which FRESH_LOG
 * empties first (a restart appends, so the log tells the whole story).
 * Leaves D's directory alone on -1. */
static int spawn_in_dir(struct daemon *d, const char *const *args,
                        const char *const *extra_env, bool fresh_log)
{
	const char *stadiond = getenv("STADIOND");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	char port_str[8], **argv = NULL, **envp = NULL;
	size_t n_args = 0, k = 0;
	int rc = -1;

	d->pid = 0;
	if (stadiond == NULL || stadiond[0] == '\0') {
		fprintf(stderr, "harness: STADIOND is not set: it must be the "
		                "path of the stadiond to test (make check sets "
		                "it)\n");
		return -1;
	}
	snprintf(port_str, sizeof(port_str), "%u", (unsigned)d->port);

	while (args != NULL && args[n_args] != NULL)
		n_args++;
	if ((argv = calloc(n_args + 10, sizeof(*argv))) == NULL ||
	    (envp = child_env(extra_env)) == NULL)
		goto out;
	argv[k++] = (char *)stadiond;
	argv[k++] = "--http_address";
	argv[k++] = "127.0.0.1";
	argv[k++] = "--http_port";
	argv[k++] = port_str;
	argv[k++] = "--data_dir";
	argv[k++] = d->data_dir;
	argv[k++] = "--system_plugin_dir";
	argv[k++] = bundled_plugins();
	for (size_t i = 0; i < n_args; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;

	/* The daemon starts with default dispositions and nothing blocked,
	 * even if make or the shell ignore SIGINT for background jobs. */
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGQUIT);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGHUP);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	if ((rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
	                                           "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(
		     &fa, STDOUT_FILENO, d->log_path,
		     O_WRONLY | O_CREAT | O_APPEND | (fresh_log ? O_TRUNC : 0),
		     0644)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO,
	                                           STDERR_FILENO)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &defaults)) != 0 ||
	    (rc = posix_spawnattr_setflags(
		     &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawn(&d->pid, stadiond, &fa, &attr, argv, envp)) != 0) {
		fprintf(stderr, "harness: cannot run %s: %s\n", stadiond,
		        strerror(rc));
		d->pid = 0;
		rc = -1;
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
out:
	free(argv);
	free(envp);
	return rc == 0 ? 0 : -1;
}

/* Make D's data directory, pick its port and spawn $STADIOND with the
 * leading flags, ARGS and EXTRA_ENV.  On -1 nothing is left behind. */
static int spawn_daemon(struct daemon *d, const char *const *args,
                        const char *const *extra_env)
{
	if (new_data_dir(d) != 0)
		return -1;
	if ((d->port = free_port()) == 0 ||
	    spawn_in_dir(d, args, extra_env, true) != 0) {
		remove_data_dir(d);
		return -1;
	}
	return 0;
}

/* Wait until D answers GET /ping with 200.  0 when it does; otherwise the
 * daemon is not running anymore (killed if needed), *STATUS_R holds its wait
 * status when it exited by itself, or -1. */
static int wait_ready(struct daemon *d, int *status_r)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;

	*status_r = -1;
	for (;;) {
		struct http_resp resp;
		int got;

		if (http_call_("127.0.0.1", d->port, "GET", "/ping", NULL, NULL,
		               0, &resp, true) == 0) {
			int status = resp.status;

			http_resp_free(&resp);
			if (status == 200)
				return 0;
			fprintf(stderr, "harness: stadiond answered GET /ping "
			                "with %d\n",
			        status);
			break;
		}
		if ((got = wait_exit(d->pid, 0, status_r)) != 0) {
			if (got < 0)
				*status_r = -1;
			d->pid = 0;
			return -1;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "harness: stadiond did not answer GET "
			                "/ping within %d s\n",
			        HARNESS_TIMEOUT_S);
			break;
		}
		sleep_ms(20);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
	return -1;
}

int daemon_start_env(struct daemon *d, const char *const *extra_args,
                     const char *const *extra_env)
{
	/* Another process may take the port between free_port() and the
	 * daemon's bind(): then try another. */
	for (int attempt = 1;; attempt++) {
		char what[128];
		int status;

		if (spawn_daemon(d, extra_args, extra_env) != 0)
			return -1;
		if (wait_ready(d, &status) == 0)
			return 0;
		if (status != -1 && attempt < 3 &&
		    daemon_log_contains(d, "cannot listen on")) {
			fprintf(stderr, "harness: port %u was taken, trying "
			                "another\n",
			        (unsigned)d->port);
			remove_data_dir(d);
			continue;
		}
		if (status != -1)
			describe_status(status, what, sizeof(what));
		else
			snprintf(what, sizeof(what), "did not start");
		dump_log(d, what);
		remove_data_dir(d);
		return -1;
	}
}

int daemon_start(struct daemon *d, const char *const *extra_args)
{
	return daemon_start_env(d, extra_args, NULL);
}

/* Send SIG to D and wait for it to exit (SIGKILL after the timeout); its
 * exit status as daemon_stop_with() says.  An exit by SIG itself is what
 * was asked for when EXPECT_SIG: its log is not shown then. */
static int signal_and_wait(struct daemon *d, int sig, bool expect_sig)
{
	int status, got, rc;
	char what[128];

	if (kill(d->pid, sig) != 0)
		fprintf(stderr, "harness: kill(%ld, %d): %s\n", (long)d->pid,
		        sig, strerror(errno));
	got = wait_exit(d->pid, now_ms() + TIMEOUT_MS, &status);
	if (got == 1) {
		rc = exit_status(status);
		if (rc != 0 && !(expect_sig && rc == 128 + sig)) {
			describe_status(status, what, sizeof(what));
			dump_log(d, what);
		}
	} else {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		snprintf(what, sizeof(what),
		         "did not exit within %d s of signal %d (%s) and was "
		         "killed",
		         HARNESS_TIMEOUT_S, sig, strsignal(sig));
		dump_log(d, what);
		rc = -1;
	}
	d->pid = 0;
	return rc;
}

int daemon_stop_with(struct daemon *d, int sig)
{
	int rc = -1;

	if (d->pid > 0)
		rc = signal_and_wait(d, sig, false);
	remove_data_dir(d);
	return rc;
}

int daemon_stop(struct daemon *d)
{
	return daemon_stop_with(d, SIGTERM);
}

int daemon_kill(struct daemon *d, int sig)
{
	if (d->pid <= 0) {
		fprintf(stderr, "harness: daemon_kill: stadiond is not "
		                "running\n");
		return -1;
	}
	return signal_and_wait(d, sig, true);
}

/* Size of D's log now: where the output of the next run starts. */
static off_t log_size(const struct daemon *d)
{
	struct stat st;

	return stat(d->log_path, &st) == 0 ? st.st_size : 0;
}

/* Whether D's log from byte FROM on contains NEEDLE. */
static bool log_contains_from(const struct daemon *d, off_t from,
                              const char *needle)
{
	char *log = daemon_log(d);
	bool found = log != NULL && (size_t)from <= strlen(log) &&
	             strstr(log + from, needle) != NULL;

	free(log);
	return found;
}

/* Append a line to D's log, so that it shows where a restart began. */
static void log_mark(const struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_mark(const struct daemon *d, const char *fmt, ...)
{
	FILE *f = fopen(d->log_path, "a");
	va_list ap;

	if (f == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

int daemon_restart_env(struct daemon *d, const char *const *extra_args,
                       const char *const *extra_env)
{
	if (d->pid > 0 || d->data_dir[0] == '\0') {
		fprintf(stderr, "harness: daemon_restart: %s\n",
		        d->pid > 0 ? "stadiond is still running"
		                   : "it has no data directory any more");
		return -1;
	}
	/* The same port first (clients keep their address), another one
	 * when something took it meanwhile. */
	for (int attempt = 1;; attempt++) {
		off_t from;
		char what[128];
		int status;

		log_mark(d, "---- harness: stadiond restarted on port %u, same "
		            "--data_dir ----\n",
		         (unsigned)d->port);
		from = log_size(d);
		if (d->port == 0 || spawn_in_dir(d, extra_args, extra_env,
		                                 false) != 0)
			return -1;
		if (wait_ready(d, &status) == 0)
			return 0;
		if (status != -1 && attempt < 3 &&
		    log_contains_from(d, from, "cannot listen on")) {
			fprintf(stderr, "harness: port %u was taken, restarting "
			                "on another\n",
			        (unsigned)d->port);
			d->port = free_port();
			continue;
		}
		if (status != -1)
			describe_status(status, what, sizeof(what));
		else
			snprintf(what, sizeof(what), "did not start again");
		dump_log(d, what);
		return -1;
	}
}

int daemon_restart(struct daemon *d, const char *const *extra_args)
{
	return daemon_restart_env(d, extra_args, NULL);
}

int daemon_call(const struct daemon *d, const char *method, const char *path,
                const char *const *headers, const char *body,
                struct http_resp *resp_r)
{
	return http_call("127.0.0.1", d->port, method, path, headers, body,
	                 body != NULL ? strlen(body) : 0, resp_r);
}

int daemon_run_to_exit_env(const char *const *args,
                           const char *const *extra_env, int *status_r,
                           char **log_r)
{
	struct daemon d;
	int status, got, rc = -1;

	if (log_r != NULL)
		*log_r = NULL;
	if (spawn_daemon(&d, args, extra_env) != 0)
		return -1;
	got = wait_exit(d.pid, now_ms() + TIMEOUT_MS, &status);
	if (got == 1) {
		*status_r = exit_status(status);
		rc = 0;
		if (log_r != NULL && (*log_r = daemon_log(&d)) == NULL) {
			fprintf(stderr, "harness: cannot read %s\n",
			        d.log_path);
			rc = -1;
		}
	} else {
		if (got == 0) {
			kill(d.pid, SIGKILL);
			waitpid(d.pid, NULL, 0);
		}
		dump_log(&d, got == 0 ? "was expected to exit but was still "
		                        "running, and was killed"
		                      : "could not be waited for");
	}
	d.pid = 0;
	remove_data_dir(&d);
	return rc;
}

int daemon_run_to_exit(const char *const *args, int *status_r, char **log_r)
{
	return daemon_run_to_exit_env(args, NULL, status_r, log_r);
}

/* ---- JSON and polling helpers ----------------------------------------- */

int daemon_json(const struct daemon *d, const char *method, const char *path,
                const char *body, struct json_object **json_r)
{
	static const char *const json_headers[] = {
		"Content-Type: application/json", NULL};
	struct http_resp resp;
	int status;

	if (json_r != NULL)
		*json_r = NULL;
	if (daemon_call(d, method, path, body != NULL ? json_headers : NULL,
	                body, &resp) != 0)
		return -1;
	status = resp.status;
	if (json_r != NULL && resp.body_len > 0)
		*json_r = http_resp_json(&resp);
	http_resp_free(&resp);
	return status;
}

struct json_object *daemon_get_json(const struct daemon *d, const char *path)
{
	struct json_object *body = NULL;
	int status = daemon_json(d, "GET", path, NULL, &body);

	if (status == 200 && body != NULL)
		return body;
	if (status != -1)
		fprintf(stderr, "harness: GET %s answered %d: %s\n", path,
		        status,
		        body != NULL ? json_object_to_json_string(body) : "");
	json_object_put(body);
	return NULL;
}

struct json_object *daemon_get_app(const struct daemon *d, const char *id)
{
	char path[256];
	struct json_object *body = NULL, *app;

	snprintf(path, sizeof(path), "/v2/apps%s", id);
	daemon_json(d, "GET", path, NULL, &body);
	app = json_object_get(json_at(body, "app"));
	json_object_put(body);
	return app;
}

struct json_object *json_at(struct json_object *o, const char *path)
{
	while (o != NULL && path != NULL && *path != '\0') {
		size_t len = strcspn(path, ".");
		char key[256];

		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(key, &end, 10);

			if (*end != '\0' || i < 0 ||
			    (size_t)i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_is_type(o, json_type_object) ||
		           !json_object_object_get_ex(o, key, &o)) {
			return NULL;
		}
		path += len;
		if (*path == '.')
			path++;
	}
	return o;
}

const char *json_str_at(struct json_object *o, const char *path)
{
	struct json_object *v = json_at(o, path);

	return v != NULL && json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : NULL;
}

long long json_int_at(struct json_object *o, const char *path, long long dflt)
{
	struct json_object *v = json_at(o, path);

	if (v == NULL || !(json_object_is_type(v, json_type_int) ||
	                   json_object_is_type(v, json_type_double)))
		return dflt;
	return json_object_get_int64(v);
}

bool wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(WAIT_POLL_MS);
	}
}

struct wait_status {
	const struct daemon *d;
	const char *path;
	int status;
};

static bool status_is(void *arg)
{
	const struct wait_status *w = arg;

	return daemon_json(w->d, "GET", w->path, NULL, NULL) == w->status;
}

bool daemon_wait_status(const struct daemon *d, const char *path, int status,
                        int timeout_ms)
{
	struct wait_status w = {.d = d, .path = path, .status = status};

	return wait_until(status_is, &w, timeout_ms);
}

void harness_sleep_ms(long ms)
{
	sleep_ms(ms);
}

int64_t harness_now_ms(void)
{
	return now_ms();
}
