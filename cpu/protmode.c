/* Protected-mode segmentation and control transfers, after the Intel SDM (vol. 3 ch. 5-6, and
 * the pseudocode of MOV Sreg, JMP, CALL, RET, INT n and IRET in vol. 2): data and stack segment
 * loads, interrupt and exception delivery through the IDT (including from virtual-8086 mode),
 * far JMP/CALL through call gates and to tasks, far RET and IRET to the same or an outer
 * privilege level, IRET to virtual-8086 mode and the nested-task return.
 *
 * Precise faults: cpu_run() restores only EIP and ESP when a fault unwinds, so every check,
 * descriptor read, stack read and stack probe comes before the first change of architectural
 * state. Stack frames are assembled in a `struct stk` (segment checks as slots are reserved),
 * probed page by page, and written only once nothing else can fault. */
#include "cpu/flags.h"

#include "cpu/desc.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/task.h"

/* EXT bit of an error code: the event was not caused by INT n/INT3/INTO. */
#define ERR_EXT 1u

static uint32_t sel_err(uint16_t sel, uint32_t ext) { return (sel & 0xFFFCu) | ext; }

static unsigned priv_of(unsigned cpl) { return cpl == 3 ? PRIV_USER : PRIV_SUPER; }

static unsigned iopl(const struct cpu *c) { return (c->eflags & FL_IOPL) >> 12; }

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

/* A null selector: the register is unusable and faults at use (the selector keeps its RPL). */
static void seg_null(struct cpu *c, int sreg, uint16_t sel)
{
    cpu_set_seg_cache(c, sreg, sel, 0, 0, 0);
}

