/*
 * zk_mirror: a standby's copy of every znode under the store's base path,
 * kept current with ZooKeeper watches while the node waits to be elected,
 * so that a new leader loads the state from memory instead of reading
 * every znode again.  Private to the zookeeper storage plugin.
 *
 * Why.  ZooKeeper answers about 10k reads/s on a 2-core machine, and the
 * state is one znode per entity: 1,000 apps and 10,000 instances are some
 * 12,000 reads, 1.5-2 s after the election.  A standby that holds them
 * already needs one sync and the reads of what changed since.  Curator's
 * TreeCache does the same in Java.  The C client (3.8) has no persistent
 * recursive watch, so every znode carries a one-shot data watch and a
 * one-shot child watch, each renewed by the read its event queues.
 *
 * Why the copy is exact after zk_mirror_catch_up().  Every znode in it was
 * last read with both watches set, so a change after that read queues an
 * event.  ZooKeeper delivers a session's events before its reply to a
 * later request, so when the reply to the sync has come, every change made
 * before the sync is queued; reading until nothing is queued leaves every
 * znode read after its last change.  A child list names only znodes the
 * copy holds: a name it does not hold is read at once.  From the election
 * on, the elected node is the only writer, and its first write drops the
 * copy (zk_mirror_drop()).
 *
 * Why a lost connection does not matter, and an expired session does.
 * Reconnecting within the session, the client sets every watch again
 * (SetWatches, before any other request), and ZooKeeper fires at once
 * those whose znodes changed meanwhile: the rule above holds across the
 * gap.  An expired session takes its watches along: the copy is read
 * again (zk_mirror_reset()).
 *
 * Threads.  The watcher runs on ZooKeeper's completion thread; it only
 * queues a read and calls WAKE.  Every other function is for the store's
 * worker thread (zk_mirror_due() for any thread).
 */
#ifndef STADION_ZK_MIRROR_H
#define STADION_ZK_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zookeeper/zookeeper.h>

struct zk_mirror;

/* The mirror has reads queued: called from ZooKeeper's completion thread,
 * so it must only wake the worker. */
typedef void zk_mirror_wake_fn(void *arg);

/* A mirror of BASE (copied), which reads everything at its first
 * zk_mirror_step().  NULL when out of memory.  The watches it sets point
 * at it: free it only after every session it read with is closed. */
struct zk_mirror *zk_mirror_new(const char *base, zk_mirror_wake_fn *wake,
                                void *wake_arg);
void zk_mirror_free(struct zk_mirror *m);

/* It has reads queued (the first full read, or changes to follow) and is
 * neither serving nor dropped.  Any thread. */
bool zk_mirror_due(struct zk_mirror *m);

/* The first full read has finished: the copy follows changes now. */
bool zk_mirror_ready(const struct zk_mirror *m);

/* The number of znodes in the copy. */
size_t zk_mirror_count(const struct zk_mirror *m);

/* Send the next queued reads (a pipelined batch) with ZH and apply the
 * answers.  ZOK, or ZooKeeper's code for a read it failed (it stays
 * queued: call again once the session is connected), or ZSYSTEMERROR
 * when memory ran out. */
int zk_mirror_step(struct zk_mirror *m, zhandle_t *zh);

/* Forget the copy and read everything again: the session whose watches
 * kept it current expired. */
void zk_mirror_reset(struct zk_mirror *m);

/* For the node just elected: sync with ZooKeeper, then read what changed,
 * for at most TIMEOUT_MS.  0 with *READS_R the reads that took: the mirror
 * now answers zk_mirror_get() and zk_mirror_list() and ignores events.
 * -1 with *WHY_R (static text) saying why the copy cannot be used; the
 * caller then drops it.  1, with *WHY_R too, when the connection failed a
 * request: the copy is as good as before, and another call once the
 * session is connected again goes on from there. */
int zk_mirror_catch_up(struct zk_mirror *m, zhandle_t *zh, int timeout_ms,
                       size_t *reads_r, const char **why_r);

/* Serving, after zk_mirror_catch_up(). */
bool zk_mirror_serving(const struct zk_mirror *m);

/* Free the copy and ignore events from now on (idempotent). */
void zk_mirror_drop(struct zk_mirror *m);

/* Serving: the data of the znode PATH, borrowed until the next call that
 * changes the mirror; false when there is no such znode. */
bool zk_mirror_get(const struct zk_mirror *m, const char *path,
                   const char **data_r, size_t *len_r);

/* Serving: the names of PATH's children in byte order, borrowed likewise;
 * none when there is no such znode. */
void zk_mirror_list(const struct zk_mirror *m, const char *path,
                    char *const **names_r, size_t *n_r);

#endif /* STADION_ZK_MIRROR_H */
