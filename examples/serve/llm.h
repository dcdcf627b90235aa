/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/llm.h — the serving example's engine: a Llama-architecture
 * model streamed from disk and compiled with strata, its tokenizer, chat
 * templates and sampling.  Only the public strata headers are used, the
 * way any program linking the library would.
 *
 * Functions return 0 or a negative errno; where a message helps, it is
 * written into the caller's buffer.
 */
#ifndef STRATA_SERVE_LLM_H
#define STRATA_SERVE_LLM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/strata.h>

/* ---- the model (model.c, forward.c) ------------------------------------- */

struct llm_hparams {
	int64_t dim, hidden, layers, heads, kv_heads, head_dim, vocab;
	int64_t ctx_train; /* the context the model was trained for */
	float rope_theta, eps;
	unsigned rope_layout; /* STRATA_ROPE_ADJACENT (GGUF) or STRATA_ROPE_HALF (Hugging Face) */
	bool tied; /* no output matrix: the logits reuse the token embedding */
};

struct llm_opts {
	unsigned threads; /* 0: one per core */
	int node; /* NUMA node for the weights; -1: local */
	uint32_t ctx; /* context length kept in the KV cache; 0: min(trained, 2048) */
	bool int8_activations; /* STRATA_COMPILE_INT8_ACTIVATIONS: llama.cpp's rounding, faster prefill */
	bool bf16_activations; /* STRATA_COMPILE_BF16_ACTIVATIONS: bf16 weights' prefill in bf16 */
	bool stream_overlap; /* STRATA_COMPILE_STREAM_OVERLAP: compute while loading, whatever the cores */
};

struct llm_vocab;

struct llm_model {
	struct strata_rt *rt;
	struct strata_model *file;
	struct strata_pool *pool;
	struct strata_load *load;
	struct strata_graph *graph;
	struct strata_program *prog;
	struct llm_hparams hp;
	struct llm_vocab *vocab;
	uint32_t ctx;
	bool hf; /* a Hugging Face folder (tensor names, rotate-half), else GGUF */
	uint32_t in_tokens, in_pos, in_last, out_logits; /* graph nodes */
	int32_t *pos; /* [ctx]: positions of a run */
	/* The tokens whose keys and values the cache holds, in order: a new
	 * request that starts with them resumes after them. */
	int32_t *cached;
	uint32_t ncached;
	char path[512];
	/* Set (once) when a weight holds a NaN or an infinity, found as the
	 * load hands each tensor over (weights.c): what and where.  Requests
	 * are then refused, and /health says why. */
	_Atomic bool damaged, damage_claimed;
	char damage[256];
	struct strata_load *_Atomic checking; /* the load, for the checks' reads */
};

/* Open the model at @path (a GGUF file, or a Hugging Face folder with
 * config.json, safetensors and tokenizer.json), start streaming its weights into
 * a pool, build and compile the forward pass.  Returns before the weights
 * are all in memory: the first run waits only for the ones it reaches.
 * Errors name the file and the field in @err. */
int llm_open(struct strata_rt *rt, const char *path, const struct llm_opts *opts, struct llm_model **out, char *err,
	     size_t errlen);
void llm_close(struct llm_model *m);

/* Hyperparameters from a GGUF file's llama.* keys (model.c). */
int llm_hparams_gguf(struct strata_model *file, const char *path, struct llm_hparams *hp, char *err, size_t errlen);
/* GGUF key @key as a number (integers, floats, bools; model.c).
 * Return: 0; -ENOENT (absent); -EINVAL (not a number). */
int llm_meta_number(struct strata_model *file, const char *key, double *out);
/* Hyperparameters from a Hugging Face folder's config.json (hf.c). */
int llm_hparams_hf(const char *dir, struct llm_hparams *hp, char *err, size_t errlen);
/* The Hugging Face name of GGUF-named tensor @gguf (hf.c; @buf may hold it). */
const char *llm_hf_name(const char *gguf, char *buf, size_t len);

/* The load's per-tensor callback (@user: the model) that looks for NaN
 * and infinite values: every element of f32, f16 and bf16 tensors, every
 * block scale of quantized ones (weights.c). */
void llm_check_weight(void *user, size_t tensor, int status);
/* Where the first NaN or infinity of @data (a tensor of @dtype, @bytes)
 * is: an element or block index; -1 when there is none. */
int64_t llm_first_nonfinite(enum strata_dtype dtype, const void *data, uint64_t bytes);

/* Build the forward graph into m->graph (forward.c). */
int llm_build_graph(struct llm_model *m, char *err, size_t errlen);

/*
 * llm_forward() - run @n tokens at positions @pos0 … @pos0 + n - 1 through
 * the model, their keys and values going into the cache; the logits of the
 * last one into @logits [vocab].
 * Return: 0; -ERANGE (past the context); a run error.
 */
int llm_forward(struct llm_model *m, const int32_t *tokens, uint32_t n, uint32_t pos0, float *logits);

/*
 * llm_prefill() - bring the cache to hold @tokens (reusing the longest
 * prefix it already holds) and leave the logits of the last in @logits.
 * Return: 0; -ERANGE (longer than the context); -EINVAL (no tokens).
 */
int llm_prefill(struct llm_model *m, const int32_t *tokens, uint32_t n, float *logits);
/* One more token after those in the cache; its logits in @logits. */
int llm_step(struct llm_model *m, int32_t token, float *logits);

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double llm_now(void);

/* Write the message into @err (@len bytes; NULL is fine) and return @code:
 * the engine's way of failing with a reason (model.c). */
int llm_fail(char *err, size_t len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* STRATA_SERVE_LLM_H */
