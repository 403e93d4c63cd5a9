/* The PC board's wiring (machine/pc.c), checked through the guest's own interfaces: ports,
 * MMIO, and instructions run on the CPU. A stand-in firmware image (64 KiB of HLT) is enough,
 * since nothing here boots. Covered: the local APIC (IA32_APIC_BASE, CPUID, relocation, the
 * 8259 through LINT0 in virtual-wire mode, the timer on the virtual clock), the I/O APIC
 * (ISA IRQ -> pin, IRQ 0 -> pin 2, level EOI), PCI INTx through the PIIX3 PIRQ routing to the
 * 8259 and the I/O APIC, COM2, bus-master DMA from the hard disk, and reset requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "machine/machine.h"

#define RAM (16u << 20)
#define DISK_SECTORS 64
#define CODE 0x1000 /* where the tests put instructions (real mode, CS = 0) */

struct fx {
    struct machine m;
    char bios[64], disk[64];
    struct pci_function fake[3]; /* PCI functions that raise INTx */
};

static uint8_t disk_byte(unsigned lba, unsigned i) { return (uint8_t)(lba * 13 + i * 5 + 1); }

static int write_temp(char *path, size_t pathlen, const void *data, size_t len)
{
    snprintf(path, pathlen, "/tmp/bt86-pc-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    bool ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    static uint8_t rom[65536], disk[DISK_SECTORS * 512];
    memset(rom, 0xF4, sizeof(rom));
    for (unsigned s = 0; s < DISK_SECTORS; s++)
        for (unsigned i = 0; i < 512; i++)
            disk[s * 512 + i] = disk_byte(s, i);
    if (write_temp(f->bios, sizeof(f->bios), rom, sizeof(rom)) ||
        write_temp(f->disk, sizeof(f->disk), disk, sizeof(disk)))
        return -1;
    struct machine_config cfg = {
        .board = BOARD_PC, .ram_bytes = RAM, .bios_path = f->bios, .serial_in_fd = -1,
    };
    cfg.pc.hda = f->disk;
    char err[512];
    if (machine_create(&f->m, &cfg, err, sizeof(err))) {
        fprintf(stderr, "machine_create: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    machine_destroy(&f->m);
    unlink(f->bios);
    unlink(f->disk);
    free(f);
    return 0;
}

/* ---- guest access helpers ---- */

static void outb(struct fx *f, uint16_t port, uint8_t v) { ioport_write(&f->m.io, port, v, 1); }
static uint8_t inb(struct fx *f, uint16_t port) { return (uint8_t)ioport_read(&f->m.io, port, 1); }
static void outl(struct fx *f, uint16_t port, uint32_t v) { ioport_write(&f->m.io, port, v, 4); }
static uint32_t rd(struct fx *f, uint32_t a) { return memmap_read(&f->m.mem, a, 4); }
static void wr(struct fx *f, uint32_t a, uint32_t v) { memmap_write(&f->m.mem, a, v, 4); }

static void pci_w8(struct fx *f, uint8_t devfn, unsigned reg, uint8_t v)
{
    outl(f, 0xCF8, 0x80000000u | (uint32_t)devfn << 8 | (reg & 0xFC));
    outb(f, (uint16_t)(0xCFC + (reg & 3)), v);
}

static void pci_w32(struct fx *f, uint8_t devfn, unsigned reg, uint32_t v)
{
    outl(f, 0xCF8, 0x80000000u | (uint32_t)devfn << 8 | reg);
    outl(f, 0xCFC, v);
}

static void ioapic_w(struct fx *f, unsigned idx, uint32_t v)
{
    wr(f, IOAPIC_DEFAULT_BASE, idx);
    wr(f, IOAPIC_DEFAULT_BASE + 0x10, v);
}

/* Both 8259s as a BIOS programs them: vectors 0x08 and 0x70, everything unmasked. */
static void init_pics(struct fx *f)
{
    const uint8_t icw[2][4] = {{0x11, 0x08, 0x04, 0x01}, {0x11, 0x70, 0x02, 0x01}};
    for (int c = 0; c < 2; c++) {
        uint16_t base = c ? 0xA0 : 0x20;
        outb(f, base, icw[c][0]);
        for (int i = 1; i < 4; i++)
            outb(f, (uint16_t)(base + 1), icw[c][i]);
        outb(f, (uint16_t)(base + 1), 0x00);
    }
}

/* What SeaBIOS's smp_setup does: software-enable the APIC, LINT0 ExtINT, LINT1 NMI. */
static void virtual_wire(struct fx *f)
{
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_SVR, rd(f, LAPIC_DEFAULT_BASE + LAPIC_SVR) | APIC_SVR_ENABLE);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT0, 0x8700);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT1, 0x8400);
}

