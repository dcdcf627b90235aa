/* SPDX-License-Identifier: MIT */
/*
 * strata/metric_names.h — the name of every metric strata exports: the
 * library's own, and those of its serving example (strata-serve).  The
 * library, the `strata` CLI (top reads them), strata-serve and the Grafana
 * dashboard (tools/grafana/) all take them from here;
 * tests/trace/test_dashboard.sh fails on a name used anywhere else, on a
 * dashboard query of a name not listed here, and on a listed name that a
 * running process does not export.  Names follow Prometheus' conventions:
 * a unit suffix (_bytes, _seconds, _ratio), _total on counters.
 */
#ifndef STRATA_METRIC_NAMES_H
#define STRATA_METRIC_NAMES_H

#include <strata/common.h>

/* Memory pools (mm/metrics.c) */
#define STRATA_MN_POOL_BYTES "strata_pool_bytes"
#define STRATA_MN_POOL_PEAK_RESERVED_BYTES "strata_pool_peak_reserved_bytes"
#define STRATA_MN_POOL_FRAGMENTATION_RATIO "strata_pool_fragmentation_ratio"
#define STRATA_MN_POOL_HUGEPAGE_RATIO "strata_pool_hugepage_ratio"
#define STRATA_MN_POOL_ALLOCATIONS_TOTAL "strata_pool_allocations_total"
#define STRATA_MN_POOL_FREES_TOTAL "strata_pool_frees_total"
#define STRATA_MN_POOL_FALLBACKS_TOTAL "strata_pool_fallbacks_total"
#define STRATA_MN_POOL_PURGED_BYTES_TOTAL "strata_pool_purged_bytes_total"
#define STRATA_MN_POOL_COMMITS_TOTAL "strata_pool_commits_total"

/* Tensor loads (io/observe.c) */
#define STRATA_MN_IO_ACTIVE_LOADS "strata_io_active_loads"
#define STRATA_MN_IO_INFLIGHT_READS "strata_io_inflight_reads"
#define STRATA_MN_IO_QUEUE_DEPTH "strata_io_queue_depth"
#define STRATA_MN_IO_CHUNK_BYTES "strata_io_chunk_bytes"
#define STRATA_MN_IO_READ_BYTES_TOTAL "strata_io_read_bytes_total"
#define STRATA_MN_IO_READS_TOTAL "strata_io_reads_total"
#define STRATA_MN_IO_SHORT_READS_TOTAL "strata_io_short_reads_total"
#define STRATA_MN_IO_ERRORS_TOTAL "strata_io_errors_total"
#define STRATA_MN_IO_TENSORS_LOADED_TOTAL "strata_io_tensors_loaded_total"
#define STRATA_MN_IO_READ_SECONDS "strata_io_read_seconds"

/* Pressure stall information (core/observe.c) */
#define STRATA_MN_PRESSURE_STALL_RATIO "strata_pressure_stall_ratio"
#define STRATA_MN_PRESSURE_STALL_SECONDS_TOTAL "strata_pressure_stall_seconds_total"

/* Telemetry (core/telemetry.c) */
#define STRATA_MN_TELEMETRY_IO_BYTES_PER_SECOND "strata_telemetry_io_bytes_per_second"
#define STRATA_MN_TELEMETRY_IO_IN_FLIGHT "strata_telemetry_io_in_flight"
#define STRATA_MN_TELEMETRY_MEMORY_STALL_RATIO "strata_telemetry_memory_stall_ratio"
#define STRATA_MN_TELEMETRY_RECLAIM_STALLS_PER_SECOND "strata_telemetry_reclaim_stalls_per_second"
#define STRATA_MN_TELEMETRY_FAULTS_PER_SECOND "strata_telemetry_faults_per_second"
#define STRATA_MN_TELEMETRY_NUMA_MIGRATIONS_PER_SECOND "strata_telemetry_numa_migrations_per_second"
#define STRATA_MN_TELEMETRY_RUNQ_DELAY_RATIO "strata_telemetry_runq_delay_ratio"
/* (the two io_uring series: only while its eBPF collector is active) */
#define STRATA_MN_TELEMETRY_URING_OPS_PER_SECOND "strata_telemetry_uring_ops_per_second"
#define STRATA_MN_TELEMETRY_URING_CQ_OVERFLOWS "strata_telemetry_uring_cq_overflows"
#define STRATA_MN_TELEMETRY_RECLAIM_STALL_RATIO "strata_telemetry_reclaim_stall_ratio"
#define STRATA_MN_TELEMETRY_PRESSURE_LEVEL "strata_telemetry_pressure_level"
#define STRATA_MN_TELEMETRY_COLLECTOR_INFO "strata_telemetry_collector_info"

