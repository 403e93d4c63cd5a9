/* Standard VGA registers, the CPU's view of display memory, Bochs VBE, the PCI function and
 * the saved state. The picture is drawn in vga_render.c. */
#include "devices/vga.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/png.h"

/* Bits that exist in each register (IBM VGA reference); the rest read back as 0. */
static const uint8_t sr_mask[8] = {0x03, 0x3D, 0x0F, 0x3F, 0x0E, 0x00, 0x00, 0x00};
static const uint8_t gr_mask[16] = {0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF};
static const uint8_t ar_mask[32] = {
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F,
    0xEF, 0xFF, 0x3F, 0x0F, 0x0F,
};
#define NUM_SR 5
#define NUM_GR 9
#define NUM_CR 0x19
#define NUM_AR 0x15
#define VBE_ENABLE_BITS (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC | \
                         VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM)

/* What the BIOS leaves after setting mode 3 (80x25, 9x16 cells), so a guest that writes to
 * B8000 without running a VGA BIOS still gets a readable text screen. */
static const uint8_t mode3_sr[NUM_SR] = {0x03, 0x00, 0x03, 0x00, 0x02};
static const uint8_t mode3_gr[NUM_GR] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF};
static const uint8_t mode3_cr[NUM_CR] = {0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00,
                                         0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x8E,
                                         0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF};
static const uint8_t mode3_ar[NUM_AR] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
                                         0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D,
                                         0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00};

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* ---- Bochs VBE ---- */

