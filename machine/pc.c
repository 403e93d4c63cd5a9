#include "machine/pc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/acpi.h"
#include "machine/machine.h"

#define MAX_VGABIOS_SIZE (256u << 10)
#define BIOS_LOW_SIZE 0x20000u /* the top of the flash the chipset aliases below 1 MiB */

/* ---- wiring callbacks ---- */

static struct machine *machine_of_io(void *io)
{
    return (struct machine *)((char *)io - offsetof(struct machine, io));
}

/* ---- interrupt wiring ---- */

/* The I/O APIC pin of ISA IRQ n: the PIT's IRQ 0 is wired to pin 2 (the override SeaBIOS
 * puts in its tables), the rest one to one. */
static unsigned isa_gsi(unsigned irq) { return irq == 0 ? 2 : irq; }

static bool pirq_up(const struct pc *pc, unsigned pirq)
{
    for (unsigned i = 0; i < 8; i++)
        if (pc->intx[pirq][i])
            return true;
    return false;
}

/* Drive ISA IRQ `irq` to the 8259 and the I/O APIC: the ISA device's line ORed with every
 * PIRQ steered to it (the PIIX3 shares them, level-triggered through the ELCR). */
static void isa_irq_update(struct pc *pc, int irq)
{
    if (irq < 0 || irq > 15)
        return;
    bool level = (pc->isa_lines >> irq) & 1;
    for (unsigned p = 0; p < 4 && !level; p++)
        level = pc->pirq_irq[p] == irq && pirq_up(pc, p);
    uint16_t bit = (uint16_t)(1u << irq);
    if (level == !!(pc->irq_out & bit))
        return;
    pc->irq_out = (uint16_t)(level ? pc->irq_out | bit : pc->irq_out & ~bit);
    i8259_set_irq(&pc->pic, (unsigned)irq, level);
    if (irq != I8259_CASCADE_IRQ) /* no ISA device can drive IRQ 2; pin 2 is the PIT's */
        ioapic_set_irq(&pc->ioapic, isa_gsi((unsigned)irq), level);
}

static void isa_irq_set(void *opaque, unsigned irq, bool level)
{
    struct pc *pc = opaque;
    if (irq > 15)
        return;
    uint16_t bit = (uint16_t)(1u << irq);
    pc->isa_lines = (uint16_t)(level ? pc->isa_lines | bit : pc->isa_lines & ~bit);
    isa_irq_update(pc, (int)irq);
}

struct irq_line pc_isa_irq_line(struct pc *pc, unsigned irq)
{
    return (struct irq_line){isa_irq_set, pc, irq};
}

/* A PCI function's INTx: its interrupt-pin register says which pin, the slot says which PIRQ. */
static void pci_intx_set(void *opaque, unsigned devfn, bool level)
{
    struct pc *pc = opaque;
    if (devfn > 255 || !pc->pci.fn[devfn])
        return;
    unsigned pin = pc->pci.fn[devfn]->config[PCI_INTERRUPT_PIN];
    if (pin < 1 || pin > 4)
        return;
    unsigned p = piix3_pirq_of((uint8_t)devfn, pin);
    bool was = pirq_up(pc, p);
    uint32_t bit = 1u << (devfn & 31);
    if (level)
        pc->intx[p][devfn >> 5] |= bit;
    else
        pc->intx[p][devfn >> 5] &= ~bit;
    bool now = pirq_up(pc, p);
    if (now == was)
        return;
    ioapic_set_irq(&pc->ioapic, PC_IOAPIC_PIRQ_PIN + p, now);
    isa_irq_update(pc, pc->pirq_irq[p]);
}

struct irq_line pc_pci_irq_line(struct pc *pc, uint8_t devfn)
{
    return (struct irq_line){pci_intx_set, pc, devfn};
}

