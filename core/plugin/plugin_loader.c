#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stadion/constraint.h>
#include <stadion/probe.h>
#include <stadion/storage.h>
#include <stadion/upgrade.h>

#include "log.h"
#include "plugin/plugin_loader.h"

_Static_assert(STADION_PLUGIN_ABI_MAJOR == CONFIG_PLUGIN_ABI_MAJOR,
               "configure.ac and include/stadion/plugin.h disagree on the "
               "plugin ABI major");

#define ABI_STR_(a, b) #a "." #b
#define ABI_STR(a, b) ABI_STR_(a, b)
#define OUR_ABI ABI_STR(STADION_PLUGIN_ABI_MAJOR, STADION_PLUGIN_ABI_MINOR)

/* A member of an ops table that must not be NULL. */
struct required_member {
	size_t offset;
	const char *name;
};

#define REQUIRED(type, member) {offsetof(type, member), #member}

/* What the loader knows of each kind.  ops_min[minor] is the least ops size
 * a plugin built for that minor may record. */
struct kind_info {
	uint32_t kind;
	const char *name;
	size_t ops_min[STADION_PLUGIN_ABI_MINOR + 1];
	struct required_member required[8];
	size_t n_required;
	bool upper_case_name; /* constraint operators: "UNIQUE" */
};

static const struct kind_info kinds[] = {
	{
		.kind = STADION_PLUGIN_KIND_CONSTRAINT,
		.name = "constraint",
		.ops_min = {STADION_CONSTRAINT_OPS_SIZE_1_0},
		.required = {REQUIRED(struct stadion_constraint_ops, compile),
		             REQUIRED(struct stadion_constraint_ops, match)},
		.n_required = 2,
		.upper_case_name = true,
	},
	{
		.kind = STADION_PLUGIN_KIND_PROBE,
		.name = "probe",
		.ops_min = {STADION_PROBE_OPS_SIZE_1_0},
		.required = {REQUIRED(struct stadion_probe_ops, protocols),
		             REQUIRED(struct stadion_probe_ops, check)},
		.n_required = 2,
	},
	{
		.kind = STADION_PLUGIN_KIND_STORAGE,
		.name = "storage",
		.ops_min = {STADION_STORAGE_OPS_SIZE_1_0},
		.required = {REQUIRED(struct stadion_storage_ops, create),
		             REQUIRED(struct stadion_storage_ops, destroy),
		             REQUIRED(struct stadion_storage_ops, get),
		             REQUIRED(struct stadion_storage_ops, put),
		             REQUIRED(struct stadion_storage_ops, del),
		             REQUIRED(struct stadion_storage_ops, list),
		             REQUIRED(struct stadion_storage_ops, batch)},
		.n_required = 7,
	},
	{
		.kind = STADION_PLUGIN_KIND_UPGRADE,
		.name = "upgrade",
		.ops_min = {STADION_UPGRADE_OPS_SIZE_1_0},
		.required = {REQUIRED(struct stadion_upgrade_ops, step)},
		.n_required = 1,
	},
};

/* Every kind's ops table starts with create and destroy (plugin.h). */
_Static_assert(offsetof(struct stadion_constraint_ops, destroy) ==
                       sizeof(void *) &&
                   offsetof(struct stadion_probe_ops, destroy) ==
                       sizeof(void *) &&
                   offsetof(struct stadion_storage_ops, destroy) ==
                       sizeof(void *) &&
                   offsetof(struct stadion_upgrade_ops, destroy) ==
                       sizeof(void *),
               "ops tables start with create, destroy");

static const size_t desc_min[STADION_PLUGIN_ABI_MINOR + 1] = {
	STADION_PLUGIN_DESC_SIZE_1_0,
};

