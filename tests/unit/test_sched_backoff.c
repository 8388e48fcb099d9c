/*
 * test_sched_backoff: the launch-queue rate limiter (core/sched), table
 * driven.  Each case is a strategy and a script of events and checks at
 * given times (milliseconds); the expected numbers were worked out by hand
 * from RateLimiter.scala and QueueInfoConversion.scala (reference 3.6).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "lib/cu_run.h"
#include "sched/sched_backoff.h"

enum op_kind {
	OP_END,
	OP_EVENT,     /* an instance entered .cond at .t */
	OP_CHECK,     /* the delay at .t */
	OP_RESET,     /* DELETE /v2/queue/{id}/delay */
	OP_RESET_APP, /* the app is gone */
	OP_EXPIRE,    /* sweep at .t, .n delays freed */
	OP_COUNT,     /* .n delays held */
};

struct op {
	enum op_kind kind;
	int64_t t;
	const char *cond;   /* OP_EVENT */
	const char *app;    /* NULL: "/app" */
	const char *config; /* NULL: "v1" */
	int rc;             /* OP_EVENT: expected return */
	/* OP_CHECK */
	bool delayed;
	int64_t left_ms;
	int64_t q_left_s;
	bool q_overdue;
	size_t n; /* OP_EXPIRE, OP_COUNT, OP_RESET_APP */
};

#define EV(t_, c_)         {.kind = OP_EVENT, .t = (t_), .cond = (c_)}
#define EVK(t_, c_, a_, v_)                                                 \
	{.kind = OP_EVENT, .t = (t_), .cond = (c_), .app = (a_), .config = (v_)}
/* At T: delayed?, ms left, /v2/queue {timeLeftSeconds, overdue}. */
#define CK(t_, d_, l_, qs_, qo_)                                            \
	{.kind = OP_CHECK, .t = (t_), .delayed = (d_), .left_ms = (l_),     \
	 .q_left_s = (qs_), .q_overdue = (qo_)}
#define CKK(t_, a_, v_, d_, l_, qs_, qo_)                                   \
	{.kind = OP_CHECK, .t = (t_), .app = (a_), .config = (v_),          \
	 .delayed = (d_), .left_ms = (l_), .q_left_s = (qs_),               \
	 .q_overdue = (qo_)}
#define RESET(t_)          {.kind = OP_RESET, .t = (t_)}
#define RESET_APP(a_, n_)  {.kind = OP_RESET_APP, .app = (a_), .n = (n_)}
#define EXPIRE(t_, n_)     {.kind = OP_EXPIRE, .t = (t_), .n = (n_)}
#define COUNT(n_)          {.kind = OP_COUNT, .n = (n_)}

#define S(b_, f_, m_)                                                       \
	{.backoff_seconds = (b_), .factor = (f_),                           \
	 .max_launch_delay_seconds = (m_)}

struct script {
	const char *name;
	struct sched_backoff_strategy strategy;
	int64_t since; /* when the queue entry became launchable */
	struct op ops[24];
};

