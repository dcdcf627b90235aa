/* SPDX-License-Identifier: MIT */
/*
 * tests/trace/test_metrics.c — the registry: naming rules, shared series,
 * counters summed over threads, histogram buckets, collectors, the text
 * checked by the real `promtool check metrics`, and the HTTP endpoint
 * (GET /metrics, 404 elsewhere).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "trace/trace_int.h"

static void names_and_labels(void **state)
{
	struct strata_metric *m;

	(void)state;
	assert_int_equal(strata_metric_create("strata_x_total", "h", STRATA_METRIC_COUNTER, NULL, &m), 0);
	strata_metric_destroy(m);
	assert_int_equal(strata_metric_create("x_total", "h", STRATA_METRIC_COUNTER, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_x", "h", STRATA_METRIC_COUNTER, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_x_total", "h", STRATA_METRIC_GAUGE, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_X_bytes", "h", STRATA_METRIC_GAUGE, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_vllm:ttft_seconds", "h", STRATA_METRIC_GAUGE, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_a_bytes", "two\nlines", STRATA_METRIC_GAUGE, NULL, &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "pool=\"kv\",node=\"0\"", &m), 0);
	strata_metric_destroy(m);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "pool=\"a\\\"b\\\\c\\n\"", &m), 0);
	strata_metric_destroy(m);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "pool=kv", &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "Pool=\"kv\"", &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "pool=\"kv\",", &m), -EINVAL);
	assert_int_equal(strata_metric_create("strata_a_bytes", "h", STRATA_METRIC_GAUGE, "pool=\"k\"v\"", &m), -EINVAL);
}

static struct strata_metric *shared;

static void *bump(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 100000; i++)
		strata_metric_add(shared, 1);
	return NULL;
}

static void series_and_threads(void **state)
{
	struct strata_metric *a, *b, *c;
	pthread_t t[4];
	char *text;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(strata_metric_create("strata_hits_total", "hits", STRATA_METRIC_COUNTER, "k=\"1\"", &a), 0);
	assert_int_equal(strata_metric_create("strata_hits_total", "hits", STRATA_METRIC_COUNTER, "k=\"1\"", &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(strata_metric_create("strata_hits_total", "hits", STRATA_METRIC_GAUGE, "k=\"2\"", &c), -EINVAL);
	assert_int_equal(strata_metric_create("strata_hits_total", "hits", STRATA_METRIC_COUNTER, "k=\"2\"", &c), 0);
	assert_ptr_not_equal(a, c);
	shared = a;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bump, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	strata_metric_add(b, 7);
	strata_metric_add(c, 1);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "# TYPE strata_hits_total counter\n"));
	assert_non_null(strstr(text, "strata_hits_total{k=\"1\"} 400007\n"));
	assert_non_null(strstr(text, "strata_hits_total{k=\"2\"} 1\n"));
	/* One HELP/TYPE pair for the name, however many series. */
	assert_null(strstr(strstr(text, "# TYPE strata_hits_total") + 1, "# TYPE strata_hits_total"));
	strata_metrics_free(text);
	strata_metric_destroy(a);
	strata_metric_destroy(b);
	strata_metric_destroy(c);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_null(strstr(text, "strata_hits_total"));
	strata_metrics_free(text);
}

static void gauges_and_histograms(void **state)
{
	struct strata_metric *g, *h;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(strata_metric_create("strata_temp_ratio", "t", STRATA_METRIC_GAUGE, NULL, &g), 0);
	strata_metric_set(g, 0.25);
	assert_int_equal(strata_metric_create("strata_op_seconds", "op", STRATA_METRIC_HISTOGRAM, NULL, &h), 0);
	strata_metric_observe(h, 1.0); /* exactly a bound: in le="1" */
	strata_metric_observe(h, 1.2); /* in le="1.5" */
	strata_metric_observe(h, 1.5); /* in le="1.5" */
	strata_metric_observe(h, 1.6); /* in le="2" */
	strata_metric_observe(h, 1e9); /* past every bound: only +Inf */
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_non_null(strstr(text, "strata_temp_ratio 0.25\n"));
	assert_non_null(strstr(text, "# TYPE strata_op_seconds histogram\n"));
	assert_non_null(strstr(text, "strata_op_seconds_bucket{le=\"0.75\"} 0\n"));
	assert_non_null(strstr(text, "strata_op_seconds_bucket{le=\"1\"} 1\n"));
	assert_non_null(strstr(text, "strata_op_seconds_bucket{le=\"1.5\"} 3\n"));
	assert_non_null(strstr(text, "strata_op_seconds_bucket{le=\"2\"} 4\n"));
	assert_non_null(strstr(text, "strata_op_seconds_bucket{le=\"+Inf\"} 5\n"));
	assert_non_null(strstr(text, "strata_op_seconds_count 5\n"));
	assert_non_null(strstr(text, "strata_op_seconds_sum 1000000005.3"));
	strata_metrics_free(text);
	strata_metric_destroy(g);
	strata_metric_destroy(h);
}

/* A histogram with its own range: buckets from the power of two at or
 * above @smallest, 64 of them, so rates of hundreds of tokens a second
 * land in a bucket of their own rather than past 192. */
