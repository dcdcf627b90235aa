/* SPDX-License-Identifier: MIT */
/*
 * trace/metrics_int.h — the registry's insides, shared by trace/metrics.c
 * (series and updates) and trace/expo.c (the exposition).
 */
#ifndef STRATA_METRICS_INT_H
#define STRATA_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <strata/metrics.h>

#define ST_METRIC_SHARDS 16u
#define ST_HIST_BUCKETS 64u /* two per power of two, from 2^min_exp */
#define ST_HIST_MIN_EXP (-24) /* the default: ~60 ns or ~60 nanobytes, below, the first bucket */

struct st_shard {
	_Atomic uint64_t v;
	char pad[56];
};

struct st_hist_shard {
	_Atomic uint64_t count[ST_HIST_BUCKETS + 1]; /* the last: above every bound */
	_Atomic uint64_t sum_bits; /* a double, updated by its only writer thread... or CAS */
};

struct strata_metric {
	char *name, *help, *labels;
	enum strata_metric_type type;
	unsigned refs;
	struct strata_metric *next;
	_Atomic uint64_t gauge_bits;
	struct st_shard *shards; /* counters */
	struct st_hist_shard *hist; /* histograms: ST_METRIC_SHARDS of them */
	int min_exp; /* histograms: the first bucket's bound is 2^min_exp */
};

extern pthread_mutex_t st_metrics_lock;
extern struct strata_metric *st_metrics_head;

/* Upper bound of bucket @i of histogram @m. */
double st_hist_bound(const struct strata_metric *m, unsigned i);
/* Checks shared by create and write. */
bool st_metric_name_ok(const char *name, enum strata_metric_type type);
bool st_metric_labels_ok(const char *labels);

/* Escape @src as a label value (\\, \", \n) into @dst.  Return: 0 or -ERANGE. */
int st_label_escape(char *dst, size_t len, const char *src);

#endif /* STRATA_METRICS_INT_H */
