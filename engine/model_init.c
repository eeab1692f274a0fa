/*
 * model_init.c: seeded random ZAYA1 checkpoints (see model_init.h).
 */
#include "engine/model_init.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/cpu/kernels.h"
#include "rsa/util.h"

enum init_kind { INIT_LINEAR, INIT_ONE, INIT_BIAS, INIT_TEMP, INIT_EDA, INIT_BALANCE };

struct itensor {
    struct st_wtensor t;
    enum init_kind kind;
    int64_t fan_in;
    char name[160];
};

struct ilist {
    struct itensor *v;
    size_t n, cap;
};

static enum rsa_err add(struct ilist *l, enum init_kind kind, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum rsa_err add(struct ilist *l, enum init_kind kind, int ndim, const int64_t *shape, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        struct itensor *p = realloc(l->v, cap * sizeof(*p));
        if (p == NULL)
            return RSA_ERR_NOMEM;
        l->v = p;
        l->cap = cap;
    }
    struct itensor *it = &l->v[l->n++];
    memset(it, 0, sizeof(*it));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->name, sizeof(it->name), fmt, ap);
    va_end(ap);
    it->t.name = it->name;
    it->t.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        it->t.shape[i] = shape[i];
    it->kind = kind;
    it->fan_in = shape[ndim - 1];
    return RSA_OK;
}

#define S1(a) (int64_t[]){a}
#define S2(a, b) (int64_t[]){a, b}
#define S3(a, b, c) (int64_t[]){a, b, c}

/* tensors: the native tensor list for cfg, in the order HF writes them per layer. */
static enum rsa_err tensors(const struct mcfg *c, struct ilist *l)
{
    int64_t H = c->hidden_size, Hq = c->num_heads, Hk = c->num_kv_heads, D = c->head_dim;
    int64_t C = (Hq + Hk) * D, R = c->router_hidden_size, E = c->num_experts, I = c->moe_intermediate_size;
    int64_t V = c->vocab_size;
    enum rsa_err rc = RSA_OK;
#define A(...)                                                                                                       \
    do {                                                                                                             \
        if ((rc = add(l, __VA_ARGS__)) != RSA_OK)                                                                    \
            return rc;                                                                                               \
    } while (0)
    A(INIT_LINEAR, 2, S2(V, H), "model.embed_tokens.weight");
    A(INIT_ONE, 1, S1(H), "model.input_hidden_states_scale");
    A(INIT_BIAS, 1, S1(H), "model.input_hidden_states_bias");
    for (int L = 0; L < c->num_layers; L++) {
        const char *p = "model.layers";
        A(INIT_ONE, 1, S1(H), "%s.%d.input_layernorm.weight", p, L);
        A(INIT_LINEAR, 2, S2(Hq * D, H), "%s.%d.self_attn.qkv_proj.q_proj.weight", p, L);
        A(INIT_LINEAR, 2, S2(Hk * D, H), "%s.%d.self_attn.qkv_proj.k_proj.weight", p, L);
        A(INIT_LINEAR, 2, S2(Hk * D / 2, H), "%s.%d.self_attn.qkv_proj.v_proj_current.weight", p, L);
        A(INIT_LINEAR, 2, S2(Hk * D / 2, H), "%s.%d.self_attn.qkv_proj.v_proj_delayed.weight", p, L);
        if (c->attention_bias) {
            A(INIT_BIAS, 1, S1(Hq * D), "%s.%d.self_attn.qkv_proj.q_proj.bias", p, L);
            A(INIT_BIAS, 1, S1(Hk * D), "%s.%d.self_attn.qkv_proj.k_proj.bias", p, L);
            A(INIT_BIAS, 1, S1(Hk * D / 2), "%s.%d.self_attn.qkv_proj.v_proj_current.bias", p, L);
            A(INIT_BIAS, 1, S1(Hk * D / 2), "%s.%d.self_attn.qkv_proj.v_proj_delayed.bias", p, L);
        }
        A(INIT_LINEAR, 3, S3(C, 1, c->cca_time0), "%s.%d.self_attn.qkv_proj.conv_qk_depthwise.weight", p, L);
        A(INIT_BIAS, 1, S1(C), "%s.%d.self_attn.qkv_proj.conv_qk_depthwise.bias", p, L);
        A(INIT_LINEAR, 3, S3(C, D, c->cca_time1), "%s.%d.self_attn.qkv_proj.conv_qk_grouped.weight", p, L);
        l->v[l->n - 1].fan_in = D * c->cca_time1;
        A(INIT_BIAS, 1, S1(C), "%s.%d.self_attn.qkv_proj.conv_qk_grouped.bias", p, L);
        A(INIT_TEMP, 1, S1(Hk), "%s.%d.self_attn.qk_norm.temp", p, L);
        A(INIT_LINEAR, 2, S2(H, Hq * D), "%s.%d.self_attn.o_proj.weight", p, L);
        if (c->attention_bias)
            A(INIT_BIAS, 1, S1(H), "%s.%d.self_attn.o_proj.bias", p, L);
        static const char *mg[2] = {"post_attention_residual_scale", "post_mlp_residual_scale"};
        for (int m = 0; m < 2; m++) {
            A(INIT_ONE, 1, S1(H), "%s.%d.%s.hidden_states_scale", p, L, mg[m]);
            A(INIT_BIAS, 1, S1(H), "%s.%d.%s.hidden_states_bias", p, L, mg[m]);
            A(INIT_ONE, 1, S1(H), "%s.%d.%s.residual_scale", p, L, mg[m]);
            A(INIT_BIAS, 1, S1(H), "%s.%d.%s.residual_bias", p, L, mg[m]);
        }
        A(INIT_ONE, 1, S1(H), "%s.%d.post_attention_layernorm.weight", p, L);
        A(INIT_LINEAR, 2, S2(R, H), "%s.%d.mlp.gate.down_proj.weight", p, L);
        A(INIT_BIAS, 1, S1(R), "%s.%d.mlp.gate.down_proj.bias", p, L);
        if (L > 0)
            A(INIT_EDA, 1, S1(R), "%s.%d.mlp.gate.router_states_scale", p, L);
        A(INIT_ONE, 1, S1(R), "%s.%d.mlp.gate.router_mlp.norm.weight", p, L);
        A(INIT_LINEAR, 2, S2(R, R), "%s.%d.mlp.gate.router_mlp.fc1.weight", p, L);
        A(INIT_BIAS, 1, S1(R), "%s.%d.mlp.gate.router_mlp.fc1.bias", p, L);
        A(INIT_LINEAR, 2, S2(R, R), "%s.%d.mlp.gate.router_mlp.fc2.weight", p, L);
        A(INIT_BIAS, 1, S1(R), "%s.%d.mlp.gate.router_mlp.fc2.bias", p, L);
        A(INIT_LINEAR, 2, S2(E + 1, R), "%s.%d.mlp.gate.router_mlp.out_proj.weight", p, L);
        A(INIT_BALANCE, 1, S1(E + 1), "%s.%d.mlp.gate.balancing_biases", p, L);
        A(INIT_LINEAR, 3, S3(E, 2 * I, H), "%s.%d.mlp.experts.gate_up_proj", p, L);
        A(INIT_LINEAR, 3, S3(E, H, I), "%s.%d.mlp.experts.down_proj", p, L);
    }
    A(INIT_ONE, 1, S1(H), "model.norm.weight");
    if (!c->tie_word_embeddings)
        A(INIT_LINEAR, 2, S2(V, H), "lm_head.weight");
    if (c->lm_head_bias)
        A(INIT_BIAS, 1, S1(V), "lm_head.bias");
#undef A
    return RSA_OK;
}

