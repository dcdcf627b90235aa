/* SPDX-License-Identifier: MIT */
/*
 * strata/graph.h — describe a computation as a graph of tensor operations.
 *
 * The caller builds the graph op by op; every op checks the shapes and
 * types of its operands as it is added and refuses a mismatch with -EINVAL
 * and a message that names the op and the shapes (strata_graph_error()).
 * Nodes are numbered in the order they are added, and an op may only use
 * nodes added before it, so the graph is acyclic by construction.
 *
 * One dimension may be symbolic: STRATA_DIM_SEQ in a shape stands for the
 * sequence length, bound only when the graph runs (1 … max_seq), so one
 * graph serves every prompt length.
 *
 * This first part of the graph compiler has the builder and the reference
 * interpreter: naive, obviously correct code for every op, which the
 * generated kernels are checked against.  Compute is f32; inputs are f32
 * (token ids and positions i32); weights may be stored as f32, f16, bf16
 * or the GGUF block formats Q8_0, Q4_0 and Q4_1 (rows a whole number of
 * 32-element blocks).
 *
 * A graph is used by one thread at a time.
 */
#ifndef STRATA_GRAPH_H
#define STRATA_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strata/common.h>
#include <strata/dtype.h> /* enum strata_dtype, STRATA_MAX_DIMS */

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;
struct strata_graph;
struct strata_model; /* strata/io.h */
struct strata_load; /* strata/io.h */

/*
 * Shapes.  A graph's tensors have 1 to 4 dimensions: that is the graph
 * compiler's own limit, below the API's STRATA_MAX_DIMS, and every builder
 * refuses more with -EINVAL (a streamed weight of more dimensions too).
 * Arrays of STRATA_MAX_DIMS sizes hold any shape strata_graph_shape()
 * reports.
 */
/* In place of an optional operand: there is none. */
#define STRATA_GRAPH_NONE UINT32_MAX
/* In a shape: the symbolic sequence length. */
#define STRATA_DIM_SEQ INT64_C(-1)

/* Operations.  Values are stable: they are part of the ABI. */
enum strata_op {
	STRATA_OP_INPUT = 1, /* data given at each run */
	STRATA_OP_WEIGHT = 2, /* data given when the graph is built */
	STRATA_OP_STATE = 3, /* kept by the program from one run to the next (a KV cache) */
	/* element-wise, two operands, broadcast from the trailing dimension
	 * (a dimension of 1 stretches to the other operand's) */
	STRATA_OP_ADD = 10,
	STRATA_OP_SUB = 11,
	STRATA_OP_MUL = 12,
	STRATA_OP_DIV = 13,
	STRATA_OP_MAX = 14,
	/* element-wise, one operand */
	STRATA_OP_EXP = 20,
	STRATA_OP_LOG = 21,
	STRATA_OP_SQRT = 22,
	STRATA_OP_RSQRT = 23,
	STRATA_OP_NEG = 24,
	STRATA_OP_TANH = 25,
	STRATA_OP_SIGMOID = 26,
	STRATA_OP_SILU = 27, /* x * sigmoid(x) */
	STRATA_OP_GELU = 28, /* tanh approximation */
	STRATA_OP_SOFTCAP = 29, /* cap * tanh(x / cap), Gemma 2's logit soft-capping: strata_graph_unary_value() */
	/* reductions over one axis, which stays with size 1 */
	STRATA_OP_SUM = 40,
	STRATA_OP_REDUCE_MAX = 41,
	STRATA_OP_MEAN = 42,
	/* over the last axis */
	STRATA_OP_SOFTMAX = 50,
	STRATA_OP_RMSNORM = 51, /* x / sqrt(mean(x^2) + eps) * weight */
	STRATA_OP_LAYERNORM = 52, /* (x - mean) / sqrt(var + eps) * weight + bias */
	STRATA_OP_ROPE = 53, /* rotary position embedding */
	STRATA_OP_ATTENTION = 54, /* causal attention over cached keys and values */
	STRATA_OP_MATMUL = 60,
	STRATA_OP_RESHAPE = 70,
	STRATA_OP_PERMUTE = 71,
	STRATA_OP_SLICE = 72,
	STRATA_OP_CONCAT = 73,
	STRATA_OP_EMBEDDING = 80, /* rows of a table picked by i32 ids */
	STRATA_OP_ARGMAX = 81, /* i32 index of the largest value over the last axis */
	STRATA_OP_WRITE_ROWS = 82, /* rows written into a state at given positions */
	STRATA_OP_CAST = 83, /* f32 <-> i32 */
};

