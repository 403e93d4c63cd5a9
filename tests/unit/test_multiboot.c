/* Unit tests of the Multiboot loader (machine/multiboot.c): header search and validation, ELF
 * and a.out-kludge checks fed malformed images from memory, placement against the memory map,
 * what lands in guest RAM (segments, zeroed BSS, the information structure), and the CPU state
 * at the kernel's entry, checked by running two instructions there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "machine/multiboot.h"
#include "tests/support/testvm.h"

#define RAM (2u << 20)
#define IMG_MAX 0x3000
#define MBH 0x100   /* where the builders put the Multiboot header */
#define DATA 0x200  /* segment data in the file */
#define LOAD 0x100000u

struct img {
    uint8_t b[IMG_MAX];
    size_t len;
};

static void p16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void p32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t g32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void mb_header(struct img *m, size_t at, uint32_t flags)
{
    p32(m->b + at, MB_HEADER_MAGIC);
    p32(m->b + at + 4, flags);
    p32(m->b + at + 8, (uint32_t)-(MB_HEADER_MAGIC + flags));
}

static uint8_t *phdr(struct img *m, unsigned i) { return m->b + 52 + 32 * i; }

/* A valid kernel: one PT_LOAD of 0x100 file bytes at 1 MiB, 0x300 in memory (BSS 0x200),
 * entry at its start. The code there is `mov eax, [ebx]; hlt`; the rest is 0xAB. */
static void make_elf(struct img *m)
{
    memset(m, 0, sizeof(*m));
    m->len = DATA + 0x100;
    uint8_t *e = m->b;
    memcpy(e, "\x7f" "ELF", 4);
    e[4] = 1; /* ELFCLASS32 */
    e[5] = 1; /* little-endian */
    e[6] = 1;
    p16(e + 16, 2);  /* ET_EXEC */
    p16(e + 18, 3);  /* EM_386 */
    p32(e + 20, 1);
    p32(e + 24, LOAD); /* e_entry */
    p32(e + 28, 52);   /* e_phoff */
    p16(e + 40, 52);
    p16(e + 42, 32);
    p16(e + 44, 1);
    uint8_t *ph = phdr(m, 0);
    p32(ph, 1); /* PT_LOAD */
    p32(ph + 4, DATA);
    p32(ph + 8, LOAD);
    p32(ph + 12, LOAD);
    p32(ph + 16, 0x100);
    p32(ph + 20, 0x300);
    mb_header(m, MBH, MB_HF_PAGE_ALIGN | MB_HF_MEMINFO);
    memset(m->b + DATA, 0xAB, 0x100);
    memcpy(m->b + DATA, "\x8b\x03\xf4", 3);
}

/* The same code as a flat image whose header uses the a.out kludge: the file is loaded at
 * 1 MiB from its start, 0x100 bytes, BSS up to LOAD + 0x300. */
static void make_aout(struct img *m)
{
    memset(m, 0, sizeof(*m));
    m->len = 0x100;
    memcpy(m->b, "\x8b\x03\xf4", 3);
    uint32_t flags = MB_HF_MEMINFO | MB_HF_AOUT_KLUDGE;
    mb_header(m, 0x10, flags);
    p32(m->b + 0x10 + 12, LOAD + 0x10); /* header_addr */
    p32(m->b + 0x10 + 16, LOAD);        /* load_addr */
    p32(m->b + 0x10 + 20, LOAD + 0x100); /* load_end_addr */
    p32(m->b + 0x10 + 24, LOAD + 0x300); /* bss_end_addr */
    p32(m->b + 0x10 + 28, LOAD);         /* entry_addr */
}

static char err[512];
static struct mb_image mb;

static int parse(struct img *m) { return multiboot_parse(m->b, m->len, RAM, &mb, err, sizeof(err)); }

#define assert_rejected(m, text)                                                    \
    do {                                                                            \
        err[0] = 0;                                                                 \
        assert_int_equal(parse(m), -1);                                             \
        if (!strstr(err, text))                                                     \
            fail_msg("error \"%s\" does not mention \"%s\"", err, text);            \
    } while (0)

