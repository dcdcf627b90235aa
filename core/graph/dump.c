/* SPDX-License-Identifier: MIT */
/*
 * core/graph/dump.c — strata_program_dump(): what the compiler made of a
 * graph, as text.
 *
 * A node is written as
 *     %7 = matmul %5 %6 f32 [seq, 768] trans_b "q"
 * (sources as %n, then the type, the shape and any parameters; inputs and
 * weights carry their names).  Sections: the graph as built and after
 * each pass, the kernels (kind, members, arguments, estimated bytes, and
 * source), and the memory plan (each value's offset, size and the kernels
 * between which it lives).
 */
#include <errno.h>

#include "base/base.h"
#include "core/graph/compile_int.h"

static const char *dtype_short(enum strata_dtype t)
{
	struct strata_dtype_info info;

	return strata_dtype_info(t, &info) ? "?" : info.name;
}

/* A node's parameters as text.c reads them, by the kind its op has. */
static void params(struct st_text *t, const struct st_node *n)
{
	char s[64];
	unsigned i;

	switch (st_op(n->op)->param) {
	case ST_PARAM_NONE:
	case ST_PARAM_LEAF: break;
	case ST_PARAM_AXIS: st_text_add(t, " axis=%d", n->p.axis); break;
	case ST_PARAM_EPS: st_text_add(t, " eps=%.9g", (double)n->p.eps); break;
	case ST_PARAM_FLAGS:
		if (n->p.flags & STRATA_MATMUL_TRANS_B)
			st_text_add(t, " trans_b");
		break;
	case ST_PARAM_PERM:
		st_text_add(t, " perm=");
		for (i = 0; i < n->shape.ndim; i++)
			st_text_add(t, "%s%u", i ? "," : "", n->p.perm[i]);
		break;
	case ST_PARAM_ROPE:
		st_text_add(t, " theta=%.9g %s", (double)n->p.rope.theta,
			    n->p.rope.layout == STRATA_ROPE_ADJACENT ? "adjacent" : "half");
		break;
	case ST_PARAM_SLICE:
		st_text_add(t, " axis=%d start=%lld len=%lld", n->p.slice.axis, (long long)n->p.slice.start,
			    (long long)n->p.slice.len);
		break;
	case ST_PARAM_SCALE: st_text_add(t, " scale=%.9g", (double)n->p.scale); break;
	case ST_PARAM_VALUE: st_text_add(t, " %.9g", (double)n->p.value); break;
	case ST_PARAM_DTYPE: st_text_add(t, " %s", dtype_short(n->dtype)); break;
	case ST_PARAM_SHAPE:
		st_shape_format(&n->shape, s, sizeof(s));
		st_text_add(t, " %s", s);
		break;
	}
}

/* One node as text.c reads it; computed nodes end with their type and
 * shape as a comment. */
static void graph_text(struct st_text *t, const char *title, const struct strata_graph *g)
{
	uint32_t id;
	unsigned i;

	st_text_add(t, "# %s: %u nodes\nmax_seq %u\n", title, g->n, g->max_seq);
	for (id = 0; id < g->n; id++) {
		const struct st_node *n = &g->nodes[id];
		char s[64];

		st_shape_format(&n->shape, s, sizeof(s));
		if (st_op(n->op)->param == ST_PARAM_LEAF) {
			st_text_add(t, "%%%u = %s \"%s\" %s %s\n", id, st_op_name(n->op), n->name, dtype_short(n->dtype), s);
			continue;
		}
		st_text_add(t, "%%%u = %s", id, st_op_name(n->op));
		for (i = 0; i < n->nsrc; i++)
			st_text_add(t, " %%%u", n->src[i]);
		params(t, n);
		st_text_add(t, "  # %s %s\n", dtype_short(n->dtype), s);
	}
	for (id = 0; id < g->n; id++)
		if (g->nodes[id].output)
			st_text_add(t, "output %%%u\n", id);
	st_text_add(t, "\n");
}

static void kernels_text(struct st_text *t, const struct strata_program *p)
{
	uint32_t k;
	unsigned i;

	st_text_add(t, "# kernels: %u (%u distinct objects)\n", p->f.nk, p->info.objects);
	for (k = 0; k < p->f.nk; k++) {
		const struct st_kernel *ker = &p->f.k[k];

		st_text_add(t, "kernel %u: %s, writes %%%u; computes", k, st_kernel_kind_name(ker->kind), ker->root);
		for (i = 0; i < ker->nmembers; i++)
			st_text_add(t, " %%%u", ker->members[i]);
		st_text_add(t, "; reads");
		for (i = 0; i < ker->nargs; i++)
			st_text_add(t, " %%%u", ker->args[i]);
		st_text_add(t, "; moves ~%llu bytes at max_seq; runs on the CPU, node %u\n", (unsigned long long)ker->bytes,
			    p->place ? p->place[k].node : 0);
	}
	st_text_add(t, "\n");
	for (k = 0; k < p->f.nk; k++)
		if (p->f.k[k].source)
			st_text_add(t, "## kernel %u source (key %016llx)\n%s\n", k, (unsigned long long)p->f.k[k].hash,
				    p->f.k[k].source);
}

static void plan_text(struct st_text *t, const struct strata_program *p)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t id;

	st_text_add(t, "# memory plan: arena %llu bytes, live bound %llu bytes (%.3fx), %u in place\n",
		    (unsigned long long)p->plan.arena_bytes, (unsigned long long)p->plan.lower_bound,
		    p->plan.lower_bound ? (double)p->plan.arena_bytes / (double)p->plan.lower_bound : 1.0,
		    p->plan.in_place);
	for (id = 0; id < g->n; id++) {
		const struct st_value *v = &p->plan.v[id];

		switch (v->home) {
		case ST_HOME_ARENA:
			st_text_add(t, "%%%u arena +%llu %llu bytes, kernels %u..%u\n", id, (unsigned long long)v->offset,
				    (unsigned long long)v->bytes, v->def, v->last);
			break;
		case ST_HOME_VIEW:
			st_text_add(t, "%%%u view of %%%u +%llu\n", id, v->base, (unsigned long long)v->offset);
			break;
		case ST_HOME_INPUT: st_text_add(t, "%%%u input\n", id); break;
		case ST_HOME_WEIGHT: st_text_add(t, "%%%u weight\n", id); break;
		case ST_HOME_STATE: st_text_add(t, "%%%u state of %%%u\n", id, v->base); break;
		case ST_HOME_NONE: break;
		}
	}
}

int strata_program_dump(struct strata_program *p, const char **text)
{
	struct st_text t = { 0 };
	int err;

	if (!p || !text)
		return -EINVAL;
	if (!p->dump) {
		graph_text(&t, "graph as built", p->src);
		graph_text(&t, "after constant folding", p->stage[0]);
		graph_text(&t, "after common-subexpression elimination", p->stage[1]);
		graph_text(&t, "after dead-code elimination", p->stage[2]);
		kernels_text(&t, p);
		plan_text(&t, p);
		p->dump = st_text_take(&t, &err);
		if (err)
			return err;
	}
	*text = p->dump;
	return 0;
}
