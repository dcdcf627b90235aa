/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/vocab.c — a vocabulary from a GGUF file's tokenizer.ggml.*
 * keys: token texts, types, scores, merges and special ids; and the small
 * string map the tokenizer looks them up in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "vocab.h"

/* ---- the string map ---------------------------------------------------------- */

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int grow(struct llm_strmap *m)
{
	struct llm_strmap bigger = { .cap = m->cap ? m->cap * 2 : 1024 };
	uint32_t i;

	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	bigger.key = calloc(bigger.cap, sizeof(*bigger.key));
	bigger.keylen = calloc(bigger.cap, sizeof(*bigger.keylen));
	if (!bigger.slot || !bigger.key || !bigger.keylen) {
		llm_strmap_free(&bigger);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		if (m->slot[i])
			llm_strmap_put(&bigger, m->key[i], m->keylen[i], m->slot[i] - 1);
	llm_strmap_free(m);
	*m = bigger;
	return 0;
}

int llm_strmap_put(struct llm_strmap *m, const char *key, uint32_t len, uint32_t value)
{
	uint32_t i;

	if ((m->count + 1) * 2 > m->cap) {
		int e = grow(m);

		if (e)
			return e;
	}
	for (i = hash(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slot[i]) {
			m->slot[i] = value + 1;
			m->key[i] = key;
			m->keylen[i] = len;
			m->count++;
			return 0;
		}
		if (m->keylen[i] == len && !memcmp(m->key[i], key, len))
			return 0; /* the first one stays */
	}
}

int64_t llm_strmap_get(const struct llm_strmap *m, const char *key, size_t len)
{
	uint32_t i;

	if (!m->cap)
		return -1;
	for (i = hash(key, len) & (m->cap - 1); m->slot[i]; i = (i + 1) & (m->cap - 1))
		if (m->keylen[i] == len && !memcmp(m->key[i], key, len))
			return m->slot[i] - 1;
	return -1;
}

void llm_strmap_free(struct llm_strmap *m)
{
	free(m->slot);
	free(m->key);
	free(m->keylen);
	memset(m, 0, sizeof(*m));
}

/* ---- the vocabulary -------------------------------------------------------- */

/* A numeric key, or @dflt when absent or not a number. */
static int64_t meta_int(struct strata_model *file, const char *key, int64_t dflt)
{
	double v;

	return llm_meta_number(file, key, &v) ? dflt : (int64_t)v;
}

/* The texts of a string array copied into one block: *@texts and *@lens
 * per element; (*@texts)[0] is the block (free it, then the arrays).
 * Return: 0; -EINVAL (not a string array); -ENOMEM. */
static int copy_strings(const struct strata_meta *m, char ***texts, uint32_t **lens)
{
	size_t total = 0, at = 0;
	uint64_t i;
	char *blob;

	if (m->type != STRATA_META_ARRAY || m->elem_type != STRATA_META_STRING)
		return -EINVAL;
	for (i = 0; i < m->count; i++) {
		const char *s;
		uint64_t len;

		if (strata_meta_array_string(m, i, &s, &len))
			return -EINVAL;
		total += len + 1;
	}
	*texts = calloc(m->count ? m->count : 1, sizeof(**texts));
	*lens = calloc(m->count ? m->count : 1, sizeof(**lens));
	blob = malloc(total ? total : 1);
	if (!*texts || !*lens || !blob) {
		free(blob);
		return -ENOMEM;
	}
	(*texts)[0] = blob; /* the block's owner, even for an empty array */
	for (i = 0; i < m->count; i++) {
		const char *s;
		uint64_t len;

		strata_meta_array_string(m, i, &s, &len);
		memcpy(blob + at, s, len);
		blob[at + len] = 0;
		(*texts)[i] = blob + at;
		(*lens)[i] = (uint32_t)len;
		at += len + 1;
	}
	return 0;
}

static int by_length_desc(const void *a, const void *b, void *arg)
{
	const struct llm_vocab *v = arg;
	uint32_t la = v->len[*(const int32_t *)a], lb = v->len[*(const int32_t *)b];

	return la < lb ? 1 : la > lb ? -1 : 0;
}

int llm_vocab_index(struct llm_vocab *v)
{
	int e;

	v->nspecial = 0;
	v->max_len = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		if ((e = llm_strmap_put(&v->ids, v->text[i], v->len[i], i)))
			return e;
		if (v->len[i] > v->max_len)
			v->max_len = v->len[i];
		if (v->type[i] == LLM_TOKEN_CONTROL || v->type[i] == LLM_TOKEN_USER)
			v->special[v->nspecial++] = (int32_t)i;
	}
	qsort_r(v->special, v->nspecial, sizeof(*v->special), by_length_desc, v);
	return 0;
}

