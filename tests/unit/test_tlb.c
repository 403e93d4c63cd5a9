/* Unit tests of the software TLB (mmu/tlb.c): the flush operations the architecture asks for
 * (everything, everything but global pages, one page) and dropping write mappings to a page
 * that now holds code. Also checks, through the CPU's access path, that a TLB entry filled
 * from a global PTE survives a non-global flush only when CR4.PGE is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/mem.h"
#include "mmu/paging.h"
#include "mmu/tlb.h"
#include "tests/support/testvm.h"

static struct tlb *new_tlb(void)
{
    struct tlb *t = malloc(sizeof(*t));
    assert_non_null(t);
    memset(t, 0x5A, sizeof(*t)); /* garbage: flush_all must make every entry invalid */
    tlb_flush_all(t);
    return t;
}

/* Install a mapping the way the CPU would: all three access kinds valid. */
static void fill(struct tlb *t, unsigned priv, uint32_t lin, uint32_t phys, bool global)
{
    struct tlb_entry *e = &t->e[priv][tlb_index(lin)];
    uint32_t page = lin & 0xFFFFF000u;
    e->tag[TLB_READ] = e->tag[TLB_WRITE] = e->tag[TLB_EXEC] = page;
    e->phys_page = phys & 0xFFFFF000u;
    e->addend = 0x1000;
    e->global = global;
    tlb_note_write_mapping(t, e->phys_page); /* part of installing a write mapping */
}

/* True if an access of `kind` to `lin` would hit. */
static bool hits(const struct tlb *t, unsigned priv, uint32_t lin, unsigned kind)
{
    return t->e[priv][tlb_index(lin)].tag[kind] == (lin & 0xFFFFF000u);
}

static bool hits_any(const struct tlb *t, unsigned priv, uint32_t lin)
{
    return hits(t, priv, lin, TLB_READ) || hits(t, priv, lin, TLB_WRITE) ||
           hits(t, priv, lin, TLB_EXEC);
}

static void invalid_tag_never_matches(void **state)
{
    (void)state;
    /* TLB_INVALID has low bits set, so it can equal no page-aligned linear address, page 0
     * included. */
    assert_int_not_equal(TLB_INVALID & 0xFFFu, 0);
    struct tlb *t = new_tlb();
    for (unsigned p = 0; p < 2; p++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            assert_false(hits_any(t, p, i << 12));
            assert_int_equal(t->e[p][i].global, 0);
        }
    assert_false(hits_any(t, 0, 0));
    free(t);
}

static void index_uses_page_number(void **state)
{
    (void)state;
    assert_int_equal(tlb_index(0x00000000u), 0);
    assert_int_equal(tlb_index(0x00001FFFu), 1);
    assert_int_equal(tlb_index(0x12345678u), 0x12345u & (TLB_SIZE - 1));
    /* Pages TLB_SIZE apart share a slot. */
    assert_int_equal(tlb_index(0x00003000u), tlb_index(0x00003000u + (TLB_SIZE << 12)));
}

static void flush_all_clears_everything(void **state)
{
    (void)state;
    struct tlb *t = new_tlb();
    fill(t, 0, 0x00401000u, 0x5000, false);
    fill(t, 1, 0x00401000u, 0x5000, false);
    fill(t, 0, 0xC0000000u, 0x0, true);
    fill(t, 1, 0xBFFFF000u, 0x7000, true);
    assert_true(hits(t, 0, 0x00401234u, TLB_READ));
    assert_true(hits(t, 0, 0xC0000FFFu, TLB_EXEC));
    tlb_flush_all(t);
    assert_false(hits_any(t, 0, 0x00401000u));
    assert_false(hits_any(t, 1, 0x00401000u));
    assert_false(hits_any(t, 0, 0xC0000000u)); /* global entries too (CR4.PGE toggles) */
    assert_false(hits_any(t, 1, 0xBFFFF000u));
    assert_int_equal(t->e[0][tlb_index(0xC0000000u)].global, 0);
    free(t);
}

