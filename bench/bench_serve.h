/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_serve.h — what bench_serve.c and bench_serve_llama.c share:
 * the runtime, the build folder, the prompt, and opening and timing a
 * model through the example's engine.
 */
#ifndef STRATA_BENCH_SERVE_H
#define STRATA_BENCH_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include <strata/strata.h>

#include "llm.h"

#define REPS 5

extern struct strata_rt *rt;
extern const char *build; /* the build folder: strata, generated models (STRATA_BUILD) */
extern int failed; /* a wrong result or a crashed peer: exit non-zero */
extern const char PROMPT[];

/* @path opened on @threads with a KV cache of @ctx, weights loaded;
 * @int8: STRATA_COMPILE_INT8_ACTIVATIONS.  Exits on failure. */
struct llm_model *open_model_as(const char *path, unsigned threads, uint32_t ctx, bool int8);
struct llm_model *open_model(const char *path, unsigned threads, uint32_t ctx);

/* One repetition on @m: @n prompt tokens from scratch, then @steps greedy
 * steps; tokens/s of each phase, the greedy tokens into @out and, with
 * @all, the logits each token was chosen from into @all [steps][vocab]. */
void measure_once(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, float *logits, double *prefill,
		  double *decode, int32_t *out, float *all);
/* Median prefill and decode tokens/s of @m over REPS (measure_once()). */
void measure(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, double *prefill, double *decode,
	     int32_t *out);

/* SmolLM2's GGUF into @path (tools/fetch-model.sh's), or a skipped line for
 * @bench and false (bench_serve_llama.c). */
bool real_model(const char *bench, char *path, size_t len);
void bench_real(void);
void bench_pp(void);

#endif /* STRATA_BENCH_SERVE_H */