int32_t llm_vocab_end_of_turn(const struct llm_vocab *v)
{
	static const char *const marks[] = { "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>" };

	for (unsigned i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		int32_t id = llm_vocab_find(v, marks[i], strlen(marks[i]));

		if (id >= 0)
			return id;
	}
	return v->eos;
}

static int read_merges(struct llm_vocab *v, struct strata_model *file, const char *path, char ***texts,
		       uint32_t **lens, uint64_t *count, char *err, size_t len)
{
	struct strata_meta m;
	uint64_t i;
	int e;

	if (strata_model_meta_find(file, "tokenizer.ggml.merges", &m))
		return llm_fail(err, len, -EINVAL, "%s: tokenizer.ggml.merges is missing (a BPE vocabulary needs it)", path);
	if ((e = copy_strings(&m, texts, lens)))
		return llm_fail(err, len, e, "%s: tokenizer.ggml.merges is not an array of strings", path);
	*count = m.count;
	for (i = 0; i < m.count; i++)
		if ((e = llm_strmap_put(&v->merges, (*texts)[i], (*lens)[i], (uint32_t)i)))
			return e;
	return 0;
}

int llm_vocab_gguf(struct strata_model *file, const char *path, int64_t vocab_size, struct llm_vocab **out,
		   char *err, size_t len)
{
	struct llm_vocab *v = calloc(1, sizeof(*v));
	struct strata_meta model, toks, m;
	char **merge_text = NULL;
	uint32_t *merge_len = NULL, i;
	uint64_t nmerges = 0;
	int e = 0;

	if (!v)
		return -ENOMEM;
	v->bos = v->eos = v->unk = v->eot = -1;
	memset(v->byte_token, 0xff, sizeof(v->byte_token));
	if (strata_model_meta_find(file, "tokenizer.ggml.model", &model) || model.type != STRATA_META_STRING) {
		e = llm_fail(err, len, -EINVAL, "%s: tokenizer.ggml.model is missing: the file has no tokenizer", path);
		goto out;
	}
	if (model.count == 4 && !memcmp(model.v.str, "gpt2", 4)) {
		v->kind = LLM_VOCAB_BPE;
	} else if (model.count == 5 && !memcmp(model.v.str, "llama", 5)) {
		v->kind = LLM_VOCAB_SPM;
	} else {
		e = llm_fail(err, len, -EOPNOTSUPP,
			 "%s: tokenizer.ggml.model is \"%.*s\"; supported: \"gpt2\" (byte-level BPE), \"llama\" (SentencePiece)",
			 path, (int)(model.count < 32 ? model.count : 32), model.v.str);
		goto out;
	}
	if (strata_model_meta_find(file, "tokenizer.ggml.tokens", &toks) || (e = copy_strings(&toks, &v->text, &v->len))) {
		e = llm_fail(err, len, -EINVAL, "%s: tokenizer.ggml.tokens is missing or not an array of strings", path);
		goto out;
	}
	if (toks.count == 0 || (int64_t)toks.count > vocab_size) {
		e = llm_fail(err, len, -EINVAL, "%s: tokenizer.ggml.tokens has %llu tokens; the embedding has %lld rows", path,
			 (unsigned long long)toks.count, (long long)vocab_size);
		goto out;
	}
	v->n = (uint32_t)toks.count;
	v->type = calloc(v->n, sizeof(*v->type));
	v->score = calloc(v->n, sizeof(*v->score));
	v->special = calloc(v->n, sizeof(*v->special));
	if (!v->type || !v->score || !v->special) {
		e = -ENOMEM;
		goto out;
	}
	for (i = 0; i < v->n; i++)
		v->type[i] = LLM_TOKEN_NORMAL;
	if (strata_model_meta_find(file, "tokenizer.ggml.token_type", &m) == 0) {
		double t;

		for (i = 0; i < v->n && i < m.count; i++)
			if (strata_meta_array_number(&m, i, &t) == 0)
				v->type[i] = (int32_t)t;
	}
	if (strata_model_meta_find(file, "tokenizer.ggml.scores", &m) == 0) {
		double s;

		for (i = 0; i < v->n && i < m.count; i++)
			if (strata_meta_array_number(&m, i, &s) == 0)
				v->score[i] = (float)s;
	}
	if ((e = llm_vocab_index(v)))
		goto out;
	if (v->kind == LLM_VOCAB_BPE) {
		struct strata_meta pre;

		if ((e = read_merges(v, file, path, &merge_text, &merge_len, &nmerges, err, len)))
			goto out;
		if (strata_model_meta_find(file, "tokenizer.ggml.pre", &pre) || pre.type != STRATA_META_STRING)
			pre = (struct strata_meta){ .v.str = "default", .count = 7 };
		if ((e = llm_pre_compile(v, pre.v.str, pre.count, err, len)))
			goto out;
	} else {
		for (i = 0; i < v->n; i++) {
			unsigned byte;

			if (v->type[i] == LLM_TOKEN_BYTE && v->len[i] == 6 && sscanf(v->text[i], "<0x%02X>", &byte) == 1)
				v->byte_token[byte] = (int32_t)i;
		}
	}
	v->bos = (int32_t)meta_int(file, "tokenizer.ggml.bos_token_id", -1);
	v->eos = (int32_t)meta_int(file, "tokenizer.ggml.eos_token_id", -1);
	v->unk = (int32_t)meta_int(file, "tokenizer.ggml.unknown_token_id", -1);
	v->add_bos = meta_int(file, "tokenizer.ggml.add_bos_token", v->kind == LLM_VOCAB_SPM) != 0;
	v->add_space_prefix = meta_int(file, "tokenizer.ggml.add_space_prefix", v->kind == LLM_VOCAB_SPM) != 0;
	if (v->bos >= (int32_t)v->n || v->eos >= (int32_t)v->n || v->unk >= (int32_t)v->n) {
		e = llm_fail(err, len, -EINVAL, "%s: a tokenizer.ggml.*_token_id is past the %u tokens", path, v->n);
		goto out;
	}
	v->eot = llm_vocab_end_of_turn(v);
	if (strata_model_meta_find(file, "tokenizer.chat_template", &m) == 0 && m.type == STRATA_META_STRING) {
		v->template = strndup(m.v.str, m.count);
		if (!v->template)
			e = -ENOMEM;
	}
out:
	/* The merge map's keys point into merge_text: kept with the vocabulary. */
	if (merge_text) {
		v->merge_blob = merge_text[0];
		free(merge_text);
	}
	free(merge_len);
	if (e) {
		llm_vocab_free(v);
		return e;
	}
	*out = v;
	return 0;
}

int32_t llm_vocab_find(const struct llm_vocab *v, const char *s, size_t len)
{
	return (int32_t)llm_strmap_get(&v->ids, s, len);
}

void llm_vocab_free(struct llm_vocab *v)
{
	if (!v)
		return;
	llm_pre_free(v);
	llm_strmap_free(&v->ids);
	llm_strmap_free(&v->merges);
	if (v->text)
		free(v->text[0]);
	free(v->text);
	free(v->len);
	free(v->type);
	free(v->score);
	free(v->special);
	free(v->merge_blob);
	free(v->template);
	free(v);
}
