/*
 * main.c: the `rsa` command line. Parses arguments, wires config, dataset,
 * templates, backend and store together, and maps errors to exit codes
 * (0 success, 1 runtime failure, 2 usage or bad input). Library code never prints;
 * this file does.
 */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/dataset.h"
#include "rsa/cli.h"
#include "rsa/config.h"
#include "rsa/grade.h"
#include "rsa/http.h"
#include "rsa/prompt.h"
#include "rsa/report.h"
#include "rsa/runner.h"
#include "rsa/util.h"
#include "sampler/engine_backend.h"
#include "store/store.h"

#ifndef RSA_GIT_REV
#define RSA_GIT_REV "unknown"
#endif
#define RSA_VERSION "0.1.0"
#define DEFAULT_DB "rsa.db"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rsa <command> [options]\n"
            "\n"
            "  rsa run CONFIG [--db PATH] [--set section.key=value]... [--quiet]\n"
            "      run (or resume) the run named run.name; safe to kill at any instant\n"
            "  rsa config CONFIG [--set section.key=value]...   print the effective config\n"
            "  rsa config --keys                                 list every key with type, default and range\n"
            "  rsa sweep CONFIG --grid section.key=v1,v2,... [--grid ...] [--db PATH] [--set ...]\n"
            "      create and run every grid point as a named run (run.name-key=value...) in one database\n"
            "  rsa report --db PATH [--run NAME] [--baseline NAME] [--format text|json|csv|svg|html] [--out FILE]\n"
            "      metrics per round with bootstrap CIs; --baseline: budget-matched comparison with a T=0 run\n"
            "  rsa compare --db PATH --runs A,B,... [--baseline NAME] [--format ...] [--out FILE]\n"
            "      several runs side by side (e.g. an aggregation-depth ablation) in one table and plot;\n"
            "      --baseline compares the deepest of them with a T=0 run at matched decode tokens\n"
            "  rsa grade --gold ANSWER --response-file FILE|- [--no-strict] [--after-think]\n"
            "  rsa grade --jsonl FILE|-     lines {\"gold\", \"response\"} -> {\"extracted\", \"correct\", ...}\n"
            "  rsa regrade --db PATH --run NAME   recompute a run's verdicts with this grader\n"
            "  rsa export --db PATH --run NAME [--out FILE]     one JSON object per trace\n"
            "  rsa tokenize --tokenizer PATH/tokenizer.json [--decode] [--skip-special]\n"
            "      JSONL strings in -> {\"ids\": [...]} per line (--decode: arrays of ids -> {\"text\": ...})\n"
            "  rsa generate --model DIR --prompt-ids ID,ID,... [--max-tokens N] [--greedy | --temperature T --seed S]\n"
            "      [--threads n] [--cache-mb M] [--ignore-eos] [--device cpu|cuda]   run the in-process ZAYA1 engine;\n"
            "      prints token ids\n"
            "  rsa bench engine --model DIR [--batch B] [--prompt-len P] [--gen-len G] [--threads n]\n"
            "      [--batch-invariant] [--device cpu|cuda] [--json]   prefill and decode tokens/s, weight traffic vs\n"
            "      measured bandwidth\n"
            "  rsa bench tokenizer --tokenizer PATH --text FILE [--repeat N] [--json]   encode MB/s, one thread\n"
            "  rsa model init --shape zaya1-8b|zaya1-mid|zaya1-tiny|config.json --random --seed S --out DIR\n"
            "      [--dtype bf16|fp16|fp32] [--shard-mb N] [--force]   write a random-weight checkpoint\n"
            "  rsa version\n"
            "\n"
            "exit codes: 0 success, 1 runtime failure, 2 usage or bad input\n");
}


/* ===== rsa config ===== */


