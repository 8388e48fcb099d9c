/*
 * storage_lmdb: stadion's embedded default store, an LMDB environment under
 * --data_dir (see README.md beside this file).
 *
 * Key layout.  A stadion key "apps/web/v1" is stored as the LMDB key
 * "apps\0web\0v1": the full path, with '/' replaced by a NUL byte.  Segments
 * never contain NUL (keys are C strings), so the mapping is one to one, and
 * with LMDB's plain memcmp order it puts a key and everything below it in
 * one contiguous range, right after the key itself: "apps\0web" <
 * "apps\0web\0v1" < "apps\0web-x".  Keeping '/' would interleave them
 * ("apps/web-x" < "apps/web/v1", as '-' < '/'), and a custom comparator
 * would have to be set again by every tool that opens the file.  So:
 *   - del(P) deletes P, then the range starting at "P\0" while keys keep
 *     that prefix;
 *   - list(P) seeks (MDB_SET_RANGE) to "P\0", takes the next segment as a
 *     child name, then seeks straight past that child's subtree to
 *     "P\0name\1": one O(log n) seek per child, never a walk over
 *     grandchildren, and the names come out in byte order.
 * Parents are implicit: after put("a/b/c"), list("a") names "b", as a
 * ZooKeeper store (which creates parents) does, although "a/b" has no value
 * of its own here (get("a/b") is ENOENT).
 *
 * Threading.  All writes (put, del, batch) go to one writer thread the
 * plugin owns, through a FIFO queue.  The writer takes everything queued at
 * once and applies it in one LMDB write transaction, committed (fsync, MDB
 * default) before any completion of the group is handed back: a burst of
 * writes costs one sync.  A batch is applied within one transaction, so it
 * is all or nothing.  When the group's transaction fails (a full map),
 * nothing of it happened and each write is retried alone, so that each
 * reports its own result (write_segment()).  Results go to a completion
 * queue; the first result that makes it non-empty posts one drain callback
 * to the loop (host->post()), which calls the completions in order.
 *
 * Reads (get, list) run on the loop thread in a read-only transaction when
 * no write is outstanding; LMDB reads are memory-mapped and take
 * microseconds.  When writes are outstanding, the read is queued behind them
 * on the writer thread instead, so that a read sees every write issued
 * before it, and completions are called in the order the operations were
 * issued.  Either way the result reaches the caller through the completion
 * queue, never from inside the call.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <stadion/storage.h>

#include "../storage_common.h"

#define MIB ((uint64_t)1 << 20)
#define DEFAULT_MAP_SIZE_MB 1024
#define DEFAULT_MAX_VALUE_BYTES (1 << 20)
/* Limits of the configuration: a map beyond 1 TiB, or a single state entity
 * beyond 1 GiB, is a typo. */
#define MAX_MAP_SIZE_MB ((int64_t)1 << 20)
#define MAX_VALUE_BYTES_LIMIT ((int64_t)1 << 30)

/* One element of a put/del/batch, with its own copies. */
struct lmdb_elem {
	uint32_t type;   /* enum stadion_storage_op_type */
	char *key;       /* owned, LMDB form ('/' replaced by NUL) */
	size_t key_len;
	void *value;     /* owned, PUT only; NULL when len is 0 */
	size_t len;
};

/* One operation (see struct storage_common_op, which holds its callback
 * and result). */
struct lmdb_op {
	struct storage_common_op c; /* first */
	struct lmdb_elem *elems; /* owned: 1, or one per batch element */
	size_t n_elems;
	bool queued;             /* went through the writer thread */
};

struct lmdb_store {
	const struct stadion_host *host; /* borrowed until destroy() */
	MDB_env *env;
	MDB_dbi dbi;
	char *path;                      /* owned */
	uint64_t map_size_mb;
	size_t max_value;
	size_t max_key;                  /* LMDB's key size limit */

