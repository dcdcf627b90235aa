/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/api.h — the OpenAI-style request and response bodies:
 * parsing a completion or chat request into token ids and generation
 * options (api.c), and writing results, stream chunks, model lists and
 * errors as JSON (api_reply.c).
 *
 * What a request asks for is either done or refused with a 400 that names
 * the field: nothing is silently ignored.  A field that is null, or holds
 * the value that asks for nothing (n 1, best_of 1, an empty logit_bias,
 * response_format text, no tools), counts as absent.
 */
#ifndef STRATA_SERVE_API_H
#define STRATA_SERVE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "generate.h"
#include "llm.h"

#define API_MAX_STOP 4

/* An error as OpenAI writes it: {"error": {message, type, param, code}}. */
struct api_error {
	unsigned status; /* HTTP status */
	const char *type; /* "invalid_request_error", "server_error", … */
	const char *code; /* "invalid_value", "model_not_found", …; NULL: null */
	char param[96]; /* the field at fault ("messages[0].content"); "": null */
	char message[400];
};

/* What the server serves, for the checks that depend on it. */
struct api_config {
	const char *model; /* the model's id in requests and /v1/models */
	bool accept_any_model; /* a request naming another model is served anyway */
};

struct api_request {
	bool chat, stream, include_usage, echo;
	int32_t *ids; /* the prompt as token ids */
	uint32_t nids, idcap;
	char *echo_text; /* completions with echo: the prompt, as the client wrote it */
	size_t echo_len;
	struct llm_gen_opts go;
	char *stop[API_MAX_STOP];
};

/*
 * api_parse() - @body (JSON) of a request to /v1/completions (@chat false)
 * or /v1/chat/completions.  A prompt longer in bytes than the context
 * could hold in tokens is refused before it is tokenized.
 * Return: 0; -EINVAL (@err says why, with the status to answer); -ENOMEM.
 */
int api_parse(const struct llm_model *m, const struct api_config *cfg, bool chat, const char *body, size_t len,
	      struct api_request *r, struct api_error *err);
void api_request_free(struct api_request *r);

/* Fill @e (printf-style message) and return -EINVAL. */
int api_fail(struct api_error *e, unsigned status, const char *code, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- bodies (api_reply.c): malloc'ed JSON text, NULL when out of memory -- */

char *api_error_json(const struct api_error *e);

/* The whole answer; @toks: the tokens' log-probabilities when asked for. */
char *api_result(const struct llm_vocab *v, const struct api_request *r, const char *id, long created,
		 const char *model, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks,
		 const struct llm_gen_result *res);

/* One server-sent event "data: {…}\n\n" with @text (role first for chat
 * when @first), the log-probabilities of @toks, and @offset the bytes of
 * text sent before it (completions' text_offset); with @finish, the
 * closing chunk, then the usage chunk when asked for (@res), and
 * "data: [DONE]". */
char *api_chunk(const struct llm_vocab *v, const struct api_request *r, const char *id, long created,
		const char *model, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks,
		size_t offset, bool first, const char *finish, const struct llm_gen_result *res);

/* GET /v1/models and /v1/models/{id}. */
char *api_models(const char *model, long created);
char *api_model(const char *model, long created);

#endif /* STRATA_SERVE_API_H */
