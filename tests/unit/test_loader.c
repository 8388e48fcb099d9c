/*
 * test_loader: the plugin loader (core/plugin/plugin_loader.c) and the host
 * services it binds (plugin_host.c), against the fixture plugins of
 * tests/plugins.
 *
 * Every case copies the fixture .so it needs from $FIXTURE_DIR into a fresh
 * temporary directory (so that it controls names, modes and owners), loads
 * it, and checks three things: loaded or refused; the exact log line, caught
 * with log_set_sink(); and the refusal record kept in set->refused.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include <stadion/constraint.h>
#include <stadion/probe.h>
#include <stadion/storage.h>
#include <stadion/upgrade.h>

#include "lib/cu_run.h"
#include "lib/testfs.h"
#include "lib/tfmt.h"
#include "log.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"

/* ------------------------------------------------------------------------
 * Captured log lines
 * ------------------------------------------------------------------------ */

#define MAX_LINES 256

static struct {
	int level;
	bool main_thread; /* logged from the thread that runs the tests */
	char text[2048];
} lines[MAX_LINES];
static size_t n_lines; /* lines seen, even past MAX_LINES */
static pthread_t main_thread;

static void sink(int level, const char *line, void *arg)
{
	if (n_lines < MAX_LINES) {
		lines[n_lines].level = level;
		lines[n_lines].main_thread =
			pthread_equal(pthread_self(), main_thread) != 0;
		snprintf(lines[n_lines].text, sizeof(lines[n_lines].text),
		         "%s", line);
	}
	n_lines++;
}

static void dump_lines(void)
{
	fprintf(stderr, "    captured %zu line(s):\n", n_lines);
	for (size_t i = 0; i < n_lines && i < MAX_LINES; i++)
		fprintf(stderr, "      [%d] %s\n", lines[i].level,
		        lines[i].text);
}

/* Count captured lines equal to TEXT. */
static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < n_lines && i < MAX_LINES; i++)
		if (strcmp(lines[i].text, text) == 0)
			n++;
	return n;
}

/* Index of the first captured line equal to TEXT, or -1. */
static long find_line(const char *text)
{
	for (size_t i = 0; i < n_lines && i < MAX_LINES; i++)
		if (strcmp(lines[i].text, text) == 0)
			return (long)i;
	return -1;
}

/* Exactly N lines were captured (dump them when not). */
#define ASSERT_N_LINES(n)                                                   \
	do {                                                                \
		bool ok_ = n_lines == (size_t)(n);                          \
		CU_ASSERT(ok_);                                             \
		if (!ok_)                                                   \
			dump_lines();                                       \
	} while (0)

/* ------------------------------------------------------------------------
 * Per-test environment: a temporary directory, an event base, a host, a set
 * ------------------------------------------------------------------------ */

static const char *fixture_dir;
static char our_abi[16];         /* "1.0" */
static char tmp[PATH_MAX];       /* this test's directory */
static struct event_base *base;
static struct plugin_host *host;
static struct plugin_conf *pconf;
static struct plugin_set *set;

static int suite_init(void)
{
	fixture_dir = getenv("FIXTURE_DIR");
	if (fixture_dir == NULL || fixture_dir[0] == '\0') {
		fprintf(stderr, "FIXTURE_DIR is not set: run this suite "
		                "through make check, or point it at "
		                "tests/plugins/.libs\n");
		return 1;
	}
	main_thread = pthread_self();
	tfmt(our_abi, sizeof(our_abi), "%d.%d", STADION_PLUGIN_ABI_MAJOR,
	     STADION_PLUGIN_ABI_MINOR);
	/* post() from another thread needs a base with locking. */
	if (evthread_use_pthreads() != 0)
		return 1;
	log_set_level(LOG_LVL_DEBUG);
	return 0;
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	tfmt(tmp, sizeof(tmp), "%s/stadion-loader-XXXXXX",
	     t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmp) == NULL)
		tmp[0] = '\0';
	base = event_base_new();
	host = base != NULL ? plugin_host_new(base) : NULL;
	pconf = NULL;
	set = NULL;
	n_lines = 0;
	log_set_sink(sink, NULL);
}

static void teardown(void)
{
	plugin_set_free(set);
	set = NULL;
	plugin_conf_free(pconf);
	pconf = NULL;
	plugin_host_free(host);
	host = NULL;
	if (base != NULL)
		event_base_free(base);
	base = NULL;
	log_set_sink(NULL, NULL);
	if (tmp[0] != '\0')
		testfs_rm_tree(tmp);
}

/* Write BUF (LEN bytes) to PATH with MODE (exactly, whatever the umask). */
static bool write_file(const char *path, const void *buf, size_t len,
                       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, buf, len) == (ssize_t)len && fchmod(fd, mode) == 0;
	return close(fd) == 0 && ok;
}

/* PATH = tmp/NAME. */
static char *tmp_path(char *path, const char *name)
{
	tfmt(path, PATH_MAX, "%s/%s", tmp, name);
	return path;
}

/* Copy $FIXTURE_DIR/FIXTURE.so to tmp/AS (mode 0755); PATH gets its path. */
static void install(const char *fixture, const char *as, char *path)
{
	char src[PATH_MAX], buf[65536];
	FILE *in;
	int out;
	size_t n;
	bool ok = true;

	tfmt(src, sizeof(src), "%s/%s.so", fixture_dir, fixture);
	tmp_path(path, as);
	in = fopen(src, "rb");
	if (in == NULL)
		fprintf(stderr, "\n    cannot open fixture %s: %s\n", src,
		        strerror(errno));
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (out < 0) {
		fclose(in);
		CU_FAIL_FATAL("cannot create the plugin copy");
	}
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = write(out, buf, n) == (ssize_t)n;
	ok = ok && !ferror(in) && fchmod(out, 0755) == 0;
	fclose(in);
	ok = close(out) == 0 && ok;
	CU_ASSERT_FATAL(ok);
}

