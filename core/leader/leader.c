/*
 * leader: ZooKeeper leader election (see leader.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "leader/leader.h"
#include "leader/zk_url.h"
#include "log.h"

#define CANDIDATE_PREFIX "member-"
#define RETRY_MS 100
#define CLOSE_RANGE_CLOEXEC_ 4 /* linux/close_range.h, Linux 5.11 */

struct leader {
	struct event_base *base;      /* borrowed */
	struct event *wake;           /* owned: made active by the thread */
	struct zk_url url;            /* owned */
	char *self_id;                /* owned */
	char *dir;                    /* owned: "<zk path>/leader" */
	int session_timeout_ms;
	void (*changed)(void *arg);
	void *arg;
	char *const *argv;            /* borrowed */
	zhandle_t *zh;                /* owned; used by the thread only,
	                               * closed after it joined */
	pthread_t thread;
	bool thread_started;

	/* Shared between the thread, ZooKeeper's thread and the loop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int zstate;                   /* last session state seen */
	bool children_changed;        /* the candidate list's watch fired */
	bool stopping;
	bool leading;                 /* once set, only an exec ends it */
	char *pub_leader;             /* owned: the thread's latest finding */
	bool pub_self;

	/* The loop's copy, what leader_current() answers. */
	char *cur_leader;             /* owned */
	bool cur_self;
};

