/* SPDX-License-Identifier: MIT */
/*
 * strata/log.h — where the library's messages go.
 *
 * strata never writes to stdout or stderr by itself: every message passes
 * through one process-wide callback.  The default callback writes
 * "strata: <level>: <message>" lines to stderr; an application replaces it
 * to route messages into its own logger.  The threshold starts from the
 * environment variable STRATA_LOG (debug, info, warn, error or off; warn when
 * unset) and can be changed at any time.
 */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum strata_log_level {
	STRATA_LOG_DEBUG = 0,
	STRATA_LOG_INFO = 1,
	STRATA_LOG_WARN = 2,
	STRATA_LOG_ERROR = 3,
	STRATA_LOG_OFF = 4, /* as a threshold: deliver nothing */
};

/*
 * A log callback.  @msg is one line without a trailing newline, valid only
 * during the call.  It may be called from any thread, concurrently; it must
 * not call back into strata_log_set_*().
 */
typedef void (*strata_log_fn)(enum strata_log_level level, const char *msg, void *user);

/*
 * strata_log_set_callback() - replace the log callback.
 * @fn:   the new callback, or NULL to restore the default (stderr).
 * @user: passed to every call of @fn.
 *
 * Thread-safe.  Messages being delivered while the callback changes go to
 * either the old or the new one, never to a mix of @fn and @user.
 */
STRATA_API void strata_log_set_callback(strata_log_fn fn, void *user);

/*
 * strata_log_set_level() - deliver only messages at or above @level.
 * Return: 0, or -EINVAL for a level outside the enum.
 */
STRATA_API int strata_log_set_level(enum strata_log_level level);

/* The current threshold. */
STRATA_API enum strata_log_level strata_log_get_level(void);

/*
 * strata_log_level_parse() - parse "debug", "info", "warn", "error" or "off"
 * (case-insensitive) into *@out.
 * Return: 0, or -EINVAL (and *@out untouched) for anything else.
 */
STRATA_API int strata_log_level_parse(const char *name, enum strata_log_level *out);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_LOG_H */
