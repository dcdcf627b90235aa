/* SPDX-License-Identifier: MIT */
/*
 * core/core_int.h — what core/ files share: the runtime, the topology
 * snapshot, logging and the probe internals.
 */
#ifndef STRATA_CORE_INT_H
#define STRATA_CORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <hwloc.h>

#include <strata/log.h>
#include <strata/probe.h>
#include <strata/rt.h>
#include <strata/topo.h>

#include "base/base.h"

/* Nanoseconds on CLOCK_MONOTONIC: the clock core's timers share. */
static inline uint64_t st_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Logging (st_log(), st_warn() ...) is base/'s: base/base.h. */

/* --- topology (core/topo*.c) -------------------------------------------- */

struct st_topo_node {
	struct strata_topo_node info;
	hwloc_obj_t obj; /* the NUMA node object; owned by topo->hw */
};

struct strata_topo {
	hwloc_topology_t hw;
	bool this_machine;
	unsigned packages, cores, pus;
	unsigned n_nodes;
	struct st_topo_node *nodes;
	int *distances; /* n_nodes * n_nodes, row = from; NULL when unknown */
	unsigned n_caches;
	struct strata_topo_cache *caches;
	uint64_t llc_bytes;
	unsigned n_devices;
	struct strata_topo_device *devices;
	uint64_t cpu_features;
	char cpu_model[96];
};

/* Exactly one of @xml and @synthetic may be non-NULL; both NULL means this
 * machine.  Free with st_topo_destroy(). */
int st_topo_create(const char *xml, const char *synthetic, struct strata_topo **out);
void st_topo_destroy(struct strata_topo *t);
/* Fill t->devices from the hwloc I/O tree. */
int st_topo_collect_devices(struct strata_topo *t);

/* --- CPU features (core/cpu_features.c) ---------------------------------- */

uint64_t st_cpu_features_detect(void);
/* The processor's brand string from CPUID, trimmed; "unknown" if absent. */
void st_cpu_brand(char *buf, size_t len);

/* --- machine identity (core/machine_id.c) -------------------------------- */

struct st_machine_id {
	char cpu[96];
	uint64_t mem_kib;
	char kernel[96];
	unsigned nodes;
	uint64_t hash;
};

int st_machine_id_get(const struct strata_topo *t, struct st_machine_id *out);

/* --- probe (core/probe*.c) ----------------------------------------------- */

struct st_probe_set {
	unsigned n;
	struct strata_probe_node node[];
};

/* Measure node @idx of @t (this machine only). */
int st_probe_measure_node(const struct strata_topo *t, unsigned idx, double budget_s,
			  struct strata_probe_node *out);
/* Read the cache at @path; -ENOENT, -STRATA_EFORMAT, -STRATA_ESTALE. */
int st_probe_cache_load(const char *path, const struct st_machine_id *id,
			struct st_probe_set **out);
/* Write atomically (temporary file + rename), creating the folder. */
int st_probe_cache_save(const char *path, const struct st_machine_id *id,
			const struct st_probe_set *set);
/* Called by strata_rt_create() according to the probe mode. */
int st_probe_init(struct strata_rt *rt, enum strata_probe_mode mode);

/* --- C compiler (core/cc.c) ---------------------------------------------- */

/* Find a working C compiler: $STRATA_CC, then cc, gcc, clang on $PATH, and
 * prove it by building a shared object.  Writes its path and version line. */
int st_cc_find(char *path, size_t path_len, char *version, size_t version_len);
/* The compiler st_cc_find() tries first, resolved on $PATH but not run. */
int st_cc_first(char *path, size_t path_len);
/* Start @argv (a compiler) with stdin and stderr on /dev/null and stdout on
 * @out_fd (-1: /dev/null); st_cc_wait() returns its exit status or a
 * negative errno. */
int st_cc_spawn(char *const argv[], int out_fd, pid_t *pid);
int st_cc_wait(pid_t pid);

/* --- the runtime (core/rt.c) --------------------------------------------- */

struct st_domain;
struct st_mm_provider;

/* Device memory: a backend (the CUDA backend, one per GPU) registers how to
 * make a provider for a new pool on its device.  Pools of kind
 * STRATA_MEM_DEVICE name the device; their provider is not host-accessible,
 * so the pool keeps every byte of metadata on the host. */
#define ST_MAX_DEVICES 16

struct st_device_mem {
	char name[32];
	int (*make_provider)(void *arg, struct st_mm_provider *out);
	void *arg;
};

struct strata_rt {
	struct strata_topo *topo;
	struct st_domain *mm; /* memory pools (mm/) */
	char *cache_dir; /* NULL when none can be determined */
	struct st_probe_set *probe; /* NULL when no figures */
	struct st_device_mem devmem[ST_MAX_DEVICES];
	unsigned n_devmem;
	struct st_telemetry *telemetry; /* NULL when off */
	/* The workers its programs share (core/sched.c), started by the
	 * first compile. */
	pthread_mutex_t sched_lock;
	struct st_sched *sched;
};

/* Register device @name's memory backend (core/mm.c).  Return: 0; -EEXIST;
 * -ENOSPC past ST_MAX_DEVICES; -EINVAL. */
int st_rt_register_device_memory(struct strata_rt *rt, const char *name,
				 int (*make_provider)(void *arg, struct st_mm_provider *out), void *arg);

/* Whether the process runs under Valgrind (core/topo.c). */
bool st_under_valgrind(void);

/* The telemetry sampler (core/telemetry.c): started by the runtime unless
 * STRATA_TELEMETRY=off or the topology is not this machine. */
struct st_telemetry;
int st_telemetry_start(struct strata_rt *rt);
void st_telemetry_stop(struct strata_rt *rt);
struct strata_telemetry_snapshot;
/* The next pressure level from PSI, with hysteresis (exposed for tests). */
int st_telemetry_next_level(int cur, const struct strata_telemetry_snapshot *s, bool trigger);

/* The tracer's socket and the metrics endpoint (core/observe.c). */
void st_observe_start(const char *metrics_addr);
void st_observe_stop(void);

#endif /* STRATA_CORE_INT_H */
