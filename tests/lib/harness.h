/*
 * harness: what the integration suites use to drive the real stadiond.
 *
 *   http_call()    a blocking HTTP/1.1 client (one request per connection)
 *   daemon_*()     start $STADIOND on a free loopback port with a fresh data
 *                  directory, wait until it answers /ping, stop it with a
 *                  signal and report its exit status; kill it and start it
 *                  again on the same data directory
 *   task_procs_*() the live processes of the daemon's tasks, found by their
 *                  working directory (the task's sandbox)
 *   daemon_json(), json_at(), wait_until()
 *                  JSON requests, JSON paths, polling with a deadline
 *
 * Everything reports what went wrong on stderr (next to CUnit's output), so
 * a test only has to assert the return values.  Nothing here can hang: every
 * network exchange and every wait for the daemon gives up after
 * HARNESS_TIMEOUT_S seconds.
 *
 * Environment:
 *   STADIOND        path of the daemon to run (set by make check)
 *   KEEP_TEST_DATA  when set (to anything), daemon_stop() and
 *                   daemon_run_to_exit() leave the data directory, with the
 *                   daemon's log in it, and say where it is
 * The daemon inherits the test's environment less every STADION_* and
 * MARATHON_* variable (they would change its flags), plus the EXTRA_ENV the
 * test passes.
 */
#ifndef STADION_TEST_HARNESS_H
#define STADION_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

/* How long one HTTP exchange, a start-up or a stop may take. */
#define HARNESS_TIMEOUT_S 10

/* ---- HTTP client ------------------------------------------------------ */

struct http_header {
	char *name;  /* as received */
	char *value; /* without surrounding blanks */
};

/* A response; owns all its strings.  Free with http_resp_free(). */
struct http_resp {
	int status;                  /* 200, 404, ... (never 1xx) */
	char *reason;                /* "OK" */
	struct http_header *headers; /* in order received */
	size_t n_headers;
	char *body;                  /* NUL-terminated (the NUL is not part of
	                                the body); "" when there is none */
	size_t body_len;
};

/* Send METHOD PATH to HOST:PORT with the extra HEADERS (NULL or a
 * NULL-terminated array of "Name: value") and BODY_LEN bytes of BODY (BODY
 * may be NULL when BODY_LEN is 0), and read the whole response into
 * *RESP_R.  The request always carries Host, Content-Length and
 * "Connection: close", unless HEADERS has its own of the same name.  With an
 * Expect header (100-continue), the body follows the server's interim
 * answer, or one second of silence, and is not sent at all when the server
 * answers for good first.  Interim 1xx responses are skipped; bodies framed
 * by Content-Length, chunked or by the end of the connection are all read.
 * Returns 0 when a complete response arrived (whatever its status), -1 on
 * error or after HARNESS_TIMEOUT_S seconds, having said why on stderr; on
 * -1 *RESP_R is left empty (http_resp_free() is still safe on it). */
int http_call(const char *host, uint16_t port, const char *method,
              const char *path, const char *const *headers, const char *body,
              size_t body_len, struct http_resp *resp_r);

/* Free what RESP owns and empty it; safe to call twice. */
void http_resp_free(struct http_resp *resp);

/* Value of the first header NAME (any case), or NULL.  Borrowed from RESP. */
const char *http_resp_header(const struct http_resp *resp, const char *name);

/* The body parsed as one JSON value, or NULL (with a message on stderr)
 * when it is not exactly that.  Owned by the caller: json_object_put(). */
struct json_object *http_resp_json(const struct http_resp *resp);

/* ---- The daemon ------------------------------------------------------- */

/* One stadiond started by daemon_start().  All fields are filled by the
 * harness and read-only to tests. */
struct daemon {
	pid_t pid;                 /* 0 when not running */
	uint16_t port;             /* its --http_port on 127.0.0.1 */
	char data_dir[PATH_MAX];   /* its --data_dir, a fresh mkdtemp() */
	char log_path[PATH_MAX];   /* <data_dir>/stadiond.log: its stdout and
	                              stderr */
};

/* Start $STADIOND with
 *   --http_address 127.0.0.1 --http_port <free port> --data_dir <new dir>
 *   --system_plugin_dir $BUNDLED_PLUGINS (the bundled plugins, the store
 *                        among them, as make check copies them)
 * followed by EXTRA_ARGS (NULL or NULL-terminated; later flags win, so they
 * may override these), and wait until GET /ping answers 200.
 * daemon_start_env() also puts EXTRA_ENV (NULL or a NULL-terminated array of
 * "NAME=value") into the daemon's environment.
 * Returns 0 with the daemon running, or -1 (it is then not running, its log
 * was copied to stderr and its directory removed). */
int daemon_start(struct daemon *d, const char *const *extra_args);
int daemon_start_env(struct daemon *d, const char *const *extra_args,
                     const char *const *extra_env);

/* Send SIGTERM (daemon_stop) or SIG and wait for the daemon to exit; after
 * HARNESS_TIMEOUT_S seconds kill it with SIGKILL.  Then kill what is left
 * of its tasks (daemon_kill_tasks(): tasks outlive the daemon by design)
 * and remove its data directory (see KEEP_TEST_DATA); read its log
 * before.
 * Returns its exit status (0 after a graceful stop; 128+N when signal N
 * killed it), or -1 when it was not running or had to be killed.  Any
 * status but 0 also copies its log to stderr.  Safe on a stopped daemon. */
int daemon_stop(struct daemon *d);
int daemon_stop_with(struct daemon *d, int sig);

/* Send SIG to the daemon and wait for it to exit, as daemon_stop_with(),
 * but keep its data directory and its tasks, for daemon_restart().  Its
 * log is shown only when it exited otherwise than by SIG.  Returns its
 * exit status (128+SIG when SIG killed it), -1 when it was not running or
 * had to be killed. */
