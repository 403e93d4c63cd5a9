/* The interface every device implements (DESIGN decision 6): a name, reset, and its state
 * serialised into a caller's buffer in a versioned format, so snapshots can be added later
 * without touching the devices. Port handlers are registered by each device's attach function;
 * interrupt requests leave a device through an irq_line the machine wires. */
#ifndef BT86_DEVICE_H
#define BT86_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- bounded little-endian (de)serialisation ---- */

/* Writes never overflow: past `cap` they only count, so a first call with cap 0 sizes it. */
struct state_writer {
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes produced so far, including any that did not fit */
};

/* Reads past the end return 0 and set `error`; the loader checks it once at the end. */
struct state_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool error;
};

void sw_u8(struct state_writer *w, uint8_t v);
void sw_u16(struct state_writer *w, uint16_t v);
void sw_u32(struct state_writer *w, uint32_t v);
void sw_u64(struct state_writer *w, uint64_t v);
void sw_bytes(struct state_writer *w, const void *p, size_t n);

uint8_t sr_u8(struct state_reader *r);
uint16_t sr_u16(struct state_reader *r);
uint32_t sr_u32(struct state_reader *r);
uint64_t sr_u64(struct state_reader *r);
void sr_bytes(struct state_reader *r, void *p, size_t n);

/* ---- devices ---- */

struct device_ops {
    const char *name;
    uint16_t state_version; /* bump whenever the saved layout changes */
    void (*reset)(void *opaque);
    void (*save)(const void *opaque, struct state_writer *w);
    /* `version` is the format the state was saved in (never newer than state_version).
     * Returns 0, or -1 if the state is malformed; then the device is left reset. */
    int (*load)(void *opaque, struct state_reader *r, uint16_t version);
};

struct device {
    const struct device_ops *ops;
    void *opaque;
};

void device_reset(const struct device *d);

/* A device's state as one record: u16 version, u32 payload length, payload. Returns the
 * record's size; it was written completely only if that is <= cap. */
size_t device_save(const struct device *d, uint8_t *buf, size_t cap);

/* Restores a record made by device_save. Returns 0, or -1 (unknown version, length mismatch,
 * truncated or trailing bytes, values the device rejects); on -1 the device is reset. */
int device_load(const struct device *d, const uint8_t *buf, size_t len);

/* ---- interrupt request lines ---- */

/* An output pin of a device. Left unwired (set == NULL) a level change goes nowhere, which is
 * what an ISA card with its IRQ jumper removed does. */
struct irq_line {
    void (*set)(void *opaque, unsigned line, bool level);
    void *opaque;
    unsigned line;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l->set)
        l->set(l->opaque, l->line, level);
}

#endif
