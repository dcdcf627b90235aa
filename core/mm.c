/* SPDX-License-Identifier: MIT */
/*
 * core/mm.c — pools as the runtime offers them: core resolves a placement
 * hint against the topology and probe figures, builds the OS provider for
 * it (nodes, policy, huge pages, pinning, the CPUs that populate new
 * memory), and hands both to mm/, which knows nothing of topology.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <strata/mm.h>

#include "core/core_int.h"
#include "core/mm_place.h"
#include "mm/mm_int.h"

#define DEFAULT_GROW (64ULL << 20)
#define DEFAULT_DECAY_MS 10000u

static bool hugetlb_available(void)
{
	char buf[4096], *p;
	unsigned long long n = 0;

	if (st_read_text("/proc/meminfo", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "HugePages_Free:");
	return p && sscanf(p, "HugePages_Free: %llu", &n) == 1 && n > 0;
}

/* One populating thread per core of the chosen nodes, on its first PU. */
static void populate_cpus(const struct strata_topo *t, uint64_t nodes, struct st_os_provider_cfg *cfg)
{
	unsigned i;

	for (i = 0; i < t->n_nodes && i < 64; i++) {
		hwloc_const_cpuset_t set = t->nodes[i].obj->cpuset;
		int n, c;

		if (!(nodes & (1ULL << i)) || !set)
			continue;
		n = hwloc_get_nbobjs_inside_cpuset_by_type(t->hw, set, HWLOC_OBJ_CORE);
		for (c = 0; c < n && cfg->ncpus < ST_MM_MAX_CPUS; c++) {
			hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(t->hw, set, HWLOC_OBJ_CORE,
									       (unsigned)c);

			cfg->cpus[cfg->ncpus++] = hwloc_bitmap_first(core->cpuset);
		}
	}
}

static int check_pool_opts(const struct strata_pool_opts *o)
{
	if (!st_opts_valid(o, sizeof(*o)))
		return -EINVAL;
	if (!o)
		return 0;
	if ((unsigned)ST_OPT(o, kind, STRATA_MEM_HOST) > STRATA_MEM_DEVICE ||
	    (unsigned)ST_OPT(o, place, STRATA_PLACE_LOCAL) > STRATA_PLACE_CAPACITY ||
	    (unsigned)ST_OPT(o, bind, STRATA_BIND_STRICT) > STRATA_BIND_PREFERRED ||
	    (ST_OPT(o, flags, 0u) & ~STRATA_POOL_FLAGS_ALL))
		return -EINVAL;
	return 0;
}

int st_rt_register_device_memory(struct strata_rt *rt, const char *name,
				 int (*make_provider)(void *arg, struct st_mm_provider *out), void *arg)
{
	unsigned i;

	if (!rt || !name || !*name || !make_provider)
		return -EINVAL;
	for (i = 0; i < rt->n_devmem; i++)
		if (!strcmp(rt->devmem[i].name, name))
			return -EEXIST;
	if (rt->n_devmem == ST_MAX_DEVICES)
		return -ENOSPC;
	st_fmt(rt->devmem[rt->n_devmem].name, sizeof(rt->devmem[0].name), "%s", name);
	rt->devmem[rt->n_devmem].make_provider = make_provider;
	rt->devmem[rt->n_devmem].arg = arg;
	rt->n_devmem++;
	return 0;
}

static int find_device(const struct strata_rt *rt, const char *name)
{
	unsigned i;

	for (i = 0; name && i < rt->n_devmem; i++)
		if (!strcmp(rt->devmem[i].name, name))
			return (int)i;
	return -ENODEV;
}

/* The settings host and device pools share, from the options (defaults
 * applied); the caller sets provider, flags, node and device. */
static void pool_cfg_from_opts(const struct strata_pool_opts *opts, struct st_pool_cfg *pc)
{
	uint32_t decay = ST_OPT(opts, decay_ms, 0u);
	uint64_t grow = ST_OPT(opts, grow_bytes, (uint64_t)0);

	memset(pc, 0, sizeof(*pc));
	pc->name = ST_OPT(opts, name, NULL);
	pc->limit_bytes = ST_OPT(opts, limit_bytes, (uint64_t)0);
	pc->grow_bytes = grow ? grow : DEFAULT_GROW;
	pc->prefill_bytes = ST_OPT(opts, prefill_bytes, (uint64_t)0);
	pc->decay_ms = decay == 0 ? DEFAULT_DECAY_MS : decay == STRATA_DECAY_NEVER ? 0 : decay;
}

