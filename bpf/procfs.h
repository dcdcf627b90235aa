/* SPDX-License-Identifier: MIT */
/*
 * bpf/procfs.h — the unprivileged telemetry sources: /proc/diskstats,
 * /proc/vmstat, PSI, per-thread schedstat and getrusage.  The same fields
 * the eBPF collectors give, coarser; core/telemetry.c turns both into rates.
 */
#ifndef STRATA_BPF_PROCFS_H
#define STRATA_BPF_PROCFS_H

#include <stdbool.h>
#include <stdint.h>

struct st_proc_disk {
	char name[32];
	unsigned major, minor;
	uint64_t rd_ios, rd_sectors, rd_ms, wr_ios, wr_sectors, wr_ms, in_flight;
	bool stacked; /* built on other devices (dm, md): left out of totals */
};

/* Whole block devices (those in /sys/block).  Return: 0 and *n; -errno. */
int st_proc_diskstats(struct st_proc_disk *out, unsigned max, unsigned *n);

struct st_proc_vm {
	uint64_t allocstall, pgscan, pgsteal, pageoutrun, numa_pages_migrated, pgmigrate_success;
};

int st_proc_vmstat(struct st_proc_vm *out);

/* "some"/"full" avg10 (percent) and total stall time (µs) of a resource
 * ("cpu", "memory", "io").  Return: 0; -ENOENT without PSI. */
int st_proc_psi(const char *resource, double *some10, double *full10, uint64_t *some_us, uint64_t *full_us);

/* Time a thread of this process ran and waited on a run queue (ns,
 * cumulative).  Return: 0; -ENOENT (thread gone, or no schedstat). */
int st_proc_schedstat(int tid, uint64_t *run_ns, uint64_t *wait_ns);

/* This process's minor and major faults so far (getrusage). */
void st_proc_faults(uint64_t *minor, uint64_t *major);

#endif /* STRATA_BPF_PROCFS_H */
