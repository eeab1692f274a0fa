/*
 * test_http_loopback.c: the HTTP backend (rsa/http.c) against a tiny in-process
 * HTTP/1.1 server on 127.0.0.1 (plain sockets, one thread per connection) that
 * plays a script of canned responses: JSON, SSE drip-fed in tiny chunks, error
 * statuses, cut-off streams. Checks completions, retries, error messages, request
 * bodies, load balancing and the tokenizer endpoints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "rsa/http.h"

/* ===== the canned server ===== */

struct canned {
    const char *status;  /* e.g. "200 OK" */
    const char *headers; /* extra header lines, each ending in \r\n, or NULL */
    const char *body;
    int chunked;         /* Transfer-Encoding: chunked */
    size_t piece;        /* send the body in pieces of this many bytes (0 = at once) */
    int cut;             /* chunked: close without the final 0-length chunk */
    int delay_ms;        /* wait before answering */
};

#define MAX_REQ 64

struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int stop;
    int live;            /* connection threads running */
    const struct canned *script;
    size_t n_script;     /* the last entry repeats */
    size_t next;
    /* what the clients sent */
    int n_req;
    char path[MAX_REQ][128];
    char auth[MAX_REQ][128];
    char *body[MAX_REQ];
    int active;
    int max_active;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

struct conn {
    struct server *s;
    int fd;
};

