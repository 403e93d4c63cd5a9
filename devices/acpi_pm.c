#include "devices/acpi_pm.h"

#include <string.h>

#define TMR_BITS 24
#define TMR_MSB_SHIFT (TMR_BITS - 1) /* TMR_STS follows bit 23 */

/* SMBus host registers (offsets from SMBBA) and status bits. */
#define SMB_HSTSTS 0x00
#define SMB_HSTCNT 0x02
#define SMB_STS_BUSY 0x01
#define SMB_STS_INTR 0x02
#define SMB_STS_DEV_ERR 0x04
#define SMB_STS_BUS_ERR 0x08
#define SMB_STS_FAILED 0x10
#define SMB_STS_W1C 0x1E
#define SMB_CNT_KILL 0x02
#define SMB_CNT_START 0x40

#define DEVACTB_APMC_EN_BYTE (ACPI_PM_DEVACTB + 3)
#define DEVACTB_APMC_EN_BIT 0x02 /* bit 25 */

/* ---- the PM timer ---- */

/* floor(ns * f / 1e9) without overflow for any 64-bit ns. */
static uint64_t ticks_at(uint64_t ns)
{
    return ns / NS_PER_SEC * ACPI_PM_TIMER_HZ + ns % NS_PER_SEC * ACPI_PM_TIMER_HZ / NS_PER_SEC;
}

/* The first instant whose tick count reaches `t`. */
static uint64_t ns_of_tick(uint64_t t)
{
    uint64_t rem = t % ACPI_PM_TIMER_HZ;
    return t / ACPI_PM_TIMER_HZ * NS_PER_SEC +
           (rem * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

uint32_t acpi_pm_timer_at(uint64_t ns) { return (uint32_t)(ticks_at(ns) & ((1u << TMR_BITS) - 1)); }

/* TMR_STS is derived from time: set once the MSB has changed since it was last brought up to
 * date, so no timer runs unless the guest wants the overflow interrupt. */
static void sync_tmr(struct acpi_pm *pm)
{
    uint64_t period = ticks_at(vclock_now(pm->clock)) >> TMR_MSB_SHIFT;
    if (period != pm->tmr_period) {
        pm->pm1_sts |= ACPI_PM1_TMR;
        pm->tmr_period = period;
    }
}

static void update_sci(struct acpi_pm *pm)
{
    bool level = (pm->pm1_cnt & ACPI_PM1_SCI_EN) &&
                 ((pm->pm1_sts & pm->pm1_en & ACPI_PM1_EN_MASK) || (pm->gpe_sts & pm->gpe_en));
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_line_set(&pm->sci, level);
    }
}

static void arm_timer(struct acpi_pm *pm)
{
    if ((pm->pm1_en & ACPI_PM1_TMR) && (pm->pm1_cnt & ACPI_PM1_SCI_EN) &&
        !(pm->pm1_sts & ACPI_PM1_TMR))
        vtimer_arm(&pm->timer, ns_of_tick((pm->tmr_period + 1) << TMR_MSB_SHIFT));
    else
        vtimer_cancel(&pm->timer);
}

/* After any change: status from time, the SCI level, the overflow timer. */
static void refresh(struct acpi_pm *pm)
{
    sync_tmr(pm);
    update_sci(pm);
    arm_timer(pm);
}

static void timer_fire(void *opaque) { refresh(opaque); }

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pm->pm1_sts |= ACPI_PM1_PWRBTN;
    refresh(pm);
}

/* ---- the PM register window ---- */

static uint8_t pm_read_byte(struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
    switch (off) {
    case ACPI_PM1_STS: return (uint8_t)pm->pm1_sts;
    case ACPI_PM1_STS + 1: return (uint8_t)(pm->pm1_sts >> 8);
    case ACPI_PM1_EN: return (uint8_t)pm->pm1_en;
    case ACPI_PM1_EN + 1: return (uint8_t)(pm->pm1_en >> 8);
    case ACPI_PM1_CNT: return (uint8_t)pm->pm1_cnt;
    case ACPI_PM1_CNT + 1: return (uint8_t)(pm->pm1_cnt >> 8);
    case ACPI_PM_TMR:
    case ACPI_PM_TMR + 1:
    case ACPI_PM_TMR + 2:
    case ACPI_PM_TMR + 3: return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR)));
    case ACPI_GPE0_STS: return (uint8_t)pm->gpe_sts;
    case ACPI_GPE0_STS + 1: return (uint8_t)(pm->gpe_sts >> 8);
    case ACPI_GPE0_EN: return (uint8_t)pm->gpe_en;
    case ACPI_GPE0_EN + 1: return (uint8_t)(pm->gpe_en >> 8);
    case 0x14: /* P_LVL2, P_LVL3: a read would enter C2/C3; bt86 just returns */
    case 0x15: return 0;
    case 0x30: /* GPIREG: input pins, none driven */
    case 0x31:
    case 0x32:
    case 0x33: return 0;
    default: return off >= 0x10 && off < ACPI_PM_IO_SIZE ? pm->misc[off - 0x10] : 0xFF;
    }
}

