/* Unit tests of the lazy arithmetic flags (cpu/flags.c).
 *
 * Each case records an operation the way the interpreter does (cpu/exec_alu.c: ADC is LF_ADD
 * with res = a + b + CF, SBB is LF_SUB with res = a - b - CF; INC/DEC keep CF in eflags) and
 * compares the materialised flags with the values worked out by hand from the SDM's
 * definitions of each instruction (vol. 2: "Flags Affected"; vol. 1 3.4.3: CF = carry/borrow
 * out of the most significant bit, OF = signed overflow, AF = carry/borrow out of bit 3,
 * PF = even parity of the low byte, ZF, SF). Expected values are literals, not computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/flags.h"

#define C FL_CF
#define P FL_PF
#define A FL_AF
#define Z FL_ZF
#define S FL_SF
#define O FL_OF

struct fcase {
    unsigned kind, size;
    uint32_t a, b, res;
    uint32_t cf_before; /* CF in eflags before (matters for INC/DEC only) */
    uint32_t expect;    /* the six arithmetic flags after */
    const char *what;
};

static const struct fcase cases[] = {
    /* ---- ADD ---- */
    {LF_ADD, 1, 0x7F, 0x01, 0x80, 0, A | S | O, "add8 7F+1"},
    {LF_ADD, 1, 0xFF, 0x01, 0x00, 0, C | P | A | Z, "add8 FF+1"},
    {LF_ADD, 1, 0x80, 0x80, 0x00, 0, C | P | Z | O, "add8 80+80"},
    {LF_ADD, 1, 0x00, 0x00, 0x00, 0, P | Z, "add8 0+0"},
    {LF_ADD, 1, 0x0F, 0x01, 0x10, 0, A, "add8 0F+1"},
    {LF_ADD, 1, 0xFF, 0xFF, 0xFE, 0, C | A | S, "add8 FF+FF"},
    {LF_ADD, 1, 0x01, 0x02, 0x03, C, P, "add8 1+2 (stale CF ignored)"},
    {LF_ADD, 2, 0x7FFF, 0x0001, 0x8000, 0, P | A | S | O, "add16 7FFF+1"},
    {LF_ADD, 2, 0xFFFF, 0x0001, 0x0000, 0, C | P | A | Z, "add16 FFFF+1"},
    {LF_ADD, 2, 0x00FF, 0x0001, 0x0100, 0, P | A, "add16 FF+1 (no carry at bit 8)"},
    {LF_ADD, 2, 0x8000, 0x8000, 0x0000, 0, C | P | Z | O, "add16 8000+8000"},
    {LF_ADD, 4, 0x7FFFFFFF, 1, 0x80000000u, 0, P | A | S | O, "add32 7FFFFFFF+1"},
    {LF_ADD, 4, 0xFFFFFFFFu, 1, 0, 0, C | P | A | Z, "add32 FFFFFFFF+1"},
    {LF_ADD, 4, 0x80000000u, 0x80000000u, 0, 0, C | P | Z | O, "add32 80000000*2"},
    {LF_ADD, 4, 0x0000FFFF, 1, 0x00010000, 0, P | A, "add32 FFFF+1 (no carry at bit 16)"},
    {LF_ADD, 4, 0x12345678, 0x11111111, 0x23456789, 0, 0, "add32 plain"},
    /* ---- ADC with carry in (res = a + b + 1) ---- */
    {LF_ADD, 1, 0xFF, 0x00, 0x00, C, C | P | A | Z, "adc8 FF+0+1"},
    {LF_ADD, 1, 0x00, 0xFF, 0x00, C, C | P | A | Z, "adc8 0+FF+1 (b+cf overflows)"},
    {LF_ADD, 1, 0x7F, 0x00, 0x80, C, A | S | O, "adc8 7F+0+1"},
    {LF_ADD, 1, 0xFF, 0xFF, 0xFF, C, C | P | A | S, "adc8 FF+FF+1"},
    {LF_ADD, 1, 0x7F, 0x7F, 0xFF, C, P | A | S | O, "adc8 7F+7F+1"},
    {LF_ADD, 2, 0x7FFF, 0x0000, 0x8000, C, P | A | S | O, "adc16 7FFF+0+1"},
    {LF_ADD, 2, 0xFFFF, 0xFFFF, 0xFFFF, C, C | P | A | S, "adc16 FFFF+FFFF+1"},
    {LF_ADD, 4, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, C, C | P | A | S, "adc32 max+max+1"},
    {LF_ADD, 4, 0x00000000u, 0xFFFFFFFFu, 0x00000000u, C, C | P | A | Z, "adc32 0+max+1"},
    /* ---- SUB / CMP ---- */
    {LF_SUB, 1, 0x80, 0x01, 0x7F, 0, A | O, "sub8 80-1"},
    {LF_SUB, 1, 0x00, 0x01, 0xFF, 0, C | P | A | S, "sub8 0-1"},
    {LF_SUB, 1, 0x01, 0x01, 0x00, 0, P | Z, "sub8 1-1"},
    {LF_SUB, 1, 0x7F, 0xFF, 0x80, 0, C | S | O, "sub8 7F-FF"},
    {LF_SUB, 1, 0x10, 0x01, 0x0F, 0, P | A, "sub8 10-1"},
    {LF_SUB, 1, 0xFF, 0x7F, 0x80, 0, 0 | S, "sub8 FF-7F"},
    {LF_SUB, 2, 0x8000, 0x0001, 0x7FFF, 0, P | A | O, "sub16 8000-1"},
    {LF_SUB, 2, 0x0000, 0x0001, 0xFFFF, 0, C | P | A | S, "sub16 0-1"},
    {LF_SUB, 2, 0x0100, 0x0001, 0x00FF, 0, P | A, "sub16 100-1 (no borrow at bit 8)"},
    {LF_SUB, 4, 0x80000000u, 1, 0x7FFFFFFF, 0, P | A | O, "sub32 80000000-1"},
    {LF_SUB, 4, 0, 1, 0xFFFFFFFFu, 0, C | P | A | S, "sub32 0-1"},
    {LF_SUB, 4, 0x00000100, 1, 0x000000FF, 0, P | A, "sub32 100-1"},
    {LF_SUB, 4, 0x7FFFFFFF, 0xFFFFFFFFu, 0x80000000u, 0, C | P | S | O, "sub32 7FFFFFFF-(-1)"},
    /* ---- SBB with borrow in (res = a - b - 1) ---- */
    {LF_SUB, 1, 0x00, 0x00, 0xFF, C, C | P | A | S, "sbb8 0-0-1"},
    {LF_SUB, 1, 0x80, 0x00, 0x7F, C, A | O, "sbb8 80-0-1"},
    {LF_SUB, 1, 0xFF, 0xFF, 0xFF, C, C | P | A | S, "sbb8 FF-FF-1 (b+cf overflows)"},
    {LF_SUB, 1, 0x01, 0x00, 0x00, C, P | Z, "sbb8 1-0-1"},
    {LF_SUB, 2, 0x8000, 0x0000, 0x7FFF, C, P | A | O, "sbb16 8000-0-1"},
    {LF_SUB, 4, 0x00000000u, 0xFFFFFFFFu, 0x00000000u, C, C | P | A | Z, "sbb32 0-max-1"},
    {LF_SUB, 4, 0x80000000u, 0x7FFFFFFFu, 0x00000000u, C, P | A | Z | O, "sbb32 min-max-1"},
    /* ---- INC: CF unchanged ---- */
    {LF_INC, 1, 0x7F, 1, 0x80, C, C | A | S | O, "inc8 7F (CF=1 kept)"},
    {LF_INC, 1, 0xFF, 1, 0x00, 0, P | A | Z, "inc8 FF (no CF)"},
    {LF_INC, 1, 0x0E, 1, 0x0F, 0, P, "inc8 0E"},
    {LF_INC, 2, 0x7FFF, 1, 0x8000, 0, P | A | S | O, "inc16 7FFF"},
    {LF_INC, 2, 0x00FF, 1, 0x0100, C, C | P | A, "inc16 FF"},
    {LF_INC, 4, 0xFFFFFFFFu, 1, 0, C, C | P | A | Z, "inc32 FFFFFFFF"},
    {LF_INC, 4, 0x7FFFFFFF, 1, 0x80000000u, 0, P | A | S | O, "inc32 7FFFFFFF"},
    /* ---- DEC: CF unchanged ---- */
    {LF_DEC, 1, 0x80, 1, 0x7F, 0, A | O, "dec8 80"},
    {LF_DEC, 1, 0x00, 1, 0xFF, 0, P | A | S, "dec8 0 (no CF)"},
    {LF_DEC, 1, 0x01, 1, 0x00, C, C | P | Z, "dec8 1 (CF=1 kept)"},
    {LF_DEC, 1, 0x10, 1, 0x0F, 0, P | A, "dec8 10"},
    {LF_DEC, 2, 0x8000, 1, 0x7FFF, 0, P | A | O, "dec16 8000"},
    {LF_DEC, 4, 0x80000000u, 1, 0x7FFFFFFF, C, C | P | A | O, "dec32 80000000"},
    {LF_DEC, 4, 0, 1, 0xFFFFFFFFu, 0, P | A | S, "dec32 0"},
    /* ---- AND/OR/XOR/TEST: CF = OF = 0, AF = 0 (undefined; we clear it) ---- */
    {LF_LOGIC, 1, 0xF0, 0x80, 0x80, C, S, "and8 -> 80"},
    {LF_LOGIC, 1, 0x0F, 0xF0, 0x00, C, P | Z, "and8 -> 0"},
    {LF_LOGIC, 1, 0x01, 0x02, 0x03, 0, P, "or8 -> 3"},
    {LF_LOGIC, 2, 0x1234, 0x1234, 0x0000, 0, P | Z, "xor16 -> 0"},
    {LF_LOGIC, 2, 0x8001, 0xFFFF, 0x8001, 0, S, "and16 -> 8001"},
    {LF_LOGIC, 4, 0x80000003u, 0xFFFFFFFFu, 0x80000003u, C, P | S, "and32 -> 80000003"},
    {LF_LOGIC, 4, 0x00000100u, 0x00000100u, 0x00000100u, 0, P, "and32 -> 100 (PF of low byte)"},
};

