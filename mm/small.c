/* SPDX-License-Identifier: MIT */
/*
 * mm/small.c — size classes for objects up to 32 KiB.
 *
 * 40 classes: 16-byte steps to 128 B, then four per power of two (at most
 * 25% rounding).  Objects of a class live in spans of 64 KiB or more,
 * carved lazily from the large allocator and aligned to 64 KiB, so
 * power-of-two objects are aligned to their size.  The central part here
 * moves objects between spans and thread caches in batches, under the pool
 * lock; a span whose objects all come back returns to the large allocator
 * (one empty span per class is kept against thrashing).  Free objects are
 * linked through their first word, so small classes exist only for
 * host-accessible pools.
 */
#include <errno.h>

#include "mm/mm_int.h"

const uint32_t st_class_sizes[ST_NCLASSES] = {
	16,    32,    48,    64,    80,    96,    112,   128,   160,   192,   224,   256,   320,   384,
	448,   512,   640,   768,   896,   1024,  1280,  1536,  1792,  2048,  2560,  3072,  3584,  4096,
	5120,  6144,  7168,  8192,  10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768,
};

void st_classes_init(struct strata_pool *pool)
{
	unsigned i;

	for (i = 0; i < ST_NCLASSES; i++) {
		struct st_class *c = &pool->classes[i];
		uint32_t span = ST_MAX(ST_SPAN_MIN, 8 * st_class_sizes[i]);

		c->size = st_class_sizes[i];
		c->span_bytes = (span + ST_SPAN_MIN - 1) & ~(ST_SPAN_MIN - 1);
		c->batch = ST_MAX(4u, ST_MIN(128u, (32u << 10) / c->size));
	}
}

static void partial_unlink(struct st_class *c, struct st_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void partial_push(struct st_class *c, struct st_span *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
}

static void span_destroy(struct strata_pool *pool, struct st_span *s)
{
	st_pagemap_set(s->block->arena, s->base, s->block->size, 0, true);
	st_pagemap_set(s->block->arena, s->base, 0, (uintptr_t)s->block, false);
	/* The block goes back whole: unpoison so the large allocator's callers
	 * see plain memory. */
	ST_UNPOISON((void *)s->base, s->block->size);
	st_large_free(pool, s->block);
	st_free((void *)(uintptr_t)s->live_bits);
	st_free(s);
}

static struct st_span *span_create(struct strata_pool *pool, unsigned cls)
{
	struct st_class *c = &pool->classes[cls];
	struct st_span *s = st_calloc(1, sizeof(*s));
	struct st_block *b;
	bool zeroed;

	if (!s)
		return NULL;
	if (st_large_alloc(pool, c->span_bytes, ST_SPAN_MIN, &b, &zeroed)) {
		st_free(s);
		return NULL;
	}
	b->state = ST_BLOCK_SPAN;
	s->block = b;
	s->base = b->addr;
	s->obj_size = c->size;
	s->cls = (uint16_t)cls;
	s->capacity = (uint32_t)(b->size / c->size);
#ifdef STRATA_DEBUG
	s->live_bits = st_calloc((s->capacity + 63) / 64, sizeof(uint64_t));
	if (!s->live_bits) {
		st_large_free(pool, b);
		st_free(s);
		return NULL;
	}
#endif
	ST_POISON((void *)s->base, b->size);
	st_pagemap_set(b->arena, s->base, b->size, ST_PM_ENTRY(s, cls), true);
	return s;
}

unsigned st_central_take(struct strata_pool *pool, unsigned cls, unsigned max, void **head)
{
	struct st_class *c = &pool->classes[cls];
	void *list = NULL;
	unsigned n = 0;

	while (n < max) {
		struct st_span *s = c->partial;
		void *obj;

		if (!s) {
			s = c->empty;
			c->empty = NULL;
			if (!s)
				s = span_create(pool, cls);
			if (!s)
				break;
			partial_push(c, s);
		}
		while (n < max && s->used < s->capacity) {
			if (s->free) {
				obj = s->free;
				s->free = *(void **)obj;
			} else {
				obj = (void *)(s->base + (size_t)s->carved++ * s->obj_size);
				ST_UNPOISON(obj, sizeof(void *));
			}
			*(void **)obj = list;
			list = obj;
			s->used++;
			n++;
		}
		if (s->used == s->capacity)
			partial_unlink(c, s);
	}
	atomic_fetch_add_explicit(&pool->out_bytes, (uint64_t)n * c->size, memory_order_relaxed);
	*head = list;
	return n;
}

void st_central_give(struct strata_pool *pool, void *head, unsigned n)
{
	uint64_t bytes = 0;

	while (head && n--) {
		void *obj = head;
		struct st_arena *a = st_arena_of(pool, (uintptr_t)obj);
		struct st_span *s = ST_PM_SPAN_PTR(st_pagemap_get(a, (uintptr_t)obj));
		struct st_class *c = &pool->classes[s->cls];

		head = *(void **)obj;
		*(void **)obj = s->free;
		s->free = obj;
		bytes += s->obj_size;
		if (s->used-- == s->capacity)
			partial_push(c, s); /* was full */
		if (s->used)
			continue;
		/* Every object is back: keep one empty span per class. */
		partial_unlink(c, s);
		if (c->empty)
			span_destroy(pool, s);
		else
			c->empty = s;
	}
	atomic_fetch_sub_explicit(&pool->out_bytes, bytes, memory_order_relaxed);
}

void st_central_release_empty(struct strata_pool *pool)
{
	unsigned i;

	for (i = 0; i < ST_NCLASSES; i++) {
		if (pool->classes[i].empty) {
			span_destroy(pool, pool->classes[i].empty);
			pool->classes[i].empty = NULL;
		}
	}
}
