#include "devices/ps2.h"

#include <string.h>

/* ---- the output queue ---- */

static unsigned q_room(const struct ps2_queue *q) { return PS2_QUEUE_SIZE - q->count; }

static bool q_push(struct ps2_queue *q, const uint8_t *bytes, unsigned n)
{
    if (n == 0 || n > q_room(q))
        return false;
    for (unsigned i = 0; i < n; i++) {
        unsigned at = (q->head + q->count) % PS2_QUEUE_SIZE;
        q->data[at] = bytes[i];
        q->item[at] = i == 0 ? (uint8_t)n : 0;
        q->count++;
    }
    return true;
}

/* What a command does to bytes the device has not started sending: they are gone. The rest
 * of an item already begun still goes out, so the controller never sees half a sequence. */
static void q_drop_unstarted(struct ps2_queue *q) { q->count = q->started; }

static void q_reset(struct ps2_queue *q) { memset(q, 0, sizeof(*q)); }

static void q_save(const struct ps2_queue *q, struct state_writer *w)
{
    sw_u8(w, q->count);
    sw_u8(w, q->started);
    for (unsigned i = 0; i < q->count; i++) {
        unsigned at = (q->head + i) % PS2_QUEUE_SIZE;
        sw_u8(w, q->data[at]);
        sw_u8(w, q->item[at]);
    }
}

/* The item marks are checked so that `started` and every length describe whole items. */
static int q_load(struct ps2_queue *q, struct state_reader *r)
{
    struct ps2_queue n;
    memset(&n, 0, sizeof(n));
    n.count = sr_u8(r);
    n.started = sr_u8(r);
    if (r->error || n.count > PS2_QUEUE_SIZE || n.started > n.count)
        return -1;
    for (unsigned i = 0; i < n.count; i++) {
        n.data[i] = sr_u8(r);
        n.item[i] = sr_u8(r);
    }
    if (r->error)
        return -1;
    unsigned i = n.started;
    while (i < n.count) {
        unsigned len = n.item[i];
        if (len == 0 || len > n.count - i)
            return -1;
        for (unsigned j = 1; j < len; j++)
            if (n.item[i + j] != 0)
                return -1;
        i += len;
    }
    for (unsigned j = 0; j < n.started; j++)
        if (n.item[j] != 0)
            return -1;
    *q = n;
    return 0;
}

static void dev_notify(struct ps2_dev *d)
{
    if (d->notify && d->q.count)
        d->notify(d->notify_opaque);
}

static bool dev_push(struct ps2_dev *d, const uint8_t *bytes, unsigned n)
{
    if (!q_push(&d->q, bytes, n))
        return false;
    dev_notify(d);
    return true;
}

/* A reply must not be lost: if the queue is full of data the host has not started reading,
 * that data goes. */
static void dev_reply(struct ps2_dev *d, const uint8_t *bytes, unsigned n)
{
    if (n > q_room(&d->q))
        q_drop_unstarted(&d->q);
    dev_push(d, bytes, n);
}

static void dev_reply1(struct ps2_dev *d, uint8_t b) { dev_reply(d, &b, 1); }

uint8_t ps2_dev_take(struct ps2_dev *d)
{
    struct ps2_queue *q = &d->q;
    if (!q->count)
        return 0; /* callers check first; an empty cable reads as idle */
    uint8_t b = q->data[q->head];
    uint8_t len = q->item[q->head];
    q->head = (uint8_t)((q->head + 1) % PS2_QUEUE_SIZE);
    q->count--;
    if (len)
        q->started = (uint8_t)(len - 1);
    else if (q->started)
        q->started--;
    if (d->ops->taken)
        d->ops->taken(d, b);
    return b;
}

void ps2_dev_write(struct ps2_dev *d, uint8_t byte) { d->ops->write(d, byte); }

/* ---- keyboard ---- */

#define KBD_DEFAULT_TYPEMATIC 0x2B /* 10.9 characters/s after 500 ms */
#define KBD_MAX_DELAY_NS (1000ull * 1000 * 1000)

