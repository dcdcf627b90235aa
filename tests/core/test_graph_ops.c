/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_ops.c — every op compiled and checked against the
 * reference interpreter: on odd fixed shapes (so that vector loops have
 * remainders), every weight storage type, and ten draws of random shapes.
 *
 * Tolerance: |compiled - reference| <= 1e-4 + 1e-4·|reference| for f32
 * paths (the reference sums in double, kernels in float with partial
 * sums), 2e-5 of the output's largest value where weights are unpacked
 * from f16 or blocks, 1e-2 of it for the 4-bit decode path (activations
 * quantized to 8 bits per block).  Indices (argmax, casts to i32) must be
 * equal.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "core/graph/compile_int.h"
#include "helpers.h"

static void unary_ops(void **state)
{
	static const enum strata_op ops[] = { STRATA_OP_EXP,  STRATA_OP_LOG,	 STRATA_OP_SQRT, STRATA_OP_RSQRT,
					      STRATA_OP_NEG,  STRATA_OP_TANH,	 STRATA_OP_SIGMOID,
					      STRATA_OP_SILU, STRATA_OP_GELU };
	const int64_t xs[] = { STRATA_DIM_SEQ, 37 };
	uint32_t x, outs[ST_ARRAY_SIZE(ops) + 2], scaled;
	float *xd = graph_random_floats(7 * 37, 0.1f, 3.0f);
	unsigned i;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &x), 0);
	for (i = 0; i < ST_ARRAY_SIZE(ops); i++)
		assert_int_equal(strata_graph_unary(test_graph, ops[i], x, &outs[i]), 0);
	/* Soft-capping alone, and at the end of a chain (30 x capped at 20,
	 * so that both the flat and the steep part are crossed). */
	assert_int_equal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, x, 1.5f, &outs[i++]), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, x, x, &scaled), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, scaled, x, &scaled), 0);
	assert_int_equal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, scaled, 20.0f, &outs[i++]), 0);
	graph_mark(outs, i);
	for (uint32_t seq = 1; seq <= 7; seq += 3) {
		struct strata_graph_tensor in = { x, xd, seq * 37 * 4 };

		graph_compare_f32(seq, &in, 1, outs, i);
	}
	free(xd);
}

/* Each binary op against operands that broadcast in every way. */
static void binary_broadcast(void **state)
{
	static const enum strata_op ops[] = { STRATA_OP_ADD, STRATA_OP_SUB, STRATA_OP_MUL, STRATA_OP_DIV, STRATA_OP_MAX };
	const int64_t as[] = { STRATA_DIM_SEQ, 3, 20 };
	const int64_t shapes[][3] = { { 20 }, { 3, 1 }, { 1, 20 }, { STRATA_DIM_SEQ, 1, 1 }, { STRATA_DIM_SEQ, 3, 20 } };
	const unsigned ndims[] = { 1, 2, 2, 3, 3 };
	uint32_t a, b[5], outs[25];
	float *ad = graph_random_floats(5 * 60, -2, 2), *bd[5];
	struct strata_graph_tensor in[6];
	unsigned i, j, n = 0;
	uint32_t seq = 5;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 3, as, &a), 0);
	in[0] = (struct strata_graph_tensor){ a, ad, seq * 60 * 4 };
	for (i = 0; i < 5; i++) {
		assert_int_equal(strata_graph_input(test_graph, "b", STRATA_DTYPE_F32, ndims[i], shapes[i], &b[i]), 0);
		bd[i] = graph_random_floats(seq * 60, 0.5f, 2.0f);
		in[1 + i] = (struct strata_graph_tensor){ b[i], bd[i], graph_bytes_of(b[i], seq) };
	}
	for (i = 0; i < 5; i++)
		for (j = 0; j < 5; j++)
			/* Both orders: the broadcast operand first and second. */
			assert_int_equal(strata_graph_binary(test_graph, ops[i], (i + j) % 2 ? a : b[j], (i + j) % 2 ? b[j] : a,
							     &outs[n++]),
					 0);
	graph_mark(outs, n);
	graph_compare_f32(seq, in, 6, outs, n);
	free(ad);
	for (i = 0; i < 5; i++)
		free(bd[i]);
}

static void reductions(void **state)
{
	static const enum strata_op ops[] = { STRATA_OP_SUM, STRATA_OP_REDUCE_MAX, STRATA_OP_MEAN };
	const int64_t xs[] = { STRATA_DIM_SEQ, 5, 13 };
	uint32_t x, outs[9];
	float *xd = graph_random_floats(6 * 65, -3, 3);
	unsigned i, n = 0;
	int axis;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 3, xs, &x), 0);
	for (i = 0; i < 3; i++)
		for (axis = 0; axis < 3; axis++)
			assert_int_equal(strata_graph_reduce(test_graph, ops[i], x, axis, &outs[n++]), 0);
	graph_mark(outs, n);
	struct strata_graph_tensor in = { x, xd, 6 * 65 * 4 };
	graph_compare_f32(6, &in, 1, outs, n);
	free(xd);
}

