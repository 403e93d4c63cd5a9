/* Unit tests of the fw_cfg device (devices/fw_cfg.c) through its ports, as SeaBIOS uses them:
 * the signature and id, the file directory, items read by selector, the DMA interface (reads,
 * skips, writes, errors against a hostile guest) and save/load. Expected byte layouts are
 * those of QEMU's docs/specs/fw_cfg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/fw_cfg.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

#define RAM_SIZE (2u << 20)
#define MMIO_BASE RAM_SIZE /* a device window right after RAM */

struct fixture {
    struct memmap mem;
    struct ioport_bus io;
    struct fw_cfg fw;
    unsigned mmio_writes;
    int test_key, wr_key;
};

static uint32_t mmio_read(void *opaque, uint32_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return 0;
}

static void mmio_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    (void)off;
    (void)v;
    (void)size;
    ((struct fixture *)opaque)->mmio_writes++;
}

static const struct mmio_ops counting_mmio = {mmio_read, mmio_write};

static const struct fw_cfg_e820 e820[] = {
    {0x0, 0x9FC00, 1},
    {0x100000, RAM_SIZE - 0x100000, 1},
    {0xFFFC0000, 0x40000, 2},
};

static const char test_data[] = "hello, firmware";

static int build(struct fixture *f, bool dma)
{
    memset(f, 0, sizeof(*f));
    if (memmap_init(&f->mem, RAM_SIZE) ||
        memmap_add_mmio(&f->mem, MMIO_BASE, 0x10000, &counting_mmio, f) != 0)
        return -1;
    ioport_init(&f->io);
    if (fw_cfg_attach(&f->fw, &f->io, &f->mem, dma))
        return -1;
    uint8_t wr[8] = {0};
    if (fw_cfg_set_ram_size(&f->fw, RAM_SIZE) || fw_cfg_set_cpus(&f->fw, 1, 4) ||
        fw_cfg_set_boot_menu(&f->fw, true, 2500) || fw_cfg_set_e820(&f->fw, e820, 3) ||
        fw_cfg_set_bootorder(&f->fw, "/pci@i0cf8/ide@1,1/drive@0/disk@0\nHALT"))
        return -1;
    f->test_key = fw_cfg_add_file(&f->fw, "etc/test", test_data, sizeof(test_data) - 1);
    f->wr_key = fw_cfg_add_file_writable(&f->fw, "etc/wr", wr, sizeof(wr));
    return f->test_key < 0 || f->wr_key < 0 ? -1 : 0;
}

static void unbuild(struct fixture *f)
{
    fw_cfg_destroy(&f->fw);
    memmap_destroy(&f->mem);
}

static int setup(void **state)
{
    struct fixture *f = malloc(sizeof(*f));
    if (!f || build(f, true))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unbuild(f);
    free(f);
    return 0;
}

static void sel(struct fixture *f, uint16_t key) { ioport_write(&f->io, 0x510, key, 2); }
static uint8_t rd8(struct fixture *f) { return (uint8_t)ioport_read(&f->io, 0x511, 1); }

static void rd(struct fixture *f, void *buf, size_t n)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = rd8(f);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t bswap(uint32_t v) { return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24; }

/* Writes an FWCfgDmaAccess at `desc` and starts it as SeaBIOS does (one write of the low half
 * of the big-endian address register, unless the descriptor lies above 4 GiB). Returns the
 * control word found there afterwards. */
static uint32_t dma(struct fixture *f, uint64_t desc, uint32_t control, uint32_t length, uint64_t addr)
{
    uint8_t d[16];
    put_be32(d, control);
    put_be32(d + 4, length);
    put_be32(d + 8, (uint32_t)(addr >> 32));
    put_be32(d + 12, (uint32_t)addr);
    if (desc + 16 <= RAM_SIZE)
        memcpy(f->mem.ram + desc, d, sizeof(d));
    if (desc >> 32)
        ioport_write(&f->io, 0x514, bswap((uint32_t)(desc >> 32)), 4);
    ioport_write(&f->io, 0x518, bswap((uint32_t)desc), 4);
    return desc + 16 <= RAM_SIZE ? be32(f->mem.ram + desc) : 0xDEADBEEF;
}