static int ack(struct fx *f) { return f->m.cpu.bus.intr_ack(f->m.cpu.bus.opaque); }

static void isa_irq(struct fx *f, unsigned irq, bool level)
{
    struct irq_line l = pc_isa_irq_line(f->m.pc, irq);
    irq_line_set(&l, level);
}

/* Runs `code` at 0000:1000 in real mode until its HLT (within `budget` instructions, all in
 * one slice); false if it stopped on `stop_vec`. */
static bool run_code_for(struct fx *f, const uint8_t *code, size_t len, int stop_vec,
                         uint64_t budget)
{
    struct cpu *c = &f->m.cpu;
    memmap_copy_to(&f->m.mem, CODE, code, len);
    cpu_set_seg_cache(c, SR_CS, 0, 0, 0xFFFF, SEG_P | SEG_S | (0xBu << 8));
    cpu_update_mode(c);
    c->eip = CODE;
    c->halted = false;
    c->eflags &= ~FL_IF;
    c->exit_on_hlt = true;
    c->stop_on_exception = stop_vec >= 0 ? 1u << stop_vec : 0;
    enum cpu_exit why = cpu_run(c, budget);
    c->stop_on_exception = 0;
    if (why == CPU_EXIT_EXCEPTION) {
        assert_int_equal(c->exc_vector, stop_vec);
        return false;
    }
    assert_int_equal(why, CPU_EXIT_HLT);
    return true;
}

static bool run_code(struct fx *f, const uint8_t *code, size_t len, int stop_vec)
{
    return run_code_for(f, code, len, stop_vec, 1000);
}

static uint32_t cpuid_edx(struct fx *f)
{
    static const uint8_t code[] = {0x66, 0xB8, 1, 0, 0, 0, 0x0F, 0xA2, 0xF4}; /* cpuid; hlt */
    assert_true(run_code(f, code, sizeof(code), -1));
    return f->m.cpu.regs[R_EDX];
}

/* WRMSR 0x1B with EDX:EAX = v; false if it raised #GP. */
static bool wrmsr_apic_base(struct fx *f, uint64_t v)
{
    uint8_t code[] = {
        0x66, 0xB9, 0x1B, 0, 0, 0,                  /* mov ecx, 0x1b */
        0x66, 0xB8, 0, 0, 0, 0,                     /* mov eax, lo */
        0x66, 0xBA, 0, 0, 0, 0,                     /* mov edx, hi */
        0x0F, 0x30, 0xF4,                           /* wrmsr; hlt */
    };
    uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
    memcpy(code + 8, &lo, 4);
    memcpy(code + 14, &hi, 4);
    return run_code(f, code, sizeof(code), EXC_GP);
}

static uint64_t rdmsr_apic_base(struct fx *f)
{
    static const uint8_t code[] = {0x66, 0xB9, 0x1B, 0, 0, 0, 0x0F, 0x32, 0xF4};
    assert_true(run_code(f, code, sizeof(code), -1));
    return (uint64_t)f->m.cpu.regs[R_EDX] << 32 | f->m.cpu.regs[R_EAX];
}

/* ---- the local APIC ---- */

