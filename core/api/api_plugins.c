#include "config.h"

#include "api/api.h"
#include "stadiond.h"

/* Marathon's entry shape (id, plugin, implementation, tags, info); stadion's
 * own facts go into "info", which Marathon leaves free-form. */
static struct json_object *plugin_json(const struct plugin *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *info = json_object_new_object();
	const char *kind = plugin_kind_name(p->kind);
	char id[96], abi[16];

	snprintf(id, sizeof(id), "%s.%s", kind, p->name);
	snprintf(abi, sizeof(abi), "%u.%u", p->abi_major, p->abi_minor);
	if (p->conf != NULL && p->conf->info != NULL) {
		json_object_object_foreach(p->conf->info, k, v)
			json_object_object_add(info, k, json_object_get(v));
	}
	json_object_object_add(info, "kind", json_object_new_string(kind));
	json_object_object_add(info, "name", json_object_new_string(p->name));
	json_object_object_add(info, "version",
	                       json_object_new_string(p->version));
	json_object_object_add(info, "description",
	                       json_object_new_string(p->description));
	json_object_object_add(info, "file", json_object_new_string(p->file));
	json_object_object_add(info, "abi", json_object_new_string(abi));

	json_object_object_add(o, "id", json_object_new_string(
	                                        p->conf != NULL ? p->conf->id : id));
	json_object_object_add(o, "plugin", json_object_new_string(kind));
	json_object_object_add(o, "implementation",
	                       json_object_new_string(p->name));
	json_object_object_add(o, "tags",
	                       p->conf != NULL && p->conf->tags != NULL
	                               ? json_object_get(p->conf->tags)
	                               : json_object_new_array());
	json_object_object_add(o, "info", info);
	return o;
}

void api_plugins(struct http_req *req)
{
	const struct stadiond *d = req->app;
	struct json_object *body = json_object_new_object();
	struct json_object *loaded = json_object_new_array();
	struct json_object *refused = json_object_new_array();

	for (const struct plugin *p = d->plugins->loaded; p != NULL; p = p->next)
		json_object_array_add(loaded, plugin_json(p));
	for (const struct plugin_refusal *r = d->plugins->refused; r != NULL;
	     r = r->next) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(r->file));
		json_object_object_add(o, "reason",
		                       json_object_new_string(r->reason));
		json_object_array_add(refused, o);
	}
	json_object_object_add(body, "plugins", loaded);
	json_object_object_add(body, "refused", refused);
	http_reply_json(req, 200, body);
}