void cpu_load_seg_protected(struct cpu *c, int sreg, uint16_t sel)
{
    unsigned rpl = sel & 3, cpl = c->cpl;
    if ((sel & 0xFFFC) == 0) {
        if (sreg == SR_SS || sreg == SR_CS)
            cpu_fault_err(c, EXC_GP, 0);
        seg_null(c, sreg, sel);
        return;
    }
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = (uint32_t)(d >> 32);
    unsigned type = SEG_TYPE(hi), dpl = SEG_DPL(hi);
    bool is_code = desc_is_code(hi);
    bool is_data = (hi & SEG_S) && !(type & 8);
    if (sreg == SR_SS) {
        if (rpl != cpl || !desc_is_writable_data(hi) || dpl != cpl)
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

/* ---- stack frames built before anything is committed ---- */

/* Worst case: a call gate's 31 parameters plus SS, ESP, CS, EIP. */
#define STK_SLOTS 36

struct stk {
    uint32_t base, lo, hi; /* the segment's base and valid offsets */
    uint32_t mask;         /* 0xFFFF for a 16-bit stack (SP), else all ones */
    uint32_t esp;          /* full register value after the pushes so far */
    bool writable;
    unsigned priv;         /* PRIV_* of the CPL the pushes are made at */
    int exc;               /* fault for a push outside the segment, and its error code */
    uint32_t err;
    unsigned n;
    struct {
        uint32_t lin, val;
        unsigned size;
    } slot[STK_SLOTS];
};

/* The current SS:ESP at the current CPL. */
static void stk_current(struct cpu *c, struct stk *s, uint32_t err)
{
    const struct seg *ss = &c->seg[SR_SS];
    s->base = ss->base;
    s->lo = ss->valid_lo;
    s->hi = ss->valid_hi;
    s->writable = ss->rights & SEGR_WRITE;
    s->mask = sp_mask(c);
    s->esp = c->regs[R_ESP];
    s->priv = cpu_priv(c);
    s->exc = EXC_SS;
    s->err = err;
    s->n = 0;
}

/* A stack about to be loaded from descriptor `d` (already checked to be writable data). */
static void stk_new(struct stk *s, uint64_t d, uint32_t esp, unsigned cpl, uint32_t err)
{
    uint32_t hi = desc_hi(d), limit = desc_limit(d);
    bool big = hi & SEG_DB;
    s->base = desc_base(d);
    if (SEG_TYPE(hi) & 4) { /* expand-down */
        s->lo = limit + 1;
        s->hi = big ? 0xFFFFFFFFu : 0xFFFFu;
    } else {
        s->lo = 0;
        s->hi = limit;
    }
    s->writable = true;
    s->mask = big ? 0xFFFFFFFFu : 0xFFFFu;
    s->esp = esp;
    s->priv = priv_of(cpl);
    s->exc = EXC_SS;
    s->err = err;
    s->n = 0;
}

/* Reserve the next push: only the segment check happens here. Returns the slot index. */
static unsigned stk_push(struct cpu *c, struct stk *s, uint32_t v, unsigned size)
{
    uint32_t off = (s->esp - size) & s->mask;
    uint32_t last = off + size - 1;
    if (!s->writable || off < s->lo || last > s->hi || last < off)
        cpu_fault_err(c, s->exc, s->err);
    s->esp = (s->esp & ~s->mask) | off;
    unsigned k = s->n++;
    s->slot[k].lin = s->base + off;
    s->slot[k].val = v;
    s->slot[k].size = size;
    return k;
}

/* Page faults (#PF) on the frame, before anything changes. */
static void stk_probe(struct cpu *c, const struct stk *s)
{
    for (unsigned k = 0; k < s->n; k++)
        mem_probe_write_slow(c, s->slot[k].lin, s->slot[k].size, s->priv);
}

static void stk_write(struct cpu *c, const struct stk *s)
{
    for (unsigned k = 0; k < s->n; k++)
        lin_write_priv(c, s->slot[k].lin, s->slot[k].val, s->slot[k].size, s->priv);
}

/* ---- pieces shared by the transfers ---- */

/* SS:ESP for privilege `dpl` from the current TSS (32- or 16-bit layout). */
static void tss_inner_stack(struct cpu *c, unsigned dpl, uint32_t ext, uint16_t *ss, uint32_t *esp)
{
    unsigned t = SEG_TYPE(c->tr.attr);
    if (t == DESC_T_TSS16 || t == DESC_T_TSS16_BUSY) {
        uint32_t at = dpl * 4 + 2;
        if (at + 3 > c->tr.limit)
            cpu_fault_err(c, EXC_TS, sel_err(c->tr.sel, ext));
        *esp = lin_read_priv(c, c->tr.base + at, 2, PRIV_SUPER);
        *ss = (uint16_t)lin_read_priv(c, c->tr.base + at + 2, 2, PRIV_SUPER);
        return;
    }
    /* A 32-bit TSS, or a TR never loaded: read as the 32-bit layout. */
    uint32_t at = dpl * 8 + 4;
    if (at + 5 > c->tr.limit)
        cpu_fault_err(c, EXC_TS, sel_err(c->tr.sel, ext));
    *esp = lin_read_priv(c, c->tr.base + at, 4, PRIV_SUPER);
    *ss = (uint16_t)lin_read_priv(c, c->tr.base + at + 4, 2, PRIV_SUPER);
}

/* Checks of the inner stack segment taken from the TSS: #TS, or #SS when not present. */
static uint64_t inner_ss(struct cpu *c, uint16_t ss, unsigned dpl, uint32_t ext)
{
    if ((ss & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_TS, ext);
    uint64_t d;
    if ((ss & 3u) != dpl || !desc_fetch(c, ss, &d))
        cpu_fault_err(c, EXC_TS, sel_err(ss, ext));
    uint32_t hi = desc_hi(d);
    if (SEG_DPL(hi) != dpl || !desc_is_writable_data(hi))
        cpu_fault_err(c, EXC_TS, sel_err(ss, ext));
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_SS, sel_err(ss, ext));
    return d;
}

/* CS from a checked descriptor, RPL = the new CPL (cpu_update_mode() derives CPL from it). */
static void load_cs(struct cpu *c, uint16_t sel, uint64_t d, unsigned cpl, uint32_t eip)
{
    desc_load_cache(c, SR_CS, (uint16_t)((sel & 0xFFFC) | cpl), d);
    c->eip = eip;
}

/* After a return to an outer level: DS/ES/FS/GS the new CPL may not use become null. */
static void drop_inaccessible_segs(struct cpu *c)
{
    static const int regs[] = {SR_ES, SR_FS, SR_GS, SR_DS};
    for (unsigned k = 0; k < 4; k++) {
        const struct seg *s = &c->seg[regs[k]];
        if ((s->sel & 0xFFFC) == 0 || (SEG_DPL(s->attr) < c->cpl && !desc_is_conforming(s->attr)))
            seg_null(c, regs[k], 0);
    }
}

/* Return CS of RETF/IRET: every check but the offset limit. */
static uint64_t return_cs(struct cpu *c, uint16_t sel)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    unsigned rpl = sel & 3, dpl = SEG_DPL(hi);
    if (!desc_is_code(hi) || rpl < c->cpl)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (desc_is_conforming(hi) ? dpl > rpl : dpl != rpl)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    return d;
}

/* Return SS of RETF/IRET to the outer level `rpl`. */
static uint64_t return_ss(struct cpu *c, uint16_t sel, unsigned rpl)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    if ((sel & 3u) != rpl || !desc_is_writable_data(hi) || SEG_DPL(hi) != rpl)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_SS, sel & 0xFFFC);
    return d;
}

