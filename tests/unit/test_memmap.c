/* Unit tests of the guest-physical memory map (mmu/memmap.c): RAM, ROM, MMIO, unassigned
 * space, the byte-range copies used by loaders and DMA, the code-page write watch, and the
 * rejection of bad arguments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mmu/memmap.h"

#define RAM_SIZE (1u << 20) /* 1 MiB at physical 0 */

static int setup_map(void **state)
{
    static struct memmap m;
    if (memmap_init(&m, RAM_SIZE) != 0)
        return -1;
    *state = &m;
    return 0;
}

static int teardown_map(void **state)
{
    memmap_destroy(*state);
    return 0;
}

/* ---- RAM ---- */

static void ram_read_write_little_endian(void **state)
{
    struct memmap *m = *state;
    memmap_write(m, 0x1234, 0xDEADBEEFu, 4);
    assert_int_equal(memmap_read(m, 0x1234, 1), 0xEF);
    assert_int_equal(memmap_read(m, 0x1235, 1), 0xBE);
    assert_int_equal(memmap_read(m, 0x1236, 2), 0xDEAD);
    assert_int_equal(memmap_read(m, 0x1234, 4), 0xDEADBEEFu);

    /* A 16-bit write replaces exactly two bytes. */
    memmap_write(m, 0x1235, 0x5AA5, 2);
    assert_int_equal(memmap_read(m, 0x1234, 4), 0xDE5AA5EFu);
    /* An 8-bit write with garbage above bit 7 stores only the low byte. */
    memmap_write(m, 0x1237, 0xFFFFFF01u, 1);
    assert_int_equal(memmap_read(m, 0x1234, 4), 0x015AA5EFu);
    assert_int_equal(memmap_read(m, 0x1238, 1), 0);

    /* The host pointers see the same bytes, for reading and for writing. */
    uint8_t *r = memmap_read_ptr(m, 0x1234);
    uint8_t *w = memmap_write_ptr(m, 0x1234);
    assert_non_null(r);
    assert_ptr_equal(r, w);
    assert_int_equal(r[0], 0xEF);
    assert_int_equal(r[3], 0x01);
    w[1] = 0x77;
    assert_int_equal(memmap_read(m, 0x1235, 1), 0x77);

    /* Last bytes of RAM. */
    memmap_write(m, RAM_SIZE - 4, 0x11223344u, 4);
    assert_int_equal(memmap_read(m, RAM_SIZE - 4, 4), 0x11223344u);
    assert_int_equal(memmap_read(m, RAM_SIZE - 1, 1), 0x11);
}

static void ram_is_shared_memfd(void **state)
{
    struct memmap *m = *state;
    /* DESIGN decision 9: RAM is one memfd mapping, so the fd exists and RAM is zeroed. */
    assert_true(m->ram_fd >= 0);
    assert_int_equal(m->ram_size, RAM_SIZE);
    assert_int_equal(memmap_read(m, 0x80000, 4), 0);
}

/* ---- Unassigned ---- */

static void unassigned_reads_all_ones_ignores_writes(void **state)
{
    struct memmap *m = *state;
    const uint32_t a = 0x80000000u;
    assert_int_equal(memmap_read(m, a, 1), 0xFF);
    assert_int_equal(memmap_read(m, a + 2, 2), 0xFFFF);
    assert_int_equal(memmap_read(m, a + 4, 4), 0xFFFFFFFFu);
    memmap_write(m, a, 0, 4);
    assert_int_equal(memmap_read(m, a, 4), 0xFFFFFFFFu);
    assert_null(memmap_read_ptr(m, a));
    assert_null(memmap_write_ptr(m, a));
    /* Just above RAM and the very top of the address space. */
    assert_int_equal(memmap_read(m, RAM_SIZE, 4), 0xFFFFFFFFu);
    assert_int_equal(memmap_read(m, 0xFFFFFFFCu, 4), 0xFFFFFFFFu);
    assert_int_equal(memmap_read(m, 0xFFFFFFFFu, 1), 0xFF);
}

