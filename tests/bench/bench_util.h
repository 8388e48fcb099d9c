/*
 * bench_util: what every benchmark measures with: the monotonic clock,
 * sorting and percentiles of latencies, its numeric arguments, and the
 * --local_agents file of the daemons it starts.
 */
#ifndef STADION_BENCH_UTIL_H
#define STADION_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);
/* qsort() comparator of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* Nearest-rank percentile P (0..1) of the N (> 0) sorted values of V. */
double bench_percentile(const double *v, size_t n, double p);
/* ARGV[I] as a positive number, DFLT when absent or empty; any other
 * value ends the program with status 2 and a message naming ARGV[0]. */
long bench_arg_or(int argc, char **argv, int i, long dflt);
/* Write N agents "agent-0".. with CPUS and MEM each, ports 31000-32000,
 * {"simulated": SIMULATED}, to PATH for --local_agents.  0, or -1 with a
 * message on stderr. */
int bench_write_agents(const char *path, int n, bool simulated, double cpus,
                       double mem);

#endif /* STADION_BENCH_UTIL_H */
