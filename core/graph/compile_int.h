/* SPDX-License-Identifier: MIT */
/*
 * core/graph/compile_int.h — what the graph compiler's stages hand to each
 * other: kernels (fused groups of nodes), the memory plan, and the program
 * that runs them.
 *
 *   fold.c     constants folded, storage types widened where a kernel
 *              cannot read them
 *   fuse.c     nodes grouped into kernels, by bytes moved
 *   plan.c     every value an offset in one arena (views alias, in place
 *              where legal)
 *   emit*.c    C source per kernel
 *   kcache.c   compiled kernels on disk, keyed and checksummed
 *   compile.c  the stages in order; program.c runs the result
 */
#ifndef STRATA_CORE_GRAPH_COMPILE_INT_H
#define STRATA_CORE_GRAPH_COMPILE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/graph/graph_int.h"
#include <strata/graph.h>

#define ST_KERNEL_MAX_ARGS 16
#define ST_NO_KERNEL UINT32_MAX

enum st_kernel_kind {
	ST_KERNEL_ELEMWISE, /* element-wise chain: one item per row of the result */
	ST_KERNEL_ROWS, /* a last-axis reduction, softmax or norm with prologue and epilogue: one item per row */
	ST_KERNEL_MATMUL, /* matmul with an element-wise epilogue: one item per batch × column block */
	ST_KERNEL_SINGLE, /* any other op on its own */
};

/* Every kernel has this type: write items [lo, hi) of its result; @t holds
 * the result's address, then each argument's.  Return: 0, or -EINVAL when
 * the data is bad (an embedding id out of range). */
typedef int (*st_kernel_fn)(void *const *t, int64_t seq, int64_t lo, int64_t hi);

struct st_kernel {
	enum st_kernel_kind kind;
	uint32_t root; /* the node whose value the kernel writes */
	uint32_t core; /* the reduction, matmul or single op (root's chain starts after it) */
	uint32_t *members; /* the nodes computed inside, in graph order */
	unsigned nmembers;
	uint32_t args[ST_KERNEL_MAX_ARGS]; /* nodes read from memory */
	unsigned nargs;
	uint64_t bytes; /* estimated bytes moved at max_seq */
	/* Element-wise only: results of at least this many bytes are written
	 * with streaming stores, past the caches (0: never; compile.c). */
	uint64_t stream_bytes;
	/* Matmul only: b is read from the program's copy packed sixteen rows
	 * to a block (emit_packed.c), passed after the args with its tiles'
	 * states. */
	bool packed;
	/* With .packed: a's rows rounded to 8 bits, not three digits
	 * (STRATA_COMPILE_INT8_ACTIVATIONS; emit_matmul.c). */
	bool int8_activations;
	/* Matmul on a bf16 weight: from four rows of a on, a's rows rounded
	 * to bf16 for AVX512_BF16's dot products where the CPU has them
	 * (STRATA_COMPILE_BF16_ACTIVATIONS; kernels/gemm_bf16.h). */
	bool bf16_activations;
	char *source; /* C source (emit.c) */
	uint64_t hash; /* of the source and the toolchain (kcache.c) */
	st_kernel_fn fn; /* the CPU target's entry point */
	void *ctx; /* another target's own, per kernel */
	unsigned module; /* index in the program's loaded objects */
};

/* Where a value lives at run time. */
enum st_home {
	ST_HOME_NONE, /* not needed */
	ST_HOME_INPUT, /* the caller's buffer */
	ST_HOME_WEIGHT, /* node data */
	ST_HOME_ARENA, /* offset in the arena */
	ST_HOME_VIEW, /* another node's home plus a byte offset */
	ST_HOME_STATE, /* the program's buffer for state @base (a write's result is its state) */
};

struct st_value {
	enum st_home home;
	uint32_t base; /* VIEW: the node viewed (itself never a view) */
	uint64_t offset; /* ARENA, VIEW: bytes */
	uint64_t bytes; /* at max_seq */
	uint32_t def, last; /* kernels that write it and last read it */
};

struct st_fusion {
	struct st_kernel *k;
	uint32_t nk;
	uint32_t *kernel_of; /* per node: the kernel computing it, ST_NO_KERNEL */
	uint32_t *member_pool; /* storage of every kernel's members */
};

struct st_plan {
	struct st_value *v; /* per node */
	uint64_t arena_bytes; /* planned peak */
	uint64_t lower_bound; /* most bytes live at once */
	unsigned in_place; /* results written over a dying argument */
};

/* fold.c: in a copy of @g, nodes computed only from weights become f32
 * weights (evaluated by the reference interpreter; reshapes of weights keep
 * the data), and weights in a storage type no kernel reads there are
 * widened.  The buffers made are listed in *@owned (free each, then it).
 * Return: 0; -ENOMEM; an interpreter error. */
int st_graph_fold(struct strata_graph *g, struct strata_graph **out, void ***owned, unsigned *nowned);

/* fuse.c: group @g's nodes into kernels (free with st_fusion_free());
 * with @fuse false, every op is a kernel of its own. */
int st_graph_fuse(const struct strata_graph *g, bool fuse, struct st_fusion *f);
void st_fusion_free(struct st_fusion *f);
/* Whether @n is a view (reshape, contiguous slice): no kernel, no copy. */
bool st_node_is_view(const struct strata_graph *g, const struct st_node *n);

/* place.c: where each kernel runs. */
enum st_device {
	ST_DEVICE_CPU = 0, /* this host's cores */
};

struct st_placement {
	enum st_device device;
	unsigned node; /* NUMA node, as the runtime numbers them (0 … n_nodes - 1) */
};

