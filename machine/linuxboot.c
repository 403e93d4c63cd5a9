#include "machine/linuxboot.h"
#include "machine/image_util.h"

#include "machine/machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROM_NAME "genroms/linuxboot.bin"

bool linux_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= LH_HEADER + 4 && memcmp(img + LH_HEADER, "HdrS", 4) == 0;
}

int linux_parse(const uint8_t *img, size_t len, struct linux_image *li, char *err, size_t errlen)
{
    memset(li, 0, sizeof(*li));
    if (!linux_is_bzimage(img, len))
        return fail(err, errlen, "not a Linux kernel: no \"HdrS\" setup header at offset 0x%x",
                    LH_HEADER);
    if (le16(img + LH_BOOT_FLAG) != 0xAA55)
        return fail(err, errlen, "Linux setup header: boot flag is 0x%04x, not 0xAA55",
                    le16(img + LH_BOOT_FLAG));
    li->version = le16(img + LH_VERSION);
    if (li->version < 0x0202)
        return fail(err, errlen, "Linux boot protocol %u.%02u is too old: bt86 needs 2.02 or "
                    "later (a bzImage)", li->version >> 8, li->version & 0xFF);
    /* Every field up to cmdline_size (2.06) is read below; newer ones only by version. */
    size_t hdr_end = li->version >= 0x020A ? LH_INIT_SIZE + 4 : LH_CMDLINE_SIZE + 4;
    if (len < hdr_end)
        return fail(err, errlen, "truncated: %zu bytes end inside the Linux setup header", len);
    li->loadflags = img[LH_LOADFLAGS];
    if (!(li->loadflags & LINUX_LF_LOADED_HIGH))
        return fail(err, errlen, "a zImage (loads below 1 MiB): only bzImage kernels are "
                    "supported");
    unsigned sects = img[LH_SETUP_SECTS] ? img[LH_SETUP_SECTS] : 4;
    li->setup_len = (sects + 1) * 512u;
    if (li->setup_len < hdr_end)
        return fail(err, errlen, "Linux setup header: setup_sects %u leaves the header outside "
                    "the setup code", sects);
    if (li->setup_len > LINUX_SETUP_MAX)
        return fail(err, errlen, "Linux setup code of %u bytes (setup_sects %u) is larger than "
                    "the %u bytes bt86 allows it", li->setup_len, sects, LINUX_SETUP_MAX);
    if (len <= li->setup_len)
        return fail(err, errlen, "truncated: the file (%zu bytes) ends within the %u bytes of "
                    "setup code", len, li->setup_len);
    if (len - li->setup_len > UINT32_MAX)
        return fail(err, errlen, "the kernel is larger than 4 GiB");
    li->kernel_len = (uint32_t)(len - li->setup_len);
    /* syssize is 32 bits from 2.04, 16 before; in 16-byte units. */
    uint64_t sys = li->version >= 0x0204 ? le32(img + LH_SYSSIZE) : le16(img + LH_SYSSIZE);
    if (sys == 0)
        return fail(err, errlen, "Linux setup header: syssize is 0 (no protected-mode kernel)");
    if (sys * 16 > (uint64_t)li->kernel_len + 15)
        return fail(err, errlen, "truncated: the header announces %llu bytes of protected-mode "
                    "kernel (syssize), the file has %u", (unsigned long long)(sys * 16),
                    li->kernel_len);
    li->initrd_addr_max = li->version >= 0x0203 ? le32(img + LH_INITRD_ADDR_MAX) : 0x37FFFFFFu;
    if (li->initrd_addr_max < LINUX_KERNEL_ADDR)
        return fail(err, errlen, "Linux setup header: initrd_addr_max 0x%x is below 1 MiB",
                    li->initrd_addr_max);
    li->cmdline_size = li->version >= 0x0206 ? le32(img + LH_CMDLINE_SIZE) : 255;
    if (li->cmdline_size == 0)
        return fail(err, errlen, "Linux setup header: cmdline_size is 0");
    if (li->version >= 0x0205)
        li->relocatable = img[LH_RELOCATABLE] != 0;
    if (li->version >= 0x020A) {
        uint64_t pref = le32(img + LH_PREF_ADDRESS) | (uint64_t)le32(img + LH_PREF_ADDRESS + 4) << 32;
        if (pref > 0xFFFFFFFFull)
            return fail(err, errlen, "Linux setup header: pref_address 0x%llx is above 4 GiB",
                        (unsigned long long)pref);
        li->pref_address = (uint32_t)pref;
        li->init_size = le32(img + LH_INIT_SIZE);
    }
    return 0;
}

static uint32_t mib_up(uint64_t bytes) { return (uint32_t)((bytes + (1u << 20) - 1) >> 20); }

