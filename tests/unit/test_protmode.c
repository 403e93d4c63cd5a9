/* Unit tests of protected-mode transfers (cpu/protmode.c) against the Intel SDM: interrupt and
 * exception delivery through the IDT (vol. 3 ch. 6 and INT n in vol. 2), call gates, far RET
 * and IRET to outer levels and to virtual-8086 mode, and the error codes of the faults on the
 * way. GDT, IDT and TSS are built in guest RAM by hand; programs are hand-assembled and run
 * through the real decoder and interpreter. Expected frames and states are worked out from the
 * SDM's pseudocode, never by running our own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "tests/support/testvm.h"

#define RAM_SIZE (4u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS 0x3000u
#define CODE 0xA000u     /* ring-3 (or ring-0) test program, flat CS */
#define STACK3 0x8000u   /* ring-3 stack top */
#define STACK0 0x9000u   /* ring-0 stack top, TSS.ESP0 */
#define HANDLERS 0x20000u /* vector v's handler at HANDLERS + 16 * v, HLT unless set */

/* GDT selectors */
#define SEL_CODE0 0x08     /* 32-bit code, DPL 0, not yet accessed */
#define SEL_DATA0 0x10     /* 32-bit data, DPL 0, not yet accessed */
#define SEL_CODE3 0x1B     /* 32-bit code, DPL 3 */
#define SEL_DATA3 0x23     /* 32-bit data, DPL 3 */
#define SEL_TSS 0x28       /* 32-bit TSS (busy: it is the running task) */
#define SEL_GATE32 0x33    /* 386 call gate, DPL 3, 2 dword parameters -> CODE0:0x20100 */
#define SEL_CODE16 0x38    /* 16-bit code, DPL 0, base 0, 64 KiB */
#define SEL_NP_DATA 0x40   /* DPL 0 data, not present */
#define SEL_CONF0 0x48     /* conforming readable code, DPL 0 */
#define SEL_GATE16 0x53    /* 286 call gate, DPL 3, 3 word parameters -> CODE16:0x0300 */
#define SEL_SMALL0 0x58    /* DPL 0 data, limit 0xFFF */
#define SEL_TSS_B 0x60     /* 32-bit TSS of task B, available */
#define SEL_TASKGATE 0x6B  /* task gate, DPL 3 -> SEL_TSS_B */
#define SEL_TASKGATE_A 0x73 /* task gate, DPL 3 -> SEL_TSS (busy) */
#define GDT_ENTRIES 15
#define TSS_B 0x3100u
#define TASK_B_EIP 0xB000u
#define PD 0x68000u
#define PT 0x69000u

#define CALL32_TARGET 0x20100u
#define CALL16_TARGET 0x0300u
#define INT16_TARGET 0x0400u

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
static void put(uint32_t a, const void *p, size_t n) { memcpy(vm->mem.ram + a, p, n); }

/* access: byte 5 of the descriptor (P DPL S type); flags: the G/DB nibble. */
static void set_desc(unsigned idx, uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
    uint32_t lo = (limit & 0xFFFF) | (base & 0xFFFF) << 16;
    uint32_t hi = ((base >> 16) & 0xFF) | access << 8 | (limit & 0xF0000) | flags << 20 |
                  (base & 0xFF000000u);
    wr32(GDT + 8 * idx, lo);
    wr32(GDT + 8 * idx + 4, hi);
}

/* A gate in `table`: access = P DPL 0 type; params only for call gates. */
static void set_gate(uint32_t table, unsigned idx, uint16_t sel, uint32_t off, uint32_t access,
                     unsigned params)
{
    wr32(table + 8 * idx, (off & 0xFFFF) | (uint32_t)sel << 16);
    wr32(table + 8 * idx + 4, (off & 0xFFFF0000u) | access << 8 | params);
}

static unsigned access_of(uint16_t sel) { return rd8(GDT + (sel & 0xFFF8u) + 5); }

/* Segment cache from the GDT, as a loader would set it. */
static void load_cache(int sreg, uint16_t sel)
{
    uint32_t lo = rd32(GDT + (sel & 0xFFF8u)), hi = rd32(GDT + (sel & 0xFFF8u) + 4);
    uint32_t base = lo >> 16 | (hi & 0xFF) << 16 | (hi & 0xFF000000u);
    uint32_t limit = (lo & 0xFFFF) | (hi & 0xF0000);
    if (hi & SEG_G)
        limit = limit << 12 | 0xFFF;
    cpu_set_seg_cache(c, sreg, sel, base, limit, hi | 0x100);
}

enum {
    ACC_CODE0 = 0x9A, ACC_DATA0 = 0x92, ACC_CODE3 = 0xFA, ACC_DATA3 = 0xF2,
    ACC_INT32 = 0x8E, ACC_TRAP32 = 0x8F, ACC_INT16 = 0x86, ACC_CALL32 = 0x8C, ACC_CALL16 = 0x84,
    DPL3 = 0x60, NOT_PRESENT = 0x80, /* XOR with an access byte to drop P */
};

