/* SPDX-License-Identifier: MIT */
/*
 * bench/llama_graph.h — a Llama-architecture forward pass as a strata
 * graph, over generated f32 weights, for the graph benchmarks.
 *
 * tokens [seq] -> embedding -> layers of (rmsnorm, q/k/v, rotary, attention
 * over the prompt, output projection, residual, rmsnorm, SwiGLU, residual)
 * -> rmsnorm -> logits [seq, vocab].  Attention here has no causal mask
 * and no KV cache: it costs what a prefill costs, which is what the
 * benchmarks measure.  Header-only, like bench_util.h.
 */
#ifndef STRATA_BENCH_LLAMA_GRAPH_H
#define STRATA_BENCH_LLAMA_GRAPH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <strata/strata.h>

struct llama_config {
	const char *name;
	int64_t dim, hidden, layers, heads, vocab;
};

static const struct llama_config llama_small_110m = { "small-110m", 768, 2048, 12, 12, 32000 };

struct llama_weights {
	float *embed, *norm_out, *lm_head;
	float **att_norm, **wq, **wk, **wv, **wo, **mlp_norm, **wg, **wu, **wd;
	float *blob; /* everything above lives in here */
};

static inline float llama_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((*s >> 40) & 0xffffff) / (float)0xffffff - 0.5f;
}

/* Weights with a fixed seed, scaled so activations stay in range. */
static inline int llama_weights_make(const struct llama_config *c, struct llama_weights *w)
{
	int64_t d = c->dim, h = c->hidden, L = c->layers, per = 4 * d * d + 3 * d * h + 2 * d;
	int64_t total = c->vocab * d * 2 + d + L * per, i, l;
	uint64_t seed = 42;
	float *p;

	w->blob = malloc((size_t)total * sizeof(float));
	w->att_norm = calloc((size_t)L * 9, sizeof(float *));
	if (!w->blob || !w->att_norm)
		return -1;
	w->wq = w->att_norm + L, w->wk = w->wq + L, w->wv = w->wk + L, w->wo = w->wv + L;
	w->mlp_norm = w->wo + L, w->wg = w->mlp_norm + L, w->wu = w->wg + L, w->wd = w->wu + L;
	for (i = 0; i < total; i++)
		w->blob[i] = llama_rand(&seed) * 0.1f;
	p = w->blob;
	w->embed = p, p += c->vocab * d;
	w->lm_head = p, p += c->vocab * d;
	w->norm_out = p, p += d;
	for (l = 0; l < L; l++) {
		w->att_norm[l] = p, p += d;
		w->wq[l] = p, p += d * d;
		w->wk[l] = p, p += d * d;
		w->wv[l] = p, p += d * d;
		w->wo[l] = p, p += d * d;
		w->mlp_norm[l] = p, p += d;
		w->wg[l] = p, p += h * d;
		w->wu[l] = p, p += h * d;
		w->wd[l] = p, p += d * h;
	}
	for (i = 0; i < d; i++)
		w->norm_out[i] = 1.0f;
	for (l = 0; l < L; l++)
		for (i = 0; i < d; i++)
			w->att_norm[l][i] = w->mlp_norm[l][i] = 1.0f;
	return 0;
}

static inline void llama_weights_free(struct llama_weights *w)
{
	free(w->blob);
	free(w->att_norm);
}

#define LLAMA_TRY(x)                 \
	do {                         \
		int err_ = (x);      \
		if (err_)            \
			return err_; \
	} while (0)

