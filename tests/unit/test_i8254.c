/* Unit tests of the 8254 PIT (devices/i8254.c) and port 0x61 over virtual time. Expected
 * values are worked out pulse by pulse from the Intel 8254 datasheet: a count written during
 * pulse P is loaded by pulse P+1 (which does not decrement it), then each pulse decrements.
 * The tests move the clock to the first nanosecond of a pulse with at(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/i8254.h"
#include "devices/ioport.h"

#define MAX_EDGES 4096

struct fixture {
    struct vclock clock;
    struct ioport_bus bus;
    struct i8254 pit;
    bool irq;
    unsigned calls;   /* every level driven on irq0 */
    unsigned rises;
    uint64_t rise_at[MAX_EDGES]; /* virtual time of each rising edge */
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 0);
    f->calls++;
    if (level && !f->irq) {
        if (f->rises < MAX_EDGES)
            f->rise_at[f->rises] = vclock_now(&f->clock);
        f->rises++;
    }
    f->irq = level;
}

static int fixture_init(struct fixture *f)
{
    vclock_init(&f->clock);
    ioport_init(&f->bus);
    if (i8254_attach(&f->pit, &f->bus, &f->clock) || i8254_attach_port61(&f->pit, &f->bus))
        return -1;
    f->pit.irq0 = (struct irq_line){irq_set, f, 0};
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || fixture_init(f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void at(struct fixture *f, uint64_t tick) { vclock_advance(&f->clock, i8254_tick_time(tick)); }
static void out8(struct fixture *f, uint16_t port, uint8_t v) { ioport_write(&f->bus, port, v, 1); }
static uint8_t in8(struct fixture *f, uint16_t port) { return (uint8_t)ioport_read(&f->bus, port, 1); }

/* Counter n, LSB then MSB. */
static void set_count(struct fixture *f, unsigned n, uint16_t v)
{
    out8(f, (uint16_t)(0x40 + n), (uint8_t)v);
    out8(f, (uint16_t)(0x40 + n), (uint8_t)(v >> 8));
}

/* Latch and read a two-byte count. */
static uint16_t latched(struct fixture *f, unsigned n)
{
    out8(f, 0x43, (uint8_t)(n << 6));
    uint8_t lo = in8(f, (uint16_t)(0x40 + n));
    return (uint16_t)(lo | in8(f, (uint16_t)(0x40 + n)) << 8);
}

static uint8_t status(struct fixture *f, unsigned n)
{
    out8(f, 0x43, (uint8_t)(0xE0 | 2u << n));
    return in8(f, (uint16_t)(0x40 + n));
}

static bool out2(struct fixture *f) { return in8(f, 0x61) & I8254_P61_OUT2; }

static void time_conversion(void **state)
{
    (void)state;
    assert_int_equal(i8254_ticks(0), 0);
    assert_int_equal(i8254_ticks(NS_PER_SEC), I8254_HZ);
    assert_int_equal(i8254_ticks(838), 0); /* a pulse lasts 838.1 ns */
    assert_int_equal(i8254_ticks(839), 1);
    assert_int_equal(i8254_tick_time(1), 839);
    assert_int_equal(i8254_tick_time(I8254_HZ), NS_PER_SEC);
    /* Each pulse's time is the first nanosecond that counts it, also after hours. */
    const uint64_t ks[] = {1, 2, 1193, 1193181, 1193183, 4000000000ull, 123456789012345ull};
    for (unsigned i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        assert_int_equal(i8254_ticks(i8254_tick_time(ks[i])), ks[i]);
        assert_int_equal(i8254_ticks(i8254_tick_time(ks[i]) - 1), ks[i] - 1);
    }
}

static void mode0_terminal_count(void **state)
{
    struct fixture *f = *state;
    at(f, 100);
    out8(f, 0x43, 0x30); /* counter 0, LSB/MSB, mode 0, binary */
    assert_int_equal(status(f, 0), 0x70); /* OUT low, null count, 0x30 */
    set_count(f, 0, 16);
    assert_int_equal(status(f, 0) & 0xC0, 0x40); /* not loaded during this pulse */
    at(f, 101);
    assert_int_equal(status(f, 0), 0x30); /* loaded: null count clear, OUT still low */
    assert_int_equal(latched(f, 0), 16);  /* the loading pulse does not decrement */
    at(f, 110);
    out8(f, 0x43, 0x00); /* latch: 16 - 9 */
    out8(f, 0x43, 0x00); /* a second latch before reading is ignored */
    at(f, 112);
    assert_int_equal(in8(f, 0x40), 7);
    assert_int_equal(in8(f, 0x40), 0);
    assert_int_equal(latched(f, 0), 5); /* the latch was released: live again */
    at(f, 116);
    assert_int_equal(latched(f, 0), 1);
    assert_false(f->irq);
    at(f, 117); /* N + 1 = 17 pulses after the write */
    assert_true(f->irq);
    assert_int_equal(f->rises, 1);
    assert_int_equal(f->rise_at[0], i8254_tick_time(117));
    assert_int_equal(latched(f, 0), 0);
    at(f, 118);
    assert_int_equal(latched(f, 0), 0xFFFF); /* wraps and goes on counting, OUT stays high */
    at(f, 70000);
    assert_true(f->irq);
    assert_int_equal(f->rises, 1);
    assert_int_equal(vclock_next_deadline(&f->clock), UINT64_MAX); /* nothing left to time */

    /* A new count drives OUT low at once. Its first byte stops the counting (mode 0). */
    set_count(f, 0, 1000);
    assert_false(f->irq);
    at(f, 70010);
    assert_int_equal(latched(f, 0), 991);
    out8(f, 0x40, 50);          /* LSB */
    at(f, 70020);
    assert_int_equal(latched(f, 0), 991); /* no decrement after the pulse it was written in */
    out8(f, 0x40, 0);           /* MSB: 50 loaded by the next pulse */
    at(f, 70021);
    assert_int_equal(latched(f, 0), 50);
    at(f, 70070);
    assert_false(f->irq);
    at(f, 70071);
    assert_true(f->irq);

    /* GATE low holds the count (counter 2, gated by port 0x61 bit 0); the count written
     * while it was low is still loaded, and OUT rises N pulses after the gate does. */
    at(f, 80000);
    out8(f, 0x43, 0xB0);
    set_count(f, 2, 5);
    at(f, 80050);
    assert_int_equal(latched(f, 2), 5);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 80054);
    assert_int_equal(latched(f, 2), 1);
    assert_false(out2(f));
    out8(f, 0x61, 0); /* stop with 1 left */
    at(f, 80100);
    assert_int_equal(latched(f, 2), 1);
    assert_false(out2(f));
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 80101);
    assert_true(out2(f));
}

