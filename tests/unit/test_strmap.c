/* strmap: the hash map under the tracker's instance and task tables. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/cu_run.h"
#include "strmap.h"

#define N 20000 /* enough to grow the table many times */

static char keys[N][24];

static void test_put_get_del(void)
{
	struct strmap *m = strmap_new();
	size_t i;

	if (!CHECK(m != NULL))
		return;
	for (i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "app.instance-%zu", i);
		CHECK_INT(strmap_put(m, keys[i], &keys[i]), 0);
	}
	CHECK_INT(strmap_size(m), N);
	for (i = 0; i < N; i++)
		if (!CHECK(strmap_get(m, keys[i]) == &keys[i]))
			break;
	CHECK(strmap_get(m, "app.instance-x") == NULL);
	/* Deleting every other key leaves the rest reachable. */
	for (i = 0; i < N; i += 2)
		CHECK(strmap_del(m, keys[i]) == &keys[i]);
	CHECK_INT(strmap_size(m), N / 2);
	CHECK(strmap_del(m, keys[0]) == NULL);
	for (i = 0; i < N; i++)
		if (!CHECK(strmap_get(m, keys[i]) ==
		           (i % 2 ? (void *)&keys[i] : NULL)))
			break;
	strmap_free(m);
}

static void test_replace(void)
{
	struct strmap *m = strmap_new();
	int a, b;
	char k1[] = "same", k2[] = "same";

	if (!CHECK(m != NULL))
		return;
	CHECK_INT(strmap_put(m, k1, &a), 0);
	/* An equal key replaces the value and the borrowed key: the map
	 * must not keep pointing at a key whose owner is gone. */
	CHECK_INT(strmap_put(m, k2, &b), 0);
	CHECK_INT(strmap_size(m), 1);
	k1[0] = 'X';
	CHECK(strmap_get(m, "same") == &b);
	strmap_free(m);
	strmap_free(NULL);
}

static CU_TestInfo strmap_tests[] = {
	{"put, get and delete across growth", test_put_get_del},
	{"an equal key replaces", test_replace},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"strmap", NULL, NULL, NULL, NULL, strmap_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