void leader_reexec(char *const *argv)
{
	sigset_t none;

	/* ZooKeeper's threads may block signals, and the mask survives an
	 * exec: the new process must hear SIGTERM. */
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	fflush(NULL);
	/* Nothing of this process but its children (the tasks) may outlive
	 * it: the listening socket must be free for the new one.  Marked,
	 * not closed: other threads still run until the exec. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC_) != 0)
		closefrom(3);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "stadiond: cannot re-execute /proc/self/exe: %s; "
	        "exiting (a supervisor restarts it)\n", strerror(errno));
	_exit(EXIT_FAILURE);
}

/* ZooKeeper's thread: session states and the candidate list's watch. */
static void watcher(zhandle_t *zh, int type, int state, const char *path,
                    void *ctx)
{
	struct leader *l = ctx;
	bool leading, stopping;

	(void)zh;
	(void)path;
	pthread_mutex_lock(&l->lock);
	if (type == ZOO_SESSION_EVENT)
		l->zstate = state;
	else
		l->children_changed = true;
	leading = l->leading;
	stopping = l->stopping;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (type != ZOO_SESSION_EVENT || stopping)
		return;
	if (state == ZOO_AUTH_FAILED_STATE) {
		log_error("leader: ZooKeeper at %s refused the --zk "
		          "credentials; fix the user:password in --zk",
		          l->url.hosts);
		_exit(EXIT_FAILURE);
	}
	if (state == ZOO_EXPIRED_SESSION_STATE ||
	    (leading && state == ZOO_CONNECTING_STATE)) {
		/* Not a moment longer as leader: another node may be elected
		 * once the server expires the session. */
		log_warn("leader: %s the ZooKeeper session at %s; this node "
		         "stops%s and starts afresh as a candidate",
		         state == ZOO_EXPIRED_SESSION_STATE ? "lost (expired)"
		                                            : "lost the "
		                                              "connection of",
		         l->url.hosts, leading ? " leading" : "");
		leader_reexec(l->argv);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait until the session is connected, or stopping.  False when
 * stopping. */
static bool wait_connected(struct leader *l)
{
	bool ok;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping && l->zstate != ZOO_CONNECTED_STATE)
		pthread_cond_wait(&l->cond, &l->lock);
	ok = !l->stopping;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* Create PATH (persistent, empty) unless it exists. */
static int ensure_node(struct leader *l, const char *path)
{
	int rc = zoo_create(l->zh, path, NULL, -1,
	                    l->url.digest != NULL ? &ZOO_CREATOR_ALL_ACL
	                                          : &ZOO_OPEN_ACL_UNSAFE,
	                    0, NULL, 0);

	return rc == ZOK || rc == ZNODEEXISTS ? ZOK : rc;
}

/* Create every ancestor of DIR and DIR itself. */
static int ensure_dir(struct leader *l)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s", l->dir);
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = ensure_node(l, path);
		*p = '/';
		if (rc != ZOK)
			return rc;
	}
	return ensure_node(l, path);
}

static int stand(struct leader *l)
{
	char path[4096];
	int rc;

	if ((rc = ensure_dir(l)) != ZOK)
		return rc;
	snprintf(path, sizeof(path), "%s/" CANDIDATE_PREFIX, l->dir);
	/* After a connection loss the candidate may exist without our
	 * knowing: a second one of the same session is harmless, both end
	 * with it, and ownership (not the name) says which one is ours. */
	return zoo_create(l->zh, path, l->self_id, (int)strlen(l->self_id),
	                  l->url.digest != NULL ? &ZOO_CREATOR_ALL_ACL
	                                        : &ZOO_OPEN_ACL_UNSAFE,
	                  ZOO_EPHEMERAL | ZOO_SEQUENCE, NULL, 0);
}

/* The candidate with the lowest sequence number among NAMES, or NULL. */
static const char *lowest(const struct String_vector *names)
{
	const char *best = NULL;
	unsigned long long best_seq = 0;

	for (int32_t i = 0; i < names->count; i++) {
		const char *n = names->data[i];
		size_t len = strlen(n);
		unsigned long long seq;

		/* Sequence numbers are the last ten digits; anything else in
		 * the directory is not ours to judge. */
		if (strncmp(n, CANDIDATE_PREFIX, strlen(CANDIDATE_PREFIX)) != 0 ||
		    len < 10)
			continue;
		seq = strtoull(n + len - 10, NULL, 10);
		if (best == NULL || seq < best_seq) {
			best = n;
			best_seq = seq;
		}
	}
	return best;
}

/* Hand what the thread found to the loop. */
static void publish(struct leader *l, const char *id, bool self)
{
	char *copy = id != NULL ? strdup(id) : NULL;

	pthread_mutex_lock(&l->lock);
	free(l->pub_leader);
	l->pub_leader = copy;
	l->pub_self = self;
	if (self)
		l->leading = true;
	pthread_mutex_unlock(&l->lock);
	event_active(l->wake, 0, 0);
}

/* One look at the candidates (setting the watch again): who leads.
 * ZOK, or the ZooKeeper error to retry on. */
static int look(struct leader *l, bool *standing)
{
	struct String_vector names = {0};
	char path[4096], data[512];
	int len = (int)sizeof(data) - 1, rc;
	const char *first;
	struct Stat st;

	if ((rc = zoo_get_children(l->zh, l->dir, 1, &names)) != ZOK)
		return rc;
	if ((first = lowest(&names)) == NULL) {
		/* Our candidate is gone (removed by hand): stand again. */
		deallocate_String_vector(&names);
		*standing = false;
		return ZNONODE;
	}
	snprintf(path, sizeof(path), "%s/%s", l->dir, first);
	deallocate_String_vector(&names);
	rc = zoo_get(l->zh, path, 0, data, &len, &st);
	if (rc != ZOK)
		return rc; /* ZNONODE: it just went; look again */
	data[len < 0 ? 0 : len] = '\0';
	if (st.ephemeralOwner == zoo_client_id(l->zh)->client_id) {
		publish(l, l->self_id, true);
	} else {
		bool was_leading;

		pthread_mutex_lock(&l->lock);
		was_leading = l->leading;
		pthread_mutex_unlock(&l->lock);
		if (was_leading) {
			log_warn("leader: %s leads now, not this node (was our "
			         "candidate removed?); this node stops leading "
			         "and starts afresh as a candidate", data);
			leader_reexec(l->argv);
		}
		/* Our own id in another session's candidate: what this
		 * process left before it replaced itself, until ZooKeeper
		 * expires that session.  Nobody leads meanwhile. */
		publish(l, strcmp(data, l->self_id) == 0 ? NULL : data, false);
	}
	return ZOK;
}

static void *run(void *arg)
{
	struct leader *l = arg;
	bool standing = false;
	int rc;

	while (wait_connected(l)) {
		if (!standing) {
			if ((rc = stand(l)) != ZOK) {
				log_warn("leader: cannot stand as a candidate "
				         "under %s: %s; retrying",
				         l->dir, zerror(rc));
				sleep_ms(RETRY_MS);
				continue;
			}
			standing = true;
			log_info("leader: standing as a candidate under %s as "
			         "%s", l->dir, l->self_id);
		}
		pthread_mutex_lock(&l->lock);
		l->children_changed = false;
		pthread_mutex_unlock(&l->lock);
		if ((rc = look(l, &standing)) != ZOK) {
			if (rc != ZNONODE)
				sleep_ms(RETRY_MS);
			continue;
		}
		/* Until the list changes, or the connection needs waiting
		 * for again. */
		pthread_mutex_lock(&l->lock);
		while (!l->stopping && !l->children_changed &&
		       l->zstate == ZOO_CONNECTED_STATE)
			pthread_cond_wait(&l->cond, &l->lock);
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

/* On the loop: take the thread's finding. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct leader *l = arg;
	bool changed;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&l->lock);
	changed = l->pub_self != l->cur_self ||
	          (l->pub_leader == NULL) != (l->cur_leader == NULL) ||
	          (l->pub_leader != NULL &&
	           strcmp(l->pub_leader, l->cur_leader) != 0);
	if (changed) {
		free(l->cur_leader);
		l->cur_leader = l->pub_leader != NULL ? strdup(l->pub_leader)
		                                      : NULL;
		l->cur_self = l->pub_self;
	}
	pthread_mutex_unlock(&l->lock);
	if (!changed)
		return;
	if (l->cur_self)
		log_info("leader: this node (%s) is elected", l->self_id);
	else
		log_info("leader: %s leads", l->cur_leader != NULL
		                                     ? l->cur_leader
		                                     : "nobody");
	l->changed(l->arg);
}

struct leader *leader_new(const struct leader_config *cfg, char *err,
                          size_t len)
{
	struct leader *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		snprintf(err, len, "out of memory starting the election");
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->base = cfg->base;
	l->session_timeout_ms = cfg->session_timeout_ms;
	l->changed = cfg->changed;
	l->arg = cfg->arg;
	l->argv = cfg->argv;
	l->zstate = ZOO_CONNECTING_STATE;
	if (zk_url_parse(cfg->zk, &l->url, err, len) != 0)
		goto out_free;
	if ((l->self_id = strdup(cfg->self_id)) == NULL ||
	    asprintf(&l->dir, "%s/leader", l->url.path) < 0 ||
	    (l->wake = event_new(l->base, -1, 0, on_wake, l)) == NULL) {
		l->dir = NULL;
		snprintf(err, len, "out of memory starting the election");
		goto out_free;
	}
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	l->zh = zookeeper_init(l->url.hosts, watcher, l->session_timeout_ms,
	                       NULL, l, 0);
	if (l->zh == NULL ||
	    (l->url.digest != NULL &&
	     zoo_add_auth(l->zh, "digest", l->url.digest,
	                  (int)strlen(l->url.digest), NULL, NULL) != ZOK)) {
		snprintf(err, len, "cannot start a ZooKeeper client for %s: %s; "
		         "check --zk", l->url.hosts, strerror(errno));
		goto out_free;
	}
	if (pthread_create(&l->thread, NULL, run, l) != 0) {
		snprintf(err, len, "cannot start the election thread: %s",
		         strerror(errno));
		goto out_free;
	}
	l->thread_started = true;
	return l;
out_free:
	leader_free(l);
	return NULL;
}

void leader_free(struct leader *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	/* Closing the session removes the candidate now rather than a
	 * session timeout from now: the next node leads at once. */
	if (l->zh != NULL)
		zookeeper_close(l->zh);
	if (l->wake != NULL)
		event_free(l->wake);
	zk_url_clear(&l->url);
	free(l->self_id);
	free(l->dir);
	free(l->pub_leader);
	free(l->cur_leader);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

const char *leader_current(const struct leader *l)
{
	return l->cur_leader;
}

bool leader_is_self(const struct leader *l)
{
	return l->cur_self;
}
