#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"

enum flag_type { FLAG_STR, FLAG_INT, FLAG_BOOL, FLAG_LIST };

struct flag_def {
	const char *name;
	enum flag_type type;
	size_t offset;   /* of the member in struct flags */
	const char *def; /* default as text; NULL: unset */
	int64_t min, max; /* FLAG_INT range */
	const char *help;
};

#define F(member, type, def, min, max, help) \
	{#member, type, offsetof(struct flags, member), def, min, max, help}

/* The table drives parsing, defaults, the environment and --help. */
static const struct flag_def flag_defs[] = {
	F(master, FLAG_STR, "local", 0, 0,
	  "where tasks run: \"local\" for the embedded local driver"),
	F(framework_name, FLAG_STR, "marathon", 0, 0,
	  "framework name reported to Mesos and in /v2/info"),
	F(hostname, FLAG_STR, NULL, 0, 0,
	  "host name advertised to clients and peers (default: this host's)"),
	F(mesos_role, FLAG_STR, "*", 0, 0, "Mesos role of the framework"),
	F(mesos_user, FLAG_STR, NULL, 0, 0,
	  "user tasks run as (default: the user running stadiond)"),
	F(webui_url, FLAG_STR, NULL, 0, 0, "URL of the web UI, if any"),
	F(failover_timeout, FLAG_INT, "604800", 0, INT64_MAX,
	  "seconds Mesos keeps tasks after the framework disconnects"),
	F(task_launch_timeout, FLAG_INT, "300000", 1, INT64_MAX,
	  "ms a task may take to reach TASK_RUNNING"),
	F(reconciliation_interval, FLAG_INT, "600000", 1, INT64_MAX,
	  "ms between task reconciliations"),
	F(env_vars_prefix, FLAG_STR, NULL, 0, 0,
	  "prefix of the variables stadiond sets in each task's environment "
	  "(PORT0, PORTS, HOST...)"),
	F(local_port_min, FLAG_INT, "10000", 1, 65535,
	  "lowest service port assigned to apps"),
	F(local_port_max, FLAG_INT, "20000", 1, 65535,
	  "highest service port assigned to apps"),
	F(health_stall_ms, FLAG_INT, "2000", 100, INT64_MAX,
	  "ms the event loop may stall before health kills pause"),
	F(health_breaker_percent, FLAG_INT, "50", 1, 100,
	  "share (%) of checked tasks failing at once that pauses health "
	  "kills"),
	F(health_breaker_min, FLAG_INT, "10", 1, INT64_MAX,
	  "least checked tasks for --health_breaker_percent to apply"),
	F(local_agents, FLAG_STR, NULL, 0, 0,
	  "JSON file of the local driver's agents (default: this host)"),
	F(http_address, FLAG_STR, "0.0.0.0", 0, 0,
	  "address the REST API listens on (default: all interfaces)"),
	F(http_port, FLAG_INT, "8080", 1, 65535, "port of the REST API"),
	F(https_port, FLAG_INT, "8443", 1, 65535,
	  "HTTPS port reported in /v2/info (HTTPS is not served yet)"),
	F(http_max_body_bytes, FLAG_INT, "1048576", 1, INT64_MAX,
	  "largest request body accepted; larger ones get 413"),
	F(zk, FLAG_STR, NULL, 0, 0,
	  "ZooKeeper URL zk://[user:pass@]host:port[,host:port]/path; "
	  "without it stadiond runs standalone on LMDB"),
	F(ha, FLAG_BOOL, "true", 0, 0, "run leader election (with --zk)"),
	F(zk_timeout, FLAG_INT, "10000", 1, INT64_MAX,
	  "ms a ZooKeeper operation may take"),
	F(zk_session_timeout, FLAG_INT, "10000", 1, INT64_MAX,
	  "ms of the ZooKeeper session timeout"),
	F(zk_connection_timeout, FLAG_INT, "10000", 1, INT64_MAX,
	  "ms to wait for a ZooKeeper connection"),
	F(zk_max_versions, FLAG_INT, "50", 1, INT64_MAX,
	  "versions of each app kept in storage"),
	F(zk_compression, FLAG_BOOL, "true", 0, 0,
	  "compress stored values above the threshold"),
	F(zk_compression_threshold, FLAG_INT, "65536", 0, INT64_MAX,
	  "bytes above which stored values are compressed"),
	F(zk_max_node_size, FLAG_INT, "1024000", 1, INT64_MAX,
	  "largest stored value in bytes"),
	F(leader_proxy_connection_timeout, FLAG_INT, "5000", 1, INT64_MAX,
	  "ms to connect to the leader when proxying"),
	F(leader_proxy_read_timeout, FLAG_INT, "10000", 1, INT64_MAX,
	  "ms to wait for the leader's answer when proxying"),
	F(leader_proxy_max_open_connections, FLAG_INT, "64", 1, 65536,
	  "connections a standby keeps open to the leader when proxying"),
	F(plugin_dir, FLAG_LIST, NULL, 0, 0,
	  "directory of extra plugins (*.so); repeatable"),
	F(system_plugin_dir, FLAG_STR, PLUGINS_DIR, 0, 0,
	  "directory of installed plugins, loaded first (\"\" skips it)"),
	F(plugin_conf, FLAG_STR, NULL, 0, 0,
	  "JSON file with each plugin's configuration"),
	F(strict_plugins, FLAG_BOOL, "false", 0, 0,
	  "refuse to start when any plugin is refused"),
	F(data_dir, FLAG_STR, "/var/lib/stadion", 0, 0,
	  "directory for state and task sandboxes"),
	F(logging_level, FLAG_STR, "info", 0, 0,
	  "error, warn, info or debug"),
	F(syslog, FLAG_BOOL, "false", 0, 0, "also log to syslog"),
};

#define N_FLAGS (sizeof(flag_defs) / sizeof(flag_defs[0]))

/* Other spellings of a flag, on the command line and in the environment:
 * Marathon's documentation names these timeouts both ways. */
static const struct flag_alias {
	const char *alias, *name;
} flag_aliases[] = {
	{"leader_proxy_connection_timeout_ms",
	 "leader_proxy_connection_timeout"},
	{"leader_proxy_read_timeout_ms", "leader_proxy_read_timeout"},
};

static void *flag_ptr(struct flags *f, const struct flag_def *d)
{
	return (char *)f + d->offset;
}

static const struct flag_def *flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_FLAGS; i++)
		if (strlen(flag_defs[i].name) == len &&
		    strncmp(flag_defs[i].name, name, len) == 0)
			return &flag_defs[i];
	for (size_t i = 0; i < sizeof(flag_aliases) / sizeof(flag_aliases[0]);
	     i++)
		if (strlen(flag_aliases[i].alias) == len &&
		    strncmp(flag_aliases[i].alias, name, len) == 0)
			return flag_find(flag_aliases[i].name,
			                 strlen(flag_aliases[i].name));
	return NULL;
}

