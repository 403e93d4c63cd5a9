/* Unit tests of the hardware task switch (cpu/task.c) against the Intel SDM vol. 3 ch. 7:
 * table 7-2 (busy bits, NT, back-link, CR0.TS by JMP/CALL/INT/IRET), the new-TSS checks and
 * their error codes, the 32- and 16-bit TSS layouts, CR3 and the TLB, the error code pushed
 * for an exception through a task gate, faults after the commit point (new task's context),
 * and hostile TSS placement. The GDT and TSSs are built in guest RAM by hand; expected values
 * come from the SDM, never from running our own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/mem.h"
#include "cpu/task.h"
#include "mmu/paging.h"
#include "tests/support/testvm.h"

#define RAM_SIZE (4u << 20)
#define GDT 0x1000u
#define TSS_A 0x2000u  /* the running task (32-bit) */
#define TSS_B 0x3000u  /* 32-bit target */
#define TSS_C 0x4000u  /* 16-bit target */
#define LDT_BASE 0x5000u

/* GDT selectors */
#define SEL_CODE0 0x08
#define SEL_DATA0 0x10
#define SEL_TSS_A 0x18
#define SEL_TSS_B 0x20
#define SEL_TSS_C 0x28
#define SEL_CODE3 0x33 /* RPL 3 */
#define SEL_DATA3 0x3B
#define SEL_DATA16 0x40
#define SEL_LDT 0x48
#define SEL_NP_DATA 0x50
#define GDT_ENTRIES 11
/* In the LDT: entry 1, TI set, RPL 3, DPL 3 data at 0x100000 */
#define SEL_LDT_DATA3 0x0F

/* State of task A when it switches away. */
#define A_EIP 0x1234u
#define A_EFLAGS 0x00000247u /* IF, ZF, PF, CF, bit 1 */
static const uint32_t a_regs[8] = {0xA0000000, 0xA1111111, 0xA2222222, 0xA3333333,
                                   0x00007000, 0xA5555555, 0xA6666666, 0xA7777777};

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

/* access: the descriptor's byte 5 (P, DPL, S, type); flags: the G/DB nibble. */
static void set_desc(uint32_t table, unsigned idx, uint32_t base, uint32_t limit, uint32_t access,
                     uint32_t flags)
{
    uint32_t lo = (limit & 0xFFFF) | (base & 0xFFFF) << 16;
    uint32_t hi = ((base >> 16) & 0xFF) | access << 8 | (limit & 0xF0000) | flags << 20 |
                  (base & 0xFF000000u);
    wr32(table + 8 * idx, lo);
    wr32(table + 8 * idx + 4, hi);
}

static uint32_t desc_hi_of(uint16_t sel) { return rd32(GDT + (sel & 0xFFF8u) + 4); }
static uint64_t gdt_desc(uint16_t sel)
{
    return (uint64_t)desc_hi_of(sel) << 32 | rd32(GDT + (sel & 0xFFF8u));
}
/* Byte 5 of a GDT descriptor: P DPL S type. */
static unsigned access_of(uint16_t sel) { return (desc_hi_of(sel) >> 8) & 0xFF; }

/* Segment cache from the GDT, as a far transfer would load it. */
static void load_cache(int sreg, uint16_t sel)
{
    uint64_t d = gdt_desc(sel);
    uint32_t hi = (uint32_t)(d >> 32);
    uint32_t base = (uint32_t)(d >> 16 & 0xFFFF) | (hi & 0xFF) << 16 | (hi & 0xFF000000u);
    uint32_t limit = ((uint32_t)d & 0xFFFF) | (hi & 0xF0000);
    if (hi & SEG_G)
        limit = limit << 12 | 0xFFF;
    cpu_set_seg_cache(c, sreg, sel, base, limit, hi | 0x100);
}

struct tss32 {
    uint32_t cr3, eip, eflags, regs[8];
    uint16_t sreg[SR_COUNT]; /* ES CS SS DS FS GS */
    uint16_t ldt, link;
    bool trap;
};