/* PIIX3 register 0x60 + pirq changed: the PIRQ leaves its old IRQ and joins the new one. */
static void pc_pirq_routed(void *opaque, unsigned pirq, int irq)
{
    struct pc *pc = ((struct machine *)opaque)->pc;
    if (pirq > 3)
        return;
    int old = pc->pirq_irq[pirq];
    pc->pirq_irq[pirq] = (int8_t)irq;
    isa_irq_update(pc, old);
    isa_irq_update(pc, irq);
}

/* cpu->bus.opaque is the port bus; the local APIC hangs off the machine that embeds it.
 * Every acknowledge goes through it: with the APIC disabled or in virtual-wire mode it asks
 * the 8259 (extint_ack). */
static int pc_intr_ack(void *io)
{
    return lapic_ack(&machine_of_io(io)->pc->lapic);
}

static int pic_extint_ack(void *opaque)
{
    return i8259_intr_ack(&((struct pc *)opaque)->pic);
}

static void lapic_cpu_intr(void *opaque, unsigned line, bool level)
{
    (void)line;
    cpu_set_irq(&((struct machine *)opaque)->cpu, level);
}

static void lapic_cpu_nmi(void *opaque, unsigned line, bool level)
{
    (void)line;
    if (level)
        ((struct machine *)opaque)->cpu.nmi_pending = true;
}

static uint64_t pc_apic_base_write(void *opaque, uint64_t value)
{
    return lapic_set_base_msr(&((struct pc *)opaque)->lapic, value);
}

static bool ioapic_to_lapic(void *opaque, const struct apic_msg *msg)
{
    return lapic_receive(&((struct pc *)opaque)->lapic, msg);
}

static void lapic_eoi_to_ioapic(void *opaque, uint8_t vector)
{
    ioapic_eoi(&((struct pc *)opaque)->ioapic, vector);
}

static void apply_a20(struct machine *m)
{
    struct pc *pc = m->pc;
    uint32_t mask = (pc->a20_92 || pc->a20_kbc) ? 0xFFFFFFFFu : ~(1u << 20);
    if (m->cpu.a20_mask != mask) {
        m->cpu.a20_mask = mask;
        cpu_flush_tlb(&m->cpu, false);
    }
}

static void pc_port92_a20(void *opaque, bool enabled)
{
    struct machine *m = opaque;
    m->pc->a20_92 = enabled;
    apply_a20(m);
}

static void kbc_a20(void *opaque, bool enabled)
{
    struct machine *m = opaque;
    m->pc->a20_kbc = enabled;
    apply_a20(m);
}

static void pc_elcr(void *opaque, uint16_t level_mask)
{
    i8259_set_elcr(&((struct machine *)opaque)->pc->pic, level_mask);
}

/* Resets are carried out by the run loop between slices, never inside a port access. A soft
 * reset (INIT) restarts the CPU only; the rest is a full board reset. */
static void request_reset(struct machine *m, bool hard, const char *why)
{
    m->reset_why = why;
    if (!m->reset_requested || hard)
        m->reset_hard = hard;
    m->reset_requested = true;
    cpu_request_stop(&m->cpu);
}

static void pc_rcr_reset(void *opaque, bool hard)
{
    struct machine *m = opaque;
    request_reset(m, hard, m->pc->isa.reset_port == PIIX3_PORT92 ? "port 0x92 fast reset"
                           : hard ? "port 0xCF9 hard reset" : "port 0xCF9 soft reset");
}

static void kbc_reset(void *opaque) { request_reset(opaque, true, "keyboard controller reset"); }

/* S5 through the PIIX4 PM: the run loop ends the run between slices. */
static void pc_power_off(void *opaque)
{
    struct machine *m = opaque;
    m->poweroff_requested = true;
    cpu_request_stop(&m->cpu);
}

static void ide_bm_moved(void *opaque, uint32_t old_base, uint32_t new_base)
{
    struct machine *m = opaque;
    if (old_base && old_base <= 0xFFF0)
        ioport_unregister(&m->io, (uint16_t)old_base, 16, &m->pc->ide);
    if (new_base && (new_base > 0xFFF0 ||
                     ioport_register(&m->io, (uint16_t)new_base, 16, &ide_bm_io_ops, &m->pc->ide)))
        fprintf(stderr, "bt86: IDE bus master window at port 0x%x overlaps other ports; left "
                "unmapped\n", new_base);
}

