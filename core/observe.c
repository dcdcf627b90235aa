/* SPDX-License-Identifier: MIT */
/*
 * core/observe.c — switching on what lets people watch the process: the
 * tracer's socket (always, unless STRATA_TRACE=off) and the Prometheus
 * endpoint (when STRATA_METRICS_ADDR or the runtime option names an
 * address).  Process-wide: the first runtime starts them, the last one
 * stops them.  A failure is logged and never stops the runtime.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/core_int.h"
#include "trace/trace_int.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static bool listening, serving;

void st_observe_start(const char *metrics_addr)
{
	const char *mode = getenv("STRATA_TRACE"), *env_addr = getenv("STRATA_METRICS_ADDR");
	int err;

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
