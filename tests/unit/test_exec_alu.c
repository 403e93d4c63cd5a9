/* Interpreter tests for the ALU, shift, multiply/divide, BCD and bit handlers.
 *
 * Each case runs hand-assembled bytes through the real decoder and interpreter. Registers and
 * flags are set from C so that the sequences contain only the instructions under test; every
 * sequence ends with UD2, whose #UD stops the run. Expected values are worked out by hand from
 * the SDM descriptions, never by running our own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/undef_flags.h"
#include "tests/support/testvm.h"

#define CODE 0x1000u
#define DATA 0x2000u

static struct testvm *vm;
static struct cpu *c;
static uint32_t code_end;

static int setup(void **state)
{
    (void)state;
    vm = testvm_new(1u << 20);
    if (!vm)
        return -1;
    c = &vm->cpu;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testvm_free(vm);
    return 0;
}

/* Load `code` at CODE followed by UD2, in flat 32-bit user mode or real mode. */
static void load_mode(const uint8_t *code, size_t n, bool real)
{
    if (real)
        testvm_real_mode(vm);
    else
        testvm_flat32_user(vm);
    memset(vm->mem.ram, 0, 0x10000);
    memcpy(vm->mem.ram + CODE, code, n);
    vm->mem.ram[CODE + n] = 0x0F;
    vm->mem.ram[CODE + n + 1] = 0x0B;
    code_end = CODE + (uint32_t)n;
    c->eip = CODE;
    c->exit_on_hlt = true;
    c->stop_on_exception = 1u << EXC_UD | 1u << EXC_DE | 1u << EXC_GP | 1u << EXC_SS |
                           1u << EXC_PF;
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = 0x8000;
    cpu_set_eflags(c, FL_IF);
}

static void load(const uint8_t *code, size_t n) { load_mode(code, n, false); }

#define LOAD(...)                                                     \
    do {                                                              \
        static const uint8_t code_[] = {__VA_ARGS__};                 \
        load(code_, sizeof(code_));                                   \
    } while (0)

#define LOAD_REAL(...)                                                \
    do {                                                              \
        static const uint8_t code_[] = {__VA_ARGS__};                 \
        load_mode(code_, sizeof(code_), true);                        \
    } while (0)

static void set_flags(uint32_t f) { cpu_set_eflags(c, FL_IF | f); }

/* Run to the stopping exception; return its vector. */
static int run_to_exception(void)
{
    enum cpu_exit why = cpu_run(c, 100);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    return c->exc_vector;
}

/* Run the whole sequence: it must reach the closing UD2. */
static void run(void)
{
    assert_int_equal(run_to_exception(), EXC_UD);
    assert_int_equal(c->eip, code_end);
}

static void check_flags(uint32_t mask, uint32_t want)
{
    assert_int_equal(cpu_get_eflags(c) & mask, want);
}

static uint32_t rd32(uint32_t a)
{
    uint32_t v;
    memcpy(&v, vm->mem.ram + a, 4);
    return v;
}

static void wr32(uint32_t a, uint32_t v) { memcpy(vm->mem.ram + a, &v, 4); }

#define ALL FL_ARITH

/* ---- ADD/ADC/SUB/SBB/CMP/logic ---- */

static void test_add_overflow(void **s)
{
    (void)s;
    LOAD(0x01, 0xD8); /* add eax, ebx */
    c->regs[R_EAX] = 0x7FFFFFFF;
    c->regs[R_EBX] = 1;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000000u);
    check_flags(ALL, FL_OF | FL_SF | FL_AF | FL_PF);
}

static void test_adc_carry_in(void **s)
{
    (void)s;
    LOAD(0x14, 0xFF); /* adc al, 0xFF */
    c->regs[R_EAX] = 0x12345600;
    set_flags(FL_CF);
    run();
    /* 0 + FF + 1 = 100: carry out, AF from the low nibble, no signed overflow (0 + -1 + 1). */
    assert_int_equal(c->regs[R_EAX], 0x12345600u);
    check_flags(ALL, FL_CF | FL_ZF | FL_AF | FL_PF);
}

static void test_sbb_borrow_in(void **s)
{
    (void)s;
    LOAD(0x19, 0xC8); /* sbb eax, ecx */
    c->regs[R_EAX] = 0;
    c->regs[R_ECX] = 0xFFFFFFFF;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    check_flags(ALL, FL_CF | FL_ZF | FL_AF | FL_PF);
}

static void test_sub_reg_mem(void **s)
{
    (void)s;
    LOAD(0x2B, 0x0D, 0x00, 0x20, 0x00, 0x00); /* sub ecx, [0x2000] */
    c->regs[R_ECX] = 5;
    wr32(DATA, 7);
    run();
    assert_int_equal(c->regs[R_ECX], 0xFFFFFFFEu);
    assert_int_equal(rd32(DATA), 7);
    check_flags(ALL, FL_CF | FL_SF | FL_AF);
}

static void test_cmp_mem_imm(void **s)
{
    (void)s;
    LOAD(0x80, 0x3D, 0x00, 0x20, 0x00, 0x00, 0x80); /* cmp byte [0x2000], 0x80 */
    vm->mem.ram[DATA] = 0x7F;
    run();
    assert_int_equal(vm->mem.ram[DATA], 0x7F);
    check_flags(ALL, FL_CF | FL_OF | FL_SF | FL_PF);
}