static void set_lo(uint16_t *r, uint8_t b) { *r = (uint16_t)((*r & 0xFF00) | b); }
static void set_hi(uint16_t *r, uint8_t b) { *r = (uint16_t)((*r & 0x00FF) | b << 8); }

/* Returns true when the write asked for soft-off. */
static bool pm_write_byte(struct acpi_pm *pm, unsigned off, uint8_t b)
{
    switch (off) {
    case ACPI_PM1_STS: pm->pm1_sts &= (uint16_t)~b; break;
    case ACPI_PM1_STS + 1: pm->pm1_sts &= (uint16_t)~(b << 8); break;
    case ACPI_PM1_EN: set_lo(&pm->pm1_en, b & (uint8_t)ACPI_PM1_EN_MASK); break;
    case ACPI_PM1_EN + 1: set_hi(&pm->pm1_en, b & (uint8_t)(ACPI_PM1_EN_MASK >> 8)); break;
    case ACPI_PM1_CNT:
        /* GBL_RLS would signal the SMI handler, which bt86 does not have. */
        set_lo(&pm->pm1_cnt, b & (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD));
        break;
    case ACPI_PM1_CNT + 1:
        set_hi(&pm->pm1_cnt, b & (uint8_t)(ACPI_PM1_SLP_TYP >> 8));
        if (b & (ACPI_PM1_SLP_EN >> 8))
            return ((pm->pm1_cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT) ==
                   ACPI_PM1_SLP_TYP_S5;
        break;
    case ACPI_GPE0_STS: pm->gpe_sts &= (uint16_t)~b; break;
    case ACPI_GPE0_STS + 1: pm->gpe_sts &= (uint16_t)~(b << 8); break;
    case ACPI_GPE0_EN: set_lo(&pm->gpe_en, b); break;
    case ACPI_GPE0_EN + 1: set_hi(&pm->gpe_en, b); break;
    case 0x14:
    case 0x15:
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33: break;
    default:
        if (off >= 0x10 && off < ACPI_PM_IO_SIZE)
            pm->misc[off - 0x10] = b;
        break;
    }
    return false;
}

static uint32_t pm_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct acpi_pm *pm = opaque;
    sync_tmr(pm);
    uint32_t tmr = acpi_pm_timer_at(vclock_now(pm->clock)); /* one sample for all bytes */
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (uint16_t)(port + i - pm->pm_at);
        uint8_t b = off < ACPI_PM_IO_SIZE ? pm_read_byte(pm, off, tmr) : 0xFF;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void pm_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;
    sync_tmr(pm); /* a status bit due before this write is cleared by it, not after */
    bool off_req = false;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (uint16_t)(port + i - pm->pm_at);
        if (off < ACPI_PM_IO_SIZE)
            off_req |= pm_write_byte(pm, off, (uint8_t)(value >> (8 * i)));
    }
    refresh(pm);
    /* Last: the machine may stop the run from the callback. */
    if (off_req && pm->cb.power_off)
        pm->cb.power_off(pm->cb.opaque);
}

static const struct ioport_ops pm_io_ops = {pm_io_read, pm_io_write};

/* ---- SMBus: a host controller with nothing on the bus ---- */

static uint32_t smb_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (uint16_t)(port + i - pm->smb_at);
        uint8_t b = 0xFF;
        if (off < ACPI_PM_SMB_SIZE)
            b = off == SMB_HSTCNT ? pm->smb[off] & (uint8_t)~SMB_CNT_START : pm->smb[off];
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void smb_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (uint16_t)(port + i - pm->smb_at);
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (off >= ACPI_PM_SMB_SIZE)
            continue;
        if (off == SMB_HSTSTS) {
            pm->smb[off] &= (uint8_t)~(b & SMB_STS_W1C);
        } else if (off == SMB_HSTCNT) {
            pm->smb[off] = b & (uint8_t)~SMB_CNT_START;
            /* No slave answers any address: the transaction fails at once. */
            if (b & SMB_CNT_START)
                pm->smb[SMB_HSTSTS] |= SMB_STS_DEV_ERR;
            if (b & SMB_CNT_KILL)
                pm->smb[SMB_HSTSTS] |= SMB_STS_FAILED;
        } else if (off == 0x01 || off == 0x0A) {
            pm->smb[off] &= (uint8_t)~b; /* slave status and event: nothing ever sets them */
        } else {
            pm->smb[off] = b;
        }
    }
}