/* ---- ROM ---- */

static void rom_is_read_only(void **state)
{
    struct memmap *m = *state;
    uint8_t image[0x1800];
    for (unsigned i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i * 7 + 3);
    /* A ROM of 1.5 pages at the top of the address space (where the BIOS lives). */
    assert_int_equal(memmap_add_rom(m, 0xFFFFE000u, image, sizeof(image)), 0);
    /* The map holds its own copy. */
    image[0] = 0x55;
    assert_int_equal(memmap_read(m, 0xFFFFE000u, 1), 3);
    assert_int_equal(memmap_read(m, 0xFFFFE001u, 1), 10);
    assert_int_equal(memmap_read(m, 0xFFFFE000u + 0x17FF, 1), (uint8_t)(0x17FF * 7 + 3));
    assert_int_equal(memmap_read(m, 0xFFFFE000u + 0x100, 4),
                     (uint32_t)(uint8_t)(0x100 * 7 + 3) | (uint32_t)(uint8_t)(0x101 * 7 + 3) << 8 |
                         (uint32_t)(uint8_t)(0x102 * 7 + 3) << 16 |
                         (uint32_t)(uint8_t)(0x103 * 7 + 3) << 24);

    /* Writes are ignored, by value and by range copy. */
    memmap_write(m, 0xFFFFE000u, 0xAAAAAAAAu, 4);
    memmap_write(m, 0xFFFFE004u, 0xAA, 1);
    assert_int_equal(memmap_read(m, 0xFFFFE000u, 1), 3);
    assert_int_equal(memmap_read(m, 0xFFFFE004u, 1), (uint8_t)(4 * 7 + 3));
    const uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memmap_copy_to(m, 0xFFFFE010u, junk, sizeof(junk));
    assert_int_equal(memmap_read(m, 0xFFFFE010u, 1), (uint8_t)(0x10 * 7 + 3));

    assert_non_null(memmap_read_ptr(m, 0xFFFFE000u));
    assert_null(memmap_write_ptr(m, 0xFFFFE000u));
    assert_null(memmap_write_ptr(m, 0xFFFFF000u));

    /* copy_from reads ROM like RAM. */
    uint8_t buf[4];
    assert_true(memmap_copy_from(m, 0xFFFFE000u + 0x10, buf, sizeof(buf)));
    assert_int_equal(buf[0], (uint8_t)(0x10 * 7 + 3));
    assert_int_equal(buf[3], (uint8_t)(0x13 * 7 + 3));
}

static void rom_over_ram_shadows_it(void **state)
{
    struct memmap *m = *state;
    /* The legacy BIOS window: a ROM mapped over RAM at 0xF0000 replaces RAM for reads and
     * makes writes to that range be ignored, while neighbouring RAM stays RAM. */
    memmap_write(m, 0xEFFFC, 0x01020304u, 4);
    uint8_t image[PAGE_SIZE];
    memset(image, 0xC3, sizeof(image));
    assert_int_equal(memmap_add_rom(m, 0xF0000, image, sizeof(image)), 0);
    assert_int_equal(memmap_read(m, 0xF0000, 4), 0xC3C3C3C3u);
    memmap_write(m, 0xF0000, 0, 4);
    assert_int_equal(memmap_read(m, 0xF0000, 4), 0xC3C3C3C3u);
    assert_int_equal(memmap_read(m, 0xEFFFC, 4), 0x01020304u);
    memmap_write(m, 0xF1000, 0x99, 1); /* next page is still RAM */
    assert_int_equal(memmap_read(m, 0xF1000, 1), 0x99);
}

/* ---- MMIO ---- */

struct mmio_log {
    unsigned reads, writes;
    uint32_t last_off, last_val;
    unsigned last_size;
    void *last_opaque;
};

