/* The EFLAGS bits the Intel SDM calls undefined after each instruction (i686). Instructions not
 * listed leave every flag either defined or unchanged. Shift entries depend on the masked count,
 * taken from the state before the instruction. */
#include "cpu/undef_flags.h"

#define SZP (FL_SF | FL_ZF | FL_PF)

static unsigned masked_count(const struct insn *i, const struct cpu *before)
{
    uint32_t n = (i->form == FORM_ECL || i->form == FORM_EGCL) ? before->regs[R_ECX] : i->imm;
    return n & 0x1F;
}

uint32_t insn_undefined_flags(const struct insn *i, const struct cpu *before)
{
    unsigned bits = i->osize * 8u;
    switch (i->op) {
    case OP_AND: case OP_OR: case OP_XOR: case OP_TEST:
        return FL_AF;

    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR: {
        unsigned n = masked_count(i, before);
        if (n == 0)
            return 0;
        uint32_t u = FL_AF | (n > 1 ? FL_OF : 0);
        /* SDM: CF is undefined for SHL/SHR when the count is >= the operand width (only
         * reachable for 8/16-bit operands). SAR's CF stays defined (copies of the sign). */
        if (i->op != OP_SAR && n >= bits)
            u |= FL_CF;
        return u;
    }
    case OP_ROL: case OP_ROR: case OP_RCL: case OP_RCR:
        return masked_count(i, before) > 1 ? FL_OF : 0;

    case OP_SHLD: case OP_SHRD: {
        unsigned n = masked_count(i, before);
        if (n == 0)
            return 0;
        /* A count above the operand width (16-bit only) leaves the result undefined too; the
         * destination register/memory value must then be ignored as well as the flags. */
        if (n > bits)
            return FL_ARITH;
        return FL_AF | (n > 1 ? FL_OF : 0);
    }

    case OP_MUL: case OP_IMUL1: case OP_IMUL: case OP_IMUL3:
        return SZP | FL_AF;
    case OP_DIV: case OP_IDIV:
        return FL_ARITH;

    case OP_DAA: case OP_DAS:
        return FL_OF;
    case OP_AAA: case OP_AAS:
        return FL_OF | SZP;
    case OP_AAM: case OP_AAD:
        return FL_OF | FL_AF | FL_CF;

    case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC:
        return FL_OF | FL_SF | FL_AF | FL_PF;
    case OP_BSF: case OP_BSR:
        return FL_CF | FL_OF | FL_SF | FL_AF | FL_PF;

    /* MOV to/from CRn and DRn: "The OF, SF, ZF, AF, PF, and CF flags are undefined." */
    case OP_MOV_FROM_CR: case OP_MOV_TO_CR: case OP_MOV_FROM_DR: case OP_MOV_TO_DR:
        return FL_ARITH;

    default:
        return 0;
    }
}
