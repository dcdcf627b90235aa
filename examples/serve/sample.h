/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/sample.h — picking the next token from logits: greedy, or
 * sampled with temperature and nucleus (top-p) from a seeded generator, so
 * that a request with a seed is reproducible.
 */
#ifndef STRATA_SERVE_SAMPLE_H
#define STRATA_SERVE_SAMPLE_H

#include <stdint.h>

struct llm_sampler {
	float temperature; /* 0: greedy */
	float top_p; /* (0, 1]; 1 keeps every token */
	uint64_t state; /* the generator's state (from the seed) */
	/* scratch, sized by the first call */
	struct llm_candidate *cand;
	int64_t ncand;
};

struct llm_candidate {
	int32_t id;
	float p;
};

void llm_sampler_init(struct llm_sampler *s, float temperature, float top_p, uint64_t seed);
void llm_sampler_free(struct llm_sampler *s);

/* The next token from @logits [@n] (overwritten).  Return: its id; -ENOMEM. */
int32_t llm_sample(struct llm_sampler *s, float *logits, int64_t n);

/* The index of the largest of @n values (the first on ties). */
int32_t llm_argmax(const float *v, int64_t n);

#endif /* STRATA_SERVE_SAMPLE_H */
