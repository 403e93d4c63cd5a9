/* Unit tests of the 16550A UART (devices/uart16550.c) through its I/O ports: reset values,
 * the divisor latch, LSR bits, loopback and modem lines, interrupt identification priorities,
 * the receive FIFO and its trigger levels and timeout, the IRQ output, host input, and the
 * versioned save/load of its state. Also the test device (exit and POST ports). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/testdev.h"
#include "devices/uart16550.h"

#define BASE 0x3F8

struct fixture {
    struct ioport_bus bus;
    struct uart16550 u;
    char *out_buf;
    size_t out_len;
    FILE *out;
    int irq_rises;
    bool irq_level;
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 4);
    if (level && !f->irq_level)
        f->irq_rises++;
    f->irq_level = level;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ioport_init(&f->bus);
    f->out = open_memstream(&f->out_buf, &f->out_len);
    if (!f->out || uart_attach(&f->u, &f->bus, BASE, f->out, -1))
        return -1;
    f->u.irq = (struct irq_line){irq_set, f, 4};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fclose(f->out);
    free(f->out_buf);
    free(f);
    return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg) { return (uint8_t)ioport_read(&f->bus, BASE + reg, 1); }
static void wr(struct fixture *f, unsigned reg, uint8_t v) { ioport_write(&f->bus, BASE + reg, v, 1); }

static const char *output(struct fixture *f)
{
    fflush(f->out);
    return f->out_buf;
}

static void reset_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, UART_IER), 0);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
    assert_int_equal(rd(f, UART_LCR), 0);
    assert_int_equal(rd(f, UART_MCR), 0);
    assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    /* A connected host terminal: CTS, DSR and DCD asserted, no changes latched. */
    assert_int_equal(rd(f, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
    /* The scratch register holds anything. */
    wr(f, UART_SCR, 0xA5);
    assert_int_equal(rd(f, UART_SCR), 0xA5);
    /* Unclaimed neighbours are not the UART's. */
    assert_int_equal(ioport_read(&f->bus, BASE + 8, 1), 0xFF);
}

static void divisor_latch(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_LCR, UART_LCR_DLAB | 0x03);
    wr(f, UART_RBR, 0x34); /* DLL */
    wr(f, UART_IER, 0x12); /* DLM */
    assert_int_equal(rd(f, UART_RBR), 0x34);
    assert_int_equal(rd(f, UART_IER), 0x12);
    assert_int_equal(f->u.divisor, 0x1234);
    assert_string_equal(output(f), ""); /* a DLL write transmits nothing */
    assert_int_equal(rd(f, UART_LCR), UART_LCR_DLAB | 0x03);

    /* DLAB clear: the same offsets are THR/RBR and IER again, the divisor is untouched. */
    wr(f, UART_LCR, 0x03);
    assert_int_equal(rd(f, UART_IER), 0);
    wr(f, UART_IER, 0xFF);
    assert_int_equal(rd(f, UART_IER), 0x0F); /* bits 4-7 are always zero */
    wr(f, UART_IER, 0);
    wr(f, UART_RBR, 'Z');
    assert_string_equal(output(f), "Z");
    assert_int_equal(f->u.divisor, 0x1234);

    /* A 16-bit access reaches DLL and DLM together, as two ISA byte cycles. */
    wr(f, UART_LCR, UART_LCR_DLAB);
    ioport_write(&f->bus, BASE, 0x0180, 2);
    assert_int_equal(ioport_read(&f->bus, BASE, 2), 0x0180);
    assert_int_equal(f->u.divisor, 0x0180);
}

static void transmit_and_lsr(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_LCR, 0x03);
    const char *msg = "hi\n";
    for (const char *p = msg; *p; p++) {
        /* What firmware does: wait for THRE, then write. It must never wait forever. */
        assert_true(rd(f, UART_LSR) & UART_LSR_THRE);
        wr(f, UART_RBR, (uint8_t)*p);
        assert_int_equal(rd(f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
                         UART_LSR_THRE | UART_LSR_TEMT);
    }
    assert_string_equal(output(f), "hi\n");
    /* Writes to LSR and MSR (factory test) change nothing. */
    wr(f, UART_LSR, 0xFF);
    wr(f, UART_MSR, 0x0F);
    assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    assert_int_equal(rd(f, UART_MSR), 0xB0);
}

