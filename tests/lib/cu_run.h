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

#endif /* STADION_TEST_CU_RUN_H */
