/* SPDX-License-Identifier: MIT */
/*
 * strata/common.h — what every public header shares: the export macro,
 * error codes and strata_strerror().
 *
 * Every fallible strata function returns 0 (or a count >= 0) on success and a
 * negative errno on failure, and writes its out-parameters only on success.
 * Codes strata defines itself live in the reserved range
 * [STRATA_ERRNO_BASE, STRATA_ERRNO_BASE + 100), far above any kernel errno.
 */
#ifndef STRATA_COMMON_H
#define STRATA_COMMON_H

#if defined(__GNUC__)
#define STRATA_API __attribute__((visibility("default")))
#else
#define STRATA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_ERRNO_BASE 4000

/* strata's own error codes; functions return them negated, like errno. */
enum strata_errno {
	/* Input data (a model file, a cache file, an XML topology) is malformed. */
	STRATA_EFORMAT = STRATA_ERRNO_BASE + 1,
	/* Data no longer matches what was read before: a probe or cache of
	 * another machine or format version, or a model file that shrank after
	 * its header was read. */
	STRATA_ESTALE = STRATA_ERRNO_BASE + 2,
	/* The topology describes another machine (synthetic or loaded from XML),
	 * so it cannot be measured or bound to. */
	STRATA_ENOTHERE = STRATA_ERRNO_BASE + 3,
	STRATA_ERRNO_END = STRATA_ERRNO_BASE + 4,
};

/*
 * strata_strerror() - describe an error code.
 * @err: a code as returned by strata (negative) or its absolute value.
 *
 * Return: a static, thread-safe string; never NULL.  Unknown codes give
 * "unknown error".
 */
STRATA_API const char *strata_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_COMMON_H */
