/*
 * http.c — the library's one libcurl user: requests as ruvector/http.h describes them.
 *
 * One easy handle per request, configured in one place (rv_http_setup): TLS verification on,
 * http/https only (redirects too), a redirect limit, connect/total/stall timeouts, no signals
 * (curl's SIGALRM-based DNS timeouts are unsafe in a threaded process). The callbacks never
 * longjmp or abort: each records why it stopped in the transfer (st) and returns the value that
 * makes curl stop, and rv_http_run turns curl's code into the recorded status afterwards, so a
 * callback's own failure (a full disk under a download, a body over its cap) is reported as
 * itself and not as curl's generic "write error".
 *
 * Header lines are kept for the final response only: curl hands over the headers of every
 * response it sees (redirects, 100 Continue), and each status line ("HTTP/...") starts the block
 * afresh. They are stored as NUL-terminated "Name: value" lines with the line ends trimmed, the
 * whole block capped at RV_HTTP_HEADERS_MAX. The status is read from curl as soon as the first
 * body byte arrives, so a streaming callback sees it (and the headers) before any data.
 *
 * Considered and rejected for now: the multi interface. Both users block a thread of their own
 * per request (downloads; the A2A client's blocking siblings); the A2A client's single I/O thread
 * will add a multi driver here, reusing rv_http_setup and the callbacks unchanged (an easy
 * handle configured once works in either interface). Buffers grow geometrically through
 * rv_alloc (the library's allocator; realloc is poisoned).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/internal.h"
#include "ruvector/http.h"

typedef struct rv_xfer {
    const rv_http_request *req;
    rv_http_response *resp;
    CURL *c;
    rv_http_chunk_fn on_chunk; /* NULL: buffer the body */
    void *ctx;
    size_t body_cap, headers_cap; /* allocated bytes of resp->body / resp->headers */
    rv_status st;                 /* why a callback stopped the transfer (RV_OK: it did not) */
    int cancelled;
} rv_xfer;

static pthread_once_t rv_curl_once = PTHREAD_ONCE_INIT;
static CURLcode rv_curl_init_rc;
static void rv_curl_init(void) { rv_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void rv_http_request_init(rv_http_request *req, rv_http_method method, const char *url)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->url = url;
    req->body_max = RV_HTTP_BODY_MAX_DEFAULT;
    req->max_redirects = RV_HTTP_REDIRECTS_DEFAULT;
    req->connect_timeout_ms = RV_HTTP_CONNECT_TIMEOUT_DEFAULT_MS;
    req->total_timeout_ms = RV_HTTP_TOTAL_TIMEOUT_DEFAULT_MS;
    req->stall_timeout_ms = RV_HTTP_STALL_TIMEOUT_DEFAULT_MS;
    req->stall_min_rate = RV_HTTP_STALL_MIN_RATE_DEFAULT;
}

void rv_http_response_clear(rv_http_response *resp)
{
    rv_free(resp->body);
    rv_free(resp->headers);
    memset(resp, 0, sizeof *resp);
}

/* Makes room for `more` bytes past `len` in *buf (capacity *cap): false on overflow or no memory. */
static bool rv_grow(char **buf, size_t *cap, size_t len, size_t more)
{
    size_t need;
    if (__builtin_add_overflow(len, more, &need))
        return false;
    if (need <= *cap)
        return true;
    size_t ncap = rv_max(need, *cap < 256 ? 256 : *cap * 2);
    char *n = rv_alloc(ncap);
    if (!n)
        return false;
    if (*buf)
        memcpy(n, *buf, len);
    rv_free(*buf);
    *buf = n;
    *cap = ncap;
    return true;
}

