/* Unit tests of the two-level i386 page walk (mmu/paging.c), against the rules of the Intel
 * SDM vol. 3A ch. 4 (32-bit paging): 4 KiB and 4 MiB pages, #PF error codes (P, W/R, U/S),
 * U/S and R/W combined across both levels, CR0.WP, the A and D bits written back to the guest's
 * tables, and global pages only with CR4.PGE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mmu/paging.h"

#define RAM (16u << 20)
#define PD 0x1000u     /* page directory */
#define PT0 0x2000u    /* page table for 0x00000000..0x003FFFFF */
#define PT2 0x3000u    /* page table for 0x00800000..0x00BFFFFF */

static struct memmap mem;

static int setup(void **state)
{
    (void)state;
    return memmap_init(&mem, RAM) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    memmap_destroy(&mem);
    return 0;
}

static void set_pde(uint32_t idx, uint32_t v) { memmap_write(&mem, PD + 4 * idx, v, 4); }
static uint32_t pde(uint32_t idx) { return memmap_read(&mem, PD + 4 * idx, 4); }
static void set_pte(uint32_t pt, uint32_t idx, uint32_t v) { memmap_write(&mem, pt + 4 * idx, v, 4); }
static uint32_t pte(uint32_t pt, uint32_t idx) { return memmap_read(&mem, pt + 4 * idx, 4); }

static const struct paging_ctl ctl_plain = {PD, false, false, false};

/* Walk expecting success; returns the physical address. */
static uint32_t ok_walk(const struct paging_ctl *ctl, uint32_t lin, bool write, bool user,
                        struct walk *w)
{
    uint32_t err = 0xDEAD;
    struct walk tmp;
    if (!w)
        w = &tmp;
    bool ok = paging_walk(&mem, ctl, lin, write, user, w, &err);
    if (!ok)
        fail_msg("walk of %08x (%s %s) faulted with error %x", lin, write ? "write" : "read",
                 user ? "user" : "supervisor", err);
    return w->phys;
}

/* Walk expecting a #PF; returns the error code. */
static uint32_t pf_walk(const struct paging_ctl *ctl, uint32_t lin, bool write, bool user)
{
    uint32_t err = 0xDEAD;
    struct walk w;
    if (paging_walk(&mem, ctl, lin, write, user, &w, &err))
        fail_msg("walk of %08x (%s %s) succeeded (phys %08x), #PF expected", lin,
                 write ? "write" : "read", user ? "user" : "supervisor", w.phys);
    return err;
}

static void small_page_translation_and_ad_bits(void **state)
{
    (void)state;
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U);
    set_pte(PT0, 5, 0x00345000u | PTE_P | PTE_W | PTE_U);
    struct walk w;
    /* Read: phys = frame | offset; A set in PDE and PTE; D untouched. */
    assert_int_equal(ok_walk(&ctl_plain, 0x00005ABCu, false, false, &w), 0x00345ABCu);
    assert_true(pde(0) & PTE_A);
    assert_int_equal(pte(PT0, 5), 0x00345000u | PTE_P | PTE_W | PTE_U | PTE_A);
    assert_false(w.dirty);
    assert_true(w.writable);
    assert_false(w.global);
    /* Write: D set in the PTE (the leaf) only, never in a PDE that points to a table. */
    assert_int_equal(ok_walk(&ctl_plain, 0x00005FFFu, true, true, &w), 0x00345FFFu);
    assert_int_equal(pte(PT0, 5), 0x00345000u | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
    assert_int_equal(pde(0), PT0 | PTE_P | PTE_W | PTE_U | PTE_A);
    assert_true(w.dirty);
    /* A later read reports the page as already dirty. */
    ok_walk(&ctl_plain, 0x00005000u, false, false, &w);
    assert_true(w.dirty);

    /* CR3's low bits (PWT, PCD, ignored bits) do not move the directory. */
    struct paging_ctl odd = ctl_plain;
    odd.cr3 = PD | 0x18 | 0x7;
    assert_int_equal(ok_walk(&odd, 0x00005123u, false, false, NULL), 0x00345123u);

    /* The top-level index uses bits 31..22 and the table index bits 21..12. */
    set_pde(0x3FF, PT2 | PTE_P | PTE_W);
    set_pte(PT2, 0x3FF, 0x00ABC000u | PTE_P);
    assert_int_equal(ok_walk(&ctl_plain, 0xFFFFFFFFu, false, false, NULL), 0x00ABCFFFu);
}

