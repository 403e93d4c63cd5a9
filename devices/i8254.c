#include "devices/i8254.h"

#include <string.h>

#define NEVER UINT64_MAX
#define CTRL_PORT (I8254_BASE + 3)

/* ---- time ---- */

uint64_t i8254_ticks(uint64_t ns)
{
    /* Split so the product stays below 2^64 whatever the time. */
    return ns / NS_PER_SEC * I8254_HZ + ns % NS_PER_SEC * I8254_HZ / NS_PER_SEC;
}

uint64_t i8254_tick_time(uint64_t tick)
{
    /* The first nanosecond at which i8254_ticks() reaches `tick`. */
    return tick / I8254_HZ * NS_PER_SEC + (tick % I8254_HZ * NS_PER_SEC + I8254_HZ - 1) / I8254_HZ;
}

static uint64_t now_tick(const struct i8254 *p) { return i8254_ticks(vclock_now(p->clock)); }

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---- counting element arithmetic ---- */

static unsigned mode_of(const struct i8254_counter *c)
{
    unsigned m = (c->ctrl >> 1) & 7;
    return m >= 6 ? m - 4 : m; /* M2 is a don't-care for modes 2 and 3 */
}

static bool bcd_of(const struct i8254_counter *c) { return c->ctrl & 1; }
static unsigned rw_of(const struct i8254_counter *c) { return (c->ctrl >> 4) & 3; }

/* Each BCD digit weighs its decade even when it is not a decimal digit (A-F): that is how the
 * decade counters count down from it. */
static uint32_t bcd_value(uint16_t raw)
{
    return (raw & 0xFu) + ((raw >> 4) & 0xFu) * 10 + ((raw >> 8) & 0xFu) * 100 + (raw >> 12) * 1000u;
}

/* Decrements from `raw` until CE reaches zero; a count of 0 is the full range. */
static uint32_t steps(uint16_t raw, bool bcd)
{
    uint32_t v = bcd ? bcd_value(raw) : raw;
    return v ? v : (bcd ? 10000 : 65536);
}

/* CE after k decrements. A BCD digit receives one decrement per borrow from below and wraps
 * 0 -> 9 (then stays decimal); digits no borrow reached keep whatever was written. */
static uint16_t bcd_sub(uint16_t raw, uint64_t k)
{
    uint16_t r = 0;
    uint64_t low = 0, weight = 1;
    for (unsigned i = 0; i < 4; i++) {
        unsigned d = (raw >> (4 * i)) & 0xF;
        uint64_t dec = k > low ? 1 + (k - low - 1) / weight : 0;
        unsigned nd = dec <= d ? d - (unsigned)dec : 9 - (unsigned)((dec - d - 1) % 10);
        r |= (uint16_t)(nd << (4 * i));
        low += d * weight;
        weight *= 10;
    }
    return r;
}

static uint16_t ce_sub(uint16_t raw, uint64_t k, bool bcd)
{
    return bcd ? bcd_sub(raw, k) : (uint16_t)(raw - (uint16_t)k);
}

/* ---- segments ---- */

static const struct i8254_seg *seg_at(const struct i8254_counter *c, uint64_t t)
{
    return c->next_pending && t >= c->next.start ? &c->next : &c->cur;
}

/* A pending count of modes 2 and 3 whose time has come becomes the current one. */
static void commit(struct i8254_counter *c, uint64_t t)
{
    if (c->next_pending && t >= c->next.start) {
        c->cur = c->next;
        c->next_pending = false;
    }
}