/* Make the set, with CONF_JSON as --plugin_conf when it is not NULL. */
static void new_set(const char *conf_json)
{
	char path[PATH_MAX], err[1024] = "";

	CU_ASSERT_FATAL(tmp[0] != '\0' && host != NULL);
	if (conf_json != NULL) {
		CU_ASSERT_FATAL(write_file(tmp_path(path, "plugin_conf.json"),
		                           conf_json, strlen(conf_json), 0644));
		if (plugin_conf_load(path, &pconf, err, sizeof(err)) != 0)
			fprintf(stderr, "\n    %s\n", err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pconf);
	}
	set = plugin_set_new(host, pconf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
}

/* Start over with a new, empty set and no captured line. */
static void renew_set(void)
{
	plugin_set_free(set);
	set = plugin_set_new(host, pconf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	n_lines = 0;
}

/* ------------------------------------------------------------------------
 * Expected texts
 * ------------------------------------------------------------------------ */

/* The reason_* helpers write at most 1024 bytes into BUF. */

/* A refusal reason before the descriptor is known. */
static char *reason_early(char *buf, const char *problem, const char *hint)
{
	tfmt(buf, 1024, "%s (stadiond provides plugin ABI %s); %s", problem,
	     our_abi, hint);
	return buf;
}

/* A refusal reason once the descriptor's header is sound. */
static char *reason_desc(char *buf, const char *problem, unsigned major,
                         unsigned minor, const char *hint)
{
	tfmt(buf, 1024,
	     "%s (built for plugin ABI %u.%u, stadiond provides %s); %s",
	     problem, major, minor, our_abi, hint);
	return buf;
}

static char *reason_ours(char *buf, const char *problem, const char *hint)
{
	return reason_desc(buf, problem, STADION_PLUGIN_ABI_MAJOR,
	                   STADION_PLUGIN_ABI_MINOR, hint);
}

/* FILE was refused for REASON: the only line captured says so, the set
 * holds exactly that refusal and nothing loaded. */
static void check_refused_(const char *file, const char *reason, int line)
{
	char want[4096];

	tfmt(want, sizeof(want), "plugin \"%s\" refused: %s", file, reason);
	ASSERT_N_LINES(1);
	CU_ASSERT(lines[0].level == LOG_LVL_WARN);
	cu_check_str(lines[0].text, want, "lines[0].text",
	             __FILE__, (unsigned)line);
	CU_ASSERT(set->n_refused == 1);
	CU_ASSERT(set->n_loaded == 0);
	CU_ASSERT_PTR_NULL(set->loaded);
	CU_ASSERT_PTR_NOT_NULL_FATAL(set->refused);
	cu_check_str(set->refused->file, file, "set->refused->file",
	             __FILE__, (unsigned)line);
	cu_check_str(set->refused->reason, reason, "set->refused->reason",
	             __FILE__, (unsigned)line);
	CU_ASSERT_PTR_NULL(set->refused->next);
}

#define check_refused(file, reason) check_refused_((file), (reason), __LINE__)

static char *loaded_line(char *buf, const char *file, const char *kind,
                         const char *name, const char *version)
{
	tfmt(buf, 4096, "plugin \"%s\": loaded %s plugin \"%s\" %s (plugin "
	                "ABI %s)",
	     file, kind, name, version, our_abi);
	return buf;
}

/* Install FIXTURE as AS, load it with plugin_set_load_file and expect a
 * refusal for REASON. */
static void refuse_case(const char *fixture, const char *as,
                        const char *reason)
{
	char path[PATH_MAX];

	new_set(NULL);
	install(fixture, as, path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	check_refused(path, reason);
}

/* ------------------------------------------------------------------------
 * Good plugins
 * ------------------------------------------------------------------------ */

static void check_plugin(const struct plugin *p, uint32_t kind,
                         const char *name, const char *version,
                         const char *description, const char *file,
                         size_t ops_size)
{
	char label[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->magic, PLUGIN_MAGIC);
	CU_ASSERT_EQUAL(p->kind, kind);
	CHECK_STR(p->name, name);
	CHECK_STR(p->version, version);
	CHECK_STR(p->description, description);
	CHECK_STR(p->file, file);
	CU_ASSERT_EQUAL(p->abi_major, STADION_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(p->abi_minor, STADION_PLUGIN_ABI_MINOR);
	CU_ASSERT_PTR_NOT_NULL(p->ops);
	CU_ASSERT_EQUAL(p->ops_size, ops_size);
	CU_ASSERT_PTR_NOT_NULL(p->handle);
	CU_ASSERT_PTR_NULL(p->conf);
	CU_ASSERT_EQUAL(p->services.table.size, sizeof(struct stadion_host));
	CU_ASSERT_EQUAL(p->services.table.abi_major, STADION_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(p->services.table.abi_minor, STADION_PLUGIN_ABI_MINOR);
	CU_ASSERT_PTR_EQUAL(p->services.table.ctx, &p->services);
	tfmt(label, sizeof(label), "%s %s", plugin_kind_name(kind), name);
	CHECK_STR(p->services.label, label);
}

/* All four kinds from one directory, in name order. */
static void test_good_all_kinds(void)
{
	static const struct {
		const char *fixture, *as, *kind, *name, *version, *desc;
		uint32_t kind_id;
		size_t ops_size;
	} good[] = {
		{"good_upgrade", "a_upgrade.so", "upgrade", "all_at_once",
		 "1.0.0-rc1", "fixture: good upgrade",
		 STADION_PLUGIN_KIND_UPGRADE,
		 sizeof(struct stadion_upgrade_ops)},
		{"good_constraint", "b_constraint.so", "constraint",
		 "UNIQUE_TEST", "0.1", "fixture: good constraint",
		 STADION_PLUGIN_KIND_CONSTRAINT,
		 sizeof(struct stadion_constraint_ops)},
		{"good_probe", "c_probe.so", "probe", "good", "1.0.0",
		 "fixture: good probe", STADION_PLUGIN_KIND_PROBE,
		 sizeof(struct stadion_probe_ops)},
		{"good_storage", "d_storage.so", "storage", "memory_test",
		 "3.2.1", "fixture: good storage", STADION_PLUGIN_KIND_STORAGE,
		 sizeof(struct stadion_storage_ops)},
	};
	char paths[4][PATH_MAX], want[4096];
	const struct plugin *p;
	size_t i;

	new_set(NULL);
	/* Installed in reverse so that readdir order is unlikely to be name
	 * order. */
	for (i = 4; i-- > 0;)
		install(good[i].fixture, good[i].as, paths[i]);
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 0);
	CU_ASSERT_EQUAL(set->n_loaded, 4);
	CU_ASSERT_EQUAL(set->n_refused, 0);
	CU_ASSERT_PTR_NULL(set->refused);
	ASSERT_N_LINES(4);
	for (i = 0, p = set->loaded; i < 4; i++, p = p->next) {
		CU_ASSERT_EQUAL(lines[i].level, LOG_LVL_INFO);
		CHECK_STR(lines[i].text,
		           loaded_line(want, paths[i], good[i].kind,
		                       good[i].name, good[i].version));
		check_plugin(p, good[i].kind_id, good[i].name,
		             good[i].version, good[i].desc, paths[i],
		             good[i].ops_size);
		CU_ASSERT_PTR_EQUAL(plugin_set_find(set, good[i].kind_id,
		                                    good[i].name),
		                    p);
	}
	CU_ASSERT_PTR_NULL(p);
	/* Only the storage fixture has a create(), which allocates. */
	p = plugin_set_find(set, STADION_PLUGIN_KIND_STORAGE, "memory_test");
	CU_ASSERT_PTR_NOT_NULL(p != NULL ? p->state : NULL);
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
	CU_ASSERT_PTR_NULL(p != NULL ? p->state : (void *)1);
}

/* The loaded ops are the plugin's own table: call into it. */
static void test_good_ops_callable(void)
{
	char path[PATH_MAX], want[4096];
	const struct stadion_constraint_ops *ops;
	const struct plugin *p;
	struct stadion_constraint_view view = {
		.size = sizeof(view), .field = "hostname", .value = "a",
	};
	void *arg = (void *)1;

	new_set(NULL);
	install("good_constraint", "unique.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), 0);
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text, loaded_line(want, path, "constraint",
	                                      "UNIQUE_TEST", "0.1"));
	p = plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
	                    "UNIQUE_TEST");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ops = p->ops;
	CU_ASSERT_EQUAL(ops->compile(p->state, "hostname", NULL, &arg, NULL),
	                0);
	CU_ASSERT_PTR_NULL(arg);
	view.placed_here = 0;
	CU_ASSERT_EQUAL(ops->match(p->state, arg, &view), STADION_MATCH_YES);
	view.placed_here = 1;
	CU_ASSERT_EQUAL(ops->match(p->state, arg, &view), STADION_MATCH_NO);
}

static void test_find_and_kind_names(void)
{
	char path[PATH_MAX];
	const struct plugin *p;

	new_set(NULL);
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_PROBE,
	                                   "good"));
	install("good_probe", "good.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), 0);
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_PTR_EQUAL(p, set->loaded);
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
	                                   "good"));
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_PROBE,
	                                   "GOOD"));
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_PROBE,
	                                   "goo"));
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_PROBE,
	                                   "good_"));

	CHECK_STR(plugin_kind_name(STADION_PLUGIN_KIND_CONSTRAINT),
	           "constraint");
	CHECK_STR(plugin_kind_name(STADION_PLUGIN_KIND_PROBE), "probe");
	CHECK_STR(plugin_kind_name(STADION_PLUGIN_KIND_STORAGE), "storage");
	CHECK_STR(plugin_kind_name(STADION_PLUGIN_KIND_UPGRADE), "upgrade");
	CU_ASSERT_PTR_NULL(plugin_kind_name(0));
	CU_ASSERT_PTR_NULL(plugin_kind_name(5));
	CU_ASSERT_PTR_NULL(plugin_kind_name(99));
}

