/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit.c — C source for a kernel: element-wise chains and row
 * kernels here, matmul in emit_matmul.c, every other op in emit_single.c.
 *
 * The source is a function of the kernel alone (shapes, ops, constants),
 * never of addresses or node numbers elsewhere in the graph, so identical
 * layers produce identical sources and share one compiled object.  Values
 * inside a kernel are named v<n> after their position in the kernel.
 *
 * Loops are written for the compiler to vectorize: the innermost runs
 * along the last axis with unit or zero stride, and reductions keep eight
 * partial sums so that they vectorize without reassociation flags.
 */
#include <errno.h>
#include <string.h>

#include "core/graph/emit_int.h"

struct pad4 st_emit_pad(const struct st_shape *s)
{
	struct pad4 p;
	unsigned pad = ST_MAX_DIMS - s->ndim, i;

	for (i = 0; i < ST_MAX_DIMS; i++)
		p.d[i] = i < pad ? 1 : s->dim[i - pad];
	return p;
}

const char *st_emit_product(const int64_t *dims, unsigned n, char *buf)
{
	int64_t c = 1;
	unsigned i, seq = 0;

	for (i = 0; i < n; i++) {
		if (dims[i] == ST_DIM_SEQ)
			seq++;
		else
			c *= dims[i];
	}
	if (seq == 0)
		st_fmt(buf, 48, "%lld", (long long)c);
	else if (c == 1 && seq == 1)
		st_fmt(buf, 48, "seq");
	else
		st_fmt(buf, 48, "(%lld%s%s)", (long long)c, "*seq", seq > 1 ? "*seq" : "");
	return buf;
}

void st_emit_split_row(struct emitter *e, const struct pad4 *ref, const char *row, const char *prefix)
{
	char d1[48], d2[48];

	st_emit_product(&ref->d[1], 1, d1);
	st_emit_product(&ref->d[2], 1, d2);
	st_text_add(&e->t,
		    "\t\tconst int64_t %s2 = %s %% %s, %sq = %s / %s, %s1 = %sq %% %s, %s0 = %sq / %s;\n"
		    "\t\t(void)%s0; (void)%s1; (void)%s2;\n",
		    prefix, row, d2, prefix, row, d2, prefix, prefix, d1, prefix, prefix, d1, prefix, prefix, prefix);
}

bool st_emit_arg_row(struct emitter *e, unsigned arg, const struct pad4 *ref, const char *prefix, const char *name)
{
	const struct st_node *a = &e->g->nodes[e->k->args[arg]];
	struct pad4 p = st_emit_pad(&a->shape);
	char stride[48];
	int i;

	st_text_add(&e->t, "\t\tconst float *%s = (const float *)t[%u]", name, arg + 1);
	for (i = 0; i < ST_MAX_DIMS - 1; i++) {
		/* A dimension of 1 stretches (stride 0); so does one the
		 * reference has as 1 too (its index is always 0). */
		if (p.d[i] == 1)
			continue;
		st_text_add(&e->t, " + %s%d * %s", prefix, i, st_emit_product(&p.d[i + 1], ST_MAX_DIMS - 1 - i, stride));
	}
	st_text_add(&e->t, ";\n");
	return !(p.d[3] == 1 && ref->d[3] != 1);
}

int st_emit_arg_index(const struct st_kernel *k, uint32_t id)
{
	unsigned i;

	for (i = 0; i < k->nargs; i++)
		if (k->args[i] == id)
			return (int)i;
	return -1;
}

int st_emit_member_index(const struct st_kernel *k, uint32_t id)
{
	unsigned i;

	for (i = 0; i < k->nmembers; i++)
		if (k->members[i] == id)
			return (int)i;
	return -1;
}

/* The C name of operand @s of a chain member. */
static const char *operand(struct emitter *e, uint32_t s, const char *ptr, const bool *moves, const char *idx,
			   char *buf, size_t len)
{
	int a = st_emit_member_index(e->k, s);

	if (a >= 0) {
		st_fmt(buf, len, "v%d", a);
		return buf;
	}
	a = st_emit_arg_index(e->k, s);
	st_fmt(buf, len, "%s%d[%s]", ptr, a, moves[a] ? idx : "0");
	return buf;
}

