/* Unit tests of the conformance runner's JSON reader (tests/conformance/json.c): the shapes the
 * corpora use, escapes, number forms, and rejection of malformed or hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/conformance/json.h"

/* Parse a copy of `src` (the reader works in place). The copy is returned for freeing. */
static char *parse(struct json_doc *d, const char *src, int *rc)
{
    size_t n = strlen(src);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    memcpy(buf, src, n + 1);
    *rc = json_parse(d, buf, n);
    return buf;
}

static void corpus_shape(void **state)
{
    (void)state;
    struct json_doc d = {0};
    int rc;
    char *b = parse(&d,
                    " [{\"name\":\"add [bx+0Eh],bl\",\"bytes\":[0,95,14,244],"
                    "\"initial\":{\"regs\":{\"ax\":715,\"ip\":38072},\"ram\":[[1086632,0],[5,255]]},"
                    "\"final\":{\"regs\":{},\"ram\":[]},\"hash\":\"626b\"}, {} ]\n",
                    &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(d.root.type, JSON_ARRAY);
    assert_int_equal(d.root.len, 2);
    const struct json *t = json_at(&d.root, 0);
    assert_int_equal(t->type, JSON_OBJECT);
    assert_string_equal(json_get(t, "name")->u.str, "add [bx+0Eh],bl");
    const struct json *bytes = json_get(t, "bytes");
    assert_int_equal(bytes->len, 4);
    int64_t v;
    assert_true(json_int(json_at(bytes, 3), 0, 255, &v));
    assert_int_equal(v, 244);
    const struct json *regs = json_get(json_get(t, "initial"), "regs");
    assert_true(json_int(json_get(regs, "ip"), 0, 0xFFFF, &v));
    assert_int_equal(v, 38072);
    assert_null(json_get(regs, "bx"));
    const struct json *ram = json_get(json_get(t, "initial"), "ram");
    assert_true(json_int(json_at(json_at(ram, 0), 0), 0, 1 << 24, &v));
    assert_int_equal(v, 1086632);
    assert_false(json_int(json_at(json_at(ram, 1), 1), 0, 254, &v)); /* out of range */
    assert_int_equal(json_get(json_get(t, "final"), "regs")->len, 0);
    assert_int_equal(json_get(json_get(t, "final"), "ram")->type, JSON_ARRAY);
    assert_int_equal(json_at(&d.root, 1)->type, JSON_OBJECT);
    assert_null(json_at(&d.root, 2));
    free(b);
    json_free(&d);
}

static void scalars_and_escapes(void **state)
{
    (void)state;
    struct json_doc d = {0};
    int rc;
    char *b = parse(&d,
                    "{\"s\":\"a\\\"b\\\\c\\/\\n\\u0041\\u00e9\\ud83d\\ude00\",\"t\":true,"
                    "\"f\":false,\"z\":null,\"neg\":-42,\"big\":9223372036854775807,"
                    "\"min\":-9223372036854775808,\"over\":18446744073709551616,\"fr\":1.5,"
                    "\"e\":2E3,\"zero\":0,\"\":7}",
                    &rc);
    assert_int_equal(rc, 0);
    const struct json *s = json_get(&d.root, "s");
    assert_string_equal(s->u.str, "a\"b\\c/\nA\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(s->len, strlen("a\"b\\c/\nA\xc3\xa9\xf0\x9f\x98\x80"));
    assert_int_equal(json_get(&d.root, "t")->type, JSON_TRUE);
    assert_int_equal(json_get(&d.root, "f")->type, JSON_FALSE);
    assert_int_equal(json_get(&d.root, "z")->type, JSON_NULL);
    int64_t v;
    assert_true(json_int(json_get(&d.root, "neg"), INT64_MIN, INT64_MAX, &v));
    assert_int_equal(v, -42);
    assert_true(json_int(json_get(&d.root, "big"), INT64_MIN, INT64_MAX, &v));
    assert_true(v == INT64_MAX);
    assert_true(json_int(json_get(&d.root, "min"), INT64_MIN, INT64_MAX, &v));
    assert_true(v == INT64_MIN);
    const struct json *over = json_get(&d.root, "over");
    assert_false(over->is_int);
    assert_true(over->u.num.d > 1.8e19);
    assert_false(json_int(json_get(&d.root, "fr"), INT64_MIN, INT64_MAX, &v));
    assert_true(json_get(&d.root, "fr")->u.num.d == 1.5);
    assert_true(json_get(&d.root, "e")->u.num.d == 2000.0);
    assert_true(json_int(json_get(&d.root, "zero"), 0, 0, &v));
    assert_true(json_int(json_get(&d.root, ""), 7, 7, &v));
    free(b);
    json_free(&d);
}

