/* SPDX-License-Identifier: MIT */
/*
 * io/raw.c — raw files whose layout the caller gives: each tensor's file,
 * offset, type and shape.  The same checks as for the formats apply (in
 * the file, no overlap, unique names: io/model.c); gaps are allowed, since
 * a raw file may hold more than tensors.
 */
#include <errno.h>
#include <string.h>

#include "io/io_int.h"

int st_raw_parse(struct strata_model *m, const struct strata_raw_tensor *raw, size_t nraw)
{
	size_t i;
	int err;

	if (!nraw)
		return st_bad(m, 0, 0, "the raw layout lists no tensors");
	for (i = 0; i < nraw; i++) {
		const struct strata_raw_tensor *r = &raw[i];
		struct strata_tensor_info t = { 0 };

		if (!r->name || !*r->name)
			return st_bad(m, 0, r->offset, "raw tensor %zu has no name", i);
		if (r->file >= m->nfiles)
			return st_bad(m, 0, r->offset, "raw tensor '%s' is in file %u of %u", r->name, r->file, m->nfiles);
		if (r->ndim > STRATA_MAX_DIMS)
			return st_bad(m, r->file, r->offset, "raw tensor '%s' has %u dimensions", r->name, r->ndim);
		t.dtype = r->dtype;
		t.ndim = r->ndim;
		memcpy(t.shape, r->shape, sizeof(t.shape));
		err = st_dtype_bytes(r->dtype, r->shape, r->ndim, &t.bytes);
		if (err)
			return st_bad(m, r->file, r->offset, "raw tensor '%s': %s", r->name,
				      err == -EINVAL ? "unknown dtype" :
				      err == -EDOM   ? "elements do not fill whole blocks" :
						       "size overflows");
		t.name = st_model_strndup(m, r->name, strlen(r->name));
		if (!t.name)
			return -ENOMEM;
		t.file = r->file;
		t.offset = r->offset;
		err = st_model_add_tensor(m, &t);
		if (err)
			return err;
	}
	return 0;
}
