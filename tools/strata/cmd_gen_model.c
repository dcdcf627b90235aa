/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_gen_model.c — `strata gen-model`: a deterministic
 * Llama-architecture model for tests, benchmarks and the offline demo, in
 * Hugging Face's layout (config.json, safetensors, tokenizer.json) or as
 * one GGUF file (gen_model.c, gen_hf.c, gen_gguf.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen_model.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: strata gen-model --config NAME [--dtype f32|f16|bf16] [--format hf|gguf] [--shards N] -o OUT\n\n"
		   "  --config NAME   tiny-15m, small-110m or base-1b (shapes in bench-method.md)\n"
		   "  --dtype T       storage of the matrices (norms stay f32); default f32\n"
		   "  --format F      hf (default): OUT is a folder with config.json, model.safetensors\n"
		   "                  (or --shards N files and model.safetensors.index.json), tokenizer.json\n"
		   "                  and tokenizer_config.json; gguf: OUT is one GGUF file, q/k rows permuted\n"
		   "                  for adjacent rotary pairs as llama.cpp's converter does\n"
		   "  -o OUT          where to write it\n");
}

int cmd_gen_model(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "dtype", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' }, { "shards", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	const struct gen_config *c = NULL;
	enum gen_dtype d = GEN_F32;
	const char *out = NULL, *format = "hf";
	unsigned shards = 1;
	int opt, e;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (!(c = gen_config_find(optarg))) {
				fprintf(stderr, "strata gen-model: unknown config '%s' (tiny-15m, small-110m, base-1b)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (!strcmp(optarg, "f32"))
				d = GEN_F32;
			else if (!strcmp(optarg, "f16"))
				d = GEN_F16;
			else if (!strcmp(optarg, "bf16"))
				d = GEN_BF16;
			else {
				fprintf(stderr, "strata gen-model: --dtype is f32, f16 or bf16, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f': format = optarg; break;
		case 's':
			shards = (unsigned)atoi(optarg);
			if (shards < 1 || shards > 64) {
				fprintf(stderr, "strata gen-model: --shards is 1 to 64\n");
				return EXIT_USAGE;
			}
			break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!c || !out || optind < argc || (strcmp(format, "hf") && strcmp(format, "gguf"))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	e = strcmp(format, "gguf") ? gen_write_hf(out, c, d, shards) : gen_write_gguf(out, c, d);
	if (e) {
		fprintf(stderr, "strata gen-model: %s: %s\n", out, strerror(-e));
		if (!strcmp(format, "gguf"))
			remove(out);
		return 1;
	}
	fprintf(stderr, "gen-model: wrote %s (%s, %s, %s)\n", out, c->name, d == GEN_F32 ? "f32" : d == GEN_F16 ? "f16" : "bf16",
		format);
	return 0;
}
