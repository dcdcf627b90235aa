/* SPDX-License-Identifier: MIT */
/*
 * strata/metrics.h — the metrics registry, exported in Prometheus text.
 *
 * Counters, gauges and histograms (log-linear buckets: two per power of
 * two), each a name plus a fixed set of labels.  Counters and histograms
 * are sharded per thread, so hot ones do not bounce a cache line between
 * cores; reading sums the shards without locks.  Figures that already live
 * elsewhere (pool stats, a load's progress) are reported by collectors
 * called at scrape time instead of being copied on every change.
 *
 * Names follow Prometheus conventions and are checked: "strata_" prefix,
 * lower case, base units (`_bytes`, `_seconds`), counters end in `_total`.
 * The text is served on the process's socket (`strata metrics PID`) and,
 * when STRATA_METRICS_ADDR (e.g. "127.0.0.1:9464") or the runtime option
 * is set, over HTTP at /metrics.
 */
#ifndef STRATA_METRICS_H
#define STRATA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum strata_metric_type {
	STRATA_METRIC_COUNTER = 0,
	STRATA_METRIC_GAUGE = 1,
	STRATA_METRIC_HISTOGRAM = 2,
};

struct strata_metric;

/*
 * strata_metric_create() - register a series.
 * @labels: NULL or `key="value",key2="value"` (values escaped as in the
 *          exposition format).  The same name and labels give the same
 *          series back (reference counted).
 * Return: 0; -EINVAL (a name or labels that break the conventions, or the
 * name registered with another type); -ENOMEM.
 */
STRATA_API int strata_metric_create(const char *name, const char *help, enum strata_metric_type type,
				    const char *labels, struct strata_metric **out);
/*
 * strata_histogram_create() - a histogram whose buckets start at @smallest
 * (rounded up to a power of two) instead of 2^-24: 64 buckets, two per
 * power of two, so they reach 2^32 times higher (2^-24 … 192 by default,
 * too low for rates such as tokens per second).  Same name and labels
 * give the same series back, when @smallest agrees.
 * Return: 0; -EINVAL (as strata_metric_create(), or @smallest not a
 * positive finite number); -ENOMEM.
 */
STRATA_API int strata_histogram_create(const char *name, const char *help, const char *labels, double smallest,
				       struct strata_metric **out);
/* Drop a reference; the series leaves the exposition with the last one.  NULL is accepted. */
STRATA_API void strata_metric_destroy(struct strata_metric *m);

/* Hot-path updates: they never block, never allocate and return nothing. */

/* strata_metric_add() - add @n to counter @m. */
STRATA_API void strata_metric_add(struct strata_metric *m, uint64_t n);
/* strata_metric_set() - set gauge @m to @v. */
STRATA_API void strata_metric_set(struct strata_metric *m, double v);
/* strata_metric_observe() - count @v into histogram @m. */
STRATA_API void strata_metric_observe(struct strata_metric *m, double v);

/* Scrape-time collectors. */
struct strata_metric_writer;
typedef void (*strata_metric_collect_fn)(void *user, struct strata_metric_writer *w);

/* strata_metric_write() - report one sample from a collector (counters
 * and gauges), with the name and label rules of strata_metric_create().
 * Return: 0; -EINVAL (a histogram, a name or labels that break the rules,
 * a newline in @help); -ENOMEM. */
STRATA_API int strata_metric_write(struct strata_metric_writer *w, const char *name, const char *help,
				   enum strata_metric_type type, const char *labels, double value);

/* strata_metric_collector_add() - call @fn with @user at every scrape.
 * Return: 0 and a handle for strata_metric_collector_remove(); -EINVAL;
 * -ENOMEM. */
STRATA_API int strata_metric_collector_add(strata_metric_collect_fn fn, void *user, uint64_t *handle);
/* strata_metric_collector_remove() - stop calling a collector.
 * Return: 0; -ENOENT for an unknown handle. */
STRATA_API int strata_metric_collector_remove(uint64_t handle);

/* strata_metrics_render() - the whole exposition, Prometheus text format
 * 0.0.4, in *@text (*@len bytes); free it with strata_metrics_free().  The
 * registry is process-wide and outlives runtimes, so it allocates with the
 * C library, not the allocation hooks.  Return: 0; -EINVAL; -ENOMEM. */
STRATA_API int strata_metrics_render(char **text, size_t *len);
/* strata_metrics_free() - free what strata_metrics_render() gave.  NULL is
 * accepted. */
STRATA_API void strata_metrics_free(char *text);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_METRICS_H */
