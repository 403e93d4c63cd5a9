/* Unit tests of the 440FX host bridge (devices/i440fx.c) and the PIIX3 ISA bridge
 * (devices/piix3.c), driven through their I/O ports as firmware drives them. Expected values
 * come from the 82441FX and 82371SB datasheets and the PCI configuration mechanism #1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i440fx.h"
#include "devices/ioport.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "mmu/memmap.h"

#define RAM_SIZE (2u << 20)

struct fixture {
    struct memmap mem;
    struct ioport_bus io;
    struct pci_bus bus;
    struct i440fx host;
    struct piix3 isa;
    unsigned map_changes;
    int pirq[4];
    unsigned pirq_calls;
    uint16_t elcr;
    unsigned elcr_calls;
    bool a20;
    unsigned a20_calls;
    unsigned resets, hard_resets;
};

static void on_map_changed(void *opaque) { ((struct fixture *)opaque)->map_changes++; }

static void on_pirq(void *opaque, unsigned pirq, int irq)
{
    struct fixture *f = opaque;
    assert_true(pirq < 4);
    f->pirq[pirq] = irq;
    f->pirq_calls++;
}

static void on_elcr(void *opaque, uint16_t mask)
{
    struct fixture *f = opaque;
    f->elcr = mask;
    f->elcr_calls++;
}

static void on_a20(void *opaque, bool enabled)
{
    struct fixture *f = opaque;
    f->a20 = enabled;
    f->a20_calls++;
}

static void on_reset(void *opaque, bool hard)
{
    struct fixture *f = opaque;
    f->resets++;
    f->hard_resets += hard;
}

static int build(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    if (memmap_init(&f->mem, RAM_SIZE))
        return -1;
    f->mem.map_changed = on_map_changed;
    f->mem.map_changed_opaque = f;
    ioport_init(&f->io);
    for (int i = 0; i < 4; i++)
        f->pirq[i] = -1;
    struct piix3_callbacks cb = {on_pirq, on_elcr, on_a20, on_reset, f};
    if (i440fx_attach(&f->host, &f->io, &f->bus, &f->mem) ||
        piix3_attach(&f->isa, &f->io, &f->bus, &cb))
        return -1;
    return 0;
}

static void unbuild(struct fixture *f)
{
    i440fx_destroy(&f->host);
    memmap_destroy(&f->mem);
}

static int setup(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    if (!f || build(f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unbuild(f);
    free(f);
    return 0;
}

static uint32_t in(struct fixture *f, uint16_t port, unsigned size) { return ioport_read(&f->io, port, size); }
static void out(struct fixture *f, uint16_t port, uint32_t v, unsigned size) { ioport_write(&f->io, port, v, size); }

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t cfg_read(struct fixture *f, unsigned dev, unsigned reg, unsigned size)
{
    out(f, 0xCF8, cfg_addr(0, dev, 0, reg & 0xFC), 4);
    return in(f, 0xCFC + (reg & 3), size);
}

static void cfg_write(struct fixture *f, unsigned dev, unsigned reg, uint32_t v, unsigned size)
{
    out(f, 0xCF8, cfg_addr(0, dev, 0, reg & 0xFC), 4);
    out(f, 0xCFC + (reg & 3), v, size);
}

/* ---- configuration mechanism #1 ---- */

