/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/server.h — the HTTP front: OpenAI-style completions and
 * chat completions (streamed as server-sent events when asked), /health
 * and /metrics, over libmicrohttpd.  One engine thread serves requests in
 * order from a bounded queue; a full queue answers 503.
 */
#ifndef STRATA_SERVE_SERVER_H
#define STRATA_SERVE_SERVER_H

#include "llm.h"

struct server_opts {
	const char *listen; /* "ADDR:PORT", loopback by default */
	unsigned queue; /* requests waiting at most */
};

/* Serve until SIGTERM or SIGINT, then finish the requests in hand and
 * return.  Return: 0; -EADDRINUSE and other errors of starting. */
int server_run(struct llm_model *m, const struct server_opts *opts);

#endif /* STRATA_SERVE_SERVER_H */
