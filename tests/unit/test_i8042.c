/* Unit tests of the keyboard controller (devices/i8042.c), the PS/2 keyboard and mouse
 * (devices/ps2.c) and the key code tables (devices/keymap.c), driven through ports 0x60/0x64
 * as a guest would. Expected bytes come from the 8042, keyboard and mouse specifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/i8042.h"
#include "devices/ioport.h"
#include "devices/keymap.h"
#include "devices/ps2.h"

struct fixture {
    struct ioport_bus bus;
    struct vclock clock;
    struct i8042 c;
    struct ps2_kbd kbd;
    struct ps2_mouse mouse;
    bool level[16];
    int rises[16];
    int a20_calls;
    bool a20;
    int resets;
    int led_calls;
    uint8_t leds;
    bool paced; /* the controller has the clock: give each byte its time before reading it */
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_true(line == 1 || line == 12);
    if (level && !f->level[line])
        f->rises[line]++;
    f->level[line] = level;
}

static void on_a20(void *opaque, bool enabled)
{
    struct fixture *f = opaque;
    f->a20_calls++;
    f->a20 = enabled;
}

static void on_reset(void *opaque)
{
    struct fixture *f = opaque;
    f->resets++;
    device_reset(&f->c.dev); /* what a machine may do: must be safe from inside the callback */
}

static void on_leds(void *opaque, uint8_t leds)
{
    struct fixture *f = opaque;
    f->led_calls++;
    f->leds = leds;
}

static void wire(struct fixture *f)
{
    f->c.irq_kbd = (struct irq_line){irq_set, f, 1};
    f->c.irq_aux = (struct irq_line){irq_set, f, 12};
    f->c.a20 = on_a20;
    f->c.reset_request = on_reset;
    f->c.cb_opaque = f;
    f->kbd.leds_changed = on_leds;
    f->kbd.leds_opaque = f;
}

/* with_clock: pacing and typematic on a virtual clock; otherwise bytes arrive at once. */
static struct fixture *make(bool with_clock, bool with_mouse)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    ioport_init(&f->bus);
    vclock_init(&f->clock);
    struct vclock *clk = with_clock ? &f->clock : NULL;
    ps2_kbd_init(&f->kbd, clk);
    ps2_mouse_init(&f->mouse);
    assert_int_equal(i8042_attach(&f->c, &f->bus, clk, &f->kbd, with_mouse ? &f->mouse : NULL), 0);
    f->paced = with_clock;
    wire(f);
    return f;
}

static int setup(void **state)
{
    *state = make(false, true);
    return 0;
}