static void mode1_one_shot(void **state)
{
    struct fixture *f = *state;
    at(f, 10);
    out8(f, 0x43, 0xB2); /* counter 2, mode 1 */
    assert_true(out2(f)); /* OUT high after the control word */
    set_count(f, 2, 3);
    at(f, 30);
    assert_true(out2(f)); /* a count alone starts nothing */
    out8(f, 0x61, I8254_P61_GATE2); /* trigger during pulse 30 */
    assert_true(out2(f));
    at(f, 31);
    assert_false(out2(f)); /* low from the pulse after the trigger */
    assert_int_equal(latched(f, 2), 3);
    at(f, 33);
    assert_false(out2(f));
    assert_int_equal(latched(f, 2), 1);
    at(f, 34);
    assert_true(out2(f));
    /* Retriggered during the shot: the full count again from the next pulse. */
    at(f, 40);
    out8(f, 0x61, 0);
    out8(f, 0x61, I8254_P61_GATE2);
    set_count(f, 2, 10); /* a new count waits for the next trigger */
    at(f, 41);
    assert_false(out2(f));
    assert_int_equal(latched(f, 2), 3);
    at(f, 42);
    out8(f, 0x61, 0);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 43);
    assert_int_equal(latched(f, 2), 10);
    at(f, 52);
    assert_false(out2(f));
    at(f, 53);
    assert_true(out2(f));
    /* Gate level means nothing in mode 1: it keeps counting with the gate low. */
    out8(f, 0x61, 0);
    at(f, 60);
    assert_int_equal(latched(f, 2), (uint16_t)(0 - 7));
}