static const struct kind_info *kind_find(uint32_t kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

const char *plugin_kind_name(uint32_t kind)
{
	const struct kind_info *k = kind_find(kind);

	return k != NULL ? k->name : NULL;
}

/* Read the pointer-sized member at OFFSET of an ops table. */
static const void *ops_member(const void *ops, size_t offset)
{
	const void *p;

	memcpy(&p, (const char *)ops + offset, sizeof(p));
	return p;
}

static bool name_valid(const char *name, bool upper)
{
	size_t len = 0;

	if (name == NULL)
		return false;
	for (; name[len] != '\0'; len++) {
		char c = name[len];

		if (len == STADION_PLUGIN_NAME_MAX ||
		    !((c >= '0' && c <= '9') || c == '_' ||
		      (upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z'))))
			return false;
	}
	return len > 0;
}

/* Record and log a refusal of FILE.  DESC is the plugin's descriptor once its
 * magic and header are known to be sound, else NULL.  PROBLEM and HINT are
 * printf formats sharing the arguments (PROBLEM's come first). */
static int refuse(struct plugin_set *set, const char *file,
                  const struct stadion_plugin_desc *desc, const char *hint,
                  const char *problem, ...)
	__attribute__((format(printf, 5, 6)));
static int refuse(struct plugin_set *set, const char *file,
                  const struct stadion_plugin_desc *desc, const char *hint,
                  const char *problem, ...)
{
	char what[512], built[96], reason[1024];
	struct plugin_refusal *r, **tail;
	va_list ap;

	va_start(ap, problem);
	vsnprintf(what, sizeof(what), problem, ap);
	va_end(ap);
	if (desc != NULL)
		snprintf(built, sizeof(built),
		         "built for plugin ABI %u.%u, stadiond provides " OUR_ABI,
		         desc->abi_major, desc->abi_minor);
	else
		snprintf(built, sizeof(built),
		         "stadiond provides plugin ABI " OUR_ABI);
	snprintf(reason, sizeof(reason), "%s (%s); %s", what, built, hint);
	log_warn("plugin \"%s\" refused: %s", file, reason);

	r = calloc(1, sizeof(*r));
	if (r != NULL && (r->file = strdup(file)) != NULL &&
	    (r->reason = strdup(reason)) != NULL) {
		for (tail = &set->refused; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = r;
	} else if (r != NULL) {
		free(r->file);
		free(r);
	}
	set->n_refused++;
	return -1;
}

struct plugin_set *plugin_set_new(struct plugin_host *host,
                                  struct plugin_conf *conf)
{
	struct plugin_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->host = host;
	set->conf = conf;
	if (lt_dlinit() != 0)
		goto fail_free_set;
	/* ext: "x.so" is opened as named (a name without an extension would
	 * get .la/.so tried); local: plugins never see each other's symbols. */
	if (lt_dladvise_init(&set->advise) != 0 ||
	    lt_dladvise_ext(&set->advise) != 0 ||
	    lt_dladvise_local(&set->advise) != 0)
		goto fail_exit_ltdl;
	return set;

fail_exit_ltdl:
	lt_dladvise_destroy(&set->advise);
	lt_dlexit();
fail_free_set:
	free(set);
	return NULL;
}

static void plugin_free(struct plugin *p)
{
	const struct kind_info *k = kind_find(p->kind);
	stadion_destroy_fn *destroy = NULL;

	if (k != NULL && p->ops != NULL) {
		const void *fn = ops_member(p->ops, sizeof(void *));

		memcpy(&destroy, &fn, sizeof(destroy));
	}
	if (destroy != NULL)
		destroy(p->state);
	plugin_host_sweep(&p->services);
	if (p->handle != NULL)
		lt_dlclose(p->handle);
	free(p->name);
	free(p->version);
	free(p->description);
	free(p->file);
	p->magic = 0;
	free(p);
}

void plugin_set_free(struct plugin_set *set)
{
	struct plugin *p, *pnext;
	struct plugin_refusal *r, *rnext;

	if (set == NULL)
		return;
	for (p = set->loaded; p != NULL; p = pnext) {
		pnext = p->next;
		plugin_free(p);
	}
	for (r = set->refused; r != NULL; r = rnext) {
		rnext = r->next;
		free(r->file);
		free(r->reason);
		free(r);
	}
	lt_dladvise_destroy(&set->advise);
	lt_dlexit();
	free(set);
}

const struct plugin *plugin_set_find(const struct plugin_set *set,
                                     uint32_t kind, const char *name)
{
	for (const struct plugin *p = set->loaded; p != NULL; p = p->next)
		if (p->kind == kind && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* The file checks, before anything is opened. */
static int check_file(struct plugin_set *set, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return refuse(set, path, NULL,
		              "check the path and its permissions",
		              "cannot be examined: %s", strerror(errno));
	if (S_ISLNK(st.st_mode))
		return refuse(set, path, NULL,
		              "install the plugin as a regular file, not a link",
		              "is a symbolic link");
	if (!S_ISREG(st.st_mode))
		return refuse(set, path, NULL,
		              "remove it from the plugin directory",
		              "is not a regular file");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(set, path, NULL, "run chmod go-w on the file",
		              "is writable by group or others (mode %04o)",
		              (unsigned)(st.st_mode & 07777));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return refuse(set, path, NULL,
		              "chown the file to root or to the user running "
		              "stadiond",
		              "is owned by uid %u, neither root nor stadiond's "
		              "uid %u",
		              (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

/* The descriptor checks.  On success *kind_r is the kind's info. */
static int check_desc(struct plugin_set *set, const char *path,
                      const struct stadion_plugin_desc *d,
                      const struct kind_info **kind_r)
{
	const struct kind_info *k;
	const char *kn;

	if (d->magic != STADION_PLUGIN_MAGIC)
		return refuse(set, path, NULL,
		              "rebuild it with STADION_PLUGIN_DEFINE against "
		              "stadion-plugin " OUR_ABI,
		              "has a bad descriptor magic 0x%08x (expected "
		              "0x%08x), so it is not a stadion plugin or is "
		              "corrupt",
		              d->magic, STADION_PLUGIN_MAGIC);
	if (d->abi_major != STADION_PLUGIN_ABI_MAJOR)
		return refuse(set, path, d,
		              "rebuild the plugin against stadion-plugin " OUR_ABI
		              ", or run a stadiond that provides its ABI",
		              "its plugin ABI major differs from stadiond's");
	if (d->abi_minor > STADION_PLUGIN_ABI_MINOR)
		return refuse(set, path, d,
		              "upgrade stadiond, or rebuild the plugin against "
		              "stadion-plugin " OUR_ABI,
		              "its plugin ABI is newer than stadiond's");
	if (d->desc_size < desc_min[d->abi_minor])
		return refuse(set, path, d,
		              "rebuild it with STADION_PLUGIN_DEFINE",
		              "its descriptor is %u bytes, ABI %u.%u needs at "
		              "least %zu",
		              d->desc_size, d->abi_major, d->abi_minor,
		              desc_min[d->abi_minor]);
	if ((k = kind_find(d->kind)) == NULL)
		return refuse(set, path, d,
		              "use one of the kinds in <stadion/plugin.h>",
		              "its kind %u is unknown to stadiond", d->kind);
	kn = k->name;
	if (d->ops == NULL || d->ops_size < k->ops_min[d->abi_minor])
		return refuse(set, path, d,
		              "rebuild it with STADION_PLUGIN_DEFINE and the "
		              "ops table of its kind",
		              "its %s ops table is %u bytes, ABI %u.%u needs at "
		              "least %zu",
		              kn, d->ops == NULL ? 0u : d->ops_size,
		              d->abi_major, d->abi_minor, k->ops_min[d->abi_minor]);
	if (d->flags & ~STADION_PLUGIN_F_KNOWN)
		return refuse(set, path, d,
		              "upgrade stadiond, or rebuild the plugin without "
		              "those flags",
		              "it sets descriptor flags 0x%x unknown to stadiond",
		              d->flags & ~STADION_PLUGIN_F_KNOWN);
	for (size_t i = 0; i < k->n_required; i++) {
		const struct required_member m = k->required[i];

		if (ops_member(d->ops, m.offset) == NULL)
			return refuse(set, path, d,
			              "implement it in the plugin",
			              "its %s ops leave the required member %s "
			              "NULL",
			              kn, m.name);
	}
	if (!name_valid(d->name, k->upper_case_name))
		return refuse(set, path, d,
		              "rename the plugin in STADION_PLUGIN_DEFINE",
		              "its name \"%s\" is not valid for a %s plugin "
		              "(it must match %s)",
		              d->name != NULL ? d->name : "(null)", kn,
		              k->upper_case_name ? "[A-Z0-9_]{1,32}"
		                                 : "[a-z0-9_]{1,32}");
	for (const struct plugin *p = set->loaded; p != NULL; p = p->next)
		if (p->kind == d->kind && strcmp(p->name, d->name) == 0)
			return refuse(set, path, d,
			              "remove one of the two files",
			              "%s plugin \"%s\" is already loaded from "
			              "\"%s\"",
			              kn, d->name, p->file);
	*kind_r = k;
	return 0;
}

/* Copy what we keep out of the descriptor into a new struct plugin. */
static struct plugin *plugin_new(const char *path,
                                 const struct stadion_plugin_desc *d,
                                 lt_dlhandle handle)
{
	struct plugin *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->magic = PLUGIN_MAGIC;
	p->kind = d->kind;
	p->abi_major = d->abi_major;
	p->abi_minor = d->abi_minor;
	p->ops = d->ops;
	p->ops_size = d->ops_size;
	p->handle = handle;
	p->name = strdup(d->name);
	p->version = strdup(d->version != NULL ? d->version : "");
	p->description = strdup(d->description != NULL ? d->description : "");
	p->file = strdup(path);
	if (p->name == NULL || p->version == NULL || p->description == NULL ||
	    p->file == NULL) {
		p->handle = NULL; /* the caller closes it */
		p->ops = NULL;
		plugin_free(p);
		return NULL;
	}
	return p;
}

int plugin_set_load_file(struct plugin_set *set, const char *path)
{
	const struct kind_info *k = NULL;
	const struct stadion_plugin_desc *d;
	stadion_plugin_describe_fn *describe;
	stadion_create_fn *create;
	struct stadion_err err = {0};
	struct plugin *p, **tail;
	lt_dlhandle handle;
	char label[64];
	void *sym, *now;

	if (check_file(set, path) != 0)
		return -1;
	/* libltdl opens with RTLD_LAZY and reports any failure as "file not
	 * found".  Opening with RTLD_NOW first binds every symbol now, so a
	 * plugin with an unresolved one is refused here, with the loader's own
	 * reason, instead of killing stadiond on its first call.  libltdl's
	 * open below then shares this already-loaded object. */
	now = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (now == NULL)
		return refuse(set, path, NULL,
		              "check that the libraries and symbols it needs are "
		              "installed (ldd -r the file)",
		              "cannot be loaded: %s", dlerror());
	handle = lt_dlopenadvise(path, set->advise);
	dlclose(now);
	if (handle == NULL)
		return refuse(set, path, NULL,
		              "check that the libraries it needs are installed "
		              "(ldd the file)",
		              "cannot be opened: %s", lt_dlerror());
	sym = lt_dlsym(handle, STADION_PLUGIN_ENTRY_NAME);
	if (sym == NULL) {
		refuse(set, path, NULL,
		       "remove it from the plugin directory, or build it with "
		       "STADION_PLUGIN_DEFINE",
		       "has no " STADION_PLUGIN_ENTRY_NAME
		       " symbol, so it is not a stadion plugin");
		goto fail_close;
	}
	memcpy(&describe, &sym, sizeof(describe));
	if ((d = describe()) == NULL) {
		refuse(set, path, NULL, "fix the plugin",
		       STADION_PLUGIN_ENTRY_NAME "() returned NULL");
		goto fail_close;
	}
	if (check_desc(set, path, d, &k) != 0)
		goto fail_close;
	snprintf(label, sizeof(label), "%s %s", k->name, d->name);
	p = plugin_new(path, d, handle);
	if (p == NULL) {
		refuse(set, path, d, "free some memory and restart stadiond",
		       "out of memory");
		goto fail_close;
	}
	p->conf = plugin_conf_find(set->conf, k->name, d->name);
	if (p->conf != NULL) {
		p->conf->used = true;
		/* The operator's choice, not a fault: not a refusal. */
		if (!p->conf->enabled) {
			log_info("plugin \"%s\": %s plugin \"%s\" not loaded: "
			         "disabled by plugins.%s in --plugin_conf",
			         path, k->name, d->name, p->conf->id);
			goto fail_free_plugin;
		}
	}
	plugin_host_bind(set->host, &p->services, label);
	sym = (void *)ops_member(d->ops, 0);
	memcpy(&create, &sym, sizeof(create));
	if (create != NULL &&
	    create(&p->services.table, p->conf != NULL ? &p->conf->conf : NULL,
	           &p->state, &err) != 0) {
		refuse(set, path, d,
		       "check its configuration in --plugin_conf",
		       "its create() failed: %s",
		       err.msg[0] != '\0' ? err.msg : "no reason given");
		plugin_host_sweep(&p->services);
		goto fail_free_plugin;
	}
	for (tail = &set->loaded; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = p;
	set->n_loaded++;
	log_info("plugin \"%s\": loaded %s plugin \"%s\" %s (plugin ABI %u.%u)",
	         path, k->name, p->name, p->version, p->abi_major,
	         p->abi_minor);
	return 0;

fail_free_plugin:
	p->ops = NULL; /* no destroy(): create() did not succeed */
	plugin_free(p);
	return -1;
fail_close:
	lt_dlclose(handle);
	return -1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t plugin_set_load_dir(struct plugin_set *set, const char *dir,
                           bool must_exist)
{
	size_t before = set->n_refused, n = 0, cap = 0;
	char **names = NULL;
	struct dirent *de;
	DIR *dh = opendir(dir);

	if (dh == NULL) {
		if (must_exist)
			refuse(set, dir, NULL,
			       "check the --plugin_dir path and its permissions",
			       "plugin directory cannot be read: %s",
			       strerror(errno));
		else
			log_debug("plugin directory \"%s\" not read: %s", dir,
			          strerror(errno));
		return set->n_refused - before;
	}
	while ((de = readdir(dh)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0 ||
		    de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown;

			cap = cap != 0 ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(dh);
	/* Name order makes "first one wins" on duplicates predictable. */
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		plugin_set_load_file(set, path);
		free(names[i]);
	}
	free(names);
	return set->n_refused - before;
}
