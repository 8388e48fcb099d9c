/*
 * api_deployments: /v2/deployments (reference 1.4, 3.4; Marathon's
 * DeploymentsResource): the running deployments, and cancelling one,
 * with a revert deployment (200 and the deployment result) or, forced,
 * without (202, no body).
 */
#include "config.h"

#include <stdlib.h>

#include "api/api.h"
#include "api/api_util.h"
#include "deploy/deploy_run.h"

void api_deployments_list(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct json_object *body;

	if (!api_util_ready(req))
		return;
	if ((body = deploy_run_list_json(d->runner)) == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 200, body);
}

struct cancel_ctx {
	struct http_req *req; /* deferred; NULL once dropped */
	char *id;
};

static void cancel_done(void *arg, const struct deploy_result *res)
{
	struct cancel_ctx *ctx = arg;

	/* NULL: stadiond is stopping, nobody to answer. */
	switch (ctx->req != NULL ? res->status : 0) {
	case 0:
		break;
	case 200:
	case 201:
		api_util_reply_deployment(ctx->req, 200, res->deployment_id,
		                          res->version, NULL);
		break;
	case 202:
		http_reply_raw(ctx->req, 202, NULL, NULL, 0);
		break;
	case 404:
		http_reply_message(ctx->req, 404,
		                   "DeploymentPlan %s does not exist", ctx->id);
		break;
	default:
		api_util_reply_refused(ctx->req, res);
		break;
	}
	free(ctx->id);
	free(ctx);
}

void api_deployments_cancel(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct cancel_ctx *ctx;
	bool force;

	if (!api_util_ready(req) || api_util_bool(req, "force", false, &force) != 0)
		return;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	if ((ctx->id = api_util_param(req, 0)) == NULL) {
		free(ctx);
		return;
	}
	if (api_util_defer(req, &ctx->req) == NULL) {
		free(ctx->id);
		free(ctx);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	deploy_run_cancel(d->runner, ctx->id, !force, cancel_done, ctx);
}