static struct ps2_kbd *kbd_of(struct ps2_dev *d)
{
    return (struct ps2_kbd *)((char *)d - offsetof(struct ps2_kbd, port));
}

static bool held(const struct ps2_kbd *k, unsigned key) { return k->held[key / 8] >> (key % 8) & 1; }

static void set_held(struct ps2_kbd *k, unsigned key, bool down)
{
    if (down)
        k->held[key / 8] |= (uint8_t)(1u << (key % 8));
    else
        k->held[key / 8] &= (uint8_t)~(1u << (key % 8));
}

static unsigned kbd_mods(const struct ps2_kbd *k)
{
    unsigned m = 0;
    if (held(k, KC_LEFTSHIFT) || held(k, KC_RIGHTSHIFT))
        m |= KEYMOD_SHIFT;
    if (held(k, KC_LEFTCTRL) || held(k, KC_RIGHTCTRL))
        m |= KEYMOD_CTRL;
    if (held(k, KC_LEFTALT) || held(k, KC_RIGHTALT))
        m |= KEYMOD_ALT;
    return m;
}

/* Key detection error / overrun: 0x00, or 0xFF in set 1. */
static uint8_t overrun_code(const struct ps2_kbd *k) { return k->set == 1 ? 0xFF : 0x00; }

/* Key data leaves the last byte of the buffer free, so that an overrun can always be
 * reported in it; until the host reads, further keys are lost. */
static bool kbd_queue_key(struct ps2_kbd *k, const uint8_t *seq, unsigned n)
{
    struct ps2_queue *q = &k->port.q;
    if (n + 1 <= q_room(q))
        return dev_push(&k->port, seq, n);
    unsigned last = (q->head + q->count - 1u) % PS2_QUEUE_SIZE;
    bool marked = q->count > q->started && q->item[last] == 1 && q->data[last] == overrun_code(k);
    if (!marked) {
        uint8_t o = overrun_code(k);
        dev_push(&k->port, &o, 1);
    }
    return false;
}

static uint64_t typematic_delay_ns(uint8_t t) { return (1 + ((t >> 5) & 3)) * 250000000ull; }

/* Period = (8 + A) * 2^B * 4.17 ms, A = bits 0-2, B = bits 3-4: 30 down to 2 per second. */
static uint64_t typematic_period_ns(uint8_t t)
{
    return ((8ull + (t & 7)) << ((t >> 3) & 3)) * 4170000ull;
}

static bool repeats(enum keycode key)
{
    return key != KC_PAUSE && key != KC_HANGEUL && key != KC_HANJA;
}

static void stop_repeat(struct ps2_kbd *k)
{
    k->repeating = KC_NONE;
    if (k->clock)
        vtimer_cancel(&k->repeat);
}

static void send_key(struct ps2_kbd *k, enum keycode key, bool pressed)
{
    uint8_t seq[KEYMAP_MAX_SEQ];
    size_t n = keymap_sequence(key, k->set, pressed, kbd_mods(k), seq);
    if (n)
        kbd_queue_key(k, seq, (unsigned)n);
}

static void repeat_fire(void *opaque)
{
    struct ps2_kbd *k = opaque;
    if (k->repeating == KC_NONE || !k->scanning || !held(k, k->repeating)) {
        k->repeating = KC_NONE;
        return;
    }
    send_key(k, (enum keycode)k->repeating, true);
    vtimer_arm(&k->repeat, vclock_now(k->clock) + typematic_period_ns(k->typematic));
}

void ps2_kbd_key(struct ps2_kbd *k, enum keycode key, bool pressed)
{
    if (!keymap_known(key))
        return;
    set_held(k, key, pressed);
    if (!pressed && k->repeating == key)
        stop_repeat(k);
    if (!k->scanning)
        return;
    /* The host's own auto-repeat arrives as presses of a held key: sent as typematic makes. */
    send_key(k, key, pressed);
    if (pressed && repeats(key) && k->clock) {
        k->repeating = (uint16_t)key;
        vtimer_arm(&k->repeat, vclock_now(k->clock) + typematic_delay_ns(k->typematic));
    }
}

