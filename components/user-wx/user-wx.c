/*
 * user-wx: a test component of code for U-mode, laid out page by page
 * (`layout paged`) so that the image mapper (/sys/vm-image) maps it into
 * a space W^X; selftest runs it there. It imports nothing: code in a
 * space cannot call the kernel. Its entry takes what to do:
 *
 *   USE_SECTIONS  reads its read-only data through a pointer held in its
 *                 data (relocated for where it was mapped) and counts in
 *                 its data; returns, so the thread ends with TSR_OK — or
 *                 stops at an illegal instruction when the pointer is
 *                 wrong;
 *   WRITE_CODE    stores to its own code: ACCESS_VIOLATION;
 *   RUN_DATA      jumps into its data: ACCESS_VIOLATION.
 *
 * Anything else does nothing and returns TSR_NOT_SUPPORTED: the kernel's
 * loader, should anyone bind /user-wx, passes a kernel address, and the
 * load then fails cleanly.
 */
/* Not tessera.h: it declares tessera_entry as a constructor, and this
 * entry is U-mode code's, taking what to do. */
#include <stdint.h>

#include "tessera/status.h"

enum { USE_SECTIONS = 1, WRITE_CODE = 2, RUN_DATA = 3 };

static const char text[] = "read-only";
/* A pointer in the data, which placing the image relocates. */
static const char *volatile pointer = text;
/* How many times USE_SECTIONS ran (written: the data is writable). */
static volatile uint32_t uses;
/* A `ret` instruction, in the data (written by USE_SECTIONS too, so that
 * the compiler cannot make it read-only). */
static volatile uint32_t data_code[1] = {0x00008067};

int32_t tessera_entry(uintptr_t what) {
    switch (what) {
    case USE_SECTIONS:
        if (pointer != text || pointer[0] != 'r') {
            __builtin_trap();
        }
        uses = uses + 1;
        data_code[0] = 0x00008067;
        return TSR_OK;
    case WRITE_CODE:
        *(volatile uint32_t *)(uintptr_t)&tessera_entry = 0x00000013;
        return TSR_OK;
    case RUN_DATA:
        ((void (*)(void))(uintptr_t)data_code)();
        return TSR_OK;
    default:
        return TSR_NOT_SUPPORTED;
    }
}
