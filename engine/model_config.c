/*
 * model_config.c: ZAYA1 config.json (native HF ZayaConfig schema or legacy Megatron schema) into
 * one struct mcfg with native semantics; named shapes; native config.json output; parameter count.
 *
 * Sources for key names and defaults (zaya1-model.md §1): native = transformers ZayaConfig
 * ([HF-CFG]); legacy = SGLang's ZayaConfig ([SG-CFG], python/sglang/srt/configs/zaya.py), whose
 * defaults mirror ZAYA1-base (80 layers, max_position_embeddings 32768, rope_theta 1e6, eos 1).
 */
#include "engine/model_config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rsa/util.h"

/* Bounds: anything outside is an error naming the key. */
#define MAX_VOCAB (1 << 24)
#define MAX_HIDDEN 65536
#define MAX_HEADS 1024
#define MAX_HEAD_DIM 1024
#define MAX_EXPERTS 1024
#define MAX_INTERMEDIATE (1 << 18)
#define MAX_ROUTER 65536
#define MAX_CONV 64
#define MAX_POSITIONS (1 << 30)
#define MAX_PARAMS (1ll << 42)

/* Parse context: the file name for messages and the caller's error buffer. */
struct pctx {
    const char *fname;
    char *err;
    size_t errlen;
};

/* ------------------------------------------------------------------ JSON getters */

/* get: the value of key in o, or NULL when absent. */
static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* is_null: absent or JSON null. */
static bool is_null(const cJSON *v)
{
    return v == NULL || cJSON_IsNull(v);
}

static enum rsa_err type_err(struct pctx *c, const char *key, const char *want)
{
    util_errf(c->err, c->errlen, "%s: \"%s\" must be %s", c->fname, key, want);
    return RSA_ERR_CONFIG;
}

/* as_int: v must be an integer in [lo, hi]; key names it in errors. */
static enum rsa_err as_int(struct pctx *c, const cJSON *v, const char *key, long long lo, long long hi, int *dst)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || floor(v->valuedouble) != v->valuedouble)
        return type_err(c, key, "an integer");
    double d = v->valuedouble;
    if (d < (double)lo || d > (double)hi) {
        util_errf(c->err, c->errlen, "%s: \"%s\" = %.17g is out of range [%lld, %lld]", c->fname, key, d, lo, hi);
        return RSA_ERR_CONFIG;
    }
    *dst = (int)d;
    return RSA_OK;
}

/* get_int: key of o into *dst when present (absent keeps the default; null is a type error). */
static enum rsa_err get_int(struct pctx *c, const cJSON *o, const char *key, long long lo, long long hi, int *dst)
{
    const cJSON *v = get(o, key);
    return v == NULL ? RSA_OK : as_int(c, v, key, lo, hi, dst);
}

/* get_opt_int: a nullable integer: absent keeps *dst, null stores nullval. */
static enum rsa_err get_opt_int(struct pctx *c, const cJSON *o, const char *key, long long lo, long long hi,
                                int nullval, int *dst)
{
    const cJSON *v = get(o, key);
    if (v == NULL)
        return RSA_OK;
    if (cJSON_IsNull(v)) {
        *dst = nullval;
        return RSA_OK;
    }
    return as_int(c, v, key, lo, hi, dst);
}

/* as_double: a finite number with lo < v <= hi (lo_open) or lo <= v <= hi. */
static enum rsa_err as_double(struct pctx *c, const cJSON *v, const char *key, double lo, bool lo_open, double hi,
                              double *dst)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return type_err(c, key, "a number");
    double d = v->valuedouble;
    if ((lo_open ? d <= lo : d < lo) || d > hi) {
        util_errf(c->err, c->errlen, "%s: \"%s\" = %.17g is out of range %c%g, %g]", c->fname, key, d,
                  lo_open ? '(' : '[', lo, hi);
        return RSA_ERR_CONFIG;
    }
    *dst = d;
    return RSA_OK;
}

static enum rsa_err get_double(struct pctx *c, const cJSON *o, const char *key, double lo, bool lo_open, double hi,
                               double *dst)
{
    const cJSON *v = get(o, key);
    return v == NULL ? RSA_OK : as_double(c, v, key, lo, lo_open, hi, dst);
}

static enum rsa_err get_bool(struct pctx *c, const cJSON *o, const char *key, bool *dst)
{
    const cJSON *v = get(o, key);
    if (v == NULL)
        return RSA_OK;
    if (!cJSON_IsBool(v))
        return type_err(c, key, "true or false");
    *dst = cJSON_IsTrue(v);
    return RSA_OK;
}

/* require_bool: when key is present it must be the boolean want (a ZAYA1 invariant). */
static enum rsa_err require_bool(struct pctx *c, const cJSON *o, const char *key, bool want)
{
    bool v = want;
    enum rsa_err rc = get_bool(c, o, key, &v);
    if (rc == RSA_OK && v != want) {
        util_errf(c->err, c->errlen, "%s: \"%s\" = %s is not supported (ZAYA1 needs %s)", c->fname, key,
                  v ? "true" : "false", want ? "true" : "false");
        rc = RSA_ERR_CONFIG;
    }
    return rc;
}

/* get_str: a string value (when present) into *dst; NULL when absent. */
static enum rsa_err get_str(struct pctx *c, const cJSON *o, const char *key, const char **dst)
{
    const cJSON *v = get(o, key);
    *dst = NULL;
    if (v == NULL)
        return RSA_OK;
    if (!cJSON_IsString(v))
        return type_err(c, key, "a string");
    *dst = v->valuestring;
    return RSA_OK;
}

/* get_list_scalar: a per-layer list of which the non-zero, non-null entries must all be equal
 * and in [lo, hi] (SGLang takes the first non-zero entry); *found false when key is absent/null. */
