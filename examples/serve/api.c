/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/api.c — OpenAI-style request parsing (jansson).
 *
 * Every field of the body is looked up in the endpoint's table: a field
 * the server does is parsed and checked; one it does not do (tools,
 * response_format, logit_bias, suffix, best_of, …) is refused with a 400
 * that names it, unless it is null or holds the value that asks for
 * nothing; any other is refused as unknown.  Errors carry OpenAI's
 * message, type, param and code.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chat.h"
#include "vocab.h"

int api_fail(struct api_error *e, unsigned status, const char *code, const char *param, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->type = status >= 500 ? "server_error" : "invalid_request_error";
	e->code = code;
	snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define BAD(param, ...) api_fail(err, 400, "invalid_value", param, __VA_ARGS__)

/* ---- the fields ------------------------------------------------------------- */

enum { CHAT = 1, COMPLETION = 2, BOTH = 3 };

/* Fields the server does, and the endpoints that take them. */
static const struct {
	const char *name;
	int where;
} served[] = {
	{ "model", BOTH },
	{ "messages", CHAT },
	{ "prompt", COMPLETION },
	{ "max_tokens", BOTH },
	{ "max_completion_tokens", BOTH },
	{ "temperature", BOTH },
	{ "top_p", BOTH },
	{ "seed", BOTH },
	{ "stop", BOTH },
	{ "stream", BOTH },
	{ "stream_options", BOTH },
	{ "n", BOTH }, /* 1 only */
	{ "logprobs", BOTH },
	{ "top_logprobs", CHAT },
	{ "echo", COMPLETION },
	{ "presence_penalty", BOTH },
	{ "frequency_penalty", BOTH },
	{ "repetition_penalty", BOTH }, /* an extension, as vLLM has it */
	{ "user", BOTH }, /* the end user's id: it changes nothing in the answer */
};

/* Whether @v asks for nothing: the value an absent field stands for. */
static bool inert(const char *name, json_t *v)
{
	if (json_is_null(v))
		return true;
	if (!strcmp(name, "best_of"))
		return json_is_integer(v) && json_integer_value(v) == 1;
	if (!strcmp(name, "logit_bias"))
		return json_is_object(v) && json_object_size(v) == 0;
	if (!strcmp(name, "response_format")) {
		json_t *t = json_object_get(v, "type");

		return json_is_object(v) && json_object_size(v) == 1 && json_is_string(t) &&
		       !strcmp(json_string_value(t), "text");
	}
	if (!strcmp(name, "tools") || !strcmp(name, "functions"))
		return json_is_array(v) && json_array_size(v) == 0;
	if (!strcmp(name, "tool_choice") || !strcmp(name, "function_call"))
		return json_is_string(v) && !strcmp(json_string_value(v), "none");
	if (!strcmp(name, "suffix"))
		return json_is_string(v) && json_string_length(v) == 0;
	return false;
}

/* Fields clients send that this server knows and does not do: why. */
static const struct {
	const char *name;
	const char *why;
} not_done[] = {
	{ "tools", "tool calls are not supported" },
	{ "tool_choice", "tool calls are not supported" },
	{ "parallel_tool_calls", "tool calls are not supported" },
	{ "functions", "function calls are not supported" },
	{ "function_call", "function calls are not supported" },
	{ "response_format", "only {\"type\": \"text\"} is supported: no JSON mode or schemas" },
	{ "logit_bias", "logit_bias is not supported" },
	{ "suffix", "suffix (insertion) is not supported" },
	{ "best_of", "best_of must be 1: one completion per request" },
	{ "top_k", "top_k is not supported: use top_p" },
	{ "min_p", "min_p is not supported: use top_p" },
	{ "modalities", "only text is supported" },
	{ "audio", "only text is supported" },
	{ "prediction", "predicted outputs are not supported" },
	{ "reasoning_effort", "this model has no reasoning settings" },
	{ "service_tier", "there are no service tiers" },
	{ "store", "stored completions are not supported" },
	{ "metadata", "stored completions are not supported" },
	{ "web_search_options", "web search is not supported" },
};

static int check_fields(json_t *o, bool chat, struct api_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof(served) / sizeof(served[0]); i++)
			if (!strcmp(served[i].name, key))
				break;
		if (i < sizeof(served) / sizeof(served[0])) {
			if (served[i].where & (chat ? CHAT : COMPLETION))
				continue;
			return api_fail(err, 400, "unsupported_parameter", key, "%s is not a field of %s", key,
					chat ? "/v1/chat/completions" : "/v1/completions");
		}
		if (inert(key, v))
			continue;
		for (i = 0; i < sizeof(not_done) / sizeof(not_done[0]); i++)
			if (!strcmp(not_done[i].name, key))
				return api_fail(err, 400, "unsupported_parameter", key, "%s: %s", key, not_done[i].why);
		return api_fail(err, 400, "unsupported_parameter", key, "unknown field \"%s\"", key);
	}
	return 0;
}

