/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_kv.c — KV caches: a prompt, then tokens one at a
 * time, give the rows a whole-sequence run gives (compiled and on the
 * interpreter); reset starts over; positions outside the cache and
 * misuses of states are refused.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define D 32
#define H 4
#define KVH 2
#define HD 8
#define CACHE 16

static float wq[D * D], wk[KVH * HD * D], wv[KVH * HD * D], wo[D * D], xd[CACHE * D];

struct layer {
	uint32_t x, pos, out;
};

/* x -> q, k, v -> rope -> caches -> attention -> output projection. */
static void build_layer(struct layer *l)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, D }, ps[] = { STRATA_DIM_SEQ }, wqs[] = { D, D }, wks[] = { KVH * HD, D },
		      qh[] = { STRATA_DIM_SEQ, H, HD }, kh[] = { STRATA_DIM_SEQ, KVH, HD }, cs[] = { CACHE, KVH, HD },
		      back[] = { STRATA_DIM_SEQ, D };
	uint32_t Wq, Wk, Wv, Wo, q, k, v, kc, vc, kw, vw, a;

	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &l->x), 0);
	assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &l->pos), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wq", STRATA_DTYPE_F32, 2, wqs, wq, &Wq), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wk", STRATA_DTYPE_F32, 2, wks, wk, &Wk), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wv", STRATA_DTYPE_F32, 2, wks, wv, &Wv), 0);
	assert_int_equal(strata_graph_weight(test_graph, "wo", STRATA_DTYPE_F32, 2, wqs, wo, &Wo), 0);
	assert_int_equal(strata_graph_state(test_graph, "k_cache", 3, cs, &kc), 0);
	assert_int_equal(strata_graph_state(test_graph, "v_cache", 3, cs, &vc), 0);
	assert_int_equal(strata_graph_matmul(test_graph, l->x, Wq, STRATA_MATMUL_TRANS_B, &q), 0);
	assert_int_equal(strata_graph_matmul(test_graph, l->x, Wk, STRATA_MATMUL_TRANS_B, &k), 0);
	assert_int_equal(strata_graph_matmul(test_graph, l->x, Wv, STRATA_MATMUL_TRANS_B, &v), 0);
	assert_int_equal(strata_graph_reshape(test_graph, q, 3, qh, &q), 0);
	assert_int_equal(strata_graph_reshape(test_graph, k, 3, kh, &k), 0);
	assert_int_equal(strata_graph_reshape(test_graph, v, 3, kh, &v), 0);
	assert_int_equal(strata_graph_rope(test_graph, q, l->pos, 10000.0f, STRATA_ROPE_HALF, &q), 0);
	assert_int_equal(strata_graph_rope(test_graph, k, l->pos, 10000.0f, STRATA_ROPE_HALF, &k), 0);
	assert_int_equal(strata_graph_write_rows(test_graph, kc, k, l->pos, &kw), 0);
	assert_int_equal(strata_graph_write_rows(test_graph, vc, v, l->pos, &vw), 0);
	assert_int_equal(strata_graph_attention(test_graph, q, kw, vw, l->pos, 1.0f / sqrtf(HD), &a), 0);
	assert_int_equal(strata_graph_reshape(test_graph, a, 2, back, &a), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, Wo, STRATA_MATMUL_TRANS_B, &l->out), 0);
	assert_int_equal(strata_graph_output(test_graph, l->out), 0);
}

static void run_rows(struct strata_program *p, const struct layer *l, uint32_t first, uint32_t n, float *out)
{
	int32_t pos[CACHE];
	struct strata_graph_tensor in[2] = { { l->x, xd + first * D, n * D * 4 }, { l->pos, pos, n * 4 } },
				   o = { l->out, out, n * D * 4 };

	for (uint32_t i = 0; i < n; i++)
		pos[i] = (int32_t)(first + i);
	if (strata_program_run(p, n, in, 2, &o, 1))
		fail_msg("run: %s", strata_program_error(p));
}

static void close_to(const float *got, const float *want, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!(fabsf(got[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i])))
			fail_msg("%s: element %zu is %g, the whole-sequence run %g", what, i, (double)got[i], (double)want[i]);
}

/* Prompt of 5, then tokens 5 and 6 one at a time: the rows of one run over
 * all 7 (the reference interpreter, from empty caches). */
static void incremental_equals_whole(unsigned flags)
{
	STRATA_COMPILE_OPTS(opts, .flags = flags);
	struct strata_program *p;
	struct layer l;
	float whole[7 * D], got[7 * D];
	int32_t pos[7] = { 0, 1, 2, 3, 4, 5, 6 };

	build_layer(&l);
	struct strata_graph_tensor in[2] = { { l.x, xd, 7 * D * 4 }, { l.pos, pos, 7 * 4 } }, o = { l.out, whole, sizeof(whole) };
	assert_int_equal(strata_graph_eval_reference(test_graph, 7, in, 2, &o, 1), 0);
	assert_int_equal(strata_graph_compile(test_graph, &opts, &p), 0);
	run_rows(p, &l, 0, 5, got);
	run_rows(p, &l, 5, 1, got + 5 * D);
	run_rows(p, &l, 6, 1, got + 6 * D);
	close_to(got, whole, 7 * D, "prompt then two tokens");
	/* A new conversation: the caches start empty again. */
	strata_program_reset(p);
	run_rows(p, &l, 0, 3, got);
	close_to(got, whole, 3 * D, "after reset");
	strata_program_destroy(p);
}

