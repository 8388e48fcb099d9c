/*
 * sched_ports: service port assignment.  See sched_ports.h.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sched/sched_ports.h"

/* One bit per port number. */
#define PORT_SET_WORDS (65536 / 64)

struct port_set {
	uint64_t w[PORT_SET_WORDS];
};

static void set_add(struct port_set *s, int64_t p)
{
	if (p >= 0 && p <= 65535)
		s->w[p / 64] |= 1ULL << (p % 64);
}

static bool set_has(const struct port_set *s, int64_t p)
{
	return p >= 0 && p <= 65535 && (s->w[p / 64] >> (p % 64)) & 1;
}

/* An app's service ports are its mappings' when it has any, else its
 * port definitions' (AppDefinition.servicePorts). */
static struct app_port *service_ports(const struct app *app, size_t *n_r,
                                      bool *mappings_r)
{
	*mappings_r = app->n_port_mappings > 0;
	*n_r = *mappings_r ? app->n_port_mappings : app->n_port_definitions;
	return *mappings_r ? app->port_mappings : app->port_definitions;
}

static const struct app *old_app(const struct app *const *old, size_t n,
                                 const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(old[i]->id, id) == 0)
			return old[i];
	return NULL;
}

/* One assignment, decided before anything is written so that a failure
 * leaves every app as it was. */
struct plan {
	struct app *app;
	size_t index;
	bool mapping;
	uint32_t port;
	struct json_object *num; /* the new JSON number, owned until used */
};

/* The JSON object of port INDEX of APP. */
static struct json_object *port_json(const struct app *app, bool mapping,
                                     size_t index)
{
	struct json_object *v = NULL;

	if (mapping) {
		struct json_object *c = NULL;

		if (!json_object_object_get_ex(app->json, "container", &c) ||
		    !json_object_object_get_ex(c, "portMappings", &v))
			return NULL;
	} else if (!json_object_object_get_ex(app->json, "portDefinitions",
	                                      &v)) {
		return NULL;
	}
	if (!json_object_is_type(v, json_type_array) ||
	    index >= json_object_array_length(v))
		return NULL;
	return json_object_array_get_idx(v, index);
}

/* Draw the next port for an app: its own dropped ports first, then the
 * shared cursor over the range. */
static bool next_port(const uint32_t *reuse, size_t n_reuse, size_t *ri,
                      const struct port_set *used, uint32_t *cursor,
                      uint32_t port_max, uint32_t *port_r)
{
	if (*ri < n_reuse) {
		*port_r = reuse[(*ri)++];
		return true;
	}
	/* Ports handed out by the cursor are not added to USED: the cursor
	 * only moves forward, as Marathon's one shared iterator does. */
	while (*cursor <= port_max && set_has(used, *cursor))
		(*cursor)++;
	if (*cursor > port_max)
		return false;
	*port_r = (*cursor)++;
	return true;
}

int sched_ports_assign(const struct app *const *old_apps, size_t n_old,
                       struct app *const *new_apps, size_t n_new,
                       uint32_t port_min, uint32_t port_max, char *err,
                       size_t errlen)
{
	struct port_set *used;
	struct plan *plan = NULL;
	size_t n_plan = 0, cap = 0;
	uint32_t *reuse = NULL, cursor = port_min;
	int rc = -1, saved;

	if (port_min > port_max || port_max > 65535) {
		errno = EINVAL;
		return -1;
	}
	if ((used = calloc(1, sizeof(*used))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* The old root's ports count as used: they stay reserved for the
	 * app that had them, should it come back with 0s. */
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass == 0 ? n_old : n_new;

		for (size_t i = 0; i < n; i++) {
			const struct app *a =
				pass == 0 ? old_apps[i] : new_apps[i];
			struct app_port *p;
			size_t np;
			bool m;

			p = service_ports(a, &np, &m);
			for (size_t j = 0; j < np; j++)
				set_add(used, p[j].service_port);
		}
	}

	for (size_t i = 0; i < n_new; i++) {
		struct app *a = new_apps[i];
		const struct app *prev;
		struct app_port *p, *pp;
		size_t np, npp, n_reuse = 0, ri = 0;
		bool m, pm, dynamic = false;

		p = service_ports(a, &np, &m);
		for (size_t j = 0; j < np; j++)
			dynamic |= p[j].service_port == 0;
		if (!dynamic)
			continue;
		prev = old_app(old_apps, n_old, a->id);
		free(reuse);
		reuse = NULL;
		if (prev != NULL) {
			pp = service_ports(prev, &npp, &pm);
			if (npp > 0 &&
			    (reuse = calloc(npp, sizeof(*reuse))) == NULL)
				goto free_plan;
			for (size_t j = 0; j < npp; j++) {
				int64_t s = pp[j].service_port;
				bool kept = false;

				if (s < port_min || s > port_max)
					continue;
				for (size_t k = 0; k < np && !kept; k++)
					kept = p[k].service_port == s;
				if (!kept)
					reuse[n_reuse++] = (uint32_t)s;
			}
		}
		for (size_t j = 0; j < np; j++) {
			uint32_t port;

			if (p[j].service_port != 0)
				continue;
			if (!next_port(reuse, n_reuse, &ri, used, &cursor,
			               port_max, &port)) {
				if (err != NULL)
					snprintf(err, errlen,
					         SCHED_PORTS_MSG_EXHAUSTED,
					         port_min, port_max);
				errno = ENOSPC;
				goto free_plan;
			}
			if (n_plan == cap) {
				size_t c = cap != 0 ? cap * 2 : 16;
				struct plan *g =
					realloc(plan, c * sizeof(*plan));

				if (g == NULL)
					goto fail_oom;
				plan = g;
				cap = c;
			}
			plan[n_plan] = (struct plan){
				.app = a, .index = j, .mapping = m,
				.port = port,
				.num = json_object_new_int64(port)};
			if (plan[n_plan].num == NULL)
				goto fail_oom;
			n_plan++;
		}
	}

	/* Nothing can fail from here on. */
	for (size_t i = 0; i < n_plan; i++) {
		struct plan *pl = &plan[i];
		struct json_object *o = port_json(pl->app, pl->mapping,
		                                  pl->index);

		if (pl->mapping)
			pl->app->port_mappings[pl->index].service_port =
				pl->port;
		else
			pl->app->port_definitions[pl->index].service_port =
				pl->port;
		/* Replacing a key's value keeps its place in the object
		 * and leaves the other keys' strings (the typed name and
		 * protocol point at them) alone. */
		if (o != NULL) {
			json_object_object_add(o,
			                       pl->mapping ? "servicePort"
			                                   : "port",
			                       pl->num);
			pl->num = NULL;
		}
	}
	rc = 0;
	goto free_plan;

fail_oom:
	errno = ENOMEM;
free_plan:
	saved = errno;
	for (size_t i = 0; i < n_plan; i++)
		json_object_put(plan[i].num);
	free(plan);
	free(reuse);
	free(used);
	errno = saved;
	return rc;
}
