/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/gen_hf.c — a generated model in Hugging Face's layout:
 * config.json (LlamaConfig's fields), the weights as safetensors under the
 * standard names (one file, or shards and model.safetensors.index.json),
 * and the byte-level tokenizer as tokenizer.json with tokenizer_config.json
 * (special tokens, the ChatML template).  Rotary embedding is rotate-half,
 * as transformers computes it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen_model.h"

/* The Hugging Face name of @t (GGUF-named). */
static void hf_name(const struct tensor *t, char *buf, size_t len)
{
	static const struct {
		const char *gguf, *hf;
	} layer[] = {
		{ "attn_norm", "input_layernorm" },  { "attn_q", "self_attn.q_proj" },
		{ "attn_k", "self_attn.k_proj" },    { "attn_v", "self_attn.v_proj" },
		{ "attn_output", "self_attn.o_proj" }, { "ffn_norm", "post_attention_layernorm" },
		{ "ffn_gate", "mlp.gate_proj" },     { "ffn_up", "mlp.up_proj" },
		{ "ffn_down", "mlp.down_proj" },
	};
	char part[32];
	unsigned l;

	if (!strcmp(t->name, "token_embd.weight")) {
		snprintf(buf, len, "model.embed_tokens.weight");
		return;
	}
	if (!strcmp(t->name, "output_norm.weight")) {
		snprintf(buf, len, "model.norm.weight");
		return;
	}
	if (!strcmp(t->name, "output.weight")) {
		snprintf(buf, len, "lm_head.weight");
		return;
	}
	sscanf(t->name, "blk.%u.%31[a-z_]", &l, part);
	for (size_t i = 0; i < sizeof(layer) / sizeof(layer[0]); i++)
		if (!strcmp(part, layer[i].gguf))
			snprintf(buf, len, "model.layers.%u.%s.weight", l, layer[i].hf);
}

static int write_json(const char *dir, const char *file, json_t *o)
{
	char path[1024];
	int e;

	if (!o)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	e = json_dump_file(o, path, JSON_INDENT(2) | JSON_SORT_KEYS) ? -EIO : 0;
	json_decref(o);
	return e;
}

static int write_config(const char *dir, const struct gen_config *c, enum gen_dtype d)
{
	json_t *o = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:b,s:s,s:i,s:i,s:s,s:n}",
			      "architectures", "LlamaForCausalLM", "model_type", "llama", "hidden_size", (json_int_t)c->dim,
			      "intermediate_size", (json_int_t)c->hidden, "num_hidden_layers", (json_int_t)c->layers,
			      "num_attention_heads", (json_int_t)c->heads, "num_key_value_heads", (json_int_t)c->kv_heads,
			      "vocab_size", (json_int_t)c->vocab, "max_position_embeddings", (json_int_t)c->ctx,
			      "rms_norm_eps", 1e-5, "rope_theta", 10000.0, "tie_word_embeddings", 0, "torch_dtype",
			      d == GEN_F32 ? "float32" : d == GEN_F16 ? "float16" : "bfloat16", "bos_token_id", 1,
			      "eos_token_id", 2, "hidden_act", "silu", "rope_scaling");

	return write_json(dir, "config.json", o);
}

static int write_tokenizer(const char *dir, const struct gen_config *c)
{
	json_t *vocab = json_object(), *added = json_array(), *tok, *cfg;
	char text[64];
	int e;

	for (uint32_t i = 0; i < c->vocab; i++) {
		size_t n = gen_token_text(i, text);

		json_object_set_new(vocab, (text[n] = 0, text), json_integer(i));
		if (i < GEN_NSPECIAL)
			json_array_append_new(added, json_pack("{s:i,s:s,s:b,s:b,s:b,s:b,s:b}", "id", (json_int_t)i, "content",
							       text, "single_word", 0, "lstrip", 0, "rstrip", 0,
							       "normalized", 0, "special", 1));
	}
	tok = json_pack("{s:s,s:o,s:n,s:{s:s,s:b,s:b,s:b},s:n,s:{s:s,s:b,s:b,s:b},s:{s:s,s:n,s:n,s:b,s:b,s:o,s:[]}}",
			"version", "1.0", "added_tokens", added, "normalizer", "pre_tokenizer", "type", "ByteLevel",
			"add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "post_processor", "decoder", "type",
			"ByteLevel", "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE",
			"dropout", "unk_token", "fuse_unk", 0, "byte_fallback", 0, "vocab", vocab, "merges");
	e = write_json(dir, "tokenizer.json", tok);
	if (e)
		return e;
	cfg = json_pack("{s:s,s:s,s:s,s:b,s:s,s:i}", "bos_token", "<s>", "eos_token", "</s>", "unk_token", "<unk>",
			"add_bos_token", 1, "chat_template", gen_chat_template, "model_max_length", (json_int_t)c->ctx);
	return write_json(dir, "tokenizer_config.json", cfg);
}

