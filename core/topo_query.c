/* SPDX-License-Identifier: MIT */
/*
 * core/topo_query.c — the public getters over the topology snapshot.  The
 * snapshot never changes after strata_rt_create(), so none of them lock.
 */
#include <errno.h>
#include <string.h>

#include <strata/topo.h>

#include "core/core_int.h"

const struct strata_topo *strata_rt_topo(const struct strata_rt *rt)
{
	return rt ? rt->topo : NULL;
}

int strata_topo_count(const struct strata_topo *t, enum strata_topo_count_kind kind)
{
	if (!t)
		return -EINVAL;
	switch (kind) {
	case STRATA_TOPO_PACKAGES:
		return (int)t->packages;
	case STRATA_TOPO_CORES:
		return (int)t->cores;
	case STRATA_TOPO_PUS:
		return (int)t->pus;
	case STRATA_TOPO_NODES:
		return (int)t->n_nodes;
	case STRATA_TOPO_CACHES:
		return (int)t->n_caches;
	case STRATA_TOPO_DEVICES:
		return (int)t->n_devices;
	}
	return -EINVAL;
}

const char *strata_topo_cpu_model(const struct strata_topo *t)
{
	return t ? t->cpu_model : "unknown";
}

int strata_topo_node(const struct strata_topo *t, unsigned idx, struct strata_topo_node *out)
{
	if (!t || !out)
		return -EINVAL;
	if (idx >= t->n_nodes)
		return -ENOENT;
	return st_copy_out(out, &t->nodes[idx].info, sizeof(t->nodes[idx].info));
}

int strata_topo_distance(const struct strata_topo *t, unsigned from, unsigned to)
{
	int d;

	if (!t)
		return -EINVAL;
	if (from >= t->n_nodes || to >= t->n_nodes)
		return -ENOENT;
	d = t->distances[from * t->n_nodes + to];
	return d > 0 ? d : -ENODATA;
}

int strata_topo_node_cpulist(const struct strata_topo *t, unsigned idx, char *buf, size_t len)
{
	hwloc_const_cpuset_t set;
	int n;

	if (!t || (!buf && len))
		return -EINVAL;
	if (idx >= t->n_nodes)
		return -ENOENT;
	set = t->nodes[idx].obj->cpuset;
	if (!set || hwloc_bitmap_iszero(set)) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	n = hwloc_bitmap_list_snprintf(buf, len, set);
	return n < 0 ? -EINVAL : n;
}

int strata_topo_cpu_node(const struct strata_topo *t, unsigned cpu_os_index)
{
	unsigned i;

	if (!t)
		return -EINVAL;
	for (i = 0; i < t->n_nodes; i++) {
		hwloc_const_cpuset_t set = t->nodes[i].obj->cpuset;

		if (set && hwloc_bitmap_isset(set, cpu_os_index))
			return (int)i;
	}
	return -ENOENT;
}

int strata_topo_cache(const struct strata_topo *t, unsigned idx, struct strata_topo_cache *out)
{
	if (!t || !out)
		return -EINVAL;
	if (idx >= t->n_caches)
		return -ENOENT;
	return st_copy_out(out, &t->caches[idx], sizeof(t->caches[idx]));
}

uint64_t strata_topo_llc_bytes(const struct strata_topo *t)
{
	return t ? t->llc_bytes : 0;
}

int strata_topo_device(const struct strata_topo *t, unsigned idx, struct strata_topo_device *out)
{
	if (!t || !out)
		return -EINVAL;
	if (idx >= t->n_devices)
		return -ENOENT;
	return st_copy_out(out, &t->devices[idx], sizeof(t->devices[idx]));
}

int strata_topo_device_find(const struct strata_topo *t, enum strata_device_kind kind, const char *name)
{
	unsigned i;

	if (!t)
		return -EINVAL;
	for (i = 0; i < t->n_devices; i++) {
		const struct strata_topo_device *d = &t->devices[i];

		if (d->kind != kind)
			continue;
		if (!name || !strcmp(name, d->name) || !strcmp(name, d->pci_busid))
			return (int)i;
	}
	return -ENOENT;
}

uint64_t strata_topo_cpu_features(const struct strata_topo *t)
{
	return t ? t->cpu_features : 0;
}
