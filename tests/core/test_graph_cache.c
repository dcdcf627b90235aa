/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_cache.c — the kernel cache and the failure paths
 * of compiling and running: warm hits, damaged entries, the size bound
 * with least-recently-used eviction, two processes filling one cache, no
 * compiler at all, and every refusal of a bad run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define D 24

static float w[D * D], bias[D], xd[8 * D];
static char dir[4096];

/* silu(x·wᵀ + bias) * x, then softmax; @variant changes the width of a
 * slice so that each variant has kernels of its own. */
static uint32_t build(int variant, uint32_t *x)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, D }, ws[] = { D, D }, bs[] = { D };
	uint32_t wn, bn, t, u;

	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, x), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 2, ws, w, &wn), 0);
	assert_int_equal(strata_graph_weight(test_graph, "b", STRATA_DTYPE_F32, 1, bs, bias, &bn), 0);
	assert_int_equal(strata_graph_matmul(test_graph, *x, wn, STRATA_MATMUL_TRANS_B, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, t, bn, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, t, &t), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, t, *x, &t), 0);
	assert_int_equal(strata_graph_slice(test_graph, t, 1, 0, D - variant, &u), 0);
	assert_int_equal(strata_graph_softmax(test_graph, u, &u), 0);
	assert_int_equal(strata_graph_output(test_graph, u), 0);
	return u;
}

static struct strata_program *compile_in(const char *cache, uint64_t max_bytes)
{
	STRATA_COMPILE_OPTS(opts, .cache_dir = cache, .cache_max_bytes = max_bytes);
	struct strata_program *p;

	if (strata_graph_compile(test_graph, &opts, &p))
		fail_msg("compile: %s", strata_graph_error(test_graph));
	return p;
}

static struct strata_program_info info_of(struct strata_program *p)
{
	struct strata_program_info info = { .sz = sizeof(info) };

	assert_int_equal(strata_program_info(p, &info), 0);
	return info;
}

/* The program's result at seq 3 equals the reference's. */
static void check_result(struct strata_program *p, uint32_t x, uint32_t out, int variant)
{
	size_t bytes = 3 * (D - (size_t)variant) * 4;
	float *a = calloc(1, bytes), *b = calloc(1, bytes);
	struct strata_graph_tensor in = { x, xd, 3 * D * 4 }, oa = { out, a, bytes }, ob = { out, b, bytes };

	if (strata_program_run(p, 3, &in, 1, &oa, 1))
		fail_msg("run: %s", strata_program_error(p));
	assert_int_equal(strata_graph_eval_reference(test_graph, 3, &in, 1, &ob, 1), 0);
	for (size_t i = 0; i < bytes / 4; i++)
		if (!(a[i] - b[i] < 1e-5f && b[i] - a[i] < 1e-5f))
			fail_msg("element %zu: %g, reference %g", i, (double)a[i], (double)b[i]);
	free(a);
	free(b);
}

/* Entries (*.so) in the cache folder, and their bytes. */
static unsigned entries(uint64_t *bytes)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	*bytes = 0;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[8192];
		struct stat st;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "toolchain"))
			continue;
		assert_non_null(strstr(e->d_name, ".so")); /* nothing else is left behind */
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		*bytes += (uint64_t)st.st_size;
		n++;
	}
	closedir(d);
	return n;
}

static int fresh_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/kernels", make_tmpdir());
	return graph_setup(state);
}

static int remove_dir(void **state)
{
	char parent[4096];

	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	rm_rf(parent);
	return graph_teardown(state);
}

static void warm_cache_hits(void **state)
{
	struct strata_program *p;
	struct strata_program_info a, b;
	uint32_t x, out = build(0, &x);
	uint64_t bytes;

	(void)state;
	p = compile_in(dir, 0);
	a = info_of(p);
	check_result(p, x, out, 0);
	strata_program_destroy(p);
	assert_true(a.objects > 0);
	assert_int_equal(a.compiled, a.objects);
	assert_int_equal(a.cache_hits, 0);
	assert_int_equal(entries(&bytes), a.objects);

	p = compile_in(dir, 0);
	b = info_of(p);
	check_result(p, x, out, 0);
	strata_program_destroy(p);
	assert_int_equal(b.compiled, 0);
	assert_int_equal(b.cache_hits, a.objects);
	print_message("cold compile %.1f ms, warm %.1f ms (%u objects)\n", a.compile_ms, b.compile_ms, a.objects);
}

