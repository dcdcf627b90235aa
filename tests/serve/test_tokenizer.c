/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/test_tokenizer.c — the serving example's tokenizer on the
 * real SmolLM2 vocabulary: the same ids llama.cpp gives for tricky texts
 * (spaces, tabs, digits, Unicode, contractions, code), exact round trips,
 * special tokens recognised only when asked, and the chat template; the
 * heap-ordered merge against the quadratic rescan it replaced, and
 * megabyte prompts of every shape (a quadratic step would not finish).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "serve_test.h"
#include "chat.h"
#include "merge.h"
#include "vocab.h"

/* Texts and their ids as llama.cpp tokenizes them (the same GGUF file). */
static const struct { const char *text; unsigned n; int32_t ids[40]; } known[] = {
	{ "Hello world", 2, { 19556, 905 } },
	{ "The capital of France is Paris.", 7, { 504, 3575, 282, 4649, 314, 7042, 30 } },
	{ "  two  spaces and\ttabs\nnewline\n\nblank", 13, { 216, 827, 216, 5600, 284, 197, 100, 7366, 198, 28160, 198, 198, 18847 } },
	{ "numbers 12345 and 3.14159, 2026-12-04", 28, { 28707, 216, 33, 34, 35, 36, 37, 284, 216, 35, 30, 33, 36, 33, 37, 41, 28, 216, 34, 32, 34, 38, 29, 33, 34, 29, 32, 36 } },
	{ "Unicode: café, naïve, 日本語, emoji 🚀✨, Ελληνικά", 33, { 3706, 15817, 42, 37366, 28, 15486, 46494, 28, 17097, 241, 115, 40993, 179, 120, 248, 28, 649, 33777, 15107, 244, 218, 38083, 118, 28, 5664, 239, 17162, 17162, 25723, 11517, 12001, 21118, 26112 } },
	{ "I'm sure you'll see they've done it, didn't they?", 15, { 57, 5248, 2090, 346, 3060, 963, 502, 3543, 2294, 357, 28, 3683, 982, 502, 47 } },
	{ "<|im_start|>not special<|im_end|>", 16, { 44, 108, 306, 79, 3738, 108, 46, 1766, 1767, 44, 108, 306, 79, 486, 108, 46 } },
	{ "def f(x):\n    return x ** 2  # square\n", 15, { 1604, 275, 24, 104, 727, 472, 1003, 1792, 1903, 216, 34, 216, 907, 5222, 198 } },
};

static struct strata_model *file;
static struct llm_vocab *vocab;

static int open_vocab(void **state)
{
	const char *path = real_model();
	const char *paths[] = { path };
	char err[256];

	(void)state;
	if (!path)
		return 0;
	if (strata_model_open(paths, 1, NULL, &file))
		return -1;
	if (llm_vocab_gguf(file, path, 49152, &vocab, err, sizeof(err))) {
		print_error("%s\n", err);
		return -1;
	}
	return 0;
}

static int close_vocab(void **state)
{
	(void)state;
	llm_vocab_free(vocab);
	strata_model_close(file);
	return 0;
}

/* decode(ids) as one string. */
static char *decode(const int32_t *ids, uint32_t n, size_t *len)
{
	char *out = malloc((size_t)n * 64 + 1);
	size_t at = 0;

	assert_non_null(out);
	for (uint32_t i = 0; i < n; i++) {
		int b = llm_token_bytes(vocab, ids[i], false, out + at, 64);

		assert_true(b >= 0 && b <= 64);
		at += (size_t)b;
	}
	out[at] = 0;
	*len = at;
	return out;
}

static void check(const char *text, const int32_t *want, unsigned nwant)
{
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	size_t len;
	char *back;

	assert_int_equal(llm_tokenize(vocab, text, strlen(text), false, &ids, &n, &cap), 0);
	if (want && (n != nwant || memcmp(ids, want, n * sizeof(*ids)))) {
		for (uint32_t i = 0; i < n || i < nwant; i++)
			print_message("  %u: got %d, llama.cpp %d\n", i, i < n ? ids[i] : -1, i < nwant ? want[i] : -1);
		fail_msg("\"%s\": %u ids, llama.cpp has %u", text, n, nwant);
	}
	back = decode(ids, n, &len);
	if (len != strlen(text) || memcmp(back, text, len))
		fail_msg("\"%s\" came back as \"%s\"", text, back);
	free(back);
	free(ids);
}