static void mode2_rate_generator(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x43, 0x34);
    set_count(f, 0, 4); /* loaded at pulse 1 */
    assert_true(f->irq); /* the control word set OUT high */
    const uint16_t ce[] = {4, 3, 2, 1, 4, 3, 2, 1, 4};
    for (unsigned i = 0; i < 9; i++) {
        at(f, 1 + i);
        assert_int_equal(latched(f, 0), ce[i]);
        assert_int_equal(f->irq, ce[i] != 1); /* low for the one pulse at 1 */
    }
    assert_int_equal(f->rises, 3);
    assert_int_equal(f->rise_at[1], i8254_tick_time(5));
    assert_int_equal(f->rise_at[2], i8254_tick_time(9));

    /* A new count does not disturb the cycle in progress; it is taken at its end. */
    at(f, 10); /* CE 3 */
    set_count(f, 0, 10);
    assert_int_equal(status(f, 0) & 0x40, 0x40); /* null count until then */
    at(f, 11);
    assert_int_equal(latched(f, 0), 2);
    at(f, 12);
    assert_int_equal(latched(f, 0), 1);
    assert_false(f->irq);
    at(f, 13);
    assert_int_equal(latched(f, 0), 10);
    assert_int_equal(status(f, 0), 0xB4); /* OUT high, count loaded, mode 2 LSB/MSB */
    assert_true(f->irq);
    at(f, 21);
    assert_int_equal(latched(f, 0), 2);
    at(f, 22);
    assert_false(f->irq);
    at(f, 23);
    assert_true(f->irq);

    /* Gate (counter 2): low stops the count and forces OUT high; rising reloads. */
    out8(f, 0x43, 0x94); /* counter 2, LSB only, mode 2 */
    out8(f, 0x42, 3);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 25); /* loaded at 24: CE 3, 2 */
    assert_int_equal(in8(f, 0x42), 2);
    at(f, 26);
    assert_false(out2(f)); /* CE 1 */
    out8(f, 0x61, 0);
    assert_true(out2(f)); /* at once, no clock needed */
    at(f, 40);
    assert_true(out2(f));
    assert_int_equal(in8(f, 0x42), 1);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 41);
    assert_int_equal(in8(f, 0x42), 3);
    at(f, 43);
    assert_false(out2(f));
    at(f, 44);
    assert_true(out2(f));
    assert_int_equal(in8(f, 0x42), 3);
}

static void mode3_square_wave(void **state)
{
    struct fixture *f = *state;
    /* Even count 6: CE 6,4,2 with OUT high, then 6,4,2 with OUT low. */
    out8(f, 0x43, 0x36);
    set_count(f, 0, 6);
    const uint16_t even[] = {6, 4, 2, 6, 4, 2, 6};
    const bool even_out[] = {1, 1, 1, 0, 0, 0, 1};
    for (unsigned i = 0; i < 7; i++) {
        at(f, 1 + i);
        assert_int_equal(latched(f, 0), even[i]);
        assert_int_equal(f->irq, even_out[i]);
    }
    /* Odd count 5: high (5+1)/2 = 3 pulses from N-1 = 4 (4,2,0), low 2 pulses (4,2). The new
     * count comes in at the end of the current half cycle (at 10, its low half first). */
    set_count(f, 0, 5); /* during pulse 7: CE 6, high */
    at(f, 9);
    assert_int_equal(latched(f, 0), 2);
    assert_true(f->irq);
    const uint16_t odd[] = {4, 2, 4, 2, 0, 4, 2, 4};
    const bool odd_out[] = {0, 0, 1, 1, 1, 0, 0, 1};
    for (unsigned i = 0; i < 8; i++) {
        at(f, 10 + i);
        assert_int_equal(latched(f, 0), odd[i]);
        assert_int_equal(f->irq, odd_out[i]);
    }
    /* Rises at 7, then 12, 17: period 5. */
    assert_int_equal(f->rise_at[f->rises - 2], i8254_tick_time(12));
    assert_int_equal(f->rise_at[f->rises - 1], i8254_tick_time(17));

    /* Counter 2 drives port 0x61 bit 5: gate it and watch a period of 4. */
    out8(f, 0x43, 0xB6);
    set_count(f, 2, 4);
    out8(f, 0x61, I8254_P61_GATE2 | I8254_P61_SPEAKER);
    const bool sq[] = {1, 1, 0, 0, 1, 1, 0, 0};
    for (unsigned i = 0; i < 8; i++) {
        at(f, 18 + i);
        assert_int_equal(out2(f), sq[i]);
        assert_int_equal(i8254_speaker(&f->pit), sq[i]);
    }
    out8(f, 0x61, I8254_P61_GATE2);
    assert_false(i8254_speaker(&f->pit));
    /* Gate low while OUT is low sets it high at once. */
    at(f, 28);
    assert_false(out2(f));
    out8(f, 0x61, 0);
    assert_true(out2(f));
}

