#include "devices/mc146818.h"

#include <string.h>

/* The divider is followed in units of 1/65536 s: half a cycle of the 32.768 kHz time base,
 * so that the half-period phase of the fastest periodic rate (32768 Hz) is still whole. */
#define UNITS_PER_SEC 65536u
#define UPDATE_START 32768u /* the first update cycle begins 0.5 s after the divider origin */
#define UIP_LEAD 16u        /* 244 us: UIP rises this long before an update cycle begins */
#define UPDATE_LEN 130u     /* 1984 us: the update cycle; the new second appears at its end */
#define FIRST_END (UPDATE_START + UPDATE_LEN)

#define SECS_PER_DAY 86400u

/* ---- divider arithmetic ---- */

static bool divider_running(uint8_t a)
{
    /* 000, 001, 010 count; 11x holds the chain in reset; 011 and 10x are factory tests. */
    return (a & RTC_A_DV_MASK) <= RTC_A_DV_32KHZ;
}

static bool running(const struct mc146818 *rtc) { return divider_running(rtc->cmos[RTC_REG_A]); }

/* Period of the periodic tap in units, or 0 when RS selects none (datasheet table 5). */
static uint64_t periodic_units(const struct mc146818 *rtc)
{
    uint8_t a = rtc->cmos[RTC_REG_A];
    unsigned rs = a & RTC_A_RS_MASK;
    if (!rs)
        return 0;
    /* With the 32.768 kHz time base, RS 1 and 2 tap the same stages as RS 8 and 9. */
    if ((a & RTC_A_DV_MASK) == RTC_A_DV_32KHZ && rs <= 2)
        rs += 7;
    return (uint64_t)1 << rs; /* RS 3 = 8 units = 8192 Hz ... RS 15 = 32768 units = 2 Hz */
}

/* Divider units elapsed from the origin to virtual time t (0 before the origin). */
static uint64_t units_at(const struct mc146818 *rtc, uint64_t t)
{
    uint64_t d;
    if (rtc->origin_ns >= 0) {
        if (t < (uint64_t)rtc->origin_ns)
            return 0;
        d = t - (uint64_t)rtc->origin_ns;
    } else {
        d = t + (uint64_t)-rtc->origin_ns; /* origin >= -1 s: no overflow for t < 2^63 */
    }
    /* Split so neither product overflows 64 bits. */
    return (d / NS_PER_SEC) * UNITS_PER_SEC + (d % NS_PER_SEC) * UNITS_PER_SEC / NS_PER_SEC;
}

/* Nanoseconds until `units` have fully elapsed (rounded up); saturates. */
static uint64_t ns_of_units(uint64_t units)
{
    uint64_t whole = units / UNITS_PER_SEC;
    if (whole > UINT64_MAX / NS_PER_SEC - 1)
        return UINT64_MAX;
    return whole * NS_PER_SEC + ((units % UNITS_PER_SEC) * NS_PER_SEC + UNITS_PER_SEC - 1) / UNITS_PER_SEC;
}

/* The first virtual time at which `units` have elapsed since the origin; UINT64_MAX if never. */
static uint64_t time_of_units(const struct mc146818 *rtc, uint64_t units)
{
    uint64_t ns = ns_of_units(units);
    if (rtc->origin_ns >= 0)
        return ns > UINT64_MAX - (uint64_t)rtc->origin_ns ? UINT64_MAX : ns + (uint64_t)rtc->origin_ns;
    uint64_t back = (uint64_t)-rtc->origin_ns;
    return ns > back ? ns - back : 0;
}

/* Number of update cycles that have ended by divider count u. */
static uint64_t updates_by(uint64_t u) { return u >= FIRST_END ? (u - FIRST_END) / UNITS_PER_SEC + 1 : 0; }

/* Number of periodic edges by divider count u, for period p: at p/2, 3p/2, ... */
static uint64_t edges_by(uint64_t u, uint64_t p) { return u >= p / 2 ? (u - p / 2) / p + 1 : 0; }

static bool uip(const struct mc146818 *rtc)
{
    if (!running(rtc) || (rtc->cmos[RTC_REG_B] & RTC_B_SET))
        return false;
    uint64_t u = units_at(rtc, vclock_now(rtc->clock));
    const uint64_t rise = UPDATE_START - UIP_LEAD;
    return u >= rise && (u - rise) % UNITS_PER_SEC < UIP_LEAD + UPDATE_LEN;
}

