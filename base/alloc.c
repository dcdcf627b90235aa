/* SPDX-License-Identifier: MIT */
/*
 * base/alloc.c — the replaceable allocator for strata's own bookkeeping.
 *
 * Small, rare allocations (handles, tables, strings) go through here so an
 * application can account for them and tests can make any one of them fail.
 * The hooks are a plain struct read without locking on the allocation path:
 * strata_alloc_set_hooks() refuses to run while a runtime pins them, so a
 * change can never race with an allocation made on a runtime's behalf.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <strata/alloc.h>

#include "base/base.h"

static void *libc_malloc(size_t size, void *user)
{
	(void)user;
	return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *user)
{
	(void)user;
	return realloc(ptr, size);
}

static void libc_free(void *ptr, void *user)
{
	(void)user;
	free(ptr);
}

static const struct strata_alloc_hooks libc_hooks = {
	.sz = sizeof(struct strata_alloc_hooks),
	.malloc = libc_malloc,
	.realloc = libc_realloc,
	.free = libc_free,
};

static struct strata_alloc_hooks hooks = {
	.sz = sizeof(struct strata_alloc_hooks),
	.malloc = libc_malloc,
	.realloc = libc_realloc,
	.free = libc_free,
};

static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned pin_count;

int strata_alloc_set_hooks(const struct strata_alloc_hooks *h)
{
	int err = 0;

	if (h && (!st_opts_valid(h, sizeof(*h)) || h->sz < sizeof(*h) ||
		  !h->malloc || !h->realloc || !h->free))
		return -EINVAL;

	pthread_mutex_lock(&pin_lock);
	if (pin_count) {
		err = -EBUSY;
	} else {
		hooks = h ? *h : libc_hooks;
		hooks.sz = sizeof(hooks);
	}
	pthread_mutex_unlock(&pin_lock);
	return err;
}

void st_alloc_pin(void)
{
	pthread_mutex_lock(&pin_lock);
	pin_count++;
	pthread_mutex_unlock(&pin_lock);
}

void st_alloc_unpin(void)
{
	pthread_mutex_lock(&pin_lock);
	if (pin_count)
		pin_count--;
	pthread_mutex_unlock(&pin_lock);
}

void *st_malloc(size_t size)
{
	return hooks.malloc(size ? size : 1, hooks.user);
}

void *st_calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	p = st_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void *st_realloc(void *ptr, size_t size)
{
	return hooks.realloc(ptr, size ? size : 1, hooks.user);
}

void st_free(void *ptr)
{
	if (ptr)
		hooks.free(ptr, hooks.user);
}

char *st_strdup(const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = st_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
