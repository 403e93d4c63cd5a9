/* A National Semiconductor PC16550D-compatible UART (what PCs call a 16550A): eight registers
 * at a base port (0x3F8 for COM1), divisor latch behind LCR.DLAB, 16-byte receive FIFO,
 * loopback, modem-status lines, and the interrupt identification of the datasheet.
 *
 * Timing is not modelled: a byte written to THR leaves at once, so THRE and TEMT read as set
 * whenever the guest looks, and the divisor only records the speed the guest asked for. The
 * FIFO character timeout is measured in machine poll ticks (uart_poll), not character times. */
#ifndef BT86_UART16550_H
#define BT86_UART16550_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/device.h"
#include "devices/ioport.h"

#define UART_FIFO_SIZE 16

/* Register offsets from the base port */
enum {
    UART_RBR = 0, /* read, DLAB=0; THR on write; DLL with DLAB=1 */
    UART_IER = 1, /* DLM with DLAB=1 */
    UART_IIR = 2, /* read; FCR on write */
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};

#define UART_IER_RDA 0x01 /* received data available (and FIFO timeout) */
#define UART_IER_THRE 0x02
#define UART_IER_RLS 0x04 /* receiver line status */
#define UART_IER_MS 0x08  /* modem status */

#define UART_IIR_NONE 0x01
#define UART_IIR_RLS 0x06
#define UART_IIR_RDA 0x04
#define UART_IIR_TIMEOUT 0x0C
#define UART_IIR_THRE 0x02
#define UART_IIR_MS 0x00
#define UART_IIR_FIFO 0xC0

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on a PC, gates the interrupt onto the ISA IRQ line */
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_FIFO_ERR 0x80

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

struct uart16550 {
    struct device dev;
    struct irq_line irq; /* the machine wires it; unwired is allowed (no PIC yet) */

    /* host side (configuration, not guest state) */
    FILE *out;  /* transmitted bytes (NULL: discarded) */
    int in_fd;  /* received bytes are read from here (-1: no input) */
    bool in_eof;
    bool out_unflushed; /* bytes since the last flush of `out` (a prompt has no newline) */

    /* guest-visible state */
    uint16_t divisor;
    uint8_t ier, lcr, mcr, scr;
    uint8_t fcr;      /* FIFO enable, DMA mode and trigger bits as last written */
    uint8_t lsr_err;  /* OE/PE/FE/BI latched until LSR is read */
    uint8_t msr;      /* input lines (high nibble) and their change bits (low nibble) */
    uint8_t rbr;      /* last byte handed to the guest: what an empty RBR reads as */
    uint8_t rx[UART_FIFO_SIZE];
    uint8_t rx_head, rx_count;
    bool thre_pending;    /* THR-empty interrupt latched until IIR names it or THR is written */
    bool timeout_pending; /* FIFO character timeout, until RBR is read */
    bool rx_idle;         /* nothing received or read since the last tick */
    bool irq_level;       /* level last driven on `irq` */
};

/* Registers ports base..base+7. */
int uart_attach(struct uart16550 *u, struct ioport_bus *bus, uint16_t base, FILE *out, int in_fd);

/* The machine calls this now and then: one timeout tick, output written since the last call
 * flushed to the host, then any host input that fits. */
void uart_poll(struct uart16550 *u);

/* A byte arriving on the serial line. Returns false if it was lost to an overrun. Host input
 * is read only as far as the FIFO has room, so only loopback can overrun. */
bool uart_receive(struct uart16550 *u, uint8_t byte);

#endif
