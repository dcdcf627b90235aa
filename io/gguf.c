/* SPDX-License-Identifier: MIT */
/*
 * io/gguf.c — validate a GGUF (v2/v3) header and build its tensor table.
 *
 * Layout (ggml docs/gguf.md): "GGUF", u32 version, u64 tensor count, u64
 * key/value count; the key/values (string key, u32 type, value; arrays are
 * u32 element type, u64 count, elements); the tensor infos (string name,
 * u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset into the data
 * section); padding to general.alignment; the data.  Little-endian.
 *
 * Every length and count is checked against the bytes that remain before
 * anything is allocated for it, and every size computation against
 * overflow: the parser bugs behind CVE-2025-53630, CVE-2026-27940 and
 * CVE-2026-33298 were unchecked counts and products.  The header is read in
 * growing pieces; a parse that runs past the piece read so far starts again
 * on a bigger one.
 *
 * Beyond what ggml checks: keys must be printable ASCII (the spec's keys
 * are lower_snake_case with dots; a control byte in a key could only be
 * there to reach a terminal through a message), and a tensor has at least
 * one dimension.  Version 2 has version 3's layout (v3 only allowed
 * big-endian files, which are refused here), so ggml reads it and so do
 * we, with a warning: the converters that wrote it predate several
 * metadata conventions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "io/io_int.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KV (1u << 20)
#define FIRST_READ (1u << 20)

struct cursor {
	struct strata_model *m;
	unsigned file;
	const uint8_t *buf;
	uint64_t have; /* bytes of the header in @buf */
	uint64_t size; /* of the file */
	uint64_t pos;
};

/* 0 with *p at @n bytes; -EAGAIN when more must be read; a format error at
 * the end of the file. */
