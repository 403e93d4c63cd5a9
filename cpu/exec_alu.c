/* Two-operand ALU instructions, INC/DEC/NOT/NEG and the exchange-and-operate family. All of them
 * record their flags lazily (cpu/flags.h). */
#include "cpu/exec.h"
#include "cpu/exec_rmw.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

enum alu_kind { K_ADD, K_OR, K_ADC, K_SBB, K_AND, K_SUB, K_XOR, K_CMP, K_TEST };

/* Inlined into each exec_ wrapper so the kind is a constant there. */
static inline __attribute__((always_inline)) void alu(struct cpu *c, const struct insn *i,
                                                      enum alu_kind k)
{
    const unsigned sz = i->osize;
    const uint32_t m = size_mask(sz);
    const bool writes = k != K_CMP && k != K_TEST;
    struct rmw at;
    uint32_t a, b;

    /* Carry-in before any state changes (only flags_cf() reads the lazy record). */
    const uint32_t cin = (k == K_ADC || k == K_SBB) ? flags_cf(c) : 0;

    if (i->form == FORM_GE) {
        a = reg_get(c, i->reg, sz);
        b = e_read(c, i);
    } else {
        a = writes ? rmw_read(c, i, &at) : e_read(c, i);
        b = i->form == FORM_EI ? i->imm & m : reg_get(c, i->reg, sz);
    }

    uint32_t r;
    unsigned lf;
    switch (k) {
    case K_ADD: r = a + b; lf = LF_ADD; break;
    case K_ADC: r = a + b + cin; lf = LF_ADD; break;
    case K_SUB: case K_CMP: r = a - b; lf = LF_SUB; break;
    case K_SBB: r = a - b - cin; lf = LF_SUB; break;
    case K_OR: r = a | b; lf = LF_LOGIC; break;
    case K_XOR: r = a ^ b; lf = LF_LOGIC; break;
    default: r = a & b; lf = LF_LOGIC; break; /* AND, TEST */
    }
    r &= m;

    if (writes) {
        if (i->form == FORM_GE)
            reg_set(c, i->reg, sz, r);
        else
            rmw_write(c, i, &at, r);
    }
    flags_lazy(c, lf, sz, a, b, r);
}

void exec_ADD(struct cpu *c, const struct insn *i) { alu(c, i, K_ADD); }
void exec_OR(struct cpu *c, const struct insn *i) { alu(c, i, K_OR); }
void exec_ADC(struct cpu *c, const struct insn *i) { alu(c, i, K_ADC); }
void exec_SBB(struct cpu *c, const struct insn *i) { alu(c, i, K_SBB); }
void exec_AND(struct cpu *c, const struct insn *i) { alu(c, i, K_AND); }
void exec_SUB(struct cpu *c, const struct insn *i) { alu(c, i, K_SUB); }
void exec_XOR(struct cpu *c, const struct insn *i) { alu(c, i, K_XOR); }
void exec_CMP(struct cpu *c, const struct insn *i) { alu(c, i, K_CMP); }
void exec_TEST(struct cpu *c, const struct insn *i) { alu(c, i, K_TEST); }

/* INC/DEC keep CF, which the LF_INC/LF_DEC record takes from cpu->eflags. */
static void incdec(struct cpu *c, const struct insn *i, unsigned lf)
{
    const unsigned sz = i->osize;
    struct rmw at;
    uint32_t a = rmw_read(c, i, &at);
    uint32_t r = (lf == LF_INC ? a + 1 : a - 1) & size_mask(sz);
    rmw_write(c, i, &at, r);
    if (flags_cf(c))
        c->eflags |= FL_CF;
    else
        c->eflags &= ~FL_CF;
    flags_lazy(c, lf, sz, a, 1, r);
}

void exec_INC(struct cpu *c, const struct insn *i) { incdec(c, i, LF_INC); }
void exec_DEC(struct cpu *c, const struct insn *i) { incdec(c, i, LF_DEC); }

void exec_NOT(struct cpu *c, const struct insn *i)
{
    struct rmw at;
    uint32_t a = rmw_read(c, i, &at);
    rmw_write(c, i, &at, ~a & size_mask(i->osize));
}

/* NEG is 0 - E: CF is set exactly when E was nonzero, which the SUB borrow rule gives. */
void exec_NEG(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    struct rmw at;
    uint32_t b = rmw_read(c, i, &at);
    uint32_t r = (0u - b) & size_mask(sz);
    rmw_write(c, i, &at, r);
    flags_lazy(c, LF_SUB, sz, 0, b, r);
}

/* CMPXCHG E,G: compare the accumulator with E. The destination is written in both outcomes
 * (with its own value on a mismatch), so a read-only destination always faults. */
void exec_CMPXCHG(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    struct rmw at;
    uint32_t d = rmw_read(c, i, &at);
    uint32_t acc = reg_get(c, R_EAX, sz);
    uint32_t r = (acc - d) & size_mask(sz);
    if (acc == d) {
        rmw_write(c, i, &at, reg_get(c, i->reg, sz));
    } else {
        rmw_write(c, i, &at, d);
        reg_set(c, R_EAX, sz, d);
    }
    flags_lazy(c, LF_SUB, sz, acc, d, r);
}

/* CMPXCHG8B m64: compare EDX:EAX with m64; equal -> m64 = ECX:EBX, else EDX:EAX = m64. Only ZF
 * changes. Both halves are checked for writing first so a fault leaves memory untouched. */
void exec_CMPXCHG8B(struct cpu *c, const struct insn *i)
{
    uint32_t ea = insn_ea(c, i);
    mem_probe_write(c, i->seg, ea, 8);
    uint32_t lin = seg_linear(c, i->seg, ea, 8, SEGR_WRITE);
    uint32_t lo = lin_read(c, lin, 4);
    uint32_t hi = lin_read(c, lin + 4, 4);
    bool eq = lo == c->regs[R_EAX] && hi == c->regs[R_EDX];
    if (eq) {
        lin_write(c, lin, c->regs[R_EBX], 4);
        lin_write(c, lin + 4, c->regs[R_ECX], 4);
    } else {
        lin_write(c, lin, lo, 4);
        lin_write(c, lin + 4, hi, 4);
        c->regs[R_EAX] = lo;
        c->regs[R_EDX] = hi;
    }
    flags_materialize(c);
    if (eq)
        c->eflags |= FL_ZF;
    else
        c->eflags &= ~FL_ZF;
}

/* XADD E,G: TEMP = E + G; G = E; E = TEMP. E is assigned last, so XADD r,r with the same
 * register leaves the sum; a memory E is written first because only it can fault. */
void exec_XADD(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    struct rmw at;
    uint32_t d = rmw_read(c, i, &at);
    uint32_t s = reg_get(c, i->reg, sz);
    uint32_t r = (d + s) & size_mask(sz);
    if (i->flags & INSN_F_MEM) {
        rmw_write(c, i, &at, r);
        reg_set(c, i->reg, sz, d);
    } else {
        reg_set(c, i->reg, sz, d);
        rmw_write(c, i, &at, r);
    }
    flags_lazy(c, LF_ADD, sz, d, s, r);
}
