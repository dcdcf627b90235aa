/* SPDX-License-Identifier: MIT */
/*
 * core/observe.c — switching on what lets people watch the process: the
 * tracer's socket (always, unless STRATA_TRACE=off) and the Prometheus
 * endpoint (when STRATA_METRICS_ADDR or the runtime option names an
 * address).  Process-wide: the first runtime starts them, the last one
 * stops them.  A failure is logged and never stops the runtime.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>

#include "base/base.h"
#include "core/core_int.h"
#include "trace/trace_int.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static bool listening, serving;

/* Pressure stall information, the unprivileged pressure signal: the share
 * of time some (or all) runnable tasks stalled on a resource, averaged
 * over 10 s, and the total stall time.  System-wide (or the cgroup's, in a
 * container).  The bpf/ telemetry will add finer sources beside it. */
static void psi_collector(void *user, struct strata_metric_writer *w)
{
	static const char *const resources[] = { "cpu", "memory", "io" };
	unsigned r;

	(void)user;
	for (r = 0; r < 3; r++) {
		char path[64], text[512], *line, *save = NULL;

		snprintf(path, sizeof(path), "/proc/pressure/%s", resources[r]);
		if (st_read_text(path, text, sizeof(text)) <= 0)
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			double avg10, total;
			char kind[8], labels[96];

			if (sscanf(line, "%7s avg10=%lf avg60=%*f avg300=%*f total=%lf", kind, &avg10, &total) != 3)
				continue;
			snprintf(labels, sizeof(labels), "resource=\"%s\",kind=\"%s\",source=\"psi\"", resources[r], kind);
			strata_metric_write(w, STRATA_MN_PRESSURE_STALL_RATIO,
					    "Share of the last 10 s in which some (or all) tasks stalled on the resource",
					    STRATA_METRIC_GAUGE, labels, avg10 / 100.0);
			strata_metric_write(w, STRATA_MN_PRESSURE_STALL_SECONDS_TOTAL, "Time tasks stalled on the resource",
					    STRATA_METRIC_COUNTER, labels, total / 1e6);
		}
	}
}

static void register_psi(void)
{
	strata_metric_collector_add(psi_collector, NULL, NULL);
}

void st_observe_start(const char *metrics_addr)
{
	const char *mode = getenv("STRATA_TRACE"), *env_addr = getenv("STRATA_METRICS_ADDR");
	int err;

	static pthread_once_t psi_once = PTHREAD_ONCE_INIT;

	pthread_once(&psi_once, register_psi);
	pthread_mutex_lock(&lock);
	if (users++ == 0) {
		if (!mode || strcmp(mode, "off")) {
			err = st_trace_listen_start();
			if (err)
				st_warn("trace socket unavailable (strata top/trace cannot attach): %s", strata_strerror(err));
			listening = err == 0;
		}
	}
	if (!metrics_addr)
		metrics_addr = env_addr;
	if (metrics_addr && *metrics_addr && !serving) {
		err = st_metrics_http_start(metrics_addr);
		if (err)
			st_warn("metrics endpoint %s unavailable: %s", metrics_addr, strata_strerror(err));
		else
			st_info("metrics at http://%s/metrics", metrics_addr);
		serving = err == 0;
	}
	pthread_mutex_unlock(&lock);
}

void st_observe_stop(void)
{
	pthread_mutex_lock(&lock);
	if (users && --users == 0) {
		if (serving)
			st_metrics_http_stop();
		if (listening)
			st_trace_listen_stop();
		serving = listening = false;
	}
	pthread_mutex_unlock(&lock);
}