static void put_tss32(uint32_t b, const struct tss32 *t)
{
    memset(vm->mem.ram + b, 0, 0x68);
    wr16(b + 0x00, t->link);
    wr32(b + 0x1C, t->cr3);
    wr32(b + 0x20, t->eip);
    wr32(b + 0x24, t->eflags);
    for (int r = 0; r < 8; r++)
        wr32(b + 0x28 + 4 * r, t->regs[r]);
    for (int s = 0; s < SR_COUNT; s++)
        wr16(b + 0x48 + 4 * s, t->sreg[s]);
    wr16(b + 0x60, t->ldt);
    wr16(b + 0x64, t->trap ? 1 : 0);
    wr16(b + 0x66, 0x68);
}

/* Task B: ring 0, flat segments, its own register values, stack at 0x9000. */
static const struct tss32 task_b = {
    .cr3 = 0x00ABC000u,
    .eip = 0x5678u,
    .eflags = 0x00000082u, /* SF, bit 1 */
    .regs = {0xB0000000, 0xB1111111, 0xB2222222, 0xB3333333, 0x00009000, 0xB5555555,
             0xB6666666, 0xB7777777},
    .sreg = {SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, SEL_DATA0, SEL_DATA0},
    .ldt = 0,
    .link = 0x7777, /* must survive a JMP and an IRET */
};

/* Task C (16-bit TSS): 16-bit stack segment so SP, not ESP, is used for the error code. */
static void put_tss_c(void)
{
    uint32_t b = TSS_C;
    memset(vm->mem.ram + b, 0, 0x2C);
    wr16(b + 0x0E, 0x4321);      /* IP */
    wr16(b + 0x10, 0x0003 | 1);  /* FLAGS: CF, bit 1 */
    static const uint16_t r16[8] = {0xC000, 0xC111, 0xC222, 0xC333, 0x9000, 0xC555, 0xC666,
                                    0xC777};
    for (int r = 0; r < 8; r++)
        wr16(b + 0x12 + 2 * r, r16[r]);
    wr16(b + 0x22, SEL_DATA0);   /* ES */
    wr16(b + 0x24, SEL_CODE0);   /* CS */
    wr16(b + 0x26, SEL_DATA16);  /* SS */
    wr16(b + 0x28, SEL_DATA0);   /* DS */
    wr16(b + 0x2A, 0);           /* LDT */
}

/* Protected mode at CPL 0 running task A (TR = 0x18, busy), everything else as in the SDM's
 * figures: GDT at 0x1000, flat ring-0 segments. */
static void boot(void)
{
    cpu_reset(c);
    memset(vm->mem.ram, 0, 0x20000);
    set_desc(GDT, 1, 0, 0xFFFFF, 0x9A, 0xC);         /* code, DPL 0, not accessed */
    set_desc(GDT, 2, 0, 0xFFFFF, 0x92, 0xC);         /* data, DPL 0 */
    set_desc(GDT, 3, TSS_A, 0x67, 0x8B, 0);          /* busy 32-bit TSS */
    set_desc(GDT, 4, TSS_B, 0x67, 0x89, 0);          /* available 32-bit TSS */
    set_desc(GDT, 5, TSS_C, 0x2B, 0x81, 0);          /* available 16-bit TSS */
    set_desc(GDT, 6, 0, 0xFFFFF, 0xFA, 0xC);         /* code, DPL 3 */
    set_desc(GDT, 7, 0, 0xFFFFF, 0xF2, 0xC);         /* data, DPL 3 */
    set_desc(GDT, 8, 0, 0xFFFF, 0x92, 0);            /* 16-bit data, DPL 0 */
    set_desc(GDT, 9, LDT_BASE, 0x17, 0x82, 0);       /* LDT */
    set_desc(GDT, 10, 0, 0xFFFFF, 0x12, 0xC);        /* data, not present */
    set_desc(LDT_BASE, 1, 0x100000, 0xFFFF, 0xF2, 0x4); /* data, DPL 3, in the LDT */
    c->gdtr.base = GDT;
    c->gdtr.limit = GDT_ENTRIES * 8 - 1;
    c->cr0 = CR0_PE | CR0_ET;
    load_cache(SR_CS, SEL_CODE0);
    for (int s = 0; s < SR_COUNT; s++)
        if (s != SR_CS)
            load_cache(s, SEL_DATA0);
    cpu_update_mode(c);
    c->tr.sel = SEL_TSS_A;
    c->tr.base = TSS_A;
    c->tr.limit = 0x67;
    c->tr.attr = SEG_P | (0xBu << 8);
    memcpy(c->regs, a_regs, sizeof(a_regs));
    c->eip = A_EIP;
    cpu_set_eflags(c, A_EFLAGS);
    c->insn_eip = A_EIP - 7; /* a far CALL/JMP m16:32 of 7 bytes */
    c->insn_esp = a_regs[R_ESP];
    c->dr[7] = 0x400 | 0x3FF; /* L0-L3, G0-G3, LE, GE */
    put_tss32(TSS_B, &task_b);
    put_tss_c();
}

