/*
 * test_upgrade_rolling: the "rolling" upgrade strategy
 * (plugins/upgrade/rolling), loaded from the built .so through the real
 * loader and driven by a small simulated app.
 *
 * The simulator plays stadiond's part of <stadion/upgrade.h>: on every tick
 * it applies what happened since the previous one, describes the step,
 * calls step() and carries out the decision.  Its world is deliberately
 * simple and deterministic:
 *   - a decommissioned old instance is terminal on the next tick;
 *   - a new instance turns healthy and ready HEALTH_DELAY ticks after it
 *     was queued (or fails instead, when the scenario says so);
 *   - victims are picked unhealthy first, then oldest first.
 *
 * The expected sequences for the small cases were worked out by hand from
 * TaskReplaceActor.scala (reference 3.2), not from the plugin; each table
 * row is one tick: the view (old active, new started, new healthy) and the
 * decision (kill, start).  The last row is the tick on which the step is
 * done (no decision).  A sweep then checks the invariants over many shapes.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>

#include <stadion/upgrade.h>

#include "lib/cu_run.h"
#include "log.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"

#ifndef ROLLING_SO
#error "ROLLING_SO must name the built upgrade_rolling.so"
#endif

/* ------------------------------------------------------------------------
 * The plugin, loaded once for the whole suite
 * ------------------------------------------------------------------------ */

static struct event_base *base;
static struct plugin_host *host;
static struct plugin_set *set;
static const struct plugin *rolling;
static const struct stadion_upgrade_ops *ops;

static int suite_init(void)
{
	/* The strategy's begin() logs at debug level: keep that off the
	 * test output. */
	log_set_level(LOG_LVL_INFO);
	base = event_base_new();
	host = base != NULL ? plugin_host_new(base) : NULL;
	set = host != NULL ? plugin_set_new(host, NULL) : NULL;
	if (set == NULL || plugin_set_load_file(set, ROLLING_SO) != 0) {
		fprintf(stderr, "cannot load %s\n", ROLLING_SO);
		return 1;
	}
	rolling = plugin_set_find(set, STADION_PLUGIN_KIND_UPGRADE, "rolling");
	if (rolling == NULL)
		return 1;
	ops = rolling->ops;
	return 0;
}

static int suite_clean(void)
{
	plugin_set_free(set);
	plugin_host_free(host);
	if (base != NULL)
		event_base_free(base);
	return 0;
}

static void test_loaded(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rolling);
	CHECK_STR(rolling->name, "rolling");
	CHECK_INT(rolling->kind, STADION_PLUGIN_KIND_UPGRADE);
	CHECK_INT(rolling->ops_size, sizeof(struct stadion_upgrade_ops));
	CHECK(ops->begin != NULL);
	CHECK(ops->step != NULL);
	CHECK(ops->end != NULL);
}

/* ------------------------------------------------------------------------
 * The simulated app
 * ------------------------------------------------------------------------ */

#define MAX_INST  128
#define MAX_TICKS 400
#define NEVER     (-1)

enum inst_state { ST_ACTIVE, ST_KILLING, ST_TERMINAL };

struct inst {
	bool is_new;
	enum inst_state st;
	bool healthy;    /* and ready */
	int healthy_at;  /* tick it turns healthy, or NEVER */
	int fail_at;     /* tick it turns terminal by itself, or NEVER */
};

struct scenario {
	const char *name;
	uint32_t n;             /* target */
	uint32_t old;           /* old instances at the start, all running */
	uint32_t old_unhealthy; /* of those, unhealthy (the first ones) */
	uint32_t new_healthy;   /* new ones a previous leader started */
	double mhc, moc;
	bool resident;
	/* Zero means the default for the three below. */
	int health_delay;       /* ticks from queued to healthy; 0: 1 */
	int fail_new;           /* the Kth new instance queued (1-based)
	                         * fails instead of turning healthy; 0: none */
	int old_dies_at;        /* old instance 0 dies by itself at this tick
	                         * (when still running); 0: never */
};

/* One tick: the view's counts and the decision. */
struct row {
	uint32_t old_active, new_started, new_healthy, kill, start;
};