int linux_plan(const struct linux_image *li, uint64_t ram_bytes, size_t initrd_len,
               size_t cmdline_len, struct linux_layout *lo, char *err, size_t errlen)
{
    memset(lo, 0, sizeof(*lo));
    lo->setup_addr = LINUX_SETUP_ADDR;
    lo->kernel_addr = LINUX_KERNEL_ADDR;
    lo->cmdline_addr = LINUX_CMDLINE_ADDR;
    if (cmdline_len > li->cmdline_size || cmdline_len >= LINUX_CMDLINE_MAX)
        return fail(err, errlen, "the command line (-append) has %zu characters; this kernel "
                    "accepts at most %u", cmdline_len,
                    li->cmdline_size < LINUX_CMDLINE_MAX - 1 ? li->cmdline_size : LINUX_CMDLINE_MAX - 1);
    lo->cmdline_len = (uint32_t)cmdline_len + 1;

    /* A relocatable kernel decompresses itself to pref_address when loaded below it; either
     * way init_size bytes from where it runs must be RAM, and so must the image as loaded. */
    uint64_t end = (uint64_t)LINUX_KERNEL_ADDR + li->kernel_len;
    uint64_t run_at = li->pref_address > LINUX_KERNEL_ADDR ? li->pref_address : LINUX_KERNEL_ADDR;
    if (run_at + li->init_size > end)
        end = run_at + li->init_size;
    uint64_t usable = ram_bytes > LINUX_TOP_RESERVE ? ram_bytes - LINUX_TOP_RESERVE : 0;
    if (end > usable)
        return fail(err, errlen, "the kernel needs %u MiB of RAM to start; give at least -m %u",
                    mib_up(end), mib_up(end + LINUX_TOP_RESERVE));
    lo->kernel_end = (uint32_t)end;
    if (!initrd_len)
        return 0;

    /* As high as the kernel allows and RAM has room, page aligned, above the kernel. */
    uint64_t top = (uint64_t)li->initrd_addr_max + 1;
    if (top > usable)
        top = usable;
    if (initrd_len > top || ((top - initrd_len) & ~0xFFFull) < end) {
        uint64_t need = end + ((initrd_len + 0xFFF) & ~0xFFFull) + LINUX_TOP_RESERVE;
        if (need - LINUX_TOP_RESERVE > (uint64_t)li->initrd_addr_max + 1)
            return fail(err, errlen, "the initrd (%zu bytes) does not fit between the kernel "
                        "and the highest address it may use (initrd_addr_max 0x%x)", initrd_len,
                        li->initrd_addr_max);
        return fail(err, errlen, "the initrd (%zu bytes) does not fit in RAM with the kernel; "
                    "give at least -m %u", initrd_len, mib_up(need));
    }
    lo->initrd_addr = (uint32_t)((top - initrd_len) & ~0xFFFull);
    lo->initrd_len = (uint32_t)initrd_len;
    return 0;
}