/* ---- task switches ---- */

/* The TSS a task gate names: a GDT entry holding an available TSS, present. */
static uint64_t gate_tss(struct cpu *c, uint16_t tss, uint32_t ext)
{
    uint64_t d;
    if ((tss & 4) || !desc_fetch(c, tss, &d))
        cpu_fault_err(c, EXC_GP, sel_err(tss, ext));
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi);
    if ((hi & SEG_S) || (type != DESC_T_TSS16 && type != DESC_T_TSS32))
        cpu_fault_err(c, EXC_GP, sel_err(tss, ext));
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel_err(tss, ext));
    return d;
}

static void switch_task(struct cpu *c, uint16_t sel, uint64_t d, enum task_switch_reason why,
                        bool has_error, uint32_t error_code)
{
    /* The new TSS's T bit is queued by the switch itself as a #DB trap (cpu/debug.h), so it
     * merges with single-step and data-breakpoint traps at the instruction boundary. */
    cpu_task_switch(c, sel, d, why, has_error, error_code);
}

/* JMP/CALL to a TSS descriptor (available: busy ones were refused by the caller). */
static void tss_transfer(struct cpu *c, uint16_t sel, uint64_t d, enum task_switch_reason why)
{
    uint32_t hi = desc_hi(d);
    unsigned dpl = SEG_DPL(hi);
    if (dpl < c->cpl || dpl < (sel & 3u))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    switch_task(c, sel, d, why, false, 0);
}

/* JMP/CALL through a task gate in the GDT or LDT. */
static void task_gate_transfer(struct cpu *c, uint16_t sel, uint64_t g,
                               enum task_switch_reason why)
{
    uint32_t hi = desc_hi(g);
    unsigned dpl = SEG_DPL(hi);
    if (dpl < c->cpl || dpl < (sel & 3u))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    uint16_t tss = gate_selector(g);
    uint64_t td = gate_tss(c, tss, 0);
    switch_task(c, tss, td, why, false, 0);
}

/* IRET with NT set: back to the task named by the current TSS's back-link. */
static void task_return(struct cpu *c)
{
    uint16_t link = (uint16_t)lin_read_priv(c, c->tr.base, 2, PRIV_SUPER);
    uint64_t d;
    if ((link & 4) || !desc_fetch(c, link, &d))
        cpu_fault_err(c, EXC_TS, link & 0xFFFC);
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi);
    if ((hi & SEG_S) || (type != DESC_T_TSS16_BUSY && type != DESC_T_TSS32_BUSY))
        cpu_fault_err(c, EXC_TS, link & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, link & 0xFFFC);
    switch_task(c, link, d, TS_IRET, false, 0);
}

/* ---- interrupts and exceptions ---- */