static void flush_nonglobal_keeps_global(void **state)
{
    (void)state;
    struct tlb *t = new_tlb();
    fill(t, 0, 0x00401000u, 0x5000, false);
    fill(t, 1, 0x00402000u, 0x6000, false);
    fill(t, 0, 0xC0000000u, 0x0, true);
    fill(t, 1, 0xC0001000u, 0x1000, true);
    tlb_flush_nonglobal(t); /* MOV CR3 */
    assert_false(hits_any(t, 0, 0x00401000u));
    assert_false(hits_any(t, 1, 0x00402000u));
    for (unsigned k = 0; k < 3; k++) {
        assert_true(hits(t, 0, 0xC0000000u, k));
        assert_true(hits(t, 1, 0xC0001000u, k));
    }
    assert_int_equal(t->e[0][tlb_index(0xC0000000u)].phys_page, 0);
    assert_int_equal(t->e[1][tlb_index(0xC0001000u)].phys_page, 0x1000);
    assert_int_equal(t->e[0][tlb_index(0xC0000000u)].global, 1);
    /* A second CR3 write changes nothing more; flush_all then removes them. */
    tlb_flush_nonglobal(t);
    assert_true(hits(t, 0, 0xC0000000u, TLB_READ));
    tlb_flush_all(t);
    assert_false(hits_any(t, 0, 0xC0000000u));
    free(t);
}

static void flush_page_is_exact(void **state)
{
    (void)state;
    struct tlb *t = new_tlb();
    const uint32_t lin = 0x00403000u;
    const uint32_t same_slot = lin + (TLB_SIZE << 12); /* different page, same index */
    fill(t, 0, lin, 0x5000, true); /* INVLPG removes global pages as well */
    fill(t, 1, lin, 0x5000, false);
    fill(t, 0, lin + 0x1000, 0x6000, false);
    fill(t, 1, lin - 0x1000, 0x7000, false);
    tlb_flush_page(t, lin + 0xABC); /* any address inside the page */
    assert_false(hits_any(t, 0, lin));
    assert_false(hits_any(t, 1, lin));
    assert_true(hits(t, 0, lin + 0x1000, TLB_READ));
    assert_true(hits(t, 1, lin - 0x1000, TLB_WRITE));

    /* Flushing a page that is not cached leaves the page that shares its slot alone. */
    fill(t, 0, same_slot, 0x8000, false);
    tlb_flush_page(t, lin);
    assert_true(hits(t, 0, same_slot, TLB_READ));
    assert_true(hits(t, 0, same_slot, TLB_WRITE));
    tlb_flush_page(t, same_slot);
    assert_false(hits_any(t, 0, same_slot));

    /* An entry that only has, say, an exec mapping is still found and removed. */
    struct tlb_entry *e = &t->e[1][tlb_index(0x00800000u)];
    e->tag[TLB_READ] = e->tag[TLB_WRITE] = TLB_INVALID;
    e->tag[TLB_EXEC] = 0x00800000u;
    tlb_flush_page(t, 0x00800FFFu);
    assert_false(hits_any(t, 1, 0x00800000u));
    free(t);
}

static void drop_writes_to_only_that_frame(void **state)
{
    (void)state;
    struct tlb *t = new_tlb();
    /* Two linear aliases of physical frame 0x5000, in both privilege tables, plus an
     * unrelated page. */
    fill(t, 0, 0x00401000u, 0x5000, false);
    fill(t, 1, 0x00777000u, 0x5000, false);
    fill(t, 0, 0x00402000u, 0x6000, false);
    tlb_drop_writes_to(t, 0x5000);
    assert_false(hits(t, 0, 0x00401000u, TLB_WRITE));
    assert_false(hits(t, 1, 0x00777000u, TLB_WRITE));
    /* Reads and fetches keep going fast. */
    assert_true(hits(t, 0, 0x00401000u, TLB_READ));
    assert_true(hits(t, 0, 0x00401000u, TLB_EXEC));
    assert_true(hits(t, 1, 0x00777000u, TLB_READ));
    assert_int_equal(t->e[0][tlb_index(0x00401000u)].phys_page, 0x5000);
    /* The other frame is untouched. */
    assert_true(hits(t, 0, 0x00402000u, TLB_WRITE));
    free(t);
}

/* The write hint is rebuilt on flushes: a global write mapping that survives a CR3-style
 * flush must still be found by tlb_drop_writes_to. */
static void drop_writes_after_nonglobal_flush(void **state)
{
    (void)state;
    struct tlb *t = new_tlb();
    fill(t, 0, 0x00401000u, 0x5000, true);
    fill(t, 0, 0x00402000u, 0x5000, false);
    tlb_flush_nonglobal(t);
    assert_true(hits(t, 0, 0x00401000u, TLB_WRITE));
    tlb_drop_writes_to(t, 0x5000);
    assert_false(hits(t, 0, 0x00401000u, TLB_WRITE));
    assert_true(hits(t, 0, 0x00401000u, TLB_READ));
    free(t);
}

/* ---- Through the CPU's access path ---- */