bool vga_vbe_enabled(const struct vga *v)
{
    return v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

static bool vbe_bpp_valid(unsigned bpp)
{
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* Bytes of one line of `w` pixels: per plane for 4 bpp, whose planes share VRAM by four. */
static uint32_t vbe_line_bytes(unsigned bpp, uint32_t w)
{
    if (bpp == 4)
        return w / 8;
    return w * (bpp == 15 ? 2 : bpp / 8);
}

static uint32_t vbe_space(const struct vga *v, unsigned bpp)
{
    return bpp == 4 ? v->vram_size / 4 : v->vram_size;
}

/* Makes the enabled mode fit VRAM: the guest may write any 16-bit values in any order. */
static void vbe_fixup(struct vga *v)
{
    uint16_t *r = v->vbe;
    unsigned bpp = r[VBE_DISPI_INDEX_BPP];
    if (!vbe_bpp_valid(bpp))
        bpp = r[VBE_DISPI_INDEX_BPP] = 8;
    uint32_t xres = r[VBE_DISPI_INDEX_XRES], yres = r[VBE_DISPI_INDEX_YRES];
    if (xres > VBE_DISPI_MAX_XRES)
        xres = VBE_DISPI_MAX_XRES;
    if (bpp == 4)
        xres &= ~7u; /* whole bytes per plane */
    if (xres < 8)
        xres = 8;
    if (yres > VBE_DISPI_MAX_YRES)
        yres = VBE_DISPI_MAX_YRES;
    if (yres < 1)
        yres = 1;
    uint32_t space = vbe_space(v, bpp);
    uint32_t vw = r[VBE_DISPI_INDEX_VIRT_WIDTH];
    if (bpp == 4)
        vw &= ~7u;
    if (vw < xres || (uint64_t)vbe_line_bytes(bpp, vw) * yres > space)
        vw = xres;
    uint32_t line = vbe_line_bytes(bpp, vw);
    if ((uint64_t)line * yres > space)
        yres = space / line; /* line <= 10240, space >= 256 KiB: yres stays >= 1 */
    uint32_t vh = space / line;
    if (vh > 0xFFFF)
        vh = 0xFFFF;
    uint32_t xo = r[VBE_DISPI_INDEX_X_OFFSET], yo = r[VBE_DISPI_INDEX_Y_OFFSET];
    if (xo > vw - xres)
        xo = vw - xres;
    if (yo > vh - yres)
        yo = vh - yres;
    r[VBE_DISPI_INDEX_XRES] = (uint16_t)xres;
    r[VBE_DISPI_INDEX_YRES] = (uint16_t)yres;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = (uint16_t)vw;
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)vh;
    r[VBE_DISPI_INDEX_X_OFFSET] = (uint16_t)xo;
    r[VBE_DISPI_INDEX_Y_OFFSET] = (uint16_t)yo;
}

void vga_vbe_geometry(const struct vga *v, struct vga_vbe_geometry *g)
{
    const uint16_t *r = v->vbe;
    g->xres = r[VBE_DISPI_INDEX_XRES];
    g->yres = r[VBE_DISPI_INDEX_YRES];
    g->bpp = r[VBE_DISPI_INDEX_BPP];
    g->line_bytes = vbe_line_bytes(g->bpp, r[VBE_DISPI_INDEX_VIRT_WIDTH]);
    uint32_t xo = r[VBE_DISPI_INDEX_X_OFFSET];
    g->start = (uint64_t)r[VBE_DISPI_INDEX_Y_OFFSET] * g->line_bytes +
               (g->bpp == 4 ? xo / 8 : vbe_line_bytes(g->bpp, xo));
}

static uint32_t vbe_bank_limit(const struct vga *v)
{
    bool planar = vga_vbe_enabled(v) && v->vbe[VBE_DISPI_INDEX_BPP] == 4;
    return (planar ? v->vram_size / 4 : v->vram_size) / 0x10000;
}

static uint16_t vbe_read(struct vga *v)
{
    const uint16_t *r = v->vbe;
    unsigned i = v->vbe_index;
    if (i >= VBE_DISPI_NUM_REGS)
        return 0;
    if (r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
        if (i == VBE_DISPI_INDEX_XRES)
            return VBE_DISPI_MAX_XRES;
        if (i == VBE_DISPI_INDEX_YRES)
            return VBE_DISPI_MAX_YRES;
        if (i == VBE_DISPI_INDEX_BPP)
            return VBE_DISPI_MAX_BPP;
    }
    if (i == VBE_DISPI_INDEX_VIDEO_MEMORY_64K)
        return (uint16_t)(v->vram_size >> 16);
    return r[i];
}

static void vbe_write(struct vga *v, uint16_t val)
{
    uint16_t *r = v->vbe;
    bool on = vga_vbe_enabled(v);
    switch (v->vbe_index) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
            r[VBE_DISPI_INDEX_ID] = val;
        return;
    case VBE_DISPI_INDEX_XRES:
        r[VBE_DISPI_INDEX_XRES] = val > VBE_DISPI_MAX_XRES ? VBE_DISPI_MAX_XRES : val;
        break;
    case VBE_DISPI_INDEX_YRES:
        r[VBE_DISPI_INDEX_YRES] = val > VBE_DISPI_MAX_YRES ? VBE_DISPI_MAX_YRES : val;
        break;
    case VBE_DISPI_INDEX_BPP:
        if (val == 0)
            val = 8;
        if (!vbe_bpp_valid(val))
            return; /* unsupported depth: keep the old one */
        r[VBE_DISPI_INDEX_BPP] = val;
        break;
    case VBE_DISPI_INDEX_ENABLE: {
        val &= VBE_ENABLE_BITS;
        r[VBE_DISPI_INDEX_ENABLE] = val;
        if (!(val & VBE_DISPI_ENABLED)) {
            r[VBE_DISPI_INDEX_BANK] = 0;
            return;
        }
        if (on)
            break;
        /* A fresh mode starts unpanned with a virtual width of its own width. */
        r[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
        r[VBE_DISPI_INDEX_X_OFFSET] = r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        vbe_fixup(v);
        if (!(val & VBE_DISPI_NOCLEARMEM)) {
            struct vga_vbe_geometry g;
            vga_vbe_geometry(v, &g);
            uint64_t n = (uint64_t)g.line_bytes * g.yres * (g.bpp == 4 ? 4 : 1);
            memset(v->vram, 0, n < v->vram_size ? n : v->vram_size);
        }
        return;
    }
    case VBE_DISPI_INDEX_BANK:
        if (val < vbe_bank_limit(v))
            r[VBE_DISPI_INDEX_BANK] = val;
        return; /* a bank past VRAM is refused; the BIOS reads back to notice */
    case VBE_DISPI_INDEX_VIRT_WIDTH:
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        r[v->vbe_index] = val;
        break;
    default:
        return; /* VIRT_HEIGHT and VIDEO_MEMORY_64K are computed; others do not exist */
    }
    if (on)
        vbe_fixup(v);
}

/* ---- CRTC timing, for input status 1 ---- */

static uint32_t crtc_vde(const struct vga *v)
{
    return v->cr[0x12] | (v->cr[0x07] & 0x02) << 7 | (v->cr[0x07] & 0x40) << 3;
}

/* Where the beam is at time t: the bits of input status 1 (bit 0 display disabled, bit 3
 * vertical retrace), from the programmed totals and a 25/28 MHz dot clock. */
static uint8_t beam_status(const struct vga *v, uint64_t t)
{
    uint64_t htotal, hde, vtotal, vde, vrs, vre, line_ns;
    if (vga_vbe_enabled(v)) {
        vde = v->vbe[VBE_DISPI_INDEX_YRES];
        vtotal = vde + vde / 20 + 4;
        vrs = vde + 1;
        vre = vrs + 2;
        htotal = 5;
        hde = 4;
        line_ns = 16666667 / vtotal; /* 60 Hz */
    } else {
        htotal = v->cr[0x00] + 5u;
        hde = v->cr[0x01] + 1u;
        vtotal = v->cr[0x06] + ((v->cr[0x07] & 0x01) << 8 | (v->cr[0x07] & 0x20) << 4) + 2u;
        vde = crtc_vde(v);
        vrs = v->cr[0x10] | (v->cr[0x07] & 0x04) << 6 | (v->cr[0x07] & 0x80) << 2;
        /* The end is a 4-bit compare with the line counter. */
        vre = vrs + (((v->cr[0x11] & 0x0F) - vrs) & 0x0F);
        if (vre == vrs)
            vre += 16;
        uint64_t dot_hz = ((v->misc >> 2) & 3) == 1 ? 28322000 : 25175000;
        uint64_t cw = (v->sr[1] & 0x01) ? 8 : 9;
        if (v->sr[1] & 0x08)
            dot_hz /= 2;
        line_ns = htotal * cw * NS_PER_SEC / dot_hz;
    }
    if (line_ns == 0)
        line_ns = 1;
    uint64_t pos = t % (vtotal * line_ns);
    uint64_t line = pos / line_ns, in_line = pos % line_ns;
    uint8_t s = 0;
    if (line >= vrs && line < vre)
        s |= 0x08;
    if (line > vde || in_line * htotal >= hde * line_ns)
        s |= 0x01;
    return s;
}

static uint8_t input_status1(struct vga *v)
{
    /* Each read moves the beam a little even when virtual time stands still, so a guest
     * spinning on the retrace bit always gets out. */
    uint64_t t = v->status_time + (v->clock ? 100 : 1000);
    if (v->clock && vclock_now(v->clock) > t)
        t = vclock_now(v->clock);
    v->status_time = t;
    v->ar_data_next = false;
    return beam_status(v, t);
}

/* ---- ports ---- */

static bool color_io(const struct vga *v) { return v->misc & 0x01; }

static uint8_t port_readb(struct vga *v, uint16_t port)
{
    switch (port) {
    case 0x3C0:
        return v->ar_index;
    case 0x3C1: {
        unsigned i = v->ar_index & 0x1F;
        return i < NUM_AR ? v->ar[i] : 0;
    }
    case 0x3C2:
        return 0x10; /* input status 0: switch sense high, no CRT interrupt */
    case 0x3C3:
        return 0x01; /* video subsystem enabled */
    case 0x3C4:
        return v->sr_index;
    case 0x3C5:
        return v->sr_index < 8 ? v->sr[v->sr_index] : 0;
    case 0x3C6:
        return v->pel_mask;
    case 0x3C7:
        return v->dac_state;
    case 0x3C8:
        return v->dac_write_index;
    case 0x3C9: {
        uint8_t c = v->dac[v->dac_read_index][v->dac_component];
        if (++v->dac_component == 3) {
            v->dac_component = 0;
            v->dac_read_index++;
        }
        return c;
    }
    case 0x3CA:
        return v->feature;
    case 0x3CC:
        return v->misc;
    case 0x3CE:
        return v->gr_index;
    case 0x3CF:
        return v->gr_index < 16 ? v->gr[v->gr_index] : 0;
    case 0x3B4:
    case 0x3D4:
        if (color_io(v) != (port == 0x3D4))
            return 0xFF;
        return v->cr_index;
    case 0x3B5:
    case 0x3D5:
        if (color_io(v) != (port == 0x3D5))
            return 0xFF;
        return v->cr_index < NUM_CR ? v->cr[v->cr_index] : 0;
    case 0x3BA:
    case 0x3DA:
        if (color_io(v) != (port == 0x3DA))
            return 0xFF;
        return input_status1(v);
    default:
        return 0xFF;
    }
}

static void crtc_write(struct vga *v, uint8_t val)
{
    unsigned i = v->cr_index;
    if (i >= NUM_CR)
        return;
    if ((v->cr[0x11] & 0x80) && i <= 0x07) {
        /* Protected: CR00-CR07, except the line compare bit 8 in CR07. */
        if (i == 0x07)
            v->cr[7] = (uint8_t)((v->cr[7] & ~0x10) | (val & 0x10));
        return;
    }
    v->cr[i] = val;
}

static void port_writeb(struct vga *v, uint16_t port, uint8_t val)
{
    switch (port) {
    case 0x3C0:
        if (!v->ar_data_next) {
            v->ar_index = val & 0x3F;
        } else {
            unsigned i = v->ar_index & 0x1F;
            /* The palette is locked while the video drives it (PAS = 1). */
            if (i < NUM_AR && !(i < 0x10 && (v->ar_index & 0x20)))
                v->ar[i] = val & ar_mask[i];
        }
        v->ar_data_next = !v->ar_data_next;
        break;
    case 0x3C2:
        v->misc = val;
        break;
    case 0x3C4:
        v->sr_index = val;
        break;
    case 0x3C5:
        if (v->sr_index < 8)
            v->sr[v->sr_index] = val & sr_mask[v->sr_index];
        break;
    case 0x3C6:
        v->pel_mask = val;
        break;
    case 0x3C7:
        v->dac_read_index = val;
        v->dac_component = 0;
        v->dac_state = 0x03;
        break;
    case 0x3C8:
        v->dac_write_index = val;
        v->dac_component = 0;
        v->dac_state = 0x00;
        break;
    case 0x3C9:
        v->dac[v->dac_write_index][v->dac_component] =
            (v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC) ? val : (val & 0x3F);
        if (++v->dac_component == 3) {
            v->dac_component = 0;
            v->dac_write_index++;
        }
        break;
    case 0x3CE:
        v->gr_index = val;
        break;
    case 0x3CF:
        if (v->gr_index < 16)
            v->gr[v->gr_index] = val & gr_mask[v->gr_index];
        break;
    case 0x3B4:
    case 0x3D4:
        if (color_io(v) == (port == 0x3D4))
            v->cr_index = val;
        break;
    case 0x3B5:
    case 0x3D5:
        if (color_io(v) == (port == 0x3D5))
            crtc_write(v, val);
        break;
    case 0x3BA:
    case 0x3DA:
        if (color_io(v) == (port == 0x3DA))
            v->feature = val & 0x03;
        break;
    default:
        break;
    }
}

uint32_t vga_port_read(struct vga *v, uint16_t port, unsigned size)
{
    if (port >= 0x1CE && port <= 0x1D0) {
        if (port == VBE_DISPI_IOPORT_INDEX)
            return v->vbe_index;
        uint16_t d = vbe_read(v);
        return size == 1 ? (uint32_t)(d & 0xFF) : d;
    }
    uint32_t r = 0;
    for (unsigned k = 0; k < size && k < 4; k++)
        r |= (uint32_t)port_readb(v, (uint16_t)(port + k)) << (8 * k);
    return r;
}

void vga_port_write(struct vga *v, uint16_t port, uint32_t value, unsigned size)
{
    if (port >= 0x1CE && port <= 0x1D0) {
        if (port == VBE_DISPI_IOPORT_INDEX) {
            v->vbe_index = (uint16_t)value;
            if (size == 4) /* a dword reaches the data register too */
                vbe_write(v, (uint16_t)(value >> 16));
        } else {
            vbe_write(v, (uint16_t)(size == 1 ? (value & 0xFF) : value));
        }
        return;
    }
    /* OUT DX, AX on an index port writes index then data: byte by byte, in order. */
    for (unsigned k = 0; k < size && k < 4; k++)
        port_writeb(v, (uint16_t)(port + k), (uint8_t)(value >> (8 * k)));
}

static uint32_t io_read(void *opaque, uint16_t port, unsigned size)
{
    return vga_port_read(opaque, port, size);
}

static void io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    vga_port_write(opaque, port, value, size);
}

