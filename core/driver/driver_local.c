#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "driver/driver_local.h"
#include "fsutil.h"
#include "spawnutil.h"
#include "log.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

#define DEFAULT_PORTS "31000-32000"
#define DEFAULT_SIM_DELAY_MS 10
#define PORT_MAX 65535u
#define EPS 1e-9

/* The process behind a real task. */
struct proc {
	pid_t pid;               /* also the process group */
	uint64_t start_ticks;
	int pidfd;
	struct event *watch;     /* pidfd readable: the task exited */
	struct event *kill_timer;/* SIGKILL after the grace period */
	int64_t grace_ms;
	char *sandbox;
};

struct agent_state;
struct driver_local;

/* Kept small: simulated benchmarks hold 100k of these. */
struct task {
	struct task *hnext;      /* hash chain */
	struct task *sim_prev, *sim_next; /* simulated tasks still STAGING */
	uint64_t sim_due_ms;
	struct agent_state *agent;
	struct proc *proc;       /* NULL for simulated tasks */
	uint32_t *ports;
	uint32_t n_ports;
	uint8_t state;           /* enum driver_task_state */
	bool kill_requested;
	double cpus, mem, disk;
	char id[];
};

struct agent_state {
	struct driver_agent *agent;  /* in local->agents */
	struct driver_local *owner;
	double cpus_used, mem_used, disk_used;
	uint8_t port_used[(PORT_MAX + 1) / 8];
};

/* A status report waiting for the loop. */
struct pending {
	struct pending *next;
	const char *agent_id;    /* borrowed from the agent */
	enum driver_task_state state;
	int exit_status, term_signal;
	double timestamp;
	char *message;
	char task_id[];
};

struct driver_local {
	struct driver d;         /* first: the vtable's view */
	struct event_base *base; /* borrowed */
	char *data_dir;
	struct driver_agent *agents;
	struct agent_state *astate;
	size_t n_agents;
	struct task **tab;       /* hash by id, chained */
	size_t mask, n_tasks;
	struct event *deliver_ev;
	struct pending *q_head, *q_tail;
	struct event *sim_timer;
	struct task *sim_head, *sim_tail;
	uint32_t sim_delay_ms;
};

