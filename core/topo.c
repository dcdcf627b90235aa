/* SPDX-License-Identifier: MIT */
/*
 * core/topo.c — discover the machine once, through hwloc, and keep a flat
 * snapshot that getters read without locks.
 *
 * The hwloc topology stays alive beside the snapshot: binding threads and
 * memory (probe, mm/, scheduler) needs its objects.  The same code loads an
 * hwloc XML file or synthetic description instead of the machine, which is
 * how placement logic is tested for two- and four-node machines on a
 * one-node box.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/core_int.h"

#if HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#define HUGE_2M (2ULL << 20)

/*
 * hwloc plugins strata keeps out of discovery.  The GPU ones (cuda, nvml,
 * opencl, rsmi, levelzero) would initialise a GPU runtime inside
 * strata_rt_create(): a CUDA context alone costs hundreds of MiB of device
 * memory and seconds of start-up.  gl opens X displays.  pci goes through
 * libpciaccess, which leaks on every load; the linux component reads the
 * same PCI devices and their NUMA locality from sysfs without it.
 */
static const char *const blocked_components[] = { "cuda", "nvml", "opencl", "rsmi", "levelzero", "gl", "pci" };

/* Under Valgrind hwloc's x86 (CPUID) component disables itself with a
 * message on stderr; the library may not print, and the linux component
 * supplies the same topology. */
bool st_under_valgrind(void)
{
#if HAVE_VALGRIND_H
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

static int load_hwloc(struct strata_topo *t, const char *xml, const char *synthetic)
{
	unsigned i;

	if (hwloc_topology_init(&t->hw) < 0)
		return -ENOMEM;
	for (i = 0; i < ST_ARRAY_SIZE(blocked_components); i++)
		hwloc_topology_set_components(t->hw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
					      blocked_components[i]);
	if (st_under_valgrind())
		hwloc_topology_set_components(t->hw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
	if (xml) {
		if (access(xml, R_OK) < 0)
			return -errno;
		if (hwloc_topology_set_xml(t->hw, xml) < 0)
			return -STRATA_EFORMAT;
	} else if (synthetic) {
		if (hwloc_topology_set_synthetic(t->hw, synthetic) < 0)
			return -STRATA_EFORMAT;
	}
	/* hwloc drops instruction caches by default; code generation wants
	 * them.  PCI devices and their OS devices (disks, NICs, GPUs), not
	 * bridges. */
	hwloc_topology_set_icache_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_ALL);
	hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	if (hwloc_topology_load(t->hw) < 0)
		return (xml || synthetic) ? -STRATA_EFORMAT : (errno ? -errno : -EIO);
	t->this_machine = hwloc_topology_is_thissystem(t->hw);
	return 0;
}

static uint64_t node_hugepages_2m(hwloc_obj_t node)
{
	unsigned i;

	for (i = 0; i < node->attr->numanode.page_types_len; i++)
		if (node->attr->numanode.page_types[i].size == HUGE_2M)
			return node->attr->numanode.page_types[i].count;
	return 0;
}

static int collect_nodes(struct strata_topo *t)
{
	unsigned i;
	int n = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);

	if (n <= 0)
		return -STRATA_EFORMAT; /* hwloc always reports at least one node */
	t->nodes = st_calloc((size_t)n, sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->n_nodes = (unsigned)n;
	for (i = 0; i < t->n_nodes; i++) {
		hwloc_obj_t obj = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, i);
		struct strata_topo_node *info = &t->nodes[i].info;
		int cores = 0;

		t->nodes[i].obj = obj;
		info->sz = sizeof(*info);
		info->os_index = obj->os_index;
		info->memory_bytes = obj->attr->numanode.local_memory;
		if (obj->cpuset && !hwloc_bitmap_iszero(obj->cpuset)) {
			info->cpus = (unsigned)hwloc_bitmap_weight(obj->cpuset);
			cores = hwloc_get_nbobjs_inside_cpuset_by_type(t->hw, obj->cpuset, HWLOC_OBJ_CORE);
		}
		info->cores = cores > 0 ? (unsigned)cores : 0;
		info->hugepages_2m = node_hugepages_2m(obj);
	}
	return 0;
}

/* Prefer a latency matrix reported by the OS or firmware (SLIT). */
static struct hwloc_distances_s *pick_distances(struct strata_topo *t)
{
	struct hwloc_distances_s *d[8];
	unsigned nr = ST_ARRAY_SIZE(d), i, best = 0;

	if (hwloc_distances_get_by_type(t->hw, HWLOC_OBJ_NUMANODE, &nr, d, 0, 0) < 0 || !nr)
		return NULL;
	nr = ST_MIN(nr, (unsigned)ST_ARRAY_SIZE(d));
	for (i = 0; i < nr; i++) {
		if (d[i]->kind & HWLOC_DISTANCES_KIND_MEANS_LATENCY) {
			best = i;
			break;
		}
	}
	for (i = 0; i < nr; i++)
		if (i != best)
			hwloc_distances_release(t->hw, d[i]);
	return d[best];
}