static const struct ioport_ops vga_io_ops = {io_read, io_write};

int vga_attach_ports(struct vga *v, struct ioport_bus *bus)
{
    /* 0x3BC-0x3BF belong to a monochrome card's printer port, so they are left free. */
    if (ioport_register(bus, 0x3B0, 12, &vga_io_ops, v) ||
        ioport_register(bus, 0x3C0, 16, &vga_io_ops, v) ||
        ioport_register(bus, 0x3D0, 16, &vga_io_ops, v) ||
        ioport_register(bus, VBE_DISPI_IOPORT_INDEX, 3, &vga_io_ops, v))
        return -1;
    return 0;
}

/* ---- display memory as the CPU sees it ---- */

static bool vbe_packed(const struct vga *v)
{
    return vga_vbe_enabled(v) && v->vbe[VBE_DISPI_INDEX_BPP] != 4;
}

/* Offset within the window the memory map select decodes, or false if `off` is outside. */
static bool window_decode(const struct vga *v, uint32_t off, uint32_t *a)
{
    if (!(v->misc & 0x02)) /* RAM enable off: the card ignores the CPU */
        return false;
    switch ((v->gr[6] >> 2) & 3) {
    case 0:
        *a = off;
        return off < 0x20000;
    case 1:
        *a = off;
        return off < 0x10000;
    case 2:
        *a = off - 0x10000;
        return off >= 0x10000 && off < 0x18000;
    default:
        *a = off - 0x18000;
        return off >= 0x18000 && off < 0x20000;
    }
}

