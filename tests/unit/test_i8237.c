/* Unit tests of the 8237A DMA controller pair (devices/i8237.c), programmed through its I/O
 * ports the way a BIOS does, with transfers pulled by a pretend device. Expected addresses
 * and register values are worked out by hand from the 8237A datasheet and the AT's page
 * register map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i8237.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

#define RAM_SIZE (4u << 20)

struct fixture {
    struct memmap mem;
    struct ioport_bus bus;
    struct i8237 dma;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || memmap_init(&f->mem, RAM_SIZE))
        return -1;
    ioport_init(&f->bus);
    if (i8237_attach(&f->dma, &f->bus, &f->mem))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    memmap_destroy(&f->mem);
    free(f);
    return 0;
}

static void out(struct fixture *f, uint16_t port, uint8_t v) { ioport_write(&f->bus, port, v, 1); }
static uint8_t in(struct fixture *f, uint16_t port) { return (uint8_t)ioport_read(&f->bus, port, 1); }

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* Channel 2 the way SeaBIOS sets it up for a floppy read. */
static void program_ch2(struct fixture *f, uint32_t phys, uint16_t count, uint8_t mode)
{
    out(f, 0x0A, 0x06); /* mask channel 2 */
    out(f, 0x0C, 0x00); /* clear flip-flop */
    out(f, 0x04, (uint8_t)phys);
    out(f, 0x04, (uint8_t)(phys >> 8));
    out(f, 0x0C, 0x00);
    out(f, 0x05, (uint8_t)count);
    out(f, 0x05, (uint8_t)(count >> 8));
    out(f, 0x0B, mode);
    out(f, 0x81, (uint8_t)(phys >> 16));
    out(f, 0x0A, 0x02); /* unmask */
}

static void channel2_512_bytes(void **state)
{
    struct fixture *f = *state;
    uint8_t src[512], got[512];
    fill(src, sizeof(src), 0x11);
    memset(f->mem.ram + 0x23400 - 16, 0xEE, 512 + 32);
    /* single mode, increment, no auto-init, write (to memory), channel 2 */
    program_ch2(f, 0x23400, 511, 0x46);
    assert_int_equal(in(f, 0x0F) & 0x0F, 0x0B); /* only channel 2 unmasked since power-on */
    bool tc = false;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 512, DMA_TO_MEMORY, &tc), 512);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x23400, src, 512);
    /* Neighbours untouched. */
    assert_int_equal(f->mem.ram[0x23400 - 1], 0xEE);
    assert_int_equal(f->mem.ram[0x23400 + 512], 0xEE);
    /* Status: TC for channel 2, cleared by the read. */
    assert_int_equal(in(f, 0x08) & 0x0F, 0x04);
    assert_int_equal(in(f, 0x08) & 0x0F, 0x00);
    /* No auto-init: the channel masked itself at TC. */
    assert_int_equal(in(f, 0x0F) & 0x0F, 0x0F);
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 512, DMA_TO_MEMORY, &tc), 0);
    assert_false(tc);
    /* Current address advanced by 512, count wrapped to 0xFFFF. */
    out(f, 0x0C, 0);
    uint16_t addr = in(f, 0x04);
    addr |= (uint16_t)(in(f, 0x04) << 8);
    uint16_t count = in(f, 0x05);
    count |= (uint16_t)(in(f, 0x05) << 8);
    assert_int_equal(addr, 0x3600);
    assert_int_equal(count, 0xFFFF);

    /* The other direction: a read-mode channel hands memory to the device. */
    program_ch2(f, 0x23400, 511, 0x4A);
    assert_int_equal(i8237_transfer(&f->dma, 2, got, 512, DMA_FROM_MEMORY, &tc), 512);
    assert_true(tc);
    assert_memory_equal(got, src, 512);
}

static void partial_then_tc(void **state)
{
    struct fixture *f = *state;
    uint8_t src[1024];
    fill(src, sizeof(src), 3);
    program_ch2(f, 0x50000, 1023, 0x46);
    bool tc = true;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 512, DMA_TO_MEMORY, &tc), 512);
    assert_false(tc);
    assert_int_equal(i8237_remaining(&f->dma, 2), 512);
    assert_int_equal(in(f, 0x08) & 0x0F, 0);
    /* A device offering more than is left stops at TC. */
    assert_int_equal(i8237_transfer(&f->dma, 2, src + 512, 1024, DMA_TO_MEMORY, &tc), 512);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x50000, src, 1024);
}