/* Protected mode, flat segments, running `code` at CPL 3 with IF set and IOPL 0. */
static void pm_setup(const uint8_t *code, size_t n)
{
    cpu_reset(c);
    memset(vm->mem.ram, 0, 0x70000);
    memset(vm->mem.ram + HANDLERS, 0xF4, 0x1000); /* HLT everywhere */

    set_desc(1, 0, 0xFFFFF, ACC_CODE0, 0xC);
    set_desc(2, 0, 0xFFFFF, ACC_DATA0, 0xC);
    set_desc(3, 0, 0xFFFFF, ACC_CODE3 | 1, 0xC);
    set_desc(4, 0, 0xFFFFF, ACC_DATA3 | 1, 0xC);
    set_desc(5, TSS, 0x67, 0x8B, 0);
    set_gate(GDT, 6, SEL_CODE0, CALL32_TARGET, ACC_CALL32 | DPL3, 2);
    set_desc(7, 0, 0xFFFF, ACC_CODE0 | 1, 0);
    set_desc(8, 0, 0xFFFFF, ACC_DATA0 ^ NOT_PRESENT, 0xC);
    set_desc(9, 0, 0xFFFFF, 0x9F, 0xC);
    set_gate(GDT, 10, SEL_CODE16, CALL16_TARGET, ACC_CALL16 | DPL3, 3);
    set_desc(11, 0, 0xFFF, ACC_DATA0 | 1, 0x4);
    set_desc(12, TSS_B, 0x67, 0x89, 0);
    set_gate(GDT, 13, SEL_TSS_B, 0, 0xE5, 0);
    set_gate(GDT, 14, SEL_TSS, 0, 0xE5, 0);

    for (unsigned v = 0; v < 256; v++)
        set_gate(IDT, v, SEL_CODE0, HANDLERS + 16 * v, ACC_INT32, 0);
    set_gate(IDT, 0x20, SEL_CODE0, HANDLERS + 16 * 0x20, ACC_INT32 | DPL3, 0);
    set_gate(IDT, 0x21, SEL_CODE0, HANDLERS + 16 * 0x21, ACC_TRAP32 | DPL3, 0);
    set_gate(IDT, 0x22, SEL_CODE0, HANDLERS + 16 * 0x22, (ACC_INT32 | DPL3) ^ NOT_PRESENT, 0);
    set_gate(IDT, 0x23, SEL_CODE16, INT16_TARGET, ACC_INT16 | DPL3, 0);
    set_gate(IDT, 0x24, SEL_CODE0, HANDLERS + 16 * 0x24, ACC_INT32 | DPL3, 0);
    vm->mem.ram[HANDLERS + 16 * 0x24] = 0xCF; /* IRET */
    set_gate(IDT, 0x25, SEL_CODE3, HANDLERS + 16 * 0x25, ACC_INT32 | DPL3, 0);
    set_gate(IDT, 0x26, SEL_CONF0, HANDLERS + 16 * 0x26, ACC_INT32 | DPL3, 0);
    vm->mem.ram[INT16_TARGET] = 0xF4;

    wr32(TSS + 4, STACK0); /* ESP0 */
    wr16(TSS + 8, SEL_DATA0); /* SS0 */

    c->cr0 = CR0_PE | CR0_ET;
    c->gdtr.base = GDT;
    c->gdtr.limit = GDT_ENTRIES * 8 - 1;
    c->idtr.base = IDT;
    c->idtr.limit = 256 * 8 - 1;
    c->tr.sel = SEL_TSS;
    c->tr.base = TSS;
    c->tr.limit = 0x67;
    c->tr.attr = 0x8B00;
    load_cache(SR_CS, SEL_CODE3);
    for (int s = 0; s < SR_COUNT; s++)
        if (s != SR_CS)
            load_cache(s, SEL_DATA3);
    cpu_update_mode(c);
    cpu_set_eflags(c, FL_IF);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = STACK3;
    c->eip = CODE;
    c->exit_on_hlt = true;
    c->stop_on_exception = 0;
    c->bus = (struct cpu_bus){0};
    put(CODE, code, n);
}

#define PROG(...)                                        \
    do {                                                 \
        static const uint8_t code_[] = {__VA_ARGS__};    \
        pm_setup(code_, sizeof(code_));                  \
    } while (0)

/* Switch the running program to ring 0 (flat CS 0x08, SS 0x10) with its stack at `esp`. */
static void to_ring0(uint32_t esp)
{
    load_cache(SR_CS, SEL_CODE0);
    load_cache(SR_SS, SEL_DATA0);
    c->regs[R_ESP] = esp;
}

static void run_to_hlt(uint32_t eip_after)
{
    enum cpu_exit why = cpu_run(c, 1000);
    assert_int_equal(why, CPU_EXIT_HLT);
    assert_int_equal(c->eip, eip_after);
    c->halted = false;
}

static void run_insns(uint64_t n)
{
    enum cpu_exit why = cpu_run(c, n);
    assert_int_equal(why, CPU_EXIT_LIMIT);
}

