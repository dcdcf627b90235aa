/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_graph.c — random valid graphs decoded from the input,
 * compiled and run, and compared with the reference interpreter.
 *
 * The input picks ops one after another over [seq, width] values (widths
 * 8, 16, 33): element-wise ops with a value of the same width or a row
 * weight, bounded unary ops (exp only after tanh), matmuls that change the
 * width (weights as is and transposed, f32 and f16), norms, softmax,
 * reductions over either axis, concat and slice along the last, a reshape
 * round trip; then the outputs and the sequence length.  A builder refusal
 * is not a failure (the op is skipped); a compile error or a result more
 * than 1e-3 (relative to the output's largest value) away from the
 * reference is.
 *
 * Built two ways: with libFuzzer (`make fuzz`, clang) and as a cmocka test
 * that replays seeded random inputs (tests/core/test_fuzz_graph.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strata/strata.h>

#define FUZZ_VALUES 48

static struct strata_rt *fuzz_rt;
static float fuzz_w[64 * 64], fuzz_row[64], fuzz_x[16 * 64];
static uint16_t fuzz_h[64 * 64];

static void fuzz_trap(void)
{
	__builtin_trap(); /* libFuzzer and the replay test both see a crash */
}

static void fuzz_init(void)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	uint32_t s = 12345;
	unsigned i;

	if (fuzz_rt)
		return;
	if (strata_rt_create(&opts, &fuzz_rt))
		fuzz_trap();
	for (i = 0; i < 64 * 64; i++) {
		s = s * 1103515245u + 12345u;
		fuzz_w[i] = (float)(s >> 16 & 0x7fff) / 32768.0f - 0.5f;
		fuzz_h[i] = (uint16_t)(0x3800 | (s >> 8 & 0x3ff)); /* f16 in [0.5, 1) */
	}
	for (i = 0; i < 64; i++)
		fuzz_row[i] = 0.5f + (float)i / 64.0f;
	for (i = 0; i < 16 * 64; i++)
		fuzz_x[i] = sinf((float)i * 0.37f);
}

static unsigned take(const uint8_t **data, size_t *len, unsigned n)
{
	unsigned v = 0;

	if (*len) {
		v = **data;
		(*data)++;
		(*len)--;
	}
	return n ? v % n : 0;
}

struct fuzz_value {
	uint32_t node;
	int64_t width; /* last dimension; 0: not a [seq, width] f32 value */
};

/* A weight [rows, cols] from the fixed buffers. */
static int fuzz_weight(struct strata_graph *g, int64_t rows, int64_t cols, bool half, uint32_t *out)
{
	const int64_t s[] = { rows, cols };

	return strata_graph_weight(g, "w", half ? STRATA_DTYPE_F16 : STRATA_DTYPE_F32, 2, s,
				   half ? (const void *)fuzz_h : (const void *)fuzz_w, out);
}

static int fuzz_step(struct strata_graph *g, struct fuzz_value *v, unsigned n, const uint8_t **data, size_t *len,
		     struct fuzz_value *out)
{
	static const enum strata_op bin[] = { STRATA_OP_ADD, STRATA_OP_SUB, STRATA_OP_MUL, STRATA_OP_DIV, STRATA_OP_MAX };
	static const enum strata_op un[] = { STRATA_OP_TANH, STRATA_OP_SIGMOID, STRATA_OP_SILU, STRATA_OP_GELU,
					     STRATA_OP_NEG };
	static const int64_t widths[] = { 8, 16, 33 };
	struct fuzz_value a = v[take(data, len, n)], b = v[take(data, len, n)];
	const int64_t rs[] = { 64 };
	uint32_t t, r;
	int err;

	out->width = a.width;
	switch (take(data, len, 11)) {
	case 0: { /* binary, with a value of the same width or a row weight */
		enum strata_op op = bin[take(data, len, 5)];

		if (b.width != a.width || op == STRATA_OP_DIV || take(data, len, 2)) {
			const int64_t ws[] = { a.width };

			if ((err = strata_graph_weight(g, "row", STRATA_DTYPE_F32, 1, ws, fuzz_row, &t)))
				return err;
			return strata_graph_binary(g, op, a.node, t, &out->node);
		}
		return strata_graph_binary(g, op, a.node, b.node, &out->node);
	}
	case 1: return strata_graph_unary(g, un[take(data, len, 5)], a.node, &out->node);
	case 2: /* exp of something bounded */
		if ((err = strata_graph_unary(g, STRATA_OP_TANH, a.node, &t)))
			return err;
		return strata_graph_unary(g, STRATA_OP_EXP, t, &out->node);
	case 3: { /* a matmul to another width */
		int64_t w = widths[take(data, len, 3)];
		bool trans = take(data, len, 2), half = trans && take(data, len, 2);

		if ((err = fuzz_weight(g, trans ? w : a.width, trans ? a.width : w, half, &t)))
			return err;
		out->width = w;
		return strata_graph_matmul(g, a.node, t, trans ? STRATA_MATMUL_TRANS_B : 0, &out->node);
	}
	case 4: {
		const int64_t ws[] = { a.width };

		if ((err = strata_graph_weight(g, "norm", STRATA_DTYPE_F32, 1, ws, fuzz_row, &t)))
			return err;
		if (take(data, len, 2))
			return strata_graph_rmsnorm(g, a.node, t, 1e-5f, &out->node);
		return strata_graph_layernorm(g, a.node, t, take(data, len, 2) ? t : STRATA_GRAPH_NONE, 1e-5f, &out->node);
	}
	case 5: return strata_graph_softmax(g, a.node, &out->node);
	case 6: { /* a reduction, brought back by a broadcast multiply */
		static const enum strata_op red[] = { STRATA_OP_SUM, STRATA_OP_REDUCE_MAX, STRATA_OP_MEAN };

		if ((err = strata_graph_reduce(g, red[take(data, len, 3)], a.node, take(data, len, 2) ? -1 : 0, &t)))
			return err;
		return strata_graph_binary(g, STRATA_OP_MUL, b.width == a.width ? b.node : a.node, t, &out->node);
	}
	case 7:
		if (b.width != a.width)
			return -1;
		out->width = 2 * a.width;
		return strata_graph_concat(g, a.node, b.node, 1, &out->node);
	case 8: {
		int64_t start = take(data, len, (unsigned)a.width), l = 1 + take(data, len, (unsigned)(a.width - start));

		out->width = l;
		return strata_graph_slice(g, a.node, 1, start, l, &out->node);
	}
	case 9: { /* [seq, w] -> [seq, 1, w] -> [1, seq, w] -> [seq, w] */
		const int64_t s3[] = { STRATA_DIM_SEQ, 1, a.width }, s2[] = { STRATA_DIM_SEQ, a.width };
		const unsigned perm[] = { 1, 0, 2 };

		if ((err = strata_graph_reshape(g, a.node, 3, s3, &t)) || (err = strata_graph_permute(g, t, perm, &r)) ||
		    (err = strata_graph_permute(g, r, perm, &t)))
			return err;
		return strata_graph_reshape(g, t, 2, s2, &out->node);
	}
	default: /* the same op twice: work for common-subexpression elimination */
		(void)rs;
		if ((err = strata_graph_unary(g, STRATA_OP_SILU, a.node, &t)))
			return err;
		return strata_graph_unary(g, STRATA_OP_SILU, a.node, &out->node);
	}
}

/* Run @p and the reference; trap when an output differs. */
static void fuzz_compare(struct strata_graph *g, struct strata_program *p, uint32_t x, uint32_t seq,
			 const uint32_t *outs, unsigned nouts)
{
	struct strata_graph_tensor in = { x, fuzz_x, (size_t)seq * 8 * 4 }, got[4], want[4];
	unsigned i;

	for (i = 0; i < nouts; i++) {
		int64_t shape[STRATA_MAX_DIMS];
		unsigned nd, d;
		size_t bytes = 4;

		strata_graph_shape(g, outs[i], &nd, shape);
		for (d = 0; d < nd; d++)
			bytes *= (size_t)(shape[d] == STRATA_DIM_SEQ ? seq : shape[d]);
		got[i] = (struct strata_graph_tensor){ outs[i], calloc(1, bytes), bytes };
		want[i] = (struct strata_graph_tensor){ outs[i], calloc(1, bytes), bytes };
	}
	if (strata_program_run(p, seq, &in, 1, got, nouts) || strata_graph_eval_reference(g, seq, &in, 1, want, nouts))
		fuzz_trap();
	for (i = 0; i < nouts; i++) {
		const float *a = got[i].data, *b = want[i].data;
		size_t n = got[i].bytes / 4, k;
		double scale = 1;

		for (k = 0; k < n; k++)
			scale = fabs(b[k]) > scale ? fabs(b[k]) : scale;
		for (k = 0; k < n; k++)
			if (!(fabs(a[k] - b[k]) <= 1e-3 * scale))
				fuzz_trap();
		free(got[i].data);
		free(want[i].data);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	STRATA_GRAPH_OPTS(gopts, .max_seq = 16);
	STRATA_COMPILE_OPTS(copts, .threads = 1 + (len % 2));
	const int64_t xs[] = { STRATA_DIM_SEQ, 8 };
	struct fuzz_value v[FUZZ_VALUES];
	struct strata_graph *g;
	struct strata_program *p;
	uint32_t outs[4], seq;
	unsigned n = 0, steps, i, nouts;

	fuzz_init();
	if (strata_graph_create(fuzz_rt, &gopts, &g) || strata_graph_input(g, "x", STRATA_DTYPE_F32, 2, xs, &v[0].node))
		fuzz_trap();
	v[n++].width = 8;
	steps = 1 + take(&data, &len, 24);
	for (i = 0; i < steps && n < FUZZ_VALUES; i++)
		if (fuzz_step(g, v, n, &data, &len, &v[n]) == 0)
			n++;
	nouts = 1 + take(&data, &len, 3);
	for (i = 0; i < nouts; i++) {
		outs[i] = v[i == 0 ? n - 1 : take(&data, &len, n)].node;
		strata_graph_output(g, outs[i]);
	}
	seq = 1 + take(&data, &len, 16);
	if (strata_graph_compile(g, &copts, &p))
		fuzz_trap();
	fuzz_compare(g, p, v[0].node, seq, outs, nouts);
	strata_program_destroy(p);
	strata_graph_destroy(g);
	return 0;
}
