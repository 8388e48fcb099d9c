/*
 * test_walkthrough: the operator's walkthrough of the apps issue, end to
 * end: the real stadiond over HTTP on loopback, real processes.
 *
 *   basic-0      POST the seed's first app; its process writes "Hello
 *                Marathon" into its sandbox; scale to 10; 409 and then
 *                ?force=true over a deployment that cannot finish; new
 *                commands rolled out with upgradeStrategy {0,1}, {1,1} and
 *                {0.3,1}, sampled all along (reference 3.2); scale to 0;
 *                DELETE, and still gone after a restart on the same
 *                --data_dir
 *   crash loop   "exit 1" relaunched with growing delays (3.6), Delayed in
 *                /v2/queue, DELETE /v2/queue/{id}/delay relaunches at once
 *   SIGKILL      stadiond killed in the middle of a 10-instance rolling
 *                restart and started again: the deployment completes with
 *                10 processes of the new version, no orphan, no double
 *   DOCKER       no docker on PATH: TASK_FAILED saying so; a stand-in
 *                docker script receives the expected `docker run`
 *
 * What runs is told by the processes themselves (tests/lib/harness.h,
 * task_procs_*: the process groups working in the daemon's sandboxes, with
 * MARATHON_APP_VERSION from their environment), not only by the API.
 * Nothing here asserts speed: every wait polls with a generous deadline,
 * and the rollouts are checked on invariants that hold at every instant.
 * Kills are made slow on purpose (a TERM trap that takes a second) so that
 * the middle of a rollout lasts long enough to be sampled; the invariants
 * hold whatever the samples catch.  The harness kills every task process
 * left when a daemon is stopped, whatever the outcome.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "lib/harness.h"
#include "lib/testfs.h"

/* Deadlines of the waits: far above what any of them needs. */
#define SETTLE_MS 30000
#define ROLLOUT_MS 45000

/* ---- Files -------------------------------------------------------------- */

/* A directory of this program's own (the agents file, PATH directories),
 * removed at exit. */
static char work_dir[PATH_MAX];
static char agents_file[PATH_MAX + 32];

static bool write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return false;
	}
	ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ok && chmod(path, mode) == 0;
}

/* All of PATH, NUL-terminated, or NULL; free(). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *grown = realloc(s, cap = len + 8192);

			if (grown == NULL) {
				free(s);
				fclose(f);
				return NULL;
			}
			s = grown;
		}
		n = fread(s + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	s[len] = '\0';
	return s;
}

/* One agent with room for 25 instances of 0.1 cpus: a rollout of 10 with
 * maximumOverCapacity 1 fits (20), and a scale to 30 cannot finish. */
static bool setup_work_dir(void)
{
	if (work_dir[0] != '\0')
		return true;
	if (!testfs_mkdtemp(work_dir, sizeof(work_dir), "walkthrough")) {
		work_dir[0] = '\0';
		return false;
	}
	snprintf(agents_file, sizeof(agents_file), "%s/agents.json", work_dir);
	return write_file(agents_file,
	                  "[{\"hostname\": \"localhost\", \"cpus\": 2.5, "
	                  "\"mem\": 4096, \"disk\": 1000, "
	                  "\"ports\": \"31000-32000\"}]\n",
	                  0644);
}

static void remove_work_dir(void)
{
	if (work_dir[0] != '\0')
		testfs_rm_tree(work_dir);
}

static const char *agent_args[] = {"--local_agents", agents_file, NULL};

/* ---- The API ------------------------------------------------------------ */

/* S, or "" for NULL. */
static const char *str0(const char *s)
{
	return s != NULL ? s : "";
}

/* A JSON string of S (for bodies), in BUF. */
static const char *json_quote(const char *s, char *buf, size_t len)
{
	struct json_object *o = json_object_new_string(s);

	snprintf(buf, len, "%s",
	         o != NULL ? json_object_to_json_string_ext(
	                             o, JSON_C_TO_STRING_PLAIN)
	                   : "null");
	json_object_put(o);
	return buf;
}

/* A deployment result {"deploymentId","version"} of a write. */
struct deployed {
	char id[64];
	char version[64];
};

/* METHOD PATH with BODY, which must answer STATUS with a deployment result
 * (and its Marathon-Deployment-Id header); into *OUT. */
static bool deploy(const struct daemon *d, const char *method, const char *path,
                   const char *body, int status, struct deployed *out)
{
	static const char *const headers[] = {
		"Content-Type: application/json", NULL};
	struct http_resp resp;
	struct json_object *o = NULL;
	const char *id, *version, *header;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (!CHECK(daemon_call(d, method, path, headers, body, &resp) == 0))
		return false;
	if (!CHECK_INT(resp.status, status)) {
		fprintf(stderr, "\n%s %s %s: %d %s\n", method, path, body,
		        resp.status, resp.body);
		goto out;
	}
	if (!CHECK((o = http_resp_json(&resp)) != NULL))
		goto out;
	/* POST /v2/apps answers with the app, its deployments inside. */
	id = json_str_at(o, "deploymentId");
	if (id == NULL)
		id = json_str_at(o, "deployments.0.id");
	version = json_str_at(o, "version");
	header = http_resp_header(&resp, "Marathon-Deployment-Id");
	if (!CHECK(id != NULL) || !CHECK(version != NULL) ||
	    !CHECK_STR(header, id))
		goto out;
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->version, sizeof(out->version), "%s", version);
	ok = true;
out:
	json_object_put(o);
	http_resp_free(&resp);
	return ok;
}

/* Whether deployment ID is in GET /v2/deployments: 1, 0, or -1 when that
 * cannot be read. */
static int deployment_listed(const struct daemon *d, const char *id)
{
	struct json_object *list = daemon_get_json(d, "/v2/deployments");
	int found = 0;

	if (list == NULL || !json_object_is_type(list, json_type_array)) {
		json_object_put(list);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		const char *got = json_str_at(
			json_object_array_get_idx(list, i), "id");

		if (got != NULL && strcmp(got, id) == 0)
			found = 1;
	}
	json_object_put(list);
	return found;
}

/* How many deployments GET /v2/deployments lists, -1 when unreadable. */
static int n_deployments(const struct daemon *d)
{
	struct json_object *list = daemon_get_json(d, "/v2/deployments");
	int n = -1;

	if (list != NULL && json_object_is_type(list, json_type_array))
		n = (int)json_object_array_length(list);
	json_object_put(list);
	return n;
}

/* GET /v2/apps/APP ("app" member, a new reference) or NULL. */
static struct json_object *get_app(const struct daemon *d, const char *app)
{
	char path[256];
	struct json_object *o, *a;

	snprintf(path, sizeof(path), "/v2/apps/%s", app);
	if ((o = daemon_get_json(d, path)) == NULL)
		return NULL;
	a = json_object_get(json_at(o, "app"));
	json_object_put(o);
	return a;
}

/* The app's tasks (GET /v2/apps/APP/tasks), a new reference, or NULL. */
static struct json_object *get_tasks(const struct daemon *d, const char *app)
{
	char path[256];
	struct json_object *o, *t;

	snprintf(path, sizeof(path), "/v2/apps/%s/tasks", app);
	if ((o = daemon_get_json(d, path)) == NULL)
		return NULL;
	t = json_object_get(json_at(o, "tasks"));
	json_object_put(o);
	if (t != NULL && !json_object_is_type(t, json_type_array)) {
		json_object_put(t);
		t = NULL;
	}
	return t;
}

