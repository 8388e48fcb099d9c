/*
 * test_sched_queue: the launch queue (core/sched/sched_queue): entries and
 * counts, the /v2/queue JSON (reference 1.6) with its delay taken from
 * sched_backoff, and the UI status table (reference 3.5).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "lib/cu_run.h"
#include "sched/sched_queue.h"

static void test_entries(void)
{
	struct sched_queue *q = sched_queue_new();
	struct sched_queue_entry *e;

	if (!CHECK(q != NULL))
		return;
	CHECK_INT(sched_queue_push(q, "/a", "v1", 0, 10), -EINVAL);
	CHECK_INT(sched_queue_push(q, NULL, "v1", 1, 10), -EINVAL);
	CHECK_INT(sched_queue_push(q, "/a", "v1", 3, 10), 0);
	CHECK_INT(sched_queue_push(q, "/b", "v1", 1, 20), 0);
	/* More of /a: count adds up, since stays, config follows. */
	CHECK_INT(sched_queue_push(q, "/a", "v2", 2, 30), 0);
	CHECK_INT(sched_queue_size(q), 2);
	e = sched_queue_find(q, "/a");
	if (CHECK(e != NULL)) {
		CHECK_INT(e->count, 5);
		CHECK_INT(e->since_ms, 10);
		CHECK_STR(sched_queue_entry_key(e).config_version, "v2");
		CHECK_STR(sched_queue_entry_key(e).app_id, "/a");
	}
	CHECK_INT(sched_queue_launched(q, "/a", 2), 3);
	CHECK_INT(sched_queue_launched(q, "/nope", 2), 0);
	/* Down to zero: the entry and its statistics go. */
	CHECK_INT(sched_queue_launched(q, "/a", 7), 0);
	CHECK(sched_queue_find(q, "/a") == NULL);
	CHECK_INT(sched_queue_size(q), 1);
	CHECK_STR(sched_queue_at(q, 0)->app_id, "/b");
	CHECK(sched_queue_at(q, 1) == NULL);
	CHECK(sched_queue_remove(q, "/b"));
	CHECK(!sched_queue_remove(q, "/b"));
	CHECK_INT(sched_queue_size(q), 0);
	/* A new launch attempt starts from zero. */
	CHECK_INT(sched_queue_push(q, "/a", "v2", 1, 40), 0);
	e = sched_queue_find(q, "/a");
	if (CHECK(e != NULL)) {
		CHECK_INT(e->since_ms, 40);
		CHECK_INT(e->stats.processed_offers, 0);
	}
	sched_queue_free(q);
}

static struct json_object *apps[2];

static struct json_object *lookup(void *arg, const char *app_id)
{
	if (strcmp(app_id, "/app") == 0)
		return apps[0];
	if (strcmp(app_id, "/other") == 0)
		return apps[1];
	return NULL; /* deleted meanwhile */
}

