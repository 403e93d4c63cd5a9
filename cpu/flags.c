#include "cpu/flags.h"

static inline unsigned lf_bits(uint32_t op) { return 8u << (op & 3); }

bool flags_zf(const struct cpu *c)
{
    return c->lf_op == LF_NONE ? (c->eflags & FL_ZF) != 0 : c->lf_res == 0;
}

uint32_t flags_arith(const struct cpu *c)
{
    uint32_t op = c->lf_op;
    if (op == LF_NONE)
        return c->eflags & FL_ARITH;
    unsigned bits = lf_bits(op);
    uint32_t a = c->lf_a, b = c->lf_b, r = c->lf_res;
    uint32_t sign = 1u << (bits - 1);
    uint32_t f = (r == 0 ? FL_ZF : 0) | ((r & sign) ? FL_SF : 0) | parity_flag(r);
    switch (op >> 2) {
    case LF_ADD:
        f |= flags_carry_of(op >> 2, a, b, r, bits) ? FL_CF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? FL_AF : 0;
        f |= ((a ^ r) & (b ^ r) & sign) ? FL_OF : 0;
        break;
    case LF_SUB:
        f |= flags_carry_of(op >> 2, a, b, r, bits) ? FL_CF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? FL_AF : 0;
        f |= ((a ^ b) & (a ^ r) & sign) ? FL_OF : 0;
        break;
    case LF_INC:
        f |= c->eflags & FL_CF;
        f |= (r & 0xF) == 0 ? FL_AF : 0;
        f |= r == sign ? FL_OF : 0;
        break;
    case LF_DEC:
        f |= c->eflags & FL_CF;
        f |= (r & 0xF) == 0xF ? FL_AF : 0;
        f |= r == sign - 1 ? FL_OF : 0;
        break;
    default: /* LF_LOGIC: CF = OF = AF = 0 */
        break;
    }
    return f;
}

bool cpu_cond(const struct cpu *c, unsigned cc)
{
    bool r;
    /* Fast paths for the common compare-then-branch cases avoid materialising all flags. */
    uint32_t kind = c->lf_op >> 2;
    switch (cc >> 1) {
    case 2: /* Z */
        r = kind == LF_NONE ? (c->eflags & FL_ZF) != 0 : c->lf_res == 0;
        break;
    case 1: /* B */
        r = flags_cf(c);
        break;
    case 3: /* BE */
        r = flags_cf(c) || flags_zf(c);
        break;
    default: {
        uint32_t f = flags_arith(c);
        switch (cc >> 1) {
        case 0: r = f & FL_OF; break;
        case 4: r = f & FL_SF; break;
        case 5: r = f & FL_PF; break;
        case 6: r = !(f & FL_SF) != !(f & FL_OF); break;
        default: r = (f & FL_ZF) || (!(f & FL_SF) != !(f & FL_OF)); break;
        }
    }
    }
    return r ^ (cc & 1);
}
