/* config.c: the key table and the INI loader (inih). See config.h. */
#include "config.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

enum key_type { KT_STRING, KT_PATH, KT_INT, KT_DOUBLE, KT_BOOL, KT_ENUM };

/* One row per key. `identity` marks keys that decide a run's results. */
struct key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;         /* into struct rsa_config */
    const char *def;       /* default, as text */
    double min, max;       /* bounds for INT and DOUBLE */
    const char *choices;   /* "a|b|c" for ENUM (index = enum value) */
    int identity;
    const char *help;
};

#define OFF(f) offsetof(struct rsa_config, f)
static const struct key keys[] = {
    {"run", "name", KT_STRING, OFF(name), "", 0, 0, NULL, 0,
     "run name in the database (default: the config file's name without .ini)"},
    {"run", "dataset", KT_PATH, OFF(dataset), "", 0, 0, NULL, 0,
     "JSONL problems: {id|problem_idx, problem, answer} per line (content is hashed into the run)"},
    {"run", "seed", KT_INT, OFF(seed), "1234", 0, 9007199254740991.0, NULL, 1,
     "root seed: parents and request seeds derive from it and the trace coordinates"},
    {"run", "problems", KT_STRING, OFF(problems), "", 0, 0, NULL, 1,
     "comma-separated problem ids to run (empty = all)"},
    {"run", "repeats", KT_INT, OFF(repeats), "1", 1, 1000, NULL, 1,
     "independent repeats (seeds) of every problem"},

    {"rsa", "population", KT_INT, OFF(population), "16", 1, 4096, NULL, 1,
     "N: traces per round"},
    {"rsa", "subset", KT_INT, OFF(subset), "4", 1, 256, NULL, 1,
     "C (RSA paper's K): candidates per aggregation prompt; 1 = continue own tail"},
    {"rsa", "rounds", KT_INT, OFF(rounds), "2", 0, 1000, NULL, 1,
     "T_agg: aggregation rounds after round 0 (stages = rounds + 1; RSA-paper loops = rounds + 1)"},
    {"rsa", "tail_tokens", KT_INT, OFF(tail_tokens), "4096", 0, 10000000, NULL, 1,
     "tau: last tokens of each candidate carried forward (0 = whole trace, full-chain RSA)"},
    {"rsa", "tail_source", KT_ENUM, OFF(tail_source), "full", 0, 0, "full|think|answer_or_think", 1,
     "what the tail is cut from: the whole trace, the thinking only, or the answer if finished else the thinking"},
    {"rsa", "subset_sampling", KT_ENUM, OFF(subset_sampling), "without_replacement", 0, 0,
     "without_replacement|with_replacement", 1, "how the C parents of one prompt are drawn"},
    {"rsa", "mode", KT_ENUM, OFF(mode), "markovian", 0, 0, "markovian|paper", 1,
     "default aggregation template: Markovian (tails with a truncation marker) or the RSA paper's"},
    {"rsa", "prompt_template", KT_PATH, OFF(prompt_template), "", 0, 0, NULL, 0,
     "aggregation template for C >= 2 (default by mode: prompts/markovian.txt or prompts/rsa-paper.txt)"},
    {"rsa", "initial_template", KT_PATH, OFF(initial_template), "prompts/initial.txt", 0, 0, NULL, 0,
     "round-0 template"},
    {"rsa", "refine_template", KT_PATH, OFF(refine_template), "prompts/refine.txt", 0, 0, NULL, 0,
     "C = 1 continuation/refinement template"},
    {"rsa", "tail_approx", KT_ENUM, OFF(tail_approx), "none", 0, 0, "none|chars", 1,
     "chars = cut tails by characters (tail_tokens * chars_per_token) when no tokenizer is available"},
    {"rsa", "chars_per_token", KT_DOUBLE, OFF(chars_per_token), "4", 0.5, 64, NULL, 1,
     "characters per token for tail_approx = chars"},
    {"rsa", "think_open", KT_STRING, OFF(think_open), "<think>", 0, 0, NULL, 1,
     "marker that opens the reasoning in a trace"},
    {"rsa", "think_close", KT_STRING, OFF(think_close), "</think>", 0, 0, NULL, 1,
     "marker that closes the reasoning in a trace"},
    {"rsa", "system_prompt", KT_STRING, OFF(system_prompt), "", 0, 0, NULL, 1,
     "system message for the chat API (empty = none)"},

    {"sampling", "temperature", KT_DOUBLE, OFF(temperature), "1.0", 0, 100, NULL, 1, "sampling temperature"},
    {"sampling", "top_p", KT_DOUBLE, OFF(top_p), "1.0", 1e-9, 1, NULL, 1, "nucleus sampling mass"},
    {"sampling", "top_k", KT_INT, OFF(top_k), "-1", -1, 1000000, NULL, 1, "top-k (-1 = off)"},
    {"sampling", "min_p", KT_DOUBLE, OFF(min_p), "0", 0, 1, NULL, 1, "min-p (0 = off)"},
    {"sampling", "max_tokens", KT_INT, OFF(max_tokens), "8192", 1, 10000000, NULL, 1,
     "beta: generation budget per trace, every round"},
    {"sampling", "stop", KT_STRING, OFF(stop), "", 0, 0, NULL, 2,
     "stop strings as a JSON array, e.g. [\"</answer>\"] (empty = none; EOS always stops)"},

    {"backend", "kind", KT_ENUM, OFF(kind), "http", 0, 0, "http|engine", 1,
     "http = OpenAI-compatible servers; engine = in-process ZAYA1 engine"},
    {"backend", "url", KT_STRING, OFF(url), "http://127.0.0.1:8000/v1", 0, 0, NULL, 0,
     "base URL(s), comma- or space-separated, e.g. http://host:8000/v1"},
    {"backend", "model", KT_STRING, OFF(model), "", 0, 0, NULL, 1,
     "model name sent to the server (http; empty = the server's first model) or model directory (engine)"},
    {"backend", "api_key_env", KT_STRING, OFF(api_key_env), "", 0, 0, NULL, 0,
     "environment variable holding the API key (the key itself is never stored)"},
    {"backend", "api", KT_ENUM, OFF(api), "chat", 0, 0, "chat|completions", 1,
     "chat/completions (server applies the chat template) or completions (raw prompt)"},
    {"backend", "stream", KT_BOOL, OFF(stream), "true", 0, 0, NULL, 0, "use SSE streaming"},
    {"backend", "concurrency", KT_INT, OFF(concurrency), "64", 1, 4096, NULL, 0,
     "requests in flight per endpoint"},
    {"backend", "timeout_s", KT_DOUBLE, OFF(timeout_s), "3600", 1, 604800, NULL, 0,
     "limit on one request, seconds"},
    {"backend", "connect_timeout_s", KT_DOUBLE, OFF(connect_timeout_s), "10", 0.1, 3600, NULL, 0,
     "limit on connecting, seconds"},
    {"backend", "retries", KT_INT, OFF(retries), "6", 0, 100, NULL, 0,
     "retries on connection errors, 408, 429 and 5xx (never other 4xx)"},
    {"backend", "backoff_s", KT_DOUBLE, OFF(backoff_s), "1", 0.001, 600, NULL, 0,
     "first retry delay; doubles per retry (capped at 60 s), with jitter"},
    {"backend", "tokenizer", KT_PATH, OFF(tokenizer), "", 0, 0, NULL, 0,
     "tokenizer.json: http = token-exact tails without the server's /tokenize (empty = use it); "
     "engine = instead of backend.model's own"},
    {"backend", "device", KT_ENUM, OFF(device), "cpu", 0, 0, "cpu|cuda", 0, "engine device"},
    {"backend", "threads", KT_INT, OFF(threads), "0", 0, 1024, NULL, 0, "engine CPU threads (0 = all cores)"},
    {"backend", "isa", KT_ENUM, OFF(isa), "auto", 0, 0, "auto|scalar|avx2|avx512", 0,
     "engine CPU kernels (auto = the best this CPU has; pin one for bitwise-equal runs on different CPUs)"},
    {"backend", "memory_gb", KT_DOUBLE, OFF(memory_gb), "0", 0, 1048576, NULL, 0,
     "engine cache memory budget in GiB (0 = automatic)"},
    {"backend", "chat_template", KT_ENUM, OFF(chat_template), "zaya1", 0, 0, "zaya1|chatml|gemma3", 2,
     "engine: chat template (zaya1 = <bos> + ChatML turns with <think>; chatml = Qwen3; gemma3)"},
    {"backend", "enable_thinking", KT_BOOL, OFF(enable_thinking), "true", 0, 0, NULL, 2,
     "engine: let the model think (false = the template's empty think block)"},

    {"grading", "grader", KT_ENUM, OFF(grader), "math", 0, 0, "math", 0,
     "answer checker (math: last \\boxed{}, LaTeX parsed, exact rational or numeric equivalence)"},
    {"grading", "answer_after_think", KT_BOOL, OFF(answer_after_think), "false", 0, 0, NULL, 0,
     "look for the answer only after the think_close marker"},
    {"grading", "strict", KT_BOOL, OFF(strict), "true", 0, 0, NULL, 0,
     "no fallback when no \\boxed{} is found (false: the last number in the text)"},
};
#undef OFF
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"run", "rsa", "sampling", "backend", "grading"};

