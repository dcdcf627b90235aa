/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/generate.c — the decode loop and the text it yields.
 *
 * A token's bytes may end inside a UTF-8 character, and the text may be
 * the start of a stop string; both are held back until the next tokens
 * settle them, so the caller only ever sees text that stays.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "sample.h"
#include "vocab.h"

/* Text not yet handed over, and (with logprobs) the tokens behind it. */
struct pending {
	char *s;
	size_t len, cap;
	size_t base; /* where s[0] is in the completion's text */
	struct llm_token_out *tok; /* every token so far */
	size_t *tok_at; /* where each token's text starts in the completion */
	size_t ntok, tokcap, sent; /* sent: tokens handed over */
};

static int append(struct pending *p, const char *s, size_t n)
{
	if (p->len + n > p->cap) {
		size_t c = (p->len + n) * 2 + 64;
		char *t = realloc(p->s, c);

		if (!t)
			return -ENOMEM;
		p->s = t;
		p->cap = c;
	}
	memcpy(p->s + p->len, s, n);
	p->len += n;
	return 0;
}

static int add_token(struct pending *p, const struct llm_token_out *t)
{
	if (p->ntok == p->tokcap) {
		size_t c = p->tokcap ? p->tokcap * 2 : 64;
		struct llm_token_out *tok = realloc(p->tok, c * sizeof(*tok));
		size_t *at = tok ? realloc(p->tok_at, c * sizeof(*at)) : NULL;

		if (tok)
			p->tok = tok;
		if (!at)
			return -ENOMEM;
		p->tok_at = at;
		p->tokcap = c;
	}
	p->tok[p->ntok] = *t;
	p->tok_at[p->ntok++] = p->base + p->len;
	return 0;
}

/* Bytes at the end of @s that start a UTF-8 character not yet complete. */
static size_t incomplete_tail(const char *s, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		uint8_t c = (uint8_t)s[len - back];

		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		return need > back ? back : 0;
	}
	return 0;
}

/* The longest end of @s that is the start of a stop string. */
static size_t stop_prefix_tail(const char *s, size_t len, const struct llm_gen_opts *o)
{
	size_t best = 0;

	for (size_t i = 0; i < o->nstop; i++) {
		size_t sl = strlen(o->stop[i]);

		for (size_t k = sl > len ? len : sl - 1; k > best; k--)
			if (!memcmp(s + len - k, o->stop[i], k)) {
				best = k;
				break;
			}
	}
	return best;
}

/* Where the first stop string starts in @s, or -1. */
static long find_stop(const char *s, size_t len, const struct llm_gen_opts *o)
{
	long first = -1;

	for (size_t i = 0; i < o->nstop; i++) {
		size_t sl = strlen(o->stop[i]);

		if (!sl || sl > len)
			continue;
		for (size_t at = 0; at + sl <= len; at++)
			if (!memcmp(s + at, o->stop[i], sl)) {
				if (first < 0 || (long)at < first)
					first = (long)at;
				break;
			}
	}
	return first;
}

/* Hand over what is final, with the tokens whose text starts in it; with
 * @all, everything (a character the text never finished stands as
 * U+FFFD). */
static int flush(struct pending *p, const struct llm_gen_opts *o, bool all, llm_emit_fn emit, void *user)
{
	size_t tail = incomplete_tail(p->s, p->len), keep = 0, out, ntoks = 0;

	if (all && tail) {
		p->len -= tail;
		if (append(p, "\xef\xbf\xbd", 3))
			return -ENOMEM;
	} else if (!all) {
		keep = stop_prefix_tail(p->s, p->len, o);
		keep = keep > tail ? keep : tail;
	}
	out = p->len - keep;
	while (p->sent + ntoks < p->ntok && (all || p->tok_at[p->sent + ntoks] < p->base + out))
		ntoks++;
	if ((out || ntoks) && emit(user, p->s, out, ntoks ? p->tok + p->sent : NULL, ntoks))
		return -ECANCELED;
	p->sent += ntoks;
	memmove(p->s, p->s + out, keep);
	p->len = keep;
	p->base += out;
	return 0;
}

/* A damaged weight (a NaN or infinite scale) shows in the logits. */
static bool all_finite(const float *v, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

int llm_generate(struct llm_model *m, const int32_t *prompt, uint32_t n, const struct llm_gen_opts *o,
		 llm_emit_fn emit, void *user, struct llm_gen_result *res)
{
	const int64_t V = m->hp.vocab;
	float *logits;
	struct llm_sampler s;
	struct pending p = { 0 };
	struct llm_token_out lp;
	char piece[256];
	double t0 = llm_now(), t1;
	uint32_t limit;
	int e;

	memset(res, 0, sizeof(*res));
	res->prompt_tokens = n;
	res->finish_reason = "length";
	if (atomic_load(&m->damaged))
		return -EBADMSG;
	if (!(logits = malloc((size_t)V * sizeof(float))))
		return -ENOMEM;
	if ((e = llm_sampler_init(&s, o, V, prompt, n))) {
		free(logits);
		return e;
	}
	e = llm_prefill(m, prompt, n, logits);
	t1 = llm_now();
	res->prefill_s = t1 - t0;
	limit = n < m->ctx ? m->ctx - n : 0;
	if (o->max_tokens && o->max_tokens < limit)
		limit = o->max_tokens;
	while (!e && res->completion_tokens < limit) {
		int32_t tok;
		int len;
		long at;

		if (!all_finite(logits, V)) {
			e = -EBADMSG;
			break;
		}
		tok = llm_sample(&s, logits, o->logprobs ? &lp : NULL, o->top_logprobs);
		if (tok < 0) {
			e = tok;
			break;
		}
		if (tok == m->vocab->eot || tok == m->vocab->eos) {
			res->finish_reason = "stop";
			break;
		}
		llm_sampler_accept(&s, tok);
		res->completion_tokens++;
		if (o->logprobs && (e = add_token(&p, &lp)))
			break;
		len = llm_token_bytes(m->vocab, tok, false, piece, sizeof(piece));
		if (len > (int)sizeof(piece))
			len = (int)sizeof(piece);
		if (len > 0 && (e = append(&p, piece, (size_t)len)))
			break;
		if ((at = find_stop(p.s, p.len, o)) >= 0) {
			p.len = (size_t)at;
			/* The tokens of the stop string go with it. */
			while (p.ntok > p.sent && p.tok_at[p.ntok - 1] >= p.base + p.len)
				p.ntok--;
			res->finish_reason = "stop";
			break;
		}
		if ((e = flush(&p, o, false, emit, user)))
			break;
		if (res->completion_tokens == limit)
			break;
		e = llm_step(m, tok, logits);
	}
	if (!e)
		e = flush(&p, o, true, emit, user);
	res->decode_s = llm_now() - t1;
	llm_sampler_free(&s);
	free(p.s);
	free(p.tok);
	free(p.tok_at);
	free(logits);
	return e;
}
