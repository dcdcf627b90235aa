/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/tokenize.c — text to token ids and back.
 *
 * Byte-level BPE (GPT-2's scheme): the text is split into pieces by the
 * model's pre-tokenizer expressions (PCRE2, Unicode classes), each byte of
 * a piece becomes a printable code point, and adjacent symbols are merged
 * lowest merge rank first until no listed merge applies.
 *
 * SentencePiece (Llama 2): spaces become U+2581, the text starts with one
 * when the model asks, and adjacent symbols are merged highest vocabulary
 * score first; a symbol left outside the vocabulary is spelled with byte
 * tokens <0xXX>.
 *
 * Control and user-defined tokens written in the text (chat templates do)
 * are recognised first when asked, longest first.
 *
 * Prompts come from clients, so every step is O(n log n) in the text's
 * length: the text is made valid UTF-8 once, and PCRE2 is told not to
 * check it again on every match (that check alone made splitting
 * quadratic); merges are taken from a heap of candidate pairs instead of
 * rescanning the piece for each one (merge.c).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "vocab.h"

#define MAX_EXPRS 3

struct pre {
	pcre2_code *re[MAX_EXPRS];
	unsigned n;
};

/* Pre-tokenizers by tokenizer.ggml.pre, as llama.cpp names them: each
 * expression splits the pieces the one before made. */
static const char GPT2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
static const char LLAMA3[] = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
			     "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const struct {
	const char *name;
	const char *exprs[MAX_EXPRS];
} pretokenizers[] = {
	{ "default", { GPT2 } },	   { "gpt2", { GPT2 } },	     { "gpt-2", { GPT2 } },
	{ "mpt", { GPT2 } },		   { "olmo", { GPT2 } },	     { "smollm", { "\\p{N}", GPT2 } },
	{ "starcoder", { "\\p{N}", GPT2 } }, { "refact", { "\\p{N}", GPT2 } }, { "codeshell", { "\\p{N}", GPT2 } },
	{ "llama3", { LLAMA3 } },	   { "llama-bpe", { LLAMA3 } },	     { "llama-v3", { LLAMA3 } },
};

int llm_pre_compile(struct llm_vocab *v, const char *name, size_t len, char *err, size_t errlen)
{
	struct pre *p;
	unsigned k, i;

	for (k = 0; k < sizeof(pretokenizers) / sizeof(pretokenizers[0]); k++)
		if (strlen(pretokenizers[k].name) == len && !memcmp(pretokenizers[k].name, name, len))
			break;
	if (k == sizeof(pretokenizers) / sizeof(pretokenizers[0])) {
		snprintf(err, errlen, "tokenizer.ggml.pre \"%.*s\" is not a pre-tokenizer this example knows", (int)len,
			 name);
		return -EOPNOTSUPP;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < MAX_EXPRS && pretokenizers[k].exprs[i]; i++) {
		int code;
		PCRE2_SIZE at;

		p->re[i] = pcre2_compile((PCRE2_SPTR)pretokenizers[k].exprs[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
					 &code, &at, NULL);
		if (!p->re[i]) {
			v->pre = p;
			llm_pre_free(v);
			snprintf(err, errlen, "pre-tokenizer expression %u does not compile (PCRE2 error %d)", i, code);
			return -EINVAL;
		}
		pcre2_jit_compile(p->re[i], PCRE2_JIT_COMPLETE); /* faster when it works; fine when not */
		p->n++;
	}
	v->pre = p;
	return 0;
}

void llm_pre_free(struct llm_vocab *v)
{
	struct pre *p = v->pre;

	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		pcre2_code_free(p->re[i]);
	free(p);
	v->pre = NULL;
}

/* ---- growing arrays ---------------------------------------------------------- */

static int push_id(int32_t **ids, uint32_t *n, uint32_t *cap, int32_t id)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 64;
		int32_t *bigger = realloc(*ids, (size_t)c * sizeof(**ids));

		if (!bigger)
			return -ENOMEM;
		*ids = bigger;
		*cap = c;
	}
	(*ids)[(*n)++] = id;
	return 0;
}

