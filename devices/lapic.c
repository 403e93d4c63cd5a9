#include "devices/lapic.h"

#include <errno.h>
#include <string.h>

#include "mmu/memmap.h"

typedef unsigned __int128 u128;

/* Bits the guest may write in each LVT entry (P6: no TSC-deadline mode, no thermal entry). */
static const uint32_t lvt_wmask[LVT_COUNT] = {
    [LVT_TIMER] = 0x000300FFu, /* vector, mask, periodic */
    [LVT_PERF] = 0x000107FFu,  /* vector, delivery mode, mask */
    [LVT_LINT0] = 0x0001A7FFu, /* vector, delivery mode, polarity, trigger, mask */
    [LVT_LINT1] = 0x0001A7FFu,
    [LVT_ERROR] = 0x000100FFu,
};

#define ICR_LO_WMASK 0x000CCFFFu
#define SVR_WMASK 0x3F0u
#define DCR_WMASK 0x0Bu

/* ---- small helpers ---- */

static bool hw_enabled(const struct lapic *l) { return l->base_msr & APIC_BASE_EN; }
static bool sw_enabled(const struct lapic *l) { return l->svr & APIC_SVR_ENABLE; }
static bool active(const struct lapic *l) { return hw_enabled(l) && sw_enabled(l); }

static bool test_vec(const uint32_t r[8], unsigned v) { return r[(v >> 5) & 7] >> (v & 31) & 1; }
static void set_vec(uint32_t r[8], unsigned v) { r[(v >> 5) & 7] |= 1u << (v & 31); }
static void clear_vec(uint32_t r[8], unsigned v) { r[(v >> 5) & 7] &= ~(1u << (v & 31)); }

/* Highest vector set, or -1. */
static int highest(const uint32_t r[8])
{
    for (int i = 7; i >= 0; i--)
        if (r[i])
            return i * 32 + 31 - __builtin_clz(r[i]);
    return -1;
}

static unsigned lvt_mode(uint32_t e) { return (e & APIC_DM_MASK) >> APIC_DM_SHIFT; }

static uint64_t now_ns(const struct lapic *l) { return vclock_now(l->clock); }

/* ---- priorities (SDM 10.8.3) ---- */

static uint8_t ppr(const struct lapic *l)
{
    int isrv = highest(l->isr);
    unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv >> 4;
    return (l->tpr >> 4) >= isr_class ? l->tpr : (uint8_t)(isr_class << 4);
}

static uint8_t apr(const struct lapic *l)
{
    int isrv = highest(l->isr), irrv = highest(l->irr);
    unsigned tc = l->tpr >> 4, sc = isrv < 0 ? 0 : (unsigned)isrv >> 4,
             rc = irrv < 0 ? 0 : (unsigned)irrv >> 4;
    if (tc >= rc && tc > sc)
        return l->tpr;
    unsigned m = tc > sc ? tc : sc;
    return (uint8_t)((m > rc ? m : rc) << 4);
}

/* The IRR vector the core would take: its class must be above the processor priority. */
static int deliverable_vector(const struct lapic *l)
{
    int v = highest(l->irr);
    return v >= 0 && ((unsigned)v >> 4) > (unsigned)(ppr(l) >> 4) ? v : -1;
}

int lapic_pending(const struct lapic *l)
{
    if (!active(l)) /* LINT0 is the CPU's INTR pin */
        return l->lint_level[0] ? LAPIC_PENDING_EXTINT : -1;
    uint32_t e = l->lvt[LVT_LINT0];
    /* ExtINT is outside the priority scheme: it goes first. */
    if (l->extint_msg ||
        (l->lint_level[0] && !(e & APIC_LVT_MASKED) && lvt_mode(e) == APIC_DM_EXTINT))
        return LAPIC_PENDING_EXTINT;
    return deliverable_vector(l);
}

static void drive_intr(struct lapic *l, bool force)
{
    bool level = lapic_pending(l) >= 0;
    if (force || level != l->intr_level) {
        l->intr_level = level;
        irq_line_set(&l->intr, level);
    }
}

