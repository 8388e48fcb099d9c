#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct strmap_node {
	const char *key;
	void *value;
	uint64_t hash;
	struct strmap_node *next;
};

struct strmap {
	struct strmap_node **slots;
	size_t cap, n; /* cap is a power of two */
};

/* FNV-1a: short ids, no adversary (keys are our own ids). */
static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->cap = 64;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		for (struct strmap_node *n = m->slots[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(m->slots);
	free(m);
}

static struct strmap_node **find(const struct strmap *m, const char *key,
                                 uint64_t h)
{
	struct strmap_node **p = &m->slots[h & (m->cap - 1)];

	for (; *p != NULL; p = &(*p)->next)
		if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
			break;
	return p;
}

static void grow(struct strmap *m)
{
	size_t cap = m->cap * 2;
	struct strmap_node **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return; /* keep working at a higher load */
	for (size_t i = 0; i < m->cap; i++)
		for (struct strmap_node *n = m->slots[i], *next; n; n = next) {
			next = n->next;
			n->next = slots[n->hash & (cap - 1)];
			slots[n->hash & (cap - 1)] = n;
		}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = hash_key(key);
	struct strmap_node **p = find(m, key, h), *n;

	if (*p != NULL) {
		(*p)->key = key;
		(*p)->value = value;
		return 0;
	}
	if ((n = malloc(sizeof(*n))) == NULL)
		return -1;
	*n = (struct strmap_node){.key = key, .value = value, .hash = h};
	n->next = m->slots[h & (m->cap - 1)];
	m->slots[h & (m->cap - 1)] = n;
	if (++m->n > m->cap)
		grow(m);
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_node *n = *find(m, key, hash_key(key));

	return n != NULL ? n->value : NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_node **p = find(m, key, hash_key(key)), *n = *p;
	void *value;

	if (n == NULL)
		return NULL;
	value = n->value;
	*p = n->next;
	free(n);
	m->n--;
	return value;
}

size_t strmap_size(const struct strmap *m)
{
	return m->n;
}
