/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/api.c — OpenAI-style request parsing and response JSON
 * (jansson).  A request that asks for something this server does not do
 * (n > 1, logprobs, tools) is refused with the reason rather than half
 * served.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chat.h"
#include "vocab.h"

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -EINVAL)

/* A number field in [lo, hi], or @dflt when absent.  Return: 0; -EINVAL. */
static int number(json_t *o, const char *key, double lo, double hi, double dflt, double *out, char *why,
		  size_t whylen)
{
	json_t *v = json_object_get(o, key);

	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return WHY("%s must be a number", key);
	*out = json_number_value(v);
	if (!(*out >= lo && *out <= hi))
		return WHY("%s must be between %g and %g", key, lo, hi);
	return 0;
}

static int parse_stop(json_t *o, struct api_request *r, char *why, size_t whylen)
{
	json_t *s = json_object_get(o, "stop"), *e;
	size_t i;

	if (!s || json_is_null(s))
		return 0;
	if (json_is_string(s)) {
		if (!(r->stop[0] = strdup(json_string_value(s))))
			return -ENOMEM;
		r->go.nstop = json_string_length(s) ? 1 : 0;
		return 0;
	}
	if (!json_is_array(s) || json_array_size(s) > API_MAX_STOP)
		return WHY("stop must be a string or an array of at most %d strings", API_MAX_STOP);
	json_array_foreach(s, i, e) {
		if (!json_is_string(e))
			return WHY("stop[%zu] is not a string", i);
		if (!json_string_length(e))
			continue;
		if (!(r->stop[r->go.nstop++] = strdup(json_string_value(e))))
			return -ENOMEM;
	}
	return 0;
}