static void config_mechanism(void **state)
{
    struct fixture *f = *state;
    /* CONFADD keeps the enable bit and bus/device/function/register; bits 30:24 and 1:0
     * are reserved and read as zero. Only dword accesses reach it. */
    out(f, 0xCF8, 0xFFFFFFFF, 4);
    assert_int_equal(in(f, 0xCF8, 4), 0x80FFFFFC);
    out(f, 0xCF8, 0x80000000, 4);
    assert_int_equal(in(f, 0xCF8, 4), 0x80000000);
    out(f, 0xCF8, 0x12, 1); /* a byte write is not a CONFADD write */
    assert_int_equal(in(f, 0xCF8, 4), 0x80000000);

    /* Host bridge 00.0: 8086:1237, rev 02, class 060000 (host bridge). */
    assert_int_equal(cfg_read(f, 0, 0x00, 4), 0x12378086);
    assert_int_equal(cfg_read(f, 0, 0x08, 4), 0x06000002);
    assert_int_equal(cfg_read(f, 0, 0x0C, 4) >> 16 & 0xFF, 0x00); /* single function */
    assert_int_equal(cfg_read(f, 0, 0x04, 2), 0x0006);
    assert_int_equal(cfg_read(f, 0, 0x06, 2), 0x0280);
    assert_int_equal(cfg_read(f, 0, 0x2C, 4), 0x11001AF4);

    /* Byte and word reads at every lane of CONFDATA. */
    out(f, 0xCF8, cfg_addr(0, 0, 0, 0), 4);
    assert_int_equal(in(f, 0xCFC, 1), 0x86);
    assert_int_equal(in(f, 0xCFD, 1), 0x80);
    assert_int_equal(in(f, 0xCFE, 1), 0x37);
    assert_int_equal(in(f, 0xCFF, 1), 0x12);
    assert_int_equal(in(f, 0xCFC, 2), 0x8086);
    assert_int_equal(in(f, 0xCFD, 2), 0x3780);
    assert_int_equal(in(f, 0xCFE, 2), 0x1237);
    /* Lanes past 0xCFF belong to the next dword, where nothing answers. */
    assert_int_equal(in(f, 0xCFE, 4), 0xFFFF1237);
    assert_int_equal(in(f, 0xCFF, 2), 0xFF12);

    /* PIIX3 at 00:01.0: 8086:7000, class 060100 (ISA bridge), multi-function header. */
    assert_int_equal(cfg_read(f, 1, 0x00, 4), 0x70008086);
    assert_int_equal(cfg_read(f, 1, 0x08, 4) >> 8, 0x060100);
    assert_int_equal(cfg_read(f, 1, 0x0E, 1), 0x80);

    /* An absent device, a function of the host bridge that does not exist, another bus,
     * or the enable bit clear: all-ones of the access width, writes go nowhere. */
    assert_int_equal(cfg_read(f, 2, 0x00, 4), 0xFFFFFFFF);
    assert_int_equal(cfg_read(f, 2, 0x02, 2), 0xFFFF);
    assert_int_equal(cfg_read(f, 31, 0x03, 1), 0xFF);
    out(f, 0xCF8, cfg_addr(0, 0, 1, 0), 4);
    assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFF);
    out(f, 0xCF8, cfg_addr(1, 0, 0, 0), 4);
    assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFF);
    out(f, 0xCF8, 0x00000058, 4);
    assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFF);
    out(f, 0xCFC, 0x33333000, 4);
    assert_int_equal(cfg_read(f, 0, 0x58, 4), 0x00000000);
    cfg_write(f, 2, 0x04, 0xFFFF, 2);
    assert_int_equal(cfg_read(f, 2, 0x04, 2), 0xFFFF);

    /* Identity registers are read-only. */
    cfg_write(f, 0, 0x00, 0, 4);
    assert_int_equal(cfg_read(f, 0, 0x00, 4), 0x12378086);
}

