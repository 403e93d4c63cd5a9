/* x87/MMX/FXSR tests: the state-format instructions and the exception plumbing.
 *
 * Hand-assembled programs run through the decoder and interpreter in real mode (code at
 * 0000:0100) or 16/32-bit protected mode set up directly in the segment caches. Expected
 * layouts and values come from the SDM (vol. 1 ch. 8, figures 8-9 to 8-12; FXSAVE table
 * 10-2 of vol. 2), worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/fpu.h"
#include "tests/support/testvm.h"

#define CODE 0x100u
#define STACK 0x8000u
#define RAM_SIZE (4u << 20)

static struct testvm *vm;
static struct cpu *c;

static int setup(void **state)
{
    (void)state;
    vm = testvm_new(RAM_SIZE);
    return vm ? (c = &vm->cpu, 0) : -1;
}

static int teardown(void **state)
{
    (void)state;
    testvm_free(vm);
    return 0;
}

static void load_code(const uint8_t *code, size_t n)
{
    memset(vm->mem.ram, 0, 0x40000);
    memcpy(vm->mem.ram + CODE, code, n);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = STACK;
    c->eip = CODE;
    c->exit_on_hlt = true;
    c->stop_on_exception = 0;
    c->bus = (struct cpu_bus){0};
}

/* Real mode, code at 0000:0100. */
static void real_prog(const uint8_t *code, size_t n)
{
    testvm_real_mode(vm);
    load_code(code, n);
}

/* Flat protected mode at CPL 0 with 16- or 32-bit code (segment caches set directly). */
static void prot_prog(const uint8_t *code, size_t n, bool code32)
{
    testvm_real_mode(vm);
    c->cr0 |= CR0_PE;
    uint32_t db = code32 ? SEG_DB | SEG_G : 0, lim = code32 ? 0xFFFFFFFFu : 0xFFFF;
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x10, 0, lim, SEG_P | SEG_S | db | (0x3u << 8));
    cpu_set_seg_cache(c, SR_CS, 0x08, 0, lim, SEG_P | SEG_S | db | (0xBu << 8));
    cpu_update_mode(c);
    load_code(code, n);
}

#define REAL(...)                                     \
    do {                                              \
        static const uint8_t code_[] = {__VA_ARGS__}; \
        real_prog(code_, sizeof(code_));              \
    } while (0)
#define PROT16(...)                                   \
    do {                                              \
        static const uint8_t code_[] = {__VA_ARGS__}; \
        prot_prog(code_, sizeof(code_), false);       \
    } while (0)
#define PROT32(...)                                   \
    do {                                              \
        static const uint8_t code_[] = {__VA_ARGS__}; \
        prot_prog(code_, sizeof(code_), true);        \
    } while (0)

static uint8_t rd8(uint32_t a) { return vm->mem.ram[a]; }
static uint16_t rd16(uint32_t a) { return (uint16_t)(rd8(a) | rd8(a + 1) << 8); }
static uint32_t rd32(uint32_t a) { return rd16(a) | (uint32_t)rd16(a + 2) << 16; }
static uint64_t rd64(uint32_t a) { return rd32(a) | (uint64_t)rd32(a + 4) << 32; }
static void wr16(uint32_t a, uint16_t v)
{
    vm->mem.ram[a] = (uint8_t)v;
    vm->mem.ram[a + 1] = (uint8_t)(v >> 8);
}
static void wr32(uint32_t a, uint32_t v)
{
    wr16(a, (uint16_t)v);
    wr16(a + 2, (uint16_t)(v >> 16));
}
static void wr64(uint32_t a, uint64_t v)
{
    wr32(a, (uint32_t)v);
    wr32(a + 4, (uint32_t)(v >> 32));
}

static void run_to_hlt(uint32_t next_eip)
{
    enum cpu_exit why = cpu_run(c, 1000000);
    assert_int_equal(why, CPU_EXIT_HLT);
    assert_int_equal(c->eip, next_eip);
    c->halted = false;
}

static void run_to_exception(int vector, uint32_t eip)
{
    c->stop_on_exception = 1u << vector;
    enum cpu_exit why = cpu_run(c, 1000000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, vector);
    assert_int_equal(c->eip, eip);
}

#define ONE_EXT_MANT 0x8000000000000000ull
#define ONE_EXT_EXP 0x3FFF

