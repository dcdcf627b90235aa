/* SPDX-License-Identifier: MIT */
/*
 * mm/annotate.h — tell AddressSanitizer and Valgrind which pool memory is
 * free, so that a use after free or an overflow into a free block is
 * reported even though the pool, not malloc, owns the memory.
 *
 * ASan annotations are on in SANITIZE=1 builds.  Valgrind mempool
 * annotations are on in DEBUG=1 builds when valgrind's headers are present
 * (they cost a few instructions per call even outside Valgrind).  The first
 * word of a free small object holds the free-list link and stays
 * accessible.
 */
#ifndef STRATA_MM_ANNOTATE_H
#define STRATA_MM_ANNOTATE_H

#include "config.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ST_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ST_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ST_POISON(p, n) ((void)(p), (void)(n))
#define ST_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if HAVE_VALGRIND_H && defined(STRATA_DEBUG)
#include <valgrind/memcheck.h>
#define ST_VG_CREATE(pool) VALGRIND_CREATE_MEMPOOL((pool), 0, 0)
#define ST_VG_DESTROY(pool) VALGRIND_DESTROY_MEMPOOL(pool)
#define ST_VG_ALLOC(pool, p, n) VALGRIND_MEMPOOL_ALLOC((pool), (p), (n))
#define ST_VG_FREE(pool, p) VALGRIND_MEMPOOL_FREE((pool), (p))
#define ST_VG_LINK(p) VALGRIND_MAKE_MEM_DEFINED((p), sizeof(void *))
#else
#define ST_VG_CREATE(pool) ((void)(pool))
#define ST_VG_DESTROY(pool) ((void)(pool))
#define ST_VG_ALLOC(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#define ST_VG_FREE(pool, p) ((void)(pool), (void)(p))
#define ST_VG_LINK(p) ((void)(p))
#endif

/* A small object becomes free: all but its link word is off limits. */
#define ST_OBJ_FREED(pool, p, n)                                                                            \
	do {                                                                                                \
		ST_VG_FREE((pool), (p));                                                                    \
		ST_VG_LINK(p);                                                                              \
		ST_POISON((char *)(p) + sizeof(void *), (n) - sizeof(void *));                              \
	} while (0)

/* A small object goes to a caller. */
#define ST_OBJ_ALLOCATED(pool, p, n)                                                                        \
	do {                                                                                                \
		ST_UNPOISON((p), (n));                                                                      \
		ST_VG_ALLOC((pool), (p), (n));                                                              \
	} while (0)

#endif /* STRATA_MM_ANNOTATE_H */
