/* tests/c/test_http.c — base/http.c against a real loopback server: a thread in this test with
 * a listening socket on 127.0.0.1:0 answering canned responses, one connection at a time (a body
 * with headers, a body over the cap, redirect chains, a server that never answers, a chunked
 * stream that waits for the client to have seen its first chunk, a POST echo, a 404). The
 * downloads on top of it (rv_download) are checked here too: verified, refused, nothing left.
 * A second server speaks TLS with a self-signed certificate made here (OpenSSL, test code only):
 * the client must refuse it, since verification is always on.
 * No test measures time: the silent server waits for the client to hang up (at most 5 s, after
 * which it answers, so a missing timeout or an ignored cancel shows as a wrong result). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/internal.h"
#include "check.h"
#include "ruvector/embed.h"
#include "ruvector/http.h"

#define RV_SRV_PATIENCE_MS 5000 /* how long the server waits for a hang-up or an ack */

typedef struct rv_srv {
    int fd, port;
    pthread_t th;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int acked;              /* the client's chunk callback saw the first stream chunk */
    int acked_before_second; /* ... before the server sent the second one */
} rv_srv;

static void rv_send_all(int c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(c, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

static void rv_send_str(int c, const char *s) { rv_send_all(c, s, strlen(s)); }

/* Waits until the peer closes (true) or the patience runs out (false). */
static int rv_wait_hangup(int c)
{
    struct pollfd p = {.fd = c, .events = POLLIN};
    char b[256];
    while (poll(&p, 1, RV_SRV_PATIENCE_MS) > 0) {
        if (recv(c, b, sizeof b, 0) <= 0)
            return 1;
    }
    return 0;
}

static void rv_send_chunk(int c, const char *s)
{
    char head[32];
    snprintf(head, sizeof head, "%zx\r\n", strlen(s));
    rv_send_str(c, head);
    rv_send_str(c, s);
    rv_send_str(c, "\r\n");
}

static void rv_serve(rv_srv *s, int c)
{
    char req[8192];
    size_t got = 0;
    char *end = NULL;
    while (!end && got < sizeof req - 1) {
        ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
        if (r <= 0)
            return;
        got += (size_t)r;
        req[got] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end)
        return;
    char method[8] = "", path[256] = "";
    if (sscanf(req, "%7s %255s", method, path) != 2)
        return;
    char out[8192];
    if (strcmp(path, "/body") == 0) {
        rv_send_str(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test:  spaced value \r\n"
                       "Content-Length: 11\r\nConnection: close\r\n\r\nhello world");
    } else if (strcmp(path, "/big") == 0) {
        static char big[5000];
        memset(big, 'x', sizeof big);
        rv_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n");
        rv_send_all(c, big, sizeof big);
    } else if (strncmp(path, "/redir/", 7) == 0) {
        int n = atoi(path + 7);
        if (n > 0)
            snprintf(out, sizeof out, "HTTP/1.1 302 Found\r\nLocation: /redir/%d\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n", n - 1);
        else
            snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nlanded");
        rv_send_str(c, out);
    } else if (strcmp(path, "/slow") == 0) {
        if (!rv_wait_hangup(c))
            rv_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate");
    } else if (strcmp(path, "/stream") == 0) {
        rv_send_str(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n");
        rv_send_chunk(c, "data: one\n\n");
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += RV_SRV_PATIENCE_MS / 1000;
        while (!s->acked && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
            ;
        s->acked_before_second = s->acked;
        pthread_mutex_unlock(&s->mu);
        rv_send_chunk(c, "data: two\n\n");
        rv_send_str(c, "0\r\n\r\n");
    } else if (strcmp(path, "/echo") == 0) {
        const char *cl = strcasestr(req, "\r\nContent-Length:");
        const char *ct = strcasestr(req, "\r\nContent-Type:");
        size_t want = cl ? (size_t)atol(cl + 17) : 0, have = got - (size_t)(end + 4 - req);
        while (have < want && got < sizeof req - 1) {
            ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
            if (r <= 0)
                return;
            got += (size_t)r, have += (size_t)r;
        }
        char type[128] = "";
        if (ct)
            sscanf(ct + 15, " %127[^\r]", type);
        int k = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nX-Got-Type: %s\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n", type, have);
        rv_send_all(c, out, (size_t)k);
        rv_send_all(c, end + 4, have);
    } else {
        rv_send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here!");
    }
}

static void *rv_srv_main(void *arg)
{
    rv_srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        rv_serve(s, c);
        close(c);
    }
    return NULL;
}

static int rv_srv_start(rv_srv *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, rv_srv_main, s) == 0 ? 0 : -1;
}

static void rv_srv_stop(rv_srv *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static char url_buf[512];
static const char *url(const rv_srv *s, const char *path)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d%s", s->port, path);
    return url_buf;
}

static void test_get_body_and_headers(rv_srv *s)
{
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/body"));
    CHECK(rv_http_perform(&q, &r) == RV_OK);
    CHECK(r.status == 200 && r.curl_code == 0 && r.body_len == 11 && r.body && strcmp(r.body, "hello world") == 0);
    const char *ct = rv_http_response_header(&r, "content-type"), *xt = rv_http_response_header(&r, "X-TEST");
    CHECK(ct && strcmp(ct, "text/plain") == 0);
    CHECK_MSG(xt && strcmp(xt, "spaced value") == 0, "X-Test is '%s'", xt ? xt : "(none)");
    CHECK(rv_http_response_header(&r, "X-Tes") == NULL && rv_http_response_header(&r, "Missing") == NULL);
    rv_http_response_clear(&r);
    CHECK(r.body == NULL && r.headers == NULL && r.status == 0);
    rv_http_response_clear(&r); /* twice is fine */

    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/nothing"));
    CHECK(rv_http_perform(&q, &r) == RV_OK); /* an HTTP error status is the caller's call */
    CHECK(r.status == 404 && r.body && strcmp(r.body, "not here!") == 0);
    rv_http_response_clear(&r);
}

static void test_body_cap(rv_srv *s)
{
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/big"));
    q.body_max = 4999;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT);
    CHECK_MSG(strstr(rv_last_error(), "4999") && strstr(rv_last_error(), "/big"), "%s", rv_last_error());
    CHECK(r.body_len <= 4999);
    rv_http_response_clear(&r);
    q.body_max = 5000; /* exactly the body: accepted */
    CHECK(rv_http_perform(&q, &r) == RV_OK);
    CHECK(r.body_len == 5000 && r.body[0] == 'x' && r.body[4999] == 'x' && r.body[5000] == '\0');
    rv_http_response_clear(&r);
}

static void test_redirects(rv_srv *s)
{
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/redir/5")); /* the default limit, 5, is enough */
    CHECK(rv_http_perform(&q, &r) == RV_OK);
    CHECK(r.status == 200 && r.body && strcmp(r.body, "landed") == 0);
    CHECK(rv_http_response_header(&r, "Location") == NULL); /* only the final response's headers */
    rv_http_response_clear(&r);
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/redir/6")); /* one more than the limit */
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT);
    CHECK_MSG(strstr(rv_last_error(), "edirect"), "%s", rv_last_error());
    rv_http_response_clear(&r);
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/redir/1"));
    q.max_redirects = 0; /* not followed: the 302 itself */
    CHECK(rv_http_perform(&q, &r) == RV_OK);
    const char *loc = rv_http_response_header(&r, "location");
    CHECK(r.status == 302 && loc && strcmp(loc, "/redir/0") == 0);
    rv_http_response_clear(&r);
}

