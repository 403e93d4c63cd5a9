/* The interpreter's decoded-instruction cache (cpu/icache.c) and self-modifying code, run
 * through cpu_run() (DESIGN decision 5: a write to code must be seen by the next fetch of the
 * changed bytes, whoever writes them and through whichever address).
 *
 * Guest programs are hand-encoded here; each one stores what it observed into a data page
 * that is not the code page, so the check cannot be satisfied by an accidental write to the
 * code page. Also: a #PF on an instruction fetch that crosses into a not-present page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/icache.h"
#include "cpu/mem.h"
#include "mmu/paging.h"
#include "tests/support/testvm.h"

#define RAM (4u << 20)

static int setup(void **state)
{
    struct testvm *vm = testvm_new(RAM);
    if (!vm)
        return -1;
    *state = vm;
    return 0;
}

static int teardown(void **state)
{
    testvm_free(*state);
    return 0;
}

static void load(struct testvm *vm, uint32_t phys, const uint8_t *code, size_t len)
{
    assert_true(memmap_copy_to(&vm->mem, phys, code, len));
}

static uint32_t rd(struct testvm *vm, uint32_t phys, unsigned size)
{
    return memmap_read(&vm->mem, phys, size);
}

/* Run to HLT; any exception stops the run and fails the test with where it happened. */
static void run_to_hlt(struct testvm *vm, uint64_t budget)
{
    struct cpu *c = &vm->cpu;
    c->stop_on_exception = 0xFFFFFFFFu;
    c->exit_on_hlt = true;
    enum cpu_exit why = cpu_run(c, budget);
    if (why == CPU_EXIT_EXCEPTION)
        fail_msg("exception %d (error %x) at %04x:%08x", c->exc_vector, c->exc_error,
                 c->seg[SR_CS].sel, c->eip);
    if (why != CPU_EXIT_HLT)
        fail_msg("cpu_run returned %d at eip %08x after %llu instructions, expected HLT", why,
                 c->eip, (unsigned long long)c->icount);
}

/* Ring-0 flat 32-bit protected mode, optionally with paging through `cr3`. */
static void flat32_ring0(struct testvm *vm, bool paging, uint32_t cr3)
{
    struct cpu *c = &vm->cpu;
    cpu_reset(c);
    c->cr0 = CR0_PE | CR0_ET | (paging ? CR0_PG : 0);
    c->cr3 = cr3;
    const uint32_t common = SEG_P | SEG_S | SEG_DB | SEG_G;
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x10, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_CS, 0x08, 0, 0xFFFFFFFFu, common | (0xBu << 8));
    cpu_update_mode(c);
    c->eflags = FL_FIXED1;
    cpu_flush_tlb(c, false);
    assert_true(c->code32);
    assert_int_equal(c->cpl, 0);
}

/* ---- Real mode: a store overwrites an instruction that already ran ---- */

static void store_changes_executed_immediate(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* T runs, records BX at [SI], patches its own immediate and the jump J1, runs again. */
    static const uint8_t prog[] = {
        0xBB, 0x11, 0x11,                   /* 0000 T:  mov bx, 0x1111       */
        0x89, 0x1C,                         /* 0003     mov [si], bx         */
        0x46, 0x46,                         /* 0005     inc si; inc si       */
        0xEB, 0x00,                         /* 0007 J1: jmp short 0009       */
        0xC7, 0x06, 0x01, 0x00, 0x22, 0x22, /* 0009     mov word [0001], 0x2222 */
        0xC6, 0x06, 0x08, 0x00, 0x0D,       /* 000F     mov byte [0008], 0x0D (J1 -> 0016) */
        0xEB, 0xEA,                         /* 0014     jmp short 0000       */
        0xF4,                               /* 0016     hlt                  */
    };
    testvm_real_mode(vm);
    load(vm, 0x0000, prog, sizeof(prog));
    c->regs[R_ESI] = 0x2000; /* data page, away from the code page */
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x2000, 2), 0x1111); /* first pass */
    assert_int_equal(rd(vm, 0x2002, 2), 0x2222); /* second pass saw the new immediate */
    assert_int_equal(c->regs[R_ESI] & 0xFFFF, 0x2004); /* and the patched jump: two passes */
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x2222);
    assert_int_equal(c->eip, 0x17);
    /* Both instructions were decoded twice, not served stale. */
    assert_true(c->icache->misses >= 2);
}

