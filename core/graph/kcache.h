/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kcache.h — the compiler that builds kernels, and the disk
 * cache of what it built (kcache.c).
 */
#ifndef STRATA_CORE_GRAPH_KCACHE_H
#define STRATA_CORE_GRAPH_KCACHE_H

#include <stdint.h>
#include <sys/types.h>

struct st_toolchain {
	char cc[4096];
	char version[256];
	uint64_t id; /* compiler, version, flags, CPU, strata version */
};

/* Find the compiler (core/cc.c) and hash what identifies its output; the
 * proof that it works is kept in the process and in @dir (NULL: none).
 * Return: 0; -ENOENT when no working C compiler is found. */
int st_kcache_toolchain(const char *dir, struct st_toolchain *tc);

/* The cache key of @source built by @tc. */
uint64_t st_kcache_key(const struct st_toolchain *tc, const char *source);

/* Whether @dir holds a whole entry for @key: 0 and its path, or -ENOENT
 * (a damaged entry is deleted and reported as missing). */
int st_kcache_lookup(const char *dir, uint64_t key, char *path, size_t len);

/* One compilation in flight. */
struct st_kbuild {
	uint64_t key;
	pid_t pid;
	char src[4200], tmp[4200], path[4200];
};

/* Write @source beside the entry and start the compiler on it. */
int st_kcache_build_start(const struct st_toolchain *tc, const char *dir, uint64_t key, const char *source,
			  struct st_kbuild *b);
/* Wait for it; seal the object and rename it into place as b->path.
 * Return: 0; -ENOEXEC when the compiler failed (the source is kept, its
 * path in b->src); a negative errno. */
int st_kcache_build_finish(struct st_kbuild *b);

/* Remove the least recently used entries until @dir holds at most
 * @max_bytes (and temporary files an hour old). */
int st_kcache_trim(const char *dir, uint64_t max_bytes, unsigned *removed);

#endif /* STRATA_CORE_GRAPH_KCACHE_H */