static const struct ioport_ops smb_io_ops = {smb_io_read, smb_io_write};

/* ---- APM ports ---- */

static uint32_t apm_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint8_t b = p == ACPI_PM_APMC_PORT ? pm->apmc : p == ACPI_PM_APMS_PORT ? pm->apms : 0xFF;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void apm_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (p == ACPI_PM_APMS_PORT) {
            pm->apms = b;
        } else if (p == ACPI_PM_APMC_PORT) {
            pm->apmc = b;
            if (b == ACPI_PM_ACPI_ENABLE)
                pm->pm1_cnt |= ACPI_PM1_SCI_EN;
            else if (b == ACPI_PM_ACPI_DISABLE)
                pm->pm1_cnt &= (uint16_t)~ACPI_PM1_SCI_EN;
        }
    }
    refresh(pm);
}

static const struct ioport_ops apm_io_ops = {apm_io_read, apm_io_write};

/* ---- configuration space ---- */

static uint16_t pm_base_wanted(const struct pci_function *f)
{
    if (!(f->config[ACPI_PM_PMREGMISC] & 0x01))
        return 0;
    return (uint16_t)(pci_get32(f, ACPI_PM_PMBA) & 0xFFC0);
}

static uint16_t smb_base_wanted(const struct pci_function *f)
{
    if (!(f->config[ACPI_PM_SMBHSTCFG] & 0x01) || !(pci_get16(f, PCI_COMMAND) & PCI_COMMAND_IO))
        return 0;
    return (uint16_t)(pci_get32(f, ACPI_PM_SMBBA) & 0xFFF0);
}

/* Moves a window to where the configuration puts it. A window over ports another device owns
 * stays unmapped (`clash` tells the machine) rather than taking them over. */
static void place(struct acpi_pm *pm, uint16_t *at, bool *clash, uint16_t want, unsigned size,
                  const struct ioport_ops *ops)
{
    if (want == *at && !*clash)
        return;
    if (*at)
        ioport_unregister(pm->io, *at, size, pm);
    *at = 0;
    *clash = false;
    if (!want)
        return;
    if (ioport_register(pm->io, want, size, ops, pm) == 0)
        *at = want;
    else
        *clash = true;
}

static void map_windows(struct acpi_pm *pm)
{
    place(pm, &pm->pm_at, &pm->pm_clash, pm_base_wanted(&pm->fn), ACPI_PM_IO_SIZE, &pm_io_ops);
    place(pm, &pm->smb_at, &pm->smb_clash, smb_base_wanted(&pm->fn), ACPI_PM_SMB_SIZE,
          &smb_io_ops);
}

static void config_written(struct pci_function *f, unsigned off, unsigned size)
{
    (void)off;
    (void)size;
    map_windows(f->opaque);
}

static void set_reg(struct pci_function *f, unsigned off, uint8_t value, uint8_t wmask)
{
    f->config[off] = value;
    f->wmask[off] = wmask;
}

/* Power-on configuration (82371AB datasheet, function 3). Registers whose function bt86 does
 * not model (device monitoring and resource decode, thermal and clock control) are storage. */
static void init_config(struct pci_function *f)
{
    pci_function_init(f, 0x8086, 0x7113, 0x03, 0x068000, 0x00);
    pci_set16(f, PCI_STATUS, 0x0280);
    f->wmask[PCI_COMMAND] = 0x01; /* only the SMBus I/O enable */
    f->wmask[PCI_COMMAND + 1] = 0x00;
    f->config[PCI_INTERRUPT_PIN] = 0x01;
    pci_set16(f, PCI_SUBSYS_VENDOR, 0x1AF4);
    pci_set16(f, PCI_SUBSYS_VENDOR + 2, 0x1100);
    set_reg(f, ACPI_PM_PMBA, 0x01, 0xC0); /* I/O indicator, 64-byte granule */
    set_reg(f, ACPI_PM_PMBA + 1, 0x00, 0xFF);
    for (unsigned o = 0x44; o < 0x80; o++)
        set_reg(f, o, 0x00, 0xFF);
    f->config[DEVACTB_APMC_EN_BYTE] = DEVACTB_APMC_EN_BIT;
    f->wmask[DEVACTB_APMC_EN_BYTE] = (uint8_t)~DEVACTB_APMC_EN_BIT;
    set_reg(f, ACPI_PM_PMREGMISC, 0x00, 0x01);
    set_reg(f, ACPI_PM_SMBBA, 0x01, 0xF0); /* I/O indicator, 16-byte granule */
    set_reg(f, ACPI_PM_SMBBA + 1, 0x00, 0xFF);
    set_reg(f, ACPI_PM_SMBHSTCFG, 0x00, 0x0F);
    set_reg(f, 0xD3, 0x00, 0xFF); /* SMBSLVC */
    set_reg(f, 0xD4, 0x00, 0xFF); /* SMBSHDW1 */
    set_reg(f, 0xD5, 0x00, 0xFF); /* SMBSHDW2 */
}

