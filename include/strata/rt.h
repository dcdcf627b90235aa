/* SPDX-License-Identifier: MIT */
/*
 * strata/rt.h — the runtime context.
 *
 * A process creates one strata_rt at start-up and destroys it at exit.  The
 * runtime owns what strata learns about the machine (topology, CPU
 * features, measured memory bandwidth) and, as components land, the pools,
 * the I/O engine, the telemetry and the scheduler that use it.
 */
#ifndef STRATA_RT_H
#define STRATA_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;

/* What strata_rt_create() does about the memory-bandwidth probe. */
enum strata_probe_mode {
	/* Use the figures cached on disk for this machine; measure (about half
	 * a second) and cache them when there are none.  The default. */
	STRATA_PROBE_CACHED = 0,
	/* Measure now and rewrite the cache. */
	STRATA_PROBE_REFRESH = 1,
	/* Neither read nor measure; strata_probe_node() reports -ENODATA. */
	STRATA_PROBE_OFF = 2,
};

/*
 * Options for strata_rt_create().  Declare them with STRATA_RT_OPTS() so
 * that @sz is filled in: a library newer than the program reads only the
 * fields the program knew about, and an older library rejects options it
 * does not know (non-zero bytes past its own struct) with -EINVAL.
 */
struct strata_rt_opts {
	size_t sz;
	/* No flags are defined yet; must be 0. */
	uint32_t flags;
	enum strata_probe_mode probe;
	/* Load the topology from an hwloc XML file instead of this machine
	 * (tests, capacity planning).  Implies that nothing can be measured or
	 * bound: the probe is off. */
	const char *topology_xml;
	/* Same, from an hwloc synthetic description such as
	 * "pack:2 [numa] core:4 pu:2".  At most one of the two may be set. */
	const char *topology_synthetic;
	/* Folder for cached probe figures; default $XDG_CACHE_HOME/strata or
	 * $HOME/.cache/strata.  Created when missing. */
	const char *cache_dir;
	/* Serve Prometheus metrics at http://ADDR/metrics ("127.0.0.1:9464",
	 * ":9464"); default: STRATA_METRICS_ADDR, else no endpoint. */
	const char *metrics_addr;
};

#define STRATA_RT_OPTS(name, ...) \
	struct strata_rt_opts name = { .sz = sizeof(struct strata_rt_opts), __VA_ARGS__ }

/*
 * strata_rt_create() - create a runtime.
 * @opts: options, or NULL for the defaults.
 * @out:  receives the runtime on success; free it with strata_rt_destroy().
 *
 * Discovers the topology (hwloc), the CPU features and, unless
 * @opts->probe says otherwise, loads or measures the bandwidth probe.  A
 * failing probe is logged and leaves the runtime usable without figures.
 *
 * Return: 0; -EINVAL for bad options; -ENOMEM; -ENOENT when
 * @opts->topology_xml does not exist; -STRATA_EFORMAT when it or
 * @opts->topology_synthetic cannot be parsed; other negative errno from
 * topology discovery.
 * Thread safety: may be called from any thread.
 */
STRATA_API int strata_rt_create(const struct strata_rt_opts *opts, struct strata_rt **out);

/* strata_rt_destroy() - release the runtime and everything it owns.  NULL is
 * accepted.  No other call may use @rt concurrently or afterwards. */
STRATA_API void strata_rt_destroy(struct strata_rt *rt);

/* Whether the runtime's topology is this machine (false for XML/synthetic). */
STRATA_API bool strata_rt_is_this_machine(const struct strata_rt *rt);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_RT_H */
