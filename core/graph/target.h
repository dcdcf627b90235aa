/* SPDX-License-Identifier: MIT */
/*
 * core/graph/target.h — where compiled kernels run: the interface between
 * the passes (fold … plan, target-blind) and a code generator.
 *
 * compile.c runs the passes, then hands the kernels to a target in four
 * steps: open (can it run here, and what identifies its output), emit (a
 * kernel's source and cache key), build (every kernel made runnable:
 * found in the cache, compiled, loaded) and, at each run, launch (items
 * [lo, hi) of one kernel).  close undoes open and build.  A target keeps
 * its own state in p->target_state.  The CPU (target_cpu.c: C through the
 * system compiler, dlopen) is the first; target_ref.c runs the reference
 * interpreter per kernel through the same interface, and shows what a
 * second target (CUDA through NVRTC) plugs into: neither the op table nor
 * the passes know which target runs.
 */
#ifndef STRATA_CORE_GRAPH_TARGET_H
#define STRATA_CORE_GRAPH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strata_graph;
struct strata_program;
struct strata_compile_opts;
struct st_kernel;
struct st_call;

struct st_target {
	const char *name; /* "cpu", "reference" */
	/* Whether kernels pack block-quantized weights sixteen rows to a block
	 * (pack.c): a layout the target's kernels read. */
	bool packs_weights;
	/* Set p->target_id to what identifies this target's output (for the
	 * CPU: compiler and version, flags, CPU features, strata's version) and
	 * make its state.  Return: 0; -ENOENT when it cannot run here (why in
	 * @why, and the interpreter runs the whole graph instead); a negative
	 * errno (p's error text says why). */
	int (*open)(struct strata_program *p, const struct strata_compile_opts *opts, char *why, size_t len);
	/* Kernel @k's source in k->source (owned by @k) and k->hash, its cache
	 * key: the source and p->target_id.  Return: 0; -ENOMEM; -EOPNOTSUPP. */
	int (*emit)(struct strata_program *p, struct st_kernel *k);
	/* Every kernel made runnable.  Return: 0; a negative errno (p's error
	 * text says why). */
	int (*build)(struct strata_program *p, const struct strata_compile_opts *opts);
	/* Items [@lo, @hi) of the kernel @c calls (c->t: result, arguments).
	 * Called from the scheduler's workers.  Return: 0; -EINVAL (an id
	 * outside its table); -ERANGE (a position outside its cache). */
	int (*launch)(struct st_call *c, int64_t lo, int64_t hi);
	/* Undo build and open (NULL state is fine). */
	void (*close)(struct strata_program *p);
};

extern const struct st_target st_target_cpu; /* target_cpu.c */
extern const struct st_target st_target_reference; /* target_ref.c */

/* compile.c: strata_graph_compile() on @target. */
int st_graph_compile_on(struct strata_graph *g, const struct strata_compile_opts *opts,
			const struct st_target *target, struct strata_program **out);

#endif /* STRATA_CORE_GRAPH_TARGET_H */