/* Switch through `sel` (descriptor read from the GDT); returns -1, or the vector raised. */
static int sw(uint16_t sel, enum task_switch_reason why, bool has_err, uint32_t err)
{
    jmp_buf jb;
    c->exc_jmp = &jb;
    c->exc_vector = -1;
    if (setjmp(jb)) {
        c->exc_jmp = NULL;
        return c->exc_vector;
    }
    cpu_task_switch(c, sel, gdt_desc(sel), why, has_err, err);
    c->exc_jmp = NULL;
    return -1;
}

static void assert_regs(const uint32_t *want)
{
    for (int r = 0; r < 8; r++)
        assert_int_equal(c->regs[r], want[r]);
}

/* Task A's state stored in its 32-bit TSS (SDM figure 7-2 offsets). */
static void assert_saved_a(uint32_t eflags)
{
    assert_int_equal(rd32(TSS_A + 0x20), A_EIP);
    assert_int_equal(rd32(TSS_A + 0x24), eflags);
    for (int r = 0; r < 8; r++)
        assert_int_equal(rd32(TSS_A + 0x28 + 4 * r), a_regs[r]);
    assert_int_equal(rd16(TSS_A + 0x48), SEL_DATA0); /* ES */
    assert_int_equal(rd16(TSS_A + 0x4C), SEL_CODE0); /* CS */
    assert_int_equal(rd16(TSS_A + 0x50), SEL_DATA0); /* SS */
    assert_int_equal(rd16(TSS_A + 0x54), SEL_DATA0); /* DS */
    assert_int_equal(rd16(TSS_A + 0x58), SEL_DATA0); /* FS */
    assert_int_equal(rd16(TSS_A + 0x5C), SEL_DATA0); /* GS */
}

/* Nothing of a switch that faulted before the commit point may be visible. */
static void assert_untouched(void)
{
    assert_int_equal(c->tr.sel, SEL_TSS_A);
    assert_int_equal(c->tr.base, TSS_A);
    assert_int_equal(c->eip, A_EIP);
    assert_regs(a_regs);
    assert_int_equal(cpu_get_eflags(c), A_EFLAGS);
    assert_int_equal(c->seg[SR_CS].sel, SEL_CODE0);
    assert_int_equal(c->cr0 & CR0_TS, 0);
    assert_int_equal(access_of(SEL_TSS_A), 0x8B);
    assert_int_equal(rd32(TSS_A + 0x20), 0); /* nothing saved */
    assert_int_equal(rd16(TSS_B), 0x7777);   /* back-link untouched */
}

