/* window_check WINDOW.xwd FRAME.png: does the window show the frame? The window dump comes
 * from xwd (what the X server really displays), the frame from bt86 --screenshot (what the
 * VGA rendered). The frame must appear scaled by a whole factor, centred, with black around
 * it, pixel for pixel; only one character cell may differ, where the blinking cursor can be
 * in another phase at exit than when the window was dumped. Exit 0 when it matches. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the PNG bt86 writes: 8-bit RGB, not interlaced, filter "none" on every row ---- */

static uint8_t *read_png(const char *path, uint32_t *w, uint32_t *h)
{
    size_t len;
    uint8_t *b = slurp(path, &len);
    if (!b || len < 33 || memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
        fprintf(stderr, "%s: not a PNG\n", path);
        free(b);
        return NULL;
    }
    uint8_t *z = NULL, *rgb = NULL;
    size_t zlen = 0;
    for (size_t p = 8; p + 12 <= len;) {
        uint32_t n = be32(b + p);
        if (n > len - p - 12)
            break;
        const uint8_t *type = b + p + 4, *data = b + p + 8;
        if (!memcmp(type, "IHDR", 4) && n >= 13) {
            *w = be32(data);
            *h = be32(data + 4);
            if (data[8] != 8 || data[9] != 2 || data[12] != 0 || !*w || !*h || *w > 4096 ||
                *h > 4096) {
                fprintf(stderr, "%s: not 8-bit RGB without interlace\n", path);
                goto out;
            }
        } else if (!memcmp(type, "IDAT", 4)) {
            uint8_t *nz = realloc(z, zlen + n);
            if (!nz)
                goto out;
            z = nz;
            memcpy(z + zlen, data, n);
            zlen += n;
        }
        p += 12 + n;
    }
    if (!z || !*w) {
        fprintf(stderr, "%s: no image data\n", path);
        goto out;
    }
    size_t row = 1 + (size_t)*w * 3;
    uLongf rawlen = (uLongf)(row * *h);
    uint8_t *raw = malloc(rawlen);
    if (!raw || uncompress(raw, &rawlen, z, (uLong)zlen) != Z_OK || rawlen != row * *h) {
        fprintf(stderr, "%s: bad image data\n", path);
        free(raw);
        goto out;
    }
    rgb = malloc((size_t)*w * *h * 3);
    for (uint32_t y = 0; rgb && y < *h; y++) {
        if (raw[y * row] != 0) {
            fprintf(stderr, "%s: row %u uses PNG filter %u, not none\n", path, y, raw[y * row]);
            free(rgb);
            rgb = NULL;
            break;
        }
        memcpy(rgb + (size_t)y * *w * 3, raw + y * row + 1, (size_t)*w * 3);
    }
    free(raw);
out:
    free(z);
    free(b);
    return rgb;
}

/* ---- the xwd dump: ZPixmap, true colour at 24 or 32 bits per pixel (Xvfb's x24) ---- */

struct shot {
    uint32_t w, h, bpl, bpp, msb_first, mask[3];
    const uint8_t *pix;
    uint8_t *buf;
};

static bool read_xwd(const char *path, struct shot *s)
{
    size_t len;
    s->buf = slurp(path, &len);
    if (!s->buf || len < 100) {
        fprintf(stderr, "%s: cannot read\n", path);
        return false;
    }
    const uint8_t *h = s->buf;
    uint32_t hsize = be32(h), version = be32(h + 4), format = be32(h + 8);
    s->w = be32(h + 16);
    s->h = be32(h + 20);
    s->msb_first = be32(h + 28);
    s->bpp = be32(h + 44);
    s->bpl = be32(h + 48);
    for (int i = 0; i < 3; i++)
        s->mask[i] = be32(h + 56 + 4 * i);
    size_t off = hsize + (size_t)be32(h + 76) * 12;
    if (version != 7 || format != 2 || (s->bpp != 32 && s->bpp != 24) ||
        off + (size_t)s->bpl * s->h > len) {
        fprintf(stderr, "%s: unexpected xwd dump (version %u format %u bpp %u)\n", path,
                version, format, s->bpp);
        return false;
    }
    s->pix = s->buf + off;
    return true;
}

static unsigned channel(uint32_t v, uint32_t mask)
{
    if (!mask)
        return 0;
    while (!(mask & 1)) {
        mask >>= 1;
        v >>= 1;
    }
    return (unsigned)((v & mask) * 255 / mask);
}

static uint32_t shot_rgb(const struct shot *s, uint32_t x, uint32_t y)
{
    const uint8_t *p = s->pix + (size_t)y * s->bpl + (size_t)x * (s->bpp / 8);
    unsigned n = s->bpp / 8;
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (s->msb_first ? 8 * (n - 1 - i) : 8 * i);
    return channel(v, s->mask[0]) << 16 | channel(v, s->mask[1]) << 8 | channel(v, s->mask[2]);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: window_check WINDOW.xwd FRAME.png\n");
        return 2;
    }
    struct shot s = {0};
    uint32_t fw = 0, fh = 0;
    uint8_t *frame = read_png(argv[2], &fw, &fh);
    if (!frame || !read_xwd(argv[1], &s))
        return 1;
    /* The display's placement: a whole scale, centred (display_sdl.c picks one whenever it
     * fills nearly as much as the exact fit; the test's window is made for 2x). */
    uint32_t k = s.w / fw < s.h / fh ? s.w / fw : s.h / fh;
    if (!k) {
        fprintf(stderr, "the %ux%u window is smaller than the %ux%u frame\n", s.w, s.h, fw, fh);
        return 1;
    }
    uint32_t x0 = (s.w - fw * k) / 2, y0 = (s.h - fh * k) / 2;
    printf("window %ux%u, frame %ux%u at %ux, placed at (%u,%u)\n", s.w, s.h, fw, fh, k, x0, y0);
    uint32_t bad = 0, bx0 = UINT32_MAX, by0 = UINT32_MAX, bx1 = 0, by1 = 0, lit = 0;
    for (uint32_t y = 0; y < s.h; y++)
        for (uint32_t x = 0; x < s.w; x++) {
            uint32_t want = 0;
            if (x >= x0 && x < x0 + fw * k && y >= y0 && y < y0 + fh * k) {
                const uint8_t *p = frame + (((size_t)(y - y0) / k) * fw + (x - x0) / k) * 3;
                want = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
            }
            uint32_t got = shot_rgb(&s, x, y);
            lit += got != 0;
            if (got == want)
                continue;
            if (bad++ < 5)
                printf("window (%u,%u) is %06X, want %06X\n", x, y, got, want);
            bx0 = x < bx0 ? x : bx0;
            by0 = y < by0 ? y : by0;
            bx1 = x > bx1 ? x : bx1;
            by1 = y > by1 ? y : by1;
        }
    int rc = 0;
    if (!lit) {
        printf("FAIL: the window is all black\n");
        rc = 1;
    }
    if (bad) {
        uint32_t bw = bx1 - bx0 + 1, bh = by1 - by0 + 1;
        printf("%u pixels differ, within (%u,%u)-(%u,%u)\n", bad, bx0, by0, bx1, by1);
        /* One 9x16 text cell at most: the cursor. */
        if (bw > 9 * k || bh > 16 * k) {
            printf("FAIL: more than one character cell differs\n");
            rc = 1;
        }
    }
    if (!rc)
        printf("the window shows the frame\n");
    free(frame);
    free(s.buf);
    return rc;
}
