/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_compile.c — what the compiler makes of whole
 * graphs: fusion (kernel counts, bytes), a transformer block and 40 random
 * graphs against the reference, placement on a two-node machine, and what
 * a running program shows (spans, per-kernel stats, metrics).  The ops one
 * by one are in test_graph_ops.c; the tolerances are stated there.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "core/graph/compile_int.h"
#include "helpers.h"

static void rows_with_prologue_and_epilogue(void **state)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, 50 }, ws[] = { 50 };
	float *xd = graph_random_floats(4 * 50, -4, 4), *w = graph_random_floats(50, 0.5f, 1.5f), *bias = graph_random_floats(50, -1, 1);
	uint32_t x, wn, bn, pre, pre2, outs[8], n = 0, t;
	struct strata_program *p;
	struct strata_program_info info = { .sz = sizeof(info) };

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &x), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 1, ws, w, &wn), 0);
	assert_int_equal(strata_graph_weight(test_graph, "b", STRATA_DTYPE_F32, 1, ws, bias, &bn), 0);
	assert_int_equal(strata_graph_softmax(test_graph, x, &outs[n++]), 0);
	assert_int_equal(strata_graph_rmsnorm(test_graph, x, wn, 1e-5f, &outs[n++]), 0);
	assert_int_equal(strata_graph_layernorm(test_graph, x, wn, bn, 1e-5f, &outs[n++]), 0);
	assert_int_equal(strata_graph_layernorm(test_graph, x, wn, STRATA_GRAPH_NONE, 1e-3f, &outs[n++]), 0);
	/* prologue x * w + b, then softmax, then an epilogue */
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, x, wn, &pre), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, pre, bn, &pre2), 0);
	assert_int_equal(strata_graph_softmax(test_graph, pre2, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, t, x, &outs[n++]), 0);
	/* a prologue into a sum over the last axis, and an epilogue on it */
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, x, &pre), 0);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_SUM, pre, -1, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SIGMOID, t, &outs[n++]), 0);
	graph_mark(outs, n);
	struct strata_graph_tensor in = { x, xd, 4 * 50 * 4 };
	graph_compare(4, &in, 1, outs, n, 1e-4, false, &p);
	assert_int_equal(strata_program_info(p, &info), 0);
	/* Four alone, one prologue + softmax + epilogue, one prologue + sum + epilogue. */
	assert_int_equal(info.kernels, 6);
	strata_program_destroy(p);
	free(xd);
	free(w);
	free(bias);
}