static void loopback_data(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP);
    wr(f, UART_RBR, 'x');
    assert_string_equal(output(f), ""); /* looped back, not sent */
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(rd(f, UART_RBR), 'x');
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    /* An empty RBR reads the last byte again and sets nothing. */
    assert_int_equal(rd(f, UART_RBR), 'x');
    assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);

    /* 16450 mode holds one byte: a second one overruns and replaces it. */
    wr(f, UART_RBR, '1');
    wr(f, UART_RBR, '2');
    uint8_t lsr = rd(f, UART_LSR);
    assert_int_equal(lsr & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0); /* reading LSR cleared OE */
    assert_int_equal(rd(f, UART_RBR), '2');

    /* Leaving loopback sends again. */
    wr(f, UART_MCR, 0);
    wr(f, UART_RBR, 'y');
    assert_string_equal(output(f), "y");
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
}

static void loopback_modem_lines(void **state)
{
    struct fixture *f = *state;
    /* Linux's probe: LOOP|RTS|OUT2 must read back CTS|DCD in the MSR's high nibble. */
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    uint8_t msr = rd(f, UART_MSR);
    assert_int_equal(msr & 0xF0, UART_MSR_CTS | UART_MSR_DCD);
    assert_int_equal(msr & 0x0F, UART_MSR_DDSR); /* DSR dropped compared with the host lines */
    assert_int_equal(rd(f, UART_MSR), 0x90);     /* reading cleared the change bits */

    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1 | UART_MCR_DTR);
    assert_int_equal(rd(f, UART_MSR),
                     UART_MSR_RI | UART_MSR_DSR | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
    /* RI reports only its trailing edge. */
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_DSR | UART_MSR_TERI);
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_DSR | UART_MSR_RI);
    assert_int_equal(rd(f, UART_MCR), UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
    wr(f, UART_MCR, 0xFF);
    assert_int_equal(rd(f, UART_MCR), 0x1F);
}

static void iir_priorities(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    (void)rd(f, UART_MSR); /* drop the line changes entering loopback made */
    wr(f, UART_IER, UART_IER_RDA | UART_IER_THRE | UART_IER_RLS | UART_IER_MS);
    /* Enabling the THRE interrupt with THR empty raises it at once. */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_THRE);
    /* Reading IIR while it names THRE acknowledges it. */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);

    /* Two looped-back bytes without reading: data, an overrun, and THRE again. */
    wr(f, UART_RBR, 'a');
    wr(f, UART_RBR, 'b');
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS); /* a modem-status change */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_RLS);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_RLS); /* only LSR clears it */
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_RDA);
    assert_int_equal(rd(f, UART_RBR), 'b');
    assert_int_equal(rd(f, UART_IIR), UART_IIR_THRE);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_MS);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_MS); /* only MSR clears it */
    assert_int_equal(rd(f, UART_MSR) & 0x0F, UART_MSR_DCTS);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);

    /* A masked source is not reported, and writing THR acknowledges THRE too. */
    wr(f, UART_IER, UART_IER_RDA);
    wr(f, UART_RBR, 'c');
    assert_int_equal(rd(f, UART_IIR), UART_IIR_RDA);
    (void)rd(f, UART_RBR);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
    wr(f, UART_IER, UART_IER_THRE);
    wr(f, UART_IER, 0);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE); /* nothing enabled, nothing named */
}

static void fifo_mode(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP);
    wr(f, UART_IIR, UART_FCR_ENABLE); /* FCR, trigger level 1 */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);

    /* 16 bytes fit; the 17th is lost to an overrun and the FIFO keeps its contents. */
    for (int i = 0; i < 17; i++)
        wr(f, UART_RBR, (uint8_t)('A' + i));
    uint8_t lsr = rd(f, UART_LSR);
    assert_int_equal(lsr & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
    for (int i = 0; i < 16; i++) {
        assert_true(rd(f, UART_LSR) & UART_LSR_DR);
        assert_int_equal(rd(f, UART_RBR), 'A' + i);
    }
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);

    /* Bit 1 clears the receive FIFO; bits 6-7 (trigger) are kept, 4-5 read as zero in IIR. */
    wr(f, UART_RBR, '1');
    wr(f, UART_IIR, 0xC0 | 0x20 | UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);

    /* Turning the FIFOs off empties them and IIR loses its FIFO bits. */
    wr(f, UART_RBR, '2');
    wr(f, UART_IIR, 0);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
    /* Without bit 0 the other bits are not taken. */
    wr(f, UART_IIR, 0xC0);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
}

static void fifo_trigger_and_timeout(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP);
    wr(f, UART_IIR, 0x80 | UART_FCR_ENABLE); /* trigger at 8 bytes */
    wr(f, UART_IER, UART_IER_RDA);
    for (int i = 0; i < 3; i++)
        wr(f, UART_RBR, (uint8_t)i);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE); /* below the trigger */
    uart_poll(&f->u); /* bytes arrived during this tick: no timeout yet */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);
    uart_poll(&f->u); /* a whole quiet tick */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT);
    assert_int_equal(rd(f, UART_RBR), 0); /* reading RBR clears the timeout */
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE);

    for (int i = 0; i < 6; i++)
        wr(f, UART_RBR, (uint8_t)(10 + i));
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_RDA); /* 8 reached */
    (void)rd(f, UART_RBR);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO | UART_IIR_NONE); /* 7: below again */
}

