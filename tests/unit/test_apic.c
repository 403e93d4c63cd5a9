/* Unit tests of the local APIC (devices/lapic.c) and the 82093AA I/O APIC (devices/ioapic.c),
 * driven through their MMIO windows in a real memory map. Expected values come from the
 * Intel SDM vol. 3 chapter 10 (P6-family local APIC) and the 82093AA datasheet: reset values,
 * software enable, I/O APIC -> local APIC delivery and acknowledge, priorities (TPR, PPR,
 * APR, ISR nesting), EOI and level re-delivery, masking, the timer on virtual time, LINT0
 * ExtINT and the 8259 pass-through, NMI on LINT1, spurious interrupts, ESR, IPIs, the APIC
 * base MSR, save/load, and hostile register accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "mmu/memmap.h"

#define BUS_HZ 1000000u /* 1 MHz: one timer tick per microsecond with divide-by-1 */
#define US 1000ull
#define MS 1000000ull
#define IOAPIC_ID 1

struct fixture {
    struct memmap mem;
    struct vclock clock;
    struct lapic l;
    struct ioapic io;
    uint32_t lapic_base;

    bool intr;
    int intr_rises;
    uint64_t rise_at[64];
    int nmis;
    int pic_vector; /* what the mock 8259 answers at INTA */
    int pic_acks;
    int eois;
    uint8_t last_eoi;
    int ipis;
    uint32_t last_ipi_lo, last_ipi_hi;
};

static void intr_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    (void)line;
    if (level && !f->intr) {
        if (f->intr_rises < 64)
            f->rise_at[f->intr_rises] = vclock_now(&f->clock);
        f->intr_rises++;
    }
    f->intr = level;
}

static void nmi_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    (void)line;
    if (level)
        f->nmis++;
}

static int pic_ack(void *opaque)
{
    struct fixture *f = opaque;
    f->pic_acks++;
    return f->pic_vector;
}

static void eoi_hook(void *opaque, uint8_t vector)
{
    struct fixture *f = opaque;
    f->eois++;
    f->last_eoi = vector;
    ioapic_eoi(&f->io, vector);
}

static void ipi_hook(void *opaque, uint32_t lo, uint32_t hi)
{
    struct fixture *f = opaque;
    f->ipis++;
    f->last_ipi_lo = lo;
    f->last_ipi_hi = hi;
}

static void wire(struct fixture *f)
{
    f->l.intr = (struct irq_line){intr_set, f, 0};
    f->l.nmi = (struct irq_line){nmi_set, f, 0};
    f->l.extint_ack = pic_ack;
    f->l.extint_opaque = f;
    f->l.eoi_broadcast = eoi_hook;
    f->l.eoi_opaque = f;
    f->l.ipi_out = ipi_hook;
    f->l.ipi_opaque = f;
    f->io.deliver = lapic_receive;
    f->io.deliver_opaque = &f->l;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || memmap_init(&f->mem, 1u << 20))
        return -1;
    vclock_init(&f->clock);
    lapic_init(&f->l, &f->clock, BUS_HZ);
    ioapic_init(&f->io, IOAPIC_ID);
    wire(f);
    if (lapic_attach_mmio(&f->l, &f->mem) || ioapic_attach_mmio(&f->io, &f->mem, IOAPIC_DEFAULT_BASE))
        return -1;
    f->lapic_base = LAPIC_DEFAULT_BASE;
    f->pic_vector = 0x20;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    memmap_destroy(&f->mem);
    free(f);
    return 0;
}

static uint32_t lr(struct fixture *f, uint32_t off) { return memmap_read(&f->mem, f->lapic_base + off, 4); }
static void lw(struct fixture *f, uint32_t off, uint32_t v) { memmap_write(&f->mem, f->lapic_base + off, v, 4); }

static uint32_t ior(struct fixture *f, uint8_t idx)
{
    memmap_write(&f->mem, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, idx, 4);
    return memmap_read(&f->mem, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4);
}

static void iow(struct fixture *f, uint8_t idx, uint32_t v)
{
    memmap_write(&f->mem, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, idx, 4);
    memmap_write(&f->mem, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, v, 4);
}

/* Redirection entry `pin`: low dword `lo`, destination `dest`. */
static void route(struct fixture *f, unsigned pin, uint32_t lo, uint8_t dest)
{
    iow(f, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    iow(f, (uint8_t)(0x10 + 2 * pin), lo);
}

static bool vec_in(struct fixture *f, uint32_t reg_base, unsigned v)
{
    return lr(f, reg_base + 0x10 * (v / 32)) >> (v % 32) & 1;
}

static void enable_apic(struct fixture *f) { lw(f, LAPIC_SVR, 0x1FF); }

static void advance(struct fixture *f, uint64_t to) { vclock_advance(&f->clock, to); }

/* ---- reset values ---- */

static void lapic_reset_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lapic_base_msr(&f->l), 0xFEE00900u); /* base, BSP, global enable */
    assert_int_equal(lr(f, LAPIC_ID), 0);
    assert_int_equal(lr(f, LAPIC_VER), 0x00040011u); /* P6: version 0x11, Max LVT 4 */
    assert_int_equal(lr(f, LAPIC_TPR), 0);
    assert_int_equal(lr(f, LAPIC_APR), 0);
    assert_int_equal(lr(f, LAPIC_PPR), 0);
    assert_int_equal(lr(f, LAPIC_LDR), 0);
    assert_int_equal(lr(f, LAPIC_DFR), 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_SVR), 0xFF);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(lr(f, LAPIC_ISR + 0x10 * i), 0);
        assert_int_equal(lr(f, LAPIC_TMR + 0x10 * i), 0);
        assert_int_equal(lr(f, LAPIC_IRR + 0x10 * i), 0);
    }
    assert_int_equal(lr(f, LAPIC_ESR), 0);
    assert_int_equal(lr(f, LAPIC_ICR_LO), 0);
    assert_int_equal(lr(f, LAPIC_ICR_HI), 0);
    const uint32_t lvts[] = {LAPIC_LVT_TIMER, LAPIC_LVT_PERF, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1,
                             LAPIC_LVT_ERROR};
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(lr(f, lvts[i]), 0x00010000u);
    assert_int_equal(lr(f, LAPIC_TIMER_ICR), 0);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 0);
    assert_int_equal(lr(f, LAPIC_TIMER_DCR), 0);
    assert_false(f->intr);
    assert_int_equal(lapic_pending(&f->l), -1);

    /* The ID is 4 bits wide on the P6 and writable; LDR keeps bits 31:24; DFR bits 31:28. */
    lw(f, LAPIC_ID, 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_ID), 0x0F000000u);
    lw(f, LAPIC_ID, 0);
    lw(f, LAPIC_LDR, 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_LDR), 0xFF000000u);
    lw(f, LAPIC_DFR, 0x0u);
    assert_int_equal(lr(f, LAPIC_DFR), 0x0FFFFFFFu);
    /* Read-only registers ignore writes. */
    lw(f, LAPIC_VER, 0);
    lw(f, LAPIC_PPR, 0xFF);
    lw(f, LAPIC_IRR, 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_VER), 0x00040011u);
    assert_int_equal(lr(f, LAPIC_PPR), 0);
    assert_int_equal(lr(f, LAPIC_IRR), 0);
    /* Narrow reads see the register's own bytes. */
    assert_int_equal(memmap_read(&f->mem, f->lapic_base + LAPIC_VER, 1), 0x11);
    assert_int_equal(memmap_read(&f->mem, f->lapic_base + LAPIC_VER + 2, 2), 0x0004);
    assert_int_equal(memmap_read(&f->mem, f->lapic_base + LAPIC_VER + 4, 4), 0);
}

