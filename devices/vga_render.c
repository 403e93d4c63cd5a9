/* Drawing the VGA's picture the way its CRTC scans memory, and reading its text screen.
 *
 * The CRTC produces a memory address (MA) per character clock and a row scan counter per
 * scan line; byte/word/doubleword mode and the CGA/Hercules row-scan substitutions turn MA
 * into a plane address (always within a 64 KiB plane). The frame is the logical image: one
 * pixel per pixel the guest can address (mode 13h is 320x200), except that 40-column text is
 * widened like the monitor shows it. */
#include <stdlib.h>
#include <string.h>

#include "devices/vga.h"

#define FRAME_NS 14285714u /* one 70 Hz frame: the blink clocks count these */

struct scan {
    uint32_t clocks;       /* character clocks displayed per line */
    uint32_t lines;        /* scan lines displayed */
    uint32_t msl;          /* scan lines per character row, minus one */
    bool dbl;              /* each scan line twice */
    uint32_t rep;          /* scan lines per line of the frame */
    uint32_t line_compare; /* the split screen restarts at address 0 here */
    uint32_t offset;       /* MA advance per character row */
    uint32_t start;
    uint32_t out_h;
};

static bool is_text(const struct vga *v) { return !(v->gr[6] & 0x01); }

static void scan_setup(const struct vga *v, bool text, struct scan *s)
{
    const uint8_t *cr = v->cr;
    s->clocks = cr[0x01] + 1u;
    s->lines = (cr[0x12] | (cr[0x07] & 0x02) << 7 | (cr[0x07] & 0x40) << 3) + 1u;
    s->msl = cr[0x09] & 0x1F;
    s->dbl = cr[0x09] & 0x80;
    s->line_compare = cr[0x18] | (cr[0x07] & 0x10) << 4 | (cr[0x09] & 0x40) << 3;
    s->offset = cr[0x13] * 2u;
    s->start = (uint32_t)cr[0x0C] << 8 | cr[0x0D];
    /* A graphics mode repeats each row msl+1 times unless the row scan counter feeds the
     * address (CGA/Hercules interleave); then every scan line is a distinct row. */
    bool substituted = (cr[0x17] & 0x03) != 0x03;
    s->rep = (text || substituted) ? 1u : s->msl + 1;
    if (s->dbl)
        s->rep *= 2;
    s->out_h = s->lines / s->rep;
    if (s->out_h == 0)
        s->out_h = 1;
}

/* Plane address of character clock address m on row scan rs. */
static uint32_t crtc_addr(const struct vga *v, uint32_t m, uint32_t rs)
{
    const uint8_t *cr = v->cr;
    uint32_t a;
    if (cr[0x14] & 0x40)
        a = m << 2 | (m >> 14 & 3);
    else if (!(cr[0x17] & 0x40))
        a = m << 1 | (((cr[0x17] & 0x20) ? m >> 15 : m >> 13) & 1);
    else
        a = m;
    if (!(cr[0x17] & 0x01))
        a = (a & ~0x2000u) | (rs & 1) << 13;
    if (!(cr[0x17] & 0x02))
        a = (a & ~0x4000u) | (rs & 2) << 13;
    return a & (VGA_PLANE_SIZE - 1);
}

static inline uint8_t plane(const struct vga *v, unsigned p, uint32_t a)
{
    return v->vram[(size_t)(a & (VGA_PLANE_SIZE - 1)) << 2 | p];
}

static uint32_t byte_pan(const struct vga *v) { return (v->cr[0x08] >> 5) & 3; }

/* Calls fn for each frame line with the MA and row scan the CRTC has for it. */
typedef void (*line_fn)(void *ctx, uint32_t y, uint32_t ma, uint32_t rs, bool split);

static void scan_walk(const struct vga *v, const struct scan *s, line_fn fn, void *ctx)
{
    uint32_t ma = s->start, rs = v->cr[0x08] & 0x1F, y = 0;
    bool split = false;
    for (uint32_t line = 0; line < s->lines && y < s->out_h; line++) {
        if (line == s->line_compare) {
            ma = 0;
            rs = 0;
            split = true;
        }
        if (line % s->rep == 0)
            fn(ctx, y++, ma, rs, split);
        if (s->dbl && !(line & 1))
            continue;
        if (rs >= s->msl) {
            rs = 0;
            ma = (ma + s->offset) & 0xFFFF;
        } else {
            rs++;
        }
    }
}