/* ---------------------------------------------------------------- basics */

static void test_reset_state(void **state)
{
    (void)state;
    cpu_reset(c);
    assert_int_equal(c->fpu.cw, 0x0040);
    assert_int_equal(c->fpu.sw, 0);
    assert_int_equal(fpu_full_tag(c), 0x5555);
    assert_int_equal(c->regs[R_EDX], 0x653);
}

static void test_finit_stsw_stcw(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3,             /* FNINIT */
         0xD9, 0x3E, 0x00, 0x02, /* FNSTCW [200h] */
         0xDD, 0x3E, 0x02, 0x02, /* FNSTSW [202h] */
         0xD9, 0xE8,             /* FLD1 */
         0xDF, 0xE0,             /* FNSTSW AX */
         0xF4);
    run_to_hlt(CODE + 15);
    assert_int_equal(rd16(0x200), 0x037F);
    assert_int_equal(rd16(0x202), 0x0000);
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x3800); /* TOP = 7 after one push */
    assert_int_equal(fpu_full_tag(c), 0x3FFF);        /* R7 valid, the rest empty */
    assert_true(c->fpu.r[7].mant == ONE_EXT_MANT);
    assert_int_equal(c->fpu.r[7].sexp, ONE_EXT_EXP);
}

static void test_arith_load_store(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3,             /* FNINIT */
         0xD9, 0xE8,             /* FLD1 */
         0xD9, 0xE8,             /* FLD1 */
         0xDE, 0xC1,             /* FADDP: 2 */
         0xD8, 0xC0,             /* FADD ST0,ST0: 4 */
         0xDD, 0x16, 0x00, 0x02, /* FST qword [200h] */
         0xDB, 0x06, 0x10, 0x02, /* FILD dword [210h] */
         0xDE, 0xC9,             /* FMULP: 4 * -3 */
         0xDF, 0x1E, 0x14, 0x02, /* FISTP word [214h] */
         0xDF, 0xE0,             /* FNSTSW AX */
         0xF4);
    wr32(0x210, (uint32_t)-3);
    run_to_hlt(CODE + 27);
    assert_true(rd64(0x200) == 0x4010000000000000ull);
    assert_int_equal(rd16(0x214), 0xFFF4); /* -12 */
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x0000);
    assert_int_equal(c->fpu.tag_valid, 0);
}

/* ---------------------------------------------------------------- stack faults */

static void test_stack_underflow_masked(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3,             /* FNINIT */
         0xD8, 0xC1,             /* FADD ST0,ST1 on an empty stack */
         0xDF, 0xE0,             /* FNSTSW AX */
         0xF4);
    run_to_hlt(CODE + 7);
    /* IE + SF, C1 = 0 (underflow); masked: ST0 gets the real indefinite, still empty? no:
     * the destination is written, so R0 becomes valid. */
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x0041);
    assert_int_equal(c->fpu.tag_valid, 0x01);
    assert_true(c->fpu.r[0].mant == 0xC000000000000000ull);
    assert_int_equal(c->fpu.r[0].sexp, 0xFFFF);
}

static void test_stack_overflow(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3, /* FNINIT */
         0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, /* FLD1 x 8 */
         0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8,
         0xD9, 0xEE, /* FLDZ: the ninth push overflows */
         0xDF, 0xE0, /* FNSTSW AX */
         0xF4);
    run_to_hlt(CODE + 23);
    /* IE + SF + C1 (overflow), TOP wrapped to 7, ST0 = indefinite. */
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x3841 | 0x0200);
    assert_true(c->fpu.r[7].mant == 0xC000000000000000ull);
    assert_int_equal(c->fpu.r[7].sexp, 0xFFFF);
}

static void test_stack_overflow_unmasked_keeps_top(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3, /* FNINIT */
         0xD9, 0x2E, 0x00, 0x02, /* FLDCW [200h]: IM clear */
         0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8,
         0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8,
         0xD9, 0xEE, /* FLDZ: overflow, unmasked */
         0xDF, 0xE0, /* FNSTSW AX */
         0xF4);
    wr16(0x200, 0x037E);
    run_to_hlt(CODE + 27);
    /* IE SF C1 ES B; TOP stays 0; ST0 (R0) keeps 1.0. */
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x8000 | 0x0200 | 0x00C1);
    assert_true(c->fpu.r[0].mant == ONE_EXT_MANT);
}