static void ioapic_reset_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ior(f, IOAPIC_REG_ID), (uint32_t)IOAPIC_ID << 24);
    assert_int_equal(ior(f, IOAPIC_REG_VER), 0x00170011u); /* 24 entries, version 0x11 */
    assert_int_equal(ior(f, IOAPIC_REG_ARB), (uint32_t)IOAPIC_ID << 24);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        assert_int_equal(ior(f, (uint8_t)(0x10 + 2 * pin)), 0x00010000u);
        assert_int_equal(ior(f, (uint8_t)(0x11 + 2 * pin)), 0);
    }
    assert_int_equal(ior(f, 0x03), 0);
    assert_int_equal(ior(f, 0x40), 0);
    assert_int_equal(ior(f, 0xFF), 0);
    /* IOREGSEL reads back; the ID is 4 bits and loads the arbitration ID; version and
     * arbitration are read-only. */
    memmap_write(&f->mem, IOAPIC_DEFAULT_BASE, 0x12, 4);
    assert_int_equal(memmap_read(&f->mem, IOAPIC_DEFAULT_BASE, 4), 0x12);
    iow(f, IOAPIC_REG_ID, 0xFFFFFFFFu);
    assert_int_equal(ior(f, IOAPIC_REG_ID), 0x0F000000u);
    assert_int_equal(ior(f, IOAPIC_REG_ARB), 0x0F000000u);
    iow(f, IOAPIC_REG_VER, 0);
    iow(f, IOAPIC_REG_ARB, 0);
    assert_int_equal(ior(f, IOAPIC_REG_VER), 0x00170011u);
    assert_int_equal(ior(f, IOAPIC_REG_ARB), 0x0F000000u);
    /* Only the defined entry bits are writable; delivery status and remote IRR read 0. */
    iow(f, 0x10, 0xFFFFFFFFu);
    iow(f, 0x11, 0xFFFFFFFFu);
    assert_int_equal(ior(f, 0x10), 0x0001AFFFu);
    assert_int_equal(ior(f, 0x11), 0xFF000000u);
    device_reset(&f->io.dev);
    assert_int_equal(ior(f, 0x10), 0x00010000u);
    assert_int_equal(ior(f, IOAPIC_REG_ID), (uint32_t)IOAPIC_ID << 24);
}

/* ---- software enable ---- */

static void svr_enable(void **state)
{
    struct fixture *f = *state;
    /* Software-disabled: the LVT masks cannot be cleared. */
    lw(f, LAPIC_LVT_LINT0, 0x700);
    assert_int_equal(lr(f, LAPIC_LVT_LINT0), 0x10700u);
    lw(f, LAPIC_SVR, 0x1F0);
    assert_int_equal(lr(f, LAPIC_SVR), 0x1FF); /* P6: bits 3:0 hardwired to 1 */
    lw(f, LAPIC_LVT_LINT0, 0x700);
    assert_int_equal(lr(f, LAPIC_LVT_LINT0), 0x700);
    lw(f, LAPIC_LVT_TIMER, 0x000E00FEu); /* bit 18 (TSC deadline) does not exist on P6 */
    assert_int_equal(lr(f, LAPIC_LVT_TIMER), 0x000200FEu);
    lw(f, LAPIC_LVT_ERROR, 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_LVT_ERROR), 0x000100FFu);
    lw(f, LAPIC_LVT_LINT1, 0xFFFFFFFFu); /* delivery status and remote IRR are read-only */
    assert_int_equal(lr(f, LAPIC_LVT_LINT1), 0x0001A7FFu);
    lw(f, LAPIC_SVR, 0x3FF);
    assert_int_equal(lr(f, LAPIC_SVR), 0x3FF); /* focus checking disable bit */
    /* Clearing the enable masks every LVT entry. */
    lw(f, LAPIC_SVR, 0x0FF);
    assert_int_equal(lr(f, LAPIC_SVR), 0x0FF);
    assert_int_equal(lr(f, LAPIC_LVT_LINT0), 0x10700u);
    assert_int_equal(lr(f, LAPIC_LVT_TIMER), 0x000300FEu);
    lw(f, LAPIC_SVR, 0x1FF); /* and enabling does not unmask them */
    assert_int_equal(lr(f, LAPIC_LVT_LINT0), 0x10700u);

    /* Fixed interrupts are not accepted while software-disabled. */
    lw(f, LAPIC_SVR, 0x0FF);
    route(f, 1, 0x31, 0);
    ioapic_set_irq(&f->io, 1, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x31));
    assert_false(f->intr);
}

/* ---- I/O APIC -> local APIC ---- */