static bool overlaps(uint64_t base, uint64_t end, uint64_t b2, uint64_t size2)
{
    return base < b2 + size2 && b2 < end;
}

/* A BAR the guest put over RAM, the firmware or an APIC is left unmapped rather than hiding
 * them (unmapping it later would not bring them back). */
static bool bar_place_ok(const struct machine *m, uint32_t base, uint32_t size)
{
    const struct pc *pc = m->pc;
    uint64_t end = (uint64_t)base + size;
    if (overlaps(base, end, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE) ||
        (pc->lapic.mapped && overlaps(base, end, pc->lapic.mapped_base, LAPIC_MMIO_SIZE)))
        return false;
    return base >= m->mem.ram_size && end <= 0x100000000ull - pc->bios_len && base % PAGE_SIZE == 0;
}

static void remap(struct machine *m, uint32_t *at, uint32_t now, uint32_t size,
                  int (*map)(struct machine *m, uint32_t base))
{
    if (now && !bar_place_ok(m, now, size))
        now = 0;
    if (now == *at)
        return;
    if (*at)
        memmap_unmap(&m->mem, *at, size);
    *at = 0;
    if (now && map(m, now) == 0)
        *at = now;
}

static int map_lfb(struct machine *m, uint32_t base)
{
    struct vga *v = &m->pc->vga;
    return memmap_map_host(&m->mem, base, v->vram_size, v->vram, v->vram);
}

static int map_bar2(struct machine *m, uint32_t base)
{
    return memmap_map_mmio(&m->mem, base, VGA_MMIO_BAR_SIZE, m->pc->vga_bar2_mmio);
}

static int map_rom(struct machine *m, uint32_t base)
{
    struct vga *v = &m->pc->vga;
    return memmap_map_host(&m->mem, base, v->rom_bar_size, v->rom_image, NULL);
}

static void vga_bars(void *opaque, struct vga *v)
{
    struct machine *m = opaque;
    struct pc *pc = m->pc;
    remap(m, &pc->vga_lfb_at, vga_lfb_address(v), v->vram_size, map_lfb);
    remap(m, &pc->vga_mmio_at, vga_mmio_address(v), VGA_MMIO_BAR_SIZE, map_bar2);
    if (v->rom_image)
        remap(m, &pc->vga_rom_at, vga_rom_address(v), v->rom_bar_size, map_rom);
}

/* ---- configuration ---- */

static int fail(char *err, size_t errlen, const char *fmt, const char *arg, int e)
{
    char what[300];
    snprintf(what, sizeof(what), fmt, arg);
    if (e)
        snprintf(err, errlen, "%s: %s", what, strerror(e));
    else
        snprintf(err, errlen, "%s", what);
    return -1;
}

static int load_firmware(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen)
{
    struct pc *pc = m->pc;
    size_t len;
    uint8_t *img = machine_read_file(cfg->bios_path, 16u << 20, &len, err, errlen);
    if (!img)
        return -1;
    if (len % 0x10000) {
        free(img);
        return fail(err, errlen, "'%s': firmware size is not a multiple of 64 KiB", cfg->bios_path, 0);
    }
    uint32_t low = len < BIOS_LOW_SIZE ? (uint32_t)len : BIOS_LOW_SIZE;
    int r = memmap_add_rom(&m->mem, (uint32_t)(0x100000000ull - len), img, (uint32_t)len);
    if (r == 0)
        r = i440fx_load_rom(&pc->host, 0x100000 - low, img + len - low, low) ? -EINVAL : 0;
    free(img);
    if (r)
        return fail(err, errlen, "cannot map firmware '%s'", cfg->bios_path, -r);
    pc->bios_len = (uint32_t)len;
    if (!cfg->vgabios_path)
        return 0;
    img = machine_read_file(cfg->vgabios_path, MAX_VGABIOS_SIZE, &len, err, errlen);
    if (!img)
        return -1;
    r = vga_set_rom(&pc->vga, img, len);
    free(img);
    if (r)
        return fail(err, errlen, "VGA BIOS '%s'", cfg->vgabios_path, -r);
    return 0;
}

