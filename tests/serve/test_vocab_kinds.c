/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/test_vocab_kinds.c — the tokenizer paths no model within
 * reach exercises, on small hand-made vocabularies: SentencePiece (merges
 * by score, the leading U+2581, byte fallback for what the vocabulary
 * lacks, round trips), and the Llama 2 and Llama 3 chat templates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "chat.h"
#include "vocab.h"

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* A vocabulary of @n texts, with scores and token types when given. */
static struct llm_vocab *make(enum llm_vocab_kind kind, const char *const *texts, const float *scores,
			      const int *types, uint32_t n)
{
	struct llm_vocab *v = calloc(1, sizeof(*v));
	size_t total = 0, at = 0;
	char *blob;

	assert_non_null(v);
	for (uint32_t i = 0; i < n; i++)
		total += strlen(texts[i]) + 1;
	v->kind = kind;
	v->n = n;
	v->text = calloc(n, sizeof(*v->text));
	v->len = calloc(n, sizeof(*v->len));
	v->type = calloc(n, sizeof(*v->type));
	v->score = calloc(n, sizeof(*v->score));
	v->special = calloc(n, sizeof(*v->special));
	blob = malloc(total);
	memset(v->byte_token, 0xff, sizeof(v->byte_token));
	for (uint32_t i = 0; i < n; i++) {
		memcpy(blob + at, texts[i], strlen(texts[i]) + 1);
		v->text[i] = blob + at;
		v->len[i] = (uint32_t)strlen(texts[i]);
		at += v->len[i] + 1;
		v->type[i] = types ? types[i] : LLM_TOKEN_NORMAL;
		v->score[i] = scores ? scores[i] : 0;
		if (v->type[i] == LLM_TOKEN_BYTE)
			v->byte_token[(uint8_t)strtol(texts[i] + 3, NULL, 16)] = (int32_t)i;
	}
	v->bos = 1, v->eos = 2, v->unk = 0;
	assert_int_equal(llm_vocab_index(v), 0);
	return v;
}

static char *decode(const struct llm_vocab *v, const int32_t *ids, uint32_t n)
{
	char *out = calloc(1, 1024);
	size_t at = 0;

	for (uint32_t i = 0; i < n; i++)
		at += (size_t)llm_token_bytes(v, ids[i], false, out + at, 64);
	return out;
}

static void sentencepiece(void **state)
{
	static const char *const texts[] = {
		"<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>", SP, "h", "e", "l", "o", "w", "r", "d",
		SP "h", "he", "ll", SP "he", "llo", SP "hello", SP "w", "or", SP "wor", "ld", SP "world", "!",
	};
	static const float scores[] = {
		0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -2, -3, -3, -4, -5, -6, -2, -3, -4, -3, -5, -1,
	};
	static const int types[] = {
		LLM_TOKEN_UNKNOWN, LLM_TOKEN_CONTROL, LLM_TOKEN_CONTROL, LLM_TOKEN_BYTE, LLM_TOKEN_BYTE,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	};
	struct llm_vocab *v = make(LLM_VOCAB_SPM, texts, scores, types, 25);
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	char *back;

	(void)state;
	v->add_space_prefix = true;
	/* "hello world" → ▁hello ▁world: merges follow the scores. */
	assert_int_equal(llm_tokenize(v, "hello world", 11, false, &ids, &n, &cap), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 18);
	assert_int_equal(ids[1], 23);
	back = decode(v, ids, n);
	assert_string_equal(back, " hello world"); /* the prefix space is the caller's to drop */
	free(back);
	/* "é" is not a token: its two UTF-8 bytes come as <0xC3> <0xA9>. */
	n = 0;
	assert_int_equal(llm_tokenize(v, "h\xc3\xa9!", 4, false, &ids, &n, &cap), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ids[0], 13); /* ▁h */
	assert_int_equal(ids[1], 3);
	assert_int_equal(ids[2], 4);
	assert_int_equal(ids[3], 24);
	back = decode(v, ids, n);
	assert_string_equal(back, " h\xc3\xa9!");
	free(back);
	/* <s> in a template is the control token; in a client's text, text. */
	n = 0;
	assert_int_equal(llm_tokenize(v, "<s>hello", 8, true, &ids, &n, &cap), 0);
	/* "hello" after it takes no leading ▁: h e l l o → he l l o → he ll o →
	 * he llo (ties go to the leftmost pair; "hello" alone is no token). */
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 14);
	assert_int_equal(ids[2], 17);
	free(ids);
	llm_vocab_free(v);
}

static void llama_templates(void **state)
{
	static const char *const texts2[] = { "<unk>", "<s>", "</s>", "[INST]" };
	static const char *const texts3[] = { "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>" };
	static const int ctrl[] = { LLM_TOKEN_CONTROL, LLM_TOKEN_CONTROL, LLM_TOKEN_CONTROL, LLM_TOKEN_CONTROL };
	const struct llm_msg msgs[] = {
		{ "system", "Be brief." }, { "user", " Hi " }, { "assistant", "Hello." }, { "user", "Bye" },
	};
	struct llm_vocab *v2 = make(LLM_VOCAB_SPM, texts2, NULL, ctrl, 4), *v3 = make(LLM_VOCAB_BPE, texts3, NULL, ctrl, 4);
	enum llm_chat_style style;
	char *text;

	(void)state;
	v2->template = strdup("{% if messages[0]['role'] == 'system' %}... [INST] ... [/INST] ...");
	assert_int_equal(llm_chat_style(v2, &style), 0);
	assert_int_equal(style, LLM_CHAT_LLAMA2);
	assert_int_equal(llm_chat_render(v2, msgs, 4, &text), 0);
	assert_string_equal(text, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
	free(text);
	/* Llama 3 is recognised by its header tokens even without a template. */
	assert_int_equal(llm_chat_style(v3, &style), 0);
	assert_int_equal(style, LLM_CHAT_LLAMA3);
	assert_int_equal(llm_chat_render(v3, msgs + 1, 1, &text), 0);
	assert_string_equal(text, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
				  "<|start_header_id|>assistant<|end_header_id|>\n\n");
	free(text);
	/* A template of another kind is refused, not guessed. */
	free(v3->template);
	v3->template = strdup("{{ bos_token }}{% for m in messages %}<start_of_turn>...");
	assert_int_equal(llm_chat_style(v3, &style), -EOPNOTSUPP);
	llm_vocab_free(v2);
	llm_vocab_free(v3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sentencepiece),
		cmocka_unit_test(llama_templates),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, NULL, NULL);
}
