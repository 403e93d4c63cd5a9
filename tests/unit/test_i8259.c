/* Unit tests of the cascaded 8259A pair (devices/i8259.c) through its ports, its IRQ inputs,
 * its INTR output and the CPU's acknowledge. Expected values follow from the Intel 8259A
 * datasheet: the ICW sequence, OCW1-3, fully nested and special fully nested priority,
 * rotation, edge/level triggering, the default IR7 vector, poll mode, automatic EOI, and a
 * save/load round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/device.h"
#include "devices/i8259.h"
#include "devices/ioport.h"

struct fixture {
    struct ioport_bus bus;
    struct i8259 pic;
    bool intr;
    int intr_rises;
};

static void intr_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 0);
    if (level && !f->intr)
        f->intr_rises++;
    f->intr = level;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v) { ioport_write(&f->bus, port, v, 1); }
static uint8_t in8(struct fixture *f, uint16_t port) { return (uint8_t)ioport_read(&f->bus, port, 1); }

/* What a PC BIOS (and Linux) programs: edge, cascade, vectors 0x08 and 0x70, 8086 mode. */
static void init_pc(struct fixture *f, uint8_t icw4_master, uint8_t icw4_slave)
{
    out8(f, 0x20, 0x11);
    out8(f, 0x21, 0x08);
    out8(f, 0x21, 0x04);
    out8(f, 0x21, icw4_master);
    out8(f, 0xA0, 0x11);
    out8(f, 0xA1, 0x70);
    out8(f, 0xA1, 0x02);
    out8(f, 0xA1, icw4_slave);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ioport_init(&f->bus);
    if (i8259_attach(&f->pic, &f->bus, true))
        return -1;
    f->pic.intr = (struct irq_line){intr_set, f, 0};
    init_pc(f, 0x01, 0x01);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void irq(struct fixture *f, unsigned line, bool level) { i8259_set_irq(&f->pic, line, level); }
static int ack(struct fixture *f) { return i8259_intr_ack(&f->pic); }

static uint8_t read_irr(struct fixture *f, uint16_t cmd)
{
    out8(f, cmd, 0x0A);
    return in8(f, cmd);
}

static uint8_t read_isr(struct fixture *f, uint16_t cmd)
{
    out8(f, cmd, 0x0B);
    return in8(f, cmd);
}

static void init_and_mask(void **state)
{
    struct fixture *f = *state;
    /* ICW1 cleared the IMR; ICW2-4 went to their registers, not to the IMR. */
    assert_int_equal(in8(f, 0x21), 0x00);
    assert_int_equal(in8(f, 0xA1), 0x00);
    assert_false(f->intr);

    out8(f, 0x21, 0xFB);
    out8(f, 0xA1, 0xFF);
    assert_int_equal(in8(f, 0x21), 0xFB);
    assert_int_equal(in8(f, 0xA1), 0xFF);
    init_pc(f, 0x01, 0x01); /* ICW1 clears the IMR */
    assert_int_equal(in8(f, 0x21), 0x00);
    assert_int_equal(in8(f, 0xA1), 0x00);

    /* A request: INTR rises; a mask hides it from INTR but not from the IRR. */
    irq(f, 1, true);
    assert_true(f->intr);
    out8(f, 0x21, 0x02);
    assert_false(f->intr);
    assert_int_equal(read_irr(f, 0x20), 0x02);
    out8(f, 0x21, 0x00);
    assert_true(f->intr);

    /* INTA: vector 0x08 + 1, IRR -> ISR, INTR drops. */
    assert_int_equal(ack(f), 0x09);
    assert_false(f->intr);
    assert_int_equal(read_isr(f, 0x20), 0x02);
    assert_int_equal(read_irr(f, 0x20), 0x00); /* edge: held high, already acknowledged */
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_false(f->intr); /* still high, no new edge */
    irq(f, 1, false);
    assert_int_equal(f->intr_rises, 2);

    /* Single mode with ICW4: no ICW3 is expected, the third write is ICW4, then OCW1. ICW2's
     * low three bits are not part of the vector. */
    out8(f, 0x20, 0x13);
    out8(f, 0x21, 0x25);
    out8(f, 0x21, 0x01);
    out8(f, 0x21, 0x5A);
    assert_int_equal(in8(f, 0x21), 0x5A);
    out8(f, 0x21, 0x00);
    irq(f, 3, true);
    assert_int_equal(ack(f), 0x23);

    /* Without IC4, ICW2 and ICW3 complete the sequence. */
    out8(f, 0x20, 0x10);
    out8(f, 0x21, 0x40);
    out8(f, 0x21, 0x04);
    out8(f, 0x21, 0x81);
    assert_int_equal(in8(f, 0x21), 0x81);
}

static void fully_nested_priority(void **state)
{
    struct fixture *f = *state;
    irq(f, 5, true);
    irq(f, 3, true);
    assert_int_equal(ack(f), 0x0B); /* IR3 beats IR5 */
    assert_false(f->intr);          /* IR5 is lower than the in-service IR3 */
    irq(f, 1, true);
    assert_true(f->intr); /* IR1 is higher: it nests */
    assert_int_equal(ack(f), 0x09);
    assert_int_equal(read_isr(f, 0x20), 0x0A);
    assert_int_equal(read_irr(f, 0x20), 0x20);
    out8(f, 0x20, I8259_OCW2_NS_EOI); /* the highest in service: IR1 */
    assert_int_equal(read_isr(f, 0x20), 0x08);
    assert_false(f->intr);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x0D);
    out8(f, 0x20, I8259_OCW2_SPEC_EOI | 5);
    assert_int_equal(read_isr(f, 0x20), 0x00);

    irq(f, 7, true);
    irq(f, 0, true);
    assert_int_equal(ack(f), 0x08);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x80); /* a genuine IR7 sets its ISR bit */
}