static void test_cmp_ge_order(void **s)
{
    (void)s;
    LOAD(0x3B, 0xC1); /* cmp eax, ecx (G - E) */
    c->regs[R_EAX] = 1;
    c->regs[R_ECX] = 2;
    run();
    check_flags(FL_CF | FL_ZF | FL_SF, FL_CF | FL_SF);
}

static void test_logic(void **s)
{
    (void)s;
    LOAD(0x31, 0xC0,                          /* xor eax, eax */
         0x08, 0x0D, 0x00, 0x20, 0x00, 0x00); /* or [0x2000], cl */
    c->regs[R_EAX] = 0x1234;
    c->regs[R_ECX] = 0xF0;
    vm->mem.ram[DATA] = 0x0F;
    set_flags(FL_CF | FL_OF);
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    assert_int_equal(vm->mem.ram[DATA], 0xFF);
    check_flags(ALL & ~FL_AF, FL_SF | FL_PF); /* from OR: FF, even parity, CF = OF = 0 */
}

static void test_test_16bit(void **s)
{
    (void)s;
    LOAD(0x66, 0xA9, 0x00, 0x80); /* test ax, 0x8000 */
    c->regs[R_EAX] = 0xFFFF8001;
    set_flags(FL_CF | FL_OF | FL_ZF);
    run();
    assert_int_equal(c->regs[R_EAX], 0xFFFF8001u);
    check_flags(ALL & ~FL_AF, FL_SF | FL_PF);
}

static void test_add_byte_high_regs(void **s)
{
    (void)s;
    LOAD(0x00, 0xFC,       /* add ah, bh */
         0x83, 0xC1, 0xFF, /* add ecx, -1 */
         0x66, 0x05, 0x01, 0x00); /* add ax, 1 */
    c->regs[R_EAX] = 0x0000F0FF;
    c->regs[R_EBX] = 0x00000F00;
    c->regs[R_ECX] = 1;
    run();
    /* AH = F0 + 0F = FF; then AX = FFFF + 1 = 0000 with carry, the upper half untouched. */
    assert_int_equal(c->regs[R_EAX], 0x00000000u);
    assert_int_equal(c->regs[R_ECX], 0);
    check_flags(ALL, FL_CF | FL_ZF | FL_AF | FL_PF);

    LOAD(0x66, 0x05, 0x01, 0x00);
    c->regs[R_EAX] = 0x1234FFFF;
    run();
    assert_int_equal(c->regs[R_EAX], 0x12340000u);
}

/* ---- INC/DEC/NEG/NOT ---- */

static void test_inc_keeps_cf(void **s)
{
    (void)s;
    LOAD(0x39, 0xD8, /* cmp eax, ebx: 0 - 1 borrows (lazy CF = 1) */
         0x41);      /* inc ecx */
    c->regs[R_EAX] = 0;
    c->regs[R_EBX] = 1;
    c->regs[R_ECX] = 0xFFFFFFFF;
    run();
    assert_int_equal(c->regs[R_ECX], 0);
    check_flags(ALL, FL_CF | FL_ZF | FL_AF | FL_PF);
}

static void test_inc_overflow(void **s)
{
    (void)s;
    LOAD(0x40); /* inc eax */
    c->regs[R_EAX] = 0x7FFFFFFF;
    set_flags(0);
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000000u);
    check_flags(ALL, FL_OF | FL_SF | FL_AF | FL_PF);
}

static void test_dec_mem(void **s)
{
    (void)s;
    LOAD(0xFE, 0x0D, 0x00, 0x20, 0x00, 0x00); /* dec byte [0x2000] */
    vm->mem.ram[DATA] = 0x80;
    set_flags(FL_CF);
    run();
    assert_int_equal(vm->mem.ram[DATA], 0x7F);
    check_flags(ALL, FL_CF | FL_OF | FL_AF);
}

static void test_neg(void **s)
{
    (void)s;
    LOAD(0xF7, 0xD8); /* neg eax */
    c->regs[R_EAX] = 0;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    check_flags(ALL, FL_ZF | FL_PF);

    LOAD(0xF7, 0xD8);
    c->regs[R_EAX] = 0x80000000;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000000u);
    check_flags(ALL, FL_CF | FL_OF | FL_SF | FL_PF);

    LOAD(0xF6, 0xDC); /* neg ah */
    c->regs[R_EAX] = 0x0100;
    run();
    assert_int_equal(c->regs[R_EAX], 0xFF00u);
    check_flags(ALL, FL_CF | FL_SF | FL_AF | FL_PF);
}

static void test_not_mem(void **s)
{
    (void)s;
    LOAD(0xF6, 0x15, 0x00, 0x20, 0x00, 0x00); /* not byte [0x2000] */
    vm->mem.ram[DATA] = 0x0F;
    set_flags(FL_ZF | FL_CF);
    run();
    assert_int_equal(vm->mem.ram[DATA], 0xF0);
    check_flags(ALL, FL_ZF | FL_CF);
}