static void fixed_from_ioapic(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    route(f, 1, 0x31, 0); /* fixed, physical, edge, dest APIC 0 */
    ioapic_set_irq(&f->io, 1, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x31));
    assert_false(vec_in(f, LAPIC_TMR, 0x31));
    assert_true(f->intr);
    assert_int_equal(lapic_pending(&f->l), 0x31);
    assert_int_equal(ior(f, 0x12) & (APIC_REMOTE_IRR | APIC_DELIVERY_PENDING), 0);

    assert_int_equal(lapic_intr_ack(&f->l), 0x31);
    assert_false(vec_in(f, LAPIC_IRR, 0x31));
    assert_true(vec_in(f, LAPIC_ISR, 0x31));
    assert_int_equal(lr(f, LAPIC_PPR), 0x30);
    assert_false(f->intr);

    /* Holding the line gives no second interrupt; a new edge does, once EOI is done. */
    ioapic_set_irq(&f->io, 1, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x31));
    lw(f, LAPIC_EOI, 0);
    assert_false(vec_in(f, LAPIC_ISR, 0x31));
    assert_int_equal(lr(f, LAPIC_PPR), 0);
    assert_int_equal(f->eois, 0); /* edge: no EOI message */
    ioapic_set_irq(&f->io, 1, false);
    ioapic_set_irq(&f->io, 1, true);
    assert_int_equal(lapic_ack(&f->l), 0x31);
    lw(f, LAPIC_EOI, 0);

    /* Another physical destination is not this APIC; 0xF is the P6 broadcast. */
    route(f, 2, 0x32, 3);
    ioapic_set_irq(&f->io, 2, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x32));
    route(f, 4, 0x34, 0x0F);
    ioapic_set_irq(&f->io, 4, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x34));
    assert_int_equal(lapic_ack(&f->l), 0x34);
    lw(f, LAPIC_EOI, 0);

    /* Logical, flat model: any common bit with the LDR. */
    lw(f, LAPIC_LDR, 0x01000000u);
    route(f, 5, 0x35 | APIC_ICR_DEST_LOGICAL, 0x02);
    ioapic_set_irq(&f->io, 5, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x35));
    route(f, 6, 0x36 | APIC_ICR_DEST_LOGICAL | APIC_DM_LOWEST << 8, 0x03);
    ioapic_set_irq(&f->io, 6, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x36));
    assert_int_equal(lapic_ack(&f->l), 0x36);
    lw(f, LAPIC_EOI, 0);
    /* Cluster model: cluster 0 member bit 0 matches 0x01, not 0x11. */
    lw(f, LAPIC_DFR, 0x0FFFFFFFu);
    route(f, 7, 0x37 | APIC_ICR_DEST_LOGICAL, 0x11);
    ioapic_set_irq(&f->io, 7, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x37));
    route(f, 8, 0x38 | APIC_ICR_DEST_LOGICAL, 0x01);
    ioapic_set_irq(&f->io, 8, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x38));

    /* An illegal vector from the I/O APIC is refused and logged. */
    route(f, 9, 0x05, 0);
    ioapic_set_irq(&f->io, 9, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x05));
    lw(f, LAPIC_ESR, 0);
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_RECV_ILLEGAL);

    /* An NMI entry raises NMI whatever the vector. */
    route(f, 10, APIC_DM_NMI << 8, 0);
    ioapic_set_irq(&f->io, 10, true);
    assert_int_equal(f->nmis, 1);
}

/* ---- priorities ---- */

static void self_ipi(struct fixture *f, unsigned vector)
{
    lw(f, LAPIC_ICR_LO, (APIC_SH_SELF << APIC_ICR_SHORTHAND_SHIFT) | vector);
}

static void tpr_blocks_lower_priority(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    lw(f, LAPIC_TPR, 0x40);
    self_ipi(f, 0x45); /* class 4 is not above class 4 */
    assert_true(vec_in(f, LAPIC_IRR, 0x45));
    assert_false(f->intr);
    assert_int_equal(lapic_pending(&f->l), -1);
    assert_int_equal(lr(f, LAPIC_PPR), 0x40);
    /* APR: TPR class 4 >= IRRV class 4 and > ISRV class 0 -> APR = TPR. */
    assert_int_equal(lr(f, LAPIC_APR), 0x40);

    self_ipi(f, 0x51);
    assert_true(f->intr);
    assert_int_equal(lapic_pending(&f->l), 0x51);
    assert_int_equal(lr(f, LAPIC_APR), 0x50); /* IRRV class 5 above TPR: max class */
    assert_int_equal(lapic_ack(&f->l), 0x51);
    assert_int_equal(lr(f, LAPIC_PPR), 0x50); /* ISRV class above TPR class */

    /* In service 0x51: the same class waits, a higher class nests. */
    self_ipi(f, 0x52);
    assert_false(f->intr);
    self_ipi(f, 0x61);
    assert_true(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0x61);
    assert_int_equal(lr(f, LAPIC_PPR), 0x60);
    lw(f, LAPIC_EOI, 0); /* ends 0x61, the highest in service */
    assert_false(vec_in(f, LAPIC_ISR, 0x61));
    assert_true(vec_in(f, LAPIC_ISR, 0x51));
    assert_false(f->intr);
    lw(f, LAPIC_EOI, 0); /* ends 0x51: 0x52 is above TPR 0x40 */
    assert_true(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0x52);
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(lr(f, LAPIC_PPR), 0x40);
    assert_false(f->intr); /* 0x45 still held by TPR */

    /* TPR 0x45: PPR takes the whole TPR; class 4 still blocked. TPR 0x3F lets it in. */
    lw(f, LAPIC_TPR, 0x45);
    assert_int_equal(lr(f, LAPIC_PPR), 0x45);
    assert_false(f->intr);
    lw(f, LAPIC_TPR, 0x3F);
    assert_true(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0x45);
    lw(f, LAPIC_EOI, 0);
    /* A spare EOI with nothing in service changes nothing. */
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(lr(f, LAPIC_PPR), 0x3F);
}

/* ---- level-triggered: remote IRR and re-delivery ---- */

