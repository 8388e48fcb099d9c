/*
 * bench_util: see bench_util.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_percentile(const double *v, size_t n, double p)
{
	double exact = p * (double)n;
	size_t rank = (size_t)exact;

	if ((double)rank < exact)
		rank++; /* the ceiling, without libm */

	return v[rank > 0 ? rank - 1 : 0];
}

long bench_arg_or(int argc, char **argv, int i, long dflt)
{
	const char *prog = strrchr(argv[0], '/');
	char *end;
	long v;

	if (argc <= i || argv[i][0] == '\0')
		return dflt;
	v = strtol(argv[i], &end, 10);
	if (*end != '\0' || v <= 0) {
		fprintf(stderr, "%s: not a positive number: %s\n",
		        prog != NULL ? prog + 1 : argv[0], argv[i]);
		exit(2);
	}
	return v;
}

int bench_write_agents(const char *path, int n, bool simulated, double cpus,
                       double mem)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	fputc('[', f);
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "%s{\"hostname\": \"agent-%d\", \"cpus\": %g, "
		        "\"mem\": %g, \"disk\": 100000, \"ports\": "
		        "\"31000-32000\", \"simulated\": %s}",
		        i > 0 ? ",\n" : "", i, cpus, mem,
		        simulated ? "true" : "false");
	fputs("]\n", f);
	return fclose(f) == 0 ? 0 : -1;
}
