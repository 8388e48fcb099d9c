#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"

/* The q value the Accept header ACCEPT gives TYPE/SUBTYPE: the most specific
 * matching range wins (exact, then "type/any", then "any/any"); 0 when none. */
static double accept_q(const char *accept, const char *type,
                       const char *subtype)
{
	double best_q = 0;
	int best_rank = 0;
	const char *p = accept;

	while (*p != '\0') {
		size_t len = strcspn(p, ","), rlen;
		char range[128], *params, *slash;
		double q = 1;
		int rank;

		if (len < sizeof(range)) {
			memcpy(range, p, len);
			range[len] = '\0';
			if ((params = strchr(range, ';')) != NULL) {
				const char *qs = strstr(params, "q=");

				*params = '\0';
				if (qs != NULL)
					q = strtod(qs + 2, NULL);
			}
			/* Trim the range. */
			params = range + strspn(range, " \t");
			rlen = strlen(params);
			while (rlen > 0 && (params[rlen - 1] == ' ' ||
			                    params[rlen - 1] == '\t'))
				params[--rlen] = '\0';
			slash = strchr(params, '/');
			rank = 0;
			if (slash != NULL) {
				*slash = '\0';
				if (strcmp(params, "*") == 0 &&
				    strcmp(slash + 1, "*") == 0)
					rank = 1;
				else if (strcasecmp(params, type) == 0 &&
				         strcmp(slash + 1, "*") == 0)
					rank = 2;
				else if (strcasecmp(params, type) == 0 &&
				         strcasecmp(slash + 1, subtype) == 0)
					rank = 3;
			}
			if (rank > best_rank) {
				best_rank = rank;
				best_q = q;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return best_q;
}

/* Marathon answers "pong" as text/plain, the JSON string "pong" when only
 * JSON is acceptable, and 204 when neither is. */
void api_ping(struct http_req *req)
{
	const char *accept = http_req_header(req, "Accept");
	double text_q, json_q;

	if (accept == NULL || accept[0] == '\0') {
		http_reply_raw(req, 200, "text/plain; charset=utf-8", "pong", 4);
		return;
	}
	text_q = accept_q(accept, "text", "plain");
	json_q = accept_q(accept, "application", "json");
	if (text_q <= 0 && json_q <= 0)
		http_reply_raw(req, 204, NULL, NULL, 0);
	else if (text_q >= json_q)
		http_reply_raw(req, 200, "text/plain; charset=utf-8", "pong", 4);
	else
		http_reply_raw(req, 200, "application/json; charset=utf-8",
		               "\"pong\"", 6);
}
