; pg_fetch: instruction fetches at a page boundary (SDM vol. 3, 4.7; 6.5: faults report the
; faulting instruction).
; Proves: an instruction whose bytes continue into a not-present page faults with CR2 = the
; first byte of that page and pushed EIP = the instruction's first byte, before any of it
; executes (also when only a prefix is on the first page); an instruction that ends exactly at
; the page end executes and the fault comes with EIP = CR2 = the next page; once the page is
; mapped the straddling instruction runs; ring 3 gets error code 4 (not present) or 5
; (supervisor page) for the second page of a straddling fetch.
%define TEST_NAME "pg_fetch"
%include "guest.inc"

%define LIN(x) (TEST_LIN + (x))
%define PHY(x) (SCRATCH + (x))

test_main:
        ; page 0 mapped, page 1 missing: "mov eax, 0x12345678 ; ret" starts at 0xFFD
        mov byte [PHY(0x0FFD)], 0xB8
        mov word [PHY(0x0FFE)], 0x5678
        mov word [PHY(0x1000)], 0x1234
        mov byte [PHY(0x1002)], 0xC3
        ; page 2 mapped, page 3 missing: "inc ebx" is the last byte of page 2
        mov byte [PHY(0x2FFF)], 0x43
        ; page 4 mapped, page 5 missing: an operand-size prefix is the last byte of page 4
        mov byte [PHY(0x4FFF)], 0x66
        mov dword [PHY(0x5000)], 0xC3C3C3C3
        ; page 6 user, page 7 supervisor: "mov eax, imm32" straddles them
        mov word [PHY(0x6FFE)], 0x78B8
        mov dword [PHY(0x7000)], 0xC3123456
        ; page 8 user, page 9 missing
        mov word [PHY(0x8FFE)], 0x78B8
        call paging_init
        mov dword [PTE(LIN(0x0000))], PHY(0x0000) | PG_P | PG_RW
        mov dword [PTE(LIN(0x2000))], PHY(0x2000) | PG_P | PG_RW
        mov dword [PTE(LIN(0x4000))], PHY(0x4000) | PG_P | PG_RW
        mov dword [PTE(LIN(0x6000))], PHY(0x6000) | PG_P | PG_RW | PG_US
        mov dword [PTE(LIN(0x7000))], PHY(0x7000) | PG_P | PG_RW
        mov dword [PTE(LIN(0x8000))], PHY(0x8000) | PG_P | PG_RW | PG_US
        PAGING_ON

        mov eax, 0x1111
        FAULT_BEGIN
        call LIN(0x0FFD)
        FAULT_END
        CHECK_EXC "straddling MOV", 14, 0, LIN(0x0FFD)
        CHECK "straddling MOV: CR2 = start of the missing page", [exc_cr2], LIN(0x1000)
        CHECK "straddling MOV: EAX untouched", [exc_eax], 0x1111
        mov dword [PTE(LIN(0x1000))], PHY(0x1000) | PG_P | PG_RW
        FAULT_BEGIN
        call LIN(0x0FFD)
        FAULT_END
        CHECK "straddling MOV after mapping: no exception", [exc_vector], 0xFFFFFFFF
        CHECK "straddling MOV after mapping: EAX", eax, 0x12345678

        mov ebx, 0x2222
        FAULT_BEGIN
        call LIN(0x2FFF)
        FAULT_END
        CHECK_EXC "INC at the page end, then the missing page", 14, 0, LIN(0x3000)
        CHECK "INC at the page end: CR2", [exc_cr2], LIN(0x3000)
        CHECK "INC at the page end: it executed", [exc_ebx], 0x2223

        FAULT_BEGIN
        call LIN(0x4FFF)
        FAULT_END
        CHECK_EXC "prefix at the page end", 14, 0, LIN(0x4FFF)
        CHECK "prefix at the page end: CR2", [exc_cr2], LIN(0x5000)

        RING3_BEGIN
        mov eax, 0x3333
        mov ebx, LIN(0x6FFE)
        call ebx
        RING3_END
        CHECK_EXC "ring 3, straddling into a supervisor page", 14, PF_P | PF_U, LIN(0x6FFE)
        CHECK "ring 3, straddling into a supervisor page: CR2", [exc_cr2], LIN(0x7000)
        CHECK "ring 3, straddling into a supervisor page: EAX untouched", [exc_eax], 0x3333

        RING3_BEGIN
        mov ebx, LIN(0x8FFE)
        call ebx
        RING3_END
        CHECK_EXC "ring 3, straddling into a missing page", 14, PF_U, LIN(0x8FFE)
        CHECK "ring 3, straddling into a missing page: CR2", [exc_cr2], LIN(0x9000)
        PAGING_OFF
        ret

%include "end.inc"
