/*
 * stadiond: start-up and shutdown.  Parse flags, set up logging, the event
 * loop, plugins and the REST API, run the loop until SIGTERM or SIGINT, then
 * undo it all in reverse.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/thread.h>

#include "api/api.h"
#include "driver/driver_local.h"
#include "fsutil.h"
#include "leader/leader_proxy.h"
#include "leader/leader_store.h"
#include "log.h"
#include "stadiond.h"

extern char **environ;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct stadiond *d = arg;

	log_info("received %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(d->base, NULL);
}

/* What this build cannot do yet is refused at start-up, not pretended. */
static int check_supported(const struct flags *f)
{
	if (strcmp(f->master, "local") != 0) {
		log_error("--master %s: this build runs tasks only on the "
		          "embedded local driver; use --master local",
		          f->master);
		return -1;
	}
	return 0;
}

static int load_plugins(struct stadiond *d)
{
	const struct flags *f = &d->flags;
	char err[1024];

	if (f->plugin_conf != NULL &&
	    plugin_conf_load(f->plugin_conf, &d->plugin_conf, err,
	                     sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	if (leader_store_configure(f, &d->plugin_conf, &d->store_name, err,
	                           sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	d->plugin_host = plugin_host_new(d->base);
	if (d->plugin_host == NULL ||
	    (d->plugins = plugin_set_new(d->plugin_host, d->plugin_conf)) ==
	            NULL) {
		log_error("cannot set up the plugin loader (libltdl)");
		return -1;
	}
	if (f->system_plugin_dir[0] != '\0')
		plugin_set_load_dir(d->plugins, f->system_plugin_dir, false);
	for (size_t i = 0; i < f->plugin_dir.n; i++)
		plugin_set_load_dir(d->plugins, f->plugin_dir.items[i], true);
	for (size_t i = 0;
	     d->plugin_conf != NULL && i < d->plugin_conf->n_entries; i++) {
		const struct plugin_conf_entry *e = &d->plugin_conf->entries[i];

		if (!e->used)
			log_warn("--plugin_conf: plugins.%s configures %s "
			         "plugin \"%s\", which is not installed; check "
			         "the name or the plugin directories",
			         e->id, e->kind, e->implementation);
	}
	if (d->plugins->n_refused > 0 && f->strict_plugins) {
		log_error("%zu plugin(s) refused and --strict_plugins is set; "
		          "fix or remove them (see the lines above)",
		          d->plugins->n_refused);
		return -1;
	}
	log_info("%zu plugin(s) loaded, %zu refused", d->plugins->n_loaded,
	         d->plugins->n_refused);
	return 0;
}

/* X-Marathon-Leader on every reply: this node standalone, whoever the
 * election found in cluster mode (none while nobody leads). */
static const char *leader_url(void *app)
{
	struct stadiond *d = app;
	const char *id = stadiond_leader(d);

	if (id == NULL)
		return NULL;
	snprintf(d->leader_url, sizeof(d->leader_url), "http://%s", id);
	return d->leader_url;
}

/* Open the repository over the store and start loading it; DONE(D, RC)
 * runs on the loop once the load is over (RC 0: loaded).  -1 when the
 * load cannot even start. */
static int open_state(struct stadiond *d, state_done_fn *done)
{
	const struct plugin *store = plugin_set_find(
		d->plugins, STADION_PLUGIN_KIND_STORAGE, d->store_name);
	const struct state_config cfg = {
		.max_versions = (uint32_t)d->flags.zk_max_versions,
	};
	struct stadion_err err = {0};

	if (store == NULL) {
		log_error("no storage plugin \"%s\" is loaded (see the "
		          "plugin lines above for why); install stadion's "
		          "bundled plugins or point --plugin_dir at a directory "
		          "holding storage_%s.so",
		          d->store_name, d->store_name);
		return -1;
	}
	d->state = state_new(store->ops, store->state, &cfg);
	if (d->state == NULL) {
		log_error("out of memory opening the state");
		return -1;
	}
	if (state_load(d->state, done, d, &err) != 0) {
		log_error("cannot load the state: %s", err.msg);
		return -1;
	}
	return 0;
}

static void state_loaded_sync(void *arg, int rc, const char *errmsg)
{
	struct stadiond *d = arg;

	d->load_rc = rc;
	if (rc != 0)
		log_error("cannot load the state: %s", errmsg);
}

/* Standalone: load the state before anything is served, running the loop
 * until the load is done. */
static int open_state_sync(struct stadiond *d)
{
	d->load_rc = 1; /* still loading */
	if (open_state(d, state_loaded_sync) != 0)
		return -1;
	/* No event may be pending while a store's own thread works: wait
	 * for its post() all the same. */
	while (d->load_rc == 1 &&
	       event_base_loop(d->base, EVLOOP_ONCE |
	                                        EVLOOP_NO_EXIT_ON_EMPTY) == 0)
		;
	return d->load_rc == 0 ? 0 : -1;
}

/* The local driver, with its agents (--local_agents, or this host). */
static int open_driver(struct stadiond *d)
{
	const struct driver_local_config cfg = {
		.data_dir = d->flags.data_dir,
		.agents_file = d->flags.local_agents,
		.hostname = d->flags.hostname,
	};
	char err[1024];

	d->driver = driver_local_new(d->base, &cfg, err, sizeof(err));
	if (d->driver == NULL) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static bool task_known(void *arg, const char *task_id)
{
	return tracker_instance_by_task(arg, task_id) != NULL;
}

/* Once the tracker has rebuilt every instance and the adopted tasks have
 * reported: first the processes a killed stadiond spawned but never
 * recorded (or whose instance it had moved on from), which nobody will
 * adopt, then the deployments. */
static void resume_deployments(void *arg)
{
	struct stadiond *d = arg;
	size_t killed = 0;

	if (driver_local_sweep(d->driver, task_known, d->tracker, &killed) != 0)
		log_warn("cannot look for unrecorded tasks in %s/sandboxes: %s",
		         d->flags.data_dir, strerror(errno));
	else if (killed > 0)
		log_warn("killed %zu task(s) that no stored instance names",
		         killed);
	if (deploy_run_resume(d->runner) != 0)
		log_error("out of memory while resuming deployments; restart "
		          "stadiond");
}

/* The tracker and the runner over the loaded state: adopt the tasks the
 * state records, then resume the deployments, which relaunch what is
 * missing. */
static int open_scheduler(struct stadiond *d)
{
	struct tracker_config tc = {
		.base = d->base,
		.state = d->state,
		.driver = d->driver,
		.env_prefix = d->flags.env_vars_prefix,
		.lose_launch_writes =
			getenv("STADIOND_TEST_LOSE_LAUNCH_WRITES") != NULL,
	};
	const struct driver_agent *agents;
	size_t n_agents = 0;
	struct deploy_run_config rc = {
		.state = d->state,
		.plugins = d->plugins,
		.port_min = (uint32_t)d->flags.local_port_min,
		.port_max = (uint32_t)d->flags.local_port_max,
	};
	struct health_config hc = {
		.base = d->base,
		.driver = d->driver,
		.plugins = d->plugins,
		.host = d->plugin_host,
		.stall_ms = d->flags.health_stall_ms,
		.breaker_percent = d->flags.health_breaker_percent,
		.breaker_min = d->flags.health_breaker_min,
		.env_prefix = d->flags.env_vars_prefix,
	};

	/* Placement constraints: the constraint plugins over the agents. */
	if (driver_agents(d->driver, &agents, &n_agents) != 0 ||
	    (d->place = sched_place_new(d->plugins, agents, n_agents)) ==
	            NULL) {
		log_error("out of memory");
		return -1;
	}
	tc.place = d->place;
	if (tc.lose_launch_writes)
		log_warn("STADIOND_TEST_LOSE_LAUNCH_WRITES is set: launches "
		         "are not stored (a test's fault injection; never in "
		         "production)");
	rc.place = d->place;
	if ((d->tracker = tracker_new(&tc)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	rc.tracker = d->tracker;
	hc.tracker = d->tracker;
	if ((d->runner = deploy_run_new(&rc)) == NULL) {
		log_error("no upgrade strategy plugin \"rolling\" is loaded; "
		          "stadiond needs it for restarts: check that "
		          "upgrade_rolling.so is in --system_plugin_dir and "
		          "enabled in --plugin_conf");
		return -1;
	}
	if ((d->health = health_new(&hc)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	if (tracker_recover(d->tracker, resume_deployments, d) != 0) {
		log_error("out of memory while recovering the state");
		return -1;
	}
	return 0;
}

/* The scheduler runs: stop reaping children, they are the tasks the
 * driver adopts. */
static void now_acting(struct stadiond *d)
{
	if (d->sig_chld != NULL) {
		event_free(d->sig_chld);
		d->sig_chld = NULL;
	}
	d->acting = true;
	log_info("stadiond is the leader and serves the API");
	api_leader_acting(d);
}

/* A take-over that cannot finish: leave, so that another node (or this
 * one, afresh) leads. */
static void give_up(struct stadiond *d)
{
	log_error("this node cannot take over as leader (see above); "
	          "stepping down and starting afresh");
	d->reexec = true;
	event_base_loopexit(d->base, NULL);
}

static void taken_over(void *arg, int rc, const char *errmsg)
{
	struct stadiond *d = arg;
	const struct state_snapshot *sn;

	/* stop() frees the store, which ends the load it was doing. */
	if (d->stopping)
		return;
	if (rc != 0) {
		log_error("cannot load the state: %s", errmsg);
		give_up(d);
		return;
	}
	sn = state_snapshot(d->state);
	log_info("state loaded: %zu app(s), %zu deployment(s), %zu "
	         "instance(s); taking over",
	         sn->n_apps, sn->n_deployments, sn->n_instances);
	/* Reconciliation before any kill: the tracker adopts every task the
	 * state records, and the sweep and the deployments wait until each
	 * has reported (resume_deployments). */
	if (open_driver(d) != 0 || open_scheduler(d) != 0) {
		give_up(d);
		return;
	}
	now_acting(d);
}

/* Elected: load the state; taken_over() goes on from there. */
static void begin_take_over(evutil_socket_t fd, short what, void *arg)
{
	struct stadiond *d = arg;

	(void)fd;
	(void)what;
	log_info("elected: loading the state");
	if (open_state(d, taken_over) != 0)
		give_up(d);
}

/* The election's news.  Elected: load the state and take over. */
static void leader_changed(void *arg)
{
	struct stadiond *d = arg;
	const char *delay = getenv("STADIOND_TEST_LOAD_DELAY_MS");
	struct timeval tv;
	long ms;

	api_leader_changed(d);
	if (!leader_is_self(d->leader) || d->opening)
		return;
	d->opening = true;
	if (delay == NULL || (ms = strtol(delay, NULL, 10)) <= 0) {
		begin_take_over(-1, 0, d);
		return;
	}
	log_warn("STADIOND_TEST_LOAD_DELAY_MS is set: the state is loaded "
	         "%ld ms after the election (a test's fault injection; "
	         "never in production)",
	         ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((d->load_delay = evtimer_new(d->base, begin_take_over, d)) == NULL ||
	    evtimer_add(d->load_delay, &tv) != 0)
		give_up(d);
}

/* A standby's children are tasks it started as a former leader, before
 * it was replaced by a fresh process (leader_reexec): the new leader
 * watches them, this process only reaps them. */
static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int start_election(struct stadiond *d, char **argv)
{
	const struct flags *f = &d->flags;
	const struct leader_config lc = {
		.base = d->base,
		.zk = f->zk,
		.session_timeout_ms = (int)f->zk_session_timeout,
		.self_id = d->self_id,
		.changed = leader_changed,
		.arg = d,
		.argv = argv,
	};
	const struct leader_proxy_config pc = {
		.base = d->base,
		.connect_timeout_ms = f->leader_proxy_connection_timeout,
		.read_timeout_ms = f->leader_proxy_read_timeout,
		.max_connections = (unsigned)f->leader_proxy_max_open_connections,
		.self_id = d->self_id,
	};
	char err[1024];

	if ((d->proxy = leader_proxy_new(&pc)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	d->sig_chld = evsignal_new(d->base, SIGCHLD, on_sigchld, d);
	if (d->sig_chld == NULL || evsignal_add(d->sig_chld, NULL) != 0) {
		log_error("cannot install the SIGCHLD handler");
		return -1;
	}
	on_sigchld(SIGCHLD, 0, d);
	if ((d->leader = leader_new(&lc, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int start(struct stadiond *d, char **argv)
{
	const struct flags *f = &d->flags;
	const bool cluster = f->zk != NULL && f->ha;
	struct http_server_conf hc = {
		.address = f->http_address,
		.port = (uint16_t)f->http_port,
		.max_body_bytes = (size_t)f->http_max_body_bytes,
		.routes = api_routes,
		.n_routes = api_n_routes,
		.app = d,
		.leader_url = leader_url,
		.intercept = api_leader_intercept,
	};
	char err[512];

	if (check_supported(f) != 0)
		return -1;
	snprintf(d->self_id, sizeof(d->self_id), "%s:%lld", f->hostname,
	         (long long)f->http_port);
	if (fsutil_mkdir_p(f->data_dir, 0750) != 0) {
		log_error("cannot create --data_dir %s: %s; create it or "
		          "choose another directory",
		          f->data_dir, strerror(errno));
		return -1;
	}
	/* post() from plugin threads needs a base with locking. */
	if (evthread_use_pthreads() != 0 || (d->base = event_base_new()) == NULL) {
		log_error("cannot create the event loop");
		return -1;
	}
	if (load_plugins(d) != 0)
		return -1;
	/* Standalone, nothing is served before the state is loaded; a
	 * cluster node serves (and proxies) from the start. */
	if (!cluster) {
		if (open_state_sync(d) != 0 || open_driver(d) != 0 ||
		    open_scheduler(d) != 0)
			return -1;
		now_acting(d);
	}
	if (http_server_new(d->base, &hc, &d->http, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	if (cluster && start_election(d, argv) != 0)
		return -1;
	d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
	if (d->sig_term == NULL || d->sig_int == NULL ||
	    evsignal_add(d->sig_term, NULL) != 0 ||
	    evsignal_add(d->sig_int, NULL) != 0) {
		log_error("cannot install signal handlers");
		return -1;
	}
	log_info("stadiond %s listening on %s:%lld (%s, data in %s)",
	         PACKAGE_VERSION, f->http_address, (long long)f->http_port,
	         cluster ? "cluster node, electing" : "standalone",
	         f->data_dir);
	return 0;
}

static void stop(struct stadiond *d)
{
	d->stopping = true;
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	/* Before the server: requests in flight to the leader get their
	 * 503 while their clients are still there. */
	leader_proxy_free(d->proxy);
	http_server_free(d->http);
	/* Before the plugins: running restart steps end() in the upgrade
	 * plugin. */
	deploy_run_free(d->runner);
	/* Before the tracker, whose instances point at its checks. */
	health_free(d->health);
	/* Inert now; its memory goes after the election session. */
	tracker_detach(d->tracker);
	/* Before the plugins: the compiled constraints are theirs. */
	sched_place_free(d->place);
	/* Tasks outlive stadiond: the driver lets go of them, kills none. */
	if (d->driver != NULL)
		driver_destroy(d->driver);
	/* The store first: its destroy() completes what is under way, and
	 * those completions use the repository. */
	state_close(d->state);
	plugin_set_free(d->plugins);
	plugin_host_free(d->plugin_host);
	plugin_conf_free(d->plugin_conf);
	/* After the store: its last writes are done before the session
	 * closes and the next node, elected at once, loads the state.
	 * Before freeing the tracker and the snapshot, which takes some
	 * 0.3 s with 10,000 instances: the next node need not wait. */
	leader_free(d->leader);
	tracker_free(d->tracker);
	state_free(d->state);
	if (d->sig_chld != NULL)
		event_free(d->sig_chld);
	if (d->load_delay != NULL)
		event_free(d->load_delay);
	if (d->base != NULL)
		event_base_free(d->base);
	flags_free(&d->flags);
}

int main(int argc, char **argv)
{
	struct stadiond d = {0};
	char err[512];
	int level, rc = EXIT_FAILURE;
	bool reexec;

	switch (flags_parse(&d.flags, argc, argv, environ, err, sizeof(err))) {
	case FLAGS_HELP:
		flags_usage(stdout);
		rc = EXIT_SUCCESS;
		goto out_stop;
	case FLAGS_VERSION:
		printf("stadiond %s (Marathon API %s, plugin ABI %d.%d)\n",
		       PACKAGE_VERSION, MARATHON_API_VERSION,
		       STADION_PLUGIN_ABI_MAJOR, STADION_PLUGIN_ABI_MINOR);
		rc = EXIT_SUCCESS;
		goto out_stop;
	case FLAGS_ERROR:
		fprintf(stderr, "stadiond: %s\n", err);
		rc = 2;
		goto out_stop;
	case FLAGS_OK:
		break;
	}
	if ((level = log_level_parse(d.flags.logging_level)) < 0) {
		fprintf(stderr,
		        "stadiond: --logging_level %s: use error, warn, info "
		        "or debug\n",
		        d.flags.logging_level);
		rc = 2;
		goto out_stop;
	}
	log_set_level(level);
	if (d.flags.syslog)
		log_open_syslog("stadiond");
	/* A client that hangs up mid-reply must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	if (start(&d, argv) == 0 && event_base_dispatch(d.base) == 0) {
		log_info(d.reexec ? "stadiond steps down and starts afresh"
		                  : "stadiond stopped");
		rc = EXIT_SUCCESS;
	}
out_stop:
	reexec = d.reexec;
	stop(&d);
	if (reexec)
		leader_reexec(argv);
	return rc;
}