/* ===== value access ===== */

static void *field(struct rsa_config *cfg, const struct key *k)
{
    return (char *)cfg + k->offset;
}

static const void *cfield(const struct rsa_config *cfg, const struct key *k)
{
    return (const char *)cfg + k->offset;
}

static int enum_index(const char *choices, const char *v)
{
    int idx = 0;
    const char *p = choices;
    size_t vl = strlen(v);
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vl && strncasecmp(p, v, n) == 0)
            return idx;
        idx++;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return -1;
}

static void enum_name(const char *choices, int idx, char *out, size_t outlen)
{
    const char *p = choices;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (p == NULL) {
        snprintf(out, outlen, "?");
        return;
    }
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(out, outlen, "%.*s", (int)n, p);
}

static const char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* set_value: parse text into the key's field. base: directory for relative paths. */
static enum rsa_err set_value(struct rsa_config *cfg, const struct key *k, const char *text,
                              const char *base, char *err, size_t errlen)
{
    char *copy = util_strdup(text);
    if (copy == NULL)
        return RSA_ERR_NOMEM;
    const char *v = trim(copy);
    enum rsa_err rc = RSA_OK;
    switch (k->type) {
    case KT_STRING:
    case KT_PATH: {
        char *s;
        if (k->type == KT_PATH && v[0] != '\0')
            s = util_resolve(base, v);
        else
            s = util_strdup(v);
        if (s == NULL) {
            rc = RSA_ERR_NOMEM;
            break;
        }
        char **slot = field(cfg, k);
        free(*slot);
        *slot = s;
        break;
    }
    case KT_INT: {
        char *end = NULL;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (v[0] == '\0' || *end != '\0' || errno != 0) {
            util_errf(err, errlen, "%s.%s: '%s' is not an integer", k->section, k->name, v);
            rc = RSA_ERR_CONFIG;
            break;
        }
        if ((double)x < k->min || (double)x > k->max) {
            util_errf(err, errlen, "%s.%s: %lld is out of range [%.0f, %.0f]", k->section, k->name, x,
                      k->min, k->max);
            rc = RSA_ERR_CONFIG;
            break;
        }
        if (k->offset == offsetof(struct rsa_config, seed))
            *(int64_t *)field(cfg, k) = (int64_t)x;
        else
            *(int *)field(cfg, k) = (int)x;
        break;
    }
    case KT_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double x = strtod(v, &end);
        if (v[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(x)) {
            util_errf(err, errlen, "%s.%s: '%s' is not a number", k->section, k->name, v);
            rc = RSA_ERR_CONFIG;
            break;
        }
        if (x < k->min || x > k->max) {
            util_errf(err, errlen, "%s.%s: %g is out of range [%g, %g]", k->section, k->name, x, k->min,
                      k->max);
            rc = RSA_ERR_CONFIG;
            break;
        }
        *(double *)field(cfg, k) = x;
        break;
    }
    case KT_BOOL: {
        int b;
        if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
            b = 1;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
            b = 0;
        else {
            util_errf(err, errlen, "%s.%s: '%s' is not a boolean (true/false)", k->section, k->name, v);
            rc = RSA_ERR_CONFIG;
            break;
        }
        *(int *)field(cfg, k) = b;
        break;
    }
    case KT_ENUM: {
        int idx = enum_index(k->choices, v);
        if (idx < 0) {
            util_errf(err, errlen, "%s.%s: '%s' is not one of %s", k->section, k->name, v, k->choices);
            rc = RSA_ERR_CONFIG;
            break;
        }
        *(int *)field(cfg, k) = idx;
        break;
    }
    }
    free(copy);
    return rc;
}