/* Flip a byte in the middle of @path, or cut it short. */
static void damage(const char *path, bool truncate_it)
{
	FILE *f = fopen(path, "r+b");
	struct stat st;
	int c;

	assert_non_null(f);
	assert_int_equal(stat(path, &st), 0);
	if (truncate_it) {
		assert_int_equal(ftruncate(fileno(f), st.st_size / 2), 0);
	} else {
		fseek(f, st.st_size / 2, SEEK_SET);
		c = fgetc(f);
		fseek(f, st.st_size / 2, SEEK_SET);
		fputc(c ^ 0x5a, f);
	}
	fclose(f);
}

static void damaged_entries_are_rebuilt(void **state)
{
	struct strata_program *p;
	struct strata_program_info info;
	uint32_t x, out = build(0, &x);
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	(void)state;
	strata_program_destroy(compile_in(dir, 0));
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[8192];

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "toolchain"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		damage(path, n++ % 2);
	}
	closedir(d);
	p = compile_in(dir, 0);
	info = info_of(p);
	assert_int_equal(info.compiled, n); /* every damaged entry, none used */
	assert_int_equal(info.cache_hits, 0);
	check_result(p, x, out, 0);
	strata_program_destroy(p);
}

/* A bound that holds one program's kernels: compiling a second evicts the
 * entries used least recently. */
static void bounded_least_recently_used(void **state)
{
	struct strata_program *p;
	struct strata_program_info info;
	uint64_t one, bytes;
	uint32_t x, out;
	unsigned n;

	(void)state;
	out = build(0, &x);
	p = compile_in(dir, 0);
	n = entries(&one);
	strata_program_destroy(p);
	graph_teardown(NULL);
	graph_setup(NULL);
	out = build(3, &x);
	p = compile_in(dir, one + one / 2);
	check_result(p, x, out, 3);
	strata_program_destroy(p);
	assert_true(entries(&bytes) <= 2 * n);
	assert_true(bytes <= one + one / 2);
	/* The newest program's kernels stayed: compiling it again hits. */
	p = compile_in(dir, one + one / 2);
	info = info_of(p);
	assert_int_equal(info.compiled, 0);
	strata_program_destroy(p);
}

/* Two processes compile the same graph into one empty cache at once. */
static void two_processes_fill_one_cache(void **state)
{
	struct strata_program *p;
	pid_t kids[2];
	uint32_t x, out = build(0, &x);
	uint64_t bytes;
	int i, status;

	(void)state;
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			STRATA_COMPILE_OPTS(opts, .cache_dir = dir, .threads = 1);
			float got[3 * D], want[3 * D];
			struct strata_graph_tensor in = { x, xd, 3 * D * 4 }, a = { out, got, sizeof(got) },
						   b = { out, want, sizeof(want) };

			if (strata_graph_compile(test_graph, &opts, &p) || strata_program_run(p, 3, &in, 1, &a, 1) ||
			    strata_graph_eval_reference(test_graph, 3, &in, 1, &b, 1))
				_exit(1);
			for (unsigned j = 0; j < 3 * D; j++)
				if (!(got[j] - want[j] < 1e-5f && want[j] - got[j] < 1e-5f))
					_exit(2);
			strata_program_destroy(p);
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	p = compile_in(dir, 0);
	assert_int_equal(info_of(p).compiled, 0);
	assert_int_equal(entries(&bytes), info_of(p).objects); /* whole entries, no temporary files */
	strata_program_destroy(p);
}

/* A fresh process trusts the folder's record of the compiler only when it
 * matches; a stale or damaged one is proved again and rewritten. */
static void stale_toolchain_record_is_proved_again(void **state)
{
	char path[8192], line[4200];
	uint32_t x, out = build(0, &x);
	FILE *f;
	pid_t kid;
	int status;

	(void)state;
	strata_program_destroy(compile_in(dir, 0));
	snprintf(path, sizeof(path), "%s/toolchain", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0\n/usr/bin/not-a-compiler\n1 2 3 4.5\nfake 1.0\n", f);
	fclose(f);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		/* As a new process would: what this one remembered in memory
		 * is for another $PATH. */
		STRATA_COMPILE_OPTS(opts, .cache_dir = dir);
		struct strata_program *p;
		struct strata_program_info info = { .sz = sizeof(info) };
		char env[8192];

		snprintf(env, sizeof(env), "%s:/nonexistent", getenv("PATH"));
		setenv("PATH", env, 1);
		if (strata_graph_compile(test_graph, &opts, &p) || strata_program_info(p, &info))
			_exit(1);
		_exit(info.backend == STRATA_BACKEND_C && info.compiled == 0 ? 0 : 2);
	}
	assert_int_equal(waitpid(kid, &status, 0), kid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_null(strstr(line, "not-a-compiler"));
	(void)out;
}

/* No compiler: the interpreter runs, and says why. */
static void missing_compiler_falls_back(void **state)
{
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "");
	struct strata_program *p;
	struct strata_program_info info;
	uint32_t x, out = build(0, &x);

	(void)state;
	setenv("STRATA_CC", "/nonexistent/cc", 1);
	setenv("PATH", "/nonexistent", 1);
	p = compile_in(dir, 0);
	setenv("PATH", path, 1);
	unsetenv("STRATA_CC");
	free(path);
	info = info_of(p);
	assert_int_equal(info.backend, STRATA_BACKEND_INTERPRETER);
	assert_non_null(strstr(info.reason, "no working C compiler"));
	check_result(p, x, out, 0);
	strata_program_destroy(p);
}