static enum rsa_err get_list_scalar(struct pctx *c, const cJSON *o, const char *key, long long lo, long long hi,
                                    int *dst, bool *found)
{
    const cJSON *v = get(o, key);
    *found = false;
    if (is_null(v))
        return RSA_OK;
    if (!cJSON_IsArray(v))
        return type_err(c, key, "a list of integers");
    int val = 0, i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        if (cJSON_IsNull(e))
            continue;
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || floor(e->valuedouble) != e->valuedouble ||
            e->valuedouble < 0) {
            util_errf(c->err, c->errlen, "%s: \"%s[%d]\" must be a non-negative integer", c->fname, key, i);
            return RSA_ERR_CONFIG;
        }
        if (e->valuedouble == 0)
            continue;
        char k[96];
        snprintf(k, sizeof(k), "%s[%d]", key, i);
        int x;
        enum rsa_err rc = as_int(c, e, k, lo, hi, &x);
        if (rc != RSA_OK)
            return rc;
        if (val != 0 && x != val) {
            util_errf(c->err, c->errlen,
                      "%s: \"%s\" has differing entries (%d and %d); per-layer sizes are not supported", c->fname,
                      key, val, x);
            return RSA_ERR_CONFIG;
        }
        val = x;
    }
    if (val == 0) {
        util_errf(c->err, c->errlen, "%s: \"%s\" has no non-zero entry", c->fname, key);
        return RSA_ERR_CONFIG;
    }
    *dst = val;
    *found = true;
    return RSA_OK;
}

/* ------------------------------------------------------------------ defaults */

/* defaults_native: the transformers ZayaConfig defaults (= ZAYA1-8B). */
static void defaults_native(struct mcfg *m)
{
    memset(m, 0, sizeof(*m));
    m->layout = MCFG_NATIVE;
    m->vocab_size = 262272;
    m->hidden_size = 2048;
    m->num_layers = 40;
    m->num_heads = 8;
    m->num_kv_heads = 2;
    m->head_dim = 128;
    m->cca_time0 = 2;
    m->cca_time1 = 2;
    m->num_experts = 16;
    m->top_k = 1;
    m->moe_intermediate_size = 2048;
    m->router_hidden_size = 256;
    m->rms_norm_eps = 1e-5;
    m->attention_bias = false;
    m->lm_head_bias = false;
    m->tie_word_embeddings = true;
    m->sliding_window = 0;
    m->rope[MCFG_HYBRID] = (struct mcfg_rope){5e6, 0.5};
    m->rope[MCFG_HYBRID_SLIDING] = (struct mcfg_rope){1e4, 0.5};
    m->max_position_embeddings = 131072;
    m->pad_token_id = 0;
    m->bos_token_id = 2;
    m->eos_token_ids[0] = 106;
    m->num_eos = 1;
    snprintf(m->hidden_act, sizeof(m->hidden_act), "silu");
}

/* defaults_legacy: SGLang's legacy ZayaConfig defaults (ZAYA1-base): as native except 80 legacy
 * layers (40 native), max_position_embeddings 32768, rope_theta 1e6, eos 1. */
static void defaults_legacy(struct mcfg *m)
{
    defaults_native(m);
    m->layout = MCFG_LEGACY;
    m->max_position_embeddings = 32768;
    m->rope[MCFG_HYBRID].theta = 1e6;
    m->rope[MCFG_HYBRID_SLIDING].theta = 1e6;
    m->eos_token_ids[0] = 1;
}

/* ------------------------------------------------------------------ shared pieces */

/* parse_eos: eos_token_id as null, an integer or a list of integers. */
static enum rsa_err parse_eos(struct pctx *c, const cJSON *root, struct mcfg *m)
{
    const cJSON *v = get(root, "eos_token_id");
    if (v == NULL)
        return RSA_OK;
    if (cJSON_IsNull(v)) {
        m->num_eos = 0;
        return RSA_OK;
    }
    if (cJSON_IsNumber(v)) {
        m->num_eos = 1;
        return as_int(c, v, "eos_token_id", 0, MAX_VOCAB - 1, &m->eos_token_ids[0]);
    }
    if (!cJSON_IsArray(v))
        return type_err(c, "eos_token_id", "an integer or a list of integers");
    int n = cJSON_GetArraySize(v);
    if (n > MCFG_MAX_EOS) {
        util_errf(c->err, c->errlen, "%s: \"eos_token_id\" has %d entries (at most %d)", c->fname, n, MCFG_MAX_EOS);
        return RSA_ERR_CONFIG;
    }
    int i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        char k[32];
        snprintf(k, sizeof(k), "eos_token_id[%d]", i);
        enum rsa_err rc = as_int(c, e, k, 0, MAX_VOCAB - 1, &m->eos_token_ids[i]);
        if (rc != RSA_OK)
            return rc;
    }
    m->num_eos = n;
    return RSA_OK;
}

/* check_rope_type: a rope_type (or legacy "type") other than "default" is unsupported. */
static enum rsa_err check_rope_type(struct pctx *c, const cJSON *o, const char *prefix)
{
    static const char *const keys[] = {"rope_type", "type"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = get(o, keys[i]);
        if (is_null(v))
            continue;
        if (!cJSON_IsString(v)) {
            util_errf(c->err, c->errlen, "%s: \"%s.%s\" must be a string", c->fname, prefix, keys[i]);
            return RSA_ERR_CONFIG;
        }
        if (strcmp(v->valuestring, "default") != 0) {
            util_errf(c->err, c->errlen, "%s: \"%s.%s\" = \"%.40s\" is not supported (only \"default\")", c->fname,
                      prefix, keys[i], v->valuestring);
            return RSA_ERR_UNSUPPORTED;
        }
    }
    return RSA_OK;
}