struct span {
	size_t at, len;
};

struct spans {
	struct span *s;
	size_t n, cap;
};

static int push_span(struct spans *v, size_t at, size_t len)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? v->cap * 2 : 32;
		struct span *bigger = realloc(v->s, c * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		v->s = bigger;
		v->cap = c;
	}
	v->s[v->n++] = (struct span){ at, len };
	return 0;
}

/* ---- byte-level BPE ---------------------------------------------------------- */

/* GPT-2's printable stand-in for each byte: printable Latin-1 bytes stand
 * for themselves, the other 68 (0–32, 127–160, 173) for 256, 257, … */
static uint32_t byte_cp(uint8_t b)
{
	if (b <= 32)
		return 256u + b;
	if (b >= 127 && b <= 160)
		return 256u + 33 + (b - 127u);
	if (b == 173)
		return 256u + 33 + 34;
	return b;
}

/* The byte a code point stands for, or -1. */
static int cp_byte(uint32_t cp)
{
	if (cp < 256)
		return byte_cp((uint8_t)cp) == cp ? (int)cp : -1;
	if (cp < 256 + 33)
		return (int)(cp - 256);
	if (cp < 256 + 33 + 34)
		return (int)(cp - 256 - 33 + 127);
	return cp == 256 + 33 + 34 ? 173 : -1;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the UTF-8 character starting with @c (1 for a stray byte). */
static size_t utf8_len(uint8_t c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

struct bpe_ctx {
	const struct llm_vocab *v;
	const char *enc;
	char *key; /* "left right" */
};

/* A pair's merge rank, if the merges list it. */
static bool bpe_pair(void *ctx, const struct llm_sym *l, const struct llm_sym *r, double *key)
{
	struct bpe_ctx *c = ctx;
	int64_t rank;

	memcpy(c->key, c->enc + l->at, l->len);
	c->key[l->len] = ' ';
	memcpy(c->key + l->len + 1, c->enc + r->at, r->len);
	rank = llm_strmap_get(&c->v->merges, c->key, l->len + 1 + r->len);
	*key = (double)rank;
	return rank >= 0;
}

/* Link @n symbols in order. */
static void link_syms(struct llm_sym *sym, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sym[i].prev = (int32_t)i - 1;
		sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
	}
}

/* One piece through BPE; ids appended. */
static int bpe_piece(const struct llm_vocab *v, const char *s, size_t len, int32_t **ids, uint32_t *n, uint32_t *cap)
{
	char *enc = malloc(len * 2 + 1);
	struct llm_sym *sym = calloc(len ? len : 1, sizeof(*sym));
	struct bpe_ctx ctx = { v, enc, NULL };
	size_t at = 0, i;
	int e = 0;

	if (!enc || !sym || len > INT32_MAX / 2) {
		e = -ENOMEM;
		goto out;
	}
	for (i = 0; i < len; i++) {
		sym[i].at = (uint32_t)at;
		sym[i].len = (uint32_t)utf8_put(byte_cp((uint8_t)s[i]), enc + at);
		at += sym[i].len;
	}
	link_syms(sym, len);
	if (!(ctx.key = malloc(at + 2))) {
		e = -ENOMEM;
		goto out;
	}
	if (len)
		e = llm_merge(sym, len, bpe_pair, &ctx);
	for (int32_t k = len ? 0 : -1; k >= 0 && !e; k = sym[k].next) {
		int32_t id = llm_vocab_find(v, enc + sym[k].at, sym[k].len);

		if (id >= 0) {
			e = push_id(ids, n, cap, id);
			continue;
		}
		/* Not in the vocabulary: its characters one by one. */
		for (size_t c = sym[k].at; c < sym[k].at + sym[k].len && !e;) {
			size_t l = utf8_len((uint8_t)enc[c]);

			id = llm_vocab_find(v, enc + c, l);
			e = push_id(ids, n, cap, id >= 0 ? id : v->unk >= 0 ? v->unk : 0);
			c += l;
		}
	}
out:
	free(enc);
	free(ctx.key);
	free(sym);
	return e;
}

/* Split [at, at + len) of @text by expression @re: matches and the gaps
 * between them, in order.  @text is valid UTF-8 (llm_utf8_clean), so
 * PCRE2 need not check it again at every match. */
static int split(pcre2_code *re, pcre2_match_data *md, pcre2_match_context *mc, const char *text, size_t at,
		 size_t len, struct spans *out)
{
	size_t pos = at, end = at + len, from = at;
	int e = 0;

	while (from < end && !e) {
		int rc = pcre2_match(re, (PCRE2_SPTR)text, end, from, PCRE2_NO_UTF_CHECK, md, mc);
		PCRE2_SIZE *ov;

		if (rc < 0)
			break; /* no more matches (or a limit hit: the rest stays one piece) */
		ov = pcre2_get_ovector_pointer(md);
		if (ov[1] == ov[0]) { /* an empty match: step over a character */
			from = ov[0] + utf8_len((uint8_t)text[ov[0]]);
			continue;
		}
		if (ov[0] > pos)
			e = push_span(out, pos, ov[0] - pos);
		if (!e)
			e = push_span(out, ov[0], ov[1] - ov[0]);
		pos = from = ov[1];
	}
	if (!e && pos < end)
		e = push_span(out, pos, end - pos);
	return e;
}

static int bpe_text(const struct llm_vocab *v, const char *text, size_t len, int32_t **ids, uint32_t *n,
		    uint32_t *cap)
{
	const struct pre *p = v->pre;
	struct spans a = { 0 }, b = { 0 };
	pcre2_match_data *md = NULL;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	/* A run of a million letters is one match: the JIT may need more
	 * than its default 32 KiB of stack for it. */
	pcre2_jit_stack *js = pcre2_jit_stack_create(32 << 10, 8 << 20, NULL);
	int e = push_span(&a, 0, len);

	if (!mc || !js)
		e = -ENOMEM;
	else
		pcre2_jit_stack_assign(mc, NULL, js);
	for (unsigned r = 0; r < p->n && !e; r++) {
		if (!(md = pcre2_match_data_create_from_pattern(p->re[r], NULL))) {
			e = -ENOMEM;
			break;
		}
		b.n = 0;
		for (size_t i = 0; i < a.n && !e; i++)
			e = split(p->re[r], md, mc, text, a.s[i].at, a.s[i].len, &b);
		pcre2_match_data_free(md);
		struct spans t = a;

		a = b;
		b = t;
	}
	for (size_t i = 0; i < a.n && !e; i++)
		e = bpe_piece(v, text + a.s[i].at, a.s[i].len, ids, n, cap);
	pcre2_jit_stack_free(js);
	pcre2_match_context_free(mc);
	free(a.s);
	free(b.s);
	return e;
}

/* ---- SentencePiece ------------------------------------------------------------- */

struct spm_ctx {
	const struct llm_vocab *v;
	const char *s;
};

/* A pair's score, if the vocabulary has it: higher merges first. */
static bool spm_pair(void *ctx, const struct llm_sym *l, const struct llm_sym *r, double *key)
{
	struct spm_ctx *c = ctx;
	int32_t id = llm_vocab_find(c->v, c->s + l->at, l->len + r->len);

	if (id < 0)
		return false;
	*key = -(double)c->v->score[id];
	return true;
}

static int spm_text(const struct llm_vocab *v, const char *text, size_t len, bool first, int32_t **ids, uint32_t *n,
		    uint32_t *cap)
{
	static const char SPACE[] = "\xe2\x96\x81";
	size_t cap_bytes = (len + 1) * 3 + 1, at = 0, nsym = 0, i;
	char *s = malloc(cap_bytes);
	struct llm_sym *sym = calloc(cap_bytes, sizeof(*sym));
	struct spm_ctx ctx = { v, s };
	int e = 0;

	if (!s || !sym || cap_bytes > INT32_MAX) {
		e = -ENOMEM;
		goto out;
	}
	if (first && v->add_space_prefix)
		memcpy(s, SPACE, 3), at = 3;
	for (i = 0; i < len; i++) {
		if (text[i] == ' ')
			memcpy(s + at, SPACE, 3), at += 3;
		else
			s[at++] = text[i];
	}
	for (i = 0; i < at; i += sym[nsym++].len) {
		sym[nsym].at = (uint32_t)i;
		sym[nsym].len = (uint32_t)utf8_len((uint8_t)s[i]);
		if (i + sym[nsym].len > at)
			sym[nsym].len = (uint32_t)(at - i);
	}
	link_syms(sym, nsym);
	if (nsym)
		e = llm_merge(sym, nsym, spm_pair, &ctx);
	for (int32_t k = nsym ? 0 : -1; k >= 0 && !e; k = sym[k].next) {
		int32_t id = llm_vocab_find(v, s + sym[k].at, sym[k].len);

		if (id >= 0) {
			e = push_id(ids, n, cap, id);
			continue;
		}
		for (size_t c = 0; c < sym[k].len && !e; c++) {
			int32_t bt = v->byte_token[(uint8_t)s[sym[k].at + c]];

			e = push_id(ids, n, cap, bt >= 0 ? bt : v->unk >= 0 ? v->unk : 0);
		}
	}
out:
	free(s);
	free(sym);
	return e;
}

/* ---- the entry points ------------------------------------------------------- */

/* The length of the valid UTF-8 character at @u (@left bytes), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid,
 * as PCRE2's own check has them: PCRE2 is then told not to check. */
static size_t utf8_valid(const unsigned char *u, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (u[0] < 0x80)
		return 1;
	if (u[0] < 0xc2)
		return 0;
	if (u[0] < 0xe0) {
		need = 2;
	} else if (u[0] < 0xf0) {
		need = 3;
		lo = u[0] == 0xe0 ? 0xa0 : lo;
		hi = u[0] == 0xed ? 0x9f : hi;
	} else if (u[0] < 0xf5) {
		need = 4;
		lo = u[0] == 0xf0 ? 0x90 : lo;
		hi = u[0] == 0xf4 ? 0x8f : hi;
	} else {
		return 0;
	}
	if (need > left || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if ((u[k] & 0xc0) != 0x80)
			return 0;
	return need;
}

char *llm_utf8_clean(const char *s, size_t len, size_t *out_len)
{
	char *o = len < SIZE_MAX / 3 ? malloc(len * 3 + 1) : NULL;
	size_t i = 0, n = 0;

	if (!o)
		return NULL;
	while (i < len) {
		size_t need = utf8_valid((const unsigned char *)s + i, len - i);

		if (need == 0) { /* invalid or cut short: one replacement, skip a byte */
			memcpy(o + n, "\xef\xbf\xbd", 3);
			n += 3, i += 1;
			continue;
		}
		memcpy(o + n, s + i, need);
		n += need, i += need;
	}
	o[n] = 0;
	*out_len = n;
	return o;
}

uint64_t llm_tokens_at_least(const struct llm_vocab *v, size_t bytes)
{
	return v->max_len ? bytes / v->max_len : bytes;
}

/* The special token written at @text, longest first, or -1. */
static int32_t special_at(const struct llm_vocab *v, const char *text, size_t left)
{
	for (uint32_t i = 0; i < v->nspecial; i++) {
		int32_t id = v->special[i];

		if (v->len[id] > 0 && v->len[id] <= left && !memcmp(text, v->text[id], v->len[id]))
			return id;
	}
	return -1;
}

static int plain(const struct llm_vocab *v, const char *text, size_t len, bool first, int32_t **ids, uint32_t *n,
		 uint32_t *cap)
{
	if (len == 0)
		return 0;
	return v->kind == LLM_VOCAB_BPE ? bpe_text(v, text, len, ids, n, cap) : spm_text(v, text, len, first, ids, n, cap);
}

int llm_tokenize(const struct llm_vocab *v, const char *raw, size_t rawlen, bool special, int32_t **ids, uint32_t *n,
		 uint32_t *cap)
{
	size_t start = 0, i, len;
	char *text = llm_utf8_clean(raw, rawlen, &len);
	bool first = true;
	int e = 0;

	if (!text)
		return -ENOMEM;
	if (!special) {
		e = plain(v, text, len, true, ids, n, cap);
		free(text);
		return e;
	}
	for (i = 0; i < len && !e;) {
		int32_t id = special_at(v, text + i, len - i);

		if (id < 0) {
			i++;
			continue;
		}
		e = plain(v, text + start, i - start, first, ids, n, cap);
		first = first && i == start;
		if (!e)
			e = push_id(ids, n, cap, id);
		i += v->len[id];
		start = i;
		first = false;
	}
	if (!e)
		e = plain(v, text + start, len - start, first, ids, n, cap);
	free(text);
	return e;
}

/* Decode the UTF-8 character at @s (of @len bytes); its length in *@used. */
static uint32_t utf8_get(const char *s, size_t len, size_t *used)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t l = utf8_len(u[0]);
	uint32_t cp;

	if (l > len)
		l = len;
	*used = l;
	if (l == 1)
		return u[0];
	cp = u[0] & (0x7f >> l);
	for (size_t i = 1; i < l; i++)
		cp = cp << 6 | (u[i] & 0x3f);
	return cp;
}

int llm_token_bytes(const struct llm_vocab *v, int32_t id, bool special, char *buf, size_t cap)
{
	const char *t;
	size_t len, i, out = 0;

	if (id < 0 || (uint32_t)id >= v->n)
		return id >= 0 ? 0 : -EINVAL; /* rows past the tokens: nothing to print */
	t = v->text[id];
	len = v->len[id];
	if (v->type[id] == LLM_TOKEN_UNUSED)
		return 0; /* padding rows of the vocabulary */
	if (v->type[id] == LLM_TOKEN_CONTROL || v->type[id] == LLM_TOKEN_UNKNOWN) {
		if (!special)
			return 0;
		memcpy(buf, t, len < cap ? len : cap);
		return (int)len;
	}
	if (v->kind == LLM_VOCAB_SPM) {
		unsigned byte;

		if (v->type[id] == LLM_TOKEN_BYTE && sscanf(t, "<0x%02X>", &byte) == 1) {
			if (cap)
				buf[0] = (char)byte;
			return 1;
		}
		for (i = 0; i < len;) {
			if (i + 3 <= len && !memcmp(t + i, "\xe2\x96\x81", 3)) {
				if (out < cap)
					buf[out] = ' ';
				out++, i += 3;
			} else {
				if (out < cap)
					buf[out] = t[i];
				out++, i++;
			}
		}
		return (int)out;
	}
	if (v->type[id] == LLM_TOKEN_USER) {
		memcpy(buf, t, len < cap ? len : cap);
		return (int)len;
	}
	/* Byte-level: each code point back to the byte it stands for. */
	for (i = 0; i < len;) {
		size_t used;
		uint32_t cp = utf8_get(t + i, len - i, &used);
		int byte = cp_byte(cp);

		if (byte >= 0) {
			if (out < cap)
				buf[out] = (char)byte;
			out++;
		} else {
			for (size_t k = 0; k < used; k++, out++)
				if (out < cap)
					buf[out] = t[i + k];
		}
		i += used;
	}
	return (int)out;
}