/* ---- mode ---- */

void vga_get_mode(const struct vga *v, struct vga_mode_info *m)
{
    memset(m, 0, sizeof(*m));
    bool blank = !(v->ar_index & 0x20) || (v->sr[1] & 0x20);
    if (vga_vbe_enabled(v)) {
        struct vga_vbe_geometry g;
        vga_vbe_geometry(v, &g);
        m->kind = VGA_MODE_VBE;
        m->width = g.xres;
        m->height = g.yres;
        m->bpp = g.bpp;
    } else {
        struct scan s;
        bool text = is_text(v);
        scan_setup(v, text, &s);
        m->height = s.out_h;
        if (text) {
            m->kind = VGA_MODE_TEXT;
            m->char_width = (v->sr[1] & 0x01) ? 8 : 9;
            m->char_height = s.msl + 1;
            m->cols = s.clocks;
            m->rows = (s.out_h + s.msl) / (s.msl + 1);
            m->width = s.clocks * m->char_width * ((v->sr[1] & 0x08) ? 2 : 1);
        } else if (v->gr[5] & 0x40) {
            m->kind = VGA_MODE_256;
            m->width = s.clocks * 4;
            m->bpp = 8;
        } else {
            m->kind = (v->gr[5] & 0x20) ? VGA_MODE_CGA : VGA_MODE_PLANAR;
            m->width = s.clocks * 8;
            m->bpp = (v->gr[5] & 0x20) ? 2 : 4;
        }
    }
    if (blank)
        m->kind = VGA_MODE_BLANK;
}

/* ---- colours ---- */

struct colours {
    uint8_t rgb[256][3]; /* DAC, through the PEL mask, as 8-bit values */
    uint8_t attr[16];    /* 4-bit pixel -> DAC index, through the attribute controller */
};

static void colours_setup(const struct vga *v, struct colours *c)
{
    bool dac8 = v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC;
    for (unsigned i = 0; i < 256; i++) {
        const uint8_t *d = v->dac[i & v->pel_mask];
        for (unsigned k = 0; k < 3; k++) {
            uint8_t x = d[k];
            c->rgb[i][k] = dac8 ? x : (uint8_t)((x & 0x3F) << 2 | (x & 0x3F) >> 4);
        }
    }
    const uint8_t *ar = v->ar;
    for (unsigned p = 0; p < 16; p++) {
        uint8_t pal = ar[p & ar[0x12] & 0x0F] & 0x3F;
        uint8_t idx = (ar[0x10] & 0x80) ? (uint8_t)((pal & 0x0F) | (ar[0x14] & 0x03) << 4) : pal;
        c->attr[p] = (uint8_t)(idx | (ar[0x14] & 0x0C) << 4);
    }
}

static inline void put(uint8_t *px, const uint8_t *rgb)
{
    px[0] = rgb[0];
    px[1] = rgb[1];
    px[2] = rgb[2];
}

/* ---- VGA lines ---- */

struct draw {
    const struct vga *v;
    const struct colours *c;
    uint8_t *rgb;
    uint32_t width;
    bool cursor_on, blink_on;
};