struct trace {
	struct row rows[MAX_TICKS];
	int n_rows;             /* ticks run, including the done tick */
	bool done;
	uint32_t max_total;     /* most old active + new started after a
	                         * decision */
	uint32_t max_total_launch; /* same, on ticks that started some */
	long min_healthy;       /* least old running healthy + new healthy
	                         * after a decision */
	uint32_t new_queued;    /* new instances ever queued */
	uint32_t kill_asked;    /* sum of kill_old */
	bool rc_failed;
	bool stalled;           /* nothing pending and nothing decided:
	                         * no later tick can differ */
};

struct sim {
	struct inst inst[MAX_INST];
	int n_inst;
	uint32_t decommissioned;
	int new_index; /* new instances queued so far by the step */
};

static void sim_add(struct sim *s, bool is_new, bool healthy, int healthy_at,
                    int fail_at)
{
	CU_ASSERT_FATAL(s->n_inst < MAX_INST);
	s->inst[s->n_inst++] = (struct inst){
		.is_new = is_new,
		.st = ST_ACTIVE,
		.healthy = healthy,
		.healthy_at = healthy_at,
		.fail_at = fail_at,
	};
}

/* What changed since the previous tick; returns the new instances that
 * became healthy and ready. */
static uint32_t sim_advance(struct sim *s, int tick)
{
	uint32_t ready = 0;

	for (int i = 0; i < s->n_inst; i++) {
		struct inst *in = &s->inst[i];

		if (in->st == ST_KILLING) {
			in->st = ST_TERMINAL;
			in->healthy = false;
		} else if (in->st == ST_ACTIVE && in->fail_at == tick) {
			in->st = ST_TERMINAL;
			in->healthy = false;
		} else if (in->st == ST_ACTIVE && in->healthy_at == tick &&
		           !in->healthy) {
			in->healthy = true;
			ready++;
		}
	}
	return ready;
}

static void sim_view(const struct sim *s, const struct scenario *sc,
                     int tick, uint32_t ready,
                     struct stadion_upgrade_view *v)
{
	*v = (struct stadion_upgrade_view){
		.size = sizeof(*v),
		.flags = (tick == 0 ? STADION_UPGRADE_F_FIRST : 0) |
		         (sc->resident ? STADION_UPGRADE_F_RESIDENT : 0),
		.target = sc->n,
		.old_decommissioned = s->decommissioned,
		.new_ready = ready,
		.minimum_health_capacity = sc->mhc,
		.maximum_over_capacity = sc->moc,
	};
	for (int i = 0; i < s->n_inst; i++) {
		const struct inst *in = &s->inst[i];

		if (in->st == ST_TERMINAL)
			continue;
		if (!in->is_new) {
			v->old_active++;
			if (in->st == ST_ACTIVE) {
				v->old_running++;
				v->old_healthy += in->healthy;
			}
		} else {
			v->new_started++;
			v->new_healthy += in->healthy;
		}
	}
}

/* Decommission the next old instance: unhealthy first, then oldest. */
static void sim_kill_one(struct sim *s)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < s->n_inst; i++) {
			struct inst *in = &s->inst[i];

			if (!in->is_new && in->st == ST_ACTIVE &&
			    (pass == 1 || !in->healthy)) {
				in->st = ST_KILLING;
				s->decommissioned++;
				return;
			}
		}
	CU_FAIL("kill_old exceeded old_running");
}

/* Anything still to happen by itself after TICK? */
static bool sim_pending(const struct sim *s, int tick)
{
	for (int i = 0; i < s->n_inst; i++) {
		const struct inst *in = &s->inst[i];

		if (in->st == ST_KILLING ||
		    (in->st == ST_ACTIVE &&
		     ((in->healthy_at > tick && !in->healthy) ||
		      in->fail_at > tick)))
			return true;
	}
	return false;
}

/* Old instances still meant to run that are healthy, plus healthy new. */
static long sim_healthy(const struct sim *s)
{
	long h = 0;

	for (int i = 0; i < s->n_inst; i++)
		h += s->inst[i].st == ST_ACTIVE && s->inst[i].healthy;
	return h;
}