/* Softmax and the norms, alone, after a prologue and before an epilogue. */
static void rope_both_layouts(void **state)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, 3, 10 }, ps[] = { STRATA_DIM_SEQ };
	float *xd = graph_random_floats(5 * 30, -1, 1);
	int32_t pos[5] = { 0, 1, 7, 300, 4095 };
	uint32_t x, pn, outs[2];

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 3, xs, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &pn), 0);
	assert_int_equal(strata_graph_rope(test_graph, x, pn, 10000.0f, STRATA_ROPE_HALF, &outs[0]), 0);
	assert_int_equal(strata_graph_rope(test_graph, x, pn, 500000.0f, STRATA_ROPE_ADJACENT, &outs[1]), 0);
	graph_mark(outs, 2);
	struct strata_graph_tensor in[2] = { { x, xd, 5 * 30 * 4 }, { pn, pos, 5 * 4 } };
	graph_compare_f32(5, in, 2, outs, 2);
	free(xd);
}

/* Matmul: b as is and transposed, shared and batched, N not a multiple of
 * the column block or of four, and an epilogue. */
static void matmul_f32(void **state)
{
	const int64_t as[] = { STRATA_DIM_SEQ, 40 }, w1s[] = { 40, 37 }, w2s[] = { 37, 40 }, bas[] = { 3, STRATA_DIM_SEQ, 40 },
		      bbs[] = { 3, 40, 6 }, biass[] = { 37 };
	float *ad = graph_random_floats(6 * 40, -1, 1), *w1 = graph_random_floats(40 * 37, -1, 1), *w2 = graph_random_floats(37 * 40, -1, 1);
	float *bad = graph_random_floats(3 * 6 * 40, -1, 1), *bbd = graph_random_floats(3 * 40 * 6, -1, 1), *bias = graph_random_floats(37, -1, 1);
	uint32_t a, w1n, w2n, ba, bb, bn, outs[6], n = 0, t;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
	assert_int_equal(strata_graph_input(test_graph, "ba", STRATA_DTYPE_F32, 3, bas, &ba), 0);
	assert_int_equal(strata_graph_input(test_graph, "bb", STRATA_DTYPE_F32, 3, bbs, &bb), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w1", STRATA_DTYPE_F32, 2, w1s, w1, &w1n), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w2", STRATA_DTYPE_F32, 2, w2s, w2, &w2n), 0);
	assert_int_equal(strata_graph_weight(test_graph, "bias", STRATA_DTYPE_F32, 1, biass, bias, &bn), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, w1n, 0, &outs[n++]), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, w2n, STRATA_MATMUL_TRANS_B, &outs[n++]), 0);
	assert_int_equal(strata_graph_matmul(test_graph, ba, bb, 0, &outs[n++]), 0);
	assert_int_equal(strata_graph_matmul(test_graph, ba, w2n, STRATA_MATMUL_TRANS_B, &outs[n++]), 0);
	/* with an epilogue: silu(a·w2ᵀ + bias) */
	assert_int_equal(strata_graph_matmul(test_graph, a, w2n, STRATA_MATMUL_TRANS_B, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, t, bn, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, t, &outs[n++]), 0);
	graph_mark(outs, n);
	for (uint32_t seq = 1; seq <= 6; seq += 5) {
		struct strata_graph_tensor in[3] = { { a, ad, seq * 40 * 4 }, { ba, bad, 3 * seq * 40 * 4 },
						     { bb, bbd, 3 * 40 * 6 * 4 } };

		graph_compare_f32(seq, in, 3, outs, n);
	}
	free(ad);
	free(w1);
	free(w2);
	free(bad);
	free(bbd);
	free(bias);
}

/*
 * Prefill's register-blocked path (kernels/gemm_f32.h): from 4 to 37
 * rows, K of several passes (700) and a multiple of 512 (1024: A's tiles
 * copied), batched a, and an epilogue adding an intermediate (a softmax's
 * result) that the matmul reads last: its memory must not become the
 * result's (itself an intermediate), which holds partial sums.
 */
static void matmul_f32_prefill(void **state)
{
	static const int64_t Ks[] = { 700, 1024 };

	(void)state;
	for (unsigned ki = 0; ki < 2; ki++) {
		const int64_t K = Ks[ki], as[] = { STRATA_DIM_SEQ, K }, bas[] = { 2, STRATA_DIM_SEQ, K }, ws[] = { 70, K },
			      rs[] = { STRATA_DIM_SEQ, 70 };
		float *ad = graph_random_floats(37 * K, -1, 1), *bad = graph_random_floats(2 * 37 * K, -1, 1);
		float *w = graph_random_floats(70 * K, -1, 1), *rd = graph_random_floats(37 * 70, -1, 1);
		uint32_t a, ba, wn, r, outs[2], n = 0, t, soft;
		STRATA_GRAPH_OPTS(opts, .max_seq = 37);

		assert_int_equal(strata_graph_create(test_rt, &opts, &test_graph), 0);
		assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
		assert_int_equal(strata_graph_input(test_graph, "ba", STRATA_DTYPE_F32, 3, bas, &ba), 0);
		assert_int_equal(strata_graph_input(test_graph, "r", STRATA_DTYPE_F32, 2, rs, &r), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 2, ws, w, &wn), 0);
		assert_int_equal(strata_graph_matmul(test_graph, ba, wn, STRATA_MATMUL_TRANS_B, &outs[n++]), 0);
		assert_int_equal(strata_graph_softmax(test_graph, r, &soft), 0);
		assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &t), 0);
		assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, t, soft, &t), 0);
		assert_int_equal(strata_graph_softmax(test_graph, t, &outs[n++]), 0);
		graph_mark(outs, n);
		for (uint32_t seq = 4; seq <= 37; seq += 9) {
			struct strata_graph_tensor in[3] = { { a, ad, seq * K * 4 }, { ba, bad, 2 * seq * K * 4 },
							     { r, rd, seq * 70 * 4 } };

			graph_compare(seq, in, 3, outs, n, 1e-5, false, NULL);
		}
		graph_teardown(NULL);
		free(ad), free(bad), free(w), free(rd);
	}
}