/* The plane address for window offset `a` (the low bits already replaced by the chain-4 or
 * odd/even rule), bounded: 64 KiB per plane for the VGA, all of VRAM / 4 for 4 bpp VBE. */
static bool plane_address(const struct vga *v, uint32_t a, uint32_t *pa)
{
    if (vga_vbe_enabled(v)) {
        uint64_t x = (uint64_t)v->vbe[VBE_DISPI_INDEX_BANK] * 0x10000 + (a & 0xFFFF);
        if (x >= v->vram_size / 4)
            return false;
        *pa = (uint32_t)x;
        return true;
    }
    *pa = a & (VGA_PLANE_SIZE - 1);
    return true;
}

static uint8_t vbe_window_read(const struct vga *v, uint32_t off)
{
    uint64_t x = (uint64_t)v->vbe[VBE_DISPI_INDEX_BANK] * 0x10000 + off;
    return off < 0x10000 && x < v->vram_size ? v->vram[x] : 0xFF;
}

static uint8_t mem_readb(struct vga *v, uint32_t off)
{
    if (vbe_packed(v))
        return vbe_window_read(v, off);
    uint32_t a, pa;
    if (!window_decode(v, off, &a))
        return 0xFF;
    unsigned plane;
    if (v->sr[4] & 0x08) {
        plane = a & 3;
        a &= ~3u;
    } else if (v->gr[5] & 0x10) {
        plane = (v->gr[4] & 2) | (a & 1);
        a &= ~1u;
    } else {
        plane = v->gr[4] & 3;
    }
    if (!plane_address(v, a, &pa))
        return 0xFF;
    const uint8_t *p = &v->vram[(size_t)pa << 2];
    memcpy(v->latch, p, 4);
    if (!(v->gr[5] & 0x08))
        return v->latch[plane];
    /* Read mode 1: 1 where every plane that counts matches the colour compare value. */
    uint8_t diff = 0;
    for (unsigned k = 0; k < 4; k++)
        if (v->gr[7] & (1u << k))
            diff |= (uint8_t)(v->latch[k] ^ ((v->gr[2] >> k & 1) ? 0xFF : 0x00));
    return (uint8_t)~diff;
}