static int setup_clock(void **state)
{
    *state = make(true, true);
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static uint8_t status(struct fixture *f) { return (uint8_t)ioport_read(&f->bus, 0x64, 1); }
static uint8_t data(struct fixture *f) { return (uint8_t)ioport_read(&f->bus, 0x60, 1); }
static void cmd(struct fixture *f, uint8_t v) { ioport_write(&f->bus, 0x64, v, 1); }
static void out(struct fixture *f, uint8_t v) { ioport_write(&f->bus, 0x60, v, 1); }

/* Reads one byte, checking OBF is set and where the status says it came from. */
static uint8_t take(struct fixture *f, bool aux)
{
    if (f->paced)
        vclock_advance(&f->clock, f->clock.now + I8042_BYTE_NS);
    uint8_t s = status(f);
    assert_true(s & I8042_STR_OBF);
    assert_int_equal(!!(s & I8042_STR_AUXDATA), aux);
    return data(f);
}

/* Reads `bytes` in order; with `last`, nothing may follow them. */
static void expect_at(struct fixture *f, bool aux, const uint8_t *bytes, size_t n, bool last,
                      int line)
{
    for (size_t i = 0; i < n; i++) {
        if (f->paced)
            vclock_advance(&f->clock, f->clock.now + I8042_BYTE_NS);
        uint8_t s = status(f);
        if (!(s & I8042_STR_OBF) || !!(s & I8042_STR_AUXDATA) != aux)
            fail_msg("line %d, byte %zu: status 0x%02x", line, i, s);
        uint8_t b = data(f);
        if (b != bytes[i])
            fail_msg("line %d, byte %zu: got 0x%02x, expected 0x%02x", line, i, b, bytes[i]);
    }
    if (last && (status(f) & I8042_STR_OBF))
        fail_msg("line %d: more bytes follow (0x%02x)", line, f->c.out);
}

#define EXPECT(f, aux, ...)                                                                   \
    do {                                                                                      \
        const uint8_t want_[] = {__VA_ARGS__};                                                \
        expect_at(f, aux, want_, sizeof(want_), true, __LINE__);                              \
    } while (0)

#define EXPECT_MORE(f, aux, ...)                                                              \
    do {                                                                                      \
        const uint8_t want_[] = {__VA_ARGS__};                                                \
        expect_at(f, aux, want_, sizeof(want_), false, __LINE__);                             \
    } while (0)

static void set_ctr(struct fixture *f, uint8_t v)
{
    cmd(f, 0x60);
    out(f, v);
}

static void aux_send(struct fixture *f, uint8_t v)
{
    cmd(f, 0xD4);
    out(f, v);
}

/* ---- controller ---- */

static void self_test_and_status(void **state)
{
    struct fixture *f = *state;
    /* Power-on: nothing to read, keyboard not inhibited, cold boot (SYS clear). */
    assert_int_equal(status(f), I8042_STR_UNLOCKED);
    cmd(f, 0xAA);
    uint8_t s = status(f);
    assert_true(s & I8042_STR_OBF);
    assert_true(s & I8042_STR_CMD); /* the last write went to port 0x64 */
    assert_true(s & I8042_STR_SYS); /* a passed self-test sets the system flag */
    assert_false(s & (I8042_STR_IBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT | I8042_STR_PARITY));
    assert_int_equal(data(f), 0x55);
    assert_false(status(f) & I8042_STR_OBF);
    /* Reading an empty buffer returns the stale byte and changes nothing. */
    assert_int_equal(data(f), 0x55);
    assert_false(status(f) & I8042_STR_OBF);

    cmd(f, 0xAB);
    EXPECT(f, false, 0x00);
    cmd(f, 0xA9);
    EXPECT(f, false, 0x00);
    cmd(f, 0xA4); /* no password installed */
    EXPECT(f, false, 0xF1);
    cmd(f, 0xC0);
    EXPECT(f, false, I8042_INPUT_PORT);
    /* Writing the data port clears the command/data flag. */
    set_ctr(f, I8042_CTR_SYS);
    assert_false(status(f) & I8042_STR_CMD);
    /* A 16-bit read sees the byte with the open bus above it. */
    cmd(f, 0xAA);
    assert_int_equal(ioport_read(&f->bus, 0x60, 2), 0xFF55);
}

static void command_byte_round_trip(void **state)
{
    struct fixture *f = *state;
    cmd(f, 0x20);
    EXPECT(f, false, I8042_RESET_CTR);

    set_ctr(f, 0x65); /* KBDINT | SYS | AUXDIS | XLATE */
    cmd(f, 0x20);
    EXPECT(f, false, 0x65);
    assert_true(status(f) & I8042_STR_SYS); /* the status flag follows bit 2 */
    set_ctr(f, 0x41);
    assert_false(status(f) & I8042_STR_SYS);

    /* The enable/disable commands change the same byte. */
    cmd(f, 0xAD);
    cmd(f, 0xA8);
    cmd(f, 0x20);
    EXPECT(f, false, 0x51);
    cmd(f, 0xAE);
    cmd(f, 0xA7);
    cmd(f, 0x20);
    EXPECT(f, false, 0x61);

    /* The other 31 bytes of controller RAM are plain storage. */
    cmd(f, 0x7F);
    out(f, 0xA5);
    cmd(f, 0x63);
    out(f, 0x3C);
    cmd(f, 0x3F);
    EXPECT(f, false, 0xA5);
    cmd(f, 0x23);
    EXPECT(f, false, 0x3C);
    cmd(f, 0x20);
    EXPECT(f, false, 0x61); /* untouched by them */

    /* A command abandons one still waiting for its data byte: 0xF4 goes to the keyboard. */
    cmd(f, 0x60);
    cmd(f, 0xAB);
    EXPECT(f, false, 0x00);
    out(f, 0xF4);
    EXPECT(f, false, PS2_ACK);
    cmd(f, 0x20);
    EXPECT(f, false, 0x61);
}

static void keyboard_reset_and_identify(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT); /* no translation: the keyboard's own bytes */
    out(f, 0xFF);
    EXPECT(f, false, PS2_ACK, PS2_BAT_OK);
    out(f, 0xF2);
    EXPECT(f, false, PS2_ACK, 0xAB, 0x83);
    out(f, 0xEE);
    EXPECT(f, false, PS2_ECHO);
    out(f, 0xF0); /* get the scan code set */
    EXPECT(f, false, PS2_ACK);
    out(f, 0x00);
    EXPECT(f, false, PS2_ACK, 0x02);
    out(f, 0xAB); /* not a command */
    EXPECT(f, false, PS2_RESEND);
    /* Resend repeats the last byte before the Resend reply itself. */
    out(f, 0xEE);
    EXPECT(f, false, PS2_ECHO);
    out(f, 0xFE);
    EXPECT(f, false, PS2_ECHO);

    /* Through the translating controller the ID reads AB 41, as Linux expects. */
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    out(f, 0xF2);
    EXPECT(f, false, PS2_ACK, 0xAB, 0x41);
    out(f, 0xF0);
    EXPECT(f, false, PS2_ACK);
    out(f, 0x00);
    EXPECT(f, false, PS2_ACK, 0x41); /* set 2, translated */
}

static void key_a_with_and_without_translation(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    ps2_kbd_key(&f->kbd, KC_A, true);
    ps2_kbd_key(&f->kbd, KC_A, false);
    EXPECT(f, false, 0x1E, 0x9E);

    set_ctr(f, I8042_CTR_KBDINT);
    ps2_kbd_key(&f->kbd, KC_A, true);
    ps2_kbd_key(&f->kbd, KC_A, false);
    EXPECT(f, false, 0x1C, 0xF0, 0x1C);

    /* Extended keys keep E0 either way; F0 moves inside it. */
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, true);
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, false);
    EXPECT(f, false, 0xE0, 0x14, 0xE0, 0xF0, 0x14);
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, true);
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, false);
    EXPECT(f, false, 0xE0, 0x1D, 0xE0, 0x9D);
    /* F7 is 0x83 in set 2, one of the two codes above 0x7F the table maps. */
    ps2_kbd_key(&f->kbd, KC_F7, true);
    ps2_kbd_key(&f->kbd, KC_F7, false);
    EXPECT(f, false, 0x41, 0xC1);

    /* The keyboard itself in set 1, behind a controller that does not translate. */
    set_ctr(f, I8042_CTR_KBDINT);
    out(f, 0xF0);
    out(f, 0x01);
    EXPECT(f, false, PS2_ACK, PS2_ACK);
    ps2_kbd_key(&f->kbd, KC_A, true);
    ps2_kbd_key(&f->kbd, KC_A, false);
    EXPECT(f, false, 0x1E, 0x9E);
    /* And set 3: F0 breaks, no E0 prefixes. */
    out(f, 0xF0);
    out(f, 0x03);
    EXPECT(f, false, PS2_ACK, PS2_ACK);
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, true);
    ps2_kbd_key(&f->kbd, KC_RIGHTCTRL, false);
    EXPECT(f, false, 0x58, 0xF0, 0x58);
    out(f, 0xF0);
    out(f, 0x04); /* no set 4 */
    EXPECT(f, false, PS2_ACK, PS2_RESEND);
}

