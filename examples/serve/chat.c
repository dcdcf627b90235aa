/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/chat.c — ChatML, Llama 2 and Llama 3 conversations.
 *
 * Templates that add a system message when the conversation has none
 * (SmolLM2's does) say so in their text; that default is found and used.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

int llm_chat_style(const struct llm_vocab *v, enum llm_chat_style *out)
{
	const char *t = v->template;

	if (t ? strstr(t, "<|im_start|>") != NULL : llm_vocab_find(v, "<|im_start|>", 12) >= 0)
		*out = LLM_CHAT_CHATML;
	else if (t ? strstr(t, "<|start_header_id|>") != NULL : llm_vocab_find(v, "<|start_header_id|>", 19) >= 0)
		*out = LLM_CHAT_LLAMA3;
	else if (t ? strstr(t, "[INST]") != NULL : v->kind == LLM_VOCAB_SPM)
		*out = LLM_CHAT_LLAMA2;
	else
		return -EOPNOTSUPP;
	return 0;
}

struct buf {
	char *s;
	size_t len, cap;
	int err;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t c = (b->len + n + 1) * 2;
		char *t = realloc(b->s, c);

		if (!t) {
			b->err = -ENOMEM;
			return;
		}
		b->s = t;
		b->cap = c;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* @s without leading and trailing white space, as Llama's templates want. */
static void add_trimmed(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	while (n && strchr(" \t\r\n", *s))
		s++, n--;
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	add(b, s, n);
}

/* The system message a ChatML template adds when there is none. */
static bool default_system(const char *t, const char **text, size_t *len)
{
	static const char open[] = "<|im_start|>system\n";
	const char *a, *e;

	if (!t || !strstr(t, "!= 'system'") || !(a = strstr(t, open)))
		return false;
	a += sizeof(open) - 1;
	e = strstr(a, "<|im_end|>");
	if (!e)
		return false;
	*text = a;
	*len = (size_t)(e - a);
	return true;
}

static bool known_role(const char *r)
{
	return !strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant");
}

static void chatml(struct buf *b, const struct llm_vocab *v, const struct llm_msg *m, size_t n)
{
	const char *sys;
	size_t syslen;

	if ((n == 0 || strcmp(m[0].role, "system")) && default_system(v->template, &sys, &syslen)) {
		adds(b, "<|im_start|>system\n");
		add(b, sys, syslen);
		adds(b, "<|im_end|>\n");
	}
	for (size_t i = 0; i < n; i++) {
		adds(b, "<|im_start|>");
		adds(b, m[i].role);
		adds(b, "\n");
		adds(b, m[i].content);
		adds(b, "<|im_end|>\n");
	}
	adds(b, "<|im_start|>assistant\n");
}

static void llama3(struct buf *b, const struct llm_msg *m, size_t n)
{
	adds(b, "<|begin_of_text|>");
	for (size_t i = 0; i < n; i++) {
		adds(b, "<|start_header_id|>");
		adds(b, m[i].role);
		adds(b, "<|end_header_id|>\n\n");
		add_trimmed(b, m[i].content);
		adds(b, "<|eot_id|>");
	}
	adds(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] … */
static void llama2(struct buf *b, const struct llm_msg *m, size_t n)
{
	size_t i = 0;
	const char *sys = NULL;

	if (n && !strcmp(m[0].role, "system"))
		sys = m[0].content, i = 1;
	for (bool first = true; i < n; i++) {
		if (!strcmp(m[i].role, "assistant")) {
			adds(b, " ");
			add_trimmed(b, m[i].content);
			adds(b, " </s>");
			continue;
		}
		adds(b, "<s>[INST] ");
		if (first && sys) {
			adds(b, "<<SYS>>\n");
			add_trimmed(b, sys);
			adds(b, "\n<</SYS>>\n\n");
		}
		first = false;
		add_trimmed(b, m[i].content);
		adds(b, " [/INST]");
	}
}

int llm_chat_render(const struct llm_vocab *v, const struct llm_msg *msgs, size_t n, char **out)
{
	struct buf b = { 0 };
	enum llm_chat_style style;
	int e = llm_chat_style(v, &style);

	if (e)
		return e;
	for (size_t i = 0; i < n; i++)
		if (!msgs[i].role || !msgs[i].content || !known_role(msgs[i].role))
			return -EINVAL;
	switch (style) {
	case LLM_CHAT_CHATML: chatml(&b, v, msgs, n); break;
	case LLM_CHAT_LLAMA3: llama3(&b, msgs, n); break;
	case LLM_CHAT_LLAMA2: llama2(&b, msgs, n); break;
	}
	add(&b, "", 0);
	if (b.err) {
		free(b.s);
		return b.err;
	}
	*out = b.s;
	return 0;
}
