/* SPDX-License-Identifier: MIT */
/*
 * strata/version.h — the library version, at compile time and at run time.
 *
 * The macros describe the headers a program was built against; the
 * functions describe the library it is running with.  A program that needs
 * a feature added in a later minor version compares strata_version_number()
 * with STRATA_VERSION_NUMBER at start-up.
 */
#ifndef STRATA_VERSION_H
#define STRATA_VERSION_H

#include <stdbool.h>

#include <strata/common.h>

#define STRATA_VERSION_MAJOR 0
#define STRATA_VERSION_MINOR 1
#define STRATA_VERSION_PATCH 0

/* major << 16 | minor << 8 | patch: comparable with < and >. */
#define STRATA_VERSION_NUMBER \
	((STRATA_VERSION_MAJOR << 16) | (STRATA_VERSION_MINOR << 8) | STRATA_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH" of the running library; a static string. */
STRATA_API const char *strata_version(void);

/* STRATA_VERSION_NUMBER of the running library. */
STRATA_API unsigned strata_version_number(void);

/* A library strata was built with. */
struct strata_build_dep {
	const char *name; /* "hwloc", "liburing", ... */
	const char *version; /* its version, or NULL when this build lacks it */
	bool required; /* strata cannot build without it */
	const char *purpose; /* what strata uses it for */
};

/*
 * strata_build_deps() - the libraries this build of strata was compiled
 * against.  Writes a pointer to a static array into *@out.
 * Return: the number of entries (> 0), or -EINVAL when @out is NULL.
 */
STRATA_API int strata_build_deps(const struct strata_build_dep **out);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_VERSION_H */
