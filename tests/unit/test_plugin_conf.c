/*
 * test_plugin_conf: the --plugin_conf file (core/plugin/plugin_conf.c):
 * plugin_conf_load on good files and on every bad shape, with the exact
 * message; plugin_conf_find; the typed accessors behind the host table.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "plugin/plugin_conf.h"

static char tmp[PATH_MAX];
static char path[PATH_MAX]; /* tmp/plugin_conf.json */
static char err[1024];
static struct plugin_conf *pc;
static struct plugin_conf sentinel;

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/stadion-conf-XXXXXX",
	         t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmp) == NULL)
		tmp[0] = '\0';
	snprintf(path, sizeof(path), "%s/plugin_conf.json", tmp);
	pc = NULL;
}

static void teardown(void)
{
	if (pc != &sentinel)
		plugin_conf_free(pc);
	pc = NULL;
	if (tmp[0] != '\0') {
		unlink(path);
		rmdir(tmp);
	}
}

/* Write TEXT to the conf file and load it. */
static int load(const char *text)
{
	FILE *f;

	CU_ASSERT_FATAL(tmp[0] != '\0');
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	if (pc != &sentinel)
		plugin_conf_free(pc);
	pc = NULL;
	memset(err, 0, sizeof(err));
	return plugin_conf_load(path, &pc, err, sizeof(err));
}

/* TEXT is refused with "--plugin_conf <path>: " MESSAGE, and the result
 * pointer is left alone. */
