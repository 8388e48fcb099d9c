#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"
#include "model/model_app.h"
#include "model/model_id.h"

/* accord's featureEnabled message, closing parenthesis included. */
#define NO_SECRETS                                                         \
	"Feature secrets is not enabled. Enable with --enable_features "    \
	"secrets)"
/* AppDefinition's executor pattern. */
#define EXECUTOR_RE "^(//cmd)|(/?[^/]+(/[^/]+)*)|$"
/* Marathon's port name pattern (portDefinitions and portMappings). */
#define PORT_NAME_RE "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

/* One parse: where errors go and whether memory ran out. */
struct parse {
	struct model_errors *errs;
	const char *prefix;
	bool oom;
};

enum want { W_STRING, W_NUMBER, W_INT, W_BOOL, W_ARRAY, W_OBJECT };

static const char *const want_key[] = {
	[W_STRING] = MODEL_ERR_STRING, [W_NUMBER] = MODEL_ERR_NUMBER,
	[W_INT] = MODEL_ERR_NUMBER,    [W_BOOL] = MODEL_ERR_BOOLEAN,
	[W_ARRAY] = MODEL_ERR_ARRAY,   [W_OBJECT] = MODEL_ERR_OBJECT,
};

#define ERR_JSON(p, path, msg)                                              \
	model_errors_add((p)->errs, MODEL_ERR_JSON, (p)->prefix, (path), "%s", \
	                 (msg))
#define ERR(p, path, ...)                                                   \
	model_errors_add((p)->errs, MODEL_ERR_VALID, (p)->prefix, (path),    \
	                 __VA_ARGS__)

/* KEY of OBJ; NULL when OBJ is no object, or KEY is absent or null (Play
 * reads null as absent). */
static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_get_ex(obj, key, &v);
	return v;
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) ||
	       json_object_is_type(v, json_type_double);
}

/* Whether V has the type W; if not (a JSON null, NULL, included), the read
 * error for PATH is added.  Integers may be written 3.0, as Play's IntReads
 * accept. */
static bool want(struct parse *p, struct json_object *v, enum want w,
                 const char *path)
{
	bool ok;

	switch (w) {
	case W_STRING:
		ok = json_object_is_type(v, json_type_string);
		break;
	case W_NUMBER:
		ok = is_number(v);
		break;
	case W_INT:
		if (json_object_is_type(v, json_type_double)) {
			double d = json_object_get_double(v);

			if (d != floor(d) || fabs(d) > 9e15) {
				ERR_JSON(p, path, MODEL_ERR_INT);
				return false;
			}
		}
		ok = is_number(v);
		break;
	case W_BOOL:
		ok = json_object_is_type(v, json_type_boolean);
		break;
	case W_ARRAY:
		ok = json_object_is_type(v, json_type_array);
		break;
	default:
		ok = json_object_is_type(v, json_type_object);
		break;
	}
	if (!ok)
		ERR_JSON(p, path, want_key[w]);
	return ok;
}

/* A number as Marathon prints it: integral values without a fraction
 * (128, not 128.0), others in their shortest exact form (0.1). */
static struct json_object *new_number(double d)
{
	char buf[32];

	if (d == floor(d) && fabs(d) < 9e15)
		return json_object_new_int64((int64_t)d);
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return json_object_new_double_s(d, buf);
}

/* A double as Scala prints it in accord's messages: "-1.0", "0.5". */
static const char *scala_double(double d, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".en") == NULL)
		strncat(buf, ".0", len - strlen(buf) - 1);
	return buf;
}

/* Deep copy of V (NULL stays NULL). */
static struct json_object *copy(struct parse *p, struct json_object *v)
{
	struct json_object *c = NULL;

	if (v != NULL && json_object_deep_copy(v, &c, NULL) != 0) {
		p->oom = true;
		return NULL;
	}
	return c;
}

/* Add KEY = V (a new reference, consumed) to OBJ. */
static void put(struct parse *p, struct json_object *obj, const char *key,
                struct json_object *v)
{
	if (jsonutil_add(obj, key, v) != 0)
		p->oom = true;
}

static void append(struct parse *p, struct json_object *arr,
                   struct json_object *v)
{
	if (jsonutil_append(arr, v) != 0)
		p->oom = true;
}

/*
 * Table-driven scalar fields: read KEY from the input with its type, put
 * it (or its default) into the output, and check its lower bound with
 * accord's message ("got -1.0, expected 0.0 or more").
 */
enum field_kind { F_NUM, F_INT, F_BOOL, F_STR };

struct field {
	const char *key;
	enum field_kind kind;
	bool has_default;  /* absent without a default: left out */
	double def;        /* F_NUM, F_INT, F_BOOL */
	const char *sdef;  /* F_STR */
	bool has_min;
	double min;
};

static const struct field scalar_fields[] = {
	{"instances", F_INT, true, 1, NULL, true, 0},
	{"cpus", F_NUM, true, 1, NULL, true, 0},
	{"mem", F_NUM, true, 128, NULL, true, 0},
	{"disk", F_NUM, true, 0, NULL, true, 0},
	{"gpus", F_INT, true, 0, NULL, true, 0},
	{"executor", F_STR, true, 0, "", false, 0},
	{"backoffSeconds", F_INT, true, 1, NULL, true, 0},
	{"backoffFactor", F_NUM, true, 1.15, NULL, true, 1},
	{"maxLaunchDelaySeconds", F_INT, true, 300, NULL, true, 0},
	{"taskKillGracePeriodSeconds", F_INT, false, 0, NULL, true, 0},
	{"user", F_STR, false, 0, NULL, false, 0},
	{"tty", F_BOOL, false, 0, NULL, false, 0},
	{"role", F_STR, true, 0, "*", false, 0},
};

static void scalar_field(struct parse *p, struct json_object *in,
                         struct json_object *out, const struct field *f)
{
	static const enum want wants[] = {[F_NUM] = W_NUMBER, [F_INT] = W_INT,
	                                  [F_BOOL] = W_BOOL,
	                                  [F_STR] = W_STRING};
	struct json_object *v = get(in, f->key);
	char path[64], a[32], b[32];
	double d;

	snprintf(path, sizeof(path), "/%s", f->key);
	if (v == NULL) {
		if (!f->has_default)
			return;
		if (f->kind == F_STR)
			put(p, out, f->key, json_object_new_string(f->sdef));
		else if (f->kind == F_BOOL)
			put(p, out, f->key,
			    json_object_new_boolean(f->def != 0));
		else
			put(p, out, f->key, new_number(f->def));
		return;
	}
	if (!want(p, v, wants[f->kind], path))
		return;
	if (f->kind == F_STR || f->kind == F_BOOL) {
		put(p, out, f->key, copy(p, v));
		return;
	}
	d = json_object_get_double(v);
	put(p, out, f->key, new_number(d));
	if (f->has_min && d < f->min) {
		if (f->kind == F_INT)
			ERR(p, path, "got %.0f, expected %.0f or more", d,
			    f->min);
		else
			ERR(p, path, "got %s, expected %s or more",
			    scala_double(d, a, sizeof(a)),
			    scala_double(f->min, b, sizeof(b)));
	}
}

/* A JSON object of strings (labels, env); env values may also be secret
 * references, which need the secrets feature. */
static void string_map(struct parse *p, struct json_object *in,
                       struct json_object *out, const char *key, bool env)
{
	struct json_object *v = get(in, key), *m;
	char path[512];

	if ((m = json_object_new_object()) == NULL) {
		p->oom = true;
		return;
	}
	snprintf(path, sizeof(path), "/%s", key);
	if (v != NULL && want(p, v, W_OBJECT, path)) {
		json_object_object_foreach(v, k, val) {
			snprintf(path, sizeof(path), "/%s/%s", key, k);
			if (env && val != NULL &&
			    json_object_is_type(val, json_type_object) &&
			    get(val, "secret") != NULL) {
				ERR(p, path, NO_SECRETS);
				continue;
			}
			if (!want(p, val, W_STRING, path))
				continue;
			put(p, m, k, copy(p, val));
		}
	}
	put(p, out, key, m);
}

/* An optional array or object copied verbatim (checked for its type
 * only); WITH_DEFAULT puts an empty one when it is absent. */
static void verbatim(struct parse *p, struct json_object *in,
                     struct json_object *out, const char *key, enum want w,
                     bool with_default)
{
	struct json_object *v = get(in, key);
	char path[64];

	snprintf(path, sizeof(path), "/%s", key);
	if (v != NULL) {
		if (want(p, v, w, path))
			put(p, out, key, copy(p, v));
	} else if (with_default) {
		put(p, out, key,
		    w == W_ARRAY ? json_object_new_array()
		                 : json_object_new_object());
	}
}