void ps2_kbd_release_all(struct ps2_kbd *k)
{
    for (unsigned key = 0; key < KC_COUNT; key++)
        if (held(k, key))
            ps2_kbd_key(k, (enum keycode)key, false);
    stop_repeat(k);
}

size_t ps2_kbd_type(struct ps2_kbd *k, const char *text)
{
    size_t typed = 0;
    for (; *text; text++) {
        enum keycode key;
        bool shift;
        if (!keymap_from_ascii(*text, &key, &shift)) {
            typed++;
            continue;
        }
        uint8_t seq[KEYMAP_MAX_SEQ];
        unsigned need = 0;
        unsigned mods = shift ? KEYMOD_SHIFT : 0;
        need += (unsigned)keymap_sequence(key, k->set, true, mods, seq);
        need += (unsigned)keymap_sequence(key, k->set, false, mods, seq);
        if (shift) {
            need += (unsigned)keymap_sequence(KC_LEFTSHIFT, k->set, true, 0, seq);
            need += (unsigned)keymap_sequence(KC_LEFTSHIFT, k->set, false, 0, seq);
        }
        if (!k->scanning || need + 1 > q_room(&k->port.q))
            break;
        if (shift)
            ps2_kbd_key(k, KC_LEFTSHIFT, true);
        ps2_kbd_key(k, key, true);
        ps2_kbd_key(k, key, false);
        if (shift)
            ps2_kbd_key(k, KC_LEFTSHIFT, false);
        typed++;
    }
    return typed;
}

static void kbd_set_leds(struct ps2_kbd *k, uint8_t leds)
{
    k->leds = leds & 7;
    if (k->leds_changed)
        k->leds_changed(k->leds_opaque, k->leds);
}

/* Power-on defaults for what F5/F6 restore; the scan code set is kept. */
static void kbd_defaults(struct ps2_kbd *k)
{
    k->typematic = KBD_DEFAULT_TYPEMATIC;
    k->param_for = 0;
    k->key_list = false;
    stop_repeat(k);
}

static void kbd_reply2(struct ps2_kbd *k, uint8_t a, uint8_t b)
{
    dev_reply(&k->port, (const uint8_t[]){a, b}, 2);
}

static void kbd_command(struct ps2_kbd *k, uint8_t cmd)
{
    struct ps2_dev *d = &k->port;
    k->param_for = 0;
    k->key_list = false;
    switch (cmd) {
    case 0xED: /* set LEDs */
    case 0xF3: /* typematic rate/delay */
        k->param_for = cmd;
        dev_reply1(d, PS2_ACK);
        return;
    case 0xF0: /* scan code set */
        q_drop_unstarted(&d->q);
        k->param_for = cmd;
        dev_reply1(d, PS2_ACK);
        return;
    case 0xEE:
        dev_reply1(d, PS2_ECHO);
        return;
    case 0xF2: /* identify: MF II keyboard */
        dev_reply(d, (const uint8_t[]){PS2_ACK, 0xAB, 0x83}, 3);
        return;
    case 0xF4:
        q_drop_unstarted(&d->q);
        k->scanning = true;
        dev_reply1(d, PS2_ACK);
        return;
    case 0xF5: /* default and disable */
    case 0xF6: /* set default */
        q_drop_unstarted(&d->q);
        kbd_defaults(k);
        k->scanning = cmd == 0xF6;
        dev_reply1(d, PS2_ACK);
        return;
    case 0xF7: case 0xF8: case 0xF9: case 0xFA: /* set-3 key types for all keys */
        q_drop_unstarted(&d->q);
        dev_reply1(d, PS2_ACK);
        return;
    case 0xFB: case 0xFC: case 0xFD: /* set-3 key types for listed keys */
        q_drop_unstarted(&d->q);
        k->key_list = true;
        dev_reply1(d, PS2_ACK);
        return;
    case 0xFE:
        dev_reply1(d, k->last_sent);
        return;
    case 0xFF:
        q_drop_unstarted(&d->q);
        kbd_defaults(k);
        k->set = 2;
        k->scanning = true;
        kbd_set_leds(k, 0);
        /* The self-test result follows the ACK (a real one takes some 500 ms). */
        kbd_reply2(k, PS2_ACK, PS2_BAT_OK);
        return;
    default:
        dev_reply1(d, PS2_RESEND);
        return;
    }
}