static int parse_bool(const char *s, bool *value_r)
{
	static const char *const yes[] = {"", "true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	return -1;
}

static void list_clear(struct flags_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static int list_append(struct flags_list *list, const char *value)
{
	char **grown = realloc(list->items, (list->n + 2) * sizeof(char *));

	if (grown == NULL)
		return -1;
	list->items = grown;
	if ((grown[list->n] = strdup(value)) == NULL)
		return -1;
	grown[++list->n] = NULL;
	return 0;
}

/* Set flag D from VALUE; SOURCE names where it came from, for errors.
 * APPEND: add to a list flag rather than replace it. */
static int flag_set(struct flags *f, const struct flag_def *d,
                    const char *value, const char *source, bool append,
                    char *err, size_t errlen)
{
	void *p = flag_ptr(f, d);
	char *end;
	long long n;

	switch (d->type) {
	case FLAG_STR: {
		char *copy = strdup(value);

		if (copy == NULL)
			goto fail_nomem;
		free(*(char **)p);
		*(char **)p = copy;
		return 0;
	}
	case FLAG_INT:
		errno = 0;
		n = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    n < d->min || n > d->max) {
			snprintf(err, errlen,
			         "%s: --%s must be a whole number from %" PRId64
			         " to %" PRId64 ", not \"%s\"",
			         source, d->name, d->min, d->max, value);
			return -1;
		}
		*(int64_t *)p = n;
		return 0;
	case FLAG_BOOL:
		if (parse_bool(value, (bool *)p) != 0) {
			snprintf(err, errlen,
			         "%s: --%s takes true or false, not \"%s\"",
			         source, d->name, value);
			return -1;
		}
		return 0;
	case FLAG_LIST:
		if (!append)
			list_clear(p);
		if (list_append(p, value) != 0)
			goto fail_nomem;
		return 0;
	}
	return 0;

fail_nomem:
	snprintf(err, errlen, "%s: out of memory setting --%s", source,
	         d->name);
	return -1;
}

/* Apply the environment variable PREFIX<FLAG> of every flag. */
static int flags_from_env(struct flags *f, char *const envp[],
                          const char *prefix, char *err, size_t errlen)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		const char *eq = strchr(envp[i], '=');
		char name[64];
		size_t nlen;
		const struct flag_def *d;

		if (eq == NULL || strncmp(envp[i], prefix, plen) != 0)
			continue;
		nlen = (size_t)(eq - envp[i]) - plen;
		if (nlen == 0 || nlen >= sizeof(name))
			continue;
		for (size_t k = 0; k < nlen; k++)
			name[k] = (char)tolower((unsigned char)envp[i][plen + k]);
		if ((d = flag_find(name, nlen)) == NULL)
			continue; /* other programs' variables share the prefix */
		if (d->type == FLAG_LIST) {
			char *copy = strdup(eq + 1), *save = NULL;
			int rc = 0;
			bool first = true;

			if (copy == NULL)
				return -1;
			for (char *tok = strtok_r(copy, ":", &save);
			     tok != NULL && rc == 0;
			     tok = strtok_r(NULL, ":", &save), first = false)
				rc = flag_set(f, d, tok, envp[i], !first, err,
				              errlen);
			free(copy);
			if (rc != 0)
				return -1;
		} else if (flag_set(f, d, eq + 1, envp[i], false, err,
		                    errlen) != 0) {
			return -1;
		}
	}
	return 0;
}