/* A copy of constraint C (an array of strings) with its operator
 * upper-cased: Marathon reads operators case-insensitively and stores them
 * as its enum's names, so "unique" comes back as "UNIQUE". */
static struct json_object *constraint_upper(struct parse *p,
                                            struct json_object *c)
{
	struct json_object *out = copy(p, c), *op;
	char *upper;

	if (out == NULL)
		return NULL;
	op = json_object_array_get_idx(out, 1);
	if ((upper = strdup(json_object_get_string(op))) == NULL) {
		p->oom = true;
		return out;
	}
	for (char *u = upper; *u != '\0'; u++)
		if (*u >= 'a' && *u <= 'z')
			*u = (char)(*u - 'a' + 'A');
	if (json_object_array_put_idx(out, 1,
	                              json_object_new_string(upper)) != 0)
		p->oom = true;
	free(upper);
	return out;
}

static void constraints(struct parse *p, struct json_object *in,
                        struct json_object *out)
{
	struct json_object *v = get(in, "constraints"), *list;
	char path[64];

	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return;
	}
	if (v != NULL && want(p, v, W_ARRAY, "/constraints")) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *c = json_object_array_get_idx(v, i);
			size_t n;
			bool ok = true;

			snprintf(path, sizeof(path), "/constraints(%zu)", i);
			if (!want(p, c, W_ARRAY, path))
				continue;
			n = json_object_array_length(c);
			for (size_t k = 0; k < n; k++) {
				struct json_object *s =
					json_object_array_get_idx(c, k);

				snprintf(path, sizeof(path),
				         "/constraints(%zu)(%zu)", i, k);
				if (!want(p, s, W_STRING, path))
					ok = false;
			}
			snprintf(path, sizeof(path), "/constraints(%zu)", i);
			if (ok && n != 2 && n != 3)
				ERR(p, path,
				    "Each constraint must have either 2 or 3 "
				    "fields");
			append(p, list, ok && n >= 2 ? constraint_upper(p, c)
			                             : copy(p, c));
		}
	}
	put(p, out, "constraints", list);
}

/* True when URI names an archive the fetcher unpacks (FetchUri.isExtract). */
static bool uri_extract(const char *uri)
{
	static const char *const exts[] = {".tgz",  ".tar.gz", ".tbz2",
	                                   ".tar.bz2", ".txz", ".tar.xz",
	                                   ".zip"};
	size_t n = strlen(uri);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);

		if (n >= e && strcmp(uri + n - e, exts[i]) == 0)
			return true;
	}
	return false;
}

static struct json_object *fetch_item(struct parse *p, const char *uri,
                                      bool extract, bool executable,
                                      bool cache, struct json_object *dest)
{
	struct json_object *f = json_object_new_object();

	if (f == NULL) {
		p->oom = true;
		return NULL;
	}
	put(p, f, "uri", json_object_new_string(uri));
	put(p, f, "extract", json_object_new_boolean(extract));
	put(p, f, "executable", json_object_new_boolean(executable));
	put(p, f, "cache", json_object_new_boolean(cache));
	if (dest != NULL)
		put(p, f, "destPath", copy(p, dest));
	return f;
}

/* fetch, or the deprecated uris migrated to it. */
static void fetch(struct parse *p, struct json_object *in,
                  struct json_object *out)
{
	struct json_object *f = get(in, "fetch"), *u = get(in, "uris"), *list;
	char path[64];

	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return;
	}
	if (f != NULL && want(p, f, W_ARRAY, "/fetch")) {
		for (size_t i = 0; i < json_object_array_length(f); i++) {
			struct json_object *e = json_object_array_get_idx(f, i);
			struct json_object *uri, *b;
			bool flags[3] = {true, false, false};
			static const char *const names[] = {
				"extract", "executable", "cache"};

			snprintf(path, sizeof(path), "/fetch(%zu)", i);
			if (!want(p, e, W_OBJECT, path))
				continue;
			snprintf(path, sizeof(path), "/fetch(%zu)/uri", i);
			if ((uri = get(e, "uri")) == NULL) {
				ERR_JSON(p, path, MODEL_ERR_MISSING);
				continue;
			}
			if (!want(p, uri, W_STRING, path))
				continue;
			for (int k = 0; k < 3; k++) {
				snprintf(path, sizeof(path), "/fetch(%zu)/%s",
				         i, names[k]);
				if ((b = get(e, names[k])) != NULL &&
				    want(p, b, W_BOOL, path))
					flags[k] = json_object_get_boolean(b);
			}
			snprintf(path, sizeof(path), "/fetch(%zu)/destPath", i);
			b = get(e, "destPath");
			if (b != NULL && !want(p, b, W_STRING, path))
				b = NULL;
			append(p, list,
			       fetch_item(p, json_object_get_string(uri),
			                  flags[0], flags[1], flags[2], b));
		}
	}
	if (u != NULL && want(p, u, W_ARRAY, "/uris")) {
		if (json_object_array_length(u) > 0 && f != NULL &&
		    json_object_is_type(f, json_type_array) &&
		    json_object_array_length(f) > 0)
			ERR(p, "/uris",
			    "may not be set in conjunction with fetch");
		for (size_t i = 0; i < json_object_array_length(u); i++) {
			struct json_object *s = json_object_array_get_idx(u, i);
			const char *uri;

			snprintf(path, sizeof(path), "/uris(%zu)", i);
			if (!want(p, s, W_STRING, path))
				continue;
			uri = json_object_get_string(s);
			append(p, list, fetch_item(p, uri, uri_extract(uri),
			                           false, false, NULL));
		}
	}
	put(p, out, "fetch", list);
}

/* Whether S fully matches EXECUTOR_RE: "", "//cmd", or a path of
 * non-empty segments with an optional leading '/'. */
static bool executor_valid(const char *s)
{
	if (s[0] == '\0' || strcmp(s, "//cmd") == 0)
		return true;
	if (s[0] == '/')
		s++;
	return s[0] != '\0' && s[0] != '/' && strstr(s, "//") == NULL &&
	       s[strlen(s) - 1] != '/';
}

static bool protocol_valid(const char *s)
{
	return strcmp(s, "tcp") == 0 || strcmp(s, "udp") == 0 ||
	       strcmp(s, "udp,tcp") == 0;
}

/* Read a port number KEY of E at BASE/KEY into *N (0..65535). */
static bool port_number(struct parse *p, struct json_object *e,
                        const char *base, const char *key, int64_t *n)
{
	struct json_object *v = get(e, key);
	char path[96];

	snprintf(path, sizeof(path), "%s/%s", base, key);
	if (v == NULL || !want(p, v, W_INT, path))
		return false;
	*n = json_object_get_int64(v);
	if (*n < 0)
		ERR(p, path, "got %lld, expected 0 or more", (long long)*n);
	else if (*n > 65535)
		ERR(p, path, "got %lld, expected 65535 or less",
		    (long long)*n);
	return true;
}

/* name, protocol and labels of a port definition or mapping E at BASE,
 * copied into O. */
static void port_common(struct parse *p, struct json_object *e,
                        const char *base, struct json_object *o)
{
	struct json_object *v;
	char path[96];

	snprintf(path, sizeof(path), "%s/protocol", base);
	if ((v = get(e, "protocol")) == NULL) {
		put(p, o, "protocol", json_object_new_string("tcp"));
	} else if (want(p, v, W_STRING, path)) {
		if (!protocol_valid(json_object_get_string(v)))
			ERR_JSON(p, path, MODEL_ERR_ENUM);
		put(p, o, "protocol", copy(p, v));
	}
	snprintf(path, sizeof(path), "%s/name", base);
	if ((v = get(e, "name")) != NULL && want(p, v, W_STRING, path)) {
		if (!model_id_label_valid(json_object_get_string(v),
		                          json_object_get_string_len(v)))
			ERR(p, path,
			    "must fully match regular expression '%s'",
			    PORT_NAME_RE);
		put(p, o, "name", copy(p, v));
	}
	snprintf(path, sizeof(path), "%s/labels", base);
	if ((v = get(e, "labels")) != NULL && want(p, v, W_OBJECT, path) &&
	    json_object_object_length(v) > 0)
		put(p, o, "labels", copy(p, v));
	snprintf(path, sizeof(path), "%s/networkNames", base);
	if ((v = get(e, "networkNames")) != NULL &&
	    want(p, v, W_ARRAY, path) && json_object_array_length(v) > 0)
		put(p, o, "networkNames", copy(p, v));
}