/* CE and OUT during pulse t. */
static void eval(const struct i8254_counter *c, uint64_t t, uint16_t *ce, bool *out)
{
    const struct i8254_seg *s = seg_at(c, t);
    if (!c->active || t < s->start) {
        *ce = c->hold_ce;
        *out = c->hold_out;
        return;
    }
    bool bcd = bcd_of(c);
    uint64_t e = t - s->start, ec = s->counting ? e : 0;
    uint32_t n = steps(s->ce, bcd);
    unsigned m = mode_of(c);
    switch (m) {
    case 0:
    case 1:
        *ce = ce_sub(s->ce, ec, bcd);
        *out = s->out || ec >= n;
        return;
    case 4:
    case 5:
        *ce = ce_sub(s->ce, ec, bcd);
        *out = !((s->strobe == 1 && s->counting && e == n) || (s->strobe == 2 && e == 0));
        return;
    default: {
        uint32_t q = (uint32_t)((s->phase + ec) % n);
        if (m == 2) {
            /* N, N-1, ..., 1 with OUT low during the pulse at 1; a count of 1 is illegal and
             * leaves OUT high. */
            *ce = ce_sub(s->ce, q, bcd);
            *out = !s->counting || n == 1 || q != n - 1;
        } else {
            /* High for (N+1)/2 pulses, low for N/2; CE steps by two, from N-1 when N is odd. */
            uint32_t h = (n + 1) / 2;
            bool hi = q < h;
            *ce = ce_sub(s->ce, (n & 1) + 2 * (uint64_t)(hi ? q : q - h), bcd);
            *out = !s->counting || hi;
        }
        return;
    }
    }
}

/* The first pulse after t at which OUT may change, or NEVER. */
static uint64_t next_change(const struct i8254_counter *c, uint64_t t)
{
    if (!c->active)
        return NEVER;
    uint64_t best = c->next_pending && c->next.start > t ? c->next.start : NEVER;
    const struct i8254_seg *s = seg_at(c, t);
    if (t < s->start)
        return min64(best, s->start);
    uint64_t e = t - s->start, cand = NEVER;
    uint32_t n = steps(s->ce, bcd_of(c));
    unsigned m = mode_of(c);
    switch (m) {
    case 0:
    case 1:
        if (s->counting && !s->out && e < n)
            cand = s->start + n;
        break;
    case 4:
    case 5:
        if (s->strobe == 2 && e == 0)
            cand = t + 1;
        else if (s->strobe == 1 && s->counting && e <= n)
            cand = e < n ? s->start + n : t + 1;
        break;
    default:
        if (s->counting && n > 1) {
            uint32_t q = (uint32_t)((s->phase + e) % n), h = (n + 1) / 2;
            if (m == 2)
                cand = t + (q < n - 1 ? n - 1 - q : 1);
            else
                cand = t + (q < h ? h - q : n - q);
        }
        break;
    }
    return min64(best, cand);
}

/* The segment in force at pulse t (>= its start), restarted at t with the same future. */
static struct i8254_seg rebase(const struct i8254_counter *c, uint64_t t)
{
    struct i8254_seg s = *seg_at(c, t);
    bool bcd = bcd_of(c);
    uint64_t e = t - s.start, ec = s.counting ? e : 0;
    uint32_t n = steps(s.ce, bcd);
    switch (mode_of(c)) {
    case 0:
    case 1:
        s.out = s.out || ec >= n;
        s.ce = ce_sub(s.ce, ec, bcd);
        break;
    case 4:
    case 5:
        if (s.strobe == 1 && s.counting && e >= n)
            s.strobe = e == n ? 2 : 0;
        else if (s.strobe == 2 && e > 0)
            s.strobe = 0;
        s.ce = ce_sub(s.ce, ec, bcd);
        break;
    default:
        s.phase = (uint32_t)((s.phase + ec) % n);
        break;
    }
    s.start = t;
    return s;
}

/* Whether CE counts in modes 0, 2, 3 and 4: the gate, and in mode 0 no half-written count. */
static bool count_enabled(const struct i8254_counter *c)
{
    return c->gate && !(mode_of(c) == 0 && c->wr_msb);
}

static void set_counting(struct i8254_counter *c, uint64_t t, bool counting)
{
    if (!c->active)
        return;
    if (t < c->cur.start) {
        c->cur.counting = counting; /* the load still happens; counting starts after it */
        return;
    }
    if (c->cur.counting == counting)
        return;
    c->cur = rebase(c, t);
    c->cur.counting = counting;
}