/* Read one request; returns its body (malloc'd) and fills path and auth. */
static char *read_request(int fd, char *path, size_t pathlen, char *auth, size_t authlen)
{
    size_t cap = 1 << 16, len = 0;
    char *req = malloc(cap + 1);
    if (req == NULL)
        return NULL;
    char *end = NULL;
    while (end == NULL) {
        if (len == cap)
            goto bad;
        ssize_t k = recv(fd, req + len, cap - len, 0);
        if (k <= 0)
            goto bad;
        len += (size_t)k;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    size_t head = (size_t)(end - req) + 4;
    size_t clen = 0;
    path[0] = auth[0] = '\0';
    sscanf(req, "%*s %127s", path);
    for (char *line = strstr(req, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            clen = (size_t)strtoul(h + 15, NULL, 10);
        if (strncasecmp(h, "Authorization:", 14) == 0) {
            const char *v = h + 14;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r");
            snprintf(auth, authlen, "%.*s", (int)n, v);
        }
    }
    if (clen > cap - head) {
        char *p = realloc(req, head + clen + 1);
        if (p == NULL)
            goto bad;
        req = p;
        cap = head + clen;
    }
    while (len < head + clen) {
        ssize_t k = recv(fd, req + len, head + clen - len, 0);
        if (k <= 0)
            goto bad;
        len += (size_t)k;
    }
    char *body = malloc(clen + 1);
    if (body != NULL) {
        memcpy(body, req + head, clen);
        body[clen] = '\0';
    }
    free(req);
    return body;
bad:
    free(req);
    return NULL;
}

static void send_body_piece(int fd, const struct canned *c, const char *p, size_t n)
{
    if (c->chunked) {
        char hdr[32];
        int h = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        send_all(fd, hdr, (size_t)h);
        send_all(fd, p, n);
        send_all(fd, "\r\n", 2);
    } else {
        send_all(fd, p, n);
    }
}

static void *conn_main(void *arg)
{
    struct conn *cn = arg;
    struct server *s = cn->s;
    int fd = cn->fd;
    free(cn);
    char path[128], auth[128];
    char *body = read_request(fd, path, sizeof(path), auth, sizeof(auth));
    const struct canned *c = NULL;
    pthread_mutex_lock(&s->mu);
    if (body != NULL) {
        if (s->n_req < MAX_REQ) {
            snprintf(s->path[s->n_req], sizeof(s->path[0]), "%s", path);
            snprintf(s->auth[s->n_req], sizeof(s->auth[0]), "%s", auth);
            s->body[s->n_req] = body;
            body = NULL;
        }
        s->n_req++;
        c = &s->script[s->next < s->n_script ? s->next++ : s->n_script - 1];
        s->active++;
        if (s->active > s->max_active)
            s->max_active = s->active;
    }
    pthread_mutex_unlock(&s->mu);
    free(body);
    if (c != NULL) {
        if (c->delay_ms > 0)
            sleep_ms(c->delay_ms);
        /* Leave the active count before answering: the client frees its slot as soon as it
           has the whole answer, which can be before this thread runs again. */
        pthread_mutex_lock(&s->mu);
        s->active--;
        pthread_mutex_unlock(&s->mu);
        char head[1024];
        size_t blen = strlen(c->body);
        int h;
        if (c->chunked)
            h = snprintf(head, sizeof(head),
                         "HTTP/1.1 %s\r\n%sTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                         c->status, c->headers ? c->headers : "");
        else
            h = snprintf(head, sizeof(head),
                         "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         c->status, c->headers ? c->headers : "", blen);
        send_all(fd, head, (size_t)h);
        size_t piece = c->piece ? c->piece : (blen ? blen : 1);
        for (size_t at = 0; at < blen; at += piece) {
            size_t n = blen - at < piece ? blen - at : piece;
            send_body_piece(fd, c, c->body + at, n);
            if (c->piece) {
                struct timespec ts = {0, 50000}; /* let each piece leave on its own */
                nanosleep(&ts, NULL);
            }
        }
        if (c->chunked && !c->cut)
            send_all(fd, "0\r\n\r\n", 5);
    }
    shutdown(fd, SHUT_WR);
    char drain[256];
    while (recv(fd, drain, sizeof(drain), 0) > 0) {
    }
    close(fd);
    pthread_mutex_lock(&s->mu);
    s->live--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *cn = malloc(sizeof(*cn));
        assert_non_null(cn);
        cn->s = s;
        cn->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->live++;
        pthread_mutex_unlock(&s->mu);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, conn_main, cn), 0);
        pthread_detach(t);
    }
    return NULL;
}

static void server_start(struct server *s, const struct canned *script, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->script = script;
    s->n_script = n;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 64), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    while (s->live > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    close(s->fd);
    for (int i = 0; i < MAX_REQ; i++)
        free(s->body[i]);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
}

/* ===== client helpers ===== */

struct client {
    char url[2][64];
    const char *urls[2];
    struct http_config cfg;
    struct backend *b;
};

static void client_config(struct client *c, const struct server *s, size_t n)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < n; i++) {
        snprintf(c->url[i], sizeof(c->url[i]), "http://127.0.0.1:%d/v1%s", s[i].port,
                 i == 1 ? "/" : ""); /* the second with a trailing slash */
        c->urls[i] = c->url[i];
    }
    c->cfg.urls = c->urls;
    c->cfg.n_urls = n;
    c->cfg.model = "test-model";
    c->cfg.api_key = "sk-test";
    c->cfg.api = HTTP_API_CHAT;
    c->cfg.stream = 0;
    c->cfg.concurrency = 4;
    c->cfg.timeout_s = 10;
    c->cfg.connect_timeout_s = 5;
    c->cfg.retries = 3;
    c->cfg.backoff_base_s = 0.01;
    c->cfg.backoff_max_s = 0.05;
    c->cfg.think_open = "<think>";
    c->cfg.think_close = "</think>";
    c->cfg.jitter_seed = 42;
}

static void client_open(struct client *c)
{
    char err[512] = "";
    enum rsa_err e = http_open(&c->cfg, &c->b, err, sizeof(err));
    if (e != RSA_OK)
        fail_msg("http_open: %s", err);
}

static struct backend_request request(void)
{
    struct backend_request r;
    memset(&r, 0, sizeof(r));
    r.system = "You are terse.";
    r.prompt = "What is 2+2?";
    r.temperature = 0.6;
    r.top_p = 0.95;
    r.top_k = -1;
    r.min_p = 0;
    r.max_tokens = 256;
    r.seed = 4611686018427387903LL; /* 2^62 - 1: must survive JSON exactly */
    return r;
}