static void update_intr(struct lapic *l) { drive_intr(l, false); }

static void nmi_pulse(struct lapic *l)
{
    irq_line_set(&l->nmi, true);
    irq_line_set(&l->nmi, false);
}

/* ---- accepting interrupts and errors ---- */

static void signal_error(struct lapic *l, uint8_t bits);

/* A fixed interrupt enters the IRR. Vectors 0-15 are illegal on the P6 (SDM 10.5.2). */
static bool accept_fixed(struct lapic *l, unsigned vector, bool level)
{
    if (!active(l))
        return false;
    vector &= 0xFF;
    if (vector < 16) {
        signal_error(l, APIC_ESR_RECV_ILLEGAL);
        return false;
    }
    set_vec(l->irr, vector);
    if (level)
        set_vec(l->tmr, vector);
    else
        clear_vec(l->tmr, vector);
    update_intr(l);
    return true;
}

static void signal_error(struct lapic *l, uint8_t bits)
{
    l->esr_pending |= bits;
    uint32_t e = l->lvt[LVT_ERROR];
    if ((e & APIC_LVT_MASKED) || !active(l))
        return;
    /* An illegal error vector is logged, never raised: raising it would recurse. */
    if ((e & APIC_VECTOR_MASK) < 16)
        l->esr_pending |= APIC_ESR_RECV_ILLEGAL;
    else
        accept_fixed(l, e & APIC_VECTOR_MASK, false);
}

/* A level-triggered fixed LINT input: delivered while asserted and not awaiting EOI. */
static void lint_level_check(struct lapic *l, unsigned pin)
{
    uint32_t *e = &l->lvt[LVT_LINT0 + pin];
    if (!active(l) || !l->lint_level[pin] || (*e & (APIC_LVT_MASKED | APIC_REMOTE_IRR)) ||
        lvt_mode(*e) != APIC_DM_FIXED || !(*e & APIC_TRIGGER_LEVEL))
        return;
    if (accept_fixed(l, *e & APIC_VECTOR_MASK, true))
        *e |= APIC_REMOTE_IRR;
}

void lapic_set_lint(struct lapic *l, unsigned pin, bool asserted)
{
    if (pin > 1)
        return;
    bool rising = asserted && !l->lint_level[pin];
    l->lint_level[pin] = asserted;
    if (!active(l)) {
        if (pin == 1 && rising) /* LINT1 is the CPU's NMI pin */
            nmi_pulse(l);
        update_intr(l);
        return;
    }
    uint32_t e = l->lvt[LVT_LINT0 + pin];
    if (!(e & APIC_LVT_MASKED)) {
        switch (lvt_mode(e)) {
        case APIC_DM_FIXED:
            if (e & APIC_TRIGGER_LEVEL)
                lint_level_check(l, pin);
            else if (rising)
                accept_fixed(l, e & APIC_VECTOR_MASK, false);
            break;
        case APIC_DM_NMI: /* always edge-sensitive */
            if (rising)
                nmi_pulse(l);
            break;
        default: /* ExtINT is seen by lapic_pending; SMI and INIT have no target here */
            break;
        }
    }
    update_intr(l);
}

void lapic_lint_irq(void *opaque, unsigned line, bool level)
{
    lapic_set_lint(opaque, line, level);
}

/* ---- timer ---- */

static unsigned timer_divisor(const struct lapic *l)
{
    unsigned code = (l->timer_dcr & 3u) | ((l->timer_dcr >> 1) & 4u);
    return code == 7 ? 1 : 2u << code;
}

static bool timer_periodic(const struct lapic *l) { return l->lvt[LVT_TIMER] & APIC_TIMER_PERIODIC; }

/* Ticks counted since the load, at virtual time `now`. */
static uint64_t timer_elapsed(const struct lapic *l, uint64_t now)
{
    if (now <= l->timer_t0)
        return l->timer_e0;
    u128 e = (u128)(now - l->timer_t0) * l->bus_hz / ((u128)NS_PER_SEC * timer_divisor(l));
    e += l->timer_e0;
    return e > UINT64_MAX ? UINT64_MAX : (uint64_t)e;
}

