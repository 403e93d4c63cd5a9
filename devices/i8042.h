/* The PC/AT keyboard controller (Intel 8042 with the IBM/PS/2 firmware), ports 0x60 (data)
 * and 0x64 (status on read, command on write), with a PS/2 keyboard on its first port and a
 * PS/2 mouse on the auxiliary port (devices/ps2.h).
 *
 * It has one output buffer. A controller reply (or a D2/D3 byte) is put there at once,
 * replacing whatever the guest had not read, as the chip does; otherwise the buffer is
 * refilled from the keyboard, then the mouse, each only while its interface is enabled in
 * the command byte (the device keeps its bytes meanwhile). Keyboard bytes are translated
 * from set 2 to set 1 when the command byte says so (F0 folds into bit 7 of the next byte).
 * OBF drives IRQ1 for keyboard data and IRQ12 for aux data, as levels; the edge a PIC needs
 * between two bytes comes from the line dropping when port 0x60 is read. Commands act at
 * once, so IBF always reads 0. Undefined commands are ignored.
 *
 * Pacing: given a clock, a device byte is not loaded sooner than I8042_BYTE_NS after the
 * guest read the previous one — roughly a PS/2 byte time — so an ISR that reads port 0x60
 * twice (DOS handlers chaining to the BIOS do) sees the same byte, as on real hardware.
 * Without a clock the next byte is loaded at once.
 *
 * The output port's A20 gate (bit 1) and CPU reset (bit 0) leave through callbacks: a20 is
 * reported on every change relative to the reset state (gate enabled), also when reset or
 * load change it; reset_request is a pulse (D1 with bit 0 clear, or a pulse command with bit
 * 0 clear, e.g. 0xFE) and runs after the controller's own state is updated, so it may reset
 * the controller. */
#ifndef BT86_I8042_H
#define BT86_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/ps2.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_BYTE_NS 1000000ull /* 11 bits at about 11 kHz */

/* Status register */
#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08     /* last write went to port 0x64 */
#define I8042_STR_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */
#define I8042_STR_AUXDATA 0x20 /* the output buffer holds aux data */
#define I8042_STR_TIMEOUT 0x40
#define I8042_STR_PARITY 0x80

/* Command byte (controller RAM byte 0) */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_IGNLOCK 0x08
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* Output port */
#define I8042_OUT_RESET 0x01 /* low resets the CPU */
#define I8042_OUT_A20 0x02
#define I8042_OUT_OBF 0x10    /* IRQ1 */
#define I8042_OUT_AUXOBF 0x20 /* IRQ12 */

#define I8042_INPUT_PORT 0xB0 /* keyboard not inhibited, no manufacturing jumper, 512 KiB */
#define I8042_RESET_CTR (I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE)

struct i8042 {
    struct device dev;
    struct irq_line irq_kbd; /* IRQ1 */
    struct irq_line irq_aux; /* IRQ12 */
    void (*a20)(void *opaque, bool enabled);
    void (*reset_request)(void *opaque);
    void *cb_opaque;

    struct vclock *clock; /* may be NULL: no pacing */
    struct vtimer timer;
    struct ps2_dev *kbd; /* may be NULL: nothing plugged in */
    struct ps2_dev *aux;

    /* guest-visible state */
    uint8_t ram[32];  /* byte 0 is the command byte */
    uint8_t status;   /* SYS, CMD, TIMEOUT, PARITY; OBF and AUXDATA follow `out_*` */
    uint8_t outport;  /* bits 4-5 follow `out_*` */
    uint8_t out;      /* the output buffer; reads stale once taken, like the chip */
    bool out_full;
    bool out_aux;
    uint8_t pending;  /* command whose data byte is expected on port 0x60, or 0 */
    bool xlate_break;  /* F0 from the keyboard seen, its code not yet */
    uint64_t ready_at; /* no device byte before this (virtual ns) */

    /* levels last driven */
    bool irq_kbd_level, irq_aux_level, a20_level;
    bool in_refill;
};

/* Registers ports 0x60 and 0x64 and plugs in the devices (either may be NULL). The keyboard
 * and mouse keep their own state and must be initialised first. Callbacks and IRQ lines are
 * set by the caller afterwards. */
int i8042_attach(struct i8042 *c, struct ioport_bus *bus, struct vclock *clock,
                 struct ps2_kbd *kbd, struct ps2_mouse *mouse);

#endif
