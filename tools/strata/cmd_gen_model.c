/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_gen_model.c — `strata gen-model`: a deterministic
 * Llama-architecture model for tests, benchmarks and the offline demo.
 *
 * The weights come from a fixed seed, uniform with variance 1/fan-in so
 * that activations keep their size through the layers; norms are ones.
 * The tokenizer is byte-level: control tokens (with ChatML's, and a ChatML
 * template), the 256 bytes (as GPT-2's printable code points) and made-up
 * words up to the vocabulary size, with no merges, so any text becomes one
 * token per byte.
 *
 * GGUF output follows llama.cpp's converter: q and k rows are permuted so
 * that rotary pairs are adjacent (2i, 2i+1) instead of Hugging Face's
 * rotate-half (i, i + d/2); the weights are otherwise those of the same
 * model.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/strata.h>

#include "cli.h"

struct gen_config {
	const char *name;
	uint32_t dim, hidden, layers, heads, kv_heads, vocab, ctx;
};

/* ../shared/bench-method.md's shapes: dim / hidden / layers / heads /
 * kv-heads / vocab / max-seq. */
static const struct gen_config configs[] = {
	{ "tiny-15m", 288, 768, 6, 6, 6, 32000, 256 },
	{ "small-110m", 768, 2048, 12, 12, 12, 32000, 1024 },
	{ "base-1b", 2048, 5632, 22, 32, 4, 32000, 2048 },
};

enum gen_dtype { GEN_F32, GEN_F16, GEN_BF16 };

/* GGML type numbers and GGUF value types. */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_BF16 = 30 };
enum { V_U32 = 4, V_I32 = 5, V_F32 = 6, V_BOOL = 7, V_STR = 8, V_ARR = 9 };

struct out {
	FILE *f;
	uint64_t at; /* bytes written */
	uint64_t nkv; /* key/value pairs written (patched into the header) */
	int err;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (!o->err && fwrite(p, 1, n, o->f) != n)
		o->err = -errno;
	o->at += n;
}

static void put_u32(struct out *o, uint32_t v)
{
	put(o, &v, 4);
}

static void put_u64(struct out *o, uint64_t v)
{
	put(o, &v, 8);
}

static void put_str(struct out *o, const char *s, size_t len)
{
	put_u64(o, len);
	put(o, s, len);
}

/* A key and its value type. */
static void put_key(struct out *o, const char *key, uint32_t type)
{
	put_str(o, key, strlen(key));
	put_u32(o, type);
	o->nkv++;
}

static void kv_u32(struct out *o, const char *key, uint32_t v)
{
	put_key(o, key, V_U32);
	put_u32(o, v);
}

static void kv_f32(struct out *o, const char *key, float v)
{
	put_key(o, key, V_F32);
	put(o, &v, 4);
}

static void kv_bool(struct out *o, const char *key, int v)
{
	uint8_t b = (uint8_t)!!v;

	put_key(o, key, V_BOOL);
	put(o, &b, 1);
}

static void kv_str(struct out *o, const char *key, const char *v)
{
	put_key(o, key, V_STR);
	put_str(o, v, strlen(v));
}

/* ---- the vocabulary ---------------------------------------------------------- */

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

#define NSPECIAL 5 /* <unk> <s> </s> <|im_start|> <|im_end|> */

/* Token @i's text into @buf (64 bytes): its length.  Past the specials and
 * the bytes come made-up words (Ġ for their leading space, as GPT-2
 * writes it), so that what a model with random weights says is at least
 * readable noise. */
static size_t token_text(uint32_t i, char *buf)
{
	static const char *const special[NSPECIAL] = { "<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>" };
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
	size_t n = 0;

	if (i < NSPECIAL)
		return (size_t)snprintf(buf, 64, "%s", special[i]);
	if (i < NSPECIAL + 256)
		return byte_token(i - NSPECIAL, buf);
	buf[n++] = (char)0xc4, buf[n++] = (char)0xa0; /* Ġ */
	for (uint32_t k = i; k; k /= 70) {
		buf[n++] = cons[k % 14];
		buf[n++] = vow[k / 14 % 5];
	}
	return n;
}

