#include "config.h"

#include "jsonutil.h"

int jsonutil_add(struct json_object *o, const char *key,
                 struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int jsonutil_append(struct json_object *arr, struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}