static void transformer_block(void **state)
{
	const int64_t D = 48, H = 4, HD = 12, F = 96;
	const int64_t xs[] = { STRATA_DIM_SEQ, D }, ps[] = { STRATA_DIM_SEQ }, wdd[] = { D, D }, wfd[] = { F, D },
		      wdf[] = { D, F }, wd[] = { D }, heads[] = { STRATA_DIM_SEQ, H, HD }, back[] = { STRATA_DIM_SEQ, D };
	const unsigned to_hsd[] = { 1, 0, 2 }, to_shd[] = { 1, 0, 2 };
	float *xd = graph_random_floats(7 * D, -1, 1), *wq = graph_random_floats(D * D, -0.3f, 0.3f), *wk = graph_random_floats(D * D, -0.3f, 0.3f);
	float *wv = graph_random_floats(D * D, -0.3f, 0.3f), *wo = graph_random_floats(D * D, -0.3f, 0.3f);
	float *wg = graph_random_floats(F * D, -0.3f, 0.3f), *wu = graph_random_floats(F * D, -0.3f, 0.3f);
	float *wdn = graph_random_floats(D * F, -0.3f, 0.3f), *n1 = graph_random_floats(D, 0.8f, 1.2f), *n2 = graph_random_floats(D, 0.8f, 1.2f);
	int32_t pos[7] = { 0, 1, 2, 3, 4, 5, 6 };
	uint32_t x, p, q, k, v, h, s, a, o, r1, g, u, m, out, Wq, Wk, Wv, Wo, Wg, Wu, Wd, N1, N2;
	struct strata_program *prog;
	struct strata_program_info info = { .sz = sizeof(info) };

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &p), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wq", STRATA_DTYPE_F32, 2, wdd, wq, &Wq), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wk", STRATA_DTYPE_F32, 2, wdd, wk, &Wk), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wv", STRATA_DTYPE_F32, 2, wdd, wv, &Wv), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wo", STRATA_DTYPE_F32, 2, wdd, wo, &Wo), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wg", STRATA_DTYPE_F32, 2, wfd, wg, &Wg), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wu", STRATA_DTYPE_F32, 2, wfd, wu, &Wu), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wd", STRATA_DTYPE_F32, 2, wdf, wdn, &Wd), 0);
	assert_int_equal(strata_graph_weight(test_graph, "n1", STRATA_DTYPE_F32, 1, wd, n1, &N1), 0);
	assert_int_equal(strata_graph_weight(test_graph, "n2", STRATA_DTYPE_F32, 1, wd, n2, &N2), 0);

	assert_int_equal(strata_graph_rmsnorm(test_graph, x, N1, 1e-5f, &h), 0);
	assert_int_equal(strata_graph_matmul(test_graph, h, Wq, STRATA_MATMUL_TRANS_B, &q), 0);
	assert_int_equal(strata_graph_matmul(test_graph, h, Wk, STRATA_MATMUL_TRANS_B, &k), 0);
	assert_int_equal(strata_graph_matmul(test_graph, h, Wv, STRATA_MATMUL_TRANS_B, &v), 0);
	assert_int_equal(strata_graph_reshape(test_graph, q, 3, heads, &q), 0);
	assert_int_equal(strata_graph_reshape(test_graph, k, 3, heads, &k), 0);
	assert_int_equal(strata_graph_reshape(test_graph, v, 3, heads, &v), 0);
	assert_int_equal(strata_graph_rope(test_graph, q, p, 10000.0f, STRATA_ROPE_HALF, &q), 0);
	assert_int_equal(strata_graph_rope(test_graph, k, p, 10000.0f, STRATA_ROPE_HALF, &k), 0);
	assert_int_equal(strata_graph_permute(test_graph, q, to_hsd, &q), 0); /* [H, seq, HD] */
	assert_int_equal(strata_graph_permute(test_graph, k, to_hsd, &k), 0);
	assert_int_equal(strata_graph_permute(test_graph, v, to_hsd, &v), 0);
	assert_int_equal(strata_graph_matmul(test_graph, q, k, STRATA_MATMUL_TRANS_B, &s), 0); /* [H, seq, seq] */
	{
		uint32_t scale_w;
		static float scale[1];
		const int64_t one[] = { 1 };

		scale[0] = 1.0f / sqrtf((float)HD);
		assert_int_equal(strata_graph_weight(test_graph, "scale", STRATA_DTYPE_F32, 1, one, scale, &scale_w), 0);
		assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, s, scale_w, &s), 0);
	}
	assert_int_equal(strata_graph_softmax(test_graph, s, &a), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, v, 0, &o), 0); /* [H, seq, HD] */
	assert_int_equal(strata_graph_permute(test_graph, o, to_shd, &o), 0);
	assert_int_equal(strata_graph_reshape(test_graph, o, 2, back, &o), 0);
	assert_int_equal(strata_graph_matmul(test_graph, o, Wo, STRATA_MATMUL_TRANS_B, &o), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, o, x, &r1), 0);
	assert_int_equal(strata_graph_rmsnorm(test_graph, r1, N2, 1e-5f, &h), 0);
	assert_int_equal(strata_graph_matmul(test_graph, h, Wg, STRATA_MATMUL_TRANS_B, &g), 0);
	assert_int_equal(strata_graph_matmul(test_graph, h, Wu, STRATA_MATMUL_TRANS_B, &u), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, g, &g), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, g, u, &m), 0);
	assert_int_equal(strata_graph_matmul(test_graph, m, Wd, STRATA_MATMUL_TRANS_B, &m), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, m, r1, &out), 0);
	graph_mark(&out, 1);
	for (uint32_t seq = 1; seq <= 7; seq += 6) {
		struct strata_graph_tensor in[2] = { { x, xd, seq * D * 4 }, { p, pos, seq * 4 } };

		graph_compare(seq, in, 2, &out, 1, 1e-4, false, &prog);
		assert_int_equal(strata_program_info(prog, &info), 0);
		strata_program_destroy(prog);
	}
	print_message("block: %u nodes in %u kernels (%u objects); arena %llu bytes, live bound %llu, %u in place\n",
		      info.nodes, info.kernels, info.objects, (unsigned long long)info.arena_bytes,
		      (unsigned long long)info.live_bound, info.in_place);
	assert_true(info.kernels < info.nodes / 2);
	assert_true(info.arena_bytes <= info.live_bound * 11 / 10);
	free(xd), free(wq), free(wk), free(wv), free(wo), free(wg), free(wu), free(wdn), free(n1), free(n2);
}

