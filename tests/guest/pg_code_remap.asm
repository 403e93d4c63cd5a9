; pg_code_remap: instruction fetches follow mapping changes and writes to code (SDM vol. 3,
; 4.10.4 TLB invalidation; 8.1.3 "Handling Self- and Cross-Modifying Code").
; Proves: after a code page's PTE is pointed at other bytes and INVLPG (or MOV CR3) runs, the
; next fetch executes the new bytes; code written through another linear alias of the same
; physical page (then a jump) executes as written; a store into the instruction stream ahead,
; followed by a jump, runs the stored instruction.
%define TEST_NAME "pg_code_remap"
%include "guest.inc"

CODE_LIN  equ TEST_LIN                  ; executed
ALIAS_LIN equ TEST_LIN + 0x10000        ; writable alias of the same frame
FRAME_A   equ SCRATCH
FRAME_B   equ SCRATCH + 0x1000

%macro MOV_EAX_RET 2                    ; at physical %1: mov eax, %2 ; ret
        mov byte [%1], 0xB8
        mov dword [%1 + 1], %2
        mov byte [%1 + 5], 0xC3
%endmacro

test_main:
        MOV_EAX_RET FRAME_A, 0xAAAA
        MOV_EAX_RET FRAME_B, 0xBBBB
        call paging_init
        mov dword [PTE(CODE_LIN)], FRAME_A | PG_P | PG_RW
        mov dword [PTE(ALIAS_LIN)], FRAME_A | PG_P | PG_RW
        PAGING_ON

        call CODE_LIN
        CHECK "code page mapped to frame A", eax, 0xAAAA
        call CODE_LIN
        CHECK "again (decoded instructions reused)", eax, 0xAAAA
        mov ecx, 20                     ; hot: translated under the default engine
.hot_a: call CODE_LIN
        dec ecx
        jnz .hot_a
        FLUSH_TLB                       ; same mapping: the block (and its code) stays
        call CODE_LIN
        CHECK "MOV CR3, mapping unchanged: same code runs", eax, 0xAAAA
        mov dword [PTE(CODE_LIN)], FRAME_B | PG_P | PG_RW
        invlpg [CODE_LIN]
        call CODE_LIN
        CHECK "PTE -> frame B + INVLPG: new code runs", eax, 0xBBBB
        mov ecx, 20
.hot_b: call CODE_LIN
        dec ecx
        jnz .hot_b
        CHECK "frame B, hot", eax, 0xBBBB
        mov dword [PTE(CODE_LIN)], FRAME_A | PG_P | PG_RW
        FLUSH_TLB
        call CODE_LIN
        CHECK "PTE -> frame A + MOV CR3: new code runs", eax, 0xAAAA
        mov dword [PTE(CODE_LIN)], FRAME_B | PG_P | PG_RW
        FLUSH_TLB
        call CODE_LIN
        CHECK "PTE -> frame B again + MOV CR3: frame B's code runs", eax, 0xBBBB
        mov dword [PTE(CODE_LIN)], FRAME_A | PG_P | PG_RW
        FLUSH_TLB
        call CODE_LIN
        CHECK "and frame A again", eax, 0xAAAA

        ; A hot call site (its exit chained straight to the block at CODE_LIN) sees a remap
        ; whose TLB entry a data read has refilled before the next call.
        mov ecx, 20
        mov esi, 0
.hot_c: call CODE_LIN
        add esi, eax
        cmp ecx, 10
        jne .same
        mov dword [PTE(CODE_LIN)], FRAME_B | PG_P | PG_RW
        invlpg [CODE_LIN]
        mov edx, [CODE_LIN]
.same:  dec ecx
        jnz .hot_c
        CHECK "remapped under a chained call: 11 calls of A, 9 of B", esi, 11 * 0xAAAA + 9 * 0xBBBB
        mov dword [PTE(CODE_LIN)], FRAME_A | PG_P | PG_RW
        FLUSH_TLB

        ; cross-modify through the alias
        mov dword [ALIAS_LIN + 1], 0xC0DE
        jmp .j1
.j1:    call CODE_LIN
        CHECK "immediate rewritten through an alias mapping", eax, 0xC0DE
        mov byte [ALIAS_LIN], 0xBB      ; mov ebx, imm32 instead
        mov eax, 0
        jmp .j2
.j2:    call CODE_LIN
        CHECK "opcode rewritten through an alias: EAX untouched", eax, 0
        CHECK "opcode rewritten through an alias: EBX loaded", ebx, 0xC0DE

        ; self-modifying code in place (the code page executes from RAM)
        mov byte [CODE_LIN + 0x100], 0xC7               ; mov dword [CODE_LIN+0x10C], imm32
        mov byte [CODE_LIN + 0x101], 0x05
        mov dword [CODE_LIN + 0x102], CODE_LIN + 0x10C
        mov dword [CODE_LIN + 0x106], 0x0000D0B8        ; -> B8 D0 00 00 (mov eax, 0xD0..)
        mov byte [CODE_LIN + 0x10A], 0xEB               ; jmp short +0
        mov byte [CODE_LIN + 0x10B], 0x00
        MOV_EAX_RET FRAME_A + 0x10C, 0x1111             ; replaced before it runs
        mov eax, 0
        call CODE_LIN + 0x100
        CHECK "a store into the instruction stream ahead, then a jump", eax, 0xD0
        PAGING_OFF
        ret

%include "end.inc"