/* ===== canned bodies ===== */

static const char CHAT_REASONING[] =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"The answer is 4.\",\"reasoning_content\":\"2+2=4\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,"
    "\"total_tokens\":19}}";

static const char CHAT_PLAIN[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";

static const char CHAT_TRUNCATED[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"reasoning\":\"let me see, 2+\"},\"finish_reason\":\"length\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}";

/* vLLM-style: role chunk, reasoning deltas, content deltas, finish, usage-only chunk, [DONE];
   CRLF line endings and a keep-alive comment. */
static const char CHAT_SSE[] =
    ": ping\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Two plus\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\" two.\","
    "\"content\":null}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The answer\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" is \\u0034.\"},"
    "\"finish_reason\":\"stop\"}]}\r\n\r\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9}}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

/* The same stream, cut before the finish chunk, without [DONE]. */
static const char CHAT_SSE_CUT[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"Two plus\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The ans\"}}]}\n\n";

static const char CHAT_SSE_ERROR[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The\"}}]}\n\n"
    "data: {\"error\":{\"message\":\"engine died: out of KV cache\",\"code\":500}}\n\n"
    "data: [DONE]\n\n";

static const char COMPLETIONS_SSE[] =
    "data: {\"choices\":[{\"index\":0,\"text\":\"Four\",\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"text\":\" (4)\",\"finish_reason\":\"length\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

static const char ERR_503[] = "{\"error\":{\"message\":\"server overloaded\",\"code\":503}}";
static const char ERR_400[] =
    "{\"object\":\"error\",\"message\":\"max_tokens is too large\",\"type\":\"BadRequestError\","
    "\"code\":400}";

/* ===== completions ===== */

static void check_request_body(const char *body, int stream)
{
    assert_non_null(body);
    assert_non_null(strstr(body, "\"seed\":4611686018427387903"));
    assert_non_null(strstr(body, "\"max_tokens\":256"));
    cJSON *root = cJSON_Parse(body);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "model")->valuestring, "test-model");
    cJSON *msgs = cJSON_GetObjectItem(root, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring,
                        "system");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "role")->valuestring,
                        "user");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring,
                        "What is 2+2?");
    assert_true(cJSON_GetObjectItem(root, "temperature")->valuedouble == 0.6);
    assert_true(cJSON_GetObjectItem(root, "top_p")->valuedouble == 0.95);
    assert_null(cJSON_GetObjectItem(root, "top_k"));
    assert_null(cJSON_GetObjectItem(root, "min_p"));
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(root, "stream")), stream);
    cJSON *so = cJSON_GetObjectItem(root, "stream_options");
    if (stream)
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(so, "include_usage")));
    else
        assert_null(so);
    cJSON_Delete(root);
}

static void test_chat_reasoning(void **state)
{
    static const struct canned script[] = {{"200 OK", NULL, CHAT_REASONING, 0, 0, 0, 0}};
    struct server s;
    server_start(&s, script, 1);
    struct client c;
    client_config(&c, &s, 1);
    client_open(&c);
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "<think>2+2=4</think>The answer is 4.");
    assert_string_equal(out.reasoning, "2+2=4");
    assert_string_equal(out.content, "The answer is 4.");
    assert_string_equal(out.finish_reason, "stop");
    assert_int_equal(out.prompt_tokens, 12);
    assert_int_equal(out.completion_tokens, 7);
    assert_int_equal(out.attempts, 1);
    assert_string_equal(out.endpoint, c.url[0]);
    assert_true(out.latency_ms >= 0);
    backend_completion_free(&out);

    assert_int_equal(s.n_req, 1);
    assert_string_equal(s.path[0], "/v1/chat/completions");
    assert_string_equal(s.auth[0], "Bearer sk-test");
    check_request_body(s.body[0], 0);

    struct backend_stats st;
    c.b->ops->stats(c.b, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.completion_tokens, 7);
    const char *d = c.b->ops->describe(c.b);
    assert_non_null(strstr(d, "model=test-model"));
    assert_non_null(strstr(d, c.url[0]));
    backend_close(c.b);
    server_stop(&s);
}

