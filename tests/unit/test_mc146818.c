/* Unit tests of the MC146818A RTC/CMOS (devices/mc146818.c) through ports 0x70-0x73 and the
 * virtual clock: the calendar in BCD and binary across minute/hour/day/month/year and leap
 * boundaries, 12-hour mode, SET, the UIP window, the divider reset, periodic/alarm/update
 * interrupts and register C, the index port (NMI bit, 7-bit index, upper bank), the PC
 * memory-size bytes, reset, and save/load. Expected values are derived by hand in comments.
 *
 * Timing reference (datasheet): an update cycle lasts 1984 us (65 cycles of 32.768 kHz, i.e.
 * 1983.642578125 us) and UIP rises 244 us (8 cycles, 244.140625 us) before it begins. The
 * device is created with an update cycle ending at the start time, so the seconds change at
 * whole seconds of virtual time and UIP is high for the 2227.783203125 us before each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/mc146818.h"

#define SEC NS_PER_SEC
#define MS 1000000ull

struct fixture {
    struct vclock clock;
    struct ioport_bus bus;
    struct mc146818 rtc;
    int rises;
    bool level;
    uint64_t last_rise;
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 8);
    if (level && !f->level) {
        f->rises++;
        f->last_rise = vclock_now(&f->clock);
    }
    f->level = level;
}

/* 1999-12-31 23:59:58 UTC, a Friday. */
static const struct tm start_1999 = {.tm_year = 99, .tm_mon = 11, .tm_mday = 31, .tm_hour = 23, .tm_min = 59, .tm_sec = 58};

static int make(void **state, bool upper)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    vclock_init(&f->clock);
    ioport_init(&f->bus);
    if (mc146818_attach(&f->rtc, &f->bus, &f->clock, &start_1999, upper))
        return -1;
    f->rtc.irq = (struct irq_line){irq_set, f, 8};
    *state = f;
    return 0;
}

static int setup(void **state) { return make(state, false); }
static int setup_upper(void **state) { return make(state, true); }

static int teardown(void **state)
{
    struct fixture *f = *state;
    mc146818_detach(&f->rtc);
    free(f);
    return 0;
}

static uint8_t rd(struct fixture *f, uint8_t idx)
{
    ioport_write(&f->bus, RTC_PORT_INDEX, idx, 1);
    return (uint8_t)ioport_read(&f->bus, RTC_PORT_DATA, 1);
}

static void wr(struct fixture *f, uint8_t idx, uint8_t v)
{
    ioport_write(&f->bus, RTC_PORT_INDEX, idx, 1);
    ioport_write(&f->bus, RTC_PORT_DATA, v, 1);
}

static void at(struct fixture *f, uint64_t t) { vclock_advance(&f->clock, t); }

/* Time bytes packed as 0xYYMMDDWWHHMMSS (year, month, day, weekday, hour, minute, second). */
static uint64_t packed(struct fixture *f)
{
    static const uint8_t order[7] = {RTC_YEAR, RTC_MONTH, RTC_DAY_OF_MONTH, RTC_DAY_OF_WEEK,
                                     RTC_HOURS, RTC_MINUTES, RTC_SECONDS};
    uint64_t v = 0;
    for (int i = 0; i < 7; i++)
        v = v << 8 | rd(f, order[i]);
    return v;
}

#define TIME(y, mo, d, w, h, mi, s)                                                                \
    ((uint64_t)(y) << 48 | (uint64_t)(mo) << 40 | (uint64_t)(d) << 32 | (uint64_t)(w) << 24 |      \
     (uint64_t)(h) << 16 | (uint64_t)(mi) << 8 | (uint64_t)(s))

/* Sets the time through the ports as a guest does: SET, the bytes, SET cleared. */
static void guest_set(struct fixture *f, uint8_t b, uint64_t t)
{
    wr(f, RTC_REG_B, b | RTC_B_SET);
    wr(f, RTC_YEAR, (uint8_t)(t >> 48));
    wr(f, RTC_MONTH, (uint8_t)(t >> 40));
    wr(f, RTC_DAY_OF_MONTH, (uint8_t)(t >> 32));
    wr(f, RTC_DAY_OF_WEEK, (uint8_t)(t >> 24));
    wr(f, RTC_HOURS, (uint8_t)(t >> 16));
    wr(f, RTC_MINUTES, (uint8_t)(t >> 8));
    wr(f, RTC_SECONDS, (uint8_t)t);
    wr(f, RTC_REG_B, b);
}

/* Acknowledges each interrupt as a driver would through (now, now + dur] of virtual time;
 * returns the number of rising edges of IRQ8. */
static int count_acked(struct fixture *f, uint64_t dur)
{
    uint64_t end = vclock_now(&f->clock) + dur;
    int before = f->rises;
    while (vclock_next_deadline(&f->clock) <= end) {
        at(f, vclock_next_deadline(&f->clock));
        if (f->level) {
            uint8_t c = rd(f, RTC_REG_C);
            assert_int_equal(c & RTC_C_IRQF, RTC_C_IRQF);
            assert_false(f->level);
        }
    }
    at(f, end);
    return f->rises - before;
}

/* ---- calendar ---- */

