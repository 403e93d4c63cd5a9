/* Data movement and flag-control instructions: MOV and its relatives, segment-register moves,
 * LxS, conversions, XLAT, BOUND, the flag byte (LAHF/SAHF) and the single-flag instructions. */
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static int32_t sign_ext(uint32_t v, unsigned size)
{
    return size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : (int32_t)v;
}

static unsigned iopl(const struct cpu *c) { return (c->eflags & FL_IOPL) >> 12; }

void exec_MOV(struct cpu *c, const struct insn *i)
{
    switch (i->form) {
    case FORM_GE: reg_set(c, i->reg, i->osize, e_read(c, i)); break;
    case FORM_EI: e_write(c, i, i->imm); break;
    default: e_write(c, i, reg_get(c, i->reg, i->osize)); break; /* FORM_EG */
    }
}

/* The E operand of MOVZX/MOVSX, of the source size. */
static uint32_t read_src(struct cpu *c, const struct insn *i)
{
    if (i->flags & INSN_F_MEM)
        return mem_read(c, i->seg, insn_ea(c, i), i->ssize);
    return reg_get(c, i->rm, i->ssize);
}

void exec_MOVZX(struct cpu *c, const struct insn *i)
{
    reg_set(c, i->reg, i->osize, read_src(c, i));
}

void exec_MOVSX(struct cpu *c, const struct insn *i)
{
    reg_set(c, i->reg, i->osize, (uint32_t)sign_ext(read_src(c, i), i->ssize));
}

void exec_LEA(struct cpu *c, const struct insn *i)
{
    reg_set(c, i->reg, i->osize, insn_ea(c, i)); /* already wrapped to the address size */
}

void exec_XCHG(struct cpu *c, const struct insn *i)
{
    /* With memory, XCHG is an implicitly locked read-modify-write: the access is checked for
     * writing first, so a read-only or absent page gives a write fault. */
    if (i->flags & INSN_F_MEM)
        mem_probe_write(c, i->seg, insn_ea(c, i), i->osize);
    uint32_t e = e_read(c, i);
    uint32_t g = reg_get(c, i->reg, i->osize);
    e_write(c, i, g); /* the only access that can still fault comes first */
    reg_set(c, i->reg, i->osize, e);
}

void exec_CMOV(struct cpu *c, const struct insn *i)
{
    uint32_t v = e_read(c, i); /* read (and fault) whatever the condition */
    if (cpu_cond(c, i->cond))
        reg_set(c, i->reg, i->osize, v);
}

void exec_SETCC(struct cpu *c, const struct insn *i)
{
    e_write(c, i, cpu_cond(c, i->cond) ? 1 : 0);
}

void exec_MOV_FROM_SEG(struct cpu *c, const struct insn *i)
{
    uint16_t sel = c->seg[i->sreg].sel;
    if (i->flags & INSN_F_MEM)
        mem_write(c, i->seg, insn_ea(c, i), sel, 2); /* a memory destination is always 16 bits */
    else if (i->osize == 4)
        c->regs[i->rm] = sel; /* P6: zero-extended */
    else
        reg_set(c, i->rm, 2, sel);
}

void exec_MOV_TO_SEG(struct cpu *c, const struct insn *i)
{
    uint16_t sel = (uint16_t)e_read(c, i);
    cpu_load_seg(c, i->sreg, sel);
    if (i->sreg == SR_SS)
        c->inhibit_irq = INHIBIT_SS; /* so that the following ESP load completes the switch */
}

void exec_LSEG(struct cpu *c, const struct insn *i)
{
    uint32_t ea = insn_ea(c, i);
    uint32_t off = mem_read(c, i->seg, ea, i->osize);
    /* Not wrapped to the address size: the pointer is one operand, so running past the
     * segment end faults. */
    uint16_t sel = (uint16_t)mem_read(c, i->seg, second_part(i, ea), 2);
    cpu_load_seg(c, i->sreg, sel);
    reg_set(c, i->reg, i->osize, off);
}

void exec_CBW(struct cpu *c, const struct insn *i)
{
    if (i->osize == 4)
        c->regs[R_EAX] = (uint32_t)(int32_t)(int16_t)c->regs[R_EAX];
    else
        reg_set(c, R_EAX, 2, (uint32_t)(int32_t)(int8_t)c->regs[R_EAX]);
}

void exec_CWD(struct cpu *c, const struct insn *i)
{
    bool neg = reg_get(c, R_EAX, i->osize) & size_sign(i->osize);
    reg_set(c, R_EDX, i->osize, neg ? 0xFFFFFFFFu : 0);
}

void exec_XLAT(struct cpu *c, const struct insn *i)
{
    uint32_t off = reg_get(c, R_EBX, i->asize) + (c->regs[R_EAX] & 0xFF);
    if (i->asize == 2)
        off &= 0xFFFF;
    reg_set(c, R_EAX, 1, mem_read(c, i->seg, off, 1));
}

void exec_NOP(struct cpu *c, const struct insn *i)
{
    (void)c; /* also the 0F 18..1F hint forms: their memory operand is never accessed */
    (void)i;
}

void exec_BOUND(struct cpu *c, const struct insn *i)
{
    uint32_t ea = insn_ea(c, i);
    int32_t lo = sign_ext(mem_read(c, i->seg, ea, i->osize), i->osize);
    int32_t hi = sign_ext(mem_read(c, i->seg, second_part(i, ea), i->osize), i->osize);
    int32_t idx = sign_ext(reg_get(c, i->reg, i->osize), i->osize);
    if (idx < lo || idx > hi)
        cpu_fault(c, EXC_BR);
}

#define FLAGS_BYTE (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

void exec_SAHF(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint32_t ah = (c->regs[R_EAX] >> 8) & 0xFF;
    flags_set_arith(c, (flags_arith(c) & FL_OF) | (ah & FLAGS_BYTE));
}

void exec_LAHF(struct cpu *c, const struct insn *i)
{
    (void)i;
    reg_set(c, 4 /* AH */, 1, cpu_get_eflags(c) & 0xFF);
}

void exec_CLC(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    c->eflags &= ~FL_CF;
}

void exec_STC(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    c->eflags |= FL_CF;
}

void exec_CMC(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_materialize(c);
    c->eflags ^= FL_CF;
}

void exec_CLD(struct cpu *c, const struct insn *i)
{
    (void)i;
    c->eflags &= ~FL_DF;
}

void exec_STD(struct cpu *c, const struct insn *i)
{
    (void)i;
    c->eflags |= FL_DF;
}

/* CLI/STI: IOPL-sensitive in protected mode; v8086 without VME faults below IOPL 3. */
static void check_if_change(struct cpu *c)
{
    if (cpu_protected(c) && (cpu_v86(c) ? iopl(c) < 3 : c->cpl > iopl(c)))
        cpu_fault_err(c, EXC_GP, 0);
}

void exec_CLI(struct cpu *c, const struct insn *i)
{
    (void)i;
    check_if_change(c);
    c->eflags &= ~FL_IF;
}

void exec_STI(struct cpu *c, const struct insn *i)
{
    (void)i;
    check_if_change(c);
    if (!(c->eflags & FL_IF))
        c->inhibit_irq = INHIBIT_IRQ; /* STI; RET / STI; HLT: no interrupt before the next instruction */
    c->eflags |= FL_IF;
}
