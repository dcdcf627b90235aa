/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/hf.c — a model in Hugging Face's layout: config.json
 * (LlamaConfig), safetensors weights under the standard names (one file or
 * shards with an index), and a byte-level BPE tokenizer.json with
 * tokenizer_config.json (special tokens, chat template).
 *
 * The config fields that change the arithmetic are honoured
 * (num_key_value_heads, rope_theta, rms_norm_eps, tie_word_embeddings);
 * ones that would change it in ways this engine does not implement
 * (rope_scaling, another activation, attention or MLP biases) are refused
 * by name rather than ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm.h"
#include "vocab.h"

/* A JSON object from @dir/@file.  The file is opened without blocking and
 * must be a regular one: a FIFO planted as config.json would otherwise
 * hang the open. */
static json_t *load(const char *dir, const char *file, char *path, size_t plen, char *err, size_t len, int *e)
{
	json_error_t je;
	struct stat st;
	json_t *o;
	int fd;

	snprintf(path, plen, "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*e = llm_fail(err, len, -EINVAL, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		*e = llm_fail(err, len, -EINVAL, "%s: not a regular file", path);
		return NULL;
	}
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (!o)
		*e = llm_fail(err, len, -EINVAL, "%s: %s (line %d)", path, je.text, je.line);
	else if (!json_is_object(o))
		*e = llm_fail(err, len, -EINVAL, "%s: not a JSON object", path), json_decref(o), o = NULL;
	return o;
}

static int need_int(json_t *o, const char *path, const char *key, int64_t *out, char *err, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return llm_fail(err, len, -EINVAL, "%s: the field %s is missing", path, key);
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return llm_fail(err, len, -EINVAL, "%s: %s is not a positive integer", path, key);
	*out = json_integer_value(v);
	return 0;
}

int llm_hparams_hf(const char *dir, struct llm_hparams *hp, char *err, size_t len)
{
	char path[1024];
	int e = 0;
	json_t *o = load(dir, "config.json", path, sizeof(path), err, len, &e), *v;

	if (!o)
		return e;
	memset(hp, 0, sizeof(*hp));
	v = json_object_get(o, "model_type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "llama"))
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: model_type is %s; only \"llama\" is supported", path,
			 json_is_string(v) ? json_string_value(v) : "missing");
	if (!e && (v = json_object_get(o, "rope_scaling")) && !json_is_null(v))
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: rope_scaling is set; scaled rotary embeddings are not supported", path);
	if (!e && (v = json_object_get(o, "hidden_act")) && (!json_is_string(v) || strcmp(json_string_value(v), "silu")))
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: hidden_act must be \"silu\"", path);
	if (!e && ((v = json_object_get(o, "attention_bias")) || (v = json_object_get(o, "mlp_bias"))) && json_is_true(v))
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: attention_bias / mlp_bias: biases are not supported", path);
	if (!e)
		e = need_int(o, path, "hidden_size", &hp->dim, err, len);
	if (!e)
		e = need_int(o, path, "intermediate_size", &hp->hidden, err, len);
	if (!e)
		e = need_int(o, path, "num_hidden_layers", &hp->layers, err, len);
	if (!e)
		e = need_int(o, path, "num_attention_heads", &hp->heads, err, len);
	if (!e)
		e = need_int(o, path, "vocab_size", &hp->vocab, err, len);
	if (!e) {
		hp->kv_heads = hp->heads;
		if (json_object_get(o, "num_key_value_heads"))
			e = need_int(o, path, "num_key_value_heads", &hp->kv_heads, err, len);
	}
	if (!e) {
		hp->ctx_train = 2048;
		if ((v = json_object_get(o, "max_position_embeddings")) && json_is_integer(v))
			hp->ctx_train = json_integer_value(v);
		hp->rope_theta = (v = json_object_get(o, "rope_theta")) && json_is_number(v) ? (float)json_number_value(v)
											     : 10000.0f;
		hp->eps = (v = json_object_get(o, "rms_norm_eps")) && json_is_number(v) ? (float)json_number_value(v) : 1e-6f;
		hp->tied = json_is_true(json_object_get(o, "tie_word_embeddings"));
		hp->head_dim = hp->dim / hp->heads;
		hp->rope_layout = STRATA_ROPE_HALF;
		if (hp->dim % hp->heads || hp->head_dim % 2)
			e = llm_fail(err, len, -EINVAL, "%s: hidden_size %lld is not an even multiple of %lld heads", path,
				 (long long)hp->dim, (long long)hp->heads);
		else if (hp->heads % hp->kv_heads)
			e = llm_fail(err, len, -EINVAL, "%s: num_key_value_heads %lld does not divide %lld heads", path,
				 (long long)hp->kv_heads, (long long)hp->heads);
	}
	json_decref(o);
	return e;
}