/* ---- values ----------------------------------------------------------------- */

/* The field, or NULL when absent or null. */
static json_t *field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

/* A number field in [lo, hi], or @dflt when absent. */
static int number(json_t *o, const char *key, double lo, double hi, double dflt, double *out, struct api_error *err)
{
	json_t *v = field(o, key);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_number(v))
		return BAD(key, "%s must be a number", key);
	*out = json_number_value(v);
	if (!(*out >= lo && *out <= hi))
		return BAD(key, "%s must be between %g and %g", key, lo, hi);
	return 0;
}

/* An integer field in [lo, hi]; *@out untouched when absent. */
static int integer(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out, struct api_error *err)
{
	json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return BAD(key, "%s must be an integer", key);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return BAD(key, "%s must be between %lld and %lld", key, (long long)lo, (long long)hi);
	return 0;
}

static int boolean(json_t *o, const char *key, bool *out, struct api_error *err)
{
	json_t *v = field(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return BAD(key, "%s must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int parse_stop(json_t *o, struct api_request *r, struct api_error *err)
{
	json_t *s = field(o, "stop"), *e;
	size_t i;

	if (!s)
		return 0;
	if (json_is_string(s)) {
		if (!(r->stop[0] = strdup(json_string_value(s))))
			return -ENOMEM;
		r->go.nstop = json_string_length(s) ? 1 : 0;
		return 0;
	}
	if (!json_is_array(s) || json_array_size(s) > API_MAX_STOP)
		return BAD("stop", "stop must be a string or an array of at most %d strings", API_MAX_STOP);
	json_array_foreach(s, i, e) {
		if (!json_is_string(e))
			return BAD("stop", "stop[%zu] is not a string", i);
		if (!json_string_length(e))
			continue;
		if (!(r->stop[r->go.nstop++] = strdup(json_string_value(e))))
			return -ENOMEM;
	}
	return 0;
}

/* max_tokens and max_completion_tokens (current clients send the latter):
 * at least 1; absent, until the context is full. */
static int parse_length(json_t *o, struct api_request *r, struct api_error *err)
{
	json_int_t a = -1, b = -1;
	int e;

	if ((e = integer(o, "max_tokens", 1, 1 << 30, &a, err)) ||
	    (e = integer(o, "max_completion_tokens", 1, 1 << 30, &b, err)))
		return e;
	if (a > 0 && b > 0 && a != b)
		return BAD("max_completion_tokens", "max_tokens (%lld) and max_completion_tokens (%lld) disagree: give one",
			   (long long)a, (long long)b);
	r->go.max_tokens = (uint32_t)(b > 0 ? b : a > 0 ? a : 0);
	return 0;
}

/* logprobs: chat takes true/false and top_logprobs 0–20; completions take
 * a number of alternatives 0–20 (OpenAI's limit there is 5). */
static int parse_logprobs(json_t *o, struct api_request *r, struct api_error *err)
{
	json_int_t top = 0;
	int e;

	if (r->chat) {
		if ((e = boolean(o, "logprobs", &r->go.logprobs, err)) ||
		    (e = integer(o, "top_logprobs", 0, LLM_TOP_LOGPROBS_MAX, &top, err)))
			return e;
		if (field(o, "top_logprobs") && !r->go.logprobs)
			return BAD("top_logprobs", "top_logprobs needs logprobs: true");
	} else {
		json_t *v = field(o, "logprobs");

		if (v && json_is_boolean(v)) /* some clients send a chat-style flag */
			r->go.logprobs = json_is_true(v);
		else if ((e = integer(o, "logprobs", 0, LLM_TOP_LOGPROBS_MAX, &top, err)))
			return e;
		else
			r->go.logprobs = v != NULL;
		if (r->go.logprobs && r->echo)
			return BAD("echo", "echo with logprobs would need the prompt's log-probabilities, which this "
					   "server does not compute");
	}
	r->go.top_logprobs = (uint32_t)top;
	return 0;
}

static int parse_options(json_t *o, const struct api_config *cfg, struct api_request *r, struct api_error *err)
{
	double t, tp, pp, fp, rp;
	json_int_t n = 1, seed = 0;
	json_t *model = field(o, "model"), *so = field(o, "stream_options");
	int e;

	if (model && !json_is_string(model))
		return BAD("model", "model must be a string");
	if (model && !cfg->accept_any_model && strcmp(json_string_value(model), cfg->model))
		return api_fail(err, 404, "model_not_found", "model",
				"the model \"%.100s\" does not exist here: this server serves \"%s\" (GET /v1/models)",
				json_string_value(model), cfg->model);
	if (integer(o, "n", 1, 1, &n, err))
		return BAD("n", "n must be 1: one completion per request");
	if ((e = parse_length(o, r, err)) || (e = number(o, "temperature", 0, 2, 1, &t, err)) ||
	    (e = number(o, "top_p", 0, 1, 1, &tp, err)) || (e = integer(o, "seed", INT64_MIN, INT64_MAX, &seed, err)) ||
	    (e = boolean(o, "stream", &r->stream, err)) ||
	    (e = boolean(o, "echo", &r->echo, err)) || (e = number(o, "presence_penalty", -2, 2, 0, &pp, err)) ||
	    (e = number(o, "frequency_penalty", -2, 2, 0, &fp, err)) ||
	    (e = number(o, "repetition_penalty", 0.01, 100, 1, &rp, err)) || (e = parse_logprobs(o, r, err)))
		return e;
	if (field(o, "user") && !json_is_string(field(o, "user")))
		return BAD("user", "user must be a string");
	if (so) {
		const char *key;
		json_t *v;

		if (!r->stream)
			return BAD("stream_options", "stream_options is only allowed with stream: true");
		if (!json_is_object(so))
			return BAD("stream_options", "stream_options must be an object");
		json_object_foreach(so, key, v) {
			if (strcmp(key, "include_usage"))
				return api_fail(err, 400, "unsupported_parameter", "stream_options",
						"stream_options.%s is not supported (only include_usage)", key);
		}
		if ((e = boolean(so, "include_usage", &r->include_usage, err)))
			return BAD("stream_options", "stream_options.include_usage must be true or false");
	}
	r->go.temperature = (float)t;
	r->go.top_p = tp > 0 ? (float)tp : 1.0f;
	r->go.seed = (uint64_t)seed;
	r->go.presence_penalty = (float)pp;
	r->go.frequency_penalty = (float)fp;
	r->go.repetition_penalty = (float)rp;
	if ((e = parse_stop(o, r, err)))
		return e;
	r->go.stop = (const char *const *)r->stop;
	return 0;
}

/* ---- the prompt ------------------------------------------------------------- */

/* Refuse, before tokenizing, text that cannot fit the context. */
static int fits(const struct llm_model *m, size_t bytes, const char *param, struct api_error *err)
{
	uint64_t least = llm_tokens_at_least(m->vocab, bytes);

	if (least < m->ctx)
		return 0;
	return api_fail(err, 400, "context_length_exceeded", param,
			"the prompt is %zu bytes, at least %llu tokens; the context holds %u", bytes,
			(unsigned long long)least, m->ctx);
}

static int push_bos(const struct llm_model *m, struct api_request *r)
{
	const struct llm_vocab *v = m->vocab;

	if (!v->add_bos || v->bos < 0)
		return 0;
	if (!(r->ids = malloc(64 * sizeof(*r->ids))))
		return -ENOMEM;
	r->ids[0] = v->bos;
	r->nids = 1, r->idcap = 64;
	return 0;
}

/* A prompt of token ids, as OpenAI's API allows. */
static int prompt_ids(const struct llm_model *m, json_t *p, struct api_request *r, struct api_error *err)
{
	size_t n = json_array_size(p), i;
	json_t *e;

	if (n >= m->ctx)
		return api_fail(err, 400, "context_length_exceeded", "prompt", "the prompt is %zu tokens; the context holds %u",
				n, m->ctx);
	if (!(r->ids = malloc((n ? n : 1) * sizeof(*r->ids))))
		return -ENOMEM;
	r->idcap = (uint32_t)(n ? n : 1);
	json_array_foreach(p, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= m->hp.vocab)
			return BAD("prompt", "prompt[%zu] is not a token id (0 to %lld)", i, (long long)m->hp.vocab - 1);
		r->ids[r->nids++] = (int32_t)json_integer_value(e);
	}
	return 0;
}

static int prompt_text(const struct llm_model *m, json_t *o, struct api_request *r, struct api_error *err)
{
	json_t *p = field(o, "prompt");
	int e;

	if (json_is_array(p) && json_array_size(p) > 0 && json_is_integer(json_array_get(p, 0)))
		return r->echo ? BAD("echo", "echo needs the prompt as text") : prompt_ids(m, p, r, err);
	if (json_is_array(p) && json_array_size(p) == 1)
		p = json_array_get(p, 0);
	if (json_is_array(p))
		return BAD("prompt", "one prompt per request: a string, or an array of token ids");
	if (!json_is_string(p))
		return BAD("prompt", "prompt must be a string or an array of token ids");
	if ((e = fits(m, json_string_length(p), "prompt", err)) || (e = push_bos(m, r)))
		return e;
	if (r->echo) {
		r->echo_len = json_string_length(p);
		if (!(r->echo_text = malloc(r->echo_len + 1)))
			return -ENOMEM;
		memcpy(r->echo_text, json_string_value(p), r->echo_len + 1);
	}
	/* Text from a client is text: special-token spellings in it are not
	 * turned into control tokens. */
	return llm_tokenize(m->vocab, json_string_value(p), json_string_length(p), false, &r->ids, &r->nids, &r->idcap);
}

/* A message's content: a string, or text parts joined by newlines (as
 * vLLM does).  *@out is malloc'ed. */
static int content_text(json_t *c, size_t at, char **out, struct api_error *err)
{
	char param[64];
	size_t i, len = 0;
	json_t *part;

	snprintf(param, sizeof(param), "messages[%zu].content", at);
	if (json_is_string(c))
		return (*out = strdup(json_string_value(c))) ? 0 : -ENOMEM;
	if (!json_is_array(c))
		return BAD(param, "%s must be a string or an array of text parts", param);
	json_array_foreach(c, i, part) {
		json_t *type = json_object_get(part, "type"), *text = json_object_get(part, "text");

		if (!json_is_object(part) || !json_is_string(type))
			return BAD(param, "%s[%zu] must be an object with a type", param, i);
		if (strcmp(json_string_value(type), "text"))
			return api_fail(err, 400, "unsupported_content_type", param,
					"%s[%zu] is of type \"%.40s\": only text parts are supported", param, i,
					json_string_value(type));
		if (!json_is_string(text) || json_object_size(part) != 2)
			return BAD(param, "%s[%zu] must be {\"type\": \"text\", \"text\": STRING}", param, i);
		len += json_string_length(text) + 1;
	}
	if (!(*out = malloc(len + 1)))
		return -ENOMEM;
	len = 0;
	json_array_foreach(c, i, part) {
		json_t *text = json_object_get(part, "text");

		if (i)
			(*out)[len++] = '\n';
		memcpy(*out + len, json_string_value(text), json_string_length(text));
		len += json_string_length(text);
	}
	(*out)[len] = 0;
	return 0;
}

static int one_message(json_t *e, size_t i, struct llm_msg *msg, char **text, struct api_error *err)
{
	json_t *role = json_object_get(e, "role"), *content = json_object_get(e, "content");
	const char *key, *rs;
	char param[48];
	json_t *v;
	int rc;

	snprintf(param, sizeof(param), "messages[%zu]", i);
	if (!json_is_object(e) || !json_is_string(role))
		return BAD(param, "%s must be an object with a string role", param);
	rs = json_string_value(role);
	if (!strcmp(rs, "developer")) /* what newer models call the system message */
		rs = "system";
	if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant"))
		return BAD(param, "%s.role is \"%.40s\"; it must be system, developer, user or assistant%s", param, rs,
			   !strcmp(rs, "tool") || !strcmp(rs, "function") ? " (tool calls are not supported)" : "");
	json_object_foreach(e, key, v) {
		if (strcmp(key, "role") && strcmp(key, "content"))
			return api_fail(err, 400, "unsupported_parameter", param, "%s.%s is not supported%s", param, key,
					!strcmp(key, "tool_calls") ? ": tool calls are not supported" : "");
	}
	if (!content || json_is_null(content))
		return BAD(param, "%s needs a content", param);
	msg->role = rs;
	rc = content_text(content, i, text, err);
	msg->content = *text;
	return rc;
}

static int chat_text(const struct llm_model *m, json_t *o, struct api_request *r, struct api_error *err)
{
	json_t *msgs = field(o, "messages"), *e;
	struct llm_msg *list;
	char *text = NULL, **owned;
	size_t i, n;
	int rc = 0;

	if (!json_is_array(msgs) || (n = json_array_size(msgs)) == 0)
		return BAD("messages", "messages must be a non-empty array");
	list = calloc(n, sizeof(*list));
	owned = calloc(n, sizeof(*owned));
	if (!list || !owned) {
		free(list);
		free(owned);
		return -ENOMEM;
	}
	json_array_foreach(msgs, i, e) {
		if ((rc = one_message(e, i, &list[i], &owned[i], err)))
			break;
	}
	if (!rc) {
		rc = llm_chat_render(m->vocab, list, n, &text);
		if (rc == -EOPNOTSUPP)
			rc = BAD("messages", "this model has no chat template the server knows: use /v1/completions");
	}
	if (!rc)
		rc = fits(m, strlen(text), "messages", err);
	/* The template's own markers are special tokens; the messages' text
	 * went into it as text (a message spelling <|im_end|> is the one
	 * thing this cannot tell apart). */
	if (!rc)
		rc = llm_tokenize(m->vocab, text, strlen(text), true, &r->ids, &r->nids, &r->idcap);
	free(text);
	for (i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	free(list);
	return rc;
}

int api_parse(const struct llm_model *m, const struct api_config *cfg, bool chat, const char *body, size_t len,
	      struct api_request *r, struct api_error *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	int e;

	memset(r, 0, sizeof(*r));
	r->chat = chat;
	if (!o)
		return api_fail(err, 400, "invalid_json", NULL, "the body is not JSON: %s (line %d, column %d)", jerr.text,
				jerr.line, jerr.column);
	if (!json_is_object(o)) {
		json_decref(o);
		return api_fail(err, 400, "invalid_json", NULL, "the body must be a JSON object");
	}
	e = check_fields(o, chat, err);
	if (!e)
		e = parse_options(o, cfg, r, err);
	if (!e)
		e = chat ? chat_text(m, o, r, err) : prompt_text(m, o, r, err);
	if (!e && r->nids == 0)
		e = BAD(chat ? "messages" : "prompt", "the prompt is empty");
	if (!e && r->nids >= m->ctx)
		e = api_fail(err, 400, "context_length_exceeded", chat ? "messages" : "prompt",
			     "the prompt is %u tokens; the context holds %u", r->nids, m->ctx);
	json_decref(o);
	if (e)
		api_request_free(r);
	return e;
}

void api_request_free(struct api_request *r)
{
	free(r->ids);
	free(r->echo_text);
	for (unsigned i = 0; i < API_MAX_STOP; i++)
		free(r->stop[i]);
	memset(r, 0, sizeof(*r));
}
