/* Interpreter tests for data movement, stack, control transfer, string and port handlers.
 *
 * Hand-assembled programs run through the real decoder and interpreter, mostly in real mode
 * with code at 0000:0100 and the stack at 0000:8000, ending with HLT. Expected values are
 * worked out by hand from the SDM descriptions, never by running our own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "mmu/paging.h"
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

/* Fresh real-mode machine with `code` at 0000:0100. */
static void real_prog(const uint8_t *code, size_t n)
{
    testvm_real_mode(vm);
    memset(vm->mem.ram, 0, 0x40000);
    memcpy(vm->mem.ram + CODE, code, n);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = STACK;
    c->eip = CODE;
    c->exit_on_hlt = true;
    c->stop_on_exception = 0;
    c->bus = (struct cpu_bus){0};
}

#define REAL(...)                                        \
    do {                                                 \
        static const uint8_t code_[] = {__VA_ARGS__};    \
        real_prog(code_, sizeof(code_));                 \
    } while (0)

static void put(uint32_t addr, const void *p, size_t n) { memcpy(vm->mem.ram + addr, p, n); }
static uint8_t rd8(uint32_t a) { return vm->mem.ram[a]; }
static uint16_t rd16(uint32_t a) { return (uint16_t)(rd8(a) | rd8(a + 1) << 8); }
static uint32_t rd32(uint32_t a) { return rd16(a) | (uint32_t)rd16(a + 2) << 16; }
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

/* Run to HLT and check EIP is just past it. */
static void run_to_hlt(uint32_t next_eip)
{
    enum cpu_exit why = cpu_run(c, 10000000);
    assert_int_equal(why, CPU_EXIT_HLT);
    assert_int_equal(c->eip, next_eip);
    c->halted = false;
}

static void run_to_exception(int vector, uint32_t eip)
{
    c->stop_on_exception = 1u << vector;
    enum cpu_exit why = cpu_run(c, 10000000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, vector);
    assert_int_equal(c->eip, eip);
}

static void set_ivt(unsigned vec, uint16_t seg, uint16_t off)
{
    wr16(vec * 4, off);
    wr16(vec * 4 + 2, seg);
}

/* ---------------------------------------------------------------- interrupts */

static void test_int_iret_ivt(void **state)
{
    (void)state;
    REAL(0xFB,             /* STI */
         0xF9,             /* STC */
         0xCD, 0x21,       /* INT 21h */
         0xF4);            /* HLT at 0x104 */
    set_ivt(0x21, 0x0030, 0x0100); /* handler at linear 0x400 */
    static const uint8_t handler[] = {
        0x9C,             /* PUSHF */
        0x58,             /* POP AX: the flags inside the handler */
        0xBB, 0x34, 0x12, /* MOV BX,1234h */
        0x8C, 0xCA,       /* MOV DX,CS */
        0xCF,             /* IRET */
    };
    put(0x400, handler, sizeof(handler));
    run_to_hlt(0x105);
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x0003); /* CF kept, IF cleared, bit 1 */
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x1234);
    assert_int_equal(c->regs[R_EDX] & 0xFFFF, 0x0030);
    assert_int_equal(c->seg[SR_CS].sel, 0);
    assert_int_equal(c->regs[R_ESP], STACK);
    assert_int_equal(cpu_get_eflags(c) & 0xFFFF, 0x0203);
    /* The frame INT built: IP, CS, FLAGS from low to high. */
    assert_int_equal(rd16(STACK - 6), 0x0104);
    assert_int_equal(rd16(STACK - 4), 0x0000);
    assert_int_equal(rd16(STACK - 2), 0x0203);
}