static void store_changes_next_instruction(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    static const uint8_t prog[] = {
        0xC7, 0x06, 0x07, 0x00, 0x44, 0x44, /* 0000 mov word [0007], 0x4444 */
        0xBB, 0x11, 0x11,                   /* 0006 mov bx, 0x1111        */
        0x89, 0x1E, 0x00, 0x20,             /* 0009 mov [0x2000], bx      */
        0xF4,                               /* 000D hlt                   */
    };
    testvm_real_mode(vm);
    load(vm, 0x0000, prog, sizeof(prog));
    /* First run the tail alone, so the instruction at 0006 is in the cache. */
    c->eip = 6;
    run_to_hlt(vm, 10);
    assert_int_equal(rd(vm, 0x2000, 2), 0x1111);
    /* Again: a second run of unchanged code is served from the cache. */
    uint64_t misses = c->icache->misses;
    c->halted = false;
    c->eip = 6;
    run_to_hlt(vm, 10);
    assert_int_equal(c->icache->misses, misses); /* nothing re-decoded */
    /* Now from the start: the store changes the very next instruction. */
    c->halted = false;
    c->eip = 0;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x4444);
    assert_int_equal(rd(vm, 0x2000, 2), 0x4444);
}

static void instruction_modifies_itself(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* ADD adds its own immediate to its own immediate byte, three times: 1, 2, 4, 8. With a
     * stale decode it would add 1 each time (1, 2, 3, 4). */
    static const uint8_t prog[] = {
        0xB9, 0x03, 0x00,             /* 0000 mov cx, 3             */
        0x80, 0x06, 0x07, 0x00, 0x01, /* 0003 add byte [0007], 1    */
        0xE2, 0xF9,                   /* 0008 loop 0003             */
        0xF4,                         /* 000A hlt                   */
    };
    testvm_real_mode(vm);
    load(vm, 0x0000, prog, sizeof(prog));
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x0007, 1), 8);
    assert_int_equal(c->regs[R_ECX] & 0xFFFF, 0);
}

static void rep_movs_overwrites_cached_code(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* The string instructions' bulk path writes through host pointers: it must not bypass
     * the code-page watch. T lives alone on page 0x1000, and REP MOVSB is the only thing that
     * ever writes that page: it copies a new T over the old one between the two passes. */
    static const uint8_t main_code[] = {
        0xE9, 0xFD, 0x0F,       /* 0000     jmp 1000              */
        0x42,                   /* 0003     inc dx                */
        0x83, 0xFA, 0x02,       /* 0004     cmp dx, 2             */
        0x74, 0x0D,             /* 0007     je 0016               */
        0xBE, 0x00, 0x21,       /* 0009     mov si, 0x2100        */
        0xBF, 0x00, 0x10,       /* 000C     mov di, 0x1000        */
        0xB9, 0x03, 0x00,       /* 000F     mov cx, 3             */
        0xF3, 0xA4,             /* 0012     rep movsb             */
        0xEB, 0xEA,             /* 0014     jmp 0000              */
        0xF4,                   /* 0016     hlt                   */
    };
    static const uint8_t t_code[] = {
        0xBB, 0x11, 0x11,       /* 1000 T:  mov bx, 0x1111        */
        0x89, 0x5E, 0x00,       /* 1003     mov [bp+0], bx        */
        0x45, 0x45,             /* 1006     inc bp; inc bp        */
        0xE9, 0xF8, 0xEF,       /* 1008     jmp 0003              */
    };
    static const uint8_t new_t[] = {0xBB, 0x22, 0x22};
    testvm_real_mode(vm);
    load(vm, 0x0000, main_code, sizeof(main_code));
    load(vm, 0x1000, t_code, sizeof(t_code));
    load(vm, 0x2100, new_t, sizeof(new_t));
    c->regs[R_EBP] = 0x2000;
    c->regs[R_EDX] = 0;
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x2000, 2), 0x1111);
    assert_int_equal(rd(vm, 0x2002, 2), 0x2222);
    assert_int_equal(c->regs[R_EBP] & 0xFFFF, 0x2004);
    assert_int_equal(rd(vm, 0x1001, 2), 0x2222);
}

