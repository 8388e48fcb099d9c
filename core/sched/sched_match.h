/*
 * sched_match: the offer matcher.  For one app that needs COUNT more
 * instances and the current offers (one per agent, driver_offers()), decide
 * where each instance goes and which host ports it gets, and keep the
 * statistics that GET /v2/queue shows as processedOffersSummary (reference
 * 1.6; Marathon's OfferMatchStatistics, QueueInfoConversion.scala).
 *
 * Placement policy.  Marathon fills offers in the order they arrive, so a
 * burst of instances lands on whichever agents offered first.  Here every
 * instance goes to the least-loaded agent that fits: the one with the
 * fewest instances of this app on it (those the caller says exist plus
 * those placed in this run), ties broken by offer order.  So 10 instances
 * on 10 equal agents get one each, and scaling up tops up the emptiest
 * agents first.  Agents sit in a binary heap keyed by (load, offer index):
 * a placement costs O(log agents), not a rescan of every agent.
 *
 * Checks, in Marathon's reason funnel order (NoOfferMatchReason.reasonFunnel,
 * 1.10): the reason an unused offer is counted under is the FIRST check that
 * fails in this order, whatever fails after it.
 *   UnfulfilledRole, UnfulfilledConstraint, NoCorrespondingReservationFound,
 *   AgentMaintenance, InsufficientCpus, InsufficientMemory, InsufficientDisk,
 *   InsufficientGpus, InsufficientPorts, DeclinedScarceResources
 * The driver has no roles, reservations, maintenance windows or GPUs (an
 * offer has 0 GPUs), so of these only UnfulfilledConstraint, the
 * Insufficient* reasons and InsufficientGpus for an app asking for GPUs can
 * occur; the others are kept so that the summaries list every reason as
 * Marathon does.
 *
 * Resources are compared in thousandths (Mesos' fixed point for scalars),
 * so 10 x 0.1 cpus fit exactly in 1 cpu.
 *
 * What counts as a processed offer, per run: an agent that got at least one
 * instance is a used offer; an agent that failed a check (and got none) is
 * an unused offer with its reason; an agent that would have fitted but was
 * not needed (COUNT was reached first) is not processed at all, as in
 * Marathon an offer arriving after the launch is done is not matched
 * against the app.
 *
 * Not thread-safe: the loop thread owns everything here.
 */
#ifndef STADION_SCHED_MATCH_H
#define STADION_SCHED_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "driver/driver.h"

struct app;

/* In Marathon's funnel order; the value is the index in the summaries. */
enum sched_match_reason {
	SCHED_MATCH_UNFULFILLED_ROLE,
	SCHED_MATCH_UNFULFILLED_CONSTRAINT,
	SCHED_MATCH_NO_RESERVATION,
	SCHED_MATCH_AGENT_MAINTENANCE,
	SCHED_MATCH_INSUFFICIENT_CPUS,
	SCHED_MATCH_INSUFFICIENT_MEMORY,
	SCHED_MATCH_INSUFFICIENT_DISK,
	SCHED_MATCH_INSUFFICIENT_GPUS,
	SCHED_MATCH_INSUFFICIENT_PORTS,
	SCHED_MATCH_DECLINED_SCARCE,
	SCHED_MATCH_N_REASONS,
	SCHED_MATCH_FITS = SCHED_MATCH_N_REASONS, /* no reason: it fits */
};

/* "InsufficientCpus" etc.; static storage; NULL out of range. */
const char *sched_match_reason_name(enum sched_match_reason reason);

/* What one instance needs. */
struct sched_match_demand {
	double cpus, mem, disk;  /* mem and disk in MiB */
	int64_t gpus;
	/* The host ports, in the app's order (PORT0, PORT1, ...): 0 means any
	 * free port of the offer (the lowest is taken), another number that
	 * very port.  Borrowed for the duration of sched_match_run(). */
	const uint32_t *host_ports;
	size_t n_host_ports;
};

/* Fill DEMAND from APP: cpus, mem, disk, gpus and the host ports (host
 * networking: one per port definition, its number with requirePorts and 0
 * without; otherwise one per port mapping with a hostPort, its number or
 * 0).  The port array is malloc'd and owned by DEMAND: release it with
 * sched_match_demand_release().  0 or -ENOMEM. */
int sched_match_demand_from_app(const struct app *app,
                                struct sched_match_demand *demand_r);
void sched_match_demand_release(struct sched_match_demand *demand);

/* One constraint decision: may one more instance go to this agent? */
enum sched_match_verdict {
	SCHED_MATCH_ACCEPT,
	/* Not now, but maybe after other instances of this run are placed
	 * (GROUP_BY waiting for the other groups): asked again after the next
	 * placement. */
	SCHED_MATCH_REJECT,
	/* Not in this run, whatever else is placed (LIKE, IS, CLUSTER with a
	 * value, UNIQUE once taken): not asked again.  Prefer it when true,
	 * it saves decisions. */
	SCHED_MATCH_REJECT_FINAL,
};