static void signature_and_id(void **state)
{
    struct fixture *f = *state;
    char sig[5] = {0};
    sel(f, FW_CFG_SIGNATURE);
    rd(f, sig, 4);
    assert_string_equal(sig, "QEMU");
    assert_int_equal(rd8(f), 0); /* past the end */
    /* Reset selects the signature too. */
    device_reset(&f->fw.dev);
    rd(f, sig, 4);
    assert_string_equal(sig, "QEMU");
    /* The old write flag (bit 14) names the same item. */
    sel(f, FW_CFG_SIGNATURE | 0x4000);
    rd(f, sig, 4);
    assert_string_equal(sig, "QEMU");

    /* id: traditional interface and DMA, little-endian. A wide read returns the next bytes
     * in order. */
    sel(f, FW_CFG_ID);
    assert_int_equal(ioport_read(&f->io, 0x511, 4), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);

    /* The DMA register reads "QEMU CFG" big-endian. */
    assert_int_equal(ioport_read(&f->io, 0x514, 4), 0x554D4551); /* 'Q' at 0x514 */
    assert_int_equal(ioport_read(&f->io, 0x518, 4), 0x47464320); /* ' ' at 0x518 */
    assert_int_equal(ioport_read(&f->io, 0x51B, 1), 'G');

    /* An unknown key reads zeros; so does a byte-wide selector write (not a selection). */
    sel(f, 0x1234);
    assert_int_equal(ioport_read(&f->io, 0x511, 4), 0);
    sel(f, FW_CFG_SIGNATURE);
    ioport_write(&f->io, 0x510, FW_CFG_ID, 1);
    assert_int_equal(rd8(f), 'Q');
    /* Data-port writes are ignored. */
    sel(f, FW_CFG_SIGNATURE);
    ioport_write(&f->io, 0x511, 'X', 1);
    sel(f, FW_CFG_SIGNATURE);
    assert_int_equal(rd8(f), 'Q');
}

static void standard_items(void **state)
{
    struct fixture *f = *state;
    uint8_t b[8];
    sel(f, FW_CFG_RAM_SIZE);
    rd(f, b, 8);
    assert_int_equal(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24, RAM_SIZE);
    assert_int_equal(b[4] | b[5] | b[6] | b[7], 0);
    sel(f, FW_CFG_NB_CPUS);
    assert_int_equal(ioport_read(&f->io, 0x511, 2), 1);
    sel(f, FW_CFG_MAX_CPUS);
    assert_int_equal(ioport_read(&f->io, 0x511, 2), 4);
    sel(f, FW_CFG_BOOT_MENU);
    assert_int_equal(ioport_read(&f->io, 0x511, 2), 1);
    assert_non_null(fw_cfg_find_file(&f->fw, "etc/boot-cpus"));
    const struct fw_cfg_item *w = fw_cfg_find_file(&f->fw, "etc/boot-menu-wait");
    assert_non_null(w);
    assert_int_equal(w->len, 2);
    assert_int_equal(w->data[0] | w->data[1] << 8, 2500);

    /* Keys that the machine may not take. */
    assert_int_equal(fw_cfg_add_i32(&f->fw, FW_CFG_FILE_DIR, 0), -1);
    assert_int_equal(fw_cfg_add_i32(&f->fw, FW_CFG_FILE_FIRST, 0), -1);
    assert_int_equal(fw_cfg_add_i32(&f->fw, 0x4003, 0), -1);
    assert_int_equal(fw_cfg_add_i32(&f->fw, 0xC000, 0), -1);
    assert_int_equal(fw_cfg_add_i32(&f->fw, FW_CFG_IRQ0_OVERRIDE, 1), 0);
    assert_int_equal(fw_cfg_add_file(&f->fw, "", "x", 1), -1);
    char longname[FW_CFG_NAME_LEN + 1];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[FW_CFG_NAME_LEN] = 0;
    assert_int_equal(fw_cfg_add_file(&f->fw, longname, "x", 1), -1);
    longname[FW_CFG_NAME_LEN - 1] = 0; /* 55 characters fit */
    assert_true(fw_cfg_add_file(&f->fw, longname, "x", 1) > 0);
}

