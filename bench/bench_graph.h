/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_graph.h — what the parts of bench_graph share: the runtime,
 * the verdict, and the helpers that compile, run and time programs
 * (bench_graph.c), and the sections kept in files of their own.
 */
#ifndef STRATA_BENCH_GRAPH_H
#define STRATA_BENCH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/strata.h>

#define REPS 7

extern struct strata_rt *rt;
extern bool all_ok; /* false once a result disagreed with its reference */

/* The median of @n values; the extremes in *@lo and *@hi. */
double median_of(double *v, int n, double *lo, double *hi);
/* @g compiled for @threads with STRATA_COMPILE_* @flags (exits on failure). */
struct strata_program *compile(struct strata_graph *g, unsigned threads, unsigned flags);
struct strata_program_info info_of(struct strata_program *p);
/* Run @p (exits on failure). */
void run_or_die(struct strata_program *p, uint32_t seq, const struct strata_graph_tensor *in, unsigned nin,
		const struct strata_graph_tensor *out, unsigned nout);
/* a = b + 3c over @n floats on @threads threads: bytes moved / s. */
double triad(float *a, const float *b, const float *c, size_t n, int threads);

/* The source tree of the binary @self (bench/'s scripts sit there). */
void source_dir(const char *self, char *dir, size_t len);

/* graph.fused (bench_graph_fused.c). */
void bench_fused(unsigned threads, bool heavy);

/* graph.gemv and graph.gemm (bench_graph_gemm.c).  load_openblas() before
 * any thread (its detection runs in a forked child); openblas_fields()
 * the header's JSON fields on the kernel it picked. */
void load_openblas(void);
void openblas_fields(char *out, size_t len);
void bench_gemv(double triad_bw, unsigned threads);
void bench_gemm(const char *self);

#endif /* STRATA_BENCH_GRAPH_H */
