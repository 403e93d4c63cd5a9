#include "devices/keymap.h"

#include <string.h>

#define E0 0x100 /* set-2 code sent after an E0 prefix */

struct keydef {
    uint16_t set2; /* make code, E0 flag; 0 = not a key */
    uint8_t set3;  /* 0 = not in set 3 */
    const char *name;
};

static const struct keydef keys[KC_COUNT] = {
    [KC_A] = {0x1C, 0x1C, "a"},
    [KC_B] = {0x32, 0x32, "b"},
    [KC_C] = {0x21, 0x21, "c"},
    [KC_D] = {0x23, 0x23, "d"},
    [KC_E] = {0x24, 0x24, "e"},
    [KC_F] = {0x2B, 0x2B, "f"},
    [KC_G] = {0x34, 0x34, "g"},
    [KC_H] = {0x33, 0x33, "h"},
    [KC_I] = {0x43, 0x43, "i"},
    [KC_J] = {0x3B, 0x3B, "j"},
    [KC_K] = {0x42, 0x42, "k"},
    [KC_L] = {0x4B, 0x4B, "l"},
    [KC_M] = {0x3A, 0x3A, "m"},
    [KC_N] = {0x31, 0x31, "n"},
    [KC_O] = {0x44, 0x44, "o"},
    [KC_P] = {0x4D, 0x4D, "p"},
    [KC_Q] = {0x15, 0x15, "q"},
    [KC_R] = {0x2D, 0x2D, "r"},
    [KC_S] = {0x1B, 0x1B, "s"},
    [KC_T] = {0x2C, 0x2C, "t"},
    [KC_U] = {0x3C, 0x3C, "u"},
    [KC_V] = {0x2A, 0x2A, "v"},
    [KC_W] = {0x1D, 0x1D, "w"},
    [KC_X] = {0x22, 0x22, "x"},
    [KC_Y] = {0x35, 0x35, "y"},
    [KC_Z] = {0x1A, 0x1A, "z"},
    [KC_1] = {0x16, 0x16, "1"},
    [KC_2] = {0x1E, 0x1E, "2"},
    [KC_3] = {0x26, 0x26, "3"},
    [KC_4] = {0x25, 0x25, "4"},
    [KC_5] = {0x2E, 0x2E, "5"},
    [KC_6] = {0x36, 0x36, "6"},
    [KC_7] = {0x3D, 0x3D, "7"},
    [KC_8] = {0x3E, 0x3E, "8"},
    [KC_9] = {0x46, 0x46, "9"},
    [KC_0] = {0x45, 0x45, "0"},
    [KC_ENTER] = {0x5A, 0x5A, "ret"},
    [KC_ESC] = {0x76, 0x08, "esc"},
    [KC_BACKSPACE] = {0x66, 0x66, "backspace"},
    [KC_TAB] = {0x0D, 0x0D, "tab"},
    [KC_SPACE] = {0x29, 0x29, "spc"},
    [KC_MINUS] = {0x4E, 0x4E, "minus"},
    [KC_EQUAL] = {0x55, 0x55, "equal"},
    [KC_LEFTBRACE] = {0x54, 0x54, "bracket_left"},
    [KC_RIGHTBRACE] = {0x5B, 0x5B, "bracket_right"},
    [KC_BACKSLASH] = {0x5D, 0x5C, "backslash"},
    [KC_NONUS_HASH] = {0x5D, 0x53, "nonus_hash"}, /* same set-2 position as backslash */
    [KC_SEMICOLON] = {0x4C, 0x4C, "semicolon"},
    [KC_APOSTROPHE] = {0x52, 0x52, "apostrophe"},
    [KC_GRAVE] = {0x0E, 0x0E, "grave_accent"},
    [KC_COMMA] = {0x41, 0x41, "comma"},
    [KC_DOT] = {0x49, 0x49, "dot"},
    [KC_SLASH] = {0x4A, 0x4A, "slash"},
    [KC_CAPSLOCK] = {0x58, 0x14, "caps_lock"},
    [KC_F1] = {0x05, 0x07, "f1"},
    [KC_F2] = {0x06, 0x0F, "f2"},
    [KC_F3] = {0x04, 0x17, "f3"},
    [KC_F4] = {0x0C, 0x1F, "f4"},
    [KC_F5] = {0x03, 0x27, "f5"},
    [KC_F6] = {0x0B, 0x2F, "f6"},
    [KC_F7] = {0x83, 0x37, "f7"},
    [KC_F8] = {0x0A, 0x3F, "f8"},
    [KC_F9] = {0x01, 0x47, "f9"},
    [KC_F10] = {0x09, 0x4F, "f10"},
    [KC_F11] = {0x78, 0x56, "f11"},
    [KC_F12] = {0x07, 0x5E, "f12"},
    [KC_PRINT] = {E0 | 0x7C, 0x57, "print"}, /* sequences are special-cased */
    [KC_SCROLLLOCK] = {0x7E, 0x5F, "scroll_lock"},
    [KC_PAUSE] = {0x77, 0x62, "pause"}, /* sequences are special-cased */
    [KC_INSERT] = {E0 | 0x70, 0x67, "insert"},
    [KC_HOME] = {E0 | 0x6C, 0x6E, "home"},
    [KC_PAGEUP] = {E0 | 0x7D, 0x6F, "pgup"},
    [KC_DELETE] = {E0 | 0x71, 0x64, "delete"},
    [KC_END] = {E0 | 0x69, 0x65, "end"},
    [KC_PAGEDOWN] = {E0 | 0x7A, 0x6D, "pgdn"},
    [KC_RIGHT] = {E0 | 0x74, 0x6A, "right"},
    [KC_LEFT] = {E0 | 0x6B, 0x61, "left"},
    [KC_DOWN] = {E0 | 0x72, 0x60, "down"},
    [KC_UP] = {E0 | 0x75, 0x63, "up"},
    [KC_NUMLOCK] = {0x77, 0x76, "num_lock"},
    [KC_KPSLASH] = {E0 | 0x4A, 0x77, "kp_divide"},
    [KC_KPASTERISK] = {0x7C, 0x7E, "kp_multiply"},
    [KC_KPMINUS] = {0x7B, 0x84, "kp_subtract"},
    [KC_KPPLUS] = {0x79, 0x7C, "kp_add"},
    [KC_KPENTER] = {E0 | 0x5A, 0x79, "kp_enter"},
    [KC_KP1] = {0x69, 0x69, "kp_1"},
    [KC_KP2] = {0x72, 0x72, "kp_2"},
    [KC_KP3] = {0x7A, 0x7A, "kp_3"},
    [KC_KP4] = {0x6B, 0x6B, "kp_4"},
    [KC_KP5] = {0x73, 0x73, "kp_5"},
    [KC_KP6] = {0x74, 0x74, "kp_6"},
    [KC_KP7] = {0x6C, 0x6C, "kp_7"},
    [KC_KP8] = {0x75, 0x75, "kp_8"},
    [KC_KP9] = {0x7D, 0x7D, "kp_9"},
    [KC_KP0] = {0x70, 0x70, "kp_0"},
    [KC_KPDOT] = {0x71, 0x71, "kp_decimal"},
    [KC_NONUS_BACKSLASH] = {0x61, 0x13, "less"},
    [KC_MENU] = {E0 | 0x2F, 0x8D, "menu"},
    [KC_POWER] = {E0 | 0x37, 0, "power"},
    [KC_KPEQUAL] = {0x0F, 0, "kp_equals"},
    [KC_F13] = {0x08, 0, "f13"},
    [KC_F14] = {0x10, 0, "f14"},
    [KC_F15] = {0x18, 0, "f15"},
    [KC_F16] = {0x20, 0, "f16"},
    [KC_F17] = {0x28, 0, "f17"},
    [KC_F18] = {0x30, 0, "f18"},
    [KC_F19] = {0x38, 0, "f19"},
    [KC_F20] = {0x40, 0, "f20"},
    [KC_F21] = {0x48, 0, "f21"},
    [KC_F22] = {0x50, 0, "f22"},
    [KC_F23] = {0x57, 0, "f23"},
    [KC_F24] = {0x5F, 0, "f24"},
    [KC_KPCOMMA] = {0x6D, 0, "kp_comma"},
    [KC_RO] = {0x51, 0, "ro"},
    [KC_KATAKANAHIRAGANA] = {0x13, 0, "hiragana"},
    [KC_YEN] = {0x6A, 0, "yen"},
    [KC_HENKAN] = {0x64, 0, "henkan"},
    [KC_MUHENKAN] = {0x67, 0, "muhenkan"},
    [KC_HANGEUL] = {0xF2, 0, "lang1"},
    [KC_HANJA] = {0xF1, 0, "lang2"},
    [KC_LEFTCTRL] = {0x14, 0x11, "ctrl"},
    [KC_LEFTSHIFT] = {0x12, 0x12, "shift"},
    [KC_LEFTALT] = {0x11, 0x19, "alt"},
    [KC_LEFTMETA] = {E0 | 0x1F, 0x8B, "meta_l"},
    [KC_RIGHTCTRL] = {E0 | 0x14, 0x58, "ctrl_r"},
    [KC_RIGHTSHIFT] = {0x59, 0x59, "shift_r"},
    [KC_RIGHTALT] = {E0 | 0x11, 0x39, "alt_r"},
    [KC_RIGHTMETA] = {E0 | 0x27, 0x8C, "meta_r"},
    [KC_SLEEP] = {E0 | 0x3F, 0, "sleep"},
    [KC_WAKE] = {E0 | 0x5E, 0, "wake"},
    [KC_MUTE] = {E0 | 0x23, 0, "audiomute"},
    [KC_VOLUMEDOWN] = {E0 | 0x21, 0, "volumedown"},
    [KC_VOLUMEUP] = {E0 | 0x32, 0, "volumeup"},
    [KC_PLAYPAUSE] = {E0 | 0x34, 0, "audioplay"},
    [KC_STOPCD] = {E0 | 0x3B, 0, "audiostop"},
    [KC_NEXTSONG] = {E0 | 0x4D, 0, "audionext"},
    [KC_PREVIOUSSONG] = {E0 | 0x15, 0, "audioprev"},
};