static uint16_t to_half(float f)
{
	/* Values here are normal and in range: round the mantissa to 10 bits. */
	uint32_t b;

	memcpy(&b, &f, 4);
	if ((b & 0x7fffffff) == 0)
		return (uint16_t)(b >> 16);
	return (uint16_t)(((b >> 16) & 0x8000) | ((((b >> 23) & 0xff) - 112) << 10) | ((b >> 13) & 0x3ff));
}

/* Random weights in each storage type, [rows, cols] with cols % 32 == 0. */
static void *random_weight(enum strata_dtype t, int64_t rows, int64_t cols)
{
	size_t blocks = (size_t)(rows * cols / 32), i, j;
	uint8_t *p;

	switch (t) {
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16: {
		uint16_t *h = malloc((size_t)(rows * cols) * 2);

		for (i = 0; i < (size_t)(rows * cols); i++) {
			float f = graph_frand(-1, 1);
			uint32_t b;

			memcpy(&b, &f, 4);
			h[i] = t == STRATA_DTYPE_F16 ? to_half(f) : (uint16_t)(b >> 16);
		}
		return h;
	}
	case STRATA_DTYPE_Q8_0:
		p = malloc(blocks * 34);
		for (i = 0; i < blocks; i++) {
			uint16_t d = to_half(graph_frand(0.001f, 0.02f));

			memcpy(p + i * 34, &d, 2);
			for (j = 0; j < 32; j++)
				p[i * 34 + 2 + j] = (uint8_t)(int8_t)(graph_frand(-127, 127));
		}
		return p;
	default: {
		size_t bs = t == STRATA_DTYPE_Q4_1 ? 20 : 18, q = t == STRATA_DTYPE_Q4_1 ? 4 : 2;

		p = malloc(blocks * bs);
		for (i = 0; i < blocks; i++) {
			uint16_t d = to_half(graph_frand(0.01f, 0.2f)), m = to_half(graph_frand(-1, 0));

			memcpy(p + i * bs, &d, 2);
			if (t == STRATA_DTYPE_Q4_1)
				memcpy(p + i * bs + 2, &m, 2);
			for (j = 0; j < 16; j++)
				p[i * bs + q + j] = (uint8_t)(graph_frand(0, 255.99f));
		}
		return p;
	}
	}
}

/* Weights stored as f16, bf16, Q8_0, Q4_0 and Q4_1, read by a transposed
 * matmul (unpacked in the kernel) and by an embedding. */
static void matmul_and_embedding_quantized(void **state)
{
	static const enum strata_dtype types[] = { STRATA_DTYPE_F16, STRATA_DTYPE_BF16, STRATA_DTYPE_Q8_0,
						   STRATA_DTYPE_Q4_0, STRATA_DTYPE_Q4_1 };
	const int64_t as[] = { STRATA_DIM_SEQ, 96 }, ws[] = { 38, 96 }, ids_s[] = { STRATA_DIM_SEQ };
	float *ad = graph_random_floats(5 * 96, -1, 1);
	int32_t ids[5] = { 0, 37, 5, 5, 12 };
	void *w[5];
	uint32_t a, ids_n, wn, outs[10], n = 0;
	unsigned i;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, ids_s, &ids_n), 0);
	for (i = 0; i < 5; i++) {
		w[i] = random_weight(types[i], 38, 96);
		assert_int_equal(strata_graph_weight(test_graph, "w", types[i], 2, ws, w[i], &wn), 0);
		assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &outs[n++]), 0);
		assert_int_equal(strata_graph_embedding(test_graph, wn, ids_n, &outs[n++]), 0);
	}
	graph_mark(outs, n);
	/* Two rows of a take the decode path (blocks dotted in place; three
	 * blocks a row, so 4-bit blocks also meet an unpaired last block), five
	 * the prefill path (rows unpacked).  Both are f32-exact to rounding. */
	for (uint32_t seq = 2; seq <= 5; seq += 3) {
		struct strata_graph_tensor in[2] = { { a, ad, seq * 96 * 4 }, { ids_n, ids, seq * 4 } };

		graph_compare(seq, in, 2, outs, n, 2e-5, true, NULL);
	}
	free(ad);
	for (i = 0; i < 5; i++)
		free(w[i]);
}

