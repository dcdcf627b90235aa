/* SPDX-License-Identifier: MIT */
/* base/version.c — the running library's version and what it was built with. */
#include <errno.h>
#include <stddef.h>

#include <strata/version.h>

#include "config.h"

#define ST_STR2(x) #x
#define ST_STR(x) ST_STR2(x)
#define OPTIONAL_VERSION(have, v) ((have) ? (v) : NULL)

const char *strata_version(void)
{
	return ST_STR(STRATA_VERSION_MAJOR) "." ST_STR(STRATA_VERSION_MINOR) "." ST_STR(STRATA_VERSION_PATCH);
}

unsigned strata_version_number(void)
{
	return STRATA_VERSION_NUMBER;
}

/* Versions come from pkg-config at build time, through config.h. */
static const struct strata_build_dep build_deps[] = {
	{ "hwloc", STRATA_HWLOC_VERSION, true, "topology: cores, caches, NUMA nodes, PCI locality; binding" },
	{ "jansson", STRATA_JANSSON_VERSION, true, "JSON: probe cache, safetensors headers, CLI output" },
	{ "liburing", OPTIONAL_VERSION(HAVE_LIBURING, STRATA_LIBURING_VERSION), false, "io_uring I/O engine" },
	{ "libbpf", OPTIONAL_VERSION(HAVE_LIBBPF, STRATA_LIBBPF_VERSION), false, "eBPF telemetry collectors" },
	{ "cuda-headers", OPTIONAL_VERSION(HAVE_CUDA_H, "yes"), false,
	  "CUDA driver and NVRTC prototypes (the libraries are loaded with dlopen)" },
};

int strata_build_deps(const struct strata_build_dep **out)
{
	if (!out)
		return -EINVAL;
	*out = build_deps;
	return (int)(sizeof(build_deps) / sizeof(build_deps[0]));
}
