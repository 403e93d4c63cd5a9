; pg_rw: the R/W bit at PDE and PTE level for ring 3 (SDM vol. 3, 4.6).
; Proves: ring 3 may read a read-only page; its writes fault with error code 7 (P|W|U) when
; either the PDE or the PTE is read-only; RMW instructions and string stores fault the same way
; with memory and registers untouched; setting R/W (and INVLPG) lets the write through.
%define TEST_NAME "pg_rw"
%include "guest.inc"

RO_PTE  equ TEST_LIN                    ; PTE read-only, PDE writable
RW_PAGE equ TEST_LIN + 0x1000
RO_PDE  equ 0x800000                    ; PDE read-only, PTE writable

test_main:
        call paging_init
        mov dword [SCRATCH], 0x11110000
        mov dword [SCRATCH + 0x2000], 0x22220000
        mov dword [PTE(RO_PTE)], SCRATCH | PG_P | PG_US
        mov dword [PTE(RW_PAGE)], (SCRATCH + 0x1000) | PG_P | PG_RW | PG_US
        mov dword [PTE(RO_PDE)], (SCRATCH + 0x2000) | PG_P | PG_RW | PG_US
        and dword [PDE(RO_PDE)], ~PG_RW
        PAGING_ON

        RING3_BEGIN
        mov eax, [RO_PTE]
        mov ebx, [RO_PDE]
        RING3_END
        CHECK "ring 3 reads read-only pages: no fault", [exc_vector], VEC_RING0
        CHECK "ring 3 read of the read-only PTE page", [exc_eax], 0x11110000
        CHECK "ring 3 read through the read-only PDE", [exc_ebx], 0x22220000

        RING3_BEGIN
.w1:    mov dword [RO_PTE], 0xBAD
        RING3_END
        CHECK_EXC "ring 3 write, read-only PTE", 14, PF_P | PF_W | PF_U, .w1
        CHECK "ring 3 write, read-only PTE: CR2", [exc_cr2], RO_PTE
        CHECK "ring 3 write, read-only PTE: memory untouched", [SCRATCH], 0x11110000

        RING3_BEGIN
.w2:    mov word [RO_PDE + 0x802], 0xBAD
        RING3_END
        CHECK_EXC "ring 3 write, read-only PDE", 14, PF_P | PF_W | PF_U, .w2
        CHECK "ring 3 write, read-only PDE: CR2", [exc_cr2], RO_PDE + 0x802

        RING3_BEGIN
        mov ecx, 0x33
.w3:    xadd [RO_PTE], ecx
        RING3_END
        CHECK_EXC "ring 3 XADD, read-only PTE", 14, PF_P | PF_W | PF_U, .w3
        CHECK "ring 3 XADD: ECX untouched", [exc_ecx], 0x33
        CHECK "ring 3 XADD: memory untouched", [SCRATCH], 0x11110000

        RING3_BEGIN
        mov edi, RO_PDE + 0x10
        mov eax, 0xBAD
        cld
.w4:    stosd
        RING3_END
        CHECK_EXC "ring 3 STOSD, read-only PDE", 14, PF_P | PF_W | PF_U, .w4
        CHECK "ring 3 STOSD: EDI untouched", [exc_edi], RO_PDE + 0x10

        ; a write split over a writable and a read-only page faults on the read-only one, and
        ; writes nothing to the writable one
        mov dword [SCRATCH + 0x1FFC], 0x44444444
        RING3_BEGIN
.w5:    mov dword [RO_PTE + 0xFFE], 0xBAD  ; RO_PTE then RW_PAGE: the first page is read-only
        RING3_END
        CHECK_EXC "ring 3 split write (read-only, writable)", 14, PF_P | PF_W | PF_U, .w5
        CHECK "ring 3 split write: CR2", [exc_cr2], RO_PTE + 0xFFE
        mov dword [PTE(RW_PAGE + 0x1000)], SCRATCH | PG_P | PG_US
        RING3_BEGIN
.w6:    mov dword [RW_PAGE + 0xFFD], 0xBAD  ; writable page then read-only
        RING3_END
        CHECK_EXC "ring 3 split write (writable, read-only)", 14, PF_P | PF_W | PF_U, .w6
        CHECK "ring 3 split write (writable, read-only): CR2", [exc_cr2], RW_PAGE + 0x1000
        CHECK "ring 3 split write: writable part untouched", [SCRATCH + 0x1FFC], 0x44444444

        ; make the PTE writable
        or dword [PTE(RO_PTE)], PG_RW
        invlpg [RO_PTE]
        RING3_BEGIN
        mov dword [RO_PTE], 0x600D
        RING3_END
        CHECK "after setting R/W: ring 3 write reaches INT 0x30", [exc_vector], VEC_RING0
        CHECK "after setting R/W: memory written", [SCRATCH], 0x600D
        PAGING_OFF
        ret

%include "end.inc"