static void test_chat_plain_and_truncated(void **state)
{
    static const struct canned script[] = {
        {"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_TRUNCATED, 0, 0, 0, 0},
    };
    struct server s;
    server_start(&s, script, 2);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.api_key = NULL;
    client_open(&c);
    struct backend_request req = request();
    req.system = NULL;
    req.top_k = 20;
    req.min_p = 0.05;
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "ok");
    assert_null(out.reasoning);
    assert_string_equal(out.content, "ok");
    backend_completion_free(&out);
    /* Cut inside the reasoning: the think block stays open. */
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "<think>let me see, 2+");
    assert_string_equal(out.reasoning, "let me see, 2+");
    assert_string_equal(out.content, "");
    assert_string_equal(out.finish_reason, "length");
    backend_completion_free(&out);

    assert_int_equal(s.n_req, 2);
    assert_string_equal(s.auth[0], "");
    cJSON *root = cJSON_Parse(s.body[0]);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "messages")), 1);
    assert_int_equal(cJSON_GetObjectItem(root, "top_k")->valueint, 20);
    assert_true(cJSON_GetObjectItem(root, "min_p")->valuedouble == 0.05);
    cJSON_Delete(root);
    backend_close(c.b);
    server_stop(&s);
}

static void test_chat_stream_tiny_pieces(void **state)
{
    static const struct canned script[] = {
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE, 1, 3, 0, 0},
    };
    struct server s;
    server_start(&s, script, 1);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.stream = 1;
    client_open(&c);
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "<think>Two plus two.</think>The answer is 4.");
    assert_string_equal(out.reasoning, "Two plus two.");
    assert_string_equal(out.content, "The answer is 4.");
    assert_string_equal(out.finish_reason, "stop");
    assert_int_equal(out.prompt_tokens, 12);
    assert_int_equal(out.completion_tokens, 9);
    assert_int_equal(out.attempts, 1);
    backend_completion_free(&out);
    check_request_body(s.body[0], 1);
    assert_non_null(strstr(c.b->ops->describe(c.b), "stream"));
    backend_close(c.b);
    server_stop(&s);
}

static void test_completions_stream(void **state)
{
    static const struct canned script[] = {
        {"200 OK", "Content-Type: text/event-stream\r\n", COMPLETIONS_SSE, 1, 7, 0, 0},
    };
    struct server s;
    server_start(&s, script, 1);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.stream = 1;
    c.cfg.api = HTTP_API_COMPLETIONS;
    client_open(&c);
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "Four (4)");
    assert_null(out.reasoning);
    assert_string_equal(out.content, "Four (4)");
    assert_string_equal(out.finish_reason, "length");
    assert_int_equal(out.completion_tokens, 2);
    backend_completion_free(&out);
    assert_string_equal(s.path[0], "/v1/completions");
    cJSON *root = cJSON_Parse(s.body[0]);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "prompt")->valuestring, "What is 2+2?");
    assert_null(cJSON_GetObjectItem(root, "messages"));
    cJSON_Delete(root);
    backend_close(c.b);
    server_stop(&s);
}

static void test_stream_answered_with_json(void **state)
{
    /* A server that ignores "stream": a plain JSON body is still a completion. */
    static const struct canned script[] = {{"200 OK", NULL, CHAT_REASONING, 0, 0, 0, 0}};
    struct server s;
    server_start(&s, script, 1);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.stream = 1;
    client_open(&c);
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    assert_string_equal(out.text, "<think>2+2=4</think>The answer is 4.");
    backend_completion_free(&out);
    backend_close(c.b);
    server_stop(&s);
}

/* ===== retries ===== */

