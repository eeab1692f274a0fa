/*
 * weights.h: bind a ZAYA1 checkpoint's tensors (native or legacy names) to one plain struct per
 * layer. Matrices stay in the mapped file (struct kern_mat, any of bf16/fp16/fp32); small vectors
 * (norms, biases, scales, depthwise conv taps) are converted once to owned fp32 arrays.
 *
 * Notation: H hidden, Hq query heads, Hk kv heads, D head_dim, C = (Hq+Hk)*D conv channels,
 * K0/K1 conv kernel sizes, E experts, I expert intermediate, R router hidden, V vocab.
 */
#ifndef ENGINE_WEIGHTS_H
#define ENGINE_WEIGHTS_H

#include <stdint.h>

#include "engine/cpu/kernels.h"
#include "engine/model_config.h"
#include "engine/safetensors.h"
#include "rsa/err.h"

/* One residual merge: x = (o + hb) * hs + (x + rb) * rs, four [H] vectors. */
struct wt_merge {
    float *hs, *hb, *rs, *rb;
};

struct wt_layer {
    float *in_norm;             /* [H] input_layernorm */
    struct kern_mat q, k;       /* [Hq*D, H], [Hk*D, H] */
    struct kern_mat vc, vd;     /* [Hk*D/2, H] current / delayed value projections */
    float *q_b, *k_b, *vc_b, *vd_b, *o_b; /* biases (NULL unless attention_bias) */
    float *dw;                  /* [C, K0] depthwise conv taps (oldest first) */
    float *dw_b;                /* [C] */
    struct kern_mat gw;         /* [C, D*K1] grouped conv weight viewed as a matrix; group g = rows gD..gD+D */
    float *gw_b;                /* [C] */
    float *temp;                /* [Hk] key temperature */
    struct kern_mat o;          /* [H, Hq*D] */
    struct wt_merge post_attn;
    float *post_norm;           /* [H] post_attention_layernorm */
    struct kern_mat r_down;     /* [R, H] */
    float *r_down_b;            /* [R] */
    float *r_eda;               /* [R] router_states_scale; NULL for layer 0 */
    float *r_norm;              /* [R] */
    struct kern_mat fc1, fc2;   /* [R, R] */
    float *fc1_b, *fc2_b;       /* [R] */
    struct kern_mat r_out;      /* [E+1, R] */
    float *bal;                 /* [E+1] balancing biases (selection only) */
    struct kern_mat *gate_up;   /* E x [2I, H]: rows 0..I-1 gate, I..2I-1 up */
    struct kern_mat *down;      /* E x [H, I] */
    struct wt_merge post_mlp;
};

struct wt_model {
    struct kern_mat embed;      /* [V, H] */
    float *in_scale, *in_bias;  /* [H] input affine */
    float *final_norm;          /* [H] */
    struct kern_mat head;       /* [V, H] (= embed when tied) */
    float *head_b;              /* [V] or NULL */
    struct wt_layer *layers;    /* [num_layers] */
    int nlayers;
    uint64_t bytes;             /* bytes of every bound tensor (tied head once) */
    char dtypes[64];            /* e.g. "bf16" or "bf16+fp32" */
    char *extra;                /* "" or a list of unused tensor names */
    /* owned fp32 vectors, freed by wt_free */
    float **owned;
    int nowned, capowned;
};

/* wt_bind: find, check (dtype in {F32,F16,BF16}; exact shape) and bind every tensor the config
 * needs. Errors (RSA_ERR_CONFIG) name the tensor, the file and what was expected. Marks used
 * tensors; the rest are listed in m->extra. */
enum rsa_err wt_bind(const struct mcfg *cfg, struct st_set *set, struct wt_model *m, char *err, size_t errlen);

/* wt_free: free owned arrays (the mapping belongs to the st_set). */
void wt_free(struct wt_model *m);

#endif