static void valid_elf(void **state)
{
    (void)state;
    static struct img m;
    make_elf(&m);
    assert_int_equal(parse(&m), 0);
    assert_false(mb.aout_kludge);
    assert_int_equal(mb.header_offset, MBH);
    assert_int_equal(mb.entry, LOAD);
    assert_int_equal(mb.nseg, 1);
    assert_int_equal(mb.seg[0].paddr, LOAD);
    assert_int_equal(mb.seg[0].filesz, 0x100);
    assert_int_equal(mb.seg[0].memsz, 0x300);
    assert_int_equal(mb.seg[0].offset, DATA);
}

static void header_search(void **state)
{
    (void)state;
    static struct img m;
    make_elf(&m);
    memset(m.b + MBH, 0, 12);
    assert_rejected(&m, "no Multiboot header");

    /* A wrong checksum is named as such. */
    make_elf(&m);
    p32(m.b + MBH + 8, g32(m.b + MBH + 8) + 1);
    assert_rejected(&m, "bad checksum");

    /* Headers must be longword-aligned. */
    make_elf(&m);
    memset(m.b + MBH, 0, 12);
    mb_header(&m, MBH + 2, MB_HF_MEMINFO);
    assert_rejected(&m, "no Multiboot header");

    /* ...and within the first 8192 bytes. */
    make_elf(&m);
    memset(m.b + MBH, 0, 12);
    m.len = 0x2100;
    mb_header(&m, 0x2000, MB_HF_MEMINFO);
    assert_rejected(&m, "no Multiboot header");

    /* Entirely: an a.out header whose address fields pass the 8 KiB mark is cut off. */
    make_elf(&m);
    memset(m.b + MBH, 0, 12);
    m.len = 0x2100;
    mb_header(&m, 0x1FF0, MB_HF_AOUT_KLUDGE);
    assert_rejected(&m, "cut off");

    /* A file that ends inside the header. */
    make_elf(&m);
    m.len = MBH + 8;
    assert_rejected(&m, "no Multiboot header");

    /* Required features bt86 does not know. */
    make_elf(&m);
    mb_header(&m, MBH, MB_HF_MEMINFO | 0x8);
    assert_rejected(&m, "flags 0x0008");

    /* The video request is accepted and flagged (bt86 reports no video mode). */
    make_elf(&m);
    mb_header(&m, MBH, MB_HF_VIDEO);
    assert_int_equal(parse(&m), 0);
    assert_true(mb.wants_video);
    /* Optional high bits are ignored. */
    make_elf(&m);
    mb_header(&m, MBH, 0x80000000u);
    assert_int_equal(parse(&m), 0);
}

static void bad_elf_headers(void **state)
{
    (void)state;
    static struct img m;
    make_elf(&m);
    m.b[0] = 'X';
    assert_rejected(&m, "not an ELF file");

    make_elf(&m);
    memmove(m.b + 36, m.b + MBH, 12); /* header inside a truncated ELF header */
    m.len = 48;
    assert_rejected(&m, "ELF header truncated");

    make_elf(&m);
    m.b[4] = 2;
    assert_rejected(&m, "ELF class 2");

    make_elf(&m);
    m.b[5] = 2;
    assert_rejected(&m, "little-endian");

    make_elf(&m);
    p16(m.b + 18, 62); /* EM_X86_64 */
    assert_rejected(&m, "ELF machine 62");

    make_elf(&m);
    p16(m.b + 16, 3);
    assert_rejected(&m, "ET_DYN");

    make_elf(&m);
    p16(m.b + 16, 1);
    assert_rejected(&m, "ELF type 1");

    make_elf(&m);
    p16(m.b + 44, 0);
    assert_rejected(&m, "no program headers");

    make_elf(&m);
    p16(m.b + 42, 16);
    assert_rejected(&m, "program header size");

    /* Program headers past the end of the file, including a huge offset that would wrap. */
    make_elf(&m);
    p16(m.b + 44, 200);
    assert_rejected(&m, "run past the end");
    make_elf(&m);
    p32(m.b + 28, 0xFFFFFFF0u);
    assert_rejected(&m, "run past the end");

    make_elf(&m);
    p32(phdr(&m, 0), 3); /* PT_INTERP */
    assert_rejected(&m, "interpreter");

    make_elf(&m);
    p32(phdr(&m, 0), 4); /* PT_NOTE only */
    assert_rejected(&m, "no loadable");

    make_elf(&m);
    p32(m.b + 24, 0x200000);
    assert_rejected(&m, "entry point 0x00200000 is outside");
}

