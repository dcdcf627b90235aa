/* SPDX-License-Identifier: MIT */
/*
 * mm/tlsf.c — two-level segregated fit index over free blocks.
 *
 * The first level is the power of two of a block's size in pages, the
 * second splits each power of two into 16 linear ranges; two bitmaps and
 * find-first-set give an O(1) good fit (Masmano et al., ECRTS 2004).  The
 * blocks are descriptors kept outside the managed memory, unlike classic
 * TLSF's boundary tags, so the same index serves device memory.
 */
#include "mm/mm_int.h"

static void mapping(size_t pages, unsigned *fl, unsigned *sl)
{
	unsigned l;

	if (pages < ST_TLSF_SL) {
		*fl = 0;
		*sl = (unsigned)pages;
		return;
	}
	l = 63u - (unsigned)__builtin_clzll(pages);
	*fl = l - ST_TLSF_SL_LOG2 + 1;
	*sl = (unsigned)(pages >> (l - ST_TLSF_SL_LOG2)) ^ ST_TLSF_SL;
}

void st_tlsf_insert(struct st_tlsf *t, struct st_block *b)
{
	unsigned fl, sl;

	mapping(b->size >> ST_PAGE_SHIFT, &fl, &sl);
	b->prev_free = NULL;
	b->next_free = t->heads[fl][sl];
	if (b->next_free)
		b->next_free->prev_free = b;
	t->heads[fl][sl] = b;
	t->fl_bitmap |= 1ULL << fl;
	t->sl_bitmap[fl] |= 1u << sl;
}

void st_tlsf_remove(struct st_tlsf *t, struct st_block *b)
{
	unsigned fl, sl;

	mapping(b->size >> ST_PAGE_SHIFT, &fl, &sl);
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		t->heads[fl][sl] = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (!t->heads[fl][sl]) {
		t->sl_bitmap[fl] &= ~(1u << sl);
		if (!t->sl_bitmap[fl])
			t->fl_bitmap &= ~(1ULL << fl);
	}
	b->prev_free = b->next_free = NULL;
}

struct st_block *st_tlsf_find(struct st_tlsf *t, size_t size)
{
	size_t pages = size >> ST_PAGE_SHIFT, rounded = pages;
	unsigned fl, sl, exact_fl, exact_sl;
	uint32_t sl_map;
	uint64_t fl_map;
	struct st_block *b;

	/* Round up to the next list boundary: every block there fits. */
	if (pages >= ST_TLSF_SL)
		rounded += (1ULL << (63u - (unsigned)__builtin_clzll(pages) - ST_TLSF_SL_LOG2)) - 1;
	mapping(rounded, &fl, &sl);
	if (fl < ST_TLSF_FL) {
		sl_map = t->sl_bitmap[fl] & (~0u << sl);
		if (!sl_map) {
			fl_map = fl + 1 < 64 ? t->fl_bitmap & (~0ULL << (fl + 1)) : 0;
			if (fl_map) {
				fl = (unsigned)__builtin_ctzll(fl_map);
				sl_map = t->sl_bitmap[fl];
			}
		}
		if (sl_map)
			return t->heads[fl][(unsigned)__builtin_ctz(sl_map)];
	}
	/* Nothing in the larger lists: a block in the request's own list may
	 * still be big enough (the rounding skipped it).  Scanning it keeps a
	 * pool that holds exactly one right-sized block from growing. */
	mapping(pages, &exact_fl, &exact_sl);
	if (exact_fl >= ST_TLSF_FL)
		return NULL;
	for (b = t->heads[exact_fl][exact_sl]; b; b = b->next_free)
		if (b->size >= size)
			return b;
	return NULL;
}
