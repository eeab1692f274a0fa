/*
 * weights.c: bind checkpoint tensors to struct wt_model (see weights.h).
 *
 * Native names follow transformers' ZayaForCausalLM (zaya1-model.md §3.1); legacy (80-layer
 * Megatron) names are mapped with the converter's table (§3.3): native layer L = legacy 2L
 * (attention) and 2L+1 (MoE); the residual scaling at the start of legacy layer n+1 closes native
 * layer n's MoE merge, and model.res_scale closes the last one.
 */
#include "engine/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/util.h"

struct bind {
    const struct mcfg *cfg;
    struct st_set *set;
    struct wt_model *m;
    char *err;
    size_t errlen;
};

static bool is_legacy(const struct bind *b)
{
    return b->cfg->layout == MCFG_LEGACY;
}

static enum kern_dtype kdtype(enum st_dtype d)
{
    return d == ST_F32 ? KERN_F32 : d == ST_F16 ? KERN_F16 : KERN_BF16;
}

/* check: t must exist (name for the message), be a float type and have exactly the shape dims. */
static enum rsa_err check(struct bind *b, struct st_tensor *t, const char *name, int ndim, const int64_t *dims)
{
    char want[128] = "[", got[128] = "[";
    for (int i = 0; i < ndim; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lld", i ? ", " : "", (long long)dims[i]);
    strcat(want, "]");
    if (t == NULL) {
        util_errf(b->err, b->errlen, "checkpoint: missing tensor %s (expected shape %s)", name, want);
        return RSA_ERR_CONFIG;
    }
    t->used = true;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        util_errf(b->err, b->errlen, "%s: tensor %s has dtype %s (expected BF16, F16 or F32)", t->file, t->name,
                  st_dtype_name(t->dtype));
        return RSA_ERR_CONFIG;
    }
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == dims[i];
    if (!ok) {
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        strcat(got, "]");
        util_errf(b->err, b->errlen, "%s: tensor %s has shape %s (expected %s from config.json)", t->file, t->name,
                  got, want);
        return RSA_ERR_CONFIG;
    }
    const char *dn = t->dtype == ST_F32 ? "fp32" : t->dtype == ST_F16 ? "fp16" : "bf16";
    if (strstr(b->m->dtypes, dn) == NULL)
        snprintf(b->m->dtypes + strlen(b->m->dtypes), sizeof(b->m->dtypes) - strlen(b->m->dtypes), "%s%s",
                 b->m->dtypes[0] ? "+" : "", dn);
    b->m->bytes += t->nbytes;
    return RSA_OK;
}

