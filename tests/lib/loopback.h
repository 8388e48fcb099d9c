/*
 * loopback: what tests with servers and clients in one process share:
 * raw sockets that misbehave on purpose, and turning an event loop until
 * something happened (free ports: testnet.h).  Nothing here can hang: every
 * wait is bounded.
 */
#ifndef STADION_TEST_LOOPBACK_H
#define STADION_TEST_LOOPBACK_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

/* A nonblocking socket listening on 127.0.0.1 with BACKLOG, its port in
 * *PORT_R; -1 on failure.  The caller closes it. */
int loopback_listen(int backlog, uint16_t *port_r);
/* Connect to 127.0.0.1:PORT and write REQUEST; the connected socket (the
 * caller closes it, with or without reading), or -1. */
int loopback_send_raw(uint16_t port, const char *request);

/* How many loop turns loop_run_until() waits (each at most
 * LOOP_STEP_MS): a bound, not a timing assertion. */
#define LOOP_STEPS 1000
#define LOOP_STEP_MS 10

/* Run BASE until DONE(ARG) holds or MAX_STEPS turns passed; whether it
 * holds. */
bool loop_run_until(struct event_base *base, bool (*done)(const void *arg),
                    const void *arg, int max_steps);
/* Turn BASE N times, for what nobody waits for. */
void loop_run_steps(struct event_base *base, int n);

#endif /* STADION_TEST_LOOPBACK_H */
