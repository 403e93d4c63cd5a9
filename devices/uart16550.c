#include "devices/uart16550.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static bool fifo_on(const struct uart16550 *u) { return u->fcr & UART_FCR_ENABLE; }

/* With FIFOs off the chip is a 16450: one receive holding register. */
static unsigned rx_capacity(const struct uart16550 *u) { return fifo_on(u) ? UART_FIFO_SIZE : 1; }

static unsigned rx_trigger(const struct uart16550 *u)
{
    static const uint8_t levels[4] = {1, 4, 8, 14};
    return levels[u->fcr >> 6];
}

/* Modem-status inputs. In loopback they are the MCR outputs (RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD); otherwise the host end is a connected, ready terminal. */
static uint8_t msr_inputs(const struct uart16550 *u)
{
    if (!(u->mcr & UART_MCR_LOOP))
        return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
    uint8_t m = 0;
    if (u->mcr & UART_MCR_RTS)
        m |= UART_MSR_CTS;
    if (u->mcr & UART_MCR_DTR)
        m |= UART_MSR_DSR;
    if (u->mcr & UART_MCR_OUT1)
        m |= UART_MSR_RI;
    if (u->mcr & UART_MCR_OUT2)
        m |= UART_MSR_DCD;
    return m;
}

/* The pending interrupt of highest priority, as IIR bits 3..0 (datasheet table IV). */
static uint8_t current_iid(const struct uart16550 *u)
{
    if ((u->ier & UART_IER_RLS) && (u->lsr_err & (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)))
        return UART_IIR_RLS;
    if (u->ier & UART_IER_RDA) {
        if (u->rx_count && u->rx_count >= (fifo_on(u) ? rx_trigger(u) : 1))
            return UART_IIR_RDA;
        if (u->timeout_pending)
            return UART_IIR_TIMEOUT;
    }
    if ((u->ier & UART_IER_THRE) && u->thre_pending)
        return UART_IIR_THRE;
    if ((u->ier & UART_IER_MS) && (u->msr & 0x0F))
        return UART_IIR_MS;
    return UART_IIR_NONE;
}

static void update_irq(struct uart16550 *u)
{
    /* OUT2 is the PC board's gate between the chip's INTR pin and the ISA IRQ line. */
    bool level = current_iid(u) != UART_IIR_NONE && (u->mcr & UART_MCR_OUT2);
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

static void set_msr_inputs(struct uart16550 *u, uint8_t now)
{
    uint8_t was = u->msr & 0xF0, changed = was ^ now;
    uint8_t delta = 0;
    if (changed & UART_MSR_CTS)
        delta |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR)
        delta |= UART_MSR_DDSR;
    if ((was & UART_MSR_RI) && !(now & UART_MSR_RI)) /* trailing edge only */
        delta |= UART_MSR_TERI;
    if (changed & UART_MSR_DCD)
        delta |= UART_MSR_DDCD;
    u->msr = (uint8_t)(now | (u->msr & 0x0F) | delta);
}

bool uart_receive(struct uart16550 *u, uint8_t byte)
{
    u->rx_idle = false;
    bool ok = true;
    if (u->rx_count < rx_capacity(u)) {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
        u->rx_count++;
    } else {
        /* Overrun: a 16450 overwrites its holding register; a full FIFO keeps its contents
         * and the byte in the shift register is lost. */
        if (!fifo_on(u))
            u->rx[u->rx_head] = byte;
        u->lsr_err |= UART_LSR_OE;
        ok = false;
    }
    update_irq(u);
    return ok;
}

static void rx_clear(struct uart16550 *u)
{
    u->rx_head = u->rx_count = 0;
    u->timeout_pending = false;
}

static void transmit(struct uart16550 *u, uint8_t byte)
{
    /* Writing THR clears the THRE interrupt; the byte leaves at once, so THR is empty again
     * and the interrupt re-arms: the IRQ line sees a fresh edge per byte. */
    u->thre_pending = false;
    update_irq(u);
    if (u->mcr & UART_MCR_LOOP) {
        uart_receive(u, byte);
    } else if (u->out) {
        fputc(byte, u->out);
        if (byte == '\n')
            fflush(u->out);
        else
            u->out_unflushed = true; /* uart_poll flushes it */
    }
    u->thre_pending = true;
    update_irq(u);
}

