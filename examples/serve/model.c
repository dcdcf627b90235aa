/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/model.c — open a Llama-architecture model: its
 * hyperparameters, a pool for its weights, the load that streams them in,
 * and the compiled forward pass.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm.h"
#include "vocab.h"

double llm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int llm_fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

int llm_meta_number(struct strata_model *file, const char *key, double *out)
{
	struct strata_meta m;

	if (strata_model_meta_find(file, key, &m))
		return -ENOENT;
	switch (m.type) {
	case STRATA_META_U8:
	case STRATA_META_U16:
	case STRATA_META_U32:
	case STRATA_META_U64:
	case STRATA_META_BOOL: *out = (double)m.v.u; return 0;
	case STRATA_META_I8:
	case STRATA_META_I16:
	case STRATA_META_I32:
	case STRATA_META_I64: *out = (double)m.v.i; return 0;
	case STRATA_META_F32:
	case STRATA_META_F64: *out = m.v.f; return 0;
	default: return -EINVAL;
	}
}

/* A required positive integer key. */
static int need_int(struct strata_model *file, const char *path, const char *key, int64_t *out, char *err,
		    size_t len)
{
	double v;
	int e = llm_meta_number(file, key, &v);

	if (e == -ENOENT)
		return llm_fail(err, len, -EINVAL, "%s: the key %s is missing", path, key);
	if (e || v < 1 || v > 1e9 || v != floor(v))
		return llm_fail(err, len, -EINVAL, "%s: %s is not a positive integer", path, key);
	*out = (int64_t)v;
	return 0;
}

int llm_hparams_gguf(struct strata_model *file, const char *path, struct llm_hparams *hp, char *err, size_t len)
{
	struct strata_meta arch;
	double v;
	size_t idx;
	int e;

	memset(hp, 0, sizeof(*hp));
	if (strata_model_meta_find(file, "general.architecture", &arch) || arch.type != STRATA_META_STRING)
		return llm_fail(err, len, -EINVAL, "%s: general.architecture is missing: not a model GGUF file", path);
	if (arch.count != 5 || memcmp(arch.v.str, "llama", 5))
		return llm_fail(err, len, -EOPNOTSUPP, "%s: general.architecture is \"%.*s\"; only \"llama\" is supported",
			    path, (int)(arch.count < 64 ? arch.count : 64), arch.v.str);
	if ((e = need_int(file, path, "llama.embedding_length", &hp->dim, err, len)) ||
	    (e = need_int(file, path, "llama.feed_forward_length", &hp->hidden, err, len)) ||
	    (e = need_int(file, path, "llama.block_count", &hp->layers, err, len)) ||
	    (e = need_int(file, path, "llama.attention.head_count", &hp->heads, err, len)))
		return e;
	hp->kv_heads = hp->heads;
	if (llm_meta_number(file, "llama.attention.head_count_kv", &v) == 0)
		hp->kv_heads = (int64_t)v;
	hp->ctx_train = 2048;
	if (llm_meta_number(file, "llama.context_length", &v) == 0 && v >= 1)
		hp->ctx_train = (int64_t)v;
	hp->rope_theta = 10000.0f;
	if (llm_meta_number(file, "llama.rope.freq_base", &v) == 0)
		hp->rope_theta = (float)v;
	hp->eps = 1e-5f;
	if (llm_meta_number(file, "llama.attention.layer_norm_rms_epsilon", &v) == 0)
		hp->eps = (float)v;
	hp->head_dim = hp->dim / hp->heads;
	if (hp->dim % hp->heads || hp->head_dim % 2)
		return llm_fail(err, len, -EINVAL, "%s: llama.embedding_length %lld is not an even multiple of %lld heads",
			    path, (long long)hp->dim, (long long)hp->heads);
	if (hp->kv_heads < 1 || hp->heads % hp->kv_heads)
		return llm_fail(err, len, -EINVAL, "%s: llama.attention.head_count_kv %lld does not divide %lld heads", path,
			    (long long)hp->kv_heads, (long long)hp->heads);
	if (llm_meta_number(file, "llama.rope.dimension_count", &v) == 0 && (int64_t)v != hp->head_dim)
		return llm_fail(err, len, -EOPNOTSUPP,
			    "%s: llama.rope.dimension_count %g: rotating part of a head is not supported (head size %lld)",
			    path, v, (long long)hp->head_dim);
	if (strata_model_find(file, "token_embd.weight", &idx))
		return llm_fail(err, len, -EINVAL, "%s: the tensor token_embd.weight is missing", path);
	{
		struct strata_tensor_info t;

		strata_model_tensor(file, idx, &t);
		if (t.ndim != 2 || (int64_t)t.shape[1] != hp->dim)
			return llm_fail(err, len, -EINVAL, "%s: token_embd.weight is not [vocab, %lld]", path, (long long)hp->dim);
		hp->vocab = (int64_t)t.shape[0];
	}
	hp->tied = strata_model_find(file, "output.weight", &idx) != 0;
	hp->rope_layout = STRATA_ROPE_ADJACENT; /* llama.cpp's converter permutes q and k rows for it */
	return 0;
}