static uint8_t alu(unsigned func, uint8_t d, uint8_t latch)
{
    switch (func) {
    case 1: return d & latch;
    case 2: return d | latch;
    case 3: return d ^ latch;
    default: return d;
    }
}

static void mem_writeb(struct vga *v, uint32_t off, uint8_t val)
{
    if (vbe_packed(v)) {
        uint64_t x = (uint64_t)v->vbe[VBE_DISPI_INDEX_BANK] * 0x10000 + off;
        if (off < 0x10000 && x < v->vram_size)
            v->vram[x] = val;
        return;
    }
    uint32_t a, pa;
    if (!window_decode(v, off, &a))
        return;
    unsigned planes = v->sr[2] & 0x0F;
    if (v->sr[4] & 0x08) {
        planes &= 1u << (a & 3);
        a &= ~3u;
    } else if (!(v->sr[4] & 0x04)) {
        planes &= (a & 1) ? 0x0A : 0x05;
        a &= ~1u;
    }
    if (!planes || !plane_address(v, a, &pa))
        return;

    unsigned rot = v->gr[3] & 7, func = (v->gr[3] >> 3) & 3;
    uint8_t rotated = (uint8_t)((val >> rot) | (val << ((8 - rot) & 7)));
    uint8_t mask = v->gr[8];
    uint8_t d[4];
    switch (v->gr[5] & 3) {
    case 0:
        for (unsigned k = 0; k < 4; k++) {
            uint8_t x = rotated;
            if (v->gr[1] >> k & 1) /* enable set/reset: the plane takes the set/reset bit */
                x = (v->gr[0] >> k & 1) ? 0xFF : 0x00;
            d[k] = alu(func, x, v->latch[k]);
        }
        break;
    case 1:
        memcpy(d, v->latch, 4);
        mask = 0xFF;
        break;
    case 2:
        for (unsigned k = 0; k < 4; k++)
            d[k] = alu(func, (val >> k & 1) ? 0xFF : 0x00, v->latch[k]);
        break;
    default:
        mask &= rotated;
        for (unsigned k = 0; k < 4; k++)
            d[k] = alu(func, (v->gr[0] >> k & 1) ? 0xFF : 0x00, v->latch[k]);
        break;
    }
    uint8_t *p = &v->vram[(size_t)pa << 2];
    for (unsigned k = 0; k < 4; k++)
        if (planes & (1u << k))
            p[k] = (uint8_t)((d[k] & mask) | (v->latch[k] & ~mask));
}

static uint32_t legacy_read(void *opaque, uint32_t offset, unsigned size)
{
    uint32_t r = 0;
    for (unsigned k = 0; k < size && k < 4; k++) {
        uint32_t o = offset + k;
        r |= (uint32_t)(o < VGA_LEGACY_SIZE ? mem_readb(opaque, o) : 0xFF) << (8 * k);
    }
    return r;
}

static void legacy_write(void *opaque, uint32_t offset, uint32_t value, unsigned size)
{
    for (unsigned k = 0; k < size && k < 4; k++) {
        uint32_t o = offset + k;
        if (o < VGA_LEGACY_SIZE)
            mem_writeb(opaque, o, (uint8_t)(value >> (8 * k)));
    }
}

