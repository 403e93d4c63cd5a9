#include "devices/piix3.h"

#include <string.h>

/* ISA IRQs a PIRQ may be steered to; the same set is the one whose trigger mode can change. */
#define ROUTABLE_IRQS PIIX3_ELCR_MASK

int piix3_pirq_irq(const struct piix3 *p, unsigned pirq)
{
    if (pirq > 3)
        return -1;
    uint8_t r = p->fn.config[PIIX3_PIRQRC + pirq];
    unsigned irq = r & 0x0F;
    if ((r & PIIX3_PIRQ_DISABLE) || !(ROUTABLE_IRQS & (1u << irq)))
        return -1;
    return (int)irq;
}

/* Tell the machine whatever differs from what it was last told. */
static void announce(struct piix3 *p)
{
    for (unsigned i = 0; i < 4; i++) {
        int irq = piix3_pirq_irq(p, i);
        if (irq != p->announced[i]) {
            p->announced[i] = (int8_t)irq;
            if (p->cb.pirq_routed)
                p->cb.pirq_routed(p->cb.opaque, i, irq);
        }
    }
    if (p->elcr != p->announced_elcr) {
        p->announced_elcr = p->elcr;
        if (p->cb.elcr_changed)
            p->cb.elcr_changed(p->cb.opaque, p->elcr);
    }
    bool a20 = piix3_a20(p);
    if (a20 != p->announced_a20) {
        p->announced_a20 = a20;
        if (p->cb.a20_changed)
            p->cb.a20_changed(p->cb.opaque, a20);
    }
}

static void isa_config_written(struct pci_function *f, unsigned off, unsigned size)
{
    if (off < PIIX3_PIRQRC + 4 && off + size > PIIX3_PIRQRC)
        announce(f->opaque);
}

static void set_reg(struct pci_function *f, unsigned off, uint8_t value, uint8_t wmask)
{
    f->config[off] = value;
    f->wmask[off] = wmask;
}

/* Power-on configuration space (82371SB datasheet defaults). Registers whose function is not
 * modelled (ISA timing, X-Bus decode, SMI, DMA steering) are kept as plain storage. */
static void init_config(struct pci_function *f)
{
    pci_function_init(f, 0x8086, 0x7000, 0x00, 0x060100, 0x80); /* multi-function: IDE at .1 */
    pci_set16(f, PCI_COMMAND, 0x0007);
    pci_set16(f, PCI_STATUS, 0x0200);
    f->wmask[PCI_COMMAND] = 0x48;     /* special cycles, parity: I/O, memory, master fixed on */
    f->wmask[PCI_COMMAND + 1] = 0x01;
    f->wmask[PCI_INTERRUPT_LINE] = 0; /* the bridge itself raises no INTx */
    pci_set16(f, PCI_SUBSYS_VENDOR, 0x1AF4);
    pci_set16(f, PCI_SUBSYS_VENDOR + 2, 0x1100);

    set_reg(f, 0x4C, 0x4D, 0xFF); /* IORT */
    set_reg(f, 0x4E, 0x03, 0xFF); /* XBCS */
    set_reg(f, 0x4F, 0x00, 0x03);
    for (unsigned i = 0; i < 4; i++)
        set_reg(f, PIIX3_PIRQRC + i, PIIX3_PIRQ_DISABLE, 0x8F); /* bits 6:4 reserved */
    set_reg(f, 0x69, 0x02, 0xFE); /* TOM */
    set_reg(f, 0x6A, 0x00, 0xFF); /* MSTAT */
    set_reg(f, 0x6B, 0x00, 0x80);
    set_reg(f, 0x70, 0x80, 0xCF); /* MBIRQ0 */
    set_reg(f, 0x71, 0x80, 0xCF); /* MBIRQ1 */
    set_reg(f, 0x76, 0x0C, 0x8F); /* MBDMA0 */
    set_reg(f, 0x77, 0x0C, 0x8F); /* MBDMA1 */
    set_reg(f, 0x78, 0x02, 0xFF); /* PCSC */
    set_reg(f, 0x79, 0x00, 0xFF);
    set_reg(f, 0x80, 0x00, 0x7F); /* APICBASE */
    set_reg(f, 0x82, 0x00, 0x0F); /* DLC */
    set_reg(f, 0xA0, 0x08, 0x1F); /* SMICNTL */
    set_reg(f, 0xA2, 0x00, 0xFF); /* SMIEN */
    set_reg(f, 0xA3, 0x00, 0x01);
    for (unsigned o = 0xA4; o <= 0xA7; o++)
        set_reg(f, o, 0x00, 0xFF); /* SEE */
    set_reg(f, 0xA8, 0x0F, 0xFF); /* FTMR */
    set_reg(f, 0xAA, 0x00, 0xFF); /* SMIREQ */
    set_reg(f, 0xAB, 0x00, 0x01);
    set_reg(f, 0xAC, 0x00, 0xFF); /* CTLTMR */
    set_reg(f, 0xAE, 0x00, 0xFF); /* CTHTMR */
}