struct dir_entry {
    uint32_t size;
    uint16_t key;
    char name[56];
};

static unsigned read_dir(struct fixture *f, struct dir_entry *out, unsigned max)
{
    uint8_t b[64];
    sel(f, FW_CFG_FILE_DIR);
    rd(f, b, 4);
    unsigned n = be32(b);
    for (unsigned i = 0; i < n && i < max; i++) {
        rd(f, b, 64);
        out[i].size = be32(b);
        out[i].key = (uint16_t)(b[4] << 8 | b[5]);
        assert_int_equal(b[6] | b[7], 0);
        memcpy(out[i].name, b + 8, 56);
        assert_int_equal(out[i].name[55], 0);
    }
    return n;
}

static void file_directory(void **state)
{
    struct fixture *f = *state;
    struct dir_entry d[16];
    unsigned n = read_dir(f, d, 16);
    /* etc/boot-cpus, etc/boot-menu-wait, etc/e820, bootorder, etc/test, etc/wr */
    assert_int_equal(n, 6);
    static const char *names[] = {"etc/boot-cpus", "etc/boot-menu-wait", "etc/e820", "bootorder",
                                  "etc/test", "etc/wr"};
    static const uint32_t sizes[] = {2, 2, 60, 39, 15, 8};
    for (unsigned i = 0; i < n; i++) {
        assert_string_equal(d[i].name, names[i]);
        assert_int_equal(d[i].key, FW_CFG_FILE_FIRST + i);
        assert_int_equal(d[i].size, sizes[i]);
    }
    assert_int_equal(rd8(f), 0); /* the directory ends there */

    /* Replacing a file keeps its key and updates the listed size. */
    assert_int_equal(fw_cfg_add_file(&f->fw, "etc/test", "abc", 3), f->test_key);
    n = read_dir(f, d, 16);
    assert_int_equal(n, 6);
    assert_int_equal(d[4].size, 3);
    /* A new one is appended. */
    assert_int_equal(fw_cfg_add_file(&f->fw, "etc/new", "z", 1), FW_CFG_FILE_FIRST + 6);
    assert_int_equal(read_dir(f, d, 16), 7);
    assert_string_equal(d[6].name, "etc/new");
}

static void read_file_by_selector(void **state)
{
    struct fixture *f = *state;
    struct dir_entry d[16];
    unsigned n = read_dir(f, d, 16);
    int e820_key = -1, boot_key = -1;
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(d[i].name, "etc/e820"))
            e820_key = d[i].key;
        if (!strcmp(d[i].name, "bootorder"))
            boot_key = d[i].key;
    }
    assert_true(e820_key > 0 && boot_key > 0);

    /* etc/e820: packed little-endian {u64 address, u64 length, u32 type}. */
    sel(f, (uint16_t)e820_key);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t b[20];
        rd(f, b, 20);
        uint64_t a = 0, l = 0;
        for (int k = 7; k >= 0; k--) {
            a = a << 8 | b[k];
            l = l << 8 | b[8 + k];
        }
        assert_int_equal(a, e820[i].address);
        assert_int_equal(l, e820[i].length);
        assert_int_equal(b[16] | b[17] << 8 | b[18] << 16 | (uint32_t)b[19] << 24, e820[i].type);
    }
    assert_int_equal(rd8(f), 0);

    /* bootorder: the paths with a terminating NUL. */
    char s[64];
    sel(f, (uint16_t)boot_key);
    rd(f, s, 39);
    assert_string_equal(s, "/pci@i0cf8/ide@1,1/drive@0/disk@0\nHALT");

    /* A fresh selection starts over at offset 0. */
    sel(f, (uint16_t)f->test_key);
    rd(f, s, 5);
    sel(f, (uint16_t)f->test_key);
    rd(f, s, sizeof(test_data) - 1);
    s[sizeof(test_data) - 1] = 0;
    assert_string_equal(s, test_data);
}