static void kbd_write(struct ps2_dev *d, uint8_t b)
{
    struct ps2_kbd *k = kbd_of(d);
    /* A byte with bit 7 set where a parameter is expected is a new command instead. */
    if (k->param_for && b < 0x80) {
        uint8_t cmd = k->param_for;
        k->param_for = 0;
        switch (cmd) {
        case 0xED:
            dev_reply1(d, PS2_ACK);
            kbd_set_leds(k, b);
            return;
        case 0xF3:
            k->typematic = b;
            dev_reply1(d, PS2_ACK);
            return;
        case 0xF0:
            if (b == 0) {
                kbd_reply2(k, PS2_ACK, k->set);
            } else if (b <= 3) {
                k->set = b;
                stop_repeat(k);
                dev_reply1(d, PS2_ACK);
            } else {
                dev_reply1(d, PS2_RESEND);
            }
            return;
        }
    }
    if (k->key_list && b < 0xED) {
        dev_reply1(d, PS2_ACK); /* a set-3 key code: its type is not modelled */
        return;
    }
    kbd_command(k, b);
}

static void kbd_taken(struct ps2_dev *d, uint8_t b)
{
    struct ps2_kbd *k = kbd_of(d);
    if (b != PS2_RESEND) /* Resend asks for the last byte other than a Resend */
        k->last_sent = b;
}

static const struct ps2_dev_ops kbd_port_ops = {kbd_write, kbd_taken};

static void kbd_reset(void *opaque)
{
    struct ps2_kbd *k = opaque;
    q_reset(&k->port.q);
    kbd_defaults(k);
    k->set = 2;
    k->scanning = true;
    k->last_sent = 0;
    memset(k->held, 0, sizeof(k->held));
    kbd_set_leds(k, 0);
}

static void kbd_save(const void *opaque, struct state_writer *w)
{
    const struct ps2_kbd *k = opaque;
    q_save(&k->port.q, w);
    sw_u8(w, k->set);
    sw_u8(w, k->leds);
    sw_u8(w, k->typematic);
    sw_u8(w, (uint8_t)(k->scanning | k->key_list << 1));
    sw_u8(w, k->param_for);
    sw_u8(w, k->last_sent);
    sw_bytes(w, k->held, sizeof(k->held));
    sw_u16(w, k->repeating);
    /* The repeat deadline relative to now: the clock itself belongs to the machine. */
    uint64_t left = 0;
    if (k->clock && k->repeat.armed && k->repeat.deadline > vclock_now(k->clock))
        left = k->repeat.deadline - vclock_now(k->clock);
    sw_u64(w, left);
}