/* ---- MUL/IMUL/DIV/IDIV ---- */

#define MULDEF (FL_CF | FL_OF) /* the only flags multiplies define */

static void test_mul(void **s)
{
    (void)s;
    LOAD(0xF7, 0xE1); /* mul ecx */
    c->regs[R_EAX] = 0x80000000;
    c->regs[R_ECX] = 4;
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    assert_int_equal(c->regs[R_EDX], 2);
    check_flags(MULDEF, MULDEF);

    LOAD(0xF6, 0xE3); /* mul bl */
    c->regs[R_EAX] = 0xAAAA0010;
    c->regs[R_EBX] = 0x0F;
    c->regs[R_EDX] = 0x5555;
    run();
    assert_int_equal(c->regs[R_EAX], 0xAAAA00F0u);
    assert_int_equal(c->regs[R_EDX], 0x5555);
    check_flags(MULDEF, 0);
}

static void test_imul_forms(void **s)
{
    (void)s;
    LOAD(0xF7, 0xE9); /* imul ecx */
    c->regs[R_EAX] = 0xFFFFFFFE;
    c->regs[R_ECX] = 3;
    run();
    assert_int_equal(c->regs[R_EAX], 0xFFFFFFFAu);
    assert_int_equal(c->regs[R_EDX], 0xFFFFFFFFu);
    check_flags(MULDEF, 0);

    LOAD(0xF6, 0xEB); /* imul bl: -128 * -1 = +128 does not fit a byte */
    c->regs[R_EAX] = 0x80;
    c->regs[R_EBX] = 0xFF;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0080);
    check_flags(MULDEF, MULDEF);

    LOAD(0x0F, 0xAF, 0xC1); /* imul eax, ecx */
    c->regs[R_EAX] = 0x10000;
    c->regs[R_ECX] = 0x10000;
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    check_flags(MULDEF, MULDEF);

    LOAD(0x6B, 0xC1, 0xFD); /* imul eax, ecx, -3 */
    c->regs[R_ECX] = 5;
    run();
    assert_int_equal(c->regs[R_EAX], 0xFFFFFFF1u);
    check_flags(MULDEF, 0);

    LOAD(0x66, 0x69, 0xC1, 0x00, 0x01); /* imul ax, cx, 0x100 */
    c->regs[R_EAX] = 0xABCD0000;
    c->regs[R_ECX] = 0x0080;
    run();
    assert_int_equal(c->regs[R_EAX], 0xABCD8000u);
    check_flags(MULDEF, MULDEF);
}

static void test_div(void **s)
{
    (void)s;
    LOAD(0xF7, 0xF1); /* div ecx */
    c->regs[R_EAX] = 100;
    c->regs[R_ECX] = 7;
    run();
    assert_int_equal(c->regs[R_EAX], 14);
    assert_int_equal(c->regs[R_EDX], 2);

    LOAD(0xF6, 0xF3); /* div bl */
    c->regs[R_EAX] = 0x0105;
    c->regs[R_EBX] = 0x10;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0510);
}

static void test_div_faults(void **s)
{
    (void)s;
    LOAD(0xF7, 0xF1); /* div ecx, by zero */
    c->regs[R_EAX] = 100;
    c->regs[R_EDX] = 3;
    assert_int_equal(run_to_exception(), EXC_DE);
    assert_int_equal(c->eip, CODE);
    assert_int_equal(c->regs[R_EAX], 100);
    assert_int_equal(c->regs[R_EDX], 3);

    LOAD(0xF7, 0xF1); /* quotient 2^32 */
    c->regs[R_EDX] = 1;
    c->regs[R_ECX] = 1;
    assert_int_equal(run_to_exception(), EXC_DE);
    assert_int_equal(c->regs[R_EDX], 1);
    assert_int_equal(c->regs[R_EAX], 0);

    LOAD(0xF7, 0xF9); /* idiv ecx: INT_MIN / -1 */
    c->regs[R_EDX] = 0xFFFFFFFF;
    c->regs[R_EAX] = 0x80000000;
    c->regs[R_ECX] = 0xFFFFFFFF;
    assert_int_equal(run_to_exception(), EXC_DE);
    assert_int_equal(c->regs[R_EAX], 0x80000000u);

    LOAD(0x66, 0xF7, 0xF9); /* idiv cx: +32768 does not fit */
    c->regs[R_EDX] = 0;
    c->regs[R_EAX] = 0x8000;
    c->regs[R_ECX] = 1;
    assert_int_equal(run_to_exception(), EXC_DE);
    assert_int_equal(c->regs[R_EAX], 0x8000);
}

static void test_idiv(void **s)
{
    (void)s;
    LOAD(0xF7, 0xF9); /* idiv ecx: -7 / 2 = -3 rem -1 (truncation) */
    c->regs[R_EDX] = 0xFFFFFFFF;
    c->regs[R_EAX] = 0xFFFFFFF9;
    c->regs[R_ECX] = 2;
    run();
    assert_int_equal(c->regs[R_EAX], 0xFFFFFFFDu);
    assert_int_equal(c->regs[R_EDX], 0xFFFFFFFFu);

    LOAD(0xF6, 0xFB); /* idiv bl: -256 / 2 = -128, allowed since the 80286 */
    c->regs[R_EAX] = 0xFF00;
    c->regs[R_EBX] = 2;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0080);
}