/* Whether two entries of LIST share a value of KEY (the entries
 * themselves when KEY is NULL), ignoring absent ones and the port 0 (to
 * be assigned). */
static bool duplicates(struct json_object *list, const char *key)
{
	size_t n = json_object_array_length(list);

	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(list, i);

		if (key != NULL)
			a = get(a, key);
		if (a == NULL ||
		    (is_number(a) && json_object_get_int64(a) == 0))
			continue;
		for (size_t k = i + 1; k < n; k++) {
			struct json_object *b =
				json_object_array_get_idx(list, k);

			if (key != NULL)
				b = get(b, key);
			if (b != NULL && json_object_equal(a, b))
				return true;
		}
	}
	return false;
}

/* The networks: given, or migrated from docker.network or ipAddress, or
 * the default host network.  Returns the output array. */
static struct json_object *networks(struct parse *p, struct json_object *in)
{
	struct json_object *nets = get(in, "networks");
	struct json_object *ip = get(in, "ipAddress");
	struct json_object *dnet = get(get(get(in, "container"), "docker"),
	                               "network");
	struct json_object *list, *n;
	char path[64];

	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return NULL;
	}
	/* No networks is the default host network. */
	if (nets != NULL && json_object_is_type(nets, json_type_array) &&
	    json_object_array_length(nets) == 0)
		nets = NULL;
	if (dnet != NULL && nets != NULL)
		ERR(p, "/",
		    "must not specify both container.docker.network and "
		    "networks");
	if (ip != NULL && nets != NULL)
		ERR(p, "/", "must not specify both networks and ipAddress");
	if (nets != NULL) {
		if (!want(p, nets, W_ARRAY, "/networks"))
			return list;
		for (size_t i = 0; i < json_object_array_length(nets); i++) {
			struct json_object *e =
				json_object_array_get_idx(nets, i), *v;

			snprintf(path, sizeof(path), "/networks(%zu)", i);
			if (!want(p, e, W_OBJECT, path))
				continue;
			if ((n = json_object_new_object()) == NULL) {
				p->oom = true;
				break;
			}
			snprintf(path, sizeof(path), "/networks(%zu)/mode", i);
			/* The RAML default mode is "container". */
			if ((v = get(e, "mode")) == NULL) {
				put(p, n, "mode",
				    json_object_new_string("container"));
			} else if (want(p, v, W_STRING, path)) {
				const char *m = json_object_get_string(v);

				if (strcmp(m, "host") != 0 &&
				    strcmp(m, "container") != 0 &&
				    strcmp(m, "container/bridge") != 0)
					ERR_JSON(p, path, MODEL_ERR_ENUM);
				put(p, n, "mode", copy(p, v));
			}
			snprintf(path, sizeof(path), "/networks(%zu)/name", i);
			if ((v = get(e, "name")) != NULL &&
			    want(p, v, W_STRING, path))
				put(p, n, "name", copy(p, v));
			snprintf(path, sizeof(path), "/networks(%zu)/labels",
			         i);
			if ((v = get(e, "labels")) != NULL &&
			    want(p, v, W_OBJECT, path) &&
			    json_object_object_length(v) > 0)
				put(p, n, "labels", copy(p, v));
			append(p, list, n);
		}
		return list;
	}
	if ((n = json_object_new_object()) == NULL) {
		p->oom = true;
		return list;
	}
	if (dnet != NULL) {
		const char *m = json_object_is_type(dnet, json_type_string)
		                        ? json_object_get_string(dnet)
		                        : "";

		if (strcmp(m, "HOST") == 0) {
			put(p, n, "mode", json_object_new_string("host"));
		} else if (strcmp(m, "BRIDGE") == 0) {
			put(p, n, "mode",
			    json_object_new_string("container/bridge"));
		} else if (strcmp(m, "USER") == 0) {
			put(p, n, "mode", json_object_new_string("container"));
			if (get(ip, "networkName") != NULL)
				put(p, n, "name",
				    copy(p, get(ip, "networkName")));
		} else {
			ERR_JSON(p, "/container/docker/network",
			         json_object_is_type(dnet, json_type_string)
			                 ? MODEL_ERR_ENUM
			                 : MODEL_ERR_STRING);
		}
	} else if (ip != NULL) {
		struct json_object *name = get(ip, "networkName");

		if (!want(p, ip, W_OBJECT, "/ipAddress")) {
			json_object_put(n);
			return list;
		}
		put(p, n, "mode", json_object_new_string("container"));
		if (name != NULL && want(p, name, W_STRING,
		                         "/ipAddress/networkName"))
			put(p, n, "name", copy(p, name));
		if (get(ip, "labels") != NULL &&
		    want(p, get(ip, "labels"), W_OBJECT, "/ipAddress/labels") &&
		    json_object_object_length(get(ip, "labels")) > 0)
			put(p, n, "labels", copy(p, get(ip, "labels")));
	} else {
		put(p, n, "mode", json_object_new_string("host"));
	}
	append(p, list, n);
	return list;
}

/* The mode of the first network decides (the legality rules below make
 * them agree). */
static enum app_network_mode network_mode(struct json_object *nets)
{
	const char *m = json_object_get_string(
		get(json_object_array_get_idx(nets, 0), "mode"));

	if (m == NULL || strcmp(m, "host") == 0)
		return APP_NET_HOST;
	return strcmp(m, "container/bridge") == 0 ? APP_NET_BRIDGE
	                                          : APP_NET_CONTAINER;
}

/* ramlNetworksValidator and the default network name rule. */
static void networks_check(struct parse *p, struct json_object *nets,
                           bool docker)
{
	size_t n = json_object_array_length(nets);
	size_t host = 0, bridge = 0, ct = 0, unnamed_ct = 0;
	bool host_named = false, bridge_named = false, dup = false;

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(nets, i);
		const char *m = json_object_get_string(get(e, "mode"));
		struct json_object *name = get(e, "name");
		bool named = name != NULL &&
		             json_object_get_string_len(name) > 0;

		if (m == NULL)
			continue;
		if (strcmp(m, "host") == 0) {
			host++;
			host_named |= named || get(e, "labels") != NULL;
		} else if (strcmp(m, "container/bridge") == 0) {
			bridge++;
			bridge_named |= named;
		} else {
			ct++;
			unnamed_ct += name == NULL;
		}
		for (size_t k = i + 1; name != NULL && k < n; k++) {
			struct json_object *o = get(
				json_object_array_get_idx(nets, k), "name");

			dup |= o != NULL && json_object_equal(name, o);
		}
	}
	if (host_named)
		ERR(p, "/networks",
		    "Host networks may not have names or labels");
	if (bridge_named)
		ERR(p, "/networks", "Bridge networks may not have names");
	if (dup || unnamed_ct > 1)
		ERR(p, "/networks", "Duplicate networks are not allowed");
	if (!((host <= 1 && bridge == 0 && ct == 0) ||
	      (host == 0 && bridge <= 1 && ct == 0) ||
	      (host == 0 && bridge == 0 && ct > 0)))
		ERR(p, "/networks",
		    "May specify a single host network, single bridge network, "
		    "or else 1-to-n container networks");
	/* No --default_network_name yet: an unnamed container network has
	 * no name to pick up. */
	if (unnamed_ct > 0)
		ERR(p, "/networks",
		    "Network name must be specified when container network is "
		    "selected.");
	if (docker && ct > 1)
		ERR(p, "/",
		    "may only specify a single container network when using "
		    "the Docker container engine");
}

/* The port mappings of a non-host app: container.portMappings, or the
 * deprecated container.docker.portMappings, or the default one.  Returns
 * NULL when there are none to write. */
static struct json_object *port_mappings(struct parse *p,
                                         struct json_object *container,
                                         enum app_network_mode mode)
{
	struct json_object *pm = get(container, "portMappings");
	const char *base = "/container/portMappings";
	struct json_object *list;
	char path[96];