static void compiled_cache(void **state)
{
	(void)state;
	incremental_equals_whole(0);
}

static void interpreted_cache(void **state)
{
	(void)state;
	incremental_equals_whole(STRATA_COMPILE_INTERPRET);
}

static void position_outside_the_cache(void **state)
{
	struct strata_program *p;
	struct layer l;
	float out[2 * D];
	int32_t pos[2] = { CACHE - 1, CACHE };

	(void)state;
	build_layer(&l);
	assert_int_equal(strata_graph_compile(test_graph, NULL, &p), 0);
	struct strata_graph_tensor in[2] = { { l.x, xd, 2 * D * 4 }, { l.pos, pos, 2 * 4 } }, o = { l.out, out, sizeof(out) };
	assert_int_equal(strata_program_run(p, 2, in, 2, &o, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "outside its cache"));
	assert_int_equal(strata_graph_eval_reference(test_graph, 2, in, 2, &o, 1), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "outside the state's 16 rows"));
	strata_program_destroy(p);
}

static void misuse_is_refused(void **state)
{
	const int64_t cs[] = { CACHE, KVH, HD }, vs[] = { STRATA_DIM_SEQ, KVH, HD }, bad[] = { STRATA_DIM_SEQ, KVH, 4 },
		      qs[] = { STRATA_DIM_SEQ, 3, HD }, ps[] = { STRATA_DIM_SEQ }, seqs[] = { STRATA_DIM_SEQ, 2 };
	uint32_t c, c2, v, b, q, p, fp, w, w2, r;

	(void)state;
	assert_int_equal(strata_graph_state(test_graph, "c", 3, cs, &c), 0);
	assert_int_equal(strata_graph_state(test_graph, "c2", 3, cs, &c2), 0);
	assert_int_equal(strata_graph_input(test_graph, "v", STRATA_DTYPE_F32, 3, vs, &v), 0);
	assert_int_equal(strata_graph_input(test_graph, "bad", STRATA_DTYPE_F32, 3, bad, &b), 0);
	assert_int_equal(strata_graph_input(test_graph, "q", STRATA_DTYPE_F32, 3, qs, &q), 0);
	assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &p), 0);
	assert_int_equal(strata_graph_input(test_graph, "fpos", STRATA_DTYPE_F32, 1, ps, &fp), 0);
	assert_int_equal(strata_graph_state(test_graph, "seq", 2, seqs, &r), -EINVAL); /* no symbolic dimension */
	assert_int_equal(strata_graph_write_rows(test_graph, v, v, p, &r), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "not a state"));
	assert_int_equal(strata_graph_write_rows(test_graph, c, b, p, &r), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "rows differ"));
	assert_int_equal(strata_graph_write_rows(test_graph, c, v, fp, &r), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "must be i32"));
	assert_int_equal(strata_graph_write_rows(test_graph, c, v, p, &w), 0);
	assert_int_equal(strata_graph_write_rows(test_graph, c, v, p, &r), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "written already"));
	assert_int_equal(strata_graph_write_rows(test_graph, c2, v, p, &w2), 0);
	assert_int_equal(strata_graph_attention(test_graph, q, w, w2, p, 0.5f, &r), -EINVAL); /* 3 heads over 2 */
	assert_non_null(strstr(strata_graph_error(test_graph), "multiple of KVH"));
	assert_int_equal(strata_graph_attention(test_graph, v, c, c2, p, 0.5f, &r), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "written caches"));
	assert_int_equal(strata_graph_attention(test_graph, v, w, w2, p, 0.0f, &r), -EINVAL);
	assert_int_equal(strata_graph_attention(test_graph, v, w, w2, p, 0.5f, &r), 0);
}

/*
 * Attention alone on shapes the grouped kernel splits differently: heads
 * sharing a key-value head 1, 3 and 20 at a time (rows an item takes: 8,
 * 5, 1; 20 queries fill more than one vector), head sizes not a multiple
 * of 16, a prompt of 300 (three blocks of 128 keys, 300 not a multiple of
 * the rows an item takes), against the reference; then the same rows run
 * in pieces (290, then one at a time) give the same bits, since no query
 * depends on what else its item holds.
 */