/* The first instant at which `target` ticks have been counted (UINT64_MAX: never). */
static uint64_t timer_deadline(const struct lapic *l, uint64_t target)
{
    if (target <= l->timer_e0)
        return l->timer_t0;
    u128 ns = ((u128)(target - l->timer_e0) * NS_PER_SEC * timer_divisor(l) + l->bus_hz - 1) /
              l->bus_hz;
    ns += l->timer_t0;
    return ns >= UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static uint32_t timer_current(const struct lapic *l)
{
    if (!l->timer_running || !l->timer_initial)
        return 0;
    uint64_t e = timer_elapsed(l, now_ns(l)), n = l->timer_initial;
    if (timer_periodic(l))
        return (uint32_t)(n - e % n); /* n..1, reloaded as it reaches 0 */
    return e >= n ? 0 : (uint32_t)(n - e);
}

/* Restart the count from `now` with the progress so far, before the divisor or the mode
 * changes, so the count carries on from where it is. */
static void timer_reanchor(struct lapic *l)
{
    if (!l->timer_running)
        return;
    uint64_t now = now_ns(l), e = timer_elapsed(l, now), n = l->timer_initial;
    if (timer_periodic(l)) {
        e %= n;
    } else if (e >= n) {
        l->timer_running = false; /* the one-shot count ran out (while masked) */
        return;
    }
    l->timer_t0 = now;
    l->timer_e0 = e;
}

/* Arm the vtimer for the next time the count reaches 0. A masked timer keeps counting
 * (the count is computed from time) but needs no callback until it is unmasked. */
static void timer_rearm(struct lapic *l)
{
    vtimer_cancel(&l->timer);
    if (!l->timer_running)
        return;
    uint64_t now = now_ns(l), e = timer_elapsed(l, now), n = l->timer_initial;
    bool periodic = timer_periodic(l);
    if (!periodic && e >= n) {
        l->timer_running = false;
        return;
    }
    if (l->lvt[LVT_TIMER] & APIC_LVT_MASKED)
        return;
    uint64_t target = n;
    if (periodic) {
        if (e > UINT64_MAX - 2 * n)
            return; /* centuries away */
        target = (e / n + 1) * n;
        uint64_t soon = now + LAPIC_TIMER_MIN_PERIOD_NS;
        if (timer_deadline(l, target) < soon) {
            uint64_t es = timer_elapsed(l, soon);
            if (es > UINT64_MAX - 2 * n)
                return;
            target = (es / n + 1) * n;
        }
    }
    uint64_t d = timer_deadline(l, target);
    if (d != UINT64_MAX)
        vtimer_arm(&l->timer, d);
}

static void timer_fire(void *opaque)
{
    struct lapic *l = opaque;
    if (!l->timer_running)
        return;
    uint32_t e = l->lvt[LVT_TIMER];
    if (!(e & APIC_LVT_MASKED))
        accept_fixed(l, e & APIC_VECTOR_MASK, false);
    if (timer_periodic(l))
        timer_rearm(l);
    else
        l->timer_running = false;
}

static void timer_load(struct lapic *l, uint32_t count)
{
    l->timer_initial = count;
    l->timer_running = count != 0; /* writing 0 stops the timer */
    l->timer_t0 = now_ns(l);
    l->timer_e0 = 0;
    timer_rearm(l);
}

/* ---- EOI and IPIs ---- */

static void do_eoi(struct lapic *l)
{
    int v = highest(l->isr);
    if (v < 0)
        return;
    clear_vec(l->isr, (unsigned)v);
    if (test_vec(l->tmr, (unsigned)v)) {
        for (unsigned pin = 0; pin < 2; pin++) {
            uint32_t *e = &l->lvt[LVT_LINT0 + pin];
            if ((*e & APIC_REMOTE_IRR) && (*e & APIC_VECTOR_MASK) == (unsigned)v) {
                *e &= ~APIC_REMOTE_IRR;
                lint_level_check(l, pin);
            }
        }
        if (l->eoi_broadcast)
            l->eoi_broadcast(l->eoi_opaque, (uint8_t)v);
    }
    update_intr(l);
}

/* Does a message for `dest` reach this APIC (SDM 10.6.2)? */
static bool dest_match(const struct lapic *l, uint8_t dest, bool logical)
{
    if (!logical) {
        unsigned d = dest & 0x0F; /* P6: 4-bit IDs, 0xF is the broadcast */
        return d == 0x0F || d == l->id;
    }
    if (l->dfr_model == 0xF) /* flat */
        return (dest & l->ldr) != 0;
    if (l->dfr_model == 0x0) { /* cluster */
        unsigned cluster = dest >> 4;
        return (cluster == 0xF || cluster == (unsigned)(l->ldr >> 4)) && (dest & l->ldr & 0x0F);
    }
    return false;
}

static void send_ipi(struct lapic *l)
{
    uint32_t lo = l->icr_lo;
    unsigned dm = lvt_mode(lo), vec = lo & APIC_VECTOR_MASK;
    uint8_t dest = (uint8_t)(l->icr_hi >> 24);
    bool logical = lo & APIC_ICR_DEST_LOGICAL;
    bool self = false, others = false;
    switch ((lo >> APIC_ICR_SHORTHAND_SHIFT) & 3) {
    case APIC_SH_NONE:
        self = dest_match(l, dest, logical);
        others = logical || (dest & 0x0F) != l->id;
        break;
    case APIC_SH_SELF: self = true; break;
    case APIC_SH_ALL: self = others = true; break;
    case APIC_SH_OTHERS: others = true; break;
    }
    if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vec < 16) {
        signal_error(l, (uint8_t)(APIC_ESR_SEND_ILLEGAL | (self ? APIC_ESR_RECV_ILLEGAL : 0)));
        return;
    }
    struct lapic_ipi_record *rec = dm == APIC_DM_INIT ? &l->last_init
                                   : dm == APIC_DM_STARTUP ? &l->last_sipi : NULL;
    if (rec) {
        rec->icr_lo = lo;
        rec->icr_hi = l->icr_hi;
        rec->count++;
    }
    if ((others || rec) && l->ipi_out)
        l->ipi_out(l->ipi_opaque, lo, l->icr_hi);
    if (!self)
        return;
    switch (dm) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST: /* one processor: it is the lowest-priority one */
        accept_fixed(l, vec, lo & APIC_TRIGGER_LEVEL);
        break;
    case APIC_DM_NMI: nmi_pulse(l); break;
    default: break; /* SMI: no SMM; INIT/STARTUP to self are only recorded */
    }
}