/* The SDM's condition-code table (vol. 2, Jcc), written out from its definitions. */
static bool sdm_cond(uint32_t f, unsigned cc)
{
    bool cf = f & FL_CF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF, pf = f & FL_PF;
    switch (cc) {
    case 0x0: return of;               /* O */
    case 0x1: return !of;              /* NO */
    case 0x2: return cf;               /* B/C/NAE */
    case 0x3: return !cf;              /* AE/NB/NC */
    case 0x4: return zf;               /* E/Z */
    case 0x5: return !zf;              /* NE/NZ */
    case 0x6: return cf || zf;         /* BE/NA */
    case 0x7: return !cf && !zf;       /* A/NBE */
    case 0x8: return sf;               /* S */
    case 0x9: return !sf;              /* NS */
    case 0xA: return pf;               /* P/PE */
    case 0xB: return !pf;              /* NP/PO */
    case 0xC: return sf != of;         /* L/NGE */
    case 0xD: return sf == of;         /* GE/NL */
    case 0xE: return zf || sf != of;   /* LE/NG */
    default: return !zf && sf == of;   /* G/NLE */
    }
}

static void set_lazy(struct cpu *c, const struct fcase *t)
{
    /* Unrelated bits and every stale arithmetic flag but CF are set: nothing of them may leak
     * into the result, and CF must come through for INC/DEC only. */
    c->eflags = FL_FIXED1 | FL_IF | FL_DF | (FL_ARITH & ~FL_CF) | t->cf_before;
    flags_lazy(c, t->kind, t->size, t->a, t->b, t->res);
}

