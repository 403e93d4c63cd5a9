/* Unit tests of the VGA (devices/vga.c, devices/vga_render.c) through its ports and memory
 * window: the DAC, the attribute flip-flop, the graphics controller's write and read modes,
 * chain-4 and odd/even addressing, text and graphics rendering, the text reader, Bochs VBE
 * (LFB, bank window, bounds), input status, the PCI function, and save/load. Expected values
 * are worked out by hand from the IBM VGA register reference and the Bochs DISPI interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/clock.h"
#include "devices/ioport.h"
#include "devices/vga.h"
#include "tests/support/testvm.h"

static const char *vgabios_path; /* argv[1]: SeaBIOS's vgabios-stdvga.bin, when installed */

struct fixture {
    struct ioport_bus bus;
    struct vga v;
    int bars_calls;
};

static void bars_changed(void *opaque, struct vga *v)
{
    struct fixture *f = opaque;
    assert_ptr_equal(v, &f->v);
    f->bars_calls++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ioport_init(&f->bus);
    if (vga_init(&f->v, VGA_VRAM_DEFAULT) || vga_attach_ports(&f->v, &f->bus))
        return -1;
    f->v.bars_changed = bars_changed;
    f->v.bars_opaque = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vga_destroy(&f->v);
    free(f);
    return 0;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
    ioport_write(&f->bus, port, v, 1);
}
static void outw(struct fixture *f, uint16_t port, uint16_t v)
{
    ioport_write(&f->bus, port, v, 2);
}
static uint8_t inb(struct fixture *f, uint16_t port)
{
    return (uint8_t)ioport_read(&f->bus, port, 1);
}
static uint16_t inw(struct fixture *f, uint16_t port)
{
    return (uint16_t)ioport_read(&f->bus, port, 2);
}

/* Physical address in A0000-BFFFF */
static void memw(struct fixture *f, uint32_t phys, uint8_t v)
{
    vga_legacy_mmio_ops.write(&f->v, phys - VGA_LEGACY_BASE, v, 1);
}
static uint8_t memr(struct fixture *f, uint32_t phys)
{
    return (uint8_t)vga_legacy_mmio_ops.read(&f->v, phys - VGA_LEGACY_BASE, 1);
}

static void seq(struct fixture *f, uint8_t i, uint8_t v) { outw(f, 0x3C4, (uint16_t)(v << 8 | i)); }
static void gfx(struct fixture *f, uint8_t i, uint8_t v) { outw(f, 0x3CE, (uint16_t)(v << 8 | i)); }
static void crtc(struct fixture *f, uint8_t i, uint8_t v)
{
    outb(f, 0x3D4, i);
    outb(f, 0x3D5, v);
}
static void attr(struct fixture *f, uint8_t i, uint8_t v)
{
    inb(f, 0x3DA);
    outb(f, 0x3C0, i);
    outb(f, 0x3C0, v);
    outb(f, 0x3C0, 0x20);
}
static void dac(struct fixture *f, uint8_t i, uint8_t r, uint8_t g, uint8_t b)
{
    outb(f, 0x3C8, i);
    outb(f, 0x3C9, r);
    outb(f, 0x3C9, g);
    outb(f, 0x3C9, b);
}
static void dispi(struct fixture *f, uint16_t i, uint16_t v)
{
    outw(f, VBE_DISPI_IOPORT_INDEX, i);
    outw(f, VBE_DISPI_IOPORT_DATA, v);
}
static uint16_t dispi_rd(struct fixture *f, uint16_t i)
{
    outw(f, VBE_DISPI_IOPORT_INDEX, i);
    return inw(f, VBE_DISPI_IOPORT_DATA);
}

/* A whole mode from its register table, the way a BIOS loads one. */
static void set_mode(struct fixture *f, uint8_t misc, const uint8_t sr[4], const uint8_t cr[25],
                     const uint8_t gr[9], const uint8_t ar[20])
{
    outb(f, 0x3C2, misc);
    seq(f, 0, 0x01);
    for (unsigned i = 0; i < 4; i++)
        seq(f, (uint8_t)(i + 1), sr[i]);
    seq(f, 0, 0x03);
    crtc(f, 0x11, 0x00); /* unprotect */
    for (unsigned i = 0; i < 25; i++)
        crtc(f, (uint8_t)i, cr[i]);
    for (unsigned i = 0; i < 9; i++)
        gfx(f, (uint8_t)i, gr[i]);
    inb(f, 0x3DA);
    for (unsigned i = 0; i < 20; i++) {
        outb(f, 0x3C0, (uint8_t)i);
        outb(f, 0x3C0, ar[i]);
    }
    outb(f, 0x3C0, 0x14);
    outb(f, 0x3C0, 0x00);
    outb(f, 0x3C0, 0x20);
}

static const uint8_t m13_sr[4] = {0x01, 0x0F, 0x00, 0x0E};
static const uint8_t m13_cr[25] = {0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00,
                                   0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x0E,
                                   0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF};
static const uint8_t m13_gr[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF};
static const uint8_t m13_ar[20] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                   0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00};

static const uint8_t m12_sr[4] = {0x01, 0x0F, 0x00, 0x06};
static const uint8_t m12_cr[25] = {0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00,
                                   0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x8C,
                                   0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF};
static const uint8_t m12_gr[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF};
static const uint8_t m12_ar[20] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39,
                                   0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x01, 0x00, 0x0F, 0x00};

static const uint8_t *pixel(const struct vga_frame *fr, uint32_t x, uint32_t y)
{
    assert_true(x < fr->width && y < fr->height);
    return fr->rgb + ((size_t)y * fr->width + x) * 3;
}

static void assert_rgb(const uint8_t *p, uint8_t r, uint8_t g, uint8_t b)
{
    if (p[0] != r || p[1] != g || p[2] != b)
        fail_msg("pixel %02x%02x%02x, expected %02x%02x%02x", p[0], p[1], p[2], r, g, b);
}

/* ---- DAC ---- */

static void dac_auto_increment(void **state)
{
    struct fixture *f = *state;
    outb(f, 0x3C8, 5);
    const uint8_t vals[6] = {1, 2, 3, 4, 5, 0x7F};
    for (unsigned i = 0; i < 6; i++)
        outb(f, 0x3C9, vals[i]);
    assert_int_equal(inb(f, 0x3C8), 7); /* two whole triples written */
    assert_int_equal(inb(f, 0x3C7), 0x00); /* write mode */

    outb(f, 0x3C7, 5);
    assert_int_equal(inb(f, 0x3C7), 0x03); /* read mode */
    const uint8_t want[6] = {1, 2, 3, 4, 5, 0x3F}; /* 6-bit DAC: the top bits are gone */
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(inb(f, 0x3C9), want[i]);
    /* The read index moved on to 7: its first component follows. */
    dac(f, 7, 9, 10, 11);
    outb(f, 0x3C7, 6);
    for (unsigned i = 0; i < 3; i++)
        inb(f, 0x3C9);
    assert_int_equal(inb(f, 0x3C9), 9);

    /* A new index restarts the component count; the index wraps after 255. */
    outb(f, 0x3C8, 255);
    outb(f, 0x3C9, 1);
    outb(f, 0x3C8, 255);
    outb(f, 0x3C9, 0x11);
    outb(f, 0x3C9, 0x12);
    outb(f, 0x3C9, 0x13);
    outb(f, 0x3C9, 0x21);
    assert_int_equal(inb(f, 0x3C8), 0);
    outb(f, 0x3C7, 255);
    assert_int_equal(inb(f, 0x3C9), 0x11);
    assert_int_equal(inb(f, 0x3C9), 0x12);
    assert_int_equal(inb(f, 0x3C9), 0x13);
    assert_int_equal(inb(f, 0x3C9), 0x21); /* entry 0, red */

    outb(f, 0x3C6, 0x0F);
    assert_int_equal(inb(f, 0x3C6), 0x0F);
}

