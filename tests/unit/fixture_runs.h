/*
 * fixture_runs.h: the hand-computed runs shared by test_analysis.c and test_report.c:
 * rows of traces with their verdicts (struct row) for the RSA run "rsa" and the plain-
 * sampling baseline "base" (the comments derive every expected metric by hand), and the
 * helpers that store such rows in a real SQLite run.
 */
#ifndef RSA_FIXTURE_RUNS_H
#define RSA_FIXTURE_RUNS_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define assert_near(a, b) assert_near_at((a), (b), __FILE__, __LINE__)
static void assert_near_at(double a, double b, const char *file, int line)
{
    double d = a > b ? a - b : b - a;
    if (!(d <= 1e-12))
        fail_msg("%s:%d: %.17g != %.17g", file, line, a, b);
}

struct row {
    int problem, repeat, round, slot;
    const char *answer;     /* NULL = none extracted */
    int correct;            /* 1, 0, -1 ungraded */
    const char *status;     /* verdict status */
    int completion, prompt; /* -1 unknown */
    const char *finish;
    int think_closed;
};

/* ===== run "rsa": N = 3, 2 problems x 2 repeats x 2 rounds =====
 *
 * problem 0 "prob-A" (gold 5)                          mean  pass@1,2,3      maj@1,2,3
 *   rep 0 round 0: 5+ 7 7        clusters 5:{0} 7:{1,2}  1/3   1/3 2/3 1     1/3 2/3 0
 *         (k=2: {0,1} {0,2} are ties won by 5 (slot 0); {1,2} is 7)
 *   rep 1 round 0: 5+ 5+ 9       clusters 5:{0,1} 9:{2}  2/3   2/3 1 1       2/3 1 1
 *   rep 0 round 1: 5+ 5+ 5+                              1     1 1 1         1 1 1
 *   rep 1 round 1: 7 5+ 7        clusters 7:{0,2} 5:{1}  1/3   1/3 2/3 1     1/3 1/3 0
 *         (k=2: {0,1} tie won by 7 (slot 0), {0,2} 7, {1,2} tie won by 5 (slot 1))
 *   -> round 0: mean 1/2, pass 1/2 5/6 1, maj 1/2 5/6 1/2; round 1: mean 2/3, pass 2/3 5/6 1, maj 2/3 2/3 1/2
 * problem 1 "prob-B" (gold 10)
 *   rep 0 round 0: - 3 x^        (- no answer, x^ unparseable)  0  0 0 0  0 0 0
 *   rep 1 round 0: 10+ - 3       clusters 10:{0} 3:{2}   1/3   1/3 2/3 1     1/3 2/3 1
 *         (k=1: {1} has no votes; k=2: {0,1} 10, {0,2} tie won by 10, {1,2} 3; k=3: tie won by 10)
 *   rep 0 round 1: 10+ 10+ 3                              2/3   2/3 1 1       2/3 1 1
 *   rep 1 round 1: 10+ 3 3(ungraded: does not vote)       1/3   1/3 2/3 1     1/3 2/3 1
 *         (were the ungraded 3 a vote, 3 would win k=3 and {1,2}; as it is, k=3 is a 10-3 tie won by 10)
 *   -> round 0: mean 1/6, pass 1/6 1/3 1/2, maj 1/6 1/3 1/2; round 1: mean 1/2, pass 1/2 5/6 1, maj 1/2 5/6 1
 * per round (mean over the two problems):
 *   round 0: mean_acc 1/3,  pass@k 1/3 7/12 3/4, maj@k 1/3 7/12 1/2
 *   round 1: mean_acc 7/12, pass@k 7/12 5/6 1,   maj@k 7/12 3/4 3/4
 * tokens (completion): round 0: A 100 200 300 | 110 120 ? ; B 1000 1000 1000 | 500 600 700 -> 5630
 *                      round 1: A 50 50 50 | 60 60 60 ; B 400 400 400 | 300 300 ? -> 2130
 * prompt tokens: 10 each in round 0 (one unknown: 110), 100 each in round 1 (1200).
 */
static const struct row rsa_rows[] = {
    {0, 0, 0, 0, "5", 1, "correct", 100, 10, "stop", 1},
    {0, 0, 0, 1, "7", 0, "wrong", 200, 10, "stop", 1},
    {0, 0, 0, 2, "7", 0, "wrong", 300, 10, "length", 0},
    {0, 1, 0, 0, "5", 1, "correct", 110, 10, "stop", 1},
    {0, 1, 0, 1, "5", 1, "correct", 120, 10, "stop", 1},
    {0, 1, 0, 2, "9", 0, "wrong", -1, 10, "stop", 1},
    {1, 0, 0, 0, NULL, 0, "no_answer", 1000, 10, "length", 0},
    {1, 0, 0, 1, "3", 0, "wrong", 1000, 10, "stop", 1},
    {1, 0, 0, 2, "x^", 0, "unparseable", 1000, 10, "stop", 1},
    {1, 1, 0, 0, "10", 1, "correct", 500, -1, "stop", 1},
    {1, 1, 0, 1, NULL, 0, "no_answer", 600, 10, "stop", 1},
    {1, 1, 0, 2, "3", 0, "wrong", 700, 10, "stop", 1},
    {0, 0, 1, 0, "5", 1, "correct", 50, 100, "stop", 1},
    {0, 0, 1, 1, "5", 1, "correct", 50, 100, "stop", 1},
    {0, 0, 1, 2, "5", 1, "correct", 50, 100, "stop", 1},
    {0, 1, 1, 0, "7", 0, "wrong", 60, 100, "stop", 1},
    {0, 1, 1, 1, "5", 1, "correct", 60, 100, "stop", 1},
    {0, 1, 1, 2, "7", 0, "wrong", 60, 100, "stop", 1},
    {1, 0, 1, 0, "10", 1, "correct", 400, 100, "stop", 1},
    {1, 0, 1, 1, "10", 1, "correct", 400, 100, "stop", 1},
    {1, 0, 1, 2, "3", 0, "wrong", 400, 100, "stop", 1},
    {1, 1, 1, 0, "10", 1, "correct", 300, 100, "stop", 1},
    {1, 1, 1, 1, "3", 0, "wrong", 300, 100, "stop", 1},
    {1, 1, 1, 2, "3", -1, NULL, -1, 100, NULL, 1},
};

