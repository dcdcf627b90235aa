/* SPDX-License-Identifier: MIT */
/*
 * bpf/runq.h — types shared by the run-queue collector's kernel side
 * (runq.bpf.c) and its loader (runq.c).
 */
#ifndef STRATA_BPF_RUNQ_H
#define STRATA_BPF_RUNQ_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Registered threads: one bit per TID up to the kernel's PID_MAX_LIMIT
 * (2^22), in an mmap'able array user space sets without a system call. */
#define ST_RUNQ_BITMAP_WORDS 65536
#define ST_RUNQ_SLOTS 32 /* log2 of microseconds */

struct st_runq_hist {
	__u64 slot[ST_RUNQ_SLOTS];
	__u64 count;
	__u64 total_ns;
};

#endif /* STRATA_BPF_RUNQ_H */