static const struct key *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int known_section(const char *s)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strcmp(sections[i], s) == 0)
            return 1;
    return 0;
}

/* ===== loading ===== */

struct load_ctx {
    struct rsa_config *cfg;
    const char *base;
    char msg[512];
    enum rsa_err rc;
    FILE *f;
    int lines;      /* physical lines handed to inih so far */
    int err_line;   /* the line on_ini_pair failed on */
    int long_line;  /* the first line longer than inih's buffer (0 = none) */
    int max_line;   /* the longest line inih takes, in characters */
};

/* ini_read_line: inih's reader, counting lines. inih reads at most INI_MAX_LINE - 1 bytes
   per call and parses the rest of a longer line as a line of its own (a key, a syntax
   error, or a continuation that silently replaces the value), so a longer line stops
   the parse and is reported instead. */
static char *ini_read_line(char *str, int num, void *stream)
{
    struct load_ctx *ctx = stream;
    if (ctx->long_line || fgets(str, num, ctx->f) == NULL)
        return NULL;
    ctx->lines++;
    ctx->max_line = num - 1;
    size_t n = strlen(str);
    if (n + 1 == (size_t)num && str[n - 1] != '\n') {
        int c = fgetc(ctx->f);
        if (c == '\r')
            c = fgetc(ctx->f);
        if (c != '\n' && c != EOF) {
            ctx->long_line = ctx->lines;
            return NULL;
        }
    }
    return str;
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    if (ctx->rc != RSA_OK)
        return 0;
    ctx->err_line = ctx->lines;
    if (!known_section(section)) {
        snprintf(ctx->msg, sizeof(ctx->msg), "unknown section [%s] (known: run, rsa, sampling, backend, grading)",
                 section);
        ctx->rc = RSA_ERR_CONFIG;
        return 0;
    }
    const struct key *k = find_key(section, name);
    if (k == NULL) {
        snprintf(ctx->msg, sizeof(ctx->msg), "unknown key '%s' in [%s] (see `rsa config --keys`)", name, section);
        ctx->rc = RSA_ERR_CONFIG;
        return 0;
    }
    ctx->rc = set_value(ctx->cfg, k, value, ctx->base, ctx->msg, sizeof(ctx->msg));
    return ctx->rc == RSA_OK;
}