static void mode4_and_5_strobes(void **state)
{
    struct fixture *f = *state;
    at(f, 10);
    out8(f, 0x43, 0x38);
    assert_true(f->irq);
    set_count(f, 0, 3);
    at(f, 13);
    assert_true(f->irq);
    at(f, 14); /* N + 1 pulses after the write: low for one pulse */
    assert_false(f->irq);
    assert_int_equal(latched(f, 0), 0);
    at(f, 15);
    assert_true(f->irq);
    assert_int_equal(latched(f, 0), 0xFFFF);
    at(f, 100000);
    assert_true(f->irq); /* one strobe per count written */
    assert_int_equal(f->rises, 2);
    assert_int_equal(f->rise_at[1], i8254_tick_time(15));

    /* Mode 5 on counter 2: the strobe comes N pulses after the pulse following a trigger. */
    out8(f, 0x43, 0xBA);
    set_count(f, 2, 2);
    at(f, 100050);
    assert_true(out2(f));
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 100052);
    assert_true(out2(f));
    assert_int_equal(latched(f, 2), 1);
    at(f, 100053);
    assert_false(out2(f));
    at(f, 100054);
    assert_true(out2(f));
    /* Mode 4 with the gate low: counting waits, OUT is untouched. */
    out8(f, 0x61, 0);
    out8(f, 0x43, 0xB8);
    set_count(f, 2, 2);
    at(f, 100100);
    assert_int_equal(latched(f, 2), 2);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 100101);
    assert_true(out2(f));
    at(f, 100102);
    assert_false(out2(f));
    at(f, 100103);
    assert_true(out2(f));
    /* The gate dropping during the strobe stops the count but not the strobe's end. */
    set_count(f, 2, 2);
    at(f, 100106);
    assert_false(out2(f));
    out8(f, 0x61, 0);
    assert_false(out2(f));
    at(f, 100107);
    assert_true(out2(f));
    assert_int_equal(latched(f, 2), 0);
}

