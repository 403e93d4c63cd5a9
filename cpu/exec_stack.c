/* Stack instructions: PUSH/POP of every kind, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE.
 *
 * Precise faults: registers other than ESP change only after the last access that can fault;
 * ESP itself is restored by the run loop when a fault unwinds the instruction. */
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static unsigned iopl(const struct cpu *c) { return (c->eflags & FL_IOPL) >> 12; }

void exec_PUSH(struct cpu *c, const struct insn *i)
{
    /* E is read before the decrement: PUSH ESP pushes the old value, and an ESP-based memory
     * operand uses the old ESP. */
    uint32_t v = i->form == FORM_I ? i->imm : e_read(c, i);
    push(c, v, i->osize);
}

void exec_POP(struct cpu *c, const struct insn *i)
{
    uint32_t v = pop(c, i->osize);
    /* Register: POP ESP keeps the popped value. Memory: the address is computed with the
     * incremented ESP; if the store faults the run loop puts ESP back. */
    e_write(c, i, v);
}

void exec_PUSH_SEG(struct cpu *c, const struct insn *i)
{
    uint16_t sel = c->seg[i->sreg].sel;
    if (i->osize == 2) {
        push(c, sel, 2);
        return;
    }
    /* P6 with a 32-bit operand: the slot is 4 bytes but only its low word is written. */
    uint32_t sp = (c->regs[R_ESP] - 4) & sp_mask(c);
    mem_write(c, SR_SS, sp, sel, 2);
    set_sp(c, sp);
}

void exec_POP_SEG(struct cpu *c, const struct insn *i)
{
    /* Popped with the old stack size; a fault in the load restores ESP. */
    uint16_t sel = (uint16_t)pop(c, i->osize);
    cpu_load_seg(c, i->sreg, sel);
    if (i->sreg == SR_SS)
        c->inhibit_irq = INHIBIT_SS;
}

void exec_PUSHA(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    uint32_t sp = c->regs[R_ESP], mask = sp_mask(c);
    /* Probe every slot first so a fault leaves memory as well as registers untouched. */
    for (unsigned k = 1; k <= 8; k++)
        mem_probe_write(c, SR_SS, (sp - k * os) & mask, os);
    for (unsigned r = R_EAX; r <= R_EDI; r++) /* ESP as it was before the first push */
        mem_write(c, SR_SS, (sp - (r + 1) * os) & mask, reg_get(c, r, os), os);
    set_sp(c, sp - 8 * os);
}

void exec_POPA(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    uint32_t v[8];
    for (unsigned k = 0; k < 8; k++) /* slot 0 holds EDI, slot 7 EAX */
        v[k] = stack_peek(c, k * os, os);
    for (unsigned r = R_EAX; r <= R_EDI; r++)
        if (r != R_ESP) /* the saved ESP is skipped */
            reg_set(c, r, os, v[7 - r]);
    set_sp(c, c->regs[R_ESP] + 8 * os);
}

void exec_PUSHF(struct cpu *c, const struct insn *i)
{
    if (cpu_v86(c) && iopl(c) < 3)
        cpu_fault_err(c, EXC_GP, 0); /* no VME yet */
    push(c, cpu_get_eflags(c) & ~(FL_VM | FL_RF), i->osize);
}

void exec_POPF(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    bool v86 = cpu_v86(c), pm = cpu_protected(c) && !v86;
    if (v86 && iopl(c) < 3)
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t v = pop(c, os);
    uint32_t cur = cpu_get_eflags(c);
    /* VM, RF, VIF, VIP are never loaded by POPF. */
    uint32_t w = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT;
    if (os == 4)
        w |= FL_AC | FL_ID;
    if (v86)
        w &= ~FL_IOPL;
    if (pm) {
        if (c->cpl != 0)
            w &= ~FL_IOPL;
        if (c->cpl > iopl(c))
            w &= ~FL_IF; /* silently kept */
    }
    uint32_t nv = (cur & ~w) | (v & w);
    if (pm && os == 4)
        nv &= ~FL_RF;
    cpu_set_eflags(c, nv);
}

void exec_ENTER(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize, level = i->imm2 & 31;
    uint32_t mask = sp_mask(c);
    uint32_t sp = c->regs[R_ESP];
    /* Pushes go to memory in order; the registers are written only at the end. */
    sp = (sp - os) & mask;
    mem_write(c, SR_SS, sp, reg_get(c, R_EBP, os), os);
    uint32_t frame = (c->regs[R_ESP] & ~mask) | sp; /* (E)SP after the first push */
    if (level > 0) {
        uint32_t bp = c->regs[R_EBP]; /* a copy: EBP stays intact if a read faults */
        for (unsigned k = 1; k < level; k++) {
            bp = (bp - os) & mask;
            uint32_t v = mem_read(c, SR_SS, bp, os);
            sp = (sp - os) & mask;
            mem_write(c, SR_SS, sp, v, os);
        }
        sp = (sp - os) & mask;
        mem_write(c, SR_SS, sp, frame, os);
    }
    sp = (sp - (i->imm & 0xFFFF)) & mask;
    /* The processor checks the final stack pointer with a write-intent access (no store). */
    mem_probe_write(c, SR_SS, sp, os);
    set_sp(c, sp);
    reg_set(c, R_EBP, os, frame);
}

void exec_LEAVE(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    uint32_t bp = c->regs[R_EBP] & sp_mask(c);
    uint32_t v = mem_read(c, SR_SS, bp, os);
    set_sp(c, bp + os);
    reg_set(c, R_EBP, os, v);
}
