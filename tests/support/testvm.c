#include "tests/support/testvm.h"

#include <stdlib.h>
#include <string.h>

int testvm_init(struct testvm *vm, uint32_t ram_size)
{
    memset(vm, 0, sizeof(*vm));
    int r = memmap_init(&vm->mem, ram_size);
    if (r)
        return r;
    if (cpu_init(&vm->cpu, &vm->mem)) {
        memmap_destroy(&vm->mem);
        return -1;
    }
    return 0;
}

void testvm_destroy(struct testvm *vm)
{
    cpu_destroy(&vm->cpu);
    memmap_destroy(&vm->mem);
}

struct testvm *testvm_new(uint32_t ram_size)
{
    struct testvm *vm = calloc(1, sizeof(*vm));
    if (vm && testvm_init(vm, ram_size)) {
        free(vm);
        return NULL;
    }
    return vm;
}

void testvm_free(struct testvm *vm)
{
    if (!vm)
        return;
    testvm_destroy(vm);
    free(vm);
}

void testvm_real_mode(struct testvm *vm)
{
    struct cpu *c = &vm->cpu;
    cpu_reset(c);
    const uint32_t data = SEG_P | SEG_S | (0x3u << 8);
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0, 0, 0xFFFF, data);
    cpu_set_seg_cache(c, SR_CS, 0, 0, 0xFFFF, SEG_P | SEG_S | (0xBu << 8));
    c->idtr.base = 0;
    c->idtr.limit = 0x3FF;
    c->eip = 0;
}

void testvm_flat32_user(struct testvm *vm)
{
    struct cpu *c = &vm->cpu;
    cpu_reset(c);
    c->cr0 = CR0_PE | CR0_ET;
    const uint32_t common = SEG_P | SEG_S | SEG_DB | SEG_G | (3u << 13);
    for (int s = 0; s < SR_COUNT; s++)
        cpu_set_seg_cache(c, s, 0x2B, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_CS, 0x23, 0, 0xFFFFFFFFu, common | (0xBu << 8));
    cpu_update_mode(c);
    c->eflags = FL_FIXED1 | FL_IF;
    c->eip = 0;
}
