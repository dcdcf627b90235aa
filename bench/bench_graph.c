/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_graph.c — the graph compiler's benchmarks (make bench-graph).
 *
 *   graph.fused    (bench_graph_fused.c) 8-op element-wise chains (a light one and one heavy in
 *                  arithmetic) over 4 inputs of 2^26 f32, fused and
 *                  unfused, against a STREAM triad in the same run
 *   graph.gemv     (bench_graph_gemm.c) decode shapes of small-110m, f32 /
 *                  f16 / Q4_1 weights, against the triad (weight bytes) and
 *                  OpenBLAS sgemv
 *   graph.gemm     (bench_graph_gemm.c) batched decode and prefill shapes
 *                  and squares, 1 and 2 threads, against OpenBLAS sgemm;
 *                  bf16 weights against sgemm on the same shape and
 *                  PyTorch's bf16 linear
 *   graph.layer    one small-110m layer over a 128-token prompt against
 *                  PyTorch eager (bench/torch_layer.py) on the same weights
 *   graph.plan     arena peak against the live-bytes bound: small-110m and
 *                  1,000 random graphs
 *   graph.compile  time to the first result of the small-110m forward
 *                  graph in a fresh process, cold and warm cache
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_graph.h"
#include "bench_util.h"
#include "llama_graph.h"

struct strata_rt *rt;
bool all_ok = true;

/* --- helpers --------------------------------------------------------------- */

double median_of(double *v, int n, double *lo, double *hi)
{
	double m = bench_median(v, n);

	*lo = v[0];
	*hi = v[n - 1];
	return m;
}

struct strata_program *compile(struct strata_graph *g, unsigned threads, unsigned flags)
{
	STRATA_COMPILE_OPTS(opts, .threads = threads, .flags = flags);
	struct strata_program *p;

	if (strata_graph_compile(g, &opts, &p)) {
		fprintf(stderr, "compile: %s\n", strata_graph_error(g));
		exit(1);
	}
	return p;
}

struct strata_program_info info_of(struct strata_program *p)
{
	struct strata_program_info info = { .sz = sizeof(info) };

	strata_program_info(p, &info);
	return info;
}

void run_or_die(struct strata_program *p, uint32_t seq, const struct strata_graph_tensor *in, unsigned nin,
		       const struct strata_graph_tensor *out, unsigned nout)
{
	if (strata_program_run(p, seq, in, nin, out, nout)) {
		fprintf(stderr, "run: %s\n", strata_program_error(p));
		exit(1);
	}
}

/* a = b + s·c over @n floats on @threads threads: bytes moved / s. */
double triad(float *a, const float *b, const float *c, size_t n, int threads)
{
	double t0 = bench_now();

#pragma omp parallel for num_threads(threads) schedule(static)
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] + 3.0f * c[i];
	return (double)(3 * n * sizeof(float)) / (bench_now() - t0);
}

/* The source tree of the binary @self (bench/'s scripts sit there): what
 * comes before its "/build/", else ".". */
void source_dir(const char *self, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", self);
	slash = strstr(dir, "/build/");
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, len, ".");
}

/* --- graph.plan ------------------------------------------------------------ */

static uint64_t prng = 99;

static unsigned pick(unsigned n)
{
	prng = prng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(prng >> 33) % n;
}

