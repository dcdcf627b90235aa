/* SPDX-License-Identifier: MIT */
/*
 * bpf/uring.h — types shared by the io_uring collector's kernel side
 * (uring.bpf.c) and its loader (uring.c).
 */
#ifndef STRATA_BPF_URING_H
#define STRATA_BPF_URING_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_URING_LAT_SLOTS 32 /* log2 of microseconds */

/* This process's rings, per CPU; user space sums. */
struct st_uring_stats {
	__u64 submitted, completed, failed, cq_overflows;
	__u64 lat[ST_URING_LAT_SLOTS]; /* submission to completion */
};

#endif /* STRATA_BPF_URING_H */