static size_t rv_http_header_cb(char *data, size_t size, size_t nitems, void *ctx)
{
    rv_xfer *x = ctx;
    rv_http_response *r = x->resp;
    size_t n = size * nitems, len = n;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) { /* a new response: forget the last one's lines */
        r->headers_len = 0;
        return n;
    }
    while (len && (data[len - 1] == '\r' || data[len - 1] == '\n' || data[len - 1] == ' ' || data[len - 1] == '\t'))
        len--;
    if (len == 0)
        return n; /* the blank line ending the block */
    if (r->headers_len + len + 1 > RV_HTTP_HEADERS_MAX) {
        snprintf(r->reason, sizeof r->reason, "the response headers exceed the cap of %u bytes", RV_HTTP_HEADERS_MAX);
        x->st = rv_fail(RV_ERR_TRANSPORT, "%s: %s", x->req->url, r->reason);
        return 0;
    }
    if (!rv_grow(&r->headers, &x->headers_cap, r->headers_len, len + 1)) {
        x->st = rv_fail(RV_ERR_NO_MEMORY, "out of memory reading the headers of %s", x->req->url);
        return 0;
    }
    memcpy(r->headers + r->headers_len, data, len);
    r->headers[r->headers_len + len] = '\0';
    r->headers_len += len + 1;
    return n;
}

static size_t rv_http_write_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    rv_xfer *x = ctx;
    rv_http_response *r = x->resp;
    size_t n = size * nmemb;
    if (x->st != RV_OK)
        return 0;
    if (r->status == 0)
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &r->status);
    if (x->on_chunk) {
        x->st = n ? x->on_chunk(x->ctx, r, data, n) : RV_OK;
        return x->st == RV_OK ? n : 0;
    }
    if (n > x->req->body_max - r->body_len) {
        snprintf(r->reason, sizeof r->reason, "the response body exceeds the cap of %zu bytes", x->req->body_max);
        x->st = rv_fail(RV_ERR_TRANSPORT, "%s: %s", x->req->url, r->reason);
        return 0;
    }
    if (!rv_grow(&r->body, &x->body_cap, r->body_len, n + 1)) {
        x->st = rv_fail(RV_ERR_NO_MEMORY, "out of memory buffering %zu bytes of %s", r->body_len + n, x->req->url);
        return 0;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static int rv_http_xferinfo_cb(void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    rv_xfer *x = ctx;
    const rv_http_request *q = x->req;
    if ((q->cancel && q->cancel(q->cancel_ctx) != 0) ||
        (q->progress && q->progress->fn && total > 0 &&
         q->progress->fn(q->progress->ctx, NULL, (uint64_t)now, (uint64_t)total) != 0)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

static rv_status rv_http_check(const rv_http_request *q)
{
    if (!q || !q->url || (q->method != RV_HTTP_GET && q->method != RV_HTTP_POST))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "an HTTP request needs a URL and GET or POST");
    if (q->body_max < RV_HTTP_BODY_MAX_MIN || q->body_max > RV_HTTP_BODY_MAX_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "body_max must be in %u..%u, not %zu", RV_HTTP_BODY_MAX_MIN,
                       RV_HTTP_BODY_MAX_MAX, q->body_max);
    if (q->max_redirects > RV_HTTP_REDIRECTS_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "max_redirects must be in 0..%u, not %u", RV_HTTP_REDIRECTS_MAX,
                       q->max_redirects);
    if (q->connect_timeout_ms < RV_HTTP_CONNECT_TIMEOUT_MIN_MS || q->connect_timeout_ms > RV_HTTP_CONNECT_TIMEOUT_MAX_MS)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "connect_timeout_ms must be in %u..%u, not %u",
                       RV_HTTP_CONNECT_TIMEOUT_MIN_MS, RV_HTTP_CONNECT_TIMEOUT_MAX_MS, q->connect_timeout_ms);
    if (q->total_timeout_ms > RV_HTTP_TOTAL_TIMEOUT_MAX_MS)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "total_timeout_ms must be in 0..%u, not %u",
                       RV_HTTP_TOTAL_TIMEOUT_MAX_MS, q->total_timeout_ms);
    if (q->stall_timeout_ms > RV_HTTP_STALL_TIMEOUT_MAX_MS)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "stall_timeout_ms must be in 0..%u, not %u",
                       RV_HTTP_STALL_TIMEOUT_MAX_MS, q->stall_timeout_ms);
    if (q->n_headers > RV_HTTP_REQUEST_HEADERS_MAX || (q->n_headers && !q->headers))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a request takes at most %u headers, not %zu",
                       RV_HTTP_REQUEST_HEADERS_MAX, q->n_headers);
    for (size_t i = 0; i < q->n_headers; i++)
        if (!q->headers[i] || !strchr(q->headers[i], ':') || strpbrk(q->headers[i], "\r\n"))
            return rv_fail(RV_ERR_INVALID_ARGUMENT, "request header %zu is not one 'Name: value' line", i);
    if (q->method == RV_HTTP_GET && q->body_len)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a GET request has no body (%zu bytes given)", q->body_len);
    if (q->body_len && !q->body)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a body of %zu bytes needs its data", q->body_len);
    return RV_OK;
}

