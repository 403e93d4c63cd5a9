#include "machine/multiboot.h"
#include "machine/image_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_MEM_END 0x9FC00u /* 639 KiB: the EBDA sits above, as on a PC */
#define EXT_MEM_START 0x100000u
#define INFO_PREFERRED 0x9000u

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

unsigned multiboot_memory_map(uint64_t ram_bytes, struct mb_range out[MB_MAX_RANGES])
{
    unsigned n = 0;
    uint64_t low = ram_bytes < BASE_MEM_END ? ram_bytes : BASE_MEM_END;
    out[n++] = (struct mb_range){0, low, MB_MEM_AVAILABLE};
    out[n++] = (struct mb_range){BASE_MEM_END, 0xA0000 - BASE_MEM_END, MB_MEM_RESERVED};
    out[n++] = (struct mb_range){0xF0000, 0x10000, MB_MEM_RESERVED};
    if (ram_bytes > EXT_MEM_START)
        out[n++] = (struct mb_range){EXT_MEM_START, ram_bytes - EXT_MEM_START, MB_MEM_AVAILABLE};
    return n;
}

/* Is [base, base+len) inside one available range? (64-bit: nothing wraps.) */
static bool in_available(uint64_t ram_bytes, uint64_t base, uint64_t len)
{
    struct mb_range r[MB_MAX_RANGES];
    unsigned n = multiboot_memory_map(ram_bytes, r);
    for (unsigned i = 0; i < n; i++)
        if (r[i].type == MB_MEM_AVAILABLE && base >= r[i].base && len <= r[i].len &&
            base - r[i].base <= r[i].len - len)
            return true;
    return false;
}

