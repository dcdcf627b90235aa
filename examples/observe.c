/* SPDX-License-Identifier: MIT */
/*
 * examples/observe.c — a process to watch: it loads a small model again and
 * again, allocates and frees pool memory and marks its work with trace
 * spans, for SECONDS seconds (default 30).  Watch it with
 *
 *     strata ps; strata top PID; strata trace PID -d 2; strata metrics PID
 *
 * and, with STRATA_METRICS_ADDR=127.0.0.1:9464 set, from Prometheus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

/* A safetensors file of 16 F32 tensors of 64 KiB each. */
static int write_model(const char *path)
{
	char header[4096];
	size_t n = 0, i;
	uint64_t len;
	FILE *f;

	n += (size_t)snprintf(header + n, sizeof(header) - n, "{");
	for (i = 0; i < 16; i++)
		n += (size_t)snprintf(header + n, sizeof(header) - n,
				      "%s\"layers.%zu.w\":{\"dtype\":\"F32\",\"shape\":[16384],\"data_offsets\":[%zu,%zu]}",
				      i ? "," : "", i, i * 65536, (i + 1) * 65536);
	n += (size_t)snprintf(header + n, sizeof(header) - n, "}");
	while (n % 8)
		header[n++] = ' ';
	len = n;
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(&len, 8, 1, f);
	fwrite(header, 1, n, f);
	for (i = 0; i < 16 * 65536; i++)
		fputc((int)(i * 31 % 251), f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(popts, .name = "example");
	int seconds = argc > 1 ? atoi(argv[1]) : 30, span, err;
	char path[] = "/tmp/strata-observe-XXXXXX";
	const char *paths[] = { path };
	struct strata_metric *requests;
	struct strata_model *model;
	struct strata_pool *pool;
	struct strata_rt *rt;
	time_t end;
	int fd;

	fd = mkstemp(path);
	if (fd < 0 || close(fd) || write_model(path))
		return 1;
	err = strata_rt_create(&ropts, &rt);
	if (!err)
		err = strata_pool_create(rt, &popts, &pool);
	if (!err)
		err = strata_model_open(paths, 1, NULL, &model);
	if (!err)
		err = strata_metric_create("strata_example_requests_total", "Requests the example served",
					   STRATA_METRIC_COUNTER, NULL, &requests);
	if (err) {
		fprintf(stderr, "observe: %s\n", strata_strerror(err));
		unlink(path);
		return 1;
	}
	span = strata_trace_name("example.request");
	printf("%d\n", (int)getpid());
	fflush(stdout);
	for (end = time(NULL) + seconds; time(NULL) < end;) {
		STRATA_LOAD_OPTS(lopts, .pool = pool);
		struct strata_load *load;
		void *blocks[64];
		int i;

		strata_trace_begin(span, 0, 0);
		if (strata_load_start(model, &lopts, &load) == 0) {
			strata_load_wait(load, -1);
			strata_load_destroy(load);
		}
		for (i = 0; i < 64; i++)
			if (strata_pool_alloc(pool, 4096u << (i % 8), 0, 0, &blocks[i]))
				blocks[i] = NULL;
		for (i = 0; i < 64; i++)
			strata_pool_free(pool, blocks[i]);
		strata_trace_end(span);
		strata_metric_add(requests, 1);
		usleep(20000);
	}
	strata_metric_destroy(requests);
	strata_model_close(model);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
	unlink(path);
	return 0;
}
