/* Debug registers: instruction, data and I/O breakpoints, RF, general detect, and how their
 * #DB merges with single-step and waits behind MOV SS.
 *
 * Real-mode programs (debug registers work there) built at 0000:0100 with the stack at
 * 0000:8000. Breakpoints are mostly set up by the guest itself with MOV DRn. Expected values
 * come from the SDM (vol. 3, chapter 17) by hand: instruction breakpoints and general detect
 * are faults (EIP at the instruction, nothing done), data and I/O breakpoints are traps (the
 * access done, EIP past the instruction, or at a REP that still has iterations to go). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/debug.h"
#include "tests/support/testvm.h"

#define CODE 0x100u
#define STACK 0x8000u
#define RAM_SIZE (1u << 20)
#define DR6_INIT 0xFFFF0FF0u

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

/* ---- a tiny assembler for the few instructions the tests need ---- */

struct prog {
    uint8_t b[256];
    unsigned n;
};

static uint32_t here(const struct prog *p) { return CODE + p->n; }

static void emit(struct prog *p, const uint8_t *bytes, unsigned n)
{
    assert_true(p->n + n <= sizeof(p->b));
    memcpy(p->b + p->n, bytes, n);
    p->n += n;
}

#define EMIT(p, ...)                                  \
    do {                                              \
        static const uint8_t b_[] = {__VA_ARGS__};    \
        emit(p, b_, sizeof(b_));                      \
    } while (0)

static void emit32(struct prog *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    emit(p, b, 4);
}

/* MOV EBP,imm32 ; MOV DRn,EBP (the tests keep their data out of EBP) */
static void set_dr(struct prog *p, unsigned n, uint32_t v)
{
    EMIT(p, 0x66, 0xBD);
    emit32(p, v);
    uint8_t mov[3] = {0x0F, 0x23, (uint8_t)(0xC0 | n << 3 | R_EBP)};
    emit(p, mov, 3);
}

/* JMP near to an absolute offset in CS. */
static void jmp_to(struct prog *p, uint32_t target)
{
    uint16_t rel = (uint16_t)(target - (here(p) + 3));
    uint8_t b[3] = {0xE9, (uint8_t)rel, (uint8_t)(rel >> 8)};
    emit(p, b, 3);
}

/* Fresh real-mode machine running `p` from 0000:0100. */
static void load(const struct prog *p)
{
    testvm_real_mode(vm);
    memset(vm->mem.ram, 0, 0x10000);
    memcpy(vm->mem.ram + CODE, p->b, p->n);
    memset(c->regs, 0, sizeof(c->regs));
    c->regs[R_ESP] = STACK;
    c->eip = CODE;
    c->exit_on_hlt = true;
    c->stop_on_exception = 1u << EXC_DB;
    c->bus = (struct cpu_bus){0};
}

static uint8_t rd8(uint32_t a) { return vm->mem.ram[a]; }
static uint16_t rd16(uint32_t a) { return (uint16_t)(rd8(a) | rd8(a + 1) << 8); }
static void wr16(uint32_t a, uint16_t v)
{
    vm->mem.ram[a] = (uint8_t)v;
    vm->mem.ram[a + 1] = (uint8_t)(v >> 8);
}

static uint32_t bx(void) { return c->regs[R_EBX] & 0xFFFF; }

/* Run until #DB stops the CPU; check it stopped at `eip`. */
static void expect_db(uint32_t eip)
{
    enum cpu_exit why = cpu_run(c, 100000);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, EXC_DB);
    assert_int_equal(c->eip, eip);
}

static void expect_hlt(uint32_t eip)
{
    enum cpu_exit why = cpu_run(c, 100000);
    assert_int_equal(why, CPU_EXIT_HLT);
    assert_int_equal(c->eip, eip);
    c->halted = false;
}

/* TLB tag of `kind` for the supervisor entry of linear `lin` (real mode runs at CPL 0). */
static uint32_t tlb_tag(uint32_t lin, unsigned kind)
{
    return c->tlb.e[0][tlb_index(lin)].tag[kind];
}

/* DR7 fields */
#define L(n) (1u << (2 * (n)))
#define RW(n, rw) ((uint32_t)(rw) << (16 + 4 * (n)))
#define LEN(n, len) ((uint32_t)(len) << (18 + 4 * (n)))

/* ---------------------------------------------------------------- instruction breakpoints */