const struct mmio_ops vga_legacy_mmio_ops = {legacy_read, legacy_write};

/* ---- BAR2: QEMU's MMIO register block ---- */

#define QEXT_BASE 0x600
#define QEXT_SIZE 8

static uint32_t bar2_read(void *opaque, uint32_t off, unsigned size)
{
    struct vga *v = opaque;
    if (off >= 0x400 && off + size <= 0x420)
        return vga_port_read(v, (uint16_t)(0x3C0 + off - 0x400), size);
    if (off >= 0x500 && off < 0x500 + 2 * VBE_DISPI_NUM_REGS && !(off & 1)) {
        v->vbe_index = (uint16_t)((off - 0x500) / 2);
        uint32_t d = vbe_read(v);
        return size == 1 ? d & 0xFF : d;
    }
    if (off == QEXT_BASE && size == 4)
        return QEXT_SIZE;
    if (off == QEXT_BASE + 4 && size == 4)
        return 0x1E1E1E1E; /* little-endian framebuffer */
    return 0;
}

static void bar2_write(void *opaque, uint32_t off, uint32_t value, unsigned size)
{
    struct vga *v = opaque;
    if (off >= 0x400 && off + size <= 0x420) {
        vga_port_write(v, (uint16_t)(0x3C0 + off - 0x400), value, size);
    } else if (off >= 0x500 && off < 0x500 + 2 * VBE_DISPI_NUM_REGS && !(off & 1) && size == 2) {
        v->vbe_index = (uint16_t)((off - 0x500) / 2);
        vbe_write(v, (uint16_t)value);
    }
}

const struct mmio_ops vga_bar2_mmio_ops = {bar2_read, bar2_write};

/* ---- PCI ---- */

uint32_t vga_lfb_address(const struct vga *v) { return pci_bar_address(&v->pci, 0); }
uint32_t vga_mmio_address(const struct vga *v) { return pci_bar_address(&v->pci, 2); }

uint32_t vga_rom_address(const struct vga *v)
{
    uint32_t rom = pci_get32(&v->pci, PCI_ROM_ADDRESS);
    if (!v->rom_bar_size || !(rom & 1) || !(pci_get16(&v->pci, PCI_COMMAND) & PCI_COMMAND_MEMORY))
        return 0;
    return rom & ~(v->rom_bar_size - 1);
}

static void notify_bars(struct vga *v)
{
    if (v->bars_changed)
        v->bars_changed(v->bars_opaque, v);
}

static void pci_written(struct pci_function *f, unsigned off, unsigned size)
{
    unsigned end = off + size;
    bool cmd = off < PCI_COMMAND + 2 && end > PCI_COMMAND;
    bool bars = off < PCI_BAR0 + 24 && end > PCI_BAR0;
    bool rom = off < PCI_ROM_ADDRESS + 4 && end > PCI_ROM_ADDRESS;
    if (cmd || bars || rom)
        notify_bars(f->opaque);
}

static void pci_setup(struct vga *v)
{
    struct pci_function *f = &v->pci;
    pci_function_init(f, VGA_PCI_VENDOR, VGA_PCI_DEVICE, 0x02, VGA_PCI_CLASS, 0x00);
    pci_set16(f, PCI_SUBSYS_VENDOR, 0x1AF4); /* what QEMU reports */
    pci_set16(f, PCI_SUBSYS_VENDOR + 2, 0x1100);
    pci_set_bar(f, 0, v->vram_size, false, true);
    pci_set_bar(f, 2, VGA_MMIO_BAR_SIZE, false, false);
    if (v->rom_bar_size) {
        uint32_t m = ~(v->rom_bar_size - 1) | 1u;
        for (unsigned k = 0; k < 4; k++)
            f->wmask[PCI_ROM_ADDRESS + k] = (uint8_t)(m >> (8 * k));
    }
    f->config_written = pci_written;
    f->opaque = v;
}

int vga_set_rom(struct vga *v, const void *data, size_t len)
{
    if (!len || len > (16u << 20))
        return -EINVAL;
    uint32_t size = 2048; /* the smallest expansion ROM BAR */
    while (size < len)
        size <<= 1;
    uint8_t *img = calloc(1, size);
    if (!img)
        return -ENOMEM;
    memcpy(img, data, len);
    free(v->rom_image);
    v->rom_image = img;
    v->rom_bar_size = size;
    uint8_t saved[256];
    memcpy(saved, v->pci.config, sizeof(saved));
    pci_setup(v);
    /* keep what the guest already programmed */
    for (unsigned i = 0; i < 256; i++)
        v->pci.config[i] = (uint8_t)((v->pci.config[i] & ~v->pci.wmask[i]) |
                                     (saved[i] & v->pci.wmask[i]));
    notify_bars(v);
    return 0;
}