bool lapic_receive(void *opaque, const struct apic_msg *m)
{
    struct lapic *l = opaque;
    if (!hw_enabled(l) || !dest_match(l, m->dest, m->logical))
        return false;
    switch (m->delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST: return accept_fixed(l, m->vector, m->level);
    case APIC_DM_NMI: nmi_pulse(l); return true; /* taken even when software-disabled */
    case APIC_DM_SMI:
    case APIC_DM_INIT: return true;
    case APIC_DM_EXTINT:
        if (!sw_enabled(l))
            return false;
        l->extint_msg = true;
        update_intr(l);
        return true;
    default: return false;
    }
}

int lapic_ack(struct lapic *l)
{
    int v;
    if (lapic_pending(l) == LAPIC_PENDING_EXTINT) {
        l->extint_msg = false;
        v = l->extint_ack ? l->extint_ack(l->extint_opaque) : -1;
    } else if (!active(l)) {
        v = -1; /* nothing on INTR */
    } else if ((v = deliverable_vector(l)) >= 0) {
        clear_vec(l->irr, (unsigned)v);
        set_vec(l->isr, (unsigned)v);
    } else {
        v = l->svr & APIC_VECTOR_MASK; /* what raised INTR has gone: spurious, no ISR bit */
    }
    update_intr(l);
    return v;
}

