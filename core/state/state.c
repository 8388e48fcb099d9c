/*
 * state: see state.h.  Entities <-> JSON values live in state_codec.c;
 * this file keeps the snapshot, builds the batches, and loads.
 *
 * A commit is prepared against the snapshot as "next" arrays (apps,
 * deployments, version index, root versions, cached root documents) plus
 * two trash lists: what to free when the batch succeeded (the replaced
 * old objects) and what to free when it failed (the new ones).  The
 * completion then swaps the arrays in, or drops them: nothing can fail
 * after the storage answered, so memory always matches storage.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model/model_id.h"
#include "state/state.h"
#include "state/state_codec.h"

#define STATE_DEFAULT_MAX_VERSIONS 50
#define KEY_CURRENT "groups/root/current"
#define KEY_FRAMEWORK_ID "framework-id"

/* The stored versions of one app, oldest first; owns everything. */
struct vlist {
	char *app_id;
	char **v;
	size_t n;
};

/* Something to free, and how. */
struct trash_item {
	void (*fn)(void *);
	void *p;
};

struct trash {
	struct trash_item *items;
	size_t n, cap;
};

/* One queued or running state_commit. */
struct commit {
	struct state *s;
	/* The change, copied: ids owned, apps and deployments taken. */
	char *root_version;
	struct app **put_apps;
	size_t n_put_apps;
	char **del_apps;
	size_t n_del_apps;
	struct state_deployment **put_deps;
	size_t n_put_deps;
	char **del_deps;
	size_t n_del_deps;
	state_done_fn *done;
	void *arg;
	/* Prepared by commit_build, swapped in on success. */
	struct app **apps;
	size_t n_apps;
	struct state_deployment **deps;
	size_t n_deps;
	struct vlist **index;
	size_t n_index;
	char **roots;
	size_t n_roots;
	struct state_root_doc **docs;
	size_t n_docs;
	struct trash on_ok, on_fail;
	struct commit *next;
};

/* One instance or framework id write under way. */
struct write {
	struct state *s;
	struct state_instance **insts; /* taken; NULL entries once applied */
	size_t n_insts;
	char *del_instance;             /* state_del_instance */
	char *framework_id;             /* state_put_framework_id */
	state_done_fn *done;
	void *arg;
	uint64_t seq;                   /* instance writes: state_last_write() */
};

struct state {
	const struct stadion_storage_ops *ops;
	void *storage;
	uint32_t max_versions;
	bool loading, loaded;
	struct state_snapshot snap;
	size_t cap_instances;
	/* Instances reserved by writes still under way: pipelined writes
	 * apply later, each into room reserved when it was made. */
	size_t pending_instances;
	struct vlist **index;           /* by app id */
	size_t n_index;
	char **roots;                   /* root versions, oldest first */
	size_t n_roots;
	/* The documents of the roots that the current root and the live
	 * deployments reference, by version (the pruning needs them). */
	struct state_root_doc **docs;
	size_t n_docs;
	struct commit *head, *tail;     /* queue; head runs when inflight */
	bool inflight;
	bool closing;   /* state_close(): start no more commits */
	/* Instance writes: the number of the last one made, and who hears
	 * of each completion. */
	uint64_t write_seq;
	state_write_fn *write_listener;
	void *write_listener_arg;
};

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static char *key_fmt(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *key_fmt(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : out;
}

/* A segment the storage accepts as a key segment of ours. */
static bool segment_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strchr(s, '/') == NULL;
}

static char *app_key(const char *id, const char *version)
{
	char *safe = model_id_safe(id), *key = NULL;

	if (safe == NULL)
		return NULL;
	if (version != NULL)
		key = key_fmt("apps/%s/%s", safe, version);
	else
		key = key_fmt("apps/%s", safe);
	free(safe);
	return key;
}

int state_app_key(const char *id, const char *version, char *buf, size_t len)
{
	char *key;
	int rc = -1;

	if (id == NULL || id[0] != '/' || !segment_ok(version) ||
	    (key = app_key(id, version)) == NULL)
		return -1;
	if (strlen(key) < len) {
		memcpy(buf, key, strlen(key) + 1);
		rc = 0;
	}
	free(key);
	return rc;
}

/* The app id of a safe id: "a_b.c" -> "/a/b.c". */
static char *app_id_of_safe(const char *safe)
{
	char *out = key_fmt("/%s", safe);

	if (out != NULL)
		for (char *p = out; *p != '\0'; p++)
			if (*p == '_')
				*p = '/';
	return out;
}

typedef const char *keyof_fn(const void *item);

static const char *key_app(const void *p)
{
	return ((const struct app *)p)->id;
}

static const char *key_dep(const void *p)
{
	return ((const struct state_deployment *)p)->id;
}

static const char *key_inst(const void *p)
{
	return ((const struct state_instance *)p)->instance_id;
}

static const char *key_vlist(const void *p)
{
	return ((const struct vlist *)p)->app_id;
}

static const char *key_doc(const void *p)
{
	return ((const struct state_root_doc *)p)->version;
}

static const char *key_str(const void *p)
{
	return p;
}

/* Binary search of KEY in the sorted ARR: its index when *FOUND_R, else
 * where it would go. */
static size_t find(void *const *arr, size_t n, const char *key,
                   keyof_fn *keyof, bool *found_r)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(keyof(arr[mid]), key);

		if (c == 0) {
			*found_r = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found_r = false;
	return lo;
}

static void *lookup(void *const *arr, size_t n, const char *key,
                    keyof_fn *keyof)
{
	bool found;
	size_t i = find(arr, n, key, keyof, &found);

	return found ? arr[i] : NULL;
}

static keyof_fn *sort_keyof;

static int sort_cmp(const void *a, const void *b)
{
	return strcmp(sort_keyof(*(void *const *)a),
	              sort_keyof(*(void *const *)b));
}

static void sort_by(void **arr, size_t n, keyof_fn *keyof)
{
	sort_keyof = keyof;
	if (n > 1)
		qsort(arr, n, sizeof(*arr), sort_cmp);
}

static void vlist_free(void *p)
{
	struct vlist *vl = p;

	if (vl == NULL)
		return;
	for (size_t i = 0; i < vl->n; i++)
		free(vl->v[i]);
	free(vl->v);
	free(vl->app_id);
	free(vl);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void app_free_fn(void *p)
{
	model_app_free(p);
}

static void dep_free_fn(void *p)
{
	state_deployment_free(p);
}

static void doc_free_fn(void *p)
{
	state_root_doc_free(p);
}

/* TRASH has room reserved (trash_reserve) for every add. */
static int trash_reserve(struct trash *t, size_t more)
{
	struct trash_item *items;

	if (t->n + more <= t->cap)
		return 0;
	items = realloc(t->items, (t->n + more) * sizeof(*items));
	if (items == NULL)
		return -1;
	t->items = items;
	t->cap = t->n + more;
	return 0;
}

static void trash_add(struct trash *t, void (*fn)(void *), void *p)
{
	if (p == NULL)
		return;
	if (t->n == t->cap) {
		/* Reserved by the caller; reaching this is a bug. */
		log_error("state: trash overflow");
		abort();
	}
	t->items[t->n++] = (struct trash_item){fn, p};
}

static void trash_empty(struct trash *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->items[i].fn(t->items[i].p);
	free(t->items);
	memset(t, 0, sizeof(*t));
}

/* A growing list of batch operations; keys and values owned. */
struct opbuf {
	struct stadion_storage_op *ops;
	size_t n, cap;
	bool oom;
};

static void opbuf_add(struct opbuf *b, uint32_t type, char *key, char *value)
{
	if (key == NULL || (type == STADION_STORAGE_PUT && value == NULL)) {
		free(key);
		free(value);
		b->oom = true;
		return;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap != 0 ? 2 * b->cap : 16;
		struct stadion_storage_op *ops =
			realloc(b->ops, cap * sizeof(*ops));

		if (ops == NULL) {
			free(key);
			free(value);
			b->oom = true;
			return;
		}
		b->ops = ops;
		b->cap = cap;
	}
	b->ops[b->n++] = (struct stadion_storage_op){
		.type = type, .key = key, .value = value,
		.len = value != NULL ? strlen(value) : 0};
}

static void opbuf_free(struct opbuf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->ops[i].key);
		free((void *)b->ops[i].value);
	}
	free(b->ops);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------------
 * The repository
 * ------------------------------------------------------------------------ */