static void cascade(void **state)
{
    struct fixture *f = *state;
    irq(f, 10, true);
    assert_int_equal(read_irr(f, 0xA0), 0x04);
    assert_int_equal(read_irr(f, 0x20), 0x04); /* the slave's INT on master IR2 */
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x72);
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_int_equal(read_isr(f, 0xA0), 0x04);
    assert_false(f->intr);

    /* IRQ8 is higher inside the slave, but in fully nested mode the master's IR2 in service
     * locks the whole slave out. */
    irq(f, 8, true);
    assert_int_equal(read_irr(f, 0x20), 0x04);
    assert_false(f->intr);
    irq(f, 1, true); /* master IR1 is higher than IR2: it nests */
    assert_int_equal(ack(f), 0x09);
    out8(f, 0x20, I8259_OCW2_NS_EOI); /* ends IR1 */
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_false(f->intr);
    /* The usual slave handler ending: EOI to the slave, then to the master. */
    out8(f, 0xA0, I8259_OCW2_NS_EOI);
    assert_int_equal(read_isr(f, 0xA0), 0x00);
    assert_false(f->intr);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x70);
    out8(f, 0xA0, I8259_OCW2_NS_EOI);
    out8(f, 0x20, I8259_OCW2_NS_EOI);

    /* Master IMR bit 2 masks the whole slave; slave IMR one line. */
    irq(f, 15, true);
    out8(f, 0x21, 0x04);
    assert_false(f->intr);
    out8(f, 0x21, 0x00);
    out8(f, 0xA1, 0x80);
    assert_false(f->intr);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    out8(f, 0xA1, 0x00);
    assert_int_equal(ack(f), 0x77);
}

static void special_fully_nested(void **state)
{
    struct fixture *f = *state;
    init_pc(f, I8259_ICW4_SFNM | I8259_ICW4_UPM, 0x01);
    irq(f, 10, true);
    assert_int_equal(ack(f), 0x72);
    /* A higher slave request is not locked out by the master's IR2 in service. */
    irq(f, 8, true);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x70);
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_int_equal(read_isr(f, 0xA0), 0x05);
    /* Lower ones still wait: IRQ11 inside the slave, IR3 on the master. */
    irq(f, 11, true);
    irq(f, 3, true);
    assert_false(f->intr);
    out8(f, 0xA0, I8259_OCW2_NS_EOI); /* IRQ8 done; IRQ10 still in service on the slave */
    assert_false(f->intr);
    out8(f, 0xA0, I8259_OCW2_NS_EOI); /* IRQ10 done: IRQ11 may go, master ISR2 or not */
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x73);
}