/* parse_rope_entry: one rope dict {rope_type, rope_theta, partial_rotary_factor}. A NAN default
 * theta makes rope_theta required. prefix names the dict in errors. */
static enum rsa_err parse_rope_entry(struct pctx *c, const cJSON *e, const char *prefix, double def_theta,
                                     double def_partial, struct mcfg_rope *r)
{
    if (!cJSON_IsObject(e)) {
        util_errf(c->err, c->errlen, "%s: \"%s\" must be an object", c->fname, prefix);
        return RSA_ERR_CONFIG;
    }
    enum rsa_err rc = check_rope_type(c, e, prefix);
    if (rc != RSA_OK)
        return rc;
    char k[96];
    r->theta = def_theta;
    r->partial = def_partial;
    snprintf(k, sizeof(k), "%s.rope_theta", prefix);
    const cJSON *v = get(e, "rope_theta");
    if (v != NULL) {
        if ((rc = as_double(c, v, k, 0, true, 1e12, &r->theta)) != RSA_OK)
            return rc;
    } else if (isnan(def_theta)) {
        util_errf(c->err, c->errlen, "%s: \"%s\" is missing", c->fname, k);
        return RSA_ERR_CONFIG;
    }
    snprintf(k, sizeof(k), "%s.partial_rotary_factor", prefix);
    v = get(e, "partial_rotary_factor");
    if (v != NULL && (rc = as_double(c, v, k, 0, true, 1, &r->partial)) != RSA_OK)
        return rc;
    return RSA_OK;
}

/* parse_rope: rope_parameters (nested per layer type, or flat for all types), else the flat
 * top-level rope_theta / partial_rotary_factor; rope_scaling may only be null/false/default.
 * flat_theta / flat_partial are the defaults for the flat keys; explicit rope dicts default
 * rope_theta to ent_theta (NAN: required) and partial_rotary_factor to ent_partial.
 * *given[t] tells whether layer type t got its own values (a nested dict may omit a type). */
static enum rsa_err parse_rope(struct pctx *c, const cJSON *root, struct mcfg *m, double ent_theta, double ent_partial,
                               bool given[2])
{
    given[0] = given[1] = true;
    const cJSON *rs = get(root, "rope_scaling");
    enum rsa_err rc;
    if (!is_null(rs) && !cJSON_IsFalse(rs)) {
        if (!cJSON_IsObject(rs))
            return type_err(c, "rope_scaling", "null, false or an object");
        if ((rc = check_rope_type(c, rs, "rope_scaling")) != RSA_OK)
            return rc;
    }
    const cJSON *rp = get(root, "rope_parameters");
    if (is_null(rp)) {
        /* flat top-level keys apply to every layer type */
        const cJSON *th = get(root, "rope_theta");
        const cJSON *pf = get(root, "partial_rotary_factor");
        for (int t = 0; t < 2; t++) {
            if (th != NULL && (rc = as_double(c, th, "rope_theta", 0, true, 1e12, &m->rope[t].theta)) != RSA_OK)
                return rc;
            if (pf != NULL &&
                (rc = as_double(c, pf, "partial_rotary_factor", 0, true, 1, &m->rope[t].partial)) != RSA_OK)
                return rc;
        }
        return RSA_OK;
    }
    if (!cJSON_IsObject(rp))
        return type_err(c, "rope_parameters", "null or an object");
    static const char *const tname[2] = {"hybrid", "hybrid_sliding"};
    const cJSON *sub[2] = {get(rp, tname[0]), get(rp, tname[1])};
    if (sub[0] == NULL && sub[1] == NULL) {
        /* flat: one dict for all layer types */
        struct mcfg_rope r;
        if ((rc = parse_rope_entry(c, rp, "rope_parameters", ent_theta, ent_partial, &r)) != RSA_OK)
            return rc;
        m->rope[0] = m->rope[1] = r;
        return RSA_OK;
    }
    /* nested; a stray top-level "rope_type" beside the per-type dicts is ignored (as HF does) */
    for (int t = 0; t < 2; t++) {
        given[t] = sub[t] != NULL;
        if (sub[t] == NULL)
            continue;
        char k[64];
        snprintf(k, sizeof(k), "rope_parameters.%s", tname[t]);
        if ((rc = parse_rope_entry(c, sub[t], k, ent_theta, ent_partial, &m->rope[t])) != RSA_OK)
            return rc;
    }
    return RSA_OK;
}

/* parse_layer_types: native "layer_types" (null = all "hybrid"); length must be num_layers. */
static enum rsa_err parse_layer_types(struct pctx *c, const cJSON *root, struct mcfg *m)
{
    const cJSON *v = get(root, "layer_types");
    for (int i = 0; i < m->num_layers; i++)
        m->layer_types[i] = MCFG_HYBRID;
    if (is_null(v))
        return RSA_OK;
    if (!cJSON_IsArray(v))
        return type_err(c, "layer_types", "a list of strings");
    int n = cJSON_GetArraySize(v);
    if (n != m->num_layers) {
        util_errf(c->err, c->errlen, "%s: \"layer_types\" has %d entries but num_hidden_layers is %d", c->fname, n,
                  m->num_layers);
        return RSA_ERR_CONFIG;
    }
    int i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        if (cJSON_IsString(e) && strcmp(e->valuestring, "hybrid") == 0) {
            m->layer_types[i] = MCFG_HYBRID;
        } else if (cJSON_IsString(e) && strcmp(e->valuestring, "hybrid_sliding") == 0) {
            m->layer_types[i] = MCFG_HYBRID_SLIDING;
        } else {
            util_errf(c->err, c->errlen, "%s: \"layer_types[%d]\" must be \"hybrid\" or \"hybrid_sliding\"", c->fname,
                      i);
            return RSA_ERR_CONFIG;
        }
    }
    return RSA_OK;
}