/* plugin_set_load_dir looks only at "*.so" files not starting with '.'. */
static void test_dir_skips_other_names(void)
{
	static const char *const others[] = {
		"README", ".hidden.so", "x.so.bak", "so", "x.SO", "libx.la",
	};
	char path[PATH_MAX], want[4096];

	new_set(NULL);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CU_ASSERT_FATAL(write_file(tmp_path(path, others[i]), "junk", 4,
		                           0666));
	install("good_probe", "good.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 0);
	CU_ASSERT_EQUAL(set->n_loaded, 1);
	CU_ASSERT_EQUAL(set->n_refused, 0);
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text,
	           loaded_line(want, path, "probe", "good", "1.0.0"));
}

/* ------------------------------------------------------------------------
 * Refusals, in the loader's order
 * ------------------------------------------------------------------------ */

static void test_refuse_missing_file(void)
{
	char path[PATH_MAX], reason[1024];

	new_set(NULL);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, tmp_path(path, "absent.so")),
	                -1);
	check_refused(path, reason_early(reason,
	                                 "cannot be examined: No such file or "
	                                 "directory",
	                                 "check the path and its permissions"));
}

static void test_refuse_symlink(void)
{
	char real_dir[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], lnk[PATH_MAX];
	char reason[1024];

	new_set(NULL);
	CU_ASSERT_FATAL(mkdir(tmp_path(real_dir, "real"), 0755) == 0);
	CU_ASSERT_FATAL(mkdir(tmp_path(dir, "plugins"), 0755) == 0);
	install("good_probe", "real/good.so", real);
	tmp_path(lnk, "plugins/good.so");
	CU_ASSERT_FATAL(symlink(real, lnk) == 0);
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, dir, true), 1);
	check_refused(lnk, reason_early(reason, "is a symbolic link",
	                                 "install the plugin as a regular "
	                                 "file, not a link"));
}

static void test_refuse_not_regular(void)
{
	char path[PATH_MAX], reason[1024];

	new_set(NULL);
	CU_ASSERT_FATAL(mkdir(tmp_path(path, "x.so"), 0755) == 0);
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 1);
	check_refused(path, reason_early(reason, "is not a regular file",
	                                 "remove it from the plugin "
	                                 "directory"));
	/* The same through plugin_set_load_file. */
	renew_set();
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	check_refused(path, reason);
}

static void test_refuse_writable(void)
{
	static const mode_t modes[] = {0666, 0664, 0646, 0775, 0757};
	char path[PATH_MAX], name[32], problem[128], reason[1024];

	new_set(NULL);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		renew_set();
		tfmt(name, sizeof(name), "mode%04o.so", (unsigned)modes[i]);
		install("good_probe", name, path);
		CU_ASSERT_FATAL(chmod(path, modes[i]) == 0);
		tfmt(problem, sizeof(problem),
		     "is writable by group or others (mode %04o)",
		     (unsigned)modes[i]);
		CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
		check_refused(path, reason_early(reason, problem,
		                                 "run chmod go-w on the file"));
	}
}

static void test_refuse_foreign_owner(void)
{
	char path[PATH_MAX], reason[1024];

	if (geteuid() != 0) {
		fprintf(stderr, "\n    note: not root, cannot chown a plugin to "
		                "another user; owner check not exercised\n");
		return;
	}
	new_set(NULL);
	install("good_probe", "good.so", path);
	if (chown(path, 65534, 65534) != 0) {
		fprintf(stderr, "\n    note: chown to 65534 failed (%s); owner "
		                "check not exercised\n",
		        strerror(errno));
		return;
	}
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	check_refused(path, reason_early(reason,
	                                 "is owned by uid 65534, neither root "
	                                 "nor stadiond's uid 0",
	                                 "chown the file to root or to the "
	                                 "user running stadiond"));
}

/* PATH is refused as "cannot be loaded" with the dynamic linker's reason:
 * what dlopen(RTLD_NOW) says of the same file. */
static void check_not_loadable(const char *path)
{
	char problem[1024], reason[1024];
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	CU_ASSERT_PTR_NULL_FATAL(h);
	tfmt(problem, sizeof(problem), "cannot be loaded: %s", dlerror());
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	check_refused(path, reason_early(reason, problem,
	                                 "check that the libraries and symbols "
	                                 "it needs are installed (ldd -r the "
	                                 "file)"));
}

