/*
 * storage_zookeeper: stadion's state in ZooKeeper, for cluster mode (--zk;
 * see README.md beside this file).
 *
 * Layout.  A stadion key "apps/web/v1" is the znode "<path>/apps/web/v1":
 * one znode per entity, never one growing blob.  A znode's data says what it
 * is, by its first byte:
 *   (empty)  an implied parent: created so that a key below it has a parent,
 *            never put itself.  get() finds STADION_ENOENT, as with LMDB,
 *            and it is removed again when its last child goes.
 *   'r'      the value follows as is (so an empty value is one byte);
 *   'z'      a 4-byte big-endian length, then the value deflated (zlib),
 *            for values of compression_threshold_bytes or more when that
 *            is smaller.
 *
 * Threading.  Every operation goes through one FIFO queue to one worker
 * thread the plugin owns, which runs it with the synchronous ZooKeeper API
 * (libzookeeper_mt, built with -DTHREADED; gets queued next to each other
 * are sent together, asynchronously, and waited for as one) and hands the
 * result to a done
 * queue; the first result that makes it non-empty posts one drain callback
 * to the loop (host->post()), which calls the completions in order.  One
 * thread, one operation at a time: completions come in the order the
 * operations were started and a read sees every write started before it,
 * whatever the write needed (a delete is a walk of the subtree, then a
 * transaction).
 *
 * Writes.  put, del and batch are planned against the tree as it is (reads,
 * with an overlay of what the plan itself changed: parents to create,
 * subtrees to remove, implied parents left childless), then applied as one
 * zoo_multi transaction: all or nothing.  A plan is checked against
 * ZooKeeper's request limit (jute.maxbuffer, 1 MiB by default) before it is
 * sent; a batch over it is refused with STADION_ETOOBIG instead of losing
 * the connection half-way.  Only a single del of a subtree too large for one
 * request is split, children before parents, so that the tree stays a tree
 * at every step.
 *
 * Failures.  Connection loss, an operation timeout or an expired session
 * retry the operation (a new session after an expiry) until timeout_ms has
 * passed since it started.  Plans are made again on every try, so a write
 * that did land before the connection dropped is not applied twice: the
 * second plan finds it there.  Leadership is not this plugin's business:
 * stadiond's leader module holds its own session and stops the process
 * before another node can be elected, so a deposed leader's writes never
 * interleave with the new leader's.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>
#include <zookeeper/zookeeper.h>

#include <stadion/storage.h>

#include "../storage_common.h"
#include "zk_mirror.h"

/* ZooKeeper refuses a request over jute.maxbuffer (0xfffff by default) by
 * dropping the connection; stay clear of it with room for the framing. */
#define REQUEST_LIMIT_DEFAULT 1040000
#define MAX_VALUE_DEFAULT 1000000
#define MAX_VALUE_LIMIT 1000000
#define OP_OVERHEAD 48 /* bytes per operation in a multi: header, ACL, version */
#define COMPRESS_DEFAULT 65536
#define SESSION_TIMEOUT_DEFAULT 10000
#define TIMEOUT_DEFAULT 10000
#define CONFLICT_RETRIES 5
/* A standby reads the changes it follows at most this often: a znode that
 * changes many times meanwhile (the instances' parent, while instances
 * are created) is read once, and a new leader reads what is left. */
#define MIRROR_FOLLOW_MS 200
#define HDR_RAW 'r'
#define HDR_ZLIB 'z'

/* One element of a put/del/batch, with its own copies. */
struct zk_elem {
	uint32_t type;  /* enum stadion_storage_op_type */
	char *key;      /* owned, stadion form */
	void *value;    /* owned, PUT only; NULL when len is 0 */
	size_t len;
	char *enc;      /* owned: the znode data, made once by the worker */
	size_t enc_len;
};

/* One operation (see struct storage_common_op, which holds its callback
 * and result). */
struct zk_op {
	struct storage_common_op c; /* first */
	struct zk_elem *elems; /* owned: 1, or one per batch element */
	size_t n_elems;
};

struct zk_store {
	const struct stadion_host *host; /* borrowed until destroy() */
	char *hosts;                     /* owned: "h1:p1,h2:p2" */
	char *base;                      /* owned: "/stadion/state" */
	char *digest;                    /* owned: "user:password" or NULL */
	int session_timeout_ms;
	int timeout_ms;
	size_t max_value;
	size_t compress_threshold;
	size_t request_limit;
	struct ACL_vector *acl;          /* static: open, or creator-only */

	zhandle_t *zh;                   /* worker (and create/destroy) only */
	bool base_made;                  /* worker only: the base path exists */
	char *buf;                       /* owned, worker only: get buffer */
	size_t buf_len;

	pthread_t worker;
	pthread_mutex_t lock;            /* guards queues, flags, zstate */
	pthread_cond_t wake;             /* work queued, or stopping */
	pthread_cond_t conn;             /* zstate changed */
	int zstate;                      /* last session state seen */
	struct storage_common_queue work; /* loop -> worker */
	struct storage_common_queue done; /* worker -> drain on loop */
	bool drain_posted;
	bool stopping;

	/* The standby mirror (zk_mirror.h): owned, NULL when
	 * standby_mirror is off.  Worker only once create() returned. */
	struct zk_mirror *mirror;
	bool first_op;             /* an operation came: mirror work ends */
	uint64_t mirror_retry_at;  /* no mirror work before (now_ms() time,
	                            * after a failure or a followed change);
	                            * guarded by lock */

	size_t outstanding; /* loop thread only: started, not completed */
	bool dormant;       /* no "hosts": every call is refused */
};

#define LOG(s, level, ...) (s)->host->log((s)->host->ctx, (level), __VA_ARGS__)

/* storage_common_op_fail() for one of ours. */
#define op_fail(op, ...) storage_common_op_fail(&(op)->c, __VA_ARGS__)

/* The operation after OP in a list, NULL at the end. */
static struct zk_op *op_next(const struct zk_op *op)
{
	return (struct zk_op *)op->c.next;
}

static void op_free(struct zk_op *op)
{
	for (size_t i = 0; i < op->n_elems; i++) {
		free(op->elems[i].key);
		free(op->elems[i].value);
		free(op->elems[i].enc);
	}
	free(op->elems);
	storage_common_op_free_result(&op->c);
	free(op);
}

/* ------------------------------------------------------------------------
 * Completions: always through the done queue and one posted drain
 * ------------------------------------------------------------------------ */

/* Call OP's completion and free it.  Loop thread (or destroy()). */
static void op_complete(struct zk_store *s, struct zk_op *op)
{
	s->outstanding--;
	storage_common_op_deliver(&op->c);
	op_free(op);
}

static void drain(void *arg)
{
	struct zk_store *s = arg;
	struct zk_op *ops, *next;

	ops = (struct zk_op *)storage_common_drain_take(&s->lock, &s->done,
	                                                &s->drain_posted);
	/* The list is ours now: a completion may start new operations. */
	for (; ops != NULL; ops = next) {
		next = op_next(ops);
		op_complete(s, ops);
	}
}

/* Hand finished OP to the loop.  Worker thread. */
static void finish(struct zk_store *s, struct zk_op *op)
{
	/* OP alone, not the operations after it in the worker's list. */
	op->c.next = NULL;
	storage_common_finish(s->host, &s->lock, &s->done, &s->drain_posted,
	                      &op->c, drain, s);
}

/* ------------------------------------------------------------------------
 * The session (worker thread, create() and destroy())
 * ------------------------------------------------------------------------ */

