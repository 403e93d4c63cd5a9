; pg_invlpg: INVLPG and paging-structure changes (SDM vol. 3, 4.10.4, INVLPG in vol. 2).
; Proves: INVLPG of an address refetches that page's translation; INVLPG of any address inside
; a 4 MiB page refetches the whole large page; after a PDE is pointed at another page table,
; INVLPG (or MOV CR3) makes translations use the new table; INVLPG of an unmapped address does
; not fault; INVLPG at CPL 3 raises #GP(0); a translation is never cached for a not-present
; page, so mapping it needs no INVLPG.
%define TEST_NAME "pg_invlpg"
%include "guest.inc"

L1      equ TEST_LIN
L_BIG   equ 0xC00000
BIGA    equ 0x400000
BIGB    equ 0x800000
L_PDE   equ 0x800000                    ; PDE 2
ALT_PT  equ SCRATCH + 0x10000           ; another page table for PDE 2

test_main:
        mov dword [SCRATCH], 0xAAAA0001
        mov dword [SCRATCH + 0x1000], 0xBBBB0001
        mov dword [BIGA + 0x5678], 0xAAAA0002
        mov dword [BIGB + 0x5678], 0xBBBB0002
        mov dword [SCRATCH + 0x2000], 0xAAAA0003
        mov dword [SCRATCH + 0x3000], 0xBBBB0003
        call paging_init
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov dword [PTE(L1)], SCRATCH | PG_P | PG_RW
        mov dword [PDE(L_BIG)], BIGA | PG_PS | PG_P | PG_RW
        mov dword [PTE(L_PDE)], (SCRATCH + 0x2000) | PG_P | PG_RW
        mov edi, ALT_PT                 ; alternative table: every PTE -> SCRATCH + 0x3000
        mov eax, (SCRATCH + 0x3000) | PG_P | PG_RW
        mov ecx, 1024
        rep stosd
        PAGING_ON

        mov eax, [L1]
        CHECK "4 KiB page read", eax, 0xAAAA0001
        mov dword [PTE(L1)], (SCRATCH + 0x1000) | PG_P | PG_RW
        invlpg [L1 + 0xABC]
        mov eax, [L1]
        CHECK "after PTE change + INVLPG (other offset, same page)", eax, 0xBBBB0001

        mov eax, [L_BIG + 0x5678]
        CHECK "4 MiB page read", eax, 0xAAAA0002
        mov dword [PDE(L_BIG)], BIGB | PG_PS | PG_P | PG_RW
        invlpg [L_BIG + 0x3FF000]       ; another 4 KiB part of the same large page
        mov eax, [L_BIG + 0x5678]
        CHECK "after PDE change + INVLPG elsewhere in the 4 MiB page", eax, 0xBBBB0002

        mov eax, [L_PDE]
        CHECK "read through PDE 2", eax, 0xAAAA0003
        mov dword [PDE(L_PDE)], ALT_PT | PG_P | PG_RW
        invlpg [L_PDE]
        mov eax, [L_PDE]
        CHECK "PDE pointed at another page table + INVLPG", eax, 0xBBBB0003
        mov dword [PDE(L_PDE)], (PT_BASE + 0x2000) | PG_P | PG_RW | PG_US
        FLUSH_TLB
        mov eax, [L_PDE]
        CHECK "PDE restored + MOV CR3", eax, 0xAAAA0003

        FAULT_BEGIN
        invlpg [0xE00000]               ; unmapped
        invlpg [0xFFFFF000]             ; beyond the page tables
        FAULT_END
        CHECK "INVLPG of unmapped addresses: no exception", [exc_vector], 0xFFFFFFFF

        mov dword [PTE(L1 + 0x1000)], 0
        FAULT_BEGIN
.np:    mov eax, [L1 + 0x1000]
        FAULT_END
        CHECK_EXC "read of a not-present page", 14, 0, .np
        mov dword [PTE(L1 + 0x1000)], (SCRATCH + 0x1000) | PG_P | PG_RW
        FAULT_BEGIN
        mov eax, [L1 + 0x1000]          ; no INVLPG: not-present entries are not cached
        FAULT_END
        CHECK "mapped without INVLPG after a not-present fault: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "mapped without INVLPG: value", eax, 0xBBBB0001

        or dword [PDE(L1)], PG_US
        or dword [PTE(L1)], PG_US
        invlpg [L1]
        RING3_BEGIN
.u:     invlpg [L1]
        RING3_END
        CHECK_EXC "INVLPG at CPL 3", 13, 0, .u
        PAGING_OFF
        ret

%include "end.inc"