static void epoch_conversion(void **state)
{
    (void)state;
    struct tm tm;
    mc146818_epoch_to_tm(0, &tm); /* 1970-01-01 00:00:00, a Thursday */
    assert_int_equal(tm.tm_year, 70);
    assert_int_equal(tm.tm_mon, 0);
    assert_int_equal(tm.tm_mday, 1);
    assert_int_equal(tm.tm_wday, 4);
    /* 946684800 is 2000-01-01; + 59 days (31 + 28) = 2000-02-29, Saturday + 59 = Tuesday. */
    mc146818_epoch_to_tm(951782400 + 3 * 3600 + 4 * 60 + 5, &tm);
    assert_int_equal(tm.tm_year, 100);
    assert_int_equal(tm.tm_mon, 1);
    assert_int_equal(tm.tm_mday, 29);
    assert_int_equal(tm.tm_wday, 2);
    assert_int_equal(tm.tm_yday, 59);
    assert_int_equal(tm.tm_hour, 3);
    assert_int_equal(tm.tm_min, 4);
    assert_int_equal(tm.tm_sec, 5);
    mc146818_epoch_to_tm(-1, &tm); /* 1969-12-31 23:59:59, a Wednesday */
    assert_int_equal(tm.tm_year, 69);
    assert_int_equal(tm.tm_mon, 11);
    assert_int_equal(tm.tm_mday, 31);
    assert_int_equal(tm.tm_hour, 23);
    assert_int_equal(tm.tm_sec, 59);
    assert_int_equal(tm.tm_wday, 3);
    /* 2100 is not a leap year: 2000-01-01 + 36525 days (25 * 1461) = 2100-01-01, a Friday. */
    mc146818_epoch_to_tm(946684800 + 36525ll * 86400, &tm);
    assert_int_equal(tm.tm_year, 200);
    assert_int_equal(tm.tm_mon, 0);
    assert_int_equal(tm.tm_mday, 1);
    assert_int_equal(tm.tm_wday, 5);
}

static void power_on_state(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
    assert_int_equal(rd(f, RTC_REG_C), 0);
    assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
    /* 1999-12-31 was a Friday: day of week 6. BCD, 24-hour. */
    assert_int_equal(packed(f), TIME(0x99, 0x12, 0x31, 6, 0x23, 0x59, 0x58));
    assert_int_equal(rd(f, CMOS_CENTURY), 0x19);
    assert_int_equal(rd(f, 0x40), 0);
    /* Nothing enabled: no timer is armed, and none is needed to keep time. */
    assert_null(f->clock.armed);
    at(f, 10 * SEC);
    assert_null(f->clock.armed);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x08));
}

static void bcd_calendar(void **state)
{
    struct fixture *f = *state;
    at(f, SEC - 1);
    assert_int_equal(rd(f, RTC_SECONDS), 0x58);
    at(f, SEC);
    assert_int_equal(packed(f), TIME(0x99, 0x12, 0x31, 6, 0x23, 0x59, 0x59));
    /* Second, minute, hour, day, month and year all roll over together: Saturday 2000-01-01.
     * The chip has no century counter: 0x32 stays as set. */
    at(f, 2 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x00));
    assert_int_equal(rd(f, CMOS_CENTURY), 0x19);
    at(f, 61 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x59));
    at(f, 62 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x01, 0x00));
    /* + 1 h 58 min 59 s from 00:01:00 */
    at(f, (62 + 3600 + 58 * 60 + 59) * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x01, 0x59, 0x59));
    at(f, (62 + 3600 + 59 * 60) * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x02, 0x00, 0x00));

    /* Leap year: 2000-02-28 (Monday) 23:59:59 -> 29 February (Tuesday) -> 1 March (Wednesday). */
    uint64_t t = 8000 * SEC;
    at(f, t);
    guest_set(f, RTC_B_24H, TIME(0x00, 0x02, 0x28, 2, 0x23, 0x59, 0x59));
    at(f, t + SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x02, 0x29, 3, 0x00, 0x00, 0x00));
    at(f, t + SEC + 86400 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x03, 0x01, 4, 0x00, 0x00, 0x00));

    /* A 30-day month: 2024-04-30 (Tuesday) -> 2024-05-01 (Wednesday). */
    t = 200000 * SEC;
    at(f, t);
    guest_set(f, RTC_B_24H, TIME(0x24, 0x04, 0x30, 3, 0x23, 0x59, 0x59));
    at(f, t + SEC);
    assert_int_equal(packed(f), TIME(0x24, 0x05, 0x01, 4, 0x00, 0x00, 0x00));
}

static void binary_calendar(void **state)
{
    struct fixture *f = *state;
    /* Binary, 24-hour. 2023 is not a leap year: 2023-02-28 (Tuesday) -> 03-01 (Wednesday).
     * 59 = 0x3B, 23 = 0x17, 28 = 0x1C. */
    guest_set(f, RTC_B_DM_BINARY | RTC_B_24H, TIME(23, 2, 28, 3, 23, 59, 59));
    assert_int_equal(rd(f, RTC_REG_B), RTC_B_DM_BINARY | RTC_B_24H);
    assert_int_equal(packed(f), TIME(0x17, 0x02, 0x1C, 3, 0x17, 0x3B, 0x3B));
    at(f, SEC);
    assert_int_equal(packed(f), TIME(23, 3, 1, 4, 0, 0, 0));
    /* Year 99 -> 00 in binary, 31 December -> 1 January. */
    at(f, 2 * SEC);
    guest_set(f, RTC_B_DM_BINARY | RTC_B_24H, TIME(99, 12, 31, 6, 23, 59, 59));
    at(f, 3 * SEC);
    assert_int_equal(packed(f), TIME(0, 1, 1, 7, 0, 0, 0));

    /* A long jump: 2000-03-01 12:00:00 (Wednesday) + 3652 days (ten years holding the leap
     * days of 2004 and 2008) = 2010-03-01 12:00:00, a Monday. */
    at(f, 4 * SEC);
    guest_set(f, RTC_B_DM_BINARY | RTC_B_24H, TIME(0, 3, 1, 4, 12, 0, 0));
    at(f, 4 * SEC + 3652ull * 86400 * SEC);
    assert_int_equal(packed(f), TIME(10, 3, 1, 2, 12, 0, 0));
    /* 2004-01-01 00:00:00 + 1461 days = 2008-01-01 (Thursday -> Tuesday). */
    uint64_t t = vclock_now(&f->clock);
    guest_set(f, RTC_B_DM_BINARY | RTC_B_24H, TIME(4, 1, 1, 5, 0, 0, 0));
    at(f, t + 1461ull * 86400 * SEC);
    assert_int_equal(packed(f), TIME(8, 1, 1, 3, 0, 0, 0));
    /* One day short of four years: 2008-01-01 + 1460 days = 2011-12-31, a Saturday. */
    t = vclock_now(&f->clock);
    at(f, t + 1460ull * 86400 * SEC);
    assert_int_equal(packed(f), TIME(11, 12, 31, 7, 0, 0, 0));

    /* set_time follows the current format. */
    struct tm tm = {.tm_year = 125, .tm_mon = 6, .tm_mday = 14, .tm_hour = 9, .tm_min = 8, .tm_sec = 7};
    mc146818_set_time(&f->rtc, &tm); /* 2025-07-14 was a Monday */
    assert_int_equal(packed(f), TIME(25, 7, 14, 2, 9, 8, 7));
    assert_int_equal(rd(f, CMOS_CENTURY), 20);
}

