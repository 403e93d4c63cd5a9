/* Protected-mode segment loads and interrupt delivery.
 *
 * Segment loads of data and stack segments are complete here. Interrupt delivery through the
 * IDT, far transfers through gates and task switches belong to the system-architecture work
 * (issue 3): until then a protected-mode interrupt stops the machine with a message instead
 * of running the guest on with wrong state. */
#include <stdio.h>

#include "cpu/flags.h"

#include "cpu/desc.h"
#include "cpu/exec.h"
#include "cpu/mem.h"

uint32_t desc_addr(const struct cpu *c, uint16_t sel)
{
    return ((sel & 4) ? c->ldtr.base : c->gdtr.base) + (sel & 0xFFF8u);
}

bool desc_fetch(struct cpu *c, uint16_t sel, uint64_t *d)
{
    const bool ldt = sel & 4;
    if (!ldt && (sel & 0xFFFC) == 0)
        return false;
    if (ldt && (!(c->ldtr.attr & SEG_P) || (c->ldtr.sel & 0xFFFC) == 0))
        return false;
    uint32_t limit = ldt ? c->ldtr.limit : c->gdtr.limit;
    if ((uint32_t)(sel & 0xFFF8) + 7 > limit)
        return false;
    uint32_t a = desc_addr(c, sel);
    uint32_t lo = lin_read_priv(c, a, 4, PRIV_SUPER);
    uint32_t hi = lin_read_priv(c, a + 4, 4, PRIV_SUPER);
    *d = (uint64_t)hi << 32 | lo;
    return true;
}

static uint64_t read_descriptor(struct cpu *c, uint16_t sel, int exc)
{
    uint64_t d;
    if (!desc_fetch(c, sel, &d))
        cpu_fault_err(c, exc, sel & 0xFFFC);
    return d;
}

static void set_accessed(struct cpu *c, uint16_t sel, uint32_t hi)
{
    if (!(hi & 0x100))
        lin_write_priv(c, desc_addr(c, sel) + 4, hi | 0x100, 4, PRIV_SUPER);
}

void desc_load_cache(struct cpu *c, int sreg, uint16_t sel, uint64_t d)
{
    cpu_set_seg_cache(c, sreg, sel, desc_base(d), desc_limit(d), (desc_hi(d) | 0x100) & SEG_ATTR_MASK);
}

void cpu_load_seg_protected(struct cpu *c, int sreg, uint16_t sel)
{
    unsigned rpl = sel & 3, cpl = c->cpl;
    if ((sel & 0xFFFC) == 0) {
        if (sreg == SR_SS || sreg == SR_CS)
            cpu_fault_err(c, EXC_GP, 0);
        /* A null selector loads an unusable segment; the fault comes at use. */
        struct seg *s = &c->seg[sreg];
        s->sel = sel;
        s->base = 0;
        s->limit = 0;
        s->attr = 0;
        s->rights = 0;
        s->valid_lo = 1;
        s->valid_hi = 0;
        return;
    }
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = (uint32_t)(d >> 32);
    unsigned type = SEG_TYPE(hi), dpl = SEG_DPL(hi);
    bool is_code = (hi & SEG_S) && (type & 8);
    bool is_data = (hi & SEG_S) && !(type & 8);
    if (sreg == SR_SS) {
        if (rpl != cpl || !is_data || !(type & 2) || dpl != cpl)
            cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
        if (!(hi & SEG_P))
            cpu_fault_err(c, EXC_SS, sel & 0xFFFC);
    } else if (sreg == SR_CS) {
        /* CS is loaded only by far transfers, which do their own checks first. */
        if (!is_code)
            cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
        if (!(hi & SEG_P))
            cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    } else {
        if (!is_data && !(is_code && (type & 2)))
            cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
        /* Data and non-conforming code: DPL must be >= both CPL and RPL. */
        if ((is_data || !(type & 4)) && (dpl < cpl || dpl < rpl))
            cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
        if (!(hi & SEG_P))
            cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    }
    set_accessed(c, sel, hi);
    desc_load_cache(c, sreg, sel, d);
}

void cpu_deliver_protected(struct cpu *c, int vector, bool soft, uint32_t error_code,
                           bool has_error)
{
    (void)soft;
    fprintf(stderr,
            "bt86: interrupt %d (error %s0x%x) in protected mode at %04x:%08x: IDT delivery is "
            "not implemented yet; stopping the machine\n",
            vector, has_error ? "" : "none, ", error_code, c->seg[SR_CS].sel, c->insn_eip);
    c->shutdown = true;
    c->stop_requested = true;
}

/* Transfers that need gates, task switches or a privilege change are the system-architecture
 * work (issue 3). Until then they stop the machine visibly instead of running on wrongly. */
static void unsupported_transfer(struct cpu *c, const char *what, uint16_t sel)
{
    fprintf(stderr, "bt86: %s to selector %04x at %04x:%08x is not implemented yet; stopping\n",
            what, sel, c->seg[SR_CS].sel, c->insn_eip);
    c->shutdown = true;
    c->stop_requested = true;
}

/* Checks for a direct far JMP/CALL to a code segment; returns the descriptor, or 0 after
 * reporting an unsupported system-descriptor target. */
