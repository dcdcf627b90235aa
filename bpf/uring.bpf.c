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
#include "bpf/log2_hist.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 target_tgid = 0; /* this process: set before load */
const volatile bool in_pid_ns = false; /* see memory.bpf.c */
const volatile __u64 ns_dev = 0, ns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_uring_stats);
} uring SEC(".maps");

/* Submission times of our requests; LRU so that requests whose completion
 * was never seen cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} submitted_at SEC(".maps");

/* Our rings (io_ring_ctx pointers), learned at submission, so that a
 * completion on any other process's ring costs one lookup and no more. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u8);
} rings SEC(".maps");

/* In front of that map, one bit per hashed ring pointer we have learned:
 * every io_uring completion on the machine passes here, and one on another
 * process's ring almost always finds its bit clear and stops after a single
 * load instead of a hash lookup.  Bits are never cleared; a stale or
 * shared bit only sends a completion on to the map, which decides. */
#define RING_FILTER_BITS 4096
__u64 ring_filter[RING_FILTER_BITS / 64];

/* The ring is a kernel pointer to the verifier, which forbids shifting or
 * multiplying one; its distance from another pointer is a plain number
 * (to programs loaded with CAP_PERFMON, as these are), and the filter's
 * own address serves as that fixed other pointer. */
static __always_inline __u32 ring_bit(__u64 ring)
{
	__u64 d = ring - (__u64)ring_filter;

	return (__u32)(((d >> 6) * 0x9E3779B97F4A7C15ULL) >> 52); /* 12 bits */
}

static __always_inline bool our_ring(__u64 ring, bool learn)
{
	__u32 bit = ring_bit(ring);
	__u8 one = 1;

	if (!learn && !((ring_filter[bit / 64] >> (bit % 64)) & 1))
		return false;
	if (bpf_map_lookup_elem(&rings, &ring))
		return true;
	if (learn) {
		bpf_map_update_elem(&rings, &ring, &one, BPF_ANY);
		__sync_fetch_and_or(&ring_filter[bit / 64], 1ULL << (bit % 64));
	}
	return learn;
}

static __always_inline bool ours(void)
{
	if (in_pid_ns) {
		struct bpf_pidns_info ns = {};

		return !bpf_get_ns_current_pid_tgid(ns_dev, ns_ino, &ns, sizeof(ns)) && ns.tgid == target_tgid;
	}
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline struct st_uring_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&uring, &zero);
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

/* Completions may run in io-wq workers or in interrupt context: the ring,
 * not the current task, says whether it is ours. */
static __always_inline void completed(__u64 ring, __u64 req, __s32 res)
{
	__u64 key = req, *at;
	struct st_uring_stats *s;

	if (!our_ring(ring, false))
		return;
	at = bpf_map_lookup_elem(&submitted_at, &key);
	if (!at)
		return;
	s = stats();
	if (s) {
		s->completed++;
		if (res < 0)
			s->failed++;
		st_hist_add(s->lat, ST_URING_LAT_SLOTS, bpf_ktime_get_ns() - *at);
	}
	bpf_map_delete_elem(&submitted_at, &key);
}

/* 6.13 on: (ctx, req, cqe). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	completed((__u64)ring, (__u64)req, cqe ? cqe->res : 0);
	return 0;
}

/* Before: (ctx, req, user_data, res, cflags, extra1, extra2). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring_complete_old, void *ring, void *req, __u64 user_data, int res)
{
	completed((__u64)ring, (__u64)req, res);
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