/* ---- register formats ---- */

static bool binary(const struct mc146818 *rtc) { return rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY; }
static bool h24(const struct mc146818 *rtc) { return rtc->cmos[RTC_REG_B] & RTC_B_24H; }

/* Raw bytes decode without checks (a BCD 0xFF is 165); the carries below normalise them. */
static unsigned dec(const struct mc146818 *rtc, uint8_t b)
{
    return binary(rtc) ? b : (unsigned)(b >> 4) * 10 + (b & 15);
}

static uint8_t enc(const struct mc146818 *rtc, unsigned v)
{
    v %= 100;
    return binary(rtc) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned dec_hour(const struct mc146818 *rtc, uint8_t b)
{
    if (h24(rtc))
        return dec(rtc, b);
    /* 12 AM is midnight, 12 PM noon. */
    return dec(rtc, b & 0x7F) % 12 + (b & 0x80 ? 12 : 0);
}

static uint8_t enc_hour(const struct mc146818 *rtc, unsigned h)
{
    if (h24(rtc))
        return enc(rtc, h);
    unsigned h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(enc(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned days_in_month(unsigned mon, unsigned year)
{
    static const uint8_t days[13] = {31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 1 || mon > 12)
        return 31;
    /* The chip's leap rule: every year divisible by 4 (right for 2001-2099). */
    return days[mon] + (mon == 2 && year % 4 == 0);
}

static unsigned time_of_day(const struct mc146818 *rtc)
{
    const uint8_t *c = rtc->cmos;
    return dec(rtc, c[RTC_SECONDS]) + 60 * dec(rtc, c[RTC_MINUTES]) + 3600 * dec_hour(rtc, c[RTC_HOURS]);
}

static void advance_date(struct mc146818 *rtc, uint64_t days)
{
    uint8_t *c = rtc->cmos;
    unsigned dow = dec(rtc, c[RTC_DAY_OF_WEEK]);
    c[RTC_DAY_OF_WEEK] = enc(rtc, (unsigned)((dow + 6 + days % 7) % 7) + 1);
    unsigned mday = dec(rtc, c[RTC_DAY_OF_MONTH]), mon = dec(rtc, c[RTC_MONTH]);
    unsigned year = dec(rtc, c[RTC_YEAR]);
    /* From a valid 1 January, 4 years hold exactly one leap day under the chip's rule. */
    if (mday == 1 && mon == 1 && year < 100 && days >= 1461) {
        year = (unsigned)((year + 4 * (days / 1461)) % 100);
        days %= 1461;
    }
    while (days) {
        unsigned dim = days_in_month(mon, year);
        unsigned left = mday < dim ? dim - mday : 0; /* an invalid day ends its month */
        if (days <= left) {
            mday += (unsigned)days;
            break;
        }
        days -= left + 1;
        mday = 1;
        if (mon >= 12) {
            mon = 1;
            year = (year + 1) % 100;
        } else {
            mon++;
        }
    }
    c[RTC_DAY_OF_MONTH] = enc(rtc, mday);
    c[RTC_MONTH] = enc(rtc, mon);
    c[RTC_YEAR] = enc(rtc, year);
}

/* Applies n update cycles at once; the result is the same as n single updates. */
static void advance(struct mc146818 *rtc, uint64_t n)
{
    uint8_t *c = rtc->cmos;
    uint64_t t = (uint64_t)time_of_day(rtc) + n;
    c[RTC_SECONDS] = enc(rtc, (unsigned)(t % 60));
    c[RTC_MINUTES] = enc(rtc, (unsigned)(t / 60 % 60));
    c[RTC_HOURS] = enc_hour(rtc, (unsigned)(t / 3600 % 24));
    uint64_t days = t / SECS_PER_DAY;
    if (days)
        advance_date(rtc, days);
}

/* ---- alarm ---- */

#define ALARM_ANY (-1)
#define ALARM_NEVER (-2)

/* The value in [0, limit) whose register encoding is the alarm byte. */
static int alarm_value(const struct mc146818 *rtc, uint8_t byte, unsigned limit, bool hour)
{
    if (byte >= RTC_ALARM_DONT_CARE)
        return ALARM_ANY;
    for (unsigned v = 0; v < limit; v++)
        if ((hour ? enc_hour(rtc, v) : enc(rtc, v)) == byte)
            return (int)v;
    return ALARM_NEVER;
}

/* How many updates from now until the first whose time matches the alarm: 1..86400, or 0 if
 * none ever does. After one update the time of day is canonical, so matching is done on
 * canonical encodings, in time order: at most 25 hour slots of 60 minutes. */
static uint64_t alarm_next(const struct mc146818 *rtc)
{
    const uint8_t *c = rtc->cmos;
    int as = alarm_value(rtc, c[RTC_SECONDS_ALARM], 60, false);
    int am = alarm_value(rtc, c[RTC_MINUTES_ALARM], 60, false);
    int ah = alarm_value(rtc, c[RTC_HOURS_ALARM], 24, true);
    if (as == ALARM_NEVER || am == ALARM_NEVER || ah == ALARM_NEVER)
        return 0;
    unsigned t1 = (time_of_day(rtc) + 1) % SECS_PER_DAY; /* after the next update */
    unsigned h1 = t1 / 3600, into_hour = t1 % 3600;
    for (unsigned i = 0; i <= 24; i++) {
        if (ah != ALARM_ANY && (unsigned)ah != (h1 + i) % 24)
            continue;
        int64_t hour_start = (int64_t)i * 3600 - into_hour; /* offset from t1 */
        for (int m = am == ALARM_ANY ? 0 : am; m < 60; m++) {
            int64_t start = hour_start + m * 60;
            if (start + 59 >= 0) {
                int64_t smin = start < 0 ? -start : 0;
                int64_t s = as == ALARM_ANY ? smin : as;
                if (s >= smin) {
                    int64_t d = start + s;
                    return d < (int64_t)SECS_PER_DAY ? (uint64_t)d + 1 : 0;
                }
            }
            if (am != ALARM_ANY)
                break;
        }
    }
    return 0;
}

/* ---- time keeping, flags, interrupt ---- */

static void update_irq(struct mc146818 *rtc)
{
    uint8_t b = rtc->cmos[RTC_REG_B], f = rtc->cmos[RTC_REG_C];
    bool level = ((f & RTC_C_PF) && (b & RTC_B_PIE)) || ((f & RTC_C_AF) && (b & RTC_B_AIE)) ||
                 ((f & RTC_C_UF) && (b & RTC_B_UIE));
    if (level != rtc->irq_level) {
        rtc->irq_level = level;
        irq_line_set(&rtc->irq, level);
    }
}

/* Applies every update cycle and periodic edge in (synced_ns, now], under the current settings;
 * callers sync before changing anything that affects timing. */
static void sync(struct mc146818 *rtc)
{
    uint64_t now = vclock_now(rtc->clock);
    if (now <= rtc->synced_ns)
        return;
    if (running(rtc)) {
        uint8_t *flags = &rtc->cmos[RTC_REG_C];
        uint64_t u0 = units_at(rtc, rtc->synced_ns), u1 = units_at(rtc, now);
        uint64_t p = periodic_units(rtc);
        if (p && edges_by(u1, p) > edges_by(u0, p))
            *flags |= RTC_C_PF; /* set whatever PIE says */
        if (!(rtc->cmos[RTC_REG_B] & RTC_B_SET)) {
            uint64_t n = updates_by(u1) - updates_by(u0);
            if (n) {
                *flags |= RTC_C_UF;
                if (!(*flags & RTC_C_AF)) {
                    uint64_t k = alarm_next(rtc);
                    if (k && k <= n)
                        *flags |= RTC_C_AF;
                }
                advance(rtc, n);
            }
        }
    }
    rtc->synced_ns = now;
    update_irq(rtc);
}

/* Arms the timer for the earliest event that would raise IRQF: enabled, and its flag clear. */
static void reschedule(struct mc146818 *rtc)
{
    uint64_t when = UINT64_MAX;
    uint8_t b = rtc->cmos[RTC_REG_B], f = rtc->cmos[RTC_REG_C];
    if (running(rtc)) {
        uint64_t u = units_at(rtc, rtc->synced_ns);
        uint64_t p = periodic_units(rtc);
        if ((b & RTC_B_PIE) && !(f & RTC_C_PF) && p) {
            uint64_t t = time_of_units(rtc, p / 2 + edges_by(u, p) * p);
            when = t < when ? t : when;
        }
        if (!(b & RTC_B_SET)) {
            uint64_t next = updates_by(u); /* index of the next update to end */
            uint64_t k = 0;
            if ((b & RTC_B_UIE) && !(f & RTC_C_UF))
                k = 1;
            else if ((b & RTC_B_AIE) && !(f & RTC_C_AF))
                k = alarm_next(rtc);
            if (k) {
                uint64_t t = time_of_units(rtc, FIRST_END + (next + k - 1) * UNITS_PER_SEC);
                when = t < when ? t : when;
            }
        }
    }
    if (when == UINT64_MAX)
        vtimer_cancel(&rtc->timer);
    else
        vtimer_arm(&rtc->timer, when);
}

static void rtc_timer_fire(void *opaque)
{
    struct mc146818 *rtc = opaque;
    sync(rtc);
    reschedule(rtc);
}

/* ---- registers ---- */

static uint8_t reg_read(struct mc146818 *rtc, unsigned idx)
{
    switch (idx) {
    case RTC_REG_A:
        return (uint8_t)(rtc->cmos[RTC_REG_A] | (uip(rtc) ? RTC_A_UIP : 0));
    case RTC_REG_B:
        return rtc->cmos[RTC_REG_B];
    case RTC_REG_C: {
        sync(rtc);
        uint8_t v = (uint8_t)(rtc->cmos[RTC_REG_C] | (rtc->irq_level ? RTC_C_IRQF : 0));
        rtc->cmos[RTC_REG_C] = 0;
        update_irq(rtc);
        if (v)
            reschedule(rtc);
        return v;
    }
    case RTC_REG_D:
        return RTC_D_VRT; /* the battery is always good */
    default:
        if (idx < RTC_REG_A)
            sync(rtc);
        return rtc->cmos[idx & 0x7F];
    }
}

static void reg_write(struct mc146818 *rtc, unsigned idx, uint8_t v)
{
    switch (idx) {
    case RTC_REG_A: {
        sync(rtc);
        bool was = running(rtc);
        rtc->cmos[RTC_REG_A] = v & 0x7F;
        if (!was && running(rtc)) {
            /* Leaving reset restarts the chain: the first update begins 0.5 s from now. */
            uint64_t now = vclock_now(rtc->clock);
            rtc->origin_ns = (int64_t)now;
            rtc->synced_ns = now;
        }
        break;
    }
    case RTC_REG_B:
        sync(rtc);
        if (v & RTC_B_SET)
            v &= (uint8_t)~RTC_B_UIE; /* datasheet: SET going high clears UIE */
        rtc->cmos[RTC_REG_B] = v;
        update_irq(rtc);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        return; /* read only */
    default:
        if (idx >= RTC_REG_A) {
            rtc->cmos[idx & 0x7F] = v;
            return;
        }
        sync(rtc);
        rtc->cmos[idx] = v;
        break;
    }
    reschedule(rtc);
}

static uint32_t rtc_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct mc146818 *rtc = opaque;
    uint32_t v = 0;
    /* A wider access is split into byte cycles on consecutive ports, as on the ISA bus. */
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint8_t b = 0xFF; /* the index ports are write-only */
        unsigned p = port + i;
        if (p == RTC_PORT_DATA)
            b = reg_read(rtc, rtc->index & 0x7F);
        else if (p == RTC_PORT_DATA_HI && rtc->upper_bank)
            b = rtc->cmos[0x80 | (rtc->index_hi & 0x7F)];
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void rtc_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct mc146818 *rtc = opaque;
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        unsigned p = port + i;
        if (p == RTC_PORT_INDEX) {
            rtc->index = b & 0x7F;
            rtc->nmi_disabled = b & RTC_NMI_DISABLE;
        } else if (p == RTC_PORT_DATA) {
            reg_write(rtc, rtc->index & 0x7F, b);
        } else if (rtc->upper_bank && p == RTC_PORT_INDEX_HI) {
            rtc->index_hi = b & 0x7F; /* bit 7 is ignored: no NMI latch here */
        } else if (rtc->upper_bank && p == RTC_PORT_DATA_HI) {
            rtc->cmos[0x80 | (rtc->index_hi & 0x7F)] = b;
        }
    }
}

static const struct ioport_ops rtc_io_ops = {rtc_io_read, rtc_io_write};

/* ---- device interface ---- */

/* The RESET pin (datasheet): interrupt enables and flags clear; the time, A, SET, DM, 24/12,
 * DSE and the RAM survive. */
static void rtc_reset(void *opaque)
{
    struct mc146818 *rtc = opaque;
    sync(rtc);
    rtc->cmos[RTC_REG_B] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
    rtc->cmos[RTC_REG_C] = 0;
    update_irq(rtc);
    reschedule(rtc);
}

static void rtc_save(const void *opaque, struct state_writer *w)
{
    const struct mc146818 *rtc = opaque;
    sw_u8(w, rtc->index);
    sw_u8(w, rtc->index_hi);
    sw_u8(w, rtc->nmi_disabled);
    sw_bytes(w, rtc->cmos, RTC_CMOS_SIZE);
    sw_u64(w, (uint64_t)rtc->origin_ns);
    sw_u64(w, rtc->synced_ns);
}

static int rtc_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct mc146818 *rtc = opaque;
    if (version != 1)
        return -1;
    uint8_t index = sr_u8(r), index_hi = sr_u8(r), nmi = sr_u8(r);
    uint8_t cmos[RTC_CMOS_SIZE];
    sr_bytes(r, cmos, sizeof(cmos));
    int64_t origin = (int64_t)sr_u64(r);
    uint64_t synced = sr_u64(r);
    /* Everything later used as an index or in divider arithmetic is checked first. */
    if (r->error || index > 0x7F || index_hi > 0x7F || nmi > 1 || (cmos[RTC_REG_A] & RTC_A_UIP) ||
        (cmos[RTC_REG_C] & (uint8_t)~(RTC_C_PF | RTC_C_AF | RTC_C_UF)) || cmos[RTC_REG_D] != RTC_D_VRT ||
        (cmos[RTC_REG_B] & RTC_B_SET && cmos[RTC_REG_B] & RTC_B_UIE) ||
        synced > (uint64_t)INT64_MAX || origin < -(int64_t)NS_PER_SEC || origin > (int64_t)synced)
        return -1;
    rtc->index = index;
    rtc->index_hi = index_hi;
    rtc->nmi_disabled = nmi;
    memcpy(rtc->cmos, cmos, sizeof(cmos));
    rtc->origin_ns = origin;
    rtc->synced_ns = synced;
    update_irq(rtc);
    reschedule(rtc);
    return 0;
}

static const struct device_ops rtc_device_ops = {
    .name = "mc146818",
    .state_version = 1,
    .reset = rtc_reset,
    .save = rtc_save,
    .load = rtc_load,
};

/* ---- machine interface ---- */

/* Days from 1970-01-01 to a proleptic Gregorian date (m 1-12). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* from 1 March */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void mc146818_epoch_to_tm(int64_t seconds, struct tm *out)
{
    int64_t days = seconds / SECS_PER_DAY, rem = seconds % SECS_PER_DAY;
    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    /* Count in 400-year eras from 0000-03-01, so the leap day ends each year. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned mday = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (mon <= 2);
    memset(out, 0, sizeof(*out));
    out->tm_sec = (int)(rem % 60);
    out->tm_min = (int)(rem / 60 % 60);
    out->tm_hour = (int)(rem / 3600);
    out->tm_mday = (int)mday;
    out->tm_mon = (int)mon - 1;
    out->tm_year = (int)(year - 1900);
    out->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    out->tm_yday = (int)(days - days_from_civil(year, 1, 1));
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void mc146818_set_time(struct mc146818 *rtc, const struct tm *tm)
{
    sync(rtc);
    int year = clamp(tm->tm_year, -1900, 9999 - 1900) + 1900;
    unsigned mon = (unsigned)clamp(tm->tm_mon, 0, 11) + 1;
    unsigned mday = (unsigned)clamp(tm->tm_mday, 1, (int)days_in_month(mon, (unsigned)year));
    if (mon == 2 && mday == 29 && year % 100 == 0 && year % 400 != 0)
        mday = 28; /* a Gregorian non-leap century year */
    int64_t days = days_from_civil(year, mon, mday);
    uint8_t *c = rtc->cmos;
    c[RTC_SECONDS] = enc(rtc, (unsigned)clamp(tm->tm_sec, 0, 59));
    c[RTC_MINUTES] = enc(rtc, (unsigned)clamp(tm->tm_min, 0, 59));
    c[RTC_HOURS] = enc_hour(rtc, (unsigned)clamp(tm->tm_hour, 0, 23));
    c[RTC_DAY_OF_WEEK] = enc(rtc, (unsigned)((days % 7 + 11) % 7) + 1);
    c[RTC_DAY_OF_MONTH] = enc(rtc, mday);
    c[RTC_MONTH] = enc(rtc, mon);
    c[RTC_YEAR] = enc(rtc, (unsigned)(year % 100));
    c[CMOS_CENTURY] = enc(rtc, (unsigned)(year / 100));
    /* Re-phase the divider so that an update cycle ends at this instant. */
    uint64_t now = vclock_now(rtc->clock);
    rtc->origin_ns = (int64_t)now - (int64_t)ns_of_units(FIRST_END);
    rtc->synced_ns = now;
    update_irq(rtc);
    reschedule(rtc);
}

int mc146818_attach(struct mc146818 *rtc, struct ioport_bus *bus, struct vclock *clock,
                    const struct tm *start, bool upper_bank)
{
    memset(rtc, 0, sizeof(*rtc));
    rtc->dev = (struct device){&rtc_device_ops, rtc};
    rtc->clock = clock;
    rtc->upper_bank = upper_bank;
    vtimer_init(&rtc->timer, clock, rtc_timer_fire, rtc);
    rtc->cmos[RTC_REG_A] = RTC_A_DV_32KHZ | 6;
    rtc->cmos[RTC_REG_B] = RTC_B_24H;
    rtc->cmos[RTC_REG_D] = RTC_D_VRT;
    rtc->synced_ns = vclock_now(clock);
    struct tm y2k = {.tm_year = 100, .tm_mon = 0, .tm_mday = 1};
    mc146818_set_time(rtc, start ? start : &y2k);
    if (ioport_register(bus, RTC_PORT_INDEX, 2, &rtc_io_ops, rtc))
        return -1;
    if (upper_bank && ioport_register(bus, RTC_PORT_INDEX_HI, 2, &rtc_io_ops, rtc))
        return -1;
    return 0;
}

void mc146818_detach(struct mc146818 *rtc) { vtimer_cancel(&rtc->timer); }

uint8_t mc146818_cmos_read(struct mc146818 *rtc, unsigned index)
{
    if (index >= RTC_CMOS_SIZE)
        return 0xFF;
    if (index <= RTC_REG_D)
        return reg_read(rtc, index);
    return rtc->cmos[index];
}

void mc146818_cmos_write(struct mc146818 *rtc, unsigned index, uint8_t value)
{
    if (index >= RTC_CMOS_SIZE)
        return;
    if (index <= RTC_REG_D)
        reg_write(rtc, index, value);
    else
        rtc->cmos[index] = value;
}

void mc146818_update_checksum(struct mc146818 *rtc)
{
    uint16_t sum = 0;
    for (unsigned i = CMOS_FLOPPY_TYPES; i < CMOS_CHECKSUM_HI; i++)
        sum = (uint16_t)(sum + rtc->cmos[i]);
    rtc->cmos[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
    rtc->cmos[CMOS_CHECKSUM_LO] = (uint8_t)sum;
}

void mc146818_set_memory_size(struct mc146818 *rtc, uint64_t below_4g, uint64_t above_4g)
{
    const uint64_t KiB = 1024, MiB = 1024 * KiB;
    uint64_t base = below_4g >= 640 * KiB ? 640 : below_4g / KiB;
    uint64_t ext = below_4g > MiB ? (below_4g - MiB) / KiB : 0;
    uint64_t m16 = below_4g > 16 * MiB ? (below_4g - 16 * MiB) / (64 * KiB) : 0;
    uint64_t m4g = above_4g / (64 * KiB);
    ext = ext > 0xFFFF ? 0xFFFF : ext;
    m16 = m16 > 0xFFFF ? 0xFFFF : m16;
    m4g = m4g > 0xFFFFFF ? 0xFFFFFF : m4g;
    uint8_t *c = rtc->cmos;
    c[CMOS_BASE_MEM_LO] = (uint8_t)base;
    c[CMOS_BASE_MEM_HI] = (uint8_t)(base >> 8);
    c[CMOS_EXT_MEM_LO] = c[CMOS_EXT_MEM2_LO] = (uint8_t)ext;
    c[CMOS_EXT_MEM_HI] = c[CMOS_EXT_MEM2_HI] = (uint8_t)(ext >> 8);
    c[CMOS_MEM_16M_LO] = (uint8_t)m16;
    c[CMOS_MEM_16M_HI] = (uint8_t)(m16 >> 8);
    c[CMOS_MEM_4G_LO] = (uint8_t)m4g;
    c[CMOS_MEM_4G_MID] = (uint8_t)(m4g >> 8);
    c[CMOS_MEM_4G_HI] = (uint8_t)(m4g >> 16);
    mc146818_update_checksum(rtc);
}