static void twelve_hour_mode(void **state)
{
    struct fixture *f = *state;
    /* BCD 12-hour: 11:59:59 PM is 0x91 (PM bit + 0x11); the next second is 12:00:00 AM of
     * the next day, 0x12 without the PM bit. */
    guest_set(f, 0, TIME(0x24, 0x04, 0x30, 3, 0x91, 0x59, 0x59));
    assert_int_equal(rd(f, RTC_REG_B), 0);
    at(f, SEC);
    assert_int_equal(packed(f), TIME(0x24, 0x05, 0x01, 4, 0x12, 0x00, 0x00));
    /* 11:59:59 AM -> 12:00:00 PM (0x92) */
    guest_set(f, 0, TIME(0x24, 0x05, 0x01, 4, 0x11, 0x59, 0x59));
    at(f, 2 * SEC);
    assert_int_equal(rd(f, RTC_HOURS), 0x92);
    /* 12:59:59 PM -> 1:00:00 PM (0x81) */
    guest_set(f, 0, TIME(0x24, 0x05, 0x01, 4, 0x92, 0x59, 0x59));
    at(f, 3 * SEC);
    assert_int_equal(rd(f, RTC_HOURS), 0x81);
    /* 12:59:59 AM -> 1:00:00 AM */
    guest_set(f, 0, TIME(0x24, 0x05, 0x01, 4, 0x12, 0x59, 0x59));
    at(f, 4 * SEC);
    assert_int_equal(rd(f, RTC_HOURS), 0x01);
    /* Binary 12-hour: 11 PM = 0x8B -> 12 AM = 0x0C. */
    guest_set(f, RTC_B_DM_BINARY, TIME(24, 5, 1, 4, 0x8B, 59, 59));
    at(f, 5 * SEC);
    assert_int_equal(packed(f), TIME(24, 5, 2, 5, 0x0C, 0, 0));
    /* set_time in BCD 12-hour mode: 15:30:00 is 3:30 PM = 0x83. */
    wr(f, RTC_REG_B, 0);
    struct tm tm = {.tm_year = 124, .tm_mon = 0, .tm_mday = 1, .tm_hour = 15, .tm_min = 30};
    mc146818_set_time(&f->rtc, &tm);
    assert_int_equal(rd(f, RTC_HOURS), 0x83);
    tm.tm_hour = 0; /* midnight is 12 AM */
    mc146818_set_time(&f->rtc, &tm);
    assert_int_equal(rd(f, RTC_HOURS), 0x12);
}

static void set_freezes(void **state)
{
    struct fixture *f = *state;
    at(f, 3 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x01));
    wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
    at(f, 10 * SEC - 1 * MS); /* inside what would be a UIP window */
    assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
    assert_int_equal(rd(f, RTC_SECONDS), 0x01);
    wr(f, RTC_SECONDS, 0x30); /* a write while frozen stays */
    at(f, 10 * SEC + 700 * MS);
    assert_int_equal(rd(f, RTC_SECONDS), 0x30);
    /* Cleared: the divider kept its phase, so the next update still ends on a whole second. */
    wr(f, RTC_REG_B, RTC_B_24H);
    at(f, 11 * SEC - 1);
    assert_int_equal(rd(f, RTC_SECONDS), 0x30);
    at(f, 11 * SEC);
    assert_int_equal(rd(f, RTC_SECONDS), 0x31);
    /* Setting SET clears UIE (datasheet), in the same write or later. */
    wr(f, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
    assert_int_equal(rd(f, RTC_REG_B), RTC_B_UIE | RTC_B_24H);
    wr(f, RTC_REG_B, RTC_B_SET | RTC_B_UIE | RTC_B_24H);
    assert_int_equal(rd(f, RTC_REG_B), RTC_B_SET | RTC_B_24H);
    /* No update flag while frozen. */
    (void)rd(f, RTC_REG_C);
    at(f, 15 * SEC);
    assert_int_equal(rd(f, RTC_REG_C) & RTC_C_UF, 0);
}