static void irq1_follows_obf(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_XLATE); /* interrupts off */
    ps2_kbd_key(&f->kbd, KC_A, true);
    assert_true(status(f) & I8042_STR_OBF);
    assert_false(f->level[1]);
    /* Enabling the interrupt with OBF already set raises it. */
    set_ctr(f, I8042_CTR_XLATE | I8042_CTR_KBDINT);
    assert_true(f->level[1]);
    assert_int_equal(f->rises[1], 1);
    assert_int_equal(data(f), 0x1E);
    assert_false(f->level[1]);

    /* Two bytes queued: reading the first drops the line and the second raises it again. */
    ps2_kbd_key(&f->kbd, KC_LEFTMETA, true); /* E0 1F -> E0 5B */
    assert_int_equal(f->rises[1], 2);
    assert_int_equal(data(f), 0xE0);
    assert_true(f->level[1]);
    assert_int_equal(f->rises[1], 3);
    assert_int_equal(data(f), 0x5B);
    assert_false(f->level[1]);
    assert_false(f->level[12]);

    /* Aux data goes to IRQ12 only, with AUXDATA in the status. */
    set_ctr(f, I8042_CTR_XLATE | I8042_CTR_KBDINT | I8042_CTR_AUXINT);
    cmd(f, 0xD3);
    out(f, 0x5A);
    assert_true(f->level[12]);
    assert_false(f->level[1]);
    assert_int_equal(take(f, true), 0x5A);
    assert_false(f->level[12]);
    /* D2: as if from the keyboard. */
    cmd(f, 0xD2);
    out(f, 0x77);
    assert_true(f->level[1]);
    assert_int_equal(take(f, false), 0x77);
    /* A reset drops the line. */
    ps2_kbd_key(&f->kbd, KC_A, false);
    assert_true(f->level[1]);
    device_reset(&f->c.dev);
    assert_false(f->level[1]);
}

static void interfaces_disabled(void **state)
{
    struct fixture *f = *state;
    cmd(f, 0xAD);
    ps2_kbd_key(&f->kbd, KC_B, true);
    assert_false(status(f) & I8042_STR_OBF); /* the keyboard holds it */
    cmd(f, 0xAE);
    EXPECT(f, false, 0x30);

    /* Keyboard data comes before mouse data; each waits while its interface is off. */
    aux_send(f, 0xF4);
    EXPECT(f, true, PS2_ACK);
    cmd(f, 0xA7);
    cmd(f, 0xAD);
    ps2_mouse_event(&f->mouse, 1, 0, 0, 0);
    ps2_kbd_key(&f->kbd, KC_B, false);
    assert_false(status(f) & I8042_STR_OBF);
    cmd(f, 0xAA); /* hold the buffer while both interfaces come back */
    cmd(f, 0xA8);
    cmd(f, 0xAE);
    assert_int_equal(take(f, false), 0x55);
    assert_int_equal(take(f, false), 0xB0);
    EXPECT(f, true, 0x08, 0x01, 0x00);

    /* Sending to the keyboard enables its interface, so the reply can come back. */
    cmd(f, 0xAD);
    out(f, 0xEE);
    EXPECT(f, false, PS2_ECHO);
    cmd(f, 0x20);
    assert_false(take(f, false) & I8042_CTR_KBDDIS);
}

static void output_port_a20(void **state)
{
    struct fixture *f = *state;
    cmd(f, 0xD0);
    EXPECT(f, false, 0xCF); /* A20 on and CPU running after reset */
    cmd(f, 0xD1);
    out(f, 0xCD);
    assert_int_equal(f->a20_calls, 1);
    assert_false(f->a20);
    cmd(f, 0xD0);
    EXPECT(f, false, 0xCD);
    cmd(f, 0xD1);
    out(f, 0xCD); /* no change, no call */
    assert_int_equal(f->a20_calls, 1);
    cmd(f, 0xD1);
    out(f, 0xDF);
    assert_int_equal(f->a20_calls, 2);
    assert_true(f->a20);
    /* The OBF lines read live, whatever was written to them (DF has bit 4 set). */
    cmd(f, 0xD0);
    EXPECT(f, false, 0xCF);
    cmd(f, 0xD2);
    out(f, 0x11);
    cmd(f, 0xD0); /* the buffer is full while it reads; the reply replaces the byte */
    EXPECT(f, false, 0xDF);
    /* The single-byte A20 commands. */
    cmd(f, 0xDD);
    assert_false(f->a20);
    cmd(f, 0xDF);
    assert_true(f->a20);
    assert_int_equal(f->a20_calls, 4);
    assert_int_equal(f->resets, 0);
    /* A reset goes back to the gate enabled, and says so. */
    cmd(f, 0xDD);
    device_reset(&f->c.dev);
    assert_true(f->a20);
    assert_int_equal(f->a20_calls, 6);
}