	if (pm == NULL) {
		pm = get(get(container, "docker"), "portMappings");
		base = "/container/docker/portMappings";
	}
	if (pm == NULL && mode == APP_NET_HOST)
		return NULL;
	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return NULL;
	}
	if (pm == NULL) {
		struct json_object *d = json_object_new_object();

		if (d == NULL) {
			p->oom = true;
			return list;
		}
		put(p, d, "containerPort", json_object_new_int(0));
		if (mode == APP_NET_BRIDGE)
			put(p, d, "hostPort", json_object_new_int(0));
		put(p, d, "name", json_object_new_string("default"));
		put(p, d, "protocol", json_object_new_string("tcp"));
		put(p, d, "servicePort", json_object_new_int(0));
		append(p, list, d);
		return list;
	}
	if (!want(p, pm, W_ARRAY, base))
		return list;
	for (size_t i = 0; i < json_object_array_length(pm); i++) {
		struct json_object *e = json_object_array_get_idx(pm, i), *o;
		int64_t n;

		snprintf(path, sizeof(path), "%s(%zu)", base, i);
		if (!want(p, e, W_OBJECT, path))
			continue;
		if ((o = json_object_new_object()) == NULL) {
			p->oom = true;
			break;
		}
		n = 0;
		port_number(p, e, path, "containerPort", &n);
		put(p, o, "containerPort", json_object_new_int64(n));
		if (port_number(p, e, path, "hostPort", &n))
			put(p, o, "hostPort", json_object_new_int64(n));
		else if (mode == APP_NET_BRIDGE)
			/* In bridge mode an absent host port means one from
			 * the offer. */
			put(p, o, "hostPort", json_object_new_int(0));
		n = 0;
		port_number(p, e, path, "servicePort", &n);
		put(p, o, "servicePort", json_object_new_int64(n));
		port_common(p, e, path, o);
		append(p, list, o);
	}
	if (duplicates(list, "name"))
		ERR(p, base, "Port names must be unique.");
	return list;
}

static void docker(struct parse *p, struct json_object *d,
                   struct json_object *out, bool is_docker)
{
	struct json_object *v;
	static const char *const flags[] = {"forcePullImage", "privileged"};
	char path[64];

	if (!want(p, d, W_OBJECT, "/container/docker"))
		return;
	if ((v = get(d, "image")) == NULL)
		ERR_JSON(p, "/container/docker/image", MODEL_ERR_MISSING);
	else if (want(p, v, W_STRING, "/container/docker/image")) {
		if (json_object_get_string_len(v) == 0)
			ERR(p, "/container/docker/image", "must not be empty");
		put(p, out, "image", copy(p, v));
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/container/docker/%s", flags[i]);
		v = get(d, flags[i]);
		if (v == NULL)
			put(p, out, flags[i], json_object_new_boolean(false));
		else if (want(p, v, W_BOOL, path))
			put(p, out, flags[i], copy(p, v));
	}
	if (get(d, "credential") != NULL)
		ERR(p, "/container/docker/credential", "must be empty");
	v = get(d, "parameters");
	if (v != NULL && want(p, v, W_ARRAY, "/container/docker/parameters")) {
		if (!is_docker && json_object_array_length(v) > 0)
			ERR(p, "/container/docker/parameters", "must be empty");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			static const char *const kv[] = {"key", "value"};

			snprintf(path, sizeof(path),
			         "/container/docker/parameters(%zu)", i);
			if (!want(p, e, W_OBJECT, path))
				continue;
			for (int k = 0; k < 2; k++) {
				snprintf(path, sizeof(path),
				         "/container/docker/parameters(%zu)/%s",
				         i, kv[k]);
				if (get(e, kv[k]) == NULL)
					ERR_JSON(p, path, MODEL_ERR_MISSING);
				else
					want(p, get(e, kv[k]), W_STRING, path);
			}
		}
	}
	if (is_docker)
		put(p, out, "parameters",
		    v != NULL ? copy(p, v) : json_object_new_array());
	if ((v = get(d, "pullConfig")) != NULL) {
		if (is_docker)
			ERR(p, "/container/docker/pullConfig",
			    "pullConfig is not supported with Docker "
			    "containerizer");
		else
			ERR(p, "/container/docker/pullConfig", NO_SECRETS);
	}
}

/* container, with its port mappings; returns the container type. */
static enum app_container_type container(struct parse *p,
                                         struct json_object *in,
                                         struct json_object *out,
                                         enum app_network_mode mode,
                                         bool *image_r)
{
	struct json_object *c = get(in, "container"), *o, *v, *pm;
	enum app_container_type type = APP_CONTAINER_DOCKER;

	*image_r = false;
	if (c != NULL && !want(p, c, W_OBJECT, "/container"))
		return APP_CONTAINER_NONE;
	if (c == NULL && mode == APP_NET_HOST)
		return APP_CONTAINER_NONE;
	if ((o = json_object_new_object()) == NULL) {
		p->oom = true;
		return APP_CONTAINER_NONE;
	}
	/* A non-host app without a container gets a MESOS one to carry its
	 * port mappings, as AppNormalization does. */
	if (c == NULL)
		type = APP_CONTAINER_MESOS;
	if ((v = get(c, "type")) != NULL && want(p, v, W_STRING,
	                                         "/container/type")) {
		if (strcmp(json_object_get_string(v), "MESOS") == 0)
			type = APP_CONTAINER_MESOS;
		else if (strcmp(json_object_get_string(v), "DOCKER") != 0)
			ERR_JSON(p, "/container/type", MODEL_ERR_ENUM);
	}
	put(p, o, "type",
	    json_object_new_string(type == APP_CONTAINER_MESOS ? "MESOS"
	                                                       : "DOCKER"));
	if ((v = get(c, "docker")) != NULL) {
		struct json_object *d = json_object_new_object();

		if (d == NULL) {
			p->oom = true;
		} else {
			docker(p, v, d, type == APP_CONTAINER_DOCKER);
			put(p, o, "docker", d);
		}
	}
	/* containsCmdArgsOrContainer: exactly one image, appc only with
	 * MESOS. */
	if (get(c, "appc") != NULL) {
		if (type == APP_CONTAINER_MESOS && v != NULL)
			ERR(p, "/container",
			    "mesos containers should specify, at most, a single "
			    "image type");
		if (type == APP_CONTAINER_MESOS)
			put(p, o, "appc", copy(p, get(c, "appc")));
		*image_r = v == NULL && type == APP_CONTAINER_MESOS;
	} else {
		*image_r = v != NULL;
	}
	if ((v = get(c, "volumes")) == NULL)
		put(p, o, "volumes", json_object_new_array());
	else if (want(p, v, W_ARRAY, "/container/volumes"))
		put(p, o, "volumes", copy(p, v));
	if ((v = get(c, "linuxInfo")) != NULL &&
	    want(p, v, W_OBJECT, "/container/linuxInfo"))
		put(p, o, "linuxInfo", copy(p, v));
	if ((pm = port_mappings(p, c, mode)) != NULL) {
		/* AppNormalization.forDeprecated (maybeDropPortMappings)
		 * drops them before validation: on the host network a
		 * container's mappings mean nothing, and Marathon accepts
		 * such apps. */
		if (mode == APP_NET_HOST) {
			json_object_put(pm);
			pm = json_object_new_array();
		}
		put(p, o, "portMappings", pm);
	}
	put(p, out, "container", o);
	return type;
}

/* portDefinitions (host networking), from the deprecated ports if need
 * be, else the default one. */
static void port_definitions(struct parse *p, struct json_object *in,
                             struct json_object *out,
                             enum app_network_mode mode)
{
	struct json_object *pd = get(in, "portDefinitions"), *ports,
	                   *list;
	char path[64];