int lapic_intr_ack(void *opaque) { return lapic_ack(opaque); }

/* ---- state ---- */

/* Power-up values (SDM 10.4.7.1) of everything but the ID, the base MSR and the pins. */
static void power_on_state(struct lapic *l)
{
    vtimer_cancel(&l->timer);
    l->tpr = 0;
    l->ldr = 0;
    l->dfr_model = 0xF;
    l->svr = 0xFF;
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    memset(l->irr, 0, sizeof(l->irr));
    l->esr = l->esr_pending = 0;
    l->icr_lo = l->icr_hi = 0;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = APIC_LVT_MASKED;
    l->extint_msg = false;
    l->timer_initial = 0;
    l->timer_dcr = 0;
    l->timer_running = false;
    l->timer_t0 = l->timer_e0 = 0;
    memset(&l->last_init, 0, sizeof(l->last_init));
    memset(&l->last_sipi, 0, sizeof(l->last_sipi));
}

/* The window follows the base MSR. What it covered is put back when it leaves, so a guest
 * that parks the APIC on RAM or ROM and moves it away gets that memory back. */
static void remap(struct lapic *l)
{
    if (!l->mem)
        return;
    bool want = hw_enabled(l);
    uint32_t base = (uint32_t)l->base_msr & APIC_BASE_ADDR_MASK;
    if (l->mapped && (!want || base != l->mapped_base)) {
        l->mem->pages[l->mapped_base >> PAGE_SHIFT] = l->saved_page;
        memmap_note_write(l->mem, l->mapped_base, PAGE_SIZE);
        if (l->mem->map_changed)
            l->mem->map_changed(l->mem->map_changed_opaque);
        l->mapped = false;
    }
    if (want && !l->mapped) {
        struct page_map before = l->mem->pages[base >> PAGE_SHIFT];
        if (memmap_map_mmio(l->mem, base, LAPIC_MMIO_SIZE, l->mmio_index) == 0) {
            l->saved_page = before;
            l->mapped = true;
            l->mapped_base = base;
        }
    }
}

void lapic_init_reset(struct lapic *l)
{
    power_on_state(l);
    drive_intr(l, true);
}

static void lapic_reset(void *opaque)
{
    struct lapic *l = opaque;
    power_on_state(l);
    l->id = 0;
    l->base_msr = LAPIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_EN;
    remap(l);
    drive_intr(l, true);
}

uint64_t lapic_set_base_msr(struct lapic *l, uint64_t value)
{
    bool was = hw_enabled(l);
    l->base_msr = (value & (APIC_BASE_ADDR_MASK | APIC_BASE_EN)) | (l->base_msr & APIC_BASE_BSP);
    if (was && !hw_enabled(l))
        power_on_state(l); /* SDM 10.4.3: a globally disabled APIC loses its setup */
    remap(l);
    drive_intr(l, true);
    return l->base_msr;
}

/* ---- registers ---- */