/* vec_shaped: bind a tensor of shape dims (ndim) as a flat owned fp32 array. */
static enum rsa_err vec_shaped(struct bind *b, struct st_tensor *t, const char *name, int ndim, const int64_t *dims,
                               float **out)
{
    enum rsa_err rc = check(b, t, name, ndim, dims);
    if (rc != RSA_OK)
        return rc;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    struct wt_model *m = b->m;
    if (m->nowned == m->capowned) {
        int cap = m->capowned ? 2 * m->capowned : 256;
        float **p = realloc(m->owned, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return RSA_ERR_NOMEM;
        m->owned = p;
        m->capowned = cap;
    }
    float *v = malloc((size_t)n * sizeof(float));
    if (v == NULL)
        return RSA_ERR_NOMEM;
    kern_to_f32(t->data, kdtype(t->dtype), v, (size_t)n);
    m->owned[m->nowned++] = v;
    *out = v;
    return RSA_OK;
}

/* vec: bind a 1-D [n] tensor, converted to owned fp32. */
static enum rsa_err vec(struct bind *b, struct st_tensor *t, const char *name, int64_t n, float **out)
{
    return vec_shaped(b, t, name, 1, &n, out);
}

/* mat: bind a 2-D [rows, cols] matrix in place (or a slice of a 3-D stack, see mat_slice). */
static enum rsa_err mat(struct bind *b, struct st_tensor *t, const char *name, int64_t rows, int64_t cols,
                        struct kern_mat *out)
{
    int64_t d[2] = {rows, cols};
    enum rsa_err rc = check(b, t, name, 2, d);
    if (rc != RSA_OK)
        return rc;
    *out = (struct kern_mat){t->data, kdtype(t->dtype), (int)rows, (int)cols};
    return RSA_OK;
}

#define NAMED(var, ...)                                                                                              \
    char var[256];                                                                                                   \
    snprintf(var, sizeof(var), __VA_ARGS__)

/* Helpers that pick the native or the legacy name of one tensor. */
static enum rsa_err bvec(struct bind *b, int64_t n, float **out, const char *native, const char *legacy)
{
    const char *name = is_legacy(b) ? legacy : native;
    return vec(b, st_find(b->set, name), name, n, out);
}

static enum rsa_err bmat(struct bind *b, int64_t r, int64_t c, struct kern_mat *out, const char *native,
                         const char *legacy)
{
    const char *name = is_legacy(b) ? legacy : native;
    return mat(b, st_find(b->set, name), name, r, c, out);
}

/* merge: the four [H] vectors of one residual scaling. prefix is the full name up to the field. */
static enum rsa_err merge(struct bind *b, struct wt_merge *mg, const char *nprefix, const char *lprefix)
{
    int64_t H = b->cfg->hidden_size;
    static const char *f[4] = {"hidden_states_scale", "hidden_states_bias", "residual_scale", "residual_bias"};
    float **dst[4] = {&mg->hs, &mg->hb, &mg->rs, &mg->rb};
    for (int i = 0; i < 4; i++) {
        NAMED(n, "%s.%s", nprefix, f[i]);
        NAMED(l, "%s.%s", lprefix, f[i]);
        enum rsa_err rc = bvec(b, H, dst[i], n, l);
        if (rc != RSA_OK)
            return rc;
    }
    return RSA_OK;
}

/* experts: gate_up / down for every expert: native stacks [E,2I,H] / [E,H,I]; legacy separate tensors. */
static enum rsa_err experts(struct bind *b, int L, struct wt_layer *w)
{
    const struct mcfg *c = b->cfg;
    int64_t E = c->num_experts, I = c->moe_intermediate_size, H = c->hidden_size;
    w->gate_up = calloc((size_t)E, sizeof(*w->gate_up));
    w->down = calloc((size_t)E, sizeof(*w->down));
    if (w->gate_up == NULL || w->down == NULL)
        return RSA_ERR_NOMEM;
    enum rsa_err rc;
    if (!is_legacy(b)) {
        NAMED(gn, "model.layers.%d.mlp.experts.gate_up_proj", L);
        NAMED(dn, "model.layers.%d.mlp.experts.down_proj", L);
        struct st_tensor *gt = st_find(b->set, gn), *dt = st_find(b->set, dn);
        int64_t gd[3] = {E, 2 * I, H}, dd[3] = {E, H, I};
        if ((rc = check(b, gt, gn, 3, gd)) != RSA_OK || (rc = check(b, dt, dn, 3, dd)) != RSA_OK)
            return rc;
        size_t ges = st_dtype_size(gt->dtype), des = st_dtype_size(dt->dtype);
        for (int64_t e = 0; e < E; e++) {
            w->gate_up[e] = (struct kern_mat){(const char *)gt->data + (size_t)(e * 2 * I * H) * ges,
                                              kdtype(gt->dtype), (int)(2 * I), (int)H};
            w->down[e] = (struct kern_mat){(const char *)dt->data + (size_t)(e * H * I) * des, kdtype(dt->dtype),
                                           (int)H, (int)I};
        }
        return RSA_OK;
    }
    for (int64_t e = 0; e < E; e++) {
        NAMED(gn, "model.layers.%d.zaya_block.experts.local_experts.%lld.linear_fc1.weight", 2 * L + 1, (long long)e);
        NAMED(dn, "model.layers.%d.zaya_block.experts.local_experts.%lld.linear_fc2.weight", 2 * L + 1, (long long)e);
        if ((rc = mat(b, st_find(b->set, gn), gn, 2 * I, H, &w->gate_up[e])) != RSA_OK ||
            (rc = mat(b, st_find(b->set, dn), dn, H, I, &w->down[e])) != RSA_OK)
            return rc;
    }
    return RSA_OK;
}

static enum rsa_err layer(struct bind *b, int L, struct wt_layer *w)
{
    const struct mcfg *c = b->cfg;
    int64_t H = c->hidden_size, Hq = c->num_heads, Hk = c->num_kv_heads, D = c->head_dim;
    int64_t C = (Hq + Hk) * D, R = c->router_hidden_size, E1 = c->num_experts + 1;
    int la = 2 * L, lm = 2 * L + 1; /* legacy attention / MoE layer numbers */
    enum rsa_err rc;
#define TRY(x)                                                                                                       \
    do {                                                                                                             \
        if ((rc = (x)) != RSA_OK)                                                                                    \
            return rc;                                                                                               \
    } while (0)
    /* attention */
    NAMED(n1, "model.layers.%d.input_layernorm.weight", L);
    NAMED(l1, "model.layers.%d.input_norm.weight", la);
    TRY(bvec(b, H, &w->in_norm, n1, l1));
    static const char *proj_n[4] = {"q_proj", "k_proj", "v_proj_current", "v_proj_delayed"};
    static const char *proj_l[4] = {"linear_q", "linear_k", "val_proj1", "val_proj2"};
    struct kern_mat *pm[4] = {&w->q, &w->k, &w->vc, &w->vd};
    float **pb[4] = {&w->q_b, &w->k_b, &w->vc_b, &w->vd_b};
    int64_t rows[4] = {Hq * D, Hk * D, Hk * D / 2, Hk * D / 2};
    for (int i = 0; i < 4; i++) {
        NAMED(n, "model.layers.%d.self_attn.qkv_proj.%s.weight", L, proj_n[i]);
        NAMED(l, "model.layers.%d.self_attn.qkv.%s.weight", la, proj_l[i]);
        TRY(bmat(b, rows[i], H, pm[i], n, l));
        if (c->attention_bias) {
            NAMED(nb, "model.layers.%d.self_attn.qkv_proj.%s.bias", L, proj_n[i]);
            NAMED(lb, "model.layers.%d.self_attn.qkv.%s.bias", la, proj_l[i]);
            TRY(bvec(b, rows[i], pb[i], nb, lb));
        }
    }
    {
        NAMED(n, "model.layers.%d.self_attn.qkv_proj.conv_qk_depthwise.weight", L);
        NAMED(l, "model.layers.%d.self_attn.qkv.conv_qk.0.weight", la);
        const char *name = is_legacy(b) ? l : n;
        int64_t d[3] = {C, 1, c->cca_time0};
        TRY(vec_shaped(b, st_find(b->set, name), name, 3, d, &w->dw));
    }
    NAMED(n2, "model.layers.%d.self_attn.qkv_proj.conv_qk_depthwise.bias", L);
    NAMED(l2, "model.layers.%d.self_attn.qkv.conv_qk.0.bias", la);
    TRY(bvec(b, C, &w->dw_b, n2, l2));
    {
        NAMED(n, "model.layers.%d.self_attn.qkv_proj.conv_qk_grouped.weight", L);
        NAMED(l, "model.layers.%d.self_attn.qkv.conv_qk.1.weight", la);
        const char *name = is_legacy(b) ? l : n;
        struct st_tensor *t = st_find(b->set, name);
        int64_t d[3] = {C, D, c->cca_time1};
        TRY(check(b, t, name, 3, d));
        w->gw = (struct kern_mat){t->data, kdtype(t->dtype), (int)C, (int)(D * c->cca_time1)};
    }
    NAMED(n3, "model.layers.%d.self_attn.qkv_proj.conv_qk_grouped.bias", L);
    NAMED(l3, "model.layers.%d.self_attn.qkv.conv_qk.1.bias", la);
    TRY(bvec(b, C, &w->gw_b, n3, l3));
    NAMED(n4, "model.layers.%d.self_attn.qk_norm.temp", L);
    NAMED(l4, "model.layers.%d.self_attn.qkv.temp", la);
    TRY(bvec(b, Hk, &w->temp, n4, l4));
    NAMED(n5, "model.layers.%d.self_attn.o_proj.weight", L);
    NAMED(l5, "model.layers.%d.self_attn.o_proj.weight", la);
    TRY(bmat(b, H, Hq * D, &w->o, n5, l5));
    if (c->attention_bias) {
        NAMED(n, "model.layers.%d.self_attn.o_proj.bias", L);
        NAMED(l, "model.layers.%d.self_attn.o_proj.bias", la);
        TRY(bvec(b, H, &w->o_b, n, l));
    }
    NAMED(n6, "model.layers.%d.post_attention_residual_scale", L);
    NAMED(l6, "model.layers.%d.res_scale", lm);
    TRY(merge(b, &w->post_attn, n6, l6));
    NAMED(n7, "model.layers.%d.post_attention_layernorm.weight", L);
    NAMED(l7, "model.layers.%d.input_norm.weight", lm);
    TRY(bvec(b, H, &w->post_norm, n7, l7));
    /* router */
    char np[96], lp[96];
    snprintf(np, sizeof(np), "model.layers.%d.mlp.gate", L);
    snprintf(lp, sizeof(lp), "model.layers.%d.zaya_block.router", lm);
    NAMED(n8, "%s.down_proj.weight", np);
    NAMED(l8, "%s.down_proj.weight", lp);
    TRY(bmat(b, R, H, &w->r_down, n8, l8));
    NAMED(n9, "%s.down_proj.bias", np);
    NAMED(l9, "%s.down_proj.bias", lp);
    TRY(bvec(b, R, &w->r_down_b, n9, l9));
    if (L > 0) {
        NAMED(n, "%s.router_states_scale", np);
        NAMED(l, "%s.router_states_scale", lp);
        TRY(bvec(b, R, &w->r_eda, n, l));
    }
    NAMED(n10, "%s.router_mlp.norm.weight", np);
    NAMED(l10, "%s.rmsnorm_eda.weight", lp);
    TRY(bvec(b, R, &w->r_norm, n10, l10));
    static const char *fc_n[2] = {"fc1", "fc2"}, *fc_l[2] = {"0", "2"};
    struct kern_mat *fm[2] = {&w->fc1, &w->fc2};
    float **fb[2] = {&w->fc1_b, &w->fc2_b};
    for (int i = 0; i < 2; i++) {
        NAMED(n, "%s.router_mlp.%s.weight", np, fc_n[i]);
        NAMED(l, "%s.router_mlp.%s.weight", lp, fc_l[i]);
        TRY(bmat(b, R, R, fm[i], n, l));
        NAMED(nb, "%s.router_mlp.%s.bias", np, fc_n[i]);
        NAMED(lb, "%s.router_mlp.%s.bias", lp, fc_l[i]);
        TRY(bvec(b, R, fb[i], nb, lb));
    }
    NAMED(n11, "%s.router_mlp.out_proj.weight", np);
    NAMED(l11, "%s.router_mlp.4.weight", lp);
    TRY(bmat(b, E1, R, &w->r_out, n11, l11));
    NAMED(n12, "%s.balancing_biases", np);
    NAMED(l12, "%s.balancing_biases", lp);
    TRY(bvec(b, E1, &w->bal, n12, l12));
    TRY(experts(b, L, w));
    /* the merge after the MoE: legacy keeps it at the start of the next attention layer */
    NAMED(n13, "model.layers.%d.post_mlp_residual_scale", L);
    char l13[96];
    if (L + 1 < c->num_layers)
        snprintf(l13, sizeof(l13), "model.layers.%d.res_scale", 2 * L + 2);
    else
        snprintf(l13, sizeof(l13), "model.res_scale");
    TRY(merge(b, &w->post_mlp, n13, l13));
    return RSA_OK;
#undef TRY
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* extras: list tensors nobody bound (sorted; at most 12 names, then a count). */
static enum rsa_err extras(struct bind *b)
{
    size_t n = st_count(b->set), k = 0;
    const char **names = malloc((n ? n : 1) * sizeof(*names));
    if (names == NULL)
        return RSA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!st_at(b->set, i)->used)
            names[k++] = st_at(b->set, i)->name;
    qsort(names, k, sizeof(*names), cmp_str);
    struct buf o;
    buf_init(&o, 0);
    enum rsa_err rc = RSA_OK;
    if (k > 0)
        rc = buf_printf(&o, "%zu unused tensor%s in the checkpoint:", k, k == 1 ? "" : "s");
    for (size_t i = 0; i < k && i < 12 && rc == RSA_OK; i++)
        rc = buf_printf(&o, " %s", names[i]);
    if (k > 12 && rc == RSA_OK)
        rc = buf_printf(&o, " ... (%zu more)", k - 12);
    free(names);
    if (rc != RSA_OK) {
        buf_free(&o);
        return rc;
    }
    b->m->extra = buf_take(&o);
    return RSA_OK;
}

enum rsa_err wt_bind(const struct mcfg *cfg, struct st_set *set, struct wt_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    struct bind b = {cfg, set, m, err, errlen};
    int64_t V = cfg->vocab_size, H = cfg->hidden_size;
    enum rsa_err rc;
    if ((rc = mat(&b, st_find(set, "model.embed_tokens.weight"), "model.embed_tokens.weight", V, H, &m->embed)) !=
        RSA_OK)
        goto fail;
    if ((rc = bvec(&b, H, &m->in_scale, "model.input_hidden_states_scale",
                   "model.layers.0.res_scale.hidden_states_scale")) != RSA_OK ||
        (rc = bvec(&b, H, &m->in_bias, "model.input_hidden_states_bias",
                   "model.layers.0.res_scale.hidden_states_bias")) != RSA_OK)
        goto fail;
    {
        /* final norm: model.norm.weight (native); model.final_norm.weight (legacy, and some native copies) */
        struct st_tensor *t = st_find(set, is_legacy(&b) ? "model.final_norm.weight" : "model.norm.weight");
        const char *name = is_legacy(&b) ? "model.final_norm.weight" : "model.norm.weight";
        if (t == NULL && !is_legacy(&b) && (t = st_find(set, "model.final_norm.weight")) != NULL)
            name = "model.final_norm.weight";
        if ((rc = vec(&b, t, name, H, &m->final_norm)) != RSA_OK)
            goto fail;
    }
    if (cfg->tie_word_embeddings) {
        m->head = m->embed;
    } else if ((rc = mat(&b, st_find(set, "lm_head.weight"), "lm_head.weight", V, H, &m->head)) != RSA_OK) {
        goto fail;
    }
    if (cfg->lm_head_bias && (rc = vec(&b, st_find(set, "lm_head.bias"), "lm_head.bias", V, &m->head_b)) != RSA_OK)
        goto fail;
    m->nlayers = cfg->num_layers;
    m->layers = calloc((size_t)cfg->num_layers, sizeof(*m->layers));
    if (m->layers == NULL) {
        rc = RSA_ERR_NOMEM;
        goto fail;
    }
    for (int L = 0; L < cfg->num_layers; L++)
        if ((rc = layer(&b, L, &m->layers[L])) != RSA_OK)
            goto fail;
    if ((rc = extras(&b)) != RSA_OK)
        goto fail;
    return RSA_OK;
fail:
    if (rc == RSA_ERR_NOMEM)
        util_errf(err, errlen, "out of memory while binding the checkpoint's tensors");
    wt_free(m);
    return rc;
}

void wt_free(struct wt_model *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    if (m->layers != NULL)
        for (int L = 0; L < m->nlayers; L++) {
            free(m->layers[L].gate_up);
            free(m->layers[L].down);
        }
    free(m->layers);
    free(m->extra);
    memset(m, 0, sizeof(*m));
}