static void test_iret16_keeps_high_eflags(void **state)
{
    (void)state;
    REAL(0xCF); /* IRET */
    vm->mem.ram[0x200] = 0xF4;
    c->regs[R_ESP] = STACK - 6;
    wr16(STACK - 6, 0x0200);
    wr16(STACK - 4, 0x0000);
    wr16(STACK - 2, 0x3ED7); /* every low flag but TF, IOPL 3 */
    cpu_set_eflags(c, FL_AC | FL_ID);
    run_to_hlt(0x201);
    assert_int_equal(cpu_get_eflags(c), 0x3ED7u | FL_AC | FL_ID);
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_iret32_real(void **state)
{
    (void)state;
    REAL(0x66, 0xCF); /* IRETD */
    vm->mem.ram[0x200] = 0xF4;
    c->regs[R_ESP] = STACK - 12;
    wr32(STACK - 12, 0x00000200);
    wr32(STACK - 8, 0xFFFF0000); /* selector 0: the high half is discarded */
    wr32(STACK - 4, FL_AC | FL_VM | FL_VIF | 0x0002);
    run_to_hlt(0x201);
    /* AC loads; VM and VIF are kept (clear). */
    assert_int_equal(cpu_get_eflags(c), FL_AC | 0x2u);
    assert_int_equal(c->seg[SR_CS].sel, 0);
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_int3_into(void **state)
{
    (void)state;
    REAL(0xCE,                   /* INTO with OF clear: nothing */
         0x68, 0x02, 0x08,       /* PUSH 0802h */
         0x9D,                   /* POPF: OF=1 */
         0xCE,                   /* INTO -> vector 4 */
         0xCC,                   /* INT3 -> vector 3 */
         0xF4);                  /* HLT at 0x107 */
    set_ivt(3, 0, 0x300);
    set_ivt(4, 0, 0x320);
    static const uint8_t h3[] = {0xBB, 0x33, 0x00, 0xCF}; /* MOV BX,33h; IRET */
    static const uint8_t h4[] = {0xB9, 0x44, 0x00, 0xCF}; /* MOV CX,44h; IRET */
    put(0x300, h3, sizeof(h3));
    put(0x320, h4, sizeof(h4));
    run_to_hlt(0x108);
    assert_int_equal(c->regs[R_EBX], 0x33);
    assert_int_equal(c->regs[R_ECX], 0x44);
    assert_int_equal(rd16(STACK - 6), 0x0107); /* INT3 returned past itself */
}

/* ---------------------------------------------------------------- far and near transfers */

static void test_far_call_ret(void **state)
{
    (void)state;
    REAL(0x68, 0x11, 0x11,                   /* PUSH 1111h */
         0x9A, 0x10, 0x00, 0x50, 0x00,       /* CALL 0050:0010 */
         0xF4);                              /* HLT at 0x108 */
    static const uint8_t sub[] = {0x8C, 0xC8, /* MOV AX,CS */
                                  0xCA, 0x02, 0x00}; /* RETF 2 */
    put(0x510, sub, sizeof(sub));
    run_to_hlt(0x109);
    assert_int_equal(c->regs[R_EAX], 0x50);
    assert_int_equal(c->regs[R_ESP], STACK);
    assert_int_equal(rd16(STACK - 6), 0x0108);
    assert_int_equal(rd16(STACK - 4), 0x0000);
    assert_int_equal(c->seg[SR_CS].sel, 0);
    assert_int_equal(c->seg[SR_CS].base, 0);
}

static void test_far_call32_real(void **state)
{
    (void)state;
    REAL(0x66, 0x9A, 0x20, 0x00, 0x00, 0x00, 0x50, 0x00, /* CALL DWORD 0050:00000020 */
         0xF4);                                           /* HLT at 0x108 */
    static const uint8_t sub[] = {0x66, 0xCB}; /* RETFD */
    put(0x520, sub, sizeof(sub));
    memset(vm->mem.ram + STACK - 16, 0xAA, 16);
    run_to_hlt(0x109);
    assert_int_equal(rd32(STACK - 4), 0x00000000); /* CS slot, zero-extended */
    assert_int_equal(rd32(STACK - 8), 0x00000108);
    assert_int_equal(rd32(STACK - 12), 0xAAAAAAAA);
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_far_jumps(void **state)
{
    (void)state;
    REAL(0xEA, 0x05, 0x00, 0x40, 0x00); /* JMP 0040:0005 -> linear 0x405 */
    static const uint8_t at405[] = {0xFF, 0x2E, 0x00, 0x06}; /* JMP FAR [600h] */
    put(0x405, at405, sizeof(at405));
    /* DS is still 0: [600h] is linear 0x600 whatever CS is */
    wr16(0x600, 0x0010);
    wr16(0x602, 0x0050);
    vm->mem.ram[0x510] = 0xF4;
    run_to_hlt(0x11);
    assert_int_equal(c->seg[SR_CS].sel, 0x50);
    assert_int_equal(c->seg[SR_CS].base, 0x500);
}

static void test_near_call_ret_imm(void **state)
{
    (void)state;
    REAL(0x68, 0x22, 0x22,       /* 100: PUSH 2222h */
         0xE8, 0x03, 0x00,       /* 103: CALL 109h */
         0xF4,                   /* 106: HLT */
         0x90, 0x90,             /* 107: NOP; NOP */
         0xBA, 0x55, 0x55,       /* 109: MOV DX,5555h */
         0xC2, 0x02, 0x00);      /* 10C: RET 2 */
    run_to_hlt(0x107);
    assert_int_equal(c->regs[R_EDX], 0x5555);
    assert_int_equal(c->regs[R_ESP], STACK);
    assert_int_equal(rd16(STACK - 4), 0x0106);
}

static void test_indirect_near(void **state)
{
    (void)state;
    REAL(0xBB, 0x20, 0x01,       /* 100: MOV BX,120h */
         0xFF, 0xD3,             /* 103: CALL BX */
         0xF4);                  /* 105: HLT */
    static const uint8_t sub[] = {
        0xBE, 0x30, 0x01,       /* 120: MOV SI,130h */
        0xFF, 0xE6,             /* 123: JMP SI */
    };
    put(0x120, sub, sizeof(sub));
    static const uint8_t tail[] = {0xB9, 0x07, 0x00, 0xC3}; /* 130: MOV CX,7; RET */
    put(0x130, tail, sizeof(tail));
    run_to_hlt(0x106);
    assert_int_equal(c->regs[R_ECX], 7);
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_jcc_loop_jcxz(void **state)
{
    (void)state;
    REAL(0xB9, 0x05, 0x00,       /* 100: MOV CX,5 */
         0x8D, 0x5F, 0x01,       /* 103: LEA BX,[BX+1] */
         0xE2, 0xFB,             /* 106: LOOP 103h */
         0xE3, 0x02,             /* 108: JCXZ 10Ch */
         0xB3, 0xEE,             /* 10A: MOV BL,0EEh (skipped) */
         0xB4, 0x41,             /* 10C: MOV AH,41h (ZF|CF) */
         0x9E,                   /* 10E: SAHF */
         0x74, 0x02,             /* 10F: JZ 113h */
         0xB0, 0x01,             /* 111: MOV AL,1 (skipped) */
         0x72, 0x02,             /* 113: JC 117h */
         0xB1, 0x01,             /* 115: MOV CL,1 (skipped) */
         0x75, 0x02,             /* 117: JNZ (not taken) */
         0xB2, 0x07,             /* 119: MOV DL,7 */
         0xB9, 0x03, 0x00,       /* 11B: MOV CX,3 */
         0xE1, 0xFE,             /* 11E: LOOPE 11Eh: ZF stays 1, runs CX down */
         0xE0, 0xFE,             /* 120: LOOPNE with CX=0 -> CX=FFFF, ZF=1: falls through */
         0xF4);                  /* 122: HLT */
    run_to_hlt(0x123);
    assert_int_equal(c->regs[R_EBX], 5);
    assert_int_equal(c->regs[R_EAX], 0x4100);
    assert_int_equal(c->regs[R_EDX], 7);
    assert_int_equal(c->regs[R_ECX], 0xFFFF);
}

static void test_loop_ecx_with_addr32(void **state)
{
    (void)state;
    REAL(0x67, 0xE2, 0xFD,       /* 100: LOOP 100h with ECX */
         0xF4);
    c->regs[R_ECX] = 0x00010002; /* a CX-based loop would stop after 2 */
    run_to_hlt(0x104);
    assert_int_equal(c->regs[R_ECX], 0);
    assert_int_equal(c->icount, 0x10002 + 1);
}

/* ---------------------------------------------------------------- stack */

static void test_pusha_popa(void **state)
{
    (void)state;
    REAL(0x60,                                   /* PUSHA */
         0xB8, 0, 0, 0xB9, 0, 0, 0xBA, 0, 0, 0xBB, 0, 0,
         0xBD, 0, 0, 0xBE, 0, 0, 0xBF, 0, 0,     /* MOV reg,0 for all but SP */
         0xC7, 0x06, 0xF6, 0x7F, 0x34, 0x12,     /* MOV WORD [7FF6h],1234h: the SP slot */
         0x61,                                   /* POPA */
         0xF4);
    for (unsigned r = 0; r < 8; r++)
        if (r != R_ESP)
            c->regs[r] = 0xABCD0000u | (r + 1);
    assert_int_equal(cpu_run(c, 1), CPU_EXIT_LIMIT);
    assert_int_equal(rd16(STACK - 2), 1);      /* AX */
    assert_int_equal(rd16(STACK - 4), 2);      /* CX */
    assert_int_equal(rd16(STACK - 8), 4);      /* BX */
    assert_int_equal(rd16(STACK - 10), STACK); /* SP before PUSHA */
    assert_int_equal(rd16(STACK - 12), 6);     /* BP */
    assert_int_equal(rd16(STACK - 16), 8);     /* DI */
    assert_int_equal(c->regs[R_ESP], STACK - 16);
    run_to_hlt(CODE + 30);
    for (unsigned r = 0; r < 8; r++)
        if (r != R_ESP)
            assert_int_equal(c->regs[r], 0xABCD0000u | (r + 1));
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_pusha_fault_is_precise(void **state)
{
    (void)state;
    REAL(0x60); /* PUSHA */
    c->regs[R_ESP] = 7; /* slots 5, 3, 1, then a word at FFFF: past the limit */
    c->regs[R_EAX] = 0x1111;
    memset(vm->mem.ram, 0x5A, 8);
    run_to_exception(EXC_SS, CODE);
    assert_int_equal(c->regs[R_ESP], 7);
    assert_int_equal(rd16(5), 0x5A5A); /* nothing was stored */
}

static void test_enter_leave_nested(void **state)
{
    (void)state;
    REAL(0xC8, 0x10, 0x00, 0x03, /* ENTER 10h,3 */
         0xF4,                   /* HLT at 0x104 */
         0xC9,                   /* LEAVE */
         0xF4);
    c->regs[R_ESP] = 0x7000;
    c->regs[R_EBP] = 0x7F00;
    wr16(0x7EFE, 0x1111); /* the caller's display */
    wr16(0x7EFC, 0x2222);
    run_to_hlt(0x105);
    assert_int_equal(rd16(0x6FFE), 0x7F00); /* old BP */
    assert_int_equal(rd16(0x6FFC), 0x1111);
    assert_int_equal(rd16(0x6FFA), 0x2222);
    assert_int_equal(rd16(0x6FF8), 0x6FFE); /* this frame */
    assert_int_equal(c->regs[R_EBP], 0x6FFE);
    assert_int_equal(c->regs[R_ESP], 0x6FE8);
    run_to_hlt(0x107);
    assert_int_equal(c->regs[R_EBP], 0x7F00);
    assert_int_equal(c->regs[R_ESP], 0x7000);
}

static void test_enter32_level1(void **state)
{
    (void)state;
    REAL(0x66, 0xC8, 0x04, 0x00, 0x01, /* ENTER 4,1 with 32-bit operands */
         0xF4);
    c->regs[R_ESP] = 0x7000;
    c->regs[R_EBP] = 0x12345678;
    run_to_hlt(0x106);
    assert_int_equal(rd32(0x6FFC), 0x12345678);
    assert_int_equal(rd32(0x6FF8), 0x6FFC);
    assert_int_equal(c->regs[R_EBP], 0x6FFC);
    assert_int_equal(c->regs[R_ESP], 0x6FF4);
}

static void test_pushf_popf_real(void **state)
{
    (void)state;
    REAL(0x68, 0xD7, 0x7E,                   /* PUSH 7ED7h: IOPL 3, NT, no TF */
         0x9D,                               /* POPF */
         0x9C,                               /* PUSHF */
         0x58,                               /* POP AX */
         0x66, 0x68, 0x02, 0x00, 0x27, 0x00, /* PUSH DWORD 00270002h: RF VM AC ID */
         0x66, 0x9D,                         /* POPFD */
         0x66, 0x9C,                         /* PUSHFD */
         0x66, 0x5B,                         /* POP EBX */
         0xF4);
    run_to_hlt(CODE + 19);
    assert_int_equal(c->regs[R_EAX], 0x7ED7);
    /* AC and ID load; VM and RF do not; the low word is now just bit 1. */
    assert_int_equal(c->regs[R_EBX], 0x00240002);
}

static void test_push_pop_special(void **state)
{
    (void)state;
    REAL(0x54,                   /* PUSH SP: the value before the push */
         0x5B,                   /* POP BX */
         0x66, 0x68, 0x78, 0x56, 0x34, 0x12, /* PUSH DWORD 12345678h */
         0x66, 0x8F, 0x06, 0x00, 0x09,       /* POP DWORD [900h] */
         0x1E,                   /* PUSH DS */
         0x07,                   /* POP ES */
         0xF4);
    cpu_load_seg(c, SR_DS, 0x0040);
    run_to_hlt(CODE + 16);
    assert_int_equal(c->regs[R_EBX], STACK);
    assert_int_equal(rd32(0x400 + 0x900), 0x12345678);
    assert_int_equal(c->seg[SR_ES].sel, 0x0040);
    assert_int_equal(c->seg[SR_ES].base, 0x400);
    assert_int_equal(c->regs[R_ESP], STACK);
}

static void test_push_seg32_writes_word(void **state)
{
    (void)state;
    REAL(0xB8, 0x34, 0x12,       /* MOV AX,1234h */
         0x8E, 0xD8,             /* MOV DS,AX */
         0x66, 0x1E,             /* PUSH DS with 32-bit operand size */
         0x66, 0x8C, 0xD9,       /* MOV ECX,DS: zero-extended */
         0x66, 0x07,             /* POP ES (4 bytes) */
         0x26, 0x8C, 0x1E, 0x00, 0x0C, /* MOV ES:[0C00h],DS: 16-bit store */
         0xF4);
    memset(vm->mem.ram + STACK - 4, 0xCC, 4);
    memset(vm->mem.ram + 0x12340 + 0xC00, 0xCC, 4);
    c->regs[R_ECX] = 0xFFFFFFFF;
    run_to_hlt(CODE + 18);
    assert_int_equal(rd16(STACK - 4), 0x1234);
    assert_int_equal(rd16(STACK - 2), 0xCCCC); /* upper half of the slot untouched */
    assert_int_equal(c->regs[R_ECX], 0x1234);
    assert_int_equal(c->seg[SR_ES].sel, 0x1234);
    assert_int_equal(c->seg[SR_ES].base, 0x12340);
    assert_int_equal(c->regs[R_ESP], STACK);
    assert_int_equal(rd16(0x12340 + 0xC00), 0x1234);
    assert_int_equal(rd16(0x12340 + 0xC02), 0xCCCC);
}

static void test_mov_ss_shadow(void **state)
{
    (void)state;
    REAL(0xB8, 0x00, 0x10,       /* MOV AX,1000h */
         0x8E, 0xD0,             /* MOV SS,AX */
         0xBC, 0x00, 0x80,       /* MOV SP,8000h */
         0xF4);
    assert_int_equal(cpu_run(c, 2), CPU_EXIT_LIMIT);
    assert_int_equal(c->inhibit_irq, INHIBIT_SS);
    assert_int_equal(c->seg[SR_SS].base, 0x10000);
    run_to_hlt(CODE + 9);
    assert_int_equal(c->inhibit_irq, 0);
}

static void test_sti_shadow_only_when_if_clear(void **state)
{
    (void)state;
    REAL(0xFB, 0xFB, 0xF4); /* STI; STI; HLT */
    assert_int_equal(cpu_run(c, 1), CPU_EXIT_LIMIT);
    assert_int_equal(c->inhibit_irq, INHIBIT_IRQ);
    assert_int_equal(cpu_run(c, 1), CPU_EXIT_LIMIT); /* the run loop consumed the shadow */
    assert_int_equal(c->inhibit_irq, 0);            /* IF was already set: no new one */
    assert_true(c->eflags & FL_IF);
}

/* ---------------------------------------------------------------- data movement */

static void test_lxs_xlat_cbw(void **state)
{
    (void)state;
    REAL(0xC4, 0x3E, 0x00, 0x06,     /* LES DI,[600h] */
         0xBB, 0x00, 0x07,           /* MOV BX,700h */
         0xB0, 0x05,                 /* MOV AL,5 */
         0xD7,                       /* XLAT */
         0x88, 0xC5,                 /* MOV CH,AL */
         0xB0, 0x80,                 /* MOV AL,80h */
         0x98,                       /* CBW */
         0x99,                       /* CWD */
         0x89, 0xC6,                 /* MOV SI,AX */
         0x66, 0x98,                 /* CWDE */
         0x66, 0x99,                 /* CDQ */
         0xC5, 0x36, 0x00, 0x06,     /* LDS SI,[600h] */
         0x0F, 0xB2, 0x2E, 0x04, 0x06, /* LSS BP,[604h] (DS is 5678h now) */
         0xF4);
    wr16(0x600, 0x1234);
    wr16(0x602, 0x5678);
    for (unsigned k = 0; k < 16; k++)
        vm->mem.ram[0x700 + k] = (uint8_t)(k * 3);
    wr16(0x56780 + 0x604, 0x4321);
    wr16(0x56780 + 0x606, 0x0200);
    run_to_hlt(CODE + 32);
    assert_int_equal(c->regs[R_EDI], 0x1234);
    assert_int_equal(c->seg[SR_ES].sel, 0x5678);
    assert_int_equal(c->seg[SR_ES].base, 0x56780);
    assert_int_equal((c->regs[R_ECX] >> 8) & 0xFF, 15);
    assert_int_equal(c->regs[R_EAX], 0xFFFFFF80);
    assert_int_equal(c->regs[R_EDX], 0xFFFFFFFF);
    assert_int_equal(c->regs[R_ESI], 0x1234);
    assert_int_equal(c->seg[SR_DS].sel, 0x5678);
    assert_int_equal(c->regs[R_EBP], 0x4321);
    assert_int_equal(c->seg[SR_SS].sel, 0x0200);
}

static void test_movzx_movsx_lea_xchg_cmov_setcc(void **state)
{
    (void)state;
    REAL(0xB8, 0xF0, 0x80,             /* MOV AX,80F0h */
         0x0F, 0xB6, 0xD8,             /* MOVZX BX,AL */
         0x0F, 0xBE, 0xC8,             /* MOVSX CX,AL */
         0x66, 0x0F, 0xBF, 0xD0,       /* MOVSX EDX,AX */
         0x66, 0x0F, 0xB6, 0xF4,       /* MOVZX ESI,AH */
         0x8D, 0x78, 0x05,             /* LEA DI,[BX+SI+5] */
         0x87, 0xD9,                   /* XCHG CX,BX */
         0x9E,                         /* SAHF: AH=80h -> SF only */
         0x0F, 0x48, 0xC1,             /* CMOVS AX,CX */
         0x0F, 0x44, 0xE9,             /* CMOVZ BP,CX (not taken) */
         0x0F, 0x98, 0xC2,             /* SETS DL */
         0x0F, 0x94, 0x06, 0x00, 0x0B, /* SETZ [0B00h] */
         0x9F,                         /* LAHF */
         0xF4);
    c->regs[R_EBP] = 0x1111;
    vm->mem.ram[0xB00] = 0xCC;
    run_to_hlt(CODE + 39);
    assert_int_equal(c->regs[R_ECX], 0x00F0);
    assert_int_equal(c->regs[R_EBX], 0xFFF0);
    assert_int_equal(c->regs[R_EDX], 0xFFFF8001);
    assert_int_equal(c->regs[R_ESI], 0x80);
    assert_int_equal(c->regs[R_EDI], 0x175);
    assert_int_equal(c->regs[R_EBP], 0x1111);
    assert_int_equal(c->regs[R_EAX], 0x82F0); /* CMOVS took 00F0h, then LAHF: SF|bit1 */
    assert_int_equal(rd8(0xB00), 0);
}

static void test_cmov_false_still_reads(void **state)
{
    (void)state;
    REAL(0x67, 0x0F, 0x44, 0x07); /* CMOVZ AX,[EDI] with ZF clear and EDI past the limit */
    c->regs[R_EDI] = 0x20000;
    run_to_exception(EXC_GP, CODE);
}

static void test_bound(void **state)
{
    (void)state;
    static const uint8_t prog[] = {0x62, 0x06, 0x00, 0x08, 0xF4}; /* BOUND AX,[800h]; HLT */
    static const int16_t inside[] = {-5, 0, 10};
    static const int16_t outside[] = {-6, 11, -32768};
    for (unsigned k = 0; k < 3; k++) {
        real_prog(prog, sizeof(prog));
        wr16(0x800, (uint16_t)-5);
        wr16(0x802, 10);
        c->regs[R_EAX] = (uint16_t)inside[k];
        run_to_hlt(CODE + 5);
    }
    for (unsigned k = 0; k < 3; k++) {
        real_prog(prog, sizeof(prog));
        wr16(0x800, (uint16_t)-5);
        wr16(0x802, 10);
        c->regs[R_EAX] = (uint16_t)outside[k];
        run_to_exception(EXC_BR, CODE);
    }
}

static void test_flag_ops(void **state)
{
    (void)state;
    REAL(0xF9, 0xF5,             /* STC; CMC -> CF=0 */
         0xFD,                   /* STD */
         0xB4, 0xD5,             /* MOV AH,D5h */
         0x9E,                   /* SAHF: SF ZF AF PF CF */
         0xF8,                   /* CLC */
         0xFA,                   /* CLI */
         0xF4);
    c->eflags |= FL_IF | FL_OF;
    run_to_hlt(CODE + 9);
    assert_int_equal(cpu_get_eflags(c), FL_OF | FL_DF | FL_SF | FL_ZF | FL_AF | FL_PF | 2u);
}

/* ---------------------------------------------------------------- strings */

static void test_rep_movsb_both_directions(void **state)
{
    (void)state;
    REAL(0xFC,                   /* CLD */
         0xBE, 0x00, 0x10,       /* MOV SI,1000h */
         0xBF, 0x00, 0x20,       /* MOV DI,2000h */
         0xB9, 0x08, 0x00,       /* MOV CX,8 */
         0xF3, 0xA4,             /* REP MOVSB */
         0x89, 0xF0,             /* MOV AX,SI */
         0x89, 0xFA,             /* MOV DX,DI */
         0xFD,                   /* STD */
         0xBE, 0x07, 0x10,       /* MOV SI,1007h */
         0xBF, 0x17, 0x20,       /* MOV DI,2017h */
         0xB9, 0x04, 0x00,       /* MOV CX,4 */
         0xF3, 0xA5,             /* REP MOVSW: words at 1006h, 1004h, ... */
         0xF4);
    put(0x1000, "ABCDEFGH", 8);
    run_to_hlt(CODE + 29);
    assert_memory_equal(vm->mem.ram + 0x2000, "ABCDEFGH", 8);
    assert_int_equal(c->regs[R_EAX], 0x1008);
    assert_int_equal(c->regs[R_EDX], 0x2008);
    /* Word elements going down: 2017h gets the word at 1007h ('H' and the 0 after it), then
     * 2015h gets "FG", 2013h "DE", 2011h "BC". */
    assert_int_equal(rd8(0x2010), 0);
    assert_memory_equal(vm->mem.ram + 0x2011, "BCDEFGH", 7);
    assert_int_equal(rd8(0x2018), 0);
    assert_int_equal(c->regs[R_ESI], 0x0FFF);
    assert_int_equal(c->regs[R_EDI], 0x200F);
    assert_int_equal(c->regs[R_ECX], 0);
}

static void test_movsb_overlap_replicates(void **state)
{
    (void)state;
    REAL(0xF3, 0xA4, 0xF4); /* REP MOVSB */
    vm->mem.ram[0x3000] = 0x5A;
    c->regs[R_ESI] = 0x3000;
    c->regs[R_EDI] = 0x3001;
    c->regs[R_ECX] = 15;
    run_to_hlt(CODE + 3);
    for (unsigned k = 0; k < 16; k++)
        assert_int_equal(rd8(0x3000 + k), 0x5A);
    assert_int_equal(rd8(0x3010), 0);
}

/* Reference: elements copied one at a time in instruction order. */
static void ref_movs(uint8_t *m, uint32_t si, uint32_t di, uint32_t n, unsigned sz, bool down)
{
    for (uint32_t k = 0; k < n; k++) {
        uint8_t t[4];
        memcpy(t, m + si, sz);
        memcpy(m + di, t, sz);
        si += down ? -sz : sz;
        di += down ? -sz : sz;
    }
}

/* Bulk REP MOVS over several pages in both directions, overlapping by less than an element
 * or by much more, checked against the one-at-a-time reference. */
static void test_rep_movs_bulk(void **state)
{
    (void)state;
    static const struct {
        uint8_t osize66, down;
        uint32_t si, di, count;
    } cases[] = {
        {1, 0, 0x0010, 0x8000, 0x2000, },  /* disjoint dwords, 32 KiB */
        {1, 0, 0x1000, 0x1003, 0x3000, },  /* dst 3 bytes above src: feeds back */
        {0, 1, 0xBFFF, 0xC7FF, 0x9000, },  /* backward overlapping bytes (memmove-like) */
        {1, 1, 0xEFFC, 0xEFFE, 0x2000, },  /* backward, dst 2 above src (memmove-like) */
        {1, 1, 0xEFFE, 0xEFFC, 0x2000, },  /* backward, dst 2 below src: feeds back */
        {0, 1, 0x9000, 0x8000, 0x5000, },  /* backward bytes, dst far below: feeds back */
        {0, 0, 0x0123, 0x0100, 0xF000, },  /* forward, dst below src */
    };
    static uint8_t ref[0x10000];
    for (unsigned t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        if (cases[t].osize66)
            REAL(0x66, 0xF3, 0xA5, 0xF4); /* REP MOVSD */
        else
            REAL(0xF3, 0xA4, 0xF4);       /* REP MOVSB */
        uint8_t *seg = vm->mem.ram + 0x20000;
        for (uint32_t k = 0; k < 0x10000; k++)
            seg[k] = (uint8_t)(k * 7 + (k >> 8) * 13 + 1);
        memcpy(ref, seg, sizeof(ref));
        unsigned sz = cases[t].osize66 ? 4 : 1;
        ref_movs(ref, cases[t].si, cases[t].di, cases[t].count, sz, cases[t].down);
        cpu_load_seg(c, SR_DS, 0x2000);
        cpu_load_seg(c, SR_ES, 0x2000);
        if (cases[t].down)
            c->eflags |= FL_DF;
        c->regs[R_ESI] = cases[t].si;
        c->regs[R_EDI] = cases[t].di;
        c->regs[R_ECX] = cases[t].count;
        run_to_hlt(CODE + (cases[t].osize66 ? 4 : 3));
        assert_memory_equal(seg, ref, sizeof(ref));
        uint32_t bytes = cases[t].count * sz;
        uint32_t d = cases[t].down ? -bytes : bytes;
        assert_int_equal(c->regs[R_ESI], (cases[t].si + d) & 0xFFFF);
        assert_int_equal(c->regs[R_EDI], (cases[t].di + d) & 0xFFFF);
        assert_int_equal(c->regs[R_ECX], 0);
    }
}

static void test_rep_stos(void **state)
{
    (void)state;
    REAL(0xFD,                   /* STD */
         0xF3, 0xAB,             /* REP STOSW */
         0xFC,                   /* CLD */
         0x66, 0xB8, 0x78, 0x56, 0x34, 0x12, /* MOV EAX,12345678h */
         0x89, 0xF7,             /* MOV DI,SI */
         0xB9, 0x00, 0x04,       /* MOV CX,400h */
         0x66, 0xF3, 0xAB,       /* REP STOSD */
         0xF4);
    c->regs[R_EAX] = 0xBEEF;
    c->regs[R_EDI] = 0x3FFE;
    c->regs[R_ECX] = 0x1800; /* 0x3000 bytes down to 1000h */
    c->regs[R_ESI] = 0x5002;
    run_to_hlt(CODE + 19);
    for (uint32_t a = 0x1000; a < 0x4000; a += 2)
        assert_int_equal(rd16(a), 0xBEEF);
    assert_int_equal(rd16(0x0FFE), 0);
    assert_int_equal(rd16(0x4000), 0);
    for (uint32_t a = 0x5002; a < 0x6002; a += 4)
        assert_int_equal(rd32(a), 0x12345678);
    assert_int_equal(rd8(0x6002), 0);
    assert_int_equal(c->regs[R_EDI], 0x6002);
}

static void test_repe_cmpsb_repne_scasb(void **state)
{
    (void)state;
    REAL(0xBE, 0x00, 0x10,       /* MOV SI,1000h */
         0xBF, 0x00, 0x20,       /* MOV DI,2000h */
         0xB9, 0x0B, 0x00,       /* MOV CX,11 */
         0xF3, 0xA6,             /* REPE CMPSB */
         0x9F,                   /* LAHF */
         0x89, 0xCB,             /* MOV BX,CX */
         0x89, 0xF5,             /* MOV BP,SI */
         0x89, 0xFA,             /* MOV DX,DI */
         0xBF, 0x00, 0x10,       /* MOV DI,1000h */
         0xB9, 0x0B, 0x00,       /* MOV CX,11 */
         0xB0, 0x4F,             /* MOV AL,'O' */
         0xF2, 0xAE,             /* REPNE SCASB */
         0xF4);
    put(0x1000, "HELLO WORLD", 11);
    put(0x2000, "HELLO THERE", 11);
    run_to_hlt(CODE + 29);
    /* Mismatch at index 6: 'W' - 'T' = 3: ZF=0, CF=0, PF (3 has two bits) set. */
    assert_int_equal(c->regs[R_EBX], 4);
    assert_int_equal(c->regs[R_EBP], 0x1007);
    assert_int_equal(c->regs[R_EDX], 0x2007);
    assert_int_equal((c->regs[R_EAX] >> 8) & 0xFF, FL_PF | 2u);
    /* 'O' found at index 4. */
    assert_int_equal(c->regs[R_ECX], 6);
    assert_int_equal(c->regs[R_EDI], 0x1005);
    assert_true(cpu_get_eflags(c) & FL_ZF);
}

static void test_rep_zero_count_and_lods(void **state)
{
    (void)state;
    REAL(0xF3, 0xA6,             /* REPE CMPSB with CX=0: no compare, flags kept */
         0xF3, 0xAC,             /* REP LODSB with CX=0 */
         0xB9, 0x03, 0x00,       /* MOV CX,3 */
         0xF3, 0xAC,             /* REP LODSB: AL = last byte */
         0xAD,                   /* LODSW */
         0xF4);
    c->eflags |= FL_CF;
    c->regs[R_ESI] = 0x1000;
    put(0x1000, "\x11\x22\x33\x44\x55", 5);
    run_to_hlt(CODE + 11);
    assert_true(cpu_get_eflags(c) & FL_CF);
    assert_int_equal(c->regs[R_EAX], 0x5544);
    assert_int_equal(c->regs[R_ESI], 0x1005);
}

/* A REP MOVSB running into the DS limit at FFFFh with 32-bit addressing: #GP(0) with the
 * registers at the faulting iteration; after the limit is raised it resumes and finishes. */
static void test_rep_movsb_fault_resumes(void **state)
{
    (void)state;
    REAL(0x67, 0xF3, 0xA4, /* REP MOVSB (ESI/EDI/ECX) */
         0xF4);
    cpu_load_seg(c, SR_DS, 0x1000);
    cpu_load_seg(c, SR_ES, 0x2000);
    for (unsigned k = 0; k < 32; k++)
        vm->mem.ram[0x1FFF0 + k] = (uint8_t)(0xA0 + k);
    c->regs[R_ESI] = 0xFFF0;
    c->regs[R_EDI] = 0x1000;
    c->regs[R_ECX] = 0x20;
    run_to_exception(EXC_GP, CODE);
    assert_int_equal(c->exc_error, 0);
    assert_int_equal(c->regs[R_ECX], 0x10);
    assert_int_equal(c->regs[R_ESI], 0x10000);
    assert_int_equal(c->regs[R_EDI], 0x1010);
    for (unsigned k = 0; k < 16; k++)
        assert_int_equal(rd8(0x21000 + k), 0xA0 + k);
    assert_int_equal(rd8(0x21010), 0);

    cpu_set_seg_cache(c, SR_DS, 0x1000, 0x10000, 0xFFFFF, SEG_P | SEG_S | (3u << 8));
    c->stop_on_exception = 0;
    run_to_hlt(CODE + 4);
    assert_int_equal(c->regs[R_ECX], 0);
    assert_int_equal(c->regs[R_ESI], 0x10010);
    assert_int_equal(c->regs[R_EDI], 0x1020);
    for (unsigned k = 0; k < 32; k++)
        assert_int_equal(rd8(0x21000 + k), 0xA0 + k);
}

/* Dwords up to the limit: the element at FFFEh straddles it and faults before any byte of it
 * is copied. */
static void test_rep_movsd_straddling_limit(void **state)
{
    (void)state;
    REAL(0x66, 0x67, 0xF3, 0xA5); /* REP MOVSD with ESI/EDI/ECX */
    cpu_load_seg(c, SR_DS, 0x0010); /* base 100h: the limit is not at a page end */
    c->regs[R_ESI] = 0xFFF2;
    c->regs[R_EDI] = 0x1000;
    c->regs[R_ECX] = 8;
    memset(vm->mem.ram + 0x100 + 0xFFF2, 0x77, 14);
    run_to_exception(EXC_GP, CODE);
    assert_int_equal(c->regs[R_ECX], 5);
    assert_int_equal(c->regs[R_ESI], 0xFFFE);
    assert_int_equal(c->regs[R_EDI], 0x100C);
    assert_int_equal(rd32(0x1008), 0x77777777);
    assert_int_equal(rd32(0x100C), 0);
}

static void test_rep_single_step_per_iteration(void **state)
{
    (void)state;
    REAL(0xF3, 0xA4, 0xF4); /* REP MOVSB */
    c->regs[R_ESI] = 0x1000;
    c->regs[R_EDI] = 0x2000;
    c->regs[R_ECX] = 3;
    c->eflags |= FL_TF;
    run_to_exception(EXC_DB, CODE); /* trap after one iteration, EIP still at the REP */
    assert_int_equal(c->regs[R_ECX], 2);
    assert_int_equal(c->regs[R_ESI], 0x1001);
}

/* An interrupt arriving during a long REP MOVSB is taken between iterations with the REP's own
 * address as the return point; the copy then completes. */
static int irq_ack(void *opaque)
{
    struct cpu *cpu = opaque;
    if ((cpu->regs[R_ECX] & 0xFFFF) == 20000)
        return -1; /* not yet: only once the copy is under way */
    cpu->intr_line = false;
    return 8;
}

static void test_rep_interrupted(void **state)
{
    (void)state;
    REAL(0xF3, 0xA4, 0xF4); /* REP MOVSB */
    static const uint8_t handler[] = {
        0x2E, 0xC6, 0x06, 0x00, 0x06, 0x01, /* MOV BYTE CS:[600h],1 */
        0x89, 0xE5,                         /* MOV BP,SP */
        0x8B, 0x46, 0x00,                   /* MOV AX,[BP+0]: the interrupted IP */
        0x2E, 0x89, 0x0E, 0x04, 0x06,       /* MOV CS:[604h],CX */
        0x2E, 0xA3, 0x02, 0x06,             /* MOV CS:[602h],AX */
        0xCF,                               /* IRET */
    };
    put(0x500, handler, sizeof(handler));
    set_ivt(8, 0, 0x500);
    for (unsigned k = 0; k < 20000; k++)
        vm->mem.ram[0x10000 + k] = (uint8_t)(k ^ (k >> 7));
    c->regs[R_ESI] = 0x0000;
    c->regs[R_EDI] = 0x0000;
    c->regs[R_ECX] = 20000;
    cpu_load_seg(c, SR_ES, 0x2000);
    cpu_load_seg(c, SR_DS, 0x1000);
    c->eflags |= FL_IF;
    c->bus.opaque = c;
    c->bus.intr_ack = irq_ack;
    c->intr_line = true;
    run_to_hlt(CODE + 3);
    assert_int_equal(rd8(0x600), 1);
    assert_int_equal(rd16(0x602), CODE);
    uint16_t cx_at_irq = rd16(0x604);
    assert_true(cx_at_irq < 20000 && cx_at_irq > 0);
    assert_int_equal(c->regs[R_ECX], 0);
    for (unsigned k = 0; k < 20000; k++)
        assert_int_equal(rd8(0x20000 + k), (uint8_t)(k ^ (k >> 7)));
}

/* ---------------------------------------------------------------- ports */

struct port_log {
    unsigned n;
    uint16_t port[16];
    uint32_t value[16];
    unsigned size[16];
};

static uint32_t log_in(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)size;
    return 0xA5000000u | (uint32_t)port * 3; /* more bits than asked for: must be cut */
}

static void log_out(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct port_log *l = opaque;
    if (l->n < 16) {
        l->port[l->n] = port;
        l->value[l->n] = value;
        l->size[l->n] = size;
        l->n++;
    }
}

static void test_in_out(void **state)
{
    (void)state;
    REAL(0xB0, 0xAB,             /* MOV AL,ABh */
         0xE6, 0x80,             /* OUT 80h,AL */
         0xBA, 0xF8, 0x03,       /* MOV DX,3F8h */
         0xB8, 0x34, 0x12,       /* MOV AX,1234h */
         0xEF,                   /* OUT DX,AX */
         0xE4, 0x60,             /* IN AL,60h */
         0x88, 0xC7,             /* MOV BH,AL */
         0xED,                   /* IN AX,DX */
         0xBE, 0x00, 0x09,       /* MOV SI,900h */
         0xB9, 0x03, 0x00,       /* MOV CX,3 */
         0xF3, 0x6E,             /* REP OUTSB */
         0xBF, 0x00, 0x0A,       /* MOV DI,0A00h */
         0xB9, 0x02, 0x00,       /* MOV CX,2 */
         0xF3, 0x6D,             /* REP INSW */
         0xF4);
    struct port_log log = {0};
    c->bus.opaque = &log;
    c->bus.port_in = log_in;
    c->bus.port_out = log_out;
    put(0x900, "xyz", 3);
    run_to_hlt(CODE + 33);
    assert_int_equal(log.n, 5);
    assert_int_equal(log.port[0], 0x80);
    assert_int_equal(log.value[0], 0xAB);
    assert_int_equal(log.size[0], 1);
    assert_int_equal(log.port[1], 0x3F8);
    assert_int_equal(log.value[1], 0x1234);
    assert_int_equal(log.size[1], 2);
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(log.port[2 + k], 0x3F8);
        assert_int_equal(log.value[2 + k], (uint32_t)"xyz"[k]);
    }
    assert_int_equal((c->regs[R_EBX] >> 8) & 0xFF, (0x60 * 3) & 0xFF);
    assert_int_equal(c->regs[R_EAX], (0x3F8 * 3) & 0xFFFF);
    assert_int_equal(rd16(0xA00), (0x3F8 * 3) & 0xFFFF);
    assert_int_equal(rd16(0xA02), (0x3F8 * 3) & 0xFFFF);
    assert_int_equal(c->regs[R_EDI], 0xA04);
}

static unsigned in_calls;

static uint32_t counting_in(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    (void)size;
    in_calls++;
    return 0x1234;
}

/* INSW whose destination straddles the ES limit faults without reading the port. */
static void test_ins_fault_reads_no_port(void **state)
{
    (void)state;
    REAL(0x6D); /* INSW */
    c->regs[R_EDI] = 0xFFFF;
    c->bus.port_in = counting_in;
    in_calls = 0;
    run_to_exception(EXC_GP, CODE);
    assert_int_equal(in_calls, 0);
    assert_int_equal(c->regs[R_EDI], 0xFFFF);
}

static void test_in_floating_bus(void **state)
{
    (void)state;
    REAL(0x66, 0xE5, 0x10, 0xE6, 0x20, 0xF4); /* IN EAX,10h; OUT 20h,AL */
    run_to_hlt(CODE + 6);
    assert_int_equal(c->regs[R_EAX], 0xFFFFFFFF);
}

/* ---------------------------------------------------------------- privilege checks */

static void flat_prog(const uint8_t *code, size_t n)
{
    testvm_flat32_user(vm);
    memset(vm->mem.ram, 0, 0x40000);
    memcpy(vm->mem.ram + 0x1000, code, n);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = 0x9000;
    c->eip = 0x1000;
    c->stop_on_exception = 0;
    c->bus = (struct cpu_bus){0};
}

#define FLAT(...)                                        \
    do {                                                 \
        static const uint8_t code_[] = {__VA_ARGS__};    \
        flat_prog(code_, sizeof(code_));                 \
    } while (0)

static void test_cpl3_popf_keeps_if_iopl(void **state)
{
    (void)state;
    FLAT(0x68, 0x00, 0x30, 0x01, 0x00, /* PUSH 00013000h: IOPL 3, RF, IF clear */
         0x9D,                         /* POPF */
         0x9C,                         /* PUSHF */
         0x58,                         /* POP EAX */
         0xF4);                        /* HLT: #GP at CPL 3 */
    c->eflags |= FL_RF; /* as left by a fault handler's IRET: a 32-bit POPF clears it */
    run_to_exception(EXC_GP, 0x1008);
    assert_int_equal(c->regs[R_EAX], FL_IF | 2u);
    assert_false(c->eflags & FL_RF);
    assert_int_equal(c->regs[R_ESP], 0x9000);
}

static void test_cpl3_privileged_faults(void **state)
{
    (void)state;
    static const uint8_t cli[] = {0xFA};
    static const uint8_t sti[] = {0xFB};
    static const uint8_t in[] = {0xE4, 0x60};
    static const uint8_t outs[] = {0x6E};
    static const uint8_t *progs[] = {cli, sti, in, outs};
    static const size_t lens[] = {1, 1, 2, 1};
    for (unsigned k = 0; k < 4; k++) {
        flat_prog(progs[k], lens[k]);
        run_to_exception(EXC_GP, 0x1000);
    }
    /* With IOPL 3 they are allowed. */
    FLAT(0xFA, 0xE4, 0x60, 0xFB);
    c->eflags |= FL_IOPL;
    assert_int_equal(cpu_run(c, 3), CPU_EXIT_LIMIT);
    assert_int_equal(c->regs[R_EAX], 0xFF);
    assert_true(c->eflags & FL_IF);
}

static void test_pop_esp_based_memory(void **state)
{
    (void)state;
    FLAT(0x68, 0xAA, 0xAA, 0xAA, 0xAA, /* PUSH AAAAAAAAh */
         0x68, 0x78, 0x56, 0x34, 0x12, /* PUSH 12345678h */
         0x8F, 0x04, 0x24,             /* POP DWORD [ESP]: address after the increment */
         0x54,                         /* PUSH ESP */
         0x5C);                        /* POP ESP */
    assert_int_equal(cpu_run(c, 5), CPU_EXIT_LIMIT);
    assert_int_equal(rd32(0x9000 - 4), 0x12345678);
    assert_int_equal(rd32(0x9000 - 8), 0x9000 - 4); /* PUSH ESP stored the old ESP */
    assert_int_equal(c->regs[R_ESP], 0x9000 - 4);
}

static void test_v86_iopl_sensitive(void **state)
{
    (void)state;
    static const uint8_t progs[][2] = {{0xCD, 0x21}, {0x9C, 0x90}, {0x9D, 0x90}, {0xFA, 0x90},
                                       {0xCF, 0x90}, {0xF4, 0x90}};
    for (unsigned k = 0; k < sizeof(progs) / sizeof(progs[0]); k++) {
        real_prog(progs[k], 2);
        c->cr0 |= CR0_PE;
        cpu_set_eflags(c, FL_VM); /* IOPL 0 */
        assert_int_equal(c->cpl, 3);
        run_to_exception(EXC_GP, CODE);
    }
    /* IOPL 3: POPF works but cannot change IOPL; CLI works. */
    REAL(0x6A, 0x00, /* PUSH 0 */
         0x9D,       /* POPF */
         0xFA);      /* CLI */
    c->cr0 |= CR0_PE;
    cpu_set_eflags(c, FL_VM | FL_IOPL | FL_IF | FL_CF);
    assert_int_equal(cpu_run(c, 3), CPU_EXIT_LIMIT);
    assert_int_equal(cpu_get_eflags(c), FL_VM | FL_IOPL | 2u);
}

/* ---------------------------------------------------------------- paging and the bulk path */

#define PDIR 0x100000u
#define PTAB 0x101000u

static void map_page(uint32_t lin, uint32_t phys, uint32_t flags)
{
    wr32(PTAB + (lin >> 12) * 4, phys | flags);
}

static uint32_t lin2phys(uint32_t lin)
{
    return (rd32(PTAB + (lin >> 12) * 4) & 0xFFFFF000u) | (lin & 0xFFF);
}

/* Flat 32-bit CPL 3 code at 1000h with the first 4 MiB identity-mapped by 4 KiB pages. */
static void paged_prog(const uint8_t *code, size_t n)
{
    flat_prog(code, n);
    memset(vm->mem.ram + PDIR, 0, 0x2000);
    wr32(PDIR, PTAB | 7);
    for (uint32_t p = 0; p < 1024; p++)
        map_page(p << 12, p << 12, 7);
    c->cr3 = PDIR;
    c->cr0 |= CR0_PG;
    cpu_flush_tlb(c, false);
}

static void fill_phys(uint32_t phys, uint32_t len, uint32_t seed)
{
    for (uint32_t k = 0; k < len; k++)
        vm->mem.ram[phys + k] = (uint8_t)(k * 11 + (k >> 9) + seed);
}

/* One-at-a-time reference through the page mapping, on a copy of RAM. */
static void ref_movs_paged(uint8_t *m, uint32_t si, uint32_t di, uint32_t n, unsigned sz,
                           bool down)
{
    uint32_t step = down ? -sz : sz;
    for (uint32_t k = 0; k < n; k++, si += step, di += step) {
        uint8_t t[4];
        for (unsigned b = 0; b < sz; b++)
            t[b] = m[lin2phys(si + b)];
        for (unsigned b = 0; b < sz; b++)
            m[lin2phys(di + b)] = t[b];
    }
}

static void test_rep_movs_paged(void **state)
{
    (void)state;
    static const struct {
        uint8_t dword, down, warm;
        uint32_t si, di, count;
    } cases[] = {
        {0, 0, 0, 0x50800, 0x40400, 0x1800}, /* bytes across swapped physical pages */
        {1, 0, 0, 0x50802, 0x40401, 0x600},  /* dwords straddling both page boundaries */
        {0, 0, 0, 0x60000, 0x61001, 0x800},  /* two linear pages aliasing one physical page */
        {0, 1, 0, 0x517FF, 0x41BFF, 0x1800}, /* the first case going down */
        {1, 1, 0, 0x51FFE, 0x41BFD, 0x600},  /* dwords going down, straddling */
        {0, 1, 0, 0x61000, 0x60FFF, 0x800},  /* aliasing going down: dst below src feeds back */
        {1, 1, 1, 0x51002, 0x40800, 0x10},   /* down into a straddle on a page already in the
                                                TLB: that element must not use its mapping */
    };
    uint8_t *ref = malloc(RAM_SIZE);
    assert_non_null(ref);
    for (unsigned t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        static const uint8_t movsb[] = {0xF3, 0xA4}, movsd[] = {0xF3, 0xA5};
        static const uint8_t warm[] = {0xA1, 0x00, 0x00, 0x05, 0x00, /* MOV EAX,[50000h] */
                                       0xA1, 0x00, 0x10, 0x05, 0x00, /* MOV EAX,[51000h] */
                                       0xF3, 0xA5};
        if (cases[t].warm)
            paged_prog(warm, sizeof(warm));
        else
            paged_prog(cases[t].dword ? movsd : movsb, 2);
        map_page(0x50000, 0x181000, 7);
        map_page(0x51000, 0x180000, 7);
        map_page(0x40000, 0x201000, 7);
        map_page(0x41000, 0x200000, 7);
        map_page(0x60000, 0x190000, 7);
        map_page(0x61000, 0x190000, 7);
        fill_phys(0x180000, 0x20000, t);
        fill_phys(0x200000, 0x2000, 0x40 + t);
        memcpy(ref, vm->mem.ram, RAM_SIZE);
        ref_movs_paged(ref, cases[t].si, cases[t].di, cases[t].count, cases[t].dword ? 4 : 1,
                       cases[t].down);
        if (cases[t].down)
            c->eflags |= FL_DF;
        c->regs[R_ESI] = cases[t].si;
        c->regs[R_EDI] = cases[t].di;
        c->regs[R_ECX] = cases[t].count;
        assert_int_equal(cpu_run(c, cases[t].warm ? 3 : 1), CPU_EXIT_LIMIT);
        assert_int_equal(c->regs[R_ECX], 0);
        /* Page-table A/D bits differ from the untouched reference; compare the data pages. */
        assert_memory_equal(vm->mem.ram + 0x180000, ref + 0x180000, 0x20000);
        assert_memory_equal(vm->mem.ram + 0x200000, ref + 0x200000, 0x2000);
    }
    free(ref);
}

/* A #PF in the middle of a REP MOVSD through the bulk path: registers at the faulting element,
 * CR2 and the error code right; once the page is mapped the instruction finishes. */
static void test_rep_movs_page_fault(void **state)
{
    (void)state;
    static const uint8_t code[] = {0xF3, 0xA5}; /* REP MOVSD */
    for (unsigned write = 0; write < 2; write++) {
        paged_prog(code, sizeof(code));
        fill_phys(0x50000, 0x2000, 5);
        uint32_t hole = write ? 0x41000 : 0x51000;
        map_page(hole, 0, 0);
        c->regs[R_ESI] = write ? 0x50000 : 0x50F00;
        c->regs[R_EDI] = write ? 0x40F00 : 0x40000;
        c->regs[R_ECX] = 0x100;
        run_to_exception(EXC_PF, 0x1000);
        assert_int_equal(c->cr2, hole);
        assert_int_equal(c->exc_error, PFEC_U | (write ? PFEC_W : 0));
        assert_int_equal(c->regs[R_ECX], 0xC0);
        assert_int_equal(c->regs[R_ESI], write ? 0x50100 : 0x51000);
        assert_int_equal(c->regs[R_EDI], write ? 0x41000 : 0x40100);
        assert_int_equal(c->regs[R_ESP], 0x9000);
        map_page(hole, hole, 7);
        cpu_flush_tlb(c, false);
        assert_int_equal(cpu_run(c, 1), CPU_EXIT_LIMIT);
        assert_int_equal(c->regs[R_ECX], 0);
        uint32_t src = write ? 0x50000 : 0x50F00, dst = write ? 0x40F00 : 0x40000;
        assert_memory_equal(vm->mem.ram + dst, vm->mem.ram + src, 0x400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_iret_ivt),
        cmocka_unit_test(test_iret16_keeps_high_eflags),
        cmocka_unit_test(test_iret32_real),
        cmocka_unit_test(test_int3_into),
        cmocka_unit_test(test_far_call_ret),
        cmocka_unit_test(test_far_call32_real),
        cmocka_unit_test(test_far_jumps),
        cmocka_unit_test(test_near_call_ret_imm),
        cmocka_unit_test(test_indirect_near),
        cmocka_unit_test(test_jcc_loop_jcxz),
        cmocka_unit_test(test_loop_ecx_with_addr32),
        cmocka_unit_test(test_pusha_popa),
        cmocka_unit_test(test_pusha_fault_is_precise),
        cmocka_unit_test(test_enter_leave_nested),
        cmocka_unit_test(test_enter32_level1),
        cmocka_unit_test(test_pushf_popf_real),
        cmocka_unit_test(test_push_pop_special),
        cmocka_unit_test(test_push_seg32_writes_word),
        cmocka_unit_test(test_mov_ss_shadow),
        cmocka_unit_test(test_sti_shadow_only_when_if_clear),
        cmocka_unit_test(test_lxs_xlat_cbw),
        cmocka_unit_test(test_movzx_movsx_lea_xchg_cmov_setcc),
        cmocka_unit_test(test_cmov_false_still_reads),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_flag_ops),
        cmocka_unit_test(test_rep_movsb_both_directions),
        cmocka_unit_test(test_movsb_overlap_replicates),
        cmocka_unit_test(test_rep_movs_bulk),
        cmocka_unit_test(test_rep_stos),
        cmocka_unit_test(test_repe_cmpsb_repne_scasb),
        cmocka_unit_test(test_rep_zero_count_and_lods),
        cmocka_unit_test(test_rep_movsb_fault_resumes),
        cmocka_unit_test(test_rep_movsd_straddling_limit),
        cmocka_unit_test(test_rep_single_step_per_iteration),
        cmocka_unit_test(test_rep_interrupted),
        cmocka_unit_test(test_in_out),
        cmocka_unit_test(test_ins_fault_reads_no_port),
        cmocka_unit_test(test_in_floating_bus),
        cmocka_unit_test(test_cpl3_popf_keeps_if_iopl),
        cmocka_unit_test(test_cpl3_privileged_faults),
        cmocka_unit_test(test_pop_esp_based_memory),
        cmocka_unit_test(test_v86_iopl_sensitive),
        cmocka_unit_test(test_rep_movs_paged),
        cmocka_unit_test(test_rep_movs_page_fault),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
