/* Hardware task switch (Intel SDM vol. 3, ch. 7), for 32-bit (type 9/11) and 16-bit (type 1/3)
 * TSSs.
 *
 * Two phases, split at the SDM's commit point:
 *  1. Checks of the new TSS descriptor, then every page the switch will touch before the
 *     commit (old TSS save area, busy bits, back-link, new TSS image) is probed, so a fault here
 *     leaves the machine exactly as before the instruction (cpu_run restores EIP/ESP).
 *  2. Old state saved, busy bits and back-link written, TR loaded: from here on the switch is
 *     done, and faults while loading LDTR and the segment registers are raised in the new task's
 *     context (insn_eip/insn_esp point at the new task, so cpu_run's unwind keeps it).
 *
 * Left to the callers (they know whether a gate was involved and what started the switch):
 * DPL checks of the TSS descriptor or task gate, the EXT bit of error codes, and delivering the
 * #DB that DR6.BT announces when the new TSS has its T bit set. */
#include "cpu/task.h"

#include "cpu/debug.h"
#include "cpu/desc.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

#define DESC_BUSY 0x200u     /* busy bit (type bit 1) in a TSS descriptor's high dword */
#define DESC_ACCESSED 0x100u /* accessed bit in a code/data descriptor's high dword */
#define DR7_LOCAL_ENABLES 0x155u /* L0-L3 and LE: cleared by every task switch */

/* 32-bit TSS layout. Segment selectors are in enum SR_* order (ES CS SS DS FS GS). */
enum {
    T32_LINK = 0x00, T32_CR3 = 0x1C, T32_EIP = 0x20, T32_EFLAGS = 0x24, T32_GPR = 0x28,
    T32_SREG = 0x48, T32_LDT = 0x60, T32_TRAP = 0x64, T32_MIN_LIMIT = 0x67,
};
/* 16-bit TSS layout: only ES CS SS DS. */
enum {
    T16_LINK = 0x00, T16_IP = 0x0E, T16_FLAGS = 0x10, T16_GPR = 0x12, T16_SREG = 0x22,
    T16_LDT = 0x2A, T16_MIN_LIMIT = 0x2B,
};

/* The dynamic state a new TSS supplies. */
struct tss_image {
    uint32_t cr3, eip, eflags;
    uint32_t regs[8];
    uint16_t sreg[SR_COUNT];
    uint16_t ldt;
    bool trap;
};

static uint32_t sys_read(struct cpu *c, uint32_t lin, unsigned size)
{
    return lin_read_priv(c, lin, size, PRIV_SUPER);
}

static void sys_write(struct cpu *c, uint32_t lin, uint32_t v, unsigned size)
{
    lin_write_priv(c, lin, v, size, PRIV_SUPER);
}

/* Fault now (#PF) if a read of [lin, lin + size) could fault later; size < one page. */
static void probe_read(struct cpu *c, uint32_t lin, uint32_t size)
{
    sys_read(c, lin, 1);
    sys_read(c, lin + size - 1, 1);
}

static void probe_write(struct cpu *c, uint32_t lin, uint32_t size)
{
    mem_probe_write_slow(c, lin, size, PRIV_SUPER);
}

static bool tss_is_32(unsigned type) { return type & 8; }

/* Whether the TR cache describes a 16-bit TSS; anything else (including the reset state,
 * where TR was never loaded) is saved in the 32-bit layout. */
static bool tr_is_16(const struct cpu *c)
{
    unsigned t = SEG_TYPE(c->tr.attr);
    return t == 1 || t == 3;
}

/* GDT selector whose descriptor lies inside the GDT (TSS descriptors live only there). */
static bool in_gdt(const struct cpu *c, uint16_t sel)
{
    return (sel & 0xFFFC) != 0 && !(sel & 4) && (uint32_t)(sel | 7) <= c->gdtr.limit;
}

static void set_busy(struct cpu *c, uint16_t sel, bool busy)
{
    uint32_t a = desc_addr(c, sel) + 4;
    uint32_t hi = sys_read(c, a, 4);
    sys_write(c, a, busy ? hi | DESC_BUSY : hi & ~DESC_BUSY, 4);
}