static void pulse_reset(void **state)
{
    struct fixture *f = *state;
    cmd(f, 0xFF); /* pulses nothing */
    cmd(f, 0xF1);
    cmd(f, 0xFD); /* bit 1: the A20 line, too short to matter */
    assert_int_equal(f->resets, 0);
    set_ctr(f, 0x00);
    cmd(f, 0xFE);
    assert_int_equal(f->resets, 1);
    cmd(f, 0xF0);
    assert_int_equal(f->resets, 2);
    /* The callback reset the controller: the command byte is back to its reset value. */
    cmd(f, 0x20);
    EXPECT(f, false, I8042_RESET_CTR);
    /* Output port bit 0 written low resets too, and reads back high. */
    cmd(f, 0xD1);
    out(f, 0xDE);
    assert_int_equal(f->resets, 3);
    cmd(f, 0xD0);
    EXPECT(f, false, 0xCF);
}

static void no_mouse_times_out(void **state)
{
    (void)state;
    struct fixture *f = make(false, false);
    aux_send(f, 0xF2);
    uint8_t s = status(f);
    assert_true(s & I8042_STR_TIMEOUT);
    assert_true(s & I8042_STR_AUXDATA);
    assert_int_equal(data(f), 0xFE);
    cmd(f, 0xA9); /* the interface lines themselves are fine */
    assert_false(status(f) & I8042_STR_TIMEOUT);
    EXPECT(f, false, 0x00);
    free(f);
}

/* ---- keyboard ---- */

static void keyboard_commands(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT);
    out(f, 0xED);
    EXPECT(f, false, PS2_ACK);
    out(f, PS2_LED_NUM | PS2_LED_CAPS);
    EXPECT(f, false, PS2_ACK);
    assert_int_equal(f->leds, PS2_LED_NUM | PS2_LED_CAPS);
    assert_int_equal(f->led_calls, 1);
    /* A command where a parameter is expected is taken as the command. */
    out(f, 0xED);
    out(f, 0xF2);
    EXPECT(f, false, PS2_ACK, PS2_ACK, 0xAB, 0x83);
    assert_int_equal(f->kbd.leds, PS2_LED_NUM | PS2_LED_CAPS);
    out(f, 0xF3);
    out(f, 0x20);
    EXPECT(f, false, PS2_ACK, PS2_ACK);
    assert_int_equal(f->kbd.typematic, 0x20);
    /* Disabled: keys are not scanned. Defaults restore the typematic setting. */
    out(f, 0xF5);
    EXPECT(f, false, PS2_ACK);
    assert_int_equal(f->kbd.typematic, 0x2B);
    ps2_kbd_key(&f->kbd, KC_Z, true);
    assert_false(status(f) & I8042_STR_OBF);
    out(f, 0xF4);
    EXPECT(f, false, PS2_ACK);
    ps2_kbd_key(&f->kbd, KC_Z, false);
    EXPECT(f, false, 0xF0, 0x1A);
    /* Enable clears key data the controller has not started to take. */
    cmd(f, 0xAD);
    ps2_kbd_key(&f->kbd, KC_Z, true);
    out(f, 0xF4);
    EXPECT(f, false, PS2_ACK);
    /* Reset turns the LEDs off and goes back to set 2. */
    out(f, 0xF0);
    out(f, 0x01);
    EXPECT(f, false, PS2_ACK, PS2_ACK);
    out(f, 0xFF);
    EXPECT(f, false, PS2_ACK, PS2_BAT_OK);
    assert_int_equal(f->leds, 0);
    assert_int_equal(f->kbd.set, 2);
    /* Set-3 key-type commands are acknowledged, with their key lists. */
    const uint8_t list[] = {0xFC, 0x1C, 0x32, 0xF4};
    for (int i = 0; i < 4; i++) {
        out(f, list[i]);
        EXPECT(f, false, PS2_ACK);
    }
    /* Replies queue up behind each other... */
    out(f, 0xEE);
    out(f, 0xF2);
    EXPECT(f, false, PS2_ECHO, PS2_ACK, 0xAB, 0x83);
    /* ...but enable drops what the controller has not begun to take: the echo goes, the
     * rest of the ID reply it began does not. */
    out(f, 0xF2);
    out(f, 0xEE);
    out(f, 0xF4);
    EXPECT(f, false, PS2_ACK, 0xAB, 0x83, PS2_ACK);
}

static void keyboard_queue_overrun(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_KBDDIS); /* nothing drains the keyboard */
    for (int i = 0; i < 17; i++)
        ps2_kbd_key(&f->kbd, KC_A, true); /* 1C each in set 2 */
    /* 15 codes fit; the 16th byte reports the overrun; the 17th key is lost. */
    assert_int_equal(f->kbd.port.q.count, PS2_QUEUE_SIZE);
    set_ctr(f, I8042_CTR_KBDINT);
    for (int i = 0; i < 15; i++)
        assert_int_equal(take(f, false), 0x1C);
    EXPECT(f, false, 0x00);
    /* Room again: keys flow. */
    ps2_kbd_key(&f->kbd, KC_A, false);
    EXPECT(f, false, 0xF0, 0x1C);

    /* Through translation the overrun code reads 0xFF, the set-1 value. A sequence that
     * does not fit is dropped whole and only one overrun is reported. */
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_KBDDIS | I8042_CTR_XLATE);
    for (int i = 0; i < 7; i++)
        ps2_kbd_key(&f->kbd, KC_UP, true); /* E0 75: 14 bytes */
    ps2_kbd_key(&f->kbd, KC_UP, false);     /* E0 F0 75 does not fit */
    ps2_kbd_key(&f->kbd, KC_A, false);      /* F0 1C neither */
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(take(f, false), 0xE0);
        assert_int_equal(take(f, false), 0x48);
    }
    EXPECT(f, false, 0xFF);
}

