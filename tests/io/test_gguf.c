/* SPDX-License-Identifier: MIT */
/*
 * tests/io/test_gguf.c — GGUF headers: typed metadata, string arrays,
 * alignment, tensor infos with reversed shapes and absolute offsets; and
 * each malformed pattern behind llama.cpp's GGUF CVEs refused with a
 * message naming it.  Beyond ggml: keys that are not printable ASCII and
 * tensors without dimensions are refused; version 2 opens with one
 * warning through the log callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "io/model_files.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	scratch_dir(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scratch_remove(dir);
	return 0;
}

static int open_as(const struct bytes *b, enum strata_format format, char *msg, size_t msglen,
		   struct strata_model **out)
{
	char path[300];
	const char *paths[] = { path };
	STRATA_MODEL_OPTS(opts, .format = format, .errbuf = msg, .errlen = msglen);
	struct strata_model *m = NULL;
	int err;

	snprintf(path, sizeof(path), "%s/t.gguf", dir);
	write_file(path, b->p, b->len);
	err = strata_model_open(paths, 1, &opts, &m);
	if (out)
		*out = m;
	else
		strata_model_close(m);
	return err;
}

/* Format detected from the magic. */
static int open_bytes(const struct bytes *b, char *msg, size_t msglen, struct strata_model **out)
{
	return open_as(b, STRATA_FORMAT_AUTO, msg, msglen, out);
}

/* A small valid model: metadata of several types, two tensors. */
static void build_valid_version(struct bytes *b, uint32_t version, uint32_t alignment, size_t nstrings)
{
	const uint64_t ne_a[2] = { 64, 3 }, ne_b[1] = { 5 };
	size_t i;

	gguf_begin_version(b, version, 2, 5);
	gguf_kv_str(b, "general.architecture", "llama");
	gguf_kv_u32(b, "general.alignment", alignment);
	put_str(b, "llama.rope.freq_base");
	put_u32(b, 6);
	{
		float f = 10000.0f;

		put(b, &f, 4);
	}
	put_str(b, "tokenizer.ggml.tokens");
	put_u32(b, 9);
	put_u32(b, 8);
	put_u64(b, nstrings);
	for (i = 0; i < nstrings; i++) {
		char tok[32];

		snprintf(tok, sizeof(tok), "tok%zu", i);
		put_str(b, tok);
	}
	put_str(b, "tokenizer.ggml.scores");
	put_u32(b, 9);
	put_u32(b, 5);
	put_u64(b, 3);
	put_u32(b, (uint32_t)-7);
	put_u32(b, 0);
	put_u32(b, 42);
	gguf_tensor(b, "blk.0.attn_q.weight", 2, ne_a, 8 /* Q8_0 */, 0);
	gguf_tensor(b, "output_norm.weight", 1, ne_b, 0 /* F32 */, ((3 * 2 * 34) + alignment - 1) / alignment * alignment);
	gguf_pad(b, alignment);
	put_pattern(b, 3 * 2 * 34);
	gguf_pad(b, alignment);
	put_pattern(b, 20);
}

static void build_valid(struct bytes *b, uint32_t alignment, size_t nstrings)
{
	build_valid_version(b, 3, alignment, nstrings);
}

