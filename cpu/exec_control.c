/* Control transfer: near and far jumps, calls and returns, IRET, software interrupts, the LOOP
 * family, and HLT. Real and v8086 mode far transfers are done here; protected mode ones go to
 * cpu/protmode.c. */
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static unsigned iopl(const struct cpu *c) { return (c->eflags & FL_IOPL) >> 12; }

static bool pm_transfer(const struct cpu *c) { return cpu_protected(c) && !cpu_v86(c); }

/* Target of a relative branch; IP wraps at 64 KiB with a 16-bit operand size. */
static uint32_t rel_target(const struct cpu *c, const struct insn *i)
{
    uint32_t t = c->eip + (uint32_t)i->disp;
    return i->osize == 2 ? t & 0xFFFF : t;
}

static void check_cs_limit(struct cpu *c, uint32_t target)
{
    if (target > c->seg[SR_CS].limit)
        cpu_fault_err(c, EXC_GP, 0);
}

void exec_JCC(struct cpu *c, const struct insn *i)
{
    if (cpu_cond(c, i->cond))
        jump_near(c, rel_target(c, i));
}

void exec_JMP(struct cpu *c, const struct insn *i) { jump_near(c, rel_target(c, i)); }

void exec_JMP_E(struct cpu *c, const struct insn *i) { jump_near(c, e_read(c, i)); }

static void call_near(struct cpu *c, const struct insn *i, uint32_t target)
{
    check_cs_limit(c, target); /* before the push, as the SDM orders it */
    push(c, c->eip, i->osize);
    c->eip = target;
}

void exec_CALL(struct cpu *c, const struct insn *i) { call_near(c, i, rel_target(c, i)); }

void exec_CALL_E(struct cpu *c, const struct insn *i) { call_near(c, i, e_read(c, i)); }

void exec_RET(struct cpu *c, const struct insn *i)
{
    uint32_t target = pop(c, i->osize);
    check_cs_limit(c, target);
    if (i->form == FORM_I)
        set_sp(c, c->regs[R_ESP] + (i->imm & 0xFFFF));
    c->eip = target;
}

/* Far pointer operand of JMPF_M/CALLF_M: offset of operand size, then the selector. */
static void read_far_ptr(struct cpu *c, const struct insn *i, uint16_t *sel, uint32_t *off)
{
    uint32_t ea = insn_ea(c, i);
    *off = mem_read(c, i->seg, ea, i->osize);
    *sel = (uint16_t)mem_read(c, i->seg, second_part(i, ea), 2);
}

static void far_jump(struct cpu *c, uint16_t sel, uint32_t off, unsigned os)
{
    if (pm_transfer(c)) {
        cpu_far_jump_protected(c, sel, off, os);
        return;
    }
    if (os == 2)
        off &= 0xFFFF;
    check_cs_limit(c, off); /* real-mode CS limit is unchanged by the load */
    cpu_load_seg(c, SR_CS, sel);
    c->eip = off;
}

static void far_call(struct cpu *c, uint16_t sel, uint32_t off, unsigned os)
{
    if (pm_transfer(c)) {
        cpu_far_call_protected(c, sel, off, os);
        return;
    }
    uint32_t mask = sp_mask(c), sp = c->regs[R_ESP];
    uint32_t cs_slot = (sp - os) & mask, ip_slot = (sp - 2 * os) & mask;
    mem_probe_write(c, SR_SS, cs_slot, os);
    mem_probe_write(c, SR_SS, ip_slot, os);
    if (os == 2)
        off &= 0xFFFF;
    else if (off >> 16)
        cpu_fault_err(c, EXC_GP, 0);
    check_cs_limit(c, off);
    mem_write(c, SR_SS, cs_slot, c->seg[SR_CS].sel, os); /* zero-extended with 32 bits */
    mem_write(c, SR_SS, ip_slot, c->eip, os);
    set_sp(c, ip_slot);
    cpu_load_seg(c, SR_CS, sel);
    c->eip = off;
}

void exec_JMPF(struct cpu *c, const struct insn *i)
{
    far_jump(c, (uint16_t)i->imm2, i->imm, i->osize);
}