static int take(struct cursor *c, uint64_t n, const uint8_t **p, const char *what)
{
	if (n > c->size - c->pos)
		return st_bad(c->m, c->file, c->pos, "%s (%llu bytes) runs past the end of the file", what,
			      (unsigned long long)n);
	if (n > c->have - c->pos)
		return -EAGAIN;
	*p = c->buf + c->pos;
	c->pos += n;
	return 0;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

static int u32(struct cursor *c, uint32_t *v, const char *what)
{
	const uint8_t *p = NULL;
	int err = take(c, 4, &p, what);

	if (!err)
		*v = (uint32_t)le(p, 4);
	return err;
}

static int u64(struct cursor *c, uint64_t *v, const char *what)
{
	const uint8_t *p = NULL;
	int err = take(c, 8, &p, what);

	if (!err)
		*v = le(p, 8);
	return err;
}

static int string(struct cursor *c, uint64_t max, const char **s, uint64_t *len, const char *what)
{
	uint64_t at = c->pos;
	const uint8_t *p = NULL;
	int err = u64(c, len, what);

	if (err)
		return err;
	if (*len > max)
		return st_bad(c->m, c->file, at, "%s length %llu exceeds %llu", what, (unsigned long long)*len,
			      (unsigned long long)max);
	err = take(c, *len, &p, what);
	if (!err)
		*s = (const char *)p;
	return err;
}

static const unsigned char scalar_size[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static int value(struct cursor *c, struct st_meta *e, const char *key)
{
	uint64_t at = c->pos, i;
	const uint8_t *p = NULL;
	uint32_t type;
	int err;

	err = u32(c, &type, "value type");
	if (err)
		return err;
	if (type > STRATA_META_F64)
		return st_bad(c->m, c->file, at, "key '%s' has unknown value type %u", key, type);
	e->type = (enum strata_meta_type)type;
	if (type == STRATA_META_STRING) {
		const char *s;

		err = string(c, ST_GGUF_MAX_STRING, &s, &e->count, "string value");
		e->v.str = s;
		return err;
	}
	if (type != STRATA_META_ARRAY) {
		at = c->pos;
		err = take(c, scalar_size[type], &p, "value");
		if (err)
			return err;
		e->count = 1;
		e->v.u = le(p, scalar_size[type]);
		if (type == STRATA_META_BOOL && e->v.u > 1)
			return st_bad(c->m, c->file, at, "key '%s': bool value %llu is neither 0 nor 1", key,
				      (unsigned long long)e->v.u);
		if (type == STRATA_META_I8)
			e->v.i = (int8_t)e->v.u;
		else if (type == STRATA_META_I16)
			e->v.i = (int16_t)e->v.u;
		else if (type == STRATA_META_I32)
			e->v.i = (int32_t)e->v.u;
		else if (type == STRATA_META_F32) {
			uint32_t bits = (uint32_t)e->v.u;
			float f;

			memcpy(&f, &bits, 4);
			e->v.f = f;
		}
		/* I64, U*, F64 and BOOL keep their bits */
		return 0;
	}
	err = u32(c, &type, "array element type");
	if (!err)
		err = u64(c, &e->count, "array count");
	if (err)
		return err;
	if (type > STRATA_META_F64 || type == STRATA_META_ARRAY)
		return st_bad(c->m, c->file, at, "key '%s': array of %s", key,
			      type == STRATA_META_ARRAY ? "arrays (nesting is not supported)" : "unknown type");
	if (e->count > ST_GGUF_MAX_ARRAY)
		return st_bad(c->m, c->file, at, "key '%s': array count %llu exceeds %llu", key,
			      (unsigned long long)e->count, (unsigned long long)ST_GGUF_MAX_ARRAY);
	e->elem_type = (enum strata_meta_type)type;
	if (type != STRATA_META_STRING) {
		at = c->pos;
		err = take(c, e->count * scalar_size[type], &p, "array");
		if (err)
			return err;
		e->array = p;
		if (type == STRATA_META_BOOL)
			for (i = 0; i < e->count; i++)
				if (p[i] > 1)
					return st_bad(c->m, c->file, at + i, "key '%s': bool element %llu is %u", key,
						      (unsigned long long)i, p[i]);
		return 0;
	}
	/* Each string takes at least its 8-byte length. */
	if (e->count > (c->size - c->pos) / 8)
		return st_bad(c->m, c->file, at, "key '%s': %llu strings cannot fit in the file", key,
			      (unsigned long long)e->count);
	{
		uint64_t *offs = st_malloc((e->count ? e->count : 1) * sizeof(uint64_t)), start = c->pos;

		if (!offs)
			return -ENOMEM;
		for (i = 0; i < e->count && !err; i++) {
			const char *s;
			uint64_t len;

			offs[i] = c->pos - start;
			err = string(c, ST_GGUF_MAX_STRING, &s, &len, "array string");
		}
		if (err) {
			st_free(offs);
			return err;
		}
		e->array = c->buf + start;
		e->str_offsets = offs;
		return st_model_keep(c->m, offs);
	}
}

static int tensor_info(struct cursor *c, struct strata_tensor_info *t)
{
	uint64_t at = c->pos, ne[ST_GGUF_MAX_DIMS], len, elems = 1;
	struct strata_dtype_info info;
	uint32_t ndim, type, i;
	const char *name;
	int err;

	err = string(c, ST_GGUF_MAX_NAME - 1, &name, &len, "tensor name");
	if (err)
		return err;
	if (len == 0)
		return st_bad(c->m, c->file, at, "empty tensor name");
	t->name = st_model_strndup(c->m, name, len);
	if (!t->name)
		return -ENOMEM;
	if (memchr(name, '\0', len))
		return st_bad(c->m, c->file, at, "tensor name contains a NUL byte");
	at = c->pos;
	err = u32(c, &ndim, "dimension count");
	if (err)
		return err;
	if (ndim == 0)
		return st_bad(c->m, c->file, at, "tensor '%s' has no dimensions (at least 1)", t->name);
	if (ndim > ST_GGUF_MAX_DIMS)
		return st_bad(c->m, c->file, at, "tensor '%s' has %u dimensions (at most %u)", t->name, ndim,
			      ST_GGUF_MAX_DIMS);
	for (i = 0; i < ndim; i++) {
		at = c->pos;
		err = u64(c, &ne[i], "dimension");
		if (err)
			return err;
		if (ne[i] > INT64_MAX || __builtin_mul_overflow(elems, ne[i], &elems) || elems > INT64_MAX)
			return st_bad(c->m, c->file, at, "tensor '%s': element count overflows", t->name);
	}
	at = c->pos;
	err = u32(c, &type, "tensor type");
	if (err)
		return err;
	t->dtype = st_dtype_from_ggml(type);
	if (t->dtype == STRATA_DTYPE_UNKNOWN)
		return st_bad(c->m, c->file, at, "tensor '%s' has unknown ggml type %u", t->name, type);
	strata_dtype_info(t->dtype, &info);
	if (ne[0] % info.block_elems)
		return st_bad(c->m, c->file, at, "tensor '%s': row of %llu elements is not a whole number of %s blocks of %u",
			      t->name, (unsigned long long)ne[0], info.name, info.block_elems);
	t->ndim = ndim;
	for (i = 0; i < ndim; i++)
		t->shape[i] = ne[ndim - 1 - i];
	if (st_dtype_bytes(t->dtype, t->shape, ndim, &t->bytes))
		return st_bad(c->m, c->file, at, "tensor '%s': byte size overflows", t->name);
	t->file = c->file;
	return u64(c, &t->offset, "tensor offset");
}

/* Keys are printable ASCII (0x20-0x7e).  The message gives the key's
 * offset and the bad byte, never the key itself: it is not fit to print. */
static int key_ascii(struct cursor *c, const char *key, uint64_t len, uint64_t at)
{
	uint64_t i;

	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)key[i];

		if (b < 0x20 || b > 0x7e)
			return st_bad(c->m, c->file, at, "key has byte 0x%02x at position %llu: keys are printable ASCII", b,
				      (unsigned long long)i);
	}
	return 0;
}