static void call_sets_nt_backlink_and_busy(void **state)
{
    (void)state;
    boot();
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), -1);
    /* Table 7-2, CALL: new busy set, old busy unchanged (set), new NT set, link = old TR. */
    assert_int_equal(access_of(SEL_TSS_B), 0x8B);
    assert_int_equal(access_of(SEL_TSS_A), 0x8B);
    assert_int_equal(rd16(TSS_B), SEL_TSS_A);
    assert_int_equal(cpu_get_eflags(c), 0x82u | FL_NT);
    assert_true(c->cr0 & CR0_TS);
    /* TR from the descriptor, marked busy. */
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(c->tr.base, TSS_B);
    assert_int_equal(c->tr.limit, 0x67);
    assert_int_equal(SEG_TYPE(c->tr.attr), 0xB);
    /* The new task's registers; CR3 is loaded even with paging off. */
    assert_int_equal(c->eip, 0x5678);
    assert_regs(task_b.regs);
    assert_int_equal(c->cr3, 0x00ABC000u);
    assert_int_equal(c->cpl, 0);
    assert_int_equal(c->seg[SR_CS].sel, SEL_CODE0);
    assert_int_equal(c->seg[SR_CS].limit, 0xFFFFFFFFu);
    assert_true(c->code32);
    assert_true(c->stack32);
    /* The loaded code descriptor got its accessed bit. */
    assert_int_equal(access_of(SEL_CODE0), 0x9B);
    /* Old state saved; NT was clear and a CALL leaves it so. */
    assert_saved_a(A_EFLAGS);
    /* Local breakpoint enables cleared, global ones kept (SDM 17.2.4). */
    assert_int_equal(c->dr[7], 0x400 | 0x2AA);
}

static void iret_returns_and_restores(void **state)
{
    (void)state;
    boot();
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), -1);
    /* Task B runs a little, then IRETs with NT set through its back-link. */
    c->regs[R_EAX] = 0xDEAD0001u;
    c->eip = 0x5700;
    c->cr0 &= ~CR0_TS;
    uint16_t link = rd16(TSS_B);
    assert_int_equal(link, SEL_TSS_A);
    assert_int_equal(sw(link, TS_IRET, false, 0), -1);
    /* Table 7-2, IRET: old (B) busy cleared, new (A) busy unchanged, old NT cleared in its
     * saved image, new NT from A's TSS (it was clear). */
    assert_int_equal(access_of(SEL_TSS_B), 0x89);
    assert_int_equal(access_of(SEL_TSS_A), 0x8B);
    assert_int_equal(rd32(TSS_B + 0x24), 0x82u);
    assert_int_equal(rd32(TSS_B + 0x20), 0x5700u);
    assert_int_equal(rd32(TSS_B + 0x28), 0xDEAD0001u);
    assert_int_equal(rd16(TSS_B), SEL_TSS_A); /* link left as it was */
    assert_int_equal(c->tr.sel, SEL_TSS_A);
    assert_int_equal(c->eip, A_EIP);
    assert_regs(a_regs);
    assert_int_equal(cpu_get_eflags(c), A_EFLAGS);
    assert_true(c->cr0 & CR0_TS);
}

static void jmp_clears_old_busy(void **state)
{
    (void)state;
    boot();
    /* NT set in the old task: a JMP leaves it in the saved image (table 7-2, "no change"). */
    cpu_set_eflags(c, A_EFLAGS | FL_NT);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
    assert_int_equal(access_of(SEL_TSS_A), 0x89);
    assert_int_equal(access_of(SEL_TSS_B), 0x8B);
    assert_int_equal(rd16(TSS_B), 0x7777); /* no back-link */
    assert_int_equal(cpu_get_eflags(c), 0x82u); /* NT from B's TSS: clear */
    assert_saved_a(A_EFLAGS | FL_NT);
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(c->eip, 0x5678);
}

static void jmp_to_busy_tss_is_gp(void **state)
{
    (void)state;
    boot();
    set_desc(GDT, 4, TSS_B, 0x67, 0x8B, 0);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_GP);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_true(c->exc_has_error);
    assert_untouched();
    /* CALL and INT refuse a busy TSS the same way; RPL bits do not reach the error code. */
    assert_int_equal(sw(SEL_TSS_B | 3, TS_CALL, false, 0), EXC_GP);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_int_equal(sw(SEL_TSS_B, TS_INT, true, 0), EXC_GP);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_untouched();
}

