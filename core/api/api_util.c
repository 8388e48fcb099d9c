#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_util.h"
#include "jsonutil.h"
#include "log.h"
#include "model/model_errors.h"
#include "model/model_id.h"
#include "sched/sched_ids.h"

struct stadiond *api_util_daemon(const struct http_req *req)
{
	return req->app;
}

static void slot_forget(void *arg)
{
	*(struct http_req **)arg = NULL;
}

struct http_req *api_util_defer(struct http_req *req, struct http_req **slot)
{
	struct http_req *d = http_req_defer(req);

	if (d != NULL) {
		*slot = d;
		http_req_on_drop(d, slot_forget, slot);
	}
	return d;
}

bool api_util_ready(struct http_req *req)
{
	const struct stadiond *d = api_util_daemon(req);

	if (d != NULL && d->state != NULL && d->tracker != NULL &&
	    d->runner != NULL)
		return true;
	http_reply_message(req, 503,
	                   "The scheduler is not running yet; try again later");
	return false;
}

int64_t api_util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *api_util_param(struct http_req *req, size_t i)
{
	char *s = NULL;

	if (i < req->match.n_params)
		s = strndup(req->match.params[i].start,
		            req->match.params[i].len);
	if (s == NULL)
		http_reply_message(req, 500, "out of memory");
	return s;
}

char *api_util_id(struct http_req *req, size_t i)
{
	char *raw = api_util_param(req, i);
	char *id;

	if (raw == NULL)
		return NULL;
	id = model_id_normalize(raw, "/");
	free(raw);
	if (id == NULL)
		http_reply_message(req, 500, "out of memory");
	return id;
}

int api_util_bool(struct http_req *req, const char *name, bool def,
                  bool *val_r)
{
	int v = http_req_query_bool(req, name, def);

	if (v < 0) {
		/* Marathon's Boolean.valueOf would read anything else as
		 * false; a typo should not silently drop a force. */
		http_reply_message(req, 400,
		                   "Query parameter '%s' must be true or false, "
		                   "not '%s'",
		                   name, http_req_query(req, name));
		return -1;
	}
	*val_r = v != 0;
	return 0;
}

/* Jackson's message for a body that does not parse, without the location
 * suffix (Marathon shows getOriginalMessage()). */