static uint8_t read_reg(struct uart16550 *u, unsigned reg)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    uint8_t v = 0xFF;
    switch (reg) {
    case UART_RBR:
        if (dlab)
            return (uint8_t)u->divisor;
        if (u->rx_count) {
            u->rbr = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
        }
        u->timeout_pending = false;
        u->rx_idle = false;
        v = u->rbr;
        break;
    case UART_IER:
        return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
    case UART_IIR: {
        uint8_t iid = current_iid(u);
        if (iid == UART_IIR_THRE)
            u->thre_pending = false; /* reading IIR acknowledges THRE when it is named */
        v = (uint8_t)(iid | (fifo_on(u) ? UART_IIR_FIFO : 0));
        break;
    }
    case UART_LCR: return u->lcr;
    case UART_MCR: return u->mcr;
    case UART_LSR:
        /* THR and the shift register are always empty (the byte left at once). No parity,
         * framing or break errors are ever received, so bit 7 stays clear. */
        v = (uint8_t)(u->lsr_err | UART_LSR_THRE | UART_LSR_TEMT | (u->rx_count ? UART_LSR_DR : 0));
        u->lsr_err = 0;
        break;
    case UART_MSR:
        v = u->msr;
        u->msr &= 0xF0;
        break;
    case UART_SCR: return u->scr;
    }
    update_irq(u);
    return v;
}

static void write_reg(struct uart16550 *u, unsigned reg, uint8_t v)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR:
        if (dlab)
            u->divisor = (uint16_t)((u->divisor & 0xFF00) | v);
        else
            transmit(u, v);
        return;
    case UART_IER:
        if (dlab) {
            u->divisor = (uint16_t)((u->divisor & 0x00FF) | v << 8);
            return;
        }
        /* Enabling the THRE interrupt while THR is empty (it always is) raises it at once,
         * which is how drivers kick off transmission. */
        if ((v & UART_IER_THRE) && !(u->ier & UART_IER_THRE))
            u->thre_pending = true;
        if (!(v & UART_IER_THRE))
            u->thre_pending = false;
        u->ier = v & 0x0F;
        break;
    case UART_IIR: /* FCR */
        if ((v ^ u->fcr) & UART_FCR_ENABLE)
            rx_clear(u); /* switching FIFO mode empties both FIFOs */
        if (v & UART_FCR_ENABLE) {
            if (v & UART_FCR_CLEAR_RX)
                rx_clear(u);
            /* The transmit FIFO is always empty: nothing to clear. */
            u->fcr = v & 0xC9;
        } else {
            u->fcr = 0; /* the other bits are only taken with bit 0 set */
        }
        break;
    case UART_LCR: u->lcr = v; return;
    case UART_MCR:
        u->mcr = v & 0x1F;
        set_msr_inputs(u, msr_inputs(u));
        break;
    case UART_LSR: /* factory test only: ignored */
    case UART_MSR: return;
    case UART_SCR: u->scr = v; return;
    }
    update_irq(u);
}

static uint32_t uart_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct uart16550 *u = opaque;
    uint32_t v = 0;
    /* A wider access touches consecutive registers, as on the 8-bit ISA bus. */
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)read_reg(u, (port + i) & 7) << (8 * i);
    return v;
}

static void uart_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct uart16550 *u = opaque;
    for (unsigned i = 0; i < size; i++)
        write_reg(u, (port + i) & 7, (uint8_t)(value >> (8 * i)));
}

static const struct ioport_ops uart_io_ops = {uart_io_read, uart_io_write};

/* Master reset (datasheet table II); the divisor and scratch registers keep their values. */
static void uart_reset(void *opaque)
{
    struct uart16550 *u = opaque;
    u->ier = u->lcr = u->mcr = u->fcr = u->lsr_err = 0;
    u->msr = msr_inputs(u);
    rx_clear(u);
    u->thre_pending = false;
    u->rx_idle = true;
    update_irq(u);
}

