/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_compile.c — `strata compile`: read a graph in strata's
 * text notation (core/graph/text.c; examples/graphs/), compile it, and say
 * what became of it.  --dump prints the graph after each pass, the fused
 * kernels with their C source, and the memory plan.  --run SEQ runs the
 * program on generated inputs and checks it against the reference
 * interpreter.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strata/strata.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: strata compile [--dump] [--run SEQ] [--threads N] [--no-fusion] [--interpret] GRAPH\n"
		   "  GRAPH          a graph in strata's text notation ('-': standard input)\n"
		   "  --dump         the graph after each pass, the kernels and their source, the memory plan\n"
		   "  --run SEQ      run at sequence length SEQ on generated inputs; compare with the reference\n"
		   "  --threads N    workers (default: one per core)\n"
		   "  --no-fusion    every op a kernel of its own\n"
		   "  --interpret    no code generation: the reference interpreter\n");
}

static char *read_all(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 4096;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap *= 2);

			if (!grown) {
				free(buf);
				buf = NULL;
			}
			buf = grown;
		}
	}
	if (buf)
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static size_t bytes_at(struct strata_graph *g, uint32_t node, uint32_t seq)
{
	int64_t shape[STRATA_MAX_DIMS];
	unsigned nd, i;
	size_t n = 4;

	strata_graph_shape(g, node, &nd, shape);
	for (i = 0; i < nd; i++)
		n *= (size_t)(shape[i] == STRATA_DIM_SEQ ? seq : shape[i]);
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Inputs: f32 in [-1, 1), i32 as 0, 1, 2, ... (valid ids and positions). */
static int run_and_check(struct strata_graph *g, struct strata_program *p, uint32_t seq)
{
	uint32_t n = strata_graph_nodes(g), id, nin = 0, nout = 0;
	struct strata_graph_tensor *in = calloc(n, sizeof(*in)), *got = calloc(n, sizeof(*got)),
				   *want = calloc(n, sizeof(*want));
	double worst = 0, best_time = 1e30;
	int rc = 0;
	unsigned i;

	for (id = 0; id < n; id++) {
		enum strata_op op;
		enum strata_dtype t;
		bool is_out;
		size_t b = bytes_at(g, id, seq);

		strata_graph_node_info(g, id, &op, &t, &is_out, NULL);
		if (op == STRATA_OP_INPUT) {
			in[nin] = (struct strata_graph_tensor){ id, malloc(b), b };
			for (i = 0; i < b / 4; i++) {
				if (t == STRATA_DTYPE_I32)
					((int32_t *)in[nin].data)[i] = (int32_t)i;
				else
					((float *)in[nin].data)[i] = (float)((i * 2654435761u) % 2000) / 1000.0f - 1.0f;
			}
			nin++;
		}
		if (is_out) {
			got[nout] = (struct strata_graph_tensor){ id, calloc(1, b), b };
			want[nout++] = (struct strata_graph_tensor){ id, calloc(1, b), b };
		}
	}
	for (i = 0; i < 5 && rc == 0; i++) {
		double t0 = now();

		if (strata_program_run(p, seq, in, nin, got, nout)) {
			fprintf(stderr, "strata compile: run: %s\n", strata_program_error(p));
			rc = 1;
		}
		best_time = now() - t0 < best_time ? now() - t0 : best_time;
	}
	if (rc == 0 && strata_graph_eval_reference(g, seq, in, nin, want, nout)) {
		fprintf(stderr, "strata compile: reference: %s\n", strata_graph_error(g));
		rc = 1;
	}
	for (i = 0; rc == 0 && i < nout; i++) {
		enum strata_dtype t;
		size_t k;

		strata_graph_node_info(g, got[i].node, NULL, &t, NULL, NULL);
		for (k = 0; k < got[i].bytes / 4; k++) {
			double a = t == STRATA_DTYPE_I32 ? ((int32_t *)got[i].data)[k] : ((float *)got[i].data)[k];
			double b = t == STRATA_DTYPE_I32 ? ((int32_t *)want[i].data)[k] : ((float *)want[i].data)[k];
			double e = fabs(a - b) / (1.0 + fabs(b));

			worst = e > worst || e != e ? e : worst;
		}
	}
	if (rc == 0) {
		struct strata_kernel_stats ks = { .sz = sizeof(ks) }, top[5];
		unsigned k, ntop = 0, j;

		printf("run at seq %u: %.3f ms (best of 5); outputs differ from the reference by at most %.3g "
		       "(relative, |a-b|/(1+|b|))\n",
		       seq, best_time * 1e3, worst);
		/* The kernels that took longest over the five runs. */
		for (k = 0; strata_program_kernel_stats(p, k, &ks) == 0; k++) {
			for (j = ntop; j > 0 && top[j - 1].seconds < ks.seconds; j--)
				if (j < 5)
					top[j] = top[j - 1];
			if (j < 5)
				top[j] = ks;
			ntop += ntop < 5;
		}
		for (j = 0; j < ntop; j++)
			printf("  %-12s %-10s %2u nodes  %8.3f ms  %7.2f GB/s\n", top[j].kind, top[j].op, top[j].nodes,
			       top[j].seconds / (double)top[j].runs * 1e3, top[j].gbps);
	}
	for (i = 0; i < nin; i++)
		free(in[i].data);
	for (i = 0; i < nout; i++) {
		free(got[i].data);
		free(want[i].data);
	}
	free(in), free(got), free(want);
	return rc == 0 && worst > 1e-3 ? 1 : rc;
}

int cmd_compile(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dump", no_argument, NULL, 'd' },	    { "run", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' }, { "no-fusion", no_argument, NULL, 'F' },
		{ "interpret", no_argument, NULL, 'I' },    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_COMPILE_OPTS(copts);
	struct strata_program_info info = { .sz = sizeof(info) };
	struct strata_program *p = NULL;
	struct strata_graph *g = NULL;
	struct strata_rt *rt = NULL;
	char error[512], *text, *end;
	const char *dump;
	long seq = 0;
	int dump_it = 0, c, rc = 1, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "dr:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dump_it = 1; break;
		case 'r':
			seq = strtol(optarg, &end, 10);
			if (*end || seq < 1) {
				fprintf(stderr, "strata compile: --run takes a sequence length >= 1, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			copts.threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end || copts.threads == 0) {
				fprintf(stderr, "strata compile: --threads takes a number >= 1, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F': copts.flags |= STRATA_COMPILE_NO_FUSION; break;
		case 'I': copts.flags |= STRATA_COMPILE_INTERPRET; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	text = read_all(argv[optind]);
	if (!text) {
		fprintf(stderr, "strata compile: %s: %s\n", argv[optind], strerror(errno ? errno : ENOMEM));
		return 1;
	}
	err = strata_rt_create(&ropts, &rt);
	if (err) {
		fprintf(stderr, "strata compile: runtime: %s\n", strata_strerror(err));
		free(text);
		return 1;
	}
	err = strata_graph_parse(rt, text, &g, error, sizeof(error));
	free(text);
	if (err) {
		fprintf(stderr, "strata compile: %s: %s\n", argv[optind], error[0] ? error : strata_strerror(err));
		goto out;
	}
	err = strata_graph_compile(g, &copts, &p);
	if (err) {
		fprintf(stderr, "strata compile: %s: %s\n", argv[optind], strata_graph_error(g));
		goto out;
	}
	strata_program_info(p, &info);
	if (dump_it && strata_program_dump(p, &dump) == 0)
		fputs(dump, stdout);
	printf("%u nodes as built, %u after the passes, in %u kernels (%u objects: %u compiled, %u from the cache) "
	       "in %.1f ms\n",
	       strata_graph_nodes(g), info.nodes, info.kernels, info.objects, info.compiled, info.cache_hits,
	       info.compile_ms);
	printf("arena %llu bytes for max_seq, live bound %llu (%.3fx), %u written in place; %s, %u threads\n",
	       (unsigned long long)info.arena_bytes, (unsigned long long)info.live_bound,
	       info.live_bound ? (double)info.arena_bytes / (double)info.live_bound : 1.0, info.in_place,
	       info.backend == STRATA_BACKEND_C ? info.compiler : info.reason, info.threads);
	printf("kernels move ~%llu bytes at max_seq and bring in ~%llu (reads and reads for ownership)",
	       (unsigned long long)info.bytes_moved, (unsigned long long)info.fill_bytes);
	if (info.packed_bytes)
		printf("; %llu bytes of weights packed for decode", (unsigned long long)info.packed_bytes);
	printf("\n");
	rc = 0;
	if (seq)
		rc = run_and_check(g, p, (uint32_t)seq);
out:
	strata_program_destroy(p);
	strata_graph_destroy(g);
	strata_rt_destroy(rt);
	return rc;
}