/* ZooKeeper's own thread tells us how the session goes. */
static void session_watcher(zhandle_t *zh, int type, int state,
                            const char *path, void *ctx)
{
	struct zk_store *s = ctx;

	if (type != ZOO_SESSION_EVENT)
		return;
	pthread_mutex_lock(&s->lock);
	s->zstate = state;
	pthread_cond_broadcast(&s->conn);
	/* A standby's mirror waits for the connection too. */
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static int session_open(struct zk_store *s)
{
	pthread_mutex_lock(&s->lock);
	s->zstate = ZOO_CONNECTING_STATE;
	pthread_mutex_unlock(&s->lock);
	s->zh = zookeeper_init(s->hosts, session_watcher, s->session_timeout_ms,
	                       NULL, s, 0);
	if (s->zh == NULL)
		return -1;
	if (s->digest != NULL &&
	    zoo_add_auth(s->zh, "digest", s->digest, (int)strlen(s->digest),
	                 NULL, NULL) != ZOK)
		return -1;
	return 0;
}

static void session_close(struct zk_store *s)
{
	if (s->zh != NULL)
		zookeeper_close(s->zh);
	s->zh = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until the session is connected, opening a new one after an expiry,
 * until DEADLINE (now_ms() time).  0, or -1 when it is past (or the store
 * is stopping and nothing can be finished). */
static int wait_connected(struct zk_store *s, uint64_t deadline)
{
	struct timespec ts;
	int state;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		state = s->zstate;
		pthread_mutex_unlock(&s->lock);
		if (state == ZOO_CONNECTED_STATE && s->zh != NULL)
			return 0;
		if (state == ZOO_EXPIRED_SESSION_STATE ||
		    state == ZOO_AUTH_FAILED_STATE || s->zh == NULL) {
			LOG(s, state == ZOO_AUTH_FAILED_STATE ? STADION_LOG_ERROR
			                                      : STADION_LOG_WARN,
			    "ZooKeeper session at %s %s; opening a new one",
			    s->hosts,
			    state == ZOO_AUTH_FAILED_STATE
			            ? "refused the digest credentials"
			            : "expired");
			session_close(s);
			/* Its watches went with the session. */
			if (s->mirror != NULL)
				zk_mirror_reset(s->mirror);
			if (session_open(s) != 0)
				return -1;
		}
		if (now_ms() >= deadline)
			return -1;
		pthread_mutex_lock(&s->lock);
		if (s->stopping && s->zstate != ZOO_CONNECTED_STATE) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (s->zstate != ZOO_CONNECTED_STATE)
			pthread_cond_timedwait(&s->conn, &s->lock, &ts);
		pthread_mutex_unlock(&s->lock);
	}
}

/* Worth another try once connected: the request may or may not have been
 * applied, and the next plan finds out which. */
static bool is_transient(int zrc)
{
	return zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT ||
	       zrc == ZSESSIONEXPIRED || zrc == ZINVALIDSTATE ||
	       zrc == ZSESSIONMOVED || zrc == ZCLOSING;
}

/* The tree changed under a plan (another writer): plan again. */
static bool is_conflict(int zrc)
{
	return zrc == ZNODEEXISTS || zrc == ZNONODE || zrc == ZNOTEMPTY ||
	       zrc == ZBADVERSION;
}

/* ------------------------------------------------------------------------
 * Paths and values
 * ------------------------------------------------------------------------ */

/* "<base>/<key>", or the base itself for "".  NULL when out of memory. */
static char *znode_path(const struct zk_store *s, const char *key)
{
	size_t bl = strlen(s->base), kl = strlen(key);
	char *p = malloc(bl + kl + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, s->base, bl);
	if (kl > 0) {
		p[bl] = '/';
		memcpy(p + bl + 1, key, kl + 1);
	} else {
		p[bl] = '\0';
	}
	return p;
}

/* The znode data for a value (see the header comment): E->enc. */
static int encode(const struct zk_store *s, struct zk_elem *e)
{
	uLongf zlen;
	char *out;

	if (e->enc != NULL)
		return 0;
	if (e->len >= s->compress_threshold && e->len > 0) {
		zlen = compressBound((uLong)e->len);
		if ((out = malloc(zlen + 5)) == NULL)
			return -1;
		if (compress2((Bytef *)out + 5, &zlen, e->value, (uLong)e->len,
		              Z_BEST_SPEED) == Z_OK &&
		    zlen + 5 < e->len + 1) {
			out[0] = HDR_ZLIB;
			out[1] = (char)((e->len >> 24) & 0xff);
			out[2] = (char)((e->len >> 16) & 0xff);
			out[3] = (char)((e->len >> 8) & 0xff);
			out[4] = (char)(e->len & 0xff);
			e->enc = out;
			e->enc_len = zlen + 5;
			return 0;
		}
		free(out);
	}
	if ((out = malloc(e->len + 1)) == NULL)
		return -1;
	out[0] = HDR_RAW;
	if (e->len > 0)
		memcpy(out + 1, e->value, e->len);
	e->enc = out;
	e->enc_len = e->len + 1;
	return 0;
}

/* Turn znode data DATA (LEN bytes, LEN > 0) into OP's value. */
static void decode(struct zk_op *op, const char *path, const char *data,
                   size_t len)
{
	uLongf out_len;
	size_t orig;

	if (data[0] == HDR_RAW) {
		/* One byte more, so that an empty value is non-NULL. */
		if ((op->c.value = malloc(len)) == NULL) {
			op_fail(op, STADION_ENOMEM, "out of memory");
			return;
		}
		memcpy(op->c.value, data + 1, len - 1);
		op->c.len = len - 1;
		op->c.rc = 0;
		return;
	}
	if (data[0] != HDR_ZLIB || len < 5) {
		op_fail(op, STADION_EIO,
		        "znode %s has data stadion did not write (first byte "
		        "0x%02x): remove it, or point --zk at a path of "
		        "stadion's own",
		        path, (unsigned char)data[0]);
		return;
	}
	orig = (size_t)(unsigned char)data[1] << 24 |
	       (size_t)(unsigned char)data[2] << 16 |
	       (size_t)(unsigned char)data[3] << 8 | (unsigned char)data[4];
	if ((op->c.value = malloc(orig + 1)) == NULL) {
		op_fail(op, STADION_ENOMEM, "out of memory");
		return;
	}
	out_len = orig;
	if (uncompress(op->c.value, &out_len, (const Bytef *)data + 5,
	               (uLong)(len - 5)) != Z_OK ||
	    out_len != orig) {
		free(op->c.value);
		op->c.value = NULL;
		op_fail(op, STADION_EIO,
		        "znode %s holds a compressed value that does not "
		        "inflate: the store is damaged there",
		        path);
		return;
	}
	op->c.len = orig;
	op->c.rc = 0;
}

/* ------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------ */

static int exec_get(struct zk_store *s, struct zk_op *op)
{
	char *path = znode_path(s, op->elems[0].key);
	struct Stat stat;
	int len = (int)s->buf_len, zrc;

	if (path == NULL)
		return op_fail(op, STADION_ENOMEM, "out of memory"), ZOK;
	zrc = zoo_get(s->zh, path, 0, s->buf, &len, &stat);
	if (zrc == ZNONODE || (zrc == ZOK && len <= 0)) {
		op_fail(op, STADION_ENOENT, "no such key");
		zrc = ZOK;
	} else if (zrc == ZOK && (size_t)stat.dataLength > s->buf_len) {
		op_fail(op, STADION_EIO,
		        "znode %s holds %d bytes, more than this plugin reads "
		        "(%zu): it was not written by stadion",
		        path, stat.dataLength, s->buf_len);
	} else if (zrc == ZOK) {
		decode(op, path, s->buf, (size_t)len);
	} else if (!is_transient(zrc)) {
		op_fail(op, STADION_EIO, "ZooKeeper get of %s failed: %s", path,
		        zerror(zrc));
		zrc = ZOK;
	}
	free(path);
	return zrc;
}

static int cmp_names(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: byte order, as the contract
	 * wants. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* OP's result: copies of the N NAMES.  0, or -1 with OP failed. */
static int op_set_names(struct zk_op *op, char *const *names, size_t n)
{
	if (n > 0 && (op->c.names = calloc(n, sizeof(char *))) == NULL)
		return op_fail(op, STADION_ENOMEM, "out of memory"), -1;
	for (size_t i = 0; i < n; i++) {
		if ((op->c.names[i] = strdup(names[i])) == NULL)
			return op_fail(op, STADION_ENOMEM, "out of memory"), -1;
		op->c.n_names++;
	}
	op->c.rc = 0;
	return 0;
}

static int exec_list(struct zk_store *s, struct zk_op *op)
{
	char *path = znode_path(s, op->elems[0].key);
	struct String_vector kids = {0};
	int zrc;

	if (path == NULL)
		return op_fail(op, STADION_ENOMEM, "out of memory"), ZOK;
	zrc = zoo_get_children(s->zh, path, 0, &kids);
	if (zrc == ZNONODE) {
		op->c.rc = 0;
		zrc = ZOK;
		goto out_free_path;
	}
	if (zrc != ZOK) {
		if (!is_transient(zrc)) {
			op_fail(op, STADION_EIO,
			        "ZooKeeper list of %s failed: %s", path,
			        zerror(zrc));
			zrc = ZOK;
		}
		goto out_free_path;
	}
	if (op_set_names(op, kids.data, (size_t)kids.count) == 0 &&
	    op->c.n_names > 1)
		qsort(op->c.names, op->c.n_names, sizeof(char *), cmp_names);
	deallocate_String_vector(&kids);
out_free_path:
	free(path);
	return zrc;
}

/* ------------------------------------------------------------------------
 * Write plans: the tree as ZooKeeper has it, overlaid with the plan's own
 * changes, and the multi that makes them
 * ------------------------------------------------------------------------ */

enum ent_state { ENT_ABSENT, ENT_IMPLIED, ENT_VALUE };

/* One znode the plan looked at or changed. */
struct ent {
	char *path;          /* owned: full znode path */
	size_t parent_len;   /* path[0..parent_len) is the parent's path */
	enum ent_state state;
	bool fresh;          /* (re)created by the plan: ZooKeeper's children
	                      * of the path are not its children */
	struct ent *hnext;
};

struct plan {
	struct zk_store *s;
	struct ent **tab;    /* owned hash table of entries */
	size_t cap, n;
	zoo_op_t *zops;      /* owned */
	size_t nz, capz;
	size_t bytes;        /* the request's size, roughly from above */
	char scratch[1024];  /* created paths come back here, unread */
};

static size_t hash_path(const char *p, size_t len)
{
	size_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->cap; i++) {
		struct ent *e = pl->tab[i], *next;

		for (; e != NULL; e = next) {
			next = e->hnext;
			free(e->path);
			free(e);
		}
	}
	free(pl->tab);
	free(pl->zops);
	memset(pl, 0, sizeof(*pl));
}

static struct ent *plan_find(struct plan *pl, const char *path)
{
	size_t len = strlen(path);
	struct ent *e;

	if (pl->cap == 0)
		return NULL;
	for (e = pl->tab[hash_path(path, len) & (pl->cap - 1)]; e != NULL;
	     e = e->hnext)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static int plan_grow(struct plan *pl)
{
	size_t ncap = pl->cap != 0 ? pl->cap * 2 : 64;
	struct ent **tab = calloc(ncap, sizeof(*tab));

	if (tab == NULL)
		return -1;
	for (size_t i = 0; i < pl->cap; i++) {
		struct ent *e = pl->tab[i], *next;

		for (; e != NULL; e = next) {
			size_t h = hash_path(e->path, strlen(e->path));

			next = e->hnext;
			e->hnext = tab[h & (ncap - 1)];
			tab[h & (ncap - 1)] = e;
		}
	}
	free(pl->tab);
	pl->tab = tab;
	pl->cap = ncap;
	return 0;
}

static struct ent *plan_add(struct plan *pl, const char *path,
                            enum ent_state state, bool fresh)
{
	struct ent *e;
	const char *slash;
	size_t h;

	if (pl->n >= pl->cap && plan_grow(pl) != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->path = strdup(path)) == NULL) {
		free(e);
		return NULL;
	}
	slash = strrchr(path, '/');
	e->parent_len = slash != NULL ? (size_t)(slash - path) : 0;
	e->state = state;
	e->fresh = fresh;
	h = hash_path(path, strlen(path)) & (pl->cap - 1);
	e->hnext = pl->tab[h];
	pl->tab[h] = e;
	pl->n++;
	return e;
}

/* The entry for PATH, asking ZooKeeper the first time.  *ZRC_R is the
 * ZooKeeper code when that failed (NULL returned); ZSYSTEMERROR for memory. */
static struct ent *plan_lookup(struct plan *pl, const char *path, int *zrc_r)
{
	struct ent *e = plan_find(pl, path);
	struct Stat stat;
	int zrc;

	if (e != NULL)
		return e;
	zrc = zoo_exists(pl->s->zh, path, 0, &stat);
	if (zrc != ZOK && zrc != ZNONODE) {
		*zrc_r = zrc;
		return NULL;
	}
	e = plan_add(pl, path,
	             zrc == ZNONODE          ? ENT_ABSENT
	             : stat.dataLength == 0 ? ENT_IMPLIED
	                                     : ENT_VALUE,
	             false);
	if (e == NULL)
		*zrc_r = ZSYSTEMERROR;
	return e;
}

static int plan_emit(struct plan *pl, size_t extra)
{
	if (pl->nz == pl->capz) {
		size_t ncap = pl->capz != 0 ? pl->capz * 2 : 16;
		zoo_op_t *z = realloc(pl->zops, ncap * sizeof(*z));

		if (z == NULL)
			return ZSYSTEMERROR;
		pl->zops = z;
		pl->capz = ncap;
	}
	pl->bytes += OP_OVERHEAD + extra;
	pl->nz++;
	return ZOK;
}

static int plan_create(struct plan *pl, struct ent *e, const char *data,
                       size_t len)
{
	if (plan_emit(pl, strlen(e->path) + len) != ZOK)
		return ZSYSTEMERROR;
	zoo_create_op_init(&pl->zops[pl->nz - 1], e->path, data, (int)len,
	                   pl->s->acl, 0, pl->scratch, sizeof(pl->scratch));
	return ZOK;
}

static int plan_set(struct plan *pl, struct ent *e, const char *data,
                    size_t len)
{
	if (plan_emit(pl, strlen(e->path) + len) != ZOK)
		return ZSYSTEMERROR;
	zoo_set_op_init(&pl->zops[pl->nz - 1], e->path, data, (int)len, -1,
	                NULL);
	return ZOK;
}

static int plan_delete(struct plan *pl, struct ent *e)
{
	if (plan_emit(pl, strlen(e->path)) != ZOK)
		return ZSYSTEMERROR;
	zoo_delete_op_init(&pl->zops[pl->nz - 1], e->path, -1);
	e->state = ENT_ABSENT;
	/* All its children go first, so a later create starts empty. */
	e->fresh = true;
	return ZOK;
}

/* A growing list of paths. */
struct pathv {
	char **v; /* owned, each owned */
	size_t n, cap;
};

static void pathv_free(struct pathv *pv)
{
	for (size_t i = 0; i < pv->n; i++)
		free(pv->v[i]);
	free(pv->v);
	memset(pv, 0, sizeof(*pv));
}

static int pathv_add(struct pathv *pv, const char *path)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap != 0 ? pv->cap * 2 : 8;
		char **v = realloc(pv->v, ncap * sizeof(*v));

		if (v == NULL)
			return -1;
		pv->v = v;
		pv->cap = ncap;
	}
	if ((pv->v[pv->n] = strdup(path)) == NULL)
		return -1;
	pv->n++;
	return 0;
}

