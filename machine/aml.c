#include "machine/aml.h"

#include <stdlib.h>
#include <string.h>

#define EXT_OP 0x5B
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define METHOD_OP 0x14
#define BYTE_PREFIX 0x0A
#define WORD_PREFIX 0x0B
#define DWORD_PREFIX 0x0C
#define STRING_PREFIX 0x0D
#define QWORD_PREFIX 0x0E
#define DUAL_NAME_PREFIX 0x2E
#define MULTI_NAME_PREFIX 0x2F
#define ROOT_CHAR 0x5C
#define PARENT_PREFIX 0x5E
#define IF_OP 0xA0
#define ELSE_OP 0xA1
#define CREATE_DWORD_FIELD_OP 0x8A
#define EXT_REGION_OP 0x80
#define EXT_FIELD_OP 0x81
#define EXT_DEVICE_OP 0x82

void aml_init(struct aml *a) { memset(a, 0, sizeof(*a)); }

void aml_free(struct aml *a)
{
    free(a->buf);
    aml_init(a);
}

static bool reserve(struct aml *a, size_t more)
{
    if (a->error)
        return false;
    if (a->len + more <= a->cap)
        return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more)
        cap *= 2;
    uint8_t *p = realloc(a->buf, cap);
    if (!p) {
        a->error = true;
        return false;
    }
    a->buf = p;
    a->cap = cap;
    return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (!reserve(a, n))
        return;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b) { aml_bytes(a, &b, 1); }

static bool seg_char_ok(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_name(struct aml *a, const char *path)
{
    if (*path == '\\') {
        aml_byte(a, ROOT_CHAR);
        path++;
    } else {
        while (*path == '^') {
            aml_byte(a, PARENT_PREFIX);
            path++;
        }
    }
    char segs[255][4];
    unsigned n = 0;
    while (*path) {
        size_t k = strcspn(path, ".");
        if (k == 0 || k > 4 || n == 255) {
            a->error = true;
            return;
        }
        for (size_t i = 0; i < 4; i++) {
            char c = i < k ? path[i] : '_';
            if (!seg_char_ok(c, i == 0)) {
                a->error = true;
                return;
            }
            segs[n][i] = c;
        }
        n++;
        path += k;
        if (*path == '.' && !*++path) { /* a trailing dot */
            a->error = true;
            return;
        }
    }
    if (n == 0) {
        aml_byte(a, 0x00); /* NullName: "\" alone */
        return;
    }
    if (n == 2) {
        aml_byte(a, DUAL_NAME_PREFIX);
    } else if (n > 2) {
        aml_byte(a, MULTI_NAME_PREFIX);
        aml_byte(a, (uint8_t)n);
    }
    aml_bytes(a, segs, 4 * (size_t)n);
}

void aml_int(struct aml *a, uint64_t v)
{
    uint8_t b[9];
    unsigned n;
    if (v == 0 || v == 1) {
        aml_byte(a, v ? AML_ONE : AML_ZERO);
        return;
    }
    if (v <= 0xFF) {
        b[0] = BYTE_PREFIX;
        n = 1;
    } else if (v <= 0xFFFF) {
        b[0] = WORD_PREFIX;
        n = 2;
    } else if (v <= 0xFFFFFFFFu) {
        b[0] = DWORD_PREFIX;
        n = 4;
    } else {
        b[0] = QWORD_PREFIX;
        n = 8;
    }
    for (unsigned i = 0; i < n; i++)
        b[1 + i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, 1 + n);
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, STRING_PREFIX);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p > 0x7F)
            a->error = true; /* AsciiCharList is 0x01-0x7F */
    aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Three letters of 5 bits each (A = 1), then four hex digits, stored big-endian. */
void aml_eisaid(struct aml *a, const char *id)
{
    if (strlen(id) != 7) {
        a->error = true;
        return;
    }
    uint32_t letters = 0;
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            a->error = true;
            return;
        }
        letters = letters << 5 | (uint32_t)(id[i] - 'A' + 1);
    }
    int h[4];
    for (int i = 0; i < 4; i++)
        if ((h[i] = hexval(id[3 + i])) < 0) {
            a->error = true;
            return;
        }
    uint32_t v = (letters >> 8) | (letters & 0xFF) << 8 | (uint32_t)(h[0] << 4 | h[1]) << 16 |
                 (uint32_t)(h[2] << 4 | h[3]) << 24;
    uint8_t b[5] = {DWORD_PREFIX, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    aml_bytes(a, b, sizeof(b)); /* always a DWord, even when small, as ASL compilers do */
}