static void sixteen_bit_channel(void **state)
{
    struct fixture *f = *state;
    uint8_t src[256];
    fill(src, sizeof(src), 0x40);
    memset(f->mem.ram + 0x30000, 0, 0x20000);
    /* Channel 5: controller 2 register i at 0xC0 + 2i. Word address 0x8000, page 0x03:
     * physical (0x03 & 0xFE) << 16 | 0x8000 << 1 = 0x30000. Count 127 words = 256 bytes. */
    out(f, 0xD4, 0x05);       /* mask channel 5 (1 on controller 2) */
    out(f, 0xD8, 0x00);       /* clear flip-flop */
    out(f, 0xC4, 0x00);
    out(f, 0xC4, 0x80);
    out(f, 0xC6, 127);
    out(f, 0xC6, 0);
    out(f, 0xD6, 0x45);       /* single, write, channel 1 of controller 2 */
    out(f, 0x8B, 0x03);       /* channel 5 page */
    out(f, 0xD4, 0x01);       /* unmask */
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 5, src, sizeof(src), DMA_TO_MEMORY, &tc), 256);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x30000, src, 256);
    /* Not at 0x20000 + 0x8000 (unshifted) nor with the page's low bit. */
    assert_int_equal(f->mem.ram[0x28000], 0);
    assert_int_equal(f->mem.ram[0x40000], 0);
    /* Status of controller 2 at 0xD0: TC on its channel 1. */
    assert_int_equal(in(f, 0xD0) & 0x0F, 0x02);
    /* Current word address advanced by 128 words. The odd alias port reads the same. */
    out(f, 0xD8, 0);
    uint16_t addr = in(f, 0xC5);
    addr |= (uint16_t)(in(f, 0xC4) << 8);
    assert_int_equal(addr, 0x8080);
}

static void sixteen_bit_wraps_in_128k(void **state)
{
    struct fixture *f = *state;
    uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memset(f->mem.ram + 0x20000, 0, 0x40000);
    /* Channel 6 at word 0xFFFE, page 0x02: two words at 0x3FFFC, then the word address
     * wraps to 0 inside the same 128 KiB page: 0x20000. */
    out(f, 0xD8, 0);
    out(f, 0xC8, 0xFE);
    out(f, 0xC8, 0xFF);
    out(f, 0xCA, 3);
    out(f, 0xCA, 0);
    out(f, 0xD6, 0x46);
    out(f, 0x89, 0x02);
    out(f, 0xD4, 0x02);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 6, src, 8, DMA_TO_MEMORY, &tc), 8);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x3FFFC, src, 4);
    assert_memory_equal(f->mem.ram + 0x20000, src + 4, 4);
    assert_int_equal(f->mem.ram[0x40000], 0);
    /* An odd byte count moves whole words only. */
    out(f, 0xD8, 0);
    out(f, 0xCA, 9);
    out(f, 0xCA, 0);
    out(f, 0xD4, 0x02);
    assert_int_equal(i8237_transfer(&f->dma, 6, src, 5, DMA_TO_MEMORY, &tc), 4);
}

static void eight_bit_wraps_in_64k(void **state)
{
    struct fixture *f = *state;
    uint8_t src[32];
    fill(src, sizeof(src), 9);
    memset(f->mem.ram + 0x10000, 0, 0x20000);
    program_ch2(f, 0x1FFF0, 31, 0x46);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 32, DMA_TO_MEMORY, &tc), 32);
    assert_true(tc);
    /* The page register does not carry: the second half lands at the page's start. */
    assert_memory_equal(f->mem.ram + 0x1FFF0, src, 16);
    assert_memory_equal(f->mem.ram + 0x10000, src + 16, 16);
    assert_int_equal(f->mem.ram[0x20000], 0);
}

static void auto_init_reloads(void **state)
{
    struct fixture *f = *state;
    uint8_t a[256], b[256];
    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 100);
    /* 0x56: single, auto-init, write, channel 2 */
    program_ch2(f, 0x60000, 255, 0x56);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 2, a, 256, DMA_TO_MEMORY, &tc), 256);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x60000, a, 256);
    /* Still unmasked, base address and count reloaded: the next block overwrites the first. */
    assert_int_equal(in(f, 0x0F) & 0x04, 0);
    assert_int_equal(i8237_remaining(&f->dma, 2), 256);
    assert_int_equal(i8237_transfer(&f->dma, 2, b, 256, DMA_TO_MEMORY, &tc), 256);
    assert_true(tc);
    assert_memory_equal(f->mem.ram + 0x60000, b, 256);
    assert_int_equal(in(f, 0x08) & 0x0F, 0x04);
}