static void write_through_a20_alias(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* With A20 masked, FFFF:0111 (linear 0x100101) is physical 0x000101: the same bytes as
     * 0000:0101 through a different linear address and segment. */
    static const uint8_t prog[] = {
        0xBB, 0x11, 0x11,                         /* 0100 T:  mov bx, 0x1111          */
        0x89, 0x1C,                               /* 0103     mov [si], bx            */
        0x46, 0x46,                               /* 0105     inc si; inc si          */
        0xEB, 0x00,                               /* 0107 J1: jmp short 0109          */
        0xB8, 0xFF, 0xFF,                         /* 0109     mov ax, 0xFFFF          */
        0x8E, 0xC0,                               /* 010C     mov es, ax              */
        0x26, 0xC7, 0x06, 0x11, 0x01, 0x22, 0x22, /* 010E     mov word [es:0111], 0x2222 */
        0x26, 0xC6, 0x06, 0x18, 0x01, 0x14,       /* 0115     mov byte [es:0118], 0x14 */
        0xEB, 0xE3,                               /* 011B     jmp short 0100          */
        0xF4,                                     /* 011D     hlt                     */
    };
    testvm_real_mode(vm);
    c->a20_mask = 0xFFEFFFFFu;
    load(vm, 0x0100, prog, sizeof(prog));
    c->eip = 0x100;
    c->regs[R_ESI] = 0x2000;
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x2000, 2), 0x1111);
    assert_int_equal(rd(vm, 0x2002, 2), 0x2222);
    assert_int_equal(c->regs[R_ESI] & 0xFFFF, 0x2004);
    assert_int_equal(rd(vm, 0x0101, 2), 0x2222);
    assert_int_equal(rd(vm, 0x100101, 2), 0); /* the alias really wrapped */
}

/* ---- Paging: two linear pages map the same physical page ---- */

#define PD 0x10000u
#define PT0 0x11000u
#define PT1 0x12000u
#define CODE_PHYS 0x5000u
#define V1 0x00401000u /* where the code runs */
#define V2 0x00402000u /* its alias */

static void build_alias_tables(struct testvm *vm)
{
    struct memmap *m = &vm->mem;
    /* 0..4 MiB identity mapped, 4..8 MiB: V1 and V2 -> CODE_PHYS, nothing else. */
    memmap_write(m, PD + 0, PT0 | PTE_P | PTE_W | PTE_U, 4);
    memmap_write(m, PD + 4, PT1 | PTE_P | PTE_W | PTE_U, 4);
    for (uint32_t i = 0; i < 1024; i++) {
        memmap_write(m, PT0 + 4 * i, (i << 12) | PTE_P | PTE_W | PTE_U, 4);
        memmap_write(m, PT1 + 4 * i, 0, 4);
    }
    memmap_write(m, PT1 + 4 * 1, CODE_PHYS | PTE_P | PTE_W | PTE_U, 4);
    memmap_write(m, PT1 + 4 * 2, CODE_PHYS | PTE_P | PTE_W | PTE_U, 4);
}

static void write_through_paging_alias(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    static const uint8_t prog[] = {
        0xBB, 0x11, 0x11, 0x11, 0x11, /* +00 T:  mov ebx, 0x11111111      */
        0x89, 0x1E,                   /* +05     mov [esi], ebx           */
        0x46, 0x46, 0x46, 0x46,       /* +07     inc esi x4               */
        0xEB, 0x00,                   /* +0B J1: jmp short +0D            */
        0xC7, 0x05, 0x01, 0x20, 0x40, 0x00, 0x22, 0x22, 0x22, 0x22,
                                      /* +0D mov dword [V2+01], 0x22222222 */
        0xC6, 0x05, 0x0C, 0x20, 0x40, 0x00, 0x13,
                                      /* +17 mov byte [V2+0C], 0x13 (J1 -> +20) */
        0xEB, 0xE0,                   /* +1E     jmp short +00            */
        0xF4,                         /* +20     hlt                      */
    };
    build_alias_tables(vm);
    load(vm, CODE_PHYS, prog, sizeof(prog));
    flat32_ring0(vm, true, PD);
    c->eip = V1;
    c->regs[R_ESI] = 0x3000;
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x3000, 4), 0x11111111u);
    assert_int_equal(rd(vm, 0x3004, 4), 0x22222222u);
    assert_int_equal(c->regs[R_ESI], 0x3008);
    assert_int_equal(c->eip, V1 + 0x21);
    assert_int_equal(rd(vm, CODE_PHYS + 1, 4), 0x22222222u);
}

