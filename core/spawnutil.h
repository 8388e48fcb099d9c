/*
 * spawnutil: what every process the daemon spawns shares (a task of the
 * local driver, a plugin's process): its own process group, so that it is
 * killed as a whole and a signal to the daemon's group does not reach it,
 * and a clean signal state, so that the loop's blocked or ignored signals
 * do not leak into it.
 */
#ifndef STADION_SPAWNUTIL_H
#define STADION_SPAWNUTIL_H

#include <spawn.h>

/* posix_spawnattr_init() ATTR with a new process group, no blocked signal
 * and every signal at its default disposition.  0 (the caller then owns
 * ATTR: posix_spawnattr_destroy()), or an errno value with ATTR destroyed
 * already. */
int spawnutil_attr_init(posix_spawnattr_t *attr);

#endif /* STADION_SPAWNUTIL_H */
