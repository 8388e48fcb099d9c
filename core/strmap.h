/*
 * strmap: a hash map from C strings to pointers, for the tables that grow
 * to 100,000 entries (instances by id, tasks by id).  Keys are borrowed:
 * each entry's key must live as long as the entry, which is natural when
 * the key is a member of the value.  Chaining with a power-of-two table
 * that doubles at load 1, so every operation is O(1) on average.
 */
#ifndef STADION_STRMAP_H
#define STADION_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* NULL when out of memory. */
struct strmap *strmap_new(void);
/* Frees the map, not the keys or values.  NULL-safe. */
void strmap_free(struct strmap *m);
/* Map KEY to VALUE, replacing an entry with an equal key.  0 or -1 when
 * out of memory (the map is unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value);
/* KEY's value, NULL when absent. */
void *strmap_get(const struct strmap *m, const char *key);
/* Remove KEY; returns its value, NULL when absent. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);

#endif /* STADION_STRMAP_H */