void llm_close(struct llm_model *m)
{
	if (!m)
		return;
	strata_program_destroy(m->prog);
	strata_graph_destroy(m->graph);
	if (m->load) {
		strata_load_cancel(m->load);
		strata_load_destroy(m->load);
	}
	strata_pool_destroy(m->pool);
	strata_model_close(m->file);
	llm_vocab_free(m->vocab);
	free(m->pos);
	free(m->cached);
	free(m);
}

int llm_open(struct strata_rt *rt, const char *path, const struct llm_opts *opts, struct llm_model **out, char *err,
	     size_t len)
{
	STRATA_MODEL_OPTS(mopts, .errbuf = err, .errlen = len);
	STRATA_POOL_OPTS(popts, .name = "weights", .flags = STRATA_POOL_HUGEPAGES | STRATA_POOL_NO_SMALL,
			 .decay_ms = STRATA_DECAY_NEVER);
	struct llm_model *m = calloc(1, sizeof(*m));
	char weights[600];
	const char *paths[] = { weights };
	struct stat st;
	int e;

	if (!m)
		return -ENOMEM;
	m->rt = rt;
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->hf = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (m->hf) {
		/* Sharded when there is an index, else one file. */
		snprintf(weights, sizeof(weights), "%s/model.safetensors.index.json", path);
		if (access(weights, F_OK))
			snprintf(weights, sizeof(weights), "%s/model.safetensors", path);
		if ((e = llm_hparams_hf(path, &m->hp, err, len)))
			goto out;
	} else {
		snprintf(weights, sizeof(weights), "%s", path);
	}
	e = strata_model_open(paths, 1, &mopts, &m->file);
	if (e) {
		if (e != -STRATA_EFORMAT)
			llm_fail(err, len, e, "%s: %s", weights, strata_strerror(e));
		goto out;
	}
	if (m->hf) {
		size_t idx;

		/* Tied when the config says so, or when there is no lm_head. */
		m->hp.tied = m->hp.tied || strata_model_find(m->file, "lm_head.weight", &idx) != 0;
		e = llm_vocab_hf(path, m->hp.vocab, &m->vocab, err, len);
	} else {
		e = llm_hparams_gguf(m->file, path, &m->hp, err, len);
		if (!e)
			e = llm_vocab_gguf(m->file, path, m->hp.vocab, &m->vocab, err, len);
	}
	if (e)
		goto out;
	m->ctx = opts && opts->ctx ? opts->ctx : (uint32_t)(m->hp.ctx_train < 2048 ? m->hp.ctx_train : 2048);
	m->pos = calloc(m->ctx, sizeof(*m->pos));
	m->cached = calloc(m->ctx, sizeof(*m->cached));
	if (!m->pos || !m->cached) {
		e = -ENOMEM;
		goto out;
	}
	if (opts && opts->node >= 0) {
		popts.place = STRATA_PLACE_NODE;
		popts.node = opts->node;
	}
	if ((e = strata_pool_create(rt, &popts, &m->pool))) {
		llm_fail(err, len, e, "cannot create the weights' pool: %s", strata_strerror(e));
		goto out;
	}
	{
		/* Layer order (the default priority): layer 0 arrives first. */
		STRATA_LOAD_OPTS(lopts, .pool = m->pool, .on_ready = llm_check_weight, .user = m);

		if ((e = strata_load_start(m->file, &lopts, &m->load))) {
			llm_fail(err, len, e, "%s: cannot start loading: %s", path, strata_strerror(e));
			goto out;
		}
		atomic_store(&m->checking, m->load);
	}
	if ((e = llm_build_graph(m, err, len)))
		goto out;
	if ((e = strata_graph_bind_load(m->graph, m->load)))
		goto out;
	{
		STRATA_COMPILE_OPTS(copts, .threads = opts ? opts->threads : 0,
				    .flags = (opts && opts->int8_activations ? STRATA_COMPILE_INT8_ACTIVATIONS : 0) |
					     (opts && opts->bf16_activations ? STRATA_COMPILE_BF16_ACTIVATIONS : 0) |
					     (opts && opts->stream_overlap ? STRATA_COMPILE_STREAM_OVERLAP : 0));

		if ((e = strata_graph_compile(m->graph, &copts, &m->prog))) {
			llm_fail(err, len, e, "compiling the forward pass: %s", strata_graph_error(m->graph));
			goto out;
		}
	}
	*out = m;
	return 0;
out:
	llm_close(m);
	return e;
}