struct state *state_new(const struct stadion_storage_ops *ops, void *storage,
                        const struct state_config *cfg)
{
	struct state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = ops;
	s->storage = storage;
	s->max_versions = cfg != NULL && cfg->max_versions > 0
	                          ? cfg->max_versions
	                          : STATE_DEFAULT_MAX_VERSIONS;
	return s;
}

static void commit_free(struct commit *c, bool with_taken);

static void snap_clear(struct state *s)
{
	struct state_snapshot *sn = &s->snap;

	for (size_t i = 0; i < sn->n_apps; i++)
		model_app_free(sn->apps[i]);
	free(sn->apps);
	for (size_t i = 0; i < sn->n_deployments; i++)
		state_deployment_free(sn->deployments[i]);
	free(sn->deployments);
	for (size_t i = 0; i < sn->n_instances; i++)
		state_instance_free(sn->instances[i]);
	free(sn->instances);
	free(sn->root_version);
	free(sn->framework_id);
	memset(sn, 0, sizeof(*sn));
	s->cap_instances = 0;
	for (size_t i = 0; i < s->n_index; i++)
		vlist_free(s->index[i]);
	free(s->index);
	s->index = NULL;
	s->n_index = 0;
	strv_free(s->roots, s->n_roots);
	s->roots = NULL;
	s->n_roots = 0;
	for (size_t i = 0; i < s->n_docs; i++)
		state_root_doc_free(s->docs[i]);
	free(s->docs);
	s->docs = NULL;
	s->n_docs = 0;
}

void state_close(struct state *s)
{
	if (s != NULL)
		s->closing = true;
}

void state_free(struct state *s)
{
	if (s == NULL)
		return;
	while (s->head != NULL) {
		struct commit *c = s->head;

		s->head = c->next;
		/* Queued ones were never prepared; one still under way
		 * (storage not destroyed first) keeps the snapshot's. */
		c->on_ok.n = 0;
		commit_free(c, true);
	}
	snap_clear(s);
	free(s);
}

const struct state_snapshot *state_snapshot(const struct state *s)
{
	return &s->snap;
}

const struct app *state_app(const struct state *s, const char *id)
{
	return lookup((void *const *)s->snap.apps, s->snap.n_apps, id,
	              key_app);
}

const struct state_deployment *state_deployment(const struct state *s,
                                                const char *id)
{
	return lookup((void *const *)s->snap.deployments,
	              s->snap.n_deployments, id, key_dep);
}

const struct state_instance *state_instance(const struct state *s,
                                            const char *instance_id)
{
	return lookup((void *const *)s->snap.instances, s->snap.n_instances,
	              instance_id, key_inst);
}

int state_root_app_version(const struct state *s, const char *root_version,
                           const char *id, const char **version_r)
{
	const struct state_root_doc *doc = lookup(
		(void *const *)s->docs, s->n_docs, root_version, key_doc);
	const struct state_root_entry *e;

	if (doc == NULL)
		return STADION_EINVAL;
	if ((e = state_root_doc_find(doc, id)) == NULL)
		return STADION_ENOENT;
	*version_r = e->version;
	return 0;
}

int state_app_versions(const struct state *s, const char *id,
                       const char *const **versions_r, size_t *n_r)
{
	const struct vlist *vl = lookup((void *const *)s->index, s->n_index,
	                                id, key_vlist);

	if (vl == NULL || vl->n == 0)
		return STADION_ENOENT;
	*versions_r = (const char *const *)vl->v;
	*n_r = vl->n;
	return 0;
}

void state_root_versions(const struct state *s,
                         const char *const **versions_r, size_t *n_r)
{
	*versions_r = (const char *const *)s->roots;
	*n_r = s->n_roots;
}

/* ------------------------------------------------------------------------
 * Commits
 * ------------------------------------------------------------------------ */

static void commit_free(struct commit *c, bool with_taken)
{
	if (c == NULL)
		return;
	if (with_taken) {
		for (size_t i = 0; i < c->n_put_apps; i++)
			model_app_free(c->put_apps[i]);
		for (size_t i = 0; i < c->n_put_deps; i++)
			state_deployment_free(c->put_deps[i]);
	}
	trash_empty(&c->on_fail);
	trash_empty(&c->on_ok);
	free(c->apps);
	free(c->deps);
	free(c->index);
	strv_free(c->roots, c->n_roots);
	free(c->docs);
	free(c->root_version);
	free(c->put_apps);
	strv_free(c->del_apps, c->n_del_apps);
	free(c->put_deps);
	strv_free(c->del_deps, c->n_del_deps);
	free(c);
}

static bool in_strv(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Whether app ID's VERSION is named by one of the N DOCS (or, with
 * VERSION NULL, any version of it). */
static bool docs_reference(struct state_root_doc *const *docs, size_t n,
                           const char *id, const char *version)
{
	for (size_t i = 0; i < n; i++) {
		const struct state_root_entry *e =
			state_root_doc_find(docs[i], id);

		if (e != NULL &&
		    (version == NULL || strcmp(e->version, version) == 0))
			return true;
	}
	return false;
}

/* The next array of a kind of entity: the current OLD (N_OLD) minus the
 * ids in DEL and those PUT replaces, plus PUT, sorted by KEYOF.  Replaced
 * entities go to ON_OK, freed with FREE_FN once the commit succeeded.
 * 0 with *NEXT_R (malloc'ed) and *N_R; -1 out of memory; -2 when PUT names
 * an id twice. */
static int build_next(void *const *old, size_t n_old, void *const *put,
                      size_t n_put, char *const *del, size_t n_del,
                      keyof_fn *keyof, void (*free_fn)(void *),
                      struct trash *on_ok, void ***next_r, size_t *n_r)
{
	void **next = malloc((n_old + n_put + 1) * sizeof(*next));
	size_t n = 0;