static void run(const struct scenario *sc, struct trace *t)
{
	struct sim s = {.n_inst = 0};
	struct stadion_err err = {.code = 0};
	void *step = NULL;

	memset(t, 0, sizeof(*t));
	t->min_healthy = LONG_MAX;
	for (uint32_t i = 0; i < sc->old; i++)
		sim_add(&s, false, i >= sc->old_unhealthy, NEVER,
		        i == 0 && sc->old_dies_at > 0 ? sc->old_dies_at
		                                      : NEVER);
	for (uint32_t i = 0; i < sc->new_healthy; i++)
		sim_add(&s, true, true, NEVER, NEVER);

	for (int tick = 0; tick < MAX_TICKS; tick++) {
		struct stadion_upgrade_view v;
		struct stadion_upgrade_decision d;
		struct row *r = &t->rows[tick];
		uint32_t ready = tick == 0 ? 0 : sim_advance(&s, tick);

		sim_view(&s, sc, tick, ready, &v);
		*r = (struct row){v.old_active, v.new_started, v.new_healthy,
		                  0, 0};
		t->n_rows = tick + 1;
		if (tick == 0 && ops->begin(rolling->state, &v, &step,
		                            &err) != 0) {
			t->rc_failed = true;
			return;
		}
		/* stadiond's checkFinished(). */
		if (v.new_healthy == sc->n && v.old_active == 0) {
			t->done = true;
			break;
		}
		d = (struct stadion_upgrade_decision){.size = sizeof(d)};
		if (ops->step(rolling->state, step, &v, &d, &err) != 0) {
			t->rc_failed = true;
			break;
		}
		r->kill = d.kill_old;
		r->start = d.start_new;
		t->kill_asked += d.kill_old;
		if (!CHECK(d.kill_old <= v.old_running))
			break;
		for (uint32_t i = 0; i < d.kill_old; i++)
			sim_kill_one(&s);
		for (uint32_t i = 0; i < d.start_new; i++) {
			bool fails = ++s.new_index == sc->fail_new;
			int at = tick + (sc->health_delay > 0 ? sc->health_delay
			                                      : 1);

			sim_add(&s, true, false, fails ? NEVER : at,
			        fails ? at : NEVER);
		}
		t->new_queued += d.start_new;
		{
			uint32_t total = v.old_active + v.new_started +
			                 d.start_new;
			long h = sim_healthy(&s);

			if (total > t->max_total)
				t->max_total = total;
			if (d.start_new > 0 && total > t->max_total_launch)
				t->max_total_launch = total;
			if (h < t->min_healthy)
				t->min_healthy = h;
		}
		if (d.kill_old == 0 && d.start_new == 0 &&
		    !sim_pending(&s, tick)) {
			t->stalled = true;
			break;
		}
	}
	ops->end(rolling->state, step);
}

static void dump_trace(const struct scenario *sc, const struct trace *t)
{
	fprintf(stderr, "\n    %s: %d tick(s)%s\n", sc->name, t->n_rows,
	        t->done ? ", done" : "");
	for (int i = 0; i < t->n_rows && i < 40; i++)
		fprintf(stderr, "      t%-2d old %2u new %2u healthy %2u | "
		        "kill %2u start %2u\n", i, t->rows[i].old_active,
		        t->rows[i].new_started, t->rows[i].new_healthy,
		        t->rows[i].kill, t->rows[i].start);
}

/* ------------------------------------------------------------------------
 * Hand-written sequences
 * ------------------------------------------------------------------------ */

#define ROWS_MAX 24

struct expect {
	struct scenario sc;
	struct row rows[ROWS_MAX];
	int n_rows; /* including the done tick */
};

/* Row: view old active, new started, new healthy | decision kill, start.
 * The done tick has no decision: D(old, new, healthy). */
#define R(o, s, h, k, l) {o, s, h, k, l}
#define D(o, s, h)       {o, s, h, 0, 0}
#define SC(name_, n_, old_, mhc_, moc_)                                     \
	.name = (name_), .n = (n_), .old = (old_), .mhc = (mhc_),           \
	.moc = (moc_)