static void uip_window(void **state)
{
    struct fixture *f = *state;
    /* The update ending at 1 s: UIP rises 2227.783203125 us before, i.e. after
     * 997772216.796875 ns; the first whole nanosecond with UIP set is 997772217. */
    at(f, 997772216);
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    at(f, 997772217);
    assert_int_equal(rd(f, RTC_REG_A), 0xA6);
    assert_int_equal(rd(f, RTC_SECONDS), 0x58); /* still the old second */
    at(f, SEC - 1);
    assert_int_equal(rd(f, RTC_REG_A), 0xA6);
    at(f, SEC);
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    assert_int_equal(rd(f, RTC_SECONDS), 0x59);
    /* The same a second later; a write of UIP is ignored (read only). */
    wr(f, RTC_REG_A, 0xA6);
    at(f, SEC + 997772216);
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    at(f, SEC + 997772217);
    assert_int_equal(rd(f, RTC_REG_A), 0xA6);

    /* Divider reset (DV = 11x): time stands, no UIP. */
    at(f, 5 * SEC);
    wr(f, RTC_REG_A, 0x76);
    at(f, 20 * SEC - 1 * MS);
    assert_int_equal(rd(f, RTC_REG_A), 0x76);
    assert_int_equal(rd(f, RTC_SECONDS), 0x03); /* 23:59:58 + 5 s = 00:00:03 */
    /* Released at R = 20 s: the first update cycle begins 0.5 s later. UIP rises 8 cycles
     * earlier: (32768 - 16) / 65536 s = 499755859.375 ns -> R + 499755860. The update ends
     * (32768 + 130) / 65536 s = 501983642.578 ns after R -> R + 501983643. */
    const uint64_t r = 20 * SEC;
    at(f, r);
    wr(f, RTC_REG_A, 0x26);
    at(f, r + 499755859);
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    at(f, r + 499755860);
    assert_int_equal(rd(f, RTC_REG_A), 0xA6);
    at(f, r + 501983642);
    assert_int_equal(rd(f, RTC_SECONDS), 0x03);
    at(f, r + 501983643);
    assert_int_equal(rd(f, RTC_REG_A), 0x26);
    assert_int_equal(rd(f, RTC_SECONDS), 0x04);
    at(f, r + SEC + 501983643);
    assert_int_equal(rd(f, RTC_SECONDS), 0x05);
}

/* ---- interrupts ---- */

static void periodic_rates(void **state)
{
    struct fixture *f = *state;
    at(f, 250 * MS);
    /* PF has been set by the edges so far (whatever PIE says): a driver clears it first, or
     * enabling PIE would interrupt at once (see register_c). */
    (void)rd(f, RTC_REG_C);
    wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
    assert_false(f->level);
    /* RS = 6 with the 32.768 kHz time base: 1024 Hz. Any 1 s of virtual time holds 1024 edges
     * (the period, 2^-10 s, divides the second), whatever the phase. */
    assert_int_equal(count_acked(f, SEC), 1024);
    /* Consecutive edges are 976562.5 ns apart: 976562 or 976563 after rounding up. */
    uint64_t prev = f->last_rise;
    assert_int_equal(count_acked(f, 2 * MS), 2);
    assert_true(f->last_rise - prev == 2 * 976562 + 1);
    wr(f, RTC_REG_A, 0x2F); /* RS 15: 2 Hz */
    assert_int_equal(count_acked(f, SEC), 2);
    wr(f, RTC_REG_A, 0x23); /* RS 3: 8192 Hz */
    assert_int_equal(count_acked(f, SEC), 8192);
    wr(f, RTC_REG_A, 0x21); /* RS 1 on 32.768 kHz: 256 Hz (the same tap as RS 8) */
    assert_int_equal(count_acked(f, SEC), 256);
    wr(f, RTC_REG_A, 0x02); /* RS 2 on the 4.194304 MHz time base: 16384 Hz */
    assert_int_equal(count_acked(f, SEC), 16384);
    wr(f, RTC_REG_A, 0x20); /* RS 0: none */
    assert_null(f->clock.armed);
    assert_int_equal(count_acked(f, SEC), 0);

    /* Not acknowledged: the line stays high and no more timer events are needed. */
    wr(f, RTC_REG_A, 0x26);
    (void)rd(f, RTC_REG_C);
    at(f, vclock_next_deadline(&f->clock));
    assert_true(f->level);
    assert_null(f->clock.armed);
    int rises = f->rises;
    at(f, vclock_now(&f->clock) + SEC);
    assert_int_equal(f->rises, rises);
    assert_true(f->level);
    assert_int_equal(rd(f, RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF), RTC_C_IRQF | RTC_C_PF);
    assert_false(f->level);
    assert_non_null(f->clock.armed);
}

static void periodic_after_divider_reset(void **state)
{
    struct fixture *f = *state;
    /* Released at 3 s, the 1024 Hz tap has its first edge half a period later:
     * 32 / 65536 s = 488281.25 ns -> 3 s + 488282 ns, then every 976562.5 ns. */
    wr(f, RTC_REG_A, 0x66);
    wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
    assert_null(f->clock.armed); /* the chain is held: nothing to wait for */
    at(f, 3 * SEC);
    wr(f, RTC_REG_A, 0x26);
    assert_int_equal(vclock_next_deadline(&f->clock), 3 * SEC + 488282);
    at(f, 3 * SEC + 488281);
    assert_int_equal(f->rises, 0);
    at(f, 3 * SEC + 488282);
    assert_int_equal(f->rises, 1);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    /* The second edge: 96 / 65536 s = 1464843.75 ns -> 3 s + 1464844. */
    assert_int_equal(vclock_next_deadline(&f->clock), 3 * SEC + 1464844);
}

static void update_interrupt(void **state)
{
    struct fixture *f = *state;
    wr(f, RTC_REG_A, 0x20); /* no periodic tap: PF stays out of the way */
    at(f, 300 * MS);
    wr(f, RTC_REG_B, RTC_B_UIE | RTC_B_24H);
    assert_int_equal(vclock_next_deadline(&f->clock), SEC);
    at(f, SEC - 1);
    assert_int_equal(f->rises, 0);
    at(f, SEC);
    assert_int_equal(f->rises, 1);
    assert_int_equal(rd(f, RTC_SECONDS), 0x59); /* the new second is there with UF */
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
    assert_int_equal(rd(f, RTC_REG_C), 0);
    assert_int_equal(vclock_next_deadline(&f->clock), 2 * SEC);
    assert_int_equal(count_acked(f, 10 * SEC), 10);
}