static void bad_runs_are_refused(void **state)
{
	const int64_t is[] = { STRATA_DIM_SEQ }, ts[] = { 10, 4 };
	static float table[40];
	float o[8 * 4];
	int32_t ids[3] = { 1, 10, 2 };
	uint32_t x, out = build(0, &x), id_n, tab, emb, unmarked;
	struct strata_program *p;
	float buf[3 * D];

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, is, &id_n), 0);
	assert_int_equal(strata_graph_weight(test_graph, "table", STRATA_DTYPE_F32, 2, ts, table, &tab), 0);
	assert_int_equal(strata_graph_embedding(test_graph, tab, id_n, &emb), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, emb, &unmarked), 0);
	assert_int_equal(strata_graph_output(test_graph, emb), 0);
	p = compile_in(dir, 0);
	struct strata_graph_tensor in[2] = { { x, xd, 3 * D * 4 }, { id_n, ids, 3 * 4 } };
	struct strata_graph_tensor good = { out, buf, 3 * (D)*4 }, eo = { emb, o, 3 * 4 * 4 };

	assert_int_equal(strata_program_run(p, 0, in, 2, &good, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "seq is 0"));
	assert_int_equal(strata_program_run(p, 9, in, 2, &good, 1), -EINVAL);
	assert_int_equal(strata_program_run(p, 3, in, 1, &eo, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "ids"));
	in[0].bytes -= 4;
	assert_int_equal(strata_program_run(p, 3, in, 2, &good, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "bytes"));
	in[0].bytes += 4;
	struct strata_graph_tensor not_output = { unmarked, o, 3 * 4 * 4 };
	assert_int_equal(strata_program_run(p, 3, in, 2, &not_output, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "not marked as an output"));
	assert_int_equal(strata_program_run(p, 3, in, 2, &eo, 1), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "outside its table"));
	ids[1] = 9;
	assert_int_equal(strata_program_run(p, 3, in, 2, &eo, 1), 0);
	assert_int_equal(strata_program_error(p)[0], '\0');
	strata_program_destroy(p);
}

static void compile_refuses_a_graph_without_outputs(void **state)
{
	const int64_t xs[] = { 4 };
	struct strata_program *p = NULL;
	uint32_t x;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 1, xs, &x), 0);
	assert_int_equal(strata_graph_compile(test_graph, NULL, &p), -EINVAL);
	assert_null(p);
	assert_non_null(strstr(strata_graph_error(test_graph), "no node is marked as an output"));
	assert_int_equal(strata_graph_compile(NULL, NULL, &p), -EINVAL);
}

static void dump_shows_every_stage(void **state)
{
	struct strata_program *p;
	const char *text;
	uint32_t x;

	(void)state;
	build(0, &x);
	p = compile_in(dir, 0);
	assert_int_equal(strata_program_dump(p, &text), 0);
	assert_non_null(strstr(text, "# graph as built: 9 nodes"));
	assert_non_null(strstr(text, "# after constant folding"));
	assert_non_null(strstr(text, "# after dead-code elimination"));
	assert_non_null(strstr(text, "kernel 0: matmul, writes"));
	assert_non_null(strstr(text, "int strata_kernel("));
	assert_non_null(strstr(text, "# memory plan: arena"));
	strata_program_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(warm_cache_hits, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(damaged_entries_are_rebuilt, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(bounded_least_recently_used, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(two_processes_fill_one_cache, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(stale_toolchain_record_is_proved_again, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(missing_compiler_falls_back, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(bad_runs_are_refused, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(compile_refuses_a_graph_without_outputs, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(dump_shows_every_stage, fresh_dir, remove_dir),
	};
	unsigned i;

	for (i = 0; i < D * D; i++)
		w[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
	for (i = 0; i < D; i++)
		bias[i] = (float)i / D - 0.5f;
	for (i = 0; i < 8 * D; i++)
		xd[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
