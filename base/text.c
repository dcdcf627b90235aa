/* SPDX-License-Identifier: MIT */
/*
 * base/text.c — a growable string built with printf-style appends, for
 * generated source and dumps.  A failed allocation is remembered, so a
 * caller appends freely and checks once at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

void st_text_add(struct st_text *t, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (t->failed)
		return;
	va_start(ap, fmt);
	need = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
	va_end(ap);
	if (need < 0) {
		t->failed = true;
		return;
	}
	if (!t->s || t->len + (size_t)need >= t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		char *s;

		while (cap <= t->len + (size_t)need)
			cap *= 2;
		s = st_realloc(t->s, cap);
		if (!s) {
			t->failed = true;
			return;
		}
		t->s = s;
		t->cap = cap;
		va_start(ap, fmt);
		vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)need;
}

void st_text_put(struct st_text *t, const char *s)
{
	size_t n = strlen(s), cap;
	char *grown;

	if (t->failed)
		return;
	if (!t->s || t->len + n >= t->cap) {
		for (cap = t->cap ? t->cap : 1024; cap <= t->len + n; cap *= 2)
			;
		grown = st_realloc(t->s, cap);
		if (!grown) {
			t->failed = true;
			return;
		}
		t->s = grown;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

char *st_text_take(struct st_text *t, int *err)
{
	char *s = t->s;

	*err = t->failed ? -ENOMEM : 0;
	if (t->failed) {
		st_free(t->s);
		s = NULL;
	} else if (!s) {
		s = st_strdup("");
		*err = s ? 0 : -ENOMEM;
	}
	memset(t, 0, sizeof(*t));
	return s;
}
