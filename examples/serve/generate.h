/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/generate.h — one completion: prefill the prompt, then
 * decode token by token, handing text to the caller as it becomes final.
 */
#ifndef STRATA_SERVE_GENERATE_H
#define STRATA_SERVE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "llm.h"

struct llm_gen_opts {
	uint32_t max_tokens; /* 0: until the context is full */
	float temperature; /* 0: greedy */
	float top_p;
	uint64_t seed;
	const char *const *stop; /* strings that end the completion (not included) */
	size_t nstop;
};

struct llm_gen_result {
	uint32_t prompt_tokens, completion_tokens;
	const char *finish_reason; /* "stop" or "length" */
	double prefill_s, decode_s; /* time to the first token; the rest */
};

/* Receives text in whole UTF-8 characters; returning nonzero stops the
 * completion (the client went away). */
typedef int (*llm_emit_fn)(void *user, const char *text, size_t len);

/*
 * llm_generate() - complete @prompt (@n token ids).
 * Return: 0; -ERANGE (the prompt does not fit the context); -ECANCELED
 * (@emit asked to stop); -ENOMEM; a run error.
 */
int llm_generate(struct llm_model *m, const int32_t *prompt, uint32_t n, const struct llm_gen_opts *opts,
		 llm_emit_fn emit, void *user, struct llm_gen_result *res);

#endif /* STRATA_SERVE_GENERATE_H */
