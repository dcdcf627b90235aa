/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/gen_gguf.c — a generated model as one GGUF v3 file, the way
 * llama.cpp's converter writes a Llama: q and k rows permuted so that
 * rotary pairs are adjacent (2i, 2i+1) rather than Hugging Face's
 * rotate-half (i, i + d/2); otherwise the same weights as the Hugging Face
 * layout (gen_hf.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_model.h"

/* GGML type numbers and GGUF value types. */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_BF16 = 30 };
enum { V_U32 = 4, V_I32 = 5, V_F32 = 6, V_BOOL = 7, V_STR = 8, V_ARR = 9 };

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
		put_str(o, buf, gen_token_text(i, buf));
	put_key(o, "tokenizer.ggml.token_type", V_ARR);
	put_u32(o, V_I32);
	put_u64(o, vocab);
	for (i = 0; i < vocab; i++) {
		int32_t t = i == 0 ? 2 : i < GEN_NSPECIAL ? 3 : 1; /* unknown, control, normal */

		put(o, &t, 4);
	}
	put_key(o, "tokenizer.ggml.merges", V_ARR);
	put_u32(o, V_STR);
	put_u64(o, 0);
	kv_u32(o, "tokenizer.ggml.unknown_token_id", 0);
	kv_u32(o, "tokenizer.ggml.bos_token_id", 1);
	kv_u32(o, "tokenizer.ggml.eos_token_id", 2);
	kv_bool(o, "tokenizer.ggml.add_bos_token", 1);
	kv_str(o, "tokenizer.chat_template", gen_chat_template);
}

/* ---- the file --------------------------------------------------------------- */

int gen_write_gguf(const char *path, const struct gen_config *c, enum gen_dtype d)
{
	struct out o = { .f = fopen(path, "wb") };
	uint32_t n, i;
	struct tensor *t = gen_tensors(c, &n);
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
		uint32_t es = gen_elem_size(d, &t[i]);
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

		gen_write_tensor(&o, &t[i], i, c, d, 1);
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
