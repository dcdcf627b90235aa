/* SPDX-License-Identifier: MIT */
/*
 * bpf/blockio.h — types shared by the block I/O collector's kernel side
 * (blockio.bpf.c) and its loader (blockio.c): fixed-width fields only.
 */
#ifndef STRATA_BPF_BLOCKIO_H
#define STRATA_BPF_BLOCKIO_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_BLOCKIO_MAX_DEVS 16
#define ST_BLOCKIO_SLOTS 64 /* per-CPU table of devices, open addressing */
#define ST_BLOCKIO_LAT_SLOTS 32 /* log2 of microseconds */

/* Per device and CPU, in a per-CPU array: @dev (major << 20 | minor, the
 * kernel's dev_t) says which device a slot holds, 0 when free. */
struct st_blockio_stats {
	__u32 dev;
	__u32 pad;
	__u64 bytes[2]; /* [0] read, [1] write */
	__u64 ios[2];
	__u64 lat[ST_BLOCKIO_LAT_SLOTS]; /* request start to completion, both directions */
};

#endif /* STRATA_BPF_BLOCKIO_H */