static void parse_error_details(const char *body, size_t len, size_t at,
                                enum json_tokener_error jerr, char *buf,
                                size_t buflen)
{
	size_t line = 1, col = 1;
	unsigned char c;

	for (size_t i = 0; i < at && i < len; i++) {
		if (body[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (jerr == json_tokener_continue || at >= len) {
		snprintf(buf, buflen,
		         "Unexpected end-of-input at line %zu, column %zu", line,
		         col);
		return;
	}
	c = (unsigned char)body[at];
	if (isprint(c))
		snprintf(buf, buflen,
		         "Unexpected character ('%c' (code %u)): %s at line %zu, "
		         "column %zu",
		         c, c, json_tokener_error_desc(jerr), line, col);
	else
		snprintf(buf, buflen,
		         "Unexpected character (code %u): %s at line %zu, "
		         "column %zu",
		         c, json_tokener_error_desc(jerr), line, col);
}

/* What json-c's strict mode still takes and Jackson does not: single
 * quotes and the non-numeric numbers.  Scans BODY[0..LEN) outside
 * strings; the offset of the first one (its message in BUF), or LEN. */
static size_t jackson_refuses(const char *body, size_t len, char *buf,
                              size_t buflen)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = body[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '\'') {
			snprintf(buf, buflen,
			         "Unexpected character (''' (code 39)): was "
			         "expecting double-quote to start field name");
			return i;
		} else if (c == 'N' || c == 'I') {
			snprintf(buf, buflen,
			         "Non-standard token '%s': enable "
			         "JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to "
			         "allow",
			         c == 'N' ? "NaN" : "Infinity");
			return i;
		}
	}
	return len;
}

static void reply_invalid_json(struct http_req *req, const char *details)
{
	struct json_object *err = json_object_new_object();

	if (jsonutil_add(err, "message", json_object_new_string("Invalid JSON")) !=
	            0 ||
	    jsonutil_add(err, "details", json_object_new_string(details)) != 0) {
		json_object_put(err);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 400, err);
}

struct json_object *api_util_body_json(struct http_req *req)
{
	struct json_tokener *tok;
	struct json_object *obj, *err;
	enum json_tokener_error jerr;
	const char *body;
	size_t len, start = 0, end;
	char details[256];

	body = http_req_body(req, &len);
	while (start < len && isspace((unsigned char)body[start]))
		start++;
	if (start == len) {
		/* What Jackson says of an empty body (a mapping error). */
		err = json_object_new_object();
		if (jsonutil_add(err, "message",
		                 json_object_new_string(
					 "Please specify data in JSON format")) != 0 ||
		    jsonutil_add(err, "details",
		                 json_object_new_string(
					 "No content to map due to end-of-input")) !=
		            0) {
			json_object_put(err);
			http_reply_message(req, 500, "out of memory");
			return NULL;
		}
		http_reply_json(req, 400, err);
		return NULL;
	}
	if ((tok = json_tokener_new()) == NULL) {
		http_reply_message(req, 500, "out of memory");
		return NULL;
	}
	/* Jackson, which Marathon reads bodies with, takes neither comments
	 * nor trailing commas (json-c's strict mode), and reads the first
	 * value only: what follows it is not looked at. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	obj = json_tokener_parse_ex(tok, body + start, (int)(len - start));
	jerr = json_tokener_get_error(tok);
	end = start + json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		parse_error_details(body, len, end, jerr, details,
		                    sizeof(details));
		reply_invalid_json(req, details);
		return NULL;
	}
	if (jackson_refuses(body + start, end - start, details,
	                    sizeof(details)) < end - start) {
		json_object_put(obj);
		reply_invalid_json(req, details);
		return NULL;
	}
	return obj;
}

void api_util_reply_errors(struct http_req *req,
                           const struct model_errors *errors)
{
	struct json_object *body = errors->oom ? NULL
	                                       : model_errors_to_json(errors);

	if (body == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 422, body);
}

void api_util_reply_no_app(struct http_req *req, const char *id)
{
	http_reply_message(req, 404, "App '%s' does not exist", id);
}

void api_util_reply_deployment(struct http_req *req, int status,
                               const char *deployment_id, const char *version,
                               const char *location_id)
{
	struct json_object *body = json_object_new_object();
	char *fresh = NULL;
	char stamp[MODEL_TIMESTAMP_LEN];

	if (deployment_id == NULL)
		deployment_id = fresh = sched_deployment_id_new();
	if (version == NULL) {
		model_timestamp_now(stamp);
		version = stamp;
	}
	if (deployment_id == NULL ||
	    jsonutil_add(body, "deploymentId",
	                 json_object_new_string(deployment_id)) != 0 ||
	    jsonutil_add(body, "version", json_object_new_string(version)) != 0) {
		json_object_put(body);
		free(fresh);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	api_util_reply_deployment_headers(req, deployment_id, location_id);
	free(fresh);
	http_reply_json(req, status, body);
}

void api_util_reply_deployment_headers(struct http_req *req,
                                       const char *deployment_id,
                                       const char *location_id)
{
	const char *host;
	char *location = NULL;

	http_reply_header(req, "Marathon-Deployment-Id", deployment_id);
	if (location_id == NULL)
		return;
	/* Marathon hands the app's id to JAX-RS as a relative URI, which
	 * resolves it against the server's base URI. */
	host = http_req_header(req, "Host");
	if (host != NULL &&
	    asprintf(&location, "http://%s%s", host, location_id) >= 0) {
		http_reply_header(req, "Location", location);
		free(location);
	} else {
		http_reply_header(req, "Location", location_id);
	}
}

void api_util_reply_refused(struct http_req *req,
                            const struct deploy_result *res)
{
	if ((res->status == 409 || res->status == 422) && res->body != NULL) {
		http_reply_json(req, res->status, json_object_get(res->body));
		return;
	}
	http_reply_message(req, res->status >= 400 ? res->status : 500, "%s",
	                   res->message != NULL ? res->message
	                                        : "The change failed");
}

struct submit_ctx {
	struct http_req *req; /* deferred */
	int ok_status;
	char *location_id;    /* NULL unless created */
};

static void submit_done(void *arg, const struct deploy_result *res)
{
	struct submit_ctx *ctx = arg;

	if (ctx->req == NULL)
		; /* stadiond is stopping: nobody to answer */
	else if (res->status == 200 || res->status == 201)
		api_util_reply_deployment(ctx->req, ctx->ok_status,
		                          res->deployment_id, res->version,
		                          ctx->location_id);
	else
		api_util_reply_refused(ctx->req, res);
	free(ctx->location_id);
	free(ctx);
}

void api_util_submit(struct http_req *req, const struct deploy_change *change,
                     int ok_status, const char *created_id)
{
	struct stadiond *d = api_util_daemon(req);
	struct submit_ctx *ctx = calloc(1, sizeof(*ctx));
	struct http_req *later;

	if (ctx == NULL || (created_id != NULL &&
	                    (ctx->location_id = strdup(created_id)) == NULL))
		goto fail_free_ctx;
	if ((later = api_util_defer(req, &ctx->req)) == NULL)
		goto fail_free_ctx;
	ctx->ok_status = ok_status;
	deploy_run_submit(d->runner, change, submit_done, ctx);
	return;

fail_free_ctx:
	if (ctx != NULL)
		free(ctx->location_id);
	free(ctx);
	/* The runner would have taken them over. */
	for (size_t i = 0; i < change->n_put_apps; i++)
		model_app_free(change->put_apps[i]);
	http_reply_message(req, 500, "out of memory");
}