static void bad_(const char *text, const char *message, int line)
{
	char want[PATH_MAX + 1024];
	int rc;

	snprintf(want, sizeof(want), "--plugin_conf %s: %s", path, message);
	CU_ASSERT_FATAL(tmp[0] != '\0');
	{
		FILE *f = fopen(path, "w");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs(text, f);
		CU_ASSERT_FATAL(fclose(f) == 0);
	}
	if (pc != &sentinel)
		plugin_conf_free(pc);
	pc = &sentinel;
	memset(err, 0, sizeof(err));
	rc = plugin_conf_load(path, &pc, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_EQUAL(pc, &sentinel);
	cu_check_str(err, want, "err", __FILE__, (unsigned)line);
}

#define BAD(text, message) bad_((text), (message), __LINE__)

static const char good_conf[] =
	"{\"plugins\": {\n"
	"  \"health-tcp\": {\"plugin\": \"probe\", \"implementation\": \"tcp\",\n"
	"    \"configuration\": {\"timeout\": 5, \"tls\": {\"verify\": true}},\n"
	"    \"tags\": [\"net\"], \"info\": {\"owner\": \"ops\"}},\n"
	"  \"unique\": {\"plugin\": \"constraint\", \"implementation\": "
	"\"UNIQUE\",\n"
	"    \"enabled\": false},\n"
	"  \"tcp-store\": {\"plugin\": \"storage\", \"implementation\": "
	"\"tcp\"},\n"
	"  \"roll\": {\"plugin\": \"upgrade\", \"implementation\": \"rolling\",\n"
	"    \"enabled\": true, \"configuration\": {}}\n"
	"}}\n";

static void test_good(void)
{
	const struct plugin_conf_entry *e;
	int64_t n = 0;
	bool b = false;

	CU_ASSERT_EQUAL_FATAL(load(good_conf), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
	CU_ASSERT_EQUAL_FATAL(pc->n_entries, 4);

	e = &pc->entries[0];
	CHECK_STR(e->id, "health-tcp");
	CHECK_STR(e->kind, "probe");
	CHECK_STR(e->implementation, "tcp");
	CU_ASSERT_TRUE(e->enabled); /* the default */
	CU_ASSERT_FALSE(e->used);
	CU_ASSERT_TRUE(json_object_is_type(e->conf.obj, json_type_object));
	CU_ASSERT_TRUE(json_object_is_type(e->tags, json_type_array));
	CU_ASSERT_TRUE(json_object_is_type(e->info, json_type_object));
	CU_ASSERT_EQUAL(plugin_conf_int(&e->conf, "timeout", &n), STADION_OK);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(plugin_conf_bool(&e->conf, "tls.verify", &b),
	                STADION_OK);
	CU_ASSERT_TRUE(b);

	e = &pc->entries[1];
	CHECK_STR(e->id, "unique");
	CHECK_STR(e->kind, "constraint");
	CHECK_STR(e->implementation, "UNIQUE");
	CU_ASSERT_FALSE(e->enabled);
	CU_ASSERT_PTR_NULL(e->conf.obj);
	CU_ASSERT_PTR_NULL(e->tags);
	CU_ASSERT_PTR_NULL(e->info);

	CHECK_STR(pc->entries[2].id, "tcp-store");
	CHECK_STR(pc->entries[2].kind, "storage");
	CHECK_STR(pc->entries[3].id, "roll");
	CU_ASSERT_TRUE(pc->entries[3].enabled);
	CU_ASSERT_PTR_NOT_NULL(pc->entries[3].conf.obj);
	CU_ASSERT_EQUAL(plugin_conf_int(&pc->entries[3].conf, "timeout", &n),
	                STADION_ENOENT);
}

static void test_find(void)
{
	CU_ASSERT_EQUAL_FATAL(load(good_conf), 0);
	CU_ASSERT_PTR_EQUAL(plugin_conf_find(pc, "probe", "tcp"),
	                    &pc->entries[0]);
	/* The same name under another kind is another plugin. */
	CU_ASSERT_PTR_EQUAL(plugin_conf_find(pc, "storage", "tcp"),
	                    &pc->entries[2]);
	CU_ASSERT_PTR_EQUAL(plugin_conf_find(pc, "constraint", "UNIQUE"),
	                    &pc->entries[1]);
	CU_ASSERT_PTR_EQUAL(plugin_conf_find(pc, "upgrade", "rolling"),
	                    &pc->entries[3]);
	CU_ASSERT_PTR_NULL(plugin_conf_find(pc, "constraint", "unique"));
	CU_ASSERT_PTR_NULL(plugin_conf_find(pc, "upgrade", "tcp"));
	CU_ASSERT_PTR_NULL(plugin_conf_find(pc, "probe", "http"));
	/* Found by implementation, not by id. */
	CU_ASSERT_PTR_NULL(plugin_conf_find(pc, "probe", "health-tcp"));
	CU_ASSERT_PTR_NULL(plugin_conf_find(NULL, "probe", "tcp"));

	CU_ASSERT_EQUAL_FATAL(load("{\"plugins\": {}}"), 0);
	CU_ASSERT_EQUAL(pc->n_entries, 0);
	CU_ASSERT_PTR_NULL(plugin_conf_find(pc, "probe", "tcp"));
}

/* The JSON library's words are in the middle; the rest is ours, on one
 * line. */
static void unreadable_(const char *text, int line)
{
	static const char suffix[] = "); check that the file exists and parses";
	char prefix[PATH_MAX + 64];
	size_t len, plen;

	snprintf(prefix, sizeof(prefix),
	         "--plugin_conf %s: cannot read it as JSON (", path);
	if (text != NULL) {
		FILE *f = fopen(path, "w");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs(text, f);
		CU_ASSERT_FATAL(fclose(f) == 0);
	} else {
		unlink(path);
	}
	pc = &sentinel;
	memset(err, 0, sizeof(err));
	CU_ASSERT_EQUAL(plugin_conf_load(path, &pc, err, sizeof(err)), -1);
	CU_ASSERT_PTR_EQUAL(pc, &sentinel);
	len = strlen(err);
	plen = strlen(prefix);
	if (strncmp(err, prefix, plen) != 0 || len < plen + sizeof(suffix) ||
	    strcmp(err + len - (sizeof(suffix) - 1), suffix) != 0 ||
	    strchr(err, '\n') != NULL)
		fprintf(stderr, "\n    line %d: \"%s\"\n", line, err);
	CU_ASSERT(strncmp(err, prefix, plen) == 0);
	/* Something between the parentheses. */
	CU_ASSERT(len >= plen + sizeof(suffix));
	CU_ASSERT(len >= sizeof(suffix) - 1 &&
	          strcmp(err + len - (sizeof(suffix) - 1), suffix) == 0);
	/* One line: the message goes to the log as it is. */
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

static void test_not_json(void)
{
	unreadable_("{\"plugins\": {", __LINE__);
	unreadable_("plugins: {}", __LINE__);
	unreadable_("", __LINE__);
	unreadable_(NULL, __LINE__); /* no such file */
}

static void test_bad_top_level(void)
{
	static const char top[] =
		"expected {\"plugins\": {\"<id>\": {...}}} at the top level";

	BAD("[]", top);
	BAD("42\n", top);
	BAD("{}", top);
	BAD("{\"plugin\": {}}", top);
	BAD("{\"plugins\": []}", top);
	BAD("{\"plugins\": null}", top);
	BAD("{\"plugins\": \"tcp\"}", top);
}

static void test_bad_entries(void)
{
	static const char kinds[] =
		"must be one of \"constraint\", \"probe\", \"storage\", "
		"\"upgrade\"";
	char want[256];

	BAD("{\"plugins\": {\"a\": 3}}", "plugins.a must be an object");
	BAD("{\"plugins\": {\"a\": [\"probe\"]}}",
	    "plugins.a must be an object");

	snprintf(want, sizeof(want), "plugins.a.plugin %s", kinds);
	BAD("{\"plugins\": {\"a\": {\"implementation\": \"tcp\"}}}", want);
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probes\", "
	    "\"implementation\": \"tcp\"}}}",
	    want);
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"PROBE\", "
	    "\"implementation\": \"tcp\"}}}",
	    want);
	BAD("{\"plugins\": {\"a\": {\"plugin\": 2, "
	    "\"implementation\": \"tcp\"}}}",
	    want);
	/* Marathon's own plugin kinds are not ours. */
	BAD("{\"plugins\": {\"a\": {\"plugin\": "
	    "\"mesosphere.marathon.plugin.auth.Authenticator\", "
	    "\"implementation\": \"tcp\"}}}",
	    want);

	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\"}}}",
	    "plugins.a.implementation must be the plugin's name as a string");
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": 3}}}",
	    "plugins.a.implementation must be the plugin's name as a string");

	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"enabled\": \"yes\"}}}",
	    "plugins.a.enabled must be true or false");
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"enabled\": 1}}}",
	    "plugins.a.enabled must be true or false");

	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"configuration\": []}}}",
	    "plugins.a.configuration must be an object");
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"configuration\": \"x=1\"}}}",
	    "plugins.a.configuration must be an object");

	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"tags\": {}}}}",
	    "plugins.a.tags must be an array");
	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"tags\": \"net\"}}}",
	    "plugins.a.tags must be an array");

	BAD("{\"plugins\": {\"a\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\", \"info\": []}}}",
	    "plugins.a.info must be an object");

	/* The message names the entry that is wrong, not the first one. */
	BAD("{\"plugins\": {\"ok\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"tcp\"}, \"later\": {\"plugin\": \"probe\", "
	    "\"implementation\": \"http\", \"info\": 1}}}",
	    "plugins.later.info must be an object");
}

