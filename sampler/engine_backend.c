/* engine_backend.c: see engine_backend.h. */
#include "sampler/engine_backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "rsa/util.h"
#include "sampler/chat.h"
#include "sampler/sample.h"
#include "sampler/sched.h"
#include "sampler/tokenizer.h"

#define MAX_STOP_IDS (2 + MCFG_MAX_EOS)

struct engine_backend {
    struct backend base; /* first: the vtable header */
    struct engine *eng;
    struct tok *tok;
    const struct chat_template *chat;
    struct sched *sched;
    int enable_thinking;
    char *think_open, *think_close;
    int32_t stop_ids[MAX_STOP_IDS];
    int n_stop_ids;
    int vocab;
    int exact_tails;      /* the decoder is suffix-stable: tails can be carried by id */
    char desc[1024];
    atomic_uint_fast64_t requests, failures, completion_tokens, streamed;
};

static const struct backend_ops engine_backend_ops;

/* ===== text without NUL bytes ===== */

/* A model can emit the byte 0x00 (a <0x00> piece). Texts here are C strings (and SQLite TEXT), so
 * each NUL in text appended at or after `from` becomes U+FFFD; the ids stay what they are. */
static enum rsa_err nul_to_replacement(struct buf *b, size_t from)
{
    if (b->data == NULL || memchr(b->data + from, '\0', b->len - from) == NULL)
        return RSA_OK;
    struct buf t;
    buf_init(&t, 0);
    enum rsa_err rc = buf_append(&t, b->data, from);
    for (size_t i = from; i < b->len && rc == RSA_OK; i++)
        rc = b->data[i] == '\0' ? buf_append(&t, "\xef\xbf\xbd", 3) : buf_append(&t, b->data + i, 1);
    if (rc != RSA_OK) {
        buf_free(&t);
        return rc;
    }
    buf_free(b);
    *b = t;
    return RSA_OK;
}

/* decode_visible: tok_decode with NULs shown as U+FFFD, as generated text is stored */
static enum rsa_err decode_visible(const struct tok *t, const int32_t *ids, size_t n, char **out, size_t *len,
                                   char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b, 0);
    struct tok_stream ts;
    tok_stream_init(&ts, t, 0);
    enum rsa_err rc = RSA_OK;
    for (size_t i = 0; i < n && rc == RSA_OK; i++) {
        rc = tok_stream_push(&ts, ids[i], &b);
        if (rc == RSA_ERR_PARSE)
            util_errf(err, errlen, "token %zu (id %d) is out of the tokenizer's range", i, ids[i]);
    }
    if (rc == RSA_OK)
        rc = tok_stream_finish(&ts, &b);
    if (rc == RSA_OK)
        rc = nul_to_replacement(&b, 0);
    if (rc != RSA_OK) {
        buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = buf_take(&b);
    return *out ? RSA_OK : RSA_ERR_NOMEM;
}

/* ===== prompt ids ===== */

static enum rsa_err append_ids(int32_t **ids, size_t *n, size_t *cap, const int32_t *add, size_t k)
{
    if (*n + k > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *n + k)
            c *= 2;
        int32_t *v = realloc(*ids, c * sizeof(int32_t));
        if (v == NULL)
            return RSA_ERR_NOMEM;
        *ids = v;
        *cap = c;
    }
    if (k > 0)
        memcpy(*ids + *n, add, k * sizeof(int32_t));
    *n += k;
    return RSA_OK;
}

static enum rsa_err encode_append(const struct engine_backend *eb, const char *text, size_t len, int32_t **ids,
                                  size_t *n, size_t *cap, char *err, size_t errlen)
{
    if (len == 0)
        return RSA_OK;
    int32_t *part = NULL;
    size_t k = 0;
    enum rsa_err rc = tok_encode(eb->tok, text, len, &part, &k, err, errlen);
    if (rc == RSA_OK)
        rc = append_ids(ids, n, cap, part, k);
    free(part);
    return rc;
}

/* prompt_ids: render the chat prompt and encode it; the request's exact spans (inside the user
 * message) go in by id, the text between them is encoded piece by piece. */