static void dma_read(void **state)
{
    struct fixture *f = *state;
    memset(f->mem.ram + 0x2000, 0xEE, 64);
    /* Select and read in one operation, as SeaBIOS's qemu_cfg_read_entry. */
    uint32_t ctl = dma(f, 0x1000, (uint32_t)f->test_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
                       5, 0x2000);
    assert_int_equal(ctl, 0); /* cleared: done, no error */
    assert_memory_equal(f->mem.ram + 0x2000, "hello", 5);
    assert_int_equal(f->mem.ram[0x2005], 0xEE);
    assert_int_equal(f->fw.dma_addr, 0); /* the register is 0 after an operation */

    /* Skip, then read on from the current offset; past the end the device reads zeros. */
    assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_SKIP, 2, 0), 0);
    assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 12, 0x2010), 0);
    assert_memory_equal(f->mem.ram + 0x2010, "firmware\0\0\0\0", 12);
    /* The port interface sees the same offset. */
    assert_int_equal(rd8(f), 0);

    /* A read longer than a page past the item's end, crossing pages. */
    memset(f->mem.ram + 0x3000, 0xEE, 0x3000);
    assert_int_equal(dma(f, 0x1000, (uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT |
                                        FW_CFG_DMA_READ, 0x2000, 0x3800), 0);
    assert_memory_equal(f->mem.ram + 0x3800, "QEMU", 4);
    for (unsigned i = 4; i < 0x2000; i++)
        assert_int_equal(f->mem.ram[0x3800 + i], 0);
    assert_int_equal(f->mem.ram[0x37FF], 0xEE);
    assert_int_equal(f->mem.ram[0x5800], 0xEE);

    /* Select alone; control zero (nothing to do) also completes. */
    assert_int_equal(dma(f, 0x1000, (uint32_t)FW_CFG_ID << 16 | FW_CFG_DMA_SELECT, 0, 0), 0);
    assert_int_equal(rd8(f), 3);
    assert_int_equal(dma(f, 0x1000, 0, 100, 0x2000), 0);

    /* A 64-bit address as two dword writes, the high half first. */
    ioport_write(&f->io, 0x514, bswap(0), 4);
    assert_int_equal(dma(f, 0x1100, (uint32_t)f->test_key << 16 | FW_CFG_DMA_SELECT |
                                        FW_CFG_DMA_READ, 2, 0x2100), 0);
    assert_memory_equal(f->mem.ram + 0x2100, "he", 2);

    /* Only dword writes at 0x514 and 0x518 touch the register. */
    memset(f->mem.ram + 0x2200, 0xEE, 4);
    uint8_t d[16] = {0, 0, 0, FW_CFG_DMA_READ, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0x22, 0x00};
    memcpy(f->mem.ram + 0x1000, d, sizeof(d));
    ioport_write(&f->io, 0x518, bswap(0x1000) & 0xFFFF, 2);
    ioport_write(&f->io, 0x51A, 0x0010, 2);
    ioport_write(&f->io, 0x518, 0x10, 1);
    ioport_write(&f->io, 0x51B, 0x10, 1);
    assert_int_equal(f->mem.ram[0x2200], 0xEE);
    assert_int_equal(f->mem.ram[0x1003], FW_CFG_DMA_READ);
    ioport_write(&f->io, 0x518, bswap(0x1000), 4);
    assert_int_equal(be32(f->mem.ram + 0x1000), 0);
    assert_memory_equal(f->mem.ram + 0x2200, "llo", 3); /* offset 2 of etc/test onwards */
}