static void large_page_needs_pse(void **state)
{
    (void)state;
    /* PDE 2 (0x00800000..0x00BFFFFF) is a 4 MiB page at physical 0x00C00000. */
    set_pde(2, 0x00C00000u | PTE_PS | PTE_P | PTE_W | PTE_U);
    const struct paging_ctl pse = {PD, false, true, false};
    struct walk w;
    assert_int_equal(ok_walk(&pse, 0x00912345u, false, false, &w), 0x00D12345u);
    assert_int_equal(pde(2), 0x00C00000u | PTE_PS | PTE_P | PTE_W | PTE_U | PTE_A);
    assert_false(w.dirty);
    assert_int_equal(ok_walk(&pse, 0x00BFFFFFu, true, false, &w), 0x00FFFFFFu);
    assert_int_equal(pde(2), 0x00C00000u | PTE_PS | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
    assert_true(w.dirty);

    /* Without CR4.PSE the PS bit is ignored and the PDE points to a page table: at
     * 0x00C00000, whose entry 0x112 (for 0x00912345) we make point to 0x00456000. */
    set_pde(2, 0x00C00000u | PTE_PS | PTE_P | PTE_W | PTE_U);
    set_pte(0x00C00000u, 0x112, 0x00456000u | PTE_P | PTE_U);
    assert_int_equal(ok_walk(&ctl_plain, 0x00912345u, false, true, &w), 0x00456345u);
    assert_int_equal(pte(0x00C00000u, 0x112), 0x00456000u | PTE_P | PTE_U | PTE_A);
}

static void not_present_error_codes(void **state)
{
    (void)state;
    /* PDE 3 not present (other bits set: P alone decides). */
    set_pde(3, 0x00400000u | PTE_W | PTE_U | PTE_PS);
    const struct paging_ctl pse = {PD, false, true, false};
    /* Error code: bit 0 P = 0 (not present), bit 1 = write, bit 2 = user. */
    assert_int_equal(pf_walk(&ctl_plain, 0x00C00000u, false, false), 0);
    assert_int_equal(pf_walk(&pse, 0x00C00000u, false, false), 0);
    assert_int_equal(pf_walk(&ctl_plain, 0x00C01234u, true, false), PFEC_W);
    assert_int_equal(pf_walk(&ctl_plain, 0x00C01234u, false, true), PFEC_U);
    assert_int_equal(pf_walk(&ctl_plain, 0x00FFFFFFu, true, true), PFEC_W | PFEC_U);
    /* A fault on a not-present PDE does not touch it. */
    assert_int_equal(pde(3), 0x00400000u | PTE_W | PTE_U | PTE_PS);

    /* PDE present, PTE 6 not present. */
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U);
    set_pte(PT0, 6, 0x00777000u | PTE_W | PTE_U | PTE_A | PTE_D);
    assert_int_equal(pf_walk(&ctl_plain, 0x00006000u, false, true), PFEC_U);
    assert_int_equal(pf_walk(&ctl_plain, 0x00006FFCu, true, false), PFEC_W);
    assert_int_equal(pf_walk(&ctl_plain, 0x00006001u, true, true), PFEC_W | PFEC_U);
    assert_int_equal(pte(PT0, 6), 0x00777000u | PTE_W | PTE_U | PTE_A | PTE_D);
}