static void level_and_edge(void **state)
{
    struct fixture *f = *state;
    /* Edge: one interrupt per rising edge. */
    irq(f, 4, true);
    assert_int_equal(ack(f), 0x0C);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_false(f->intr);
    irq(f, 4, false);
    irq(f, 4, true);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x0C);
    out8(f, 0x20, I8259_OCW2_NS_EOI);

    /* Level (ELCR): a line still high after EOI requests again. */
    i8259_set_trigger(&f->pic, 4, true);
    assert_true(i8259_get_trigger(&f->pic, 4));
    assert_int_equal(read_irr(f, 0x20), 0x10); /* level: IRR follows the line */
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x0C);
    assert_int_equal(read_irr(f, 0x20), 0x10);
    assert_false(f->intr);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x0C);
    irq(f, 4, false); /* the device is serviced before the EOI */
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_false(f->intr);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    i8259_set_trigger(&f->pic, 4, false);

    /* LTIM makes every input of the chip level triggered. */
    out8(f, 0x20, 0x19);
    out8(f, 0x21, 0x08);
    out8(f, 0x21, 0x04);
    out8(f, 0x21, 0x01);
    irq(f, 6, true);
    assert_int_equal(ack(f), 0x0E);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_true(f->intr);
    irq(f, 6, false);
    assert_false(f->intr);

    /* ICW1 resets edge sensing: a line already high needs a new low-to-high transition. */
    irq(f, 5, true);
    init_pc(f, 0x01, 0x01);
    assert_false(f->intr);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    irq(f, 5, false);
    irq(f, 5, true);
    assert_int_equal(ack(f), 0x0D);

    /* The ELCR ports (claimed here): IRQ 0-2, 8 and 13 cannot be level triggered. */
    out8(f, 0x4D0, 0xFF);
    out8(f, 0x4D1, 0xFF);
    assert_int_equal(in8(f, 0x4D0), 0xF8);
    assert_int_equal(in8(f, 0x4D1), 0xDE);
    assert_true(i8259_get_trigger(&f->pic, 9));
    assert_false(i8259_get_trigger(&f->pic, 8));
    i8259_set_elcr(&f->pic, 0x0800);
    assert_int_equal(ioport_read(&f->bus, 0x4D0, 2), 0x0800);
    irq(f, 11, true);
    assert_int_equal(ack(f), 0x73);
    out8(f, 0xA0, I8259_OCW2_NS_EOI);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_true(f->intr); /* level IRQ11 is still high */
    assert_int_equal(ack(f), 0x73);
}

static void spurious(void **state)
{
    struct fixture *f = *state;
    /* The request goes away between INTR and INTA: the default IR7, no ISR bit. */
    irq(f, 3, true);
    assert_true(f->intr);
    irq(f, 3, false);
    assert_false(f->intr);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x00);

    /* Same for a level input, and for a request masked in that window. */
    i8259_set_trigger(&f->pic, 5, true);
    irq(f, 5, true);
    irq(f, 5, false);
    assert_int_equal(ack(f), 0x0F);
    irq(f, 6, true);
    out8(f, 0x21, 0x40);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    out8(f, 0x21, 0x00);
    assert_int_equal(ack(f), 0x0E); /* unmasked, the edge is still latched */

    /* A default IR7 while a real IR7 is in service keeps the ISR as it was. */
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    irq(f, 7, true);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x80);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x80);
    out8(f, 0x20, I8259_OCW2_NS_EOI);

    /* A slave request withdrawn: the slave's INT drops, so IR2 is withdrawn on the master
     * too and the master answers with its default IR7, leaving both ISRs clear. */
    irq(f, 12, true);
    irq(f, 12, false);
    assert_int_equal(ack(f), 0x0F);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_int_equal(read_isr(f, 0xA0), 0x00);

    /* A cascade address no slave answers to: the bus floats. */
    out8(f, 0xA0, 0x11);
    out8(f, 0xA1, 0x70);
    out8(f, 0xA1, 0x03); /* slave ID 3, but the master cascades on IR2 */
    out8(f, 0xA1, 0x01);
    irq(f, 9, true);
    assert_int_equal(ack(f), 0xFF);
}

static void read_registers_and_poll(void **state)
{
    struct fixture *f = *state;
    irq(f, 3, true);
    irq(f, 5, true);
    assert_int_equal(read_irr(f, 0x20), 0x28);
    out8(f, 0x20, 0x08); /* OCW3 without RR keeps the selection */
    assert_int_equal(in8(f, 0x20), 0x28);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    out8(f, 0x20, 0x08);
    assert_int_equal(in8(f, 0x20), 0x00); /* still ISR */

    /* Poll: the next read acknowledges and returns I + level. */
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x20), 0x83);
    assert_int_equal(in8(f, 0x20), 0x08); /* the poll was for one read: ISR again */
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x20), 0x00); /* IR5 is lower than IR3 in service */
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x21), 0x85); /* either port */
    out8(f, 0x20, I8259_OCW2_NS_EOI);

    /* Polling the cascade: the master names IR2, the slave its own level. */
    irq(f, 13, true);
    out8(f, 0x20, 0x0C);
    assert_int_equal(in8(f, 0x20), 0x82);
    out8(f, 0xA0, 0x0C);
    assert_int_equal(in8(f, 0xA0), 0x85);
    assert_int_equal(read_isr(f, 0xA0), 0x20);
    assert_int_equal(read_isr(f, 0x20), 0x04);
}

