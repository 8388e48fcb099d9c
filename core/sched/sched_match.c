#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_app.h"
#include "jsonutil.h"
#include "sched/sched_match.h"

static const char *const reason_names[SCHED_MATCH_N_REASONS] = {
	[SCHED_MATCH_UNFULFILLED_ROLE] = "UnfulfilledRole",
	[SCHED_MATCH_UNFULFILLED_CONSTRAINT] = "UnfulfilledConstraint",
	[SCHED_MATCH_NO_RESERVATION] = "NoCorrespondingReservationFound",
	[SCHED_MATCH_AGENT_MAINTENANCE] = "AgentMaintenance",
	[SCHED_MATCH_INSUFFICIENT_CPUS] = "InsufficientCpus",
	[SCHED_MATCH_INSUFFICIENT_MEMORY] = "InsufficientMemory",
	[SCHED_MATCH_INSUFFICIENT_DISK] = "InsufficientDisk",
	[SCHED_MATCH_INSUFFICIENT_GPUS] = "InsufficientGpus",
	[SCHED_MATCH_INSUFFICIENT_PORTS] = "InsufficientPorts",
	[SCHED_MATCH_DECLINED_SCARCE] = "DeclinedScarceResources",
};

const char *sched_match_reason_name(enum sched_match_reason reason)
{
	if ((unsigned)reason >= SCHED_MATCH_N_REASONS)
		return NULL;
	return reason_names[reason];
}

/* Mesos keeps scalars in thousandths; so do we, so that consuming 0.1 ten
 * times empties 1.0 exactly instead of leaving 0.0999... */
static int64_t milli(double v)
{
	double m = v * 1000.0 + 0.5;

	if (!(v > 0))
		return 0;
	/* Beyond any real cluster; and the cast would be undefined.  (No
	 * llround(): the core library does not link libm.) */
	if (m >= 4e18)
		return INT64_C(4000000000000000000);
	return (int64_t)m;
}

/* ---- demand from an app ---------------------------------------------- */

int sched_match_demand_from_app(const struct app *app,
                                struct sched_match_demand *demand_r)
{
	size_t n = 0;
	uint32_t *ports = NULL;

	memset(demand_r, 0, sizeof(*demand_r));
	demand_r->cpus = app->cpus;
	demand_r->mem = app->mem;
	demand_r->disk = app->disk;
	demand_r->gpus = app->gpus;

	if (app->network_mode == APP_NET_HOST) {
		if (app->n_port_definitions > 0) {
			ports = calloc(app->n_port_definitions, sizeof(*ports));
			if (ports == NULL)
				return -ENOMEM;
		}
		for (size_t i = 0; i < app->n_port_definitions; i++) {
			int64_t p = app->port_definitions[i].service_port;
			/* Without requirePorts the definition's number is a
			 * service port only; the host port comes from the
			 * offer. */
			ports[n++] = app->require_ports && p > 0 &&
			             p <= UINT16_MAX ? (uint32_t)p : 0;
		}
	} else {
		if (app->n_port_mappings > 0) {
			ports = calloc(app->n_port_mappings, sizeof(*ports));
			if (ports == NULL)
				return -ENOMEM;
		}
		for (size_t i = 0; i < app->n_port_mappings; i++) {
			int64_t p = app->port_mappings[i].host_port;
			if (p < 0)
				continue; /* not published on the host */
			ports[n++] = p <= UINT16_MAX ? (uint32_t)p : 0;
		}
	}
	demand_r->host_ports = ports;
	demand_r->n_host_ports = n;
	return 0;
}

void sched_match_demand_release(struct sched_match_demand *demand)
{
	if (demand == NULL)
		return;
	free((void *)demand->host_ports);
	demand->host_ports = NULL;
	demand->n_host_ports = 0;
}

/* ---- statistics ------------------------------------------------------ */

void sched_match_stats_init(struct sched_match_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->last_unused_offer_at_ms = -1;
	stats->last_used_offer_at_ms = -1;
}