static void apic_present_and_relocatable(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rdmsr_apic_base(f), 0xFEE00900u); /* base, BSP, enabled */
    assert_true(cpuid_edx(f) & (1u << 9));
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), LAPIC_VERSION_VALUE);
    assert_int_equal(rd(f, IOAPIC_DEFAULT_BASE), 0); /* IOREGSEL */
    ioapic_w(f, IOAPIC_REG_VER, 0);
    assert_int_equal(rd(f, IOAPIC_DEFAULT_BASE + 0x10), IOAPIC_VERSION_VALUE);

    /* Moved: the window follows, and what it covered (RAM here) comes back. */
    wr(f, 0x00800000, 0x12345678);
    assert_true(wrmsr_apic_base(f, 0x00800900));
    assert_int_equal(rdmsr_apic_base(f), 0x00800900);
    assert_int_equal(rd(f, 0x00800000 + LAPIC_VER), LAPIC_VERSION_VALUE);
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), 0xFFFFFFFFu); /* unassigned now */
    assert_true(wrmsr_apic_base(f, 0xFEE00900));
    assert_int_equal(rd(f, 0x00800000), 0x12345678);

    /* Reserved bits fault and change nothing; BSP is read-only. */
    assert_false(wrmsr_apic_base(f, 0xFEE00901));
    assert_false(wrmsr_apic_base(f, 0x1FEE00900ull));
    assert_true(wrmsr_apic_base(f, 0xFEE00800));
    assert_int_equal(rdmsr_apic_base(f), 0xFEE00900u);

    /* Globally disabled: no window, and CPUID stops announcing the APIC. */
    assert_true(wrmsr_apic_base(f, 0xFEE00000));
    assert_int_equal(rdmsr_apic_base(f), 0xFEE00100u);
    assert_false(cpuid_edx(f) & (1u << 9));
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), 0xFFFFFFFFu);

    /* A hard reset brings the power-on state back. */
    char err[256];
    assert_int_equal(machine_reset(&f->m, err, sizeof(err)), 0);
    assert_int_equal(f->m.cpu.apic_base, 0xFEE00900u);
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), LAPIC_VERSION_VALUE);
}

/* The 8259 reaches the CPU through LINT0: directly while the APIC is software-disabled (after
 * reset), as ExtINT in virtual-wire mode, not at all when LINT0 is masked. */
static void pic_through_lint0(void **state)
{
    struct fx *f = *state;
    struct cpu *c = &f->m.cpu;
    init_pics(f);
    assert_false(c->intr_line);
    isa_irq(f, 1, true);
    assert_true(c->intr_line);
    assert_int_equal(ack(f), 0x09);
    assert_false(c->intr_line);
    outb(f, 0x20, 0x20); /* EOI */
    isa_irq(f, 1, false);

    virtual_wire(f);
    isa_irq(f, 12, true); /* slave: vector 0x74 */
    assert_true(c->intr_line);
    assert_int_equal(ack(f), 0x74);
    outb(f, 0xA0, 0x20);
    outb(f, 0x20, 0x20);
    isa_irq(f, 12, false);

    wr(f, LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT0, 0x18700); /* masked */
    isa_irq(f, 1, true);
    assert_false(c->intr_line);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_LVT_LINT0, 0x8700);
    assert_true(c->intr_line);
    assert_int_equal(ack(f), 0x09);
}