static const struct expect expected[] = {
	/* {1,1}: minHealthy 3, maxCapacity 6, killNow 0: start 3 new, then
	 * one old per ready new. */
	{{SC("N=3 {1,1}", 3, 3, 1.0, 1.0)},
	 {R(3, 0, 0, 0, 3), R(3, 3, 3, 3, 0), D(0, 3, 3)}, 3},
	/* {1,0}: minHealthy == maxCapacity == 3 <= H: capacity bumped to 4,
	 * one at a time. */
	{{SC("N=3 {1,0}", 3, 3, 1.0, 0.0)},
	 {R(3, 0, 0, 0, 1), R(3, 1, 1, 1, 0), R(2, 1, 1, 0, 1),
	  R(2, 2, 2, 1, 0), R(1, 2, 2, 0, 1), R(1, 3, 3, 1, 0),
	  D(0, 3, 3)}, 7},
	/* {0,0}: killNow 3, no room: kill all old first. */
	{{SC("N=3 {0,0}", 3, 3, 0.0, 0.0)},
	 {R(3, 0, 0, 3, 0), R(0, 0, 0, 0, 3), D(0, 3, 3)}, 3},
	/* {0,1}: killNow 3 and room for 3 more: everything at once. */
	{{SC("N=3 {0,1}", 3, 3, 0.0, 1.0)},
	 {R(3, 0, 0, 3, 3), D(0, 3, 3)}, 2},
	/* {0.3,1}: minHealthy ceil(0.9) = 1, killNow 2, maxCapacity 6. */
	{{SC("N=3 {0.3,1}", 3, 3, 0.3, 1.0)},
	 {R(3, 0, 0, 2, 3), R(1, 3, 3, 1, 0), D(0, 3, 3)}, 3},
	/* {0.5,0.5}: minHealthy 2, maxCapacity floor(4.5) = 4, killNow 1. */
	{{SC("N=3 {0.5,0.5}", 3, 3, 0.5, 0.5)},
	 {R(3, 0, 0, 1, 1), R(2, 1, 1, 1, 1), R(1, 2, 2, 1, 1),
	  D(0, 3, 3)}, 4},
	/* Resident {1,0}: no over-capacity; killNow = H - minHealthy + 1. */
	{{SC("N=3 {1,0} resident", 3, 3, 1.0, 0.0), .resident = true},
	 {R(3, 0, 0, 1, 0), R(2, 0, 0, 0, 1), R(2, 1, 1, 1, 0),
	  R(1, 1, 1, 0, 1), R(1, 2, 2, 1, 0), R(0, 2, 2, 0, 1),
	  D(0, 3, 3)}, 7},
	/* Scale down during the upgrade, N=2 < C=5, {1,1}: minHealthy 2,
	 * maxCapacity 4, killNow max(5 - 2, 5 - 2) = 3; no room at first. */
	{{SC("N=2 C=5 {1,1}", 2, 5, 1.0, 1.0)},
	 {R(5, 0, 0, 3, 0), R(2, 0, 0, 0, 2), R(2, 2, 2, 2, 0),
	  D(0, 2, 2)}, 4},
	/* N=2 < C=5, {1,0}: bumped to 3, killNow 3. */
	{{SC("N=2 C=5 {1,0}", 2, 5, 1.0, 0.0)},
	 {R(5, 0, 0, 3, 0), R(2, 0, 0, 0, 1), R(2, 1, 1, 1, 0),
	  R(1, 1, 1, 0, 1), R(1, 2, 2, 1, 0), D(0, 2, 2)}, 6},
	/* N < C rule beyond killNow: N=2, C=4, one old unhealthy, {1,0.5}:
	 * H 3, minHealthy 2, maxCapacity 3, killNow max(1, 4 - 2) = 2 (the
	 * unhealthy one and one healthy). */
	{{SC("N=2 C=4 one unhealthy {1,0.5}", 2, 4, 1.0, 0.5),
	  .old_unhealthy = 1},
	 {R(4, 0, 0, 2, 0), R(2, 0, 0, 0, 1), R(2, 1, 1, 1, 0),
	  R(1, 1, 1, 0, 1), R(1, 2, 2, 1, 0), D(0, 2, 2)}, 6},
	/* Scale up during the upgrade: N=5, C=3, {1,0}: minHealthy 5 ==
	 * maxCapacity 5 but 5 > H = 3: no bump, killNow 0, room for 2. */
	{{SC("N=5 C=3 {1,0}", 5, 3, 1.0, 0.0)},
	 {R(3, 0, 0, 0, 2), R(3, 2, 2, 2, 0), R(1, 2, 2, 0, 2),
	  R(1, 4, 4, 1, 0), R(0, 4, 4, 0, 1), D(0, 5, 5)}, 6},
	/* After a leader change: one new instance already healthy, {1,0}:
	 * H 3, bumped to 4, started 1; its readiness came before the step
	 * and kills nothing. */
	{{SC("N=3 {1,0} one new already", 3, 2, 1.0, 0.0),
	  .new_healthy = 1},
	 {R(2, 1, 1, 0, 1), R(2, 2, 2, 1, 0), R(1, 2, 2, 0, 1),
	  R(1, 3, 3, 1, 0), D(0, 3, 3)}, 5},
	/* A new instance fails: it leaves "started" and is replaced. */
	{{SC("N=3 {1,1} first new fails", 3, 3, 1.0, 1.0), .fail_new = 1},
	 {R(3, 0, 0, 0, 3), R(3, 2, 2, 2, 1), R(1, 3, 3, 1, 0),
	  D(0, 3, 3)}, 4},
	/* Marathon's stall: {1,0} with one old unhealthy, H 2 < maxCapacity
	 * 3: no bump, killNow 0, no room; nothing moves until the unhealthy
	 * old instance dies by itself (tick 2). */
	{{SC("N=3 {1,0} unhealthy old stalls", 3, 3, 1.0, 0.0),
	  .old_unhealthy = 1, .old_dies_at = 2},
	 {R(3, 0, 0, 0, 0), R(3, 0, 0, 0, 0), R(2, 0, 0, 0, 1),
	  R(2, 1, 1, 1, 0), R(1, 1, 1, 0, 1), R(1, 2, 2, 1, 0),
	  R(0, 2, 2, 0, 1), D(0, 3, 3)}, 8},
	/* N=10 {1,1}: 10 at once, then 10 kills. */
	{{SC("N=10 {1,1}", 10, 10, 1.0, 1.0)},
	 {R(10, 0, 0, 0, 10), R(10, 10, 10, 10, 0), D(0, 10, 10)}, 3},
	/* N=10 {0,0}. */
	{{SC("N=10 {0,0}", 10, 10, 0.0, 0.0)},
	 {R(10, 0, 0, 10, 0), R(0, 0, 0, 0, 10), D(0, 10, 10)}, 3},
	/* N=10 {0,1}. */
	{{SC("N=10 {0,1}", 10, 10, 0.0, 1.0)},
	 {R(10, 0, 0, 10, 10), D(0, 10, 10)}, 2},
	/* N=10 {0.3,1}: minHealthy 3, killNow 7, maxCapacity 20. */
	{{SC("N=10 {0.3,1}", 10, 10, 0.3, 1.0)},
	 {R(10, 0, 0, 7, 10), R(3, 10, 10, 3, 0), D(0, 10, 10)}, 3},
	/* Marathon's double arithmetic: 25 * 0.28 is 7.000000000000001, so
	 * minHealthy is 8, not 7; 25 * 1.16 is 28.999999999999996, so
	 * maxCapacity is 28, not 29.  killNow 17, room for 3. */
	{{SC("N=25 {0.28,0.16}", 25, 25, 0.28, 0.16)},
	 {R(25, 0, 0, 17, 3), R(8, 3, 3, 3, 17), R(5, 20, 20, 5, 3),
	  R(0, 23, 23, 0, 2), D(0, 25, 25)}, 5},
	/* N=10 {0.5,0.5}: minHealthy 5, maxCapacity 15, killNow 5. */
	{{SC("N=10 {0.5,0.5}", 10, 10, 0.5, 0.5)},
	 {R(10, 0, 0, 5, 5), R(5, 5, 5, 5, 5), D(0, 10, 10)}, 3},
};

