/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/blockio.bpf.c — block I/O bytes, counts and latency per device and
 * direction, aggregated in the kernel (a per-CPU hash per device, log2
 * latency histograms); user space reads the maps, never an event stream.
 *
 * BTF-typed tracepoints (tp_btf) give the struct request itself: issue
 * time is kept per request pointer and the completion adds bytes, one I/O
 * and a latency sample.
 */
#include "bpf/vmlinux.h" /* generated from the kernel BTF (mk/bpf.mk) */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/blockio.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} issued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ST_BLOCKIO_MAX_DEVS);
	__type(key, __u32);
	__type(value, struct st_blockio_stats);
} stats SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 dev_of(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(on_issue, struct request *rq)
{
	__u64 key = (__u64)rq, ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&issued, &key, &ts, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(on_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, *ts = bpf_map_lookup_elem(&issued, &key);
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & 0xff, dev = dev_of(rq);
	struct st_blockio_stats *s;
	int dir = op == 1 ? 1 : op == 0 ? 0 : -1; /* REQ_OP_WRITE, REQ_OP_READ */

	if (dir < 0 || !dev)
		goto out;
	s = bpf_map_lookup_elem(&stats, &dev);
	if (!s) {
		struct st_blockio_stats zero = {};

		bpf_map_update_elem(&stats, &dev, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&stats, &dev);
		if (!s)
			goto out;
	}
	s->bytes[dir & 1] += nr_bytes;
	s->ios[dir & 1]++;
	if (ts) {
		__u64 us = (bpf_ktime_get_ns() - *ts) / 1000, slot = log2_u64(us);

		if (slot >= ST_BLOCKIO_LAT_SLOTS)
			slot = ST_BLOCKIO_LAT_SLOTS - 1;
		/* Keep the mask: the compiler would drop it and the verifier
		 * needs to see the index bounded. */
		barrier_var(slot);
		s->lat[slot & (ST_BLOCKIO_LAT_SLOTS - 1)]++;
	}
out:
	if (ts)
		bpf_map_delete_elem(&issued, &key);
	return 0;
}
