/* SPDX-License-Identifier: MIT */
/*
 * io/observe.c — what loads tell the metrics registry and the tracer.
 *
 * Counters and the read-latency histogram are updated as reads complete
 * (sharded per thread, a few nanoseconds against a read of a megabyte);
 * the state of loads in progress (reads in flight, queue depth, chunk
 * size) is read by a collector at scrape time.  Trace events: a span per
 * load on its thread, a flow from each read's submission to its
 * completion, an instant per tensor ready, and a counter of reads in
 * flight.
 */
#include <pthread.h>
#include <time.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>
#include <strata/trace.h>

#include "io/load_int.h"

static struct {
	struct strata_metric *bytes[2], *reads[2], *short_reads, *errors, *tensors, *latency;
	int ev_load, ev_read, ev_ready, ev_inflight;
} M;

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct st_io_live *live;
static _Atomic uint64_t next_flow = 1;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void collect(void *user, struct strata_metric_writer *w)
{
	double inflight = 0, depth = 0, chunk = 0, loads = 0;
	struct st_io_live *l;

	(void)user;
	pthread_mutex_lock(&live_lock);
	for (l = live; l; l = l->next) {
		inflight += atomic_load_explicit(&l->inflight, memory_order_relaxed);
		depth += atomic_load_explicit(&l->depth, memory_order_relaxed);
		if (atomic_load_explicit(&l->chunk, memory_order_relaxed) > chunk)
			chunk = atomic_load_explicit(&l->chunk, memory_order_relaxed);
		loads++;
	}
	pthread_mutex_unlock(&live_lock);
	strata_metric_write(w, STRATA_MN_IO_ACTIVE_LOADS, "Loads in progress", STRATA_METRIC_GAUGE, NULL, loads);
	strata_metric_write(w, STRATA_MN_IO_INFLIGHT_READS, "Reads submitted and not yet complete", STRATA_METRIC_GAUGE,
			    NULL, inflight);
	strata_metric_write(w, STRATA_MN_IO_QUEUE_DEPTH, "Reads the loads in progress keep in flight at most",
			    STRATA_METRIC_GAUGE, NULL, depth);
	strata_metric_write(w, STRATA_MN_IO_CHUNK_BYTES, "Read size in use (largest over loads in progress)",
			    STRATA_METRIC_GAUGE, NULL, chunk);
}

static void init_once(void)
{
	static const char *const engines[2] = { "engine=\"io_uring\"", "engine=\"pread\"" };
	int i;

	for (i = 0; i < 2; i++) {
		strata_metric_create(STRATA_MN_IO_READ_BYTES_TOTAL, "Bytes read from storage by loads", STRATA_METRIC_COUNTER,
				     engines[i], &M.bytes[i]);
		strata_metric_create(STRATA_MN_IO_READS_TOTAL, "Reads completed (short ones included)",
				     STRATA_METRIC_COUNTER, engines[i], &M.reads[i]);
	}
	strata_metric_create(STRATA_MN_IO_SHORT_READS_TOTAL, "Reads that returned fewer bytes than asked",
			     STRATA_METRIC_COUNTER, NULL, &M.short_reads);
	strata_metric_create(STRATA_MN_IO_ERRORS_TOTAL, "Tensors that failed to load", STRATA_METRIC_COUNTER, NULL,
			     &M.errors);
	strata_metric_create(STRATA_MN_IO_TENSORS_LOADED_TOTAL, "Tensors loaded", STRATA_METRIC_COUNTER, NULL, &M.tensors);
	strata_metric_create(STRATA_MN_IO_READ_SECONDS, "Time from a read's submission to its completion",
			     STRATA_METRIC_HISTOGRAM, NULL, &M.latency);
	strata_metric_collector_add(collect, NULL, NULL);
	M.ev_load = strata_trace_name("io.load");
	M.ev_read = strata_trace_name("io.read");
	M.ev_ready = strata_trace_name("io.tensor_ready");
	M.ev_inflight = strata_trace_name("io.inflight");
}

void st_io_obs_load_begin(struct st_io_live *l)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init_once);
	pthread_mutex_lock(&live_lock);
	l->next = live;
	live = l;
	pthread_mutex_unlock(&live_lock);
	if (M.ev_load > 0)
		strata_trace_begin(M.ev_load, 0, 0);
}

void st_io_obs_load_end(struct st_io_live *l)
{
	struct st_io_live **p;

	pthread_mutex_lock(&live_lock);
	for (p = &live; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	pthread_mutex_unlock(&live_lock);
	if (M.ev_load > 0)
		strata_trace_end(M.ev_load);
}

void st_io_obs_submit(struct st_io_live *l, struct st_chunk *c, unsigned inflight)
{
	c->t_submit = now_s();
	c->flow = atomic_fetch_add_explicit(&next_flow, 1, memory_order_relaxed);
	atomic_store_explicit(&l->inflight, inflight, memory_order_relaxed);
	if (M.ev_read > 0)
		strata_trace_flow_begin(M.ev_read, c->flow);
}

void st_io_obs_complete(struct st_io_live *l, struct st_chunk *c, bool uring, int res, bool is_short, unsigned inflight)
{
	int e = uring ? 0 : 1;

	strata_metric_add(M.reads[e], 1);
	if (res > 0)
		strata_metric_add(M.bytes[e], (uint64_t)res);
	if (is_short)
		strata_metric_add(M.short_reads, 1);
	atomic_store_explicit(&l->inflight, inflight, memory_order_relaxed);
	if (M.ev_inflight > 0)
		strata_trace_counter(M.ev_inflight, inflight);
}

void st_io_obs_chunk_done(struct st_chunk *c, int err)
{
	/* One flow and one latency sample per chunk, however many reads it took. */
	if (!err)
		strata_metric_observe(M.latency, now_s() - c->t_submit);
	if (M.ev_read > 0)
		strata_trace_flow_end(M.ev_read, c->flow);
}

void st_io_obs_tensor(size_t index, int status)
{
	strata_metric_add(status ? M.errors : M.tensors, 1);
	if (M.ev_ready > 0)
		strata_trace_instant(M.ev_ready, index, (uint64_t)(int64_t)status);
}
