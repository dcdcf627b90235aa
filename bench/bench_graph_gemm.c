/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_graph_gemm.c — graph.gemv and graph.gemm: strata's matmuls
 * against OpenBLAS on its own kernels (loaded with dlopen from
 * libopenblas.so.0; without it those baselines say "skipped"), the triad,
 * and for bf16 weights PyTorch's bf16 linear (bench/torch_gemm.py).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_graph.h"
#include "bench_util.h"
#include "llama_graph.h"

/* --- OpenBLAS, when it is there ------------------------------------------ */

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
static void (*blas_sgemm)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
			  int);
static void (*blas_sgemv)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
static void (*blas_threads)(int);
static char *(*blas_corename)(void);

/* The core type OpenBLAS's own detection picks on this machine ("" when
 * it is not there): found in a child, so that this process can still set
 * OPENBLAS_CORETYPE, which OpenBLAS reads once, when it is loaded. */
static void openblas_detected(char *out, size_t len)
{
	int fd[2];
	pid_t pid;
	ssize_t n;

	out[0] = '\0';
	if (pipe(fd))
		return;
	pid = fork();
	if (pid == 0) {
		void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
		char *(*name)(void) = NULL;

		if (h)
			*(void **)&name = dlsym(h, "openblas_get_corename");
		if (name && write(fd[1], name(), strlen(name())) < 0)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	n = pid > 0 ? read(fd[0], out, len - 1) : -1;
	out[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Whether @core is one of OpenBLAS's kernels older than AVX2 (what its
 * detection falls back to where a VM hides the CPU model). */
static bool weak_core(const char *core)
{
	static const char *const weak[] = { "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
					    "Coppermine", "Northwood", "Banias", "Opteron", "Opteron_SSE3", "Barcelona",
					    "Bobcat", "Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator" };

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (!strcasecmp(core, weak[i]))
			return true;
	return false;
}

/* What OpenBLAS detected, and the core type forced in its place ("" when
 * none was): a peer below its own capability is never a baseline. */
static char blas_detected[64], blas_forced[64];

void load_openblas(void)
{
	void *h;

	openblas_detected(blas_detected, sizeof(blas_detected));
	if (weak_core(blas_detected) && !getenv("OPENBLAS_CORETYPE")) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
			snprintf(blas_forced, sizeof(blas_forced), "SkylakeX");
		else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
			snprintf(blas_forced, sizeof(blas_forced), "Haswell");
		if (blas_forced[0])
			setenv("OPENBLAS_CORETYPE", blas_forced, 1); /* this process only */
	}
	h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	*(void **)&blas_sgemm = dlsym(h, "cblas_sgemm");
	*(void **)&blas_sgemv = dlsym(h, "cblas_sgemv");
	*(void **)&blas_threads = dlsym(h, "openblas_set_num_threads");
	*(void **)&blas_corename = dlsym(h, "openblas_get_corename");
	if (!blas_sgemm || !blas_sgemv || !blas_threads)
		blas_sgemm = NULL;
}

void openblas_fields(char *out, size_t len)
{
	snprintf(out, len, "\"openblas\":\"%s\",\"openblas_detected\":\"%s\",\"openblas_forced\":%s%s%s",
		 blas_sgemm ? (blas_corename ? blas_corename() : "yes") : "not installed", blas_detected,
		 blas_forced[0] ? "\"" : "", blas_forced[0] ? blas_forced : "null", blas_forced[0] ? "\"" : "");
}

static uint16_t to_half(float f)
{
	uint32_t b, e, m;

	memcpy(&b, &f, 4);
	e = (b >> 23) & 0xff;
	m = b & 0x7fffff;
	if (e < 113)
		return (uint16_t)((b >> 16) & 0x8000); /* tiny: zero */
	return (uint16_t)(((b >> 16) & 0x8000) | ((e - 112) << 10) | ((m + 0x1000) >> 13));
}

/* @w [rows, cols] as Q4_1 blocks (ggml's layout). */
static uint8_t *quantize_q4_1(const float *w, size_t count)
{
	uint8_t *out = malloc(count / 32 * 20);

	for (size_t b = 0; b < count / 32; b++) {
		const float *x = w + b * 32;
		float lo = x[0], hi = x[0], d;
		uint8_t *blk = out + b * 20;
		uint16_t hd, hm;

		for (int j = 1; j < 32; j++) {
			lo = x[j] < lo ? x[j] : lo;
			hi = x[j] > hi ? x[j] : hi;
		}
		d = (hi - lo) / 15.0f;
		hd = to_half(d);
		hm = to_half(lo);
		memcpy(blk, &hd, 2);
		memcpy(blk + 2, &hm, 2);
		for (int j = 0; j < 16; j++) {
			int q0 = d > 0 ? (int)lrintf((x[j] - lo) / d) : 0, q1 = d > 0 ? (int)lrintf((x[j + 16] - lo) / d) : 0;

			q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
			q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
			blk[4 + j] = (uint8_t)(q0 | q1 << 4);
		}
	}
	return out;
}

/* --- graph.gemv and graph.gemm ----------------------------------------------- */

/* Time one program run of a [M, K] × w [N, K]ᵀ in @type; check it against
 * the reference; the median seconds. */
static double time_matmul(int64_t M, int64_t K, int64_t N, enum strata_dtype type, const void *wdata,
			  const float *a, unsigned threads, unsigned flags, int inner, double *err_out, float *out)
{
	const int64_t as[] = { M, K }, ws[] = { N, K };
	struct strata_graph *g;
	struct strata_program *p;
	uint32_t an, wn, y;
	double t[REPS], lo, hi;
	float *ref = malloc((size_t)(M * N) * 4);
	struct strata_graph_tensor in, o, ro;

	strata_graph_create(rt, NULL, &g);
	strata_graph_input(g, "a", STRATA_DTYPE_F32, 2, as, &an);
	strata_graph_weight(g, "w", type, 2, ws, wdata, &wn);
	strata_graph_matmul(g, an, wn, STRATA_MATMUL_TRANS_B, &y);
	strata_graph_output(g, y);
	p = compile(g, threads, flags);
	in = (struct strata_graph_tensor){ an, (void *)(uintptr_t)a, (size_t)(M * K) * 4 };
	o = (struct strata_graph_tensor){ y, out, (size_t)(M * N) * 4 };
	ro = (struct strata_graph_tensor){ y, ref, (size_t)(M * N) * 4 };
	run_or_die(p, 1, &in, 1, &o, 1);
	for (int r = 0; r < REPS; r++) {
		double t0 = bench_now();

		for (int i = 0; i < inner; i++)
			run_or_die(p, 1, &in, 1, &o, 1);
		t[r] = (bench_now() - t0) / inner;
	}
	*err_out = 0;
	if (M * N * K <= (int64_t)1 << 31 && strata_graph_eval_reference(g, 1, &in, 1, &ro, 1) == 0) {
		double scale = 1e-30;

		for (int64_t i = 0; i < M * N; i++)
			scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
		for (int64_t i = 0; i < M * N; i++) {
			double e = fabs(out[i] - ref[i]) / scale;

			*err_out = e > *err_out ? e : *err_out;
		}
	}
	strata_program_destroy(p);
	strata_graph_destroy(g);
	free(ref);
	return median_of(t, REPS, &lo, &hi);
}

static double time_blas(int64_t M, int64_t K, int64_t N, const float *w, const float *a, float *c, int threads,
			int inner)
{
	double t[REPS], lo, hi;

	blas_threads(threads);
	for (int r = -1; r < REPS; r++) {
		double t0 = bench_now();

		for (int i = 0; i < inner; i++) {
			if (M == 1)
				blas_sgemv(ROW_MAJOR, NO_TRANS, (int)N, (int)K, 1.0f, w, (int)K, a, 1, 0.0f, c, 1);
			else
				blas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)M, (int)N, (int)K, 1.0f, a, (int)K, w, (int)K,
					   0.0f, c, (int)N);
		}
		if (r >= 0)
			t[r] = (bench_now() - t0) / inner;
	}
	/* OpenBLAS's threads spin for a while after a call (its
	 * THREAD_TIMEOUT): let them sleep before anything else is timed. */
	usleep(200000);
	return median_of(t, REPS, &lo, &hi);
}