/* parse_common: the keys both layouts spell the same way. */
static enum rsa_err parse_common(struct pctx *c, const cJSON *root, struct mcfg *m)
{
    enum rsa_err rc;
    if ((rc = get_int(c, root, "vocab_size", 1, MAX_VOCAB, &m->vocab_size)) != RSA_OK ||
        (rc = get_int(c, root, "hidden_size", 1, MAX_HIDDEN, &m->hidden_size)) != RSA_OK ||
        (rc = get_int(c, root, "num_attention_heads", 1, MAX_HEADS, &m->num_heads)) != RSA_OK ||
        (rc = get_int(c, root, "cca_time0", 1, MAX_CONV, &m->cca_time0)) != RSA_OK ||
        (rc = get_int(c, root, "cca_time1", 1, MAX_CONV, &m->cca_time1)) != RSA_OK ||
        (rc = get_bool(c, root, "attention_bias", &m->attention_bias)) != RSA_OK ||
        (rc = get_bool(c, root, "lm_head_bias", &m->lm_head_bias)) != RSA_OK ||
        (rc = get_bool(c, root, "tie_word_embeddings", &m->tie_word_embeddings)) != RSA_OK ||
        (rc = get_opt_int(c, root, "sliding_window", 1, MAX_POSITIONS, 0, &m->sliding_window)) != RSA_OK ||
        (rc = get_int(c, root, "max_position_embeddings", 1, MAX_POSITIONS, &m->max_position_embeddings)) != RSA_OK ||
        (rc = get_opt_int(c, root, "pad_token_id", 0, MAX_VOCAB - 1, -1, &m->pad_token_id)) != RSA_OK ||
        (rc = get_opt_int(c, root, "bos_token_id", 0, MAX_VOCAB - 1, -1, &m->bos_token_id)) != RSA_OK ||
        (rc = parse_eos(c, root, m)) != RSA_OK)
        return rc;
    int topk = 1;
    if ((rc = get_int(c, root, "num_experts_per_tok", 0, MAX_EXPERTS, &topk)) != RSA_OK)
        return rc;
    if (topk != 1) {
        util_errf(c->err, c->errlen, "%s: \"num_experts_per_tok\" = %d is not supported (ZAYA1 routes top-1)",
                  c->fname, topk);
        return RSA_ERR_CONFIG;
    }
    return RSA_OK;
}

/* ------------------------------------------------------------------ layouts */

static enum rsa_err parse_native(struct pctx *c, const cJSON *root, struct mcfg *m)
{
    defaults_native(m);
    enum rsa_err rc;
    if ((rc = parse_common(c, root, m)) != RSA_OK ||
        (rc = get_int(c, root, "num_hidden_layers", 1, MCFG_MAX_LAYERS, &m->num_layers)) != RSA_OK ||
        (rc = get_int(c, root, "num_key_value_heads", 1, MAX_HEADS, &m->num_kv_heads)) != RSA_OK ||
        (rc = get_int(c, root, "head_dim", 1, MAX_HEAD_DIM, &m->head_dim)) != RSA_OK ||
        (rc = get_int(c, root, "num_experts", 1, MAX_EXPERTS, &m->num_experts)) != RSA_OK ||
        (rc = get_int(c, root, "moe_intermediate_size", 1, MAX_INTERMEDIATE, &m->moe_intermediate_size)) != RSA_OK ||
        (rc = get_int(c, root, "router_hidden_size", 1, MAX_ROUTER, &m->router_hidden_size)) != RSA_OK ||
        (rc = get_double(c, root, "rms_norm_eps", 0, true, 1, &m->rms_norm_eps)) != RSA_OK ||
        (rc = parse_layer_types(c, root, m)) != RSA_OK)
        return rc;
    const char *act;
    if ((rc = get_str(c, root, "hidden_act", &act)) != RSA_OK)
        return rc;
    if (act != NULL && strcmp(act, "silu") != 0) {
        util_errf(c->err, c->errlen, "%s: \"hidden_act\" = \"%.32s\" is not supported (only \"silu\")", c->fname,
                  act);
        return RSA_ERR_CONFIG;
    }
    /* HF reads a rope dict's partial_rotary_factor with .get(..., 1.0) and rope_theta with [] */
    bool given[2];
    if ((rc = parse_rope(c, root, m, NAN, 1.0, given)) != RSA_OK)
        return rc;
    for (int i = 0; i < m->num_layers; i++) {
        if (!given[m->layer_types[i]]) {
            util_errf(c->err, c->errlen, "%s: \"rope_parameters\" has no \"%s\" entry but layer %d uses it", c->fname,
                      m->layer_types[i] == MCFG_HYBRID ? "hybrid" : "hybrid_sliding", i);
            return RSA_ERR_CONFIG;
        }
    }
    return RSA_OK;
}

/* parse_zaya_layers: legacy per-layer kinds: "a" (attention) at even and an expert count at odd
 * positions. *n gets the length (0 when absent), *experts the (common) expert count or 0. */
