; pg_us: the U/S bit at PDE and PTE level (SDM vol. 3, 4.6 "Access Rights", 4.7).
; Proves: ring 3 reads, writes and fetches of a supervisor page fault with P=1 and U=1 in the
; error code (5 read/fetch, 7 write); a page is user only if both its PDE and its PTE say so;
; ring 0 may read and write user pages and supervisor pages alike.
%define TEST_NAME "pg_us"
%include "guest.inc"

SUP     equ TEST_LIN                    ; PTE supervisor, PDE user
USR     equ TEST_LIN + 0x1000           ; PTE user, PDE user
PDSUP   equ 0x800000                    ; PDE supervisor, PTE user

test_main:
        call paging_init
        mov dword [SCRATCH], 0x5a9e0001
        mov dword [SCRATCH + 0x1000], 0x05e40002
        mov dword [SCRATCH + 0x2000], 0x5d5e0003
        mov dword [PTE(SUP)], SCRATCH | PG_P | PG_RW
        mov dword [PTE(USR)], (SCRATCH + 0x1000) | PG_P | PG_RW | PG_US
        mov dword [PTE(PDSUP)], (SCRATCH + 0x2000) | PG_P | PG_RW | PG_US
        and dword [PDE(PDSUP)], ~PG_US
        mov byte [SCRATCH + 0x100], 0xC3        ; RET, for fetches
        PAGING_ON

        ; ring 0: everything accessible
        FAULT_BEGIN
        mov eax, [SUP]
        mov ebx, [USR]
        mov ecx, [PDSUP]
        mov dword [SUP + 4], 1
        mov dword [USR + 4], 2
        mov dword [PDSUP + 4], 3
        FAULT_END
        CHECK "ring 0 reads/writes supervisor and user pages: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "ring 0 read of a supervisor page", eax, 0x5a9e0001
        CHECK "ring 0 read through a supervisor PDE", ecx, 0x5d5e0003

        ; ring 3: the user page works
        RING3_BEGIN
        mov eax, [USR]
        mov dword [USR + 8], 0x77
        RING3_END
        CHECK "ring 3 read/write of a user page: back through INT 0x30 only", [exc_vector], VEC_RING0
        CHECK "ring 3 read of a user page", [exc_eax], 0x05e40002

        ; supervisor PTE
        RING3_BEGIN
.r1:    mov eax, [SUP + 0x10]
        RING3_END
        CHECK_EXC "ring 3 read, supervisor PTE", 14, PF_P | PF_U, .r1
        CHECK "ring 3 read, supervisor PTE: CR2", [exc_cr2], SUP + 0x10
        RING3_BEGIN
.w1:    mov byte [SUP + 0xFFF], 1
        RING3_END
        CHECK_EXC "ring 3 write, supervisor PTE", 14, PF_P | PF_W | PF_U, .w1
        CHECK "ring 3 write, supervisor PTE: CR2", [exc_cr2], SUP + 0xFFF
        RING3_BEGIN
        mov eax, SUP + 0x100
        call eax
        RING3_END
        CHECK_EXC "ring 3 fetch, supervisor PTE", 14, PF_P | PF_U, SUP + 0x100
        CHECK "ring 3 fetch, supervisor PTE: CR2", [exc_cr2], SUP + 0x100

        ; supervisor PDE over a user PTE
        RING3_BEGIN
.r2:    mov eax, [PDSUP + 0x20]
        RING3_END
        CHECK_EXC "ring 3 read, supervisor PDE", 14, PF_P | PF_U, .r2
        CHECK "ring 3 read, supervisor PDE: CR2", [exc_cr2], PDSUP + 0x20
        RING3_BEGIN
.w2:    inc dword [PDSUP + 0x24]
        RING3_END
        ; a read-modify-write faults on its read (W=0, as QEMU) or with write intent (W=1, as
        ; Bochs): the W bit is left out of this check
        CHECK "ring 3 INC, supervisor PDE: vector", [exc_vector], 14
        CHECKM "ring 3 INC, supervisor PDE: error code (P, U)", [exc_error], ~PF_W, PF_P | PF_U
        CHECK "ring 3 INC, supervisor PDE: pushed EIP", [exc_eip], .w2

        ; a user page next to a supervisor one: a split ring-3 read faults on the second page
        RING3_BEGIN
.r3:    mov eax, [USR - 2]              ; last 2 bytes of SUP are supervisor: first page faults
        RING3_END
        CHECK_EXC "ring 3 split read (supervisor, user)", 14, PF_P | PF_U, .r3
        CHECK "ring 3 split read (supervisor, user): CR2", [exc_cr2], USR - 2
        mov dword [PTE(USR + 0x1000)], SCRATCH | PG_P | PG_RW
        RING3_BEGIN
.r4:    mov eax, [USR + 0xFFE]          ; user page, then a supervisor page
        RING3_END
        CHECK_EXC "ring 3 split read (user, supervisor)", 14, PF_P | PF_U, .r4
        CHECK "ring 3 split read (user, supervisor): CR2", [exc_cr2], USR + 0x1000

        ; making the PTE user (with an INVLPG) opens the page to ring 3
        or dword [PTE(SUP)], PG_US
        invlpg [SUP]
        RING3_BEGIN
        mov eax, [SUP]
        RING3_END
        CHECK "after setting U/S: ring 3 read reaches INT 0x30", [exc_vector], VEC_RING0
        CHECK "after setting U/S: value", [exc_eax], 0x5a9e0001
        PAGING_OFF
        ret

%include "end.inc"