static void test_insn_bp_faults_before_execution(void **state)
{
    (void)state;
    const uint32_t target = 0x180;
    struct prog p = {0};
    set_dr(&p, 0, target);
    set_dr(&p, 7, L(0)); /* R/W0 = 00, LEN0 = 00: execution */
    jmp_to(&p, target);
    load(&p);
    static const uint8_t at_target[] = {0x43, 0xF4}; /* INC BX ; HLT */
    memcpy(vm->mem.ram + target, at_target, sizeof(at_target));

    expect_db(target); /* a fault: EIP is the breakpointed instruction */
    assert_false(c->exc_trap);
    assert_int_equal(bx(), 0); /* not executed */
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
}

/* A breakpoint set on an instruction that already sits decoded in the interpreter's cache. */
static void test_insn_bp_on_cached_instruction(void **state)
{
    (void)state;
    struct prog p = {0};
    EMIT(&p, 0x43, 0xF4); /* INC BX ; HLT */
    load(&p);
    expect_hlt(CODE + 2);
    assert_int_equal(bx(), 1);

    dbg_write_dr(c, 2, CODE);
    dbg_write_dr(c, 7, L(2));
    c->eip = CODE;
    expect_db(CODE);
    assert_int_equal(bx(), 1);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(2));

    /* Disabled again: runs through. */
    dbg_write_dr(c, 7, 0);
    expect_hlt(CODE + 2);
    assert_int_equal(bx(), 2);
}

/* IRETD loads RF from the stack image; RF then suppresses the instruction breakpoint for one
 * instruction and is cleared once that instruction has started, so the breakpoint fires the
 * next time round. */
static void test_rf_suppresses_one_instruction(void **state)
{
    (void)state;
    const uint32_t target = 0x180;
    struct prog p = {0};
    set_dr(&p, 0, target);
    set_dr(&p, 7, L(0));
    EMIT(&p, 0x66, 0x68, 0x02, 0x00, 0x01, 0x00); /* PUSH DWORD 00010002h: EFLAGS with RF */
    EMIT(&p, 0x66, 0x6A, 0x00);                   /* PUSH DWORD 0: CS */
    EMIT(&p, 0x66, 0x68);                         /* PUSH DWORD target: EIP */
    emit32(&p, target);
    EMIT(&p, 0x66, 0xCF); /* IRETD */
    load(&p);
    static const uint8_t at_target[] = {0x43, 0xEB, 0xFD}; /* INC BX ; JMP target */
    memcpy(vm->mem.ram + target, at_target, sizeof(at_target));

    assert_int_equal(cpu_run(c, 8), CPU_EXIT_LIMIT); /* up to and including IRETD */
    assert_int_equal(c->eip, target);
    assert_true(c->eflags & FL_RF);

    assert_int_equal(cpu_run(c, 1), CPU_EXIT_LIMIT); /* INC BX runs despite the breakpoint */
    assert_int_equal(bx(), 1);
    assert_int_equal(c->eip, target + 1);
    assert_false(c->eflags & FL_RF);
    assert_int_equal(c->dr[6], DR6_INIT);

    expect_db(target); /* JMP back: now it fires */
    assert_int_equal(bx(), 1);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
}

/* ---------------------------------------------------------------- data breakpoints */

static void test_data_write_bp_traps_after_store(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 1, 0x2000);
    set_dr(&p, 7, L(1) | RW(1, 1)); /* write, 1 byte */
    EMIT(&p, 0xA0, 0x00, 0x20);             /* MOV AL,[2000h]: a read, no trap */
    EMIT(&p, 0xC6, 0x06, 0x01, 0x20, 0x11); /* MOV BYTE [2001h],11h: next byte, no trap */
    EMIT(&p, 0xC6, 0x06, 0x00, 0x20, 0x5A); /* MOV BYTE [2000h],5Ah: trap */
    const uint32_t after = here(&p);
    EMIT(&p, 0x43, 0xF4); /* INC BX ; HLT */
    set_dr(&p, 7, 0);
    EMIT(&p, 0xC6, 0x06, 0x00, 0x20, 0x66); /* MOV BYTE [2000h],66h */
    const uint32_t end = here(&p) + 1;
    EMIT(&p, 0xF4);
    load(&p);
    vm->mem.ram[0x2000] = 0x99;

    expect_db(after);
    assert_true(c->exc_trap);
    assert_int_equal(rd8(0x2000), 0x5A); /* the store completed */
    assert_int_equal(rd8(0x2001), 0x11);
    assert_int_equal(c->regs[R_EAX] & 0xFF, 0x99);
    assert_int_equal(bx(), 0); /* nothing after it ran */
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(1));
    /* Reads of the page stay on the fast path, writes do not. */
    assert_int_equal(tlb_tag(0x2000, TLB_READ), 0x2000);
    assert_int_not_equal(tlb_tag(0x2000, TLB_WRITE), 0x2000);

    expect_hlt(after + 2);
    assert_int_equal(bx(), 1);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(1)); /* kept: only software clears DR6 */

    /* DR7 = 0: the page is writable through the TLB again and nothing traps. */
    expect_hlt(end);
    assert_int_equal(rd8(0x2000), 0x66);
    assert_int_equal(tlb_tag(0x2000, TLB_WRITE), 0x2000);
}