/* A pool on a device: TLSF over the device's memory, metadata on the host. */
static int create_device_pool(struct strata_rt *rt, const struct strata_pool_opts *opts, struct strata_pool **out)
{
	struct st_pool_cfg pc;
	int dev, err;

	if (!ST_OPT(opts, device, NULL))
		return -EINVAL;
	dev = find_device(rt, ST_OPT(opts, device, NULL));
	if (dev < 0)
		return dev;
	pool_cfg_from_opts(opts, &pc);
	err = rt->devmem[dev].make_provider(rt->devmem[dev].arg, &pc.provider);
	if (err)
		return err;
	pc.flags = ST_OPT(opts, flags, 0u) | STRATA_POOL_NO_SMALL;
	pc.node = -1;
	pc.device = dev;
	return st_pool_create(rt->mm, &pc, out);
}

int strata_pool_create(struct strata_rt *rt, const struct strata_pool_opts *opts, struct strata_pool **out)
{
	struct st_os_provider_cfg *cfg;
	struct st_pool_cfg pc;
	struct st_place_req req;
	struct st_place place;
	uint32_t flags;
	unsigned i;
	int err;

	if (!rt || !out)
		return -EINVAL;
	err = check_pool_opts(opts);
	if (err)
		return err;
	if (!rt->topo->this_machine)
		return -STRATA_ENOTHERE;
	if (ST_OPT(opts, kind, STRATA_MEM_HOST) == STRATA_MEM_DEVICE)
		return create_device_pool(rt, opts, out);
	flags = ST_OPT(opts, flags, 0u);
	if ((flags & STRATA_POOL_HUGETLB) && !hugetlb_available())
		return -ENOMEM;

	req = (struct st_place_req){
		.place = ST_OPT(opts, place, STRATA_PLACE_LOCAL),
		.bind = ST_OPT(opts, bind, STRATA_BIND_STRICT),
		.node = ST_OPT(opts, node, -1),
		.device = ST_OPT(opts, device, NULL),
		.cpu = sched_getcpu(),
	};
	err = st_place_resolve(rt->topo, rt->probe, &req, &place);
	if (err)
		return err;

	cfg = st_calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->policy = place.policy;
	for (i = 0; i < rt->topo->n_nodes && i < 64; i++) {
		unsigned os = rt->topo->nodes[i].info.os_index;

		if ((place.nodes & (1ULL << i)) && os < ST_MM_MAX_NODES)
			cfg->nodemask[os / 64] |= 1ULL << (os % 64);
	}
	cfg->system_nodes = rt->topo->n_nodes;
	cfg->thp = flags & STRATA_POOL_HUGEPAGES;
	cfg->hugetlb = flags & STRATA_POOL_HUGETLB;
	cfg->lock = ST_OPT(opts, kind, STRATA_MEM_HOST) == STRATA_MEM_PINNED;
	populate_cpus(rt->topo, place.nodes, cfg);
	if (ST_OPT(opts, populate_threads, 0u) && ST_OPT(opts, populate_threads, 0u) < cfg->ncpus)
		cfg->ncpus = ST_OPT(opts, populate_threads, 0u);

	pool_cfg_from_opts(opts, &pc);
	err = st_os_provider_create(cfg, &pc.provider);
	st_free(cfg);
	if (err)
		return err;
	pc.flags = flags;
	pc.node = place.node;
	pc.device = -1;
	err = st_pool_create(rt->mm, &pc, out);
	if (err)
		st_debug("pool %s: %s", pc.name ? pc.name : "pool", strata_strerror(err));
	return err;
}

int64_t strata_mm_pressure(struct strata_rt *rt, enum strata_pressure level)
{
	int64_t released;

	if (!rt)
		return -EINVAL;
	released = st_domain_pressure(rt->mm, level);
	if (released > 0)
		st_info("memory pressure level %d: released %lld bytes", (int)level, (long long)released);
	return released;
}

int strata_mm_node_stats(struct strata_rt *rt, unsigned node, struct strata_pool_stats *out)
{
	if (!rt || !out || node > INT32_MAX)
		return -EINVAL;
	return st_domain_sum_stats(rt->mm, (int)node, -1, out);
}

int strata_mm_device_stats(struct strata_rt *rt, const char *device, struct strata_pool_stats *out)
{
	int dev;

	if (!rt || !out || !device)
		return -EINVAL;
	dev = find_device(rt, device);
	if (dev < 0)
		return dev;
	return st_domain_sum_stats(rt->mm, -1, dev, out);
}

int strata_mm_set_limit(struct strata_rt *rt, int node, uint64_t bytes)
{
	if (!rt)
		return -EINVAL;
	return st_domain_set_limit(rt->mm, node, bytes);
}