/* The children of E (present) as the plan sees them, as full paths. */
static int plan_children(struct plan *pl, const struct ent *e,
                         struct pathv *out)
{
	size_t plen = strlen(e->path);
	struct String_vector kids = {0};
	char *full;
	int zrc = ZOK;

	if (!e->fresh) {
		zrc = zoo_get_children(pl->s->zh, e->path, 0, &kids);
		if (zrc == ZNONODE)
			zrc = ZOK;
		if (zrc != ZOK)
			return zrc;
		for (int i = 0; i < kids.count && zrc == ZOK; i++) {
			const struct ent *k;

			if ((full = malloc(plen + strlen(kids.data[i]) + 2)) ==
			    NULL) {
				zrc = ZSYSTEMERROR;
				break;
			}
			sprintf(full, "%s/%s", e->path, kids.data[i]);
			k = plan_find(pl, full);
			if ((k == NULL || k->state != ENT_ABSENT) &&
			    pathv_add(out, full) != 0)
				zrc = ZSYSTEMERROR;
			free(full);
		}
		deallocate_String_vector(&kids);
		if (zrc != ZOK)
			return zrc;
	}
	/* Children the plan created (or knows of) that ZooKeeper did not
	 * list. */
	for (size_t i = 0; i < pl->cap; i++) {
		for (const struct ent *k = pl->tab[i]; k != NULL;
		     k = k->hnext) {
			bool listed = false;

			if (k->state == ENT_ABSENT || k->parent_len != plen ||
			    strncmp(k->path, e->path, plen) != 0)
				continue;
			for (size_t j = 0; j < out->n && !listed; j++)
				listed = strcmp(out->v[j], k->path) == 0;
			if (!listed && pathv_add(out, k->path) != 0)
				return ZSYSTEMERROR;
		}
	}
	return ZOK;
}

