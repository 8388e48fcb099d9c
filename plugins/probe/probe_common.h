/*
 * probe_common: the bookkeeping the bundled probes share: the plugin state
 * (the host and the checks under way) and the list of checks that destroy()
 * and cancel() walk.
 *
 * Private to plugins/probe/: each probe is a standalone .so built as a third
 * party builds theirs, so this is a header of static inline functions that
 * every plugin compiles into itself, never a library they link or ABI in
 * include/stadion/.
 *
 * A probe's own check struct embeds struct probe_common_check as its FIRST
 * member, so that a pointer to one is a pointer to the other and free()
 * of the base frees the whole check.
 */
#ifndef STADION_PROBE_COMMON_H
#define STADION_PROBE_COMMON_H

#include <stdlib.h>

#include <stadion/probe.h>

struct probe_common;

/* One check under way: owned by its probe's list from
 * probe_common_check_link() until it is unlinked. */
struct probe_common_check {
	struct probe_common *pr;
	stadion_probe_done_fn *done;
	void *done_arg;                  /* also what cancel() knows it by */
	struct probe_common_check *prev, *next;
};

/* The state create() hands back to the host. */
struct probe_common {
	const struct stadion_host *host; /* borrowed until destroy() */
	struct probe_common_check *checks; /* under way, owned */
};

/* What a probe does with a check's own resources (a host call, a socket)
 * before it is freed; the check is unlinked already. */
typedef void probe_common_release_fn(struct probe_common_check *c);

/* create(): MISSING names the host service the probe cannot work without
 * (NULL when the host offers all it needs), so that an older stadiond is
 * refused with one message. */
static inline int probe_common_create(const struct stadion_host *host,
                                      const char *missing, void **state_r,
                                      struct stadion_err *err)
{
	struct probe_common *pr;

	if (missing != NULL)
		return stadion_err_set(err, STADION_ENOTSUP,
		                       "this stadiond offers no %s to plugins; "
		                       "run the stadiond this plugin came with",
		                       missing);
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	pr->host = host;
	*state_r = pr;
	return STADION_OK;
}

/* A zeroed check of SIZE bytes (the probe's own struct) for DONE; not yet
 * in the list, so a failed start just free()s it.  NULL when memory is
 * short. */
static inline void *probe_common_check_new(struct probe_common *pr,
                                           size_t size,
                                           stadion_probe_done_fn *done,
                                           void *done_arg)
{
	struct probe_common_check *c = calloc(1, size);

	if (c == NULL)
		return NULL;
	c->pr = pr;
	c->done = done;
	c->done_arg = done_arg;
	return c;
}

/* The check has started: the list owns it from now on. */
static inline void probe_common_check_link(struct probe_common_check *c)
{
	struct probe_common *pr = c->pr;

	c->next = pr->checks;
	if (pr->checks != NULL)
		pr->checks->prev = c;
	pr->checks = c;
}

static inline void probe_common_check_unlink(struct probe_common_check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->pr->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

/* The verdict: unlinked before done() runs, so that done() may cancel or
 * start checks; freed after.  CAUSE may be NULL. */
static inline void probe_common_check_finish(struct probe_common_check *c,
                                             enum stadion_probe_result result,
                                             const char *cause)
{
	probe_common_check_unlink(c);
	c->done(c->done_arg, result, cause);
	free(c);
}

/* cancel(): the check known by DONE_ARG, if still under way, goes without
 * its done() running. */
static inline void probe_common_cancel(void *state, void *done_arg,
                                       probe_common_release_fn *release)
{
	struct probe_common *pr = state;

	for (struct probe_common_check *c = pr->checks; c != NULL;
	     c = c->next) {
		if (c->done_arg != done_arg)
			continue;
		probe_common_check_unlink(c);
		if (release != NULL)
			release(c);
		free(c);
		return;
	}
}

/* destroy(): frees every check still under way (none of their done()s runs)
 * and the state.  RELEASE may be NULL. */
static inline void probe_common_destroy(void *state,
                                        probe_common_release_fn *release)
{
	struct probe_common *pr = state;

	while (pr->checks != NULL) {
		struct probe_common_check *c = pr->checks;

		probe_common_check_unlink(c);
		if (release != NULL)
			release(c);
		free(c);
	}
	free(pr);
}

#endif
