/*
 * sched_task: the task builder.  See sched_task.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sched/sched_task.h"

/* EnvironmentHelper's limits: a label becomes a variable only when its key
 * is shorter than 512 - strlen("MARATHON_APP_LABEL_") and its value
 * shorter than 512 (Java string lengths, i.e. UTF-16 units). */
#define ENV_MAX_LEN 512
#define LABEL_PREFIX "MARATHON_APP_LABEL_"
#define LABEL_KEY_MAX (ENV_MAX_LEN - (sizeof(LABEL_PREFIX) - 1))

/* ---- host ports ------------------------------------------------------- */

/* Whether the ports of APP are its mappings (non-host networking) rather
 * than its port definitions. */
static bool uses_mappings(const struct app *app)
{
	return app->network_mode != APP_NET_HOST || app->n_port_mappings > 0;
}

int sched_task_port_requests(const struct app *app, uint32_t **req_r,
                             size_t *n_r)
{
	uint32_t *req;
	size_t n = 0;

	*req_r = NULL;
	*n_r = 0;
	if (uses_mappings(app)) {
		for (size_t i = 0; i < app->n_port_mappings; i++)
			n += app->port_mappings[i].host_port >= 0;
	} else {
		n = app->n_port_definitions;
	}
	if (n == 0)
		return 0;
	if ((req = calloc(n, sizeof(*req))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	n = 0;
	if (uses_mappings(app)) {
		for (size_t i = 0; i < app->n_port_mappings; i++)
			if (app->port_mappings[i].host_port >= 0)
				req[n++] = (uint32_t)
					app->port_mappings[i].host_port;
	} else {
		for (size_t i = 0; i < app->n_port_definitions; i++)
			req[n++] = app->require_ports
			                   ? (uint32_t)app->port_definitions[i]
			                             .service_port
			                   : 0;
	}
	*req_r = req;
	*n_r = n;
	return 0;
}

/* ---- formatting ------------------------------------------------------- */

void sched_task_format_double(double d, char buf[32])
{
	char e[40], digits[24], *p;
	size_t nd = 0;
	int exp, prec;
	double a = fabs(d);
	const char *sign = signbit(d) ? "-" : "";

	if (isnan(d)) {
		snprintf(buf, 32, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, 32, "%sInfinity", sign);
		return;
	}
	if (a == 0) {
		snprintf(buf, 32, "%s0.0", sign);
		return;
	}
	/* The fewest significant digits that read back as D, which is what
	 * Java prints. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, a);
		if (strtod(e, NULL) == a)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", prec - 1, a);
	for (p = e; *p != 'e'; p++)
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (a >= 1e-3 && a < 1e7) {
		char out[32];
		size_t o = 0;

		if (exp >= 0) {
			for (int i = 0; i <= exp; i++)
				out[o++] = (size_t)i < nd ? digits[i] : '0';
			out[o++] = '.';
			if ((size_t)exp + 1 < nd)
				for (size_t i = (size_t)exp + 1; i < nd; i++)
					out[o++] = digits[i];
			else
				out[o++] = '0';
		} else {
			out[o++] = '0';
			out[o++] = '.';
			for (int i = 0; i < -exp - 1; i++)
				out[o++] = '0';
			for (size_t i = 0; i < nd; i++)
				out[o++] = digits[i];
		}
		out[o] = '\0';
		snprintf(buf, 32, "%s%s", sign, out);
	} else {
		snprintf(buf, 32, "%s%c.%sE%d", sign, digits[0],
		         nd > 1 ? digits + 1 : "0", exp);
	}
}

char *sched_task_label_env_name(const char *key)
{
	char *name = malloc(strlen(key) + 1), *o = name;

	if (name == NULL)
		return NULL;
	for (const char *k = key; *k != '\0';) {
		unsigned char c = (unsigned char)*k;

		if (isalnum(c) || c == '_') {
			*o++ = (char)toupper(c);
			k++;
			continue;
		}
		/* A whole run of other bytes (multi-byte characters too)
		 * becomes one '_'. */
		while (*k != '\0' && !isalnum((unsigned char)*k) && *k != '_')
			k++;
		*o++ = '_';
	}
	*o = '\0';
	return name;
}

/* The length of UTF-8 S as Java counts it: UTF-16 units. */
static size_t java_length(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		/* A four-byte sequence is a surrogate pair in Java. */
		n += *p >= 0xf0 ? 2 : 1;
	}
	return n;
}

