/*
 * testnet: network chores of the test programs.
 */
#ifndef STADION_TEST_TESTNET_H
#define STADION_TEST_TESTNET_H

#include <stdint.h>

/* A TCP port on 127.0.0.1 that is free now: bound to port 0, read back and
 * released, so another process may take it before the caller binds it
 * (callers retry).  0 when none could be had (errno says why). */
uint16_t testnet_free_port(void);

#endif /* STADION_TEST_TESTNET_H */