static int key_cmp(const void *a, const void *b, void *model)
{
	const struct strata_model *m = model;

	return strcmp(m->meta[*(const size_t *)a].key, m->meta[*(const size_t *)b].key);
}

/* One pass over the header in @c->buf. */
static int parse(struct cursor *c, uint64_t *alignment)
{
	struct strata_model *m = c->m;
	uint64_t ntensors, nkv, i, at;
	uint32_t version;
	const uint8_t *p = NULL;
	int err;

	err = take(c, 4, &p, "magic");
	if (err)
		return err;
	if (memcmp(p, "GGUF", 4))
		return st_bad(m, c->file, 0, "bad magic (not a GGUF file)");
	err = u32(c, &version, "version");
	if (err)
		return err;
	if (version && (version & 0xffff) == 0)
		return st_bad(m, c->file, 4, "version %#x: a big-endian file, which is not supported", version);
	if (version != 2 && version != 3)
		return st_bad(m, c->file, 4, "unsupported GGUF version %u (2 and 3 are supported)", version);
	err = u64(c, &ntensors, "tensor count");
	if (!err)
		err = u64(c, &nkv, "key/value count");
	if (err)
		return err;
	if (ntensors > ST_MAX_TENSORS || ntensors > c->size / 24)
		return st_bad(m, c->file, 8, "tensor count %llu is impossible for this file", (unsigned long long)ntensors);
	if (nkv > GGUF_MAX_KV || nkv > c->size / 13)
		return st_bad(m, c->file, 16, "key/value count %llu is impossible for this file", (unsigned long long)nkv);
	*alignment = GGUF_DEFAULT_ALIGNMENT;
	for (i = 0; i < nkv; i++) {
		struct st_meta *e;
		const char *key;
		uint64_t len;

		at = c->pos;
		err = string(c, 65535, &key, &len, "key");
		if (err)
			return err;
		if (len == 0)
			return st_bad(m, c->file, at, "empty key");
		err = key_ascii(c, key, len, at);
		if (err)
			return err;
		e = st_model_add_meta(m);
		if (!e)
			return -ENOMEM;
		e->key = st_model_strndup(m, key, len);
		if (!e->key)
			return -ENOMEM;
		err = value(c, e, e->key);
		if (err)
			return err;
		if (strcmp(e->key, "general.alignment") == 0) {
			if (e->type != STRATA_META_U32)
				return st_bad(m, c->file, at, "general.alignment must be a u32");
			if (e->v.u == 0 || (e->v.u & (e->v.u - 1)))
				return st_bad(m, c->file, at, "general.alignment %llu is not a power of two",
					      (unsigned long long)e->v.u);
			*alignment = e->v.u;
		}
	}
	for (i = 0; i < ntensors; i++) {
		struct strata_tensor_info t = { 0 };

		err = tensor_info(c, &t);
		if (err)
			return err;
		if (t.offset % *alignment)
			return st_bad(m, c->file, c->pos - 8, "tensor '%s': offset %llu is not a multiple of the alignment %llu",
				      t.name, (unsigned long long)t.offset, (unsigned long long)*alignment);
		err = st_model_add_tensor(m, &t);
		if (err)
			return err;
	}
	return 0;
}

