/* SPDX-License-Identifier: MIT */
/*
 * core/graph/shape.c — shapes of the graph IR: formatting for messages,
 * element counts with the symbolic sequence length bound, broadcasting,
 * and the names of ops.
 */
#include <errno.h>
#include <stdio.h>

#include "base/base.h"
#include "core/graph/graph_int.h"

void st_shape_format(const struct st_shape *s, char *buf, size_t len)
{
	size_t used = 0;
	unsigned i;

	used += (size_t)snprintf(buf, len, "[");
	for (i = 0; i < s->ndim && used < len; i++) {
		const char *sep = i ? ", " : "";

		if (s->dim[i] == ST_DIM_SEQ)
			used += (size_t)snprintf(buf + used, len - used, "%sseq", sep);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%lld", sep, (long long)s->dim[i]);
	}
	if (used < len)
		snprintf(buf + used, len - used, "]");
}

bool st_shape_symbolic(const struct st_shape *s)
{
	unsigned i;

	for (i = 0; i < s->ndim; i++)
		if (s->dim[i] == ST_DIM_SEQ)
			return true;
	return false;
}

uint64_t st_shape_elems(const struct st_shape *s, uint32_t seq)
{
	uint64_t n = 1;
	unsigned i;

	for (i = 0; i < s->ndim; i++)
		n *= s->dim[i] == ST_DIM_SEQ ? seq : (uint64_t)s->dim[i];
	return n;
}

bool st_shape_equal(const struct st_shape *a, const struct st_shape *b)
{
	unsigned i;

	if (a->ndim != b->ndim)
		return false;
	for (i = 0; i < a->ndim; i++)
		if (a->dim[i] != b->dim[i])
			return false;
	return true;
}

int st_shape_broadcast(const struct st_shape *a, const struct st_shape *b, struct st_shape *out)
{
	unsigned n = ST_MAX(a->ndim, b->ndim), i;
	struct st_shape r = { .ndim = n };

	for (i = 0; i < n; i++) {
		/* Aligned from the last dimension; a missing one counts as 1. */
		int64_t x = i < n - a->ndim ? 1 : a->dim[i - (n - a->ndim)];
		int64_t y = i < n - b->ndim ? 1 : b->dim[i - (n - b->ndim)];

		if (x == y || y == 1)
			r.dim[i] = x;
		else if (x == 1)
			r.dim[i] = y;
		else
			return -EINVAL; /* includes seq against a number other than 1 */
	}
	*out = r;
	return 0;
}

uint64_t st_node_bytes(const struct st_node *n, uint32_t seq)
{
	uint64_t e = st_shape_elems(&n->shape, seq);

	switch (n->dtype) {
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16: return e * 2;
	case STRATA_DTYPE_Q8_0: return e / 32 * 34;
	case STRATA_DTYPE_Q4_0: return e / 32 * 18;
	case STRATA_DTYPE_Q4_1: return e / 32 * 20;
	default: return e * 4;
	}
}

const char *st_op_name(enum strata_op op)
{
	switch (op) {
	case STRATA_OP_INPUT: return "input";
	case STRATA_OP_WEIGHT: return "weight";
	case STRATA_OP_ADD: return "add";
	case STRATA_OP_SUB: return "sub";
	case STRATA_OP_MUL: return "mul";
	case STRATA_OP_DIV: return "div";
	case STRATA_OP_MAX: return "max";
	case STRATA_OP_EXP: return "exp";
	case STRATA_OP_LOG: return "log";
	case STRATA_OP_SQRT: return "sqrt";
	case STRATA_OP_RSQRT: return "rsqrt";
	case STRATA_OP_NEG: return "neg";
	case STRATA_OP_TANH: return "tanh";
	case STRATA_OP_SIGMOID: return "sigmoid";
	case STRATA_OP_SILU: return "silu";
	case STRATA_OP_GELU: return "gelu";
	case STRATA_OP_SUM: return "sum";
	case STRATA_OP_REDUCE_MAX: return "reduce_max";
	case STRATA_OP_MEAN: return "mean";
	case STRATA_OP_SOFTMAX: return "softmax";
	case STRATA_OP_RMSNORM: return "rmsnorm";
	case STRATA_OP_MATMUL: return "matmul";
	case STRATA_OP_RESHAPE: return "reshape";
	case STRATA_OP_PERMUTE: return "permute";
	case STRATA_OP_EMBEDDING: return "embedding";
	case STRATA_OP_LAYERNORM: return "layernorm";
	case STRATA_OP_ROPE: return "rope";
	case STRATA_OP_SLICE: return "slice";
	case STRATA_OP_CONCAT: return "concat";
	case STRATA_OP_ARGMAX: return "argmax";
	case STRATA_OP_STATE: return "state";
	case STRATA_OP_WRITE_ROWS: return "write_rows";
	case STRATA_OP_ATTENTION: return "attention";
	case STRATA_OP_CAST: return "cast";
	}
	return "unknown op";
}