int daemon_kill(struct daemon *d, int sig);

/* Start $STADIOND again on D's data directory (after daemon_kill()), with
 * the same leading flags and EXTRA_ARGS / EXTRA_ENV as daemon_start_env()
 * (pass the same ones again: nothing is remembered), on D's port when it
 * is still free and on another otherwise (D->port says which), and wait
 * until it answers /ping.  Its output is appended to the same log after a marker
 * line.  Returns 0 with the daemon running; -1 (with its log on stderr)
 * when it did not start: D keeps its data directory, and daemon_stop()
 * removes it. */
int daemon_restart(struct daemon *d, const char *const *extra_args);
int daemon_restart_env(struct daemon *d, const char *const *extra_args,
                       const char *const *extra_env);

/* Convenience: http_call() to D (127.0.0.1:D->port) with BODY, a string or
 * NULL. */
int daemon_call(const struct daemon *d, const char *method, const char *path,
                const char *const *headers, const char *body,
                struct http_resp *resp_r);

/* The daemon's output so far, NUL-terminated; NULL if it cannot be read.
 * Owned by the caller: free(). */
char *daemon_log(const struct daemon *d);
/* Whether the daemon's output so far contains NEEDLE. */
bool daemon_log_contains(const struct daemon *d, const char *needle);

/* For daemons expected to refuse to start: run $STADIOND with the same
 * leading flags as daemon_start() and then ARGS (so the port and data
 * directory are harmless even if it does start), wait for it to exit (at
 * most HARNESS_TIMEOUT_S seconds, then SIGKILL) and remove its directory.
 * On 0, *STATUS_R is its exit status (128+N for signal N) and *LOG_R (if
 * LOG_R is not NULL) its whole stdout+stderr, owned by the caller: free().
 * Returns -1, with a message on stderr, when it could not be run or did not
 * exit in time. */
int daemon_run_to_exit(const char *const *args, int *status_r, char **log_r);
int daemon_run_to_exit_env(const char *const *args,
                           const char *const *extra_env, int *status_r,
                           char **log_r);

/* ---- Task processes --------------------------------------------------- */

/* One task's processes, as the kernel sees them: a process group whose
 * processes work in <data_dir>/sandboxes/<task id> (the local driver starts
 * every task there, in a group of its own, and its children inherit both).
 * Zombies are dead and left out. */
struct task_proc {
	pid_t pgid;           /* the task's process group */
	size_t n_procs;       /* its live processes */
	bool leader;          /* whether the process the driver started (the
	                         group leader) is among them */
	char task_id[256];    /* the sandbox's name: the task id */
	char version[64];     /* MARATHON_APP_VERSION in the environment of
	                         one of them, "" when none has it (a docker
	                         CLI gets the daemon's environment) */
};

/* The task process groups of D now, one entry per group, into *PROCS_R
 * (free()) and *N_R.  Two entries with the same task id are a doubled
 * task.  -1 (with a message) when /proc or D's directory cannot be read. */
int task_procs_list(const struct daemon *d, struct task_proc **procs_r,
                    size_t *n_r);
/* How many task process groups run, of VERSION (MARATHON_APP_VERSION)
 * or, with NULL, of any; -1 on error. */
int task_procs_count(const struct daemon *d, const char *version);
/* SIGKILL every task process group of D and wait (at most
 * HARNESS_TIMEOUT_S) until none is left.  Returns how many groups were
 * killed, -1 when some remain.  daemon_stop() does it too. */
int daemon_kill_tasks(struct daemon *d);

/* ---- JSON and polling ------------------------------------------------- */

/* METHOD PATH on D with BODY (JSON text or NULL; sent with Content-Type
 * application/json).  Returns the status (-1 when no complete answer
 * came) and, when JSON_R is not NULL, the body parsed into *JSON_R (NULL
 * when empty or not JSON; the caller's: json_object_put()). */
int daemon_json(const struct daemon *d, const char *method, const char *path,
                const char *body, struct json_object **json_r);
/* GET PATH: the body when the answer is 200 and JSON, else NULL with a
 * message on stderr.  The caller's: json_object_put(). */
struct json_object *daemon_get_json(const struct daemon *d, const char *path);
/* GET /v2/apps/ID's "app" (ID absolute, with its leading slash), NULL
 * when there is none; quiet, as the polls that wait for an app to appear or
 * go expect a 404.  The caller's: json_object_put(). */
struct json_object *daemon_get_app(const struct daemon *d, const char *id);

/* The value at PATH in O, borrowed: keys and array indexes separated by
 * dots ("app.tasks.0.id"); NULL when anything on the way is missing or
 * null.  json_str_at() is NULL unless it is a string; json_int_at() DFLT
 * unless it is a number. */
struct json_object *json_at(struct json_object *o, const char *path);
const char *json_str_at(struct json_object *o, const char *path);
long long json_int_at(struct json_object *o, const char *path,
                      long long dflt);

/* How often wait_until() asks. */
#define WAIT_POLL_MS 20

/* Call COND(ARG) every WAIT_POLL_MS until it returns true (then true) or
 * TIMEOUT_MS have passed (then false, after a last call). */
bool wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Poll GET PATH on D until it answers STATUS (true) or TIMEOUT_MS have
 * passed (false): a DELETE is done when the resource answers 404. */
bool daemon_wait_status(const struct daemon *d, const char *path, int status,
                        int timeout_ms);

/* Sleep MS milliseconds (EINTR resumed); the monotonic clock in ms. */
void harness_sleep_ms(long ms);
int64_t harness_now_ms(void);

#endif /* STADION_TEST_HARNESS_H */