/* ISA IRQs reach the I/O APIC as SeaBIOS's MP table says: IRQ n on pin n, IRQ 0 on pin 2. */
static void isa_irqs_to_ioapic(void **state)
{
    struct fx *f = *state;
    struct cpu *c = &f->m.cpu;
    init_pics(f);
    outb(f, 0x21, 0xFF); /* the 8259s masked, as an APIC OS leaves them */
    outb(f, 0xA1, 0xFF);
    virtual_wire(f);
    ioapic_w(f, IOAPIC_REG_REDTBL + 2 * 2, 0x30);  /* pin 2: vector 0x30, edge, unmasked */
    ioapic_w(f, IOAPIC_REG_REDTBL + 2 * 4, 0x34);  /* pin 4 (COM1) */
    ioapic_w(f, IOAPIC_REG_REDTBL + 2 * 14, 0xA000 | 0x3E); /* pin 14: level, low */

    isa_irq(f, 0, true); /* the PIT's line */
    assert_true(c->intr_line);
    assert_int_equal(ack(f), 0x30);
    assert_false(c->intr_line);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_EOI, 0);
    isa_irq(f, 0, false);
    assert_int_equal(f->m.pc->ioapic.lines & 1, 0); /* nothing on pin 0 */

    isa_irq(f, 4, true);
    assert_int_equal(ack(f), 0x34);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_EOI, 0);
    isa_irq(f, 4, false);

    /* Level: still asserted at EOI, so the EOI broadcast makes the I/O APIC send it again. */
    isa_irq(f, 14, true);
    assert_int_equal(ack(f), 0x3E);
    assert_false(c->intr_line);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_EOI, 0);
    assert_true(c->intr_line);
    assert_int_equal(ack(f), 0x3E);
    isa_irq(f, 14, false);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_EOI, 0);
    assert_false(c->intr_line);
}

/* The timer counts on the virtual clock, and an idle APIC arms no timer at all. */
static void lapic_timer(void **state)
{
    struct fx *f = *state;
    struct vclock *clk = &f->m.pc->clock;
    for (struct vtimer *t = clk->armed; t; t = t->next)
        assert_ptr_not_equal(t, &f->m.pc->lapic.timer);
    virtual_wire(f);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_TIMER_DCR, 0x0B);     /* divide by 1 */
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_LVT_TIMER, 0x20050); /* periodic, vector 0x50 */
    uint64_t t0 = vclock_now(clk);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_TIMER_ICR, 100000);  /* 1 ms at 100 MHz */
    vclock_advance(clk, t0 + 999999);
    assert_false(f->m.cpu.intr_line);
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_TIMER_CCR), 1);
    vclock_advance(clk, t0 + 1000000);
    assert_true(f->m.cpu.intr_line);
    assert_int_equal(ack(f), 0x50);
    wr(f, LAPIC_DEFAULT_BASE + LAPIC_EOI, 0);
    vclock_advance(clk, t0 + 2000000);
    assert_int_equal(ack(f), 0x50);
}

/* Time moves on inside a slice: a guest timing itself by port 0x61's refresh bit (toggling
 * every 15.085 us) sees it toggle while the CPU runs, not only between the run loop's slices. */
static void time_runs_within_a_slice(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {
        0xB9, 100, 0,             /* mov cx, 100 */
        0xE4, 0x61, 0x24, 0x10,   /* in al, 0x61; and al, 0x10 */
        0x88, 0xC4,               /* mov ah, al */
        0xE4, 0x61, 0x24, 0x10,   /* l: in al, 0x61; and al, 0x10 */
        0x38, 0xE0, 0x74, 0xF8,   /* cmp al, ah; je l */
        0x88, 0xC4, 0xE2, 0xF4,   /* mov ah, al; loop l */
        0xF4,                     /* hlt */
    };
    struct vclock *clk = &f->m.pc->clock;
    uint64_t t0 = vclock_now(clk), i0 = f->m.cpu.icount;
    assert_true(run_code_for(f, code, sizeof(code), -1, 10000000));
    uint64_t ran = f->m.cpu.icount - i0;
    assert_in_range(ran, 99 * 15085, 101 * 15085);
    assert_int_equal(vclock_now(clk) - t0, ran * PC_NS_PER_INSN);
    /* A CPU reset sets the counter back: time stands, it does not jump, until the run loop's
     * next advance takes the counter from there. */
    vclock_advance(clk, vclock_now(clk));
    uint64_t t1 = vclock_now(clk);
    cpu_reset(&f->m.cpu);
    assert_int_equal(vclock_now(clk), t1);
    vclock_advance(clk, t1);
    f->m.cpu.icount += 5;
    assert_int_equal(vclock_now(clk), t1 + 5);
}