	pthread_t writer;
	pthread_mutex_t lock;            /* guards the two queues, flags */
	pthread_cond_t wake;             /* work queued, or stopping */
	struct storage_common_queue work; /* loop -> writer */
	struct storage_common_queue done; /* writer/loop -> drain on loop */
	bool drain_posted;               /* a drain is queued with post() */
	bool stopping;

	/* Loop thread only: operations issued whose completion has not run. */
	size_t outstanding;
	/* Loop thread only: operations queued to the writer and not yet
	 * drained; reads go behind them while it is not 0. */
	size_t writer_outstanding;
};

#define LOG(s, level, ...) (s)->host->log((s)->host->ctx, (level), __VA_ARGS__)

/* storage_common_op_fail() for one of ours. */
#define op_fail(op, ...) storage_common_op_fail(&(op)->c, __VA_ARGS__)

/* The operation after OP in a list, NULL at the end. */
static struct lmdb_op *op_next(const struct lmdb_op *op)
{
	return (struct lmdb_op *)op->c.next;
}

static void op_free(struct lmdb_op *op)
{
	for (size_t i = 0; i < op->n_elems; i++) {
		free(op->elems[i].key);
		free(op->elems[i].value);
	}
	free(op->elems);
	storage_common_op_free_result(&op->c);
	free(op);
}

/* ------------------------------------------------------------------------
 * Completions: always through the done queue and one posted drain
 * ------------------------------------------------------------------------ */

/* Call OP's completion and free it.  Loop thread (or destroy()). */
static void op_complete(struct lmdb_store *s, struct lmdb_op *op)
{
	s->outstanding--;
	if (op->queued)
		s->writer_outstanding--;
	storage_common_op_deliver(&op->c);
	op_free(op);
}

static void drain(void *arg)
{
	struct lmdb_store *s = arg;
	struct lmdb_op *ops, *next;

	ops = (struct lmdb_op *)storage_common_drain_take(
	        &s->lock, &s->done, &s->drain_posted);
	/* The list is ours now: a completion may start new operations. */
	for (; ops != NULL; ops = next) {
		next = op_next(ops);
		op_complete(s, ops);
	}
}

/* Hand finished operations OPS (a list) to the loop.  Any thread. */
static void finish(struct lmdb_store *s, struct lmdb_op *ops)
{
	storage_common_finish(s->host, &s->lock, &s->done, &s->drain_posted,
	                      &ops->c, drain, s);
}

/* ------------------------------------------------------------------------
 * LMDB work, on whichever thread runs it
 * ------------------------------------------------------------------------ */

/* Fill OP with the failure of LMDB call WHAT, naming the cause and what the
 * operator can do about it. */
static void op_fail_mdb(struct lmdb_store *s, struct lmdb_op *op,
                        const char *what, int mrc)
{
	if (mrc == MDB_MAP_FULL)
		op_fail(op, STADION_EIO,
		        "LMDB store '%s' is full (map_size_mb %" PRIu64 "): "
		        "raise map_size_mb in the lmdb plugin's configuration",
		        s->path, s->map_size_mb);
	else if (mrc == MDB_TXN_FULL)
		op_fail(op, STADION_EIO,
		        "too many changes for one LMDB transaction in '%s': "
		        "split the batch",
		        s->path);
	else
		op_fail(op, STADION_EIO, "LMDB %s failed in '%s': %s", what,
		        s->path, mdb_strerror(mrc));
}

/* Is K below PREFIX (PLEN bytes, both in LMDB form): PREFIX, NUL, more? */
static bool below(const MDB_val *k, const char *prefix, size_t plen)
{
	return k->mv_size > plen && memcmp(k->mv_data, prefix, plen) == 0 &&
	       ((const char *)k->mv_data)[plen] == '\0';
}