static void config_byte_word_writes(void **state)
{
    struct fixture *f = *state;
    /* PAM0-PAM2 sit in lanes 1-3 of dword 0x58. */
    out(f, 0xCF8, cfg_addr(0, 0, 0, 0x58), 4);
    out(f, 0xCFD, 0xFF, 1); /* PAM0: only bits 5:4 exist */
    assert_int_equal(in(f, 0xCFD, 1), 0x30);
    out(f, 0xCFE, 0xFFFF, 2); /* PAM1, PAM2: bits 5:4 and 1:0 */
    assert_int_equal(in(f, 0xCFE, 2), 0x3333);
    out(f, 0xCFF, 0x11, 1);
    assert_int_equal(in(f, 0xCFC, 4), 0x11333000);
    out(f, 0xCFC, 0x5A, 1); /* DRAMT, plain storage */
    assert_int_equal(in(f, 0xCFC, 4), 0x1133305A);
    /* A word write at 0xCFF has only one lane inside CONFDATA. */
    out(f, 0xCFF, 0x2200, 2);
    assert_int_equal(cfg_read(f, 0, 0x5B, 1), 0x00);
    assert_int_equal(cfg_read(f, 0, 0x5C, 1), 0x00);
    /* Dword access with SeaBIOS's pattern. */
    cfg_write(f, 0, 0x5C, 0x33333333, 4);
    assert_int_equal(cfg_read(f, 0, 0x5C, 4), 0x33333333);
}

/* ---- PAM shadowing ---- */

static void set_pam(struct fixture *f, unsigned reg, uint8_t v) { cfg_write(f, 0, reg, v, 1); }

static void pam_shadowing(void **state)
{
    struct fixture *f = *state;
    static uint8_t bios[0x20000];
    for (unsigned i = 0; i < sizeof(bios); i++)
        bios[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(i440fx_load_rom(&f->host, 0xE0000, bios, sizeof(bios)), 0);
    assert_int_equal(i440fx_load_rom(&f->host, 0xF0000, bios, 0x20000), -1); /* past 1 MiB */
    assert_int_equal(i440fx_load_rom(&f->host, 0xA0000, bios, 16), -1);

    /* Reset state (PAM = 0): reads go to the PCI side (the ROM), writes are dropped. */
    assert_int_equal(memmap_read(&f->mem, 0xFFFF0, 1), bios[0x1FFF0]);
    assert_int_equal(memmap_read(&f->mem, 0xE0004, 4),
                     bios[4] | bios[5] << 8 | bios[6] << 16 | (uint32_t)bios[7] << 24);
    memmap_write(&f->mem, 0xF0000, 0xAB, 1);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), bios[0x10000]);
    assert_int_equal(f->mem.ram[0xF0000], 0);
    /* Nothing loaded at 0xC0000: the empty bus reads all-ones. */
    assert_int_equal(memmap_read(&f->mem, 0xC0000, 4), 0xFFFFFFFF);

    /* Write-enable only: writes reach RAM underneath while reads still come from ROM. */
    unsigned changes = f->map_changes;
    set_pam(f, 0x59, 0x20);
    assert_int_equal(f->map_changes, changes + 1); /* one segment moved: one TLB flush */
    memmap_write(&f->mem, 0xF0000, 0xAB, 1);
    assert_int_equal(f->mem.ram[0xF0000], 0xAB);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), bios[0x10000]);
    /* The shadowing idiom: copy the ROM onto itself. */
    uint8_t buf[256];
    assert_true(memmap_copy_from(&f->mem, 0xFFF00, buf, sizeof(buf)));
    assert_true(memmap_copy_to(&f->mem, 0xFFF00, buf, sizeof(buf)));
    assert_memory_equal(f->mem.ram + 0xFFF00, bios + 0x1FF00, sizeof(buf));

    /* Read-enable too: the RAM copy is what the CPU sees now. */
    set_pam(f, 0x59, 0x30);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), 0xAB);
    assert_int_equal(memmap_read(&f->mem, 0xFFF00, 1), bios[0x1FF00]);

    /* Read-only RAM: writes are dropped, the shadow copy stays. */
    set_pam(f, 0x59, 0x10);
    memmap_write(&f->mem, 0xF0000, 0xCD, 1);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), 0xAB);
    assert_false(memmap_copy_to(&f->mem, 0xF0000, buf, 1));
    assert_int_equal(f->mem.ram[0xF0000], 0xAB);

    /* Disabled: back to the ROM, RAM keeps its contents. */
    set_pam(f, 0x59, 0x00);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), bios[0x10000]);

    /* 16 KiB granularity: PAM1's low nibble is 0xC0000-0xC3FFF, its high nibble
     * 0xC4000-0xC7FFF; PAM5's low nibble is 0xE0000-0xE3FFF. */
    set_pam(f, 0x5A, 0x03);
    memmap_write(&f->mem, 0xC3FFC, 0x11223344, 4);
    memmap_write(&f->mem, 0xC4000, 0x55, 1);
    assert_int_equal(memmap_read(&f->mem, 0xC3FFC, 4), 0x11223344);
    assert_int_equal(memmap_read(&f->mem, 0xC4000, 1), 0xFF);
    assert_int_equal(f->mem.ram[0xC4000], 0);
    set_pam(f, 0x5A, 0x30);
    assert_int_equal(memmap_read(&f->mem, 0xC3FFC, 4), 0xFFFFFFFF);
    memmap_write(&f->mem, 0xC4000, 0x55, 1);
    assert_int_equal(memmap_read(&f->mem, 0xC4000, 1), 0x55);
    set_pam(f, 0x5E, 0x03);
    memmap_write(&f->mem, 0xE0000, 0x99, 1);
    assert_int_equal(memmap_read(&f->mem, 0xE0000, 1), 0x99);
    assert_int_equal(memmap_read(&f->mem, 0xE4000, 1), bios[0x4000]);

    /* Writes that leave the PAM bytes as they were move no memory (no TLB flush). */
    changes = f->map_changes;
    cfg_write(f, 0, 0x58, 0x77, 1);
    cfg_write(f, 0, 0x5C, cfg_read(f, 0, 0x5C, 4), 4);
    cfg_write(f, 0, 0x72, 0x0A, 1);
    assert_int_equal(f->map_changes, changes);

    /* Below and above the shadowed area nothing changed: RAM at 0xBF000 and 0x100000. */
    memmap_write(&f->mem, 0xBFFFF, 0x42, 1);
    memmap_write(&f->mem, 0x100000, 0x43, 1);
    assert_int_equal(f->mem.ram[0xBFFFF], 0x42);
    assert_int_equal(f->mem.ram[0x100000], 0x43);

    /* Reset: PAM to 0 and the ROM back in view; the shadow RAM keeps its contents. */
    device_reset(&f->host.dev);
    assert_int_equal(cfg_read(f, 0, 0x58, 4), 0x00000000);
    assert_int_equal(memmap_read(&f->mem, 0xF0000, 1), bios[0x10000]);
    assert_int_equal(memmap_read(&f->mem, 0xC4000, 1), 0xFF);
    assert_int_equal(f->mem.ram[0xF0000], 0xAB);
}