static void text_line(void *ctx, uint32_t y, uint32_t ma, uint32_t rs, bool split)
{
    (void)split;
    struct draw *d = ctx;
    const struct vga *v = d->v;
    const uint8_t *cr = v->cr;
    uint8_t *out = d->rgb + (size_t)y * d->width * 3;
    unsigned cw = (v->sr[1] & 0x01) ? 8 : 9, dup = (v->sr[1] & 0x08) ? 2 : 1;
    uint8_t sr3 = v->sr[3];
    unsigned map_a = ((sr3 >> 5) & 1) << 2 | ((sr3 >> 2) & 3);
    unsigned map_b = ((sr3 >> 4) & 1) << 2 | (sr3 & 3);
    /* Maps 0-3 at 16 KiB steps, 4-7 in the 8 KiB gaps between them. */
    uint32_t font_a = (map_a & 3) << 14 | (map_a & 4) << 11;
    uint32_t font_b = (map_b & 3) << 14 | (map_b & 4) << 11;
    unsigned cs = cr[0x0A] & 0x1F, ce = cr[0x0B] & 0x1F, skew = (cr[0x0B] >> 5) & 3;
    uint32_t cursor = (uint32_t)cr[0x0E] << 8 | cr[0x0F];
    bool cursor_row = d->cursor_on && !(cr[0x0A] & 0x20) && cs <= ce && rs >= cs && rs <= ce;
    bool blink = v->ar[0x10] & 0x08, line_gfx = v->ar[0x10] & 0x04;
    bool underline = rs == (cr[0x14] & 0x1Fu);
    uint32_t cols = d->width / (cw * dup);
    for (uint32_t col = 0; col < cols; col++) {
        uint32_t m = (ma + byte_pan(v) + col) & 0xFFFF;
        uint32_t a = crtc_addr(v, m, rs);
        uint8_t ch = plane(v, 0, a), at = plane(v, 1, a);
        uint8_t glyph = plane(v, 2, ((at & 0x08) ? font_a : font_b) + ch * 32u + (rs & 31));
        unsigned fg = at & 0x0F, bg = at >> 4;
        if (blink) {
            bg &= 7;
            if ((at & 0x80) && !d->blink_on)
                fg = bg;
        }
        bool solid = (cursor_row && ((m - skew) & 0xFFFF) == cursor) ||
                     (underline && (at & 0x77) == 0x01);
        const uint8_t *f = d->c->rgb[d->c->attr[fg]], *b = d->c->rgb[d->c->attr[bg]];
        bool ninth = line_gfx && (ch & 0xE0) == 0xC0 && (glyph & 1);
        for (unsigned x = 0; x < cw; x++) {
            bool on = solid || (x < 8 ? (glyph >> (7 - x)) & 1 : ninth);
            for (unsigned k = 0; k < dup; k++, out += 3)
                put(out, on ? f : b);
        }
    }
}

static uint32_t clock_shift(const struct vga *v)
{
    if (v->cr[0x14] & 0x20)
        return 2; /* count by 4 */
    return (v->cr[0x17] & 0x08) ? 1 : 0;
}

static void graphics_line(void *ctx, uint32_t y, uint32_t ma, uint32_t rs, bool split)
{
    struct draw *d = ctx;
    const struct vga *v = d->v;
    uint8_t *out = d->rgb + (size_t)y * d->width * 3;
    bool m256 = v->gr[5] & 0x40, cga = v->gr[5] & 0x20;
    unsigned per = m256 ? 4 : 8;
    uint32_t clocks = d->width / per + 1; /* one more, for panning */
    uint8_t px[(256 + 1) * 8];
    unsigned pan = 0;
    if (!(split && (v->ar[0x10] & 0x20)))
        pan = m256 ? (v->ar[0x13] >> 1) & 3 : ((v->ar[0x13] & 0x0F) < 8 ? v->ar[0x13] & 7 : 0);
    unsigned sh = clock_shift(v);
    for (uint32_t c = 0; c < clocks; c++) {
        uint32_t m = (ma + byte_pan(v) + (c >> sh)) & 0xFFFF;
        uint32_t a = crtc_addr(v, m, rs);
        uint8_t b[4] = {plane(v, 0, a), plane(v, 1, a), plane(v, 2, a), plane(v, 3, a)};
        uint8_t *p = px + c * per;
        if (m256) {
            memcpy(p, b, 4);
        } else if (cga) {
            /* Even bits of maps 0/1 (then 2/3) make colour bit 0 (2), odd bits bit 1 (3). */
            for (unsigned i = 0; i < 8; i++) {
                unsigned lo = i < 4 ? 0 : 1, sft = 6 - 2 * (i & 3);
                p[i] = (uint8_t)((b[lo] >> sft & 3) | (b[lo + 2] >> sft & 3) << 2);
            }
        } else {
            for (unsigned i = 0; i < 8; i++) {
                unsigned bit = 7 - i;
                p[i] = (uint8_t)((b[0] >> bit & 1) | (b[1] >> bit & 1) << 1 |
                                 (b[2] >> bit & 1) << 2 | (b[3] >> bit & 1) << 3);
            }
        }
    }
    for (uint32_t x = 0; x < d->width; x++, out += 3) {
        uint8_t idx = px[x + pan];
        put(out, d->c->rgb[m256 ? idx : d->c->attr[idx & 0x0F]]);
    }
}