static enum rsa_err prompt_ids(const struct engine_backend *eb, const struct backend_request *req, int32_t **out,
                               size_t *n_out, char *err, size_t errlen)
{
    struct chat_msg msgs[2];
    size_t nm = 0;
    if (req->system != NULL && req->system[0] != '\0')
        msgs[nm++] = (struct chat_msg){"system", req->system, NULL};
    size_t user = nm;
    msgs[nm++] = (struct chat_msg){"user", req->prompt ? req->prompt : "", NULL};
    struct chat_opts co = {.add_generation_prompt = 1, .enable_thinking = eb->enable_thinking};
    size_t offs[2] = {(size_t)-1, (size_t)-1};
    struct buf r;
    buf_init(&r, 0);
    enum rsa_err rc = chat_render(eb->chat, msgs, nm, &co, &r, offs, err, errlen);
    if (rc != RSA_OK) {
        buf_free(&r);
        return rc;
    }
    const char *txt = r.data ? r.data : "";
    size_t plen = strlen(msgs[user].content);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0, at = 0;
    /* spans are usable only when the template copied the user message verbatim */
    size_t base = offs[user];
    if (base == (size_t)-1 && req->n_spans > 0) {
        util_errf(err, errlen, "engine: the %s chat template changes the user message (it trims it), so tails "
                               "cannot be carried by id; use another backend.chat_template or a prompt template "
                               "without leading/trailing whitespace", chat_name(eb->chat));
        buf_free(&r);
        return RSA_ERR_UNSUPPORTED;
    }
    size_t nsp = req->n_spans;
    for (size_t i = 0; i < nsp && rc == RSA_OK; i++) {
        const struct backend_span *sp = &req->spans[i];
        if (sp->off + sp->len > plen || (i > 0 && sp->off < req->spans[i - 1].off + req->spans[i - 1].len)) {
            util_errf(err, errlen, "engine: prompt span %zu [%zu, +%zu) is outside the prompt or overlaps", i,
                      sp->off, sp->len);
            rc = RSA_ERR_USAGE;
            break;
        }
        /* the ids must decode (as generated text is kept) to exactly the span's bytes */
        char *dec = NULL;
        size_t dlen = 0;
        rc = decode_visible(eb->tok, sp->ids, sp->n, &dec, &dlen, err, errlen);
        if (rc == RSA_OK && (dlen != sp->len || memcmp(dec, txt + base + sp->off, sp->len) != 0)) {
            util_errf(err, errlen, "engine: the ids of prompt span %zu do not decode to its text", i);
            rc = RSA_ERR_PROTOCOL;
        }
        free(dec);
        if (rc == RSA_OK)
            rc = encode_append(eb, txt + at, base + sp->off - at, &ids, &n, &cap, err, errlen);
        if (rc == RSA_OK)
            rc = append_ids(&ids, &n, &cap, sp->ids, sp->n);
        at = base + sp->off + sp->len;
    }
    if (rc == RSA_OK)
        rc = encode_append(eb, txt + at, r.len - at, &ids, &n, &cap, err, errlen);
    buf_free(&r);
    if (rc != RSA_OK) {
        free(ids);
        return rc;
    }
    *out = ids;
    *n_out = n;
    return RSA_OK;
}

/* ===== generation ===== */

/* Per-request state the scheduler's on_token callback fills (on the scheduler thread). */
struct gen {
    struct engine_backend *eb;
    struct tok_stream ts;
    struct buf text;
    int32_t *ids;            /* [cap] generated ids, stop id excluded */
    uint32_t *ends;
    size_t n, cap;
    const char *const *stop;
    size_t n_stop;
    size_t max_stop_len;
    int stopped;             /* a stop string matched */
    enum rsa_err rc;         /* first failure inside the callback */
};

static int is_stop_id(const struct engine_backend *eb, int32_t id)
{
    for (int i = 0; i < eb->n_stop_ids; i++)
        if (eb->stop_ids[i] == id)
            return 1;
    return 0;
}