/* ---- attribute controller ---- */

static void attribute_flip_flop(void **state)
{
    struct fixture *f = *state;
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x01);   /* index 1, PAS = 0 */
    outb(f, 0x3C0, 0x15);   /* data */
    assert_int_equal(inb(f, 0x3C0), 0x01);
    assert_int_equal(inb(f, 0x3C1), 0x15);
    outb(f, 0x3C0, 0x02);   /* flip-flop back at index: this selects register 2 */
    assert_int_equal(inb(f, 0x3C0), 0x02);
    /* Now it expects data; reading input status 1 puts it back to index. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x03);
    assert_int_equal(inb(f, 0x3C0), 0x03);
    outb(f, 0x3C0, 0x2A);
    assert_int_equal(inb(f, 0x3C1), 0x2A);

    /* Reading 0x3C1 does not move the flip-flop. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x04);
    inb(f, 0x3C1);
    outb(f, 0x3C0, 0x0B);
    assert_int_equal(inb(f, 0x3C0), 0x04);
    assert_int_equal(inb(f, 0x3C1), 0x0B);

    /* With PAS = 1 the video owns the palette: writes to it are ignored, others are not. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x21);
    outb(f, 0x3C0, 0x3F);
    assert_int_equal(inb(f, 0x3C1), 0x15);
    outb(f, 0x3C0, 0x31);
    outb(f, 0x3C0, 0x07);
    assert_int_equal(inb(f, 0x3C1), 0x07);

    /* The input status of the other (mono) address is not decoded and resets nothing. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x05);
    assert_int_equal(inb(f, 0x3BA), 0xFF);
    outb(f, 0x3C0, 0x06);
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x05);
    assert_int_equal(inb(f, 0x3C1), 0x06);
    /* Palette values keep 6 bits; a nonexistent register reads 0. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x05);
    outb(f, 0x3C0, 0xFF);
    assert_int_equal(inb(f, 0x3C1), 0x3F);
    outb(f, 0x3C0, 0x1F);
    outb(f, 0x3C0, 0xFF);
    assert_int_equal(inb(f, 0x3C1), 0x00);
}

/* ---- graphics controller ---- */

static void planar_setup(struct fixture *f)
{
    seq(f, 2, 0x0F);
    seq(f, 4, 0x06); /* sequential (no odd/even), no chain-4 */
    gfx(f, 5, 0x00);
    gfx(f, 6, 0x05); /* graphics, A0000-AFFFF */
    gfx(f, 8, 0xFF);
}

static uint8_t read_plane(struct fixture *f, uint32_t phys, unsigned p)
{
    gfx(f, 4, (uint8_t)p);
    return memr(f, phys);
}

static void write_mode0_set_reset_bitmask(void **state)
{
    struct fixture *f = *state;
    planar_setup(f);
    memw(f, 0xA0010, 0xAA); /* all four planes */
    for (unsigned p = 0; p < 4; p++)
        assert_int_equal(read_plane(f, 0xA0010, p), 0xAA);

    gfx(f, 0, 0x05); /* set/reset value: planes 0 and 2 */
    gfx(f, 1, 0x03); /* enabled for planes 0 and 1 */
    gfx(f, 8, 0xF0);
    memr(f, 0xA0010); /* load the latches */
    memw(f, 0xA0010, 0x3C);
    /* plane 0: set -> FF; plane 1: reset -> 00; planes 2, 3: the CPU byte 3C; the low nibble
     * comes from the latches (AA) everywhere. */
    assert_int_equal(read_plane(f, 0xA0010, 0), 0xFA);
    assert_int_equal(read_plane(f, 0xA0010, 1), 0x0A);
    assert_int_equal(read_plane(f, 0xA0010, 2), 0x3A);
    assert_int_equal(read_plane(f, 0xA0010, 3), 0x3A);
    /* Planes are interleaved in VRAM: byte a of plane p at 4a + p. */
    assert_int_equal(f->v.vram[0x10 * 4 + 0], 0xFA);
    assert_int_equal(f->v.vram[0x10 * 4 + 1], 0x0A);

    /* Map mask: only plane 3 written. Rotate by 4 and XOR with the latches. */
    gfx(f, 1, 0x00);
    gfx(f, 8, 0xFF);
    gfx(f, 3, 0x18 | 4);
    seq(f, 2, 0x08);
    memr(f, 0xA0010);
    memw(f, 0xA0010, 0x0F); /* rotated: F0; F0 ^ 3A = CA */
    assert_int_equal(read_plane(f, 0xA0010, 3), 0xCA);
    assert_int_equal(read_plane(f, 0xA0010, 2), 0x3A);

    /* Write mode 1 copies the latches: move address 0x10 to 0x20 in one write. */
    gfx(f, 3, 0x00);
    seq(f, 2, 0x0F);
    gfx(f, 5, 0x01);
    memr(f, 0xA0010);
    memw(f, 0xA0020, 0x00);
    gfx(f, 5, 0x00);
    assert_int_equal(read_plane(f, 0xA0020, 0), 0xFA);
    assert_int_equal(read_plane(f, 0xA0020, 3), 0xCA);

    /* Write mode 2: CPU bits 0-3 are the colour, the bit mask picks the pixel. */
    gfx(f, 5, 0x02);
    gfx(f, 8, 0x81);
    memr(f, 0xA0030);
    memw(f, 0xA0030, 0x09);
    gfx(f, 5, 0x00);
    assert_int_equal(read_plane(f, 0xA0030, 0), 0x81);
    assert_int_equal(read_plane(f, 0xA0030, 1), 0x00);
    assert_int_equal(read_plane(f, 0xA0030, 3), 0x81);

    /* Write mode 3: set/reset is the colour, CPU byte (rotated) AND bit mask the mask. */
    gfx(f, 5, 0x03);
    gfx(f, 0, 0x02);
    gfx(f, 8, 0x0F);
    memr(f, 0xA0030);
    memw(f, 0xA0030, 0x3C); /* mask 0x3C & 0x0F = 0x0C */
    gfx(f, 5, 0x00);
    assert_int_equal(read_plane(f, 0xA0030, 0), 0x81 & ~0x0C);
    assert_int_equal(read_plane(f, 0xA0030, 1), 0x0C);
    assert_int_equal(read_plane(f, 0xA0030, 3), 0x81 & ~0x0C);
}

static void read_mode1_color_compare(void **state)
{
    struct fixture *f = *state;
    planar_setup(f);
    const uint8_t planes[4] = {0xF0, 0xCC, 0xAA, 0x00};
    for (unsigned p = 0; p < 4; p++) {
        seq(f, 2, (uint8_t)(1u << p));
        memw(f, 0xA0100, planes[p]);
    }
    seq(f, 2, 0x0F);
    gfx(f, 5, 0x08); /* read mode 1 */
    gfx(f, 2, 0x03); /* colour 0011 */
    gfx(f, 7, 0x0F);
    /* Pixel colours, bit 7 to 0: 7 (0111), 3 (0011), 5, 1, 6, 2, 4, 0: only bit 6 is 3. */
    assert_int_equal(memr(f, 0xA0100), 0x40);
    gfx(f, 7, 0x03); /* planes 2 and 3 don't care: colours x011 -> bits 7 and 6 */
    assert_int_equal(memr(f, 0xA0100), 0xC0);
    gfx(f, 7, 0x00); /* nothing compared: all match */
    assert_int_equal(memr(f, 0xA0100), 0xFF);
    /* The read also loaded the latches. */
    assert_memory_equal(f->v.latch, planes, 4);
}