static int kbd_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct ps2_kbd *k = opaque;
    if (version != 1)
        return -1;
    struct ps2_queue q;
    if (q_load(&q, r))
        return -1;
    uint8_t set = sr_u8(r), leds = sr_u8(r), typematic = sr_u8(r), flags = sr_u8(r);
    uint8_t param_for = sr_u8(r), last_sent = sr_u8(r);
    uint8_t heldmap[sizeof(k->held)];
    sr_bytes(r, heldmap, sizeof(heldmap));
    uint16_t repeating = sr_u16(r);
    uint64_t left = sr_u64(r);
    if (r->error || set < 1 || set > 3 || leds > 7 || typematic > 0x7F || flags > 3 ||
        (param_for != 0 && param_for != 0xED && param_for != 0xF3 && param_for != 0xF0) ||
        (repeating != KC_NONE && !keymap_known((enum keycode)repeating)))
        return -1;
    for (unsigned key = 0; key < KC_COUNT; key++) /* only real keys may be held */
        if ((heldmap[key / 8] >> (key % 8) & 1) && !keymap_known((enum keycode)key))
            return -1;
    if (heldmap[sizeof(heldmap) - 1] >> (KC_COUNT % 8 ? KC_COUNT % 8 : 8))
        return -1;
    stop_repeat(k);
    k->port.q = q;
    k->set = set;
    k->typematic = typematic;
    k->scanning = flags & 1;
    k->key_list = flags & 2;
    k->param_for = param_for;
    k->last_sent = last_sent;
    memcpy(k->held, heldmap, sizeof(heldmap));
    k->repeating = repeating;
    if (k->repeating && k->clock) {
        if (left > KBD_MAX_DELAY_NS)
            left = KBD_MAX_DELAY_NS;
        vtimer_arm(&k->repeat, vclock_now(k->clock) + left);
    } else {
        k->repeating = KC_NONE;
    }
    kbd_set_leds(k, leds);
    dev_notify(&k->port);
    return 0;
}

static const struct device_ops kbd_device_ops = {
    .name = "ps2-kbd",
    .state_version = 1,
    .reset = kbd_reset,
    .save = kbd_save,
    .load = kbd_load,
};

void ps2_kbd_init(struct ps2_kbd *k, struct vclock *clock)
{
    memset(k, 0, sizeof(*k));
    k->dev = (struct device){&kbd_device_ops, k};
    k->port.ops = &kbd_port_ops;
    k->clock = clock;
    if (clock)
        vtimer_init(&k->repeat, clock, repeat_fire, k);
    kbd_reset(k);
}

/* ---- mouse ---- */

static struct ps2_mouse *mouse_of(struct ps2_dev *d)
{
    return (struct ps2_mouse *)((char *)d - offsetof(struct ps2_mouse, port));
}

static unsigned packet_len(const struct ps2_mouse *m) { return m->id ? 4 : 3; }

static void mouse_clear_counters(struct ps2_mouse *m)
{
    m->dx = m->dy = 0;
    m->dz = 0;
    m->xovf = m->yovf = false;
}

static void mouse_defaults(struct ps2_mouse *m)
{
    m->rate = 100;
    m->resolution = 2;
    m->scale21 = false;
    m->remote = false;
    m->reporting = false;
    m->param_for = 0;
    mouse_clear_counters(m);
}

/* Saturating add into a counter of `bits` bits (sign included). */
static int32_t sat_add(int32_t acc, int32_t d, int bits, bool *ovf)
{
    int32_t lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    int64_t v = (int64_t)acc + d;
    if (v < lo || v > hi) {
        if (ovf)
            *ovf = true;
        return v < lo ? lo : hi;
    }
    return (int32_t)v;
}

static int z_bits(const struct ps2_mouse *m) { return m->id == 4 ? 4 : 8; }

/* 2:1 scaling (stream mode only): 1->1, 2->1, 3->3, 4->6, 5->9, else doubled. */
static int32_t scale21(int32_t v)
{
    static const int8_t small[6] = {0, 1, 1, 3, 6, 9};
    int32_t a = v < 0 ? -v : v;
    int32_t s = a < 6 ? small[a] : 2 * a;
    return v < 0 ? -s : s;
}

/* Builds the packet of the counters (and clears them). */
static unsigned mouse_packet(struct ps2_mouse *m, bool scaled, uint8_t *p)
{
    bool xovf = m->xovf, yovf = m->yovf;
    int32_t dx = m->dx, dy = m->dy;
    if (scaled) {
        dx = sat_add(0, scale21(dx), 9, &xovf);
        dy = sat_add(0, scale21(dy), 9, &yovf);
    }
    p[0] = (uint8_t)(0x08 | (m->buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0) |
                     (xovf ? 0x40 : 0) | (yovf ? 0x80 : 0));
    p[1] = (uint8_t)dx;
    p[2] = (uint8_t)dy;
    if (m->id == 3)
        p[3] = (uint8_t)m->dz;
    else if (m->id == 4)
        p[3] = (uint8_t)((m->dz & 0x0F) | (m->buttons & (PS2_MOUSE_BUTTON4 | PS2_MOUSE_BUTTON5)) << 1);
    m->reported = m->buttons;
    mouse_clear_counters(m);
    return packet_len(m);
}

