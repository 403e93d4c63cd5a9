/* A standard VGA with the Bochs VBE extension, presented as QEMU's "stdvga" PCI function
 * 1234:1111, which is what SeaBIOS's vgabios-stdvga.bin drives.
 *
 * Registers: misc output (0x3C2 write, 0x3CC read), sequencer 0x3C4/5, CRTC at 0x3B4/5 or
 * 0x3D4/5 by misc bit 0 (with the CR11 write protect), graphics controller 0x3CE/F, attribute
 * controller 0x3C0/1 (index/data flip-flop, reset by reading input status 1 at 0x3BA/0x3DA),
 * DAC 0x3C6-0x3C9, feature control (0x3CA read, 0x3BA/0x3DA write). Bochs DISPI at
 * 0x1CE (index) / 0x1CF (data, 0x1D0 alias).
 *
 * VRAM is one linear buffer (16 MiB by default). The VGA's four 64 KiB planes are its first
 * 256 KiB, interleaved: byte `a` of plane p lives at vram[4 * a + p]. VBE packed-pixel modes
 * see the buffer linearly, through the LFB (PCI BAR0) or the 64 KiB bank window at A0000.
 *
 * Wiring (the machine does it; the device never touches the memory map):
 *   vga_init(&v, VGA_VRAM_DEFAULT);  vga_attach_ports(&v, &io);
 *   idx = memmap_register_mmio(mm, &vga_legacy_mmio_ops, &v);
 *   memmap_map_mmio(mm, VGA_LEGACY_BASE, VGA_LEGACY_SIZE, idx);
 *   pci_bus_add(&pci, &v.pci, devfn);
 *   v.bars_changed = fn; v.bars_opaque = machine;   -- then, in fn and after load/reset:
 *     memmap_map_host(mm, vga_lfb_address(&v), v.vram_size, v.vram, v.vram)  (when nonzero)
 *     memmap_map_mmio(mm, vga_mmio_address(&v), VGA_MMIO_BAR_SIZE, idx2)  (vga_bar2_mmio_ops)
 *     memmap_map_host(mm, vga_rom_address(&v), v.rom_bar_size, v.rom_image, NULL)  (if a ROM)
 * The machine remembers what it mapped before and unmaps it when an address changes. */
#ifndef BT86_VGA_H
#define BT86_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/pci.h"
#include "mmu/memmap.h"

#define VGA_LEGACY_BASE 0xA0000u
#define VGA_LEGACY_SIZE 0x20000u
#define VGA_PLANE_SIZE 0x10000u    /* bytes per plane as the VGA addresses it */
#define VGA_VRAM_DEFAULT (16u << 20)
#define VGA_VRAM_MIN (1u << 20)
#define VGA_VRAM_MAX (256u << 20)
#define VGA_MMIO_BAR_SIZE 0x1000u  /* BAR2: QEMU's register window */

/* PCI identity of QEMU's stdvga */
#define VGA_PCI_VENDOR 0x1234
#define VGA_PCI_DEVICE 0x1111
#define VGA_PCI_CLASS 0x030000

/* Bochs DISPI */
#define VBE_DISPI_IOPORT_INDEX 0x1CE
#define VBE_DISPI_IOPORT_DATA 0x1CF
enum {
    VBE_DISPI_INDEX_ID = 0,
    VBE_DISPI_INDEX_XRES = 1,
    VBE_DISPI_INDEX_YRES = 2,
    VBE_DISPI_INDEX_BPP = 3,
    VBE_DISPI_INDEX_ENABLE = 4,
    VBE_DISPI_INDEX_BANK = 5,
    VBE_DISPI_INDEX_VIRT_WIDTH = 6,
    VBE_DISPI_INDEX_VIRT_HEIGHT = 7,
    VBE_DISPI_INDEX_X_OFFSET = 8,
    VBE_DISPI_INDEX_Y_OFFSET = 9,
    VBE_DISPI_INDEX_VIDEO_MEMORY_64K = 10,
    VBE_DISPI_NUM_REGS = 11,
};
#define VBE_DISPI_ID0 0xB0C0
#define VBE_DISPI_ID5 0xB0C5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80
#define VBE_DISPI_MAX_XRES 2560
#define VBE_DISPI_MAX_YRES 1600
#define VBE_DISPI_MAX_BPP 32

struct vga {
    struct device dev;
    struct pci_function pci;

    /* host side (configuration, not guest state) */
    uint8_t *vram;
    uint32_t vram_size;           /* power of two, VGA_VRAM_MIN..VGA_VRAM_MAX */
    const struct vclock *clock;   /* optional: paces the retrace bits of input status 1 */
    void (*bars_changed)(void *opaque, struct vga *v); /* BAR/command/ROM BAR moved */
    void *bars_opaque;
    uint8_t *rom_image;           /* option ROM for the expansion ROM BAR, rom_bar_size long */
    uint32_t rom_bar_size;