/* REP STOSB: the trap comes after the iteration that wrote the breakpoint byte, with EIP at
 * the REP and (E)CX/(E)DI as that iteration left them; resuming finishes the string. */
static void test_data_bp_inside_rep_stosb(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 0, 0x2003);
    set_dr(&p, 7, L(0) | RW(0, 1));
    const uint32_t rep = here(&p);
    EMIT(&p, 0xF3, 0xAA, 0xF4); /* REP STOSB ; HLT */
    load(&p);
    c->regs[R_EDI] = 0x2000;
    c->regs[R_ECX] = 8;
    c->regs[R_EAX] = 0xAB;

    expect_db(rep);
    assert_int_equal(c->regs[R_ECX], 4);
    assert_int_equal(c->regs[R_EDI], 0x2004);
    for (uint32_t a = 0x2000; a <= 0x2003; a++)
        assert_int_equal(rd8(a), 0xAB);
    assert_int_equal(rd8(0x2004), 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));

    expect_hlt(rep + 3); /* the rest does not touch 2003h again */
    assert_int_equal(c->regs[R_ECX], 0);
    for (uint32_t a = 0x2000; a <= 0x2007; a++)
        assert_int_equal(rd8(a), 0xAB);
    assert_int_equal(rd8(0x2008), 0);
    assert_false(c->eflags & FL_RF);

    /* Hit by the last iteration: the instruction is complete, EIP is past it. */
    memset(vm->mem.ram + 0x2000, 0, 16);
    dbg_write_dr(c, 6, 0);
    dbg_write_dr(c, 0, 0x2007);
    c->regs[R_EDI] = 0x2000;
    c->regs[R_ECX] = 8;
    c->eip = rep;
    expect_db(rep + 2);
    assert_int_equal(c->regs[R_ECX], 0);
    assert_int_equal(c->regs[R_EDI], 0x2008);
    assert_int_equal(rd8(0x2007), 0xAB);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
}

/* A REP that stops between iterations resumes with RF set, so an instruction breakpoint on
 * the REP itself does not fire again (SDM: RF = 1 after a non-final iteration). RF is set by
 * hand here, as a debugger's IRETD would after the first instruction-breakpoint #DB. */
static void test_rep_resumes_past_its_own_insn_bp(void **state)
{
    (void)state;
    struct prog p = {0};
    const uint32_t rep = here(&p);
    EMIT(&p, 0xF3, 0xAA, 0xF4); /* REP STOSB ; HLT */
    load(&p);
    dbg_write_dr(c, 0, rep);
    dbg_write_dr(c, 1, 0x2001);
    dbg_write_dr(c, 7, L(0) | L(1) | RW(1, 1));
    c->regs[R_EDI] = 0x2000;
    c->regs[R_ECX] = 4;
    c->eflags |= FL_RF;

    expect_db(rep); /* the data trap after the second iteration */
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(1));
    assert_int_equal(c->regs[R_ECX], 2);
    assert_true(c->eflags & FL_RF);

    expect_hlt(rep + 3); /* resumed, not stopped by the instruction breakpoint */
    assert_int_equal(c->regs[R_ECX], 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(1));

    c->eip = rep; /* a fresh start with RF clear does fault */
    c->regs[R_ECX] = 4;
    expect_db(rep);
    assert_int_equal(c->regs[R_ECX], 4);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0) | DR6_B(1));
}

static void test_read_write_bp_on_read(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 2, 0x2010);
    set_dr(&p, 7, L(2) | RW(2, 3)); /* read/write, 1 byte */
    EMIT(&p, 0xA0, 0x10, 0x20); /* MOV AL,[2010h] */
    const uint32_t after = here(&p);
    EMIT(&p, 0x43, 0xF4);
    load(&p);
    vm->mem.ram[0x2010] = 0x42;

    expect_db(after);
    assert_int_equal(c->regs[R_EAX] & 0xFF, 0x42); /* the read completed */
    assert_int_equal(bx(), 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(2));
    assert_int_not_equal(tlb_tag(0x2010, TLB_READ), 0x2010);
}

