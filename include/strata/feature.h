/* SPDX-License-Identifier: MIT */
/*
 * strata/feature.h — what works on this machine, and how to fix what does
 * not.  `strata doctor` prints these reports.
 *
 * Each check asks the real thing: io_uring by setting up a ring, eBPF by
 * loading a trivial program, CUDA by loading the driver and counting
 * devices, the C compiler by compiling a shared object.  A check may take up
 * to a few hundred milliseconds (the compiler check is the slowest).
 */
#ifndef STRATA_FEATURE_H
#define STRATA_FEATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strata_rt;

enum strata_feature_id {
	STRATA_FEAT_IO_URING = 0,
	STRATA_FEAT_EBPF = 1, /* loading programs: privileges, kernel support */
	STRATA_FEAT_BTF = 2, /* kernel BTF, needed for CO-RE programs */
	STRATA_FEAT_CUDA_DRIVER = 3,
	STRATA_FEAT_NVRTC = 4,
	STRATA_FEAT_THP = 5, /* transparent huge pages */
	STRATA_FEAT_HUGETLB = 6, /* reserved hugetlb pages */
	STRATA_FEAT_NUMA = 7,
	STRATA_FEAT_MEMLOCK = 8, /* locking (pinning) host memory */
	STRATA_FEAT_PSI = 9, /* /proc/pressure, the unprivileged telemetry */
	STRATA_FEAT_CC = 10, /* a C compiler for CPU code generation */
	STRATA_FEAT_COUNT = 11,
};

struct strata_feature_report {
	size_t sz;
	enum strata_feature_id id;
	const char *name; /* short, stable: "io_uring", "cuda-driver", ... */
	/* 0 when usable; otherwise why not, as a negative errno: -ENOSYS (built
	 * without support or kernel too old), -EPERM (privilege or policy),
	 * -ENODEV (no such hardware), -ENOENT (a file or program is missing). */
	int status;
	bool built; /* this build of strata includes support */
	char detail[256]; /* what was found, e.g. "kernel 6.1, 2 devices" */
	char fix[256]; /* what to do about it; empty when status is 0 */
};

/*
 * strata_feature_check() - run check @id.
 * @rt: a runtime (its topology answers the NUMA check); may be NULL, in
 *      which case the NUMA check reads sysfs.
 * Return: 0 when the report was written (whatever the feature's status);
 * -EINVAL for a bad @id, @out or @out->sz.
 */
STRATA_API int strata_feature_check(const struct strata_rt *rt, enum strata_feature_id id,
				    struct strata_feature_report *out);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_FEATURE_H */