/* ---------------------------------------------------------------- save formats */

/* State used by the layout tests: FNINIT, FLD1, FLDZ, CW 027Fh, then FNSAVE/FNSTENV at 300h.
 * TOP = 6, R7 = 1.0 (valid), R6 = 0 (zero), tags 0x1FFF; FIP/FOP of the FLDZ (D9 EE). */
static void check_regs_saved(uint32_t at)
{
    /* ST0 = +0, ST1 = 1.0 */
    assert_true(rd64(at) == 0);
    assert_int_equal(rd16(at + 8), 0);
    assert_true(rd64(at + 10) == ONE_EXT_MANT);
    assert_int_equal(rd16(at + 18), ONE_EXT_EXP);
}

static void test_fsave_real16(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3, 0xD9, 0xE8,    /* FNINIT; FLD1 at 102h */
         0xD9, 0xEE,                /* FLDZ at 104h */
         0xDD, 0x36, 0x00, 0x03,    /* FNSAVE [300h] (16-bit real format, 94 bytes) */
         0xDF, 0xE0, 0xF4);         /* FNSTSW AX: after FNINIT */
    run_to_hlt(CODE + 13);
    assert_int_equal(rd16(0x300), 0x037F);
    assert_int_equal(rd16(0x302), 0x3000); /* TOP 6 */
    assert_int_equal(rd16(0x304), 0x1FFF); /* R7 valid, R6 zero */
    assert_int_equal(rd16(0x306), 0x0104); /* IP 15..0 (CS 0) */
    assert_int_equal(rd16(0x308), 0x01EE); /* IP 19..16 = 0, opcode D9 EE -> 1EE */
    check_regs_saved(0x300 + 14);
    /* FNSAVE initialised the FPU */
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0);
    assert_int_equal(c->fpu.cw, 0x037F);
    assert_int_equal(c->fpu.tag_valid, 0);
}

static void test_fsave_real32(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xEE,
         0x66, 0xDD, 0x36, 0x00, 0x03, /* o32 FNSAVE [300h] (32-bit real format, 108 bytes) */
         0xF4);
    vm->mem.ram[0x300 + 108] = 0x77;
    run_to_hlt(CODE + 12);
    assert_int_equal(rd16(0x300), 0x037F);
    assert_int_equal(rd16(0x304), 0x3000);
    assert_int_equal(rd16(0x308), 0x1FFF);
    assert_int_equal(rd16(0x30C), 0x0104);
    assert_int_equal(rd32(0x310), 0x000001EE);
    check_regs_saved(0x300 + 28);
    assert_int_equal(rd8(0x300 + 108), 0x77);
}

static void test_fstenv_prot32(void **state)
{
    (void)state;
    PROT32(0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xEE,
           0xD9, 0x35, 0x00, 0x03, 0x00, 0x00, /* FNSTENV [300h] */
           0xF4);
    c->fpu.fdp = 0x1234;
    run_to_hlt(CODE + 13);
    assert_int_equal(rd16(0x300), 0x037F);
    assert_int_equal(rd16(0x304), 0x3000);
    assert_int_equal(rd16(0x308), 0x1FFF);
    assert_int_equal(rd32(0x30C), 0x104);          /* FIP */
    assert_int_equal(rd32(0x310), 0x01EE0008);     /* FOP : FCS */
    assert_int_equal(rd16(0x318), 0x0000);         /* FDS: FNINIT cleared the pointers */
    /* FNSTENV masks every exception afterwards. */
    assert_int_equal(c->fpu.cw, 0x037F);
}

static void test_fstenv_prot16(void **state)
{
    (void)state;
    PROT16(0xDB, 0xE3, 0xD9, 0xE8,
           0xDD, 0x06, 0x00, 0x02,        /* FLD qword [200h] at 104h */
           0xD9, 0x36, 0x00, 0x03,        /* FNSTENV [300h] (14 bytes) */
           0xF4);
    wr64(0x200, 0x3FF0000000000000ull);
    run_to_hlt(CODE + 13);
    assert_int_equal(rd16(0x300), 0x037F);
    assert_int_equal(rd16(0x302), 0x3000);
    assert_int_equal(rd16(0x304), 0x0FFF); /* R7, R6 valid */
    assert_int_equal(rd16(0x306), 0x0104); /* IP */
    assert_int_equal(rd16(0x308), 0x0008); /* CS */
    assert_int_equal(rd16(0x30A), 0x0200); /* operand offset */
    assert_int_equal(rd16(0x30C), 0x0010); /* DS */
}

