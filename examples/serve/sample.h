/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/sample.h — picking the next token from logits: greedy, or
 * sampled with temperature and nucleus (top-p) from a seeded generator, so
 * that a request with a seed is reproducible; after the penalties for
 * tokens already seen, and with the log-probabilities a client asked for.
 */
#ifndef STRATA_SERVE_SAMPLE_H
#define STRATA_SERVE_SAMPLE_H

#include <stdint.h>

#include "generate.h"

struct llm_candidate {
	int32_t id;
	float p;
};

struct llm_sampler {
	float temperature; /* 0: greedy */
	float top_p; /* (0, 1]; 1 keeps every token */
	float presence, frequency, repetition; /* penalties; 0, 0, 1: none */
	uint64_t state; /* the generator's state (from the seed) */
	int64_t vocab;
	/* What the penalties need, only when one is asked for: per token,
	 * how often it was generated and whether the prompt has it; the ids
	 * either is set for, so a step touches only those. */
	uint32_t *count;
	uint8_t *in_prompt;
	int32_t *touched;
	uint32_t ntouched;
	/* scratch, sized by the first call */
	struct llm_candidate *cand;
	int64_t ncand;
	float *copy; /* [vocab]: the logits, when log-probabilities are drawn with */
};

/* Return: 0; -ENOMEM. */
int llm_sampler_init(struct llm_sampler *s, const struct llm_gen_opts *o, int64_t vocab, const int32_t *prompt,
		     uint32_t n);
void llm_sampler_free(struct llm_sampler *s);

/*
 * llm_sample() - the next token from @logits [@s->vocab] (overwritten).
 * With @out, its log-probability and the @top most likely tokens' (at most
 * LLM_TOP_LOGPROBS_MAX), from the distribution it is drawn from: after the
 * penalties and the temperature (1 when greedy), before top-p.
 * Return: its id; -ENOMEM.
 */
int32_t llm_sample(struct llm_sampler *s, float *logits, struct llm_token_out *out, uint32_t top);

/* Count @tok as generated (the penalties see it from the next step). */
void llm_sampler_accept(struct llm_sampler *s, int32_t tok);

/* The index of the largest of @n values (the first on ties). */
int32_t llm_argmax(const float *v, int64_t n);

#endif /* STRATA_SERVE_SAMPLE_H */