/* Run one request against script; return its code, fill out/err and the request count. */
static enum rsa_err run_script(const struct canned *script, size_t n, int stream, int retries,
                               struct backend_completion *out, char *err, size_t errlen,
                               int *n_req, struct backend_stats *st)
{
    struct server s;
    server_start(&s, script, n);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.stream = stream;
    c.cfg.retries = retries;
    client_open(&c);
    struct backend_request req = request();
    enum rsa_err e = c.b->ops->complete(c.b, &req, out, err, errlen);
    if (st != NULL)
        c.b->ops->stats(c.b, st);
    backend_close(c.b);
    server_stop(&s);
    *n_req = s.n_req;
    return e;
}

static void test_503_then_200(void **state)
{
    static const struct canned script[] = {
        {"503 Service Unavailable", NULL, ERR_503, 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_REASONING, 0, 0, 0, 0},
    };
    struct backend_completion out;
    struct backend_stats st;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 2, 0, 3, &out, err, sizeof(err), &n_req, &st), RSA_OK);
    assert_int_equal(out.attempts, 2);
    assert_int_equal(n_req, 2);
    assert_string_equal(out.content, "The answer is 4.");
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.failures, 0);
    backend_completion_free(&out);
}

static void test_429_retry_after(void **state)
{
    static const struct canned script[] = {
        {"429 Too Many Requests", "Retry-After: 0\r\n", ERR_503, 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0},
    };
    struct backend_completion out;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 2, 0, 3, &out, err, sizeof(err), &n_req, NULL), RSA_OK);
    assert_int_equal(out.attempts, 2);
    backend_completion_free(&out);
}

static void test_400_not_retried(void **state)
{
    static const struct canned script[] = {
        {"400 Bad Request", "Content-Type: application/json\r\n", ERR_400, 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0},
    };
    for (int stream = 0; stream <= 1; stream++) {
        struct backend_completion out;
        struct backend_stats st;
        char err[512] = "";
        int n_req = 0;
        assert_int_equal(run_script(script, 2, stream, 3, &out, err, sizeof(err), &n_req, &st),
                         RSA_ERR_HTTP_STATUS);
        assert_int_equal(n_req, 1);
        assert_null(out.text);
        assert_non_null(strstr(err, "/v1/chat/completions: HTTP 400: max_tokens is too large"));
        assert_non_null(strstr(err, "http://127.0.0.1:"));
        assert_int_equal(st.failures, 1);
        assert_int_equal(st.requests, 0);
    }
}

static void test_retries_exhausted(void **state)
{
    static const struct canned script[] = {
        {"502 Bad Gateway", NULL, "<html>bad gateway</html>", 0, 0, 0, 0},
    };
    struct backend_completion out;
    struct backend_stats st;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 1, 0, 2, &out, err, sizeof(err), &n_req, &st),
                     RSA_ERR_HTTP_STATUS);
    assert_int_equal(n_req, 3);
    assert_non_null(strstr(err, "HTTP 502: <html>bad gateway</html>"));
    assert_non_null(strstr(err, "3 attempts"));
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.failures, 1);
}

static void test_stream_without_done_retried(void **state)
{
    static const struct canned script[] = {
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE_CUT, 1, 5, 0, 0},
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE, 1, 11, 0, 0},
    };
    struct backend_completion out;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 2, 1, 3, &out, err, sizeof(err), &n_req, NULL), RSA_OK);
    assert_int_equal(out.attempts, 2);
    /* Nothing of the failed attempt leaks into the retried one. */
    assert_string_equal(out.text, "<think>Two plus two.</think>The answer is 4.");
    assert_string_equal(out.reasoning, "Two plus two.");
    backend_completion_free(&out);
    /* With no retries the cut stream is an error naming the cause. */
    assert_int_equal(run_script(script, 1, 1, 0, &out, err, sizeof(err), &n_req, NULL),
                     RSA_ERR_PROTOCOL);
    assert_non_null(strstr(err, "without [DONE]"));
}