/* A task that is neither terminal nor only scheduled. */
static bool task_active(const char *state)
{
	return state != NULL &&
	       (strcmp(state, "TASK_STAGING") == 0 ||
	        strcmp(state, "TASK_STARTING") == 0 ||
	        strcmp(state, "TASK_RUNNING") == 0 ||
	        strcmp(state, "TASK_KILLING") == 0);
}

/* The tasks of an app split by version: "new" is NEW_VERSION (the target
 * of a deployment), "old" any other.  Running means TASK_RUNNING (healthy:
 * no health checks yet), active any non-terminal state (a task being
 * killed is TASK_KILLING and still active). */
struct tasks_view {
	int active, new_active, old_active;
	int new_running, old_running;
	bool duplicate_ids;
};

static bool view_tasks(const struct daemon *d, const char *app,
                       const char *new_version, struct tasks_view *v)
{
	struct json_object *tasks = get_tasks(d, app);
	size_t n;

	memset(v, 0, sizeof(*v));
	if (tasks == NULL)
		return false;
	n = json_object_array_length(tasks);
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i);
		const char *state = json_str_at(t, "state");
		const char *version = json_str_at(t, "version");
		const char *id = json_str_at(t, "id");
		bool is_new = new_version != NULL && version != NULL &&
		              strcmp(version, new_version) == 0;

		for (size_t j = 0; j < i && id != NULL; j++) {
			const char *other = json_str_at(
				json_object_array_get_idx(tasks, j), "id");

			if (other != NULL && strcmp(other, id) == 0)
				v->duplicate_ids = true;
		}
		if (!task_active(state))
			continue;
		v->active++;
		if (is_new)
			v->new_active++;
		else
			v->old_active++;
		if (strcmp(state, "TASK_RUNNING") == 0) {
			if (is_new)
				v->new_running++;
			else
				v->old_running++;
		}
	}
	json_object_put(tasks);
	return true;
}

/* ---- Settled states ------------------------------------------------------ */

/* APP settled at N instances of VERSION (NULL: any): no deployment, N
 * tasks all TASK_RUNNING of that version, and exactly N task process
 * groups, all of that version (the daemon runs no other app then). */
struct settled {
	const struct daemon *d;
	const char *app;
	int n;
	const char *version;
};

static bool is_settled(void *arg)
{
	const struct settled *s = arg;
	struct json_object *app = get_app(s->d, s->app);
	struct tasks_view v;
	bool ok;

	ok = app != NULL && json_int_at(app, "instances", -1) == s->n &&
	     json_int_at(app, "tasksRunning", -1) == s->n &&
	     json_object_array_length(json_at(app, "deployments")) == 0;
	json_object_put(app);
	if (!ok || !view_tasks(s->d, s->app, s->version, &v))
		return false;
	if (v.active != s->n ||
	    (s->version != NULL ? v.new_running : v.new_running +
	                                                  v.old_running) != s->n)
		return false;
	return task_procs_count(s->d, NULL) == s->n &&
	       (s->version == NULL ||
	        task_procs_count(s->d, s->version) == s->n);
}

/* Wait until APP settles as is_settled() says; say what it looks like
 * when it does not. */
static bool wait_settled(const struct daemon *d, const char *app, int n,
                         const char *version)
{
	struct settled s = {d, app, n, version};
	struct tasks_view v;

	if (wait_until(is_settled, &s, SETTLE_MS))
		return true;
	view_tasks(d, app, version, &v);
	fprintf(stderr,
	        "\n%s did not settle at %d instances of version %s within "
	        "%d s: %d active tasks (%d running of that version, %d of "
	        "others), %d deployments, %d task process groups (%d of that "
	        "version)\n",
	        app, n, version != NULL ? version : "(any)", SETTLE_MS / 1000,
	        v.active, v.new_running, v.old_running, n_deployments(d),
	        task_procs_count(d, NULL),
	        version != NULL ? task_procs_count(d, version) : -1);
	CU_FAIL("the app did not settle");
	return false;
}

/* The processes are exactly APP's tasks: every task process group belongs
 * to a task the API lists (no orphan), no two groups to the same task
 * (no double), every running task has its group, and all are of VERSION
 * (when not NULL). */
static void check_procs_are_tasks(const struct daemon *d, const char *app,
                                  const char *version)
{
	struct json_object *tasks = get_tasks(d, app);
	struct task_proc *procs = NULL;
	size_t n_procs = 0, n_tasks;

	if (!CHECK(tasks != NULL) ||
	    !CHECK(task_procs_list(d, &procs, &n_procs) == 0)) {
		json_object_put(tasks);
		return;
	}
	n_tasks = json_object_array_length(tasks);
	for (size_t i = 0; i < n_procs; i++) {
		bool listed = false;

		for (size_t j = 0; j < n_tasks && !listed; j++)
			listed = strcmp(procs[i].task_id,
			                str0(json_str_at(json_object_array_get_idx(
			                                         tasks, j),
			                                 "id"))) == 0;
		if (!CHECK(listed))
			fprintf(stderr, "\norphan: process group %ld works in "
			                "the sandbox of %s, a task %s does not "
			                "list\n",
			        (long)procs[i].pgid, procs[i].task_id, app);
		for (size_t j = 0; j < i; j++)
			if (!CHECK(strcmp(procs[i].task_id,
			                  procs[j].task_id) != 0))
				fprintf(stderr, "\ndouble: process groups %ld "
				                "and %ld both run task %s\n",
				        (long)procs[j].pgid,
				        (long)procs[i].pgid, procs[i].task_id);
		if (version != NULL && !CHECK_STR(procs[i].version, version))
			fprintf(stderr, "\nprocess group %ld (task %s) runs "
			                "version %s\n",
			        (long)procs[i].pgid, procs[i].task_id,
			        procs[i].version);
		CHECK(procs[i].leader);
	}
	for (size_t j = 0; j < n_tasks; j++) {
		struct json_object *t = json_object_array_get_idx(tasks, j);
		const char *id = json_str_at(t, "id");
		const char *state = json_str_at(t, "state");
		bool has_proc = false;

		if (state == NULL || strcmp(state, "TASK_RUNNING") != 0)
			continue;
		for (size_t i = 0; i < n_procs && !has_proc; i++)
			has_proc = id != NULL &&
			           strcmp(procs[i].task_id, id) == 0;
		if (!CHECK(has_proc))
			fprintf(stderr, "\ntask %s is TASK_RUNNING but no "
			                "process runs it\n",
			        id != NULL ? id : "(no id)");
	}
	free(procs);
	json_object_put(tasks);
}

/* Whether no task process runs (for wait_until). */
static bool no_task_process(void *arg)
{
	return task_procs_count(arg, NULL) == 0;
}

/* Whether some task process runs (for wait_until). */
static bool some_task_process(void *arg)
{
	return task_procs_count(arg, NULL) > 0;
}

/* ---- Rollouts ----------------------------------------------------------- */

/* Invariant violations seen while sampling: counted, the first few told. */
struct violations {
	int n;
};

