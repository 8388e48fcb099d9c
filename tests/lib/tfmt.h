/*
 * tfmt: snprintf for test buffers.  They are sized for what goes in them,
 * so a truncation is a bug of the test: it aborts, where a cut string
 * would have the test check the wrong thing.
 */
#ifndef STADION_TEST_TFMT_H
#define STADION_TEST_TFMT_H

#include <stddef.h>

void tfmt(char *buf, size_t len, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* STADION_TEST_TFMT_H */