/* A file that is not a shared object at all. */
static void test_refuse_not_loadable(void)
{
	static const char text[] =
		"This is not a shared object but a text file named like one, "
		"long enough for an ELF header to be read from it.\n";
	char path[PATH_MAX];

	new_set(NULL);
	CU_ASSERT_FATAL(write_file(tmp_path(path, "text.so"), text,
	                           sizeof(text) - 1, 0644));
	check_not_loadable(path);
}

/* A plugin with a symbol nothing defines: a lazy open would succeed and
 * the first call would kill the daemon, so it is refused up front. */
static void test_refuse_unresolved(void)
{
	char path[PATH_MAX];
	void *lazy;

	new_set(NULL);
	install("unresolved", "unresolved.so", path);
	/* The case only eager binding catches. */
	lazy = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL(lazy);
	if (lazy != NULL)
		dlclose(lazy);
	check_not_loadable(path);
}

static void test_refuse_no_entry(void)
{
	char reason[1024];

	refuse_case("no_entry", "no_entry.so",
	            reason_early(reason,
	                         "has no stadion_plugin_describe symbol, so it "
	                         "is not a stadion plugin",
	                         "remove it from the plugin directory, or build "
	                         "it with STADION_PLUGIN_DEFINE"));
}

static void test_refuse_describe_null(void)
{
	char reason[1024];

	refuse_case("describe_null", "describe_null.so",
	            reason_early(reason,
	                         "stadion_plugin_describe() returned NULL",
	                         "fix the plugin"));
}

static void test_refuse_bad_magic(void)
{
	char problem[256], hint[128], reason[1024];

	tfmt(problem, sizeof(problem),
	     "has a bad descriptor magic 0xdeadbeef (expected 0x%08x), so "
	     "it is not a stadion plugin or is corrupt",
	     STADION_PLUGIN_MAGIC);
	tfmt(hint, sizeof(hint),
	     "rebuild it with STADION_PLUGIN_DEFINE against stadion-plugin "
	     "%s",
	     our_abi);
	refuse_case("bad_magic", "bad_magic.so",
	            reason_early(reason, problem, hint));
}

static void test_refuse_abi_major(void)
{
	char hint[256], reason[1024];

	tfmt(hint, sizeof(hint),
	     "rebuild the plugin against stadion-plugin %s, or run a "
	     "stadiond that provides its ABI",
	     our_abi);
	refuse_case("abi_major", "abi_major.so",
	            reason_desc(reason,
	                        "its plugin ABI major differs from stadiond's",
	                        STADION_PLUGIN_ABI_MAJOR + 1, 0, hint));
}

static void test_refuse_abi_minor(void)
{
	char hint[256], reason[1024];

	tfmt(hint, sizeof(hint),
	     "upgrade stadiond, or rebuild the plugin against "
	     "stadion-plugin %s",
	     our_abi);
	refuse_case("abi_minor", "abi_minor.so",
	            reason_desc(reason,
	                        "its plugin ABI is newer than stadiond's",
	                        STADION_PLUGIN_ABI_MAJOR,
	                        STADION_PLUGIN_ABI_MINOR + 1, hint));
}

static void test_refuse_short_desc(void)
{
	char problem[256], reason[1024];

	tfmt(problem, sizeof(problem),
	     "its descriptor is %zu bytes, ABI %s needs at least %zu",
	     (size_t)STADION_PLUGIN_DESC_SIZE_1_0 - sizeof(uint32_t),
	     our_abi, (size_t)STADION_PLUGIN_DESC_SIZE_1_0);
	refuse_case("short_desc", "short_desc.so",
	            reason_ours(reason, problem,
	                        "rebuild it with STADION_PLUGIN_DEFINE"));
}

static void test_refuse_unknown_kind(void)
{
	char reason[1024];

	refuse_case("unknown_kind", "unknown_kind.so",
	            reason_ours(reason, "its kind 99 is unknown to stadiond",
	                        "use one of the kinds in <stadion/plugin.h>"));
}

static void test_refuse_short_ops(void)
{
	char problem[256], reason[1024];

	tfmt(problem, sizeof(problem),
	     "its probe ops table is %zu bytes, ABI %s needs at least %zu",
	     offsetof(struct stadion_probe_ops, cancel), our_abi,
	     (size_t)STADION_PROBE_OPS_SIZE_1_0);
	refuse_case("short_ops", "short_ops.so",
	            reason_ours(reason, problem,
	                        "rebuild it with STADION_PLUGIN_DEFINE and the "
	                        "ops table of its kind"));
}

static void test_refuse_unknown_flag(void)
{
	char reason[1024];

	refuse_case("unknown_flag", "unknown_flag.so",
	            reason_ours(reason,
	                        "it sets descriptor flags 0x8 unknown to "
	                        "stadiond",
	                        "upgrade stadiond, or rebuild the plugin "
	                        "without those flags"));
}

static void test_refuse_null_callback(void)
{
	char reason[1024];

	refuse_case("null_callback", "null_callback.so",
	            reason_ours(reason,
	                        "its probe ops leave the required member check "
	                        "NULL",
	                        "implement it in the plugin"));
}

static void test_refuse_bad_name(void)
{
	char reason[1024];

	refuse_case("bad_name", "bad_name.so",
	            reason_ours(reason,
	                        "its name \"Bad-Name\" is not valid for a probe "
	                        "plugin (it must match [a-z0-9_]{1,32})",
	                        "rename the plugin in STADION_PLUGIN_DEFINE"));
}

static void test_refuse_lower_constraint(void)
{
	char reason[1024];

	refuse_case("lower_constraint", "lower_constraint.so",
	            reason_ours(reason,
	                        "its name \"unique\" is not valid for a "
	                        "constraint plugin (it must match "
	                        "[A-Z0-9_]{1,32})",
	                        "rename the plugin in STADION_PLUGIN_DEFINE"));
}

/* Two files with the same (kind, name): the first in name order wins,
 * whichever readdir() returns first. */
