#include "tests/conformance/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_block {
    struct json_block *next;
    size_t used, cap;
    struct json nodes[];
};

#define BLOCK_NODES 65536u

struct parser {
    char *p, *end, *base;
    struct json_doc *doc;
    int depth;
};

static int fail(struct parser *ps, const char *fmt, ...)
{
    struct json_doc *d = ps->doc;
    if (d->err[0])
        return -1; /* keep the first, innermost message */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    d->err_offset = (size_t)(ps->p - ps->base);
    return -1;
}

static struct json *arena_alloc(struct json_doc *d, size_t n)
{
    struct json_block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_NODES ? n : BLOCK_NODES;
        b = malloc(sizeof(*b) + cap * sizeof(struct json));
        if (!b)
            return NULL;
        b->next = d->blocks;
        b->used = 0;
        b->cap = cap;
        d->blocks = b;
    }
    struct json *r = &b->nodes[b->used];
    b->used += n;
    return r;
}

static int stack_push(struct parser *ps, const struct json *v)
{
    struct json_doc *d = ps->doc;
    if (d->stack_len == d->stack_cap) {
        size_t cap = d->stack_cap ? d->stack_cap * 2 : 1024;
        struct json *s = realloc(d->stack, cap * sizeof(*s));
        if (!s)
            return fail(ps, "out of memory");
        d->stack = s;
        d->stack_cap = cap;
    }
    d->stack[d->stack_len++] = *v;
    return 0;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_value(struct parser *ps, struct json *out);

static int hex4(struct parser *ps, const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = s[k];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

/* At the opening quote. Decodes in place; the closing quote becomes the terminating NUL (the
 * decoded text is never longer than its source, so it always fits). */
static int parse_string(struct parser *ps, struct json *out)
{
    char *start = ++ps->p;
    char *w = start;
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        unsigned char ch = (unsigned char)*ps->p;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return fail(ps, "control character in string");
        if (ch != '\\') {
            *w++ = (char)ch;
            ps->p++;
            continue;
        }
        if (ps->end - ps->p < 2)
            return fail(ps, "unterminated escape");
        char e = ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned cp;
            if (ps->end - ps->p < 4 || hex4(ps, ps->p, &cp))
                return fail(ps, "bad \\u escape");
            ps->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                    hex4(ps, ps->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, "unpaired surrogate");
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(ps, "unpaired surrogate");
            }
            w = put_utf8(w, cp);
            break;
        }
        default:
            return fail(ps, "bad escape \\%c", e);
        }
    }
    out->type = JSON_STRING;
    out->len = (uint32_t)(w - start);
    out->u.str = start;
    *w = '\0'; /* w <= ps->p, the closing quote */
    ps->p++;
    return 0;
}

static int parse_number(struct parser *ps, struct json *out)
{
    const char *s = ps->p;
    const char *q = s;
    bool neg = false, integral = true, overflow = false;
    uint64_t mag = 0;
    if (q < ps->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= ps->end || *q < '0' || *q > '9')
        return fail(ps, "bad number");
    if (*q == '0') {
        q++;
        if (q < ps->end && *q >= '0' && *q <= '9')
            return fail(ps, "leading zero in number");
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9') {
            unsigned dgt = (unsigned)(*q - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
                overflow = true;
            else
                mag = mag * 10 + dgt;
            q++;
        }
    }
    if (q < ps->end && *q == '.') {
        integral = false;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad fraction");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = false;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad exponent");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    out->type = JSON_NUMBER;
    out->len = 0;
    if (integral && !overflow && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
        out->is_int = true;
        out->u.num.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        out->u.num.d = (double)out->u.num.i;
    } else {
        /* strtod needs a terminated copy: the text is not NUL-terminated at the end. */
        char tmp[64];
        size_t n = (size_t)(q - s);
        if (n >= sizeof(tmp))
            return fail(ps, "number too long");
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        out->is_int = false;
        out->u.num.i = 0;
        out->u.num.d = strtod(tmp, NULL);
    }
    ps->p = (char *)q;
    return 0;
}

static int parse_literal(struct parser *ps, const char *word, enum json_type t, struct json *out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character '%c'", *ps->p);
    ps->p += n;
    out->type = (uint8_t)t;
    return 0;
}