/* Run to the fault `vector`, which must not be delivered: EIP at the faulting instruction. */
static void run_to_fault(int vector, uint32_t error, uint32_t eip)
{
    c->stop_on_exception = 1u << vector;
    enum cpu_exit why = cpu_run(c, 1000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, vector);
    assert_true(c->exc_has_error);
    assert_int_equal(c->exc_error, error);
    assert_int_equal(c->eip, eip);
}

static void assert_sel(int sreg, uint16_t sel) { assert_int_equal(c->seg[sreg].sel, sel); }

/* ------------------------------------------------------------ IDT delivery */

/* SDM INTER-PRIVILEGE-LEVEL-INTERRUPT: SS:ESP from TSS.SS0:ESP0, then old SS, old ESP, EFLAGS,
 * CS, EIP pushed as dwords; CPL := DPL of the handler's CS; IF cleared by an interrupt gate. */
static void test_int_gate_inner(void **state)
{
    (void)state;
    PROG(0xCD, 0x20); /* INT 20h */
    cpu_set_eflags(c, FL_IF | FL_CF);
    run_to_hlt(HANDLERS + 16 * 0x20 + 1);
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_CS, SEL_CODE0);
    assert_sel(SR_SS, SEL_DATA0);
    assert_int_equal(c->regs[R_ESP], STACK0 - 20);
    assert_int_equal(rd32(STACK0 - 20), CODE + 2);     /* EIP after INT */
    assert_int_equal(rd32(STACK0 - 16), SEL_CODE3);
    assert_int_equal(rd32(STACK0 - 12), 0x203);        /* IF, bit 1, CF */
    assert_int_equal(rd32(STACK0 - 8), STACK3);
    assert_int_equal(rd32(STACK0 - 4), SEL_DATA3);
    assert_false(c->eflags & FL_IF);
    assert_true(cpu_get_eflags(c) & FL_CF);
    /* Data segments are untouched by an inward interrupt; descriptors marked accessed. */
    assert_sel(SR_DS, SEL_DATA3);
    assert_int_equal(access_of(SEL_CODE0), ACC_CODE0 | 1);
    assert_int_equal(access_of(SEL_DATA0), ACC_DATA0 | 1);
}

/* SDM INTRA-PRIVILEGE-LEVEL-INTERRUPT: EFLAGS, CS, EIP on the current stack. */
static void test_int_gate_same_level(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    to_ring0(0x7000);
    run_to_hlt(HANDLERS + 16 * 0x20 + 1);
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_SS, SEL_DATA0);
    assert_int_equal(c->regs[R_ESP], 0x7000 - 12);
    assert_int_equal(rd32(0x7000 - 12), CODE + 2);
    assert_int_equal(rd32(0x7000 - 8), SEL_CODE0);
    assert_int_equal(rd32(0x7000 - 4), 0x202); /* INT n is a trap: RF clear */
    assert_false(c->eflags & FL_IF);
    assert_int_equal(rd32(TSS + 4), STACK0); /* the TSS is not involved */
}

/* A conforming handler runs at the interrupted CPL, on the interrupted stack. */
static void test_int_conforming_same_level(void **state)
{
    (void)state;
    PROG(0xCD, 0x26);
    c->stop_on_exception = 1u << EXC_GP; /* HLT at CPL 3 faults: that proves the CPL */
    enum cpu_exit why = cpu_run(c, 1000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, EXC_GP);
    assert_int_equal(c->eip, HANDLERS + 16 * 0x26);
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->seg[SR_CS].sel, (SEL_CONF0 & 0xFFFC) | 3);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(c->regs[R_ESP], STACK3 - 12);
    assert_int_equal(rd32(STACK3 - 12), CODE + 2);
    assert_int_equal(rd32(STACK3 - 8), SEL_CODE3);
}

/* A trap gate leaves IF alone; TF, NT, RF are cleared either way. */
static void test_trap_gate_keeps_if(void **state)
{
    (void)state;
    PROG(0xCD, 0x21);
    cpu_set_eflags(c, FL_IF | FL_NT);
    run_to_hlt(HANDLERS + 16 * 0x21 + 1);
    assert_true(c->eflags & FL_IF);
    assert_false(c->eflags & FL_NT);
    assert_int_equal(rd32(STACK0 - 12), FL_IF | FL_NT | FL_FIXED1);
    assert_int_equal(c->regs[R_ESP], STACK0 - 20);
}

/* A 286 interrupt gate pushes a 16-bit frame: SS, SP, FLAGS, CS, IP. */
static void test_int16_gate_frame(void **state)
{
    (void)state;
    PROG(0xCD, 0x23);
    run_to_hlt(INT16_TARGET + 1);
    assert_sel(SR_CS, SEL_CODE16 & 0xFFFC);
    assert_int_equal(c->regs[R_ESP], STACK0 - 10);
    assert_int_equal(rd16(STACK0 - 10), CODE + 2);
    assert_int_equal(rd16(STACK0 - 8), SEL_CODE3);
    assert_int_equal(rd16(STACK0 - 6), 0x202);
    assert_int_equal(rd16(STACK0 - 4), STACK3);
    assert_int_equal(rd16(STACK0 - 2), SEL_DATA3);
    assert_int_equal(rd32(STACK0 - 14), 0); /* nothing below the frame */
}

