/*
 * storage_common: the operation bookkeeping the bundled stores share: an
 * operation's callback and result, the FIFO queues that carry operations
 * between the loop and the store's own thread, and the done queue drained
 * on the loop by one callback posted with host->post().
 *
 * Private to plugins/storage/: each store is a standalone .so built as a
 * third party builds theirs, so this is a header of static inline functions
 * that every plugin compiles into itself, never a library they link or ABI
 * in include/stadion/.
 *
 * A store's own operation struct embeds struct storage_common_op as its
 * FIRST member, so that a pointer to one is a pointer to the other.  The
 * store keeps its mutex, its done queue and its drain_posted flag itself;
 * the helpers below are handed them and take the mutex exactly where a
 * store did.
 */
#ifndef STADION_STORAGE_COMMON_H
#define STADION_STORAGE_COMMON_H

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/storage.h>

enum storage_op_kind {
	OP_GET,
	OP_LIST,
	OP_PUT,
	OP_DEL,
	OP_BATCH,
	OP_FAILED, /* failed before it started (too big): only reports */
};

/* One operation, from the call that starts it to its completion.  Owned by
 * whichever queue holds it, then freed after its completion ran. */
struct storage_common_op {
	enum storage_op_kind kind;
	union {
		stadion_storage_get_fn *get;
		stadion_storage_list_fn *list;
		stadion_storage_done_fn *done;
	} cb;
	void *arg;      /* the caller's, passed back */
	/* Result. */
	int rc;
	char errmsg[256];
	void *value;    /* owned: get's value */
	size_t len;
	char **names;   /* owned: list's names */
	size_t n_names;
	struct storage_common_op *next;
};

struct storage_common_queue {
	struct storage_common_op *head, *tail;
};

static inline void storage_common_queue_push(struct storage_common_queue *q,
                                             struct storage_common_op *op)
{
	op->next = NULL;
	if (q->tail != NULL)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
}

/* Everything queued, as a list; Q is empty after. */
static inline struct storage_common_op *
storage_common_queue_take(struct storage_common_queue *q)
{
	struct storage_common_op *all = q->head;

	q->head = q->tail = NULL;
	return all;
}

/* Frees OP's result (get's value, list's names), not OP itself. */
static inline void storage_common_op_free_result(struct storage_common_op *op)
{
	free(op->value);
	for (size_t i = 0; i < op->n_names; i++)
		free(op->names[i]);
	free(op->names);
}

