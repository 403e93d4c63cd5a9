; pg_wp: CR0.WP and supervisor writes (SDM vol. 3, 4.6, 2.5 "CR0.WP").
; Proves: with WP=0 ring 0 writes read-only pages (user or supervisor, read-only at PTE or PDE
; level); with WP=1 those writes fault with error code 3 (P|W) and CR2; a change of WP takes
; effect on the next access without a TLB flush (rights are checked at each access); ring 3
; is refused in both settings.
%define TEST_NAME "pg_wp"
%include "guest.inc"

RO_SUP  equ TEST_LIN                    ; supervisor, read-only PTE
RO_USR  equ TEST_LIN + 0x1000           ; user, read-only PTE
RO_PDE  equ 0x800000                    ; read-only PDE

test_main:
        call paging_init
        mov dword [PTE(RO_SUP)], SCRATCH | PG_P
        mov dword [PTE(RO_USR)], (SCRATCH + 0x1000) | PG_P | PG_US
        mov dword [PTE(RO_PDE)], (SCRATCH + 0x2000) | PG_P | PG_RW | PG_US
        and dword [PDE(RO_PDE)], ~PG_RW
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        PAGING_ON

        FAULT_BEGIN
        mov dword [RO_SUP], 0x1111
        mov dword [RO_USR], 0x2222
        mov dword [RO_PDE], 0x3333
        FAULT_END
        CHECK "WP=0: ring 0 writes read-only pages without fault", [exc_vector], 0xFFFFFFFF
        CHECK "WP=0: supervisor read-only page written", [SCRATCH], 0x1111
        CHECK "WP=0: user read-only page written", [SCRATCH + 0x1000], 0x2222
        CHECK "WP=0: page under read-only PDE written", [SCRATCH + 0x2000], 0x3333

        RING3_BEGIN
.u0:    mov dword [RO_USR], 0xBAD
        RING3_END
        CHECK_EXC "WP=0: ring 3 write, read-only user page", 14, PF_P | PF_W | PF_U, .u0

        ; WP=1, no TLB flush: the translations cached above must not keep write permission
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        FAULT_BEGIN
.s1:    mov dword [RO_SUP], 0xBAD
        FAULT_END
        CHECK_EXC "WP=1: ring 0 write, read-only supervisor page", 14, PF_P | PF_W, .s1
        CHECK "WP=1: CR2", [exc_cr2], RO_SUP
        FAULT_BEGIN
.s2:    mov byte [RO_USR + 0x123], 0xBA
        FAULT_END
        CHECK_EXC "WP=1: ring 0 write, read-only user page", 14, PF_P | PF_W, .s2
        CHECK "WP=1: CR2 (user page)", [exc_cr2], RO_USR + 0x123
        FAULT_BEGIN
.s3:    or dword [RO_PDE + 0x44], 1
        FAULT_END
        CHECK_EXC "WP=1: ring 0 OR to memory under a read-only PDE", 14, PF_P | PF_W, .s3
        CHECK "WP=1: memory untouched", [SCRATCH], 0x1111
        FAULT_BEGIN
        mov eax, [RO_SUP]
        FAULT_END
        CHECK "WP=1: ring 0 reads still work", [exc_vector], 0xFFFFFFFF
        CHECK "WP=1: value read", eax, 0x1111

        ; back to WP=0, again without a flush
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        FAULT_BEGIN
        mov dword [RO_SUP], 0x5555
        FAULT_END
        CHECK "WP=0 again: ring 0 write succeeds", [exc_vector], 0xFFFFFFFF
        CHECK "WP=0 again: memory written", [SCRATCH], 0x5555
        PAGING_OFF
        ret

%include "end.inc"
