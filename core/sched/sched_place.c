#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/constraint.h>

#include "log.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_place.h"
#include "strmap.h"

/* The values all agents have for one field.  Agent index N_AGENTS stands
 * for an agent not of this driver: it lacks every field. */
struct field_tab {
	char *name;              /* the field as apps write it */
	uint32_t *vid;           /* per agent (n_agents + 1): a value id,
	                          * n_values when the agent lacks the field */
	uint8_t *type;           /* per agent: enum stadion_value_type */
	char **values;           /* owned, n_values of them */
	uint32_t n_values;
	struct strmap *by_value; /* value -> (vid + 1), keys in VALUES */
};

/* One compiled constraint. */
struct ccon {
	const struct plugin *plugin;
	const struct stadion_constraint_ops *ops;
	void *arg;               /* from compile(), the plugin's */
	struct field_tab *ft;
	bool victim_weight;      /* the plugin has one */
};

/* The compiled form of one constraint list. */
struct cset {
	char *key;
	struct ccon *c;
	size_t n;
	bool broken;             /* failed to compile at launch: rejects all */
};

struct sched_place {
	const struct plugin_set *plugins;
	const struct driver_agent *agents;
	size_t n_agents;
	struct strmap *fields;   /* name -> field_tab */
	struct field_tab **ftabs;
	size_t n_ftabs, cap_ftabs;
	struct strmap *sets;     /* key -> cset */
	struct cset **csets;
	size_t n_csets, cap_csets;
	uint64_t decisions;
};

/* Marathon's operators, in the order its message lists them. */
static const char *const marathon_ops[] = {
	"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "MAX_PER", "UNLIKE", "IS",
};
#define N_MARATHON_OPS (sizeof(marathon_ops) / sizeof(marathon_ops[0]))

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c = *cap ? *cap * 2 : 8;

	if (n < *cap)
		return 0;
	if ((p = realloc(*arr, c * size)) == NULL)
		return -1;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- field tables ----------------------------------------------------- */

static const char *attr_of(const struct driver_agent *a, const char *name,
                           uint8_t *type_r)
{
	static const uint8_t types[] = {
		[DRIVER_ATTR_TEXT] = STADION_VALUE_TEXT,
		[DRIVER_ATTR_SCALAR] = STADION_VALUE_SCALAR,
		[DRIVER_ATTR_RANGES] = STADION_VALUE_RANGES,
		[DRIVER_ATTR_SET] = STADION_VALUE_SET,
	};

	for (size_t i = 0; i < a->n_attributes; i++)
		if (strcmp(a->attributes[i].name, name) == 0) {
			*type_r = (unsigned)a->attributes[i].type <
			                  sizeof(types)
			                  ? types[a->attributes[i].type]
			                  : STADION_VALUE_TEXT;
			return a->attributes[i].value;
		}
	*type_r = STADION_VALUE_ABSENT;
	return NULL;
}

/* A's value of FIELD (reference 5): the hostname, the fault domain from the
 * attributes region and zone, or the attribute of that name. */
static const char *agent_value(const struct driver_agent *a,
                               const char *field, uint8_t *type_r)
{
	if (strcmp(field, "hostname") == 0 || strcmp(field, "@hostname") == 0) {
		*type_r = STADION_VALUE_TEXT;
		return a->hostname;
	}
	if (strcmp(field, "@region") == 0)
		return attr_of(a, "region", type_r);
	if (strcmp(field, "@zone") == 0)
		return attr_of(a, "zone", type_r);
	return attr_of(a, field, type_r);
}

static void ftab_free(struct field_tab *ft)
{
	if (ft == NULL)
		return;
	for (uint32_t i = 0; i < ft->n_values; i++)
		free(ft->values[i]);
	free(ft->values);
	free(ft->vid);
	free(ft->type);
	strmap_free(ft->by_value);
	free(ft->name);
	free(ft);
}

