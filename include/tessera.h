/*
 * tessera.h: the binary object model (docs/abi.md) and the kernel's exports
 * (kernel/kernel.def), for components written in C.
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
typedef struct { const uint8_t *ptr; size_t len; } tsr_str;
typedef struct { uint8_t *ptr; size_t len; } tsr_mut_bytes;

typedef struct IUnknownVtbl {
    tsr_status (*query_interface)(void *self, const tsr_guid *iid, void **out);
    uint32_t (*add_ref)(void *self);
    uint32_t (*release)(void *self);
} IUnknownVtbl;

typedef struct IUnknown { const IUnknownVtbl *vtbl; } IUnknown;

/* IHello (lib/interfaces/src/hello.rs) */
typedef struct IHelloVtbl {
    IUnknownVtbl base;
    tsr_status (*greet)(void *self, tsr_mut_bytes buffer, size_t *out);
} IHelloVtbl;

/* INamespace (lib/interfaces/src/namespace.rs) */
typedef struct INamespaceVtbl {
    IUnknownVtbl base;
    tsr_status (*register_)(void *self, tsr_str name, void *object, uint32_t flags);
    tsr_status (*unregister)(void *self, tsr_str name);
    tsr_status (*bind)(void *self, tsr_str name, uint32_t flags, void **out);
    tsr_status (*find_first)(void *self, tsr_str directory, tsr_mut_bytes buffer, size_t *out);
    tsr_status (*find_next)(void *self, tsr_str directory, tsr_str previous, tsr_mut_bytes buffer, size_t *out);
    tsr_status (*capabilities)(void *self, tsr_str name, uint32_t *out);
} INamespaceVtbl;

/* Interface identifiers, in RFC 4122 byte order. */
#define TSR_IID_IUNKNOWN {{0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}}
#define TSR_IID_IHELLO {{0xf0, 0x4f, 0xb5, 0x48, 0x00, 0x7d, 0x4b, 0x30, 0xae, 0xc7, 0xe5, 0x95, 0xbd, 0x26, 0x16, 0x5f}}

/* The kernel's exports (table 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35). */
void *tessera_alloc(size_t size, size_t align);
void tessera_free(void *block);
IUnknown *tessera_current_namespace(void);
void tessera_abort(const char *message, size_t length, const char *file, size_t file_length, uint32_t line);
uint32_t tessera_wait_word(const uint32_t *word, uint32_t expected, uint64_t timeout_us);
uint32_t tessera_wake_word(const uint32_t *word);
uint64_t tessera_now_us(void);
void tessera_grace_period(void);
/* Call from Release when at most two references are left (the namespace holds
   one per name), and with NULL when the module's last object is destroyed:
   lets the kernel unload the module once nothing but the namespace uses it. */
void tessera_object_unshared(const void *object);

/* What every component defines. */
tsr_status tessera_entry(IUnknown **out);
uint32_t tessera_can_unload(void);

#endif
