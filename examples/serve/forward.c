/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/forward.c — the Llama forward pass as a strata graph, and
 * running it.
 *
 *   tokens [seq] → embedding → per layer:
 *       h = rmsnorm(x); q, k, v = h·Wqᵀ, h·Wkᵀ, h·Wvᵀ; rotary on q and k;
 *       k, v written into the layer's cache at the tokens' positions;
 *       causal grouped-query attention over the cache; x += ·Woᵀ;
 *       h = rmsnorm(x); x += (silu(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ
 *   → rmsnorm → the last token's row → ·Wₒᵤₜᵀ (or the embedding, tied) → logits
 *
 * One graph serves every prompt length up to the context: the sequence is
 * the symbolic dimension.  Weights are streamed: each names a tensor of
 * the file, and a kernel waits only for the weights it reads.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

struct builder {
	struct llm_model *m;
	struct strata_graph *g;
	char *err;
	size_t len;
};

static int fail(struct builder *b, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, b->len, fmt, ap);
	va_end(ap);
	return code;
}

/* Weight @name of the file, checked against the shape the config implies. */
static int weight(struct builder *b, const char *gguf_name, int64_t rows, int64_t cols, uint32_t *out)
{
	struct strata_tensor_info t;
	char buf[96];
	const char *name = b->m->hf ? llm_hf_name(gguf_name, buf, sizeof(buf)) : gguf_name;
	size_t idx;
	int e;

	if (strata_model_find(b->m->file, name, &idx))
		return fail(b, -EINVAL, "%s: the tensor %s is missing", b->m->path, name);
	strata_model_tensor(b->m->file, idx, &t);
	if (!(cols ? t.ndim == 2 && (int64_t)t.shape[0] == rows && (int64_t)t.shape[1] == cols
		   : t.ndim == 1 && (int64_t)t.shape[0] == rows))
		return fail(b, -EINVAL, "%s: the tensor %s has %u dimensions (%llu × %llu); the config says %lld × %lld",
			    b->m->path, name, t.ndim, (unsigned long long)t.shape[0],
			    (unsigned long long)(t.ndim > 1 ? t.shape[1] : 1), (long long)rows, (long long)(cols ? cols : 1));
	e = strata_graph_weight_streamed(b->g, b->m->file, idx, out);
	/* The bytes are the engine's, in its pool, and nothing but the graph
	 * reads them: the program may pack a quantized matrix in place rather
	 * than keep a second, packed copy of it. */
	if (!e)
		e = strata_graph_weight_lend(b->g, *out);
	if (e)
		return fail(b, e, "%s: the tensor %s: %s", b->m->path, name, strata_graph_error(b->g));
	return 0;
}

#define TRY(x)                      \
	do {                        \
		int err_ = (x);     \
		if (err_)           \
			return err_; \
	} while (0)

/* The graph call failed: its message. */
#define G(x)                                                                                \
	do {                                                                                \
		int err_ = (x);                                                             \
		if (err_)                                                                   \
			return fail(b, err_, "building the graph: %s", strata_graph_error(b->g)); \
	} while (0)

static int layer(struct builder *b, int64_t l, uint32_t x, uint32_t pos, uint32_t *out)
{
	const struct llm_hparams *hp = &b->m->hp;
	const int64_t d = hp->dim, hd = hp->head_dim, kvd = hp->kv_heads * hd;
	const int64_t qh[] = { STRATA_DIM_SEQ, hp->heads, hd }, kvh[] = { STRATA_DIM_SEQ, hp->kv_heads, hd };
	const int64_t flat[] = { STRATA_DIM_SEQ, d }, cache[] = { b->m->ctx, hp->kv_heads, hd };
	uint32_t an, wq, wk, wv, wo, fn, wg, wu, wd, kc, vc, h, q, k, v, o, r, gt, up;
	char name[64];

	snprintf(name, sizeof(name), "blk.%lld.attn_norm.weight", (long long)l);
	TRY(weight(b, name, d, 0, &an));
	snprintf(name, sizeof(name), "blk.%lld.attn_q.weight", (long long)l);
	TRY(weight(b, name, d, d, &wq));
	snprintf(name, sizeof(name), "blk.%lld.attn_k.weight", (long long)l);
	TRY(weight(b, name, kvd, d, &wk));
	snprintf(name, sizeof(name), "blk.%lld.attn_v.weight", (long long)l);
	TRY(weight(b, name, kvd, d, &wv));
	snprintf(name, sizeof(name), "blk.%lld.attn_output.weight", (long long)l);
	TRY(weight(b, name, d, d, &wo));
	snprintf(name, sizeof(name), "blk.%lld.ffn_norm.weight", (long long)l);
	TRY(weight(b, name, d, 0, &fn));
	snprintf(name, sizeof(name), "blk.%lld.ffn_gate.weight", (long long)l);
	TRY(weight(b, name, hp->hidden, d, &wg));
	snprintf(name, sizeof(name), "blk.%lld.ffn_up.weight", (long long)l);
	TRY(weight(b, name, hp->hidden, d, &wu));
	snprintf(name, sizeof(name), "blk.%lld.ffn_down.weight", (long long)l);
	TRY(weight(b, name, d, hp->hidden, &wd));
	snprintf(name, sizeof(name), "k_cache.%lld", (long long)l);
	G(strata_graph_state(b->g, name, 3, cache, &kc));
	snprintf(name, sizeof(name), "v_cache.%lld", (long long)l);
	G(strata_graph_state(b->g, name, 3, cache, &vc));

	G(strata_graph_rmsnorm(b->g, x, an, hp->eps, &h));
	G(strata_graph_matmul(b->g, h, wq, STRATA_MATMUL_TRANS_B, &q));
	G(strata_graph_matmul(b->g, h, wk, STRATA_MATMUL_TRANS_B, &k));
	G(strata_graph_matmul(b->g, h, wv, STRATA_MATMUL_TRANS_B, &v));
	G(strata_graph_reshape(b->g, q, 3, qh, &q));
	G(strata_graph_reshape(b->g, k, 3, kvh, &k));
	G(strata_graph_reshape(b->g, v, 3, kvh, &v));
	G(strata_graph_rope(b->g, q, pos, hp->rope_theta, hp->rope_layout, &q));
	G(strata_graph_rope(b->g, k, pos, hp->rope_theta, hp->rope_layout, &k));
	G(strata_graph_write_rows(b->g, kc, k, pos, &kc));
	G(strata_graph_write_rows(b->g, vc, v, pos, &vc));
	G(strata_graph_attention(b->g, q, kc, vc, pos, 1.0f / sqrtf((float)hd), &o));
	G(strata_graph_reshape(b->g, o, 2, flat, &o));
	G(strata_graph_matmul(b->g, o, wo, STRATA_MATMUL_TRANS_B, &o));
	G(strata_graph_binary(b->g, STRATA_OP_ADD, o, x, &r));
	G(strata_graph_rmsnorm(b->g, r, fn, hp->eps, &h));
	G(strata_graph_matmul(b->g, h, wg, STRATA_MATMUL_TRANS_B, &gt));
	G(strata_graph_matmul(b->g, h, wu, STRATA_MATMUL_TRANS_B, &up));
	G(strata_graph_unary(b->g, STRATA_OP_SILU, gt, &gt));
	G(strata_graph_binary(b->g, STRATA_OP_MUL, gt, up, &gt));
	G(strata_graph_matmul(b->g, gt, wd, STRATA_MATMUL_TRANS_B, &gt));
	G(strata_graph_binary(b->g, STRATA_OP_ADD, gt, r, out));
	return 0;
}

int llm_build_graph(struct llm_model *m, char *err, size_t len)
{
	STRATA_GRAPH_OPTS(gopts, .max_seq = m->ctx);
	const struct llm_hparams *hp = &m->hp;
	const int64_t seq[] = { STRATA_DIM_SEQ }, one[] = { 1 };
	struct builder bd = { .m = m, .err = err, .len = len }, *b = &bd;
	uint32_t emb, head, norm, x;
	int64_t l;
	int e;

	if ((e = strata_graph_create(m->rt, &gopts, &m->graph)))
		return fail(b, e, "cannot create a graph: %s", strata_strerror(e));
	b->g = m->graph;
	G(strata_graph_input(b->g, "tokens", STRATA_DTYPE_I32, 1, seq, &m->in_tokens));
	G(strata_graph_input(b->g, "pos", STRATA_DTYPE_I32, 1, seq, &m->in_pos));
	G(strata_graph_input(b->g, "last", STRATA_DTYPE_I32, 1, one, &m->in_last));
	TRY(weight(b, "token_embd.weight", hp->vocab, hp->dim, &emb));
	TRY(weight(b, "output_norm.weight", hp->dim, 0, &norm));
	if (hp->tied)
		head = emb;
	else
		TRY(weight(b, "output.weight", hp->vocab, hp->dim, &head));
	G(strata_graph_embedding(b->g, emb, m->in_tokens, &x));
	for (l = 0; l < hp->layers; l++)
		TRY(layer(b, l, x, m->in_pos, &x));
	G(strata_graph_rmsnorm(b->g, x, norm, hp->eps, &x));
	/* Only the last token's logits are wanted: pick its row first, so a
	 * prompt's other rows never meet the vocabulary-sized matrix. */
	G(strata_graph_embedding(b->g, x, m->in_last, &x));
	G(strata_graph_matmul(b->g, x, head, STRATA_MATMUL_TRANS_B, &m->out_logits));
	G(strata_graph_output(b->g, m->out_logits));
	return 0;
}

int llm_forward(struct llm_model *m, const int32_t *tokens, uint32_t n, uint32_t pos0, float *logits)
{
	int32_t last = (int32_t)n - 1;
	uint32_t i;

	if (n == 0)
		return -EINVAL;
	if ((uint64_t)pos0 + n > m->ctx)
		return -ERANGE;
	for (i = 0; i < n; i++)
		m->pos[i] = (int32_t)(pos0 + i);
	struct strata_graph_tensor in[3] = {
		{ m->in_tokens, (void *)(uintptr_t)tokens, (size_t)n * 4 },
		{ m->in_pos, m->pos, (size_t)n * 4 },
		{ m->in_last, &last, 4 },
	};
	struct strata_graph_tensor out = { m->out_logits, logits, (size_t)m->hp.vocab * 4 };

	return strata_program_run(m->prog, n, in, 3, &out, 1);
}

int llm_prefill(struct llm_model *m, const int32_t *tokens, uint32_t n, float *logits)
{
	uint32_t keep = 0;
	int e;

	if (n == 0)
		return -EINVAL;
	if (n > m->ctx)
		return -ERANGE;
	while (keep < m->ncached && keep < n && m->cached[keep] == tokens[keep])
		keep++;
	/* The last token always runs: its logits are the ones wanted. */
	if (keep == n)
		keep--;
	m->ncached = keep;
	e = llm_forward(m, tokens + keep, n - keep, keep, logits);
	if (e)
		return e;
	memcpy(m->cached + keep, tokens + keep, (size_t)(n - keep) * sizeof(*tokens));
	m->ncached = n;
	return 0;
}

int llm_step(struct llm_model *m, int32_t token, float *logits)
{
	int e;

	if (m->ncached >= m->ctx)
		return -ERANGE;
	e = llm_forward(m, &token, 1, m->ncached, logits);
	if (e)
		return e;
	m->cached[m->ncached++] = token;
	return 0;
}