void sched_match_stats_reset(struct sched_match_stats *stats)
{
	if (stats == NULL)
		return;
	for (size_t i = 0; i < stats->cap_last; i++)
		free(stats->last[i].agent_id);
	free(stats->last);
	sched_match_stats_init(stats);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

/* The slot of AGENT_ID: its own, or the free one where it would go. */
static struct sched_match_last *last_slot(const struct sched_match_stats *s,
                                          const char *agent_id)
{
	size_t mask = s->cap_last - 1;
	size_t i = (size_t)hash_str(agent_id) & mask;

	while (s->last[i].agent_id != NULL &&
	       strcmp(s->last[i].agent_id, agent_id) != 0)
		i = (i + 1) & mask;
	return &s->last[i];
}

/* Make room for EXTRA more agents at a load of at most one half, before a
 * run changes anything, so that recording cannot fail half-way. */
static int last_reserve(struct sched_match_stats *s, size_t extra)
{
	struct sched_match_last *old = s->last;
	size_t old_cap = s->cap_last, cap = old_cap ? old_cap : 16;

	while (cap / 2 < s->n_last + extra)
		cap *= 2;
	if (cap == old_cap)
		return 0;
	s->last = calloc(cap, sizeof(*s->last));
	if (s->last == NULL) {
		s->last = old;
		return -ENOMEM;
	}
	s->cap_last = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].agent_id != NULL)
			*last_slot(s, old[i].agent_id) = old[i];
	free(old);
	return 0;
}

/* Room was reserved; only the agent id copy may fail, and then the agent's
 * last reason is lost, which only the summary of last offers shows. */
static void last_record(struct sched_match_stats *s, const char *agent_id,
                        enum sched_match_reason reason, int64_t now_ms)
{
	struct sched_match_last *slot = last_slot(s, agent_id);

	if (slot->agent_id == NULL) {
		slot->agent_id = strdup(agent_id);
		if (slot->agent_id == NULL)
			return;
		s->n_last++;
	}
	slot->reason = reason;
	slot->at_ms = now_ms;
}

void sched_match_stats_last_summary(const struct sched_match_stats *stats,
                                    int64_t counts_r[SCHED_MATCH_N_REASONS],
                                    int64_t *n_agents_r)
{
	memset(counts_r, 0, SCHED_MATCH_N_REASONS * sizeof(*counts_r));
	for (size_t i = 0; i < stats->cap_last; i++)
		if (stats->last[i].agent_id != NULL)
			counts_r[stats->last[i].reason]++;
	*n_agents_r = (int64_t)stats->n_last;
}

/* QueueInfoConversion.declinedOfferSteps: a funnel, each step sees what the
 * steps before it let through. */
static struct json_object *steps_json(const int64_t counts[], int64_t processed)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (int r = 0; r < SCHED_MATCH_N_REASONS; r++) {
		struct json_object *o = json_object_new_object();

		if (jsonutil_append(arr, o) != 0)
			goto err_arr;
		if (jsonutil_add(o, "reason",
		                 json_object_new_string(reason_names[r])) != 0 ||
		    jsonutil_add(o, "declined",
		                 json_object_new_int64(counts[r])) != 0 ||
		    jsonutil_add(o, "processed",
		                 json_object_new_int64(processed)) != 0)
			goto err_arr;
		processed -= counts[r];
	}
	return arr;

err_arr:
	json_object_put(arr);
	return NULL;
}

static int add_ts(struct json_object *o, const char *key, int64_t ms)
{
	char buf[MODEL_TIMESTAMP_LEN];

	if (ms < 0)
		return 0; /* optional in the RAML: left out while unset */
	model_timestamp_format(ms, buf);
	return jsonutil_add(o, key, json_object_new_string(buf));
}

struct json_object *sched_match_stats_to_json(
	const struct sched_match_stats *stats)
{
	struct json_object *o = json_object_new_object();
	int64_t last_counts[SCHED_MATCH_N_REASONS], n_agents;

	if (o == NULL)
		return NULL;
	sched_match_stats_last_summary(stats, last_counts, &n_agents);
	if (jsonutil_add(o, "processedOffersCount",
	        json_object_new_int64(stats->processed_offers)) != 0 ||
	    jsonutil_add(o, "unusedOffersCount",
	        json_object_new_int64(stats->unused_offers)) != 0 ||
	    add_ts(o, "lastUnusedOfferAt", stats->last_unused_offer_at_ms) ||
	    add_ts(o, "lastUsedOfferAt", stats->last_used_offer_at_ms) ||
	    jsonutil_add(o, "rejectSummaryLastOffers",
	        steps_json(last_counts, n_agents)) != 0 ||
	    jsonutil_add(o, "rejectSummaryLaunchAttempt",
	        steps_json(stats->launch_attempt,
	                   stats->processed_offers)) != 0)
		goto err_o;
	return o;

err_o:
	json_object_put(o);
	return NULL;
}

/* ---- the pool -------------------------------------------------------- */

struct agent {
	const struct driver_offer *offer; /* borrowed */
	int64_t cpus, mem, disk;          /* free, thousandths */
	struct driver_port_range *ranges; /* free ports, sorted, owned */
	size_t n_ranges, cap_ranges;
	size_t first;                     /* first non-empty range */
	uint64_t free_ports;
};

