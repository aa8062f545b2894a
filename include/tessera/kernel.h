/*
 * The kernel's exports, for components written in C.
 *
 * Generated from kernel/kernel.def by `cargo run -p bindings`: edit that file, not this
 * one. Included by tessera.h; include that.
 */
#ifndef TESSERA_KERNEL_H
#define TESSERA_KERNEL_H

/* Table 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35 of module kernel. */

/*
 * A kernel-heap block of `size` bytes aligned to `align`, or null.
 *
 * Ordinal 1.
 */
uint8_t *tessera_alloc(size_t size, size_t align);

/*
 * Frees a block tessera_alloc returned (stray pointers are refused).
 *
 * Ordinal 2.
 */
void tessera_free(uint8_t *block);

/*
 * The current namespace (an INamespace), with a reference for the caller, or null.
 *
 * Ordinal 3.
 */
void *tessera_current_namespace(void);

/*
 * Stops the system after a panic, printing the message and where.
 *
 * Ordinal 4.
 */
_Noreturn void tessera_abort(const uint8_t *message, size_t length, const uint8_t *file, size_t file_length, uint32_t line);

/*
 * Sleeps while `*word == expected`, at most `timeout_us` (u64::MAX: no limit);
 * 0 on timeout, 1 otherwise.
 *
 * Ordinal 6.
 */
uint32_t tessera_wait_word(const uint32_t *word, uint32_t expected, uint64_t timeout_us);

/*
 * Wakes every thread sleeping on `word`; returns how many.
 *
 * Ordinal 7.
 */
uint32_t tessera_wake_word(const uint32_t *word);

/*
 * The time since reset, in microseconds.
 *
 * Ordinal 8.
 */
uint64_t tessera_now_us(void);

/*
 * Returns once every other thread that was ready to run has run since.
 *
 * Ordinal 9.
 */
void tessera_grace_period(void);

/*
 * From Release when at most two references are left (the namespace holds one
 * per name), and with null when the module's last object is destroyed: lets
 * the kernel unload the module once nothing but the namespace uses it.
 *
 * Ordinal 10.
 */
void tessera_object_unshared(const void *object);

/*
 * Gives the processor to the next ready thread, if any: what a waiter on a
 * component's spin lock does, so that the lock's holder runs and releases it.
 *
 * Ordinal 11.
 */
void tessera_yield(void);

#endif