static void test_refuse_duplicate(void)
{
	char first[PATH_MAX], second[PATH_MAX], want[4096];
	char problem[PATH_MAX + 64], reason[PATH_MAX + 256];
	char line[PATH_MAX + 512];

	for (int round = 0; round < 2; round++) {
		const char *fa = round == 0 ? "good_probe" : "dup_probe";
		const char *fb = round == 0 ? "dup_probe" : "good_probe";
		char dir[PATH_MAX], name[PATH_MAX];
		const struct plugin *p;

		if (round == 0)
			new_set(NULL);
		else
			renew_set();
		tfmt(name, sizeof(name), "round%d", round);
		CU_ASSERT_FATAL(mkdir(tmp_path(dir, name), 0755) == 0);
		/* Created in name order in one round and in reverse in the
		 * other, so that readdir order differs from name order in at
		 * least one of them, whatever the file system does. */
		if (round == 0) {
			tfmt(name, sizeof(name), "round%d/a_%s.so", round, fa);
			install(fa, name, first);
			tfmt(name, sizeof(name), "round%d/b_%s.so", round, fb);
			install(fb, name, second);
		} else {
			tfmt(name, sizeof(name), "round%d/b_%s.so", round, fb);
			install(fb, name, second);
			tfmt(name, sizeof(name), "round%d/a_%s.so", round, fa);
			install(fa, name, first);
		}

		CU_ASSERT_EQUAL(plugin_set_load_dir(set, dir, true), 1);
		CU_ASSERT_EQUAL(set->n_loaded, 1);
		CU_ASSERT_EQUAL(set->n_refused, 1);
		p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CHECK_STR(p->file, first);
		CHECK_STR(p->version, round == 0 ? "1.0.0" : "2.0.0");
		ASSERT_N_LINES(2);
		CHECK_STR(lines[0].text,
		           loaded_line(want, first, "probe", "good",
		                       p->version));
		tfmt(problem, sizeof(problem),
		     "probe plugin \"good\" is already loaded from \"%s\"",
		     first);
		reason_ours(reason, problem, "remove one of the two files");
		tfmt(line, sizeof(line), "plugin \"%s\" refused: %s", second,
		     reason);
		CU_ASSERT_EQUAL(lines[1].level, LOG_LVL_WARN);
		CHECK_STR(lines[1].text, line);
		CU_ASSERT_PTR_NOT_NULL_FATAL(set->refused);
		CHECK_STR(set->refused->file, second);
		CHECK_STR(set->refused->reason, reason);
	}
}

/* Eight files for one plugin: the first by name loads, the other seven are
 * refused in name order (whatever order readdir() and creation give). */
static void test_refuse_duplicate_many(void)
{
	char path[PATH_MAX], first[PATH_MAX], name[32], problem[PATH_MAX + 64];
	const struct plugin_refusal *r;
	const struct plugin *p;
	int i;

	new_set(NULL);
	for (i = 7; i >= 0; i--) {
		tfmt(name, sizeof(name), "dup_%d.so", i);
		install(i == 0 ? "good_probe" : "dup_probe", name, path);
	}
	tmp_path(first, "dup_0.so");
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 7);
	CU_ASSERT_EQUAL(set->n_loaded, 1);
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CHECK_STR(p->file, first);
	CHECK_STR(p->version, "1.0.0");
	ASSERT_N_LINES(8);
	tfmt(problem, sizeof(problem),
	     "probe plugin \"good\" is already loaded from \"%s\"", first);
	for (i = 1, r = set->refused; i <= 7; i++, r = r->next) {
		char reason[PATH_MAX + 256];

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		tfmt(name, sizeof(name), "dup_%d.so", i);
		CHECK_STR(r->file, tmp_path(path, name));
		CHECK_STR(r->reason, reason_ours(reason, problem,
		                                  "remove one of the two "
		                                  "files"));
	}
	CU_ASSERT_PTR_NULL(r);
}

/* Loading the very same file twice: the second is a duplicate, and closing
 * its handle must not unload the first. */
static void test_refuse_same_file_twice(void)
{
	char path[PATH_MAX], problem[PATH_MAX + 64], reason[PATH_MAX + 256];
	char line[PATH_MAX + 512];
	const struct stadion_probe_ops *ops;
	struct stadion_err err = {0};
	const struct plugin *p;

	new_set(NULL);
	install("good_probe", "good.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), 0);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	tfmt(problem, sizeof(problem),
	     "probe plugin \"good\" is already loaded from \"%s\"", path);
	reason_ours(reason, problem, "remove one of the two files");
	tfmt(line, sizeof(line), "plugin \"%s\" refused: %s", path, reason);
	ASSERT_N_LINES(2);
	CHECK_STR(lines[1].text, line);
	CU_ASSERT_EQUAL(set->n_loaded, 1);
	CU_ASSERT_EQUAL(set->n_refused, 1);
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ops = p->ops;
	CU_ASSERT_EQUAL(ops->check(p->state, NULL, NULL, NULL, &err),
	                STADION_ENOTSUP);
	CHECK_STR(err.msg, "fixture");
	CHECK_STR(ops->protocols[0], "TCP");
}

/* "enabled": false is the operator's choice: the plugin is not loaded, with
 * one INFO line, and it is no refusal. */
static void test_disabled(void)
{
	char path[PATH_MAX], want[PATH_MAX + 256];

	new_set("{\"plugins\": {"
	        "\"health-good\": {\"plugin\": \"probe\", "
	        "\"implementation\": \"good\", \"enabled\": false},"
	        "\"other\": {\"plugin\": \"probe\", "
	        "\"implementation\": \"absent\"}}}");
	install("good_probe", "good.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	ASSERT_N_LINES(1);
	CU_ASSERT_EQUAL(lines[0].level, LOG_LVL_INFO);
	tfmt(want, sizeof(want),
	     "plugin \"%s\": probe plugin \"good\" not loaded: disabled by "
	     "plugins.health-good in --plugin_conf",
	     path);
	CHECK_STR(lines[0].text, want);
	CU_ASSERT_EQUAL(set->n_loaded, 0);
	CU_ASSERT_PTR_NULL(set->loaded);
	CU_ASSERT_EQUAL(set->n_refused, 0);
	CU_ASSERT_PTR_NULL(set->refused);
	CU_ASSERT_PTR_NULL(plugin_set_find(set, STADION_PLUGIN_KIND_PROBE,
	                                   "good"));
	CU_ASSERT_TRUE(plugin_conf_find(pconf, "probe", "good")->used);
	CU_ASSERT_FALSE(plugin_conf_find(pconf, "probe", "absent")->used);

	/* Through a directory: nothing counted as refused. */
	renew_set();
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 0);
	CU_ASSERT_EQUAL(set->n_loaded, 0);
	CU_ASSERT_EQUAL(set->n_refused, 0);
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text, want);
}

static void test_enabled_in_conf(void)
{
	char path[PATH_MAX], want[4096];
	const struct plugin *p;

	new_set("{\"plugins\": {\"health-good\": {\"plugin\": \"probe\", "
	        "\"implementation\": \"good\", \"enabled\": true}}}");
	install("good_probe", "good.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), 0);
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text,
	           loaded_line(want, path, "probe", "good", "1.0.0"));
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_EQUAL(p->conf, plugin_conf_find(pconf, "probe", "good"));
	CU_ASSERT_TRUE(p->conf != NULL && p->conf->used);
}

static void test_refuse_create_fails(void)
{
	char reason[1024];

	refuse_case("create_fails", "create_fails.so",
	            reason_ours(reason,
	                        "its create() failed: cannot reach the backend "
	                        "at 10.0.0.1:9",
	                        "check its configuration in --plugin_conf"));
}

