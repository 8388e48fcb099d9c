/*
 * leader: leader election through ZooKeeper for cluster mode (--zk with
 * HA on, the default).
 *
 * Every node creates an ephemeral sequential candidate
 * "<zk path>/leader/member-NNNNNNNNNN" holding its "host:port"; the lowest
 * sequence number leads.  Every node watches the candidate list, so every
 * node knows the current leader (standbys proxy to it).
 *
 * Split brain.  The election holds its own session.  The leader stops
 * acting the moment its session is in doubt: on a connection loss (which
 * the client sees after two thirds of the session timeout without hearing
 * from the server, so a third of it before the server can expire the
 * session and elect someone else) and on an expiry, it replaces the process
 * with a fresh stadiond (leader_reexec), which stands again as a candidate
 * once ZooKeeper is back.  Tasks outlive it and the next leader adopts
 * them.  A standby that loses its session does the same: a fresh process
 * is the simplest correct state.
 *
 * Threading.  The ZooKeeper client calls back on its own thread; the
 * election runs its synchronous calls on a thread of its own and hands each
 * outcome to the loop (an event made active from that thread), where the
 * callbacks run.
 */
#ifndef STADION_LEADER_H
#define STADION_LEADER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

struct leader;

struct leader_config {
	struct event_base *base;  /* created after evthread_use_pthreads() */
	const char *zk;           /* the --zk URL (copied) */
	int session_timeout_ms;
	const char *self_id;      /* this node's "host:port" (copied) */
	/* On the loop: the known leader changed (this node, another one, or
	 * none).  leader_current() and leader_is_self() tell which. */
	void (*changed)(void *arg);
	void *arg;
	/* The command line of this process, for leader_reexec() (borrowed:
	 * main()'s argv, which outlives everything). */
	char *const *argv;
};

/* Connect and stand as a candidate; the outcome arrives through
 * CFG->changed.  NULL with a message for the operator in ERR (LEN bytes)
 * on a malformed --zk URL or when the client cannot start. */
struct leader *leader_new(const struct leader_config *cfg, char *err,
                          size_t len);
/* Withdraw: close the session, which removes the candidate at once so
 * that the next node leads without waiting for a timeout.  NULL-safe. */
void leader_free(struct leader *l);

/* "host:port" of the current leader (owned by L, valid until the next
 * changed callback), or NULL when no leader is known. */
const char *leader_current(const struct leader *l);
/* This node is the leader. */
bool leader_is_self(const struct leader *l);

/* Replace this process by a fresh stadiond with the same command line (the
 * same pid: a supervisor sees nothing).  Descriptors are closed across the
 * exec; child processes (tasks) stay.  Does not return; exits the process
 * if the exec fails.  Safe from any thread. */
void leader_reexec(char *const *argv) __attribute__((noreturn));

#endif /* STADION_LEADER_H */