static void level_eoi_redelivers(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    route(f, 3, 0x42 | APIC_TRIGGER_LEVEL | APIC_POLARITY_LOW, 0);
    ioapic_set_irq(&f->io, 3, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x42));
    assert_true(vec_in(f, LAPIC_TMR, 0x42));
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, APIC_REMOTE_IRR);
    assert_int_equal(lapic_ack(&f->l), 0x42);

    /* Still asserted, remote IRR set: nothing new until EOI. */
    ioapic_set_irq(&f->io, 3, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x42));
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(f->eois, 1);
    assert_int_equal(f->last_eoi, 0x42);
    /* The EOI cleared remote IRR and the line is still high: delivered again. */
    assert_true(vec_in(f, LAPIC_IRR, 0x42));
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, APIC_REMOTE_IRR);
    assert_true(f->intr);

    assert_int_equal(lapic_ack(&f->l), 0x42);
    ioapic_set_irq(&f->io, 3, false); /* the device was serviced */
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(f->eois, 2);
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, 0);
    assert_false(vec_in(f, LAPIC_IRR, 0x42));
    assert_false(f->intr);

    /* An EOI for another vector leaves remote IRR alone. */
    ioapic_set_irq(&f->io, 3, true);
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, APIC_REMOTE_IRR);
    ioapic_eoi(&f->io, 0x43);
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, APIC_REMOTE_IRR);
    /* Switching the entry to edge clears a stuck remote IRR. */
    iow(f, 0x16, 0x42 | APIC_LVT_MASKED);
    assert_int_equal(ior(f, 0x16) & APIC_REMOTE_IRR, 0);

    /* Not accepted (APIC software-disabled): delivery status shows send pending, and the
     * next entry write after enabling delivers it. */
    ioapic_set_irq(&f->io, 3, false);
    assert_int_equal(lapic_ack(&f->l), 0x42);
    lw(f, LAPIC_EOI, 0);
    lw(f, LAPIC_SVR, 0xFF);
    route(f, 11, 0x4B | APIC_TRIGGER_LEVEL, 0);
    ioapic_set_irq(&f->io, 11, true);
    assert_int_equal(ior(f, 0x26) & (APIC_DELIVERY_PENDING | APIC_REMOTE_IRR), APIC_DELIVERY_PENDING);
    enable_apic(f);
    route(f, 11, 0x4B | APIC_TRIGGER_LEVEL, 0);
    assert_int_equal(ior(f, 0x26) & (APIC_DELIVERY_PENDING | APIC_REMOTE_IRR), APIC_REMOTE_IRR);
    assert_true(vec_in(f, LAPIC_IRR, 0x4B));
}

static void masked_entry_does_not_deliver(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    /* Edge: an edge on a masked input is lost, also after unmasking. */
    route(f, 5, 0x55 | APIC_LVT_MASKED, 0);
    ioapic_set_irq(&f->io, 5, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x55));
    route(f, 5, 0x55, 0);
    assert_false(vec_in(f, LAPIC_IRR, 0x55));
    assert_false(f->intr);
    /* Level: held while masked, delivered once unmasked while still asserted. */
    route(f, 6, 0x66 | APIC_TRIGGER_LEVEL | APIC_LVT_MASKED, 0);
    ioapic_set_irq(&f->io, 6, true);
    assert_false(vec_in(f, LAPIC_IRR, 0x66));
    assert_int_equal(ior(f, 0x1C) & (APIC_REMOTE_IRR | APIC_DELIVERY_PENDING), 0);
    route(f, 6, 0x66 | APIC_TRIGGER_LEVEL, 0);
    assert_true(vec_in(f, LAPIC_IRR, 0x66));
    assert_true(f->intr);
    /* Out-of-range pins are ignored. */
    ioapic_set_irq(&f->io, 24, true);
    ioapic_set_irq(&f->io, 0xFFFFFFFFu, true);
    assert_int_equal(f->io.lines, 1u << 5 | 1u << 6);
}

/* ---- timer ---- */

static void timer_periodic(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    lw(f, LAPIC_TIMER_DCR, 0xB); /* divide by 1 */
    lw(f, LAPIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x40);
    lw(f, LAPIC_TIMER_ICR, 1000); /* 1000 ticks of 1 us */
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 1000);
    advance(f, 500 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 500);
    assert_false(f->intr);
    advance(f, 999 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 1);
    assert_false(f->intr);
    advance(f, 1 * MS);
    assert_true(f->intr);
    assert_int_equal(f->rise_at[0], 1 * MS);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 1000); /* reloaded */
    assert_int_equal(lapic_ack(&f->l), 0x40);
    lw(f, LAPIC_EOI, 0);
    advance(f, 1 * MS + 250 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 750);

    /* Every millisecond, acknowledged each time. */
    for (uint64_t t = 1250 * US; t <= 10 * MS; t += 50 * US) {
        advance(f, t);
        if (f->intr) {
            assert_int_equal(lapic_ack(&f->l), 0x40);
            lw(f, LAPIC_EOI, 0);
        }
    }
    assert_int_equal(f->intr_rises, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(f->rise_at[i], (uint64_t)(i + 1) * MS);

    /* Masked, it keeps counting without interrupts; unmasked, it interrupts again at the
     * next period boundary. */
    lw(f, LAPIC_LVT_TIMER, APIC_TIMER_PERIODIC | APIC_LVT_MASKED | 0x40);
    advance(f, 13 * MS + 400 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 600);
    assert_int_equal(f->intr_rises, 10);
    lw(f, LAPIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x40);
    advance(f, 14 * MS);
    assert_int_equal(f->intr_rises, 11);
    assert_int_equal(f->rise_at[10], 14 * MS);
}

static void timer_oneshot(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    lw(f, LAPIC_TIMER_DCR, 0xB);
    lw(f, LAPIC_LVT_TIMER, 0x41); /* one-shot */
    lw(f, LAPIC_TIMER_ICR, 1000);
    advance(f, 250 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 750);
    advance(f, 1 * MS);
    assert_true(f->intr);
    assert_int_equal(f->rise_at[0], 1 * MS);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 0);
    assert_int_equal(lapic_ack(&f->l), 0x41);
    lw(f, LAPIC_EOI, 0);
    advance(f, 10 * MS);
    assert_int_equal(f->intr_rises, 1); /* stopped */
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 0);
    assert_int_equal(lr(f, LAPIC_TIMER_ICR), 1000);

    /* Writing 0 to the initial count stops a running timer. */
    lw(f, LAPIC_TIMER_ICR, 1000);
    advance(f, 10 * MS + 500 * US);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 500);
    lw(f, LAPIC_TIMER_ICR, 0);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 0);
    advance(f, 20 * MS);
    assert_int_equal(f->intr_rises, 1);

    /* A one-shot that runs out while masked stays silent when unmasked afterwards. */
    lw(f, LAPIC_LVT_TIMER, APIC_LVT_MASKED | 0x41);
    lw(f, LAPIC_TIMER_ICR, 100);
    advance(f, 21 * MS);
    lw(f, LAPIC_LVT_TIMER, 0x41);
    advance(f, 30 * MS);
    assert_int_equal(f->intr_rises, 1);
}