	if (next == NULL)
		return -1;
	for (size_t i = 0; i < n_old; i++) {
		const char *id = keyof(old[i]);
		bool replaced = in_strv(del, n_del, id);

		for (size_t j = 0; !replaced && j < n_put; j++)
			replaced = strcmp(keyof(put[j]), id) == 0;
		if (replaced)
			trash_add(on_ok, free_fn, old[i]);
		else
			next[n++] = old[i];
	}
	for (size_t j = 0; j < n_put; j++)
		next[n++] = put[j];
	sort_by(next, n, keyof);
	*next_r = next;
	*n_r = n;
	for (size_t i = 1; i < n; i++)
		if (strcmp(keyof(next[i - 1]), keyof(next[i])) == 0)
			return -2;
	return 0;
}

/* The next apps and deployments arrays of commit C. */
static int build_apps(struct commit *c)
{
	const struct state *s = c->s;
	void **next = NULL;
	int rc = build_next((void *const *)s->snap.apps, s->snap.n_apps,
	                    (void *const *)c->put_apps, c->n_put_apps,
	                    c->del_apps, c->n_del_apps, key_app, app_free_fn,
	                    &c->on_ok, &next, &c->n_apps);

	c->apps = (struct app **)next;
	return rc;
}

static int build_deps(struct commit *c)
{
	const struct state *s = c->s;
	void **next = NULL;
	int rc = build_next((void *const *)s->snap.deployments,
	                    s->snap.n_deployments, (void *const *)c->put_deps,
	                    c->n_put_deps, c->del_deps, c->n_del_deps,
	                    key_dep, dep_free_fn, &c->on_ok, &next,
	                    &c->n_deps);

	c->deps = (struct state_deployment **)next;
	return rc;
}

/* Add VERSION (copied) to the sorted, duplicate-free V of N (room for one
 * more).  Returns -1 when out of memory. */
static int strv_insert(char **v, size_t *n, const char *version)
{
	bool found;
	size_t i = find((void *const *)v, *n, version, key_str, &found);
	char *copy;

	if (found)
		return 0;
	if ((copy = strdup(version)) == NULL)
		return -1;
	memmove(v + i + 1, v + i, (*n - i) * sizeof(*v));
	v[i] = copy;
	(*n)++;
	return 0;
}

/* The version index after the commit, and the pruning of app versions
 * into B.  REFS are the root documents still referenced; PRUNE false when
 * one of them is unknown (then nothing is pruned). */
static int build_index(struct commit *c, struct state_root_doc **refs,
                       size_t n_refs, bool prune, struct opbuf *b)
{
	struct state *s = c->s;
	size_t n = 0, cap = s->n_index + c->n_put_apps + 1;

	if ((c->index = malloc(cap * sizeof(*c->index))) == NULL)
		return -1;
	/* Apps that gain a version get a new vlist; new apps one too. */
	for (size_t i = 0; i < s->n_index; i++)
		c->index[n++] = s->index[i];
	for (size_t j = 0; j < c->n_put_apps; j++) {
		const struct app *a = c->put_apps[j];
		bool found;
		size_t i = find((void *const *)c->index, n, a->id, key_vlist,
		                &found);
		struct vlist *old = found ? c->index[i] : NULL, *vl;

		if (old != NULL && lookup((void *const *)old->v, old->n,
		                          a->version, key_str) != NULL)
			continue; /* stored already (a rollback) */
		if ((vl = calloc(1, sizeof(*vl))) == NULL)
			return -1;
		trash_add(&c->on_fail, vlist_free, vl);
		vl->app_id = strdup(a->id);
		vl->v = calloc((old != NULL ? old->n : 0) + 1,
		               sizeof(*vl->v));
		if (vl->app_id == NULL || vl->v == NULL)
			return -1;
		for (size_t k = 0; old != NULL && k < old->n; k++) {
			if ((vl->v[k] = strdup(old->v[k])) == NULL)
				return -1;
			vl->n++;
		}
		if (strv_insert(vl->v, &vl->n, a->version) != 0)
			return -1;
		opbuf_add(b, STADION_STORAGE_PUT, app_key(a->id, a->version),
		          state_app_encode(a));
		if (old != NULL) {
			trash_add(&c->on_ok, vlist_free, old);
			c->index[i] = vl;
		} else {
			memmove(c->index + i + 1, c->index + i,
			        (n - i) * sizeof(*c->index));
			c->index[i] = vl;
			n++;
		}
	}
	c->n_index = n;
	if (!prune)
		return 0;

	/* Prune: drop unreferenced apps, keep max_versions of the others
	 * plus those referenced. */
	n = 0;
	for (size_t i = 0; i < c->n_index; i++) {
		struct vlist *vl = c->index[i], *nv;
		size_t excess, k;

		/* VL leaves the index either way below: an old one goes
		 * with the old snapshot, a new one (already in on_fail) is
		 * then never swapped in, so on_ok frees it too. */
		if (!docs_reference(refs, n_refs, vl->app_id, NULL)) {
			opbuf_add(b, STADION_STORAGE_DEL,
			          app_key(vl->app_id, NULL), NULL);
			trash_add(&c->on_ok, vlist_free, vl);
			continue;
		}
		if (vl->n <= s->max_versions) {
			c->index[n++] = vl;
			continue;
		}
		if ((nv = calloc(1, sizeof(*nv))) == NULL ||
		    (nv->app_id = strdup(vl->app_id)) == NULL ||
		    (nv->v = calloc(vl->n, sizeof(*nv->v))) == NULL) {
			vlist_free(nv);
			return -1;
		}
		trash_add(&c->on_fail, vlist_free, nv);
		/* The newest max_versions stay, older ones only when a
		 * root still references them. */
		excess = vl->n - s->max_versions;
		for (k = 0; k < vl->n; k++) {
			if (k < excess &&
			    !docs_reference(refs, n_refs, vl->app_id,
			                    vl->v[k])) {
				opbuf_add(b, STADION_STORAGE_DEL,
				          app_key(vl->app_id, vl->v[k]), NULL);
				excess--;
				continue;
			}
			if ((nv->v[nv->n] = strdup(vl->v[k])) == NULL)
				return -1;
			nv->n++;
		}
		trash_add(&c->on_ok, vlist_free, vl);
		c->index[n++] = nv;
	}
	c->n_index = n;
	return 0;
}

/* The root versions list after the commit, with its pruning into B. */
static int build_roots(struct commit *c, bool prune, struct opbuf *b)
{
	struct state *s = c->s;
	size_t excess;

	c->roots = calloc(s->n_roots + 2, sizeof(*c->roots));
	if (c->roots == NULL)
		return -1;
	for (size_t i = 0; i < s->n_roots; i++) {
		if ((c->roots[i] = strdup(s->roots[i])) == NULL)
			return -1;
		c->n_roots++;
	}
	if (c->root_version != NULL &&
	    strv_insert(c->roots, &c->n_roots, c->root_version) != 0)
		return -1;
	if (!prune || c->n_roots <= s->max_versions)
		return 0;
	/* The oldest EXCESS go unless referenced; the newest stay. */
	excess = c->n_roots - s->max_versions;
	for (size_t i = 0; i < c->n_roots && excess > 0;) {
		const char *v = c->roots[i];

		if (lookup((void *const *)c->docs, c->n_docs, v, key_doc) !=
		    NULL) {
			i++;
			excess--;
			continue;
		}
		opbuf_add(b, STADION_STORAGE_DEL,
		          key_fmt("groups/root/%s", v), NULL);
		free(c->roots[i]);
		memmove(c->roots + i, c->roots + i + 1,
		        (c->n_roots - i - 1) * sizeof(*c->roots));
		c->n_roots--;
		excess--;
	}
	return 0;
}

