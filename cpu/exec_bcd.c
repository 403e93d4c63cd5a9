/* Decimal adjust instructions and SALC, after the SDM pseudo-code.
 *
 * Undefined flags: DAA/DAS clear OF; AAA/AAS take SF/ZF/PF from the final AL and clear OF;
 * AAM clears OF/AF/CF; AAD reports the flags of its final 8-bit addition (AL + AH*base), as
 * P6-class hardware does. */
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static inline uint32_t al(const struct cpu *c) { return c->regs[R_EAX] & 0xFF; }

void exec_DAA(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint32_t f = flags_arith(c);
    uint32_t old_al = al(c), a = old_al, out = 0;
    if ((a & 0x0F) > 9 || (f & FL_AF)) {
        a += 6;
        out |= FL_AF;
    }
    /* The carry of the first step is always overwritten by the second. */
    if (old_al > 0x99 || (f & FL_CF)) {
        a += 0x60;
        out |= FL_CF;
    }
    reg_set(c, R_EAX, 1, a);
    flags_set_arith(c, out | flags_szp(a, 1));
}

void exec_DAS(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint32_t f = flags_arith(c);
    uint32_t old_al = al(c), a = old_al, out = 0;
    if ((a & 0x0F) > 9 || (f & FL_AF)) {
        /* Unlike DAA, a borrow here survives when the second step is not taken. */
        if (a < 6 || (f & FL_CF))
            out |= FL_CF;
        a -= 6;
        out |= FL_AF;
    }
    if (old_al > 0x99 || (f & FL_CF)) {
        a -= 0x60;
        out |= FL_CF;
    }
    a &= 0xFF;
    reg_set(c, R_EAX, 1, a);
    flags_set_arith(c, out | flags_szp(a, 1));
}

/* AAA/AAS adjust all of AX (AX +/- 6 carries or borrows into AH), then AH +/- 1. */
static void ascii_adjust(struct cpu *c, bool add)
{
    uint32_t f = flags_arith(c);
    uint32_t ax = c->regs[R_EAX] & 0xFFFF, out = 0;
    if ((ax & 0x0F) > 9 || (f & FL_AF)) {
        ax = add ? ax + 0x106 : ax - 0x106;
        out = FL_AF | FL_CF;
    }
    ax = (ax & 0xFF00) | (ax & 0x0F);
    reg_set(c, R_EAX, 2, ax);
    flags_set_arith(c, out | flags_szp(ax, 1));
}

void exec_AAA(struct cpu *c, const struct insn *i) { (void)i; ascii_adjust(c, true); }
void exec_AAS(struct cpu *c, const struct insn *i) { (void)i; ascii_adjust(c, false); }

void exec_AAM(struct cpu *c, const struct insn *i)
{
    uint32_t base = i->imm & 0xFF, a = al(c);
    if (base == 0)
        cpu_fault(c, EXC_DE);
    uint32_t q = a / base, r = a % base;
    reg_set(c, R_EAX, 2, q << 8 | r);
    flags_set_arith(c, flags_szp(r, 1));
}

void exec_AAD(struct cpu *c, const struct insn *i)
{
    uint32_t base = i->imm & 0xFF;
    uint32_t a = al(c), b = (((c->regs[R_EAX] >> 8) & 0xFF) * base) & 0xFF;
    uint32_t r = (a + b) & 0xFF;
    reg_set(c, R_EAX, 2, r);
    flags_lazy(c, LF_ADD, 1, a, b, r);
}

/* SALC (undocumented D6): AL = CF ? FF : 00, flags unchanged. */
void exec_SALC(struct cpu *c, const struct insn *i)
{
    (void)i;
    reg_set(c, R_EAX, 1, flags_cf(c) ? 0xFF : 0);
}