static void timer_divide(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    /* DCR bits 3,1,0 -> divisor (SDM figure 10-10). */
    static const struct { uint32_t dcr, div; } t[] = {
        {0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1},
    };
    lw(f, LAPIC_LVT_TIMER, APIC_LVT_MASKED | 0x40);
    uint64_t now = 0;
    for (unsigned i = 0; i < 8; i++) {
        lw(f, LAPIC_TIMER_DCR, t[i].dcr | 0xF0); /* bits 7:4 and 2 are not stored */
        assert_int_equal(lr(f, LAPIC_TIMER_DCR), t[i].dcr);
        lw(f, LAPIC_TIMER_ICR, 100000);
        now += 1024 * US;
        advance(f, now);
        assert_int_equal(lr(f, LAPIC_TIMER_CCR), 100000 - 1024 / t[i].div);
    }
    /* Divide by 2: 1000 ticks take 2 ms; changing the divisor mid-way keeps the count. */
    lw(f, LAPIC_TIMER_DCR, 0x0);
    lw(f, LAPIC_LVT_TIMER, 0x40);
    lw(f, LAPIC_TIMER_ICR, 1000);
    advance(f, now + 1 * MS);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 500);
    assert_false(f->intr);
    advance(f, now + 2 * MS);
    assert_true(f->intr);
    assert_int_equal(f->rise_at[0], now + 2 * MS);
    assert_int_equal(lapic_ack(&f->l), 0x40);
    lw(f, LAPIC_EOI, 0);
    now += 2 * MS;
    lw(f, LAPIC_TIMER_ICR, 1000);
    advance(f, now + 1 * MS); /* 500 left, then divide by 1: 500 us more */
    lw(f, LAPIC_TIMER_DCR, 0xB);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 500);
    advance(f, now + 1 * MS + 499 * US);
    assert_int_equal(f->intr_rises, 1);
    advance(f, now + 1 * MS + 500 * US);
    assert_int_equal(f->intr_rises, 2);
    assert_int_equal(f->rise_at[1], now + 1 * MS + 500 * US);
}

/* A periodic timer far faster than any guest could service is coalesced, not a storm. */
static void timer_tiny_period(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    lw(f, LAPIC_TIMER_DCR, 0xB);
    lw(f, LAPIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x40);
    lw(f, LAPIC_TIMER_ICR, 1); /* 1 us period */
    int fires = 0;
    for (uint64_t t = 0; t <= 1 * MS; t += 100 * US) {
        advance(f, t);
        if (f->intr) {
            fires++;
            lapic_ack(&f->l);
            lw(f, LAPIC_EOI, 0);
        }
    }
    assert_true(fires >= 9);
    assert_int_equal(lr(f, LAPIC_TIMER_CCR), 1);
}

/* ---- LINT0 ExtINT and the 8259 pass-through; LINT1 NMI ---- */

static void lint0_extint(void **state)
{
    struct fixture *f = *state;
    /* After reset the APIC is software-disabled: the 8259's INTR goes straight through. */
    f->pic_vector = 0x08;
    lapic_set_lint(&f->l, 0, true);
    assert_true(f->intr);
    assert_int_equal(lapic_pending(&f->l), LAPIC_PENDING_EXTINT);
    assert_int_equal(lapic_intr_ack(&f->l), 0x08);
    assert_int_equal(f->pic_acks, 1);
    lapic_set_lint(&f->l, 0, false);
    assert_false(f->intr);

    /* Enabled with LINT0 masked (its reset value): the 8259 is cut off. */
    enable_apic(f);
    lapic_set_lint(&f->l, 0, true);
    assert_false(f->intr);
    assert_int_equal(lapic_pending(&f->l), -1);

    /* Virtual wire: LINT0 ExtINT (SeaBIOS writes 0x8700). The vector is the 8259's; ISR and
     * the priorities are not involved. */
    lw(f, LAPIC_LVT_LINT0, 0x8700);
    assert_true(f->intr);
    lw(f, LAPIC_TPR, 0xF0);
    assert_true(f->intr);
    f->pic_vector = 0x21;
    assert_int_equal(lapic_ack(&f->l), 0x21);
    assert_int_equal(f->pic_acks, 2);
    assert_int_equal(lr(f, LAPIC_ISR + 0x10), 0);
    assert_int_equal(lr(f, LAPIC_PPR), 0xF0);
    lw(f, LAPIC_TPR, 0);

    /* ExtINT goes before a pending APIC vector. */
    self_ipi(f, 0x80);
    f->pic_vector = 0x24;
    assert_int_equal(lapic_ack(&f->l), 0x24);
    lapic_set_lint(&f->l, 0, false);
    assert_int_equal(lapic_ack(&f->l), 0x80);
    lw(f, LAPIC_EOI, 0);
    assert_false(f->intr);

    /* ExtINT through an I/O APIC entry (virtual wire via the I/O APIC): an edge message. */
    route(f, 0, APIC_DM_EXTINT << 8, 0);
    ioapic_set_irq(&f->io, 0, true);
    assert_true(f->intr);
    f->pic_vector = 0x20;
    assert_int_equal(lapic_ack(&f->l), 0x20);
    assert_false(f->intr);
    assert_int_equal(f->pic_acks, 4);

    /* Globally disabled through the MSR: pass-through again, whatever the LVT said. */
    lapic_set_base_msr(&f->l, 0xFEE00000u);
    lapic_set_lint(&f->l, 0, true);
    assert_true(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0x20);
    assert_int_equal(f->pic_acks, 5);
}

static void lint1_nmi(void **state)
{
    struct fixture *f = *state;
    /* Disabled: LINT1 is the NMI pin, edge-sensitive. */
    lapic_set_lint(&f->l, 1, true);
    assert_int_equal(f->nmis, 1);
    lapic_set_lint(&f->l, 1, true);
    assert_int_equal(f->nmis, 1);
    lapic_set_lint(&f->l, 1, false);
    /* Enabled with LINT1 masked: no NMI. */
    enable_apic(f);
    lapic_set_lint(&f->l, 1, true);
    lapic_set_lint(&f->l, 1, false);
    assert_int_equal(f->nmis, 1);
    /* LINT1 as NMI, level bit set as SeaBIOS does: still one NMI per rising edge. */
    lw(f, LAPIC_LVT_LINT1, 0x8400);
    lapic_set_lint(&f->l, 1, true);
    lapic_set_lint(&f->l, 1, true);
    assert_int_equal(f->nmis, 2);
    assert_false(f->intr);
    /* LINT pins beyond 1 do not exist. */
    lapic_set_lint(&f->l, 2, true);
    lapic_lint_irq(&f->l, 7, true);
    assert_int_equal(f->nmis, 2);
}

