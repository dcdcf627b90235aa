/* SPDX-License-Identifier: MIT */
/*
 * trace/http.c — the Prometheus endpoint: GET /metrics over HTTP, served by
 * libmicrohttpd's own thread.  Off unless configured; an address without a
 * host binds 127.0.0.1, so nothing is reachable from outside by default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "trace/metrics_int.h"
#include "trace/trace_int.h"

static struct MHD_Daemon *daemon_;
static pthread_mutex_t http_lock = PTHREAD_MUTEX_INITIALIZER;

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static mhd_result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
			bool ours)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
	mhd_result ret;

	if (ours)
		free(body);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			 const char *version, const char *upload, size_t *upload_len, void **state)
{
	static char not_found[] = "not found: try /metrics\n", bad_method[] = "only GET\n";
	char *text;
	size_t len;

	(void)cls, (void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, 405, "text/plain", bad_method, sizeof(bad_method) - 1, false);
	if (strcmp(url, "/metrics"))
		return reply(c, 404, "text/plain", not_found, sizeof(not_found) - 1, false);
	if (st_metrics_render(&text, &len))
		return reply(c, 500, "text/plain", bad_method, 0, false);
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, true);
}

/* "HOST:PORT", ":PORT" or "PORT"; IPv4 only. */
static int parse(const char *addr, struct sockaddr_in *sa)
{
	const char *colon = strrchr(addr, ':');
	char host[64] = "127.0.0.1", *end;
	long port;

	if (colon && colon != addr) {
		if ((size_t)(colon - addr) >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
	}
	port = strtol(colon ? colon + 1 : addr, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

int st_metrics_http_start(const char *addr)
{
	struct sockaddr_in sa;
	int err;

	if (!addr || !*addr)
		return -EINVAL;
	err = parse(addr, &sa);
	if (err)
		return err;
	pthread_mutex_lock(&http_lock);
	if (!daemon_)
		daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, ntohs(sa.sin_port), NULL, NULL, handle, NULL,
					   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 16u,
					   MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	err = daemon_ ? 0 : -EADDRNOTAVAIL;
	pthread_mutex_unlock(&http_lock);
	return err;
}

void st_metrics_http_stop(void)
{
	pthread_mutex_lock(&http_lock);
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	pthread_mutex_unlock(&http_lock);
}