    /* guest-visible state */
    uint8_t misc;       /* misc output */
    uint8_t feature;    /* feature control */
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t cr_index, cr[32];
    uint8_t ar_index;   /* bits 0-4 register, bit 5 palette address source */
    bool ar_data_next;  /* the flip-flop: next 0x3C0 write is data */
    uint8_t ar[32];
    uint8_t dac[256][3];
    uint8_t dac_read_index, dac_write_index, dac_component, dac_state, pel_mask;
    uint8_t latch[4];
    uint16_t vbe_index;
    uint16_t vbe[VBE_DISPI_NUM_REGS];
    uint64_t status_time; /* ns: the beam position that input status 1 reports */
};

/* Allocates VRAM (zeroed) and builds the PCI function. 0 or -errno. */
int vga_init(struct vga *v, uint32_t vram_size);
void vga_destroy(struct vga *v);
/* Claims 0x3B0-0x3BB, 0x3C0-0x3CF, 0x3D0-0x3DF and 0x1CE-0x1D0. 0 or -1. */
int vga_attach_ports(struct vga *v, struct ioport_bus *bus);
/* Copies an option ROM (e.g. vgabios-stdvga.bin) behind the PCI expansion ROM BAR. 0/-errno */
int vga_set_rom(struct vga *v, const void *data, size_t len);

/* Port access as the bus delivers it (1, 2 or 4 bytes; wider ones are split into bytes). */
uint32_t vga_port_read(struct vga *v, uint16_t port, unsigned size);
void vga_port_write(struct vga *v, uint16_t port, uint32_t value, unsigned size);

/* The legacy window: `offset` is from VGA_LEGACY_BASE, over VGA_LEGACY_SIZE bytes; which part
 * answers follows the graphics controller's memory map select (or the VBE bank window). */
extern const struct mmio_ops vga_legacy_mmio_ops;
/* BAR2 as QEMU lays it out: 0x400 VGA ports 0x3C0-0x3DF, 0x500 DISPI registers (16 bit,
 * index * 2), 0x600 the "qemu extended" block (size, framebuffer byte order). */
extern const struct mmio_ops vga_bar2_mmio_ops;

/* Decoded addresses, 0 when unassigned or decoding is off (see pci_bar_address). */
uint32_t vga_lfb_address(const struct vga *v);
uint32_t vga_mmio_address(const struct vga *v);
uint32_t vga_rom_address(const struct vga *v);

/* ---- display ---- */

enum vga_mode_kind {
    VGA_MODE_BLANK,   /* screen off, or the attribute controller has the palette (PAS = 0) */
    VGA_MODE_TEXT,
    VGA_MODE_PLANAR,  /* 16 colours (and 2/4 colours), through attribute palette and DAC */
    VGA_MODE_CGA,     /* 2 bits per pixel, shift-register interleave (modes 4, 5) */
    VGA_MODE_256,     /* chain-4 style 8 bits per pixel (mode 13h, mode X) */
    VGA_MODE_VBE,     /* Bochs DISPI packed pixel, or 4 bpp planar */
};

struct vga_mode_info {
    enum vga_mode_kind kind;
    uint32_t width, height;   /* the frame vga_render produces */
    uint32_t cols, rows;      /* text modes: character cells */
    uint32_t char_width, char_height;
    uint32_t bpp;             /* VBE modes */
};

void vga_get_mode(const struct vga *v, struct vga_mode_info *info);

/* An RGB888 image, rows packed (3 * width bytes each). `rgb` grows as needed and is owned
 * by the frame; free it with vga_frame_free. */
struct vga_frame {
    uint32_t width, height;
    uint8_t *rgb;
    size_t cap;
};

/* Draws the current screen. `now_ns` drives the cursor (16 frames) and character (32 frames)
 * blink at 70 Hz; time 0 shows both lit. 0, or -1 if memory ran out. */
int vga_render(const struct vga *v, struct vga_frame *f, uint64_t now_ns);
void vga_frame_free(struct vga_frame *f);

/* The text screen as lines, each ending in '\n', trailing blanks trimmed, NUL-terminated when
 * cap allows. Characters 0x20-0x7E come out as themselves; others as UTF-8 of code page 437
 * when utf8, else '.' (NUL and 0xFF as spaces either way). Returns the length the whole text
 * needs (without the NUL); 0 with info->cols = 0 when not in a text mode. */
struct vga_text_info {
    uint32_t cols, rows;
    uint32_t cursor_col, cursor_row; /* where the CRTC cursor address falls, if on screen */
    bool cursor_visible;             /* enabled, start <= end, and on screen */
};
size_t vga_read_text(const struct vga *v, char *buf, size_t cap, bool utf8,
                     struct vga_text_info *info);

/* Renders and writes a PNG screenshot (atomically). 0 or -errno. */
int vga_screenshot(const struct vga *v, const char *path, uint64_t now_ns);

/* ---- shared between vga.c and vga_render.c ---- */

/* The current VBE geometry after the clamping the device applies on every change. */
struct vga_vbe_geometry {
    uint32_t xres, yres, bpp;
    uint32_t line_bytes;   /* bytes per scan line (per plane for 4 bpp) */
    uint64_t start;        /* byte of the first visible pixel (per plane for 4 bpp) */
};
bool vga_vbe_enabled(const struct vga *v);
void vga_vbe_geometry(const struct vga *v, struct vga_vbe_geometry *g);

#endif