/* CR -> CE on the pulse after t. */
static void load_next_pulse(struct i8254_counter *c, uint64_t t, struct i8254_seg s)
{
    eval(c, t, &c->hold_ce, &c->hold_out);
    s.start = t + 1;
    c->cur = s;
    c->active = true;
    c->next_pending = false;
    c->null_until = t + 1;
}

/* A rising gate in modes 1, 2, 3 and 5. */
static void trigger(struct i8254_counter *c, uint64_t t)
{
    if (!c->count_written)
        return;
    struct i8254_seg s = {.ce = c->cr, .counting = true, .strobe = mode_of(c) == 5};
    load_next_pulse(c, t, s);
}

static void count_complete(struct i8254_counter *c, uint64_t t)
{
    unsigned m = mode_of(c);
    bool bcd = bcd_of(c);
    struct i8254_seg s = {.ce = c->cr, .counting = count_enabled(c)};
    c->count_written = true;
    switch (m) {
    case 0:
        load_next_pulse(c, t, s);
        c->hold_out = false; /* a new count drives OUT low at once */
        break;
    case 4:
        s.strobe = 1;
        load_next_pulse(c, t, s);
        break;
    case 1:
    case 5:
        c->null_until = NEVER; /* loaded by the next trigger */
        break;
    default:
        if (!c->active) {
            load_next_pulse(c, t, s);
        } else if (!c->gate) {
            c->null_until = NEVER; /* the rising gate loads it */
        } else if (t < c->cur.start) {
            c->cur.ce = c->cr; /* not loaded yet: the newer count is */
        } else {
            /* Taken at the end of the current cycle (mode 2) or half-cycle (mode 3). */
            uint32_t n = steps(c->cur.ce, bcd), nn = steps(c->cr, bcd);
            uint32_t q = (uint32_t)((c->cur.phase + (t - c->cur.start)) % n), h = (n + 1) / 2;
            struct i8254_seg nx = {.ce = c->cr, .counting = true};
            if (m == 3 && q < h) {
                nx.start = t + (h - q);
                nx.phase = ((nn + 1) / 2) % nn; /* it begins with its low half */
            } else {
                nx.start = t + (n - q);
            }
            c->next = nx;
            c->next_pending = true;
            c->null_until = nx.start;
        }
        break;
    }
}

/* ---- counter 0's output ---- */

static void update0(struct i8254 *p)
{
    struct i8254_counter *c = &p->c[0];
    uint64_t t = now_tick(p);
    commit(c, t);
    uint16_t ce;
    bool out;
    eval(c, t, &ce, &out);
    if (out != p->out0) {
        p->out0 = out;
        irq_line_set(&p->irq0, out);
    }
    uint64_t nxt = next_change(c, t);
    if (nxt == NEVER)
        vtimer_cancel(&p->timer);
    else
        vtimer_arm(&p->timer, i8254_tick_time(nxt));
}

static void timer_fire(void *opaque) { update0(opaque); }

/* ---- guest accesses ---- */

static void latch_count(struct i8254_counter *c, uint64_t t)
{
    if (c->ol_latched)
        return; /* the first latch holds until read */
    bool out;
    eval(c, t, &c->ol, &out);
    c->ol_latched = true;
}

static void latch_status(struct i8254_counter *c, uint64_t t)
{
    if (c->status_latched)
        return;
    uint16_t ce;
    bool out;
    eval(c, t, &ce, &out);
    c->status = (uint8_t)(out << 7 | (t < c->null_until) << 6 | c->ctrl);
    c->status_latched = true;
}

static void control(struct i8254_counter *c, uint64_t t, uint8_t v)
{
    uint16_t ce;
    bool out;
    eval(c, t, &ce, &out);
    c->ctrl = v & 0x3F;
    c->wr_msb = c->rd_msb = false;
    c->ol_latched = c->status_latched = false; /* reprogramming drops the latches */
    c->count_written = false;
    c->active = false;
    c->next_pending = false;
    c->null_until = NEVER;
    c->hold_ce = ce; /* CE is undefined until loaded: it keeps what it had */
    c->hold_out = mode_of(c) != 0;
}

