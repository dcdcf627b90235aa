/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/api_reply.c — OpenAI-style response bodies (jansson):
 * results, stream chunks with their usage chunk, log-probabilities in the
 * chat and the completions formats, model lists and errors.
 *
 * Text reaches JSON as valid UTF-8: a token's bytes may end inside a
 * character, and those bytes stand as U+FFFD in its "token" string (its
 * "bytes" keep them exactly, as OpenAI's do).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "vocab.h"

static json_t *text_value(const char *s, size_t len)
{
	size_t n;
	char *clean = llm_utf8_clean(s, len, &n);
	json_t *v = clean ? json_stringn(clean, n) : NULL;

	free(clean);
	return v;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *api_error_json(const struct api_error *e)
{
	return dump(json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", e->message, "type", e->type, "param",
			      e->param[0] ? json_string(e->param) : json_null(), "code",
			      e->code ? json_string(e->code) : json_null()));
}

/* ---- log-probabilities ------------------------------------------------------ */

/* A token's bytes (control tokens give none). */
static int token_bytes(const struct llm_vocab *v, int32_t id, char *buf, size_t cap)
{
	int n = llm_token_bytes(v, id, false, buf, cap);

	return n < 0 ? 0 : n > (int)cap ? (int)cap : n;
}

/* Chat's form of one token: {token, logprob, bytes}. */
static json_t *chat_token(const struct llm_vocab *v, int32_t id, float logprob)
{
	char buf[256];
	int n = token_bytes(v, id, buf, sizeof(buf));
	json_t *bytes = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(bytes, json_integer((uint8_t)buf[i]));
	return json_pack("{s:o,s:f,s:o}", "token", text_value(buf, (size_t)n), "logprob", (double)logprob, "bytes", bytes);
}

/* {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...], "refusal": null} */
static json_t *chat_logprobs(const struct llm_vocab *v, const struct llm_token_out *toks, size_t n)
{
	json_t *content = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *t = chat_token(v, toks[i].id, toks[i].logprob), *top = json_array();

		for (uint32_t k = 0; k < toks[i].ntop; k++)
			json_array_append_new(top, chat_token(v, toks[i].top[k].id, toks[i].top[k].logprob));
		json_object_set_new(t, "top_logprobs", top);
		json_array_append_new(content, t);
	}
	return json_pack("{s:o,s:n}", "content", content, "refusal");
}

/* {"tokens", "token_logprobs", "top_logprobs", "text_offset"}: the
 * completions form; @offset is where the first token's text starts. */
static json_t *completion_logprobs(const struct llm_vocab *v, const struct llm_token_out *toks, size_t n,
				   size_t offset)
{
	json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(), *offsets = json_array();
	char buf[256];

	for (size_t i = 0; i < n; i++) {
		int len = token_bytes(v, toks[i].id, buf, sizeof(buf));
		json_t *top = json_object();

		json_array_append_new(tokens, text_value(buf, (size_t)len));
		json_array_append_new(lps, json_real(toks[i].logprob));
		json_array_append_new(offsets, json_integer((json_int_t)offset));
		offset += (size_t)len;
		for (uint32_t k = 0; k < toks[i].ntop; k++) {
			int tl = token_bytes(v, toks[i].top[k].id, buf, sizeof(buf));
			size_t cl;
			char *clean = llm_utf8_clean(buf, (size_t)tl, &cl);

			/* Two tokens may spell the same text: the likelier stays. */
			if (clean && !json_object_get(top, clean))
				json_object_set_new(top, clean, json_real(toks[i].top[k].logprob));
			free(clean);
		}
		json_array_append_new(tops, top);
	}
	return json_pack("{s:o,s:o,s:o,s:o}", "tokens", tokens, "token_logprobs", lps, "top_logprobs", tops, "text_offset",
			 offsets);
}

static json_t *logprobs_value(const struct llm_vocab *v, const struct api_request *r, const struct llm_token_out *toks,
			      size_t n, size_t offset)
{
	if (!r->go.logprobs)
		return json_null();
	return r->chat ? chat_logprobs(v, toks, n) : completion_logprobs(v, toks, n, offset);
}

/* ---- results ---------------------------------------------------------------- */

static json_t *usage(const struct llm_gen_result *res)
{
	return json_pack("{s:i,s:i,s:i}", "prompt_tokens", (json_int_t)res->prompt_tokens, "completion_tokens",
			 (json_int_t)res->completion_tokens, "total_tokens",
			 (json_int_t)(res->prompt_tokens + res->completion_tokens));
}

