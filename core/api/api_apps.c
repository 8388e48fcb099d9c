/*
 * api_apps: /v2/apps (reference 1.1; Marathon's AppsResource,
 * AppVersionsResource and AppHelpers).  Reads come from the state
 * snapshot (the current root) and the tracker; every change goes through
 * the deployment runner and is answered once it is committed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api/api.h"
#include "api/api_appinfo.h"
#include "api/api_selector.h"
#include "api/api_util.h"
#include "deploy/deploy_run.h"
#include "jsonutil.h"
#include "log.h"
#include "model/model_errors.h"
#include "model/model_id.h"
#include "sched/sched_ids.h"
#include "sched/sched_tracker.h"
#include "state/state.h"

#define CT_JSON "application/json; charset=utf-8"

/* ------------------------------------------------------------------------
 * The listing cache
 *
 * Pollers ask for GET /v2/apps (often with embed=apps.tasks) far more often
 * than anything changes: the serialized answer is kept per query string
 * until the tracker's generation or the root version moves.  Answers with
 * task lifetimes (taskStats) change with the clock and are never kept.
 * ------------------------------------------------------------------------ */

#define CACHE_SLOTS 8

struct cache_slot {
	const struct tracker *tracker; /* which daemon's */
	uint64_t generation;
	char *root_version;            /* NULL before the first commit */
	char *query;                   /* the raw query string, "" for none */
	struct cache_blob *body;       /* one reference */
	uint64_t used;                 /* for least-recently-used eviction */
};

/* A serialized answer, shared by the slot and every reply still sending
 * it (http_reply_ref). */
struct cache_blob {
	unsigned refs;
	size_t len;
	char data[];
};

static struct cache_slot cache[CACHE_SLOTS];
static uint64_t cache_clock;

static bool same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static struct cache_slot *cache_find(const struct tracker *t, uint64_t gen,
                                     const char *root_version,
                                     const char *query)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *c = &cache[i];

		if (c->body != NULL && c->tracker == t &&
		    c->generation == gen &&
		    same_str(c->root_version, root_version) &&
		    strcmp(c->query, query) == 0) {
			c->used = ++cache_clock;
			return c;
		}
	}
	return NULL;
}

static void blob_unref(const void *data, size_t len, void *arg)
{
	struct cache_blob *b = arg;

	(void)data;
	(void)len;
	if (b != NULL && --b->refs == 0)
		free(b);
}

static void cache_slot_clear(struct cache_slot *c)
{
	free(c->root_version);
	free(c->query);
	blob_unref(NULL, 0, c->body);
	memset(c, 0, sizeof(*c));
}

/* Keep BODY for the key; a failure only costs the next poll a rebuild. */
static void cache_store(const struct tracker *t, uint64_t gen,
                        const char *root_version, const char *query,
                        const char *body, size_t len)
{
	struct cache_slot *victim = &cache[0];

	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *c = &cache[i];

		/* Entries of an older state can never be hit again. */
		if (c->body != NULL &&
		    (c->tracker != t || c->generation != gen ||
		     !same_str(c->root_version, root_version)))
			cache_slot_clear(c);
		if (c->body == NULL || c->used < victim->used)
			victim = c;
		if (victim->body == NULL)
			break;
	}
	cache_slot_clear(victim);
	victim->query = strdup(query);
	victim->root_version = root_version != NULL ? strdup(root_version)
	                                            : NULL;
	victim->body = malloc(sizeof(*victim->body) + len + 1);
	if (victim->body != NULL)
		victim->body->refs = 1;
	if (victim->query == NULL || victim->body == NULL ||
	    (root_version != NULL && victim->root_version == NULL)) {
		cache_slot_clear(victim);
		return;
	}
	memcpy(victim->body->data, body, len);
	victim->body->data[len] = '\0';
	victim->body->len = len;
	victim->tracker = t;
	victim->generation = gen;
	victim->used = ++cache_clock;
}

static const char *raw_query(const struct http_req *req)
{
	const struct evhttp_uri *uri =
		req->ev != NULL ? evhttp_request_get_evhttp_uri(req->ev) : NULL;
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;

	return q != NULL ? q : "";
}

/* ------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------ */

struct list_filter {
	const char *cmd, *id;          /* case-insensitive substrings */
	struct api_selector *labels;   /* NULL: any */
};