static void save_state(struct cpu *c, uint32_t eflags)
{
    uint32_t b = c->tr.base;
    if (tr_is_16(c)) {
        /* The upper halves of EIP, EFLAGS and the GPRs are lost (SDM 7.6). */
        sys_write(c, b + T16_IP, c->eip & 0xFFFF, 2);
        sys_write(c, b + T16_FLAGS, eflags & 0xFFFF, 2);
        for (int r = 0; r < 8; r++)
            sys_write(c, b + T16_GPR + 2 * r, c->regs[r] & 0xFFFF, 2);
        for (int s = SR_ES; s <= SR_DS; s++)
            sys_write(c, b + T16_SREG + 2 * s, c->seg[s].sel, 2);
        return;
    }
    sys_write(c, b + T32_EIP, c->eip, 4);
    sys_write(c, b + T32_EFLAGS, eflags, 4);
    for (int r = 0; r < 8; r++)
        sys_write(c, b + T32_GPR + 4 * r, c->regs[r], 4);
    for (int s = 0; s < SR_COUNT; s++)
        sys_write(c, b + T32_SREG + 4 * s, c->seg[s].sel, 2);
}

static void read_image(struct cpu *c, uint32_t b, bool is32, struct tss_image *t)
{
    if (is32) {
        t->cr3 = sys_read(c, b + T32_CR3, 4);
        t->eip = sys_read(c, b + T32_EIP, 4);
        t->eflags = sys_read(c, b + T32_EFLAGS, 4);
        for (int r = 0; r < 8; r++)
            t->regs[r] = sys_read(c, b + T32_GPR + 4 * r, 4);
        for (int s = 0; s < SR_COUNT; s++)
            t->sreg[s] = (uint16_t)sys_read(c, b + T32_SREG + 4 * s, 2);
        t->ldt = (uint16_t)sys_read(c, b + T32_LDT, 2);
        t->trap = sys_read(c, b + T32_TRAP, 2) & 1;
        return;
    }
    t->cr3 = 0;
    t->eip = sys_read(c, b + T16_IP, 2);
    t->eflags = sys_read(c, b + T16_FLAGS, 2);
    /* The SDM leaves the upper halves undefined; real 386..Pentium parts set them to 1s. */
    for (int r = 0; r < 8; r++)
        t->regs[r] = 0xFFFF0000u | sys_read(c, b + T16_GPR + 2 * r, 2);
    for (int s = SR_ES; s <= SR_DS; s++)
        t->sreg[s] = (uint16_t)sys_read(c, b + T16_SREG + 2 * s, 2);
    t->sreg[SR_FS] = t->sreg[SR_GS] = 0; /* no such fields: null selectors */
    t->ldt = (uint16_t)sys_read(c, b + T16_LDT, 2);
    t->trap = false;
}

/* ---- after the commit point: faults belong to the new task ---- */

static uint64_t fetch_or_ts(struct cpu *c, uint16_t sel)
{
    uint64_t d;
    if (!desc_fetch(c, sel, &d))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    return d;
}

static void mark_accessed(struct cpu *c, uint16_t sel, uint64_t d)
{
    if (!(desc_hi(d) & DESC_ACCESSED))
        sys_write(c, desc_addr(c, sel) + 4, desc_hi(d) | DESC_ACCESSED, 4);
}

static void load_ldtr(struct cpu *c, uint16_t sel)
{
    /* Unusable until checked, so a fault leaves no stale LDT behind. */
    c->ldtr = (struct seg){0};
    c->ldtr.sel = sel;
    if ((sel & 0xFFFC) == 0)
        return;
    if (sel & 4)
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    uint64_t d = fetch_or_ts(c, sel);
    uint32_t hi = desc_hi(d);
    if ((hi & SEG_S) || SEG_TYPE(hi) != 2 || !(hi & SEG_P))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    c->ldtr.base = desc_base(d);
    c->ldtr.limit = desc_limit(d);
    c->ldtr.attr = hi & SEG_ATTR_MASK;
}

