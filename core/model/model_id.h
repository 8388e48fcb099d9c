/*
 * model_id: Marathon path ids (/group/app).  An id is normalized the way
 * Marathon's PathId.canonicalPath does it: leading and trailing '/' and
 * empty segments dropped, a relative id appended to its base, "." and ".."
 * resolved, the result absolute ("/a/b").  Validation follows PathId's
 * validators, with their exact messages.
 */
#ifndef STADION_MODEL_ID_H
#define STADION_MODEL_ID_H

#include <stdbool.h>
#include <stddef.h>

/* PathId's messages, for callers that report them. */
#define MODEL_ID_MSG_REGEX                                                  \
	"must fully match regular expression "                              \
	"'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"                   \
	"([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'"
#define MODEL_ID_MSG_RESERVED                                               \
	"must not end with any of the following reserved keywords: "        \
	"restart, tasks, versions"
#define MODEL_ID_MSG_EMPTY "Path must contain at least one path element"

/* Normalize ID against BASE (an absolute id such as "/" or "/group"; NULL
 * means "/").  Returns a malloc'ed absolute id the caller frees ("/" for
 * the root), or NULL when out of memory. */
char *model_id_normalize(const char *id, const char *base);

/* Whether the normalized ID is the root "/". */
bool model_id_is_root(const char *id);

/* Check a normalized ID.  Returns NULL when it is valid, else the first
 * rule it breaks as one of the MODEL_ID_MSG_* strings (static). */
const char *model_id_check(const char *id);

/* Whether one segment matches Marathon's segment regex. */
bool model_id_segment_valid(const char *seg, size_t len);
/* Whether the LEN bytes at S are one DNS label, [a-z0-9]([-a-z0-9]*[a-z0-9])?
 * (an id segment's parts between dots; port names too). */
bool model_id_label_valid(const char *s, size_t len);

/* The safe id used in task ids: "/a/b.c" -> "a_b.c".  Malloc'ed, the
 * caller frees it; NULL when out of memory. */
char *model_id_safe(const char *id);

/* The parent of a normalized ID: "/a/b" -> "/a", "/a" -> "/", "/" -> "/".
 * Malloc'ed, the caller frees it; NULL when out of memory. */
char *model_id_parent(const char *id);

#endif /* STADION_MODEL_ID_H */