struct strata_topo;
int st_graph_place(const struct strata_graph *g, const struct st_fusion *f, const struct strata_topo *topo,
		   struct st_placement *out);
/* How place.c asks which node holds an address (move_pages); tests replace it. */
extern int (*st_graph_node_of)(const void *addr);
/* compile.c: the last-level cache size streaming stores are weighed
 * against (strata_topo_llc_bytes(); tests shrink it). */
extern uint64_t (*st_graph_llc_bytes)(const struct strata_topo *topo);

/* plan.c: homes and arena offsets for every value @f's kernels touch. */
int st_graph_plan(const struct strata_graph *g, const struct st_fusion *f, struct st_plan *p);
void st_plan_free(struct st_plan *p);

/* emit.c: @k->source for kernel @k of @g.  Return: 0; -ENOMEM. */
int st_kernel_emit(const struct strata_graph *g, struct st_kernel *k);

/* emit_packed.c: whether matmul kernel @k reads its weight packed sixteen
 * rows to a block, on a CPU with @cpu_features (STRATA_CPU_* bits). */
bool st_packs(const struct strata_graph *g, const struct st_kernel *k, uint64_t cpu_features);

/* pack.c: mark the kernels that read packed weights (.packed) and fill
 * p->packed.  Return: 0; -ENOMEM; -EINVAL (a lent weight already packed
 * that a kernel would read as stored). */
int st_choose_packing(struct strata_program *p, unsigned flags);

/* A packed kernel's copy of its weight, and one state per tile of
 * SK_TILE_ROWS rows (enum sk_tile_state, kernels/packed.h; the kernel
 * packs them). */
struct st_packed {
	void *raw, *data; /* data: raw aligned to 64 bytes (NULL in place) */
	uint32_t *tiles; /* the program's, or in place the weight's (lent_tiles) */
	uint64_t bytes;
	bool in_place; /* a lent weight rewritten in its own bytes */
	unsigned warg; /* the weight's index among the kernel's args */
};

/* One kernel ready to run: its function and the addresses it takes. */
struct st_call {
	int (*launch)(struct st_call *c, int64_t lo, int64_t hi); /* the target's (target.h) */
	st_kernel_fn fn;
	void *ctx; /* the kernel's .ctx */
	void *t[3 + ST_KERNEL_MAX_ARGS]; /* result, args, and a packed weight's copy and tile states */
	int64_t seq;
	uint32_t kernel; /* its number, for trace events */
	int trace_id; /* the span name of its kind */
	uint64_t start_ns, end_ns; /* this run: first chunk began, last ended */
	uint64_t bytes; /* this run: bytes its arguments and result take at seq */
	/* totals over runs */
	uint64_t runs, ns, total_bytes;
};

struct st_target;
struct st_sched;
struct st_task;

struct strata_program {
	struct strata_graph *src; /* the caller's graph */
	struct strata_graph *stage[3]; /* after folding, merging, dead-code elimination */
	uint32_t *map; /* caller's node number -> the final graph's, or ST_GRAPH_GONE */
	void **owned; /* folded weights */
	unsigned nowned;
	struct st_fusion f;
	struct st_plan plan;
	struct st_placement *place; /* per kernel */
	void *arena, *arena_raw;
	struct st_packed *packed; /* per kernel: its packed weight (kernels with .packed) */
	void **state; /* per node of the final graph: the buffer of a state, else NULL */
	const struct st_target *target; /* NULL: the interpreter runs the whole graph */
	void *target_state; /* the target's own (target_cpu.c: objects, cache folder) */
	uint64_t target_id; /* what identifies the target's output: part of every kernel's cache key */
	struct st_sched *sched;
	struct st_task *tasks; /* one per kernel */
	uint32_t *succ; /* storage of the tasks' successor lists */
	struct st_call *calls;
	void **ptr; /* per node of the final graph: its address in the current run */
	int trace_run; /* span name of a whole run */
	bool stream_overlap; /* STRATA_COMPILE_STREAM_OVERLAP */
	struct strata_program_info info;
	char error[ST_GRAPH_ERROR];
	char *dump;
};

/* The final graph. */
static inline struct strata_graph *st_program_graph(const struct strata_program *p)
{
	return p->stage[2];
}

/* The graph whose node numbers index p->state: the final one for kernels
 * on a target, the caller's for the whole-graph interpreter. */
static inline struct strata_graph *st_program_state_graph(const struct strata_program *p)
{
	return p->target ? p->stage[2] : p->src;
}

/* observe.c: trace names and metrics of kernels; record one finished run
 * (per-kernel totals, and the Prometheus series by kernel kind). */
void st_graph_obs_init(struct strata_program *p);
void st_graph_obs_run(struct strata_program *p, uint64_t run_ns);
const char *st_kernel_kind_name(enum st_kernel_kind k);

/* program.c: the work items of kernel @k at @seq. */
int64_t st_kernel_items(const struct strata_graph *g, const struct st_kernel *k, uint32_t seq);
/* Query rows one attention work item takes, each with all the heads
 * (@heads / @kv_heads of them) that share a key-value head: every key
 * and value row it loads then serves up to 16 queries (program.c splits,
 * emit_single.c emits). */
static inline int64_t st_attention_rows(int64_t heads, int64_t kv_heads)
{
	const int64_t group = heads / kv_heads, rows = 16 / group;

	return rows < 1 ? 1 : rows > 8 ? 8 : rows;
}
/* program.c: record why a call on @p fails (and log it). */
int st_program_fail(struct strata_program *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* program.c: the tasks' dependencies, from the kernels' arguments. */
int st_program_tasks(struct strata_program *p);

#endif /* STRATA_CORE_GRAPH_COMPILE_INT_H */
