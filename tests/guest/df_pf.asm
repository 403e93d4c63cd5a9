; df_pf: page faults during exception delivery (SDM vol. 3, table 6-5, 6.15 #DF and #PF).
; Proves: a page fault while delivering a page fault (the #PF gate lies in a not-present page
; of the IDT) becomes #DF with error code 0, and CR2 holds the second fault's address (the
; gate); a page fault while delivering a contributory exception (#GP whose gate is in a
; not-present page) is not a double fault: the #PF is delivered, with CR2 = the gate's
; address and an error code for a supervisor read.
%define TEST_NAME "df_pf"
%include "guest.inc"

IDT_A   equ SCRATCH + 0x1000 - 9 * 8    ; gates 0-8 in page SCRATCH, 9.. in the next page
IDT_B   equ SCRATCH + 0x1000 - 14 * 8   ; gates 0-13 in page SCRATCH, 14.. in the next page

%macro USE_IDT 1
        mov esi, IDT_BASE
        mov edi, %1
        mov ecx, (IDT_LIMIT + 1) / 4
        cld
        rep movsd
        mov word [lib_tmp], IDT_LIMIT
        mov dword [lib_tmp + 2], %1
        lidt [lib_tmp]
%endmacro
%macro ORIG_IDT 0
        mov word [lib_tmp], IDT_LIMIT
        mov dword [lib_tmp + 2], IDT_BASE
        lidt [lib_tmp]
%endmacro

test_main:
        call paging_init
        PAGING_ON

        ; #PF whose gate is in a missing page: #PF during #PF -> #DF
        USE_IDT IDT_A
        mov dword [PTE(SCRATCH + 0x1000)], 0
        invlpg [SCRATCH + 0x1000]
        FAULT_BEGIN
        mov eax, [TEST_LIN]
        FAULT_END
        ORIG_IDT
        mov dword [PTE(SCRATCH + 0x1000)], (SCRATCH + 0x1000) | PG_P | PG_RW | PG_US
        invlpg [SCRATCH + 0x1000]
        CHECK "#PF + #PF reading the #PF gate: vector", [exc_vector], 8
        CHECK "#PF + #PF reading the #PF gate: error code 0", [exc_error], 0
        CHECK "#PF + #PF reading the #PF gate: CR2 = the gate", [exc_cr2], IDT_A + 14 * 8

        ; #GP whose gate is in a missing page: the #PF is delivered (no #DF)
        USE_IDT IDT_B
        mov dword [PTE(SCRATCH)], 0
        invlpg [SCRATCH]
        FAULT_BEGIN
        xor eax, eax
        mov ds, ax
        mov eax, [0x100]                ; #GP(0)
        FAULT_END
        ORIG_IDT
        mov dword [PTE(SCRATCH)], SCRATCH | PG_P | PG_RW | PG_US
        invlpg [SCRATCH]
        CHECK "#GP + #PF reading the #GP gate: #PF delivered", [exc_vector], 14
        CHECK "#GP + #PF reading the #GP gate: CR2 = the gate", [exc_cr2], IDT_B + 13 * 8
        CHECKM "#GP + #PF reading the #GP gate: error code (not present, supervisor read)", [exc_error], PF_P | PF_W | PF_U, 0
        PAGING_OFF
        ret

%include "end.inc"