static void describe_available(uint64_t ram_bytes, char *buf, size_t len)
{
    if (ram_bytes > EXT_MEM_START)
        snprintf(buf, len, "0x0-0x%x and 0x%x-0x%llx", BASE_MEM_END, EXT_MEM_START,
                 (unsigned long long)ram_bytes);
    else
        snprintf(buf, len, "0x0-0x%x", BASE_MEM_END);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Common checks of one segment's placement, once its numbers are known. */
static int add_segment(struct mb_image *mb, uint64_t ram_bytes, uint32_t paddr, uint32_t memsz,
                       uint32_t filesz, uint32_t offset, const char *what, char *err,
                       size_t errlen)
{
    if ((uint64_t)paddr + memsz > 0x100000000ull)
        return fail(err, errlen, "%s: 0x%x bytes at 0x%08x run past 4 GiB", what, memsz, paddr);
    if (!in_available(ram_bytes, paddr, memsz)) {
        char ram[96];
        describe_available(ram_bytes, ram, sizeof(ram));
        return fail(err, errlen,
                    "%s: 0x%08x-0x%08llx is outside the guest's available RAM (%s; "
                    "raise -m if the kernel needs more)",
                    what, paddr, (unsigned long long)paddr + memsz, ram);
    }
    for (unsigned i = 0; i < mb->nseg; i++)
        if (overlaps(paddr, memsz, mb->seg[i].paddr, mb->seg[i].memsz))
            return fail(err, errlen, "%s: 0x%08x-0x%08llx overlaps another segment", what, paddr,
                        (unsigned long long)paddr + memsz);
    if (mb->nseg == MB_MAX_SEGMENTS)
        return fail(err, errlen, "more than %d loadable segments", MB_MAX_SEGMENTS);
    mb->seg[mb->nseg++] = (struct mb_segment){paddr, memsz, filesz, offset};
    return 0;
}

static bool entry_loaded(const struct mb_image *mb, uint32_t entry)
{
    for (unsigned i = 0; i < mb->nseg; i++)
        if (entry >= mb->seg[i].paddr && entry - mb->seg[i].paddr < mb->seg[i].memsz)
            return true;
    return false;
}

static int parse_aout(const uint8_t *img, size_t len, uint64_t ram_bytes, struct mb_image *mb,
                      char *err, size_t errlen)
{
    const uint8_t *h = img + mb->header_offset;
    uint32_t header_addr = le32(h + 12), load_addr = le32(h + 16), load_end = le32(h + 20);
    uint32_t bss_end = le32(h + 24), entry = le32(h + 28);
    if (load_addr > header_addr)
        return fail(err, errlen, "a.out kludge: load_addr 0x%x is above header_addr 0x%x",
                    load_addr, header_addr);
    if (header_addr - load_addr > mb->header_offset)
        return fail(err, errlen,
                    "a.out kludge: load_addr 0x%x would start %u bytes before the file", load_addr,
                    header_addr - load_addr - mb->header_offset);
    uint32_t offset = mb->header_offset - (header_addr - load_addr);
    uint64_t size;
    if (load_end == 0) {
        size = len - offset; /* text and data are the rest of the file */
    } else {
        if (load_end < load_addr)
            return fail(err, errlen, "a.out kludge: load_end_addr 0x%x is below load_addr 0x%x",
                        load_end, load_addr);
        size = load_end - load_addr;
        if (size > len - offset)
            return fail(err, errlen,
                        "a.out kludge: load_end_addr 0x%x asks for %llu bytes but the file has "
                        "only %llu after offset %u",
                        load_end, (unsigned long long)size, (unsigned long long)(len - offset),
                        offset);
    }
    uint64_t memsz = size;
    if (bss_end != 0) {
        if (bss_end < load_addr || bss_end - load_addr < size)
            return fail(err, errlen, "a.out kludge: bss_end_addr 0x%x is below the end of the "
                        "loaded data (0x%llx)", bss_end,
                        (unsigned long long)load_addr + size);
        memsz = bss_end - load_addr;
    }
    if (memsz == 0 || memsz > 0xFFFFFFFFu)
        return fail(err, errlen, "a.out kludge: nothing to load");
    if (add_segment(mb, ram_bytes, load_addr, (uint32_t)memsz, (uint32_t)size, offset,
                    "a.out kludge image", err, errlen))
        return -1;
    if (!entry_loaded(mb, entry))
        return fail(err, errlen, "a.out kludge: entry_addr 0x%08x is outside the loaded image "
                    "0x%08x-0x%08llx", entry, load_addr, (unsigned long long)load_addr + memsz);
    mb->entry = entry;
    return 0;
}

enum {
    EHDR_SIZE = 52,
    PHDR_SIZE = 32,
    EM_386 = 3,
    ET_EXEC = 2,
    ET_DYN = 3,
    PT_LOAD = 1,
    PT_INTERP = 3,
};

static int parse_elf(const uint8_t *img, size_t len, uint64_t ram_bytes, struct mb_image *mb,
                     char *err, size_t errlen)
{
    if (len < 4 || memcmp(img, "\x7f" "ELF", 4) != 0)
        return fail(err, errlen, "not an ELF file, and its Multiboot header does not set the "
                    "a.out kludge (flag 16) to give load addresses");
    if (len < EHDR_SIZE)
        return fail(err, errlen, "ELF header truncated (%zu bytes)", len);
    if (img[4] != 1)
        return fail(err, errlen, "ELF class %u: only 32-bit (ELFCLASS32) kernels can be loaded",
                    img[4]);
    if (img[5] != 1)
        return fail(err, errlen, "ELF data encoding %u: only little-endian is x86", img[5]);
    if (img[6] != 1 || le32(img + 20) != 1)
        return fail(err, errlen, "unknown ELF version");
    uint16_t type = le16(img + 16), machine = le16(img + 18);
    if (machine != EM_386)
        return fail(err, errlen, "ELF machine %u: not an i386 (EM_386) executable", machine);
    if (type == ET_DYN)
        return fail(err, errlen, "ELF type ET_DYN: a Multiboot kernel must be a fixed-address "
                    "executable (ET_EXEC)");
    if (type != ET_EXEC)
        return fail(err, errlen, "ELF type %u is not an executable (ET_EXEC)", type);
    uint32_t entry = le32(img + 24), phoff = le32(img + 28);
    uint16_t phentsize = le16(img + 42), phnum = le16(img + 44);
    if (phnum == 0)
        return fail(err, errlen, "ELF file has no program headers");
    if (phentsize < PHDR_SIZE)
        return fail(err, errlen, "ELF program header size %u is too small", phentsize);
    if ((uint64_t)phoff + (uint64_t)phnum * phentsize > len)
        return fail(err, errlen, "ELF program headers (offset %u, %u x %u bytes) run past the "
                    "end of the file (%zu bytes)", phoff, phnum, phentsize, len);
    bool translated = false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (size_t)i * phentsize;
        uint32_t p_type = le32(ph), offset = le32(ph + 4), vaddr = le32(ph + 8);
        uint32_t paddr = le32(ph + 12), filesz = le32(ph + 16), memsz = le32(ph + 20);
        if (p_type == PT_INTERP)
            return fail(err, errlen, "ELF file asks for an interpreter: a kernel must be static");
        if (p_type != PT_LOAD || memsz == 0)
            continue;
        char what[48];
        snprintf(what, sizeof(what), "ELF segment %u", i);
        if (filesz > memsz)
            return fail(err, errlen, "%s: file size 0x%x exceeds its memory size 0x%x", what,
                        filesz, memsz);
        if ((uint64_t)offset + filesz > len)
            return fail(err, errlen, "%s: data at offset %u+%u runs past the end of the file "
                        "(%zu bytes): truncated?", what, offset, filesz, len);
        if (add_segment(mb, ram_bytes, paddr, memsz, filesz, offset, what, err, errlen))
            return -1;
        /* e_entry is virtual; kernels linked high (vaddr != paddr) start at the physical
         * address of the same byte, as GRUB does. */
        if (!translated && entry >= vaddr && entry - vaddr < memsz) {
            mb->entry = paddr + (entry - vaddr);
            translated = true;
        }
    }
    if (mb->nseg == 0)
        return fail(err, errlen, "ELF file has no loadable (PT_LOAD) segments");
    if (!translated)
        return fail(err, errlen, "ELF entry point 0x%08x is outside every loadable segment",
                    entry);
    return 0;
}