struct sched_match_pool {
	struct agent *agents;
	size_t n;
	/* Scratch of a run, sized n, allocated once. */
	uint32_t *load;            /* app instances on the agent */
	uint32_t *placed_run;      /* placed on it by this run */
	unsigned char *reason;     /* enum sched_match_reason, FITS = none */
	size_t *heap, n_heap;
	size_t *deferred, n_deferred;
};

static void agent_release(struct agent *a)
{
	free(a->ranges);
}

void sched_match_pool_free(struct sched_match_pool *pool)
{
	if (pool == NULL)
		return;
	for (size_t i = 0; i < pool->n; i++)
		agent_release(&pool->agents[i]);
	free(pool->agents);
	free(pool->load);
	free(pool->placed_run);
	free(pool->reason);
	free(pool->heap);
	free(pool->deferred);
	free(pool);
}

struct sched_match_pool *sched_match_pool_new(const struct driver_offer *offers,
                                              size_t n)
{
	struct sched_match_pool *p = calloc(1, sizeof(*p));
	size_t m = n ? n : 1;

	if (p == NULL)
		return NULL;
	p->agents = calloc(m, sizeof(*p->agents));
	p->load = calloc(m, sizeof(*p->load));
	p->placed_run = calloc(m, sizeof(*p->placed_run));
	p->reason = calloc(m, 1);
	p->heap = calloc(m, sizeof(*p->heap));
	p->deferred = calloc(m, sizeof(*p->deferred));
	if (p->agents == NULL || p->load == NULL || p->placed_run == NULL ||
	    p->reason == NULL || p->heap == NULL ||
	    p->deferred == NULL)
		goto err_pool;
	for (size_t i = 0; i < n; i++) {
		const struct driver_offer *o = &offers[i];
		struct agent *a = &p->agents[p->n];

		a->offer = o;
		a->cpus = milli(o->cpus);
		a->mem = milli(o->mem);
		a->disk = milli(o->disk);
		if (o->n_ports > 0) {
			a->ranges = malloc(o->n_ports * sizeof(*a->ranges));
			if (a->ranges == NULL)
				goto err_pool;
			a->cap_ranges = o->n_ports;
		}
		p->n++;
		/* Keep the non-empty ranges only: the port code relies on
		 * every range from FIRST on holding at least one port. */
		for (size_t r = 0; r < o->n_ports; r++) {
			if (o->ports[r].end < o->ports[r].begin)
				continue;
			a->ranges[a->n_ranges++] = o->ports[r];
			a->free_ports += (uint64_t)o->ports[r].end -
			                 o->ports[r].begin + 1;
		}
	}
	return p;

err_pool:
	sched_match_pool_free(p);
	return NULL;
}

size_t sched_match_pool_size(const struct sched_match_pool *pool)
{
	return pool->n;
}

void sched_match_pool_remaining(const struct sched_match_pool *pool, size_t i,
                                struct sched_match_remaining *rem_r)
{
	const struct agent *a = &pool->agents[i];

	rem_r->cpus = (double)a->cpus / 1000.0;
	rem_r->mem = (double)a->mem / 1000.0;
	rem_r->disk = (double)a->disk / 1000.0;
	rem_r->free_ports = a->free_ports;
}

/* The index of the range of A holding PORT, or -1. */
static ptrdiff_t range_find(const struct agent *a, uint32_t port)
{
	size_t lo = a->first, hi = a->n_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (port < a->ranges[mid].begin)
			hi = mid;
		else if (port > a->ranges[mid].end)
			lo = mid + 1;
		else
			return (ptrdiff_t)mid;
	}
	return -1;
}

bool sched_match_pool_port_free(const struct sched_match_pool *pool, size_t i,
                                uint32_t port)
{
	return range_find(&pool->agents[i], port) >= 0;
}

/* ---- one run --------------------------------------------------------- */

/* A demand in the pool's units, and what it says about its ports. */
struct need {
	int64_t cpus, mem, disk, gpus;
	const uint32_t *host_ports;
	size_t n_host_ports;
	size_t n_fixed;      /* non-zero host ports */
	bool fixed_dup;      /* one fixed port twice: never fits */
};

/* The first check of the funnel that A fails for one instance of N, from
 * InsufficientCpus on (the hook answers for the constraints). */
