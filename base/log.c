/* SPDX-License-Identifier: MIT */
/*
 * base/log.c — the one way strata says anything: a replaceable callback with
 * a level threshold, initialised from $STRATA_LOG.
 *
 * It sits in base/, like the allocation hooks, so that every layer can
 * warn through it: a leaf (io/ reading an old GGUF version) has something
 * to say that is not an error and must not include core/ to say it.
 *
 * Logging is off every hot path, so a mutex guards the (callback, user)
 * pair; it is copied under the lock and called outside it, so a slow
 * callback never serialises other threads' messages, and a callback that
 * logs does not deadlock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "base/base.h"

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

static void stderr_log(enum strata_log_level level, const char *msg, void *user)
{
	(void)user;
	fprintf(stderr, "strata: %s: %s\n", level_names[level], msg);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static strata_log_fn log_fn = stderr_log;
static void *log_user;
static _Atomic int log_level = STRATA_LOG_WARN;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static atomic_bool env_level_bad;

int strata_log_level_parse(const char *name, enum strata_log_level *out)
{
	unsigned i;

	if (!name || !out)
		return -EINVAL;
	for (i = 0; i < ST_ARRAY_SIZE(level_names); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum strata_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*out = STRATA_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

static void read_env_level(void)
{
	const char *env = getenv("STRATA_LOG");
	enum strata_log_level level;

	if (!env || !*env)
		return;
	if (strata_log_level_parse(env, &level) == 0)
		atomic_store(&log_level, (int)level);
	else
		atomic_store(&env_level_bad, true);
}

/* The first use of logging applies $STRATA_LOG; an explicit set wins later. */
static void ensure_env(void)
{
	pthread_once(&env_once, read_env_level);
}

void strata_log_set_callback(strata_log_fn fn, void *user)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn ? fn : stderr_log;
	log_user = fn ? user : NULL;
	pthread_mutex_unlock(&log_lock);
}

int strata_log_set_level(enum strata_log_level level)
{
	if ((unsigned)level > STRATA_LOG_OFF)
		return -EINVAL;
	ensure_env();
	atomic_store(&log_level, (int)level);
	return 0;
}

enum strata_log_level strata_log_get_level(void)
{
	ensure_env();
	return (enum strata_log_level)atomic_load(&log_level);
}

static void deliver(enum strata_log_level level, const char *msg)
{
	strata_log_fn fn;
	void *user;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	user = log_user;
	pthread_mutex_unlock(&log_lock);
	fn(level, msg, user);
}

void st_log(enum strata_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	ensure_env();
	if (atomic_load(&env_level_bad) && atomic_exchange(&env_level_bad, false)) {
		/* Said once: a typo in STRATA_LOG should not go unnoticed. */
		deliver(STRATA_LOG_WARN, "STRATA_LOG is not one of debug, info, warn, error, off; using warn");
	}
	if ((int)level < atomic_load(&log_level) || level >= STRATA_LOG_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	deliver(level, msg);
}
