#include "devices/fw_cfg.h"

#include <stdlib.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t bswap32(uint32_t v)
{
    return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

static int find_index(const struct fw_cfg *fw, uint16_t key)
{
    for (unsigned i = 0; i < fw->nitems; i++)
        if (fw->items[i].key == key)
            return (int)i;
    return -1;
}

const struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *fw, uint16_t key)
{
    int i = find_index(fw, key);
    return i < 0 ? NULL : &fw->items[i];
}

const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *fw, const char *name)
{
    for (unsigned i = 0; i < fw->nitems; i++)
        if (fw->items[i].name[0] && strcmp(fw->items[i].name, name) == 0)
            return &fw->items[i];
    return NULL;
}

/* The selected item's offset never passes its end, whatever the item became. */
static void clamp_offset(struct fw_cfg *fw)
{
    uint32_t len = fw->cur < 0 ? 0 : fw->items[fw->cur].len;
    if (fw->offset > len)
        fw->offset = len;
}

/* Store (or replace) an item's contents. Returns its index or -1. */
static int set_item(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return -1;
        memcpy(copy, data, len);
    }
    int i = find_index(fw, key);
    if (i < 0) {
        if (fw->nitems == FW_CFG_MAX_ITEMS) {
            free(copy);
            return -1;
        }
        i = (int)fw->nitems++;
        memset(&fw->items[i], 0, sizeof(fw->items[i]));
        fw->items[i].key = key;
    } else {
        free(fw->items[i].data);
    }
    fw->items[i].data = copy;
    fw->items[i].len = len;
    clamp_offset(fw);
    return i;
}

static int rebuild_dir(struct fw_cfg *fw)
{
    uint32_t len = 4 + FW_CFG_DIR_ENTRY_SIZE * fw->nfiles;
    uint8_t *dir = calloc(1, len);
    if (!dir)
        return -1;
    put_be32(dir, fw->nfiles);
    /* Files in key order: the order they were added. */
    for (unsigned i = 0; i < fw->nitems; i++) {
        const struct fw_cfg_item *it = &fw->items[i];
        if (!it->name[0])
            continue;
        uint8_t *e = dir + 4 + FW_CFG_DIR_ENTRY_SIZE * (it->key - FW_CFG_FILE_FIRST);
        put_be32(e, it->len);
        e[4] = (uint8_t)(it->key >> 8);
        e[5] = (uint8_t)it->key;
        memcpy(e + 8, it->name, strlen(it->name)); /* NUL padding from calloc */
    }
    int r = set_item(fw, FW_CFG_FILE_DIR, dir, len);
    free(dir);
    return r < 0 ? -1 : 0;
}

static bool key_ok(uint16_t key)
{
    if (key & FW_CFG_KEY_WRITE_FLAG)
        return false;
    uint16_t k = key & 0x3FFF;
    return k < FW_CFG_FILE_FIRST && k != FW_CFG_FILE_DIR;
}

int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len)
{
    if (!key_ok(key) || (len && !data))
        return -1;
    return set_item(fw, key, data, len) < 0 ? -1 : 0;
}

int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return fw_cfg_add_bytes(fw, key, b, 2);
}

int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(fw, key, b, 4);
}

int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(fw, key, b, 8);
}

int fw_cfg_add_string(struct fw_cfg *fw, uint16_t key, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > UINT32_MAX)
        return -1;
    return fw_cfg_add_bytes(fw, key, s, (uint32_t)n);
}

static int add_file(struct fw_cfg *fw, const char *name, const void *data, uint32_t len,
                    bool writable)
{
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen >= FW_CFG_NAME_LEN || (len && !data))
        return -1;
    const struct fw_cfg_item *old = fw_cfg_find_file(fw, name);
    uint16_t key;
    if (old) {
        key = old->key;
    } else {
        if (fw->nfiles == FW_CFG_MAX_FILES || fw->nitems == FW_CFG_MAX_ITEMS)
            return -1;
        key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nfiles);
    }
    int i = set_item(fw, key, data, len);
    if (i < 0)
        return -1;
    if (!old) {
        memcpy(fw->items[i].name, name, nlen + 1);
        fw->nfiles++;
    }
    fw->items[i].writable = writable;
    return rebuild_dir(fw) < 0 ? -1 : key;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, uint32_t len)
{
    return add_file(fw, name, data, len, false);
}