static bool mouse_dirty(const struct ps2_mouse *m)
{
    return m->dx || m->dy || m->dz || m->xovf || m->yovf || m->buttons != m->reported;
}

static bool streaming(const struct ps2_mouse *m) { return m->reporting && !m->remote && !m->wrap; }

/* Sends the counters as a stream packet if the queue has room for a whole one. */
static bool mouse_flush(struct ps2_mouse *m)
{
    if (!streaming(m) || !mouse_dirty(m) || q_room(&m->port.q) < packet_len(m))
        return false;
    uint8_t p[4];
    unsigned n = mouse_packet(m, m->scale21, p);
    memcpy(m->last, p, n);
    m->last_len = (uint8_t)n;
    dev_push(&m->port, p, n);
    return true;
}

static int32_t clip(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, unsigned buttons)
{
    m->buttons = (uint8_t)(buttons & 0x1F);
    if (!m->remote && !streaming(m))
        return; /* a disabled stream-mode mouse does not count */
    int32_t zlo = -(1 << (z_bits(m) - 1)), zhi = -zlo - 1;
    /* In 64 bits: the host may pass INT_MIN, and the mouse's Y axis points up. */
    int64_t rx = dx, ry = -(int64_t)dy, rz = m->id ? dz : 0;
    for (;;) {
        /* Count at most one packet's worth; if that went out, go on with the rest. */
        int32_t cx = clip(rx, -256, 255), cy = clip(ry, -256, 255), cz = clip(rz, zlo, zhi);
        rx -= cx, ry -= cy, rz -= cz;
        m->dx = (int16_t)sat_add(m->dx, cx, 9, &m->xovf);
        m->dy = (int16_t)sat_add(m->dy, cy, 9, &m->yovf);
        m->dz = (int8_t)sat_add(m->dz, cz, z_bits(m), NULL);
        bool sent = mouse_flush(m);
        if (!rx && !ry && !rz)
            return;
        if (!sent) {
            /* No room: the rest lands in the counters, which saturate. */
            m->dx = (int16_t)sat_add(m->dx, clip(rx, -512, 512), 9, &m->xovf);
            m->dy = (int16_t)sat_add(m->dy, clip(ry, -512, 512), 9, &m->yovf);
            m->dz = (int8_t)sat_add(m->dz, clip(rz, -16, 16), z_bits(m), NULL);
            return;
        }
    }
}

static void mouse_reply(struct ps2_mouse *m, const uint8_t *bytes, unsigned n)
{
    _Static_assert(sizeof(m->last) >= 5, "room for ACK and a 4-byte packet");
    memcpy(m->last, bytes, n);
    m->last_len = (uint8_t)n;
    dev_reply(&m->port, bytes, n);
}

static void mouse_ack(struct ps2_mouse *m) { mouse_reply(m, (const uint8_t[]){PS2_ACK}, 1); }

static bool valid_rate(uint8_t r)
{
    return r == 10 || r == 20 || r == 40 || r == 60 || r == 80 || r == 100 || r == 200;
}

static void mouse_set_rate(struct ps2_mouse *m, uint8_t r)
{
    m->rate = r;
    m->knock[0] = m->knock[1];
    m->knock[1] = m->knock[2];
    m->knock[2] = r;
    /* The IntelliMouse knock sequences: 200, 100, 80 for the wheel, then 200, 200, 80 for
     * the Explorer's extra buttons (only answered by a mouse already in wheel mode). */
    uint8_t id = m->id;
    if (m->knock[0] == 200 && m->knock[1] == 100 && m->knock[2] == 80 && m->id == 0)
        id = 3;
    else if (m->knock[0] == 200 && m->knock[1] == 200 && m->knock[2] == 80 && m->id == 3)
        id = 4;
    if (id != m->id) {
        m->id = id;
        mouse_clear_counters(m); /* Z counted for the old packet format may not fit */
    }
}