static void odd_even_and_memory_map(void **state)
{
    struct fixture *f = *state;
    /* Reset state is mode 3: odd/even, B8000-BFFFF. */
    memw(f, 0xB8000, 'H');
    memw(f, 0xB8001, 0x07);
    memw(f, 0xB8002, 'i');
    assert_int_equal(f->v.vram[0 * 4 + 0], 'H');  /* plane 0, address 0 */
    assert_int_equal(f->v.vram[0 * 4 + 1], 0x07); /* plane 1, address 0 */
    assert_int_equal(f->v.vram[2 * 4 + 0], 'i');  /* plane 0, address 2 */
    assert_int_equal(memr(f, 0xB8001), 0x07);
    assert_int_equal(memr(f, 0xB8002), 'i');
    /* A0000 and B0000 are not decoded with map select 3. */
    assert_int_equal(memr(f, 0xA0000), 0xFF);
    memw(f, 0xB0000, 0x55);
    assert_int_equal(f->v.vram[0], 'H');
    /* Map select 2: B0000-B7FFF. */
    gfx(f, 6, 0x0A);
    assert_int_equal(memr(f, 0xB0000), 'H');
    assert_int_equal(memr(f, 0xB8000), 0xFF);
    /* Map select 0: the whole 128 KiB, wrapping in the 64 KiB plane. */
    gfx(f, 6, 0x02);
    assert_int_equal(memr(f, 0xA0000), 'H');
    assert_int_equal(memr(f, 0xB0000), 'H');
    /* Misc output RAM enable off: the CPU sees nothing. */
    outb(f, 0x3C2, 0x65);
    assert_int_equal(memr(f, 0xA0000), 0xFF);
    memw(f, 0xA0000, 0x00);
    assert_int_equal(f->v.vram[0], 'H');
}

/* ---- mode 13h ---- */

static void chain4_mode13_render(void **state)
{
    struct fixture *f = *state;
    set_mode(f, 0x63, m13_sr, m13_cr, m13_gr, m13_ar);
    dac(f, 0x42, 63, 0, 32);
    uint32_t off = 5 * 320 + 10;
    memw(f, 0xA0000 + off, 0x42);
    /* chain-4: plane = A1:A0, plane address with those bits cleared */
    assert_int_equal(f->v.vram[(off & ~3u) * 4 + (off & 3)], 0x42);
    assert_int_equal(memr(f, 0xA0000 + off), 0x42);

    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_256);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 320);
    assert_int_equal(fr.height, 200);
    assert_rgb(pixel(&fr, 10, 5), 0xFF, 0x00, 0x82); /* 6-bit 32 -> 0x82 */
    assert_rgb(pixel(&fr, 11, 5), 0, 0, 0);
    assert_rgb(pixel(&fr, 10, 6), 0, 0, 0);

    /* The PEL mask ANDs the index: 0x42 & 0x0F = 2 */
    dac(f, 0x02, 0, 63, 0);
    outb(f, 0x3C6, 0x0F);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 10, 5), 0, 0xFF, 0);
    outb(f, 0x3C6, 0xFF);

    /* Blanked while the attribute controller owns the palette. */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x00);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 10, 5), 0, 0, 0);
    vga_frame_free(&fr);
}

static void planar_mode12_render(void **state)
{
    struct fixture *f = *state;
    set_mode(f, 0xE3, m12_sr, m12_cr, m12_gr, m12_ar);
    /* Pixel (9, 2) in colour 4 through write mode 2. */
    gfx(f, 5, 0x02);
    gfx(f, 8, 0x80 >> 1);
    uint32_t a = 0xA0000 + 2 * 80 + 1;
    memr(f, a);
    memw(f, a, 4);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 640);
    assert_int_equal(fr.height, 480);
    assert_rgb(pixel(&fr, 9, 2), 0xAA, 0, 0);    /* palette 4 -> DAC 4: red 2/3 */
    assert_rgb(pixel(&fr, 8, 2), 0, 0, 0);
    /* Colour 6 goes through palette register 6 = 0x14: brown. */
    gfx(f, 8, 0x01);
    memr(f, a);
    memw(f, a, 6);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 15, 2), 0xAA, 0x55, 0x00);
    /* The colour plane enable masks bit 2 away: colour 6 -> 2 (green). */
    attr(f, 0x12, 0x0B);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 15, 2), 0x00, 0xAA, 0x00);
    vga_frame_free(&fr);
}

static void cga_mode4_render(void **state)
{
    struct fixture *f = *state;
    /* Mode 4: 320x200 in 2 bits per pixel, odd/even at B8000, odd rows 8 KiB up (the row
     * scan counter replaces address bit 13). */
    static const uint8_t sr[4] = {0x09, 0x03, 0x00, 0x02};
    static const uint8_t cr[25] = {0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00,
                                   0xC1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x8E,
                                   0x8F, 0x14, 0x00, 0x96, 0xB9, 0xA2, 0xFF};
    static const uint8_t gr[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF};
    static const uint8_t ar[20] = {0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11,
                                   0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00};
    set_mode(f, 0x63, sr, cr, gr, ar);
    dac(f, 0x17, 63, 63, 63);
    dac(f, 0x13, 0, 63, 63);
    memw(f, 0xB8000 + 0x2000, 0x30);     /* row 1, pixel 1: colour 3 */
    memw(f, 0xB8000 + 0x2000 + 1, 0x01); /* row 1, pixel 7: colour 1 (odd byte: plane 1) */
    memw(f, 0xB8000 + 80, 0xC0);         /* row 2, pixel 0: colour 3 */
    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_CGA);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 320);
    assert_int_equal(fr.height, 200);
    assert_rgb(pixel(&fr, 1, 1), 0xFF, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 7, 1), 0x00, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 0, 2), 0xFF, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 1, 0), 0, 0, 0);
    assert_rgb(pixel(&fr, 0, 3), 0, 0, 0);
    vga_frame_free(&fr);
}

/* ---- text ---- */

static void load_glyph(struct fixture *f, uint8_t ch, const uint8_t rows[16])
{
    /* What a BIOS does to reach plane 2 (and what it restores after). */
    seq(f, 2, 0x04);
    seq(f, 4, 0x07);
    gfx(f, 4, 0x02);
    gfx(f, 5, 0x00);
    gfx(f, 6, 0x04);
    for (unsigned r = 0; r < 16; r++)
        memw(f, 0xA0000 + ch * 32u + r, rows[r]);
    seq(f, 2, 0x03);
    seq(f, 4, 0x02);
    gfx(f, 4, 0x00);
    gfx(f, 5, 0x10);
    gfx(f, 6, 0x0E);
}

static const uint8_t glyph_a[16] = {0x00, 0x00, 0x18, 0x81, 0x3C, 0x66, 0x66, 0x7E,
                                    0x66, 0x66, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00};

