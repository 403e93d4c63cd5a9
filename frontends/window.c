#include "frontends/window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontends/display.h"

#define FRAME_NS 16666667ull /* ~60 Hz */

struct window {
    struct display *d;
    char name[200];
    struct vga_frame frame, shown; /* the latest render, and what the window shows */
    uint64_t next_frame;           /* host ns */
};

static void set_title(struct window *w, const char *state)
{
    char t[256];
    snprintf(t, sizeof t, "bt86 - %s [%s]", w->name, state);
    display_set_title(w->d, t);
}

void window_set_state(struct window *w, const char *state)
{
    set_title(w, state);
}

/* Renders the screen and shows it if it changed: an unchanged text screen costs a render and
 * a compare, not an upload and a present. */
static void show_frame(struct window *w, struct machine *m)
{
    if (vga_render(&m->pc->vga, &w->frame, machine_now(m)))
        return;
    size_t n = (size_t)w->frame.width * w->frame.height * 3;
    if (w->shown.rgb && w->shown.width == w->frame.width && w->shown.height == w->frame.height &&
        !memcmp(w->shown.rgb, w->frame.rgb, n))
        return;
    display_show(w->d, w->frame.rgb, w->frame.width, w->frame.height);
    struct vga_frame t = w->shown; /* swap: the next render reuses the older buffer */
    w->shown = w->frame;
    w->frame = t;
}

/* Window events to the guest's devices. False when the user closed the window. */
static bool pump(struct window *w, struct machine *m)
{
    struct display_event ev;
    while (display_poll(w->d, &ev)) {
        switch (ev.kind) {
        case DISPLAY_EV_KEY:
            if (m)
                ps2_kbd_key(&m->pc->kbd, ev.key, ev.pressed);
            break;
        case DISPLAY_EV_MOUSE:
            if (m)
                ps2_mouse_event(&m->pc->mouse, ev.dx, ev.dy, ev.dz, ev.buttons);
            break;
        case DISPLAY_EV_QUIT: return false;
        case DISPLAY_EV_NONE: break;
        }
    }
    return true;
}

static bool tick(void *opaque, struct machine *m)
{
    struct window *w = opaque;
    if (!pump(w, m))
        return false;
    uint64_t now = machine_host_ns();
    if (now >= w->next_frame) {
        w->next_frame = now + FRAME_NS;
        show_frame(w, m);
    }
    return true;
}

struct window *window_open(struct machine *m, const char *name, char *err, size_t errlen)
{
    struct window *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(w->name, sizeof w->name, "%s", name);
    char t[256];
    snprintf(t, sizeof t, "bt86 - %s [running]", w->name);
    w->d = display_sdl_open(t, err, errlen);
    if (!w->d) {
        free(w);
        return NULL;
    }
    m->tick = tick;
    m->tick_opaque = w;
    return w;
}

void window_wait_close(struct window *w, struct machine *m)
{
    show_frame(w, m);
    /* The guest no longer runs: its devices take no input, the window only waits. */
    while (pump(w, NULL)) {
        struct timespec ts = {0, (long)(MACHINE_TICK_NS)};
        nanosleep(&ts, NULL);
    }
}

void window_close(struct window *w, struct machine *m)
{
    if (!w)
        return;
    if (m->tick_opaque == w) {
        m->tick = NULL;
        m->tick_opaque = NULL;
    }
    display_close(w->d);
    vga_frame_free(&w->frame);
    vga_frame_free(&w->shown);
    free(w);
}
