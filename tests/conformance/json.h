/* A small JSON reader for the conformance corpora (RFC 8259 syntax).
 *
 * The whole document is parsed into a tree of `struct json` nodes held in an arena owned by a
 * `struct json_doc`. Parsing is in place: strings point into the caller's text buffer (escapes
 * are decoded there), so the buffer must stay alive, and unchanged, as long as the document.
 * The input is not trusted: nesting depth is bounded and every error is reported with its
 * byte offset rather than crashing. */
#ifndef BT86_TESTS_JSON_H
#define BT86_TESTS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    uint8_t type;      /* enum json_type */
    bool is_int;       /* JSON_NUMBER: written without fraction/exponent and fits in int64 */
    uint32_t len;      /* JSON_STRING: bytes; JSON_ARRAY: items; JSON_OBJECT: members */
    union {
        struct {
            int64_t i; /* exact value when is_int */
            double d;  /* value as a double (always set) */
        } num;
        const char *str;            /* NUL-terminated; may contain NULs from \u0000 (see len) */
        const struct json *items;   /* JSON_ARRAY: len items; JSON_OBJECT: 2*len (key, value) */
    } u;
};

#define JSON_MAX_DEPTH 64

struct json_block;

struct json_doc {
    struct json root;
    struct json_block *blocks; /* arena */
    struct json *stack;        /* scratch for children of the containers being parsed */
    size_t stack_len, stack_cap;
    size_t err_offset;
    char err[96];              /* empty when the last parse succeeded */
};

/* Parse `len` bytes of `text` (which must be writable; a NUL at text[len] is not needed).
 * Returns 0, or -1 with doc->err / doc->err_offset describing the problem. The document may
 * be reused for another parse; json_free() releases it. */
int json_parse(struct json_doc *doc, char *text, size_t len);
void json_free(struct json_doc *doc);

/* Member `key` of an object, or NULL (also when `obj` is NULL or not an object). */
const struct json *json_get(const struct json *obj, const char *key);
/* Item `idx` of an array, or NULL. */
const struct json *json_at(const struct json *arr, size_t idx);
/* Integer value of a number node within [lo, hi]; false if absent, not an integer or out of range. */
bool json_int(const struct json *v, int64_t lo, int64_t hi, int64_t *out);

#endif