static enum rsa_err parse_zaya_layers(struct pctx *c, const cJSON *root, int *n, int *experts)
{
    const cJSON *v = get(root, "zaya_layers");
    *n = 0;
    *experts = 0;
    if (is_null(v))
        return RSA_OK;
    if (!cJSON_IsArray(v))
        return type_err(c, "zaya_layers", "a list");
    int i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        char k[48];
        snprintf(k, sizeof(k), "zaya_layers[%d]", i);
        if (i % 2 == 0) {
            if (!cJSON_IsString(e) || strcmp(e->valuestring, "a") != 0) {
                util_errf(c->err, c->errlen,
                          "%s: \"%s\" must be \"a\": only strictly alternating attention/MoE layers are supported",
                          c->fname, k);
                return RSA_ERR_CONFIG;
            }
            continue;
        }
        int x;
        enum rsa_err rc = as_int(c, e, k, 1, MAX_EXPERTS, &x);
        if (rc != RSA_OK)
            return rc;
        if (*experts != 0 && x != *experts) {
            util_errf(c->err, c->errlen, "%s: \"%s\" = %d differs from earlier MoE layers (%d)", c->fname, k, x,
                      *experts);
            return RSA_ERR_CONFIG;
        }
        *experts = x;
    }
    *n = i;
    return RSA_OK;
}

static enum rsa_err parse_legacy(struct pctx *c, const cJSON *root, struct mcfg *m)
{
    defaults_legacy(m);
    enum rsa_err rc;
    if ((rc = parse_common(c, root, m)) != RSA_OK)
        return rc;

    /* layers: zaya_layers (when non-empty) wins over num_hidden_layers, as in SGLang */
    int zl_n, zl_experts, legacy_layers = 2 * m->num_layers;
    if ((rc = parse_zaya_layers(c, root, &zl_n, &zl_experts)) != RSA_OK ||
        (rc = get_int(c, root, "num_hidden_layers", 1, 2 * MCFG_MAX_LAYERS, &legacy_layers)) != RSA_OK)
        return rc;
    const char *lkey = "num_hidden_layers";
    if (zl_n > 0) {
        legacy_layers = zl_n;
        lkey = "zaya_layers";
    }
    if (legacy_layers % 2 != 0 || legacy_layers < 2 || legacy_layers > 2 * MCFG_MAX_LAYERS) {
        util_errf(c->err, c->errlen, "%s: \"%s\" gives %d legacy layers; need an even number in [2, %d]", c->fname,
                  lkey, legacy_layers, 2 * MCFG_MAX_LAYERS);
        return RSA_ERR_CONFIG;
    }
    m->num_layers = legacy_layers / 2;
    for (int i = 0; i < m->num_layers; i++)
        m->layer_types[i] = MCFG_HYBRID;

    /* experts: num_experts, else the count in zaya_layers */
    if (get(root, "num_experts") != NULL) {
        if ((rc = get_int(c, root, "num_experts", 1, MAX_EXPERTS, &m->num_experts)) != RSA_OK)
            return rc;
        if (zl_experts != 0 && zl_experts != m->num_experts) {
            util_errf(c->err, c->errlen, "%s: \"num_experts\" = %d but \"zaya_layers\" says %d", c->fname,
                      m->num_experts, zl_experts);
            return RSA_ERR_CONFIG;
        }
    } else if (zl_experts != 0) {
        m->num_experts = zl_experts;
    }

    /* query heads: per-layer cca_num_q_heads wins over num_attention_heads */
    bool found;
    if ((rc = get_list_scalar(c, root, "cca_num_q_heads", 1, MAX_HEADS, &m->num_heads, &found)) != RSA_OK)
        return rc;

    /* kv heads: num_query_groups(_list), else num_key_value_heads; both must agree */
    int kv = -1, nkv = -1;
    if ((rc = get_list_scalar(c, root, "num_query_groups_list", 1, MAX_HEADS, &kv, &found)) != RSA_OK)
        return rc;
    if (!found && (rc = get_int(c, root, "num_query_groups", 1, MAX_HEADS, &kv)) != RSA_OK)
        return rc;
    if ((rc = get_int(c, root, "num_key_value_heads", 1, MAX_HEADS, &nkv)) != RSA_OK)
        return rc;
    if (kv > 0 && nkv > 0 && kv != nkv) {
        util_errf(c->err, c->errlen, "%s: \"num_query_groups\" = %d but \"num_key_value_heads\" = %d", c->fname, kv,
                  nkv);
        return RSA_ERR_CONFIG;
    }
    m->num_kv_heads = kv > 0 ? kv : nkv > 0 ? nkv : m->num_kv_heads;

    /* head_dim (null = absent) or kv_channels; both must agree */
    int hd = -1, kc = -1;
    if ((rc = get_opt_int(c, root, "head_dim", 1, MAX_HEAD_DIM, -1, &hd)) != RSA_OK ||
        (rc = get_opt_int(c, root, "kv_channels", 1, MAX_HEAD_DIM, -1, &kc)) != RSA_OK)
        return rc;
    if (hd > 0 && kc > 0 && hd != kc) {
        util_errf(c->err, c->errlen, "%s: \"head_dim\" = %d but \"kv_channels\" = %d", c->fname, hd, kc);
        return RSA_ERR_CONFIG;
    }
    m->head_dim = hd > 0 ? hd : kc > 0 ? kc : m->head_dim;

    /* ffn_hidden_size(_list) = 2 * moe_intermediate_size (gate and up concatenated) */
    int ffn = 2 * m->moe_intermediate_size;
    if ((rc = get_list_scalar(c, root, "ffn_hidden_size_list", 2, 2 * MAX_INTERMEDIATE, &ffn, &found)) != RSA_OK)
        return rc;
    const char *fkey = found ? "ffn_hidden_size_list" : "ffn_hidden_size";
    if (!found && (rc = get_int(c, root, "ffn_hidden_size", 2, 2 * MAX_INTERMEDIATE, &ffn)) != RSA_OK)
        return rc;
    if (ffn % 2 != 0) {
        util_errf(c->err, c->errlen, "%s: \"%s\" = %d must be even (gate and up halves)", c->fname, fkey, ffn);
        return RSA_ERR_CONFIG;
    }
    m->moe_intermediate_size = ffn / 2;