static void decrement_mode(void **state)
{
    struct fixture *f = *state;
    uint8_t src[4] = {0xA1, 0xA2, 0xA3, 0xA4};
    /* 0x66: single, decrement, write, channel 2 — bytes go downwards from 0x7000F. */
    program_ch2(f, 0x7000F, 3, 0x66);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 4, DMA_TO_MEMORY, &tc), 4);
    assert_true(tc);
    assert_int_equal(f->mem.ram[0x7000F], 0xA1);
    assert_int_equal(f->mem.ram[0x7000E], 0xA2);
    assert_int_equal(f->mem.ram[0x7000D], 0xA3);
    assert_int_equal(f->mem.ram[0x7000C], 0xA4);
}

static void verify_mismatch_and_masks(void **state)
{
    struct fixture *f = *state;
    uint8_t src[64];
    fill(src, sizeof(src), 77);
    memset(f->mem.ram + 0x8000, 0x5A, 64);
    /* Verify (0x42): the count runs, memory is not written. */
    program_ch2(f, 0x8000, 63, 0x42);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 64, DMA_TO_MEMORY, &tc), 64);
    assert_true(tc);
    assert_int_equal(f->mem.ram[0x8000], 0x5A);
    /* A read-mode channel does not take data from a device that writes memory. */
    program_ch2(f, 0x8000, 63, 0x4A);
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 64, DMA_TO_MEMORY, &tc), 0);
    assert_int_equal(f->mem.ram[0x8000], 0x5A);
    assert_int_equal(i8237_remaining(&f->dma, 2), 64);
    /* Masked through the all-mask register: nothing. Cleared: it runs. */
    program_ch2(f, 0x8000, 63, 0x46);
    out(f, 0x0F, 0x0F);
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 64, DMA_TO_MEMORY, &tc), 0);
    out(f, 0x0E, 0);
    assert_int_equal(in(f, 0x0F) & 0x0F, 0);
    /* Controller disabled by the command register. */
    out(f, 0x08, 0x04);
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 64, DMA_TO_MEMORY, &tc), 0);
    out(f, 0x08, 0x00);
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 64, DMA_TO_MEMORY, &tc), 64);
    /* Cascade mode channels serve no device; neither do channel numbers past 7. */
    out(f, 0xD6, 0xC0);
    out(f, 0xD4, 0x00);
    assert_int_equal(i8237_transfer(&f->dma, 4, src, 64, DMA_TO_MEMORY, &tc), 0);
    assert_int_equal(i8237_transfer(&f->dma, 8, src, 64, DMA_TO_MEMORY, &tc), 0);
    assert_int_equal(i8237_transfer(&f->dma, 99, src, 64, DMA_TO_MEMORY, NULL), 0);
}

static void master_clear_and_request(void **state)
{
    struct fixture *f = *state;
    out(f, 0x0E, 0);            /* all unmasked */
    out(f, 0x09, 0x04 | 3);     /* software request on channel 3 */
    assert_int_equal(in(f, 0x08) & 0xF0, 0x80);
    out(f, 0x09, 3);
    assert_int_equal(in(f, 0x08) & 0xF0, 0x00);
    /* Flip-flop left on the high byte, then master clear resets it and masks everything. */
    out(f, 0x0C, 0);
    out(f, 0x00, 0x34);
    out(f, 0x0D, 0);
    assert_int_equal(in(f, 0x0F) & 0x0F, 0x0F);
    out(f, 0x00, 0x12);         /* low byte again after the clear */
    out(f, 0x00, 0xAB);
    out(f, 0x0C, 0);
    assert_int_equal(in(f, 0x00), 0x12);
    assert_int_equal(in(f, 0x00), 0xAB);
}