static void test_transfer_cut_retried(void **state)
{
    static const struct canned script[] = {
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE, 1, 64, 1, 0},
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE, 1, 0, 0, 0},
    };
    struct backend_completion out;
    char err[512] = "";
    int n_req = 0;
    /* The first transfer ends without its last chunk: curl reports a partial body. */
    assert_int_equal(run_script(script, 2, 1, 3, &out, err, sizeof(err), &n_req, NULL), RSA_OK);
    assert_int_equal(out.attempts, 2);
    assert_string_equal(out.content, "The answer is 4.");
    backend_completion_free(&out);
}

static void test_stream_error_event(void **state)
{
    static const struct canned script[] = {
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE_ERROR, 1, 0, 0, 0},
        {"200 OK", "Content-Type: text/event-stream\r\n", CHAT_SSE, 1, 0, 0, 0},
    };
    struct backend_completion out;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 1, 1, 0, &out, err, sizeof(err), &n_req, NULL),
                     RSA_ERR_PROTOCOL);
    assert_non_null(strstr(err, "engine died: out of KV cache"));
    assert_int_equal(run_script(script, 2, 1, 1, &out, err, sizeof(err), &n_req, NULL), RSA_OK);
    assert_int_equal(out.attempts, 2);
    backend_completion_free(&out);
}

static void test_malformed_200_retried(void **state)
{
    static const struct canned script[] = {
        {"200 OK", NULL, "{\"choices\":[{\"mess", 0, 0, 0, 0},
        {"200 OK", NULL, "{\"error\":{\"message\":\"oops\"}}", 0, 0, 0, 0},
        {"200 OK", NULL, "{\"choices\":[]}", 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0},
    };
    struct backend_completion out;
    char err[512] = "";
    int n_req = 0;
    assert_int_equal(run_script(script, 4, 0, 3, &out, err, sizeof(err), &n_req, NULL), RSA_OK);
    assert_int_equal(out.attempts, 4);
    backend_completion_free(&out);
    assert_int_equal(run_script(script, 2, 0, 1, &out, err, sizeof(err), &n_req, NULL),
                     RSA_ERR_PROTOCOL);
    assert_non_null(strstr(err, "malformed response"));
    assert_non_null(strstr(err, "oops"));
}

static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd); /* bound, never listened: connections are refused */
    return ntohs(a.sin_port);
}

static void test_connection_refused(void **state)
{
    struct client c;
    struct server fake;
    memset(&fake, 0, sizeof(fake));
    fake.port = unused_port();
    client_config(&c, &fake, 1);
    c.cfg.retries = 2;
    client_open(&c);
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_ERR_HTTP);
    assert_non_null(strstr(err, c.url[0]));
    assert_non_null(strstr(err, "3 attempts"));
    assert_null(out.text);
    backend_close(c.b);
}

/* ===== model discovery, tokenizer endpoints ===== */

static void test_model_discovery(void **state)
{
    static const struct canned script[] = {
        {"200 OK", NULL, "{\"object\":\"list\",\"data\":[{\"id\":\"served/model-7b\"}]}", 0, 0, 0, 0},
        {"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0},
    };
    struct server s;
    server_start(&s, script, 2);
    struct client c;
    client_config(&c, &s, 1);
    c.cfg.model = "";
    client_open(&c);
    assert_non_null(strstr(c.b->ops->describe(c.b), "model=served/model-7b"));
    struct backend_request req = request();
    struct backend_completion out;
    char err[512] = "";
    assert_int_equal(c.b->ops->complete(c.b, &req, &out, err, sizeof(err)), RSA_OK);
    backend_completion_free(&out);
    assert_string_equal(s.path[0], "/v1/models");
    assert_string_equal(s.auth[0], "Bearer sk-test");
    cJSON *root = cJSON_Parse(s.body[1]);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "model")->valuestring, "served/model-7b");
    cJSON_Delete(root);
    backend_close(c.b);
    server_stop(&s);

    /* No model served: http_open fails with a reason. */
    static const struct canned empty[] = {{"200 OK", NULL, "{\"data\":[]}", 0, 0, 0, 0}};
    server_start(&s, empty, 1);
    client_config(&c, &s, 1);
    c.cfg.model = "";
    c.cfg.retries = 0;
    assert_int_not_equal(http_open(&c.cfg, &c.b, err, sizeof(err)), RSA_OK);
    assert_null(c.b);
    assert_non_null(strstr(err, "/v1/models"));
    server_stop(&s);
}