/* ---- the environment -------------------------------------------------- */

struct env {
	char **v;       /* KEY=VALUE, NULL-terminated when done */
	size_t n, cap;
	bool oom;
};

/* Set KEY (PREFIX prepended when not NULL) to VALUE: a key already there
 * keeps its place and takes the new value, as a later entry of a Scala
 * Map concatenation does. */
static void env_set(struct env *e, const char *prefix, const char *key,
                    const char *value)
{
	char *kv;
	size_t klen;

	if (e->oom)
		return;
	if (prefix == NULL)
		prefix = "";
	if (asprintf(&kv, "%s%s=%s", prefix, key, value) < 0) {
		e->oom = true;
		return;
	}
	klen = strlen(prefix) + strlen(key) + 1;
	for (size_t i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], kv, klen) == 0) {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap != 0 ? e->cap * 2 : 32;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL) {
			free(kv);
			e->oom = true;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void env_set_u32(struct env *e, const char *prefix, const char *key,
                        uint32_t value)
{
	char num[16];

	snprintf(num, sizeof(num), "%" PRIu32, value);
	env_set(e, prefix, key, num);
}

static void env_free(struct env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static void env_labels(struct env *e, const struct app *app)
{
	char *names = NULL;
	size_t len = 0;

	if ((names = strdup("")) == NULL) {
		e->oom = true;
		return;
	}
	/* The list comes before the values; it is filled in at the end
	 * (env_set keeps its place). */
	env_set(e, NULL, "MARATHON_APP_LABELS", "");
	for (size_t i = 0; i < app->n_labels && !e->oom; i++) {
		const struct app_kv *l = &app->labels[i];
		char *name, *key, *grown;
		bool seen = false;

		if (java_length(l->key) >= LABEL_KEY_MAX ||
		    java_length(l->value) >= ENV_MAX_LEN)
			continue;
		if ((name = sched_task_label_env_name(l->key)) == NULL) {
			e->oom = true;
			break;
		}
		/* Two keys may escape to one name: the last value wins and
		 * the name is listed once (both are Scala Maps). */
		for (const char *p = names; *p != '\0';) {
			size_t w = strcspn(p, " ");

			if (w == strlen(name) && strncmp(p, name, w) == 0)
				seen = true;
			p += w;
			p += *p == ' ';
		}
		if (!seen) {
			grown = realloc(names, len + strlen(name) + 2);
			if (grown == NULL) {
				free(name);
				e->oom = true;
				break;
			}
			names = grown;
			len += (size_t)sprintf(names + len, "%s%s",
			                       len > 0 ? " " : "", name);
		}
		if (asprintf(&key, LABEL_PREFIX "%s", name) < 0) {
			free(name);
			e->oom = true;
			break;
		}
		env_set(e, NULL, key, l->value);
		free(key);
		free(name);
	}
	env_set(e, NULL, "MARATHON_APP_LABELS", names);
	free(names);
}

/* ---- ports ------------------------------------------------------------ */

static uint32_t default_random_port(void *arg)
{
	(void)arg;
	return 1025 + (uint32_t)(random() % (65535 - 1024));
}

/* One port index: a port definition or a mapping. */
struct port_slot {
	uint32_t requested;  /* declared: service port, or container port */
	bool has_host;
	uint32_t host;       /* when has_host: the one from the offer */
	bool generated;      /* a random container port was drawn */
	uint32_t effective;  /* PORT<i> */
	const char *name;
	const char *protocol;
	uint32_t container;  /* mappings: the container port to publish */
};

static bool port_taken(const struct port_slot *s, size_t n, uint32_t p)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].requested == p || (s[i].has_host && s[i].host == p) ||
		    (s[i].generated && s[i].effective == p))
			return true;
	return false;
}