static void text_mode_render_and_read(void **state)
{
    struct fixture *f = *state;
    load_glyph(f, 'A', glyph_a);
    assert_int_equal(f->v.vram[('A' * 32 + 3) * 4 + 2], 0x81); /* plane 2 */
    memw(f, 0xB8000, 'A');
    memw(f, 0xB8001, 0x1F); /* white on blue */

    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_TEXT);
    assert_int_equal(mi.cols, 80);
    assert_int_equal(mi.rows, 25);
    assert_int_equal(mi.char_width, 9);
    assert_int_equal(mi.char_height, 16);

    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 720);
    assert_int_equal(fr.height, 400);
    /* Row 3 of the glyph is 10000001: dots 0 and 7 lit, dot 8 (9th column) background. */
    assert_rgb(pixel(&fr, 0, 3), 0xFF, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 1, 3), 0x00, 0x00, 0xAA);
    assert_rgb(pixel(&fr, 7, 3), 0xFF, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 8, 3), 0x00, 0x00, 0xAA);
    assert_rgb(pixel(&fr, 3, 2), 0xFF, 0xFF, 0xFF); /* 0x18: dots 3 and 4 */
    assert_rgb(pixel(&fr, 2, 2), 0x00, 0x00, 0xAA);
    assert_rgb(pixel(&fr, 9, 3), 0, 0, 0);          /* next cell: char 0, attribute 0 */

    char buf[4096];
    struct vga_text_info ti;
    size_t n = vga_read_text(&f->v, buf, sizeof(buf), false, &ti);
    assert_int_equal(ti.cols, 80);
    assert_int_equal(ti.rows, 25);
    assert_int_equal(n, strlen(buf));
    assert_int_equal(n, 2 + 24); /* "A\n" and 24 empty lines */
    assert_memory_equal(buf, "A\n\n", 3);

    /* Characters outside ASCII: code page 437 in UTF-8, or '.' */
    memw(f, 0xB8002, 0xC4);
    memw(f, 0xB8004, 0x01);
    vga_read_text(&f->v, buf, sizeof(buf), true, NULL);
    assert_memory_equal(buf, "A\xE2\x94\x80\xE2\x98\xBA\n", 8);
    vga_read_text(&f->v, buf, sizeof(buf), false, NULL);
    assert_memory_equal(buf, "A..\n", 4);
    /* A short buffer is cut, NUL-terminated, and the full length still reported. */
    char small[3];
    assert_int_equal(vga_read_text(&f->v, small, sizeof(small), false, NULL), 4 + 24);
    assert_string_equal(small, "A.");
    vga_frame_free(&fr);
}

static void text_cursor_and_blink(void **state)
{
    struct fixture *f = *state;
    load_glyph(f, 'A', glyph_a);
    /* cursor at row 1, column 1: address 81; lines 14-15 of the cell */
    crtc(f, 0x0E, 0);
    crtc(f, 0x0F, 81);
    crtc(f, 0x0A, 0x0E);
    crtc(f, 0x0B, 0x0F);
    memw(f, 0xB8000 + 81 * 2 + 1, 0x07); /* char 0, grey on black */

    struct vga_text_info ti;
    char buf[4096];
    vga_read_text(&f->v, buf, sizeof(buf), false, &ti);
    assert_true(ti.cursor_visible);
    assert_int_equal(ti.cursor_row, 1);
    assert_int_equal(ti.cursor_col, 1);

    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 9 + 4, 16 + 14), 0xAA, 0xAA, 0xAA);
    assert_rgb(pixel(&fr, 9 + 4, 16 + 13), 0, 0, 0);
    /* 8 frames later the cursor is in its dark half. */
    assert_int_equal(vga_render(&f->v, &fr, 8 * 14285714ull + 1000), 0);
    assert_rgb(pixel(&fr, 9 + 4, 16 + 14), 0, 0, 0);
    /* Disabled by CR0A bit 5. */
    crtc(f, 0x0A, 0x2E);
    vga_read_text(&f->v, buf, sizeof(buf), false, &ti);
    assert_false(ti.cursor_visible);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 9 + 4, 16 + 14), 0, 0, 0);

    /* Blinking character: attribute bit 7 with blink enabled (AR10 bit 3, on at reset). */
    memw(f, 0xB8000, 'A');
    memw(f, 0xB8001, 0x9F); /* blink, white on blue */
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 0, 3), 0xFF, 0xFF, 0xFF);
    assert_int_equal(vga_render(&f->v, &fr, 16 * 14285714ull + 1000), 0);
    assert_rgb(pixel(&fr, 0, 3), 0x00, 0x00, 0xAA);
    /* Blink off: bit 7 is background intensity instead. */
    attr(f, 0x10, 0x04);
    assert_int_equal(vga_render(&f->v, &fr, 16 * 14285714ull + 1000), 0);
    assert_rgb(pixel(&fr, 0, 3), 0xFF, 0xFF, 0xFF);
    assert_rgb(pixel(&fr, 1, 3), 0x55, 0x55, 0xFF); /* 9 -> palette 0x39 */

    /* Underline: attribute x0000001 on the underline row. */
    crtc(f, 0x14, 0x0F);
    memw(f, 0xB8001, 0x01);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 1, 15), 0x00, 0x00, 0xAA);
    assert_rgb(pixel(&fr, 1, 14), 0x00, 0x00, 0x00);
    vga_frame_free(&fr);
}

static void text_start_address_wrap(void **state)
{
    struct fixture *f = *state;
    /* Word mode: MA 0xFFFF reads plane address 0xFFFF, the next column wraps to 0. */
    memw(f, 0xB8000, 'X');
    crtc(f, 0x0C, 0xFF);
    crtc(f, 0x0D, 0xFF);
    char buf[4096];
    vga_read_text(&f->v, buf, sizeof(buf), false, NULL);
    assert_memory_equal(buf, " X\n", 3);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    vga_frame_free(&fr);

    /* 40 columns (dot clock halved): the frame keeps the monitor's width. */
    crtc(f, 0x0C, 0);
    crtc(f, 0x0D, 0);
    crtc(f, 0x11, 0x0E); /* CR01 is behind the write protect */
    crtc(f, 0x01, 0x27);
    seq(f, 1, 0x08);
    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.cols, 40);
    assert_int_equal(mi.width, 40 * 9 * 2);
    /* 80x50: 8-line cells */
    crtc(f, 0x01, 0x4F);
    seq(f, 1, 0x00);
    crtc(f, 0x09, 0x47);
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.rows, 50);
}

/* ---- registers ---- */