int multiboot_parse(const uint8_t *img, size_t len, uint64_t ram_bytes, struct mb_image *mb,
                    char *err, size_t errlen)
{
    memset(mb, 0, sizeof(*mb));
    if (len > 0xFFFFFFFFu)
        return fail(err, errlen, "image is larger than 4 GiB");
    /* Longword-aligned, wholly inside the first 8 KiB; a magic with a wrong checksum is
     * skipped (it may be data) but remembered for the error message. */
    long bad_checksum_at = -1;
    bool found = false;
    size_t limit = len < MB_SEARCH_LIMIT ? len : MB_SEARCH_LIMIT;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        if (le32(img + off) != MB_HEADER_MAGIC)
            continue;
        uint32_t flags = le32(img + off + 4), sum = le32(img + off + 8);
        if ((uint32_t)(MB_HEADER_MAGIC + flags + sum) != 0) {
            if (bad_checksum_at < 0)
                bad_checksum_at = (long)off;
            continue;
        }
        mb->header_offset = (uint32_t)off;
        mb->header_flags = flags;
        found = true;
        break;
    }
    if (!found) {
        if (bad_checksum_at >= 0)
            return fail(err, errlen, "the Multiboot header at offset %ld has a bad checksum",
                        bad_checksum_at);
        return fail(err, errlen, "no Multiboot header in the first %d bytes (not a Multiboot "
                    "kernel?)", MB_SEARCH_LIMIT);
    }
    uint32_t flags = mb->header_flags;
    uint32_t unknown = flags & MB_HF_REQUIRED_MASK & ~(MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO);
    if (unknown)
        return fail(err, errlen, "the Multiboot header requires features bt86 does not know "
                    "(flags 0x%04x)", unknown);
    mb->wants_video = flags & MB_HF_VIDEO;
    size_t need = (flags & MB_HF_VIDEO) ? 48 : (flags & MB_HF_AOUT_KLUDGE) ? 32 : 12;
    if (mb->header_offset + need > limit)
        return fail(err, errlen, "the Multiboot header at offset %u is cut off (by the end of "
                    "the file or of the first %d bytes)", mb->header_offset, MB_SEARCH_LIMIT);
    if (flags & MB_HF_AOUT_KLUDGE) {
        mb->aout_kludge = true;
        return parse_aout(img, len, ram_bytes, mb, err, errlen);
    }
    return parse_elf(img, len, ram_bytes, mb, err, errlen);
}

static bool zero_guest(struct memmap *mem, uint32_t phys, uint32_t len)
{
    static const uint8_t zeros[4096];
    while (len) {
        uint32_t n = len < sizeof(zeros) ? len : (uint32_t)sizeof(zeros);
        if (!memmap_copy_to(mem, phys, zeros, n))
            return false;
        phys += n;
        len -= n;
    }
    return true;
}