static void irq_line_gated_by_out2(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IER, UART_IER_THRE);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_THRE); /* pending in the chip... */
    wr(f, UART_IER, 0);
    wr(f, UART_IER, UART_IER_THRE);
    assert_false(f->irq_level); /* ...but OUT2 is off: the ISA line stays low */
    wr(f, UART_MCR, UART_MCR_OUT2);
    assert_true(f->irq_level);
    assert_int_equal(f->irq_rises, 1);
    /* Each transmitted byte acknowledges THRE and raises it again: a fresh edge. */
    wr(f, UART_RBR, 'q');
    wr(f, UART_RBR, 'r');
    assert_int_equal(f->irq_rises, 3);
    assert_true(f->irq_level);
    assert_int_equal(rd(f, UART_IIR), UART_IIR_THRE);
    assert_false(f->irq_level);
    /* A device reset drops the line. */
    wr(f, UART_IER, 0);
    wr(f, UART_IER, UART_IER_THRE);
    assert_true(f->irq_level);
    device_reset(&f->u.dev);
    assert_false(f->irq_level);
    assert_int_equal(rd(f, UART_IER), 0);
}

/* Output without a newline (a shell prompt) reaches a buffered host stream by the next poll,
 * not only with the next newline: found booting Linux, whose prompt never showed. */
static void output_flushed_by_poll(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0); /* a failure must not hang */
    FILE *out = fdopen(p[1], "w"); /* a pipe: fully buffered */
    assert_non_null(out);
    struct ioport_bus bus;
    static struct uart16550 u;
    ioport_init(&bus);
    assert_int_equal(uart_attach(&u, &bus, BASE, out, -1), 0);
    ioport_write(&bus, BASE, '#', 1);
    ioport_write(&bus, BASE, ' ', 1);
    uart_poll(&u);
    char buf[8] = {0};
    assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
    assert_string_equal(buf, "# ");
    fclose(out);
    close(p[0]);
}