const char *llm_hf_name(const char *gguf, char *buf, size_t len)
{
	static const struct {
		const char *gguf, *hf;
	} layer[] = {
		{ "attn_norm", "input_layernorm" },	  { "attn_q", "self_attn.q_proj" },
		{ "attn_k", "self_attn.k_proj" },	  { "attn_v", "self_attn.v_proj" },
		{ "attn_output", "self_attn.o_proj" },	  { "ffn_norm", "post_attention_layernorm" },
		{ "ffn_gate", "mlp.gate_proj" },	  { "ffn_up", "mlp.up_proj" },
		{ "ffn_down", "mlp.down_proj" },
	};
	char part[32];
	unsigned l;

	if (!strcmp(gguf, "token_embd.weight"))
		return "model.embed_tokens.weight";
	if (!strcmp(gguf, "output_norm.weight"))
		return "model.norm.weight";
	if (!strcmp(gguf, "output.weight"))
		return "lm_head.weight";
	if (sscanf(gguf, "blk.%u.%31[a-z_]", &l, part) == 2)
		for (size_t i = 0; i < sizeof(layer) / sizeof(layer[0]); i++)
			if (!strcmp(part, layer[i].gguf)) {
				snprintf(buf, len, "model.layers.%u.%s.weight", l, layer[i].hf);
				return buf;
			}
	return gguf;
}

/* ---- tokenizer.json ------------------------------------------------------------- */

/* Pack @n strings (NULL ones empty) into one block: v->text / v->len. */
static int pack_texts(struct llm_vocab *v, const char **s, uint32_t n)
{
	size_t total = 0, at = 0;
	char *blob;

	for (uint32_t i = 0; i < n; i++)
		total += (s[i] ? strlen(s[i]) : 0) + 1;
	v->text = calloc(n, sizeof(*v->text));
	v->len = calloc(n, sizeof(*v->len));
	blob = malloc(total);
	if (!v->text || !v->len || !blob) {
		free(blob);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t l = s[i] ? strlen(s[i]) : 0;

		memcpy(blob + at, s[i] ? s[i] : "", l + 1);
		v->text[i] = blob + at;
		v->len[i] = (uint32_t)l;
		at += l + 1;
	}
	return 0;
}

static int merges(struct llm_vocab *v, json_t *list, const char *path, char *err, size_t len)
{
	size_t total = 0, at = 0, i;
	json_t *m;
	char *blob;

	json_array_foreach(list, i, m) {
		if (json_is_string(m))
			total += json_string_length(m) + 1;
		else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
			 json_is_string(json_array_get(m, 1)))
			total += json_string_length(json_array_get(m, 0)) + json_string_length(json_array_get(m, 1)) + 2;
		else
			return llm_fail(err, len, -EINVAL, "%s: model.merges[%zu] is neither \"a b\" nor [a, b]", path, i);
	}
	blob = v->merge_blob = malloc(total ? total : 1);
	if (!blob)
		return -ENOMEM;
	json_array_foreach(list, i, m) {
		char *start = blob + at;
		int n = json_is_string(m) ? snprintf(start, total - at + 1, "%s", json_string_value(m))
					  : snprintf(start, total - at + 1, "%s %s", json_string_value(json_array_get(m, 0)),
						     json_string_value(json_array_get(m, 1)));

		at += (size_t)n + 1;
		if (llm_strmap_put(&v->merges, start, (uint32_t)n, (uint32_t)i))
			return -ENOMEM;
	}
	return 0;
}

/* The pre-tokenizer's name (tokenize.c's table) from tokenizer.json's. */
static const char *pre_name(json_t *pre)
{
	const char *type = json_string_value(json_object_get(pre, "type"));
	json_t *p;
	size_t i;

	if (type && !strcmp(type, "ByteLevel"))
		return json_is_false(json_object_get(pre, "use_regex")) ? NULL : "default";
	if (!type || strcmp(type, "Sequence"))
		return NULL;
	/* Llama 3: Split on its expression, then ByteLevel without one. */
	json_array_foreach(json_object_get(pre, "pretokenizers"), i, p) {
		const char *re = json_string_value(json_object_get(json_object_get(p, "pattern"), "Regex"));

		if (re && strstr(re, "\\p{N}{1,3}"))
			return "llama3";
	}
	return NULL;
}

/* The id of a special token named in tokenizer_config.json (a string, or
 * an object with "content"). */
