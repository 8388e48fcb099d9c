/*
 * driver_local: the embedded driver; runs tasks on this machine.
 *
 * Agents are this host (one agent with its CPUs, memory, data-dir disk and
 * ports 31000-32000) or those of a --local_agents file:
 *
 *   [{"hostname": "h1", "cpus": 4, "mem": 8192, "disk": 10000,
 *     "ports": "31000-32000,33000-33100",
 *     "attributes": {"rack_id": "r1", "zone": "z"}, "simulated": false}]
 *
 * Real agents start each task with posix_spawn (never fork: the daemon's
 * heap makes fork slow, performance-anchors.md 3.1) as its own process
 * group, in <data_dir>/sandboxes/<task id>/ with stdout and stderr files
 * there, and watch it with a pidfd on the event loop.  Nothing ties a task
 * to the daemon (no pipe, no parent-death signal), so tasks outlive a
 * restart of stadiond and are re-attached with driver_adopt().
 *
 * The launch record: right after the spawn, before anything else, the
 * driver writes "<pid> <start ticks>\nagent <agent id>\nports[ <port>...]\n"
 * (the start ticks being /proc/<pid>/stat field 22, so that a reused pid
 * never matches) to <data_dir>/sandboxes/<task id>/launch, through a
 * temporary file and a rename so that it is never seen half-written.  It is
 * not fsynced: it is for a stadiond that dies, not a host (a reboot ends
 * the task too).  The scheduler stores an instance with its task id before
 * the launch and the launch record after driver_launch() returns; a
 * stadiond killed between the two leaves a task stored as Scheduled, which
 * driver_find_launch() finds through this file, with its agent and ports,
 * for the scheduler to adopt (driver_adopt() with a pid of 0 reads the
 * file too: RUNNING "adopted", or LOST "the task was never started" when
 * there is no file).  When the task itself was never stored,
 * its process is one that no stored state names: driver_local_sweep()
 * kills it.  So a crash leaves neither an orphan nor, once the scheduler
 * relaunches the task, a double.  The file stays after the task ends; its
 * pid and start time never match a live process again.  (Between
 * posix_spawn()'s return and the rename there is no record yet: the
 * sweep finds such a process by its working directory, the sandbox.)
 *
 * Simulated agents start nothing: STAGING then RUNNING on a short timer,
 * kills are instant.  Per-task memory is small and every operation is O(1)
 * (hash table by task id), for benchmarks of the scheduler at 100k tasks.
 *
 * Adoption and exit status: an adopted task is no longer our child when
 * the daemon was restarted, so waitid() cannot tell how it ended.  When the
 * pidfd says it exited, the driver tries waitid() anyway (it works when the
 * task is still our child, e.g. a driver re-created in the same process);
 * when that fails with ECHILD the outcome is unknown and the driver
 * reports TASK_LOST with "the process exited after adoption; its exit
 * status is unknown", rather than guess FINISHED or FAILED, unless a kill
 * was requested, in which case the exit is the kill's outcome: KILLED.
 */
#ifndef STADION_DRIVER_LOCAL_H
#define STADION_DRIVER_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver/driver.h"

/* What the docker tasks say when the agent has no docker executable. */
#define DRIVER_LOCAL_NO_DOCKER                                              \
	"docker is not installed on this agent (no docker executable on "   \
	"PATH); install Docker or use a command app"

struct driver_local_config {
	const char *data_dir;     /* sandboxes go under <data_dir>/sandboxes */
	const char *agents_file;  /* --local_agents, NULL: this host */
	const char *hostname;     /* the default agent's; NULL: gethostname */
	/* How long simulated tasks stay STAGING; 0 means 10 ms. */
	uint32_t simulated_delay_ms;
};

/* A local driver on BASE (borrowed, must outlive the driver).  NULL with a
 * message in ERR (naming the agents file, the agent's index and the field
 * for a bad --local_agents) on failure.  Free with driver_destroy(). */
struct driver *driver_local_new(struct event_base *base,
                                const struct driver_local_config *cfg,
                                char *err, size_t errlen);

/* Parse the --local_agents file PATH into *AGENTS_R (*N_R of them; owned by
 * the caller, free with driver_local_agents_free()).  -1 with ERR on
 * failure.  Missing cpus, mem, disk, ports and hostname take this host's
 * values from DEFAULTS. */
int driver_local_agents_load(const char *path,
                             const struct driver_agent *defaults,
                             struct driver_agent **agents_r, size_t *n_r,
                             char *err, size_t errlen);
void driver_local_agents_free(struct driver_agent *agents, size_t n);

/* Parse "31000-32000,33000" into *RANGES_R (owned by the caller, free()),
 * sorted; -1 with ERR when malformed or overlapping. */
int driver_local_parse_ports(const char *text,
                             struct driver_port_range **ranges_r,
                             size_t *n_r, char *err, size_t errlen);

/* The argv of `docker run` for SPEC (whose docker must be set), with
 * DOCKER as argv[0].  NULL-terminated; owned by the caller, free with
 * driver_local_argv_free().  NULL when out of memory. */
char **driver_local_docker_argv(const char *docker,
                                const struct driver_task_spec *spec);
void driver_local_argv_free(char **argv);

/* The absolute path of the executable NAME on $PATH into BUF, or -1. */
int driver_local_which(const char *name, char *buf, size_t buflen);

/* /proc/<pid>/stat field 22 (start time in clock ticks), 0 when gone. */
uint64_t driver_local_start_ticks(pid_t pid);

/* Kill the processes launched for tasks the scheduler does not know: for
 * every <data_dir>/sandboxes/<id>/launch record whose task D does not
 * track and KNOWN(ARG, id) says is unknown, and whose process still runs
 * with the recorded start time (a reused pid is never signalled), SIGKILL
 * its process group.  It exists because the scheduler's state writes
 * trail its launches, so a stadiond killed between a spawn and the write
 * of the task can leave a running process that no stored state names:
 * nothing would ever adopt, kill or count it (an orphan holding ports and
 * memory), and the scheduler would start a replacement (a double).
 * SIGKILL, not the grace period: nobody will watch it end.  A second
 * pass looks through /proc for processes whose working directory is the
 * sandbox of an unknown task without a launch record (stadiond killed
 * between the spawn and the record's rename) and kills those too.
 *
 * Call it once at startup, when the stored state is loaded: KNOWN must
 * answer for all of it, as a task it wrongly calls unknown is killed.
 * D's own tasks (launched or adopted, not yet ended) are skipped without
 * asking KNOWN.  KNOWN's TASK_ID is borrowed for the call.  D must be a
 * local driver.  *KILLED_R (may be NULL) is how many process groups were
 * killed.  0, or -1 with errno when the sandboxes directory cannot be read
 * (EINVAL: not a local driver, or KNOWN is NULL). */
int driver_local_sweep(struct driver *d,
                       bool (*known)(void *arg, const char *task_id),
                       void *arg, size_t *killed_r);

#endif /* STADION_DRIVER_LOCAL_H */