static void bcd_counting(void **state)
{
    struct fixture *f = *state;
    /* Counter 1, mode 2, BCD 12: 12, 11, 10, 09, ..., 01, 12. */
    out8(f, 0x43, 0x75);
    set_count(f, 1, 0x0012);
    at(f, 1);
    assert_int_equal(latched(f, 1), 0x12);
    at(f, 4);
    assert_int_equal(latched(f, 1), 0x09);
    at(f, 12);
    assert_int_equal(latched(f, 1), 0x01);
    assert_false(i8254_get_out(&f->pit, 1));
    at(f, 13);
    assert_int_equal(latched(f, 1), 0x12);

    /* Mode 0 BCD, count 0 = 10000: 0000, 9999, 9998, ... OUT high after 10000 pulses. */
    out8(f, 0x43, 0x71);
    set_count(f, 1, 0);
    at(f, 14);
    assert_int_equal(latched(f, 1), 0x0000);
    at(f, 15);
    assert_int_equal(latched(f, 1), 0x9999);
    at(f, 14 + 1234);
    assert_int_equal(latched(f, 1), 0x8766);
    at(f, 14 + 9999);
    assert_false(i8254_get_out(&f->pit, 1));
    at(f, 14 + 10000);
    assert_true(i8254_get_out(&f->pit, 1));
    assert_int_equal(latched(f, 1), 0x0000);

    /* Non-decimal digits: FA counts FA, F9, ..., F0, E9 and reaches 0 after 15*10+10. */
    at(f, 20000);
    out8(f, 0x43, 0x71);
    set_count(f, 1, 0x00FA);
    at(f, 20001);
    assert_int_equal(latched(f, 1), 0x00FA);
    at(f, 20002);
    assert_int_equal(latched(f, 1), 0x00F9);
    at(f, 20012);
    assert_int_equal(latched(f, 1), 0x00E9);
    at(f, 20160);
    assert_false(i8254_get_out(&f->pit, 1));
    at(f, 20161);
    assert_true(i8254_get_out(&f->pit, 1));
    assert_int_equal(latched(f, 1), 0);

    /* Mode 3 BCD 7 (odd): CE 06, 04, 02, 00 high, then 06, 04, 02 low. */
    out8(f, 0x43, 0x77);
    set_count(f, 1, 0x0007);
    const uint16_t sq[] = {6, 4, 2, 0, 6, 4, 2, 6};
    for (unsigned i = 0; i < 8; i++) {
        at(f, 20162 + i);
        assert_int_equal(latched(f, 1), sq[i]);
        assert_int_equal(i8254_get_out(&f->pit, 1), i < 4 || i == 7);
    }
}

static void access_modes(void **state)
{
    struct fixture *f = *state;
    /* LSB only: MSB zero. MSB only: LSB zero. */
    out8(f, 0x43, 0x50); /* counter 1, LSB, mode 0 */
    out8(f, 0x41, 0x80);
    at(f, 1);
    assert_int_equal(in8(f, 0x41), 0x80);
    assert_int_equal(in8(f, 0x41), 0x80); /* every read is the LSB */
    out8(f, 0x43, 0x60); /* MSB, mode 0 */
    out8(f, 0x41, 0x02);
    at(f, 2);
    assert_int_equal(in8(f, 0x41), 0x02);
    at(f, 3);
    out8(f, 0x43, 0x40); /* latch: 0x0200 - 1 = 0x01FF, read as MSB */
    assert_int_equal(in8(f, 0x41), 0x01);

    /* LSB/MSB with separate read and write flip-flops: the datasheet's interleaving. */
    out8(f, 0x43, 0x70);
    set_count(f, 1, 0x1234);
    at(f, 4);
    out8(f, 0x43, 0x40);
    assert_int_equal(in8(f, 0x41), 0x34); /* read LSB */
    out8(f, 0x41, 0x00);                  /* write new LSB: mode 0 stops counting */
    assert_int_equal(in8(f, 0x41), 0x12); /* read MSB */
    out8(f, 0x41, 0x10);                  /* write new MSB: 0x1000 */
    at(f, 5);
    assert_int_equal(latched(f, 1), 0x1000);

    /* Reprogramming drops a latch that was not read. */
    out8(f, 0x43, 0x40);
    out8(f, 0x43, 0x74);
    set_count(f, 1, 0x0100);
    at(f, 6);
    assert_int_equal(latched(f, 1), 0x0100);
    /* The control port reads as nothing. */
    assert_int_equal(in8(f, 0x43), 0xFF);
}

