/*
 * plugin_loader: finds, checks and loads plugins (libltdl), and keeps the
 * set of loaded and refused ones for the rest of the daemon.
 *
 * Checks, in order, for every *.so of a directory (in name order):
 *   regular file, not a symbolic link, not group/world-writable, owned by
 *   root or the daemon's user; opens; has the entry symbol; magic; ABI major
 *   equal and minor not newer; descriptor size; known kind; ops size; no
 *   unknown flag; required callbacks present; valid name; no duplicate
 *   (kind, name); create() succeeds.  A plugin disabled in --plugin_conf
 *   ("enabled": false) is skipped with an INFO line; that is no refusal.
 * Each refusal is logged as one WARN line
 *   plugin "FILE" refused: PROBLEM (built for plugin ABI X.Y, stadiond
 *   provides 1.0); WHAT TO DO
 * (before the descriptor is known: "(stadiond provides plugin ABI 1.0)")
 * and kept, with the text after "refused: ", for GET /v2/plugins.
 *
 * Plugins are never unloaded while the daemon runs.
 */
#ifndef STADION_PLUGIN_LOADER_H
#define STADION_PLUGIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <ltdl.h>

#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"

#define PLUGIN_MAGIC 0x504c4731u /* "PLG1": a live struct plugin */

struct plugin {
	uint32_t magic;                 /* PLUGIN_MAGIC; zeroed when freed */
	uint32_t kind;                  /* enum stadion_plugin_kind */
	char *name, *version, *description, *file; /* owned copies */
	uint16_t abi_major, abi_minor;  /* what the plugin was built for */
	const void *ops;                /* the plugin's table, in the .so */
	uint32_t ops_size;
	void *state;                    /* from create() */
	lt_dlhandle handle;
	struct plugin_conf_entry *conf; /* its --plugin_conf entry or NULL */
	struct plugin_services services;
	struct plugin *next;
};

struct plugin_refusal {
	char *file;   /* owned */
	char *reason; /* owned: the log line after "refused: " */
	struct plugin_refusal *next;
};

struct plugin_set {
	struct plugin *loaded;          /* in load order */
	struct plugin_refusal *refused; /* in refusal order */
	size_t n_loaded, n_refused;
	struct plugin_host *host;       /* borrowed */
	struct plugin_conf *conf;       /* borrowed, may be NULL */
	lt_dladvise advise;
};

/* HOST and CONF (NULL when there is no --plugin_conf) are borrowed and must
 * outlive the set.  NULL when libltdl cannot be initialised. */
struct plugin_set *plugin_set_new(struct plugin_host *host,
                                  struct plugin_conf *conf);
/* Call every plugin's destroy(), sweep its timers and watches, unload it.
 * NULL-safe. */
void plugin_set_free(struct plugin_set *set);

/* Load every *.so in DIR.  A DIR that cannot be read is itself a refusal
 * when MUST_EXIST, and a debug line otherwise.  Returns how many were
 * refused. */
size_t plugin_set_load_dir(struct plugin_set *set, const char *dir,
                           bool must_exist);
/* Load one file: 0 when loaded, -1 when not (refused, or disabled in
 * --plugin_conf). */
int plugin_set_load_file(struct plugin_set *set, const char *path);

/* The loaded plugin of KIND called NAME, or NULL. */
const struct plugin *plugin_set_find(const struct plugin_set *set,
                                     uint32_t kind, const char *name);

/* "constraint", "probe", "storage", "upgrade", or NULL for other values. */
const char *plugin_kind_name(uint32_t kind);

#endif /* STADION_PLUGIN_LOADER_H */