/* ---- shifts and rotates ---- */

static void test_shl(void **s)
{
    (void)s;
    LOAD(0xD1, 0xE0); /* shl eax, 1 */
    c->regs[R_EAX] = 0xC0000000;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000000u);
    check_flags(ALL & ~FL_AF, FL_CF | FL_SF | FL_PF);

    LOAD(0xD2, 0xE0); /* shl al, cl with cl = 0x21: the count masks to 1 */
    c->regs[R_EAX] = 0x40;
    c->regs[R_ECX] = 0x21;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80);
    check_flags(ALL & ~FL_AF, FL_OF | FL_SF);

    LOAD(0xD2, 0xE0); /* shl al, 8: everything shifted out */
    c->regs[R_EAX] = 0x01;
    c->regs[R_ECX] = 8;
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    check_flags(FL_ZF | FL_SF | FL_PF, FL_ZF | FL_PF);
}

static void test_shift_count_zero(void **s)
{
    (void)s;
    /* The flags of the CMP (lazy) survive a shift by CL = 32 (masked to 0). */
    LOAD(0x39, 0xD9,  /* cmp ecx, ebx: 0x20 - 0x20 */
         0xD3, 0xE0,  /* shl eax, cl */
         0xD3, 0xC0,  /* rol eax, cl */
         0xC1, 0xF8, 0x00); /* sar eax, 0 */
    c->regs[R_EAX] = 0x80000001;
    c->regs[R_ECX] = 0x20;
    c->regs[R_EBX] = 0x20;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000001u);
    check_flags(ALL, FL_ZF | FL_PF);
}

static void test_shr_sar(void **s)
{
    (void)s;
    LOAD(0xC1, 0xE8, 0x04); /* shr eax, 4 */
    c->regs[R_EAX] = 0x8000001F;
    run();
    assert_int_equal(c->regs[R_EAX], 0x08000001u);
    check_flags(FL_CF | FL_SF | FL_ZF | FL_PF, FL_CF);

    LOAD(0xD0, 0xE8); /* shr al, 1: OF = old MSB */
    c->regs[R_EAX] = 0x81;
    run();
    assert_int_equal(c->regs[R_EAX], 0x40);
    check_flags(ALL & ~FL_AF, FL_CF | FL_OF);

    LOAD(0xD1, 0xF8); /* sar eax, 1 */
    c->regs[R_EAX] = 0x80000001;
    run();
    assert_int_equal(c->regs[R_EAX], 0xC0000000u);
    check_flags(ALL & ~FL_AF, FL_CF | FL_SF | FL_PF);

    LOAD(0xD2, 0xF8); /* sar al, cl with cl = 20 */
    c->regs[R_EAX] = 0x80;
    c->regs[R_ECX] = 20;
    run();
    assert_int_equal(c->regs[R_EAX], 0xFF);
    check_flags(FL_CF | FL_SF | FL_ZF, FL_CF | FL_SF);

    LOAD(0x66, 0xC1, 0xF8, 0x03); /* sar ax, 3 */
    c->regs[R_EAX] = 0x1234FFF0;
    run();
    assert_int_equal(c->regs[R_EAX], 0x1234FFFEu);
    check_flags(FL_CF | FL_SF | FL_ZF, FL_SF);
}

static void test_rotates(void **s)
{
    (void)s;
    LOAD(0xD0, 0xC0); /* rol al, 1 */
    c->regs[R_EAX] = 0x81;
    set_flags(FL_ZF | FL_SF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x03);
    check_flags(ALL, FL_CF | FL_OF | FL_ZF | FL_SF); /* only CF and OF change */

    LOAD(0xC1, 0xC0, 0x08); /* rol eax, 8 */
    c->regs[R_EAX] = 0x12345678;
    run();
    assert_int_equal(c->regs[R_EAX], 0x34567812u);
    check_flags(FL_CF, 0);

    LOAD(0xC0, 0xC0, 0x08); /* rol al, 8: value unchanged, CF = its LSB */
    c->regs[R_EAX] = 0x81;
    run();
    assert_int_equal(c->regs[R_EAX], 0x81);
    check_flags(FL_CF, FL_CF);

    LOAD(0xD0, 0xC8); /* ror al, 1 */
    c->regs[R_EAX] = 0x01;
    run();
    assert_int_equal(c->regs[R_EAX], 0x80);
    check_flags(FL_CF | FL_OF, FL_CF | FL_OF);

    LOAD(0xD0, 0xD0); /* rcl al, 1 with CF = 1 */
    c->regs[R_EAX] = 0x80;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x01);
    check_flags(FL_CF | FL_OF, FL_CF | FL_OF);

    LOAD(0xC0, 0xD0, 0x09); /* rcl al, 9: 9 mod 9 = 0, nothing moves */
    c->regs[R_EAX] = 0x5A;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x5A);
    check_flags(FL_CF, FL_CF);

    LOAD(0x66, 0xD1, 0xD8); /* rcr ax, 1 with CF = 0 */
    c->regs[R_EAX] = 0x0001;
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    check_flags(FL_CF | FL_OF, FL_CF);

    LOAD(0xD1, 0xD8); /* rcr eax, 1 with CF = 1 */
    c->regs[R_EAX] = 0;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x80000000u);
    check_flags(FL_CF | FL_OF, FL_OF);

    LOAD(0xC0, 0xD8, 0x04); /* rcr al, 4 with CF = 1 */
    c->regs[R_EAX] = 0x0F;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0xF0);
    check_flags(FL_CF, FL_CF);
}