/* A random graph whose values have widths 8 … 1024, changed by matmuls. */
static void random_plan_graph(struct strata_graph *g, float *wbuf)
{
	static const int64_t widths[] = { 8, 64, 256, 1024 };
	uint32_t vals[80], wid[80], n = 0, r, x;
	int64_t xs[] = { STRATA_DIM_SEQ, 64 };
	unsigned steps = 10 + pick(60), i;

	strata_graph_input(g, "x", STRATA_DTYPE_F32, 2, xs, &x);
	vals[n] = x;
	wid[n++] = 1;
	for (i = 0; i < steps; i++) {
		unsigned a = pick(n), b = pick(n);

		if (pick(3) == 0) {
			unsigned to = pick(4);
			const int64_t ws[] = { widths[to], widths[wid[a]] };
			uint32_t w;

			strata_graph_weight(g, "w", STRATA_DTYPE_F32, 2, ws, wbuf, &w);
			if (strata_graph_matmul(g, vals[a], w, STRATA_MATMUL_TRANS_B, &r))
				continue;
			wid[n] = to;
		} else if (wid[a] == wid[b] && pick(2)) {
			if (strata_graph_binary(g, STRATA_OP_ADD, vals[a], vals[b], &r))
				continue;
			wid[n] = wid[a];
		} else {
			if (strata_graph_softmax(g, vals[a], &r))
				continue;
			wid[n] = wid[a];
		}
		vals[n++] = r;
	}
	strata_graph_output(g, vals[n - 1]);
	strata_graph_output(g, vals[1 + pick(n - 1)]);
}

static void bench_plan(const struct llama_weights *w)
{
	STRATA_GRAPH_OPTS(gopts, .max_seq = 1024);
	struct strata_graph *g;
	struct strata_program *p;
	struct strata_program_info info;
	uint32_t tok, pos, logits;
	double ratios[1000], worst = 0, lo, hi;
	float *wbuf = calloc(1024 * 1024, 4);

	strata_graph_create(rt, &gopts, &g);
	llama_forward(g, &llama_small_110m, w, llama_small_110m.layers, &tok, &pos, &logits);
	p = compile(g, 1, STRATA_COMPILE_INTERPRET);
	info = info_of(p);
	printf("{\"bench\":\"graph.plan\",\"case\":\"small-110m forward, max_seq 1024\",\"metric\":\"arena_over_bound\","
	       "\"unit\":\"x\",\"value\":%.4f,\"baseline\":\"live-bytes lower bound\",\"baseline_value\":1,"
	       "\"ratio\":%.4f,\"better\":\"lower\",\"ok\":true,\"arena_bytes\":%llu,\"bound_bytes\":%llu,"
	       "\"kernels\":%u,\"in_place\":%u}\n",
	       (double)info.arena_bytes / (double)info.live_bound, (double)info.arena_bytes / (double)info.live_bound,
	       (unsigned long long)info.arena_bytes, (unsigned long long)info.live_bound, info.kernels, info.in_place);
	strata_program_destroy(p);
	strata_graph_destroy(g);
	for (int i = 0; i < 1000; i++) {
		STRATA_GRAPH_OPTS(o, .max_seq = 64);

		strata_graph_create(rt, &o, &g);
		random_plan_graph(g, wbuf);
		p = compile(g, 1, STRATA_COMPILE_INTERPRET);
		info = info_of(p);
		ratios[i] = info.live_bound ? (double)info.arena_bytes / (double)info.live_bound : 1;
		worst = ratios[i] > worst ? ratios[i] : worst;
		strata_program_destroy(p);
		strata_graph_destroy(g);
	}
	printf("{\"bench\":\"graph.plan\",\"case\":\"1000 random graphs\",\"metric\":\"arena_over_bound\",\"unit\":\"x\","
	       "\"value\":%.4f,\"baseline\":\"live-bytes lower bound\",\"baseline_value\":1,\"ratio\":%.4f,"
	       "\"better\":\"lower\",\"ok\":true,\"worst\":%.4f,\"reps\":1000}\n",
	       median_of(ratios, 1000, &lo, &hi), bench_median(ratios, 1000), worst);
	free(wbuf);
}

/* --- graph.layer ----------------------------------------------------------- */

/* One small-110m layer over a 128-token prompt, strata against PyTorch
 * eager (Debian's python3-torch, bench/torch_layer.py) on the same
 * weights and input, both on 2 threads. */
