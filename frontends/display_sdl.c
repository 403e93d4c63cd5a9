/* The SDL2 window behind frontends/display.h.
 *
 * All calls must come from one thread, the one that opened the display: SDL's video
 * subsystem (X11, Wayland) is not thread-safe. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_NOLOAD, RTLD_NODELETE */
#endif
#include "frontends/display.h"

#include <SDL.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_W 720 /* the VGA text mode: the size the window is made for */
#define BASE_H 400
#define QUEUE_LEN 64 /* power of two */
#define TITLE_MAX 256

struct display {
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    uint32_t tex_w, tex_h;
    bool have_frame;
    bool grabbed;
    unsigned buttons;
    char title[TITLE_MAX];
    /* Keys the guest believes are down, so focus loss can release them. */
    uint8_t down[(KC_COUNT + 7) / 8];
    /* One SDL event may become several display events (focus loss releases every key). */
    struct display_event q[QUEUE_LEN];
    unsigned q_head, q_tail;
};

static void push(struct display *d, const struct display_event *ev)
{
    if (d->q_tail - d->q_head == QUEUE_LEN)
        return; /* full: only possible with dozens of held keys; dropping beats blocking */
    d->q[d->q_tail++ % QUEUE_LEN] = *ev;
}

static void push_key(struct display *d, enum keycode k, bool pressed)
{
    bool was = d->down[k / 8] & (1u << (k % 8));
    if (!pressed && !was)
        return; /* a release the guest never saw the press of (e.g. after our hotkey) */
    if (pressed)
        d->down[k / 8] |= (uint8_t)(1u << (k % 8));
    else
        d->down[k / 8] &= (uint8_t)~(1u << (k % 8));
    struct display_event ev = {.kind = DISPLAY_EV_KEY, .key = k, .pressed = pressed};
    push(d, &ev);
}

static void release_all_keys(struct display *d)
{
    for (unsigned k = 0; k < KC_COUNT; k++)
        if (d->down[k / 8] & (1u << (k % 8)))
            push_key(d, (enum keycode)k, false);
}

/* SDL scancodes are USB HID usages, as enum keycode is, up to 0xE7; above that SDL has its
 * own numbering, and HID's keyboard-page media keys (0x7F-0x81) are pages apart for us. */
static enum keycode key_from_scancode(SDL_Scancode sc)
{
    switch (sc) {
    case SDL_SCANCODE_MUTE:
    case SDL_SCANCODE_AUDIOMUTE: return KC_MUTE;
    case SDL_SCANCODE_VOLUMEUP: return KC_VOLUMEUP;
    case SDL_SCANCODE_VOLUMEDOWN: return KC_VOLUMEDOWN;
    case SDL_SCANCODE_AUDIOPLAY: return KC_PLAYPAUSE;
    case SDL_SCANCODE_AUDIOSTOP: return KC_STOPCD;
    case SDL_SCANCODE_AUDIONEXT: return KC_NEXTSONG;
    case SDL_SCANCODE_AUDIOPREV: return KC_PREVIOUSSONG;
    case SDL_SCANCODE_SLEEP: return KC_SLEEP;
    default: break;
    }
    if (sc >= SDL_SCANCODE_A && sc <= SDL_SCANCODE_RGUI)
        return (enum keycode)sc;
    return KC_NONE;
}

static void update_title(struct display *d)
{
    if (!d->grabbed) {
        SDL_SetWindowTitle(d->win, d->title);
        return;
    }
    char t[TITLE_MAX + 64];
    snprintf(t, sizeof t, "%s - Ctrl+Alt+G releases the mouse", d->title);
    SDL_SetWindowTitle(d->win, t);
}

static void set_grab(struct display *d, bool on)
{
    if (d->grabbed == on)
        return;
    /* Relative mode hides and confines the cursor and reports raw deltas, which is what a
     * PS/2 mouse wants; the keyboard grab keeps Alt+Tab and friends for the guest. */
    if (SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE) < 0 && on)
        return; /* the host refused: stay ungrabbed rather than lie in the title */
    SDL_SetWindowKeyboardGrab(d->win, on ? SDL_TRUE : SDL_FALSE);
    d->grabbed = on;
    if (!on && d->buttons) {
        /* The guest must not be left with a button held down. */
        d->buttons = 0;
        struct display_event ev = {.kind = DISPLAY_EV_MOUSE};
        push(d, &ev);
    }
    update_title(d);
}

/* Largest window up to 2x the text mode that fits the desktop, keeping the aspect. */
static void initial_size(int *w, int *h)
{
    int scale2 = 4; /* in halves: 2x */
    SDL_Rect r;
    if (SDL_GetDisplayUsableBounds(0, &r) == 0) {
        while (scale2 > 2 && (BASE_W * scale2 / 2 > r.w || BASE_H * scale2 / 2 > r.h))
            scale2--;
    }
    *w = BASE_W * scale2 / 2;
    *h = BASE_H * scale2 / 2;
}

