/*
 * test_model_config.c: ZAYA1 config.json parsing (engine/model_config.c): native defaults,
 * legacy (Megatron) key mapping, layout detection, flat vs nested rope parameters, every bound,
 * the named shapes, the parameter count and the native config.json round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/model_config.h"
#include "rsa/util.h"
#include "testutil.h"

#define FNAME "cfgtest.json"

static char err[1024];

static enum rsa_err parse(const char *json, struct mcfg *m)
{
    err[0] = '\0';
    return mcfg_parse(json, strlen(json), FNAME, m, err, sizeof(err));
}

/* native: parse {"moe_intermediate_size": 2048, EXTRA} (the marker omitted when EXTRA sets it). */
static enum rsa_err native(const char *extra, struct mcfg *m)
{
    char json[8192];
    bool has_moe = strstr(extra, "\"moe_intermediate_size\"") != NULL;
    snprintf(json, sizeof(json), "{%s%s%s}", has_moe ? "" : "\"moe_intermediate_size\": 2048",
             (!has_moe && extra[0]) ? ", " : "", extra);
    return parse(json, m);
}

/* legacy: parse {"activation_func": "swiglu", EXTRA}. */
static enum rsa_err legacy(const char *extra, struct mcfg *m)
{
    char json[8192];
    snprintf(json, sizeof(json), "{\"activation_func\": \"swiglu\"%s%s}", extra[0] ? ", " : "", extra);
    return parse(json, m);
}

