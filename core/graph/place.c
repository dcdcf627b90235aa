/* SPDX-License-Identifier: MIT */
/*
 * core/graph/place.c — where each kernel runs: a target (the CPU today; a
 * device later, through the same record) and a NUMA node.
 *
 * Weights are the bytes a kernel cannot choose to move, so a kernel that
 * reads weights runs on the node holding most of their bytes (asked of the
 * kernel with move_pages(2), a page per MiB).  A kernel without weights
 * follows the kernels whose results it reads, weighted by bytes; with
 * neither, node 0.  The scheduler puts each kernel on its node's ready
 * list, so workers of that node take it first.  Streamed weights are not
 * in memory at compile time and count for no node.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core_int.h"
#include "core/graph/compile_int.h"

#define MAX_NODES 64

static int os_node_of(const void *addr)
{
	void *page = (void *)((uintptr_t)addr & ~(uintptr_t)4095);
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) < 0 || status < 0)
		return -1;
	return status;
}

int (*st_graph_node_of)(const void *addr) = os_node_of;

/* Bytes of @n's data on each node (a sample: a page per MiB). */
static void weigh(const struct strata_graph *g, const struct st_node *n, const struct strata_topo *topo,
		  uint64_t *bytes)
{
	uint64_t total = st_shape_elems(&n->shape, 1) * 4, off, step = 1u << 20;
	unsigned i;

	if (!n->data)
		return;
	(void)g;
	for (off = 0; off < total; off += step) {
		int os = st_graph_node_of((const char *)n->data + off);

		/* The kernel numbers nodes; the runtime counts them in order. */
		for (i = 0; os >= 0 && topo && i < topo->n_nodes && i < MAX_NODES; i++)
			if ((int)topo->nodes[i].info.os_index == os) {
				bytes[i] += total - off < step ? total - off : step;
				break;
			}
	}
}

int st_graph_place(const struct strata_graph *g, const struct st_fusion *f, const struct strata_topo *topo,
		   struct st_placement *out)
{
	unsigned nodes = topo && topo->n_nodes ? topo->n_nodes : 1;
	uint32_t k;
	unsigned i, best;

	if (nodes > MAX_NODES)
		nodes = MAX_NODES;
	for (k = 0; k < f->nk; k++) {
		const struct st_kernel *ker = &f->k[k];
		uint64_t w[MAX_NODES] = { 0 }, r[MAX_NODES] = { 0 }, *use = w;
		bool any = false;

		out[k].device = ST_DEVICE_CPU;
		for (i = 0; i < ker->nargs; i++) {
			const struct st_node *a = &g->nodes[ker->args[i]];
			uint32_t from = f->kernel_of[ker->args[i]];

			if (a->op == STRATA_OP_WEIGHT) {
				weigh(g, a, topo, w);
			} else if (from != ST_NO_KERNEL && from < k) {
				r[out[from].node] += st_shape_elems(&a->shape, g->max_seq) * 4;
			}
		}
		for (i = 0; i < nodes; i++)
			any = any || w[i];
		if (!any)
			use = r;
		for (i = 1, best = 0; i < nodes; i++)
			if (use[i] > use[best])
				best = i;
		out[k].node = best;
	}
	return 0;
}