static void bad_segments(void **state)
{
    (void)state;
    static struct img m;
    /* Data beyond the end of the file: truncated, or an offset that would wrap. */
    make_elf(&m);
    m.len = DATA + 0x80;
    assert_rejected(&m, "truncated?");
    make_elf(&m);
    p32(phdr(&m, 0) + 4, 0xFFFFFF80u);
    assert_rejected(&m, "runs past the end of the file");

    make_elf(&m);
    p32(phdr(&m, 0) + 16, 0x400);
    assert_rejected(&m, "exceeds its memory size");

    /* Beyond RAM (2 MiB), absurdly large, wrapping 4 GiB. */
    make_elf(&m);
    p32(phdr(&m, 0) + 20, RAM);
    assert_rejected(&m, "outside the guest's available RAM");
    make_elf(&m);
    p32(phdr(&m, 0) + 20, 0xFFFFFFFFu);
    assert_rejected(&m, "past 4 GiB");
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0xFFFFFF00u);
    p32(phdr(&m, 0) + 8, 0xFFFFFF00u);
    p32(m.b + 24, 0xFFFFFF00u);
    assert_rejected(&m, "past 4 GiB");
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0xFFFF0000u); /* fits in 32 bits, not in RAM (the BIOS ROM area) */
    assert_rejected(&m, "outside the guest's available RAM");

    /* The legacy hole and the EBDA are not available RAM, even though RAM exists there. */
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0xA0000);
    assert_rejected(&m, "0x000a0000-0x000a0300 is outside");
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0x9FB00);
    assert_rejected(&m, "outside");
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0xFFE00); /* runs from the BIOS area into extended memory */
    assert_rejected(&m, "outside");
    /* Base memory is fine. */
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0x20000);
    p32(phdr(&m, 0) + 8, 0x20000);
    p32(m.b + 24, 0x20000);
    assert_int_equal(parse(&m), 0);

    /* Two segments that overlap. */
    make_elf(&m);
    p16(m.b + 44, 2);
    memcpy(phdr(&m, 1), phdr(&m, 0), 32);
    p32(phdr(&m, 1) + 12, LOAD + 0x2FF);
    p32(phdr(&m, 1) + 8, LOAD + 0x2FF);
    assert_rejected(&m, "overlaps another segment");
    /* Adjacent is fine; a zero-size segment is ignored wherever it points. */
    p32(phdr(&m, 1) + 12, LOAD + 0x300);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(mb.nseg, 2);
    p32(phdr(&m, 1) + 12, 0xFFFFFFF0u);
    p32(phdr(&m, 1) + 16, 0);
    p32(phdr(&m, 1) + 20, 0);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(mb.nseg, 1);

    /* Too many segments. */
    static struct img many;
    make_elf(&many);
    unsigned n = MB_MAX_SEGMENTS + 1;
    memmove(many.b + 0x800, many.b + DATA, 0x100); /* room for the program headers */
    many.len = 0x900;
    memmove(many.b + 0x700, many.b + MBH, 12);
    memset(many.b + MBH, 0, 12);
    p16(many.b + 44, (uint16_t)n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = phdr(&many, i);
        p32(ph, 1);
        p32(ph + 4, 0x800);
        p32(ph + 8, LOAD + i * 0x1000);
        p32(ph + 12, LOAD + i * 0x1000);
        p32(ph + 16, 0x10);
        p32(ph + 20, 0x10);
    }
    assert_rejected(&many, "more than");
}

