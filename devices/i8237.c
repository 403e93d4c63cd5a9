#include "devices/i8237.h"

#include <string.h>

/* Page register (by port & 0x0F) that extends each channel's address. */
static const uint8_t page_index[I8237_CHANNELS] = {0x7, 0x3, 0x1, 0x2, 0xF, 0xB, 0x9, 0xA};

/* Controller registers, in the order of their ports on controller 1 (0x00-0x0F). */
enum {
    REG_STATUS = 8, /* read: status, write: command */
    REG_REQUEST = 9,
    REG_SINGLE_MASK = 10,
    REG_MODE = 11,
    REG_CLEAR_FF = 12,
    REG_MASTER_CLEAR = 13, /* read: temporary register */
    REG_CLEAR_MASK = 14,
    REG_ALL_MASK = 15,
};

static void master_clear(struct i8237_chip *c)
{
    c->command = 0;
    c->status = 0;
    c->request = 0;
    c->temp = 0;
    c->flipflop = false;
    c->mask = 0x0F;
}

static uint8_t chip_read(struct i8237_chip *c, unsigned reg)
{
    if (reg < 8) {
        /* Address (even) or count (odd) of channel reg/2, byte chosen by the flip-flop. */
        const struct i8237_channel *ch = &c->ch[reg >> 1];
        uint16_t v = (reg & 1) ? ch->cur_count : ch->cur_addr;
        bool high = c->flipflop;
        c->flipflop = !c->flipflop;
        return (uint8_t)(high ? v >> 8 : v);
    }
    switch (reg) {
    case REG_STATUS: {
        uint8_t v = (uint8_t)((c->status & 0x0F) | (c->request & 0x0F) << 4);
        c->status &= ~0x0F; /* TC bits clear on read */
        return v;
    }
    case REG_MASTER_CLEAR:
        return c->temp;
    case REG_ALL_MASK:
        /* Not readable on the original 8237A; later chipsets return the mask here. */
        return (uint8_t)(0xF0 | c->mask);
    default:
        return 0xFF; /* write-only registers */
    }
}

static void chip_write(struct i8237_chip *c, unsigned reg, uint8_t v)
{
    if (reg < 8) {
        struct i8237_channel *ch = &c->ch[reg >> 1];
        uint16_t *base = (reg & 1) ? &ch->base_count : &ch->base_addr;
        uint16_t *cur = (reg & 1) ? &ch->cur_count : &ch->cur_addr;
        if (c->flipflop)
            *base = (uint16_t)((*base & 0x00FF) | v << 8);
        else
            *base = (uint16_t)((*base & 0xFF00) | v);
        *cur = *base; /* writing programs both base and current */
        c->flipflop = !c->flipflop;
        return;
    }
    unsigned sel = v & 3;
    switch (reg) {
    case REG_STATUS: c->command = v; break;
    case REG_REQUEST:
        if (v & 4)
            c->request |= (uint8_t)(1u << sel);
        else
            c->request &= (uint8_t)~(1u << sel);
        break;
    case REG_SINGLE_MASK:
        if (v & 4)
            c->mask |= (uint8_t)(1u << sel);
        else
            c->mask &= (uint8_t)~(1u << sel);
        break;
    case REG_MODE: c->ch[sel].mode = v & 0xFC; break;
    case REG_CLEAR_FF: c->flipflop = false; break;
    case REG_MASTER_CLEAR: master_clear(c); break;
    case REG_CLEAR_MASK: c->mask = 0; break;
    case REG_ALL_MASK: c->mask = v & 0x0F; break;
    }
}

static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8237 *d = opaque;
    uint32_t v = 0;
    /* A wide access reaches consecutive ports, as on the 8-bit ISA bus. */
    for (unsigned i = 0; i < size; i++) {
        unsigned p = (unsigned)port + i;
        uint8_t b = 0xFF;
        if (p <= 0x0F)
            b = chip_read(&d->chip[0], p);
        else if (p >= 0x81 && p <= 0x8F)
            b = d->page[p & 0x0F];
        else if (p >= 0xC0 && p <= 0xDF)
            b = chip_read(&d->chip[1], (p - 0xC0) >> 1);
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct i8237 *d = opaque;
    for (unsigned i = 0; i < size; i++) {
        unsigned p = (unsigned)port + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (p <= 0x0F)
            chip_write(&d->chip[0], p, b);
        else if (p >= 0x81 && p <= 0x8F)
            d->page[p & 0x0F] = b;
        else if (p >= 0xC0 && p <= 0xDF)
            chip_write(&d->chip[1], (p - 0xC0) >> 1, b);
    }
}

static const struct ioport_ops i8237_io_ops = {io_read, io_write};

uint32_t i8237_remaining(const struct i8237 *d, unsigned channel)
{
    if (channel >= I8237_CHANNELS)
        return 0;
    return (uint32_t)d->chip[channel >> 2].ch[channel & 3].cur_count + 1;
}

