/* SPDX-License-Identifier: MIT */
/*
 * mm/metrics.c — every pool's figures in the metrics registry, read at
 * scrape time from the same counters strata_pool_stats() reads: nothing is
 * added to the allocation paths.
 *
 * Series carry the pool's name, its id (names need not be unique), its
 * node ("-1" for interleaved and device pools) and its kind.
 */
#include <pthread.h>
#include <stdio.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>

#include "mm/mm_int.h"
#include "trace/metrics_int.h"

static const char *kind_of(const struct strata_pool *p)
{
	return p->device >= 0 ? "device" : "host";
}

static void one_pool(struct strata_pool *p, void *ctx)
{
	struct strata_metric_writer *w = ctx;
	struct strata_pool_stats s = { .sz = sizeof(s) };
	char name[160], base[256], lab[300];

	st_pool_collect_stats(p, &s);
	if (st_label_escape(name, sizeof(name), p->name))
		snprintf(name, sizeof(name), "?");
	snprintf(base, sizeof(base), "pool=\"%s\",id=\"%llu\",node=\"%d\",kind=\"%s\"", name, (unsigned long long)p->gen,
		 p->node, kind_of(p));
	snprintf(lab, sizeof(lab), "%s,state=\"in_use\"", base);
	strata_metric_write(w, STRATA_MN_POOL_BYTES, "Pool memory by state: in_use (held by callers), cached (free in "
			    "thread caches), reserved (committed from the OS or device)",
			    STRATA_METRIC_GAUGE, lab, (double)s.bytes_in_use);
	snprintf(lab, sizeof(lab), "%s,state=\"cached\"", base);
	strata_metric_write(w, STRATA_MN_POOL_BYTES, NULL, STRATA_METRIC_GAUGE, lab, (double)s.bytes_cached);
	snprintf(lab, sizeof(lab), "%s,state=\"reserved\"", base);
	strata_metric_write(w, STRATA_MN_POOL_BYTES, NULL, STRATA_METRIC_GAUGE, lab, (double)s.bytes_reserved);
	strata_metric_write(w, STRATA_MN_POOL_PEAK_RESERVED_BYTES, "Most memory the pool has held from the OS",
			    STRATA_METRIC_GAUGE, base, (double)s.peak_reserved);
	strata_metric_write(w, STRATA_MN_POOL_FRAGMENTATION_RATIO, "1 - in_use / reserved", STRATA_METRIC_GAUGE, base,
			    s.fragmentation);
	strata_metric_write(w, STRATA_MN_POOL_HUGEPAGE_RATIO, "Share of the pool's resident memory in huge pages",
			    STRATA_METRIC_GAUGE, base, s.hugepage_coverage);
	strata_metric_write(w, STRATA_MN_POOL_ALLOCATIONS_TOTAL, "Allocations served", STRATA_METRIC_COUNTER, base,
			    (double)s.allocs);
	strata_metric_write(w, STRATA_MN_POOL_FREES_TOTAL, "Blocks freed", STRATA_METRIC_COUNTER, base, (double)s.frees);
	strata_metric_write(w, STRATA_MN_POOL_FALLBACKS_TOTAL, "Preferred placements the kernel served on another node",
			    STRATA_METRIC_COUNTER, base, (double)s.fallbacks);
	strata_metric_write(w, STRATA_MN_POOL_PURGED_BYTES_TOTAL, "Memory given back by decay, trim and pressure",
			    STRATA_METRIC_COUNTER, base, (double)s.purged_bytes);
	strata_metric_write(w, STRATA_MN_POOL_COMMITS_TOTAL, "Calls into the provider to commit memory",
			    STRATA_METRIC_COUNTER, base, (double)s.commits);
}

static void collect(void *user, struct strata_metric_writer *w)
{
	(void)user;
	st_domains_foreach_pool(one_pool, w);
}

static void register_collector(void)
{
	strata_metric_collector_add(collect, NULL, NULL);
}

void st_mm_metrics_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_collector);
}