static void unary_expr(enum strata_op op, const char *a, char *buf, size_t len)
{
	switch (op) {
	case STRATA_OP_EXP: st_fmt(buf, len, "st_exp(%s)", a); break;
	case STRATA_OP_LOG: st_fmt(buf, len, "logf(%s)", a); break;
	case STRATA_OP_SQRT: st_fmt(buf, len, "sqrtf(%s)", a); break;
	case STRATA_OP_RSQRT: st_fmt(buf, len, "1.0f / sqrtf(%s)", a); break;
	case STRATA_OP_NEG: st_fmt(buf, len, "-%s", a); break;
	case STRATA_OP_TANH: st_fmt(buf, len, "st_tanh(%s)", a); break;
	case STRATA_OP_SIGMOID: st_fmt(buf, len, "st_sigmoid(%s)", a); break;
	case STRATA_OP_SILU: st_fmt(buf, len, "st_silu(%s)", a); break;
	default: st_fmt(buf, len, "st_gelu(%s)", a); break;
	}
}

static const char *binary_op(enum strata_op op)
{
	switch (op) {
	case STRATA_OP_ADD: return "+";
	case STRATA_OP_SUB: return "-";
	case STRATA_OP_MUL: return "*";
	default: return "/";
	}
}

void st_emit_chain(struct emitter *e, unsigned from, unsigned to, const char *ptr, const bool *moves, const char *idx)
{
	unsigned m;

	for (m = from; m < to; m++) {
		uint32_t id = e->k->members[m];
		const struct st_node *n = &e->g->nodes[id];
		char a[64], b[64], expr[160];

		if (!st_op_elementwise(n->op))
			continue;
		operand(e, n->src[0], ptr, moves, idx, a, sizeof(a));
		if (n->nsrc == 1)
			unary_expr(n->op, a, expr, sizeof(expr));
		else if (n->op == STRATA_OP_MAX)
			st_fmt(expr, sizeof(expr), "st_max(%s, %s)", a, operand(e, n->src[1], ptr, moves, idx, b, sizeof(b)));
		else
			st_fmt(expr, sizeof(expr), "%s %s %s", a, binary_op(n->op),
			       operand(e, n->src[1], ptr, moves, idx, b, sizeof(b)));
		st_text_add(&e->t, "\t\t\tconst float v%u = %s;\n", m, expr);
	}
}

/*
 * The prelude every kernel starts with.  exp and tanh are written out
 * (Cephes' polynomial, range reduced by rounding with the 1.5·2^23 trick)
 * so that loops calling them vectorize; libm's cannot without
 * -ffast-math.  Relative error within 2e-7 over the range that does not
 * overflow.  f16 goes through the F16C instruction where the CPU has it
 * (_Float16 would be a libgcc call without AVX512-FP16), else through bits.
 */
void st_emit_prelude(struct emitter *e)
{
	st_text_add(&e->t,
		    "/* generated by strata: one kernel */\n"
		    "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n"
		    "static inline float st_max(float a, float b) { return a > b ? a : b; }\n"
		    "static inline float st_exp(float x)\n{\n"
		    "\tx = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;\n"
		    "\tconst float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;\n"
		    "\tconst float r = x - n * 0.693359375f + n * 2.12194440e-4f;\n"
		    "\tfloat p = 1.9875691500e-4f;\n"
		    "\tp = p * r + 1.3981999507e-3f;\n\tp = p * r + 8.3334519073e-3f;\n"
		    "\tp = p * r + 4.1665795894e-2f;\n\tp = p * r + 1.6666665459e-1f;\n"
		    "\tp = p * r + 5.0000001201e-1f;\n\tp = p * r * r + r + 1.0f;\n"
		    "\tunion { int32_t i; float f; } u = { .i = ((int32_t)n + 127) << 23 };\n"
		    "\treturn p * u.f;\n}\n"
		    "static inline float st_tanh(float x)\n{\n"
		    "\tconst float a = x < 0 ? -x : x, t = st_exp(-2.0f * a), y = (1.0f - t) / (1.0f + t);\n"
		    "\treturn x < 0 ? -y : y;\n}\n"
		    "static inline float st_sigmoid(float x) { return 1.0f / (1.0f + st_exp(-x)); }\n"
		    "static inline float st_silu(float x) { return x / (1.0f + st_exp(-x)); }\n"
		    "static inline float st_gelu(float x)\n{\n"
		    "\treturn 0.5f * x * (1.0f + st_tanh(0.7978845608f * (x + 0.044715f * x * x * x)));\n}\n"
		    "#ifdef __F16C__\n#include <immintrin.h>\n"
		    "static inline float st_half(uint16_t h) { return _cvtsh_ss(h); }\n"
		    "#else\n"
		    "static inline float st_half(uint16_t h)\n{\n"
		    "\tuint32_t s = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1f, m = h & 0x3ff, b;\n"
		    "\tfloat f;\n"
		    "\tif (ex == 0x1f) b = s | 0x7f800000u | (m << 13);\n"
		    "\telse if (ex == 0) { f = ldexpf((float)m, -24); return s ? -f : f; }\n"
		    "\telse b = s | ((ex + 112) << 23) | (m << 13);\n"
		    "\tmemcpy(&f, &b, 4);\n\treturn f;\n}\n"
		    "#endif\n"
		    "static inline float st_bf16(uint16_t h)\n{\n"
		    "\tunion { uint32_t i; float f; } u = { .i = (uint32_t)h << 16 };\n\treturn u.f;\n}\n"
		    "static inline float st_half_at(const uint8_t *p)\n{\n"
		    "\tuint16_t h;\n\tmemcpy(&h, p, 2);\n\treturn st_half(h);\n}\n\n");
}

