/* x87 data movement without the host x87.
 *
 * fpu_host_run() loads the guest's state into the host x87 with FRSTOR and saves it with
 * FNSAVE around every instruction: exact, but about 100 ns per instruction on the hosts we
 * measured. Loads, stores and exchanges of ordinary values involve no rounding and no
 * exception, so they are done here on the saved state: FLD/FXCH/FST/FSTP between registers,
 * FCHS, FABS, FLD1, FLDZ, FLD m32/m64/m80, FILD m16/m32/m64 and FSTP m80. Like the hardware
 * (and the host the native differential test compares with), they clear C1 and keep C0, C2
 * and C3. Anything unusual -- an empty source, a full destination, NaNs, denormals or
 * unsupported encodings in memory -- returns false and takes the host path, which raises
 * what the hardware raises. */
#include "cpu/x87_moves.h"

#include "cpu/fpu.h"

static bool st_valid(const struct cpu *c, unsigned i)
{
    return (c->fpu.tag_valid >> ((fpu_top(c) + i) & 7)) & 1;
}

static struct fpreg *st(struct cpu *c, unsigned i) { return &c->fpu.r[(fpu_top(c) + i) & 7]; }

static bool push_slot_free(const struct cpu *c)
{
    return !((c->fpu.tag_valid >> ((fpu_top(c) - 1) & 7)) & 1);
}

static void push(struct cpu *c, uint64_t mant, uint16_t sexp)
{
    unsigned top = (fpu_top(c) - 1) & 7;
    c->fpu.r[top] = (struct fpreg){.mant = mant, .sexp = sexp};
    c->fpu.tag_valid |= (uint8_t)(1u << top);
    fpu_set_top(c, top);
}

static void pop(struct cpu *c)
{
    unsigned top = fpu_top(c);
    c->fpu.tag_valid &= (uint8_t)~(1u << top);
    fpu_set_top(c, top + 1);
}

/* Zero, a normal number or an infinity in extended format: what FLD m80 / FSTP m80 copy
 * without a second look. */
static bool ordinary_ext(uint64_t mant, uint16_t sexp)
{
    unsigned e = sexp & 0x7FFF;
    bool j = mant >> 63;
    if (e == 0)
        return mant == 0;
    if (e == 0x7FFF)
        return j && (mant << 1) == 0;
    return j;
}

/* An integer (|v| < 2^64) as an extended value: exact. */
static void push_int(struct cpu *c, int64_t v)
{
    if (v == 0) {
        push(c, 0, 0);
        return;
    }
    uint16_t sign = v < 0 ? 0x8000 : 0;
    uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int lz = __builtin_clzll(a);
    push(c, a << lz, (uint16_t)(sign | (16383 + 63 - lz)));
}

/* A binary32/binary64 value (exponent `e` of `ebits`, fraction `f` of `fbits`) that is zero,
 * normal or infinite, as an extended value; false for denormals and NaNs. */
static bool push_ieee(struct cpu *c, bool neg, uint32_t e, uint64_t f, unsigned ebits,
                      unsigned fbits)
{
    const uint32_t emax = (1u << ebits) - 1, bias = emax >> 1;
    uint16_t sign = neg ? 0x8000 : 0;
    if (e == 0) {
        if (f != 0)
            return false; /* denormal: #D */
        push(c, 0, sign);
    } else if (e == emax) {
        if (f != 0)
            return false; /* NaN */
        push(c, 1ull << 63, sign | 0x7FFF);
    } else {
        push(c, 1ull << 63 | f << (63 - fbits), (uint16_t)(sign | (e - bias + 16383)));
    }
    return true;
}

bool x87_move_reg(struct cpu *c, unsigned op, unsigned m)
{
    if (op == 1 && m < 0x08) { /* FLD ST(i) */
        if (!st_valid(c, m) || !push_slot_free(c))
            return false;
        struct fpreg v = *st(c, m);
        push(c, v.mant, v.sexp);
        return true;
    }
    if (op == 1 && m < 0x10) { /* FXCH ST(i) */
        unsigned i = m & 7;
        if (!st_valid(c, 0) || !st_valid(c, i))
            return false;
        struct fpreg t = *st(c, 0);
        *st(c, 0) = *st(c, i);
        *st(c, i) = t;
        return true;
    }
    if (op == 5 && m >= 0x10 && m < 0x20) { /* FST ST(i), FSTP ST(i) */
        unsigned i = m & 7;
        if (!st_valid(c, 0))
            return false;
        *st(c, i) = *st(c, 0);
        c->fpu.tag_valid |= (uint8_t)(1u << ((fpu_top(c) + i) & 7));
        if (m >= 0x18)
            pop(c);
        return true;
    }
    if (op == 1 && (m == 0x20 || m == 0x21)) { /* FCHS, FABS */
        if (!st_valid(c, 0))
            return false;
        struct fpreg *r = st(c, 0);
        r->sexp = m == 0x20 ? r->sexp ^ 0x8000 : r->sexp & 0x7FFF;
        return true;
    }
    if (op == 1 && (m == 0x28 || m == 0x2E)) { /* FLD1, FLDZ */
        if (!push_slot_free(c))
            return false;
        if (m == 0x28)
            push(c, 1ull << 63, 0x3FFF);
        else
            push(c, 0, 0);
        return true;
    }
    return false;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = n; k-- > 0;)
        v = v << 8 | p[k];
    return v;
}

bool x87_move_load(struct cpu *c, unsigned op, unsigned reg, const uint8_t *buf)
{
    if (!push_slot_free(c))
        return false;
    if (op == 3 && reg == 5) { /* FLD m80 */
        uint64_t mant = get_le(buf, 8);
        uint16_t sexp = (uint16_t)get_le(buf + 8, 2);
        if (!ordinary_ext(mant, sexp))
            return false;
        push(c, mant, sexp);
        return true;
    }
    if (op == 5 && reg == 0) { /* FLD m64 */
        uint64_t v = get_le(buf, 8);
        return push_ieee(c, v >> 63, (uint32_t)(v >> 52) & 0x7FF, v & ((1ull << 52) - 1), 11,
                         52);
    }
    if (op == 1 && reg == 0) { /* FLD m32 */
        uint32_t v = (uint32_t)get_le(buf, 4);
        return push_ieee(c, v >> 31, (v >> 23) & 0xFF, v & 0x7FFFFF, 8, 23);
    }
    if (op == 3 && reg == 0) { /* FILD m32 */
        push_int(c, (int32_t)(uint32_t)get_le(buf, 4));
        return true;
    }
    if (op == 7 && reg == 0) { /* FILD m16 */
        push_int(c, (int16_t)(uint16_t)get_le(buf, 2));
        return true;
    }
    if (op == 7 && reg == 5) { /* FILD m64 */
        push_int(c, (int64_t)get_le(buf, 8));
        return true;
    }
    return false;
}

bool x87_move_store(struct cpu *c, unsigned op, unsigned reg, uint8_t *buf)
{
    if (!(op == 3 && reg == 7) || !st_valid(c, 0)) /* FSTP m80 */
        return false;
    const struct fpreg *r = st(c, 0);
    if (!ordinary_ext(r->mant, r->sexp))
        return false;
    for (unsigned k = 0; k < 8; k++)
        buf[k] = (uint8_t)(r->mant >> (8 * k));
    buf[8] = (uint8_t)r->sexp;
    buf[9] = (uint8_t)(r->sexp >> 8);
    pop(c);
    return true;
}