static void do_get(struct lmdb_store *s, MDB_txn *txn, struct lmdb_op *op)
{
	MDB_val k = {.mv_size = op->elems[0].key_len,
	             .mv_data = op->elems[0].key};
	MDB_val v;
	int mrc = mdb_get(txn, s->dbi, &k, &v);

	if (mrc == MDB_NOTFOUND) {
		op_fail(op, STADION_ENOENT, "no such key");
		return;
	}
	if (mrc != 0) {
		op_fail_mdb(s, op, "read", mrc);
		return;
	}
	/* One byte more, so that an empty value is a non-NULL pointer. */
	if ((op->c.value = malloc(v.mv_size + 1)) == NULL) {
		op_fail(op, STADION_ENOMEM, "out of memory");
		return;
	}
	memcpy(op->c.value, v.mv_data, v.mv_size);
	op->c.len = v.mv_size;
	op->c.rc = 0;
}

static int names_add(struct lmdb_op *op, size_t *cap, const char *name,
                     size_t len)
{
	char *copy;

	if (op->c.n_names == *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		char **grown = realloc(op->c.names, ncap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		op->c.names = grown;
		*cap = ncap;
	}
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, name, len);
	copy[len] = '\0';
	op->c.names[op->c.n_names++] = copy;
	return 0;
}

static void do_list(struct lmdb_store *s, MDB_txn *txn, struct lmdb_op *op)
{
	const struct lmdb_elem *e = &op->elems[0];
	/* Children of the root start at the first key; of P, after "P\0". */
	size_t plen = e->key_len != 0 ? e->key_len + 1 : 0;
	size_t cap = 0, seek_cap = s->max_key + 2;
	char *seek = malloc(seek_cap);
	MDB_cursor *cur = NULL;
	MDB_val k;
	int mrc;

	if (seek == NULL) {
		op_fail(op, STADION_ENOMEM, "out of memory");
		return;
	}
	memcpy(seek, e->key, e->key_len);
	seek[e->key_len] = '\0';
	if ((mrc = mdb_cursor_open(txn, s->dbi, &cur)) != 0) {
		op_fail_mdb(s, op, "cursor", mrc);
		goto out_free_seek;
	}
	k = (MDB_val){.mv_size = plen, .mv_data = seek};
	if (plen != 0)
		mrc = mdb_cursor_get(cur, &k, NULL, MDB_SET_RANGE);
	else
		mrc = mdb_cursor_get(cur, &k, NULL, MDB_FIRST);
	while (mrc == 0 && (plen == 0 || below(&k, seek, plen - 1))) {
		const char *name = (const char *)k.mv_data + plen;
		size_t rest = k.mv_size - plen;
		const char *end = memchr(name, '\0', rest);
		size_t nlen = end != NULL ? (size_t)(end - name) : rest;

		if (names_add(op, &cap, name, nlen) != 0) {
			op_fail(op, STADION_ENOMEM, "out of memory");
			goto out_close_cursor;
		}
		/* Past this child's subtree: "P\0name" then "\1" sorts after
		 * every "P\0name\0...", and before the next child.  (LMDB
		 * limits the keys it stores, not those it seeks to.) */
		if (plen + nlen + 1 > seek_cap)
			break; /* cannot happen: stored keys are shorter */
		memcpy(seek + plen, name, nlen);
		seek[plen + nlen] = '\1';
		k = (MDB_val){.mv_size = plen + nlen + 1, .mv_data = seek};
		mrc = mdb_cursor_get(cur, &k, NULL, MDB_SET_RANGE);
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND) {
		op_fail_mdb(s, op, "cursor read", mrc);
		goto out_close_cursor;
	}
	op->c.rc = 0;

out_close_cursor:
	mdb_cursor_close(cur);
out_free_seek:
	free(seek);
}

/* Run a read OP in its own read-only transaction. */
static void do_read(struct lmdb_store *s, struct lmdb_op *op)
{
	MDB_txn *txn;
	int mrc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

	if (mrc != 0) {
		op_fail_mdb(s, op, "read transaction", mrc);
		return;
	}
	if (op->c.kind == OP_GET)
		do_get(s, txn, op);
	else
		do_list(s, txn, op);
	mdb_txn_abort(txn);
}