int st_gguf_parse(struct strata_model *m, unsigned file)
{
	struct st_model_file *f = &m->files[file];
	size_t tensors0 = m->ntensors, meta0 = m->nmeta, i, *keys;
	uint64_t want = FIRST_READ, alignment = GGUF_DEFAULT_ALIGNMENT, start;
	uint8_t *buf = NULL;
	int err;

	for (;;) {
		struct cursor c = { .m = m, .file = file, .size = f->size };

		want = want < f->size ? want : f->size;
		st_free(buf);
		buf = st_malloc(want ? want : 1);
		if (!buf)
			return -ENOMEM;
		err = st_model_pread(m, file, buf, want, 0);
		if (err)
			break;
		c.buf = buf;
		c.have = want;
		m->ntensors = tensors0;
		m->nmeta = meta0;
		err = parse(&c, &alignment);
		if (err != -EAGAIN) {
			start = c.pos;
			break;
		}
		want *= 4;
	}
	if (err) {
		st_free(buf);
		return err;
	}
	err = st_model_keep(m, buf);
	if (err)
		return err;
	/* Duplicate keys. */
	keys = st_malloc((m->nmeta - meta0 + 1) * sizeof(size_t));
	if (!keys)
		return -ENOMEM;
	for (i = meta0; i < m->nmeta; i++)
		keys[i - meta0] = i;
	qsort_r(keys, m->nmeta - meta0, sizeof(size_t), key_cmp, m);
	for (i = 1; i < m->nmeta - meta0 && !err; i++)
		if (strcmp(m->meta[keys[i - 1]].key, m->meta[keys[i]].key) == 0)
			err = st_bad(m, file, 24, "key '%s' appears twice", m->meta[keys[i]].key);
	st_free(keys);
	if (err)
		return err;
	/* Data section: padded to the alignment; tensor offsets become absolute. */
	if (start % alignment && __builtin_add_overflow(start, alignment - start % alignment, &start))
		return st_bad(m, file, start, "data section start overflows");
	f->data_start = start;
	for (i = tensors0; i < m->ntensors; i++) {
		struct strata_tensor_info *t = &m->tensors[i];

		if (__builtin_add_overflow(t->offset, start, &t->offset))
			return st_bad(m, file, start, "tensor '%s': offset overflows", t->name);
	}
	/* Said once the file is accepted (the parse above may have run several
	 * times on growing reads); the version is bytes 4-7 of what was read. */
	if (le(buf + 4, 4) == 2)
		st_warn("%s: GGUF version 2 (current: 3), read as ggml reads it; re-convert the model if it misbehaves",
			f->path);
	return 0;
}