static void test_sequences(void)
{
	static struct trace t;

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct expect *e = &expected[i];
		bool ok;

		run(&e->sc, &t);
		ok = !t.rc_failed && t.done && t.n_rows == e->n_rows;
		for (int j = 0; ok && j < e->n_rows; j++)
			ok = memcmp(&t.rows[j], &e->rows[j],
			            sizeof(struct row)) == 0;
		if (!CHECK(ok)) {
			dump_trace(&e->sc, &t);
			fprintf(stderr, "    expected:\n");
			for (int j = 0; j < e->n_rows; j++)
				fprintf(stderr, "      t%-2d old %2u new %2u "
				        "healthy %2u | kill %2u start %2u\n",
				        j, e->rows[j].old_active,
				        e->rows[j].new_started,
				        e->rows[j].new_healthy,
				        e->rows[j].kill, e->rows[j].start);
		}
	}
}

/* N=10 {1,0}: bumped to 11, strictly one at a time: a launch tick, then a
 * kill tick, 20 ticks in all. */
static void test_n10_one_at_a_time(void)
{
	static const struct scenario sc = {SC("N=10 {1,0}", 10, 10, 1.0,
	                                      0.0)};
	static struct trace t;
	bool ok;

	run(&sc, &t);
	ok = t.done && t.n_rows == 21;
	for (uint32_t k = 0; ok && k < 10; k++) {
		struct row launch = R(10 - k, k, k, 0, 1);
		struct row kill = R(10 - k, k + 1, k + 1, 1, 0);

		ok = memcmp(&t.rows[2 * k], &launch, sizeof(launch)) == 0 &&
		     memcmp(&t.rows[2 * k + 1], &kill, sizeof(kill)) == 0;
	}
	if (ok) {
		struct row done = D(0, 10, 10);

		ok = memcmp(&t.rows[20], &done, sizeof(done)) == 0;
	}
	if (!CHECK(ok))
		dump_trace(&sc, &t);
	CHECK_INT(t.max_total, 11);
	CHECK_INT(t.min_healthy, 10);
}

