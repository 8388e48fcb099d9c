/*
 * state_codec: the stored JSON of the state entities (state.h), and the
 * root documents.  Private to core/state.
 *
 * Every encoder returns a malloc'ed NUL-terminated string the caller frees,
 * or NULL when out of memory.  Every decoder takes the stored bytes
 * (borrowed, not NUL-terminated), returns 0 with a new object the caller
 * owns in *_r, or STADION_EIO with MSG saying what is wrong (the object is
 * then untouched).  Thread: any, no shared state.
 */
#ifndef STADION_STATE_CODEC_H
#define STADION_STATE_CODEC_H

#include <stddef.h>

#include "model/model_app.h"
#include "state/state.h"

/* One app of a root version. */
struct state_root_entry {
	char *id;      /* owned */
	char *version; /* owned */
};

/* A root version: {"version": V, "apps": [{"id", "version"}...]}, the
 * apps sorted by id.  Owns everything. */
struct state_root_doc {
	char *version;
	struct state_root_entry *apps;
	size_t n;
};

/* The document of root VERSION over the N APPS (sorted by id, borrowed;
 * ids and versions are copied).  NULL when out of memory. */
struct state_root_doc *state_root_doc_new(const char *version,
                                          struct app *const *apps, size_t n);
/* NULL-safe. */
void state_root_doc_free(struct state_root_doc *doc);
/* The entry of app ID, borrowed from DOC, or NULL. */
const struct state_root_entry *
state_root_doc_find(const struct state_root_doc *doc, const char *id);
char *state_root_doc_encode(const struct state_root_doc *doc);
int state_root_doc_decode(const void *value, size_t len,
                          struct state_root_doc **doc_r, char *msg,
                          size_t msglen);

char *state_app_encode(const struct app *app);
int state_app_decode(const void *value, size_t len, struct app **app_r,
                     char *msg, size_t msglen);

char *state_instance_encode(const struct state_instance *inst);
int state_instance_decode(const void *value, size_t len,
                          struct state_instance **inst_r, char *msg,
                          size_t msglen);

char *state_deployment_encode(const struct state_deployment *dep);
int state_deployment_decode(const void *value, size_t len,
                            struct state_deployment **dep_r, char *msg,
                            size_t msglen);

#endif /* STADION_STATE_CODEC_H */
