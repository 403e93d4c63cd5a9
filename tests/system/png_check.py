#!/usr/bin/env python3
"""png_check.py FILE WIDTH HEIGHT MIN_BLUE: passes (status 0) when FILE is an 8-bit RGB PNG of
WIDTH x HEIGHT in which at least MIN_BLUE (a fraction) of the pixels are clearly blue (blue
above both red and green by 40): a graphical desktop with a blue background, not a black
boot console. Prints what it found either way."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG file')
    pos, idat, hdr = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            hdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype != 2 or interlace:
        raise ValueError('only 8-bit RGB without interlace is read here')
    raw = zlib.decompress(idat)
    stride, rows, prev = width * 3, [], bytearray(width * 3)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def main():
    path, want_w, want_h, min_blue = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    w, h, rows = decode(path)
    blue = sum(1 for row in rows for x in range(0, len(row), 3)
               if row[x + 2] > row[x] + 40 and row[x + 2] > row[x + 1] + 40)
    frac = blue / float(w * h)
    print(f'{path}: {w}x{h}, {frac:.1%} blue pixels')
    ok = (w, h) == (want_w, want_h) and frac >= min_blue
    print('png_check: ' + ('PASS' if ok else 'FAIL'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