void cpu_deliver_protected(struct cpu *c, int vector, bool soft, uint32_t error_code,
                           bool has_error)
{
    const uint32_t ext = soft ? 0 : ERR_EXT;
    const uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    if ((uint32_t)vector * 8 + 7 > c->idtr.limit)
        cpu_fault_err(c, EXC_GP, idt_err);
    uint32_t a = c->idtr.base + (uint32_t)vector * 8;
    uint32_t glo = lin_read_priv(c, a, 4, PRIV_SUPER);
    uint32_t ghi = lin_read_priv(c, a + 4, 4, PRIV_SUPER);
    uint64_t g = (uint64_t)ghi << 32 | glo;
    unsigned type = SEG_TYPE(ghi);
    bool gate_ok = type == DESC_T_TASK || type == DESC_T_INT16 || type == DESC_T_TRAP16 ||
                   type == DESC_T_INT32 || type == DESC_T_TRAP32;
    if ((ghi & SEG_S) || !gate_ok)
        cpu_fault_err(c, EXC_GP, idt_err);
    /* INT n, INT3 and INTO may use only gates at or below their privilege; EXT is 0. */
    if (soft && SEG_DPL(ghi) < c->cpl)
        cpu_fault_err(c, EXC_GP, (uint32_t)vector * 8 + 2);
    if (!(ghi & SEG_P))
        cpu_fault_err(c, EXC_NP, idt_err);

    if (type == DESC_T_TASK) {
        uint16_t tss = gate_selector(g);
        uint64_t td = gate_tss(c, tss, ext);
        switch_task(c, tss, td, TS_INT, has_error, error_code);
        return;
    }

    const bool gate32 = type & 8;
    const unsigned w = gate32 ? 4 : 2;
    const uint16_t csel = gate_selector(g);
    const uint32_t eip = gate_offset(g);
    if ((csel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, ext);
    uint64_t d;
    if (!desc_fetch(c, csel, &d))
        cpu_fault_err(c, EXC_GP, sel_err(csel, ext));
    const uint32_t hi = desc_hi(d);
    const unsigned dpl = SEG_DPL(hi);
    if (!desc_is_code(hi) || dpl > c->cpl)
        cpu_fault_err(c, EXC_GP, sel_err(csel, ext));
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel_err(csel, ext));
    const bool v86 = cpu_v86(c);
    const bool inner = !desc_is_conforming(hi) && dpl < c->cpl;
    /* From virtual-8086 mode only a ring-0 non-conforming handler will do. */
    if (v86 && (!inner || dpl != 0))
        cpu_fault_err(c, EXC_GP, sel_err(csel, ext));
    const unsigned new_cpl = inner ? dpl : c->cpl;

    struct stk s;
    uint16_t nss = 0;
    uint64_t ssd = 0;
    if (inner) {
        uint32_t nesp;
        tss_inner_stack(c, dpl, ext, &nss, &nesp);
        ssd = inner_ss(c, nss, dpl, ext);
        stk_new(&s, ssd, nesp, dpl, sel_err(nss, ext));
    } else {
        stk_current(c, &s, ext);
    }
    const uint32_t fl = cpu_get_eflags(c) | (c->fault_rf ? FL_RF : 0);
    if (v86) {
        stk_push(c, &s, c->seg[SR_GS].sel, w);
        stk_push(c, &s, c->seg[SR_FS].sel, w);
        stk_push(c, &s, c->seg[SR_DS].sel, w);
        stk_push(c, &s, c->seg[SR_ES].sel, w);
    }
    if (inner) {
        stk_push(c, &s, c->seg[SR_SS].sel, w);
        stk_push(c, &s, c->regs[R_ESP], w);
    }
    stk_push(c, &s, fl, w);
    stk_push(c, &s, c->seg[SR_CS].sel, w);
    stk_push(c, &s, c->eip, w);
    if (has_error)
        stk_push(c, &s, error_code, w);
    if (eip > desc_limit(d))
        cpu_fault_err(c, EXC_GP, ext);
    stk_probe(c, &s);
    set_accessed(c, csel, hi);
    if (inner)
        set_accessed(c, nss, desc_hi(ssd));

    /* Nothing can fault any more. */
    stk_write(c, &s);
    uint32_t nfl = fl & ~(FL_TF | FL_NT | FL_RF | FL_VM);
    if (type == DESC_T_INT16 || type == DESC_T_INT32)
        nfl &= ~FL_IF;
    cpu_set_eflags(c, nfl); /* VM off first, so the loads below are protected-mode ones */
    if (v86) {
        seg_null(c, SR_GS, 0);
        seg_null(c, SR_FS, 0);
        seg_null(c, SR_DS, 0);
        seg_null(c, SR_ES, 0);
    }
    if (inner)
        desc_load_cache(c, SR_SS, nss, ssd);
    c->regs[R_ESP] = s.esp;
    load_cs(c, csel, d, new_cpl, eip);
}

