/* SPDX-License-Identifier: MIT */
/*
 * tests/serve/test_model_errors.c — models the engine must refuse, each
 * with a message naming the file and what is wrong with it: a missing
 * file, a truncated one, another architecture, a missing key, a tensor of
 * the wrong shape, an unknown tokenizer; in a Hugging Face folder, another
 * model type, a missing field, scaled rotary embeddings, no tokenizer.
 * The files are a generated tiny-15m with bytes changed in place.  A NaN
 * in a weight is found as the load hands it over, and named; the logits
 * catch it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "generate.h"
#include "llm.h"

static char dir[300];
static char good[600], good_hf[600];
static struct strata_rt *rt;

static int setup(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	const char *build = getenv("STRATA_BUILD");
	char cmd[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	snprintf(good, sizeof(good), "%s/tiny.gguf", dir);
	snprintf(cmd, sizeof(cmd), "%s/strata gen-model --config tiny-15m --dtype bf16 --format gguf -o %s 2>/dev/null",
		 build ? build : "build/release", good);
	if (system(cmd) != 0)
		return -1;
	snprintf(good_hf, sizeof(good_hf), "%s/hf", dir);
	snprintf(cmd, sizeof(cmd), "%s/strata gen-model --config tiny-15m -o %s 2>/dev/null", build ? build : "build/release",
		 good_hf);
	return system(cmd) == 0 && strata_rt_create(&ropts, &rt) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	strata_rt_destroy(rt);
	rm_rf(dir);
	return 0;
}

/* A copy of the good file with @from (the first occurrence, @len bytes)
 * replaced by @to; or cut to @cut bytes when @from is NULL. */
static void variant_bytes(const char *path, const char *from, const char *to, size_t len, off_t cut)
{
	FILE *in = fopen(good, "rb");
	size_t n;
	char *buf;

	assert_non_null(in);
	fseek(in, 0, SEEK_END);
	n = (size_t)ftell(in);
	rewind(in);
	buf = malloc(n);
	assert_int_equal(fread(buf, 1, n, in), n);
	fclose(in);
	if (from) {
		char *at = memmem(buf, n, from, len);

		assert_non_null(at);
		memcpy(at, to, len);
	} else {
		n = (size_t)cut;
	}
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(out);
	free(buf);
}

/* Literal byte strings, NULs included (both of one length). */
#define variant(path, from, to, cut) variant_bytes(path, from, to, sizeof(from) - 1, cut)

/* Opening @path fails with @code and a message holding @path and @what. */
static void refused(const char *path, int code, const char *what)
{
	struct llm_model *m = NULL;
	char err[512] = "";
	int e = llm_open(rt, path, NULL, &m, err, sizeof(err));

	print_message("%s\n", err);
	if (e == 0)
		fail_msg("%s opened", path);
	assert_int_equal(e, code);
	assert_non_null(strstr(err, path));
	if (!strstr(err, what))
		fail_msg("the message \"%s\" does not say \"%s\"", err, what);
}

static void the_good_file_opens(void **state)
{
	struct llm_model *m;
	char err[512] = "";

	(void)state;
	if (llm_open(rt, good, NULL, &m, err, sizeof(err)))
		fail_msg("%s", err);
	llm_close(m);
}

static void missing_file(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-model.gguf", dir);
	refused(path, -ENOENT, "No such file");
}

static void truncated_file(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/cut.gguf", dir);
	variant_bytes(path, NULL, NULL, 0, 1 << 20); /* the header whole, the data cut */
	refused(path, -STRATA_EFORMAT, "");
	variant_bytes(path, NULL, NULL, 0, 100); /* inside the header */
	refused(path, -STRATA_EFORMAT, "");
}

static void another_architecture(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/mamba.gguf", dir);
	variant(path, "\x05\0\0\0\0\0\0\0llama", "\x05\0\0\0\0\0\0\0mamba", 0);
	refused(path, -EOPNOTSUPP, "general.architecture is \"mamba\"");
}

static void missing_key(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/nokey.gguf", dir);
	variant(path, "llama.block_count", "llama.block_cOunt", 0);
	refused(path, -EINVAL, "llama.block_count is missing");
}