static void user_supervisor_both_levels(void **state)
{
    (void)state;
    /* PDE without U, PTE with U: user access denied, supervisor allowed. */
    set_pde(0, PT0 | PTE_P | PTE_W);
    set_pte(PT0, 7, 0x00500000u | PTE_P | PTE_W | PTE_U);
    assert_int_equal(pf_walk(&ctl_plain, 0x00007000u, false, true), PFEC_P | PFEC_U);
    assert_int_equal(pf_walk(&ctl_plain, 0x00007000u, true, true), PFEC_P | PFEC_W | PFEC_U);
    assert_int_equal(ok_walk(&ctl_plain, 0x00007010u, false, false, NULL), 0x00500010u);

    /* PDE with U, PTE without U. */
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U);
    set_pte(PT0, 8, 0x00501000u | PTE_P | PTE_W);
    assert_int_equal(pf_walk(&ctl_plain, 0x00008000u, false, true), PFEC_P | PFEC_U);
    assert_int_equal(ok_walk(&ctl_plain, 0x00008000u, true, false, NULL), 0x00501000u);
    /* A denied user write does not set D. */
    set_pte(PT0, 8, 0x00501000u | PTE_P | PTE_W);
    pf_walk(&ctl_plain, 0x00008000u, true, true);
    assert_false(pte(PT0, 8) & PTE_D);

    /* Both with U: allowed. */
    set_pte(PT0, 9, 0x00502000u | PTE_P | PTE_W | PTE_U);
    assert_int_equal(ok_walk(&ctl_plain, 0x00009ABCu, true, true, NULL), 0x00502ABCu);

    /* 4 MiB supervisor page: user denied. */
    const struct paging_ctl pse = {PD, false, true, false};
    set_pde(4, 0x00400000u | PTE_PS | PTE_P | PTE_W);
    assert_int_equal(pf_walk(&pse, 0x01000000u, false, true), PFEC_P | PFEC_U);
    assert_int_equal(ok_walk(&pse, 0x01000004u, false, false, NULL), 0x00400004u);
}

static void read_write_both_levels(void **state)
{
    (void)state;
    /* User: a write needs W at both levels; a read needs neither. */
    set_pde(0, PT0 | PTE_P | PTE_U);            /* read-only directory entry */
    set_pte(PT0, 10, 0x00600000u | PTE_P | PTE_W | PTE_U);
    assert_int_equal(pf_walk(&ctl_plain, 0x0000A000u, true, true), PFEC_P | PFEC_W | PFEC_U);
    struct walk w;
    assert_int_equal(ok_walk(&ctl_plain, 0x0000A000u, false, true, &w), 0x00600000u);
    assert_false(w.writable);

    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U);
    set_pte(PT0, 11, 0x00601000u | PTE_P | PTE_U); /* read-only page */
    assert_int_equal(pf_walk(&ctl_plain, 0x0000B000u, true, true), PFEC_P | PFEC_W | PFEC_U);
    assert_false(pte(PT0, 11) & PTE_D);
    assert_int_equal(ok_walk(&ctl_plain, 0x0000B000u, false, true, &w), 0x00601000u);
    assert_false(w.writable);

    set_pte(PT0, 12, 0x00602000u | PTE_P | PTE_W | PTE_U);
    ok_walk(&ctl_plain, 0x0000C000u, false, true, &w);
    assert_true(w.writable);

    /* 4 MiB read-only page, user write. */
    const struct paging_ctl pse = {PD, false, true, false};
    set_pde(5, 0x00800000u | PTE_PS | PTE_P | PTE_U);
    assert_int_equal(pf_walk(&pse, 0x01400000u, true, true), PFEC_P | PFEC_W | PFEC_U);
    assert_false(pde(5) & PTE_D);
}

