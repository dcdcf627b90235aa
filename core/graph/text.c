/* SPDX-License-Identifier: MIT */
/*
 * core/graph/text.c — graphs written as text (strata_graph_parse()).
 *
 * One statement per line; '#' starts a comment.
 *
 *   max_seq 64                          the bound of seq (before any node)
 *   %x = input "x" f32 [seq, 288]       an input: name, f32 or i32, shape
 *   %w = weight "w" f32 [288, 288] random
 *                                       a weight filled with seeded values in
 *                                       [-0.5, 0.5) (random), 0 (zeros) or 1 (ones)
 *   %y = matmul %x %w trans_b           an op and its operands, then its
 *                                       parameters (see below)
 *   output %y                           mark a result
 *
 * Names after '%' are any run of letters, digits and '_'; each is defined
 * once, before use.  Shapes list sizes or "seq".  The ops and their
 * parameters:
 *
 *   add sub mul div max %a %b           exp log sqrt rsqrt neg tanh sigmoid
 *   silu gelu %a                        sum reduce_max mean %a axis=N
 *   softmax %a                          rmsnorm %x %w eps=E
 *   layernorm %x %w [%b] eps=E          rope %x %pos theta=T [half|adjacent]
 *   matmul %a %b [trans_b]              reshape %a [shape]
 *   permute %a perm=1,0,2               slice %a axis=N start=S len=L
 *   concat %a %b axis=N                 embedding %table %ids
 *   argmax %a                           write_rows %state %value %pos
 *   attention %q %k %v %pos scale=S     (k, v: results of write_rows)
 *   cast %a f32|i32
 *
 * (ops.def lists them; an op's parameter kind gives its syntax.)
 *
 *   %c = state "k_cache" f32 [256, 4, 16]   a KV cache, kept between runs
 *
 * This is the same notation strata_program_dump() writes, so a dumped
 * graph (its first section) reads back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "core/graph/graph_int.h"

#define MAX_NAMES 4096
#define MAX_TOKENS 16

struct parser {
	struct strata_graph *g;
	char (*names)[ST_GRAPH_NAME];
	uint32_t *ids;
	unsigned nnames;
	unsigned line;
	uint64_t seed;
	char error[ST_GRAPH_ERROR];
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[ST_GRAPH_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st_fmt(ps->error, sizeof(ps->error), "line %u: %s", ps->line, msg);
	return -EINVAL;
}

/* Split @line into tokens at blanks (a quoted string and a [shape] each
 * one token).  Return: the count, or -1 when a quote or bracket is open. */