void linux_patch_setup(uint8_t *setup, const struct linux_image *li, const struct linux_layout *lo)
{
    (void)li;
    setup[LH_TYPE_OF_LOADER] = LINUX_LOADER_TYPE;
    setup[LH_LOADFLAGS] |= LINUX_LF_CAN_USE_HEAP;
    put16(setup + LH_HEAP_END_PTR, LINUX_HEAP_END_PTR);
    put32(setup + LH_CMD_LINE_PTR, lo->cmdline_addr);
    put32(setup + LH_RAMDISK_IMAGE, lo->initrd_addr);
    put32(setup + LH_RAMDISK_SIZE, lo->initrd_len);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Option ROM header: 55 AA, size in 512-byte units, ..., PnP header offset at 0x1A. PnP
 * header: "$PnP", revision, length in 16-byte units, ..., checksum at 9, BEV at 0x1A. */
int linux_prepare_rom(uint8_t *rom, size_t len, char *err, size_t errlen)
{
    if (len < 512 || rom[0] != 0x55 || rom[1] != 0xAA)
        return fail(err, errlen, "the Linux boot option ROM has no 55 AA signature");
    if ((size_t)rom[2] * 512 != len)
        return fail(err, errlen, "the Linux boot option ROM's size byte (%u blocks) does not "
                    "match its %zu bytes", rom[2], len);
    uint16_t pnp = le16(rom + 0x1A);
    if (pnp == 0 || (size_t)pnp + 0x20 > len || memcmp(rom + pnp, "$PnP", 4) != 0)
        return fail(err, errlen, "the Linux boot option ROM has no PnP header");
    unsigned plen = rom[pnp + 5] * 16u;
    uint16_t bev = le16(rom + pnp + 0x1A);
    if (plen < 0x20 || pnp + plen > len || bev == 0 || bev >= len)
        return fail(err, errlen, "the Linux boot option ROM's PnP header is malformed");
    rom[pnp + 9] = 0;
    rom[pnp + 9] = (uint8_t)-sum8(rom + pnp, plen);
    rom[len - 1] = 0;
    rom[len - 1] = (uint8_t)-sum8(rom, len);
    return 0;
}

int linux_setup_fw_cfg(struct fw_cfg *fw, uint64_t ram_bytes, const uint8_t *img, size_t len,
                       const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                       uint8_t *rom, size_t rom_len, char *err, size_t errlen)
{
    struct linux_image li;
    struct linux_layout lo;
    if (linux_parse(img, len, &li, err, errlen) ||
        linux_plan(&li, ram_bytes, initrd ? initrd_len : 0, strlen(cmdline), &lo, err, errlen) ||
        linux_prepare_rom(rom, rom_len, err, errlen))
        return -1;
    uint8_t *setup = malloc(li.setup_len);
    if (!setup)
        return fail(err, errlen, "out of memory");
    memcpy(setup, img, li.setup_len);
    linux_patch_setup(setup, &li, &lo);
    int bad = fw_cfg_add_i32(fw, FW_CFG_SETUP_ADDR, lo.setup_addr) ||
              fw_cfg_add_i32(fw, FW_CFG_SETUP_SIZE, li.setup_len) ||
              fw_cfg_add_bytes(fw, FW_CFG_SETUP_DATA, setup, li.setup_len) ||
              fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, lo.kernel_addr) ||
              fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, li.kernel_len) ||
              fw_cfg_add_bytes(fw, FW_CFG_KERNEL_DATA, img + li.setup_len, li.kernel_len) ||
              fw_cfg_add_i32(fw, FW_CFG_CMDLINE_ADDR, lo.cmdline_addr) ||
              fw_cfg_add_i32(fw, FW_CFG_CMDLINE_SIZE, lo.cmdline_len) ||
              fw_cfg_add_bytes(fw, FW_CFG_CMDLINE_DATA, cmdline, lo.cmdline_len) ||
              fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, lo.initrd_addr) ||
              fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, lo.initrd_len) ||
              fw_cfg_add_bytes(fw, FW_CFG_INITRD_DATA, initrd, lo.initrd_len) ||
              fw_cfg_add_file(fw, ROM_NAME, rom, (uint32_t)rom_len) < 0 ||
              fw_cfg_set_bootorder(fw, "/rom@" ROM_NAME "\n");
    free(setup);
    if (bad)
        return fail(err, errlen, "internal error: cannot fill fw_cfg with the kernel");
    return 0;
}

#define MAX_BZIMAGE (64u << 20)
#define MAX_ROM (64u << 10)

int linux_load(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
{
    char why[400];
    size_t klen, ilen = 0, rlen;
    uint8_t *initrd = NULL, *rom = NULL;
    uint8_t *img = machine_read_file(cfg->kernel_path, MAX_BZIMAGE, &klen, why, sizeof(why));
    if (!img)
        return fail(err, errlen, "-kernel: %s", why);
    int r = -1;
    if (!linux_is_bzimage(img, klen)) {
        fail(err, errlen, "-kernel '%s': not a Linux bzImage; the PC boots Linux kernels, "
             "Multiboot kernels run on the bare board (-M bare)", cfg->kernel_path);
        goto out;
    }
    if (cfg->initrd_path) {
        /* An initrd cannot be larger than RAM anyway. */
        size_t cap = cfg->ram_bytes < SIZE_MAX ? (size_t)cfg->ram_bytes : SIZE_MAX;
        initrd = machine_read_file(cfg->initrd_path, cap, &ilen, why, sizeof(why));
        if (!initrd) {
            fail(err, errlen, "-initrd: %s", why);
            goto out;
        }
    }
    if (!cfg->linuxboot_rom) {
        fail(err, errlen, "-kernel: bt86's Linux boot ROM (roms/linuxboot.bin next to bt86) is "
             "missing");
        goto out;
    }
    rom = machine_read_file(cfg->linuxboot_rom, MAX_ROM, &rlen, why, sizeof(why));
    if (!rom) {
        fail(err, errlen, "Linux boot ROM: %s", why);
        goto out;
    }
    if (linux_setup_fw_cfg(&m->pc->fw, cfg->ram_bytes, img, klen, initrd, ilen,
                           cfg->append ? cfg->append : "", rom, rlen, why, sizeof(why)))
        fail(err, errlen, "-kernel '%s': %s", cfg->kernel_path, why);
    else
        r = 0;
out:
    free(img);
    free(initrd);
    free(rom);
    return r;
}
