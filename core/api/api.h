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
/* api_leader.c: /v2/leader */
void api_leader_get(struct http_req *req);    /* GET /v2/leader */
void api_leader_delete(struct http_req *req); /* DELETE /v2/leader */
/* The HTTP server's intercept hook (http_server_conf): on a node that
 * does not act as the leader, every route not marked HTTP_ROUTE_ANY_NODE
 * is proxied to the leader (/v2/events redirected), or waits up to 2.5 s
 * while no leader is known or this node, elected, loads the state; then a
 * 503. */
struct stadiond;
bool api_leader_intercept(void *app, struct http_req *req);
/* The election's news reached the daemon: requests waiting for another
 * node to lead go to it. */
void api_leader_changed(struct stadiond *d);
/* This node acts as the leader now: the requests it held are served. */
void api_leader_acting(struct stadiond *d);
/* api_plugins.c: GET /v2/plugins */
void api_plugins(struct http_req *req);

/* api_apps.c: /v2/apps and /v2/apps/{id} */
void api_apps_list(struct http_req *req);        /* GET /v2/apps */
void api_apps_create(struct http_req *req);      /* POST /v2/apps */
void api_apps_put_many(struct http_req *req);    /* PUT /v2/apps */
void api_apps_patch_many(struct http_req *req);  /* PATCH /v2/apps */
void api_apps_get(struct http_req *req);         /* GET /v2/apps/{id} */
void api_apps_put(struct http_req *req);         /* PUT /v2/apps/{id} */
void api_apps_patch(struct http_req *req);       /* PATCH /v2/apps/{id} */
void api_apps_delete(struct http_req *req);      /* DELETE /v2/apps/{id} */
void api_apps_restart(struct http_req *req);     /* POST .../restart */
void api_apps_versions(struct http_req *req);    /* GET .../versions */
void api_apps_version(struct http_req *req);     /* GET .../versions/{v} */

/* api_tasks.c: tasks of apps */
void api_tasks_app(struct http_req *req);          /* GET .../tasks */
void api_tasks_app_kill(struct http_req *req);     /* DELETE .../tasks */
void api_tasks_app_one(struct http_req *req);      /* GET .../tasks/{t} */
void api_tasks_app_kill_one(struct http_req *req); /* DELETE .../tasks/{t} */
void api_tasks_list(struct http_req *req);         /* GET /v2/tasks */
void api_tasks_delete(struct http_req *req);       /* POST /v2/tasks/delete */

/* api_queue.c: the launch queue */
void api_queue_list(struct http_req *req);        /* GET /v2/queue */
void api_queue_reset_delay(struct http_req *req); /* DELETE .../delay */

/* api_deployments.c: running deployments */
void api_deployments_list(struct http_req *req);   /* GET /v2/deployments */
void api_deployments_cancel(struct http_req *req); /* DELETE .../{id} */

#endif /* STADION_API_H */