static void test_refuse_create_fails_silently(void)
{
	char path[PATH_MAX], reason[1024];

	new_set("{\"plugins\": {\"c\": {\"plugin\": \"probe\", "
	        "\"implementation\": \"conf\", "
	        "\"configuration\": {\"fail\": true}}}}");
	install("conf_probe", "conf.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), -1);
	check_refused(path, reason_ours(reason,
	                                "its create() failed: no reason given",
	                                "check its configuration in "
	                                "--plugin_conf"));
}

static void test_plugin_dir_missing(void)
{
	char dir[PATH_MAX], reason[1024], want[PATH_MAX + 128];

	new_set(NULL);
	tmp_path(dir, "no-such-dir");
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, dir, true), 1);
	check_refused(dir, reason_early(reason,
	                                "plugin directory cannot be read: No "
	                                "such file or directory",
	                                "check the --plugin_dir path and its "
	                                "permissions"));

	/* Not required: a debug line, no refusal. */
	renew_set();
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, dir, false), 0);
	CU_ASSERT_EQUAL(set->n_refused, 0);
	CU_ASSERT_PTR_NULL(set->refused);
	ASSERT_N_LINES(1);
	CU_ASSERT_EQUAL(lines[0].level, LOG_LVL_DEBUG);
	tfmt(want, sizeof(want),
	     "plugin directory \"%s\" not read: No such file or directory",
	     dir);
	CHECK_STR(lines[0].text, want);
}

/* Every case of a directory at once: the count plugin_set_load_dir returns
 * and the order of the refusal records. */
static void test_dir_counts(void)
{
	static const char *const fixtures[] = {
		"abi_major", "bad_name", "good_probe", "good_upgrade",
		"short_ops",
	};
	char path[PATH_MAX], name[64];
	const struct plugin_refusal *r;
	size_t i;

	new_set(NULL);
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		tfmt(name, sizeof(name), "%s.so", fixtures[i]);
		install(fixtures[i], name, path);
	}
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 3);
	CU_ASSERT_EQUAL(set->n_loaded, 2);
	CU_ASSERT_EQUAL(set->n_refused, 3);
	ASSERT_N_LINES(5);
	r = set->refused;
	for (i = 0; i < 3; i++, r = r->next) {
		static const char *const refused[] = {"abi_major.so",
		                                      "bad_name.so",
		                                      "short_ops.so"};

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CHECK_STR(r->file, tmp_path(path, refused[i]));
	}
	CU_ASSERT_PTR_NULL(r);
	/* A second directory adds to the set; the count is this call's. */
	n_lines = 0;
	CU_ASSERT_EQUAL(plugin_set_load_dir(set, tmp, true), 5);
	CU_ASSERT_EQUAL(set->n_refused, 8);
	ASSERT_N_LINES(5);
	CU_ASSERT_EQUAL(set->n_loaded, 2);
}

/* ------------------------------------------------------------------------
 * Configuration through the host table, timers, post(), destroy()
 * ------------------------------------------------------------------------ */

static char *conf_line(char *buf, const char *values)
{
	tfmt(buf, 2048, "probe conf: %s host=%s/%zu", values, our_abi,
	     sizeof(struct stadion_host));
	return buf;
}

/* Load conf_probe with CONF_JSON (NULL: no --plugin_conf); expect its
 * configuration line VALUES and the loaded line. */
static void conf_case(const char *conf_json, const char *values)
{
	char path[PATH_MAX], want[4096];
	const struct plugin *p;

	new_set(conf_json);
	install("conf_probe", "conf.so", path);
	CU_ASSERT_EQUAL(plugin_set_load_file(set, path), 0);
	ASSERT_N_LINES(2);
	CU_ASSERT_EQUAL(lines[0].level, LOG_LVL_INFO);
	CHECK_STR(lines[0].text, conf_line(want, values));
	CHECK_STR(lines[1].text,
	           loaded_line(want, path, "probe", "conf", "0.0.1"));
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "conf");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(p->state);
	CU_ASSERT_PTR_EQUAL(p->conf, plugin_conf_find(pconf, "probe", "conf"));

	/* destroy() runs at plugin_set_free, without the loop having run. */
	n_lines = 0;
	plugin_set_free(set);
	set = NULL;
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text,
	           "probe conf: destroy: post returned 0, 0 ticks");
}

static void test_conf_reaches_create(void)
{
	conf_case("{\"plugins\": {\"my-conf\": {\"plugin\": \"probe\", "
	          "\"implementation\": \"conf\", \"configuration\": {"
	          "\"endpoint\": {\"host\": \"db.example\", \"port\": 5432},"
	          "\"tls\": {\"verify\": true}, \"ratio\": 0.25,"
	          "\"tags\": [\"blue\", \"green\"]}}}}",
	          "endpoint.host=db.example(0) endpoint.port=5432(0) "
	          "tls.verify=1(0) ratio=0.25(0) tags=2(0) [blue(0) green(0) "
	          "-(-2)] endpoint.missing=7(-2) int endpoint.host=7(-1)");
}

/* Wrong types are STADION_EINVAL and leave the value alone. */
static void test_conf_wrong_types(void)
{
	conf_case("{\"plugins\": {\"my-conf\": {\"plugin\": \"probe\", "
	          "\"implementation\": \"conf\", \"configuration\": {"
	          "\"endpoint\": {\"host\": 5, \"port\": \"5432\"},"
	          "\"tls\": {\"verify\": \"yes\"}, \"ratio\": \"half\","
	          "\"tags\": \"blue\"}}}}",
	          "endpoint.host=-(-1) endpoint.port=7(-1) tls.verify=0(-1) "
	          "ratio=-1(-1) tags=99(-1) [-(-1) -(-1) -(-1)] "
	          "endpoint.missing=7(-2) int endpoint.host=5(0)");
}

/* Array items of another type, and a path through a non-object. */
static void test_conf_array_items(void)
{
	conf_case("{\"plugins\": {\"my-conf\": {\"plugin\": \"probe\", "
	          "\"implementation\": \"conf\", \"configuration\": {"
	          "\"endpoint\": \"db.example:5432\", \"ratio\": 2,"
	          "\"tls\": {\"verify\": false}, \"tags\": [1, \"x\"]}}}}",
	          "endpoint.host=-(-2) endpoint.port=7(-2) tls.verify=0(0) "
	          "ratio=2(0) tags=2(0) [-(-1) x(0) -(-2)] "
	          "endpoint.missing=7(-2) int endpoint.host=7(-2)");
}

/* No --plugin_conf, or an entry without "configuration": CONF is NULL or
 * empty, and every key is STADION_ENOENT. */
