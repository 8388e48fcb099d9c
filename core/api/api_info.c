#include "config.h"

#include <pwd.h>
#include <unistd.h>

#include "api/api.h"
#include "stadiond.h"

static struct json_object *str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* The keys and their meaning are Marathon's (InfoResource); values that are
 * not flags in stadion are Marathon's defaults. */
static struct json_object *marathon_config(const struct flags *f)
{
	struct json_object *o = json_object_new_object();
	const char *user = f->mesos_user;
	struct passwd *pw;

	if (user == NULL && (pw = getpwuid(geteuid())) != NULL)
		user = pw->pw_name;
#define ADD(k, v) json_object_object_add(o, k, v)
	ADD("master", json_object_new_string(f->master));
	ADD("failover_timeout", json_object_new_int64(f->failover_timeout));
	ADD("framework_name", json_object_new_string(f->framework_name));
	ADD("ha", json_object_new_boolean(f->ha));
	ADD("checkpoint", json_object_new_boolean(1));
	ADD("local_port_min", json_object_new_int64(f->local_port_min));
	ADD("local_port_max", json_object_new_int64(f->local_port_max));
	ADD("executor", json_object_new_string("//cmd"));
	ADD("hostname", json_object_new_string(f->hostname));
	ADD("webui_url", str_or_null(f->webui_url));
	ADD("mesos_role", json_object_new_string(f->mesos_role));
	ADD("task_launch_timeout", json_object_new_int64(f->task_launch_timeout));
	ADD("task_reservation_timeout", json_object_new_int64(20000));
	ADD("reconciliation_initial_delay", json_object_new_int64(15000));
	ADD("reconciliation_interval",
	    json_object_new_int64(f->reconciliation_interval));
	ADD("mesos_user", str_or_null(user));
	ADD("leader_proxy_connection_timeout_ms",
	    json_object_new_int64(f->leader_proxy_connection_timeout));
	ADD("leader_proxy_read_timeout_ms",
	    json_object_new_int64(f->leader_proxy_read_timeout));
	ADD("features", json_object_new_array());
	ADD("mesos_leader_ui_url", NULL);
#undef ADD
	return o;
}

static struct json_object *zookeeper_config(const struct flags *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "zk", str_or_null(f->zk));
	json_object_object_add(o, "zk_compression",
	                       json_object_new_boolean(f->zk_compression));
	json_object_object_add(o, "zk_compression_threshold",
	                       json_object_new_int64(f->zk_compression_threshold));
	json_object_object_add(o, "zk_connection_timeout",
	                       json_object_new_int64(f->zk_connection_timeout));
	json_object_object_add(o, "zk_max_node_size",
	                       json_object_new_int64(f->zk_max_node_size));
	json_object_object_add(o, "zk_max_versions",
	                       json_object_new_int64(f->zk_max_versions));
	json_object_object_add(o, "zk_session_timeout",
	                       json_object_new_int64(f->zk_session_timeout));
	json_object_object_add(o, "zk_timeout",
	                       json_object_new_int64(f->zk_timeout));
	return o;
}

void api_info(struct http_req *req)
{
	const struct stadiond *d = req->app;
	const struct flags *f = &d->flags;
	struct json_object *info = json_object_new_object();
	struct json_object *http = json_object_new_object();
	json_object_object_add(http, "http_port",
	                       json_object_new_int64(f->http_port));
	json_object_object_add(http, "https_port",
	                       json_object_new_int64(f->https_port));
	json_object_object_add(info, "name", json_object_new_string("marathon"));
	json_object_object_add(info, "version",
	                       json_object_new_string(MARATHON_API_VERSION));
	json_object_object_add(info, "buildref",
	                       json_object_new_string(PACKAGE_NAME " " PACKAGE_VERSION));
	/* Answered by every node: a standby says who leads. */
	json_object_object_add(info, "elected",
	                       json_object_new_boolean(stadiond_elected(d)));
	json_object_object_add(info, "leader",
	                       str_or_null(stadiond_leader(d)));
	json_object_object_add(info, "frameworkId", NULL);
	json_object_object_add(info, "marathon_config", marathon_config(f));
	json_object_object_add(info, "zookeeper_config", zookeeper_config(f));
	json_object_object_add(info, "http_config", http);
	/* stadion's own: the health-kill circuit breaker (docs/api.md). */
	if (d->acting)
		json_object_object_add(info, "health",
		                       health_info_json(d->health));
	http_reply_json(req, 200, info);
}
