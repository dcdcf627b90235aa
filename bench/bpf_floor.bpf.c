/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bench/bpf_floor.bpf.c — an empty program on each tracepoint strata's
 * collectors use.  What the kernel's BPF statistics charge one of these
 * per invocation is the floor any program on that hook pays on this
 * machine (the trampoline, and the statistics' own two clock reads);
 * bench_bpf reports each collector's cost beside it.
 */
#include "bpf/vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/block_rq_complete")
int fl_block(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int fl_wakeup(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int fl_wakeup_new(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int fl_switch(void *ctx)
{
	return 0;
}

SEC("tp_btf/page_fault_user")
int fl_fault(void *ctx)
{
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int fl_uring_submit(void *ctx)
{
	return 0;
}

SEC("tp_btf/io_uring_complete")
int fl_uring_done(void *ctx)
{
	return 0;
}
