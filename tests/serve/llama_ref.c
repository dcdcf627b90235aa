/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/llama_ref.c — the reference Llama forward pass (llama_ref.h).
 *
 * Only the tensor table and metadata come from strata's GGUF reader; the
 * bytes are read with pread and dequantized here, and the arithmetic is
 * written out plainly, one token at a time, with double accumulators.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/strata.h>

#include "llama_ref.h"

static float half_to_float(uint16_t h)
{
	int s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
	float v = e == 0 ? ldexpf((float)f, -24) : e == 31 ? (f ? NAN : INFINITY) : ldexpf((float)(f | 1024), e - 25);

	return s ? -v : v;
}

static float bf16_to_float(uint16_t h)
{
	uint32_t b = (uint32_t)h << 16;
	float f;

	memcpy(&f, &b, 4);
	return f;
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* @n elements of type @t at @src as floats. */
static int dequantize(enum strata_dtype t, const uint8_t *src, uint64_t n, float *dst)
{
	uint64_t i, b;

	switch (t) {
	case STRATA_DTYPE_F32: memcpy(dst, src, n * 4); return 0;
	case STRATA_DTYPE_F16:
		for (i = 0; i < n; i++)
			dst[i] = half_to_float(u16(src + 2 * i));
		return 0;
	case STRATA_DTYPE_BF16:
		for (i = 0; i < n; i++)
			dst[i] = bf16_to_float(u16(src + 2 * i));
		return 0;
	case STRATA_DTYPE_Q8_0:
		for (b = 0; b < n / 32; b++) {
			const uint8_t *p = src + b * 34;
			float d = half_to_float(u16(p));

			for (i = 0; i < 32; i++)
				dst[b * 32 + i] = d * (float)(int8_t)p[2 + i];
		}
		return 0;
	case STRATA_DTYPE_Q4_0:
		for (b = 0; b < n / 32; b++) {
			const uint8_t *p = src + b * 18;
			float d = half_to_float(u16(p));

			for (i = 0; i < 16; i++) {
				dst[b * 32 + i] = d * (float)((p[2 + i] & 15) - 8);
				dst[b * 32 + 16 + i] = d * (float)((p[2 + i] >> 4) - 8);
			}
		}
		return 0;
	case STRATA_DTYPE_Q4_1:
		for (b = 0; b < n / 32; b++) {
			const uint8_t *p = src + b * 20;
			float d = half_to_float(u16(p)), m = half_to_float(u16(p + 2));

			for (i = 0; i < 16; i++) {
				dst[b * 32 + i] = d * (float)(p[4 + i] & 15) + m;
				dst[b * 32 + 16 + i] = d * (float)(p[4 + i] >> 4) + m;
			}
		}
		return 0;
	default: return -EOPNOTSUPP;
	}
}

struct reader {
	struct strata_model *file;
	int fd;
	char *err;
	size_t errlen;
};

/* Tensor @name as floats, with @want elements. */
static float *tensor(struct reader *r, const char *name, uint64_t want)
{
	struct strata_tensor_info t;
	uint64_t n = 1;
	size_t idx;
	uint8_t *raw;
	float *out;

	if (strata_model_find(r->file, name, &idx) || strata_model_tensor(r->file, idx, &t)) {
		snprintf(r->err, r->errlen, "no tensor %s", name);
		return NULL;
	}
	for (uint32_t i = 0; i < t.ndim; i++)
		n *= t.shape[i];
	if (n != want) {
		snprintf(r->err, r->errlen, "%s has %llu elements, not %llu", name, (unsigned long long)n,
			 (unsigned long long)want);
		return NULL;
	}
	raw = malloc(t.bytes);
	out = malloc(n * sizeof(float));
	if (!raw || !out || pread(r->fd, raw, t.bytes, (off_t)t.offset) != (ssize_t)t.bytes ||
	    dequantize(t.dtype, raw, n, out)) {
		snprintf(r->err, r->errlen, "cannot read %s", name);
		free(raw);
		free(out);
		return NULL;
	}
	free(raw);
	return out;
}

static double meta(struct strata_model *f, const char *key, double dflt)
{
	struct strata_meta m;

	if (strata_model_meta_find(f, key, &m))
		return dflt;
	switch (m.type) {
	case STRATA_META_F32:
	case STRATA_META_F64: return m.v.f;
	case STRATA_META_I8:
	case STRATA_META_I16:
	case STRATA_META_I32:
	case STRATA_META_I64: return (double)m.v.i;
	default: return (double)m.v.u;
	}
}

int ref_open(const char *path, int ctx, struct ref_model *m, char *err, size_t errlen)
{
	const char *paths[] = { path };
	struct reader r = { .err = err, .errlen = errlen };
	char name[96];
	size_t idx;
	int e = 0;

	memset(m, 0, sizeof(*m));
	if (strata_model_open(paths, 1, NULL, &r.file))
		return snprintf(err, errlen, "cannot open %s", path), -EINVAL;
	r.fd = open(path, O_RDONLY);
	m->dim = (int)meta(r.file, "llama.embedding_length", 0);
	m->hidden = (int)meta(r.file, "llama.feed_forward_length", 0);
	m->layers = (int)meta(r.file, "llama.block_count", 0);
	m->heads = (int)meta(r.file, "llama.attention.head_count", 0);
	m->kv_heads = (int)meta(r.file, "llama.attention.head_count_kv", m->heads);
	m->theta = (float)meta(r.file, "llama.rope.freq_base", 10000);
	m->eps = (float)meta(r.file, "llama.attention.layer_norm_rms_epsilon", 1e-5);
	m->adjacent = true;
	m->ctx = ctx;
	m->head_dim = m->heads ? m->dim / m->heads : 0;
	if (strata_model_find(r.file, "token_embd.weight", &idx) == 0) {
		struct strata_tensor_info t;

		strata_model_tensor(r.file, idx, &t);
		m->vocab = (int)t.shape[0];
	}
	int kvd = m->kv_heads * m->head_dim;

	if (!m->dim || !m->layers || !m->vocab || r.fd < 0) {
		snprintf(err, errlen, "%s: not a llama GGUF file", path);
		e = -EINVAL;
		goto out;
	}
	m->l = calloc((size_t)m->layers, sizeof(*m->l));
	m->embed = tensor(&r, "token_embd.weight", (uint64_t)m->vocab * m->dim);
	m->out_norm = tensor(&r, "output_norm.weight", (uint64_t)m->dim);
	m->lm_head = strata_model_find(r.file, "output.weight", &idx) == 0
			     ? tensor(&r, "output.weight", (uint64_t)m->vocab * m->dim)
			     : m->embed;
	if (!m->l || !m->embed || !m->out_norm || !m->lm_head) {
		e = -EINVAL;
		goto out;
	}
	for (int l = 0; l < m->layers; l++) {
		struct ref_layer *L = &m->l[l];
#define T(field, suffix, count)                                                       \
	do {                                                                          \
		snprintf(name, sizeof(name), "blk.%d.%s.weight", l, suffix);          \
		if (!(L->field = tensor(&r, name, (uint64_t)(count)))) {                \
			e = -EINVAL;                                                  \
			goto out;                                                     \
		}                                                                     \
	} while (0)
		T(attn_norm, "attn_norm", m->dim);
		T(wq, "attn_q", (uint64_t)m->dim * m->dim);
		T(wk, "attn_k", (uint64_t)kvd * m->dim);
		T(wv, "attn_v", (uint64_t)kvd * m->dim);
		T(wo, "attn_output", (uint64_t)m->dim * m->dim);
		T(ffn_norm, "ffn_norm", m->dim);
		T(wg, "ffn_gate", (uint64_t)m->hidden * m->dim);
		T(wu, "ffn_up", (uint64_t)m->hidden * m->dim);
		T(wd, "ffn_down", (uint64_t)m->dim * m->hidden);
#undef T
	}
	m->k_cache = calloc((size_t)m->layers * ctx * kvd, sizeof(float));
	m->v_cache = calloc((size_t)m->layers * ctx * kvd, sizeof(float));
	m->x = calloc((size_t)m->dim, 4), m->h = calloc((size_t)m->dim, 4), m->q = calloc((size_t)m->dim, 4);
	m->k = calloc((size_t)kvd, 4), m->v = calloc((size_t)kvd, 4), m->att = calloc((size_t)ctx, 4);
	m->o = calloc((size_t)m->dim, 4), m->g = calloc((size_t)m->hidden, 4), m->u = calloc((size_t)m->hidden, 4);
	if (!m->k_cache || !m->v_cache || !m->x || !m->h || !m->q || !m->k || !m->v || !m->att || !m->o || !m->g || !m->u)
		e = -ENOMEM;
out:
	if (r.fd >= 0)
		close(r.fd);
	strata_model_close(r.file);
	if (e)
		ref_close(m);
	return e;
}

void ref_close(struct ref_model *m)
{
	if (m->l)
		for (int l = 0; l < m->layers; l++) {
			struct ref_layer *L = &m->l[l];

			free(L->attn_norm), free(L->wq), free(L->wk), free(L->wv), free(L->wo);
			free(L->ffn_norm), free(L->wg), free(L->wu), free(L->wd);
		}
	if (m->lm_head != m->embed)
		free(m->lm_head);
	free(m->embed), free(m->out_norm), free(m->l);
	free(m->k_cache), free(m->v_cache);
	free(m->x), free(m->h), free(m->q), free(m->k), free(m->v), free(m->att), free(m->o), free(m->g), free(m->u);
	memset(m, 0, sizeof(*m));
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	double ss = 0;

	for (int i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	float scale = (float)(1.0 / sqrt(ss / n + eps));

	for (int i = 0; i < n; i++)
		out[i] = x[i] * scale * w[i];
}

/* out[r] = Σ_k w[r][k] · x[k]: w is [rows, cols] (a linear layer as stored).
 * Eight partial sums (cols is a multiple of 8 in every Llama), added in
 * double at the end: f32 accuracy at a speed a test can wait for. */
static void matvec(float *out, const float *w, const float *x, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		const float *row = w + (size_t)r * cols;
		float part[8] = { 0 };
		double s = 0;
		int k = 0;

		for (; k + 8 <= cols; k += 8)
			for (int j = 0; j < 8; j++)
				part[j] += row[k + j] * x[k + j];
		for (int j = 0; j < 8; j++)
			s += part[j];
		for (; k < cols; k++)
			s += (double)row[k] * x[k];
		out[r] = (float)s;
	}
}

/* Rotate each head of @v (@heads × @hd) by position @pos. */
static void rope(const struct ref_model *m, float *v, int heads, int pos)
{
	int hd = m->head_dim;

	for (int h = 0; h < heads; h++)
		for (int i = 0; i < hd / 2; i++) {
			double freq = pow((double)m->theta, -2.0 * i / hd), a = pos * freq;
			int i0 = m->adjacent ? 2 * i : i, i1 = m->adjacent ? 2 * i + 1 : i + hd / 2;
			float x0 = v[h * hd + i0], x1 = v[h * hd + i1];

			v[h * hd + i0] = (float)(x0 * cos(a) - x1 * sin(a));
			v[h * hd + i1] = (float)(x0 * sin(a) + x1 * cos(a));
		}
}

void ref_forward(struct ref_model *m, int32_t token, int pos, float *logits)
{
	const int d = m->dim, hd = m->head_dim, kvd = m->kv_heads * hd, group = m->heads / m->kv_heads;

	memcpy(m->x, m->embed + (size_t)token * d, (size_t)d * 4);
	for (int l = 0; l < m->layers; l++) {
		const struct ref_layer *L = &m->l[l];
		float *kc = m->k_cache + (size_t)l * m->ctx * kvd, *vc = m->v_cache + (size_t)l * m->ctx * kvd;

		rmsnorm(m->h, m->x, L->attn_norm, d, m->eps);
		matvec(m->q, L->wq, m->h, d, d);
		matvec(m->k, L->wk, m->h, kvd, d);
		matvec(m->v, L->wv, m->h, kvd, d);
		rope(m, m->q, m->heads, pos);
		rope(m, m->k, m->kv_heads, pos);
		memcpy(kc + (size_t)pos * kvd, m->k, (size_t)kvd * 4);
		memcpy(vc + (size_t)pos * kvd, m->v, (size_t)kvd * 4);
		for (int h = 0; h < m->heads; h++) {
			const int kh = h / group;
			const float *q = m->q + h * hd;
			double max = -INFINITY, sum = 0;

			for (int t = 0; t <= pos; t++) {
				double s = 0;

				for (int i = 0; i < hd; i++)
					s += (double)q[i] * kc[(size_t)t * kvd + kh * hd + i];
				m->att[t] = (float)(s / sqrt((double)hd));
				max = m->att[t] > max ? m->att[t] : max;
			}
			for (int t = 0; t <= pos; t++) {
				m->att[t] = (float)exp(m->att[t] - max);
				sum += m->att[t];
			}
			for (int i = 0; i < hd; i++) {
				double o = 0;

				for (int t = 0; t <= pos; t++)
					o += m->att[t] / sum * vc[(size_t)t * kvd + kh * hd + i];
				m->o[h * hd + i] = (float)o;
			}
		}
		matvec(m->h, L->wo, m->o, d, d);
		for (int i = 0; i < d; i++)
			m->x[i] += m->h[i];
		rmsnorm(m->h, m->x, L->ffn_norm, d, m->eps);
		matvec(m->g, L->wg, m->h, m->hidden, d);
		matvec(m->u, L->wu, m->h, m->hidden, d);
		for (int i = 0; i < m->hidden; i++)
			m->g[i] = m->g[i] / (1.0f + expf(-m->g[i])) * m->u[i];
		matvec(m->h, L->wd, m->g, d, m->hidden);
		for (int i = 0; i < d; i++)
			m->x[i] += m->h[i];
	}
	rmsnorm(m->h, m->x, m->out_norm, d, m->eps);
	matvec(logits, m->lm_head, m->h, m->vocab, d);
}