static void typematic_repeat(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT); /* set 2, no translation */
    uint64_t t0 = f->clock.now;
    ps2_kbd_key(&f->kbd, KC_A, true);
    EXPECT(f, false, 0x1C);
    vclock_advance(&f->clock, t0 + 499000000); /* default delay 500 ms */
    assert_false(status(f) & I8042_STR_OBF);
    vclock_advance(&f->clock, t0 + 500000000);
    assert_true(status(f) & I8042_STR_OBF);
    EXPECT(f, false, 0x1C);
    /* Default rate 0x2B: (8 + 3) * 2 * 4.17 ms = 91.74 ms. */
    uint64_t t1 = t0 + 500000000;
    vclock_advance(&f->clock, t1 + 91740000 - 1);
    assert_false(status(f) & I8042_STR_OBF);
    vclock_advance(&f->clock, t1 + 91740000);
    EXPECT(f, false, 0x1C);
    /* Another key takes over the repeat; releasing it stops repeating altogether. */
    ps2_kbd_key(&f->kbd, KC_B, true);
    EXPECT(f, false, 0x32);
    ps2_kbd_key(&f->kbd, KC_B, false);
    EXPECT(f, false, 0xF0, 0x32);
    vclock_advance(&f->clock, f->clock.now + 2000000000ull);
    assert_false(status(f) & I8042_STR_OBF);
    /* F3 00: 250 ms delay, 30 per second. */
    out(f, 0xF3);
    out(f, 0x00);
    EXPECT(f, false, PS2_ACK, PS2_ACK);
    t0 = f->clock.now;
    ps2_kbd_key(&f->kbd, KC_C, true);
    EXPECT(f, false, 0x21);
    vclock_advance(&f->clock, t0 + 250000000);
    EXPECT(f, false, 0x21);
    vclock_advance(&f->clock, t0 + 250000000 + 33360000);
    EXPECT(f, false, 0x21);
    /* Releasing all held keys sends the breaks (A is still down). */
    ps2_kbd_release_all(&f->kbd);
    EXPECT(f, false, 0xF0, 0x1C, 0xF0, 0x21);
    vclock_advance(&f->clock, f->clock.now + 2000000000ull);
    assert_false(status(f) & I8042_STR_OBF);
}

static void pacing_between_bytes(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    ps2_kbd_key(&f->kbd, KC_A, true);
    ps2_kbd_key(&f->kbd, KC_A, false);
    assert_true(status(f) & I8042_STR_OBF); /* the first byte waits for nobody */
    assert_int_equal(data(f), 0x1E);
    /* An ISR chaining to the BIOS reads port 0x60 again: the same byte, not the next. */
    assert_int_equal(data(f), 0x1E);
    assert_false(f->level[1]);
    vclock_advance(&f->clock, f->clock.now + I8042_BYTE_NS - 1);
    assert_false(status(f) & I8042_STR_OBF);
    vclock_advance(&f->clock, f->clock.now + 1);
    assert_true(f->level[1]); /* the timer loaded it */
    assert_int_equal(data(f), 0x9E);
    /* Controller replies are not paced. */
    cmd(f, 0xAA);
    assert_int_equal(take(f, false), 0x55);
}

/* ---- mouse ---- */

static void mouse_reset_and_packets(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE);
    aux_send(f, 0xFF);
    assert_true(f->level[12]);
    EXPECT(f, true, PS2_ACK, PS2_BAT_OK, 0x00);
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x00);
    /* Reporting is off after reset: movement is not even counted. */
    ps2_mouse_event(&f->mouse, 10, 10, 0, 0);
    assert_false(status(f) & I8042_STR_OBF);
    aux_send(f, 0xF4);
    EXPECT(f, true, PS2_ACK);

    /* 5 left and 3 down with the left button: both signs set, Y up is positive. */
    ps2_mouse_event(&f->mouse, -5, 3, 0, PS2_MOUSE_LEFT);
    EXPECT(f, true, 0x39, 0xFB, 0xFD);
    /* A button change alone is a packet; bit 3 is always set. */
    ps2_mouse_event(&f->mouse, 0, 0, 0, PS2_MOUSE_RIGHT | PS2_MOUSE_MIDDLE);
    EXPECT(f, true, 0x0E, 0x00, 0x00);
    /* More than 9 bits: split into packets while the queue has room, no overflow. */
    ps2_mouse_event(&f->mouse, -300, -2, 0, 0);
    EXPECT(f, true, 0x18, 0x00, 0x02, 0x18, 0xD4, 0x00);
    /* Wheel motion means nothing to a plain mouse. */
    ps2_mouse_event(&f->mouse, 0, 0, 3, 0);
    assert_false(status(f) & I8042_STR_OBF);
}

static void mouse_saturation(void **state)
{
    struct fixture *f = *state;
    aux_send(f, 0xF4);
    EXPECT(f, true, PS2_ACK);
    cmd(f, 0xA7);
    for (int i = 0; i < 5; i++)
        ps2_mouse_event(&f->mouse, 1, 0, 0, 0);
    /* No room: +400 right and 400 down pile into the 9-bit counters. */
    ps2_mouse_event(&f->mouse, 200, 200, 0, 0);
    ps2_mouse_event(&f->mouse, 200, 200, 0, 0);
    cmd(f, 0xA8);
    for (int i = 0; i < 5; i++)
        EXPECT_MORE(f, true, 0x08, 0x01, 0x00);
    /* X +255 with overflow; Y -256 (sign, 0x00) with overflow. */
    EXPECT(f, true, 0xE8, 0xFF, 0x00);
}

