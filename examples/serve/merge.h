/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/merge.h — the merge step both tokenizers share: adjacent
 * symbols of a piece are joined, best pair first, until no pair can be.
 */
#ifndef STRATA_SERVE_MERGE_H
#define STRATA_SERVE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A symbol: bytes [at, at + len) of the piece, in a doubly linked list
 * (-1 ends it).  A merge widens the left symbol; the right one's len
 * becomes 0. */
struct llm_sym {
	uint32_t at, len;
	int32_t prev, next;
};

/* Whether @l and @r (adjacent) can merge, and the pair's key: lower merges
 * first; equal keys merge left to right. */
typedef bool (*llm_pair_fn)(void *ctx, const struct llm_sym *l, const struct llm_sym *r, double *key);

/*
 * llm_merge() - merge @sym[0 … @n) (linked in order) best pair first.
 * Candidate pairs wait in a heap and are checked when taken, so the work
 * is O(n log n) rather than a rescan of the piece per merge.  Afterwards
 * the list from @sym[0] holds the result.
 * Return: 0; -ENOMEM.
 */
int llm_merge(struct llm_sym *sym, size_t n, llm_pair_fn pair, void *ctx);

#endif /* STRATA_SERVE_MERGE_H */