/* LEN = 4 bytes covers the aligned dword: the low two bits of DR3 are ignored, and any access
 * that shares a byte with it matches. */
static void test_len4_overlap(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 3, 0x2021); /* covers 2020h-2023h */
    set_dr(&p, 7, L(3) | RW(3, 1) | LEN(3, 3));
    EMIT(&p, 0xC6, 0x06, 0x24, 0x20, 0x01); /* MOV BYTE [2024h],1: just past */
    EMIT(&p, 0xC6, 0x06, 0x1F, 0x20, 0x02); /* MOV BYTE [201Fh],2: just before */
    EMIT(&p, 0xC6, 0x06, 0x23, 0x20, 0x03); /* MOV BYTE [2023h],3: base + 3 */
    const uint32_t first = here(&p);
    EMIT(&p, 0x43);                               /* INC BX */
    EMIT(&p, 0xC7, 0x06, 0x1F, 0x20, 0x05, 0x05); /* MOV WORD [201Fh],0505h: overlaps 2020h */
    const uint32_t second = here(&p);
    EMIT(&p, 0x41, 0xF4); /* INC CX ; HLT */
    load(&p);

    expect_db(first);
    assert_int_equal(rd8(0x2024), 1);
    assert_int_equal(rd8(0x201F), 2);
    assert_int_equal(rd8(0x2023), 3);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(3));
    assert_int_equal(bx(), 0);

    dbg_write_dr(c, 6, 0);
    expect_db(second);
    assert_int_equal(rd16(0x201F), 0x0505);
    assert_int_equal(bx(), 1);
    assert_int_equal(c->regs[R_ECX] & 0xFFFF, 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(3));
}

/* TF and a data breakpoint hit by the same instruction: one #DB reporting both. */
static void test_single_step_merges_with_data_bp(void **state)
{
    (void)state;
    struct prog p = {0};
    EMIT(&p, 0xC6, 0x06, 0x00, 0x20, 0x01); /* MOV BYTE [2000h],1 */
    const uint32_t after = here(&p);
    EMIT(&p, 0x43, 0xF4);
    load(&p);
    dbg_write_dr(c, 1, 0x2000);
    dbg_write_dr(c, 7, L(1) | RW(1, 1));
    c->eflags |= FL_TF;

    expect_db(after);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_BS | DR6_B(1));
    assert_int_equal(c->dbg_pending, 0);
    assert_int_equal(c->icount, 1); /* one #DB, right after the store */

    expect_db(after + 1); /* the next step reports BS; B1 stays until software clears it */
    assert_int_equal(bx(), 1);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_BS | DR6_B(1));
}

/* A data breakpoint hit by MOV SS is held, like single-step, until the instruction after it
 * (the one that loads SP) has completed. */
static void test_mov_ss_defers_data_trap(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 0, 0x2030);
    set_dr(&p, 7, L(0) | RW(0, 3) | LEN(0, 1)); /* read/write, 2 bytes */
    EMIT(&p, 0x8E, 0x16, 0x30, 0x20); /* MOV SS,[2030h] */
    EMIT(&p, 0xBC, 0x00, 0x90);       /* MOV SP,9000h */
    const uint32_t after = here(&p);
    EMIT(&p, 0x43, 0xF4);
    load(&p);
    wr16(0x2030, 0x0000);

    expect_db(after);
    assert_int_equal(c->regs[R_ESP] & 0xFFFF, 0x9000);
    assert_int_equal(bx(), 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
}

/* The instruction faults after its read hit the breakpoint: it did not complete, so there is
 * no trap and no DR6 bit (it reports again when it is restarted). */
static void test_hit_by_faulting_instruction_is_void(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 0, 0x2010);
    set_dr(&p, 7, L(0) | RW(0, 3));
    const uint32_t push = here(&p);
    EMIT(&p, 0xFF, 0x36, 0x10, 0x20); /* PUSH WORD [2010h] with SP = 1: #SS */
    EMIT(&p, 0xF4);
    load(&p);
    c->regs[R_ESP] = 1;
    c->stop_on_exception = 1u << EXC_DB | 1u << EXC_SS;

    enum cpu_exit why = cpu_run(c, 100);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, EXC_SS);
    assert_int_equal(c->eip, push);
    assert_int_equal(c->dbg_pending, 0);
    assert_int_equal(c->dr[6], DR6_INIT);

    c->regs[R_ESP] = STACK; /* fixed: the restart reads again and traps */
    expect_db(push + 4);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
}

/* ---------------------------------------------------------------- I/O breakpoints */