static void pam_seabios_sequence(void **state)
{
    struct fixture *f = *state;
    static uint8_t bios[0x20000];
    memset(bios, 0x90, sizeof(bios));
    bios[0x1FFF0] = 0xEA;
    assert_int_equal(i440fx_load_rom(&f->host, 0xE0000, bios, sizeof(bios)), 0);
    /* make_bios_writable: dwords at 0x58/0x5C with PAM1-6 = 0x33 and PAM0 = 0x30, copy. */
    uint32_t lo = cfg_read(f, 0, 0x58, 4), hi = cfg_read(f, 0, 0x5C, 4);
    lo = (lo & 0xFF) | 0x30u << 8 | 0x33u << 16 | 0x33u << 24;
    hi = 0x33333333;
    cfg_write(f, 0, 0x58, lo, 4);
    cfg_write(f, 0, 0x5C, hi, 4);
    assert_int_equal(memmap_read(&f->mem, 0xFFFF0, 1), 0x00); /* RAM now, still empty */
    static uint8_t tmp[0x10000];
    memcpy(tmp, bios + 0x10000, sizeof(tmp)); /* from the high alias, in a real boot */
    assert_true(memmap_copy_to(&f->mem, 0xF0000, tmp, sizeof(tmp)));
    /* make_bios_readonly: 0xC0000-0xEFFFF 0x11 (read-only), PAM0 0x10. */
    cfg_write(f, 0, 0x58, (lo & 0xFF) | 0x10u << 8 | 0x11u << 16 | 0x11u << 24, 4);
    cfg_write(f, 0, 0x5C, 0x11111111, 4);
    assert_int_equal(memmap_read(&f->mem, 0xFFFF0, 1), 0xEA);
    memmap_write(&f->mem, 0xFFFF0, 0x00, 1);
    assert_int_equal(memmap_read(&f->mem, 0xFFFF0, 1), 0xEA);
}