static void attention_rows_alone_or_together(void **state)
{
	static const int64_t shapes[][3] = { { 4, 4, 24 }, { 6, 2, 20 }, { 20, 1, 16 } }; /* heads, KVH, D */
	enum { S = 300, CAP = 320 };

	(void)state;
	for (unsigned si = 0; si < 3; si++) {
		const int64_t heads = shapes[si][0], kvh = shapes[si][1], hdim = shapes[si][2];
		const int64_t qs[] = { STRATA_DIM_SEQ, heads, hdim }, ks[] = { STRATA_DIM_SEQ, kvh, hdim }, cs[] = { CAP, kvh, hdim },
			      ps[] = { STRATA_DIM_SEQ };
		float *qd = graph_random_floats(S * heads * hdim, -1, 1), *kd = graph_random_floats(S * kvh * hdim, -1, 1);
		float *vd = graph_random_floats(S * kvh * hdim, -1, 1);
		const size_t out_bytes = (size_t)(S * heads * hdim) * 4;
		float *whole = malloc(out_bytes), *parts = malloc(out_bytes), *want = malloc(out_bytes);
		int32_t pos[S];
		uint32_t q, k, v, p, kc, vc, kw, vw, a;
		struct strata_program *prog;
		STRATA_GRAPH_OPTS(gopts, .max_seq = S);

		for (int i = 0; i < S; i++)
			pos[i] = i;
		assert_int_equal(strata_graph_create(test_rt, &gopts, &test_graph), 0);
		assert_int_equal(strata_graph_input(test_graph, "q", STRATA_DTYPE_F32, 3, qs, &q), 0);
		assert_int_equal(strata_graph_input(test_graph, "k", STRATA_DTYPE_F32, 3, ks, &k), 0);
		assert_int_equal(strata_graph_input(test_graph, "v", STRATA_DTYPE_F32, 3, ks, &v), 0);
		assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &p), 0);
		assert_int_equal(strata_graph_state(test_graph, "k_cache", 3, cs, &kc), 0);
		assert_int_equal(strata_graph_state(test_graph, "v_cache", 3, cs, &vc), 0);
		assert_int_equal(strata_graph_write_rows(test_graph, kc, k, p, &kw), 0);
		assert_int_equal(strata_graph_write_rows(test_graph, vc, v, p, &vw), 0);
		assert_int_equal(strata_graph_attention(test_graph, q, kw, vw, p, 0.3f, &a), 0);
		assert_int_equal(strata_graph_output(test_graph, a), 0);
		{
			struct strata_graph_tensor in[4] = { { q, qd, S * heads * hdim * 4 }, { k, kd, S * kvh * hdim * 4 },
							     { v, vd, S * kvh * hdim * 4 }, { p, pos, S * 4 } };
			struct strata_graph_tensor o = { a, whole, S * heads * hdim * 4 }, r = { a, want, S * heads * hdim * 4 };

			assert_int_equal(strata_graph_eval_reference(test_graph, S, in, 4, &r, 1), 0);
			assert_int_equal(strata_graph_compile(test_graph, NULL, &prog), 0);
			assert_int_equal(strata_program_run(prog, S, in, 4, &o, 1), 0);
			for (int64_t i = 0; i < S * heads * hdim; i++)
				if (!(fabsf(whole[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i])))
					fail_msg("heads %lld KVH %lld D %lld, element %lld: %g, reference %g", (long long)heads, (long long)kvh,
						 (long long)hdim, (long long)i, (double)whole[i], (double)want[i]);
		}
		strata_program_reset(prog);
		for (uint32_t first = 0, n = S - 10; first < S; first += n, n = 1) {
			struct strata_graph_tensor in[4] = { { q, qd + first * heads * hdim, n * heads * hdim * 4 },
							     { k, kd + first * kvh * hdim, n * kvh * hdim * 4 },
							     { v, vd + first * kvh * hdim, n * kvh * hdim * 4 }, { p, pos + first, n * 4 } };
			struct strata_graph_tensor o = { a, parts + first * heads * hdim, n * heads * hdim * 4 };

			assert_int_equal(strata_program_run(prog, n, in, 4, &o, 1), 0);
		}
		if (memcmp(whole, parts, S * heads * hdim * 4))
			fail_msg("heads %lld KVH %lld D %lld: rows run in pieces differ from the same rows in one run",
				 (long long)heads, (long long)kvh, (long long)hdim);
		strata_program_destroy(prog);
		graph_teardown(NULL);
		free(qd), free(kd), free(vd), free(whole), free(parts), free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(compiled_cache, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(interpreted_cache, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(position_outside_the_cache, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(misuse_is_refused, graph_setup, graph_teardown),
		cmocka_unit_test(attention_rows_alone_or_together),
	};
	unsigned i;

	for (i = 0; i < D * D; i++) {
		wq[i] = sinf((float)i * 0.7f) * 0.3f;
		wo[i] = cosf((float)i * 0.3f) * 0.3f;
	}
	for (i = 0; i < KVH * HD * D; i++) {
		wk[i] = sinf((float)i * 1.3f) * 0.3f;
		wv[i] = cosf((float)i * 0.9f) * 0.3f;
	}
	for (i = 0; i < CACHE * D; i++)
		xd[i] = sinf((float)i * 0.11f);
	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