/* INT n from CPL 3 through a DPL-0 gate: #GP(vector * 8 + 2), EXT clear, nothing changed. */
static void test_soft_int_gate_dpl(void **state)
{
    (void)state;
    PROG(0xCD, 0x80);
    run_to_fault(EXC_GP, 0x80 * 8 + 2, CODE);
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_sel(SR_SS, SEL_DATA3);
    assert_true(c->eflags & FL_IF);
}

/* The same #GP delivered to its ring-0 handler: error code pushed last, above the old SS:ESP. */
static void test_soft_int_gate_dpl_delivered(void **state)
{
    (void)state;
    PROG(0xCD, 0x80);
    run_to_hlt(HANDLERS + 16 * EXC_GP + 1);
    assert_int_equal(c->regs[R_ESP], STACK0 - 24);
    assert_int_equal(rd32(STACK0 - 24), 0x402);
    assert_int_equal(rd32(STACK0 - 20), CODE); /* a fault: the INT itself */
    assert_int_equal(rd32(STACK0 - 16), SEL_CODE3);
    assert_int_equal(rd32(STACK0 - 12), 0x10202); /* faults push RF = 1 (SDM 17.3.1.1) */
    assert_int_equal(rd32(STACK0 - 8), STACK3);
    assert_int_equal(rd32(STACK0 - 4), SEL_DATA3);
}

/* INT3 counts as a software interrupt for the gate DPL check; ICEBP (INT1) does not. */
static void test_int3_dpl_int1_not(void **state)
{
    (void)state;
    PROG(0xCC);
    run_to_fault(EXC_GP, EXC_BP * 8 + 2, CODE);
    PROG(0xF1);
    run_to_hlt(HANDLERS + 16 * EXC_DB + 1);
    assert_int_equal(rd32(STACK0 - 20), CODE + 1);
}

/* Not-present gate: #NP(vector * 8 + 2), plus EXT for an external interrupt. */
static int ack_0x22(void *opaque)
{
    (void)opaque;
    return 0x22;
}

static void test_not_present_gate(void **state)
{
    (void)state;
    PROG(0xCD, 0x22);
    run_to_fault(EXC_NP, 0x22 * 8 + 2, CODE);

    PROG(0x90, 0x90);
    c->bus.intr_ack = ack_0x22;
    cpu_set_irq(c, true);
    run_to_fault(EXC_NP, 0x22 * 8 + 3, CODE);
    cpu_set_irq(c, false);
}

/* Vector beyond the IDT limit: #GP(vector * 8 + 2 (+ EXT)). */
static void test_idt_limit(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    c->idtr.limit = 0x20 * 8 + 6; /* one byte short of gate 0x20 */
    run_to_fault(EXC_GP, 0x20 * 8 + 2, CODE);
}

/* Inner stack with a bad SS0 in the TSS (RPL 3 for a ring-0 handler): #TS(SS0), precise. */
static void test_bad_tss_ss0(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    wr16(TSS + 8, SEL_DATA3);
    run_to_fault(EXC_TS, SEL_DATA3 & 0xFFFC, CODE);
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(rd32(STACK0 - 4), 0);

    /* SS0 not present: #SS(SS0). */
    PROG(0xCD, 0x20);
    wr16(TSS + 8, SEL_NP_DATA);
    run_to_fault(EXC_SS, SEL_NP_DATA, CODE);
}

/* The frame does not fit below the stack limit: #SS(0) for INT n at the same level, with
 * nothing written and ESP as it was. */
static void test_same_level_stack_fault(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    to_ring0(0);
    load_cache(SR_SS, SEL_SMALL0);
    c->regs[R_ESP] = 8;
    run_to_fault(EXC_SS, 0, CODE);
    assert_int_equal(c->regs[R_ESP], 8);
    assert_int_equal(rd32(0), 0);
    assert_int_equal(rd32(4), 0);
    assert_true(c->eflags & FL_IF);
}

/* An exception with an error code at the same level: MOV DS with a not-present descriptor
 * raises #NP(selector); the handler's frame is error code, EIP, CS, EFLAGS. */
static void test_fault_error_code_same_level(void **state)
{
    (void)state;
    PROG(0x66, 0xB8, SEL_NP_DATA, 0x00, /* MOV AX,40h */
         0x8E, 0xD8);                   /* MOV DS,AX  at CODE+4 */
    to_ring0(0x7000);
    run_to_hlt(HANDLERS + 16 * EXC_NP + 1);
    assert_int_equal(c->regs[R_ESP], 0x7000 - 16);
    assert_int_equal(rd32(0x7000 - 16), SEL_NP_DATA);
    assert_int_equal(rd32(0x7000 - 12), CODE + 4);
    assert_int_equal(rd32(0x7000 - 8), SEL_CODE0);
    assert_int_equal(rd32(0x7000 - 4), 0x10202); /* #NP is a fault: RF = 1 (SDM 17.3.1.1) */
    assert_sel(SR_DS, SEL_DATA3);
}