struct display *display_sdl_open(const char *title, char *err, size_t errlen)
{
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if ((!x || !*x) && (!wl || !*wl)) {
        snprintf(err, errlen, "no display: neither DISPLAY nor WAYLAND_DISPLAY is set");
        return NULL;
    }
    /* The run loop owns SIGINT/SIGTERM; SDL would turn them into a quit event instead. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    /* A VM window is not a game: leave the desktop compositor and screen saver alone. */
    SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
    SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
    /* Only a desktop window will do: SDL would otherwise fall back to its offscreen driver
     * when the server is gone, and we would run with a window nobody can see. */
    if (!getenv("SDL_VIDEODRIVER"))
        SDL_SetHint(SDL_HINT_VIDEODRIVER, "x11,wayland");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
        snprintf(err, errlen, "cannot open the display %s: %s", x && *x ? x : wl,
                 SDL_GetError());
        return NULL;
    }
    struct display *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return NULL;
    }
    snprintf(d->title, sizeof d->title, "%s", title ? title : "bt86");
    int w, h;
    initial_size(&w, &h);
    d->win = SDL_CreateWindow(d->title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                              SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    if (!d->win) {
        snprintf(err, errlen, "cannot open a window: %s", SDL_GetError());
        goto fail;
    }
    /* No vsync: a present must never stall the thread that runs the guest. */
    d->ren = SDL_CreateRenderer(d->win, -1, 0);
    if (!d->ren) /* no GPU or GL: the software renderer always works */
        d->ren = SDL_CreateRenderer(d->win, -1, SDL_RENDERER_SOFTWARE);
    if (!d->ren) {
        snprintf(err, errlen, "cannot create a renderer: %s", SDL_GetError());
        goto fail;
    }
    SDL_SetWindowMinimumSize(d->win, 160, 100);
    SDL_SetRenderDrawColor(d->ren, 0, 0, 0, 255);
    SDL_RenderClear(d->ren);
    SDL_RenderPresent(d->ren);
    return d;
fail:
    display_close(d);
    return NULL;
}

/* Where the frame goes in the window: the whole scale when an integer one fills nearly as
 * much (crisp, even pixels), else the largest fractional fit; centred, letterboxed. */
static SDL_Rect place(int out_w, int out_h, uint32_t fw, uint32_t fh, bool *integral)
{
    double s = (double)out_w / fw;
    if ((double)out_h / fh < s)
        s = (double)out_h / fh;
    double si = (double)(int)s;
    *integral = false;
    if (si >= 1 && si / s >= 0.85) {
        s = si;
        *integral = true;
    }
    SDL_Rect r;
    r.w = (int)(fw * s + 0.5);
    r.h = (int)(fh * s + 0.5);
    if (r.w < 1)
        r.w = 1;
    if (r.h < 1)
        r.h = 1;
    r.x = (out_w - r.w) / 2;
    r.y = (out_h - r.h) / 2;
    return r;
}

static void redraw(struct display *d)
{
    SDL_SetRenderDrawColor(d->ren, 0, 0, 0, 255);
    SDL_RenderClear(d->ren);
    if (d->have_frame) {
        int ow, oh;
        if (SDL_GetRendererOutputSize(d->ren, &ow, &oh) < 0) {
            SDL_GetWindowSize(d->win, &ow, &oh);
        }
        bool integral;
        SDL_Rect dst = place(ow, oh, d->tex_w, d->tex_h, &integral);
        /* Nearest keeps text sharp; only a small fractional scale (< 2x) looks better with
         * linear, where nearest would make every other pixel column wider. */
        double s = (double)dst.w / d->tex_w;
        SDL_SetTextureScaleMode(d->tex, integral || s >= 2 ? SDL_ScaleModeNearest
                                                            : SDL_ScaleModeLinear);
        SDL_RenderCopy(d->ren, d->tex, NULL, &dst);
    }
    SDL_RenderPresent(d->ren);
}

void display_show(struct display *d, const uint8_t *rgb, uint32_t width, uint32_t height)
{
    if (!width || !height || width > 16384 || height > 16384)
        return;
    if (!d->tex || d->tex_w != width || d->tex_h != height) {
        if (d->tex)
            SDL_DestroyTexture(d->tex);
        d->tex = SDL_CreateTexture(d->ren, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING,
                                   (int)width, (int)height);
        d->have_frame = false;
        if (!d->tex)
            return; /* keep running headless-like; the next frame tries again */
        d->tex_w = width;
        d->tex_h = height;
    }
    if (SDL_UpdateTexture(d->tex, NULL, rgb, (int)(width * 3)) == 0)
        d->have_frame = true;
    redraw(d);
}

