/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/merge.c — best-pair-first merging with a binary heap.
 *
 * Each candidate records the two symbols and their lengths when it was
 * pushed.  A merge changes only its own symbols, so a candidate whose
 * symbols still have those lengths and are still neighbours still stands
 * for the same bytes; any other is stale and skipped when popped.  Ties
 * go to the leftmost pair: symbols never move, so their index orders them.
 */
#include <errno.h>
#include <stdlib.h>

#include "merge.h"

struct cand {
	double key;
	int32_t l, r;
	uint32_t llen, rlen;
};

struct heap {
	struct cand *c;
	size_t n, cap;
};

static bool before(const struct cand *a, const struct cand *b)
{
	return a->key < b->key || (a->key == b->key && a->l < b->l);
}

static int push(struct heap *h, struct cand c)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct cand *bigger = realloc(h->c, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		h->c = bigger;
		h->cap = cap;
	}
	for (i = h->n++; i > 0 && before(&c, &h->c[(i - 1) / 2]); i = (i - 1) / 2)
		h->c[i] = h->c[(i - 1) / 2];
	h->c[i] = c;
	return 0;
}

static struct cand pop(struct heap *h)
{
	struct cand top = h->c[0], last = h->c[--h->n];
	size_t i = 0;

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= h->n)
			break;
		if (k + 1 < h->n && before(&h->c[k + 1], &h->c[k]))
			k++;
		if (!before(&h->c[k], &last))
			break;
		h->c[i] = h->c[k];
		i = k;
	}
	if (h->n)
		h->c[i] = last;
	return top;
}

static int consider(struct heap *h, struct llm_sym *sym, int32_t l, llm_pair_fn pair, void *ctx)
{
	int32_t r = sym[l].next;
	struct cand c;

	if (r < 0 || !pair(ctx, &sym[l], &sym[r], &c.key))
		return 0;
	c.l = l, c.r = r, c.llen = sym[l].len, c.rlen = sym[r].len;
	return push(h, c);
}

int llm_merge(struct llm_sym *sym, size_t n, llm_pair_fn pair, void *ctx)
{
	struct heap h = { 0 };
	int e = 0;

	for (size_t i = 0; i + 1 < n && !e; i++)
		e = consider(&h, sym, (int32_t)i, pair, ctx);
	while (h.n && !e) {
		struct cand c = pop(&h);
		struct llm_sym *l = &sym[c.l], *r = &sym[c.r];

		if (l->len != c.llen || l->next != c.r || r->len != c.rlen)
			continue; /* one of them merged since */
		l->len += r->len;
		r->len = 0;
		l->next = r->next;
		if (r->next >= 0)
			sym[r->next].prev = c.l;
		if (l->prev >= 0)
			e = consider(&h, sym, l->prev, pair, ctx);
		if (!e)
			e = consider(&h, sym, c.l, pair, ctx);
	}
	free(h.c);
	return e;
}
