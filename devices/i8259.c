#include "devices/i8259.h"

#include <string.h>

#define MASTER 0
#define SLAVE 1

static uint8_t level_lines(const struct i8259 *p, unsigned idx)
{
    if (p->chip[idx].icw1 & I8259_ICW1_LTIM)
        return 0xFF;
    return (uint8_t)(p->elcr >> (8 * idx));
}

/* IRR as the guest sees it: level inputs are requests while high, edge inputs while latched. */
static uint8_t chip_irr(const struct i8259 *p, unsigned idx)
{
    const struct i8259_chip *c = &p->chip[idx];
    uint8_t lv = level_lines(p, idx);
    return (uint8_t)((c->irr & ~lv) | (c->pins & lv));
}

static bool cascaded(const struct i8259_chip *c) { return !(c->icw1 & I8259_ICW1_SNGL); }

/* Special fully nested mode: an in-service slave input does not lock out its own slave. */
static bool sfnm_input(const struct i8259 *p, unsigned idx, unsigned lvl)
{
    const struct i8259_chip *c = &p->chip[idx];
    return idx == MASTER && (c->icw4 & I8259_ICW4_SFNM) && cascaded(c) && ((c->icw3 >> lvl) & 1);
}

/* The level that would interrupt now, or -1. */
static int chip_pending(const struct i8259 *p, unsigned idx)
{
    const struct i8259_chip *c = &p->chip[idx];
    uint8_t req = (uint8_t)(chip_irr(p, idx) & ~c->imr);
    if (!req)
        return -1;
    for (unsigned i = 0; i < 8; i++) {
        unsigned lvl = (c->lowest + 1 + i) & 7;
        uint8_t bit = (uint8_t)(1u << lvl);
        bool in_service = c->isr & bit;
        if (c->special_mask) {
            /* Any unmasked level not itself in service, higher or lower. */
            if ((req & bit) && !in_service)
                return (int)lvl;
            continue;
        }
        if (in_service && !sfnm_input(p, idx, lvl))
            return -1;
        if (req & bit)
            return (int)lvl;
        if (in_service)
            return -1;
    }
    return -1;
}

static void chip_set_pin(struct i8259_chip *c, unsigned lvl, bool level)
{
    uint8_t bit = (uint8_t)(1u << lvl);
    if (level) {
        if (!(c->pins & bit))
            c->irr |= bit;
        c->pins |= bit;
    } else {
        c->pins &= (uint8_t)~bit;
        c->irr &= (uint8_t)~bit; /* the transparent request latch lets go */
    }
}

/* Propagate the slave's output to master IR2 and the master's to INTR. */
static void update(struct i8259 *p)
{
    chip_set_pin(&p->chip[MASTER], I8259_CASCADE_IRQ, chip_pending(p, SLAVE) >= 0);
    bool intr = chip_pending(p, MASTER) >= 0;
    if (intr != p->intr_level) {
        p->intr_level = intr;
        irq_line_set(&p->intr, intr);
    }
}

/* The INTA (or poll) of one chip: the level acknowledged, or -1 for the default IR7. */
static int chip_ack(struct i8259 *p, unsigned idx)
{
    struct i8259_chip *c = &p->chip[idx];
    int lvl = chip_pending(p, idx);
    if (lvl < 0)
        return -1;
    uint8_t bit = (uint8_t)(1u << lvl);
    c->irr &= (uint8_t)~bit;
    if (c->icw4 & I8259_ICW4_AEOI) {
        if (c->rotate_aeoi)
            c->lowest = (uint8_t)lvl;
    } else {
        c->isr |= bit;
    }
    return lvl;
}

int i8259_intr_ack(void *opaque)
{
    struct i8259 *p = opaque;
    struct i8259_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
    int vec;
    int lvl = chip_ack(p, MASTER);
    if (lvl < 0) {
        vec = (m->icw2 & 0xF8) | 7;
    } else if (cascaded(m) && ((m->icw3 >> lvl) & 1)) {
        /* The master puts the cascade address out; the slave with that ID gives the vector.
         * No chip answering leaves the bus floating. */
        if (cascaded(s) && (unsigned)(s->icw3 & 7) == (unsigned)lvl) {
            int sl = chip_ack(p, SLAVE);
            vec = (s->icw2 & 0xF8) | (sl < 0 ? 7 : sl);
        } else {
            vec = 0xFF;
        }
    } else {
        vec = (m->icw2 & 0xF8) | lvl;
    }
    update(p);
    return vec;
}

/* Highest-priority in-service level a non-specific EOI clears. In special mask mode a masked
 * ISR bit is left alone (datasheet). */
static int highest_isr(const struct i8259_chip *c)
{
    uint8_t isr = c->isr;
    if (c->special_mask)
        isr &= (uint8_t)~c->imr;
    for (unsigned i = 0; i < 8; i++) {
        unsigned lvl = (c->lowest + 1 + i) & 7;
        if (isr & (1u << lvl))
            return (int)lvl;
    }
    return -1;
}