static uint32_t log_read(void *opaque, uint32_t offset, unsigned size)
{
    struct mmio_log *l = opaque;
    l->reads++;
    l->last_off = offset;
    l->last_size = size;
    l->last_opaque = opaque;
    return 0xA5000000u | offset << 4 | size; /* recognisable value */
}

static void log_write(void *opaque, uint32_t offset, uint32_t value, unsigned size)
{
    struct mmio_log *l = opaque;
    l->writes++;
    l->last_off = offset;
    l->last_val = value;
    l->last_size = size;
    l->last_opaque = opaque;
}

static const struct mmio_ops log_ops = {log_read, log_write};

static void mmio_callbacks_get_offset_and_size(void **state)
{
    struct memmap *m = *state;
    struct mmio_log a = {0}, b = {0};
    assert_int_equal(memmap_add_mmio(m, 0xE0000000u, 0x2000, &log_ops, &a), 0);
    assert_int_equal(memmap_add_mmio(m, 0xE0002000u, 0x1000, &log_ops, &b), 0);

    assert_int_equal(memmap_read(m, 0xE0001004u, 2), 0xA5000000u | 0x1004u << 4 | 2);
    assert_int_equal(a.reads, 1);
    assert_int_equal(a.last_off, 0x1004);
    assert_int_equal(a.last_size, 2);
    assert_ptr_equal(a.last_opaque, &a);

    memmap_write(m, 0xE0000010u, 0xAB, 1);
    assert_int_equal(a.writes, 1);
    assert_int_equal(a.last_off, 0x10);
    assert_int_equal(a.last_val, 0xAB);
    assert_int_equal(a.last_size, 1);

    /* The second region gets offsets relative to its own base. */
    memmap_write(m, 0xE0002FFCu, 0x12345678u, 4);
    assert_int_equal(b.writes, 1);
    assert_int_equal(b.last_off, 0xFFC);
    assert_int_equal(b.last_val, 0x12345678u);
    assert_int_equal(b.last_size, 4);
    assert_int_equal(a.writes, 1);

    /* No host pointer for MMIO: every access must go through the callbacks. */
    assert_null(memmap_read_ptr(m, 0xE0000000u));
    assert_null(memmap_write_ptr(m, 0xE0001000u));

    /* Past the end of the second region is unassigned again. */
    assert_int_equal(memmap_read(m, 0xE0003000u, 4), 0xFFFFFFFFu);
    assert_int_equal(a.reads + b.reads, 1);
}

static void mmio_over_ram_window(void **state)
{
    struct memmap *m = *state;
    /* The VGA window at 0xA0000 is MMIO although it lies inside RAM. */
    memmap_write(m, 0xA0000, 0x11111111u, 4);
    struct mmio_log l = {0};
    assert_int_equal(memmap_add_mmio(m, 0xA0000, 0x20000, &log_ops, &l), 0);
    assert_int_equal(memmap_read(m, 0xA0008, 4), 0xA5000000u | 0x8u << 4 | 4);
    assert_int_equal(l.last_off, 8);
    memmap_write(m, 0xBFFFF, 0x42, 1);
    assert_int_equal(l.last_off, 0x1FFFF);
    assert_int_equal(l.last_val, 0x42);
    /* A range copy cannot reach MMIO: it reports failure and does not call the device. */
    uint8_t buf[8];
    unsigned before = l.reads + l.writes;
    assert_false(memmap_copy_from(m, 0xA0000, buf, sizeof(buf)));
    assert_false(memmap_copy_to(m, 0xA0000, buf, sizeof(buf)));
    assert_int_equal(l.reads + l.writes, before);
    /* RAM on both sides is untouched. */
    memmap_write(m, 0x9FFFC, 0x5566, 2);
    assert_int_equal(memmap_read(m, 0x9FFFC, 2), 0x5566);
    memmap_write(m, 0xC0000, 0x77, 1);
    assert_int_equal(memmap_read(m, 0xC0000, 1), 0x77);
}