	ports = get(in, "ports");
	if (ports != NULL && want(p, ports, W_ARRAY, "/ports")) {
		bool same = pd != NULL &&
		            json_object_is_type(pd, json_type_array) &&
		            json_object_array_length(pd) ==
		                    json_object_array_length(ports);

		for (size_t i = 0; same && i < json_object_array_length(pd);
		     i++)
			same = json_object_equal(
				get(json_object_array_get_idx(pd, i), "port"),
				json_object_array_get_idx(ports, i));
		if (pd != NULL && !same)
			ERR(p, "/",
			    "cannot specify both ports and port definitions");
		if (get(in, "ipAddress") != NULL &&
		    json_object_array_length(ports) > 0)
			ERR(p, "/",
			    "cannot specify both an IP address and port");
		if (duplicates(ports, NULL))
			ERR(p, "/", "ports must be unique");
	} else {
		ports = NULL;
	}
	if (pd != NULL && get(in, "ipAddress") != NULL &&
	    json_object_is_type(pd, json_type_array) &&
	    json_object_array_length(pd) > 0)
		ERR(p, "/", "cannot specify both an IP address and port");
	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return;
	}
	if (pd != NULL && want(p, pd, W_ARRAY, "/portDefinitions")) {
		for (size_t i = 0; i < json_object_array_length(pd); i++) {
			struct json_object *e =
				json_object_array_get_idx(pd, i), *o;
			int64_t n = 0;

			snprintf(path, sizeof(path), "/portDefinitions(%zu)",
			         i);
			if (!want(p, e, W_OBJECT, path))
				continue;
			if ((o = json_object_new_object()) == NULL) {
				p->oom = true;
				break;
			}
			if (get(e, "port") == NULL) {
				snprintf(path, sizeof(path),
				         "/portDefinitions(%zu)/port", i);
				ERR_JSON(p, path, MODEL_ERR_MISSING);
			} else {
				port_number(p, e, path, "port", &n);
			}
			put(p, o, "port", json_object_new_int64(n));
			port_common(p, e, path, o);
			append(p, list, o);
		}
		if (mode != APP_NET_HOST && json_object_array_length(pd) > 0)
			ERR(p, "/",
			    "portDefinitions are only allowed with "
			    "host-networking");
	} else if (ports != NULL) {
		for (size_t i = 0; i < json_object_array_length(ports); i++) {
			struct json_object *e =
				json_object_array_get_idx(ports, i), *o;
			int64_t n;

			snprintf(path, sizeof(path), "/ports(%zu)", i);
			if (!want(p, e, W_INT, path))
				continue;
			if ((o = json_object_new_object()) == NULL) {
				p->oom = true;
				break;
			}
			n = json_object_get_int64(e);
			if (n < 0)
				ERR(p, path, "got %lld, expected 0 or more",
				    (long long)n);
			else if (n > 65535)
				ERR(p, path, "got %lld, expected 65535 or less",
				    (long long)n);
			put(p, o, "port", json_object_new_int64(n));
			put(p, o, "protocol", json_object_new_string("tcp"));
			append(p, list, o);
		}
	} else if (mode == APP_NET_HOST) {
		struct json_object *o = json_object_new_object();

		if (o == NULL) {
			p->oom = true;
		} else {
			put(p, o, "port", json_object_new_int(0));
			put(p, o, "name", json_object_new_string("default"));
			put(p, o, "protocol", json_object_new_string("tcp"));
			append(p, list, o);
		}
	}
	if (duplicates(list, "name"))
		ERR(p, "/portDefinitions", "Port names must be unique.");
	if (duplicates(list, "port"))
		ERR(p, "/portDefinitions", "Ports must be unique.");
	if (mode == APP_NET_HOST)
		put(p, out, "portDefinitions", list);
	else
		json_object_put(list);
}

/* upgradeStrategy with its defaults and bounds.  A single instance app
 * (label MARATHON_SINGLE_INSTANCE_APP=true) defaults to {0, 0} and may
 * neither keep an old instance nor start an extra one. */
static void upgrade_strategy(struct parse *p, struct json_object *in,
                             struct json_object *out)
{
	static const char *const keys[] = {"minimumHealthCapacity",
	                                   "maximumOverCapacity"};
	struct json_object *u = get(in, "upgradeStrategy"), *o, *v;
	const char *single = json_object_get_string(
		get(get(in, "labels"), "MARATHON_SINGLE_INSTANCE_APP"));
	bool is_single = single != NULL && strcmp(single, "true") == 0;
	char path[64], a[32];

	if (u != NULL && !want(p, u, W_OBJECT, "/upgradeStrategy"))
		u = NULL;
	if ((o = json_object_new_object()) == NULL) {
		p->oom = true;
		return;
	}
	for (int i = 0; i < 2; i++) {
		double d = is_single ? 0 : 1;

		snprintf(path, sizeof(path), "/upgradeStrategy/%s", keys[i]);
		if ((v = get(u, keys[i])) != NULL && want(p, v, W_NUMBER, path))
			d = json_object_get_double(v);
		if (d < 0)
			ERR(p, path, "is less than 0");
		else if (d > 1)
			ERR(p, path, "is greater than 1");
		else if (is_single && d != 0)
			ERR(p, path, "got %s, expected 0.0",
			    scala_double(d, a, sizeof(a)));
		put(p, o, keys[i], new_number(d));
	}
	put(p, out, "upgradeStrategy", o);
	v = get(in, "instances");
	if (is_single && is_number(v) && json_object_get_double(v) > 1)
		ERR(p, "/", "Single instance app may only have one instance");
}

static void unreachable_strategy(struct parse *p, struct json_object *in,
                                 struct json_object *out)
{
	static const char *const keys[] = {"inactiveAfterSeconds",
	                                   "expungeAfterSeconds"};
	struct json_object *u = get(in, "unreachableStrategy"), *o;
	int64_t n[2] = {0, 0};
	char path[64];

	if (u != NULL && json_object_is_type(u, json_type_string)) {
		if (strcmp(json_object_get_string(u), "disabled") != 0)
			ERR_JSON(p, "/unreachableStrategy", MODEL_ERR_ENUM);
		put(p, out, "unreachableStrategy", copy(p, u));
		return;
	}
	if (u != NULL && !want(p, u, W_OBJECT, "/unreachableStrategy"))
		u = NULL;
	if ((o = json_object_new_object()) == NULL) {
		p->oom = true;
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct json_object *v = get(u, keys[i]);

		snprintf(path, sizeof(path), "/unreachableStrategy/%s",
		         keys[i]);
		if (v != NULL && want(p, v, W_INT, path))
			n[i] = json_object_get_int64(v);
		if (n[i] < 0)
			ERR(p, path, "got %lld, expected 0 or more",
			    (long long)n[i]);
		put(p, o, keys[i], json_object_new_int64(n[i]));
	}
	if (n[0] > n[1])
		ERR(p, "/unreachableStrategy/inactiveAfterSeconds",
		    "got %lld, expected %lld or less", (long long)n[0],
		    (long long)n[1]);
	put(p, out, "unreachableStrategy", o);
}

static void kill_selection(struct parse *p, struct json_object *in,
                           struct json_object *out)
{
	struct json_object *v = get(in, "killSelection");

	if (v == NULL) {
		put(p, out, "killSelection",
		    json_object_new_string("YOUNGEST_FIRST"));
		return;
	}
	if (!want(p, v, W_STRING, "/killSelection"))
		return;
	if (strcmp(json_object_get_string(v), "YOUNGEST_FIRST") != 0 &&
	    strcmp(json_object_get_string(v), "OLDEST_FIRST") != 0)
		ERR_JSON(p, "/killSelection", MODEL_ERR_ENUM);
	put(p, out, "killSelection", copy(p, v));
}

/* dependencies, made absolute against the app's parent group. */
static void dependencies(struct parse *p, struct json_object *in,
                         struct json_object *out, const char *parent)
{
	struct json_object *v = get(in, "dependencies"), *list;
	char path[64];

	if ((list = json_object_new_array()) == NULL) {
		p->oom = true;
		return;
	}
	if (v != NULL && want(p, v, W_ARRAY, "/dependencies")) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *d = json_object_array_get_idx(v, i);
			const char *why;
			char *id;

			snprintf(path, sizeof(path), "/dependencies(%zu)", i);
			if (!want(p, d, W_STRING, path))
				continue;
			id = model_id_normalize(json_object_get_string(d),
			                        parent);
			if (id == NULL) {
				p->oom = true;
				break;
			}
			why = model_id_check(id);
			if (why != NULL && strcmp(why, MODEL_ID_MSG_EMPTY) != 0)
				ERR(p, path, "%s", why);
			append(p, list, json_object_new_string(id));
			free(id);
		}
	}
	put(p, out, "dependencies", list);
}

/* Marathon's defaults of one health check of protocol PR (reference 4.1),
 * added where absent, and its numbers checked. */
