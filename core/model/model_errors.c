#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_errors.h"

void model_errors_init(struct model_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void model_errors_clear(struct model_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->items[i].path);
		free(errs->items[i].message);
	}
	free(errs->items);
	model_errors_init(errs);
}

void model_errors_add(struct model_errors *errs, enum model_error_kind kind,
                      const char *prefix, const char *path, const char *fmt,
                      ...)
{
	struct model_error *e;
	va_list ap;
	int len;

	if (prefix == NULL)
		prefix = "";
	/* The object itself under a prefix is the prefix ("/apps(0)"). */
	if (prefix[0] != '\0' && strcmp(path, "/") == 0)
		path = "";
	if (errs->n == errs->cap) {
		size_t cap = errs->cap != 0 ? errs->cap * 2 : 8;
		struct model_error *items;

		items = realloc(errs->items, cap * sizeof(*items));
		if (items == NULL)
			goto fail;
		errs->items = items;
		errs->cap = cap;
	}
	e = &errs->items[errs->n];
	e->kind = kind;
	e->path = malloc(strlen(prefix) + strlen(path) + 1);
	if (e->path == NULL)
		goto fail;
	strcpy(e->path, prefix);
	strcat(e->path, path);
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || (e->message = malloc((size_t)len + 1)) == NULL)
		goto fail_free_path;
	va_start(ap, fmt);
	vsnprintf(e->message, (size_t)len + 1, fmt, ap);
	va_end(ap);
	errs->n++;
	return;

fail_free_path:
	free(e->path);
fail:
	errs->oom = true;
}

bool model_errors_any(const struct model_errors *errs)
{
	return errs->n > 0 || errs->oom;
}

/* Whether any read (type) error is there: then only those are shown. */
static bool has_json_errors(const struct model_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		if (errs->items[i].kind == MODEL_ERR_JSON)
			return true;
	return false;
}

const char *model_errors_find(const struct model_errors *errs,
                              const char *path)
{
	enum model_error_kind kind =
		has_json_errors(errs) ? MODEL_ERR_JSON : MODEL_ERR_VALID;

	for (size_t i = 0; i < errs->n; i++)
		if (errs->items[i].kind == kind &&
		    strcmp(errs->items[i].path, path) == 0)
			return errs->items[i].message;
	return NULL;
}

/* The details entry for PATH, created at the end of DETAILS if absent;
 * NULL when out of memory. */
static struct json_object *details_errors(struct json_object *details,
                                          const char *path)
{
	struct json_object *entry, *list;
	size_t n = json_object_array_length(details);

	for (size_t i = 0; i < n; i++) {
		entry = json_object_array_get_idx(details, i);
		if (strcmp(json_object_get_string(json_object_object_get(
				   entry, "path")),
			   path) == 0)
			return json_object_object_get(entry, "errors");
	}
	if ((entry = json_object_new_object()) == NULL)
		return NULL;
	list = json_object_new_array();
	if (list == NULL ||
	    json_object_object_add(entry, "path",
	                           json_object_new_string(path)) != 0 ||
	    json_object_object_add(entry, "errors", list) != 0 ||
	    json_object_array_add(details, entry) != 0) {
		/* list is owned by entry once added; put it otherwise. */
		if (json_object_object_get(entry, "errors") != list)
			json_object_put(list);
		json_object_put(entry);
		return NULL;
	}
	return list;
}

struct json_object *model_errors_to_json(const struct model_errors *errs)
{
	enum model_error_kind kind =
		has_json_errors(errs) ? MODEL_ERR_JSON : MODEL_ERR_VALID;
	struct json_object *body, *details;

	if ((body = json_object_new_object()) == NULL)
		return NULL;
	if ((details = json_object_new_array()) == NULL)
		goto fail_put_body;
	if (json_object_object_add(
		    body, "message",
		    json_object_new_string(kind == MODEL_ERR_JSON
		                                   ? "Invalid JSON"
		                                   : "Object is not valid")) !=
	            0 ||
	    json_object_object_add(body, "details", details) != 0) {
		json_object_put(details);
		goto fail_put_body;
	}
	for (size_t i = 0; i < errs->n; i++) {
		const struct model_error *e = &errs->items[i];
		struct json_object *list, *msg;
		bool seen = false;

		if (e->kind != kind)
			continue;
		if ((list = details_errors(details, e->path)) == NULL)
			goto fail_put_body;
		/* Accord reports each violation once per path. */
		for (size_t k = 0; k < json_object_array_length(list); k++)
			if (strcmp(json_object_get_string(
					   json_object_array_get_idx(list, k)),
				   e->message) == 0)
				seen = true;
		if (seen)
			continue;
		if ((msg = json_object_new_string(e->message)) == NULL ||
		    json_object_array_add(list, msg) != 0) {
			json_object_put(msg);
			goto fail_put_body;
		}
	}
	return body;

fail_put_body:
	json_object_put(body);
	return NULL;
}
