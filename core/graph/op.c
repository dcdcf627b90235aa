/* SPDX-License-Identifier: MIT */
/*
 * core/graph/op.c — the data columns of the op table (ops.def), indexed
 * by op.
 */
#include <string.h>

#include "base/base.h"
#include "core/graph/op.h"

#define ST_OP_LIMIT 128 /* above every STRATA_OP_ value */

static const struct st_op_info ops[ST_OP_LIMIT] = {
#define ST_OP(E, name_, lo_, hi_, fuse_, param_, shape, eval, ref, kern, rows, emit, items, reads_, flops_) \
	[STRATA_OP_##E] = { .name = #name_, .lo = lo_, .hi = hi_, .fuse = fuse_, .param = param_, .reads = reads_,  \
			    .flops = flops_ },
#include "core/graph/ops.def"
};

/* Every op fits the array. */
#define ST_OP(E, ...) _Static_assert(STRATA_OP_##E > 0 && STRATA_OP_##E < ST_OP_LIMIT, "op " #E " fits the table");
#include "core/graph/ops.def"

const struct st_op_info *st_op(enum strata_op op)
{
	if ((unsigned)op >= ST_OP_LIMIT || !ops[op].name)
		return NULL;
	return &ops[op];
}

const char *st_op_name(enum strata_op op)
{
	const struct st_op_info *o = st_op(op);

	return o ? o->name : "unknown op";
}

bool st_op_elementwise(enum strata_op op)
{
	const struct st_op_info *o = st_op(op);

	return o && o->fuse == ST_FUSE_ELEMWISE;
}

enum strata_op st_op_by_name(const char *name)
{
	unsigned i;

	for (i = 0; i < ST_OP_LIMIT; i++)
		if (ops[i].name && !strcmp(ops[i].name, name))
			return (enum strata_op)i;
	return 0;
}