/* Whether this CPU reads quantized weights packed (emit_packed.c). */
static bool packs_here(void)
{
	const uint64_t need = 1ull << STRATA_CPU_AVX512F | 1ull << STRATA_CPU_AVX512BW | 1ull << STRATA_CPU_AVX512VL |
			      1ull << STRATA_CPU_AVX512VNNI | 1ull << STRATA_CPU_F16C;

	return (strata_topo_cpu_features(strata_rt_topo(test_rt)) & need) == need;
}

/*
 * Q8_0, Q4_0 and Q4_1 weights with rows in sixteens (48: a whole tile of
 * 32 and half of one), which a matmul reads from a copy packed sixteen rows
 * to a block where the CPU has AVX-512 VNNI.  A batch of two shares each
 * weight, so two chunks meet a tile at the first run; a SiLU epilogue
 * follows, and an embedding gathers from each weight too (rows of packed
 * and unpacked tiles).  Decode (1 and 3 rows), prefill (5), and decode
 * again on the packed copy, each against the reference; with packing and without, the
 * caller's weights left as they were; then lent (strata_graph_weight_lend()):
 * packed in their own bytes, which the reference and a program compiled
 * not to pack still read right.
 */
static void packed_quantized_weights(void **state)
{
	static const enum strata_dtype types[] = { STRATA_DTYPE_Q8_0, STRATA_DTYPE_Q4_0, STRATA_DTYPE_Q4_1 };
	static const uint32_t seqs[] = { 1, 3, 5, 1 };
	const int64_t as[] = { 2, STRATA_DIM_SEQ, 96 }, ws[] = { 48, 96 }, is[] = { STRATA_DIM_SEQ };
	float *ad = graph_random_floats(2 * 5 * 96, -1, 1), *got = malloc(2 * 5 * 96 * 4), *want = malloc(2 * 5 * 96 * 4);
	int32_t ids[5] = { 47, 0, 31, 32, 16 };
	void *w[3], *copy[3];
	size_t bytes[3], total = 0;
	uint32_t a, idn, wn, t, outs[6];

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 3, as, &a), 0);
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, is, &idn), 0);
	for (unsigned i = 0; i < 3; i++) {
		bytes[i] = (size_t)(48 * 96 / 32) * (types[i] == STRATA_DTYPE_Q8_0 ? 34 : types[i] == STRATA_DTYPE_Q4_1 ? 20 : 18);
		total += bytes[i];
		w[i] = random_weight(types[i], 48, 96);
		copy[i] = malloc(bytes[i]);
		memcpy(copy[i], w[i], bytes[i]);
		assert_int_equal(strata_graph_weight(test_graph, "w", types[i], 2, ws, w[i], &wn), 0);
		assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &t), 0);
		assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, t, &outs[i]), 0);
		assert_int_equal(strata_graph_embedding(test_graph, wn, idn, &outs[3 + i]), 0);
	}
	graph_mark(outs, 6);
	/* Passes 0 and 1: packed copies, then none; 2 and 3: the weights lent,
	 * packed in place, then read so by a program that would not pack. */
	for (unsigned pass = 0; pass < 4; pass++) {
		unsigned flags = pass % 2 ? STRATA_COMPILE_NO_PACKING : 0;
		STRATA_COMPILE_OPTS(opts, .threads = 2, .flags = flags);
		struct strata_program_info info = { .sz = sizeof(info) };
		struct strata_program *p;

		if (pass == 2) {
			for (unsigned i = 0; i < 3; i++)
				assert_memory_equal(w[i], copy[i], bytes[i]);
			for (uint32_t id = 0; id < test_graph->n; id++)
				if (test_graph->nodes[id].op == STRATA_OP_WEIGHT)
					assert_int_equal(strata_graph_weight_lend(test_graph, id), 0);
		}
		assert_int_equal(strata_graph_compile(test_graph, &opts, &p), 0);
		assert_int_equal(strata_program_info(p, &info), 0);
		assert_int_equal(info.packed_bytes, pass == 0 && packs_here() ? total : 0);
		for (unsigned r = 0; r < 4; r++) {
			struct strata_graph_tensor in[2] = { { a, ad, 2 * seqs[r] * 96 * 4 }, { idn, ids, seqs[r] * 4 } };

			/* the matmuls, then the gathers from the same weights */
			for (unsigned i = 0; i < 6; i++) {
				struct strata_graph_tensor g = { outs[i], got, (i < 3 ? 2 * 48 : 96) * seqs[r] * 4 };
				struct strata_graph_tensor ref = { outs[i], want, g.bytes };
				double scale = 1;

				assert_int_equal(strata_program_run(p, seqs[r], in, 2, &g, 1), 0);
				assert_int_equal(strata_graph_eval_reference(test_graph, seqs[r], in, 2, &ref, 1), 0);
				for (size_t j = 0; j < g.bytes / 4; j++)
					scale = fabs(want[j]) > scale ? fabs(want[j]) : scale;
				for (size_t j = 0; j < g.bytes / 4; j++)
					if (!(fabs(got[j] - want[j]) <= 2e-5 * scale))
						fail_msg("%s, seq %u, pass %u, element %zu: %.9g, reference %.9g",
							 i % 3 == 0 ? "Q8_0" : i % 3 == 1 ? "Q4_0" : "Q4_1", seqs[r], pass, j,
							 (double)got[j], (double)want[j]);
			}
		}
		strata_program_destroy(p);
	}
	for (unsigned i = 0; i < 3; i++) {
		/* rewritten in place where this CPU packs */
		assert_true(!memcmp(w[i], copy[i], bytes[i]) == !packs_here());
		free(w[i]);
		free(copy[i]);
	}
	assert_int_equal(strata_graph_weight_lend(test_graph, a), -EINVAL); /* an input */
	free(ad), free(got), free(want);
}