static void test_shld_shrd(void **s)
{
    (void)s;
    LOAD(0x0F, 0xA4, 0xD8, 0x04); /* shld eax, ebx, 4 */
    c->regs[R_EAX] = 0x12345678;
    c->regs[R_EBX] = 0x9ABCDEF0;
    run();
    assert_int_equal(c->regs[R_EAX], 0x23456789u);
    check_flags(FL_CF | FL_SF | FL_ZF | FL_PF, FL_CF);

    LOAD(0x0F, 0xAD, 0xD8); /* shrd eax, ebx, cl = 8 */
    c->regs[R_EAX] = 0x12345678;
    c->regs[R_EBX] = 0x9ABCDEF0;
    c->regs[R_ECX] = 8;
    run();
    assert_int_equal(c->regs[R_EAX], 0xF0123456u);
    check_flags(FL_CF | FL_SF | FL_ZF | FL_PF, FL_SF | FL_PF);

    LOAD(0x66, 0x0F, 0xA4, 0xD8, 0x01); /* shld ax, bx, 1: sign change */
    c->regs[R_EAX] = 0x4000;
    c->regs[R_EBX] = 0x8000;
    run();
    assert_int_equal(c->regs[R_EAX], 0x8001);
    check_flags(ALL & ~FL_AF, FL_OF | FL_SF);

    LOAD(0x0F, 0xAC, 0x1D, 0x00, 0x20, 0x00, 0x00, 0x10); /* shrd [0x2000], ebx, 16 */
    wr32(DATA, 0x11112222);
    c->regs[R_EBX] = 0x33334444;
    set_flags(FL_CF);
    run();
    assert_int_equal(rd32(DATA), 0x44441111u);
    check_flags(FL_CF, 0);
}

/* ---- BCD ---- */

static void test_daa_das(void **s)
{
    (void)s;
    LOAD(0x00, 0xD8, 0x27); /* add al, bl; daa: 38 + 29 = 67 */
    c->regs[R_EAX] = 0x38;
    c->regs[R_EBX] = 0x29;
    run();
    assert_int_equal(c->regs[R_EAX], 0x67);
    check_flags(ALL & ~FL_OF, FL_AF);

    LOAD(0x27); /* daa with AL = AE */
    c->regs[R_EAX] = 0xAE;
    run();
    assert_int_equal(c->regs[R_EAX], 0x14);
    check_flags(ALL & ~FL_OF, FL_CF | FL_AF | FL_PF);

    LOAD(0x28, 0xD8, 0x2F); /* sub al, bl; das: 35 - 47 = 88 borrow 1 */
    c->regs[R_EAX] = 0x35;
    c->regs[R_EBX] = 0x47;
    run();
    assert_int_equal(c->regs[R_EAX], 0x88);
    check_flags(ALL & ~FL_OF, FL_CF | FL_AF | FL_SF | FL_PF);

    LOAD(0x2F); /* das, AL = 03 with AF: the borrow of AL - 6 sets CF */
    c->regs[R_EAX] = 0x03;
    set_flags(FL_AF);
    run();
    assert_int_equal(c->regs[R_EAX], 0xFD);
    check_flags(FL_CF | FL_AF | FL_SF | FL_ZF, FL_CF | FL_AF | FL_SF);
}

static void test_aaa_aas(void **s)
{
    (void)s;
    LOAD(0x37); /* aaa */
    c->regs[R_EAX] = 0x010B;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0201);
    check_flags(FL_CF | FL_AF, FL_CF | FL_AF);

    LOAD(0x37); /* aaa: AX + 106 carries out of AL */
    c->regs[R_EAX] = 0x00FA;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0200);

    LOAD(0x37); /* aaa, no adjustment: AL masked only */
    c->regs[R_EAX] = 0x0535;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x0505);
    check_flags(FL_CF | FL_AF, 0);

    LOAD(0x3F); /* aas */
    c->regs[R_EAX] = 0x0208;
    set_flags(FL_AF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x0102);
    check_flags(FL_CF | FL_AF, FL_CF | FL_AF);

    LOAD(0x3F); /* aas: AX - 6 borrows from AH */
    c->regs[R_EAX] = 0x0203;
    set_flags(FL_AF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x000D);
}

