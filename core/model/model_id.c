#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "model/model_id.h"

/* Append the segments of PATH to OUT (at *LEN, room for all of them),
 * resolving "." and ".." against what is already there. */
static void id_append(char *out, size_t *len, const char *path)
{
	while (*path != '\0') {
		size_t n = strcspn(path, "/");

		if (n == 0 || (n == 1 && path[0] == '.')) {
			/* empty segment or ".": nothing */
		} else if (n == 2 && path[0] == '.' && path[1] == '.') {
			/* ".." above the root stays at the root, as in
			 * canonicalPath. */
			while (*len > 0 && out[*len - 1] != '/')
				(*len)--;
			if (*len > 0)
				(*len)--;
		} else {
			out[(*len)++] = '/';
			memcpy(out + *len, path, n);
			*len += n;
		}
		path += n;
		if (*path == '/')
			path++;
	}
	out[*len] = '\0';
}

char *model_id_normalize(const char *id, const char *base)
{
	size_t len = 0;
	char *out;

	if (base == NULL)
		base = "/";
	out = malloc(strlen(id) + strlen(base) + 3);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	if (id[0] != '/')
		id_append(out, &len, base);
	id_append(out, &len, id);
	if (len == 0)
		strcpy(out, "/");
	return out;
}

bool model_id_is_root(const char *id)
{
	return strcmp(id, "/") == 0 || id[0] == '\0';
}

/* One dot-separated label: [a-z0-9] or [a-z0-9][a-z0-9-]*[a-z0-9]. */
bool model_id_label_valid(const char *s, size_t n)
{
	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool model_id_segment_valid(const char *seg, size_t len)
{
	/* The regex's last alternative: a lone "." or "..". */
	if (len == 0)
		return false;
	if ((len == 1 && seg[0] == '.') ||
	    (len == 2 && seg[0] == '.' && seg[1] == '.'))
		return true;
	while (len > 0) {
		const char *dot = memchr(seg, '.', len);
		size_t n = dot != NULL ? (size_t)(dot - seg) : len;

		if (!model_id_label_valid(seg, n))
			return false;
		if (dot == NULL)
			break;
		len -= n + 1;
		seg = dot + 1;
		if (len == 0)
			return false; /* trailing dot */
	}
	return true;
}

const char *model_id_check(const char *id)
{
	const char *last = NULL;
	size_t last_len = 0;

	if (model_id_is_root(id))
		return MODEL_ID_MSG_EMPTY;
	for (const char *p = id; *p != '\0';) {
		size_t n;

		if (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!model_id_segment_valid(p, n))
			return MODEL_ID_MSG_REGEX;
		last = p;
		last_len = n;
		p += n;
	}
	if (last != NULL &&
	    ((last_len == 7 && strncmp(last, "restart", 7) == 0) ||
	     (last_len == 5 && strncmp(last, "tasks", 5) == 0) ||
	     (last_len == 8 && strncmp(last, "versions", 8) == 0)))
		return MODEL_ID_MSG_RESERVED;
	return NULL;
}

char *model_id_safe(const char *id)
{
	char *out;

	while (*id == '/')
		id++;
	if ((out = strdup(id)) == NULL)
		return NULL;
	for (char *p = out; *p != '\0'; p++)
		if (*p == '/')
			*p = '_';
	return out;
}

char *model_id_parent(const char *id)
{
	const char *slash = strrchr(id, '/');
	size_t n = slash != NULL ? (size_t)(slash - id) : 0;
	char *out;

	if (n == 0)
		return strdup("/");
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(out, id, n);
	out[n] = '\0';
	return out;
}