static int rv_cancel_after_three(void *ctx)
{
    int *polls = ctx;
    return ++*polls > 3;
}

static void test_timeout_and_cancel(rv_srv *s)
{
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/slow"));
    q.total_timeout_ms = 200;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT);
    CHECK_MSG(r.curl_code == 28 && r.status == 0, "curl code %d, status %ld", r.curl_code, r.status); /* timed out */
    rv_http_response_clear(&r);
    int polls = 0;
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/slow"));
    q.cancel = rv_cancel_after_three;
    q.cancel_ctx = &polls;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_CANCELLED);
    CHECK(polls == 4 && r.body == NULL);
    rv_http_response_clear(&r);
}

typedef struct rv_stream_seen {
    rv_srv *srv;
    char text[256];
    size_t len, chunks;
    long status_at_first;
    char type_at_first[64];
} rv_stream_seen;

static rv_status rv_stream_collect(void *ctx, const rv_http_response *resp, const char *data, size_t n)
{
    rv_stream_seen *v = ctx;
    if (v->chunks++ == 0) {
        v->status_at_first = resp->status;
        const char *t = rv_http_response_header(resp, "Content-Type");
        snprintf(v->type_at_first, sizeof v->type_at_first, "%s", t ? t : "");
        pthread_mutex_lock(&v->srv->mu);
        v->srv->acked = 1;
        pthread_cond_signal(&v->srv->cv);
        pthread_mutex_unlock(&v->srv->mu);
    }
    if (v->len + n < sizeof v->text) {
        memcpy(v->text + v->len, data, n);
        v->len += n;
        v->text[v->len] = '\0';
    }
    return RV_OK;
}