static int parse_args(int argc, char **argv, struct cli_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->strict = -1;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(field)                                                            \
    do {                                                                       \
        if (val == NULL) {                                                     \
            util_errf(err, errlen, "%s needs a value", s);                     \
            return -1;                                                         \
        }                                                                      \
        a->field = val;                                                        \
        i++;                                                                   \
    } while (0)
        if (strcmp(s, "--db") == 0)
            TAKE(db);
        else if (strcmp(s, "--run") == 0)
            TAKE(run);
        else if (strcmp(s, "--format") == 0)
            TAKE(format);
        else if (strcmp(s, "--out") == 0)
            TAKE(out);
        else if (strcmp(s, "--runs") == 0)
            TAKE(runs);
        else if (strcmp(s, "--baseline") == 0)
            TAKE(baseline);
        else if (strcmp(s, "--gold") == 0)
            TAKE(gold);
        else if (strcmp(s, "--response-file") == 0)
            TAKE(response_file);
        else if (strcmp(s, "--jsonl") == 0)
            TAKE(jsonl);
        else if (strcmp(s, "--strict") == 0)
            a->strict = 1;
        else if (strcmp(s, "--no-strict") == 0)
            a->strict = 0;
        else if (strcmp(s, "--after-think") == 0)
            a->after_think = 1;
        else if (strcmp(s, "--grid") == 0) {
            if (val == NULL) {
                util_errf(err, errlen, "--grid needs section.key=v1,v2,...");
                return -1;
            }
            if (a->ngrid == CLI_MAX_GRID) {
                util_errf(err, errlen, "too many --grid options (at most %d)", CLI_MAX_GRID);
                return -1;
            }
            a->grid[a->ngrid++] = val;
            i++;
        }
        else if (strcmp(s, "--set") == 0) {
            if (val == NULL) {
                util_errf(err, errlen, "--set needs section.key=value");
                return -1;
            }
            if (a->nsets == CLI_MAX_SETS) {
                util_errf(err, errlen, "too many --set options (at most %d)", CLI_MAX_SETS);
                return -1;
            }
            a->sets[a->nsets++] = val;
            i++;
        } else if (strncmp(s, "--set=", 6) == 0 && a->nsets < CLI_MAX_SETS) {
            a->sets[a->nsets++] = s + 6;
        } else if (strcmp(s, "--keys") == 0) {
            a->keys = 1;
        } else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1] != '\0') {
            util_errf(err, errlen, "unknown option %s", s);
            return -1;
        } else if (a->config == NULL) {
            a->config = s;
        } else {
            util_errf(err, errlen, "unexpected argument %s", s);
            return -1;
        }
#undef TAKE
    }
    return 0;
}

static int cmd_config(struct cli_args *a)
{
    char err[1024] = "";
    if (a->keys) {
        char *h = config_help();
        if (h == NULL)
            return cli_fail(RSA_ERR_NOMEM, NULL);
        fputs(h, stdout);
        free(h);
        return 0;
    }
    if (a->config == NULL) {
        usage(stderr);
        return 2;
    }
    struct rsa_config cfg;
    enum rsa_err rc = config_load(a->config, a->sets, a->nsets, &cfg, err, sizeof(err));
    if (rc != RSA_OK)
        return cli_fail(rc, err);
    char *txt = config_format(&cfg, 0);
    config_free(&cfg);
    if (txt == NULL)
        return cli_fail(RSA_ERR_NOMEM, NULL);
    fputs(txt, stdout);
    free(txt);
    return 0;
}

/* ===== rsa run ===== */

static void on_signal(int sig)
{
    static volatile sig_atomic_t count;
    (void)sig;
    if (++count > 1)
        _exit(130);
    runner_request_stop();
    static const char msg[] = "\nrsa: stopping: finishing requests in flight (Ctrl-C again to quit at once; "
                              "rerun the same command to resume)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
}

/* split_urls: comma/space separated list -> array of malloc'd strings. */
static char **split_urls(const char *s, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',' || *p == ' ';
    char **out = calloc(cap, sizeof(char *));
    *n = 0;
    if (out == NULL)
        return NULL;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if (e > p)
            out[(*n)++] = util_strndup(p, (size_t)(e - p));
        p = e;
    }
    return out;
}