static void short_tss_limit_is_ts(void **state)
{
    (void)state;
    boot();
    set_desc(GDT, 4, TSS_B, 0x60, 0x89, 0);
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_untouched();
    assert_int_equal(access_of(SEL_TSS_B), 0x89);
    /* 16-bit TSS: 0x2B is the minimum, 0x2A is too short. */
    set_desc(GDT, 5, TSS_C, 0x2A, 0x81, 0);
    assert_int_equal(sw(SEL_TSS_C, TS_JMP, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_TSS_C);
    assert_untouched();
}

static void other_new_tss_checks(void **state)
{
    (void)state;
    boot();
    /* Not present: #NP(sel). */
    set_desc(GDT, 4, TSS_B, 0x67, 0x09, 0);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_NP);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_untouched();
    /* IRET needs a busy TSS: #TS(sel) for an available one. */
    set_desc(GDT, 4, TSS_B, 0x67, 0x89, 0);
    assert_int_equal(sw(SEL_TSS_B, TS_IRET, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_TSS_B);
    assert_untouched();
    /* Not a TSS (a data segment): #GP(sel) for JMP, #TS(sel) for an IRET back-link. */
    assert_int_equal(sw(SEL_DATA0, TS_JMP, false, 0), EXC_GP);
    assert_int_equal(c->exc_error, SEL_DATA0);
    assert_int_equal(sw(SEL_DATA0, TS_IRET, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_DATA0);
    /* A selector with TI set never names a TSS. */
    jmp_buf jb;
    c->exc_jmp = &jb;
    if (!setjmp(jb)) {
        cpu_task_switch(c, SEL_TSS_B | 4, gdt_desc(SEL_TSS_B), TS_CALL, false, 0);
        fail_msg("switch through an LDT selector succeeded");
    }
    c->exc_jmp = NULL;
    assert_int_equal(c->exc_vector, EXC_GP);
    assert_int_equal(c->exc_error, SEL_TSS_B | 4);
    assert_untouched();
}

/* Two address spaces that differ at linear 0x300000: A maps it to 0x300000, B to 0x301000. */
static void cr3_loaded_and_tlb_flushed(void **state)
{
    (void)state;
    boot();
    const uint32_t pd_a = 0x10000, pt_a = 0x11000, pd_b = 0x12000, pt_b = 0x13000;
    wr32(pd_a, pt_a | PTE_P | PTE_W);
    wr32(pd_b, pt_b | PTE_P | PTE_W);
    for (uint32_t i = 0; i < 1024; i++) {
        wr32(pt_a + 4 * i, i << 12 | PTE_P | PTE_W);
        wr32(pt_b + 4 * i, (i == 0x300 ? 0x301u : i) << 12 | PTE_P | PTE_W);
    }
    wr32(0x300000, 0xAAAAAAAAu);
    wr32(0x301000, 0xBBBBBBBBu);
    c->cr3 = pd_a;
    c->cr0 |= CR0_PG;
    cpu_flush_tlb(c, false);
    struct tss32 b = task_b;
    b.cr3 = pd_b | 0x18 | 0x7; /* PWT/PCD kept, ignored bits dropped as by MOV CR3 */
    put_tss32(TSS_B, &b);
    /* Put A's translation of 0x300000 in the TLB. */
    assert_int_equal(lin_read_priv(c, 0x300000, 4, PRIV_SUPER), 0xAAAAAAAAu);
    assert_int_equal(c->tlb.e[PRIV_SUPER][tlb_index(0x300000)].tag[TLB_READ], 0x300000u);

    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
    assert_int_equal(c->cr3, pd_b | 0x18);
    assert_int_not_equal(c->tlb.e[PRIV_SUPER][tlb_index(0x300000)].tag[TLB_READ], 0x300000u);
    assert_int_equal(lin_read_priv(c, 0x300000, 4, PRIV_SUPER), 0xBBBBBBBBu);
}

static void int_pushes_error_code(void **state)
{
    (void)state;
    boot();
    /* 32-bit TSS: the error code is pushed as a dword on the new task's stack. */
    assert_int_equal(sw(SEL_TSS_B, TS_INT, true, 0x0000ABCDu), -1);
    assert_int_equal(c->regs[R_ESP], 0x9000u - 4);
    assert_int_equal(rd32(0x9000 - 4), 0x0000ABCDu);
    /* INT nests like CALL. */
    assert_int_equal(rd16(TSS_B), SEL_TSS_A);
    assert_true(cpu_get_eflags(c) & FL_NT);
    assert_int_equal(access_of(SEL_TSS_A), 0x8B);
    assert_int_equal(access_of(SEL_TSS_B), 0x8B);
    assert_saved_a(A_EFLAGS);

    /* Without an error code nothing is pushed. */
    boot();
    assert_int_equal(sw(SEL_TSS_B, TS_INT, false, 0xFFFF), -1);
    assert_int_equal(c->regs[R_ESP], 0x9000u);

    /* 16-bit TSS: a word, on a 16-bit stack (SP), upper half of ESP from the 16-bit load. */
    boot();
    wr32(0x9000 - 4, 0x11111111u);
    assert_int_equal(sw(SEL_TSS_C, TS_INT, true, 0x12345678u), -1);
    assert_int_equal(c->regs[R_ESP], 0xFFFF8FFEu);
    assert_int_equal(rd16(0x9000 - 2), 0x5678);
    assert_int_equal(rd16(0x9000 - 4), 0x1111); /* only two bytes written */
}

static void sixteen_bit_tss_layout(void **state)
{
    (void)state;
    boot();
    assert_int_equal(sw(SEL_TSS_C, TS_CALL, false, 0), -1);
    assert_int_equal(c->eip, 0x4321);
    assert_int_equal(cpu_get_eflags(c), 0x0003u | FL_NT);
    /* GPR upper halves are not maintained by a 16-bit TSS; we load them as 1s. */
    assert_int_equal(c->regs[R_EAX], 0xFFFFC000u);
    assert_int_equal(c->regs[R_EDI], 0xFFFFC777u);
    assert_int_equal(c->seg[SR_SS].sel, SEL_DATA16);
    assert_false(c->stack32);
    /* A 16-bit TSS has no FS/GS fields: both null. */
    assert_int_equal(c->seg[SR_FS].sel, 0);
    assert_int_equal(c->seg[SR_GS].sel, 0);
    assert_int_equal(c->seg[SR_FS].rights, 0);
    assert_int_equal(rd16(TSS_C), SEL_TSS_A);
    assert_int_equal(access_of(SEL_TSS_C), 0x83);
    assert_int_equal(c->cr3, 0); /* a 16-bit TSS has no CR3 */
    assert_int_equal(SEG_TYPE(c->tr.attr), 3);

    /* Going back saves in the 16-bit layout: IP, FLAGS (NT cleared), word registers. */
    c->regs[R_EBX] = 0x1234BEEFu;
    c->eip = 0x00014444u;
    assert_int_equal(sw(SEL_TSS_A, TS_IRET, false, 0), -1);
    assert_int_equal(rd16(TSS_C + 0x0E), 0x4444);
    assert_int_equal(rd16(TSS_C + 0x10), 0x0003);
    assert_int_equal(rd16(TSS_C + 0x18), 0xBEEF);
    assert_int_equal(rd16(TSS_C + 0x26), SEL_DATA16);
    assert_int_equal(rd16(TSS_C + 0x2A), 0); /* the LDT field is never written */
    assert_int_equal(access_of(SEL_TSS_C), 0x81);
    assert_int_equal(c->eip, A_EIP);
    assert_regs(a_regs);
}

static void ring3_task_with_ldt(void **state)
{
    (void)state;
    boot();
    struct tss32 b = task_b;
    b.sreg[SR_CS] = SEL_CODE3;
    b.sreg[SR_SS] = SEL_DATA3;
    b.sreg[SR_DS] = SEL_LDT_DATA3;
    b.sreg[SR_ES] = b.sreg[SR_FS] = b.sreg[SR_GS] = 0;
    b.ldt = SEL_LDT;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
    /* CPL comes from the new CS selector's RPL. */
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->ldtr.sel, SEL_LDT);
    assert_int_equal(c->ldtr.base, LDT_BASE);
    assert_int_equal(c->ldtr.limit, 0x17);
    assert_int_equal(c->seg[SR_DS].sel, SEL_LDT_DATA3);
    assert_int_equal(c->seg[SR_DS].base, 0x100000u);
    assert_int_equal(c->seg[SR_DS].limit, 0xFFFF);
    /* The data descriptor in the LDT got its accessed bit (type 2 -> 3). */
    assert_int_equal(rd8(LDT_BASE + 8 + 5), 0xF3);
    assert_int_equal(c->seg[SR_ES].rights, 0);
}

static void fault_after_commit_is_in_new_task(void **state)
{
    (void)state;
    boot();
    struct tss32 b = task_b;
    b.sreg[SR_DS] = SEL_NP_DATA;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), EXC_NP);
    assert_int_equal(c->exc_error, SEL_NP_DATA);
    /* The switch completed: TR, registers and busy bits are the new task's, and cpu_run
     * would unwind to the new task's first instruction (insn_eip/insn_esp). */
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(access_of(SEL_TSS_B), 0x8B);
    assert_int_equal(rd16(TSS_B), SEL_TSS_A);
    assert_saved_a(A_EFLAGS);
    assert_int_equal(c->eip, 0x5678);
    assert_int_equal(c->insn_eip, 0x5678);
    assert_int_equal(c->insn_esp, 0x9000);
    assert_regs(task_b.regs);
    assert_int_equal(c->seg[SR_DS].sel, SEL_NP_DATA);
    assert_int_equal(c->seg[SR_DS].rights, 0);

    /* SS whose DPL is not the new CPL: #TS(SS). */
    boot();
    b = task_b;
    b.sreg[SR_SS] = SEL_DATA3 & ~3; /* RPL 0, DPL 3 */
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_DATA3 & ~3);
    assert_int_equal(c->tr.sel, SEL_TSS_B);

    /* A writable data segment that is not present as SS: #SS(SS), not #NP. */
    boot();
    b = task_b;
    b.sreg[SR_SS] = SEL_NP_DATA;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_SS);
    assert_int_equal(c->exc_error, SEL_NP_DATA);

    /* LDT selector that names a TSS: #TS(LDT selector). */
    boot();
    b = task_b;
    b.ldt = SEL_TSS_C;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_TSS_C);
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(c->ldtr.attr, 0);

    /* Data segment as CS: #TS(CS). */
    boot();
    b = task_b;
    b.sreg[SR_CS] = SEL_DATA0;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_TS);
    assert_int_equal(c->exc_error, SEL_DATA0);

    /* EIP beyond the new CS limit: #GP(0) in the new task. */
    boot();
    set_desc(GDT, 1, 0, 0xFFFF, 0x9A, 0x4);
    b = task_b;
    b.eip = 0x10000;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_GP);
    assert_int_equal(c->exc_error, 0);
    assert_int_equal(c->tr.sel, SEL_TSS_B);
    assert_int_equal(c->insn_eip, 0x10000);
}

