#include "cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/fpu.h"
#include "cpu/icache.h"
#include "cpu/mem.h"

/* The physical map changed under the TLB (chipset shadowing, a PCI BAR moved): what a
 * physical page holds may have changed, so decoded blocks, which outlive TLB flushes, go too. */
static void cpu_map_changed(void *opaque)
{
    struct cpu *c = opaque;
    cpu_flush_tlb(c, false);
    if (c->icache)
        icache_new_map_epoch(c->icache);
}

int cpu_init(struct cpu *c, struct memmap *mem)
{
    memset(c, 0, sizeof(*c));
    c->mem = mem;
    c->icache = icache_create(mem);
    if (!c->icache)
        return -1;
    mem->code_write_hook = icache_code_written;
    mem->code_write_opaque = c->icache;
    mem->map_changed = cpu_map_changed;
    mem->map_changed_opaque = c;
    cpu_reset(c);
    return 0;
}

void cpu_destroy(struct cpu *c)
{
    if (c->mem) {
        c->mem->code_write_hook = NULL;
        c->mem->code_write_opaque = NULL;
        c->mem->map_changed = NULL;
        c->mem->map_changed_opaque = NULL;
    }
    icache_destroy(c->icache);
    c->icache = NULL;
}

static void seg_set_rights_of_type(struct seg *s, bool real_mode);

static void seg_set_rights(struct seg *s, bool real_mode)
{
    seg_set_rights_of_type(s, real_mode);
    if (s->base == 0 && s->valid_lo == 0 && s->valid_hi == 0xFFFFFFFFu &&
        (s->rights & (SEGR_READ | SEGR_WRITE)) == (SEGR_READ | SEGR_WRITE))
        s->rights |= SEGR_FLAT;
}

static void seg_set_rights_of_type(struct seg *s, bool real_mode)
{
    if (real_mode) {
        /* Real and v8086 mode: every segment readable and writable, expand-up. */
        s->rights = SEGR_READ | SEGR_WRITE;
        s->valid_lo = 0;
        s->valid_hi = s->limit;
        return;
    }
    uint32_t type = SEG_TYPE(s->attr);
    if (!(s->attr & SEG_P) || !(s->attr & SEG_S)) {
        s->rights = 0; /* null or system: unusable through a data access */
        s->valid_lo = 1;
        s->valid_hi = 0;
        return;
    }
    if (type & 8) { /* code: readable if R, never writable */
        s->rights = (type & 2) ? SEGR_READ : 0;
        s->valid_lo = 0;
        s->valid_hi = s->limit;
    } else {
        s->rights = SEGR_READ | ((type & 2) ? SEGR_WRITE : 0);
        if (type & 4) { /* expand-down: valid offsets are above the limit */
            s->valid_lo = s->limit + 1;
            s->valid_hi = (s->attr & SEG_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        } else {
            s->valid_lo = 0;
            s->valid_hi = s->limit;
        }
    }
}

void cpu_set_seg_cache(struct cpu *c, int sreg, uint16_t sel, uint32_t base, uint32_t limit,
                       uint32_t attr)
{
    struct seg *s = &c->seg[sreg];
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr & SEG_ATTR_MASK;
    /* In real/v8086 mode the rights are those of real mode whatever the attributes say. */
    seg_set_rights(s, !cpu_protected(c) || cpu_v86(c));
    if (sreg == SR_CS || sreg == SR_SS)
        cpu_update_mode(c);
}

void cpu_load_seg(struct cpu *c, int sreg, uint16_t sel)
{
    if (!cpu_protected(c) || cpu_v86(c)) {
        struct seg *s = &c->seg[sreg];
        s->sel = sel;
        s->base = (uint32_t)sel << 4;
        /* The limit and attributes of the hidden cache are kept (big real mode works). */
        seg_set_rights(s, true);
        if (sreg == SR_CS || sreg == SR_SS)
            cpu_update_mode(c);
        return;
    }
    /* Protected-mode descriptor loads arrive with the system-architecture work (cpu/seg.c). */
    cpu_load_seg_protected(c, sreg, sel);
}

void cpu_update_mode(struct cpu *c)
{
    /* Real mode keeps using the cached D/B bits (a 32-bit CS or SS left from protected mode
     * stays 32-bit, as on hardware); v8086 mode is always 16-bit. */
    bool v86 = cpu_v86(c);
    c->code32 = !v86 && (c->seg[SR_CS].attr & SEG_DB);
    c->stack32 = !v86 && (c->seg[SR_SS].attr & SEG_DB);
    if (!cpu_protected(c))
        c->cpl = 0;
    else if (cpu_v86(c))
        c->cpl = 3;
    else
        c->cpl = c->seg[SR_CS].sel & 3;
    cpu_update_align_check(c);
}

void cpu_reset(struct cpu *c)
{
    struct memmap *mem = c->mem;
    struct icache *ic = c->icache;
    struct cpu_bus bus = c->bus;
    struct cpu_block_engine *engine = c->engine;
    void (*ferr)(void *, bool) = c->ferr;
    void *ferr_opaque = c->ferr_opaque;
    if (c->fpu.ferr && ferr)
        ferr(ferr_opaque, false); /* FERR# goes inactive with the x87 state it reported */
    memset(c, 0, sizeof(*c));
    c->mem = mem;
    c->icache = ic;
    c->bus = bus;
    c->engine = engine;
    c->ferr = ferr;
    c->ferr_opaque = ferr_opaque;
    fpu_reset(c);
    c->eflags = FL_FIXED1;
    c->lf_op = LF_NONE;
    c->cr0 = CR0_ET | CR0_CD | CR0_NW;
    c->regs[R_EDX] = 0x00000653u; /* family 6, model 5 stepping 3: Pentium II (Deschutes) */
    c->a20_mask = 0xFFFFFFFFu;
    c->apic_base = 0xFEE00900ull;
    c->exc_vector = -1;
    c->dr[6] = 0xFFFF0FF0u;
    c->dr[7] = 0x400;
    c->gdtr.limit = c->idtr.limit = 0xFFFF;
    c->ldtr.limit = c->tr.limit = 0xFFFF;
    const uint32_t data_attr = SEG_P | SEG_S | (0x3u << 8); /* present, data, RW, accessed */
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0, 0, 0xFFFF, data_attr);
    /* CS = F000 with base FFFF0000: the first fetch is at FFFFFFF0. */
    cpu_set_seg_cache(c, SR_CS, 0xF000, 0xFFFF0000u, 0xFFFF, SEG_P | SEG_S | (0xBu << 8));
    c->eip = 0xFFF0;
    tlb_flush_all(&c->tlb);
    if (ic)
        icache_flush(ic);
    cpu_update_mode(c);
}