/* mcfg_equal: field by field (fails naming the first difference). */
static void assert_mcfg_equal(const struct mcfg *a, const struct mcfg *b)
{
#define EQ(f)                                                                                                  \
    do {                                                                                                       \
        if (a->f != b->f)                                                                                      \
            fail_msg("field %s differs: %g vs %g", #f, (double)a->f, (double)b->f);                           \
    } while (0)
    EQ(layout);
    EQ(vocab_size);
    EQ(hidden_size);
    EQ(num_layers);
    EQ(num_heads);
    EQ(num_kv_heads);
    EQ(head_dim);
    EQ(cca_time0);
    EQ(cca_time1);
    EQ(num_experts);
    EQ(top_k);
    EQ(moe_intermediate_size);
    EQ(router_hidden_size);
    EQ(rms_norm_eps);
    EQ(attention_bias);
    EQ(lm_head_bias);
    EQ(tie_word_embeddings);
    EQ(sliding_window);
    EQ(rope[0].theta);
    EQ(rope[0].partial);
    EQ(rope[1].theta);
    EQ(rope[1].partial);
    EQ(max_position_embeddings);
    EQ(bos_token_id);
    EQ(pad_token_id);
    EQ(num_eos);
#undef EQ
    for (int i = 0; i < a->num_eos; i++)
        assert_int_equal(a->eos_token_ids[i], b->eos_token_ids[i]);
    for (int i = 0; i < a->num_layers; i++)
        if (a->layer_types[i] != b->layer_types[i])
            fail_msg("layer_types[%d] differs", i);
    assert_string_equal(a->hidden_act, b->hidden_act);
}

/* expect_err: rc and a message naming the file and every given word. */
static void expect_err(enum rsa_err got, enum rsa_err want, const char *key, const char *what)
{
    if (got != want)
        fail_msg("%s: rc %d (%s), want %d; message: %s", what, got, rsa_err_str(got), want, err);
    if (strstr(err, FNAME) == NULL)
        fail_msg("%s: message does not name the file: %s", what, err);
    if (key != NULL && strstr(err, key) == NULL)
        fail_msg("%s: message does not name \"%s\": %s", what, key, err);
}

/* ===== native ===== */

static void test_native_defaults(void **state)
{
    (void)state;
    struct mcfg m, d;
    assert_int_equal(native("", &m), RSA_OK);
    assert_int_equal(mcfg_shape("zaya1-8b", &d, err, sizeof(err)), RSA_OK);
    assert_mcfg_equal(&m, &d);
    assert_int_equal(m.layout, MCFG_NATIVE);
    assert_int_equal(m.vocab_size, 262272);
    assert_int_equal(m.hidden_size, 2048);
    assert_int_equal(m.num_layers, 40);
    assert_int_equal(m.num_heads, 8);
    assert_int_equal(m.num_kv_heads, 2);
    assert_int_equal(m.head_dim, 128);
    assert_int_equal(m.cca_time0, 2);
    assert_int_equal(m.cca_time1, 2);
    assert_int_equal(m.num_experts, 16);
    assert_int_equal(m.top_k, 1);
    assert_int_equal(m.moe_intermediate_size, 2048);
    assert_int_equal(m.router_hidden_size, 256);
    assert_true(m.rms_norm_eps == 1e-5);
    assert_false(m.attention_bias);
    assert_false(m.lm_head_bias);
    assert_true(m.tie_word_embeddings);
    assert_int_equal(m.sliding_window, 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(m.layer_types[i], MCFG_HYBRID);
    assert_true(m.rope[MCFG_HYBRID].theta == 5e6);
    assert_true(m.rope[MCFG_HYBRID].partial == 0.5);
    assert_true(m.rope[MCFG_HYBRID_SLIDING].theta == 1e4);
    assert_true(m.rope[MCFG_HYBRID_SLIDING].partial == 0.5);
    assert_int_equal(m.max_position_embeddings, 131072);
    assert_int_equal(m.pad_token_id, 0);
    assert_int_equal(m.bos_token_id, 2);
    assert_int_equal(m.num_eos, 1);
    assert_int_equal(m.eos_token_ids[0], 106);
    assert_string_equal(m.hidden_act, "silu");
}

/* what transformers' ZayaConfig.save_pretrained writes for a small config */
static const char hf_saved[] =
    "{\n  \"architectures\": [\"ZayaForCausalLM\"],\n  \"attention_bias\": true,\n  \"attention_dropout\": 0.0,\n"
    "  \"bos_token_id\": null,\n  \"cca_time0\": 3,\n  \"cca_time1\": 2,\n  \"dtype\": \"float32\",\n"
    "  \"eos_token_id\": [1, 106],\n  \"head_dim\": 16,\n  \"hidden_act\": \"silu\",\n  \"hidden_size\": 128,\n"
    "  \"initializer_range\": 0.02,\n  \"layer_types\": [\"hybrid\", \"hybrid_sliding\", \"hybrid\"],\n"
    "  \"lm_head_bias\": true,\n  \"max_position_embeddings\": 4096,\n  \"model_type\": \"zaya\",\n"
    "  \"moe_intermediate_size\": 64,\n  \"num_attention_heads\": 4,\n  \"num_experts\": 4,\n"
    "  \"num_experts_per_tok\": 1,\n  \"num_hidden_layers\": 3,\n  \"num_key_value_heads\": 2,\n"
    "  \"output_router_logits\": false,\n  \"pad_token_id\": 0,\n  \"rms_norm_eps\": 1e-06,\n"
    "  \"rope_parameters\": {\n    \"hybrid\": {\"partial_rotary_factor\": 0.5, \"rope_theta\": 5000000.0, "
    "\"rope_type\": \"default\"},\n    \"hybrid_sliding\": {\"partial_rotary_factor\": 0.25, \"rope_theta\": "
    "10000.0, \"rope_type\": \"default\"}\n  },\n  \"router_hidden_size\": 32,\n  \"sliding_window\": 64,\n"
    "  \"tie_word_embeddings\": false,\n  \"transformers_version\": \"5.23.0\",\n  \"use_cache\": true,\n"
    "  \"vocab_size\": 512\n}\n";

static void test_native_full(void **state)
{
    (void)state;
    struct mcfg m;
    assert_int_equal(parse(hf_saved, &m), RSA_OK);
    assert_int_equal(m.layout, MCFG_NATIVE);
    assert_int_equal(m.vocab_size, 512);
    assert_int_equal(m.hidden_size, 128);
    assert_int_equal(m.num_layers, 3);
    assert_int_equal(m.num_heads, 4);
    assert_int_equal(m.head_dim, 16);
    assert_int_equal(m.cca_time0, 3);
    assert_int_equal(m.num_experts, 4);
    assert_int_equal(m.moe_intermediate_size, 64);
    assert_int_equal(m.router_hidden_size, 32);
    assert_true(m.rms_norm_eps == 1e-6);
    assert_true(m.attention_bias);
    assert_true(m.lm_head_bias);
    assert_false(m.tie_word_embeddings);
    assert_int_equal(m.sliding_window, 64);
    assert_int_equal(m.layer_types[0], MCFG_HYBRID);
    assert_int_equal(m.layer_types[1], MCFG_HYBRID_SLIDING);
    assert_int_equal(m.layer_types[2], MCFG_HYBRID);
    assert_true(m.rope[MCFG_HYBRID_SLIDING].partial == 0.25);
    assert_true(m.rope[MCFG_HYBRID_SLIDING].theta == 1e4);
    assert_int_equal(m.max_position_embeddings, 4096);
    assert_int_equal(m.bos_token_id, -1);
    assert_int_equal(m.pad_token_id, 0);
    assert_int_equal(m.num_eos, 2);
    assert_int_equal(m.eos_token_ids[0], 1);
    assert_int_equal(m.eos_token_ids[1], 106);
    /* eos null: no eos ids */
    assert_int_equal(native("\"eos_token_id\": null, \"pad_token_id\": null", &m), RSA_OK);
    assert_int_equal(m.num_eos, 0);
    assert_int_equal(m.pad_token_id, -1);
}

/* ===== legacy ===== */

/* the ZAYA1-8B-legacy keys (zaya1-model.md §1.2 last row, SGLang's legacy schema) */
static const char legacy_8b[] =
    "{\"architectures\": [\"ZayaForCausalLM\"], \"model_type\": \"zaya\", \"activation_func\": \"swiglu\","
    " \"add_bias_linear\": false, \"attention_bias\": false, \"cca\": true, \"cca_time0\": 2, \"cca_time1\": 2,"
    " \"clamp_temp\": false, \"ffn_hidden_size\": 4096, \"gated_linear_unit\": true, \"hidden_size\": 2048,"
    " \"kv_channels\": 128, \"max_position_embeddings\": 131072, \"normalization\": \"RMSNorm\","
    " \"norm_epsilon\": 1e-05, \"num_attention_heads\": 8, \"num_experts\": 16, \"num_hidden_layers\": 80,"
    " \"num_query_groups\": 2, \"num_key_value_heads\": 2, \"partial_rotary_factor\": 0.5, \"moe_router_topk\": 1,"
    " \"residual_in_fp32\": true, \"rope_scaling\": false, \"rope_theta\": 5000000, \"scale_residual_merge\": true,"
    " \"tie_word_embeddings\": true, \"vocab_size\": 262272, \"zaya_high_prec\": true, \"zaya_mlp_expansion\": 256,"
    " \"zaya_use_eda\": true, \"zaya_use_mod\": true, \"bos_token_id\": 2, \"eos_token_id\": 106,"
    " \"pad_token_id\": 0}";

static void test_legacy_mapping(void **state)
{
    (void)state;
    struct mcfg m, d;
    assert_int_equal(parse(legacy_8b, &m), RSA_OK);
    assert_int_equal(m.layout, MCFG_LEGACY);
    assert_int_equal(mcfg_shape("zaya1-8b", &d, err, sizeof(err)), RSA_OK);
    d.layout = MCFG_LEGACY;
    d.rope[MCFG_HYBRID_SLIDING] = d.rope[MCFG_HYBRID]; /* a flat rope_theta covers every layer type */
    /* the legacy 8B is the native 8B */
    assert_mcfg_equal(&m, &d);

    /* every legacy name maps to its native field */
    assert_int_equal(legacy("\"num_hidden_layers\": 6, \"ffn_hidden_size\": 96, \"zaya_mlp_expansion\": 24,"
                            " \"norm_epsilon\": 1e-6, \"rope_theta\": 1234.5, \"partial_rotary_factor\": 0.25,"
                            " \"kv_channels\": 32, \"num_query_groups\": 4, \"num_attention_heads\": 8,"
                            " \"num_experts\": 5, \"cca_time0\": 3, \"cca_time1\": 4, \"vocab_size\": 1000,"
                            " \"hidden_size\": 64, \"tie_word_embeddings\": false,"
                            " \"max_position_embeddings\": 2048, \"eos_token_id\": [7, 8], \"bos_token_id\": 5,"
                            " \"pad_token_id\": 6",
                            &m),
                     RSA_OK);
    assert_int_equal(m.layout, MCFG_LEGACY);
    assert_int_equal(m.num_layers, 3);
    assert_int_equal(m.moe_intermediate_size, 48);
    assert_int_equal(m.router_hidden_size, 24);
    assert_true(m.rms_norm_eps == 1e-6);
    assert_true(m.rope[0].theta == 1234.5 && m.rope[1].theta == 1234.5);
    assert_true(m.rope[0].partial == 0.25 && m.rope[1].partial == 0.25);
    assert_int_equal(m.head_dim, 32);
    assert_int_equal(m.num_kv_heads, 4);
    assert_int_equal(m.num_heads, 8);
    assert_int_equal(m.num_experts, 5);
    assert_int_equal(m.cca_time0, 3);
    assert_int_equal(m.cca_time1, 4);
    assert_int_equal(m.vocab_size, 1000);
    assert_int_equal(m.hidden_size, 64);
    assert_false(m.tie_word_embeddings);
    assert_int_equal(m.max_position_embeddings, 2048);
    assert_int_equal(m.num_eos, 2);
    assert_int_equal(m.eos_token_ids[1], 8);
    assert_int_equal(m.bos_token_id, 5);
    assert_int_equal(m.pad_token_id, 6);
    assert_string_equal(m.hidden_act, "silu");
    for (int i = 0; i < 3; i++)
        assert_int_equal(m.layer_types[i], MCFG_HYBRID);

    /* SGLang's legacy defaults (ZAYA1-base): 80 layers, 32768 positions, rope_theta 1e6, eos 1 */
    assert_int_equal(legacy("", &m), RSA_OK);
    assert_int_equal(m.num_layers, 40);
    assert_int_equal(m.max_position_embeddings, 32768);
    assert_true(m.rope[0].theta == 1e6);
    assert_true(m.rope[0].partial == 0.5);
    assert_int_equal(m.num_eos, 1);
    assert_int_equal(m.eos_token_ids[0], 1);
    assert_int_equal(m.moe_intermediate_size, 2048);

    /* ZAYA1-base style per-layer lists; zaya_layers gives the layer count and the expert count */
    assert_int_equal(parse("{\"zaya_layers\": [\"a\", 16, \"a\", 16, \"a\", 16], \"num_hidden_layers\": 80,"
                           " \"cca_num_q_heads\": [8, 0, 8, 0, 8, 0], \"num_query_groups_list\": [2, 0, 2, 0, 2, 0],"
                           " \"ffn_hidden_size_list\": [0, 4096, 0, 4096, 0, 4096],"
                           " \"zaya_mlp_expansion\": [0, 256, null, 256, 0, 256], \"num_attention_heads\": 16}",
                           &m),
                     RSA_OK);
    assert_int_equal(m.layout, MCFG_LEGACY);
    assert_int_equal(m.num_layers, 3);
    assert_int_equal(m.num_experts, 16);
    assert_int_equal(m.num_heads, 8);
    assert_int_equal(m.num_kv_heads, 2);
    assert_int_equal(m.moe_intermediate_size, 2048);
    assert_int_equal(m.router_hidden_size, 256);
    assert_int_equal(legacy("\"zaya_layers\": [\"a\", 4, \"a\", 4]", &m), RSA_OK);
    assert_int_equal(m.num_experts, 4);
    /* head_dim wins over the default; null head_dim falls back to kv_channels */
    assert_int_equal(legacy("\"head_dim\": null, \"kv_channels\": 64", &m), RSA_OK);
    assert_int_equal(m.head_dim, 64);
    assert_int_equal(legacy("\"head_dim\": 64", &m), RSA_OK);
    assert_int_equal(m.head_dim, 64);
    /* a legacy rope_parameters dict takes rope_theta from the flat key when it lacks one */
    assert_int_equal(legacy("\"rope_theta\": 777.0, \"rope_parameters\": {\"rope_type\": \"default\"}", &m), RSA_OK);
    assert_true(m.rope[0].theta == 777.0 && m.rope[0].partial == 0.5);
}

static const struct bad_case {
    const char *extra;
    enum rsa_err rc;
    const char *key;
} legacy_bad[] = {
    {"\"num_hidden_layers\": 7", RSA_ERR_CONFIG, "num_hidden_layers"},
    {"\"num_hidden_layers\": 0", RSA_ERR_CONFIG, "num_hidden_layers"},
    {"\"num_hidden_layers\": 1026", RSA_ERR_CONFIG, "num_hidden_layers"},
    {"\"zaya_layers\": [\"a\", 16, \"a\"]", RSA_ERR_CONFIG, "zaya_layers"},
    {"\"zaya_layers\": [16, \"a\"]", RSA_ERR_CONFIG, "zaya_layers[0]"},
    {"\"zaya_layers\": [\"a\", 16, \"a\", 8]", RSA_ERR_CONFIG, "zaya_layers[3]"},
    {"\"zaya_layers\": [\"a\", \"m\"]", RSA_ERR_CONFIG, "zaya_layers[1]"},
    {"\"zaya_layers\": \"a16\"", RSA_ERR_CONFIG, "zaya_layers"},
    {"\"zaya_layers\": [\"a\", 8, \"a\", 8], \"num_experts\": 16", RSA_ERR_CONFIG, "num_experts"},
    {"\"zaya_mlp_expansion\": [256, 128]", RSA_ERR_CONFIG, "zaya_mlp_expansion"},
    {"\"zaya_mlp_expansion\": [0, 0]", RSA_ERR_CONFIG, "zaya_mlp_expansion"},
    {"\"zaya_mlp_expansion\": [256, -1]", RSA_ERR_CONFIG, "zaya_mlp_expansion[1]"},
    {"\"zaya_mlp_expansion\": \"256\"", RSA_ERR_CONFIG, "zaya_mlp_expansion"},
    {"\"zaya_mlp_expansion\": 0", RSA_ERR_CONFIG, "zaya_mlp_expansion"},
    {"\"cca_num_q_heads\": [8, 0, 4]", RSA_ERR_CONFIG, "cca_num_q_heads"},
    {"\"num_query_groups\": 2, \"num_key_value_heads\": 4", RSA_ERR_CONFIG, "num_key_value_heads"},
    {"\"num_query_groups_list\": [4], \"num_key_value_heads\": 2", RSA_ERR_CONFIG, "num_query_groups"},
    {"\"head_dim\": 128, \"kv_channels\": 64", RSA_ERR_CONFIG, "kv_channels"},
    {"\"ffn_hidden_size\": 4095", RSA_ERR_CONFIG, "ffn_hidden_size"},
    {"\"ffn_hidden_size\": 0", RSA_ERR_CONFIG, "ffn_hidden_size"},
    {"\"ffn_hidden_size_list\": [0, 4096, 0, 2048]", RSA_ERR_CONFIG, "ffn_hidden_size_list"},
    {"\"norm_epsilon\": 0", RSA_ERR_CONFIG, "norm_epsilon"},
    {"\"norm_epsilon\": \"1e-5\"", RSA_ERR_CONFIG, "norm_epsilon"},
    {"\"moe_router_topk\": 2", RSA_ERR_CONFIG, "moe_router_topk"},
    {"\"num_experts_per_tok\": 2", RSA_ERR_CONFIG, "num_experts_per_tok"},
    {"\"gated_linear_unit\": false", RSA_ERR_CONFIG, "gated_linear_unit"},
    {"\"zaya_use_eda\": false", RSA_ERR_CONFIG, "zaya_use_eda"},
    {"\"zaya_use_mod\": false", RSA_ERR_CONFIG, "zaya_use_mod"},
    {"\"scale_residual_merge\": false", RSA_ERR_CONFIG, "scale_residual_merge"},
    {"\"clamp_temp\": true", RSA_ERR_CONFIG, "clamp_temp"},
    {"\"add_bias_linear\": true", RSA_ERR_CONFIG, "add_bias_linear"},
    {"\"cca\": 1", RSA_ERR_CONFIG, "cca"},
    {"\"normalization\": \"LayerNorm\"", RSA_ERR_CONFIG, "normalization"},
    {"\"swa_layers\": [0, 2]", RSA_ERR_CONFIG, "swa_layers"},
    {"\"rope_theta\": -1", RSA_ERR_CONFIG, "rope_theta"},
    {"\"partial_rotary_factor\": 1.5", RSA_ERR_CONFIG, "partial_rotary_factor"},
    {"\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}", RSA_ERR_UNSUPPORTED, "rope_scaling.type"},
    {"\"rope_scaling\": true", RSA_ERR_CONFIG, "rope_scaling"},
    {"\"kv_channels\": 15", RSA_ERR_CONFIG, "head_dim"},
};

static void test_legacy_errors(void **state)
{
    (void)state;
    struct mcfg m;
    for (size_t i = 0; i < sizeof(legacy_bad) / sizeof(legacy_bad[0]); i++)
        expect_err(legacy(legacy_bad[i].extra, &m), legacy_bad[i].rc, legacy_bad[i].key, legacy_bad[i].extra);
    /* activation_func other than swiglu (it is the legacy marker, so written out in full) */
    expect_err(parse("{\"activation_func\": \"gelu\"}", &m), RSA_ERR_CONFIG, "activation_func", "gelu");
}

/* ===== layout detection ===== */

static void test_layout_detection(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        enum mcfg_layout want;
    } cases[] = {
        {"{\"moe_intermediate_size\": 64}", MCFG_NATIVE},
        {"{\"layer_types\": [\"hybrid\", \"hybrid\"], \"num_hidden_layers\": 2}", MCFG_NATIVE},
        {"{\"layer_types\": [\"hybrid\", \"hybrid\"], \"num_hidden_layers\": 2, \"zaya_layers\": []}", MCFG_NATIVE},
        {"{\"moe_intermediate_size\": 64, \"activation_func\": null, \"ffn_hidden_size\": null}", MCFG_NATIVE},
        /* no native key: legacy (SGLang's rule), including the empty object */
        {"{}", MCFG_LEGACY},
        {"{\"layer_types\": null}", MCFG_LEGACY},
        {"{\"layer_types\": []}", MCFG_LEGACY},
        {"{\"num_hidden_layers\": 4, \"rms_norm_eps\": 1e-5}", MCFG_LEGACY},
        /* a legacy marker wins over native keys */
        {"{\"moe_intermediate_size\": 64, \"ffn_hidden_size\": 128}", MCFG_LEGACY},
        {"{\"layer_types\": [\"hybrid\"], \"activation_func\": \"swiglu\", \"num_hidden_layers\": 2}", MCFG_LEGACY},
        {"{\"moe_intermediate_size\": 64, \"zaya_layers\": [\"a\", 16]}", MCFG_LEGACY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mcfg m;
        enum rsa_err rc = parse(cases[i].json, &m);
        if (rc != RSA_OK)
            fail_msg("case %zu (%s): %s", i, cases[i].json, err);
        if (m.layout != cases[i].want)
            fail_msg("case %zu (%s): layout %d, want %d", i, cases[i].json, m.layout, cases[i].want);
    }
    /* the legacy reading of the hand-merged case halves num_hidden_layers */
    struct mcfg m;
    assert_int_equal(parse(cases[9].json, &m), RSA_OK);
    assert_int_equal(m.num_layers, 1);
    assert_int_equal(parse(cases[8].json, &m), RSA_OK);
    assert_int_equal(m.moe_intermediate_size, 64);
}

/* ===== rope ===== */

static void test_rope(void **state)
{
    (void)state;
    struct mcfg m;
    /* nested with the hub's stray top-level rope_type (ignored, whatever its value) */
    assert_int_equal(native("\"rope_parameters\": {\"rope_type\": \"yarn\", \"hybrid\": {\"rope_type\": \"default\","
                            " \"rope_theta\": 1e6, \"partial_rotary_factor\": 0.25}}",
                            &m),
                     RSA_OK);
    assert_true(m.rope[MCFG_HYBRID].theta == 1e6);
    assert_true(m.rope[MCFG_HYBRID].partial == 0.25);
    assert_true(m.rope[MCFG_HYBRID_SLIDING].theta == 1e4);
    /* nested entry without partial_rotary_factor: HF's .get(..., 1.0) */
    assert_int_equal(native("\"rope_parameters\": {\"hybrid\": {\"rope_theta\": 100.0}}", &m), RSA_OK);
    assert_true(m.rope[MCFG_HYBRID].partial == 1.0);
    /* flat: one dict for all layer types */
    assert_int_equal(native("\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 2e5,"
                            " \"partial_rotary_factor\": 0.75}",
                            &m),
                     RSA_OK);
    assert_true(m.rope[0].theta == 2e5 && m.rope[1].theta == 2e5);
    assert_true(m.rope[0].partial == 0.75 && m.rope[1].partial == 0.75);
    /* flat top-level keys when rope_parameters is absent (or null) */
    assert_int_equal(native("\"rope_theta\": 3e5, \"partial_rotary_factor\": 0.25", &m), RSA_OK);
    assert_true(m.rope[0].theta == 3e5 && m.rope[1].theta == 3e5);
    assert_true(m.rope[0].partial == 0.25 && m.rope[1].partial == 0.25);
    assert_int_equal(native("\"rope_parameters\": null, \"rope_theta\": 3e5", &m), RSA_OK);
    assert_true(m.rope[0].theta == 3e5 && m.rope[0].partial == 0.5);
    /* top-level keys are ignored when rope_parameters is there */
    assert_int_equal(native("\"rope_theta\": 3e5, \"rope_parameters\": {\"hybrid\": {\"rope_theta\": 9.0,"
                            " \"partial_rotary_factor\": 0.5}}",
                            &m),
                     RSA_OK);
    assert_true(m.rope[0].theta == 9.0);
    /* rope_scaling null / false / default is fine */
    assert_int_equal(native("\"rope_scaling\": null", &m), RSA_OK);
    assert_int_equal(native("\"rope_scaling\": false", &m), RSA_OK);
    assert_int_equal(native("\"rope_scaling\": {\"rope_type\": \"default\"}", &m), RSA_OK);

    expect_err(native("\"rope_parameters\": {\"hybrid\": {\"rope_type\": \"linear\", \"rope_theta\": 1.0}}", &m),
               RSA_ERR_UNSUPPORTED, "rope_parameters.hybrid.rope_type", "nested linear");
    expect_err(native("\"rope_parameters\": {\"rope_type\": \"yarn\", \"rope_theta\": 1.0}", &m), RSA_ERR_UNSUPPORTED,
               "rope_parameters.rope_type", "flat yarn");
    expect_err(native("\"rope_parameters\": {\"type\": \"dynamic\", \"rope_theta\": 1.0}", &m), RSA_ERR_UNSUPPORTED,
               "rope_parameters.type", "flat type alias");
    expect_err(native("\"rope_parameters\": {\"hybrid\": {\"rope_type\": 3, \"rope_theta\": 1.0}}", &m),
               RSA_ERR_CONFIG, "rope_parameters.hybrid.rope_type", "rope_type not a string");
    expect_err(native("\"rope_scaling\": {\"rope_type\": \"yarn\"}", &m), RSA_ERR_UNSUPPORTED, "rope_scaling",
               "rope_scaling yarn");
    expect_err(native("\"rope_parameters\": {\"hybrid\": {\"partial_rotary_factor\": 0.5}}", &m), RSA_ERR_CONFIG,
               "rope_parameters.hybrid.rope_theta", "nested theta missing");
    expect_err(native("\"rope_parameters\": {\"partial_rotary_factor\": 0.5}", &m), RSA_ERR_CONFIG,
               "rope_parameters.rope_theta", "flat theta missing");
    expect_err(native("\"rope_parameters\": {\"hybrid\": {\"rope_theta\": 0}}", &m), RSA_ERR_CONFIG,
               "rope_parameters.hybrid.rope_theta", "theta 0");
    expect_err(native("\"rope_parameters\": {\"hybrid\": {\"rope_theta\": 1.0, \"partial_rotary_factor\": 0}}", &m),
               RSA_ERR_CONFIG, "rope_parameters.hybrid.partial_rotary_factor", "partial 0");
    expect_err(native("\"rope_parameters\": {\"hybrid_sliding\": {\"rope_theta\": 1.0}}", &m), RSA_ERR_CONFIG,
               "hybrid", "hybrid entry missing for a hybrid layer");
    expect_err(native("\"rope_parameters\": {\"hybrid\": 5}", &m), RSA_ERR_CONFIG, "rope_parameters.hybrid",
               "entry not an object");
    expect_err(native("\"rope_parameters\": [1]", &m), RSA_ERR_CONFIG, "rope_parameters", "not an object");
    expect_err(native("\"rope_theta\": \"big\"", &m), RSA_ERR_CONFIG, "rope_theta", "theta string");
    /* rotary dims: int(head_dim * partial) must be even and >= 2 */
    assert_int_equal(native("\"head_dim\": 16, \"partial_rotary_factor\": 0.375", &m), RSA_OK); /* 6 */
    expect_err(native("\"head_dim\": 16, \"partial_rotary_factor\": 0.3125", &m), RSA_ERR_CONFIG,
               "partial_rotary_factor", "5 rotary dims");
    expect_err(native("\"head_dim\": 16, \"partial_rotary_factor\": 0.0625", &m), RSA_ERR_CONFIG,
               "partial_rotary_factor", "1 rotary dim");
    expect_err(native("\"head_dim\": 18", &m), RSA_ERR_CONFIG, "partial_rotary_factor", "9 rotary dims");
    /* an unused sliding entry with odd rotary dims is fine; a used one is not */
    assert_int_equal(native("\"head_dim\": 16, \"rope_parameters\": {\"hybrid\": {\"rope_theta\": 1.0, "
                            "\"partial_rotary_factor\": 0.5}, \"hybrid_sliding\": {\"rope_theta\": 1.0, "
                            "\"partial_rotary_factor\": 0.3125}}",
                            &m),
                     RSA_OK);
    expect_err(native("\"head_dim\": 16, \"num_hidden_layers\": 1, \"layer_types\": [\"hybrid_sliding\"],"
                      " \"sliding_window\": 8, \"rope_parameters\": {\"hybrid\": {\"rope_theta\": 1.0}, "
                      "\"hybrid_sliding\": {\"rope_theta\": 1.0, \"partial_rotary_factor\": 0.3125}}",
                      &m),
               RSA_ERR_CONFIG, "hybrid_sliding", "used sliding entry with 5 rotary dims");
}

/* ===== bounds and types ===== */

static const struct bad_case native_bad[] = {
    {"\"vocab_size\": 0", RSA_ERR_CONFIG, "vocab_size"},
    {"\"vocab_size\": 16777217", RSA_ERR_CONFIG, "vocab_size"},
    {"\"vocab_size\": -5", RSA_ERR_CONFIG, "vocab_size"},
    {"\"vocab_size\": 1e300", RSA_ERR_CONFIG, "vocab_size"},
    {"\"vocab_size\": \"262272\"", RSA_ERR_CONFIG, "vocab_size"},
    {"\"vocab_size\": null", RSA_ERR_CONFIG, "vocab_size"},
    {"\"hidden_size\": 0", RSA_ERR_CONFIG, "hidden_size"},
    {"\"hidden_size\": 65537", RSA_ERR_CONFIG, "hidden_size"},
    {"\"hidden_size\": 2048.5", RSA_ERR_CONFIG, "hidden_size"},
    {"\"num_hidden_layers\": 0", RSA_ERR_CONFIG, "num_hidden_layers"},
    {"\"num_hidden_layers\": 513", RSA_ERR_CONFIG, "num_hidden_layers"},
    {"\"num_attention_heads\": 0", RSA_ERR_CONFIG, "num_attention_heads"},
    {"\"num_attention_heads\": 1025", RSA_ERR_CONFIG, "num_attention_heads"},
    {"\"num_key_value_heads\": 0", RSA_ERR_CONFIG, "num_key_value_heads"},
    {"\"num_key_value_heads\": 3", RSA_ERR_CONFIG, "num_key_value_heads"},
    {"\"num_attention_heads\": 8, \"num_key_value_heads\": 16", RSA_ERR_CONFIG, "num_key_value_heads"},
    {"\"head_dim\": 0", RSA_ERR_CONFIG, "head_dim"},
    {"\"head_dim\": 1026", RSA_ERR_CONFIG, "head_dim"},
    {"\"head_dim\": 15", RSA_ERR_CONFIG, "head_dim"},
    {"\"cca_time0\": 0", RSA_ERR_CONFIG, "cca_time0"},
    {"\"cca_time1\": 65", RSA_ERR_CONFIG, "cca_time1"},
    {"\"num_experts\": 0", RSA_ERR_CONFIG, "num_experts"},
    {"\"num_experts\": 1025", RSA_ERR_CONFIG, "num_experts"},
    {"\"num_experts_per_tok\": 2", RSA_ERR_CONFIG, "num_experts_per_tok"},
    {"\"num_experts_per_tok\": 0", RSA_ERR_CONFIG, "num_experts_per_tok"},
    {"\"moe_intermediate_size\": 0", RSA_ERR_CONFIG, "moe_intermediate_size"},
    {"\"moe_intermediate_size\": 262145", RSA_ERR_CONFIG, "moe_intermediate_size"},
    {"\"moe_intermediate_size\": null", RSA_ERR_CONFIG, "moe_intermediate_size"},
    {"\"router_hidden_size\": 0", RSA_ERR_CONFIG, "router_hidden_size"},
    {"\"router_hidden_size\": 65537", RSA_ERR_CONFIG, "router_hidden_size"},
    {"\"rms_norm_eps\": 0", RSA_ERR_CONFIG, "rms_norm_eps"},
    {"\"rms_norm_eps\": -1e-5", RSA_ERR_CONFIG, "rms_norm_eps"},
    {"\"rms_norm_eps\": 2", RSA_ERR_CONFIG, "rms_norm_eps"},
    {"\"attention_bias\": 1", RSA_ERR_CONFIG, "attention_bias"},
    {"\"lm_head_bias\": \"no\"", RSA_ERR_CONFIG, "lm_head_bias"},
    {"\"tie_word_embeddings\": null", RSA_ERR_CONFIG, "tie_word_embeddings"},
    {"\"sliding_window\": 0", RSA_ERR_CONFIG, "sliding_window"},
    {"\"sliding_window\": true", RSA_ERR_CONFIG, "sliding_window"},
    {"\"max_position_embeddings\": 0", RSA_ERR_CONFIG, "max_position_embeddings"},
    {"\"max_position_embeddings\": 1e10", RSA_ERR_CONFIG, "max_position_embeddings"},
    {"\"hidden_act\": \"gelu\"", RSA_ERR_CONFIG, "hidden_act"},
    {"\"hidden_act\": 7", RSA_ERR_CONFIG, "hidden_act"},
    {"\"layer_types\": [\"hybrid\"]", RSA_ERR_CONFIG, "layer_types"},
    {"\"num_hidden_layers\": 2, \"layer_types\": [\"hybrid\", \"full\"]", RSA_ERR_CONFIG, "layer_types[1]"},
    {"\"num_hidden_layers\": 2, \"layer_types\": [\"hybrid\", 1]", RSA_ERR_CONFIG, "layer_types[1]"},
    {"\"layer_types\": \"hybrid\"", RSA_ERR_CONFIG, "layer_types"},
    {"\"num_hidden_layers\": 2, \"layer_types\": [\"hybrid\", \"hybrid_sliding\"]", RSA_ERR_CONFIG,
     "sliding_window"},
    {"\"num_hidden_layers\": 2, \"layer_types\": [\"hybrid\", \"hybrid_sliding\"], \"sliding_window\": null",
     RSA_ERR_CONFIG, "sliding_window"},
    {"\"eos_token_id\": \"</s>\"", RSA_ERR_CONFIG, "eos_token_id"},
    {"\"eos_token_id\": [1, \"x\"]", RSA_ERR_CONFIG, "eos_token_id[1]"},
    {"\"eos_token_id\": [1, 2, 3, 4, 5, 6, 7, 8, 9]", RSA_ERR_CONFIG, "eos_token_id"},
    {"\"eos_token_id\": -1", RSA_ERR_CONFIG, "eos_token_id"},
    {"\"vocab_size\": 100, \"eos_token_id\": [1, 100]", RSA_ERR_CONFIG, "eos_token_id"},
    {"\"vocab_size\": 100", RSA_ERR_CONFIG, "eos_token_id"}, /* default eos 106 */
    {"\"vocab_size\": 100, \"eos_token_id\": 1, \"bos_token_id\": 100", RSA_ERR_CONFIG, "bos_token_id"},
    {"\"vocab_size\": 100, \"eos_token_id\": 1, \"pad_token_id\": 200", RSA_ERR_CONFIG, "pad_token_id"},
    {"\"bos_token_id\": 2.5", RSA_ERR_CONFIG, "bos_token_id"},
    /* each size within its bound, but the whole model absurd */
    {"\"hidden_size\": 65536, \"num_experts\": 1024, \"moe_intermediate_size\": 262144, \"num_hidden_layers\": 512",
     RSA_ERR_CONFIG, "parameters"},
};

static void test_bounds(void **state)
{
    (void)state;
    struct mcfg m;
    for (size_t i = 0; i < sizeof(native_bad) / sizeof(native_bad[0]); i++)
        expect_err(native(native_bad[i].extra, &m), native_bad[i].rc, native_bad[i].key, native_bad[i].extra);
    /* the limits themselves are accepted */
    assert_int_equal(native("\"vocab_size\": 16777216, \"hidden_size\": 64, \"num_hidden_layers\": 512,"
                            " \"num_attention_heads\": 1024, \"num_key_value_heads\": 1024, \"head_dim\": 2,"
                            " \"partial_rotary_factor\": 1.0, \"num_experts\": 1024, \"moe_intermediate_size\": 8,"
                            " \"cca_time0\": 64, \"cca_time1\": 64, \"max_position_embeddings\": 1073741824",
                            &m),
                     RSA_OK);
    assert_int_equal(m.num_layers, 512);
    assert_int_equal(m.vocab_size, 16777216);
    /* malformed JSON and non-objects: RSA_ERR_PARSE naming the file */
    expect_err(parse("{\"vocab_size\": ", &m), RSA_ERR_PARSE, NULL, "truncated JSON");
    expect_err(parse("[1, 2]", &m), RSA_ERR_PARSE, NULL, "array");
    expect_err(parse("", &m), RSA_ERR_PARSE, NULL, "empty");
    expect_err(parse("\"zaya\"", &m), RSA_ERR_PARSE, NULL, "string");
    /* *out untouched on error */
    struct mcfg keep;
    memset(&keep, 0x5a, sizeof(keep));
    memcpy(&m, &keep, sizeof(m));
    assert_int_not_equal(native("\"vocab_size\": 0", &m), RSA_OK);
    assert_memory_equal(&m, &keep, sizeof(m));
}

/* ===== shapes, param count, JSON round trip ===== */

static void test_shapes(void **state)
{
    (void)state;
    struct mcfg m;
    assert_int_equal(mcfg_shape("zaya1-8b", &m, err, sizeof(err)), RSA_OK);
    /* transformers ZayaForCausalLM: parameters + balancing_biases buffers = 8,840,489,464 */
    assert_true(mcfg_param_count(&m) == 8840489464ll);
    assert_int_equal(mcfg_shape("zaya1-mid", &m, err, sizeof(err)), RSA_OK);
    long long mid = mcfg_param_count(&m);
    assert_true(mid >= 450000000ll && mid <= 550000000ll);
    assert_int_equal(mcfg_shape("zaya1-tiny", &m, err, sizeof(err)), RSA_OK);
    assert_int_equal(m.hidden_size, 128);
    assert_int_equal(m.num_layers, 3);
    assert_int_equal(m.num_heads, 4);
    assert_int_equal(m.num_kv_heads, 2);
    assert_int_equal(m.head_dim, 16);
    assert_int_equal(m.num_experts, 4);
    assert_int_equal(m.moe_intermediate_size, 64);
    assert_int_equal(m.router_hidden_size, 32);
    assert_int_equal(m.vocab_size, 512);
    /* checked against transformers: 468,134 parameters + 3 * 5 balancing biases */
    assert_true(mcfg_param_count(&m) == 468149ll);
    /* biases and an untied head (also checked against transformers) */
    m.attention_bias = true;
    m.tie_word_embeddings = false;
    m.lm_head_bias = true;
    assert_true(mcfg_param_count(&m) == 534965ll);
    m.tie_word_embeddings = true;
    assert_true(mcfg_param_count(&m) == 469429ll);

    err[0] = '\0';
    assert_int_equal(mcfg_shape("zaya2-huge", &m, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "zaya2-huge"));
    assert_non_null(strstr(err, "zaya1-8b"));
    assert_non_null(strstr(err, "zaya1-mid"));
    assert_non_null(strstr(err, "zaya1-tiny"));
    assert_int_equal(mcfg_shape(NULL, &m, err, sizeof(err)), RSA_ERR_NOT_FOUND);
}

static void roundtrip(const struct mcfg *a)
{
    char *j = mcfg_to_json(a);
    assert_non_null(j);
    struct mcfg b;
    if (parse(j, &b) != RSA_OK)
        fail_msg("to_json output does not parse: %s\n%s", err, j);
    struct mcfg want = *a;
    want.layout = MCFG_NATIVE;
    assert_mcfg_equal(&b, &want);
    /* the writer's fixed keys */
    assert_non_null(strstr(j, "\"architectures\": [\"ZayaForCausalLM\"]"));
    assert_non_null(strstr(j, "\"model_type\": \"zaya\""));
    assert_non_null(strstr(j, "\"hybrid_sliding\": {"));
    assert_non_null(strstr(j, "\"dtype\": \"bfloat16\""));
    free(j);
}

static void test_to_json_roundtrip(void **state)
{
    (void)state;
    static const char *const names[] = {"zaya1-8b", "zaya1-mid", "zaya1-tiny"};
    struct mcfg m;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mcfg_shape(names[i], &m, err, sizeof(err)), RSA_OK);
        roundtrip(&m);
    }
    /* everything non-default: odd doubles, sliding layers, eos list, nulls, biases */
    assert_int_equal(mcfg_shape("zaya1-tiny", &m, err, sizeof(err)), RSA_OK);
    m.rms_norm_eps = 1.0 / 3e6;
    m.rope[0].theta = 123456.789;
    m.rope[0].partial = 0.25;
    m.rope[1].theta = 1e4 + 1.0 / 7;
    m.rope[1].partial = 1.0;
    m.layer_types[1] = MCFG_HYBRID_SLIDING;
    m.sliding_window = 4097;
    m.num_eos = 3;
    m.eos_token_ids[0] = 1;
    m.eos_token_ids[1] = 106;
    m.eos_token_ids[2] = 511;
    m.bos_token_id = -1;
    m.pad_token_id = -1;
    m.attention_bias = true;
    m.lm_head_bias = true;
    m.tie_word_embeddings = false;
    m.cca_time0 = 3;
    m.max_position_embeddings = 8192;
    roundtrip(&m);
    m.num_eos = 0;
    roundtrip(&m);
    /* a legacy config comes back as the same geometry in native layout */
    assert_int_equal(parse(legacy_8b, &m), RSA_OK);
    roundtrip(&m);
}

static void test_load(void **state)
{
    (void)state;
    char dir[300], path[340];
    snprintf(dir, sizeof(dir), "%s/model", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    struct mcfg m;
    err[0] = '\0';
    /* no config.json: IO error naming the path */
    assert_int_equal(mcfg_load(dir, &m, err, sizeof(err)), RSA_ERR_IO);
    assert_non_null(strstr(err, "config.json"));
    snprintf(path, sizeof(path), "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(hf_saved, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mcfg_load(dir, &m, err, sizeof(err)), RSA_OK);
    assert_int_equal(m.num_layers, 3);
    /* errors from a loaded file name its path */
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs("{\"moe_intermediate_size\": 0}", f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mcfg_load(dir, &m, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "moe_intermediate_size"));
}

static int setup(void **state)
{
    (void)state;
    return testutil_tmpdir_make("model_config");
}

static int teardown(void **state)
{
    (void)state;
    return testutil_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_defaults), cmocka_unit_test(test_native_full),
        cmocka_unit_test(test_legacy_mapping),  cmocka_unit_test(test_legacy_errors),
        cmocka_unit_test(test_layout_detection), cmocka_unit_test(test_rope),
        cmocka_unit_test(test_bounds),          cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_to_json_roundtrip), cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