/* A 16-bit TSS holds SP0 at offset 2 and SS0 at 4; a TSS too short for them is #TS(TR). */
static void test_tss16_inner_stack(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    c->tr.base = 0x3200;
    c->tr.limit = 0x2B;
    c->tr.attr = 0x8300; /* busy 286 TSS */
    wr16(0x3202, 0x8800);
    wr16(0x3204, SEL_DATA0);
    run_to_hlt(HANDLERS + 16 * 0x20 + 1);
    assert_sel(SR_SS, SEL_DATA0);
    assert_int_equal(c->regs[R_ESP], 0x8800 - 20);
    assert_int_equal(rd32(0x8800 - 8), STACK3);

    PROG(0xCD, 0x20);
    c->tr.base = 0x3200;
    c->tr.limit = 4; /* SS0 would end at offset 5 */
    c->tr.attr = 0x8300;
    run_to_fault(EXC_TS, SEL_TSS, CODE);
}

/* ------------------------------------------------------------ call gates, RETF */

/* CALL through a 386 call gate from CPL 3 to 0 copies 2 dwords; RETF 8 releases them on both
 * stacks and, back at CPL 3, nulls DS which holds a DPL-0 segment. */
static void test_call_gate_params_and_retf(void **state)
{
    (void)state;
    PROG(0x68, 0x11, 0x11, 0x11, 0x11,                  /* PUSH 11111111h */
         0x68, 0x22, 0x22, 0x22, 0x22,                  /* PUSH 22222222h */
         0x9A, 0x78, 0x56, 0x34, 0x12, SEL_GATE32, 0x00); /* CALL 0033:12345678h (offset unused) */
    static const uint8_t callee[] = {
        0x66, 0xB8, SEL_DATA0, 0x00, /* MOV AX,10h */
        0x8E, 0xD8,                  /* MOV DS,AX */
        0xCA, 0x08, 0x00,            /* RETF 8 */
    };
    put(CALL32_TARGET, callee, sizeof(callee));
    run_insns(3);
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_CS, SEL_CODE0);
    assert_int_equal(c->eip, CALL32_TARGET);
    assert_sel(SR_SS, SEL_DATA0);
    assert_int_equal(c->regs[R_ESP], STACK0 - 24);
    assert_int_equal(rd32(STACK0 - 24), CODE + 17);  /* return EIP */
    assert_int_equal(rd32(STACK0 - 20), SEL_CODE3);
    assert_int_equal(rd32(STACK0 - 16), 0x22222222); /* parameter at the caller's [ESP] */
    assert_int_equal(rd32(STACK0 - 12), 0x11111111);
    assert_int_equal(rd32(STACK0 - 8), STACK3 - 8);  /* caller's ESP after its pushes */
    assert_int_equal(rd32(STACK0 - 4), SEL_DATA3);
    assert_true(c->eflags & FL_IF); /* a call gate leaves EFLAGS alone */

    run_insns(3);
    assert_int_equal(c->cpl, 3);
    assert_sel(SR_CS, SEL_CODE3);
    assert_int_equal(c->eip, CODE + 17);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_sel(SR_DS, 0);
    assert_sel(SR_ES, SEL_DATA3);
    /* The nulled DS faults at use: MOV EAX,[0] -> #GP(0). */
    static const uint8_t use_ds[] = {0xA1, 0x00, 0x00, 0x00, 0x00};
    put(CODE + 17, use_ds, sizeof(use_ds));
    run_to_fault(EXC_GP, 0, CODE + 17);
}

/* A 286 call gate copies words and pushes a 16-bit frame; RETF 6 from the 16-bit callee. */
static void test_call_gate16_word_params(void **state)
{
    (void)state;
    PROG(0x66, 0x68, 0x11, 0x11,   /* PUSH word 1111h */
         0x66, 0x68, 0x22, 0x22,   /* PUSH word 2222h */
         0x66, 0x68, 0x33, 0x33,   /* PUSH word 3333h */
         0x9A, 0x00, 0x00, 0x00, 0x00, SEL_GATE16, 0x00); /* CALL 0053:0 */
    static const uint8_t callee[] = {0xCA, 0x06, 0x00}; /* RETF 6 (16-bit code) */
    put(CALL16_TARGET, callee, sizeof(callee));
    run_insns(4);
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_CS, SEL_CODE16 & 0xFFFC);
    assert_int_equal(c->eip, CALL16_TARGET);
    assert_int_equal(c->regs[R_ESP], STACK0 - 14);
    assert_int_equal(rd16(STACK0 - 14), (CODE + 19) & 0xFFFF);
    assert_int_equal(rd16(STACK0 - 12), SEL_CODE3);
    assert_int_equal(rd16(STACK0 - 10), 0x3333);
    assert_int_equal(rd16(STACK0 - 8), 0x2222);
    assert_int_equal(rd16(STACK0 - 6), 0x1111);
    assert_int_equal(rd16(STACK0 - 4), STACK3 - 6);
    assert_int_equal(rd16(STACK0 - 2), SEL_DATA3);

    run_insns(1);
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->eip, CODE + 19);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(c->regs[R_ESP], STACK3);
}