static int on_token(void *user, int32_t id, int pos)
{
    struct gen *g = user;
    atomic_fetch_add(&g->eb->streamed, 1);
    if (is_stop_id(g->eb, id))
        return 0; /* the scheduler ends the request on it; it is not part of the text */
    if (g->n == g->cap) {
        size_t c = g->cap ? 2 * g->cap : 256;
        int32_t *v = realloc(g->ids, c * sizeof(int32_t));
        uint32_t *e = v ? realloc(g->ends, c * sizeof(uint32_t)) : NULL;
        if (v != NULL)
            g->ids = v;
        if (e == NULL) {
            g->rc = RSA_ERR_NOMEM;
            return -1;
        }
        g->ends = e;
        g->cap = c;
    }
    size_t before = g->text.len;
    if (tok_stream_push(&g->ts, id, &g->text) != RSA_OK || nul_to_replacement(&g->text, before) != RSA_OK ||
        g->text.len >= BACKEND_END_PENDING) {
        g->rc = RSA_ERR_NOMEM;
        return -1;
    }
    g->ids[g->n] = id;
    g->ends[g->n] = (uint32_t)g->text.len | (tok_stream_pending(&g->ts) ? BACKEND_END_PENDING : 0);
    g->n++;
    /* a stop string that the new text completes ends the request; the text stops before it */
    if (g->n_stop > 0 && g->text.len > before) {
        size_t from = before > g->max_stop_len ? before - g->max_stop_len + 1 : 0;
        const char *hit = NULL;
        for (size_t i = 0; i < g->n_stop; i++) {
            const char *h = memmem(g->text.data + from, g->text.len - from, g->stop[i], strlen(g->stop[i]));
            if (h != NULL && (hit == NULL || h < hit))
                hit = h;
        }
        if (hit != NULL) {
            /* keep the whole tokens whose text ends at or before the match (the text is then
             * exactly the decode of the kept ids; a token straddling the match is dropped) */
            size_t cut = (size_t)(hit - g->text.data);
            size_t k = g->n - 1; /* the current token completed the match: never kept */
            while (k > 0 && ((g->ends[k - 1] & BACKEND_END_PENDING) || (g->ends[k - 1] & ~BACKEND_END_PENDING) > cut))
                k--;
            size_t keep = k > 0 ? (g->ends[k - 1] & ~BACKEND_END_PENDING) : 0;
            g->text.len = keep;
            if (g->text.data != NULL)
                g->text.data[keep] = '\0';
            g->n = k;
            g->stopped = 1;
            return 1;
        }
    }
    return 0;
}

static enum rsa_err eb_complete(struct backend *b, const struct backend_request *req, struct backend_completion *out,
                                char *err, size_t errlen)
{
    struct engine_backend *eb = (struct engine_backend *)b;
    memset(out, 0, sizeof(*out));
    double t0 = util_now_ms();
    struct sample_params sp = {req->temperature, req->top_k, req->top_p, req->min_p};
    int32_t *pids = NULL;
    size_t np = 0;
    struct gen g = {.eb = eb, .stop = req->stop, .n_stop = req->n_stop};
    buf_init(&g.text, 0);
    tok_stream_init(&g.ts, eb->tok, 0);
    for (size_t i = 0; i < req->n_stop; i++)
        if (strlen(req->stop[i]) > g.max_stop_len)
            g.max_stop_len = strlen(req->stop[i]);
    struct sched_result res = {0};
    enum rsa_err rc = sample_check(&sp, err, errlen);
    if (rc == RSA_OK)
        rc = prompt_ids(eb, req, &pids, &np, err, errlen);
    if (rc == RSA_OK && np == 0) {
        util_errf(err, errlen, "engine: the prompt encodes to no tokens");
        rc = RSA_ERR_USAGE;
    }
    if (rc == RSA_OK) {
        struct sched_request sr = {
            .prompt = pids,
            .n_prompt = (int)np,
            .sp = sp,
            .seed = (uint64_t)req->seed,
            .max_tokens = req->max_tokens,
            .stop_ids = eb->stop_ids,
            .n_stop_ids = eb->n_stop_ids,
            .on_token = on_token,
            .user = &g,
            .vocab_limit = tok_vocab_size(eb->tok),
        };
        rc = sched_generate(eb->sched, &sr, &res, err, errlen);
        if (rc != RSA_OK && g.rc != RSA_OK)
            rc = g.rc;
    }
    size_t before_finish = g.text.len;
    if (rc == RSA_OK && !g.stopped &&
        (tok_stream_finish(&g.ts, &g.text) != RSA_OK || nul_to_replacement(&g.text, before_finish) != RSA_OK))
        rc = RSA_ERR_NOMEM;
    if (rc == RSA_OK && g.n > 0 && !g.stopped)
        g.ends[g.n - 1] = (uint32_t)g.text.len; /* held bytes were flushed */
    if (rc == RSA_OK) {
        out->text = buf_take(&g.text);
        size_t ro, rl, co, cl;
        chat_split_reasoning(out->text, eb->think_open, eb->think_close, eb->enable_thinking, &ro, &rl, &co, &cl);
        out->reasoning = rl > 0 ? util_strndup(out->text + ro, rl) : NULL;
        out->content = util_strndup(out->text + co, cl);
        if (out->text == NULL || out->content == NULL || (rl > 0 && out->reasoning == NULL))
            rc = RSA_ERR_NOMEM;
    }
    if (rc == RSA_OK) {
        out->prompt_tokens = (int)np;
        out->completion_tokens = res.n; /* the stop token counts, as servers count it */
        snprintf(out->finish_reason, sizeof(out->finish_reason), "%s",
                 res.finish == SCHED_FINISH_LENGTH ? "length" : "stop");
        out->latency_ms = util_now_ms() - t0;
        snprintf(out->endpoint, sizeof(out->endpoint), "engine");
        out->attempts = 1;
        out->ids = g.ids;
        out->ends = g.ends;
        out->n_ids = g.n;
        g.ids = NULL;
        g.ends = NULL;
        atomic_fetch_add(&eb->requests, 1);
        atomic_fetch_add(&eb->completion_tokens, (uint64_t)res.n);
    } else {
        backend_completion_free(out);
        atomic_fetch_add(&eb->failures, 1);
    }
    sched_result_free(&res);
    buf_free(&g.text);
    free(g.ids);
    free(g.ends);
    free(pids);
    return rc;
}