static void alarm_interrupt(void **state)
{
    struct fixture *f = *state;
    wr(f, RTC_REG_A, 0x20); /* no periodic tap: PF stays out of the way */
    /* Start 23:59:58; alarm at 00:00:05, 7 s later. */
    wr(f, RTC_SECONDS_ALARM, 0x05);
    wr(f, RTC_MINUTES_ALARM, 0x00);
    wr(f, RTC_HOURS_ALARM, 0x00);
    wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
    assert_int_equal(vclock_next_deadline(&f->clock), 7 * SEC);
    at(f, 7 * SEC - 1);
    assert_int_equal(f->rises, 0);
    at(f, 7 * SEC);
    assert_int_equal(f->rises, 1);
    assert_int_equal(rd(f, RTC_SECONDS), 0x05);
    /* UF is set by every update whether enabled or not. */
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
    assert_false(f->level);
    /* Next match: the same time tomorrow. */
    assert_int_equal(vclock_next_deadline(&f->clock), 7 * SEC + 86400 * SEC);

    /* Don't-care hour and minute (>= 0xC0), second 0x30: every minute at :30.
     * Now 00:00:05 at 7 s: next at 00:00:30 (32 s), then 00:01:30 (92 s). */
    wr(f, RTC_HOURS_ALARM, 0xC0);
    wr(f, RTC_MINUTES_ALARM, 0xFF);
    wr(f, RTC_SECONDS_ALARM, 0x30);
    assert_int_equal(vclock_next_deadline(&f->clock), 32 * SEC);
    at(f, 32 * SEC);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
    assert_int_equal(vclock_next_deadline(&f->clock), 92 * SEC);
    /* All three don't-care: every second. */
    wr(f, RTC_SECONDS_ALARM, 0xC0);
    assert_int_equal(count_acked(f, 5 * SEC), 5);
    /* Specific hour, don't-care minute and second: 01:00:00 is the first match. Now 00:00:35
     * (at 37 s): 3565 s to go -> 3602 s. */
    wr(f, RTC_HOURS_ALARM, 0x01);
    wr(f, RTC_MINUTES_ALARM, 0xC0);
    assert_int_equal(rd(f, RTC_SECONDS), 0x35);
    assert_int_equal(vclock_next_deadline(&f->clock), 3602 * SEC);
    /* An alarm byte no time encodes (0x61 seconds in BCD) never matches. */
    wr(f, RTC_SECONDS_ALARM, 0x61);
    assert_null(f->clock.armed);

    /* Without AIE the alarm flag is still set, and found when register C is read. */
    wr(f, RTC_REG_B, RTC_B_24H);
    wr(f, RTC_HOURS_ALARM, 0x00);
    wr(f, RTC_MINUTES_ALARM, 0x00);
    wr(f, RTC_SECONDS_ALARM, 0x40); /* 00:00:40, at 42 s */
    (void)rd(f, RTC_REG_C);
    assert_null(f->clock.armed);
    at(f, 41 * SEC);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_UF);
    at(f, 50 * SEC);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_AF | RTC_C_UF);
    assert_false(f->level);
    /* Enabling AIE while AF is pending raises IRQ at once. */
    at(f, 86400 * SEC + 42 * SEC);
    wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
    assert_true(f->level);
    wr(f, RTC_REG_B, RTC_B_24H);
    assert_false(f->level);
}

static void alarm_every_second(void **state)
{
    struct fixture *f = *state;
    /* At 23:59:58 with every alarm byte don't-care, the very next update matches: 1 s, then
     * 2 s (the minute, hour and day roll over), and so on. */
    wr(f, RTC_SECONDS_ALARM, 0xC0);
    wr(f, RTC_MINUTES_ALARM, 0xC0);
    wr(f, RTC_HOURS_ALARM, 0xC0);
    wr(f, RTC_REG_B, RTC_B_AIE | RTC_B_24H);
    assert_int_equal(vclock_next_deadline(&f->clock), SEC);
    at(f, SEC);
    (void)rd(f, RTC_REG_C);
    assert_int_equal(vclock_next_deadline(&f->clock), 2 * SEC);
    /* Minute 0x00 only, from 23:59:59: the next match is 00:00:00, 1 s away. */
    wr(f, RTC_MINUTES_ALARM, 0x00);
    assert_int_equal(vclock_next_deadline(&f->clock), 2 * SEC);
    /* Minute 0x59 only: 23:59:59 itself has passed; next is 00:59:00, 3541 s away. */
    wr(f, RTC_MINUTES_ALARM, 0x59);
    assert_int_equal(vclock_next_deadline(&f->clock), (1 + 3541) * SEC);
}

static void alarm_twelve_hour(void **state)
{
    struct fixture *f = *state;
    /* 12-hour BCD: now 12:59:58 PM (0x92); alarm 1:00:00 PM is hour byte 0x81. */
    guest_set(f, 0, TIME(0x24, 0x05, 0x01, 4, 0x92, 0x59, 0x58));
    wr(f, RTC_HOURS_ALARM, 0x81);
    wr(f, RTC_MINUTES_ALARM, 0x00);
    wr(f, RTC_SECONDS_ALARM, 0x00);
    wr(f, RTC_REG_B, RTC_B_AIE);
    assert_int_equal(vclock_next_deadline(&f->clock), 2 * SEC);
    /* 1:00:00 AM (0x01) is 12 hours later than that. */
    wr(f, RTC_HOURS_ALARM, 0x01);
    assert_int_equal(vclock_next_deadline(&f->clock), (2 + 12 * 3600) * SEC);
}