static struct field_tab *ftab_build(const struct sched_place *pl,
                                    const char *field)
{
	struct field_tab *ft = calloc(1, sizeof(*ft));
	size_t n = pl->n_agents;

	if (ft == NULL)
		return NULL;
	ft->name = strdup(field);
	ft->vid = calloc(n + 1, sizeof(*ft->vid));
	ft->type = calloc(n + 1, sizeof(*ft->type));
	ft->values = calloc(n + 1, sizeof(*ft->values));
	ft->by_value = strmap_new();
	if (ft->name == NULL || ft->vid == NULL || ft->type == NULL ||
	    ft->values == NULL || ft->by_value == NULL)
		goto err_ft;
	for (size_t i = 0; i < n; i++) {
		const char *v = agent_value(&pl->agents[i], field,
		                            &ft->type[i]);
		uintptr_t id;

		if (v == NULL) {
			ft->vid[i] = UINT32_MAX; /* fixed below */
			continue;
		}
		id = (uintptr_t)strmap_get(ft->by_value, v);
		if (id == 0) {
			char *copy = strdup(v);

			if (copy == NULL)
				goto err_ft;
			ft->values[ft->n_values] = copy;
			id = ++ft->n_values;
			if (strmap_put(ft->by_value, copy,
			               (void *)(uintptr_t)id) != 0)
				goto err_ft;
		}
		ft->vid[i] = (uint32_t)(id - 1);
	}
	/* Value ids are known now: "lacking" is the one after the last. */
	for (size_t i = 0; i < n; i++)
		if (ft->vid[i] == UINT32_MAX)
			ft->vid[i] = ft->n_values;
	ft->vid[n] = ft->n_values;
	ft->type[n] = STADION_VALUE_ABSENT;
	return ft;

err_ft:
	ftab_free(ft);
	return NULL;
}

static struct field_tab *ftab_get(struct sched_place *pl, const char *field)
{
	struct field_tab *ft = strmap_get(pl->fields, field);

	if (ft != NULL)
		return ft;
	if (grow((void **)&pl->ftabs, &pl->cap_ftabs, pl->n_ftabs,
	         sizeof(*pl->ftabs)) != 0 ||
	    (ft = ftab_build(pl, field)) == NULL)
		return NULL;
	if (strmap_put(pl->fields, ft->name, ft) != 0) {
		ftab_free(ft);
		return NULL;
	}
	pl->ftabs[pl->n_ftabs++] = ft;
	return ft;
}

/* The index of AGENT in the driver's array, N_AGENTS when it is not in it
 * (compared as integers: the agent may belong to another array). */
static size_t agent_index(const struct sched_place *pl,
                          const struct driver_agent *agent)
{
	uintptr_t base = (uintptr_t)pl->agents, p = (uintptr_t)agent;

	if (agent == NULL || p < base ||
	    p >= base + pl->n_agents * sizeof(*pl->agents) ||
	    (p - base) % sizeof(*pl->agents) != 0)
		return pl->n_agents;
	return (p - base) / sizeof(*pl->agents);
}

/* ---- compiled constraint lists ---------------------------------------- */

static void cset_free(struct cset *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		const struct ccon *c = &cs->c[i];

		if (c->ops != NULL && c->ops->free_arg != NULL)
			c->ops->free_arg(c->plugin->state, c->arg);
	}
	free(cs->c);
	free(cs->key);
	free(cs);
}

/* The list's key: field, operator and operand of every constraint, each
 * preceded by its length, so that no two lists share a key whatever
 * characters they hold. */
static char *cset_key(const struct app *app)
{
	size_t len = 1;
	char *key, *p;

	for (size_t i = 0; i < app->n_constraints; i++) {
		const struct app_constraint *c = &app->constraints[i];

		len += strlen(c->field) + strlen(c->op) +
		       (c->value ? strlen(c->value) : 0) + 64;
	}
	if ((p = key = malloc(len)) == NULL)
		return NULL;
	for (size_t i = 0; i < app->n_constraints; i++) {
		const struct app_constraint *c = &app->constraints[i];

		p += sprintf(p, "%zu:%s%zu:%s%s%zu:%s", strlen(c->field),
		             c->field, strlen(c->op), c->op,
		             c->value != NULL ? "v" : "-",
		             c->value != NULL ? strlen(c->value) : 0,
		             c->value != NULL ? c->value : "");
	}
	*p = '\0';
	return key;
}