static void histograms_with_a_range(void **state)
{
	struct strata_metric *h, *same, *other;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(strata_histogram_create("strata_rate_per_second", "r", NULL, 0.25, &h), 0);
	assert_int_equal(strata_histogram_create("strata_rate_per_second", "r", NULL, 0.25, &same), 0);
	assert_ptr_equal(h, same);
	/* The same series with another range, or a range that is no number. */
	assert_int_equal(strata_histogram_create("strata_rate_per_second", "r", NULL, 1, &other), -EINVAL);
	assert_int_equal(strata_metric_create("strata_rate_per_second", "r", STRATA_METRIC_HISTOGRAM, NULL, &other),
			 -EINVAL);
	assert_int_equal(strata_histogram_create("strata_other_per_second", "r", NULL, 0, &other), -EINVAL);
	assert_int_equal(strata_histogram_create("strata_other_per_second", "r", NULL, NAN, &other), -EINVAL);
	assert_int_equal(strata_histogram_create("strata_other_per_second", "r", NULL, INFINITY, &other), -EINVAL);
	strata_metric_observe(h, 0.1); /* below the first bound */
	strata_metric_observe(h, 300); /* in le="384" */
	strata_metric_observe(h, 5e8); /* in le="536870912" */
	strata_metric_observe(h, 1e9); /* past the last bound, 805306368 */
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"0.25\"} 1\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"256\"} 1\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"384\"} 2\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"402653184\"} 2\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"536870912\"} 3\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"805306368\"} 3\n"));
	assert_non_null(strstr(text, "strata_rate_per_second_bucket{le=\"+Inf\"} 4\n"));
	assert_null(strstr(text, "strata_rate_per_second_bucket{le=\"0.125\"}"));
	strata_metrics_free(text);
	strata_metric_destroy(same);
	strata_metric_destroy(h);
}

static void collect(void *user, struct strata_metric_writer *w)
{
	int *calls = user;

	(*calls)++;
	assert_int_equal(strata_metric_write(w, "strata_widgets", "w", STRATA_METRIC_GAUGE, "kind=\"a\"", 3), 0);
	assert_int_equal(strata_metric_write(w, "strata_widgets", NULL, STRATA_METRIC_GAUGE, "kind=\"b\"", 4), 0);
	assert_int_equal(strata_metric_write(w, "bad name", NULL, STRATA_METRIC_GAUGE, NULL, 1), -EINVAL);
	assert_int_equal(strata_metric_write(w, "strata_h", NULL, STRATA_METRIC_HISTOGRAM, NULL, 1), -EINVAL);
}

static void collectors(void **state)
{
	uint64_t handle;
	int calls = 0;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(strata_metric_collector_add(collect, &calls, &handle), 0);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_int_equal(calls, 1);
	assert_non_null(strstr(text, "# HELP strata_widgets w\n# TYPE strata_widgets gauge\n"
				     "strata_widgets{kind=\"a\"} 3\nstrata_widgets{kind=\"b\"} 4\n"));
	strata_metrics_free(text);
	assert_int_equal(strata_metric_collector_remove(handle), 0);
	assert_int_equal(strata_metric_collector_remove(handle), -ENOENT);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_int_equal(calls, 1);
	assert_null(strstr(text, "strata_widgets"));
	strata_metrics_free(text);
}

/* Everything a process exports, with pools and a histogram, through promtool. */
static void promtool_accepts(void **state)
{
	STRATA_POOL_OPTS(popts, .name = "kv \"cache\"");
	struct strata_metric *h, *c;
	struct strata_pool *pool;
	char *text, path[] = "/tmp/strata-metrics-XXXXXX", cmd[256];
	size_t len;
	int fd, rc;
	void *p;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1"))
		TEST_SKIP("promtool is not installed (Debian package prometheus)");
	assert_int_equal(strata_pool_create(test_rt, &popts, &pool), 0);
	assert_int_equal(strata_pool_alloc(pool, 1 << 20, 0, 0, &p), 0);
	assert_int_equal(strata_metric_create("strata_op_seconds", "op", STRATA_METRIC_HISTOGRAM, "op=\"x\"", &h), 0);
	assert_int_equal(strata_metric_create("strata_ops_total", "ops", STRATA_METRIC_COUNTER, NULL, &c), 0);
	strata_metric_observe(h, 0.003);
	strata_metric_add(c, 3);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_non_null(strstr(text, "strata_pool_bytes{pool=\"kv \\\"cache\\\"\""));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	unlink(path);
	strata_metrics_free(text);
	strata_metric_destroy(h);
	strata_metric_destroy(c);
	strata_pool_free(pool, p);
	strata_pool_destroy(pool);
	assert_int_equal(rc, 0);
}

/* GET over a plain socket; returns the status code and the body in @body. */
static int http_get(int port, const char *path, char *body, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[256], *buf = malloc(1 << 20);
	size_t have = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
	ssize_t r;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		free(buf);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0)
		code = -2;
	while ((r = read(fd, buf + have, (1 << 20) - 1 - have)) > 0)
		have += (size_t)r;
	buf[have] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) == 1 && body) {
		const char *b = strstr(buf, "\r\n\r\n");

		snprintf(body, len, "%s", b ? b + 4 : "");
	}
	free(buf);
	return code;
}

static void http_endpoint(void **state)
{
	char addr[32], *body = malloc(1 << 20);
	int port = 20000 + getpid() % 20000;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	assert_int_equal(st_metrics_http_start("nonsense"), -EINVAL);
	assert_int_equal(st_metrics_http_start("127.0.0.1:99999"), -EINVAL);
	assert_int_equal(st_metrics_http_start(addr), 0);
	assert_int_equal(http_get(port, "/metrics", body, 1 << 20), 200);
	assert_non_null(strstr(body, "# TYPE strata_trace_ring_bytes gauge"));
	assert_int_equal(http_get(port, "/", body, 1 << 20), 404);
	st_metrics_http_stop();
	assert_int_equal(http_get(port, "/metrics", NULL, 0), -1);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_labels),  cmocka_unit_test(series_and_threads),
		cmocka_unit_test(gauges_and_histograms), cmocka_unit_test(histograms_with_a_range),
		cmocka_unit_test(collectors),
		cmocka_unit_test(promtool_accepts),  cmocka_unit_test(http_endpoint),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
