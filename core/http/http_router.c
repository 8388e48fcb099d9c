#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http/http_router.h"

static const struct {
	unsigned bit;
	const char *name;
} method_names[] = {
	{HTTP_GET, "GET"},       {HTTP_HEAD, "HEAD"},   {HTTP_POST, "POST"},
	{HTTP_PUT, "PUT"},       {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"},
	{HTTP_OPTIONS, "OPTIONS"},
};

const char *http_method_name(unsigned method)
{
	for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]);
	     i++)
		if (method_names[i].bit == method)
			return method_names[i].name;
	return NULL;
}

void http_methods_format(unsigned methods, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]);
	     i++) {
		if (!(methods & method_names[i].bit))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
		                         "%s%s", used > 0 ? ", " : "",
		                         method_names[i].name);
	}
}

/* Length of the segment starting at S (up to '/' or the end). */
static size_t seg_len(const char *s)
{
	return strcspn(s, "/");
}

/* Match pattern P against path S, both positioned after a '/'.  Recursive
 * only at {name*}, which tries the longest run of segments first. */
static bool match_from(const char *p, const char *s, struct http_match *m)
{
	size_t plen, slen;

	for (;;) {
		plen = seg_len(p);
		slen = seg_len(s);
		if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
			bool rest = p[plen - 2] == '*';
			size_t n = m->n_params;

			if (slen == 0 || n == HTTP_MAX_PARAMS)
				return false;
			if (rest) {
				/* The run stops before an empty segment. */
				const char *dbl = strstr(s, "//");
				const char *end = dbl != NULL ? dbl : s + strlen(s);

				/* Try "all the rest", then shorter runs
				 * ending at a '/'. */
				for (const char *e = end; e > s; e--) {
					if (e != end && *e != '/')
						continue;
					if (e[-1] == '/')
						continue; /* empty segment */
					m->params[n] = (struct http_param){
						s, (size_t)(e - s)};
					m->n_params = n + 1;
					if (p[plen] == '\0' && *e == '\0')
						return true;
					if (p[plen] == '/' && *e == '/' &&
					    match_from(p + plen + 1, e + 1, m))
						return true;
				}
				m->n_params = n;
				return false;
			}
			m->params[n] = (struct http_param){s, slen};
			m->n_params = n + 1;
		} else if (plen != slen || strncmp(p, s, plen) != 0) {
			return false;
		}
		if (p[plen] == '\0' || s[slen] == '\0')
			return p[plen] == '\0' && s[slen] == '\0';
		p += plen + 1;
		s += slen + 1;
	}
}

enum http_route_result http_router_match(const struct http_route *routes,
                                         size_t n_routes, unsigned method,
                                         const char *path,
                                         struct http_match *match_r)
{
	unsigned allowed = 0;

	memset(match_r, 0, sizeof(*match_r));
	if (path[0] != '/')
		return HTTP_ROUTE_NO_PATH;
	for (size_t i = 0; i < n_routes; i++) {
		struct http_match m = {0};

		if (routes[i].pattern[0] != '/' ||
		    !match_from(routes[i].pattern + 1, path + 1, &m))
			continue;
		allowed |= routes[i].methods;
		if (routes[i].methods & method) {
			*match_r = m;
			match_r->route = &routes[i];
			match_r->allowed = allowed;
			return HTTP_ROUTE_FOUND;
		}
	}
	match_r->allowed = allowed;
	return allowed != 0 ? HTTP_ROUTE_NO_METHOD : HTTP_ROUTE_NO_PATH;
}
