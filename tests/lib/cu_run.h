/*
 * cu_run: the main() of every CUnit program: run the suites in basic mode,
 * print CUnit's summary, and exit non-zero when anything failed.
 */
#ifndef STADION_TEST_CU_RUN_H
#define STADION_TEST_CU_RUN_H

#include <CUnit/CUnit.h>

/* Register SUITES (terminated by CU_SUITE_INFO_NULL) and run them.
 * Returns the process exit status: 0 when every test passed. */
int cu_run(CU_SuiteInfo *suites);

/* The project's assertions.  Each is a CU_ASSERT that also returns whether
 * it held, so a test can stop early without CU_ASSERT_FATAL's longjmp
 * (which would leak what the test holds), and shows both values when it
 * fails. */
#define CHECK(cond)                                                        \
	(CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__,    \
	                         #cond, __FILE__, "", CU_FALSE))
/* String equality; ACTUAL may be NULL (and then fails). */
#define CHECK_STR(actual, expected)                                        \
	cu_check_str((actual), (expected), #actual, __FILE__, __LINE__)
#define CHECK_INT(actual, expected)                                        \
	cu_check_int((long long)(actual), (long long)(expected), #actual,   \
	             __FILE__, __LINE__)
/* HAYSTACK (may be NULL) contains NEEDLE. */
#define CHECK_CONTAINS(haystack, needle)                                   \
	cu_check_contains((haystack), (needle), #haystack, __FILE__, __LINE__)

CU_BOOL cu_check_str(const char *actual, const char *expected,
                     const char *expr, const char *file, unsigned int line);
CU_BOOL cu_check_int(long long actual, long long expected, const char *expr,
                     const char *file, unsigned int line);
CU_BOOL cu_check_contains(const char *haystack, const char *needle,
                          const char *expr, const char *file,
                          unsigned int line);

#endif /* STADION_TEST_CU_RUN_H */