static enum sched_match_reason resources_fit(const struct agent *a,
                                             const struct need *n)
{
	if (a->cpus < n->cpus)
		return SCHED_MATCH_INSUFFICIENT_CPUS;
	if (a->mem < n->mem)
		return SCHED_MATCH_INSUFFICIENT_MEMORY;
	if (a->disk < n->disk)
		return SCHED_MATCH_INSUFFICIENT_DISK;
	/* Offers carry no GPUs, so an app asking for any never fits, and an
	 * app asking for none never meets scarce GPUs to decline. */
	if (n->gpus > 0)
		return SCHED_MATCH_INSUFFICIENT_GPUS;
	if (n->n_host_ports > 0) {
		if (n->fixed_dup || a->free_ports < n->n_host_ports)
			return SCHED_MATCH_INSUFFICIENT_PORTS;
		for (size_t i = 0; n->n_fixed > 0 && i < n->n_host_ports; i++)
			if (n->host_ports[i] != 0 &&
			    range_find(a, n->host_ports[i]) < 0)
				return SCHED_MATCH_INSUFFICIENT_PORTS;
	}
	return SCHED_MATCH_FITS;
}

/* Take PORT, known to be free, out of A's ranges.  Splitting a range needs
 * one more slot, reserved before the run started. */
static void take_port(struct agent *a, uint32_t port)
{
	size_t r = (size_t)range_find(a, port);
	struct driver_port_range *rg = &a->ranges[r];

	a->free_ports--;
	if (rg->begin == rg->end) {
		memmove(rg, rg + 1, (a->n_ranges - r - 1) * sizeof(*rg));
		a->n_ranges--;
	} else if (port == rg->begin) {
		rg->begin++;
	} else if (port == rg->end) {
		rg->end--;
	} else {
		memmove(rg + 1, rg, (a->n_ranges - r) * sizeof(*rg));
		a->n_ranges++;
		rg->end = port - 1;
		rg[1].begin = port + 1;
	}
}

/* The lowest free port of A, taken. */
static uint32_t take_lowest(struct agent *a)
{
	struct driver_port_range *rg = &a->ranges[a->first];
	uint32_t port = rg->begin;

	a->free_ports--;
	if (rg->begin == rg->end)
		a->first++; /* empty now; later range_find()s skip it */
	else
		rg->begin++;
	return port;
}

static void consume(struct agent *a, const struct need *n, uint32_t *ports)
{
	a->cpus -= n->cpus;
	a->mem -= n->mem;
	a->disk -= n->disk;
	/* Fixed ports first, so that a port picked for a 0 cannot be one the
	 * app asks for by number. */
	for (size_t i = 0; n->n_fixed > 0 && i < n->n_host_ports; i++)
		if (n->host_ports[i] != 0) {
			take_port(a, n->host_ports[i]);
			if (ports != NULL)
				ports[i] = n->host_ports[i];
		}
	for (size_t i = 0; i < n->n_host_ports; i++)
		if (n->host_ports[i] == 0) {
			uint32_t port = take_lowest(a);

			if (ports != NULL)
				ports[i] = port;
		}
}

/* The heap orders agents by (load, offer index): least loaded first, then
 * offer order. */
static bool before(const struct sched_match_pool *p, size_t x, size_t y)
{
	return p->load[x] != p->load[y] ? p->load[x] < p->load[y] : x < y;
}

static void heap_push(struct sched_match_pool *p, size_t i)
{
	size_t k = p->n_heap++;

	while (k > 0) {
		size_t parent = (k - 1) / 2;

		if (!before(p, i, p->heap[parent]))
			break;
		p->heap[k] = p->heap[parent];
		k = parent;
	}
	p->heap[k] = i;
}

static size_t heap_pop(struct sched_match_pool *p)
{
	size_t top = p->heap[0], last = p->heap[--p->n_heap], k = 0;

	for (;;) {
		size_t c = 2 * k + 1;

		if (c >= p->n_heap)
			break;
		if (c + 1 < p->n_heap && before(p, p->heap[c + 1], p->heap[c]))
			c++;
		if (!before(p, p->heap[c], last))
			break;
		p->heap[k] = p->heap[c];
		k = c;
	}
	if (p->n_heap > 0)
		p->heap[k] = last;
	return top;
}

static enum sched_match_verdict ask(const struct sched_match_pool *p,
                                    const struct sched_match_hook *hook,
                                    size_t i, uint32_t total)
{
	struct sched_match_view view;

	if (hook == NULL || hook->accept == NULL)
		return SCHED_MATCH_ACCEPT;
	view.offer_index = i;
	view.offer = p->agents[i].offer;
	view.placed_here = p->load[i];
	view.placed_total = total;
	view.placed = p->load;
	view.n_offers = p->n;
	return hook->accept(hook->arg, &view);
}

/* Fixed ports may split ranges: give every agent that may take one
 * instance room for the splits before anything is consumed. */