static const struct script scripts[] = {
	{"defaults: first failure waits backoffSeconds",
	 S(1, 1.15, 300), 0,
	 {EV(0, "Failed"),
	  CK(0, true, 1000, 1, false),
	  /* 0.5 s left shows as 0 s, not yet overdue. */
	  CK(500, true, 500, 0, false),
	  CK(999, true, 1, 0, false),
	  CK(1000, false, 0, 0, false),
	  /* Overdue only once a whole second has passed. */
	  CK(1999, false, 0, 0, false),
	  CK(2000, false, 0, 0, true),
	  CK(60000, false, 0, 0, true)}},
	{"factor 1.15 compounds in nanoseconds, deadlines in whole ms",
	 S(1, 1.15, 300), 0,
	 {EV(0, "TASK_FAILED"),
	  CK(0, true, 1000, 1, false),
	  EV(1000, "Failed"),          /* 1.15 s */
	  CK(1000, true, 1150, 1, false),
	  EV(2150, "Failed"),          /* 1.3225 s: deadline 3472 */
	  CK(2150, true, 1322, 1, false),
	  EV(3472, "Failed"),          /* 1.520875 s: deadline 4992 */
	  CK(3472, true, 1520, 1, false),
	  CK(4992, false, 0, 0, false)}},
	{"factor 2 doubles up to maxLaunchDelay",
	 S(1, 2.0, 10), 0,
	 {EV(0, "Failed"), CK(0, true, 1000, 1, false),
	  EV(1000, "Failed"), CK(1000, true, 2000, 2, false),
	  EV(3000, "Finished"), CK(3000, true, 4000, 4, false),
	  EV(7000, "Error"), CK(7000, true, 8000, 8, false),
	  EV(15000, "Gone"), CK(15000, true, 10000, 10, false),
	  EV(25000, "Dropped"), CK(25000, true, 10000, 10, false),
	  CK(30500, true, 4500, 4, false)}},
	{"backoffSeconds above maxLaunchDelay starts at the maximum",
	 S(10, 2.0, 5), 0,
	 {EV(0, "Failed"), CK(0, true, 5000, 5, false),
	  EV(5000, "Failed"), CK(5000, true, 5000, 5, false)}},
	{"Killed, Killing, Unreachable and unknown states do not back off",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Killed"), EV(0, "TASK_KILLED"), EV(0, "Killing"),
	  EV(0, "Unreachable"), EV(0, "TASK_LOST"), EV(0, "whatever"),
	  CK(0, false, 0, 0, false), COUNT(0)}},
	{"Staging, Starting, Running move the reference time forward",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Failed"),
	  EV(500, "Running"),       /* deadline 500 + 1000 */
	  CK(1200, true, 300, 0, false),
	  EV(1000, "TASK_STAGING"), /* 2000 */
	  CK(1200, true, 800, 0, false),
	  EV(1500, "Starting"),     /* 2500 */
	  CK(2499, true, 1, 0, false),
	  CK(2500, false, 0, 0, false),
	  /* The next failure still doubles the delay. */
	  EV(3000, "Failed"), CK(3000, true, 2000, 2, false)}},
	{"starting without a delay creates none",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Staging"), EV(0, "Created"), EV(0, "TASK_RUNNING"),
	  COUNT(0), CK(0, false, 0, 0, false)}},
	{"now > reference + maxLaunchDelay starts over",
	 S(1, 2.0, 10), 0,
	 {EV(0, "Failed"), EV(1000, "Failed"), /* 2 s from 1000 */
	  EV(11001, "Failed"),                /* run out: 1 s again */
	  CK(11001, true, 1000, 1, false)}},
	{"at exactly reference + maxLaunchDelay it still grows",
	 S(1, 2.0, 10), 0,
	 {EV(0, "Failed"), EV(1000, "Failed"),
	  EV(11000, "Failed"),                /* 4 s */
	  CK(11000, true, 4000, 4, false)}},
	{"a start keeps the delay from running out",
	 S(1, 2.0, 10), 0,
	 {EV(0, "Failed"), EV(1000, "Failed"),
	  EV(9000, "Running"), EV(15000, "Failed"), /* 15000 <= 19000 */
	  CK(15000, true, 4000, 4, false)}},
	{"a run-out delay shows as none and is swept",
	 S(1, 2.0, 10), 0,
	 {EV(0, "Failed"),
	  /* Still held (10000 is not past 0 + 10 s): its deadline passed
	   * 9 s ago. */
	  CK(10000, false, 0, 0, true), COUNT(1),
	  EXPIRE(10000, 0), EXPIRE(10001, 1), COUNT(0)}},
	{"explicit reset, then back to backoffSeconds",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Failed"), EV(1000, "Failed"), CK(1000, true, 2000, 2, false),
	  /* Without a delay the queue time (0) counts: overdue. */
	  RESET(1500), CK(1500, false, 0, 0, true), COUNT(0),
	  EV(1600, "Failed"), CK(1600, true, 1000, 1, false)}},
	{"a new config has its own delay",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Failed"), EV(1000, "Failed"),
	  CKK(1000, NULL, "v2", false, 0, 0, true),
	  EVK(1000, "Failed", NULL, "v2"),
	  CKK(1000, NULL, "v2", true, 1000, 1, false),
	  CK(1000, true, 2000, 2, false), COUNT(2)}},
	{"an app's delays go with it, not its neighbours'",
	 S(1, 2.0, 60), 0,
	 {EV(0, "Failed"), EVK(0, "Failed", NULL, "v2"),
	  EVK(0, "Failed", "/app/b", NULL), EVK(0, "Failed", "/ap", NULL),
	  COUNT(4), RESET_APP("/app", 2), COUNT(2),
	  CKK(0, "/app/b", NULL, true, 1000, 1, false),
	  CK(0, false, 0, 0, false)}},
	{"factor 1 keeps the delay",
	 S(3, 1.0, 60), 0,
	 {EV(0, "Failed"), EV(3000, "Failed"), CK(3000, true, 3000, 3, false)}},
	{"maxLaunchDelay 0: never delayed",
	 S(1, 2.0, 0), 0,
	 {EV(0, "Failed"), CK(0, false, 0, 0, false),
	  EV(0, "Failed"), CK(0, false, 0, 0, false)}},
	{"backoffSeconds 0: never delayed, but growth starts from 0",
	 S(0, 2.0, 60), 0,
	 {EV(0, "Failed"), EV(10, "Failed"), CK(10, false, 0, 0, false)}},
	{"waiting for offers: overdue a second after the entry was queued",
	 S(1, 2.0, 60), 5000,
	 {CK(5000, false, 0, 0, false), CK(5999, false, 0, 0, false),
	  CK(6000, false, 0, 0, true),
	  /* A delay takes over from the queue time. */
	  EV(6000, "Failed"), CK(6000, true, 1000, 1, false),
	  CK(8000, false, 0, 0, true)}},
	{"a delay in the future beyond a second",
	 S(90, 2.0, 300), 0,
	 {EV(0, "Failed"), CK(1, true, 89999, 89, false),
	  EV(100, "Failed"), CK(100, true, 180000, 180, false)}},
	{"invalid strategies are refused and change nothing",
	 S(1, 0.5, 60), 0,
	 {{.kind = OP_EVENT, .t = 0, .cond = "Failed", .rc = -EINVAL},
	  COUNT(0)}},
	{"negative backoffSeconds is refused",
	 S(-1, 2.0, 60), 0,
	 {{.kind = OP_EVENT, .t = 0, .cond = "Failed", .rc = -EINVAL},
	  /* a start is no failure: fine, and nothing to advance */
	  EV(0, "Running"), COUNT(0)}},
	{"negative maxLaunchDelaySeconds is refused",
	 S(1, 2.0, -5), 0,
	 {{.kind = OP_EVENT, .t = 0, .cond = "Failed", .rc = -EINVAL},
	  COUNT(0)}},
};