static bool check_code_target(struct cpu *c, uint16_t sel, uint64_t *d, const char *what)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    *d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(*d);
    unsigned dpl = SEG_DPL(hi), rpl = sel & 3, cpl = c->cpl;
    if (!(hi & SEG_S)) {
        unsupported_transfer(c, what, sel);
        return false;
    }
    if (!(SEG_TYPE(hi) & 8))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (SEG_TYPE(hi) & 4) { /* conforming */
        if (dpl > cpl)
            cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    } else if (rpl > cpl || dpl != cpl) {
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    }
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    return true;
}

static void enter_code(struct cpu *c, uint16_t sel, uint64_t d, uint32_t off, unsigned osize)
{
    if (osize == 2)
        off &= 0xFFFF;
    if (off > desc_limit(d))
        cpu_fault_err(c, EXC_GP, 0);
    set_accessed(c, sel, desc_hi(d));
    /* The CPL does not change: RPL of the loaded CS is the current privilege. */
    desc_load_cache(c, SR_CS, (uint16_t)((sel & 0xFFFC) | c->cpl), d);
    c->eip = off;
}

void cpu_far_jump_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize)
{
    uint64_t d;
    if (check_code_target(c, sel, &d, "far JMP through a gate or TSS"))
        enter_code(c, sel, d, off, osize);
}

void cpu_far_call_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize)
{
    uint64_t d;
    if (!check_code_target(c, sel, &d, "far CALL through a gate or TSS"))
        return;
    uint32_t sp = c->regs[R_ESP];
    uint32_t mask = sp_mask(c);
    mem_probe_write(c, SR_SS, (sp - 2 * osize) & mask, 2 * osize);
    if ((osize == 2 ? off & 0xFFFF : off) > desc_limit(d))
        cpu_fault_err(c, EXC_GP, 0);
    uint16_t old_cs = c->seg[SR_CS].sel;
    uint32_t old_eip = c->eip;
    push(c, old_cs, osize);
    push(c, old_eip, osize);
    enter_code(c, sel, d, off, osize);
}

void cpu_far_ret_protected(struct cpu *c, unsigned osize, uint16_t pop_bytes)
{
    uint32_t off = stack_peek(c, 0, osize);
    uint16_t sel = (uint16_t)stack_peek(c, osize, osize);
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    unsigned rpl = sel & 3;
    if (rpl < c->cpl || !(hi & SEG_S) || !(SEG_TYPE(hi) & 8))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (rpl > c->cpl) {
        unsupported_transfer(c, "far RET to an outer privilege level", sel);
        return;
    }
    if ((SEG_TYPE(hi) & 4) ? SEG_DPL(hi) > rpl : SEG_DPL(hi) != rpl)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    enter_code(c, sel, d, off, osize);
    set_sp(c, c->regs[R_ESP] + 2 * osize + pop_bytes);
}

void cpu_iret_protected(struct cpu *c, unsigned osize)
{
    if (c->eflags & FL_NT) {
        unsupported_transfer(c, "IRET with NT set (task return)", c->tr.sel);
        return;
    }
    uint32_t off = stack_peek(c, 0, osize);
    uint16_t sel = (uint16_t)stack_peek(c, osize, osize);
    uint32_t fl = stack_peek(c, 2 * osize, osize);
    if (osize == 4 && (fl & FL_VM) && c->cpl == 0) {
        unsupported_transfer(c, "IRET to v8086 mode", sel);
        return;
    }
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    unsigned rpl = sel & 3;
    if (rpl < c->cpl || !(hi & SEG_S) || !(SEG_TYPE(hi) & 8))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (rpl > c->cpl) {
        unsupported_transfer(c, "IRET to an outer privilege level", sel);
        return;
    }
    if ((SEG_TYPE(hi) & 4) ? SEG_DPL(hi) > rpl : SEG_DPL(hi) != rpl)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    uint32_t old = cpu_get_eflags(c);
    uint32_t writable = FL_ARITH | FL_TF | FL_DF | FL_NT;
    if (osize == 4)
        writable |= FL_AC | FL_ID | FL_RF;
    if (c->cpl == 0)
        writable |= FL_IOPL | (osize == 4 ? FL_VIF | FL_VIP : 0);
    if (c->cpl <= ((old & FL_IOPL) >> 12))
        writable |= FL_IF;
    enter_code(c, sel, d, off, osize);
    set_sp(c, c->regs[R_ESP] + 3 * osize);
    cpu_set_eflags(c, (old & ~writable) | (fl & writable));
}

bool cpu_io_allowed(struct cpu *c, uint16_t port, unsigned size)
{
    if (!cpu_v86(c) && c->cpl <= ((c->eflags & FL_IOPL) >> 12))
        return true;
    /* The I/O permission bitmap of a 32-bit TSS: every bit of the accessed ports must be 0. */
    unsigned type = SEG_TYPE(c->tr.attr);
    if (!(c->tr.attr & SEG_P) || (type != 9 && type != 11) || c->tr.limit < 0x67)
        return false;
    uint32_t map = lin_read_priv(c, c->tr.base + 0x66, 2, PRIV_SUPER);
    uint32_t byte = map + port / 8;
    if (byte + 1 > c->tr.limit)
        return false;
    uint32_t bits = lin_read_priv(c, c->tr.base + byte, 2, PRIV_SUPER);
    uint32_t mask = ((1u << size) - 1) << (port & 7);
    return (bits & mask) == 0;
}
