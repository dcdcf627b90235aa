/* SPDX-License-Identifier: MIT */
/*
 * strata/alloc.h — the allocator behind the library's own bookkeeping.
 *
 * Every small allocation strata makes for itself (handles, tables, strings)
 * goes through one set of hooks.  Applications route it into their own
 * allocator; tests use it to make the Nth allocation fail and check that
 * every error path unwinds cleanly.  Bulk memory for tensors and I/O buffers
 * does not come from here: it comes from mm/ pools.
 */
#ifndef STRATA_ALLOC_H
#define STRATA_ALLOC_H

#include <stddef.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Allocation hooks.  Semantics are those of malloc/realloc/free: @malloc
 * returns memory aligned for any object or NULL; @realloc(NULL, n) acts as
 * @malloc; @free(NULL) does nothing.  All three are required.
 */
struct strata_alloc_hooks {
	size_t sz; /* sizeof(struct strata_alloc_hooks) */
	void *(*malloc)(size_t size, void *user);
	void *(*realloc)(void *ptr, size_t size, void *user);
	void (*free)(void *ptr, void *user);
	void *user;
};

/*
 * strata_alloc_set_hooks() - replace the bookkeeping allocator.
 * @hooks: the new hooks (copied), or NULL to restore malloc/realloc/free.
 *
 * Memory must be freed by the allocator that gave it, so the hooks can only
 * change while no runtime exists.
 *
 * Return: 0; -EINVAL for a bad @sz or a missing member; -EBUSY while any
 * strata_rt is alive.
 */
STRATA_API int strata_alloc_set_hooks(const struct strata_alloc_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_ALLOC_H */
