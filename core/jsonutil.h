/*
 * jsonutil: json-c helpers shared by the daemon's modules.
 */
#ifndef STADION_JSONUTIL_H
#define STADION_JSONUTIL_H

#include <json-c/json.h>

/* Add VAL (ownership passes) to object O under KEY.  A NULL VAL, what a
 * json-c constructor returns when out of memory, fails instead of being
 * stored as JSON null.  0, or -1 (VAL has been released). */
int jsonutil_add(struct json_object *o, const char *key,
                 struct json_object *val);

/* Append VAL (ownership passes) to array ARR; the same rules. */
int jsonutil_append(struct json_object *arr, struct json_object *val);

#endif /* STADION_JSONUTIL_H */