static void wrong_shape(void **state)
{
	char path[700];

	(void)state;
	/* The config says 12 layers; the file has tensors for 6. */
	snprintf(path, sizeof(path), "%s/layers.gguf", dir);
	variant(path, "llama.feed_forward_length\x04\0\0\0\x00\x03", "llama.feed_forward_length\x04\0\0\0\x00\x04", 0);
	refused(path, -EINVAL, "blk.0.ffn_gate.weight");
}

static void unknown_tokenizer(void **state)
{
	char path[700];

	(void)state;
	snprintf(path, sizeof(path), "%s/tok.gguf", dir);
	variant(path, "\x04\0\0\0\0\0\0\0gpt2", "\x04\0\0\0\0\0\0\0bert", 0);
	refused(path, -EOPNOTSUPP, "tokenizer.ggml.model is \"bert\"");
}

/* A Hugging Face folder @name like the good one, its config.json with
 * @from replaced by @to (NULL: unchanged), and without @drop. */
static void hf_variant(const char *name, const char *from, const char *to, const char *drop, char *path, size_t len)
{
	static const char *const files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
	char src[800], dst[800], text[4096];
	FILE *f;
	size_t n;

	snprintf(path, len, "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
	for (unsigned i = 0; i < 3; i++) {
		if (drop && !strcmp(drop, files[i]))
			continue;
		snprintf(src, sizeof(src), "%s/%s", good_hf, files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", path, files[i]);
		assert_int_equal(symlink(src, dst), 0);
	}
	snprintf(src, sizeof(src), "%s/config.json", good_hf);
	f = fopen(src, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	if (from) {
		char *at = strstr(text, from), out[4096];

		assert_non_null(at);
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
		strcpy(text, out);
	}
	snprintf(dst, sizeof(dst), "%s/config.json", path);
	f = fopen(dst, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void hugging_face_folders(void **state)
{
	struct llm_model *m;
	char path[700], err[512] = "";

	(void)state;
	if (llm_open(rt, good_hf, NULL, &m, err, sizeof(err)))
		fail_msg("%s", err);
	llm_close(m);
	hf_variant("gpt2", "\"llama\"", "\"gpt2\"", NULL, path, sizeof(path));
	refused(path, -EOPNOTSUPP, "model_type is gpt2");
	hf_variant("nohidden", "\"hidden_size\"", "\"hidden_sighs\"", NULL, path, sizeof(path));
	refused(path, -EINVAL, "the field hidden_size is missing");
	hf_variant("scaled", "\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", NULL,
		   path, sizeof(path));
	refused(path, -EOPNOTSUPP, "rope_scaling");
	hf_variant("notok", NULL, NULL, "tokenizer.json", path, sizeof(path));
	refused(path, -EINVAL, "tokenizer.json");
	hf_variant("noweights", NULL, NULL, "model.safetensors", path, sizeof(path));
	refused(path, -ENOENT, "model.safetensors");
	/* A FIFO where a JSON file should be: refused, not a hang in open().
	 * (An alarm ends the test if it hangs.) */
	hf_variant("fifo", NULL, NULL, "tokenizer.json", path, sizeof(path));
	{
		char fifo[800];

		snprintf(fifo, sizeof(fifo), "%s/tokenizer.json", path);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		alarm(20);
		refused(path, -EINVAL, "tokenizer.json: not a regular file");
		alarm(0);
	}
}

/* Each dtype's NaN and infinity, where it can be: elements of float
 * tensors, scales (and minimums) of quantized blocks; quants are never
 * mistaken for them. */
static void nonfinite_values_by_dtype(void **state)
{
	uint8_t buf[4 * 34];
	float f[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_F32, f, sizeof(f)), -1);
	f[5] = NAN;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_F32, f, sizeof(f)), 5);
	f[2] = -INFINITY;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_F32, f, sizeof(f)), 2);
	memset(buf, 0x3c, sizeof(buf)); /* 1.0 in f16 twice over: 0x3c3c */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_F16, buf, 64), -1);
	buf[7] = 0x7c, buf[6] = 0; /* +inf at element 3 */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_F16, buf, 64), 3);
	memset(buf, 0x3f, sizeof(buf));
	buf[5] = 0xff, buf[4] = 0x80; /* bf16 -inf at element 2 */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_BF16, buf, 64), 2);
	/* Quantized: quants full of 0xff and 0x7c are fine; a scale is not. */
	memset(buf, 0xff, sizeof(buf));
	for (int b = 0; b < 4; b++)
		buf[b * 34] = 0, buf[b * 34 + 1] = 0x3c;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q8_0, buf, 4 * 34), -1);
	buf[2 * 34 + 1] = 0x7e; /* NaN scale of block 2 */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q8_0, buf, 4 * 34), 2);
	memset(buf, 0x7c, sizeof(buf));
	for (int b = 0; b < 4; b++)
		buf[b * 18] = 0, buf[b * 18 + 1] = 0x3c;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q4_0, buf, 4 * 18), -1);
	buf[3 * 18 + 1] = 0xfc; /* -inf scale of block 3 */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q4_0, buf, 4 * 18), 3);
	memset(buf, 0xff, sizeof(buf));
	for (int b = 0; b < 4; b++)
		buf[b * 20] = 0, buf[b * 20 + 1] = 0x3c, buf[b * 20 + 2] = 0, buf[b * 20 + 3] = 0xbc;
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q4_1, buf, 4 * 20), -1);
	buf[1 * 20 + 3] = 0x7d; /* NaN minimum of block 1 */
	assert_int_equal(llm_first_nonfinite(STRATA_DTYPE_Q4_1, buf, 4 * 20), 1);
}

