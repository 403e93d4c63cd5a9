/* What the run loop needs from a window: show a frame, hand back input. The SDL window
 * (frontends/display_sdl.c) implements it; headless runs have none. */
#ifndef BT86_DISPLAY_H
#define BT86_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/keymap.h"

enum display_event_kind {
    DISPLAY_EV_NONE,
    DISPLAY_EV_KEY,    /* key, pressed */
    DISPLAY_EV_MOUSE,  /* dx, dy (screen directions, +y down), dz (+ towards the user), buttons */
    DISPLAY_EV_QUIT,   /* the user closed the window */
};

struct display_event {
    enum display_event_kind kind;
    enum keycode key;
    bool pressed;
    int dx, dy, dz;
    unsigned buttons; /* bit 0 left, 1 right, 2 middle */
};

struct display;

/* Opens a resizable window. NULL with a message in err (no X/Wayland display, SDL failure). */
struct display *display_sdl_open(const char *title, char *err, size_t errlen);
/* Show an RGB888 frame (width x height, packed rows), scaled to the window. */
void display_show(struct display *d, const uint8_t *rgb, uint32_t width, uint32_t height);
/* Next pending input event; false when there is none. Never blocks. */
bool display_poll(struct display *d, struct display_event *ev);
void display_set_title(struct display *d, const char *title);
void display_close(struct display *d);

#endif