static void test_duplicates(void)
{
	BAD("{\"plugins\": {"
	    "\"a\": {\"plugin\": \"probe\", \"implementation\": \"tcp\"},"
	    "\"b\": {\"plugin\": \"storage\", \"implementation\": \"tcp\"},"
	    "\"c\": {\"plugin\": \"probe\", \"implementation\": \"tcp\", "
	    "\"enabled\": false}}}",
	    "plugins.a and plugins.c both configure probe plugin \"tcp\"; "
	    "keep one");
	BAD("{\"plugins\": {"
	    "\"x\": {\"plugin\": \"constraint\", \"implementation\": \"U\"},"
	    "\"y\": {\"plugin\": \"constraint\", \"implementation\": \"U\"}}}",
	    "plugins.x and plugins.y both configure constraint plugin \"U\"; "
	    "keep one");
	/* Same name, other kind: fine. */
	CU_ASSERT_EQUAL(load("{\"plugins\": {"
	                     "\"a\": {\"plugin\": \"probe\", "
	                     "\"implementation\": \"tcp\"},"
	                     "\"b\": {\"plugin\": \"storage\", "
	                     "\"implementation\": \"tcp\"}}}"),
	                0);
	CU_ASSERT_EQUAL(pc != NULL ? pc->n_entries : 0, 2);
}

/* ------------------------------------------------------------------------
 * The typed accessors
 * ------------------------------------------------------------------------ */

static struct stadion_conf conf;

static void conf_setup(void)
{
	conf.obj = json_tokener_parse(
		"{\"s\": \"text\", \"i\": 42, \"neg\": -7, \"d\": 0.5,"
		" \"b\": true, \"f\": false, \"n\": null,"
		" \"big\": 9223372036854775807,"
		" \"min\": -9223372036854775808,"
		" \"over\": 9223372036854775808,"
		" \"a\": [\"x\", \"y\", 3], \"empty\": [],"
		" \"o\": {\"p\": {\"q\": \"deep\"}, \"k\": 1},"
		" \"dotted.key\": 1}");
}

