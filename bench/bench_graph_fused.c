/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_graph_fused.c — graph.fused: element-wise chains of eight
 * ops over four inputs of 2^26 f32, fused and unfused, against a STREAM
 * triad in the same run (bench_graph.h).
 *
 * The unfused/fused time is set against the ratio the compiler predicts
 * from the bytes each program's kernels bring in from memory
 * (strata_program_info's fill_bytes: arguments, and reads for ownership);
 * the ratio of all bytes moved, writes included, is printed beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_graph.h"
#include "bench_util.h"

/* --- graph.fused ----------------------------------------------------------- */

#define FUSED_ROWS 16384
#define FUSED_COLS 4096

/*
 * Two chains of eight ops over four inputs.  The light one does a few
 * cheap operations per element, so that memory bounds it, fused or not:
 * it is the case the goals are checked on.  The heavy one adds sqrt, a
 * division and tanh, which cost this CPU about as much time as the memory
 * traffic: it shows how far a bytes model carries when arithmetic weighs
 * in, and carries no goal.
 */
static uint32_t fused_chain(struct strata_graph *g, const uint32_t *x, bool heavy)
{
	uint32_t t;

	strata_graph_binary(g, STRATA_OP_MUL, x[0], x[1], &t);
	strata_graph_binary(g, STRATA_OP_ADD, t, x[2], &t);
	strata_graph_unary(g, heavy ? STRATA_OP_SQRT : STRATA_OP_NEG, t, &t);
	strata_graph_binary(g, STRATA_OP_SUB, t, x[3], &t);
	strata_graph_binary(g, STRATA_OP_MUL, t, t, &t);
	strata_graph_binary(g, heavy ? STRATA_OP_DIV : STRATA_OP_MUL, t, x[0], &t);
	strata_graph_binary(g, STRATA_OP_MAX, t, x[1], &t);
	if (heavy)
		strata_graph_unary(g, STRATA_OP_TANH, t, &t);
	else
		strata_graph_binary(g, STRATA_OP_ADD, t, x[2], &t);
	return t;
}

static float fused_expect(const float *const *in, size_t i, bool heavy)
{
	float t = in[0][i] * in[1][i] + in[2][i];

	t = (heavy ? sqrtf(t) : -t) - in[3][i];
	t = heavy ? t * t / in[0][i] : t * t * in[0][i];
	t = t > in[1][i] ? t : in[1][i];
	return heavy ? tanhf(t) : t + in[2][i];
}

/* The chain over @rows rows in *@g, fused and not: *@fused, *@unfused. */
static void fused_programs(int64_t rows, bool heavy, unsigned threads, struct strata_graph **gp,
			   struct strata_program **fused, struct strata_program **unfused, uint32_t *x, uint32_t *out)
{
	const int64_t shape[] = { rows, FUSED_COLS };
	struct strata_graph *g;
	strata_graph_create(rt, NULL, &g);
	for (int i = 0; i < 4; i++)
		strata_graph_input(g, "in", STRATA_DTYPE_F32, 2, shape, &x[i]);
	*out = fused_chain(g, x, heavy);
	strata_graph_output(g, *out);
	*fused = compile(g, threads, 0);
	if (unfused)
		*unfused = compile(g, threads, STRATA_COMPILE_NO_FUSION);
	*gp = g;
}

/* Elements per second of @p over @rows rows, the best of REPS runs. */
static double element_rate(struct strata_program *p, const uint32_t *x, uint32_t y, float *const *d, float *o,
			   int64_t rows, int inner)
{
	const size_t n = (size_t)rows * FUSED_COLS;
	struct strata_graph_tensor in[4], out = { y, o, n * 4 };
	double best = 1e30;

	for (int i = 0; i < 4; i++)
		in[i] = (struct strata_graph_tensor){ x[i], d[i], n * 4 };
	run_or_die(p, 1, in, 4, &out, 1);
	for (int r = 0; r < REPS; r++) {
		double t0 = bench_now(), t;

		for (int i = 0; i < inner; i++)
			run_or_die(p, 1, in, 4, &out, 1);
		t = (bench_now() - t0) / inner;
		best = t < best ? t : best;
	}
	return (double)n / best;
}

void bench_fused(unsigned threads, bool heavy)
{
	const size_t n = (size_t)FUSED_ROWS * FUSED_COLS;
	struct strata_program *fused, *unfused, *small;
	struct strata_graph *g, *gs;
	struct strata_graph_tensor in[4], out;
	float *d[4], *o = malloc(n * 4), *t1 = malloc(n * 4), *t2 = malloc(n * 4), *t3 = malloc(n * 4);
	double tri[REPS], tf[REPS], tu[REPS], lo, hi, err = 0, in_cache, from_memory;
	uint32_t x[4], t, xs[4], ts;
	uint64_t bytes_f, bytes_u, fills_f, fills_u;
	int r;

	for (int i = 0; i < 4; i++) {
		d[i] = malloc(n * 4);
		for (size_t j = 0; j < n; j++)
			d[i][j] = 0.5f + (float)((j * (2654435761u + i)) % 1000) / 1000.0f;
	}
	fused_programs(FUSED_ROWS, heavy, threads, &g, &fused, &unfused, x, &t);
	/* The same kernel over 16 rows (1.3 MB, in cache): its arithmetic alone. */
	fused_programs(16, heavy, threads, &gs, &small, NULL, xs, &ts);
	bytes_f = info_of(fused).bytes_moved;
	bytes_u = info_of(unfused).bytes_moved;
	fills_f = info_of(fused).fill_bytes;
	fills_u = info_of(unfused).fill_bytes;
	for (int i = 0; i < 4; i++)
		in[i] = (struct strata_graph_tensor){ x[i], d[i], n * 4 };
	out = (struct strata_graph_tensor){ t, o, n * 4 };
	/* Warm up: every page touched, every kernel loaded. */
	triad(t1, t2, t3, n, (int)threads);
	run_or_die(fused, 1, in, 4, &out, 1);
	run_or_die(unfused, 1, in, 4, &out, 1);
	for (r = 0; r < REPS; r++) {
		double t0;

		tri[r] = triad(t1, d[0], d[1], n, (int)threads);
		t0 = bench_now();
		run_or_die(fused, 1, in, 4, &out, 1);
		tf[r] = bench_now() - t0;
		t0 = bench_now();
		run_or_die(unfused, 1, in, 4, &out, 1);
		tu[r] = bench_now() - t0;
	}
	for (size_t j = 0; j < n; j += 4099) {
		double e = fabs(o[j] - fused_expect((const float *const *)d, j, heavy));

		err = e > err ? e : err;
	}
	run_or_die(fused, 1, in, 4, &out, 1);
	for (size_t j = 0; j < n; j += 4099) {
		double e = fabs(o[j] - fused_expect((const float *const *)d, j, heavy)) / fmax(1.0, fabs(o[j]));

		err = e > err ? e : err;
	}
	in_cache = element_rate(small, xs, ts, d, o, 16, 200);
	from_memory = element_rate(fused, x, t, d, o, FUSED_ROWS, 1);
	{
		double tri_bw = median_of(tri, REPS, &lo, &hi), f = median_of(tf, REPS, &lo, &hi), flo = lo, fhi = hi;
		double u = median_of(tu, REPS, &lo, &hi), bw = (double)bytes_f / f;
		const char *chain = heavy ? "heavy chain (sqrt, div, tanh)" : "light chain";
		bool ok = err < 1e-5;

		all_ok = all_ok && ok;
		printf("{\"bench\":\"graph.fused\",\"case\":\"%s, 4 inputs, 2^26 f32, %ut\",\"metric\":\"bandwidth\","
		       "\"unit\":\"GB/s\",\"value\":%.2f,\"baseline\":\"triad\",\"baseline_value\":%.2f,\"ratio\":%.3f,"
		       "\"better\":\"higher\",\"ok\":%s,\"min\":%.2f,\"max\":%.2f,\"reps\":%d,\"kernels\":%u,"
		       "\"max_error\":%.2g,\"in_cache_gelem_s\":%.3f,\"from_memory_gelem_s\":%.3f}\n",
		       chain, threads, bw / 1e9, tri_bw / 1e9, bw / tri_bw, ok ? "true" : "false",
		       (double)bytes_f / fhi / 1e9, (double)bytes_f / flo / 1e9, REPS, info_of(fused).kernels, err,
		       in_cache / 1e9, from_memory / 1e9);
		printf("{\"bench\":\"graph.fused\",\"case\":\"%s, unfused/fused time, %ut\",\"metric\":\"time_ratio\","
		       "\"unit\":\"x\",\"value\":%.3f,\"baseline\":\"predicted bytes ratio (bytes brought in)\","
		       "\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"closer to 1\",\"goal\":%s,"
		       "\"ok\":%s,\"reps\":%d,\"kernels_unfused\":%u,\"unfused_s\":%.4f,\"fused_s\":%.4f,"
		       "\"moved_ratio\":%.3f}\n",
		       chain, threads, u / f, (double)fills_u / (double)fills_f,
		       (u / f) / ((double)fills_u / (double)fills_f),
		       heavy ? "\"none: arithmetic weighs in (see in_cache_gelem_s)\"" : "\"0.85 to 1.15\"", ok ? "true" : "false", REPS,
		       info_of(unfused).kernels, u, f, (double)bytes_u / (double)bytes_f);
	}
	strata_program_destroy(fused);
	strata_program_destroy(unfused);
	strata_program_destroy(small);
	strata_graph_destroy(g);
	strata_graph_destroy(gs);
	for (int i = 0; i < 4; i++)
		free(d[i]);
	free(o), free(t1), free(t2), free(t3);
}