/*
 * A row's result does not depend on how many rows a run holds: a prompt
 * of 13 rows, then each row alone, give the same bits, on packed weights
 * with decode's three digits and with 8-bit rows
 * (STRATA_COMPILE_INT8_ACTIVATIONS, then within its error of the
 * reference: half a step of max|a| / 127 a value).
 */
static void rows_alone_or_together(void **state)
{
	static const enum strata_dtype types[] = { STRATA_DTYPE_Q8_0, STRATA_DTYPE_Q4_0, STRATA_DTYPE_Q4_1 };
	const int64_t as[] = { STRATA_DIM_SEQ, 128 }, ws[] = { 80, 128 };
	float *ad = graph_random_floats(13 * 128, -1, 1), all[13 * 80], one[80], want[13 * 80];
	uint32_t a, wn, outs[3];
	void *w[3];
	STRATA_GRAPH_OPTS(gopts, .max_seq = 13);

	(void)state;
	assert_int_equal(strata_graph_create(test_rt, &gopts, &test_graph), 0);
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
	for (unsigned i = 0; i < 3; i++) {
		w[i] = random_weight(types[i], 80, 128);
		assert_int_equal(strata_graph_weight(test_graph, "w", types[i], 2, ws, w[i], &wn), 0);
		assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &outs[i]), 0);
	}
	graph_mark(outs, 3);
	for (unsigned int8 = 0; int8 < 2; int8++) {
		STRATA_COMPILE_OPTS(opts, .threads = 2, .flags = int8 ? STRATA_COMPILE_INT8_ACTIVATIONS : 0);
		struct strata_program *p;

		assert_int_equal(strata_graph_compile(test_graph, &opts, &p), 0);
		for (unsigned i = 0; i < 3; i++) {
			struct strata_graph_tensor in = { a, ad, 13 * 128 * 4 }, o = { outs[i], all, sizeof(all) };
			struct strata_graph_tensor ref = { outs[i], want, sizeof(want) };
			double scale = 0;

			assert_int_equal(strata_program_run(p, 13, &in, 1, &o, 1), 0);
			for (int r = 0; r < 13; r++) {
				struct strata_graph_tensor in1 = { a, ad + r * 128, 128 * 4 }, o1 = { outs[i], one, sizeof(one) };

				assert_int_equal(strata_program_run(p, 1, &in1, 1, &o1, 1), 0);
				if (memcmp(one, all + r * 80, sizeof(one)))
					fail_msg("%s%s: row %d alone differs from the same row among 13 (%.9g, %.9g)",
						 st_dtype_name(types[i]), int8 ? ", 8-bit rows" : "", r, (double)one[0],
						 (double)all[r * 80]);
			}
			assert_int_equal(strata_graph_eval_reference(test_graph, 13, &in, 1, &ref, 1), 0);
			for (int j = 0; j < 13 * 80; j++)
				scale = fabs(want[j]) > scale ? fabs(want[j]) : scale;
			for (int j = 0; j < 13 * 80; j++)
				if (!(fabs(all[j] - want[j]) <= (int8 && packs_here() ? 1e-2 : 2e-5) * scale))
					fail_msg("%s%s, element %d: %.9g, reference %.9g", st_dtype_name(types[i]),
						 int8 ? ", 8-bit rows" : "", j, (double)all[j], (double)want[j]);
		}
		strata_program_destroy(p);
	}
	graph_teardown(NULL);
	for (unsigned i = 0; i < 3; i++)
		free(w[i]);
	free(ad);
}

/*
 * bf16 weights with STRATA_COMPILE_BF16_ACTIVATIONS: where the CPU has
 * AVX512_BF16, prefill (from 4 rows) rounds a to bf16, each result then
 * within 2⁻⁸ · Σ|a·w| of the reference (a's rounding; the products are
 * exact); decode (3 rows), K odd (33: no pairs) and CPUs without the
 * instructions stay f32-exact.  K 700 takes two passes, 1024 pads a's
 * rows; an added input is the epilogue.
 */
