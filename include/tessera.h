/*
 * tessera.h: the binary object model (docs/abi.md), the kernel's exports
 * and the interfaces, for components written in C. This file holds the base
 * types; the two headers it includes at the end are generated.
 *
 * A C component defines tessera_entry and tessera_can_unload, is compiled
 * for rv64gc (-mcmodel=medany -mno-relax, freestanding), linked by rust-lld
 * and munged like a Rust one: cargo xtask builds every components/<name>/
 * that holds <name>.c and <name>.def.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t tsr_status; /* >= 0 success, < 0 failure */
#define TSR_OK 0
#define TSR_FAILED (-1)
#define TSR_NO_INTERFACE (-3)
#define TSR_OUT_OF_MEMORY (-4)
#define TSR_NOT_FOUND (-5)
#define TSR_BUFFER_TOO_SMALL (-8)
#define TSR_NULL_POINTER (-13)
#define TSR_RETRY (-17)
#define TSR_TIMED_OUT (-18)
#define TSR_PUSHED_OUT (-19) /* internal to Rust thunks: never returned by a call */
#define TSR_IMPORT_CYCLE (-20)

typedef struct { uint8_t bytes[16]; } __attribute__((aligned(8))) tsr_guid;
typedef struct { const uint8_t *ptr; size_t len; } tsr_str; /* UTF-8 */
typedef struct { const uint8_t *ptr; size_t len; } tsr_bytes;
typedef struct { uint8_t *ptr; size_t len; } tsr_mut_bytes;

typedef struct IUnknownVtbl {
    tsr_status (*query_interface)(void *self, const tsr_guid *iid, void **out);
    uint32_t (*add_ref)(void *self);
    uint32_t (*release)(void *self);
} IUnknownVtbl;

typedef struct IUnknown { const IUnknownVtbl *vtbl; } IUnknown;

/* Generated (cargo run -p bindings; docs/abi.md): the kernel's exports from
   kernel/kernel.def, the interfaces' vtables and IIDs from their signature
   tables. */
#include "tessera/kernel.h"
#include "tessera/interfaces.h"

/* What every component defines. */
tsr_status tessera_entry(IUnknown **out);
uint32_t tessera_can_unload(void);

#endif
