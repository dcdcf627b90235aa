/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/weights.c — weights with NaN or infinite values.
 *
 * A damaged file (a flipped exponent, a bad conversion) would otherwise
 * make every answer empty: NaN logits pick token 0, often end-of-text.
 * Each tensor is checked as the load hands it over, on the load's own
 * thread, before the model answers from it: every element of a float
 * tensor, the f16 scales (and minimums) of a quantized one.  The exponent
 * bits say it without converting: all ones is an infinity or a NaN.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The first block of @size bytes whose f16 at offset 0 (and at 2, for
 * two scales) is not finite. */
static int64_t bad_scale(const uint8_t *p, uint64_t bytes, unsigned size, unsigned scales)
{
	for (uint64_t b = 0; b + size <= bytes; b += size)
		for (unsigned s = 0; s < scales; s++)
			if ((u16(p + b + 2 * s) & 0x7c00) == 0x7c00)
				return (int64_t)(b / size);
	return -1;
}

int64_t llm_first_nonfinite(enum strata_dtype dtype, const void *data, uint64_t bytes)
{
	const uint8_t *p = data;

	switch (dtype) {
	case STRATA_DTYPE_F32:
		for (uint64_t i = 0; i + 4 <= bytes; i += 4) {
			uint32_t v;

			memcpy(&v, p + i, 4);
			if ((v & 0x7f800000u) == 0x7f800000u)
				return (int64_t)(i / 4);
		}
		return -1;
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16: {
		uint16_t mask = dtype == STRATA_DTYPE_F16 ? 0x7c00 : 0x7f80;

		for (uint64_t i = 0; i + 2 <= bytes; i += 2)
			if ((u16(p + i) & mask) == mask)
				return (int64_t)(i / 2);
		return -1;
	}
	case STRATA_DTYPE_Q8_0: return bad_scale(p, bytes, 34, 1);
	case STRATA_DTYPE_Q4_0: return bad_scale(p, bytes, 18, 1);
	case STRATA_DTYPE_Q4_1: return bad_scale(p, bytes, 20, 2);
	default: return -1;
	}
}

void llm_check_weight(void *user, size_t tensor, int status)
{
	struct llm_model *m = user;
	struct strata_tensor_info t;
	struct strata_load *load;
	void *data;
	int64_t at;

	if (status || atomic_load(&m->damaged))
		return;
	/* The first tensors may arrive before strata_load_start() returned
	 * the load to llm_open(). */
	while (!(load = atomic_load(&m->checking)))
		sched_yield();
	if (strata_load_tensor_data(load, tensor, &data) || strata_model_tensor(m->file, tensor, &t))
		return;
	at = llm_first_nonfinite(t.dtype, data, t.bytes);
	if (at < 0 || atomic_exchange(&m->damage_claimed, true))
		return; /* fine, or another thread reports its damage */
	snprintf(m->damage, sizeof(m->damage), "the weight %s holds a NaN or an infinity (%s %lld): the model file is damaged",
		 t.name,
		 t.dtype == STRATA_DTYPE_Q8_0 || t.dtype == STRATA_DTYPE_Q4_0 || t.dtype == STRATA_DTYPE_Q4_1 ? "scale of block"
													: "element",
		 (long long)at);
	atomic_store(&m->damaged, true);
}
