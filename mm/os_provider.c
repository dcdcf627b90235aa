/* SPDX-License-Identifier: MIT */
/*
 * mm/os_provider.c — host memory from the kernel, placed on NUMA nodes.
 *
 * reserve:  mmap(PROT_NONE, MAP_NORESERVE): address space only, no charge.
 * commit:   mprotect(RW), mbind (bind / preferred / interleave), optional
 *           MADV_HUGEPAGE, populate with threads on the node, optional mlock.
 * decommit: munlock, madvise(MADV_DONTNEED): resident memory really drops.
 *
 * A strict bind must fail rather than fall back, and the kernel's way of
 * failing a bound allocation is the OOM killer; so before committing under
 * MPOL_BIND the provider checks that the nodes have the memory, and reports
 * -ENOMEM itself.  A preferred placement may land elsewhere: commit samples
 * where the pages went (move_pages) and reports the share that fell back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "mm/provider.h"

#define MPOL_PREFERRED_K 1
#define MPOL_BIND_K 2
#define MPOL_INTERLEAVE_K 3
#define HUGE_2M (2ULL << 20)
#define FALLBACK_SAMPLES 64

struct os_provider {
	struct st_os_provider_cfg cfg;
	size_t page;
};

/*
 * Reading the kernel's free-memory figures costs as much as populating
 * 2 MiB, so one reading serves every strict-bind commit of the process to
 * the same nodes for 100 ms, less what those commits took since.
 */
