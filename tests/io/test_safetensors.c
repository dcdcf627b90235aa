/* SPDX-License-Identifier: MIT */
/*
 * tests/io/test_safetensors.c — safetensors headers: a valid file gives the
 * right table, and each malformed pattern the research lists (and the CVEs
 * of other loaders) is refused with -STRATA_EFORMAT and a message naming
 * the problem, before any data is read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Open @json + @data bytes; return the error and leave the message in @msg. */
static int try_open(const char *json, size_t data, int pad, char *msg, size_t msglen, struct strata_model **out)
{
	char path[300];
	const char *paths[] = { path };
	STRATA_MODEL_OPTS(opts, .errbuf = msg, .errlen = msglen);
	struct strata_model *m = NULL;
	int err;

	snprintf(path, sizeof(path), "%s/t.safetensors", dir);
	write_safetensors(path, json, data, pad);
	err = strata_model_open(paths, 1, &opts, &m);
	if (out)
		*out = m;
	else
		strata_model_close(m);
	return err;
}

static void valid_file(void **state)
{
	const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
			   "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
			   "\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
			   "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
			   "\"e\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[40,40]}}";
	struct strata_tensor_info t;
	struct strata_model *m;
	struct strata_meta meta;
	enum strata_format fmt;
	char msg[256];
	size_t i;

	(void)state;
	assert_int_equal(try_open(json, 40, 1, msg, sizeof(msg), &m), 0);
	assert_int_equal(strata_model_tensor_count(m), 4);
	assert_int_equal(strata_model_format(m, &fmt, NULL), 0);
	assert_int_equal(fmt, STRATA_FORMAT_SAFETENSORS);
	assert_int_equal(strata_model_find(m, "b", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_string_equal(t.name, "b");
	assert_int_equal(t.dtype, STRATA_DTYPE_F32);
	assert_int_equal(t.ndim, 2);
	assert_int_equal(t.shape[0], 2);
	assert_int_equal(t.shape[1], 3);
	assert_int_equal(t.bytes, 24);
	assert_int_equal(t.offset, 8 + (strlen(json) + 7) / 8 * 8);
	assert_int_equal(strata_model_find(m, "s", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_int_equal(t.ndim, 0);
	assert_int_equal(t.bytes, 8);
	assert_int_equal(strata_model_find(m, "nope", &i), -ENOENT);
	assert_int_equal(strata_model_tensor(m, 4, &t), -ERANGE);
	assert_int_equal(strata_model_meta_find(m, "format", &meta), 0);
	assert_int_equal(meta.type, STRATA_META_STRING);
	assert_int_equal(meta.count, 2);
	assert_memory_equal(meta.v.str, "pt", 2);
	strata_model_close(m);
	/* An unpadded header (third-party writers) is fine too. */
	assert_int_equal(try_open(json, 40, 0, msg, sizeof(msg), NULL), 0);
}

struct bad_case {
	const char *json;
	size_t data;
	const char *expect; /* part of the message */
};

static void malformed_headers(void **state)
{
	static const struct bad_case cases[] = {
		{ "[1,2]", 0, "start with" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},", 4, "header JSON" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		  8, "duplicate" },
		{ "{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype F33" },
		{ "{\"a\":{\"dtype\":\"Q4_0\",\"shape\":[32],\"data_offsets\":[0,18]}}", 18, "unknown dtype" },
		{ "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0]" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0]" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "two non-negative" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,4]}}", 4, "two non-negative" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "before begin" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "span 4 bytes but shape x dtype is 8" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows" },
		{ "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1, "whole bytes" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "belong to no tensor" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "trailing bytes" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 2, "file ends 2 bytes before" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		  8, "overlaps" },
		{ "{\"__metadata__\":{\"n\":1}}", 0, "not a string" },
		{ "{\"__metadata__\":[]}", 0, "not an object" },
		{ "{\"a\":[]}", 0, "not an object" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "at most 8" },
		{ "{\"a\":\"\xff\xfe\"}", 0, "header JSON" },
		{ "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty name" },
	};
	char msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = try_open(cases[i].json, cases[i].data, 1, msg, sizeof(msg), NULL);

		if (err != -STRATA_EFORMAT || !strstr(msg, cases[i].expect))
			fail_msg("case %zu (%s): err %d, message '%s', expected '%s'", i, cases[i].json, err, msg,
				 cases[i].expect);
		assert_non_null(strstr(msg, "at offset"));
	}
}

static void bad_lengths(void **state)
{
	char path[300], msg[256];
	const char *paths[] = { path };
	STRATA_MODEL_OPTS(opts, .errbuf = msg, .errlen = sizeof(msg));
	struct bytes b = { 0 };
	struct strata_model *m;

	(void)state;
	snprintf(path, sizeof(path), "%s/len.safetensors", dir);
	/* Too short for the length field. */
	write_file(path, "abc", 3);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "too short"));
	/* Length past the end of the file, near UINT64_MAX, and over the limit. */
	put_u64(&b, 1000);
	put(&b, "{}", 2);
	write_file(path, b.p, b.len);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "runs past the end"));
	b.len = 0;
	put_u64(&b, UINT64_MAX - 3);
	put(&b, "{}", 2);
	write_file(path, b.p, b.len);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "exceeds the limit"));
	b.len = 0;
	put_u64(&b, 100000001);
	write_file(path, b.p, b.len);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "exceeds the limit"));
	/* Not starting with '{'. */
	b.len = 0;
	put_u64(&b, 4);
	put(&b, " {} ", 4);
	write_file(path, b.p, b.len);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "start with '{'"));
	free(b.p);
	/* Missing file: the errno, and the message names the path. */
	snprintf(path, sizeof(path), "%s/missing.safetensors", dir);
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -ENOENT);
	assert_non_null(strstr(msg, "missing.safetensors"));
	assert_int_equal(strata_model_open(NULL, 1, &opts, &m), -EINVAL);
	assert_int_equal(strata_model_open(paths, 0, &opts, &m), -EINVAL);
}