struct strata_graph_opts {
	size_t sz;
	uint32_t max_seq; /* bound of STRATA_DIM_SEQ (default 2048) */
};

#define STRATA_GRAPH_OPTS(name_, ...) \
	struct strata_graph_opts name_ = { .sz = sizeof(struct strata_graph_opts), __VA_ARGS__ }

/*
 * strata_graph_create() - an empty graph.
 * @rt:   the runtime it will run on.
 * @opts: options (NULL: defaults).
 * Return: 0 and *@out (free with strata_graph_destroy()); -EINVAL; -ENOMEM.
 */
STRATA_API int strata_graph_create(struct strata_rt *rt, const struct strata_graph_opts *opts,
				   struct strata_graph **out);

/* strata_graph_destroy() - free @g and everything it holds (NULL is fine).
 * Weight data stays the caller's. */
STRATA_API void strata_graph_destroy(struct strata_graph *g);

/*
 * strata_graph_error() - why the last call on @g failed, e.g.
 * "matmul: a is [seq, 288] and b is [768, 32000]: inner dimensions 288 and
 * 768 differ"; "" when it did not.  The text belongs to @g and lives until
 * its next call.
 */
STRATA_API const char *strata_graph_error(const struct strata_graph *g);

/*
 * strata_graph_input() - a tensor supplied at each run.
 * @name:  for messages and dumps (copied; up to 63 bytes kept).
 * @dtype: STRATA_DTYPE_F32, or STRATA_DTYPE_I32 for token ids.
 * @ndim, @shape: 1 … 4 sizes (see "Shapes" above), each > 0 or
 *        STRATA_DIM_SEQ (at most one of those).
 * Return: 0 and the node in *@out; -EINVAL; -ENOMEM.
 */
STRATA_API int strata_graph_input(struct strata_graph *g, const char *name, enum strata_dtype dtype, unsigned ndim,
				  const int64_t *shape, uint32_t *out);

/*
 * strata_graph_weight() - a tensor whose data is known when building.
 * @dtype: STRATA_DTYPE_F32, F16, BF16, Q8_0, Q4_0 or Q4_1.
 * @shape: sizes > 0 (no symbolic dimension); for the block formats the
 *        last is a multiple of 32.
 * @data:  the elements, row-major; borrowed: it must outlive @g.
 * Return: as strata_graph_input().
 */
STRATA_API int strata_graph_weight(struct strata_graph *g, const char *name, enum strata_dtype dtype, unsigned ndim,
				   const int64_t *shape, const void *data, uint32_t *out);

/*
 * strata_graph_weight_streamed() - a weight whose bytes a load brings in:
 * its name, type and shape are tensor @tensor of @model (f32, f16, bf16,
 * Q8_0, Q4_0 or Q4_1; rows of whole blocks), its data comes from the load
 * bound with strata_graph_bind_load().  Compiled programs start running
 * before the load is done: a kernel that reads a weight not yet in memory
 * waits for it while kernels that do not, run.
 * Return: as strata_graph_input(); -ENOENT (no such tensor).
 */
STRATA_API int strata_graph_weight_streamed(struct strata_graph *g, struct strata_model *model, size_t tensor,
					    uint32_t *out);

/*
 * strata_graph_weight_lend() - let @g's programs keep weight @weight in a
 * layout of their own in its own bytes.  A program that would copy it
 * (a block-quantized weight packed for decode, strata_program_info()'s
 * packed_bytes) rewrites it in place instead, at the first run that
 * reaches it, when nothing but that matmul reads it.  The caller must not
 * read the bytes, or change them, from then on; @g's programs and the
 * reference interpreter still read them right, and a weight once rewritten
 * stays so for every program compiled from @g.  A weight no program would
 * copy is lent to no effect.
 * Return: 0; -EINVAL (@weight is not a weight of @g); -ENOMEM.
 */
STRATA_API int strata_graph_weight_lend(struct strata_graph *g, uint32_t weight);

/* strata_graph_bind_load() - streamed weights come from @load (which must
 * load their tensors and outlive the runs).  Return: 0; -EINVAL. */
STRATA_API int strata_graph_bind_load(struct strata_graph *g, struct strata_load *load);