static void trap_bit_sets_dr6_bt(void **state)
{
    (void)state;
    boot();
    struct tss32 b = task_b;
    b.trap = true;
    put_tss32(TSS_B, &b);
    c->dr[6] = 0xFFFF0FF0u;
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
    /* The T bit queues a #DB trap with DR6.BT for the next instruction boundary. */
    assert_true(c->dbg_pending & 0x8000u);
    assert_true(c->inhibit_irq & INHIBIT_DBG_PENDING);
    /* Without T, BT stays clear. */
    boot();
    c->dr[6] = 0xFFFF0FF0u;
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
    assert_int_equal(c->dr[6], 0xFFFF0FF0u);
}

static void enter_v86_task(void **state)
{
    (void)state;
    boot();
    struct tss32 b = task_b;
    b.eflags = 0x00020002u | FL_IF; /* VM */
    b.sreg[SR_CS] = 0x1000;
    b.sreg[SR_SS] = 0x2000;
    b.sreg[SR_DS] = 0x3000;
    b.eip = 0x100;
    put_tss32(TSS_B, &b);
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), -1);
    assert_true(cpu_v86(c));
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->seg[SR_CS].base, 0x10000);
    assert_int_equal(c->seg[SR_DS].base, 0x30000);
    assert_int_equal(c->seg[SR_SS].limit, 0xFFFF);
    assert_false(c->code32);
}

