#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lib/cu_run.h"

int cu_run(CU_SuiteInfo *suites)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS ||
	    CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 99; /* automake: hard error */
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	if (CU_get_number_of_tests_run() == 0) {
		fprintf(stderr, "CUnit: no test ran\n");
		failed = 1;
	}
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}

CU_BOOL cu_check_str(const char *actual, const char *expected,
                     const char *expr, const char *file, unsigned int line)
{
	CU_BOOL ok = actual != NULL && strcmp(actual, expected) == 0;

	if (!ok)
		fprintf(stderr, "\n%s:%u: %s is %s%s%s, expected \"%s\"\n",
		        file, line, expr, actual != NULL ? "\"" : "",
		        actual != NULL ? actual : "NULL",
		        actual != NULL ? "\"" : "", expected);
	return CU_assertImplementation(ok, line, expr, file, "", CU_FALSE);
}

CU_BOOL cu_check_int(long long actual, long long expected, const char *expr,
                     const char *file, unsigned int line)
{
	CU_BOOL ok = actual == expected;

	if (!ok)
		fprintf(stderr, "\n%s:%u: %s is %lld, expected %lld\n", file,
		        line, expr, actual, expected);
	return CU_assertImplementation(ok, line, expr, file, "", CU_FALSE);
}

CU_BOOL cu_check_contains(const char *haystack, const char *needle,
                          const char *expr, const char *file,
                          unsigned int line)
{
	CU_BOOL ok = haystack != NULL && strstr(haystack, needle) != NULL;

	if (!ok)
		fprintf(stderr, "\n%s:%u: %s does not contain \"%s\": %s\n",
		        file, line, expr, needle,
		        haystack != NULL ? haystack : "NULL");
	return CU_assertImplementation(ok, line, expr, file, "", CU_FALSE);
}
