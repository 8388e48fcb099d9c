/*
 * zk_mirror: see zk_mirror.h.
 *
 * The copy is a hash table of znodes by full path.  Reads wait in a queue
 * (path, and whether its data, its children or both are wanted); the
 * watcher adds to it, and so does applying a child list that names a
 * znode the copy does not hold.  zk_mirror_step() sends up to STEP_MAX
 * queued reads at once and applies the answers in the order they were
 * sent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zk_mirror.h"

#define STEP_MAX 1024
#define WANT_DATA 1u
#define WANT_KIDS 2u

struct mnode {
	char *path;          /* owned: the full znode path, the key */
	char *data;          /* owned; NULL when len is 0 */
	size_t len;
	char **kids;         /* owned, byte order */
	size_t n_kids;
	struct mnode *hnext;
};

struct mitem {
	char *path;          /* owned */
	unsigned want;       /* WANT_DATA | WANT_KIDS */
};

struct zk_mirror {
	char *base;                   /* owned */
	zk_mirror_wake_fn *wake;
	void *wake_arg;

	pthread_mutex_t lock;         /* guards the queue, off and serving */
	struct mitem *q;              /* owned: reads to send */
	size_t qn, qcap;
	bool off;                     /* dropped: ignore events */
	bool serving;                 /* caught up: ignore events */

	/* Worker thread only. */
	bool ready;                   /* the first full read finished */
	struct mnode **tab;           /* owned; cap is a power of two */
	size_t cap, n;
};

/* One read sent by zk_mirror_step(), and its answer. */
struct mreq {
	struct mitem item;
	int dzrc, kzrc;      /* ZooKeeper's codes, or -1 while not answered */
	char *data;          /* owned copy */
	size_t len;
	char **kids;         /* owned, sorted */
	size_t n_kids;
	struct mwait *w;
};

/* What the worker waits on until every answer has come. */
struct mwait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending;
	int zrc;             /* zk_mirror_catch_up()'s sync */
};

/* ---- The table ----------------------------------------------------------- */