static void control_write(struct i8254 *p, uint8_t v)
{
    uint64_t t = now_tick(p);
    unsigned sc = v >> 6;
    if (sc == 3) {
        /* Read-back: bit 5 clear latches the count, bit 4 clear the status, of the counters
         * selected by bits 1-3. */
        for (unsigned i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            commit(&p->c[i], t);
            if (!(v & 0x20))
                latch_count(&p->c[i], t);
            if (!(v & 0x10))
                latch_status(&p->c[i], t);
        }
        return;
    }
    struct i8254_counter *c = &p->c[sc];
    commit(c, t);
    if (!(v & 0x30))
        latch_count(c, t);
    else
        control(c, t, v);
}

static uint8_t counter_read(struct i8254 *p, unsigned i)
{
    struct i8254_counter *c = &p->c[i];
    uint64_t t = now_tick(p);
    commit(c, t);
    if (c->status_latched) {
        c->status_latched = false; /* status comes first, then the latched count */
        return c->status;
    }
    uint16_t v = c->ol;
    bool out;
    if (!c->ol_latched)
        eval(c, t, &v, &out);
    switch (rw_of(c)) {
    case 1:
        c->ol_latched = false;
        return (uint8_t)v;
    case 2:
        c->ol_latched = false;
        return (uint8_t)(v >> 8);
    default: {
        uint8_t b = c->rd_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
        if (c->rd_msb)
            c->ol_latched = false;
        c->rd_msb = !c->rd_msb;
        return b;
    }
    }
}

static void counter_write(struct i8254 *p, unsigned i, uint8_t v)
{
    struct i8254_counter *c = &p->c[i];
    uint64_t t = now_tick(p);
    commit(c, t);
    switch (rw_of(c)) {
    case 1: c->cr = v; break;
    case 2: c->cr = (uint16_t)(v << 8); break;
    default:
        if (!c->wr_msb) {
            c->cr_lsb = v;
            c->wr_msb = true;
            if (mode_of(c) == 0)
                set_counting(c, t, false); /* mode 0: the first byte stops the count */
            return;
        }
        c->wr_msb = false;
        c->cr = (uint16_t)(c->cr_lsb | v << 8);
        break;
    }
    count_complete(c, t);
}

static uint8_t pit_read_byte(struct i8254 *p, uint16_t port)
{
    unsigned n = (uint16_t)(port - I8254_BASE);
    return n < 3 ? counter_read(p, n) : 0xFF; /* the control port is write-only */
}

static void pit_write_byte(struct i8254 *p, uint16_t port, uint8_t v)
{
    unsigned n = (uint16_t)(port - I8254_BASE);
    if (n < 3)
        counter_write(p, n, v);
    else if (n == 3)
        control_write(p, v);
    else
        return;
    update0(p);
}

static uint32_t pit_io_read(void *opaque, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++)
        v |= (uint32_t)pit_read_byte(opaque, (uint16_t)(port + i)) << (8 * i);
    return v;
}

static void pit_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    for (unsigned i = 0; i < size && i < 4; i++)
        pit_write_byte(opaque, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
}

static const struct ioport_ops pit_io_ops = {pit_io_read, pit_io_write};

bool i8254_get_out(struct i8254 *p, unsigned counter)
{
    if (counter >= 3)
        return false;
    uint16_t ce;
    bool out;
    eval(&p->c[counter], now_tick(p), &ce, &out);
    return out;
}

bool i8254_speaker(struct i8254 *p)
{
    return (p->port61 & I8254_P61_SPEAKER) && i8254_get_out(p, 2);
}

