/*
 * download.c — fetch a model file over HTTP(S) (base/http.c streams it) into a temp file beside
 * the target, hash it with SHA-256 (base/hash.c) while it streams, and rename it into place only
 * when the digest matches the pinned one. Nothing is left behind on failure.
 *
 * Every failure but NO_MEMORY, CANCELLED and a bad argument is RV_ERR_MODEL: for the caller a
 * model that cannot be fetched, stored or trusted is one kind of problem (EmbedError in Python,
 * whose message says what to install instead). The transfer runs with the http.h defaults: 30 s
 * to connect, no total limit (a model is large), aborted when under 1 KiB/s for a minute.
 */
#include <stdio.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/hash.h"
#include "base/internal.h"
#include "ruvector/embed.h"
#include "ruvector/http.h"

typedef struct rv_dl {
    rv_atomic_file f;
    rv_hash sha;
    const char *url;
} rv_dl;

static bool rv_http_ok(long status) { return status >= 200 && status < 300; }

static rv_status rv_dl_chunk(void *ctx, const rv_http_response *resp, const char *data, size_t n)
{
    rv_dl *d = ctx;
    if (!rv_http_ok(resp->status)) /* an error page is not the model */
        return rv_fail(RV_ERR_MODEL, "cannot download %s: The requested URL returned error: %ld", d->url, resp->status);
    rv_status st = rv_atomic_file_write(&d->f, data, n);
    if (st != RV_OK)
        return st;
    rv_hash_update(&d->sha, data, n);
    return RV_OK;
}

/* NO_MEMORY, CANCELLED and INVALID_ARGUMENT keep their status; the rest is a model problem. */
static rv_status rv_model_status(rv_status st)
{
    return st == RV_OK || st == RV_ERR_NO_MEMORY || st == RV_ERR_CANCELLED || st == RV_ERR_INVALID_ARGUMENT
               ? st
               : RV_ERR_MODEL;
}

rv_status rv_download(const char *url, const char *sha256_hex, const char *path, const rv_progress *progress)
{
    if (!url || !sha256_hex || strlen(sha256_hex) != 64 || !path)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "download needs a URL, a 64-hex-digit SHA-256 and a path");
    rv_dl d = {.url = url};
    rv_status st = rv_atomic_file_open(&d.f, path);
    if (st != RV_OK)
        return rv_model_status(st);
    rv_hash_init(&d.sha, RV_HASH_SHA256);
    rv_http_request req;
    rv_http_request_init(&req, RV_HTTP_GET, url);
    req.progress = progress;
    rv_http_response resp;
    st = rv_http_stream(&req, rv_dl_chunk, &d, &resp);
    if (st == RV_ERR_CANCELLED) {
        st = rv_fail(RV_ERR_CANCELLED, "download of %s cancelled", url);
    } else if (st == RV_ERR_TRANSPORT) {
        st = rv_fail(RV_ERR_MODEL, "cannot download %s: %s", url, resp.reason);
    } else if (st == RV_OK && !rv_http_ok(resp.status)) { /* an error without a body */
        st = rv_fail(RV_ERR_MODEL, "cannot download %s: The requested URL returned error: %ld", url, resp.status);
    }
    rv_http_response_clear(&resp);
    unsigned char digest[RV_SHA256_BYTES];
    char hex[65];
    if (st == RV_OK && (st = rv_hash_final(&d.sha, digest, sizeof digest)) == RV_OK) {
        rv_hex(digest, sizeof digest, hex);
        if (strcmp(hex, sha256_hex) != 0)
            st = rv_fail(RV_ERR_MODEL, "%s has SHA-256 %s, expected %s: refusing it", url, hex, sha256_hex);
    }
    rv_hash_abort(&d.sha);
    if (st != RV_OK) {
        rv_atomic_file_abort(&d.f);
        return rv_model_status(st);
    }
    return rv_model_status(rv_atomic_file_commit(&d.f));
}
