/*
 * http_router: a table of (methods, path pattern, handler) rows, matched in
 * order.  Patterns are '/'-separated segments:
 *   literal   matches itself
 *   {name}    matches one non-empty segment
 *   {name*}   matches one or more segments (app ids contain slashes:
 *             "/v2/apps/{id*}/tasks/{task}")
 * A path that matches some row's pattern but none with its method is a 405,
 * with the methods that would have matched; no pattern at all is a 404.
 */
#ifndef STADION_HTTP_ROUTER_H
#define STADION_HTTP_ROUTER_H

#include <stddef.h>

enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_POST = 1u << 1,
	HTTP_PUT = 1u << 2,
	HTTP_DELETE = 1u << 3,
	HTTP_PATCH = 1u << 4,
	HTTP_HEAD = 1u << 5,
	HTTP_OPTIONS = 1u << 6,
	HTTP_OTHER = 1u << 7, /* TRACE, CONNECT: never routed */
};

#define HTTP_MAX_PARAMS 4

struct http_req;
typedef void http_handler_fn(struct http_req *req);

/* Route flags. */
/* Served by every node, leader or standby (/ping, /v2/info): the server's
 * intercept hook never sees these. */
#define HTTP_ROUTE_ANY_NODE 1u

struct http_route {
	unsigned methods;        /* enum http_method bits */
	const char *pattern;
	http_handler_fn *handler;
	unsigned flags;          /* HTTP_ROUTE_* bits */
};

/* A slice of the matched path. */
struct http_param {
	const char *start;
	size_t len;
};

struct http_match {
	const struct http_route *route;   /* NULL unless HTTP_ROUTE_FOUND */
	struct http_param params[HTTP_MAX_PARAMS]; /* in pattern order */
	size_t n_params;
	unsigned allowed;  /* methods of the rows whose pattern matched: all of
	                    * them for HTTP_ROUTE_NO_METHOD */
};

enum http_route_result {
	HTTP_ROUTE_FOUND,
	HTTP_ROUTE_NO_PATH,   /* 404 */
	HTTP_ROUTE_NO_METHOD, /* 405, see match->allowed */
};

/* Match METHOD and PATH (decoded, starting with '/', no query) against
 * ROUTES.  Params in *match_r point into PATH. */
enum http_route_result http_router_match(const struct http_route *routes,
                                         size_t n_routes, unsigned method,
                                         const char *path,
                                         struct http_match *match_r);

/* "GET", "POST", ...; NULL for HTTP_OTHER. */
const char *http_method_name(unsigned method);
/* Write "GET, PUT" for the bits in METHODS into BUF. */
void http_methods_format(unsigned methods, char *buf, size_t len);

#endif /* STADION_HTTP_ROUTER_H */