void i8254_set_gate(struct i8254 *p, unsigned counter, bool level)
{
    if (counter >= 3 || p->c[counter].gate == level)
        return;
    struct i8254_counter *c = &p->c[counter];
    uint64_t t = now_tick(p);
    commit(c, t);
    c->gate = level;
    switch (mode_of(c)) {
    case 0:
    case 4:
        set_counting(c, t, count_enabled(c));
        break;
    case 1:
    case 5:
        if (level)
            trigger(c, t);
        break;
    default:
        /* Low: counting stops and OUT goes high at once. Rising: reload on the next pulse. */
        if (level) {
            trigger(c, t);
        } else {
            set_counting(c, t, false);
            if (c->next_pending) {
                c->next_pending = false;
                c->null_until = NEVER;
            }
        }
        break;
    }
    if (counter == 0)
        update0(p);
}

static uint32_t port61_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8254 *p = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint8_t b = 0xFF;
        if ((uint16_t)(port + i) == I8254_PORT61) {
            b = p->port61 & 0x0F;
            if ((now_tick(p) / I8254_REFRESH_TICKS) & 1)
                b |= I8254_P61_REFRESH;
            if (i8254_get_out(p, 2))
                b |= I8254_P61_OUT2;
        }
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void port61_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct i8254 *p = opaque;
    for (unsigned i = 0; i < size && i < 4; i++) {
        if ((uint16_t)(port + i) != I8254_PORT61)
            continue;
        p->port61 = (uint8_t)(value >> (8 * i)) & 0x0F; /* bits 4-7 are read-only */
        i8254_set_gate(p, 2, p->port61 & I8254_P61_GATE2);
    }
}

static const struct ioport_ops port61_io_ops = {port61_read, port61_write};

/* ---- device ---- */

static void counter_reset(struct i8254_counter *c)
{
    /* Power-up state is undefined; this is mode 0 with no count, OUT low. The gate is a wire. */
    bool gate = c->gate;
    memset(c, 0, sizeof(*c));
    c->ctrl = 0x30;
    c->gate = gate;
    c->null_until = NEVER;
}

static void pit_reset(void *opaque)
{
    struct i8254 *p = opaque;
    vtimer_cancel(&p->timer);
    for (unsigned i = 0; i < 3; i++)
        counter_reset(&p->c[i]);
    p->port61 = 0;
    p->c[2].gate = false;
    p->out0 = false;
    irq_line_set(&p->irq0, false);
}

static uint8_t seg_flags(const struct i8254_seg *s)
{
    return (uint8_t)(s->out | s->counting << 1 | s->strobe << 2);
}

static void save_seg(struct state_writer *w, const struct i8254_seg *s, uint64_t t)
{
    sw_u32(w, (uint32_t)(s->start - t));
    sw_u16(w, s->ce);
    sw_u32(w, s->phase);
    sw_u8(w, seg_flags(s));
}

/* Times are saved relative to the current pulse, every segment rebased to it, so a state
 * restores on a clock that reads the same time, or shifted by whole pulses on another. */
static void pit_save(const void *opaque, struct state_writer *w)
{
    const struct i8254 *p = opaque;
    uint64_t t = now_tick(p);
    for (unsigned i = 0; i < 3; i++) {
        struct i8254_counter c = p->c[i];
        commit(&c, t);
        if (c.active && t >= c.cur.start)
            c.cur = rebase(&c, t);
        if (!c.active)
            c.cur = (struct i8254_seg){.start = t}; /* stale: not part of the state */
        if (!c.next_pending)
            c.next = (struct i8254_seg){.start = t};
        sw_u8(w, c.ctrl);
        sw_u16(w, c.cr);
        sw_u8(w, c.cr_lsb);
        sw_u16(w, (uint16_t)(c.wr_msb | c.rd_msb << 1 | c.count_written << 2 | c.gate << 3 |
                             c.ol_latched << 4 | c.status_latched << 5 | c.active << 6 |
                             c.next_pending << 7 | c.hold_out << 8));
        sw_u16(w, c.ol);
        sw_u8(w, c.status);
        sw_u16(w, c.hold_ce);
        sw_u32(w, c.null_until == NEVER ? UINT32_MAX
                  : c.null_until <= t   ? 0
                                        : (uint32_t)(c.null_until - t));
        save_seg(w, &c.cur, t);
        save_seg(w, &c.next, t);
    }
    sw_u8(w, p->port61);
}

