/* SPDX-License-Identifier: MIT */
/*
 * core/telemetry.c — the telemetry snapshot: one thread samples the
 * collectors every interval (100 ms by default, STRATA_TELEMETRY_MS),
 * turns counters into rates, smooths them, derives a pressure level with
 * hysteresis and publishes the result under a seqlock, so the scheduler
 * and mm read it without a lock or a system call.
 *
 * A PSI trigger on /proc/pressure/memory (200 ms of stall within 2 s: the
 * window unprivileged processes may use) wakes the thread at once; a rise
 * of the level calls strata_mm_pressure().  The level goes up at 10 % of
 * "some" memory stall (critical: 10 % "full" or 40 % "some") and comes down
 * only below half of that, so it does not flap.
 *
 * Sources: bpf/procfs.c everywhere; the eBPF collectors replace the block
 * I/O figures where they load (bpf/blockio.c).  STRATA_TELEMETRY=procfs
 * forces procfs, =off disables the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>
#include <strata/mm.h>
#include <strata/telemetry.h>

#include "base/base.h"
#include "bpf/collectors.h"
#include "bpf/procfs.h"
#include "core/core_int.h"

#define MAX_TIDS 64
#define NCOLLECTORS 4
#define SMOOTH_S 1.0

struct st_telemetry {
	struct strata_rt *rt;
	pthread_t thread;
	int stop_fd, psi_fd;
	unsigned interval_ms;
	bool procfs_only;

	_Atomic uint64_t seq; /* odd while the snapshot is being written */
	struct strata_telemetry_snapshot snap;

	/* previous raw counters (sampler thread only) */
	bool primed;
	uint64_t prev_ns;
	struct st_proc_disk disks[STRATA_TELEMETRY_MAX_DEVICES];
	unsigned ndisks;
	struct st_proc_vm vm;
	uint64_t minflt, majflt;
	uint64_t prev_wait[MAX_TIDS];
	struct st_bpf_blockio_sample bio_prev;
	int level;
	uint64_t trigger_until; /* a PSI trigger fired: elevated until then */

	pthread_mutex_t tids_lock;
	int tids[MAX_TIDS];
	unsigned ntids;

	struct st_bpf_blockio *bio;
	struct st_bpf_runq *runq;
	struct st_runq_hist runq_prev;
	struct st_bpf_memory *memory;
	struct st_mem_stats mem_prev;
	struct st_bpf_uring *uring;
	struct st_uring_stats uring_prev;
	struct strata_collector_status collectors[NCOLLECTORS];
	uint64_t metrics_handle;
};

static double rate(uint64_t now, uint64_t before, double dt)
{
	return now >= before && dt > 0 ? (double)(now - before) / dt : 0;
}

