/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_weights.c — the helpers of core/graph/kernels/ that a
 * kernel reading weights needs, pasted into its source, and the format
 * they are called with (ST_FMT): sk_unpack() widens a row of f16, bf16 or
 * GGUF blocks to f32 (prefill and the embedding), and decode's dot
 * products work on the stored rows without unpacking them: f16/bf16
 * converted in registers (dot_half.h), Q8_0 and 4-bit blocks against a's
 * row cut into 8-bit digits on AVX-512 VNNI (dot_digits.h) or in f32
 * (dot_q8.h, dot_nibble.h).  Decode on weights packed sixteen rows to a
 * block is emit_packed.c's.  Only which helpers, and ST_FMT, depend on the
 * kernel: the helpers are the same text in every kernel.
 */
#include "core/graph/emit_int.h"

/* enum sk_fmt's names, as the generated C spells them. */
static const char *const fmt_names[] = {
	[SK_F32] = "SK_F32", [SK_F16] = "SK_F16",   [SK_BF16] = "SK_BF16",
	[SK_Q8_0] = "SK_Q8_0", [SK_Q4_0] = "SK_Q4_0", [SK_Q4_1] = "SK_Q4_1",
};

void st_emit_unpack(struct emitter *e, enum strata_dtype t)
{
	st_emit_kernel_text(e, ST_TEXT_FORMAT);
	st_emit_kernel_text(e, ST_TEXT_UNPACK);
	st_text_add(&e->t, "#define ST_FMT %s /* the weight's format */\n", fmt_names[st_dtype_fmt(t)]);
}

void st_emit_stored_dots(struct emitter *e, enum strata_dtype t)
{
	st_emit_unpack(e, t);
	if (t == STRATA_DTYPE_F16 || t == STRATA_DTYPE_BF16)
		st_emit_kernel_text(e, ST_TEXT_DOT_HALF);
	if (t == STRATA_DTYPE_Q8_0)
		st_emit_kernel_text(e, ST_TEXT_DOT_Q8);
	if (t == STRATA_DTYPE_Q8_0 || t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1) {
		st_emit_kernel_text(e, ST_TEXT_DOT_DIGITS);
		st_emit_kernel_text(e, ST_TEXT_DOT_NIBBLE);
		st_emit_kernel_text(e, ST_TEXT_DOT_QUANT);
	}
}
