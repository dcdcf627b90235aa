/* SPDX-License-Identifier: MIT */
/*
 * strata/probe.h — measured memory bandwidth and latency per NUMA node.
 *
 * The probe runs STREAM-style kernels with one thread per core of a node,
 * on memory bound to that node, over arrays at least four times the size of
 * all last-level caches; it takes well under a second on a one- or two-node
 * machine.  Figures are cached on disk, keyed by the machine's identity (CPU
 * model, memory size, kernel release, node count), so a process pays for
 * the measurement once per machine.  Bandwidth follows STREAM's
 * convention: bytes the kernel names (read: 8 per element, copy: 16,
 * triad: 24), best of several repetitions.
 */
#ifndef STRATA_PROBE_H
#define STRATA_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;

struct strata_probe_node {
	size_t sz;
	unsigned node; /* node index, as in strata_topo_node() */
	double read_gbps; /* sum of an array, GB/s (1e9 bytes) */
	double copy_gbps; /* a[i] = b[i] */
	double triad_gbps; /* a[i] = b[i] + s * c[i] */
	double latency_ns; /* dependent loads over a random chain, idle */
	unsigned threads; /* threads used for the bandwidth kernels */
	uint64_t array_bytes; /* size of each array */
	int64_t measured_at; /* Unix time of the measurement */
	bool from_cache; /* loaded from the disk cache, not measured now */
};

/*
 * strata_probe_node() - the probe figures of node @idx.
 * Return: 0; -ENODATA when the runtime has no figures (probe off, or it
 * failed); -ENOENT for a bad index; -EINVAL.
 */
STRATA_API int strata_probe_node(const struct strata_rt *rt, unsigned idx, struct strata_probe_node *out);

/*
 * strata_probe_load() - load this machine's figures from the disk cache
 * into the runtime (for a runtime created with STRATA_PROBE_OFF).
 * Return: 0; -ENOENT when nothing is cached; -STRATA_ESTALE when the cache
 * belongs to another machine identity or format; -STRATA_EFORMAT when it is
 * corrupt; -STRATA_ENOTHERE when the topology is not this machine.
 */
STRATA_API int strata_probe_load(struct strata_rt *rt);

/*
 * strata_probe_refresh() - measure every node now, replace the runtime's
 * figures and rewrite the disk cache.  Takes up to about one second; other
 * threads should not be busy on the measured cores if the figures are to
 * mean anything.
 * Return: 0; -STRATA_ENOTHERE when the topology is not this machine;
 * -ENOMEM; other negative errno.  A cache that cannot be written is logged,
 * not an error.
 * Thread safety: not concurrently with strata_probe_node() on the same @rt.
 */
STRATA_API int strata_probe_refresh(struct strata_rt *rt);

/*
 * strata_probe_cache_path() - where the figures for this machine are cached.
 * Writes the path into @buf (@len bytes, NUL-terminated).
 * Return: the path's length; -ENAMETOOLONG when it does not fit; -ENOENT
 * when no cache folder can be determined ($HOME unset and no cache_dir).
 */
STRATA_API int strata_probe_cache_path(const struct strata_rt *rt, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_PROBE_H */