/* JMP through a call gate never changes privilege: to a DPL-0 non-conforming segment from
 * CPL 3 it is #GP(code selector); from CPL 0 it just jumps. */
static void test_jmp_call_gate(void **state)
{
    (void)state;
    PROG(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_GATE32, 0x00); /* JMP 0033:0 */
    run_to_fault(EXC_GP, SEL_CODE0, CODE);

    PROG(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_GATE32, 0x00);
    to_ring0(0x7000);
    run_insns(1);
    assert_sel(SR_CS, SEL_CODE0);
    assert_int_equal(c->eip, CALL32_TARGET);
    assert_int_equal(c->regs[R_ESP], 0x7000);
}

/* Call gate DPL below CPL: #GP(gate selector); far JMP to a busy TSS: #GP(TSS selector). */
static void test_gate_and_tss_refused(void **state)
{
    (void)state;
    PROG(0x9A, 0x00, 0x00, 0x00, 0x00, SEL_GATE32, 0x00);
    vm->mem.ram[GDT + (SEL_GATE32 & 0xFFF8u) + 5] = ACC_CALL32; /* DPL 0 */
    run_to_fault(EXC_GP, SEL_GATE32 & 0xFFFC, CODE);

    PROG(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TSS, 0x00);
    to_ring0(0x7000);
    run_to_fault(EXC_GP, SEL_TSS, CODE);
}

/* RETF to an outer level whose SS selector has the wrong RPL: #GP(SS selector), precise. */
static void test_retf_outer_bad_ss(void **state)
{
    (void)state;
    PROG(0xCB); /* RETF */
    to_ring0(0x7000);
    wr32(0x7000, CODE + 0x40);
    wr32(0x7004, SEL_CODE3);
    wr32(0x7008, 0x6000);
    wr32(0x700C, SEL_DATA3 & 0xFFFC); /* RPL 0 != return CS RPL 3 */
    run_to_fault(EXC_GP, SEL_DATA3 & 0xFFFC, CODE);
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_CS, SEL_CODE0);
    assert_int_equal(c->regs[R_ESP], 0x7000);
}

/* ------------------------------------------------------------ IRET */

/* IRET from CPL 0 to CPL 3: pops EIP CS EFLAGS ESP SS; at CPL 0 IF and IOPL are loaded; DS
 * (DPL 0 data) is nulled, ES (DPL 3) and FS (conforming code) survive, null GS stays null. */
static void test_iret_outer(void **state)
{
    (void)state;
    PROG(0xCF); /* IRET */
    to_ring0(0x8F00);
    cpu_set_eflags(c, 0);
    load_cache(SR_DS, SEL_DATA0);
    load_cache(SR_FS, SEL_CONF0);
    cpu_load_seg(c, SR_GS, 0);
    wr32(0x8F00, 0x0000B000);
    wr32(0x8F04, SEL_CODE3);
    wr32(0x8F08, 0x00002A83); /* IOPL 2, OF, IF, SF, CF */
    wr32(0x8F0C, 0x6000);
    wr32(0x8F10, SEL_DATA3);
    run_insns(1);
    assert_int_equal(c->cpl, 3);
    assert_sel(SR_CS, SEL_CODE3);
    assert_int_equal(c->eip, 0xB000);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(c->regs[R_ESP], 0x6000);
    assert_int_equal(cpu_get_eflags(c), 0x2A83);
    assert_sel(SR_DS, 0);
    assert_sel(SR_ES, SEL_DATA3);
    assert_sel(SR_FS, SEL_CONF0);
    assert_sel(SR_GS, 0);
}

/* IRET at CPL 3 with IOPL 0: IF and IOPL in the image are ignored, the rest is loaded. */
static void test_iret_cpl3_flags(void **state)
{
    (void)state;
    PROG(0xCF);
    wr32(STACK3 - 12, 0xC000);
    wr32(STACK3 - 8, SEL_CODE3);
    wr32(STACK3 - 4, 0x00003001); /* IOPL 3, IF clear, CF */
    c->regs[R_ESP] = STACK3 - 12;
    run_insns(1);
    assert_int_equal(c->eip, 0xC000);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_int_equal(cpu_get_eflags(c), 0x203);
}