/* The 8042's set-2 -> set-1 table for bytes below 0x80. Above it every byte passes unchanged
 * except 0x83 (F7) and 0x84 (Alt+SysRq), the two set-2 key codes that do not fit in 7 bits. */
static const uint8_t xlate_low[128] = {
    0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, /* 00 */
    0x64, 0x44, 0x42, 0x40, 0x3E, 0x0F, 0x29, 0x59, /* 08 */
    0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A, /* 10 */
    0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03, 0x5B, /* 18 */
    0x67, 0x2E, 0x2D, 0x20, 0x12, 0x05, 0x04, 0x5C, /* 20 */
    0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06, 0x5D, /* 28 */
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, /* 30 */
    0x6A, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5F, /* 38 */
    0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60, /* 40 */
    0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C, 0x61, /* 48 */
    0x6D, 0x73, 0x28, 0x74, 0x1A, 0x0D, 0x62, 0x6E, /* 50 */
    0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63, 0x76, /* 58 */
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, /* 60 */
    0x7C, 0x4F, 0x7D, 0x4B, 0x47, 0x7E, 0x7F, 0x6F, /* 68 */
    0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45, /* 70 */
    0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46, 0x54, /* 78 */
};

uint8_t keymap_xlate(uint8_t b)
{
    if (b < 0x80)
        return xlate_low[b];
    if (b == 0x83)
        return 0x41;
    if (b == 0x84)
        return 0x54;
    return b;
}

