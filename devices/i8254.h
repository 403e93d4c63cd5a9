/* An Intel 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz, and the
 * PC's port 0x61 (system control port B) whose low bits gate counter 2 and the speaker.
 *
 * Nothing ticks. Each counter keeps a segment: the CLK pulse at which its counting element
 * (CE) held a known value, the count in use, and whether the gate lets it count. The CE and
 * OUT at any later pulse follow from the mode in closed form; guest accesses, gate changes and
 * the control word start new segments. Pulse k of the input clock happens at virtual time
 * ceil(k * 1e9 / 1193182) ns. Counter 0's OUT drives `irq0`; a vtimer is armed for its next
 * edge only (twice a period in modes 2 and 3, once or twice for the one-shot modes).
 *
 * All six modes (6 and 7 are 2 and 3), binary and BCD counting (a count with non-decimal
 * digits counts down as the chip's decade counters would), LSB/MSB/both access with separate
 * read and write flip-flops, the counter latch, and the read-back command with status. Datasheet
 * timings: a written count is loaded on the next CLK pulse, which does not decrement it, so mode
 * 0's OUT rises N + 1 pulses after the count is written; gate triggers load on the next pulse.
 *
 * Port 0x61: bits 0-3 read back as written (0 gates counter 2, 1 enables the speaker data),
 * bit 4 toggles every 18 input pulses (the refresh request a BIOS programs counter 1 for,
 * about 15.08 us), bit 5 is counter 2's OUT, bits 6-7 (NMI sources) read 0. */
#ifndef BT86_I8254_H
#define BT86_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"

#define I8254_BASE 0x40
#define I8254_PORT61 0x61
#define I8254_HZ 1193182u
#define I8254_REFRESH_TICKS 18

/* Port 0x61 bits */
#define I8254_P61_GATE2 0x01
#define I8254_P61_SPEAKER 0x02
#define I8254_P61_REFRESH 0x10
#define I8254_P61_OUT2 0x20

/* What a counter does from CLK pulse `start` on. */
struct i8254_seg {
    uint64_t start;   /* the pulse at which CE = ce (a load, a resume, or a rebase) */
    uint16_t ce;      /* modes 2 and 3: the count of the cycle */
    uint32_t phase;   /* modes 2 and 3: position within the cycle at `start` */
    bool out;         /* modes 0 and 1: terminal count already reached */
    uint8_t strobe;   /* modes 4 and 5: 1 = still due, 2 = OUT low during pulse `start` */
    bool counting;    /* the gate lets CE count (modes 1 and 5 always count) */
};

struct i8254_counter {
    uint8_t ctrl;     /* RW1 RW0 M2 M1 M0 BCD of the last control word (status bits 5-0) */
    uint16_t cr;      /* count register */
    uint8_t cr_lsb;   /* first byte of a two-byte count */
    bool wr_msb;      /* write flip-flop: the next byte written is the MSB */
    bool rd_msb;      /* read flip-flop */
    bool count_written; /* since the control word */
    bool gate;
    bool ol_latched;
    bool status_latched;
    uint16_t ol;
    uint8_t status;
    uint64_t null_until; /* the pulse at which CR reaches CE (null count before it) */
    bool active;      /* a count has reached CE since the control word: `cur` is valid */
    bool next_pending; /* modes 2 and 3: a new count takes over at `next.start` */
    struct i8254_seg cur, next;
    uint16_t hold_ce; /* CE and OUT before cur.start, or while not active */
    bool hold_out;
};

struct i8254 {
    struct device dev;
    struct irq_line irq0; /* counter 0's OUT; the machine wires it to IRQ0 */
    struct vclock *clock;
    struct vtimer timer;  /* counter 0's next OUT change */
    struct i8254_counter c[3];
    uint8_t port61;       /* bits 0-3 as last written */
    bool out0;            /* level last driven on irq0 */
};

/* Registers 0x40-0x43. Gates 0 and 1 are tied high as on a PC; gate 2 follows port 0x61 bit 0
 * (low after reset). Returns 0 or -1. */
int i8254_attach(struct i8254 *p, struct ioport_bus *bus, struct vclock *clock);
/* Registers port 0x61, kept apart so a chipset model could own it instead. */
int i8254_attach_port61(struct i8254 *p, struct ioport_bus *bus);

/* GATE input of `counter` (0-2). */
void i8254_set_gate(struct i8254 *p, unsigned counter, bool level);
/* OUT of `counter` now. */
bool i8254_get_out(struct i8254 *p, unsigned counter);
/* What the speaker is driven with: counter 2's OUT gated by port 0x61 bit 1. */
bool i8254_speaker(struct i8254 *p);

/* Input clock pulses up to virtual time `ns`, and the time of pulse `tick`. */
uint64_t i8254_ticks(uint64_t ns);
uint64_t i8254_tick_time(uint64_t tick);

#endif