/* ------------------------------------------------------------------------
 * Invariants over many shapes
 * ------------------------------------------------------------------------ */

/* The reference numbers, computed here independently of the plugin. */
struct reference {
	long min_healthy, max_capacity, h;
	bool bumped;
};

static struct reference reference_of(const struct scenario *sc)
{
	struct reference r;
	double mh = (double)sc->n * sc->mhc;
	double mc = (double)sc->n * (1.0 + sc->moc);

	r.min_healthy = (long)mh;
	if ((double)r.min_healthy < mh)
		r.min_healthy++;
	r.max_capacity = (long)mc;
	r.h = (long)(sc->old - sc->old_unhealthy) + (long)sc->new_healthy;
	r.bumped = r.min_healthy == r.max_capacity && r.max_capacity <= r.h;
	if (r.bumped && !sc->resident)
		r.max_capacity++;
	return r;
}

static void test_invariants(void)
{
	static const double strategies[][2] = {
		{0, 1}, {1, 1}, {0.3, 1}, {1, 0}, {0, 0}, {0.5, 0.5},
		{0.7, 0}, {1, 0.5}, {0.9, 0.1}, {0.25, 0.25},
	};
	static const uint32_t targets[] = {1, 2, 3, 5, 10};
	static struct trace t;
	int runs = 0, failures = 0, stalls = 0;

	for (size_t si = 0; si < sizeof(strategies) / sizeof(strategies[0]);
	     si++)
	for (size_t ni = 0; ni < sizeof(targets) / sizeof(targets[0]); ni++)
	for (uint32_t old = 0; old <= targets[ni] + 3; old++)
	for (int unhealthy = 0; unhealthy <= (old > 0); unhealthy++)
	for (int resident = 0; resident <= 1; resident++)
	for (int delay = 1; delay <= 3; delay++) {
		struct scenario sc = {
			SC("sweep", targets[ni], old, strategies[si][0],
			   strategies[si][1]),
			.old_unhealthy = (uint32_t)unhealthy,
			.resident = resident,
			.health_delay = delay,
			/* An unhealthy old instance may stall the step
			 * (Marathon does too) until it dies by itself. */
			.old_dies_at = unhealthy ? 5 : 0,
		};
		struct reference ref = reference_of(&sc);
		long floor_healthy = ref.min_healthy < ref.h ? ref.min_healthy
		                                             : ref.h;
		bool ok;

		if (sc.resident && ref.bumped)
			floor_healthy--; /* Marathon's resident exception */
		run(&sc, &t);
		runs++;
		/* Healthy old instances: it always ends.  With an unhealthy
		 * one Marathon may stall (pinned in the tables); the
		 * invariants hold either way. */
		ok = !t.rc_failed && (t.done || (unhealthy && t.stalled));
		stalls += t.stalled;
		/* Never more than N new queued: nothing failed. */
		ok = ok && (t.done ? t.new_queued == sc.n
		                   : t.new_queued <= sc.n);
		/* No launch takes the app past maxCapacity. */
		ok = ok && t.max_total_launch <= ref.max_capacity;
		/* Nor does anything else, beyond where it started. */
		ok = ok && t.max_total <= (ref.max_capacity > (long)old
		                                   ? (uint32_t)ref.max_capacity
		                                   : old);
		/* minimumHealthCapacity holds while it can. */
		ok = ok && (t.min_healthy == LONG_MAX ||
		            t.min_healthy >= floor_healthy);
		if (!ok) {
			failures++;
			if (failures <= 5) {
				fprintf(stderr, "\n    N=%u old=%u unhealthy=%d "
				        "{%g,%g} resident=%d delay=%d: "
				        "queued %u, max %u/%u (cap %ld), "
				        "least healthy %ld (floor %ld)",
				        sc.n, old, unhealthy, sc.mhc, sc.moc,
				        resident, delay, t.new_queued,
				        t.max_total, t.max_total_launch,
				        ref.max_capacity, t.min_healthy,
				        floor_healthy);
				dump_trace(&sc, &t);
			}
		}
	}
	CHECK_INT(failures, 0);
	CHECK(runs > 1000);
	/* Stalls stay the exception. */
	CHECK(stalls < runs / 10);
	fprintf(stderr, "%d runs, %d stalled (an unhealthy old instance; "
	        "the reference algorithm stalls there too) ... ", runs,
	        stalls);
}

