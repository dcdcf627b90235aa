/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/main.c — the `strata` command: subcommand dispatch, --help
 * and --version.  It uses only the public headers, like any other program
 * linking libstrata.
 */
#include <stdio.h>
#include <string.h>

#include <strata/strata.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "info", cmd_info, "topology, CPU features, measured bandwidth, versions  [--json] [--probe]" },
	{ "doctor", cmd_doctor, "which features work here, and how to fix the others  [--json]" },
	{ "ps", cmd_ps, "processes using strata that can be attached to" },
	{ "top", cmd_top, "live view of a process: pools, I/O, pressure, scheduler  PID [-n N] [--json]" },
	{ "trace", cmd_trace, "record a process's events for ui.perfetto.dev  PID [-d SECONDS] [-o FILE]" },
	{ "metrics", cmd_metrics, "a process's metrics in Prometheus text  PID" },
	{ "telemetry", cmd_telemetry, "the machine's I/O, pressure, reclaim and faults, live  [--json] [-i MS] [-n N]" },
	{ "compile", cmd_compile, "compile a graph (text notation); show passes, kernels, plan  [--dump] [--run SEQ] GRAPH" },
	{ "load", cmd_load, "stream a model's tensors into memory; GB/s and checksums  [--verify] PATH..." },
	{ "gen-model", cmd_gen_model, "write a deterministic Llama model  --config tiny-15m|small-110m|base-1b -o FILE" },
};

void cli_usage(int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	size_t i;

	fprintf(f, "usage: strata [--help] [--version] <command> [<args>]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'strata <command> --help' describes a command.  STRATA_LOG=debug|info|warn|error sets the "
		   "log level.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		cli_usage(1);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cli_usage(0);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("strata %s\n", strata_version());
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "strata: unknown command '%s'\n\n", argv[1]);
	cli_usage(1);
	return EXIT_USAGE;
}