static void dma_bad_addresses(void **state)
{
    struct fixture *f = *state;
    uint8_t *end = f->mem.ram + RAM_SIZE - 0x100;
    memset(end, 0xEE, 0x100);
    uint32_t rdctl = (uint32_t)f->test_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ;

    /* Crossing the end of RAM into a device window: error, and neither the RAM part nor the
     * device is touched. */
    assert_int_equal(dma(f, 0x1000, rdctl, 0x200, RAM_SIZE - 0x100), FW_CFG_DMA_ERROR);
    for (unsigned i = 0; i < 0x100; i++)
        assert_int_equal(end[i], 0xEE);
    assert_int_equal(f->mmio_writes, 0);
    /* Wholly in the device window, or unassigned space, or ROM-like nowhere: error. */
    assert_int_equal(dma(f, 0x1000, rdctl, 4, MMIO_BASE), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(f, 0x1000, rdctl, 4, 0x10000000), FW_CFG_DMA_ERROR);
    assert_int_equal(f->mmio_writes, 0);
    /* Above 4 GiB, and ranges that wrap around it. */
    assert_int_equal(dma(f, 0x1000, rdctl, 4, 0x100000000ull), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(f, 0x1000, rdctl, 4, 0xFFFFFFFE), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(f, 0x1000, rdctl, 0xFFFFFFFF, 0x2000), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(f, 0x1000, rdctl, 0xFFFFFFFF, 0), FW_CFG_DMA_ERROR);
    assert_int_equal(f->mem.ram[0], 0);
    /* A failed read does not consume the item. */
    assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 5, 0x2000), 0);
    assert_memory_equal(f->mem.ram + 0x2000, "hello", 5);

    /* A descriptor that is not in memory: nothing to read, nowhere to report. */
    dma(f, RAM_SIZE - 8, rdctl, 4, 0x2000);
    dma(f, MMIO_BASE, rdctl, 4, 0x2000);
    dma(f, 0xFFFFFFF8, rdctl, 4, 0x2000);
    dma(f, 0x100001000ull, rdctl, 4, 0x2000);
    assert_int_equal(f->mmio_writes, 0);
    assert_int_equal(f->fw.dma_addr, 0);
    for (unsigned i = 0; i < 0x100; i++)
        assert_int_equal(end[i], 0xEE);
}

static void dma_write(void **state)
{
    struct fixture *f = *state;
    memcpy(f->mem.ram + 0x2000, "ABCDEFGHIJ", 10);
    /* Read-only items refuse writes. */
    uint32_t ctl = dma(f, 0x1000, (uint32_t)f->test_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE,
                       4, 0x2000);
    assert_int_equal(ctl, FW_CFG_DMA_ERROR);
    assert_memory_equal(fw_cfg_find(&f->fw, (uint16_t)f->test_key)->data, "hell", 4);

    /* A writable file: written at the current offset, in place. */
    ctl = dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, 0x2000);
    assert_int_equal(ctl, 0);
    ctl = dma(f, 0x1000, FW_CFG_DMA_WRITE, 4, 0x2004);
    assert_int_equal(ctl, 0);
    assert_memory_equal(fw_cfg_find(&f->fw, (uint16_t)f->wr_key)->data, "ABCDEFGH", 8);
    /* Past the end: dropped whole, with the error bit. */
    ctl = dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP, 6, 0);
    assert_int_equal(ctl, 0);
    ctl = dma(f, 0x1000, FW_CFG_DMA_WRITE, 4, 0x2006);
    assert_int_equal(ctl, FW_CFG_DMA_ERROR);
    assert_memory_equal(fw_cfg_find(&f->fw, (uint16_t)f->wr_key)->data, "ABCDEFGH", 8);
    /* From outside RAM: error, contents unchanged. */
    ctl = dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4,
              RAM_SIZE - 2);
    assert_int_equal(ctl, FW_CFG_DMA_ERROR);
    ctl = dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4,
              0x1FFFFFFFFull);
    assert_int_equal(ctl, FW_CFG_DMA_ERROR);
    assert_memory_equal(fw_cfg_find(&f->fw, (uint16_t)f->wr_key)->data, "ABCDEFGH", 8);
    /* Read and write both set: it is a read. */
    ctl = dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ |
                             FW_CFG_DMA_WRITE, 8, 0x3000);
    assert_int_equal(ctl, 0);
    assert_memory_equal(f->mem.ram + 0x3000, "ABCDEFGH", 8);
}

