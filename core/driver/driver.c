#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/driver.h"

static const char *const state_names[] = {
	[DRIVER_TASK_STAGING] = "TASK_STAGING",
	[DRIVER_TASK_STARTING] = "TASK_STARTING",
	[DRIVER_TASK_RUNNING] = "TASK_RUNNING",
	[DRIVER_TASK_KILLING] = "TASK_KILLING",
	[DRIVER_TASK_FINISHED] = "TASK_FINISHED",
	[DRIVER_TASK_FAILED] = "TASK_FAILED",
	[DRIVER_TASK_KILLED] = "TASK_KILLED",
	[DRIVER_TASK_LOST] = "TASK_LOST",
	[DRIVER_TASK_ERROR] = "TASK_ERROR",
};

const char *driver_task_state_name(enum driver_task_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "TASK_UNKNOWN";
	return state_names[state];
}

bool driver_task_state_terminal(enum driver_task_state state)
{
	return state == DRIVER_TASK_FINISHED || state == DRIVER_TASK_FAILED ||
	       state == DRIVER_TASK_KILLED || state == DRIVER_TASK_LOST ||
	       state == DRIVER_TASK_ERROR;
}

void driver_set_status_cb(struct driver *d, driver_status_fn *fn, void *arg)
{
	d->status_fn = fn;
	d->status_arg = arg;
}

void driver_destroy(struct driver *d)
{
	if (d != NULL)
		d->ops->destroy(d);
}

int driver_agents(struct driver *d, const struct driver_agent **agents_r,
                  size_t *n_r)
{
	return d->ops->agents(d, agents_r, n_r);
}

int driver_offers(struct driver *d, struct driver_offer **offers_r,
                  size_t *n_r)
{
	return d->ops->offers(d, offers_r, n_r);
}

void driver_offers_free(struct driver_offer *offers, size_t n)
{
	if (offers == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(offers[i].ports);
	free(offers);
}

int driver_launch(struct driver *d, const struct driver_task_spec *spec,
                  char *err, size_t errlen)
{
	return d->ops->launch(d, spec, err, errlen);
}

int driver_kill(struct driver *d, const char *task_id, int64_t grace_ms)
{
	return d->ops->kill(d, task_id, grace_ms);
}

int driver_adopt(struct driver *d, const struct driver_task_spec *spec,
                 const struct driver_launch_record *rec, char *err,
                 size_t errlen)
{
	if (d->ops->adopt == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	return d->ops->adopt(d, spec, rec, err, errlen);
}

int driver_reconcile(struct driver *d, const char *task_id)
{
	return d->ops->reconcile(d, task_id);
}

int driver_launch_record(struct driver *d, const char *task_id,
                         struct driver_launch_record *rec_r)
{
	if (d->ops->launch_record == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	return d->ops->launch_record(d, task_id, rec_r);
}

int driver_find_launch(struct driver *d, const char *task_id,
                       struct driver_found_launch *found_r)
{
	if (d->ops->find_launch == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	return d->ops->find_launch(d, task_id, found_r);
}

int driver_attr_format_scalar(double v, char *buf, size_t buflen)
{
	/* "%.3f" rounds the exact binary value half-even, as Java's
	 * HALF_EVEN does since Java 8; what is left is trimming and
	 * grouping. */
	char raw[400], out[560];
	char *dot, *end, *digits = raw;
	size_t n = 0, int_len;

	if (v != v)
		return snprintf(buf, buflen, "NaN");
	if (v > 1e300 || v < -1e300)
		return snprintf(buf, buflen, "%s",
		                v < 0 ? "-\u221e" : "\u221e");
	snprintf(raw, sizeof(raw), "%.3f", v);
	dot = strchr(raw, '.');
	end = raw + strlen(raw);
	while (end > dot + 1 && end[-1] == '0')
		*--end = '\0';
	if (end == dot + 1)
		*dot = '\0';
	if (*digits == '-')
		out[n++] = *digits++;
	int_len = dot != NULL && *dot != '\0' ? (size_t)(dot - digits)
	                                      : strlen(digits);
	for (size_t i = 0; i < int_len; i++) {
		if (i > 0 && (int_len - i) % 3 == 0)
			out[n++] = ',';
		out[n++] = digits[i];
	}
	if (dot != NULL && *dot != '\0')
		for (const char *f = dot; *f != '\0'; f++)
			out[n++] = *f;
	out[n] = '\0';
	return snprintf(buf, buflen, "%s", out);
}
