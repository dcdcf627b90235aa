/* SPDX-License-Identifier: MIT */
/*
 * strata/topo.h — the machine as strata sees it.
 *
 * Discovered once by strata_rt_create() through hwloc and immutable
 * afterwards, so every getter here is thread-safe and cheap.  NUMA nodes,
 * caches and devices are addressed by dense indexes 0..count-1; the
 * operating system's own numbers are in the info structs.
 *
 * Info structs can grow: set .sz = sizeof(struct) before the call and the
 * library fills only the fields both sides know.
 */
#ifndef STRATA_TOPO_H
#define STRATA_TOPO_H

#include <stddef.h>
#include <stdint.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;
struct strata_topo;

/* The topology owned by @rt; valid until strata_rt_destroy(rt). Never NULL
 * for a live runtime. */
STRATA_API const struct strata_topo *strata_rt_topo(const struct strata_rt *rt);

enum strata_topo_count_kind {
	STRATA_TOPO_PACKAGES = 0,
	STRATA_TOPO_CORES = 1,
	STRATA_TOPO_PUS = 2, /* hardware threads */
	STRATA_TOPO_NODES = 3, /* NUMA nodes */
	STRATA_TOPO_CACHES = 4, /* distinct cache kinds, see strata_topo_cache() */
	STRATA_TOPO_DEVICES = 5, /* PCI devices strata cares about */
};

/* strata_topo_count() - how many objects of @kind. Return: >= 0, or -EINVAL. */
STRATA_API int strata_topo_count(const struct strata_topo *t, enum strata_topo_count_kind kind);

/* The CPU model string ("AMD EPYC 9B45", "unknown" when not reported). */
STRATA_API const char *strata_topo_cpu_model(const struct strata_topo *t);

struct strata_topo_node {
	size_t sz;
	unsigned os_index; /* the kernel's node number */
	uint64_t memory_bytes; /* local memory */
	unsigned cpus; /* hardware threads attached to this node (0: memory only) */
	unsigned cores;
	uint64_t hugepages_2m; /* 2 MiB hugetlb pages reserved on this node */
};

/* strata_topo_node() - describe NUMA node @idx. Return: 0, -EINVAL, -ENOENT. */
STRATA_API int strata_topo_node(const struct strata_topo *t, unsigned idx, struct strata_topo_node *out);

/*
 * strata_topo_distance() - relative memory distance from node @from to node
 * @to, as the firmware reports it (10 = local, larger is farther).
 * Return: the distance (> 0); -ENOENT for a bad index; -ENODATA when the
 * machine reports no distances (single-node machines report 10 for 0→0).
 */
STRATA_API int strata_topo_distance(const struct strata_topo *t, unsigned from, unsigned to);

/*
 * strata_topo_node_cpulist() - write the node's CPUs as a kernel-style list
 * ("0-7,16-23") into @buf of @len bytes, always NUL-terminated.
 * Return: the full length the list needs (excluding NUL), like snprintf;
 * -EINVAL, -ENOENT.
 */
STRATA_API int strata_topo_node_cpulist(const struct strata_topo *t, unsigned idx, char *buf, size_t len);

/* strata_topo_cpu_node() - node index of CPU (PU) @cpu_os_index. Return:
 * >= 0, or -ENOENT when the CPU does not exist. */
STRATA_API int strata_topo_cpu_node(const struct strata_topo *t, unsigned cpu_os_index);

enum strata_cache_type {
	STRATA_CACHE_UNIFIED = 0,
	STRATA_CACHE_DATA = 1,
	STRATA_CACHE_INSTRUCTION = 2,
};

/* One kind of cache (say L2 unified), with how many instances exist. */
struct strata_topo_cache {
	size_t sz;
	unsigned level; /* 1, 2, 3, ... */
	enum strata_cache_type type;
	uint64_t size_bytes; /* of one instance */
	unsigned line_bytes;
	int ways; /* associativity; -1 fully associative, 0 unknown */
	unsigned instances;
	unsigned pus_per_instance; /* hardware threads sharing one instance */
};

/* strata_topo_cache() - describe cache kind @idx (ordered by level, data
 * before instruction). Return: 0, -EINVAL, -ENOENT. */
STRATA_API int strata_topo_cache(const struct strata_topo *t, unsigned idx, struct strata_topo_cache *out);

/* strata_topo_llc_bytes() - total last-level cache on the machine (sum of all
 * instances); 0 when unknown. */
STRATA_API uint64_t strata_topo_llc_bytes(const struct strata_topo *t);

enum strata_device_kind {
	STRATA_DEV_GPU = 0, /* display/3D controllers, CUDA devices */
	STRATA_DEV_NVME = 1,
	STRATA_DEV_DISK = 2, /* other block storage: virtio, SATA, SCSI */
	STRATA_DEV_NIC = 3,
	STRATA_DEV_ACCEL = 4, /* processing accelerators (PCI class 0x12) */
};

struct strata_topo_device {
	size_t sz;
	enum strata_device_kind kind;
	char name[32]; /* OS name ("nvme0n1", "eth0", "cuda0"), else the bus id */
	char pci_busid[16]; /* "0000:3b:00.0" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t pci_class; /* class << 8 | subclass, e.g. 0x0108 for NVMe */
	int node; /* index of the closest NUMA node, -1 when unknown */
};

/* strata_topo_device() - describe device @idx. Return: 0, -EINVAL, -ENOENT. */
STRATA_API int strata_topo_device(const struct strata_topo *t, unsigned idx, struct strata_topo_device *out);

/* strata_topo_device_find() - index of the first device of @kind whose name
 * or bus id equals @name (any device of @kind when @name is NULL).
 * Return: >= 0, or -ENOENT. */
STRATA_API int strata_topo_device_find(const struct strata_topo *t, enum strata_device_kind kind, const char *name);

/* CPU features code generation chooses kernels by (bit numbers). */
enum strata_cpu_feature {
	STRATA_CPU_SSE4_2 = 0,
	STRATA_CPU_AVX = 1,
	STRATA_CPU_AVX2 = 2,
	STRATA_CPU_FMA = 3,
	STRATA_CPU_F16C = 4,
	STRATA_CPU_BMI2 = 5,
	STRATA_CPU_AVX_VNNI = 6,
	STRATA_CPU_AVX512F = 7,
	STRATA_CPU_AVX512BW = 8,
	STRATA_CPU_AVX512DQ = 9,
	STRATA_CPU_AVX512VL = 10,
	STRATA_CPU_AVX512VNNI = 11,
	STRATA_CPU_AVX512BF16 = 12,
	STRATA_CPU_AVX512FP16 = 13,
	STRATA_CPU_AMX_TILE = 14,
	STRATA_CPU_AMX_INT8 = 15,
	STRATA_CPU_AMX_BF16 = 16,
	STRATA_CPU_FEATURE_COUNT = 17,
};

/*
 * strata_topo_cpu_features() - bit (1 << enum strata_cpu_feature) set for
 * every feature both the CPU and the kernel support (AVX and AVX-512 need
 * the kernel to save their registers; AMX additionally needs a per-process
 * permission request, which code generation makes before it uses AMX).
 * 0 when the topology is not this machine (XML or synthetic).
 */
STRATA_API uint64_t strata_topo_cpu_features(const struct strata_topo *t);

/* Lower-case name of feature @f ("avx512bw"), or NULL when out of range. */
STRATA_API const char *strata_cpu_feature_name(unsigned f);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_TOPO_H */