void bench_gemv(double triad_bw, unsigned threads)
{
	static const int64_t shapes[][2] = { { 768, 768 }, { 768, 2048 }, { 2048, 768 }, { 768, 32000 } };
	static const enum strata_dtype types[] = { STRATA_DTYPE_F32, STRATA_DTYPE_F16, STRATA_DTYPE_Q4_1 };

	for (unsigned s = 0; s < 4; s++) {
		int64_t K = shapes[s][0], N = shapes[s][1];
		size_t count = (size_t)(K * N);
		float *w = malloc(count * 4), *a = malloc((size_t)K * 4), *out = malloc((size_t)N * 4);
		uint16_t *h = malloc(count * 2);
		uint8_t *q;
		uint64_t seed = 7;

		for (size_t i = 0; i < count; i++)
			w[i] = llama_rand(&seed);
		for (int64_t i = 0; i < K; i++)
			a[i] = llama_rand(&seed);
		for (size_t i = 0; i < count; i++)
			h[i] = to_half(w[i]);
		q = quantize_q4_1(w, count);
		for (unsigned ti = 0; ti < 3; ti++) {
			const void *data = ti == 0 ? (const void *)w : ti == 1 ? (const void *)h : (const void *)q;
			double wbytes = ti == 0 ? (double)count * 4 : ti == 1 ? (double)count * 2 : (double)count / 32 * 20;
			int inner = (int)(2e8 / wbytes) + 1;
			double err, sec = time_matmul(1, K, N, types[ti], data, a, threads, 0, inner, &err, out);
			double bw = wbytes / sec;
			bool ok = err < (ti == 1 ? 1e-3 : 1e-5);
			struct strata_dtype_info info;

			all_ok = all_ok && ok;
			strata_dtype_info(types[ti], &info);
			printf("{\"bench\":\"graph.gemv\",\"case\":\"1x%lldx%lld %s %ut\",\"metric\":\"weight_bandwidth\","
			       "\"unit\":\"GB/s\",\"value\":%.2f,\"baseline\":\"triad\",\"baseline_value\":%.2f,\"ratio\":%.3f,"
			       "\"better\":\"higher\",\"ok\":%s,\"reps\":%d,\"us\":%.2f,\"max_rel_error\":%.2g}\n",
			       (long long)K, (long long)N, info.name, threads, bw / 1e9, triad_bw / 1e9, bw / triad_bw,
			       ok ? "true" : "false", REPS, sec * 1e6, err);
			if (ti == 0 && blas_sgemm) {
				float *c = malloc((size_t)N * 4);
				double bsec = time_blas(1, K, N, w, a, c, (int)threads, inner);

				printf("{\"bench\":\"graph.gemv\",\"case\":\"1x%lldx%lld f32 %ut\",\"metric\":\"time\","
				       "\"unit\":\"us\",\"value\":%.2f,\"baseline\":\"openblas sgemv\",\"baseline_value\":%.2f,"
				       "\"ratio\":%.3f,\"better\":\"lower\",\"ok\":%s,\"reps\":%d}\n",
				       (long long)K, (long long)N, threads, sec * 1e6, bsec * 1e6, sec / bsec,
				       ok ? "true" : "false", REPS);
				free(c);
			}
		}
		free(w), free(a), free(out), free(h), free(q);
	}
}