static void test_frstor_roundtrip_and_tags(void **state)
{
    (void)state;
    /* FRSTOR a 32-bit protected image whose tag word says "special" for a valid 1.0 and
     * "valid" for a denormal: the tags stored again come from the contents. */
    PROT32(0xDD, 0x25, 0x00, 0x03, 0x00, 0x00, /* FRSTOR [300h] */
           0xD9, 0x35, 0x00, 0x04, 0x00, 0x00, /* FNSTENV [400h] */
           0xF4);
    memset(vm->mem.ram + 0x300, 0, 108);
    wr16(0x300, 0x037F);
    wr16(0x304, 0x3000);  /* TOP 6 */
    wr16(0x308, 0x0FFF);  /* R7, R6 "valid", others empty */
    wr64(0x300 + 28, ONE_EXT_MANT);       /* ST0 = R6 = 1.0 */
    wr16(0x300 + 36, ONE_EXT_EXP);
    wr64(0x300 + 38, 1);                  /* ST1 = R7 = denormal */
    wr16(0x300 + 46, 0);
    run_to_hlt(CODE + 13);
    assert_int_equal(rd16(0x408), 0x8FFF); /* R7 special, R6 valid */
    assert_int_equal(c->fpu.tag_valid, 0xC0);
}

static void test_fxsave_layout_and_abridged_tag(void **state)
{
    (void)state;
    PROT32(0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xEE,
           0x0F, 0xAE, 0x05, 0x00, 0x04, 0x00, 0x00, /* FXSAVE [400h] */
           0xDB, 0xE3,                               /* FNINIT */
           0x0F, 0xAE, 0x0D, 0x00, 0x04, 0x00, 0x00, /* FXRSTOR [400h] */
           0xF4);
    memset(vm->mem.ram + 0x400, 0xEE, 512);
    run_to_hlt(CODE + 23);
    assert_int_equal(rd16(0x400), 0x037F);
    assert_int_equal(rd16(0x402), 0x3000);
    assert_int_equal(rd8(0x404), 0xC0);      /* abridged: R7, R6 */
    assert_int_equal(rd16(0x406), 0x01EE);   /* FOP */
    assert_int_equal(rd32(0x408), 0x104);    /* FIP */
    assert_int_equal(rd16(0x40C), 0x0008);   /* FCS */
    assert_true(rd64(0x400 + 48) == ONE_EXT_MANT); /* ST1 at 48 */
    assert_int_equal(rd16(0x400 + 56), ONE_EXT_EXP);
    assert_int_equal(rd8(0x400 + 200), 0xEE); /* no SSE state is written */
    /* FXRSTOR brought it back */
    assert_int_equal(c->fpu.tag_valid, 0xC0);
    assert_int_equal(c->fpu.sw, 0x3000);
    assert_int_equal(c->fpu.fop, 0x1EE);
}

static void test_fxsave_misaligned_gp(void **state)
{
    (void)state;
    PROT32(0x0F, 0xAE, 0x05, 0x08, 0x04, 0x00, 0x00, /* FXSAVE [408h] */
           0xF4);
    run_to_exception(EXC_GP, CODE);
    assert_int_equal(c->exc_error, 0);
}