static void conf_teardown(void)
{
	json_object_put(conf.obj);
	conf.obj = NULL;
}

static void test_conf_str(void)
{
	const char *v = "untouched";

	CU_ASSERT_PTR_NOT_NULL_FATAL(conf.obj);
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "s", &v), STADION_OK);
	CHECK_STR(v, "text");
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "o.p.q", &v), STADION_OK);
	CHECK_STR(v, "deep");
	v = "untouched";
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "i", &v), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "o", &v), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "nope", &v), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "o.p.nope", &v),
	                STADION_ENOENT);
	/* Through something that is not an object. */
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "s.x", &v), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "a.0", &v), STADION_ENOENT);
	/* null counts as absent. */
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "n", &v), STADION_ENOENT);
	/* Keys with a dot cannot be reached. */
	CU_ASSERT_EQUAL(plugin_conf_str(&conf, "dotted.key", &v),
	                STADION_ENOENT);
	CHECK_STR(v, "untouched");
}

static void test_conf_numbers(void)
{
	int64_t i = 7;
	double d = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(conf.obj);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "i", &i), STADION_OK);
	CU_ASSERT_EQUAL(i, 42);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "neg", &i), STADION_OK);
	CU_ASSERT_EQUAL(i, -7);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "o.k", &i), STADION_OK);
	CU_ASSERT_EQUAL(i, 1);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "big", &i), STADION_OK);
	CU_ASSERT_EQUAL(i, INT64_MAX);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "min", &i), STADION_OK);
	CU_ASSERT_EQUAL(i, INT64_MIN);
	i = 7;
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "d", &i), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "s", &i), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "b", &i), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "nope", &i), STADION_ENOENT);
	CU_ASSERT_EQUAL(i, 7);
	/* Above INT64_MAX: refused, not clamped. */
	CU_ASSERT_EQUAL(plugin_conf_int(&conf, "over", &i), STADION_EINVAL);
	CU_ASSERT_EQUAL(i, 7);

	CU_ASSERT_EQUAL(plugin_conf_double(&conf, "d", &d), STADION_OK);
	CU_ASSERT_DOUBLE_EQUAL(d, 0.5, 0);
	/* An integer is a number too. */
	CU_ASSERT_EQUAL(plugin_conf_double(&conf, "i", &d), STADION_OK);
	CU_ASSERT_DOUBLE_EQUAL(d, 42.0, 0);
	d = -1;
	CU_ASSERT_EQUAL(plugin_conf_double(&conf, "s", &d), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_double(&conf, "b", &d), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_double(&conf, "nope", &d), STADION_ENOENT);
	CU_ASSERT_DOUBLE_EQUAL(d, -1, 0);
}

static void test_conf_bool(void)
{
	bool b = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(conf.obj);
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "b", &b), STADION_OK);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "f", &b), STADION_OK);
	CU_ASSERT_FALSE(b);
	b = true;
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "i", &b), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "s", &b), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "nope", &b), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_bool(&conf, "n", &b), STADION_ENOENT);
	CU_ASSERT_TRUE(b);
}

static void test_conf_arrays(void)
{
	size_t n = 99;
	const char *v = "untouched";

	CU_ASSERT_PTR_NOT_NULL_FATAL(conf.obj);
	CU_ASSERT_EQUAL(plugin_conf_array_len(&conf, "a", &n), STADION_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(plugin_conf_array_len(&conf, "empty", &n), STADION_OK);
	CU_ASSERT_EQUAL(n, 0);
	n = 99;
	CU_ASSERT_EQUAL(plugin_conf_array_len(&conf, "o", &n), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_array_len(&conf, "s", &n), STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_array_len(&conf, "nope", &n),
	                STADION_ENOENT);
	CU_ASSERT_EQUAL(n, 99);

	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "a", 0, &v), STADION_OK);
	CHECK_STR(v, "x");
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "a", 1, &v), STADION_OK);
	CHECK_STR(v, "y");
	v = "untouched";
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "a", 2, &v),
	                STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "a", 3, &v),
	                STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "a", SIZE_MAX, &v),
	                STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "empty", 0, &v),
	                STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "s", 0, &v),
	                STADION_EINVAL);
	CU_ASSERT_EQUAL(plugin_conf_array_str(&conf, "nope", 0, &v),
	                STADION_ENOENT);
	CHECK_STR(v, "untouched");
}