static void smram_stays_closed(void **state)
{
    struct fixture *f = *state;
    unsigned changes = f->map_changes;
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x02); /* C_BASE_SEG = 010b */
    cfg_write(f, 0, 0x72, 0xEF, 1);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x6A); /* bit 7 reserved, base fixed */
    cfg_write(f, 0, 0x72, 0x4A, 1);                  /* D_OPEN | G_SMRAME */
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x4A);
    /* D_LCK: D_OPEN clears and D_LCK, D_OPEN, G_SMRAME freeze; D_CLS stays writable. */
    cfg_write(f, 0, 0x72, 0x5A, 1);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x1A);
    cfg_write(f, 0, 0x72, 0x42, 1);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x1A);
    cfg_write(f, 0, 0x72, 0x3A, 1);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x3A);
    /* SMRAM never shows: the VGA window's pages are untouched. */
    assert_int_equal(f->map_changes, changes);
    assert_ptr_equal(memmap_read_ptr(&f->mem, 0xA0000), f->mem.ram + 0xA0000);
    device_reset(&f->host.dev);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x02);
    cfg_write(f, 0, 0x72, 0x08, 1);
    assert_int_equal(cfg_read(f, 0, 0x72, 1), 0x0A); /* unlocked again */
}

/* ---- PIIX3 ---- */

static void pirq_routing(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(cfg_read(f, 1, 0x60 + i, 1), 0x80); /* routing disabled at reset */
        assert_int_equal(piix3_pirq_irq(&f->isa, i), -1);
    }
    assert_int_equal(f->pirq_calls, 0);

    cfg_write(f, 1, 0x60, 0x0B, 1);
    assert_int_equal(f->pirq_calls, 1);
    assert_int_equal(f->pirq[0], 11);
    assert_int_equal(piix3_pirq_irq(&f->isa, 0), 11);

    /* A dword write, as SeaBIOS's piix_isa_bridge_setup does it: A=10 B=10 C=11 D=11. */
    cfg_write(f, 1, 0x60, 0x0B0B0A0A, 4);
    assert_int_equal(f->pirq_calls, 5);
    assert_int_equal(f->pirq[0], 10);
    assert_int_equal(f->pirq[1], 10);
    assert_int_equal(f->pirq[2], 11);
    assert_int_equal(f->pirq[3], 11);
    cfg_write(f, 1, 0x60, 0x0B0B0A0A, 4); /* no change, no calls */
    assert_int_equal(f->pirq_calls, 5);

    /* Bits 6:4 are reserved; the reserved IRQ numbers (0, 1, 2, 8, 13) route nowhere. */
    cfg_write(f, 1, 0x62, 0x7F, 1);
    assert_int_equal(cfg_read(f, 1, 0x62, 1), 0x0F);
    assert_int_equal(f->pirq[2], 15);
    static const uint8_t reserved[] = {0, 1, 2, 8, 13};
    for (unsigned i = 0; i < sizeof(reserved); i++) {
        cfg_write(f, 1, 0x63, reserved[i], 1);
        assert_int_equal(piix3_pirq_irq(&f->isa, 3), -1);
        assert_int_equal(f->pirq[3], -1);
    }
    cfg_write(f, 1, 0x63, 0x05, 1);
    assert_int_equal(f->pirq[3], 5);
    /* Bit 7 disables the route whatever the IRQ field says. */
    cfg_write(f, 1, 0x63, 0x85, 1);
    assert_int_equal(f->pirq[3], -1);
    assert_int_equal(piix3_pirq_irq(&f->isa, 7), -1);

    /* Reset disables all routes, and says so. */
    device_reset(&f->isa.dev);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(f->pirq[i], -1);

    /* The board's INTx wiring: PIRQ = (slot + pin - 2) mod 4. */
    assert_int_equal(piix3_pirq_of(0x08, 1), 0);
    assert_int_equal(piix3_pirq_of(0x10, 1), 1);
    assert_int_equal(piix3_pirq_of(0x18, 1), 2);
    assert_int_equal(piix3_pirq_of(0x00, 1), 3);
    assert_int_equal(piix3_pirq_of(0x18, 4), 1);
    assert_int_equal(piix3_pirq_of(0x09, 2), 1); /* function bits do not matter */
}

