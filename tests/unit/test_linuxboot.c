/* Unit tests of the Linux boot protocol loader (machine/linuxboot.c): the setup header parser
 * fed malformed images, the memory layout (initrd placement, RAM and command-line limits),
 * the fields written into the setup header, the option ROM checks, and bt86's own option ROM
 * (roms/linuxboot.bin, given as argv[1]) run in real mode against fw_cfg: it must copy every
 * piece with DMA and enter the setup code as the boot protocol says, or give up cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/fw_cfg.h"
#include "devices/ioport.h"
#include "machine/linuxboot.h"
#include "tests/support/testvm.h"

#define SETUP_SECTS 4
#define SETUP_LEN ((SETUP_SECTS + 1) * 512)
#define KERNEL_LEN 0x2000
#define IMG_LEN (SETUP_LEN + KERNEL_LEN)

static const char *rom_path;
static uint8_t img[IMG_LEN];
static char err[512];

static void p16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void p32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t g32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* A well-formed bzImage of protocol 2.15. The setup code is two HLTs where the real one jumps
 * over the header (0x200), so a test sees where the ROM entered it. */
static void make_image(void)
{
    memset(img, 0, sizeof(img));
    img[LH_SETUP_SECTS] = SETUP_SECTS;
    p32(img + LH_SYSSIZE, KERNEL_LEN / 16);
    p16(img + LH_BOOT_FLAG, 0xAA55);
    img[0x200] = img[0x201] = 0xF4;
    memcpy(img + LH_HEADER, "HdrS", 4);
    p16(img + LH_VERSION, 0x020F);
    img[LH_LOADFLAGS] = LINUX_LF_LOADED_HIGH;
    p32(img + LH_CODE32_START, 0x100000);
    p32(img + LH_INITRD_ADDR_MAX, 0x7FFFFFFF);
    p32(img + LH_KERNEL_ALIGNMENT, 0x1000000);
    img[LH_RELOCATABLE] = 1;
    p32(img + LH_CMDLINE_SIZE, 2047);
    p32(img + LH_PREF_ADDRESS, 0x1000000);
    p32(img + LH_INIT_SIZE, 0x800000);
    for (unsigned i = 0; i < KERNEL_LEN; i++)
        img[SETUP_LEN + i] = (uint8_t)(i * 7 + 1);
}

static int parse_len(size_t len, struct linux_image *li)
{
    err[0] = 0;
    return linux_parse(img, len, li, err, sizeof(err));
}

#define assert_rejected_len(len, text)                                              \
    do {                                                                            \
        struct linux_image li_;                                                     \
        assert_int_equal(parse_len(len, &li_), -1);                                 \
        if (!strstr(err, text))                                                     \
            fail_msg("error \"%s\" does not mention \"%s\"", err, text);            \
    } while (0)
#define assert_rejected(text) assert_rejected_len(sizeof(img), text)

static void valid_image(void **state)
{
    (void)state;
    make_image();
    struct linux_image li;
    assert_true(linux_is_bzimage(img, sizeof(img)));
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(li.version, 0x020F);
    assert_int_equal(li.setup_len, SETUP_LEN);
    assert_int_equal(li.kernel_len, KERNEL_LEN);
    assert_int_equal(li.initrd_addr_max, 0x7FFFFFFF);
    assert_int_equal(li.cmdline_size, 2047);
    assert_int_equal(li.pref_address, 0x1000000);
    assert_int_equal(li.init_size, 0x800000);
    assert_true(li.relocatable);
    /* setup_sects 0 means 4. */
    img[LH_SETUP_SECTS] = 0;
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(li.setup_len, 5 * 512);
}