static void register_c(void **state)
{
    struct fixture *f = *state;
    /* Nothing enabled: PF and UF are still set, without IRQF. */
    at(f, 1500 * MS);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_PF | RTC_C_UF);
    assert_int_equal(rd(f, RTC_REG_C), 0); /* read to clear */
    at(f, 1502 * MS); /* 2 ms hold two edges of 1024 Hz; no update */
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_PF);
    /* Writes are ignored. */
    wr(f, RTC_REG_C, 0xFF);
    wr(f, RTC_REG_D, 0x00);
    assert_int_equal(rd(f, RTC_REG_C), 0);
    assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
    /* Enabling PIE with PF pending sets IRQF and the line at once. */
    at(f, 1510 * MS);
    wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_24H);
    assert_true(f->level);
    assert_int_equal(f->rises, 1);
    assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    assert_false(f->level);
    assert_int_equal(rd(f, RTC_REG_C), 0);
}

static void reset_pin(void **state)
{
    struct fixture *f = *state;
    wr(f, 0x40, 0x5A);
    wr(f, RTC_REG_A, 0x2A);
    wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_AIE | RTC_B_SQWE | RTC_B_DM_BINARY | RTC_B_24H | RTC_B_DSE);
    at(f, vclock_next_deadline(&f->clock));
    assert_true(f->level);
    device_reset(&f->rtc.dev);
    assert_false(f->level);
    assert_null(f->clock.armed);
    assert_int_equal(rd(f, RTC_REG_B), RTC_B_DM_BINARY | RTC_B_24H | RTC_B_DSE);
    assert_int_equal(rd(f, RTC_REG_A), 0x2A);
    assert_int_equal(rd(f, RTC_REG_C), 0);
    assert_int_equal(rd(f, 0x40), 0x5A);
    /* The clock keeps running across reset (back in BCD, as its bytes were written). */
    wr(f, RTC_REG_B, RTC_B_24H);
    at(f, 5 * SEC);
    assert_int_equal(packed(f), TIME(0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x03));
}

/* ---- index port ---- */

static void nmi_bit(void **state)
{
    struct fixture *f = *state;
    assert_false(mc146818_nmi_disabled(&f->rtc));
    ioport_write(&f->bus, RTC_PORT_INDEX, RTC_NMI_DISABLE | RTC_HOURS, 1);
    assert_true(mc146818_nmi_disabled(&f->rtc));
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA, 1), 0x23);
    ioport_write(&f->bus, RTC_PORT_INDEX, RTC_NMI_DISABLE | RTC_MONTH, 1);
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA, 1), 0x12);
    ioport_write(&f->bus, RTC_PORT_DATA, 0x11, 1); /* the write goes to the month too */
    ioport_write(&f->bus, RTC_PORT_INDEX, RTC_MONTH, 1);
    assert_false(mc146818_nmi_disabled(&f->rtc));
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA, 1), 0x11);
    /* The index port is write-only. */
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_INDEX, 1), 0xFF);
}

static void index_wraps(void **state)
{
    struct fixture *f = *state;
    /* Bit 7 is the NMI latch, so 0xFF selects byte 0x7F, 0x8E selects 0x0E. */
    ioport_write(&f->bus, RTC_PORT_INDEX, 0xFF, 1);
    ioport_write(&f->bus, RTC_PORT_DATA, 0xA5, 1);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0x7F), 0xA5);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0xFF), 0); /* not the upper bank */
    ioport_write(&f->bus, RTC_PORT_INDEX, 0x8E, 1);
    ioport_write(&f->bus, RTC_PORT_DATA, 0x3C, 1);
    assert_int_equal(rd(f, 0x0E), 0x3C);
    /* Without the upper bank nothing answers at 0x72/0x73. */
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA_HI, 1), 0xFF);
    /* A 16-bit write to 0x70 is an index cycle then a data cycle; a 16-bit read gives 0xFF
     * from the index port and the data byte. */
    ioport_write(&f->bus, RTC_PORT_INDEX, 0x77 << 8 | 0x50, 2);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0x50), 0x77);
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_INDEX, 2), 0x77FF);
    /* Direct access: out of range is ignored. */
    mc146818_cmos_write(&f->rtc, 256, 1);
    mc146818_cmos_write(&f->rtc, 100000, 1);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 256), 0xFF);
}

static void upper_bank(void **state)
{
    struct fixture *f = *state;
    ioport_write(&f->bus, RTC_PORT_INDEX, RTC_HOURS, 1);
    /* 0x72 takes a 7-bit index into bytes 0x80-0xFF; its bit 7 is no NMI latch. */
    ioport_write(&f->bus, RTC_PORT_INDEX_HI, 0x85, 1);
    ioport_write(&f->bus, RTC_PORT_DATA_HI, 0x11, 1);
    assert_false(mc146818_nmi_disabled(&f->rtc));
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0x85), 0x11);
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA_HI, 1), 0x11);
    assert_int_equal(ioport_read(&f->bus, RTC_PORT_DATA, 1), 0x23); /* hours untouched */
    ioport_write(&f->bus, RTC_PORT_INDEX_HI, 0x7F, 1);
    ioport_write(&f->bus, RTC_PORT_DATA_HI, 0x22, 1);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0xFF), 0x22);
    assert_int_equal(mc146818_cmos_read(&f->rtc, 0x7F), 0);
}

/* ---- machine helpers ---- */