static void same_ids_as_llama_cpp(void **state)
{
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		check(known[i].text, known[i].ids, known[i].n);
	for (unsigned i = 0; i < 5; i++)
		check(five_prompts[i], five_prompt_ids[i], 32);
}

/* Text comes back as it went in; invalid UTF-8 bytes come back as U+FFFD,
 * one each, as llama.cpp gives them. */
static void round_trips(void **state)
{
	static const char *const texts[] = {
		"", " ", "\n\n\n", "a", "Ünïcödé — “quotes” and ‘apostrophes’",
		"mixed 123abc456 ___ !!! ??? ...", "tab\tseparated\tvalues\r\nwindows line", "ℝ∑∫ math ⊕ symbols",
	};
	static const char broken[] = "\xff\xfe broken \xc3 utf-8 \x80";
	static const int32_t broken_ids[] = { 24211, 24211, 6792, 216, 24211, 15532, 29, 40, 216, 24211 };
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	size_t len;
	char *back;
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	for (unsigned i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		check(texts[i], NULL, 0);
	assert_int_equal(llm_tokenize(vocab, broken, sizeof(broken) - 1, false, &ids, &n, &cap), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(ids, broken_ids, sizeof(broken_ids));
	back = decode(ids, n, &len);
	assert_string_equal(back, "\xef\xbf\xbd\xef\xbf\xbd broken \xef\xbf\xbd utf-8 \xef\xbf\xbd");
	free(back);
	free(ids);
}

/* Control tokens come from a template, never from a client's text. */
static void special_tokens_only_when_asked(void **state)
{
	const char *text = "<|im_start|>user\nHi<|im_end|>\n";
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_int_equal(llm_tokenize(vocab, text, strlen(text), true, &ids, &n, &cap), 0);
	assert_true(n >= 4);
	assert_int_equal(ids[0], 1); /* <|im_start|> */
	assert_int_equal(ids[n - 2], 2); /* <|im_end|> */
	assert_int_equal(vocab->eot, 2);
	free(ids);
	ids = NULL, n = cap = 0;
	assert_int_equal(llm_tokenize(vocab, text, strlen(text), false, &ids, &n, &cap), 0);
	for (uint32_t i = 0; i < n; i++)
		assert_true(ids[i] > 16); /* no control token */
	free(ids);
}

/* SmolLM2's template: ChatML, with its default system message when the
 * conversation has none. */
static void chat_template(void **state)
{
	const struct llm_msg one[] = { { "user", "What is the capital of France?" } };
	const struct llm_msg two[] = { { "system", "Be brief." }, { "user", "Hi" } };
	const struct llm_msg bad[] = { { "robot", "beep" } };
	enum llm_chat_style style;
	const char *path;
	char *text;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_int_equal(llm_chat_style(vocab, &style), 0);
	assert_int_equal(style, LLM_CHAT_CHATML);
	assert_int_equal(llm_chat_render(vocab, one, 1, &text), 0);
	assert_string_equal(text, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
				  "Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
				  "<|im_start|>assistant\n");
	free(text);
	assert_int_equal(llm_chat_render(vocab, two, 2, &text), 0);
	assert_string_equal(text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
				  "<|im_start|>assistant\n");
	free(text);
	assert_int_equal(llm_chat_render(vocab, bad, 1, &text), -EINVAL);
}


/* ---- the merge order --------------------------------------------------------- */

/* Ranks of pairs from a small table: the pair (a, b) of symbol "kinds"
 * (the first byte of each) merges with rank table[a][b] (< 0: never), so
 * equal ranks are common and ties must go left to right. */
struct toy {
	const char *s;
	int rank[4][4];
};

static bool toy_pair(void *ctx, const struct llm_sym *l, const struct llm_sym *r, double *key)
{
	struct toy *t = ctx;
	int k = t->rank[t->s[l->at] & 3][t->s[r->at] & 3];

	/* Long symbols stop merging, so pieces end with several symbols. */
	if (k < 0 || l->len + r->len > 6)
		return false;
	*key = k;
	return true;
}

/* The algorithm merge.c replaced: rescan every pair, merge the lowest
 * (leftmost on ties), repeat. */
static size_t rescan_merge(struct toy *t, uint32_t *len, size_t n)
{
	for (;;) {
		double best = 0, key;
		size_t where = 0, at = 0, i;
		bool found = false;

		for (i = 0, at = 0; i + 1 < n; at += len[i], i++) {
			struct llm_sym l = { (uint32_t)at, len[i], 0, 0 }, r = { (uint32_t)(at + len[i]), len[i + 1], 0, 0 };

			if (toy_pair(t, &l, &r, &key) && (!found || key < best))
				best = key, where = i, found = true;
		}
		if (!found)
			return n;
		len[where] += len[where + 1];
		memmove(len + where + 1, len + where + 2, (n - where - 2) * sizeof(*len));
		n--;
	}
}

static void heap_merge_matches_rescan(void **state)
{
	char s[200];
	uint32_t len[200];
	struct llm_sym sym[200];

	(void)state;
	srand(7);
	for (int round = 0; round < 2000; round++) {
		struct toy t = { s, { { 0 } } };
		size_t n = 1 + (size_t)rand() % 150, m, k;
		int32_t at;

		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++)
				t.rank[a][b] = rand() % 5 - 1;
		for (size_t i = 0; i < n; i++) {
			s[i] = (char)('a' + rand() % 4);
			len[i] = 1;
			sym[i] = (struct llm_sym){ (uint32_t)i, 1, (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1 };
		}
		m = rescan_merge(&t, len, n);
		assert_int_equal(llm_merge(sym, n, toy_pair, &t), 0);
		for (k = 0, at = 0; at >= 0; at = sym[at].next, k++) {
			assert_true(k < m);
			if (sym[at].len != len[k])
				fail_msg("round %d: symbol %zu is %u bytes; the rescan made %u", round, k, sym[at].len, len[k]);
		}
		assert_int_equal(k, m);
	}
}

/* ---- long prompts ------------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "test_tokenizer: a megabyte prompt took over the alarm: tokenizing is not O(n log n)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* 1 MiB of each shape a client could send tokenizes, and comes back as
 * the same text.  A quadratic step (the UTF-8 re-check per match, a
 * rescan per merge) took over 30 s for one of them; the alarm allows far
 * more than the fraction of a second each takes (see bench-serve's
 * serve.tokenize), sanitizers included. */
static void megabyte_prompts_of_every_shape(void **state)
{
	static const char *const units[] = { "a", " ", "word ", "1", "\n", "!", "  \n\t", "é", "日本", "🚀", "a1 ", "\xff" };
	const size_t size = 1u << 20;
	char *text = malloc(size + 8);
	const char *path;

	(void)state;
	NEED_REAL_MODEL(path);
	assert_non_null(text);
	signal(SIGALRM, on_alarm);
	alarm(240);
	for (unsigned u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u]), len = 0, back_len;
		int32_t *ids = NULL;
		uint32_t n = 0, cap = 0;
		struct timespec t0, t1;
		char *back, *clean;

		while (len + ul <= size)
			memcpy(text + len, units[u], ul), len += ul;
		text[len] = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(llm_tokenize(vocab, text, len, false, &ids, &n, &cap), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		print_message("  %zu bytes of shape %u: %u tokens in %.3f s\n", len, u, n,
			      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
		assert_true(n >= llm_tokens_at_least(vocab, len));
		back = decode(ids, n, &back_len);
		clean = llm_utf8_clean(text, len, &len);
		if (back_len != len || memcmp(back, clean, len))
			fail_msg("1 MiB of \"%s\" did not come back as it went in", units[u]);
		free(clean);
		free(back);
		free(ids);
	}
	alarm(0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_ids_as_llama_cpp),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(special_tokens_only_when_asked),
		cmocka_unit_test(chat_template),
		cmocka_unit_test(heap_merge_matches_rescan),
		cmocka_unit_test(megabyte_prompts_of_every_shape),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, open_vocab, close_vocab);
}