static void test_conf_absent(void)
{
	static const char *const all_absent =
		"endpoint.host=-(-2) endpoint.port=7(-2) tls.verify=0(-2) "
		"ratio=-1(-2) tags=99(-2) [-(-2) -(-2) -(-2)] "
		"endpoint.missing=7(-2) int endpoint.host=7(-2)";

	conf_case(NULL, all_absent);
	teardown();
	setup();
	conf_case("{\"plugins\": {\"my-conf\": {\"plugin\": \"probe\", "
	          "\"implementation\": \"conf\"}}}",
	          all_absent);
}

/* Run the loop until DONE() says so (checked every 2 ms) or MAX_MS have
 * passed, with events of our own that are freed afterwards, so that only the
 * plugins' events stay on the base. */
typedef bool loop_done_fn(void);

static loop_done_fn *loop_done;

static void loop_poll(evutil_socket_t fd, short what, void *arg)
{
	if (loop_done != NULL && loop_done())
		event_base_loopexit(base, NULL);
}

static void loop_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

static void run_loop(loop_done_fn *done, long max_ms)
{
	struct timeval poll_tv = {0, 2000};
	struct timeval max_tv = {max_ms / 1000, (max_ms % 1000) * 1000};
	struct event *poll_ev =
		event_new(base, -1, EV_PERSIST, loop_poll, NULL);
	struct event *max_ev = evtimer_new(base, loop_deadline, NULL);

	CU_ASSERT_FATAL(poll_ev != NULL && max_ev != NULL);
	loop_done = done;
	event_add(poll_ev, &poll_tv);
	event_add(max_ev, &max_tv);
	event_base_dispatch(base);
	event_free(poll_ev);
	event_free(max_ev);
	loop_done = NULL;
}

/* run_loop() until every line of WANTED was logged. */
static const char *const *wanted;

static bool wanted_logged(void)
{
	for (size_t i = 0; wanted[i] != NULL; i++)
		if (find_line(wanted[i]) < 0)
			return false;
	return true;
}

static void test_timers_and_post(void)
{
	static const char *const done[] = {
		"probe conf: tick 3",
		"probe conf: one-shot fired",
		"probe conf: fd events 0x1 byte x",
		NULL,
	};
	char path[PATH_MAX];
	const struct plugin *p;
	long posted, t1, t2, t3;

	new_set(NULL);
	install("conf_probe", "conf.so", path);
	CU_ASSERT_EQUAL_FATAL(plugin_set_load_file(set, path), 0);
	p = plugin_set_find(set, STADION_PLUGIN_KIND_PROBE, "conf");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	n_lines = 0;

	wanted = done;
	run_loop(wanted_logged, 10000);
	for (size_t i = 0; done[i] != NULL; i++)
		CU_ASSERT_EQUAL(count_lines(done[i]), 1);
	posted = find_line("probe conf: posted");
	t1 = find_line("probe conf: tick 1");
	t2 = find_line("probe conf: tick 2");
	t3 = find_line("probe conf: tick 3");
	CU_ASSERT_EQUAL(posted, 0);
	CU_ASSERT(t1 > posted && t2 > t1 && t3 > t2);
	CU_ASSERT_EQUAL(count_lines("probe conf: setting up timers or the "
	                            "watch failed"),
	                0);

	/* The ticker stopped itself after 3; the one-shot fires once; the
	 * hour timer not at all. */
	run_loop(NULL, 80);
	CU_ASSERT_EQUAL(count_lines("probe conf: tick 4"), 0);
	CU_ASSERT_EQUAL(count_lines("probe conf: one-shot fired"), 1);
	CU_ASSERT_EQUAL(count_lines("probe conf: hour timer fired"), 0);
	CU_ASSERT_EQUAL(count_lines("probe conf: posted"), 1);
	ASSERT_N_LINES(6);
	/* Everything ran on the loop thread, though post() came from another
	 * thread. */
	for (size_t i = 0; i < n_lines && i < MAX_LINES; i++)
		CU_ASSERT_TRUE(lines[i].main_thread);

	/* The one-shot and the hour timer are still the plugin's: free the
	 * set, and destroy() runs, then stadiond sweeps them off the base
	 * (LeakSanitizer checks they are freed). */
	CU_ASSERT_PTR_NOT_NULL(p->services.live);
	CU_ASSERT(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) >= 1);
	n_lines = 0;
	plugin_set_free(set);
	set = NULL;
	ASSERT_N_LINES(1);
	CHECK_STR(lines[0].text,
	           "probe conf: destroy: post returned 0, 3 ticks");
	CU_ASSERT_EQUAL(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	                0);
}

/* The host table on its own: bind services by hand. */
#define N_POSTS 200

struct post_rec {
	int order[N_POSTS];
	int n;
	bool off_loop_thread;
};

static struct post_rec post_rec;
static struct plugin_services direct;

static void record_post(void *arg)
{
	post_rec.order[post_rec.n < N_POSTS ? post_rec.n : 0] =
		(int)(intptr_t)arg;
	post_rec.n++;
	if (!pthread_equal(pthread_self(), main_thread))
		post_rec.off_loop_thread = true;
}

static void *post_many(void *arg)
{
	const struct stadion_host *h = &direct.table;
	intptr_t rc = 0;

	for (intptr_t i = 0; i < N_POSTS; i++)
		rc |= h->post(h->ctx, record_post, (void *)i) != 0;
	return (void *)rc;
}

static bool all_posts_ran(void)
{
	return post_rec.n >= N_POSTS;
}

static void never(void *arg)
{
	(void)arg;
}

static void never_fd(int fd, unsigned events, void *arg)
{
}