static void test_aam_aad_salc(void **s)
{
    (void)s;
    LOAD(0xD4, 0x0A); /* aam */
    c->regs[R_EAX] = 0x3F;
    run();
    assert_int_equal(c->regs[R_EAX], 0x0603);
    check_flags(FL_SF | FL_ZF | FL_PF, FL_PF);

    LOAD(0xD4, 0x00); /* aam 0 */
    c->regs[R_EAX] = 0x3F;
    assert_int_equal(run_to_exception(), EXC_DE);
    assert_int_equal(c->eip, CODE);
    assert_int_equal(c->regs[R_EAX], 0x3F);

    LOAD(0xD5, 0x0A); /* aad */
    c->regs[R_EAX] = 0x0607;
    run();
    assert_int_equal(c->regs[R_EAX], 0x43);
    check_flags(FL_SF | FL_ZF | FL_PF, 0);

    LOAD(0xD5, 0x10); /* aad 16 */
    c->regs[R_EAX] = 0x0102;
    run();
    assert_int_equal(c->regs[R_EAX], 0x12);

    LOAD(0xD6); /* salc */
    c->regs[R_EAX] = 0x1234;
    set_flags(FL_CF);
    run();
    assert_int_equal(c->regs[R_EAX], 0x12FF);

    LOAD(0xD6);
    c->regs[R_EAX] = 0x1234;
    run();
    assert_int_equal(c->regs[R_EAX], 0x1200);
}

/* ---- bit instructions ---- */

static void test_bt_reg(void **s)
{
    (void)s;
    LOAD(0x0F, 0xA3, 0xC8); /* bt eax, ecx: offset 36 -> bit 4 */
    c->regs[R_EAX] = 0x10;
    c->regs[R_ECX] = 36;
    set_flags(FL_ZF);
    run();
    check_flags(FL_CF | FL_ZF, FL_CF | FL_ZF);

    LOAD(0x0F, 0xBA, 0xE0, 0x1F); /* bt eax, 31 */
    c->regs[R_EAX] = 0x80000000;
    run();
    check_flags(FL_CF, FL_CF);
}

static void test_bt_mem_offsets(void **s)
{
    (void)s;
    LOAD(0x0F, 0xAB, 0x0D, 0x00, 0x20, 0x00, 0x00); /* bts [0x2000], ecx = 35 */
    c->regs[R_ECX] = 35;
    run();
    assert_int_equal(rd32(DATA), 0);
    assert_int_equal(rd32(DATA + 4), 8);
    check_flags(FL_CF, 0);

    LOAD(0x0F, 0xB3, 0x0D, 0x04, 0x20, 0x00, 0x00); /* btr [0x2004], ecx = -1 */
    wr32(DATA, 0x80000001);
    c->regs[R_ECX] = 0xFFFFFFFF;
    run();
    assert_int_equal(rd32(DATA), 1);
    check_flags(FL_CF, FL_CF);

    LOAD(0x66, 0x0F, 0xBB, 0x0D, 0x10, 0x20, 0x00, 0x00); /* btc word [0x2010], cx = -16 */
    vm->mem.ram[DATA + 0x0E] = 0x01;
    vm->mem.ram[DATA + 0x10] = 0x01;
    c->regs[R_ECX] = 0xFFF0;
    run();
    assert_int_equal(vm->mem.ram[DATA + 0x0E], 0);
    assert_int_equal(vm->mem.ram[DATA + 0x10], 1);
    check_flags(FL_CF, FL_CF);

    LOAD(0x0F, 0xBA, 0x2D, 0x00, 0x20, 0x00, 0x00, 0x21); /* bts [0x2000], 33 -> bit 1 */
    run();
    assert_int_equal(rd32(DATA), 2);
    assert_int_equal(rd32(DATA + 4), 0);
}

static void test_bsf_bsr_bswap(void **s)
{
    (void)s;
    LOAD(0x0F, 0xBC, 0xC1, /* bsf eax, ecx */
         0x0F, 0xBD, 0xD1); /* bsr edx, ecx */
    c->regs[R_ECX] = 0x00018000;
    set_flags(FL_ZF);
    run();
    assert_int_equal(c->regs[R_EAX], 15);
    assert_int_equal(c->regs[R_EDX], 16);
    check_flags(FL_ZF, 0);

    LOAD(0x0F, 0xBC, 0xC1); /* bsf eax, ecx with ecx = 0 */
    c->regs[R_EAX] = 0xDEADBEEF;
    run();
    assert_int_equal(c->regs[R_EAX], 0xDEADBEEFu);
    check_flags(FL_ZF, FL_ZF);

    LOAD(0x0F, 0xC8,        /* bswap eax */
         0x66, 0x0F, 0xC9); /* bswap cx */
    c->regs[R_EAX] = 0x12345678;
    c->regs[R_ECX] = 0x12345678;
    run();
    assert_int_equal(c->regs[R_EAX], 0x78563412u);
    assert_int_equal(c->regs[R_ECX], 0x12340000u);
}

/* ---- CMPXCHG, CMPXCHG8B, XADD ---- */