static void mouse_command(struct ps2_mouse *m, uint8_t cmd)
{
    struct ps2_dev *d = &m->port;
    if (cmd != 0xFE)
        q_drop_unstarted(&d->q);
    switch (cmd) {
    case 0xE6: /* scaling 1:1 */
    case 0xE7: /* scaling 2:1 */
        m->scale21 = cmd == 0xE7;
        mouse_ack(m);
        return;
    case 0xE8: /* resolution */
    case 0xF3: /* sample rate */
        m->param_for = cmd;
        mouse_ack(m);
        return;
    case 0xE9: { /* status request */
        uint8_t s = (uint8_t)((m->remote ? 0x40 : 0) | (m->reporting ? 0x20 : 0) |
                              (m->scale21 ? 0x10 : 0) | (m->buttons & PS2_MOUSE_LEFT ? 0x04 : 0) |
                              (m->buttons & PS2_MOUSE_MIDDLE ? 0x02 : 0) |
                              (m->buttons & PS2_MOUSE_RIGHT ? 0x01 : 0));
        mouse_reply(m, (const uint8_t[]){PS2_ACK, s, m->resolution, m->rate}, 4);
        return;
    }
    case 0xEA: /* stream mode */
    case 0xF0: /* remote mode */
        m->remote = cmd == 0xF0;
        mouse_clear_counters(m);
        mouse_ack(m);
        return;
    case 0xEB: { /* read data: a packet whatever the mode, unscaled */
        uint8_t p[5] = {PS2_ACK};
        unsigned n = mouse_packet(m, false, p + 1);
        mouse_reply(m, p, n + 1);
        return;
    }
    case 0xEC: /* reset wrap mode */
        m->wrap = false;
        mouse_ack(m);
        return;
    case 0xEE: /* wrap mode */
        m->wrap = true;
        mouse_clear_counters(m);
        mouse_ack(m);
        return;
    case 0xF2:
        mouse_reply(m, (const uint8_t[]){PS2_ACK, m->id}, 2);
        return;
    case 0xF4:
    case 0xF5:
        m->reporting = cmd == 0xF4;
        mouse_clear_counters(m);
        m->reported = m->buttons;
        mouse_ack(m);
        return;
    case 0xF6:
        mouse_defaults(m);
        mouse_ack(m);
        return;
    case 0xFE: /* resend: the last packet or reply */
        if (m->last_len)
            dev_reply(d, m->last, m->last_len);
        return;
    case 0xFF:
        mouse_defaults(m);
        m->wrap = false;
        m->id = 0;
        memset(m->knock, 0, sizeof(m->knock));
        mouse_reply(m, (const uint8_t[]){PS2_ACK, PS2_BAT_OK, 0x00}, 3);
        return;
    default:
        mouse_reply(m, (const uint8_t[]){PS2_RESEND}, 1);
        return;
    }
}

static void mouse_write(struct ps2_dev *d, uint8_t b)
{
    struct ps2_mouse *m = mouse_of(d);
    if (m->wrap && b != 0xEC && b != 0xFF) {
        mouse_reply(m, &b, 1); /* wrap mode echoes everything else */
        return;
    }
    if (m->param_for) {
        uint8_t cmd = m->param_for;
        m->param_for = 0;
        if (cmd == 0xF3) {
            if (valid_rate(b)) {
                mouse_set_rate(m, b);
                mouse_ack(m);
            } else {
                mouse_reply(m, (const uint8_t[]){PS2_RESEND}, 1);
            }
        } else {
            if (b <= 3) {
                m->resolution = b;
                mouse_clear_counters(m);
                mouse_ack(m);
            } else {
                mouse_reply(m, (const uint8_t[]){PS2_RESEND}, 1);
            }
        }
        return;
    }
    mouse_command(m, b);
}