static void write_ocw2(struct i8259_chip *c, uint8_t v)
{
    unsigned l = v & 7;
    int h;
    switch (v & 0xE0) {
    case I8259_OCW2_NS_EOI:
        if ((h = highest_isr(c)) >= 0)
            c->isr &= (uint8_t)~(1u << h);
        break;
    case I8259_OCW2_SPEC_EOI:
        c->isr &= (uint8_t)~(1u << l);
        break;
    case I8259_OCW2_ROT_NS_EOI:
        if ((h = highest_isr(c)) >= 0) {
            c->isr &= (uint8_t)~(1u << h);
            c->lowest = (uint8_t)h;
        }
        break;
    case I8259_OCW2_ROT_AEOI_SET: c->rotate_aeoi = true; break;
    case I8259_OCW2_ROT_AEOI_CLEAR: c->rotate_aeoi = false; break;
    case I8259_OCW2_ROT_SPEC_EOI:
        c->isr &= (uint8_t)~(1u << l);
        c->lowest = (uint8_t)l;
        break;
    case I8259_OCW2_SET_PRIO: c->lowest = (uint8_t)l; break;
    case I8259_OCW2_NOP: break;
    }
}

static void write_icw1(struct i8259_chip *c, uint8_t v)
{
    /* Datasheet: edge sense reset, IMR cleared, IR7 lowest, slave address 7, special mask
     * off, status read = IRR, ICW4 functions zero without IC4. ISR and the rotate/poll state
     * are cleared too, as every PC emulator does: a re-initialised chip starts clean. */
    c->icw1 = v;
    c->irr = 0;
    c->isr = 0;
    c->imr = 0;
    c->icw3 = 7;
    c->lowest = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_aeoi = false;
    if (!(v & I8259_ICW1_IC4))
        c->icw4 = 0;
    c->init_step = 2;
}

static void chip_write(struct i8259 *p, unsigned idx, unsigned a0, uint8_t v)
{
    struct i8259_chip *c = &p->chip[idx];
    if (!a0) {
        if (v & I8259_ICW1_INIT) {
            write_icw1(c, v);
        } else if (v & I8259_OCW3) {
            if (v & I8259_OCW3_ESMM)
                c->special_mask = v & I8259_OCW3_SMM;
            if (v & I8259_OCW3_RR)
                c->read_isr = v & I8259_OCW3_RIS;
            c->poll = v & I8259_OCW3_POLL;
        } else {
            write_ocw2(c, v);
        }
    } else {
        switch (c->init_step) {
        case 2:
            c->icw2 = v;
            c->init_step = !cascaded(c) ? ((c->icw1 & I8259_ICW1_IC4) ? 4 : 0) : 3;
            break;
        case 3:
            c->icw3 = v;
            c->init_step = (c->icw1 & I8259_ICW1_IC4) ? 4 : 0;
            break;
        case 4:
            c->icw4 = v & 0x1F;
            c->init_step = 0;
            break;
        default:
            c->imr = v; /* OCW1 */
            break;
        }
    }
    update(p);
}

static uint8_t chip_read(struct i8259 *p, unsigned idx, unsigned a0)
{
    struct i8259_chip *c = &p->chip[idx];
    if (c->poll) {
        /* The poll is an acknowledge on either port: I bit and the level. */
        c->poll = false;
        int lvl = chip_ack(p, idx);
        update(p);
        return lvl < 0 ? 0 : (uint8_t)(0x80 | lvl);
    }
    if (a0)
        return c->imr;
    return c->read_isr ? c->isr : chip_irr(p, idx);
}

static int pic_port(uint16_t port, unsigned *idx, unsigned *a0)
{
    if ((port & ~1u) == I8259_MASTER_BASE)
        *idx = MASTER;
    else if ((port & ~1u) == I8259_SLAVE_BASE)
        *idx = SLAVE;
    else
        return -1;
    *a0 = port & 1;
    return 0;
}

/* Wider accesses touch consecutive ports, byte by byte, as on the 8-bit ISA bus. */
static uint32_t pic_io_read(void *opaque, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned idx, a0;
        uint8_t b = 0xFF;
        if (pic_port((uint16_t)(port + i), &idx, &a0) == 0)
            b = chip_read(opaque, idx, a0);
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void pic_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned idx, a0;
        if (pic_port((uint16_t)(port + i), &idx, &a0) == 0)
            chip_write(opaque, idx, a0, (uint8_t)(value >> (8 * i)));
    }
}

static const struct ioport_ops pic_io_ops = {pic_io_read, pic_io_write};

static uint32_t elcr_io_read(void *opaque, uint16_t port, unsigned size)
{
    const struct i8259 *p = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned n = (uint16_t)(port + i) - I8259_ELCR_BASE;
        v |= (uint32_t)(n < 2 ? (uint8_t)(p->elcr >> (8 * n)) : 0xFF) << (8 * i);
    }
    return v;
}

