/* PCI configuration space of one function, and bus 0 as a table of functions.
 *
 * A function keeps its 256-byte header in `config`, with `wmask` saying which bits the guest
 * may write and `w1c` which are write-one-to-clear (status bits). BARs are described once with
 * pci_set_bar(); the generic write logic keeps their size alignment, and `config_written` tells
 * the device so it can move its I/O or memory window. Configuration mechanism #1 (ports
 * 0xCF8/0xCFC) is the host bridge's business; it calls pci_bus_read/write. */
#ifndef BT86_PCI_H
#define BT86_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2C
#define PCI_ROM_ADDRESS 0x30
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

struct pci_function;

struct pci_bar {
    uint32_t size;   /* power of two, 0 = unused */
    bool io;
    bool prefetch;
};

struct pci_function {
    uint8_t config[256];
    uint8_t wmask[256];
    uint8_t w1c[256];
    struct pci_bar bar[6];
    uint8_t devfn;
    /* After the guest wrote bytes [off, off + size): move windows, react to commands. */
    void (*config_written)(struct pci_function *f, unsigned off, unsigned size);
    void *opaque;
};

/* Header type 0 with the given identity; command and the interrupt line writable. */
void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint8_t revision,
                       uint32_t class_code, uint8_t header_type);
void pci_set_bar(struct pci_function *f, unsigned n, uint32_t size, bool io, bool prefetch);
/* The decoded base of BAR n if the matching command enable is on and it is programmed, else 0. */
uint32_t pci_bar_address(const struct pci_function *f, unsigned n);

uint32_t pci_config_read(const struct pci_function *f, unsigned off, unsigned size);
void pci_config_write(struct pci_function *f, unsigned off, uint32_t v, unsigned size);

static inline uint16_t pci_get16(const struct pci_function *f, unsigned off)
{
    return (uint16_t)(f->config[off] | f->config[off + 1] << 8);
}
static inline void pci_set16(struct pci_function *f, unsigned off, uint16_t v)
{
    f->config[off] = (uint8_t)v;
    f->config[off + 1] = (uint8_t)(v >> 8);
}
static inline uint32_t pci_get32(const struct pci_function *f, unsigned off)
{
    return pci_get16(f, off) | (uint32_t)pci_get16(f, off + 2) << 16;
}
static inline void pci_set32(struct pci_function *f, unsigned off, uint32_t v)
{
    pci_set16(f, off, (uint16_t)v);
    pci_set16(f, off + 2, (uint16_t)(v >> 16));
}

struct pci_bus {
    struct pci_function *fn[256]; /* by devfn, bus 0 */
};

int pci_bus_add(struct pci_bus *b, struct pci_function *f, uint8_t devfn);
/* `off` is the register offset within the function's space, size 1/2/4 and naturally
 * aligned; an absent function reads all-ones and ignores writes. */
uint32_t pci_bus_read(struct pci_bus *b, uint8_t devfn, unsigned off, unsigned size);
void pci_bus_write(struct pci_bus *b, uint8_t devfn, unsigned off, uint32_t v, unsigned size);

#endif