static void test_fldenv_real_formats(void **state)
{
    (void)state;
    /* 16-bit real format: IP 19..16 in bits 12-15 of word 4, opcode in bits 0-10; DP 19..16
     * in bits 12-15 of word 6. Loaded, then stored again unchanged (32-bit format too). */
    REAL(0xD9, 0x26, 0x00, 0x02,       /* FLDENV [200h] (14 bytes) */
         0xD9, 0x36, 0x00, 0x03,       /* FNSTENV [300h] */
         0x66, 0xD9, 0x36, 0x00, 0x04, /* o32 FNSTENV [400h] (28 bytes) */
         0xF4);
    wr16(0x200, 0x0360);
    wr16(0x202, 0x3800 | 0x0100);     /* TOP 7, C0 */
    wr16(0x204, 0x3FFF);              /* R7 valid */
    wr16(0x206, 0x2345);              /* IP 15..0 */
    wr16(0x208, 0x5000 | 0x0123);     /* IP 19..16 = 5, opcode 123h */
    wr16(0x20A, 0x6789);              /* DP 15..0 */
    wr16(0x20C, 0xA000);              /* DP 19..16 = A */
    c->fpu.r[7].mant = ONE_EXT_MANT;
    c->fpu.r[7].sexp = ONE_EXT_EXP;
    run_to_hlt(CODE + 14);
    assert_int_equal(c->fpu.fip, 0x52345);
    assert_int_equal(c->fpu.fdp, 0xA6789);
    assert_int_equal(c->fpu.fop, 0x123);
    for (unsigned k = 0; k < 14; k += 2)
        assert_int_equal(rd16(0x300 + k), rd16(0x200 + k));
    /* 32-bit real format: IP 31..16 in bits 12-27 of dword 4, opcode in bits 0-10. */
    assert_int_equal(rd32(0x40C), 0xFFFF2345);
    assert_int_equal(rd32(0x410), (0x5u << 12) | 0x123);
    assert_int_equal(rd32(0x414), 0xFFFF6789);
    assert_int_equal(rd32(0x418), 0xAu << 12);
}

static void test_fsave_v86_uses_real_format(void **state)
{
    (void)state;
    /* FNSTENV in protected mode with EFLAGS.VM: the real-mode layout (linear pointers). */
    PROT16(0xD9, 0xE8,             /* FLD1 at 100h */
           0xD9, 0x36, 0x00, 0x03, /* FNSTENV [300h] */
           0xF4);
    c->fpu.tag_valid = 0;
    c->eflags |= FL_VM;
    cpu_update_mode(c);
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x0010, 0x100, 0xFFFF, SEG_P | SEG_S | (0x3u << 8));
    memcpy(vm->mem.ram + 0x100 + CODE, vm->mem.ram + CODE, 8);
    vm->mem.ram[0x100 + CODE + 6] = 0xF4;
    c->stop_on_exception = 1u << EXC_GP; /* the closing HLT faults in v8086 mode */
    assert_int_equal(cpu_run(c, 10), CPU_EXIT_EXCEPTION);
    assert_int_equal(c->eip, CODE + 6);
    /* FIP = linear 110h + 100h: CS (base 100h) : IP 100h. */
    assert_int_equal(rd16(0x100 + 0x306), 0x0200);
    assert_int_equal(rd16(0x100 + 0x308), 0x01E8);
}

static void test_mmx_aliases_and_emms(void **state)
{
    (void)state;
    REAL(0xDB, 0xE3,             /* FNINIT */
         0xD9, 0xE8,             /* FLD1: TOP 7 */
         0x0F, 0x6F, 0x06, 0x00, 0x02, /* MOVQ MM0, [200h] */
         0x0F, 0xFC, 0xC0,       /* PADDB MM0, MM0 */
         0x0F, 0x7E, 0xC3,       /* MOVD EBX, MM0 */
         0xDF, 0xE0,             /* FNSTSW AX */
         0x0F, 0x77,             /* EMMS */
         0xF4);
    wr64(0x200, 0x0102030405068090ull);
    run_to_hlt(CODE + 20);
    assert_true(c->fpu.r[0].mant == 0x020406080A0C0020ull);
    assert_int_equal(c->fpu.r[0].sexp, 0xFFFF);
    assert_int_equal(c->regs[R_EBX], 0x0A0C0020);
    assert_int_equal(c->regs[R_EAX] & 0x3800, 0); /* TOP 0 after MMX */
    assert_int_equal(c->fpu.tag_valid, 0);         /* EMMS emptied everything */
    assert_true(c->fpu.r[7].mant == ONE_EXT_MANT); /* R7 (the FLD1) is untouched */
}

/* ---------------------------------------------------------------- CR0 and errors */