static bool filter_match(const struct list_filter *f, const struct app *app)
{
	if (f->cmd != NULL &&
	    (app->cmd == NULL || strcasestr(app->cmd, f->cmd) == NULL))
		return false;
	if (f->id != NULL && strcasestr(app->id, f->id) == NULL)
		return false;
	return f->labels == NULL || api_selector_match(f->labels, app);
}

/* {KEY: [AppInfo of the apps of the snapshot that MATCH(ARG, app)]}, a new
 * reference or NULL when out of memory. */
static struct json_object *
apps_json(const struct stadiond *d, const char *key,
          bool (*match)(const void *arg, const struct app *app),
          const void *arg, unsigned embeds)
{
	const struct state_snapshot *snap = state_snapshot(d->state);
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	int64_t now = api_util_now_ms();

	if (root == NULL || arr == NULL ||
	    json_object_object_add(root, key, arr) != 0) {
		json_object_put(arr);
		json_object_put(root);
		return NULL;
	}
	for (size_t i = 0; i < snap->n_apps; i++) {
		const struct app *app = snap->apps[i];

		if (!match(arg, app))
			continue;
		if (jsonutil_append(arr, api_appinfo_json(d, app, embeds, now)) !=
		    0) {
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}

static bool list_match(const void *arg, const struct app *app)
{
	return filter_match(arg, app);
}

void api_apps_list(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct list_filter f = {0};
	const struct state_snapshot *snap;
	struct cache_slot *hit;
	struct json_object *root;
	const char *query, *label, *s;
	unsigned embeds;
	uint64_t gen;
	bool cacheable;
	size_t len;
	char err[512];

	if (!api_util_ready(req))
		return;
	snap = state_snapshot(d->state);
	query = raw_query(req);
	/* Counts and deployments always: Marathon adds them (deprecated). */
	embeds = api_appinfo_embeds(req) | API_APPINFO_COUNTS |
	         API_APPINFO_DEPLOYMENTS;
	gen = tracker_generation(d->tracker);
	cacheable = !(embeds & API_APPINFO_TASK_STATS);
	if (cacheable && (hit = cache_find(d->tracker, gen, snap->root_version,
	                                   query)) != NULL) {
		hit->body->refs++;
		http_reply_ref(req, 200, CT_JSON, hit->body->data,
		               hit->body->len, blob_unref, hit->body);
		return;
	}
	f.cmd = http_req_query(req, "cmd");
	f.id = http_req_query(req, "id");
	if ((label = http_req_query(req, "label")) != NULL) {
		switch (api_selector_parse(label, &f.labels, err, sizeof(err))) {
		case 0:
			break;
		case -1:
			http_reply_message(req, 422, "%s", err);
			return;
		default:
			http_reply_message(req, 500, "out of memory");
			return;
		}
	}
	root = apps_json(d, "apps", list_match, &f, embeds);
	api_selector_free(f.labels);
	if (root == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	s = json_object_to_json_string_length(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);
	if (cacheable)
		cache_store(d->tracker, gen, snap->root_version, query, s, len);
	http_reply_raw(req, 200, CT_JSON, s, len);
	json_object_put(root);
}

/* The group of GET /v2/apps/{group}/ *: "/" or "/a/b" plus '/', so that
 * "/a/bc" is not below "/a/b". */
static bool below_group(const void *arg, const struct app *app)
{
	const char *prefix = arg;

	return strncmp(app->id, prefix, strlen(prefix)) == 0;
}

/* GET /v2/apps/{id*} where the last segment is "*": every app below the
 * group (Marathon's ListApps). */
static void get_group_apps(struct http_req *req, const char *raw,
                           unsigned embeds)
{
	struct stadiond *d = api_util_daemon(req);
	const struct state_snapshot *snap = state_snapshot(d->state);
	struct json_object *root;
	char *group = NULL, *prefix = NULL, *path;
	bool found = false;

	if ((path = strndup(raw, strlen(raw) - 1)) != NULL)
		group = model_id_normalize(path, "/");
	free(path);
	if (group == NULL ||
	    asprintf(&prefix, "%s/", model_id_is_root(group) ? "" : group) <
	            0) {
		prefix = NULL;
		http_reply_message(req, 500, "out of memory");
		goto out_free;
	}
	found = model_id_is_root(group);
	for (size_t i = 0; !found && i < snap->n_apps; i++)
		found = below_group(prefix, snap->apps[i]);
	if (!found) {
		http_reply_message(req, 404, "Group '%s' does not exist", group);
		goto out_free;
	}
	if ((root = apps_json(d, "*", below_group, prefix, embeds)) == NULL)
		http_reply_message(req, 500, "out of memory");
	else
		http_reply_json(req, 200, root);
out_free:
	free(prefix);
	free(group);
}

void api_apps_get(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	/* A single app always carries these (deprecated in Marathon, kept
	 * for compatibility). */
	unsigned embeds = API_APPINFO_COUNTS | API_APPINFO_TASKS |
	                  API_APPINFO_LAST_FAILURE | API_APPINFO_DEPLOYMENTS;
	struct json_object *info, *root;
	const struct app *app;
	char *raw, *id;
	size_t n;

	if (!api_util_ready(req) || (raw = api_util_param(req, 0)) == NULL)
		return;
	embeds |= api_appinfo_embeds(req);
	n = strlen(raw);
	if (raw[n - 1] == '*' && (n == 1 || raw[n - 2] == '/')) {
		get_group_apps(req, raw, embeds);
		free(raw);
		return;
	}
	id = model_id_normalize(raw, "/");
	free(raw);
	if (id == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	if ((app = state_app(d->state, id)) == NULL) {
		api_util_reply_no_app(req, id);
		free(id);
		return;
	}
	free(id);
	info = api_appinfo_json(d, app, embeds, api_util_now_ms());
	root = json_object_new_object();
	if (info == NULL || root == NULL || jsonutil_add(root, "app", info) != 0) {
		if (root == NULL)
			json_object_put(info);
		json_object_put(root);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 200, root);
}

void api_apps_versions(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	const char *const *versions = NULL;
	struct json_object *root, *arr;
	size_t n = 0;
	char *id;

	if (!api_util_ready(req) || (id = api_util_id(req, 0)) == NULL)
		return;
	if (state_app(d->state, id) == NULL) {
		api_util_reply_no_app(req, id);
		free(id);
		return;
	}
	if (state_app_versions(d->state, id, &versions, &n) != 0)
		n = 0;
	free(id);
	root = json_object_new_object();
	arr = json_object_new_array();
	if (root == NULL || arr == NULL ||
	    json_object_object_add(root, "versions", arr) != 0) {
		json_object_put(arr);
		goto fail_put;
	}
	/* Newest first, as Marathon lists them. */
	for (size_t i = n; i > 0; i--)
		if (jsonutil_append(arr, json_object_new_string(versions[i - 1])) !=
		    0)
			goto fail_put;
	http_reply_json(req, 200, root);
	return;

fail_put:
	json_object_put(root);
	http_reply_message(req, 500, "out of memory");
}

struct version_ctx {
	struct http_req *req; /* deferred; NULL once dropped */
	char *id, *version;
};

static void version_ctx_free(struct version_ctx *ctx)
{
	free(ctx->id);
	free(ctx->version);
	free(ctx);
}

static void version_read(void *arg, int rc, struct app *app,
                         const char *errmsg)
{
	struct version_ctx *ctx = arg;

	if (ctx->req == NULL) {
		/* stadiond is stopping: nobody to answer. */
		model_app_free(app);
	} else if (rc == 0) {
		http_reply_json(ctx->req, 200, json_object_get(app->json));
		model_app_free(app);
	} else if (rc == STADION_ENOENT) {
		http_reply_message(ctx->req, 404,
		                   "App '%s' does not exist in version %s",
		                   ctx->id, ctx->version);
	} else {
		http_reply_message(ctx->req, 500,
		                   "Cannot read version %s of app '%s': %s",
		                   ctx->version, ctx->id, errmsg);
	}
	version_ctx_free(ctx);
}

void api_apps_version(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct version_ctx *ctx;
	struct stadion_err err = {0};
	int rc;

	if (!api_util_ready(req))
		return;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	if ((ctx->id = api_util_id(req, 0)) == NULL ||
	    (ctx->version = api_util_param(req, 1)) == NULL) {
		version_ctx_free(ctx);
		return;
	}
	if (api_util_defer(req, &ctx->req) == NULL) {
		version_ctx_free(ctx);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	rc = state_read_app(d->state, ctx->id, ctx->version, version_read, ctx,
	                    &err);
	if (rc != 0)
		/* A version that cannot be a storage key is not stored. */
		version_read(ctx, rc == STADION_EINVAL ? STADION_ENOENT : rc,
		             NULL, err.msg);
}

/* ------------------------------------------------------------------------
 * Changes
 * ------------------------------------------------------------------------ */

/* POST /v2/apps: answered with the app as it was committed. */
struct create_ctx {
	struct http_req *req; /* deferred; NULL once dropped */
	struct stadiond *d;
	char *id;
};

static void create_done(void *arg, const struct deploy_result *res)
{
	struct create_ctx *ctx = arg;
	struct http_req *req = ctx->req;
	struct stadiond *d = ctx->d;
	const struct app *app = state_app(d->state, ctx->id);
	struct json_object *info = NULL, *deps, *dep;
	char *fresh = NULL;
	const char *dep_id = res->deployment_id;

	if (req == NULL)
		goto out_free; /* stadiond is stopping: nobody to answer */
	if (res->status != 200 && res->status != 201) {
		api_util_reply_refused(req, res);
		goto out_free;
	}
	if (app == NULL) {
		/* Committed and gone already (a DELETE right behind it). */
		api_util_reply_deployment(req, 201, dep_id, res->version, ctx->id);
		goto out_free;
	}
	if (dep_id == NULL)
		dep_id = fresh = sched_deployment_id_new();
	info = api_appinfo_json(d, app, 0, 0);
	deps = json_object_new_array();
	dep = json_object_new_object();
	/* Marathon answers with zero counts whatever already runs. */
	if (info == NULL || dep_id == NULL ||
	    jsonutil_add(info, "tasksStaged", json_object_new_int64(0)) != 0 ||
	    jsonutil_add(info, "tasksRunning", json_object_new_int64(0)) != 0 ||
	    jsonutil_add(info, "tasksHealthy", json_object_new_int64(0)) != 0 ||
	    jsonutil_add(info, "tasksUnhealthy", json_object_new_int64(0)) != 0 ||
	    deps == NULL || dep == NULL ||
	    jsonutil_add(dep, "id", json_object_new_string(dep_id)) != 0) {
		json_object_put(dep);
		json_object_put(deps);
		goto fail_put;
	}
	if (jsonutil_append(deps, dep) != 0) {
		json_object_put(deps);
		goto fail_put;
	}
	if (jsonutil_add(info, "deployments", deps) != 0)
		goto fail_put;
	api_util_reply_deployment_headers(req, dep_id, ctx->id);
	http_reply_json(req, 201, info);
	goto out_free;

fail_put:
	json_object_put(info);
	http_reply_message(req, 500, "out of memory");
out_free:
	free(fresh);
	free(ctx->id);
	free(ctx);
}

void api_apps_create(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct model_errors errs;
	struct deploy_change change = {0};
	struct create_ctx *ctx;
	struct json_object *body;
	struct app *app;
	bool force;
	int rc;

	if (!api_util_ready(req) || api_util_bool(req, "force", false, &force) != 0 ||
	    (body = api_util_body_json(req)) == NULL)
		return;
	model_errors_init(&errs);
	rc = model_app_parse(body, "/", NULL, &app, &errs);
	json_object_put(body);
	if (rc != 0) {
		if (rc == -1)
			api_util_reply_errors(req, &errs);
		else
			http_reply_message(req, 500, "out of memory");
		model_errors_clear(&errs);
		return;
	}
	model_errors_clear(&errs);
	if (state_app(d->state, app->id) != NULL) {
		http_reply_message(req, 409, "An app with id [%s] already exists.",
		                   app->id);
		model_app_free(app);
		return;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
	    (ctx->id = strdup(app->id)) == NULL ||
	    api_util_defer(req, &ctx->req) == NULL) {
		if (ctx != NULL)
			free(ctx->id);
		free(ctx);
		model_app_free(app);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	ctx->d = d;
	change.put_apps = &app;
	change.n_put_apps = 1;
	change.force = force;
	change.create_only = true;
	deploy_run_submit(d->runner, &change, create_done, ctx);
}

/* A body {"version": ts} (with at most the id beside it) asks for a
 * rollback to that stored version.  Returns 1 for a rollback (its version
 * in *VERSION_R), 0 for an ordinary update, -1 when the body mixes the two
 * (ERRS says how). */
static int rollback_version(struct json_object *body, const char **version_r,
                            struct model_errors *errs, const char *prefix)
{
	struct json_object *v;

	if (!json_object_object_get_ex(body, "version", &v))
		return 0;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "version") != 0 && strcmp(key, "id") != 0) {
			model_errors_add(errs, MODEL_ERR_VALID, prefix, "/",
			                 "The 'version' field may only be combined "
			                 "with the 'id' field.");
			return -1;
		}
	}
	if (!json_object_is_type(v, json_type_string)) {
		model_errors_add(errs, MODEL_ERR_JSON, prefix, "/version", "%s",
		                 MODEL_ERR_STRING);
		return -1;
	}
	*version_r = json_object_get_string(v);
	return 1;
}

/* The new definition of app ID from BODY: merged into CURRENT for a partial
 * update, else BODY whole (the URL's id wins over the body's, as Marathon
 * puts it into the body).  Returns as model_app_parse. */
static int updated_app(const char *id, const struct app *current,
                       struct json_object *body, bool partial,
                       const char *prefix, struct app **app_r,
                       struct model_errors *errs)
{
	struct json_object *idv;

	if (current != NULL && partial)
		return model_app_merge(current, body, prefix, app_r, errs);
	if (id != NULL) {
		if ((idv = json_object_new_string(id)) == NULL ||
		    json_object_object_add(body, "id", idv) != 0) {
			json_object_put(idv);
			return -2;
		}
	}
	return model_app_parse(body, "/", prefix, app_r, errs);
}

/* PUT or PATCH /v2/apps/{id*} waiting for the stored version to roll back
 * to. */
struct rollback_ctx {
	struct http_req *req; /* deferred; NULL once dropped */
	char *id;
	bool force;
};

static void rollback_read(void *arg, int rc, struct app *app,
                          const char *errmsg)
{
	struct rollback_ctx *ctx = arg;
	struct deploy_change change = {0};

	if (ctx->req == NULL) {
		/* stadiond is stopping: nobody to answer. */
		model_app_free(app);
	} else if (rc == STADION_ENOENT || rc == STADION_EINVAL) {
		api_util_reply_no_app(ctx->req, ctx->id);
	} else if (rc != 0) {
		http_reply_message(ctx->req, 500, "Cannot read app '%s': %s",
		                   ctx->id, errmsg);
	} else {
		change.put_apps = &app;
		change.n_put_apps = 1;
		change.force = ctx->force;
		api_util_submit(ctx->req, &change, 200, NULL);
	}
	free(ctx->id);
	free(ctx);
}

static void start_rollback(struct http_req *req, const char *id,
                           const char *version, bool force)
{
	struct stadiond *d = api_util_daemon(req);
	struct rollback_ctx *ctx = calloc(1, sizeof(*ctx));
	struct stadion_err err = {0};
	int rc;

	if (ctx == NULL || (ctx->id = strdup(id)) == NULL ||
	    api_util_defer(req, &ctx->req) == NULL) {
		if (ctx != NULL)
			free(ctx->id);
		free(ctx);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	ctx->force = force;
	rc = state_read_app(d->state, id, version, rollback_read, ctx, &err);
	if (rc != 0)
		rollback_read(ctx, rc, NULL, err.msg);
}

/* PUT (ALLOW_CREATE) and PATCH of one app. */
static void update_one(struct http_req *req, bool allow_create, bool patch)
{
	struct stadiond *d = api_util_daemon(req);
	struct deploy_change change = {0};
	struct model_errors errs;
	const struct app *current;
	struct json_object *body = NULL;
	struct app *app = NULL;
	const char *version = NULL;
	bool force, partial = true;
	char *id;
	int rc;

	if (!api_util_ready(req) || (id = api_util_id(req, 0)) == NULL)
		return;
	if (api_util_bool(req, "force", false, &force) != 0 ||
	    (!patch &&
	     api_util_bool(req, "partialUpdate", true, &partial) != 0) ||
	    (body = api_util_body_json(req)) == NULL)
		goto out_free;
	model_errors_init(&errs);
	current = state_app(d->state, id);
	if (!json_object_is_type(body, json_type_object)) {
		model_errors_add(&errs, MODEL_ERR_JSON, NULL, "/", "%s",
		                 MODEL_ERR_OBJECT);
		api_util_reply_errors(req, &errs);
		goto out_clear;
	}
	if (current == NULL && !allow_create) {
		api_util_reply_no_app(req, id);
		goto out_clear;
	}
	/* Only a partial update reads a version; a full replacement drops
	 * it, as Marathon's conversion to an update does.  Only existing
	 * apps roll back: a deleted app's versions are gone. */
	if (current != NULL && partial) {
		rc = rollback_version(body, &version, &errs, NULL);
		if (rc < 0) {
			api_util_reply_errors(req, &errs);
			goto out_clear;
		}
		if (rc > 0) {
			start_rollback(req, id, version, force);
			goto out_clear;
		}
	}
	rc = updated_app(id, current, body, partial, NULL, &app, &errs);
	if (rc != 0) {
		if (rc == -1)
			api_util_reply_errors(req, &errs);
		else
			http_reply_message(req, 500, "out of memory");
		goto out_clear;
	}
	change.put_apps = &app;
	change.n_put_apps = 1;
	change.force = force;
	api_util_submit(req, &change, current != NULL ? 200 : 201,
	                current != NULL ? NULL : id);
out_clear:
	model_errors_clear(&errs);
out_free:
	json_object_put(body);
	free(id);
}

void api_apps_put(struct http_req *req)
{
	update_one(req, true, false);
}

void api_apps_patch(struct http_req *req)
{
	update_one(req, false, true);
}

/* PUT and PATCH /v2/apps: several apps in one deployment.  Rollbacks among
 * them read their stored versions one after the other first. */
struct multi_ctx {
	struct http_req *req;     /* deferred once a read is under way; NULL
	                           * once dropped */
	struct stadiond *d;
	struct app **apps;        /* one slot per element, NULL until read */
	size_t n_apps;
	char **read_ids, **read_versions; /* per element, NULL: no read */
	size_t next_read;
	bool force;
};

static void multi_free(struct multi_ctx *m)
{
	for (size_t i = 0; i < m->n_apps; i++) {
		if (m->apps != NULL)
			model_app_free(m->apps[i]);
		if (m->read_ids != NULL)
			free(m->read_ids[i]);
		if (m->read_versions != NULL)
			free(m->read_versions[i]);
	}
	free(m->apps);
	free(m->read_ids);
	free(m->read_versions);
	free(m);
}

static void multi_submit(struct multi_ctx *m)
{
	struct deploy_change change = {
		.put_apps = m->apps,
		.n_put_apps = m->n_apps,
		.force = m->force,
	};

	api_util_submit(m->req, &change, 200, NULL);
	/* The runner took the apps over. */
	memset(m->apps, 0, m->n_apps * sizeof(*m->apps));
	multi_free(m);
}

static void multi_next(struct multi_ctx *m);

static void multi_read(void *arg, int rc, struct app *app,
                       const char *errmsg)
{
	struct multi_ctx *m = arg;
	size_t i = m->next_read;

	if (m->req == NULL) {
		/* stadiond is stopping: nobody to answer. */
		model_app_free(app);
		multi_free(m);
		return;
	}
	if (rc != 0) {
		if (rc == STADION_ENOENT || rc == STADION_EINVAL)
			api_util_reply_no_app(m->req, m->read_ids[i]);
		else
			http_reply_message(m->req, 500,
			                   "Cannot read app '%s': %s",
			                   m->read_ids[i], errmsg);
		multi_free(m);
		return;
	}
	m->apps[i] = app;
	m->next_read++;
	multi_next(m);
}

static void multi_next(struct multi_ctx *m)
{
	struct stadiond *d = m->d;
	struct stadion_err err = {0};
	int rc;

	while (m->next_read < m->n_apps && m->read_ids[m->next_read] == NULL)
		m->next_read++;
	if (m->next_read == m->n_apps) {
		multi_submit(m);
		return;
	}
	rc = state_read_app(d->state, m->read_ids[m->next_read],
	                    m->read_versions[m->next_read], multi_read, m, &err);
	if (rc != 0)
		multi_read(m, rc, NULL, err.msg);
}

static void update_many(struct http_req *req, bool allow_create, bool patch)
{
	struct stadiond *d = api_util_daemon(req);
	struct model_errors errs;
	struct json_object *body;
	struct multi_ctx *m = NULL;
	bool partial = true, reads = false;
	size_t n;

	if (!api_util_ready(req))
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	if (api_util_bool(req, "force", false, &m->force) != 0 ||
	    (!patch &&
	     api_util_bool(req, "partialUpdate", true, &partial) != 0) ||
	    (body = api_util_body_json(req)) == NULL) {
		free(m);
		return;
	}
	model_errors_init(&errs);
	if (!json_object_is_type(body, json_type_array)) {
		model_errors_add(&errs, MODEL_ERR_JSON, NULL, "/", "%s",
		                 MODEL_ERR_ARRAY);
		api_util_reply_errors(req, &errs);
		goto fail_free;
	}
	n = json_object_array_length(body);
	m->req = req;
	m->d = d;
	m->n_apps = n;
	m->apps = calloc(n ? n : 1, sizeof(*m->apps));
	m->read_ids = calloc(n ? n : 1, sizeof(*m->read_ids));
	m->read_versions = calloc(n ? n : 1, sizeof(*m->read_versions));
	if (m->apps == NULL || m->read_ids == NULL || m->read_versions == NULL)
		goto fail_nomem;
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(body, i);
		struct json_object *idv = NULL;
		const struct app *current = NULL;
		const char *version = NULL;
		char *id = NULL;
		int rc;

		if (partial) {
			if (!json_object_is_type(el, json_type_object) ||
			    !json_object_object_get_ex(el, "id", &idv) ||
			    !json_object_is_type(idv, json_type_string)) {
				http_reply_message(req, 422,
				                   "requirement failed: App Update "
				                   "must have app id set");
				goto fail_free;
			}
			if ((id = model_id_normalize(json_object_get_string(idv),
			                             "/")) == NULL)
				goto fail_nomem;
			current = state_app(d->state, id);
			if (current == NULL && !allow_create) {
				api_util_reply_no_app(req, id);
				free(id);
				goto fail_free;
			}
			rc = current != NULL
			             ? rollback_version(el, &version, &errs, NULL)
			             : 0;
			if (rc > 0) {
				m->read_ids[i] = id;
				if ((m->read_versions[i] = strdup(version)) ==
				    NULL)
					goto fail_nomem;
				reads = true;
				continue;
			}
			if (rc == 0)
				rc = updated_app(NULL, current, el, true, NULL,
				                 &m->apps[i], &errs);
			free(id);
		} else {
			rc = model_app_parse(el, "/", NULL, &m->apps[i], &errs);
		}
		if (rc == -2)
			goto fail_nomem;
		if (rc != 0) {
			api_util_reply_errors(req, &errs);
			goto fail_free;
		}
	}
	model_errors_clear(&errs);
	json_object_put(body);
	if (reads && api_util_defer(req, &m->req) == NULL) {
		multi_free(m);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	multi_next(m);
	return;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
fail_free:
	model_errors_clear(&errs);
	json_object_put(body);
	multi_free(m);
}

void api_apps_put_many(struct http_req *req)
{
	update_many(req, true, false);
}

void api_apps_patch_many(struct http_req *req)
{
	update_many(req, false, true);
}

void api_apps_delete(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct deploy_change change = {0};
	const char *del[1];
	bool force;
	char *id;

	if (!api_util_ready(req) || (id = api_util_id(req, 0)) == NULL)
		return;
	/* The one call whose force defaults to true in Marathon. */
	if (api_util_bool(req, "force", true, &force) != 0)
		goto out_free;
	if (state_app(d->state, id) == NULL) {
		api_util_reply_no_app(req, id);
		goto out_free;
	}
	del[0] = id;
	change.del_apps = del;
	change.n_del_apps = 1;
	change.force = force;
	api_util_submit(req, &change, 200, NULL);
out_free:
	free(id);
}

void api_apps_restart(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct deploy_change change = {0};
	const char *restart[1];
	bool force;
	char *id;

	if (!api_util_ready(req) || (id = api_util_id(req, 0)) == NULL)
		return;
	if (api_util_bool(req, "force", false, &force) != 0)
		goto out_free;
	if (state_app(d->state, id) == NULL) {
		api_util_reply_no_app(req, id);
		goto out_free;
	}
	restart[0] = id;
	change.restart_ids = restart;
	change.n_restart_ids = 1;
	change.force = force;
	api_util_submit(req, &change, 200, NULL);
out_free:
	free(id);
}