uint32_t cpu_get_eflags(struct cpu *c)
{
    return (c->eflags & ~FL_ARITH) | flags_arith(c) | FL_FIXED1;
}

void cpu_set_eflags(struct cpu *c, uint32_t value)
{
    bool vm_changed = (c->eflags ^ value) & FL_VM;
    c->eflags = (value & 0x003F7FD5u) | FL_FIXED1;
    c->lf_op = LF_NONE;
    if (vm_changed)
        cpu_update_mode(c);
    cpu_update_align_check(c);
}

void cpu_flush_tlb(struct cpu *c, bool keep_global)
{
    if (keep_global)
        tlb_flush_nonglobal(&c->tlb);
    else
        tlb_flush_all(&c->tlb);
    icache_new_epoch(c->icache);
}

void cpu_invalidate_code(struct cpu *c)
{
    cpu_flush_tlb(c, false);
    icache_new_map_epoch(c->icache);
}

void cpu_request_stop(struct cpu *c) { c->stop_requested = true; }

void cpu_set_irq(struct cpu *c, bool level) { c->intr_line = level; }

_Noreturn void cpu_raise(struct cpu *c, int vector, uint32_t error_code, bool has_error)
{
    c->exc_vector = vector;
    c->exc_error = error_code;
    c->exc_has_error = has_error;
    c->exc_trap = false;
    if (!c->exc_jmp)
        abort(); /* a fault outside cpu_run() is a VMM bug, not a guest one */
    longjmp(*c->exc_jmp, 1);
}

/* Real-mode (and reset-state) interrupt entry through the IVT. */
static void deliver_real(struct cpu *c, int vector)
{
    uint32_t ivt = c->idtr.base + (uint32_t)vector * 4;
    if ((uint32_t)vector * 4 + 3 > c->idtr.limit)
        cpu_fault_err(c, EXC_GP, (uint32_t)vector * 8 + 2);
    uint16_t new_ip = (uint16_t)lin_read_priv(c, ivt, 2, PRIV_SUPER);
    uint16_t new_cs = (uint16_t)lin_read_priv(c, ivt + 2, 2, PRIV_SUPER);
    uint32_t fl = cpu_get_eflags(c);
    push(c, fl & 0xFFFF, 2);
    push(c, c->seg[SR_CS].sel, 2);
    push(c, c->eip & 0xFFFF, 2);
    c->eflags &= ~(FL_IF | FL_TF | FL_AC | FL_RF);
    c->align_check = 0;
    cpu_load_seg(c, SR_CS, new_cs);
    c->eip = new_ip;
}

void cpu_deliver(struct cpu *c, int vector, bool soft, uint32_t error_code, bool has_error)
{
    if (vector < 32 && (c->stop_on_exception & (1u << vector)) && c->exc_jmp) {
        /* Delivered from a handler, this is a trap (INT n, INT3, INTO, ICEBP): report it with
         * the state after the instruction. Faults were already filtered by cpu_run(). */
        c->exc_vector = vector;
        c->exc_error = error_code;
        c->exc_has_error = has_error;
        c->exc_trap = true;
        longjmp(*c->exc_jmp, 1);
    }
    c->halted = false;
    if (vector == EXC_DB && !soft)
        c->dr[7] &= ~DR7_GD; /* so that the handler can use the debug registers (SDM 17.2.4) */
    if (!cpu_protected(c)) {
        deliver_real(c, vector);
        return;
    }
    cpu_deliver_protected(c, vector, soft, error_code, has_error);
}
