/*
 * ruvector/http.h — HTTP(S) requests for the library's network users: model downloads and the
 * A2A client (agent-card GET, JSON-RPC POST, Server-Sent Event streams). libcurl underneath, in
 * one file (src/base/http.c); nothing else in the library knows curl.
 *
 * One request, two ways to receive the response:
 *   rv_http_perform   buffers the body, up to body_max bytes (RV_HTTP_BODY_MAX_*): for agent
 *                     cards and JSON-RPC answers;
 *   rv_http_stream    hands every chunk to a callback as it arrives, with the status and the
 *                     headers already known: for SSE and for downloads written to a file.
 * Both block the calling thread until the transfer ends. TLS peer and host verification are
 * always on (there is no switch); only http and https are spoken, redirects included; at most
 * max_redirects redirects are followed. Timeouts: connect, total, and a stall limit (fewer than
 * stall_min_rate bytes/s for stall_timeout_ms: the idle-stream guard). A cancel hook is polled
 * by curl's transfer-info callback (several times a second while bytes move, about once a second
 * when idle), so a transfer stops soon after the caller asks, even on a silent connection.
 *
 * An HTTP error status is not a transport failure: the call succeeds and the status is in the
 * response, so the caller decides (a download refuses a 404; A2A attaches the status to its
 * TransportError). Transport failures (DNS, connect, TLS, timeouts, resets, too many redirects,
 * a body over its cap) return RV_ERR_TRANSPORT with curl's code in the response.
 *
 * Threading: any thread; requests are independent (each has its own easy handle). The first
 * request runs curl_global_init, once per process.
 */
#ifndef RUVECTOR_HTTP_H
#define RUVECTOR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/base.h"
#include "ruvector/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Buffered response bodies (bytes). A2A agent cards are capped lower (1 MiB) by their caller. */
#define RV_HTTP_BODY_MAX_DEFAULT (16u << 20)
#define RV_HTTP_BODY_MAX_MIN 1u
#define RV_HTTP_BODY_MAX_MAX (1u << 30)
/* Response header block of the final response (all lines together). */
#define RV_HTTP_HEADERS_MAX (64u << 10)
/* Redirects followed. */
#define RV_HTTP_REDIRECTS_DEFAULT 5u
#define RV_HTTP_REDIRECTS_MAX 20u
/* Timeouts in milliseconds; total 0 means none (a model download may take long). */
#define RV_HTTP_CONNECT_TIMEOUT_DEFAULT_MS 30000u
#define RV_HTTP_CONNECT_TIMEOUT_MIN_MS 1u
#define RV_HTTP_CONNECT_TIMEOUT_MAX_MS 600000u
#define RV_HTTP_TOTAL_TIMEOUT_DEFAULT_MS 0u
#define RV_HTTP_TOTAL_TIMEOUT_MAX_MS 86400000u
/* Stall guard: abort when fewer than stall_min_rate bytes/s arrive for stall_timeout_ms (curl
 * counts whole seconds). 0 disables it. */
#define RV_HTTP_STALL_TIMEOUT_DEFAULT_MS 60000u
#define RV_HTTP_STALL_TIMEOUT_MAX_MS 86400000u
#define RV_HTTP_STALL_MIN_RATE_DEFAULT 1024u
/* Request headers ("Name: value") per request. */
#define RV_HTTP_REQUEST_HEADERS_MAX 64u

typedef enum rv_http_method { RV_HTTP_GET = 1, RV_HTTP_POST = 2 } rv_http_method;

/* Polled while the transfer runs; non-zero stops it (the call returns RV_ERR_CANCELLED). Runs on
 * the calling thread. */
typedef int (*rv_http_cancel_fn)(void *ctx);

typedef struct rv_http_request {
    rv_http_method method;
    const char *url;                 /* http:// or https:// */
    const char *const *headers;      /* n_headers "Name: value" lines, borrowed */
    size_t n_headers;
    const void *body;                /* POST body (body_len bytes, borrowed); NULL: empty */
    size_t body_len;
    size_t body_max;                 /* rv_http_perform's cap on the buffered body */
    unsigned max_redirects;
    unsigned connect_timeout_ms, total_timeout_ms, stall_timeout_ms, stall_min_rate;
    const rv_progress *progress;     /* bytes received of the total announced (Content-Length);
                                        called only when it is known; non-zero cancels */
    rv_http_cancel_fn cancel;        /* NULL: never cancelled */
    void *cancel_ctx;
} rv_http_request;

typedef struct rv_http_response {
    long status;           /* final HTTP status; 0 when no response arrived */
    int curl_code;         /* CURLcode of the transfer (0 on success), for error reports */
    char *body;            /* rv_http_perform: body_len bytes plus a NUL; NULL for rv_http_stream */
    size_t body_len;
    char *headers;         /* the final response's header lines, each "Name: value\0" */
    size_t headers_len;
    char reason[256];      /* a transport failure's one-line reason (curl's or ours), else "" */
} rv_http_response;

/* Fills *req with a method, a URL and every default above (no headers, no body). */
void rv_http_request_init(rv_http_request *req, rv_http_method method, const char *url);

/* Performs req and buffers the body into *resp (zeroed first; clear it with
 * rv_http_response_clear whatever the result: a failed call may leave the status and headers it
 * got). Errors: INVALID_ARGUMENT (a field out of its DEFAULT/MIN/MAX range, too many headers, a
 * body on GET), TRANSPORT (message names the URL and curl's reason; body over body_max included),
 * CANCELLED, NO_MEMORY. */
rv_status rv_http_perform(const rv_http_request *req, rv_http_response *resp);

/* Called with each chunk of the body as it arrives (n > 0), after the status and headers are in
 * *resp. Return RV_OK to go on; any other status stops the transfer and is what rv_http_stream
 * returns (set its message with rv_fail). */
typedef rv_status (*rv_http_chunk_fn)(void *ctx, const rv_http_response *resp, const char *data, size_t n);

/* Performs req, handing the body to on_chunk instead of buffering it (body_max does not apply:
 * the callback bounds what it keeps). *resp gets the status and headers; clear it as for
 * rv_http_perform. Errors: as rv_http_perform, plus whatever on_chunk returned. */
rv_status rv_http_stream(const rv_http_request *req, rv_http_chunk_fn on_chunk, void *ctx, rv_http_response *resp);

/* The value of response header `name` (case-insensitive, surrounding blanks trimmed), or NULL.
 * Borrowed from resp. The first of repeated headers. */
const char *rv_http_response_header(const rv_http_response *resp, const char *name);

/* Frees the body and headers and zeroes *resp. Safe on a zeroed response. */
void rv_http_response_clear(rv_http_response *resp);

#ifdef __cplusplus
}
#endif
#endif
