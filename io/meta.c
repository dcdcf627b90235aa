/* SPDX-License-Identifier: MIT */
/*
 * io/meta.c — reading a model's metadata: GGUF key/values and safetensors'
 * __metadata__ strings.  Arrays stay in the header copy they were parsed
 * from; their elements are decoded on request.
 */
#include <errno.h>
#include <string.h>

#include "io/io_int.h"

static void to_public(const struct st_meta *e, struct strata_meta *out)
{
	memset(out, 0, sizeof(*out));
	out->key = e->key;
	out->type = e->type;
	out->elem_type = e->elem_type;
	out->count = e->count;
	memcpy(&out->v, &e->v, sizeof(out->v));
	out->opaque = e;
}

int64_t strata_model_meta_count(const struct strata_model *m)
{
	return m ? (int64_t)m->nmeta : -EINVAL;
}

int strata_model_meta(const struct strata_model *m, size_t index, struct strata_meta *out)
{
	if (!m || !out)
		return -EINVAL;
	if (index >= m->nmeta)
		return -ERANGE;
	to_public(&m->meta[index], out);
	return 0;
}

int strata_model_meta_find(const struct strata_model *m, const char *key, struct strata_meta *out)
{
	size_t i;

	if (!m || !key || !out)
		return -EINVAL;
	for (i = 0; i < m->nmeta; i++)
		if (strcmp(m->meta[i].key, key) == 0) {
			to_public(&m->meta[i], out);
			return 0;
		}
	return -ENOENT;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

int strata_meta_array_string(const struct strata_meta *meta, uint64_t i, const char **str, uint64_t *len)
{
	const struct st_meta *e;

	if (!meta || !meta->opaque || !str || !len)
		return -EINVAL;
	e = meta->opaque;
	if (e->type != STRATA_META_ARRAY || e->elem_type != STRATA_META_STRING)
		return -EINVAL;
	if (i >= e->count)
		return -ERANGE;
	*len = le(e->array + e->str_offsets[i], 8);
	*str = (const char *)e->array + e->str_offsets[i] + 8;
	return 0;
}

int strata_meta_array_number(const struct strata_meta *meta, uint64_t i, double *out)
{
	static const unsigned char sizes[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
	const struct st_meta *e;
	const uint8_t *p;
	uint64_t raw;
	unsigned size;

	if (!meta || !meta->opaque || !out)
		return -EINVAL;
	e = meta->opaque;
	if (e->type != STRATA_META_ARRAY || (unsigned)e->elem_type >= sizeof(sizes) || !sizes[e->elem_type])
		return -EINVAL;
	if (i >= e->count)
		return -ERANGE;
	size = sizes[e->elem_type];
	p = e->array + i * size;
	raw = le(p, size);
	switch (e->elem_type) {
	case STRATA_META_I8:
		*out = (int8_t)raw;
		break;
	case STRATA_META_I16:
		*out = (int16_t)raw;
		break;
	case STRATA_META_I32:
		*out = (int32_t)raw;
		break;
	case STRATA_META_I64:
		*out = (double)(int64_t)raw;
		break;
	case STRATA_META_F32: {
		uint32_t bits = (uint32_t)raw;
		float f;

		memcpy(&f, &bits, 4);
		*out = f;
		break;
	}
	case STRATA_META_F64:
		memcpy(out, &raw, 8);
		break;
	default:
		*out = (double)raw;
	}
	return 0;
}