static int quiet(void *user, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks)
{
	(void)user, (void)text, (void)len, (void)toks, (void)ntoks;
	return 0;
}

/* A NaN written into blk.2.attn_k.weight: the load's check names it, and
 * generation refuses; were the check late, the logits refuse too. */
static void damaged_weights(void **state)
{
	const char *paths[1];
	char path[700], err[512] = "";
	struct strata_tensor_info t;
	struct strata_model *file;
	struct llm_gen_opts go = { .max_tokens = 4 };
	struct llm_gen_result res;
	struct llm_model *m;
	int32_t prompt[3] = { 1, 2, 3 };
	struct stat st;
	size_t idx;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/nan.gguf", dir);
	assert_int_equal(stat(good, &st), 0);
	variant_bytes(path, NULL, NULL, 0, st.st_size); /* a copy */
	paths[0] = path;
	assert_int_equal(strata_model_open(paths, 1, NULL, &file), 0);
	assert_int_equal(strata_model_find(file, "blk.2.attn_k.weight", &idx), 0);
	assert_int_equal(strata_model_tensor(file, idx, &t), 0);
	strata_model_close(file);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\xc0\x7f", 2, (off_t)t.offset + 2 * 100), 2); /* bf16 NaN, element 100 */
	close(fd);

	if (llm_open(rt, path, NULL, &m, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(strata_load_wait(m->load, -1), 0);
	assert_true(atomic_load(&m->damaged));
	if (!strstr(m->damage, "blk.2.attn_k.weight") || !strstr(m->damage, "element 100"))
		fail_msg("the damage is not named: %s", m->damage);
	assert_int_equal(llm_generate(m, prompt, 3, &go, quiet, NULL, &res), -EBADMSG);
	/* As if the check had not run yet: the logits are NaN. */
	atomic_store(&m->damaged, false);
	assert_int_equal(llm_generate(m, prompt, 3, &go, quiet, NULL, &res), -EBADMSG);
	llm_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_good_file_opens), cmocka_unit_test(missing_file),
		cmocka_unit_test(truncated_file),	cmocka_unit_test(another_architecture),
		cmocka_unit_test(missing_key),	cmocka_unit_test(wrong_shape),
		cmocka_unit_test(unknown_tokenizer),	cmocka_unit_test(hugging_face_folders),
		cmocka_unit_test(nonfinite_values_by_dtype), cmocka_unit_test(damaged_weights),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
