/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/vocab.h — a model's vocabulary and its tokenizer: byte-
 * level BPE (GGUF "gpt2": GPT-2, Llama 3, SmolLM) and SentencePiece (GGUF
 * "llama": Llama 2), with their special tokens.
 */
#ifndef STRATA_SERVE_VOCAB_H
#define STRATA_SERVE_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/strata.h>

enum llm_vocab_kind { LLM_VOCAB_BPE, LLM_VOCAB_SPM };

/* GGUF token types. */
enum {
	LLM_TOKEN_NORMAL = 1,
	LLM_TOKEN_UNKNOWN = 2,
	LLM_TOKEN_CONTROL = 3,
	LLM_TOKEN_USER = 4,
	LLM_TOKEN_UNUSED = 5,
	LLM_TOKEN_BYTE = 6,
};

/* Open-addressing map from byte strings to numbers (vocab.c). */
struct llm_strmap {
	uint32_t cap; /* a power of two; 0 when empty */
	uint32_t count;
	uint32_t *slot; /* value + 1; 0 is free */
	const char **key; /* per slot */
	uint32_t *keylen;
};

struct llm_vocab {
	enum llm_vocab_kind kind;
	uint32_t n;
	char **text; /* token texts as the file has them (BPE: bytes mapped to code points) */
	uint32_t *len;
	int32_t *type;
	float *score; /* SentencePiece */
	struct llm_strmap ids; /* text → id */
	struct llm_strmap merges; /* BPE: "left right" → rank */
	char *merge_blob; /* the merges' texts, which the map's keys point into */
	int32_t bos, eos, unk, eot; /* -1 when absent; eot: the chat turn's end */
	bool add_bos, add_space_prefix;
	int32_t *special; /* control and user-defined tokens, longest first */
	uint32_t nspecial;
	uint32_t max_len; /* the longest token text, in bytes */
	void *pre; /* BPE pre-tokenizer: compiled expressions (tokenize.c) */
	char *template; /* tokenizer.chat_template, or NULL */
	int32_t byte_token[256]; /* SentencePiece: <0xXX> tokens, -1 when absent */
};

int llm_vocab_gguf(struct strata_model *file, const char *path, int64_t vocab_size, struct llm_vocab **out,
		   char *err, size_t errlen);
/* A byte-level BPE tokenizer.json (and tokenizer_config.json) in @dir (hf.c). */
int llm_vocab_hf(const char *dir, int64_t vocab_size, struct llm_vocab **out, char *err, size_t errlen);
void llm_vocab_free(struct llm_vocab *v);

/* Index a vocabulary whose texts and types are set: the text → id map,
 * and the control and user-defined tokens, longest first.  Return: 0;
 * -ENOMEM. */
int llm_vocab_index(struct llm_vocab *v);
/* The token that ends a chat turn: the template's end marker when the
 * vocabulary has one, else end-of-sequence. */
int32_t llm_vocab_end_of_turn(const struct llm_vocab *v);

/* The id of the token whose text is exactly @s, or -1. */
int32_t llm_vocab_find(const struct llm_vocab *v, const char *s, size_t len);

/* Map @key → @value (keys are borrowed).  Return: 0; -ENOMEM. */
int llm_strmap_put(struct llm_strmap *m, const char *key, uint32_t len, uint32_t value);
/* Return: the value, or -1. */
int64_t llm_strmap_get(const struct llm_strmap *m, const char *key, size_t len);
void llm_strmap_free(struct llm_strmap *m);

/* Compile the pre-tokenizer named by tokenizer.ggml.pre (tokenize.c). */
int llm_pre_compile(struct llm_vocab *v, const char *pre, size_t len, char *err, size_t errlen);
void llm_pre_free(struct llm_vocab *v);

/* @s (@len bytes) with every invalid UTF-8 byte replaced by U+FFFD (as
 * llama.cpp does before tokenizing), NUL-terminated and malloc'ed, its
 * length in *@out_len; NULL when out of memory. */
char *llm_utf8_clean(const char *s, size_t len, size_t *out_len);

/* The fewest tokens @bytes of text can become: a token's text is never
 * shorter than the text it stands for (byte-level BPE spells a byte with
 * one or two, SentencePiece a space with three), so the longest token
 * bounds it.  Lets a prompt too long for the context be refused before
 * tokenizing. */
uint64_t llm_tokens_at_least(const struct llm_vocab *v, size_t bytes);

/*
 * llm_tokenize() - @text (@len bytes of UTF-8; invalid bytes count as
 * U+FFFD) as token ids, appended to
 * *@ids (grown with realloc; *@n counts them, *@cap its room).  With
 * @special, control and user-defined tokens written in the text are
 * recognised (chat templates write them); otherwise they are plain text.
 * Return: 0; -ENOMEM.
 */
int llm_tokenize(const struct llm_vocab *v, const char *text, size_t len, bool special, int32_t **ids, uint32_t *n,
		 uint32_t *cap);

/* The bytes token @id stands for, into @buf (at most @cap).  Control tokens
 * give nothing unless @special.  Return: the byte count (it may exceed
 * @cap: then only @cap were written); -EINVAL for an id out of range. */
int llm_token_bytes(const struct llm_vocab *v, int32_t id, bool special, char *buf, size_t cap);

#endif /* STRATA_SERVE_VOCAB_H */