static struct sched_backoff_key key_of(const struct op *op)
{
	return (struct sched_backoff_key){
		.app_id = op->app != NULL ? op->app : "/app",
		.config_version = op->config != NULL ? op->config : "v1",
	};
}

static bool run_op(struct sched_backoff *b, const struct script *s,
                   const struct op *op)
{
	struct sched_backoff_key key = key_of(op);
	struct sched_backoff_queue_delay q;
	bool ok = true;

	switch (op->kind) {
	case OP_END:
		break;
	case OP_EVENT:
		ok = CHECK_INT(sched_backoff_notify(b, &key, &s->strategy,
		                                    op->cond, op->t), op->rc);
		break;
	case OP_CHECK:
		sched_backoff_queue_delay(b, &key, op->t, s->since, &q);
		ok = CHECK_INT(sched_backoff_delayed(b, &key, op->t),
		               op->delayed);
		ok = CHECK_INT(sched_backoff_time_left_ms(b, &key, op->t),
		               op->left_ms) && ok;
		ok = CHECK_INT(q.time_left_seconds, op->q_left_s) && ok;
		ok = CHECK_INT(q.overdue, op->q_overdue) && ok;
		break;
	case OP_RESET:
		ok = CHECK(sched_backoff_reset(b, &key));
		break;
	case OP_RESET_APP:
		ok = CHECK_INT(sched_backoff_reset_app(b, key.app_id), op->n);
		break;
	case OP_EXPIRE:
		ok = CHECK_INT(sched_backoff_expire(b, op->t), op->n);
		break;
	case OP_COUNT:
		ok = CHECK_INT(sched_backoff_count(b), op->n);
		break;
	}
	return ok;
}

static void test_scripts(void)
{
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		const struct script *s = &scripts[i];
		struct sched_backoff *b = sched_backoff_new();

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (size_t j = 0; s->ops[j].kind != OP_END; j++)
			if (!run_op(b, s, &s->ops[j]))
				fprintf(stderr, "\n    in \"%s\", op %zu (t=%lld)",
				        s->name, j, (long long)s->ops[j].t);
		sched_backoff_free(b);
	}
}