static void alias_written_before_code_runs(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* The code page already has a fast write mapping through V2 (the loader wrote the program
     * through it before any code ran there). Running code at V1 must revoke that mapping:
     * the patch through V2 must still reach the decoded-instruction cache, or the program
     * loops until the budget runs out. */
    static const uint8_t prog[] = {
        0xBB, 0x01, 0x00, 0x00, 0x00,       /* +00 T: mov ebx, 1                    */
        0x89, 0x1E,                         /* +05    mov [esi], ebx                */
        0x83, 0xC6, 0x04,                   /* +07    add esi, 4                    */
        0x83, 0xFB, 0x02,                   /* +0A    cmp ebx, 2                    */
        0x74, 0x0D,                         /* +0D    je +1C                        */
        0xC6, 0x05, 0x01, 0x20, 0x40, 0x00, 0x02, /* +0F mov byte [V2+01], 2        */
        0xE9, 0xE5, 0xFF, 0xFF, 0xFF,       /* +16    jmp +00                       */
        0x90,                               /* +1B                                  */
        0xF4,                               /* +1C    hlt                           */
    };
    build_alias_tables(vm);
    flat32_ring0(vm, true, PD);
    for (size_t k = 0; k < sizeof(prog); k++)
        lin_write_priv(c, V2 + (uint32_t)k, prog[k], 1, PRIV_SUPER);
    const struct tlb_entry *e = &c->tlb.e[PRIV_SUPER][tlb_index(V2)];
    assert_int_equal(e->tag[TLB_WRITE], V2); /* fast write mapping present */
    c->eip = V1;
    c->regs[R_ESI] = 0x3000;
    run_to_hlt(vm, 200);
    assert_int_equal(rd(vm, 0x3000, 4), 1);
    assert_int_equal(rd(vm, 0x3004, 4), 2);
    assert_int_equal(c->regs[R_ESI], 0x3008);
    assert_int_equal(c->eip, V1 + 0x1D);
}

/* ---- DMA: a device writes guest RAM through the memory map ---- */

static void dma_write_invalidates(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    static const uint8_t prog[] = {
        0xBB, 0x11, 0x11, /* 0000 mov bx, 0x1111 */
        0xF4,             /* 0003 hlt            */
    };
    testvm_real_mode(vm);
    load(vm, 0x0000, prog, sizeof(prog));
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x1111);
    /* The same code again comes from the cache. */
    uint64_t misses = c->icache->misses;
    c->halted = false;
    c->eip = 0;
    c->regs[R_EBX] = 0;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x1111);
    assert_int_equal(c->icache->misses, misses);
    /* DMA changes the immediate. */
    static const uint8_t patch[] = {0x34, 0x12};
    assert_true(memmap_copy_to(&vm->mem, 0x0001, patch, sizeof(patch)));
    c->halted = false;
    c->eip = 0;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x1234);
    /* And a single-value device write (memmap_write) works the same way. */
    memmap_write(&vm->mem, 0x0002, 0x56, 1);
    c->halted = false;
    c->eip = 0;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX] & 0xFFFF, 0x5634);
}

/* Run the code at V1 to its HLT after a CR3-style flush (remapping PTEs in between). */
static void rerun_v1(struct testvm *vm)
{
    cpu_flush_tlb(&vm->cpu, true);
    vm->cpu.halted = false;
    vm->cpu.eip = V1;
    run_to_hlt(vm, 10);
}

