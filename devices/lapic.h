/* The local APIC of one P6-family processor (Pentium II): Intel SDM vol. 3, chapter 10, in
 * its xAPIC memory-mapped form, APIC ID 0.
 *
 * Version register 0x00040011: version 0x11 is the integrated P6 APIC ("1XH"; 0x14 is the
 * Pentium 4's), and the P6 has five LVT entries (timer, performance counter, LINT0, LINT1,
 * error; no thermal sensor), so Max LVT = 4. The register set follows the P6 too: an APR,
 * a 4-bit APIC ID, spurious-vector bits 0-3 hardwired to 1, physical broadcast 0x0F, only
 * vectors 0-15 illegal, no thermal or CMCI LVT (their offsets are reserved).
 *
 * Wiring (the machine):
 *   - lapic_init(), then lapic_attach_mmio() maps the 4 KiB window at the APIC base;
 *   - after every WRMSR to IA32_APIC_BASE, lapic_set_base_msr(cpu->apic_base), storing the
 *     value it returns back into cpu->apic_base; it moves or unmaps the window;
 *   - the 8259's INTR output -> LINT0 (lapic_lint_irq, line 0); the NMI source -> LINT1;
 *   - `intr` -> cpu_set_irq; `nmi` -> cpu->nmi_pending on its rising edge;
 *   - cpu->bus.intr_ack -> lapic_intr_ack; `extint_ack` -> the 8259's interrupt acknowledge;
 *   - the I/O APIC's `deliver` -> lapic_receive; `eoi_broadcast` -> ioapic_eoi.
 *
 * The 8259 path: with the APIC globally disabled (IA32_APIC_BASE.EN = 0) or software-disabled
 * (SVR bit 8 = 0, the state after reset) LINT0 is the CPU's INTR pin and LINT1 its NMI pin,
 * so a guest that never touches the APIC runs on the 8259 alone. Once software-enabled, the
 * 8259 reaches the CPU only through LINT0 programmed as ExtINT (virtual-wire mode) or an
 * I/O APIC ExtINT entry, as the SDM describes.
 *
 * Interrupt inputs carry the asserted state, not the electrical level: the polarity bits are
 * kept and read back, the board's wiring is assumed to match them (as in QEMU). */
#ifndef BT86_LAPIC_H
#define BT86_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "mmu/memmap.h"

#define LAPIC_DEFAULT_BASE 0xFEE00000u
#define LAPIC_MMIO_SIZE 0x1000u
#define LAPIC_VERSION_VALUE 0x00040011u

/* IA32_APIC_BASE (MSR 0x1B) */
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_EN (1u << 11)
#define APIC_BASE_ADDR_MASK 0xFFFFF000u

/* Register offsets in the MMIO window */
enum {
    LAPIC_ID = 0x020,
    LAPIC_VER = 0x030,
    LAPIC_TPR = 0x080,
    LAPIC_APR = 0x090,
    LAPIC_PPR = 0x0A0,
    LAPIC_EOI = 0x0B0,
    LAPIC_RRD = 0x0C0,
    LAPIC_LDR = 0x0D0,
    LAPIC_DFR = 0x0E0,
    LAPIC_SVR = 0x0F0,
    LAPIC_ISR = 0x100, /* 8 registers, 16 bytes apart */
    LAPIC_TMR = 0x180,
    LAPIC_IRR = 0x200,
    LAPIC_ESR = 0x280,
    LAPIC_ICR_LO = 0x300,
    LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_PERF = 0x340,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_ICR = 0x380, /* initial count */
    LAPIC_TIMER_CCR = 0x390, /* current count */
    LAPIC_TIMER_DCR = 0x3E0, /* divide configuration */
};

#define APIC_SVR_ENABLE 0x100u
#define APIC_SVR_FOCUS_DISABLE 0x200u

/* LVT and ICR fields */
#define APIC_VECTOR_MASK 0xFFu
#define APIC_DM_SHIFT 8
#define APIC_DM_MASK (7u << APIC_DM_SHIFT)
#define APIC_DELIVERY_PENDING (1u << 12)
#define APIC_POLARITY_LOW (1u << 13)
#define APIC_REMOTE_IRR (1u << 14)
#define APIC_TRIGGER_LEVEL (1u << 15)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_ICR_DEST_LOGICAL (1u << 11)
#define APIC_ICR_LEVEL_ASSERT (1u << 14)
#define APIC_ICR_SHORTHAND_SHIFT 18

/* Delivery modes (LVT, ICR and I/O APIC redirection entries) */
enum {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_STARTUP = 6,
    APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands */
enum { APIC_SH_NONE = 0, APIC_SH_SELF = 1, APIC_SH_ALL = 2, APIC_SH_OTHERS = 3 };

/* Error status register bits (P6) */
#define APIC_ESR_SEND_CS 0x01u
#define APIC_ESR_RECV_CS 0x02u
#define APIC_ESR_SEND_ACCEPT 0x04u
#define APIC_ESR_RECV_ACCEPT 0x08u
#define APIC_ESR_SEND_ILLEGAL 0x20u
#define APIC_ESR_RECV_ILLEGAL 0x40u
#define APIC_ESR_ILLEGAL_REG 0x80u

/* lapic_pending(): the interrupt is the 8259's; its vector comes at acknowledge. */
#define LAPIC_PENDING_EXTINT 0x100

/* LVT slots in struct lapic.lvt */
enum { LVT_TIMER, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* Periodic timer expiries closer together than this (virtual ns) are merged into one
 * interrupt, so a guest cannot make the host run millions of callbacks per second. */
#define LAPIC_TIMER_MIN_PERIOD_NS 1000u

/* An interrupt message on the APIC bus, as the I/O APIC (or, later, another CPU) sends it. */
struct apic_msg {
    uint8_t vector;
    uint8_t delivery; /* APIC_DM_* */
    uint8_t dest;     /* physical APIC ID (low 4 bits on P6) or logical destination */
    bool logical;
    bool level;       /* trigger mode */
};

/* An IPI sent with INIT or STARTUP delivery, kept for the SMP work. */
struct lapic_ipi_record {
    uint32_t icr_lo, icr_hi;
    uint32_t count;
};

struct lapic {
    struct device dev;