static void test_em_ts(void **state)
{
    (void)state;
    REAL(0xD9, 0xE8, 0xF4); /* FLD1 */
    c->cr0 |= CR0_EM;
    run_to_exception(EXC_NM, CODE);
    REAL(0x0F, 0x6F, 0xC1, 0xF4); /* MOVQ MM0, MM1: #UD with EM */
    c->cr0 |= CR0_EM;
    run_to_exception(EXC_UD, CODE);
    REAL(0x0F, 0x6F, 0xC1, 0xF4);
    c->cr0 |= CR0_TS;
    run_to_exception(EXC_NM, CODE);
    REAL(0x9B, 0xF4); /* WAIT: #NM only with MP and TS */
    c->cr0 |= CR0_TS;
    run_to_hlt(CODE + 2);
    REAL(0x9B, 0xF4);
    c->cr0 |= CR0_TS | CR0_MP;
    run_to_exception(EXC_NM, CODE);
    REAL(0x0F, 0xAE, 0x06, 0x00, 0x04, 0xF4); /* FXSAVE with TS */
    c->cr0 |= CR0_TS;
    run_to_exception(EXC_NM, CODE);
}

/* FNINIT; FLDCW (ZM clear); FLDZ; FLD1; FDIV ST0,ST1 (1/0, error pending); FLD1 waits. */
#define DIVZERO_PROG                                                                          \
    0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x02, 0xD9, 0xEE, 0xD9, 0xE8, 0xD8, 0xF1, /* ...FDIV */      \
        0xD9, 0xE8, /* FLD1 at 10Ch */                                                        \
        0xF4

static void test_unmasked_mf(void **state)
{
    (void)state;
    REAL(DIVZERO_PROG);
    wr16(0x200, 0x037B);
    c->cr0 |= CR0_NE;
    run_to_exception(EXC_MF, CODE + 12);
    /* ZE, ES, B; the destination kept 1.0 (an unmasked ZE stores nothing). */
    assert_int_equal(c->fpu.sw & 0x80FF, 0x8084);
    assert_true(c->fpu.r[(fpu_top(c)) & 7].mant == ONE_EXT_MANT);
    assert_int_equal(c->fpu.fip, CODE + 10); /* the FDIV */
    assert_int_equal(c->fpu.fop, 0x0F1);
}

static int ferr_level = -1, ferr_calls;
static void on_ferr(void *opaque, bool level)
{
    (void)opaque;
    ferr_level = level;
    ferr_calls++;
}

static void test_unmasked_ferr(void **state)
{
    (void)state;
    REAL(DIVZERO_PROG);
    wr16(0x200, 0x037B);
    c->ferr = on_ferr;
    ferr_level = -1;
    ferr_calls = 0;
    enum cpu_exit why = cpu_run(c, 100);
    /* NE = 0: FERR# asserted at the FLD1, which waits there (halted, EIP at it). */
    assert_int_equal(why, CPU_EXIT_HLT);
    assert_int_equal(c->eip, CODE + 12);
    assert_int_equal(ferr_level, 1);
    /* Port F0h (IGNNE#): FERR# released, the FLD1 then runs despite the error. */
    cpu_fpu_ignne(c);
    assert_int_equal(ferr_level, 0);
    c->halted = false;
    run_to_hlt(CODE + 15);
    assert_int_equal(c->fpu.sw & 0x8084, 0x8084);
    /* IGNNE# stays asserted while the error is pending. */
    assert_true(c->fpu.ignne);
    c->ferr = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_finit_stsw_stcw),
        cmocka_unit_test(test_arith_load_store),
        cmocka_unit_test(test_stack_underflow_masked),
        cmocka_unit_test(test_stack_overflow),
        cmocka_unit_test(test_stack_overflow_unmasked_keeps_top),
        cmocka_unit_test(test_fsave_real16),
        cmocka_unit_test(test_fsave_real32),
        cmocka_unit_test(test_fstenv_prot32),
        cmocka_unit_test(test_fstenv_prot16),
        cmocka_unit_test(test_frstor_roundtrip_and_tags),
        cmocka_unit_test(test_fxsave_layout_and_abridged_tag),
        cmocka_unit_test(test_fldenv_real_formats),
        cmocka_unit_test(test_fsave_v86_uses_real_format),
        cmocka_unit_test(test_mmx_aliases_and_emms),
        cmocka_unit_test(test_fxsave_misaligned_gp),
        cmocka_unit_test(test_em_ts),
        cmocka_unit_test(test_unmasked_mf),
        cmocka_unit_test(test_unmasked_ferr),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