static void lint_fixed_level(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    lw(f, LAPIC_LVT_LINT1, APIC_TRIGGER_LEVEL | 0x71);
    lapic_set_lint(&f->l, 1, true);
    assert_true(vec_in(f, LAPIC_IRR, 0x71));
    assert_true(vec_in(f, LAPIC_TMR, 0x71));
    assert_int_equal(lr(f, LAPIC_LVT_LINT1) & APIC_REMOTE_IRR, APIC_REMOTE_IRR);
    assert_int_equal(lapic_ack(&f->l), 0x71);
    lw(f, LAPIC_EOI, 0); /* still asserted: delivered again */
    assert_true(vec_in(f, LAPIC_IRR, 0x71));
    assert_int_equal(lapic_ack(&f->l), 0x71);
    lapic_set_lint(&f->l, 1, false);
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(lr(f, LAPIC_LVT_LINT1) & APIC_REMOTE_IRR, 0);
    assert_false(f->intr);
}

/* ---- spurious interrupt ---- */

static void spurious_when_vanished(void **state)
{
    struct fixture *f = *state;
    lw(f, LAPIC_SVR, 0x1E0);
    assert_int_equal(lr(f, LAPIC_SVR), 0x1EF);
    self_ipi(f, 0x50);
    assert_true(f->intr);
    /* The CPU saw INTR, then TPR went up before the acknowledge. */
    f->l.tpr = 0x60; /* behind the APIC's back, so INTR is still up at the CPU */
    assert_true(f->intr);
    assert_int_equal(lapic_intr_ack(&f->l), 0xEF);
    assert_false(f->intr);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(lr(f, LAPIC_ISR + 0x10 * i), 0);
    assert_true(vec_in(f, LAPIC_IRR, 0x50)); /* still pending */
    lw(f, LAPIC_TPR, 0);
    assert_true(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0x50);
    lw(f, LAPIC_EOI, 0);
    /* Through the register: raising TPR drops INTR at once. */
    self_ipi(f, 0x50);
    lw(f, LAPIC_TPR, 0x60);
    assert_false(f->intr);
    assert_int_equal(lapic_ack(&f->l), 0xEF);
}

/* ---- ESR ---- */

static void esr_write_before_read(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    self_ipi(f, 0x03); /* illegal vector: sent and received by this APIC */
    assert_false(vec_in(f, LAPIC_IRR, 0x03));
    assert_int_equal(lr(f, LAPIC_ESR), 0); /* nothing visible before a write */
    lw(f, LAPIC_ESR, 0xFFFFFFFFu);  /* the value written does not matter */
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL);
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL);
    lw(f, LAPIC_ESR, 0);
    assert_int_equal(lr(f, LAPIC_ESR), 0);

    /* Reserved registers (thermal LVT and CMCI do not exist on the P6). */
    assert_int_equal(lr(f, 0x330), 0);
    lw(f, 0x2F0, 1);
    lw(f, LAPIC_ESR, 0);
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_ILLEGAL_REG);

    /* An unmasked error LVT raises its vector when an error is detected. */
    lw(f, LAPIC_LVT_ERROR, 0xFE);
    lr(f, 0x400);
    assert_true(vec_in(f, LAPIC_IRR, 0xFE));
    assert_int_equal(lapic_ack(&f->l), 0xFE);
    lw(f, LAPIC_EOI, 0);
    /* An illegal error vector is only logged: no IRR bit, no endless error loop. */
    lw(f, LAPIC_LVT_ERROR, 0x02);
    lr(f, 0x400);
    lw(f, LAPIC_ESR, 0);
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_ILLEGAL_REG | APIC_ESR_RECV_ILLEGAL);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(lr(f, LAPIC_IRR + 0x10 * i), 0);

    /* A timer with an illegal vector logs a receive error when it fires. */
    lw(f, LAPIC_ESR, 0);
    lw(f, LAPIC_LVT_ERROR, APIC_LVT_MASKED);
    lw(f, LAPIC_TIMER_DCR, 0xB);
    lw(f, LAPIC_LVT_TIMER, 0x0F);
    lw(f, LAPIC_TIMER_ICR, 10);
    advance(f, 10 * US);
    lw(f, LAPIC_ESR, 0);
    assert_int_equal(lr(f, LAPIC_ESR), APIC_ESR_RECV_ILLEGAL);
    assert_false(f->intr);
}

/* ---- ICR ---- */

static void icr_ipis(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    /* Fixed to physical destination 0 = this APIC; only the defined ICR bits stick and the
     * delivery status reads idle. */
    lw(f, LAPIC_ICR_HI, 0x00FFFFFFu);
    assert_int_equal(lr(f, LAPIC_ICR_HI), 0);
    lw(f, LAPIC_ICR_LO, 0xFFF33090u); /* fixed, vector 0x90, junk in reserved bits */
    assert_int_equal(lr(f, LAPIC_ICR_LO), 0x00000090u);
    assert_true(vec_in(f, LAPIC_IRR, 0x90));
    assert_int_equal(f->ipis, 0);
    assert_int_equal(lapic_ack(&f->l), 0x90);
    lw(f, LAPIC_EOI, 0);

    /* To APIC 1: someone else's (the SMP machine's) business. */
    lw(f, LAPIC_ICR_HI, 0x01000000u);
    lw(f, LAPIC_ICR_LO, 0x91);
    assert_false(vec_in(f, LAPIC_IRR, 0x91));
    assert_int_equal(f->ipis, 1);
    assert_int_equal(f->last_ipi_hi, 0x01000000u);
    /* All including self: both. All excluding self: only others. */
    lw(f, LAPIC_ICR_LO, (APIC_SH_ALL << APIC_ICR_SHORTHAND_SHIFT) | 0x92);
    assert_true(vec_in(f, LAPIC_IRR, 0x92));
    assert_int_equal(f->ipis, 2);
    lw(f, LAPIC_ICR_LO, (APIC_SH_OTHERS << APIC_ICR_SHORTHAND_SHIFT) | 0x93);
    assert_false(vec_in(f, LAPIC_IRR, 0x93));
    assert_int_equal(f->ipis, 3);

    /* SeaBIOS's AP wake-up: INIT then STARTUP to all excluding self, recorded. */
    lw(f, LAPIC_ICR_LO, 0x000C4500u);
    lw(f, LAPIC_ICR_LO, 0x000C4600u | 0x9F);
    assert_int_equal(f->l.last_init.icr_lo, 0x000C4500u);
    assert_int_equal(f->l.last_init.count, 1);
    assert_int_equal(f->l.last_sipi.icr_lo, 0x000C469Fu);
    assert_int_equal(f->l.last_sipi.count, 1);
    assert_int_equal(f->ipis, 5);
    assert_int_equal(f->last_ipi_lo, 0x000C469Fu);
    assert_false(vec_in(f, LAPIC_IRR, 0x9F));

    /* NMI to self. */
    lw(f, LAPIC_ICR_LO, (APIC_SH_SELF << APIC_ICR_SHORTHAND_SHIFT) | APIC_DM_NMI << 8);
    assert_int_equal(f->nmis, 1);
    /* Level-triggered fixed self-IPI sets TMR and its EOI is broadcast. */
    lapic_ack(&f->l); /* 0x92 */
    lw(f, LAPIC_EOI, 0);
    lw(f, LAPIC_ICR_LO, (APIC_SH_SELF << APIC_ICR_SHORTHAND_SHIFT) | APIC_TRIGGER_LEVEL |
                            APIC_ICR_LEVEL_ASSERT | 0xA0);
    assert_true(vec_in(f, LAPIC_TMR, 0xA0));
    assert_int_equal(lapic_ack(&f->l), 0xA0);
    lw(f, LAPIC_EOI, 0);
    assert_int_equal(f->eois, 1);
    assert_int_equal(f->last_eoi, 0xA0);
}

