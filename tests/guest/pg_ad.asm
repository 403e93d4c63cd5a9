; pg_ad: accessed and dirty bits (SDM vol. 3, 4.8 "Accessed and Dirty Flags").
; Proves: a read sets A in the PDE and the PTE and leaves D clear; the first write to a page
; sets D even when a read already cached its translation; a first write sets A and D together;
; an instruction fetch sets A only; a split write dirties both pages; after software clears
; A/D and runs INVLPG the processor sets them again; a write that faults (read-only page) does
; not set D.
%define TEST_NAME "pg_ad"
%include "guest.inc"

P_READ  equ TEST_LIN                    ; read, then written
P_WRITE equ TEST_LIN + 0x1000           ; written first
P_EXEC  equ TEST_LIN + 0x2000           ; executed
P_RO    equ TEST_LIN + 0x3000           ; read-only, written by ring 3 (faults)
P_SPL1  equ TEST_LIN + 0x4000           ; a split write over these two
P_SPL2  equ TEST_LIN + 0x5000
P_OTHER equ 0x800000                    ; its PDE: A checked

%define FLAGS PG_P | PG_RW | PG_US

test_main:
        call paging_init
        mov dword [PTE(P_READ)], SCRATCH | FLAGS
        mov dword [PTE(P_WRITE)], (SCRATCH + 0x1000) | FLAGS
        mov dword [PTE(P_EXEC)], (SCRATCH + 0x2000) | FLAGS
        mov dword [PTE(P_RO)], (SCRATCH + 0x3000) | PG_P | PG_US
        mov dword [PTE(P_SPL1)], (SCRATCH + 0x4000) | FLAGS
        mov dword [PTE(P_SPL2)], (SCRATCH + 0x5000) | FLAGS
        mov dword [PTE(P_OTHER)], (SCRATCH + 0x6000) | FLAGS
        mov byte [SCRATCH + 0x2000], 0xC3       ; RET
        PAGING_ON

        CHECKM "PDE of TEST_LIN: A clear before any access", [PDE(P_READ)], PG_A, 0
        mov eax, [P_READ]
        CHECKM "read: PTE A set, D clear", [PTE(P_READ)], PG_A | PG_D, PG_A
        CHECKM "read: PDE A set", [PDE(P_READ)], PG_A, PG_A
        mov dword [P_READ + 8], 1
        CHECKM "write after read: PTE D set", [PTE(P_READ)], PG_A | PG_D, PG_A | PG_D
        CHECKM "write after read: frame and other bits kept", [PTE(P_READ)], ~(PG_A | PG_D), SCRATCH | FLAGS

        mov byte [P_WRITE + 0xFFF], 2
        CHECKM "first access a write: PTE A and D set", [PTE(P_WRITE)], PG_A | PG_D, PG_A | PG_D

        call P_EXEC
        CHECKM "fetch: PTE A set, D clear", [PTE(P_EXEC)], PG_A | PG_D, PG_A

        mov word [P_SPL1 + 0xFFF], 0x1234
        CHECKM "split write: first page A and D", [PTE(P_SPL1)], PG_A | PG_D, PG_A | PG_D
        CHECKM "split write: second page A and D", [PTE(P_SPL2)], PG_A | PG_D, PG_A | PG_D

        ; clear A and D of P_READ in memory, INVLPG: the next accesses set them again
        and dword [PTE(P_READ)], ~(PG_A | PG_D)
        invlpg [P_READ]
        mov eax, [P_READ + 0x10]
        CHECKM "after clear + INVLPG, read: A set again, D clear", [PTE(P_READ)], PG_A | PG_D, PG_A
        add dword [P_READ + 0x10], 1
        CHECKM "after clear + INVLPG, write: D set again", [PTE(P_READ)], PG_A | PG_D, PG_A | PG_D

        ; a write that faults does not set D
        RING3_BEGIN
.w:     mov dword [P_RO], 5
        RING3_END
        CHECK_EXC "ring 3 write to a read-only page", 14, PF_P | PF_W | PF_U, .w
        CHECKM "faulting write: PTE D still clear", [PTE(P_RO)], PG_D, 0

        ; another PDE, cleared of A by hand
        and dword [PDE(P_OTHER)], ~PG_A
        FLUSH_TLB
        mov eax, [P_OTHER]
        CHECKM "read through another PDE: its A set", [PDE(P_OTHER)], PG_A, PG_A
        CHECKM "read through another PDE: PTE A set, D clear", [PTE(P_OTHER)], PG_A | PG_D, PG_A
        PAGING_OFF
        ret

%include "end.inc"