/* strata_graph_binary() - element-wise @op (ADD … MAX) of @a and @b.
 * Return: 0 and the node in *@out; -EINVAL; -ENOMEM. */
STRATA_API int strata_graph_binary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t b, uint32_t *out);
/* strata_graph_unary() - element-wise @op (EXP … GELU) of @a.
 * Return: as strata_graph_binary(). */
STRATA_API int strata_graph_unary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t *out);
/* strata_graph_unary_value() - element-wise @op of @a that takes a number
 * (SOFTCAP: the cap), @value finite and not 0.
 * Return: as strata_graph_binary(); -EINVAL for an op without a number. */
STRATA_API int strata_graph_unary_value(struct strata_graph *g, enum strata_op op, uint32_t a, float value,
					uint32_t *out);

/* strata_graph_reduce() - SUM, REDUCE_MAX or MEAN over @axis (negative
 * counts from the end); the axis stays, with size 1. */
STRATA_API int strata_graph_reduce(struct strata_graph *g, enum strata_op op, uint32_t a, int axis, uint32_t *out);

/* strata_graph_softmax() - softmax over the last axis. */
STRATA_API int strata_graph_softmax(struct strata_graph *g, uint32_t a, uint32_t *out);

/* strata_graph_rmsnorm() - RMS normalisation over the last axis, scaled
 * by @weight (a 1-D tensor as long as that axis); @eps > 0. */
STRATA_API int strata_graph_rmsnorm(struct strata_graph *g, uint32_t x, uint32_t weight, float eps, uint32_t *out);

/* strata_graph_layernorm() - layer normalisation over the last axis with
 * @weight and, unless it is STRATA_GRAPH_NONE, @bias (both 1-D, as long as
 * that axis); @eps > 0. */
STRATA_API int strata_graph_layernorm(struct strata_graph *g, uint32_t x, uint32_t weight, uint32_t bias, float eps,
				      uint32_t *out);

/* Rotary layouts. */
#define STRATA_ROPE_HALF 0u /* pairs (i, i + d/2): Hugging Face's rotate-half */
#define STRATA_ROPE_ADJACENT 1u /* pairs (2i, 2i + 1): llama.cpp / GGUF */

/*
 * strata_graph_rope() - rotate @x [seq, heads, head_dim] by position: the
 * pair i of row s turns by pos[s] * theta^(-2i / head_dim).
 * @pos:    i32 positions, one per row ([seq], the same length as x's first
 *          dimension), so a decode step can start anywhere.
 * @theta:  the base (10000 for Llama 2, 500000 for Llama 3), > 1.
 * @layout: STRATA_ROPE_HALF or STRATA_ROPE_ADJACENT; head_dim is even.
 */
STRATA_API int strata_graph_rope(struct strata_graph *g, uint32_t x, uint32_t pos, float theta, unsigned layout,
				 uint32_t *out);

/* Matmul flags. */
#define STRATA_MATMUL_TRANS_B (1u << 0) /* b is [..., N, K] (a linear layer's weight as stored) */

/*
 * strata_graph_matmul() - a [..., M, K] times b [..., K, N] = [..., M, N].
 * Leading (batch) dimensions must be equal, or b has none and is shared by
 * every batch.
 */
STRATA_API int strata_graph_matmul(struct strata_graph *g, uint32_t a, uint32_t b, unsigned flags, uint32_t *out);

/* strata_graph_reshape() - the same elements in another shape; a symbolic
 * dimension must stay one (STRATA_DIM_SEQ in @shape where @a has it). */
STRATA_API int strata_graph_reshape(struct strata_graph *g, uint32_t a, unsigned ndim, const int64_t *shape,
				    uint32_t *out);

/* strata_graph_permute() - dimension i of the result is dimension @perm[i]
 * of @a (@perm lists each of @a's dimensions once). */
STRATA_API int strata_graph_permute(struct strata_graph *g, uint32_t a, const unsigned *perm, uint32_t *out);

/* strata_graph_slice() - @len entries of @a along @axis from @start (the
 * axis must not be the symbolic one). */
STRATA_API int strata_graph_slice(struct strata_graph *g, uint32_t a, int axis, int64_t start, int64_t len,
				  uint32_t *out);

/* strata_graph_concat() - @a then @b along @axis; every other dimension
 * equal, and the axis not symbolic in either. */
STRATA_API int strata_graph_concat(struct strata_graph *g, uint32_t a, uint32_t b, int axis, uint32_t *out);