static void load_ss(struct cpu *c, uint16_t sel, unsigned cpl)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_TS, 0);
    uint64_t d = fetch_or_ts(c, sel);
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi);
    if (!(hi & SEG_S) || (type & 8) || !(type & 2))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_SS, sel & 0xFFFC);
    if (SEG_DPL(hi) != cpl || (sel & 3u) != cpl)
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    mark_accessed(c, sel, d);
    desc_load_cache(c, SR_SS, sel, d);
}

static void load_cs(struct cpu *c, uint16_t sel)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_TS, 0);
    uint64_t d = fetch_or_ts(c, sel);
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi), dpl = SEG_DPL(hi), rpl = sel & 3u;
    if (!(hi & SEG_S) || !(type & 8))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    if ((type & 4) ? dpl > rpl : dpl != rpl)
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    mark_accessed(c, sel, d);
    desc_load_cache(c, SR_CS, sel, d);
}

static void load_data(struct cpu *c, int sreg, uint16_t sel, unsigned cpl)
{
    if ((sel & 0xFFFC) == 0)
        return; /* null: stays unusable, faults at use */
    uint64_t d = fetch_or_ts(c, sel);
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi), dpl = SEG_DPL(hi);
    bool code = type & 8;
    if (!(hi & SEG_S) || (code && !(type & 2)))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    if ((!code || !(type & 4)) && (dpl < cpl || dpl < (sel & 3u)))
        cpu_fault_err(c, EXC_TS, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    mark_accessed(c, sel, d);
    desc_load_cache(c, sreg, sel, d);
}

static void load_segments(struct cpu *c, const struct tss_image *t)
{
    if (cpu_v86(c)) {
        /* Entering virtual-8086 mode: 8086-style segments (these cannot fault, so they go
         * before the LDT check and a #TS there sees them), CPL 3. */
        const uint32_t attr = SEG_P | SEG_S | (3u << 13) | (3u << 8);
        for (int s = 0; s < SR_COUNT; s++)
            cpu_set_seg_cache(c, s, t->sreg[s], (uint32_t)t->sreg[s] << 4, 0xFFFF, attr);
        load_ldtr(c, t->ldt);
        return;
    }
    load_ldtr(c, t->ldt);
    const unsigned cpl = t->sreg[SR_CS] & 3u;
    /* Until SS is good, a fault must be delivered as if from ring 3 so that an interrupt gate
     * switches to the new TSS's inner stack instead of using the unusable SS. Loading SS
     * recomputes CPL from the (already set) new CS selector. */
    c->cpl = 3;
    load_ss(c, t->sreg[SR_SS], cpl);
    load_cs(c, t->sreg[SR_CS]);
    static const int data_order[] = {SR_DS, SR_ES, SR_FS, SR_GS};
    for (unsigned k = 0; k < 4; k++)
        load_data(c, data_order[k], t->sreg[data_order[k]], cpl);
}

void cpu_task_switch(struct cpu *c, uint16_t tss_sel, uint64_t tss_desc,
                     enum task_switch_reason reason, bool has_error, uint32_t error_code)
{
    const uint32_t hi = desc_hi(tss_desc);
    const unsigned type = SEG_TYPE(hi);
    const uint16_t err = tss_sel & 0xFFFC;
    const bool nest = reason == TS_CALL || reason == TS_INT;
    const bool clear_old_busy = reason == TS_JMP || reason == TS_IRET;

