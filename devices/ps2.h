/* PS/2 devices: the IBM keyboard (MF II, ID AB 83) and mouse (with the IntelliMouse wheel and
 * 5-button extensions), as seen from the controller's end of the cable.
 *
 * Each device is its own `struct device` (reset, versioned save/load) and embeds a
 * `struct ps2_dev`, the cable: a 16-byte output queue the controller drains with
 * ps2_dev_take, and ps2_dev_write for a byte the host sends. The controller (devices/i8042.h)
 * sets the notify hook to learn when bytes are waiting. Timing on the wire is not modelled
 * here; the controller paces delivery.
 *
 * Host input (the SDL window, headless text input, a management socket) enters through
 * ps2_kbd_key and ps2_mouse_event. */
#ifndef BT86_PS2_H
#define BT86_PS2_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/keymap.h"

#define PS2_QUEUE_SIZE 16

/* Device replies */
#define PS2_ACK 0xFA
#define PS2_RESEND 0xFE
#define PS2_ERROR 0xFC
#define PS2_BAT_OK 0xAA
#define PS2_ECHO 0xEE

/* Bytes the device holds for the controller, oldest first. Items (one key's sequence, one
 * mouse packet, one reply) go in whole; item[] keeps their boundaries, so that a command can
 * discard what the controller has not begun to take without cutting an item in half. */
struct ps2_queue {
    uint8_t data[PS2_QUEUE_SIZE];
    uint8_t item[PS2_QUEUE_SIZE]; /* length of the item starting at this byte, 0 inside one */
    uint8_t head, count;
    uint8_t started; /* bytes still queued of the item the controller is taking */
};

struct ps2_dev;

struct ps2_dev_ops {
    void (*write)(struct ps2_dev *d, uint8_t byte); /* a byte from the host */
    void (*taken)(struct ps2_dev *d, uint8_t byte); /* the controller took a byte */
};

struct ps2_dev {
    const struct ps2_dev_ops *ops;
    struct ps2_queue q;
    /* Set by the controller: bytes were queued. May run nested inside ps2_dev_take. */
    void (*notify)(void *opaque);
    void *notify_opaque;
};

static inline bool ps2_dev_pending(const struct ps2_dev *d) { return d->q.count != 0; }
/* The oldest byte (the queue must not be empty). */
uint8_t ps2_dev_take(struct ps2_dev *d);
void ps2_dev_write(struct ps2_dev *d, uint8_t byte);

/* ---- keyboard ---- */

#define PS2_LED_SCROLL 0x01
#define PS2_LED_NUM 0x02
#define PS2_LED_CAPS 0x04

struct ps2_kbd {
    struct device dev;
    struct ps2_dev port;

    /* host side (configuration, not guest state) */
    /* With a clock the keyboard repeats held keys itself (typematic, as the guest set it) and
     * the frontend should drop the host's repeat events; NULL: no repeat here, the host's
     * repeated presses may be fed instead. */
    struct vclock *clock;
    struct vtimer repeat;
    void (*leds_changed)(void *opaque, uint8_t leds); /* PS2_LED_* as the guest set them */
    void *leds_opaque;

    /* device state */
    uint8_t set;        /* scan code set 1, 2 or 3 */
    uint8_t leds;
    uint8_t typematic;  /* F3 parameter: bits 0-4 rate, 5-6 delay */
    bool scanning;
    uint8_t param_for;  /* command (ED, F3, F0) whose parameter byte is expected, or 0 */
    bool key_list;      /* after FB/FC/FD: set-3 key codes follow until the next command */
    uint8_t last_sent;  /* for Resend */
    uint16_t repeating; /* key being repeated, KC_NONE if none */
    uint8_t held[(KC_COUNT + 7) / 8];
};

/* Sets up the keyboard in its power-on state (set 2, scanning, defaults). */
void ps2_kbd_init(struct ps2_kbd *k, struct vclock *clock);
/* A key went down or up on the host. Unknown codes are ignored. */
void ps2_kbd_key(struct ps2_kbd *k, enum keycode key, bool pressed);
/* Releases every held key (e.g. the window lost focus). */
void ps2_kbd_release_all(struct ps2_kbd *k);
/* Types `text` (US layout): each character as a press and release, with Shift around those
 * that need it; characters no key types are skipped. Returns how many characters were used
 * (typed or skipped). It stops early when the keyboard's buffer cannot take a whole character
 * or scanning is off, so a caller feeding long text waits for the guest to read and calls
 * again with the rest. */
size_t ps2_kbd_type(struct ps2_kbd *k, const char *text);

/* ---- mouse ---- */

#define PS2_MOUSE_LEFT 0x01
#define PS2_MOUSE_RIGHT 0x02
#define PS2_MOUSE_MIDDLE 0x04
#define PS2_MOUSE_BUTTON4 0x08
#define PS2_MOUSE_BUTTON5 0x10

struct ps2_mouse {
    struct device dev;
    struct ps2_dev port;

    uint8_t rate;       /* samples per second (recorded: a packet goes out per host event) */
    uint8_t resolution; /* 0-3: 1, 2, 4, 8 counts/mm (recorded, not applied) */
    bool scale21;
    bool remote;
    bool wrap;
    bool reporting;
    uint8_t id;        /* 0 plain, 3 IntelliMouse (wheel), 4 IntelliMouse Explorer */
    uint8_t param_for; /* command (F3, E8) whose parameter byte is expected, or 0 */
    uint8_t knock[3];  /* the last three sample rates set, newest last */
    uint8_t buttons;   /* held now (PS2_MOUSE_*) */
    uint8_t reported;  /* buttons in the last packet */
    int16_t dx, dy;    /* the movement counters: 9-bit, saturating */
    int8_t dz;
    bool xovf, yovf;   /* a counter saturated since the last packet */
    uint8_t last[5];   /* the last packet or reply (ACK + 4-byte packet at most), for Resend */
    uint8_t last_len;
};

void ps2_mouse_init(struct ps2_mouse *m);
/* Host movement and the buttons now held. dx grows rightwards and dy downwards (screen
 * coordinates; the mouse reports up as positive); dz is wheel clicks, positive towards the
 * user (scrolling down), as the IntelliMouse reports them. Large movements are split into
 * several packets while the queue has room; beyond that the counters saturate and the
 * overflow bits are set, as on a mouse whose host does not read it in time. */
void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, unsigned buttons);

#endif