int multiboot_load(struct memmap *mem, const uint8_t *img, size_t len, const struct mb_image *mb,
                   const char *cmdline, uint32_t *info, char *err, size_t errlen)
{
    const uint64_t ram = mem->ram_size;
    for (unsigned i = 0; i < mb->nseg; i++) {
        const struct mb_segment *s = &mb->seg[i];
        /* parse checked these against the same image; re-check so a caller mix-up cannot
         * read outside the image or write outside RAM. */
        if ((uint64_t)s->offset + s->filesz > len || s->filesz > s->memsz ||
            !in_available(ram, s->paddr, s->memsz))
            return fail(err, errlen, "internal error: segment %u does not fit", i);
        if (!memmap_copy_to(mem, s->paddr, img + s->offset, s->filesz) ||
            !zero_guest(mem, s->paddr + s->filesz, s->memsz - s->filesz))
            return fail(err, errlen, "segment at 0x%08x is not writable RAM", s->paddr);
    }

    size_t cmdlen = cmdline ? strlen(cmdline) : 0;
    if (cmdlen > MB_MAX_CMDLINE)
        return fail(err, errlen, "the command line (-append) is longer than %d bytes",
                    MB_MAX_CMDLINE);
    struct mb_range map[MB_MAX_RANGES];
    unsigned nmap = multiboot_memory_map(ram, map);
    static const char loader[] = "bt86";
    const uint32_t mmap_off = 96, name_off = mmap_off + MB_MAX_RANGES * 24;
    const uint32_t cmd_off = name_off + (uint32_t)sizeof(loader);
    const uint32_t total = cmd_off + (uint32_t)cmdlen + 1;

    /* Low memory if free, else the page after the kernel's highest byte. */
    uint64_t top = 0;
    for (unsigned i = 0; i < mb->nseg; i++)
        if ((uint64_t)mb->seg[i].paddr + mb->seg[i].memsz > top)
            top = (uint64_t)mb->seg[i].paddr + mb->seg[i].memsz;
    const uint64_t candidates[2] = {INFO_PREFERRED, (top + 0xFFF) & ~0xFFFull};
    uint64_t base = 0;
    bool placed = false;
    for (int c = 0; c < 2 && !placed; c++) {
        if (!in_available(ram, candidates[c], total))
            continue;
        placed = true;
        for (unsigned i = 0; i < mb->nseg; i++)
            if (overlaps(candidates[c], total, mb->seg[i].paddr, mb->seg[i].memsz))
                placed = false;
        base = candidates[c];
    }
    if (!placed)
        return fail(err, errlen, "no room in guest RAM for the Multiboot information "
                    "(%u bytes); raise -m", total);

    uint8_t *buf = calloc(1, total);
    if (!buf)
        return fail(err, errlen, "out of memory");
    uint32_t b = (uint32_t)base;
    uint32_t flags = MB_INFO_MEM | MB_INFO_MMAP | MB_INFO_LOADER_NAME;
    if (cmdline)
        flags |= MB_INFO_CMDLINE;
    put32(buf + MBI_FLAGS, flags);
    put32(buf + MBI_MEM_LOWER, BASE_MEM_END / 1024);
    put32(buf + MBI_MEM_UPPER, ram > EXT_MEM_START ? (uint32_t)((ram - EXT_MEM_START) / 1024) : 0);
    put32(buf + MBI_CMDLINE, cmdline ? b + cmd_off : 0);
    put32(buf + MBI_MMAP_LENGTH, nmap * 24);
    put32(buf + MBI_MMAP_ADDR, b + mmap_off);
    put32(buf + MBI_LOADER_NAME, b + name_off);
    for (unsigned i = 0; i < nmap; i++) {
        uint8_t *e = buf + mmap_off + i * 24;
        put32(e, 20); /* size of the rest of the entry */
        put64(e + 4, map[i].base);
        put64(e + 12, map[i].len);
        put32(e + 20, map[i].type);
    }
    memcpy(buf + name_off, loader, sizeof(loader));
    if (cmdlen)
        memcpy(buf + cmd_off, cmdline, cmdlen);
    bool ok = memmap_copy_to(mem, b, buf, total);
    free(buf);
    if (!ok)
        return fail(err, errlen, "cannot write the Multiboot information at 0x%x", b);
    *info = b;
    return 0;
}

void multiboot_enter(struct cpu *c, uint32_t entry, uint32_t info)
{
    c->cr0 = CR0_PE | CR0_ET; /* caches on, as firmware leaves them */
    const uint32_t flat = SEG_P | SEG_S | SEG_DB | SEG_G;
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x10, 0, 0xFFFFFFFFu, flat | (0x3u << 8)); /* data RW, accessed */
    cpu_set_seg_cache(c, SR_CS, 0x08, 0, 0xFFFFFFFFu, flat | (0xBu << 8)); /* code RX, accessed */
    for (int r = 0; r < 8; r++)
        c->regs[r] = 0;
    c->regs[R_EAX] = MB_BOOT_MAGIC;
    c->regs[R_EBX] = info;
    cpu_set_eflags(c, FL_FIXED1);
    c->a20_mask = 0xFFFFFFFFu;
    c->eip = entry;
    cpu_update_mode(c);
    cpu_invalidate_code(c); /* the image was copied in directly */
}