/* IRET from CPL 0 with VM in the image: the 9-dword v8086 frame, 8086-style segments. */
static void test_iret_to_v86(void **state)
{
    (void)state;
    PROG(0xCF);
    to_ring0(STACK0 - 36);
    static const uint32_t frame[9] = {0x0100, 0x5000, 0x00023202, 0x0FFE, 0x6000,
                                      0x1111, 0x2222, 0x3333, 0x4444};
    for (unsigned k = 0; k < 9; k++)
        wr32(STACK0 - 36 + 4 * k, frame[k]);
    static const uint8_t v86code[] = {0xB8, 0x34, 0x12}; /* MOV AX,1234h (16-bit) */
    put(0x50100, v86code, sizeof(v86code));
    run_insns(1);
    assert_true(cpu_v86(c));
    assert_int_equal(c->cpl, 3);
    assert_int_equal(cpu_get_eflags(c), 0x00023202);
    assert_int_equal(c->eip, 0x0100);
    assert_int_equal(c->regs[R_ESP], 0x0FFE);
    static const struct { int sreg; uint16_t sel; } want[] = {
        {SR_CS, 0x5000}, {SR_SS, 0x6000}, {SR_ES, 0x1111},
        {SR_DS, 0x2222}, {SR_FS, 0x3333}, {SR_GS, 0x4444},
    };
    for (unsigned k = 0; k < 6; k++) {
        assert_sel(want[k].sreg, want[k].sel);
        assert_int_equal(c->seg[want[k].sreg].base, (uint32_t)want[k].sel << 4);
        assert_int_equal(c->seg[want[k].sreg].limit, 0xFFFF);
    }
    run_insns(1);
    assert_int_equal(c->regs[R_EAX] & 0xFFFF, 0x1234);
    assert_int_equal(c->eip, 0x0103);
}

/* ------------------------------------------------------------ v8086 interrupts */

static void v86_setup(void)
{
    cpu_set_eflags(c, FL_VM | FL_IOPL | FL_IF);
    static const uint16_t sel[SR_COUNT] = {[SR_ES] = 0x1111, [SR_CS] = 0x5000, [SR_SS] = 0x6000,
                                           [SR_DS] = 0x2222, [SR_FS] = 0x3333, [SR_GS] = 0x4444};
    for (int s = 0; s < SR_COUNT; s++)
        cpu_load_seg(c, s, sel[s]);
    c->regs[R_ESP] = 0x0FFE;
    c->eip = 0x0100;
}

/* INT n in v8086 mode (IOPL 3) to a ring-0 handler: GS FS DS ES SS ESP EFLAGS CS EIP on the
 * ring-0 stack, data segments null, VM and IF clear; its IRET goes back to v8086 mode. */
static void test_v86_int_to_ring0(void **state)
{
    (void)state;
    PROG(0x90);
    v86_setup();
    static const uint8_t v86code[] = {0xCD, 0x20, 0xCD, 0x24}; /* INT 20h; INT 24h */
    put(0x50100, v86code, sizeof(v86code));
    run_to_hlt(HANDLERS + 16 * 0x20 + 1);
    assert_false(cpu_v86(c));
    assert_int_equal(c->cpl, 0);
    assert_sel(SR_CS, SEL_CODE0);
    assert_sel(SR_SS, SEL_DATA0);
    assert_int_equal(c->regs[R_ESP], STACK0 - 36);
    static const uint32_t frame[9] = {0x0102, 0x5000, 0x00023202, 0x0FFE, 0x6000,
                                      0x1111, 0x2222, 0x3333, 0x4444};
    for (unsigned k = 0; k < 9; k++)
        assert_int_equal(rd32(STACK0 - 36 + 4 * k), frame[k]);
    assert_sel(SR_DS, 0);
    assert_sel(SR_ES, 0);
    assert_sel(SR_FS, 0);
    assert_sel(SR_GS, 0);
    assert_false(c->eflags & FL_IF);
    assert_int_equal(c->eflags & FL_IOPL, FL_IOPL);

    /* INT 24h's handler is a bare IRET: a round trip leaves the v8086 state as it was. */
    v86_setup();
    c->eip = 0x0102;
    run_insns(2);
    assert_true(cpu_v86(c));
    assert_int_equal(c->eip, 0x0104);
    assert_int_equal(c->regs[R_ESP], 0x0FFE);
    assert_sel(SR_DS, 0x2222);
    assert_int_equal(c->seg[SR_DS].base, 0x22220);
    assert_sel(SR_SS, 0x6000);
    assert_true(c->eflags & FL_IF);
}

/* From v8086 mode the handler must be ring-0 non-conforming code: a DPL-3 one gives
 * #GP(its selector); with IOPL < 3, INT n itself is #GP(0). */
static void test_v86_int_refused(void **state)
{
    (void)state;
    PROG(0x90);
    v86_setup();
    static const uint8_t v86code[] = {0xCD, 0x25};
    put(0x50100, v86code, sizeof(v86code));
    run_to_fault(EXC_GP, SEL_CODE3 & 0xFFFC, 0x0100);
    assert_true(cpu_v86(c));
    assert_int_equal(c->regs[R_ESP], 0x0FFE);

    PROG(0x90);
    v86_setup();
    put(0x50100, v86code, sizeof(v86code));
    cpu_set_eflags(c, FL_VM | FL_IF);
    run_to_fault(EXC_GP, 0, 0x0100);
}

/* Paging: the ring-0 stack page is not present. The first push (old SS at STACK0 - 4) raises
 * #PF (supervisor write, not present: error 2) before anything changes: CPL, SS:ESP, IF and the
 * descriptors' accessed bits are as they were. */