static uint64_t numel(const struct st_wtensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (uint64_t)t->shape[i];
    return n;
}

/* xoshiro256** seeded through splitmix64. */
struct rng {
    uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = util_mix64(seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* uniform in [-1, 1) with 24 bits. */
static inline float rng_sym(uint64_t bits)
{
    return (float)(int32_t)(bits >> 40 << 8) * (1.0f / 2147483648.0f);
}

/* fill: n values of tensor it (element index base..base+n) into out (dtype dt). */
static void fill(const struct itensor *it, struct rng *r, uint64_t base, size_t n, enum st_dtype dt, void *out)
{
    float a = 0.0f, c = 0.0f; /* value = c + a * u, u uniform in [-1, 1) */
    switch (it->kind) {
    case INIT_LINEAR: a = sqrtf(3.0f / (float)it->fan_in); break;
    case INIT_ONE: c = 1.0f; a = 0.05f; break;
    case INIT_BIAS: a = 0.02f; break;
    case INIT_TEMP: c = 2.0f; a = 0.5f; break;
    case INIT_EDA: c = 0.5f; a = 0.1f; break;
    case INIT_BALANCE: a = 0.01f; break;
    }
    uint64_t total = numel(&it->t);
    for (size_t i = 0; i < n; i++) {
        float v = c + a * rng_sym(rng_next(r));
        if (it->kind == INIT_BALANCE && base + i == total - 1)
            v = -1.0f; /* the skip class */
        if (dt == ST_F32)
            ((float *)out)[i] = v;
        else if (dt == ST_F16)
            ((uint16_t *)out)[i] = kern_f32_to_f16(v);
        else
            ((uint16_t *)out)[i] = kern_f32_to_bf16(v);
    }
}

static enum rsa_err write_shard(const char *path, struct itensor *t, size_t n, enum st_dtype dt, uint64_t seed,
                                void *chunk, size_t chunk_elems, char *err, size_t errlen)
{
    struct st_wtensor *wt = calloc(n ? n : 1, sizeof(*wt));
    if (wt == NULL)
        return RSA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        wt[i] = t[i].t;
        wt[i].name = t[i].name; /* not it->t.name: the list may have moved since add() */
        wt[i].dtype = dt;
    }
    struct st_writer *w = NULL;
    enum rsa_err rc = st_writer_open(path, wt, n, "{\"format\": \"pt\"}", &w, err, errlen);
    free(wt);
    if (rc != RSA_OK)
        return rc;
    size_t es = st_dtype_size(dt);
    for (size_t i = 0; i < n && rc == RSA_OK; i++) {
        struct rng r;
        rng_seed(&r, seed ^ util_hash_str(t[i].name));
        uint64_t total = numel(&t[i].t);
        for (uint64_t off = 0; off < total && rc == RSA_OK; off += chunk_elems) {
            size_t k = total - off < chunk_elems ? (size_t)(total - off) : chunk_elems;
            fill(&t[i], &r, off, k, dt, chunk);
            rc = st_writer_write(w, chunk, k * es, err, errlen);
        }
    }
    if (rc != RSA_OK) {
        char tmp[8];
        st_writer_close(w, tmp, sizeof(tmp));
        unlink(path);
        return rc;
    }
    return st_writer_close(w, err, errlen);
}

static enum rsa_err write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        return RSA_ERR_IO;
    }
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad) {
        util_errf(err, errlen, "%s: write failed", path);
        return RSA_ERR_IO;
    }
    return RSA_OK;
}

