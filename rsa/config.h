/*
 * config.h: experiment configuration from INI files (inih), declared once in a
 * table (section, key, type, default, bounds, help). `--set section.key=value`
 * overrides any key. Unknown sections and keys, bad types and out-of-range values
 * are errors naming file:line and key.
 *
 * Relative paths written in a config file resolve against that file's directory;
 * paths given with --set resolve against the current directory; a template or
 * dataset not found there is looked up under the project's configs/ directory.
 */
#ifndef RSA_CONFIG_H
#define RSA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum tail_source { TAIL_FULL = 0, TAIL_THINK = 1, TAIL_ANSWER_OR_THINK = 2 };
enum subset_sampling { SUBSET_WITHOUT_REPLACEMENT = 0, SUBSET_WITH_REPLACEMENT = 1 };
enum rsa_mode { MODE_MARKOVIAN = 0, MODE_PAPER = 1 };
enum tail_approx { TAIL_APPROX_NONE = 0, TAIL_APPROX_CHARS = 1 };
enum backend_kind { BACKEND_HTTP = 0, BACKEND_ENGINE = 1 };
enum backend_api { API_CHAT = 0, API_COMPLETIONS = 1 };
enum engine_device { DEVICE_CPU = 0, DEVICE_CUDA = 1 };
enum grader_kind { GRADER_MATH = 0 };
enum chat_kind { CHAT_ZAYA1 = 0, CHAT_CHATML = 1, CHAT_GEMMA3 = 2 };

/* The effective configuration as plain data. Strings are owned by the struct. */
struct rsa_config {
    /* [run] */
    char *name;            /* run name: the key for resume; default: the config file's stem */
    char *dataset;         /* JSONL path (resolved) */
    int64_t seed;          /* root of every random choice */
    char *problems;        /* comma-separated problem ids to keep ("" = all) */
    int repeats;           /* independent repeats of every problem */
    /* [rsa] */
    int population;        /* N: traces per round */
    int subset;            /* C: candidates per aggregation prompt */
    int rounds;            /* T_agg: aggregation rounds after round 0 (stages = rounds + 1) */
    int tail_tokens;       /* tau: tokens carried forward (0 = whole trace) */
    enum tail_source tail_source;
    enum subset_sampling subset_sampling;
    enum rsa_mode mode;
    char *prompt_template; /* aggregation template (C >= 2), resolved path */
    char *initial_template;/* round-0 template, resolved path */
    char *refine_template; /* C = 1 continuation template, resolved path */
    enum tail_approx tail_approx;
    double chars_per_token;/* used only with tail_approx = chars */
    char *think_open;      /* reasoning markers in the trace text */
    char *think_close;
    char *system_prompt;   /* "" = no system message */
    /* [sampling] */
    double temperature;
    double top_p;
    int top_k;
    double min_p;
    int max_tokens;        /* beta */
    char *stop;            /* JSON array of stop strings ("" = none) */
    /* [backend] */
    enum backend_kind kind;
    char *url;             /* one or more base URLs separated by commas or spaces */
    char *model;
    char *api_key_env;     /* name of the environment variable holding the key */
    enum backend_api api;
    int stream;
    int concurrency;       /* per endpoint */
    double timeout_s;
    double connect_timeout_s;
    int retries;
    double backoff_s;
    char *tokenizer;       /* local tokenizer.json ("" = none) */
    enum engine_device device;
    int threads;
    int isa; /* backend.isa: 0 auto, 1 scalar, 2 avx2, 3 avx512 (engine CPU kernels) */
    double memory_gb;
    enum chat_kind chat_template; /* engine: how prompts are rendered */
    int enable_thinking;   /* engine: the template's thinking-enabled generation prompt */
    /* [grading] */
    enum grader_kind grader;
    int answer_after_think;
    int strict;

    /* bookkeeping */
    char *path;            /* the config file as given */
    char *dir;             /* its directory */
};

/* config_load: defaults, then the file at path (may be NULL: defaults only), then
   each "section.key=value" of sets[0..nsets). On error *cfg is freed and err names
   file:line and key (or the --set argument). */
enum rsa_err config_load(const char *path, const char *const *sets, size_t nsets,
                         struct rsa_config *cfg, char *err, size_t errlen);

/* config_free: free the strings; NULL-safe; leaves *cfg zeroed. */
void config_free(struct rsa_config *cfg);

/* config_format: the effective config as INI text (every key, table order). With
   identity_only, only the keys that decide a run's results (not paths, URLs, timeouts,
   concurrency), so that a run can resume on another server or from another directory.
   Returns a malloc'd string or NULL when out of memory. */
char *config_format(const struct rsa_config *cfg, int identity_only);

/* config_text_get: the value of section.key in INI text as written by config_format
   (e.g. the config stored with a run); malloc'd, or NULL when absent or out of memory. */
char *config_text_get(const char *ini_text, const char *section, const char *key);

/* config_help: the key table as text: key, type, default, bounds, help. malloc'd. */
char *config_help(void);

/* config_find_file: resolve a file named in a config: absolute; else relative to the
   config's directory; else to the project's configs/ directory. malloc'd or NULL. */
char *config_find_file(const char *cfg_dir, const char *value);

/* Names for enum values (static strings). */
const char *config_tail_source_str(enum tail_source s);
const char *config_chat_str(enum chat_kind c);

/* config_stop_list: parse sampling.stop (a JSON array of non-empty strings, or "") into a
   malloc'd NULL-terminated array of malloc'd strings (*n of them); free with config_stop_free. */
enum rsa_err config_stop_list(const char *stop, char ***out, size_t *n, char *err, size_t errlen);
void config_stop_free(char **list);

#endif
