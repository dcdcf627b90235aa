/* SPDX-License-Identifier: MIT */
/*
 * base/util.c — option-struct validation, info-struct copying and the small
 * file and string helpers the rest of the library shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

bool st_opts_valid(const void *opts, size_t known_sz)
{
	const unsigned char *bytes = opts;
	size_t sz, i;

	if (!opts)
		return true;
	memcpy(&sz, opts, sizeof(sz));
	if (sz < sizeof(size_t))
		return false;
	/* A newer caller's extra fields are fine only if it left them unset. */
	for (i = known_sz; i < sz; i++)
		if (bytes[i])
			return false;
	return true;
}

int st_copy_out(void *dst, const void *src, size_t src_sz)
{
	size_t dst_sz;

	if (!dst)
		return -EINVAL;
	memcpy(&dst_sz, dst, sizeof(dst_sz));
	if (dst_sz < sizeof(size_t))
		return -EINVAL;
	memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
	       ST_MIN(dst_sz, src_sz) - sizeof(size_t));
	return 0;
}

int st_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf || !len)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
	return n;
}

int st_read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

uint64_t st_fnv1a(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
