/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/api.h — the OpenAI-style request and response bodies:
 * parsing a completion or chat request into token ids and generation
 * options, and writing results, stream chunks and errors as JSON.
 */
#ifndef STRATA_SERVE_API_H
#define STRATA_SERVE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "generate.h"
#include "llm.h"

#define API_MAX_STOP 4

struct api_request {
	bool chat, stream;
	int32_t *ids; /* the prompt as token ids */
	uint32_t nids, idcap;
	struct llm_gen_opts go;
	char *stop[API_MAX_STOP];
};

/*
 * api_parse() - @body (JSON) of a request to /v1/completions (@chat false)
 * or /v1/chat/completions.  On failure @why says what is wrong, for a 400.
 * Return: 0; -EINVAL (malformed: @why); -ERANGE (the prompt does not fit
 * the context: @why); -ENOMEM.
 */
int api_parse(const struct llm_model *m, bool chat, const char *body, size_t len, struct api_request *r, char *why,
	      size_t whylen);
void api_request_free(struct api_request *r);

/* Bodies, malloc'ed JSON text (NULL when out of memory). */
char *api_error(const char *message, const char *type);
char *api_result(const struct api_request *r, const char *id, long created, const char *model, const char *text,
		 size_t len, const struct llm_gen_result *res);
/* One server-sent event "data: {…}\n\n" with @text (role first for chat
 * when @first); with @finish, the closing chunk and "data: [DONE]". */
char *api_chunk(const struct api_request *r, const char *id, long created, const char *model, const char *text,
		size_t len, bool first, const char *finish);

#endif /* STRATA_SERVE_API_H */