static void elcr_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct i8259 *p = opaque;
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned n = (uint16_t)(port + i) - I8259_ELCR_BASE;
        if (n >= 2)
            continue;
        uint8_t mask = n ? I8259_ELCR2_MASK : I8259_ELCR1_MASK;
        uint8_t b = (uint8_t)(value >> (8 * i)) & mask;
        p->elcr = (uint16_t)((p->elcr & ~(0xFFu << (8 * n))) | (unsigned)b << (8 * n));
    }
    update(p);
}

static const struct ioport_ops elcr_io_ops = {elcr_io_read, elcr_io_write};

void i8259_set_irq(void *opaque, unsigned line, bool level)
{
    struct i8259 *p = opaque;
    if (line >= 16 || line == I8259_CASCADE_IRQ)
        return;
    chip_set_pin(&p->chip[line >> 3], line & 7, level);
    update(p);
}

void i8259_set_trigger(struct i8259 *p, unsigned line, bool level)
{
    if (line >= 16)
        return;
    if (level)
        p->elcr |= (uint16_t)(1u << line);
    else
        p->elcr &= (uint16_t)~(1u << line);
    update(p);
}

void i8259_set_elcr(struct i8259 *p, uint16_t level_mask)
{
    p->elcr = level_mask;
    update(p);
}

bool i8259_get_trigger(const struct i8259 *p, unsigned line)
{
    return line < 16 && ((p->elcr >> line) & 1);
}

static void chip_reset(struct i8259_chip *c)
{
    /* The input wires keep their levels: they belong to the devices driving them. */
    uint8_t pins = c->pins;
    memset(c, 0, sizeof(*c));
    c->pins = pins;
    c->lowest = 7;
    c->icw3 = 7;
}

static void pic_reset(void *opaque)
{
    struct i8259 *p = opaque;
    chip_reset(&p->chip[MASTER]);
    chip_reset(&p->chip[SLAVE]);
    p->elcr = 0;
    update(p);
    irq_line_set(&p->intr, p->intr_level);
}

static void pic_save(const void *opaque, struct state_writer *w)
{
    const struct i8259 *p = opaque;
    for (unsigned i = 0; i < 2; i++) {
        const struct i8259_chip *c = &p->chip[i];
        sw_u8(w, c->pins);
        sw_u8(w, c->irr);
        sw_u8(w, c->isr);
        sw_u8(w, c->imr);
        sw_u8(w, c->icw1);
        sw_u8(w, c->icw2);
        sw_u8(w, c->icw3);
        sw_u8(w, c->icw4);
        sw_u8(w, c->init_step);
        sw_u8(w, c->lowest);
        sw_u8(w, (uint8_t)(c->read_isr | c->poll << 1 | c->special_mask << 2 | c->rotate_aeoi << 3));
    }
    sw_u16(w, p->elcr);
}

static int pic_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct i8259 *p = opaque;
    if (version != 1)
        return -1;
    struct i8259_chip c[2];
    memset(c, 0, sizeof(c));
    for (unsigned i = 0; i < 2; i++) {
        c[i].pins = sr_u8(r);
        c[i].irr = sr_u8(r);
        c[i].isr = sr_u8(r);
        c[i].imr = sr_u8(r);
        c[i].icw1 = sr_u8(r);
        c[i].icw2 = sr_u8(r);
        c[i].icw3 = sr_u8(r);
        c[i].icw4 = sr_u8(r);
        c[i].init_step = sr_u8(r);
        c[i].lowest = sr_u8(r);
        uint8_t flags = sr_u8(r);
        /* An edge latch is only set while its input is high. */
        if ((c[i].init_step != 0 && (c[i].init_step < 2 || c[i].init_step > 4)) ||
            c[i].lowest > 7 || (c[i].icw4 & ~0x1F) || (flags & ~0x0F) || (c[i].irr & ~c[i].pins))
            return -1;
        c[i].read_isr = flags & 1;
        c[i].poll = flags & 2;
        c[i].special_mask = flags & 4;
        c[i].rotate_aeoi = flags & 8;
    }
    uint16_t elcr = sr_u16(r);
    if (r->error)
        return -1;
    memcpy(p->chip, c, sizeof(c));
    p->elcr = elcr;
    update(p);
    irq_line_set(&p->intr, p->intr_level); /* whatever the CPU held before, it follows now */
    return 0;
}

static const struct device_ops pic_device_ops = {
    .name = "i8259",
    .state_version = 1,
    .reset = pic_reset,
    .save = pic_save,
    .load = pic_load,
};

int i8259_attach(struct i8259 *p, struct ioport_bus *bus, bool elcr_ports)
{
    memset(p, 0, sizeof(*p));
    p->dev = (struct device){&pic_device_ops, p};
    pic_reset(p);
    if (ioport_register(bus, I8259_MASTER_BASE, 2, &pic_io_ops, p) ||
        ioport_register(bus, I8259_SLAVE_BASE, 2, &pic_io_ops, p))
        return -1;
    if (elcr_ports && ioport_register(bus, I8259_ELCR_BASE, 2, &elcr_io_ops, p))
        return -1;
    return 0;
}
