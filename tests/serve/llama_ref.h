/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/llama_ref.h — a plain reference implementation of the Llama
 * forward pass, written apart from the graph compiler: weights dequantized
 * to f32 once, loops a reader can check line by line against the paper.
 * The serving engine's logits and greedy tokens are compared with it.
 */
#ifndef STRATA_TESTS_LLAMA_REF_H
#define STRATA_TESTS_LLAMA_REF_H

#include <stdbool.h>
#include <stdint.h>

struct ref_layer {
	float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *wg, *wu, *wd;
};

struct ref_model {
	int dim, hidden, layers, heads, kv_heads, head_dim, vocab, ctx;
	float theta, eps;
	bool adjacent; /* rotary pairs (2i, 2i+1) as GGUF stores q/k; else (i, i + d/2) */
	float *embed, *out_norm, *lm_head; /* lm_head may be embed (tied) */
	struct ref_layer *l;
	float *k_cache, *v_cache; /* [layers][ctx][kv_heads * head_dim] */
	/* scratch */
	float *x, *h, *q, *k, *v, *att, *o, *g, *u;
};

/* Read and dequantize every weight of the GGUF file at @path (F32, F16,
 * BF16, Q8_0, Q4_0, Q4_1).  Return: 0; a negative errno (@err says). */
int ref_open(const char *path, int ctx, struct ref_model *m, char *err, size_t errlen);
void ref_close(struct ref_model *m);

/* Token @token at position @pos (the cache holds 0 … pos-1); its logits
 * into @logits [vocab]. */
void ref_forward(struct ref_model *m, int32_t token, int pos, float *logits);

#endif /* STRATA_TESTS_LLAMA_REF_H */