/* Reads without side effects; *ok is false for a reserved offset. */
static uint32_t reg_read(const struct lapic *l, uint32_t reg, bool *ok)
{
    *ok = true;
    if (reg >= LAPIC_ISR && reg < LAPIC_ISR + 0x80)
        return l->isr[(reg - LAPIC_ISR) >> 4 & 7];
    if (reg >= LAPIC_TMR && reg < LAPIC_TMR + 0x80)
        return l->tmr[(reg - LAPIC_TMR) >> 4 & 7];
    if (reg >= LAPIC_IRR && reg < LAPIC_IRR + 0x80)
        return l->irr[(reg - LAPIC_IRR) >> 4 & 7];
    switch (reg) {
    case LAPIC_ID: return (uint32_t)l->id << 24;
    case LAPIC_VER: return LAPIC_VERSION_VALUE;
    case LAPIC_TPR: return l->tpr;
    case LAPIC_APR: return apr(l);
    case LAPIC_PPR: return ppr(l);
    case LAPIC_EOI: /* write-only */
    case LAPIC_RRD: return 0; /* no remote read was ever issued */
    case LAPIC_LDR: return (uint32_t)l->ldr << 24;
    case LAPIC_DFR: return (uint32_t)l->dfr_model << 28 | 0x0FFFFFFFu;
    case LAPIC_SVR: return l->svr;
    case LAPIC_ESR: return l->esr;
    case LAPIC_ICR_LO: return l->icr_lo; /* delivery status: always idle */
    case LAPIC_ICR_HI: return l->icr_hi;
    case LAPIC_LVT_TIMER: return l->lvt[LVT_TIMER];
    case LAPIC_LVT_PERF: return l->lvt[LVT_PERF];
    case LAPIC_LVT_LINT0: return l->lvt[LVT_LINT0];
    case LAPIC_LVT_LINT1: return l->lvt[LVT_LINT1];
    case LAPIC_LVT_ERROR: return l->lvt[LVT_ERROR];
    case LAPIC_TIMER_ICR: return l->timer_initial;
    case LAPIC_TIMER_CCR: return timer_current(l);
    case LAPIC_TIMER_DCR: return l->timer_dcr;
    default: *ok = false; return 0;
    }
}

uint32_t lapic_reg(const struct lapic *l, uint32_t offset)
{
    bool ok;
    return reg_read(l, offset & 0xFF0u, &ok);
}

static void write_lvt(struct lapic *l, unsigned idx, uint32_t v)
{
    uint32_t old = l->lvt[idx], nv = v & lvt_wmask[idx];
    if (!sw_enabled(l))
        nv |= APIC_LVT_MASKED; /* SDM 10.4.7.2: masks cannot be cleared */
    if (idx == LVT_LINT0 || idx == LVT_LINT1) {
        /* Remote IRR belongs to a fixed level-triggered input in service; it survives a
         * rewrite of the same kind of entry. */
        if (lvt_mode(nv) == APIC_DM_FIXED && (nv & APIC_TRIGGER_LEVEL))
            nv |= old & APIC_REMOTE_IRR;
    }
    bool mode_change = idx == LVT_TIMER && ((old ^ nv) & APIC_TIMER_PERIODIC);
    if (mode_change)
        timer_reanchor(l); /* in the old mode */
    l->lvt[idx] = nv;
    if (idx == LVT_TIMER)
        timer_rearm(l);
    if (idx == LVT_LINT0 || idx == LVT_LINT1)
        lint_level_check(l, idx - LVT_LINT0);
    update_intr(l);
}

static void reg_write(struct lapic *l, uint32_t reg, uint32_t v)
{
    if ((reg >= LAPIC_ISR && reg < LAPIC_IRR + 0x80))
        return; /* ISR, TMR, IRR are read-only */
    switch (reg) {
    case LAPIC_ID: l->id = (v >> 24) & 0x0F; break;
    case LAPIC_VER:
    case LAPIC_APR:
    case LAPIC_PPR:
    case LAPIC_RRD:
    case LAPIC_TIMER_CCR: break; /* read-only */
    case LAPIC_TPR:
        l->tpr = (uint8_t)v;
        update_intr(l);
        break;
    case LAPIC_EOI: do_eoi(l); break;
    case LAPIC_LDR: l->ldr = (uint8_t)(v >> 24); break;
    case LAPIC_DFR: l->dfr_model = (uint8_t)(v >> 28); break;
    case LAPIC_SVR: {
        l->svr = (v & SVR_WMASK) | 0x0F; /* P6: vector bits 0-3 are hardwired to 1 */
        if (!sw_enabled(l)) {
            for (unsigned i = 0; i < LVT_COUNT; i++)
                l->lvt[i] |= APIC_LVT_MASKED;
            l->extint_msg = false;
            timer_rearm(l);
        }
        update_intr(l);
        break;
    }
    case LAPIC_ESR: /* write-before-read: latch what was detected since the last write */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_ICR_LO:
        l->icr_lo = v & ICR_LO_WMASK;
        send_ipi(l);
        break;
    case LAPIC_ICR_HI: l->icr_hi = v & 0xFF000000u; break;
    case LAPIC_LVT_TIMER: write_lvt(l, LVT_TIMER, v); break;
    case LAPIC_LVT_PERF: write_lvt(l, LVT_PERF, v); break;
    case LAPIC_LVT_LINT0: write_lvt(l, LVT_LINT0, v); break;
    case LAPIC_LVT_LINT1: write_lvt(l, LVT_LINT1, v); break;
    case LAPIC_LVT_ERROR: write_lvt(l, LVT_ERROR, v); break;
    case LAPIC_TIMER_ICR: timer_load(l, v); break;
    case LAPIC_TIMER_DCR:
        if ((v & DCR_WMASK) != l->timer_dcr) {
            timer_reanchor(l);
            l->timer_dcr = v & DCR_WMASK;
            timer_rearm(l);
        }
        break;
    default: signal_error(l, APIC_ESR_ILLEGAL_REG); break;
    }
}