static void random_graphs(void **state)
{
	float xd[8 * GRAPH_RANDOM_W];
	unsigned trial, i, kernels = 0, nodes = 0;
	double worst = 0;

	(void)state;
	graph_random_seed(0xc0ffee);
	for (i = 0; i < 8 * GRAPH_RANDOM_W; i++)
		xd[i] = graph_frand(-1, 1);
	for (trial = 0; trial < 40; trial++) {
		struct strata_program *p;
		struct strata_program_info info = { .sz = sizeof(info) };
		uint32_t x, outs[2], seq = 1 + graph_random_next(8);
		unsigned nouts;

		assert_int_equal(graph_setup(NULL), 0);
		graph_random(&x, outs, &nouts);
		struct strata_graph_tensor in = { x, xd, seq * GRAPH_RANDOM_W * 4 };
		graph_compare(seq, &in, 1, outs, nouts, 1e-4, false, &p);
		assert_int_equal(strata_program_info(p, &info), 0);
		kernels += info.kernels;
		nodes += info.nodes;
		if (info.live_bound && (double)info.arena_bytes / (double)info.live_bound > worst)
			worst = (double)info.arena_bytes / (double)info.live_bound;
		strata_program_destroy(p);
		assert_int_equal(graph_teardown(NULL), 0);
	}
	print_message("40 random graphs: %u nodes in %u kernels; worst arena / live bound %.3f\n", nodes, kernels,
		      worst);
	assert_true(worst <= 1.1);
}

/* Eight element-wise ops over four inputs: one kernel, one pass. */
static void elementwise_chain_is_one_kernel(void **state)
{
	const int64_t s[] = { STRATA_DIM_SEQ, 100 };
	uint32_t in[4], t, u;
	struct strata_program *p;
	struct strata_program_info info = { .sz = sizeof(info) };
	float *d[4];
	struct strata_graph_tensor tin[4];
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(strata_graph_input(test_graph, "in", STRATA_DTYPE_F32, 2, s, &in[i]), 0);
		d[i] = graph_random_floats(300, 0.5f, 1.5f);
		tin[i] = (struct strata_graph_tensor){ in[i], d[i], 300 * 4 };
	}
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, in[0], in[1], &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, t, in[2], &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SQRT, t, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_SUB, t, in[3], &u), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, u, u, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_DIV, t, in[0], &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MAX, t, in[1], &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, t, &t), 0);
	graph_mark(&t, 1);
	graph_compare(3, tin, 4, &t, 1, 1e-5, false, &p);
	assert_int_equal(strata_program_info(p, &info), 0);
	assert_int_equal(info.kernels, 1);
	assert_int_equal(info.bytes_moved, 5 * 8 * 100 * 4); /* four reads and a write at max_seq */
	strata_program_destroy(p);
	for (i = 0; i < 4; i++)
		free(d[i]);
}

/* Placement on a two-node machine (hwloc's XML of one): a kernel runs on
 * the node holding its weights, one without weights follows its inputs;
 * workers (all on node 0 here) take node 1's kernels when theirs run out. */
static const float *on_node1;
static size_t on_node1_bytes;

static int fake_node_of(const void *addr)
{
	return (const char *)addr >= (const char *)on_node1 &&
			       (const char *)addr < (const char *)on_node1 + on_node1_bytes
		       ? 1
		       : 0;
}