static const struct driver_ops local_ops;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static double now_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timeval ms_to_tv(uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

static const char *signal_name(int sig, char *buf, size_t len)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
		{SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
		{SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
		{SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
		{SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
		{SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* ---- tasks by id ------------------------------------------------------ */

static size_t hash_id(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct task *task_find(struct driver_local *l, const char *id)
{
	struct task *t = l->tab[hash_id(id) & l->mask];

	while (t != NULL && strcmp(t->id, id) != 0)
		t = t->hnext;
	return t;
}

/* Doubling keeps chains short: O(1) amortized. */
static int task_insert(struct driver_local *l, struct task *t)
{
	size_t h;

	if (l->n_tasks + 1 > l->mask + 1) {
		size_t nmask = l->mask * 2 + 1;
		struct task **ntab = calloc(nmask + 1, sizeof(*ntab));

		if (ntab == NULL)
			return -1;
		for (size_t i = 0; i <= l->mask; i++) {
			struct task *next;

			for (struct task *u = l->tab[i]; u != NULL; u = next) {
				next = u->hnext;
				h = hash_id(u->id) & nmask;
				u->hnext = ntab[h];
				ntab[h] = u;
			}
		}
		free(l->tab);
		l->tab = ntab;
		l->mask = nmask;
	}
	h = hash_id(t->id) & l->mask;
	t->hnext = l->tab[h];
	l->tab[h] = t;
	l->n_tasks++;
	return 0;
}

static void task_unlink(struct driver_local *l, struct task *t)
{
	struct task **pp = &l->tab[hash_id(t->id) & l->mask];

	while (*pp != NULL && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp != NULL) {
		*pp = t->hnext;
		l->n_tasks--;
	}
}

/* ---- status reports --------------------------------------------------- */

static void deliver(evutil_socket_t fd, short what, void *arg)
{
	struct driver_local *l = arg;
	struct pending *p, *next;

	(void)fd;
	(void)what;
	/* Detach first: callbacks may launch or kill, which queues more. */
	p = l->q_head;
	l->q_head = l->q_tail = NULL;
	for (; p != NULL; p = next) {
		struct driver_status st = {
			.task_id = p->task_id,
			.agent_id = p->agent_id,
			.state = p->state,
			.message = p->message,
			.exit_status = p->exit_status,
			.term_signal = p->term_signal,
			.timestamp = p->timestamp,
		};

		next = p->next;
		if (l->d.status_fn != NULL)
			l->d.status_fn(&st, l->d.status_arg);
		free(p->message);
		free(p);
	}
}

/* Queue a report on T's state.  Out of memory drops the report (logged):
 * reconciliation will tell the scheduler again. */
static void report(struct driver_local *l, struct task *t,
                   enum driver_task_state state, int exit_status,
                   int term_signal, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void report(struct driver_local *l, struct task *t,
                   enum driver_task_state state, int exit_status,
                   int term_signal, const char *fmt, ...)
{
	size_t idlen = strlen(t->id);
	struct pending *p = malloc(sizeof(*p) + idlen + 1);
	va_list ap;

	if (p == NULL) {
		log_error("driver local: out of memory reporting %s for %s",
		          driver_task_state_name(state), t->id);
		return;
	}
	memcpy(p->task_id, t->id, idlen + 1);
	p->next = NULL;
	p->agent_id = t->agent->agent->id;
	p->state = state;
	p->exit_status = exit_status;
	p->term_signal = term_signal;
	p->timestamp = now_epoch();
	p->message = NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&p->message, fmt, ap) < 0)
			p->message = NULL;
		va_end(ap);
	}
	if (l->q_tail != NULL)
		l->q_tail->next = p;
	else
		l->q_head = p;
	l->q_tail = p;
	event_active(l->deliver_ev, 0, 1);
}

/* ---- resources -------------------------------------------------------- */

static bool port_in_ranges(const struct driver_agent *a, uint32_t port)
{
	for (size_t i = 0; i < a->n_ports; i++)
		if (port >= a->ports[i].begin && port <= a->ports[i].end)
			return true;
	return false;
}

static bool port_used(const struct agent_state *as, uint32_t port)
{
	return (as->port_used[port / 8] >> (port % 8)) & 1;
}

static void port_mark(struct agent_state *as, uint32_t port, bool used)
{
	if (used)
		as->port_used[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		as->port_used[port / 8] &= (uint8_t)~(1u << (port % 8));
}

static struct agent_state *agent_find(struct driver_local *l, const char *id)
{
	if (id == NULL)
		return l->n_agents > 0 ? &l->astate[0] : NULL;
	for (size_t i = 0; i < l->n_agents; i++)
		if (strcmp(l->agents[i].id, id) == 0)
			return &l->astate[i];
	return NULL;
}

/* Whether SPEC can run: a usable id, a known agent, free resources.  An
 * ADOPTED task runs already, whatever the agent has left (its resources may
 * have changed with the agents file): only its id and ports must not clash
 * with another task's. */
static int spec_check(struct driver_local *l, const struct driver_task_spec *s,
                      bool adopted, struct agent_state **as_r, char *err,
                      size_t errlen)
{
	struct agent_state *as;
	const struct driver_agent *a;

	if (s->task_id == NULL || s->task_id[0] == '\0' ||
	    strchr(s->task_id, '/') != NULL || strcmp(s->task_id, ".") == 0 ||
	    strcmp(s->task_id, "..") == 0) {
		set_err(err, errlen, "invalid task id \"%s\": it names the "
		        "task's sandbox directory, so it must be non-empty, "
		        "without '/', and not . or ..",
		        s->task_id != NULL ? s->task_id : "");
		goto einval;
	}
	if (task_find(l, s->task_id) != NULL) {
		set_err(err, errlen, "task %s is already known to the local "
		        "driver", s->task_id);
		errno = EEXIST;
		return -1;
	}
	if ((as = agent_find(l, s->agent_id)) == NULL) {
		set_err(err, errlen, "task %s: no agent \"%s\"", s->task_id,
		        s->agent_id != NULL ? s->agent_id : "(any)");
		goto einval;
	}
	a = as->agent;
	if (s->cpus < 0 || s->mem < 0 || s->disk < 0) {
		set_err(err, errlen, "task %s: negative resources", s->task_id);
		goto einval;
	}
#define FITS(res)                                                           \
	if (!adopted && as->res##_used + s->res > a->res + EPS) {           \
		set_err(err, errlen, "task %s: agent %s has %g " #res       \
		        " free, the task needs %g", s->task_id, a->id,      \
		        a->res - as->res##_used, s->res);                   \
		goto einval;                                                \
	}
	FITS(cpus)
	FITS(mem)
	FITS(disk)
#undef FITS
	for (size_t i = 0; i < s->n_ports; i++) {
		uint32_t p = s->ports[i];
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup = dup || s->ports[j] == p;
		if (p > PORT_MAX || (!adopted && !port_in_ranges(a, p))) {
			set_err(err, errlen, "task %s: port %u is not in agent "
			        "%s's port ranges", s->task_id, p, a->id);
			goto einval;
		}
		if (dup || port_used(as, p)) {
			set_err(err, errlen, "task %s: port %u on agent %s is "
			        "already in use", s->task_id, p, a->id);
			goto einval;
		}
	}
	*as_r = as;
	return 0;
einval:
	errno = EINVAL;
	return -1;
}

/* A task holding SPEC's resources on AS, in the table; NULL without
 * memory. */
static struct task *task_new(struct driver_local *l, struct agent_state *as,
                             const struct driver_task_spec *s)
{
	size_t idlen = strlen(s->task_id);
	struct task *t = calloc(1, sizeof(*t) + idlen + 1);

	if (t == NULL)
		return NULL;
	memcpy(t->id, s->task_id, idlen + 1);
	if (s->n_ports > 0) {
		t->ports = malloc(s->n_ports * sizeof(*t->ports));
		if (t->ports == NULL)
			goto free_task;
		memcpy(t->ports, s->ports, s->n_ports * sizeof(*t->ports));
		t->n_ports = (uint32_t)s->n_ports;
	}
	if (task_insert(l, t) != 0)
		goto free_ports;
	t->agent = as;
	t->state = DRIVER_TASK_STAGING;
	t->cpus = s->cpus;
	t->mem = s->mem;
	t->disk = s->disk;
	as->cpus_used += t->cpus;
	as->mem_used += t->mem;
	as->disk_used += t->disk;
	for (uint32_t i = 0; i < t->n_ports; i++)
		port_mark(as, t->ports[i], true);
	return t;
free_ports:
	free(t->ports);
free_task:
	free(t);
	return NULL;
}

static void proc_free(struct proc *p)
{
	if (p == NULL)
		return;
	if (p->watch != NULL)
		event_free(p->watch);
	if (p->kill_timer != NULL)
		event_free(p->kill_timer);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->sandbox);
	free(p);
}

static void sim_unqueue(struct driver_local *l, struct task *t)
{
	if (t->sim_prev != NULL)
		t->sim_prev->sim_next = t->sim_next;
	else if (l->sim_head == t)
		l->sim_head = t->sim_next;
	else
		return; /* not queued */
	if (t->sim_next != NULL)
		t->sim_next->sim_prev = t->sim_prev;
	else
		l->sim_tail = t->sim_prev;
	t->sim_prev = t->sim_next = NULL;
}

/* Free T without reporting anything (the driver is going away). */
static void task_free(struct task *t)
{
	proc_free(t->proc);
	free(t->ports);
	free(t);
}

/* T reached a terminal state (already reported): give its resources back
 * and forget it. */
static void task_end(struct driver_local *l, struct task *t)
{
	struct agent_state *as = t->agent;

	sim_unqueue(l, t);
	task_unlink(l, t);
	as->cpus_used -= t->cpus;
	as->mem_used -= t->mem;
	as->disk_used -= t->disk;
	for (uint32_t i = 0; i < t->n_ports; i++)
		port_mark(as, t->ports[i], false);
	task_free(t);
}

/* Report a terminal STATE and forget T. */
#define task_finish(l, t, state, status, sig, ...)                          \
	do {                                                                \
		report((l), (t), (state), (status), (sig), __VA_ARGS__);    \
		task_end((l), (t));                                         \
	} while (0)

/* ---- processes -------------------------------------------------------- */

uint64_t driver_local_start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ticks = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': count fields
	 * from the last ')', which ends it.  Field 3 follows it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 22) {
			ticks = strtoull(p, NULL, 10);
			break;
		}
		while (*p != ' ' && *p != '\0')
			p++;
	}
	return ticks;
}

int driver_local_which(const char *name, char *buf, size_t buflen)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (strchr(name, '/') != NULL) {
		if (access(name, X_OK) != 0)
			return -1;
		snprintf(buf, buflen, "%s", name);
		return 0;
	}
	if (path == NULL)
		return -1;
	for (p = path; ; p = end + 1) {
		struct stat st;
		int len;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		/* An empty element means the current directory. */
		len = snprintf(buf, buflen, "%.*s%s%s", (int)(end - p), p,
		               end == p ? "" : "/", name);
		if (len > 0 && (size_t)len < buflen && stat(buf, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		if (*end == '\0')
			return -1;
	}
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* SIG to P's process group; to P alone (through its pidfd, which cannot
 * hit a reused pid) when it leads no group, as an adopted process that
 * called setpgid itself may not. */
static void proc_signal(struct proc *p, int sig)
{
	if (killpg(p->pid, sig) != 0 && errno == ESRCH && p->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
}

static void kill_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;

	(void)fd;
	(void)what;
	log_info("driver local: task %s outlived its %lld ms grace period, "
	         "sending SIGKILL to its process group", t->id,
	         (long long)t->proc->grace_ms);
	proc_signal(t->proc, SIGKILL);
}

static void proc_exited(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;
	struct driver_local *l = t->agent->owner;
	struct proc *p = t->proc;
	bool killed = t->kill_requested;
	siginfo_t si;
	char sbuf[32];
	const char *sig;

	(void)fd;
	(void)what;
	/* The leader is a zombie until reaped, so its group id cannot be
	 * reused yet: kill what it left behind in its group now.  The task
	 * is the whole group, as a Mesos container is.  (An adopted leader
	 * may already have been reaped by its new parent; then the group id
	 * stays taken as long as a member lives, and with no member left the
	 * signal finds nobody unless the number was reused within these
	 * microseconds.) */
	killpg(p->pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) != 0 ||
	    si.si_pid == 0) {
		/* Not our child (adopted after a restart): how it ended is
		 * known only to its new parent. */
		if (killed)
			task_finish(l, t, DRIVER_TASK_KILLED, -1, 0,
			            "killed on request (exit status unknown: "
			            "not a child of this stadiond)");
		else
			task_finish(l, t, DRIVER_TASK_LOST, -1, 0,
			            "the process exited after adoption; its "
			            "exit status is unknown (not a child of "
			            "this stadiond)");
		return;
	}
	if (si.si_code == CLD_EXITED) {
		if (killed)
			task_finish(l, t, DRIVER_TASK_KILLED, si.si_status, 0,
			            "killed on request; exited with status %d",
			            si.si_status);
		else if (si.si_status == 0)
			task_finish(l, t, DRIVER_TASK_FINISHED, 0, 0,
			            "exited with status 0");
		else
			task_finish(l, t, DRIVER_TASK_FAILED, si.si_status, 0,
			            "exited with status %d", si.si_status);
		return;
	}
	sig = signal_name(si.si_status, sbuf, sizeof(sbuf));
	if (killed)
		task_finish(l, t, DRIVER_TASK_KILLED, -1, si.si_status,
		            "killed by signal %s", sig);
	else
		task_finish(l, t, DRIVER_TASK_FAILED, -1, si.si_status,
		            "killed by signal %s%s", sig,
		            si.si_code == CLD_DUMPED ? " (core dumped)" : "");
}

/* Watch P's pidfd on the loop; 0 or -1. */
static int proc_watch(struct driver_local *l, struct task *t)
{
	struct proc *p = t->proc;

	p->watch = event_new(l->base, p->pidfd, EV_READ, proc_exited, t);
	p->kill_timer = evtimer_new(l->base, kill_timeout, t);
	if (p->watch == NULL || p->kill_timer == NULL ||
	    event_add(p->watch, NULL) != 0)
		return -1;
	return 0;
}

static char *sandbox_path(struct driver_local *l, const char *task_id)
{
	char *path;

	if (asprintf(&path, "%s/sandboxes/%s", l->data_dir, task_id) < 0)
		return NULL;
	return path;
}

/* ---- launch records --------------------------------------------------- */

/* SANDBOX/NAME into BUF; 0, or -1 with errno ENAMETOOLONG. */
static int sandbox_file(char *buf, size_t len, const char *sandbox,
                        const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", sandbox, name) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The launch record, SANDBOX/launch:
 *   <pid> <start ticks>\n
 *   agent <agent id>\n
 *   ports[ <port>...]\n
 * The first line ties the process to its task; the others let a stadiond
 * that finds the task with only its scheduled instance stored adopt it on
 * its agent with its ports (driver_find_launch). */
#define LAUNCH_FILE_MAX 2048

/* Write the launch record of T to SANDBOX/launch.  Through a temporary
 * file and rename(), so that the next stadiond reads the whole record or
 * none.  No fsync: the record is for a stadiond that dies, not for a host
 * that does (a reboot ends the task too), and this is on the launch path.
 * 0, or -1 with errno set. */
static int launch_file_write(const char *sandbox, pid_t pid, uint64_t ticks,
                             const struct task *t)
{
	char tmp[PATH_MAX], path[PATH_MAX], buf[LAUNCH_FILE_MAX];
	ssize_t n;
	int fd, len, e;

	if (sandbox_file(tmp, sizeof(tmp), sandbox, "launch.tmp") != 0 ||
	    sandbox_file(path, sizeof(path), sandbox, "launch") != 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d %llu\nagent %s\nports", (int)pid,
	               (unsigned long long)ticks, t->agent->agent->id);
	for (uint32_t i = 0; i < t->n_ports && len < (int)sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, " %u",
		                t->ports[i]);
	if (len < (int)sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "\n");
	if (len >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	          0644);
	if (fd < 0)
		return -1;
	if ((n = write(fd, buf, (size_t)len)) != len) {
		if (n >= 0)
			errno = ENOSPC; /* a short write to a new file */
		goto close_tmp;
	}
	if (close(fd) != 0)
		goto unlink_tmp;
	if (rename(tmp, path) != 0)
		goto unlink_tmp;
	return 0;
close_tmp:
	e = errno;
	close(fd);
	errno = e;
unlink_tmp:
	e = errno;
	unlink(tmp);
	errno = e;
	return -1;
}

/* SANDBOX/launch into *PID_R and *TICKS_R, and when FOUND_R is not NULL
 * everything into it: 0, or -1 with errno (ENOENT: there is none; EINVAL:
 * not a launch record).  Strict, since the sweep kills what a record
 * names: a start time of 0 (unknown) matches a process whose /proc entry
 * cannot be read, so it is refused.  A record of the first line only (an
 * older stadiond's) has no agent. */
static int launch_file_read_all(const char *sandbox, pid_t *pid_r,
                                uint64_t *ticks_r,
                                struct driver_found_launch *found_r)
{
	char path[PATH_MAX], buf[LAUNCH_FILE_MAX], *p, *end;
	unsigned long long ticks;
	long long pid;
	ssize_t n;
	int fd, e;

	if (sandbox_file(path, sizeof(path), sandbox, "launch") != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	p = buf;
	if (!isdigit((unsigned char)*p))
		goto einval;
	pid = strtoll(p, &end, 10);
	if (*end != ' ' || pid <= 0 || pid > INT_MAX)
		goto einval;
	p = end + 1;
	if (!isdigit((unsigned char)*p))
		goto einval;
	errno = 0;
	ticks = strtoull(p, &end, 10);
	if (errno != 0 || ticks == 0 || *end != '\n')
		goto einval;
	p = end + 1;
	if (found_r != NULL) {
		size_t len;

		memset(found_r, 0, sizeof(*found_r));
		if (strncmp(p, "agent ", 6) == 0) {
			p += 6;
			len = strcspn(p, "\n");
			if (p[len] != '\n' || len == 0 ||
			    len >= sizeof(found_r->agent_id))
				goto einval;
			memcpy(found_r->agent_id, p, len);
			p += len + 1;
			if (strncmp(p, "ports", 5) != 0)
				goto einval;
			p += 5;
			while (*p == ' ') {
				unsigned long port = strtoul(p + 1, &end, 10);

				if (end == p + 1 || port == 0 || port > 65535 ||
				    found_r->n_ports >= DRIVER_FOUND_MAX_PORTS)
					goto einval;
				found_r->ports[found_r->n_ports++] =
					(uint32_t)port;
				p = end;
			}
			if (strcmp(p, "\n") != 0)
				goto einval;
		} else if (*p != '\0') {
			goto einval;
		}
		found_r->pid = (pid_t)pid;
		found_r->start_ticks = ticks;
	}
	*pid_r = (pid_t)pid;
	*ticks_r = ticks;
	return 0;
einval:
	errno = EINVAL;
	return -1;
}

static int launch_file_read(const char *sandbox, pid_t *pid_r,
                            uint64_t *ticks_r)
{
	return launch_file_read_all(sandbox, pid_r, ticks_r, NULL);
}

/* Start ARGV (PATH is argv[0] resolved, or NULL to search $PATH) in
 * SANDBOX as a new process group.  Returns 0 or an errno value. */
static int spawn_in(const char *sandbox, const char *path, char *const argv[],
                    char *const envp[], pid_t *pid_r)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char out[PATH_MAX], errf[PATH_MAX];
	int rc;

	if ((size_t)snprintf(out, sizeof(out), "%s/stdout", sandbox) >=
	        sizeof(out) ||
	    (size_t)snprintf(errf, sizeof(errf), "%s/stderr", sandbox) >=
	        sizeof(errf))
		return ENAMETOOLONG;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	/* Own process group: killed as a whole, and out of the daemon's
	 * (a ^C to the daemon's group does not reach it). */
	if ((rc = spawnutil_attr_init(&attr)) != 0)
		goto destroy_fa;
	/* Files, not pipes: nothing breaks when the daemon goes away. */
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	                                           O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 1, out,
	              O_WRONLY | O_CREAT | O_APPEND, 0644)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 2, errf,
	              O_WRONLY | O_CREAT | O_APPEND, 0644)) != 0 ||
	    (rc = posix_spawn_file_actions_addchdir_np(&fa, sandbox)) != 0)
		goto destroy_attr;
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
	/* Belt and braces: the daemon's descriptors are close-on-exec, but
	 * a library's might not be. */
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto destroy_attr;
#endif
	if (path != NULL)
		rc = posix_spawn(pid_r, path, &fa, &attr, argv, envp);
	else
		rc = posix_spawnp(pid_r, argv[0], &fa, &attr, argv, envp);
destroy_attr:
	posix_spawnattr_destroy(&attr);
destroy_fa:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* ---- docker ------------------------------------------------------------ */

struct argv_buf {
	char **v;
	size_t n, cap;
	bool oom;
};

static void argv_add(struct argv_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void argv_add(struct argv_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (b->oom)
		return;
	if (b->n + 2 > b->cap) {
		size_t ncap = b->cap == 0 ? 32 : b->cap * 2;
		char **nv = realloc(b->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			b->oom = true;
			return;
		}
		b->v = nv;
		b->cap = ncap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		b->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (s == NULL)
		return;
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

void driver_local_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

char **driver_local_docker_argv(const char *docker,
                                const struct driver_task_spec *spec)
{
	const struct driver_docker *dk = spec->docker;
	struct argv_buf b = {0};
	bool host_net = false;

	argv_add(&b, "%s", docker);
	argv_add(&b, "run");
	argv_add(&b, "--rm");
	argv_add(&b, "--name");
	argv_add(&b, "%s", spec->task_id);
	if (dk->network != NULL && dk->network[0] != '\0' &&
	    strcasecmp(dk->network, "USER") != 0) {
		host_net = strcasecmp(dk->network, "HOST") == 0;
		argv_add(&b, "--network=%s", dk->network);
		if (!b.oom)
			lower(b.v[b.n - 1] + strlen("--network="));
	}
	if (dk->force_pull)
		argv_add(&b, "--pull=always");
	if (dk->privileged)
		argv_add(&b, "--privileged");
	/* With host networking the container uses the host's ports
	 * directly; docker refuses -p there. */
	for (size_t i = 0; !host_net && i < dk->n_port_mappings; i++) {
		const struct driver_docker_port *pm = &dk->port_mappings[i];
		const char *proto = pm->protocol != NULL ? pm->protocol : "tcp";

		if (pm->host_port == 0)
			continue;
		/* "tcp,udp" publishes both. */
		for (const char *p = proto; *p != '\0';) {
			size_t len = strcspn(p, ",");

			argv_add(&b, "-p");
			argv_add(&b, "%u:%u/%.*s", pm->host_port,
			         pm->container_port, (int)len, p);
			p += len;
			if (*p == ',')
				p++;
		}
	}
	for (const char *const *e = spec->env; e != NULL && *e != NULL; e++) {
		argv_add(&b, "-e");
		argv_add(&b, "%s", *e);
	}
	for (size_t i = 0; i < dk->n_labels; i++) {
		argv_add(&b, "--label");
		argv_add(&b, "%s=%s", dk->labels[i].key, dk->labels[i].value);
	}
	for (size_t i = 0; i < dk->n_parameters; i++)
		argv_add(&b, "--%s=%s", dk->parameters[i].key,
		         dk->parameters[i].value);
	/* As Mesos does for a shell command: the image's entrypoint would
	 * otherwise receive "/bin/sh -c cmd" as arguments. */
	if (spec->argv == NULL && spec->shell != NULL) {
		argv_add(&b, "--entrypoint");
		argv_add(&b, "/bin/sh");
	}
	argv_add(&b, "%s", dk->image != NULL ? dk->image : "");
	if (spec->argv != NULL) {
		for (const char *const *a = spec->argv; *a != NULL; a++)
			argv_add(&b, "%s", *a);
	} else if (spec->shell != NULL) {
		argv_add(&b, "-c");
		argv_add(&b, "%s", spec->shell);
	}
	if (b.oom) {
		driver_local_argv_free(b.v);
		return NULL;
	}
	return b.v;
}

/* ---- launch, kill, adopt ---------------------------------------------- */

static void sim_arm(struct driver_local *l)
{
	uint64_t now = now_mono_ms();
	struct timeval tv;

	if (l->sim_head == NULL || evtimer_pending(l->sim_timer, NULL))
		return;
	tv = ms_to_tv(l->sim_head->sim_due_ms > now ?
	              l->sim_head->sim_due_ms - now : 0);
	evtimer_add(l->sim_timer, &tv);
}

/* Every simulated task has the same delay, so the queue is in due order:
 * one timer for all of them. */
static void sim_fire(evutil_socket_t fd, short what, void *arg)
{
	struct driver_local *l = arg;
	uint64_t now = now_mono_ms();
	struct task *t;

	(void)fd;
	(void)what;
	while ((t = l->sim_head) != NULL && t->sim_due_ms <= now) {
		sim_unqueue(l, t);
		t->state = DRIVER_TASK_RUNNING;
		report(l, t, DRIVER_TASK_RUNNING, -1, 0, NULL);
	}
	sim_arm(l);
}

static void sim_queue(struct driver_local *l, struct task *t)
{
	t->sim_due_ms = now_mono_ms() + l->sim_delay_ms;
	t->sim_prev = l->sim_tail;
	t->sim_next = NULL;
	if (l->sim_tail != NULL)
		l->sim_tail->sim_next = t;
	else
		l->sim_head = t;
	l->sim_tail = t;
	sim_arm(l);
}

/* Kill and reap P, just spawned (our child) and not to be kept. */
static void proc_abandon(struct proc *p)
{
	killpg(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
}

/* Spawn T (already STAGING) from SPEC; every failure ends T with a
 * report. */
static void real_start(struct driver_local *l, struct task *t,
                       const struct driver_task_spec *s)
{
	char docker[PATH_MAX];
	char **dargv = NULL;
	const char *sh_argv[] = {"/bin/sh", "-c", s->shell, NULL};
	const char *const *argv = s->argv != NULL ? s->argv : sh_argv;
	const char *path = s->argv != NULL ? NULL : "/bin/sh";
	char *const *envp = (char *const *)s->env;
	static char *const no_env[] = {NULL};
	struct proc *p;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	t->proc = p;
	p->pidfd = -1;
	p->grace_ms = s->kill_grace_ms > 0 ? s->kill_grace_ms :
	              DRIVER_DEFAULT_GRACE_MS;
	if ((p->sandbox = sandbox_path(l, t->id)) == NULL)
		goto oom;
	if (fsutil_mkdir_p(p->sandbox, 0755) != 0) {
		task_finish(l, t, DRIVER_TASK_FAILED, -1, 0,
		            "cannot create the sandbox %s: %s", p->sandbox,
		            strerror(errno));
		return;
	}
	if (s->docker != NULL) {
		if (driver_local_which("docker", docker, sizeof(docker)) != 0) {
			task_finish(l, t, DRIVER_TASK_FAILED, -1, 0, "%s",
			            DRIVER_LOCAL_NO_DOCKER);
			return;
		}
		if ((dargv = driver_local_docker_argv(docker, s)) == NULL)
			goto oom;
		argv = (const char *const *)dargv;
		path = docker;
		/* The docker client needs the daemon's environment (DOCKER_HOST,
		 * HOME); the task's goes in with -e. */
		envp = environ;
	} else if (s->argv == NULL && s->shell == NULL) {
		task_finish(l, t, DRIVER_TASK_ERROR, -1, 0,
		            "neither a command nor arguments to run");
		return;
	}
	if (envp == NULL)
		envp = no_env;
	rc = spawn_in(p->sandbox, path, (char *const *)argv, envp, &p->pid);
	driver_local_argv_free(dargv);
	if (rc != 0) {
		task_finish(l, t, DRIVER_TASK_FAILED, -1, 0,
		            "cannot start %s: %s", argv[0], strerror(rc));
		return;
	}
	p->start_ticks = driver_local_start_ticks(p->pid);
	/* At once, before anything else can fail or take time: until the
	 * scheduler has stored the pid, this file is all that ties the
	 * process to its task (see driver_local.h). */
	if (launch_file_write(p->sandbox, p->pid, p->start_ticks, t) != 0) {
		int e = errno;

		/* Without a record, a stadiond killed before the state write
		 * would leave a process nobody can find: stop it. */
		proc_abandon(p);
		task_finish(l, t, DRIVER_TASK_FAILED, -1, 0,
		            "cannot write the launch record in %s: %s",
		            p->sandbox, strerror(e));
		return;
	}
	if ((p->pidfd = pidfd_open_(p->pid)) < 0 || proc_watch(l, t) != 0) {
		int e = errno;

		/* Unwatched, it would be a task nobody can see: stop it. */
		proc_abandon(p);
		task_finish(l, t, DRIVER_TASK_FAILED, -1, 0,
		            "cannot watch the process: %s", strerror(e));
		return;
	}
	t->state = DRIVER_TASK_RUNNING;
	report(l, t, DRIVER_TASK_RUNNING, -1, 0, NULL);
	return;
oom:
	task_finish(l, t, DRIVER_TASK_FAILED, -1, 0, "out of memory");
}

static int local_launch(struct driver *d, const struct driver_task_spec *s,
                        char *err, size_t errlen)
{
	struct driver_local *l = (struct driver_local *)d;
	struct agent_state *as;
	struct task *t;

	if (spec_check(l, s, false, &as, err, errlen) != 0)
		return -1;
	if ((t = task_new(l, as, s)) == NULL) {
		set_err(err, errlen, "task %s: out of memory", s->task_id);
		errno = ENOMEM;
		return -1;
	}
	report(l, t, DRIVER_TASK_STAGING, -1, 0, NULL);
	if (as->agent->simulated)
		sim_queue(l, t);
	else
		real_start(l, t, s);
	return 0;
}

static int local_kill(struct driver *d, const char *task_id, int64_t grace_ms)
{
	struct driver_local *l = (struct driver_local *)d;
	struct task *t = task_find(l, task_id);
	struct timeval tv;
	struct proc *p;

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t->kill_requested)
		return 0;
	t->kill_requested = true;
	report(l, t, DRIVER_TASK_KILLING, -1, 0, NULL);
	if ((p = t->proc) == NULL) {
		task_finish(l, t, DRIVER_TASK_KILLED, -1, 0,
		            "killed on request");
		return 0;
	}
	t->state = DRIVER_TASK_KILLING;
	if (grace_ms < 0)
		grace_ms = p->grace_ms;
	p->grace_ms = grace_ms;
	/* The group: a shell's children die with it. */
	proc_signal(p, grace_ms > 0 ? SIGTERM : SIGKILL);
	if (grace_ms > 0) {
		tv = ms_to_tv((uint64_t)grace_ms);
		evtimer_add(p->kill_timer, &tv);
	}
	return 0;
}

static int local_adopt(struct driver *d, const struct driver_task_spec *s,
                       const struct driver_launch_record *rec, char *err,
                       size_t errlen)
{
	struct driver_local *l = (struct driver_local *)d;
	struct agent_state *as;
	struct task *t;
	struct proc *p;

	if (spec_check(l, s, true, &as, err, errlen) != 0)
		return -1;
	if ((t = task_new(l, as, s)) == NULL) {
		set_err(err, errlen, "task %s: out of memory", s->task_id);
		errno = ENOMEM;
		return -1;
	}
	if (as->agent->simulated) {
		/* Nothing ran: a simulated task is as alive as we say. */
		t->state = DRIVER_TASK_RUNNING;
		report(l, t, DRIVER_TASK_RUNNING, -1, 0, "adopted");
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (t->proc = p, p->sandbox = sandbox_path(l, t->id)) == NULL) {
		task_finish(l, t, DRIVER_TASK_LOST, -1, 0, "out of memory");
		return 0;
	}
	p->pidfd = -1;
	p->pid = rec->pid;
	p->start_ticks = rec->start_ticks;
	p->grace_ms = s->kill_grace_ms > 0 ? s->kill_grace_ms :
	              DRIVER_DEFAULT_GRACE_MS;
	/* Stored without its launch record: stadiond died between the spawn
	 * and the state write, or before the spawn.  The sandbox's record
	 * tells which. */
	if (p->pid == 0 &&
	    launch_file_read(p->sandbox, &p->pid, &p->start_ticks) != 0) {
		if (errno == ENOENT)
			task_finish(l, t, DRIVER_TASK_LOST, -1, 0,
			            "the task was never started");
		else
			task_finish(l, t, DRIVER_TASK_LOST, -1, 0,
			            "cannot read the launch record in %s: %s",
			            p->sandbox, strerror(errno));
		return 0;
	}
	/* Open the pidfd first, then compare start times: the pidfd pins
	 * the pid, so a process that took the number over after ours exited
	 * shows a different start time and is never signalled. */
	if (p->pid <= 0 || (p->pidfd = pidfd_open_(p->pid)) < 0 ||
	    driver_local_start_ticks(p->pid) != p->start_ticks) {
		task_finish(l, t, DRIVER_TASK_LOST, -1, 0,
		            "the process exited while stadiond was not running");
		return 0;
	}
	if (proc_watch(l, t) != 0) {
		task_finish(l, t, DRIVER_TASK_LOST, -1, 0,
		            "cannot watch the process: %s", strerror(errno));
		return 0;
	}
	t->state = DRIVER_TASK_RUNNING;
	report(l, t, DRIVER_TASK_RUNNING, -1, 0, "adopted");
	return 0;
}

static int local_reconcile(struct driver *d, const char *task_id)
{
	struct driver_local *l = (struct driver_local *)d;
	struct task *t;

	if (task_id != NULL) {
		if ((t = task_find(l, task_id)) == NULL) {
			errno = ENOENT;
			return -1;
		}
		report(l, t, (enum driver_task_state)t->state, -1, 0, NULL);
		return 0;
	}
	for (size_t i = 0; i <= l->mask; i++)
		for (t = l->tab[i]; t != NULL; t = t->hnext)
			report(l, t, (enum driver_task_state)t->state, -1, 0,
			       NULL);
	return 0;
}

static int local_launch_record(struct driver *d, const char *task_id,
                               struct driver_launch_record *rec_r)
{
	struct driver_local *l = (struct driver_local *)d;
	struct task *t = task_find(l, task_id);

	if (t == NULL) {
		errno = ENOENT;
		return -1;
	}
	memset(rec_r, 0, sizeof(*rec_r));
	if (t->proc != NULL) {
		rec_r->pid = t->proc->pid;
		rec_r->start_ticks = t->proc->start_ticks;
		rec_r->sandbox = t->proc->sandbox;
	}
	return 0;
}

static int local_find_launch(struct driver *d, const char *task_id,
                             struct driver_found_launch *found_r)
{
	struct driver_local *l = (struct driver_local *)d;
	char *sandbox = sandbox_path(l, task_id);
	uint64_t ticks;
	pid_t pid;
	int rc;

	if (sandbox == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = launch_file_read_all(sandbox, &pid, &ticks, found_r);
	free(sandbox);
	if (rc == 0 && found_r->agent_id[0] == '\0') {
		errno = ENOENT; /* an older record: no agent to adopt it on */
		return -1;
	}
	return rc;
}

/* ---- sweep ------------------------------------------------------------ */

/* Kill the process group the launch record in SANDBOX names, if that
 * process still runs; whether it did. */
static bool sweep_sandbox(const char *id, const char *sandbox)
{
	bool killed = false;
	uint64_t ticks;
	pid_t pid;
	int pidfd;

	/* No record: never started, or not a sandbox of a real task. */
	if (launch_file_read(sandbox, &pid, &ticks) != 0)
		return false;
	/* As in adopt: the pidfd pins the pid, so once the start time
	 * matches, the signal cannot reach a process that took the number
	 * over. */
	if ((pidfd = pidfd_open_(pid)) < 0)
		return false;
	if (driver_local_start_ticks(pid) != ticks)
		goto close_pidfd;
	/* The whole group, as a kill of the task would; a leader that moved
	 * to another group alone, since group PID may be someone else's. */
	if (getpgid(pid) == pid)
		killed = killpg(pid, SIGKILL) == 0;
	else
		killed = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL,
		                 0) == 0;
	if (killed)
		log_warn("driver local: task %s (pid %d) runs but the scheduler "
		         "has no record of it (stadiond stopped between its "
		         "launch and storing it): killed", id, (int)pid);
close_pidfd:
	close(pidfd);
	return killed;
}

/* The second pass of the sweep: processes working in the sandbox of a
 * task nobody knows, found by their cwd.  It catches what the launch
 * records cannot: a stadiond killed between the spawn and the record's
 * rename, and a task's processes that left its group.  SANDBOXES is the
 * real path of <data_dir>/sandboxes.  Returns how many tasks it killed
 * processes of. */
static size_t sweep_by_cwd(struct driver_local *l, const char *sandboxes,
                           bool (*known)(void *arg, const char *task_id),
                           void *arg)
{
	size_t len = strlen(sandboxes), killed = 0;
	char last[NAME_MAX + 1] = "";
	struct dirent *de;
	DIR *proc = opendir("/proc");

	if (proc == NULL)
		return 0;
	while ((de = readdir(proc)) != NULL) {
		char link[64], cwd[PATH_MAX], id[NAME_MAX + 1], rec[PATH_MAX];
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		const char *start;
		size_t id_len;
		ssize_t n;

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
		if ((n = readlink(link, cwd, sizeof(cwd) - 1)) <= 0)
			continue;
		cwd[n] = '\0';
		if ((size_t)n <= len + 1 || strncmp(cwd, sandboxes, len) != 0 ||
		    cwd[len] != '/')
			continue;
		start = cwd + len + 1;
		if ((id_len = strcspn(start, "/")) == 0 || id_len > NAME_MAX)
			continue;
		memcpy(id, start, id_len);
		id[id_len] = '\0';
		if (task_find(l, id) != NULL || known(arg, id))
			continue;
		/* A task with a launch record was the first pass's. */
		snprintf(rec, sizeof(rec), "%s/%s/launch", sandboxes, id);
		if (access(rec, F_OK) == 0)
			continue;
		log_warn("task %s: process %d works in its sandbox but no "
		         "stored instance names the task; killing it",
		         id, (int)pid);
		if (getpgid(pid) == pid)
			killpg(pid, SIGKILL);
		else
			kill(pid, SIGKILL);
		/* A task's processes count once: the last task killed is
		 * remembered, as /proc lists a group's members in a row
		 * more often than not, and a repeat costs only a count. */
		if (strcmp(id, last) != 0) {
			killed++;
			snprintf(last, sizeof(last), "%s", id);
		}
	}
	closedir(proc);
	return killed;
}

int driver_local_sweep(struct driver *d,
                       bool (*known)(void *arg, const char *task_id),
                       void *arg, size_t *killed_r)
{
	struct driver_local *l = (struct driver_local *)d;
	char sandbox[PATH_MAX];
	struct dirent *de;
	size_t killed = 0;
	char *dir;
	DIR *dp;
	int e;

	if (d == NULL || d->ops != &local_ops || known == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (asprintf(&dir, "%s/sandboxes", l->data_dir) < 0)
		return -1;
	if ((dp = opendir(dir)) == NULL)
		goto free_dir;
	for (;;) {
		const char *id;

		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		id = de->d_name;
		if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
			continue;
		/* Ours: launched or adopted by this driver, watched. */
		if (task_find(l, id) != NULL || known(arg, id))
			continue;
		if ((size_t)snprintf(sandbox, sizeof(sandbox), "%s/%s", dir,
		                     id) >= sizeof(sandbox))
			continue;
		if (sweep_sandbox(id, sandbox))
			killed++;
	}
	if (errno != 0)
		goto close_dir;
	closedir(dp);
	{
		char *real = realpath(dir, NULL);

		if (real != NULL)
			killed += sweep_by_cwd(l, real, known, arg);
		free(real);
	}
	free(dir);
	if (killed_r != NULL)
		*killed_r = killed;
	return 0;
close_dir:
	e = errno;
	closedir(dp);
	errno = e;
free_dir:
	e = errno;
	free(dir);
	errno = e;
	return -1;
}

/* ---- agents and offers ------------------------------------------------ */

static int local_agents(struct driver *d, const struct driver_agent **agents_r,
                        size_t *n_r)
{
	struct driver_local *l = (struct driver_local *)d;

	*agents_r = l->agents;
	*n_r = l->n_agents;
	return 0;
}

/* The free runs of AS's port ranges into O. */
static int free_ports(const struct agent_state *as, struct driver_offer *o)
{
	const struct driver_agent *a = as->agent;
	size_t cap = 0;

	o->ports = NULL;
	o->n_ports = 0;
	for (size_t i = 0; i < a->n_ports; i++) {
		uint32_t p = a->ports[i].begin;

		while (p <= a->ports[i].end) {
			uint32_t begin;

			while (p <= a->ports[i].end && port_used(as, p))
				p++;
			if (p > a->ports[i].end)
				break;
			begin = p;
			while (p <= a->ports[i].end && !port_used(as, p))
				p++;
			if (o->n_ports == cap) {
				size_t ncap = cap == 0 ? 4 : cap * 2;
				struct driver_port_range *n =
					realloc(o->ports, ncap * sizeof(*n));

				if (n == NULL)
					return -1;
				o->ports = n;
				cap = ncap;
			}
			o->ports[o->n_ports].begin = begin;
			o->ports[o->n_ports].end = p - 1;
			o->n_ports++;
		}
	}
	return 0;
}

static int local_offers(struct driver *d, struct driver_offer **offers_r,
                        size_t *n_r)
{
	struct driver_local *l = (struct driver_local *)d;
	struct driver_offer *o = calloc(l->n_agents + 1, sizeof(*o));

	if (o == NULL)
		return -1;
	for (size_t i = 0; i < l->n_agents; i++) {
		const struct agent_state *as = &l->astate[i];

		o[i].agent = as->agent;
		o[i].cpus = as->agent->cpus - as->cpus_used;
		o[i].mem = as->agent->mem - as->mem_used;
		o[i].disk = as->agent->disk - as->disk_used;
		if (free_ports(as, &o[i]) != 0) {
			driver_offers_free(o, i + 1);
			errno = ENOMEM;
			return -1;
		}
	}
	*offers_r = o;
	*n_r = l->n_agents;
	return 0;
}

void driver_local_agents_free(struct driver_agent *agents, size_t n)
{
	if (agents == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(agents[i].id);
		free(agents[i].hostname);
		free(agents[i].ports);
		for (size_t j = 0; j < agents[i].n_attributes; j++) {
			free(agents[i].attributes[j].name);
			free(agents[i].attributes[j].value);
		}
		free(agents[i].attributes);
	}
	free(agents);
}

static int range_cmp(const void *a, const void *b)
{
	const struct driver_port_range *x = a, *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int driver_local_parse_ports(const char *text,
                             struct driver_port_range **ranges_r,
                             size_t *n_r, char *err, size_t errlen)
{
	struct driver_port_range *r = NULL;
	size_t n = 0;
	const char *p = text;

	while (*p != '\0') {
		unsigned long begin, end;
		char *e;
		struct driver_port_range *nr;

		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		begin = end = strtoul(p, &e, 10);
		p = e;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			end = strtoul(p, &e, 10);
			p = e;
		}
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
		if (begin == 0 || end > PORT_MAX || begin > end) {
			set_err(err, errlen, "\"%lu-%lu\" is not a range of "
			        "ports (1-65535, low-high)", begin, end);
			goto fail;
		}
		if ((nr = realloc(r, (n + 1) * sizeof(*r))) == NULL) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		r = nr;
		r[n].begin = (uint32_t)begin;
		r[n].end = (uint32_t)end;
		n++;
	}
	if (n == 0) {
		set_err(err, errlen, "no port ranges");
		goto fail;
	}
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++)
		if (r[i].begin <= r[i - 1].end) {
			set_err(err, errlen, "port ranges %u-%u and %u-%u "
			        "overlap", r[i - 1].begin, r[i - 1].end,
			        r[i].begin, r[i].end);
			goto fail;
		}
	*ranges_r = r;
	*n_r = n;
	return 0;
bad:
	set_err(err, errlen, "\"%s\" is not a list of port ranges like "
	        "\"31000-32000,33000-33100\"", text);
fail:
	free(r);
	return -1;
}

static double number_of(struct json_object *v, bool *ok)
{
	*ok = json_object_is_type(v, json_type_int) ||
	      json_object_is_type(v, json_type_double);
	return *ok ? json_object_get_double(v) : 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_value(char **items, size_t n, struct driver_attribute *at)
{
	size_t len = 3;
	char *out;

	qsort(items, n, sizeof(*items), str_cmp);
	for (size_t k = 0; k < n; k++)
		len += strlen(items[k]) + 1;
	if ((out = malloc(len)) == NULL)
		return -1;
	strcpy(out, "{");
	for (size_t k = 0; k < n; k++) {
		if (k > 0)
			strcat(out, ",");
		strcat(out, items[k]);
	}
	strcat(out, "}");
	at->value = out;
	at->type = DRIVER_ATTR_SET;
	return 0;
}

/* Fill AT's value and type from V, a --local_agents attribute:
 *   a number                  scalar, formatted as Marathon does;
 *   "[1-5,8-9]"               ranges, sorted by begin;
 *   "{b,a}" or ["b", "a"]     a set, sorted;
 *   any other string          text.
 * -1 with ERR (errno EINVAL) or errno ENOMEM. */
static int attr_from_json(struct json_object *v, struct driver_attribute *at,
                          char *err, size_t errlen)
{
	const char *s;
	size_t len;
	char buf[600];

	errno = EINVAL;
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)) {
		driver_attr_format_scalar(json_object_get_double(v), buf,
		                          sizeof(buf));
		at->type = DRIVER_ATTR_SCALAR;
		at->value = strdup(buf);
		errno = ENOMEM;
		return at->value != NULL ? 0 : -1;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		char **items = calloc(n + 1, sizeof(*items));
		int rc;

		if (items == NULL) {
			errno = ENOMEM;
			return -1;
		}
		for (size_t k = 0; k < n; k++) {
			struct json_object *e = json_object_array_get_idx(v, k);

			if (!json_object_is_type(e, json_type_string) ||
			    strpbrk(json_object_get_string(e), ",{}") != NULL) {
				free(items);
				set_err(err, errlen, "must hold strings "
				        "without \",\", \"{\" or \"}\" (a set)");
				return -1;
			}
			items[k] = (char *)json_object_get_string(e);
		}
		rc = set_value(items, n, at);
		free(items);
		errno = ENOMEM;
		return rc;
	}
	if (!json_object_is_type(v, json_type_string)) {
		set_err(err, errlen, "must be a string, a number or an array "
		        "of strings");
		return -1;
	}
	s = json_object_get_string(v);
	len = strlen(s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		struct driver_port_range *r = NULL;
		size_t n = 0, off = 1;
		char sub[256];

		snprintf(buf, sizeof(buf), "%.*s", (int)(len - 2), s + 1);
		if (len - 2 >= sizeof(buf) ||
		    driver_local_parse_ports(buf, &r, &n, sub,
		                             sizeof(sub)) != 0) {
			set_err(err, errlen, "\"%s\" is not ranges like "
			        "\"[1-5,8-9]\"", s);
			return -1;
		}
		buf[0] = '[';
		for (size_t k = 0; k < n && off < sizeof(buf) - 24; k++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			                        "%s%u-%u", k ? "," : "",
			                        r[k].begin, r[k].end);
		snprintf(buf + off, sizeof(buf) - off, "]");
		free(r);
		at->type = DRIVER_ATTR_RANGES;
		at->value = strdup(buf);
		errno = ENOMEM;
		return at->value != NULL ? 0 : -1;
	}
	if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
		char *copy = strndup(s + 1, len - 2), *save = NULL, *tok;
		char **items = calloc(len, sizeof(*items));
		size_t n = 0;
		int rc;

		if (copy == NULL || items == NULL) {
			free(copy);
			free(items);
			errno = ENOMEM;
			return -1;
		}
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			items[n++] = tok;
		rc = set_value(items, n, at);
		free(items);
		free(copy);
		errno = ENOMEM;
		return rc;
	}
	at->type = DRIVER_ATTR_TEXT;
	at->value = strdup(s);
	errno = ENOMEM;
	return at->value != NULL ? 0 : -1;
}

/* Fill A from the JSON object O, element I of PATH. */
static int agent_from_json(const char *path, size_t i, struct json_object *o,
                           const struct driver_agent *def,
                           struct driver_agent *a, char *err, size_t errlen)
{
	struct json_object *v;
	const char *ports = NULL;
	char sub[256];
	bool ok;

	if (!json_object_is_type(o, json_type_object)) {
		set_err(err, errlen, "%s: agent %zu: must be an object", path,
		        i);
		return -1;
	}
	json_object_object_foreach(o, key, val) {
		static const char *const known[] = {"hostname", "cpus", "mem",
			"disk", "ports", "attributes", "simulated", NULL};
		bool found = false;

		(void)val;
		for (size_t k = 0; known[k] != NULL; k++)
			found = found || strcmp(key, known[k]) == 0;
		if (!found) {
			set_err(err, errlen, "%s: agent %zu: unknown field "
			        "\"%s\" (known: hostname, cpus, mem, disk, "
			        "ports, attributes, simulated)", path, i, key);
			return -1;
		}
	}
	if (json_object_object_get_ex(o, "hostname", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0) {
			set_err(err, errlen, "%s: agent %zu: \"hostname\" must "
			        "be a non-empty string", path, i);
			return -1;
		}
		a->hostname = strdup(json_object_get_string(v));
	} else {
		a->hostname = strdup(def->hostname);
	}
#define SCALAR(field)                                                       \
	a->field = def->field;                                              \
	if (json_object_object_get_ex(o, #field, &v)) {                     \
		a->field = number_of(v, &ok);                               \
		if (!ok || a->field < 0) {                                  \
			set_err(err, errlen, "%s: agent %zu: \"" #field     \
			        "\" must be a number >= 0", path, i);       \
			return -1;                                          \
		}                                                           \
	}
	SCALAR(cpus)
	SCALAR(mem)
	SCALAR(disk)
#undef SCALAR
	if (json_object_object_get_ex(o, "ports", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			set_err(err, errlen, "%s: agent %zu: \"ports\" must be "
			        "a string like \"31000-32000\"", path, i);
			return -1;
		}
		ports = json_object_get_string(v);
	}
	if (ports == NULL) {
		a->ports = malloc(def->n_ports * sizeof(*a->ports));
		if (a->ports == NULL)
			goto oom;
		memcpy(a->ports, def->ports, def->n_ports * sizeof(*a->ports));
		a->n_ports = def->n_ports;
	} else if (driver_local_parse_ports(ports, &a->ports, &a->n_ports, sub,
	                                    sizeof(sub)) != 0) {
		set_err(err, errlen, "%s: agent %zu: \"ports\": %s", path, i,
		        sub);
		return -1;
	}
	if (json_object_object_get_ex(o, "simulated", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			set_err(err, errlen, "%s: agent %zu: \"simulated\" must "
			        "be true or false", path, i);
			return -1;
		}
		a->simulated = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "attributes", &v)) {
		size_t n = 0;

		if (!json_object_is_type(v, json_type_object)) {
			set_err(err, errlen, "%s: agent %zu: \"attributes\" "
			        "must be an object", path, i);
			return -1;
		}
		a->attributes = calloc((size_t)json_object_object_length(v) + 1,
		                       sizeof(*a->attributes));
		if (a->attributes == NULL)
			goto oom;
		json_object_object_foreach(v, aname, aval) {
			struct driver_attribute *at = &a->attributes[n];

			if ((at->name = strdup(aname)) == NULL)
				goto oom;
			a->n_attributes = ++n;
			if (attr_from_json(aval, at, sub, sizeof(sub)) != 0) {
				if (errno == ENOMEM)
					goto oom;
				set_err(err, errlen, "%s: agent %zu: "
				        "\"attributes\".\"%s\" %s", path, i,
				        aname, sub);
				return -1;
			}
		}
	}
	if (a->hostname == NULL || asprintf(&a->id, "local-%zu", i) < 0) {
		a->id = NULL;
		goto oom;
	}
	return 0;
oom:
	set_err(err, errlen, "%s: agent %zu: out of memory", path, i);
	return -1;
}

int driver_local_agents_load(const char *path,
                             const struct driver_agent *defaults,
                             struct driver_agent **agents_r, size_t *n_r,
                             char *err, size_t errlen)
{
	struct json_object *root = json_object_from_file(path);
	struct driver_agent *agents = NULL;
	size_t n = 0;

	if (root == NULL) {
		set_err(err, errlen, "%s: cannot read or parse: %s", path,
		        json_util_get_last_err() != NULL ?
		        json_util_get_last_err() : "unknown error");
		return -1;
	}
	if (!json_object_is_type(root, json_type_array)) {
		set_err(err, errlen, "%s: must be a JSON array of agents",
		        path);
		goto put_root;
	}
	n = json_object_array_length(root);
	if (n == 0) {
		set_err(err, errlen, "%s: no agents (an empty array)", path);
		goto put_root;
	}
	if ((agents = calloc(n, sizeof(*agents))) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		goto put_root;
	}
	for (size_t i = 0; i < n; i++)
		if (agent_from_json(path, i,
		                    json_object_array_get_idx(root, i),
		                    defaults, &agents[i], err, errlen) != 0)
			goto free_agents;
	json_object_put(root);
	*agents_r = agents;
	*n_r = n;
	return 0;
free_agents:
	driver_local_agents_free(agents, n);
put_root:
	json_object_put(root);
	return -1;
}

/* This host as one agent (also the defaults of the agents file). */
static int host_agent(const struct driver_local_config *cfg,
                      struct driver_agent *a, char *err, size_t errlen)
{
	char host[256] = "localhost";
	char line[256];
	struct statvfs vfs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f;

	memset(a, 0, sizeof(*a));
	a->cpus = cpus > 0 ? (double)cpus : 1;
	if ((f = fopen("/proc/meminfo", "re")) != NULL) {
		unsigned long long kb;

		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
				a->mem = (double)(kb / 1024);
				break;
			}
		fclose(f);
	}
	if (statvfs(cfg->data_dir, &vfs) == 0)
		a->disk = (double)((unsigned long long)vfs.f_bavail *
		                   vfs.f_frsize / (1024 * 1024));
	if (cfg->hostname != NULL)
		snprintf(host, sizeof(host), "%s", cfg->hostname);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	a->hostname = strdup(host);
	a->id = strdup("local-0");
	if (a->hostname == NULL || a->id == NULL ||
	    driver_local_parse_ports(DEFAULT_PORTS, &a->ports, &a->n_ports,
	                             err, errlen) != 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- create, destroy -------------------------------------------------- */

static void local_destroy(struct driver *d)
{
	struct driver_local *l = (struct driver_local *)d;
	struct pending *p, *pnext;

	/* Tasks are left running: the next driver adopts them. */
	for (size_t i = 0; l->tab != NULL && i <= l->mask; i++) {
		struct task *next;

		for (struct task *t = l->tab[i]; t != NULL; t = next) {
			next = t->hnext;
			task_free(t);
		}
	}
	free(l->tab);
	for (p = l->q_head; p != NULL; p = pnext) {
		pnext = p->next;
		free(p->message);
		free(p);
	}
	if (l->deliver_ev != NULL)
		event_free(l->deliver_ev);
	if (l->sim_timer != NULL)
		event_free(l->sim_timer);
	driver_local_agents_free(l->agents, l->n_agents);
	free(l->astate);
	free(l->data_dir);
	free(l);
}

struct driver *driver_local_new(struct event_base *base,
                                const struct driver_local_config *cfg,
                                char *err, size_t errlen)
{
	struct driver_local *l = calloc(1, sizeof(*l));
	struct driver_agent host;
	char *sandboxes = NULL;

	if (l == NULL) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	l->d.ops = &local_ops;
	l->base = base;
	l->sim_delay_ms = cfg->simulated_delay_ms != 0 ?
	                  cfg->simulated_delay_ms : DEFAULT_SIM_DELAY_MS;
	l->mask = 63;
	l->tab = calloc(l->mask + 1, sizeof(*l->tab));
	l->data_dir = strdup(cfg->data_dir);
	l->deliver_ev = event_new(base, -1, 0, deliver, l);
	l->sim_timer = evtimer_new(base, sim_fire, l);
	if (l->tab == NULL || l->data_dir == NULL || l->deliver_ev == NULL ||
	    l->sim_timer == NULL) {
		set_err(err, errlen, "out of memory");
		goto destroy;
	}
	/* First, so that the disk of the default agent is the data dir's. */
	if (asprintf(&sandboxes, "%s/sandboxes", cfg->data_dir) < 0) {
		set_err(err, errlen, "out of memory");
		goto destroy;
	}
	if (fsutil_mkdir_p(sandboxes, 0755) != 0) {
		set_err(err, errlen, "cannot create %s: %s", sandboxes,
		        strerror(errno));
		free(sandboxes);
		goto destroy;
	}
	free(sandboxes);
	if (host_agent(cfg, &host, err, errlen) != 0)
		goto free_host;
	if (cfg->agents_file != NULL) {
		if (driver_local_agents_load(cfg->agents_file, &host,
		                             &l->agents, &l->n_agents, err,
		                             errlen) != 0)
			goto free_host;
		free(host.id);
		free(host.hostname);
		free(host.ports);
	} else {
		if ((l->agents = malloc(sizeof(*l->agents))) == NULL) {
			set_err(err, errlen, "out of memory");
			goto free_host;
		}
		l->agents[0] = host;
		l->n_agents = 1;
	}
	if ((l->astate = calloc(l->n_agents, sizeof(*l->astate))) == NULL) {
		set_err(err, errlen, "out of memory");
		goto destroy;
	}
	for (size_t i = 0; i < l->n_agents; i++) {
		l->astate[i].agent = &l->agents[i];
		l->astate[i].owner = l;
	}
	return &l->d;
free_host:
	free(host.id);
	free(host.hostname);
	free(host.ports);
destroy:
	local_destroy(&l->d);
	return NULL;
}

static const struct driver_ops local_ops = {
	.name = "local",
	.destroy = local_destroy,
	.agents = local_agents,
	.offers = local_offers,
	.launch = local_launch,
	.kill = local_kill,
	.adopt = local_adopt,
	.reconcile = local_reconcile,
	.launch_record = local_launch_record,
	.find_launch = local_find_launch,
};
