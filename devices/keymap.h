/* Host-independent key codes and their PS/2 scan codes.
 *
 * A key code names a physical key position, not a character. Its value is the key's USB HID
 * usage on the Keyboard/Keypad page (0x07), which is also what SDL scancodes use, so the SDL
 * window converts with a cast; keys from other HID pages (system control, media) get values
 * from 0x100. Both the SDL window and headless text input feed these codes to the PS/2
 * keyboard (devices/ps2.h), which turns them into the bytes of the scan code set the guest
 * selected.
 *
 * Scan code set 2 is the table; set 1 is derived from it through the 8042's own translation
 * table (keymap_xlate), which is what makes the two agree byte for byte with a real keyboard
 * behind a translating controller. Set 3 is a separate column for the 104/105 standard keys. */
#ifndef BT86_KEYMAP_H
#define BT86_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum keycode {
    KC_NONE = 0,
    KC_A = 0x04, KC_B, KC_C, KC_D, KC_E, KC_F, KC_G, KC_H, KC_I, KC_J, KC_K, KC_L, KC_M,
    KC_N, KC_O, KC_P, KC_Q, KC_R, KC_S, KC_T, KC_U, KC_V, KC_W, KC_X, KC_Y, KC_Z,
    KC_1 = 0x1E, KC_2, KC_3, KC_4, KC_5, KC_6, KC_7, KC_8, KC_9, KC_0,
    KC_ENTER = 0x28,
    KC_ESC = 0x29,
    KC_BACKSPACE = 0x2A,
    KC_TAB = 0x2B,
    KC_SPACE = 0x2C,
    KC_MINUS = 0x2D,
    KC_EQUAL = 0x2E,
    KC_LEFTBRACE = 0x2F,
    KC_RIGHTBRACE = 0x30,
    KC_BACKSLASH = 0x31,
    KC_NONUS_HASH = 0x32, /* ISO key left of Enter */
    KC_SEMICOLON = 0x33,
    KC_APOSTROPHE = 0x34,
    KC_GRAVE = 0x35,
    KC_COMMA = 0x36,
    KC_DOT = 0x37,
    KC_SLASH = 0x38,
    KC_CAPSLOCK = 0x39,
    KC_F1 = 0x3A, KC_F2, KC_F3, KC_F4, KC_F5, KC_F6, KC_F7, KC_F8, KC_F9, KC_F10, KC_F11,
    KC_F12,
    KC_PRINT = 0x46, /* Print Screen / SysRq */
    KC_SCROLLLOCK = 0x47,
    KC_PAUSE = 0x48, /* Pause / Break */
    KC_INSERT = 0x49,
    KC_HOME = 0x4A,
    KC_PAGEUP = 0x4B,
    KC_DELETE = 0x4C,
    KC_END = 0x4D,
    KC_PAGEDOWN = 0x4E,
    KC_RIGHT = 0x4F,
    KC_LEFT = 0x50,
    KC_DOWN = 0x51,
    KC_UP = 0x52,
    KC_NUMLOCK = 0x53,
    KC_KPSLASH = 0x54,
    KC_KPASTERISK = 0x55,
    KC_KPMINUS = 0x56,
    KC_KPPLUS = 0x57,
    KC_KPENTER = 0x58,
    KC_KP1 = 0x59, KC_KP2, KC_KP3, KC_KP4, KC_KP5, KC_KP6, KC_KP7, KC_KP8, KC_KP9, KC_KP0,
    KC_KPDOT = 0x63,
    KC_NONUS_BACKSLASH = 0x64, /* ISO key right of left Shift */
    KC_MENU = 0x65,            /* Application */
    KC_POWER = 0x66,
    KC_KPEQUAL = 0x67,
    KC_F13 = 0x68, KC_F14, KC_F15, KC_F16, KC_F17, KC_F18, KC_F19, KC_F20, KC_F21, KC_F22,
    KC_F23, KC_F24,
    KC_KPCOMMA = 0x85, /* Brazilian keypad */
    KC_RO = 0x87,      /* International1 */
    KC_KATAKANAHIRAGANA = 0x88,
    KC_YEN = 0x89,
    KC_HENKAN = 0x8A,
    KC_MUHENKAN = 0x8B,
    KC_HANGEUL = 0x90, /* LANG1: sends a make code only */
    KC_HANJA = 0x91,   /* LANG2: sends a make code only */
    KC_LEFTCTRL = 0xE0,
    KC_LEFTSHIFT = 0xE1,
    KC_LEFTALT = 0xE2,
    KC_LEFTMETA = 0xE3,
    KC_RIGHTCTRL = 0xE4,
    KC_RIGHTSHIFT = 0xE5,
    KC_RIGHTALT = 0xE6,
    KC_RIGHTMETA = 0xE7,
    /* Outside the Keyboard page: ACPI system keys and common media keys. */
    KC_SLEEP = 0x100,
    KC_WAKE,
    KC_MUTE,
    KC_VOLUMEDOWN,
    KC_VOLUMEUP,
    KC_PLAYPAUSE,
    KC_STOPCD,
    KC_NEXTSONG,
    KC_PREVIOUSSONG,
    KC_COUNT /* one past the largest code */
};

/* Modifier state that changes what Print Screen and Pause send. */
#define KEYMOD_SHIFT 0x01
#define KEYMOD_CTRL 0x02
#define KEYMOD_ALT 0x04

/* Longest sequence any key sends in any set (Pause in set 2). */
#define KEYMAP_MAX_SEQ 8

/* The bytes key `k` sends in scan code set `set` (1, 2 or 3) when pressed or released with
 * modifiers `mods` held. Returns how many were written to `out`; 0 means the key sends
 * nothing (no such key in that set, or a key without a break code being released). */
size_t keymap_sequence(enum keycode k, unsigned set, bool pressed, unsigned mods,
                       uint8_t out[KEYMAP_MAX_SEQ]);

/* True if `k` is a key this table knows (in set 2). */
bool keymap_known(enum keycode k);

/* The 8042's translation of one set-2 byte to set 1 (F0 handling is the caller's). */
uint8_t keymap_xlate(uint8_t set2);

/* The key and Shift state that type `c` on a US layout; false if no key types it. '\n'
 * is Enter, '\t' Tab, '\b' Backspace, 0x1B Escape. */
bool keymap_from_ascii(char c, enum keycode *k, bool *shift);

/* Names for key codes ("a", "f1", "ctrl", "kp_enter", ... as in QEMU's sendkey) and back.
 * keymap_name returns NULL for an unknown code; keymap_from_name KC_NONE for an unknown name. */
const char *keymap_name(enum keycode k);
enum keycode keymap_from_name(const char *name);

#endif