static void crtc_protect_and_ports(void **state)
{
    struct fixture *f = *state;
    /* Reset state has CR11 bit 7 set: CR00-CR07 are protected except CR07 bit 4. */
    outb(f, 0x3D4, 0x01);
    outb(f, 0x3D5, 0x27);
    assert_int_equal(inb(f, 0x3D5), 0x4F);
    outb(f, 0x3D4, 0x07);
    outb(f, 0x3D5, 0x00);
    assert_int_equal(inb(f, 0x3D5), 0x1F & ~0x10);
    outb(f, 0x3D4, 0x0C); /* unprotected register */
    outb(f, 0x3D5, 0x12);
    assert_int_equal(inb(f, 0x3D5), 0x12);
    crtc(f, 0x11, 0x0E);
    crtc(f, 0x01, 0x27);
    outb(f, 0x3D4, 0x01);
    assert_int_equal(inb(f, 0x3D5), 0x27);

    /* Misc bit 0 picks 3Dx or 3Bx. */
    assert_int_equal(inb(f, 0x3B5), 0xFF);
    outb(f, 0x3B4, 0x0C);
    outb(f, 0x3B5, 0x99);
    outb(f, 0x3D4, 0x0C);
    assert_int_equal(inb(f, 0x3D5), 0x12);
    outb(f, 0x3C2, 0x66);
    assert_int_equal(inb(f, 0x3CC), 0x66);
    outb(f, 0x3B4, 0x0C);
    outb(f, 0x3B5, 0x34);
    assert_int_equal(inb(f, 0x3B5), 0x34);
    assert_int_equal(inb(f, 0x3D5), 0xFF);

    /* Word writes: index in the low byte, data in the high one. */
    outw(f, 0x3C4, 0x0A02);
    outb(f, 0x3C4, 0x02);
    assert_int_equal(inb(f, 0x3C5), 0x0A);
    assert_int_equal(inw(f, 0x3C4), 0x0A02);
    /* Register bits that do not exist read as 0; absent indexes are ignored. */
    outw(f, 0x3C4, 0xFF04);
    assert_int_equal(inb(f, 0x3C5), 0x0E);
    outw(f, 0x3C4, 0x55FF);
    assert_int_equal(inb(f, 0x3C5), 0x00);
    outw(f, 0x3CE, 0xFF05);
    assert_int_equal(inb(f, 0x3CF), 0x7B);
    outw(f, 0x3CE, 0x55F0);
    assert_int_equal(inb(f, 0x3CF), 0x00);
    outb(f, 0x3B4, 0x80);
    outb(f, 0x3B5, 0x55);
    assert_int_equal(inb(f, 0x3B5), 0x00);
    /* Feature control: written at 3BA/3DA, read at 3CA. */
    outb(f, 0x3BA, 0x03);
    assert_int_equal(inb(f, 0x3CA), 0x03);
}

static void input_status_retrace(void **state)
{
    struct fixture *f = *state;
    unsigned seen_vr[2] = {0, 0}, seen_de[2] = {0, 0}, edges = 0;
    uint8_t last = 0;
    /* Without a clock, each read advances the beam by 1 us: 20000 reads cover a frame. */
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t s = inb(f, 0x3DA);
        assert_int_equal(s & ~0x09, 0);
        seen_vr[(s >> 3) & 1]++;
        seen_de[s & 1]++;
        if ((s & 8) && !(last & 8))
            edges++;
        last = s;
    }
    assert_true(seen_vr[0] > 0 && seen_vr[1] > 0);
    assert_true(seen_de[0] > 0 && seen_de[1] > 0);
    assert_true(seen_vr[1] < seen_vr[0] / 10); /* retrace is a small part of a frame */
    assert_int_equal(edges, 1);                /* 20 ms at 70 Hz: one retrace begins */

    /* With a virtual clock the retrace follows it: mode 3 is 449 lines of 100 characters
     * of 9 dots at 28.322 MHz, vertical retrace on lines 412 and 413. */
    struct vclock clk;
    vclock_init(&clk);
    f->v.clock = &clk;
    uint64_t line_ns = 900ull * 1000000000ull / 28322000ull;
    uint64_t frame = 449 * line_ns;
    vclock_advance(&clk, 10 * 1000000000ull);
    uint64_t base = (vclock_now(&clk) / frame) * frame;
    vclock_advance(&clk, base + frame + 413 * line_ns + line_ns / 2);
    assert_int_equal(inb(f, 0x3DA) & 0x08, 0x08);
    vclock_advance(&clk, base + 2 * frame + 100 * line_ns);
    assert_int_equal(inb(f, 0x3DA) & 0x08, 0x00);
    f->v.clock = NULL;
}

/* ---- VBE ---- */

static void vbe_id_and_lfb(void **state)
{
    struct fixture *f = *state;
    dispi(f, VBE_DISPI_INDEX_ID, VBE_DISPI_ID0);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0);
    dispi(f, VBE_DISPI_INDEX_ID, 0x1234); /* not an ID: ignored */
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0);
    dispi(f, VBE_DISPI_INDEX_ID, VBE_DISPI_ID5);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
    /* GETCAPS: XRES/YRES/BPP read the maxima */
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_YRES), VBE_DISPI_MAX_YRES);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BPP), 32);
    dispi(f, VBE_DISPI_INDEX_ENABLE, 0);

    memset(f->v.vram, 0x5A, 640 * 480 * 4); /* cleared by the mode set */
    dispi(f, VBE_DISPI_INDEX_XRES, 640);
    dispi(f, VBE_DISPI_INDEX_YRES, 480);
    dispi(f, VBE_DISPI_INDEX_BPP, 32);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_ENABLE), 0x41);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_WIDTH), 640);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_HEIGHT), (16u << 20) / (640 * 4));
    assert_int_equal(f->v.vram[1000], 0);

    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_VBE);
    assert_int_equal(mi.width, 640);
    assert_int_equal(mi.height, 480);
    assert_int_equal(mi.bpp, 32);

    /* The guest's LFB writes land in VRAM as the machine maps it: B, G, R, unused. */
    uint8_t *lfb = f->v.vram;
    size_t o = (50 * 640 + 100) * 4;
    lfb[o] = 0x11;
    lfb[o + 1] = 0x22;
    lfb[o + 2] = 0x33;
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 640);
    assert_int_equal(fr.height, 480);
    assert_rgb(pixel(&fr, 100, 50), 0x33, 0x22, 0x11);
    assert_rgb(pixel(&fr, 101, 50), 0, 0, 0);

    /* Panning: Y_OFFSET 10 moves that pixel up to line 40. */
    dispi(f, VBE_DISPI_INDEX_Y_OFFSET, 10);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 100, 40), 0x33, 0x22, 0x11);
    /* Virtual width 1024: line stride follows it. */
    dispi(f, VBE_DISPI_INDEX_Y_OFFSET, 0);
    dispi(f, VBE_DISPI_INDEX_VIRT_WIDTH, 1024);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    o = (50 * 1024 + 100) * 4;
    lfb[o + 2] = 0x77;
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 100, 50), 0x77, 0, 0);

    /* 16 bpp: RRRRRGGG GGGBBBBB */
    dispi(f, VBE_DISPI_INDEX_ENABLE, 0);
    dispi(f, VBE_DISPI_INDEX_BPP, 16);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    lfb[0] = 0x1F; /* blue 31 */
    lfb[1] = 0xF8; /* red 31 */
    lfb[2] = 0xE0; /* green 0b000111 */
    lfb[3] = 0x00;
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 0, 0), 0xFF, 0x00, 0xFF);
    assert_rgb(pixel(&fr, 1, 0), 0x00, 0x1C, 0x00);
    /* 15 bpp: xRRRRRGG GGGBBBBB; 24 bpp: B, G, R */
    dispi(f, VBE_DISPI_INDEX_BPP, 15);
    lfb[1] = 0x7C;
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 0, 0), 0xFF, 0x00, 0xFF);
    dispi(f, VBE_DISPI_INDEX_BPP, 24);
    lfb[0] = 1;
    lfb[1] = 2;
    lfb[2] = 3;
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 0, 0), 3, 2, 1);
    /* 8 bpp through the DAC, with the 8-bit DAC switch. */
    dispi(f, VBE_DISPI_INDEX_BPP, 8);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_8BIT_DAC | VBE_DISPI_NOCLEARMEM);
    dac(f, 1, 0xC8, 0x10, 0x80);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 0, 0), 0xC8, 0x10, 0x80);
    vga_frame_free(&fr);

    /* No text screen in a VBE mode. */
    struct vga_text_info ti;
    char tb[16];
    assert_int_equal(vga_read_text(&f->v, tb, sizeof(tb), false, &ti), 0);
    assert_int_equal(ti.cols, 0);
    assert_string_equal(tb, "");

    /* BAR2 reaches the same registers: DISPI at 0x500 + 2 * index, VGA ports at 0x400. */
    assert_int_equal(vga_bar2_mmio_ops.read(&f->v, 0x500 + 2 * VBE_DISPI_INDEX_XRES, 2), 640);
    vga_bar2_mmio_ops.write(&f->v, 0x400 + 0x08, 0x20, 1); /* 0x3C8 */
    assert_int_equal(inb(f, 0x3C8), 0x20);
    assert_int_equal(vga_bar2_mmio_ops.read(&f->v, 0x600, 4), 8);

    /* PCI: BAR0 is the VRAM, prefetchable; the machine hears about the move. */
    struct pci_function *pf = &f->v.pci;
    assert_int_equal(pci_config_read(pf, PCI_VENDOR_ID, 4), 0x11111234);
    assert_int_equal(pci_config_read(pf, PCI_REVISION, 4) >> 8, 0x030000);
    pci_config_write(pf, PCI_BAR0, 0xFFFFFFFF, 4);
    assert_int_equal(pci_config_read(pf, PCI_BAR0, 4), 0xFF000008);
    int before = f->bars_calls;
    pci_config_write(pf, PCI_BAR0, 0xFD000000, 4);
    pci_config_write(pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    assert_true(f->bars_calls >= before + 2);
    assert_int_equal(vga_lfb_address(&f->v), 0xFD000000);
    pci_config_write(pf, PCI_BAR0 + 8, 0xFFFFFFFF, 4);
    assert_int_equal(pci_config_read(pf, PCI_BAR0 + 8, 4), 0xFFFFF000);
}