/* "A, B or C" of the loaded operators: Marathon's first, in its order,
 * then the others as loaded. */
static void operator_list(const struct plugin_set *set, char *buf,
                          size_t len)
{
	const char *names[64];
	size_t n = 0, off = 0;

	for (size_t i = 0; i < N_MARATHON_OPS; i++)
		if (plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
		                    marathon_ops[i]) != NULL)
			names[n++] = marathon_ops[i];
	for (const struct plugin *p = set->loaded; p != NULL && n < 64;
	     p = p->next) {
		bool marathon = false;

		if (p->kind != STADION_PLUGIN_KIND_CONSTRAINT)
			continue;
		for (size_t i = 0; i < N_MARATHON_OPS; i++)
			marathon |= strcmp(p->name, marathon_ops[i]) == 0;
		if (!marathon)
			names[n++] = p->name;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		                        i == 0 ? ""
		                        : i + 1 == n ? " or "
		                                     : ", ",
		                        names[i]);
}

/* Report one constraint's error: to ERRS when validating, else to the
 * log (an app stored earlier, at launch). */
static void con_error(const struct app *app, size_t i, const char *prefix,
                      struct model_errors *errs, const char *msg)
{
	char path[64];

	snprintf(path, sizeof(path), "/constraints(%zu)", i);
	if (errs != NULL)
		model_errors_add(errs, MODEL_ERR_VALID, prefix, path, "%s",
		                 msg);
	else
		log_warn("app %s: constraint %zu cannot be used: %s; its "
		         "instances stay queued until the definition is "
		         "fixed or the operator's plugin is installed",
		         app->id, i, msg);
}

/* The constraint plugin of operator OP, upper-cased as Marathon does;
 * NULL when none is loaded (or OP is longer than any plugin name). */
static const struct plugin *operator_find(const struct sched_place *pl,
                                          const char *op)
{
	char upper[STADION_PLUGIN_NAME_MAX + 1];
	size_t k;

	for (k = 0; op[k] != '\0' && k < sizeof(upper) - 1; k++)
		upper[k] = (char)toupper((unsigned char)op[k]);
	upper[k] = '\0';
	if (op[k] != '\0')
		return NULL;
	return plugin_set_find(pl->plugins, STADION_PLUGIN_KIND_CONSTRAINT,
	                       upper);
}

/* Compile constraint I of APP into C.  0, -1 (reported, see con_error),
 * -2 out of memory. */
static int con_compile(struct sched_place *pl, const struct app *app,
                       size_t i, const char *prefix,
                       struct model_errors *errs, struct ccon *c)
{
	const struct app_constraint *ac = &app->constraints[i];
	struct stadion_err err = {0};
	char list[512], msg[768];

	if (ac->field[0] == '\0') {
		con_error(app, i, prefix, errs, SCHED_PLACE_MSG_NO_FIELD);
		return -1;
	}
	if ((c->plugin = operator_find(pl, ac->op)) == NULL) {
		operator_list(pl->plugins, list, sizeof(list));
		if (list[0] != '\0')
			snprintf(msg, sizeof(msg),
			         "operator must be one of the following %s; no "
			         "constraint plugin \"%s\" is loaded",
			         list, ac->op);
		else
			snprintf(msg, sizeof(msg),
			         "no constraint plugin \"%s\" is loaded, nor "
			         "any other; install stadion's bundled plugins",
			         ac->op);
		con_error(app, i, prefix, errs, msg);
		return -1;
	}
	c->ops = c->plugin->ops;
	c->victim_weight = STADION_HAS_MEMBER(struct stadion_constraint_ops,
	                                      c->plugin->ops_size,
	                                      victim_weight) &&
	                   c->ops->victim_weight != NULL;
	if ((c->ft = ftab_get(pl, ac->field)) == NULL)
		return -2;
	if (c->ops->compile(c->plugin->state, ac->field, ac->value, &c->arg,
	                    &err) != 0) {
		if (err.code == STADION_ENOMEM)
			return -2;
		con_error(app, i, prefix, errs,
		          err.msg[0] != '\0' ? err.msg
		                             : "the operand is refused");
		return -1;
	}
	return 0;
}

