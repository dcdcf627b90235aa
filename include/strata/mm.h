/* SPDX-License-Identifier: MIT */
/*
 * strata/mm.h — NUMA- and device-aware memory pools.
 *
 * A pool hands out memory from one place: a NUMA node (bound, preferred or
 * interleaved), pinned host memory, or a device.  It grows in large
 * committed steps, carves them with size classes and per-thread caches for
 * small objects and a TLSF allocator for large blocks, keeps its bookkeeping
 * outside the memory it manages (so the same code can manage device memory),
 * and gives memory back on decay, on trim() and under pressure.
 *
 * Allocation and free are thread-safe; a block may be freed by any thread.
 * Environment: STRATA_MM_PASSTHROUGH=1 makes every pool use plain malloc
 * (for debugging the program's own memory errors with external tools).
 */
#ifndef STRATA_MM_H
#define STRATA_MM_H

#include <stddef.h>
#include <stdint.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;
struct strata_pool;

/* Where a pool's memory should live. */
enum strata_place {
	STRATA_PLACE_LOCAL = 0, /* the node of the CPU the creating thread runs on */
	STRATA_PLACE_NODE = 1, /* the node given in .node */
	STRATA_PLACE_NEAR_DEVICE = 2, /* the node closest to the PCI device named in .device */
	STRATA_PLACE_INTERLEAVE = 3, /* pages spread round-robin over all nodes with memory */
	STRATA_PLACE_BANDWIDTH = 4, /* the node with the highest measured triad bandwidth */
	STRATA_PLACE_CAPACITY = 5, /* the node with the most free memory */
};

/* How hard the placement binds. */
enum strata_bind {
	/* Only the chosen node; when it cannot supply the memory, allocation
	 * fails with -ENOMEM.  Never falls back silently. */
	STRATA_BIND_STRICT = 0,
	/* Prefer the chosen node; the kernel may fall back to others, and each
	 * fallback is counted in the pool's stats. */
	STRATA_BIND_PREFERRED = 1,
};

/* What kind of memory. */
enum strata_mem_kind {
	STRATA_MEM_HOST = 0,
	STRATA_MEM_PINNED = 1, /* host memory locked in RAM (mlock; the CUDA backend registers it) */
	STRATA_MEM_DEVICE = 2, /* memory of the device named in .device; -ENODEV until its backend
				* (the CUDA backend) has registered it */
};

/* Pool flags. */
#define STRATA_POOL_HUGEPAGES (1u << 0) /* transparent huge pages (MADV_HUGEPAGE) */
#define STRATA_POOL_HUGETLB (1u << 1) /* reserved hugetlb pages (fails if none reserved) */
#define STRATA_POOL_NO_SMALL (1u << 2) /* no size classes: every block from the large allocator */
#define STRATA_POOL_FLAGS_ALL 0x7u

struct strata_pool_opts {
	size_t sz;
	const char *name; /* for stats and metrics; copied; default "pool" */
	enum strata_mem_kind kind;
	enum strata_place place;
	enum strata_bind bind;
	int node; /* for STRATA_PLACE_NODE: node index as in strata_topo_node() */
	const char *device; /* STRATA_PLACE_NEAR_DEVICE: name or PCI bus id; STRATA_MEM_DEVICE: the device */
	uint32_t flags; /* STRATA_POOL_* */
	uint64_t limit_bytes; /* most memory the pool may hold from the OS; 0: no limit */
	uint64_t grow_bytes; /* growth step; default 64 MiB (rounded to 2 MiB) */
	uint64_t prefill_bytes; /* commit and populate this much at creation */
	/* Free memory idle this long is given back: 0 means the default of
	 * 10 s, STRATA_DECAY_NEVER keeps it until trim or pressure. */
	uint32_t decay_ms;
	/* Threads that populate new memory, each bound to a core of the
	 * pool's node(s); 0: one per core. */
	uint32_t populate_threads;
};

#define STRATA_DECAY_NEVER UINT32_MAX

#define STRATA_POOL_OPTS(name_, ...) \
	struct strata_pool_opts name_ = { .sz = sizeof(struct strata_pool_opts), __VA_ARGS__ }

/*
 * strata_pool_create() - create a pool placed according to @opts.
 * @rt:   the runtime whose topology and probe figures resolve the placement.
 * @opts: options (NULL: host memory local to the calling thread, strict).
 * @out:  receives the pool; free it with strata_pool_destroy().
 *
 * Return: 0; -EINVAL (bad options, unknown node); -ENODEV (device not found,
 * or device memory without a backend); -ENODATA (BANDWIDTH without probe
 * figures, or a strict bind near a device attached to no single node);
 * -ENOMEM (no hugetlb pages reserved, or prefill could not be satisfied);
 * -EPERM (pinned prefill beyond RLIMIT_MEMLOCK); -STRATA_ENOTHERE (the
 * runtime's topology is not this machine).
 */
STRATA_API int strata_pool_create(struct strata_rt *rt, const struct strata_pool_opts *opts,
				  struct strata_pool **out);

