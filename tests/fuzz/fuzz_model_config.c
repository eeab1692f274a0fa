/*
 * fuzz_model_config.c: mcfg_parse on arbitrary bytes; every accepted config must survive
 * mcfg_to_json -> mcfg_parse unchanged (same geometry, now native) and have a sane parameter count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    if (size > 0)
        memcpy(text, data, size);
    struct mcfg a, b;
    char err[512];
    if (mcfg_parse(text, size, "fuzz.json", &a, err, sizeof(err)) == RSA_OK) {
        if (mcfg_param_count(&a) <= 0 || a.num_layers < 1 || a.num_layers > MCFG_MAX_LAYERS || a.top_k != 1 ||
            a.num_heads % a.num_kv_heads != 0 || a.num_eos < 0 || a.num_eos > MCFG_MAX_EOS)
            abort();
        char *j = mcfg_to_json(&a);
        if (j == NULL)
            abort();
        if (mcfg_parse(j, strlen(j), "roundtrip.json", &b, err, sizeof(err)) != RSA_OK)
            abort();
        if (b.layout != MCFG_NATIVE || b.vocab_size != a.vocab_size || b.hidden_size != a.hidden_size ||
            b.num_layers != a.num_layers || b.head_dim != a.head_dim || b.num_experts != a.num_experts ||
            b.moe_intermediate_size != a.moe_intermediate_size || b.router_hidden_size != a.router_hidden_size ||
            b.rms_norm_eps != a.rms_norm_eps || b.rope[0].theta != a.rope[0].theta ||
            b.rope[1].partial != a.rope[1].partial || b.num_eos != a.num_eos ||
            b.sliding_window != a.sliding_window || b.bos_token_id != a.bos_token_id ||
            memcmp(b.layer_types, a.layer_types, sizeof(a.layer_types)) != 0 ||
            mcfg_param_count(&a) != mcfg_param_count(&b))
            abort();
        free(j);
    }
    free(text);
    return 0;
}
