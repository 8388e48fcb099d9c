/*
 * flags: stadiond's command line, with Marathon's flag spelling.
 *
 * Each flag comes, in rising precedence, from its default, the environment
 * variable MARATHON_<FLAG> (for drop-in use), STADION_<FLAG>, and the
 * command line (--flag value or --flag=value).  Boolean flags are switched
 * on with --flag and off with --disable_flag, as Marathon's are; in the
 * environment an empty value means true.  List flags (--plugin_dir) repeat;
 * in the environment their values are separated by ':'.
 */
#ifndef STADION_FLAGS_H
#define STADION_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A repeatable flag's values. */
struct flags_list {
	char **items; /* NULL-terminated, or NULL when empty */
	size_t n;
};

struct flags {
	/* Scheduling and Mesos */
	char *master;            /* "local" = the embedded local driver */
	char *framework_name;
	char *hostname;          /* advertised host name */
	char *env_vars_prefix;   /* NULL: none */
	char *mesos_role;
	char *mesos_user;
	char *webui_url;         /* NULL when unset */
	int64_t failover_timeout;
	int64_t task_launch_timeout;
	int64_t reconciliation_interval;
	int64_t local_port_min;
	int64_t local_port_max;
	int64_t health_stall_ms;        /* loop stall that pauses kills */
	int64_t health_breaker_percent; /* failing share that pauses kills */
	int64_t health_breaker_min;     /* least checked tasks for it */
	char *local_agents;      /* agents file; NULL: one agent, this host */
	/* HTTP */
	char *http_address;
	int64_t http_port;
	int64_t https_port;
	int64_t http_max_body_bytes;
	/* ZooKeeper and high availability */
	char *zk;                /* NULL: standalone, state in LMDB */
	bool ha;
	int64_t zk_timeout;
	int64_t zk_session_timeout;
	int64_t zk_connection_timeout;
	int64_t zk_max_versions;
	bool zk_compression;
	int64_t zk_compression_threshold;
	int64_t zk_max_node_size;
	int64_t leader_proxy_connection_timeout;
	int64_t leader_proxy_read_timeout;
	int64_t leader_proxy_max_open_connections;
	/* Plugins */
	struct flags_list plugin_dir;
	char *system_plugin_dir; /* "" disables */
	char *plugin_conf;       /* NULL when unset */
	bool strict_plugins;
	/* Daemon */
	char *data_dir;
	char *logging_level;
	bool syslog;
};

enum flags_result {
	FLAGS_OK = 0,
	FLAGS_HELP = 1,    /* --help was given: print flags_usage() */
	FLAGS_VERSION = 2, /* --version was given */
	FLAGS_ERROR = -1,  /* ERR holds the message */
};

/* Fill F from defaults, the environment (ENVP, NULL-terminated) and ARGV.
 * On FLAGS_ERROR, ERR (ERRLEN bytes) says which flag is wrong and why.
 * F owns everything it points to; free with flags_free() whatever the
 * result. */
enum flags_result flags_parse(struct flags *f, int argc, char *const argv[],
                              char *const envp[], char *err, size_t errlen);
void flags_free(struct flags *f);
/* Print every flag with its default and help text. */
void flags_usage(FILE *out);

#endif /* STADION_FLAGS_H */