/* A NULL conf, or one without "configuration": every key is absent. */
static void test_conf_absent(void)
{
	struct stadion_conf none = {.obj = NULL};
	const char *s = "untouched";
	int64_t i = 7;
	double d = -1;
	bool b = true;
	size_t n = 99;

	CU_ASSERT_EQUAL(plugin_conf_str(NULL, "s", &s), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_str(&none, "s", &s), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_int(NULL, "i", &i), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_double(&none, "d", &d), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_bool(NULL, "b", &b), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_array_len(&none, "a", &n), STADION_ENOENT);
	CU_ASSERT_EQUAL(plugin_conf_array_str(NULL, "a", 0, &s),
	                STADION_ENOENT);
	CHECK_STR(s, "untouched");
	CU_ASSERT_EQUAL(i, 7);
	CU_ASSERT_DOUBLE_EQUAL(d, -1, 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(n, 99);
}

/* stadiond's defaults: they create what is missing and never override
 * what the operator wrote. */
static void test_default(void)
{
	struct plugin_conf_entry *e;
	const char *v = NULL;

	/* No --plugin_conf at all: a conf and an entry are made. */
	CU_ASSERT_EQUAL_FATAL(plugin_conf_default(&pc, "storage", "lmdb",
	                                          "path", "/d/state"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
	e = plugin_conf_find(pc, "storage", "lmdb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CHECK_STR(e->id, "storage.lmdb");
	CU_ASSERT(e->enabled);
	CU_ASSERT_EQUAL(plugin_conf_str(&e->conf, "path", &v), STADION_OK);
	CHECK_STR(v, "/d/state");

	/* The operator's value wins; their other keys stay. */
	CU_ASSERT_EQUAL_FATAL(
		load("{\"plugins\": {\"store\": {\"plugin\": \"storage\","
		     " \"implementation\": \"lmdb\", \"configuration\":"
		     " {\"path\": \"/mine\", \"map_size_mb\": 8}}}}"),
		0);
	CU_ASSERT_EQUAL(plugin_conf_default(&pc, "storage", "lmdb", "path",
	                                    "/d/state"), 0);
	CU_ASSERT_EQUAL(pc->n_entries, 1);
	e = plugin_conf_find(pc, "storage", "lmdb");
	CU_ASSERT_EQUAL(plugin_conf_str(&e->conf, "path", &v), STADION_OK);
	CHECK_STR(v, "/mine");

	/* An entry without "configuration" gets one; an entry of another
	 * plugin that took the id "storage.lmdb" is left alone. */
	CU_ASSERT_EQUAL_FATAL(
		load("{\"plugins\": {\"storage.lmdb\": {\"plugin\": \"probe\","
		     " \"implementation\": \"tcp\"}}}"),
		0);
	CU_ASSERT_EQUAL(plugin_conf_default(&pc, "probe", "tcp", "port",
	                                    "80"), 0);
	CU_ASSERT_EQUAL(plugin_conf_default(&pc, "storage", "lmdb", "path",
	                                    "/d/state"), 0);
	CU_ASSERT_EQUAL_FATAL(pc->n_entries, 2);
	e = plugin_conf_find(pc, "probe", "tcp");
	CHECK_STR(e->id, "storage.lmdb");
	CU_ASSERT_EQUAL(plugin_conf_str(&e->conf, "port", &v), STADION_OK);
	CHECK_STR(v, "80");
	e = plugin_conf_find(pc, "storage", "lmdb");
	CHECK_STR(e->id, "storage.lmdb.default");
	CU_ASSERT_EQUAL(plugin_conf_str(&e->conf, "path", &v), STADION_OK);
	CHECK_STR(v, "/d/state");
}

static CU_TestInfo load_tests[] = {
	{"a good file", test_good},
	{"plugin_conf_find", test_find},
	{"not JSON, or no file", test_not_json},
	{"no \"plugins\" object", test_bad_top_level},
	{"bad entries", test_bad_entries},
	{"two entries for one plugin", test_duplicates},
	{"stadiond's defaults", test_default},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo accessor_tests[] = {
	{"conf_str and dotted keys", test_conf_str},
	{"conf_int and conf_double", test_conf_numbers},
	{"conf_bool", test_conf_bool},
	{"conf_array_len and conf_array_str", test_conf_arrays},
	{"no configuration", test_conf_absent},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"plugin_conf_load", NULL, NULL, setup, teardown, load_tests},
	{"configuration accessors", NULL, NULL, conf_setup, conf_teardown,
	 accessor_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
