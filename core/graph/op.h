/* SPDX-License-Identifier: MIT */
/*
 * core/graph/op.h — the op table (ops.def) as data: each op's name, arity,
 * fusion class, parameter kind and cost, for the passes that need those
 * rather than a function of their own.
 */
#ifndef STRATA_CORE_GRAPH_OP_H
#define STRATA_CORE_GRAPH_OP_H

#include <stdbool.h>

#include <strata/graph.h>

/* How kernels take an op. */
enum st_fuse {
	ST_FUSE_LEAF, /* no kernel: data from outside (inputs, weights, states) */
	ST_FUSE_ELEMWISE, /* joins the chain that computes a source of its shape */
	ST_FUSE_ROWS, /* the core of a row kernel; a chain before it is its prologue */
	ST_FUSE_REDUCE, /* as ROWS over the last axis, else a kernel alone */
	ST_FUSE_MATMUL, /* the core of a matmul kernel, with an element-wise epilogue */
	ST_FUSE_VIEW, /* no kernel: a view of its source's memory */
	ST_FUSE_SLICE, /* a view where contiguous, else a kernel alone */
	ST_FUSE_SINGLE, /* a kernel alone */
};

/* Which member of st_node.p an op uses. */
enum st_param {
	ST_PARAM_NONE,
	ST_PARAM_LEAF, /* name, type, shape and data: lines of their own in the text format */
	ST_PARAM_AXIS, /* p.axis: "axis=1" */
	ST_PARAM_EPS, /* p.eps: "eps=1e-5" */
	ST_PARAM_FLAGS, /* p.flags: "trans_b" */
	ST_PARAM_PERM, /* p.perm: "perm=0,2,1" */
	ST_PARAM_ROPE, /* p.rope: "theta=10000 adjacent" */
	ST_PARAM_SLICE, /* p.slice: "axis=0 start=2 len=3" */
	ST_PARAM_SCALE, /* p.scale: "scale=0.125" */
	ST_PARAM_VALUE, /* p.value, an element-wise op's number: "softcap %1 30" */
	ST_PARAM_DTYPE, /* the node's type: "i32" */
	ST_PARAM_SHAPE, /* the node's shape: "[seq,4,8]" */
};

struct st_op_info {
	const char *name; /* NULL: not an op */
	unsigned char lo, hi; /* sources */
	enum st_fuse fuse;
	enum st_param param;
	unsigned char reads; /* times a row kernel reads each input element */
	unsigned char flops; /* per output element */
};

/* The row of @op, or NULL when @op is not an op (a value from outside). */
const struct st_op_info *st_op(enum strata_op op);
/* The name of @op for messages ("matmul"; "unknown op"). */
const char *st_op_name(enum strata_op op);
/* Whether @op is element-wise (joins chains). */
bool st_op_elementwise(enum strata_op op);
/* The op named @name in the text format, or 0. */
enum strata_op st_op_by_name(const char *name);

#endif /* STRATA_CORE_GRAPH_OP_H */