/* strata_graph_argmax() - the index of the largest value over the last
 * axis, as i32 (the first on ties); the axis stays, with size 1. */
STRATA_API int strata_graph_argmax(struct strata_graph *g, uint32_t a, uint32_t *out);

/* strata_graph_embedding() - rows of @table [V, D] at the i32 ids of @ids
 * [...]: the result is [..., D].  An id outside 0 … V-1 fails the run. */
STRATA_API int strata_graph_embedding(struct strata_graph *g, uint32_t table, uint32_t ids, uint32_t *out);

/*
 * KV caches.  A state is a tensor the compiled program keeps from one run
 * to the next, zeroed when the program is made (strata_program_reset()
 * zeroes it again); the reference interpreter, which keeps nothing, starts
 * every run from zeros.
 *
 * strata_graph_state() - a state of fixed @shape (no symbolic dimension), f32.
 */
STRATA_API int strata_graph_state(struct strata_graph *g, const char *name, unsigned ndim, const int64_t *shape,
				  uint32_t *out);

/*
 * strata_graph_write_rows() - the state after writing row s of @value into
 * row @pos[s] of @state: @value is [seq, ...] with the state's trailing
 * dimensions, @pos i32 [seq] (the positions rope takes).  The result (the
 * whole state, written in place) is what attention reads; a position
 * outside the state fails the run.  Every write runs, used or not.
 */
STRATA_API int strata_graph_write_rows(struct strata_graph *g, uint32_t state, uint32_t value, uint32_t pos,
				       uint32_t *out);

/*
 * strata_graph_attention() - causal attention: query row s of @q [seq, H, D]
 * attends to rows 0 … @pos[s] of the cached @k and @v [C, KVH, D] (results
 * of strata_graph_write_rows()), head h using cache head h / (H / KVH)
 * (grouped-query attention: H a multiple of KVH), scores scaled by @scale
 * (1/sqrt(D) usually), softmax over them, weights times v.  The result is
 * [seq, H, D].  Computed in one pass with a running softmax: no [seq, C]
 * score matrix is made.
 */
STRATA_API int strata_graph_attention(struct strata_graph *g, uint32_t q, uint32_t k, uint32_t v, uint32_t pos,
				      float scale, uint32_t *out);

/* strata_graph_cast() - @a as @dtype: f32 to i32 rounds toward zero
 * (NaN gives 0, values beyond the range the nearest end of it); i32 to f32
 * rounds to nearest. */
STRATA_API int strata_graph_cast(struct strata_graph *g, uint32_t a, enum strata_dtype dtype, uint32_t *out);

/* strata_graph_output() - mark @node as a result of the graph. */
STRATA_API int strata_graph_output(struct strata_graph *g, uint32_t node);

/*
 * strata_graph_parse() - a graph from its text form (the notation
 * strata_program_dump() writes; core/graph/text.c documents it).  Weights
 * are filled with seeded values, zeros or ones, and belong to the graph.
 * @error: where to write why the text is refused ("line 3: ..."), or NULL.
 * Return: 0 and *@out (free with strata_graph_destroy()); -EINVAL; -ENOMEM.
 */
STRATA_API int strata_graph_parse(struct strata_rt *rt, const char *text, struct strata_graph **out, char *error,
				  size_t error_len);

/* strata_graph_nodes() - how many nodes @g has (0 for NULL). */
STRATA_API uint32_t strata_graph_nodes(const struct strata_graph *g);

/* strata_graph_node_info() - what the CLI and tests need to feed a graph:
 * node @node's op, type, whether it is an output, and its name ("" if none).
 * Return: 0; -EINVAL. */
STRATA_API int strata_graph_node_info(const struct strata_graph *g, uint32_t node, enum strata_op *op,
				      enum strata_dtype *dtype, bool *is_output, const char **name);

/*
 * strata_graph_shape() - the shape of @node.
 * @ndim:  set to its number of dimensions.
 * @shape: room for STRATA_MAX_DIMS entries; the first *@ndim are filled
 *         (STRATA_DIM_SEQ where symbolic).
 * Return: 0; -EINVAL (no such node).
 */
STRATA_API int strata_graph_shape(const struct strata_graph *g, uint32_t node, unsigned *ndim, int64_t *shape);

/* A tensor's data for a run: @bytes must match its shape with the
 * sequence length bound (f32 for inputs and outputs, i32 for ids). */
struct strata_graph_tensor {
	uint32_t node;
	void *data;
	size_t bytes;
};