/* ---- device interface ---- */

static void reset_registers(struct acpi_pm *pm)
{
    pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
    pm->gpe_sts = pm->gpe_en = 0;
    memset(pm->misc, 0, sizeof(pm->misc));
    pm->apmc = pm->apms = 0;
    memset(pm->smb, 0, sizeof(pm->smb));
    pm->tmr_period = ticks_at(vclock_now(pm->clock)) >> TMR_MSB_SHIFT;
}

static void pm_reset(void *opaque)
{
    struct acpi_pm *pm = opaque;
    init_config(&pm->fn);
    reset_registers(pm);
    map_windows(pm);
    refresh(pm);
}

static void pm_save(const void *opaque, struct state_writer *w)
{
    const struct acpi_pm *pm = opaque;
    sw_bytes(w, pm->fn.config, sizeof(pm->fn.config));
    sw_u16(w, pm->pm1_sts);
    sw_u16(w, pm->pm1_en);
    sw_u16(w, pm->pm1_cnt);
    sw_u64(w, pm->tmr_period);
    sw_u16(w, pm->gpe_sts);
    sw_u16(w, pm->gpe_en);
    sw_bytes(w, pm->misc, sizeof(pm->misc));
    sw_u8(w, pm->apmc);
    sw_u8(w, pm->apms);
    sw_bytes(w, pm->smb, sizeof(pm->smb));
}

static int pm_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct acpi_pm *pm = opaque;
    if (version != 1)
        return -1;
    uint8_t config[256];
    sr_bytes(r, config, sizeof(config));
    uint16_t sts = sr_u16(r), en = sr_u16(r), cnt = sr_u16(r);
    uint64_t period = sr_u64(r);
    uint16_t gsts = sr_u16(r), gen = sr_u16(r);
    uint8_t misc[sizeof(pm->misc)], smb[sizeof(pm->smb)];
    sr_bytes(r, misc, sizeof(misc));
    uint8_t apmc = sr_u8(r), apms = sr_u8(r);
    sr_bytes(r, smb, sizeof(smb));
    if (r->error || (sts & ~ACPI_PM1_STS_MASK) || (en & ~ACPI_PM1_EN_MASK) ||
        (cnt & ~(ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP)))
        return -1;
    struct pci_function ref;
    init_config(&ref);
    for (unsigned o = 0; o < 256; o++)
        if ((config[o] ^ ref.config[o]) & ~(ref.wmask[o] | ref.w1c[o]))
            return -1;
    memcpy(pm->fn.config, config, sizeof(config));
    pm->pm1_sts = sts;
    pm->pm1_en = en;
    pm->pm1_cnt = cnt;
    pm->tmr_period = period;
    pm->gpe_sts = gsts;
    pm->gpe_en = gen;
    memcpy(pm->misc, misc, sizeof(misc));
    pm->apmc = apmc;
    pm->apms = apms;
    memcpy(pm->smb, smb, sizeof(smb));
    map_windows(pm);
    refresh(pm);
    return 0;
}

static const struct device_ops pm_device_ops = {
    .name = "piix4-pm",
    .state_version = 1,
    .reset = pm_reset,
    .save = pm_save,
    .load = pm_load,
};

int acpi_pm_attach(struct acpi_pm *pm, struct ioport_bus *io, struct pci_bus *bus,
                   struct vclock *clock, const struct acpi_pm_callbacks *cb)
{
    memset(pm, 0, sizeof(*pm));
    pm->dev = (struct device){&pm_device_ops, pm};
    pm->io = io;
    pm->clock = clock;
    if (cb)
        pm->cb = *cb;
    vtimer_init(&pm->timer, clock, timer_fire, pm);
    pm->fn.config_written = config_written;
    pm->fn.opaque = pm;
    init_config(&pm->fn);
    reset_registers(pm);
    if (pci_bus_add(bus, &pm->fn, ACPI_PM_DEVFN) != 0)
        return -1;
    if (ioport_register(io, ACPI_PM_APMC_PORT, 2, &apm_io_ops, pm) != 0) {
        bus->fn[ACPI_PM_DEVFN] = NULL;
        return -1;
    }
    return 0;
}

void acpi_pm_detach(struct acpi_pm *pm) { vtimer_cancel(&pm->timer); }
