/*
 * model_errors: the validation errors of one request, as Marathon reports
 * them in a 422 body.  Two kinds exist because Marathon checks in two
 * stages: JSON that has the wrong shape (a string where a number belongs,
 * a required field missing) fails while reading, with Play JSON's error
 * keys, under "Invalid JSON"; only a definition that reads is validated,
 * and those errors come under "Object is not valid".  When both kinds were
 * collected only the read errors are reported, as Marathon never gets to
 * the second stage.
 */
#ifndef STADION_MODEL_ERRORS_H
#define STADION_MODEL_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

enum model_error_kind {
	MODEL_ERR_JSON,  /* "Invalid JSON": error.expected.jsstring, ... */
	MODEL_ERR_VALID, /* "Object is not valid" */
};

/* Play JSON's error keys. */
#define MODEL_ERR_STRING "error.expected.jsstring"
#define MODEL_ERR_NUMBER "error.expected.jsnumber"
#define MODEL_ERR_BOOLEAN "error.expected.jsboolean"
#define MODEL_ERR_ARRAY "error.expected.jsarray"
#define MODEL_ERR_OBJECT "error.expected.jsobject"
#define MODEL_ERR_INT "error.expected.int"
#define MODEL_ERR_MISSING "error.path.missing"
#define MODEL_ERR_ENUM "error.unknown.enum.literal"

struct model_error {
	enum model_error_kind kind;
	char *path;    /* "/upgradeStrategy/minimumHealthCapacity", owned */
	char *message; /* owned */
};

struct model_errors {
	struct model_error *items; /* in the order they were added */
	size_t n, cap;
	bool oom; /* an add failed: the list is incomplete */
};

/* ERRS is caller storage; start it zeroed or with model_errors_init. */
void model_errors_init(struct model_errors *errs);
/* Free what ERRS holds and leave it empty.  NULL-safe. */
void model_errors_clear(struct model_errors *errs);

/* Add an error at PREFIX + PATH (PREFIX may be NULL or "", e.g.
 * "/apps(0)"; PATH "/" is the object itself, so "/apps(0)" + "/" is
 * "/apps(0)").  The message is printf-formatted.  On out of memory the
 * error is dropped and ERRS->oom set. */
void model_errors_add(struct model_errors *errs, enum model_error_kind kind,
                      const char *prefix, const char *path, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

/* Whether any error was added (of any kind, or dropped for memory). */
bool model_errors_any(const struct model_errors *errs);

/* The first message at exactly PATH (kinds as reported), or NULL.  For
 * tests and logs. */
const char *model_errors_find(const struct model_errors *errs,
                              const char *path);

/* The 422 body: {"message":"Object is not valid"|"Invalid JSON",
 * "details":[{"path":"/x","errors":["..."]}]}, one entry per path in the
 * order the paths first appeared, with their messages grouped.  Returns a
 * new object the caller puts, or NULL when out of memory. */
struct json_object *model_errors_to_json(const struct model_errors *errs);

#endif /* STADION_MODEL_ERRORS_H */