/* ---- far JMP and CALL ---- */

/* A code segment named directly by JMP/CALL: no privilege change is possible. */
static void check_direct_code(struct cpu *c, uint16_t sel, uint32_t hi)
{
    unsigned dpl = SEG_DPL(hi), cpl = c->cpl;
    if (!desc_is_code(hi))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (desc_is_conforming(hi) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
}

/* Checks of a call gate and the code segment it names. JMP cannot change privilege, so it also
 * refuses a non-conforming segment of another DPL. Returns the code descriptor. */
static uint64_t call_gate_target(struct cpu *c, uint16_t gsel, uint64_t g, bool jump,
                                 uint16_t *csel)
{
    uint32_t ghi = desc_hi(g);
    unsigned gdpl = SEG_DPL(ghi);
    if (gdpl < c->cpl || gdpl < (gsel & 3u))
        cpu_fault_err(c, EXC_GP, gsel & 0xFFFC);
    if (!(ghi & SEG_P))
        cpu_fault_err(c, EXC_NP, gsel & 0xFFFC);
    *csel = gate_selector(g);
    if ((*csel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, *csel, EXC_GP);
    uint32_t hi = desc_hi(d);
    unsigned dpl = SEG_DPL(hi);
    if (!desc_is_code(hi) || dpl > c->cpl)
        cpu_fault_err(c, EXC_GP, *csel & 0xFFFC);
    if (jump && !desc_is_conforming(hi) && dpl != c->cpl)
        cpu_fault_err(c, EXC_GP, *csel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, *csel & 0xFFFC);
    return d;
}

void cpu_far_jump_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    if (hi & SEG_S) {
        check_direct_code(c, sel, hi);
        if (osize == 2)
            off &= 0xFFFF;
        if (off > desc_limit(d))
            cpu_fault_err(c, EXC_GP, 0);
        set_accessed(c, sel, hi);
        load_cs(c, sel, d, c->cpl, off);
        return;
    }
    switch (SEG_TYPE(hi)) {
    case DESC_T_CALL16:
    case DESC_T_CALL32: {
        uint16_t csel;
        uint64_t cd = call_gate_target(c, sel, d, true, &csel);
        uint32_t eip = gate_offset(d);
        if (eip > desc_limit(cd))
            cpu_fault_err(c, EXC_GP, 0);
        set_accessed(c, csel, desc_hi(cd));
        load_cs(c, csel, cd, c->cpl, eip);
        return;
    }
    case DESC_T_TASK:
        task_gate_transfer(c, sel, d, TS_JMP);
        return;
    case DESC_T_TSS16:
    case DESC_T_TSS32:
        tss_transfer(c, sel, d, TS_JMP);
        return;
    default: /* busy TSS, LDT, interrupt/trap gate, reserved */
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    }
}

/* CALL through a call gate: to the same level, or inward with a stack switch from the TSS and
 * the gate's parameter count of words/dwords copied from the caller's stack. */
static void call_gate(struct cpu *c, uint16_t gsel, uint64_t g)
{
    uint16_t csel;
    uint64_t d = call_gate_target(c, gsel, g, false, &csel);
    uint32_t hi = desc_hi(d);
    unsigned dpl = SEG_DPL(hi);
    unsigned w = (SEG_TYPE(desc_hi(g)) & 8) ? 4 : 2; /* the gate's size, not the operand size */
    uint32_t eip = gate_offset(g);
    struct stk s;

    if (desc_is_conforming(hi) || dpl == c->cpl) {
        stk_current(c, &s, 0);
        stk_push(c, &s, c->seg[SR_CS].sel, w);
        stk_push(c, &s, c->eip, w);
        if (eip > desc_limit(d))
            cpu_fault_err(c, EXC_GP, 0);
        stk_probe(c, &s);
        set_accessed(c, csel, hi);
        stk_write(c, &s);
        c->regs[R_ESP] = s.esp;
        load_cs(c, csel, d, c->cpl, eip);
        return;
    }

    uint16_t nss;
    uint32_t nesp;
    tss_inner_stack(c, dpl, 0, &nss, &nesp);
    uint64_t ssd = inner_ss(c, nss, dpl, 0);
    stk_new(&s, ssd, nesp, dpl, nss & 0xFFFC);
    const unsigned n = gate_params(g);
    const uint32_t old_esp = c->regs[R_ESP], old_mask = sp_mask(c);
    stk_push(c, &s, c->seg[SR_SS].sel, w);
    stk_push(c, &s, old_esp, w);
    const unsigned first = s.n;
    for (unsigned k = 0; k < n; k++)
        stk_push(c, &s, 0, w); /* filled below, once the limit checks have passed */
    stk_push(c, &s, c->seg[SR_CS].sel, w);
    stk_push(c, &s, c->eip, w);
    if (eip > desc_limit(d))
        cpu_fault_err(c, EXC_GP, 0);
    /* The highest parameter is pushed first, so the callee sees them in the caller's order. */
    for (unsigned k = 0; k < n; k++)
        s.slot[first + k].val = mem_read(c, SR_SS, (old_esp + (n - 1 - k) * w) & old_mask, w);
    stk_probe(c, &s);
    set_accessed(c, csel, hi);
    set_accessed(c, nss, desc_hi(ssd));

    stk_write(c, &s);
    desc_load_cache(c, SR_SS, nss, ssd);
    c->regs[R_ESP] = s.esp;
    load_cs(c, csel, d, dpl, eip);
}

void cpu_far_call_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize)
{
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t d = read_descriptor(c, sel, EXC_GP);
    uint32_t hi = desc_hi(d);
    if (hi & SEG_S) {
        check_direct_code(c, sel, hi);
        if (osize == 2)
            off &= 0xFFFF;
        struct stk s;
        stk_current(c, &s, 0);
        stk_push(c, &s, c->seg[SR_CS].sel, osize); /* zero-extended with 32 bits */
        stk_push(c, &s, c->eip, osize);
        if (off > desc_limit(d))
            cpu_fault_err(c, EXC_GP, 0);
        stk_probe(c, &s);
        set_accessed(c, sel, hi);
        stk_write(c, &s);
        c->regs[R_ESP] = s.esp;
        load_cs(c, sel, d, c->cpl, off);
        return;
    }
    switch (SEG_TYPE(hi)) {
    case DESC_T_CALL16:
    case DESC_T_CALL32:
        call_gate(c, sel, d);
        return;
    case DESC_T_TASK:
        task_gate_transfer(c, sel, d, TS_CALL);
        return;
    case DESC_T_TSS16:
    case DESC_T_TSS32:
        tss_transfer(c, sel, d, TS_CALL);
        return;
    default:
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    }
}