static void number_at_end_of_buffer(void **state)
{
    (void)state;
    /* No NUL after the text: the number parser must stop at `len`. */
    struct json_doc d = {0};
    char buf[4] = {'1', '.', '5', '9'};
    assert_int_equal(json_parse(&d, buf, 3), 0);
    assert_true(d.root.u.num.d == 1.5);
    json_free(&d);
}

static void rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "[01]", "[-]", "[1.]",
        "[1e]", "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"",
        "tru", "nul", "[1] x", "{\"a\":1,}", "[+1]",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct json_doc d = {0};
        int rc;
        char *b = parse(&d, bad[k], &rc);
        if (rc != -1)
            fail_msg("accepted malformed input #%zu: %s", k, bad[k]);
        assert_true(d.err[0] != '\0');
        free(b);
        json_free(&d);
    }
}

static void depth_is_bounded(void **state)
{
    (void)state;
    char deep[2 * (JSON_MAX_DEPTH + 1) + 1], ok[2 * JSON_MAX_DEPTH + 1];
    for (int k = 0; k <= JSON_MAX_DEPTH; k++) {
        deep[k] = '[';
        deep[2 * (JSON_MAX_DEPTH + 1) - 1 - k] = ']';
    }
    deep[2 * (JSON_MAX_DEPTH + 1)] = '\0';
    for (int k = 0; k < JSON_MAX_DEPTH; k++) {
        ok[k] = '[';
        ok[2 * JSON_MAX_DEPTH - 1 - k] = ']';
    }
    ok[2 * JSON_MAX_DEPTH] = '\0';
    struct json_doc d = {0};
    int rc;
    char *b = parse(&d, deep, &rc);
    assert_int_equal(rc, -1);
    free(b);
    b = parse(&d, ok, &rc); /* the same document object is reusable */
    assert_int_equal(rc, 0);
    assert_int_equal(d.err[0], '\0');
    free(b);
    json_free(&d);
}

static void large_arrays_span_blocks(void **state)
{
    (void)state;
    /* More nodes than one arena block, in nested arrays, all reachable afterwards. */
    const unsigned n = 100000;
    size_t cap = (size_t)n * 12 + 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[len++] = '[';
    for (unsigned k = 0; k < n; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s[%u,%u]", k ? "," : "", k, k & 255);
    buf[len++] = ']';
    struct json_doc d = {0};
    assert_int_equal(json_parse(&d, buf, len), 0);
    assert_int_equal(d.root.len, n);
    for (unsigned k = 0; k < n; k += 997) {
        int64_t a, v;
        assert_true(json_int(json_at(json_at(&d.root, k), 0), 0, n, &a));
        assert_true(json_int(json_at(json_at(&d.root, k), 1), 0, 255, &v));
        assert_int_equal(a, k);
        assert_int_equal(v, k & 255);
    }
    free(buf);
    json_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_shape),
        cmocka_unit_test(scalars_and_escapes),
        cmocka_unit_test(number_at_end_of_buffer),
        cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(depth_is_bounded),
        cmocka_unit_test(large_arrays_span_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
