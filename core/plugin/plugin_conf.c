#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "plugin/plugin_conf.h"

static const char *const plugin_conf_kinds[] = {"constraint", "probe",
                                                "storage", "upgrade"};

static bool kind_known(const char *kind)
{
	for (size_t i = 0; i < sizeof(plugin_conf_kinds) / sizeof(char *); i++)
		if (strcmp(kind, plugin_conf_kinds[i]) == 0)
			return true;
	return false;
}

/* Check one entry of "plugins" and fill E from it. */
static int entry_parse(const char *path, const char *id,
                       struct json_object *obj, struct plugin_conf_entry *e,
                       char *err, size_t errlen)
{
	struct json_object *v;

	memset(e, 0, sizeof(*e));
	e->id = id;
	e->enabled = true;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen,
		         "--plugin_conf %s: plugins.%s must be an object", path,
		         id);
		return -1;
	}
	if (!json_object_object_get_ex(obj, "plugin", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !kind_known(json_object_get_string(v))) {
		snprintf(err, errlen,
		         "--plugin_conf %s: plugins.%s.plugin must be one of "
		         "\"constraint\", \"probe\", \"storage\", \"upgrade\"",
		         path, id);
		return -1;
	}
	e->kind = json_object_get_string(v);
	if (!json_object_object_get_ex(obj, "implementation", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen,
		         "--plugin_conf %s: plugins.%s.implementation must be "
		         "the plugin's name as a string",
		         path, id);
		return -1;
	}
	e->implementation = json_object_get_string(v);
	if (json_object_object_get_ex(obj, "enabled", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen,
			         "--plugin_conf %s: plugins.%s.enabled must be "
			         "true or false",
			         path, id);
			return -1;
		}
		e->enabled = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(obj, "configuration", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			snprintf(err, errlen,
			         "--plugin_conf %s: plugins.%s.configuration "
			         "must be an object",
			         path, id);
			return -1;
		}
		e->conf.obj = v;
	}
	if (json_object_object_get_ex(obj, "tags", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			snprintf(err, errlen,
			         "--plugin_conf %s: plugins.%s.tags must be an "
			         "array",
			         path, id);
			return -1;
		}
		e->tags = v;
	}
	if (json_object_object_get_ex(obj, "info", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			snprintf(err, errlen,
			         "--plugin_conf %s: plugins.%s.info must be an "
			         "object",
			         path, id);
			return -1;
		}
		e->info = v;
	}
	return 0;
}

int plugin_conf_load(const char *path, struct plugin_conf **conf_r, char *err,
                     size_t errlen)
{
	struct plugin_conf *pc;
	struct json_object *plugins;
	size_t i = 0;

	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		snprintf(err, errlen, "--plugin_conf %s: out of memory", path);
		return -1;
	}
	pc->root = json_object_from_file(path);
	if (pc->root == NULL) {
		const char *why = json_util_get_last_err();

		if (why == NULL)
			why = "unknown error";
		/* json-c ends its message with a newline. */
		snprintf(err, errlen,
		         "--plugin_conf %s: cannot read it as JSON (%.*s); check "
		         "that the file exists and parses",
		         path, (int)strcspn(why, "\n"), why);
		goto fail_free_conf;
	}
	if (!json_object_is_type(pc->root, json_type_object) ||
	    !json_object_object_get_ex(pc->root, "plugins", &plugins) ||
	    !json_object_is_type(plugins, json_type_object)) {
		snprintf(err, errlen,
		         "--plugin_conf %s: expected {\"plugins\": {\"<id>\": "
		         "{...}}} at the top level",
		         path);
		goto fail_free_conf;
	}
	pc->n_entries = (size_t)json_object_object_length(plugins);
	pc->entries = calloc(pc->n_entries + 1, sizeof(*pc->entries));
	if (pc->entries == NULL) {
		snprintf(err, errlen, "--plugin_conf %s: out of memory", path);
		goto fail_free_conf;
	}
	json_object_object_foreach(plugins, id, obj) {
		struct plugin_conf_entry *e = &pc->entries[i];

		if (entry_parse(path, id, obj, e, err, errlen) != 0)
			goto fail_free_conf;
		for (size_t k = 0; k < i; k++)
			if (strcmp(pc->entries[k].kind, e->kind) == 0 &&
			    strcmp(pc->entries[k].implementation,
			           e->implementation) == 0) {
				snprintf(err, errlen,
				         "--plugin_conf %s: plugins.%s and "
				         "plugins.%s both configure %s plugin "
				         "\"%s\"; keep one",
				         path, pc->entries[k].id, id, e->kind,
				         e->implementation);
				goto fail_free_conf;
			}
		i++;
	}
	*conf_r = pc;
	return 0;