/* Release the pool and all its memory.  Blocks still allocated become
 * invalid.  NULL is accepted.  No other call may use @pool concurrently. */
STRATA_API void strata_pool_destroy(struct strata_pool *pool);

/* Allocation flags. */
#define STRATA_ALLOC_ZERO (1u << 0) /* zero the block */

/*
 * strata_pool_alloc() - allocate @size bytes aligned to @align.
 * @align: 0 or a power of two up to 2 MiB; blocks are at least 16-byte aligned.
 * @flags: STRATA_ALLOC_*.
 * @out:   receives the block.
 *
 * Return: 0; -EINVAL (bad size, alignment or flags); -ENOMEM (a limit, or the
 * placement cannot be met).
 * Thread safety: any thread.  Small blocks come from a per-thread cache
 * without locks or system calls.
 */
STRATA_API int strata_pool_alloc(struct strata_pool *pool, size_t size, size_t align, uint32_t flags,
				 void **out);

/*
 * strata_pool_free() - return a block to its pool, from any thread.  NULL is
 * accepted.
 * Return: 0; -EINVAL for a pointer outside the pool's memory, inside a
 * large block, or to a large block already free (unless its memory has been
 * handed out again meanwhile).  Pointers into small objects and double
 * frees of small objects are caught only in debug builds (DEBUG=1,
 * SANITIZE=1), which keep a bit per object; release builds keep the free
 * path at a few instructions.
 */
STRATA_API int strata_pool_free(struct strata_pool *pool, void *ptr);

/* strata_pool_usable_size() - the size the block really has (>= what was
 * asked).  Return: the size, or -EINVAL. */
STRATA_API int64_t strata_pool_usable_size(struct strata_pool *pool, const void *ptr);

/*
 * strata_pool_trim() - give free memory back to the OS until at most
 * @keep_bytes of it stay committed.  Resident memory drops (MADV_DONTNEED,
 * in 2 MiB units where it can, so huge pages stay intact).
 * Return: bytes released (>= 0), or a negative errno.
 */
STRATA_API int64_t strata_pool_trim(struct strata_pool *pool, uint64_t keep_bytes);

/* Memory pressure, as telemetry reports it. */
enum strata_pressure {
	STRATA_PRESSURE_NORMAL = 0, /* nothing to do */
	STRATA_PRESSURE_ELEVATED = 1, /* release free memory idle for over a tenth of the decay time */
	/* Release every cached free byte now; other threads' caches are
	 * emptied at their next slow path (at most two batches per class
	 * each until then). */
	STRATA_PRESSURE_CRITICAL = 2,
};

/*
 * strata_mm_pressure() - apply @level to every pool of @rt.
 * Return: bytes released (>= 0), or -EINVAL.
 */
STRATA_API int64_t strata_mm_pressure(struct strata_rt *rt, enum strata_pressure level);

struct strata_pool_stats {
	size_t sz;
	uint64_t bytes_in_use; /* held by callers (usable sizes) */
	uint64_t bytes_cached; /* free in per-thread caches */
	uint64_t bytes_reserved; /* committed from the OS or device */
	uint64_t peak_in_use; /* high-water mark of bytes_in_use + bytes_cached */
	uint64_t peak_reserved;
	double fragmentation; /* 1 - in_use / reserved (0 when nothing is reserved) */
	uint64_t allocs, frees;
	uint64_t fallbacks; /* preferred placements the kernel served elsewhere */
	uint64_t fallback_bytes;
	uint64_t purged_bytes; /* total given back by decay, trim and pressure */
	uint64_t commits; /* calls into the provider to commit memory */
	double hugepage_coverage; /* share of resident bytes in huge pages (host pools) */
	int node; /* node index, -1 for interleaved or device pools */
};

/* strata_pool_stats() - this pool's figures.  Return: 0 or -EINVAL. */
STRATA_API int strata_pool_stats(struct strata_pool *pool, struct strata_pool_stats *out);

/*
 * strata_mm_node_stats() - the sum over all pools bound to node @node
 * (interleaved pools are not included).  Peaks are the sum of peaks.
 * Return: 0; -ENOENT for a bad node; -EINVAL.
 */
STRATA_API int strata_mm_node_stats(struct strata_rt *rt, unsigned node, struct strata_pool_stats *out);

/*
 * strata_mm_device_stats() - the sum over all pools of device memory on
 * @device ("cuda0").  node is -1 in the result.
 * Return: 0; -ENODEV when no backend has registered @device; -EINVAL.
 */
STRATA_API int strata_mm_device_stats(struct strata_rt *rt, const char *device, struct strata_pool_stats *out);

/*
 * strata_mm_set_limit() - cap memory committed by all pools on @node, or by
 * all pools together when @node is -1.  0 removes the cap.  A commit that
 * would go over fails with -ENOMEM.
 * Return: 0; -ENOENT for a bad node; -EINVAL.
 */
STRATA_API int strata_mm_set_limit(struct strata_rt *rt, int node, uint64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_MM_H */
