/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/generate.h — one completion: prefill the prompt, then
 * decode token by token, handing text to the caller as it becomes final,
 * with each token's log-probability when asked.
 */
#ifndef STRATA_SERVE_GENERATE_H
#define STRATA_SERVE_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm.h"

#define LLM_TOP_LOGPROBS_MAX 20

struct llm_gen_opts {
	uint32_t max_tokens; /* 0: until the context is full */
	float temperature; /* 0: greedy */
	float top_p;
	uint64_t seed;
	float presence_penalty, frequency_penalty; /* [-2, 2]; 0: none */
	float repetition_penalty; /* > 0; 1 (or 0): none */
	bool logprobs; /* report each token's log-probability */
	uint32_t top_logprobs; /* and the most likely alternatives' (≤ LLM_TOP_LOGPROBS_MAX) */
	const char *const *stop; /* strings that end the completion (not included) */
	size_t nstop;
};

struct llm_gen_result {
	uint32_t prompt_tokens, completion_tokens;
	const char *finish_reason; /* "stop" or "length" */
	double prefill_s, decode_s; /* time to the first token; the rest */
};

struct llm_logprob {
	int32_t id;
	float logprob;
};

/* A generated token and its log-probability, with the alternatives'. */
struct llm_token_out {
	int32_t id;
	float logprob;
	uint32_t ntop;
	struct llm_logprob top[LLM_TOP_LOGPROBS_MAX];
};

/* Receives text in whole UTF-8 characters, with (when logprobs were asked
 * for) the tokens whose text starts in it; an emit may carry tokens and
 * no text, at the end.  Returning nonzero stops the completion (the
 * client went away). */
typedef int (*llm_emit_fn)(void *user, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks);

/*
 * llm_generate() - complete @prompt (@n token ids).
 * Return: 0; -ERANGE (the prompt does not fit the context); -ECANCELED
 * (@emit asked to stop); -EBADMSG (the logits are not finite: a damaged
 * weight, named in m->damaged when the load found it); -ENOMEM; a run error.
 */
int llm_generate(struct llm_model *m, const int32_t *prompt, uint32_t n, const struct llm_gen_opts *opts,
		 llm_emit_fn emit, void *user, struct llm_gen_result *res);

#endif /* STRATA_SERVE_GENERATE_H */