static void elcr(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(in(f, 0x4D0, 1), 0x00);
    assert_int_equal(in(f, 0x4D1, 1), 0x00);
    /* IRQ 0, 1, 2 (timer, keyboard, cascade) and 8, 13 (RTC, FPU) are always edge. */
    out(f, 0x4D0, 0xFF, 1);
    assert_int_equal(in(f, 0x4D0, 1), 0xF8);
    assert_int_equal(f->elcr, 0x00F8);
    assert_int_equal(f->elcr_calls, 1);
    out(f, 0x4D1, 0xFF, 1);
    assert_int_equal(in(f, 0x4D1, 1), 0xDE);
    assert_int_equal(f->elcr, 0xDEF8);
    assert_int_equal(f->elcr_calls, 2);
    assert_int_equal(piix3_elcr(&f->isa), 0xDEF8);
    out(f, 0x4D1, 0xFF, 1); /* unchanged: no call */
    assert_int_equal(f->elcr_calls, 2);
    /* A word access covers both registers. */
    out(f, 0x4D0, 0x0C20, 2);
    assert_int_equal(in(f, 0x4D0, 2), 0x0C20);
    assert_int_equal(f->elcr, 0x0C20);
    out(f, 0x4D0, 0x2107, 2);
    assert_int_equal(in(f, 0x4D0, 2), 0x0000);
    assert_int_equal(f->elcr, 0x0000);
}

static void port92(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(in(f, 0x92, 1), 0x00);
    out(f, 0x92, 0x02, 1);
    assert_true(f->a20);
    assert_int_equal(f->a20_calls, 1);
    assert_int_equal(in(f, 0x92, 1), 0x02);
    assert_true(piix3_a20(&f->isa));
    assert_int_equal(f->resets, 0);
    out(f, 0x92, 0x02, 1); /* unchanged: no call */
    assert_int_equal(f->a20_calls, 1);

    /* Fast init on the rising edge of bit 0: a soft reset, once until bit 0 is cleared. */
    out(f, 0x92, 0x03, 1);
    assert_int_equal(f->resets, 1);
    assert_int_equal(f->hard_resets, 0);
    assert_int_equal(in(f, 0x92, 1), 0x03);
    out(f, 0x92, 0x03, 1);
    assert_int_equal(f->resets, 1);
    out(f, 0x92, 0x02, 1);
    out(f, 0x92, 0x03, 1);
    assert_int_equal(f->resets, 2);
    assert_int_equal(f->a20_calls, 1);

    /* Reserved bits read as zero; clearing bit 1 gates A20 off. */
    out(f, 0x92, 0xFC, 1);
    assert_int_equal(in(f, 0x92, 1), 0x00);
    assert_false(f->a20);
    assert_int_equal(f->a20_calls, 2);

    /* A reset clears the gate and reports it. */
    out(f, 0x92, 0x02, 1);
    device_reset(&f->isa.dev);
    assert_false(f->a20);
    assert_int_equal(in(f, 0x92, 1), 0x00);
}