static int flags_defaults(struct flags *f, char *err, size_t errlen)
{
	char host[256];

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < N_FLAGS; i++)
		if (flag_defs[i].def != NULL &&
		    flag_set(f, &flag_defs[i], flag_defs[i].def, "default",
		             false, err, errlen) != 0)
			return -1;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	return flag_set(f, flag_find("hostname", 8), host, "default", false,
	                err, errlen);
}

static int flags_check(const struct flags *f, char *err, size_t errlen)
{
	if (f->local_port_min > f->local_port_max) {
		snprintf(err, errlen,
		         "--local_port_min (%" PRId64 ") is above "
		         "--local_port_max (%" PRId64 ")",
		         f->local_port_min, f->local_port_max);
		return -1;
	}
	return 0;
}

enum flags_result flags_parse(struct flags *f, int argc, char *const argv[],
                              char *const envp[], char *err, size_t errlen)
{
	bool list_from_cmdline = false;

	if (flags_defaults(f, err, errlen) != 0 ||
	    flags_from_env(f, envp, "MARATHON_", err, errlen) != 0 ||
	    flags_from_env(f, envp, "STADION_", err, errlen) != 0)
		return FLAGS_ERROR;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value, *eq;
		const struct flag_def *d;
		size_t nlen;
		bool negate = false;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return FLAGS_HELP;
		if (strcmp(arg, "--version") == 0)
			return FLAGS_VERSION;
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen,
			         "unexpected argument \"%s\"; flags start with "
			         "--, see stadiond --help", arg);
			return FLAGS_ERROR;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		d = flag_find(name, nlen);
		if (d == NULL && nlen > 8 && strncmp(name, "disable_", 8) == 0) {
			const struct flag_def *b = flag_find(name + 8, nlen - 8);

			if (b != NULL && b->type == FLAG_BOOL) {
				d = b;
				negate = true;
			}
		}
		if (d == NULL || (negate && d->type != FLAG_BOOL)) {
			snprintf(err, errlen,
			         "unknown flag --%.*s; see stadiond --help",
			         (int)nlen, name);
			return FLAGS_ERROR;
		}
		if (eq != NULL)
			value = eq + 1;
		else if (d->type == FLAG_BOOL)
			value = negate ? "false" : "true";
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			snprintf(err, errlen, "--%s needs a value", d->name);
			return FLAGS_ERROR;
		}
		if (negate && eq != NULL) {
			snprintf(err, errlen, "--%.*s takes no value",
			         (int)nlen, name);
			return FLAGS_ERROR;
		}
		if (flag_set(f, d, value, "command line",
		             d->type == FLAG_LIST && list_from_cmdline, err,
		             errlen) != 0)
			return FLAGS_ERROR;
		if (d->type == FLAG_LIST)
			list_from_cmdline = true;
	}
	return flags_check(f, err, errlen) == 0 ? FLAGS_OK : FLAGS_ERROR;
}

void flags_free(struct flags *f)
{
	for (size_t i = 0; i < N_FLAGS; i++) {
		void *p = flag_ptr(f, &flag_defs[i]);

		if (flag_defs[i].type == FLAG_STR) {
			free(*(char **)p);
			*(char **)p = NULL;
		} else if (flag_defs[i].type == FLAG_LIST) {
			list_clear(p);
		}
	}
}

void flags_usage(FILE *out)
{
	fprintf(out,
	        "Usage: stadiond [--flag value | --flag=value]...\n"
	        "A Marathon-compatible scheduler. Every flag may also come "
	        "from STADION_<FLAG> or\nMARATHON_<FLAG> in the environment; "
	        "booleans are switched off with --disable_<flag>.\n\n");
	for (size_t i = 0; i < N_FLAGS; i++) {
		const struct flag_def *d = &flag_defs[i];
		const char *arg = d->type == FLAG_BOOL  ? ""
		                  : d->type == FLAG_INT ? " N"
		                                        : " VALUE";

		fprintf(out, "  --%s%s\n      %s", d->name, arg, d->help);
		if (d->def != NULL)
			fprintf(out, " (default: %s)",
			        d->def[0] != '\0' ? d->def : "\"\"");
		fputc('\n', out);
		for (size_t k = 0;
		     k < sizeof(flag_aliases) / sizeof(flag_aliases[0]); k++)
			if (strcmp(flag_aliases[k].name, d->name) == 0)
				fprintf(out,
				        "  --%s%s\n      the same as --%s\n",
				        flag_aliases[k].alias, arg, d->name);
	}
	fprintf(out, "  --help, --version\n");
}