/* ---- reset, save, load ---- */

static void regs_reset(struct vga *v)
{
    v->misc = 0x67;
    v->feature = 0;
    memset(v->sr, 0, sizeof(v->sr));
    memset(v->gr, 0, sizeof(v->gr));
    memset(v->cr, 0, sizeof(v->cr));
    memset(v->ar, 0, sizeof(v->ar));
    memcpy(v->sr, mode3_sr, NUM_SR);
    memcpy(v->gr, mode3_gr, NUM_GR);
    memcpy(v->cr, mode3_cr, NUM_CR);
    memcpy(v->ar, mode3_ar, NUM_AR);
    v->sr_index = v->gr_index = v->cr_index = 0;
    v->ar_index = 0x20;
    v->ar_data_next = false;
    /* The EGA-compatible 64 colours: bits 0-2 blue/green/red at 2/3, bits 3-5 at 1/3. */
    memset(v->dac, 0, sizeof(v->dac));
    for (unsigned i = 0; i < 64; i++) {
        v->dac[i][0] = (uint8_t)((i >> 2 & 1) * 0x2A + (i >> 5 & 1) * 0x15);
        v->dac[i][1] = (uint8_t)((i >> 1 & 1) * 0x2A + (i >> 4 & 1) * 0x15);
        v->dac[i][2] = (uint8_t)((i & 1) * 0x2A + (i >> 3 & 1) * 0x15);
    }
    v->dac_read_index = v->dac_write_index = v->dac_component = v->dac_state = 0;
    v->pel_mask = 0xFF;
    memset(v->latch, 0, sizeof(v->latch));
    v->vbe_index = 0;
    memset(v->vbe, 0, sizeof(v->vbe));
    v->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    v->vbe[VBE_DISPI_INDEX_XRES] = 640;
    v->vbe[VBE_DISPI_INDEX_YRES] = 480;
    v->vbe[VBE_DISPI_INDEX_BPP] = 8;
    v->status_time = 0;
}

static void clear_vram(struct vga *v)
{
    /* Anonymous pages come back zero, without touching (or committing) all 16 MiB. */
    if (madvise(v->vram, v->vram_size, MADV_DONTNEED))
        memset(v->vram, 0, v->vram_size);
}

static void vga_reset(void *opaque)
{
    struct vga *v = opaque;
    regs_reset(v);
    clear_vram(v);
    pci_setup(v);
    notify_bars(v);
}

#define CHUNK 0x10000u

static bool chunk_zero(const uint8_t *p)
{
    static const uint8_t zero[4096];
    for (unsigned o = 0; o < CHUNK; o += sizeof(zero))
        if (memcmp(p + o, zero, sizeof(zero)))
            return false;
    return true;
}

static void vga_save(const void *opaque, struct state_writer *w)
{
    const struct vga *v = opaque;
    sw_u8(w, v->misc);
    sw_u8(w, v->feature);
    sw_u8(w, v->sr_index);
    sw_bytes(w, v->sr, sizeof(v->sr));
    sw_u8(w, v->gr_index);
    sw_bytes(w, v->gr, sizeof(v->gr));
    sw_u8(w, v->cr_index);
    sw_bytes(w, v->cr, sizeof(v->cr));
    sw_u8(w, v->ar_index);
    sw_u8(w, v->ar_data_next);
    sw_bytes(w, v->ar, sizeof(v->ar));
    sw_bytes(w, v->dac, sizeof(v->dac));
    sw_u8(w, v->dac_read_index);
    sw_u8(w, v->dac_write_index);
    sw_u8(w, v->dac_component);
    sw_u8(w, v->dac_state);
    sw_u8(w, v->pel_mask);
    sw_bytes(w, v->latch, sizeof(v->latch));
    sw_u16(w, v->vbe_index);
    for (unsigned i = 0; i < VBE_DISPI_NUM_REGS; i++)
        sw_u16(w, v->vbe[i]);
    sw_u64(w, v->status_time);
    sw_bytes(w, v->pci.config, sizeof(v->pci.config));
    /* VRAM in 64 KiB chunks, all-zero ones as a single flag byte. */
    sw_u32(w, v->vram_size);
    for (uint32_t o = 0; o < v->vram_size; o += CHUNK) {
        bool z = chunk_zero(v->vram + o);
        sw_u8(w, !z);
        if (!z)
            sw_bytes(w, v->vram + o, CHUNK);
    }
}