/* Tensors [@from, @to) of @t as one safetensors file. */
static int write_shard(const char *path, struct tensor *t, uint32_t from, uint32_t to, const struct gen_config *c,
		       enum gen_dtype d)
{
	json_t *hdr = json_pack("{s:{s:s}}", "__metadata__", "format", "pt");
	struct out o = { .f = fopen(path, "wb") };
	uint64_t data = 0, len;
	char name[128], *text;
	uint32_t i;

	if (!o.f || !hdr) {
		int e = o.f ? -ENOMEM : -errno;

		if (o.f)
			fclose(o.f);
		json_decref(hdr);
		return e;
	}
	for (i = from; i < to; i++) {
		unsigned es = gen_elem_size(d, &t[i]);
		json_t *shape = t[i].cols ? json_pack("[i,i]", (json_int_t)t[i].rows, (json_int_t)t[i].cols)
					  : json_pack("[i]", (json_int_t)t[i].rows);

		t[i].bytes = (uint64_t)t[i].rows * (t[i].cols ? t[i].cols : 1) * es;
		hf_name(&t[i], name, sizeof(name));
		json_object_set_new(hdr, name,
				    json_pack("{s:s,s:o,s:[I,I]}", "dtype", es == 4 ? "F32" : d == GEN_F16 ? "F16" : "BF16",
					      "shape", shape, "data_offsets", (json_int_t)data, (json_int_t)(data + t[i].bytes)));
		data += t[i].bytes;
	}
	text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(hdr);
	if (!text) {
		fclose(o.f);
		return -ENOMEM;
	}
	len = (strlen(text) + 7) & ~(uint64_t)7; /* the data starts 8-byte aligned */
	put_u64(&o, len);
	put(&o, text, strlen(text));
	for (uint64_t k = strlen(text); k < len; k++)
		put(&o, " ", 1);
	free(text);
	for (i = from; i < to && !o.err; i++)
		gen_write_tensor(&o, &t[i], i, c, d, 0);
	if (fclose(o.f) && !o.err)
		o.err = -errno;
	return o.err;
}

int gen_write_hf(const char *dir, const struct gen_config *c, enum gen_dtype d, unsigned shards)
{
	uint32_t n, s;
	struct tensor *t = gen_tensors(c, &n);
	json_t *map = json_object();
	uint64_t total = 0;
	char path[1024], file[64], name[128];
	int e = 0;

	if (!t || !map) {
		free(t);
		json_decref(map);
		return -ENOMEM;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		free(t);
		json_decref(map);
		return -errno;
	}
	for (s = 0; s < shards && !e; s++) {
		uint32_t from = s * n / shards, to = (s + 1) * n / shards;

		if (shards == 1)
			snprintf(file, sizeof(file), "model.safetensors");
		else
			snprintf(file, sizeof(file), "model-%05u-of-%05u.safetensors", s + 1, shards);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		e = write_shard(path, t, from, to, c, d);
		for (uint32_t i = from; i < to; i++) {
			hf_name(&t[i], name, sizeof(name));
			json_object_set_new(map, name, json_string(file));
			total += t[i].bytes;
		}
	}
	if (!e && shards > 1)
		e = write_json(dir, "model.safetensors.index.json",
			       json_pack("{s:{s:I},s:O}", "metadata", "total_size", (json_int_t)total, "weight_map", map));
	if (!e)
		e = write_config(dir, c, d);
	if (!e)
		e = write_tokenizer(dir, c);
	json_decref(map);
	free(t);
	return e;
}