static void write_vocab(struct out *o, uint32_t vocab)
{
	char buf[64];
	uint32_t i;

	kv_str(o, "tokenizer.ggml.model", "gpt2");
	kv_str(o, "tokenizer.ggml.pre", "default");
	put_key(o, "tokenizer.ggml.tokens", V_ARR);
	put_u32(o, V_STR);
	put_u64(o, vocab);
	for (i = 0; i < vocab; i++)
		put_str(o, buf, token_text(i, buf));
	put_key(o, "tokenizer.ggml.token_type", V_ARR);
	put_u32(o, V_I32);
	put_u64(o, vocab);
	for (i = 0; i < vocab; i++) {
		int32_t t = i == 0 ? 2 : i < NSPECIAL ? 3 : 1; /* unknown, control, normal */

		put(o, &t, 4);
	}
	put_key(o, "tokenizer.ggml.merges", V_ARR);
	put_u32(o, V_STR);
	put_u64(o, 0);
	kv_u32(o, "tokenizer.ggml.unknown_token_id", 0);
	kv_u32(o, "tokenizer.ggml.bos_token_id", 1);
	kv_u32(o, "tokenizer.ggml.eos_token_id", 2);
	kv_bool(o, "tokenizer.ggml.add_bos_token", 1);
	kv_str(o, "tokenizer.chat_template",
	       "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
	       "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
}

/* ---- the weights ------------------------------------------------------------- */

struct tensor {
	char name[64];
	uint32_t rows, cols; /* cols 0: a vector of rows */
	unsigned kind; /* 0 matrix, 1 norm (ones), 2 q, 3 k (permuted for GGUF) */
	uint32_t layer;
	uint64_t offset, bytes;
};

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

static unsigned elem_size(enum gen_dtype d, const struct tensor *t)
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

static void write_tensor(struct out *o, const struct tensor *t, uint32_t id, const struct gen_config *c,
			 enum gen_dtype d, int gguf)
{
	uint64_t rows = t->cols ? t->rows : 1, cols = t->cols ? t->cols : t->rows;
	unsigned es = elem_size(d, t);
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

/* The model's tensors, in file order, GGUF names. */
static struct tensor *tensor_list(const struct gen_config *c, uint32_t *count)
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

static int write_gguf(const char *path, const struct gen_config *c, enum gen_dtype d)
{
	struct out o = { .f = fopen(path, "wb") };
	uint32_t n, i;
	struct tensor *t = tensor_list(c, &n);
	uint64_t data = 0;
	char name[96];

	if (!o.f || !t) {
		int e = o.f ? -ENOMEM : -errno;

		if (o.f)
			fclose(o.f);
		free(t);
		return e;
	}
	put(&o, "GGUF", 4);
	put_u32(&o, 3);
	put_u64(&o, n);
	put_u64(&o, 0); /* the key/value count: patched at the end */
	kv_str(&o, "general.architecture", "llama");
	snprintf(name, sizeof(name), "strata %s (generated, seed fixed)", c->name);
	kv_str(&o, "general.name", name);
	kv_u32(&o, "llama.context_length", c->ctx);
	kv_u32(&o, "llama.embedding_length", c->dim);
	kv_u32(&o, "llama.feed_forward_length", c->hidden);
	kv_u32(&o, "llama.block_count", c->layers);
	kv_u32(&o, "llama.attention.head_count", c->heads);
	kv_u32(&o, "llama.attention.head_count_kv", c->kv_heads);
	kv_f32(&o, "llama.rope.freq_base", 10000.0f);
	kv_f32(&o, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	write_vocab(&o, c->vocab);
	for (i = 0; i < n; i++) {
		uint32_t es = elem_size(d, &t[i]);
		uint32_t type = es == 4 ? GGML_F32 : d == GEN_F16 ? GGML_F16 : GGML_BF16;

		t[i].bytes = (uint64_t)t[i].rows * (t[i].cols ? t[i].cols : 1) * es;
		t[i].offset = data;
		data += (t[i].bytes + 31) & ~(uint64_t)31;
		put_str(&o, t[i].name, strlen(t[i].name));
		put_u32(&o, t[i].cols ? 2 : 1);
		if (t[i].cols)
			put_u64(&o, t[i].cols); /* ne[0]: the innermost */
		put_u64(&o, t[i].rows);
		put_u32(&o, type);
		put_u64(&o, t[i].offset);
	}
	while (o.at % 32)
		put(&o, "", 1);
	for (i = 0; i < n && !o.err; i++) {
		uint64_t start = o.at;

		write_tensor(&o, &t[i], i, c, d, 1);
		while ((o.at - start) % 32)
			put(&o, "", 1);
		if (isatty(2))
			fprintf(stderr, "\rgen-model: %u/%u tensors", i + 1, n);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	if (!o.err && (fseek(o.f, 16, SEEK_SET) || fwrite(&o.nkv, 8, 1, o.f) != 1))
		o.err = -errno;
	if (fclose(o.f) && !o.err)
		o.err = -errno;
	free(t);
	return o.err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: strata gen-model --config NAME [--dtype f32|f16|bf16] --format gguf -o FILE\n\n"
		   "  --config NAME   tiny-15m, small-110m or base-1b (shapes in bench-method.md)\n"
		   "  --dtype T       storage of the matrices (norms stay f32); default f32\n"
		   "  --format gguf   a GGUF file (llama.cpp's layout: q/k rows permuted for adjacent rotary pairs)\n"
		   "  -o FILE         where to write it\n");
}

int cmd_gen_model(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "dtype", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct gen_config *c = NULL;
	enum gen_dtype d = GEN_F32;
	const char *out = NULL, *format = "gguf";
	int opt, e;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
				if (!strcmp(optarg, configs[i].name))
					c = &configs[i];
			if (!c) {
				fprintf(stderr, "strata gen-model: unknown config '%s' (tiny-15m, small-110m, base-1b)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (!strcmp(optarg, "f32"))
				d = GEN_F32;
			else if (!strcmp(optarg, "f16"))
				d = GEN_F16;
			else if (!strcmp(optarg, "bf16"))
				d = GEN_BF16;
			else {
				fprintf(stderr, "strata gen-model: --dtype is f32, f16 or bf16, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f': format = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!c || !out || optind < argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(format, "gguf")) {
		fprintf(stderr, "strata gen-model: --format %s is not written yet; use --format gguf\n", format);
		return EXIT_USAGE;
	}
	e = write_gguf(out, c, d);
	if (e) {
		fprintf(stderr, "strata gen-model: %s: %s\n", out, strerror(-e));
		remove(out);
		return 1;
	}
	fprintf(stderr, "gen-model: wrote %s (%s, %s)\n", out, c->name, d == GEN_F32 ? "f32" : d == GEN_F16 ? "f16" : "bf16");
	return 0;
}