/* ---- far RET and IRET ---- */

void cpu_far_ret_protected(struct cpu *c, unsigned osize, uint16_t pop_bytes)
{
    const unsigned os = osize;
    uint32_t off = stack_peek(c, 0, os);
    uint16_t sel = (uint16_t)stack_peek(c, os, os);
    uint64_t d = return_cs(c, sel);
    unsigned rpl = sel & 3;
    if (rpl == c->cpl) {
        if (off > desc_limit(d))
            cpu_fault_err(c, EXC_GP, 0);
        set_accessed(c, sel, desc_hi(d));
        set_sp(c, c->regs[R_ESP] + 2 * os + pop_bytes);
        load_cs(c, sel, d, rpl, off);
        return;
    }
    /* Outer level: the caller's SS:ESP lies above the parameters being released. */
    uint32_t nesp = stack_peek(c, 2 * os + pop_bytes, os);
    uint16_t nss = (uint16_t)stack_peek(c, 3 * os + pop_bytes, os);
    uint64_t ssd = return_ss(c, nss, rpl);
    if (off > desc_limit(d))
        cpu_fault_err(c, EXC_GP, 0);
    set_accessed(c, sel, desc_hi(d));
    set_accessed(c, nss, desc_hi(ssd));

    load_cs(c, sel, d, rpl, off);
    desc_load_cache(c, SR_SS, nss, ssd);
    /* set_sp() by the new SS.B: a 16-bit stack keeps the upper half of ESP, as on hardware. */
    set_sp(c, nesp + pop_bytes);
    drop_inaccessible_segs(c);
}

