#include "devices/i8042.h"

#include <string.h>

#define OUTPORT_RESET 0xCF /* CPU running, A20 on, clock and data lines idle high */
#define STATUS_KEPT (I8042_STR_SYS | I8042_STR_CMD | I8042_STR_TIMEOUT | I8042_STR_PARITY)

static uint8_t ctr(const struct i8042 *c) { return c->ram[0]; }

static void update_irq(struct i8042 *c)
{
    bool kbd = c->out_full && !c->out_aux && (ctr(c) & I8042_CTR_KBDINT);
    bool aux = c->out_full && c->out_aux && (ctr(c) & I8042_CTR_AUXINT);
    if (kbd != c->irq_kbd_level) {
        c->irq_kbd_level = kbd;
        irq_line_set(&c->irq_kbd, kbd);
    }
    if (aux != c->irq_aux_level) {
        c->irq_aux_level = aux;
        irq_line_set(&c->irq_aux, aux);
    }
}

static void announce_a20(struct i8042 *c)
{
    bool on = c->outport & I8042_OUT_A20;
    if (on != c->a20_level) {
        c->a20_level = on;
        if (c->a20)
            c->a20(c->cb_opaque, on);
    }
}

/* Moves a device byte into an empty output buffer, if one may go there now. */
static void refill(struct i8042 *c)
{
    if (c->in_refill)
        return; /* a device queued more while we were taking from it: the loop sees it */
    c->in_refill = true;
    while (!c->out_full) {
        bool kbd = c->kbd && !(ctr(c) & I8042_CTR_KBDDIS) && ps2_dev_pending(c->kbd);
        bool aux = c->aux && !(ctr(c) & I8042_CTR_AUXDIS) && ps2_dev_pending(c->aux);
        if (!kbd && !aux)
            break;
        if (c->clock && vclock_now(c->clock) < c->ready_at) {
            vtimer_arm(&c->timer, c->ready_at);
            break;
        }
        if (kbd) {
            uint8_t b = ps2_dev_take(c->kbd);
            if (ctr(c) & I8042_CTR_XLATE) {
                if (b == 0xF0) {
                    c->xlate_break = true; /* nothing for the host yet */
                    continue;
                }
                b = (uint8_t)(keymap_xlate(b) | (c->xlate_break ? 0x80 : 0));
                c->xlate_break = false;
            }
            c->out = b;
            c->out_aux = false;
        } else {
            c->out = ps2_dev_take(c->aux);
            c->out_aux = true;
        }
        c->out_full = true;
    }
    c->in_refill = false;
    update_irq(c);
}

static void timer_fire(void *opaque) { refill(opaque); }

static void port_notify(void *opaque) { refill(opaque); }

/* A byte the controller itself produces: it replaces an unread one. */
static void load_out(struct i8042 *c, uint8_t v, bool aux)
{
    c->out = v;
    c->out_aux = aux;
    c->out_full = true;
    update_irq(c);
}

static void write_ram(struct i8042 *c, unsigned idx, uint8_t v)
{
    c->ram[idx] = v;
    if (idx != 0)
        return;
    c->status = (uint8_t)((c->status & ~I8042_STR_SYS) | (v & I8042_CTR_SYS));
    if (!(v & I8042_CTR_XLATE))
        c->xlate_break = false;
    update_irq(c);
    refill(c); /* an interface may have been enabled */
}

static void pulse_reset(struct i8042 *c)
{
    /* Last: the machine may reset this controller from inside the callback. */
    if (c->reset_request)
        c->reset_request(c->cb_opaque);
}

static void write_outport(struct i8042 *c, uint8_t v)
{
    /* Bits 4-5 follow the output buffer; bit 0 low is taken as a reset pulse, since the CPU
     * could not run to raise it again. */
    c->outport = (uint8_t)((v & ~(I8042_OUT_OBF | I8042_OUT_AUXOBF)) | I8042_OUT_RESET);
    announce_a20(c);
    if (!(v & I8042_OUT_RESET))
        pulse_reset(c);
}

static uint8_t read_outport(const struct i8042 *c)
{
    uint8_t v = c->outport;
    if (c->out_full)
        v |= c->out_aux ? I8042_OUT_AUXOBF : I8042_OUT_OBF;
    return v;
}

