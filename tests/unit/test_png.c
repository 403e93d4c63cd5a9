/* Unit tests of the PNG writer (devices/png.c): the signature, IHDR fields, chunk CRCs
 * (checked with an independent bitwise CRC-32), IDAT inflating back to the filtered
 * scanlines, the atomic file write, and a VGA screenshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "devices/png.h"
#include "devices/vga.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 as the PNG specification defines it, bit by bit (polynomial 0xEDB88320). */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

struct chunk {
    char type[5];
    const uint8_t *data;
    uint32_t len;
};

/* Splits a PNG into chunks, checking each CRC. Returns the count. */
static unsigned parse(const uint8_t *png, size_t len, struct chunk *out, unsigned max)
{
    static const uint8_t sig[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    assert_true(len >= 8);
    assert_memory_equal(png, sig, 8);
    size_t o = 8;
    unsigned n = 0;
    while (o < len) {
        assert_true(n < max);
        assert_true(len - o >= 12);
        uint32_t l = be32(png + o);
        assert_true(l <= len - o - 12);
        memcpy(out[n].type, png + o + 4, 4);
        out[n].type[4] = 0;
        out[n].data = png + o + 8;
        out[n].len = l;
        assert_int_equal(be32(png + o + 8 + l), crc_bitwise(png + o + 4, l + 4));
        o += 12 + l;
        n++;
    }
    assert_int_equal(o, len);
    return n;
}

static void two_by_two(void **state)
{
    (void)state;
    /* red, green / blue, white; rows 8 bytes apart to exercise the stride */
    const uint8_t rgb[16] = {255, 0, 0, 0, 255, 0,       0xEE, 0xEE,
                             0,   0, 255, 255, 255, 255, 0xEE, 0xEE};
    uint8_t *png;
    size_t len;
    assert_int_equal(png_encode_rgb(rgb, 2, 2, 8, &png, &len), 0);

    struct chunk c[8];
    unsigned n = parse(png, len, c, 8);
    assert_int_equal(n, 3);
    assert_string_equal(c[0].type, "IHDR");
    assert_int_equal(c[0].len, 13);
    assert_int_equal(be32(c[0].data), 2);     /* width */
    assert_int_equal(be32(c[0].data + 4), 2); /* height */
    assert_int_equal(c[0].data[8], 8);        /* bit depth */
    assert_int_equal(c[0].data[9], 2);        /* colour type RGB */
    assert_int_equal(c[0].data[10], 0);       /* compression */
    assert_int_equal(c[0].data[11], 0);       /* filter method */
    assert_int_equal(c[0].data[12], 0);       /* interlace */
    assert_string_equal(c[1].type, "IDAT");
    assert_string_equal(c[2].type, "IEND");
    assert_int_equal(c[2].len, 0);
    /* The IEND CRC is a constant every PNG ends with. */
    assert_int_equal(be32(png + len - 4), 0xAE426082u);

    uint8_t raw[64];
    uLongf rlen = sizeof(raw);
    assert_int_equal(uncompress(raw, &rlen, c[1].data, c[1].len), Z_OK);
    const uint8_t want[14] = {0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255};
    assert_int_equal(rlen, sizeof(want));
    assert_memory_equal(raw, want, sizeof(want));
    free(png);

    /* Degenerate sizes are refused. */
    assert_int_equal(png_encode_rgb(rgb, 0, 2, 8, &png, &len), -EINVAL);
    assert_null(png);
    assert_int_equal(png_encode_rgb(rgb, 2, 2, 5, &png, &len), -EINVAL);
    assert_int_equal(png_encode_rgb(rgb, 0x80000000u, 1, (size_t)3 << 31, &png, &len), -EINVAL);
}

static unsigned count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void atomic_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/bt86_png_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/shot.png", dir);

    const uint8_t rgb[6] = {1, 2, 3, 4, 5, 6};
    /* Over an existing file: it is replaced whole. */
    FILE *old = fopen(path, "wb");
    assert_non_null(old);
    fputs("old contents", old);
    fclose(old);
    assert_int_equal(png_write_rgb(path, rgb, 2, 1, 6), 0);
    uint8_t *mem;
    size_t mlen, flen;
    assert_int_equal(png_encode_rgb(rgb, 2, 1, 6, &mem, &mlen), 0);
    const uint8_t *file = slurp(path, &flen);
    assert_int_equal(flen, mlen);
    assert_memory_equal(file, mem, mlen);
    free(mem);
    assert_int_equal(count_entries(dir), 1); /* no temporary left behind */

    /* A directory that does not exist: an error, nothing written. */
    char bad[300];
    snprintf(bad, sizeof(bad), "%s/missing/shot.png", dir);
    assert_int_equal(png_write_rgb(bad, rgb, 2, 1, 6), -ENOENT);
    assert_int_equal(count_entries(dir), 1);

    /* A VGA screenshot: the reset text mode is 720x400. */
    struct vga v;
    assert_int_equal(vga_init(&v, VGA_VRAM_DEFAULT), 0);
    assert_int_equal(vga_screenshot(&v, path, 0), 0);
    file = slurp(path, &flen);
    struct chunk c[8];
    assert_int_equal(parse(file, flen, c, 8), 3);
    assert_int_equal(be32(c[0].data), 720);
    assert_int_equal(be32(c[0].data + 4), 400);
    vga_destroy(&v);

    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_by_two),
        cmocka_unit_test(atomic_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
