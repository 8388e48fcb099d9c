#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_selector.h"

enum sel_op {
	SEL_EXISTS,
	SEL_EQ,
	SEL_NE,
	SEL_IN,
	SEL_NOTIN,
};

struct sel_term {
	enum sel_op op;
	char *key;
	char **values; /* EQ/NE: one; IN/NOTIN: the set */
	size_t n_values;
};

struct api_selector {
	struct sel_term *terms;
	size_t n_terms, cap_terms;
};

struct parser {
	const char *s;
	size_t pos;
	bool oom;
	char reason[160];
};

static void skip_blanks(struct parser *p)
{
	while (isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

static bool term_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static void fail(struct parser *p, const char *what)
{
	if (p->reason[0] != '\0')
		return;
	if (p->s[p->pos] == '\0')
		snprintf(p->reason, sizeof(p->reason), "%s expected but end of "
		         "source found", what);
	else
		snprintf(p->reason, sizeof(p->reason),
		         "%s expected but '%c' found", what, p->s[p->pos]);
}

/* A term with its escapes resolved, malloc'ed; NULL when there is none
 * here (reason set) or out of memory (oom set). */
static char *term(struct parser *p)
{
	size_t start, n = 0;
	char *out;

	skip_blanks(p);
	start = p->pos;
	for (;;) {
		char c = p->s[p->pos];

		if (c == '\\' && p->s[p->pos + 1] != '\0')
			p->pos += 2;
		else if (term_char(c))
			p->pos++;
		else
			break;
		n++;
	}
	if (n == 0) {
		fail(p, "a label or value");
		return NULL;
	}
	if ((out = malloc(n + 1)) == NULL) {
		p->oom = true;
		return NULL;
	}
	n = 0;
	for (size_t i = start; i < p->pos; i++) {
		if (p->s[i] == '\\')
			i++;
		out[n++] = p->s[i];
	}
	out[n] = '\0';
	return out;
}

static bool keyword(struct parser *p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncmp(p->s + p->pos, kw, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int add_value(struct parser *p, struct sel_term *t, char *v)
{
	char **values = realloc(t->values, (t->n_values + 1) * sizeof(*values));

	if (values == NULL) {
		free(v);
		p->oom = true;
		return -1;
	}
	t->values = values;
	t->values[t->n_values++] = v;
	return 0;
}

static void term_clear(struct sel_term *t)
{
	free(t->key);
	for (size_t i = 0; i < t->n_values; i++)
		free(t->values[i]);
	free(t->values);
	memset(t, 0, sizeof(*t));
}

/* One selector into T: 0, or -1 (reason or oom set). */
static int selector(struct parser *p, struct sel_term *t)
{
	size_t after_key;
	char *v;

	memset(t, 0, sizeof(*t));
	if ((t->key = term(p)) == NULL)
		return -1;
	skip_blanks(p);
	after_key = p->pos;
	if (keyword(p, "==") || keyword(p, "!=")) {
		t->op = p->s[p->pos - 2] == '=' ? SEL_EQ : SEL_NE;
		if ((v = term(p)) == NULL || add_value(p, t, v) != 0)
			return -1;
		return 0;
	}
	/* "in" and "notin" count only before a set: "a, index" is two
	 * existence selectors. */
	if (keyword(p, "notin") || keyword(p, "in")) {
		t->op = p->s[after_key] == 'n' ? SEL_NOTIN : SEL_IN;
		skip_blanks(p);
		if (p->s[p->pos] != '(') {
			p->pos = after_key;
			t->op = SEL_EXISTS;
			return 0;
		}
		p->pos++;
		skip_blanks(p);
		if (p->s[p->pos] == ')') {
			p->pos++;
			return 0;
		}
		for (;;) {
			if ((v = term(p)) == NULL || add_value(p, t, v) != 0)
				return -1;
			skip_blanks(p);
			if (p->s[p->pos] == ')') {
				p->pos++;
				return 0;
			}
			if (p->s[p->pos] != ',') {
				fail(p, "')'");
				return -1;
			}
			p->pos++;
		}
	}
	t->op = SEL_EXISTS;
	return 0;
}

int api_selector_parse(const char *in, struct api_selector **sel_r,
                       char *err, size_t errlen)
{
	struct parser p = {.s = in};
	struct api_selector *sel = calloc(1, sizeof(*sel));

	if (sel == NULL)
		return -2;
	skip_blanks(&p);
	/* An empty query selects everything; after a ',' a selector must
	 * follow. */
	while (p.s[p.pos] != '\0' || sel->n_terms > 0) {
		struct sel_term t;

		if (sel->n_terms == sel->cap_terms) {
			size_t cap = sel->cap_terms ? sel->cap_terms * 2 : 4;
			struct sel_term *terms =
				realloc(sel->terms, cap * sizeof(*terms));

			if (terms == NULL) {
				p.oom = true;
				break;
			}
			sel->terms = terms;
			sel->cap_terms = cap;
		}
		if (selector(&p, &t) != 0) {
			term_clear(&t);
			break;
		}
		sel->terms[sel->n_terms++] = t;
		skip_blanks(&p);
		if (p.s[p.pos] == '\0')
			break;
		if (p.s[p.pos] != ',') {
			fail(&p, "',' or end of input");
			break;
		}
		p.pos++;
	}
	if (p.oom) {
		api_selector_free(sel);
		return -2;
	}
	if (p.reason[0] != '\0') {
		snprintf(err, errlen,
		         "Can not parse label selector %s. Reason: %s", in,
		         p.reason);
		api_selector_free(sel);
		return -1;
	}
	*sel_r = sel;
	return 0;
}

static const char *label_value(const struct app *app, const char *key)
{
	for (size_t i = 0; i < app->n_labels; i++)
		if (strcmp(app->labels[i].key, key) == 0)
			return app->labels[i].value;
	return NULL;
}

static bool in_set(const struct sel_term *t, const char *v)
{
	for (size_t i = 0; i < t->n_values; i++)
		if (strcmp(t->values[i], v) == 0)
			return true;
	return false;
}

bool api_selector_match(const struct api_selector *sel, const struct app *app)
{
	for (size_t i = 0; i < sel->n_terms; i++) {
		const struct sel_term *t = &sel->terms[i];
		const char *v = label_value(app, t->key);

		if (v == NULL)
			return false;
		switch (t->op) {
		case SEL_EXISTS:
			break;
		case SEL_EQ:
			if (strcmp(v, t->values[0]) != 0)
				return false;
			break;
		case SEL_NE:
			if (strcmp(v, t->values[0]) == 0)
				return false;
			break;
		case SEL_IN:
			if (!in_set(t, v))
				return false;
			break;
		case SEL_NOTIN:
			if (in_set(t, v))
				return false;
			break;
		}
	}
	return true;
}

void api_selector_free(struct api_selector *sel)
{
	if (sel == NULL)
		return;
	for (size_t i = 0; i < sel->n_terms; i++)
		term_clear(&sel->terms[i]);
	free(sel->terms);
	free(sel);
}