/* Delete PATH (present) and everything below it, children first. */
static int plan_del_tree(struct plan *pl, const char *path)
{
	struct pathv kids = {0};
	struct ent *e;
	int zrc = ZOK;

	if ((e = plan_lookup(pl, path, &zrc)) == NULL)
		return zrc;
	if (e->state == ENT_ABSENT)
		return ZOK;
	if ((zrc = plan_children(pl, e, &kids)) != ZOK)
		goto out_free_kids;
	for (size_t i = 0; i < kids.n && zrc == ZOK; i++)
		zrc = plan_del_tree(pl, kids.v[i]);
	if (zrc == ZOK)
		zrc = plan_delete(pl, e);
out_free_kids:
	pathv_free(&kids);
	return zrc;
}

/* Remove the implied parents above PATH that have no children left. */
static int plan_prune(struct plan *pl, const char *path)
{
	size_t blen = strlen(pl->s->base);
	char *p = strdup(path), *slash;
	int zrc = ZOK;

	if (p == NULL)
		return ZSYSTEMERROR;
	while ((slash = strrchr(p, '/')) != NULL &&
	       (size_t)(slash - p) > blen) {
		struct pathv kids = {0};
		struct ent *e;

		*slash = '\0';
		if ((e = plan_lookup(pl, p, &zrc)) == NULL)
			break;
		if (e->state != ENT_IMPLIED)
			break;
		zrc = plan_children(pl, e, &kids);
		if (zrc == ZOK && kids.n == 0)
			zrc = plan_delete(pl, e);
		else
			slash = NULL;
		pathv_free(&kids);
		if (zrc != ZOK || slash == NULL)
			break;
	}
	free(p);
	return zrc;
}