static void uart_save(const void *opaque, struct state_writer *w)
{
    const struct uart16550 *u = opaque;
    sw_u16(w, u->divisor);
    sw_u8(w, u->ier);
    sw_u8(w, u->lcr);
    sw_u8(w, u->mcr);
    sw_u8(w, u->scr);
    sw_u8(w, u->fcr);
    sw_u8(w, u->lsr_err);
    sw_u8(w, u->msr);
    sw_u8(w, u->rbr);
    sw_u8(w, u->rx_count);
    for (unsigned i = 0; i < u->rx_count; i++) /* oldest first: the head is not saved */
        sw_u8(w, u->rx[(u->rx_head + i) % UART_FIFO_SIZE]);
    sw_u8(w, (uint8_t)(u->thre_pending | u->timeout_pending << 1 | u->rx_idle << 2));
}

static int uart_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct uart16550 *u = opaque;
    if (version != 1)
        return -1;
    uint16_t divisor = sr_u16(r);
    uint8_t ier = sr_u8(r), lcr = sr_u8(r), mcr = sr_u8(r), scr = sr_u8(r), fcr = sr_u8(r);
    uint8_t lsr_err = sr_u8(r), msr = sr_u8(r), rbr = sr_u8(r), count = sr_u8(r);
    /* Check everything that is later used as an index before taking any of it. */
    if (r->error || (ier & ~0x0F) || (mcr & ~0x1F) || (fcr & ~0xC9) || (lsr_err & ~0x1E) ||
        count > ((fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1))
        return -1;
    uint8_t rx[UART_FIFO_SIZE];
    sr_bytes(r, rx, count);
    uint8_t flags = sr_u8(r);
    if (r->error || (flags & ~7))
        return -1;
    u->divisor = divisor;
    u->ier = ier;
    u->lcr = lcr;
    u->mcr = mcr;
    u->scr = scr;
    u->fcr = fcr;
    u->lsr_err = lsr_err;
    u->msr = (uint8_t)(msr_inputs(u) | (msr & 0x0F)); /* the lines follow from MCR */
    u->rbr = rbr;
    memcpy(u->rx, rx, count);
    u->rx_head = 0;
    u->rx_count = count;
    u->thre_pending = flags & 1;
    u->timeout_pending = flags & 2;
    u->rx_idle = flags & 4;
    update_irq(u);
    return 0;
}

static const struct device_ops uart_device_ops = {
    .name = "uart16550",
    .state_version = 1,
    .reset = uart_reset,
    .save = uart_save,
    .load = uart_load,
};

int uart_attach(struct uart16550 *u, struct ioport_bus *bus, uint16_t base, FILE *out, int in_fd)
{
    memset(u, 0, sizeof(*u));
    u->dev = (struct device){&uart_device_ops, u};
    u->out = out;
    u->in_fd = in_fd;
    u->divisor = 12; /* 9600 baud, what a BIOS would leave */
    uart_reset(u);
    return ioport_register(bus, base, 8, &uart_io_ops, u);
}

void uart_poll(struct uart16550 *u)
{
    /* Character timeout: bytes wait in the FIFO below the trigger level and nothing was
     * received or read for a whole tick. */
    if (fifo_on(u) && u->rx_count && u->rx_idle && !u->timeout_pending) {
        u->timeout_pending = true;
        update_irq(u);
    }
    u->rx_idle = true;
    /* A shell's prompt ends without a newline: the host sees it within one poll. */
    if (u->out_unflushed) {
        fflush(u->out);
        u->out_unflushed = false;
    }

    /* In loopback the receiver is cut off from the line: host input waits. Only what fits is
     * read, so the host side never overruns the guest. */
    if (u->in_fd < 0 || u->in_eof || (u->mcr & UART_MCR_LOOP))
        return;
    unsigned room = rx_capacity(u) - u->rx_count;
    if (!room)
        return;
    struct pollfd p = {.fd = u->in_fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    uint8_t buf[UART_FIFO_SIZE];
    ssize_t n = read(u->in_fd, buf, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        u->in_eof = true; /* end of input or a broken descriptor: stop polling */
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        uart_receive(u, buf[i]);
}
