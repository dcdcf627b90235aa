/* SPDX-License-Identifier: MIT */
/*
 * core/mm_place.c — turn a placement hint into NUMA nodes and a policy.
 *
 * A pure function of the topology, the probe figures and the calling CPU,
 * so every decision can be tested on synthetic two- and four-node machines
 * (binding to a node this box lacks would only fail in mbind).
 */
#include <errno.h>
#include <string.h>

#include "core/core_int.h"
#include "core/mm_place.h"

static bool has_memory(const struct strata_topo *t, unsigned i)
{
	return t->nodes[i].info.memory_bytes > 0;
}

static int near_device(const struct strata_topo *t, const char *name, int *node)
{
	unsigned i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < t->n_devices; i++) {
		const struct strata_topo_device *d = &t->devices[i];

		if (strcmp(d->name, name) && strcmp(d->pci_busid, name))
			continue;
		if (d->node < 0)
			return -ENODATA; /* attached above several nodes */
		*node = d->node;
		return 0;
	}
	return -ENODEV;
}

static int best_bandwidth(const struct strata_topo *t, const struct st_probe_set *probe, int *node)
{
	double best = 0;
	unsigned i;

	if (!probe || probe->n != t->n_nodes)
		return -ENODATA;
	*node = -1;
	for (i = 0; i < t->n_nodes; i++) {
		if (has_memory(t, i) && probe->node[i].triad_gbps > best) {
			best = probe->node[i].triad_gbps;
			*node = (int)i;
		}
	}
	return *node >= 0 ? 0 : -ENODATA;
}

static int most_capacity(const struct strata_topo *t, int *node)
{
	uint64_t best = 0;
	unsigned i;

	*node = -1;
	for (i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].info.memory_bytes > best) {
			best = t->nodes[i].info.memory_bytes;
			*node = (int)i;
		}
	}
	return *node >= 0 ? 0 : -ENOMEM;
}

int st_place_resolve(const struct strata_topo *t, const struct st_probe_set *probe,
		     const struct st_place_req *req, struct st_place *out)
{
	struct st_place p = { .node = -1 };
	unsigned i;
	int err = 0, node = -1;

	switch (req->place) {
	case STRATA_PLACE_LOCAL:
		node = req->cpu >= 0 ? strata_topo_cpu_node(t, (unsigned)req->cpu) : -ENOENT;
		if (node < 0)
			node = 0; /* CPU unknown (or not in the topology): the first node */
		break;
	case STRATA_PLACE_NODE:
		if (req->node < 0 || (unsigned)req->node >= t->n_nodes)
			return -EINVAL;
		node = req->node;
		break;
	case STRATA_PLACE_NEAR_DEVICE:
		err = near_device(t, req->device, &node);
		/* A device on no single node: a preferred placement still has
		 * a sensible answer, the caller's own node. */
		if (err == -ENODATA && req->bind == STRATA_BIND_PREFERRED && req->cpu >= 0) {
			node = strata_topo_cpu_node(t, (unsigned)req->cpu);
			err = node < 0 ? -ENODATA : 0;
		}
		break;
	case STRATA_PLACE_INTERLEAVE:
		p.policy = ST_MPOL_INTERLEAVE;
		for (i = 0; i < t->n_nodes && i < 64; i++)
			if (has_memory(t, i))
				p.nodes |= 1ULL << i;
		*out = p;
		return p.nodes ? 0 : -ENOMEM;
	case STRATA_PLACE_BANDWIDTH:
		err = best_bandwidth(t, probe, &node);
		break;
	case STRATA_PLACE_CAPACITY:
		err = most_capacity(t, &node);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	if (node >= 64)
		return -EINVAL; /* node masks cover the first 64 nodes */
	p.node = node;
	p.nodes = 1ULL << node;
	p.policy = req->bind == STRATA_BIND_PREFERRED ? ST_MPOL_PREFERRED : ST_MPOL_BIND;
	*out = p;
	return 0;
}
