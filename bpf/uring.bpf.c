/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/uring.bpf.c — this process's io_uring traffic: submissions,
 * completions (failed ones apart), CQ overflows, and submission-to-
 * completion latency as a log2 histogram.  Other processes pay one
 * comparison; for ours the submit time is kept per request.
 */
#include "bpf/vmlinux.h" /* generated from the kernel BTF (mk/bpf.mk) */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/uring.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 target_tgid = 0; /* this process: set before load */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_uring_stats);
} uring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} submitted_at SEC(".maps");

/* Our rings (io_ring_ctx pointers), learned at submission: a completion of
 * any other process's ring is dismissed by a few compares, not a lookup. */
#define OUR_RINGS 8
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[OUR_RINGS]);
} rings SEC(".maps");

static __always_inline bool our_ring(__u64 ring, bool learn)
{
	__u32 zero = 0, i;
	__u64 *r = bpf_map_lookup_elem(&rings, &zero);

	if (!r)
		return false;
	for (i = 0; i < OUR_RINGS; i++) {
		if (r[i] == ring)
			return true;
		if (learn && r[i] == 0) {
			r[i] = ring;
			return true;
		}
	}
	return false;
}

static __always_inline bool ours(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline struct st_uring_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&uring, &zero);
}

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

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(on_uring_submit, struct io_kiocb *req)
{
	struct st_uring_stats *s;
	__u64 key = (__u64)req, now;

	if (!ours())
		return 0;
	our_ring((__u64)req->ctx, true);
	s = stats();
	if (s)
		s->submitted++;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&submitted_at, &key, &now, BPF_ANY);
	return 0;
}

/* Completions may run in io-wq workers or in interrupt context: the
 * request pointer, not the current task, says whether it is ours. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	__u64 key = (__u64)req, *at, slot;
	struct st_uring_stats *s;

	if (!our_ring((__u64)ring, false))
		return 0;
	at = bpf_map_lookup_elem(&submitted_at, &key);
	if (!at)
		return 0;
	s = stats();
	if (s) {
		s->completed++;
		if (cqe && cqe->res < 0)
			s->failed++;
		slot = log2_u64((bpf_ktime_get_ns() - *at) / 1000);
		if (slot >= ST_URING_LAT_SLOTS)
			slot = ST_URING_LAT_SLOTS - 1;
		barrier_var(slot);
		s->lat[slot & (ST_URING_LAT_SLOTS - 1)]++;
	}
	bpf_map_delete_elem(&submitted_at, &key);
	return 0;
}

SEC("tp_btf/io_uring_cqe_overflow")
int BPF_PROG(on_uring_overflow, void *ring, unsigned long long user_data, s32 res, u32 cflags, void *ocqe)
{
	struct st_uring_stats *s;

	if (!ours())
		return 0;
	s = stats();
	if (s)
		s->cq_overflows++;
	return 0;
}