static void matmul_bf16_activations(void **state)
{
	static const int64_t Ks[] = { 33, 96, 700, 1024 };
	const bool dots = (strata_topo_cpu_features(strata_rt_topo(test_rt)) >> STRATA_CPU_AVX512BF16) & 1;

	(void)state;
	for (unsigned ki = 0; ki < sizeof(Ks) / sizeof(Ks[0]); ki++) {
		const int64_t K = Ks[ki], as[] = { STRATA_DIM_SEQ, K }, ws[] = { 70, K }, rs[] = { STRATA_DIM_SEQ, 70 };
		float *ad = graph_random_floats(37 * K, -1, 1), *rd = graph_random_floats(37 * 70, -1, 1);
		float *got = malloc(37 * 70 * 4), *want = malloc(37 * 70 * 4);
		uint16_t *w = random_weight(STRATA_DTYPE_BF16, 70, K);
		uint32_t a, wn, r, out;
		struct strata_program *p;
		STRATA_GRAPH_OPTS(gopts, .max_seq = 37);
		STRATA_COMPILE_OPTS(opts, .threads = 2, .flags = STRATA_COMPILE_BF16_ACTIVATIONS);

		assert_int_equal(strata_graph_create(test_rt, &gopts, &test_graph), 0);
		assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
		assert_int_equal(strata_graph_input(test_graph, "r", STRATA_DTYPE_F32, 2, rs, &r), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_BF16, 2, ws, w, &wn), 0);
		assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &out), 0);
		assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, out, r, &out), 0);
		graph_mark(&out, 1);
		assert_int_equal(strata_graph_compile(test_graph, &opts, &p), 0);
		for (uint32_t seq = 3; seq <= 37; seq += 17) {
			struct strata_graph_tensor in[2] = { { a, ad, seq * K * 4 }, { r, rd, seq * 70 * 4 } };
			struct strata_graph_tensor o = { out, got, seq * 70 * 4 }, ref = { out, want, seq * 70 * 4 };
			const bool rounded = dots && seq >= 4 && K % 2 == 0;

			assert_int_equal(strata_program_run(p, seq, in, 2, &o, 1), 0);
			assert_int_equal(strata_graph_eval_reference(test_graph, seq, in, 2, &ref, 1), 0);
			for (int64_t i = 0; i < seq * 70; i++) {
				double mag = 0;

				for (int64_t k = 0; k < K; k++) {
					uint32_t b = (uint32_t)w[(i % 70) * K + k] << 16;
					float wf;

					memcpy(&wf, &b, 4);
					mag += fabs((double)ad[i / 70 * K + k] * wf);
				}
				if (!(fabs(got[i] - want[i]) <= (rounded ? ldexp(mag, -8) : 0) + 2e-5 * (1 + mag)))
					fail_msg("K %lld seq %u element %lld: %.9g, reference %.9g (Σ|a·w| %.6g, %s)", (long long)K,
						 seq, (long long)i, (double)got[i], (double)want[i], mag,
						 rounded ? "a in bf16" : "a in f32");
			}
		}
		strata_program_destroy(p);
		graph_teardown(NULL);
		free(ad), free(rd), free(got), free(want), free(w);
	}
}

/* Reshape and slice as views, permute and slice as copies, concat, argmax. */
static void data_movement(void **state)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, 4, 6 }, ys[] = { 6, 5 }, r1[] = { STRATA_DIM_SEQ, 24 };
	const unsigned perms[][3] = { { 1, 0, 2 }, { 2, 1, 0 }, { 0, 2, 1 }, { 1, 2, 0 } };
	float *xd = graph_random_floats(3 * 24, -1, 1), *yd = graph_random_floats(30, -1, 1);
	uint32_t x, y, outs[12], n = 0, t;
	unsigned i;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 3, xs, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "y", STRATA_DTYPE_F32, 2, ys, &y), 0);
	assert_int_equal(strata_graph_reshape(test_graph, x, 2, r1, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, t, &outs[n++]), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(strata_graph_permute(test_graph, x, perms[i], &outs[n++]), 0);
	assert_int_equal(strata_graph_slice(test_graph, x, 2, 1, 3, &outs[n++]), 0); /* a copy */
	assert_int_equal(strata_graph_slice(test_graph, y, 0, 2, 3, &t), 0); /* a view */
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, t, &outs[n++]), 0);
	assert_int_equal(strata_graph_concat(test_graph, x, x, 1, &outs[n++]), 0);
	assert_int_equal(strata_graph_concat(test_graph, y, y, 0, &outs[n++]), 0);
	assert_int_equal(strata_graph_argmax(test_graph, x, &outs[n++]), 0);
	graph_mark(outs, n);
	struct strata_graph_tensor in[2] = { { x, xd, 3 * 24 * 4 }, { y, yd, 30 * 4 } };
	graph_compare_f32(3, in, 2, outs, n);
	free(xd);
	free(yd);
}