bool keymap_known(enum keycode k)
{
    return (unsigned)k < KC_COUNT && keys[k].set2 != 0;
}

/* One normal key in set 2: [E0] code, or [E0] F0 code. */
static size_t set2_plain(uint16_t code, bool pressed, uint8_t *out)
{
    size_t n = 0;
    if (code & E0)
        out[n++] = 0xE0;
    if (!pressed)
        out[n++] = 0xF0;
    out[n++] = (uint8_t)code;
    return n;
}

static size_t put(uint8_t *out, const uint8_t *seq, size_t n)
{
    memcpy(out, seq, n);
    return n;
}

static size_t set2_sequence(enum keycode k, bool pressed, unsigned mods, uint8_t *out)
{
    switch (k) {
    case KC_PRINT:
        /* Alt turns it into SysRq; Shift or Ctrl drop the fake Shift around it. */
        if (mods & KEYMOD_ALT)
            return set2_plain(0x84, pressed, out);
        if (mods & (KEYMOD_SHIFT | KEYMOD_CTRL))
            return set2_plain(E0 | 0x7C, pressed, out);
        if (pressed)
            return put(out, (const uint8_t[]){0xE0, 0x12, 0xE0, 0x7C}, 4);
        return put(out, (const uint8_t[]){0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12}, 6);
    case KC_PAUSE:
        /* The whole make-and-break goes out on press; release sends nothing. */
        if (!pressed)
            return 0;
        if (mods & KEYMOD_CTRL) /* Break */
            return put(out, (const uint8_t[]){0xE0, 0x7E, 0xE0, 0xF0, 0x7E}, 5);
        return put(out, (const uint8_t[]){0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77}, 8);
    case KC_HANGEUL:
    case KC_HANJA:
        return pressed ? put(out, (const uint8_t[]){(uint8_t)keys[k].set2}, 1) : 0;
    default:
        return set2_plain(keys[k].set2, pressed, out);
    }
}