#define PD 0x10000u
#define PT 0x11000u

/* Paging with identity-mapped 4 KiB pages for 0..4 MiB; page 0x200 (2 MiB) is global. */
static void setup_paging(struct testvm *vm, bool pge)
{
    struct cpu *c = &vm->cpu;
    memmap_write(&vm->mem, PD, PT | PTE_P | PTE_W | PTE_U, 4);
    for (uint32_t i = 0; i < 1024; i++)
        memmap_write(&vm->mem, PT + 4 * i, (i << 12) | PTE_P | PTE_W | PTE_U, 4);
    memmap_write(&vm->mem, PT + 4 * 0x200, 0x200000u | PTE_P | PTE_W | PTE_U | PTE_G, 4);
    c->cr3 = PD;
    c->cr0 = CR0_PE | CR0_PG | CR0_ET;
    c->cr4 = pge ? CR4_PGE : 0;
    cpu_flush_tlb(c, false);
}

static void global_entry_survives_cr3_only_with_pge(void **state)
{
    (void)state;
    for (int pge = 0; pge <= 1; pge++) {
        struct testvm *vm = malloc(sizeof(*vm));
        assert_non_null(vm);
        assert_int_equal(testvm_init(vm, 8u << 20), 0);
        struct cpu *c = &vm->cpu;
        setup_paging(vm, pge);
        memmap_write(&vm->mem, 0x200010, 0xCAFEF00Du, 4);
        memmap_write(&vm->mem, 0x100010, 0x0BADF00Du, 4);
        /* Supervisor reads fill the TLB (no fault can happen: both pages are present). */
        assert_int_equal(lin_read_priv(c, 0x200010, 4, PRIV_SUPER), 0xCAFEF00Du);
        assert_int_equal(lin_read_priv(c, 0x100010, 4, PRIV_SUPER), 0x0BADF00Du);
        assert_true(hits(&c->tlb, PRIV_SUPER, 0x200010, TLB_READ));
        assert_true(hits(&c->tlb, PRIV_SUPER, 0x100010, TLB_READ));
        assert_int_equal(c->tlb.e[PRIV_SUPER][tlb_index(0x200000)].global, pge);
        cpu_flush_tlb(c, true); /* what a CR3 write does */
        assert_int_equal(hits(&c->tlb, PRIV_SUPER, 0x200010, TLB_READ), pge);
        assert_false(hits(&c->tlb, PRIV_SUPER, 0x100010, TLB_READ));
        cpu_flush_tlb(c, false);
        assert_false(hits(&c->tlb, PRIV_SUPER, 0x200010, TLB_READ));
        testvm_destroy(vm);
        free(vm);
    }
}

static void read_fill_grants_write_only_when_dirty(void **state)
{
    (void)state;
    struct testvm *vm = malloc(sizeof(*vm));
    assert_non_null(vm);
    assert_int_equal(testvm_init(vm, 8u << 20), 0);
    struct cpu *c = &vm->cpu;
    setup_paging(vm, false);
    /* A read of a clean page must not give a write mapping: the first write has to walk the
     * tables to set D. */
    (void)lin_read_priv(c, 0x300000, 4, PRIV_SUPER);
    assert_true(hits(&c->tlb, PRIV_SUPER, 0x300000, TLB_READ));
    assert_false(hits(&c->tlb, PRIV_SUPER, 0x300000, TLB_WRITE));
    lin_write_priv(c, 0x300004, 0x12345678u, 4, PRIV_SUPER);
    uint32_t pte = memmap_read(&vm->mem, PT + 4 * 0x300, 4);
    assert_int_equal(pte & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_true(hits(&c->tlb, PRIV_SUPER, 0x300000, TLB_WRITE));
    assert_int_equal(memmap_read(&vm->mem, 0x300004, 4), 0x12345678u);
    /* The user table was not filled by supervisor accesses. */
    assert_false(hits_any(&c->tlb, PRIV_USER, 0x300000));
    testvm_destroy(vm);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invalid_tag_never_matches),
        cmocka_unit_test(index_uses_page_number),
        cmocka_unit_test(flush_all_clears_everything),
        cmocka_unit_test(flush_nonglobal_keeps_global),
        cmocka_unit_test(flush_page_is_exact),
        cmocka_unit_test(drop_writes_to_only_that_frame),
        cmocka_unit_test(drop_writes_after_nonglobal_flush),
        cmocka_unit_test(global_entry_survives_cr3_only_with_pge),
        cmocka_unit_test(read_fill_grants_write_only_when_dirty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