    /* ---- checks on the new TSS: faults in the old task's context ---- */
    /* IRET reports a bad back-link as #TS; JMP/CALL/INT a bad target as #GP. */
    const int bad = reason == TS_IRET ? EXC_TS : EXC_GP;
    if (!in_gdt(c, tss_sel) || (hi & SEG_S) || (type & 5) != 1) /* types 1, 3, 9, 11 */
        cpu_fault_err(c, bad, err);
    if (reason == TS_IRET ? !(type & 2) : (type & 2))
        cpu_fault_err(c, bad, err);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, err);
    const bool new32 = tss_is_32(type);
    const uint32_t nbase = desc_base(tss_desc);
    if (desc_limit(tss_desc) < (new32 ? T32_MIN_LIMIT : T16_MIN_LIMIT))
        cpu_fault_err(c, EXC_TS, err);

    /* The old TSS must hold the state about to be saved in it. */
    const bool old16 = tr_is_16(c);
    const uint32_t save_lo = old16 ? T16_IP : T32_EIP;
    const uint32_t save_hi = old16 ? T16_LDT - 1 : T32_LDT - 1;
    if (c->tr.limit < save_hi)
        cpu_fault_err(c, EXC_TS, c->tr.sel & 0xFFFC);
    /* A never-loaded (null) TR has no descriptor whose busy bit could be cleared. */
    bool old_desc = clear_old_busy && (c->tr.sel & 0xFFFC) != 0;
    if (old_desc && !in_gdt(c, c->tr.sel))
        cpu_fault_err(c, EXC_TS, c->tr.sel & 0xFFFC);

    /* Every page touched up to the commit point, so the writes below cannot fault halfway. */
    probe_read(c, nbase, new32 ? T32_MIN_LIMIT + 1 : T16_MIN_LIMIT + 1);
    probe_write(c, c->tr.base + save_lo, save_hi - save_lo + 1);
    if (nest)
        probe_write(c, nbase + T32_LINK, 2);
    if (reason != TS_IRET)
        probe_write(c, desc_addr(c, tss_sel) + 4, 4);
    if (old_desc)
        probe_write(c, desc_addr(c, c->tr.sel) + 4, 4);

    /* ---- save the old task, update busy bits and the back-link ---- */
    uint32_t old_flags = cpu_get_eflags(c);
    if (reason == TS_IRET)
        old_flags &= ~FL_NT; /* the task being left is no longer nested (SDM table 7-2) */
    if (old_desc)
        set_busy(c, c->tr.sel, false);
    save_state(c, old_flags);
    if (nest)
        sys_write(c, nbase + T32_LINK, c->tr.sel, 2); /* offset 0 in both layouts */
    if (reason != TS_IRET)
        set_busy(c, tss_sel, true);

    /* Read after saving (SDM order: save, then load), so a TSS overlapping the old one
     * yields what was just stored. */
    struct tss_image t;
    read_image(c, nbase, new32, &t);

    /* ---- commit point: TR and the new task's register state ---- */
    c->tr.sel = tss_sel;
    c->tr.base = nbase;
    c->tr.limit = desc_limit(tss_desc);
    c->tr.attr = (hi | DESC_BUSY) & SEG_ATTR_MASK;
    c->cr0 |= CR0_TS;
    c->dr[7] &= ~DR7_LOCAL_ENABLES;
    dbg_update(c); /* local breakpoints are gone: stop watching their pages */
    if (new32) {
        /* Same masking as MOV CR3; 16-bit TSSs keep the current address space. */
        c->cr3 = t.cr3 & 0xFFFFF018u;
        if (c->cr0 & CR0_PG)
            cpu_flush_tlb(c, true);
    }
    if (nest)
        t.eflags |= FL_NT;
    c->eip = t.eip;
    for (int r = 0; r < 8; r++)
        c->regs[r] = t.regs[r];
    cpu_set_eflags(c, t.eflags);
    /* From here a fault unwinds to the new task's first instruction, not the old one's. */
    c->insn_eip = c->eip;
    c->insn_esp = c->regs[R_ESP];
    /* Selectors first with unusable caches: if a check below faults, the new task's
     * selectors are visible to the handler, as the SDM describes. */
    if (!cpu_v86(c))
        for (int s = 0; s < SR_COUNT; s++)
            cpu_set_seg_cache(c, s, t.sreg[s], 0, 0, 0);

    load_segments(c, &t);

    if (t.trap)
        dbg_queue_trap(c, DR6_BT); /* #DB before the new task's first instruction */
    if (reason == TS_INT && has_error)
        push(c, error_code, new32 ? 4 : 2);
    if (c->eip > c->seg[SR_CS].limit)
        cpu_fault_err(c, EXC_GP, 0);
}