/* One layer on x [seq, dim]; the result in *out. */
static inline int llama_layer(struct strata_graph *g, const struct llama_config *c, const struct llama_weights *w,
			      int64_t l, uint32_t x, uint32_t pos, uint32_t *out)
{
	const int64_t d = c->dim, hd = c->dim / c->heads, dd[] = { d, d }, hdim[] = { c->hidden, d },
		      dh[] = { d, c->hidden }, vd[] = { d }, heads[] = { STRATA_DIM_SEQ, c->heads, hd },
		      back[] = { STRATA_DIM_SEQ, d }, one[] = { 1 };
	const unsigned swap01[] = { 1, 0, 2 };
	static float scale[1];
	uint32_t n1, n2, wq, wk, wv, wo, wg, wu, wdn, sc, h, q, k, v, s, o, r, gt, up;

	scale[0] = 1.0f / sqrtf((float)hd);
	LLAMA_TRY(strata_graph_weight(g, "attn_norm", STRATA_DTYPE_F32, 1, vd, w->att_norm[l], &n1));
	LLAMA_TRY(strata_graph_weight(g, "wq", STRATA_DTYPE_F32, 2, dd, w->wq[l], &wq));
	LLAMA_TRY(strata_graph_weight(g, "wk", STRATA_DTYPE_F32, 2, dd, w->wk[l], &wk));
	LLAMA_TRY(strata_graph_weight(g, "wv", STRATA_DTYPE_F32, 2, dd, w->wv[l], &wv));
	LLAMA_TRY(strata_graph_weight(g, "wo", STRATA_DTYPE_F32, 2, dd, w->wo[l], &wo));
	LLAMA_TRY(strata_graph_weight(g, "ffn_norm", STRATA_DTYPE_F32, 1, vd, w->mlp_norm[l], &n2));
	LLAMA_TRY(strata_graph_weight(g, "w_gate", STRATA_DTYPE_F32, 2, hdim, w->wg[l], &wg));
	LLAMA_TRY(strata_graph_weight(g, "w_up", STRATA_DTYPE_F32, 2, hdim, w->wu[l], &wu));
	LLAMA_TRY(strata_graph_weight(g, "w_down", STRATA_DTYPE_F32, 2, dh, w->wd[l], &wdn));
	LLAMA_TRY(strata_graph_weight(g, "scale", STRATA_DTYPE_F32, 1, one, scale, &sc));

	LLAMA_TRY(strata_graph_rmsnorm(g, x, n1, 1e-5f, &h));
	LLAMA_TRY(strata_graph_matmul(g, h, wq, STRATA_MATMUL_TRANS_B, &q));
	LLAMA_TRY(strata_graph_matmul(g, h, wk, STRATA_MATMUL_TRANS_B, &k));
	LLAMA_TRY(strata_graph_matmul(g, h, wv, STRATA_MATMUL_TRANS_B, &v));
	LLAMA_TRY(strata_graph_reshape(g, q, 3, heads, &q));
	LLAMA_TRY(strata_graph_reshape(g, k, 3, heads, &k));
	LLAMA_TRY(strata_graph_reshape(g, v, 3, heads, &v));
	LLAMA_TRY(strata_graph_rope(g, q, pos, 10000.0f, STRATA_ROPE_HALF, &q));
	LLAMA_TRY(strata_graph_rope(g, k, pos, 10000.0f, STRATA_ROPE_HALF, &k));
	LLAMA_TRY(strata_graph_permute(g, q, swap01, &q));
	LLAMA_TRY(strata_graph_permute(g, k, swap01, &k));
	LLAMA_TRY(strata_graph_permute(g, v, swap01, &v));
	LLAMA_TRY(strata_graph_matmul(g, q, k, STRATA_MATMUL_TRANS_B, &s));
	LLAMA_TRY(strata_graph_binary(g, STRATA_OP_MUL, s, sc, &s));
	LLAMA_TRY(strata_graph_softmax(g, s, &s));
	LLAMA_TRY(strata_graph_matmul(g, s, v, 0, &o));
	LLAMA_TRY(strata_graph_permute(g, o, swap01, &o));
	LLAMA_TRY(strata_graph_reshape(g, o, 2, back, &o));
	LLAMA_TRY(strata_graph_matmul(g, o, wo, STRATA_MATMUL_TRANS_B, &o));
	LLAMA_TRY(strata_graph_binary(g, STRATA_OP_ADD, o, x, &r));
	LLAMA_TRY(strata_graph_rmsnorm(g, r, n2, 1e-5f, &h));
	LLAMA_TRY(strata_graph_matmul(g, h, wg, STRATA_MATMUL_TRANS_B, &gt));
	LLAMA_TRY(strata_graph_matmul(g, h, wu, STRATA_MATMUL_TRANS_B, &up));
	LLAMA_TRY(strata_graph_unary(g, STRATA_OP_SILU, gt, &gt));
	LLAMA_TRY(strata_graph_binary(g, STRATA_OP_MUL, gt, up, &gt));
	LLAMA_TRY(strata_graph_matmul(g, gt, wdn, STRATA_MATMUL_TRANS_B, &gt));
	return strata_graph_binary(g, STRATA_OP_ADD, gt, r, out);
}

/* The whole forward pass with @layers layers (≤ c->layers): inputs
 * *tokens and *pos (i32 [seq]); output *logits. */
static inline int llama_forward(struct strata_graph *g, const struct llama_config *c, const struct llama_weights *w,
				int64_t layers, uint32_t *tokens, uint32_t *pos, uint32_t *logits)
{
	const int64_t seq[] = { STRATA_DIM_SEQ }, ed[] = { c->vocab, c->dim }, vd[] = { c->dim };
	uint32_t emb, head, norm, x;
	int64_t l;

	LLAMA_TRY(strata_graph_input(g, "tokens", STRATA_DTYPE_I32, 1, seq, tokens));
	LLAMA_TRY(strata_graph_input(g, "pos", STRATA_DTYPE_I32, 1, seq, pos));
	LLAMA_TRY(strata_graph_weight(g, "token_embd", STRATA_DTYPE_F32, 2, ed, w->embed, &emb));
	LLAMA_TRY(strata_graph_weight(g, "output", STRATA_DTYPE_F32, 2, ed, w->lm_head, &head));
	LLAMA_TRY(strata_graph_weight(g, "output_norm", STRATA_DTYPE_F32, 1, vd, w->norm_out, &norm));
	LLAMA_TRY(strata_graph_embedding(g, emb, *tokens, &x));
	for (l = 0; l < layers; l++)
		LLAMA_TRY(llama_layer(g, c, w, l, x, *pos, &x));
	LLAMA_TRY(strata_graph_rmsnorm(g, x, norm, 1e-5f, &x));
	LLAMA_TRY(strata_graph_matmul(g, x, head, STRATA_MATMUL_TRANS_B, logits));
	return strata_graph_output(g, *logits);
}

#endif /* STRATA_BENCH_LLAMA_GRAPH_H */
