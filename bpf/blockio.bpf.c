/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/blockio.bpf.c — block I/O bytes, counts and latency per device and
 * direction, aggregated in the kernel: a per-CPU table of devices (open
 * addressing over an array, no hash map) with log2 latency histograms;
 * user space reads the table, never an event stream.
 *
 * One program on completion (tp_btf/block_rq_complete) does it all: the
 * block layer already stamps each request with its start time when I/O
 * statistics are on (the default), so no per-request map is kept and the
 * issue path is not hooked.  Fields are read directly through the typed
 * BTF pointer (no probe-read helper calls).
 */
#include "bpf/vmlinux.h" /* generated from the kernel BTF (mk/bpf.mk) */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/blockio.h"
#include "bpf/log2_hist.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Latency is taken from one completion in (mask + 1) per device and
 * direction on each CPU: the clock read and the histogram cost more than
 * the rest of this program together (about 100 ns on a VM), so user space
 * raises the mask with the completion rate and keeps the sample near a few
 * thousand per second (bpf/blockio.c); 0, every completion, until then. */
__u32 lat_sample_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_BLOCKIO_SLOTS);
	__type(key, __u32);
	__type(value, struct st_blockio_stats);
} stats SEC(".maps");

/* This CPU's slot for @dev: linear probing from its hash over the whole
 * table (one or two probes in practice); NULL only when all slots are
 * taken by other devices, and then the completion is not counted. */
static __always_inline struct st_blockio_stats *slot_of(__u32 dev)
{
	__u32 k = (dev * 2654435761u) >> 26, i; /* 6 bits: 0..63 */

	for (i = 0; i < ST_BLOCKIO_SLOTS; i++) {
		__u32 key = (k + i) & (ST_BLOCKIO_SLOTS - 1);
		struct st_blockio_stats *s = bpf_map_lookup_elem(&stats, &key);

		if (!s)
			return 0;
		if (s->dev == dev)
			return s;
		if (s->dev == 0) {
			s->dev = dev; /* per-CPU: nobody else writes this slot */
			return s;
		}
	}
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(on_block_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u32 op = rq->cmd_flags & 0xff, dev;
	struct gendisk *disk = rq->q->disk;
	struct st_blockio_stats *s;
	__u64 start;
	int dir = op == 1 ? 1 : op == 0 ? 0 : -1; /* REQ_OP_WRITE, REQ_OP_READ */

	if (dir < 0 || !disk)
		return 0;
	dev = ((__u32)disk->major << 20) | (__u32)disk->first_minor;
	s = slot_of(dev);
	if (!s)
		return 0;
	s->bytes[dir & 1] += nr_bytes;
	s->ios[dir & 1]++;
	if (s->ios[dir & 1] & lat_sample_mask)
		return 0;
	start = rq->start_time_ns;
	if (start)
		st_hist_add(s->lat, ST_BLOCKIO_LAT_SLOTS, bpf_ktime_get_ns() - start);
	return 0;
}