    /* router hidden size: zaya_mlp_expansion, an integer or a per-layer list */
    const cJSON *zme = get(root, "zaya_mlp_expansion");
    if (cJSON_IsArray(zme))
        rc = get_list_scalar(c, root, "zaya_mlp_expansion", 1, MAX_ROUTER, &m->router_hidden_size, &found);
    else
        rc = get_int(c, root, "zaya_mlp_expansion", 1, MAX_ROUTER, &m->router_hidden_size);
    if (rc != RSA_OK ||
        (rc = get_double(c, root, "norm_epsilon", 0, true, 1, &m->rms_norm_eps)) != RSA_OK)
        return rc;

    /* top-k, activation and the architecture flags the native schema hard-codes */
    int topk = 1;
    if ((rc = get_int(c, root, "moe_router_topk", 0, MAX_EXPERTS, &topk)) != RSA_OK)
        return rc;
    if (topk != 1) {
        util_errf(c->err, c->errlen, "%s: \"moe_router_topk\" = %d is not supported (ZAYA1 routes top-1)", c->fname,
                  topk);
        return RSA_ERR_CONFIG;
    }
    const char *s;
    if ((rc = get_str(c, root, "activation_func", &s)) != RSA_OK)
        return rc;
    if (s != NULL && strcmp(s, "swiglu") != 0) {
        util_errf(c->err, c->errlen, "%s: \"activation_func\" = \"%.32s\" is not supported (only \"swiglu\")",
                  c->fname, s);
        return RSA_ERR_CONFIG;
    }
    if ((rc = get_str(c, root, "normalization", &s)) != RSA_OK)
        return rc;
    if (s != NULL && strcmp(s, "RMSNorm") != 0) {
        util_errf(c->err, c->errlen, "%s: \"normalization\" = \"%.32s\" is not supported (only \"RMSNorm\")",
                  c->fname, s);
        return RSA_ERR_CONFIG;
    }
    static const char *const must_true[] = {"gated_linear_unit", "zaya_use_mod", "zaya_use_eda",
                                            "scale_residual_merge", "cca"};
    static const char *const must_false[] = {"clamp_temp", "add_bias_linear"};
    for (size_t i = 0; i < sizeof(must_true) / sizeof(must_true[0]); i++)
        if ((rc = require_bool(c, root, must_true[i], true)) != RSA_OK)
            return rc;
    for (size_t i = 0; i < sizeof(must_false) / sizeof(must_false[0]); i++)
        if ((rc = require_bool(c, root, must_false[i], false)) != RSA_OK)
            return rc;
    const cJSON *swa = get(root, "swa_layers");
    if (!is_null(swa) && !(cJSON_IsArray(swa) && cJSON_GetArraySize(swa) == 0)) {
        util_errf(c->err, c->errlen, "%s: \"swa_layers\": legacy sliding-window layers are not supported", c->fname);
        return RSA_ERR_CONFIG;
    }

    /* rope: flat rope_theta / partial_rotary_factor; a rope_parameters dict defaults to them */
    double theta = m->rope[0].theta, partial = m->rope[0].partial;
    if ((rc = get_double(c, root, "rope_theta", 0, true, 1e12, &theta)) != RSA_OK ||
        (rc = get_double(c, root, "partial_rotary_factor", 0, true, 1, &partial)) != RSA_OK)
        return rc;
    m->rope[0] = m->rope[1] = (struct mcfg_rope){theta, partial};
    bool given[2];
    if ((rc = parse_rope(c, root, m, theta, partial, given)) != RSA_OK)
        return rc;
    if (!given[MCFG_HYBRID]) {
        util_errf(c->err, c->errlen, "%s: \"rope_parameters\" has no \"hybrid\" entry", c->fname);
        return RSA_ERR_CONFIG;
    }
    return RSA_OK;
}

/* validate: cross-key rules for both layouts. */
static enum rsa_err validate(struct pctx *c, struct mcfg *m)
{
    const char *f = c->fname;
    if (m->num_heads % m->num_kv_heads != 0) {
        util_errf(c->err, c->errlen,
                  "%s: \"num_attention_heads\" (%d) is not a multiple of \"num_key_value_heads\" (%d)", f,
                  m->num_heads, m->num_kv_heads);
        return RSA_ERR_CONFIG;
    }
    if (m->head_dim % 2 != 0) {
        util_errf(c->err, c->errlen, "%s: \"head_dim\" = %d must be even", f, m->head_dim);
        return RSA_ERR_CONFIG;
    }
    bool used[2] = {false, false};
    for (int i = 0; i < m->num_layers; i++)
        used[m->layer_types[i]] = true;
    if (used[MCFG_HYBRID_SLIDING] && m->sliding_window <= 0) {
        util_errf(c->err, c->errlen, "%s: \"sliding_window\" must be set (> 0) when a layer is \"hybrid_sliding\"", f);
        return RSA_ERR_CONFIG;
    }
    for (int t = 0; t < 2; t++) {
        if (!used[t])
            continue;
        /* HF: dim = int(head_dim * partial_rotary_factor); rotate_half needs it even */
        double rd = (double)m->head_dim * m->rope[t].partial;
        long long dim = (long long)rd;
        if (dim < 2 || dim % 2 != 0) {
            util_errf(c->err, c->errlen,
                      "%s: \"partial_rotary_factor\" (%s layers): head_dim %d * %g = %lld rotary dims, need an even "
                      "number >= 2",
                      f, t == MCFG_HYBRID ? "hybrid" : "hybrid_sliding", m->head_dim, m->rope[t].partial, dim);
            return RSA_ERR_CONFIG;
        }
    }
    const char *tk = NULL;
    int bad = -1;
    if (m->pad_token_id >= m->vocab_size) {
        tk = "pad_token_id";
        bad = m->pad_token_id;
    } else if (m->bos_token_id >= m->vocab_size) {
        tk = "bos_token_id";
        bad = m->bos_token_id;
    }
    for (int i = 0; tk == NULL && i < m->num_eos; i++) {
        if (m->eos_token_ids[i] >= m->vocab_size) {
            tk = "eos_token_id";
            bad = m->eos_token_ids[i];
        }
    }
    if (tk != NULL) {
        util_errf(c->err, c->errlen, "%s: \"%s\" = %d is not below vocab_size %d", f, tk, bad, m->vocab_size);
        return RSA_ERR_CONFIG;
    }
    long long p = mcfg_param_count(m);
    if (p <= 0 || p > MAX_PARAMS) {
        util_errf(c->err, c->errlen, "%s: the geometry gives %lld parameters (limit %lld)", f, p, MAX_PARAMS);
        return RSA_ERR_CONFIG;
    }
    return RSA_OK;
}