static int32_t token_id(const struct llm_vocab *v, json_t *t)
{
	const char *s = json_is_string(t) ? json_string_value(t) : json_string_value(json_object_get(t, "content"));

	return s ? llm_vocab_find(v, s, strlen(s)) : -1;
}

int llm_vocab_hf(const char *dir, int64_t vocab_size, struct llm_vocab **out, char *err, size_t len)
{
	char path[1024], cpath[1024];
	int e = 0;
	json_t *tok = load(dir, "tokenizer.json", path, sizeof(path), err, len, &e), *model, *vmap, *val, *added, *a,
	       *cfg = NULL;
	struct llm_vocab *v = NULL;
	const char **texts = NULL, *key, *pre;
	size_t i;

	if (!tok)
		return e;
	model = json_object_get(tok, "model");
	vmap = json_object_get(model, "vocab");
	if (!json_is_string(json_object_get(model, "type")) || strcmp(json_string_value(json_object_get(model, "type")), "BPE") ||
	    !json_is_object(vmap)) {
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: model.type must be \"BPE\" with a vocab object", path);
		goto out;
	}
	if (!(pre = pre_name(json_object_get(tok, "pre_tokenizer")))) {
		e = llm_fail(err, len, -EOPNOTSUPP, "%s: pre_tokenizer is not byte-level (ByteLevel, or Llama 3's Split + ByteLevel)",
			 path);
		goto out;
	}
	v = calloc(1, sizeof(*v));
	texts = calloc((size_t)vocab_size, sizeof(*texts));
	if (!v || !texts) {
		e = -ENOMEM;
		goto out;
	}
	v->kind = LLM_VOCAB_BPE;
	v->bos = v->eos = v->unk = v->eot = -1;
	memset(v->byte_token, 0xff, sizeof(v->byte_token));
	json_object_foreach(vmap, key, val) {
		json_int_t id = json_integer_value(val);

		if (!json_is_integer(val) || id < 0 || id >= vocab_size) {
			e = llm_fail(err, len, -EINVAL, "%s: model.vocab[\"%s\"] is not an id below vocab_size %lld", path, key,
				 (long long)vocab_size);
			goto out;
		}
		texts[id] = key;
		v->n = (uint32_t)(id + 1 > v->n ? id + 1 : v->n);
	}
	added = json_object_get(tok, "added_tokens");
	json_array_foreach(added, i, a) {
		json_int_t id = json_integer_value(json_object_get(a, "id"));

		if (id >= 0 && id < vocab_size && json_is_string(json_object_get(a, "content"))) {
			texts[id] = json_string_value(json_object_get(a, "content"));
			v->n = (uint32_t)(id + 1 > v->n ? id + 1 : v->n);
		}
	}
	v->type = calloc(v->n, sizeof(*v->type));
	v->score = calloc(v->n, sizeof(*v->score));
	v->special = calloc(v->n, sizeof(*v->special));
	if (!v->type || !v->score || !v->special || (e = pack_texts(v, texts, v->n)))
		goto out;
	for (uint32_t k = 0; k < v->n; k++)
		v->type[k] = LLM_TOKEN_NORMAL;
	json_array_foreach(added, i, a) {
		json_int_t id = json_integer_value(json_object_get(a, "id"));

		if (id >= 0 && id < v->n)
			v->type[id] = json_is_true(json_object_get(a, "special")) ? LLM_TOKEN_CONTROL : LLM_TOKEN_USER;
	}
	if ((e = llm_vocab_index(v)) || (e = merges(v, json_object_get(model, "merges"), path, err, len)) ||
	    (e = llm_pre_compile(v, pre, strlen(pre), err, len)))
		goto out;
	cfg = load(dir, "tokenizer_config.json", cpath, sizeof(cpath), err, len, &e);
	e = 0; /* optional */
	if (cfg) {
		json_t *t = json_object_get(cfg, "chat_template");

		v->bos = token_id(v, json_object_get(cfg, "bos_token"));
		v->eos = token_id(v, json_object_get(cfg, "eos_token"));
		v->unk = token_id(v, json_object_get(cfg, "unk_token"));
		v->add_bos = json_is_true(json_object_get(cfg, "add_bos_token"));
		if (json_is_string(t) && !(v->template = strdup(json_string_value(t))))
			e = -ENOMEM;
	}
	v->eot = llm_vocab_end_of_turn(v);
out:
	free(texts);
	json_decref(tok);
	json_decref(cfg);
	if (e) {
		llm_vocab_free(v);
		return e;
	}
	*out = v;
	return 0;
}