/* Seconds of PyTorch's bf16 linear on [M, K] × [N, K]ᵀ on @threads
 * (bench/torch_gemm.py), its configuration in @peer; < 0 where PyTorch
 * did not run. */
static double torch_bf16_linear(const char *self, int64_t M, int64_t K, int64_t N, unsigned threads, char *peer,
				size_t len)
{
	char dir[4096], cmd[8192], line[256];
	double med = -1, lo, hi;
	FILE *f;

	source_dir(self, dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd),
		 "OMP_NUM_THREADS=%u /usr/bin/python3 '%s/bench/torch_gemm.py' %lld %lld %lld %u %d 2>/dev/null", threads, dir,
		 (long long)M, (long long)K, (long long)N, threads, REPS);
	f = popen(cmd, "r");
	if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "%lf %lf %lf", &med, &lo, &hi) != 3)
		med = -1;
	bench_peer_config(f, peer, len);
	if (f)
		pclose(f);
	return med;
}

/*
 * One shape on 1 and 2 threads, weights stored as @type (f32 or bf16)
 * against OpenBLAS sgemm on the same values in f32.  bf16 runs twice: a
 * in f32, and rounded to bf16 for AVX512_BF16's dot products
 * (STRATA_COMPILE_BF16_ACTIVATIONS), the one whose goal is 3x sgemm
 * (issue 17; its error is a's rounding, up to 2^-8 a value), and which
 * meets PyTorch's bf16 linear (oneDNN), the peer at its best on a bf16
 * weight.
 */
