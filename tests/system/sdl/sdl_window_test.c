/* The SDL window as a user sees it: a real X window (under Xvfb), checked through a
 * screenshot of the X screen taken with xwd, plus the input translation fed through SDL's
 * own event queue.
 *
 *   sdl_window_test nodisplay   display_sdl_open fails cleanly without a display
 *   sdl_window_test window      needs DISPLAY with a 1600x1200 screen and xwd on PATH
 */
#include "frontends/display.h"

#include <SDL.h>
#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    failures++;
}

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond))                                                                            \
            fail(__VA_ARGS__);                                                                  \
    } while (0)

/* SDL loads the X and GL libraries at run time and unloads them as it quits, which leaves
 * their allocations in LeakSanitizer's report under "<unknown module>". Pinning whatever is
 * loaded keeps their names, so lsan.supp can name the host libraries' own leaks. */
static int pin_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (info->dlpi_name && info->dlpi_name[0])
        dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    return 0;
}

static void pin_libraries(void)
{
    dl_iterate_phdr(pin_one, NULL);
}

static int test_nodisplay(void)
{
    char err[256] = "";
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    struct display *d = display_sdl_open("bt86", err, sizeof err);
    CHECK(!d, "opened a window without DISPLAY");
    CHECK(strstr(err, "DISPLAY"), "message without a reason: '%s'", err);
    printf("no display: %s\n", err);
    /* A display that names no server: SDL itself fails, and says so. */
    setenv("DISPLAY", ":9999", 1);
    err[0] = 0;
    d = display_sdl_open("bt86", err, sizeof err);
    CHECK(!d, "opened a window on a display with no server");
    CHECK(err[0], "no message for a dead display");
    printf("dead display: %s\n", err);
    pin_libraries();
    if (d)
        display_close(d);
    return failures ? 1 : 0;
}

/* ---- the X screen, read from xwd's dump ---- */

