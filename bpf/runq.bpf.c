/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/runq.bpf.c — run-queue latency of the runtime's registered threads:
 * the time from a wakeup (or a preemption, the thread still runnable) to
 * the moment the thread runs again, as a log2 histogram per CPU.
 *
 * Threads are picked by a bitmap indexed by TID (an array, not a hash: a
 * context switch of any other thread costs two loads), which user space
 * fills through an mmap'd map.
 */
#include "bpf/vmlinux.h" /* generated from the kernel BTF (mk/bpf.mk) */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/runq.h"
#include "bpf/log2_hist.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, ST_RUNQ_BITMAP_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} queued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_runq_hist);
} hist SEC(".maps");

static __always_inline bool is_watched(__u32 tid)
{
	__u32 word = tid >> 6;
	__u64 *bits = bpf_map_lookup_elem(&watched, &word);

	return bits && (*bits >> (tid & 63)) & 1;
}

static __always_inline void queued(__u32 tid)
{
	__u64 now;

	if (!is_watched(tid))
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&queued_at, &tid, &now, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	queued((__u32)p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	queued((__u32)p->pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 next_tid = (__u32)next->pid, zero = 0;
	__u64 *at, delta;
	struct st_runq_hist *h;

	/* Switched out while still runnable (preempted, or its time slice
	 * ended): it waits again from now. */
	if (prev->__state == 0 /* TASK_RUNNING */)
		queued((__u32)prev->pid);
	if (!is_watched(next_tid))
		return 0;
	at = bpf_map_lookup_elem(&queued_at, &next_tid);
	if (!at)
		return 0;
	delta = bpf_ktime_get_ns() - *at;
	bpf_map_delete_elem(&queued_at, &next_tid);
	h = bpf_map_lookup_elem(&hist, &zero);
	if (!h)
		return 0;
	st_hist_add(h->slot, ST_RUNQ_SLOTS, delta);
	h->count++;
	h->total_ns += delta;
	return 0;
}