/* Compile APP's constraints into *CS_R, reporting every refused one.  0,
 * -1 (reported, see con_error), -2 out of memory. */
static int cset_compile(struct sched_place *pl, const struct app *app,
                        const char *prefix, struct model_errors *errs,
                        struct cset **cs_r)
{
	struct cset *cs = calloc(1, sizeof(*cs));
	int rc = 0;

	if (cs == NULL ||
	    (cs->c = calloc(app->n_constraints + 1, sizeof(*cs->c))) == NULL)
		goto err_nomem;
	for (size_t i = 0; i < app->n_constraints; i++) {
		/* A refused one leaves its slot to the next: only compiled
		 * constraints (cs->n of them) are freed. */
		int one = con_compile(pl, app, i, prefix, errs, &cs->c[cs->n]);

		if (one == -2)
			goto err_nomem;
		if (one == 0)
			cs->n++;
		else
			rc = -1;
	}
	if (rc != 0) {
		cset_free(cs);
		return rc;
	}
	*cs_r = cs;
	return 0;

err_nomem:
	cset_free(cs);
	return -2;
}

static int cset_keep(struct sched_place *pl, struct cset *cs)
{
	if (grow((void **)&pl->csets, &pl->cap_csets, pl->n_csets,
	         sizeof(*pl->csets)) != 0 ||
	    strmap_put(pl->sets, cs->key, cs) != 0)
		return -1;
	pl->csets[pl->n_csets++] = cs;
	return 0;
}

/* APP's compiled list, compiled now when it was never seen (an app loaded
 * at start-up); a list that does not compile is kept as broken.  NULL
 * when out of memory. */
static const struct cset *cset_get(struct sched_place *pl,
                                   const struct app *app)
{
	char *key = cset_key(app);
	struct cset *cs;
	int rc;

	if (key == NULL)
		return NULL;
	if ((cs = strmap_get(pl->sets, key)) != NULL) {
		free(key);
		return cs;
	}
	rc = cset_compile(pl, app, NULL, NULL, &cs);
	if (rc == -2 || (rc == -1 && (cs = calloc(1, sizeof(*cs))) == NULL)) {
		free(key);
		return NULL;
	}
	cs->broken = rc != 0;
	cs->key = key;
	if (cset_keep(pl, cs) != 0) {
		cset_free(cs);
		return NULL;
	}
	return cs;
}

/* Drop the broken list of KEY, if any. */
static void cset_drop(struct sched_place *pl, const char *key)
{
	struct cset *old = strmap_del(pl->sets, key);

	if (old == NULL)
		return;
	for (size_t i = 0; i < pl->n_csets; i++)
		if (pl->csets[i] == old) {
			pl->csets[i] = pl->csets[--pl->n_csets];
			break;
		}
	cset_free(old);
}

int sched_place_validate(struct sched_place *pl, const struct app *app,
                         const char *err_prefix, struct model_errors *errs)
{
	struct cset *cs;
	char *key;
	int rc;

	if (app->n_constraints == 0)
		return 0;
	if ((key = cset_key(app)) == NULL)
		return -2;
	cs = strmap_get(pl->sets, key);
	if (cs != NULL && !cs->broken) {
		free(key);
		return 0;
	}
	if ((rc = cset_compile(pl, app, err_prefix, errs, &cs)) != 0) {
		free(key);
		return rc;
	}
	cs->key = key;
	/* A list that was broken at a launch compiles now (its operator
	 * came back?): the fresh one replaces it, or launches would keep
	 * rejecting every agent. */
	cset_drop(pl, key);
	if (cset_keep(pl, cs) != 0) {
		cset_free(cs);
		return -2;
	}
	return 0;
}