static void mouse_wheel_detection(void **state)
{
    struct fixture *f = *state;
    const uint8_t knock[] = {200, 100, 80};
    for (int i = 0; i < 3; i++) {
        aux_send(f, 0xF3);
        aux_send(f, knock[i]);
        EXPECT(f, true, PS2_ACK, PS2_ACK);
    }
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x03);
    aux_send(f, 0xF4);
    EXPECT(f, true, PS2_ACK);
    /* Four-byte packets; Z is a signed byte, negative = away from the user. */
    ps2_mouse_event(&f->mouse, 1, -1, -2, 0);
    EXPECT(f, true, 0x08, 0x01, 0x01, 0xFE);

    /* The Explorer knock, from wheel mode: ID 4, Z in 4 bits, buttons 4/5 in bits 4/5. */
    const uint8_t knock2[] = {200, 200, 80};
    for (int i = 0; i < 3; i++) {
        aux_send(f, 0xF3);
        aux_send(f, knock2[i]);
        EXPECT(f, true, PS2_ACK, PS2_ACK);
    }
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x04);
    ps2_mouse_event(&f->mouse, 0, 0, 1, PS2_MOUSE_BUTTON5);
    EXPECT(f, true, 0x08, 0x00, 0x00, 0x21);

    /* An invalid rate is refused; reset goes back to the plain mouse. */
    aux_send(f, 0xF3);
    aux_send(f, 33);
    EXPECT(f, true, PS2_ACK, PS2_RESEND);
    aux_send(f, 0xFF);
    EXPECT(f, true, PS2_ACK, PS2_BAT_OK, 0x00);
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x00);
    /* The knock out of order does nothing. */
    const uint8_t wrong[] = {100, 200, 80};
    for (int i = 0; i < 3; i++) {
        aux_send(f, 0xF3);
        aux_send(f, wrong[i]);
        EXPECT(f, true, PS2_ACK, PS2_ACK);
    }
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x00);
}

static void mouse_modes(void **state)
{
    struct fixture *f = *state;
    /* Status: stream, disabled, 1:1, resolution 2, 100 samples/s. */
    aux_send(f, 0xE9);
    EXPECT(f, true, PS2_ACK, 0x00, 0x02, 100);
    const uint8_t setup_bytes[] = {0xE8, 0x03, 0xE7, 0xF4};
    for (int i = 0; i < 4; i++) {
        aux_send(f, setup_bytes[i]);
        EXPECT(f, true, PS2_ACK);
    }
    ps2_mouse_event(&f->mouse, 0, 0, 0, PS2_MOUSE_LEFT | PS2_MOUSE_RIGHT);
    EXPECT(f, true, 0x0B, 0x00, 0x00);
    aux_send(f, 0xE9); /* status buttons: left bit 2, right bit 0 */
    EXPECT(f, true, PS2_ACK, 0x20 | 0x10 | 0x04 | 0x01, 0x03, 100);
    /* 2:1 scaling: 3 -> 3, 4 -> 6, 10 -> 20. */
    ps2_mouse_event(&f->mouse, 4, -10, 0, 0);
    EXPECT(f, true, 0x08, 0x06, 0x14);
    aux_send(f, 0xE6);
    EXPECT(f, true, PS2_ACK);

    /* Remote mode: nothing until asked; Read Data is unscaled and clears the counters. */
    aux_send(f, 0xF0);
    EXPECT(f, true, PS2_ACK);
    ps2_mouse_event(&f->mouse, 7, 0, 0, 0);
    ps2_mouse_event(&f->mouse, 3, 0, 0, 0);
    assert_false(status(f) & I8042_STR_OBF);
    aux_send(f, 0xEB);
    EXPECT(f, true, PS2_ACK, 0x08, 0x0A, 0x00);
    aux_send(f, 0xEB);
    EXPECT(f, true, PS2_ACK, 0x08, 0x00, 0x00);
    /* Resend repeats the last packet. */
    aux_send(f, 0xFE);
    EXPECT(f, true, PS2_ACK, 0x08, 0x00, 0x00);
    aux_send(f, 0xEA);
    EXPECT(f, true, PS2_ACK);

    /* Wrap mode echoes all but EC and FF. */
    const uint8_t wrap[][2] = {{0xEE, PS2_ACK}, {0x12, 0x12}, {0xF2, 0xF2}, {0xEC, PS2_ACK}};
    for (int i = 0; i < 4; i++) {
        aux_send(f, wrap[i][0]);
        EXPECT(f, true, wrap[i][1]);
    }
    aux_send(f, 0xF2);
    EXPECT(f, true, PS2_ACK, 0x00);
    aux_send(f, 0x42); /* unknown */
    EXPECT(f, true, PS2_RESEND);
}

/* ---- save / load ---- */