static int open_media(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen)
{
    struct pc *pc = m->pc;
    int r;
    if (cfg->fda) {
        if ((r = block_open(&pc->fda, cfg->fda, cfg->media_read_only)))
            return fail(err, errlen, "-fda: cannot open '%s'", cfg->fda, -r);
        pc->fda_open = true;
        const struct fdc_format *fmt = fdc_format_for_size(block_size(&pc->fda));
        if (!fmt) {
            char what[300];
            snprintf(what, sizeof(what), "-fda: '%%s' has %llu bytes, which is no floppy format "
                     "(1.44 MB images have 1474560)", (unsigned long long)block_size(&pc->fda));
            return fail(err, errlen, what, cfg->fda, 0);
        }
        pc->fd_type = fdc_drive_type_for_format(fmt);
        if ((r = fdc_connect_drive(&pc->fdc, 0, pc->fd_type)) ||
            (r = fdc_insert(&pc->fdc, 0, &pc->fda, cfg->media_read_only))) {
            snprintf(err, errlen, "-fda '%s': %s", cfg->fda, fdc_strerror(r));
            return -1;
        }
    }
    if (cfg->hda) {
        if ((r = block_open(&pc->hda, cfg->hda, cfg->media_read_only)))
            return fail(err, errlen, "-hda: cannot open '%s'", cfg->hda, -r);
        pc->hda_open = true;
        if (pc->hda.size == 0 || pc->hda.size % 512)
            return fail(err, errlen, "-hda: '%s' is not a disk image (its size is not a "
                        "nonzero multiple of 512 bytes)", cfg->hda, 0);
        if ((r = ide_attach_disk(&pc->ide, 0, 0, &pc->hda, NULL)))
            return fail(err, errlen, "-hda '%s'", cfg->hda, -r);
    }
    if (cfg->cdrom) {
        if ((r = block_open(&pc->cdrom, cfg->cdrom, true)))
            return fail(err, errlen, "-cdrom: cannot open '%s'", cfg->cdrom, -r);
        pc->cdrom_open = true;
        if (pc->cdrom.size == 0 || pc->cdrom.size % 2048)
            return fail(err, errlen, "-cdrom: '%s' is not a CD image (its size is not a "
                        "nonzero multiple of 2048 bytes)", cfg->cdrom, 0);
        if ((r = ide_attach_cdrom(&pc->ide, 1, 0, &pc->cdrom)))
            return fail(err, errlen, "-cdrom '%s'", cfg->cdrom, -r);
    }
    return 0;
}

/* CMOS as SeaBIOS reads it on QEMU: memory sizes, drives, equipment, and the boot order
 * (0x3D: first and second device, 0x38 high nibble: third; 1 floppy, 2 disk, 3 CD). */
static int setup_cmos(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen)
{
    struct pc *pc = m->pc;
    struct mc146818 *rtc = &pc->rtc;
    mc146818_set_memory_size(rtc, m->mem.ram_size, 0);
    mc146818_cmos_write(rtc, CMOS_FLOPPY_TYPES, (uint8_t)(pc->fd_type << 4));
    /* FPU present, PS/2 mouse, and one floppy drive if there is one. */
    mc146818_cmos_write(rtc, CMOS_EQUIPMENT, (uint8_t)(0x06 | (pc->fd_type ? 0x01 : 0)));
    const char *order = cfg->boot_order ? cfg->boot_order : "cad";
    uint8_t dev[3] = {0, 0, 0};
    size_t n = strlen(order);
    if (n == 0 || n > 3)
        return fail(err, errlen, "-boot: '%s' must name 1 to 3 devices (a, c, d)", order, 0);
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr("acd", order[i]);
        if (!p || !order[i])
            return fail(err, errlen, "-boot: '%s': devices are a (floppy), c (disk), d (CD)",
                        order, 0);
        dev[i] = (uint8_t)(p - "acd" + 1);
    }
    mc146818_cmos_write(rtc, CMOS_BOOT_FLAGS2, (uint8_t)(dev[1] << 4 | dev[0]));
    mc146818_cmos_write(rtc, CMOS_BOOT_FLAGS1, (uint8_t)(dev[2] << 4)); /* bit 0 clear: check sig */
    mc146818_cmos_write(rtc, CMOS_SMP_COUNT, 0);
    mc146818_update_checksum(rtc);
    return 0;
}