static void test_cmpxchg(void **s)
{
    (void)s;
    LOAD(0x0F, 0xB1, 0xD1); /* cmpxchg ecx, edx: equal */
    c->regs[R_EAX] = 5;
    c->regs[R_ECX] = 5;
    c->regs[R_EDX] = 9;
    run();
    assert_int_equal(c->regs[R_ECX], 9);
    assert_int_equal(c->regs[R_EAX], 5);
    check_flags(ALL, FL_ZF | FL_PF);

    LOAD(0x0F, 0xB1, 0x15, 0x00, 0x20, 0x00, 0x00); /* cmpxchg [0x2000], edx: differ */
    c->regs[R_EAX] = 4;
    c->regs[R_EDX] = 9;
    wr32(DATA, 5);
    run();
    assert_int_equal(rd32(DATA), 5);
    assert_int_equal(c->regs[R_EAX], 5);
    check_flags(ALL, FL_CF | FL_SF | FL_AF | FL_PF); /* 4 - 5 = FFFFFFFF */
}

static void test_cmpxchg8b(void **s)
{
    (void)s;
    LOAD(0x0F, 0xC7, 0x0D, 0x00, 0x20, 0x00, 0x00); /* cmpxchg8b [0x2000] */
    wr32(DATA, 0x11111111);
    wr32(DATA + 4, 0x22222222);
    c->regs[R_EAX] = 0x11111111;
    c->regs[R_EDX] = 0x22222222;
    c->regs[R_EBX] = 0x33333333;
    c->regs[R_ECX] = 0x44444444;
    set_flags(FL_CF);
    run();
    assert_int_equal(rd32(DATA), 0x33333333u);
    assert_int_equal(rd32(DATA + 4), 0x44444444u);
    check_flags(ALL, FL_ZF | FL_CF);

    LOAD(0x0F, 0xC7, 0x0D, 0x00, 0x20, 0x00, 0x00);
    wr32(DATA, 0x11111111);
    wr32(DATA + 4, 0x22222222);
    c->regs[R_EAX] = 0x11111111;
    c->regs[R_EDX] = 0x22222223;
    set_flags(FL_ZF | FL_SF);
    run();
    assert_int_equal(rd32(DATA), 0x11111111u);
    assert_int_equal(c->regs[R_EAX], 0x11111111u);
    assert_int_equal(c->regs[R_EDX], 0x22222222u);
    check_flags(ALL, FL_SF);
}

static void test_xadd(void **s)
{
    (void)s;
    LOAD(0x0F, 0xC1, 0x0D, 0x00, 0x20, 0x00, 0x00); /* xadd [0x2000], ecx */
    wr32(DATA, 1);
    c->regs[R_ECX] = 2;
    run();
    assert_int_equal(rd32(DATA), 3);
    assert_int_equal(c->regs[R_ECX], 1);

    LOAD(0x0F, 0xC1, 0xC0); /* xadd eax, eax */
    c->regs[R_EAX] = 3;
    run();
    assert_int_equal(c->regs[R_EAX], 6);

    LOAD(0x0F, 0xC0, 0xC8); /* xadd al, cl */
    c->regs[R_EAX] = 0xFF;
    c->regs[R_ECX] = 0x01;
    run();
    assert_int_equal(c->regs[R_EAX], 0);
    assert_int_equal(c->regs[R_ECX], 0xFF);
    check_flags(ALL, FL_CF | FL_ZF | FL_AF | FL_PF);
}

/* ---- precise faults on a read-only destination ---- */

static void make_ds_read_only(void)
{
    const uint32_t ro = SEG_P | SEG_S | SEG_DB | SEG_G | (3u << 13) | (0x1u << 8);
    cpu_set_seg_cache(c, SR_DS, 0x2B, 0, 0xFFFFFFFFu, ro);
}

static void test_read_only_destination(void **s)
{
    (void)s;
    LOAD(0x0F, 0xC1, 0x0D, 0x00, 0x20, 0x00, 0x00); /* xadd [0x2000], ecx */
    make_ds_read_only();
    wr32(DATA, 1);
    c->regs[R_ECX] = 2;
    set_flags(FL_CF);
    assert_int_equal(run_to_exception(), EXC_GP);
    assert_int_equal(c->eip, CODE);
    assert_int_equal(rd32(DATA), 1);
    assert_int_equal(c->regs[R_ECX], 2);
    check_flags(ALL, FL_CF);

    LOAD(0x0F, 0xB1, 0x15, 0x00, 0x20, 0x00, 0x00); /* cmpxchg [0x2000], edx: differ */
    make_ds_read_only();
    wr32(DATA, 5);
    c->regs[R_EAX] = 4;
    assert_int_equal(run_to_exception(), EXC_GP);
    assert_int_equal(c->regs[R_EAX], 4);

    LOAD(0x01, 0x05, 0x00, 0x20, 0x00, 0x00); /* add [0x2000], eax */
    make_ds_read_only();
    c->regs[R_EAX] = 4;
    set_flags(FL_ZF);
    assert_int_equal(run_to_exception(), EXC_GP);
    check_flags(ALL, FL_ZF);

    LOAD(0x03, 0x05, 0x00, 0x20, 0x00, 0x00); /* add eax, [0x2000] only reads */
    make_ds_read_only();
    wr32(DATA, 5);
    c->regs[R_EAX] = 4;
    run();
    assert_int_equal(c->regs[R_EAX], 9);
}

/* ---- 16-bit code ---- */

