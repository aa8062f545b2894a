/*
 * tessera.h: the binary object model (docs/abi.md), the kernel's exports
 * and the interfaces, for components written in C. This file holds the base
 * types; the headers it includes from tessera/ are generated.
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

typedef int32_t tsr_status; /* >= 0 success, < 0 failure: TSR_OK, TSR_NOT_FOUND, ... */
#include "tessera/status.h"

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

/* Generated (cargo run -p bindings; docs/abi.md), as status.h above: the
   kernel's exports from kernel/kernel.def, the interfaces' vtables, IIDs and
   records from their signature tables. */
#include "tessera/kernel.h"
#include "tessera/interfaces.h"

/* What every component defines. */
tsr_status tessera_entry(IUnknown **out);
uint32_t tessera_can_unload(void);

#endif
