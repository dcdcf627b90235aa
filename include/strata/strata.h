/* SPDX-License-Identifier: MIT */
/*
 * strata/strata.h — the whole public API in one include.
 */
#ifndef STRATA_STRATA_H
#define STRATA_STRATA_H

#include <strata/common.h>
#include <strata/version.h>
#include <strata/log.h>
#include <strata/alloc.h>
#include <strata/rt.h>
#include <strata/topo.h>
#include <strata/probe.h>
#include <strata/feature.h>
#include <strata/mm.h>
#include <strata/dtype.h>
#include <strata/io.h>
#include <strata/trace.h>
#include <strata/metrics.h>
#include <strata/metric_names.h>
#include <strata/telemetry.h>
#include <strata/graph.h>

#endif /* STRATA_STRATA_H */