static size_t save(const struct device *d, uint8_t **buf)
{
    size_t n = device_save(d, NULL, 0);
    *buf = malloc(n);
    assert_non_null(*buf);
    assert_int_equal(device_save(d, *buf, n), n);
    return n;
}

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    /* A busy moment: keyboard in the middle of a parameter, translated data queued and
     * half-taken, a wheel mouse with counted movement, A20 off, RAM written. */
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE | I8042_CTR_SYS);
    cmd(f, 0x65);
    out(f, 0x99);
    cmd(f, 0xDD);
    out(f, 0xED);
    EXPECT(f, false, PS2_ACK);
    const uint8_t knock[] = {200, 100, 80};
    for (int i = 0; i < 3; i++) {
        aux_send(f, 0xF3);
        aux_send(f, knock[i]);
    }
    aux_send(f, 0xF0); /* remote */
    while (status(f) & I8042_STR_OBF)
        (void)data(f);
    ps2_mouse_event(&f->mouse, 9, 0, 1, PS2_MOUSE_MIDDLE);
    cmd(f, 0xAD);
    ps2_kbd_key(&f->kbd, KC_LEFTSHIFT, true);
    ps2_kbd_key(&f->kbd, KC_UP, true);
    ps2_kbd_key(&f->kbd, KC_UP, false);
    cmd(f, 0xAE);
    assert_int_equal(take(f, false), 0x2A);
    assert_int_equal(take(f, false), 0xE0);
    assert_int_equal(take(f, false), 0x48);
    /* Now the buffer holds the release's E0; F0 75 wait in the keyboard, item begun. */
    assert_int_equal(f->kbd.port.q.count, 2);
    assert_int_equal(f->kbd.port.q.started, 2);
    cmd(f, 0x60); /* a command waiting for its data byte */

    uint8_t *bc, *bk, *bm;
    size_t nc = save(&f->c.dev, &bc), nk = save(&f->kbd.dev, &bk), nm = save(&f->mouse.dev, &bm);

    struct fixture *g = make(false, true);
    /* The devices after the controller, as a machine may order them. */
    assert_int_equal(device_load(&g->c.dev, bc, nc), 0);
    assert_int_equal(g->a20_calls, 1); /* load announces the gate's change */
    assert_false(g->a20);
    assert_int_equal(device_load(&g->kbd.dev, bk, nk), 0);
    assert_int_equal(device_load(&g->mouse.dev, bm, nm), 0);

    /* Both continue identically. */
    struct fixture *both[2] = {f, g};
    for (int i = 0; i < 2; i++) {
        struct fixture *x = both[i];
        out(x, 0x47); /* the data byte of the pending 0x60 */
        EXPECT(x, false, 0xE0, 0xC8);
        out(x, 0x04);                       /* the LED parameter still expected */
        EXPECT(x, false, PS2_ACK);
        assert_int_equal(x->kbd.leds, PS2_LED_CAPS);
        ps2_kbd_key(&x->kbd, KC_PRINT, true); /* shift still held: E0 7C alone */
        EXPECT(x, false, 0xE0, 0x37);
        cmd(x, 0x25);
        EXPECT(x, false, 0x99);
        cmd(x, 0xD0);
        EXPECT(x, false, 0xCD);
        aux_send(x, 0xEB);
        EXPECT(x, true, PS2_ACK, 0x0C, 0x09, 0x00, 0x01);
        aux_send(x, 0xFE); /* resend: the whole last reply, 4-byte packet and all */
        EXPECT(x, true, PS2_ACK, 0x0C, 0x09, 0x00, 0x01);
        aux_send(x, 0xF2);
        EXPECT(x, true, PS2_ACK, 0x03);
        assert_true(status(x) & I8042_STR_SYS);
    }

    /* Malformed records are refused and leave the device reset. */
    uint8_t *bad = malloc(nc);
    memcpy(bad, bc, nc);
    bad[6 + 32 + 4] = 0xC4; /* pending: not a command that takes data */
    assert_int_equal(device_load(&g->c.dev, bad, nc), -1);
    cmd(g, 0x20);
    EXPECT(g, false, I8042_RESET_CTR);
    assert_true(g->a20); /* reset announced the gate back on */
    assert_int_equal(device_load(&g->c.dev, bc, nc - 1), -1);
    free(bad);

    bad = malloc(nk);
    memcpy(bad, bk, nk);
    bad[6] = 17; /* queue count beyond the queue */
    assert_int_equal(device_load(&g->kbd.dev, bad, nk), -1);
    memcpy(bad, bk, nk);
    assert_int_equal(bk[7], 2);
    bad[7] = 0; /* started = 0 but the head byte is inside an item */
    assert_int_equal(device_load(&g->kbd.dev, bad, nk), -1);
    memcpy(bad, bk, nk);
    bad[6 + 2 + 2 * bk[6]] = 4; /* scan code set 4 */
    assert_int_equal(device_load(&g->kbd.dev, bad, nk), -1);
    free(bad);

    bad = malloc(nm);
    memcpy(bad, bm, nm);
    bad[6 + 2 + 2 * bm[6] + 3] = 2; /* device ID 2 does not exist */
    assert_int_equal(device_load(&g->mouse.dev, bad, nm), -1);
    free(bad);

    free(bc);
    free(bk);
    free(bm);
    free(g);
}

/* ---- key tables ---- */