static void health_check_defaults(struct parse *p, struct json_object *hc,
                                  const char *pr, size_t i)
{
	static const struct {
		const char *key;
		int64_t def, min;
	} nums[] = {
		{"gracePeriodSeconds", 300, 0}, {"intervalSeconds", 60, 1},
		{"timeoutSeconds", 20, 1},      {"maxConsecutiveFailures", 3, 0},
		{"delaySeconds", 15, 0},
	};
	bool http = strstr(pr, "HTTP") != NULL;
	char path[96];

	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		struct json_object *v = get(hc, nums[k].key);

		snprintf(path, sizeof(path), "/healthChecks(%zu)/%s", i,
		         nums[k].key);
		if (v == NULL)
			put(p, hc, nums[k].key,
			    json_object_new_int64(nums[k].def));
		else if (want(p, v, W_INT, path) &&
		         json_object_get_int64(v) < nums[k].min)
			ERR(p, path, "got %lld, expected %lld or more",
			    (long long)json_object_get_int64(v),
			    (long long)nums[k].min);
	}
	if (get(hc, "protocol") == NULL)
		put(p, hc, "protocol", json_object_new_string(pr));
	if (http && get(hc, "path") == NULL)
		put(p, hc, "path", json_object_new_string("/"));
	if ((strcmp(pr, "HTTP") == 0 || strcmp(pr, "HTTPS") == 0) &&
	    get(hc, "ignoreHttp1xx") == NULL)
		put(p, hc, "ignoreHttp1xx", json_object_new_boolean(0));
	if (strcmp(pr, "COMMAND") == 0) {
		struct json_object *c = get(hc, "command");

		snprintf(path, sizeof(path), "/healthChecks(%zu)/command", i);
		if (c == NULL || !json_object_is_type(get(c, "value"),
		                                      json_type_string))
			ERR(p, path, "a COMMAND health check needs "
			             "command.value, the shell command to run");
	}
}

static bool health_protocol_known(const char *pr)
{
	static const char *const known[] = {"HTTP", "HTTPS", "TCP",
	                                    "COMMAND", "MESOS_HTTP",
	                                    "MESOS_HTTPS", "MESOS_TCP"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(pr, known[i]) == 0)
			return true;
	return false;
}

/* The health checks get Marathon's defaults (reference 4.1); their port
 * index is checked against the ports (portIndexIsValid) and at most one
 * may be executed by Mesos. */
static void health_checks(struct parse *p, struct json_object *out,
                          size_t n_ports)
{
	struct json_object *hcs = get(out, "healthChecks");
	size_t mesos = 0;
	char path[64];

	for (size_t i = 0; hcs != NULL && i < json_object_array_length(hcs);
	     i++) {
		struct json_object *hc = json_object_array_get_idx(hcs, i);
		struct json_object *idx, *proto;
		const char *pr = "HTTP";

		snprintf(path, sizeof(path), "/healthChecks(%zu)", i);
		if (!want(p, hc, W_OBJECT, path))
			continue;
		proto = get(hc, "protocol");
		if (json_object_is_type(proto, json_type_string))
			pr = json_object_get_string(proto);
		if (!health_protocol_known(pr)) {
			snprintf(path, sizeof(path),
			         "/healthChecks(%zu)/protocol", i);
			ERR(p, path,
			    "unknown protocol %s; use HTTP, HTTPS, TCP, "
			    "COMMAND, MESOS_HTTP, MESOS_HTTPS or MESOS_TCP",
			    pr);
			continue;
		}
		health_check_defaults(p, hc, pr, i);
		if (strncmp(pr, "MESOS_", 6) == 0 || strcmp(pr, "COMMAND") == 0)
			mesos++;
		if (get(hc, "command") != NULL ||
		    (strcmp(pr, "HTTP") != 0 && strcmp(pr, "HTTPS") != 0 &&
		     strcmp(pr, "TCP") != 0))
			continue;
		idx = get(hc, "portIndex");
		if (idx != NULL) {
			snprintf(path, sizeof(path),
			         "/healthChecks(%zu)/portIndex", i);
			if (!want(p, idx, W_INT, path))
				continue;
			if (json_object_get_int64(idx) >= 0 &&
			    (size_t)json_object_get_int64(idx) < n_ports)
				continue;
		} else if (get(hc, "port") != NULL) {
			continue;
		} else if (n_ports >= 1) {
			/* Neither given: the first port. */
			put(p, hc, "portIndex", json_object_new_int64(0));
			continue;
		}
		snprintf(path, sizeof(path), "/healthChecks(%zu)", i);
		ERR(p, path,
		    "Health check port indices must address an element of the "
		    "ports array or container port mappings.");
	}
	if (mesos > 1)
		ERR(p, "/",
		    "AppDefinition can contain at most one Mesos health check");
}

static void id_field(struct parse *p, struct json_object *in,
                     struct json_object *out, const char *base,
                     char **parent_r)
{
	struct json_object *v = get(in, "id");
	const char *why;
	char *id;

	*parent_r = NULL;
	if (v == NULL) {
		ERR_JSON(p, "/id", MODEL_ERR_MISSING);
		return;
	}
	if (!want(p, v, W_STRING, "/id"))
		return;
	if ((id = model_id_normalize(json_object_get_string(v), base)) ==
	    NULL) {
		p->oom = true;
		return;
	}
	if ((why = model_id_check(id)) != NULL)
		ERR(p, "/id", "%s", why);
	if (model_id_is_root(id))
		ERR(p, "/", "must not be root");
	put(p, out, "id", json_object_new_string(id));
	if ((*parent_r = model_id_parent(id)) == NULL)
		p->oom = true;
	free(id);
}

/* Build the canonical definition of IN into OUT, adding every error. */
static void app_build(struct parse *p, struct json_object *in,
                      struct json_object *out, const char *base)
{
	struct json_object *cmd, *args, *nets, *v;
	enum app_network_mode mode;
	enum app_container_type type;
	bool has_cmd = false, has_args = false, image = false;
	size_t n_ports = 0;
	char *parent = NULL;

	id_field(p, in, out, base, &parent);
	if ((cmd = get(in, "cmd")) != NULL && want(p, cmd, W_STRING, "/cmd")) {
		if (json_object_get_string_len(cmd) <= 1)
			ERR(p, "/", "must not be an empty string");
		has_cmd = true;
		put(p, out, "cmd", copy(p, cmd));
	}
	if ((args = get(in, "args")) != NULL &&
	    want(p, args, W_ARRAY, "/args")) {
		char path[64];

		for (size_t i = 0; i < json_object_array_length(args); i++) {
			snprintf(path, sizeof(path), "/args(%zu)", i);
			want(p, json_object_array_get_idx(args, i), W_STRING,
			     path);
		}
		has_args = json_object_array_length(args) > 0;
		if (has_args)
			put(p, out, "args", copy(p, args));
	}
	for (size_t i = 0; i < sizeof(scalar_fields) / sizeof(scalar_fields[0]);
	     i++)
		scalar_field(p, in, out, &scalar_fields[i]);
	string_map(p, in, out, "env", true);
	string_map(p, in, out, "labels", false);
	constraints(p, in, out);
	fetch(p, in, out);
	verbatim(p, in, out, "healthChecks", W_ARRAY, true);
	verbatim(p, in, out, "readinessChecks", W_ARRAY, true);
	verbatim(p, in, out, "check", W_OBJECT, false);
	verbatim(p, in, out, "acceptedResourceRoles", W_ARRAY, false);
	verbatim(p, in, out, "resourceLimits", W_OBJECT, false);
	verbatim(p, in, out, "executorResources", W_OBJECT, false);
	verbatim(p, in, out, "secrets", W_OBJECT, true);
	if ((v = get(out, "secrets")) != NULL &&
	    json_object_object_length(v) > 0)
		ERR(p, "/secrets", NO_SECRETS);
	if ((v = get(out, "readinessChecks")) != NULL &&
	    json_object_array_length(v) > 1)
		ERR(p, "/readinessChecks", "got %zu, expected 1 or less",
		    json_object_array_length(v));
	if ((v = get(out, "executor")) != NULL &&
	    !executor_valid(json_object_get_string(v)))
		ERR(p, "/executor", "must fully match regular expression '%s'",
		    EXECUTOR_RE);
	if ((v = get(out, "acceptedResourceRoles")) != NULL) {
		const char *role = json_object_get_string(get(out, "role"));
		char path[64];

		if (json_object_array_length(v) == 0)
			ERR(p, "/acceptedResourceRoles", "must not be empty");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			const char *r;

			snprintf(path, sizeof(path),
			         "/acceptedResourceRoles(%zu)", i);
			if (!want(p, e, W_STRING, path))
				continue;
			r = json_object_get_string(e);
			if (strcmp(r, "*") != 0 &&
			    (role == NULL || strcmp(r, role) != 0)) {
				ERR(p, "/acceptedResourceRoles",
				    "acceptedResourceRoles can only contain * "
				    "and %s",
				    role != NULL ? role : "*");
				break;
			}
		}
	}
	upgrade_strategy(p, in, out);
	unreachable_strategy(p, in, out);
	kill_selection(p, in, out);
	dependencies(p, in, out, parent != NULL ? parent : "/");
	free(parent);

	nets = networks(p, in);
	mode = nets != NULL && json_object_array_length(nets) > 0
	               ? network_mode(nets)
	               : APP_NET_HOST;
	type = container(p, in, out, mode, &image);
	if (nets != NULL) {
		networks_check(p, nets, type == APP_CONTAINER_DOCKER);
		put(p, out, "networks", nets);
	}
	port_definitions(p, in, out, mode);
	v = get(in, "requirePorts");
	if (v != NULL && !want(p, v, W_BOOL, "/requirePorts"))
		v = NULL;
	put(p, out, "requirePorts",
	    json_object_new_boolean(mode == APP_NET_HOST && v != NULL &&
	                            json_object_get_boolean(v)));
	if (!((has_cmd ^ has_args) || (!(has_cmd && has_args) && image)))
		ERR(p, "/",
		    "AppDefinition must either contain one of 'cmd' or "
		    "'args', and/or a 'container'.");
	if ((v = get(out, "gpus")) != NULL && json_object_get_int64(v) > 0) {
		if (type == APP_CONTAINER_DOCKER)
			ERR(p, "/",
			    "GPU resources only work with the Mesos "
			    "containerizer");
		ERR(p, "/",
		    "Feature gpu_resources is not enabled. Enable with "
		    "--enable_features gpu_resources)");
	}
	v = get(get(out, "container"), "portMappings");
	if (v != NULL && json_object_array_length(v) > 0)
		n_ports = json_object_array_length(v);
	else if ((v = get(out, "portDefinitions")) != NULL)
		n_ports = json_object_array_length(v);
	health_checks(p, out, n_ports);
	/* A stored version carries its version stamps: keep them. */
	if ((v = get(in, "version")) != NULL &&
	    want(p, v, W_STRING, "/version"))
		put(p, out, "version", copy(p, v));
	if ((v = get(in, "versionInfo")) != NULL &&
	    want(p, v, W_OBJECT, "/versionInfo"))
		put(p, out, "versionInfo", copy(p, v));
}