/* ---- a matching run ---------------------------------------------------- */

struct run_con {
	const struct ccon *c;
	uint32_t *count;         /* per value id, n_values + 1 */
	uint32_t *hist;          /* hist[k]: values with k instances, k >= 1 */
	uint32_t used, min_used;
};

struct sched_place_run {
	struct sched_place *pl;
	const struct cset *cs;
	size_t *aidx;            /* per offer: the agent's index */
	uint32_t total;
	struct run_con *con;
	size_t n_con;
	void *block;             /* the counters, one allocation */
};

static uint32_t run_count(const void *ctx, const char *value)
{
	const struct run_con *rc = ctx;
	uintptr_t id;

	if (value == NULL)
		return rc->count[rc->c->ft->n_values];
	id = (uintptr_t)strmap_get(rc->c->ft->by_value, value);
	return id != 0 ? rc->count[id - 1] : 0;
}

static void view_fill(const struct run_con *rc, size_t aidx, uint32_t total,
                      struct stadion_constraint_view *v)
{
	const struct field_tab *ft = rc->c->ft;
	uint32_t vid = ft->vid[aidx];

	v->size = sizeof(*v);
	v->type = ft->type[aidx];
	v->field = ft->name;
	v->value = vid < ft->n_values ? ft->values[vid] : NULL;
	v->placed_here = rc->count[vid];
	v->placed_total = total;
	v->values_used = rc->used;
	v->min_used = rc->min_used;
	v->values_known = ft->n_values;
	v->count = run_count;
	v->count_ctx = rc;
}

static enum sched_match_verdict run_accept(void *arg,
                                           const struct sched_match_view *mv)
{
	struct sched_place_run *run = arg;
	enum sched_match_verdict verdict = SCHED_MATCH_ACCEPT;
	size_t aidx = run->aidx[mv->offer_index];

	if (run->cs->broken)
		return SCHED_MATCH_REJECT_FINAL;
	for (size_t k = 0; k < run->n_con; k++) {
		const struct run_con *rc = &run->con[k];
		struct stadion_constraint_view v;

		view_fill(rc, aidx, run->total, &v);
		run->pl->decisions++;
		switch (rc->c->ops->match(rc->c->plugin->state, rc->c->arg,
		                          &v)) {
		case STADION_MATCH_YES:
			break;
		case STADION_MATCH_NEVER:
			return SCHED_MATCH_REJECT_FINAL;
		default:
			/* Keep asking the others: one of them may say
			 * NEVER, which spares this agent later questions. */
			verdict = SCHED_MATCH_REJECT;
			break;
		}
	}
	return verdict;
}

/* One more instance in value VID's group: the smallest group in use only
 * moves when the last group of its size grows. */
static void con_bump(struct run_con *rc, uint32_t vid)
{
	uint32_t c = rc->count[vid]++;

	if (c == 0) {
		rc->used++;
		rc->min_used = 1;
	} else {
		rc->hist[c]--;
		if (c == rc->min_used && rc->hist[c] == 0)
			rc->min_used = c + 1;
	}
	rc->hist[c + 1]++;
}

static void run_placed(void *arg, size_t offer_index)
{
	struct sched_place_run *run = arg;
	size_t aidx = run->aidx[offer_index];

	for (size_t k = 0; k < run->n_con; k++)
		con_bump(&run->con[k], run->con[k].c->ft->vid[aidx]);
	run->total++;
}

void sched_place_run_free(struct sched_place_run *run)
{
	if (run == NULL)
		return;
	free(run->block);
	free(run->con);
	free(run->aidx);
	free(run);
}