int fw_cfg_add_file_writable(struct fw_cfg *fw, const char *name, const void *data, uint32_t len)
{
    return add_file(fw, name, data, len, true);
}

int fw_cfg_set_ram_size(struct fw_cfg *fw, uint64_t bytes)
{
    return fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, bytes);
}

int fw_cfg_set_cpus(struct fw_cfg *fw, uint16_t boot_cpus, uint16_t max_cpus)
{
    uint8_t b[2] = {(uint8_t)boot_cpus, (uint8_t)(boot_cpus >> 8)};
    if (fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, boot_cpus) || fw_cfg_add_i16(fw, FW_CFG_MAX_CPUS, max_cpus))
        return -1;
    return fw_cfg_add_file(fw, "etc/boot-cpus", b, 2) < 0 ? -1 : 0;
}

int fw_cfg_set_boot_menu(struct fw_cfg *fw, bool show, uint16_t wait_ms)
{
    uint8_t b[2] = {(uint8_t)wait_ms, (uint8_t)(wait_ms >> 8)};
    if (fw_cfg_add_i16(fw, FW_CFG_BOOT_MENU, show))
        return -1;
    return fw_cfg_add_file(fw, "etc/boot-menu-wait", b, 2) < 0 ? -1 : 0;
}

int fw_cfg_set_e820(struct fw_cfg *fw, const struct fw_cfg_e820 *e, unsigned n)
{
    if (n > 128)
        return -1;
    uint8_t buf[128 * 20];
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = buf + 20 * i;
        for (int k = 0; k < 8; k++) {
            p[k] = (uint8_t)(e[i].address >> (8 * k));
            p[8 + k] = (uint8_t)(e[i].length >> (8 * k));
        }
        for (int k = 0; k < 4; k++)
            p[16 + k] = (uint8_t)(e[i].type >> (8 * k));
    }
    return fw_cfg_add_file(fw, "etc/e820", buf, 20 * n) < 0 ? -1 : 0;
}

int fw_cfg_set_bootorder(struct fw_cfg *fw, const char *paths)
{
    size_t n = strlen(paths) + 1;
    if (n > UINT32_MAX)
        return -1;
    return fw_cfg_add_file(fw, "bootorder", paths, (uint32_t)n) < 0 ? -1 : 0;
}

/* ---- guest interface ---- */

static void select_key(struct fw_cfg *fw, uint16_t key)
{
    fw->selector = key;
    /* The old write flag does not change which item is meant. */
    fw->cur = find_index(fw, key & (uint16_t)~FW_CFG_KEY_WRITE_FLAG);
    fw->offset = 0;
}

static uint8_t data_byte(struct fw_cfg *fw)
{
    if (fw->cur < 0 || fw->offset >= fw->items[fw->cur].len)
        return 0;
    return fw->items[fw->cur].data[fw->offset++];
}

/* Whether every byte of [addr, addr + len) is guest memory a device may write. */
static bool dma_range_ok(struct memmap *m, uint64_t addr, uint32_t len)
{
    if (addr > 0xFFFFFFFFull || addr + len > 0x100000000ull)
        return false;
    if (!len)
        return true;
    uint64_t last = addr + len - 1;
    for (uint64_t pg = addr & PAGE_MASK; pg <= last; pg += PAGE_SIZE)
        if (!memmap_write_ptr(m, (uint32_t)pg))
            return false;
    return true;
}