/* ===== the rest of the vtable ===== */

static enum rsa_err eb_tokenize(struct backend *b, const char *text, int32_t **ids, size_t *n, char *err,
                                size_t errlen)
{
    return tok_encode(((struct engine_backend *)b)->tok, text, strlen(text), ids, n, err, errlen);
}

static enum rsa_err eb_detokenize(struct backend *b, const int32_t *ids, size_t n, char **text, char *err,
                                  size_t errlen)
{
    return tok_decode(((struct engine_backend *)b)->tok, ids, n, 0, text, err, errlen);
}

static void eb_stats(struct backend *b, struct backend_stats *out)
{
    struct engine_backend *eb = (struct engine_backend *)b;
    memset(out, 0, sizeof(*out));
    out->requests = atomic_load(&eb->requests);
    out->failures = atomic_load(&eb->failures);
    out->completion_tokens = atomic_load(&eb->completion_tokens);
    out->streamed_tokens = atomic_load(&eb->streamed);
}

static const char *eb_describe(struct backend *b)
{
    return ((struct engine_backend *)b)->desc;
}

static void eb_close(struct backend *b)
{
    struct engine_backend *eb = (struct engine_backend *)b;
    if (eb == NULL)
        return;
    sched_close(eb->sched);
    engine_close(eb->eng);
    tok_free(eb->tok);
    free(eb->think_open);
    free(eb->think_close);
    free(eb);
}

/* suffix_stable: a decode started at any id where the stream holds nothing back gives exactly the
 * text the stream emitted from there (false for decoders that treat the first token specially,
 * e.g. Metaspace with a prepended space or a whole-text Strip). Probed on a sample text. */
static int suffix_stable(const struct tok *t)
{
    static const char probe[] = "Let x = 12, so 2x + 1 = 25.\n\n  Therefore: the answer is \\boxed{25}. "
                                "\xce\xb1\xce\xb2 \xe2\x82\xac \xf0\x9f\x99\x82 end";
    int32_t *ids = NULL;
    size_t n = 0;
    char err[256];
    if (tok_encode(t, probe, strlen(probe), &ids, &n, err, sizeof(err)) != RSA_OK)
        return 0;
    struct tok_stream ts;
    tok_stream_init(&ts, t, 0);
    struct buf text;
    buf_init(&text, 0);
    size_t *start = malloc((n + 1) * sizeof(size_t));
    int *clean = malloc((n + 1) * sizeof(int));
    int ok = start != NULL && clean != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        start[i] = text.len;
        clean[i] = tok_stream_pending(&ts) == 0;
        ok = tok_stream_push(&ts, ids[i], &text) == RSA_OK;
    }
    ok = ok && tok_stream_finish(&ts, &text) == RSA_OK;
    for (size_t k = 1; ok && k < n; k++) {
        if (!clean[k])
            continue;
        char *d = NULL;
        size_t dl = 0;
        ok = decode_visible(t, ids + k, n - k, &d, &dl, err, sizeof(err)) == RSA_OK && dl == text.len - start[k] &&
             memcmp(d, text.data + start[k], dl) == 0;
        free(d);
    }
    free(start);
    free(clean);
    free(ids);
    buf_free(&text);
    return ok;
}

