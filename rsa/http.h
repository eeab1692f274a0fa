/*
 * http.h: the OpenAI-compatible HTTP backend (libcurl): vLLM, SGLang, llama.cpp.
 *
 * POST {url}/chat/completions (api = chat) or {url}/completions (api = completions),
 * streaming (SSE) or not; reasoning in `reasoning_content` or `reasoning` is folded
 * into the trace text between think_open and think_close, in generation order.
 * Several endpoints share the load: each request goes to the endpoint with the fewest
 * requests in flight (ties: lowest index) whose in-flight count is below the
 * per-endpoint cap; the caller blocks until one has room. Retries (exponential backoff
 * with jitter; Retry-After honoured on 429) go to the least-loaded endpoint again.
 * An endpoint whose last attempt failed retryably (transport error, 408, 429, 5xx,
 * malformed answer) cools down for one backoff interval (doubling with consecutive
 * failures, capped at backoff_max_s), and a retry avoids the endpoint that just failed
 * it: such endpoints are picked only when no other endpoint has room, so a dead server
 * in a fleet does not soak up every request.
 * Token-exact tails use vLLM's POST /tokenize and /detokenize at the server root.
 */
#ifndef RSA_HTTP_H
#define RSA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

enum http_api { HTTP_API_CHAT = 0, HTTP_API_COMPLETIONS = 1 };

struct http_config {
    const char *const *urls;   /* base URLs, e.g. "http://127.0.0.1:8000/v1" (n_urls >= 1) */
    size_t n_urls;
    const char *model;         /* model name; "" = ask GET {url}/models and take data[0].id */
    const char *api_key;       /* bearer token or NULL/"" (never logged or stored) */
    enum http_api api;
    int stream;                /* 1 = SSE streaming with stream_options.include_usage */
    int concurrency;           /* max requests in flight per endpoint, >= 1 */
    double timeout_s;          /* whole-request limit */
    double connect_timeout_s;  /* connection limit */
    int retries;               /* retries after the first attempt (0 = none) */
    double backoff_base_s;     /* first backoff; doubles each retry (e.g. 0.5) */
    double backoff_max_s;      /* cap on one backoff (e.g. 30) */
    const char *think_open;    /* e.g. "<think>" */
    const char *think_close;   /* e.g. "</think>" */
    uint64_t jitter_seed;      /* seeds backoff jitter (timing only, never results) */
};

/* http_open: make a backend. Probes nothing except, when model is "", GET /models.
   On failure returns an error and writes the reason into err. */
enum rsa_err http_open(const struct http_config *cfg, struct backend **out, char *err, size_t errlen);

/* http_probe_tokenize: 1 when every endpoint answers POST /tokenize and /detokenize
   correctly (a round trip of a short string), 0 otherwise (reason in err). */
int http_probe_tokenize(struct backend *b, char *err, size_t errlen);

/* The retry policy, pure so that tests can pin it.
   status: HTTP status (0 when the transport failed); curl_failed: 1 for a transport
   error (connection refused/reset, timeout, partial body); malformed: 1 when a 2xx
   body could not be parsed; attempt: 0-based index of the attempt that just failed;
   retry_after_s: the parsed Retry-After header (-1 when absent); u: uniform [0,1) for
   jitter. Returns 1 and sets *delay_s when the request should be retried:
   delay = min(max_s, base_s * 2^attempt) * (0.5 + 0.5 u), and on 429 at least
   retry_after_s. Never retries 4xx other than 408 and 429 (even with curl_failed or
   malformed set). */
int http_retry_decision(int status, int curl_failed, int malformed, int attempt, int max_retries,
                        double retry_after_s, double base_s, double max_s, double u,
                        double *delay_s);

/* http_parse_response: the answer of one completion request from a complete 2xx body
   held in memory; no I/O, no backend needed. Runs EXACTLY the parsing code a real
   request runs on that body (the same functions, not a copy): with stream = 0 the
   body is a JSON completion; with stream = 1 it is taken as an SSE byte stream
   (events with choices/delta, reasoning_content/reasoning, finish_reason, a usage
   chunk, error events, data: [DONE]; a stream that ends without [DONE] and without a
   finish_reason is an error), and, as for a real stream request, a body with no SSE
   event at all is parsed as a plain JSON completion. The body counts as delivered in
   one piece with status 200. think_open/think_close: the trace markers (NULL = the
   defaults "<think>", "</think>"). body may hold any bytes (NULs included); it need
   not be NUL-terminated.
   On RSA_OK fills out as http's complete does (text, reasoning, content,
   finish_reason, token counts) except endpoint, latency_ms and attempts (zero);
   the caller frees it with backend_completion_free(). On failure out is zeroed and
   err holds the reason: RSA_ERR_PROTOCOL for a body a real request would call
   malformed (and retry) or too large, RSA_ERR_NOMEM when memory runs out. */
enum rsa_err http_parse_response(enum http_api api, int stream, const char *think_open,
                                 const char *think_close, const char *body, size_t len,
                                 struct backend_completion *out, char *err, size_t errlen);

/* http_parse_retry_after: seconds from a Retry-After value (delta-seconds or HTTP-date
   relative to now_epoch_s); -1 when unparseable. */
double http_parse_retry_after(const char *value, int64_t now_epoch_s);

#endif