/* The root documents referenced after the commit: the current root's and
 * those of the live deployments.  *PRUNE_R false when one is unknown. */
static int build_docs(struct commit *c, struct state_root_doc *cur,
                      bool *prune_r)
{
	struct state *s = c->s;
	size_t cap = 1 + 2 * c->n_deps;

	*prune_r = true;
	if ((c->docs = calloc(cap, sizeof(*c->docs))) == NULL)
		return -1;
	if (cur != NULL)
		c->docs[c->n_docs++] = cur;
	for (size_t i = 0; i < c->n_deps; i++) {
		const char *vs[2] = {c->deps[i]->from_root,
		                     c->deps[i]->to_root};

		for (size_t k = 0; k < 2; k++) {
			struct state_root_doc *d;

			if (vs[k] == NULL)
				continue;
			if (cur != NULL && strcmp(vs[k], cur->version) == 0)
				continue;
			if (lookup((void *const *)c->docs, c->n_docs, vs[k],
			           key_doc) != NULL)
				continue;
			d = lookup((void *const *)s->docs, s->n_docs, vs[k],
			           key_doc);
			if (d == NULL) {
				/* Not known (its root was pruned before the
				 * deployment was stored, or not loaded): keep
				 * everything rather than guess. */
				*prune_r = false;
				continue;
			}
			c->docs[c->n_docs++] = d;
			sort_by((void **)c->docs, c->n_docs, key_doc);
		}
	}
	sort_by((void **)c->docs, c->n_docs, key_doc);
	/* Documents no longer referenced go with the old snapshot. */
	for (size_t i = 0; i < s->n_docs; i++)
		if (lookup((void *const *)c->docs, c->n_docs,
		           s->docs[i]->version, key_doc) == NULL)
			trash_add(&c->on_ok, doc_free_fn, s->docs[i]);
	return 0;
}

/* Drop what commit_start prepared (the snapshot's objects in on_ok stay
 * where they are), so that C is as state_commit queued it. */
static void commit_unprepare(struct commit *c)
{
	c->on_ok.n = 0;
	trash_empty(&c->on_ok);
	trash_empty(&c->on_fail);
	free(c->apps);
	free(c->deps);
	free(c->index);
	strv_free(c->roots, c->n_roots);
	free(c->docs);
	c->apps = NULL;
	c->deps = NULL;
	c->index = NULL;
	c->roots = NULL;
	c->docs = NULL;
	c->n_apps = c->n_deps = c->n_index = c->n_roots = c->n_docs = 0;
}

static void commit_done(void *arg, int rc, const char *errmsg);

/* Turn C into one batch against the snapshot and start it.  Returns 0, or
 * a negative code with ERR (C is then unprepared). */

static int commit_start(struct commit *c, struct stadion_err *err)
{
	struct state *s = c->s;
	struct state_root_doc *cur = NULL;
	struct opbuf b = {0};
	bool prune;
	int rc;

	if (trash_reserve(&c->on_ok, s->snap.n_apps + s->snap.n_deployments +
	                             2 * (s->n_index + c->n_put_apps) +
	                             s->n_docs + 4) != 0 ||
	    trash_reserve(&c->on_fail, 2 * (s->n_index + c->n_put_apps) +
	                               4) != 0)
		goto out_oom;
	if ((rc = build_apps(c)) != 0 || (rc = build_deps(c)) != 0) {
		if (rc != -2)
			goto out_oom;
		commit_unprepare(c);
		return stadion_err_set(err, STADION_EINVAL,
		                       "the same id is put twice");
	}
	if (c->root_version != NULL) {
		char *json;

		cur = state_root_doc_new(c->root_version, c->apps, c->n_apps);
		if (cur == NULL)
			goto out_oom;
		trash_add(&c->on_fail, doc_free_fn, cur);
		json = state_root_doc_encode(cur);
		opbuf_add(&b, STADION_STORAGE_PUT,
		          key_fmt("groups/root/%s", c->root_version), json);
		opbuf_add(&b, STADION_STORAGE_PUT, strdup(KEY_CURRENT),
		          strdup(c->root_version));
	} else if (s->snap.root_version != NULL) {
		cur = lookup((void *const *)s->docs, s->n_docs,
		             s->snap.root_version, key_doc);
	}
	if (build_docs(c, cur, &prune) != 0)
		goto out_oom;
	for (size_t i = 0; i < c->n_put_deps; i++)
		opbuf_add(&b, STADION_STORAGE_PUT,
		          key_fmt("deployments/%s", c->put_deps[i]->id),
		          state_deployment_encode(c->put_deps[i]));
	for (size_t i = 0; i < c->n_del_deps; i++)
		opbuf_add(&b, STADION_STORAGE_DEL,
		          key_fmt("deployments/%s", c->del_deps[i]), NULL);
	if (build_index(c, c->docs, c->n_docs, prune, &b) != 0 ||
	    build_roots(c, prune, &b) != 0 || b.oom)
		goto out_oom;
	rc = s->ops->batch(s->storage, b.ops, b.n, commit_done, c, err);
	opbuf_free(&b);
	if (rc == 0)
		s->inflight = true;
	else
		commit_unprepare(c);
	return rc;

out_oom:
	opbuf_free(&b);
	commit_unprepare(c);
	return stadion_err_set(err, STADION_ENOMEM,
	                       "out of memory preparing a state commit");
}

/* Start queued commits while none runs; a start that fails completes
 * that commit with its error (we are in a completion here, never inside
 * the call that queued it). */
static void commit_kick(struct state *s)
{
	while (!s->closing && !s->inflight && s->head != NULL) {
		struct commit *c = s->head;
		struct stadion_err err = {0};
		int rc = commit_start(c, &err);

		if (rc == 0)
			return;
		s->head = c->next;
		if (s->head == NULL)
			s->tail = NULL;
		if (c->done != NULL)
			c->done(c->arg, rc, err.msg);
		commit_free(c, true);
	}
}

static void commit_done(void *arg, int rc, const char *errmsg)
{
	struct commit *c = arg;
	struct state *s = c->s;
	struct state_snapshot *sn = &s->snap;

	s->head = c->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->inflight = false;
	if (rc == 0) {
		/* Swap the prepared arrays in; the old ones go out. */
		struct app **apps = sn->apps;
		struct state_deployment **deps = sn->deployments;
		struct vlist **index = s->index;
		char **roots = s->roots;
		size_t n_roots = s->n_roots;
		struct state_root_doc **docs = s->docs;

		sn->apps = c->apps;
		sn->n_apps = c->n_apps;
		sn->deployments = c->deps;
		sn->n_deployments = c->n_deps;
		s->index = c->index;
		s->n_index = c->n_index;
		s->roots = c->roots;
		s->n_roots = c->n_roots;
		s->docs = c->docs;
		s->n_docs = c->n_docs;
		if (c->root_version != NULL) {
			free(sn->root_version);
			sn->root_version = c->root_version;
			c->root_version = NULL;
		}
		c->apps = (struct app **)apps;
		c->deps = deps;
		c->index = index;
		c->roots = roots;
		c->n_roots = n_roots;
		c->docs = docs;
		/* The new objects now belong to the snapshot. */
		c->on_fail.n = 0;
		c->n_put_apps = 0;
		c->n_put_deps = 0;
	} else {
		c->on_ok.n = 0;
		log_warn("state: commit failed: %s", errmsg);
	}
	if (c->done != NULL)
		c->done(c->arg, rc, errmsg);
	commit_free(c, true);
	commit_kick(s);
}