static enum rsa_err apply_defaults(struct rsa_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        enum rsa_err rc = set_value(cfg, &keys[i], keys[i].def, NULL, err, errlen);
        if (rc != RSA_OK)
            return rc;
    }
    return RSA_OK;
}

static char *stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    return util_strndup(b, n);
}

char *config_find_file(const char *cfg_dir, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return NULL;
    if (value[0] == '/' || util_file_exists(value))
        return util_strdup(value);
    char *p = util_resolve(cfg_dir, value);
    if (p != NULL && util_file_exists(p))
        return p;
    free(p);
    char *cfgs = util_resolve(RSA_DATADIR, "configs");
    p = cfgs ? util_resolve(cfgs, value) : NULL;
    free(cfgs);
    if (p != NULL && util_file_exists(p))
        return p;
    free(p);
    return util_strdup(value);
}

/* A template value that does not exist as written may name a file under configs/. */
static enum rsa_err resolve_template(char **slot, const char *cfg_dir)
{
    if (*slot == NULL || (*slot)[0] == '\0' || util_file_exists(*slot))
        return RSA_OK;
    char *p = config_find_file(cfg_dir, *slot);
    if (p == NULL)
        return RSA_ERR_NOMEM;
    if (!util_file_exists(p)) {
        /* found nowhere: keep the value as written, so the template loader's error names it */
        free(p);
        return RSA_OK;
    }
    free(*slot);
    *slot = p;
    return RSA_OK;
}