/* A value in the PkgLength format: 6 bits in one byte, or 4 bits in the lead byte (whose
 * top bits count the bytes that follow) and 8 in each following byte. */
static unsigned encode_len(size_t v, uint8_t out[4])
{
    if (v <= 0x3F) {
        out[0] = (uint8_t)v;
        return 1;
    }
    for (unsigned n = 2; n <= 4; n++) {
        if (v < (size_t)1 << (4 + 8 * (n - 1))) {
            out[0] = (uint8_t)((n - 1) << 6 | (v & 0x0F));
            for (unsigned i = 1; i < n; i++)
                out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
            return n;
        }
    }
    return 0;
}

unsigned aml_pkglength(size_t content, uint8_t out[4])
{
    /* The length counts its own bytes. */
    for (unsigned n = 1; n <= 4; n++)
        if (encode_len(content + n, out) == n)
            return n;
    return 0;
}

static void begin(struct aml *a)
{
    if (a->depth == AML_MAX_DEPTH) {
        a->error = true;
        return;
    }
    a->open[a->depth++] = a->len;
}

void aml_end(struct aml *a)
{
    if (a->depth == 0) {
        a->error = true;
        return;
    }
    size_t start = a->open[--a->depth];
    if (a->error)
        return;
    uint8_t pl[4];
    unsigned n = aml_pkglength(a->len - start, pl);
    if (n == 0 || !reserve(a, n)) {
        a->error = true;
        return;
    }
    memmove(a->buf + start + n, a->buf + start, a->len - start);
    memcpy(a->buf + start, pl, n);
    a->len += n;
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
    aml_byte(a, BUFFER_OP);
    begin(a);
    aml_int(a, n);
    aml_bytes(a, data, n);
    aml_end(a);
}

void aml_name_decl(struct aml *a, const char *path)
{
    aml_byte(a, AML_NAME_OP);
    aml_name(a, path);
}

void aml_scope_begin(struct aml *a, const char *path)
{
    aml_byte(a, SCOPE_OP);
    begin(a);
    aml_name(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
    aml_byte(a, EXT_OP);
    aml_byte(a, EXT_DEVICE_OP);
    begin(a);
    aml_name(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized)
{
    if (nargs > 7)
        a->error = true;
    aml_byte(a, METHOD_OP);
    begin(a);
    aml_name(a, path);
    aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? AML_SERIALIZED : 0)));
}

void aml_if_begin(struct aml *a)
{
    aml_byte(a, IF_OP);
    begin(a);
}

void aml_else_begin(struct aml *a)
{
    aml_byte(a, ELSE_OP);
    begin(a);
}

void aml_package_begin(struct aml *a, unsigned count)
{
    if (count > 0xFF)
        a->error = true;
    aml_byte(a, PACKAGE_OP);
    begin(a);
    aml_byte(a, (uint8_t)count);
}

void aml_op_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
                   uint64_t length)
{
    aml_byte(a, EXT_OP);
    aml_byte(a, EXT_REGION_OP);
    aml_name(a, name);
    aml_byte(a, space);
    aml_int(a, offset);
    aml_int(a, length);
}

void aml_field(struct aml *a, const char *region, uint8_t flags, const char *const *names,
               const unsigned *bits, unsigned n)
{
    aml_byte(a, EXT_OP);
    aml_byte(a, EXT_FIELD_OP);
    begin(a);
    aml_name(a, region);
    aml_byte(a, flags);
    for (unsigned i = 0; i < n; i++) {
        /* A NamedField is a bare NameSeg and the width as a PkgLength. */
        size_t k = strlen(names[i]);
        if (k == 0 || k > 4 || strchr(names[i], '.') || !seg_char_ok(names[i][0], true)) {
            a->error = true;
            return;
        }
        aml_name(a, names[i]);
        uint8_t pl[4];
        unsigned w = encode_len(bits[i], pl); /* a bit count, not a length of what follows */
        if (!bits[i] || !w) {
            a->error = true;
            return;
        }
        aml_bytes(a, pl, w);
    }
    aml_end(a);
}

void aml_create_dword_field_op(struct aml *a) { aml_byte(a, CREATE_DWORD_FIELD_OP); }
