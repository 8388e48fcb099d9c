/*
 * sched_place: placement constraints (reference 5) over the constraint
 * plugins (<stadion/constraint.h>).  It validates an app's constraints
 * (operator known, operand compiled by its plugin), keeps the compiled
 * forms, plugs them into the matcher (sched_match_hook) and picks the
 * victims of a scale-down that keep the placement valid (reference 3.3).
 *
 * Compiled constraints are kept per distinct constraint list (field,
 * operator and operand of each, in order), so apps with the same list
 * share one compiled form, and an app compiles once: when it is validated,
 * or, for an app loaded from the state at start-up, on its first launch.
 * Lists are kept until sched_place_free(): there are as many as distinct
 * lists were ever submitted, which stays small in practice.
 *
 * Values of an agent for a field ("hostname", "@zone", "rack_id") are
 * looked up once per field for all agents (the agents of a driver never
 * change), interned to small integers, so that a matching run only counts
 * instances per integer: the operators get the counts of the value, the
 * number of values in use and the smallest group from counters kept up to
 * date in O(1) per placement, never by scanning instances.
 *
 * Not thread-safe: the loop thread owns everything.
 */
#ifndef STADION_SCHED_PLACE_H
#define STADION_SCHED_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "driver/driver.h"
#include "model/model_app.h"
#include "model/model_errors.h"
#include "sched/sched_match.h"

struct plugin_set;
struct sched_place;

/* PLUGINS (its constraint plugins are the operators) and AGENTS (N_AGENTS
 * of them, driver_agents()) are borrowed and must outlive the placement;
 * the offers of later runs must point into AGENTS.  NULL when out of
 * memory. */
struct sched_place *sched_place_new(const struct plugin_set *plugins,
                                    const struct driver_agent *agents,
                                    size_t n_agents);
/* Frees every compiled form (the plugins' free_arg): call it before the
 * plugins are unloaded.  NULL-safe. */
void sched_place_free(struct sched_place *pl);

/* The messages of reference 5 that the host gives (the operators give
 * their own through compile()). */
#define SCHED_PLACE_MSG_NO_FIELD "missing field for constraint declaration"

/* Check APP's constraints: each needs a field, a loaded operator
 * (upper-cased first, as Marathon does) and an operand its plugin
 * compiles.  Errors go to ERRS under ERR_PREFIX + "/constraints(i)": the
 * plugin's message, or for an unknown operator Marathon's list of
 * operators (those loaded) and the name that is not among them.  On
 * success the compiled form is kept for APP's launches.  Returns 0, -1
 * (ERRS says why) or -2 when out of memory. */
int sched_place_validate(struct sched_place *pl, const struct app *app,
                         const char *err_prefix, struct model_errors *errs);

/* One matching run of APP: the hook to put into its sched_match_request.
 * OFFERS (N_OFFERS, borrowed for the run) are the pool's; EXISTING[i] is
 * the app's instances already on offer i's agent (as the request's);
 * COUNT the instances the run may place.  Writes *RUN_R (free it after
 * the run) and *HOOK_R, whose arg is the run.  When APP's constraints
 * cannot be compiled (an operator plugin missing since the app was
 * stored), the hook rejects every agent, so the instances stay queued
 * with UnfulfilledConstraint, and a warning names the constraint once.
 * An app without constraints needs no run: *RUN_R is NULL and HOOK_R
 * untouched.  0, or -ENOMEM. */
struct sched_place_run;
int sched_place_run_new(struct sched_place *pl, const struct app *app,
                        const struct driver_offer *offers, size_t n_offers,
                        const uint32_t *existing, uint32_t count,
                        struct sched_place_run **run_r,
                        struct sched_match_hook *hook_r);
/* NULL-safe. */
void sched_place_run_free(struct sched_place_run *run);

/* Scale-down of APP: N candidates, already in Marathon's victim order
 * (condition, then killSelection), AGENTS[i] the agent of candidate i
 * (NULL when it has none: it goes first, as it runs nowhere).  Writes to
 * ORDER_R (N long) the candidates in the order to kill them: the first
 * N_KILL are the victims.  Each victim is the candidate whose agent the
 * operators' victim_weight() rates highest against the candidates left
 * (GROUP_BY: the largest group), ties in the given order; without such
 * operators the order is the given one.  0, or -ENOMEM (ORDER_R is then
 * the given order). */
int sched_place_victims(struct sched_place *pl, const struct app *app,
                        const struct driver_agent *const *agents, size_t n,
                        size_t n_kill, size_t *order_r);

/* How many times an operator's match() was called: for benchmarks. */
uint64_t sched_place_decisions(const struct sched_place *pl);

#endif /* STADION_SCHED_PLACE_H */