static void lazy_flags_match_architecture(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
        const struct fcase *t = &cases[n];
        struct cpu c;
        memset(&c, 0, sizeof(c));
        set_lazy(&c, t);
        uint32_t got = flags_arith(&c);
        if (got != t->expect)
            fail_msg("%s: flags %03x, expected %03x", t->what, got, t->expect);
        if (flags_cf(&c) != ((t->expect & C) != 0))
            fail_msg("%s: flags_cf %d", t->what, flags_cf(&c));
        if (flags_zf(&c) != ((t->expect & Z) != 0))
            fail_msg("%s: flags_zf %d", t->what, flags_zf(&c));
        /* The full EFLAGS view merges them with the other bits. */
        uint32_t full = cpu_get_eflags(&c);
        assert_int_equal(full & FL_ARITH, t->expect);
        assert_int_equal(full & (FL_IF | FL_DF | FL_FIXED1), FL_IF | FL_DF | FL_FIXED1);
        /* Materialising keeps the same value and drops the lazy record. */
        flags_materialize(&c);
        assert_int_equal(c.lf_op, LF_NONE);
        assert_int_equal(c.eflags & FL_ARITH, t->expect);
        assert_int_equal(flags_arith(&c), t->expect);
        assert_int_equal(c.eflags & (FL_IF | FL_DF), FL_IF | FL_DF);
    }
}

static void conditions_on_lazy_state(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
        const struct fcase *t = &cases[n];
        for (unsigned cc = 0; cc < 16; cc++) {
            struct cpu c;
            memset(&c, 0, sizeof(c));
            set_lazy(&c, t);
            bool want = sdm_cond(t->expect, cc);
            if (cpu_cond(&c, cc) != want)
                fail_msg("%s: condition %x is %d, expected %d", t->what, cc, !want, want);
        }
    }
}