static void host_input(void **state)
{
    struct fixture *f = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    f->u.in_fd = p[0];
    wr(f, UART_IIR, UART_FCR_ENABLE);
    const char *msg = "0123456789abcdefXYZ"; /* 19 bytes: more than the FIFO holds */
    assert_int_equal(write(p[1], msg, strlen(msg)), (ssize_t)strlen(msg));
    uart_poll(&f->u);
    assert_int_equal(f->u.rx_count, 16); /* only what fits was read: no overrun */
    assert_int_equal(rd(f, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR);
    char got[20] = {0};
    for (int i = 0; i < 16; i++)
        got[i] = (char)rd(f, UART_RBR);
    assert_string_equal(got, "0123456789abcdef");
    /* In loopback the line is cut off: host bytes wait. */
    wr(f, UART_MCR, UART_MCR_LOOP);
    uart_poll(&f->u);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    wr(f, UART_MCR, 0);
    (void)rd(f, UART_MSR);
    uart_poll(&f->u);
    assert_int_equal(rd(f, UART_RBR), 'X');
    assert_int_equal(rd(f, UART_RBR), 'Y');
    assert_int_equal(rd(f, UART_RBR), 'Z');
    /* End of input stops the polling. */
    close(p[1]);
    uart_poll(&f->u);
    assert_true(f->u.in_eof);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    close(p[0]);
}

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_LCR, UART_LCR_DLAB);
    wr(f, UART_RBR, 0x01);
    wr(f, UART_IER, 0x00);
    wr(f, UART_LCR, 0x1B);
    wr(f, UART_IIR, 0x40 | UART_FCR_ENABLE);
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
    wr(f, UART_SCR, 0x77);
    wr(f, UART_IER, UART_IER_RDA | UART_IER_RLS);
    wr(f, UART_RBR, 'p'); /* the head moves: save must keep the order */
    (void)rd(f, UART_RBR);
    wr(f, UART_RBR, 'q');
    wr(f, UART_RBR, 'r');

    size_t need = device_save(&f->u.dev, NULL, 0);
    assert_true(need > 6);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->u.dev, buf, need), need);

    struct ioport_bus bus2;
    ioport_init(&bus2);
    struct uart16550 u2;
    assert_int_equal(uart_attach(&u2, &bus2, BASE, NULL, -1), 0);
    assert_int_equal(device_load(&u2.dev, buf, need), 0);
    for (unsigned reg = UART_IER; reg <= UART_SCR; reg++)
        if (reg != UART_IIR && reg != UART_LSR && reg != UART_MSR)
            assert_int_equal(ioport_read(&bus2, BASE + reg, 1), rd(f, reg));
    assert_int_equal(u2.divisor, 1);
    assert_int_equal(ioport_read(&bus2, BASE + UART_IIR, 1), UART_IIR_FIFO | UART_IIR_NONE);
    assert_int_equal(ioport_read(&bus2, BASE + UART_RBR, 1), 'q');
    assert_int_equal(ioport_read(&bus2, BASE + UART_RBR, 1), 'r');

    /* Malformed records are refused and leave the device reset. */
    assert_int_equal(device_load(&u2.dev, buf, need - 1), -1); /* truncated */
    assert_int_equal(ioport_read(&bus2, BASE + UART_LCR, 1), 0);
    uint8_t *bad = malloc(need + 1);
    memcpy(bad, buf, need);
    bad[need] = 0;
    assert_int_equal(device_load(&u2.dev, bad, need + 1), -1); /* length field disagrees */
    memcpy(bad, buf, need);
    bad[0] = 2; /* a version from the future */
    assert_int_equal(device_load(&u2.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 10] = 17; /* FIFO count beyond 16: must not index past the FIFO */
    assert_int_equal(device_load(&u2.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 2] = 0xF0; /* IER bits that do not exist */
    assert_int_equal(device_load(&u2.dev, bad, need), -1);
    assert_int_equal(device_load(&u2.dev, buf, 3), -1);
    /* A short buffer only sizes the record. */
    uint8_t small[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    assert_int_equal(device_save(&f->u.dev, small, sizeof(small)), need);
    free(bad);
    free(buf);
}

/* ---- test device ---- */

struct exit_record {
    int calls;
    int status;
};

static void on_exit_cb(void *opaque, int status)
{
    struct exit_record *r = opaque;
    r->calls++;
    r->status = status;
}

static void testdev_ports(void **state)
{
    (void)state;
    struct ioport_bus bus;
    ioport_init(&bus);
    struct testdev t;
    struct exit_record rec = {0, -1};
    char *log = NULL;
    size_t loglen = 0;
    FILE *lf = open_memstream(&log, &loglen);
    assert_int_equal(testdev_attach(&t, &bus, on_exit_cb, &rec, lf), 0);

    assert_false(t.post_written);
    ioport_write(&bus, 0x80, 0x42, 1);
    ioport_write(&bus, 0x80, 0x1234, 2);
    assert_int_equal(ioport_read(&bus, 0x80, 1), 0x34);
    assert_int_equal(ioport_read(&bus, 0x80, 2), 0xFF34);
    fflush(lf);
    assert_string_equal(log, "bt86: POST 0x42\nbt86: POST 0x34\n");

    ioport_write(&bus, 0xF4, 0x2A, 1);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.status, 85); /* (0x2A << 1) | 1 */
    ioport_write(&bus, 0xF4, 0, 1);
    assert_int_equal(rec.status, 1);
    ioport_write(&bus, 0xF4, 0x1234, 2); /* the host sees the low 8 bits of 0x2469 */
    assert_int_equal(rec.status, 0x69);
    ioport_write(&bus, 0xF7, 0x80, 1); /* the whole 4-port window, as iosize=4 */
    assert_int_equal(rec.status, 1);
    assert_int_equal(rec.calls, 4);

    /* The POST latch survives a reset and round-trips through save/load. */
    device_reset(&t.dev);
    assert_int_equal(ioport_read(&bus, 0x80, 1), 0x34);
    uint8_t buf[16];
    size_t n = device_save(&t.dev, buf, sizeof(buf));
    assert_int_equal(n, 8);
    t.post = 0;
    assert_int_equal(device_load(&t.dev, buf, n), 0);
    assert_int_equal(t.post, 0x34);
    assert_true(t.post_written);
    buf[7] = 5; /* post_written must be 0 or 1 */
    assert_int_equal(device_load(&t.dev, buf, n), -1);
    fclose(lf);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reset_values, setup, teardown),
        cmocka_unit_test_setup_teardown(divisor_latch, setup, teardown),
        cmocka_unit_test_setup_teardown(transmit_and_lsr, setup, teardown),
        cmocka_unit_test_setup_teardown(loopback_data, setup, teardown),
        cmocka_unit_test_setup_teardown(loopback_modem_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(iir_priorities, setup, teardown),
        cmocka_unit_test_setup_teardown(fifo_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(fifo_trigger_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(irq_line_gated_by_out2, setup, teardown),
        cmocka_unit_test_setup_teardown(host_input, setup, teardown),
        cmocka_unit_test(output_flushed_by_poll),
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
        cmocka_unit_test(testdev_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
