/*
 * log: leveled log lines to stderr, and to syslog with --syslog.
 *
 * One line per call, prefixed with a UTC timestamp and the level.  Tests
 * install a sink to capture lines instead of parsing stderr.
 */
#ifndef STADION_LOG_H
#define STADION_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include <stadion/plugin.h>

/* The levels are the plugin ABI's (syslog numbering). */
#define LOG_LVL_ERROR STADION_LOG_ERROR
#define LOG_LVL_WARN  STADION_LOG_WARN
#define LOG_LVL_INFO  STADION_LOG_INFO
#define LOG_LVL_DEBUG STADION_LOG_DEBUG

/* Receives each formatted line (without timestamp or newline; borrowed for
 * the call). */
typedef void log_sink_fn(int level, const char *line, void *arg);

/* Lines above LEVEL are dropped. */
void log_set_level(int level);
/* Parse "error", "warn", "info", "debug" (Marathon's --logging_level also
 * says "warning", "trace", "all", "off"); -1 when unknown. */
int log_level_parse(const char *name);
void log_open_syslog(const char *ident);
/* Replace stderr output by SINK (NULL restores stderr).  Not thread-safe:
 * for tests. */
void log_set_sink(log_sink_fn *sink, void *arg);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* STADION_LOG_H */