static void gemm_case(const char *self, int64_t M, int64_t K, int64_t N, enum strata_dtype type)
{
	const bool bf16 = type == STRATA_DTYPE_BF16;
	float *w = malloc((size_t)(N * K) * 4), *a = malloc((size_t)(M * K) * 4), *c = malloc((size_t)(M * N) * 4);
	uint16_t *h = bf16 ? malloc((size_t)(N * K) * 2) : NULL;
	uint64_t seed = bf16 ? 13 : 11;
	double flops = 2.0 * (double)M * (double)N * (double)K;
	int inner = (int)(1e9 / flops) + 1;

	for (int64_t i = 0; i < N * K; i++) {
		w[i] = llama_rand(&seed);
		if (bf16) { /* bf16 is the top half; OpenBLAS gets the same values */
			uint32_t b;

			memcpy(&b, &w[i], 4);
			h[i] = (uint16_t)(b >> 16);
			b = (uint32_t)h[i] << 16;
			memcpy(&w[i], &b, 4);
		}
	}
	for (int64_t i = 0; i < M * K; i++)
		a[i] = llama_rand(&seed);
	for (unsigned threads = 1; threads <= 2; threads++) {
		double err[2], sec[2], bsec;

		/* strata first, OpenBLAS after (it leaves its threads spinning
		 * for a while: a 2-thread run just after it ran at half speed). */
		for (unsigned dots = 0; dots <= (bf16 ? 1u : 0u); dots++)
			sec[dots] = time_matmul(M, K, N, type, bf16 ? (const void *)h : w, a, threads,
						dots ? STRATA_COMPILE_BF16_ACTIVATIONS : 0, inner, &err[dots], c);
		bsec = blas_sgemm ? time_blas(M, K, N, w, a, c, (int)threads, inner) : 0;
		for (unsigned dots = 0; dots <= (bf16 ? 1u : 0u); dots++) {
			bool ok = err[dots] < (dots ? 1e-2 : 1e-5);
			char name[96];

			snprintf(name, sizeof(name), "%lldx%lldx%lld%s %ut", (long long)M, (long long)K, (long long)N,
				 !bf16 ? "" : dots ? " bf16 a-bf16" : " bf16", threads);
			all_ok = all_ok && ok;
			if (blas_sgemm)
				printf("{\"bench\":\"graph.gemm\",\"case\":\"%s\",\"metric\":\"throughput\","
				       "\"unit\":\"GFLOP/s\",\"value\":%.2f,\"baseline\":\"openblas sgemm%s\","
				       "\"baseline_value\":%.2f,\"ratio\":%.3f,\"better\":\"higher\",%s\"ok\":%s,\"reps\":%d,"
				       "\"max_rel_error\":%.2g}\n",
				       name, flops / sec[dots] / 1e9, bf16 ? " (f32)" : "", flops / bsec / 1e9, bsec / sec[dots],
				       bf16 ? "\"goal\":3.0," : "", ok ? "true" : "false", REPS, err[dots]);
			else
				printf("{\"bench\":\"graph.gemm\",\"case\":\"%s\",\"metric\":\"throughput\","
				       "\"unit\":\"GFLOP/s\",\"value\":%.2f,\"ok\":%s,\"skipped_baseline\":\"no libopenblas.so.0\"}\n",
				       name, flops / sec[dots] / 1e9, ok ? "true" : "false");
			if (dots) {
				char peer[512];
				double tsec = torch_bf16_linear(self, M, K, N, threads, peer, sizeof(peer));

				if (tsec > 0)
					printf("{\"bench\":\"graph.gemm\",\"case\":\"%s vs torch\",\"metric\":\"throughput\","
					       "\"unit\":\"GFLOP/s\",\"value\":%.2f,\"baseline\":\"pytorch bf16 linear\","
					       "\"baseline_value\":%.2f,\"ratio\":%.3f,\"better\":\"higher\",\"ok\":%s,\"reps\":%d,"
					       "\"peer_config\":\"%s\"}\n",
					       name, flops / sec[dots] / 1e9, flops / tsec / 1e9, tsec / sec[dots], ok ? "true" : "false", REPS, peer);
				else
					printf("{\"bench\":\"graph.gemm\",\"case\":\"%s vs torch\",\"metric\":\"throughput\","
					       "\"unit\":\"GFLOP/s\",\"value\":%.2f,\"ok\":%s,"
					       "\"skipped_baseline\":\"PyTorch (python3-torch) did not run bench/torch_gemm.py\"}\n",
					       name, flops / sec[dots] / 1e9, ok ? "true" : "false");
			}
		}
	}
	free(w), free(a), free(c), free(h);
}

void bench_gemm(const char *self)
{
	/* Batched decode (M 2 … 16), prefill (M 32 … 2048) on small-110m's
	 * and SmolLM2's layer widths, then squares; bf16 weights on three
	 * prefill shapes. */
	static const int64_t shapes[][3] = {
		{ 2, 768, 2048 },     { 8, 768, 2048 },	    { 16, 576, 1536 },	 { 32, 768, 2048 },
		{ 64, 576, 1536 },    { 128, 576, 1536 },   { 256, 768, 768 },	 { 256, 768, 2048 },
		{ 2048, 768, 2048 },  { 64, 64, 64 },	    { 128, 128, 128 },	 { 256, 256, 256 },
		{ 512, 512, 512 },    { 1024, 1024, 1024 }, { 2048, 2048, 2048 },
	};
	static const int64_t bf16_shapes[][3] = { { 32, 768, 2048 }, { 256, 768, 2048 }, { 2048, 768, 2048 } };

	for (unsigned s = 0; s < (unsigned)(sizeof(shapes) / sizeof(shapes[0])); s++)
		gemm_case(self, shapes[s][0], shapes[s][1], shapes[s][2], STRATA_DTYPE_F32);
	for (unsigned s = 0; s < (unsigned)(sizeof(bf16_shapes) / sizeof(bf16_shapes[0])); s++)
		gemm_case(self, bf16_shapes[s][0], bf16_shapes[s][1], bf16_shapes[s][2], STRATA_DTYPE_BF16);
}