static void kernels_follow_their_weights(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF, .topology_xml = fixture("topo/two-node-gpu.xml"));
	STRATA_GRAPH_OPTS(gopts, .max_seq = 8);
	const int64_t xs[] = { STRATA_DIM_SEQ, 32 }, ws[] = { 32, 32 };
	float *a = graph_random_floats(32 * 32, -1, 1), *b = graph_random_floats(32 * 32, -1, 1), *xd = graph_random_floats(4 * 32, -1, 1);
	struct strata_rt *rt;
	struct strata_graph *g;
	struct strata_program *p;
	uint32_t x, wa, wb, y1, y2, y3;
	const char *dump;
	float out[4 * 32], want[4 * 32];

	(void)state;
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	assert_int_equal(strata_graph_create(rt, &gopts, &g), 0);
	int (*real_node_of)(const void *) = st_graph_node_of;

	on_node1 = a;
	on_node1_bytes = 32 * 32 * 4;
	st_graph_node_of = fake_node_of;
	assert_int_equal(strata_graph_input(g, "x", STRATA_DTYPE_F32, 2, xs, &x), 0);
	assert_int_equal(strata_graph_weight(g, "a", STRATA_DTYPE_F32, 2, ws, a, &wa), 0);
	assert_int_equal(strata_graph_weight(g, "b", STRATA_DTYPE_F32, 2, ws, b, &wb), 0);
	assert_int_equal(strata_graph_matmul(g, x, wa, STRATA_MATMUL_TRANS_B, &y1), 0); /* node 1 */
	assert_int_equal(strata_graph_softmax(g, y1, &y2), 0); /* follows y1: node 1 */
	assert_int_equal(strata_graph_matmul(g, y2, wb, STRATA_MATMUL_TRANS_B, &y3), 0); /* node 0 */
	assert_int_equal(strata_graph_output(g, y3), 0);
	assert_int_equal(strata_graph_compile(g, NULL, &p), 0);
	assert_int_equal(strata_program_dump(p, &dump), 0);
	assert_non_null(strstr(dump, "kernel 0: matmul, writes %3; computes %3; reads %0 %1; moves ~6144 bytes at "
				     "max_seq; runs on the CPU, node 1"));
	assert_non_null(strstr(dump, "kernel 1: rows, writes %4; computes %4; reads %3; moves ~2048 bytes at max_seq; "
				     "runs on the CPU, node 1"));
	assert_non_null(strstr(dump, "kernel 2: matmul, writes %5; computes %5; reads %4 %2; moves ~6144 bytes at "
				     "max_seq; runs on the CPU, node 0"));
	struct strata_graph_tensor in = { x, xd, 4 * 32 * 4 }, o = { y3, out, sizeof(out) }, r = { y3, want, sizeof(want) };
	assert_int_equal(strata_program_run(p, 4, &in, 1, &o, 1), 0);
	assert_int_equal(strata_graph_eval_reference(g, 4, &in, 1, &r, 1), 0);
	for (unsigned i = 0; i < 4 * 32; i++)
		assert_true(fabsf(out[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i]));
	st_graph_node_of = real_node_of;
	strata_program_destroy(p);
	strata_graph_destroy(g);
	strata_rt_destroy(rt);
	free(a), free(b), free(xd);
}

struct spans {
	unsigned begins, ends, runs, matmuls;
};

static void count_spans(void *user, const struct strata_trace_event *e)
{
	struct spans *s = user;

	if (!strncmp(e->name, "graph.kernel.", 13)) {
		s->begins += e->type == STRATA_TRACE_BEGIN;
		s->ends += e->type == STRATA_TRACE_END;
		s->matmuls += e->type == STRATA_TRACE_BEGIN && !strcmp(e->name, "graph.kernel.matmul");
	}
	s->runs += !strcmp(e->name, "graph.run") && e->type == STRATA_TRACE_BEGIN;
}

/* Every kernel chunk is a trace span, every kernel keeps time and bytes,
 * and the metrics registry sums them by kind. */
static void kernels_are_observed(void **state)
{
	const int64_t as[] = { STRATA_DIM_SEQ, 64 }, ws[] = { 48, 64 };
	float *ad = graph_random_floats(8 * 64, -1, 1), *w = graph_random_floats(48 * 64, -1, 1), out[8 * 48];
	struct strata_trace_session *session;
	struct strata_program *p;
	struct strata_kernel_stats ks = { .sz = sizeof(ks) };
	struct spans spans = { 0 };
	uint32_t a, wn, y;
	char *text;
	size_t len;
	unsigned k, runs;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 2, ws, w, &wn), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &y), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_GELU, y, &y), 0);
	assert_int_equal(strata_graph_softmax(test_graph, y, &y), 0);
	graph_mark(&y, 1);
	assert_int_equal(strata_graph_compile(test_graph, NULL, &p), 0);
	assert_int_equal(strata_trace_attach(getpid(), &session), 0);
	strata_trace_read(session, count_spans, &spans, 0);
	memset(&spans, 0, sizeof(spans));
	for (runs = 0; runs < 3; runs++) {
		struct strata_graph_tensor in = { a, ad, 8 * 64 * 4 }, o = { y, out, sizeof(out) };

		assert_int_equal(strata_program_run(p, 8, &in, 1, &o, 1), 0);
	}
	while (strata_trace_read(session, count_spans, &spans, 0) > 0)
		;
	strata_trace_detach(session);
	assert_int_equal(spans.runs, 3);
	assert_true(spans.begins >= 3 * 2); /* two kernels, at least a chunk each */
	assert_int_equal(spans.begins, spans.ends);
	assert_true(spans.matmuls >= 3);
	for (k = 0; strata_program_kernel_stats(p, k, &ks) == 0; k++) {
		assert_int_equal(ks.runs, 3);
		assert_true(ks.seconds > 0 && ks.bytes > 0 && ks.gbps > 0);
	}
	assert_int_equal(k, 2);
	assert_int_equal(strata_program_kernel_stats(p, 0, &ks), 0);
	assert_string_equal(ks.kind, "matmul");
	/* a [8, 64], w [48, 64] and the result [8, 48], three times */
	assert_int_equal(ks.bytes, 3 * (8 * 64 + 48 * 64 + 8 * 48) * 4);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_non_null(strstr(text, "strata_graph_kernel_seconds_total{kind=\"matmul\"}"));
	assert_non_null(strstr(text, "strata_graph_kernel_bytes_total{kind=\"rows\"}"));
	assert_non_null(strstr(text, "strata_graph_runs_total"));
	strata_metrics_free(text);
	strata_program_destroy(p);
	free(ad);
	free(w);
}

