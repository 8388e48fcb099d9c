#include "config.h"

#include "lib/tjson.h"

struct json_object *tjson_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

bool tjson_has(struct json_object *o, const char *key)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	       json_object_object_get_ex(o, key, NULL);
}

const char *tjson_str(struct json_object *o, const char *key)
{
	struct json_object *v = tjson_get(o, key);

	return v != NULL && json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : NULL;
}

int64_t tjson_int(struct json_object *o, const char *key)
{
	struct json_object *v = tjson_get(o, key);

	return v != NULL && json_object_is_type(v, json_type_int)
	               ? json_object_get_int64(v)
	               : -1;
}

size_t tjson_len(struct json_object *a)
{
	return a != NULL && json_object_is_type(a, json_type_array)
	               ? json_object_array_length(a)
	               : 0;
}

struct json_object *tjson_at(struct json_object *a, size_t i)
{
	return i < tjson_len(a) ? json_object_array_get_idx(a, i) : NULL;
}
