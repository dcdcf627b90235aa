/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/main.c — strata-serve: serve a Llama-architecture model
 * over an OpenAI-style HTTP API, or complete one prompt on the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "generate.h"
#include "server.h"
#include "vocab.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: strata-serve --model PATH [options]\n\n"
		"  --model PATH        a GGUF file (general.architecture = llama)\n"
		"  --listen ADDR:PORT  serve HTTP there (default 127.0.0.1:8080; loopback only)\n"
		"  --threads N         compute threads (default: one per core)\n"
		"  --node N            NUMA node for the weights (default: local)\n"
		"  --ctx N             context length kept in the KV cache (default: min(trained, 2048))\n"
		"  --int8-activations  round activations to 8 bits against Q8_0/Q4_0/Q4_1 weights, as llama.cpp\n"
		"                      does: prefill about twice as fast (default: f32's precision)\n"
		"  --bf16-activations  round prefill's activations to bf16 against bf16 weights, as PyTorch does:\n"
		"                      twice the multiply-adds a cycle with AVX512_BF16 (default: f32)\n"
		"  --queue N           requests waiting at most (default 16; more get 503)\n"
		"  --served-model-name NAME  the model's id in the API (default: the file's name)\n"
		"  --accept-any-model  serve requests that name another model (default: 404 model_not_found)\n"
		"  --max-connections N connections open at most (default 1024; more get 503)\n"
		"  --header-timeout S  seconds to send a request's header (default 10)\n"
		"  --body-timeout S    seconds to send its body (default 30)\n"
		"  --idle-timeout S    seconds a kept-alive connection may idle (default 30)\n"
		"  --drain-timeout S   after SIGTERM, seconds before running generations are cancelled (default 30)\n"
		"  --prompt TEXT       complete TEXT, print it and exit (no server)\n"
		"  --chat TEXT         answer TEXT as a chat message, print it and exit\n"
		"  -n N                tokens to generate with --prompt / --chat (default 128)\n"
		"  --temperature T     0 is greedy (default 0)    --top-p P (default 1)    --seed S\n");
}

/* Print text as it comes. */
static int print_text(void *user, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks)
{
	(void)user, (void)toks, (void)ntoks;
	fwrite(text, 1, len, stdout);
	fflush(stdout);
	return 0;
}