static enum rsa_err check_cross(struct rsa_config *cfg, char *err, size_t errlen)
{
    if (cfg->subset_sampling == SUBSET_WITHOUT_REPLACEMENT && cfg->subset > cfg->population && cfg->rounds > 0) {
        util_errf(err, errlen,
                  "rsa.subset: %d candidates cannot be drawn without replacement from a population of %d "
                  "(set rsa.subset_sampling = with_replacement or lower rsa.subset)",
                  cfg->subset, cfg->population);
        return RSA_ERR_CONFIG;
    }
    if (cfg->think_open[0] == '\0' || cfg->think_close[0] == '\0') {
        util_errf(err, errlen, "rsa.think_open/think_close: markers must not be empty");
        return RSA_ERR_CONFIG;
    }
    char **stop = NULL;
    size_t nstop = 0;
    enum rsa_err rc = config_stop_list(cfg->stop, &stop, &nstop, err, errlen);
    config_stop_free(stop);
    return rc;
}

enum rsa_err config_load(const char *path, const char *const *sets, size_t nsets, struct rsa_config *cfg,
                         char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    enum rsa_err rc = apply_defaults(cfg, err, errlen);
    if (rc != RSA_OK)
        goto fail;
    if (path != NULL) {
        cfg->path = util_strdup(path);
        cfg->dir = util_dirname(path);
        if (cfg->path == NULL || cfg->dir == NULL) {
            rc = RSA_ERR_NOMEM;
            goto fail;
        }
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            util_errf(err, errlen, "%s: %s", path, strerror(errno));
            rc = RSA_ERR_CONFIG; /* bad input: exit code 2 */
            goto fail;
        }
        struct load_ctx ctx = {.cfg = cfg, .base = cfg->dir, .rc = RSA_OK, .f = f};
        int line = ini_parse_stream(ini_read_line, &ctx, on_ini_pair, &ctx);
        fclose(f);
        /* inih goes on after a syntax error; report whichever error came first */
        if (ctx.rc != RSA_OK && line != 0 && line < ctx.err_line)
            ctx.rc = RSA_OK;
        if (ctx.long_line && (line == 0 || ctx.long_line < line) && ctx.rc == RSA_OK) {
            util_errf(err, errlen, "%s:%d: line too long (at most %d characters)", path, ctx.long_line,
                      ctx.max_line);
            rc = RSA_ERR_CONFIG;
            goto fail;
        }
        if (line != 0 || ctx.rc != RSA_OK) {
            if (ctx.rc == RSA_OK)
                util_errf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, line);
            else
                util_errf(err, errlen, "%s:%d: %s", path, ctx.err_line, ctx.msg);
            rc = ctx.rc != RSA_OK ? ctx.rc : RSA_ERR_CONFIG;
            goto fail;
        }
    } else {
        cfg->dir = util_strdup(".");
    }
    for (size_t i = 0; i < nsets; i++) {
        const char *s = sets[i];
        const char *eq = strchr(s, '=');
        const char *dot = strchr(s, '.');
        if (eq == NULL || dot == NULL || dot > eq) {
            util_errf(err, errlen, "--set %s: expected section.key=value", s);
            rc = RSA_ERR_USAGE;
            goto fail;
        }
        char section[64], name[64];
        snprintf(section, sizeof(section), "%.*s", (int)(dot - s), s);
        snprintf(name, sizeof(name), "%.*s", (int)(eq - dot - 1), dot + 1);
        const struct key *k = find_key(section, name);
        if (k == NULL) {
            util_errf(err, errlen, "--set %s: unknown key %s.%s (see `rsa config --keys`)", s, section, name);
            rc = RSA_ERR_CONFIG;
            goto fail;
        }
        char msg[512];
        rc = set_value(cfg, k, eq + 1, NULL, msg, sizeof(msg));
        if (rc != RSA_OK) {
            util_errf(err, errlen, "--set %s: %s", s, msg);
            goto fail;
        }
    }
    if (cfg->name[0] == '\0') {
        free(cfg->name);
        cfg->name = path ? stem(path) : util_strdup("default");
        if (cfg->name == NULL) {
            rc = RSA_ERR_NOMEM;
            goto fail;
        }
    }
    if (cfg->prompt_template[0] == '\0') {
        free(cfg->prompt_template);
        cfg->prompt_template =
            util_strdup(cfg->mode == MODE_PAPER ? "prompts/rsa-paper.txt" : "prompts/markovian.txt");
        if (cfg->prompt_template == NULL) {
            rc = RSA_ERR_NOMEM;
            goto fail;
        }
    }
    if ((rc = resolve_template(&cfg->prompt_template, cfg->dir)) != RSA_OK ||
        (rc = resolve_template(&cfg->initial_template, cfg->dir)) != RSA_OK ||
        (rc = resolve_template(&cfg->refine_template, cfg->dir)) != RSA_OK)
        goto fail;
    rc = check_cross(cfg, err, errlen);
    if (rc != RSA_OK)
        goto fail;
    return RSA_OK;
