/* SPDX-License-Identifier: MIT */
/*
 * tests/io/test_fuzz_models.c — replay the model-format fuzz harnesses on
 * mutations of valid files in every `make check`: flipped bytes,
 * interesting 64-bit values planted over lengths and counts, and
 * truncations.  `make fuzz` runs the same harnesses under libFuzzer.
 */
#include "../fuzz/fuzz_model.h"
#include "helpers.h"
#include "io/model_files.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void mutate_and_replay(const struct bytes *valid, enum strata_format format, unsigned rounds)
{
	static const uint64_t interesting[] = { 0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 1ULL << 32,
						1ULL << 53, INT64_MAX, UINT64_MAX, UINT64_MAX - 7 };
	unsigned char *buf = malloc(valid->len);
	unsigned r;

	assert_non_null(buf);
	/* The valid file itself opens. */
	fuzz_model_bytes(valid->p, valid->len, format);
	for (r = 0; r < rounds; r++) {
		size_t len = valid->len, k, edits = 1 + next() % 4;

		memcpy(buf, valid->p, len);
		for (k = 0; k < edits && len; k++) {
			size_t at = (size_t)(next() % len);

			switch (next() % 4) {
			case 0:
				buf[at] ^= (unsigned char)(1u << (next() % 8));
				break;
			case 1:
				buf[at] = (unsigned char)next();
				break;
			case 2:
				if (at + 8 <= len) {
					uint64_t v = interesting[next() % (sizeof(interesting) / sizeof(interesting[0]))];

					memcpy(buf + at, &v, 8);
				}
				break;
			default:
				len = at;
				break;
			}
		}
		fuzz_model_bytes(buf, len, format);
	}
	free(buf);
}

static void gguf_mutations(void **state)
{
	static const uint64_t ne[2] = { 32, 2 };
	struct bytes b = { 0 };

	(void)state;
	gguf_begin(&b, 2, 3);
	gguf_kv_str(&b, "general.architecture", "llama");
	gguf_kv_u32(&b, "general.alignment", 32);
	put_str(&b, "tokenizer.ggml.tokens");
	put_u32(&b, 9);
	put_u32(&b, 8);
	put_u64(&b, 3);
	put_str(&b, "a");
	put_str(&b, "bc");
	put_str(&b, "def");
	gguf_tensor(&b, "blk.0.w", 2, ne, 8, 0);
	gguf_tensor(&b, "out", 1, ne, 0, 96);
	gguf_pad(&b, 32);
	put_pattern(&b, 96 + 128);
	mutate_and_replay(&b, STRATA_FORMAT_GGUF, 3000);
	free(b.p);
}

static void safetensors_mutations(void **state)
{
	const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
			   "\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
			   "\"b\":{\"dtype\":\"F4\",\"shape\":[8],\"data_offsets\":[12,16]}}";
	struct bytes b = { 0 };

	(void)state;
	put_u64(&b, strlen(json));
	put(&b, json, strlen(json));
	put_pattern(&b, 16);
	mutate_and_replay(&b, STRATA_FORMAT_SAFETENSORS, 3000);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gguf_mutations),
		cmocka_unit_test(safetensors_mutations),
	};

	return RUN_TESTS(tests);
}
