#include "config.h"

#include <signal.h>
#include <spawn.h>

#include "spawnutil.h"

int spawnutil_attr_init(posix_spawnattr_t *attr)
{
	sigset_t none, all;
	int rc;

	if ((rc = posix_spawnattr_init(attr)) != 0)
		return rc;
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
	                                   POSIX_SPAWN_SETSIGMASK |
	                                   POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(attr, &all)) != 0)
		posix_spawnattr_destroy(attr);
	return rc;
}