/* Pointers for every argument the chain in members [@from, @to) reads,
 * relative to @ref, named <ptr><index>; fills @moves. */
static void chain_args(struct emitter *e, unsigned from, unsigned to, const struct pad4 *ref, const char *ptr,
		       bool *moves)
{
	bool used[ST_KERNEL_MAX_ARGS] = { false };
	unsigned m, i;

	for (m = from; m < to; m++) {
		const struct st_node *n = &e->g->nodes[e->k->members[m]];

		if (!st_op_elementwise(n->op))
			continue;
		for (i = 0; i < n->nsrc; i++) {
			int a = st_emit_arg_index(e->k, n->src[i]);

			if (a >= 0 && !used[a]) {
				char name[16];

				used[a] = true;
				st_fmt(name, sizeof(name), "%s%d", ptr, a);
				moves[a] = st_emit_arg_row(e, (unsigned)a, ref, "i", name);
			}
		}
	}
}

/*
 * An element-wise kernel: per row of the result, the chain at every column.
 * With stream_bytes set (compile.c) and a result at least that big, the
 * chain fills a 64-float tile on the stack and the tile goes to memory
 * with streaming stores; a fence at the end orders them before the result
 * is read by the next kernel.
 */
static int emit_elementwise(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	struct pad4 ref = st_emit_pad(&e->g->nodes[k->root].shape);
	bool moves[ST_KERNEL_MAX_ARGS] = { false };
	char rows[48], len[48], total[48];
	unsigned last = k->nmembers - 1;

	st_emit_product(&ref.d[3], 1, len);
	if (k->stream_bytes)
		st_text_add(&e->t, "#ifdef __AVX__\n#include <immintrin.h>\n#endif\n");
	st_text_add(&e->t, "int strata_kernel(void *const *t, int64_t seq, int64_t lo, int64_t hi)\n{\n\t(void)seq;\n");
	if (k->stream_bytes)
		st_text_add(&e->t, "#ifdef __AVX__\n\tconst int stream = (uint64_t)%s * 4 >= %lluull;\n#endif\n",
			    st_emit_product(ref.d, 4, total), (unsigned long long)k->stream_bytes);
	st_text_add(&e->t, "\tfor (int64_t r = lo; r < hi; r++) {\n");
	st_emit_split_row(e, &ref, "r", "i");
	chain_args(e, 0, k->nmembers, &ref, "p", moves);
	st_text_add(&e->t, "\t\tfloat *o = (float *)t[0] + r * %s;\n\t\tint64_t j = 0;\n",
		    st_emit_product(&ref.d[3], 1, rows));
	if (k->stream_bytes) {
		st_text_add(&e->t, "#ifdef __AVX__\n"
				   "\t\tfor (; stream && j < %s && ((uintptr_t)(o + j) & 63); j++) {\n",
			    len);
		st_emit_chain(e, 0, k->nmembers, "p", moves, "j");
		st_text_add(&e->t, "\t\t\to[j] = v%u;\n\t\t}\n"
				   "\t\tfor (; stream && j + 64 <= %s; j += 64) {\n"
				   "\t\t\tfloat tile[64] __attribute__((aligned(64)));\n"
				   "\t\t\tfor (int l = 0; l < 64; l++) {\n\t\t\tconst int64_t jj = j + l;\n",
			    last, len);
		st_emit_chain(e, 0, k->nmembers, "p", moves, "jj");
		st_text_add(&e->t, "\t\t\ttile[l] = v%u;\n\t\t\t}\n"
				   "\t\t\tfor (int l = 0; l < 64; l += 8)\n"
				   "\t\t\t\t_mm256_stream_ps(o + j + l, _mm256_load_ps(tile + l));\n"
				   "\t\t}\n#endif\n",
			    last);
	}
	st_text_add(&e->t, "\t\tfor (; j < %s; j++) {\n", len);
	st_emit_chain(e, 0, k->nmembers, "p", moves, "j");
	st_text_add(&e->t, "\t\t\to[j] = v%u;\n\t\t}\n\t}\n", last);
	if (k->stream_bytes)
		st_text_add(&e->t, "#ifdef __AVX__\n\tif (stream)\n\t\t_mm_sfence();\n#endif\n");
	st_text_add(&e->t, "\treturn 0;\n}\n");
	return 0;
}