static int plan_put(struct plan *pl, struct zk_elem *el)
{
	size_t blen = strlen(pl->s->base);
	char *path = znode_path(pl->s, el->key);
	struct ent *e;
	int zrc = ZOK;

	if (path == NULL || encode(pl->s, el) != 0) {
		free(path);
		return ZSYSTEMERROR;
	}
	/* Parents first: each missing one becomes an implied parent. */
	for (char *slash = path + blen + 1;
	     (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		e = plan_lookup(pl, path, &zrc);
		if (e != NULL && e->state == ENT_ABSENT) {
			zrc = plan_create(pl, e, "", 0);
			e->state = ENT_IMPLIED;
			e->fresh = true;
		}
		*slash = '/';
		if (zrc != ZOK)
			goto out_free_path;
	}
	if ((e = plan_lookup(pl, path, &zrc)) == NULL)
		goto out_free_path;
	if (e->state == ENT_ABSENT) {
		zrc = plan_create(pl, e, el->enc, el->enc_len);
		e->fresh = true;
	} else {
		zrc = plan_set(pl, e, el->enc, el->enc_len);
	}
	e->state = ENT_VALUE;
out_free_path:
	free(path);
	return zrc;
}

static int plan_del(struct plan *pl, const struct zk_elem *el)
{
	char *path = znode_path(pl->s, el->key);
	int zrc;

	if (path == NULL)
		return ZSYSTEMERROR;
	zrc = plan_del_tree(pl, path);
	if (zrc == ZOK)
		zrc = plan_prune(pl, path);
	free(path);
	return zrc;
}

/* Fill OP's failure from a ZooKeeper code that is not worth a retry. */
static void fail_write(struct zk_store *s, struct zk_op *op, int zrc)
{
	if (zrc == ZSYSTEMERROR)
		op_fail(op, STADION_ENOMEM, "out of memory");
	else if (zrc == ZNOAUTH)
		op_fail(op, STADION_EIO,
		        "ZooKeeper refused the write under %s (no "
		        "permission): give stadion's digest credentials "
		        "(user:password@ in --zk) the rights on that path",
		        s->base);
	else
		op_fail(op, STADION_EIO, "ZooKeeper write under %s failed: %s",
		        s->base, zerror(zrc));
}

/* Send ops FIRST..FIRST+N of PL as one transaction. */
static int multi(struct plan *pl, size_t first, size_t n)
{
	zoo_op_result_t *res = calloc(n, sizeof(*res));
	int zrc;

	if (res == NULL)
		return ZSYSTEMERROR;
	zrc = zoo_multi(pl->s->zh, (int)n, pl->zops + first, res);
	free(res);
	return zrc;
}

static int exec_write(struct zk_store *s, struct zk_op *op)
{
	struct plan pl = {.s = s};
	size_t start, chunk_bytes;
	int zrc = ZOK;

	for (size_t i = 0; i < op->n_elems && zrc == ZOK; i++) {
		if (op->elems[i].type == STADION_STORAGE_PUT)
			zrc = plan_put(&pl, &op->elems[i]);
		else
			zrc = plan_del(&pl, &op->elems[i]);
	}
	if (zrc != ZOK)
		goto out;
	if (pl.nz == 0) {
		op->c.rc = 0;
		goto out;
	}
	if (pl.bytes <= s->request_limit) {
		zrc = multi(&pl, 0, pl.nz);
		if (zrc == ZOK)
			op->c.rc = 0;
		goto out;
	}
	if (op->c.kind != OP_DEL) {
		op_fail(op, STADION_ETOOBIG,
		        "%s of %zu changes needs a ZooKeeper transaction of "
		        "about %zu bytes, over the limit of %zu (the server's "
		        "jute.maxbuffer): nothing was written; keep entities "
		        "smaller or commit fewer of them together",
		        op->c.kind == OP_BATCH ? "batch" : "put", pl.nz,
		        pl.bytes, s->request_limit);
		goto out;
	}
	/* A del too large for one transaction: children before parents,
	 * so the tree is whole after every step. */
	for (start = 0; start < pl.nz && zrc == ZOK;) {
		size_t n = 0;

		chunk_bytes = 0;
		while (start + n < pl.nz && chunk_bytes < s->request_limit / 2) {
			chunk_bytes += OP_OVERHEAD +
			               strlen(pl.zops[start + n].delete_op.path);
			n++;
		}
		zrc = multi(&pl, start, n);
		start += n;
	}
	if (zrc == ZOK)
		op->c.rc = 0;
out:
	plan_free(&pl);
	if (zrc != ZOK && !is_transient(zrc) && !is_conflict(zrc))
		fail_write(s, op, zrc), zrc = ZOK;
	return zrc;
}

/* A put of a key whose parents exist: one request, no plan. */
static int exec_put_fast(struct zk_store *s, struct zk_op *op, bool *done_r)
{
	struct zk_elem *el = &op->elems[0];
	char *path = znode_path(s, el->key);
	int zrc;

	*done_r = false;
	if (path == NULL || encode(s, el) != 0) {
		free(path);
		return ZSYSTEMERROR;
	}
	zrc = zoo_set(s->zh, path, el->enc, (int)el->enc_len, -1);
	if (zrc == ZNONODE)
		zrc = zoo_create(s->zh, path, el->enc, (int)el->enc_len, s->acl,
		                 0, NULL, 0);
	free(path);
	if (zrc == ZOK) {
		op->c.rc = 0;
		*done_r = true;
	}
	/* ZNONODE: a parent is missing; ZNODEEXISTS: raced; both plan. */
	return zrc == ZNONODE || zrc == ZNODEEXISTS ? ZOK : zrc;
}

/* Run OP to its result, through connection losses and conflicts. */
static int make_base(struct zk_store *s, struct stadion_err *err);

/* The base path, made by the first operation rather than at create():
 * a cluster node starts, and serves as a standby, while ZooKeeper is
 * down.  0, or -1 with OP failed once DEADLINE is past. */
static int ensure_base(struct zk_store *s, struct zk_op *op,
                       uint64_t deadline)
{
	const struct timespec pause = {0, 100 * 1000000L};
	struct stadion_err err = {0};

	while (!s->base_made) {
		if (wait_connected(s, deadline) == 0 && make_base(s, &err) == 0) {
			s->base_made = true;
			break;
		}
		if (now_ms() >= deadline) {
			op_fail(op, err.code != 0 ? err.code : STADION_ETIMEDOUT,
			        "%s", err.msg[0] != '\0'
			                  ? err.msg
			                  : "ZooKeeper was not reachable within "
			                    "zk_timeout");
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

static void run_op(struct zk_store *s, struct zk_op *op)
{
	uint64_t deadline = now_ms() + (uint64_t)s->timeout_ms;
	int conflicts = 0, zrc;
	bool done = false;

	if (ensure_base(s, op, deadline) != 0)
		return;
	for (;;) {
		if (wait_connected(s, deadline) != 0) {
			op_fail(op, STADION_ETIMEDOUT,
			        "ZooKeeper at %s was not reachable within %d "
			        "ms (zk_timeout): check that the ensemble is "
			        "up and reachable from this host",
			        s->hosts, s->timeout_ms);
			return;
		}
		op->c.rc = STADION_EIO;
		switch (op->c.kind) {
		case OP_GET:
			zrc = exec_get(s, op);
			break;
		case OP_LIST:
			zrc = exec_list(s, op);
			break;
		case OP_PUT:
			zrc = exec_put_fast(s, op, &done);
			if (zrc == ZOK && !done)
				zrc = exec_write(s, op);
			break;
		default:
			zrc = exec_write(s, op);
			break;
		}
		if (zrc == ZOK)
			return;
		if (is_conflict(zrc) && ++conflicts > CONFLICT_RETRIES) {
			op_fail(op, STADION_ECONFLICT,
			        "the tree under %s kept changing while stadion "
			        "wrote to it (%s): is another program writing "
			        "there?",
			        s->base, zerror(zrc));
			return;
		}
		if (!is_transient(zrc) && !is_conflict(zrc)) {
			fail_write(s, op, zrc);
			return;
		}
	}
}

/* Consecutive gets, in flight together: what a newly elected leader's load
 * is made of.  One round trip for all instead of one each. */
#define PIPELINE_MAX 1024

struct aget {
	struct zk_op *op;
	char *path;           /* owned */
	int zrc;
	char *data;           /* owned copy of the znode data */
	int len;
	struct agets *group;
};

struct agets {
	pthread_mutex_t lock;
	pthread_cond_t done;
	size_t pending;
};

static void aget_done(int rc, const char *value, int len,
                      const struct Stat *stat, const void *data)
{
	struct aget *g = (struct aget *)data;

	g->zrc = rc;
	if (rc == ZOK && len > 0 && (g->data = malloc((size_t)len)) != NULL) {
		memcpy(g->data, value, (size_t)len);
		g->len = len;
	} else if (rc == ZOK && len > 0) {
		g->zrc = ZSYSTEMERROR;
	}
	pthread_mutex_lock(&g->group->lock);
	if (--g->group->pending == 0)
		pthread_cond_signal(&g->group->done);
	pthread_mutex_unlock(&g->group->lock);
}

/* Run the N gets of OPS (consecutive in the queue) pipelined; any that
 * meets a connection loss (or cannot be sent) runs alone with run_op(). */
static void run_gets(struct zk_store *s, struct zk_op **ops, size_t n)
{
	struct aget *g = calloc(n, sizeof(*g));
	struct agets group = {.pending = 0};

	if (g == NULL || !s->base_made ||
	    wait_connected(s, now_ms() + (uint64_t)s->timeout_ms) != 0) {
		for (size_t i = 0; i < n; i++)
			run_op(s, ops[i]);
		free(g);
		return;
	}
	pthread_mutex_init(&group.lock, NULL);
	pthread_cond_init(&group.done, NULL);
	for (size_t i = 0; i < n; i++) {
		g[i].op = ops[i];
		g[i].group = &group;
		g[i].zrc = ZCONNECTIONLOSS; /* not sent: run alone below */
		if ((g[i].path = znode_path(s, ops[i]->elems[0].key)) == NULL)
			continue;
		pthread_mutex_lock(&group.lock);
		group.pending++;
		pthread_mutex_unlock(&group.lock);
		if (zoo_aget(s->zh, g[i].path, 0, aget_done, &g[i]) != ZOK) {
			pthread_mutex_lock(&group.lock);
			group.pending--;
			pthread_mutex_unlock(&group.lock);
		}
	}
	pthread_mutex_lock(&group.lock);
	while (group.pending > 0)
		pthread_cond_wait(&group.done, &group.lock);
	pthread_mutex_unlock(&group.lock);
	for (size_t i = 0; i < n; i++) {
		struct zk_op *op = ops[i];

		if (is_transient(g[i].zrc) || g[i].zrc == ZSYSTEMERROR)
			run_op(s, op);
		else if (g[i].zrc == ZNONODE || (g[i].zrc == ZOK && g[i].len == 0))
			op_fail(op, STADION_ENOENT, "no such key");
		else if (g[i].zrc == ZOK)
			decode(op, g[i].path, g[i].data, (size_t)g[i].len);
		else
			op_fail(op, STADION_EIO, "ZooKeeper get of %s failed: %s",
			        g[i].path, zerror(g[i].zrc));
		free(g[i].path);
		free(g[i].data);
	}
	pthread_cond_destroy(&group.done);
	pthread_mutex_destroy(&group.lock);
	free(g);
}

/* ------------------------------------------------------------------------
 * The standby mirror (zk_mirror.h): read and followed while no operation
 * has come; the first one decides whether reads come from it
 * ------------------------------------------------------------------------ */

/* ZooKeeper's thread: the mirror has reads queued. */
static void mirror_wake(void *arg)
{
	struct zk_store *s = arg;

	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* The worker has mirror work it can do now: reads, once connected, or a
 * new session for an expired one, even with nothing queued, for the
 * watches that kept the copy current went with it.  s->lock held. */
static bool mirror_due_locked(struct zk_store *s)
{
	if (s->mirror == NULL || s->first_op || now_ms() < s->mirror_retry_at)
		return false;
	return s->zstate == ZOO_EXPIRED_SESSION_STATE ||
	       (s->zstate == ZOO_CONNECTED_STATE && zk_mirror_due(s->mirror));
}

/* One step of the mirror's reads.  Worker thread. */
static void mirror_work(struct zk_store *s)
{
	struct stadion_err err = {0};
	bool was_ready = zk_mirror_ready(s->mirror);

	/* Not waiting: an expired session is replaced (which resets the
	 * mirror) and the connection wakes the worker. */
	if (wait_connected(s, now_ms()) != 0)
		return;
	if (!s->base_made && make_base(s, &err) == 0)
		s->base_made = true;
	if (!s->base_made || zk_mirror_step(s->mirror, s->zh) != 0) {
		pthread_mutex_lock(&s->lock);
		s->mirror_retry_at = now_ms() + 1000;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (!was_ready) {
		if (zk_mirror_ready(s->mirror))
			LOG(s, STADION_LOG_INFO,
			    "standby mirror of %s ready: %zu znodes, following "
			    "changes",
			    s->base, zk_mirror_count(s->mirror));
	} else if (!zk_mirror_due(s->mirror)) {
		pthread_mutex_lock(&s->lock);
		s->mirror_retry_at = now_ms() + MIRROR_FOLLOW_MS;
		pthread_mutex_unlock(&s->lock);
	}
}

/* The first operation has come (this node leads): a read is served from
 * the mirror once it caught up, anything else drops it. */
static void mirror_take_over(struct zk_store *s, const struct zk_op *op)
{
	uint64_t t0 = now_ms();
	const char *why = "the first operation was a write";
	size_t reads = 0;

	s->first_op = true;
	if (s->mirror == NULL)
		return;
	if (op->c.kind == OP_GET || op->c.kind == OP_LIST) {
		uint64_t deadline = t0 + (uint64_t)s->timeout_ms, now;
		size_t more;
		int rc = 1;

		why = "ZooKeeper is not reachable";
		/* A lost connection fails the catch-up, not the copy
		 * (zk_mirror.h): it starts again once reconnected. */
		while (rc == 1 && wait_connected(s, deadline) == 0 &&
		       (now = now_ms()) < deadline) {
			rc = zk_mirror_catch_up(s->mirror, s->zh,
			                        (int)(deadline - now), &more,
			                        &why);
			reads += more;
		}
		if (rc == 0) {
			LOG(s, STADION_LOG_INFO,
			    "reads come from the standby mirror of %s until "
			    "the first write: %zu znodes, caught up with %zu "
			    "reads in %" PRIu64 " ms",
			    s->base, zk_mirror_count(s->mirror), reads,
			    now_ms() - t0);
			return;
		}
	}
	LOG(s, STADION_LOG_INFO,
	    "standby mirror of %s not used: %s; reading from ZooKeeper",
	    s->base, why);
	zk_mirror_drop(s->mirror);
}

/* The mirror answers OP, a get or a list.  Worker thread. */
static void mirror_read(struct zk_store *s, struct zk_op *op)
{
	char *path = znode_path(s, op->elems[0].key);
	char *const *names;
	const char *data;
	size_t len;

	if (path == NULL) {
		op_fail(op, STADION_ENOMEM, "out of memory");
	} else if (op->c.kind == OP_LIST) {
		zk_mirror_list(s->mirror, path, &names, &len);
		op_set_names(op, names, len);
	} else if (!zk_mirror_get(s->mirror, path, &data, &len) || len == 0) {
		op_fail(op, STADION_ENOENT, "no such key");
	} else {
		decode(op, path, data, len);
	}
	free(path);
}

static bool mirror_serves(const struct zk_store *s, const struct zk_op *op)
{
	return s->mirror != NULL && zk_mirror_serving(s->mirror) &&
	       (op->c.kind == OP_GET || op->c.kind == OP_LIST);
}

/* Wait for work: an operation, or (before the first) the mirror's.  s->lock
 * held. */
static void worker_wait_locked(struct zk_store *s)
{
	while (s->work.head == NULL && !s->stopping && !mirror_due_locked(s)) {
		uint64_t now = now_ms();
		struct timespec ts;

		if (s->mirror == NULL || s->first_op ||
		    s->mirror_retry_at <= now) {
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)((s->mirror_retry_at - now) / 1000);
		ts.tv_nsec += (long)((s->mirror_retry_at - now) % 1000) *
		              1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
}

static void *worker_main(void *arg)
{
	struct zk_store *s = arg;
	struct zk_op *ops, *run[PIPELINE_MAX];
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		worker_wait_locked(s);
		ops = (struct zk_op *)storage_common_queue_take(&s->work);
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (ops == NULL && stopping)
			break; /* stopping, and nothing left */
		if (ops == NULL) {
			mirror_work(s);
			continue;
		}
		if (!s->first_op)
			mirror_take_over(s, ops);
		while (ops != NULL) {
			size_t n = 0;

			if (mirror_serves(s, ops)) {
				/* All the reads in a row, handed over with one
				 * lock: the load is 12,000 of them. */
				struct zk_op *first = ops, *last = ops;

				for (; ops != NULL && mirror_serves(s, ops);
				     ops = op_next(ops)) {
					mirror_read(s, ops);
					last = ops;
				}
				last->c.next = NULL;
				storage_common_finish(s->host, &s->lock,
				                      &s->done, &s->drain_posted,
				                      &first->c, drain, s);
				continue;
			}
			if (s->mirror != NULL && ops->c.kind != OP_GET &&
			    ops->c.kind != OP_LIST && ops->c.kind != OP_FAILED)
				zk_mirror_drop(s->mirror);
			/* Gets next to each other go together; anything else
			 * alone, in order. */
			while (ops != NULL && ops->c.kind == OP_GET &&
			       n < PIPELINE_MAX) {
				run[n++] = ops;
				ops = op_next(ops);
			}
			if (n > 1) {
				run_gets(s, run, n);
			} else if (n == 1) {
				run_op(s, run[0]);
			} else {
				run[n++] = ops;
				ops = op_next(ops);
				if (run[0]->c.kind != OP_FAILED)
					run_op(s, run[0]);
			}
			for (size_t i = 0; i < n; i++)
				finish(s, run[i]);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Starting operations (loop thread)
 * ------------------------------------------------------------------------ */

/* Check KEY ('/'-separated, segments non-empty, no leading or trailing '/',
 * no "." or ".." segment, no control characters, which ZooKeeper refuses;
 * "" only when ROOT_OK) and copy it into E. */
static int elem_key(struct zk_elem *e, const char *key, bool root_ok,
                    struct stadion_err *err)
{
	size_t len = 0; /* gcc -O2 cannot tell it is set when rc is 0 */
	int rc;

	if ((rc = storage_common_key_check(key, root_ok, &len, err)) != 0)
		return rc;
	if ((rc = storage_common_key_segments(key, len, err)) != 0)
		return rc;
	for (const char *seg = key; len > 0 && seg != NULL;) {
		const char *end = strchr(seg, '/');
		size_t sl = end != NULL ? (size_t)(end - seg) : strlen(seg);

		if ((sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return stadion_err_set(err, STADION_EINVAL,
			                       "key '%s' has a '.' or '..' "
			                       "segment, which ZooKeeper "
			                       "refuses",
			                       key);
		seg = end != NULL ? end + 1 : NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return stadion_err_set(err, STADION_EINVAL,
			                       "key has a control character "
			                       "at byte %zu, which ZooKeeper "
			                       "refuses",
			                       i);
	if ((e->key = strdup(key)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	return 0;
}

static int elem_value(struct zk_elem *e, const void *value, size_t len,
                      struct stadion_err *err)
{
	return storage_common_value_copy(&e->value, &e->len, value, len, err);
}

static struct zk_op *op_new(enum storage_op_kind kind, size_t n_elems,
                            void *arg, struct stadion_err *err)
{
	struct zk_op *op = calloc(1, sizeof(*op));

	if (op == NULL || (n_elems > 0 &&
	                   (op->elems = calloc(n_elems, sizeof(*op->elems))) ==
	                           NULL)) {
		free(op);
		stadion_err_set(err, STADION_ENOMEM, "out of memory");
		return NULL;
	}
	op->c.kind = kind;
	op->n_elems = n_elems;
	op->c.arg = arg;
	return op;
}

/* A dormant store (no "hosts") refuses every call. */
static int dormant(const struct zk_store *s, struct stadion_err *err)
{
	if (!s->dormant)
		return 0;
	return stadion_err_set(err, STADION_ENOTSUP,
	                       "the zookeeper store is not configured (no "
	                       "\"hosts\"): start stadiond with --zk");
}

/* Start OP, which is complete (keys copied, checks done). */
static void submit(struct zk_store *s, struct zk_op *op)
{
	s->outstanding++;
	pthread_mutex_lock(&s->lock);
	storage_common_queue_push(&s->work, &op->c);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* What every call checks first: the store is configured, and there is a
 * completion (HAS_DONE).  0, or a code with ERR filled. */
static int call_check(const struct zk_store *s, bool has_done,
                      struct stadion_err *err)
{
	if (dormant(s, err) != 0)
		return STADION_ENOTSUP;
	if (!has_done)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	return 0;
}

/* A call on one key, checked (call_check()): its operation of KIND on KEY
 * ("" allowed when ROOT_OK), to be completed by its caller and submitted.
 * 0, or a code with ERR filled. */
static int key_op_new(const struct zk_store *s, bool has_done,
                      enum storage_op_kind kind, const char *key,
                      bool root_ok, void *arg, struct zk_op **op_r,
                      struct stadion_err *err)
{
	struct zk_op *op;
	int rc;

	if ((rc = call_check(s, has_done, err)) != 0)
		return rc;
	if ((op = op_new(kind, 1, arg, err)) == NULL)
		return STADION_ENOMEM;
	if ((rc = elem_key(&op->elems[0], key, root_ok, err)) != 0) {
		op_free(op);
		return rc;
	}
	*op_r = op;
	return 0;
}

static int zk_get(void *state, const char *key, stadion_storage_get_fn *done,
                  void *arg, struct stadion_err *err)
{
	struct zk_op *op;
	int rc;

	if ((rc = key_op_new(state, done != NULL, OP_GET, key, false, arg, &op,
	                     err)) != 0)
		return rc;
	op->c.cb.get = done;
	submit(state, op);
	return 0;
}

static int zk_list(void *state, const char *key,
                   stadion_storage_list_fn *done, void *arg,
                   struct stadion_err *err)
{
	struct zk_op *op;
	int rc;

	if ((rc = key_op_new(state, done != NULL, OP_LIST, key, true, arg, &op,
	                     err)) != 0)
		return rc;
	op->c.cb.list = done;
	submit(state, op);
	return 0;
}

/* Turn write OP into an early failure when a value is over the limit: it
 * then completes with STADION_ETOOBIG and changes nothing. */
static bool too_big(struct zk_store *s, struct zk_op *op, const char *key,
                    size_t len)
{
	if (len <= s->max_value)
		return false;
	op->c.kind = OP_FAILED;
	op_fail(op, STADION_ETOOBIG,
	        "value of %zu bytes for key '%s' is over max_value_bytes "
	        "(%zu), near ZooKeeper's node limit of 1 MiB: nothing was "
	        "written; split the entity into smaller ones",
	        len, key, s->max_value);
	return true;
}

static int zk_put(void *state, const char *key, const void *value,
                  size_t len, stadion_storage_done_fn *done, void *arg,
                  struct stadion_err *err)
{
	struct zk_store *s = state;
	struct zk_op *op;
	int rc;

	if ((rc = key_op_new(state, done != NULL, OP_PUT, key, false, arg, &op,
	                     err)) != 0)
		return rc;
	op->c.cb.done = done;
	op->elems[0].type = STADION_STORAGE_PUT;
	if (!too_big(s, op, key, len) &&
	    (rc = elem_value(&op->elems[0], value, len, err)) != 0) {
		op_free(op);
		return rc;
	}
	submit(s, op);
	return 0;
}

static int zk_del(void *state, const char *key, stadion_storage_done_fn *done,
                  void *arg, struct stadion_err *err)
{
	struct zk_op *op;
	int rc;

	if ((rc = key_op_new(state, done != NULL, OP_DEL, key, false, arg, &op,
	                     err)) != 0)
		return rc;
	op->c.cb.done = done;
	op->elems[0].type = STADION_STORAGE_DEL;
	submit(state, op);
	return 0;
}

static int zk_batch(void *state, const struct stadion_storage_op *ops,
                    size_t count, stadion_storage_done_fn *done, void *arg,
                    struct stadion_err *err)
{
	struct zk_store *s = state;
	struct zk_op *op;
	int rc;

	if ((rc = call_check(s, done != NULL, err)) != 0)
		return rc;
	if ((rc = storage_common_batch_check(ops, count, err)) != 0)
		return rc;
	if ((op = op_new(OP_BATCH, count, arg, err)) == NULL)
		return STADION_ENOMEM;
	op->c.cb.done = done;
	for (size_t i = 0; i < count; i++) {
		struct zk_elem *e = &op->elems[i];

		if (storage_common_batch_type(&ops[i], i, err) != 0)
			goto fail_free_op;
		e->type = ops[i].type;
		if (elem_key(e, ops[i].key, false, err) != 0)
			goto fail_free_op;
		if (e->type != STADION_STORAGE_PUT || op->c.kind == OP_FAILED)
			continue;
		/* Keep checking the keys: a bad one still refuses the
		 * whole call, too big or not. */
		if (!too_big(s, op, ops[i].key, ops[i].len) &&
		    elem_value(e, ops[i].value, ops[i].len, err) != 0)
			goto fail_free_op;
	}
	submit(s, op);
	return 0;

fail_free_op:
	op_free(op);
	return err != NULL ? err->code : STADION_EINVAL;
}

/* ------------------------------------------------------------------------
 * Lifecycle (main thread)
 * ------------------------------------------------------------------------ */

/* Read string KEY of CONF into *VALUE_R: required, or NULL when absent. */
static int conf_str(const struct stadion_host *host,
                    const struct stadion_conf *conf, const char *key,
                    bool required, const char *what, const char **value_r,
                    struct stadion_err *err)
{
	const char *v = NULL;
	int rc = host->conf_str(conf, key, &v);

	if ((rc == STADION_ENOENT || (rc == 0 && v[0] == '\0')) && required)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"%s\" (%s) is missing",
		                       key, what);
	if (rc != 0 && rc != STADION_ENOENT)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"%s\" must be a string",
		                       key);
	*value_r = rc == 0 && v[0] != '\0' ? v : NULL;
	return 0;
}

static void store_free(struct zk_store *s)
{
	session_close(s);
	/* After the session: its watches point at the mirror. */
	zk_mirror_free(s->mirror);
	pthread_cond_destroy(&s->conn);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->buf);
	free(s->hosts);
	free(s->base);
	free(s->digest);
	free(s);
}

/* Create BASE and its ancestors (empty, like implied parents). */
static int make_base(struct zk_store *s, struct stadion_err *err)
{
	char *p = strdup(s->base);
	int zrc = ZOK;

	if (p == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	for (char *slash = p + 1;; slash++) {
		slash = strchr(slash, '/');
		if (slash != NULL)
			*slash = '\0';
		zrc = zoo_create(s->zh, p, "", 0, s->acl, 0, NULL, 0);
		if (slash == NULL || (zrc != ZOK && zrc != ZNODEEXISTS))
			break;
		*slash = '/';
	}
	free(p);
	if (zrc != ZOK && zrc != ZNODEEXISTS)
		return stadion_err_set(err, STADION_EIO,
		                       "cannot create the ZooKeeper path %s "
		                       "at %s: %s",
		                       s->base, s->hosts, zerror(zrc));
	return 0;
}

static int zk_create(const struct stadion_host *host,
                     const struct stadion_conf *conf, void **state_r,
                     struct stadion_err *err)
{
	int64_t session = SESSION_TIMEOUT_DEFAULT, timeout = TIMEOUT_DEFAULT;
	int64_t max_value = MAX_VALUE_DEFAULT, compress = COMPRESS_DEFAULT;
	int64_t request = REQUEST_LIMIT_DEFAULT;
	const char *hosts, *path, *digest;
	bool mirror = true;
	struct zk_store *s;
	size_t plen;
	int rc;

	if (conf_str(host, conf, "hosts", false, "", &hosts, err) != 0)
		return err != NULL ? err->code : STADION_EINVAL;
	/* Installed beside LMDB, loaded by every stadiond: without --zk (no
	 * hosts) it stays dormant and refuses each call, instead of being
	 * listed as a refused plugin on every standalone node. */
	if (hosts == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return stadion_err_set(err, STADION_ENOMEM,
			                       "out of memory");
		s->host = host;
		s->dormant = true;
		*state_r = s;
		return 0;
	}
	if (conf_str(host, conf, "path", true,
	             "the znode under which the state lives", &path,
	             err) != 0 ||
	    conf_str(host, conf, "digest", false, "", &digest, err) != 0)
		return err != NULL ? err->code : STADION_EINVAL;
	plen = strlen(path);
	if (path[0] != '/' || plen < 2 || path[plen - 1] == '/' ||
	    strstr(path, "//") != NULL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"path\" '%s' must be an "
		                       "absolute znode path such as "
		                       "/stadion/state, without a trailing '/'",
		                       path);
	if (storage_common_conf_int(host, conf, "session_timeout_ms", 1000,
	                            600000, &session, err) != 0 ||
	    storage_common_conf_int(host, conf, "timeout_ms", 100, 3600000,
	                            &timeout, err) != 0 ||
	    storage_common_conf_int(host, conf, "max_value_bytes", 0,
	                            MAX_VALUE_LIMIT, &max_value, err) != 0 ||
	    storage_common_conf_int(host, conf,
	                            "compression_threshold_bytes", 0,
	                            INT32_MAX, &compress, err) != 0 ||
	    storage_common_conf_int(host, conf, "request_limit_bytes", 4096,
	                            REQUEST_LIMIT_DEFAULT, &request,
	                            err) != 0)
		return err != NULL ? err->code : STADION_EINVAL;
	rc = host->conf_bool(conf, "standby_mirror", &mirror);
	if (rc != 0 && rc != STADION_ENOENT)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"standby_mirror\" must "
		                       "be true or false");

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	/* The client logs every connection at INFO on stderr; this plugin
	 * reports what matters itself. */
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	s->host = host;
	s->session_timeout_ms = (int)session;
	s->timeout_ms = (int)timeout;
	s->max_value = (size_t)max_value;
	s->compress_threshold = (size_t)compress;
	s->request_limit = (size_t)request;
	s->acl = digest != NULL ? &ZOO_CREATOR_ALL_ACL : &ZOO_OPEN_ACL_UNSAFE;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->conn, NULL);
	s->buf_len = MAX_VALUE_LIMIT + 64;
	if ((s->hosts = strdup(hosts)) == NULL ||
	    (s->base = strdup(path)) == NULL ||
	    (digest != NULL && (s->digest = strdup(digest)) == NULL) ||
	    (s->buf = malloc(s->buf_len)) == NULL ||
	    (mirror && (s->mirror = zk_mirror_new(s->base, mirror_wake, s)) ==
	                       NULL)) {
		rc = stadion_err_set(err, STADION_ENOMEM, "out of memory");
		goto fail_free_store;
	}
	if (session_open(s) != 0) {
		rc = stadion_err_set(err, STADION_EINVAL,
		                     "cannot start a ZooKeeper session with "
		                     "'%s': %s; hosts are host:port,...",
		                     s->hosts, strerror(errno));
		goto fail_free_store;
	}
	if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot start the worker thread");
		goto fail_free_store;
	}
	LOG(s, STADION_LOG_INFO,
	    "state under %s at %s (session %d ms, max_value_bytes %zu, "
	    "standby mirror %s)",
	    s->base, s->hosts, s->session_timeout_ms, s->max_value,
	    mirror ? "on" : "off");
	*state_r = s;
	return 0;

fail_free_store:
	store_free(s);
	return rc;
}

static void zk_destroy(void *state)
{
	struct zk_store *s = state;

	if (s->dormant) {
		free(s);
		return;
	}
	/* The worker finishes what is queued while ZooKeeper answers, and
	 * fails the rest at once. */
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_cond_broadcast(&s->conn);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->worker, NULL);
	/* The loop has stopped: the posted drain will never run (stadiond
	 * drops it), so the completions still due are called here, once.
	 * A completion may start another operation, with the worker gone:
	 * it fails at once, and its completion runs here too. */
	for (;;) {
		struct zk_op *late, *next;

		drain(s);
		pthread_mutex_lock(&s->lock);
		late = (struct zk_op *)storage_common_queue_take(&s->work);
		pthread_mutex_unlock(&s->lock);
		if (late == NULL)
			break;
		for (; late != NULL; late = next) {
			next = op_next(late);
			if (late->c.kind != OP_FAILED)
				op_fail(late, STADION_EIO,
				        "the ZooKeeper store was closing "
				        "when this operation started");
			pthread_mutex_lock(&s->lock);
			storage_common_queue_push(&s->done, &late->c);
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (s->outstanding != 0)
		LOG(s, STADION_LOG_ERROR,
		    "%zu operations never completed (completion posting "
		    "failed)",
		    s->outstanding);
	store_free(s);
}

static const struct stadion_storage_ops zk_ops = {
	.create = zk_create,
	.destroy = zk_destroy,
	.get = zk_get,
	.put = zk_put,
	.del = zk_del,
	.list = zk_list,
	.batch = zk_batch,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_STORAGE, "zookeeper", "1.0.0",
                      "state in ZooKeeper, one znode per entity (--zk)",
                      zk_ops);