static void tlb_flush_refetches(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* A CR3-style flush that leaves the code page where it was (a process switch to a
     * process sharing it) keeps the decoded block; remapping the code page (new PTE, then the
     * flush) must run the new page's bytes, not the instructions decoded from the old one,
     * and mapping the old page back finds the old bytes again. */
    static const uint8_t prog_a[] = {0xBB, 0xAA, 0xAA, 0x00, 0x00, 0xF4}; /* mov ebx, 0xAAAA; hlt */
    static const uint8_t prog_b[] = {0xBB, 0xBB, 0xBB, 0x00, 0x00, 0xF4}; /* mov ebx, 0xBBBB; hlt */
    build_alias_tables(vm);
    load(vm, CODE_PHYS, prog_a, sizeof(prog_a));
    load(vm, 0x6000, prog_b, sizeof(prog_b));
    flat32_ring0(vm, true, PD);
    c->eip = V1;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EBX], 0xAAAA);
    const uint64_t formed = c->icache->misses;
    rerun_v1(vm);
    assert_int_equal(c->regs[R_EBX], 0xAAAA);
    assert_int_equal(c->icache->misses, formed); /* not decoded again */

    memmap_write(&vm->mem, PT1 + 4 * 1, 0x6000 | PTE_P | PTE_W | PTE_U, 4);
    rerun_v1(vm);
    assert_int_equal(c->regs[R_EBX], 0xBBBB);
    assert_true(c->icache->misses > formed);

    memmap_write(&vm->mem, PT1 + 4 * 1, CODE_PHYS | PTE_P | PTE_W | PTE_U, 4);
    rerun_v1(vm);
    assert_int_equal(c->regs[R_EBX], 0xAAAA);
}

static void guest_invlpg_refetches(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* The guest itself remaps V1 (PTE write + INVLPG) between two calls of the code there:
     * the second call must run the new page's code. */
    static const uint8_t driver[] = {
        0xE8, 0xFB, 0x9F, 0x3F, 0x00,             /* 7000 call V1              */
        0x89, 0x1D, 0x00, 0x30, 0x00, 0x00,       /* 7005 mov [0x3000], ebx    */
        0xC7, 0x05, 0x04, 0x20, 0x01, 0x00, 0x07, 0x60, 0x00, 0x00,
                                                  /* 700B mov dword [PT1+4], 0x6007 */
        0x0F, 0x01, 0x3D, 0x00, 0x10, 0x40, 0x00, /* 7015 invlpg [V1]          */
        0xE8, 0xDF, 0x9F, 0x3F, 0x00,             /* 701C call V1              */
        0x89, 0x1D, 0x04, 0x30, 0x00, 0x00,       /* 7021 mov [0x3004], ebx    */
        0xF4,                                     /* 7027 hlt                  */
    };
    static const uint8_t page_a[] = {0xBB, 0xAA, 0xAA, 0x00, 0x00, 0xC3}; /* mov ebx, 0xAAAA; ret */
    static const uint8_t page_b[] = {0xBB, 0xBB, 0xBB, 0x00, 0x00, 0xC3}; /* mov ebx, 0xBBBB; ret */
    build_alias_tables(vm);
    load(vm, 0x7000, driver, sizeof(driver));
    load(vm, CODE_PHYS, page_a, sizeof(page_a));
    load(vm, 0x6000, page_b, sizeof(page_b));
    flat32_ring0(vm, true, PD);
    c->eip = 0x7000;
    c->regs[R_ESP] = 0x9000;
    run_to_hlt(vm, 100);
    assert_int_equal(rd(vm, 0x3000, 4), 0xAAAA);
    assert_int_equal(rd(vm, 0x3004, 4), 0xBBBB);
    assert_int_equal(c->regs[R_ESP], 0x9000);
}

/* ---- #PF on an instruction fetch at a page boundary ---- */

static void build_fault_tables(struct testvm *vm, bool user)
{
    struct memmap *m = &vm->mem;
    uint32_t u = user ? PTE_U : 0;
    memmap_write(m, PD, PT0 | PTE_P | PTE_W | u, 4);
    for (uint32_t i = 0; i < 1024; i++)
        memmap_write(m, PT0 + 4 * i, (i << 12) | PTE_P | PTE_W | u, 4);
    memmap_write(m, PT0 + 4 * 0x21, 0, 4); /* page 0x21000 not present */
}

static void expect_fetch_pf(struct testvm *vm, uint32_t eip, uint32_t cr2, uint32_t err)
{
    struct cpu *c = &vm->cpu;
    c->stop_on_exception = 1u << EXC_PF;
    c->exit_on_hlt = true;
    enum cpu_exit why = cpu_run(c, 10);
    assert_int_equal(why, CPU_EXIT_EXCEPTION);
    assert_int_equal(c->exc_vector, EXC_PF);
    assert_int_equal(c->cr2, cr2);
    assert_true(c->exc_has_error);
    assert_int_equal(c->exc_error, err);
    assert_int_equal(c->eip, eip); /* the faulting instruction's start */
}