enum rsa_err model_init_random(const struct mcfg *cfg, enum st_dtype dt, uint64_t seed, const char *dir,
                               uint64_t shard_bytes, int overwrite, char *err, size_t errlen)
{
    if (dt != ST_BF16 && dt != ST_F16 && dt != ST_F32) {
        util_errf(err, errlen, "model init: dtype must be bf16, fp16 or fp32");
        return RSA_ERR_USAGE;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        util_errf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return RSA_ERR_IO;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    if (!overwrite && access(path, F_OK) == 0) {
        util_errf(err, errlen, "%s already exists (pass --force to overwrite)", path);
        return RSA_ERR_CONFLICT;
    }
    struct ilist l = {0};
    enum rsa_err rc = tensors(cfg, &l);
    char *json = NULL;
    size_t chunk_elems = (size_t)1 << 20;
    void *chunk = malloc(chunk_elems * 4);
    struct buf idx;
    buf_init(&idx, 0);
    if (rc != RSA_OK || chunk == NULL) {
        rc = RSA_ERR_NOMEM;
        goto out;
    }
    if ((json = mcfg_to_json(cfg)) == NULL) {
        rc = RSA_ERR_NOMEM;
        goto out;
    }
    if ((rc = write_text(path, json, err, errlen)) != RSA_OK)
        goto out;
    /* plan shards */
    size_t es = st_dtype_size(dt);
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++)
        total += numel(&l.v[i].t) * es;
    if (shard_bytes == 0 || total <= shard_bytes) {
        snprintf(path, sizeof(path), "%s/model.safetensors", dir);
        rc = write_shard(path, l.v, l.n, dt, seed, chunk, chunk_elems, err, errlen);
        goto out;
    }
    size_t starts[4096], nsh = 0;
    uint64_t acc = 0;
    for (size_t i = 0; i < l.n; i++) {
        uint64_t b = numel(&l.v[i].t) * es;
        if (nsh == 0 || (acc + b > shard_bytes && acc > 0)) {
            if (nsh == sizeof(starts) / sizeof(starts[0])) {
                util_errf(err, errlen, "model init: more than 4096 shards; raise the shard size");
                rc = RSA_ERR_USAGE;
                goto out;
            }
            starts[nsh++] = i;
            acc = 0;
        }
        acc += b;
    }
    if ((rc = buf_printf(&idx, "{\n  \"metadata\": {\"total_size\": %llu},\n  \"weight_map\": {",
                         (unsigned long long)total)) != RSA_OK)
        goto out;
    for (size_t s = 0; s < nsh; s++) {
        size_t a = starts[s], b = s + 1 < nsh ? starts[s + 1] : l.n;
        char fname[64];
        snprintf(fname, sizeof(fname), "model-%05zu-of-%05zu.safetensors", s + 1, nsh);
        snprintf(path, sizeof(path), "%s/%s", dir, fname);
        if ((rc = write_shard(path, l.v + a, b - a, dt, seed, chunk, chunk_elems, err, errlen)) != RSA_OK)
            goto out;
        for (size_t i = a; i < b; i++)
            if ((rc = buf_printf(&idx, "%s\n    \"%s\": \"%s\"", i ? "," : "", l.v[i].name, fname)) != RSA_OK)
                goto out;
    }
    if ((rc = buf_puts(&idx, "\n  }\n}\n")) != RSA_OK)
        goto out;
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
    rc = write_text(path, idx.data, err, errlen);
out:
    if (rc == RSA_ERR_NOMEM)
        util_errf(err, errlen, "model init: out of memory");
    buf_free(&idx);
    free(json);
    free(chunk);
    free(l.v);
    return rc;
}