int engine_backend_exact_tails(const struct backend *b)
{
    return b != NULL && b->ops == &engine_backend_ops && ((const struct engine_backend *)b)->exact_tails;
}

static const struct backend_ops engine_backend_ops = {
    .name = "engine",
    .complete = eb_complete,
    .tokenize = eb_tokenize,
    .detokenize = eb_detokenize,
    .stats = eb_stats,
    .describe = eb_describe,
    .close = eb_close,
};

static void add_stop_id(struct engine_backend *eb, int32_t id)
{
    if (id < 0 || id >= eb->vocab || is_stop_id(eb, id) || eb->n_stop_ids == MAX_STOP_IDS)
        return;
    eb->stop_ids[eb->n_stop_ids++] = id;
}

enum rsa_err engine_backend_open(const struct engine_backend_opts *o, struct backend **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    if (o->model_dir == NULL || o->model_dir[0] == '\0') {
        util_errf(err, errlen, "backend.model: the engine needs a model directory (config.json + safetensors + "
                               "tokenizer.json)");
        return RSA_ERR_CONFIG;
    }
    struct engine_backend *eb = calloc(1, sizeof(*eb));
    if (eb == NULL)
        return RSA_ERR_NOMEM;
    eb->base.ops = &engine_backend_ops;
    eb->enable_thinking = o->enable_thinking;
    eb->think_open = util_strdup(o->think_open ? o->think_open : "<think>");
    eb->think_close = util_strdup(o->think_close ? o->think_close : "</think>");
    enum rsa_err rc = eb->think_open && eb->think_close ? RSA_OK : RSA_ERR_NOMEM;
    if (rc == RSA_OK)
        rc = chat_find(o->chat ? o->chat : "zaya1", &eb->chat, err, errlen);
    char *tpath = NULL;
    if (rc == RSA_OK) {
        tpath = o->tokenizer && o->tokenizer[0] ? util_strdup(o->tokenizer) : util_resolve(o->model_dir, "tokenizer.json");
        rc = tpath ? RSA_OK : RSA_ERR_NOMEM;
    }
    if (rc == RSA_OK)
        rc = tok_load(tpath, &eb->tok, err, errlen);
    int max_conc = o->max_concurrent > 0 ? o->max_concurrent : 16;
    if (rc == RSA_OK) {
        /* slots: every running request, plus one prefix root per distinct prompt */
        /* a step holds every running request's token plus a prefill chunk of 128 */
        struct engine_opts eo = {.threads = o->threads, .max_seqs = 2 * max_conc + 2,
                                 .max_step_tokens = max_conc + 128 > 256 ? max_conc + 128 : 256, .isa = o->isa - 1,
                                 .batch_invariant = true,
                                 .device = o->device ? ENGINE_DEVICE_CUDA : ENGINE_DEVICE_CPU};
        /* engine_open refuses device = cuda clearly when this build or machine cannot run it */
        if (o->memory_gb > 0) {
            eo.cache_bytes = (size_t)(o->memory_gb * 1073741824.0);
        } else if (o->device) {
            eo.cache_bytes = 0; /* the engine plans 90% of the device memory left after the weights */
        } else {
            long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
            double quarter = pages > 0 && psz > 0 ? (double)pages * (double)psz / 4 : 1073741824.0;
            eo.cache_bytes = (size_t)(quarter < 8589934592.0 ? quarter : 8589934592.0);
        }
        rc = engine_open(o->model_dir, &eo, &eb->eng, err, errlen);
    }
    if (rc == RSA_OK) {
        const struct mcfg *mc = engine_config(eb->eng);
        eb->vocab = mc->vocab_size;
        if (o->max_tokens >= mc->max_position_embeddings) {
            util_errf(err, errlen, "sampling.max_tokens = %d leaves no room for a prompt in the context of the model "
                                   "in %s (max_position_embeddings = %d)", o->max_tokens, o->model_dir,
                      mc->max_position_embeddings);
            rc = RSA_ERR_CONFIG;
        }
        if (rc == RSA_OK && tok_vocab_size(eb->tok) > mc->vocab_size) {
            util_errf(err, errlen, "%s has %d tokens but the model in %s has only %d embeddings", tpath,
                      tok_vocab_size(eb->tok), o->model_dir, mc->vocab_size);
            rc = RSA_ERR_CONFIG;
        }
        add_stop_id(eb, tok_eos(eb->tok));
        add_stop_id(eb, tok_id(eb->tok, chat_stop(eb->chat)));
        for (int i = 0; i < mc->num_eos; i++)
            add_stop_id(eb, mc->eos_token_ids[i]);
        if (rc == RSA_OK && eb->n_stop_ids == 0) {
            util_errf(err, errlen, "%s: no end-of-sequence token (eos_token in tokenizer_config.json, \"%s\", or "
                                   "eos_token_id in config.json)", tpath, chat_stop(eb->chat));
            rc = RSA_ERR_CONFIG;
        }
    }
    if (rc == RSA_OK)
        eb->exact_tails = suffix_stable(eb->tok);
    if (rc == RSA_OK) {
        struct sched_opts so = {.max_batch = max_conc, .prefill_chunk = 128};
        rc = sched_open(eb->eng, &so, &eb->sched, err, errlen);
    }
    if (rc == RSA_OK) {
        char stops[128] = "";
        for (int i = 0; i < eb->n_stop_ids; i++)
            snprintf(stops + strlen(stops), sizeof(stops) - strlen(stops), "%s%d", i ? "," : "", eb->stop_ids[i]);
        snprintf(eb->desc, sizeof(eb->desc), "engine %s (%s); tokenizer %s%s; chat %s%s; stop ids %s", o->model_dir,
                 engine_describe(eb->eng), tok_describe(eb->tok),
                 eb->exact_tails ? "" : " (decoder not suffix-stable: tails re-tokenised)", chat_name(eb->chat),
                 eb->enable_thinking ? "" : " (thinking off)", stops);
    }
    free(tpath);
    if (rc != RSA_OK) {
        eb_close(&eb->base);
        return rc;
    }
    *out = &eb->base;
    return RSA_OK;
}