static int setup_fw_cfg(struct machine *m, const struct pc_config *cfg)
{
    struct fw_cfg *fw = &m->pc->fw;
    /* SeaBIOS reserves its own areas (EBDA, BIOS) out of this. */
    struct fw_cfg_e820 ram = {0, m->mem.ram_size, 1};
    /* irq0-override: SeaBIOS's MP table and MADT then put the PIT on I/O APIC pin 2. */
    if (fw_cfg_set_ram_size(fw, m->mem.ram_size) || fw_cfg_set_cpus(fw, 1, 1) ||
        fw_cfg_add_i32(fw, FW_CFG_IRQ0_OVERRIDE, 1) ||
        fw_cfg_set_boot_menu(fw, cfg->boot_menu, 2500) || fw_cfg_set_e820(fw, &ram, 1))
        return -1;
    /* ACPI tables for the PM function, the APICs and the PIRQ links (machine/acpi.h). */
    struct acpi_config acpi;
    acpi_default_config(&acpi, m->mem.ram_size < 0xFEC00000u ? (uint32_t)m->mem.ram_size
                                                              : 0xFEC00000u);
    acpi.apic = true;
    acpi.ioapic_id = PC_IOAPIC_ID;
    acpi.apic_pci = ACPI_APIC_PCI_GSI16;
    return acpi_install(fw, &acpi);
}

/* FERR# from the x87 is ISA IRQ 13; a write to port F0h clears it and asserts IGNNE#. */
static void pc_ferr(void *opaque, bool level)
{
    isa_irq_set(opaque, 13, level); /* to the 8259 and I/O APIC pin 13 */
}

static uint32_t port_f0_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

static void port_f0_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)port;
    (void)value;
    (void)size;
    cpu_fpu_ignne(&((struct machine *)opaque)->cpu);
}

static const struct ioport_ops port_f0_ops = {port_f0_read, port_f0_write};