static bool dma_read(struct fw_cfg *fw, uint64_t addr, uint32_t len)
{
    if (!dma_range_ok(fw->mem, addr, len))
        return false;
    uint32_t dst = (uint32_t)addr;
    bool ok = true;
    if (fw->cur >= 0) {
        struct fw_cfg_item *it = &fw->items[fw->cur];
        uint32_t n = it->len - fw->offset;
        if (n > len)
            n = len;
        if (n) {
            ok = memmap_copy_to(fw->mem, dst, it->data + fw->offset, n);
            fw->offset += n;
            dst += n;
            len -= n;
        }
    }
    /* Past the end (or with no item) the device reads as zeros. */
    static const uint8_t zeros[PAGE_SIZE];
    while (ok && len) {
        uint32_t n = len < PAGE_SIZE ? len : PAGE_SIZE;
        ok = memmap_copy_to(fw->mem, dst, zeros, n);
        dst += n;
        len -= n;
    }
    return ok;
}

static bool dma_write(struct fw_cfg *fw, uint64_t addr, uint32_t len)
{
    /* Items cannot grow; a write that does not fit is dropped whole. */
    if (fw->cur < 0 || !fw->items[fw->cur].writable)
        return false;
    struct fw_cfg_item *it = &fw->items[fw->cur];
    if (len > it->len - fw->offset || addr > 0xFFFFFFFFull || addr + len > 0x100000000ull)
        return false;
    if (!len)
        return true;
    uint8_t *tmp = malloc(len); /* bounded by the item's size */
    if (!tmp)
        return false;
    bool ok = memmap_copy_from(fw->mem, (uint32_t)addr, tmp, len);
    if (ok) {
        memcpy(it->data + fw->offset, tmp, len);
        fw->offset += len;
    }
    free(tmp);
    return ok;
}

static void dma_run(struct fw_cfg *fw)
{
    uint64_t desc = fw->dma_addr;
    fw->dma_addr = 0; /* the register reads 0 again after an operation */
    /* FWCfgDmaAccess: be32 control, be32 length, be64 address. Without a readable
     * descriptor there is nowhere to report an error either. */
    uint8_t d[16];
    if (desc > 0x100000000ull - sizeof(d) || !memmap_copy_from(fw->mem, (uint32_t)desc, d, sizeof(d)))
        return;
    uint32_t control = get_be32(d), length = get_be32(d + 4);
    uint64_t addr = (uint64_t)get_be32(d + 8) << 32 | get_be32(d + 12);
    bool ok = true;
    if (control & FW_CFG_DMA_SELECT)
        select_key(fw, (uint16_t)(control >> 16));
    if (control & FW_CFG_DMA_READ) {
        ok = dma_read(fw, addr, length);
    } else if (control & FW_CFG_DMA_WRITE) {
        ok = dma_write(fw, addr, length);
    } else if (control & FW_CFG_DMA_SKIP) {
        if (fw->cur >= 0) {
            uint32_t room = fw->items[fw->cur].len - fw->offset;
            fw->offset += length < room ? length : room;
        }
    }
    uint8_t status[4];
    put_be32(status, ok ? 0 : FW_CFG_DMA_ERROR);
    memmap_copy_to(fw->mem, (uint32_t)desc, status, sizeof(status));
}

static uint32_t fw_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct fw_cfg *fw = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint8_t b = 0xFF;
        if (port == FW_CFG_PORT_DATA)
            b = data_byte(fw); /* a wide read: successive bytes of the item, in order */
        else if (fw->dma_enabled && p >= FW_CFG_PORT_DMA && p < FW_CFG_PORT_DMA + 8)
            b = (uint8_t)FW_CFG_DMA_SIGNATURE[p - FW_CFG_PORT_DMA];
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void fw_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct fw_cfg *fw = opaque;
    if (port == FW_CFG_PORT_SEL) {
        if (size == 2)
            select_key(fw, (uint16_t)value);
        return;
    }
    /* Data port writes are ignored (QEMU 2.4+). The DMA register is big-endian: the byte at
     * the lowest port is the most significant. */
    if (!fw->dma_enabled || size != 4)
        return;
    if (port == FW_CFG_PORT_DMA) {
        fw->dma_addr = (uint64_t)bswap32(value) << 32;
    } else if (port == FW_CFG_PORT_DMA + 4) {
        fw->dma_addr |= bswap32(value);
        dma_run(fw);
    }
}

static const struct ioport_ops fw_io_ops = {fw_io_read, fw_io_write};

