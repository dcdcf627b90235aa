/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/sample.c — greedy, temperature and top-p sampling.
 *
 * Top-p keeps the most likely tokens whose probabilities add up to p.
 * Sorting the whole vocabulary each step would cost more than the step's
 * arithmetic, so tokens below (1 − p) / (n − 1) are dropped first: they
 * cannot be in the nucleus, since the tokens above that bound already
 * hold at least p of the mass.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "sample.h"

void llm_sampler_init(struct llm_sampler *s, float temperature, float top_p, uint64_t seed)
{
	s->temperature = temperature > 0 ? temperature : 0;
	s->top_p = top_p > 0 && top_p < 1 ? top_p : 1;
	s->state = seed ^ 0x9e3779b97f4a7c15ull;
	s->cand = NULL;
	s->ncand = 0;
}

void llm_sampler_free(struct llm_sampler *s)
{
	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
}

/* splitmix64: a uniform float in [0, 1). */
static float uniform(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (float)(z >> 40) / (float)(1u << 24);
}

int32_t llm_argmax(const float *v, int64_t n)
{
	int64_t best = 0;

	for (int64_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

static int by_p_desc(const void *a, const void *b)
{
	float pa = ((const struct llm_candidate *)a)->p, pb = ((const struct llm_candidate *)b)->p;

	return pa < pb ? 1 : pa > pb ? -1 : 0;
}

int32_t llm_sample(struct llm_sampler *s, float *logits, int64_t n)
{
	float max, sum = 0, r, acc = 0, kept = 0, cutoff;
	int64_t i, m = 0, last;

	if (s->temperature == 0 || n < 2)
		return llm_argmax(logits, n);
	max = logits[llm_argmax(logits, n)];
	for (i = 0; i < n; i++) {
		logits[i] = expf((logits[i] - max) / s->temperature);
		sum += logits[i];
	}
	if (s->ncand < n) {
		struct llm_candidate *c = realloc(s->cand, (size_t)n * sizeof(*c));

		if (!c)
			return -ENOMEM;
		s->cand = c;
		s->ncand = n;
	}
	cutoff = s->top_p < 1 ? (1 - s->top_p) / (float)(n - 1) : 0;
	for (i = 0; i < n; i++) {
		float p = logits[i] / sum;

		if (p >= cutoff)
			s->cand[m++] = (struct llm_candidate){ (int32_t)i, p };
	}
	if (m == 0) /* a near-uniform distribution and a tiny top_p */
		return llm_argmax(logits, n);
	qsort(s->cand, (size_t)m, sizeof(*s->cand), by_p_desc);
	/* The nucleus: the shortest head of the sorted candidates holding top_p. */
	for (last = 0; last < m - 1 && kept + s->cand[last].p < s->top_p; last++)
		kept += s->cand[last].p;
	kept += s->cand[last].p;
	r = uniform(&s->state) * kept;
	for (i = 0; i <= last; i++) {
		acc += s->cand[i].p;
		if (r < acc)
			return s->cand[i].id;
	}
	return s->cand[last].id;
}
