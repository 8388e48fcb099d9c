/*
 * constraint_common: what the bundled constraint operators share, as static
 * inline functions: a plugin links nothing of stadion's, so code shared
 * between them is compiled into each.  Not installed: it is no ABI.
 */
#ifndef STADION_CONSTRAINT_COMMON_H
#define STADION_CONSTRAINT_COMMON_H

#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/constraint.h>

/* Java's Integer.parseInt, which Marathon's validation uses: an optional
 * sign, then ASCII digits only, within 32 bits.  True with *value_r set. */
static inline bool cc_parse_int(const char *s, int64_t *value_r)
{
	int64_t v = 0;
	bool neg = false;

	if (s == NULL)
		return false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return false;
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX)
		return false;
	*value_r = v;
	return true;
}

/* A LIKE / UNLIKE pattern: a POSIX extended regular expression that must
 * match the whole value (Java's String.matches). */
struct cc_regex {
	regex_t re;
};

/* 0, or STADION_EINVAL with Marathon's messages in ERR. */
static inline int cc_regex_compile(const char *operand, void **arg_r,
                                   struct stadion_err *err)
{
	struct cc_regex *rx;

	if (operand == NULL || *operand == '\0')
		return stadion_err_set(err, STADION_EINVAL,
		                       "LIKE and UNLIKE require a non-empty, "
		                       "regular expression value");
	if ((rx = malloc(sizeof(*rx))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	if (regcomp(&rx->re, operand, REG_EXTENDED) != 0) {
		free(rx);
		return stadion_err_set(err, STADION_EINVAL,
		                       "is not a valid regular expression");
	}
	*arg_r = rx;
	return 0;
}

static inline void cc_regex_free(void *state, void *arg)
{
	struct cc_regex *rx = arg;

	(void)state;
	if (rx == NULL)
		return;
	regfree(&rx->re);
	free(rx);
}

/* Whether the pattern matches all of VALUE.  POSIX matching is
 * leftmost-longest, so when the whole value can match, the match found
 * from offset 0 is the whole value: no anchors need to be added (adding
 * "^(...)$" would change what an operand with its own parentheses
 * means). */
static inline bool cc_regex_whole(const struct cc_regex *rx,
                                  const char *value)
{
	regmatch_t m[1];

	if (regexec(&rx->re, value, 1, m, 0) != 0)
		return false;
	return m[0].rm_so == 0 && (size_t)m[0].rm_eo == strlen(value);
}

#endif /* STADION_CONSTRAINT_COMMON_H */
