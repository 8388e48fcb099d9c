/*
 * sched_ids: instance, task and deployment ids.  See sched_ids.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "model/model_id.h"
#include "sched/sched_ids.h"

/* 100 ns intervals between 1582-10-15 (the Gregorian reform, RFC 4122's
 * epoch) and 1970-01-01. */
#define UUID_EPOCH_OFFSET 0x01B21DD213814000ULL

#define INSTANCE_PREFIX "instance-"
#define LEGACY_PREFIX "marathon-"

static int fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void uuid_text(const unsigned char b[16], char buf[SCHED_UUID_LEN])
{
	snprintf(buf, SCHED_UUID_LEN,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	         "%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The per-process part of version 1 UUIDs, and the last timestamp used. */
static pthread_mutex_t v1_lock = PTHREAD_MUTEX_INITIALIZER;
static bool v1_ready;
static unsigned char v1_node[6];
static uint16_t v1_clock_seq;
static uint64_t v1_last;

int sched_uuid_v1(char buf[SCHED_UUID_LEN])
{
	unsigned char b[16];
	struct timespec now;
	uint64_t ts;
	uint16_t seq;

	clock_gettime(CLOCK_REALTIME, &now);
	ts = (uint64_t)now.tv_sec * 10000000ULL +
	     (uint64_t)now.tv_nsec / 100 + UUID_EPOCH_OFFSET;
	pthread_mutex_lock(&v1_lock);
	if (!v1_ready) {
		unsigned char r[8];

		if (fill_random(r, sizeof(r)) < 0) {
			int e = errno;

			pthread_mutex_unlock(&v1_lock);
			errno = e;
			return -1;
		}
		memcpy(v1_node, r, sizeof(v1_node));
		/* RFC 4122 4.5: a random node sets the multicast bit so it
		 * can never collide with a real IEEE 802 address. */
		v1_node[0] |= 0x01;
		v1_clock_seq = (uint16_t)((r[6] << 8 | r[7]) & 0x3fff);
		v1_ready = true;
	}
	/* Two ids in the same 100 ns, or a clock stepped back, would
	 * repeat a timestamp: take the next one instead, so ids from this
	 * process are unique and their timestamps strictly increase. */
	if (ts <= v1_last)
		ts = v1_last + 1;
	v1_last = ts;
	memcpy(b + 10, v1_node, sizeof(v1_node));
	seq = v1_clock_seq;
	pthread_mutex_unlock(&v1_lock);

	ts &= 0x0fffffffffffffffULL;
	b[0] = (unsigned char)(ts >> 24);
	b[1] = (unsigned char)(ts >> 16);
	b[2] = (unsigned char)(ts >> 8);
	b[3] = (unsigned char)ts;
	b[4] = (unsigned char)(ts >> 40);
	b[5] = (unsigned char)(ts >> 32);
	b[6] = (unsigned char)(0x10 | ((ts >> 56) & 0x0f)); /* version 1 */
	b[7] = (unsigned char)(ts >> 48);
	b[8] = (unsigned char)(0x80 | (seq >> 8)); /* variant 10 */
	b[9] = (unsigned char)seq;
	uuid_text(b, buf);
	return 0;
}

int sched_uuid_v4(char buf[SCHED_UUID_LEN])
{
	unsigned char b[16];

	if (fill_random(b, sizeof(b)) < 0)
		return -1;
	b[6] = (unsigned char)(0x40 | (b[6] & 0x0f));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	uuid_text(b, buf);
	return 0;
}

/* Whether the LEN bytes at S are a UUID's text (any version). */
static bool uuid_shaped(const char *s, size_t len)
{
	if (len != SCHED_UUID_LEN - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

int sched_uuid_v1_time(const char *uuid, uint64_t *ts_r)
{
	unsigned char b[16];
	size_t j = 0;

	if (uuid == NULL || !uuid_shaped(uuid, strlen(uuid))) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < SCHED_UUID_LEN - 1; i++) {
		if (uuid[i] == '-')
			continue;
		b[j / 2] = (unsigned char)(j % 2 == 0
		                   ? hexval(uuid[i]) << 4
		                   : (b[j / 2] | hexval(uuid[i])));
		j++;
	}
	if ((b[6] >> 4) != 1 || (b[8] & 0xc0) != 0x80) {
		errno = EINVAL;
		return -1;
	}
	*ts_r = (uint64_t)(b[6] & 0x0f) << 56 | (uint64_t)b[7] << 48 |
	        (uint64_t)b[4] << 40 | (uint64_t)b[5] << 32 |
	        (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
	        (uint64_t)b[2] << 8 | (uint64_t)b[3];
	return 0;
}

char *sched_instance_id_new(const char *app_id)
{
	char uuid[SCHED_UUID_LEN];
	char *safe, *id = NULL;

	if (sched_uuid_v1(uuid) < 0)
		return NULL;
	if ((safe = model_id_safe(app_id)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (asprintf(&id, "%s." INSTANCE_PREFIX "%s", safe, uuid) < 0) {
		id = NULL;
		errno = ENOMEM;
	}
	free(safe);
	return id;
}

char *sched_task_id_format(const char *instance_id, int64_t incarnation)
{
	char *id;

	if (asprintf(&id, "%s._app.%" PRId64, instance_id, incarnation) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return id;
}

char *sched_deployment_id_new(void)
{
	char uuid[SCHED_UUID_LEN];
	char *id;

	if (sched_uuid_v4(uuid) < 0)
		return NULL;
	if ((id = strdup(uuid)) == NULL)
		errno = ENOMEM;
	return id;
}

/* "/" + SAFE with '_' turned back into '/' (PathId.fromSafePath); '_'
 * never occurs in an id segment, so this is exact.  NULL when out of
 * memory. */
static char *app_from_safe(const char *safe, size_t len)
{
	char *id = malloc(len + 2);

	if (id == NULL)
		return NULL;
	id[0] = '/';
	for (size_t i = 0; i < len; i++)
		id[i + 1] = safe[i] == '_' ? '/' : safe[i];
	id[len + 1] = '\0';
	return id;
}

/* The LEN bytes at S are one or more digits; their value in *N_R. */
static bool digits(const char *s, size_t len, int64_t *n_r)
{
	int64_t n = 0;

	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		n = n * 10 + (s[i] - '0');
	}
	*n_r = n;
	return true;
}

static int ref_fill(struct sched_task_ref *ref, const char *safe,
                    size_t safe_len, const char *instance,
                    size_t instance_len, const char *container,
                    size_t container_len)
{
	ref->app_id = app_from_safe(safe, safe_len);
	ref->instance_id = strndup(instance, instance_len);
	if (container != NULL)
		ref->container = strndup(container, container_len);
	if (ref->app_id == NULL || ref->instance_id == NULL ||
	    (container != NULL && ref->container == NULL)) {
		sched_task_ref_clear(ref);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The instance-era forms: <safe>.(instance-|marathon-)<uuid>, optionally
 * followed by .<container> and .<n>.  P points at the '.' before the
 * prefix.  Returns 1 when matched (REF filled), 0 when not, -1 when out
 * of memory. */
static int parse_instance_form(const char *id, const char *p,
                               struct sched_task_ref *ref)
{
	const char *uuid = p + 1 + strlen(INSTANCE_PREFIX), *end, *c = NULL;
	size_t ulen = strcspn(uuid, "._"), clen = 0;
	int64_t n = 0;

	if (p == id || ulen == 0)
		return 0;
	end = uuid + ulen;
	if (*end == '.') {
		c = end + 1;
		clen = strcspn(c, ".");
		if (clen == 0)
			return 0;
		if (c[clen] == '.' &&
		    !digits(c + clen + 1, strlen(c + clen + 1), &n))
			return 0;
	} else if (*end != '\0') {
		return 0;
	}
	memset(ref, 0, sizeof(*ref));
	ref->incarnation = n;
	ref->legacy = strncmp(p + 1, LEGACY_PREFIX, strlen(LEGACY_PREFIX)) == 0;
	if (ref_fill(ref, id, (size_t)(p - id), id, (size_t)(end - id), c,
	             clen) < 0)
		return -1;
	return 1;
}

/* Before 1.4: <safe>[._]<uuid>[[._]<attempt>], with instance
 * <safe>.marathon-<uuid>.  Marathon only asks for [^_.]+ where the uuid
 * goes; requiring a UUID's shape keeps "a.b.5" from parsing as app /a
 * instance b, attempt 5.  Returns as parse_instance_form. */
static int parse_legacy_form(const char *id, struct sched_task_ref *ref)
{
	size_t len = strlen(id), ulen = SCHED_UUID_LEN - 1;
	const char *uuid = NULL, *sep;
	char *instance;
	int64_t n = 0;

	sep = len > ulen ? id + len - ulen - 1 : NULL;
	if (sep != NULL && sep > id && (*sep == '.' || *sep == '_') &&
	    uuid_shaped(sep + 1, ulen)) {
		uuid = sep + 1;
	} else {
		/* A resident task: one more [._]<attempt> at the end. */
		const char *last = id + len;

		while (last > id && isdigit((unsigned char)last[-1]))
			last--;
		if (last == id + len || last - id < (ptrdiff_t)ulen + 2 ||
		    (last[-1] != '.' && last[-1] != '_') ||
		    !digits(last, strlen(last), &n))
			return 0;
		sep = last - 1 - ulen - 1;
		if (sep <= id || (*sep != '.' && *sep != '_') ||
		    !uuid_shaped(sep + 1, ulen))
			return 0;
		uuid = sep + 1;
	}
	if (asprintf(&instance, "%.*s." LEGACY_PREFIX "%.*s", (int)(sep - id),
	             id, (int)ulen, uuid) < 0) {
		errno = ENOMEM;
		return -1;
	}
	memset(ref, 0, sizeof(*ref));
	ref->incarnation = n;
	ref->legacy = true;
	if (ref_fill(ref, id, (size_t)(sep - id), instance, strlen(instance),
	             NULL, 0) < 0) {
		free(instance);
		return -1;
	}
	free(instance);
	return 1;
}

int sched_task_ref_parse(const char *task_id, struct sched_task_ref *ref_r)
{
	const char *p;
	int rc;

	memset(ref_r, 0, sizeof(*ref_r));
	if (task_id == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* The app id may itself hold ".instance-" (a segment "x.instance-y"
	 * is valid), so try the prefixes from the right, as Marathon's
	 * greedy (.+) does. */
	for (p = task_id + strlen(task_id); p > task_id; p--) {
		if (p[-1] != '.')
			continue;
		if (strncmp(p, INSTANCE_PREFIX, strlen(INSTANCE_PREFIX)) != 0 &&
		    strncmp(p, LEGACY_PREFIX, strlen(LEGACY_PREFIX)) != 0)
			continue;
		rc = parse_instance_form(task_id, p - 1, ref_r);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	rc = parse_legacy_form(task_id, ref_r);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	errno = EINVAL;
	return -1;
}

void sched_task_ref_clear(struct sched_task_ref *ref)
{
	if (ref == NULL)
		return;
	free(ref->app_id);
	free(ref->instance_id);
	free(ref->container);
	memset(ref, 0, sizeof(*ref));
}

int sched_instance_id_app(const char *instance_id, char **app_id_r)
{
	struct sched_task_ref ref;

	if (sched_task_ref_parse(instance_id, &ref) < 0)
		return -1;
	/* Only the bare instance form: no container, no attempt. */
	if (ref.container != NULL ||
	    strcmp(ref.instance_id, instance_id) != 0) {
		sched_task_ref_clear(&ref);
		errno = EINVAL;
		return -1;
	}
	*app_id_r = ref.app_id;
	ref.app_id = NULL;
	sched_task_ref_clear(&ref);
	return 0;
}