static int tokenize(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			break;
		tok[n++] = p;
		if (*p == '"' || *p == '[') {
			char *end = strchr(p + 1, *p == '"' ? '"' : ']');

			if (!end)
				return -1;
			p = end + 1;
		} else {
			while (*p && !isspace((unsigned char)*p) && *p != '#')
				p++;
		}
		if (*p == '#') {
			*p = '\0';
			break;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int lookup(struct parser *ps, const char *ref, uint32_t *id)
{
	unsigned i;

	if (ref[0] != '%')
		return fail(ps, "expected a node (%%name), found \"%s\"", ref);
	for (i = 0; i < ps->nnames; i++)
		if (!strcmp(ps->names[i], ref + 1)) {
			*id = ps->ids[i];
			return 0;
		}
	return fail(ps, "%s is not defined above", ref);
}

static int parse_shape(struct parser *ps, const char *tok, unsigned *ndim, int64_t *dims)
{
	char buf[256], *save = NULL, *part;

	if (tok[0] != '[' || tok[strlen(tok) - 1] != ']' || strlen(tok) >= sizeof(buf))
		return fail(ps, "expected a shape like [seq, 288], found \"%s\"", tok);
	st_fmt(buf, sizeof(buf), "%.*s", (int)strlen(tok) - 2, tok + 1);
	*ndim = 0;
	for (part = strtok_r(buf, ", ", &save); part; part = strtok_r(NULL, ", ", &save)) {
		char *end;

		if (*ndim == ST_MAX_DIMS)
			return fail(ps, "shape %s has more than 4 dimensions", tok);
		if (!strcmp(part, "seq")) {
			dims[(*ndim)++] = STRATA_DIM_SEQ;
			continue;
		}
		errno = 0;
		dims[*ndim] = strtoll(part, &end, 10);
		if (errno || *end || end == part)
			return fail(ps, "shape size \"%s\" is not a number or seq", part);
		(*ndim)++;
	}
	return 0;
}

static int parse_dtype(struct parser *ps, const char *tok, enum strata_dtype *t)
{
	if (!strcasecmp(tok, "f32"))
		*t = STRATA_DTYPE_F32;
	else if (!strcasecmp(tok, "i32"))
		*t = STRATA_DTYPE_I32;
	else
		return fail(ps, "type \"%s\" is not f32 or i32 (text graphs hold f32 weights)", tok);
	return 0;
}

/* "key=value" among @tok[from..n): the value, or NULL. */
static const char *param(char **tok, int from, int n, const char *key)
{
	size_t len = strlen(key);

	for (int i = from; i < n; i++)
		if (!strncmp(tok[i], key, len) && tok[i][len] == '=')
			return tok[i] + len + 1;
	return NULL;
}

static bool has_word(char **tok, int from, int n, const char *word)
{
	for (int i = from; i < n; i++)
		if (!strcmp(tok[i], word))
			return true;
	return false;
}

static int number(struct parser *ps, const char *v, const char *key, double *out)
{
	char *end;

	if (!v)
		return fail(ps, "the op needs %s=", key);
	errno = 0;
	*out = strtod(v, &end);
	if (errno || *end || end == v)
		return fail(ps, "\"%s\" is not a number", v);
	return 0;
}

static int make_weight(struct parser *ps, char **tok, int n, uint32_t *out)
{
	enum strata_dtype t = STRATA_DTYPE_F32;
	int64_t dims[ST_MAX_DIMS];
	unsigned nd, i;
	uint64_t count = 1;
	void **grown;
	float *data;
	int err;

	if (n < 6)
		return fail(ps, "%s", "weight needs a name, a type and a shape");
	if ((err = parse_dtype(ps, tok[4], &t)) || (err = parse_shape(ps, tok[5], &nd, dims)))
		return err;
	for (i = 0; i < nd; i++)
		count *= dims[i] > 0 ? (uint64_t)dims[i] : 1;
	if (count > (1ull << 28))
		return fail(ps, "weight %s is larger than 2^28 elements", tok[3]);
	data = st_malloc(count ? count * 4 : 4);
	grown = st_realloc(ps->g->owned, (ps->g->nowned + 1) * sizeof(*grown));
	if (!data || !grown) {
		st_free(data);
		if (grown)
			ps->g->owned = grown;
		return -ENOMEM;
	}
	ps->g->owned = grown;
	ps->g->owned[ps->g->nowned++] = data;
	for (i = 0; i < count; i++) {
		ps->seed = ps->seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if (n > 6 && !strcmp(tok[6], "zeros"))
			data[i] = 0;
		else if (n > 6 && !strcmp(tok[6], "ones"))
			data[i] = 1;
		else
			data[i] = (float)((ps->seed >> 40) & 0xffffff) / (float)0x1000000 - 0.5f;
	}
	if (n > 6 && strcmp(tok[6], "zeros") && strcmp(tok[6], "ones") && strcmp(tok[6], "random"))
		return fail(ps, "weight fill \"%s\" is not random, zeros or ones", tok[6]);
	return strata_graph_weight(ps->g, tok[3], t, nd, dims, data, out);
}

/* Operands %a %b ... from tok[3]: how many were found (up to @max). */
static int operands(struct parser *ps, char **tok, int n, uint32_t *id, int want, int max)
{
	int k, err;

	for (k = 0; k < max && 3 + k < n && tok[3 + k][0] == '%'; k++)
		if ((err = lookup(ps, tok[3 + k], &id[k])))
			return err;
	if (k < want)
		return fail(ps, "%s needs more operands", tok[2]);
	return k;
}

/* An op line: its operands, then its parameters by the kind the op has
 * (ops.def), and the node checked by the op's shape rule. */
static int apply(struct parser *ps, const struct st_op_info *o, enum strata_op op, char **tok, int n, uint32_t *out)
{
	struct st_node node = { .op = op };
	double v, v2, v3;
	int k, at, err = 0;

	if ((k = operands(ps, tok, n, node.src, o->lo, o->hi)) < 0)
		return k;
	node.nsrc = (unsigned)k;
	at = 3 + k; /* the first word after the operands */
	switch (o->param) {
	case ST_PARAM_NONE: break;
	case ST_PARAM_LEAF: return fail(ps, "%s is not an op", tok[2]); /* input, weight, state: define() */
	case ST_PARAM_AXIS:
		err = number(ps, param(tok, at, n, "axis"), "axis", &v);
		node.p.axis = (int)v;
		break;
	case ST_PARAM_EPS:
		err = number(ps, param(tok, at, n, "eps"), "eps", &v);
		node.p.eps = (float)v;
		break;
	case ST_PARAM_FLAGS: node.p.flags = has_word(tok, at, n, "trans_b") ? STRATA_MATMUL_TRANS_B : 0; break;
	case ST_PARAM_PERM: {
		const char *p = param(tok, at, n, "perm");
		unsigned i = 0;

		if (!p)
			return fail(ps, "%s needs perm=", tok[2]);
		while (*p && i < ST_MAX_DIMS) {
			char *end;

			node.p.perm[i++] = (unsigned)strtoul(p, &end, 10);
			if (end == p)
				return fail(ps, "perm \"%s\" is not a list of numbers", p);
			p = *end == ',' ? end + 1 : end;
		}
		break;
	}
	case ST_PARAM_ROPE:
		err = number(ps, param(tok, at, n, "theta"), "theta", &v);
		node.p.rope.theta = (float)v;
		node.p.rope.layout = has_word(tok, at, n, "adjacent") ? STRATA_ROPE_ADJACENT : STRATA_ROPE_HALF;
		break;
	case ST_PARAM_SLICE:
		if ((err = number(ps, param(tok, at, n, "axis"), "axis", &v)) ||
		    (err = number(ps, param(tok, at, n, "start"), "start", &v2)) ||
		    (err = number(ps, param(tok, at, n, "len"), "len", &v3)))
			return err;
		node.p.slice.axis = (int)v;
		node.p.slice.start = (int64_t)v2;
		node.p.slice.len = (int64_t)v3;
		break;
	case ST_PARAM_SCALE:
		err = number(ps, param(tok, at, n, "scale"), "scale", &v);
		node.p.scale = (float)v;
		break;
	case ST_PARAM_VALUE:
		if (at >= n)
			return fail(ps, "%s needs a number after its operand", tok[2]);
		err = number(ps, tok[at], "value", &v);
		node.p.value = (float)v;
		break;
	case ST_PARAM_DTYPE:
		if (at >= n)
			return fail(ps, "%s needs a type (f32 or i32)", tok[2]);
		err = parse_dtype(ps, tok[at], &node.dtype);
		break;
	case ST_PARAM_SHAPE: {
		int64_t dims[ST_MAX_DIMS];
		unsigned nd;

		if (at >= n)
			return fail(ps, "%s needs a shape", tok[2]);
		if (!(err = parse_shape(ps, tok[at], &nd, dims)))
			err = st_graph_shape_arg(ps->g, op, nd, dims, true, &node.shape);
		break;
	}
	}
	return err ? err : st_graph_add(ps->g, &node, out);
}

static int define(struct parser *ps, char **tok, int n)
{
	uint32_t id;
	unsigned i;
	int err;

	if (n < 3 || strcmp(tok[1], "="))
		return fail(ps, "expected \"%s = op ...\"", tok[0]);
	for (i = 0; i < ps->nnames; i++)
		if (!strcmp(ps->names[i], tok[0] + 1))
			return fail(ps, "%s is defined twice", tok[0]);
	if (ps->nnames == MAX_NAMES)
		return fail(ps, "%s", "more than 4096 nodes");
	if (!strcmp(tok[2], "input")) {
		enum strata_dtype t = STRATA_DTYPE_F32;
		int64_t dims[ST_MAX_DIMS];
		unsigned nd;

		if (n < 6)
			return fail(ps, "%s", "input needs a name, a type and a shape");
		if ((err = parse_dtype(ps, tok[4], &t)) || (err = parse_shape(ps, tok[5], &nd, dims)))
			return err;
		err = strata_graph_input(ps->g, tok[3], t, nd, dims, &id);
	} else if (!strcmp(tok[2], "weight")) {
		err = make_weight(ps, tok, n, &id);
	} else if (!strcmp(tok[2], "state")) {
		int64_t dims[ST_MAX_DIMS];
		unsigned nd;

		if (n < 6)
			return fail(ps, "%s", "state needs a name, a type and a shape");
		if ((err = parse_shape(ps, tok[5], &nd, dims)))
			return err;
		err = strata_graph_state(ps->g, tok[3], nd, dims, &id);
	} else {
		enum strata_op op = st_op_by_name(tok[2]);

		if (!op || st_op(op)->param == ST_PARAM_LEAF)
			return fail(ps, "\"%s\" is not an op", tok[2]);
		err = apply(ps, st_op(op), op, tok, n, &id);
	}
	if (err) {
		if (!ps->error[0])
			st_fmt(ps->error, sizeof(ps->error), "line %u: %s", ps->line, strata_graph_error(ps->g));
		return err;
	}
	st_fmt(ps->names[ps->nnames], ST_GRAPH_NAME, "%s", tok[0] + 1);
	ps->ids[ps->nnames++] = id;
	return 0;
}

/* Names in quotes lose them; a name is at most 63 bytes. */
static void unquote(char **tok, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(tok[i]);

		if (tok[i][0] == '"' && len >= 2 && tok[i][len - 1] == '"') {
			tok[i][len - 1] = '\0';
			tok[i]++;
		}
	}
}

static int statement(struct parser *ps, struct strata_rt *rt, char *line, bool *seen_node)
{
	char *tok[MAX_TOKENS];
	int n = tokenize(line, tok, MAX_TOKENS);
	uint32_t id;
	int err;

	if (n < 0)
		return fail(ps, "%s", "a quote or a bracket is not closed");
	if (n == 0)
		return 0;
	unquote(tok, n);
	if (!strcmp(tok[0], "max_seq")) {
		STRATA_GRAPH_OPTS(opts, .max_seq = n > 1 ? (uint32_t)strtoul(tok[1], NULL, 10) : 0);

		if (*seen_node)
			return fail(ps, "%s", "max_seq comes before the first node");
		if (n != 2 || opts.max_seq == 0)
			return fail(ps, "%s", "max_seq needs a number > 0");
		strata_graph_destroy(ps->g);
		ps->g = NULL;
		return strata_graph_create(rt, &opts, &ps->g);
	}
	if (!strcmp(tok[0], "output")) {
		if (n != 2)
			return fail(ps, "%s", "output takes one node");
		if ((err = lookup(ps, tok[1], &id)))
			return err;
		return strata_graph_output(ps->g, id);
	}
	if (tok[0][0] != '%' || !tok[0][1])
		return fail(ps, "a line starts with %%name, max_seq or output, not \"%s\"", tok[0]);
	*seen_node = true;
	return define(ps, tok, n);
}

int strata_graph_parse(struct strata_rt *rt, const char *text, struct strata_graph **out, char *error, size_t error_len)
{
	struct parser ps = { .seed = 0x5eed };
	const char *p = text;
	bool seen_node = false;
	int err;

	if (error && error_len)
		error[0] = '\0';
	if (!rt || !text || !out)
		return -EINVAL;
	ps.names = st_calloc(MAX_NAMES, sizeof(*ps.names));
	ps.ids = st_calloc(MAX_NAMES, sizeof(*ps.ids));
	err = ps.names && ps.ids ? strata_graph_create(rt, NULL, &ps.g) : -ENOMEM;
	while (!err && *p) {
		const char *end = strchrnul(p, '\n');
		char line[1024];

		ps.line++;
		if (end - p >= (long)sizeof(line)) {
			err = fail(&ps, "%s", "the line is longer than 1023 bytes");
			break;
		}
		memcpy(line, p, (size_t)(end - p));
		line[end - p] = '\0';
		err = statement(&ps, rt, line, &seen_node);
		if (err && !ps.error[0])
			st_fmt(ps.error, sizeof(ps.error), "line %u: %s", ps.line,
			       ps.g && ps.g->error[0] ? ps.g->error : strerror(-err));
		p = *end ? end + 1 : end;
	}
	if (error && error_len)
		st_fmt(error, error_len, "%s", ps.error);
	st_free(ps.names);
	st_free(ps.ids);
	if (err) {
		strata_graph_destroy(ps.g);
		return err;
	}
	*out = ps.g;
	return 0;
}