static void aout_kludge(void **state)
{
    (void)state;
    static struct img m;
    make_aout(&m);
    assert_int_equal(parse(&m), 0);
    assert_true(mb.aout_kludge);
    assert_int_equal(mb.nseg, 1);
    assert_int_equal(mb.seg[0].offset, 0);
    assert_int_equal(mb.seg[0].filesz, 0x100);
    assert_int_equal(mb.seg[0].memsz, 0x300);
    assert_int_equal(mb.entry, LOAD);

    /* load_end_addr 0: the rest of the file; bss_end_addr 0: no BSS. */
    p32(m.b + 0x10 + 20, 0);
    p32(m.b + 0x10 + 24, 0);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(mb.seg[0].filesz, 0x100);
    assert_int_equal(mb.seg[0].memsz, 0x100);

    make_aout(&m);
    p32(m.b + 0x10 + 16, LOAD + 0x20);
    assert_rejected(&m, "above header_addr");
    make_aout(&m);
    p32(m.b + 0x10 + 16, LOAD - 0x1000); /* would start 4 KiB before the file */
    assert_rejected(&m, "before the file");
    make_aout(&m);
    p32(m.b + 0x10 + 20, LOAD + 0x101);
    assert_rejected(&m, "the file has only");
    make_aout(&m);
    p32(m.b + 0x10 + 20, LOAD - 1);
    assert_rejected(&m, "below load_addr");
    make_aout(&m);
    p32(m.b + 0x10 + 24, LOAD + 0x80);
    assert_rejected(&m, "bss_end_addr");
    make_aout(&m);
    p32(m.b + 0x10 + 28, LOAD + 0x300);
    assert_rejected(&m, "entry_addr");
    make_aout(&m);
    p32(m.b + 0x10 + 24, LOAD + RAM);
    assert_rejected(&m, "outside the guest's available RAM");
    /* Placed inside the file, not at the start: the file offset follows from header_addr. */
    make_aout(&m);
    p32(m.b + 0x10 + 12, 0x20010);
    p32(m.b + 0x10 + 16, 0x20008);
    p32(m.b + 0x10 + 20, 0x20010 + 0xF0);
    p32(m.b + 0x10 + 24, 0);
    p32(m.b + 0x10 + 28, 0x20010);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(mb.seg[0].offset, 8);
    assert_int_equal(mb.seg[0].filesz, 0xF8);
}

static void memory_map(void **state)
{
    (void)state;
    struct mb_range r[MB_MAX_RANGES];
    assert_int_equal(multiboot_memory_map(RAM, r), 4);
    assert_int_equal(r[0].base, 0);
    assert_int_equal(r[0].len, 0x9FC00);
    assert_int_equal(r[0].type, MB_MEM_AVAILABLE);
    assert_int_equal(r[1].type, MB_MEM_RESERVED);
    assert_int_equal(r[2].base, 0xF0000);
    assert_int_equal(r[2].type, MB_MEM_RESERVED);
    assert_int_equal(r[3].base, 0x100000);
    assert_int_equal(r[3].len, RAM - 0x100000);
    /* With exactly 1 MiB there is no extended memory to report. */
    assert_int_equal(multiboot_memory_map(1u << 20, r), 3);
}