/* identity: the text that decides whether a stored run may be resumed. */
static char *make_identity(const struct rsa_config *cfg, const struct dataset *ds,
                           const struct prompt_template *tpl[3], const char *tail_method)
{
    char *keys = config_format(cfg, 1);
    if (keys == NULL)
        return NULL;
    struct buf pb;
    buf_init(&pb, 0);
    enum rsa_err rc = RSA_OK;
    for (size_t i = 0; i < ds->n && rc == RSA_OK; i++) {
        rc = buf_puts(&pb, ds->items[i].id);
        if (rc == RSA_OK)
            rc = buf_append(&pb, "\0", 1);
        if (rc == RSA_OK)
            rc = buf_puts(&pb, ds->items[i].text);
        if (rc == RSA_OK)
            rc = buf_append(&pb, "\0", 1);
        if (rc == RSA_OK)
            rc = buf_puts(&pb, ds->items[i].answer);
        if (rc == RSA_OK)
            rc = buf_append(&pb, "\0", 1);
    }
    char probs[65] = "";
    if (rc == RSA_OK)
        rc = util_sha256_hex(pb.data ? pb.data : "", pb.len, probs);
    buf_free(&pb);
    struct buf b;
    buf_init(&b, 0);
    if (rc == RSA_OK)
        rc = buf_printf(&b,
                        "%s\n[content]\nproblems_sha256 = %s\ninitial_template_sha256 = %s\n"
                        "aggregate_template_sha256 = %s\nrefine_template_sha256 = %s\ntail_method = %s\n",
                        keys, probs, tpl[0]->sha256, tpl[1]->sha256, tpl[2]->sha256, tail_method);
    free(keys);
    if (rc != RSA_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* print the lines that differ between two identity texts */
static void print_identity_diff(const char *old, const char *new_)
{
    const char *texts[2] = {old, new_};
    const char *tags[2] = {"stored", "now"};
    for (int k = 0; k < 2; k++) {
        const char *p = texts[k];
        while (*p) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            const char *other = texts[1 - k];
            int found = 0;
            for (const char *q = other; *q;) {
                const char *qe = strchr(q, '\n');
                size_t qn = qe ? (size_t)(qe - q) : strlen(q);
                if (qn == n && strncmp(p, q, n) == 0) {
                    found = 1;
                    break;
                }
                q = qe ? qe + 1 : q + qn;
            }
            if (!found && n > 0 && p[0] != '[')
                fprintf(stderr, "  %-6s %.*s\n", tags[k], (int)n, p);
            p = e ? e + 1 : p + n;
        }
    }
}

static char *make_manifest(const struct rsa_config *cfg, const struct dataset *ds,
                           const struct prompt_template *tpl[3], const char *tail_method, const char *backend_desc)
{
    cJSON *m = cJSON_CreateObject();
    if (m == NULL)
        return NULL;
    cJSON_AddStringToObject(m, "tool", "rsa " RSA_VERSION);
    cJSON_AddStringToObject(m, "git_rev", RSA_GIT_REV);
    cJSON_AddStringToObject(m, "dataset", cfg->dataset);
    cJSON_AddStringToObject(m, "dataset_sha256", ds->sha256);
    cJSON_AddNumberToObject(m, "problems", (double)ds->n);
    const char *names[3] = {"initial", "aggregate", "refine"};
    cJSON *t = cJSON_AddObjectToObject(m, "templates");
    for (int i = 0; i < 3 && t; i++) {
        cJSON *x = cJSON_AddObjectToObject(t, names[i]);
        if (x) {
            cJSON_AddStringToObject(x, "path", tpl[i]->path);
            cJSON_AddStringToObject(x, "sha256", tpl[i]->sha256);
        }
    }
    cJSON_AddStringToObject(m, "tail_method", tail_method);
    cJSON_AddStringToObject(m, "tail_source", config_tail_source_str(cfg->tail_source));
    cJSON_AddStringToObject(m, "api", cfg->api == API_CHAT ? "chat" : "completions");
    cJSON_AddStringToObject(m, "system_prompt", cfg->system_prompt);
    cJSON_AddStringToObject(m, "backend", backend_desc);
    if (cfg->kind == BACKEND_ENGINE) {
        cJSON_AddStringToObject(m, "chat_template", config_chat_str(cfg->chat_template));
        cJSON_AddBoolToObject(m, "enable_thinking", cfg->enable_thinking);
    }
    cJSON_AddNumberToObject(m, "T_agg", cfg->rounds);
    cJSON_AddNumberToObject(m, "T_steps", cfg->rounds + 1);
    cJSON_AddStringToObject(m, "grader", GRADE_NAME "/" GRADE_VERSION);
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return s;
}

/* open_http_backend: the OpenAI-compatible client over cfg's URLs (*urls owned by the caller). */
static enum rsa_err open_http_backend(const struct rsa_config *cfg, char ***urls, size_t *n_urls, struct backend **out,
                                      char *err, size_t errlen)
{
    *urls = split_urls(cfg->url, n_urls);
    if (*urls == NULL || *n_urls == 0) {
        util_errf(err, errlen, "backend.url: no URL given");
        return RSA_ERR_CONFIG;
    }
    const char *api_key = NULL;
    if (cfg->api_key_env[0] != '\0') {
        api_key = getenv(cfg->api_key_env);
        if (api_key == NULL || api_key[0] == '\0') {
            util_errf(err, errlen, "backend.api_key_env: the environment variable %s is not set", cfg->api_key_env);
            return RSA_ERR_CONFIG;
        }
    }
    struct http_config hc = {
        .urls = (const char *const *)*urls,
        .n_urls = *n_urls,
        .model = cfg->model,
        .api_key = api_key,
        .api = cfg->api == API_CHAT ? HTTP_API_CHAT : HTTP_API_COMPLETIONS,
        .stream = cfg->stream,
        .concurrency = cfg->concurrency,
        .timeout_s = cfg->timeout_s,
        .connect_timeout_s = cfg->connect_timeout_s,
        .retries = cfg->retries,
        .backoff_base_s = cfg->backoff_s,
        .backoff_max_s = 60,
        .think_open = cfg->think_open,
        .think_close = cfg->think_close,
        .jitter_seed = (uint64_t)cfg->seed ^ (uint64_t)getpid(),
    };
    return http_open(&hc, out, err, errlen);
}

/* open_engine_backend: the in-process engine on backend.model (a directory: as given when it
 * exists from the current directory, else relative to the config file). */
static enum rsa_err open_engine_backend(const struct rsa_config *cfg, struct backend **out, char *err, size_t errlen)
{
    char *dir = NULL;
    struct stat st;
    if (cfg->model[0] == '\0') {
        util_errf(err, errlen, "backend.model: set it to a model directory for backend.kind = engine "
                               "(`make` builds the quickstart model into build/models/quickstart)");
        return RSA_ERR_CONFIG;
    }
    if (stat(cfg->model, &st) == 0 || cfg->model[0] == '/' || cfg->dir == NULL)
        dir = util_strdup(cfg->model);
    else
        dir = util_resolve(cfg->dir, cfg->model);
    if (dir == NULL)
        return RSA_ERR_NOMEM;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        util_errf(err, errlen, "backend.model: %s is not a directory%s", dir,
                  strstr(dir, "models/quickstart") ? " (run `make` to build the quickstart model)" : "");
        free(dir);
        return RSA_ERR_CONFIG;
    }
    struct engine_backend_opts eo = {
        .model_dir = dir,
        .tokenizer = cfg->tokenizer,
        .chat = config_chat_str(cfg->chat_template),
        .think_open = cfg->think_open,
        .think_close = cfg->think_close,
        .enable_thinking = cfg->enable_thinking,
        .device = cfg->device == DEVICE_CUDA,
        .threads = cfg->threads,
        .isa = cfg->isa,
        .memory_gb = cfg->memory_gb,
        .max_concurrent = cfg->concurrency,
        .max_tokens = cfg->max_tokens,
    };
    enum rsa_err rc = engine_backend_open(&eo, out, err, errlen);
    free(dir);
    return rc;
}