static void read_back(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x43, 0x34);
    set_count(f, 0, 0x1000);
    out8(f, 0x43, 0x76);
    set_count(f, 1, 0x0040); /* square wave of 64: OUT low for q 32-63 */
    out8(f, 0x43, 0xB0);
    set_count(f, 2, 0x3000);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 101); /* loaded at 1: each counted 100 */

    /* The datasheet's example sequence, with the counters moving between commands. */
    out8(f, 0x43, 0xC2); /* count and status of counter 0 */
    at(f, 111);
    out8(f, 0x43, 0xE4); /* status of counter 1: q = 110 % 64 = 46, OUT low */
    at(f, 121);
    out8(f, 0x43, 0xEC); /* status of 2 and 1: only counter 2's is taken */
    at(f, 131);
    out8(f, 0x43, 0xD8); /* count of counter 2 */
    at(f, 141);
    out8(f, 0x43, 0xC4); /* count and status of 1: the count only (q = 12, OUT high) */
    at(f, 151);
    out8(f, 0x43, 0xE2); /* status of counter 0: ignored, still latched */
    at(f, 161);
    out8(f, 0x43, 0xC2); /* and its count too: the reads below show pulse 101 */

    assert_int_equal(in8(f, 0x40), 0xB4); /* status first: OUT high, loaded, 0x34 */
    assert_int_equal(in8(f, 0x40), (0x1000 - 100) & 0xFF);
    assert_int_equal(in8(f, 0x40), (0x1000 - 100) >> 8);
    assert_int_equal(latched(f, 0), 0x1000 - 160); /* released */

    assert_int_equal(in8(f, 0x41), 0x36); /* the status of pulse 111, not 141 */
    assert_int_equal(in8(f, 0x41), 64 - 2 * 12); /* mode 3 steps by two */
    assert_int_equal(in8(f, 0x41), 0);

    assert_int_equal(in8(f, 0x42), 0x30); /* mode 0, OUT low, loaded */
    assert_int_equal(in8(f, 0x42), (0x3000 - 130) & 0xFF);
    assert_int_equal(in8(f, 0x42), (0x3000 - 130) >> 8);

    /* Status only: the next reads are the live count. Null count right after a write. */
    out8(f, 0x43, 0xE8);
    assert_int_equal(in8(f, 0x42), 0x30);
    set_count(f, 2, 7);
    assert_int_equal(status(f, 2), 0x70); /* OUT low (a new count), null count */
    at(f, 162);
    assert_int_equal(status(f, 2), 0x30);
    assert_int_equal(latched(f, 2), 7);
    /* Read-back of nothing selected, or count and status both off, latches nothing. */
    out8(f, 0x43, 0xF0 | 0x0E);
    out8(f, 0x43, 0xC0);
    at(f, 163);
    assert_int_equal(in8(f, 0x42), 6);
}

static void irq0_periodic_rate(void **state)
{
    struct fixture *f = *state;
    /* Divisor 1193 in mode 2 is the classic 1 kHz tick: 1193182 / 1193 = 1000.15 Hz. Loaded
     * at pulse 1, OUT rises at 1 + 1193k, so 1000 rising edges within the first second. */
    out8(f, 0x43, 0x34);
    set_count(f, 0, 1193);
    assert_int_equal(f->rises, 1); /* the control word raised OUT from its reset level */
    unsigned calls = f->calls;
    vclock_advance(&f->clock, NS_PER_SEC);
    assert_int_equal(f->rises - 1, 1000);
    assert_int_equal(f->rise_at[1], i8254_tick_time(1 + 1193));
    assert_int_equal(f->rise_at[1000], i8254_tick_time(1 + 1193 * 1000));
    /* Timers for the edges only: one fall and one rise per period, no ticking. */
    assert_int_equal(f->calls - calls, 2000);
    /* The next deadline is the next edge: the fall at CE = 1. */
    assert_int_equal(vclock_next_deadline(&f->clock), i8254_tick_time(1 + 1193 * 1001 - 1));

    /* Square wave at the same divisor: the same rate of rising edges. */
    out8(f, 0x43, 0x36);
    set_count(f, 0, 1193);
    unsigned before = f->rises;
    uint64_t start = vclock_now(&f->clock);
    vclock_advance(&f->clock, start + NS_PER_SEC);
    assert_int_equal(f->rises - before, 1000); /* loaded a pulse after, rising each 1193 */

    /* The BIOS's 18.2 Hz: count 0 = 65536. */
    out8(f, 0x43, 0x34);
    set_count(f, 0, 0);
    before = f->rises;
    start = vclock_now(&f->clock);
    vclock_advance(&f->clock, start + 10 * NS_PER_SEC);
    assert_int_equal(f->rises - before, 182); /* 10 s * 18.2065 Hz */
}