static struct {
	pthread_mutex_t lock;
	uint64_t nodemask[ST_MM_MAX_NODES / 64];
	uint64_t avail, at_ms, committed_since;
} avail_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int os_reserve(void *ctx, size_t bytes, size_t align, void **base)
{
	struct os_provider *p = ctx;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	size_t span;
	char *m, *aligned;

	if (p->cfg.hugetlb)
		flags |= MAP_HUGETLB;
	align = ST_MAX(align, p->page);
	/* Recent kernels place large anonymous mappings on huge-page
	 * boundaries already: one call when the result is aligned. */
	m = mmap(NULL, bytes, PROT_NONE, flags, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (((uintptr_t)m & (align - 1)) == 0) {
		*base = m;
		return 0;
	}
	munmap(m, bytes);
	if (__builtin_add_overflow(bytes, align, &span))
		return -ENOMEM;
	m = mmap(NULL, span, PROT_NONE, flags, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	/* Trim the slack so the reservation starts on @align. */
	aligned = (char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
	if (aligned > m)
		munmap(m, (size_t)(aligned - m));
	if (aligned + bytes < m + span)
		munmap(aligned + bytes, (size_t)(m + span - (aligned + bytes)));
	*base = aligned;
	return 0;
}

static long node_meminfo_kb(unsigned node, const char *key)
{
	char path[96], buf[4096], *p;
	long kb = 0;

	st_fmt(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", node);
	if (st_read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, key);
	if (p)
		sscanf(p + strlen(key), " %ld", &kb);
	return kb;
}

/* Memory the bound nodes can give without the OOM killer, roughly. */
static uint64_t bound_available(const struct os_provider *p)
{
	struct sysinfo si;
	char buf[4096], *s;
	uint64_t total = 0;
	unsigned n;
	long kb;

	/* One node is the whole machine: the kernel's own estimate is best
	 * (and some hypervisors under-report per-node figures).  Plainly free
	 * memory, from sysinfo(2) at a twentieth of the cost, settles most
	 * requests before /proc/meminfo is read for the reclaimable part. */
	if (p->cfg.system_nodes <= 1 && sysinfo(&si) == 0) {
		uint64_t free_b = (uint64_t)si.freeram * si.mem_unit, ram = (uint64_t)si.totalram * si.mem_unit;

		/* Above an eighth of the machine free, count all but a
		 * sixteenth of it (the kernel keeps watermarks). */
		if (free_b > ram / 8)
			return free_b - ram / 16;
	}
	if (p->cfg.system_nodes <= 1 && st_read_text("/proc/meminfo", buf, sizeof(buf)) > 0 &&
	    (s = strstr(buf, "MemAvailable:")) && sscanf(s, "MemAvailable: %ld", &kb) == 1)
		return (uint64_t)kb << 10;
	for (n = 0; n < ST_MM_MAX_NODES; n++) {
		if (!(p->cfg.nodemask[n / 64] & (1ULL << (n % 64))))
			continue;
		kb = node_meminfo_kb(n, "MemFree:");
		if (kb < 0)
			return UINT64_MAX; /* cannot tell: let the kernel decide */
		total += (uint64_t)kb << 10;
		kb = node_meminfo_kb(n, "Inactive(file):");
		if (kb > 0)
			total += (uint64_t)kb << 10;
	}
	return total;
}

/* Whether @bytes more can be committed under a strict bind (and count
 * them as taken). */
static bool reserve_available(struct os_provider *p, size_t bytes)
{
	uint64_t now = mono_ms();
	bool ok;

	pthread_mutex_lock(&avail_cache.lock);
	if (!avail_cache.at_ms || now - avail_cache.at_ms >= 100 ||
	    memcmp(avail_cache.nodemask, p->cfg.nodemask, sizeof(avail_cache.nodemask)) ||
	    avail_cache.committed_since + bytes > avail_cache.avail) {
		memcpy(avail_cache.nodemask, p->cfg.nodemask, sizeof(avail_cache.nodemask));
		avail_cache.avail = bound_available(p);
		avail_cache.at_ms = now;
		avail_cache.committed_since = 0;
	}
	ok = avail_cache.committed_since + bytes <= avail_cache.avail;
	if (ok)
		avail_cache.committed_since += bytes;
	pthread_mutex_unlock(&avail_cache.lock);
	return ok;
}

static int apply_policy(struct os_provider *p, void *addr, size_t bytes)
{
	int mode;

	switch (p->cfg.policy) {
	case ST_MPOL_BIND:
		mode = MPOL_BIND_K;
		break;
	case ST_MPOL_PREFERRED:
		mode = MPOL_PREFERRED_K;
		break;
	case ST_MPOL_INTERLEAVE:
		mode = MPOL_INTERLEAVE_K;
		break;
	default:
		return 0;
	}
	/* maxnode counts bits plus one: a historical off-by-one in mbind(2). */
	if (syscall(SYS_mbind, addr, bytes, mode, p->cfg.nodemask, (unsigned long)ST_MM_MAX_NODES + 1, 0UL) < 0)
		return -errno;
	return 0;
}

/* Share of sampled pages outside the policy's nodes, in bytes. */
static uint64_t sample_fallback(struct os_provider *p, char *addr, size_t bytes)
{
	void *pages[FALLBACK_SAMPLES];
	int status[FALLBACK_SAMPLES];
	size_t step;
	unsigned i, n = 0, off = 0;

	step = ST_MAX(bytes / FALLBACK_SAMPLES, p->page) & ~(p->page - 1);
	for (i = 0; i < FALLBACK_SAMPLES && (size_t)i * step < bytes; i++)
		pages[n++] = addr + (size_t)i * step;
	if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (status[i] >= 0 && status[i] < ST_MM_MAX_NODES &&
		    !(p->cfg.nodemask[status[i] / 64] & (1ULL << (status[i] % 64))))
			off++;
	return (uint64_t)bytes * off / n;
}

static int os_decommit(void *ctx, void *addr, size_t bytes)
{
	struct os_provider *p = ctx;

	if (p->cfg.lock)
		munlock(addr, bytes);
	/* DONTNEED, not FREE: resident memory must drop now, visibly. */
	if (madvise(addr, bytes, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}

static int os_commit(void *ctx, void *addr, size_t bytes, struct st_commit_result *res)
{
	struct os_provider *p = ctx;
	int err;

	memset(res, 0, sizeof(*res));
	if (p->cfg.policy == ST_MPOL_BIND && !reserve_available(p, bytes))
		return -ENOMEM;
	if (mprotect(addr, bytes, PROT_READ | PROT_WRITE) < 0)
		return -errno;
	err = apply_policy(p, addr, bytes);
	if (err)
		return err;
	if (p->cfg.thp && !p->cfg.hugetlb)
		madvise(addr, bytes, MADV_HUGEPAGE); /* advisory: THP may be off */
	err = st_populate(addr, bytes, p->page, p->cfg.cpus, p->cfg.ncpus);
	if (err)
		goto err_decommit;
	if (p->cfg.lock && mlock(addr, bytes) < 0) {
		err = errno == EPERM ? -EPERM : -ENOMEM;
		goto err_decommit;
	}
	if (p->cfg.policy == ST_MPOL_PREFERRED)
		res->fallback_bytes = sample_fallback(p, addr, bytes);
	return 0;

err_decommit:
	os_decommit(ctx, addr, bytes);
	return err;
}

static int os_release(void *ctx, void *base, size_t bytes)
{
	(void)ctx;
	return munmap(base, bytes) < 0 ? -errno : 0;
}

/* Resident and huge-page bytes of the mappings inside the range, from
 * /proc/self/smaps (slow: stats only). */
static double os_hugepage_coverage(void *ctx, void *addr, size_t bytes)
{
	struct os_provider *p = ctx;
	uintptr_t lo = (uintptr_t)addr, hi = lo + bytes, start = 0, end = 0;
	unsigned long long rss = 0, huge = 0, kb;
	char line[512];
	bool inside = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			start = a;
			end = b;
			inside = start < hi && end > lo;
			continue;
		}
		if (!inside)
			continue;
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			rss += kb;
		else if (sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
			huge += kb;
		else if (sscanf(line, "Private_Hugetlb: %llu kB", &kb) == 1 && p->cfg.hugetlb)
			rss += kb, huge += kb;
	}
	fclose(f);
	(void)start;
	(void)end;
	return rss ? (double)huge / (double)rss : 0;
}

static void os_destroy(void *ctx)
{
	st_free(ctx);
}

static const struct st_mm_provider_ops os_ops = {
	.name = "os",
	.reserve = os_reserve,
	.commit = os_commit,
	.decommit = os_decommit,
	.release = os_release,
	.hugepage_coverage = os_hugepage_coverage,
	.destroy = os_destroy,
	.host_accessible = true,
};

int st_os_provider_create(const struct st_os_provider_cfg *cfg, struct st_mm_provider *out)
{
	struct os_provider *p = st_malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->page = cfg->hugetlb ? HUGE_2M : (size_t)sysconf(_SC_PAGESIZE);
	out->ops = &os_ops;
	out->ctx = p;
	return 0;
}
