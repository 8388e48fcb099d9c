/*
 * api_appinfo: Marathon's AppInfo, the app definition as GET /v2/apps and
 * its relatives return it: the canonical AppDefinition (model_app) plus
 * the runtime data a client asks for with embed= (reference 1.1, 2.4;
 * Marathon's InfoEmbedResolver and AppInfoBaseData), in this order:
 *   counts           tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy
 *   deployments      [{"id"}] of the running deployments affecting the app
 *   readiness        readinessCheckResults (always [] without readiness
 *                    checks)
 *   tasks            the tasks of the app's instances that have one
 *   lastTaskFailure  only when the app had a failure
 *   taskStats        "tasksStats": counts and lifetimes by version groups
 * Which embeds each endpoint adds by itself is the endpoint's business.
 */
#ifndef STADION_API_APPINFO_H
#define STADION_API_APPINFO_H

#include <stdint.h>

#include <json-c/json.h>

#include "http/http_server.h"
#include "model/model_app.h"
#include "stadiond.h"

enum api_appinfo_embed {
	API_APPINFO_COUNTS = 1u << 0,
	API_APPINFO_DEPLOYMENTS = 1u << 1,
	API_APPINFO_READINESS = 1u << 2,
	API_APPINFO_TASKS = 1u << 3,
	API_APPINFO_LAST_FAILURE = 1u << 4,
	API_APPINFO_TASK_STATS = 1u << 5,
};

/* The embeds one embed= value asks for: "apps.tasks", "app.tasks",
 * "group.apps.tasks" and "tasks" alike; "tasks" brings the deployments
 * along and the deprecated "failures" tasks, lastTaskFailure and
 * deployments, as in Marathon.  Unknown values ask for nothing. */
unsigned api_appinfo_embed_value(const char *value);
/* The union over every embed= parameter of REQ. */
unsigned api_appinfo_embeds(const struct http_req *req);

/* The AppInfo of APP (borrowed) with EMBEDS, the runtime data from D's
 * tracker and runner, task lifetimes measured at NOW_MS.  A new
 * reference; NULL when out of memory.  Its members share the definition's
 * JSON (references, not copies): serialize it, do not change it. */
struct json_object *api_appinfo_json(const struct stadiond *d,
                                     const struct app *app, unsigned embeds,
                                     int64_t now_ms);

#endif /* STADION_API_APPINFO_H */
