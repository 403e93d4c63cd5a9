; pg_pse: 4 MiB pages (SDM vol. 3, 4.3 "32-Bit Paging", table 4-4).
; Proves: with CR4.PSE=1 a PDE with PS=1 maps 4 MiB (bits 21:0 of the linear address are the
; offset); A and D are set in that PDE; U/S, R/W and P of a 4 MiB PDE give the same #PF error
; codes and CR2 as for 4 KiB pages; with CR4.PSE=0 the PS bit is ignored and the same PDE
; points to a page table.
%define TEST_NAME "pg_pse"
%include "guest.inc"

BIGPHYS equ 0x400000                    ; physical 4 MiB - 8 MiB
L_BIG   equ 0xC00000                    ; PDE 3: user, writable 4 MiB page
L_SUP   equ 0x800000                    ; PDE 2: supervisor, read-only 4 MiB page

test_main:
        ; patterns in physical memory (paging still off)
        mov dword [BIGPHYS + 0x1234], 0x4D1B0001
        mov dword [BIGPHYS + 0x3FFFFC], 0x4D1B0002
        mov dword [BIGPHYS + 0x200000], 0x4D1B0003
        call paging_init
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov dword [PDE(L_BIG)], BIGPHYS | PG_PS | PG_P | PG_RW | PG_US
        mov dword [PDE(L_SUP)], BIGPHYS | PG_PS | PG_P
        PAGING_ON

        mov eax, [L_BIG + 0x1234]
        CHECK "4 MiB page: read at offset 0x1234", eax, 0x4D1B0001
        mov eax, [L_BIG + 0x3FFFFC]
        CHECK "4 MiB page: read of its last dword", eax, 0x4D1B0002
        mov eax, [L_BIG + 0x200000]
        CHECK "4 MiB page: read at offset 0x200000", eax, 0x4D1B0003
        CHECKM "4 MiB page after reads: PDE A set, D clear", [PDE(L_BIG)], PG_A | PG_D, PG_A
        mov dword [L_BIG + 0x2000], 0x12345678
        CHECKM "4 MiB page after a write: PDE D set", [PDE(L_BIG)], PG_A | PG_D, PG_A | PG_D
        CHECK "4 MiB page write seen through the other 4 MiB mapping", [L_SUP + 0x2000], 0x12345678
        CHECKM "4 MiB PDE keeps PS and its frame", [PDE(L_BIG)], 0xFFC00000 | PG_PS, BIGPHYS | PG_PS

        ; rights of a 4 MiB page
        RING3_BEGIN
.r3:    mov eax, [L_SUP + 0x3FF000]
        RING3_END
        CHECK_EXC "ring 3 read of a supervisor 4 MiB page", 14, PF_P | PF_U, .r3
        CHECK "ring 3 read of a supervisor 4 MiB page: CR2", [exc_cr2], L_SUP + 0x3FF000
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        FAULT_BEGIN
.w0:    mov dword [L_SUP + 0x10], 0
        FAULT_END
        CHECK_EXC "ring 0 write (WP=1) to a read-only 4 MiB page", 14, PF_P | PF_W, .w0
        CHECK "ring 0 write to a read-only 4 MiB page: CR2", [exc_cr2], L_SUP + 0x10
        mov eax, [L_SUP + 0x1234]
        CHECK "ring 0 read of the supervisor 4 MiB page", eax, 0x4D1B0001
        and dword [PDE(L_SUP)], ~PG_P
        invlpg [L_SUP + 0x1234]
        FAULT_BEGIN
.np:    mov eax, [L_SUP + 0x1234]
        FAULT_END
        CHECK_EXC "read of a not-present 4 MiB page", 14, 0, .np
        CHECK "read of a not-present 4 MiB page: CR2", [exc_cr2], L_SUP + 0x1234

        ; CR4.PSE=0: PS is ignored, the PDE of L_BIG now names a page table at BIGPHYS
        PAGING_OFF
        mov dword [BIGPHYS + 4], SCRATCH | PG_P | PG_RW | PG_US   ; PTE 1
        mov dword [SCRATCH + 0x234], 0x4C4C0004
        mov eax, cr4
        and eax, ~CR4_PSE
        mov cr4, eax
        PAGING_ON
        FLUSH_TLB
        FAULT_BEGIN
        mov eax, [L_BIG + 0x1234]
        FAULT_END
        CHECK "CR4.PSE=0: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "CR4.PSE=0: PS ignored, read through a page table", eax, 0x4C4C0004
        PAGING_OFF
        ret

%include "end.inc"