static void page_registers(void **state)
{
    struct fixture *f = *state;
    for (uint16_t p = 0x81; p <= 0x8F; p++)
        out(f, p, (uint8_t)(p ^ 0x5A));
    for (uint16_t p = 0x81; p <= 0x8F; p++)
        assert_int_equal(in(f, p), (uint8_t)(p ^ 0x5A));
    /* 0x80 is the POST port's, not ours: unclaimed here. */
    assert_int_equal(f->bus.owner[0x80], 0);
    /* A word access reaches two page registers. */
    ioport_write(&f->bus, 0x82, 0x3344, 2);
    assert_int_equal(in(f, 0x82), 0x44);
    assert_int_equal(in(f, 0x83), 0x33);
}

static void hostile_addresses(void **state)
{
    struct fixture *f = *state;
    uint8_t src[512], got[512];
    fill(src, sizeof(src), 1);
    /* Page 0xFF: 16 MiB - 64 KiB, far past our 4 MiB of RAM. Nothing breaks, nothing lands. */
    program_ch2(f, 0xFFFF00, 511, 0x46);
    bool tc;
    assert_int_equal(i8237_transfer(&f->dma, 2, src, 512, DMA_TO_MEMORY, &tc), 512);
    assert_true(tc);
    program_ch2(f, 0xFFFF00, 511, 0x4A);
    assert_int_equal(i8237_transfer(&f->dma, 2, got, 512, DMA_FROM_MEMORY, &tc), 512);
    for (size_t i = 0; i < sizeof(got); i++)
        assert_int_equal(got[i], 0xFF); /* unassigned memory reads as all-ones */
    /* Largest count on a 16-bit channel, a small buffer: the buffer bounds the transfer. */
    out(f, 0xD8, 0);
    out(f, 0xCC, 0xFF);
    out(f, 0xCC, 0xFF);
    out(f, 0xCE, 0xFF);
    out(f, 0xCE, 0xFF);
    out(f, 0xD6, 0x47);
    out(f, 0x8A, 0xFF);
    out(f, 0xD4, 0x03);
    assert_int_equal(i8237_transfer(&f->dma, 7, src, 3, DMA_TO_MEMORY, &tc), 2);
    assert_false(tc);
    assert_int_equal(i8237_remaining(&f->dma, 7), 0xFFFF);
}

static void save_load_round_trip(void **state)
{
    struct fixture *f = *state;
    program_ch2(f, 0x12345, 0x400, 0x56);
    out(f, 0x0C, 0);
    out(f, 0x04, 0x99); /* leave the flip-flop on the high byte */
    out(f, 0xD6, 0xC0);
    out(f, 0x8D, 0x77);
    uint8_t buf[512];
    size_t n = device_save(&f->dma.dev, buf, sizeof(buf));
    assert_true(n <= sizeof(buf));

    struct fixture *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(memmap_init(&g->mem, RAM_SIZE), 0);
    ioport_init(&g->bus);
    assert_int_equal(i8237_attach(&g->dma, &g->bus, &g->mem), 0);
    assert_int_equal(device_load(&g->dma.dev, buf, n), 0);
    assert_memory_equal(&g->dma.chip, &f->dma.chip, sizeof(f->dma.chip));
    assert_memory_equal(g->dma.page, f->dma.page, sizeof(f->dma.page));
    uint8_t again[512];
    assert_int_equal(device_save(&g->dma.dev, again, sizeof(again)), n);
    assert_memory_equal(again, buf, n);

    /* Malformed states are refused and leave the device reset. */
    assert_int_equal(device_load(&g->dma.dev, buf, n - 1), -1);
    assert_int_equal(in(g, 0x0F) & 0x0F, 0x0F);
    uint8_t bad[512];
    memcpy(bad, buf, n);
    bad[6 + 9 * 4 + 3] = 0x1F; /* controller 1 mask with bits above 3 */
    assert_int_equal(device_load(&g->dma.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 8] = 0x47; /* channel 0 mode with channel-select bits */
    assert_int_equal(device_load(&g->dma.dev, bad, n), -1);
    memmap_destroy(&g->mem);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(channel2_512_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(partial_then_tc, setup, teardown),
        cmocka_unit_test_setup_teardown(sixteen_bit_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(sixteen_bit_wraps_in_128k, setup, teardown),
        cmocka_unit_test_setup_teardown(eight_bit_wraps_in_64k, setup, teardown),
        cmocka_unit_test_setup_teardown(auto_init_reloads, setup, teardown),
        cmocka_unit_test_setup_teardown(decrement_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_mismatch_and_masks, setup, teardown),
        cmocka_unit_test_setup_teardown(master_clear_and_request, setup, teardown),
        cmocka_unit_test_setup_teardown(page_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