/* ---- IA32_APIC_BASE ---- */

static void base_msr_moves_window(void **state)
{
    struct fixture *f = *state;
    lw(f, LAPIC_TPR, 0x33);
    assert_int_equal(lapic_set_base_msr(&f->l, 0xFED00000u | APIC_BASE_EN | 0xFFull << 32),
                     0xFED00900u); /* BSP kept, reserved bits dropped */
    assert_int_equal(memmap_read(&f->mem, 0xFEE00030u, 4), 0xFFFFFFFFu); /* unassigned */
    assert_int_equal(memmap_read(&f->mem, 0xFED00030u, 4), 0x00040011u);
    assert_int_equal(memmap_read(&f->mem, 0xFED00080u, 4), 0x33); /* state moved along */

    /* Over RAM: the window shadows it, and the RAM comes back when the window leaves. */
    memmap_write(&f->mem, 0x3000 + LAPIC_VER, 0xCAFEF00Du, 4);
    lapic_set_base_msr(&f->l, 0x3000u | APIC_BASE_EN);
    assert_int_equal(memmap_read(&f->mem, 0x3000 + LAPIC_VER, 4), 0x00040011u);
    lapic_set_base_msr(&f->l, LAPIC_DEFAULT_BASE | APIC_BASE_EN);
    assert_int_equal(memmap_read(&f->mem, 0x3000 + LAPIC_VER, 4), 0xCAFEF00Du);
    assert_int_equal(memmap_read(&f->mem, 0xFED00030u, 4), 0xFFFFFFFFu);
    assert_int_equal(lr(f, LAPIC_TPR), 0x33);

    /* Global disable: unmapped, and the APIC's setup is lost (ID kept). */
    lw(f, LAPIC_ID, 0x05000000u);
    enable_apic(f);
    assert_int_equal(lapic_set_base_msr(&f->l, LAPIC_DEFAULT_BASE), 0xFEE00100u);
    assert_int_equal(memmap_read(&f->mem, 0xFEE00030u, 4), 0xFFFFFFFFu);
    lapic_set_base_msr(&f->l, LAPIC_DEFAULT_BASE | APIC_BASE_EN);
    assert_int_equal(lr(f, LAPIC_VER), 0x00040011u);
    assert_int_equal(lr(f, LAPIC_TPR), 0);
    assert_int_equal(lr(f, LAPIC_SVR), 0xFF);
    assert_int_equal(lr(f, LAPIC_ID), 0x05000000u);

    /* Device reset: default base, ID 0. */
    lapic_set_base_msr(&f->l, 0xFED00000u | APIC_BASE_EN);
    device_reset(&f->l.dev);
    assert_int_equal(lapic_base_msr(&f->l), 0xFEE00900u);
    assert_int_equal(lr(f, LAPIC_ID), 0);
    assert_int_equal(memmap_read(&f->mem, 0xFED00030u, 4), 0xFFFFFFFFu);
}

/* ---- save / load ---- */

static void build_state(struct fixture *f)
{
    enable_apic(f);
    lw(f, LAPIC_ID, 0x03000000u);
    lw(f, LAPIC_LDR, 0x01000000u);
    lw(f, LAPIC_DFR, 0xFFFFFFFFu);
    lw(f, LAPIC_TPR, 0x20);
    lw(f, LAPIC_LVT_LINT0, 0x8700);
    lw(f, LAPIC_LVT_LINT1, 0x400);
    lw(f, LAPIC_LVT_ERROR, APIC_LVT_MASKED | 0xFE);
    route(f, 3, 0x42 | APIC_TRIGGER_LEVEL, 3);
    route(f, 7, 0x57, 3);
    iow(f, IOAPIC_REG_ID, 0x02000000u);
    ioapic_set_irq(&f->io, 3, true); /* in IRR, remote IRR set */
    lapic_ack(&f->l);                 /* 0x42 in service */
    ioapic_set_irq(&f->io, 7, true);  /* 0x57 in IRR */
    lr(f, 0x330);                     /* an error pending in the ESR */
    lw(f, LAPIC_ICR_HI, 0x0F000000u);
    lw(f, LAPIC_TIMER_DCR, 0xB);
    lw(f, LAPIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x60);
    lw(f, LAPIC_TIMER_ICR, 1000);
    advance(f, 300 * US);
    memmap_write(&f->mem, IOAPIC_DEFAULT_BASE, 0x17, 4);
}

