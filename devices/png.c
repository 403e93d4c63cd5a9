#include "devices/png.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PNG_MAX_DIM 0x7FFFFFFFu /* the format's limit */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One chunk at p: length, type, data (already in place after the type), CRC of type+data. */
static size_t chunk(uint8_t *p, const char type[4], size_t len)
{
    put32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, (uInt)(len + 4));
    put32(p + 8 + len, (uint32_t)crc);
    return len + 12;
}

int png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, size_t stride,
                   uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!width || !height || width > PNG_MAX_DIM || height > PNG_MAX_DIM ||
        stride < (size_t)width * 3)
        return -EINVAL;
    /* The raw scanlines (a filter byte each) must fit a size_t and zlib's one-shot API, whose
     * lengths are uLong; an IDAT holds at most 2^31-1 bytes. */
    size_t row = (size_t)width * 3 + 1;
    if (row > (size_t)0x7FFFFFFF / height)
        return -EINVAL;
    size_t raw_len = row * height;
    uint8_t *raw = malloc(raw_len);
    if (!raw)
        return -ENOMEM;
    for (uint32_t y = 0; y < height; y++) {
        raw[y * row] = 0; /* filter: none */
        memcpy(raw + y * row + 1, rgb + y * stride, row - 1);
    }
    uLong zcap = compressBound((uLong)raw_len);
    if (zcap > 0x7FFFFFFF) {
        free(raw);
        return -EINVAL;
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    size_t cap = sizeof(sig) + (12 + 13) + (12 + zcap) + 12;
    uint8_t *png = malloc(cap);
    if (!png) {
        free(raw);
        return -ENOMEM;
    }
    size_t n = 0;
    memcpy(png, sig, sizeof(sig));
    n += sizeof(sig);

    uint8_t *ihdr = png + n + 8;
    put32(ihdr, width);
    put32(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering (filter method 0) */
    ihdr[12] = 0; /* no interlace */
    n += chunk(png + n, "IHDR", 13);

    uLongf zlen = zcap;
    int zr = compress2(png + n + 8, &zlen, raw, (uLong)raw_len, 6);
    free(raw);
    if (zr != Z_OK) {
        free(png);
        return zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
    }
    n += chunk(png + n, "IDAT", zlen);
    n += chunk(png + n, "IEND", 0);
    *out = png;
    *out_len = n;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int png_write_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                  size_t stride)
{
    uint8_t *png;
    size_t len;
    int rc = png_encode_rgb(rgb, width, height, stride, &png, &len);
    if (rc)
        return rc;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(png);
        return -ENOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        free(png);
        return rc;
    }
    rc = write_all(fd, png, len);
    if (!rc && fchmod(fd, 0644))
        rc = -errno;
    if (!rc && fsync(fd))
        rc = -errno;
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    free(tmp);
    free(png);
    return rc;
}