static rv_status rv_stream_refuse(void *ctx, const rv_http_response *resp, const char *data, size_t n)
{
    (void)ctx, (void)resp, (void)data;
    return rv_fail(RV_ERR_IO, "no room for %zu bytes", n);
}

static void test_stream(rv_srv *s)
{
    rv_http_request q;
    rv_http_response r;
    rv_stream_seen v = {.srv = s};
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/stream"));
    q.body_max = 1; /* does not apply to a stream */
    CHECK(rv_http_stream(&q, rv_stream_collect, &v, &r) == RV_OK);
    CHECK(r.status == 200 && r.body == NULL);
    CHECK_MSG(strcmp(v.text, "data: one\n\ndata: two\n\n") == 0, "streamed '%s'", v.text);
    CHECK(v.chunks >= 2 && v.status_at_first == 200 && strcmp(v.type_at_first, "text/event-stream") == 0);
    CHECK_MSG(s->acked_before_second, "the first chunk reached the callback only after the stream ended");
    rv_http_response_clear(&r);
    /* a callback's failure stops the transfer and is what the call returns */
    rv_http_request_init(&q, RV_HTTP_GET, url(s, "/body"));
    CHECK(rv_http_stream(&q, rv_stream_refuse, NULL, &r) == RV_ERR_IO);
    CHECK(strcmp(rv_last_error(), "no room for 11 bytes") == 0);
    rv_http_response_clear(&r);
}

static void test_post_json(rv_srv *s)
{
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\"}";
    const char *headers[] = {"Content-Type: application/json", "A2A-Version: 1.0"};
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_POST, url(s, "/echo"));
    q.headers = headers;
    q.n_headers = 2;
    q.body = body;
    q.body_len = sizeof body - 1;
    CHECK(rv_http_perform(&q, &r) == RV_OK);
    CHECK(r.status == 200 && r.body_len == sizeof body - 1 && memcmp(r.body, body, sizeof body - 1) == 0);
    const char *got = rv_http_response_header(&r, "X-Got-Type");
    CHECK(got && strcmp(got, "application/json") == 0);
    rv_http_response_clear(&r);
}

static void test_bad_requests_and_no_server(void)
{
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, "http://127.0.0.1:1/");
    q.body = "x", q.body_len = 1;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_INVALID_ARGUMENT);
    rv_http_request_init(&q, RV_HTTP_GET, "http://127.0.0.1:1/");
    q.body_max = 0;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_INVALID_ARGUMENT && strstr(rv_last_error(), "not 0"));
    rv_http_request_init(&q, RV_HTTP_GET, "http://127.0.0.1:1/");
    q.max_redirects = RV_HTTP_REDIRECTS_MAX + 1;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_INVALID_ARGUMENT && strstr(rv_last_error(), "not 21"));
    const char *bad[] = {"X-Evil: a\r\nHost: b"};
    rv_http_request_init(&q, RV_HTTP_GET, "http://127.0.0.1:1/");
    q.headers = bad, q.n_headers = 1;
    CHECK(rv_http_perform(&q, &r) == RV_ERR_INVALID_ARGUMENT);
    rv_http_request_init(&q, RV_HTTP_GET, "file:///etc/passwd"); /* only http and https */
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT && r.body == NULL);
    rv_http_response_clear(&r);
    /* nothing listens on a port we bound and closed */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    rv_http_request_init(&q, RV_HTTP_GET, u);
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT);
    CHECK(r.status == 0 && r.curl_code != 0 && r.reason[0] && strstr(rv_last_error(), u));
    rv_http_response_clear(&r);
}