/* Delete KEY and everything below it. */
static int del_tree(struct lmdb_store *s, MDB_txn *txn,
                    const struct lmdb_elem *e)
{
	MDB_val k = {.mv_size = e->key_len, .mv_data = e->key};
	MDB_cursor *cur;
	char *prefix;
	int mrc;

	mrc = mdb_del(txn, s->dbi, &k, NULL);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return mrc;
	if ((prefix = malloc(e->key_len + 1)) == NULL)
		return ENOMEM;
	memcpy(prefix, e->key, e->key_len);
	prefix[e->key_len] = '\0';
	if ((mrc = mdb_cursor_open(txn, s->dbi, &cur)) != 0)
		goto out_free_prefix;
	k = (MDB_val){.mv_size = e->key_len + 1, .mv_data = prefix};
	mrc = mdb_cursor_get(cur, &k, NULL, MDB_SET_RANGE);
	while (mrc == 0 && below(&k, prefix, e->key_len)) {
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			break;
		/* After a delete, MDB_NEXT yields the key that followed the
		 * deleted one (LMDB does not advance twice). */
		mrc = mdb_cursor_get(cur, &k, NULL, MDB_NEXT);
	}
	if (mrc == MDB_NOTFOUND)
		mrc = 0; /* ran off the end of the database */
	mdb_cursor_close(cur);
out_free_prefix:
	free(prefix);
	return mrc;
}

static bool is_write(const struct lmdb_op *op)
{
	return op->c.kind == OP_PUT || op->c.kind == OP_DEL ||
	       op->c.kind == OP_BATCH;
}

/* Apply the elements of write OP in TXN; an LMDB error code on failure,
 * after which TXN can only be aborted. */
static int apply(struct lmdb_store *s, MDB_txn *txn, const struct lmdb_op *op)
{
	int mrc = 0;

	for (size_t i = 0; i < op->n_elems && mrc == 0; i++) {
		const struct lmdb_elem *e = &op->elems[i];
		MDB_val k = {.mv_size = e->key_len, .mv_data = e->key};
		MDB_val v = {.mv_size = e->len, .mv_data = e->value};

		if (e->type == STADION_STORAGE_PUT)
			mrc = mdb_put(txn, s->dbi, &k, &v, 0);
		else
			mrc = del_tree(s, txn, e);
	}
	return mrc;
}

/* Apply the writes among FIRST..LAST (exclusive) in one transaction and
 * commit it; an LMDB error code when any of it failed, and then nothing of
 * it happened. */
static int write_together(struct lmdb_store *s, struct lmdb_op *first,
                          struct lmdb_op *last)
{
	MDB_txn *txn;
	int mrc = mdb_txn_begin(s->env, NULL, 0, &txn);

	if (mrc != 0)
		return mrc;
	for (struct lmdb_op *op = first; op != last && mrc == 0;
	     op = op_next(op))
		if (is_write(op))
			mrc = apply(s, txn, op);
	if (mrc != 0) {
		mdb_txn_abort(txn);
		return mrc;
	}
	return mdb_txn_commit(txn); /* synced: durable when it returns 0 */
}

/* Settle the writes among FIRST..LAST (exclusive), in order.  The common
 * case is one transaction and one sync for all of them.  When that fails,
 * nothing of it happened, and each write is retried in a transaction of
 * its own so that each reports its own result: one write that does not fit
 * the map must not fail its neighbours.  (LMDB's nested transactions would
 * isolate failures without the retry, but each one costs megabytes of
 * bookkeeping allocations, on every write.) */
static void write_segment(struct lmdb_store *s, struct lmdb_op *first,
                          struct lmdb_op *last)
{
	size_t n = 0;
	int mrc;