static void test_change_of(void)
{
	static const struct {
		const char *cond;
		enum sched_backoff_change change;
	} cases[] = {
		{"Failed", SCHED_BACKOFF_RAISE},
		{"Finished", SCHED_BACKOFF_RAISE},
		{"Error", SCHED_BACKOFF_RAISE},
		{"Gone", SCHED_BACKOFF_RAISE},
		{"Dropped", SCHED_BACKOFF_RAISE},
		{"TASK_FAILED", SCHED_BACKOFF_RAISE},
		{"TASK_FINISHED", SCHED_BACKOFF_RAISE},
		{"TASK_ERROR", SCHED_BACKOFF_RAISE},
		{"TASK_GONE", SCHED_BACKOFF_RAISE},
		{"TASK_DROPPED", SCHED_BACKOFF_RAISE},
		{"Created", SCHED_BACKOFF_ADVANCE},
		{"Staging", SCHED_BACKOFF_ADVANCE},
		{"Starting", SCHED_BACKOFF_ADVANCE},
		{"Running", SCHED_BACKOFF_ADVANCE},
		{"TASK_STAGING", SCHED_BACKOFF_ADVANCE},
		{"TASK_STARTING", SCHED_BACKOFF_ADVANCE},
		{"TASK_RUNNING", SCHED_BACKOFF_ADVANCE},
		{"Killed", SCHED_BACKOFF_NONE},
		{"Killing", SCHED_BACKOFF_NONE},
		{"TASK_KILLED", SCHED_BACKOFF_NONE},
		{"TASK_KILLING", SCHED_BACKOFF_NONE},
		{"Unreachable", SCHED_BACKOFF_NONE},
		{"UnreachableInactive", SCHED_BACKOFF_NONE},
		{"TASK_LOST", SCHED_BACKOFF_NONE},
		{"TASK_UNREACHABLE", SCHED_BACKOFF_NONE},
		{"Scheduled", SCHED_BACKOFF_NONE},
		{"failed", SCHED_BACKOFF_NONE}, /* names are exact */
		{"", SCHED_BACKOFF_NONE},
		{NULL, SCHED_BACKOFF_NONE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!CHECK_INT(sched_backoff_change_of(cases[i].cond),
		               cases[i].change))
			fprintf(stderr, "\n    condition \"%s\"",
			        cases[i].cond ? cases[i].cond : "(null)");
}

/* The direct calls: raise returns the deadline, advance says whether there
 * was a delay, deadline() reports it, a NaN factor is refused. */
static void test_direct(void)
{
	struct sched_backoff *b = sched_backoff_new();
	struct sched_backoff_key k = {"/x", "2015-09-25T15:13:48.343Z"};
	struct sched_backoff_strategy s = SCHED_BACKOFF_STRATEGY_DEFAULT;
	int64_t deadline = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CHECK(!sched_backoff_advance(b, &k, 0));
	CHECK(!sched_backoff_deadline(b, &k, 0, &deadline));
	CHECK_INT(deadline, -1);
	CHECK(!sched_backoff_reset(b, &k));

	CHECK_INT(sched_backoff_raise(b, &k, &s, 1000, &deadline), 0);
	CHECK_INT(deadline, 2000);
	CHECK_INT(sched_backoff_raise(b, &k, &s, 2000, NULL), 0);
	CHECK(sched_backoff_deadline(b, &k, 2000, &deadline));
	CHECK_INT(deadline, 3150);
	CHECK(sched_backoff_advance(b, &k, 3000));
	CHECK(sched_backoff_deadline(b, &k, 3000, &deadline));
	CHECK_INT(deadline, 4150);

	s.factor = NAN;
	CHECK_INT(sched_backoff_raise(b, &k, &s, 3000, &deadline), -EINVAL);
	CHECK_INT(deadline, 4150);

	/* Huge but valid numbers saturate at maxLaunchDelay. */
	s = (struct sched_backoff_strategy){
		.backoff_seconds = 1000000,
		.factor = 1000,
		.max_launch_delay_seconds = 9000000000LL,
	};
	k.config_version = "big";
	CHECK_INT(sched_backoff_raise(b, &k, &s, 0, &deadline), 0);
	CHECK_INT(deadline, 1000000000LL);
	CHECK_INT(sched_backoff_raise(b, &k, &s, 0, &deadline), 0);
	CHECK_INT(sched_backoff_raise(b, &k, &s, 0, &deadline), 0);
	CHECK_INT(deadline, 9000000000000LL);
	sched_backoff_free(b);
	sched_backoff_free(NULL);
}

/* Many keys: the array grows and drops keep the others intact. */
static void test_many(void)
{
	struct sched_backoff *b = sched_backoff_new();
	struct sched_backoff_strategy s = S(1, 2.0, 60);
	char app[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int i = 0; i < 100; i++) {
		struct sched_backoff_key k = {app, "v"};

		snprintf(app, sizeof(app), "/app%d", i);
		CHECK_INT(sched_backoff_raise(b, &k, &s, i * 1000, NULL), 0);
	}
	CHECK_INT(sched_backoff_count(b), 100);
	/* Delays of apps 0..49 ran out by 110000 (reference + 60 s). */
	CHECK_INT(sched_backoff_expire(b, 110000), 50);
	for (int i = 0; i < 100; i++) {
		struct sched_backoff_key k = {app, "v"};

		snprintf(app, sizeof(app), "/app%d", i);
		CHECK_INT(sched_backoff_deadline(b, &k, 110000,
		                                 &(int64_t){0}),
		          i >= 50);
	}
	sched_backoff_free(b);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"scripts", test_scripts},
		{"conditions", test_change_of},
		{"direct calls", test_direct},
		{"many keys", test_many},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_backoff", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
