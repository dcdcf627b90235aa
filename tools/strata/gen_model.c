/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/gen_model.c — the deterministic model `strata gen-model`
 * writes (gen_model.h).
 *
 * The weights are uniform with variance 1/fan-in, so that activations keep
 * their size through the layers; norms are ones.  The tokenizer is
 * byte-level: control tokens (ChatML's among them), the 256 bytes (as
 * GPT-2's printable code points) and made-up words up to the vocabulary
 * size, with no merges, so any text becomes one token per byte and what a
 * model with random weights says is at least readable noise.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"

/* ../shared/bench-method.md's shapes: dim / hidden / layers / heads /
 * kv-heads / vocab / max-seq. */
static const struct gen_config configs[] = {
	{ "tiny-15m", 288, 768, 6, 6, 6, 32000, 256 },
	{ "small-110m", 768, 2048, 12, 12, 12, 32000, 1024 },
	{ "base-1b", 2048, 5632, 22, 32, 4, 32000, 2048 },
};

const char gen_chat_template[] =
	"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
	"'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const struct gen_config *gen_config_find(const char *name)
{
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		if (!strcmp(name, configs[i].name))
			return &configs[i];
	return NULL;
}

void put(struct out *o, const void *p, size_t n)
{
	if (!o->err && fwrite(p, 1, n, o->f) != n)
		o->err = -errno;
	o->at += n;
}

void put_u32(struct out *o, uint32_t v)
{
	put(o, &v, 4);
}

void put_u64(struct out *o, uint64_t v)
{
	put(o, &v, 8);
}

/* GPT-2's printable stand-in for byte @b, as UTF-8 into @buf: its length. */
static size_t byte_token(unsigned b, char *buf)
{
	unsigned cp = b <= 32 ? 256 + b : b >= 127 && b <= 160 ? 256 + 33 + (b - 127) : b == 173 ? 256 + 67 : b;

	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	buf[0] = (char)(0xc0 | cp >> 6);
	buf[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

/* Token @i's text into @buf (64 bytes): its length.  Past the specials and
 * the bytes come made-up words (Ġ for their leading space, as GPT-2
 * writes it), so that what a model with random weights says is at least
 * readable noise. */
size_t gen_token_text(uint32_t i, char *buf)
{
	static const char *const special[GEN_NSPECIAL] = { "<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>" };
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
	size_t n = 0;

	if (i < GEN_NSPECIAL)
		return (size_t)snprintf(buf, 64, "%s", special[i]);
	if (i < GEN_NSPECIAL + 256)
		return byte_token(i - GEN_NSPECIAL, buf);
	buf[n++] = (char)0xc4, buf[n++] = (char)0xa0; /* Ġ */
	for (uint32_t k = i; k; k /= 70) {
		buf[n++] = cons[k % 14];
		buf[n++] = vow[k / 14 % 5];
	}
	return n;
}

/* ---- the weights ------------------------------------------------------------- */

/* The value of element (r, c) of tensor @t in the canonical (Hugging Face)
 * layout: a hash of its name's index and position, so any tensor can be
 * written in any order or row permutation without a generator's state. */
static float weight_value(const struct tensor *t, uint32_t id, uint64_t r, uint64_t c)
{
	uint64_t z = ((uint64_t)id << 40) ^ (r * t->cols + c) ^ 0x5851f42d4c957f2dull;

	if (t->kind == 1)
		return 1.0f;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	/* uniform in [-1, 1) times sqrt(3 / fan-in): variance 1 / fan-in */
	return ((float)(z >> 40) / (float)(1u << 23) - 1.0f) * sqrtf(3.0f / (float)t->cols);
}

static uint16_t to_f16(float f)
{
	uint32_t b, e, m;

	memcpy(&b, &f, 4);
	e = (b >> 23) & 0xff;
	m = b & 0x7fffff;
	if (e < 113) /* tiny: zero (the generator never makes them) */
		return (uint16_t)((b >> 16) & 0x8000);
	if (e > 142)
		return (uint16_t)(((b >> 16) & 0x8000) | 0x7c00);
	/* round to nearest even */
	uint32_t h = ((e - 112) << 10) | (m >> 13), rest = m & 0x1fff;

	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;
	return (uint16_t)(((b >> 16) & 0x8000) | h);
}

static uint16_t to_bf16(float f)
{
	uint32_t b;

	memcpy(&b, &f, 4);
	b += 0x7fff + ((b >> 16) & 1); /* round to nearest even */
	return (uint16_t)(b >> 16);
}

unsigned gen_elem_size(enum gen_dtype d, const struct tensor *t)
{
	return t->cols == 0 || d == GEN_F32 ? 4 : 2;
}

/* Row @r of the file's layout is which canonical row (q and k permuted). */
static uint64_t source_row(const struct tensor *t, const struct gen_config *c, uint64_t r, int gguf)
{
	uint32_t hd = c->dim / c->heads; /* q's and k's heads alike */
	uint64_t h, i;

	if (!gguf || (t->kind != 2 && t->kind != 3))
		return r;
	h = r / hd, i = r % hd;
	/* GGUF row (h, 2j + s) holds canonical row (h, s·hd/2 + j). */
	return h * hd + (i % 2) * (hd / 2) + i / 2;
}

void gen_write_tensor(struct out *o, const struct tensor *t, uint32_t id, const struct gen_config *c,
			 enum gen_dtype d, int gguf)
{
	uint64_t rows = t->cols ? t->rows : 1, cols = t->cols ? t->cols : t->rows;
	unsigned es = gen_elem_size(d, t);
	uint8_t *row = malloc(cols * es);

	if (!row) {
		o->err = -ENOMEM;
		return;
	}
	for (uint64_t r = 0; r < rows && !o->err; r++) {
		uint64_t src = source_row(t, c, r, gguf);

		for (uint64_t k = 0; k < cols; k++) {
			float v = weight_value(t, id, t->cols ? src : 0, k);

			if (es == 4) {
				memcpy(row + k * 4, &v, 4);
			} else {
				uint16_t h = d == GEN_F16 ? to_f16(v) : to_bf16(v);

				memcpy(row + k * 2, &h, 2);
			}
		}
		put(o, row, cols * es);
	}
	free(row);
}

struct tensor *gen_tensors(const struct gen_config *c, uint32_t *count)
{
	uint32_t kvd = c->dim / c->heads * c->kv_heads, n = 0;
	struct tensor *t = calloc(3 + (size_t)c->layers * 9, sizeof(*t));

	if (!t)
		return NULL;
#define ADD(kind_, layer_, rows_, cols_, ...)                                       \
	do {                                                                        \
		snprintf(t[n].name, sizeof(t[n].name), __VA_ARGS__);                \
		t[n].kind = (kind_), t[n].layer = (layer_), t[n].rows = (rows_), t[n].cols = (cols_); \
		n++;                                                                \
	} while (0)
	ADD(0, 0, c->vocab, c->dim, "token_embd.weight");
	for (uint32_t l = 0; l < c->layers; l++) {
		ADD(1, l, c->dim, 0, "blk.%u.attn_norm.weight", l);
		ADD(2, l, c->dim, c->dim, "blk.%u.attn_q.weight", l);
		ADD(3, l, kvd, c->dim, "blk.%u.attn_k.weight", l);
		ADD(0, l, kvd, c->dim, "blk.%u.attn_v.weight", l);
		ADD(0, l, c->dim, c->dim, "blk.%u.attn_output.weight", l);
		ADD(1, l, c->dim, 0, "blk.%u.ffn_norm.weight", l);
		ADD(0, l, c->hidden, c->dim, "blk.%u.ffn_gate.weight", l);
		ADD(0, l, c->hidden, c->dim, "blk.%u.ffn_up.weight", l);
		ADD(0, l, c->dim, c->hidden, "blk.%u.ffn_down.weight", l);
	}
	ADD(1, 0, c->dim, 0, "output_norm.weight");
	ADD(0, 0, c->vocab, c->dim, "output.weight");
#undef ADD
	*count = n;
	return t;
}