static void test_download(rv_srv *s)
{
    char dir[] = "/tmp/rv_http_test_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    unsigned char d[RV_SHA256_BYTES];
    char hex[65], wrong[65];
    rv_sha256("hello world", 11, d);
    rv_hex(d, sizeof d, hex);
    memcpy(wrong, hex, sizeof wrong);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    struct stat sb;
    CHECK(rv_download(url(s, "/body"), wrong, path, NULL) == RV_ERR_MODEL);
    CHECK(strstr(rv_last_error(), "SHA-256") && stat(path, &sb) != 0);
    CHECK(rv_download(url(s, "/nothing"), hex, path, NULL) == RV_ERR_MODEL);
    CHECK_MSG(strstr(rv_last_error(), "returned error: 404") && stat(path, &sb) != 0, "%s", rv_last_error());
    CHECK(rv_download(url(s, "/redir/2"), hex, path, NULL) == RV_ERR_MODEL); /* "landed" is not the file */
    CHECK(rv_download(url(s, "/body"), hex, path, NULL) == RV_OK);
    FILE *f = fopen(path, "rb");
    char got[32] = "";
    size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
    if (f)
        fclose(f);
    CHECK(n == 11 && strcmp(got, "hello world") == 0);
    unlink(path);
    rmdir(dir);
}

/* ---- TLS: a self-signed certificate for 127.0.0.1 ---------------------------------------- */

typedef struct rv_tls_srv {
    int fd, port;
    SSL_CTX *ctx;
    pthread_t th;
    atomic_int stop;
    atomic_int served; /* requests answered over an accepted TLS session */
} rv_tls_srv;

static SSL_CTX *rv_tls_ctx_new(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    int ok = k && x && c;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, k);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
        ok = e && X509_add_ext(x, e, -1) && X509_sign(x, k, EVP_sha256()) && SSL_CTX_use_certificate(c, x) == 1 &&
             SSL_CTX_use_PrivateKey(c, k) == 1;
        X509_EXTENSION_free(e);
    }
    X509_free(x);
    EVP_PKEY_free(k);
    if (!ok) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

static void *rv_tls_main(void *arg)
{
    rv_tls_srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        SSL *ssl = SSL_new(s->ctx);
        if (ssl && SSL_set_fd(ssl, c) == 1 && SSL_accept(ssl) == 1) { /* fails when the client refuses us */
            char req[4096];
            int got = 0, r;
            while (got < (int)sizeof req - 1 && (r = SSL_read(ssl, req + got, (int)sizeof req - 1 - got)) > 0) {
                got += r;
                req[got] = '\0';
                if (strstr(req, "\r\n\r\n"))
                    break;
            }
            static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret";
            SSL_write(ssl, ans, (int)sizeof ans - 1);
            atomic_fetch_add(&s->served, 1);
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(c);
    }
    return NULL;
}

/* A self-signed certificate, even for the right address, is refused: curl's code 60. */
static void test_tls_verification_is_on(void)
{
    rv_tls_srv s = {0};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    s.ctx = rv_tls_ctx_new();
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!s.ctx || s.fd < 0 || bind(s.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s.fd, 4) != 0 ||
        getsockname(s.fd, (struct sockaddr *)&a, &len) != 0 || pthread_create(&s.th, NULL, rv_tls_main, &s) != 0) {
        CHECK(!"the TLS server could not start");
        SSL_CTX_free(s.ctx);
        if (s.fd >= 0)
            close(s.fd);
        return;
    }
    char u[64];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/", ntohs(a.sin_port));
    rv_http_request q;
    rv_http_response r;
    rv_http_request_init(&q, RV_HTTP_GET, u);
    CHECK(rv_http_perform(&q, &r) == RV_ERR_TRANSPORT);
    CHECK_MSG(r.curl_code == 60 && r.body == NULL, "curl code %d, body %s", r.curl_code, r.body ? r.body : "(none)");
    CHECK(atomic_load(&s.served) == 0);
    rv_http_response_clear(&r);
    atomic_store(&s.stop, 1);
    pthread_join(s.th, NULL);
    close(s.fd);
    SSL_CTX_free(s.ctx);
}

void test_http(void)
{
    rv_srv s;
    if (rv_srv_start(&s) != 0) {
        CHECK(!"the loopback server could not start");
        return;
    }
    test_get_body_and_headers(&s);
    test_body_cap(&s);
    test_redirects(&s);
    test_timeout_and_cancel(&s);
    test_stream(&s);
    test_post_json(&s);
    test_download(&s);
    rv_srv_stop(&s);
    test_bad_requests_and_no_server();
    test_tls_verification_is_on();
    CHECK(strcmp(rv_status_name(RV_ERR_TRANSPORT), "RV_ERR_TRANSPORT") == 0 &&
          strcmp(rv_status_name(RV_ERR_MODEL), "RV_ERR_MODEL") == 0 &&
          strcmp(rv_status_name(RV_ERR_SIGNATURE), "RV_ERR_SIGNATURE") == 0);
}