static void reset_control(void **state)
{
    struct fixture *f = *state;
    /* 0xCF9 is the PIIX3's, next to the host bridge's CONFADD: both work. */
    assert_int_equal(in(f, 0xCF9, 1), 0x00);
    out(f, 0xCF9, 0x02, 1); /* SRST alone only selects the reset type */
    assert_int_equal(f->resets, 0);
    assert_int_equal(in(f, 0xCF9, 1), 0x02);
    out(f, 0xCF9, 0x06, 1); /* RCPU with SRST: hard reset (SeaBIOS's qemu_reboot) */
    assert_int_equal(f->resets, 1);
    assert_int_equal(f->hard_resets, 1);
    assert_int_equal(in(f, 0xCF9, 1), 0x02); /* RCPU is not stored */
    out(f, 0xCF9, 0x04, 1); /* RCPU alone: soft reset */
    assert_int_equal(f->resets, 2);
    assert_int_equal(f->hard_resets, 1);
    assert_int_equal(cfg_read(f, 0, 0x00, 4), 0x12378086);
}

/* ---- save / load ---- */

static void save_load(void **state)
{
    struct fixture *f = *state;
    static uint8_t bios[0x20000];
    memset(bios, 0xC3, sizeof(bios));
    assert_int_equal(i440fx_load_rom(&f->host, 0xE0000, bios, sizeof(bios)), 0);
    cfg_write(f, 0, 0x59, 0x30, 1);
    cfg_write(f, 0, 0x5A, 0x31, 1);
    cfg_write(f, 0, 0x72, 0x1A, 1);
    cfg_write(f, 0, 0x67, 0x10, 1);
    memmap_write(&f->mem, 0xF0000, 0x77, 1);
    out(f, 0xCF8, cfg_addr(0, 1, 0, 0x60), 4);
    out(f, 0xCFC, 0x800B0A09, 4);
    out(f, 0x4D1, 0x0E, 1);
    out(f, 0x92, 0x02, 1);
    out(f, 0xCF9, 0x02, 1);

    uint8_t hbuf[512], ibuf[512];
    size_t hn = device_save(&f->host.dev, NULL, 0), in_ = device_save(&f->isa.dev, NULL, 0);
    assert_true(hn <= sizeof(hbuf) && in_ <= sizeof(ibuf));
    assert_int_equal(device_save(&f->host.dev, hbuf, sizeof(hbuf)), hn);
    assert_int_equal(device_save(&f->isa.dev, ibuf, sizeof(ibuf)), in_);

    /* A second board, fresh; RAM contents travel separately (copied by hand here). */
    struct fixture *g = malloc(sizeof(*g));
    assert_non_null(g);
    assert_int_equal(build(g), 0);
    assert_int_equal(i440fx_load_rom(&g->host, 0xE0000, bios, sizeof(bios)), 0);
    memcpy(g->mem.ram, f->mem.ram, RAM_SIZE);
    assert_int_equal(device_load(&g->host.dev, hbuf, hn), 0);
    assert_int_equal(device_load(&g->isa.dev, ibuf, in_), 0);
    assert_memory_equal(g->host.fn.config, f->host.fn.config, 256);
    assert_memory_equal(g->isa.fn.config, f->isa.fn.config, 256);
    assert_int_equal(in(g, 0xCF8, 4), cfg_addr(0, 1, 0, 0x60));
    /* The restored PAM settings are in effect. */
    assert_int_equal(memmap_read(&g->mem, 0xF0000, 1), 0x77);
    memmap_write(&g->mem, 0xF0000, 0x78, 1); /* PAM0 = 0x30: read/write RAM */
    assert_int_equal(memmap_read(&g->mem, 0xF0000, 1), 0x78);
    /* PAM1 low nibble 1 (read-only RAM), high nibble 3 (read/write RAM). */
    memmap_write(&g->mem, 0xC0000, 0x12, 1);
    memmap_write(&g->mem, 0xC4000, 0x34, 1);
    assert_int_equal(memmap_read(&g->mem, 0xC0000, 1), 0x00);
    assert_int_equal(memmap_read(&g->mem, 0xC4000, 1), 0x34);
    /* SMRAM stays locked. */
    cfg_write(g, 0, 0x72, 0x4A, 1);
    assert_int_equal(cfg_read(g, 0, 0x72, 1), 0x1A);
    /* The machine was told the restored routing, trigger modes and A20. */
    assert_int_equal(g->pirq[0], 9);
    assert_int_equal(g->pirq[1], 10);
    assert_int_equal(g->pirq[2], 11);
    assert_int_equal(g->pirq[3], -1);
    assert_int_equal(g->elcr, 0x0E00);
    assert_true(g->a20);
    assert_int_equal(g->resets, 0); /* restoring is no reset request */
    assert_int_equal(in(g, 0xCF9, 1), 0x02);

    /* Damaged records are refused and leave the device reset. */
    uint8_t bad[512];
    memcpy(bad, hbuf, hn);
    bad[6 + 4 + 0x00] ^= 1; /* vendor ID is read-only */
    assert_int_equal(device_load(&g->host.dev, bad, hn), -1);
    assert_int_equal(cfg_read(g, 0, 0x59, 1), 0x00);
    assert_int_equal(memmap_read(&g->mem, 0xF0000, 1), 0xC3); /* ROM again */
    memcpy(bad, hbuf, hn);
    bad[6 + 4 + 0x59] = 0x31; /* a reserved PAM0 bit */
    assert_int_equal(device_load(&g->host.dev, bad, hn), -1);
    memcpy(bad, hbuf, hn);
    bad[6 + 4 + 0x72] = 0x5A; /* locked and open at once */
    assert_int_equal(device_load(&g->host.dev, bad, hn), -1);
    memcpy(bad, hbuf, hn);
    bad[6 + 3] |= 0x40; /* reserved CONFADD bit */
    assert_int_equal(device_load(&g->host.dev, bad, hn), -1);
    assert_int_equal(device_load(&g->host.dev, hbuf, hn - 1), -1);
    assert_int_equal(device_load(&g->host.dev, hbuf, hn), 0);

    memcpy(bad, ibuf, in_);
    bad[6 + 256] = 0x01; /* ELCR bit of IRQ 0 */
    assert_int_equal(device_load(&g->isa.dev, bad, in_), -1);
    assert_int_equal(g->pirq[0], -1); /* reset, and the machine heard of it */
    assert_false(g->a20);
    memcpy(bad, ibuf, in_);
    bad[6 + 0x60] = 0x70; /* reserved PIRQ bits */
    assert_int_equal(device_load(&g->isa.dev, bad, in_), -1);
    memcpy(bad, ibuf, in_);
    bad[6 + 258] = 0x04; /* reserved port 0x92 bit */
    assert_int_equal(device_load(&g->isa.dev, bad, in_), -1);
    assert_int_equal(device_load(&g->isa.dev, ibuf, in_ - 1), -1);
    assert_int_equal(device_load(&g->isa.dev, ibuf, in_), 0);
    assert_int_equal(g->pirq[0], 9);

    unbuild(g);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(config_mechanism, setup, teardown),
        cmocka_unit_test_setup_teardown(config_byte_word_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(pam_shadowing, setup, teardown),
        cmocka_unit_test_setup_teardown(pam_seabios_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(smram_stays_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(pirq_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(elcr, setup, teardown),
        cmocka_unit_test_setup_teardown(port92, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_control, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