static uint32_t isa_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct piix3 *p = opaque;
    uint32_t v = 0;
    /* A wide access covers consecutive byte registers, as ISA byte cycles. */
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = 0xFF;
        switch ((uint16_t)(port + i)) {
        case PIIX3_ELCR1_PORT: b = (uint8_t)p->elcr; break;
        case PIIX3_ELCR2_PORT: b = (uint8_t)(p->elcr >> 8); break;
        case PIIX3_PORT92: b = p->port92; break;
        case PIIX3_RCR_PORT: b = p->rcr; break;
        }
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void isa_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct piix3 *p = opaque;
    bool reset = false, hard = false;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        switch ((uint16_t)(port + i)) {
        case PIIX3_ELCR1_PORT:
            p->elcr = (uint16_t)(((p->elcr & 0xFF00) | b) & PIIX3_ELCR_MASK);
            break;
        case PIIX3_ELCR2_PORT:
            p->elcr = (uint16_t)(((p->elcr & 0x00FF) | b << 8) & PIIX3_ELCR_MASK);
            break;
        case PIIX3_PORT92:
            /* Fast init fires on the bit's rising edge; software clears it to re-arm. */
            if ((b & PIIX3_PORT92_FAST_INIT) && !(p->port92 & PIIX3_PORT92_FAST_INIT)) {
                reset = true;
                p->reset_port = PIIX3_PORT92;
            }
            p->port92 = b & (PIIX3_PORT92_FAST_INIT | PIIX3_PORT92_A20);
            break;
        case PIIX3_RCR_PORT:
            p->rcr = b & PIIX3_RCR_SRST;
            if (b & PIIX3_RCR_RCPU) {
                reset = true;
                hard = b & PIIX3_RCR_SRST;
                p->reset_port = PIIX3_RCR_PORT;
            }
            break;
        }
    }
    announce(p);
    /* Last: the machine may reset this very device from the callback. */
    if (reset && p->cb.reset_request)
        p->cb.reset_request(p->cb.opaque, hard);
}

static const struct ioport_ops isa_io_ops = {isa_io_read, isa_io_write};

static void isa_reset(void *opaque)
{
    struct piix3 *p = opaque;
    init_config(&p->fn);
    p->elcr = 0;
    p->port92 = 0;
    p->rcr = 0;
    announce(p);
}

static void isa_save(const void *opaque, struct state_writer *w)
{
    const struct piix3 *p = opaque;
    sw_bytes(w, p->fn.config, sizeof(p->fn.config));
    sw_u16(w, p->elcr);
    sw_u8(w, p->port92);
    sw_u8(w, p->rcr);
}

static int isa_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct piix3 *p = opaque;
    if (version != 1)
        return -1;
    uint8_t config[256];
    sr_bytes(r, config, sizeof(config));
    uint16_t elcr = sr_u16(r);
    uint8_t port92 = sr_u8(r), rcr = sr_u8(r);
    if (r->error || (elcr & ~PIIX3_ELCR_MASK) ||
        (port92 & ~(PIIX3_PORT92_FAST_INIT | PIIX3_PORT92_A20)) || (rcr & ~PIIX3_RCR_SRST))
        return -1;
    /* Bits the guest cannot change must be what a fresh bridge has. */
    struct pci_function ref;
    init_config(&ref);
    for (unsigned o = 0; o < 256; o++)
        if ((config[o] ^ ref.config[o]) & ~(ref.wmask[o] | ref.w1c[o]))
            return -1;
    memcpy(p->fn.config, config, sizeof(config));
    p->elcr = elcr;
    p->port92 = port92;
    p->rcr = rcr;
    announce(p); /* restoring is not a guest write: no reset request */
    return 0;
}

static const struct device_ops isa_device_ops = {
    .name = "piix3",
    .state_version = 1,
    .reset = isa_reset,
    .save = isa_save,
    .load = isa_load,
};

int piix3_attach(struct piix3 *p, struct ioport_bus *io, struct pci_bus *bus,
                 const struct piix3_callbacks *cb)
{
    memset(p, 0, sizeof(*p));
    p->dev = (struct device){&isa_device_ops, p};
    if (cb)
        p->cb = *cb;
    for (unsigned i = 0; i < 4; i++)
        p->announced[i] = -1;
    p->fn.config_written = isa_config_written;
    p->fn.opaque = p;
    init_config(&p->fn);
    if (pci_bus_add(bus, &p->fn, PIIX3_DEVFN) != 0)
        return -1;
    if (ioport_register(io, PIIX3_PORT92, 1, &isa_io_ops, p) != 0 ||
        ioport_register(io, PIIX3_ELCR1_PORT, 2, &isa_io_ops, p) != 0 ||
        ioport_register(io, PIIX3_RCR_PORT, 1, &isa_io_ops, p) != 0) {
        bus->fn[PIIX3_DEVFN] = NULL;
        return -1;
    }
    return 0;
}