static void test_tokenize_roundtrip(void **state)
{
    static const struct canned script[] = {
        {"200 OK", NULL, "{\"count\":2,\"max_model_len\":4096,\"tokens\":[9906,1917]}", 0, 0, 0, 0},
        {"200 OK", NULL, "{\"prompt\":\"Hello world\"}", 0, 0, 0, 0},
        {"200 OK", NULL, "{\"tokens\":[9906,1917]}", 0, 0, 0, 0},
        {"200 OK", NULL, "{\"prompt\":\"Hello world\"}", 0, 0, 0, 0},
    };
    struct server s;
    server_start(&s, script, 4);
    struct client c;
    client_config(&c, &s, 1);
    client_open(&c);
    char err[512] = "";
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(c.b->ops->tokenize(c.b, "Hello world", &ids, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 9906);
    assert_int_equal(ids[1], 1917);
    char *text = NULL;
    assert_int_equal(c.b->ops->detokenize(c.b, ids, n, &text, err, sizeof(err)), RSA_OK);
    assert_string_equal(text, "Hello world");
    free(text);
    free(ids);
    assert_int_equal(http_probe_tokenize(c.b, err, sizeof(err)), 1);

    assert_string_equal(s.path[0], "/tokenize");
    assert_string_equal(s.path[1], "/detokenize");
    cJSON *root = cJSON_Parse(s.body[0]);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "prompt")->valuestring, "Hello world");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "add_special_tokens")));
    assert_string_equal(cJSON_GetObjectItem(root, "model")->valuestring, "test-model");
    cJSON_Delete(root);
    root = cJSON_Parse(s.body[1]);
    assert_non_null(root);
    cJSON *toks = cJSON_GetObjectItem(root, "tokens");
    assert_int_equal(cJSON_GetArraySize(toks), 2);
    assert_int_equal(cJSON_GetArrayItem(toks, 1)->valueint, 1917);
    cJSON_Delete(root);
    backend_close(c.b);
    server_stop(&s);
}

static void test_probe_404(void **state)
{
    static const struct canned script[] = {
        {"404 Not Found", NULL, "{\"detail\":\"Not Found\"}", 0, 0, 0, 0},
    };
    struct server s;
    server_start(&s, script, 1);
    struct client c;
    client_config(&c, &s, 1);
    client_open(&c);
    char err[512] = "";
    assert_int_equal(http_probe_tokenize(c.b, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "/tokenize: HTTP 404"));
    assert_int_equal(s.n_req, 1); /* 404 is final */
    backend_close(c.b);
    server_stop(&s);
}

/* ===== load balancing ===== */

struct worker {
    struct backend *b;
    enum rsa_err e;
    char endpoint[256];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct backend_request req = request();
    struct backend_completion out;
    char err[512];
    w->e = w->b->ops->complete(w->b, &req, &out, err, sizeof(err));
    if (w->e == RSA_OK)
        snprintf(w->endpoint, sizeof(w->endpoint), "%s", out.endpoint);
    backend_completion_free(&out);
    return NULL;
}