static void memory_bytes(void **state)
{
    struct fixture *f = *state;
    mc146818_cmos_write(&f->rtc, CMOS_EQUIPMENT, 0x00);
    mc146818_set_memory_size(&f->rtc, 128ull << 20, 0);
    /* 640 KiB = 0x0280. Above 1 MiB: 131072 - 1024 = 130048 KiB > 0xFFFF: capped. Above
     * 16 MiB: 112 MiB / 64 KiB = 1792 = 0x0700. Nothing above 4 GiB. */
    assert_int_equal(rd(f, CMOS_BASE_MEM_LO), 0x80);
    assert_int_equal(rd(f, CMOS_BASE_MEM_HI), 0x02);
    assert_int_equal(rd(f, CMOS_EXT_MEM_LO), 0xFF);
    assert_int_equal(rd(f, CMOS_EXT_MEM_HI), 0xFF);
    assert_int_equal(rd(f, CMOS_EXT_MEM2_LO), 0xFF);
    assert_int_equal(rd(f, CMOS_EXT_MEM2_HI), 0xFF);
    assert_int_equal(rd(f, CMOS_MEM_16M_LO), 0x00);
    assert_int_equal(rd(f, CMOS_MEM_16M_HI), 0x07);
    assert_int_equal(rd(f, CMOS_MEM_4G_LO), 0);
    assert_int_equal(rd(f, CMOS_MEM_4G_MID), 0);
    assert_int_equal(rd(f, CMOS_MEM_4G_HI), 0);
    /* Checksum of 0x10-0x2D: 0x80 + 0x02 + 0xFF + 0xFF = 0x0280. */
    assert_int_equal(rd(f, CMOS_CHECKSUM_HI), 0x02);
    assert_int_equal(rd(f, CMOS_CHECKSUM_LO), 0x80);

    /* 3 GiB below 4 GiB and 3 GiB above: (3072 - 16) MiB / 64 KiB = 48896 = 0xBF00;
     * 3 GiB / 64 KiB = 49152 = 0x00C000. */
    mc146818_set_memory_size(&f->rtc, 3ull << 30, 3ull << 30);
    assert_int_equal(rd(f, CMOS_MEM_16M_LO), 0x00);
    assert_int_equal(rd(f, CMOS_MEM_16M_HI), 0xBF);
    assert_int_equal(rd(f, CMOS_MEM_4G_LO), 0x00);
    assert_int_equal(rd(f, CMOS_MEM_4G_MID), 0xC0);
    assert_int_equal(rd(f, CMOS_MEM_4G_HI), 0x00);

    /* 15 MiB: 14 MiB extended = 14336 KiB = 0x3800; nothing above 16 MiB. */
    mc146818_set_memory_size(&f->rtc, 15ull << 20, 0);
    assert_int_equal(rd(f, CMOS_EXT_MEM_LO), 0x00);
    assert_int_equal(rd(f, CMOS_EXT_MEM_HI), 0x38);
    assert_int_equal(rd(f, CMOS_MEM_16M_LO), 0);
    assert_int_equal(rd(f, CMOS_MEM_16M_HI), 0);
    /* 512 KiB: base 512 = 0x0200. */
    mc146818_set_memory_size(&f->rtc, 512ull << 10, 0);
    assert_int_equal(rd(f, CMOS_BASE_MEM_LO), 0x00);
    assert_int_equal(rd(f, CMOS_BASE_MEM_HI), 0x02);
    assert_int_equal(rd(f, CMOS_EXT_MEM_LO), 0);

    /* The checksum covers bytes the machine adds. */
    mc146818_cmos_write(&f->rtc, CMOS_FLOPPY_TYPES, 0x40);
    mc146818_update_checksum(&f->rtc); /* 0x40 + 0x02 (base memory high byte) */
    assert_int_equal(rd(f, CMOS_CHECKSUM_HI), 0x00);
    assert_int_equal(rd(f, CMOS_CHECKSUM_LO), 0x42);
}

/* ---- consistency and hostile input ---- */

/* Applying updates lazily in one jump gives the same bytes as going second by second, even
 * from values no valid time has (they are carried and become valid at the first update). */
static void jump_equals_steps(void **state)
{
    (void)state;
    static const uint64_t starts[] = {
        TIME(0x00, 0x02, 0x28, 2, 0x23, 0x59, 0x57),
        TIME(0x99, 0x12, 0x31, 6, 0x23, 0x58, 0x00),
        TIME(0x23, 0x02, 0x31, 0x09, 0x29, 0x75, 0x99), /* 31 Feb, 29 h, 75 min, 99 s */
        TIME(0xFF, 0x13, 0x00, 0x00, 0xFF, 0xFF, 0xFF),
    };
    static const uint8_t modes[] = {RTC_B_24H, 0, RTC_B_DM_BINARY, RTC_B_DM_BINARY | RTC_B_24H};
    for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            struct fixture a, b;
            struct fixture *fs[2] = {&a, &b};
            for (int i = 0; i < 2; i++) {
                memset(fs[i], 0, sizeof(a));
                vclock_init(&fs[i]->clock);
                ioport_init(&fs[i]->bus);
                assert_int_equal(mc146818_attach(&fs[i]->rtc, &fs[i]->bus, &fs[i]->clock, NULL, false), 0);
                guest_set(fs[i], modes[m], starts[s]);
            }
            const unsigned span = 2 * 86400 + 3601;
            for (unsigned t = 1; t <= span; t++) {
                at(&a, (uint64_t)t * SEC);
                (void)rd(&a, RTC_SECONDS); /* one update at a time */
            }
            at(&b, (uint64_t)span * SEC);
            assert_int_equal(packed(&a), packed(&b));
            mc146818_detach(&a.rtc);
            mc146818_detach(&b.rtc);
        }
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static void hostile_guest(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 200000; i++) {
        uint32_t r = rnd();
        uint16_t port = (uint16_t)(RTC_PORT_INDEX + (r & 3));
        unsigned size = 1u << ((r >> 2) % 3);
        if (r & 0x10)
            ioport_write(&f->bus, port, rnd(), size);
        else
            (void)ioport_read(&f->bus, port, size);
        if ((r >> 5) % 16 == 0)
            at(f, vclock_now(&f->clock) + rnd() % (3 * SEC));
        if ((r >> 9) % 4096 == 0)
            at(f, vclock_now(&f->clock) + (uint64_t)(rnd() % 100) * 86400 * SEC); /* days */
        if (f->clock.armed)
            assert_true(f->clock.armed->deadline > f->clock.now ||
                        f->clock.armed->deadline == f->clock.now);
        assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
        assert_int_equal(rd(f, RTC_REG_C) & 0x0F, 0);
        assert_false(f->level); /* C was just read */
    }
    /* Afterwards a sane guest still gets a working clock. */
    wr(f, RTC_REG_A, 0x26);
    uint64_t t = vclock_now(&f->clock);
    guest_set(f, RTC_B_24H, TIME(0x24, 0x02, 0x28, 4, 0x23, 0x59, 0x59));
    at(f, t + 3 * SEC);
    assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x29);
}