static int reserve_splits(struct sched_match_pool *p, size_t n_fixed)
{
	for (size_t i = 0; n_fixed > 0 && i < p->n; i++) {
		struct agent *a = &p->agents[i];
		struct driver_port_range *grown;
		size_t want = a->n_ranges + n_fixed;

		if (a->cap_ranges >= want)
			continue;
		grown = realloc(a->ranges, want * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		a->ranges = grown;
		a->cap_ranges = want;
	}
	return 0;
}

static void record(struct sched_match_pool *p, struct sched_match_stats *s,
                   int64_t now_ms)
{
	for (size_t i = 0; i < p->n; i++) {
		enum sched_match_reason r = p->reason[i];

		if (p->placed_run[i] > 0) {
			s->processed_offers++;
			s->last_used_offer_at_ms = now_ms;
		} else if (r != SCHED_MATCH_FITS) {
			s->processed_offers++;
			s->unused_offers++;
			s->launch_attempt[r]++;
			s->last_unused_offer_at_ms = now_ms;
			last_record(s, p->agents[i].offer->agent->id, r,
			            now_ms);
		}
	}
}

int sched_match_run(struct sched_match_pool *p,
                    const struct sched_match_request *req,
                    size_t *offer_index_r, uint32_t *ports_r,
                    uint32_t *placed_r)
{
	const struct sched_match_demand *d = req->demand;
	const struct sched_match_hook *hook = req->hook;
	struct need n = {
		.cpus = milli(d->cpus), .mem = milli(d->mem),
		.disk = milli(d->disk), .gpus = d->gpus,
		.host_ports = d->host_ports, .n_host_ports = d->n_host_ports,
	};
	uint32_t total = 0, placed = 0;
	int rc;

	*placed_r = 0;
	if (req->count == 0)
		return 0; /* nothing asked, no offer looked at */
	for (size_t i = 0; i < n.n_host_ports; i++) {
		if (n.host_ports[i] == 0)
			continue;
		n.n_fixed++;
		for (size_t j = 0; j < i; j++)
			if (n.host_ports[j] == n.host_ports[i])
				n.fixed_dup = true;
	}
	rc = reserve_splits(p, n.n_fixed);
	if (rc == 0 && req->stats != NULL)
		rc = last_reserve(req->stats, p->n);
	if (rc != 0)
		return rc;

	p->n_heap = p->n_deferred = 0;
	for (size_t i = 0; i < p->n; i++) {
		p->load[i] = req->existing != NULL ? req->existing[i] : 0;
		p->placed_run[i] = 0;
		total += p->load[i];
	}
	/* Resources first: an agent that cannot take one instance never
	 * will in this run.  The hook is asked about those only to learn
	 * whether the constraint, earlier in the funnel, is their reason;
	 * the others are asked when their turn comes, with what has been
	 * placed by then. */
	for (size_t i = 0; i < p->n; i++) {
		enum sched_match_reason r = resources_fit(&p->agents[i], &n);

		if (r == SCHED_MATCH_FITS) {
			p->reason[i] = SCHED_MATCH_FITS;
			heap_push(p, i);
			continue;
		}
		if (ask(p, hook, i, total) != SCHED_MATCH_ACCEPT)
			r = SCHED_MATCH_UNFULFILLED_CONSTRAINT;
		p->reason[i] = r;
	}

	while (placed < req->count && p->n_heap > 0) {
		size_t i = heap_pop(p);
		enum sched_match_verdict v = ask(p, hook, i, total);
		struct agent *a = &p->agents[i];

		if (v != SCHED_MATCH_ACCEPT) {
			p->reason[i] = SCHED_MATCH_UNFULFILLED_CONSTRAINT;
			if (v == SCHED_MATCH_REJECT)
				p->deferred[p->n_deferred++] = i;
			continue;
		}
		consume(a, &n, ports_r != NULL ?
		        ports_r + (size_t)placed * n.n_host_ports : NULL);
		offer_index_r[placed++] = i;
		p->load[i]++;
		p->placed_run[i]++;
		total++;
		if (hook != NULL && hook->placed != NULL)
			hook->placed(hook->arg, i);
		if (resources_fit(a, &n) == SCHED_MATCH_FITS)
			heap_push(p, i);
		/* Something changed: what was refused for now may be
		 * accepted (GROUP_BY filling the other groups first). */
		while (p->n_deferred > 0)
			heap_push(p, p->deferred[--p->n_deferred]);
	}

	if (req->stats != NULL)
		record(p, req->stats, req->now_ms);
	*placed_r = placed;
	return 0;
}
