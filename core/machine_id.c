/* SPDX-License-Identifier: MIT */
/*
 * core/machine_id.c — who this machine is, for keying cached measurements.
 *
 * Probe figures are valid for one combination of CPU, installed memory,
 * kernel and NUMA layout; any change (a new kernel, a DIMM added, a VM
 * resized) must invalidate them.  A home folder shared over NFS by many
 * machines keeps one cache file per identity.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/core_int.h"

static uint64_t mem_total_kib(void)
{
	char buf[4096], *p;
	unsigned long long kib;

	if (st_read_text("/proc/meminfo", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "MemTotal:");
	if (!p || sscanf(p, "MemTotal: %llu", &kib) != 1)
		return 0;
	return kib;
}

int st_machine_id_get(const struct strata_topo *t, struct st_machine_id *out)
{
	struct st_machine_id id;
	struct utsname u;
	uint64_t h;

	memset(&id, 0, sizeof(id));
	if (!t->this_machine)
		return -STRATA_ENOTHERE;
	st_cpu_brand(id.cpu, sizeof(id.cpu));
	id.mem_kib = mem_total_kib();
	if (uname(&u) == 0)
		st_fmt(id.kernel, sizeof(id.kernel), "%s", u.release);
	id.nodes = t->n_nodes;

	h = st_fnv1a(id.cpu, strlen(id.cpu), ST_FNV_SEED);
	h = st_fnv1a(&id.mem_kib, sizeof(id.mem_kib), h);
	h = st_fnv1a(id.kernel, strlen(id.kernel), h);
	h = st_fnv1a(&id.nodes, sizeof(id.nodes), h);
	id.hash = h;
	*out = id;
	return 0;
}