/* Every option of every request, in one place. Returns false when a list allocation failed. */
static bool rv_http_setup(rv_xfer *x, char *errbuf, struct curl_slist **hdrs)
{
    const rv_http_request *q = x->req;
    CURL *c = x->c;
    curl_easy_setopt(c, CURLOPT_URL, q->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string forms; the bitmasks are deprecated */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, q->max_redirects ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)q->max_redirects);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)q->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)q->total_timeout_ms);
    if (q->stall_timeout_ms) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)(q->stall_min_rate ? q->stall_min_rate : 1));
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)((q->stall_timeout_ms + 999) / 1000));
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rv_http_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, rv_http_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, rv_http_xferinfo_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ruvector/" RV_VERSION_STRING);
    for (size_t i = 0; i < q->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(*hdrs, q->headers[i]);
        if (!n)
            return false;
        *hdrs = n;
    }
    if (q->method == RV_HTTP_POST) {
        /* no "Expect: 100-continue" round trip before a larger body */
        struct curl_slist *n = curl_slist_append(*hdrs, "Expect:");
        if (!n)
            return false;
        *hdrs = n;
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body_len ? (const char *)q->body : "");
    }
    if (*hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return true;
}

static rv_status rv_http_run(const rv_http_request *q, rv_http_chunk_fn on_chunk, void *ctx, rv_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    rv_status st = rv_http_check(q);
    if (st != RV_OK)
        return st;
    pthread_once(&rv_curl_once, rv_curl_init); /* curl_global_init is not thread-safe */
    if (rv_curl_init_rc != CURLE_OK)
        return rv_fail(RV_ERR_TRANSPORT, "libcurl failed to initialise: %s", curl_easy_strerror(rv_curl_init_rc));
    rv_xfer x = {.req = q, .resp = resp, .on_chunk = on_chunk, .ctx = ctx, .st = RV_OK};
    struct curl_slist *hdrs = NULL;
    char err[CURL_ERROR_SIZE] = "";
    if (!(x.c = curl_easy_init()) || !rv_http_setup(&x, err, &hdrs)) {
        st = rv_fail(RV_ERR_NO_MEMORY, "cannot start a request to %s", q->url);
        goto done;
    }
    CURLcode rc = curl_easy_perform(x.c);
    resp->curl_code = (int)rc;
    curl_easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (x.st != RV_OK) {
        st = x.st; /* a callback stopped it and said why */
    } else if (rc == CURLE_ABORTED_BY_CALLBACK && x.cancelled) {
        st = rv_fail(RV_ERR_CANCELLED, "the request to %s was cancelled", q->url);
    } else if (rc != CURLE_OK) {
        snprintf(resp->reason, sizeof resp->reason, "%s", *err ? err : curl_easy_strerror(rc));
        st = rv_fail(RV_ERR_TRANSPORT, "%s: %s (curl code %d)", q->url, resp->reason, (int)rc);
    }
done:
    curl_slist_free_all(hdrs);
    if (x.c)
        curl_easy_cleanup(x.c);
    return st;
}

rv_status rv_http_perform(const rv_http_request *req, rv_http_response *resp)
{
    return rv_http_run(req, NULL, NULL, resp);
}

rv_status rv_http_stream(const rv_http_request *req, rv_http_chunk_fn on_chunk, void *ctx, rv_http_response *resp)
{
    if (!on_chunk) {
        memset(resp, 0, sizeof *resp);
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "rv_http_stream needs a chunk callback");
    }
    return rv_http_run(req, on_chunk, ctx, resp);
}

const char *rv_http_response_header(const rv_http_response *resp, const char *name)
{
    size_t nlen = strlen(name);
    for (size_t at = 0; resp->headers && at < resp->headers_len;) {
        const char *line = resp->headers + at;
        size_t len = strlen(line);
        if (len > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        at += len + 1;
    }
    return NULL;
}