static void fetch_fault_crossing_into_missing_page(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    build_fault_tables(vm, false);
    /* mov eax, 0x12345678 at 0x20FFE: B8 78 | 56 34 12 (second part on the missing page). */
    static const uint8_t insn[] = {0xB8, 0x78};
    load(vm, 0x20FFE, insn, sizeof(insn));
    flat32_ring0(vm, true, PD);
    c->eip = 0x20FFE;
    c->regs[R_EAX] = 0xA5A5A5A5u;
    expect_fetch_pf(vm, 0x20FFE, 0x21000, 0); /* supervisor, read, not present */
    assert_int_equal(c->regs[R_EAX], 0xA5A5A5A5u);
    assert_int_equal(c->icount, 0);
}

static void fetch_fault_crossing_user(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    build_fault_tables(vm, true);
    /* A ModRM instruction split after its opcode: 8B | 05 disp32 (mov eax, [disp32]). */
    static const uint8_t insn[] = {0x8B};
    load(vm, 0x20FFF, insn, sizeof(insn));
    testvm_flat32_user(vm);
    c->cr0 |= CR0_PG;
    c->cr3 = PD;
    cpu_flush_tlb(c, false);
    assert_int_equal(c->cpl, 3);
    c->eip = 0x20FFF;
    expect_fetch_pf(vm, 0x20FFF, 0x21000, PFEC_U);
}

static void instruction_ending_at_page_end_does_not_touch_next(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    build_fault_tables(vm, false);
    /* mov eax, 0x12345678 occupying 0x20FFB..0x20FFF exactly: it runs; the fault comes from
     * the fetch of the next instruction, at 0x21000. */
    static const uint8_t insn[] = {0xB8, 0x78, 0x56, 0x34, 0x12};
    load(vm, 0x20FFB, insn, sizeof(insn));
    flat32_ring0(vm, true, PD);
    c->eip = 0x20FFB;
    expect_fetch_pf(vm, 0x21000, 0x21000, 0);
    assert_int_equal(c->regs[R_EAX], 0x12345678u);
    assert_int_equal(c->icount, 1);
}

static void fetch_fault_after_cached_run(void **state)
{
    struct testvm *vm = *state;
    struct cpu *c = &vm->cpu;
    /* The crossing instruction runs once with both pages present; then the second page is
     * unmapped (PTE cleared + flush). The next run must fault, not replay the cached decode. */
    struct memmap *m = &vm->mem;
    build_fault_tables(vm, false);
    memmap_write(m, PT0 + 4 * 0x21, 0x21000 | PTE_P | PTE_W, 4);
    static const uint8_t insn[] = {0xB8, 0x78, 0x56, 0x34, 0x12, 0xF4};
    load(vm, 0x20FFE, insn, sizeof(insn));
    flat32_ring0(vm, true, PD);
    c->eip = 0x20FFE;
    run_to_hlt(vm, 10);
    assert_int_equal(c->regs[R_EAX], 0x12345678u);
    memmap_write(m, PT0 + 4 * 0x21, 0, 4);
    cpu_flush_tlb(c, false);
    c->halted = false;
    c->eip = 0x20FFE;
    c->regs[R_EAX] = 0;
    expect_fetch_pf(vm, 0x20FFE, 0x21000, 0);
    assert_int_equal(c->regs[R_EAX], 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(store_changes_executed_immediate),
        T(store_changes_next_instruction),
        T(instruction_modifies_itself),
        T(rep_movs_overwrites_cached_code),
        T(write_through_a20_alias),
        T(write_through_paging_alias),
        T(alias_written_before_code_runs),
        T(dma_write_invalidates),
        T(tlb_flush_refetches),
        T(guest_invlpg_refetches),
        T(fetch_fault_crossing_into_missing_page),
        T(fetch_fault_crossing_user),
        T(instruction_ending_at_page_end_does_not_touch_next),
        T(fetch_fault_after_cached_run),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
