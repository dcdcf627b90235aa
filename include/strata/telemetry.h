/* SPDX-License-Identifier: MIT */
/*
 * strata/telemetry.h — what the machine is doing, sampled while the runtime
 * runs: I/O bandwidth per device, memory pressure and reclaim, page faults,
 * NUMA migrations and the run-queue delay of the runtime's own threads.
 *
 * Figures come from eBPF collectors where the process may load them
 * (CAP_BPF and CAP_PERFMON, kernel BTF) and otherwise from procfs and PSI;
 * each field group says which.  STRATA_TELEMETRY=procfs forces the procfs
 * sources, STRATA_TELEMETRY=off switches sampling off.  A snapshot is
 * published every interval (100 ms by default) and read without locks.
 */
#ifndef STRATA_TELEMETRY_H
#define STRATA_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;

enum strata_telemetry_source {
	STRATA_SOURCE_NONE = 0, /* unavailable */
	STRATA_SOURCE_EBPF,
	STRATA_SOURCE_PROCFS, /* /proc/diskstats, /proc/vmstat, schedstat, getrusage */
	STRATA_SOURCE_PSI,
};

enum strata_collector_state {
	STRATA_COLLECTOR_ACTIVE = 0, /* eBPF programs attached */
	STRATA_COLLECTOR_FALLBACK, /* the procfs/PSI figures stand in */
	STRATA_COLLECTOR_UNAVAILABLE,
};

#define STRATA_TELEMETRY_MAX_DEVICES 16

struct strata_telemetry_device {
	char name[32]; /* "vda", "nvme0n1" */
	double read_bytes_per_s, write_bytes_per_s;
	double read_ios_per_s, write_ios_per_s;
	double in_flight; /* requests issued and not completed */
	double latency_p50_s, latency_p99_s; /* eBPF only; 0 from procfs */
	double avg_latency_s; /* from procfs: time per completed I/O */
};

struct strata_telemetry_snapshot {
	size_t sz;
	uint64_t seq; /* snapshots taken so far */
	uint64_t time_ns; /* CLOCK_MONOTONIC when taken */
	double interval_s;

	/* Block I/O */
	enum strata_telemetry_source io_source;
	unsigned ndevices;
	struct strata_telemetry_device devices[STRATA_TELEMETRY_MAX_DEVICES];
	double io_bytes_per_s; /* all devices, read + write */

	/* Memory pressure (PSI: share of time, averaged over 10 s) */
	enum strata_telemetry_source psi_source;
	double cpu_some, memory_some, memory_full, io_some, io_full;

	/* Reclaim, faults, migrations (rates per second) */
	enum strata_telemetry_source mem_source;
	double direct_reclaim_stalls_per_s; /* allocstall */
	double reclaim_stall_s_per_s; /* eBPF: time in direct reclaim */
	double pages_scanned_per_s, pages_reclaimed_per_s;
	double kswapd_wakeups_per_s;
	double faults_per_s, major_faults_per_s; /* this process */
	double numa_pages_migrated_per_s;

	/* Run-queue delay of the registered threads */
	enum strata_telemetry_source sched_source;
	unsigned threads;
	double runq_delay_s_per_s; /* summed over threads: time waiting for a CPU per second */
	double runq_p50_s, runq_p99_s; /* per wait (eBPF), or per interval mean (procfs) */

	/* This process's io_uring traffic (eBPF only) */
	enum strata_telemetry_source uring_source;
	double uring_submits_per_s, uring_completions_per_s, uring_failures_per_s;
	double uring_latency_p50_s, uring_latency_p99_s;
	uint64_t uring_cq_overflows; /* since the runtime started */

	/* Smoothed (exponential, ~1 s) */
	double io_bytes_per_s_smooth, memory_some_smooth, runq_delay_smooth;

	/* The pressure level the runtime derived (with hysteresis). */
	int pressure_level; /* enum strata_pressure from strata/mm.h */
};

/*
 * strata_telemetry_snapshot() - the latest snapshot.
 * Return: 0; -ENODATA before the first one (or with telemetry off); -EINVAL.
 * Thread safety: any thread; never blocks (a seqlock read).
 */
STRATA_API int strata_telemetry_snapshot(struct strata_rt *rt, struct strata_telemetry_snapshot *out);

/* Measure the run-queue delay of thread @tid (0: the caller) too.
 * Return: 0; -ENOSPC past 64 threads; -ENODATA when telemetry is off. */
STRATA_API int strata_telemetry_register_thread(struct strata_rt *rt, int tid);

struct strata_collector_status {
	const char *name; /* "block_io", "memory", "sched", "io_uring" */
	enum strata_collector_state state;
	char reason[160]; /* why not active, and how to enable it */
};

/* strata_telemetry_collectors() - the state of each collector, in up to @n
 * entries of @out.  Return: the number of collectors (>= 0). */
STRATA_API int strata_telemetry_collectors(struct strata_rt *rt, struct strata_collector_status *out, size_t n);

/* strata_telemetry_source_name() - the name of @s: "ebpf", "procfs", "psi",
 * "none"; a static string. */
STRATA_API const char *strata_telemetry_source_name(enum strata_telemetry_source s);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_TELEMETRY_H */