/* Fill SLOTS (N_SLOTS of them) for APP with the chosen host ports. */
static void ports_resolve(const struct app *app,
                          const struct sched_task_params *params,
                          struct port_slot *slots, size_t n_slots)
{
	bool mappings = uses_mappings(app);
	size_t next_host = 0;
	uint32_t (*rnd)(void *) = params->random_port != NULL
	                                  ? params->random_port
	                                  : default_random_port;

	for (size_t i = 0; i < n_slots; i++) {
		const struct app_port *p = mappings ? &app->port_mappings[i]
		                                    : &app->port_definitions[i];
		struct port_slot *s = &slots[i];

		s->name = p->name;
		s->protocol = p->protocol;
		s->requested = (uint32_t)(mappings ? p->container_port
		                                   : p->service_port);
		s->has_host = !mappings || p->host_port >= 0;
		if (s->has_host)
			s->host = params->host_ports[next_host++];
	}
	for (size_t i = 0; i < n_slots; i++) {
		struct port_slot *s = &slots[i];

		if (s->has_host) {
			s->effective = s->host;
		} else if (s->requested != 0) {
			s->effective = s->requested;
		} else {
			/* A port for the container alone: one no other
			 * port of the task uses, above the privileged
			 * ones. */
			uint32_t r;

			do
				r = rnd(params->random_arg);
			while (port_taken(slots, n_slots, r));
			s->effective = r;
			s->generated = true;
		}
		s->container = s->requested != 0 ? s->requested : s->effective;
	}
}

/* EnvironmentHelper.portsEnv. */
static void env_ports(struct env *e, const char *prefix,
                      const struct port_slot *slots, size_t n)
{
	char key[32], *list = NULL;
	size_t len = 0;
	bool first = true;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "PORT%zu", i);
		env_set_u32(e, prefix, key, slots[i].effective);
	}
	for (size_t i = 0; i < n; i++) {
		/* PORT_<declared>, or for a 0 the port it became. */
		uint32_t k = slots[i].requested != 0 ? slots[i].requested
		                                     : slots[i].effective;

		snprintf(key, sizeof(key), "PORT_%" PRIu32, k);
		env_set_u32(e, prefix, key, slots[i].effective);
	}
	for (size_t i = 0; i < n; i++) {
		char *name;

		/* Names only for host ports (a TODO in Marathon for
		 * generated container ports). */
		if (slots[i].name == NULL || !slots[i].has_host)
			continue;
		if (asprintf(&name, "PORT_%s", slots[i].name) < 0) {
			e->oom = true;
			return;
		}
		for (char *c = name; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		env_set_u32(e, prefix, name, slots[i].effective);
		free(name);
	}
	/* PORT and PORTS: the host ports first, then the generated
	 * container ports; declared container-only ports are in neither. */
	if ((list = malloc(n * 12 + 1)) == NULL) {
		e->oom = true;
		return;
	}
	list[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			bool take = pass == 0 ? slots[i].has_host
			                      : slots[i].generated;

			if (!take)
				continue;
			if (first)
				env_set_u32(e, prefix, "PORT",
				            slots[i].effective);
			len += (size_t)sprintf(list + len, "%s%" PRIu32,
			                       first ? "" : ",",
			                       slots[i].effective);
			first = false;
		}
	}
	env_set(e, prefix, "PORTS", list);
	free(list);
}

/* ---- the task --------------------------------------------------------- */

void sched_task_free(struct sched_task *task)
{
	if (task == NULL)
		return;
	if (task->env != NULL)
		for (size_t i = 0; i < task->n_env; i++)
			free(task->env[i]);
	free(task->env);
	free(task->argv);
	free(task->ports);
	free(task->port_mappings);
	free(task->labels);
	free(task->parameters);
	free(task->index_ports);
	free(task->task_id);
	free(task->agent_id);
	free(task);
}