static void cr0_wp_controls_supervisor_writes(void **state)
{
    (void)state;
    const struct paging_ctl wp = {PD, true, false, false};
    set_pde(0, PT0 | PTE_P | PTE_U);                 /* no W in the directory */
    set_pte(PT0, 13, 0x00700000u | PTE_P | PTE_U);   /* nor in the table */
    struct walk w;
    /* WP = 0: supervisor writes ignore R/W (of user and supervisor pages alike). */
    assert_int_equal(ok_walk(&ctl_plain, 0x0000D008u, true, false, &w), 0x00700008u);
    assert_true(w.writable);
    assert_true(pte(PT0, 13) & PTE_D);
    /* WP = 1: the same write faults with P | W (supervisor). */
    set_pte(PT0, 13, 0x00700000u | PTE_P | PTE_U);
    assert_int_equal(pf_walk(&wp, 0x0000D008u, true, false), PFEC_P | PFEC_W);
    assert_false(pte(PT0, 13) & PTE_D);
    /* ... and a supervisor read under WP reports the mapping as not writable. */
    ok_walk(&wp, 0x0000D008u, false, false, &w);
    assert_false(w.writable);
    /* WP = 1 with W at one level only still faults. */
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U);
    assert_int_equal(pf_walk(&wp, 0x0000D000u, true, false), PFEC_P | PFEC_W);
    set_pte(PT0, 13, 0x00700000u | PTE_P | PTE_W);
    assert_int_equal(ok_walk(&wp, 0x0000D000u, true, false, NULL), 0x00700000u);

    /* 4 MiB read-only supervisor page. */
    const struct paging_ctl wp_pse = {PD, true, true, false};
    const struct paging_ctl pse = {PD, false, true, false};
    set_pde(6, 0x00C00000u | PTE_PS | PTE_P);
    assert_int_equal(pf_walk(&wp_pse, 0x01800000u, true, false), PFEC_P | PFEC_W);
    assert_int_equal(ok_walk(&pse, 0x01800000u, true, false, NULL), 0x00C00000u);
    /* User writes fault whatever WP says. */
    set_pde(6, 0x00C00000u | PTE_PS | PTE_P | PTE_U);
    assert_int_equal(pf_walk(&pse, 0x01800000u, true, true), PFEC_P | PFEC_W | PFEC_U);
}

static void global_only_with_pge(void **state)
{
    (void)state;
    const struct paging_ctl pge = {PD, false, true, true};
    const struct paging_ctl nopge = {PD, false, true, false};
    struct walk w;
    set_pde(0, PT0 | PTE_P | PTE_W);
    set_pte(PT0, 14, 0x00710000u | PTE_P | PTE_G);
    ok_walk(&nopge, 0x0000E000u, false, false, &w);
    assert_false(w.global);
    ok_walk(&pge, 0x0000E000u, false, false, &w);
    assert_true(w.global);
    set_pte(PT0, 15, 0x00711000u | PTE_P);
    ok_walk(&pge, 0x0000F000u, false, false, &w);
    assert_false(w.global);

    /* G in a PDE that points to a page table means nothing: the PTE decides. */
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_G);
    ok_walk(&pge, 0x0000F000u, false, false, &w);
    assert_false(w.global);

    /* 4 MiB page: G from the PDE. */
    set_pde(7, 0x00400000u | PTE_PS | PTE_P | PTE_G);
    ok_walk(&pge, 0x01C00000u, false, false, &w);
    assert_true(w.global);
    ok_walk(&nopge, 0x01C00000u, false, false, &w);
    assert_false(w.global);
}

static void accessed_bits_set_once(void **state)
{
    (void)state;
    /* The walker writes an entry only to set a bit; entries with A (and D) already set are
     * left exactly as they were, other software-available bits included. */
    set_pde(0, PT0 | PTE_P | PTE_W | PTE_U | PTE_A | 0xE00);
    set_pte(PT0, 16, 0x00720000u | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | 0xE00);
    assert_int_equal(ok_walk(&ctl_plain, 0x00010000u, true, true, NULL), 0x00720000u);
    assert_int_equal(pde(0), PT0 | PTE_P | PTE_W | PTE_U | PTE_A | 0xE00);
    assert_int_equal(pte(PT0, 16), 0x00720000u | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | 0xE00);
    /* Software bits survive when A is added. */
    set_pte(PT0, 17, 0x00721000u | PTE_P | 0xE00);
    ok_walk(&ctl_plain, 0x00011000u, false, false, NULL);
    assert_int_equal(pte(PT0, 17), 0x00721000u | PTE_P | PTE_A | 0xE00);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(small_page_translation_and_ad_bits),
        T(large_page_needs_pse),
        T(not_present_error_codes),
        T(user_supervisor_both_levels),
        T(read_write_both_levels),
        T(cr0_wp_controls_supervisor_writes),
        T(global_only_with_pge),
        T(accessed_bits_set_once),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