static void save_load_round_trip(void **state)
{
    struct fixture *f = *state;
    build_state(f);
    uint8_t lbuf[1024], ibuf[1024];
    size_t ln = device_save(&f->l.dev, lbuf, sizeof(lbuf));
    size_t in = device_save(&f->io.dev, ibuf, sizeof(ibuf));
    assert_true(ln <= sizeof(lbuf) && in <= sizeof(ibuf));
    assert_int_equal(device_save(&f->l.dev, NULL, 0), ln); /* sizing call */

    /* A second machine at the same virtual time. */
    struct fixture *g;
    assert_int_equal(setup((void **)&g), 0);
    vclock_advance(&g->clock, vclock_now(&f->clock));
    assert_int_equal(device_load(&g->l.dev, lbuf, ln), 0);
    assert_int_equal(device_load(&g->io.dev, ibuf, in), 0);

    for (uint32_t off = 0; off < 0x400; off += 0x10)
        assert_int_equal(lapic_reg(&g->l, off), lapic_reg(&f->l, off));
    for (unsigned idx = 0; idx < 0x40; idx++)
        assert_int_equal(ioapic_reg_read(&g->io, (uint8_t)idx), ioapic_reg_read(&f->io, (uint8_t)idx));
    assert_int_equal(memmap_read(&g->mem, IOAPIC_DEFAULT_BASE, 4), 0x17);
    assert_int_equal(lapic_reg(&g->l, LAPIC_TIMER_CCR), 700);
    assert_int_equal(lapic_reg(&g->l, LAPIC_PPR), 0x40);
    assert_true(g->intr); /* 0x57 deliverable above PPR 0x40: INTR driven after the load */
    assert_int_equal(g->l.lint_level[0], f->l.lint_level[0]);
    lw(g, LAPIC_ESR, 0);
    assert_int_equal(lr(g, LAPIC_ESR), APIC_ESR_ILLEGAL_REG);

    /* Both carry on alike: the timer fires at 1 ms in each, EOI of 0x42 re-delivers. */
    int fr = f->intr_rises, gr = g->intr_rises;
    assert_int_equal(lapic_ack(&f->l), 0x57);
    assert_int_equal(lapic_ack(&g->l), 0x57);
    advance(f, 1 * MS);
    advance(g, 1 * MS);
    assert_int_equal(f->intr_rises - fr, 1);
    assert_int_equal(g->intr_rises - gr, 1);
    assert_int_equal(g->rise_at[g->intr_rises - 1], 1 * MS);
    assert_true(vec_in(g, LAPIC_IRR, 0x60));
    lw(g, LAPIC_EOI, 0); /* 0x57 */
    lw(g, LAPIC_EOI, 0); /* 0x42: level, line still high at the I/O APIC */
    assert_int_equal(g->last_eoi, 0x42);
    assert_true(vec_in(g, LAPIC_IRR, 0x42));

    /* Malformed records are refused and leave the device reset. */
    assert_int_equal(device_load(&g->l.dev, lbuf, ln - 1), -1);
    assert_int_equal(lapic_reg(&g->l, LAPIC_SVR), 0xFF);
    uint8_t bad[1024];
    memcpy(bad, lbuf, ln);
    bad[6 + 12] = 0x10; /* SVR with bits 3:0 not all ones */
    assert_int_equal(device_load(&g->l.dev, bad, ln), -1);
    memcpy(bad, ibuf, in);
    bad[6 + 0] = 0x10; /* an I/O APIC ID wider than 4 bits */
    assert_int_equal(device_load(&g->io.dev, bad, in), -1);
    memcpy(bad, ibuf, in);
    bad[6 + 7 + 2] = 0x04; /* entry 0 low dword with the delivery-status bit */
    bad[6 + 7 + 1] = 0x10;
    assert_int_equal(device_load(&g->io.dev, bad, in), -1);
    assert_int_equal(ioapic_reg_read(&g->io, IOAPIC_REG_ID), (uint32_t)IOAPIC_ID << 24);
    bad[0] = 2; /* a newer format */
    assert_int_equal(device_load(&g->io.dev, bad, in), -1);
    teardown((void **)&g);
}

/* ---- hostile guest ---- */

static void hostile_register_access(void **state)
{
    struct fixture *f = *state;
    enable_apic(f);
    static const unsigned sizes[] = {1, 2, 4};
    for (unsigned s = 0; s < 3; s++) {
        for (uint32_t off = 0; off <= 0x1000 - sizes[s]; off++) {
            (void)memmap_read(&f->mem, LAPIC_DEFAULT_BASE + off, sizes[s]);
            (void)memmap_read(&f->mem, IOAPIC_DEFAULT_BASE + off, sizes[s]);
        }
    }
    for (uint32_t off = 0; off < 0x1000; off += 4) {
        if (off == LAPIC_SVR)
            continue;
        memmap_write(&f->mem, LAPIC_DEFAULT_BASE + off, 0xFFFFFFFFu, 4);
        memmap_write(&f->mem, LAPIC_DEFAULT_BASE + off, 0x5A5A5A5Au, 2);
        memmap_write(&f->mem, IOAPIC_DEFAULT_BASE + off, 0xFFFFFFFFu, 4);
    }
    for (unsigned idx = 0; idx < 256; idx++) {
        iow(f, (uint8_t)idx, 0xFFFFFFFFu);
        (void)ior(f, (uint8_t)idx);
    }
    /* Direct calls with wild values are bounded too. */
    (void)lapic_reg(&f->l, 0xFFFFFFFFu);
    ioapic_reg_write(&f->io, 0xFF, 0xFFFFFFFFu);
    struct apic_msg m = {.vector = 0xFF, .delivery = 0xFF, .dest = 0xFF, .logical = true};
    assert_false(lapic_receive(&f->l, &m));
    /* Whatever it wrote, the registers hold only defined bits. */
    assert_int_equal(lr(f, LAPIC_ID) & ~0x0F000000u, 0);
    assert_int_equal(lr(f, LAPIC_TIMER_DCR) & ~0xBu, 0);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        assert_int_equal(ior(f, (uint8_t)(0x10 + 2 * pin)) &
                             ~(IOAPIC_REDIR_WMASK | APIC_REMOTE_IRR | APIC_DELIVERY_PENDING), 0);
    /* The timer the guest left running does not run the host into the ground. */
    advance(f, 100 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lapic_reset_values, setup, teardown),
        cmocka_unit_test_setup_teardown(ioapic_reset_values, setup, teardown),
        cmocka_unit_test_setup_teardown(svr_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(fixed_from_ioapic, setup, teardown),
        cmocka_unit_test_setup_teardown(tpr_blocks_lower_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(level_eoi_redelivers, setup, teardown),
        cmocka_unit_test_setup_teardown(masked_entry_does_not_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(timer_periodic, setup, teardown),
        cmocka_unit_test_setup_teardown(timer_oneshot, setup, teardown),
        cmocka_unit_test_setup_teardown(timer_divide, setup, teardown),
        cmocka_unit_test_setup_teardown(timer_tiny_period, setup, teardown),
        cmocka_unit_test_setup_teardown(lint0_extint, setup, teardown),
        cmocka_unit_test_setup_teardown(lint1_nmi, setup, teardown),
        cmocka_unit_test_setup_teardown(lint_fixed_level, setup, teardown),
        cmocka_unit_test_setup_teardown(spurious_when_vanished, setup, teardown),
        cmocka_unit_test_setup_teardown(esr_write_before_read, setup, teardown),
        cmocka_unit_test_setup_teardown(icr_ipis, setup, teardown),
        cmocka_unit_test_setup_teardown(base_msr_moves_window, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_register_access, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