static void port61_bits(void **state)
{
    struct fixture *f = *state;
    out8(f, 0x61, 0xFF);
    /* Bits 0-3 read back, 4-7 are not written; refresh is low for pulses 0-17. */
    assert_int_equal(in8(f, 0x61) & 0xDF, 0x0F);
    at(f, 18);
    assert_int_equal(in8(f, 0x61) & 0xDF, 0x1F);
    at(f, 36);
    assert_int_equal(in8(f, 0x61) & 0x10, 0);
    /* Counter 2 after reset: mode 0 without a count, OUT low. */
    assert_false(out2(f));
    /* A BIOS-style speaker delay: counter 2 mode 0, gate on, poll bit 5. */
    out8(f, 0x61, 0);
    out8(f, 0x43, 0xB0);
    set_count(f, 2, 100);
    out8(f, 0x61, I8254_P61_GATE2);
    at(f, 136);
    assert_false(out2(f));
    at(f, 137);
    assert_true(out2(f));
    device_reset(&f->pit.dev);
    assert_int_equal(in8(f, 0x61) & 0x0F, 0);
    assert_false(out2(f));
}

static void hostile_programming(void **state)
{
    struct fixture *f = *state;
    /* Every control word, odd counts and reads in between, at irregular times: nothing may
     * fault, and time keeps making progress (no timer in the past or spinning). */
    uint32_t x = 12345;
    uint64_t t = 0;
    for (unsigned i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        uint8_t v = (uint8_t)(x >> 16);
        switch ((x >> 8) & 7) {
        case 0: out8(f, 0x43, v); break;
        case 1: case 2: out8(f, (uint16_t)(0x40 + (x >> 28) % 3), v); break;
        case 3: (void)in8(f, (uint16_t)(0x40 + (x >> 28) % 4)); break;
        case 4: out8(f, 0x61, v); break;
        case 5: i8254_set_gate(&f->pit, (x >> 28) % 4, v & 1); break;
        default: t += (x >> 24) % 8; at(f, t); break;
        }
        assert_true(vclock_next_deadline(&f->clock) > vclock_now(&f->clock));
    }
    ioport_write(&f->bus, 0x42, 0xFFFFFFFF, 4); /* 0x42, 0x43, then two ports not ours */
    assert_int_equal(ioport_read(&f->bus, 0x43, 2), 0xFFFF);
    i8254_set_gate(&f->pit, 3, true);
    assert_false(i8254_get_out(&f->pit, 7));
}

/* Every observable of a counter at the current time, without disturbing it more than a
 * guest read would: status then count through one read-back. */
