/* An Intel 82093AA I/O APIC: 24 interrupt inputs, each routed by a redirection entry to the
 * local APICs as an APIC-bus message (struct apic_msg, devices/lapic.h).
 *
 * Registers are reached indirectly: IOREGSEL (offset 0x00, 8 bits) selects, IOWIN (offset
 * 0x10, 32 bits) reads or writes. Indices: 0x00 ID (bits 27:24), 0x01 version 0x00170011
 * (version 0x11, 24 entries), 0x02 arbitration ID, 0x10 + 2n / 0x11 + 2n entry n (low / high
 * dword). Other indices read 0 and ignore writes.
 *
 * Inputs carry the asserted state (polarity is stored, not applied: the board's wiring
 * matches it). Edge inputs send one message per rising edge while unmasked; an edge on a
 * masked input is lost. Level inputs with fixed or lowest-priority delivery send while
 * asserted, unmasked and remote IRR clear; remote IRR is set when a local APIC accepts and
 * cleared by the EOI message for the entry's vector, after which a still-asserted input is
 * sent again. NMI, SMI, INIT and ExtINT entries are always edge (datasheet). Delivery status
 * reads 1 for an asserted level input whose message no local APIC accepted yet; such inputs
 * are retried at the next EOI or entry write.
 *
 * Wiring: `deliver` -> lapic_receive; ISA/PCI interrupt lines -> ioapic_set_irq (fits struct
 * irq_line); the local APIC's eoi_broadcast -> ioapic_eoi. */
#ifndef BT86_IOAPIC_H
#define BT86_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/lapic.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000u
#define IOAPIC_MMIO_SIZE 0x1000u
#define IOAPIC_PINS 24
#define IOAPIC_VERSION_VALUE 0x00170011u

/* MMIO offsets */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10

/* Register indices */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10

#define IOAPIC_REDIR_WMASK 0x0001AFFFu /* vector, modes, polarity, trigger, mask */

struct ioapic {
    struct device dev;

    /* wiring */
    bool (*deliver)(void *opaque, const struct apic_msg *m); /* true: accepted */
    void *deliver_opaque;

    uint8_t reset_id;      /* configuration: the ID after reset */

    /* guest-visible state */
    uint8_t id;
    uint8_t arb;           /* arbitration ID, loaded from the ID when the ID is written */
    uint8_t ioregsel;
    uint32_t redir_lo[IOAPIC_PINS]; /* without the delivery-status bit (it is computed) */
    uint32_t redir_hi[IOAPIC_PINS];
    uint32_t lines;        /* asserted inputs, bit per pin */
};

void ioapic_init(struct ioapic *io, uint8_t id);
int ioapic_attach_mmio(struct ioapic *io, struct memmap *m, uint32_t base);

/* Input `pin` asserted or not; out-of-range pins are ignored. Fits struct irq_line. */
void ioapic_set_irq(void *opaque, unsigned pin, bool level);
/* The EOI message a local APIC broadcasts for a level-triggered vector. */
void ioapic_eoi(void *opaque, uint8_t vector);

uint32_t ioapic_mmio_read(void *opaque, uint32_t offset, unsigned size);
void ioapic_mmio_write(void *opaque, uint32_t offset, uint32_t value, unsigned size);
extern const struct mmio_ops ioapic_mmio_ops;

/* Indirect register access without going through IOREGSEL (tests, debugger). */
uint32_t ioapic_reg_read(const struct ioapic *io, uint8_t index);
void ioapic_reg_write(struct ioapic *io, uint8_t index, uint32_t value);

#endif