static size_t hash_path(const char *p)
{
	size_t h = 1469598103934665603ull;

	for (; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static struct mnode **slot(const struct zk_mirror *m, const char *path)
{
	struct mnode **pp = &m->tab[hash_path(path) & (m->cap - 1)];

	while (*pp != NULL && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static struct mnode *find(const struct zk_mirror *m, const char *path)
{
	return m->cap == 0 ? NULL : *slot(m, path);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void node_free(struct mnode *nd)
{
	free(nd->path);
	free(nd->data);
	strv_free(nd->kids, nd->n_kids);
	free(nd);
}

static int grow(struct zk_mirror *m)
{
	size_t ncap = m->cap != 0 ? m->cap * 2 : 1024;
	struct mnode **tab = calloc(ncap, sizeof(*tab));

	if (tab == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		struct mnode *nd = m->tab[i], *next;

		for (; nd != NULL; nd = next) {
			size_t h = hash_path(nd->path) & (ncap - 1);

			next = nd->hnext;
			nd->hnext = tab[h];
			tab[h] = nd;
		}
	}
	free(m->tab);
	m->tab = tab;
	m->cap = ncap;
	return 0;
}

/* The node of PATH, added empty if the copy lacks it (*ADDED_R).  NULL
 * when out of memory. */
static struct mnode *find_or_add(struct zk_mirror *m, const char *path,
                                 bool *added_r)
{
	struct mnode **pp, *nd;

	*added_r = false;
	if ((nd = find(m, path)) != NULL)
		return nd;
	if (m->n >= m->cap * 3 / 4 && grow(m) != 0)
		return NULL;
	if ((nd = calloc(1, sizeof(*nd))) == NULL ||
	    (nd->path = strdup(path)) == NULL) {
		free(nd);
		return NULL;
	}
	pp = slot(m, path);
	*pp = nd;
	m->n++;
	*added_r = true;
	return nd;
}

static char *child_path(const char *parent, const char *name)
{
	size_t pl = strlen(parent), nl = strlen(name);
	char *p = malloc(pl + nl + 2);

	if (p != NULL) {
		memcpy(p, parent, pl);
		p[pl] = '/';
		memcpy(p + pl + 1, name, nl + 1);
	}
	return p;
}

/* Remove PATH and everything below it from the copy. */
static void remove_tree(struct zk_mirror *m, const char *path)
{
	struct mnode **pp, *nd;

	if (m->cap == 0 || *(pp = slot(m, path)) == NULL)
		return;
	nd = *pp;
	*pp = nd->hnext;
	m->n--;
	for (size_t i = 0; i < nd->n_kids; i++) {
		char *kid = child_path(nd->path, nd->kids[i]);

		if (kid != NULL)
			remove_tree(m, kid);
		free(kid);
	}
	node_free(nd);
}

static void table_clear(struct zk_mirror *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		struct mnode *nd = m->tab[i], *next;

		for (; nd != NULL; nd = next) {
			next = nd->hnext;
			node_free(nd);
		}
	}
	free(m->tab);
	m->tab = NULL;
	m->cap = m->n = 0;
}

/* ---- The queue (under m->lock) ------------------------------------------- */

static int queue_push_locked(struct zk_mirror *m, const char *path,
                             unsigned want)
{
	char *copy;

	if (m->qn == m->qcap) {
		size_t ncap = m->qcap != 0 ? m->qcap * 2 : 64;
		struct mitem *q = realloc(m->q, ncap * sizeof(*q));

		if (q == NULL)
			return -1;
		m->q = q;
		m->qcap = ncap;
	}
	if ((copy = strdup(path)) == NULL)
		return -1;
	m->q[m->qn++] = (struct mitem){copy, want};
	return 0;
}

static void queue_clear_locked(struct zk_mirror *m)
{
	for (size_t i = 0; i < m->qn; i++)
		free(m->q[i].path);
	m->qn = 0;
}

/* Worker thread: queue a read the mirror itself needs.  Out of memory
 * here would leave a hole the catch-up cannot see, so it stops the
 * mirror instead. */
static void queue_push(struct zk_mirror *m, const char *path, unsigned want)
{
	pthread_mutex_lock(&m->lock);
	if (!m->off && queue_push_locked(m, path, want) != 0) {
		m->off = true;
		queue_clear_locked(m);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- Watches and answers (ZooKeeper's completion thread) ----------------- */

static void watcher(zhandle_t *zh, int type, int state, const char *path,
                    void *ctx)
{
	struct zk_mirror *m = ctx;
	unsigned want;
	bool wake = false;

	(void)zh;
	(void)state;
	/* Session events are the store's business: an expired session
	 * resets the mirror there. */
	if (type == ZOO_SESSION_EVENT || path == NULL || path[0] == '\0')
		return;
	if (type == ZOO_CHANGED_EVENT)
		want = WANT_DATA;
	else if (type == ZOO_CHILD_EVENT)
		want = WANT_KIDS;
	else
		want = WANT_DATA | WANT_KIDS; /* deleted, created, lost */
	pthread_mutex_lock(&m->lock);
	if (!m->off && !m->serving) {
		if (queue_push_locked(m, path, want) != 0) {
			m->off = true;
			queue_clear_locked(m);
		}
		wake = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (wake)
		m->wake(m->wake_arg);
}

static void answered(struct mwait *w)
{
	pthread_mutex_lock(&w->lock);
	if (--w->pending == 0)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void data_done(int rc, const char *value, int len,
                      const struct Stat *stat, const void *arg)
{
	struct mreq *r = (struct mreq *)arg;

	(void)stat;
	r->dzrc = rc;
	if (rc == ZOK && len > 0) {
		if ((r->data = malloc((size_t)len)) == NULL)
			r->dzrc = ZSYSTEMERROR;
		else
			memcpy(r->data, value, (size_t)len), r->len = (size_t)len;
	}
	answered(r->w);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void kids_done(int rc, const struct String_vector *kids,
                      const void *arg)
{
	struct mreq *r = (struct mreq *)arg;

	r->kzrc = rc;
	if (rc == ZOK && kids != NULL && kids->count > 0) {
		r->kids = calloc((size_t)kids->count, sizeof(char *));
		for (int i = 0; r->kids != NULL && i < kids->count; i++) {
			if ((r->kids[i] = strdup(kids->data[i])) == NULL) {
				r->kzrc = ZSYSTEMERROR;
				break;
			}
			r->n_kids++;
		}
		if (r->kids == NULL)
			r->kzrc = ZSYSTEMERROR;
		else
			qsort(r->kids, r->n_kids, sizeof(char *), cmp_names);
	}
	answered(r->w);
}

/* ---- Applying answers (worker thread) ------------------------------------ */

/* A znode an answer to R shows to exist: find it, or add it and read what
 * R did not ask for.  NULL when out of memory.
 *
 * Its data too when R's data read found no znode and its child read, sent
 * right after, found one: it was created in between, and a data read that
 * finds no znode sets no watch, so nothing would ever read its data. */
static struct mnode *existing(struct zk_mirror *m, const struct mreq *r)
{
	const unsigned both = WANT_DATA | WANT_KIDS;
	unsigned unread = both & ~r->item.want;
	bool added;
	struct mnode *nd = find_or_add(m, r->item.path, &added);

	if ((r->item.want & WANT_DATA) && r->dzrc == ZNONODE)
		unread |= WANT_DATA;
	if (nd != NULL && added && unread != 0)
		queue_push(m, r->item.path, unread);
	return nd;
}

static bool in_sorted(char *const *v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(char *), cmp_names) != NULL;
}

/* Out of memory half-way through an answer: nothing would read what it
 * said again, so the mirror stops (as queue_push() does) rather than keep
 * the hole.  ZSYSTEMERROR. */
static int answer_lost(struct zk_mirror *m)
{
	pthread_mutex_lock(&m->lock);
	m->off = true;
	queue_clear_locked(m);
	pthread_mutex_unlock(&m->lock);
	return ZSYSTEMERROR;
}

/* Apply R's answers.  ZOK, ZooKeeper's code when it failed a read (queued
 * again), or ZSYSTEMERROR when memory ran out (the mirror stops). */
static int apply(struct zk_mirror *m, struct mreq *r)
{
	struct mnode *nd;
	unsigned retry = 0;

	if (r->item.want & WANT_DATA) {
		if (r->dzrc == ZNONODE) {
			remove_tree(m, r->item.path);
		} else if (r->dzrc != ZOK) {
			retry |= WANT_DATA;
		} else if ((nd = existing(m, r)) == NULL) {
			return answer_lost(m);
		} else {
			free(nd->data);
			nd->data = r->data;
			nd->len = r->len;
			r->data = NULL;
		}
	}
	if (r->item.want & WANT_KIDS) {
		if (r->kzrc == ZNONODE) {
			remove_tree(m, r->item.path);
		} else if (r->kzrc != ZOK) {
			retry |= WANT_KIDS;
		} else if ((nd = existing(m, r)) == NULL) {
			return answer_lost(m);
		} else {
			/* Children gone: their trees go.  Children named that
			 * the copy lacks: read them. */
			for (size_t i = 0; i < nd->n_kids; i++) {
				char *kid;

				if (in_sorted(r->kids, r->n_kids, nd->kids[i]))
					continue;
				if ((kid = child_path(nd->path, nd->kids[i])) ==
				    NULL)
					return answer_lost(m);
				remove_tree(m, kid);
				free(kid);
			}
			for (size_t i = 0; i < r->n_kids; i++) {
				char *kid = child_path(nd->path, r->kids[i]);

				if (kid == NULL)
					return answer_lost(m);
				if (find(m, kid) == NULL)
					queue_push(m, kid, WANT_DATA | WANT_KIDS);
				free(kid);
			}
			strv_free(nd->kids, nd->n_kids);
			nd->kids = r->kids;
			nd->n_kids = r->n_kids;
			r->kids = NULL;
			r->n_kids = 0;
		}
	}
	if (retry != 0) {
		queue_push(m, r->item.path, retry);
		return retry & WANT_DATA ? r->dzrc : r->kzrc;
	}
	return ZOK;
}

/* ---- The interface ------------------------------------------------------- */

struct zk_mirror *zk_mirror_new(const char *base, zk_mirror_wake_fn *wake,
                                void *wake_arg)
{
	struct zk_mirror *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->base = strdup(base)) == NULL)
		goto fail_free;
	m->wake = wake;
	m->wake_arg = wake_arg;
	pthread_mutex_init(&m->lock, NULL);
	if (queue_push_locked(m, m->base, WANT_DATA | WANT_KIDS) != 0)
		goto fail_destroy_lock;
	return m;

fail_destroy_lock:
	pthread_mutex_destroy(&m->lock);
fail_free:
	if (m != NULL)
		free(m->base);
	free(m);
	return NULL;
}

void zk_mirror_free(struct zk_mirror *m)
{
	if (m == NULL)
		return;
	table_clear(m);
	queue_clear_locked(m);
	free(m->q);
	pthread_mutex_destroy(&m->lock);
	free(m->base);
	free(m);
}

bool zk_mirror_due(struct zk_mirror *m)
{
	bool due;

	pthread_mutex_lock(&m->lock);
	due = !m->off && !m->serving && m->qn > 0;
	pthread_mutex_unlock(&m->lock);
	return due;
}

bool zk_mirror_ready(const struct zk_mirror *m)
{
	return m->ready;
}

size_t zk_mirror_count(const struct zk_mirror *m)
{
	return m->n;
}

bool zk_mirror_serving(const struct zk_mirror *m)
{
	return m->serving;
}

int zk_mirror_step(struct zk_mirror *m, zhandle_t *zh)
{
	struct mwait w = {.pending = 0};
	struct mreq *reqs;
	size_t n;
	int rc = ZOK;

	pthread_mutex_lock(&m->lock);
	n = m->off ? 0 : (m->qn < STEP_MAX ? m->qn : STEP_MAX);
	reqs = n > 0 ? calloc(n, sizeof(*reqs)) : NULL;
	if (reqs == NULL) {
		pthread_mutex_unlock(&m->lock);
		return n > 0 ? ZSYSTEMERROR : ZOK;
	}
	/* From the end: the newest first, which does not matter, and no
	 * moving of the rest. */
	for (size_t i = 0; i < n; i++)
		reqs[i].item = m->q[m->qn - n + i];
	m->qn -= n;
	pthread_mutex_unlock(&m->lock);

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	for (size_t i = 0; i < n; i++) {
		struct mreq *r = &reqs[i];

		r->w = &w;
		r->dzrc = r->kzrc = ZCONNECTIONLOSS; /* if not sent */
		pthread_mutex_lock(&w.lock);
		w.pending += 2;
		pthread_mutex_unlock(&w.lock);
		if (!(r->item.want & WANT_DATA) ||
		    zoo_awget(zh, r->item.path, watcher, m, data_done, r) != ZOK)
			answered(&w);
		if (!(r->item.want & WANT_KIDS) ||
		    zoo_awget_children(zh, r->item.path, watcher, m, kids_done,
		                       r) != ZOK)
			answered(&w);
	}
	pthread_mutex_lock(&w.lock);
	while (w.pending > 0)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);

	for (size_t i = 0; i < n; i++) {
		int zrc = apply(m, &reqs[i]);

		if (rc == ZOK)
			rc = zrc;
		free(reqs[i].item.path);
		free(reqs[i].data);
		strv_free(reqs[i].kids, reqs[i].n_kids);
	}
	free(reqs);
	if (rc == ZOK && !m->ready) {
		pthread_mutex_lock(&m->lock);
		m->ready = m->qn == 0 && !m->off;
		pthread_mutex_unlock(&m->lock);
	}
	return rc;
}

void zk_mirror_reset(struct zk_mirror *m)
{
	if (m->serving) {
		/* Reads would find an empty copy: ZooKeeper answers them. */
		zk_mirror_drop(m);
		return;
	}
	table_clear(m);
	m->ready = false;
	pthread_mutex_lock(&m->lock);
	queue_clear_locked(m);
	if (!m->off && queue_push_locked(m, m->base, WANT_DATA | WANT_KIDS) != 0)
		m->off = true;
	pthread_mutex_unlock(&m->lock);
}

static void sync_done(int rc, const char *value, const void *arg)
{
	struct mwait *w = (struct mwait *)arg;

	(void)value;
	w->zrc = rc;
	answered(w);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The connection failed a request: the session, and its watches, may
 * live on. */
static bool connection_lost(int zrc)
{
	return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT;
}

int zk_mirror_catch_up(struct zk_mirror *m, zhandle_t *zh, int timeout_ms,
                       size_t *reads_r, const char **why_r)
{
	struct mwait w = {.pending = 1, .zrc = ZSYSTEMERROR};
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *oom = "it was dropped (out of memory)";
	bool off;
	int zrc;

	*reads_r = 0;
	pthread_mutex_lock(&m->lock);
	off = m->off;
	pthread_mutex_unlock(&m->lock);
	if (off) {
		*why_r = oom;
		return -1;
	}
	if (!m->ready) {
		*why_r = "it had not finished reading the state yet";
		return -1;
	}
	/* The sync's completion always comes: with the answer, or with
	 * ZCONNECTIONLOSS or ZCLOSING. */
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	if (zoo_async(zh, m->base, sync_done, &w) != ZOK) {
		w.pending = 0;
	} else {
		pthread_mutex_lock(&w.lock);
		while (w.pending > 0)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (w.zrc != ZOK) {
		*why_r = "ZooKeeper did not answer the sync";
		return connection_lost(w.zrc) ? 1 : -1;
	}
	/* Every change before the sync is queued now: read until none is. */
	for (;;) {
		size_t qn;

		pthread_mutex_lock(&m->lock);
		qn = m->qn;
		off = m->off;
		if (qn == 0 && !off)
			m->serving = true;
		pthread_mutex_unlock(&m->lock);
		if (off) {
			*why_r = oom;
			return -1;
		}
		if (qn == 0)
			return 0;
		if (now_ms() >= deadline) {
			*why_r = "the changes kept coming (is another "
			         "program writing under the path?)";
			return -1;
		}
		*reads_r += qn < STEP_MAX ? qn : STEP_MAX;
		if ((zrc = zk_mirror_step(m, zh)) != ZOK) {
			*why_r = "ZooKeeper failed a read of the changes";
			return connection_lost(zrc) ? 1 : -1;
		}
	}
}

void zk_mirror_drop(struct zk_mirror *m)
{
	pthread_mutex_lock(&m->lock);
	m->off = true;
	m->serving = false;
	queue_clear_locked(m);
	pthread_mutex_unlock(&m->lock);
	table_clear(m);
	m->ready = false;
}

bool zk_mirror_get(const struct zk_mirror *m, const char *path,
                   const char **data_r, size_t *len_r)
{
	const struct mnode *nd = find(m, path);

	if (nd == NULL)
		return false;
	*data_r = nd->data;
	*len_r = nd->len;
	return true;
}

void zk_mirror_list(const struct zk_mirror *m, const char *path,
                    char *const **names_r, size_t *n_r)
{
	const struct mnode *nd = find(m, path);

	*names_r = nd != NULL ? nd->kids : NULL;
	*n_r = nd != NULL ? nd->n_kids : 0;
}
