/* SPDX-License-Identifier: MIT */
/*
 * base/base.h — helpers every layer may use: the bookkeeping allocator,
 * logging through the application's callback, option-struct validation and
 * small string utilities.
 *
 * base/ sits below trace/ and depends on nothing but libc, so that leaves
 * (mm/, io/, bpf/, cuda/) can allocate through the application's hooks
 * without including core/.
 */
#ifndef STRATA_BASE_H
#define STRATA_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/log.h>

#define ST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ST_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Bookkeeping allocation through the hooks of strata/alloc.h.  st_calloc()
 * zeroes and checks @n * @size for overflow; st_strdup(NULL) is NULL. */
void *st_malloc(size_t size);
void *st_calloc(size_t n, size_t size);
void *st_realloc(void *ptr, size_t size);
void st_free(void *ptr);
char *st_strdup(const char *s);

/* Hooks may change only while nothing is pinned; each runtime pins them for
 * its lifetime.  st_alloc_pin() never fails. */
void st_alloc_pin(void);
void st_alloc_unpin(void);

/* A message through the log callback of strata/log.h (base/log.c), if
 * @level is at or above the threshold.  Safe from any thread. */
void st_log(enum strata_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define st_debug(...) st_log(STRATA_LOG_DEBUG, __VA_ARGS__)
#define st_info(...) st_log(STRATA_LOG_INFO, __VA_ARGS__)
#define st_warn(...) st_log(STRATA_LOG_WARN, __VA_ARGS__)
#define st_error(...) st_log(STRATA_LOG_ERROR, __VA_ARGS__)

/*
 * st_opts_valid() - validate a growable options struct whose first member is
 * `size_t sz`.  @opts may be NULL (defaults).  A struct larger than
 * @known_sz (from a newer program) is accepted only when the extra bytes are
 * all zero; one smaller than sizeof(size_t) is rejected.
 */
bool st_opts_valid(const void *opts, size_t known_sz);

/* The field of a growable options struct, or @dflt when the caller's struct
 * is too old to have it. */
#define ST_OPT(opts, field, dflt)                                              \
	(((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field)) \
		 ? (opts)->field                                               \
		 : (dflt))

/*
 * st_copy_out() - copy a library-side info struct into the caller's, both
 * starting with `size_t sz`.  Copies min(caller sz, @src_sz) bytes, zeroes
 * nothing beyond, and keeps the caller's sz.  Returns -EINVAL when @dst is
 * NULL or its sz is smaller than sizeof(size_t).
 */
int st_copy_out(void *dst, const void *src, size_t src_sz);

/* snprintf that always terminates and never overflows; returns the length it
 * needed, like snprintf. */
int st_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a small text file (sysfs, procfs) into @buf, NUL-terminated, trailing
 * newline removed.  Return: bytes read, or a negative errno. */
int st_read_text(const char *path, char *buf, size_t len);

/* 64-bit FNV-1a, for cache keys. */
uint64_t st_fnv1a(const void *data, size_t len, uint64_t seed);
#define ST_FNV_SEED 0xcbf29ce484222325ULL

/* A growable string (base/text.c): append with st_text_add(), then take
 * it (or NULL and -ENOMEM if any append failed) with st_text_take(). */
struct st_text {
	char *s;
	size_t len, cap;
	bool failed;
};
void st_text_add(struct st_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append @s as it is (no formatting: large pasted text). */
void st_text_put(struct st_text *t, const char *s);
char *st_text_take(struct st_text *t, int *err);

#endif /* STRATA_BASE_H */