static void malformed_headers(void **state)
{
    (void)state;
    make_image();
    assert_rejected_len(0x100, "no \"HdrS\"");
    memcpy(img + LH_HEADER, "HdrX", 4);
    assert_false(linux_is_bzimage(img, sizeof(img)));
    assert_rejected("no \"HdrS\"");

    make_image();
    p16(img + LH_BOOT_FLAG, 0x1234);
    assert_rejected("boot flag is 0x1234");

    make_image();
    p16(img + LH_VERSION, 0x0201);
    assert_rejected("protocol 2.01 is too old");

    make_image();
    img[LH_LOADFLAGS] = 0;
    assert_rejected("zImage");

    make_image();
    assert_rejected_len(0x240, "end inside the Linux setup header");
    assert_rejected_len(SETUP_LEN, "ends within the 2560 bytes of setup code");
    assert_rejected_len(SETUP_LEN + KERNEL_LEN - 16, "announces 8192 bytes");

    make_image();
    p32(img + LH_SYSSIZE, 0);
    assert_rejected("syssize is 0");
    p32(img + LH_SYSSIZE, 0xFFFFFFFF); /* 64 GiB: no overflow into a small number */
    assert_rejected("announces 68719476720 bytes");

    make_image();
    img[LH_SETUP_SECTS] = 255;
    assert_rejected("larger than");

    make_image();
    p32(img + LH_INITRD_ADDR_MAX, 0x1000);
    assert_rejected("initrd_addr_max 0x1000 is below 1 MiB");

    make_image();
    p32(img + LH_CMDLINE_SIZE, 0);
    assert_rejected("cmdline_size is 0");

    make_image();
    p32(img + LH_PREF_ADDRESS + 4, 1);
    assert_rejected("above 4 GiB");

    /* Old protocols: fields they lack take the documented defaults. */
    make_image();
    p16(img + LH_VERSION, 0x0202);
    struct linux_image li;
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(li.initrd_addr_max, 0x37FFFFFF);
    assert_int_equal(li.cmdline_size, 255);
    assert_int_equal(li.init_size, 0);
    assert_false(li.relocatable);
    /* 2.02/2.03 have a 16-bit syssize: the upper half is something else. */
    p32(img + LH_SYSSIZE, 0xABCD0000u | (KERNEL_LEN / 16));
    assert_int_equal(parse_len(sizeof(img), &li), 0);
}