/* ---- VBE ---- */

static void vbe_draw(const struct vga *v, const struct colours *c, uint8_t *rgb)
{
    struct vga_vbe_geometry g;
    vga_vbe_geometry(v, &g);
    const uint8_t *vram = v->vram;
    uint64_t size = v->vram_size;
    for (uint32_t y = 0; y < g.yres; y++) {
        uint8_t *out = rgb + (size_t)y * g.xres * 3;
        uint64_t line = g.start + (uint64_t)y * g.line_bytes;
        for (uint32_t x = 0; x < g.xres; x++, out += 3) {
            uint8_t px[3] = {0, 0, 0};
            if (g.bpp == 4) {
                uint64_t a = line + x / 8;
                if (a < size / 4) {
                    unsigned bit = 7 - (x & 7), idx = 0;
                    for (unsigned k = 0; k < 4; k++)
                        idx |= (vram[a << 2 | k] >> bit & 1u) << k;
                    memcpy(px, c->rgb[c->attr[idx]], 3);
                }
                put(out, px);
                continue;
            }
            unsigned bytes = g.bpp == 15 ? 2 : g.bpp / 8;
            uint64_t o = line + (uint64_t)x * bytes;
            if (o + bytes > size) {
                put(out, px);
                continue;
            }
            const uint8_t *s = vram + o;
            switch (g.bpp) {
            case 8:
                memcpy(px, c->rgb[s[0]], 3);
                break;
            case 15: {
                unsigned w = s[0] | s[1] << 8;
                unsigned r = w >> 10 & 31, gg = w >> 5 & 31, b = w & 31;
                px[0] = (uint8_t)(r << 3 | r >> 2);
                px[1] = (uint8_t)(gg << 3 | gg >> 2);
                px[2] = (uint8_t)(b << 3 | b >> 2);
                break;
            }
            case 16: {
                unsigned w = s[0] | s[1] << 8;
                unsigned r = w >> 11 & 31, gg = w >> 5 & 63, b = w & 31;
                px[0] = (uint8_t)(r << 3 | r >> 2);
                px[1] = (uint8_t)(gg << 2 | gg >> 4);
                px[2] = (uint8_t)(b << 3 | b >> 2);
                break;
            }
            default: /* 24 and 32: B, G, R (, unused) */
                px[0] = s[2];
                px[1] = s[1];
                px[2] = s[0];
                break;
            }
            put(out, px);
        }
    }
}

/* ---- the frame ---- */

int vga_render(const struct vga *v, struct vga_frame *f, uint64_t now_ns)
{
    struct vga_mode_info m;
    vga_get_mode(v, &m);
    size_t need = (size_t)m.width * m.height * 3;
    if (need > f->cap) {
        uint8_t *p = realloc(f->rgb, need);
        if (!p)
            return -1;
        f->rgb = p;
        f->cap = need;
    }
    f->width = m.width;
    f->height = m.height;
    if (m.kind == VGA_MODE_BLANK) {
        memset(f->rgb, 0, need);
        return 0;
    }
    struct colours c;
    colours_setup(v, &c);
    if (m.kind == VGA_MODE_VBE) {
        vbe_draw(v, &c, f->rgb);
        return 0;
    }
    uint64_t frame = now_ns / FRAME_NS;
    struct draw d = {v, &c, f->rgb, m.width, !(frame & 8), !(frame & 16)};
    struct scan s;
    scan_setup(v, m.kind == VGA_MODE_TEXT, &s);
    scan_walk(v, &s, m.kind == VGA_MODE_TEXT ? text_line : graphics_line, &d);
    return 0;
}

