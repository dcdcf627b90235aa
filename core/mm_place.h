/* SPDX-License-Identifier: MIT */
/* core/mm_place.h — placement hints to nodes and policies (mm_place.c). */
#ifndef STRATA_CORE_MM_PLACE_H
#define STRATA_CORE_MM_PLACE_H

#include <strata/mm.h>

#include "core/core_int.h"
#include "mm/provider.h"

struct st_place_req {
	enum strata_place place;
	enum strata_bind bind;
	int node; /* STRATA_PLACE_NODE */
	const char *device; /* STRATA_PLACE_NEAR_DEVICE */
	int cpu; /* the calling thread's CPU (OS number), -1 unknown */
};

struct st_place {
	enum st_mpol policy;
	int node; /* node index for BIND/PREFERRED, -1 for INTERLEAVE */
	uint64_t nodes; /* node indexes (bit i = node i; first 64 nodes) */
};

/*
 * st_place_resolve() - choose the node(s) for @req.
 * Return: 0; -EINVAL (bad node or hint); -ENODEV (no such device);
 * -ENODATA (device on no single node with a strict bind, or BANDWIDTH
 * without probe figures); -ENOMEM (no node has memory).  Only the first 64
 * nodes can be chosen (a node beyond them gives -EINVAL).
 */
int st_place_resolve(const struct strata_topo *t, const struct st_probe_set *probe,
		     const struct st_place_req *req, struct st_place *out);

#endif /* STRATA_CORE_MM_PLACE_H */
