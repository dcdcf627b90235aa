/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bpf/log2_hist.bpf.h — kernel-side helper the collectors share: add one
 * sample to a log2 histogram of microseconds.
 */
#ifndef STRATA_BPF_LOG2_HIST_H
#define STRATA_BPF_LOG2_HIST_H

static __always_inline __u32 st_log2_u64(__u64 v)
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

/* Count @ns in @slots, @nslots of them (a power of two, a constant once
 * inlined); slot i holds [2^i, 2^(i+1)) microseconds. */
static __always_inline void st_hist_add(__u64 *slots, __u32 nslots, __u64 ns)
{
	__u64 slot = st_log2_u64(ns / 1000);

	if (slot >= nslots)
		slot = nslots - 1;
	/* Keep the mask: the compiler would drop it and the verifier needs
	 * to see the index bounded. */
	barrier_var(slot);
	slots[slot & (nslots - 1)]++;
}

#endif /* STRATA_BPF_LOG2_HIST_H */
