#include "config.h"

#include "api/api.h"

/* Matched in order: put specific patterns before {id*} ones. */
const struct http_route api_routes[] = {
	{HTTP_GET, "/ping", api_ping},
	{HTTP_GET, "/v2/info", api_info},
	{HTTP_GET, "/v2/plugins", api_plugins},
	{HTTP_GET, "/v2/apps", api_apps_list},
	{HTTP_POST, "/v2/apps", api_apps_create},
	{HTTP_PUT, "/v2/apps", api_apps_put_many},
	{HTTP_PATCH, "/v2/apps", api_apps_patch_many},
	{HTTP_GET, "/v2/apps/{id*}/tasks", api_tasks_app},
	{HTTP_DELETE, "/v2/apps/{id*}/tasks", api_tasks_app_kill},
	{HTTP_GET, "/v2/apps/{id*}/tasks/{task}", api_tasks_app_one},
	{HTTP_DELETE, "/v2/apps/{id*}/tasks/{task}", api_tasks_app_kill_one},
	{HTTP_GET, "/v2/apps/{id*}/versions", api_apps_versions},
	{HTTP_GET, "/v2/apps/{id*}/versions/{version}", api_apps_version},
	{HTTP_POST, "/v2/apps/{id*}/restart", api_apps_restart},
	{HTTP_GET, "/v2/apps/{id*}", api_apps_get},
	{HTTP_PUT, "/v2/apps/{id*}", api_apps_put},
	{HTTP_PATCH, "/v2/apps/{id*}", api_apps_patch},
	{HTTP_DELETE, "/v2/apps/{id*}", api_apps_delete},
	{HTTP_GET, "/v2/tasks", api_tasks_list},
	{HTTP_POST, "/v2/tasks/delete", api_tasks_delete},
	{HTTP_GET, "/v2/queue", api_queue_list},
	{HTTP_DELETE, "/v2/queue/{id*}/delay", api_queue_reset_delay},
	{HTTP_GET, "/v2/deployments", api_deployments_list},
	{HTTP_DELETE, "/v2/deployments/{id}", api_deployments_cancel},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
