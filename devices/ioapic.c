#include "devices/ioapic.h"

#include <string.h>

#include "mmu/memmap.h"

static unsigned entry_mode(uint32_t lo) { return (lo & APIC_DM_MASK) >> APIC_DM_SHIFT; }

/* Only fixed and lowest-priority entries are level-triggered in effect; the datasheet
 * requires edge for NMI, SMI, INIT and ExtINT. */
static bool level_entry(uint32_t lo)
{
    unsigned dm = entry_mode(lo);
    return (lo & APIC_TRIGGER_LEVEL) && (dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST);
}

static bool line_up(const struct ioapic *io, unsigned pin) { return io->lines >> pin & 1; }

static bool send(struct ioapic *io, unsigned pin)
{
    uint32_t lo = io->redir_lo[pin];
    unsigned dm = entry_mode(lo);
    if (dm == 3 || dm == APIC_DM_STARTUP) /* reserved modes: nothing goes out */
        return false;
    struct apic_msg m = {
        .vector = (uint8_t)(lo & APIC_VECTOR_MASK),
        .delivery = (uint8_t)dm,
        .dest = (uint8_t)(io->redir_hi[pin] >> 24),
        .logical = lo & APIC_ICR_DEST_LOGICAL,
        .level = level_entry(lo),
    };
    return io->deliver && io->deliver(io->deliver_opaque, &m);
}

/* A level input: sent while asserted, unmasked and not awaiting its EOI. */
static void service_level(struct ioapic *io, unsigned pin)
{
    uint32_t *lo = &io->redir_lo[pin];
    if (!level_entry(*lo) || !line_up(io, pin) || (*lo & (APIC_LVT_MASKED | APIC_REMOTE_IRR)))
        return;
    if (send(io, pin))
        io->redir_lo[pin] |= APIC_REMOTE_IRR;
}

void ioapic_set_irq(void *opaque, unsigned pin, bool level)
{
    struct ioapic *io = opaque;
    if (pin >= IOAPIC_PINS)
        return;
    bool rising = level && !line_up(io, pin);
    if (level)
        io->lines |= 1u << pin;
    else
        io->lines &= ~(1u << pin);
    uint32_t lo = io->redir_lo[pin];
    if (level_entry(lo))
        service_level(io, pin);
    else if (rising && !(lo & APIC_LVT_MASKED))
        send(io, pin);
}

void ioapic_eoi(void *opaque, uint8_t vector)
{
    struct ioapic *io = opaque;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint32_t *lo = &io->redir_lo[pin];
        if ((*lo & APIC_REMOTE_IRR) && (*lo & APIC_VECTOR_MASK) == vector)
            *lo &= ~APIC_REMOTE_IRR;
    }
    /* Re-send inputs still asserted, and retry ones no local APIC took before. */
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        service_level(io, pin);
}

uint32_t ioapic_reg_read(const struct ioapic *io, uint8_t index)
{
    switch (index) {
    case IOAPIC_REG_ID: return (uint32_t)io->id << 24;
    case IOAPIC_REG_VER: return IOAPIC_VERSION_VALUE;
    case IOAPIC_REG_ARB: return (uint32_t)io->arb << 24;
    default: break;
    }
    if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
        return 0;
    unsigned pin = (unsigned)(index - IOAPIC_REG_REDTBL) >> 1;
    if (index & 1)
        return io->redir_hi[pin];
    uint32_t lo = io->redir_lo[pin];
    /* Send pending: an asserted level input that no local APIC has accepted yet. */
    if (level_entry(lo) && line_up(io, pin) && !(lo & (APIC_LVT_MASKED | APIC_REMOTE_IRR)))
        lo |= APIC_DELIVERY_PENDING;
    return lo;
}