static void valid_file(void **state)
{
	struct bytes b = { 0 };
	struct strata_tensor_info t;
	struct strata_model *m;
	struct strata_meta meta;
	const char *s;
	uint64_t len;
	double d;
	char msg[256];
	size_t i;

	(void)state;
	/* 300,000 tokens: the header is larger than the first read. */
	build_valid(&b, 64, 300000);
	assert_int_equal(open_bytes(&b, msg, sizeof(msg), &m), 0);
	assert_int_equal(strata_model_tensor_count(m), 2);
	assert_int_equal(strata_model_find(m, "blk.0.attn_q.weight", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_int_equal(t.dtype, STRATA_DTYPE_Q8_0);
	assert_int_equal(t.ndim, 2);
	assert_int_equal(t.shape[0], 3); /* outermost first */
	assert_int_equal(t.shape[1], 64);
	assert_int_equal(t.bytes, 3 * 2 * 34);
	assert_int_equal(t.offset % 64, 0);
	assert_int_equal(strata_model_find(m, "output_norm.weight", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_int_equal(t.offset, b.len - 20);
	assert_int_equal(t.bytes, 20);

	assert_int_equal(strata_model_meta_count(m), 5);
	assert_int_equal(strata_model_meta_find(m, "general.architecture", &meta), 0);
	assert_int_equal(meta.type, STRATA_META_STRING);
	assert_int_equal(meta.count, 5);
	assert_memory_equal(meta.v.str, "llama", 5);
	assert_int_equal(strata_model_meta_find(m, "general.alignment", &meta), 0);
	assert_int_equal(meta.v.u, 64);
	assert_int_equal(strata_model_meta_find(m, "llama.rope.freq_base", &meta), 0);
	assert_true(meta.v.f == 10000.0);
	assert_int_equal(strata_model_meta_find(m, "tokenizer.ggml.tokens", &meta), 0);
	assert_int_equal(meta.type, STRATA_META_ARRAY);
	assert_int_equal(meta.elem_type, STRATA_META_STRING);
	assert_int_equal(meta.count, 300000);
	assert_int_equal(strata_meta_array_string(&meta, 123456, &s, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(s, "tok123456", 9);
	assert_int_equal(strata_meta_array_string(&meta, 300000, &s, &len), -ERANGE);
	assert_int_equal(strata_meta_array_number(&meta, 0, &d), -EINVAL);
	assert_int_equal(strata_model_meta_find(m, "tokenizer.ggml.scores", &meta), 0);
	assert_int_equal(strata_meta_array_number(&meta, 0, &d), 0);
	assert_true(d == -7.0);
	assert_int_equal(strata_meta_array_number(&meta, 2, &d), 0);
	assert_true(d == 42.0);
	assert_int_equal(strata_meta_array_string(&meta, 0, &s, &len), -EINVAL);
	assert_int_equal(strata_model_meta_find(m, "missing", &meta), -ENOENT);
	strata_model_close(m);
	free(b.p);
}

typedef void (*builder)(struct bytes *b);

static void bad_magic(struct bytes *b)
{
	put(b, "GGUG", 4);
	put_u32(b, 3);
	put_u64(b, 0);
	put_u64(b, 0);
}

static void bad_version(struct bytes *b)
{
	put(b, "GGUF", 4);
	put_u32(b, 1);
	put_u64(b, 0);
	put_u64(b, 0);
}

static void big_endian(struct bytes *b)
{
	put(b, "GGUF", 4);
	put_u32(b, 0x03000000);
	put_u64(b, 0);
	put_u64(b, 0);
}

static void huge_tensor_count(struct bytes *b)
{
	gguf_begin(b, UINT64_MAX / 8, 0);
}

static void huge_kv_count(struct bytes *b)
{
	gguf_begin(b, 0, (uint64_t)1 << 62);
}

static void string_past_end(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_u64(b, 1000);
	put(b, "abc", 3);
}

static void string_too_long(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_u64(b, UINT64_MAX);
}

static void empty_key(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "");
	put_u32(b, 4);
	put_u32(b, 1);
}

static void duplicate_key(struct bytes *b)
{
	gguf_begin(b, 0, 2);
	gguf_kv_u32(b, "a.b", 1);
	gguf_kv_u32(b, "a.b", 2);
}

static void unknown_type(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "k");
	put_u32(b, 13);
	put_u32(b, 0);
}

static void bad_bool(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "k");
	put_u32(b, 7);
	put_fill(b, 2, 1);
}

static void nested_array(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "k");
	put_u32(b, 9);
	put_u32(b, 9);
	put_u64(b, 1);
}

static void array_past_end(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "k");
	put_u32(b, 9);
	put_u32(b, 10);
	put_u64(b, (uint64_t)1 << 29);
}

static void string_array_count(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "k");
	put_u32(b, 9);
	put_u32(b, 8);
	put_u64(b, (uint64_t)1 << 29);
	put_str(b, "x");
}

static void alignment_zero(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "general.alignment", 0);
}

static void alignment_npot(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "general.alignment", 48);
}

static void alignment_wrong_type(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_str(b, "general.alignment");
	put_u32(b, 5);
	put_u32(b, 32);
}

static void tensor_with(struct bytes *b, const char *name, uint32_t ndim, const uint64_t *ne, uint32_t type,
			uint64_t offset, size_t data)
{
	gguf_begin(b, 1, 0);
	gguf_tensor(b, name, ndim, ne, type, offset);
	gguf_pad(b, 32);
	put_pattern(b, data);
}

static void long_name(struct bytes *b)
{
	static const uint64_t ne[1] = { 4 };
	char name[80];

	memset(name, 'n', 64);
	name[64] = '\0';
	tensor_with(b, name, 1, ne, 0, 0, 16);
}

static void too_many_dims(struct bytes *b)
{
	static const uint64_t ne[5] = { 1, 1, 1, 1, 1 };

	tensor_with(b, "t", 5, ne, 0, 0, 4);
}