static void seq_is(enum keycode k, unsigned set, bool pressed, unsigned mods, const uint8_t *want,
                   size_t n)
{
    uint8_t got[KEYMAP_MAX_SEQ];
    size_t len = keymap_sequence(k, set, pressed, mods, got);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

#define SEQ(k, set, pressed, mods, ...)                                                       \
    do {                                                                                      \
        const uint8_t want_[] = {__VA_ARGS__};                                                \
        seq_is(k, set, pressed, mods, want_, sizeof(want_));                                  \
    } while (0)

static void keymap_tables(void **state)
{
    (void)state;
    SEQ(KC_PAUSE, 2, true, 0, 0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77);
    SEQ(KC_PAUSE, 1, true, 0, 0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5);
    assert_int_equal(keymap_sequence(KC_PAUSE, 2, false, 0, (uint8_t[8]){0}), 0);
    SEQ(KC_PAUSE, 1, true, KEYMOD_CTRL, 0xE0, 0x46, 0xE0, 0xC6); /* Ctrl+Break */
    SEQ(KC_PRINT, 2, true, 0, 0xE0, 0x12, 0xE0, 0x7C);
    SEQ(KC_PRINT, 2, false, 0, 0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12);
    SEQ(KC_PRINT, 1, true, 0, 0xE0, 0x2A, 0xE0, 0x37);
    SEQ(KC_PRINT, 1, false, 0, 0xE0, 0xB7, 0xE0, 0xAA);
    SEQ(KC_PRINT, 1, true, KEYMOD_ALT, 0x54); /* SysRq */
    SEQ(KC_PRINT, 2, false, KEYMOD_ALT, 0xF0, 0x84);
    SEQ(KC_KPENTER, 1, false, 0, 0xE0, 0x9C);
    SEQ(KC_ESC, 1, true, 0, 0x01);
    SEQ(KC_ESC, 3, false, 0, 0xF0, 0x08);
    SEQ(KC_F12, 1, true, 0, 0x58);
    SEQ(KC_KPSLASH, 1, true, 0, 0xE0, 0x35);
    SEQ(KC_NONUS_BACKSLASH, 1, true, 0, 0x56);
    SEQ(KC_HANJA, 2, true, 0, 0xF1);
    assert_int_equal(keymap_sequence(KC_HANJA, 2, false, 0, (uint8_t[8]){0}), 0);
    SEQ(KC_MUTE, 1, true, 0, 0xE0, 0x20);
    assert_int_equal(keymap_sequence(KC_MUTE, 3, true, 0, (uint8_t[8]){0}), 0);
    assert_int_equal(keymap_sequence((enum keycode)0x03, 2, true, 0, (uint8_t[8]){0}), 0);
    assert_int_equal(keymap_sequence((enum keycode)0x5000, 2, true, 0, (uint8_t[8]){0}), 0);

    /* Every key's set-1 make is a single code with bit 7 clear (after any E0), and its
     * break is the same with bit 7 set: the translation table agrees with set 1. */
    for (unsigned k = 0; k < KC_COUNT; k++) {
        if (!keymap_known((enum keycode)k) || k == KC_PAUSE || k == KC_PRINT ||
            k == KC_HANGEUL || k == KC_HANJA)
            continue;
        uint8_t mk[8], br[8];
        size_t nm = keymap_sequence((enum keycode)k, 1, true, 0, mk);
        size_t nb = keymap_sequence((enum keycode)k, 1, false, 0, br);
        assert_int_equal(nm, nb);
        assert_true(nm == 1 || (nm == 2 && mk[0] == 0xE0 && br[0] == 0xE0));
        assert_int_equal(mk[nm - 1] & 0x80, 0);
        assert_int_equal(br[nb - 1], mk[nm - 1] | 0x80);
        assert_string_not_equal(keymap_name((enum keycode)k), "");
        assert_int_equal(keymap_from_name(keymap_name((enum keycode)k)), k);
    }

    enum keycode k;
    bool shift;
    assert_true(keymap_from_ascii('A', &k, &shift));
    assert_int_equal(k, KC_A);
    assert_true(shift);
    assert_true(keymap_from_ascii('"', &k, &shift));
    assert_int_equal(k, KC_APOSTROPHE);
    assert_true(shift);
    assert_true(keymap_from_ascii('/', &k, &shift));
    assert_int_equal(k, KC_SLASH);
    assert_false(shift);
    assert_true(keymap_from_ascii('\n', &k, &shift));
    assert_int_equal(k, KC_ENTER);
    assert_false(keymap_from_ascii('\x01', &k, &shift));
    assert_false(keymap_from_ascii((char)0xE9, &k, &shift));
    assert_int_equal(keymap_from_name("kp_enter"), KC_KPENTER);
    assert_int_equal(keymap_from_name("nope"), KC_NONE);
}

static void type_text(void **state)
{
    struct fixture *f = *state;
    set_ctr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    cmd(f, 0xAD); /* hold everything in the keyboard's buffer */
    /* "aB": 1C F0 1C (3 bytes), then 12 32 F0 32 F0 12 (6): 9 of 15 usable. A third
     * character (3 bytes) would still fit, a fourth with Shift not. */
    assert_int_equal(ps2_kbd_type(&f->kbd, "aB"), 2);
    assert_int_equal(ps2_kbd_type(&f->kbd, "c!"), 1);
    cmd(f, 0xAE);
    EXPECT(f, false, 0x1E, 0x9E, 0x2A, 0x30, 0xB0, 0xAA, 0x2E, 0xAE);
    assert_int_equal(ps2_kbd_type(&f->kbd, "!"), 1);
    EXPECT(f, false, 0x2A, 0x02, 0x82, 0xAA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(self_test_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(command_byte_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(keyboard_reset_and_identify, setup, teardown),
        cmocka_unit_test_setup_teardown(key_a_with_and_without_translation, setup, teardown),
        cmocka_unit_test_setup_teardown(irq1_follows_obf, setup, teardown),
        cmocka_unit_test_setup_teardown(interfaces_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(output_port_a20, setup, teardown),
        cmocka_unit_test_setup_teardown(pulse_reset, setup, teardown),
        cmocka_unit_test(no_mouse_times_out),
        cmocka_unit_test_setup_teardown(keyboard_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(keyboard_queue_overrun, setup, teardown),
        cmocka_unit_test_setup_teardown(typematic_repeat, setup_clock, teardown),
        cmocka_unit_test_setup_teardown(pacing_between_bytes, setup_clock, teardown),
        cmocka_unit_test_setup_teardown(mouse_reset_and_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(mouse_saturation, setup, teardown),
        cmocka_unit_test_setup_teardown(mouse_wheel_detection, setup, teardown),
        cmocka_unit_test_setup_teardown(mouse_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
        cmocka_unit_test(keymap_tables),
        cmocka_unit_test_setup_teardown(type_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
