/* SPDX-License-Identifier: MIT */
/*
 * core/load.c — strata_load_start(): plugs a pool into io/'s loader as its
 * destination and picks the engine.
 */
#include <errno.h>

#include <strata/io.h>
#include <strata/mm.h>

#include "base/base.h"
#include "core/core_int.h"
#include "io/load_int.h"

#define HUGE_ALIGN (2u << 20)

static int pool_alloc(void *ctx, size_t bytes, size_t align, void **out)
{
	/* Big buffers on 2 MiB boundaries, so they can be backed by huge pages. */
	if (bytes >= HUGE_ALIGN)
		align = HUGE_ALIGN;
	return strata_pool_alloc(ctx, bytes, ST_MIN(align, (size_t)HUGE_ALIGN), 0, out);
}

static void pool_free(void *ctx, void *ptr)
{
	strata_pool_free(ctx, ptr);
}

int strata_load_start(struct strata_model *model, const struct strata_load_opts *opts, struct strata_load **out)
{
	struct st_load_cfg cfg = { 0 };
	int err;

	if (!model || !opts || !out || !st_opts_valid(opts, sizeof(*opts)) || !opts->pool ||
	    (unsigned)opts->engine > STRATA_IO_PREAD || (unsigned)opts->direct > STRATA_DIRECT_OFF ||
	    (opts->tensors && !opts->ntensors) || opts->queue_depth > ST_IO_MAX_DEPTH)
		return -EINVAL;
	cfg.engine = opts->engine == STRATA_IO_URING ? &st_engine_uring :
		     opts->engine == STRATA_IO_PREAD ? &st_engine_pread :
						       NULL;
	cfg.direct = opts->direct;
	cfg.dest = (struct st_io_dest){ .ctx = opts->pool, .alloc = pool_alloc, .free = pool_free };
	cfg.budget = opts->budget_bytes;
	cfg.chunk_bytes = opts->chunk_bytes;
	cfg.queue_depth = opts->queue_depth;
	cfg.on_ready = opts->on_ready;
	cfg.user = opts->user;
	err = st_load_start(model, opts->tensors, opts->tensors ? opts->ntensors : 0, opts->priority, &cfg, out);
	if (err)
		st_error("load: cannot start: %s", strata_strerror(err));
	else if (st_load_uring_error(*out))
		st_info("load: io_uring unavailable (%s); reading with the pread thread pool",
			strata_strerror(st_load_uring_error(*out)));
	return err;
}