/* ------------------------------------------------------------------ public API */

enum rsa_err mcfg_parse(const char *json, size_t len, const char *fname, struct mcfg *out, char *err, size_t errlen)
{
    struct pctx c = {fname ? fname : "config.json", err, errlen};
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (root == NULL) {
        util_errf(err, errlen, "%s: not valid JSON", c.fname);
        return RSA_ERR_PARSE;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        util_errf(err, errlen, "%s: not a JSON object", c.fname);
        return RSA_ERR_PARSE;
    }
    /* SGLang's rule (zaya1-model.md §1.1), with its truthiness: a null or empty layer_types or
     * zaya_layers counts as absent; a present moe_intermediate_size counts even when null */
    const cJSON *lt = get(root, "layer_types"), *zl = get(root, "zaya_layers");
    bool native_keys = (!is_null(lt) && !(cJSON_IsArray(lt) && cJSON_GetArraySize(lt) == 0)) ||
                       get(root, "moe_intermediate_size") != NULL;
    bool legacy_keys = !is_null(get(root, "activation_func")) || !is_null(get(root, "ffn_hidden_size")) ||
                       (!is_null(zl) && !(cJSON_IsArray(zl) && cJSON_GetArraySize(zl) == 0));
    struct mcfg m;
    enum rsa_err rc = native_keys && !legacy_keys ? parse_native(&c, root, &m) : parse_legacy(&c, root, &m);
    if (rc == RSA_OK)
        rc = validate(&c, &m);
    cJSON_Delete(root);
    if (rc == RSA_OK)
        *out = m;
    return rc;
}

enum rsa_err mcfg_load(const char *dir, struct mcfg *out, char *err, size_t errlen)
{
    char *path = util_resolve(dir, "config.json");
    if (path == NULL) {
        util_errf(err, errlen, "%s: out of memory", dir);
        return RSA_ERR_NOMEM;
    }
    char *text = NULL;
    size_t len = 0;
    enum rsa_err rc = util_read_file(path, &text, &len, err, errlen);
    if (rc == RSA_OK)
        rc = mcfg_parse(text, len, path, out, err, errlen);
    free(text);
    free(path);
    return rc;
}

enum rsa_err mcfg_shape(const char *name, struct mcfg *out, char *err, size_t errlen)
{
    struct mcfg m;
    defaults_native(&m);
    if (name != NULL && strcmp(name, "zaya1-8b") == 0) {
        /* the ZayaConfig defaults */
    } else if (name != NULL && strcmp(name, "zaya1-mid") == 0) {
        /* mcfg_param_count = 501,213,284 (~0.50 B), for CPU benchmarks */
        m.vocab_size = 65536;
        m.hidden_size = 1024;
        m.num_layers = 12;
        m.num_heads = 8;
        m.num_kv_heads = 2;
        m.head_dim = 64;
        m.num_experts = 16;
        m.moe_intermediate_size = 704;
        m.router_hidden_size = 128;
    } else if (name != NULL && strcmp(name, "zaya1-tiny") == 0) {
        m.vocab_size = 512;
        m.hidden_size = 128;
        m.num_layers = 3;
        m.num_heads = 4;
        m.num_kv_heads = 2;
        m.head_dim = 16;
        m.num_experts = 4;
        m.moe_intermediate_size = 64;
        m.router_hidden_size = 32;
    } else {
        util_errf(err, errlen, "unknown model shape \"%s\" (known: zaya1-8b, zaya1-mid, zaya1-tiny)",
                  name ? name : "(null)");
        return RSA_ERR_NOT_FOUND;
    }
    *out = m;
    return RSA_OK;
}

/* fmt_double: shortest of %.15g / %.17g that reads back exactly, always with a '.' or exponent
 * so Python reads a float. */
static void fmt_double(double v, char out[40])
{
    snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, 40, "%.17g", v);
    if (strpbrk(out, ".eEni") == NULL)
        strcat(out, ".0");
}

