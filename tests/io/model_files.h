/* SPDX-License-Identifier: MIT */
/*
 * tests/io/model_files.h — writing model files for tests: a byte builder,
 * safetensors files from a JSON header, GGUF files field by field, and a
 * scratch directory that removes itself.
 */
#ifndef STRATA_TESTS_MODEL_FILES_H
#define STRATA_TESTS_MODEL_FILES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static inline void put(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static inline void put_u32(struct bytes *b, uint32_t v)
{
	put(b, &v, 4); /* x86: little-endian */
}

static inline void put_u64(struct bytes *b, uint64_t v)
{
	put(b, &v, 8);
}

static inline void put_str(struct bytes *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

static inline void put_fill(struct bytes *b, unsigned char c, size_t n)
{
	while (n--)
		put(b, &c, 1);
}

/* Bytes whose values depend on their position in the file, so a checksum
 * catches data read from the wrong place. */
static inline void put_pattern(struct bytes *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)((b->len * 2654435761u) >> 13);

		put(b, &c, 1);
	}
}

static inline void write_file(const char *path, const void *p, size_t n)
{
	static unsigned seeds;
	const char *seed_dir = getenv("STRATA_FUZZ_SEEDS"), *ext = strrchr(path, '.');
	FILE *f = fopen(path, "wb");

	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		abort();
	/* `make fuzz` collects every file the format tests write as seeds. */
	if (seed_dir && ext && n < (1u << 20)) {
		char seed[512];

		snprintf(seed, sizeof(seed), "%s/%s/%u-%d", seed_dir, ext + 1, seeds++, (int)getpid());
		f = fopen(seed, "wb");
		if (f) {
			if (n)
				fwrite(p, 1, n, f);
			fclose(f);
		}
	}
}

/* A safetensors file: length, @json padded with spaces to a multiple of 8
 * (unless @pad is 0), then @data_len bytes of pattern. */
static inline void write_safetensors(const char *path, const char *json, size_t data_len, int pad)
{
	struct bytes b = { 0 };
	size_t n = strlen(json), padded = pad ? (n + 7) / 8 * 8 : n;

	put_u64(&b, padded);
	put(&b, json, n);
	put_fill(&b, ' ', padded - n);
	put_pattern(&b, data_len);
	write_file(path, b.p, b.len);
	free(b.p);
}

/* A GGUF header: magic, @version, the counts. */
static inline void gguf_begin_version(struct bytes *b, uint32_t version, uint64_t ntensors, uint64_t nkv)
{
	put(b, "GGUF", 4);
	put_u32(b, version);
	put_u64(b, ntensors);
	put_u64(b, nkv);
}

/* The same, version 3. */
static inline void gguf_begin(struct bytes *b, uint64_t ntensors, uint64_t nkv)
{
	gguf_begin_version(b, 3, ntensors, nkv);
}

static inline void gguf_kv_u32(struct bytes *b, const char *key, uint32_t v)
{
	put_str(b, key);
	put_u32(b, 4);
	put_u32(b, v);
}

static inline void gguf_kv_str(struct bytes *b, const char *key, const char *v)
{
	put_str(b, key);
	put_u32(b, 8);
	put_str(b, v);
}

/* A tensor info with ne[] in GGUF order (innermost first). */
static inline void gguf_tensor(struct bytes *b, const char *name, uint32_t ndim, const uint64_t *ne, uint32_t type,
			       uint64_t offset)
{
	uint32_t i;

	put_str(b, name);
	put_u32(b, ndim);
	for (i = 0; i < ndim; i++)
		put_u64(b, ne[i]);
	put_u32(b, type);
	put_u64(b, offset);
}

static inline void gguf_pad(struct bytes *b, size_t align)
{
	put_fill(b, 0, (align - b->len % align) % align);
}

/* A scratch directory under /tmp (or $TMPDIR). */
static inline void scratch_dir(char *dir, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, len, "%s/strata-io-XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
}

static inline void scratch_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}

#endif /* STRATA_TESTS_MODEL_FILES_H */
