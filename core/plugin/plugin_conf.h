/*
 * plugin_conf: the --plugin_conf file, in Marathon's shape:
 *
 *   {"plugins": {"<id>": {"plugin": "probe", "implementation": "tcp",
 *                         "enabled": true, "configuration": {...},
 *                         "tags": [...], "info": {...}}}}
 *
 * "plugin" is the kind (constraint, probe, storage, upgrade), "implementation"
 * the plugin's name.  The "configuration" object reaches the plugin through
 * the host table's typed accessors, which are implemented here.
 */
#ifndef STADION_PLUGIN_CONF_H
#define STADION_PLUGIN_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <stadion/plugin.h>

/* What the host table's accessors look into. */
struct stadion_conf {
	struct json_object *obj; /* the "configuration" object, borrowed */
};

struct plugin_conf_entry {
	const char *id;             /* the key under "plugins" */
	const char *kind;           /* "plugin" */
	const char *implementation; /* the plugin's name */
	bool enabled;               /* "enabled", default true */
	bool used;                  /* a loaded plugin matched this entry */
	struct stadion_conf conf;   /* conf.obj NULL without "configuration" */
	struct json_object *tags;   /* array or NULL, borrowed */
	struct json_object *info;   /* object or NULL, borrowed */
};

struct plugin_conf {
	struct json_object *root;   /* owned */
	struct plugin_conf_entry *entries;
	size_t n_entries;
};

/* Read and check PATH.  On failure ERR names the file, the entry and what is
 * wrong, and *conf_r is untouched.  The caller owns *conf_r. */
int plugin_conf_load(const char *path, struct plugin_conf **conf_r, char *err,
                     size_t errlen);
/* NULL-safe. */
void plugin_conf_free(struct plugin_conf *pc);

/* Give plugin (KIND, NAME) the string VALUE under configuration KEY unless
 * its --plugin_conf entry already sets KEY: how stadiond hands a plugin
 * what it knows better than the operator's file (the store's directory
 * under --data_dir).  Creates *PC and the entry (id "<kind>.<name>") when
 * missing.  Call it before any plugin is loaded: it may move the entries.
 * 0, or -1 when out of memory (*PC is then as it was, or freshly empty). */
int plugin_conf_default(struct plugin_conf **pc, const char *kind,
                        const char *name, const char *key, const char *value);
/* The same with an integer VALUE (for the plugin's conf_int()). */
int plugin_conf_default_int(struct plugin_conf **pc, const char *kind,
                            const char *name, const char *key, int64_t value);
/* The entry for plugin (KIND, NAME), or NULL.  PC may be NULL. */
struct plugin_conf_entry *plugin_conf_find(const struct plugin_conf *pc,
                                           const char *kind, const char *name);

/* The host table's configuration accessors (see struct stadion_host). */
int plugin_conf_str(const struct stadion_conf *conf, const char *key,
                    const char **value_r);
int plugin_conf_int(const struct stadion_conf *conf, const char *key,
                    int64_t *value_r);
int plugin_conf_double(const struct stadion_conf *conf, const char *key,
                       double *value_r);
int plugin_conf_bool(const struct stadion_conf *conf, const char *key,
                     bool *value_r);
int plugin_conf_array_len(const struct stadion_conf *conf, const char *key,
                          size_t *len_r);
int plugin_conf_array_str(const struct stadion_conf *conf, const char *key,
                          size_t index, const char **value_r);

#endif /* STADION_PLUGIN_CONF_H */