static void send_to_device(struct i8042 *c, bool to_aux, uint8_t v)
{
    /* Sending drives the interface's clock: it is enabled from then on. */
    c->ram[0] &= (uint8_t)~(to_aux ? I8042_CTR_AUXDIS : I8042_CTR_KBDDIS);
    struct ps2_dev *d = to_aux ? c->aux : c->kbd;
    if (!d) {
        /* Nobody clocks the byte out: a transmit timeout, reported as the chip does. */
        c->status |= I8042_STR_TIMEOUT;
        load_out(c, 0xFE, to_aux);
        return;
    }
    ps2_dev_write(d, v);
    refill(c);
}

static void write_command(struct i8042 *c, uint8_t v)
{
    c->status = (uint8_t)((c->status | I8042_STR_CMD) & ~(I8042_STR_TIMEOUT | I8042_STR_PARITY));
    c->pending = 0; /* a new command abandons one still waiting for its data byte */
    if (v >= 0x20 && v < 0x40) {
        load_out(c, c->ram[v & 0x1F], false);
        return;
    }
    if (v >= 0x60 && v < 0x80) {
        c->pending = v;
        return;
    }
    if (v >= 0xF0) {
        /* Pulse output port bits 0-3 where v has a 0 for about 6 us. Only the reset line
         * matters; a pulse on the A20 gate is too short to be seen. */
        if (!(v & 1))
            pulse_reset(c);
        return;
    }
    switch (v) {
    case 0xA4: /* is a password installed? */
        load_out(c, 0xF1, false);
        return;
    case 0xA5: /* load password: bytes up to a 0 */
    case 0xD1: /* write output port */
    case 0xD2: /* write keyboard output buffer */
    case 0xD3: /* write aux output buffer */
    case 0xD4: /* write to aux device */
        c->pending = v;
        return;
    case 0xA7:
        write_ram(c, 0, ctr(c) | I8042_CTR_AUXDIS);
        return;
    case 0xA8:
        write_ram(c, 0, ctr(c) & (uint8_t)~I8042_CTR_AUXDIS);
        return;
    case 0xA9: /* aux interface test: lines fine */
    case 0xAB: /* keyboard interface test */
        load_out(c, 0x00, false);
        return;
    case 0xAA: /* self-test */
        c->status |= I8042_STR_SYS;
        load_out(c, 0x55, false);
        return;
    case 0xAD:
        write_ram(c, 0, ctr(c) | I8042_CTR_KBDDIS);
        return;
    case 0xAE:
        write_ram(c, 0, ctr(c) & (uint8_t)~I8042_CTR_KBDDIS);
        return;
    case 0xC0:
        load_out(c, I8042_INPUT_PORT, false);
        return;
    case 0xD0:
        load_out(c, read_outport(c), false);
        return;
    case 0xDD: /* A20 off / on (HP Vectra commands, kept by many chips) */
    case 0xDF:
        write_outport(c, (uint8_t)((c->outport & ~I8042_OUT_A20) | (v == 0xDF ? I8042_OUT_A20 : 0)));
        return;
    default:
        return; /* undefined commands are ignored */
    }
}

static void write_data(struct i8042 *c, uint8_t v)
{
    c->status &= (uint8_t)~(I8042_STR_CMD | I8042_STR_TIMEOUT | I8042_STR_PARITY);
    uint8_t p = c->pending;
    c->pending = 0;
    if (p >= 0x60 && p < 0x80) {
        write_ram(c, p & 0x1F, v);
        return;
    }
    switch (p) {
    case 0:
        send_to_device(c, false, v);
        return;
    case 0xA5:
        if (v)
            c->pending = p;
        return;
    case 0xD1:
        write_outport(c, v);
        return;
    case 0xD2:
    case 0xD3:
        load_out(c, v, p == 0xD3);
        return;
    case 0xD4:
        send_to_device(c, true, v);
        return;
    }
}

static uint8_t read_status(struct i8042 *c)
{
    refill(c);
    uint8_t s = (uint8_t)((c->status & STATUS_KEPT) | I8042_STR_UNLOCKED);
    if (c->out_full)
        s |= I8042_STR_OBF | (c->out_aux ? I8042_STR_AUXDATA : 0);
    return s;
}

static uint8_t read_data(struct i8042 *c)
{
    refill(c);
    uint8_t v = c->out;
    if (c->out_full) {
        c->out_full = false;
        if (c->clock)
            c->ready_at = vclock_now(c->clock) + I8042_BYTE_NS;
        update_irq(c); /* the line drops: the next byte makes a fresh edge */
        refill(c);
    }
    return v;
}