/* ---- Range copies ---- */

static void copy_across_page_boundaries(void **state)
{
    struct memmap *m = *state;
    uint8_t src[300], dst[300];
    for (unsigned i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i ^ 0x5A);
    /* 0x0F80..0x10AB spans the page boundary at 0x1000. */
    assert_true(memmap_copy_to(m, 0x0F80, src, sizeof(src)));
    for (unsigned i = 0; i < sizeof(src); i++)
        assert_int_equal(memmap_read(m, 0x0F80 + i, 1), src[i]);
    assert_int_equal(memmap_read(m, 0x0F7F, 1), 0);
    assert_int_equal(memmap_read(m, 0x0F80 + sizeof(src), 1), 0);
    memset(dst, 0, sizeof(dst));
    assert_true(memmap_copy_from(m, 0x0F80, dst, sizeof(dst)));
    assert_memory_equal(dst, src, sizeof(src));

    /* A copy spanning several whole pages. */
    static uint8_t big[3 * PAGE_SIZE + 10], back[3 * PAGE_SIZE + 10];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    assert_true(memmap_copy_to(m, 0x20FFB, big, sizeof(big)));
    assert_true(memmap_copy_from(m, 0x20FFB, back, sizeof(back)));
    assert_memory_equal(big, back, sizeof(big));

    /* Zero length is a no-op that succeeds. */
    assert_true(memmap_copy_to(m, 0x0F80, src, 0));
    assert_true(memmap_copy_from(m, 0x0F80, dst, 0));
}

static void copy_across_region_boundaries(void **state)
{
    struct memmap *m = *state;
    uint8_t data[16], buf[16];
    for (unsigned i = 0; i < 16; i++)
        data[i] = (uint8_t)(0xC0 + i);

    /* RAM -> unassigned: the RAM half is written, the copy reports failure. */
    assert_false(memmap_copy_to(m, RAM_SIZE - 8, data, 16));
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(memmap_read(m, RAM_SIZE - 8 + i, 1), data[i]);
    assert_int_equal(memmap_read(m, RAM_SIZE, 4), 0xFFFFFFFFu);
    memset(buf, 0, sizeof(buf));
    assert_false(memmap_copy_from(m, RAM_SIZE - 8, buf, 16));
    assert_memory_equal(buf, data, 8);
    for (unsigned i = 8; i < 16; i++)
        assert_int_equal(buf[i], 0xFF);

    /* Unassigned -> RAM does not exist below 4 GiB here; unassigned -> ROM does. */
    uint8_t rom[PAGE_SIZE];
    memset(rom, 0x3C, sizeof(rom));
    assert_int_equal(memmap_add_rom(m, 0x200000, rom, sizeof(rom)), 0);
    memset(buf, 0, sizeof(buf));
    assert_false(memmap_copy_from(m, 0x200000 - 4, buf, 8));
    const uint8_t want[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0x3C, 0x3C, 0x3C, 0x3C};
    assert_memory_equal(buf, want, 8);

    /* RAM -> ROM (ROM directly after RAM): both readable, only RAM writable. */
    assert_int_equal(memmap_add_rom(m, RAM_SIZE, rom, sizeof(rom)), 0);
    memmap_copy_to(m, RAM_SIZE - 8, data, 16);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(memmap_read(m, RAM_SIZE - 8 + i, 1), data[i]);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(memmap_read(m, RAM_SIZE + i, 1), 0x3C);
    memset(buf, 0, sizeof(buf));
    assert_true(memmap_copy_from(m, RAM_SIZE - 8, buf, 16));
    assert_memory_equal(buf, data, 8);
    for (unsigned i = 8; i < 16; i++)
        assert_int_equal(buf[i], 0x3C);
}

