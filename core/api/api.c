#include "config.h"

#include "api/api.h"

/* Matched in order: put specific patterns before {id*} ones. */
const struct http_route api_routes[] = {
	{HTTP_GET, "/ping", api_ping},
	{HTTP_GET, "/v2/info", api_info},
	{HTTP_GET, "/v2/plugins", api_plugins},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
