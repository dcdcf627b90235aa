/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/memory.bpf.c — memory pressure as the kernel sees it: direct-reclaim
 * stalls (count and time, begin to end on the stalling thread), kswapd
 * wake-ups, reclaim throttling, this process's page faults, and NUMA
 * migrations (tasks moved, pages migrated by reason).  Counters live in a
 * per-CPU array; the only map touched per reclaim is a task-local storage
 * slot for the begin time.
 */
#include "bpf/vmlinux.h" /* generated from the kernel BTF (mk/bpf.mk) */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/memory.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 target_tgid = 0; /* this process: set before load */
/* Inside a nested PID namespace the kernel's numbers differ from ours:
 * then compare in our namespace (set before load). */
const volatile bool in_pid_ns = false;
const volatile __u64 ns_dev = 0, ns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_mem_stats);
} mem SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} reclaim_start SEC(".maps");

static __always_inline struct st_mem_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mem, &zero);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(on_reclaim_begin, int order, gfp_t gfp_flags)
{
	__u64 *ts = bpf_task_storage_get(&reclaim_start, bpf_get_current_task_btf(), 0,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(on_reclaim_end, unsigned long nr_reclaimed)
{
	__u64 *ts = bpf_task_storage_get(&reclaim_start, bpf_get_current_task_btf(), 0, 0);
	struct st_mem_stats *s = stats();

	if (!s || !ts || !*ts)
		return 0;
	s->reclaim_count++;
	s->reclaim_ns += bpf_ktime_get_ns() - *ts;
	*ts = 0;
	return 0;
}

SEC("tp_btf/mm_vmscan_kswapd_wake")
int BPF_PROG(on_kswapd_wake, int nid, int zid, int order)
{
	struct st_mem_stats *s = stats();

	if (s)
		s->kswapd_wakes++;
	return 0;
}

SEC("tp_btf/mm_vmscan_throttled")
int BPF_PROG(on_throttled, int nid, int usec_timeout, int usec_delayed, int reason)
{
	struct st_mem_stats *s = stats();

	if (s) {
		s->throttled++;
		s->throttled_us += usec_delayed > 0 ? (__u64)usec_delayed : 0;
	}
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(on_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct st_mem_stats *s;

	if (in_pid_ns) {
		struct bpf_pidns_info ns = {};

		if (bpf_get_ns_current_pid_tgid(ns_dev, ns_ino, &ns, sizeof(ns)) || ns.tgid != target_tgid)
			return 0;
	} else if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid) {
		return 0;
	}
	s = stats();
	if (s)
		s->faults++;
	return 0;
}

SEC("tp_btf/sched_move_numa")
int BPF_PROG(on_move_numa, struct task_struct *tsk, int src_cpu, int dst_cpu)
{
	struct st_mem_stats *s = stats();

	if (s)
		s->numa_task_moves++;
	return 0;
}

/* mm_migrate_pages gained an argument in 6.x, which moved "reason": one
 * program per layout, the loader keeps the one this kernel has. */
static __always_inline void migrated(__u64 succeeded, __u32 r)
{
	struct st_mem_stats *s = stats();

	if (!s)
		return;
	if (r >= ST_MEM_REASONS)
		r = ST_MEM_REASONS - 1;
	barrier_var(r);
	s->migrated[r & (ST_MEM_REASONS - 1)] += succeeded;
}

SEC("tp_btf/mm_migrate_pages")
int BPF_PROG(on_migrate, unsigned long succeeded, unsigned long failed, unsigned long thp_succeeded,
	     unsigned long thp_failed, unsigned long thp_split, unsigned long large_folio_split, enum migrate_mode mode,
	     int reason)
{
	migrated(succeeded, (__u32)reason);
	return 0;
}

SEC("tp_btf/mm_migrate_pages")
int BPF_PROG(on_migrate_old, unsigned long succeeded, unsigned long failed, unsigned long thp_succeeded,
	     unsigned long thp_failed, unsigned long thp_split, enum migrate_mode mode, int reason)
{
	migrated(succeeded, (__u32)reason);
	return 0;
}
