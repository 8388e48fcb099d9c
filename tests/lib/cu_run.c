#include "config.h"

#include <stdio.h>

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