void exec_JMPF_M(struct cpu *c, const struct insn *i)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(c, i, &sel, &off);
    far_jump(c, sel, off, i->osize);
}

void exec_CALLF(struct cpu *c, const struct insn *i)
{
    far_call(c, (uint16_t)i->imm2, i->imm, i->osize);
}

void exec_CALLF_M(struct cpu *c, const struct insn *i)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(c, i, &sel, &off);
    far_call(c, sel, off, i->osize);
}

void exec_RETF(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    uint16_t extra = i->form == FORM_I ? (uint16_t)i->imm : 0;
    if (pm_transfer(c)) {
        cpu_far_ret_protected(c, os, extra);
        return;
    }
    uint32_t off = stack_peek(c, 0, os);
    uint16_t sel = (uint16_t)stack_peek(c, os, os);
    check_cs_limit(c, off);
    cpu_load_seg(c, SR_CS, sel);
    c->eip = off;
    set_sp(c, c->regs[R_ESP] + 2 * os + extra);
}

void exec_IRET(struct cpu *c, const struct insn *i)
{
    unsigned os = i->osize;
    if (pm_transfer(c)) {
        cpu_iret_protected(c, os);
        return;
    }
    bool v86 = cpu_v86(c);
    if (v86 && iopl(c) < 3)
        cpu_fault_err(c, EXC_GP, 0); /* to the v8086 monitor (no VME) */
    uint32_t off = stack_peek(c, 0, os);
    uint16_t sel = (uint16_t)stack_peek(c, os, os);
    uint32_t fl = stack_peek(c, 2 * os, os);
    if (!v86 && (off >> 16))
        cpu_fault_err(c, EXC_GP, 0);
    check_cs_limit(c, off);
    /* A 16-bit IRET keeps EFLAGS bits 16-31; a 32-bit one keeps only VM, VIF and VIP. */
    uint32_t w = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT;
    if (os == 4)
        w |= FL_RF | FL_AC | FL_ID;
    if (v86)
        w &= ~FL_IOPL;
    uint32_t cur = cpu_get_eflags(c);
    cpu_load_seg(c, SR_CS, sel);
    c->eip = off;
    set_sp(c, c->regs[R_ESP] + 3 * os);
    cpu_set_eflags(c, (cur & ~w) | (fl & w));
}

void exec_INT(struct cpu *c, const struct insn *i)
{
    if (cpu_v86(c) && iopl(c) < 3)
        cpu_fault_err(c, EXC_GP, 0);
    cpu_deliver(c, (int)(i->imm & 0xFF), true, 0, false);
}

void exec_INT3(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_deliver(c, EXC_BP, true, 0, false);
}

void exec_INTO(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (cpu_cond(c, 0)) /* condition 0: OF */
        cpu_deliver(c, EXC_OF, true, 0, false);
}

void exec_INT1(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_deliver(c, EXC_DB, false, 0, false); /* ICEBP: no gate DPL check */
}

/* LOOP family: count in CX or ECX by address size; the count is written only once the branch
 * target is known to be valid. */
static void loop_common(struct cpu *c, const struct insn *i, bool cond)
{
    uint32_t count = (reg_get(c, R_ECX, i->asize) - 1) & size_mask(i->asize);
    bool taken = count != 0 && cond;
    uint32_t target = 0;
    if (taken) {
        target = rel_target(c, i);
        check_cs_limit(c, target);
    }
    reg_set(c, R_ECX, i->asize, count);
    if (taken)
        c->eip = target;
}

void exec_LOOP(struct cpu *c, const struct insn *i) { loop_common(c, i, true); }

void exec_LOOPE(struct cpu *c, const struct insn *i) { loop_common(c, i, flags_zf(c)); }

void exec_LOOPNE(struct cpu *c, const struct insn *i) { loop_common(c, i, !flags_zf(c)); }

void exec_JCXZ(struct cpu *c, const struct insn *i)
{
    if (reg_get(c, R_ECX, i->asize) == 0)
        jump_near(c, rel_target(c, i));
}

void exec_HLT(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (cpu_protected(c) && c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
    c->halted = true;
}