/*
 * Row kernels.  The input x of the core op is either an argument or the
 * last value of a prologue chain; each pass over a row evaluates it again
 * at index jj (cheaper than a trip through memory while the row's
 * arguments stay in cache: fuse.c weighed that).
 */
struct rows {
	unsigned core_at; /* position of the core among the members */
	bool pmoves[ST_KERNEL_MAX_ARGS], emoves[ST_KERNEL_MAX_ARGS];
	char x[64]; /* the expression of x at jj */
	char len[48];
};

/* One pass over the row: `acc[l] <update>` with x_ the element, in eight
 * lanes, then the lanes combined into @result with @combine ("+" or max). */
static void rows_pass(struct emitter *e, const struct rows *rw, const char *init, const char *update,
		      const char *result, bool max)
{
	st_text_add(&e->t,
		    "\t\tfloat %s;\n\t\t{\n\t\t\tfloat acc[8] = { %s, %s, %s, %s, %s, %s, %s, %s };\n"
		    "\t\t\tint64_t j = 0;\n"
		    "\t\t\tfor (; j + 8 <= %s; j += 8)\n\t\t\t\tfor (int l = 0; l < 8; l++) {\n"
		    "\t\t\t\t\tconst int64_t jj = j + l;\n",
		    result, init, init, init, init, init, init, init, init, rw->len);
	st_emit_chain(e, 0, rw->core_at, "q", rw->pmoves, "jj");
	st_text_add(&e->t, "\t\t\t\t\tconst float x_ = %s;\n\t\t\t\t\t%s\n\t\t\t\t}\n", rw->x, update);
	st_text_add(&e->t, "\t\t\tfor (; j < %s; j++) {\n\t\t\t\tconst int64_t jj = j;\n\t\t\t\tconst int l = 0;\n",
		    rw->len);
	st_emit_chain(e, 0, rw->core_at, "q", rw->pmoves, "jj");
	st_text_add(&e->t, "\t\t\t\tconst float x_ = %s;\n\t\t\t\t%s\n\t\t\t}\n", rw->x, update);
	if (max)
		st_text_add(&e->t, "\t\t\t%s = acc[0];\n\t\t\tfor (int l = 1; l < 8; l++)\n"
				   "\t\t\t\t%s = st_max(%s, acc[l]);\n\t\t}\n",
			    result, result, result);
	else
		st_text_add(&e->t,
			    "\t\t\t%s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));\n"
			    "\t\t}\n",
			    result);
}

/* The writing pass: the core's value v<core> from x_ by @formula, then the
 * epilogue, stored at o[j]. */
static void rows_write(struct emitter *e, const struct rows *rw, const char *formula)
{
	const struct st_kernel *k = e->k;

	st_text_add(&e->t, "\t\tfor (int64_t j = 0; j < %s; j++) {\n\t\t\tconst int64_t jj = j;\n", rw->len);
	st_emit_chain(e, 0, rw->core_at, "q", rw->pmoves, "jj");
	st_text_add(&e->t, "\t\t\tconst float x_ = %s;\n\t\t\tconst float v%u = %s;\n", rw->x, rw->core_at, formula);
	st_emit_chain(e, rw->core_at + 1, k->nmembers, "p", rw->emoves, "j");
	st_text_add(&e->t, "\t\t\to[j] = v%u;\n\t\t}\n", k->nmembers - 1);
}