static inline int storage_common_op_fail(struct storage_common_op *op, int rc,
                                         const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int storage_common_op_fail(struct storage_common_op *op, int rc,
                                         const char *fmt, ...)
{
	va_list ap;

	op->rc = rc;
	va_start(ap, fmt);
	vsnprintf(op->errmsg, sizeof(op->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

/* Call OP's completion with its result.  Loop thread (or destroy()). */
static inline void storage_common_op_deliver(struct storage_common_op *op)
{
	const char *msg = op->rc != 0 ? op->errmsg : NULL;

	switch (op->kind) {
	case OP_GET:
		op->cb.get(op->arg, op->rc, op->rc == 0 ? op->value : NULL,
		           op->rc == 0 ? op->len : 0, msg);
		break;
	case OP_LIST:
		op->cb.list(op->arg, op->rc,
		            (const char *const *)(op->rc == 0 ? op->names
		                                              : NULL),
		            op->rc == 0 ? op->n_names : 0, msg);
		break;
	default:
		op->cb.done(op->arg, op->rc, msg);
		break;
	}
}

/* The drain's start: takes the done queue DONE, guarded by LOCK, and clears
 * *DRAIN_POSTED.  The list returned is the caller's: a completion may start
 * new operations. */
static inline struct storage_common_op *
storage_common_drain_take(pthread_mutex_t *lock,
                          struct storage_common_queue *done,
                          bool *drain_posted)
{
	struct storage_common_op *ops;

	pthread_mutex_lock(lock);
	ops = storage_common_queue_take(done);
	*drain_posted = false;
	pthread_mutex_unlock(lock);
	return ops;
}

/* Hand finished operations OPS (a list) to the loop: onto the done queue
 * DONE, guarded by LOCK, posting DRAIN(ARG) with HOST unless *DRAIN_POSTED
 * says one is queued already.  Any thread. */
static inline void storage_common_finish(const struct stadion_host *host,
                                         pthread_mutex_t *lock,
                                         struct storage_common_queue *done,
                                         bool *drain_posted,
                                         struct storage_common_op *ops,
                                         stadion_post_fn *drain,
                                         void *arg)
{
	struct storage_common_op *next;
	bool post;

	pthread_mutex_lock(lock);
	for (; ops != NULL; ops = next) {
		next = ops->next;
		storage_common_queue_push(done, ops);
	}
	post = !*drain_posted;
	*drain_posted = true;
	pthread_mutex_unlock(lock);
	if (post && host->post(host->ctx, drain, arg) != 0) {
		/* Out of memory: leave drain_posted false so that the next
		 * result tries again; destroy() delivers whatever is left. */
		pthread_mutex_lock(lock);
		*drain_posted = false;
		pthread_mutex_unlock(lock);
		host->log(host->ctx, STADION_LOG_ERROR,
		          "cannot post completions to the loop (out of "
		          "memory); they wait for the next operation");
	}
}

/* ------------------------------------------------------------------------
 * Starting operations (loop thread)
 * ------------------------------------------------------------------------ */

/* The checks of KEY every store makes first: not NULL, and "" only when
 * ROOT_OK.  Its length in *LEN_R; 0, or a code with ERR filled. */
static inline int storage_common_key_check(const char *key, bool root_ok,
                                           size_t *len_r,
                                           struct stadion_err *err)
{
	size_t len;

	if (key == NULL)
		return stadion_err_set(err, STADION_EINVAL, "key is NULL");
	len = strlen(key);
	if (len == 0 && !root_ok)
		return stadion_err_set(err, STADION_EINVAL,
		                       "the empty key (the root) is only "
		                       "valid for list");
	*len_r = len;
	return 0;
}

/* KEY (LEN bytes) has no empty segment: no leading, trailing or double
 * '/'.  0, or a code with ERR filled. */
static inline int storage_common_key_segments(const char *key, size_t len,
                                              struct stadion_err *err)
{
	if (len > 0 && (key[0] == '/' || key[len - 1] == '/' ||
	                strstr(key, "//") != NULL))
		return stadion_err_set(err, STADION_EINVAL,
		                       "key '%s' has an empty segment (a "
		                       "leading, trailing or double '/')",
		                       key);
	return 0;
}

/* A copy of VALUE (LEN bytes) into *VALUE_R and *LEN_R, left alone when LEN
 * is 0.  0, or a code with ERR filled. */
static inline int storage_common_value_copy(void **value_r, size_t *len_r,
                                            const void *value, size_t len,
                                            struct stadion_err *err)
{
	if (len == 0)
		return 0;
	if (value == NULL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "value is NULL with a length of %zu",
		                       len);
	if ((*value_r = malloc(len)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	memcpy(*value_r, value, len);
	*len_r = len;
	return 0;
}

/* batch(): OPS may be NULL only when COUNT is 0.  0, or a code with ERR
 * filled. */
static inline int
storage_common_batch_check(const struct stadion_storage_op *ops, size_t count,
                           struct stadion_err *err)
{
	if (ops == NULL && count > 0)
		return stadion_err_set(err, STADION_EINVAL,
		                       "ops is NULL with a count of %zu",
		                       count);
	return 0;
}

/* batch(): element I, OP, is a put or a delete.  0, or a code with ERR
 * filled. */
static inline int
storage_common_batch_type(const struct stadion_storage_op *op, size_t i,
                          struct stadion_err *err)
{
	if (op->type != STADION_STORAGE_PUT && op->type != STADION_STORAGE_DEL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "batch element %zu has an unknown type "
		                       "%" PRIu32,
		                       i, op->type);
	return 0;
}

/* ------------------------------------------------------------------------
 * Configuration (create())
 * ------------------------------------------------------------------------ */

/* Read integer KEY of CONF into *VALUE_R (left alone when absent), within
 * [MIN, MAX]. */
static inline int storage_common_conf_int(const struct stadion_host *host,
                                          const struct stadion_conf *conf,
                                          const char *key, int64_t min,
                                          int64_t max, int64_t *value_r,
                                          struct stadion_err *err)
{
	int64_t v;
	int rc = host->conf_int(conf, key, &v);

	if (rc == STADION_ENOENT)
		return 0;
	if (rc != 0 || v < min || v > max)
		return stadion_err_set(err, STADION_EINVAL,
		                       "configuration \"%s\" must be an "
		                       "integer from %" PRId64 " to %" PRId64,
		                       key, min, max);
	*value_r = v;
	return 0;
}

#endif