/* What the hook sees; borrowed for the duration of the call. */
struct sched_match_view {
	size_t offer_index;              /* into the pool's offers */
	const struct driver_offer *offer;
	uint32_t placed_here;            /* app instances on this agent */
	uint32_t placed_total;           /* app instances on all agents */
	const uint32_t *placed;          /* per offer index, n_offers long */
	size_t n_offers;
};

/* The constraint hook (the constraint plugins plug in here).  ACCEPT may
 * not place anything itself; PLACED (optional) is told of every placement
 * of the run as it happens, so that the hook can keep per-value counts up
 * to date instead of rescanning VIEW->placed.  ARG is the caller's. */
struct sched_match_hook {
	enum sched_match_verdict (*accept)(void *arg,
	                                   const struct sched_match_view *view);
	void (*placed)(void *arg, size_t offer_index);
	void *arg;
};

/* The last unused offer of one agent, for rejectSummaryLastOffers. */
struct sched_match_last {
	char *agent_id;                 /* owned; NULL for a free slot */
	enum sched_match_reason reason;
	int64_t at_ms;
};

/* Per app (per launch attempt): what processedOffersSummary shows.  Zero
 * it with sched_match_stats_init(); it owns its table of agents. */
struct sched_match_stats {
	int64_t processed_offers;        /* processedOffersCount */
	int64_t unused_offers;           /* unusedOffersCount */
	int64_t last_unused_offer_at_ms; /* lastUnusedOfferAt, -1 = none */
	int64_t last_used_offer_at_ms;   /* lastUsedOfferAt, -1 = none */
	/* rejectSummaryLaunchAttempt: every unused offer since the start */
	int64_t launch_attempt[SCHED_MATCH_N_REASONS];
	/* rejectSummaryLastOffers: the last unused offer per agent; as in
	 * Marathon a later used offer does not remove an agent's entry.
	 * Open addressing, power-of-two capacity. */
	struct sched_match_last *last;
	size_t n_last, cap_last;
};

void sched_match_stats_init(struct sched_match_stats *stats);
/* Frees what STATS owns and zeroes it again (Marathon's launchFinished).
 * NULL-safe. */
void sched_match_stats_reset(struct sched_match_stats *stats);
/* The per-reason counts of the agents' last unused offers. */
void sched_match_stats_last_summary(const struct sched_match_stats *stats,
                                    int64_t counts_r[SCHED_MATCH_N_REASONS],
                                    int64_t *n_agents_r);
/* The "processedOffersSummary" object: both summaries list every reason in
 * funnel order as {"reason","declined","processed"}, where processed is
 * the offers that reached that step (the total minus those declined by the
 * steps before), the timestamps are left out while unset.  A new reference
 * or NULL when out of memory. */
struct json_object *sched_match_stats_to_json(
	const struct sched_match_stats *stats);

/* The working copy of one round of offers: free resources in fixed point,
 * port ranges that placements cut, and the scratch space of a run, so that
 * runs allocate nothing per placement.  Several apps may be matched one
 * after the other against one pool; each sees what the previous left. */
struct sched_match_pool;

/* OFFERS (N of them) are borrowed and must outlive the pool; they are not
 * changed.  NULL when out of memory.  The caller owns the pool. */
struct sched_match_pool *sched_match_pool_new(const struct driver_offer *offers,
                                              size_t n);
/* NULL-safe. */
void sched_match_pool_free(struct sched_match_pool *pool);
size_t sched_match_pool_size(const struct sched_match_pool *pool);

/* What is left of offer I. */
struct sched_match_remaining {
	double cpus, mem, disk;
	uint64_t free_ports;
};
void sched_match_pool_remaining(const struct sched_match_pool *pool, size_t i,
                                struct sched_match_remaining *rem_r);
/* Whether offer I still has port PORT free. */
bool sched_match_pool_port_free(const struct sched_match_pool *pool, size_t i,
                                uint32_t port);

struct sched_match_request {
	const struct sched_match_demand *demand;
	uint32_t count;                  /* instances wanted */
	const uint32_t *existing;        /* per offer: app instances already
	                                  * there; NULL = none */
	const struct sched_match_hook *hook; /* NULL: no constraints */
	struct sched_match_stats *stats; /* NULL: not recorded */
	int64_t now_ms;                  /* for the stats' timestamps */
};

/* Place up to REQ->count instances.  Placement j goes to offer
 * OFFER_INDEX_R[j] with host ports PORTS_R[j * n_host_ports ...] in the
 * demand's order; the caller provides both arrays, COUNT and COUNT *
 * n_host_ports long (PORTS_R may be NULL when the ports are not wanted).
 * The pool is consumed accordingly.  *PLACED_R is how many were placed
 * (fewer than COUNT when offers ran out).  A COUNT of 0 looks at nothing
 * and records nothing.  0, or -ENOMEM (nothing consumed, no stats
 * recorded). */
int sched_match_run(struct sched_match_pool *pool,
                    const struct sched_match_request *req,
                    size_t *offer_index_r, uint32_t *ports_r,
                    uint32_t *placed_r);

#endif /* STADION_SCHED_MATCH_H */