static int cmd_run(struct cli_args *a)
{
    char err[2048] = "";
    if (a->config == NULL) {
        usage(stderr);
        return 2;
    }
    const char *db_path = a->db ? a->db : DEFAULT_DB;
    struct rsa_config cfg;
    struct dataset ds = {0};
    struct prompt_template tpl_init = {0}, tpl_agg = {0}, tpl_ref = {0};
    struct backend *backend = NULL, *tail_tokenizer = NULL;
    struct store *store = NULL;
    char **urls = NULL, **stop = NULL;
    size_t n_urls = 0, n_stop = 0;
    char *identity = NULL, *manifest = NULL, *cfg_text = NULL;
    struct store_run_info info = {0};
    int status = 0;
    enum rsa_err rc = config_load(a->config, a->sets, a->nsets, &cfg, err, sizeof(err));
    if (rc != RSA_OK)
        return cli_fail(rc, err);

    if (cfg.dataset[0] == '\0') {
        status = cli_fail(RSA_ERR_CONFIG, "run.dataset is required (a JSONL file of problems)");
        goto out;
    }
    {
        char *found = config_find_file(cfg.dir, cfg.dataset);
        if (found != NULL) {
            free(cfg.dataset);
            cfg.dataset = found;
        }
    }
    if ((rc = dataset_load(cfg.dataset, &ds, err, sizeof(err))) != RSA_OK ||
        (rc = dataset_filter(&ds, cfg.problems, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    if ((rc = prompt_template_load(cfg.initial_template, &tpl_init, err, sizeof(err))) != RSA_OK ||
        (rc = prompt_template_load(cfg.prompt_template, &tpl_agg, err, sizeof(err))) != RSA_OK ||
        (rc = prompt_template_load(cfg.refine_template, &tpl_ref, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc == RSA_ERR_IO ? RSA_ERR_CONFIG : rc, err);
        goto out;
    }

    /* the backend, and how tails are cut */
    enum tail_method method;
    char tail_method[64];
    int workers = cfg.concurrency;
    if (cfg.kind == BACKEND_ENGINE) {
        if ((rc = open_engine_backend(&cfg, &backend, err, sizeof(err))) != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
    } else {
        if ((rc = open_http_backend(&cfg, &urls, &n_urls, &backend, err, sizeof(err))) != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
        workers = cfg.concurrency * (int)n_urls;
    }
    if (cfg.tail_approx == TAIL_APPROX_CHARS && cfg.tail_tokens > 0) {
        method = TAIL_METHOD_CHARS;
        snprintf(tail_method, sizeof(tail_method), "chars:%g", cfg.chars_per_token);
    } else if (cfg.kind == BACKEND_ENGINE && engine_backend_exact_tails(backend)) {
        /* the engine returns the ids it generated: tails are cut on them, never re-tokenised */
        method = TAIL_METHOD_IDS;
        snprintf(tail_method, sizeof(tail_method), "%s", cfg.tail_tokens == 0 ? "whole:ids" : "tokens:ids");
    } else if (cfg.kind == BACKEND_ENGINE && cfg.tail_tokens > 0) {
        method = TAIL_METHOD_TOKENS; /* a decoder that is not suffix-stable: re-tokenise, as with a server */
        snprintf(tail_method, sizeof(tail_method), "tokens:engine-retokenized");
    } else if (cfg.tail_tokens == 0) {
        method = TAIL_METHOD_WHOLE;
        snprintf(tail_method, sizeof(tail_method), "whole");
    } else if (cfg.tokenizer[0] != '\0') {
        if ((rc = tokenizer_backend_open(cfg.tokenizer, &tail_tokenizer, err, sizeof(err))) != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
        method = TAIL_METHOD_TOKENS;
        snprintf(tail_method, sizeof(tail_method), "tokens:local");
    } else {
        char perr[1024] = "";
        if (!http_probe_tokenize(backend, perr, sizeof(perr))) {
            snprintf(err, sizeof(err),
                     "rsa.tail_tokens = %d needs token-exact tails, but the server's /tokenize and /detokenize "
                     "are not usable (%s). Serve with vLLM/SGLang (which have them), set backend.tokenizer to "
                     "the model's tokenizer.json, or set rsa.tail_approx = chars to cut tails by characters "
                     "(recorded in the run as an approximation)",
                     cfg.tail_tokens, perr);
            status = cli_fail(RSA_ERR_UNSUPPORTED, err);
            goto out;
        }
        method = TAIL_METHOD_TOKENS;
        snprintf(tail_method, sizeof(tail_method), "tokens:server");
    }
    if ((rc = config_stop_list(cfg.stop, &stop, &n_stop, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }

    /* the store: create or resume */
    const struct prompt_template *tpls[3] = {&tpl_init, &tpl_agg, &tpl_ref};
    identity = make_identity(&cfg, &ds, tpls, tail_method);
    manifest = make_manifest(&cfg, &ds, tpls, tail_method, backend->ops->describe(backend));
    cfg_text = config_format(&cfg, 0);
    char id_hash[65];
    if (identity == NULL || manifest == NULL || cfg_text == NULL ||
        util_sha256_hex(identity, strlen(identity), id_hash) != RSA_OK) {
        status = cli_fail(RSA_ERR_NOMEM, NULL);
        goto out;
    }
    if ((rc = store_open(db_path, &store, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    int found = 0;
    int64_t run_id = 0;
    if ((rc = store_find_run(store, cfg.name, &found, &info, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    if (found) {
        if (strcmp(info.identity_hash, id_hash) != 0) {
            fprintf(stderr,
                    "rsa: run \"%s\" already exists in %s with a different configuration; refusing to mix them.\n"
                    "     Differences (stored vs now):\n",
                    cfg.name, db_path);
            print_identity_diff(info.identity, identity);
            fprintf(stderr, "     Use another run.name (e.g. --set run.name=%s-2) or another --db.\n", cfg.name);
            status = rsa_err_exit_code(RSA_ERR_CONFLICT);
            goto out;
        }
        run_id = info.id;
        if (strcmp(info.status, "complete") == 0) {
            if (!a->quiet)
                fprintf(stderr, "rsa: run \"%s\" is already complete in %s\n", cfg.name, db_path);
        } else if (!a->quiet) {
            fprintf(stderr, "rsa: resuming run \"%s\" in %s\n", cfg.name, db_path);
        }
        if ((rc = store_set_run_status(store, run_id, "running", err, sizeof(err))) != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
    } else {
        struct store_run run = {
            .name = cfg.name,
            .config = cfg_text,
            .identity = identity,
            .identity_hash = id_hash,
            .git_rev = RSA_GIT_REV,
            .status = "running",
            .tail_method = tail_method,
            .backend = backend->ops->describe(backend),
            .manifest = manifest,
            .seed = cfg.seed,
            .population = cfg.population,
            .subset = cfg.subset,
            .rounds = cfg.rounds,
            .tail_tokens = cfg.tail_tokens,
            .max_tokens = cfg.max_tokens,
            .repeats = cfg.repeats,
        };
        if ((rc = store_create_run(store, &run, &run_id, err, sizeof(err))) != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
        struct store_problem *sp = calloc(ds.n, sizeof(*sp));
        if (sp == NULL) {
            status = cli_fail(RSA_ERR_NOMEM, NULL);
            goto out;
        }
        for (size_t i = 0; i < ds.n; i++)
            sp[i] = (struct store_problem){(int)i, ds.items[i].id, ds.items[i].text, ds.items[i].answer};
        rc = store_put_problems(store, run_id, sp, ds.n, err, sizeof(err));
        free(sp);
        if (rc != RSA_OK) {
            status = cli_fail(rc, err);
            goto out;
        }
        if (!a->quiet)
            fprintf(stderr,
                    "rsa: run \"%s\": %zu problems x %d repeats, N=%d C=%d T_agg=%d (stages %d), tau=%d, beta=%d, "
                    "tails %s, %s -> %s\n",
                    cfg.name, ds.n, cfg.repeats, cfg.population, cfg.subset, cfg.rounds, cfg.rounds + 1,
                    cfg.tail_tokens, cfg.max_tokens, tail_method, backend->ops->describe(backend), db_path);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct runner_params rp = {
        .cfg = &cfg,
        .ds = &ds,
        .backend = backend,
        .store = store,
        .run_id = run_id,
        .initial = &tpl_init,
        .aggregate = &tpl_agg,
        .refine = &tpl_ref,
        .tail_method = method,
        .tail_tokenizer = tail_tokenizer,
        .progress = !a->quiet,
        .workers = workers,
        .stop = (const char *const *)stop,
        .n_stop = n_stop,
    };
    rc = runner_run(&rp, err, sizeof(err));
    char err2[512];
    if (rc != RSA_OK) {
        store_set_run_status(store, run_id, "incomplete", err2, sizeof(err2));
        status = cli_fail(rc, err);
        if (rc != RSA_ERR_INTERRUPTED)
            fprintf(stderr, "rsa: every finished trace is stored; rerun the same command to resume\n");
        else
            status = 130;
        goto out;
    }
    if ((rc = store_set_run_status(store, run_id, "complete", err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    if ((rc = report_write(store, cfg.name, REPORT_TEXT, stdout, err, sizeof(err))) != RSA_OK)
        status = cli_fail(rc, err);
out:
    for (size_t i = 0; urls != NULL && i < n_urls; i++)
        free(urls[i]);
    free(urls);
    free(identity);
    free(manifest);
    free(cfg_text);
    store_run_info_free(&info);
    store_close(store);
    backend_close(backend);
    backend_close(tail_tokenizer);
    config_stop_free(stop);
    prompt_template_free(&tpl_init);
    prompt_template_free(&tpl_agg);
    prompt_template_free(&tpl_ref);
    dataset_free(&ds);
    config_free(&cfg);
    return status;
}

/* ===== rsa sweep ===== */

/* one --grid option, split: key "section.key" and its values */
struct grid_axis {
    char *spec;            /* owned copy, cut in place */
    const char *key;       /* "section.key" */
    const char *short_key; /* "key" (for run names) */
    const char *values[64];
    int n;
};

static int cmd_sweep(struct cli_args *a)
{
    char err[1024] = "";
    if (a->config == NULL || a->ngrid == 0)
        return cli_fail(RSA_ERR_USAGE, "sweep needs CONFIG and at least one --grid section.key=v1,v2,...");
    struct grid_axis ax[CLI_MAX_GRID];
    memset(ax, 0, sizeof(ax));
    int status = 0;
    long points = 1;
    for (size_t g = 0; g < a->ngrid; g++) {
        ax[g].spec = util_strdup(a->grid[g]);
        if (ax[g].spec == NULL) {
            status = cli_fail(RSA_ERR_NOMEM, NULL);
            goto out;
        }
        char *eq = strchr(ax[g].spec, '=');
        char *dot = strchr(ax[g].spec, '.');
        if (eq == NULL || dot == NULL || dot > eq || eq[1] == '\0') {
            snprintf(err, sizeof(err), "--grid %s: expected section.key=v1,v2,...", a->grid[g]);
            status = cli_fail(RSA_ERR_USAGE, err);
            goto out;
        }
        *eq = '\0';
        ax[g].key = ax[g].spec;
        ax[g].short_key = dot + 1;
        if (strcmp(ax[g].key, "run.name") == 0) {
            status = cli_fail(RSA_ERR_USAGE, "--grid run.name: run names are made by the sweep");
            goto out;
        }
        size_t vl = strlen(eq + 1);
        if (strstr(eq + 1, ",,") != NULL || eq[1] == ',' || eq[vl] == ',') {
            snprintf(err, sizeof(err), "--grid %s: an empty value", a->grid[g]);
            status = cli_fail(RSA_ERR_USAGE, err);
            goto out;
        }
        for (char *save = NULL, *v = strtok_r(eq + 1, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
            if (ax[g].n == 64) {
                snprintf(err, sizeof(err), "--grid %s: at most 64 values", ax[g].key);
                status = cli_fail(RSA_ERR_USAGE, err);
                goto out;
            }
            ax[g].values[ax[g].n++] = v;
        }
        if (ax[g].n == 0) {
            snprintf(err, sizeof(err), "--grid %s: no values", ax[g].key);
            status = cli_fail(RSA_ERR_USAGE, err);
            goto out;
        }
        points *= ax[g].n;
        if (points > 4096) {
            status = cli_fail(RSA_ERR_USAGE, "--grid: more than 4096 grid points");
            goto out;
        }
    }
    if (a->nsets + a->ngrid + 1 > CLI_MAX_SETS) {
        status = cli_fail(RSA_ERR_USAGE, "too many --set and --grid options");
        goto out;
    }
    /* the base name, and every grid point checked before anything runs */
    struct rsa_config cfg;
    enum rsa_err rc = config_load(a->config, a->sets, a->nsets, &cfg, err, sizeof(err));
    if (rc != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    char base[256];
    snprintf(base, sizeof(base), "%s", cfg.name);
    config_free(&cfg);
    struct buf names;
    buf_init(&names, 0);
    char sets_buf[CLI_MAX_GRID + 1][600];
    for (int pass = 0; pass < 2 && status == 0; pass++) {
        for (long p = 0; p < points && status == 0; p++) {
            struct cli_args pa = *a;
            char name[512];
            int len = snprintf(name, sizeof(name), "%s", base);
            long rest = p;
            for (int g = (int)a->ngrid - 1; g >= 0; g--) {
                const char *v = ax[g].values[rest % ax[g].n];
                rest /= ax[g].n;
                snprintf(sets_buf[g], sizeof(sets_buf[g]), "%s=%s", ax[g].key, v);
            }
            for (size_t g = 0; g < a->ngrid; g++) {
                const char *v = strchr(sets_buf[g], '=') + 1;
                if (len < (int)sizeof(name))
                    len += snprintf(name + len, sizeof(name) - (size_t)len, "-%s=%s", ax[g].short_key, v);
                pa.sets[pa.nsets++] = sets_buf[g];
            }
            if (len >= (int)sizeof(name) - 8) {
                status = cli_fail(RSA_ERR_USAGE, "--grid: run name too long");
                break;
            }
            snprintf(sets_buf[CLI_MAX_GRID], sizeof(sets_buf[CLI_MAX_GRID]), "run.name=%s", name);
            pa.sets[pa.nsets++] = sets_buf[CLI_MAX_GRID];
            if (pass == 0) {
                /* validate: the config of every point must load */
                if ((rc = config_load(a->config, pa.sets, pa.nsets, &cfg, err, sizeof(err))) != RSA_OK) {
                    char msg[1700];
                    snprintf(msg, sizeof(msg), "grid point %s: %s", name, err);
                    status = cli_fail(rc, msg);
                    break;
                }
                config_free(&cfg);
                if (buf_printf(&names, "%s%s", p ? "," : "", name) != RSA_OK) {
                    status = cli_fail(RSA_ERR_NOMEM, NULL);
                    break;
                }
                continue;
            }
            if (!a->quiet)
                fprintf(stderr, "rsa: sweep point %ld/%ld: %s\n", p + 1, points, name);
            status = cmd_run(&pa);
        }
    }
    if (status == 0) {
        struct cli_args ca = *a;
        ca.config = NULL;
        ca.db = a->db ? a->db : DEFAULT_DB;
        ca.runs = names.data;
        ca.format = NULL;
        ca.out = NULL;
        printf("\n== sweep: %ld runs in %s ==\n", points, ca.db);
        status = cli_compare(&ca);
        if (status == 0 && !a->quiet)
            fprintf(stderr, "rsa: compare again with: rsa compare --db %s --runs %s [--format html --out FILE]\n",
                    ca.db, names.data);
    }
    buf_free(&names);
out:
    for (size_t g = 0; g < a->ngrid; g++)
        free(ax[g].spec);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("rsa %s (%s)\n", RSA_VERSION, RSA_GIT_REV);
        return 0;
    }
    if (strcmp(cmd, "tokenize") == 0)
        return cli_tokenize(argc - 1, argv + 1);
    if (strcmp(cmd, "generate") == 0)
        return cli_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "model") == 0)
        return cli_model(argc - 1, argv + 1);
    struct cli_args a;
    char err[512] = "";
    if (parse_args(argc - 2, argv + 2, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "rsa %s: %s\n", cmd, err);
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(&a);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(&a);
    if (strcmp(cmd, "sweep") == 0)
        return cmd_sweep(&a);
    if (strcmp(cmd, "report") == 0)
        return cli_report(&a, 0);
    if (strcmp(cmd, "export") == 0)
        return cli_report(&a, 1);
    if (strcmp(cmd, "compare") == 0)
        return cli_compare(&a);
    if (strcmp(cmd, "grade") == 0)
        return cli_grade(&a);
    if (strcmp(cmd, "regrade") == 0)
        return cli_regrade(&a);
    fprintf(stderr, "rsa: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