static int collect_distances(struct strata_topo *t)
{
	struct hwloc_distances_s *d;
	unsigned i, j;

	t->distances = st_calloc((size_t)t->n_nodes * t->n_nodes, sizeof(int));
	if (!t->distances)
		return -ENOMEM;
	d = pick_distances(t);
	if (!d) {
		/* One node is its own neighbour at the conventional local value;
		 * otherwise the distances stay unknown (0). */
		if (t->n_nodes == 1)
			t->distances[0] = 10;
		return 0;
	}
	for (i = 0; i < d->nbobjs; i++) {
		for (j = 0; j < d->nbobjs; j++) {
			unsigned from = d->objs[i]->logical_index, to = d->objs[j]->logical_index;

			if (from < t->n_nodes && to < t->n_nodes)
				t->distances[from * t->n_nodes + to] = (int)d->values[i * d->nbobjs + j];
		}
	}
	hwloc_distances_release(t->hw, d);
	return 0;
}

static const hwloc_obj_type_t cache_types[] = {
	HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
	HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
};

static int collect_caches(struct strata_topo *t)
{
	unsigned i, top_level = 0;

	t->caches = st_calloc(ST_ARRAY_SIZE(cache_types), sizeof(*t->caches));
	if (!t->caches)
		return -ENOMEM;
	for (i = 0; i < ST_ARRAY_SIZE(cache_types); i++) {
		int n = hwloc_get_nbobjs_by_type(t->hw, cache_types[i]);
		struct strata_topo_cache *c = &t->caches[t->n_caches];
		hwloc_obj_t obj;

		if (n <= 0)
			continue;
		obj = hwloc_get_obj_by_type(t->hw, cache_types[i], 0);
		c->sz = sizeof(*c);
		c->level = obj->attr->cache.depth;
		c->type = obj->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? STRATA_CACHE_DATA
			: obj->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? STRATA_CACHE_INSTRUCTION
			: STRATA_CACHE_UNIFIED;
		c->size_bytes = obj->attr->cache.size;
		c->line_bytes = obj->attr->cache.linesize;
		c->ways = obj->attr->cache.associativity;
		c->instances = (unsigned)n;
		c->pus_per_instance = obj->cpuset ? (unsigned)hwloc_bitmap_weight(obj->cpuset) : 0;
		t->n_caches++;
		if (c->type != STRATA_CACHE_INSTRUCTION && c->level >= top_level) {
			top_level = c->level;
			t->llc_bytes = c->size_bytes * c->instances;
		}
	}
	return 0;
}

static void collect_cpu_model(struct strata_topo *t)
{
	hwloc_obj_t pkg = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, 0);
	const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;

	/* Prefer the full CPUID brand on this machine: hwloc may shorten it
	 * from /proc/cpuinfo under a hypervisor. */
	if (t->this_machine)
		st_cpu_brand(t->cpu_model, sizeof(t->cpu_model));
	else
		st_fmt(t->cpu_model, sizeof(t->cpu_model), "%s", model ? model : "unknown");
}

static unsigned count_type(struct strata_topo *t, hwloc_obj_type_t type)
{
	int n = hwloc_get_nbobjs_by_type(t->hw, type);

	return n > 0 ? (unsigned)n : 0;
}

int st_topo_create(const char *xml, const char *synthetic, struct strata_topo **out)
{
	struct strata_topo *t;
	int err;

	if (xml && synthetic)
		return -EINVAL;
	t = st_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = load_hwloc(t, xml, synthetic);
	if (err)
		goto err_destroy;
	t->packages = count_type(t, HWLOC_OBJ_PACKAGE);
	t->cores = count_type(t, HWLOC_OBJ_CORE);
	t->pus = count_type(t, HWLOC_OBJ_PU);
	err = collect_nodes(t);
	if (err)
		goto err_destroy;
	err = collect_distances(t);
	if (err)
		goto err_destroy;
	err = collect_caches(t);
	if (err)
		goto err_destroy;
	err = st_topo_collect_devices(t);
	if (err)
		goto err_destroy;
	/* The CPU features are the host's: meaningless for another machine. */
	t->cpu_features = t->this_machine ? st_cpu_features_detect() : 0;
	collect_cpu_model(t);
	*out = t;
	return 0;

err_destroy:
	st_topo_destroy(t);
	return err;
}

void st_topo_destroy(struct strata_topo *t)
{
	if (!t)
		return;
	st_free(t->devices);
	st_free(t->caches);
	st_free(t->distances);
	st_free(t->nodes);
	if (t->hw)
		hwloc_topology_destroy(t->hw);
	st_free(t);
}
