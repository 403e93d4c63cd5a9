/* A bare CPU + RAM for unit, differential and conformance tests. */
#ifndef BT86_TESTVM_H
#define BT86_TESTVM_H

#include "cpu/cpu.h"
#include "mmu/memmap.h"

struct testvm {
    struct memmap mem;
    struct cpu cpu;
};

/* RAM of ram_size bytes at physical 0; CPU in its reset state. Returns 0 or -errno. */
int testvm_init(struct testvm *vm, uint32_t ram_size);
void testvm_destroy(struct testvm *vm);

/* Heap-allocated VM for cmocka fixtures (struct testvm is too large for a test's stack).
 * NULL on failure. */
struct testvm *testvm_new(uint32_t ram_size);
void testvm_free(struct testvm *vm);

/* Real mode, all segment registers 0 with 64 KiB limits, IVT at 0, IF clear. */
void testvm_real_mode(struct testvm *vm);

/* Flat 32-bit protected mode at CPL 3 (as a Linux process sees it): CS 0x23 and
 * DS/ES/SS/FS/GS 0x2B, base 0, limit 4 GiB, IOPL 0, no paging. */
void testvm_flat32_user(struct testvm *vm);

#endif