static void snapshot(struct fixture *f, uint8_t st[3], uint16_t ce[3])
{
    for (unsigned n = 0; n < 3; n++) {
        out8(f, 0x43, (uint8_t)(0xC0 | 2u << n));
        st[n] = in8(f, (uint16_t)(0x40 + n));
        unsigned rw = (st[n] >> 4) & 3;
        uint8_t a = in8(f, (uint16_t)(0x40 + n));
        ce[n] = rw == 3 ? (uint16_t)(a | in8(f, (uint16_t)(0x40 + n)) << 8) : a;
    }
}

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    at(f, 1000);
    out8(f, 0x43, 0x34);
    set_count(f, 0, 100);
    out8(f, 0x43, 0x77); /* counter 1: mode 3 BCD */
    set_count(f, 1, 0x0033);
    out8(f, 0x43, 0xB2); /* counter 2: mode 1, triggered */
    set_count(f, 2, 500);
    out8(f, 0x61, I8254_P61_GATE2 | I8254_P61_SPEAKER);
    at(f, 1250);
    set_count(f, 0, 60); /* pending until the end of the cycle */
    out8(f, 0x43, 0x40); /* counter 1 latched, and its LSB read: the MSB is next */
    (void)in8(f, 0x41);
    out8(f, 0x43, 0xE8); /* counter 2 status latched */

    size_t need = device_save(&f->pit.dev, NULL, 0);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->pit.dev, buf, need), need);

    /* Restored on a clock reading the same time: indistinguishable from here on. */
    struct fixture *g = calloc(1, sizeof(*g));
    assert_int_equal(fixture_init(g), 0);
    vclock_advance(&g->clock, vclock_now(&f->clock));
    assert_int_equal(device_load(&g->pit.dev, buf, need), 0);
    assert_int_equal(g->irq, f->irq);
    assert_int_equal(in8(g, 0x41), in8(f, 0x41)); /* the latched MSB */
    assert_int_equal(in8(g, 0x42), in8(f, 0x42)); /* the latched status */
    assert_int_equal(in8(g, 0x61), in8(f, 0x61));
    unsigned fr = f->rises, gr = g->rises;
    for (uint64_t t = 1251; t < 1900; t += 7) {
        at(f, t);
        at(g, t);
        uint8_t fs[3], gs[3];
        uint16_t fc[3], gc[3];
        snapshot(f, fs, fc);
        snapshot(g, gs, gc);
        assert_memory_equal(fs, gs, sizeof(fs));
        assert_memory_equal(fc, gc, sizeof(fc));
        assert_int_equal(in8(f, 0x61), in8(g, 0x61));
    }
    /* The timer was re-armed: IRQ0 edges at the same instants (period 60 after the switch). */
    assert_true(f->rises - fr >= 10);
    assert_int_equal(g->rises - gr, f->rises - fr);
    assert_memory_equal(&g->rise_at[gr], &f->rise_at[fr], (f->rises - fr) * sizeof(uint64_t));

    /* On a clock at another time the counters carry on from the same point. */
    struct fixture *h = calloc(1, sizeof(*h));
    assert_int_equal(fixture_init(h), 0);
    at(h, 5);
    assert_int_equal(device_load(&h->pit.dev, buf, need), 0);
    at(h, 5 + 400);
    uint8_t hs[3], fs2[3];
    uint16_t hc[3], fc2[3];
    snapshot(h, hs, hc);
    struct fixture *k = calloc(1, sizeof(*k));
    assert_int_equal(fixture_init(k), 0);
    vclock_advance(&k->clock, i8254_tick_time(1250));
    assert_int_equal(device_load(&k->pit.dev, buf, need), 0);
    at(k, 1250 + 400);
    snapshot(k, fs2, fc2);
    assert_memory_equal(hs, fs2, sizeof(hs));
    assert_memory_equal(hc, fc2, sizeof(hc));

    /* Malformed records are refused and leave the device reset. */
    assert_int_equal(device_load(&g->pit.dev, buf, need - 1), -1);
    assert_false(g->irq);
    assert_int_equal(vclock_next_deadline(&g->clock), UINT64_MAX);
    uint8_t *bad = malloc(need);
    memcpy(bad, buf, need);
    bad[6] = 0x04; /* counter 0 control word with RW = 00 (a latch, not a mode) */
    assert_int_equal(device_load(&g->pit.dev, bad, need), -1);
    memcpy(bad, buf, need);
    /* Counter 0's current segment follows 15 bytes of registers: start delta, CE, phase. */
    bad[6 + 15 + 6] = 0xFF;
    bad[6 + 15 + 7] = 0xFF; /* a phase beyond the period */
    assert_int_equal(device_load(&g->pit.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 15] = 9; /* a current segment starting in the future */
    assert_int_equal(device_load(&g->pit.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[need - 1] = 0x10; /* port 0x61 bits that are not stored */
    assert_int_equal(device_load(&g->pit.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[0] = 2;
    assert_int_equal(device_load(&g->pit.dev, bad, need), -1);
    assert_int_equal(device_load(&g->pit.dev, buf, need), 0);
    free(bad);
    free(buf);
    free(g);
    free(h);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_conversion),
        cmocka_unit_test_setup_teardown(mode0_terminal_count, setup, teardown),
        cmocka_unit_test_setup_teardown(mode1_one_shot, setup, teardown),
        cmocka_unit_test_setup_teardown(mode2_rate_generator, setup, teardown),
        cmocka_unit_test_setup_teardown(mode3_square_wave, setup, teardown),
        cmocka_unit_test_setup_teardown(mode4_and_5_strobes, setup, teardown),
        cmocka_unit_test_setup_teardown(bcd_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(access_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(irq0_periodic_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(port61_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_programming, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
