/* A small emitter of ACPI Machine Language (ACPI 6.x, chapter 20), enough for the PC's DSDT:
 * names, integers, strings, buffers, packages, scopes, devices, methods with If/Else and a few
 * operators, operation regions and fields.
 *
 * Objects with a PkgLength are opened with one of the *_begin calls and closed with aml_end;
 * the length is written at the close, in as few bytes as it needs. Errors (no memory, a name
 * that is not a valid AML name, unbalanced ends) stick in `error` and are checked once at the
 * end, so building code needs no checks of its own. */
#ifndef BT86_AML_H
#define BT86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
    uint8_t *buf;
    size_t len, cap;
    size_t open[AML_MAX_DEPTH]; /* where each open object's contents start */
    unsigned depth;
    bool error;
};

/* Opcodes used by callers directly (ACPI 6.4 section 20.3). */
enum {
    AML_ZERO = 0x00,
    AML_ONE = 0x01,
    AML_NAME_OP = 0x08,
    AML_RETURN = 0xA4,
    AML_STORE = 0x70,
    AML_AND = 0x7B,
    AML_OR = 0x7D,
    AML_LAND = 0x90,
    AML_LNOT = 0x92,
    AML_LEQUAL = 0x93,
    AML_LLESS = 0x95,
    AML_INDEX = 0x88,
    AML_LOCAL0 = 0x60,
    AML_ARG0 = 0x68,
    AML_ONES = 0xFF,
};

/* Method flags: argument count in bits 2:0, bit 3 serialized. */
#define AML_SERIALIZED 0x08

/* Region spaces and field flags used here. */
#define AML_REGION_IO 0x01
#define AML_REGION_PCI_CONFIG 0x02
#define AML_FIELD_BYTE_ACC 0x01
#define AML_FIELD_DWORD_ACC 0x03

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* A NameString: optional root '\' or parent '^' prefixes, then dot-separated segments of 1-4
 * characters (A-Z, 0-9, _; not starting with a digit), padded with '_'. */
void aml_name(struct aml *a, const char *path);
/* The shortest integer encoding: Zero, One, Ones (only for 0xFFFFFFFF in 32-bit tables is
 * that a different value; this never emits Ones), Byte, Word, DWord or QWord constant. */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA id ("PNP0A03") as a DWord constant. */
void aml_eisaid(struct aml *a, const char *id);
/* Buffer(n) { bytes } */
void aml_buffer(struct aml *a, const void *data, size_t n);

/* Name(path, <value follows>) */
void aml_name_decl(struct aml *a, const char *path);

/* Objects with a PkgLength; each is closed by aml_end. */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
void aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized);
void aml_if_begin(struct aml *a);   /* the predicate follows, then the body */
void aml_else_begin(struct aml *a); /* right after an If's aml_end */
void aml_package_begin(struct aml *a, unsigned count);
void aml_end(struct aml *a);

/* OperationRegion(name, space, offset, length) */
void aml_op_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
                   uint64_t length);
/* Field(region, flags) { names[i], bits[i] ... }: n units, consecutive. */
void aml_field(struct aml *a, const char *region, uint8_t flags, const char *const *names,
               const unsigned *bits, unsigned n);
/* CreateDWordField(<source follows>, ...): emits the opcode only; the caller emits source and
 * index, then calls aml_name for the new field. */
void aml_create_dword_field_op(struct aml *a);

/* The encoding of a PkgLength value for `content` bytes after it (1-4 bytes written to out;
 * returns how many, or 0 if too long). Exposed for tests. */
unsigned aml_pkglength(size_t content, uint8_t out[4]);

#endif
