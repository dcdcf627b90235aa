/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/chat.h — a conversation written out the way the model was
 * trained to read it.  The template is recognised from the GGUF file's
 * tokenizer.chat_template (a Jinja text this example does not execute):
 * ChatML, Llama 2 ([INST]) and Llama 3 (header ids).
 */
#ifndef STRATA_SERVE_CHAT_H
#define STRATA_SERVE_CHAT_H

#include <stddef.h>

#include "vocab.h"

enum llm_chat_style { LLM_CHAT_CHATML, LLM_CHAT_LLAMA2, LLM_CHAT_LLAMA3 };

struct llm_msg {
	const char *role; /* "system", "user" or "assistant" */
	const char *content;
};

/* The template style of @v.  Return: 0; -EOPNOTSUPP (a template this
 * example does not know, or none and no marker tokens to guess from). */
int llm_chat_style(const struct llm_vocab *v, enum llm_chat_style *out);

/*
 * llm_chat_render() - @msgs written out in @v's template, ending with the
 * prompt for the assistant's turn; special tokens appear as their text
 * (tokenize with special recognition).  *@out is malloc'ed.
 * Return: 0; -EINVAL (an unknown role); -EOPNOTSUPP; -ENOMEM.
 */
int llm_chat_render(const struct llm_vocab *v, const struct llm_msg *msgs, size_t n, char **out);

#endif /* STRATA_SERVE_CHAT_H */
