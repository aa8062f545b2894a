/*
 * The status codes, for components written in C.
 *
 * Generated from com::Status (lib/com/src/status.rs) by `cargo run -p bindings`:
 * edit that, not this file. Included by tessera.h; include that.
 */
#ifndef TESSERA_STATUS_H
#define TESSERA_STATUS_H

#define TSR_OK 0 /* success */
#define TSR_FAILED (-1) /* operation failed */
#define TSR_INVALID_ARGUMENT (-2) /* invalid argument */
#define TSR_NO_INTERFACE (-3) /* interface not supported */
#define TSR_OUT_OF_MEMORY (-4) /* out of memory */
#define TSR_NOT_FOUND (-5) /* not found */
#define TSR_ALREADY_EXISTS (-6) /* already exists */
#define TSR_INVALID_NAME (-7) /* invalid name */
#define TSR_BUFFER_TOO_SMALL (-8) /* buffer too small */
#define TSR_NOT_SUPPORTED (-9) /* not supported */
#define TSR_ACCESS_DENIED (-10) /* access denied */
#define TSR_BAD_IMAGE (-11) /* bad image */
#define TSR_BAD_STRING (-12) /* string is not valid UTF-8 */
#define TSR_NULL_POINTER (-13) /* null pointer */
#define TSR_NO_MORE_ENTRIES (-14) /* no more entries */
#define TSR_OUT_OF_RANGE (-15) /* out of range */
#define TSR_REFUSED (-16) /* refused */
#define TSR_RETRY (-17) /* object changed; call again */
#define TSR_TIMED_OUT (-18) /* timed out */
#define TSR_PUSHED_OUT (-19) /* call pushed out by a mutation */
#define TSR_IMPORT_CYCLE (-20) /* import cycle */
#define TSR_ILLEGAL_INSTRUCTION (-21) /* illegal instruction */
#define TSR_ACCESS_VIOLATION (-22) /* access violation */
#define TSR_MISALIGNED_ACCESS (-23) /* misaligned access */
#define TSR_UNHANDLED_TRAP (-24) /* unhandled trap */
#define TSR_DISK_FULL (-25) /* disk full */
#define TSR_NOT_EMPTY (-26) /* directory not empty */
#define TSR_BAD_SIGNATURE (-27) /* signature refused */
#define TSR_CONNECTION_REFUSED (-28) /* connection refused */
#define TSR_CONNECTION_RESET (-29) /* connection reset */
#define TSR_ADDRESS_IN_USE (-30) /* address in use */
#define TSR_NOT_CONNECTED (-31) /* not connected */
#define TSR_STALE_HANDLE (-32) /* object is gone */
#define TSR_KILLED (-33) /* killed */

#endif