size_t i8237_transfer(struct i8237 *d, unsigned channel, void *buf, size_t len, enum dma_dir dir,
                      bool *tc)
{
    if (tc)
        *tc = false;
    if (channel >= I8237_CHANNELS)
        return 0;
    struct i8237_chip *c = &d->chip[channel >> 2];
    unsigned ci = channel & 3;
    struct i8237_channel *ch = &c->ch[ci];
    if ((c->command & I8237_CMD_DISABLE) || (c->mask & (1u << ci)) ||
        (ch->mode & I8237_MODE_SEL_MASK) == I8237_MODE_CASCADE)
        return 0;
    uint8_t type = ch->mode & I8237_MODE_TYPE_MASK;
    bool to_mem = type == I8237_MODE_WRITE && dir == DMA_TO_MEMORY;
    bool from_mem = type == I8237_MODE_READ && dir == DMA_FROM_MEMORY;
    bool verify = type == I8237_MODE_VERIFY && dir == DMA_TO_MEMORY;
    if (!to_mem && !from_mem && !verify)
        return 0; /* nobody drives the bus the way the device expects: nothing moves */

    bool wide = channel >= 4;
    unsigned unit = wide ? 2 : 1;
    bool down = ch->mode & I8237_MODE_DECREMENT;
    uint8_t page = d->page[page_index[channel]];
    uint32_t base = wide ? (uint32_t)(page & 0xFE) << 16 : (uint32_t)page << 16;
    uint8_t *p = buf;
    size_t want = len / unit, done = 0;
    bool reached_tc = false;

    while (done < want) {
        uint32_t left = (uint32_t)ch->cur_count + 1;
        /* A run of units contiguous in memory: up to TC, and up to where the 16-bit address
         * wraps (the page register does not carry). Decrementing goes one unit at a time. */
        size_t n = want - done;
        if (n > left)
            n = left;
        if (down)
            n = 1;
        else if (n > 0x10000u - ch->cur_addr)
            n = 0x10000u - ch->cur_addr;
        uint32_t phys = base + ((uint32_t)ch->cur_addr << (wide ? 1 : 0));
        if (to_mem)
            memmap_copy_to(d->mem, phys, p + done * unit, n * unit);
        else if (from_mem)
            memmap_copy_from(d->mem, phys, p + done * unit, n * unit);
        ch->cur_addr = (uint16_t)(down ? ch->cur_addr - n : ch->cur_addr + n);
        ch->cur_count = (uint16_t)(ch->cur_count - n);
        done += n;
        if (n == left) {
            reached_tc = true;
            break;
        }
    }
    if (reached_tc) {
        c->status |= (uint8_t)(1u << ci);
        c->request &= (uint8_t)~(1u << ci);
        if (ch->mode & I8237_MODE_AUTOINIT) {
            ch->cur_addr = ch->base_addr;
            ch->cur_count = ch->base_count;
        } else {
            c->mask |= (uint8_t)(1u << ci);
        }
        if (tc)
            *tc = true;
    }
    return done * unit;
}

/* Power-on: both controllers master-cleared, all channel registers and pages zero. */
static void i8237_reset(void *opaque)
{
    struct i8237 *d = opaque;
    memset(d->chip, 0, sizeof(d->chip));
    memset(d->page, 0, sizeof(d->page));
    master_clear(&d->chip[0]);
    master_clear(&d->chip[1]);
}

static void i8237_save(const void *opaque, struct state_writer *w)
{
    const struct i8237 *d = opaque;
    for (unsigned k = 0; k < 2; k++) {
        const struct i8237_chip *c = &d->chip[k];
        for (unsigned i = 0; i < 4; i++) {
            sw_u16(w, c->ch[i].base_addr);
            sw_u16(w, c->ch[i].base_count);
            sw_u16(w, c->ch[i].cur_addr);
            sw_u16(w, c->ch[i].cur_count);
            sw_u8(w, c->ch[i].mode);
        }
        sw_u8(w, c->command);
        sw_u8(w, c->status);
        sw_u8(w, c->request);
        sw_u8(w, c->mask);
        sw_u8(w, c->temp);
        sw_u8(w, c->flipflop);
    }
    sw_bytes(w, d->page, sizeof(d->page));
}

static int i8237_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct i8237 *d = opaque;
    if (version != 1)
        return -1;
    struct i8237_chip chip[2];
    memset(chip, 0, sizeof(chip));
    for (unsigned k = 0; k < 2; k++) {
        struct i8237_chip *c = &chip[k];
        for (unsigned i = 0; i < 4; i++) {
            c->ch[i].base_addr = sr_u16(r);
            c->ch[i].base_count = sr_u16(r);
            c->ch[i].cur_addr = sr_u16(r);
            c->ch[i].cur_count = sr_u16(r);
            c->ch[i].mode = sr_u8(r);
            if (c->ch[i].mode & 3)
                return -1;
        }
        c->command = sr_u8(r);
        c->status = sr_u8(r);
        c->request = sr_u8(r);
        c->mask = sr_u8(r);
        c->temp = sr_u8(r);
        uint8_t ff = sr_u8(r);
        if ((c->status & 0xF0) || (c->request & 0xF0) || (c->mask & 0xF0) || ff > 1)
            return -1;
        c->flipflop = ff;
    }
    uint8_t page[16];
    sr_bytes(r, page, sizeof(page));
    if (r->error)
        return -1;
    memcpy(d->chip, chip, sizeof(chip));
    memcpy(d->page, page, sizeof(page));
    return 0;
}

static const struct device_ops i8237_device_ops = {
    .name = "i8237",
    .state_version = 1,
    .reset = i8237_reset,
    .save = i8237_save,
    .load = i8237_load,
};

int i8237_attach(struct i8237 *d, struct ioport_bus *bus, struct memmap *mem)
{
    memset(d, 0, sizeof(*d));
    d->dev = (struct device){&i8237_device_ops, d};
    d->mem = mem;
    i8237_reset(d);
    if (ioport_register(bus, 0x00, 16, &i8237_io_ops, d) ||
        ioport_register(bus, 0x81, 15, &i8237_io_ops, d) ||
        ioport_register(bus, 0xC0, 32, &i8237_io_ops, d))
        return -1;
    return 0;
}
