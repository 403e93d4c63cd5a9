/* A PNG writer for screenshots: 8-bit RGB (colour type 2), no interlace, every scanline with
 * filter type 0, the image data deflated by zlib in one IDAT chunk. */
#ifndef BT86_PNG_H
#define BT86_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes width x height pixels (3 bytes each, rows `stride` bytes apart) into a malloc'd
 * buffer. 0 or -errno (-EINVAL for an empty or oversized image). */
int png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, size_t stride,
                   uint8_t **out, size_t *out_len);

/* Writes the PNG to `path` through a temporary file in the same directory renamed over it,
 * so a reader never sees half a file. 0 or -errno. */
int png_write_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                  size_t stride);

#endif
