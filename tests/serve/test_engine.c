/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/test_engine.c — the serving engine on the real SmolLM2 model
 * against the plain reference implementation (llama_ref.c) run on its
 * dequantized weights: the same greedy tokens for five fixed 32-token
 * prompts, logits close, prefix reuse giving the same answer as a fresh
 * cache, and the capital of France.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "serve_test.h"
#include "generate.h"
#include "llama_ref.h"
#include "llm.h"
#include "sample.h"
#include "vocab.h"

#define STEPS 16 /* greedy tokens compared after each prompt */
/* All five prompts; two under a sanitizer, where the plain reference runs
 * ten times slower (the engine is what the sanitizer is there to check). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROMPTS 2
#else
#define PROMPTS 5
#endif

static struct strata_rt *rt;
static struct llm_model *model;
static struct ref_model ref;

static int setup(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct llm_opts lo = { .node = -1, .ctx = 256 };
	const char *path = real_model();
	char err[256] = "";

	(void)state;
	if (!path)
		return 0;
	if (strata_rt_create(&ropts, &rt) || llm_open(rt, path, &lo, &model, err, sizeof(err)) ||
	    ref_open(path, 256, &ref, err, sizeof(err))) {
		print_error("setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	llm_close(model);
	ref_close(&ref);
	strata_rt_destroy(rt);
	return 0;
}

static double max_abs(const float *v, int n)
{
	double m = 0;

	for (int i = 0; i < n; i++)
		m = fabs(v[i]) > m ? fabs(v[i]) : m;
	return m;
}

/* Greedy decoding of @STEPS tokens after each prompt: the engine (Q4_1
 * weights read in place; decode quantizes activations to 8 bits as
 * llama.cpp does) and the reference (everything in f32) pick the same
 * tokens; their logits agree within 2% of the largest. */
static void same_greedy_tokens_as_the_reference(void **state)
{
	const int V = (int)ref.vocab;
	float *a = malloc((size_t)V * 4), *b = malloc((size_t)V * 4);
	double worst = 0;
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_non_null(a);
	assert_non_null(b);
	for (int p = 0; p < PROMPTS; p++) {
		const int32_t *prompt = five_prompt_ids[p];
		int32_t ours[STEPS], theirs[STEPS];

		/* The engine: the prompt in one run, then one token a step. */
		assert_int_equal(llm_prefill(model, prompt, 32, a), 0);
		for (int s = 0; s < STEPS; s++) {
			ours[s] = llm_argmax(a, V);
			if (s + 1 < STEPS)
				assert_int_equal(llm_step(model, ours[s], a), 0);
		}
		/* The reference, one token at a time throughout. */
		for (int t = 0; t < 32; t++)
			ref_forward(&ref, prompt[t], t, b);
		for (int s = 0; s < STEPS; s++) {
			theirs[s] = llm_argmax(b, V);
			if (s + 1 < STEPS)
				ref_forward(&ref, theirs[s], 32 + s, b);
		}
		if (memcmp(ours, theirs, sizeof(ours))) {
			for (int s = 0; s < STEPS; s++)
				print_message("  step %d: engine %d, reference %d\n", s, ours[s], theirs[s]);
			fail_msg("prompt %d: the greedy tokens differ", p);
		}
		/* The last step's logits, both having read the same tokens. */
		double scale = max_abs(b, V), err = 0;

		for (int i = 0; i < V; i++)
			err = fmax(err, fabs(a[i] - b[i]) / scale);
		worst = fmax(worst, err);
	}
	print_message("%d prompts: the same greedy tokens; logits within %.2g of the largest\n", PROMPTS, worst);
	assert_true(worst < 0.02);
	free(a);
	free(b);
}

/*
 * Both modes (the default, and --int8-activations): a prompt's logits
 * are the same bits whether it runs in one go or a token at a time (as a
 * prefix reused from the cache leaves a few).  Against the f32
 * reference's largest logit: within 2% by default; with 8-bit activations
 * within 10% (llama.cpp's rounding, 30 layers deep: 5% here; bench-serve
 * finds the same greedy tokens as llama.cpp then).
 */
static void one_go_or_token_by_token(void **state)
{
	const int V = (int)ref.vocab;
	float *a = malloc((size_t)V * 4), *b = malloc((size_t)V * 4), *r = malloc((size_t)V * 4);
	const int32_t *prompt = five_prompt_ids[1];
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_non_null(a), assert_non_null(b), assert_non_null(r);
	for (int t = 0; t < 32; t++)
		ref_forward(&ref, prompt[t], t, r);
	for (int int8 = 0; int8 < 2; int8++) {
		/* Computing while the weights stream in, whatever the cores: the
		 * packed weights' tiles are packed in place as they arrive. */
		struct llm_opts lo = { .node = -1, .ctx = 256, .int8_activations = int8, .stream_overlap = true };
		struct llm_model *m;
		char err[256] = "";
		double scale = max_abs(r, V), worst = 0;

		if (llm_open(rt, path, &lo, &m, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(llm_forward(m, prompt, 32, 0, a), 0);
		for (uint32_t t = 0; t < 32; t++)
			assert_int_equal(llm_forward(m, prompt + t, 1, t, b), 0);
		if (memcmp(a, b, (size_t)V * 4))
			fail_msg("%s: the prompt's logits in one go differ from token by token",
				 int8 ? "8-bit activations" : "the default");
		for (int i = 0; i < V; i++)
			worst = fmax(worst, fabs(a[i] - r[i]) / scale);
		print_message("%s: logits within %.2g of the reference's largest\n", int8 ? "8-bit activations" : "default",
			      worst);
		assert_true(worst < (int8 ? 0.1 : 0.02));
		llm_close(m);
	}
	free(a), free(b), free(r);
}

static int collect(void *user, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks)
{
	char *out = user;

	(void)toks, (void)ntoks;
	size_t have = strlen(out);

	if (have + len < 512) {
		memcpy(out + have, text, len);
		out[have + len] = 0;
	}
	return 0;
}

static void knows_the_capital_of_france(void **state)
{
	const char *chat = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
			   "<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
	struct llm_gen_opts go = { .max_tokens = 32 };
	struct llm_gen_result r;
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	char answer[512] = "";
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_int_equal(llm_tokenize(model->vocab, chat, strlen(chat), true, &ids, &n, &cap), 0);
	assert_int_equal(llm_generate(model, ids, n, &go, collect, answer, &r), 0);
	print_message("answer: %s\n", answer);
	assert_non_null(strstr(answer, "Paris"));
	assert_string_equal(r.finish_reason, "stop");
	/* Again: the cache holds the prompt, only its last token runs. */
	answer[0] = 0;
	assert_int_equal(llm_generate(model, ids, n, &go, collect, answer, &r), 0);
	assert_non_null(strstr(answer, "Paris"));
	free(ids);
}

/* A prompt longer than the context is refused before anything runs. */
static void prompt_over_the_context(void **state)
{
	int32_t *ids = calloc(300, sizeof(*ids));
	float *logits = malloc((size_t)ref.vocab * 4);
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_int_equal(llm_prefill(model, ids, 300, logits), -ERANGE);
	assert_int_equal(llm_prefill(model, ids, 0, logits), -EINVAL);
	free(ids);
	free(logits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_greedy_tokens_as_the_reference),
		cmocka_unit_test(one_go_or_token_by_token),
		cmocka_unit_test(knows_the_capital_of_france),
		cmocka_unit_test(prompt_over_the_context),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