static int emit_rows(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	const struct st_node *c = &e->g->nodes[k->core], *x = &e->g->nodes[c->src[0]];
	struct pad4 xref = st_emit_pad(&x->shape), oref = st_emit_pad(&e->g->nodes[k->root].shape);
	struct rows rw = { 0 };
	char olen[48], eps[32];
	int xa = st_emit_arg_index(k, c->src[0]);

	while (k->members[rw.core_at] != k->core)
		rw.core_at++;
	st_emit_product(&xref.d[3], 1, rw.len);
	st_emit_product(&oref.d[3], 1, olen);
	st_fmt(eps, sizeof(eps), "%.9gf", (double)c->p.eps);
	st_text_add(&e->t,
		    "int strata_kernel(void *const *t, int64_t seq, int64_t lo, int64_t hi)\n{\n"
		    "\t(void)seq;\n\tfor (int64_t r = lo; r < hi; r++) {\n");
	st_emit_split_row(e, &xref, "r", "i");
	chain_args(e, 0, rw.core_at, &xref, "q", rw.pmoves);
	chain_args(e, rw.core_at + 1, k->nmembers, &oref, "p", rw.emoves);
	if (xa >= 0) {
		st_emit_arg_row(e, (unsigned)xa, &xref, "i", "x_row");
		st_fmt(rw.x, sizeof(rw.x), "x_row[jj]");
	} else {
		st_fmt(rw.x, sizeof(rw.x), "v%d", st_emit_member_index(k, c->src[0]));
	}
	if (c->nsrc > 1)
		st_text_add(&e->t, "\t\tconst float *w_ = (const float *)t[%d];\n", st_emit_arg_index(k, c->src[1]) + 1);
	if (c->nsrc > 2)
		st_text_add(&e->t, "\t\tconst float *b_ = (const float *)t[%d];\n", st_emit_arg_index(k, c->src[2]) + 1);
	st_text_add(&e->t, "\t\tfloat *o = (float *)t[0] + r * %s;\n", olen);

	switch (c->op) {
	case STRATA_OP_SOFTMAX:
		rows_pass(e, &rw, "-INFINITY", "acc[l] = st_max(acc[l], x_);", "m_", true);
		rows_pass(e, &rw, "0.0f", "acc[l] += st_exp(x_ - m_);", "s_", false);
		st_text_add(&e->t, "\t\tconst float inv_ = 1.0f / s_;\n");
		rows_write(e, &rw, "st_exp(x_ - m_) * inv_");
		break;
	case STRATA_OP_RMSNORM:
		rows_pass(e, &rw, "0.0f", "acc[l] += x_ * x_;", "s_", false);
		st_text_add(&e->t, "\t\tconst float scale_ = 1.0f / sqrtf(s_ / (float)%s + %s);\n", rw.len, eps);
		rows_write(e, &rw, "x_ * scale_ * w_[j]");
		break;
	case STRATA_OP_LAYERNORM:
		rows_pass(e, &rw, "0.0f", "acc[l] += x_;", "s_", false);
		st_text_add(&e->t, "\t\tconst float mean_ = s_ / (float)%s;\n", rw.len);
		rows_pass(e, &rw, "0.0f", "acc[l] += (x_ - mean_) * (x_ - mean_);", "var_", false);
		st_text_add(&e->t, "\t\tconst float scale_ = 1.0f / sqrtf(var_ / (float)%s + %s);\n", rw.len, eps);
		rows_write(e, &rw, c->nsrc > 2 ? "(x_ - mean_) * scale_ * w_[j] + b_[j]" : "(x_ - mean_) * scale_ * w_[j]");
		break;
	default: /* sum, max, mean over the last axis: one value per row */
		if (c->op == STRATA_OP_REDUCE_MAX)
			rows_pass(e, &rw, "-INFINITY", "acc[l] = st_max(acc[l], x_);", "s_", true);
		else
			rows_pass(e, &rw, "0.0f", "acc[l] += x_;", "s_", false);
		st_text_add(&e->t, "\t\t{\n\t\t\tconst int64_t j = 0;\n\t\t\tconst float v%u = s_", rw.core_at);
		if (c->op == STRATA_OP_MEAN)
			st_text_add(&e->t, " / (float)%s", rw.len);
		st_text_add(&e->t, ";\n");
		st_emit_chain(e, rw.core_at + 1, k->nmembers, "p", rw.emoves, "j");
		st_text_add(&e->t, "\t\t\to[0] = v%u;\n\t\t\t(void)j;\n\t\t}\n", k->nmembers - 1);
		break;
	}
	st_text_add(&e->t, "\t}\n\treturn 0;\n}\n");
	return 0;
}

int st_kernel_emit(const struct strata_graph *g, struct st_kernel *k)
{
	struct emitter e = { .g = g, .k = k };
	int err;

	st_emit_prelude(&e);
	switch (k->kind) {
	case ST_KERNEL_ELEMWISE: err = emit_elementwise(&e); break;
	case ST_KERNEL_ROWS: err = emit_rows(&e); break;
	case ST_KERNEL_MATMUL: err = st_emit_matmul(&e); break;
	default: err = st_emit_single(&e); break;
	}
	st_free(k->source);
	if (err) {
		int ignored;

		st_free(st_text_take(&e.t, &ignored));
		k->source = NULL;
		return err;
	}
	k->source = st_text_take(&e.t, &err);
	return err;
}