/* ---- snapshots ---- */

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    wr(f, 0x33, 0x77);
    mc146818_cmos_write(&f->rtc, 0xC0, 0x99);
    wr(f, RTC_SECONDS_ALARM, 0x05);
    wr(f, RTC_MINUTES_ALARM, 0xC0);
    wr(f, RTC_HOURS_ALARM, 0xC0);
    wr(f, RTC_REG_A, 0x2A); /* 64 Hz */
    wr(f, RTC_REG_B, RTC_B_PIE | RTC_B_AIE | RTC_B_24H);
    at(f, 2300 * MS);
    (void)rd(f, RTC_REG_C);
    at(f, vclock_next_deadline(&f->clock)); /* a periodic edge, not acknowledged */
    assert_true(f->level);
    ioport_write(&f->bus, RTC_PORT_INDEX, RTC_NMI_DISABLE | RTC_MINUTES, 1);
    uint64_t now = vclock_now(&f->clock);

    size_t need = device_save(&f->rtc.dev, NULL, 0);
    assert_int_equal(need, 6 + 3 + RTC_CMOS_SIZE + 16);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->rtc.dev, buf, need), need);

    struct fixture *g = calloc(1, sizeof(*g));
    vclock_init(&g->clock);
    ioport_init(&g->bus);
    assert_int_equal(mc146818_attach(&g->rtc, &g->bus, &g->clock, NULL, false), 0);
    g->rtc.irq = (struct irq_line){irq_set, g, 8};
    vclock_advance(&g->clock, now);
    assert_int_equal(device_load(&g->rtc.dev, buf, need), 0);
    assert_true(g->level); /* the pending interrupt is driven again */
    assert_true(mc146818_nmi_disabled(&g->rtc));
    assert_int_equal(ioport_read(&g->bus, RTC_PORT_DATA, 1), 0x00); /* the selected minutes */
    assert_int_equal(mc146818_cmos_read(&g->rtc, 0xC0), 0x99);
    /* Saved again, the state is the same record. */
    uint8_t *again = malloc(need);
    assert_int_equal(device_save(&g->rtc.dev, again, need), need);
    assert_memory_equal(again, buf, need);
    free(again);
    /* Both run on identically from here: the same bytes, flags and interrupts. */
    for (int i = 0; i < 300; i++) {
        uint64_t t = now + (uint64_t)i * 37 * MS;
        at(f, t);
        at(g, t);
        assert_int_equal(packed(f), packed(g));
        for (uint8_t r = RTC_REG_A; r <= 0x7F; r++)
            assert_int_equal(rd(f, r), rd(g, r));
        assert_int_equal(f->level, g->level);
    }

    /* Malformed records are refused and leave the device reset (enables off). */
    uint8_t *bad = malloc(need + 1);
    memcpy(bad, buf, need);
    bad[need] = 0;
    assert_int_equal(device_load(&g->rtc.dev, bad, need + 1), -1);
    assert_int_equal(rd(g, RTC_REG_B), RTC_B_24H);
    assert_false(g->level);
    assert_int_equal(device_load(&g->rtc.dev, buf, need - 1), -1);
    memcpy(bad, buf, need);
    bad[0] = 2; /* a version from the future */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6] = 0x80; /* index beyond 0x7F */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 3 + RTC_REG_C] = 0x0F; /* flags that do not exist */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    memcpy(bad, buf, need);
    bad[6 + 3 + RTC_REG_B] = RTC_B_SET | RTC_B_UIE; /* a state the chip cannot be in */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    memcpy(bad, buf, need);
    memset(bad + 6 + 3 + RTC_CMOS_SIZE, 0x7F, 8); /* divider origin after the sync point */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    memcpy(bad, buf, need);
    memset(bad + 6 + 3 + RTC_CMOS_SIZE, 0x80, 8); /* origin far before time 0 */
    assert_int_equal(device_load(&g->rtc.dev, bad, need), -1);
    assert_int_equal(device_load(&g->rtc.dev, buf, need), 0);

    mc146818_detach(&g->rtc);
    free(g);
    free(bad);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_conversion),
        cmocka_unit_test_setup_teardown(power_on_state, setup, teardown),
        cmocka_unit_test_setup_teardown(bcd_calendar, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_calendar, setup, teardown),
        cmocka_unit_test_setup_teardown(twelve_hour_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(set_freezes, setup, teardown),
        cmocka_unit_test_setup_teardown(uip_window, setup, teardown),
        cmocka_unit_test_setup_teardown(periodic_rates, setup, teardown),
        cmocka_unit_test_setup_teardown(periodic_after_divider_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(update_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(alarm_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(alarm_every_second, setup, teardown),
        cmocka_unit_test_setup_teardown(alarm_twelve_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(register_c, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(nmi_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(index_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(upper_bank, setup_upper, teardown),
        cmocka_unit_test_setup_teardown(memory_bytes, setup, teardown),
        cmocka_unit_test(jump_equals_steps),
        cmocka_unit_test_setup_teardown(hostile_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