/* An 8-bit device: wider accesses see the byte with the bus's all-ones above it. */
static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8042 *c = opaque;
    uint8_t v = port == I8042_CMD_PORT ? read_status(c) : read_data(c);
    uint32_t high = size >= 4 ? 0xFFFFFF00u : ((1u << (8 * size)) - 1) & ~0xFFu;
    return v | high;
}

static void io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)size;
    struct i8042 *c = opaque;
    if (port == I8042_CMD_PORT)
        write_command(c, (uint8_t)value);
    else
        write_data(c, (uint8_t)value);
}

static const struct ioport_ops i8042_io_ops = {io_read, io_write};

static void i8042_reset(void *opaque)
{
    struct i8042 *c = opaque;
    memset(c->ram, 0, sizeof(c->ram));
    c->ram[0] = I8042_RESET_CTR;
    c->status = 0;
    c->outport = OUTPORT_RESET;
    c->out = 0;
    c->out_full = c->out_aux = false;
    c->pending = 0;
    c->xlate_break = false;
    c->ready_at = 0;
    if (c->clock)
        vtimer_cancel(&c->timer);
    update_irq(c);
    announce_a20(c);
    refill(c);
}

static void i8042_save(const void *opaque, struct state_writer *w)
{
    const struct i8042 *c = opaque;
    sw_bytes(w, c->ram, sizeof(c->ram));
    sw_u8(w, c->status & STATUS_KEPT);
    sw_u8(w, c->outport);
    sw_u8(w, c->out);
    sw_u8(w, (uint8_t)(c->out_full | c->out_aux << 1 | c->xlate_break << 2));
    sw_u8(w, c->pending);
    uint64_t left = 0;
    if (c->clock && c->ready_at > vclock_now(c->clock))
        left = c->ready_at - vclock_now(c->clock);
    sw_u64(w, left);
}

static bool valid_pending(uint8_t p)
{
    return p == 0 || (p >= 0x60 && p < 0x80) || p == 0xA5 || (p >= 0xD1 && p <= 0xD4);
}

static int i8042_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct i8042 *c = opaque;
    if (version != 1)
        return -1;
    uint8_t ram[32];
    sr_bytes(r, ram, sizeof(ram));
    uint8_t status = sr_u8(r), outport = sr_u8(r), out = sr_u8(r), flags = sr_u8(r);
    uint8_t pending = sr_u8(r);
    uint64_t left = sr_u64(r);
    if (r->error || (status & ~STATUS_KEPT) || flags > 7 || !valid_pending(pending) ||
        !(outport & I8042_OUT_RESET) || (outport & (I8042_OUT_OBF | I8042_OUT_AUXOBF)))
        return -1;
    memcpy(c->ram, ram, sizeof(ram));
    c->status = status;
    c->outport = outport;
    c->out = out;
    c->out_full = flags & 1;
    c->out_aux = flags & 2;
    c->xlate_break = flags & 4;
    c->pending = pending;
    update_irq(c);
    announce_a20(c);
    if (c->clock) {
        /* The devices may be restored after us: look at their queues once time moves. */
        c->ready_at = vclock_now(c->clock) + (left > I8042_BYTE_NS ? I8042_BYTE_NS : left);
        vtimer_arm(&c->timer, c->ready_at);
    } else {
        c->ready_at = 0;
        refill(c);
    }
    return 0;
}

static const struct device_ops i8042_device_ops = {
    .name = "i8042",
    .state_version = 1,
    .reset = i8042_reset,
    .save = i8042_save,
    .load = i8042_load,
};

int i8042_attach(struct i8042 *c, struct ioport_bus *bus, struct vclock *clock,
                 struct ps2_kbd *kbd, struct ps2_mouse *mouse)
{
    memset(c, 0, sizeof(*c));
    c->dev = (struct device){&i8042_device_ops, c};
    c->clock = clock;
    if (clock)
        vtimer_init(&c->timer, clock, timer_fire, c);
    c->a20_level = true; /* the reset state: nothing to announce */
    if (kbd) {
        c->kbd = &kbd->port;
        c->kbd->notify = port_notify;
        c->kbd->notify_opaque = c;
    }
    if (mouse) {
        c->aux = &mouse->port;
        c->aux->notify = port_notify;
        c->aux->notify_opaque = c;
    }
    i8042_reset(c);
    if (ioport_register(bus, I8042_DATA_PORT, 1, &i8042_io_ops, c))
        return -1;
    return ioport_register(bus, I8042_CMD_PORT, 1, &i8042_io_ops, c);
}
