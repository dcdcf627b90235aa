/* SPDX-License-Identifier: MIT */
/*
 * bpf/collectors.h — the eBPF collectors as core/telemetry.c uses them.
 * Each opens (load + attach) or says why it cannot, is read by sampling
 * its maps, and is closed with everything it attached.
 */
#ifndef STRATA_BPF_COLLECTORS_H
#define STRATA_BPF_COLLECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/blockio.h"
#include "bpf/memory.h"
#include "bpf/runq.h"
#include "bpf/uring.h"

/* Arguments of BTF tracepoint @tracepoint ("mm_migrate_pages") in this
 * kernel; -ENOENT when it does not have it (bpf/tp.c). */
int st_bpf_tp_args(const char *tracepoint);
/* MR_NUMA_MISPLACED in this kernel's enum migrate_reason; -1 unknown. */
int st_bpf_numa_misplaced_reason(void);
/* This process's PID namespace (device and inode of /proc/self/ns/pid).
 * Return: 1 inside a nested namespace, 0 in the host's, -errno. */
int st_bpf_pid_namespace(uint64_t *dev, uint64_t *ino);
/* Say in @reason why the @what programs did not load (@err), telling a
 * missing capability from a verifier rejection; @hint is appended to the
 * other cases ("" for none) (bpf/load_error.c). */
void st_bpf_load_failure(char *reason, size_t len, int err, const char *what, const char *hint);

struct st_bpf_dev {
	uint32_t dev;
	char name[32];
	__u64 bytes[2], ios[2], lat[ST_BLOCKIO_LAT_SLOTS];
};

struct st_bpf_blockio_sample {
	unsigned ndevs;
	struct st_bpf_dev devs[ST_BLOCKIO_MAX_DEVS];
};

struct st_bpf_blockio;

/* Return: 0; -ENOSYS (built without skeletons), -EPERM (no CAP_BPF /
 * CAP_PERFMON), other load errors; @reason says which and how to fix it. */
int st_bpf_blockio_open(struct st_bpf_blockio **out, char *reason, size_t len);
int st_bpf_blockio_read(struct st_bpf_blockio *b, struct st_bpf_blockio_sample *out);
void st_bpf_blockio_close(struct st_bpf_blockio *b);
const struct st_bpf_dev *st_bpf_blockio_find(const struct st_bpf_blockio_sample *s, uint32_t dev);

/* Run-queue latency of watched threads (bpf/runq.c). */
struct st_bpf_runq;
int st_bpf_runq_open(struct st_bpf_runq **out, char *reason, size_t len);
/* Watch thread @tid (a bit in an mmap'd map: no system call). */
int st_bpf_runq_watch(struct st_bpf_runq *r, int tid);
int st_bpf_runq_unwatch(struct st_bpf_runq *r, int tid);
int st_bpf_runq_read(struct st_bpf_runq *r, struct st_runq_hist *out);
void st_bpf_runq_close(struct st_bpf_runq *r);

/* Memory pressure: reclaim, kswapd, throttling, faults, migrations (bpf/memory.c). */
struct st_bpf_memory;
int st_bpf_memory_open(struct st_bpf_memory **out, char *reason, size_t len);
int st_bpf_memory_read(struct st_bpf_memory *m, struct st_mem_stats *out);
void st_bpf_memory_close(struct st_bpf_memory *m);

/* This process's io_uring traffic (bpf/uring.c). */
struct st_bpf_uring;
int st_bpf_uring_open(struct st_bpf_uring **out, char *reason, size_t len);
int st_bpf_uring_read(struct st_bpf_uring *u, struct st_uring_stats *out);
void st_bpf_uring_close(struct st_bpf_uring *u);

#endif /* STRATA_BPF_COLLECTORS_H */