static void bench_layer(const struct llama_weights *w, const char *self)
{
	const struct llama_config *c = &llama_small_110m;
	const int64_t seq = 128, xs[] = { STRATA_DIM_SEQ, c->dim }, ps[] = { STRATA_DIM_SEQ };
	STRATA_GRAPH_OPTS(gopts, .max_seq = 256);
	struct strata_graph *g;
	struct strata_program *p;
	uint32_t x, pos, out;
	float *xd = malloc((size_t)(seq * c->dim) * 4), *od = malloc((size_t)(seq * c->dim) * 4), *posf = malloc(seq * 4);
	int32_t *pd = malloc(seq * 4);
	double t[REPS], lo, hi, sum = 0, tsum = 0, tmed = -1, tlo = 0, thi = 0;
	char file[] = "/tmp/strata-layer-XXXXXX", cmd[8192], line[256], dir[4096], peer[512] = "unknown";
	uint64_t seed = 5;
	FILE *f;
	int fd;

	for (int64_t i = 0; i < seq * c->dim; i++)
		xd[i] = llama_rand(&seed);
	for (int64_t i = 0; i < seq; i++)
		pd[i] = (int32_t)i, posf[i] = (float)i;
	strata_graph_create(rt, &gopts, &g);
	strata_graph_input(g, "x", STRATA_DTYPE_F32, 2, xs, &x);
	strata_graph_input(g, "pos", STRATA_DTYPE_I32, 1, ps, &pos);
	llama_layer(g, c, w, 0, x, pos, &out);
	strata_graph_output(g, out);
	p = compile(g, 2, 0);
	struct strata_graph_tensor in[2] = { { x, xd, (size_t)(seq * c->dim) * 4 }, { pos, pd, seq * 4 } },
				   o = { out, od, (size_t)(seq * c->dim) * 4 };
	run_or_die(p, (uint32_t)seq, in, 2, &o, 1);
	for (int r = 0; r < REPS; r++) {
		double t0 = bench_now();

		run_or_die(p, (uint32_t)seq, in, 2, &o, 1);
		t[r] = bench_now() - t0;
	}
	for (int64_t i = 0; i < seq * c->dim; i++)
		sum += od[i];
	/* The same weights and input for PyTorch. */
	fd = mkstemp(file);
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (f) {
		int64_t d = c->dim, h = c->hidden;

		fwrite(w->att_norm[0], 4, (size_t)d, f), fwrite(w->wq[0], 4, (size_t)(d * d), f);
		fwrite(w->wk[0], 4, (size_t)(d * d), f), fwrite(w->wv[0], 4, (size_t)(d * d), f);
		fwrite(w->wo[0], 4, (size_t)(d * d), f), fwrite(w->mlp_norm[0], 4, (size_t)d, f);
		fwrite(w->wg[0], 4, (size_t)(h * d), f), fwrite(w->wu[0], 4, (size_t)(h * d), f);
		fwrite(w->wd[0], 4, (size_t)(d * h), f), fwrite(xd, 4, (size_t)(seq * d), f);
		fwrite(posf, 4, (size_t)seq, f);
		fclose(f);
		source_dir(self, dir, sizeof(dir));
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/bench/torch_layer.py' '%s' %lld %lld %lld %lld 2 %d 2>/dev/null",
			 dir, file, (long long)seq, (long long)c->dim, (long long)c->hidden, (long long)c->heads, REPS);
		f = popen(cmd, "r");
		if (f && fgets(line, sizeof(line), f) && sscanf(line, "%lf %lf %lf %lf", &tmed, &tlo, &thi, &tsum) != 4)
			tmed = -1;
		bench_peer_config(f, peer, sizeof(peer));
		if (f)
			pclose(f);
		unlink(file);
	}
	{
		double m = median_of(t, REPS, &lo, &hi) * 1e3;
		bool ok = tmed < 0 || fabs(sum - tsum) <= 1e-3 * (fabs(tsum) + (double)(seq * c->dim) * 1e-3);

		all_ok = all_ok && ok;
		if (tmed < 0)
			printf("{\"bench\":\"graph.layer\",\"case\":\"small-110m layer, prefill 128, 2t\",\"metric\":\"time\","
			       "\"unit\":\"ms\",\"value\":%.3f,\"ok\":true,\"min\":%.3f,\"max\":%.3f,\"reps\":%d,"
			       "\"skipped_baseline\":\"PyTorch (python3-torch) is not installed\"}\n",
			       m, lo * 1e3, hi * 1e3, REPS);
		else
			printf("{\"bench\":\"graph.layer\",\"case\":\"small-110m layer, prefill 128, 2t\",\"metric\":\"time\","
			       "\"unit\":\"ms\",\"value\":%.3f,\"baseline\":\"pytorch eager\",\"baseline_value\":%.3f,"
			       "\"ratio\":%.3f,\"better\":\"lower\",\"ok\":%s,\"min\":%.3f,\"max\":%.3f,\"reps\":%d,"
			       "\"speedup\":%.2f,\"sum\":%.6e,\"baseline_sum\":%.6e,\"peer_config\":\"%s\"}\n",
			       m, tmed, m / tmed, ok ? "true" : "false", lo * 1e3, hi * 1e3, REPS, tmed / m, sum, tsum, peer);
	}
	strata_program_destroy(p);
	strata_graph_destroy(g);
	free(xd), free(od), free(posf), free(pd);
}

