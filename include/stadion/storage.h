/*
 * stadion plugin ABI: storage backends (kind STADION_PLUGIN_KIND_STORAGE).
 *
 * A storage backend keeps stadiond's state as a tree of keys ("apps/web/
 * 2026-11-24T16:56:00.000Z", "deployments/<uuid>") with opaque byte values.
 * Every operation is asynchronous: it returns at once and later calls its
 * completion exactly once, on the loop thread, never from inside the call
 * that started it.  stadiond answers an API call only after the completion
 * of its write reported success.
 *
 * Order: completions are called in the order their operations were
 * started, and a read (get, list) sees the effect of every write started
 * before it, whether that write has completed yet or not.
 *
 * Keys are '/'-separated, without a leading '/', each segment non-empty.
 * A call given a key that breaks these rules returns STADION_EINVAL (its
 * completion is not called).  A key that has keys below it is a parent
 * whether or not it was ever put itself: list() of its parent names it.
 * Whether get() of such an implied parent finds an (empty) value or
 * STADION_ENOENT is the backend's choice; stadiond does not rely on it.
 *
 * destroy() finishes or fails the operations still under way and calls
 * their completions (exactly once, from destroy() itself) before it
 * returns; the loop has stopped by then.
 *
 * tests/storage/test_storage_contract in stadion's source tree checks all
 * of this for any storage plugin (see STORAGE_PLUGIN and STORAGE_CONF in
 * its header comment).
 *
 * Status: the members below are ABI 1.0.  The state issues may still append
 * members before 1.0 is released; see plugin.h for the growth rules.
 */
#ifndef STADION_STORAGE_H
#define STADION_STORAGE_H

#include <stadion/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* get: RC is 0 with the value (VALUE borrowed for the duration of the call),
 * STADION_ENOENT, or another negative code with ERRMSG saying why. */
typedef void stadion_storage_get_fn(void *arg, int rc, const void *value,
                                    size_t len, const char *errmsg);

/* put, del, batch: RC 0 once the change is durable, else negative. */
typedef void stadion_storage_done_fn(void *arg, int rc, const char *errmsg);

/* list: the names of KEY's direct children (borrowed for the call). */
typedef void stadion_storage_list_fn(void *arg, int rc,
                                     const char *const *names, size_t count,
                                     const char *errmsg);

enum stadion_storage_op_type {
	STADION_STORAGE_PUT = 1,
	STADION_STORAGE_DEL = 2,
};

/* One element of an atomic batch (borrowed for the duration of batch()). */
struct stadion_storage_op {
	uint32_t type;     /* enum stadion_storage_op_type */
	const char *key;
	const void *value; /* PUT only */
	size_t len;        /* PUT only */
};

struct stadion_storage_ops {
	stadion_create_fn *create;   /* required: open the store */
	stadion_destroy_fn *destroy; /* required: flush and close it */

	/* All calls below: required, thread loop, must not block.  KEY and
	 * VALUE are borrowed for the duration of the call (copy them if the
	 * work goes on after it returns).  A negative return (fill ERR) means
	 * the operation did not start and its completion is not called. */

	/* get(state, key, done, arg, err): read one value. */
	int (*get)(void *state, const char *key, stadion_storage_get_fn *done,
	           void *arg, struct stadion_err *err);

	/* put(state, key, value, len, done, arg, err): create or replace.
	 * A value over the backend's limit completes with STADION_ETOOBIG and
	 * changes nothing. */
	int (*put)(void *state, const char *key, const void *value, size_t len,
	           stadion_storage_done_fn *done, void *arg,
	           struct stadion_err *err);

	/* del(state, key, done, arg, err): remove KEY and everything below it;
	 * removing a missing key succeeds. */
	int (*del)(void *state, const char *key, stadion_storage_done_fn *done,
	           void *arg, struct stadion_err *err);

	/* list(state, key, done, arg, err): names of the direct children of
	 * KEY ("" is the root), in byte order (unsigned, as memcmp).  A leaf,
	 * or a key that does not exist, has none: RC 0 and COUNT 0. */
	int (*list)(void *state, const char *key, stadion_storage_list_fn *done,
	            void *arg, struct stadion_err *err);

	/* batch(state, ops, count, done, arg, err): apply all or none. */
	int (*batch)(void *state, const struct stadion_storage_op *ops,
	             size_t count, stadion_storage_done_fn *done, void *arg,
	             struct stadion_err *err);
	/* Later minors append here only. */
};

#define STADION_STORAGE_OPS_SIZE_1_0 \
	(offsetof(struct stadion_storage_ops, batch) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* STADION_STORAGE_H */