/* A BAR placed over the APICs stays unmapped; they keep answering. */
static void bar_over_apics(void **state)
{
    struct fx *f = *state;
    pci_w32(f, PC_VGA_DEVFN, PCI_BAR0, 0xFE000000); /* 16 MiB: covers both windows */
    pci_w32(f, PC_VGA_DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    assert_int_equal(f->m.pc->vga_lfb_at, 0);
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), LAPIC_VERSION_VALUE);
    ioapic_w(f, IOAPIC_REG_VER, 0);
    assert_int_equal(rd(f, IOAPIC_DEFAULT_BASE + 0x10), IOAPIC_VERSION_VALUE);
    pci_w32(f, PC_VGA_DEVFN, PCI_BAR0, 0xFD000000);
    assert_int_equal(f->m.pc->vga_lfb_at, 0xFD000000u);
    wr(f, 0xFD000000, 0xCAFEF00D);
    assert_int_equal(rd(f, 0xFD000000), 0xCAFEF00D);
    pci_w32(f, PC_VGA_DEVFN, PCI_BAR0, 0xFE000000);
    assert_int_equal(f->m.pc->vga_lfb_at, 0);
    assert_int_equal(rd(f, LAPIC_DEFAULT_BASE + LAPIC_VER), LAPIC_VERSION_VALUE);
}

/* ---- PCI INTx ---- */

static void add_fake(struct fx *f, unsigned k, uint8_t devfn, uint8_t pin)
{
    struct pci_function *fn = &f->fake[k];
    pci_function_init(fn, 0x1234, (uint16_t)(0x5000 + k), 0, 0xFF0000, 0);
    fn->config[PCI_INTERRUPT_PIN] = pin;
    assert_int_equal(pci_bus_add(&f->m.pc->pci, fn, devfn), 0);
}

static void intx(struct fx *f, uint8_t devfn, bool level)
{
    struct irq_line l = pc_pci_irq_line(f->m.pc, devfn);
    irq_line_set(&l, level);
}

static uint8_t pic_irr(struct fx *f, bool slave)
{
    uint16_t base = slave ? 0xA0 : 0x20;
    outb(f, base, 0x0A); /* OCW3: read IRR */
    return inb(f, base);
}

/* The swizzle of QEMU's i440FX board, which SeaBIOS's PIRQ table and routing assume. */
static void pirq_swizzle(void **state)
{
    (void)state;
    assert_int_equal(piix3_pirq_of(0x08, 1), 0); /* slot 1 INTA: PIRQA */
    assert_int_equal(piix3_pirq_of(0x10, 1), 1); /* slot 2 INTA: PIRQB */
    assert_int_equal(piix3_pirq_of(0x18, 1), 2);
    assert_int_equal(piix3_pirq_of(0x20, 1), 3);
    assert_int_equal(piix3_pirq_of(0x28, 1), 0);
    assert_int_equal(piix3_pirq_of(0x18, 2), 3); /* slot 3 INTB: PIRQD */
    assert_int_equal(piix3_pirq_of(0x18, 4), 1);
    assert_int_equal(piix3_pirq_of(0x1D, 1), 2); /* the function number does not matter */
}