static double smooth(double old, double now, double dt)
{
	double a = 1.0 - exp(-dt / SMOOTH_S);

	return old + a * (now - old);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- sampling ----------------------------------------------------------------------- */

static void sample_disks(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	struct st_proc_disk now[STRATA_TELEMETRY_MAX_DEVICES];
	unsigned n = 0, i, k;

	if (st_proc_diskstats(now, STRATA_TELEMETRY_MAX_DEVICES, &n))
		n = 0;
	s->io_source = STRATA_SOURCE_PROCFS;
	for (i = 0; i < n; i++) {
		struct strata_telemetry_device *d = &s->devices[s->ndevices];

		for (k = 0; k < t->ndisks && strcmp(t->disks[k].name, now[i].name); k++)
			;
		if (k == t->ndisks)
			continue; /* new device: a rate next time */
		snprintf(d->name, sizeof(d->name), "%s", now[i].name);
		d->read_bytes_per_s = rate(now[i].rd_sectors, t->disks[k].rd_sectors, dt) * 512;
		d->write_bytes_per_s = rate(now[i].wr_sectors, t->disks[k].wr_sectors, dt) * 512;
		d->read_ios_per_s = rate(now[i].rd_ios, t->disks[k].rd_ios, dt);
		d->write_ios_per_s = rate(now[i].wr_ios, t->disks[k].wr_ios, dt);
		d->in_flight = (double)now[i].in_flight;
		{
			uint64_t ios = now[i].rd_ios + now[i].wr_ios - t->disks[k].rd_ios - t->disks[k].wr_ios;
			uint64_t ms = now[i].rd_ms + now[i].wr_ms - t->disks[k].rd_ms - t->disks[k].wr_ms;

			d->avg_latency_s = ios ? (double)ms / 1000.0 / (double)ios : 0;
		}
		if (!now[i].stacked)
			s->io_bytes_per_s += d->read_bytes_per_s + d->write_bytes_per_s;
		s->ndevices++;
	}
	memcpy(t->disks, now, sizeof(now[0]) * n);
	t->ndisks = n;
}

static bool st_proc_disk_stacked(const struct st_telemetry *t, const char *name)
{
	unsigned k;

	for (k = 0; k < t->ndisks; k++)
		if (strcmp(t->disks[k].name, name) == 0)
			return t->disks[k].stacked;
	return false;
}

/* Percentiles of the completions between two log2 histograms (µs slots). */
static void percentiles(const __u64 *now, const __u64 *prev, unsigned slots, double *p50, double *p99)
{
	uint64_t total = 0, seen = 0;
	unsigned i;

	*p50 = *p99 = 0;
	for (i = 0; i < slots; i++)
		total += now[i] - prev[i];
	for (i = 0; i < slots && total; i++) {
		seen += now[i] - prev[i];
		if (!*p50 && seen * 2 >= total)
			*p50 = (double)(2ULL << i) * 1e-6;
		if (seen * 100 >= total * 99) {
			*p99 = (double)(2ULL << i) * 1e-6;
			break;
		}
	}
}

/* The eBPF block collector replaces bytes, I/O counts and latency. */
static void sample_bpf_disks(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	struct st_bpf_blockio_sample now;
	unsigned i, k;

	if (!t->bio || st_bpf_blockio_read(t->bio, &now))
		return;
	s->io_source = STRATA_SOURCE_EBPF;
	s->io_bytes_per_s = 0;
	for (i = 0; i < s->ndevices; i++) {
		struct strata_telemetry_device *d = &s->devices[i];

		for (k = 0; k < now.ndevs && strcmp(now.devs[k].name, d->name); k++)
			;
		if (k == now.ndevs) {
			/* Bio-based devices (zram, dm, md) never complete a request:
			 * their procfs figures stay. */
			if (!st_proc_disk_stacked(t, d->name))
				s->io_bytes_per_s += d->read_bytes_per_s + d->write_bytes_per_s;
			continue;
		}
		{
			const struct st_bpf_dev *c = &now.devs[k];
			const struct st_bpf_dev *p = st_bpf_blockio_find(&t->bio_prev, c->dev);
			struct st_bpf_dev zero = { 0 };

			if (!p)
				p = &zero;
			d->read_bytes_per_s = rate(c->bytes[0], p->bytes[0], dt);
			d->write_bytes_per_s = rate(c->bytes[1], p->bytes[1], dt);
			d->read_ios_per_s = rate(c->ios[0], p->ios[0], dt);
			d->write_ios_per_s = rate(c->ios[1], p->ios[1], dt);
			percentiles(c->lat, p->lat, ST_BLOCKIO_LAT_SLOTS, &d->latency_p50_s, &d->latency_p99_s);
		}
		s->io_bytes_per_s += d->read_bytes_per_s + d->write_bytes_per_s;
	}
	t->bio_prev = now;
}

static void sample_memory(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	struct st_proc_vm vm;
	uint64_t minflt, majflt, some_us, full_us;
	double full;

	if (st_proc_psi("cpu", &s->cpu_some, &full, &some_us, &full_us) == 0) {
		s->psi_source = STRATA_SOURCE_PSI;
		st_proc_psi("memory", &s->memory_some, &s->memory_full, &some_us, &full_us);
		st_proc_psi("io", &s->io_some, &s->io_full, &some_us, &full_us);
	}
	if (st_proc_vmstat(&vm) == 0) {
		s->mem_source = STRATA_SOURCE_PROCFS;
		s->direct_reclaim_stalls_per_s = rate(vm.allocstall, t->vm.allocstall, dt);
		s->pages_scanned_per_s = rate(vm.pgscan, t->vm.pgscan, dt);
		s->pages_reclaimed_per_s = rate(vm.pgsteal, t->vm.pgsteal, dt);
		s->kswapd_wakeups_per_s = rate(vm.pageoutrun, t->vm.pageoutrun, dt);
		s->numa_pages_migrated_per_s = rate(vm.numa_pages_migrated, t->vm.numa_pages_migrated, dt);
		t->vm = vm;
	}
	st_proc_faults(&minflt, &majflt);
	s->faults_per_s = rate(minflt + majflt, t->minflt + t->majflt, dt);
	s->major_faults_per_s = rate(majflt, t->majflt, dt);
	t->minflt = minflt;
	t->majflt = majflt;
	if (t->memory) {
		struct st_mem_stats m;

		if (st_bpf_memory_read(t->memory, &m) == 0) {
			uint64_t migrated = 0, before = 0;
			unsigned k;

			s->mem_source = STRATA_SOURCE_EBPF;
			s->direct_reclaim_stalls_per_s = rate(m.reclaim_count, t->mem_prev.reclaim_count, dt);
			s->reclaim_stall_s_per_s = rate(m.reclaim_ns, t->mem_prev.reclaim_ns, dt) / 1e9;
			s->kswapd_wakeups_per_s = rate(m.kswapd_wakes, t->mem_prev.kswapd_wakes, dt);
			s->faults_per_s = rate(m.faults, t->mem_prev.faults, dt);
			k = (unsigned)st_bpf_numa_misplaced_reason();
			/* Pages NUMA balancing moved; other reasons (compaction,
			 * hotplug, mbind) are not NUMA migrations. */
			if (k < ST_MEM_REASONS) {
				migrated = m.migrated[k];
				before = t->mem_prev.migrated[k];
				s->numa_pages_migrated_per_s = rate(migrated, before, dt);
			}
			t->mem_prev = m;
		}
	}
}

static void sample_uring(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	struct st_uring_stats now;

	if (!t->uring || st_bpf_uring_read(t->uring, &now))
		return;
	s->uring_source = STRATA_SOURCE_EBPF;
	s->uring_submits_per_s = rate(now.submitted, t->uring_prev.submitted, dt);
	s->uring_completions_per_s = rate(now.completed, t->uring_prev.completed, dt);
	s->uring_failures_per_s = rate(now.failed, t->uring_prev.failed, dt);
	s->uring_cq_overflows = now.cq_overflows;
	percentiles(now.lat, t->uring_prev.lat, ST_URING_LAT_SLOTS, &s->uring_latency_p50_s, &s->uring_latency_p99_s);
	t->uring_prev = now;
}

/* Per-wait percentiles from the eBPF histogram replace the procfs means. */
static void sample_bpf_runq(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	struct st_runq_hist now;

	if (!t->runq || st_bpf_runq_read(t->runq, &now))
		return;
	s->sched_source = STRATA_SOURCE_EBPF;
	s->runq_delay_s_per_s = dt > 0 ? rate(now.total_ns, t->runq_prev.total_ns, dt) / 1e9 : 0;
	percentiles(now.slot, t->runq_prev.slot, ST_RUNQ_SLOTS, &s->runq_p50_s, &s->runq_p99_s);
	t->runq_prev = now;
}

static void sample_sched(struct st_telemetry *t, struct strata_telemetry_snapshot *s, double dt)
{
	double waits[MAX_TIDS];
	unsigned i, n = 0;

	pthread_mutex_lock(&t->tids_lock);
	for (i = 0; i < t->ntids; i++) {
		uint64_t run, wait;

		if (st_proc_schedstat(t->tids[i], &run, &wait)) {
			/* The thread is gone: forget it (its TID may be reused). */
			if (t->runq)
				st_bpf_runq_unwatch(t->runq, t->tids[i]);
			t->tids[i] = t->tids[t->ntids - 1];
			t->prev_wait[i] = t->prev_wait[t->ntids - 1];
			t->ntids--;
			i--;
			continue;
		}
		if (t->primed && wait >= t->prev_wait[i])
			waits[n++] = (double)(wait - t->prev_wait[i]) / 1e9;
		t->prev_wait[i] = wait;
	}
	s->threads = t->ntids;
	pthread_mutex_unlock(&t->tids_lock);
	s->sched_source = STRATA_SOURCE_PROCFS;
	for (i = 0; i < n; i++)
		s->runq_delay_s_per_s += dt > 0 ? waits[i] / dt : 0;
	if (n) {
		qsort(waits, n, sizeof(double), cmp_double);
		s->runq_p50_s = waits[n / 2];
		s->runq_p99_s = waits[(n * 99) / 100];
	}
	sample_bpf_runq(t, s, dt);
}

/* Pressure level with hysteresis; a PSI trigger counts as elevated. */
int st_telemetry_next_level(int cur, const struct strata_telemetry_snapshot *s, bool trigger)
{
	double some = s->memory_some / 100.0, full = s->memory_full / 100.0;

	if (cur < STRATA_PRESSURE_CRITICAL && (full >= 0.10 || some >= 0.40))
		return STRATA_PRESSURE_CRITICAL;
	if (cur == STRATA_PRESSURE_CRITICAL && !(full < 0.05 && some < 0.20))
		return cur;
	if (cur == STRATA_PRESSURE_CRITICAL)
		return some >= 0.05 ? STRATA_PRESSURE_ELEVATED : STRATA_PRESSURE_NORMAL;
	if (cur == STRATA_PRESSURE_NORMAL && (some >= 0.10 || trigger))
		return STRATA_PRESSURE_ELEVATED;
	if (cur == STRATA_PRESSURE_ELEVATED && some < 0.05 && !trigger)
		return STRATA_PRESSURE_NORMAL;
	return cur;
}

static void sample(struct st_telemetry *t)
{
	struct strata_telemetry_snapshot s;
	uint64_t now = st_mono_ns();
	double dt = t->primed ? (double)(now - t->prev_ns) / 1e9 : 0;
	int level;

	memset(&s, 0, sizeof(s));
	s.sz = sizeof(s);
	s.time_ns = now;
	s.interval_s = dt;
	sample_disks(t, &s, dt);
	sample_bpf_disks(t, &s, dt);
	sample_memory(t, &s, dt);
	sample_sched(t, &s, dt);
	sample_uring(t, &s, dt);
	t->prev_ns = now;
	if (!t->primed) {
		t->primed = true;
		return;
	}
	/* A PSI trigger holds for its 2 s window, so the level does not drop
	 * back on the next sample while avg10 is still catching up. */
	level = st_telemetry_next_level(t->level, &s, now < t->trigger_until);
	s.pressure_level = level;
	s.io_bytes_per_s_smooth = smooth(t->snap.io_bytes_per_s_smooth, s.io_bytes_per_s, dt);
	s.memory_some_smooth = smooth(t->snap.memory_some_smooth, s.memory_some, dt);
	s.runq_delay_smooth = smooth(t->snap.runq_delay_smooth, s.runq_delay_s_per_s, dt);
	s.seq = t->snap.seq + 1;
	/* Publish: a seqlock write. */
	atomic_fetch_add_explicit(&t->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	t->snap = s;
	atomic_fetch_add_explicit(&t->seq, 1, memory_order_release);
	if (level > t->level) {
		int64_t freed = strata_mm_pressure(t->rt, (enum strata_pressure)level);

		st_info("telemetry: memory pressure %s (PSI memory some %.1f%%, full %.1f%%): %lld bytes given back",
			level == STRATA_PRESSURE_CRITICAL ? "critical" : "elevated", s.memory_some, s.memory_full,
			(long long)(freed > 0 ? freed : 0));
	}
	t->level = level;
}

static void *sampler(void *arg)
{
	struct st_telemetry *t = arg;

	sample(t);
	for (;;) {
		struct pollfd p[2] = { { .fd = t->stop_fd, .events = POLLIN }, { .fd = t->psi_fd, .events = POLLPRI } };
		int n = poll(p, t->psi_fd >= 0 ? 2 : 1, (int)t->interval_ms);

		if (n > 0 && p[0].revents)
			break;
		if (n > 0 && (p[1].revents & POLLPRI))
			t->trigger_until = st_mono_ns() + 2000000000ULL;
		if (n > 0 && (p[1].revents & (POLLERR | POLLNVAL))) {
			close(t->psi_fd);
			t->psi_fd = -1;
		}
		sample(t);
	}
	return NULL;
}

/* ---- reading ------------------------------------------------------------------------- */

static int read_snapshot(struct st_telemetry *t, struct strata_telemetry_snapshot *out)
{
	for (;;) {
		uint64_t a = atomic_load_explicit(&t->seq, memory_order_acquire), b;

		if (a & 1)
			continue;
		memcpy(out, &t->snap, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&t->seq, memory_order_relaxed);
		if (a == b)
			return out->seq ? 0 : -ENODATA;
	}
}

int strata_telemetry_snapshot(struct strata_rt *rt, struct strata_telemetry_snapshot *out)
{
	struct strata_telemetry_snapshot s;
	int err;

	if (!rt || !out)
		return -EINVAL;
	if (!rt->telemetry)
		return -ENODATA;
	err = read_snapshot(rt->telemetry, &s);
	if (err)
		return err;
	return st_copy_out(out, &s, sizeof(s));
}

int strata_telemetry_register_thread(struct strata_rt *rt, int tid)
{
	struct st_telemetry *t;
	int err = 0;

	if (!rt || tid < 0)
		return -EINVAL;
	t = rt->telemetry;
	if (!t)
		return -ENODATA;
	if (!tid)
		tid = (int)syscall(SYS_gettid);
	pthread_mutex_lock(&t->tids_lock);
	if (t->ntids == MAX_TIDS) {
		err = -ENOSPC;
	} else {
		uint64_t run;

		t->tids[t->ntids] = tid;
		if (st_proc_schedstat(tid, &run, &t->prev_wait[t->ntids]))
			t->prev_wait[t->ntids] = 0;
		t->ntids++;
	}
	pthread_mutex_unlock(&t->tids_lock);
	if (!err && t->runq)
		st_bpf_runq_watch(t->runq, tid);
	return err;
}

int strata_telemetry_collectors(struct strata_rt *rt, struct strata_collector_status *out, size_t n)
{
	size_t i;

	if (!rt || (n && !out))
		return -EINVAL;
	if (!rt->telemetry)
		return -ENODATA;
	for (i = 0; i < n && i < NCOLLECTORS; i++)
		out[i] = rt->telemetry->collectors[i];
	return NCOLLECTORS;
}

const char *strata_telemetry_source_name(enum strata_telemetry_source s)
{
	switch (s) {
	case STRATA_SOURCE_EBPF:
		return "ebpf";
	case STRATA_SOURCE_PROCFS:
		return "procfs";
	case STRATA_SOURCE_PSI:
		return "psi";
	default:
		return "none";
	}
}

/* ---- metrics -------------------------------------------------------------------------- */

static void collect(void *user, struct strata_metric_writer *w)
{
	struct st_telemetry *t = user;
	struct strata_telemetry_snapshot s;
	char labels[160];
	unsigned i;

	if (read_snapshot(t, &s))
		return;
	for (i = 0; i < s.ndevices; i++) {
		snprintf(labels, sizeof(labels), "device=\"%s\",direction=\"read\",source=\"%s\"", s.devices[i].name,
			 strata_telemetry_source_name(s.io_source));
		strata_metric_write(w, STRATA_MN_TELEMETRY_IO_BYTES_PER_SECOND, "Block device throughput, sampled",
				    STRATA_METRIC_GAUGE, labels, s.devices[i].read_bytes_per_s);
		snprintf(labels, sizeof(labels), "device=\"%s\",direction=\"write\",source=\"%s\"", s.devices[i].name,
			 strata_telemetry_source_name(s.io_source));
		strata_metric_write(w, STRATA_MN_TELEMETRY_IO_BYTES_PER_SECOND, NULL, STRATA_METRIC_GAUGE, labels,
				    s.devices[i].write_bytes_per_s);
		snprintf(labels, sizeof(labels), "device=\"%s\"", s.devices[i].name);
		strata_metric_write(w, STRATA_MN_TELEMETRY_IO_IN_FLIGHT, "Block requests in flight", STRATA_METRIC_GAUGE,
				    labels, s.devices[i].in_flight);
	}
	strata_metric_write(w, STRATA_MN_TELEMETRY_MEMORY_STALL_RATIO, "PSI memory some, 10 s average",
			    STRATA_METRIC_GAUGE, "kind=\"some\"", s.memory_some / 100);
	strata_metric_write(w, STRATA_MN_TELEMETRY_MEMORY_STALL_RATIO, NULL, STRATA_METRIC_GAUGE, "kind=\"full\"",
			    s.memory_full / 100);
	strata_metric_write(w, STRATA_MN_TELEMETRY_RECLAIM_STALLS_PER_SECOND, "Direct-reclaim stalls (allocstall)",
			    STRATA_METRIC_GAUGE, NULL, s.direct_reclaim_stalls_per_s);
	strata_metric_write(w, STRATA_MN_TELEMETRY_FAULTS_PER_SECOND, "Page faults of this process",
			    STRATA_METRIC_GAUGE, "kind=\"all\"", s.faults_per_s);
	strata_metric_write(w, STRATA_MN_TELEMETRY_FAULTS_PER_SECOND, NULL, STRATA_METRIC_GAUGE, "kind=\"major\"",
			    s.major_faults_per_s);
	strata_metric_write(w, STRATA_MN_TELEMETRY_NUMA_MIGRATIONS_PER_SECOND, "Pages migrated by NUMA balancing",
			    STRATA_METRIC_GAUGE, NULL, s.numa_pages_migrated_per_s);
	strata_metric_write(w, STRATA_MN_TELEMETRY_RUNQ_DELAY_RATIO,
			    "Time the registered threads waited for a CPU, per second", STRATA_METRIC_GAUGE, NULL,
			    s.runq_delay_s_per_s);
	if (s.uring_source == STRATA_SOURCE_EBPF) {
		strata_metric_write(w, STRATA_MN_TELEMETRY_URING_OPS_PER_SECOND, "This process's io_uring operations",
				    STRATA_METRIC_GAUGE, "kind=\"submit\"", s.uring_submits_per_s);
		strata_metric_write(w, STRATA_MN_TELEMETRY_URING_OPS_PER_SECOND, NULL, STRATA_METRIC_GAUGE,
				    "kind=\"complete\"", s.uring_completions_per_s);
		strata_metric_write(w, STRATA_MN_TELEMETRY_URING_OPS_PER_SECOND, NULL, STRATA_METRIC_GAUGE,
				    "kind=\"fail\"", s.uring_failures_per_s);
		strata_metric_write(w, STRATA_MN_TELEMETRY_URING_CQ_OVERFLOWS, "CQ overflows of this process's rings",
				    STRATA_METRIC_GAUGE, NULL, (double)s.uring_cq_overflows);
	}
	strata_metric_write(w, STRATA_MN_TELEMETRY_RECLAIM_STALL_RATIO, "Time in direct reclaim per second (eBPF)",
			    STRATA_METRIC_GAUGE, NULL, s.reclaim_stall_s_per_s);
	strata_metric_write(w, STRATA_MN_TELEMETRY_PRESSURE_LEVEL, "0 normal, 1 elevated, 2 critical",
			    STRATA_METRIC_GAUGE, NULL, s.pressure_level);
	for (i = 0; i < NCOLLECTORS; i++) {
		static const char *const states[] = { "active", "fallback", "unavailable" };

		snprintf(labels, sizeof(labels), "collector=\"%s\",state=\"%s\"", t->collectors[i].name,
			 states[t->collectors[i].state]);
		strata_metric_write(w, STRATA_MN_TELEMETRY_COLLECTOR_INFO, "State of each telemetry collector",
				    STRATA_METRIC_GAUGE, labels, 1);
	}
}

/* ---- start / stop ---------------------------------------------------------------------- */

static void set_collector(struct st_telemetry *t, unsigned i, const char *name, enum strata_collector_state st,
			  const char *reason)
{
	t->collectors[i].name = name;
	t->collectors[i].state = st;
	st_fmt(t->collectors[i].reason, sizeof(t->collectors[i].reason), "%s", reason);
}

/* Everything but the thread (not started, or joined already). */
static void telemetry_free(struct st_telemetry *t)
{
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	if (t->psi_fd >= 0)
		close(t->psi_fd);
	st_bpf_blockio_close(t->bio);
	st_bpf_runq_close(t->runq);
	st_bpf_memory_close(t->memory);
	st_bpf_uring_close(t->uring);
	pthread_mutex_destroy(&t->tids_lock);
	st_free(t);
}

int st_telemetry_start(struct strata_rt *rt)
{
	const char *mode = getenv("STRATA_TELEMETRY"), *ms = getenv("STRATA_TELEMETRY_MS");
	struct st_telemetry *t;
	char reason[160] = "";
	int err;

	if (mode && strcmp(mode, "off") == 0)
		return 0;
	if (!rt->topo->this_machine)
		return 0; /* a described machine has no live figures */
	t = st_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->rt = rt;
	t->interval_ms = ms && atoi(ms) >= 10 ? (unsigned)atoi(ms) : 100;
	t->procfs_only = mode && strcmp(mode, "procfs") == 0;
	pthread_mutex_init(&t->tids_lock, NULL);
	t->stop_fd = eventfd(0, EFD_CLOEXEC);
	t->psi_fd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->psi_fd >= 0 && write(t->psi_fd, "some 200000 2000000", 20) < 0) {
		close(t->psi_fd);
		t->psi_fd = -1;
	}
	if (t->procfs_only) {
		st_fmt(reason, sizeof(reason), "STRATA_TELEMETRY=procfs forces the procfs sources");
	} else if (st_under_valgrind()) {
		st_fmt(reason, sizeof(reason), "running under Valgrind, which cannot follow bpf(2)");
	} else {
		err = st_bpf_blockio_open(&t->bio, reason, sizeof(reason));
		if (err)
			t->bio = NULL;
	}
	set_collector(t, 0, "block_io", t->bio ? STRATA_COLLECTOR_ACTIVE : STRATA_COLLECTOR_FALLBACK,
		      t->bio ? "eBPF: block_rq_complete, per-CPU tables" : reason);
	if (t->bio) {
		char mem_reason[160] = "";

		if (st_bpf_memory_open(&t->memory, mem_reason, sizeof(mem_reason)))
			t->memory = NULL;
		set_collector(t, 1, "memory", t->memory ? STRATA_COLLECTOR_ACTIVE : STRATA_COLLECTOR_FALLBACK,
			      t->memory ? "eBPF: direct reclaim, kswapd, throttling, page faults, NUMA migrations; "
					  "PSI beside it" :
					  mem_reason);
	} else {
		set_collector(t, 1, "memory", STRATA_COLLECTOR_FALLBACK, reason);
	}
	if (t->bio) {
		char rq_reason[160] = "";
		uint64_t dev, ino;

		if (st_bpf_pid_namespace(&dev, &ino) == 1)
			st_fmt(rq_reason, sizeof(rq_reason), "in a nested PID namespace the eBPF run-queue collector would "
							     "need host thread ids: /proc/self/task/*/schedstat stands in");
		else if (st_bpf_runq_open(&t->runq, rq_reason, sizeof(rq_reason)))
			t->runq = NULL;
		set_collector(t, 2, "sched", t->runq ? STRATA_COLLECTOR_ACTIVE : STRATA_COLLECTOR_FALLBACK,
			      t->runq ? "eBPF: sched_wakeup/sched_switch, threads picked by a TID bitmap" : rq_reason);
	} else {
		set_collector(t, 2, "sched", STRATA_COLLECTOR_FALLBACK, reason);
	}
	if (t->bio) {
		char u_reason[160] = "";

		if (st_bpf_uring_open(&t->uring, u_reason, sizeof(u_reason)))
			t->uring = NULL;
		set_collector(t, 3, "io_uring", t->uring ? STRATA_COLLECTOR_ACTIVE : STRATA_COLLECTOR_UNAVAILABLE,
			      t->uring ? "eBPF: this process's submissions, completions, latency, CQ overflows" : u_reason);
	} else {
		/* procfs has nothing on io_uring; the loads' own counters remain. */
		set_collector(t, 3, "io_uring", STRATA_COLLECTOR_UNAVAILABLE, reason);
	}
	if (t->bio)
		st_info("telemetry: eBPF block I/O collector active");
	else
		st_info("telemetry: block I/O from /proc/diskstats (%s)", reason);
	if (t->stop_fd < 0 || pthread_create(&t->thread, NULL, sampler, t)) {
		telemetry_free(t);
		return -EAGAIN;
	}
	strata_metric_collector_add(collect, t, &t->metrics_handle);
	rt->telemetry = t;
	return 0;
}

void st_telemetry_stop(struct strata_rt *rt)
{
	struct st_telemetry *t = rt->telemetry;
	uint64_t one = 1;

	if (!t)
		return;
	strata_metric_collector_remove(t->metrics_handle);
	if (write(t->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(t->thread, NULL);
	telemetry_free(t);
	rt->telemetry = NULL;
}