static uint64_t small_llc(const struct strata_topo *topo)
{
	(void)topo;
	return 24000; /* an element-wise kernel of two arguments streams results of 8000 bytes and more */
}

/*
 * A result bigger than its share of the last-level cache is written with
 * streaming stores; one written over its argument is not.  Rows of 1000
 * floats start at every alignment the 64-byte tiles meet, and at
 * sequence 1 (4000 bytes) the same kernel stores the plain way.
 */
static void large_results_stream_past_the_cache(void **state)
{
	uint64_t (*real)(const struct strata_topo *) = st_graph_llc_bytes;
	const int64_t xs[] = { STRATA_DIM_SEQ, 1000 };
	float *ad = graph_random_floats(8 * 1000, -2, 2), *bd = graph_random_floats(8 * 1000, -2, 2);
	uint32_t a, b, t, y, z;
	struct strata_program *p;
	const char *dump;

	(void)state;
	st_graph_llc_bytes = small_llc;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, xs, &a), 0);
	assert_int_equal(strata_graph_input(test_graph, "b", STRATA_DTYPE_F32, 2, xs, &b), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, a, b, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, t, &y), 0);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_SUM, y, -1, &t), 0); /* y stays live: z is not in place */
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_SUB, y, t, &z), 0);
	graph_mark(&y, 1);
	graph_mark(&z, 1);
	for (uint32_t seq = 1; seq <= 8; seq += 7) {
		struct strata_graph_tensor in[2] = { { a, ad, seq * 4000 }, { b, bd, seq * 4000 } };
		uint32_t outs[2] = { y, z };

		graph_compare(seq, in, 2, outs, 2, 1e-5, false, &p);
		assert_int_equal(strata_program_dump(p, &dump), 0);
		assert_non_null(strstr(dump, "_mm256_stream_ps"));
		strata_program_destroy(p);
	}
	st_graph_llc_bytes = real;
	free(ad);
	free(bd);
}

/*
 * fill_bytes counts what comes in from memory: arguments, and the lines of
 * a result written with plain stores (read for ownership), but not those
 * of a result written over its argument or streamed past the caches.
 * Two element-wise ops over 64 KiB values, fused and not, with the real
 * cache and with a small one (the result then streams).
 */
static void fill_bytes_count_reads_for_ownership(void **state)
{
	uint64_t (*real)(const struct strata_topo *) = st_graph_llc_bytes;
	const int64_t xs[] = { 64, 256 };
	const uint64_t v = 64 * 256 * 4;
	uint32_t a, b, t, y;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, xs, &a), 0);
	assert_int_equal(strata_graph_input(test_graph, "b", STRATA_DTYPE_F32, 2, xs, &b), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, a, b, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, t, &y), 0);
	graph_mark(&y, 1);
	for (int small = 0; small < 2; small++) {
		STRATA_COMPILE_OPTS(fused_opts, .threads = 1);
		STRATA_COMPILE_OPTS(unfused_opts, .threads = 1, .flags = STRATA_COMPILE_NO_FUSION);
		struct strata_program_info fi = { .sz = sizeof(fi) }, ui = { .sz = sizeof(ui) };
		struct strata_program *fused, *unfused;

		st_graph_llc_bytes = small ? small_llc : real;
		assert_int_equal(strata_graph_compile(test_graph, &fused_opts, &fused), 0);
		assert_int_equal(strata_graph_compile(test_graph, &unfused_opts, &unfused), 0);
		assert_int_equal(strata_program_info(fused, &fi), 0);
		assert_int_equal(strata_program_info(unfused, &ui), 0);
		assert_int_equal(fi.kernels, 1);
		assert_int_equal(ui.kernels, 2);
		assert_int_equal(ui.in_place, 1); /* neg writes over the product */
		assert_int_equal(fi.bytes_moved, 3 * v);
		assert_int_equal(ui.bytes_moved, 3 * v + 2 * v);
		/* a and b, then the result's lines: read first, unless streamed */
		assert_int_equal(fi.fill_bytes, small ? 2 * v : 3 * v);
		assert_int_equal(ui.fill_bytes, (small ? 2 * v : 3 * v) + v);
		strata_program_destroy(fused);
		strata_program_destroy(unfused);
	}
	st_graph_llc_bytes = real;
}