	for (struct lmdb_op *op = first; op != last; op = op_next(op))
		n += is_write(op);
	if (n == 0)
		return;
	if (n > 1 && write_together(s, first, last) == 0) {
		for (struct lmdb_op *op = first; op != last; op = op_next(op))
			if (is_write(op))
				op->c.rc = 0;
		return;
	}
	for (struct lmdb_op *op = first; op != last; op = op_next(op)) {
		if (!is_write(op))
			continue;
		if ((mrc = write_together(s, op, op_next(op))) != 0)
			op_fail_mdb(s, op, "write", mrc);
		else
			op->c.rc = 0;
	}
}

/* Run the list of operations OPS in order: writes grouped into as few
 * durable commits as the reads between them allow. */
static void run_group(struct lmdb_store *s, struct lmdb_op *ops)
{
	struct lmdb_op *seg = ops; /* first op not yet written */

	for (struct lmdb_op *op = ops; op != NULL; op = op_next(op)) {
		if (op->c.kind != OP_GET && op->c.kind != OP_LIST)
			continue;
		/* A read must see the writes before it, committed. */
		write_segment(s, seg, op);
		seg = op_next(op);
		do_read(s, op);
	}
	write_segment(s, seg, NULL);
}

static void *writer_main(void *arg)
{
	struct lmdb_store *s = arg;
	struct lmdb_op *ops;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->work.head == NULL && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		ops = (struct lmdb_op *)storage_common_queue_take(&s->work);
		pthread_mutex_unlock(&s->lock);
		if (ops == NULL)
			break; /* stopping, and nothing left: drained */
		run_group(s, ops);
		finish(s, ops);
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Starting operations (loop thread)
 * ------------------------------------------------------------------------ */

/* Check KEY ('/'-separated, segments non-empty, no leading or trailing '/';
 * "" only when ROOT_OK) and copy it into E in LMDB form. */
static int elem_key(struct lmdb_store *s, struct lmdb_elem *e,
                    const char *key, bool root_ok, struct stadion_err *err)
{
	size_t len = 0; /* gcc -O2 cannot tell it is set when rc is 0 */
	int rc;

	if ((rc = storage_common_key_check(key, root_ok, &len, err)) != 0)
		return rc;
	if (len > s->max_key)
		return stadion_err_set(err, STADION_EINVAL,
		                       "key of %zu bytes is over LMDB's limit "
		                       "of %zu",
		                       len, s->max_key);
	if ((rc = storage_common_key_segments(key, len, err)) != 0)
		return rc;
	if ((e->key = malloc(len + 1)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	for (size_t i = 0; i <= len; i++)
		e->key[i] = key[i] == '/' ? '\0' : key[i];
	e->key_len = len;
	return 0;
}

static int elem_value(struct lmdb_elem *e, const void *value, size_t len,
                      struct stadion_err *err)
{
	return storage_common_value_copy(&e->value, &e->len, value, len, err);
}

static struct lmdb_op *op_new(enum storage_op_kind kind, size_t n_elems,
                              void *arg, struct stadion_err *err)
{
	struct lmdb_op *op = calloc(1, sizeof(*op));

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

/* Start OP, which is complete (keys copied, checks done). */
static void submit(struct lmdb_store *s, struct lmdb_op *op)
{
	s->outstanding++;
	if (!is_write(op) && s->writer_outstanding == 0) {
		if (op->c.kind != OP_FAILED)
			do_read(s, op);
		finish(s, op);
		return;
	}
	/* Reads and early failures behind writes still in the writer's hands
	 * go the same way, to keep their place in the order. */
	op->queued = true;
	s->writer_outstanding++;
	pthread_mutex_lock(&s->lock);
	storage_common_queue_push(&s->work, &op->c);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* A one-key operation of KIND on KEY ("" allowed when ROOT_OK), to be
 * completed by its caller and submitted.  0, or a negative code with ERR
 * filled. */
static int key_op_new(struct lmdb_store *s, enum storage_op_kind kind,
                      const char *key, bool root_ok, void *arg,
                      struct lmdb_op **op_r, struct stadion_err *err)
{
	struct lmdb_op *op = op_new(kind, 1, arg, err);
	int rc;

	if (op == NULL)
		return STADION_ENOMEM;
	if ((rc = elem_key(s, &op->elems[0], key, root_ok, err)) != 0) {
		op_free(op);
		return rc;
	}
	*op_r = op;
	return 0;
}

static int lmdb_get(void *state, const char *key,
                    stadion_storage_get_fn *done, void *arg,
                    struct stadion_err *err)
{
	struct lmdb_op *op;
	int rc;

	if (done == NULL)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	if ((rc = key_op_new(state, OP_GET, key, false, arg, &op, err)) != 0)
		return rc;
	op->c.cb.get = done;
	submit(state, op);
	return 0;
}

static int lmdb_list(void *state, const char *key,
                     stadion_storage_list_fn *done, void *arg,
                     struct stadion_err *err)
{
	struct lmdb_op *op;
	int rc;

	if (done == NULL)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	if ((rc = key_op_new(state, OP_LIST, key, true, arg, &op, err)) != 0)
		return rc;
	op->c.cb.list = done;
	submit(state, op);
	return 0;
}

/* Turn write OP into an early failure when element E's value is over the
 * limit: it then completes with STADION_ETOOBIG and changes nothing. */
static bool too_big(struct lmdb_store *s, struct lmdb_op *op, const char *key,
                    size_t len)
{
	if (len <= s->max_value)
		return false;
	op->c.kind = OP_FAILED;
	op_fail(op, STADION_ETOOBIG,
	        "value of %zu bytes for key '%s' is over max_value_bytes "
	        "(%zu); raise max_value_bytes in the lmdb plugin's "
	        "configuration",
	        len, key, s->max_value);
	return true;
}

static int lmdb_put(void *state, const char *key, const void *value,
                    size_t len, stadion_storage_done_fn *done, void *arg,
                    struct stadion_err *err)
{
	struct lmdb_store *s = state;
	struct lmdb_op *op;
	int rc;

	if (done == NULL)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	if ((rc = key_op_new(s, OP_PUT, key, false, arg, &op, err)) != 0)
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

static int lmdb_del(void *state, const char *key,
                    stadion_storage_done_fn *done, void *arg,
                    struct stadion_err *err)
{
	struct lmdb_op *op;
	int rc;

	if (done == NULL)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	if ((rc = key_op_new(state, OP_DEL, key, false, arg, &op, err)) != 0)
		return rc;
	op->c.cb.done = done;
	op->elems[0].type = STADION_STORAGE_DEL;
	submit(state, op);
	return 0;
}

static int lmdb_batch(void *state, const struct stadion_storage_op *ops,
                      size_t count, stadion_storage_done_fn *done, void *arg,
                      struct stadion_err *err)
{
	struct lmdb_store *s = state;
	struct lmdb_op *op;
	int rc;

	if (done == NULL)
		return stadion_err_set(err, STADION_EINVAL, "no completion");
	if ((rc = storage_common_batch_check(ops, count, err)) != 0)
		return rc;
	if ((op = op_new(OP_BATCH, count, arg, err)) == NULL)
		return STADION_ENOMEM;
	op->c.cb.done = done;
	for (size_t i = 0; i < count; i++) {
		struct lmdb_elem *e = &op->elems[i];

		if (storage_common_batch_type(&ops[i], i, err) != 0)
			goto fail_free_op;
		e->type = ops[i].type;
		if (elem_key(s, e, ops[i].key, false, err) != 0)
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

static void store_free(struct lmdb_store *s)
{
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static int lmdb_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	int64_t map_mb = DEFAULT_MAP_SIZE_MB;
	int64_t max_value = DEFAULT_MAX_VALUE_BYTES;
	const char *path = NULL;
	struct lmdb_store *s;
	MDB_txn *txn;
	int rc, mrc, dead;

	rc = host->conf_str(conf, "path", &path);
	if (rc == STADION_ENOENT || (rc == 0 && path[0] == '\0'))
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"path\" (the directory "
		                       "of the LMDB store) is missing");
	if (rc != 0)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"path\" must be a "
		                       "string");
	if (storage_common_conf_int(host, conf, "map_size_mb", 1,
	                            MAX_MAP_SIZE_MB, &map_mb, err) != 0 ||
	    storage_common_conf_int(host, conf, "max_value_bytes", 0,
	                            MAX_VALUE_BYTES_LIMIT, &max_value,
	                            err) != 0)
		return err != NULL ? err->code : STADION_EINVAL;
	/* A value must also fit the map, with room to spare. */
	if ((uint64_t)max_value > (uint64_t)map_mb * MIB / 2)
		return stadion_err_set(err, STADION_EINVAL,
		                       "max_value_bytes (%" PRId64 ") is over "
		                       "half of map_size_mb (%" PRId64 " MiB)",
		                       max_value, map_mb);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	s->host = host;
	s->map_size_mb = (uint64_t)map_mb;
	s->max_value = (size_t)max_value;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if ((s->path = strdup(path)) == NULL) {
		rc = stadion_err_set(err, STADION_ENOMEM, "out of memory");
		goto fail_free_store;
	}
	/* The store's own directory; its parent (--data_dir) must exist. */
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot create the LMDB directory '%s': "
		                     "%s",
		                     path, strerror(errno));
		goto fail_free_store;
	}
	if ((mrc = mdb_env_create(&s->env)) != 0 ||
	    (mrc = mdb_env_set_mapsize(s->env,
	                               (size_t)(s->map_size_mb * MIB))) != 0) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot set up an LMDB environment: %s",
		                     mdb_strerror(mrc));
		goto fail_free_store;
	}
	/* Every commit is synced before it returns (no NOSYNC flags), which
	 * is what "durable before completion" needs.  MDB_WRITEMAP writes
	 * pages in the map instead of malloc'ed copies: without it LMDB
	 * keeps every dirty page a large batch (100,000 instances) ever
	 * needed on its free list until the store closes, tens of MB of
	 * heap for nothing. */
	if ((mrc = mdb_env_open(s->env, path, MDB_WRITEMAP, 0600)) != 0) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot open the LMDB store in '%s': %s",
		                     path, mdb_strerror(mrc));
		goto fail_free_store;
	}
	/* Reader slots left by a process that died. */
	mdb_reader_check(s->env, &dead);
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	if ((mrc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0 ||
	    (mrc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) != 0 ||
	    (mrc = mdb_txn_commit(txn)) != 0) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot open the LMDB database in '%s': "
		                     "%s",
		                     path, mdb_strerror(mrc));
		goto fail_free_store;
	}
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		rc = stadion_err_set(err, STADION_EIO,
		                     "cannot start the writer thread");
		goto fail_free_store;
	}
	LOG(s, STADION_LOG_INFO,
	    "opened '%s' (map_size_mb %" PRIu64 ", max_value_bytes %zu)",
	    s->path, s->map_size_mb, s->max_value);
	*state_r = s;
	return 0;

fail_free_store:
	store_free(s);
	return rc;
}

static void lmdb_destroy(void *state)
{
	struct lmdb_store *s = state;

	/* The writer finishes what is queued (durably) before it exits. */
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);
	/* The loop has stopped: the posted drain will never run (stadiond
	 * drops it), so the completions still due are called here, once. */
	drain(s);
	if (s->outstanding != 0)
		LOG(s, STADION_LOG_ERROR,
		    "%zu operations never completed (completion posting "
		    "failed)",
		    s->outstanding);
	store_free(s);
}

static const struct stadion_storage_ops lmdb_ops = {
	.create = lmdb_create,
	.destroy = lmdb_destroy,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.list = lmdb_list,
	.batch = lmdb_batch,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_STORAGE, "lmdb", "1.0.0",
                      "embedded LMDB store under --data_dir", lmdb_ops);