struct shot {
    uint32_t w, h, bpl, bpp, msb_first;
    uint32_t mask[3];
    uint8_t *pix;
    uint8_t *buf;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool take_shot(struct shot *s)
{
    char path[] = "/tmp/bt86_sdl_shot_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "xwd -root -silent -out %s", path);
    int rc = system(cmd);
    FILE *f = fopen(path, "rb");
    unlink(path);
    if (rc != 0 || !f) {
        if (f)
            fclose(f);
        fail("xwd failed (status %d)", rc);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    s->buf = malloc((size_t)len);
    bool ok = s->buf && len > 100 && fread(s->buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!ok) {
        fail("cannot read the xwd dump");
        return false;
    }
    const uint8_t *h = s->buf;
    uint32_t hsize = be32(h), version = be32(h + 4), format = be32(h + 8);
    s->w = be32(h + 16);
    s->h = be32(h + 20);
    s->msb_first = be32(h + 28);
    s->bpp = be32(h + 44);
    s->bpl = be32(h + 48);
    for (int i = 0; i < 3; i++)
        s->mask[i] = be32(h + 56 + 4 * i);
    uint32_t ncolors = be32(h + 76);
    size_t off = hsize + (size_t)ncolors * 12;
    /* ZPixmap (2), true colour at 24 or 32 bits per pixel: what Xvfb -screen WxHx24 gives. */
    if (version != 7 || format != 2 || (s->bpp != 32 && s->bpp != 24) ||
        off + (size_t)s->bpl * s->h > (size_t)len) {
        fail("unexpected xwd dump: version %u format %u bpp %u", version, format, s->bpp);
        return false;
    }
    s->pix = s->buf + off;
    return true;
}

static unsigned channel(uint32_t v, uint32_t mask)
{
    if (!mask)
        return 0;
    while (!(mask & 1)) {
        mask >>= 1;
        v >>= 1;
    }
    return (unsigned)((v & mask) * 255 / mask);
}

static uint32_t shot_rgb(const struct shot *s, int x, int y)
{
    if (x < 0 || y < 0 || (uint32_t)x >= s->w || (uint32_t)y >= s->h)
        return 0xFFFFFFFF;
    const uint8_t *p = s->pix + (size_t)y * s->bpl + (size_t)x * (s->bpp / 8);
    uint32_t v = 0;
    unsigned n = s->bpp / 8;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)(s->msb_first ? p[i] << (8 * (n - 1 - i)) : p[i] << (8 * i));
    return channel(v, s->mask[0]) << 16 | channel(v, s->mask[1]) << 8 | channel(v, s->mask[2]);
}

/* ---- test frames ---- */

#define RED 0xFF0000u
#define GREEN 0x00FF00u
#define BLUE 0x0000FFu
#define WHITE 0xFFFFFFu
#define BLACK 0x000000u
#define YELLOW 0xFFFF00u
#define MAGENTA 0xFF00FFu

static void put(uint8_t *f, uint32_t w, uint32_t x, uint32_t y, uint32_t c)
{
    uint8_t *p = f + ((size_t)y * w + x) * 3;
    p[0] = (uint8_t)(c >> 16);
    p[1] = (uint8_t)(c >> 8);
    p[2] = (uint8_t)c;
}

/* 720x400 in four quadrants, with a one-pixel checkerboard (the finest detail text has) in
 * the white one: nearest scaling keeps it pure black and white, linear would grey it. */
static uint8_t *frame_quadrants(void)
{
    uint8_t *f = malloc(720 * 400 * 3);
    for (uint32_t y = 0; y < 400; y++)
        for (uint32_t x = 0; x < 720; x++) {
            uint32_t c = y < 200 ? (x < 360 ? RED : GREEN) : (x < 360 ? BLUE : WHITE);
            if (x >= 520 && x < 560 && y >= 280 && y < 320 && ((x ^ y) & 1))
                c = BLACK;
            put(f, 720, x, y, c);
        }
    return f;
}

static uint8_t *frame_halves(void)
{
    uint8_t *f = malloc(640 * 480 * 3);
    for (uint32_t y = 0; y < 480; y++)
        for (uint32_t x = 0; x < 640; x++)
            put(f, 640, x, y, x < 320 ? YELLOW : MAGENTA);
    return f;
}

struct probe {
    int x, y; /* in window coordinates */
    uint32_t rgb;
    const char *what;
};

static void check_probes(struct display *d, SDL_Window *w, const char *step,
                         const uint8_t *frame, uint32_t fw, uint32_t fh,
                         const struct probe *p, size_t n)
{
    /* Let the X server and SDL settle: a few rounds of events and presents. */
    struct display_event ev;
    for (int i = 0; i < 30; i++) {
        while (display_poll(d, &ev))
            ;
        display_show(d, frame, fw, fh);
        SDL_Delay(10);
    }
    int wx, wy;
    SDL_GetWindowPosition(w, &wx, &wy);
    struct shot s = {0};
    if (take_shot(&s)) {
        for (size_t i = 0; i < n; i++) {
            uint32_t got = shot_rgb(&s, wx + p[i].x, wy + p[i].y);
            CHECK(got == p[i].rgb, "%s: %s at window (%d,%d) is %06X, want %06X", step,
                  p[i].what, p[i].x, p[i].y, got, p[i].rgb);
        }
    }
    free(s.buf);
}

/* ---- input ---- */

static void push_key(SDL_Window *w, SDL_Scancode sc, bool down, bool repeat, Uint16 mod)
{
    SDL_Event e = {0};
    e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
    e.key.windowID = SDL_GetWindowID(w);
    e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
    e.key.repeat = repeat;
    e.key.keysym.scancode = sc;
    e.key.keysym.mod = mod;
    SDL_PushEvent(&e);
}

static void push_button(SDL_Window *w, Uint8 button, bool down)
{
    SDL_Event e = {0};
    e.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP;
    e.button.windowID = SDL_GetWindowID(w);
    e.button.button = button;
    e.button.state = down ? SDL_PRESSED : SDL_RELEASED;
    SDL_PushEvent(&e);
}

static void push_motion(SDL_Window *w, int dx, int dy)
{
    SDL_Event e = {0};
    e.type = SDL_MOUSEMOTION;
    e.motion.windowID = SDL_GetWindowID(w);
    e.motion.xrel = dx;
    e.motion.yrel = dy;
    SDL_PushEvent(&e);
}

static void push_window(SDL_Window *w, Uint8 what)
{
    SDL_Event e = {0};
    e.type = SDL_WINDOWEVENT;
    e.window.windowID = SDL_GetWindowID(w);
    e.window.event = what;
    SDL_PushEvent(&e);
}

/* The display events the queued SDL events turn into, up to `max`. */
static size_t drain(struct display *d, struct display_event *out, size_t max)
{
    size_t n = 0;
    struct display_event ev;
    while (display_poll(d, &ev))
        if (n < max)
            out[n++] = ev;
    return n;
}

static void expect_key(const struct display_event *ev, enum keycode k, bool pressed,
                       const char *what)
{
    CHECK(ev->kind == DISPLAY_EV_KEY && ev->key == k && ev->pressed == pressed,
          "%s: got kind %d key 0x%x pressed %d, want key 0x%x pressed %d", what, ev->kind,
          ev->key, ev->pressed, k, pressed);
}

static void test_input(struct display *d, SDL_Window *w)
{
    struct display_event ev[16];
    size_t n;
    drain(d, ev, 16);

    /* Keys: HID usages pass through, host repeats are dropped, media keys are mapped. */
    push_key(w, SDL_SCANCODE_A, true, false, 0);
    push_key(w, SDL_SCANCODE_A, true, true, 0);
    push_key(w, SDL_SCANCODE_A, true, true, 0);
    push_key(w, SDL_SCANCODE_A, false, false, 0);
    push_key(w, SDL_SCANCODE_KP_ENTER, true, false, 0);
    push_key(w, SDL_SCANCODE_KP_ENTER, false, false, 0);
    push_key(w, SDL_SCANCODE_AUDIOMUTE, true, false, 0);
    push_key(w, SDL_SCANCODE_AUDIOMUTE, false, false, 0);
    n = drain(d, ev, 16);
    CHECK(n == 6, "keys: %zu events, want 6 (repeats dropped)", n);
    if (n == 6) {
        expect_key(&ev[0], KC_A, true, "a down");
        expect_key(&ev[1], KC_A, false, "a up");
        expect_key(&ev[2], KC_KPENTER, true, "kp enter down");
        expect_key(&ev[3], KC_KPENTER, false, "kp enter up");
        expect_key(&ev[4], KC_MUTE, true, "mute down");
        expect_key(&ev[5], KC_MUTE, false, "mute up");
    }

    /* No grab: the pointer is the host's. */
    push_motion(w, 7, 7);
    n = drain(d, ev, 16);
    CHECK(n == 0, "motion before the grab reached the guest (%zu events)", n);

    /* A click grabs (and is not passed on); the title says how to get out. */
    push_button(w, SDL_BUTTON_LEFT, true);
    push_button(w, SDL_BUTTON_LEFT, false);
    n = drain(d, ev, 16);
    CHECK(n == 0, "the grabbing click reached the guest (%zu events)", n);
    CHECK(SDL_GetRelativeMouseMode(), "a click did not grab the mouse");
    CHECK(strstr(SDL_GetWindowTitle(w), "Ctrl+Alt+G"), "grabbed title is '%s'",
          SDL_GetWindowTitle(w));

    push_motion(w, 5, -3);
    push_button(w, SDL_BUTTON_RIGHT, true);
    push_motion(w, -2, 4);
    SDL_Event wh = {0};
    wh.type = SDL_MOUSEWHEEL;
    wh.wheel.windowID = SDL_GetWindowID(w);
    wh.wheel.y = 1; /* away from the user */
    wh.wheel.direction = SDL_MOUSEWHEEL_NORMAL;
    SDL_PushEvent(&wh);
    n = drain(d, ev, 16);
    CHECK(n == 4, "mouse: %zu events, want 4", n);
    if (n == 4) {
        CHECK(ev[0].kind == DISPLAY_EV_MOUSE && ev[0].dx == 5 && ev[0].dy == -3 &&
                  ev[0].buttons == 0, "motion 1: %d %d b%u", ev[0].dx, ev[0].dy, ev[0].buttons);
        CHECK(ev[1].kind == DISPLAY_EV_MOUSE && ev[1].dx == 0 && ev[1].buttons == 2,
              "right button: b%u", ev[1].buttons);
        CHECK(ev[2].kind == DISPLAY_EV_MOUSE && ev[2].dx == -2 && ev[2].dy == 4 &&
                  ev[2].buttons == 2, "motion 2: %d %d b%u", ev[2].dx, ev[2].dy, ev[2].buttons);
        CHECK(ev[3].kind == DISPLAY_EV_MOUSE && ev[3].dz == -1 && ev[3].buttons == 2,
              "wheel: dz %d", ev[3].dz);
    }

    /* Ctrl+Alt+G: Ctrl and Alt reach the guest, G does not; the held button is let go. */
    push_key(w, SDL_SCANCODE_LCTRL, true, false, KMOD_LCTRL);
    push_key(w, SDL_SCANCODE_LALT, true, false, KMOD_LCTRL | KMOD_LALT);
    push_key(w, SDL_SCANCODE_G, true, false, KMOD_LCTRL | KMOD_LALT);
    push_key(w, SDL_SCANCODE_G, false, false, KMOD_LCTRL | KMOD_LALT);
    n = drain(d, ev, 16);
    CHECK(n == 3, "ctrl+alt+g: %zu events, want 3", n);
    if (n == 3) {
        expect_key(&ev[0], KC_LEFTCTRL, true, "ctrl down");
        expect_key(&ev[1], KC_LEFTALT, true, "alt down");
        CHECK(ev[2].kind == DISPLAY_EV_MOUSE && ev[2].buttons == 0,
              "ungrab did not release the button");
    }
    CHECK(!SDL_GetRelativeMouseMode(), "Ctrl+Alt+G did not release the mouse");
    CHECK(!strstr(SDL_GetWindowTitle(w), "Ctrl+Alt+G"), "title still says grabbed: '%s'",
          SDL_GetWindowTitle(w));

    /* Losing focus with Ctrl and Alt held releases them in the guest. */
    push_window(w, SDL_WINDOWEVENT_FOCUS_LOST);
    n = drain(d, ev, 16);
    CHECK(n == 2, "focus loss: %zu events, want 2", n);
    if (n == 2) {
        expect_key(&ev[0], KC_LEFTCTRL, false, "ctrl released on focus loss");
        expect_key(&ev[1], KC_LEFTALT, false, "alt released on focus loss");
    }

    display_set_title(d, "bt86 - freedos [paused]");
    CHECK(!strcmp(SDL_GetWindowTitle(w), "bt86 - freedos [paused]"), "title is '%s'",
          SDL_GetWindowTitle(w));

    push_window(w, SDL_WINDOWEVENT_CLOSE);
    n = drain(d, ev, 16);
    CHECK(n == 1 && ev[0].kind == DISPLAY_EV_QUIT, "closing the window: %zu events", n);
}

static int test_window(void)
{
    char err[256] = "";
    struct display *d = display_sdl_open("bt86 - test [running]", err, sizeof err);
    if (!d) {
        printf("FAIL: display_sdl_open: %s\n", err);
        return 1;
    }
    /* The display's window: the only one this process has. */
    SDL_Window *w = NULL;
    for (Uint32 id = 1; id < 64 && !w; id++)
        w = SDL_GetWindowFromID(id);
    if (!w) {
        printf("FAIL: no SDL window\n");
        display_close(d);
        return 1;
    }
    CHECK(!strcmp(SDL_GetWindowTitle(w), "bt86 - test [running]"), "title is '%s'",
          SDL_GetWindowTitle(w));
    int ww, wh;
    SDL_GetWindowSize(w, &ww, &wh);
    CHECK(ww == 1440 && wh == 800, "initial window %dx%d, want 1440x800 (2x 720x400)", ww, wh);
    SDL_RendererInfo ri;
    if (SDL_GetRenderer(w) && SDL_GetRendererInfo(SDL_GetRenderer(w), &ri) == 0)
        printf("renderer: %s\n", ri.name);

    /* 720x400 at exactly 2x, filling the window: quadrant centres and a crisp checkerboard. */
    uint8_t *q = frame_quadrants();
    struct probe p1[] = {
        {2, 2, RED, "top-left corner"},         {360, 200, RED, "red quadrant"},
        {1080, 200, GREEN, "green quadrant"},   {360, 600, BLUE, "blue quadrant"},
        {1437, 797, WHITE, "bottom-right corner"}, {719, 399, RED, "red edge pixel"},
        {720, 399, GREEN, "green edge pixel"},  {719, 400, BLUE, "blue edge pixel"},
        /* checker cell (520,280) is white, (521,280) black; each 2x2 on screen */
        {1040, 560, WHITE, "checker 520,280"},  {1041, 561, WHITE, "checker 520,280 (2x2)"},
        {1042, 560, BLACK, "checker 521,280"},  {1043, 561, BLACK, "checker 521,280 (2x2)"},
        {1042, 562, WHITE, "checker 521,281"},  {1040, 562, BLACK, "checker 520,281"},
    };
    check_probes(d, w, "720x400 at 2x", q, 720, 400, p1, sizeof p1 / sizeof p1[0]);

    /* A new mode size: a new texture, letterboxed left and right (scale 800/480). */
    uint8_t *hv = frame_halves();
    struct probe p2[] = {
        {100, 400, BLACK, "left bar"},   {250, 10, YELLOW, "left half"},
        {1190, 790, MAGENTA, "right half"}, {1340, 400, BLACK, "right bar"},
    };
    check_probes(d, w, "640x480 in 1440x800", hv, 640, 480, p2, sizeof p2 / sizeof p2[0]);

    /* The user resizes the window: the frame follows, letterboxed top and bottom. */
    SDL_SetWindowSize(w, 1000, 700);
    struct probe p3[] = {
        {500, 30, BLACK, "top bar"},  {100, 100, RED, "red quadrant"},
        {900, 600, WHITE, "white quadrant"}, {500, 670, BLACK, "bottom bar"},
    };
    check_probes(d, w, "720x400 in 1000x700", q, 720, 400, p3, sizeof p3 / sizeof p3[0]);

    test_input(d, w);

    free(q);
    free(hv);
    pin_libraries();
    display_close(d);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && !strcmp(argv[1], "nodisplay")) {
        int rc = test_nodisplay();
        SDL_Quit(); /* what SDL keeps past display_close, so LeakSanitizer sees our leaks only */
        return rc;
    }
    if (argc == 2 && !strcmp(argv[1], "window")) {
        int rc = test_window();
        SDL_Quit();
        printf("%s\n", rc ? "FAILED" : "PASSED");
        return rc;
    }
    fprintf(stderr, "usage: %s nodisplay|window\n", argv[0]);
    return 2;
}
