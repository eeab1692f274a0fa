/*
 * model_init.h: write a seeded random-weight ZAYA1 checkpoint of any geometry (config.json plus
 * safetensors in the native layout), streamed tensor by tensor so that even the 17.7 GB ZAYA1-8B
 * shape needs only a few MB of memory. For benchmarks and tests without downloading weights.
 *
 * Values: linear weights uniform with std 1/sqrt(fan_in); norms and scales near 1; biases small
 * and nonzero; key temperatures near 2; balancing biases small with the skip class at -1. Every
 * tensor has its own stream seeded from (seed, name), so a tensor's values do not depend on the
 * sharding or on other tensors.
 */
#ifndef ENGINE_MODEL_INIT_H
#define ENGINE_MODEL_INIT_H

#include <stdint.h>

#include "engine/model_config.h"
#include "engine/safetensors.h"
#include "rsa/err.h"

/* model_init_random: create DIR (may exist, must not hold a config.json unless overwrite) and write
 * config.json + model.safetensors, or, when shard_bytes > 0 and the weights exceed it,
 * model-0000k-of-0000n.safetensors files of at most shard_bytes each (a larger tensor gets its own
 * shard) + model.safetensors.index.json. dt: ST_BF16, ST_F16 or ST_F32. */
enum rsa_err model_init_random(const struct mcfg *cfg, enum st_dtype dt, uint64_t seed, const char *dir,
                               uint64_t shard_bytes, int overwrite, char *err, size_t errlen);

#endif
