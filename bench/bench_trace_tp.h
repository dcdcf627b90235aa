/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_trace_tp.h — the LTTng-UST tracepoint bench_trace measures
 * strata's emit against: one event with two 64-bit arguments.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER strata_bench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./bench_trace_tp.h"

#if !defined(BENCH_TRACE_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_TRACE_TP_H

#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(strata_bench, ev, TP_ARGS(uint64_t, a0, uint64_t, a1),
		 TP_FIELDS(ctf_integer(uint64_t, a0, a0) ctf_integer(uint64_t, a1, a1)))

#endif

#include <lttng/tracepoint-event.h>