/* Move the children pushed since `mark` into the arena as one contiguous run. */
static int seal(struct parser *ps, size_t mark, struct json *out)
{
    struct json_doc *d = ps->doc;
    size_t n = d->stack_len - mark;
    if (n == 0) {
        out->u.items = NULL;
        return 0;
    }
    struct json *dst = arena_alloc(d, n);
    if (!dst)
        return fail(ps, "out of memory");
    memcpy(dst, d->stack + mark, n * sizeof(*dst));
    d->stack_len = mark;
    out->u.items = dst;
    return 0;
}

static int parse_array(struct parser *ps, struct json *out)
{
    size_t mark = ps->doc->stack_len;
    uint32_t count = 0;
    ps->p++; /* '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            struct json v;
            if (parse_value(ps, &v) || stack_push(ps, &v))
                return -1;
            count++;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail(ps, "unterminated array");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == ']') {
                ps->p++;
                break;
            }
            return fail(ps, "expected ',' or ']'");
        }
    }
    memset(out, 0, sizeof(*out));
    out->type = JSON_ARRAY;
    out->len = count;
    return seal(ps, mark, out);
}

static int parse_object(struct parser *ps, struct json *out)
{
    size_t mark = ps->doc->stack_len;
    uint32_t count = 0;
    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            struct json k, v;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a member name");
            memset(&k, 0, sizeof(k));
            if (parse_string(ps, &k))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "expected ':'");
            ps->p++;
            if (parse_value(ps, &v) || stack_push(ps, &k) || stack_push(ps, &v))
                return -1;
            count++;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail(ps, "unterminated object");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == '}') {
                ps->p++;
                break;
            }
            return fail(ps, "expected ',' or '}'");
        }
    }
    memset(out, 0, sizeof(*out));
    out->type = JSON_OBJECT;
    out->len = count;
    return seal(ps, mark, out);
}

static int parse_value(struct parser *ps, struct json *out)
{
    memset(out, 0, sizeof(*out));
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    int r;
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->depth > JSON_MAX_DEPTH)
            return fail(ps, "nested deeper than %d", JSON_MAX_DEPTH);
        r = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
        ps->depth--;
        return r;
    case '"': return parse_string(ps, out);
    case 't': return parse_literal(ps, "true", JSON_TRUE, out);
    case 'f': return parse_literal(ps, "false", JSON_FALSE, out);
    case 'n': return parse_literal(ps, "null", JSON_NULL, out);
    default: return parse_number(ps, out);
    }
}

void json_free(struct json_doc *doc)
{
    struct json_block *b = doc->blocks;
    while (b) {
        struct json_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc->stack);
    memset(doc, 0, sizeof(*doc));
}

int json_parse(struct json_doc *doc, char *text, size_t len)
{
    /* Reuse the scratch stack and the newest arena block; drop the rest. */
    struct json_block *keep = doc->blocks;
    if (keep) {
        struct json_block *b = keep->next;
        while (b) {
            struct json_block *next = b->next;
            free(b);
            b = next;
        }
        keep->next = NULL;
        keep->used = 0;
    }
    doc->blocks = keep;
    doc->stack_len = 0;
    doc->err[0] = '\0';
    doc->err_offset = 0;
    memset(&doc->root, 0, sizeof(doc->root));

    struct parser ps = {text, text + len, text, doc, 0};
    if (parse_value(&ps, &doc->root))
        return -1;
    skip_ws(&ps);
    if (ps.p != ps.end)
        return fail(&ps, "trailing characters after the document");
    return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t k = 0; k < obj->len; k++) {
        const struct json *name = &obj->u.items[2 * k];
        if (name->len == klen && memcmp(name->u.str, key, klen) == 0)
            return &obj->u.items[2 * k + 1];
    }
    return NULL;
}

const struct json *json_at(const struct json *arr, size_t idx)
{
    if (!arr || arr->type != JSON_ARRAY || idx >= arr->len)
        return NULL;
    return &arr->u.items[idx];
}

bool json_int(const struct json *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v || v->type != JSON_NUMBER || !v->is_int || v->u.num.i < lo || v->u.num.i > hi)
        return false;
    *out = v->u.num.i;
    return true;
}
