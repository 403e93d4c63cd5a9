#include "devices/pci.h"

#include <string.h>

void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint8_t revision,
                       uint32_t class_code, uint8_t header_type)
{
    memset(f->config, 0, sizeof(f->config));
    memset(f->wmask, 0, sizeof(f->wmask));
    memset(f->w1c, 0, sizeof(f->w1c));
    memset(f->bar, 0, sizeof(f->bar));
    pci_set16(f, PCI_VENDOR_ID, vendor);
    pci_set16(f, PCI_DEVICE_ID, device);
    f->config[PCI_REVISION] = revision;
    f->config[PCI_CLASS_PROG] = (uint8_t)class_code;
    f->config[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
    f->config[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
    f->config[PCI_HEADER_TYPE] = header_type;
    /* I/O, memory, bus master, parity and SERR enables; the interrupt line. */
    f->wmask[PCI_COMMAND] = 0x47;
    f->wmask[PCI_COMMAND + 1] = 0x01;
    f->w1c[PCI_STATUS + 1] = 0xF9; /* the error bits of the status register */
    f->wmask[PCI_INTERRUPT_LINE] = 0xFF;
    f->wmask[0x0C] = 0xFF; /* cache line size */
    f->wmask[0x0D] = 0xFF; /* latency timer */
}

void pci_set_bar(struct pci_function *f, unsigned n, uint32_t size, bool io, bool prefetch)
{
    if (n >= 6)
        return;
    f->bar[n] = (struct pci_bar){size, io, prefetch};
    uint32_t low = io ? 0x1 : (prefetch ? 0x8 : 0x0);
    pci_set32(f, PCI_BAR0 + 4 * n, low);
    /* Only the address bits above the size are writable: that is how the guest sizes it. */
    uint32_t mask = size ? ~(size - 1) & (io ? 0xFFFFFFFCu : 0xFFFFFFF0u) : 0;
    for (unsigned k = 0; k < 4; k++)
        f->wmask[PCI_BAR0 + 4 * n + k] = (uint8_t)(mask >> (8 * k));
}

uint32_t pci_bar_address(const struct pci_function *f, unsigned n)
{
    if (n >= 6 || !f->bar[n].size)
        return 0;
    uint16_t cmd = pci_get16(f, PCI_COMMAND);
    if (!(cmd & (f->bar[n].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
        return 0;
    uint32_t v = pci_get32(f, PCI_BAR0 + 4 * n);
    return v & (f->bar[n].io ? 0xFFFFFFFCu : 0xFFFFFFF0u);
}

uint32_t pci_config_read(const struct pci_function *f, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned k = 0; k < size && off + k < 256; k++)
        v |= (uint32_t)f->config[off + k] << (8 * k);
    return v;
}

void pci_config_write(struct pci_function *f, unsigned off, uint32_t v, unsigned size)
{
    for (unsigned k = 0; k < size && off + k < 256; k++) {
        uint8_t b = (uint8_t)(v >> (8 * k));
        unsigned o = off + k;
        f->config[o] = (uint8_t)((f->config[o] & ~f->wmask[o]) | (b & f->wmask[o]));
        f->config[o] &= (uint8_t)~(b & f->w1c[o]);
    }
    if (f->config_written)
        f->config_written(f, off, size);
}

int pci_bus_add(struct pci_bus *b, struct pci_function *f, uint8_t devfn)
{
    if (b->fn[devfn])
        return -1;
    f->devfn = devfn;
    b->fn[devfn] = f;
    return 0;
}

uint32_t pci_bus_read(struct pci_bus *b, uint8_t devfn, unsigned off, unsigned size)
{
    const struct pci_function *f = b->fn[devfn];
    if (!f || off + size > 256)
        return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    return pci_config_read(f, off, size);
}

void pci_bus_write(struct pci_bus *b, uint8_t devfn, unsigned off, uint32_t v, unsigned size)
{
    struct pci_function *f = b->fn[devfn];
    if (f && off + size <= 256)
        pci_config_write(f, off, v, size);
}