static void test_inner_stack_page_fault_precise(void **state)
{
    (void)state;
    PROG(0xCD, 0x20);
    wr32(PD, PT | 7);
    for (uint32_t i = 0; i < 1024; i++)
        wr32(PT + 4 * i, i << 12 | 7);
    wr32(PT + 4 * ((STACK0 - 4) >> 12), 0);
    c->cr3 = PD;
    c->cr0 |= CR0_PG;
    cpu_flush_tlb(c, false);
    run_to_fault(EXC_PF, 2, CODE);
    assert_int_equal(c->cr2, STACK0 - 4);
    assert_int_equal(c->cpl, 3);
    assert_sel(SR_CS, SEL_CODE3);
    assert_sel(SR_SS, SEL_DATA3);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_true(c->eflags & FL_IF);
    assert_int_equal(access_of(SEL_CODE0), ACC_CODE0);
    assert_int_equal(access_of(SEL_DATA0), ACC_DATA0);
}

/* ------------------------------------------------------------ task gates */

/* CALL through a task gate nests task B (NT set, back-link = the caller's TSS); B's IRET with
 * NT set returns through the back-link to the instruction after the CALL. */
static void test_task_gate_call_and_nested_iret(void **state)
{
    (void)state;
    PROG(0x9A, 0x00, 0x00, 0x00, 0x00, SEL_TASKGATE, 0x00); /* CALL 006B:0 */
    memset(vm->mem.ram + TSS_B, 0, 0x68);
    wr32(TSS_B + 0x20, TASK_B_EIP);
    wr32(TSS_B + 0x24, FL_FIXED1);
    wr32(TSS_B + 0x28 + 4 * R_ESP, 0x9800);
    static const int sregs[] = {SR_ES, SR_SS, SR_DS, SR_FS, SR_GS};
    for (unsigned k = 0; k < 5; k++)
        wr16(TSS_B + 0x48 + 4 * sregs[k], SEL_DATA0);
    wr16(TSS_B + 0x48 + 4 * SR_CS, SEL_CODE0);
    wr16(TSS_B + 0x66, 0x68);
    vm->mem.ram[TASK_B_EIP] = 0xCF; /* IRET */

    run_insns(1);
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(c->eip, TASK_B_EIP);
    assert_int_equal(c->cpl, 0);
    assert_true(c->eflags & FL_NT);
    assert_int_equal(rd16(TSS_B), SEL_TSS);
    assert_int_equal(access_of(SEL_TSS_B), 0x8B); /* busy */

    run_insns(1);
    assert_int_equal(c->tr.sel, SEL_TSS);
    assert_int_equal(c->eip, CODE + 7);
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->regs[R_ESP], STACK3);
    assert_false(c->eflags & FL_NT);
    assert_int_equal(access_of(SEL_TSS_B), 0x89); /* no longer busy */
}

/* A task gate naming a busy TSS: #GP(TSS selector); a task gate below CPL: #GP(gate). */
static void test_task_gate_refused(void **state)
{
    (void)state;
    PROG(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TASKGATE_A, 0x00);
    run_to_fault(EXC_GP, SEL_TSS, CODE);
    assert_int_equal(c->tr.sel, SEL_TSS);

    PROG(0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TASKGATE, 0x00);
    vm->mem.ram[GDT + (SEL_TASKGATE & 0xFFF8u) + 5] = 0x85; /* DPL 0 */
    run_to_fault(EXC_GP, SEL_TASKGATE & 0xFFFC, CODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_gate_inner),
        cmocka_unit_test(test_int_gate_same_level),
        cmocka_unit_test(test_int_conforming_same_level),
        cmocka_unit_test(test_trap_gate_keeps_if),
        cmocka_unit_test(test_int16_gate_frame),
        cmocka_unit_test(test_soft_int_gate_dpl),
        cmocka_unit_test(test_soft_int_gate_dpl_delivered),
        cmocka_unit_test(test_int3_dpl_int1_not),
        cmocka_unit_test(test_not_present_gate),
        cmocka_unit_test(test_idt_limit),
        cmocka_unit_test(test_bad_tss_ss0),
        cmocka_unit_test(test_same_level_stack_fault),
        cmocka_unit_test(test_fault_error_code_same_level),
        cmocka_unit_test(test_tss16_inner_stack),
        cmocka_unit_test(test_call_gate_params_and_retf),
        cmocka_unit_test(test_call_gate16_word_params),
        cmocka_unit_test(test_jmp_call_gate),
        cmocka_unit_test(test_gate_and_tss_refused),
        cmocka_unit_test(test_retf_outer_bad_ss),
        cmocka_unit_test(test_iret_outer),
        cmocka_unit_test(test_iret_cpl3_flags),
        cmocka_unit_test(test_iret_to_v86),
        cmocka_unit_test(test_v86_int_to_ring0),
        cmocka_unit_test(test_v86_int_refused),
        cmocka_unit_test(test_inner_stack_page_fault_precise),
        cmocka_unit_test(test_task_gate_call_and_nested_iret),
        cmocka_unit_test(test_task_gate_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
