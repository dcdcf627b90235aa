/* SPDX-License-Identifier: MIT */
/*
 * base/error.c — strata_strerror(): one table for strata's own codes, the C
 * library's thread-safe descriptions for errno values.
 */
#include <string.h>

#include <strata/common.h>

static const char *const own_errors[] = {
	[STRATA_EFORMAT - STRATA_ERRNO_BASE] = "malformed input data",
	[STRATA_ESTALE - STRATA_ERRNO_BASE] = "stale data: from another machine or format version, or a file changed since it was read",
	[STRATA_ENOTHERE - STRATA_ERRNO_BASE] = "topology does not describe this machine",
};

const char *strata_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	if (err > STRATA_ERRNO_BASE && err < STRATA_ERRNO_END) {
		s = own_errors[err - STRATA_ERRNO_BASE];
		return s ? s : "unknown error";
	}
	/* strerrordesc_np() returns a static string and NULL for unknown values,
	 * unlike strerror(), which may format into a shared buffer. */
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
