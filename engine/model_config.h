/*
 * model_config.h: a ZAYA1 config.json (native 40-layer or legacy 80-layer Megatron layout) as
 * one plain struct with native semantics, plus named shapes for random checkpoints.
 *
 * Layout detection (SGLang's rule, zaya1-model.md §1.1): native iff "layer_types" or
 * "moe_intermediate_size" is present and none of "activation_func", "ffn_hidden_size",
 * "zaya_layers" is. Legacy keys are mapped to native ones: num_hidden_layers/2, ffn_hidden_size/2
 * = moe_intermediate_size, zaya_mlp_expansion = router_hidden_size, norm_epsilon = rms_norm_eps,
 * kv_channels = head_dim, num_query_groups = num_key_value_heads, flat rope_theta and
 * partial_rotary_factor. Sizes are bounded (absurd values are errors naming the key).
 */
#ifndef ENGINE_MODEL_CONFIG_H
#define ENGINE_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "rsa/err.h"

#define MCFG_MAX_LAYERS 512
#define MCFG_MAX_EOS 8

enum mcfg_layout { MCFG_NATIVE = 0, MCFG_LEGACY = 1 };
enum mcfg_layer_type { MCFG_HYBRID = 0, MCFG_HYBRID_SLIDING = 1 };

struct mcfg_rope {
    double theta;          /* rope_theta */
    double partial;        /* partial_rotary_factor in (0, 1] */
};

struct mcfg {
    enum mcfg_layout layout;
    int vocab_size;
    int hidden_size;
    int num_layers;            /* NATIVE layers (legacy num_hidden_layers / 2) */
    int num_heads;             /* query heads */
    int num_kv_heads;
    int head_dim;
    int cca_time0, cca_time1;  /* conv kernel sizes, >= 1 */
    int num_experts;           /* router classes = num_experts + 1 (skip) */
    int top_k;                 /* must be 1 */
    int moe_intermediate_size;
    int router_hidden_size;
    double rms_norm_eps;
    bool attention_bias;       /* biases on q/k/v_current/v_delayed/o projections */
    bool lm_head_bias;
    bool tie_word_embeddings;
    int sliding_window;        /* 0 = none; required > 0 when any layer is hybrid_sliding */
    enum mcfg_layer_type layer_types[MCFG_MAX_LAYERS];
    struct mcfg_rope rope[2];  /* indexed by enum mcfg_layer_type */
    int max_position_embeddings;
    int bos_token_id, pad_token_id;   /* -1 when absent/null */
    int eos_token_ids[MCFG_MAX_EOS];
    int num_eos;
    char hidden_act[16];       /* "silu" only */
};

/* mcfg_parse: parse config.json text (len bytes; fname for messages) into *out, with HF ZayaConfig
 * defaults for absent keys. RSA_ERR_PARSE for malformed JSON; RSA_ERR_CONFIG for a wrong type,
 * an out-of-range value or an unsupported setting (num_experts_per_tok != 1, hidden_act != silu,
 * heads not divisible by kv heads, odd head_dim * partial, ...), message names file and key. */
enum rsa_err mcfg_parse(const char *json, size_t len, const char *fname, struct mcfg *out,
                        char *err, size_t errlen);

/* mcfg_load: read DIR/config.json and mcfg_parse it. */
enum rsa_err mcfg_load(const char *dir, struct mcfg *out, char *err, size_t errlen);

/* mcfg_shape: a named geometry: "zaya1-8b" (the ZayaConfig defaults, 8.84 B params),
 * "zaya1-mid" (~0.5 B params, for CPU benchmarks), "zaya1-tiny" (a few M params, for tests).
 * RSA_ERR_NOT_FOUND for an unknown name (message lists the known ones). */
enum rsa_err mcfg_shape(const char *name, struct mcfg *out, char *err, size_t errlen);

/* mcfg_to_json: a native-layout config.json text for cfg (malloc'd; NULL on no memory), which
 * mcfg_parse reads back to an identical struct and which HF ZayaConfig accepts. */
char *mcfg_to_json(const struct mcfg *cfg);

/* mcfg_param_count: total parameters of the native layout (tied head counted once). */
long long mcfg_param_count(const struct mcfg *cfg);

#endif