#define MAX_AHEAD 0x20000u /* further than any pending event can lie: 65536 pulses and one */

static bool load_seg(struct state_reader *r, struct i8254_seg *s, uint32_t *delta, bool bcd,
                     bool periodic)
{
    *delta = sr_u32(r);
    s->ce = sr_u16(r);
    s->phase = sr_u32(r);
    uint8_t f = sr_u8(r);
    s->out = f & 1;
    s->counting = f & 2;
    s->strobe = (uint8_t)(f >> 2);
    return (f >> 2) <= 2 && (periodic ? s->phase < steps(s->ce, bcd) : s->phase == 0);
}

static int pit_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct i8254 *p = opaque;
    if (version != 1)
        return -1;
    uint64_t t = now_tick(p);
    struct i8254_counter cs[3];
    memset(cs, 0, sizeof(cs));
    for (unsigned i = 0; i < 3; i++) {
        struct i8254_counter *c = &cs[i];
        c->ctrl = sr_u8(r);
        c->cr = sr_u16(r);
        c->cr_lsb = sr_u8(r);
        uint16_t f = sr_u16(r);
        c->ol = sr_u16(r);
        c->status = sr_u8(r);
        c->hold_ce = sr_u16(r);
        uint32_t nul = sr_u32(r);
        if (r->error || (c->ctrl & ~0x3F) || !(c->ctrl & 0x30) || (f & ~0x1FF) ||
            (nul != UINT32_MAX && nul > MAX_AHEAD))
            return -1;
        c->wr_msb = f & 1;
        c->rd_msb = f & 2;
        c->count_written = f & 4;
        c->gate = f & 8;
        c->ol_latched = f & 16;
        c->status_latched = f & 32;
        c->active = f & 64;
        c->next_pending = f & 128;
        c->hold_out = f & 256;
        c->null_until = nul == UINT32_MAX ? NEVER : t + nul;
        unsigned m = mode_of(c);
        bool periodic = m == 2 || m == 3;
        uint32_t dcur, dnext;
        if (!load_seg(r, &c->cur, &dcur, bcd_of(c), periodic) ||
            !load_seg(r, &c->next, &dnext, bcd_of(c), periodic) || dcur > 1 ||
            (c->next_pending && (!periodic || dnext == 0 || dnext > MAX_AHEAD)))
            return -1;
        c->cur.start = t + dcur;
        c->next.start = c->next_pending ? t + dnext : 0;
        if (!c->active)
            memset(&c->cur, 0, sizeof(c->cur));
        if (!c->next_pending)
            memset(&c->next, 0, sizeof(c->next));
    }
    uint8_t port61 = sr_u8(r);
    if (r->error || (port61 & ~0x0F))
        return -1;
    memcpy(p->c, cs, sizeof(cs));
    p->port61 = port61;
    /* Drive irq0 whatever level it had, and re-arm the timer. */
    p->out0 = !i8254_get_out(p, 0);
    update0(p);
    return 0;
}

static const struct device_ops pit_device_ops = {
    .name = "i8254",
    .state_version = 1,
    .reset = pit_reset,
    .save = pit_save,
    .load = pit_load,
};

int i8254_attach(struct i8254 *p, struct ioport_bus *bus, struct vclock *clock)
{
    memset(p, 0, sizeof(*p));
    p->dev = (struct device){&pit_device_ops, p};
    p->clock = clock;
    vtimer_init(&p->timer, clock, timer_fire, p);
    p->c[0].gate = p->c[1].gate = true;
    pit_reset(p);
    return ioport_register(bus, I8254_BASE, 4, &pit_io_ops, p);
}

int i8254_attach_port61(struct i8254 *p, struct ioport_bus *bus)
{
    return ioport_register(bus, I8254_PORT61, 1, &port61_io_ops, p);
}
