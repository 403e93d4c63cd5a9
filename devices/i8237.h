/* The PC/AT's two Intel 8237A DMA controllers and their page registers.
 *
 * Controller 1 (channels 0-3, 8-bit) at ports 0x00-0x0F; controller 2 (channels 4-7, 16-bit)
 * at 0xC0-0xDF, its register i at 0xC0 + 2*i (A0 is not decoded). Page registers at
 * 0x81-0x8F: 0x87/0x83/0x81/0x82 for channels 0-3, 0x8F/0x8B/0x89/0x8A for channels 4-7; the
 * others are spare latches. Port 0x80 is a spare page register on the AT but belongs to the
 * POST-code device here (devices/testdev.c), so it is not claimed.
 *
 * 8-bit channels address page:address (64 KiB wrap within the page); 16-bit channels move
 * words, their address and count registers count words and the physical address is
 * (page & 0xFE) << 16 | address << 1 (128 KiB wrap). Addresses are 24 bits: ISA DMA never
 * leaves the low 16 MiB. Every byte goes through memmap_copy_to/from.
 *
 * Devices pull data with i8237_transfer(); the 8237 does what its mode register says (write
 * = into memory, read = out of memory, verify = count only). Not modelled: memory-to-memory
 * transfers, the command register's timing and polarity bits, and the cascade of controller 1
 * through channel 4 (channels 0-3 work whether or not channel 4 is unmasked, as in QEMU, so
 * a kernel started without a BIOS can use them). */
#ifndef BT86_I8237_H
#define BT86_I8237_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

#define I8237_CHANNELS 8

/* Mode register (write to 0x0B / 0xD6) */
#define I8237_MODE_TYPE_MASK 0x0C
#define I8237_MODE_VERIFY 0x00
#define I8237_MODE_WRITE 0x04 /* device -> memory */
#define I8237_MODE_READ 0x08  /* memory -> device */
#define I8237_MODE_AUTOINIT 0x10
#define I8237_MODE_DECREMENT 0x20
#define I8237_MODE_SEL_MASK 0xC0
#define I8237_MODE_DEMAND 0x00
#define I8237_MODE_SINGLE 0x40
#define I8237_MODE_BLOCK 0x80
#define I8237_MODE_CASCADE 0xC0

#define I8237_CMD_DISABLE 0x04 /* command register: controller disable */

/* Which way a device wants its data to go. */
enum dma_dir {
    DMA_TO_MEMORY,   /* the device produces (disk read): needs a "write" mode */
    DMA_FROM_MEMORY, /* the device consumes (disk write): needs a "read" mode */
};

struct i8237_channel {
    uint16_t base_addr, base_count; /* what the guest programmed (auto-init reloads them) */
    uint16_t cur_addr, cur_count;   /* count is "units left minus one": 0xFFFF after TC */
    uint8_t mode;                   /* mode register without the channel-select bits */
};

struct i8237_chip {
    struct i8237_channel ch[4];
    uint8_t command;
    uint8_t status;   /* TC bits 0-3 (cleared by reading); request bits come from `request` */
    uint8_t request;  /* software DREQ, bits 0-3 */
    uint8_t mask;     /* bits 0-3, set = channel disabled */
    uint8_t temp;
    bool flipflop;    /* false: next byte is the low one */
};

struct i8237 {
    struct device dev;
    struct memmap *mem;
    struct i8237_chip chip[2]; /* [0]: channels 0-3, [1]: channels 4-7 */
    uint8_t page[16];          /* page registers by port & 0x0F (index 0 is never written) */
};

/* Registers ports 0x00-0x0F, 0x81-0x8F and 0xC0-0xDF. Returns 0 or -1 (a port is taken). */
int i8237_attach(struct i8237 *d, struct ioport_bus *bus, struct memmap *mem);

/* The device on `channel` (0-7) asks to move up to `len` bytes between `buf` and memory.
 * Returns the bytes moved: fewer than `len` when the channel reaches terminal count (which
 * ends the transfer; *tc is then true), and 0 when the channel is masked, the controller
 * disabled, the channel in cascade mode, or the mode's transfer type does not fit `dir`
 * (verify fits DMA_TO_MEMORY only: the count runs and memory is untouched). 16-bit channels
 * move whole words: an odd last byte is left. At TC the channel reloads its base address and
 * count if auto-init is on, and masks itself otherwise. `tc` may be NULL. */
size_t i8237_transfer(struct i8237 *d, unsigned channel, void *buf, size_t len, enum dma_dir dir,
                      bool *tc);

/* Units the channel will still move before TC (current count + 1), for devices that size
 * their work to it. */
uint32_t i8237_remaining(const struct i8237 *d, unsigned channel);

#endif