fail:
    config_free(cfg);
    return rc;
}

void config_free(struct rsa_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].type == KT_STRING || keys[i].type == KT_PATH) {
            char **slot = field(cfg, &keys[i]);
            free(*slot);
        }
    }
    free(cfg->path);
    free(cfg->dir);
    memset(cfg, 0, sizeof(*cfg));
}

/* ===== output ===== */

static enum rsa_err format_value(struct buf *b, const struct rsa_config *cfg, const struct key *k)
{
    char tmp[64];
    switch (k->type) {
    case KT_STRING:
    case KT_PATH:
        return buf_puts(b, *(char *const *)cfield(cfg, k));
    case KT_INT:
        if (k->offset == offsetof(struct rsa_config, seed))
            return buf_printf(b, "%lld", (long long)*(const int64_t *)cfield(cfg, k));
        return buf_printf(b, "%d", *(const int *)cfield(cfg, k));
    case KT_DOUBLE:
        return buf_printf(b, "%.17g", *(const double *)cfield(cfg, k));
    case KT_BOOL:
        return buf_puts(b, *(const int *)cfield(cfg, k) ? "true" : "false");
    case KT_ENUM:
        enum_name(k->choices, *(const int *)cfield(cfg, k), tmp, sizeof(tmp));
        return buf_puts(b, tmp);
    }
    return RSA_ERR_PARSE;
}

char *config_format(const struct rsa_config *cfg, int identity_only)
{
    struct buf b;
    buf_init(&b, 0);
    const char *cur = NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (identity_only && !k->identity)
            continue;
        if (identity_only && k->identity == 2) {
            /* keys added after runs existed: part of the identity only when set, so older runs resume */
            struct buf v;
            buf_init(&v, 0);
            enum rsa_err vrc = format_value(&v, cfg, k);
            int is_default = vrc == RSA_OK && strcmp(v.data ? v.data : "", k->def) == 0;
            buf_free(&v);
            if (vrc != RSA_OK)
                return NULL;
            if (is_default)
                continue;
        }
        if (cur == NULL || strcmp(cur, k->section) != 0) {
            if (buf_printf(&b, "%s[%s]\n", cur ? "\n" : "", k->section) != RSA_OK)
                return NULL;
            cur = k->section;
        }
        if (buf_printf(&b, "%s = ", k->name) != RSA_OK || format_value(&b, cfg, k) != RSA_OK ||
            buf_puts(&b, "\n") != RSA_OK)
            return NULL;
    }
    return buf_take(&b);
}

