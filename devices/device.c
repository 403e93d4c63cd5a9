#include "devices/device.h"

#include <string.h>

void sw_bytes(struct state_writer *w, const void *p, size_t n)
{
    if (w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void sw_u8(struct state_writer *w, uint8_t v) { sw_bytes(w, &v, 1); }

void sw_u16(struct state_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    sw_bytes(w, b, 2);
}

void sw_u32(struct state_writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sw_bytes(w, b, 4);
}

void sw_u64(struct state_writer *w, uint64_t v)
{
    sw_u32(w, (uint32_t)v);
    sw_u32(w, (uint32_t)(v >> 32));
}

void sr_bytes(struct state_reader *r, void *p, size_t n)
{
    if (r->error || n > r->len - r->pos) {
        r->error = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->buf + r->pos, n);
    r->pos += n;
}

uint8_t sr_u8(struct state_reader *r)
{
    uint8_t v;
    sr_bytes(r, &v, 1);
    return v;
}

uint16_t sr_u16(struct state_reader *r)
{
    uint8_t b[2];
    sr_bytes(r, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t sr_u32(struct state_reader *r)
{
    uint8_t b[4];
    sr_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t sr_u64(struct state_reader *r)
{
    uint64_t lo = sr_u32(r);
    return lo | (uint64_t)sr_u32(r) << 32;
}

void device_reset(const struct device *d)
{
    if (d->ops->reset)
        d->ops->reset(d->opaque);
}

size_t device_save(const struct device *d, uint8_t *buf, size_t cap)
{
    /* The payload is produced straight after the 6-byte header; its length is patched in. */
    struct state_writer w = {buf, cap, 0};
    sw_u16(&w, d->ops->state_version);
    sw_u32(&w, 0);
    if (d->ops->save)
        d->ops->save(d->opaque, &w);
    if (w.len <= cap) {
        uint64_t payload = w.len - 6;
        for (int i = 0; i < 4; i++)
            buf[2 + i] = (uint8_t)(payload >> (8 * i));
    }
    return w.len;
}

int device_load(const struct device *d, const uint8_t *buf, size_t len)
{
    struct state_reader r = {buf, len, 0, false};
    uint16_t version = sr_u16(&r);
    uint32_t payload = sr_u32(&r);
    int ok = !r.error && version != 0 && version <= d->ops->state_version &&
             payload == len - 6;
    if (ok && d->ops->load) {
        struct state_reader p = {buf + 6, payload, 0, false};
        ok = d->ops->load(d->opaque, &p, version) == 0 && !p.error && p.pos == p.len;
    } else if (ok) {
        ok = payload == 0;
    }
    if (!ok) {
        device_reset(d);
        return -1;
    }
    return 0;
}