/* ------------------------------------------------------------------------
 * begin() and step() at the edges
 * ------------------------------------------------------------------------ */

static void test_rejects_bad_strategy(void)
{
	static const double bad[][2] = {
		{1.5, 0}, {-0.1, 0}, {0, 1.01}, {0, -1}, {NAN, 0}, {0, NAN},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stadion_upgrade_view v = {
			.size = sizeof(v),
			.flags = STADION_UPGRADE_F_FIRST,
			.target = 3,
			.old_active = 3,
			.old_running = 3,
			.old_healthy = 3,
			.minimum_health_capacity = bad[i][0],
			.maximum_over_capacity = bad[i][1],
		};
		struct stadion_err err = {.code = 0};
		void *step = &err;

		CHECK_INT(ops->begin(rolling->state, &v, &step, &err),
		          STADION_EINVAL);
		CHECK_INT(err.code, STADION_EINVAL);
		CHECK(strstr(err.msg, "must be between 0 and 1") != NULL);
		/* Nothing written on failure. */
		CHECK(step == &err);
	}
}

static void test_step_without_begin(void)
{
	struct stadion_upgrade_view v = {.size = sizeof(v), .target = 1};
	struct stadion_upgrade_decision d = {.size = sizeof(d)};
	struct stadion_err err = {.code = 0};

	CHECK_INT(ops->step(rolling->state, NULL, &v, &d, &err),
	          STADION_EINVAL);
	CHECK_STR(err.msg, "step() without a successful begin()");
}

/* Kills come from the first tick and from new_ready only, never more than
 * there are old instances running; launches only when there is room. */
static void test_step_clamps(void)
{
	struct stadion_upgrade_view v = {
		.size = sizeof(v),
		.flags = STADION_UPGRADE_F_FIRST,
		.target = 4,
		.old_active = 4,
		.old_running = 4,
		.old_healthy = 4,
		.minimum_health_capacity = 0.5,
		.maximum_over_capacity = 0,
	};
	struct stadion_upgrade_decision d = {.size = sizeof(d)};
	struct stadion_err err = {.code = 0};
	void *step = NULL;

	/* minHealthy 2, maxCapacity 4, killNow 2. */
	CU_ASSERT_FATAL(ops->begin(rolling->state, &v, &step, &err) == 0);
	CHECK(ops->step(rolling->state, step, &v, &d, &err) == 0);
	CHECK_INT(d.kill_old, 2);
	CHECK_INT(d.start_new, 0);

	/* Not the first tick: killNow is not repeated. */
	v.flags = 0;
	v.old_running = 2;
	d = (struct stadion_upgrade_decision){.size = sizeof(d)};
	CHECK(ops->step(rolling->state, step, &v, &d, &err) == 0);
	CHECK_INT(d.kill_old, 0);
	CHECK_INT(d.start_new, 0);

	/* More ready than old left: only what is running. */
	v.old_active = 1;
	v.old_running = 1;
	v.new_started = 3;
	v.new_healthy = 3;
	v.new_ready = 3;
	d = (struct stadion_upgrade_decision){.size = sizeof(d)};
	CHECK(ops->step(rolling->state, step, &v, &d, &err) == 0);
	CHECK_INT(d.kill_old, 1);
	CHECK_INT(d.start_new, 0);

	/* Over the target already: start nothing. */
	v.old_active = 0;
	v.old_running = 0;
	v.new_started = 5;
	v.new_ready = 0;
	d = (struct stadion_upgrade_decision){.size = sizeof(d)};
	CHECK(ops->step(rolling->state, step, &v, &d, &err) == 0);
	CHECK_INT(d.kill_old, 0);
	CHECK_INT(d.start_new, 0);
	ops->end(rolling->state, step);
}