static void automatic_eoi(void **state)
{
    struct fixture *f = *state;
    init_pc(f, I8259_ICW4_AEOI | I8259_ICW4_UPM, 0x01);
    irq(f, 3, true);
    assert_int_equal(ack(f), 0x0B);
    assert_int_equal(read_isr(f, 0x20), 0x00); /* ended at the end of INTA */
    irq(f, 4, true);
    assert_true(f->intr); /* nothing in service blocks a lower level */
    assert_int_equal(ack(f), 0x0C);

    /* Rotate in AEOI mode: each level served becomes the lowest. */
    out8(f, 0x20, I8259_OCW2_ROT_AEOI_SET);
    irq(f, 1, true);
    irq(f, 5, true);
    assert_int_equal(ack(f), 0x09); /* now 2,3,4,5,6,7,0,1 */
    irq(f, 0, true);
    assert_int_equal(ack(f), 0x0D); /* IR5 before IR0; now 6,7,0,...,5 */
    irq(f, 6, true);
    assert_int_equal(ack(f), 0x0E);
    out8(f, 0x20, I8259_OCW2_ROT_AEOI_CLEAR);
    irq(f, 7, true);
    assert_int_equal(ack(f), 0x0F); /* 7 before 0, as IR6 was made lowest */
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_int_equal(ack(f), 0x08);
}

static void rotation(void **state)
{
    struct fixture *f = *state;
    /* Set priority: IR4 lowest, so 5,6,7,0,1,2,3,4. */
    out8(f, 0x20, I8259_OCW2_SET_PRIO | 4);
    irq(f, 3, true);
    irq(f, 6, true);
    assert_int_equal(ack(f), 0x0E);
    assert_false(f->intr); /* IR3 now ranks below IR6 */
    out8(f, 0x20, I8259_OCW2_SPEC_EOI | 6);
    assert_int_equal(ack(f), 0x0B);
    out8(f, 0x20, I8259_OCW2_SPEC_EOI | 3);

    /* Rotate on non-specific EOI: the level ended becomes the lowest. */
    out8(f, 0x20, I8259_OCW2_SET_PRIO | 7);
    irq(f, 1, true);
    assert_int_equal(ack(f), 0x09);
    out8(f, 0x20, I8259_OCW2_ROT_NS_EOI); /* 2,3,...,7,0,1 */
    irq(f, 0, true);
    irq(f, 4, true);
    assert_int_equal(ack(f), 0x0C);
    /* Rotate on specific EOI: IR4 ended and lowest, so 5,6,7,0,... */
    out8(f, 0x20, I8259_OCW2_ROT_SPEC_EOI | 4);
    irq(f, 7, true);
    assert_int_equal(ack(f), 0x0F);
    out8(f, 0x20, I8259_OCW2_NOP);
    assert_int_equal(read_isr(f, 0x20), 0x80);
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_int_equal(ack(f), 0x08);
}

static void special_mask_mode(void **state)
{
    struct fixture *f = *state;
    irq(f, 3, true);
    assert_int_equal(ack(f), 0x0B);
    irq(f, 5, true);
    assert_false(f->intr);
    /* The IR3 handler masks itself and enables special mask mode: lower levels get through. */
    out8(f, 0x21, 0x08);
    out8(f, 0x20, 0x68);
    assert_true(f->intr);
    assert_int_equal(ack(f), 0x0D);
    assert_int_equal(read_isr(f, 0x20), 0x28);
    /* A non-specific EOI leaves the masked IS bit alone. */
    out8(f, 0x20, I8259_OCW2_NS_EOI);
    assert_int_equal(read_isr(f, 0x20), 0x08);
    out8(f, 0x20, I8259_OCW2_SPEC_EOI | 3);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    /* ESMM=0 leaves it on; ESMM=1 SMM=0 turns it off. */
    out8(f, 0x20, 0x28);
    irq(f, 6, true);
    assert_int_equal(ack(f), 0x0E);
    irq(f, 7, true);
    assert_true(f->intr);
    out8(f, 0x20, 0x48);
    assert_false(f->intr);
}