/* Threads of this process (/proc/self/status). */
static int process_threads(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

struct shared_run {
	struct strata_program *p;
	uint32_t a, y;
	float *in;
	const float *want;
	int bad;
};

static void *run_many(void *arg)
{
	struct shared_run *r = arg;
	float out[8 * 48];

	for (int i = 0; i < 30; i++) {
		struct strata_graph_tensor in = { r->a, r->in, 8 * 64 * 4 }, o = { r->y, out, sizeof(out) };

		if (strata_program_run(r->p, 8, &in, 1, &o, 1) || memcmp(out, r->want, sizeof(out)))
			r->bad++;
	}
	return NULL;
}

/* Programs share their runtime's workers: a second program starts no
 * threads, a program asks for its own width, and two programs running at
 * once from two threads give the answers each gives alone. */
static void programs_share_the_runtime_workers(void **state)
{
	const int64_t as[] = { STRATA_DIM_SEQ, 64 }, ws[] = { 48, 64 };
	float *ad = graph_random_floats(8 * 64, -1, 1), *w = graph_random_floats(48 * 64, -1, 1), want[8 * 48];
	STRATA_COMPILE_OPTS(two, .threads = 2);
	STRATA_COMPILE_OPTS(one, .threads = 1);
	struct strata_program_info info = { .sz = sizeof(info) };
	struct strata_program *p1, *p2, *p3;
	struct shared_run r1, r2;
	pthread_t t1, t2;
	uint32_t a, wn, y;
	int threads;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "a", STRATA_DTYPE_F32, 2, as, &a), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 2, ws, w, &wn), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, wn, STRATA_MATMUL_TRANS_B, &y), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_GELU, y, &y), 0);
	graph_mark(&y, 1);
	assert_int_equal(strata_graph_compile(test_graph, &two, &p1), 0);
	threads = process_threads();
	assert_int_equal(strata_graph_compile(test_graph, &two, &p2), 0);
	assert_int_equal(strata_graph_compile(test_graph, &one, &p3), 0);
	assert_int_equal(process_threads(), threads);
	assert_int_equal(strata_program_info(p3, &info), 0);
	assert_int_equal(info.threads, 1);
	assert_int_equal(strata_program_info(p1, &info), 0);
	assert_int_equal(info.threads, 2);
	{
		struct strata_graph_tensor in = { a, ad, 8 * 64 * 4 }, o = { y, want, sizeof(want) };

		assert_int_equal(strata_program_run(p3, 8, &in, 1, &o, 1), 0);
	}
	r1 = (struct shared_run){ p1, a, y, ad, want, 0 };
	r2 = (struct shared_run){ p2, a, y, ad, want, 0 };
	pthread_create(&t1, NULL, run_many, &r1);
	pthread_create(&t2, NULL, run_many, &r2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(r1.bad, 0);
	assert_int_equal(r2.bad, 0);
	strata_program_destroy(p1);
	strata_program_destroy(p2);
	strata_program_destroy(p3);
	assert_int_equal(process_threads(), threads); /* the workers are the runtime's */
	free(ad);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rows_with_prologue_and_epilogue, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(transformer_block, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(elementwise_chain_is_one_kernel, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(kernels_are_observed, graph_setup, graph_teardown),
		cmocka_unit_test(kernels_follow_their_weights),
		cmocka_unit_test_setup_teardown(large_results_stream_past_the_cache, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(fill_bytes_count_reads_for_ownership, graph_setup, graph_teardown),
		cmocka_unit_test(random_graphs),
		cmocka_unit_test_setup_teardown(programs_share_the_runtime_workers, graph_setup, graph_teardown),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