static void test_concurrency_cap(void **state)
{
    static const struct canned slow[] = {{"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 60}};
    struct server s[2];
    server_start(&s[0], slow, 1);
    server_start(&s[1], slow, 1);
    struct client c;
    client_config(&c, s, 2);
    c.cfg.concurrency = 2;
    client_open(&c);
    enum { NW = 10 };
    struct worker w[NW];
    pthread_t t[NW];
    for (int i = 0; i < NW; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].b = c.b;
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    int used[2] = {0, 0};
    for (int i = 0; i < NW; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].e, RSA_OK);
        if (strcmp(w[i].endpoint, c.url[0]) == 0)
            used[0]++;
        else if (strncmp(w[i].endpoint, c.url[1], strlen(c.url[1]) - 1) == 0) /* no '/' */
            used[1]++;
    }
    struct backend_stats st;
    c.b->ops->stats(c.b, &st);
    assert_int_equal(st.requests, NW);
    backend_close(c.b);
    server_stop(&s[0]);
    server_stop(&s[1]);
    /* Never more than the cap in flight on one endpoint; both endpoints used. */
    assert_true(s[0].max_active <= 2);
    assert_true(s[1].max_active <= 2);
    assert_int_equal(s[0].n_req + s[1].n_req, NW);
    assert_true(s[0].n_req > 0 && s[1].n_req > 0);
    assert_int_equal(used[0] + used[1], NW);
    assert_int_equal(used[1], s[1].n_req);
}

static void test_dead_endpoint_avoided(void **state)
{
    /* Endpoint 0 refuses connections. Ties go to the lowest index, so without the
       retry-elsewhere rule every request would fail twice on it with retries = 1. */
    static const struct canned ok[] = {{"200 OK", NULL, CHAT_PLAIN, 0, 0, 0, 0}};
    struct server s[2];
    memset(&s[0], 0, sizeof(s[0]));
    s[0].port = unused_port();
    server_start(&s[1], ok, 1);
    struct client c;
    client_config(&c, s, 2);
    c.cfg.retries = 1;
    client_open(&c);
    for (int i = 0; i < 6; i++) {
        struct backend_request req = request();
        struct backend_completion out;
        char err[512] = "";
        enum rsa_err e = c.b->ops->complete(c.b, &req, &out, err, sizeof(err));
        if (e != RSA_OK)
            fail_msg("request %d: %s", i, err);
        assert_true(out.attempts <= 2);
        /* Endpoint 1, configured with a trailing slash, is recorded without it. */
        assert_int_equal(strlen(out.endpoint), strlen(c.url[1]) - 1);
        assert_int_equal(strncmp(out.endpoint, c.url[1], strlen(out.endpoint)), 0);
        backend_completion_free(&out);
    }
    backend_close(c.b);
    server_stop(&s[1]);
    assert_int_equal(s[1].n_req, 6);
}

static void test_open_rejects_bad_config(void **state)
{
    struct client c;
    struct server fake;
    memset(&fake, 0, sizeof(fake));
    fake.port = 1;
    char err[256];
    client_config(&c, &fake, 1);
    c.cfg.concurrency = 0;
    assert_int_equal(http_open(&c.cfg, &c.b, err, sizeof(err)), RSA_ERR_CONFIG);
    client_config(&c, &fake, 1);
    c.urls[0] = "localhost:8000/v1";
    assert_int_equal(http_open(&c.cfg, &c.b, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_non_null(strstr(err, "localhost:8000/v1"));
    client_config(&c, &fake, 1);
    c.cfg.n_urls = 0;
    assert_int_equal(http_open(&c.cfg, &c.b, err, sizeof(err)), RSA_ERR_CONFIG);
    backend_close(NULL);
}

int main(void)
{
    /* Loopback traffic must not go through a proxy from the environment. */
    static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy",
                                          "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_reasoning),
        cmocka_unit_test(test_chat_plain_and_truncated),
        cmocka_unit_test(test_chat_stream_tiny_pieces),
        cmocka_unit_test(test_completions_stream),
        cmocka_unit_test(test_stream_answered_with_json),
        cmocka_unit_test(test_503_then_200),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_400_not_retried),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_stream_without_done_retried),
        cmocka_unit_test(test_transfer_cut_retried),
        cmocka_unit_test(test_stream_error_event),
        cmocka_unit_test(test_malformed_200_retried),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_model_discovery),
        cmocka_unit_test(test_tokenize_roundtrip),
        cmocka_unit_test(test_probe_404),
        cmocka_unit_test(test_concurrency_cap),
        cmocka_unit_test(test_dead_endpoint_avoided),
        cmocka_unit_test(test_open_rejects_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