static int change_check(const struct state *s, const struct state_change *ch,
                        struct stadion_err *err)
{
	if (!s->loaded)
		return stadion_err_set(err, STADION_EBUSY,
		                       "the state is not loaded yet");
	if (ch->root_version == NULL && ch->n_put_deployments == 0 &&
	    ch->n_del_deployments == 0)
		return stadion_err_set(err, STADION_EINVAL,
		                       "the change changes nothing");
	if (ch->root_version == NULL &&
	    (ch->n_put_apps > 0 || ch->n_del_apps > 0))
		return stadion_err_set(err, STADION_EINVAL,
		                       "app changes need a root version");
	if (ch->root_version != NULL && !segment_ok(ch->root_version))
		return stadion_err_set(err, STADION_EINVAL,
		                       "bad root version '%s'",
		                       ch->root_version);
	for (size_t i = 0; i < ch->n_put_apps; i++) {
		const struct app *a = ch->put_apps[i];

		if (a == NULL || a->id == NULL || a->id[0] != '/' ||
		    model_id_is_root(a->id) || !segment_ok(a->version))
			return stadion_err_set(err, STADION_EINVAL,
			                       "app %zu has no id or version",
			                       i);
	}
	for (size_t i = 0; i < ch->n_put_deployments; i++)
		if (ch->put_deployments[i] == NULL ||
		    !segment_ok(ch->put_deployments[i]->id))
			return stadion_err_set(err, STADION_EINVAL,
			                       "deployment %zu has no id", i);
	for (size_t i = 0; i < ch->n_del_deployments; i++)
		if (!segment_ok(ch->del_deployments[i]))
			return stadion_err_set(err, STADION_EINVAL,
			                       "bad deployment id");
	for (size_t i = 0; i < ch->n_del_apps; i++)
		if (ch->del_apps[i] == NULL || ch->del_apps[i][0] != '/')
			return stadion_err_set(err, STADION_EINVAL,
			                       "bad app id");
	return 0;
}

static char **strv_copy(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));

	for (size_t i = 0; out != NULL && i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL) {
			strv_free(out, i);
			return NULL;
		}
	return out;
}

int state_commit(struct state *s, const struct state_change *ch,
                 state_done_fn *done, void *arg, struct stadion_err *err)
{
	struct commit *c;
	int rc;

	if ((rc = change_check(s, ch, err)) != 0)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out_oom;
	c->s = s;
	c->done = done;
	c->arg = arg;
	/* The taken objects are only recorded once nothing can fail, so
	 * that the caller keeps them on every error return. */
	if ((ch->root_version != NULL &&
	     (c->root_version = strdup(ch->root_version)) == NULL) ||
	    (c->put_apps = calloc(ch->n_put_apps + 1,
	                          sizeof(*c->put_apps))) == NULL ||
	    (c->put_deps = calloc(ch->n_put_deployments + 1,
	                          sizeof(*c->put_deps))) == NULL ||
	    (c->del_apps = strv_copy(ch->del_apps, ch->n_del_apps)) == NULL ||
	    (c->del_deps = strv_copy(ch->del_deployments,
	                             ch->n_del_deployments)) == NULL)
		goto out_free_commit;
	c->n_del_apps = ch->n_del_apps;
	c->n_del_deps = ch->n_del_deployments;
	/* Loops, not memcpy: the arrays may be NULL when empty. */
	for (size_t i = 0; i < ch->n_put_apps; i++)
		c->put_apps[i] = ch->put_apps[i];
	for (size_t i = 0; i < ch->n_put_deployments; i++)
		c->put_deps[i] = ch->put_deployments[i];
	c->n_put_apps = ch->n_put_apps;
	c->n_put_deps = ch->n_put_deployments;
	if (s->inflight || s->head != NULL) {
		s->tail->next = c;
		s->tail = c;
		return 0;
	}
	s->head = s->tail = c;
	if ((rc = commit_start(c, err)) != 0) {
		s->head = s->tail = NULL;
		commit_free(c, false);
		return rc;
	}
	return 0;

out_free_commit:
	commit_free(c, false);
out_oom:
	return stadion_err_set(err, STADION_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------------
 * Instances and the framework id
 * ------------------------------------------------------------------------ */

static void write_free(struct write *w)
{
	for (size_t i = 0; i < w->n_insts; i++)
		state_instance_free(w->insts[i]);
	free(w->insts);
	free(w->del_instance);
	free(w->framework_id);
	free(w);
}

/* Put INST into the snapshot (room reserved), replacing its namesake. */
static void instances_apply(struct state *s, struct state_instance *inst)
{
	struct state_snapshot *sn = &s->snap;
	bool found;
	size_t i = find((void *const *)sn->instances, sn->n_instances,
	                inst->instance_id, key_inst, &found);

	if (found) {
		state_instance_free(sn->instances[i]);
		sn->instances[i] = inst;
		return;
	}
	memmove(sn->instances + i + 1, sn->instances + i,
	        (sn->n_instances - i) * sizeof(*sn->instances));
	sn->instances[i] = inst;
	sn->n_instances++;
}

static void write_done(void *arg, int rc, const char *errmsg)
{
	struct write *w = arg;
	struct state *s = w->s;
	struct state_snapshot *sn = &s->snap;

	if (rc == 0) {
		for (size_t i = 0; i < w->n_insts; i++) {
			instances_apply(s, w->insts[i]);
			w->insts[i] = NULL;
		}
		if (w->del_instance != NULL) {
			bool found;
			size_t i = find((void *const *)sn->instances,
			                sn->n_instances, w->del_instance,
			                key_inst, &found);

			if (found) {
				state_instance_free(sn->instances[i]);
				memmove(sn->instances + i,
				        sn->instances + i + 1,
				        (sn->n_instances - i - 1) *
				                sizeof(*sn->instances));
				sn->n_instances--;
			}
		}
		if (w->framework_id != NULL) {
			free(sn->framework_id);
			sn->framework_id = w->framework_id;
			w->framework_id = NULL;
		}
	} else {
		log_warn("state: write failed: %s", errmsg);
	}
	s->pending_instances -= w->n_insts;
	if (w->seq != 0 && s->write_listener != NULL)
		s->write_listener(s->write_listener_arg, w->seq, rc);
	if (w->done != NULL)
		w->done(w->arg, rc, errmsg);
	write_free(w);
}

void state_set_write_listener(struct state *s, state_write_fn *fn,
                              void *arg)
{
	s->write_listener = fn;
	s->write_listener_arg = arg;
}

uint64_t state_last_write(const struct state *s)
{
	return s->write_seq;
}

/* Room for MORE instances besides those of the writes under way, so that
 * applying cannot fail. */
static int instances_reserve(struct state *s, size_t more)
{
	struct state_snapshot *sn = &s->snap;
	struct state_instance **v;
	size_t cap;

	if (sn->n_instances + s->pending_instances + more <= s->cap_instances)
		return 0;
	cap = 2 * s->cap_instances;
	if (cap < sn->n_instances + s->pending_instances + more)
		cap = sn->n_instances + s->pending_instances + more + 16;
	if ((v = realloc(sn->instances, cap * sizeof(*v))) == NULL)
		return -1;
	sn->instances = v;
	s->cap_instances = cap;
	return 0;
}

int state_put_instances(struct state *s, struct state_instance **insts,
                        size_t n, state_done_fn *done, void *arg,
                        struct stadion_err *err)
{
	struct opbuf b = {0};
	struct write *w;
	int rc;

	if (!s->loaded)
		return stadion_err_set(err, STADION_EBUSY,
		                       "the state is not loaded yet");
	if (n == 0)
		return stadion_err_set(err, STADION_EINVAL, "no instances");
	for (size_t i = 0; i < n; i++)
		if (insts[i] == NULL || !segment_ok(insts[i]->instance_id) ||
		    insts[i]->app_id == NULL)
			return stadion_err_set(err, STADION_EINVAL,
			                       "instance %zu has no id or app",
			                       i);
	/* Reserve for all, even though pipelined writes may reserve for the
	 * same instance twice: a little slack, never a failed apply. */
	if (instances_reserve(s, n) != 0 ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		goto out_oom;
	if ((w->insts = calloc(n + 1, sizeof(*w->insts))) == NULL)
		goto out_free_write;
	for (size_t i = 0; i < n; i++)
		opbuf_add(&b, STADION_STORAGE_PUT,
		          key_fmt("instances/%s", insts[i]->instance_id),
		          state_instance_encode(insts[i]));
	if (b.oom)
		goto out_free_ops;
	w->s = s;
	w->done = done;
	w->arg = arg;
	w->seq = s->write_seq + 1;
	rc = s->ops->batch(s->storage, b.ops, b.n, write_done, w, err);
	opbuf_free(&b);
	if (rc != 0) {
		write_free(w);
		return rc;
	}
	s->write_seq = w->seq;
	for (size_t i = 0; i < n; i++)
		w->insts[i] = insts[i];
	w->n_insts = n;
	s->pending_instances += n;
	return 0;

out_free_ops:
	opbuf_free(&b);
out_free_write:
	write_free(w);
out_oom:
	return stadion_err_set(err, STADION_ENOMEM, "out of memory");
}

int state_put_instance(struct state *s, struct state_instance *inst,
                       state_done_fn *done, void *arg,
                       struct stadion_err *err)
{
	return state_put_instances(s, &inst, 1, done, arg, err);
}

/* One single-key write: DEL (VALUE NULL) or PUT of KEY. */
static int write_one(struct state *s, struct write *w, const char *key,
                     const char *value, struct stadion_err *err)
{
	int rc;

	if (value != NULL)
		rc = s->ops->put(s->storage, key, value, strlen(value),
		                 write_done, w, err);
	else
		rc = s->ops->del(s->storage, key, write_done, w, err);
	if (rc != 0)
		write_free(w);
	return rc;
}

int state_del_instance(struct state *s, const char *instance_id,
                       state_done_fn *done, void *arg,
                       struct stadion_err *err)
{
	struct write *w;
	char *key;
	int rc;

	if (!s->loaded)
		return stadion_err_set(err, STADION_EBUSY,
		                       "the state is not loaded yet");
	if (!segment_ok(instance_id))
		return stadion_err_set(err, STADION_EINVAL,
		                       "bad instance id");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->del_instance = strdup(instance_id)) == NULL ||
	    (key = key_fmt("instances/%s", instance_id)) == NULL) {
		if (w != NULL)
			write_free(w);
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	}
	w->s = s;
	w->done = done;
	w->arg = arg;
	rc = write_one(s, w, key, NULL, err);
	free(key);
	return rc;
}

int state_put_framework_id(struct state *s, const char *id,
                           state_done_fn *done, void *arg,
                           struct stadion_err *err)
{
	struct write *w;

	if (!s->loaded)
		return stadion_err_set(err, STADION_EBUSY,
		                       "the state is not loaded yet");
	if (id == NULL || id[0] == '\0')
		return stadion_err_set(err, STADION_EINVAL,
		                       "empty framework id");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->framework_id = strdup(id)) == NULL) {
		if (w != NULL)
			write_free(w);
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	}
	w->s = s;
	w->done = done;
	w->arg = arg;
	return write_one(s, w, KEY_FRAMEWORK_ID, id, err);
}