char *config_help(void)
{
    static const char *const tn[] = {"string", "path", "int", "number", "bool", "enum"};
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        enum rsa_err rc = buf_printf(&b, "%s.%s (%s, default \"%s\"", k->section, k->name, tn[k->type], k->def);
        if (rc == RSA_OK && (k->type == KT_INT || k->type == KT_DOUBLE))
            rc = buf_printf(&b, ", range [%g, %g]", k->min, k->max);
        if (rc == RSA_OK && k->type == KT_ENUM)
            rc = buf_printf(&b, ", one of %s", k->choices);
        if (rc == RSA_OK)
            rc = buf_printf(&b, ")%s\n    %s\n", k->identity ? " [identity]" : "", k->help);
        if (rc != RSA_OK)
            return NULL;
    }
    return buf_take(&b);
}

const char *config_chat_str(enum chat_kind c)
{
    switch (c) {
    case CHAT_ZAYA1: return "zaya1";
    case CHAT_CHATML: return "chatml";
    case CHAT_GEMMA3: return "gemma3";
    }
    return "?";
}

void config_stop_free(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        free(*p);
    free(list);
}

enum rsa_err config_stop_list(const char *stop, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const char *p = stop ? stop : "";
    while (*p == ' ' || *p == '\t')
        p++;
    cJSON *a = NULL;
    size_t cnt = 0;
    if (*p != '\0') {
        a = cJSON_ParseWithOpts(p, NULL, 1); /* nothing may follow the array */
        if (!cJSON_IsArray(a)) {
            cJSON_Delete(a);
            util_errf(err, errlen, "sampling.stop: expected a JSON array of strings, e.g. [\"</answer>\"], got %.80s", p);
            return RSA_ERR_CONFIG;
        }
        cnt = (size_t)cJSON_GetArraySize(a);
    }
    char **list = calloc(cnt + 1, sizeof(char *));
    if (list == NULL) {
        cJSON_Delete(a);
        return RSA_ERR_NOMEM;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
            util_errf(err, errlen, "sampling.stop: element %zu is not a non-empty string", i + 1);
            cJSON_Delete(a);
            config_stop_free(list);
            return RSA_ERR_CONFIG;
        }
        if ((list[i++] = util_strdup(it->valuestring)) == NULL) {
            cJSON_Delete(a);
            config_stop_free(list);
            return RSA_ERR_NOMEM;
        }
    }
    cJSON_Delete(a);
    *out = list;
    *n = cnt;
    return RSA_OK;
}

const char *config_tail_source_str(enum tail_source s)
{
    switch (s) {
    case TAIL_FULL: return "full";
    case TAIL_THINK: return "think";
    case TAIL_ANSWER_OR_THINK: return "answer_or_think";
    }
    return "?";
}

/* ===== reading values back from stored config text ===== */

struct text_get_ctx {
    const char *section, *key;
    char *value;
};

static int on_text_pair(void *user, const char *section, const char *name, const char *value)
{
    struct text_get_ctx *c = user;
    if (c->value == NULL && strcmp(section, c->section) == 0 && strcmp(name, c->key) == 0)
        c->value = util_strdup(value);
    return 1;
}

char *config_text_get(const char *ini_text, const char *section, const char *key)
{
    struct text_get_ctx c = {section, key, NULL};
    if (ini_text == NULL)
        return NULL;
    (void)ini_parse_string(ini_text, on_text_pair, &c);
    return c.value;
}