char *mcfg_to_json(const struct mcfg *cfg)
{
    struct buf b;
    buf_init(&b, 0);
    char eps[40], th[2][40], pf[2][40];
    fmt_double(cfg->rms_norm_eps, eps);
    for (int t = 0; t < 2; t++) {
        fmt_double(cfg->rope[t].theta, th[t]);
        fmt_double(cfg->rope[t].partial, pf[t]);
    }
    char pad[16], bos[16];
    snprintf(pad, sizeof(pad), "%d", cfg->pad_token_id);
    snprintf(bos, sizeof(bos), "%d", cfg->bos_token_id);
    char sw[16];
    snprintf(sw, sizeof(sw), "%d", cfg->sliding_window);
    enum rsa_err rc = buf_printf(
        &b,
        "{\n"
        "  \"architectures\": [\"ZayaForCausalLM\"],\n"
        "  \"model_type\": \"zaya\",\n"
        "  \"vocab_size\": %d,\n"
        "  \"hidden_size\": %d,\n"
        "  \"num_hidden_layers\": %d,\n"
        "  \"num_attention_heads\": %d,\n"
        "  \"num_key_value_heads\": %d,\n"
        "  \"head_dim\": %d,\n"
        "  \"cca_time0\": %d,\n"
        "  \"cca_time1\": %d,\n"
        "  \"num_experts\": %d,\n"
        "  \"num_experts_per_tok\": %d,\n"
        "  \"moe_intermediate_size\": %d,\n"
        "  \"router_hidden_size\": %d,\n"
        "  \"hidden_act\": \"%s\",\n"
        "  \"rms_norm_eps\": %s,\n"
        "  \"attention_bias\": %s,\n"
        "  \"lm_head_bias\": %s,\n"
        "  \"tie_word_embeddings\": %s,\n"
        "  \"max_position_embeddings\": %d,\n"
        "  \"sliding_window\": %s,\n"
        "  \"rope_parameters\": {\n"
        "    \"hybrid\": {\"rope_type\": \"default\", \"rope_theta\": %s, \"partial_rotary_factor\": %s},\n"
        "    \"hybrid_sliding\": {\"rope_type\": \"default\", \"rope_theta\": %s, \"partial_rotary_factor\": %s}\n"
        "  },\n"
        "  \"pad_token_id\": %s,\n"
        "  \"bos_token_id\": %s,\n",
        cfg->vocab_size, cfg->hidden_size, cfg->num_layers, cfg->num_heads, cfg->num_kv_heads, cfg->head_dim,
        cfg->cca_time0, cfg->cca_time1, cfg->num_experts, cfg->top_k, cfg->moe_intermediate_size,
        cfg->router_hidden_size, cfg->hidden_act, eps, cfg->attention_bias ? "true" : "false",
        cfg->lm_head_bias ? "true" : "false", cfg->tie_word_embeddings ? "true" : "false",
        cfg->max_position_embeddings, cfg->sliding_window > 0 ? sw : "null", th[0], pf[0], th[1], pf[1],
        cfg->pad_token_id >= 0 ? pad : "null", cfg->bos_token_id >= 0 ? bos : "null");
    /* eos: null, one integer, or a list */
    if (rc == RSA_OK && cfg->num_eos == 0)
        rc = buf_puts(&b, "  \"eos_token_id\": null,\n");
    else if (rc == RSA_OK && cfg->num_eos == 1)
        rc = buf_printf(&b, "  \"eos_token_id\": %d,\n", cfg->eos_token_ids[0]);
    else if (rc == RSA_OK) {
        rc = buf_puts(&b, "  \"eos_token_id\": [");
        for (int i = 0; rc == RSA_OK && i < cfg->num_eos && i < MCFG_MAX_EOS; i++)
            rc = buf_printf(&b, "%s%d", i ? ", " : "", cfg->eos_token_ids[i]);
        if (rc == RSA_OK)
            rc = buf_puts(&b, "],\n");
    }
    if (rc == RSA_OK)
        rc = buf_puts(&b, "  \"layer_types\": [");
    for (int i = 0; rc == RSA_OK && i < cfg->num_layers && i < MCFG_MAX_LAYERS; i++)
        rc = buf_printf(&b, "%s\"%s\"", i ? ", " : "",
                        cfg->layer_types[i] == MCFG_HYBRID_SLIDING ? "hybrid_sliding" : "hybrid");
    if (rc == RSA_OK)
        rc = buf_puts(&b,
                      "],\n"
                      "  \"use_cache\": true,\n"
                      "  \"torch_dtype\": \"bfloat16\",\n"
                      "  \"dtype\": \"bfloat16\"\n"
                      "}\n");
    if (rc != RSA_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

long long mcfg_param_count(const struct mcfg *cfg)
{
    long long H = cfg->hidden_size, V = cfg->vocab_size, Hq = cfg->num_heads, Hk = cfg->num_kv_heads;
    long long D = cfg->head_dim, E = cfg->num_experts, I = cfg->moe_intermediate_size, R = cfg->router_hidden_size;
    long long K0 = cfg->cca_time0, K1 = cfg->cca_time1, C = (Hq + Hk) * D;
    long long layer = H                                  /* input_layernorm */
                      + Hq * D * H + Hk * D * H          /* q_proj, k_proj */
                      + 2 * (Hk * D / 2) * H             /* v_proj_current, v_proj_delayed */
                      + C * K0 + C                       /* conv_qk_depthwise [C,1,K0] + bias */
                      + C * D * K1 + C                   /* conv_qk_grouped [C,D,K1] + bias */
                      + Hk                               /* qk_norm.temp */
                      + H * Hq * D                       /* o_proj */
                      + 2 * 4 * H                        /* post_attention / post_mlp residual scales */
                      + H                                /* post_attention_layernorm */
                      + R * H + R                        /* router down_proj */
                      + R                                /* router_mlp.norm */
                      + 2 * (R * R + R)                  /* fc1, fc2 */
                      + (E + 1) * R                      /* out_proj */
                      + (E + 1)                          /* balancing_biases (a buffer in HF) */
                      + E * (2 * I * H + H * I);         /* experts gate_up_proj + down_proj */
    if (cfg->attention_bias)
        layer += Hq * D + Hk * D + 2 * (Hk * D / 2) + H;
    long long total = layer * cfg->num_layers + R * (cfg->num_layers > 1 ? cfg->num_layers - 1 : 0);
    total += V * H + 2 * H + H;                          /* embed_tokens, input scale + bias, final norm */
    if (!cfg->tie_word_embeddings)
        total += V * H;
    if (cfg->lm_head_bias)
        total += V;
    return total;
}