/* Casts both ways, with the values C leaves undefined. */
static void casts(void **state)
{
	const int64_t s[] = { STRATA_DIM_SEQ, 6 };
	float fd[12] = { 1.9f, -1.9f, 0.0f, NAN, INFINITY, -INFINITY, 3e9f, -3e9f, 2147483520.0f, -0.5f, 7.0f, 1e-30f };
	int32_t id[12] = { 0, 1, -1, INT32_MAX, INT32_MIN, 16777217, 5, 6, 7, 8, 9, 10 };
	uint32_t f, i, outs[3], t;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "f", STRATA_DTYPE_F32, 2, s, &f), 0);
	assert_int_equal(strata_graph_input(test_graph, "i", STRATA_DTYPE_I32, 2, s, &i), 0);
	assert_int_equal(strata_graph_cast(test_graph, f, STRATA_DTYPE_I32, &outs[0]), 0);
	assert_int_equal(strata_graph_cast(test_graph, i, STRATA_DTYPE_F32, &outs[1]), 0);
	/* argmax to a float, through a cast */
	assert_int_equal(strata_graph_argmax(test_graph, f, &t), 0);
	assert_int_equal(strata_graph_cast(test_graph, t, STRATA_DTYPE_F32, &outs[2]), 0);
	assert_int_equal(strata_graph_cast(test_graph, i, STRATA_DTYPE_Q4_0, &t), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "casts go between f32 and i32"));
	graph_mark(outs, 3);
	struct strata_graph_tensor in[2] = { { f, fd, sizeof(fd) }, { i, id, sizeof(id) } };
	graph_compare(2, in, 2, outs, 3, 0, false, NULL);
}

/* A Llama-style block: attention with rotary embeddings, SwiGLU MLP,
 * residuals.  D = 48, 4 heads of 12, hidden 96. */

/* Every op once on random shapes, ten times over: x [seq, A, B] with A in
 * 1…5 and B in 1…40, broadcast partners with random 1s, a random axis to
 * reduce, slice and concat along, a random permutation, matmuls with
 * random widths (as is, transposed, batched), rope on an even width, an
 * embedding of random size. */
static void every_op_on_random_shapes(void **state)
{
	static const enum strata_op un[] = { STRATA_OP_EXP, STRATA_OP_NEG, STRATA_OP_TANH, STRATA_OP_SIGMOID,
					     STRATA_OP_SILU, STRATA_OP_GELU, STRATA_OP_SQRT, STRATA_OP_RSQRT,
					     STRATA_OP_LOG };
	static const enum strata_op bin[] = { STRATA_OP_ADD, STRATA_OP_SUB, STRATA_OP_MUL, STRATA_OP_DIV, STRATA_OP_MAX };
	static const enum strata_op red[] = { STRATA_OP_SUM, STRATA_OP_REDUCE_MAX, STRATA_OP_MEAN };
	static const unsigned perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	unsigned trial;

	(void)state;
	for (trial = 0; trial < 10; trial++) {
		int64_t A = 1 + graph_pick(5), B = 1 + graph_pick(40), H = 2 * (1 + graph_pick(8)), K2 = 1 + graph_pick(24), V = 2 + graph_pick(30);
		const int64_t xs[] = { STRATA_DIM_SEQ, A, B }, ps[] = { STRATA_DIM_SEQ }, rs[] = { STRATA_DIM_SEQ, A, H },
			      ws[] = { K2, B }, wt[] = { B, K2 }, ts[] = { V, B }, bs[] = { graph_pick(2) ? A : 1, graph_pick(2) ? B : 1 },
			      vs[] = { B }, bb[] = { A, B, K2 };
		uint32_t seq = 1 + graph_pick(8), x, pos, r, ids, bn, vn, w1, w2, w3, tab, t, outs[20];
		float *xd = graph_random_floats((size_t)(8 * A * B), 0.2f, 2.0f), *rd = graph_random_floats((size_t)(8 * A * H), -1, 1);
		float *bd = graph_random_floats((size_t)(A * B), 0.5f, 1.5f), *vd = graph_random_floats((size_t)B, 0.5f, 1.5f);
		float *wd1 = graph_random_floats((size_t)(K2 * B), -1, 1), *wd3 = graph_random_floats((size_t)(A * B * K2), -1, 1);
		float *td = graph_random_floats((size_t)(V * B), -1, 1);
		int32_t pd[8], idd[8];
		unsigned n = 0, i;
		int ax = (int)graph_pick(3);

		assert_int_equal(graph_setup(NULL), 0);
		for (i = 0; i < 8; i++)
			pd[i] = (int32_t)graph_pick(1000), idd[i] = (int32_t)graph_pick((unsigned)V);
		assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 3, xs, &x), 0);
		assert_int_equal(strata_graph_input(test_graph, "r", STRATA_DTYPE_F32, 3, rs, &r), 0);
		assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &pos), 0);
		assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, ps, &ids), 0);
		assert_int_equal(strata_graph_weight(test_graph, "b", STRATA_DTYPE_F32, 2, bs, bd, &bn), 0);
		assert_int_equal(strata_graph_weight(test_graph, "v", STRATA_DTYPE_F32, 1, vs, vd, &vn), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w1", STRATA_DTYPE_F32, 2, ws, wd1, &w1), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w2", STRATA_DTYPE_F32, 2, wt, wd1, &w2), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w3", STRATA_DTYPE_F32, 3, bb, wd3, &w3), 0);
		assert_int_equal(strata_graph_weight(test_graph, "table", STRATA_DTYPE_F32, 2, ts, td, &tab), 0);
		assert_int_equal(strata_graph_unary(test_graph, un[graph_pick(9)], x, &outs[n++]), 0);
		assert_int_equal(strata_graph_binary(test_graph, bin[graph_pick(5)], graph_pick(2) ? x : bn, graph_pick(2) ? bn : x, &outs[n++]),
				 0);
		assert_int_equal(strata_graph_reduce(test_graph, red[graph_pick(3)], x, ax, &outs[n++]), 0);
		assert_int_equal(strata_graph_softmax(test_graph, x, &outs[n++]), 0);
		/* Whole numbers too: a constant of the generated C must not read as "1f". */
		assert_int_equal(strata_graph_rmsnorm(test_graph, x, vn, graph_pick(2) ? 1e-5f : 1.0f, &outs[n++]), 0);
		assert_int_equal(strata_graph_layernorm(test_graph, x, vn, graph_pick(2) ? vn : STRATA_GRAPH_NONE,
							graph_pick(2) ? 1e-5f : 2.0f, &outs[n++]),
				 0);
		assert_int_equal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, x, graph_pick(2) ? 30.0f : 0.75f,
							  &outs[n++]),
				 0);
		assert_int_equal(strata_graph_matmul(test_graph, x, w1, STRATA_MATMUL_TRANS_B, &outs[n++]), 0);
		assert_int_equal(strata_graph_matmul(test_graph, x, w2, 0, &outs[n++]), 0);
		assert_int_equal(strata_graph_permute(test_graph, x, perms[graph_pick(6)], &t), 0);
		assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, t, &outs[n++]), 0);
		assert_int_equal(strata_graph_rope(test_graph, r, pos, 10000.0f, graph_pick(2), &outs[n++]), 0);
		assert_int_equal(strata_graph_embedding(test_graph, tab, ids, &outs[n++]), 0);
		assert_int_equal(strata_graph_argmax(test_graph, x, &outs[n++]), 0);
		if (ax > 0) {
			int64_t len = xs[ax], start = graph_pick((unsigned)len);

			assert_int_equal(strata_graph_slice(test_graph, x, ax, start, 1 + graph_pick((unsigned)(len - start)), &outs[n++]),
					 0);
			assert_int_equal(strata_graph_concat(test_graph, x, x, ax, &outs[n++]), 0);
		}
		{ /* batched: x as [A, seq, B] against w3 [A, B, K2] */
			const unsigned swap[] = { 1, 0, 2 };

			assert_int_equal(strata_graph_permute(test_graph, x, swap, &t), 0);
			assert_int_equal(strata_graph_matmul(test_graph, t, w3, 0, &outs[n++]), 0);
		}
		graph_mark(outs, n);
		struct strata_graph_tensor in[4] = { { x, xd, (size_t)(seq * A * B) * 4 }, { r, rd, (size_t)(seq * A * H) * 4 },
						     { pos, pd, seq * 4 }, { ids, idd, seq * 4 } };
		graph_compare(seq, in, 4, outs, n, 1e-4, false, NULL);
		assert_int_equal(graph_teardown(NULL), 0);
		free(xd), free(rd), free(bd), free(vd), free(wd1), free(wd3), free(td);
	}
}

