/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/gen_model.h — what the writers of `strata gen-model` share:
 * the configurations, the weights (a pure function of tensor and position,
 * so any file layout can write them in any order), the byte-level
 * vocabulary, and a checked byte writer.
 */
#ifndef STRATA_CLI_GEN_MODEL_H
#define STRATA_CLI_GEN_MODEL_H

#include <stdint.h>
#include <stdio.h>

struct gen_config {
	const char *name;
	uint32_t dim, hidden, layers, heads, kv_heads, vocab, ctx;
};

enum gen_dtype { GEN_F32, GEN_F16, GEN_BF16 };

/* The configuration named @name, or NULL. */
const struct gen_config *gen_config_find(const char *name);

struct out {
	FILE *f;
	uint64_t at; /* bytes written */
	uint64_t nkv; /* GGUF: key/value pairs written (patched into the header) */
	int err; /* the first error, as a negative errno */
};

void put(struct out *o, const void *p, size_t n);
void put_u32(struct out *o, uint32_t v);
void put_u64(struct out *o, uint64_t v);

/* One tensor of the model: GGUF name, shape and what its values are. */
struct tensor {
	char name[64];
	uint32_t rows, cols; /* cols 0: a vector of rows */
	unsigned kind; /* 0 matrix, 1 norm (ones), 2 q, 3 k (permuted for GGUF) */
	uint32_t layer;
	uint64_t offset, bytes;
};

/* Every tensor, in file order, GGUF names (free the array).  NULL: ENOMEM. */
struct tensor *gen_tensors(const struct gen_config *c, uint32_t *count);
/* Bytes per element of @t stored as @d (norms stay f32). */
unsigned gen_elem_size(enum gen_dtype d, const struct tensor *t);
/* Tensor number @id's values, as @d; @gguf permutes q and k rows. */
void gen_write_tensor(struct out *o, const struct tensor *t, uint32_t id, const struct gen_config *c,
		      enum gen_dtype d, int gguf);

#define GEN_NSPECIAL 5 /* <unk> <s> </s> <|im_start|> <|im_end|> */
/* Token @i's text (GPT-2's byte-level spelling) into @buf (64 bytes): its
 * length. */
size_t gen_token_text(uint32_t i, char *buf);
/* The ChatML template both formats carry. */
extern const char gen_chat_template[];

/* The writers: 0 or a negative errno. */
int gen_write_gguf(const char *path, const struct gen_config *c, enum gen_dtype d);
int gen_write_hf(const char *dir, const struct gen_config *c, enum gen_dtype d, unsigned shards);

#endif /* STRATA_CLI_GEN_MODEL_H */