/* A TSS the guest placed outside RAM or across the top of the address space must give an
 * architectural answer (here: garbage state, then a fault in the new task) and never a host
 * access outside guest memory. ASan builds check the latter. */
static void hostile_tss_placement(void **state)
{
    (void)state;
    static const uint32_t bases[] = {0xFFFFFFC0u, 0xFFFFFFFFu, 0x7FFFFFF0u, RAM_SIZE - 0x20};
    for (unsigned k = 0; k < sizeof(bases) / sizeof(bases[0]); k++) {
        boot();
        set_desc(GDT, 4, bases[k], 0xFFFFF, 0x89, 0x8);
        int v = sw(SEL_TSS_B, TS_CALL, false, 0);
        assert_true(v == -1 || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP);
        /* And as the running task's TSS, where the old state gets saved. */
        boot();
        c->tr.base = bases[k];
        c->tr.limit = 0xFFFFF;
        assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), -1);
        assert_int_equal(c->eip, 0x5678);
    }
    /* With paging, an unmapped new TSS is a #PF before anything changed. */
    boot();
    wr32(0x10000, 0x11000 | PTE_P | PTE_W);
    for (uint32_t i = 0; i < 1024; i++)
        wr32(0x11000 + 4 * i, i == 3 ? 0 : (i << 12 | PTE_P | PTE_W)); /* TSS_B unmapped */
    c->cr3 = 0x10000;
    c->cr0 |= CR0_PG;
    cpu_flush_tlb(c, false);
    /* JMP: no back-link write, so only the read probe of the new TSS can catch this. */
    assert_int_equal(sw(SEL_TSS_B, TS_JMP, false, 0), EXC_PF);
    assert_int_equal(c->cr2, TSS_B);
    assert_untouched();
    assert_int_equal(sw(SEL_TSS_B, TS_CALL, false, 0), EXC_PF);
    assert_int_equal(c->cr2, TSS_B);
    assert_untouched();
    assert_int_equal(access_of(SEL_TSS_B), 0x89);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(call_sets_nt_backlink_and_busy),
        cmocka_unit_test(iret_returns_and_restores),
        cmocka_unit_test(jmp_clears_old_busy),
        cmocka_unit_test(jmp_to_busy_tss_is_gp),
        cmocka_unit_test(short_tss_limit_is_ts),
        cmocka_unit_test(other_new_tss_checks),
        cmocka_unit_test(cr3_loaded_and_tlb_flushed),
        cmocka_unit_test(int_pushes_error_code),
        cmocka_unit_test(sixteen_bit_tss_layout),
        cmocka_unit_test(ring3_task_with_ldt),
        cmocka_unit_test(fault_after_commit_is_in_new_task),
        cmocka_unit_test(trap_bit_sets_dr6_bt),
        cmocka_unit_test(enter_v86_task),
        cmocka_unit_test(hostile_tss_placement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