static void vbe_banked_window(void **state)
{
    struct fixture *f = *state;
    dispi(f, VBE_DISPI_INDEX_XRES, 640);
    dispi(f, VBE_DISPI_INDEX_YRES, 480);
    dispi(f, VBE_DISPI_INDEX_BPP, 8);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    dispi(f, VBE_DISPI_INDEX_BANK, 2);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BANK), 2);
    memw(f, 0xA0010, 0x77);
    assert_int_equal(f->v.vram[2 * 0x10000 + 0x10], 0x77);
    assert_int_equal(memr(f, 0xA0010), 0x77);
    /* Only the 64 KiB at A0000 is the window. */
    assert_int_equal(memr(f, 0xB0000), 0xFF);
    /* A bank past VRAM is refused (the BIOS reads it back to notice). */
    dispi(f, VBE_DISPI_INDEX_BANK, 256);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BANK), 2);
    dispi(f, VBE_DISPI_INDEX_BANK, 255);
    memw(f, 0xAFFFF, 0x99);
    assert_int_equal(f->v.vram[(16u << 20) - 1], 0x99);

    /* 0x20010 = 204 * 640 + 528 */
    dac(f, 0x77, 0, 0, 63);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_rgb(pixel(&fr, 528, 204), 0, 0, 0xFF);
    assert_rgb(pixel(&fr, 527, 204), 0, 0, 0);
    vga_frame_free(&fr);

    /* Disabling returns the window to the VGA (and the bank to 0). */
    dispi(f, VBE_DISPI_INDEX_ENABLE, 0);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BANK), 0);
    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_TEXT);
}

static void vbe_planar_4bpp(void **state)
{
    struct fixture *f = *state;
    /* What SeaVGABIOS does for 800x600x4: a planar VGA mode, then DISPI at 4 bpp. */
    set_mode(f, 0xE3, m12_sr, m12_cr, m12_gr, m12_ar);
    dispi(f, VBE_DISPI_INDEX_XRES, 800);
    dispi(f, VBE_DISPI_INDEX_YRES, 600);
    dispi(f, VBE_DISPI_INDEX_BPP, 4);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    /* Pixel (8, 1): plane byte 100 + 1, bit 7, colour 1 (blue) through write mode 2. */
    gfx(f, 5, 0x02);
    gfx(f, 8, 0x80);
    memr(f, 0xA0000 + 101);
    memw(f, 0xA0000 + 101, 1);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 800);
    assert_int_equal(fr.height, 600);
    assert_rgb(pixel(&fr, 8, 1), 0, 0, 0xAA);
    assert_rgb(pixel(&fr, 9, 1), 0, 0, 0);
    /* Bank 1 reaches plane byte 65536: line 655, x = 36 * 8 */
    dispi(f, VBE_DISPI_INDEX_BANK, 1);
    memr(f, 0xA0000);
    memw(f, 0xA0000, 4);
    assert_int_equal(f->v.vram[0x10000 * 4 + 2], 0x80);
    vga_frame_free(&fr);
}

static void vbe_bounds(void **state)
{
    struct fixture *f = *state;
    dispi(f, VBE_DISPI_INDEX_XRES, 0xFFFF);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
    dispi(f, VBE_DISPI_INDEX_YRES, 0xFFFF);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_YRES), VBE_DISPI_MAX_YRES);
    dispi(f, VBE_DISPI_INDEX_BPP, 7); /* no such depth: ignored */
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_BPP), 8);
    dispi(f, VBE_DISPI_INDEX_BPP, 32);
    dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
    /* 2560x1600x32 is 16,384,000 bytes: it fits 16 MiB. A wider virtual screen does not. */
    dispi(f, VBE_DISPI_INDEX_VIRT_WIDTH, 0xFFFF);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_WIDTH), 2560);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_VIRT_HEIGHT), (16u << 20) / 10240);
    dispi(f, VBE_DISPI_INDEX_Y_OFFSET, 0xFFFF);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_Y_OFFSET), (16u << 20) / 10240 - 1600);
    dispi(f, VBE_DISPI_INDEX_X_OFFSET, 0xFFFF);
    assert_int_equal(dispi_rd(f, VBE_DISPI_INDEX_X_OFFSET), 0);
    /* The last pixel read is the last VRAM dword at most. */
    memset(f->v.vram + f->v.vram_size - 4, 0xEE, 4);
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 2560);
    assert_int_equal(fr.height, 1600);
    vga_frame_free(&fr);

    /* Registers nobody has: reads 0, writes ignored. */
    dispi(f, 0x4000, 0x1234);
    assert_int_equal(dispi_rd(f, 0x4000), 0);
    /* Accesses that run off the end of the window are cut. */
    vga_legacy_mmio_ops.write(&f->v, VGA_LEGACY_SIZE - 2, 0x11223344, 4);
    assert_int_equal(vga_legacy_mmio_ops.read(&f->v, VGA_LEGACY_SIZE - 2, 4) >> 16, 0xFFFF);

    /* A small card: the mode shrinks to what 1 MiB holds. */
    struct vga small;
    assert_int_equal(vga_init(&small, 1u << 20), 0);
    vga_port_write(&small, VBE_DISPI_IOPORT_INDEX, VBE_DISPI_INDEX_XRES, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_DATA, 2560, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_INDEX, VBE_DISPI_INDEX_YRES, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_DATA, 1600, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_INDEX, VBE_DISPI_INDEX_BPP, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_DATA, 32, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_INDEX, VBE_DISPI_INDEX_ENABLE, 2);
    vga_port_write(&small, VBE_DISPI_IOPORT_DATA, VBE_DISPI_ENABLED, 2);
    struct vga_mode_info mi;
    vga_get_mode(&small, &mi);
    assert_int_equal(mi.width, 2560);
    assert_int_equal(mi.height, (1u << 20) / 10240);
    assert_int_equal(vga_render(&small, &fr, 0), 0);
    vga_frame_free(&fr);
    vga_destroy(&small);
    assert_int_equal(vga_init(&small, 3u << 20), -22); /* not a power of two */
}

