/* SPDX-License-Identifier: MIT */
/*
 * bpf/procfs.c — reading the unprivileged telemetry sources.  Each reader
 * parses one file with bounded buffers and returns raw cumulative counters;
 * turning them into rates is core/telemetry.c's job.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "bpf/procfs.h"

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			empty = false;
			break;
		}
	if (d)
		closedir(d);
	return empty;
}

int st_proc_diskstats(struct st_proc_disk *out, unsigned max, unsigned *n)
{
	FILE *f = fopen("/proc/diskstats", "r");
	char line[512];

	*n = 0;
	if (!f)
		return -errno;
	while (*n < max && fgets(line, sizeof(line), f)) {
		struct st_proc_disk d = { 0 };
		unsigned long long v[11];
		char path[96];
		struct stat st;

		if (sscanf(line, "%u %u %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &d.major, &d.minor,
			   d.name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) != 14)
			continue;
		/* Whole devices only: partitions would count their bytes twice. */
		snprintf(path, sizeof(path), "/sys/block/%s", d.name);
		if (stat(path, &st))
			continue;
		/* dm, md and the like sit on other devices: their I/O is counted
		 * there too, so they stay out of totals. */
		snprintf(path, sizeof(path), "/sys/block/%s/slaves", d.name);
		d.stacked = !dir_empty(path);
		d.rd_ios = v[0];
		d.rd_sectors = v[2];
		d.rd_ms = v[3];
		d.wr_ios = v[4];
		d.wr_sectors = v[6];
		d.wr_ms = v[7];
		d.in_flight = v[8];
		out[(*n)++] = d;
	}
	fclose(f);
	return 0;
}

int st_proc_vmstat(struct st_proc_vm *out)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	unsigned long long v;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (strncmp(key, "allocstall", 10) == 0)
			out->allocstall += v; /* allocstall_dma, _normal, _movable... */
		else if (strncmp(key, "pgscan_", 7) == 0 && !strstr(key, "anon") && !strstr(key, "file") &&
			 !strstr(key, "throttle")) /* pgscan_direct_throttle counts events, not pages */
			out->pgscan += v; /* pgscan_kswapd, pgscan_direct, pgscan_khugepaged */
		else if (strncmp(key, "pgsteal_", 8) == 0 && !strstr(key, "anon") && !strstr(key, "file"))
			out->pgsteal += v;
		else if (strcmp(key, "pageoutrun") == 0)
			out->pageoutrun = v;
		else if (strcmp(key, "numa_pages_migrated") == 0)
			out->numa_pages_migrated = v;
		else if (strcmp(key, "pgmigrate_success") == 0)
			out->pgmigrate_success = v;
	}
	fclose(f);
	return 0;
}

int st_proc_psi(const char *resource, double *some10, double *full10, uint64_t *some_us, uint64_t *full_us)
{
	char path[64], text[512], *line, *save = NULL;

	*some10 = *full10 = 0;
	*some_us = *full_us = 0;
	snprintf(path, sizeof(path), "/proc/pressure/%s", resource);
	if (st_read_text(path, text, sizeof(text)) <= 0)
		return -ENOENT;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		double avg10;
		unsigned long long total;
		char kind[8];

		if (sscanf(line, "%7s avg10=%lf avg60=%*f avg300=%*f total=%llu", kind, &avg10, &total) != 3)
			continue;
		if (strcmp(kind, "some") == 0) {
			*some10 = avg10;
			*some_us = total;
		} else if (strcmp(kind, "full") == 0) {
			*full10 = avg10;
			*full_us = total;
		}
	}
	return 0;
}

int st_proc_schedstat(int tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64], text[128];
	unsigned long long run, wait;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if (st_read_text(path, text, sizeof(text)) <= 0 || sscanf(text, "%llu %llu", &run, &wait) != 2)
		return -ENOENT;
	*run_ns = run;
	*wait_ns = wait;
	return 0;
}

void st_proc_faults(uint64_t *minor, uint64_t *major)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*minor = (uint64_t)ru.ru_minflt;
	*major = (uint64_t)ru.ru_majflt;
}