/* Registers are 32 bits at 16-byte strides. Narrower reads of the register's own bytes work;
 * the other 12 bytes of each stride read as 0. */
uint32_t lapic_mmio_read(void *opaque, uint32_t offset, unsigned size)
{
    struct lapic *l = opaque;
    offset &= LAPIC_MMIO_SIZE - 1;
    unsigned sub = offset & 0xF;
    if (sub >= 4)
        return 0;
    bool ok;
    uint32_t v = reg_read(l, offset & 0xFF0u, &ok);
    if (!ok)
        signal_error(l, APIC_ESR_ILLEGAL_REG);
    v >>= 8 * sub;
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

/* Only aligned 32-bit stores reach a register: smaller ones are model-specific (SDM 10.4.1)
 * and would send half-written ICRs. */
void lapic_mmio_write(void *opaque, uint32_t offset, uint32_t value, unsigned size)
{
    struct lapic *l = opaque;
    offset &= LAPIC_MMIO_SIZE - 1;
    if (size != 4 || (offset & 0xF))
        return;
    reg_write(l, offset, value);
}

const struct mmio_ops lapic_mmio_ops = {lapic_mmio_read, lapic_mmio_write};

/* ---- save / load ---- */

static void lapic_save(const void *opaque, struct state_writer *w)
{
    const struct lapic *l = opaque;
    sw_u64(w, l->base_msr);
    sw_u8(w, l->id);
    sw_u8(w, l->tpr);
    sw_u8(w, l->ldr);
    sw_u8(w, l->dfr_model);
    sw_u32(w, l->svr);
    for (int i = 0; i < 8; i++)
        sw_u32(w, l->isr[i]);
    for (int i = 0; i < 8; i++)
        sw_u32(w, l->tmr[i]);
    for (int i = 0; i < 8; i++)
        sw_u32(w, l->irr[i]);
    sw_u8(w, l->esr);
    sw_u8(w, l->esr_pending);
    sw_u32(w, l->icr_lo);
    sw_u32(w, l->icr_hi);
    for (int i = 0; i < LVT_COUNT; i++)
        sw_u32(w, l->lvt[i]);
    sw_u32(w, l->timer_initial);
    sw_u8(w, l->timer_dcr);
    sw_u8(w, (uint8_t)(l->timer_running | l->lint_level[0] << 1 | l->lint_level[1] << 2 |
                       l->extint_msg << 3));
    sw_u64(w, l->timer_t0);
    sw_u64(w, l->timer_e0);
    const struct lapic_ipi_record *recs[2] = {&l->last_init, &l->last_sipi};
    for (int i = 0; i < 2; i++) {
        sw_u32(w, recs[i]->icr_lo);
        sw_u32(w, recs[i]->icr_hi);
        sw_u32(w, recs[i]->count);
    }
}

static int lapic_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct lapic *l = opaque;
    if (version != 1)
        return -1;
    struct lapic s = *l; /* decode into a copy; take it only when all of it checks out */
    s.base_msr = sr_u64(r);
    s.id = sr_u8(r);
    s.tpr = sr_u8(r);
    s.ldr = sr_u8(r);
    s.dfr_model = sr_u8(r);
    s.svr = sr_u32(r);
    for (int i = 0; i < 8; i++)
        s.isr[i] = sr_u32(r);
    for (int i = 0; i < 8; i++)
        s.tmr[i] = sr_u32(r);
    for (int i = 0; i < 8; i++)
        s.irr[i] = sr_u32(r);
    s.esr = sr_u8(r);
    s.esr_pending = sr_u8(r);
    s.icr_lo = sr_u32(r);
    s.icr_hi = sr_u32(r);
    for (int i = 0; i < LVT_COUNT; i++)
        s.lvt[i] = sr_u32(r);
    s.timer_initial = sr_u32(r);
    s.timer_dcr = sr_u8(r);
    uint8_t flags = sr_u8(r);
    s.timer_t0 = sr_u64(r);
    s.timer_e0 = sr_u64(r);
    struct lapic_ipi_record *recs[2] = {&s.last_init, &s.last_sipi};
    for (int i = 0; i < 2; i++) {
        recs[i]->icr_lo = sr_u32(r);
        recs[i]->icr_hi = sr_u32(r);
        recs[i]->count = sr_u32(r);
    }
    if (r->error || (s.base_msr & ~(uint64_t)(APIC_BASE_ADDR_MASK | APIC_BASE_EN | APIC_BASE_BSP)) ||
        s.id > 0x0F || s.dfr_model > 0x0F || (s.svr & ~0x3FFu) || (s.svr & 0x0F) != 0x0F ||
        ((s.esr | s.esr_pending) & 0x10) || (s.icr_lo & ~ICR_LO_WMASK) ||
        (s.icr_hi & 0x00FFFFFFu) || (s.timer_dcr & ~DCR_WMASK) || (flags & ~0x0Fu))
        return -1;
    for (int i = 0; i < LVT_COUNT; i++) {
        uint32_t ok = lvt_wmask[i] | (i == LVT_LINT0 || i == LVT_LINT1 ? APIC_REMOTE_IRR : 0);
        if ((s.lvt[i] & ~ok) || (!(s.svr & APIC_SVR_ENABLE) && !(s.lvt[i] & APIC_LVT_MASKED)))
            return -1;
    }
    s.timer_running = flags & 1;
    s.lint_level[0] = flags & 2;
    s.lint_level[1] = flags & 4;
    s.extint_msg = flags & 8;
    if (s.timer_running && !s.timer_initial)
        return -1;
    vtimer_cancel(&l->timer);
    s.base_msr = (s.base_msr & ~(uint64_t)APIC_BASE_BSP) | (l->base_msr & APIC_BASE_BSP);
    s.timer = l->timer; /* the clock's list points at l->timer, not at the copy */
    *l = s;
    remap(l);
    timer_rearm(l);
    drive_intr(l, true);
    return 0;
}

static const struct device_ops lapic_device_ops = {
    .name = "lapic",
    .state_version = 1,
    .reset = lapic_reset,
    .save = lapic_save,
    .load = lapic_load,
};

void lapic_init(struct lapic *l, struct vclock *clock, uint64_t bus_hz)
{
    memset(l, 0, sizeof(*l));
    l->dev = (struct device){&lapic_device_ops, l};
    l->clock = clock;
    l->bus_hz = bus_hz < 1 ? 1 : bus_hz > 10 * NS_PER_SEC ? 10 * NS_PER_SEC : bus_hz;
    l->mmio_index = -1;
    vtimer_init(&l->timer, clock, timer_fire, l);
    lapic_reset(l);
}

int lapic_attach_mmio(struct lapic *l, struct memmap *m)
{
    if (l->mem)
        return -EBUSY;
    int idx = memmap_register_mmio(m, &lapic_mmio_ops, l);
    if (idx < 0)
        return idx;
    l->mem = m;
    l->mmio_index = idx;
    remap(l);
    return l->mapped || !hw_enabled(l) ? 0 : -EINVAL;
}
