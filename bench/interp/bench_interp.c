/* Interpreter speed: runs bench/interp/workload.asm in flat 32-bit ring-0 protected mode
 * through cpu_run() and reports guest instructions, host time, guest MIPS and icache counters.
 * The checksum the workload leaves in EAX/EDX is compared with the same computation done here
 * in C; a mismatch fails the run (exit status 1) so a broken interpreter cannot post a figure.
 *
 *   bench_interp [-n iterations] [-p] [-q] [-w workload.bin]
 *     -p  run with paging on (4 KiB pages, identity map), to include the page-walk/TLB path
 *     -q  one line of output (for scripts)
 * Target to report against: 150 MIPS (not asserted). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "translator/translator.h"
#include "cpu/icache.h"
#include "mmu/memmap.h"
#include "mmu/paging.h"

#define RAM_SIZE (16u << 20)
#define LOAD_ADDR 0x100000u
#define PAGE_DIR 0xF00000u /* page tables for -p: directory, then 4 tables (16 MiB) */

/* The workload's computation, in C (see the comments in workload.asm). */
static uint32_t mix(uint32_t a)
{
    uint32_t r = (a >> 7) | (a << 25);
    return (a + 2 * r + 0x1234u) * 0x2545F491u;
}

static void reference(uint32_t iterations, uint32_t *acc_out, uint32_t *hi_out)
{
    uint32_t t[256];
    for (uint32_t i = 0; i < 256; i++)
        t[i] = i * 0x01010101u;
    uint32_t x = 0x12345678u, acc = 0, hi = 0;
    for (uint32_t n = 0; n < iterations; n++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t d = t[x & 0xFF] + x;
        t[x & 0xFF] = d;
        acc += d ^ t[(x >> 8) & 0xFF];
        if (x & 1)
            acc += 0x9E3779B9u;
        else
            acc ^= 0x7F4A7C15u;
        if (x >= 0x80000000u)
            hi++;
        acc += mix(x);
        uint32_t off = ((x >> 4) & 0x3C0) / 4;
        acc ^= t[off] + t[off + 1] + t[off + 2] + t[off + 3];
        acc += x & 0xFF;
    }
    *acc_out = acc;
    *hi_out = hi;
}

