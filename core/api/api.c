#include "config.h"

#include "api/api.h"

/* Matched in order: put specific patterns before {id*} ones.  A standby
 * proxies every route to the leader but those marked HTTP_ROUTE_ANY_NODE,
 * which describe the node itself. */
const struct http_route api_routes[] = {
	{HTTP_GET, "/ping", api_ping, HTTP_ROUTE_ANY_NODE},
	{HTTP_GET, "/v2/info", api_info, HTTP_ROUTE_ANY_NODE},
	{HTTP_GET, "/v2/plugins", api_plugins, HTTP_ROUTE_ANY_NODE},
	{HTTP_GET, "/v2/leader", api_leader_get, HTTP_ROUTE_ANY_NODE},
	{HTTP_DELETE, "/v2/leader", api_leader_delete, 0},
	{HTTP_GET, "/v2/apps", api_apps_list, 0},
	{HTTP_POST, "/v2/apps", api_apps_create, 0},
	{HTTP_PUT, "/v2/apps", api_apps_put_many, 0},
	{HTTP_PATCH, "/v2/apps", api_apps_patch_many, 0},
	{HTTP_GET, "/v2/apps/{id*}/tasks", api_tasks_app, 0},
	{HTTP_DELETE, "/v2/apps/{id*}/tasks", api_tasks_app_kill, 0},
	{HTTP_GET, "/v2/apps/{id*}/tasks/{task}", api_tasks_app_one, 0},
	{HTTP_DELETE, "/v2/apps/{id*}/tasks/{task}", api_tasks_app_kill_one, 0},
	{HTTP_GET, "/v2/apps/{id*}/versions", api_apps_versions, 0},
	{HTTP_GET, "/v2/apps/{id*}/versions/{version}", api_apps_version, 0},
	{HTTP_POST, "/v2/apps/{id*}/restart", api_apps_restart, 0},
	{HTTP_GET, "/v2/apps/{id*}", api_apps_get, 0},
	{HTTP_PUT, "/v2/apps/{id*}", api_apps_put, 0},
	{HTTP_PATCH, "/v2/apps/{id*}", api_apps_patch, 0},
	{HTTP_DELETE, "/v2/apps/{id*}", api_apps_delete, 0},
	{HTTP_GET, "/v2/tasks", api_tasks_list, 0},
	{HTTP_POST, "/v2/tasks/delete", api_tasks_delete, 0},
	{HTTP_GET, "/v2/queue", api_queue_list, 0},
	{HTTP_DELETE, "/v2/queue/{id*}/delay", api_queue_reset_delay, 0},
	{HTTP_GET, "/v2/deployments", api_deployments_list, 0},
	{HTTP_DELETE, "/v2/deployments/{id}", api_deployments_cancel, 0},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