/* Strings of the array V (all strings, checked before) into a new
 * array; *n_r its length.  Returns false when out of memory. */
static bool strings(struct json_object *v, const char ***arr_r, size_t *n_r)
{
	size_t n = v != NULL ? json_object_array_length(v) : 0;

	*n_r = n;
	*arr_r = NULL;
	if (n == 0)
		return true;
	if ((*arr_r = calloc(n, sizeof(**arr_r))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		(*arr_r)[i] = json_object_get_string(
			json_object_array_get_idx(v, i));
	return true;
}

static bool kvs(struct json_object *obj, struct app_kv **kv_r, size_t *n_r)
{
	size_t i = 0;

	*n_r = obj != NULL ? (size_t)json_object_object_length(obj) : 0;
	*kv_r = NULL;
	if (*n_r == 0)
		return true;
	if ((*kv_r = calloc(*n_r, sizeof(**kv_r))) == NULL)
		return false;
	json_object_object_foreach(obj, k, v) {
		(*kv_r)[i].key = k;
		(*kv_r)[i++].value = json_object_get_string(v);
	}
	return true;
}

static bool ports(struct json_object *list, bool mappings,
                  struct app_port **ports_r, size_t *n_r)
{
	*n_r = list != NULL ? json_object_array_length(list) : 0;
	*ports_r = NULL;
	if (*n_r == 0)
		return true;
	if ((*ports_r = calloc(*n_r, sizeof(**ports_r))) == NULL)
		return false;
	for (size_t i = 0; i < *n_r; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct app_port *port = &(*ports_r)[i];

		port->name = json_object_get_string(get(e, "name"));
		port->protocol = json_object_get_string(get(e, "protocol"));
		if (mappings) {
			port->container_port =
				json_object_get_int64(get(e, "containerPort"));
			port->host_port = get(e, "hostPort") != NULL
			                          ? json_object_get_int64(
			                                    get(e, "hostPort"))
			                          : -1;
			port->service_port =
				json_object_get_int64(get(e, "servicePort"));
		} else {
			port->host_port = -1;
			port->service_port =
				json_object_get_int64(get(e, "port"));
		}
	}
	return true;
}

static void app_free_arrays(struct app *app)
{
	free(app->args);
	free(app->env);
	free(app->labels);
	free(app->constraints);
	free(app->port_definitions);
	free(app->port_mappings);
	free(app->docker_parameters);
	free(app->dependencies);
}

/* The version strings, after the canonical object changed. */
static void app_fill_version(struct app *app)
{
	struct json_object *vi = get(app->json, "versionInfo");

	app->version = json_object_get_string(get(app->json, "version"));
	app->last_scaling_at =
		json_object_get_string(get(vi, "lastScalingAt"));
	app->last_config_change_at =
		json_object_get_string(get(vi, "lastConfigChangeAt"));
}

/* The typed fields, from the canonical object (well-typed by now). */
static int app_fill(struct app *app)
{
	struct json_object *j = app->json, *c = get(j, "container"), *v;
	struct json_object *d = get(c, "docker");
	const char *s;

	app->id = json_object_get_string(get(j, "id"));
	app->cmd = json_object_get_string(get(j, "cmd"));
	app->user = json_object_get_string(get(j, "user"));
	app->role = json_object_get_string(get(j, "role"));
	app->cpus = json_object_get_double(get(j, "cpus"));
	app->mem = json_object_get_double(get(j, "mem"));
	app->disk = json_object_get_double(get(j, "disk"));
	app->gpus = json_object_get_int64(get(j, "gpus"));
	app->instances = json_object_get_int64(get(j, "instances"));
	app->backoff_seconds = json_object_get_int64(get(j, "backoffSeconds"));
	app->backoff_factor = json_object_get_double(get(j, "backoffFactor"));
	app->max_launch_delay_seconds =
		json_object_get_int64(get(j, "maxLaunchDelaySeconds"));
	v = get(j, "taskKillGracePeriodSeconds");
	app->task_kill_grace_period_seconds =
		v != NULL ? json_object_get_int64(v) : -1;
	s = json_object_get_string(get(j, "killSelection"));
	app->kill_selection = strcmp(s, "OLDEST_FIRST") == 0
	                              ? APP_KILL_OLDEST_FIRST
	                              : APP_KILL_YOUNGEST_FIRST;
	v = get(j, "upgradeStrategy");
	app->upgrade_min_health =
		json_object_get_double(get(v, "minimumHealthCapacity"));
	app->upgrade_max_over =
		json_object_get_double(get(v, "maximumOverCapacity"));
	v = get(j, "unreachableStrategy");
	app->unreachable_disabled = json_object_is_type(v, json_type_string);
	app->unreachable_inactive_after =
		json_object_get_int64(get(v, "inactiveAfterSeconds"));
	app->unreachable_expunge_after =
		json_object_get_int64(get(v, "expungeAfterSeconds"));
	app->require_ports = json_object_get_boolean(get(j, "requirePorts"));
	app->network_mode = network_mode(get(j, "networks"));
	app->health_checks = get(j, "healthChecks");
	app->container_type = APP_CONTAINER_NONE;
	if (c != NULL)
		app->container_type =
			strcmp(json_object_get_string(get(c, "type")),
			       "MESOS") == 0
				? APP_CONTAINER_MESOS
				: APP_CONTAINER_DOCKER;
	app->docker_image = json_object_get_string(get(d, "image"));
	app->docker_force_pull =
		json_object_get_boolean(get(d, "forcePullImage"));
	app->docker_privileged = json_object_get_boolean(get(d, "privileged"));
	app_fill_version(app);
	if (!strings(get(j, "args"), &app->args, &app->n_args) ||
	    !strings(get(j, "dependencies"), &app->dependencies,
	             &app->n_dependencies) ||
	    !kvs(get(j, "env"), &app->env, &app->n_env) ||
	    !kvs(get(j, "labels"), &app->labels, &app->n_labels) ||
	    !ports(get(j, "portDefinitions"), false, &app->port_definitions,
	           &app->n_port_definitions) ||
	    !ports(get(c, "portMappings"), true, &app->port_mappings,
	           &app->n_port_mappings))
		return -1;
	v = get(d, "parameters");
	app->n_docker_parameters = v != NULL ? json_object_array_length(v) : 0;
	if (app->n_docker_parameters > 0) {
		app->docker_parameters =
			calloc(app->n_docker_parameters,
			       sizeof(*app->docker_parameters));
		if (app->docker_parameters == NULL)
			return -1;
		for (size_t i = 0; i < app->n_docker_parameters; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			app->docker_parameters[i].key =
				json_object_get_string(get(e, "key"));
			app->docker_parameters[i].value =
				json_object_get_string(get(e, "value"));
		}
	}
	v = get(j, "constraints");
	app->n_constraints = json_object_array_length(v);
	if (app->n_constraints > 0) {
		app->constraints = calloc(app->n_constraints,
		                          sizeof(*app->constraints));
		if (app->constraints == NULL)
			return -1;
		for (size_t i = 0; i < app->n_constraints; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			app->constraints[i].field = json_object_get_string(
				json_object_array_get_idx(e, 0));
			app->constraints[i].op = json_object_get_string(
				json_object_array_get_idx(e, 1));
			app->constraints[i].value =
				json_object_array_length(e) > 2
					? json_object_get_string(
						  json_object_array_get_idx(e,
					                                    2))
					: NULL;
		}
	}
	return 0;
}

int model_app_parse(struct json_object *in, const char *base_id,
                    const char *err_prefix, struct app **app_r,
                    struct model_errors *errors)
{
	struct parse p = {.errs = errors, .prefix = err_prefix};
	size_t n_before = errors->n;
	struct app *app;

	if (!json_object_is_type(in, json_type_object)) {
		model_errors_add(errors, MODEL_ERR_JSON, err_prefix, "/", "%s",
		                 MODEL_ERR_OBJECT);
		return -1;
	}
	if ((app = calloc(1, sizeof(*app))) == NULL)
		return -2;
	if ((app->json = json_object_new_object()) == NULL)
		goto fail_free_app;
	app_build(&p, in, app->json, base_id);
	if (p.oom || errors->oom)
		goto fail_free_app;
	if (errors->n > n_before) {
		model_app_free(app);
		return -1;
	}
	if (app_fill(app) != 0)
		goto fail_free_app;
	*app_r = app;
	return 0;

fail_free_app:
	model_app_free(app);
	return -2;
}

void model_app_free(struct app *app)
{
	if (app == NULL)
		return;
	if (app->refs > 0) {
		app->refs--;
		return;
	}
	app_free_arrays(app);
	json_object_put(app->json);
	free(app);
}

struct app *model_app_ref(const struct app *app)
{
	struct app *a = (struct app *)app;

	a->refs++;
	return a;
}

struct json_object *model_app_to_json(const struct app *app)
{
	struct json_object *c = NULL;

	if (json_object_deep_copy(app->json, &c, NULL) != 0)
		return NULL;
	return c;
}

int model_app_merge(const struct app *current, struct json_object *patch,
                    const char *err_prefix, struct app **app_r,
                    struct model_errors *errors)
{
	struct json_object *merged = model_app_to_json(current);
	int rc;

	if (merged == NULL)
		return -2;
	if (!json_object_is_type(patch, json_type_object)) {
		json_object_put(merged);
		model_errors_add(errors, MODEL_ERR_JSON, err_prefix, "/", "%s",
		                 MODEL_ERR_OBJECT);
		return -1;
	}
	/* A deprecated field in the patch replaces the canonical field it
	 * migrates to, or both would be present. */
	if (get(patch, "ports") != NULL)
		json_object_object_del(merged, "portDefinitions");
	if (get(patch, "uris") != NULL)
		json_object_object_del(merged, "fetch");
	if (get(patch, "ipAddress") != NULL ||
	    get(get(get(patch, "container"), "docker"), "network") != NULL)
		json_object_object_del(merged, "networks");
	/* New networks decide the ports anew unless the patch gives them:
	 * the host port definitions go, and so do the port mappings when
	 * the app moves to host networking. */
	if (json_object_is_type(get(patch, "networks"), json_type_array)) {
		struct json_object *first = json_object_array_get_idx(
			get(patch, "networks"), 0);
		const char *mode = json_object_get_string(get(first, "mode"));

		if (get(patch, "portDefinitions") == NULL &&
		    get(patch, "ports") == NULL)
			json_object_object_del(merged, "portDefinitions");
		if (get(patch, "container") == NULL &&
		    (first == NULL ||
		     (mode != NULL && strcmp(mode, "host") == 0)))
			json_object_object_del(get(merged, "container"),
			                       "portMappings");
	}
	json_object_object_foreach(patch, key, val) {
		struct json_object *c = NULL;

		if (strcmp(key, "id") == 0)
			continue;
		if (val != NULL && json_object_deep_copy(val, &c, NULL) != 0) {
			json_object_put(merged);
			return -2;
		}
		if (json_object_object_add(merged, key, c) != 0) {
			json_object_put(c);
			json_object_put(merged);
			return -2;
		}
	}
	rc = model_app_parse(merged, "/", err_prefix, app_r, errors);
	json_object_put(merged);
	return rc;
}

/* Whether A and B are equal once the keys in SKIP are taken out. */
static int equal_without(struct json_object *a, struct json_object *b,
                         const char *const *skip, size_t n_skip, bool *eq_r)
{
	struct json_object *ca = NULL, *cb = NULL;

	if (json_object_deep_copy(a, &ca, NULL) != 0)
		return -1;
	if (json_object_deep_copy(b, &cb, NULL) != 0) {
		json_object_put(ca);
		return -1;
	}
	for (size_t i = 0; i < n_skip; i++) {
		json_object_object_del(ca, skip[i]);
		json_object_object_del(cb, skip[i]);
	}
	*eq_r = json_object_equal(ca, cb);
	json_object_put(ca);
	json_object_put(cb);
	return 0;
}

enum model_app_change model_app_compare(const struct app *from,
                                        const struct app *to)
{
	static const char *const skip[] = {"version", "versionInfo",
	                                   "instances"};
	bool eq = false;

	/* Out of memory: call it a config change, the safe answer. */
	if (equal_without(from->json, to->json, skip, 2, &eq) != 0)
		return MODEL_APP_CONFIG;
	if (eq)
		return MODEL_APP_SAME;
	if (equal_without(from->json, to->json, skip, 3, &eq) != 0 || !eq)
		return MODEL_APP_CONFIG;
	return MODEL_APP_SCALE;
}

void model_timestamp_format(int64_t ms, char buf[MODEL_TIMESTAMP_LEN])
{
	time_t secs = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	/* 19 characters for years 0..9999, then ".mmmZ". */
	if (strftime(buf, MODEL_TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		strcpy(buf, "1970-01-01T00:00:00");
	snprintf(buf + 19, MODEL_TIMESTAMP_LEN - 19, ".%03uZ",
	         (unsigned)frac % 1000u);
}

void model_timestamp_now(char buf[MODEL_TIMESTAMP_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	model_timestamp_format((int64_t)ts.tv_sec * 1000 +
	                               ts.tv_nsec / 1000000,
	                       buf);
}

int model_app_stamp(struct app *app, const struct app *previous,
                    const char *now, bool restart)
{
	const char *version = now, *scaling = now, *config = now;
	struct json_object *vi;

	if (previous != NULL && previous->version != NULL) {
		enum model_app_change change = model_app_compare(previous, app);

		if (restart) {
			scaling = previous->last_scaling_at;
		} else if (change == MODEL_APP_SAME) {
			version = previous->version;
			scaling = previous->last_scaling_at;
			config = previous->last_config_change_at;
		} else if (change == MODEL_APP_SCALE) {
			config = previous->last_config_change_at;
		}
		if (scaling == NULL)
			scaling = version;
		if (config == NULL)
			config = version;
	}
	if ((vi = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(vi, "lastScalingAt",
	                           json_object_new_string(scaling)) != 0 ||
	    json_object_object_add(vi, "lastConfigChangeAt",
	                           json_object_new_string(config)) != 0 ||
	    get(vi, "lastScalingAt") == NULL ||
	    get(vi, "lastConfigChangeAt") == NULL) {
		json_object_put(vi);
		return -1;
	}
	/* The strings are copied before the old ones are released. */
	if (json_object_object_add(app->json, "version",
	                           json_object_new_string(version)) != 0 ||
	    get(app->json, "version") == NULL) {
		json_object_put(vi);
		app_fill_version(app);
		return -1;
	}
	if (json_object_object_add(app->json, "versionInfo", vi) != 0) {
		json_object_put(vi);
		app_fill_version(app);
		return -1;
	}
	app_fill_version(app);
	return 0;
}