static int vga_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct vga *v = opaque;
    if (version != 1)
        return -1;
    /* Every value is masked to the bits the register has, so nothing loaded can index
     * outside its table; VBE geometry is re-fixed below. */
    v->misc = sr_u8(r);
    v->feature = sr_u8(r) & 0x03;
    v->sr_index = sr_u8(r);
    sr_bytes(r, v->sr, sizeof(v->sr));
    for (unsigned i = 0; i < 8; i++)
        v->sr[i] &= sr_mask[i];
    v->gr_index = sr_u8(r);
    sr_bytes(r, v->gr, sizeof(v->gr));
    for (unsigned i = 0; i < 16; i++)
        v->gr[i] &= gr_mask[i];
    v->cr_index = sr_u8(r);
    sr_bytes(r, v->cr, sizeof(v->cr));
    memset(v->cr + NUM_CR, 0, sizeof(v->cr) - NUM_CR);
    v->ar_index = sr_u8(r) & 0x3F;
    uint8_t flip = sr_u8(r);
    v->ar_data_next = flip & 1;
    sr_bytes(r, v->ar, sizeof(v->ar));
    for (unsigned i = 0; i < 32; i++)
        v->ar[i] &= ar_mask[i];
    sr_bytes(r, v->dac, sizeof(v->dac));
    v->dac_read_index = sr_u8(r);
    v->dac_write_index = sr_u8(r);
    v->dac_component = sr_u8(r);
    v->dac_state = sr_u8(r);
    v->pel_mask = sr_u8(r);
    sr_bytes(r, v->latch, sizeof(v->latch));
    v->vbe_index = sr_u16(r);
    uint16_t vbe[VBE_DISPI_NUM_REGS];
    for (unsigned i = 0; i < VBE_DISPI_NUM_REGS; i++)
        vbe[i] = sr_u16(r);
    v->status_time = sr_u64(r);
    uint8_t cfg[256];
    sr_bytes(r, cfg, sizeof(cfg));
    uint32_t vram_size = sr_u32(r);
    if (r->error || flip > 1 || v->dac_component > 2 || (v->dac_state != 0 && v->dac_state != 3) ||
        vram_size != v->vram_size)
        return -1;
    if (vbe[VBE_DISPI_INDEX_ID] < VBE_DISPI_ID0 || vbe[VBE_DISPI_INDEX_ID] > VBE_DISPI_ID5 ||
        !vbe_bpp_valid(vbe[VBE_DISPI_INDEX_BPP]) ||
        vbe[VBE_DISPI_INDEX_XRES] > VBE_DISPI_MAX_XRES ||
        vbe[VBE_DISPI_INDEX_YRES] > VBE_DISPI_MAX_YRES ||
        (vbe[VBE_DISPI_INDEX_ENABLE] & ~VBE_ENABLE_BITS))
        return -1;
    memcpy(v->vbe, vbe, sizeof(vbe));
    if (vbe[VBE_DISPI_INDEX_BANK] >= vbe_bank_limit(v))
        return -1;
    if (vga_vbe_enabled(v))
        vbe_fixup(v);
    /* Only what the guest may write is taken; identity and BAR sizing bits stay ours. */
    pci_setup(v);
    for (unsigned i = 0; i < 256; i++)
        v->pci.config[i] =
            (uint8_t)((v->pci.config[i] & ~v->pci.wmask[i]) | (cfg[i] & v->pci.wmask[i]));
    for (uint32_t o = 0; o < v->vram_size; o += CHUNK) {
        uint8_t flag = sr_u8(r);
        if (r->error || flag > 1)
            return -1;
        if (flag)
            sr_bytes(r, v->vram + o, CHUNK);
        else
            memset(v->vram + o, 0, CHUNK);
    }
    if (r->error)
        return -1;
    notify_bars(v);
    return 0;
}

static const struct device_ops vga_device_ops = {
    .name = "vga",
    .state_version = 1,
    .reset = vga_reset,
    .save = vga_save,
    .load = vga_load,
};

int vga_init(struct vga *v, uint32_t vram_size)
{
    memset(v, 0, sizeof(*v));
    if (!is_pow2(vram_size) || vram_size < VGA_VRAM_MIN || vram_size > VGA_VRAM_MAX)
        return -EINVAL;
    void *p = mmap(NULL, vram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    v->vram = p;
    v->vram_size = vram_size;
    v->dev = (struct device){&vga_device_ops, v};
    regs_reset(v);
    pci_setup(v);
    return 0;
}

void vga_destroy(struct vga *v)
{
    if (v->vram)
        munmap(v->vram, v->vram_size);
    free(v->rom_image);
    v->vram = NULL;
    v->rom_image = NULL;
}

int vga_screenshot(const struct vga *v, const char *path, uint64_t now_ns)
{
    struct vga_frame f = {0};
    if (vga_render(v, &f, now_ns)) {
        vga_frame_free(&f);
        return -ENOMEM;
    }
    int rc = png_write_rgb(path, f.rgb, f.width, f.height, (size_t)f.width * 3);
    vga_frame_free(&f);
    return rc;
}
