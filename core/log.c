#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_level = LOG_LVL_INFO;
static bool log_syslog;
static log_sink_fn *log_sink;
static void *log_sink_arg;

void log_set_level(int level)
{
	log_level = level;
}

int log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{"off", LOG_LVL_ERROR - 1}, {"error", LOG_LVL_ERROR},
		{"warn", LOG_LVL_WARN},     {"warning", LOG_LVL_WARN},
		{"info", LOG_LVL_INFO},     {"debug", LOG_LVL_DEBUG},
		{"trace", LOG_LVL_DEBUG},   {"all", LOG_LVL_DEBUG},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].level;
	return -1;
}

void log_open_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

void log_set_sink(log_sink_fn *sink, void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

static const char *log_level_name(int level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return "ERROR";
	case LOG_LVL_WARN:
		return "WARN";
	case LOG_LVL_INFO:
		return "INFO";
	default:
		return "DEBUG";
	}
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_sink != NULL) {
		log_sink(level, line, log_sink_arg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line: stdio locks the stream, so lines from plugin
	 * threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000L,
	        log_level_name(level), line);
	if (log_syslog)
		syslog(level, "%s", line);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