int pc_create(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen)
{
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->pc = pc;
    pc->fda.fd = -1;
    pc->hda.fd = pc->cdrom.fd = -1;
    pc->a20_kbc = true; /* the 8042's gate is enabled after reset; port 0x92's is not */
    for (unsigned i = 0; i < 4; i++)
        pc->pirq_irq[i] = -1;
    vclock_init(&pc->clock);
    vclock_attach_counter(&pc->clock, &m->cpu.icount, PC_NS_PER_INSN);
    struct ioport_bus *io = &m->io;
    struct vclock *clk = &pc->clock;

    if (i440fx_attach(&pc->host, io, &pc->pci, &m->mem)) {
        snprintf(err, errlen, "internal error: cannot create the i440FX host bridge");
        return -1;
    }
    pc->have_host = true;
    struct piix3_callbacks cb = {
        .pirq_routed = pc_pirq_routed, .elcr_changed = pc_elcr, .a20_changed = pc_port92_a20,
        .reset_request = pc_rcr_reset, .opaque = m,
    };
    if (vga_init(&pc->vga, VGA_VRAM_DEFAULT)) {
        snprintf(err, errlen, "out of memory for video RAM");
        return -1;
    }
    pc->have_vga = true;
    ps2_kbd_init(&pc->kbd, clk);
    ps2_mouse_init(&pc->mouse);
    ide_init(&pc->ide, &m->mem, clk);
    int bad = piix3_attach(&pc->isa, io, &pc->pci, &cb) || i8259_attach(&pc->pic, io, false) ||
              i8254_attach(&pc->pit, io, clk) || i8254_attach_port61(&pc->pit, io);
    if (!bad) {
        bad = mc146818_attach(&pc->rtc, io, clk, &cfg->rtc_start, false);
        pc->have_rtc = !bad;
    }
    bad = bad || i8042_attach(&pc->kbc, io, clk, &pc->kbd, &pc->mouse) ||
          i8237_attach(&pc->dma, io, &m->mem) ||
          fdc_attach(&pc->fdc, io, FDC_DEFAULT_BASE, clk, &pc->dma, FDC_DEFAULT_DMA) ||
          pci_bus_add(&pc->pci, &pc->ide.pci, IDE_PCI_DEVFN) || ide_register_ports(&pc->ide, io) ||
          vga_attach_ports(&pc->vga, io) || pci_bus_add(&pc->pci, &pc->vga.pci, PC_VGA_DEVFN);
    if (!bad) {
        bad = fw_cfg_attach(&pc->fw, io, &m->mem, true);
        pc->have_fw = !bad;
    }
    bad = bad || uart_attach(&pc->com2, io, COM2_BASE, cfg->com2_out, -1);
    struct acpi_pm_callbacks pm_cb = {pc_power_off, m};
    bad = bad || acpi_pm_attach(&pc->pm, io, &pc->pci, clk, &pm_cb);
    if (bad) {
        snprintf(err, errlen, "internal error: PC device ports or slots clash");
        return -1;
    }

    /* Interrupts: ISA devices drive ISA IRQs (to the 8259 and the I/O APIC); the 8259 drives
     * LINT0, the I/O APIC sends messages, and the local APIC drives INTR. */
    lapic_init(&pc->lapic, clk, PC_APIC_BUS_HZ);
    ioapic_init(&pc->ioapic, PC_IOAPIC_ID);
    pc->lapic.intr = (struct irq_line){lapic_cpu_intr, m, 0};
    pc->lapic.nmi = (struct irq_line){lapic_cpu_nmi, m, 0};
    pc->lapic.extint_ack = pic_extint_ack;
    pc->lapic.extint_opaque = pc;
    pc->lapic.eoi_broadcast = lapic_eoi_to_ioapic;
    pc->lapic.eoi_opaque = pc;
    pc->ioapic.deliver = ioapic_to_lapic;
    pc->ioapic.deliver_opaque = pc;
    pc->pic.intr = (struct irq_line){lapic_lint_irq, &pc->lapic, 0};
    m->cpu.bus.intr_ack = pc_intr_ack;
    m->cpu.ferr = pc_ferr;
    m->cpu.ferr_opaque = pc;
    if (ioport_register(io, 0xF0, 1, &port_f0_ops, m)) {
        snprintf(err, errlen, "internal error: port F0h clash");
        return -1;
    }
    m->cpu.bus.apic_base_write = pc_apic_base_write;
    m->cpu.bus.apic_opaque = pc;
    if (lapic_attach_mmio(&pc->lapic, &m->mem) ||
        ioapic_attach_mmio(&pc->ioapic, &m->mem, IOAPIC_DEFAULT_BASE)) {
        snprintf(err, errlen, "internal error: cannot map the APICs");
        return -1;
    }
    pc->pit.irq0 = pc_isa_irq_line(pc, 0);
    pc->kbc.irq_kbd = pc_isa_irq_line(pc, 1);
    pc->kbc.irq_aux = pc_isa_irq_line(pc, 12);
    m->com1.irq = pc_isa_irq_line(pc, 4);
    pc->com2.irq = pc_isa_irq_line(pc, COM2_IRQ);
    pc->fdc.irq = pc_isa_irq_line(pc, FDC_DEFAULT_IRQ);
    pc->rtc.irq = pc_isa_irq_line(pc, 8);
    pc->pm.sci = pc_isa_irq_line(pc, 9); /* the FADT's SCI_INT */
    pc->ide.ch[0].irq = pc_isa_irq_line(pc, 14);
    pc->ide.ch[1].irq = pc_isa_irq_line(pc, 15);
    pc->kbc.a20 = kbc_a20;
    pc->kbc.reset_request = kbc_reset;
    pc->kbc.cb_opaque = m;
    pc->ide.bm_moved = ide_bm_moved;
    pc->ide.bm_moved_opaque = m;

    /* VGA: the legacy window always, the BARs wherever the guest puts them. */
    pc->vga.clock = clk;
    pc->vga.bars_changed = vga_bars;
    pc->vga.bars_opaque = m;
    int legacy = memmap_register_mmio(&m->mem, &vga_legacy_mmio_ops, &pc->vga);
    pc->vga_bar2_mmio = memmap_register_mmio(&m->mem, &vga_bar2_mmio_ops, &pc->vga);
    if (legacy < 0 || pc->vga_bar2_mmio < 0 ||
        memmap_map_mmio(&m->mem, VGA_LEGACY_BASE, VGA_LEGACY_SIZE, legacy)) {
        snprintf(err, errlen, "internal error: cannot map the VGA window");
        return -1;
    }

    struct device *devs[] = {
        &pc->host.dev, &pc->isa.dev, &pc->pic.dev, &pc->pit.dev, &pc->rtc.dev, &pc->kbd.dev,
        &pc->mouse.dev, &pc->kbc.dev, &pc->dma.dev, &pc->fdc.dev, &pc->ide.dev, &pc->vga.dev,
        &pc->fw.dev, &pc->com2.dev, &pc->ioapic.dev, &pc->lapic.dev, &pc->pm.dev,
    };
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
        if (machine_add_device(m, devs[i])) {
            snprintf(err, errlen, "internal error: device table full");
            return -1;
        }

    if (load_firmware(m, cfg, err, errlen) || open_media(m, cfg, err, errlen) ||
        setup_cmos(m, cfg, err, errlen))
        return -1;
    if (setup_fw_cfg(m, cfg)) {
        snprintf(err, errlen, "internal error: cannot fill fw_cfg");
        return -1;
    }
    return 0;
}