static void copy_does_not_wrap_at_4g(void **state)
{
    struct memmap *m = *state;
    /* A DMA descriptor near the top of the address space must not wrap round into RAM at 0. */
    uint8_t data[32];
    memset(data, 0xEE, sizeof(data));
    assert_false(memmap_copy_to(m, 0xFFFFFFF0u, data, sizeof(data)));
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(memmap_read(m, i, 1), 0);
    uint8_t buf[32];
    memset(buf, 0, sizeof(buf));
    memmap_write(m, 0, 0x12345678u, 4);
    assert_false(memmap_copy_from(m, 0xFFFFFFF0u, buf, sizeof(buf)));
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(buf[i], 0xFF);
    /* Nothing was read from physical 0 (which holds 78 56 34 12). */
    assert_memory_not_equal(buf + 16, "\x78\x56\x34\x12", 4);
}

/* ---- Code-page write watch ---- */

struct hook_log {
    unsigned calls;
    uint32_t page;
};

static void hook(void *opaque, uint32_t phys_page)
{
    struct hook_log *h = opaque;
    h->calls++;
    h->page = phys_page;
}

static void code_watch_fires_once_per_mark(void **state)
{
    struct memmap *m = *state;
    struct hook_log h = {0};
    m->code_write_hook = hook;
    m->code_write_opaque = &h;

    /* 3 bytes at 0x347E span the lines 0x3440-0x347F and 0x3480-0x34BF. */
    memmap_mark_code(m, 0x347E, 3);
    assert_true(memmap_is_code(m, 0x3000));
    assert_true(memmap_is_code(m, 0x3FFF));
    assert_false(memmap_is_code(m, 0x4000));
    assert_false(memmap_is_code(m, 0x2FFF));

    memmap_write(m, 0x2FFF, 1, 1); /* neighbour page: no call */
    assert_int_equal(h.calls, 0);
    memmap_write(m, 0x343F, 0xAA, 1); /* same page, line below the code: no call */
    memmap_write(m, 0x34C0, 0xBEEF, 2); /* line above the code: no call */
    assert_int_equal(h.calls, 0);
    assert_true(memmap_is_code(m, 0x3000));
    assert_int_equal(memmap_read(m, 0x34C0, 2), 0xBEEF); /* the data write happened */
    memmap_write(m, 0x34BE, 0x1234, 2); /* touches the second code line */
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.page, 0x3000);
    assert_false(memmap_is_code(m, 0x3000));
    assert_int_equal(memmap_read(m, 0x34BE, 2), 0x1234);
    memmap_write(m, 0x3480, 2, 1); /* marks cleared: no second call */
    assert_int_equal(h.calls, 1);

    /* A DMA-style range copy calls the hook for every watched page whose code lines it
     * touches: 0x5FFC-0x6003 covers line 0x5FC0 and line 0x6000. */
    memmap_mark_code(m, 0x5FF0, 1);
    memmap_mark_code(m, 0x6000, 1);
    uint8_t data[8] = {0};
    assert_true(memmap_copy_to(m, 0x5FFC, data, sizeof(data)));
    assert_int_equal(h.calls, 3);
    assert_int_equal(h.page, 0x6000);
    assert_false(memmap_is_code(m, 0x5000));
    assert_false(memmap_is_code(m, 0x6000));

    /* Reads never fire the hook. */
    memmap_mark_code(m, 0x7000, 16);
    (void)memmap_read(m, 0x7000, 4);
    assert_true(memmap_copy_from(m, 0x7000, data, sizeof(data)));
    assert_int_equal(h.calls, 3);
    assert_true(memmap_is_code(m, 0x7000));
    m->code_write_hook = NULL;
}

/* ---- Bad arguments ---- */

static void init_rejects_bad_sizes(void **state)
{
    (void)state;
    struct memmap m;
    assert_int_equal(memmap_init(&m, 0), -EINVAL);
    assert_int_equal(memmap_init(&m, 0x1001), -EINVAL);      /* not a whole number of pages */
    assert_int_equal(memmap_init(&m, 0x100000 + 0x800), -EINVAL);
    assert_int_equal(memmap_init(&m, 0xF0001000ull), -EINVAL); /* larger than below-4G space */
    assert_int_equal(memmap_init(&m, 0x100000000ull), -EINVAL);
    /* A failed init leaves a map that destroy accepts. */
    memmap_destroy(&m);
}

