/*
 * leader_proxy: how a standby answers the API.  Marathon's standbys serve
 * nothing themselves (LeaderProxyFilter): every call is forwarded to the
 * leader and the leader's answer passed back as it is, so a client may talk
 * to any node.  This module does that over keep-alive connections to the
 * leader, at most max_connections of them; calls beyond wait in libevent's
 * queue of the least busy one.  When the leader changes, connections to the
 * old one take no new calls and close once their calls are answered.
 *
 * Forwarded: the method, the target (path and query, undecoded), the body
 * and the headers but the hop-by-hop ones; Host names the leader,
 * X-Forwarded-For gains the client's address and X-Marathon-Via gains
 * "1.1 <self_id>".  A call whose X-Marathon-Via already names this node went
 * round in a loop (two nodes each think the other leads): 502, not sent.
 *
 * Unlike Marathon, a failure never passes as an empty answer: no connection
 * within connect_timeout_ms, the connection refused or reset, no answer
 * within read_timeout_ms (between reads of the answer, as Marathon's socket
 * read timeout), or a malformed answer is 503 {"message": ...} naming the
 * leader, the call and what failed.
 *
 * Everything runs on the loop of CFG->base; nothing blocks (host names are
 * resolved with evdns).
 */
#ifndef STADION_LEADER_PROXY_H
#define STADION_LEADER_PROXY_H

#include <stdint.h>

#include <event2/event.h>

#include "http/http_server.h"

struct leader_proxy_config {
	struct event_base *base;    /* borrowed, must outlive the proxy */
	int64_t connect_timeout_ms; /* --leader_proxy_connection_timeout */
	int64_t read_timeout_ms;    /* --leader_proxy_read_timeout */
	unsigned max_connections;   /* --leader_proxy_max_open_connections */
	const char *self_id;        /* this node's "host:port" (copied), for
	                             * X-Marathon-Via */
};

struct leader_proxy;

/* NULL when out of memory or CFG is unusable (no base, no self_id, a zero
 * timeout or connection limit).  The caller owns the proxy. */
struct leader_proxy *leader_proxy_new(const struct leader_proxy_config *cfg);
/* NULL-safe.  Calls still waiting for the leader are answered 503 (this
 * node is shutting down).  Free it before the event base; before or after
 * the http_server (a server freed first tells the proxy to forget its
 * calls through http_req_on_drop). */
void leader_proxy_free(struct leader_proxy *p);

/* Forward REQ, as the http_server intercept hook received it, to LEADER
 * ("host:port" or "[v6]:port", borrowed for the call) and reply to REQ with
 * its answer, or 502/503 as above.  REQ is deferred by the proxy itself:
 * the hook returns true after this call, whatever happened. */
void leader_proxy_forward(struct leader_proxy *p, struct http_req *req,
                          const char *leader);

/* Answer REQ (GET /v2/events: an event stream is not proxied) with 307 and
 * Location http://LEADER<path and query of REQ>, as Marathon does. */
void leader_proxy_redirect(struct http_req *req, const char *leader);

#endif /* STADION_LEADER_PROXY_H */
