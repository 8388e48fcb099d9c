/*
 * fsutil: file-system helpers shared by the daemon's modules.
 */
#ifndef STADION_FSUTIL_H
#define STADION_FSUTIL_H

#include <sys/types.h>

/* mkdir -p PATH: create PATH and its missing parents with MODE.  0, or -1
 * with errno set (ENAMETOOLONG beyond PATH_MAX). */
int fsutil_mkdir_p(const char *path, mode_t mode);

#endif /* STADION_FSUTIL_H */