static void pci_intx_routing(void **state)
{
    struct fx *f = *state;
    struct pc *pc = f->m.pc;
    init_pics(f);
    add_fake(f, 0, 0x18, 1); /* slot 3 INTA -> PIRQC */
    add_fake(f, 1, 0x20, 4); /* slot 4 INTD -> PIRQC too */
    add_fake(f, 2, 0x28, 1); /* slot 5 INTA -> PIRQA */

    /* Unrouted (reset: bit 7 set): only the I/O APIC's PIRQ pins see it. */
    intx(f, 0x18, true);
    assert_int_equal(pc->ioapic.lines, 1u << 18);
    assert_int_equal(pic_irr(f, true), 0);
    assert_false(f->m.cpu.intr_line);

    /* SeaBIOS's routing: PIRQA/B -> IRQ 10, PIRQC/D -> IRQ 11, level in the ELCR. */
    pci_w32(f, PIIX3_DEVFN, 0x60, 0x0B0B0A0A);
    outb(f, 0x4D1, 0x0C);
    assert_int_equal(pic_irr(f, true), 1u << 3); /* IRQ 11 */
    assert_int_equal(pc->ioapic.lines, 1u << 18 | 1u << 11);
    assert_true(f->m.cpu.intr_line);
    assert_int_equal(ack(f), 0x73);

    /* Shared: the line stays up until both devices on PIRQC let go. */
    intx(f, 0x20, true);
    intx(f, 0x18, false);
    assert_int_equal(pc->ioapic.lines, 1u << 18 | 1u << 11);
    intx(f, 0x20, false);
    assert_int_equal(pc->ioapic.lines, 0);
    assert_int_equal(pic_irr(f, true), 0);

    /* PIRQA on IRQ 10 and pin 16; steering it elsewhere moves the ISA side only. */
    intx(f, 0x28, true);
    assert_int_equal(pc->ioapic.lines, 1u << 16 | 1u << 10);
    pci_w8(f, PIIX3_DEVFN, 0x60, 0x05);
    assert_int_equal(pc->ioapic.lines, 1u << 16 | 1u << 5);
    assert_int_equal(pic_irr(f, false), 1u << 5);
    pci_w8(f, PIIX3_DEVFN, 0x60, 0x80); /* disabled */
    assert_int_equal(pc->ioapic.lines, 1u << 16);
    assert_int_equal(pic_irr(f, false), 0);
    intx(f, 0x28, false);
    assert_int_equal(pc->ioapic.lines, 0);

    /* A function without an interrupt pin, or an empty slot, raises nothing. */
    intx(f, 0x30, true);
    intx(f, IDE_PCI_DEVFN, true);
    assert_int_equal(pc->ioapic.lines, 0);
}

/* An ISA device and a PCI device on the same IRQ: the 8259 input is their OR. */
static void isa_and_pci_share(void **state)
{
    struct fx *f = *state;
    init_pics(f);
    add_fake(f, 0, 0x08 * 3, 1); /* PIRQC */
    pci_w8(f, PIIX3_DEVFN, 0x62, 5);
    outb(f, 0x4D0, 0x20);
    isa_irq(f, 5, true);
    intx(f, 0x18, true);
    isa_irq(f, 5, false);
    assert_int_equal(pic_irr(f, false), 1u << 5);
    intx(f, 0x18, false);
    assert_int_equal(pic_irr(f, false), 0);
}

/* ---- COM2, bus-master DMA ---- */

static void com2_on_irq3(void **state)
{
    struct fx *f = *state;
    init_pics(f);
    outb(f, 0x2FF, 0x5A); /* scratch */
    assert_int_equal(inb(f, 0x2FF), 0x5A);
    assert_int_equal(inb(f, 0x3FF) == 0x5A, false); /* a different UART from COM1 */
    outb(f, 0x2FC, UART_MCR_OUT2);
    outb(f, 0x2F9, UART_IER_THRE);
    assert_int_equal(pic_irr(f, false), 1u << 3);
    assert_true(f->m.pc->ioapic.lines & (1u << 3));
    assert_int_equal(inb(f, 0x2FA) & 0x0F, UART_IIR_THRE);
    assert_int_equal(pic_irr(f, false), 0);
}