static void fw_reset(void *opaque)
{
    struct fw_cfg *fw = opaque;
    select_key(fw, FW_CFG_SIGNATURE);
    fw->dma_addr = 0;
}

static void fw_save(const void *opaque, struct state_writer *w)
{
    const struct fw_cfg *fw = opaque;
    sw_u16(w, fw->selector);
    sw_u32(w, fw->offset);
    sw_u64(w, fw->dma_addr);
    uint16_t n = 0;
    for (unsigned i = 0; i < fw->nitems; i++)
        n += fw->items[i].writable;
    sw_u16(w, n);
    /* Only contents the guest can change; the rest is the machine's configuration. */
    for (unsigned i = 0; i < fw->nitems; i++) {
        const struct fw_cfg_item *it = &fw->items[i];
        if (!it->writable)
            continue;
        sw_u16(w, it->key);
        sw_u32(w, it->len);
        sw_bytes(w, it->data, it->len);
    }
}

static int fw_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct fw_cfg *fw = opaque;
    if (version != 1)
        return -1;
    uint16_t selector = sr_u16(r);
    uint32_t offset = sr_u32(r);
    uint64_t dma_addr = sr_u64(r);
    uint16_t n = sr_u16(r);
    unsigned writable = 0;
    for (unsigned i = 0; i < fw->nitems; i++)
        writable += fw->items[i].writable;
    if (r->error || n != writable)
        return -1;
    /* The configuration must be the one saved with: same writable items, same sizes. Check
     * them all before changing any. */
    size_t start = r->pos;
    for (unsigned i = 0; i < fw->nitems; i++) {
        const struct fw_cfg_item *it = &fw->items[i];
        if (!it->writable)
            continue;
        uint16_t key = sr_u16(r);
        uint32_t len = sr_u32(r);
        if (r->error || key != it->key || len != it->len || len > r->len - r->pos)
            return -1;
        r->pos += len;
    }
    int cur = find_index(fw, selector & (uint16_t)~FW_CFG_KEY_WRITE_FLAG);
    if (offset > (cur < 0 ? 0 : fw->items[cur].len))
        return -1;
    r->pos = start;
    for (unsigned i = 0; i < fw->nitems; i++) {
        struct fw_cfg_item *it = &fw->items[i];
        if (!it->writable)
            continue;
        sr_u16(r);
        sr_u32(r);
        sr_bytes(r, it->data, it->len);
    }
    fw->selector = selector;
    fw->cur = cur;
    fw->offset = offset;
    fw->dma_addr = dma_addr;
    return 0;
}

static const struct device_ops fw_device_ops = {
    .name = "fw_cfg",
    .state_version = 1,
    .reset = fw_reset,
    .save = fw_save,
    .load = fw_load,
};

int fw_cfg_attach(struct fw_cfg *fw, struct ioport_bus *io, struct memmap *mem, bool dma)
{
    memset(fw, 0, sizeof(*fw));
    fw->dev = (struct device){&fw_device_ops, fw};
    fw->mem = mem;
    fw->dma_enabled = dma;
    fw->cur = -1;
    uint32_t id = FW_CFG_ID_TRADITIONAL | (dma ? FW_CFG_ID_DMA : 0);
    if (fw_cfg_add_bytes(fw, FW_CFG_SIGNATURE, "QEMU", 4) || fw_cfg_add_i32(fw, FW_CFG_ID, id) ||
        rebuild_dir(fw)) {
        fw_cfg_destroy(fw);
        return -1;
    }
    fw_reset(fw);
    if (ioport_register(io, FW_CFG_PORT_SEL, 2, &fw_io_ops, fw) != 0 ||
        (dma && ioport_register(io, FW_CFG_PORT_DMA, 8, &fw_io_ops, fw) != 0)) {
        fw_cfg_destroy(fw);
        return -1;
    }
    return 0;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
    for (unsigned i = 0; i < fw->nitems; i++) {
        free(fw->items[i].data);
        fw->items[i].data = NULL;
    }
    fw->nitems = fw->nfiles = 0;
    fw->cur = -1;
}
