/* SPDX-License-Identifier: MIT */
/*
 * core/graph/target_ref.c — a second target (target.h) that runs each
 * kernel with the reference interpreter: a kernel's members become a small
 * graph of their own, whose leaves are the kernel's arguments, evaluated
 * over the memory the plan gives them.  It checks the seam a code
 * generator plugs into (fusion, the memory plan, the scheduler, streamed
 * weights and states all as for the CPU) without a compiler; tests compare
 * it with the CPU target.  It is not fast: each launch evaluates the whole
 * kernel in its first chunk.
 */
#include <errno.h>
#include <string.h>

#include <strata/version.h>

#include "base/base.h"
#include "core/graph/compile_int.h"
#include "core/graph/target.h"

/* One kernel as a graph: nodes 0 … nargs - 1 are its arguments (inputs,
 * or weights whose bytes are bound at each launch), then its members. */
struct ref_kernel {
	struct strata_graph g;
	unsigned nargs;
	uint32_t out; /* the root's number here */
};

static int ref_open(struct strata_program *p, const struct strata_compile_opts *opts, char *why, size_t len)
{
	static const char name[] = "reference";
	const char *version = strata_version();

	(void)opts, (void)why, (void)len;
	p->target_id = st_fnv1a(name, sizeof(name), st_fnv1a(version, strlen(version), ST_FNV_SEED));
	return 0;
}

/* The source is the kernel's members as the text format writes ops. */
static int ref_emit(struct strata_program *p, struct st_kernel *k)
{
	const struct strata_graph *g = st_program_graph(p);
	struct st_text t = { 0 };
	unsigned i;
	int err;

	st_text_add(&t, "reference kernel, %s:", st_kernel_kind_name(k->kind));
	for (i = 0; i < k->nmembers; i++)
		st_text_add(&t, " %s", st_op_name(g->nodes[k->members[i]].op));
	st_free(k->source);
	k->source = st_text_take(&t, &err);
	if (!err)
		k->hash = st_fnv1a(k->source, strlen(k->source), p->target_id);
	return err;
}

/* Node @id of the program's graph as seen inside kernel @k: an argument's
 * number, or a member's (after the arguments). */
static uint32_t local(const struct st_kernel *k, uint32_t id)
{
	unsigned i;

	for (i = 0; i < k->nargs; i++)
		if (k->args[i] == id)
			return i;
	for (i = 0; i < k->nmembers; i++)
		if (k->members[i] == id)
			return k->nargs + i;
	return UINT32_MAX;
}

static void free_kernel(struct ref_kernel *rk)
{
	if (!rk)
		return;
	st_free(rk->g.nodes);
	st_free(rk);
}

static int make_kernel(const struct strata_graph *g, const struct st_kernel *k, struct ref_kernel **out)
{
	struct ref_kernel *rk = st_calloc(1, sizeof(*rk));
	unsigned i, s;

	if (!rk || !(rk->g.nodes = st_calloc(k->nargs + k->nmembers, sizeof(*rk->g.nodes)))) {
		free_kernel(rk);
		return -ENOMEM;
	}
	rk->g.rt = g->rt;
	rk->g.max_seq = g->max_seq;
	rk->g.cap = rk->g.n = k->nargs + k->nmembers;
	rk->nargs = k->nargs;
	for (i = 0; i < k->nargs; i++) {
		struct st_node *n = &rk->g.nodes[i];

		*n = g->nodes[k->args[i]];
		/* Values computed elsewhere are inputs; stored weights stay
		 * weights (their bytes bound at launch), lent tiles and all. */
		n->op = n->dtype == STRATA_DTYPE_F32 || n->dtype == STRATA_DTYPE_I32 ? STRATA_OP_INPUT : STRATA_OP_WEIGHT;
		n->nsrc = 0;
		n->stream = 0;
		n->data = NULL;
		n->output = false;
	}
	for (i = 0; i < k->nmembers; i++) {
		struct st_node *n = &rk->g.nodes[k->nargs + i];

		*n = g->nodes[k->members[i]];
		n->output = false;
		for (s = 0; s < n->nsrc; s++) {
			n->src[s] = local(k, n->src[s]);
			if (n->src[s] == UINT32_MAX) {
				free_kernel(rk);
				return -EINVAL; /* fusion made a kernel that reads what it does not hold */
			}
		}
	}
	rk->out = local(k, k->root);
	rk->g.nodes[rk->out].output = true;
	*out = rk;
	return 0;
}

static int ref_build(struct strata_program *p, const struct strata_compile_opts *opts)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t k;
	int err = 0;

	(void)opts;
	for (k = 0; k < p->f.nk && !err; k++) {
		struct ref_kernel *rk = NULL;

		err = make_kernel(g, &p->f.k[k], &rk);
		p->f.k[k].ctx = rk;
		if (err == -EINVAL)
			st_program_fail(p, err, "kernel %u reads a node it neither computes nor takes", k);
	}
	p->info.objects = p->f.nk;
	return err;
}

/* The whole kernel in its first chunk (the interpreter does not split). */
static int ref_launch(struct st_call *c, int64_t lo, int64_t hi)
{
	struct ref_kernel *rk = c->ctx;
	struct strata_graph_tensor in[ST_KERNEL_MAX_ARGS], out;
	unsigned i, n = 0;
	uint32_t seq = (uint32_t)c->seq;
	int err;

	(void)hi;
	if (lo != 0)
		return 0;
	for (i = 0; i < rk->nargs; i++) {
		struct st_node *a = &rk->g.nodes[i];

		if (a->op == STRATA_OP_WEIGHT)
			a->data = c->t[1 + i];
		else
			in[n++] = (struct strata_graph_tensor){ i, c->t[1 + i], st_shape_elems(&a->shape, seq) * 4 };
	}
	out = (struct strata_graph_tensor){ rk->out, c->t[0], st_shape_elems(&rk->g.nodes[rk->out].shape, seq) * 4 };
	err = st_graph_eval(&rk->g, seq, in, n, &out, 1, NULL);
	/* As the CPU's kernels say it: a position outside a cache. */
	if (err == -EINVAL && strstr(rk->g.error, "position"))
		err = -ERANGE;
	return err;
}

static void ref_close(struct strata_program *p)
{
	uint32_t k;

	for (k = 0; k < p->f.nk; k++) {
		free_kernel(p->f.k[k].ctx);
		p->f.k[k].ctx = NULL;
	}
}

const struct st_target st_target_reference = {
	.name = "reference",
	.packs_weights = false,
	.open = ref_open,
	.emit = ref_emit,
	.build = ref_build,
	.launch = ref_launch,
	.close = ref_close,
};