/* 8086-style segment: base = selector * 16, 64 KiB, DPL 3 read/write data. */
static void v86_seg(struct cpu *c, int sreg, uint16_t sel)
{
    cpu_set_seg_cache(c, sreg, sel, (uint32_t)sel << 4, 0xFFFF,
                      SEG_P | SEG_S | (3u << 13) | (3u << 8));
}

/* IRET from CPL 0 with VM in the popped EFLAGS: 32-bit frame EIP CS EFLAGS ESP SS ES DS FS GS. */
static void iret_to_v86(struct cpu *c, uint32_t eip, uint16_t cs, uint32_t fl)
{
    uint32_t esp = stack_peek(c, 12, 4);
    uint16_t ss = (uint16_t)stack_peek(c, 16, 4);
    uint16_t es = (uint16_t)stack_peek(c, 20, 4);
    uint16_t ds = (uint16_t)stack_peek(c, 24, 4);
    uint16_t fs = (uint16_t)stack_peek(c, 28, 4);
    uint16_t gs = (uint16_t)stack_peek(c, 32, 4);
    cpu_set_eflags(c, fl); /* every bit, VM first: the loads below are v8086 ones, CPL 3 */
    v86_seg(c, SR_CS, cs);
    v86_seg(c, SR_SS, ss);
    v86_seg(c, SR_ES, es);
    v86_seg(c, SR_DS, ds);
    v86_seg(c, SR_FS, fs);
    v86_seg(c, SR_GS, gs);
    c->regs[R_ESP] = esp;
    c->eip = eip; /* the v8086 CS limit (64 KiB) catches a stray upper half at the next fetch */
}

void cpu_iret_protected(struct cpu *c, unsigned osize)
{
    if (c->eflags & FL_NT) {
        task_return(c);
        return;
    }
    const unsigned os = osize;
    uint32_t off = stack_peek(c, 0, os);
    uint16_t sel = (uint16_t)stack_peek(c, os, os);
    uint32_t fl = stack_peek(c, 2 * os, os);
    if (os == 4 && (fl & FL_VM) && c->cpl == 0) {
        iret_to_v86(c, off, sel, fl);
        return;
    }
    uint64_t d = return_cs(c, sel);
    unsigned rpl = sel & 3;

    /* Which EFLAGS bits the popped image may change, by the CPL and IOPL before the IRET. */
    uint32_t old = cpu_get_eflags(c);
    uint32_t writable = FL_ARITH | FL_TF | FL_DF | FL_NT;
    if (os == 4)
        writable |= FL_RF | FL_AC | FL_ID;
    if (c->cpl <= iopl(c))
        writable |= FL_IF;
    if (c->cpl == 0)
        writable |= FL_IOPL | (os == 4 ? FL_VIF | FL_VIP : 0);
    uint32_t nfl = (old & ~writable) | (fl & writable);

    if (rpl == c->cpl) {
        if (off > desc_limit(d))
            cpu_fault_err(c, EXC_GP, 0);
        set_accessed(c, sel, desc_hi(d));
        set_sp(c, c->regs[R_ESP] + 3 * os);
        cpu_set_eflags(c, nfl);
        load_cs(c, sel, d, rpl, off);
        return;
    }
    uint32_t nesp = stack_peek(c, 3 * os, os);
    uint16_t nss = (uint16_t)stack_peek(c, 4 * os, os);
    uint64_t ssd = return_ss(c, nss, rpl);
    if (off > desc_limit(d))
        cpu_fault_err(c, EXC_GP, 0);
    set_accessed(c, sel, desc_hi(d));
    set_accessed(c, nss, desc_hi(ssd));

    cpu_set_eflags(c, nfl);
    load_cs(c, sel, d, rpl, off);
    desc_load_cache(c, SR_SS, nss, ssd);
    set_sp(c, nesp); /* 16-bit SS: only SP is loaded (the espfix behaviour) */
    drop_inaccessible_segs(c);
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
