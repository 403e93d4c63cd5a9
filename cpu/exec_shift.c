/* Shifts, rotates, SHLD/SHRD. Flags are computed eagerly: their rules depend on the count.
 *
 * The count is masked to 5 bits for every operand size (80286 and later). A masked count of 0
 * changes nothing, but the destination is still accessed for read-modify-write, so it faults
 * as the hardware's unconditional load/store pair does. For OF, which the SDM defines only for
 * a count of 1, the count-1 formula is applied to every count so the value is deterministic. */
#include "cpu/exec.h"
#include "cpu/exec_rmw.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static unsigned shift_count(const struct cpu *c, const struct insn *i)
{
    uint32_t n = (i->form == FORM_ECL || i->form == FORM_EGCL) ? c->regs[R_ECX] : i->imm;
    return n & 0x1F;
}

static inline uint32_t bit_of(uint32_t v, unsigned bit) { return (v >> bit) & 1; }

/* Rotates change only CF and OF. */
/* Inlined into each exec_ wrapper so the operation is a constant there. */
static inline __attribute__((always_inline)) void rotate(struct cpu *c, const struct insn *i,
                                                         unsigned op)
{
    const unsigned sz = i->osize, bits = sz * 8;
    const uint32_t m = size_mask(sz);
    struct rmw at;
    uint32_t v = rmw_read(c, i, &at);
    unsigned n = shift_count(c, i);
    if (n == 0)
        return;

    uint32_t r, cf;
    switch (op) {
    case OP_ROL: {
        unsigned t = n % bits;
        r = t ? ((v << t) | (v >> (bits - t))) & m : v;
        cf = r & 1;
        break;
    }
    case OP_ROR: {
        unsigned t = n % bits;
        r = t ? ((v >> t) | (v << (bits - t))) & m : v;
        cf = bit_of(r, bits - 1);
        break;
    }
    default: {
        /* RCL/RCR rotate the (bits+1)-bit value CF:v; 8/16-bit counts are taken mod 9/17. */
        unsigned w = bits + 1;
        unsigned t = n % w;
        uint64_t x = ((uint64_t)flags_cf(c) << bits) | v;
        uint64_t wm = (1ull << w) - 1;
        if (t) {
            if (op == OP_RCL)
                x = ((x << t) | (x >> (w - t))) & wm;
            else
                x = ((x >> t) | (x << (w - t))) & wm;
        }
        r = (uint32_t)x & m;
        cf = (uint32_t)(x >> bits) & 1;
        break;
    }
    }

    uint32_t of;
    if (op == OP_ROL || op == OP_RCL)
        of = bit_of(r, bits - 1) ^ cf;
    else /* ROR, RCR: the two top bits of the result differ */
        of = bit_of(r, bits - 1) ^ bit_of(r, bits - 2);

    rmw_write(c, i, &at, r);
    flags_materialize(c);
    c->eflags = (c->eflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
}

void exec_ROL(struct cpu *c, const struct insn *i) { rotate(c, i, OP_ROL); }
void exec_ROR(struct cpu *c, const struct insn *i) { rotate(c, i, OP_ROR); }
void exec_RCL(struct cpu *c, const struct insn *i) { rotate(c, i, OP_RCL); }
void exec_RCR(struct cpu *c, const struct insn *i) { rotate(c, i, OP_RCR); }

/* Shifts set CF, OF, SF, ZF, PF; AF is undefined and set to 0. Counts up to 31 on 8/16-bit
 * operands are done in wider arithmetic, which continues the bit-by-bit definition. */
static inline __attribute__((always_inline)) void shift(struct cpu *c, const struct insn *i,
                                                        unsigned op)
{
    const unsigned sz = i->osize, bits = sz * 8;
    const uint32_t m = size_mask(sz);
    struct rmw at;
    uint32_t v = rmw_read(c, i, &at);
    unsigned n = shift_count(c, i);
    if (n == 0)
        return;

    uint32_t r, cf, of;
    switch (op) {
    case OP_SHL: {
        uint64_t x = (uint64_t)v << n;
        r = (uint32_t)x & m;
        cf = (uint32_t)(x >> bits) & 1;
        of = bit_of(r, bits - 1) ^ cf;
        break;
    }
    case OP_SHR:
        r = v >> n;
        cf = bit_of(v, n - 1);
        of = bit_of(v, bits - 1);
        break;
    default: { /* SAR */
        int32_t sv = sext(v, sz);
        /* Arithmetic right shift written out: C leaves >> of a negative value to the compiler. */
        uint32_t fill = sv < 0 ? ~(0xFFFFFFFFu >> n) : 0;
        r = (((uint32_t)sv >> n) | fill) & m;
        cf = bit_of((uint32_t)sv, n - 1);
        of = 0;
        break;
    }
    }

    rmw_write(c, i, &at, r);
    flags_set_arith(c, flags_szp(r, sz) | (cf ? FL_CF : 0) | (of ? FL_OF : 0));
}

void exec_SHL(struct cpu *c, const struct insn *i) { shift(c, i, OP_SHL); }
void exec_SAL(struct cpu *c, const struct insn *i) { shift(c, i, OP_SHL); }
void exec_SHR(struct cpu *c, const struct insn *i) { shift(c, i, OP_SHR); }
void exec_SAR(struct cpu *c, const struct insn *i) { shift(c, i, OP_SAR); }

/* SHLD/SHRD E,G,count. 16-bit operands with a count above 16 have an undefined result; we
 * follow P6-class hardware, which shifts the 48-bit concatenation E:G:E (SHLD) or E:G:E read
 * from the low end (SHRD), so the bits entering after G are E's again. */
static void shift_double(struct cpu *c, const struct insn *i, bool left)
{
    const unsigned sz = i->osize, bits = sz * 8;
    const uint32_t m = size_mask(sz);
    struct rmw at;
    uint32_t d = rmw_read(c, i, &at);
    uint32_t s = reg_get(c, i->reg, sz);
    unsigned n = shift_count(c, i);
    if (n == 0)
        return;

    uint64_t w;
    uint32_t r, cf;
    if (sz == 2) {
        w = ((uint64_t)d << 32) | ((uint64_t)s << 16) | d;
        if (left) {
            r = (uint32_t)(w >> (32 - n)) & m;
            cf = (uint32_t)(w >> (48 - n)) & 1;
        } else {
            r = (uint32_t)(w >> n) & m;
            cf = (uint32_t)(w >> (n - 1)) & 1;
        }
    } else if (left) {
        w = ((uint64_t)d << 32) | s;
        r = (uint32_t)(w >> (32 - n));
        cf = (uint32_t)(w >> (64 - n)) & 1;
    } else {
        w = ((uint64_t)s << 32) | d;
        r = (uint32_t)(w >> n);
        cf = (uint32_t)(w >> (n - 1)) & 1;
    }
    /* OF: the sign changed (defined for a count of 1). */
    uint32_t of = bit_of(r, bits - 1) ^ bit_of(d, bits - 1);

    rmw_write(c, i, &at, r);
    flags_set_arith(c, flags_szp(r, sz) | (cf ? FL_CF : 0) | (of ? FL_OF : 0));
}

void exec_SHLD(struct cpu *c, const struct insn *i) { shift_double(c, i, true); }
void exec_SHRD(struct cpu *c, const struct insn *i) { shift_double(c, i, false); }
