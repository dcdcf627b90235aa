/* SPDX-License-Identifier: MIT */
/*
 * core/feature.c — strata_feature_check(): one table of checks, each with a
 * stable name, whether this build includes it, and what to do when it
 * fails.  Leaves (io/, bpf/, cuda/) own the probes of their own
 * dependencies; core only asks them and adds the advice.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <string.h>

#include <strata/feature.h>

#include "bpf/bpf_probe.h"
#include "config.h"
#include "core/core_int.h"
#include "core/feature_int.h"
#include "cuda/cuda_probe.h"
#include "io/uring_probe.h"

static void check_io_uring(const struct strata_rt *rt, struct strata_feature_report *r)
{
	(void)rt;
	r->status = st_io_uring_probe(r->detail, sizeof(r->detail));
	/* Say which engine model loads will use. */
	if (r->status == 0)
		snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
			 "; loads use io_uring");
	else
		snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
			 "; loads use the pread thread pool instead");
	if (r->status == -ENOSYS && !HAVE_LIBURING)
		FEATURE_FIX(r, "apt-get install liburing-dev and rebuild");
	else if (r->status == -EPERM)
		FEATURE_FIX(r, "sysctl kernel.io_uring_disabled=0, or allow io_uring_setup in the container's "
		       "seccomp profile");
	else if (r->status)
		FEATURE_FIX(r, "use Linux 5.10 or newer");
}

static void check_ebpf(const struct strata_rt *rt, struct strata_feature_report *r)
{
	(void)rt;
	r->status = st_bpf_probe_load(r->detail, sizeof(r->detail));
	if (r->status == -ENOSYS)
		FEATURE_FIX(r, "apt-get install libbpf-dev clang bpftool and rebuild");
	else if (r->status == -EPERM || r->status == -EACCES)
		FEATURE_FIX(r, "run as root or grant CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep <binary>)");
	else if (r->status)
		FEATURE_FIX(r, "use a kernel with CONFIG_BPF_SYSCALL and CONFIG_BPF_EVENTS");
}

static void check_btf(const struct strata_rt *rt, struct strata_feature_report *r)
{
	(void)rt;
	r->status = st_bpf_probe_btf(r->detail, sizeof(r->detail));
	if (r->status == -ENOSYS)
		FEATURE_FIX(r, "apt-get install libbpf-dev and rebuild");
	else if (r->status)
		FEATURE_FIX(r, "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (/sys/kernel/btf/vmlinux)");
}

static void check_cuda(const struct strata_rt *rt, struct strata_feature_report *r)
{
	(void)rt;
	r->status = st_cuda_probe_driver(r->detail, sizeof(r->detail));
	if (r->status == -ENOSYS)
		FEATURE_FIX(r, "install the CUDA toolkit headers (cuda.h, nvrtc.h) and rebuild");
	else if (r->status)
		FEATURE_FIX(r, "install the NVIDIA driver on a machine with an NVIDIA GPU");
}

static void check_nvrtc(const struct strata_rt *rt, struct strata_feature_report *r)
{
	(void)rt;
	r->status = st_cuda_probe_nvrtc(r->detail, sizeof(r->detail));
	if (r->status == -ENOSYS)
		FEATURE_FIX(r, "install the CUDA toolkit headers (cuda.h, nvrtc.h) and rebuild");
	else if (r->status)
		FEATURE_FIX(r, "install the CUDA toolkit's NVRTC and add its lib folder to ld.so.conf or LD_LIBRARY_PATH");
}

static void check_cc(const struct strata_rt *rt, struct strata_feature_report *r)
{
	char path[512], version[160];

	(void)rt;
	r->status = st_cc_find(path, sizeof(path), version, sizeof(version));
	if (r->status == 0) {
		st_fmt(r->detail, sizeof(r->detail), "%s: %s", path, version);
		return;
	}
	st_fmt(r->detail, sizeof(r->detail), "no working C compiler (tried $STRATA_CC, cc, gcc, clang): %s",
	       strata_strerror(r->status));
	FEATURE_FIX(r, "apt-get install gcc, or point STRATA_CC at a compiler; generated kernels need it");
}

struct check {
	const char *name;
	bool built;
	void (*run)(const struct strata_rt *rt, struct strata_feature_report *r);
};

static const struct check checks[STRATA_FEAT_COUNT] = {
	[STRATA_FEAT_IO_URING] = { "io_uring", HAVE_LIBURING, check_io_uring },
	[STRATA_FEAT_EBPF] = { "ebpf", HAVE_LIBBPF, check_ebpf },
	[STRATA_FEAT_BTF] = { "btf", HAVE_LIBBPF, check_btf },
	[STRATA_FEAT_CUDA_DRIVER] = { "cuda-driver", HAVE_CUDA_H, check_cuda },
	[STRATA_FEAT_NVRTC] = { "nvrtc", HAVE_CUDA_H, check_nvrtc },
	[STRATA_FEAT_THP] = { "thp", 1, st_check_thp },
	[STRATA_FEAT_HUGETLB] = { "hugetlb", 1, st_check_hugetlb },
	[STRATA_FEAT_NUMA] = { "numa", 1, st_check_numa },
	[STRATA_FEAT_MEMLOCK] = { "memlock", 1, st_check_memlock },
	[STRATA_FEAT_PSI] = { "psi", 1, st_check_psi },
	[STRATA_FEAT_CC] = { "cc", 1, check_cc },
};

int strata_feature_check(const struct strata_rt *rt, enum strata_feature_id id,
			 struct strata_feature_report *out)
{
	struct strata_feature_report r;

	if ((unsigned)id >= STRATA_FEAT_COUNT || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.id = id;
	r.name = checks[id].name;
	r.built = checks[id].built;
	checks[id].run(rt, &r);
	return st_copy_out(out, &r, sizeof(r));
}
