/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/sample.c — penalties, greedy, temperature and top-p
 * sampling, and log-probabilities.
 *
 * Penalties follow OpenAI and vLLM: presence and frequency subtract from
 * the logits of tokens generated so far (once, and once per occurrence);
 * the repetition penalty (CTRL's) divides a positive logit, or multiplies
 * a negative one, of any token in the prompt or the completion.
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
#include <string.h>

#include "sample.h"

int llm_sampler_init(struct llm_sampler *s, const struct llm_gen_opts *o, int64_t vocab, const int32_t *prompt,
		     uint32_t n)
{
	memset(s, 0, sizeof(*s));
	s->temperature = o->temperature > 0 ? o->temperature : 0;
	s->top_p = o->top_p > 0 && o->top_p < 1 ? o->top_p : 1;
	s->presence = o->presence_penalty;
	s->frequency = o->frequency_penalty;
	s->repetition = o->repetition_penalty > 0 ? o->repetition_penalty : 1;
	s->state = o->seed ^ 0x9e3779b97f4a7c15ull;
	s->vocab = vocab;
	if (s->presence == 0 && s->frequency == 0 && s->repetition == 1)
		return 0;
	s->count = calloc((size_t)vocab, sizeof(*s->count));
	s->in_prompt = calloc((size_t)vocab, 1);
	s->touched = malloc((size_t)vocab * sizeof(*s->touched));
	if (!s->count || !s->in_prompt || !s->touched) {
		llm_sampler_free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		if (prompt[i] >= 0 && prompt[i] < vocab && !s->in_prompt[prompt[i]]) {
			s->in_prompt[prompt[i]] = 1;
			s->touched[s->ntouched++] = prompt[i];
		}
	return 0;
}

void llm_sampler_free(struct llm_sampler *s)
{
	free(s->cand);
	free(s->copy);
	free(s->count);
	free(s->in_prompt);
	free(s->touched);
	memset(s, 0, sizeof(*s));
}

void llm_sampler_accept(struct llm_sampler *s, int32_t tok)
{
	if (!s->count || tok < 0 || tok >= s->vocab)
		return;
	if (!s->count[tok]++ && !s->in_prompt[tok])
		s->touched[s->ntouched++] = tok;
}

static void penalize(const struct llm_sampler *s, float *logits)
{
	for (uint32_t i = 0; i < s->ntouched; i++) {
		int32_t t = s->touched[i];
		float l = logits[t];

		if (s->repetition != 1)
			l = l > 0 ? l / s->repetition : l * s->repetition;
		if (s->count[t])
			l -= s->presence + s->frequency * (float)s->count[t];
		logits[t] = l;
	}
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

/* The @k largest of @v [@n] into @top, most likely first (a small sorted
 * list: most values fail the first comparison against its last). */
static uint32_t top_k(const float *v, int64_t n, uint32_t k, struct llm_logprob *top)
{
	uint32_t have = 0;

	for (int64_t i = 0; i < n && k; i++) {
		uint32_t at;

		if (have == k && v[i] <= top[k - 1].logprob)
			continue;
		at = have < k ? have++ : k - 1;
		while (at > 0 && top[at - 1].logprob < v[i]) {
			top[at] = top[at - 1];
			at--;
		}
		top[at] = (struct llm_logprob){ (int32_t)i, v[i] };
	}
	return have;
}

/* Log-probabilities at temperature @t: log softmax(@logits / @t). */
static void log_probs(const float *logits, int64_t n, float t, int32_t chosen, struct llm_token_out *out, uint32_t k)
{
	float max = logits[llm_argmax(logits, n)];
	double sum = 0, lse;

	for (int64_t i = 0; i < n; i++)
		sum += exp((double)(logits[i] - max) / t);
	lse = log(sum);
	out->id = chosen;
	out->logprob = (float)((double)(logits[chosen] - max) / t - lse);
	out->ntop = top_k(logits, n, k < LLM_TOP_LOGPROBS_MAX ? k : LLM_TOP_LOGPROBS_MAX, out->top);
	for (uint32_t i = 0; i < out->ntop; i++)
		out->top[i].logprob = (float)((double)(out->top[i].logprob - max) / t - lse);
}

static int32_t draw(struct llm_sampler *s, float *logits, int64_t n)
{
	float max, sum = 0, r, acc = 0, kept = 0, cutoff;
	int64_t i, m = 0, last;

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

int32_t llm_sample(struct llm_sampler *s, float *logits, struct llm_token_out *out, uint32_t top)
{
	const int64_t n = s->vocab;
	int32_t tok;

	if (s->count)
		penalize(s, logits);
	if (s->temperature == 0 || n < 2) {
		tok = llm_argmax(logits, n);
		if (out)
			log_probs(logits, n, 1, tok, out, top);
		return tok;
	}
	if (!out)
		return draw(s, logits, n);
	/* The log-probabilities need the logits the draw overwrites: a copy,
	 * in scratch kept from step to step. */
	if (!s->copy && !(s->copy = malloc((size_t)n * sizeof(*s->copy))))
		return -ENOMEM;
	memcpy(s->copy, logits, (size_t)n * sizeof(*s->copy));
	tok = draw(s, logits, n);
	if (tok >= 0)
		log_probs(s->copy, n, s->temperature, tok, out, top);
	return tok;
}