static void translate(struct display *d, const SDL_Event *e)
{
    struct display_event ev = {0};
    switch (e->type) {
    case SDL_QUIT:
        ev.kind = DISPLAY_EV_QUIT;
        push(d, &ev);
        break;
    case SDL_WINDOWEVENT:
        switch (e->window.event) {
        case SDL_WINDOWEVENT_CLOSE:
            ev.kind = DISPLAY_EV_QUIT;
            push(d, &ev);
            break;
        case SDL_WINDOWEVENT_EXPOSED:
        case SDL_WINDOWEVENT_SIZE_CHANGED:
            redraw(d);
            break;
        case SDL_WINDOWEVENT_FOCUS_LOST:
            /* Keys released elsewhere never reach us: stuck Alt otherwise. */
            set_grab(d, false);
            release_all_keys(d);
            break;
        default: break;
        }
        break;
    case SDL_KEYDOWN:
    case SDL_KEYUP: {
        bool down = e->type == SDL_KEYDOWN;
        if (down && e->key.repeat)
            break; /* the guest's keyboard does its own typematic repeat */
        SDL_Scancode sc = e->key.keysym.scancode;
        Uint16 m = e->key.keysym.mod; /* the state with this key, not SDL's latest */
        if (d->grabbed && sc == SDL_SCANCODE_G && (m & KMOD_CTRL) && (m & KMOD_ALT)) {
            if (down)
                set_grab(d, false);
            break; /* the hotkey is ours; its release finds no press and is dropped */
        }
        enum keycode k = key_from_scancode(sc);
        if (k != KC_NONE)
            push_key(d, k, down);
        break;
    }
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP: {
        if (!d->grabbed) {
            if (e->type == SDL_MOUSEBUTTONDOWN && e->button.which != SDL_TOUCH_MOUSEID)
                set_grab(d, true); /* the grabbing click is ours, as in QEMU */
            break;
        }
        unsigned bit = e->button.button == SDL_BUTTON_LEFT     ? 1u
                       : e->button.button == SDL_BUTTON_RIGHT  ? 2u
                       : e->button.button == SDL_BUTTON_MIDDLE ? 4u
                                                               : 0u;
        if (!bit)
            break;
        unsigned old = d->buttons;
        if (e->type == SDL_MOUSEBUTTONDOWN)
            d->buttons |= bit;
        else
            d->buttons &= ~bit;
        if (d->buttons == old)
            break;
        ev.kind = DISPLAY_EV_MOUSE;
        ev.buttons = d->buttons;
        push(d, &ev);
        break;
    }
    case SDL_MOUSEMOTION:
        if (!d->grabbed || (!e->motion.xrel && !e->motion.yrel))
            break;
        ev.kind = DISPLAY_EV_MOUSE;
        ev.dx = e->motion.xrel;
        ev.dy = e->motion.yrel;
        ev.buttons = d->buttons;
        push(d, &ev);
        break;
    case SDL_MOUSEWHEEL: {
        if (!d->grabbed)
            break;
        int y = e->wheel.y;
        if (e->wheel.direction == SDL_MOUSEWHEEL_FLIPPED)
            y = -y;
        if (!y)
            break;
        ev.kind = DISPLAY_EV_MOUSE;
        ev.dz = -y; /* SDL: positive away from the user; ours: towards */
        ev.buttons = d->buttons;
        push(d, &ev);
        break;
    }
    default: break;
    }
}

bool display_poll(struct display *d, struct display_event *ev)
{
    SDL_Event e;
    while (d->q_head == d->q_tail && SDL_PollEvent(&e))
        translate(d, &e);
    if (d->q_head == d->q_tail)
        return false;
    *ev = d->q[d->q_head++ % QUEUE_LEN];
    return true;
}

void display_set_title(struct display *d, const char *title)
{
    snprintf(d->title, sizeof d->title, "%s", title ? title : "bt86");
    update_title(d);
}

static int pin_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (info->dlpi_name && info->dlpi_name[0])
        dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    return 0;
}

void display_close(struct display *d)
{
    if (!d)
        return;
    if (d->grabbed)
        SDL_SetRelativeMouseMode(SDL_FALSE);
    if (d->tex)
        SDL_DestroyTexture(d->tex);
    if (d->ren)
        SDL_DestroyRenderer(d->ren);
    if (d->win)
        SDL_DestroyWindow(d->win);
    free(d);
    /* SDL unloads the X and D-Bus libraries it loaded as it quits; their own leaks would then
     * show in LeakSanitizer's report as "<unknown module>", which no suppression can name.
     * Keeping them loaded costs nothing: a closed window means the process is ending. */
    dl_iterate_phdr(pin_one, NULL);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
}
