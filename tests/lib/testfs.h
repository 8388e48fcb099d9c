/*
 * testfs: file-system chores of the test programs: temporary directories,
 * their removal, and copying a plugin into a directory the loader accepts.
 */
#ifndef STADION_TEST_TESTFS_H
#define STADION_TEST_TESTFS_H

#include <stdbool.h>
#include <stddef.h>

/* Make a fresh directory $TMPDIR/stadion-WHAT-XXXXXX (/tmp without
 * TMPDIR) and write its path into BUF (LEN bytes). */
bool testfs_mkdtemp(char *buf, size_t len, const char *what);
/* Write TEXT to a fresh file $TMPDIR/stadion-WHAT-XXXXXX (/tmp without
 * TMPDIR), mode 0600, and its path into BUF (LEN bytes); the caller
 * unlinks it.  On failure nothing is left behind. */
bool testfs_write_temp(char *buf, size_t len, const char *what,
                       const char *text);
/* rm -rf PATH; no symbolic link is followed. */
void testfs_rm_tree(const char *path);
/* Copy SRC to DST with mode 0755: the loader refuses group-writable
 * plugins, and a build tree's files may be. */
bool testfs_copy_file(const char *src, const char *dst);

#endif /* STADION_TEST_TESTFS_H */
