/*
 * tjson: reading the JSON bodies the integration suites get back.  Every
 * function takes NULL or a value of the wrong type and answers "absent", so
 * that a test can chain lookups and assert once on the result.  Everything
 * returned is borrowed from the value passed in.
 */
#ifndef STADION_TEST_TJSON_H
#define STADION_TEST_TJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Member KEY of object O; NULL when O is not an object, KEY is missing or
 * its value is null. */
struct json_object *tjson_get(struct json_object *o, const char *key);
/* Whether object O has KEY (even with a null value). */
bool tjson_has(struct json_object *o, const char *key);
/* Member KEY as a string; NULL when absent or not a string. */
const char *tjson_str(struct json_object *o, const char *key);
/* Member KEY as an integer; -1 when absent or not an integer. */
int64_t tjson_int(struct json_object *o, const char *key);
/* The length of array A; 0 when A is not an array. */
size_t tjson_len(struct json_object *a);
/* Element I of array A; NULL when out of range or A is not an array. */
struct json_object *tjson_at(struct json_object *a, size_t i);

#endif /* STADION_TEST_TJSON_H */
