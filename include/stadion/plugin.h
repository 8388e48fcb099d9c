/*
 * stadion plugin ABI: descriptor, versions, host-services table, errors.
 *
 * A plugin is a shared object that exports exactly one function,
 * stadion_plugin_describe(), returning a constant descriptor.  Write it with
 * STADION_PLUGIN_DEFINE(); never fill the descriptor by hand.  The per-kind
 * operations live in constraint.h, probe.h, storage.h and upgrade.h.
 *
 * Versioning rules (fixed for every 1.x release):
 *   - The major changes when anything is removed, reordered, retyped or given
 *     new semantics.  stadiond loads only plugins of its own major, from
 *     $(pkglibdir)/plugins-<major>, so old plugins are simply not found.
 *   - The minor changes when a member is appended to the descriptor, an ops
 *     table or the host table, when an optional callback is added, or when a
 *     new enum value may reach a plugin.  stadiond loads plugins built for its
 *     own minor or an older one; it never reads a member that the plugin's
 *     recorded size does not cover (STADION_HAS_MEMBER).  A plugin that wants
 *     a host service added in a later minor tests STADION_HOST_HAS() first.
 *   - Plugins treat enum values they do not know as "unsupported".
 *   - Reserved padding is never used for growth: sizes are.
 *
 * Threading: stadion_plugin_describe(), create() and destroy() run on the
 * main thread before the event loop starts or after it stops.  Every other
 * callback runs on the loop thread, must not block, and is never called
 * concurrently for one plugin.  Completion callbacks are invoked exactly once,
 * on the loop thread.  A thread the plugin starts itself talks to stadiond
 * only through host->post().
 *
 * Memory: no allocation crosses the boundary.  Anything stadiond passes in is
 * borrowed for the duration of the call unless the comment says otherwise;
 * anything a plugin returns stays owned by the plugin.
 *
 * Changelog (newest first; every change bumps a version):
 *   1.0  first ABI: descriptor, host table (log, post, timers, fd watches,
 *        typed configuration accessors, HTTP GET client, process spawn),
 *        constraint, probe, storage and upgrade kinds.
 */
#ifndef STADION_PLUGIN_H
#define STADION_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STADION_PLUGIN_MAGIC     0x5354444eu /* "STDN" */
#define STADION_PLUGIN_ABI_MAJOR 1
#define STADION_PLUGIN_ABI_MINOR 0

/* The one symbol every plugin exports. */
#define STADION_PLUGIN_ENTRY      stadion_plugin_describe
#define STADION_PLUGIN_ENTRY_NAME "stadion_plugin_describe"

/* Longest plugin name, without the terminating NUL. */
#define STADION_PLUGIN_NAME_MAX 32

/* True when an object of type TYPE whose producer recorded SIZE bytes has
 * MEMBER: read a member only after this says yes. */
#define STADION_HAS_MEMBER(type, size, member) \
	((size_t)(size) >= offsetof(type, member) + sizeof(((type *)0)->member))

enum stadion_plugin_kind {
	STADION_PLUGIN_KIND_CONSTRAINT = 1, /* constraint.h */
	STADION_PLUGIN_KIND_PROBE = 2,      /* probe.h */
	STADION_PLUGIN_KIND_STORAGE = 3,    /* storage.h */
	STADION_PLUGIN_KIND_UPGRADE = 4,    /* upgrade.h */
};

/* Descriptor flags.  None are defined in 1.0; a plugin that sets a bit this
 * daemon does not know is refused. */
#define STADION_PLUGIN_F_KNOWN 0x0u

/* Return codes: 0 is success, failures are negative. */
enum stadion_rc {
	STADION_OK = 0,
	STADION_EINVAL = -1,   /* bad argument or operand */
	STADION_ENOENT = -2,   /* no such key / object */
	STADION_ENOMEM = -3,   /* out of memory */
	STADION_EIO = -4,      /* I/O or backend failure */
	STADION_EBUSY = -5,    /* try again later */
	STADION_ETIMEDOUT = -6,
	STADION_ENOTSUP = -7,  /* not supported by this plugin or host */
	STADION_ETOOBIG = -8,  /* value over a size limit */
	STADION_ECONFLICT = -9 /* version or precondition conflict */
};

