/* SPDX-License-Identifier: MIT */
/*
 * core/graph/shape.c — shapes of the graph IR: formatting for messages,
 * element counts with the symbolic sequence length bound, broadcasting.
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
	struct strata_dtype_info info;

	/* Values computed by the graph are 4-byte f32 or i32. */
	if (strata_dtype_info(n->dtype, &info) || !info.block_elems)
		return e * 4;
	return e / info.block_elems * info.block_bytes;
}