static void conditions_on_eager_flags(void **state)
{
    (void)state;
    /* Every combination of the five flags the conditions read. */
    static const uint32_t bits[5] = {FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF};
    for (unsigned m = 0; m < 32; m++) {
        uint32_t f = 0;
        for (unsigned b = 0; b < 5; b++)
            if (m & (1u << b))
                f |= bits[b];
        struct cpu c;
        memset(&c, 0, sizeof(c));
        flags_set_arith(&c, f | FL_AF);
        assert_int_equal(c.lf_op, LF_NONE);
        assert_int_equal(flags_arith(&c), f | FL_AF);
        for (unsigned cc = 0; cc < 16; cc++)
            if (cpu_cond(&c, cc) != sdm_cond(f, cc))
                fail_msg("flags %03x: condition %x wrong", f, cc);
    }
}

static void compare_then_branch_examples(void **state)
{
    (void)state;
    struct cpu c;
    memset(&c, 0, sizeof(c));
    /* CMP AL=1, 2: below and less, not equal, not above, not greater. */
    flags_lazy(&c, LF_SUB, 1, 0x01, 0x02, 0xFF);
    assert_true(cpu_cond(&c, 0x2));  /* JB */
    assert_true(cpu_cond(&c, 0x6));  /* JBE */
    assert_true(cpu_cond(&c, 0xC));  /* JL */
    assert_true(cpu_cond(&c, 0xE));  /* JLE */
    assert_false(cpu_cond(&c, 0x4)); /* JE */
    assert_false(cpu_cond(&c, 0x7)); /* JA */
    assert_false(cpu_cond(&c, 0xF)); /* JG */
    /* CMP AL=0x80, 1: unsigned above, signed less (-128 < 1). */
    flags_lazy(&c, LF_SUB, 1, 0x80, 0x01, 0x7F);
    assert_true(cpu_cond(&c, 0x7));  /* JA */
    assert_true(cpu_cond(&c, 0x3));  /* JAE */
    assert_true(cpu_cond(&c, 0xC));  /* JL */
    assert_false(cpu_cond(&c, 0x2)); /* JB */
    assert_false(cpu_cond(&c, 0xD)); /* JGE */
    /* CMP EAX=5, 5: equal. */
    flags_lazy(&c, LF_SUB, 4, 5, 5, 0);
    assert_true(cpu_cond(&c, 0x4));
    assert_true(cpu_cond(&c, 0x6));
    assert_true(cpu_cond(&c, 0xD));
    assert_true(cpu_cond(&c, 0xE));
    assert_false(cpu_cond(&c, 0x5));
    assert_false(cpu_cond(&c, 0xF));
    /* 16-bit: CMP AX=0x7FFF, 0x8000: signed greater (32767 > -32768), unsigned below. */
    flags_lazy(&c, LF_SUB, 2, 0x7FFF, 0x8000, 0xFFFF);
    assert_true(cpu_cond(&c, 0xF));
    assert_true(cpu_cond(&c, 0x2));
    assert_true(cpu_cond(&c, 0x0));  /* JO */
    assert_true(cpu_cond(&c, 0x8));  /* JS */
    assert_true(cpu_cond(&c, 0xA));  /* JP: FF has eight bits set */
}

static void eager_helpers(void **state)
{
    (void)state;
    assert_int_equal(flags_szp(0x00, 1), Z | P);
    assert_int_equal(flags_szp(0x100, 1), Z | P);  /* truncated to the size first */
    assert_int_equal(flags_szp(0x80, 1), S);
    assert_int_equal(flags_szp(0x8000, 2), S | P);
    assert_int_equal(flags_szp(0x80000001u, 4), S);
    assert_int_equal(flags_szp(0x03, 4), P);
    assert_int_equal(parity_flag(0x00), P);
    assert_int_equal(parity_flag(0x01), 0);
    assert_int_equal(parity_flag(0xFF), P);
    assert_int_equal(parity_flag(0x1FE), 0); /* low byte FE: seven bits */
    assert_int_equal(size_mask(1), 0xFF);
    assert_int_equal(size_mask(2), 0xFFFF);
    assert_int_equal(size_mask(4), 0xFFFFFFFFu);
    assert_int_equal(size_sign(1), 0x80);
    assert_int_equal(size_sign(2), 0x8000);
    assert_int_equal(size_sign(4), 0x80000000u);
    /* flags_set_arith touches only the six arithmetic bits. */
    struct cpu c;
    memset(&c, 0, sizeof(c));
    c.eflags = FL_FIXED1 | FL_IF | FL_TF | FL_ARITH;
    flags_lazy(&c, LF_ADD, 1, 1, 1, 2);
    flags_set_arith(&c, C | O | FL_IF | FL_DF);
    assert_int_equal(c.eflags, FL_FIXED1 | FL_IF | FL_TF | C | O);
    assert_int_equal(c.lf_op, LF_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_flags_match_architecture),
        cmocka_unit_test(conditions_on_lazy_state),
        cmocka_unit_test(conditions_on_eager_flags),
        cmocka_unit_test(compare_then_branch_examples),
        cmocka_unit_test(eager_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