/* ===== run "base": plain sampling (rounds 0), N = 4, 1 repeat, problems stored as C, B, A =====
 *   prob-A (idx 2): 5+ 7 7 5+   c = 2: pass@k 1/2 5/6 1 1; maj@k 1/2 1/2 1/2 1
 *         (k=2: {0,1} {0,2} {0,3} win, {1,2} {1,3} {2,3} lose; k=3: without 1 or 2 5 has 2 votes)
 *   prob-B (idx 1): 3 10+ 3 4   c = 1: pass@k 1/4 1/2 3/4 1; maj@k 1/4 1/3 1/4 0
 *         (k=2: {1,2} {1,3} won by 10 (slot 1); k=3: only {1,2,3}, a 1-1-1 tie won by 10)
 *   prob-C (idx 0): not in "rsa"; 9999 tokens each, must not count.
 *   tokens: A 500 x 4, B 450 550 500 500 -> 500 per sample over the common problems.
 */
static const struct row base_rows[] = {
    {0, 0, 0, 0, "1", 1, "correct", 9999, 5, "stop", 1},
    {0, 0, 0, 1, "1", 1, "correct", 9999, 5, "stop", 1},
    {0, 0, 0, 2, "1", 1, "correct", 9999, 5, "stop", 1},
    {0, 0, 0, 3, "1", 1, "correct", 9999, 5, "stop", 1},
    {1, 0, 0, 0, "3", 0, "wrong", 450, 5, "stop", 1},
    {1, 0, 0, 1, "10", 1, "correct", 550, 5, "stop", 1},
    {1, 0, 0, 2, "3", 0, "wrong", 500, 5, "stop", 1},
    {1, 0, 0, 3, "4", 0, "wrong", 500, 5, "stop", 1},
    {2, 0, 0, 0, "5", 1, "correct", 500, 5, "stop", 1},
    {2, 0, 0, 1, "7", 0, "wrong", 500, 5, "stop", 1},
    {2, 0, 0, 2, "7", 0, "wrong", 500, 5, "stop", 1},
    {2, 0, 0, 3, "5", 1, "correct", 500, 5, "stop", 1},
};

/* fixture_put_rows / fixture_make_run: store rows (written in reverse: the store orders
   them) with made-up but distinct trace fields; a wrong verdict gets the reason
   "not equivalent". fixture_make_run creates the run (its id in *id) and its problems. */
static int fixture_put_rows(struct store *db, int64_t run, const struct row *rows, int n, const char *prompt)
{
    for (int i = n - 1; i >= 0; i--) {
        const struct row *r = &rows[i];
        int parents[2] = {(r->slot + 1) % 3, (r->slot + 2) % 3};
        char err[256] = "", text[64];
        snprintf(text, sizeof(text), "text %d/%d/%d/%d", r->problem, r->repeat, r->round, r->slot);
        struct store_trace t = {
            .problem = r->problem, .repeat = r->repeat, .round = r->round, .slot = r->slot,
            .parents = r->round > 0 ? parents : NULL, .n_parents = r->round > 0 ? 2 : 0,
            .seed = 1000 + r->problem * 100 + r->round * 10 + r->slot, .prompt = prompt, .text = text,
            .tail = "tail", .tail_tokens = r->slot == 2 ? -1 : 16, .tail_truncated = r->slot % 2, .source_tokens = 64,
            .prompt_tokens = r->prompt, .completion_tokens = r->completion, .finish_reason = r->finish,
            .think_closed = r->think_closed, .latency_ms = 5, .endpoint = "http://e", .attempts = 1,
            .answer = r->answer, .correct = r->correct, .grader = "testgrader", .grader_version = "9",
            .verdict_status = r->status, .reason = r->correct == 0 ? "not equivalent" : NULL,
        };
        if (store_put_trace(db, run, &t, err, sizeof(err)) != RSA_OK) {
            fprintf(stderr, "put_trace: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int fixture_make_run(struct store *db, int64_t *id, const char *name, const char *manifest, int population,
                            int rounds, int repeats, const struct store_problem *probs, int n_probs,
                            const struct row *rows, int n_rows, const char *prompt)
{
    struct store_run r = {
        .name = name, .config = "[rsa]\n", .identity = "id", .identity_hash = "h", .git_rev = "rev",
        .status = "complete", .tail_method = "tokens:server", .backend = "fake", .manifest = manifest,
        .seed = 7, .population = population, .subset = 2, .rounds = rounds, .tail_tokens = 64, .max_tokens = 512,
        .repeats = repeats,
    };
    char err[256] = "";
    if (store_create_run(db, &r, id, err, sizeof(err)) != RSA_OK) {
        fprintf(stderr, "create_run: %s\n", err);
        return -1;
    }
    if (n_probs > 0 && store_put_problems(db, *id, probs, (size_t)n_probs, err, sizeof(err)) != RSA_OK)
        return -1;
    return fixture_put_rows(db, *id, rows, n_rows, prompt);
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
