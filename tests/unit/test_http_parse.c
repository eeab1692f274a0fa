/*
 * test_http_parse.c: http_parse_response, the 2xx body parsing a real request runs
 * (JSON completions and SSE streams), on bodies held in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/http.h"

static enum rsa_err parse(enum http_api api, int stream, const char *body,
                          struct backend_completion *c, char *err, size_t errlen)
{
    err[0] = '\0';
    return http_parse_response(api, stream, "<think>", "</think>", body, strlen(body), c, err,
                               errlen);
}

static void assert_zeroed(const struct backend_completion *c)
{
    assert_null(c->text);
    assert_null(c->reasoning);
    assert_null(c->content);
}

static void test_chat_json_reasoning(void **state)
{
    const char *body =
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"4\",\"reasoning_content\":\"2+2\"},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5}}";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_CHAT, 0, body, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.text, "<think>2+2</think>4");
    assert_string_equal(c.reasoning, "2+2");
    assert_string_equal(c.content, "4");
    assert_string_equal(c.finish_reason, "stop");
    assert_int_equal(c.prompt_tokens, 11);
    assert_int_equal(c.completion_tokens, 5);
    assert_string_equal(c.endpoint, "");
    assert_int_equal(c.attempts, 0);
    backend_completion_free(&c);
}

static void test_completions_json(void **state)
{
    const char *body = "{\"choices\":[{\"index\":0,\"text\":\" 42\",\"finish_reason\":\"length\"}]}";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_COMPLETIONS, 0, body, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.text, " 42");
    assert_null(c.reasoning);
    assert_string_equal(c.content, " 42");
    assert_string_equal(c.finish_reason, "length");
    assert_int_equal(c.prompt_tokens, -1);
    assert_int_equal(c.completion_tokens, -1);
    backend_completion_free(&c);
}

static void test_sse_with_usage(void **state)
{
    const char *body =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}\r\n\r\n"
        ": keep-alive\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"m\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n"
        "data: [DONE]\n\n";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_CHAT, 1, body, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.text, "<think>hmm</think>ok");
    assert_string_equal(c.reasoning, "hmm");
    assert_string_equal(c.content, "ok");
    assert_string_equal(c.finish_reason, "stop");
    assert_int_equal(c.prompt_tokens, 7);
    assert_int_equal(c.completion_tokens, 3);
    backend_completion_free(&c);
}

static void test_sse_completions_last_event_unterminated(void **state)
{
    /* No blank line after the last event: sse_finish dispatches it. */
    const char *body = "data: {\"choices\":[{\"text\":\"a\"}]}\n\n"
                       "data: {\"choices\":[{\"text\":\"b\",\"finish_reason\":\"stop\"}]}";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_COMPLETIONS, 1, body, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.content, "ab");
    assert_string_equal(c.finish_reason, "stop");
    backend_completion_free(&c);
}

static void test_sse_error_event(void **state)
{
    const char *bodies[] = {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"
        "data: {\"error\":{\"message\":\"overloaded\"}}\n\n"
        "data: [DONE]\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"
        "event: error\ndata: {\"message\":\"overloaded\"}\n\n",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct backend_completion c;
        char err[256];
        assert_int_equal(parse(HTTP_API_CHAT, 1, bodies[i], &c, err, sizeof(err)),
                         RSA_ERR_PROTOCOL);
        assert_non_null(strstr(err, "stream error: overloaded"));
        assert_zeroed(&c);
    }
}

static void test_malformed_json(void **state)
{
    struct {
        enum http_api api;
        int stream;
        const char *body;
        const char *why;
    } cases[] = {
        {HTTP_API_CHAT, 0, "{\"choices\":[{\"message\":", "not JSON"},
        {HTTP_API_CHAT, 0, "", "(empty body)"},
        {HTTP_API_CHAT, 0, "[1,2]", "not a JSON object"},
        {HTTP_API_CHAT, 0, "{\"choices\":[]}", "no choices"},
        {HTTP_API_CHAT, 0, "{\"choices\":[{\"text\":\"x\"}]}", "message missing"},
        {HTTP_API_COMPLETIONS, 0, "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}",
         "text missing"},
        {HTTP_API_CHAT, 0, "{\"error\":\"busy\"}", "server error: busy"},
        {HTTP_API_CHAT, 1, "data: {\"choices\":[{\"delta\":\n\n", "malformed JSON in stream"},
        {HTTP_API_CHAT, 1, "<html>502</html>", "not JSON"}, /* no SSE event: read as JSON */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct backend_completion c;
        char err[256];
        assert_int_equal(parse(cases[i].api, cases[i].stream, cases[i].body, &c, err,
                               sizeof(err)),
                         RSA_ERR_PROTOCOL);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].why);
        assert_zeroed(&c);
    }
}

static void test_stream_without_end(void **state)
{
    const char *body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut\"}}]}\n\n";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_CHAT, 1, body, &c, err, sizeof(err)), RSA_ERR_PROTOCOL);
    assert_non_null(strstr(err, "without [DONE] or finish_reason"));
    assert_zeroed(&c);
    /* [DONE] alone is enough, as is a finish_reason alone. */
    const char *done = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n";
    assert_int_equal(parse(HTTP_API_CHAT, 1, done, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.finish_reason, "");
    backend_completion_free(&c);
}

static void test_stream_answered_with_json(void **state)
{
    /* A stream request the server answered with a plain JSON body. */
    const char *body = "{\"choices\":[{\"message\":{\"content\":\"plain\"},\"finish_reason\":\"stop\"}]}";
    struct backend_completion c;
    char err[256];
    assert_int_equal(parse(HTTP_API_CHAT, 1, body, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.text, "plain");
    backend_completion_free(&c);
}

static void test_len_is_honoured(void **state)
{
    /* The body is body[0..len): a valid JSON text cut short is not JSON. */
    static const char body[] = "{\"choices\":[{\"text\":\"x\"}]}";
    struct backend_completion c;
    char err[256];
    assert_int_equal(http_parse_response(HTTP_API_COMPLETIONS, 0, NULL, NULL, body,
                                         sizeof(body) - 3, &c, err, sizeof(err)),
                     RSA_ERR_PROTOCOL);
    assert_zeroed(&c);
    assert_int_equal(http_parse_response(HTTP_API_COMPLETIONS, 0, NULL, NULL, body,
                                         sizeof(body) - 1, &c, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(c.text, "x");
    backend_completion_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_json_reasoning),
        cmocka_unit_test(test_completions_json),
        cmocka_unit_test(test_sse_with_usage),
        cmocka_unit_test(test_sse_completions_last_event_unterminated),
        cmocka_unit_test(test_sse_error_event),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_stream_without_end),
        cmocka_unit_test(test_stream_answered_with_json),
        cmocka_unit_test(test_len_is_honoured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