static void violation(struct violations *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void violation(struct violations *v, const char *fmt, ...)
{
	va_list ap;

	if (v->n++ >= 5)
		return;
	fputc('\n', stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Reference 3.2 for N instances, all healthy (H = N = C) when it starts,
 * computed in doubles as Marathon's Scala does. */
static void rolling_bounds(int n, double min_health, double max_over,
                           int *min_healthy_r, int *max_capacity_r)
{
	int min_healthy = (int)ceil((double)n * min_health);
	int max_capacity = (int)floor((double)n * (1 + max_over));

	if (min_healthy == max_capacity && max_capacity <= n)
		max_capacity++;
	*min_healthy_r = min_healthy;
	*max_capacity_r = max_capacity;
}

/* A command whose kills take a second: TERM reaches the whole group (the
 * sleep dies), the shell's trap says so in stdout and exits a second
 * later; taskKillGracePeriodSeconds 3 leaves it that second. */
static void slow_kill_cmd(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len,
	         "trap 'echo TERM; sleep 1; exit 0' TERM; "
	         "echo 'Hello Marathon %s'; while true; do sleep 0.2; done",
	         tag);
}

/* PUT a new CMD with upgradeStrategy {MIN_HEALTH, MAX_OVER} to APP (N
 * instances, settled), sample the tasks (with their versions) and the
 * task processes until the deployment is over, and check at every
 * sample what reference 3.2 promises:
 *   - at least minHealthy tasks TASK_RUNNING, old and new together (the
 *     API), and at least minHealthy task process groups;
 *   - at most maxCapacity active tasks (the API) and task process groups
 *     (old ones being killed included: they count until they are gone);
 *   - never more than N of the new version;
 *   - once a new task exists, at most minHealthy old ones TASK_RUNNING:
 *     killNow old instances go before the first launch;
 * and at the end N processes of the new version, none of an old one. */
static void rollout(const struct daemon *d, const char *app, int n,
                    const char *cmd, double min_health, double max_over)
{
	char body[1024], quoted[512], path[256];
	struct deployed dep;
	struct violations bad = {0};
	int min_healthy, max_capacity, samples = 0, max_procs = 0;
	int min_running = INT_MAX, max_active = 0, mixed = 0;
	int64_t deadline = harness_now_ms() + ROLLOUT_MS;
	bool over = false;

	rolling_bounds(n, min_health, max_over, &min_healthy, &max_capacity);
	snprintf(body, sizeof(body),
	         "{\"cmd\": %s, \"upgradeStrategy\": "
	         "{\"minimumHealthCapacity\": %g, \"maximumOverCapacity\": %g}, "
	         "\"taskKillGracePeriodSeconds\": 3}",
	         json_quote(cmd, quoted, sizeof(quoted)), min_health, max_over);
	snprintf(path, sizeof(path), "/v2/apps/%s", app);
	if (!deploy(d, "PUT", path, body, 200, &dep))
		return;
	while (!over && harness_now_ms() < deadline) {
		struct tasks_view v;
		int procs = task_procs_count(d, NULL);
		int new_procs = task_procs_count(d, dep.version);
		int listed = deployment_listed(d, dep.id);
		struct settled s = {d, app, n, dep.version};

		if (!view_tasks(d, app, dep.version, &v) || procs < 0 ||
		    listed < 0) {
			violation(&bad, "cannot read the tasks, the processes "
			                "or the deployments");
			break;
		}
		samples++;
		if (procs > max_procs)
			max_procs = procs;
		if (v.active > max_active)
			max_active = v.active;
		if (v.new_running + v.old_running < min_running)
			min_running = v.new_running + v.old_running;
		if (v.new_active > 0 && v.old_active > 0)
			mixed++;
		if (v.new_running + v.old_running < min_healthy)
			violation(&bad,
			          "%d tasks TASK_RUNNING (%d new, %d old): "
			          "fewer than minHealthy %d",
			          v.new_running + v.old_running, v.new_running,
			          v.old_running, min_healthy);
		if (procs < min_healthy)
			violation(&bad, "%d task processes: fewer than "
			                "minHealthy %d",
			          procs, min_healthy);
		if (v.active > max_capacity)
			violation(&bad, "%d active tasks: more than "
			                "maxCapacity %d",
			          v.active, max_capacity);
		if (procs > max_capacity)
			violation(&bad, "%d task processes: more than "
			                "maxCapacity %d",
			          procs, max_capacity);
		if (v.new_active > n || new_procs > n)
			violation(&bad, "%d new tasks, %d new processes: more "
			                "than %d",
			          v.new_active, new_procs, n);
		if (v.duplicate_ids)
			violation(&bad, "a task id is listed twice");
		if (v.new_active > 0 && v.old_running > min_healthy)
			violation(&bad,
			          "%d new tasks next to %d old ones still "
			          "TASK_RUNNING: killNow (%d - %d) old ones "
			          "should have gone before any launch",
			          v.new_active, v.old_running, n, min_healthy);
		over = listed == 0 && is_settled(&s);
		if (!over)
			harness_sleep_ms(WAIT_POLL_MS);
	}
	fprintf(stderr,
	        "\nrollout {%g, %g} of %d: %d samples (%d with old and new "
	        "side by side), TASK_RUNNING at least %d (minHealthy %d), "
	        "active tasks at most %d, processes at most %d (maxCapacity "
	        "%d)\n",
	        min_health, max_over, n, samples, mixed,
	        min_running == INT_MAX ? -1 : min_running, min_healthy,
	        max_active, max_procs, max_capacity);
	if (!CHECK_INT(bad.n, 0))
		fprintf(stderr, "(%d violations in all)\n", bad.n);
	if (!CHECK(over))
		fprintf(stderr, "\nthe rollout of %s did not finish within "
		                "%d s\n",
		        dep.version, ROLLOUT_MS / 1000);
	wait_settled(d, app, n, dep.version);
	CHECK_INT(task_procs_count(d, NULL), n);
	CHECK_INT(task_procs_count(d, dep.version), n);
	check_procs_are_tasks(d, app, dep.version);
}

/* ---- basic-0 ------------------------------------------------------------ */

static struct daemon basic;

static int basic_init(void)
{
	if (!setup_work_dir())
		return -1;
	return daemon_start(&basic, agent_args) == 0 ? 0 : -1;
}

static int basic_cleanup(void)
{
	return basic.pid == 0 || daemon_stop(&basic) == 0 ? 0 : -1;
}

/* The seed's first app, as the issue writes it. */
#define BASIC_0                                                             \
	"{\"id\": \"basic-0\", \"cmd\": \"while [ true ] ; do echo 'Hello "  \
	"Marathon' ; sleep 5 ; done\", \"cpus\": 0.1, \"mem\": 10.0, "       \
	"\"instances\": 1}"

struct file_has {
	char path[PATH_MAX + 512];
	const char *needle;
};

static bool file_has(void *arg)
{
	struct file_has *f = arg;
	char *text = slurp(f->path);
	bool found = text != NULL && strstr(text, f->needle) != NULL;

	free(text);
	return found;
}

static void test_basic_post(void)
{
	static const char *const headers[] = {
		"Content-Type: application/json", NULL};
	struct http_resp resp;
	struct json_object *o = NULL, *tasks = NULL;
	const char *location, *dep_header, *task_id;
	struct file_has f = {.needle = "Hello Marathon"};
	char want[64];

	if (!CHECK(daemon_call(&basic, "POST", "/v2/apps", headers, BASIC_0,
	                       &resp) == 0))
		return;
	CHECK_INT(resp.status, 201);
	location = http_resp_header(&resp, "Location");
	dep_header = http_resp_header(&resp, "Marathon-Deployment-Id");
	/* Marathon's Response.created(new URI("/basic-0")): JAX-RS resolves
	 * the app's id against the server's base URI. */
	snprintf(want, sizeof(want), "http://127.0.0.1:%u/basic-0",
	         (unsigned)basic.port);
	CHECK_STR(location, want);
	CHECK(dep_header != NULL);
	if (CHECK((o = http_resp_json(&resp)) != NULL)) {
		CHECK_STR(json_str_at(o, "id"), "/basic-0");
		CHECK_STR(json_str_at(o, "cmd"),
		          "while [ true ] ; do echo 'Hello Marathon' ; sleep 5 "
		          "; done");
		CHECK_INT(json_int_at(o, "instances", -1), 1);
		CHECK_STR(json_str_at(o, "deployments.0.id"), dep_header);
	}
	json_object_put(o);
	http_resp_free(&resp);

	if (!wait_settled(&basic, "basic-0", 1, NULL))
		return;
	check_procs_are_tasks(&basic, "basic-0", NULL);
	/* The process itself says hello, in its sandbox's stdout. */
	tasks = get_tasks(&basic, "basic-0");
	task_id = json_str_at(tasks, "0.id");
	if (CHECK(task_id != NULL)) {
		snprintf(f.path, sizeof(f.path), "%s/sandboxes/%s/stdout",
		         basic.data_dir, task_id);
		if (!CHECK(wait_until(file_has, &f, SETTLE_MS)))
			fprintf(stderr, "\n%s never said Hello Marathon\n",
			        f.path);
	}
	json_object_put(tasks);
}

static void test_basic_scale_up(void)
{
	struct deployed dep;

	if (!deploy(&basic, "PUT", "/v2/apps/basic-0", "{\"instances\": 10}",
	            200, &dep))
		return;
	if (wait_settled(&basic, "basic-0", 10, NULL))
		check_procs_are_tasks(&basic, "basic-0", NULL);
	CHECK_INT(deployment_listed(&basic, dep.id), 0);
}

/* Scaled to 30 on an agent with room for 25, the deployment cannot
 * finish: a second change is refused with 409 naming it, and goes through
 * with ?force=true, which cancels it. */
struct stuck {
	const struct daemon *d;
	const char *dep_id;
};

static bool scale_is_stuck(void *arg)
{
	const struct stuck *s = arg;
	struct json_object *app = get_app(s->d, "basic-0");
	bool stuck = app != NULL &&
	             json_int_at(app, "tasksRunning", -1) >= 20 &&
	             deployment_listed(s->d, s->dep_id) == 1;

	json_object_put(app);
	return stuck;
}

static void test_basic_force(void)
{
	struct deployed stuck_dep, forced;
	struct stuck s = {&basic, stuck_dep.id};
	struct json_object *o = NULL;
	int status;

	if (!deploy(&basic, "PUT", "/v2/apps/basic-0", "{\"instances\": 30}",
	            200, &stuck_dep))
		return;
	if (!CHECK(wait_until(scale_is_stuck, &s, SETTLE_MS))) {
		fprintf(stderr, "\nthe scale to 30 never ran 20 instances "
		                "with its deployment %s still listed\n",
		        stuck_dep.id);
		return;
	}
	/* Without force: locked (reference 0, 409 with the deployments). */
	status = daemon_json(&basic, "PUT", "/v2/apps/basic-0",
	                     "{\"instances\": 10}", &o);
	CHECK_INT(status, 409);
	CHECK_CONTAINS(json_str_at(o, "message"),
	               "App is locked by one or more deployments.");
	CHECK_STR(json_str_at(o, "deployments.0.id"), stuck_dep.id);
	json_object_put(o);
	CHECK_INT(deployment_listed(&basic, stuck_dep.id), 1);

	if (!deploy(&basic, "PUT", "/v2/apps/basic-0?force=true",
	            "{\"instances\": 10}", 200, &forced))
		return;
	CHECK(strcmp(forced.id, stuck_dep.id) != 0);
	/* The cancelled deployment is gone at once, not after the new one
	 * finishes. */
	CHECK_INT(deployment_listed(&basic, stuck_dep.id), 0);
	if (wait_settled(&basic, "basic-0", 10, NULL))
		check_procs_are_tasks(&basic, "basic-0", NULL);
	CHECK_INT(deployment_listed(&basic, forced.id), 0);
	/* Nothing left to launch: the instances the stuck scale had queued
	 * went with the forced scale to 10. */
	o = daemon_get_json(&basic, "/v2/queue");
	CHECK_INT(json_object_array_length(json_at(o, "queue")), 0);
	json_object_put(o);
}

static void test_basic_rollout(double min_health, double max_over,
                               const char *tag)
{
	char cmd[256];

	/* Each starts from 10 settled instances (the previous test's). */
	if (!wait_settled(&basic, "basic-0", 10, NULL))
		return;
	slow_kill_cmd(cmd, sizeof(cmd), tag);
	rollout(&basic, "basic-0", 10, cmd, min_health, max_over);
}

/* From the seed's command, whose processes die at once: the rollout is
 * over in a blink, and its end state is what counts.  It leaves processes
 * that take a second to die, so the middle of each strategy's rollout
 * after it lasts long enough to be sampled. */
static void test_basic_rollout_first(void)
{
	test_basic_rollout(1, 1, "v1");
}

static void test_basic_rollout_0_1(void)
{
	test_basic_rollout(0, 1, "v2");
}

static void test_basic_rollout_1_1(void)
{
	test_basic_rollout(1, 1, "v3");
}

static void test_basic_rollout_03_1(void)
{
	test_basic_rollout(0.3, 1, "v4");
}

static void test_basic_suspend(void)
{
	struct deployed dep;
	struct json_object *app;

	if (!deploy(&basic, "PUT", "/v2/apps/basic-0", "{\"instances\": 0}",
	            200, &dep))
		return;
	if (!CHECK(wait_until(no_task_process, &basic, SETTLE_MS)))
		fprintf(stderr, "\n%d task processes still run after the "
		                "scale to 0\n",
		        task_procs_count(&basic, NULL));
	wait_settled(&basic, "basic-0", 0, NULL);
	app = get_app(&basic, "basic-0");
	CHECK_INT(json_int_at(app, "instances", -1), 0);
	CHECK_INT(json_int_at(app, "tasksRunning", -1), 0);
	CHECK_INT(json_int_at(app, "tasksStaged", -1), 0);
	json_object_put(app);
}

static void check_basic_gone(void)
{
	struct json_object *o = NULL;
	int status = daemon_json(&basic, "GET", "/v2/apps/basic-0", NULL, &o);

	CHECK_INT(status, 404);
	CHECK_STR(json_str_at(o, "message"), "App '/basic-0' does not exist");
	json_object_put(o);
	o = daemon_get_json(&basic, "/v2/apps");
	CHECK_INT(json_object_array_length(json_at(o, "apps")), 0);
	json_object_put(o);
	o = daemon_get_json(&basic, "/v2/queue");
	CHECK_INT(json_object_array_length(json_at(o, "queue")), 0);
	json_object_put(o);
	CHECK_INT(n_deployments(&basic), 0);
}

static bool no_deployment(void *arg)
{
	return n_deployments(arg) == 0;
}

static void test_basic_delete(void)
{
	struct deployed dep;

	/* Running again first, so that the delete has processes to stop. */
	if (!deploy(&basic, "PUT", "/v2/apps/basic-0", "{\"instances\": 3}",
	            200, &dep) ||
	    !wait_settled(&basic, "basic-0", 3, NULL))
		return;
	if (!deploy(&basic, "DELETE", "/v2/apps/basic-0", NULL, 200, &dep))
		return;
	if (!CHECK(wait_until(no_task_process, &basic, SETTLE_MS)))
		fprintf(stderr, "\n%d task processes still run after DELETE\n",
		        task_procs_count(&basic, NULL));
	CHECK(wait_until(no_deployment, &basic, SETTLE_MS));
	check_basic_gone();

	/* No state either: killed hard (nothing flushed on the way out) and
	 * started again on the same data directory, it knows no basic-0 and
	 * starts nothing. */
	CHECK_INT(daemon_kill(&basic, SIGKILL), 128 + SIGKILL);
	if (!CHECK(daemon_restart(&basic, agent_args) == 0))
		return;
	check_basic_gone();
	CHECK(!wait_until(some_task_process, &basic, 1500));
}

static CU_TestInfo basic_tests[] = {
	{"POST basic-0: 201, Hello Marathon in its sandbox", test_basic_post},
	{"PUT instances 10: 10 processes", test_basic_scale_up},
	{"409 over a running deployment, then force=true",
	 test_basic_force},
	{"new cmd from the seed's, upgradeStrategy {1, 1}",
	 test_basic_rollout_first},
	{"new cmd, upgradeStrategy {0, 1}", test_basic_rollout_0_1},
	{"new cmd, upgradeStrategy {1, 1}", test_basic_rollout_1_1},
	{"new cmd, upgradeStrategy {0.3, 1}", test_basic_rollout_03_1},
	{"instances 0: no process", test_basic_suspend},
	{"DELETE: no process, 404, gone after a restart", test_basic_delete},
	CU_TEST_INFO_NULL,
};

/* ---- Crash loop and the launch delay ------------------------------------ */

static struct daemon crash;

static int crash_init(void)
{
	return daemon_start(&crash, NULL) == 0 ? 0 : -1;
}

static int crash_cleanup(void)
{
	return crash.pid == 0 || daemon_stop(&crash) == 0 ? 0 : -1;
}

/* "2015-09-25T15:13:48.343Z" in ms since the epoch, -1 when malformed. */
static int64_t parse_ts(const char *s)
{
	struct tm tm = {0};
	int ms = 0;
	char *end;

	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    sscanf(end, ".%3dZ", &ms) != 1)
		return -1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One failure of the crashing app, from its lastTaskFailure. */
struct failure {
	char task_id[256];
	char state[32];
	char message[256];
	int64_t at_ms;
};

#define MAX_FAILURES 8

struct crash_watch {
	struct failure failures[MAX_FAILURES];
	int n;
	bool saw_delayed;       /* a queue entry with overdue false and time
	                           left */
	double max_time_left;
};

/* One look at the app's lastTaskFailure and its queue entry. */
static void crash_look(struct crash_watch *w)
{
	struct json_object *app = get_app(&crash, "crash");
	struct json_object *q = daemon_get_json(&crash, "/v2/queue");
	const char *task_id = json_str_at(app, "lastTaskFailure.taskId");
	struct json_object *list = json_at(q, "queue");

	if (task_id != NULL && w->n < MAX_FAILURES &&
	    (w->n == 0 ||
	     strcmp(w->failures[w->n - 1].task_id, task_id) != 0)) {
		struct failure *f = &w->failures[w->n++];

		snprintf(f->task_id, sizeof(f->task_id), "%s", task_id);
		snprintf(f->state, sizeof(f->state), "%s",
		         str0(json_str_at(app, "lastTaskFailure.state")));
		snprintf(f->message, sizeof(f->message), "%s",
		         str0(json_str_at(app, "lastTaskFailure.message")));
		f->at_ms = parse_ts(
			json_str_at(app, "lastTaskFailure.timestamp"));
	}
	for (size_t i = 0; list != NULL && i < json_object_array_length(list);
	     i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct json_object *overdue = json_at(e, "delay.overdue");
		struct json_object *left =
			json_at(e, "delay.timeLeftSeconds");

		if (json_str_at(e, "app.id") == NULL ||
		    strcmp(json_str_at(e, "app.id"), "/crash") != 0 ||
		    overdue == NULL || left == NULL)
			continue;
		if (!json_object_get_boolean(overdue) &&
		    json_object_get_double(left) > 0) {
			w->saw_delayed = true;
			if (json_object_get_double(left) > w->max_time_left)
				w->max_time_left =
					json_object_get_double(left);
		}
	}
	json_object_put(app);
	json_object_put(q);
}

/* Watch until N failures are known or the deadline (ms, monotonic). */
static void crash_watch_until(struct crash_watch *w, int n, int64_t deadline)
{
	while (w->n < n && harness_now_ms() < deadline) {
		crash_look(w);
		harness_sleep_ms(WAIT_POLL_MS);
	}
}

/* "<instance>._app.<n>": the instance id into BUF and n, or -1. */
static long incarnation(const char *task_id, char *buf, size_t len)
{
	const char *dot = strstr(task_id, "._app.");
	char *end;
	long n;

	if (dot == NULL)
		return -1;
	n = strtol(dot + 6, &end, 10);
	if (*end != '\0')
		return -1;
	snprintf(buf, len, "%.*s", (int)(dot - task_id), task_id);
	return n;
}

/* Failure K relaunches the same instance as the next incarnation. */
static void check_next_incarnation(const struct failure *prev,
                                   const struct failure *next)
{
	char a[256], b[256];
	long na = incarnation(prev->task_id, a, sizeof(a));
	long nb = incarnation(next->task_id, b, sizeof(b));

	if (!CHECK(na >= 1 && nb == na + 1) || !CHECK_STR(b, a))
		fprintf(stderr, "\n%s then %s: not the next incarnation of "
		                "the same instance\n",
		        prev->task_id, next->task_id);
}

static void test_crash_backoff(void)
{
	static const char app[] =
		"{\"id\": \"crash\", \"cmd\": \"exit 1\", \"cpus\": 0.01, "
		"\"mem\": 8, \"instances\": 1, \"backoffSeconds\": 1, "
		"\"backoffFactor\": 2, \"maxLaunchDelaySeconds\": 300}";
	struct crash_watch w = {0};
	struct deployed dep;
	struct json_object *o = NULL;
	int64_t delay_ms = 1000, f4_deadline;
	int status;

	if (!deploy(&crash, "POST", "/v2/apps", app, 201, &dep))
		return;
	/* Delays 1, 2 and 4 s between the four failures: 7 s. */
	crash_watch_until(&w, 4, harness_now_ms() + 7000 + SETTLE_MS);
	if (!CHECK_INT(w.n, 4))
		return;
	for (int i = 0; i < w.n; i++) {
		CHECK_STR(w.failures[i].state, "TASK_FAILED");
		CHECK(w.failures[i].at_ms > 0);
		if (i == 0)
			continue;
		check_next_incarnation(&w.failures[i - 1], &w.failures[i]);
		/* Relaunched no earlier than its delay after the failure
		 * (timestamps are whole ms: 1 ms of rounding), and each delay
		 * longer than the one before. */
		if (!CHECK(w.failures[i].at_ms - w.failures[i - 1].at_ms >=
		           delay_ms - 1))
			fprintf(stderr, "\nfailure %d came %lld ms after the "
			                "one before; the delay is %lld ms\n",
			        i + 1,
			        (long long)(w.failures[i].at_ms -
			                    w.failures[i - 1].at_ms),
			        (long long)delay_ms);
		if (i >= 2)
			CHECK(w.failures[i].at_ms - w.failures[i - 1].at_ms >
			      w.failures[i - 1].at_ms - w.failures[i - 2].at_ms);
		delay_ms *= 2;
	}
	/* Now an 8 s delay: the queue says Delayed (reference 3.5). */
	{
		int64_t until = harness_now_ms() + 2000;

		w.saw_delayed = false;
		while (!w.saw_delayed && harness_now_ms() < until) {
			crash_look(&w);
			harness_sleep_ms(WAIT_POLL_MS);
		}
	}
	if (!CHECK(w.saw_delayed))
		fprintf(stderr, "\n/v2/queue never showed /crash delayed "
		                "(overdue false, timeLeftSeconds > 0)\n");
	CHECK(w.max_time_left <= 8);

	status = daemon_json(&crash, "DELETE", "/v2/queue/crash/delay", NULL,
	                     &o);
	CHECK_INT(status, 204);
	CHECK(o == NULL);
	json_object_put(o);
	/* At once: before the 8 s delay would have ended. */
	f4_deadline = w.failures[3].at_ms + 8000;
	while (w.n < 5 && wall_ms() < f4_deadline - 500) {
		crash_look(&w);
		harness_sleep_ms(WAIT_POLL_MS);
	}
	if (!CHECK_INT(w.n, 5)) {
		fprintf(stderr, "\nno relaunch after DELETE "
		                "/v2/queue/crash/delay before the delay "
		                "ended\n");
		return;
	}
	CHECK(w.failures[4].at_ms < f4_deadline);
	check_next_incarnation(&w.failures[3], &w.failures[4]);

	/* An app that is not queued. */
	o = NULL;
	status = daemon_json(&crash, "DELETE", "/v2/queue/nothing/delay", NULL,
	                     &o);
	CHECK_INT(status, 404);
	CHECK_STR(json_str_at(o, "message"),
	          "Application /nothing not found in tasks queue.");
	json_object_put(o);
	/* The failures run no process. */
	CHECK_INT(task_procs_count(&crash, NULL), 0);
}

static CU_TestInfo crash_tests[] = {
	{"exit 1: growing delays, Delayed, delay reset", test_crash_backoff},
	CU_TEST_INFO_NULL,
};

/* ---- SIGKILL in the middle of a rolling restart ------------------------ */

static struct daemon killed;

static int killed_init(void)
{
	if (!setup_work_dir())
		return -1;
	return daemon_start(&killed, agent_args) == 0 ? 0 : -1;
}

static int killed_cleanup(void)
{
	return killed.pid == 0 || daemon_stop(&killed) == 0 ? 0 : -1;
}

/* Process groups sampled while the rollout runs, stadiond up or not:
 * there are never fewer than minHealthy (8) nor more than maxCapacity
 * (10), and no task runs twice. */
struct kill_watch {
	int min_procs, max_procs, doubles, samples;
};

static void kill_watch_look(struct kill_watch *w)
{
	struct task_proc *procs;
	size_t n;

	if (task_procs_list(&killed, &procs, &n) != 0)
		return;
	w->samples++;
	if ((int)n < w->min_procs)
		w->min_procs = (int)n;
	if ((int)n > w->max_procs)
		w->max_procs = (int)n;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(procs[i].task_id, procs[j].task_id) == 0)
				w->doubles++;
	free(procs);
}

static void test_killed_mid_rollout(void)
{
	char cmd[256], quoted[512], body[1024];
	struct deployed first, dep;
	struct kill_watch w = {INT_MAX, 0, 0, 0};
	int64_t until;
	bool mid = false;

	/* {0.8, 0}: 2 old at a time, each kill a second long: five rounds. */
	slow_kill_cmd(cmd, sizeof(cmd), "old");
	snprintf(body, sizeof(body),
	         "{\"id\": \"roll\", \"cmd\": %s, \"cpus\": 0.1, \"mem\": 10, "
	         "\"instances\": 10, \"taskKillGracePeriodSeconds\": 3, "
	         "\"upgradeStrategy\": {\"minimumHealthCapacity\": 0.8, "
	         "\"maximumOverCapacity\": 0}}",
	         json_quote(cmd, quoted, sizeof(quoted)));
	if (!deploy(&killed, "POST", "/v2/apps", body, 201, &first) ||
	    !wait_settled(&killed, "roll", 10, first.version))
		return;

	slow_kill_cmd(cmd, sizeof(cmd), "new");
	snprintf(body, sizeof(body), "{\"cmd\": %s}",
	         json_quote(cmd, quoted, sizeof(quoted)));
	if (!deploy(&killed, "PUT", "/v2/apps/roll", body, 200, &dep))
		return;
	/* The middle: new ones run and old ones are still there. */
	until = harness_now_ms() + ROLLOUT_MS;
	while (!mid && harness_now_ms() < until) {
		kill_watch_look(&w);
		mid = task_procs_count(&killed, dep.version) >= 2 &&
		      task_procs_count(&killed, first.version) >= 4;
		if (!mid)
			harness_sleep_ms(10);
	}
	if (!CHECK(mid)) {
		fprintf(stderr, "\nnever saw the middle of the rollout\n");
		return;
	}
	CHECK_INT(daemon_kill(&killed, SIGKILL), 128 + SIGKILL);
	/* Tasks outlive stadiond; those it was killing finish dying. */
	until = harness_now_ms() + 1500;
	while (harness_now_ms() < until) {
		kill_watch_look(&w);
		harness_sleep_ms(WAIT_POLL_MS);
	}
	CHECK(task_procs_count(&killed, dep.version) >= 2);
	if (!CHECK(daemon_restart(&killed, agent_args) == 0))
		return;
	until = harness_now_ms() + ROLLOUT_MS;
	for (;;) {
		struct settled s = {&killed, "roll", 10, dep.version};

		kill_watch_look(&w);
		if ((deployment_listed(&killed, dep.id) == 0 &&
		     is_settled(&s)) ||
		    harness_now_ms() >= until)
			break;
		harness_sleep_ms(WAIT_POLL_MS);
	}
	fprintf(stderr,
	        "\nSIGKILL mid-rollout: %d samples, %d to %d task process "
	        "groups, %d doubles\n",
	        w.samples, w.min_procs, w.max_procs, w.doubles);
	CHECK_INT(deployment_listed(&killed, dep.id), 0);
	if (!wait_settled(&killed, "roll", 10, dep.version))
		return;
	CHECK(w.min_procs >= 8);
	CHECK(w.max_procs <= 10);
	CHECK_INT(w.doubles, 0);
	CHECK_INT(task_procs_count(&killed, first.version), 0);
	CHECK_INT(task_procs_count(&killed, dep.version), 10);
	check_procs_are_tasks(&killed, "roll", dep.version);
	{
		struct json_object *app = get_app(&killed, "roll");

		CHECK_INT(json_int_at(app, "instances", -1), 10);
		CHECK_INT(json_int_at(app, "tasksRunning", -1), 10);
		CHECK_STR(json_str_at(app, "version"), dep.version);
		json_object_put(app);
	}
	CHECK_INT(n_deployments(&killed), 0);
}

static bool deployment_is_listed(void *arg)
{
	const struct deployed *dep = arg;

	return deployment_listed(&killed, dep->id) == 1;
}

/* A deployment that cannot finish (the new version fits on no agent),
 * resumed after a SIGKILL of stadiond, is rolled back by DELETE: the
 * definitions it started from are read back from the stored root. */
static void test_killed_rollback(void)
{
	struct deployed first, stuck, back, gone;
	char path[128];
	int tries;

	/* The rollout test's app goes first: counts are per daemon. */
	if (!deploy(&killed, "DELETE", "/v2/apps/roll", NULL, 200, &gone) ||
	    !CHECK(wait_until(no_task_process, &killed, SETTLE_MS)))
		return;
	if (!deploy(&killed, "POST", "/v2/apps",
	            "{\"id\": \"rb\", \"cmd\": \"sleep 3600\", "
	            "\"cpus\": 0.1, \"mem\": 10, \"instances\": 2}",
	            201, &first) ||
	    !wait_settled(&killed, "rb", 2, first.version))
		return;
	if (!deploy(&killed, "PUT", "/v2/apps/rb", "{\"cpus\": 100000}", 200,
	            &stuck) ||
	    !CHECK(wait_until(deployment_is_listed, &stuck, SETTLE_MS)))
		return;
	CHECK_INT(daemon_kill(&killed, SIGKILL), 128 + SIGKILL);
	if (!CHECK(daemon_restart(&killed, agent_args) == 0) ||
	    !CHECK(wait_until(deployment_is_listed, &stuck, SETTLE_MS)))
		return;
	/* The old instances kept running all along. */
	CHECK_INT(task_procs_count(&killed, first.version), 2);
	snprintf(path, sizeof(path), "/v2/deployments/%s", stuck.id);
	memset(&back, 0, sizeof(back));
	/* 409 only while the definitions are still being read back. */
	for (tries = 0; tries < 50; tries++) {
		struct http_resp resp;
		struct json_object *o;

		if (!CHECK(daemon_call(&killed, "DELETE", path, NULL, NULL,
		                       &resp) == 0))
			return;
		if (resp.status == 409) {
			http_resp_free(&resp);
			harness_sleep_ms(WAIT_POLL_MS);
			continue;
		}
		CHECK_INT(resp.status, 200);
		o = http_resp_json(&resp);
		snprintf(back.id, sizeof(back.id), "%s",
		         str0(json_str_at(o, "deploymentId")));
		snprintf(back.version, sizeof(back.version), "%s",
		         str0(json_str_at(o, "version")));
		json_object_put(o);
		http_resp_free(&resp);
		break;
	}
	if (!CHECK(back.id[0] != '\0'))
		return;
	if (!wait_settled(&killed, "rb", 2, back.version))
		return;
	CHECK_INT(deployment_listed(&killed, stuck.id), 0);
	{
		struct json_object *app = get_app(&killed, "rb");
		struct json_object *cpus = json_at(app, "cpus");

		CHECK(cpus != NULL && json_object_get_double(cpus) == 0.1);
		CHECK_INT(json_int_at(app, "tasksRunning", -1), 2);
		json_object_put(app);
	}
}

/* A leader killed right after launches it did not store yet (forced with
 * the test fault STADIOND_TEST_LOSE_LAUNCH_WRITES): the instances are
 * stored as Scheduled with their task ids, so the next stadiond finds the
 * tasks' launch records and adopts them: the same processes, none killed,
 * none started again. */
static void test_unstored_launch_adopted(void)
{
	static const char *const fault[] = {
		"STADIOND_TEST_LOSE_LAUNCH_WRITES=1", NULL};
	struct daemon d = {0};
	struct deployed dep;
	struct task_proc *before = NULL, *after = NULL;
	size_t n_before = 0, n_after = 0;

	if (!CHECK(daemon_start_env(&d, agent_args, fault) == 0))
		return;
	if (!deploy(&d, "POST", "/v2/apps",
	            "{\"id\": \"unstored\", \"cmd\": \"sleep 1000\", "
	            "\"cpus\": 0.1, \"mem\": 10, \"instances\": 2}",
	            201, &dep) ||
	    !wait_settled(&d, "unstored", 2, dep.version) ||
	    !CHECK_INT(task_procs_list(&d, &before, &n_before), 0))
		goto out_stop;
	CHECK_INT(n_before, 2);
	CHECK(daemon_log_contains(&d, "STADIOND_TEST_LOSE_LAUNCH_WRITES"));
	CHECK_INT(daemon_kill(&d, SIGKILL), 128 + SIGKILL);
	if (!CHECK(daemon_restart(&d, agent_args) == 0) ||
	    !wait_settled(&d, "unstored", 2, dep.version))
		goto out_stop;
	CHECK(daemon_log_contains(&d, "was started but its launch was not "
	                              "stored; adopting it"));
	/* Give a wrong kill or relaunch time to show. */
	harness_sleep_ms(1000);
	if (CHECK_INT(task_procs_list(&d, &after, &n_after), 0) &&
	    CHECK_INT(n_after, n_before)) {
		for (size_t i = 0; i < n_before; i++) {
			bool same = false;

			for (size_t k = 0; k < n_after; k++)
				same |= strcmp(before[i].task_id,
				               after[k].task_id) == 0 &&
				        before[i].pgid == after[k].pgid;
			CHECK(same);
		}
	}
	check_procs_are_tasks(&d, "unstored", dep.version);
out_stop:
	free(before);
	free(after);
	CHECK_INT(daemon_stop(&d), 0);
}

static CU_TestInfo killed_tests[] = {
	{"SIGKILL mid-rollout, restart: completes, no orphan, no double",
	 test_killed_mid_rollout},
	{"SIGKILL during a stuck deployment, restart: rollback by DELETE",
	 test_killed_rollback},
	{"SIGKILL before launches were stored: adopted, not relaunched",
	 test_unstored_launch_adopted},
	CU_TEST_INFO_NULL,
};

/* ---- DOCKER ------------------------------------------------------------- */

/* The DOCKER app of the walkthrough as written, without networks.
 * Marathon 1.10 accepts it: AppNormalization.forDeprecated drops
 * container.portMappings when the networks are host or absent
 * (maybeDropPortMappings), so it runs on the host network. */
#define DOCKER_APP_AS_WRITTEN                                               \
	"{\"id\": \"d\", \"container\": {\"type\": \"DOCKER\", \"docker\": "  \
	"{\"image\": \"nginx\"}, \"portMappings\": [{\"containerPort\": 80, " \
	"\"hostPort\": 0}]}, \"cpus\": 0.1, \"mem\": 32, \"instances\": 1}"

/* The same on a bridge network, where the port mapping publishes a host
 * port (-p). */
#define DOCKER_APP                                                          \
	"{\"id\": \"d\", \"container\": {\"type\": \"DOCKER\", \"docker\": "  \
	"{\"image\": \"nginx\"}, \"portMappings\": [{\"containerPort\": 80, " \
	"\"hostPort\": 0}]}, \"networks\": [{\"mode\": "                    \
	"\"container/bridge\"}], \"cpus\": 0.1, \"mem\": 32, \"instances\": 1}"

/* A PATH directory of its own for each daemon: the machine may have a real
 * docker in /usr/bin or /usr/local/bin, and the daemon must see only
 * what the test puts there. */
static char nodocker_dir[PATH_MAX + 32], standin_dir[PATH_MAX + 32];
static char args_file[PATH_MAX + 64];
static char nodocker_path[PATH_MAX + 64], standin_path[PATH_MAX + 64];

static bool docker_dirs(void)
{
	char script[4 * PATH_MAX], docker[PATH_MAX + 64];

	if (!setup_work_dir())
		return false;
	snprintf(nodocker_dir, sizeof(nodocker_dir), "%s/bin-empty", work_dir);
	snprintf(standin_dir, sizeof(standin_dir), "%s/bin-docker", work_dir);
	snprintf(args_file, sizeof(args_file), "%s/docker-args", work_dir);
	snprintf(nodocker_path, sizeof(nodocker_path), "PATH=%s",
	         nodocker_dir);
	snprintf(standin_path, sizeof(standin_path), "PATH=%s", standin_dir);
	/* It records its arguments one a line (written whole, then renamed,
	 * so a reader never sees half) and stays up as a container would;
	 * absolute paths because its PATH has nothing else. */
	snprintf(script, sizeof(script),
	         "#!/bin/sh\n"
	         "# A stand-in for the docker CLI.\n"
	         "printf '%%s\\n' \"$@\" > '%s.tmp'\n"
	         "/bin/mv '%s.tmp' '%s'\n"
	         "exec /bin/sleep 3600\n",
	         args_file, args_file, args_file);
	snprintf(docker, sizeof(docker), "%s/docker", standin_dir);
	return (mkdir(nodocker_dir, 0755) == 0 || errno == EEXIST) &&
	       (mkdir(standin_dir, 0755) == 0 || errno == EEXIST) &&
	       write_file(docker, script, 0755);
}

static bool app_has_failure(void *arg)
{
	struct json_object *app = get_app(arg, "d");
	bool has = json_str_at(app, "lastTaskFailure.taskId") != NULL;

	json_object_put(app);
	return has;
}

static void test_docker_missing(void)
{
	const char *env[] = {nodocker_path, NULL};
	struct daemon d;
	struct deployed dep;
	struct json_object *app = NULL, *all = NULL;
	bool found = false;

	if (!CHECK(docker_dirs()) ||
	    !CHECK(daemon_start_env(&d, NULL, env) == 0))
		return;
	if (!deploy(&d, "POST", "/v2/apps", DOCKER_APP_AS_WRITTEN, 201, &dep)) {
		fprintf(stderr, "\nthe DOCKER app as written was refused (see "
		                "above); going on with it on a bridge network\n");
		if (!deploy(&d, "POST", "/v2/apps", DOCKER_APP, 201, &dep))
			goto out;
	}
	if (!CHECK(wait_until(app_has_failure, &d, SETTLE_MS))) {
		fprintf(stderr, "\nthe docker app never failed\n");
		goto out;
	}
	app = get_app(&d, "d");
	CHECK_STR(json_str_at(app, "lastTaskFailure.state"), "TASK_FAILED");
	CHECK_STR(json_str_at(app, "lastTaskFailure.appId"), "/d");
	CHECK_CONTAINS(json_str_at(app, "lastTaskFailure.message"),
	               "docker is not installed");
	/* And in the listing, embedded on request. */
	all = daemon_get_json(&d, "/v2/apps?embed=apps.lastTaskFailure");
	for (size_t i = 0;
	     i < json_object_array_length(json_at(all, "apps")); i++) {
		struct json_object *a =
			json_object_array_get_idx(json_at(all, "apps"), i);

		if (strcmp(str0(json_str_at(a, "id")), "/d") != 0)
			continue;
		found = true;
		CHECK_STR(json_str_at(a, "lastTaskFailure.state"),
		          "TASK_FAILED");
		CHECK_CONTAINS(json_str_at(a, "lastTaskFailure.message"),
		               "docker is not installed");
	}
	CHECK(found);
	CHECK_INT(task_procs_count(&d, NULL), 0);
out:
	json_object_put(app);
	json_object_put(all);
	CHECK_INT(daemon_stop(&d), 0);
}

/* Whether ARGS (NULL-terminated) has NAME followed by VALUE. */
static bool has_pair(char **args, const char *name, const char *value)
{
	for (size_t i = 0; args[i] != NULL && args[i + 1] != NULL; i++)
		if (strcmp(args[i], name) == 0 && strcmp(args[i + 1], value) == 0)
			return true;
	return false;
}

static bool args_written(void *arg)
{
	(void)arg;
	return access(args_file, R_OK) == 0;
}

static void test_docker_standin(void)
{
	const char *env[] = {standin_path, NULL};
	struct daemon d;
	struct deployed dep;
	struct json_object *tasks = NULL;
	char *text = NULL, *args[256], *save = NULL, want[512];
	const char *task_id;
	long host_port;
	size_t n = 0;

	if (!CHECK(docker_dirs()) ||
	    !CHECK(daemon_start_env(&d, NULL, env) == 0))
		return;
	unlink(args_file);
	if (!deploy(&d, "POST", "/v2/apps", DOCKER_APP, 201, &dep) ||
	    !wait_settled(&d, "d", 1, NULL))
		goto out;
	if (!CHECK(wait_until(args_written, NULL, SETTLE_MS)))
		goto out;
	tasks = get_tasks(&d, "d");
	task_id = json_str_at(tasks, "0.id");
	host_port = (long)json_int_at(tasks, "0.ports.0", -1);
	if (!CHECK(task_id != NULL) || !CHECK(host_port > 0) ||
	    !CHECK((text = slurp(args_file)) != NULL))
		goto out;
	for (char *line = strtok_r(text, "\n", &save);
	     line != NULL && n + 1 < sizeof(args) / sizeof(args[0]);
	     line = strtok_r(NULL, "\n", &save))
		args[n++] = line;
	args[n] = NULL;
	if (!CHECK(n >= 4))
		goto out;
	CHECK_STR(args[0], "run");
	CHECK(has_pair(args, "--name", task_id));
	snprintf(want, sizeof(want), "%ld:80/tcp", host_port);
	CHECK(has_pair(args, "-p", want));
	snprintf(want, sizeof(want), "MESOS_TASK_ID=%s", task_id);
	CHECK(has_pair(args, "-e", want));
	CHECK(has_pair(args, "--label", want));
	CHECK(has_pair(args, "-e", "MARATHON_APP_ID=/d"));
	CHECK(has_pair(args, "-e", "MARATHON_APP_DOCKER_IMAGE=nginx"));
	snprintf(want, sizeof(want), "MARATHON_APP_VERSION=%s", dep.version);
	CHECK(has_pair(args, "-e", want));
	snprintf(want, sizeof(want), "PORT0=%ld", host_port);
	CHECK(has_pair(args, "-e", want));
	/* No command: the image's own entrypoint, the image last. */
	CHECK_STR(args[n - 1], "nginx");
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(args[i], "--entrypoint") != 0);
	/* The CLI is the task's process, in its sandbox. */
	CHECK_INT(task_procs_count(&d, NULL), 1);
	check_procs_are_tasks(&d, "d", NULL);
out:
	if (n == 0 && text == NULL)
		fprintf(stderr, "\n(no docker arguments recorded)\n");
	free(text);
	json_object_put(tasks);
	CHECK_INT(daemon_stop(&d), 0);
}

static CU_TestInfo docker_tests[] = {
	{"no docker on PATH: TASK_FAILED, says so", test_docker_missing},
	{"stand-in docker: the docker run arguments", test_docker_standin},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"basic-0 walkthrough", basic_init, basic_cleanup, NULL, NULL,
	 basic_tests},
	{"crash loop and launch delay", crash_init, crash_cleanup, NULL, NULL,
	 crash_tests},
	{"SIGKILL during a rolling restart", killed_init, killed_cleanup, NULL,
	 NULL, killed_tests},
	{"DOCKER apps", NULL, NULL, NULL, NULL, docker_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	int rc = cu_run(suites);

	remove_work_dir();
	return rc;
}