static void test_host_direct(void)
{
	const struct stadion_host *h = &direct.table;
	struct stadion_timer *t1, *t2;
	pthread_t th;
	void *rc = (void *)1;
	int fds[2];

	CU_ASSERT_FATAL(host != NULL);
	memset(&post_rec, 0, sizeof(post_rec));
	plugin_host_bind(host, &direct, "probe direct");
	CHECK_STR(direct.label, "probe direct");

	h->log(h->ctx, STADION_LOG_WARN, "answer %d", 42);
	h->log(h->ctx, STADION_LOG_DEBUG, "%s", "quiet");
	ASSERT_N_LINES(2);
	CU_ASSERT_EQUAL(lines[0].level, LOG_LVL_WARN);
	CHECK_STR(lines[0].text, "probe direct: answer 42");
	CU_ASSERT_EQUAL(lines[1].level, LOG_LVL_DEBUG);
	CHECK_STR(lines[1].text, "probe direct: quiet");

	/* post() from a second thread: all run, in order, on the loop. */
	CU_ASSERT_FATAL(pthread_create(&th, NULL, post_many, NULL) == 0);
	run_loop(all_posts_ran, 10000);
	pthread_join(th, &rc);
	CU_ASSERT_PTR_NULL(rc);
	CU_ASSERT_EQUAL(post_rec.n, N_POSTS);
	CU_ASSERT_FALSE(post_rec.off_loop_thread);
	for (int i = 0; i < N_POSTS && i < post_rec.n; i++)
		if (post_rec.order[i] != i) {
			CU_FAIL("post() callbacks ran out of order");
			break;
		}

	/* Bad arguments are refused, not crashed on. */
	CU_ASSERT_PTR_NULL(h->timer_start(h->ctx, 1, 0, NULL, NULL));
	CU_ASSERT_PTR_NULL(h->fd_watch(h->ctx, -1, STADION_FD_READ, never_fd,
	                               NULL));
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_PTR_NULL(h->fd_watch(h->ctx, fds[0], 0, never_fd, NULL));
	CU_ASSERT_PTR_NULL(h->fd_watch(h->ctx, fds[0], STADION_FD_READ, NULL,
	                               NULL));
	CU_ASSERT_PTR_NULL(direct.live);
	h->timer_stop(h->ctx, NULL);
	h->fd_unwatch(h->ctx, NULL);

	/* What the plugin leaves behind is swept. */
	t1 = h->timer_start(h->ctx, 3600000, 0, never, NULL);
	t2 = h->timer_start(h->ctx, 3600000, 1000, never, NULL);
	CU_ASSERT_PTR_NOT_NULL(t1);
	CU_ASSERT_PTR_NOT_NULL(t2);
	CU_ASSERT_PTR_NOT_NULL(h->fd_watch(h->ctx, fds[0], STADION_FD_READ,
	                                   never_fd, NULL));
	CU_ASSERT_EQUAL(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	                3);
	h->timer_stop(h->ctx, t1);
	CU_ASSERT_EQUAL(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	                2);
	plugin_host_sweep(&direct);
	CU_ASSERT_PTR_NULL(direct.live);
	CU_ASSERT_EQUAL(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	                0);
	close(fds[0]);
	close(fds[1]);
}

/* Posts that never ran are dropped by plugin_host_free (LeakSanitizer
 * checks they are freed). */
static void test_host_free_drops_posts(void)
{
	const struct stadion_host *h = &direct.table;

	CU_ASSERT_FATAL(host != NULL);
	memset(&post_rec, 0, sizeof(post_rec));
	plugin_host_bind(host, &direct, "probe direct");
	CU_ASSERT_EQUAL(h->post(h->ctx, record_post, (void *)1), 0);
	CU_ASSERT_EQUAL(h->post(h->ctx, record_post, (void *)2), 0);
	plugin_host_free(host);
	host = NULL;
	CU_ASSERT_EQUAL(post_rec.n, 0);
}

/* Sweeping one plugin drops its unrun posts (its code is about to be
 * unloaded) and keeps the other plugins' ones. */
static void test_host_sweep_drops_own_posts(void)
{
	static struct plugin_services other;
	const struct stadion_host *h = &direct.table, *o = &other.table;

	CU_ASSERT_FATAL(host != NULL);
	memset(&post_rec, 0, sizeof(post_rec));
	plugin_host_bind(host, &direct, "probe direct");
	plugin_host_bind(host, &other, "probe other");
	CU_ASSERT_EQUAL(h->post(h->ctx, record_post, (void *)0), 0);
	CU_ASSERT_EQUAL(o->post(o->ctx, record_post, (void *)0), 0);
	CU_ASSERT_EQUAL(h->post(h->ctx, record_post, (void *)0), 0);
	CU_ASSERT_EQUAL(o->post(o->ctx, record_post, (void *)1), 0);
	plugin_host_sweep(&direct);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CU_ASSERT_EQUAL(post_rec.n, 2);
	CU_ASSERT_EQUAL(post_rec.order[0], 0);
	CU_ASSERT_EQUAL(post_rec.order[1], 1);
	/* The queue still works after the sweep rebuilt its tail. */
	CU_ASSERT_EQUAL(o->post(o->ctx, record_post, (void *)2), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CU_ASSERT_EQUAL(post_rec.n, 3);
	plugin_host_sweep(&other);
}

static CU_TestInfo loader_tests[] = {
	{"good plugins of all four kinds", test_good_all_kinds},
	{"a loaded plugin's ops are callable", test_good_ops_callable},
	{"plugin_set_find and plugin_kind_name", test_find_and_kind_names},
	{"only *.so files are looked at", test_dir_skips_other_names},
	{"refused: cannot be examined", test_refuse_missing_file},
	{"refused: symbolic link", test_refuse_symlink},
	{"refused: not a regular file", test_refuse_not_regular},
	{"refused: group/world-writable", test_refuse_writable},
	{"refused: owned by another user", test_refuse_foreign_owner},
	{"refused: not a shared object", test_refuse_not_loadable},
	{"refused: unresolved symbol", test_refuse_unresolved},
	{"refused: no entry symbol", test_refuse_no_entry},
	{"refused: describe returns NULL", test_refuse_describe_null},
	{"refused: bad magic", test_refuse_bad_magic},
	{"refused: ABI major + 1", test_refuse_abi_major},
	{"refused: ABI minor + 1", test_refuse_abi_minor},
	{"refused: descriptor too small", test_refuse_short_desc},
	{"refused: unknown kind", test_refuse_unknown_kind},
	{"refused: ops table too small", test_refuse_short_ops},
	{"refused: unknown flag", test_refuse_unknown_flag},
	{"refused: required callback NULL", test_refuse_null_callback},
	{"refused: bad name", test_refuse_bad_name},
	{"refused: lower-case constraint", test_refuse_lower_constraint},
	{"refused: duplicate, first in name order wins",
	 test_refuse_duplicate},
	{"refused: seven duplicates, in name order",
	 test_refuse_duplicate_many},
	{"refused: the same file twice", test_refuse_same_file_twice},
	{"disabled in plugin_conf: skipped, not refused", test_disabled},
	{"enabled in plugin_conf", test_enabled_in_conf},
	{"refused: create() fails with a message", test_refuse_create_fails},
	{"refused: create() fails without one",
	 test_refuse_create_fails_silently},
	{"--plugin_dir missing: must_exist or not", test_plugin_dir_missing},
	{"a directory's counts and refusal order", test_dir_counts},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo host_tests[] = {
	{"configuration reaches create()", test_conf_reaches_create},
	{"configuration of the wrong types", test_conf_wrong_types},
	{"configuration arrays and paths", test_conf_array_items},
	{"no configuration", test_conf_absent},
	{"timers, post() and fd watches on the loop", test_timers_and_post},
	{"host table: log, post from a thread, sweep", test_host_direct},
	{"host: sweep drops only its plugin's posts",
	 test_host_sweep_drops_own_posts},
	{"host: unrun posts are freed", test_host_free_drops_posts},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"plugin loader", suite_init, NULL, setup, teardown, loader_tests},
	{"plugin host services", suite_init, NULL, setup, teardown, host_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