int sched_place_run_new(struct sched_place *pl, const struct app *app,
                        const struct driver_offer *offers, size_t n_offers,
                        const uint32_t *existing, uint32_t count,
                        struct sched_place_run **run_r,
                        struct sched_match_hook *hook_r)
{
	struct sched_place_run *run;
	uint64_t total = 0, words = 0, hist_len;
	uint32_t *w;

	*run_r = NULL;
	if (pl == NULL || app->n_constraints == 0)
		return 0;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return -ENOMEM;
	run->pl = pl;
	if ((run->cs = cset_get(pl, app)) == NULL ||
	    (run->aidx = calloc(n_offers + 1, sizeof(*run->aidx))) == NULL)
		goto err_run;
	for (size_t i = 0; i < n_offers; i++) {
		run->aidx[i] = agent_index(pl, offers[i].agent);
		total += existing != NULL ? existing[i] : 0;
	}
	/* Groups never hold more than every instance there will be. */
	hist_len = total + count + 2;
	run->n_con = run->cs->n;
	for (size_t k = 0; k < run->n_con; k++)
		words += run->cs->c[k].ft->n_values + 1 + hist_len;
	if ((run->con = calloc(run->n_con + 1, sizeof(*run->con))) == NULL ||
	    (run->block = calloc(words + 1, sizeof(uint32_t))) == NULL)
		goto err_run;
	w = run->block;
	for (size_t k = 0; k < run->n_con; k++) {
		struct run_con *rc = &run->con[k];
		const struct field_tab *ft = run->cs->c[k].ft;

		rc->c = &run->cs->c[k];
		rc->count = w;
		w += ft->n_values + 1;
		rc->hist = w;
		w += hist_len;
		for (size_t i = 0; existing != NULL && i < n_offers; i++)
			rc->count[ft->vid[run->aidx[i]]] += existing[i];
		for (uint32_t v = 0; v <= ft->n_values; v++) {
			uint32_t c = rc->count[v];

			if (c == 0)
				continue;
			rc->hist[c]++;
			if (rc->used++ == 0 || c < rc->min_used)
				rc->min_used = c;
		}
	}
	run->total = (uint32_t)total;
	hook_r->accept = run_accept;
	hook_r->placed = run_placed;
	hook_r->arg = run;
	*run_r = run;
	return 0;

err_run:
	sched_place_run_free(run);
	return -ENOMEM;
}

/* ---- scale-down --------------------------------------------------------- */