/*
 * strata_graph_eval_reference() - run @g with the reference interpreter.
 * @seq:     the sequence length (1 … max_seq; ignored when no shape has one).
 * @inputs:  data for the input nodes (those the wanted nodes depend on
 *           must be there; others are ignored).
 * @outputs: where to write the nodes wanted (any nodes, not only those
 *           marked as outputs); only what they depend on is evaluated.
 * Return: 0; -EINVAL (a missing or mis-sized tensor, a bad @seq, an id out
 * of range: see strata_graph_error()); -ENOMEM.
 */
STRATA_API int strata_graph_eval_reference(struct strata_graph *g, uint32_t seq,
					   const struct strata_graph_tensor *inputs, unsigned n_inputs,
					   const struct strata_graph_tensor *outputs, unsigned n_outputs);

/*
 * Compiling.  strata_graph_compile() folds constants, merges common
 * subexpressions, drops dead code, fuses the rest into kernels (element-
 * wise chains; reductions, softmax and norms with their element-wise
 * prologue and epilogue; matmuls with their epilogue), plans every
 * intermediate value into one arena, and generates C for each kernel,
 * built with the system C compiler (-O3 -march=native) and kept in a disk
 * cache.  The program runs its kernels on worker threads.
 *
 * Without a working C compiler the program still runs, on the reference
 * interpreter; strata_program_info() says so and why.
 */
struct strata_program;

#define STRATA_COMPILE_INTERPRET (1u << 0) /* no code generation: run the reference interpreter */
#define STRATA_COMPILE_NO_FUSION (1u << 1) /* every op a kernel of its own (to measure what fusion saves) */
/* Read block-quantized weights (Q8_0, Q4_0, Q4_1) in their own layout.  By
 * default, where the CPU has AVX-512 VNNI, a matmul reads such a weight
 * packed sixteen rows to a block, made at the first run that reaches it:
 * decode is then bound by memory, not by unpacking.  The packed form is a
 * copy (strata_program_info()'s packed_bytes), or the weight's own bytes
 * when the caller lent them (strata_graph_weight_lend()).  A lent weight
 * already packed stays so: this flag does not undo that. */
#define STRATA_COMPILE_NO_PACKING (1u << 2)
/* Matmuls on packed weights (above) round a's rows to 8 bits, a block of
 * 32 at a time, as llama.cpp does, in prefill and decode alike: a third
 * of the integer work of the default, three 8-bit digits a value (f32's
 * precision), at an error of up to half of max|a| / 127 a value.  Either
 * way a row's result does not depend on how many rows a run holds. */
#define STRATA_COMPILE_INT8_ACTIVATIONS (1u << 3)
/* A run that finds streamed weights still loading computes as they arrive
 * only where the process has a CPU more than the program's threads (the
 * loader needs one: its completions, the checks of each tensor); else it
 * waits for them first and says so in the log (strata_program_info()'s
 * stream_loaded_first).  This flag overlaps whatever the cores. */
#define STRATA_COMPILE_STREAM_OVERLAP (1u << 4)
/* Prefill's matmuls on bf16 weights round a's rows to bf16, as PyTorch
 * and llama.cpp do for such a weight, and multiply with AVX512_BF16's
 * dot products where the CPU has them: twice the multiply-adds of f32 a
 * cycle, at an error of up to 2⁻⁸ of each value of a.  Decode (fewer than
 * four rows, bound by reading the weight) keeps a in f32. */
#define STRATA_COMPILE_BF16_ACTIVATIONS (1u << 5)

struct strata_compile_opts {
	size_t sz;
	unsigned threads; /* workers, the caller included (0: one per core) */
	const char *cache_dir; /* kernel cache (NULL: <runtime cache dir>/kernels; "": none) */
	uint64_t cache_max_bytes; /* bound of the cache folder (0: 256 MiB) */
	unsigned flags; /* STRATA_COMPILE_* */
};

#define STRATA_COMPILE_OPTS(name_, ...) \
	struct strata_compile_opts name_ = { .sz = sizeof(struct strata_compile_opts), __VA_ARGS__ }

/*
 * strata_graph_compile() - make a program that computes @g's outputs.
 * @g must outlive the program (weights stay borrowed; the interpreter
 * fallback runs @g itself).
 * Return: 0 and *@out (free with strata_program_destroy()); -EINVAL (no
 * outputs; see strata_graph_error()); -ENOMEM; -ENOEXEC when a generated
 * kernel does not compile (a strata bug: the message names the kernel).
 */