/* Random graphs (tests/helpers.c), compiled and checked at several lengths. */
/* An embedding whose table is a sequence's hidden states: the last row of
 * a prompt picked for the logits.  Ids are checked against the run's
 * sequence length. */
static void gather_from_a_sequence(void **state)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, 40 }, one[] = { 1 };
	float *xd = graph_random_floats(5 * 40, -1, 1), got[40];
	uint32_t x, last, y, r;
	struct strata_program *p;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "last", STRATA_DTYPE_I32, 1, one, &last), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, x, &y), 0);
	assert_int_equal(strata_graph_embedding(test_graph, y, last, &r), 0);
	graph_mark(&r, 1);
	for (int32_t seq = 3; seq <= 5; seq += 2) {
		int32_t id = seq - 1;
		struct strata_graph_tensor in[2] = { { x, xd, (size_t)seq * 160 }, { last, &id, 4 } };

		graph_compare((uint32_t)seq, in, 2, &r, 1, 1e-6, false, &p);
		/* The row past the end of this run's sequence is refused. */
		id = seq;
		struct strata_graph_tensor o = { r, got, sizeof(got) };
		assert_int_equal(strata_program_run(p, (uint32_t)seq, in, 2, &o, 1), -EINVAL);
		assert_int_equal(strata_graph_eval_reference(test_graph, (uint32_t)seq, in, 2, &o, 1), -EINVAL);
		strata_program_destroy(p);
	}
	free(xd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unary_ops, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(binary_broadcast, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(reductions, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(rope_both_layouts, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(matmul_f32, graph_setup, graph_teardown),
		cmocka_unit_test(matmul_f32_prefill),
		cmocka_unit_test_setup_teardown(matmul_and_embedding_quantized, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(packed_quantized_weights, graph_setup, graph_teardown),
		cmocka_unit_test(rows_alone_or_together),
		cmocka_unit_test(matmul_bf16_activations),
		cmocka_unit_test_setup_teardown(data_movement, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(casts, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(gather_from_a_sequence, graph_setup, graph_teardown),
		cmocka_unit_test(every_op_on_random_shapes),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