size_t keymap_sequence(enum keycode k, unsigned set, bool pressed, unsigned mods,
                       uint8_t out[KEYMAP_MAX_SEQ])
{
    if (!keymap_known(k))
        return 0;
    if (set == 3) {
        uint8_t c = keys[k].set3;
        if (!c)
            return 0;
        size_t n = 0;
        if (!pressed)
            out[n++] = 0xF0;
        out[n++] = c;
        return n;
    }
    size_t n = set2_sequence(k, pressed, mods, out);
    if (set != 1)
        return n;
    /* Set 1 is set 2 as the 8042 would translate it: F0 folds into bit 7 of the next byte. */
    size_t m = 0;
    bool brk = false;
    for (size_t i = 0; i < n; i++) {
        if (out[i] == 0xF0) {
            brk = true;
            continue;
        }
        out[m++] = (uint8_t)(keymap_xlate(out[i]) | (brk ? 0x80 : 0));
        brk = false;
    }
    return m;
}

bool keymap_from_ascii(char c, enum keycode *k, bool *shift)
{
    static const char unshifted[] = "`1234567890-=[]\\;',./";
    static const char shifted[] = "~!@#$%^&*()_+{}|:\"<>?";
    static const enum keycode punct[] = {
        KC_GRAVE, KC_1, KC_2, KC_3, KC_4, KC_5, KC_6, KC_7, KC_8, KC_9, KC_0,
        KC_MINUS, KC_EQUAL, KC_LEFTBRACE, KC_RIGHTBRACE, KC_BACKSLASH, KC_SEMICOLON,
        KC_APOSTROPHE, KC_COMMA, KC_DOT, KC_SLASH,
    };
    _Static_assert(sizeof(unshifted) - 1 == sizeof(punct) / sizeof(punct[0]), "punct table");
    _Static_assert(sizeof(shifted) == sizeof(unshifted), "shifted table");

    *shift = false;
    if (c >= 'a' && c <= 'z') {
        *k = (enum keycode)(KC_A + (c - 'a'));
        return true;
    }
    if (c >= 'A' && c <= 'Z') {
        *k = (enum keycode)(KC_A + (c - 'A'));
        *shift = true;
        return true;
    }
    switch (c) {
    case ' ': *k = KC_SPACE; return true;
    case '\n': *k = KC_ENTER; return true;
    case '\t': *k = KC_TAB; return true;
    case '\b': *k = KC_BACKSPACE; return true;
    case 0x1B: *k = KC_ESC; return true;
    case '\0': return false;
    default: break;
    }
    const char *p = strchr(unshifted, c);
    if (p) {
        *k = punct[p - unshifted];
        return true;
    }
    p = strchr(shifted, c);
    if (p) {
        *k = punct[p - shifted];
        *shift = true;
        return true;
    }
    return false;
}

const char *keymap_name(enum keycode k)
{
    return keymap_known(k) ? keys[k].name : NULL;
}

enum keycode keymap_from_name(const char *name)
{
    for (unsigned k = 0; k < KC_COUNT; k++)
        if (keys[k].name && strcmp(keys[k].name, name) == 0)
            return (enum keycode)k;
    return KC_NONE;
}