static int prompt_text(const struct llm_model *m, json_t *o, struct api_request *r, char *why, size_t whylen)
{
	json_t *p = json_object_get(o, "prompt");
	const struct llm_vocab *v = m->vocab;

	if (json_is_array(p) && json_array_size(p) == 1)
		p = json_array_get(p, 0);
	if (!json_is_string(p))
		return WHY("prompt must be a string");
	if (v->add_bos && v->bos >= 0) {
		int32_t *ids = malloc(64 * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		ids[0] = v->bos;
		r->ids = ids, r->nids = 1, r->idcap = 64;
	}
	/* Text from a client is text: special-token spellings in it are not
	 * turned into control tokens. */
	return llm_tokenize(v, json_string_value(p), json_string_length(p), false, &r->ids, &r->nids, &r->idcap);
}

static int chat_text(const struct llm_model *m, json_t *o, struct api_request *r, char *why, size_t whylen)
{
	json_t *msgs = json_object_get(o, "messages"), *e;
	struct llm_msg *list;
	char *text = NULL;
	size_t i, n;
	int err;

	if (!json_is_array(msgs) || (n = json_array_size(msgs)) == 0)
		return WHY("messages must be a non-empty array");
	list = calloc(n, sizeof(*list));
	if (!list)
		return -ENOMEM;
	err = 0;
	json_array_foreach(msgs, i, e) {
		json_t *role = json_object_get(e, "role"), *content = json_object_get(e, "content");

		if (!json_is_object(e) || !json_is_string(role) || !json_is_string(content)) {
			err = WHY("messages[%zu] needs a string role and a string content", i);
			break;
		}
		list[i].role = json_string_value(role);
		list[i].content = json_string_value(content);
		if (strcmp(list[i].role, "system") && strcmp(list[i].role, "user") && strcmp(list[i].role, "assistant")) {
			err = WHY("messages[%zu].role is \"%s\"; it must be system, user or assistant", i, list[i].role);
			break;
		}
	}
	if (!err) {
		err = llm_chat_render(m->vocab, list, n, &text);
		if (err == -EOPNOTSUPP)
			err = WHY("this model has no chat template the server knows: use /v1/completions");
	}
	/* The template's own markers are special tokens; the messages' text
	 * went into it as text (a message spelling <|im_end|> is the one
	 * thing this cannot tell apart). */
	if (!err)
		err = llm_tokenize(m->vocab, text, strlen(text), true, &r->ids, &r->nids, &r->idcap);
	free(text);
	free(list);
	return err;
}

int api_parse(const struct llm_model *m, bool chat, const char *body, size_t len, struct api_request *r, char *why,
	      size_t whylen)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	double mt, t, tp, seed;
	int e;

	memset(r, 0, sizeof(*r));
	r->chat = chat;
	if (!o)
		return WHY("the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
	if (!json_is_object(o)) {
		json_decref(o);
		return WHY("the body must be a JSON object");
	}
	e = number(o, "max_tokens", 0, 1e9, 128, &mt, why, whylen);
	if (!e)
		e = number(o, "temperature", 0, 2, 1, &t, why, whylen);
	if (!e)
		e = number(o, "top_p", 0, 1, 1, &tp, why, whylen);
	if (!e)
		e = number(o, "seed", 0, 1.8e19, 0, &seed, why, whylen);
	if (!e && (v = json_object_get(o, "n")) && !(json_is_integer(v) && json_integer_value(v) == 1))
		e = WHY("n must be 1: one completion per request");
	if (!e && (v = json_object_get(o, "stream")) && !json_is_boolean(v))
		e = WHY("stream must be true or false");
	if (!e && (v = json_object_get(o, "logprobs")) && !json_is_null(v) && !json_is_false(v))
		e = WHY("logprobs are not supported");
	if (!e) {
		r->stream = json_is_true(json_object_get(o, "stream"));
		r->go.max_tokens = (uint32_t)mt;
		r->go.temperature = (float)t;
		r->go.top_p = tp > 0 ? (float)tp : 1.0f;
		r->go.seed = (uint64_t)seed;
		e = parse_stop(o, r, why, whylen);
		r->go.stop = (const char *const *)r->stop;
	}
	if (!e)
		e = chat ? chat_text(m, o, r, why, whylen) : prompt_text(m, o, r, why, whylen);
	if (!e && r->nids == 0)
		e = WHY("the prompt is empty");
	if (!e && r->nids >= m->ctx) {
		snprintf(why, whylen, "the prompt is %u tokens; the context holds %u", r->nids, m->ctx);
		e = -ERANGE;
	}
	json_decref(o);
	if (e)
		api_request_free(r);
	return e;
}

void api_request_free(struct api_request *r)
{
	free(r->ids);
	for (unsigned i = 0; i < API_MAX_STOP; i++)
		free(r->stop[i]);
	memset(r, 0, sizeof(*r));
}

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

char *api_error(const char *message, const char *type)
{
	return dump(json_pack("{s:{s:s,s:s}}", "error", "message", message, "type", type));
}

char *api_result(const struct api_request *r, const char *id, long created, const char *model, const char *text,
		 size_t len, const struct llm_gen_result *res)
{
	json_t *choice = r->chat ? json_pack("{s:i,s:{s:s,s:o},s:s}", "index", 0, "message", "role", "assistant",
					     "content", text_value(text, len), "finish_reason", res->finish_reason)
				 : json_pack("{s:i,s:o,s:n,s:s}", "index", 0, "text", text_value(text, len), "logprobs",
					     "finish_reason", res->finish_reason);
	double rate = res->completion_tokens > 1 && res->decode_s > 0 ? (res->completion_tokens - 1) / res->decode_s : 0;

	return dump(json_pack("{s:s,s:s,s:i,s:s,s:[o],s:{s:i,s:i,s:i},s:{s:f,s:f,s:f}}", "id", id, "object",
			      r->chat ? "chat.completion" : "text_completion", "created", (json_int_t)created, "model",
			      model, "choices", choice, "usage", "prompt_tokens", (json_int_t)res->prompt_tokens,
			      "completion_tokens", (json_int_t)res->completion_tokens, "total_tokens",
			      (json_int_t)(res->prompt_tokens + res->completion_tokens), "timings", "prefill_seconds",
			      res->prefill_s, "decode_seconds", res->decode_s, "decode_tokens_per_second", rate));
}

char *api_chunk(const struct api_request *r, const char *id, long created, const char *model, const char *text,
		size_t len, bool first, const char *finish)
{
	json_t *choice, *o;
	char *body, *event;
	size_t n;

	if (r->chat) {
		json_t *delta = json_object();

		if (first)
			json_object_set_new(delta, "role", json_string("assistant"));
		if (len)
			json_object_set_new(delta, "content", text_value(text, len));
		choice = json_pack("{s:i,s:o,s:o}", "index", 0, "delta", delta, "finish_reason",
				   finish ? json_string(finish) : json_null());
	} else {
		choice = json_pack("{s:i,s:o,s:n,s:o}", "index", 0, "text", text_value(text, len), "logprobs",
				   "finish_reason", finish ? json_string(finish) : json_null());
	}
	o = json_pack("{s:s,s:s,s:i,s:s,s:[o]}", "id", id, "object",
		      r->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)created, "model",
		      model, "choices", choice);
	body = dump(o);
	if (!body)
		return NULL;
	n = strlen(body) + 32;
	event = malloc(n);
	if (event)
		snprintf(event, n, "data: %s\n\n%s", body, finish ? "data: [DONE]\n\n" : "");
	free(body);
	return event;
}