static void ide_bus_master_dma(void **state)
{
    struct fx *f = *state;
    struct pc *pc = f->m.pc;
    init_pics(f);
    /* BAR4 at 0xC000, I/O and bus master enabled, as SeaBIOS sets it up. */
    pci_w32(f, IDE_PCI_DEVFN, 0x20, 0xC001);
    pci_w32(f, IDE_PCI_DEVFN, 0x04, 0x0005);
    /* Two PRDs: sector 3 to 0x20000, sector 4 to 0x30000 (end of table). */
    const uint32_t prd[4] = {0x20000, 512, 0x30000, 0x80000000u | 512};
    memmap_copy_to(&f->m.mem, 0x10000, prd, sizeof(prd));
    outl(f, 0xC004, 0x10000);
    outb(f, 0xC002, BM_ST_INT | BM_ST_ERROR);
    outb(f, 0x1F6, 0xE0); /* LBA, master */
    outb(f, 0x1F2, 2);
    outb(f, 0x1F3, 3);
    outb(f, 0x1F4, 0);
    outb(f, 0x1F5, 0);
    outb(f, 0x1F7, 0xC8); /* READ DMA */
    outb(f, 0xC000, BM_CMD_WRITE | BM_CMD_START);
    vclock_advance(&pc->clock, vclock_now(&pc->clock) + 1000000);
    assert_int_equal(inb(f, 0xC002) & (BM_ST_INT | BM_ST_ERROR | BM_ST_ACTIVE), BM_ST_INT);
    assert_int_equal(pic_irr(f, true), 1u << 6); /* IRQ 14 */
    assert_int_equal(inb(f, 0x1F7), 0x50);
    uint8_t b[512];
    memmap_copy_from(&f->m.mem, 0x20000, b, sizeof(b));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], disk_byte(3, i));
    memmap_copy_from(&f->m.mem, 0x30000, b, sizeof(b));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], disk_byte(4, i));
    assert_int_equal(pic_irr(f, true), 0); /* reading status acknowledged it */
}

/* ---- resets ---- */

static void reset_requests(void **state)
{
    struct fx *f = *state;
    struct machine *m = &f->m;
    outb(f, 0xCF9, 0x02); /* SRST alone only arms */
    assert_false(m->reset_requested);
    outb(f, 0xCF9, 0x06);
    assert_true(m->reset_requested);
    assert_true(m->reset_hard);
    m->reset_requested = false;
    m->cpu.stop_requested = false;

    outb(f, 0xCF9, 0x04);
    assert_true(m->reset_requested);
    assert_false(m->reset_hard);
    m->reset_requested = false;

    outb(f, 0x92, 0x01); /* fast INIT on the rising edge */
    assert_true(m->reset_requested);
    assert_false(m->reset_hard);
    m->reset_requested = false;
    outb(f, 0x92, 0x01);
    assert_false(m->reset_requested);

    outb(f, 0x64, 0xFE); /* the 8042's reset pulse */
    assert_true(m->reset_requested);
    assert_true(m->reset_hard);
    m->reset_requested = false;
    m->cpu.stop_requested = false;

    /* INIT restarts the CPU and the local APIC but keeps a relocated APIC base. */
    virtual_wire(f);
    assert_true(wrmsr_apic_base(f, 0xFED00900));
    m->cpu.regs[R_EAX] = 0x1234;
    pc_cpu_init(m);
    assert_int_equal(m->cpu.regs[R_EAX], 0);
    assert_int_equal(m->cpu.eip, 0xFFF0);
    assert_int_equal(m->cpu.apic_base, 0xFED00900u);
    assert_int_equal(rd(f, 0xFED00000 + LAPIC_SVR), 0xFF); /* software-disabled again */

    /* CMOS shutdown codes that ask the BIOS to resume are recognised. */
    mc146818_cmos_write(&m->pc->rtc, CMOS_SHUTDOWN_STATUS, 0x0A);
    assert_true(pc_reset_is_resume(m));
    mc146818_cmos_write(&m->pc->rtc, CMOS_SHUTDOWN_STATUS, 0x00);
    assert_false(pc_reset_is_resume(m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(apic_present_and_relocatable, setup, teardown),
        cmocka_unit_test_setup_teardown(pic_through_lint0, setup, teardown),
        cmocka_unit_test_setup_teardown(isa_irqs_to_ioapic, setup, teardown),
        cmocka_unit_test_setup_teardown(lapic_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(time_runs_within_a_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(bar_over_apics, setup, teardown),
        cmocka_unit_test(pirq_swizzle),
        cmocka_unit_test_setup_teardown(pci_intx_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(isa_and_pci_share, setup, teardown),
        cmocka_unit_test_setup_teardown(com2_on_irq3, setup, teardown),
        cmocka_unit_test_setup_teardown(ide_bus_master_dma, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_requests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
