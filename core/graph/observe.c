/* SPDX-License-Identifier: MIT */
/*
 * core/graph/observe.c — what a running program shows: every chunk of a
 * kernel is a trace span ("graph.kernel.<kind>", arg0 the kernel's number,
 * arg1 its items), a whole run is "graph.run"; each kernel keeps its runs,
 * wall time and bytes (strata_program_kernel_stats()), and the metrics
 * registry sums them by kernel kind:
 *
 *   strata_graph_runs_total                       runs of any program
 *   strata_graph_run_seconds                      histogram of run times
 *   strata_graph_kernel_seconds_total{kind=...}   kernel wall time
 *   strata_graph_kernel_bytes_total{kind=...}     bytes kernels read and wrote
 *
 * Kinds, not kernels, label the series: a model has hundreds of kernels,
 * and a dashboard wants few series.  Bytes are what a kernel's arguments
 * and result take at the run's sequence length, so bytes / seconds is the
 * bandwidth the kernel reached.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>
#include <strata/trace.h>

#include "base/base.h"
#include "core/graph/compile_int.h"

#define KINDS 4

static struct {
	struct strata_metric *runs, *run_seconds;
	uint64_t ns[KINDS], bytes[KINDS]; /* atomics: summed over every program */
	int trace_kind[KINDS], trace_run;
} M;

const char *st_kernel_kind_name(enum st_kernel_kind k)
{
	switch (k) {
	case ST_KERNEL_ELEMWISE: return "elementwise";
	case ST_KERNEL_ROWS: return "rows";
	case ST_KERNEL_MATMUL: return "matmul";
	case ST_KERNEL_SINGLE: return "single";
	}
	return "unknown";
}

/* Seconds are not whole numbers: these two series are written at scrape
 * time from the sums. */
static void collect(void *user, struct strata_metric_writer *w)
{
	unsigned k;

	(void)user;
	for (k = 0; k < KINDS; k++) {
		char labels[64];

		st_fmt(labels, sizeof(labels), "kind=\"%s\"", st_kernel_kind_name((enum st_kernel_kind)k));
		strata_metric_write(w, STRATA_MN_GRAPH_KERNEL_SECONDS_TOTAL, "Wall time of graph kernels, by kind",
				    STRATA_METRIC_COUNTER, labels,
				    (double)__atomic_load_n(&M.ns[k], __ATOMIC_RELAXED) * 1e-9);
		strata_metric_write(w, STRATA_MN_GRAPH_KERNEL_BYTES_TOTAL,
				    "Bytes graph kernels read and wrote (arguments and results), by kind",
				    STRATA_METRIC_COUNTER, labels, (double)__atomic_load_n(&M.bytes[k], __ATOMIC_RELAXED));
	}
}

static void init_once(void)
{
	unsigned k;

	strata_metric_create(STRATA_MN_GRAPH_RUNS_TOTAL, "Runs of compiled graphs", STRATA_METRIC_COUNTER, NULL, &M.runs);
	strata_metric_create(STRATA_MN_GRAPH_RUN_SECONDS, "Time of a compiled graph's run", STRATA_METRIC_HISTOGRAM, NULL,
			     &M.run_seconds);
	strata_metric_collector_add(collect, NULL, NULL);
	for (k = 0; k < KINDS; k++) {
		char name[64];

		st_fmt(name, sizeof(name), "graph.kernel.%s", st_kernel_kind_name((enum st_kernel_kind)k));
		M.trace_kind[k] = strata_trace_name(name);
	}
	M.trace_run = strata_trace_name("graph.run");
}

void st_graph_obs_init(struct strata_program *p)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uint32_t k;

	pthread_once(&once, init_once);
	p->trace_run = M.trace_run > 0 ? M.trace_run : 0;
	for (k = 0; k < p->f.nk; k++) {
		int id = M.trace_kind[p->f.k[k].kind];

		p->calls[k].trace_id = id > 0 ? id : 0;
	}
}

void st_graph_obs_run(struct strata_program *p, uint64_t run_ns)
{
	uint64_t ns[KINDS] = { 0 }, bytes[KINDS] = { 0 };
	uint32_t k;

	for (k = 0; k < p->f.nk; k++) {
		struct st_call *c = &p->calls[k];
		uint64_t wall = c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0;

		c->runs++;
		c->ns += wall;
		c->total_bytes += c->bytes;
		ns[p->f.k[k].kind] += wall;
		bytes[p->f.k[k].kind] += c->bytes;
	}
	for (k = 0; k < KINDS; k++) {
		__atomic_fetch_add(&M.ns[k], ns[k], __ATOMIC_RELAXED);
		__atomic_fetch_add(&M.bytes[k], bytes[k], __ATOMIC_RELAXED);
	}
	strata_metric_add(M.runs, 1);
	strata_metric_observe(M.run_seconds, (double)run_ns * 1e-9);
}

int strata_program_kernel_stats(const struct strata_program *p, unsigned kernel, struct strata_kernel_stats *out)
{
	struct strata_kernel_stats s = { .sz = sizeof(s) };
	const struct st_kernel *k;
	const struct st_call *c;

	if (!p || !out || kernel >= p->f.nk || !p->target)
		return -EINVAL;
	k = &p->f.k[kernel];
	c = &p->calls[kernel];
	s.kind = st_kernel_kind_name(k->kind);
	s.op = st_op_name(st_program_graph(p)->nodes[k->core].op);
	s.nodes = k->nmembers;
	s.runs = c->runs;
	s.seconds = (double)c->ns * 1e-9;
	s.bytes = c->total_bytes;
	s.gbps = c->ns ? (double)c->total_bytes / (double)c->ns : 0;
	return st_copy_out(out, &s, sizeof(s));
}
