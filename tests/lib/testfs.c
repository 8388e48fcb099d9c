#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/testfs.h"

bool testfs_mkdtemp(char *buf, size_t len, const char *what)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/stadion-%s-XXXXXX",
	                 t != NULL && t[0] != '\0' ? t : "/tmp", what);

	return n > 0 && (size_t)n < len && mkdtemp(buf) != NULL;
}

bool testfs_write_temp(char *buf, size_t len, const char *what,
                       const char *text)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/stadion-%s-XXXXXX",
	                 t != NULL && t[0] != '\0' ? t : "/tmp", what);
	size_t left = strlen(text);
	bool ok = true;
	int fd;

	if (n <= 0 || (size_t)n >= len || (fd = mkstemp(buf)) < 0)
		return false;
	while (ok && left > 0) {
		ssize_t w = write(fd, text, left);

		ok = w > 0;
		if (ok) {
			text += w;
			left -= (size_t)w;
		}
	}
	if (close(fd) != 0)
		ok = false;
	if (!ok)
		unlink(buf);
	return ok;
}

void testfs_rm_tree(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[PATH_MAX];
			int n;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			n = snprintf(sub, sizeof(sub), "%s/%s", path,
			             de->d_name);
			if (n > 0 && (size_t)n < sizeof(sub))
				testfs_rm_tree(sub);
		}
		closedir(d);
	}
	remove(path);
}

bool testfs_copy_file(const char *src, const char *dst)
{
	char buf[65536];
	bool ok = false;
	ssize_t n;
	int in, out;

	if ((in = open(src, O_RDONLY)) < 0)
		return false;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755)) < 0)
		goto out_close_in;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto out_close_out;
	ok = n == 0 && fchmod(out, 0755) == 0;
out_close_out:
	if (close(out) != 0)
		ok = false;
out_close_in:
	close(in);
	return ok;
}