STRATA_API int strata_graph_compile(struct strata_graph *g, const struct strata_compile_opts *opts,
				    struct strata_program **out);

/*
 * strata_program_run() - run the program at sequence length @seq.
 * @inputs:  as for strata_graph_eval_reference().
 * @outputs: nodes marked with strata_graph_output(), by their numbers in
 *           the graph that was compiled.
 * Return: 0; -EINVAL (a missing or mis-sized tensor, a node that is not an
 * output, a bad @seq, an id out of range: see strata_program_error()).
 */
STRATA_API int strata_program_run(struct strata_program *p, uint32_t seq, const struct strata_graph_tensor *inputs,
				  unsigned n_inputs, const struct strata_graph_tensor *outputs, unsigned n_outputs);

/* strata_program_reset() - zero every state of @p (a new conversation). */
STRATA_API void strata_program_reset(struct strata_program *p);

/* strata_program_error() - why the last call on @p failed ("" if it did not). */
STRATA_API const char *strata_program_error(const struct strata_program *p);

/* strata_program_destroy() - free @p (NULL is fine). */
STRATA_API void strata_program_destroy(struct strata_program *p);

enum strata_backend {
	STRATA_BACKEND_C = 1, /* generated C, compiled for this CPU */
	STRATA_BACKEND_INTERPRETER = 2, /* the reference interpreter */
};

struct strata_program_info {
	size_t sz;
	enum strata_backend backend;
	char reason[200]; /* why the interpreter runs ("" otherwise) */
	char compiler[160]; /* the compiler's version line */
	unsigned nodes; /* after folding, merging and dead-code elimination */
	unsigned kernels;
	unsigned objects; /* distinct compiled kernels (identical layers share) */
	unsigned compiled; /* objects built by this compile */
	unsigned cache_hits; /* objects found in the disk cache */
	unsigned threads;
	uint64_t arena_bytes; /* planned peak of intermediate values, at max_seq */
	uint64_t live_bound; /* the most bytes alive at once: no plan needs less */
	unsigned in_place; /* kernels writing over a dying argument */
	uint64_t stream_waits; /* runs' waits for a streamed weight not yet loaded */
	uint64_t bytes_moved; /* estimated bytes all kernels move at max_seq */
	double compile_ms;
	uint64_t packed_bytes; /* copies of weights packed for decode (STRATA_COMPILE_NO_PACKING) */
	/* What the kernels bring in from memory at max_seq: arguments, and the
	 * lines of results written with plain stores to lines not just read.
	 * Written-back lines drain while a core waits on its reads, so run
	 * time follows this more closely than bytes_moved (compile.c). */
	uint64_t fill_bytes;
	/* Runs that found streamed weights loading and, short of a CPU for the
	 * loader, waited for them before computing (STRATA_COMPILE_STREAM_OVERLAP). */
	uint64_t stream_loaded_first;
};

/* strata_program_info() - describe @p.  Return: 0; -EINVAL. */
STRATA_API int strata_program_info(const struct strata_program *p, struct strata_program_info *out);

/* What one kernel of a program has done over its runs (compiled programs;
 * each of its chunks is also a "graph.kernel.<kind>" trace span). */
struct strata_kernel_stats {
	size_t sz;
	const char *kind; /* "elementwise", "rows", "matmul", "single" */
	const char *op; /* its central op ("softmax", "matmul", or the chain's first) */
	unsigned nodes; /* graph nodes it computes */
	uint64_t runs;
	double seconds; /* wall time, first chunk's start to last chunk's end, summed */
	uint64_t bytes; /* its arguments and result, at each run's sequence length, summed */
	double gbps; /* bytes / seconds / 1e9 */
};

/* strata_program_kernel_stats() - kernel @kernel (0 … kernels - 1) of @p.
 * Return: 0; -EINVAL (no such kernel, or the interpreter runs @p). */
STRATA_API int strata_program_kernel_stats(const struct strata_program *p, unsigned kernel,
					   struct strata_kernel_stats *out);

/*
 * strata_program_dump() - the graph after each pass, the kernels with
 * their sources, and the memory plan, as text.  The text belongs to @p.
 * Return: 0 and *@text; -ENOMEM.
 */
STRATA_API int strata_program_dump(struct strata_program *p, const char **text);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_GRAPH_H */
