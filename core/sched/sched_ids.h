/*
 * sched_ids: the ids the scheduler hands out (marathon-api.md 3.7).
 *
 *   instance   <safe app id>.instance-<uuid v1>     "a_b.instance-1c2d..."
 *   app task   <instance id>._app.<incarnation>     incarnation 1, 2, ...
 *   deployment <uuid v4>
 *
 * Marathon uses time-based (version 1) UUIDs for instances, so their text
 * sorts roughly by creation only within one field; what matters to
 * clients is the form.  Older forms still arrive in DELETE
 * /v2/apps/{id}/tasks/{taskId} and in stored state, so the parser also
 * takes "<safe app id>.marathon-<uuid>" (1.4 to 1.7 instance and task
 * ids), "<safe app id>.<uuid>" and "<safe app id>_<uuid>" (before 1.4),
 * pod tasks "<instance id>.<container>[.<n>]" and resident legacy tasks
 * "<safe app id>.<uuid>.<attempt>".
 *
 * The generators are thread-safe.
 */
#ifndef STADION_SCHED_IDS_H
#define STADION_SCHED_IDS_H

#include <stdbool.h>
#include <stdint.h>

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL. */
#define SCHED_UUID_LEN 37

/* A new RFC 4122 version 1 UUID in BUF, lower-case: the 60-bit count of
 * 100 ns intervals since 1582-10-15 (strictly increasing within this
 * process, even when the clock stands still or steps back), a random
 * clock sequence and a random node with the multicast bit set (RFC 4122
 * 4.5: no real MAC address), both drawn once per process.  Returns 0, or
 * -1 with errno when no randomness could be had. */
int sched_uuid_v1(char buf[SCHED_UUID_LEN]);

/* A new random (version 4) UUID in BUF.  Returns 0 or -1 with errno. */
int sched_uuid_v4(char buf[SCHED_UUID_LEN]);

/* The 60-bit timestamp of the version 1 UUID text UUID into *TS_R.
 * Returns 0, or -1 (EINVAL) when UUID is not a version 1 UUID. */
int sched_uuid_v1_time(const char *uuid, uint64_t *ts_r);

/* A new instance id for the normalized app id APP_ID ("/a/b").
 * Malloc'ed, the caller frees it; NULL with errno on failure. */
char *sched_instance_id_new(const char *app_id);

/* The task id of INSTANCE_ID's INCARNATION (>= 1).  Malloc'ed, the caller
 * frees it; NULL with errno on failure. */
char *sched_task_id_format(const char *instance_id, int64_t incarnation);

/* A new deployment id (uuid v4 text).  Malloc'ed, the caller frees it;
 * NULL with errno on failure. */
char *sched_deployment_id_new(void);

/* A task id taken apart.  Every string is malloc'ed and owned by the
 * struct: free them with sched_task_ref_clear. */
struct sched_task_ref {
	char *app_id;      /* "/a/b" */
	char *instance_id; /* "a_b.instance-<uuid>", "a_b.marathon-<uuid>" */
	char *container;   /* pod tasks; "_app" for app tasks; NULL legacy */
	int64_t incarnation; /* 0 when the form carries none */
	bool legacy;       /* "marathon-" or bare uuid forms */
};

/* Parse TASK_ID into *REF_R.  A legacy "<safe>.<uuid>" task belongs to
 * the instance "<safe>.marathon-<uuid>", as in Marathon.  Returns 0; -1
 * with errno EINVAL when TASK_ID has no known form (*REF_R then zeroed),
 * ENOMEM when out of memory. */
int sched_task_ref_parse(const char *task_id, struct sched_task_ref *ref_r);

/* Frees what REF holds and zeroes it.  NULL-safe. */
void sched_task_ref_clear(struct sched_task_ref *ref);

/* The app id of INSTANCE_ID ("<safe>.instance-<uuid>" or
 * "<safe>.marathon-<uuid>") into *APP_ID_R (malloc'ed, the caller frees
 * it).  Returns 0, or -1 with errno EINVAL or ENOMEM. */
int sched_instance_id_app(const char *instance_id, char **app_id_r);

#endif /* STADION_SCHED_IDS_H */
