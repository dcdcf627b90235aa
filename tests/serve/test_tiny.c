/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/test_tiny.c — the serving engine on the generated tiny-15m
 * model (strata gen-model, GGUF) against the reference implementation:
 * a 16-token prompt, then 32 greedy steps; the same tokens, and logits
 * within 1e-4 of the largest at every step, for f32, f16 and bf16 weights;
 * and the same model written in Hugging Face's layout (rotate-half, one
 * file or shards) giving the same tokens and logits as its GGUF form
 * (adjacent pairs, q/k rows permuted).  Needs no network.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "llama_ref.h"
#include "llm.h"
#include "sample.h"
#include "vocab.h"

static char dir[300];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

/* strata gen-model --config tiny-15m --dtype @dtype, into @path. */
static void generate(const char *dtype, char *path, size_t len)
{
	const char *build = getenv("STRATA_BUILD");
	char cmd[1024];

	snprintf(path, len, "%s/tiny-%s.gguf", dir, dtype);
	snprintf(cmd, sizeof(cmd), "%s/strata gen-model --config tiny-15m --dtype %s --format gguf -o %s 2>/dev/null",
		 build ? build : "build/release", dtype, path);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

static void matches_reference(const char *dtype)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct llm_opts lo = { .node = -1, .threads = 2 };
	struct strata_rt *rt;
	struct llm_model *m;
	struct ref_model ref;
	char path[512], err[256] = "";
	int32_t prompt[16];
	float *a, *b;
	double worst = 0;

	generate(dtype, path, sizeof(path));
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	if (llm_open(rt, path, &lo, &m, err, sizeof(err)) || ref_open(path, (int)m->ctx, &ref, err, sizeof(err)))
		fail_msg("open: %s", err);
	a = malloc((size_t)ref.vocab * 4), b = malloc((size_t)ref.vocab * 4);
	for (int i = 0; i < 16; i++)
		prompt[i] = 5 + (int32_t)"The quick brown "[i]; /* byte tokens follow 5 specials */
	assert_int_equal(llm_prefill(m, prompt, 16, a), 0);
	for (int t = 0; t < 16; t++)
		ref_forward(&ref, prompt[t], t, b);
	for (int s = 0; s < 32; s++) {
		double scale = 0, e = 0;
		int32_t ours = llm_argmax(a, ref.vocab), theirs = llm_argmax(b, ref.vocab);

		for (int i = 0; i < ref.vocab; i++)
			scale = fmax(scale, fabs(b[i]));
		for (int i = 0; i < ref.vocab; i++)
			e = fmax(e, fabs(a[i] - b[i]) / scale);
		worst = fmax(worst, e);
		if (ours != theirs || e > 1e-4)
			fail_msg("%s, step %d: engine token %d, reference %d; logits differ by %.2g of the largest", dtype, s,
				 ours, theirs, e);
		assert_int_equal(llm_step(m, ours, a), 0);
		ref_forward(&ref, theirs, 16 + s, b);
	}
	print_message("%s: 32 steps, the same tokens; logits within %.2g of the largest\n", dtype, worst);
	free(a);
	free(b);
	ref_close(&ref);
	llm_close(m);
	strata_rt_destroy(rt);
	remove(path);
}

static void f32_weights(void **state)
{
	(void)state;
	matches_reference("f32");
}

static void f16_weights(void **state)
{
	(void)state;
	matches_reference("f16");
}

static void bf16_weights(void **state)
{
	(void)state;
	matches_reference("bf16");
}

/* Greedy tokens and logits of @path over a 16-token prompt then 32 steps. */
static void run_model(const char *path, int32_t *tokens, float *last)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct llm_opts lo = { .node = -1, .threads = 2 };
	struct strata_rt *rt;
	struct llm_model *m;
	char err[256] = "";
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;

	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	if (llm_open(rt, path, &lo, &m, err, sizeof(err)))
		fail_msg("open %s: %s", path, err);
	/* each format's own tokenizer: the same ids either way */
	assert_int_equal(llm_tokenize(m->vocab, "The quick brown ", 16, false, &ids, &n, &cap), 0);
	assert_int_equal(n, 16);
	assert_int_equal(llm_prefill(m, ids, n, last), 0);
	for (int s = 0; s < 32; s++) {
		tokens[s] = llm_argmax(last, m->hp.vocab);
		if (s + 1 < 32)
			assert_int_equal(llm_step(m, tokens[s], last), 0);
	}
	free(ids);
	llm_close(m);
	strata_rt_destroy(rt);
}

static void hugging_face_and_gguf_agree(void **state)
{
	const char *build = getenv("STRATA_BUILD");
	static const char *const opts[] = { "--format gguf", "", "--shards 3" }, *const names[] = { "x.gguf", "hf", "hf3" };
	int32_t tokens[3][32];
	float *logits[3];
	char cmd[1024], path[600];

	(void)state;
	for (int f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
		snprintf(cmd, sizeof(cmd), "%s/strata gen-model --config tiny-15m %s -o %s 2>/dev/null",
			 build ? build : "build/release", opts[f], path);
		if (system(cmd) != 0)
			fail_msg("%s failed", cmd);
		logits[f] = malloc(32000 * 4);
		run_model(path, tokens[f], logits[f]);
	}
	for (int f = 1; f < 3; f++) {
		double scale = 0, e = 0;

		for (int i = 0; i < 32000; i++)
			scale = fmax(scale, fabs(logits[0][i]));
		for (int i = 0; i < 32000; i++)
			e = fmax(e, fabs(logits[f][i] - logits[0][i]) / scale);
		print_message("%s: the same 32 tokens as GGUF? %s; last logits within %.2g\n", names[f],
			      memcmp(tokens[f], tokens[0], sizeof(tokens[0])) ? "no" : "yes", e);
		assert_memory_equal(tokens[f], tokens[0], sizeof(tokens[0]));
		assert_true(e < 1e-5);
	}
	for (int f = 0; f < 3; f++)
		free(logits[f]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(f32_weights),
		cmocka_unit_test(f16_weights),
		cmocka_unit_test(bf16_weights),
		cmocka_unit_test(hugging_face_and_gguf_agree),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, make_dir, remove_dir);
}