    /* ---- wiring, set by the machine (all optional) ---- */
    struct irq_line intr;   /* the CPU's INTR pin */
    struct irq_line nmi;    /* raised then lowered once per NMI */
    int (*extint_ack)(void *opaque); /* the 8259's INTA: a vector, or -1 */
    void *extint_opaque;
    void (*eoi_broadcast)(void *opaque, uint8_t vector); /* EOI of a level vector */
    void *eoi_opaque;
    /* Every IPI that may reach another processor, and INIT/STARTUP ones (SMP, later). */
    void (*ipi_out)(void *opaque, uint32_t icr_lo, uint32_t icr_hi);
    void *ipi_opaque;

    /* ---- configuration ---- */
    struct vclock *clock;
    uint64_t bus_hz;        /* timer input clock before the divider */
    struct memmap *mem;     /* NULL until lapic_attach_mmio */
    int mmio_index;
    uint32_t mapped_base;
    bool mapped;
    struct page_map saved_page; /* what the window covers, put back when it moves */

    /* ---- guest-visible state ---- */
    uint64_t base_msr;      /* IA32_APIC_BASE as this APIC sees it */
    uint8_t id;             /* 4 bits */
    uint8_t tpr;
    uint8_t ldr;            /* LDR bits 31:24 */
    uint8_t dfr_model;      /* DFR bits 31:28 */
    uint32_t svr;
    uint32_t isr[8], tmr[8], irr[8];
    uint8_t esr;            /* what reads return */
    uint8_t esr_pending;    /* errors since the last ESR write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];
    bool lint_level[2];     /* LINT0/LINT1 asserted */
    bool extint_msg;        /* an ExtINT message from the I/O APIC awaits INTA */

    /* Timer: the count is derived from virtual time, never ticked. Ticks counted down
     * since the load are e0 + (now - t0) * bus_hz / (10^9 * divisor). */
    uint32_t timer_initial;
    uint8_t timer_dcr;
    bool timer_running;     /* false: never loaded, loaded with 0, or one-shot done */
    uint64_t timer_t0;
    uint64_t timer_e0;
    struct vtimer timer;

    struct lapic_ipi_record last_init, last_sipi;

    bool intr_level;        /* last level driven on `intr` */
};

/* Power-on state, not yet mapped. bus_hz is clamped to 1 Hz .. 10 GHz. */
void lapic_init(struct lapic *l, struct vclock *clock, uint64_t bus_hz);

/* Registers the MMIO window with the memory map and maps it at the current base (if the
 * APIC is globally enabled). Returns 0 or -errno. */
int lapic_attach_mmio(struct lapic *l, struct memmap *m);

/* A WRMSR to IA32_APIC_BASE: moves the window, or unmaps it and returns the APIC to its
 * power-on state (keeping its ID) when EN goes to 0. Returns the MSR value now in force
 * (BSP is read-only, reserved bits are dropped). */
uint64_t lapic_set_base_msr(struct lapic *l, uint64_t value);
static inline uint64_t lapic_base_msr(const struct lapic *l) { return l->base_msr; }

/* LINT0 (pin 0) or LINT1 (pin 1) asserted or not; lapic_lint_irq fits struct irq_line. */
void lapic_set_lint(struct lapic *l, unsigned pin, bool asserted);
void lapic_lint_irq(void *opaque, unsigned line, bool level);

/* The highest-priority interrupt the CPU would take now: a vector, LAPIC_PENDING_EXTINT, or
 * -1. The `intr` output is high exactly when this is not -1. */
int lapic_pending(const struct lapic *l);

/* Interrupt acknowledge: the vector to deliver. ExtINT asks the 8259 (extint_ack); a fixed
 * vector moves from IRR to ISR; if what raised INTR has gone (e.g. TPR was raised) the
 * spurious vector is returned and nothing enters service. lapic_intr_ack fits cpu_bus. */
int lapic_ack(struct lapic *l);
int lapic_intr_ack(void *opaque);

/* A message from the I/O APIC. Returns whether this APIC accepted it (a level-triggered
 * interrupt then sets the entry's remote IRR). */
bool lapic_receive(void *opaque, const struct apic_msg *m);

/* INIT (pin or IPI): power-on state except the APIC ID and base MSR. */
void lapic_init_reset(struct lapic *l);

uint32_t lapic_mmio_read(void *opaque, uint32_t offset, unsigned size);
void lapic_mmio_write(void *opaque, uint32_t offset, uint32_t value, unsigned size);
extern const struct mmio_ops lapic_mmio_ops;

/* Register values for tests and the debugger, without the side effects of an MMIO access
 * (no illegal-register errors). */
uint32_t lapic_reg(const struct lapic *l, uint32_t offset);

#endif