void vga_frame_free(struct vga_frame *f)
{
    free(f->rgb);
    f->rgb = NULL;
    f->cap = 0;
    f->width = f->height = 0;
}

/* ---- the text screen ---- */

/* Code page 437 above 0x7F, then its pictures for 0x01-0x1F and 0x7F. */
static const uint16_t cp437_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8,
    0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2,
    0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1,
    0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD,
    0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562,
    0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534,
    0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560,
    0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393,
    0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6,
    0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0,
    0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};
static const uint16_t cp437_low[32] = {
    0x0020, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022, 0x25D8, 0x25CB, 0x25D9,
    0x2642, 0x2640, 0x266A, 0x266B, 0x263C, 0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7,
    0x25AC, 0x21A8, 0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
};

/* Bytes of the character's text form in out[] (at most 3). */
static unsigned char_text(uint8_t ch, bool utf8, char out[3])
{
    if (ch >= 0x20 && ch < 0x7F) {
        out[0] = (char)ch;
        return 1;
    }
    if (ch == 0x00 || ch == 0xFF) {
        out[0] = ' ';
        return 1;
    }
    if (!utf8) {
        out[0] = '.';
        return 1;
    }
    unsigned u = ch == 0x7F ? 0x2302 : ch < 0x20 ? cp437_low[ch] : cp437_high[ch - 0x80];
    if (u < 0x800) {
        out[0] = (char)(0xC0 | u >> 6);
        out[1] = (char)(0x80 | (u & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | u >> 12);
    out[1] = (char)(0x80 | (u >> 6 & 0x3F));
    out[2] = (char)(0x80 | (u & 0x3F));
    return 3;
}

struct rows {
    uint32_t ma[1024];
    uint32_t n;
};

static void row_start(void *ctx, uint32_t y, uint32_t ma, uint32_t rs, bool split)
{
    struct rows *r = ctx;
    (void)split;
    if ((rs == 0 || y == 0) && r->n < 1024)
        r->ma[r->n++] = ma;
}

size_t vga_read_text(const struct vga *v, char *buf, size_t cap, bool utf8,
                     struct vga_text_info *info)
{
    struct vga_text_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof(*info));
    if (cap)
        buf[0] = '\0';
    if (vga_vbe_enabled(v) || !is_text(v))
        return 0;
    struct scan s;
    scan_setup(v, true, &s);
    struct rows rows = {.n = 0};
    scan_walk(v, &s, row_start, &rows);
    info->cols = s.clocks;
    info->rows = rows.n;

    uint32_t cursor = (uint32_t)v->cr[0x0E] << 8 | v->cr[0x0F];
    unsigned skew = (v->cr[0x0B] >> 5) & 3;
    uint32_t pan = byte_pan(v);
    size_t len = 0;
    for (uint32_t r = 0; r < rows.n; r++) {
        uint32_t ma = rows.ma[r];
        uint32_t ccol = (cursor - ma - pan + skew) & 0xFFFF;
        if (ccol < s.clocks && !info->cursor_visible) {
            info->cursor_row = r;
            info->cursor_col = ccol;
            unsigned cs = v->cr[0x0A] & 0x1F, ce = v->cr[0x0B] & 0x1F;
            info->cursor_visible = !(v->cr[0x0A] & 0x20) && cs <= ce && cs <= s.msl;
        }
        size_t keep = len;
        for (uint32_t c = 0; c < s.clocks; c++) {
            uint32_t a = crtc_addr(v, (ma + pan + c) & 0xFFFF, 0);
            char t[3];
            unsigned n = char_text(plane(v, 0, a), utf8, t);
            for (unsigned k = 0; k < n; k++, len++)
                if (len + 1 < cap)
                    buf[len] = t[k];
            if (!(n == 1 && t[0] == ' '))
                keep = len;
        }
        len = keep; /* trailing blanks dropped */
        if (len + 1 < cap)
            buf[len] = '\n';
        len++;
    }
    if (cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return len;
}