/* --prompt / --chat: one completion on the terminal. */
static int complete_once(struct llm_model *m, const char *text, bool chat, const struct llm_gen_opts *go)
{
	int32_t *ids = NULL;
	uint32_t n = 0, cap = 0;
	char *rendered = NULL;
	struct llm_gen_result r;
	int e = 0;

	if (chat) {
		struct llm_msg msg = { "user", text };

		e = llm_chat_render(m->vocab, &msg, 1, &rendered);
		if (e) {
			fprintf(stderr, "strata-serve: this model has no chat template this example knows\n");
			return 1;
		}
		text = rendered;
	}
	if (m->vocab->add_bos && m->vocab->bos >= 0 && !chat)
		e = (ids = malloc(sizeof(*ids))) ? (ids[0] = m->vocab->bos, n = cap = 1, 0) : -ENOMEM;
	if (!e)
		e = llm_tokenize(m->vocab, text, strlen(text), chat, &ids, &n, &cap);
	if (!e)
		e = llm_generate(m, ids, n, go, print_text, NULL, &r);
	printf("\n");
	if (e) {
		fprintf(stderr, "strata-serve: generation failed: %s (%s)\n", strata_strerror(e),
			strata_program_error(m->prog));
	} else {
		fprintf(stderr,
			"strata-serve: %u prompt tokens in %.3f s (%.1f tokens/s), %u generated in %.3f s (%.1f tokens/s), "
			"finish: %s\n",
			r.prompt_tokens, r.prefill_s, r.prompt_tokens / (r.prefill_s > 0 ? r.prefill_s : 1e-9),
			r.completion_tokens, r.decode_s,
			r.completion_tokens > 1 ? (r.completion_tokens - 1) / (r.decode_s > 0 ? r.decode_s : 1e-9) : 0.0,
			r.finish_reason);
	}
	free(rendered);
	free(ids);
	return e ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },  { "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' }, { "node", required_argument, NULL, 'N' },
		{ "ctx", required_argument, NULL, 'c' },	   { "queue", required_argument, NULL, 'q' },
		{ "prompt", required_argument, NULL, 'p' },  { "chat", required_argument, NULL, 'C' },
		{ "temperature", required_argument, NULL, 'T' }, { "top-p", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 'S' },	   { "help", no_argument, NULL, 'h' },
		{ "served-model-name", required_argument, NULL, 'M' },
		{ "accept-any-model", no_argument, NULL, 'A' },
		{ "max-connections", required_argument, NULL, 'X' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "body-timeout", required_argument, NULL, 'B' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "drain-timeout", required_argument, NULL, 'D' },
		{ "int8-activations", no_argument, NULL, '8' },
		{ "bf16-activations", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct llm_opts lo = { .node = -1 };
	struct llm_gen_opts go = { .max_tokens = 128, .top_p = 1 };
	struct server_opts so = { .listen = "127.0.0.1:8080", .queue = 16, .drain_timeout = 30 };
	const char *model = NULL, *prompt = NULL, *chat = NULL;
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_CACHED);
	struct strata_rt *rt;
	struct llm_model *m;
	char err[512] = "";
	double t0;
	int c, e;

	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'l': so.listen = optarg; break;
		case 't': lo.threads = (unsigned)atoi(optarg); break;
		case 'N': lo.node = atoi(optarg); break;
		case 'c': lo.ctx = (uint32_t)atoi(optarg); break;
		case 'q': so.queue = (unsigned)atoi(optarg); break;
		case 'p': prompt = optarg; break;
		case 'C': chat = optarg; break;
		case 'n': go.max_tokens = (uint32_t)atoi(optarg); break;
		case 'T': go.temperature = strtof(optarg, NULL); break;
		case 'P': go.top_p = strtof(optarg, NULL); break;
		case 'S': go.seed = strtoull(optarg, NULL, 0); break;
		case 'M': so.model_name = optarg; break;
		case 'A': so.accept_any_model = true; break;
		case 'X': so.max_conns = (unsigned)atoi(optarg); break;
		case 'H': so.header_timeout = (unsigned)atoi(optarg); break;
		case 'B': so.body_timeout = (unsigned)atoi(optarg); break;
		case 'I': so.idle_timeout = (unsigned)atoi(optarg); break;
		case 'D': so.drain_timeout = (unsigned)atoi(optarg); break;
		case '8': lo.int8_activations = true; break;
		case 'b': lo.bf16_activations = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!model || optind < argc) {
		usage(stderr);
		return 2;
	}
	if ((e = strata_rt_create(&ropts, &rt))) {
		fprintf(stderr, "strata-serve: cannot start the runtime: %s\n", strata_strerror(e));
		return 1;
	}
	t0 = llm_now();
	if ((e = llm_open(rt, model, &lo, &m, err, sizeof(err)))) {
		fprintf(stderr, "strata-serve: %s\n", err[0] ? err : strata_strerror(e));
		strata_rt_destroy(rt);
		return 1;
	}
	fprintf(stderr, "strata-serve: %s: %lld layers, %lld dims, %lld heads (%lld kv), vocab %lld, context %u; ready to run in %.2f s\n",
		model, (long long)m->hp.layers, (long long)m->hp.dim, (long long)m->hp.heads, (long long)m->hp.kv_heads,
		(long long)m->hp.vocab, m->ctx, llm_now() - t0);
	if (prompt || chat)
		e = complete_once(m, prompt ? prompt : chat, chat != NULL, &go);
	else
		e = server_run(m, &so) ? 1 : 0;
	llm_close(m);
	strata_rt_destroy(rt);
	return e;
}
