/* SPDX-License-Identifier: MIT */
/*
 * bpf/memory.h — types shared by the memory-pressure collector's kernel
 * side (memory.bpf.c) and its loader (memory.c).
 */
#ifndef STRATA_BPF_MEMORY_H
#define STRATA_BPF_MEMORY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_MEM_REASONS 16 /* mm_migrate_pages reasons (enum migrate_reason) */

/* Per CPU; user space sums. */
struct st_mem_stats {
	__u64 reclaim_count, reclaim_ns; /* direct reclaim: stalls and time in them */
	__u64 kswapd_wakes;
	__u64 throttled, throttled_us; /* mm_vmscan_throttled: count, delay */
	__u64 faults; /* this process's user page faults */
	__u64 numa_task_moves; /* sched_move_numa */
	__u64 migrated[ST_MEM_REASONS]; /* pages migrated, by reason */
};

#endif /* STRATA_BPF_MEMORY_H */
