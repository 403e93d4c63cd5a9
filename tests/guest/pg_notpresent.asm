; pg_notpresent: #PF for not-present pages (SDM vol. 3, 4.7 "Page-Fault Exceptions").
; Proves: error code bits P=0, W/R and U/S for reads, writes and fetches from ring 0 and
; ring 3 (a fetch has no I/D bit with 32-bit paging), CR2 = the faulting linear address (for a
; split access: the first byte of the missing page), pushed EIP = the faulting instruction (for
; a fetch: the target), registers and memory untouched by the faulting instruction, a
; not-present PDE faults like a not-present PTE, and the access works once the page is mapped.
%define TEST_NAME "pg_notpresent"
%include "guest.inc"

PAGE_A  equ TEST_LIN                    ; mapped to SCRATCH
PAGE_B  equ TEST_LIN + 0x1000           ; not present
PAGE_C  equ TEST_LIN + 0x2000           ; not present
BIG     equ 0x800000                    ; its PDE is cleared

test_main:
        call paging_init
        mov dword [PTE(PAGE_A)], SCRATCH | PG_P | PG_RW | PG_US
        mov dword [PDE(BIG)], 0
        PAGING_ON

        ; ring 0 read of a not-present page
        mov eax, 0x11111111
        FAULT_BEGIN
.r0:    mov eax, [PAGE_B + 0x123]
        FAULT_END
        CHECK_EXC "ring-0 read", 14, 0, .r0
        CHECK "ring-0 read: CR2", [exc_cr2], PAGE_B + 0x123
        CHECK "ring-0 read: EAX untouched", [exc_eax], 0x11111111

        ; ring 0 write of a dword that straddles a present and a not-present page
        mov dword [SCRATCH + 0xFFC], 0xAABBCCDD
        FAULT_BEGIN
.w0:    mov dword [PAGE_A + 0xFFE], 0x12345678
        FAULT_END
        CHECK_EXC "ring-0 split write", 14, PF_W, .w0
        CHECK "ring-0 split write: CR2 = first byte of the missing page", [exc_cr2], PAGE_B
        CHECK "ring-0 split write: present half not written", [SCRATCH + 0xFFC], 0xAABBCCDD

        ; ring 0 read-modify-write
        FAULT_BEGIN
.rmw:   add dword [PAGE_C + 8], 5
        FAULT_END
        ; W is left out: a read-modify-write may fault on its read or with write intent
        CHECK "ring-0 ADD to memory: vector", [exc_vector], 14
        CHECKM "ring-0 ADD to memory: error code (P=0, U=0)", [exc_error], ~PF_W, 0
        CHECK "ring-0 ADD to memory: pushed EIP", [exc_eip], .rmw
        CHECK "ring-0 ADD to memory: CR2", [exc_cr2], PAGE_C + 8

        ; ring 0 instruction fetch from a not-present page
        mov eax, PAGE_C + 0x10
        FAULT_BEGIN
        jmp eax
        FAULT_END
        CHECK_EXC "ring-0 fetch", 14, 0, PAGE_C + 0x10
        CHECK "ring-0 fetch: CR2", [exc_cr2], PAGE_C + 0x10

        ; not-present PDE
        FAULT_BEGIN
.pde:   mov eax, [BIG + 0x2345]
        FAULT_END
        CHECK_EXC "not-present PDE, read", 14, 0, .pde
        CHECK "not-present PDE: CR2", [exc_cr2], BIG + 0x2345
        FAULT_BEGIN
.pdew:  mov byte [BIG + 0x3FFFFF], 1
        FAULT_END
        CHECK_EXC "not-present PDE, write", 14, PF_W, .pdew
        CHECK "not-present PDE, write: CR2", [exc_cr2], BIG + 0x3FFFFF

        ; ring 3: U/S = 1 in the error code
        RING3_BEGIN
        mov ebx, 0x22222222
.r3:    mov ebx, [PAGE_B + 0x40]
        RING3_END
        CHECK_EXC "ring-3 read", 14, PF_U, .r3
        CHECK "ring-3 read: CR2", [exc_cr2], PAGE_B + 0x40
        CHECK "ring-3 read: EBX untouched", [exc_ebx], 0x22222222
        CHECK "ring-3 read: pushed CS", [exc_cs], SEL_UCODE3
        RING3_BEGIN
.w3:    mov word [PAGE_C + 0x7FE], 0x1234
        RING3_END
        CHECK_EXC "ring-3 write", 14, PF_U | PF_W, .w3
        CHECK "ring-3 write: CR2", [exc_cr2], PAGE_C + 0x7FE
        RING3_BEGIN
        push dword 7                    ; PUSH to a stack in a missing page
        mov esp, PAGE_B + 0x10
.push3: push eax
        RING3_END
        CHECK_EXC "ring-3 PUSH", 14, PF_U | PF_W, .push3
        CHECK "ring-3 PUSH: CR2", [exc_cr2], PAGE_B + 0xC
        CHECK "ring-3 PUSH: ESP untouched", [exc_esp], PAGE_B + 0x10
        RING3_BEGIN
        mov eax, BIG + 0x100
.f3:    call eax
        RING3_END
        CHECK_EXC "ring-3 fetch (not-present PDE)", 14, PF_U, BIG + 0x100
        CHECK "ring-3 fetch: CR2", [exc_cr2], BIG + 0x100

        ; map the page: the same read now works
        mov dword [SCRATCH + 0x1000 + 0x123], 0x600DF00D
        mov dword [PTE(PAGE_B)], (SCRATCH + 0x1000) | PG_P | PG_RW | PG_US
        FAULT_BEGIN
        mov eax, [PAGE_B + 0x123]
        FAULT_END
        CHECK "after mapping: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "after mapping: value read", eax, 0x600DF00D
        PAGING_OFF
        ret

%include "end.inc"