static char last_line[512];

static void sink(int level, const char *line, void *arg)
{
	snprintf(last_line, sizeof(last_line), "%s", line);
}

/* begin() says what it computed, at debug level, through the host. */
static void test_begin_logs(void)
{
	struct stadion_upgrade_view v = {
		.size = sizeof(v), .flags = STADION_UPGRADE_F_FIRST,
		.target = 3, .old_active = 3, .old_running = 3,
		.old_healthy = 3, .minimum_health_capacity = 1,
		.maximum_over_capacity = 0,
	};
	struct stadion_err err = {.code = 0};
	void *step = NULL;

	last_line[0] = '\0';
	log_set_level(LOG_LVL_DEBUG);
	log_set_sink(sink, NULL);
	CHECK(ops->begin(rolling->state, &v, &step, &err) == 0);
	ops->end(rolling->state, step);
	v.flags |= STADION_UPGRADE_F_RESIDENT;
	CHECK_STR(last_line, "upgrade rolling: minHealthy 3, maxCapacity 4 "
	                     "(one over, to make progress), killing 0 of 3 "
	                     "healthy (3 current) at once");
	CHECK(ops->begin(rolling->state, &v, &step, &err) == 0);
	ops->end(rolling->state, step);
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_INFO);
	CHECK_STR(last_line, "upgrade rolling: minHealthy 3, maxCapacity 3, "
	                     "killing 1 of 3 healthy (3 current) at once");
}

/* Two steps at once keep separate state. */
static void test_steps_independent(void)
{
	struct stadion_upgrade_view a = {
		.size = sizeof(a), .flags = STADION_UPGRADE_F_FIRST,
		.target = 3, .old_active = 3, .old_running = 3,
		.old_healthy = 3, .minimum_health_capacity = 1,
		.maximum_over_capacity = 0,
	};
	struct stadion_upgrade_view b = a;
	struct stadion_upgrade_decision d = {.size = sizeof(d)};
	struct stadion_err err = {.code = 0};
	void *sa = NULL, *sb = NULL;

	b.maximum_over_capacity = 1;
	CU_ASSERT_FATAL(ops->begin(rolling->state, &a, &sa, &err) == 0);
	CU_ASSERT_FATAL(ops->begin(rolling->state, &b, &sb, &err) == 0);
	CHECK(sa != sb);
	a.flags = b.flags = 0;
	CHECK(ops->step(rolling->state, sa, &a, &d, &err) == 0);
	CHECK_INT(d.start_new, 1); /* maxCapacity 4 */
	d = (struct stadion_upgrade_decision){.size = sizeof(d)};
	CHECK(ops->step(rolling->state, sb, &b, &d, &err) == 0);
	CHECK_INT(d.start_new, 3); /* maxCapacity 6 */
	ops->end(rolling->state, sa);
	ops->end(rolling->state, sb);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"loaded through the loader", test_loaded},
		{"hand-written sequences (N=3, N=10, edges)", test_sequences},
		{"N=10 {1,0} one at a time", test_n10_one_at_a_time},
		{"invariants over a sweep", test_invariants},
		{"begin rejects a bad upgradeStrategy",
		 test_rejects_bad_strategy},
		{"step without begin", test_step_without_begin},
		{"step clamps", test_step_clamps},
		{"steps are independent", test_steps_independent},
		{"begin logs its numbers", test_begin_logs},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"upgrade_rolling", suite_init, suite_clean, NULL, NULL,
		 tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