/* The scheduler (core/sched.c) */
#define STRATA_MN_SCHED_WORKERS "strata_sched_workers"
#define STRATA_MN_SCHED_TASKS_TOTAL "strata_sched_tasks_total"
#define STRATA_MN_SCHED_CHUNKS_TOTAL "strata_sched_chunks_total"
#define STRATA_MN_SCHED_BUSY_SECONDS_TOTAL "strata_sched_busy_seconds_total"
#define STRATA_MN_SCHED_WAIT_SECONDS_TOTAL "strata_sched_wait_seconds_total"

/* Compiled graphs (core/graph/observe.c) */
#define STRATA_MN_GRAPH_KERNEL_SECONDS_TOTAL "strata_graph_kernel_seconds_total"
#define STRATA_MN_GRAPH_KERNEL_BYTES_TOTAL "strata_graph_kernel_bytes_total"
#define STRATA_MN_GRAPH_RUNS_TOTAL "strata_graph_runs_total"
#define STRATA_MN_GRAPH_RUN_SECONDS "strata_graph_run_seconds"

/* The tracer (trace/expo.c) */
#define STRATA_MN_TRACE_EVENTS_TOTAL "strata_trace_events_total"
#define STRATA_MN_TRACE_EVENTS_DROPPED_TOTAL "strata_trace_events_dropped_total"
#define STRATA_MN_TRACE_RING_BYTES "strata_trace_ring_bytes"
#define STRATA_MN_TRACE_CPU_SECONDS_TOTAL "strata_trace_cpu_seconds_total"
#define STRATA_MN_TRACE_ATTACHES_TOTAL "strata_trace_attaches_total"
#define STRATA_MN_TRACE_REFUSED_TOTAL "strata_trace_refused_total"
#define STRATA_MN_TRACE_READERS "strata_trace_readers"

/* The serving example, strata-serve (examples/serve/server.c) */
#define STRATA_MN_SERVE_REQUESTS_TOTAL "strata_serve_requests_total"
#define STRATA_MN_SERVE_REJECTED_TOTAL "strata_serve_rejected_total"
#define STRATA_MN_SERVE_CANCELLED_TOTAL "strata_serve_cancelled_total"
#define STRATA_MN_SERVE_PROMPT_TOKENS_TOTAL "strata_serve_prompt_tokens_total"
#define STRATA_MN_SERVE_GENERATED_TOKENS_TOTAL "strata_serve_generated_tokens_total"
#define STRATA_MN_SERVE_QUEUE_DEPTH "strata_serve_queue_depth"
#define STRATA_MN_SERVE_TIME_TO_FIRST_TOKEN_SECONDS "strata_serve_time_to_first_token_seconds"
#define STRATA_MN_SERVE_CONNECTIONS "strata_serve_connections"
#define STRATA_MN_SERVE_CONNECTIONS_REFUSED_TOTAL "strata_serve_connections_refused_total"
#define STRATA_MN_SERVE_CONNECTIONS_TIMED_OUT_TOTAL "strata_serve_connections_timed_out_total"
#define STRATA_MN_SERVE_DECODE_TOKENS_PER_SECOND "strata_serve_decode_tokens_per_second"

#endif /* STRATA_METRIC_NAMES_H */