fail_free_conf:
	plugin_conf_free(pc);
	return -1;
}

void plugin_conf_free(struct plugin_conf *pc)
{
	if (pc == NULL)
		return;
	json_object_put(pc->root);
	free(pc->entries);
	free(pc);
}

/* The entry for (KIND, NAME), created in PC's JSON and entries if
 * missing. */
static struct plugin_conf_entry *entry_get(struct plugin_conf *pc,
                                           const char *kind, const char *name)
{
	struct plugin_conf_entry *e = plugin_conf_find(pc, kind, name), *grown;
	struct json_object *plugins = NULL, *obj = NULL, *conf = NULL, *taken;
	char id[96];

	if (e != NULL)
		return e;
	grown = realloc(pc->entries, (pc->n_entries + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	pc->entries = grown;
	snprintf(id, sizeof(id), "%s.%s", kind, name);
	json_object_object_get_ex(pc->root, "plugins", &plugins);
	/* An operator's entry may use that id for another plugin. */
	if (json_object_object_get_ex(plugins, id, &taken))
		snprintf(id, sizeof(id), "%s.%s.default", kind, name);
	if (plugins == NULL ||
	    jsonutil_add(plugins, id, obj = json_object_new_object()) != 0 ||
	    jsonutil_add(obj, "plugin", json_object_new_string(kind)) != 0 ||
	    jsonutil_add(obj, "implementation",
	                 json_object_new_string(name)) != 0 ||
	    jsonutil_add(obj, "configuration",
	                 conf = json_object_new_object()) != 0)
		return NULL;
	/* The entries' strings point into the JSON, which owns them. */
	e = &pc->entries[pc->n_entries++];
	memset(e, 0, sizeof(*e));
	json_object_object_foreach(plugins, key, val) {
		if (val == obj)
			e->id = key;
	}
	e->kind = json_object_get_string(
		json_object_object_get(obj, "plugin"));
	e->implementation = json_object_get_string(
		json_object_object_get(obj, "implementation"));
	e->enabled = true;
	e->conf.obj = conf;
	return e;
}

/* Both plugin_conf_default*(): VALUE is owned (and released on every
 * path). */
static int conf_default(struct plugin_conf **pc, const char *kind,
                        const char *name, const char *key,
                        struct json_object *value)
{
	struct plugin_conf_entry *e;
	struct json_object *v;

	if (*pc == NULL) {
		struct plugin_conf *fresh = calloc(1, sizeof(*fresh));

		if (fresh == NULL)
			goto fail_put_value;
		fresh->root = json_tokener_parse("{\"plugins\": {}}");
		if (fresh->root == NULL) {
			free(fresh);
			goto fail_put_value;
		}
		*pc = fresh;
	}
	if (value == NULL || (e = entry_get(*pc, kind, name)) == NULL)
		goto fail_put_value;
	if (e->conf.obj == NULL) {
		struct json_object *conf = json_object_new_object();
		struct json_object *entry_obj = NULL, *plugins;

		json_object_object_get_ex((*pc)->root, "plugins", &plugins);
		json_object_object_get_ex(plugins, e->id, &entry_obj);
		if (entry_obj == NULL ||
		    jsonutil_add(entry_obj, "configuration", conf) != 0)
			goto fail_put_value;
		e->conf.obj = conf;
	}
	if (json_object_object_get_ex(e->conf.obj, key, &v)) {
		json_object_put(value);
		return 0; /* the operator's choice wins */
	}
	return jsonutil_add(e->conf.obj, key, value);

fail_put_value:
	json_object_put(value);
	return -1;
}

int plugin_conf_default(struct plugin_conf **pc, const char *kind,
                        const char *name, const char *key, const char *value)
{
	return conf_default(pc, kind, name, key,
	                    json_object_new_string(value));
}

int plugin_conf_default_int(struct plugin_conf **pc, const char *kind,
                            const char *name, const char *key, int64_t value)
{
	return conf_default(pc, kind, name, key,
	                    json_object_new_int64(value));
}

struct plugin_conf_entry *plugin_conf_find(const struct plugin_conf *pc,
                                           const char *kind, const char *name)
{
	for (size_t i = 0; pc != NULL && i < pc->n_entries; i++)
		if (strcmp(pc->entries[i].kind, kind) == 0 &&
		    strcmp(pc->entries[i].implementation, name) == 0)
			return &pc->entries[i];
	return NULL;
}

/* Follow the dotted KEY from CONF's object; NULL when any part is absent. */
static struct json_object *conf_lookup(const struct stadion_conf *conf,
                                       const char *key)
{
	struct json_object *cur = conf != NULL ? conf->obj : NULL;
	char part[256];

	while (cur != NULL && key != NULL) {
		const char *dot = strchr(key, '.');
		size_t len = dot != NULL ? (size_t)(dot - key) : strlen(key);

		if (len >= sizeof(part) ||
		    !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(part, key, len);
		part[len] = '\0';
		if (!json_object_object_get_ex(cur, part, &cur))
			return NULL;
		key = dot != NULL ? dot + 1 : NULL;
	}
	return cur;
}

int plugin_conf_str(const struct stadion_conf *conf, const char *key,
                    const char **value_r)
{
	struct json_object *v = conf_lookup(conf, key);

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return STADION_EINVAL;
	*value_r = json_object_get_string(v);
	return STADION_OK;
}

int plugin_conf_int(const struct stadion_conf *conf, const char *key,
                    int64_t *value_r)
{
	struct json_object *v = conf_lookup(conf, key);
	int64_t n;

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return STADION_EINVAL;
	/* json-c keeps integers above INT64_MAX as uint64 and clamps them
	 * here, without errno. */
	n = json_object_get_int64(v);
	if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return STADION_EINVAL; /* out of int64 range */
	*value_r = n;
	return STADION_OK;
}

int plugin_conf_double(const struct stadion_conf *conf, const char *key,
                       double *value_r)
{
	struct json_object *v = conf_lookup(conf, key);

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return STADION_EINVAL;
	*value_r = json_object_get_double(v);
	return STADION_OK;
}

int plugin_conf_bool(const struct stadion_conf *conf, const char *key,
                     bool *value_r)
{
	struct json_object *v = conf_lookup(conf, key);

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_boolean))
		return STADION_EINVAL;
	*value_r = json_object_get_boolean(v);
	return STADION_OK;
}

int plugin_conf_array_len(const struct stadion_conf *conf, const char *key,
                          size_t *len_r)
{
	struct json_object *v = conf_lookup(conf, key);

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_array))
		return STADION_EINVAL;
	*len_r = json_object_array_length(v);
	return STADION_OK;
}

int plugin_conf_array_str(const struct stadion_conf *conf, const char *key,
                          size_t index, const char **value_r)
{
	struct json_object *v = conf_lookup(conf, key), *item;

	if (v == NULL)
		return STADION_ENOENT;
	if (!json_object_is_type(v, json_type_array))
		return STADION_EINVAL;
	if (index >= json_object_array_length(v))
		return STADION_ENOENT;
	item = json_object_array_get_idx(v, index);
	if (!json_object_is_type(item, json_type_string))
		return STADION_EINVAL;
	*value_r = json_object_get_string(item);
	return STADION_OK;
}