static void setup_paging(struct memmap *m)
{
    for (uint32_t pd = 0; pd < 4; pd++) {
        uint32_t pt = PAGE_DIR + 0x1000 * (pd + 1);
        memmap_write(m, PAGE_DIR + 4 * pd, pt | PTE_P | PTE_W, 4);
        for (uint32_t i = 0; i < 1024; i++)
            memmap_write(m, pt + 4 * i, ((pd << 22) | (i << 12)) | PTE_P | PTE_W, 4);
    }
}

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint32_t iterations = 1000000;
    bool paging = false, quiet = false, translate = false;
    const char *path = BENCH_INTERP_WORKLOAD;
    int opt;
    while ((opt = getopt(argc, argv, "n:pqtw:")) != -1) {
        switch (opt) {
        case 'n': iterations = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'p': paging = true; break;
        case 'q': quiet = true; break;
        case 't': translate = true; break;
        case 'w': path = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-n iterations] [-p] [-q] [-t] [-w workload.bin]\n", argv[0]);
            return 2;
        }
    }
    if (iterations == 0) {
        fprintf(stderr, "bench_interp: iterations must be at least 1\n");
        return 2;
    }

    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_interp: %s: %s\n", path, strerror(errno));
        return 2;
    }
    static uint8_t image[65536];
    size_t len = fread(image, 1, sizeof(image), f);
    fclose(f);
    if (len == 0 || len == sizeof(image)) {
        fprintf(stderr, "bench_interp: %s: bad workload size %zu\n", path, len);
        return 2;
    }

    static struct memmap mem;
    static struct cpu cpu;
    struct cpu *c = &cpu;
    if (memmap_init(&mem, RAM_SIZE) != 0 || cpu_init(c, &mem) != 0) {
        fprintf(stderr, "bench_interp: cannot create the VM\n");
        return 2;
    }
    memmap_copy_to(&mem, LOAD_ADDR, image, len);
    struct translator *tr = NULL;
    if (translate) {
        tr = translator_create(0);
        if (!tr) {
            fprintf(stderr, "bench_interp: cannot create the translator: %s\n", strerror(errno));
            return 2;
        }
        translator_attach(tr, c);
    }

    /* Flat ring-0 32-bit protected mode. */
    cpu_reset(c);
    c->cr0 = CR0_PE | CR0_ET;
    if (paging) {
        setup_paging(&mem);
        c->cr3 = PAGE_DIR;
        c->cr0 |= CR0_PG;
    }
    const uint32_t common = SEG_P | SEG_S | SEG_DB | SEG_G;
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x10, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_CS, 0x08, 0, 0xFFFFFFFFu, common | (0xBu << 8));
    cpu_update_mode(c);
    cpu_set_eflags(c, FL_FIXED1);
    cpu_flush_tlb(c, false);
    c->eip = LOAD_ADDR;
    c->regs[R_EBP] = iterations;
    c->stop_on_exception = 0xFFFFFFFFu;
    c->exit_on_hlt = true;

    /* Wall time, and this thread's CPU time: on a busy machine the second is the fairer
     * measure (the MIPS figure uses it). */
    double w0 = clock_seconds(CLOCK_MONOTONIC), t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    enum cpu_exit why = cpu_run(c, UINT64_C(1) << 50);
    double secs = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
    double wall = clock_seconds(CLOCK_MONOTONIC) - w0;

    uint32_t want_acc, want_hi;
    reference(iterations, &want_acc, &want_hi);
    bool ok = why == CPU_EXIT_HLT && c->regs[R_EAX] == want_acc && c->regs[R_EDX] == want_hi;
    double mips = secs > 0 ? (double)c->icount / secs / 1e6 : 0;

    if (quiet) {
        printf("%s %" PRIu64 " insns %.3f s %.1f MIPS (wall %.3f s)%s\n", ok ? "ok" : "FAIL",
               c->icount, secs, mips, wall, paging ? " (paging)" : "");
    } else {
        printf("bench_interp: %u iterations, paging %s, engine %s\n", iterations,
               paging ? "on" : "off", translate ? "translator" : "interpreter");
        printf("  guest instructions  %" PRIu64 "\n", c->icount);
        printf("  host seconds        %.3f CPU, %.3f wall\n", secs, wall);
        printf("  guest MIPS          %.1f   (per CPU second; target 150)\n", mips);
        /* The interpreter's fast path does not count hits (cpu/interp.c keeps it lean); every
         * executed instruction is one fetch, and this workload has no page-crossing
         * (uncached) instructions, so hits = instructions - misses. */
        uint64_t misses = c->icache->misses;
        uint64_t hits = c->icache->hits ? c->icache->hits : c->icount - misses;
        printf("  icache hits/misses  %" PRIu64 " / %" PRIu64 "%s\n", hits, misses,
               c->icache->hits ? "" : "   (hits derived: instructions - misses)");
        printf("  checksum            eax %08x edx %08x, expected %08x %08x: %s\n",
               c->regs[R_EAX], c->regs[R_EDX], want_acc, want_hi, ok ? "ok" : "MISMATCH");
    }
    if (why != CPU_EXIT_HLT) {
        fprintf(stderr, "bench_interp: run ended with %d (exception %d error %x at eip %08x)\n",
                why, c->exc_vector, c->exc_error, c->eip);
    }
    if (tr && !quiet) {
        struct translator_stats st;
        translator_get_stats(tr, &st);
        printf("  translator          %" PRIu64 " blocks, %" PRIu64 " insns (%" PRIu64
               " inline), %.1f host bytes per insn, %" PRIu64 " chained exits, %" PRIu64
               " failed\n", st.blocks, st.guest_insns, st.inline_insns,
               st.guest_insns ? (double)st.host_bytes / (double)st.guest_insns : 0.0, st.chains,
               st.failures);
    }
    cpu_destroy(c);
    translator_destroy(tr);
    memmap_destroy(&mem);
    return ok ? 0 : 1;
}