static void test_real_mode(void **s)
{
    (void)s;
    LOAD_REAL(0x01, 0x00,              /* add [bx+si], ax */
              0x0F, 0xA3, 0x0F);       /* bt [bx], cx: 16-bit offset -32 -> word at bx-4 */
    c->regs[R_EBX] = DATA + 4;
    c->regs[R_ESI] = 4;
    c->regs[R_EAX] = 0x1234;
    c->regs[R_ECX] = 0xFFE0;
    wr32(DATA + 8, 0x1111);
    vm->mem.ram[DATA] = 0x01;
    run();
    assert_int_equal(rd32(DATA + 8), 0x2345);
    check_flags(FL_CF, FL_CF);
}

/* ---- the undefined-flags table ---- */

static uint32_t undef_of(const uint8_t *bytes, unsigned n, uint32_t ecx)
{
    struct insn in;
    assert_int_equal(decode_insn(&in, bytes, n, true), DEC_OK);
    c->regs[R_ECX] = ecx;
    return insn_undefined_flags(&in, c);
}

static void test_undefined_flags(void **s)
{
    (void)s;
    testvm_flat32_user(vm);
    static const uint8_t shl_cl[] = {0xD3, 0xE0}, shl8_cl[] = {0xD2, 0xE0};
    assert_int_equal(undef_of(shl_cl, 2, 0x20), 0);
    assert_int_equal(undef_of(shl_cl, 2, 1), FL_AF);
    assert_int_equal(undef_of(shl_cl, 2, 2), FL_AF | FL_OF);
    assert_int_equal(undef_of(shl8_cl, 2, 8), FL_AF | FL_OF | FL_CF);
    static const uint8_t sar8_cl[] = {0xD2, 0xF8};
    assert_int_equal(undef_of(sar8_cl, 2, 8), FL_AF | FL_OF);
    static const uint8_t rcl_1[] = {0xD1, 0xD0}, rol_5[] = {0xC1, 0xC0, 0x05};
    assert_int_equal(undef_of(rcl_1, 2, 0), 0);
    assert_int_equal(undef_of(rol_5, 3, 0), FL_OF);
    static const uint8_t shld16_cl[] = {0x66, 0x0F, 0xA5, 0xD8};
    assert_int_equal(undef_of(shld16_cl, 4, 16), FL_AF | FL_OF);
    assert_int_equal(undef_of(shld16_cl, 4, 17), FL_ARITH);
    assert_int_equal(undef_of(shld16_cl, 4, 1), FL_AF);
    static const uint8_t mul[] = {0xF7, 0xE1}, div[] = {0xF7, 0xF1};
    assert_int_equal(undef_of(mul, 2, 0), FL_SF | FL_ZF | FL_AF | FL_PF);
    assert_int_equal(undef_of(div, 2, 0), FL_ARITH);
    static const uint8_t aam[] = {0xD4, 0x0A}, daa[] = {0x27}, add[] = {0x01, 0xD8};
    assert_int_equal(undef_of(aam, 2, 0), FL_OF | FL_AF | FL_CF);
    assert_int_equal(undef_of(daa, 1, 0), FL_OF);
    assert_int_equal(undef_of(add, 2, 0), 0);
    static const uint8_t bsf[] = {0x0F, 0xBC, 0xC1}, xor_[] = {0x31, 0xC0};
    assert_int_equal(undef_of(bsf, 3, 0), FL_CF | FL_OF | FL_SF | FL_AF | FL_PF);
    assert_int_equal(undef_of(xor_, 2, 0), FL_AF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_overflow),
        cmocka_unit_test(test_adc_carry_in),
        cmocka_unit_test(test_sbb_borrow_in),
        cmocka_unit_test(test_sub_reg_mem),
        cmocka_unit_test(test_cmp_mem_imm),
        cmocka_unit_test(test_cmp_ge_order),
        cmocka_unit_test(test_logic),
        cmocka_unit_test(test_test_16bit),
        cmocka_unit_test(test_add_byte_high_regs),
        cmocka_unit_test(test_inc_keeps_cf),
        cmocka_unit_test(test_inc_overflow),
        cmocka_unit_test(test_dec_mem),
        cmocka_unit_test(test_neg),
        cmocka_unit_test(test_not_mem),
        cmocka_unit_test(test_mul),
        cmocka_unit_test(test_imul_forms),
        cmocka_unit_test(test_div),
        cmocka_unit_test(test_div_faults),
        cmocka_unit_test(test_idiv),
        cmocka_unit_test(test_shl),
        cmocka_unit_test(test_shift_count_zero),
        cmocka_unit_test(test_shr_sar),
        cmocka_unit_test(test_rotates),
        cmocka_unit_test(test_shld_shrd),
        cmocka_unit_test(test_daa_das),
        cmocka_unit_test(test_aaa_aas),
        cmocka_unit_test(test_aam_aad_salc),
        cmocka_unit_test(test_bt_reg),
        cmocka_unit_test(test_bt_mem_offsets),
        cmocka_unit_test(test_bsf_bsr_bswap),
        cmocka_unit_test(test_cmpxchg),
        cmocka_unit_test(test_cmpxchg8b),
        cmocka_unit_test(test_xadd),
        cmocka_unit_test(test_read_only_destination),
        cmocka_unit_test(test_real_mode),
        cmocka_unit_test(test_undefined_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