/* --- graph.compile --------------------------------------------------------- */

/* In a fresh process: build the forward graph, compile it with the cache
 * in @dir, run one token; print the milliseconds from compile to result. */
static int compile_child(const char *dir)
{
	STRATA_GRAPH_OPTS(gopts, .max_seq = 1024);
	STRATA_COMPILE_OPTS(opts, .cache_dir = dir);
	struct llama_weights w;
	struct strata_graph *g;
	struct strata_program *p;
	uint32_t tok, pos, logits;
	int32_t t = 1, z = 0;
	float *out = malloc((size_t)llama_small_110m.vocab * 4);
	double t0, t1, t2;

	if (llama_weights_make(&llama_small_110m, &w))
		return 1;
	strata_graph_create(rt, &gopts, &g);
	llama_forward(g, &llama_small_110m, &w, llama_small_110m.layers, &tok, &pos, &logits);
	t0 = bench_now();
	if (strata_graph_compile(g, &opts, &p))
		return 1;
	t1 = bench_now();
	struct strata_graph_tensor in[2] = { { tok, &t, 4 }, { pos, &z, 4 } }, o = { logits, out, (size_t)llama_small_110m.vocab * 4 };
	if (strata_program_run(p, 1, in, 2, &o, 1))
		return 1;
	t2 = bench_now();
	/* A second run: what the forward pass costs once everything is warm. */
	if (strata_program_run(p, 1, in, 2, &o, 1))
		return 1;
	printf("%.3f %u %u %.3f %.3f %.3f\n", (t2 - t0) * 1e3, info_of(p).objects, info_of(p).compiled, (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3, (bench_now() - t2) * 1e3);
	return 0;
}

/* Run the child; its total and the compile, first run and second run. */
static double child_ms(const char *self, const char *dir, unsigned *objects, unsigned *compiled, double part[3])
{
	char cmd[8192], line[256];
	double ms = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' --compile-child '%s'", self, dir);
	f = popen(cmd, "r");
	if (f && fgets(line, sizeof(line), f) &&
	    sscanf(line, "%lf %u %u %lf %lf %lf", &ms, objects, compiled, &part[0], &part[1], &part[2]) != 6)
		ms = -1;
	if (f)
		pclose(f);
	return ms;
}

static void bench_compile(const char *self)
{
	double cold[5], warm[5], lo, hi, part[3][5], tmp[3];
	unsigned objects = 0, compiled = 0, wc = 0;
	char dir[] = "/tmp/strata-bench-kernels-XXXXXX", cmd[128];
	bool ok = true;

	for (int r = 0; r < 5; r++) {
		if (!mkdtemp(dir))
			return;
		cold[r] = child_ms(self, dir, &objects, &compiled, tmp);
		warm[r] = child_ms(self, dir, &objects, &wc, tmp);
		for (int i = 0; i < 3; i++)
			part[i][r] = tmp[i];
		ok = ok && cold[r] > 0 && warm[r] > 0 && wc == 0;
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			ok = false;
		memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	}
	all_ok = all_ok && ok;
	double c = median_of(cold, 5, &lo, &hi), clo = lo, chi = hi, wm = median_of(warm, 5, &lo, &hi);

	printf("{\"bench\":\"graph.compile\",\"case\":\"small-110m forward, warm cache, fresh process\","
	       "\"metric\":\"time_to_first_result\",\"unit\":\"ms\",\"value\":%.2f,\"baseline\":\"cold cache\","
	       "\"baseline_value\":%.1f,\"ratio\":%.4f,\"better\":\"lower\",\"ok\":%s,\"min\":%.2f,\"max\":%.2f,"
	       "\"reps\":5,\"objects\":%u,\"cold_min\":%.1f,\"cold_max\":%.1f,\"warm_compile_ms\":%.2f,"
	       "\"first_run_ms\":%.2f,\"second_run_ms\":%.2f}\n",
	       wm, c, wm / c, ok ? "true" : "false", lo, hi, objects, clo, chi, bench_median(part[0], 5),
	       bench_median(part[1], 5), bench_median(part[2], 5));
	(void)compiled;
}

static bool wants(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct llama_weights w;
	struct utsname u;
	const size_t tn = (size_t)1 << 26;
	float *a, *b, *c;
	double tri[REPS], lo, hi, triad1, triad2;
	char blas[256];

	/* Before any thread: OpenBLAS's detection runs in a forked child. */
	if (!(argc == 3 && !strcmp(argv[1], "--compile-child")))
		load_openblas();
	if (strata_rt_create(&opts, &rt))
		return 1;
	if (argc == 3 && !strcmp(argv[1], "--compile-child"))
		return compile_child(argv[2]);
	uname(&u);
	openblas_fields(blas, sizeof(blas));
	printf("{\"bench\":\"graph\",\"cpu\":\"%s\",\"cores\":%d,\"kernel\":\"%s\",%s}\n",
	       strata_topo_cpu_model(strata_rt_topo(rt)), strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_CORES),
	       u.release, blas);
	fflush(stdout);
	a = malloc(tn * 4), b = malloc(tn * 4), c = malloc(tn * 4);
	for (size_t i = 0; i < tn; i++)
		b[i] = c[i] = 1.0f, a[i] = 0;
	for (int r = 0; r < REPS; r++)
		tri[r] = triad(a, b, c, tn, 1);
	triad1 = median_of(tri, REPS, &lo, &hi);
	for (int r = 0; r < REPS; r++)
		tri[r] = triad(a, b, c, tn, 2);
	triad2 = median_of(tri, REPS, &lo, &hi);
	free(a), free(b), free(c);
	fprintf(stderr, "triad: %.1f GB/s on 1 thread, %.1f on 2\n", triad1 / 1e9, triad2 / 1e9);

	/* bench_graph [fused|gemv|gemm|plan|compile ...]: those only. */
#define WANT(name) (argc < 2 || wants(argc, argv, name))
	if (WANT("fused")) {
		bench_fused(2, false);
		bench_fused(2, true);
	}
	fflush(stdout);
	if (WANT("gemv")) {
		bench_gemv(triad1, 1);
		bench_gemv(triad2, 2);
	}
	fflush(stdout);
	if (WANT("gemm"))
		bench_gemm(argv[0]);
	fflush(stdout);
	if ((WANT("plan") || WANT("layer")) && llama_weights_make(&llama_small_110m, &w) == 0) {
		if (WANT("layer"))
			bench_layer(&w, argv[0]);
		fflush(stdout);
		if (WANT("plan"))
			bench_plan(&w);
		llama_weights_free(&w);
	}
	fflush(stdout);
	if (WANT("compile"))
		bench_compile(argv[0]);
	strata_rt_destroy(rt);
	return all_ok ? 0 : 1;
}