void ioapic_reg_write(struct ioapic *io, uint8_t index, uint32_t value)
{
    if (index == IOAPIC_REG_ID) {
        io->id = (value >> 24) & 0x0F;
        io->arb = io->id;
        return;
    }
    if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
        return; /* version, arbitration and reserved indices are read-only */
    unsigned pin = (unsigned)(index - IOAPIC_REG_REDTBL) >> 1;
    if (index & 1) {
        io->redir_hi[pin] = value & 0xFF000000u;
        return;
    }
    uint32_t lo = (value & IOAPIC_REDIR_WMASK) | (io->redir_lo[pin] & APIC_REMOTE_IRR);
    /* Remote IRR means nothing for an edge entry; switching to edge clears it, which is how
     * OSes unstick a lost EOI on an 82093AA (it has no EOI register). */
    if (!level_entry(lo))
        lo &= ~APIC_REMOTE_IRR;
    io->redir_lo[pin] = lo;
    service_level(io, pin); /* e.g. unmasked while the line is asserted */
}

/* IOREGSEL takes any width (its low byte matters); IOWIN is a dword register, so narrower
 * writes to it are ignored. Everything else in the window reads 0. */
uint32_t ioapic_mmio_read(void *opaque, uint32_t offset, unsigned size)
{
    struct ioapic *io = opaque;
    offset &= IOAPIC_MMIO_SIZE - 1;
    uint32_t v;
    if (offset < IOAPIC_IOREGSEL + 4)
        v = io->ioregsel;
    else if (offset >= IOAPIC_IOWIN && offset < IOAPIC_IOWIN + 4)
        v = ioapic_reg_read(io, io->ioregsel);
    else
        return 0;
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void ioapic_mmio_write(void *opaque, uint32_t offset, uint32_t value, unsigned size)
{
    struct ioapic *io = opaque;
    offset &= IOAPIC_MMIO_SIZE - 1;
    if (offset == IOAPIC_IOREGSEL)
        io->ioregsel = (uint8_t)value;
    else if (offset == IOAPIC_IOWIN && size == 4)
        ioapic_reg_write(io, io->ioregsel, value);
}

const struct mmio_ops ioapic_mmio_ops = {ioapic_mmio_read, ioapic_mmio_write};

/* ---- device ---- */

static void ioapic_reset(void *opaque)
{
    struct ioapic *io = opaque;
    io->id = io->arb = io->reset_id;
    io->ioregsel = 0;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        io->redir_lo[pin] = APIC_LVT_MASKED;
        io->redir_hi[pin] = 0;
    }
    /* `lines` is the wires' state, which a reset of this chip does not change. */
}

static void ioapic_save(const void *opaque, struct state_writer *w)
{
    const struct ioapic *io = opaque;
    sw_u8(w, io->id);
    sw_u8(w, io->arb);
    sw_u8(w, io->ioregsel);
    sw_u32(w, io->lines);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        sw_u32(w, io->redir_lo[pin]);
        sw_u32(w, io->redir_hi[pin]);
    }
}

static int ioapic_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct ioapic *io = opaque;
    if (version != 1)
        return -1;
    uint8_t id = sr_u8(r), arb = sr_u8(r), sel = sr_u8(r);
    uint32_t lines = sr_u32(r);
    uint32_t lo[IOAPIC_PINS], hi[IOAPIC_PINS];
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        lo[pin] = sr_u32(r);
        hi[pin] = sr_u32(r);
        if ((lo[pin] & ~(IOAPIC_REDIR_WMASK | APIC_REMOTE_IRR)) || (hi[pin] & 0x00FFFFFFu))
            return -1;
    }
    if (r->error || id > 0x0F || arb > 0x0F || (lines >> IOAPIC_PINS))
        return -1;
    io->id = id;
    io->arb = arb;
    io->ioregsel = sel;
    io->lines = lines;
    memcpy(io->redir_lo, lo, sizeof(lo));
    memcpy(io->redir_hi, hi, sizeof(hi));
    return 0;
}

static const struct device_ops ioapic_device_ops = {
    .name = "ioapic",
    .state_version = 1,
    .reset = ioapic_reset,
    .save = ioapic_save,
    .load = ioapic_load,
};

void ioapic_init(struct ioapic *io, uint8_t id)
{
    memset(io, 0, sizeof(*io));
    io->dev = (struct device){&ioapic_device_ops, io};
    io->reset_id = id & 0x0F;
    ioapic_reset(io);
}

int ioapic_attach_mmio(struct ioapic *io, struct memmap *m, uint32_t base)
{
    return memmap_add_mmio(m, base, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, io);
}