static void no_dma(void **state)
{
    (void)state;
    struct fixture *f = malloc(sizeof(*f));
    assert_non_null(f);
    assert_int_equal(build(f, false), 0);
    sel(f, FW_CFG_ID);
    assert_int_equal(ioport_read(&f->io, 0x511, 4), FW_CFG_ID_TRADITIONAL);
    assert_int_equal(ioport_read(&f->io, 0x514, 4), 0xFFFFFFFF); /* nothing there */
    memset(f->mem.ram + 0x2000, 0xEE, 8);
    dma(f, 0x1000, (uint32_t)f->test_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 5, 0x2000);
    assert_int_equal(f->mem.ram[0x2000], 0xEE);
    unbuild(f);
    free(f);
}

static void save_load(void **state)
{
    struct fixture *f = *state;
    memcpy(f->mem.ram + 0x2000, "WXYZ", 4);
    assert_int_equal(dma(f, 0x1000, (uint32_t)f->wr_key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE,
                         4, 0x2000), 0);
    sel(f, (uint16_t)f->test_key);
    char s[16] = {0};
    rd(f, s, 7);
    ioport_write(&f->io, 0x514, bswap(0x1), 4); /* high half pending */

    uint8_t buf[256];
    size_t n = device_save(&f->fw.dev, NULL, 0);
    assert_true(n <= sizeof(buf));
    assert_int_equal(device_save(&f->fw.dev, buf, sizeof(buf)), n);

    struct fixture *g = malloc(sizeof(*g));
    assert_non_null(g);
    assert_int_equal(build(g, true), 0);
    assert_int_equal(device_load(&g->fw.dev, buf, n), 0);
    /* The selection and offset carry on where they were. */
    rd(g, s, 8);
    assert_string_equal(s, "firmware");
    assert_memory_equal(fw_cfg_find(&g->fw, (uint16_t)g->wr_key)->data, "WXYZ\0\0\0\0", 8);
    assert_int_equal(g->fw.dma_addr, 0x100000000ull);

    /* Damaged or mismatched records are refused and leave the device reset. */
    assert_int_equal(device_load(&g->fw.dev, buf, n - 1), -1);
    assert_int_equal(g->fw.selector, FW_CFG_SIGNATURE);
    assert_int_equal(g->fw.dma_addr, 0);
    uint8_t bad[256];
    memcpy(bad, buf, n);
    bad[6 + 2] = 0xFF; /* offset beyond the selected item */
    assert_int_equal(device_load(&g->fw.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 14] = 0; /* writable item count */
    assert_int_equal(device_load(&g->fw.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 16] ^= 1; /* writable item's key */
    assert_int_equal(device_load(&g->fw.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 18] = 9; /* writable item's size */
    assert_int_equal(device_load(&g->fw.dev, bad, n), -1);
    assert_memory_equal(fw_cfg_find(&g->fw, (uint16_t)g->wr_key)->data, "WXYZ\0\0\0\0", 8);

    /* A board whose writable file differs in size cannot take the state. */
    assert_int_equal(fw_cfg_add_file_writable(&g->fw, "etc/wr", "0123456789", 10), g->wr_key);
    assert_int_equal(device_load(&g->fw.dev, buf, n), -1);
    unbuild(g);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signature_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(standard_items, setup, teardown),
        cmocka_unit_test_setup_teardown(file_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(read_file_by_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(dma_read, setup, teardown),
        cmocka_unit_test_setup_teardown(dma_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(dma_write, setup, teardown),
        cmocka_unit_test(no_dma),
        cmocka_unit_test_setup_teardown(save_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