int sched_place_victims(struct sched_place *pl, const struct app *app,
                        const struct driver_agent *const *agents, size_t n,
                        size_t n_kill, size_t *order_r)
{
	const struct cset *cs;
	struct run_con *wc = NULL;
	size_t n_wc = 0, pos = 0, *aidx = NULL;
	uint32_t *counts = NULL;
	uint64_t *score = NULL, *stamp = NULL;
	bool *picked = NULL;
	int rc = -ENOMEM;

	for (size_t i = 0; i < n; i++)
		order_r[i] = i;
	if (pl == NULL || app->n_constraints == 0 || n_kill == 0 ||
	    n_kill >= n)
		return 0;
	if ((cs = cset_get(pl, app)) == NULL)
		return -ENOMEM;
	if (cs->broken)
		return 0;
	for (size_t k = 0; k < cs->n; k++)
		n_wc += cs->c[k].victim_weight;
	if (n_wc == 0)
		return 0;

	{
		size_t words = 0;

		for (size_t k = 0; k < cs->n; k++)
			if (cs->c[k].victim_weight)
				words += cs->c[k].ft->n_values + 1;
		wc = calloc(n_wc, sizeof(*wc));
		counts = calloc(words, sizeof(*counts));
	}
	aidx = calloc(n, sizeof(*aidx));
	picked = calloc(n, sizeof(*picked));
	score = calloc(pl->n_agents + 1, sizeof(*score));
	stamp = calloc(pl->n_agents + 1, sizeof(*stamp));
	if (wc == NULL || counts == NULL || aidx == NULL || picked == NULL ||
	    score == NULL || stamp == NULL)
		goto out_free;
	n_wc = 0;
	for (size_t k = 0, off = 0; k < cs->n; k++) {
		if (!cs->c[k].victim_weight)
			continue;
		wc[n_wc].c = &cs->c[k];
		wc[n_wc].count = counts + off;
		off += cs->c[k].ft->n_values + 1;
		n_wc++;
	}
	for (size_t i = 0; i < n; i++) {
		aidx[i] = agent_index(pl, agents[i]);
		if (agents[i] == NULL) {
			/* Runs nowhere: killing it changes no group. */
			picked[i] = true;
			order_r[pos++] = i;
			continue;
		}
		for (size_t k = 0; k < n_wc; k++)
			wc[k].count[wc[k].c->ft->vid[aidx[i]]]++;
	}
	for (uint64_t round = 1; pos < n_kill; round++) {
		size_t best = n;
		uint64_t best_score = 0;
		uint32_t total = 0;

		for (size_t k = 0; k < n_wc; k++) {
			struct run_con *r = &wc[k];

			r->used = r->min_used = 0;
			for (uint32_t v = 0; v <= r->c->ft->n_values; v++) {
				if (r->count[v] == 0)
					continue;
				if (r->used++ == 0 || r->count[v] < r->min_used)
					r->min_used = r->count[v];
				if (k == 0)
					total += r->count[v];
			}
		}
		for (size_t i = 0; i < n; i++) {
			size_t a = aidx[i];

			if (picked[i])
				continue;
			if (stamp[a] != round) {
				score[a] = 0;
				for (size_t k = 0; k < n_wc; k++) {
					struct stadion_constraint_view v;

					view_fill(&wc[k], a, total, &v);
					score[a] += wc[k].c->ops->victim_weight(
						wc[k].c->plugin->state,
						wc[k].c->arg, &v);
				}
				stamp[a] = round;
			}
			if (best == n || score[a] > best_score) {
				best = i;
				best_score = score[a];
			}
		}
		if (best == n)
			break;
		picked[best] = true;
		order_r[pos++] = best;
		for (size_t k = 0; k < n_wc; k++)
			wc[k].count[wc[k].c->ft->vid[aidx[best]]]--;
	}
	for (size_t i = 0; i < n; i++)
		if (!picked[i])
			order_r[pos++] = i;
	rc = 0;

out_free:
	if (rc != 0)
		for (size_t i = 0; i < n; i++)
			order_r[i] = i;
	free(stamp);
	free(score);
	free(picked);
	free(aidx);
	free(counts);
	free(wc);
	return rc;
}

/* ---- the placement ------------------------------------------------------ */

struct sched_place *sched_place_new(const struct plugin_set *plugins,
                                    const struct driver_agent *agents,
                                    size_t n_agents)
{
	struct sched_place *pl = calloc(1, sizeof(*pl));

	if (pl == NULL)
		return NULL;
	pl->plugins = plugins;
	pl->agents = agents;
	pl->n_agents = n_agents;
	pl->fields = strmap_new();
	pl->sets = strmap_new();
	if (pl->fields == NULL || pl->sets == NULL) {
		sched_place_free(pl);
		return NULL;
	}
	return pl;
}

void sched_place_free(struct sched_place *pl)
{
	if (pl == NULL)
		return;
	for (size_t i = 0; i < pl->n_csets; i++)
		cset_free(pl->csets[i]);
	free(pl->csets);
	strmap_free(pl->sets);
	for (size_t i = 0; i < pl->n_ftabs; i++)
		ftab_free(pl->ftabs[i]);
	free(pl->ftabs);
	strmap_free(pl->fields);
	free(pl);
}

uint64_t sched_place_decisions(const struct sched_place *pl)
{
	return pl != NULL ? pl->decisions : 0;
}
