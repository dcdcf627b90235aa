/* SPDX-License-Identifier: MIT */
/*
 * examples/hello.c — the smallest program that links strata: create a
 * runtime, say what machine it found and how fast its memory is.
 *
 *   cc hello.c $(pkg-config --cflags --libs strata) -o hello
 */
#include <stdio.h>

#include <strata/strata.h>

int main(void)
{
	struct strata_probe_node probe = { .sz = sizeof(probe) };
	const struct strata_topo *topo;
	struct strata_rt *rt;
	int err;

	if (strata_version_number() < STRATA_VERSION_NUMBER) {
		fprintf(stderr, "hello: built against strata %d.%d, running with %s\n", STRATA_VERSION_MAJOR,
			STRATA_VERSION_MINOR, strata_version());
		return 1;
	}
	err = strata_rt_create(NULL, &rt);
	if (err) {
		fprintf(stderr, "hello: strata_rt_create: %s\n", strata_strerror(err));
		return 1;
	}
	topo = strata_rt_topo(rt);
	printf("strata %s: %s, %d core(s) on %d NUMA node(s)\n", strata_version(), strata_topo_cpu_model(topo),
	       strata_topo_count(topo, STRATA_TOPO_CORES), strata_topo_count(topo, STRATA_TOPO_NODES));
	if (strata_probe_node(rt, 0, &probe) == 0)
		printf("node 0: triad %.1f GB/s, latency %.0f ns\n", probe.triad_gbps, probe.latency_ns);
	strata_rt_destroy(rt);
	return 0;
}