/* The app's own env: string values only (a {"secret":...} value needs the
 * secrets feature, which is not supported). */
static void env_app(struct env *e, const struct app *app)
{
	struct json_object *env = NULL;

	json_object_object_get_ex(app->json, "env", &env);
	for (size_t i = 0; i < app->n_env; i++) {
		struct json_object *v = NULL;

		if (env != NULL &&
		    json_object_object_get_ex(env, app->env[i].key, &v) &&
		    !json_object_is_type(v, json_type_string))
			continue;
		env_set(e, NULL, app->env[i].key, app->env[i].value);
	}
}

static void env_build(struct env *e, const struct app *app,
                      const struct sched_task_params *params,
                      const struct port_slot *slots, size_t n_slots)
{
	char num[32];

	env_set(e, NULL, "MESOS_TASK_ID", params->task_id);
	env_set(e, NULL, "MARATHON_APP_ID", app->id);
	env_set(e, NULL, "MARATHON_APP_VERSION",
	        app->version != NULL ? app->version : "");
	/* Container.docker is only set for DOCKER containers: a MESOS
	 * container running a docker image does not get it. */
	if (app->container_type == APP_CONTAINER_DOCKER &&
	    app->docker_image != NULL)
		env_set(e, NULL, "MARATHON_APP_DOCKER_IMAGE",
		        app->docker_image);
	sched_task_format_double(app->cpus, num);
	env_set(e, NULL, "MARATHON_APP_RESOURCE_CPUS", num);
	sched_task_format_double(app->mem, num);
	env_set(e, NULL, "MARATHON_APP_RESOURCE_MEM", num);
	sched_task_format_double(app->disk, num);
	env_set(e, NULL, "MARATHON_APP_RESOURCE_DISK", num);
	snprintf(num, sizeof(num), "%" PRId64, app->gpus);
	env_set(e, NULL, "MARATHON_APP_RESOURCE_GPUS", num);
	env_set(e, NULL, "MARATHON_APP_ENFORCE_GROUP_ROLE",
	        params->enforce_role ? "TRUE" : "FALSE");
	env_labels(e, app);
	env_ports(e, params->env_prefix, slots, n_slots);
	if (params->hostname != NULL)
		env_set(e, params->env_prefix, "HOST", params->hostname);
	env_app(e, app);
}

static int docker_build(struct sched_task *t, const struct app *app,
                        const struct sched_task_params *params,
                        const struct port_slot *slots, size_t n_slots)
{
	struct driver_docker *d = &t->docker;

	d->image = app->docker_image;
	switch (app->network_mode) {
	case APP_NET_HOST:
		d->network = "HOST";
		break;
	case APP_NET_BRIDGE:
		d->network = "BRIDGE";
		break;
	case APP_NET_CONTAINER:
		d->network = "USER";
		break;
	}
	d->privileged = app->docker_privileged;
	d->force_pull = app->docker_force_pull;
	if (app->n_docker_parameters > 0) {
		t->parameters = calloc(app->n_docker_parameters,
		                       sizeof(*t->parameters));
		if (t->parameters == NULL)
			return -1;
		for (size_t i = 0; i < app->n_docker_parameters; i++) {
			t->parameters[i].key = app->docker_parameters[i].key;
			t->parameters[i].value =
				app->docker_parameters[i].value;
		}
		d->parameters = t->parameters;
		d->n_parameters = app->n_docker_parameters;
	}
	if (uses_mappings(app) && n_slots > 0) {
		t->port_mappings = calloc(n_slots, sizeof(*t->port_mappings));
		if (t->port_mappings == NULL)
			return -1;
		for (size_t i = 0; i < n_slots; i++) {
			t->port_mappings[i].container_port =
				slots[i].container;
			t->port_mappings[i].host_port =
				slots[i].has_host ? slots[i].host : 0;
			t->port_mappings[i].protocol = slots[i].protocol;
		}
		d->port_mappings = t->port_mappings;
		d->n_port_mappings = n_slots;
	}
	/* The app's labels, and MESOS_TASK_ID, which Marathon gives every
	 * Docker task so that its container can be found by task id. */
	t->labels = calloc(app->n_labels + 1, sizeof(*t->labels));
	if (t->labels == NULL)
		return -1;
	for (size_t i = 0; i < app->n_labels; i++) {
		t->labels[i].key = app->labels[i].key;
		t->labels[i].value = app->labels[i].value;
	}
	t->labels[app->n_labels].key = "MESOS_TASK_ID";
	t->labels[app->n_labels].value = params->task_id;
	d->labels = t->labels;
	d->n_labels = app->n_labels + 1;
	t->spec.docker = d;
	return 0;
}