/* GET /v2/queue: one backed-off app, one waiting for offers, one gone. */
static void test_json(void)
{
	struct sched_queue *q = sched_queue_new();
	struct sched_backoff *b = sched_backoff_new();
	struct sched_backoff_key key = {"/app", "2015-09-25T15:13:48.343Z"};
	struct sched_backoff_strategy strat = SCHED_BACKOFF_STRATEGY_DEFAULT;
	struct json_object *j = NULL, *arr, *e;
	struct sched_queue_entry *entry;
	const int64_t t0 = 1443194028343; /* 2015-09-25T15:13:48.343Z */

	apps[0] = json_tokener_parse("{\"id\":\"/app\",\"instances\":23,"
	                             "\"role\":\"slave_public\"}");
	apps[1] = json_tokener_parse("{\"id\":\"/other\"}");
	if (!CHECK(q != NULL && b != NULL && apps[0] && apps[1]))
		goto out;
	strat.backoff_seconds = 100;
	CHECK_INT(sched_queue_push(q, "/app", key.config_version, 23, t0), 0);
	CHECK_INT(sched_queue_push(q, "/gone", "v", 1, t0), 0);
	CHECK_INT(sched_queue_push(q, "/other", "v", 2, t0 - 5000), 0);
	CHECK_INT(sched_backoff_raise(b, &key, &strat, t0, NULL), 0);
	entry = sched_queue_find(q, "/app");
	if (!CHECK(entry != NULL))
		goto out;
	entry->stats.processed_offers = 3;
	entry->stats.unused_offers = 1;
	entry->stats.launch_attempt[SCHED_MATCH_INSUFFICIENT_CPUS] = 1;
	entry->stats.last_unused_offer_at_ms = t0;

	j = sched_queue_to_json(q, b, t0, lookup, NULL);
	if (!CHECK(j != NULL))
		goto out;
	arr = json_object_object_get(j, "queue");
	if (!CHECK(json_object_is_type(arr, json_type_array)) ||
	    !CHECK_INT(json_object_array_length(arr), 2))
		goto out;

	e = json_object_array_get_idx(arr, 0);
	CHECK_STR(json_object_to_json_string_ext(e,
	              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	          "{\"count\":23,\"role\":\"slave_public\","
	          "\"delay\":{\"timeLeftSeconds\":100,\"overdue\":false},"
	          "\"since\":\"2015-09-25T15:13:48.343Z\","
	          "\"processedOffersSummary\":{\"processedOffersCount\":3,"
	          "\"unusedOffersCount\":1,"
	          "\"lastUnusedOfferAt\":\"2015-09-25T15:13:48.343Z\","
	          "\"rejectSummaryLastOffers\":["
	          "{\"reason\":\"UnfulfilledRole\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"UnfulfilledConstraint\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"NoCorrespondingReservationFound\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"AgentMaintenance\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientCpus\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientMemory\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientDisk\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientGpus\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientPorts\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"DeclinedScarceResources\",\"declined\":0,\"processed\":0}],"
	          "\"rejectSummaryLaunchAttempt\":["
	          "{\"reason\":\"UnfulfilledRole\",\"declined\":0,\"processed\":3},"
	          "{\"reason\":\"UnfulfilledConstraint\",\"declined\":0,\"processed\":3},"
	          "{\"reason\":\"NoCorrespondingReservationFound\",\"declined\":0,\"processed\":3},"
	          "{\"reason\":\"AgentMaintenance\",\"declined\":0,\"processed\":3},"
	          "{\"reason\":\"InsufficientCpus\",\"declined\":1,\"processed\":3},"
	          "{\"reason\":\"InsufficientMemory\",\"declined\":0,\"processed\":2},"
	          "{\"reason\":\"InsufficientDisk\",\"declined\":0,\"processed\":2},"
	          "{\"reason\":\"InsufficientGpus\",\"declined\":0,\"processed\":2},"
	          "{\"reason\":\"InsufficientPorts\",\"declined\":0,\"processed\":2},"
	          "{\"reason\":\"DeclinedScarceResources\",\"declined\":0,\"processed\":2}]},"
	          "\"app\":{\"id\":\"/app\",\"instances\":23,\"role\":\"slave_public\"}}");

	/* No delay, queued 5 s ago: waiting for offers; no role: "*". */
	e = json_object_array_get_idx(arr, 1);
	CHECK_STR(json_object_get_string(json_object_object_get(e, "role")),
	          "*");
	e = json_object_object_get(e, "delay");
	CHECK_INT(json_object_get_int64(
		json_object_object_get(e, "timeLeftSeconds")), 0);
	CHECK(json_object_get_boolean(json_object_object_get(e, "overdue")));

	/* Empty queue: {"queue":[]}. */
	json_object_put(j);
	sched_queue_remove(q, "/app");
	sched_queue_remove(q, "/other");
	sched_queue_remove(q, "/gone");
	j = sched_queue_to_json(q, b, t0, lookup, NULL);
	if (CHECK(j != NULL))
		CHECK_STR(json_object_to_json_string_ext(j,
		              JSON_C_TO_STRING_PLAIN), "{\"queue\":[]}");
out:
	json_object_put(j);
	json_object_put(apps[0]);
	json_object_put(apps[1]);
	sched_backoff_free(b);
	sched_queue_free(q);
}

static void test_status(void)
{
	static const struct {
		struct sched_queue_status_in in;
		enum sched_queue_status want;
	} rows[] = {
		/* deploying, instances, running, queued, overdue, left */
		{{false, 3, 3, false, false, 0}, SCHED_QUEUE_RUNNING},
		{{true, 3, 1, false, false, 0}, SCHED_QUEUE_DEPLOYING},
		{{false, 0, 0, false, false, 0}, SCHED_QUEUE_SUSPENDED},
		/* Scaled to 0 but a task still runs: Running. */
		{{false, 0, 1, false, false, 0}, SCHED_QUEUE_RUNNING},
		{{true, 0, 0, false, false, 0}, SCHED_QUEUE_DEPLOYING},
		/* The queue entry overrides everything. */
		{{true, 3, 1, true, false, 12}, SCHED_QUEUE_DELAYED},
		{{false, 3, 3, true, false, 1}, SCHED_QUEUE_DELAYED},
		{{true, 3, 1, true, true, 0}, SCHED_QUEUE_WAITING},
		{{false, 0, 0, true, true, 0}, SCHED_QUEUE_WAITING},
		/* Queued, neither overdue nor time left (the second after a
		 * deadline): no override. */
		{{true, 3, 1, true, false, 0}, SCHED_QUEUE_DEPLOYING},
		{{false, 3, 3, true, false, 0}, SCHED_QUEUE_RUNNING},
		/* Without an entry its delay fields mean nothing. */
		{{false, 3, 3, false, true, 9}, SCHED_QUEUE_RUNNING},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!CHECK_INT(sched_queue_status(&rows[i].in), rows[i].want))
			fprintf(stderr, "row %zu\n", i);
	CHECK_STR(sched_queue_status_name(SCHED_QUEUE_RUNNING), "Running");
	CHECK_STR(sched_queue_status_name(SCHED_QUEUE_DEPLOYING), "Deploying");
	CHECK_STR(sched_queue_status_name(SCHED_QUEUE_SUSPENDED), "Suspended");
	CHECK_STR(sched_queue_status_name(SCHED_QUEUE_WAITING), "Waiting");
	CHECK_STR(sched_queue_status_name(SCHED_QUEUE_DELAYED), "Delayed");
	CHECK(sched_queue_status_name(5) == NULL);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"entries", test_entries},
		{"/v2/queue json", test_json},
		{"app status", test_status},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_queue", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