char *api_result(const struct llm_vocab *v, const struct api_request *r, const char *id, long created,
		 const char *model, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks,
		 const struct llm_gen_result *res)
{
	double rate = res->completion_tokens > 1 && res->decode_s > 0 ? (res->completion_tokens - 1) / res->decode_s : 0;
	json_t *choice;

	if (r->chat) {
		choice = json_pack("{s:i,s:{s:s,s:o,s:n},s:o,s:s}", "index", 0, "message", "role", "assistant", "content",
				   text_value(text, len), "refusal", "logprobs", logprobs_value(v, r, toks, ntoks, 0),
				   "finish_reason", res->finish_reason);
	} else {
		char *all = malloc(r->echo_len + len + 1);

		if (!all)
			return NULL;
		memcpy(all, r->echo_text ? r->echo_text : "", r->echo_len);
		memcpy(all + r->echo_len, text, len);
		choice = json_pack("{s:i,s:o,s:o,s:s}", "index", 0, "text", text_value(all, r->echo_len + len), "logprobs",
				   logprobs_value(v, r, toks, ntoks, r->echo_len), "finish_reason", res->finish_reason);
		free(all);
	}
	return dump(json_pack("{s:s,s:s,s:i,s:s,s:n,s:[o],s:o,s:{s:f,s:f,s:f}}", "id", id, "object",
			      r->chat ? "chat.completion" : "text_completion", "created", (json_int_t)created, "model",
			      model, "system_fingerprint", "choices", choice, "usage", usage(res), "timings",
			      "prefill_seconds", res->prefill_s, "decode_seconds", res->decode_s,
			      "decode_tokens_per_second", rate));
}

/* One chunk object with @choices (NULL: an empty list). */
static json_t *chunk(const struct api_request *r, const char *id, long created, const char *model, json_t *choice)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:n,s:o}", "id", id, "object",
			      r->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)created,
			      "model", model, "system_fingerprint", "choices", choice ? json_pack("[o]", choice) : json_array());

	/* With include_usage, every chunk says "usage": null but the last. */
	if (o && r->include_usage)
		json_object_set_new(o, "usage", json_null());
	return o;
}

static int add_event(char **buf, size_t *len, json_t *o)
{
	char *body = dump(o), *bigger;
	size_t n;

	if (!body)
		return -1;
	n = strlen(body);
	bigger = realloc(*buf, *len + n + 9);
	if (!bigger) {
		free(body);
		return -1;
	}
	*buf = bigger;
	*len += (size_t)sprintf(*buf + *len, "data: %s\n\n", body);
	free(body);
	return 0;
}

char *api_chunk(const struct llm_vocab *v, const struct api_request *r, const char *id, long created,
		const char *model, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks,
		size_t offset, bool first, const char *finish, const struct llm_gen_result *res)
{
	json_t *choice, *fin = finish ? json_string(finish) : json_null();
	char *out = NULL;
	size_t at = 0;

	if (r->chat) {
		json_t *delta = json_object();

		if (first)
			json_object_set_new(delta, "role", json_string("assistant"));
		if (len)
			json_object_set_new(delta, "content", text_value(text, len));
		choice = json_pack("{s:i,s:o,s:o,s:o}", "index", 0, "delta", delta, "logprobs",
				   ntoks ? logprobs_value(v, r, toks, ntoks, offset) : json_null(), "finish_reason", fin);
	} else {
		choice = json_pack("{s:i,s:o,s:o,s:o}", "index", 0, "text", text_value(text, len), "logprobs",
				   ntoks ? logprobs_value(v, r, toks, ntoks, offset) : json_null(), "finish_reason", fin);
	}
	if (add_event(&out, &at, chunk(r, id, created, model, choice)))
		goto fail;
	if (finish && r->include_usage) {
		json_t *last = chunk(r, id, created, model, NULL);

		if (last)
			json_object_set_new(last, "usage", usage(res));
		if (add_event(&out, &at, last))
			goto fail;
	}
	if (finish) {
		char *done = realloc(out, at + 15);

		if (!done)
			goto fail;
		out = done;
		memcpy(out + at, "data: [DONE]\n\n", 15);
	}
	return out;
fail:
	free(out);
	return NULL;
}

/* ---- models ----------------------------------------------------------------- */

static json_t *model_object(const char *model, long created)
{
	return json_pack("{s:s,s:s,s:i,s:s}", "id", model, "object", "model", "created", (json_int_t)created, "owned_by",
			 "strata");
}

char *api_models(const char *model, long created)
{
	return dump(json_pack("{s:s,s:[o]}", "object", "list", "data", model_object(model, created)));
}

char *api_model(const char *model, long created)
{
	return dump(model_object(model, created));
}
