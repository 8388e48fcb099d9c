/*
 * api: the REST API's resources, one file each, and the route table that
 * maps Marathon's paths onto them (api.c).  Handlers find the daemon in
 * req->app (struct stadiond).
 */
#ifndef STADION_API_H
#define STADION_API_H

#include <stddef.h>

#include "http/http_router.h"
#include "http/http_server.h"

extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* api_ping.c: GET /ping */
void api_ping(struct http_req *req);
/* api_info.c: GET /v2/info */
void api_info(struct http_req *req);
/* api_plugins.c: GET /v2/plugins */
void api_plugins(struct http_req *req);

#endif /* STADION_API_H */