static void negative_dim(struct bytes *b)
{
	static const uint64_t ne[2] = { 4, (uint64_t)-1 };

	tensor_with(b, "t", 2, ne, 0, 0, 16);
}

static void elements_overflow(struct bytes *b)
{
	/* CVE-2026-33298's shape: each dimension fine, their product wraps. */
	static const uint64_t ne[2] = { (uint64_t)1 << 42, ((uint64_t)1 << 22) + 1 };

	tensor_with(b, "t", 2, ne, 0, 0, 16);
}

static void bytes_overflow(struct bytes *b)
{
	static const uint64_t ne[2] = { (uint64_t)1 << 31, (uint64_t)1 << 31 };

	tensor_with(b, "t", 2, ne, 28 /* F64 */, 0, 16);
}

static void bad_type(struct bytes *b)
{
	static const uint64_t ne[1] = { 4 };

	tensor_with(b, "t", 1, ne, 4 /* removed Q4_2 */, 0, 16);
}

static void partial_block(struct bytes *b)
{
	static const uint64_t ne[2] = { 16, 2 };

	tensor_with(b, "t", 2, ne, 2 /* Q4_0, 32 per block */, 0, 18);
}

static void misaligned_offset(struct bytes *b)
{
	static const uint64_t ne[1] = { 4 };

	tensor_with(b, "t", 1, ne, 0, 8, 32);
}

static void data_past_end(struct bytes *b)
{
	static const uint64_t ne[1] = { 1024 };

	tensor_with(b, "t", 1, ne, 0, 0, 100);
}

static void offset_overflow(struct bytes *b)
{
	static const uint64_t ne[1] = { 4 };

	tensor_with(b, "t", 1, ne, 0, UINT64_MAX - 31, 16);
}

static void duplicate_tensor(struct bytes *b)
{
	static const uint64_t ne[1] = { 8 };

	gguf_begin(b, 2, 0);
	gguf_tensor(b, "t", 1, ne, 0, 0);
	gguf_tensor(b, "t", 1, ne, 0, 32);
	gguf_pad(b, 32);
	put_pattern(b, 64);
}

static void overlapping_tensors(struct bytes *b)
{
	static const uint64_t ne[1] = { 16 };

	gguf_begin(b, 2, 0);
	gguf_tensor(b, "t", 1, ne, 0, 0);
	gguf_tensor(b, "u", 1, ne, 0, 32);
	gguf_pad(b, 32);
	put_pattern(b, 128);
}

/* Keys: a terminal escape, a byte above ASCII (UTF-8 "é"), DEL, a NUL
 * inside, a tab. */
static void key_escape(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "general.\x1b[2Jname", 1);
}

static void key_utf8(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "caf\xc3\xa9.count", 1);
}

static void key_del(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "a\x7f", 1);
}

static void key_nul(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	put_u64(b, 3);
	put(b, "a\0b", 3);
	put_u32(b, 4);
	put_u32(b, 1);
}

static void key_tab(struct bytes *b)
{
	gguf_begin(b, 0, 1);
	gguf_kv_u32(b, "a\tb", 1);
}

static void no_dims(struct bytes *b)
{
	static const uint64_t ne[1] = { 1 };

	tensor_with(b, "scalar", 0, ne, 0, 0, 4);
}

static void truncated_header(struct bytes *b)
{
	gguf_begin(b, 1, 0);
	put_str(b, "tensor");
}

struct bad_case {
	builder build;
	const char *expect;
};