/* ---- save/load ---- */

static void save_load_round_trip(void **state)
{
    struct fixture *f = *state;
    set_mode(f, 0x63, m13_sr, m13_cr, m13_gr, m13_ar);
    dac(f, 0x42, 63, 0, 32);
    memw(f, 0xA0000 + 1610, 0x42);
    memw(f, 0xA0000 + 64000 - 1, 0x42);
    f->v.vram[(8u << 20) + 5] = 0x99; /* beyond the planes */
    outb(f, 0x3C8, 0x10);
    outb(f, 0x3C9, 0x01); /* a DAC write in mid-triple */
    inb(f, 0x3DA);
    outb(f, 0x3C0, 0x33); /* flip-flop left at data */
    pci_config_write(&f->v.pci, PCI_BAR0, 0xFD000000, 4);

    size_t len = device_save(&f->v.dev, NULL, 0);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(device_save(&f->v.dev, buf, len), len);
    assert_true(len < 64 * 1024 * 4); /* zero chunks cost a byte */

    struct vga w;
    assert_int_equal(vga_init(&w, VGA_VRAM_DEFAULT), 0);
    assert_int_equal(device_load(&w.dev, buf, len), 0);
    assert_memory_equal(w.vram, f->v.vram, w.vram_size);
    assert_memory_equal(w.sr, f->v.sr, sizeof(w.sr));
    assert_memory_equal(w.cr, f->v.cr, sizeof(w.cr));
    assert_memory_equal(w.gr, f->v.gr, sizeof(w.gr));
    assert_memory_equal(w.ar, f->v.ar, sizeof(w.ar));
    assert_memory_equal(w.dac, f->v.dac, sizeof(w.dac));
    assert_memory_equal(w.pci.config, f->v.pci.config, 256);
    assert_int_equal(w.ar_data_next, true);
    assert_int_equal(w.dac_component, 1);
    /* It carries on exactly where the original was. */
    vga_port_write(&w, 0x3C9, 0x02, 1);
    vga_port_write(&f->v, 0x3C9, 0x02, 1);
    assert_memory_equal(w.dac[0x10], f->v.dac[0x10], 3);

    struct vga_frame a = {0}, b = {0};
    assert_int_equal(vga_render(&f->v, &a, 0), 0);
    assert_int_equal(vga_render(&w, &b, 0), 0);
    assert_int_equal(a.width, b.width);
    assert_memory_equal(a.rgb, b.rgb, (size_t)a.width * a.height * 3);
    vga_frame_free(&a);
    vga_frame_free(&b);

    /* Truncated: refused, and the device is left reset (mode 3, VRAM clear). */
    assert_int_equal(device_load(&w.dev, buf, len - 1), -1);
    assert_int_equal(w.vram[(8u << 20) + 5], 0);
    assert_int_equal(w.misc, 0x67);
    /* A hostile record: the DAC component counter (after misc, feature, the sequencer,
     * graphics, CRTC and attribute registers with their indexes, the DAC and its two
     * indexes) set to 7. */
    uint8_t *bad = malloc(len);
    memcpy(bad, buf, len);
    size_t comp = 2 + 1 + 8 + 1 + 16 + 1 + 32 + 1 + 1 + 32 + 768 + 2;
    assert_int_equal(bad[6 + comp], 1);
    bad[6 + comp] = 7;
    assert_int_equal(device_load(&w.dev, bad, len), -1);
    /* A record for a different VRAM size. */
    struct vga small;
    assert_int_equal(vga_init(&small, 4u << 20), 0);
    assert_int_equal(device_load(&small.dev, buf, len), -1);
    vga_destroy(&small);
    free(bad);
    free(buf);
    vga_destroy(&w);
}