static void mouse_taken(struct ps2_dev *d, uint8_t b)
{
    (void)b;
    mouse_flush(mouse_of(d)); /* room again: movement counted meanwhile goes out */
}

static const struct ps2_dev_ops mouse_port_ops = {mouse_write, mouse_taken};

static void mouse_reset(void *opaque)
{
    struct ps2_mouse *m = opaque;
    q_reset(&m->port.q);
    mouse_defaults(m);
    m->wrap = false;
    m->id = 0;
    memset(m->knock, 0, sizeof(m->knock));
    m->buttons = m->reported = 0;
    m->last_len = 0;
}

static void mouse_save(const void *opaque, struct state_writer *w)
{
    const struct ps2_mouse *m = opaque;
    q_save(&m->port.q, w);
    sw_u8(w, m->rate);
    sw_u8(w, m->resolution);
    sw_u8(w, (uint8_t)(m->scale21 | m->remote << 1 | m->wrap << 2 | m->reporting << 3 |
                       m->xovf << 4 | m->yovf << 5));
    sw_u8(w, m->id);
    sw_u8(w, m->param_for);
    sw_bytes(w, m->knock, 3);
    sw_u8(w, m->buttons);
    sw_u8(w, m->reported);
    sw_u16(w, (uint16_t)m->dx);
    sw_u16(w, (uint16_t)m->dy);
    sw_u8(w, (uint8_t)m->dz);
    sw_u8(w, m->last_len);
    sw_bytes(w, m->last, sizeof(m->last));
}

static int mouse_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct ps2_mouse *m = opaque;
    if (version != 1)
        return -1;
    struct ps2_queue q;
    if (q_load(&q, r))
        return -1;
    uint8_t rate = sr_u8(r), res = sr_u8(r), flags = sr_u8(r), id = sr_u8(r);
    uint8_t param_for = sr_u8(r), knock[3];
    sr_bytes(r, knock, 3);
    uint8_t buttons = sr_u8(r), reported = sr_u8(r);
    int16_t dx = (int16_t)sr_u16(r), dy = (int16_t)sr_u16(r);
    int8_t dz = (int8_t)sr_u8(r);
    uint8_t last_len = sr_u8(r), last[sizeof(m->last)];
    sr_bytes(r, last, sizeof(last));
    int zlo = id == 4 ? -8 : -128, zhi = id == 4 ? 7 : 127;
    if (r->error || res > 3 || flags > 0x3F || (id != 0 && id != 3 && id != 4) ||
        (param_for != 0 && param_for != 0xF3 && param_for != 0xE8) || buttons > 0x1F ||
        reported > 0x1F || dx < -256 || dx > 255 || dy < -256 || dy > 255 || dz < zlo ||
        dz > zhi || last_len > sizeof(last))
        return -1;
    m->port.q = q;
    m->rate = rate;
    m->resolution = res;
    m->scale21 = flags & 1;
    m->remote = flags & 2;
    m->wrap = flags & 4;
    m->reporting = flags & 8;
    m->xovf = flags & 16;
    m->yovf = flags & 32;
    m->id = id;
    m->param_for = param_for;
    memcpy(m->knock, knock, 3);
    m->buttons = buttons;
    m->reported = reported;
    m->dx = dx;
    m->dy = dy;
    m->dz = dz;
    m->last_len = last_len;
    memcpy(m->last, last, sizeof(last));
    dev_notify(&m->port);
    return 0;
}

static const struct device_ops mouse_device_ops = {
    .name = "ps2-mouse",
    .state_version = 1,
    .reset = mouse_reset,
    .save = mouse_save,
    .load = mouse_load,
};

void ps2_mouse_init(struct ps2_mouse *m)
{
    memset(m, 0, sizeof(*m));
    m->dev = (struct device){&mouse_device_ops, m};
    m->port.ops = &mouse_port_ops;
    mouse_reset(m);
}