static void test_io_bp_needs_cr4_de(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 0, 0x80);
    set_dr(&p, 7, L(0) | RW(0, 2));
    EMIT(&p, 0xE6, 0x80);             /* OUT 80h,AL: R/W = 10 is undefined without DE */
    EMIT(&p, 0x66, 0xB8, 0x08, 0x00, 0x00, 0x00, /* MOV EAX,CR4.DE */
         0x0F, 0x22, 0xE0);           /* MOV CR4,EAX */
    EMIT(&p, 0xBA, 0x7F, 0x00);       /* MOV DX,7Fh */
    EMIT(&p, 0xEF);                   /* OUT DX,AX: ports 7Fh-80h */
    const uint32_t after_out = here(&p);
    EMIT(&p, 0x43);                   /* INC BX */
    EMIT(&p, 0xE4, 0x81);             /* IN AL,81h: the next port */
    EMIT(&p, 0xE4, 0x80);             /* IN AL,80h */
    const uint32_t after_in = here(&p);
    EMIT(&p, 0xF4);
    load(&p);

    expect_db(after_out);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
    assert_int_equal(bx(), 0);

    dbg_write_dr(c, 6, 0);
    expect_db(after_in);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_B(0));
    assert_int_equal(bx(), 1);
    assert_int_equal(c->regs[R_EAX] & 0xFF, 0xFF); /* floating bus: the read happened */
}

/* ---------------------------------------------------------------- general detect */

/* With DR7.GD set, MOV from a debug register is a #DB fault with DR6.BD; entering the handler
 * clears GD so that the handler itself can read DR6 and DR7. */
static void test_general_detect(void **state)
{
    (void)state;
    struct prog p = {0};
    set_dr(&p, 7, DR7_GD);
    const uint32_t mov = here(&p);
    EMIT(&p, 0x0F, 0x21, 0xC1); /* MOV ECX,DR0 */
    EMIT(&p, 0xF4);
    load(&p);
    c->regs[R_ECX] = 0x1234;

    expect_db(mov);
    assert_false(c->exc_trap);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_BD);
    assert_int_equal(c->regs[R_ECX], 0x1234);

    /* Now through the IVT: handler at 0000:0300 reads DR6 and DR7. */
    load(&p);
    c->regs[R_ECX] = 0x1234;
    c->stop_on_exception = 0;
    wr16(1 * 4, 0x0300);
    wr16(1 * 4 + 2, 0x0000);
    static const uint8_t handler[] = {
        0x0F, 0x21, 0xF0, /* MOV EAX,DR6 */
        0x0F, 0x21, 0xFA, /* MOV EDX,DR7 */
        0xF4,
    };
    memcpy(vm->mem.ram + 0x300, handler, sizeof(handler));
    expect_hlt(0x307);
    assert_int_equal(c->regs[R_EAX], DR6_INIT | DR6_BD);
    assert_int_equal(c->regs[R_EDX], DR7_FIXED1); /* GD cleared */
    assert_int_equal(c->regs[R_ECX], 0x1234);
    assert_int_equal(rd16(STACK - 6), mov); /* IP of the faulting MOV */
    assert_int_equal(rd16(STACK - 4), 0);

    /* MOV to a debug register faults the same way and writes nothing. */
    struct prog q = {0};
    const uint32_t mov_to = here(&q);
    EMIT(&q, 0x0F, 0x23, 0xC8); /* MOV DR1,EAX */
    EMIT(&q, 0xF4);
    load(&q);
    dbg_write_dr(c, 7, DR7_GD);
    c->regs[R_EAX] = 0x5555;
    expect_db(mov_to);
    assert_int_equal(c->dr[1], 0);
    assert_int_equal(c->dr[6], DR6_INIT | DR6_BD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insn_bp_faults_before_execution),
        cmocka_unit_test(test_insn_bp_on_cached_instruction),
        cmocka_unit_test(test_rf_suppresses_one_instruction),
        cmocka_unit_test(test_data_write_bp_traps_after_store),
        cmocka_unit_test(test_data_bp_inside_rep_stosb),
        cmocka_unit_test(test_rep_resumes_past_its_own_insn_bp),
        cmocka_unit_test(test_read_write_bp_on_read),
        cmocka_unit_test(test_len4_overlap),
        cmocka_unit_test(test_single_step_merges_with_data_bp),
        cmocka_unit_test(test_mov_ss_defers_data_trap),
        cmocka_unit_test(test_hit_by_faulting_instruction_is_void),
        cmocka_unit_test(test_io_bp_needs_cr4_de),
        cmocka_unit_test(test_general_detect),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
