/* SPDX-License-Identifier: MIT */
/*
 * mm/provider.h — where pool memory comes from.
 *
 * A provider manages address space in the way CUDA's virtual memory API
 * does: reserve a range, then commit and decommit physical memory inside
 * it, then release the range.  The OS provider implements this with
 * mmap/mbind/madvise; the CUDA backend will implement it with
 * cuMemAddressReserve/cuMemCreate/cuMemMap, so a device pool grows in place
 * and never splits into blocks that cannot merge.
 *
 * Pools never touch memory through a provider that is not host-accessible:
 * all their bookkeeping lives outside the managed range.
 */
#ifndef STRATA_MM_PROVIDER_H
#define STRATA_MM_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_commit_result {
	/* Bytes the placement policy wanted elsewhere: pages of a preferred
	 * placement that the kernel put on another node (sampled). */
	uint64_t fallback_bytes;
};

struct st_mm_provider_ops {
	const char *name;
	/* Reserve @bytes of address space aligned to @align (no memory). */
	int (*reserve)(void *ctx, size_t bytes, size_t align, void **base);
	/* Back [addr, addr + bytes) with memory and populate it, so that no
	 * later access faults.  -ENOMEM when the placement cannot be met. */
	int (*commit)(void *ctx, void *addr, size_t bytes, struct st_commit_result *res);
	/* Give the memory back; the range stays reserved and reads as zero
	 * when committed again. */
	int (*decommit)(void *ctx, void *addr, size_t bytes);
	/* Return a reservation made by reserve(). */
	int (*release)(void *ctx, void *base, size_t bytes);
	/* Share of [addr, addr + bytes) resident in huge pages, 0..1; NULL
	 * when the provider cannot tell. */
	double (*hugepage_coverage)(void *ctx, void *addr, size_t bytes);
	void (*destroy)(void *ctx);
	bool host_accessible;
};

struct st_mm_provider {
	const struct st_mm_provider_ops *ops;
	void *ctx;
};

/* NUMA policies the OS provider applies with mbind(2). */
enum st_mpol {
	ST_MPOL_DEFAULT = 0, /* first touch: the populating threads' node */
	ST_MPOL_BIND = 1,
	ST_MPOL_PREFERRED = 2,
	ST_MPOL_INTERLEAVE = 3,
};

#define ST_MM_MAX_NODES 1024
#define ST_MM_MAX_CPUS 1024

struct st_os_provider_cfg {
	enum st_mpol policy;
	/* OS node numbers the policy names (one for BIND/PREFERRED). */
	uint64_t nodemask[ST_MM_MAX_NODES / 64];
	/* The machine's node count, to judge free memory before a strict bind. */
	unsigned system_nodes;
	bool thp; /* madvise(MADV_HUGEPAGE) */
	bool hugetlb; /* MAP_HUGETLB pages */
	bool lock; /* mlock committed memory */
	/* CPUs (OS numbers) that populate new memory, one thread each; none:
	 * the committing thread alone. */
	unsigned ncpus;
	int cpus[ST_MM_MAX_CPUS];
};

/* Create an OS provider; @out receives ops and a context (freed by
 * ops->destroy). */
int st_os_provider_create(const struct st_os_provider_cfg *cfg, struct st_mm_provider *out);

/*
 * st_populate() - make [addr, addr + bytes) resident, writing, with up to
 * @ncpus threads bound to @cpus (each takes a contiguous share).  Uses
 * MADV_POPULATE_WRITE where the kernel has it (one syscall per share, no
 * per-page faults), else touches one byte per page.
 * Return: 0 or -ENOMEM (also for hugetlb exhaustion, instead of SIGBUS).
 */
int st_populate(void *addr, size_t bytes, size_t page, const int *cpus, unsigned ncpus);

#endif /* STRATA_MM_PROVIDER_H */
