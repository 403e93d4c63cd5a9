/* Two Intel 8259A programmable interrupt controllers cascaded as on a PC/AT: the master at
 * 0x20/0x21 drives the CPU's INTR, the slave at 0xA0/0xA1 drives master input 2. ISA IRQ n is
 * master input n (n < 8) or slave input n - 8.
 *
 * Modelled from the datasheet: the ICW1-ICW4 initialisation sequence, OCW1-OCW3 (mask,
 * specific and non-specific EOI, the rotate and set-priority commands, reading IRR/ISR, poll
 * mode, special mask mode), edge or level triggered inputs (ICW1.LTIM, or per line through the
 * PIIX3's ELCR), fully nested and special fully nested priority with rotation, automatic EOI
 * with optional rotation, and the default IR7 ("spurious") vector.
 *
 * Inputs are wires. The request latch is transparent, as on the chip: a line that drops
 * before the CPU acknowledges it withdraws the request, and the acknowledge then yields the
 * chip's IR7 vector without setting ISR bit 7. So a device holds its line until the guest has
 * serviced it; a zero-length pulse is lost. In edge mode a line that stays high requests once.
 * The slave's output feeds master input 2 as soon as it changes; an ISA device on "IRQ2" is
 * wired to IRQ9 on an AT board, so line 2 is not an input here.
 *
 * Acknowledge is one atomic step (both chips resolve at the first INTA, as on hardware), so the
 * slave's default vector (IRQ15) can only come from a slave that has nothing eligible when
 * addressed; the INTA-window race that causes it on real boards cannot happen here.
 *
 * The 8080/8085 call format (ICW4.uPM = 0) and buffered mode are accepted and ignored: the
 * vector is always ICW2[7:3] | level, which is what x86 software programs. */
#ifndef BT86_I8259_H
#define BT86_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ioport.h"

#define I8259_MASTER_BASE 0x20
#define I8259_SLAVE_BASE 0xA0
#define I8259_ELCR_BASE 0x4D0 /* PIIX3 edge/level control, IRQ0-7 then IRQ8-15 */
#define I8259_CASCADE_IRQ 2

/* ICW1 bits (written to the command port with bit 4 set) */
#define I8259_ICW1_IC4 0x01  /* ICW4 follows */
#define I8259_ICW1_SNGL 0x02 /* single chip: no ICW3 */
#define I8259_ICW1_LTIM 0x08 /* all inputs level triggered */
#define I8259_ICW1_INIT 0x10
/* ICW4 bits */
#define I8259_ICW4_UPM 0x01  /* 8086 mode */
#define I8259_ICW4_AEOI 0x02
#define I8259_ICW4_MS 0x04
#define I8259_ICW4_BUF 0x08
#define I8259_ICW4_SFNM 0x10
/* OCW3 bits (command port, bits 4:3 = 01) */
#define I8259_OCW3 0x08
#define I8259_OCW3_RIS 0x01
#define I8259_OCW3_RR 0x02
#define I8259_OCW3_POLL 0x04
#define I8259_OCW3_SMM 0x20
#define I8259_OCW3_ESMM 0x40
/* OCW2 commands (R SL EOI in bits 7:5, level in 2:0) */
#define I8259_OCW2_NS_EOI 0x20
#define I8259_OCW2_SPEC_EOI 0x60
#define I8259_OCW2_ROT_NS_EOI 0xA0
#define I8259_OCW2_ROT_AEOI_SET 0x80
#define I8259_OCW2_ROT_AEOI_CLEAR 0x00
#define I8259_OCW2_ROT_SPEC_EOI 0xE0
#define I8259_OCW2_SET_PRIO 0xC0
#define I8259_OCW2_NOP 0x40

/* ELCR bits the PIIX3 lets software set: IRQ0-2, 8 and 13 stay edge triggered. */
#define I8259_ELCR1_MASK 0xF8
#define I8259_ELCR2_MASK 0xDE

struct i8259_chip {
    uint8_t pins;  /* input levels */
    uint8_t irr;   /* edge requests: rising edges not yet acknowledged or withdrawn */
    uint8_t isr;
    uint8_t imr;
    uint8_t icw1, icw2, icw3, icw4;
    uint8_t init_step; /* ICW expected next (2, 3 or 4); 0 once initialised */
    uint8_t lowest;    /* the level with the lowest priority (7 after ICW1) */
    bool read_isr;     /* OCW3 RR/RIS: the command port reads ISR rather than IRR */
    bool poll;         /* OCW3 P: the next read is a poll */
    bool special_mask;
    bool rotate_aeoi;
};

struct i8259 {
    struct device dev;
    struct irq_line intr; /* INTR to the CPU; the machine wires it */
    struct i8259_chip chip[2]; /* master, slave */
    uint16_t elcr;    /* per line: 1 = level triggered (bit n = IRQ n) */
    bool intr_level;  /* level last driven on `intr` */
};

/* Registers 0x20-0x21 and 0xA0-0xA1, and with `elcr_ports` also 0x4D0-0x4D1 (leave them to
 * the PIIX3 model otherwise; it can call i8259_set_trigger). Returns 0 or -1. */
int i8259_attach(struct i8259 *p, struct ioport_bus *bus, bool elcr_ports);

/* ISA IRQ `line` (0-15) is at `level`. The signature of irq_line.set, opaque = the i8259. */
void i8259_set_irq(void *opaque, unsigned line, bool level);

/* The line devices are given for IRQ `line`. */
static inline struct irq_line i8259_irq_line(struct i8259 *p, unsigned line)
{
    return (struct irq_line){i8259_set_irq, p, line};
}

/* The CPU's interrupt acknowledge (cpu_bus.intr_ack, opaque = the i8259): the vector of the
 * highest-priority eligible request, moved to in-service. With nothing eligible it is the
 * default IR7 vector of the chip, and no ISR bit is set. Never -1. */
int i8259_intr_ack(void *opaque);

/* Edge (false) or level (true) triggering of IRQ `line`, as the PIIX3 ELCR selects it. ICW1's
 * LTIM makes all of a chip's inputs level triggered whatever this says. */
void i8259_set_trigger(struct i8259 *p, unsigned line, bool level);
bool i8259_get_trigger(const struct i8259 *p, unsigned line);
/* All sixteen at once (bit n = IRQ n level triggered): fits piix3_callbacks.elcr_changed. */
void i8259_set_elcr(struct i8259 *p, uint16_t level_mask);

#endif