/* ------------------------------------------------------------------------
 * Reading one app version
 * ------------------------------------------------------------------------ */

struct read_app {
	state_app_fn *done;
	void *arg;
};

static void read_app_done(void *arg, int rc, const void *value, size_t len,
                          const char *errmsg)
{
	struct read_app *r = arg;
	struct app *app = NULL;
	char msg[256];

	if (rc == 0) {
		rc = state_app_decode(value, len, &app, msg, sizeof(msg));
		errmsg = msg;
	} else if (rc == STADION_ENOENT) {
		errmsg = "no such app version";
	}
	r->done(r->arg, rc, app, errmsg);
	free(r);
}

int state_read_app(struct state *s, const char *id, const char *version,
                   state_app_fn *done, void *arg, struct stadion_err *err)
{
	struct read_app *r;
	char *key;
	int rc;

	if (id == NULL || id[0] != '/' || model_id_is_root(id) ||
	    !segment_ok(version))
		return stadion_err_set(err, STADION_EINVAL,
		                       "bad app id or version");
	if ((r = malloc(sizeof(*r))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	if ((key = app_key(id, version)) == NULL) {
		free(r);
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	}
	r->done = done;
	r->arg = arg;
	rc = s->ops->get(s->storage, key, read_app_done, r, err);
	free(key);
	if (rc != 0)
		free(r);
	return rc;
}

/* ------------------------------------------------------------------------
 * Loading
 *
 * Three rounds of reads, each issued at once and counted down (the storage
 * keeps order and reads are cheap, so a round costs about one wake-up):
 *   1. framework-id, groups/root/current, and the lists of groups/root,
 *      apps, deployments and instances;
 *   2. the current root's document, the versions of each app, each
 *      deployment and each instance;
 *   3. the current root's app versions and the root documents the
 *      deployments reference.
 * The snapshot is built aside and swapped in at the end.
 * ------------------------------------------------------------------------ */

enum load_what {
	L_FRAMEWORK_ID,
	L_CURRENT,
	L_LIST_ROOTS,
	L_LIST_APPS,
	L_LIST_DEPS,
	L_LIST_INSTS,
	L_CUR_DOC,
	L_VERSIONS,
	L_DEP,
	L_INST,
	L_APP,
	L_DOC,
};

struct load {
	struct state *s;
	state_done_fn *done;
	void *arg;
	int round;
	size_t outstanding;
	int rc;
	char msg[256];
	char *framework_id, *current;
	char **roots, **safe_apps, **dep_ids, **inst_ids;
	size_t n_roots, n_safe_apps, n_dep_ids, n_inst_ids;
	struct vlist **index;           /* one per safe app */
	struct state_deployment **deps; /* one per dep id, NULL until read */
	struct state_instance **insts;  /* one per instance id */
	struct state_root_doc *cur_doc;
	struct app **apps;              /* one per entry of cur_doc */
	struct state_root_doc **docs;   /* deployments' roots, NULL if gone */
	char **doc_versions;
	size_t n_docs;
};

struct load_req {
	struct load *L;
	enum load_what what;
	size_t idx;
};

static void load_fail(struct load *L, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void load_fail(struct load *L, int rc, const char *fmt, ...)
{
	va_list ap;

	if (L->rc != 0)
		return; /* the first error says most */
	L->rc = rc;
	va_start(ap, fmt);
	vsnprintf(L->msg, sizeof(L->msg), fmt, ap);
	va_end(ap);
}

static void load_free(struct load *L)
{
	free(L->framework_id);
	free(L->current);
	strv_free(L->roots, L->n_roots);
	for (size_t i = 0; L->index != NULL && i < L->n_safe_apps; i++)
		vlist_free(L->index[i]);
	free(L->index);
	strv_free(L->safe_apps, L->n_safe_apps);
	for (size_t i = 0; L->deps != NULL && i < L->n_dep_ids; i++)
		state_deployment_free(L->deps[i]);
	free(L->deps);
	strv_free(L->dep_ids, L->n_dep_ids);
	for (size_t i = 0; L->insts != NULL && i < L->n_inst_ids; i++)
		state_instance_free(L->insts[i]);
	free(L->insts);
	strv_free(L->inst_ids, L->n_inst_ids);
	for (size_t i = 0; L->apps != NULL && L->cur_doc != NULL &&
	                   i < L->cur_doc->n; i++)
		model_app_free(L->apps[i]);
	free(L->apps);
	state_root_doc_free(L->cur_doc);
	for (size_t i = 0; i < L->n_docs; i++)
		state_root_doc_free(L->docs[i]);
	free(L->docs);
	strv_free(L->doc_versions, L->n_docs);
	free(L);
}

static void load_get_done(void *arg, int rc, const void *value, size_t len,
                          const char *errmsg);
static void load_list_done(void *arg, int rc, const char *const *names,
                           size_t count, const char *errmsg);

/* Start one read of KEY (owned, freed here); a start that fails is the
 * load's error. */
static void load_issue(struct load *L, bool list, char *key,
                       enum load_what what, size_t idx)
{
	struct state *s = L->s;
	struct stadion_err err = {0};
	struct load_req *r;
	int rc;

	if (key == NULL || (r = malloc(sizeof(*r))) == NULL) {
		free(key);
		load_fail(L, STADION_ENOMEM, "out of memory loading the state");
		return;
	}
	*r = (struct load_req){L, what, idx};
	if (list)
		rc = s->ops->list(s->storage, key, load_list_done, r, &err);
	else
		rc = s->ops->get(s->storage, key, load_get_done, r, &err);
	if (rc != 0) {
		load_fail(L, rc, "reading '%s': %s", key, err.msg);
		free(r);
	} else {
		L->outstanding++;
	}
	free(key);
}

static void load_round(struct load *L);

static void load_list_done(void *arg, int rc, const char *const *names,
                           size_t count, const char *errmsg)
{
	struct load_req *r = arg;
	struct load *L = r->L;
	char **copy = NULL;

	if (rc != 0) {
		load_fail(L, rc, "listing the state: %s", errmsg);
	} else if ((copy = strv_copy(names, count)) == NULL) {
		load_fail(L, STADION_ENOMEM, "out of memory loading the state");
	} else {
		switch (r->what) {
		case L_LIST_ROOTS:
			L->roots = copy;
			L->n_roots = count;
			break;
		case L_LIST_APPS:
			L->safe_apps = copy;
			L->n_safe_apps = count;
			break;
		case L_LIST_DEPS:
			L->dep_ids = copy;
			L->n_dep_ids = count;
			break;
		case L_LIST_INSTS:
			L->inst_ids = copy;
			L->n_inst_ids = count;
			break;
		case L_VERSIONS:
			L->index[r->idx]->v = copy;
			L->index[r->idx]->n = count;
			break;
		default:
			strv_free(copy, count);
			break;
		}
	}
	free(r);
	if (--L->outstanding == 0)
		load_round(L);
}

static void load_get_done(void *arg, int rc, const void *value, size_t len,
                          const char *errmsg)
{
	struct load_req *r = arg;
	struct load *L = r->L;
	char msg[256] = "";
	int drc = 0;

	if (rc == STADION_ENOENT) {
		switch (r->what) {
		case L_FRAMEWORK_ID:
		case L_CURRENT:
		case L_DEP:  /* deleted since it was listed: cannot be */
		case L_INST:
		case L_DOC:  /* pruned: the pruning stays conservative */
			break;
		case L_APP:
			load_fail(L, STADION_EIO,
			          "root version %s names app %s version %s, "
			          "which is not stored",
			          L->cur_doc->version,
			          L->cur_doc->apps[r->idx].id,
			          L->cur_doc->apps[r->idx].version);
			break;
		default:
			load_fail(L, STADION_EIO, "root version %s is not "
			          "stored", L->current);
			break;
		}
	} else if (rc != 0) {
		load_fail(L, rc, "reading the state: %s", errmsg);
	} else {
		switch (r->what) {
		case L_FRAMEWORK_ID:
			if ((L->framework_id = strndup(value, len)) == NULL)
				drc = STADION_ENOMEM;
			break;
		case L_CURRENT:
			if ((L->current = strndup(value, len)) == NULL)
				drc = STADION_ENOMEM;
			break;
		case L_CUR_DOC:
			drc = state_root_doc_decode(value, len, &L->cur_doc,
			                            msg, sizeof(msg));
			break;
		case L_DOC:
			drc = state_root_doc_decode(value, len,
			                            &L->docs[r->idx], msg,
			                            sizeof(msg));
			break;
		case L_DEP:
			drc = state_deployment_decode(value, len,
			                              &L->deps[r->idx], msg,
			                              sizeof(msg));
			break;
		case L_INST:
			drc = state_instance_decode(value, len,
			                            &L->insts[r->idx], msg,
			                            sizeof(msg));
			break;
		case L_APP:
			drc = state_app_decode(value, len, &L->apps[r->idx],
			                       msg, sizeof(msg));
			if (drc == 0 &&
			    strcmp(L->apps[r->idx]->id,
			           L->cur_doc->apps[r->idx].id) != 0)
				snprintf(msg, sizeof(msg),
				         "stored app %s has the id %s",
				         L->cur_doc->apps[r->idx].id,
				         L->apps[r->idx]->id),
					drc = STADION_EIO;
			break;
		default:
			break;
		}
		if (drc != 0)
			load_fail(L, drc, "%s", msg[0] != '\0' ? msg
			                                       : "out of memory");
	}
	free(r);
	if (--L->outstanding == 0)
		load_round(L);
}

/* Round 2: what the lists and the current root named. */
static void load_round2(struct load *L)
{
	if (L->current != NULL)
		load_issue(L, false, key_fmt("groups/root/%s", L->current),
		           L_CUR_DOC, 0);
	L->index = calloc(L->n_safe_apps + 1, sizeof(*L->index));
	L->deps = calloc(L->n_dep_ids + 1, sizeof(*L->deps));
	L->insts = calloc(L->n_inst_ids + 1, sizeof(*L->insts));
	if (L->index == NULL || L->deps == NULL || L->insts == NULL) {
		load_fail(L, STADION_ENOMEM, "out of memory loading the state");
		return;
	}
	for (size_t i = 0; i < L->n_safe_apps; i++) {
		struct vlist *vl = calloc(1, sizeof(*vl));

		if (vl == NULL ||
		    (vl->app_id = app_id_of_safe(L->safe_apps[i])) == NULL) {
			free(vl);
			load_fail(L, STADION_ENOMEM, "out of memory");
			return;
		}
		L->index[i] = vl;
		load_issue(L, true, key_fmt("apps/%s", L->safe_apps[i]),
		           L_VERSIONS, i);
	}
	for (size_t i = 0; i < L->n_dep_ids; i++)
		load_issue(L, false, key_fmt("deployments/%s", L->dep_ids[i]),
		           L_DEP, i);
	for (size_t i = 0; i < L->n_inst_ids; i++)
		load_issue(L, false, key_fmt("instances/%s", L->inst_ids[i]),
		           L_INST, i);
}

/* Round 3: the current root's apps and the deployments' roots. */
static void load_round3(struct load *L)
{
	if (L->cur_doc != NULL) {
		L->apps = calloc(L->cur_doc->n + 1, sizeof(*L->apps));
		if (L->apps == NULL) {
			load_fail(L, STADION_ENOMEM, "out of memory");
			return;
		}
		for (size_t i = 0; i < L->cur_doc->n; i++)
			load_issue(L, false,
			           app_key(L->cur_doc->apps[i].id,
			                   L->cur_doc->apps[i].version),
			           L_APP, i);
	}
	L->docs = calloc(2 * L->n_dep_ids + 1, sizeof(*L->docs));
	L->doc_versions = calloc(2 * L->n_dep_ids + 1,
	                         sizeof(*L->doc_versions));
	if (L->docs == NULL || L->doc_versions == NULL) {
		load_fail(L, STADION_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < L->n_dep_ids; i++) {
		const struct state_deployment *d = L->deps[i];
		const char *vs[2] = {d != NULL ? d->from_root : NULL,
		                     d != NULL ? d->to_root : NULL};

		for (size_t k = 0; k < 2; k++) {
			/* A root that cannot be a key is unknown: the
			 * pruning then stays conservative. */
			if (!segment_ok(vs[k]) ||
			    (L->current != NULL &&
			     strcmp(vs[k], L->current) == 0) ||
			    in_strv(L->doc_versions, L->n_docs, vs[k]))
				continue;
			if ((L->doc_versions[L->n_docs] = strdup(vs[k])) ==
			    NULL) {
				load_fail(L, STADION_ENOMEM, "out of memory");
				return;
			}
			L->n_docs++;
			load_issue(L, false,
			           key_fmt("groups/root/%s", vs[k]), L_DOC,
			           L->n_docs - 1);
		}
	}
}

/* Compact ARR of N (dropping NULL entries) and sort it. */
static size_t compact_sort(void **arr, size_t n, keyof_fn *keyof)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (arr[i] != NULL)
			arr[m++] = arr[i];
	sort_by(arr, m, keyof);
	return m;
}

/* Move what L read into the snapshot. */
static void load_finish(struct load *L)
{
	struct state *s = L->s;
	struct state_snapshot *sn = &s->snap;
	size_t n;

	snap_clear(s);
	sn->framework_id = L->framework_id;
	L->framework_id = NULL;
	sn->root_version = L->current;
	L->current = NULL;
	if (L->cur_doc != NULL) {
		sn->apps = L->apps;
		sn->n_apps = compact_sort((void **)L->apps, L->cur_doc->n,
		                          key_app);
		L->apps = NULL;
	}
	sn->deployments = L->deps;
	sn->n_deployments = compact_sort((void **)L->deps, L->n_dep_ids,
	                                 key_dep);
	L->deps = NULL;
	sn->instances = L->insts;
	sn->n_instances = compact_sort((void **)L->insts, L->n_inst_ids,
	                               key_inst);
	s->cap_instances = L->n_inst_ids + 1;
	L->insts = NULL;
	s->index = L->index;
	s->n_index = compact_sort((void **)L->index, L->n_safe_apps,
	                          key_vlist);
	L->index = NULL;
	/* groups/root lists the versions and "current". */
	s->roots = L->roots;
	n = 0;
	for (size_t i = 0; i < L->n_roots; i++) {
		if (strcmp(L->roots[i], "current") == 0)
			free(L->roots[i]);
		else
			L->roots[n++] = L->roots[i];
	}
	s->n_roots = n;
	L->roots = NULL;
	L->n_roots = 0;
	s->docs = L->docs;
	s->n_docs = compact_sort((void **)L->docs, L->n_docs, key_doc);
	L->docs = NULL;
	strv_free(L->doc_versions, L->n_docs);
	L->doc_versions = NULL;
	L->n_docs = 0;
	if (L->cur_doc != NULL) {
		/* Room was left for it (2 per deployment + 1). */
		s->docs[s->n_docs++] = L->cur_doc;
		sort_by((void **)s->docs, s->n_docs, key_doc);
		L->cur_doc = NULL;
	}
}

static void load_round(struct load *L)
{
	struct state *s = L->s;

	while (L->outstanding == 0) {
		if (L->rc == 0 && L->round == 1)
			load_round2(L);
		else if (L->rc == 0 && L->round == 2)
			load_round3(L);
		if (L->rc != 0 || L->round >= 3) {
			/* Every read has come back (none outstanding). */
			if (L->outstanding > 0)
				return; /* the error's round is finished by
				         * its last completion */
			break;
		}
		L->round++;
	}
	if (L->outstanding > 0)
		return;
	s->loading = false;
	if (L->rc == 0) {
		load_finish(L);
		s->loaded = true;
	} else {
		log_error("state: load failed: %s", L->msg);
	}
	L->done(L->arg, L->rc, L->rc == 0 ? NULL : L->msg);
	load_free(L);
}

int state_load(struct state *s, state_done_fn *done, void *arg,
               struct stadion_err *err)
{
	struct load *L;

	if (s->loading || s->loaded)
		return stadion_err_set(err, STADION_EBUSY,
		                       "the state is loaded already");
	if ((L = calloc(1, sizeof(*L))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	L->s = s;
	L->done = done;
	L->arg = arg;
	L->round = 1;
	load_issue(L, false, strdup(KEY_FRAMEWORK_ID), L_FRAMEWORK_ID, 0);
	load_issue(L, false, strdup(KEY_CURRENT), L_CURRENT, 0);
	load_issue(L, true, strdup("groups/root"), L_LIST_ROOTS, 0);
	load_issue(L, true, strdup("apps"), L_LIST_APPS, 0);
	load_issue(L, true, strdup("deployments"), L_LIST_DEPS, 0);
	load_issue(L, true, strdup("instances"), L_LIST_INSTS, 0);
	if (L->rc != 0 && L->outstanding == 0) {
		int rc = stadion_err_set(err, L->rc, "%s", L->msg);

		load_free(L);
		return rc;
	}
	/* A partial start finishes with the error once the started reads
	 * came back. */
	s->loading = true;
	return 0;
}
