/*
 * download.c — fetch a model file over HTTP(S) with libcurl into a temp file beside the target,
 * hash it with SHA-256 (OpenSSL) while it streams, and rename it into place only when the digest
 * matches the pinned one. Nothing is left behind on failure.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/internal.h"
#include "ruvector/embed.h"

typedef struct rv_dl {
    rv_atomic_file f;
    EVP_MD_CTX *sha;
    rv_status st;
    const rv_progress *progress;
    int cancelled;
} rv_dl;

static size_t rv_dl_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    rv_dl *d = ctx;
    size_t n = size * nmemb;
    if (d->st != RV_OK)
        return 0;
    if ((d->st = rv_atomic_file_write(&d->f, data, n)) != RV_OK)
        return 0;
    if (!EVP_DigestUpdate(d->sha, data, n)) {
        d->st = rv_fail(RV_ERR_INTERNAL, "SHA-256 failed");
        return 0;
    }
    return n;
}

static int rv_dl_progress(void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    rv_dl *d = ctx;
    if (d->progress && d->progress->fn && total > 0 &&
        d->progress->fn(d->progress->ctx, (uint64_t)now, (uint64_t)total) != 0) {
        d->cancelled = 1;
        return 1;
    }
    return 0;
}

static void rv_curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

rv_status rv_download(const char *url, const char *sha256_hex, const char *path, const rv_progress *progress)
{
    if (!url || !sha256_hex || strlen(sha256_hex) != 64 || !path)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "download needs a URL, a 64-hex-digit SHA-256 and a path");
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* curl_global_init is not thread-safe */
    pthread_once(&once, rv_curl_init);
    rv_dl d = {.st = RV_OK, .progress = progress};
    rv_status st = rv_atomic_file_open(&d.f, path);
    if (st != RV_OK)
        return st;
    d.sha = EVP_MD_CTX_new();
    CURL *c = curl_easy_init();
    if (!d.sha || !c || !EVP_DigestInit_ex(d.sha, EVP_sha256(), NULL)) {
        st = rv_fail(RV_ERR_NO_MEMORY, "cannot start a download");
        goto fail;
    }
    char err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* abort transfers stalled for a minute */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rv_dl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, rv_dl_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ruvector/" RV_VERSION_STRING);
    CURLcode rc = curl_easy_perform(c);
    if (d.st != RV_OK) {
        st = d.st;
        goto fail;
    }
    if (rc != CURLE_OK) {
        st = d.cancelled ? rv_fail(RV_ERR_CANCELLED, "download of %s cancelled", url)
                         : rv_fail(RV_ERR_IO, "cannot download %s: %s", url, *err ? err : curl_easy_strerror(rc));
        goto fail;
    }
    unsigned char digest[32];
    unsigned len = 0;
    char hex[65];
    if (!EVP_DigestFinal_ex(d.sha, digest, &len) || len != 32) {
        st = rv_fail(RV_ERR_INTERNAL, "SHA-256 failed");
        goto fail;
    }
    rv_hex(digest, 32, hex);
    if (strcmp(hex, sha256_hex) != 0) {
        st = rv_fail(RV_ERR_FORMAT, "%s has SHA-256 %s, expected %s: refusing it", url, hex, sha256_hex);
        goto fail;
    }
    curl_easy_cleanup(c);
    EVP_MD_CTX_free(d.sha);
    return rv_atomic_file_commit(&d.f);
fail:
    if (c)
        curl_easy_cleanup(c);
    EVP_MD_CTX_free(d.sha);
    rv_atomic_file_abort(&d.f);
    return st;
}