static void reset_and_rom_bar(void **state)
{
    struct fixture *f = *state;
    uint8_t rom[3000];
    for (unsigned i = 0; i < sizeof(rom); i++)
        rom[i] = (uint8_t)i;
    rom[0] = 0x55;
    rom[1] = 0xAA;
    assert_int_equal(vga_set_rom(&f->v, rom, sizeof(rom)), 0);
    assert_int_equal(f->v.rom_bar_size, 4096);
    struct pci_function *pf = &f->v.pci;
    pci_config_write(pf, PCI_ROM_ADDRESS, 0xFFFFFFFF, 4);
    assert_int_equal(pci_config_read(pf, PCI_ROM_ADDRESS, 4), 0xFFFFF001);
    pci_config_write(pf, PCI_ROM_ADDRESS, 0xFEB00001, 4);
    assert_int_equal(vga_rom_address(&f->v), 0); /* memory decoding still off */
    pci_config_write(pf, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    assert_int_equal(vga_rom_address(&f->v), 0xFEB00000);
    assert_memory_equal(f->v.rom_image, rom, sizeof(rom));
    assert_int_equal(f->v.rom_image[4095], 0);

    int before = f->bars_calls;
    memw(f, 0xB8000, 'Z');
    device_reset(&f->v.dev);
    assert_int_equal(f->bars_calls, before + 1);
    assert_int_equal(vga_rom_address(&f->v), 0);
    assert_int_equal(f->v.vram[0], 0);
    assert_int_equal(inb(f, 0x3CC), 0x67);
}

/* ---- the real VGA BIOS ---- */

/* Configuration mechanism #1 for the one function, so the BIOS finds its BAR. */
struct mini_pci {
    struct pci_bus bus;
    uint32_t cf8;
};

static uint32_t mini_pci_in(void *opaque, uint16_t port, unsigned size)
{
    struct mini_pci *p = opaque;
    if (port == 0xCF8)
        return p->cf8;
    if (!(p->cf8 & 0x80000000u) || (p->cf8 & 0x00FF0000u))
        return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    return pci_bus_read(&p->bus, (uint8_t)(p->cf8 >> 8), (p->cf8 & 0xFC) + (port - 0xCFC), size);
}

static void mini_pci_out(void *opaque, uint16_t port, uint32_t v, unsigned size)
{
    struct mini_pci *p = opaque;
    if (port == 0xCF8 && size == 4)
        p->cf8 = v;
    else if (port >= 0xCFC && (p->cf8 & 0x80000000u) && !(p->cf8 & 0x00FF0000u))
        pci_bus_write(&p->bus, (uint8_t)(p->cf8 >> 8), (p->cf8 & 0xFC) + (port - 0xCFC), v, size);
}

static const struct ioport_ops mini_pci_ops = {mini_pci_in, mini_pci_out};

/* Runs code at 0:7C00 until the HLT at offset hlt_at. */
static void run_real(struct testvm *vm, const uint8_t *code, size_t n, size_t hlt_at)
{
    memcpy(vm->mem.ram + 0x7C00, code, n);
    cpu_invalidate_code(&vm->cpu); /* the code was written behind the CPU's back */
    cpu_load_seg(&vm->cpu, SR_CS, 0);
    vm->cpu.eip = 0x7C00;
    vm->cpu.halted = false;
    vm->cpu.exit_on_hlt = true;
    assert_int_equal(cpu_run(&vm->cpu, 50000000), CPU_EXIT_HLT);
    assert_int_equal(vm->cpu.eip, 0x7C00 + hlt_at + 1);
}

static void seavgabios(void **state)
{
    struct fixture *f = *state;
    FILE *rf = vgabios_path ? fopen(vgabios_path, "rb") : NULL;
    if (!rf)
        skip();
    static uint8_t rom[65536];
    size_t rl = fread(rom, 1, sizeof(rom), rf);
    fclose(rf);
    assert_true(rl > 512 && rom[0] == 0x55 && rom[1] == 0xAA);

    struct testvm *vm = malloc(sizeof(*vm));
    struct mini_pci *pci = calloc(1, sizeof(*pci));
    assert_non_null(vm);
    assert_non_null(pci);
    assert_int_equal(testvm_init(vm, 2u << 20), 0);
    testvm_real_mode(vm);
    assert_int_equal(ioport_register(&f->bus, 0xCF8, 8, &mini_pci_ops, pci), 0);
    assert_int_equal(pci_bus_add(&pci->bus, &f->v.pci, 0x10), 0);
    /* What the firmware does first: BAR0, decoding on, the windows mapped. */
    pci_config_write(&f->v.pci, PCI_BAR0, 0xFD000000, 4);
    pci_config_write(&f->v.pci, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    int idx = memmap_register_mmio(&vm->mem, &vga_legacy_mmio_ops, &f->v);
    assert_true(idx > 0);
    assert_int_equal(memmap_map_mmio(&vm->mem, VGA_LEGACY_BASE, VGA_LEGACY_SIZE, idx), 0);
    assert_int_equal(memmap_map_host(&vm->mem, vga_lfb_address(&f->v), f->v.vram_size, f->v.vram,
                                     f->v.vram), 0);
    vm->cpu.bus = (struct cpu_bus){.opaque = &f->bus, .port_in = ioport_read, .port_out = ioport_write};
    memcpy(vm->mem.ram + 0xC0000, rom, rl); /* shadowed: the BIOS writes its own data */
    vm->mem.ram[0xFFF53] = 0xCF;            /* every vector to an IRET at F000:FF53 */
    for (unsigned i = 0; i < 256; i++) {
        const uint8_t v[4] = {0x53, 0xFF, 0x00, 0xF0};
        memcpy(vm->mem.ram + 4 * i, v, 4);
    }
    vm->mem.ram[0x410] = 0x20; /* BDA equipment word: 80x25 colour */
    cpu_load_seg(&vm->cpu, SR_SS, 0);
    vm->cpu.regs[4] = 0x7000;

    /* mov ax, devfn; call far C000:0003; hlt */
    const uint8_t init[] = {0xB8, 0x10, 0x00, 0x9A, 0x03, 0x00, 0x00, 0xC0, 0xF4};
    run_real(vm, init, sizeof(init), sizeof(init) - 1);
    /* mov ax, 3; int 10h; then teletype (AH=0Eh) each byte of the string at 7C30 */
    uint8_t prog[0x60] = {0xB8, 0x03, 0x00, 0xCD, 0x10, 0xBE, 0x30, 0x7C, 0xAC, 0x08, 0xC0,
                          0x74, 0x09, 0xB4, 0x0E, 0xBB, 0x07, 0x00, 0xCD, 0x10, 0xEB, 0xF2, 0xF4};
    const char *msg = "Hello, VGA\r\nsecond line";
    assert_true(0x30 + strlen(msg) < sizeof(prog));
    memcpy(prog + 0x30, msg, strlen(msg) + 1);
    run_real(vm, prog, sizeof(prog), 0x16);

    char buf[4096];
    struct vga_text_info ti;
    vga_read_text(&f->v, buf, sizeof(buf), false, &ti);
    assert_int_equal(ti.cols, 80);
    assert_int_equal(ti.rows, 25);
    assert_memory_equal(buf, "Hello, VGA\nsecond line\n\n", 24);
    assert_true(ti.cursor_visible);
    assert_int_equal(ti.cursor_row, 1);
    assert_int_equal(ti.cursor_col, 11);
    /* The BIOS loaded its font into plane 2: 'H' at (0, 0) has lit pixels in grey. */
    struct vga_frame fr = {0};
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    unsigned lit = 0;
    for (uint32_t y = 0; y < 16; y++)
        for (uint32_t x = 0; x < 9; x++)
            lit += pixel(&fr, x, y)[0] == 0xAA;
    assert_true(lit > 10);

    /* Mode 13h and a pixel in colour 4 through INT 10h AH=0Ch. */
    const uint8_t m13[] = {0xB8, 0x13, 0x00, 0xCD, 0x10, 0xB8, 0x04, 0x0C, 0xB9, 0x0A, 0x00,
                           0xBA, 0x05, 0x00, 0xBB, 0x00, 0x00, 0xCD, 0x10, 0xF4};
    run_real(vm, m13, sizeof(m13), sizeof(m13) - 1);
    assert_int_equal(vga_render(&f->v, &fr, 0), 0);
    assert_int_equal(fr.width, 320);
    assert_int_equal(fr.height, 200);
    assert_rgb(pixel(&fr, 10, 5), 0xAA, 0x00, 0x00);

    /* VBE mode 0x4112 (640x480x24, LFB): AX = 004Fh back, DISPI on. */
    const uint8_t vbe[] = {0xB8, 0x02, 0x4F, 0xBB, 0x12, 0x41, 0xCD, 0x10, 0xA3, 0x00, 0x06, 0xF4};
    run_real(vm, vbe, sizeof(vbe), sizeof(vbe) - 1);
    assert_int_equal(vm->mem.ram[0x600] | vm->mem.ram[0x601] << 8, 0x004F);
    struct vga_mode_info mi;
    vga_get_mode(&f->v, &mi);
    assert_int_equal(mi.kind, VGA_MODE_VBE);
    assert_int_equal(mi.width, 640);
    assert_int_equal(mi.height, 480);
    assert_int_equal(mi.bpp, 24);
    vga_frame_free(&fr);
    testvm_destroy(vm);
    free(vm);
    free(pci);
}

int main(int argc, char **argv)
{
    vgabios_path = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dac_auto_increment, setup, teardown),
        cmocka_unit_test_setup_teardown(attribute_flip_flop, setup, teardown),
        cmocka_unit_test_setup_teardown(write_mode0_set_reset_bitmask, setup, teardown),
        cmocka_unit_test_setup_teardown(read_mode1_color_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_even_and_memory_map, setup, teardown),
        cmocka_unit_test_setup_teardown(chain4_mode13_render, setup, teardown),
        cmocka_unit_test_setup_teardown(planar_mode12_render, setup, teardown),
        cmocka_unit_test_setup_teardown(cga_mode4_render, setup, teardown),
        cmocka_unit_test_setup_teardown(text_mode_render_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(text_cursor_and_blink, setup, teardown),
        cmocka_unit_test_setup_teardown(text_start_address_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(crtc_protect_and_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(input_status_retrace, setup, teardown),
        cmocka_unit_test_setup_teardown(vbe_id_and_lfb, setup, teardown),
        cmocka_unit_test_setup_teardown(vbe_banked_window, setup, teardown),
        cmocka_unit_test_setup_teardown(vbe_planar_4bpp, setup, teardown),
        cmocka_unit_test_setup_teardown(vbe_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_and_rom_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(seavgabios, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