static void hostile_inputs(void **state)
{
    struct fixture *f = *state;
    irq(f, 16, true);
    irq(f, 0xFFFFFFFFu, true);
    irq(f, 2, true); /* the cascade input is not an ISA line */
    assert_false(f->intr);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    i8259_set_trigger(&f->pic, 99, true);
    assert_false(i8259_get_trigger(&f->pic, 99));
    /* Wide accesses are byte accesses to consecutive ports; 0x22 is not the PIC's. */
    ioport_write(&f->bus, 0x21, 0x1234, 2);
    assert_int_equal(in8(f, 0x21), 0x34);
    assert_int_equal(ioport_read(&f->bus, 0x21, 2), 0xFF34);
    assert_int_equal(ioport_read(&f->bus, 0x22, 1), 0xFF);
    /* An OCW2 naming any level is fine. */
    for (unsigned v = 0; v < 256; v++)
        if (!(v & 0x18))
            out8(f, 0x20, (uint8_t)v);
}

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x20, I8259_OCW2_SET_PRIO | 2);
    irq(f, 10, true);
    irq(f, 4, true);
    irq(f, 6, true);
    assert_int_equal(ack(f), 0x0C); /* 3,4,...,1,2: IR4 first, IR2 (the slave) last */
    out8(f, 0x21, 0x80);
    i8259_set_trigger(&f->pic, 6, true);
    out8(f, 0xA0, 0x0B); /* slave reads ISR */

    size_t need = device_save(&f->pic.dev, NULL, 0);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->pic.dev, buf, need), need);

    struct fixture *g = calloc(1, sizeof(*g));
    ioport_init(&g->bus);
    assert_int_equal(i8259_attach(&g->pic, &g->bus, false), 0);
    g->pic.intr = (struct irq_line){intr_set, g, 0};
    assert_int_equal(device_load(&g->pic.dev, buf, need), 0);
    assert_int_equal(g->intr, f->intr);
    assert_int_equal(in8(g, 0xA0), in8(f, 0xA0));
    assert_int_equal(in8(g, 0x21), 0x80);
    for (uint16_t cmd = 0x20; cmd <= 0xA0; cmd += 0x80) {
        assert_int_equal(read_isr(g, cmd), read_isr(f, cmd));
        assert_int_equal(read_irr(g, cmd), read_irr(f, cmd));
    }
    /* Both continue alike: the rotated priority, level IR6, then the slave. */
    struct fixture *both[2] = {f, g};
    for (int i = 0; i < 2; i++) {
        struct fixture *x = both[i];
        assert_false(x->intr);
        out8(x, 0x20, I8259_OCW2_NS_EOI);
        assert_int_equal(ack(x), 0x0E);
        out8(x, 0x20, I8259_OCW2_NS_EOI);
        assert_int_equal(ack(x), 0x0E); /* still high, level triggered */
        irq(x, 6, false);
        out8(x, 0x20, I8259_OCW2_NS_EOI);
        assert_int_equal(ack(x), 0x72);
    }

    /* Malformed records are refused and leave the device reset. */
    assert_int_equal(device_load(&g->pic.dev, buf, need - 1), -1);
    assert_int_equal(in8(g, 0x21), 0x00);
    uint8_t *bad = malloc(need);
    memcpy(bad, buf, need);
    bad[6 + 9] = 8; /* master `lowest` beyond IR7 */
    assert_int_equal(device_load(&g->pic.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 0] = 0x00; /* master pins low but an edge latched */
    bad[6 + 1] = 0x10;
    assert_int_equal(device_load(&g->pic.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 8] = 1; /* no ICW1 follows in the sequence */
    assert_int_equal(device_load(&g->pic.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[0] = 2;
    assert_int_equal(device_load(&g->pic.dev, bad, need), -1);
    assert_int_equal(device_load(&g->pic.dev, buf, need), 0);
    free(bad);
    free(buf);
    free(g);
}

static void reset_state(void **state)
{
    struct fixture *f = *state;
    irq(f, 3, true);
    assert_true(f->intr);
    out8(f, 0x21, 0x55);
    device_reset(&f->pic.dev);
    assert_false(f->intr);
    assert_int_equal(in8(f, 0x21), 0x00);
    assert_int_equal(read_irr(f, 0x20), 0x00);
    /* The wire is still high: after re-initialisation it needs a new edge (ICW1). */
    init_pc(f, 0x01, 0x01);
    assert_false(f->intr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(init_and_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(fully_nested_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(special_fully_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(level_and_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(read_registers_and_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(automatic_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(special_mask_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