/* ===== a tokenizer-only backend ===== */

struct tok_backend {
    struct backend base;
    struct tok *tok;
    char desc[512];
};

static enum rsa_err tb_complete(struct backend *b, const struct backend_request *req, struct backend_completion *out,
                                char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    util_errf(err, errlen, "a tokenizer-only backend cannot generate");
    return RSA_ERR_UNSUPPORTED;
}

static enum rsa_err tb_tokenize(struct backend *b, const char *text, int32_t **ids, size_t *n, char *err,
                                size_t errlen)
{
    return tok_encode(((struct tok_backend *)b)->tok, text, strlen(text), ids, n, err, errlen);
}

static enum rsa_err tb_detokenize(struct backend *b, const int32_t *ids, size_t n, char **text, char *err,
                                  size_t errlen)
{
    return tok_decode(((struct tok_backend *)b)->tok, ids, n, 0, text, err, errlen);
}

static void tb_stats(struct backend *b, struct backend_stats *out)
{
    memset(out, 0, sizeof(*out));
}

static const char *tb_describe(struct backend *b)
{
    return ((struct tok_backend *)b)->desc;
}

static void tb_close(struct backend *b)
{
    struct tok_backend *tb = (struct tok_backend *)b;
    if (tb == NULL)
        return;
    tok_free(tb->tok);
    free(tb);
}

static const struct backend_ops tok_backend_ops = {
    .name = "tokenizer",
    .complete = tb_complete,
    .tokenize = tb_tokenize,
    .detokenize = tb_detokenize,
    .stats = tb_stats,
    .describe = tb_describe,
    .close = tb_close,
};

enum rsa_err tokenizer_backend_open(const char *path, struct backend **out, char *err, size_t errlen)
{
    *out = NULL;
    struct tok_backend *tb = calloc(1, sizeof(*tb));
    if (tb == NULL)
        return RSA_ERR_NOMEM;
    tb->base.ops = &tok_backend_ops;
    enum rsa_err rc = tok_load(path, &tb->tok, err, errlen);
    if (rc != RSA_OK) {
        free(tb);
        return rc;
    }
    snprintf(tb->desc, sizeof(tb->desc), "tokenizer %s (%s)", path, tok_describe(tb->tok));
    *out = &tb->base;
    return RSA_OK;
}