void pc_after_reset(struct machine *m)
{
    vga_bars(m, &m->pc->vga);
    m->cpu.a20_mask = 0xFFFFFFFFu; /* what cpu_reset left; apply_a20 compares against it */
    apply_a20(m);
    m->cpu.apic_base = lapic_base_msr(&m->pc->lapic);
    m->cpu.intr_line = m->pc->lapic.intr_level;
}

void pc_cpu_init(struct machine *m)
{
    cpu_reset(&m->cpu);
    /* INIT keeps the APIC base MSR and ID; everything else of the local APIC restarts. */
    lapic_init_reset(&m->pc->lapic);
    pc_after_reset(m);
}

bool pc_reset_is_resume(struct machine *m)
{
    uint8_t code = mc146818_cmos_read(&m->pc->rtc, CMOS_SHUTDOWN_STATUS);
    return code == 0x05 || (code >= 0x0A && code <= 0x0C);
}

void pc_destroy(struct machine *m)
{
    struct pc *pc = m->pc;
    if (!pc)
        return;
    if (pc->have_rtc)
        mc146818_detach(&pc->rtc);
    if (pc->fda_open) {
        fdc_eject(&pc->fdc, 0);
        block_close(&pc->fda);
    }
    if (pc->hda_open)
        block_close(&pc->hda);
    if (pc->cdrom_open)
        block_close(&pc->cdrom);
    if (pc->have_fw)
        fw_cfg_destroy(&pc->fw);
    if (pc->have_vga)
        vga_destroy(&pc->vga);
    if (pc->have_host)
        i440fx_destroy(&pc->host);
    free(pc);
    m->pc = NULL;
}
