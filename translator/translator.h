/* The binary translator: turns the interpreter's decoded blocks (struct insn, the one decoder)
 * into x86-64 host code.
 *
 * A translated block keeps the interpreter's contract exactly: before each instruction that
 * is not generated inline it stores the instruction's EIP, ESP and the next EIP where the
 * precise-fault machinery expects them, then calls the same handler the interpreter would;
 * instructions generated inline are ones that cannot fault. So a fault anywhere in a block
 * unwinds and is delivered exactly as in the interpreter (docs/translator.md). */
#ifndef BT86_TRANSLATOR_H
#define BT86_TRANSLATOR_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

struct translator_stats {
    uint64_t blocks;        /* translations made */
    uint64_t guest_insns;   /* guest instructions translated */
    uint64_t inline_insns;  /* ... of which generated inline */
    uint64_t host_bytes;    /* host code emitted */
    uint64_t flushes;       /* code cache flushes (it was full) */
};

struct translator;

/* `cache_bytes`: size of the code cache (0: the default). NULL on failure (errno set). */
struct translator *translator_create(size_t cache_bytes);
void translator_destroy(struct translator *t);
/* Make `c` run its blocks through `t` (NULL detaches). */
void translator_attach(struct translator *t, struct cpu *c);
void translator_get_stats(const struct translator *t, struct translator_stats *out);

#endif