static void add_rejects_bad_arguments(void **state)
{
    struct memmap *m = *state;
    uint8_t rom[PAGE_SIZE] = {0};
    assert_int_equal(memmap_add_rom(m, 0xF0800, rom, sizeof(rom)), -EINVAL); /* unaligned */
    assert_int_equal(memmap_add_rom(m, 0xF0000, rom, 0), -EINVAL);
    assert_int_equal(memmap_add_rom(m, 0xFFFFF000u, rom, 0x2000), -EINVAL); /* past 4 GiB */
    assert_int_equal(memmap_add_rom(m, 0xF0000, NULL, 0x1000), -EINVAL);
    assert_int_equal(memmap_add_mmio(m, 0xE0000800u, 0x1000, &log_ops, NULL), -EINVAL);
    assert_int_equal(memmap_add_mmio(m, 0xE0000000u, 0x800, &log_ops, NULL), -EINVAL);
    assert_int_equal(memmap_add_mmio(m, 0xE0000000u, 0, &log_ops, NULL), -EINVAL);
    assert_int_equal(memmap_add_mmio(m, 0xFFFFF000u, 0x2000, &log_ops, NULL), -EINVAL);
    assert_int_equal(memmap_add_mmio(m, 0xE0000000u, 0x1000, NULL, NULL), -EINVAL);
    const struct mmio_ops half = {log_read, NULL};
    assert_int_equal(memmap_add_mmio(m, 0xE0000000u, 0x1000, &half, NULL), -EINVAL);
    /* Nothing was mapped by the rejected calls. */
    assert_int_equal(memmap_read(m, 0xE0000000u, 4), 0xFFFFFFFFu);
    assert_int_equal(memmap_read(m, 0xFFFFF000u, 4), 0xFFFFFFFFu);
    assert_int_equal(memmap_read(m, 0xF0000, 4), 0);
    /* The last page of the address space is a valid place for a one-page region. */
    assert_int_equal(memmap_add_rom(m, 0xFFFFF000u, rom, 0x1000), 0);
}

static void add_reports_table_exhaustion(void **state)
{
    struct memmap *m = *state;
    uint8_t rom[16] = {0};
    int r = 0;
    unsigned n = 0;
    while (n < 100 && (r = memmap_add_rom(m, 0x10000000u + n * PAGE_SIZE, rom, sizeof(rom))) == 0)
        n++;
    assert_int_equal(r, -ENOSPC);
    assert_true(n >= 1 && n < 100);
    n = 0;
    while (n < 200 &&
           (r = memmap_add_mmio(m, 0x20000000u + n * PAGE_SIZE, PAGE_SIZE, &log_ops, NULL)) == 0)
        n++;
    assert_int_equal(r, -ENOSPC);
    assert_true(n >= 1 && n < 200);
    /* A rejected region is not mapped. */
    assert_int_equal(memmap_read(m, 0x20000000u + n * PAGE_SIZE, 4), 0xFFFFFFFFu);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_map, teardown_map)
    const struct CMUnitTest tests[] = {
        T(ram_read_write_little_endian),
        T(ram_is_shared_memfd),
        T(unassigned_reads_all_ones_ignores_writes),
        T(rom_is_read_only),
        T(rom_over_ram_shadows_it),
        T(mmio_callbacks_get_offset_and_size),
        T(mmio_over_ram_window),
        T(copy_across_page_boundaries),
        T(copy_across_region_boundaries),
        T(copy_does_not_wrap_at_4g),
        T(code_watch_fires_once_per_mark),
        cmocka_unit_test(init_rejects_bad_sizes),
        T(add_rejects_bad_arguments),
        T(add_reports_table_exhaustion),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