static void layout(void **state)
{
    (void)state;
    make_image();
    struct linux_image li;
    struct linux_layout lo;
    assert_int_equal(parse_len(sizeof(img), &li), 0);

    /* 128 MiB: the initrd ends page-aligned below the top 1 MiB. */
    assert_int_equal(linux_plan(&li, 128u << 20, 5000, 10, &lo, err, sizeof(err)), 0);
    assert_int_equal(lo.setup_addr, LINUX_SETUP_ADDR);
    assert_int_equal(lo.kernel_addr, LINUX_KERNEL_ADDR);
    assert_int_equal(lo.cmdline_addr, LINUX_CMDLINE_ADDR);
    assert_int_equal(lo.cmdline_len, 11);
    assert_int_equal(lo.initrd_len, 5000);
    assert_int_equal(lo.initrd_addr, (127u << 20) - 0x2000);
    assert_int_equal(lo.initrd_addr % 4096, 0);
    assert_int_equal(lo.kernel_end, 0x1000000 + 0x800000);

    /* initrd_addr_max below the top of RAM: the initrd's last byte is at or below it. */
    p32(img + LH_INITRD_ADDR_MAX, 0x37FFFFFF);
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(linux_plan(&li, 2048u << 20, 0x100000, 0, &lo, err, sizeof(err)), 0);
    assert_int_equal(lo.initrd_addr + lo.initrd_len, 0x38000000);

    /* No initrd. */
    assert_int_equal(linux_plan(&li, 128u << 20, 0, 0, &lo, err, sizeof(err)), 0);
    assert_int_equal(lo.initrd_addr, 0);
    assert_int_equal(lo.initrd_len, 0);

    /* Not enough RAM for the kernel (pref_address 16 MiB + init_size 8 MiB). */
    assert_int_equal(linux_plan(&li, 16u << 20, 0, 0, &lo, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "give at least -m 25"));
    /* ... or for the initrd above it. */
    assert_int_equal(linux_plan(&li, 32u << 20, 10u << 20, 0, &lo, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the initrd (10485760 bytes) does not fit in RAM"));
    assert_non_null(strstr(err, "-m 35"));
    /* ... or below initrd_addr_max. */
    p32(img + LH_INITRD_ADDR_MAX, 0x01FFFFFF);
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(linux_plan(&li, 256u << 20, 16u << 20, 0, &lo, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "initrd_addr_max 0x1ffffff"));
    /* Enormous initrd lengths do not wrap. */
    assert_int_equal(linux_plan(&li, 256u << 20, SIZE_MAX, 0, &lo, err, sizeof(err)), -1);

    /* Command line longer than cmdline_size. */
    assert_int_equal(linux_plan(&li, 128u << 20, 0, 2047, &lo, err, sizeof(err)), 0);
    assert_int_equal(linux_plan(&li, 128u << 20, 0, 2048, &lo, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "accepts at most 2047"));
}

static void patch_fields(void **state)
{
    (void)state;
    make_image();
    struct linux_image li;
    struct linux_layout lo;
    assert_int_equal(parse_len(sizeof(img), &li), 0);
    assert_int_equal(linux_plan(&li, 64u << 20, 4096, 5, &lo, err, sizeof(err)), 0);
    uint8_t setup[SETUP_LEN];
    memcpy(setup, img, SETUP_LEN);
    linux_patch_setup(setup, &li, &lo);
    assert_int_equal(setup[LH_TYPE_OF_LOADER], LINUX_LOADER_TYPE);
    assert_int_equal(setup[LH_LOADFLAGS], LINUX_LF_LOADED_HIGH | LINUX_LF_CAN_USE_HEAP);
    assert_int_equal(g16(setup + LH_HEAP_END_PTR), LINUX_HEAP_END_PTR);
    assert_int_equal(g32(setup + LH_CMD_LINE_PTR), LINUX_CMDLINE_ADDR);
    assert_int_equal(g32(setup + LH_RAMDISK_IMAGE), lo.initrd_addr);
    assert_int_equal(g32(setup + LH_RAMDISK_SIZE), 4096);
    /* Nothing else changed. */
    setup[LH_TYPE_OF_LOADER] = img[LH_TYPE_OF_LOADER];
    setup[LH_LOADFLAGS] = img[LH_LOADFLAGS];
    memset(setup + LH_HEAP_END_PTR, 0, 2);
    memset(setup + LH_CMD_LINE_PTR, 0, 4);
    memset(setup + LH_RAMDISK_IMAGE, 0, 8);
    assert_memory_equal(setup, img, SETUP_LEN);
}

static uint8_t *read_rom(size_t *len)
{
    FILE *f = fopen(rom_path, "rb");
    if (!f)
        fail_msg("cannot open the option ROM %s", rom_path);
    static uint8_t buf[65536];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    uint8_t *r = malloc(*len);
    assert_non_null(r);
    memcpy(r, buf, *len);
    return r;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void rom_checks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rom = read_rom(&len);
    assert_int_equal(len % 512, 0);
    assert_int_equal(linux_prepare_rom(rom, len, err, sizeof(err)), 0);
    assert_int_equal(sum(rom, len), 0);
    uint16_t pnp = g16(rom + 0x1A);
    assert_memory_equal(rom + pnp, "$PnP", 4);
    assert_int_equal(sum(rom + pnp, rom[pnp + 5] * 16u), 0);
    assert_int_not_equal(g16(rom + pnp + 0x1A), 0); /* a BEV */

    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, rom, len);
    bad[1] = 0x55;
    assert_int_equal(linux_prepare_rom(bad, len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "signature"));
    memcpy(bad, rom, len);
    bad[2] = 7;
    assert_int_equal(linux_prepare_rom(bad, len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "size byte"));
    memcpy(bad, rom, len);
    bad[pnp] = 'x';
    assert_int_equal(linux_prepare_rom(bad, len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no PnP header"));
    memcpy(bad, rom, len);
    p16(bad + 0x1A, (uint16_t)(len - 8)); /* a header running off the end */
    assert_int_equal(linux_prepare_rom(bad, len, err, sizeof(err)), -1);
    assert_int_equal(linux_prepare_rom(bad, 100, err, sizeof(err)), -1);
    free(bad);
    free(rom);
}

/* ---- the option ROM itself, in real mode ---- */

#define VM_RAM (8u << 20)
#define ROM_SEG 0xC800u
#define RET_ADDR 0x600u  /* where a failing ROM returns to: a HLT */
#define INT10_ADDR 0x700u /* the video BIOS stub: counts characters */

struct romvm {
    struct testvm *vm;
    struct ioport_bus io;
    struct fw_cfg fw;
    unsigned printed;
};

static uint32_t count_port_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0;
}

static void count_port_write(void *opaque, uint16_t port, uint32_t v, unsigned size)
{
    (void)port;
    (void)v;
    (void)size;
    ((struct romvm *)opaque)->printed++;
}

static const struct ioport_ops count_ops = {count_port_read, count_port_write};

static void romvm_build(struct romvm *r, bool dma, bool kernel)
{
    memset(r, 0, sizeof(*r));
    r->vm = testvm_new(VM_RAM);
    assert_non_null(r->vm);
    ioport_init(&r->io);
    assert_int_equal(fw_cfg_attach(&r->fw, &r->io, &r->vm->mem, dma), 0);
    assert_int_equal(ioport_register(&r->io, 0xE9, 1, &count_ops, r), 0);
    struct cpu *c = &r->vm->cpu;
    c->bus.opaque = &r->io;
    c->bus.port_in = ioport_read;
    c->bus.port_out = ioport_write;
    size_t len;
    uint8_t *rom = read_rom(&len);
    if (kernel) {
        make_image();
        static uint8_t initrd[5000];
        for (unsigned i = 0; i < sizeof(initrd); i++)
            initrd[i] = (uint8_t)(i ^ 0x5A);
        /* A kernel that needs little RAM, so that 8 MiB do. */
        p32(img + LH_PREF_ADDRESS, 0);
        p32(img + LH_INIT_SIZE, 0x10000);
        assert_int_equal(linux_setup_fw_cfg(&r->fw, VM_RAM, img, sizeof(img), initrd,
                                            sizeof(initrd), "console=ttyS0 hello", rom, len,
                                            err, sizeof(err)), 0);
    } else {
        assert_int_equal(linux_prepare_rom(rom, len, err, sizeof(err)), 0);
    }
    testvm_real_mode(r->vm);
    assert_true(memmap_copy_to(&r->vm->mem, ROM_SEG << 4, rom, (uint32_t)len));
    /* The video BIOS: each character goes out on port 0xE9 (out 0xE9, al; iret). */
    static const uint8_t int10[] = {0xE6, 0xE9, 0xCF};
    assert_true(memmap_copy_to(&r->vm->mem, INT10_ADDR, int10, sizeof(int10)));
    uint8_t vec[4] = {(uint8_t)INT10_ADDR, INT10_ADDR >> 8, 0, 0};
    assert_true(memmap_copy_to(&r->vm->mem, 0x10 * 4, vec, 4));
    uint8_t hlt = 0xF4;
    assert_true(memmap_copy_to(&r->vm->mem, RET_ADDR, &hlt, 1));
    /* SeaBIOS far-calls the BEV: the return address is on the stack. */
    uint8_t ret[4] = {(uint8_t)RET_ADDR, RET_ADDR >> 8, 0, 0};
    assert_true(memmap_copy_to(&r->vm->mem, 0x7000 - 4, ret, 4));
    c->regs[R_ESP] = 0x7000 - 4;
    uint16_t pnp = g16(rom + 0x1A);
    cpu_set_seg_cache(c, SR_CS, ROM_SEG, ROM_SEG << 4, 0xFFFF, SEG_P | SEG_S | (0xBu << 8));
    c->eip = g16(rom + pnp + 0x1A);
    free(rom);
}

static void romvm_free(struct romvm *r)
{
    fw_cfg_destroy(&r->fw);
    testvm_free(r->vm);
}

static void rom_boots_kernel(void **state)
{
    (void)state;
    static struct romvm r;
    romvm_build(&r, true, true);
    struct cpu *c = &r.vm->cpu;
    assert_int_equal(cpu_run(c, 100000), CPU_EXIT_HLT);
    /* In the setup code at setup segment + 0x20, offset 0 (its HLT at 0x200), with the data
     * segments and the stack on the setup segment and interrupts off. */
    uint16_t seg = LINUX_SETUP_ADDR >> 4;
    assert_int_equal(c->seg[SR_CS].sel, seg + 0x20);
    assert_int_equal(c->eip, 1);
    assert_int_equal(c->seg[SR_DS].sel, seg);
    assert_int_equal(c->seg[SR_ES].sel, seg);
    assert_int_equal(c->seg[SR_SS].sel, seg);
    assert_int_equal(c->seg[SR_FS].sel, seg);
    assert_int_equal(c->seg[SR_GS].sel, seg);
    assert_false(c->eflags & FL_IF);
    assert_int_equal(r.printed, 0);

    /* Everything in place: the patched setup, the kernel, the command line, the initrd. */
    uint8_t setup[SETUP_LEN];
    assert_true(memmap_copy_from(&r.vm->mem, LINUX_SETUP_ADDR, setup, SETUP_LEN));
    assert_int_equal(setup[LH_TYPE_OF_LOADER], LINUX_LOADER_TYPE);
    assert_int_equal(g32(setup + LH_CMD_LINE_PTR), LINUX_CMDLINE_ADDR);
    uint32_t initrd_at = g32(setup + LH_RAMDISK_IMAGE);
    assert_int_equal(g32(setup + LH_RAMDISK_SIZE), 5000);
    assert_int_equal(initrd_at, VM_RAM - LINUX_TOP_RESERVE - 0x2000);
    static uint8_t kernel[KERNEL_LEN];
    assert_true(memmap_copy_from(&r.vm->mem, LINUX_KERNEL_ADDR, kernel, KERNEL_LEN));
    assert_memory_equal(kernel, img + SETUP_LEN, KERNEL_LEN);
    char cmd[32];
    assert_true(memmap_copy_from(&r.vm->mem, LINUX_CMDLINE_ADDR, cmd, 20));
    assert_string_equal(cmd, "console=ttyS0 hello");
    uint8_t rd[5000];
    assert_true(memmap_copy_from(&r.vm->mem, initrd_at, rd, sizeof(rd)));
    for (unsigned i = 0; i < sizeof(rd); i++)
        assert_int_equal(rd[i], (uint8_t)(i ^ 0x5A));
    romvm_free(&r);
}

/* Without the DMA interface, or with no kernel in fw_cfg, the ROM says why and returns to the
 * BIOS with its registers intact. */
static void rom_gives_up(bool dma, bool kernel)
{
    static struct romvm r;
    romvm_build(&r, dma, kernel);
    struct cpu *c = &r.vm->cpu;
    c->regs[R_EBX] = 0x12345678;
    c->regs[R_EBP] = 0x9ABC;
    assert_int_equal(cpu_run(c, 100000), CPU_EXIT_HLT);
    assert_int_equal(c->seg[SR_CS].sel, 0);
    assert_int_equal(c->eip, RET_ADDR + 1);
    assert_int_equal(c->regs[R_ESP], 0x7000);
    assert_int_equal(c->regs[R_EBX], 0x12345678);
    assert_int_equal(c->regs[R_EBP], 0x9ABC);
    assert_int_equal(c->seg[SR_DS].sel, 0);
    assert_true(r.printed > 20); /* a message on the screen */
    romvm_free(&r);
}

static void rom_without_dma(void **state)
{
    (void)state;
    rom_gives_up(false, true);
}

static void rom_without_kernel(void **state)
{
    (void)state;
    rom_gives_up(true, false);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_linuxboot roms/linuxboot.bin\n");
        return 2;
    }
    rom_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_image),
        cmocka_unit_test(malformed_headers),
        cmocka_unit_test(layout),
        cmocka_unit_test(patch_fields),
        cmocka_unit_test(rom_checks),
        cmocka_unit_test(rom_boots_kernel),
        cmocka_unit_test(rom_without_dma),
        cmocka_unit_test(rom_without_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
