/*
 * api_util: what the REST resources share: reading ids, query booleans
 * and JSON bodies with Marathon's error answers, submitting a change to
 * the deployment runner and answering with its outcome once it is
 * committed.
 *
 * Every function that takes a request and can fail has already replied
 * when it reports the failure: the handler just returns.
 */
#ifndef STADION_API_UTIL_H
#define STADION_API_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "deploy/deploy_run.h"
#include "http/http_server.h"
#include "stadiond.h"

/* The daemon of REQ (req->app). */
struct stadiond *api_util_daemon(const struct http_req *req);

/* Defer REQ (http_req_defer) for a completion that holds the copy in
 * *SLOT, a member of its context: *SLOT is the copy, and is set back to
 * NULL should the server drop the copy unanswered (stadiond stopping), so
 * that the completion replies only when *SLOT is not NULL.  *SLOT must
 * stay valid until the copy is answered.  Returns the copy, or NULL when
 * out of memory (REQ is unchanged and needs its reply). */
struct http_req *api_util_defer(struct http_req *req, struct http_req **slot);

/* Whether the scheduler behind the API (state, tracker, runner) is up;
 * when not, REQ got 503. */
bool api_util_ready(struct http_req *req);

/* Milliseconds since the epoch, the clock Marathon's timestamps use. */
int64_t api_util_now_ms(void);

/* {param} number I of REQ's route as a malloc'ed string the caller frees;
 * NULL when out of memory (REQ got 500). */
char *api_util_param(struct http_req *req, size_t i);

/* {param} number I read as an app id and made absolute ("a/b" -> "/a/b",
 * as Marathon's toRootPath): malloc'ed, the caller frees it; NULL when out
 * of memory (REQ got 500). */
char *api_util_id(struct http_req *req, size_t i);

/* Query boolean NAME into *VAL_R (DEF when absent; "true"/"false" in any
 * case).  Returns 0, or -1 when the value is neither (REQ got 400). */
int api_util_bool(struct http_req *req, const char *name, bool def,
                  bool *val_r);

/* The request body parsed as JSON, a new reference the caller puts.  NULL
 * when REQ got its answer: an empty body or one that is not JSON is a 400
 * with Marathon's bodies ({"message":"Please specify data in JSON
 * format",...} and {"message":"Invalid JSON","details":"..."}), out of
 * memory a 500. */
struct json_object *api_util_body_json(struct http_req *req);

/* The 422 of ERRORS (model_errors_to_json()), or 500 when out of memory. */
void api_util_reply_errors(struct http_req *req,
                           const struct model_errors *errors);

/* 404 {"message":"App '<ID>' does not exist"}. */
void api_util_reply_no_app(struct http_req *req, const char *id);

/* The deployment result: STATUS with {"deploymentId","version"} and the
 * Marathon-Deployment-Id header; with LOCATION_ID (may be NULL) also the
 * Location of a created app.  A NULL DEPLOYMENT_ID (the change needed no
 * deployment) gets a fresh id that no deployment has, as Marathon answers
 * with the id of an empty plan. */
void api_util_reply_deployment(struct http_req *req, int status,
                               const char *deployment_id, const char *version,
                               const char *location_id);

/* Only the headers of the deployment result: Marathon-Deployment-Id and,
 * with LOCATION_ID (may be NULL), the Location of a created app. */
void api_util_reply_deployment_headers(struct http_req *req,
                                       const char *deployment_id,
                                       const char *location_id);

/* A refused or failed deployment: 409 and 422 with the runner's body,
 * anything else with its message. */
void api_util_reply_refused(struct http_req *req,
                            const struct deploy_result *res);

/* Submit CHANGE to the runner and answer REQ with the deployment result
 * once it is committed: OK_STATUS (200, or 201 with the Location of
 * CREATED_ID, which may be NULL) or the refusal.  REQ is deferred here (a
 * copy already deferred is used as is, and whoever held it must forget
 * it); CHANGE is borrowed for the call and its put_apps are taken over on
 * every outcome, as deploy_run_submit() does. */
void api_util_submit(struct http_req *req, const struct deploy_change *change,
                     int ok_status, const char *created_id);

#endif /* STADION_API_UTIL_H */