static void malformed(void **state)
{
	static const struct bad_case cases[] = {
		{ bad_magic, "bad magic" },
		{ bad_version, "unsupported GGUF version 1" },
		{ big_endian, "big-endian" },
		{ huge_tensor_count, "tensor count" },
		{ huge_kv_count, "key/value count" },
		{ string_past_end, "runs past the end" },
		{ string_too_long, "exceeds" },
		{ empty_key, "empty key" },
		{ duplicate_key, "appears twice" },
		{ unknown_type, "unknown value type 13" },
		{ bad_bool, "neither 0 nor 1" },
		{ nested_array, "array of arrays" },
		{ array_past_end, "runs past the end" },
		{ string_array_count, "cannot fit" },
		{ alignment_zero, "not a power of two" },
		{ alignment_npot, "not a power of two" },
		{ alignment_wrong_type, "must be a u32" },
		{ long_name, "tensor name length 64" },
		{ too_many_dims, "5 dimensions" },
		{ negative_dim, "overflows" },
		{ elements_overflow, "element count overflows" },
		{ bytes_overflow, "byte size overflows" },
		{ bad_type, "unknown ggml type 4" },
		{ partial_block, "whole number of Q4_0 blocks" },
		{ misaligned_offset, "not a multiple of the alignment" },
		{ data_past_end, "past the end of the file" },
		{ offset_overflow, "overflows" },
		{ duplicate_tensor, "appears twice" },
		{ overlapping_tensors, "overlaps" },
		{ truncated_header, "runs past the end" },
		{ key_escape, "at offset 24: key has byte 0x1b at position 8: keys are printable ASCII" },
		{ key_utf8, "at offset 24: key has byte 0xc3 at position 3" },
		{ key_del, "key has byte 0x7f at position 1" },
		{ key_nul, "key has byte 0x00 at position 1" },
		{ key_tab, "key has byte 0x09 at position 1" },
		{ no_dims, "tensor 'scalar' has no dimensions" },
	};
	char msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bytes b = { 0 };
		int err;

		cases[i].build(&b);
		err = open_as(&b, STRATA_FORMAT_GGUF, msg, sizeof(msg), NULL);
		free(b.p);
		if (err != -STRATA_EFORMAT || !strstr(msg, cases[i].expect))
			fail_msg("case %zu: err %d, message '%s', expected '%s'", i, err, msg, cases[i].expect);
	}
}

/* The offset named is the bad key's own, after keys that were fine; the
 * message carries none of the key's bytes. */
static void key_offset_named(void **state)
{
	struct bytes b = { 0 };
	char msg[512], want[64];
	size_t at;

	(void)state;
	gguf_begin(&b, 0, 3);
	gguf_kv_str(&b, "general.architecture", "llama");
	gguf_kv_u32(&b, "general.alignment", 32);
	at = b.len;
	gguf_kv_str(&b, "general.\x1b]0;owned\x07name", "x");
	assert_int_equal(open_as(&b, STRATA_FORMAT_GGUF, msg, sizeof(msg), NULL), -STRATA_EFORMAT);
	free(b.p);
	snprintf(want, sizeof(want), "at offset %zu: key has byte 0x1b", at);
	if (!strstr(msg, want))
		fail_msg("message '%s' does not say '%s'", msg, want);
	assert_null(strchr(msg, 0x1b));
	assert_null(strchr(msg, 0x07));
	assert_null(strstr(msg, "owned"));
}

/* Version 2 opens, like ggml reads it, and says so once through the log
 * callback, naming the version and the file, even when the header took
 * several reads; version 3 says nothing, and neither does a version 2
 * file that is refused (its error says what is wrong). */
static void version_2_warns(void **state)
{
	struct log_catch lc;
	struct strata_model *m;
	struct bytes b = { 0 };
	char msg[256];

	(void)state;
	log_catch_install(&lc);
	build_valid_version(&b, 2, 32, 300000);
	assert_int_equal(open_bytes(&b, msg, sizeof(msg), &m), 0);
	assert_int_equal(strata_model_tensor_count(m), 2);
	strata_model_close(m);
	assert_int_equal(lc.count, 1);
	assert_int_equal(lc.last_level, STRATA_LOG_WARN);
	if (!strstr(lc.last, "GGUF version 2") || !strstr(lc.last, "/t.gguf"))
		fail_msg("warning '%s' names neither the version nor the file", lc.last);
	free(b.p);

	b = (struct bytes){ 0 };
	build_valid_version(&b, 3, 32, 10);
	assert_int_equal(open_bytes(&b, msg, sizeof(msg), NULL), 0);
	assert_int_equal(lc.count, 1);
	free(b.p);

	b = (struct bytes){ 0 };
	gguf_begin_version(&b, 2, 0, 1);
	put_str(&b, "");
	put_u32(&b, 4);
	put_u32(&b, 1);
	assert_int_equal(open_bytes(&b, msg, sizeof(msg), NULL), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "empty key"));
	assert_int_equal(lc.count, 1);
	free(b.p);
	log_catch_remove();
}

static void allocation_failures(void **state)
{
	struct bytes b = { 0 };
	struct fail_alloc fa;
	char msg[256];
	long n;

	(void)state;
	build_valid(&b, 32, 10);
	for (n = 1;; n++) {
		int err;

		fa = (struct fail_alloc){ .fail_at = n };
		fail_alloc_install(&fa);
		err = open_bytes(&b, msg, sizeof(msg), NULL);
		fail_alloc_install(NULL);
		assert_int_equal(fa.live, 0);
		if (err == 0)
			break;
		assert_int_equal(err, -ENOMEM);
	}
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_file),
		cmocka_unit_test(malformed),
		cmocka_unit_test(key_offset_named),
		cmocka_unit_test(version_2_warns),
		cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