int sched_task_build(const struct app *app,
                     const struct sched_task_params *params,
                     struct sched_task **task_r)
{
	struct sched_task *t;
	struct port_slot *slots = NULL;
	size_t n_slots, n_req = 0;
	uint32_t *req = NULL;
	struct env e = {0};

	if (sched_task_port_requests(app, &req, &n_req) < 0)
		return -1;
	free(req);
	if (params->task_id == NULL || params->n_host_ports != n_req ||
	    (n_req > 0 && params->host_ports == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail_oom;
	n_slots = uses_mappings(app) ? app->n_port_mappings
	                             : app->n_port_definitions;
	if (n_slots > 0 && (slots = calloc(n_slots, sizeof(*slots))) == NULL)
		goto free_task;
	ports_resolve(app, params, slots, n_slots);

	t->task_id = strdup(params->task_id);
	t->agent_id = params->agent_id != NULL ? strdup(params->agent_id)
	                                       : NULL;
	if (t->task_id == NULL ||
	    (params->agent_id != NULL && t->agent_id == NULL))
		goto free_slots;
	if (n_req > 0) {
		t->ports = malloc(n_req * sizeof(*t->ports));
		if (t->ports == NULL)
			goto free_slots;
		memcpy(t->ports, params->host_ports, n_req * sizeof(*t->ports));
	}
	if (n_slots > 0) {
		t->index_ports = calloc(n_slots, sizeof(*t->index_ports));
		if (t->index_ports == NULL)
			goto free_slots;
		for (size_t i = 0; i < n_slots; i++)
			t->index_ports[i] = slots[i].effective;
		t->n_index_ports = n_slots;
	}

	env_build(&e, app, params, slots, n_slots);
	if (e.oom)
		goto free_env;
	/* The task owns the array now. */
	t->env = e.v;
	t->n_env = e.n;
	e = (struct env){0};

	if (app->n_args > 0) {
		t->argv = calloc(app->n_args + 1, sizeof(*t->argv));
		if (t->argv == NULL)
			goto free_slots;
		memcpy(t->argv, app->args, app->n_args * sizeof(*t->argv));
	}
	if (app->container_type == APP_CONTAINER_DOCKER &&
	    app->docker_image != NULL &&
	    docker_build(t, app, params, slots, n_slots) < 0)
		goto free_slots;

	t->spec.task_id = t->task_id;
	t->spec.agent_id = t->agent_id;
	t->spec.argv = t->argv;
	/* args win over cmd in Marathon; validation allows only one. */
	t->spec.shell = t->argv == NULL ? app->cmd : NULL;
	t->spec.env = (const char *const *)t->env;
	t->spec.cpus = app->cpus;
	t->spec.mem = app->mem;
	t->spec.disk = app->disk;
	t->spec.ports = t->ports;
	t->spec.n_ports = n_req;
	t->spec.kill_grace_ms = app->task_kill_grace_period_seconds > 0
	                                ? app->task_kill_grace_period_seconds *
	                                          1000
	                                : 0;
	free(slots);
	*task_r = t;
	return 0;

free_env:
	env_free(&e);
free_slots:
	free(slots);
free_task:
	sched_task_free(t);
fail_oom:
	errno = ENOMEM;
	return -1;
}
