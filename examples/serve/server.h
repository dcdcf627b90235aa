/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/server.h — the HTTP front: OpenAI-style completions and
 * chat completions (streamed as server-sent events when asked), /health
 * /v1/models, /health and /metrics, over libmicrohttpd.  One engine thread
 * serves requests in order from a bounded queue; a full queue answers 503.
 */
#ifndef STRATA_SERVE_SERVER_H
#define STRATA_SERVE_SERVER_H

#include <stdbool.h>

#include "llm.h"

struct server_opts {
	const char *listen; /* "ADDR:PORT", loopback by default */
	unsigned queue; /* requests waiting at most */
	const char *model_name; /* the id clients name; NULL: the file's name */
	bool accept_any_model; /* serve requests that name another model */
	unsigned drain_timeout; /* seconds after SIGTERM before generations are cancelled */
	unsigned max_conns; /* connections open at most (0: 1024); past it, 503 */
	unsigned header_timeout, body_timeout, idle_timeout; /* seconds; 0: 10, 30, 30 */
};

/* Serve until SIGTERM or SIGINT, then finish the requests in hand (for up
 * to drain_timeout seconds; then what still runs is cancelled) and
 * return.  Return: 0; -EADDRINUSE and other errors of starting. */
int server_run(struct llm_model *m, const struct server_opts *opts);

#endif /* STRATA_SERVE_SERVER_H */