static void load_and_enter(void **state)
{
    (void)state;
    static struct img m;
    static struct testvm vm;
    make_elf(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(testvm_init(&vm, RAM), 0);
    /* Garbage where the BSS goes: the loader must zero it. */
    memset(vm.mem.ram + LOAD, 0xCC, 0x1000);
    uint32_t info = 0;
    assert_int_equal(multiboot_load(&vm.mem, m.b, m.len, &mb, "kernel a=b", &info, err,
                                    sizeof(err)), 0);
    const uint8_t *ram = vm.mem.ram;
    assert_memory_equal(ram + LOAD, m.b + DATA, 0x100);
    for (unsigned i = 0x100; i < 0x300; i++)
        assert_int_equal(ram[LOAD + i], 0);
    assert_int_equal(ram[LOAD + 0x300], 0xCC); /* nothing past memsz */

    assert_int_equal(info, 0x9000);
    const uint8_t *mbi = ram + info;
    assert_int_equal(g32(mbi + MBI_FLAGS),
                     MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_LOADER_NAME);
    assert_int_equal(g32(mbi + MBI_MEM_LOWER), 639);
    assert_int_equal(g32(mbi + MBI_MEM_UPPER), 1024);
    assert_string_equal((const char *)ram + g32(mbi + MBI_CMDLINE), "kernel a=b");
    assert_string_equal((const char *)ram + g32(mbi + MBI_LOADER_NAME), "bt86");
    assert_int_equal(g32(mbi + MBI_MMAP_LENGTH), 4 * 24);
    const uint8_t *e = ram + g32(mbi + MBI_MMAP_ADDR);
    assert_int_equal(g32(e), 20);          /* size, not counting itself */
    assert_int_equal(g32(e + 4), 0);       /* base, low */
    assert_int_equal(g32(e + 12), 0x9FC00);
    assert_int_equal(g32(e + 20), 1);
    e += 3 * 24;
    assert_int_equal(g32(e + 4), 0x100000);
    assert_int_equal(g32(e + 8), 0);
    assert_int_equal(g32(e + 12), RAM - 0x100000);
    assert_int_equal(g32(e + 20), 1);

    /* Entered: `mov eax, [ebx]; hlt` reads the info flags through the flat DS. */
    struct cpu *c = &vm.cpu;
    cpu_reset(c);
    multiboot_enter(c, mb.entry, info);
    assert_int_equal(c->regs[R_EAX], MB_BOOT_MAGIC);
    assert_int_equal(c->regs[R_EBX], info);
    assert_true(c->cr0 & CR0_PE);
    assert_false(c->cr0 & CR0_PG);
    assert_false(cpu_get_eflags(c) & (FL_IF | FL_VM));
    assert_true(c->code32);
    assert_true(c->stack32);
    assert_int_equal(c->cpl, 0);
    assert_int_equal(c->a20_mask, 0xFFFFFFFFu);
    for (int s = 0; s < SR_COUNT; s++) {
        assert_int_equal(c->seg[s].base, 0);
        assert_int_equal(c->seg[s].limit, 0xFFFFFFFFu);
    }
    assert_int_equal(cpu_run(c, 10), CPU_EXIT_HLT);
    assert_int_equal(c->regs[R_EAX], g32(mbi));
    assert_int_equal(c->eip, LOAD + 3);

    /* Loading again (a reset) restores the image and the BSS over what the kernel did. */
    memset(vm.mem.ram + LOAD, 0x55, 0x300);
    assert_int_equal(multiboot_load(&vm.mem, m.b, m.len, &mb, NULL, &info, err, sizeof(err)), 0);
    assert_memory_equal(ram + LOAD, m.b + DATA, 0x100);
    assert_int_equal(ram[LOAD + 0x2FF], 0);
    assert_false(g32(ram + info + MBI_FLAGS) & MB_INFO_CMDLINE);

    /* Over-long command lines are refused. */
    static char longline[MB_MAX_CMDLINE + 2];
    memset(longline, 'x', sizeof(longline) - 1);
    assert_int_equal(multiboot_load(&vm.mem, m.b, m.len, &mb, longline, &info, err,
                                    sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than"));
    testvm_destroy(&vm);
}

static void info_placement(void **state)
{
    (void)state;
    static struct img m;
    static struct testvm vm;
    /* A kernel over the preferred spot gets its information after its last byte. */
    make_elf(&m);
    p32(phdr(&m, 0) + 12, 0x8000);
    p32(phdr(&m, 0) + 8, 0x8000);
    p32(phdr(&m, 0) + 20, 0x1800);
    p32(m.b + 24, 0x8000);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(testvm_init(&vm, RAM), 0);
    uint32_t info = 0;
    assert_int_equal(multiboot_load(&vm.mem, m.b, m.len, &mb, "k", &info, err, sizeof(err)), 0);
    assert_int_equal(info, 0xA000);
    assert_string_equal((const char *)vm.mem.ram + g32(vm.mem.ram + info + MBI_CMDLINE), "k");

    /* The a.out image loads the same bytes as the ELF one. */
    make_aout(&m);
    assert_int_equal(parse(&m), 0);
    memset(vm.mem.ram + LOAD, 0xCC, 0x1000);
    assert_int_equal(multiboot_load(&vm.mem, m.b, m.len, &mb, "k", &info, err, sizeof(err)), 0);
    assert_memory_equal(vm.mem.ram + LOAD, m.b, 0x100);
    assert_int_equal(vm.mem.ram[LOAD + 0x2FF], 0);
    assert_int_equal(vm.mem.ram[LOAD + 0x300], 0xCC);
    testvm_destroy(&vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_elf),
        cmocka_unit_test(header_search),
        cmocka_unit_test(bad_elf_headers),
        cmocka_unit_test(bad_segments),
        cmocka_unit_test(aout_kludge),
        cmocka_unit_test(memory_map),
        cmocka_unit_test(load_and_enter),
        cmocka_unit_test(info_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
