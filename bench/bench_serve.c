/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_serve.c — the serving engine's benchmarks (make bench-serve).
 *
 *   serve.real    SmolLM2-135M-Instruct (Q4_1 GGUF): prefill of a prompt
 *                 of up to 64 tokens and 64 greedy decode steps, against
 *                 llama.cpp's own llama-bench (built by
 *                 tools/build-llama-cpp.sh) on the same file, tokens and
 *                 threads; the greedy tokens against llama-server's (driven
 *                 by bench/llama_cpp_serve.py), the peer's top-two logit gap
 *                 at the first divergence; strata in both of its modes
 *                 (activations at f32's precision, and rounded to 8 bits)
 *   serve.pp      the same file: prefill alone of 8, 64 and 512 tokens
 *                 (the matmuls' M) against llama-bench's pp, both modes
 *   serve.decode  small-110m (generated, f32 and bf16): decode tokens/s
 *                 against the bound the triad bandwidth sets (weight bytes
 *                 read per token / triad bytes per second)
 *   serve.prefill small-110m (f32, Hugging Face layout): a 256-token prompt
 *                 against PyTorch eager on the same weights
 *   serve.ttft    base-1b (bf16): time to the first token from a cold page
 *                 cache, weights streamed under the compute (forced)
 *                 against loaded first, and what the runtime chooses here
 *   serve.rss     peak RSS serving small-110m against weights + KV cache +
 *                 arena
 *   serve.tokenize 1 MiB prompts of twelve shapes (one letter, spaces,
 *                 words, digits, newlines, punctuation, CJK, emoji,
 *                 invalid bytes, …) through SmolLM2's tokenizer, against
 *                 the one-second goal; every result must spell the text
 *
 * The engine is the example's own code (examples/serve), linked in; the
 * llama.cpp comparisons (serve.real, serve.pp) live in bench_serve_llama.c.
 *   bench_serve [real|pp|decode|prefill|ttft|rss|tokenize ...]
 */
#include "bench_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "sample.h"
#include "vocab.h"

struct strata_rt *rt;
const char *build = "build/release";
int failed;

const char PROMPT[] =
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

struct llm_model *open_model_as(const char *path, unsigned threads, uint32_t ctx, bool int8)
{
	struct llm_opts lo = { .node = -1, .threads = threads, .ctx = ctx, .int8_activations = int8 };
	struct llm_model *m;
	char err[512] = "";

	if (llm_open(rt, path, &lo, &m, err, sizeof(err))) {
		fprintf(stderr, "bench_serve: %s\n", err);
		exit(1);
	}
	strata_load_wait(m->load, -1);
	return m;
}

struct llm_model *open_model(const char *path, unsigned threads, uint32_t ctx)
{
	return open_model_as(path, threads, ctx, false);
}

/* One repetition on @m: @n prompt tokens from scratch, then @steps greedy
 * steps; tokens/s of each phase, the greedy tokens into @out and, with
 * @all, the logits each token was chosen from into @all [steps][vocab]. */
void measure_once(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, float *logits, double *prefill,
		  double *decode, int32_t *out, float *all)
{
	double t0, t1, t2;

	m->ncached = 0; /* a fresh prompt each time: no prefix reuse */
	t0 = bench_now();
	llm_prefill(m, ids, n, logits);
	t1 = bench_now();
	for (int s = 0; s < steps; s++) {
		int32_t tok = llm_argmax(logits, m->hp.vocab);

		if (out)
			out[s] = tok;
		if (all)
			memcpy(all + (size_t)s * m->hp.vocab, logits, (size_t)m->hp.vocab * 4);
		llm_step(m, tok, logits);
	}
	t2 = bench_now();
	*prefill = n / (t1 - t0);
	*decode = steps / (t2 - t1);
}

/* Median prefill and decode tokens/s of @m: @n prompt tokens from scratch,
 * then @steps greedy steps; the greedy tokens into @out. */
void measure(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, double *prefill, double *decode,
	     int32_t *out)
{
	float *logits = malloc((size_t)m->hp.vocab * 4);
	double p[REPS], d[REPS], pw, dw;

	measure_once(m, ids, n, steps, logits, &pw, &dw, NULL, NULL); /* warm-up */
	for (int r = 0; r < REPS; r++)
		measure_once(m, ids, n, steps, logits, &p[r], &d[r], out, NULL);
	*prefill = bench_median(p, REPS);
	*decode = bench_median(d, REPS);
	free(logits);
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
	char cmd[1024], line[256], peer[512] = "unknown";
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
	bench_peer_config(f, peer, sizeof(peer));
	if (f)
		pclose(f);
	if (torch_ms <= 0)
		printf("{\"bench\":\"serve.prefill\",\"skipped\":\"PyTorch not available (python3-torch)\"}\n");
	else
		printf("{\"bench\":\"serve.prefill\",\"case\":\"small-110m f32, 256-token prompt, 2t\",\"metric\":"
		       "\"time\",\"unit\":\"ms\",\"value\":%.1f,\"baseline\":\"pytorch eager\",\"baseline_value\":%.1f,"
		       "\"ratio\":%.3f,\"speedup\":%.2f,\"better\":\"lower\",\"goal_speedup\":2,\"same_argmax\":%s,"
		       "\"reps\":%d,\"peer_config\":\"%s\"}\n",
		       tmed, torch_ms, tmed / torch_ms, torch_ms / tmed, ours == torch_argmax ? "true" : "false", REPS, peer);
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
static double ttft(const char *path, int wait, double *load_s)
{
	struct llm_opts lo = { .node = -1, .ctx = 256, .stream_overlap = !wait };
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
	*load_s = wait ? bench_now() - t0 : 0;
	logits = malloc((size_t)m->hp.vocab * 4);
	llm_prefill(m, ids, 32, logits);
	llm_argmax(logits, m->hp.vocab);
	t = bench_now() - t0;
	free(logits);
	llm_close(m);
	return t;
}

/* Whether the runtime, left to choose, loads first on this machine. */
static bool runtime_loads_first(const char *path)
{
	struct llm_opts lo = { .node = -1, .ctx = 256 };
	struct strata_program_info info = { .sz = sizeof(info) };
	struct llm_model *m;
	char err[512] = "";
	int32_t ids[4] = { 5, 6, 7, 8 };
	float *logits;

	uncache(path);
	if (llm_open(rt, path, &lo, &m, err, sizeof(err))) {
		fprintf(stderr, "bench_serve: %s\n", err);
		exit(1);
	}
	logits = malloc((size_t)m->hp.vocab * 4);
	llm_prefill(m, ids, 4, logits);
	strata_program_info(m->prog, &info);
	free(logits);
	llm_close(m);
	return info.stream_loaded_first > 0;
}

static void bench_ttft(void)
{
	char path[512];
	double over[4], after[4], load[4], none;

	generated("base-1b", "bf16", path, sizeof(path));
	ttft(path, 1, &none); /* kernels compiled and cached: both runs find them */
	/* Over, after, after, over, twice: on the VMs here every other open
	 * of the file loads slower (1.0 s, then 1.8 s, in system time: the
	 * same in both modes), and strict alternation gave one mode all the
	 * slow loads, the sign of the saving flipping from process to
	 * process. */
	for (int r = 0; r < 4; r++) {
		if (r % 2 == 0) {
			over[r] = ttft(path, 0, &none);
			after[r] = ttft(path, 1, &load[r]);
		} else {
			after[r] = ttft(path, 1, &load[r]);
			over[r] = ttft(path, 0, &none);
		}
	}
	double o = bench_median(over, 4), a = bench_median(after, 4);
	bool first = runtime_loads_first(path);

	printf("{\"bench\":\"serve.ttft\",\"case\":\"base-1b bf16, 32-token prompt, cold page cache\",\"metric\":"
	       "\"time_to_first_token\",\"unit\":\"s\",\"value\":%.3f,\"baseline\":\"load, then compute\","
	       "\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"lower\",\"saved\":%.3f,\"goal_saved\":0.30,"
	       "\"reps\":4,\"overlapped_s\":[%.3f,%.3f,%.3f,%.3f],\"load_first_s\":[%.3f,%.3f,%.3f,%.3f],"
	       "\"of_which_load_s\":[%.3f,%.3f,%.3f,%.3f],\"runtime_chooses\":\"%s\"}\n",
	       o, a, o / a, 1 - o / a, over[0], over[1], over[2], over[3], after[0], after[1], after[2], after[3], load[0],
	       load[1], load[2], load[3], first ? "load first (no CPU to spare for the loader)" : "overlap");
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

/* ---- serve.tokenize ------------------------------------------------------- */

/* Whether @ids spell @text (after invalid bytes became U+FFFD). */
static int spells(const struct llm_vocab *v, const int32_t *ids, uint32_t n, const char *text, size_t len)
{
	size_t clean_len, at = 0;
	char *clean = llm_utf8_clean(text, len, &clean_len), piece[256];
	int ok = clean != NULL;

	for (uint32_t i = 0; i < n && ok; i++) {
		int b = llm_token_bytes(v, ids[i], false, piece, sizeof(piece));

		ok = b >= 0 && b <= (int)sizeof(piece) && at + (size_t)b <= clean_len && !memcmp(clean + at, piece, (size_t)b);
		at += b > 0 ? (size_t)b : 0;
	}
	ok = ok && at == clean_len;
	free(clean);
	return ok;
}

static void bench_tokenize(void)
{
	static const struct {
		const char *name, *unit;
	} shapes[] = {
		{ "one letter", "a" },	   { "spaces", " " },	       { "words", "word " },
		{ "digits", "1" },	   { "newlines", "\n" },	       { "punctuation", "!" },
		{ "white space mix", "  \n\t" }, { "accented", "\xc3\xa9" }, { "CJK", "\xe6\x97\xa5\xe6\x9c\xac" },
		{ "emoji", "\xf0\x9f\x9a\x80" }, { "letters, digits, spaces", "a1 " }, { "invalid bytes", "\xff" },
	};
	const size_t size = 1u << 20;
	char path[1024] = "", err[256] = "the file does not open", *text = malloc(size + 8);
	const char *paths[] = { path };
	struct strata_model *file = NULL;
	struct llm_vocab *v = NULL;

	if (!text || !real_model("serve.tokenize", path, sizeof(path))) {
		free(text);
		return;
	}
	if (strata_model_open(paths, 1, NULL, &file) || llm_vocab_gguf(file, path, 49152, &v, err, sizeof(err))) {
		for (char *q = err; *q; q++) /* the reason goes inside a JSON string */
			*q = *q == '"' || *q == '\\' ? '\'' : *q;
		printf("{\"bench\":\"serve.tokenize\",\"skipped\":\"SmolLM2's vocabulary does not open: %s\"}\n", err);
		strata_model_close(file);
		free(text);
		return;
	}
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		size_t ul = strlen(shapes[k].unit), len = 0;
		double t[REPS];
		uint32_t ntok = 0;
		int ok = 1;

		while (len + ul <= size)
			memcpy(text + len, shapes[k].unit, ul), len += ul;
		for (int r = -1; r < REPS; r++) { /* one warm-up */
			int32_t *ids = NULL;
			uint32_t n = 0, cap = 0;
			double t0 = bench_now();

			ok = ok && llm_tokenize(v, text, len, false, &ids, &n, &cap) == 0;
			if (r >= 0)
				t[r] = bench_now() - t0;
			else
				ok = ok && spells(v, ids, n, text, len);
			ntok = n;
			free(ids);
		}
		double med = bench_median(t, REPS);

		failed |= !ok;
		printf("{\"bench\":\"serve.tokenize\",\"case\":\"1 MiB of %s\",\"metric\":\"seconds\",\"unit\":\"s\","
		       "\"value\":%.4f,\"baseline\":\"goal\",\"baseline_value\":1.0,\"ratio\":%.4f,\"better\":\"lower\","
		       "\"ok\":%s,\"min\":%.4f,\"max\":%.4f,\"reps\":%d,\"bytes\":%zu,\"tokens\":%u}\n",
		       shapes[k].name, med, med, ok ? "true" : "false", t[0], t[REPS - 1], REPS, len, ntok);
		fflush(stdout);
	}
	llm_vocab_free(v);
	strata_model_close(file);
	free(text);
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
	printf("{\"bench\":\"serve\",\"cpu\":\"%s\",\"cores\":%d}\n", strata_topo_cpu_model(strata_rt_topo(rt)),
	       strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_CORES));
	fflush(stdout);
#define WANT(name) (argc < 2 || wants(argc, argv, name))
	if (WANT("real"))
		bench_real();
	if (WANT("pp"))
		bench_pp();
	if (WANT("decode"))
		bench_decode();
	if (WANT("prefill"))
		bench_prefill();
	if (WANT("rss"))
		bench_serve_rss(argv[0]);
	if (WANT("ttft"))
		bench_ttft();
	if (WANT("tokenize"))
		bench_tokenize();
	strata_rt_destroy(rt);
	return failed;
}
