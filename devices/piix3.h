/* Intel 82371SB PIIX3, function 0: the PCI-to-ISA bridge (8086:7000, devfn 0x08), plus the
 * motherboard ports the PIIX3 decodes:
 *
 *  - PIRQRC[A:D] (config 0x60-0x63): which ISA IRQ each PCI interrupt line PIRQA#..PIRQD# is
 *    steered to. Bit 7 set disables the route; IRQ 0, 1, 2, 8 and 13 are reserved values and
 *    also mean "not routed". The machine is told every change of the effective routing;
 *  - ELCR (ports 0x4D0/0x4D1): edge (0) or level (1) trigger per ISA IRQ. IRQ 0, 1, 2, 8 and
 *    13 are always edge: their bits read 0 and ignore writes;
 *  - port 0x92 (System Control Port A): bit 1 gates A20 (ORed by the machine with the
 *    keyboard controller's gate), bit 0 going 0->1 asks for a fast CPU reset (INIT);
 *  - port 0xCF9 (Reset Control): writing bit 2 (RCPU) asks for a reset, hard if bit 1 (SRST)
 *    is set in the same write, else soft (INIT).
 *
 * Callbacks report changes relative to the reset state (all PIRQs unrouted, all IRQs edge,
 * A20 gate clear), also when reset or load change it, so the machine's copy never drifts. */
#ifndef BT86_PIIX3_H
#define BT86_PIIX3_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/pci.h"

#define PIIX3_DEVFN 0x08
#define PIIX3_PIRQRC 0x60 /* PIRQRCA..PIRQRCD at 0x60..0x63 */
#define PIIX3_PIRQ_DISABLE 0x80

#define PIIX3_ELCR1_PORT 0x4D0
#define PIIX3_ELCR2_PORT 0x4D1
#define PIIX3_ELCR_MASK 0xDEF8 /* settable bits: not IRQ 0, 1, 2, 8, 13 */
#define PIIX3_PORT92 0x92
#define PIIX3_RCR_PORT 0xCF9

#define PIIX3_PORT92_FAST_INIT 0x01
#define PIIX3_PORT92_A20 0x02
#define PIIX3_RCR_SRST 0x02
#define PIIX3_RCR_RCPU 0x04

struct piix3_callbacks {
    /* PIRQ `pirq` (0 = A .. 3 = D) now drives ISA IRQ `irq`, or nothing if irq < 0. */
    void (*pirq_routed)(void *opaque, unsigned pirq, int irq);
    /* New trigger modes: bit n set = IRQ n level triggered. */
    void (*elcr_changed)(void *opaque, uint16_t level_mask);
    /* Port 0x92's A20 gate. */
    void (*a20_changed)(void *opaque, bool enabled);
    /* The guest asked for a reset: hard (whole system) or soft (CPU INIT). */
    void (*reset_request)(void *opaque, bool hard);
    void *opaque;
};

struct piix3 {
    struct device dev;
    struct pci_function fn;
    struct piix3_callbacks cb;
    uint16_t elcr;
    uint8_t port92;
    uint8_t rcr;         /* SRST only: RCPU is a command, not stored */
    int8_t announced[4]; /* routing last reported per PIRQ (-1 none) */
    uint16_t announced_elcr;
    bool announced_a20;
    uint16_t reset_port; /* the port whose write last asked for a reset (for the log) */
};

/* Adds the bridge at devfn 0x08 and claims ports 0x92, 0x4D0-0x4D1 and 0xCF9. Callbacks may
 * be NULL (each one individually). Returns 0, or -1 on a port or devfn conflict. */
int piix3_attach(struct piix3 *p, struct ioport_bus *io, struct pci_bus *bus,
                 const struct piix3_callbacks *cb);

/* Current state, for the machine's queries. */
int piix3_pirq_irq(const struct piix3 *p, unsigned pirq); /* ISA IRQ, or -1 */
static inline uint16_t piix3_elcr(const struct piix3 *p) { return p->elcr; }
static inline bool piix3_a20(const struct piix3 *p) { return p->port92 & PIIX3_PORT92_A20; }

/* Which PIRQ (0..3) a device's INTx pin (1 = INTA# .. 4 = INTD#) is wired to on bus 0: the
 * rotation by slot of QEMU's i440FX board, which SeaBIOS's routing tables describe. */
static inline unsigned piix3_pirq_of(uint8_t devfn, unsigned pin)
{
    return ((devfn >> 3) + pin - 2u) & 3u;
}

#endif