static void write_shard(const char *name, const char *json, size_t data)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_safetensors(path, json, data, 1);
}

static int open_index(const char *index_json, char *msg, size_t msglen, struct strata_model **m)
{
	char path[300];
	const char *paths[] = { path };
	STRATA_MODEL_OPTS(opts, .errbuf = msg, .errlen = msglen);

	snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
	write_file(path, index_json, strlen(index_json));
	return strata_model_open(paths, 1, &opts, m);
}

static void sharded(void **state)
{
	struct strata_tensor_info t;
	struct strata_model *m;
	unsigned nfiles;
	const char *p;
	char msg[512];
	size_t i;

	(void)state;
	write_shard("s-1.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
	write_shard("s-2.safetensors",
		    "{\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
		    "\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}",
		    4);
	assert_int_equal(open_index("{\"metadata\":{},\"weight_map\":{\"x\":\"s-1.safetensors\","
				    "\"y\":\"s-2.safetensors\",\"z\":\"s-2.safetensors\"}}",
				    msg, sizeof(msg), &m),
			 0);
	assert_int_equal(strata_model_tensor_count(m), 3);
	assert_int_equal(strata_model_format(m, NULL, &nfiles), 0);
	assert_int_equal(nfiles, 2);
	assert_int_equal(strata_model_find(m, "z", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_int_equal(strata_model_file_path(m, t.file, &p), 0);
	assert_non_null(strstr(p, "s-2.safetensors"));
	strata_model_close(m);

	assert_int_equal(open_index("{\"weight_map\":{\"x\":\"s-1.safetensors\",\"y\":\"s-2.safetensors\"}}", msg,
				    sizeof(msg), &m),
			 -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "'z' is not in the index"));
	assert_int_equal(open_index("{\"weight_map\":{\"x\":\"s-2.safetensors\",\"y\":\"s-2.safetensors\","
				    "\"z\":\"s-2.safetensors\"}}",
				    msg, sizeof(msg), &m),
			 -STRATA_EFORMAT);
	assert_int_equal(open_index("{\"weight_map\":{\"x\":\"s-1.safetensors\",\"y\":\"s-2.safetensors\","
				    "\"z\":\"s-2.safetensors\",\"w\":\"s-1.safetensors\"}}",
				    msg, sizeof(msg), &m),
			 -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "lists 4 tensors"));
	assert_int_equal(open_index("{\"weight_map\":{\"x\":\"../etc/passwd\"}}", msg, sizeof(msg), &m),
			 -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "beside the index"));
	assert_int_equal(open_index("{\"weight_map\":{\"x\":\"gone.safetensors\"}}", msg, sizeof(msg), &m), -ENOENT);
	assert_int_equal(open_index("{\"weight_map\":{}}", msg, sizeof(msg), &m), -STRATA_EFORMAT);
	assert_int_equal(open_index("{\"weight_map\":", msg, sizeof(msg), &m), -STRATA_EFORMAT);
	assert_non_null(strstr(msg, "index JSON"));
}

static void allocation_failures(void **state)
{
	const char *json = "{\"__metadata__\":{\"k\":\"v\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
			   "\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}}";
	struct fail_alloc fa = { 0 };
	char msg[256];
	long n;

	(void)state;
	for (n = 1;; n++) {
		int err;

		fa = (struct fail_alloc){ .fail_at = n };
		fail_alloc_install(&fa);
		err = try_open(json, 32, 1, msg, sizeof(msg), NULL);
		fail_alloc_install(NULL);
		assert_int_equal(fa.live, 0);
		if (err == 0)
			break;
		assert_int_equal(err, -ENOMEM);
	}
	assert_true(n > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_file),	 cmocka_unit_test(malformed_headers),
		cmocka_unit_test(bad_lengths),	 cmocka_unit_test(sharded),
		cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