/* Caller-owned error: the caller provides it, the plugin fills it. */
struct stadion_err {
	int code;      /* an enum stadion_rc value */
	char msg[256]; /* operator-facing text; stadiond adds the plugin name */
};

/* Fill ERR and return CODE, so that failures read
 *   return stadion_err_set(err, STADION_EINVAL, "bad operand '%s'", s);   */
static inline int stadion_err_set(struct stadion_err *err, int code,
                                  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int stadion_err_set(struct stadion_err *err, int code,
                                  const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * The descriptor.  The first five members are the ABI header: frozen forever
 * and checked before anything else is read.
 */
struct stadion_plugin_desc {
	uint32_t magic;      /* STADION_PLUGIN_MAGIC */
	uint16_t abi_major;  /* STADION_PLUGIN_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;  /* STADION_PLUGIN_ABI_MINOR the plugin was built with */
	uint32_t desc_size;  /* sizeof(struct stadion_plugin_desc) at build time */
	uint32_t kind;       /* enum stadion_plugin_kind */
	/* ABI 1.0 body. */
	const char *name;        /* [a-z0-9_]{1,32}; constraint operators
	                          * [A-Z0-9_]{1,32} as users write them */
	const char *version;     /* the plugin's own version, free text */
	const char *description; /* one line for /v2/plugins */
	const void *ops;         /* struct stadion_<kind>_ops */
	uint32_t ops_size;       /* sizeof that ops table at build time */
	uint32_t flags;          /* STADION_PLUGIN_F_*; unknown bits refuse */
	/* Later minors append here only. */
};

/* Size of the 1.0 descriptor: the least a 1.x plugin may record. */
#define STADION_PLUGIN_DESC_SIZE_1_0 \
	(offsetof(struct stadion_plugin_desc, flags) + sizeof(uint32_t))

_Static_assert(offsetof(struct stadion_plugin_desc, magic) == 0,
               "ABI header is frozen");
_Static_assert(offsetof(struct stadion_plugin_desc, abi_major) == 4,
               "ABI header is frozen");
_Static_assert(offsetof(struct stadion_plugin_desc, abi_minor) == 6,
               "ABI header is frozen");
_Static_assert(offsetof(struct stadion_plugin_desc, desc_size) == 8,
               "ABI header is frozen");
_Static_assert(offsetof(struct stadion_plugin_desc, kind) == 12,
               "ABI header is frozen");

#if defined(__GNUC__)
#define STADION_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define STADION_PLUGIN_EXPORT
#endif

typedef const struct stadion_plugin_desc *stadion_plugin_describe_fn(void);

/*
 * Define the plugin's entry function.  OPS is the plugin's ops table object
 * (not a pointer); the macro ends in a declaration, so it takes a semicolon:
 *
 *   static const struct stadion_probe_ops tcp_ops = { .check = tcp_check };
 *   STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "tcp", "1.0.0",
 *                         "TCP connect probe", tcp_ops);
 */
#define STADION_PLUGIN_DEFINE(kind_, name_, version_, description_, ops_)   \
	STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *            \
	STADION_PLUGIN_ENTRY(void);                                         \
	STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *            \
	STADION_PLUGIN_ENTRY(void)                                          \
	{                                                                   \
		static const struct stadion_plugin_desc desc = {            \
			.magic = STADION_PLUGIN_MAGIC,                      \
			.abi_major = STADION_PLUGIN_ABI_MAJOR,              \
			.abi_minor = STADION_PLUGIN_ABI_MINOR,              \
			.desc_size = sizeof(struct stadion_plugin_desc),    \
			.kind = (kind_),                                    \
			.name = (name_),                                    \
			.version = (version_),                              \
			.description = (description_),                      \
			.ops = &(ops_),                                     \
			.ops_size = sizeof(ops_),                           \
			.flags = 0,                                         \
		};                                                          \
		return &desc;                                               \
	}                                                                   \
	_Static_assert(sizeof(ops_) >= 2 * sizeof(void *),                  \
	               "STADION_PLUGIN_DEFINE takes the ops table itself")

/* ------------------------------------------------------------------------
 * Host-services table
 *
 * stadiond hands each plugin its own table in create().  The table and the
 * ctx in it stay valid until destroy() returns.  Every function takes the
 * table's ctx as its first argument.  Tags: [any] may be called from any
 * thread; [loop] only on the loop thread (that is, from a callback).
 * ------------------------------------------------------------------------ */

enum stadion_log_level {
	STADION_LOG_ERROR = 3,
	STADION_LOG_WARN = 4,
	STADION_LOG_INFO = 6,
	STADION_LOG_DEBUG = 7,
};

/* Opaque handles, owned by stadiond. */
struct stadion_conf;  /* the plugin's "configuration" from --plugin_conf */
struct stadion_timer;
struct stadion_watch;
struct stadion_http_call; /* an HTTP GET under way */
struct stadion_proc;      /* a spawned process under way */

typedef void stadion_post_fn(void *arg);
typedef void stadion_timer_fn(void *arg);
typedef void stadion_fd_fn(int fd, unsigned events, void *arg);

#define STADION_FD_READ  0x1u
#define STADION_FD_WRITE 0x2u

/* One HTTP GET (http_get below).  Borrowed for the duration of the call. */
struct stadion_http_get {
	uint32_t size;        /* sizeof(struct stadion_http_get) */
	bool tls;             /* HTTPS; the peer's certificate is not
	                       * verified (Marathon's health checks) */
	const char *address;  /* numeric IPv4 or IPv6 address: the loop
	                       * never waits for a name lookup */
	uint16_t port;
	const char *path;     /* starts with '/'; NULL means "/" */
	uint32_t timeout_ms;  /* the whole exchange; 0 means 20000 */
};

/* Completion of http_get: STATUS is the status code of the first response
 * line (1xx included, the body is not read), or 0 when no response came,
 * and then ERROR says why ("connection refused", "timed out after 50 ms");
 * ERROR is NULL with a status, and borrowed for the duration of the call. */
typedef void stadion_http_done_fn(void *arg, int status, const char *error);

/* One process to spawn (spawn below).  Borrowed for the duration of the
 * call. */
struct stadion_spawn {
	uint32_t size;            /* sizeof(struct stadion_spawn) */
	const char *path;         /* the executable, an absolute path */
	const char *const *argv;  /* NULL-terminated */
	const char *const *env;   /* NULL-terminated KEY=VALUE list; NULL
	                           * for an empty environment */
	const char *cwd;          /* working directory; NULL for stadiond's */
	uint32_t timeout_ms;      /* its process group is killed (SIGKILL)
	                           * after this; 0 for no limit */
};

/* Completion of spawn: CODE is the exit status (0-255) when the process
 * exited, -1 otherwise, and then ERROR says why ("timed out after 50 ms",
 * "killed by signal 9", "cannot start /bin/sh: ..."); ERROR is NULL when
 * it exited, and borrowed for the duration of the call. */
typedef void stadion_spawn_done_fn(void *arg, int code, const char *error);

struct stadion_host {
	uint32_t size;       /* sizeof(struct stadion_host) in stadiond */
	uint16_t abi_major;  /* the ABI stadiond provides */
	uint16_t abi_minor;
	void *ctx;           /* pass back as the first argument of every call */

	/* [any] Log one line.  stadiond prefixes it with the plugin's kind and
	 * name; do not end FMT with a newline. */
	void (*log)(void *ctx, enum stadion_log_level level, const char *fmt,
	            ...) __attribute__((format(printf, 3, 4)));

	/* [any] Run fn(arg) on the loop thread soon, once.  The only way back
	 * from a thread the plugin owns.  Returns 0, or STADION_ENOMEM (fn will
	 * then not run). */
	int (*post)(void *ctx, stadion_post_fn *fn, void *arg);

	/* [loop] Call fn(arg) after delay_ms, then every interval_ms if that is
	 * not 0.  The timer belongs to the plugin until it calls timer_stop(),
	 * also after a one-shot timer has fired; stopping frees it.  NULL on
	 * failure. */
	struct stadion_timer *(*timer_start)(void *ctx, uint64_t delay_ms,
	                                     uint64_t interval_ms,
	                                     stadion_timer_fn *fn, void *arg);
	void (*timer_stop)(void *ctx, struct stadion_timer *timer);

	/* [loop] Call fn(fd, ready, arg) whenever fd is ready for any of
	 * EVENTS (STADION_FD_READ | STADION_FD_WRITE), until fd_unwatch().  The
	 * fd stays owned by the plugin; unwatch before closing it.  NULL on
	 * failure. */
	struct stadion_watch *(*fd_watch)(void *ctx, int fd, unsigned events,
	                                  stadion_fd_fn *fn, void *arg);
	void (*fd_unwatch)(void *ctx, struct stadion_watch *watch);

	/* [main, loop] Typed configuration accessors, usable from create() on.
	 * KEY is a dotted path into the
	 * plugin's "configuration" object ("tls.verify").  Each returns 0 and
	 * writes *value_r, STADION_ENOENT when the key is absent (or CONF is
	 * NULL), or STADION_EINVAL when the value has another type; *value_r
	 * is written only on success.  Strings are borrowed until destroy()
	 * returns. */
	int (*conf_str)(const struct stadion_conf *conf, const char *key,
	                const char **value_r);
	int (*conf_int)(const struct stadion_conf *conf, const char *key,
	                int64_t *value_r);
	int (*conf_double)(const struct stadion_conf *conf, const char *key,
	                   double *value_r);
	int (*conf_bool)(const struct stadion_conf *conf, const char *key,
	                 bool *value_r);
	int (*conf_array_len)(const struct stadion_conf *conf, const char *key,
	                      size_t *len_r);
	int (*conf_array_str)(const struct stadion_conf *conf, const char *key,
	                      size_t index, const char **value_r);

	/* [loop] GET REQ->path from REQ->address:port over HTTP/1.1 (TLS when
	 * REQ->tls) and call done(arg, status, error) exactly once, on the
	 * loop, never from inside http_get().  The call belongs to stadiond
	 * and is freed after done returns.  NULL, with done never called,
	 * when REQ is unusable (not a numeric address) or memory is short. */
	struct stadion_http_call *(*http_get)(void *ctx,
	                                      const struct stadion_http_get *req,
	                                      stadion_http_done_fn *done,
	                                      void *arg);
	/* [loop] Abandon CALL before its done ran: done is not called. */
	void (*http_cancel)(void *ctx, struct stadion_http_call *call);

	/* [loop] Start REQ->path with posix_spawn in its own process group,
	 * stdin, stdout and stderr on /dev/null, and call done(arg, code,
	 * error) exactly once when it has ended, on the loop, never from
	 * inside spawn().  The process belongs to stadiond, which reaps it.
	 * NULL, with done never called, when it cannot be started. */
	struct stadion_proc *(*spawn)(void *ctx, const struct stadion_spawn *req,
	                              stadion_spawn_done_fn *done, void *arg);
	/* [loop] Abandon PROC before its done ran: its process group is
	 * killed (SIGKILL) and reaped, and done is not called. */
	void (*spawn_cancel)(void *ctx, struct stadion_proc *proc);
	/* Later minors append here only. */
};

/* True when HOST's table covers MEMBER and provides it.  stadiond never loads
 * a plugin built for a newer minor than its own, so a 1.x plugin always finds
 * the members of its headers' minor; the test matters for services a host
 * may leave NULL (a test's mock host may lack http_get or spawn), and is the
 * idiom to use for them. */
#define STADION_HOST_HAS(host, member)                                     \
	(STADION_HAS_MEMBER(struct stadion_host, (host)->size, member) &&   \
	 (host)->member != NULL)

/*
 * Lifecycle, the same two members at the head of every kind's ops table:
 *
 * create(host, conf, state_r, err)    optional
 *   Set up the plugin.  HOST is borrowed until destroy() returns; CONF is the
 *   plugin's "configuration" from --plugin_conf, or NULL when there is none.
 *   On success write the plugin's state to *state_r (it is passed to every
 *   other callback) and return 0.  On failure fill ERR and return a negative
 *   code: the plugin is refused and destroy() is not called.
 *   Thread: main, before the loop starts.
 *
 * destroy(state)                      optional
 *   Free everything create() and later calls made.  Timers and watches still
 *   registered afterwards are freed by stadiond.
 *   Thread: main, after the loop has stopped.
 */
typedef int stadion_create_fn(const struct stadion_host *host,
                              const struct stadion_conf *conf, void **state_r,
                              struct stadion_err *err);
typedef void stadion_destroy_fn(void *state);

#ifdef __cplusplus
}
#endif

#endif /* STADION_PLUGIN_H */
