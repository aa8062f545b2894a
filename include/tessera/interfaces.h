/*
 * The interfaces' vtables and IIDs, for components written in C.
 *
 * Generated from the signature tables of the #[interface] declarations
 * (lib/interfaces, lib/com) by `cargo run -p bindings`: edit those, not this file.
 * Included by tessera.h; include that. IIDs are in RFC 4122 byte order.
 */
#ifndef TESSERA_INTERFACES_H
#define TESSERA_INTERFACES_H

/* DeviceInfo: a record, returned by value. */
typedef struct DeviceInfo {
    uint64_t base;
    uint64_t size;
    uint32_t interrupt;
    uint32_t virtio_id;
} DeviceInfo;
_Static_assert(sizeof(DeviceInfo) == 24, "DeviceInfo is 24 bytes, as in Rust");
_Static_assert(_Alignof(DeviceInfo) == 8, "DeviceInfo is 8-aligned, as in Rust");

/* HeapStatus: a record, returned by value. */
typedef struct HeapStatus {
    uint64_t reserved;
    uint64_t committed;
    uint64_t used;
    uint64_t max_used;
} HeapStatus;
_Static_assert(sizeof(HeapStatus) == 32, "HeapStatus is 32 bytes, as in Rust");
_Static_assert(_Alignof(HeapStatus) == 8, "HeapStatus is 8-aligned, as in Rust");

/* ObjectLayout: a record, returned by value. */
typedef struct ObjectLayout {
    uint64_t base;
    uint64_t size;
    uint64_t gate;
    uint64_t state;
    uint64_t held;
    tsr_guid state_layout;
    uint32_t slots;
    uint32_t reserved;
} ObjectLayout;
_Static_assert(sizeof(ObjectLayout) == 64, "ObjectLayout is 64 bytes, as in Rust");
_Static_assert(_Alignof(ObjectLayout) == 8, "ObjectLayout is 8-aligned, as in Rust");

/* ReceivedFrame: a record, returned by value. */
typedef struct ReceivedFrame {
    uint32_t length;
    uint32_t sum;
} ReceivedFrame;
_Static_assert(sizeof(ReceivedFrame) == 8, "ReceivedFrame is 8 bytes, as in Rust");
_Static_assert(_Alignof(ReceivedFrame) == 4, "ReceivedFrame is 4-aligned, as in Rust");

/* NetworkConfiguration: a record, returned by value. */
typedef struct NetworkConfiguration {
    uint64_t mac_address;
    uint32_t address;
    uint32_t prefix_length;
    uint32_t gateway;
    uint32_t dhcp_server;
    uint32_t seed_from_device;
} NetworkConfiguration;
_Static_assert(sizeof(NetworkConfiguration) == 32, "NetworkConfiguration is 32 bytes, as in Rust");
_Static_assert(_Alignof(NetworkConfiguration) == 8, "NetworkConfiguration is 8-aligned, as in Rust");

/* ProcessStatus: a record, returned by value. */
typedef struct ProcessStatus {
    uint64_t id;
    uint64_t thread;
    uint32_t state;
    int32_t exit_status;
    uint32_t space;
    uint32_t imports;
    uint32_t name_length;
    uint8_t name[20];
} ProcessStatus;
_Static_assert(sizeof(ProcessStatus) == 56, "ProcessStatus is 56 bytes, as in Rust");
_Static_assert(_Alignof(ProcessStatus) == 8, "ProcessStatus is 8-aligned, as in Rust");

/* Pick: a record, returned by value. */
typedef struct Pick {
    uint64_t thread;
    uint64_t until;
} Pick;
_Static_assert(sizeof(Pick) == 16, "Pick is 16 bytes, as in Rust");
_Static_assert(_Alignof(Pick) == 8, "Pick is 8-aligned, as in Rust");

/* SocketAddress: a record, returned by value. */
typedef struct SocketAddress {
    uint32_t address;
    uint32_t port;
} SocketAddress;
_Static_assert(sizeof(SocketAddress) == 8, "SocketAddress is 8 bytes, as in Rust");
_Static_assert(_Alignof(SocketAddress) == 4, "SocketAddress is 4-aligned, as in Rust");

/* Datagram: a record, returned by value. */
typedef struct Datagram {
    uint64_t length;
    SocketAddress sender;
} Datagram;
_Static_assert(sizeof(Datagram) == 16, "Datagram is 16 bytes, as in Rust");
_Static_assert(_Alignof(Datagram) == 8, "Datagram is 8-aligned, as in Rust");

/* SocketStatus: a record, returned by value. */
typedef struct SocketStatus {
    uint32_t protocol;
    uint32_t state;
    SocketAddress local;
    SocketAddress peer;
    uint32_t receive_queued;
    uint32_t send_queued;
} SocketStatus;
_Static_assert(sizeof(SocketStatus) == 32, "SocketStatus is 32 bytes, as in Rust");
_Static_assert(_Alignof(SocketStatus) == 4, "SocketStatus is 4-aligned, as in Rust");

/* ThreadStatus: a record, returned by value. */
typedef struct ThreadStatus {
    uint64_t id;
    uint64_t cpu_ticks;
    uint64_t stack_size;
    uint64_t stack_used;
    uint32_t state;
    uint32_t name_length;
    uint8_t name[16];
} ThreadStatus;
_Static_assert(sizeof(ThreadStatus) == 56, "ThreadStatus is 56 bytes, as in Rust");
_Static_assert(_Alignof(ThreadStatus) == 8, "ThreadStatus is 8-aligned, as in Rust");

/* VmStatus: a record, returned by value. */
typedef struct VmStatus {
    uint32_t spaces;
    uint32_t mappings;
    uint64_t resident_pages;
    uint64_t wired_pages;
    uint64_t faults;
    uint64_t zero_fills;
    uint64_t file_reads;
    uint64_t copies;
    uint64_t view_switches;
    uint64_t frames_free;
    uint64_t frames_total;
} VmStatus;
_Static_assert(sizeof(VmStatus) == 80, "VmStatus is 80 bytes, as in Rust");
_Static_assert(_Alignof(VmStatus) == 8, "VmStatus is 8-aligned, as in Rust");

/* MappedImage: a record, returned by value. */
typedef struct MappedImage {
    uint64_t base;
    uint64_t entry;
    uint64_t size;
} MappedImage;
_Static_assert(sizeof(MappedImage) == 24, "MappedImage is 24 bytes, as in Rust");
_Static_assert(_Alignof(MappedImage) == 8, "MappedImage is 8-aligned, as in Rust");

/* FramePool: a record, returned by value. */
typedef struct FramePool {
    uint64_t start;
    uint64_t size;
} FramePool;
_Static_assert(sizeof(FramePool) == 16, "FramePool is 16 bytes, as in Rust");
_Static_assert(_Alignof(FramePool) == 8, "FramePool is 8-aligned, as in Rust");

/* RegionStatus: a record, returned by value. */
typedef struct RegionStatus {
    uint64_t start;
    uint64_t size;
    uint32_t protection;
    uint32_t resident_pages;
} RegionStatus;
_Static_assert(sizeof(RegionStatus) == 24, "RegionStatus is 24 bytes, as in Rust");
_Static_assert(_Alignof(RegionStatus) == 8, "RegionStatus is 8-aligned, as in Rust");

/* SpaceStatus: a record, returned by value. */
typedef struct SpaceStatus {
    uint32_t regions;
    uint64_t resident_pages;
    uint64_t wired_pages;
} SpaceStatus;
_Static_assert(sizeof(SpaceStatus) == 24, "SpaceStatus is 24 bytes, as in Rust");
_Static_assert(_Alignof(SpaceStatus) == 8, "SpaceStatus is 8-aligned, as in Rust");

/* IUnknown: its vtable is IUnknownVtbl, in tessera.h. */
#define TSR_IID_IUNKNOWN {{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}}

/* IBlockDevice (5171fbff-c65a-48d5-b1a7-f8e5e636ee41) */
#define TSR_IID_IBLOCKDEVICE {{0x51, 0x71, 0xfb, 0xff, 0xc6, 0x5a, 0x48, 0xd5, 0xb1, 0xa7, 0xf8, 0xe5, 0xe6, 0x36, 0xee, 0x41}}
typedef struct IBlockDeviceVtbl {
    IUnknownVtbl base;
    tsr_status (*block_size)(void *self, uint32_t *out);
    tsr_status (*block_count)(void *self, uint64_t *out);
    tsr_status (*read_only)(void *self, uint32_t *out);
    tsr_status (*read_blocks)(void *self, uint64_t first, tsr_mut_bytes buffer);
    tsr_status (*write_blocks)(void *self, uint64_t first, tsr_bytes data);
    tsr_status (*flush)(void *self);
} IBlockDeviceVtbl;

/* ICondition (062be748-85b2-4541-85e9-92af1d9d9c27) */
#define TSR_IID_ICONDITION {{0x06, 0x2b, 0xe7, 0x48, 0x85, 0xb2, 0x45, 0x41, 0x85, 0xe9, 0x92, 0xaf, 0x1d, 0x9d, 0x9c, 0x27}}
typedef struct IConditionVtbl {
    IUnknownVtbl base;
    tsr_status (*wait)(void *self, uint64_t deadline, uint32_t *out);
    tsr_status (*signal)(void *self);
    tsr_status (*broadcast)(void *self);
} IConditionVtbl;

/* IConsole (0087ca69-281a-497f-ba3a-76ab61fdc2f4) */
#define TSR_IID_ICONSOLE {{0x00, 0x87, 0xca, 0x69, 0x28, 0x1a, 0x49, 0x7f, 0xba, 0x3a, 0x76, 0xab, 0x61, 0xfd, 0xc2, 0xf4}}
typedef struct IConsoleVtbl {
    IUnknownVtbl base;
    tsr_status (*write)(void *self, tsr_bytes data, uint64_t *out);
    tsr_status (*read)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*take_waiting)(void *self, tsr_mut_bytes buffer, uint64_t *out);
} IConsoleVtbl;

/* ICounter (4e1a7c3b-9d2f-4b6e-8a05-c7f3e2d1b960) */
#define TSR_IID_ICOUNTER {{0x4e, 0x1a, 0x7c, 0x3b, 0x9d, 0x2f, 0x4b, 0x6e, 0x8a, 0x05, 0xc7, 0xf3, 0xe2, 0xd1, 0xb9, 0x60}}
typedef struct ICounterVtbl {
    IUnknownVtbl base;
    tsr_status (*add)(void *self, uint64_t amount, uint64_t *out);
    tsr_status (*total)(void *self, uint64_t *out);
    tsr_status (*version)(void *self, uint32_t *out);
} ICounterVtbl;

/* IDevice (561be071-d897-4431-bcac-e34b8f606091) */
#define TSR_IID_IDEVICE {{0x56, 0x1b, 0xe0, 0x71, 0xd8, 0x97, 0x44, 0x31, 0xbc, 0xac, 0xe3, 0x4b, 0x8f, 0x60, 0x60, 0x91}}
typedef struct IDeviceVtbl {
    IUnknownVtbl base;
    tsr_status (*info)(void *self, DeviceInfo *out);
} IDeviceVtbl;

/* IDirectory (75e23d0b-b296-4e04-ab39-24baae0c9ba4) */
#define TSR_IID_IDIRECTORY {{0x75, 0xe2, 0x3d, 0x0b, 0xb2, 0x96, 0x4e, 0x04, 0xab, 0x39, 0x24, 0xba, 0xae, 0x0c, 0x9b, 0xa4}}
typedef struct IDirectoryVtbl {
    IUnknownVtbl base;
    tsr_status (*create_file)(void *self, tsr_str name);
    tsr_status (*create_directory)(void *self, tsr_str name);
    tsr_status (*remove)(void *self, tsr_str name);
} IDirectoryVtbl;

/* IEcallHandler (6f1d2c3b-4a5e-4f70-8b9c-0d1e2f3a4b5c) */
#define TSR_IID_IECALLHANDLER {{0x6f, 0x1d, 0x2c, 0x3b, 0x4a, 0x5e, 0x4f, 0x70, 0x8b, 0x9c, 0x0d, 0x1e, 0x2f, 0x3a, 0x4b, 0x5c}}
typedef struct IEcallHandlerVtbl {
    IUnknownVtbl base;
    tsr_status (*ecall)(void *self, uint64_t thread, tsr_mut_bytes registers, uint32_t *out);
} IEcallHandlerVtbl;

/* IEndpoint (ad516f7f-8e92-43b4-8fd0-4b5c6d7e8f90) */
#define TSR_IID_IENDPOINT {{0xad, 0x51, 0x6f, 0x7f, 0x8e, 0x92, 0x43, 0xb4, 0x8f, 0xd0, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}}
typedef struct IEndpointVtbl {
    IUnknownVtbl base;
    tsr_status (*server)(void *self, uint64_t *out);
    tsr_status (*proxy)(void *self, uint64_t timeout, void **out);
} IEndpointVtbl;

/* IEntropySource (c576adf5-5887-4ba4-8245-c06263d57d52) */
#define TSR_IID_IENTROPYSOURCE {{0xc5, 0x76, 0xad, 0xf5, 0x58, 0x87, 0x4b, 0xa4, 0x82, 0x45, 0xc0, 0x62, 0x63, 0xd5, 0x7d, 0x52}}
typedef struct IEntropySourceVtbl {
    IUnknownVtbl base;
    tsr_status (*fill)(void *self, tsr_mut_bytes buffer);
} IEntropySourceVtbl;

/* IFile (246c8ac9-cd29-4cce-8877-4f4f549dc190) */
#define TSR_IID_IFILE {{0x24, 0x6c, 0x8a, 0xc9, 0xcd, 0x29, 0x4c, 0xce, 0x88, 0x77, 0x4f, 0x4f, 0x54, 0x9d, 0xc1, 0x90}}
typedef struct IFileVtbl {
    IUnknownVtbl base;
    tsr_status (*read_at)(void *self, uint64_t offset, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*write_at)(void *self, uint64_t offset, tsr_bytes data, uint64_t *out);
    tsr_status (*size)(void *self, uint64_t *out);
    tsr_status (*set_size)(void *self, uint64_t size);
    tsr_status (*flush)(void *self);
} IFileVtbl;

/* IFileSystem (fff20c1c-392b-4ae0-ab0c-2692ecffbeff) */
#define TSR_IID_IFILESYSTEM {{0xff, 0xf2, 0x0c, 0x1c, 0x39, 0x2b, 0x4a, 0xe0, 0xab, 0x0c, 0x26, 0x92, 0xec, 0xff, 0xbe, 0xff}}
typedef struct IFileSystemVtbl {
    IUnknownVtbl base;
    tsr_status (*mount)(void *self, void *device, uint32_t flags, void **out);
} IFileSystemVtbl;

/* IHeap (4f7b66f1-bf00-4049-a9bb-c5cfa0586050) */
#define TSR_IID_IHEAP {{0x4f, 0x7b, 0x66, 0xf1, 0xbf, 0x00, 0x40, 0x49, 0xa9, 0xbb, 0xc5, 0xcf, 0xa0, 0x58, 0x60, 0x50}}
typedef struct IHeapVtbl {
    IUnknownVtbl base;
    tsr_status (*alloc)(void *self, uint64_t size, uint64_t align, uint8_t **out);
    tsr_status (*realloc)(void *self, uint8_t *block, uint64_t size, uint64_t align, uint8_t **out);
    tsr_status (*free)(void *self, uint8_t *block);
    tsr_status (*size)(void *self, uint8_t *block, uint64_t *out);
    tsr_status (*validate)(void *self, uint8_t *block, uint32_t *out);
    tsr_status (*status)(void *self, HeapStatus *out);
} IHeapVtbl;

/* IHello (f04fb548-007d-4b30-aec7-e595bd26165f) */
#define TSR_IID_IHELLO {{0xf0, 0x4f, 0xb5, 0x48, 0x00, 0x7d, 0x4b, 0x30, 0xae, 0xc7, 0xe5, 0x95, 0xbd, 0x26, 0x16, 0x5f}}
typedef struct IHelloVtbl {
    IUnknownVtbl base;
    tsr_status (*greet)(void *self, tsr_mut_bytes buffer, uint64_t *out);
} IHelloVtbl;

/* IImageVerifier (5b8e3f0a-2c7d-4e61-9a4f-d3c21b7e8f05) */
#define TSR_IID_IIMAGEVERIFIER {{0x5b, 0x8e, 0x3f, 0x0a, 0x2c, 0x7d, 0x4e, 0x61, 0x9a, 0x4f, 0xd3, 0xc2, 0x1b, 0x7e, 0x8f, 0x05}}
typedef struct IImageVerifierVtbl {
    IUnknownVtbl base;
    tsr_status (*verify)(void *self, tsr_bytes image, tsr_mut_bytes why, uint64_t *out);
} IImageVerifierVtbl;

/* IInterpose (d3a5f1c7-2b4e-4f68-9a1d-6c8e0b2f4a75) */
#define TSR_IID_IINTERPOSE {{0xd3, 0xa5, 0xf1, 0xc7, 0x2b, 0x4e, 0x4f, 0x68, 0x9a, 0x1d, 0x6c, 0x8e, 0x0b, 0x2f, 0x4a, 0x75}}
typedef struct IInterposeVtbl {
    IUnknownVtbl base;
    tsr_status (*interpose)(void *self, void *object, const tsr_guid *iid, uint32_t filter, tsr_str label);
    tsr_status (*remove)(void *self, void *object, const tsr_guid *iid);
} IInterposeVtbl;

/* IInterruptSource (2db4180c-db6c-4183-9f95-545b17ebef2b) */
#define TSR_IID_IINTERRUPTSOURCE {{0x2d, 0xb4, 0x18, 0x0c, 0xdb, 0x6c, 0x41, 0x83, 0x9f, 0x95, 0x54, 0x5b, 0x17, 0xeb, 0xef, 0x2b}}
typedef struct IInterruptSourceVtbl {
    IUnknownVtbl base;
    tsr_status (*wait)(void *self);
    tsr_status (*raise)(void *self);
    tsr_status (*wait_until)(void *self, uint64_t deadline);
} IInterruptSourceVtbl;

/* IInterrupts (9273b820-d5c3-48f2-a7a5-25d03d6373f4) */
#define TSR_IID_IINTERRUPTS {{0x92, 0x73, 0xb8, 0x20, 0xd5, 0xc3, 0x48, 0xf2, 0xa7, 0xa5, 0x25, 0xd0, 0x3d, 0x63, 0x73, 0xf4}}
typedef struct IInterruptsVtbl {
    IUnknownVtbl base;
    tsr_status (*attach)(void *self, uint32_t source, void **out);
    tsr_status (*last_entry_instructions)(void *self, uint64_t *out);
} IInterruptsVtbl;

/* ILoader (3a1dcd82-309f-4ced-a5b0-77263eabfc66) */
#define TSR_IID_ILOADER {{0x3a, 0x1d, 0xcd, 0x82, 0x30, 0x9f, 0x4c, 0xed, 0xa5, 0xb0, 0x77, 0x26, 0x3e, 0xab, 0xfc, 0x66}}
typedef struct ILoaderVtbl {
    IUnknownVtbl base;
    tsr_status (*load_image)(void *self, tsr_str path, tsr_str arguments, uint32_t flags, void **out);
    tsr_status (*loads_started)(void *self, uint64_t *out);
    tsr_status (*collect_idle)(void *self);
    tsr_status (*last_load_cost)(void *self, uint32_t phase, uint64_t *out);
} ILoaderVtbl;

/* IMemoryFile (d7a98417-c681-4af7-af0e-96388003de9b) */
#define TSR_IID_IMEMORYFILE {{0xd7, 0xa9, 0x84, 0x17, 0xc6, 0x81, 0x4a, 0xf7, 0xaf, 0x0e, 0x96, 0x38, 0x80, 0x03, 0xde, 0x9b}}
typedef struct IMemoryFileVtbl {
    IUnknownVtbl base;
    tsr_status (*address)(void *self, uint64_t *out);
} IMemoryFileVtbl;

/* IModule (f24986ba-a3cd-44f8-891a-e40340c9c463) */
#define TSR_IID_IMODULE {{0xf2, 0x49, 0x86, 0xba, 0xa3, 0xcd, 0x44, 0xf8, 0x89, 0x1a, 0xe4, 0x03, 0x40, 0xc9, 0xc4, 0x63}}
typedef struct IModuleVtbl {
    IUnknownVtbl base;
    tsr_status (*name)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*location)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*arguments)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*base_address)(void *self, uint64_t *out);
    tsr_status (*size)(void *self, uint64_t *out);
    tsr_status (*entry_point)(void *self, uint64_t *out);
    tsr_status (*references)(void *self, uint32_t *out);
    tsr_status (*object)(void *self, void **out);
    tsr_status (*export_by_name)(void *self, const tsr_guid *table, tsr_str name, uint64_t *out);
    tsr_status (*export_by_ordinal)(void *self, const tsr_guid *table, uint32_t ordinal, uint64_t *out);
} IModuleVtbl;

/* IMutable (5b0f3f8e-2c43-4c5e-9b7e-3d1c6a2f9e41) */
#define TSR_IID_IMUTABLE {{0x5b, 0x0f, 0x3f, 0x8e, 0x2c, 0x43, 0x4c, 0x5e, 0x9b, 0x7e, 0x3d, 0x1c, 0x6a, 0x2f, 0x9e, 0x41}}
typedef struct IMutableVtbl {
    IUnknownVtbl base;
    tsr_status (*layout)(void *self, ObjectLayout *out);
    tsr_status (*disown)(void *self);
} IMutableVtbl;

/* IMutate (c2b1e0f4-7a52-4f0e-8d6e-1f3b5a7c9d02) */
#define TSR_IID_IMUTATE {{0xc2, 0xb1, 0xe0, 0xf4, 0x7a, 0x52, 0x4f, 0x0e, 0x8d, 0x6e, 0x1f, 0x3b, 0x5a, 0x7c, 0x9d, 0x02}}
typedef struct IMutateVtbl {
    IUnknownVtbl base;
    tsr_status (*mutate_vtable)(void *self, void *who, uint64_t vtable, uint32_t flags, uint64_t timeout_us);
    tsr_status (*mutate_object)(void *self, void *who, void *transition, uint32_t flags, uint64_t timeout_us);
} IMutateVtbl;

/* IMutex (c12985f6-90ec-4509-99be-784add77f2f7) */
#define TSR_IID_IMUTEX {{0xc1, 0x29, 0x85, 0xf6, 0x90, 0xec, 0x45, 0x09, 0x99, 0xbe, 0x78, 0x4a, 0xdd, 0x77, 0xf2, 0xf7}}
typedef struct IMutexVtbl {
    IUnknownVtbl base;
    tsr_status (*lock)(void *self);
    tsr_status (*try_lock)(void *self, uint32_t *out);
    tsr_status (*unlock)(void *self);
    tsr_status (*create_condition)(void *self, void **out);
} IMutexVtbl;

/* INamespace (67e07512-6945-466c-97a2-e021dc9de1d3) */
#define TSR_IID_INAMESPACE {{0x67, 0xe0, 0x75, 0x12, 0x69, 0x45, 0x46, 0x6c, 0x97, 0xa2, 0xe0, 0x21, 0xdc, 0x9d, 0xe1, 0xd3}}
typedef struct INamespaceVtbl {
    IUnknownVtbl base;
    tsr_status (*register_)(void *self, tsr_str name, void *object, uint32_t flags);
    tsr_status (*unregister)(void *self, tsr_str name);
    tsr_status (*bind)(void *self, tsr_str name, uint32_t flags, void **out);
    tsr_status (*find_first)(void *self, tsr_str directory, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*find_next)(void *self, tsr_str directory, tsr_str previous, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*capabilities)(void *self, tsr_str name, uint32_t *out);
} INamespaceVtbl;

/* INetworkDevice (ede78e6d-163c-474e-96e3-0adbe8f1b23f) */
#define TSR_IID_INETWORKDEVICE {{0xed, 0xe7, 0x8e, 0x6d, 0x16, 0x3c, 0x47, 0x4e, 0x96, 0xe3, 0x0a, 0xdb, 0xe8, 0xf1, 0xb2, 0x3f}}
typedef struct INetworkDeviceVtbl {
    IUnknownVtbl base;
    tsr_status (*mac_address)(void *self, uint64_t *out);
    tsr_status (*send)(void *self, tsr_bytes frame);
    tsr_status (*receive)(void *self, tsr_mut_bytes buffer, ReceivedFrame *out);
    tsr_status (*receive_following)(void *self, tsr_mut_bytes headers, tsr_mut_bytes room, uint32_t *out);
    tsr_status (*wait_until)(void *self, uint64_t deadline);
    tsr_status (*wake)(void *self);
} INetworkDeviceVtbl;

/* INetworkStack (28fad80a-f6b8-44ee-b2d3-08c3d33ca92d) */
#define TSR_IID_INETWORKSTACK {{0x28, 0xfa, 0xd8, 0x0a, 0xf6, 0xb8, 0x44, 0xee, 0xb2, 0xd3, 0x08, 0xc3, 0xd3, 0x3c, 0xa9, 0x2d}}
typedef struct INetworkStackVtbl {
    IUnknownVtbl base;
    tsr_status (*configuration)(void *self, NetworkConfiguration *out);
    tsr_status (*wait_configured)(void *self, uint64_t deadline, NetworkConfiguration *out);
} INetworkStackVtbl;

/* IObjectHost (c2d84f1e-7a35-4b90-9e6d-3f0a5b2c8d17) */
#define TSR_IID_IOBJECTHOST {{0xc2, 0xd8, 0x4f, 0x1e, 0x7a, 0x35, 0x4b, 0x90, 0x9e, 0x6d, 0x3f, 0x0a, 0x5b, 0x2c, 0x8d, 0x17}}
typedef struct IObjectHostVtbl {
    IUnknownVtbl base;
    tsr_status (*adopt)(void *self, const tsr_guid *layout, tsr_bytes state, void **out);
} IObjectHostVtbl;

/* IPower (11b79685-7e52-4c89-be7b-a27e3170215d) */
#define TSR_IID_IPOWER {{0x11, 0xb7, 0x96, 0x85, 0x7e, 0x52, 0x4c, 0x89, 0xbe, 0x7b, 0xa2, 0x7e, 0x31, 0x70, 0x21, 0x5d}}
typedef struct IPowerVtbl {
    IUnknownVtbl base;
    tsr_status (*power_off)(void *self, uint32_t exit_code);
} IPowerVtbl;

/* IProcess (b3e3aee5-0167-4804-a872-f90f8ae2d6cb) */
#define TSR_IID_IPROCESS {{0xb3, 0xe3, 0xae, 0xe5, 0x01, 0x67, 0x48, 0x04, 0xa8, 0x72, 0xf9, 0x0f, 0x8a, 0xe2, 0xd6, 0xcb}}
typedef struct IProcessVtbl {
    IUnknownVtbl base;
    tsr_status (*create_thread)(void *self, uint64_t start, uint64_t argument, uint64_t stack_size, void **out);
    tsr_status (*create_mutex)(void *self, void **out);
} IProcessVtbl;

/* IProcessManager (8b3f4e5d-6c70-4192-adbe-2f3a4b5c6d7e) */
#define TSR_IID_IPROCESSMANAGER {{0x8b, 0x3f, 0x4e, 0x5d, 0x6c, 0x70, 0x41, 0x92, 0xad, 0xbe, 0x2f, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e}}
typedef struct IProcessManagerVtbl {
    IUnknownVtbl base;
    tsr_status (*create)(void *self, tsr_str name, tsr_str arguments, tsr_str grants, void **out);
    tsr_status (*count)(void *self, uint32_t *out);
    tsr_status (*status)(void *self, uint32_t index, ProcessStatus *out);
    tsr_status (*move_object)(void *self, tsr_str name, uint64_t id);
} IProcessManagerVtbl;

/* IProgram (096e02bb-7633-4302-b4fe-c6ada4514258) */
#define TSR_IID_IPROGRAM {{0x09, 0x6e, 0x02, 0xbb, 0x76, 0x33, 0x43, 0x02, 0xb4, 0xfe, 0xc6, 0xad, 0xa4, 0x51, 0x42, 0x58}}
typedef struct IProgramVtbl {
    IUnknownVtbl base;
    tsr_status (*run)(void *self);
} IProgramVtbl;

/* IScheduler (83f5636d-f53b-4676-abda-e73fe4e8502e) */
#define TSR_IID_ISCHEDULER {{0x83, 0xf5, 0x63, 0x6d, 0xf5, 0x3b, 0x46, 0x76, 0xab, 0xda, 0xe7, 0x3f, 0xe4, 0xe8, 0x50, 0x2e}}
typedef struct ISchedulerVtbl {
    IUnknownVtbl base;
    tsr_status (*policy_name)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*use_policy)(void *self, tsr_str name);
    tsr_status (*begin_constraint)(void *self, uint64_t start, uint64_t estimate, uint64_t deadline, uint32_t criticality);
    tsr_status (*end_constraint)(void *self);
    tsr_status (*now)(void *self, uint64_t *out);
    tsr_status (*ticks_per_second)(void *self, uint64_t *out);
    tsr_status (*yield_now)(void *self);
    tsr_status (*sleep_until)(void *self, uint64_t deadline);
    tsr_status (*preemptive)(void *self, uint32_t *out);
    tsr_status (*instructions)(void *self, uint64_t *out);
} ISchedulerVtbl;

/* IShutdown (d4cb8d14-3c46-49a8-a57b-80019da67fe9) */
#define TSR_IID_ISHUTDOWN {{0xd4, 0xcb, 0x8d, 0x14, 0x3c, 0x46, 0x49, 0xa8, 0xa5, 0x7b, 0x80, 0x01, 0x9d, 0xa6, 0x7f, 0xe9}}
typedef struct IShutdownVtbl {
    IUnknownVtbl base;
    tsr_status (*listen)(void *self, void *listener);
    tsr_status (*forget)(void *self, void *listener);
} IShutdownVtbl;

/* IShutdownListener (a218354b-1195-4b85-bfec-e5bb3a4afa80) */
#define TSR_IID_ISHUTDOWNLISTENER {{0xa2, 0x18, 0x35, 0x4b, 0x11, 0x95, 0x4b, 0x85, 0xbf, 0xec, 0xe5, 0xbb, 0x3a, 0x4a, 0xfa, 0x80}}
typedef struct IShutdownListenerVtbl {
    IUnknownVtbl base;
    tsr_status (*shutting_down)(void *self);
} IShutdownListenerVtbl;

/* ISchedulerPolicy (8b2caf19-a161-438c-9134-83abc62b9610) */
#define TSR_IID_ISCHEDULERPOLICY {{0x8b, 0x2c, 0xaf, 0x19, 0xa1, 0x61, 0x43, 0x8c, 0x91, 0x34, 0x83, 0xab, 0xc6, 0x2b, 0x96, 0x10}}
typedef struct ISchedulerPolicyVtbl {
    IUnknownVtbl base;
    tsr_status (*name)(void *self, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*ready)(void *self, uint64_t thread);
    tsr_status (*pick)(void *self, uint64_t now, Pick *out);
    tsr_status (*has_ready)(void *self, uint32_t *out);
    tsr_status (*forget)(void *self, uint64_t thread);
    tsr_status (*preemptive)(void *self, uint32_t *out);
    tsr_status (*set_priority)(void *self, uint64_t thread, uint32_t priority);
    tsr_status (*begin_constraint)(void *self, uint64_t thread, uint64_t start, uint64_t estimate, uint64_t deadline, uint32_t criticality);
    tsr_status (*end_constraint)(void *self, uint64_t thread, uint64_t now);
    tsr_status (*inherit)(void *self, uint64_t holder, uint64_t waiter);
    tsr_status (*disinherit)(void *self, uint64_t waiter);
} ISchedulerPolicyVtbl;

/* IService (21ff617a-01eb-4d81-ac94-083ea13c9083) */
#define TSR_IID_ISERVICE {{0x21, 0xff, 0x61, 0x7a, 0x01, 0xeb, 0x4d, 0x81, 0xac, 0x94, 0x08, 0x3e, 0xa1, 0x3c, 0x90, 0x83}}
typedef struct IServiceVtbl {
    IUnknownVtbl base;
    tsr_status (*start)(void *self, uint32_t port);
    tsr_status (*stop)(void *self);
    tsr_status (*port)(void *self, uint32_t *out);
} IServiceVtbl;

/* ISocket (61d3f300-f5e3-4333-8374-6e7ed090a680) */
#define TSR_IID_ISOCKET {{0x61, 0xd3, 0xf3, 0x00, 0xf5, 0xe3, 0x43, 0x33, 0x83, 0x74, 0x6e, 0x7e, 0xd0, 0x90, 0xa6, 0x80}}
typedef struct ISocketVtbl {
    IUnknownVtbl base;
    tsr_status (*bind)(void *self, uint32_t address, uint32_t port);
    tsr_status (*listen)(void *self, uint32_t backlog);
    tsr_status (*accept)(void *self, uint64_t deadline, void **out);
    tsr_status (*connect)(void *self, uint32_t address, uint32_t port, uint64_t deadline);
    tsr_status (*send)(void *self, tsr_bytes data, uint64_t deadline, uint64_t *out);
    tsr_status (*receive)(void *self, tsr_mut_bytes buffer, uint64_t deadline, uint64_t *out);
    tsr_status (*send_to)(void *self, tsr_bytes data, uint32_t address, uint32_t port, uint64_t *out);
    tsr_status (*receive_from)(void *self, tsr_mut_bytes buffer, uint64_t deadline, Datagram *out);
    tsr_status (*shutdown)(void *self);
    tsr_status (*close)(void *self);
    tsr_status (*status)(void *self, SocketStatus *out);
} ISocketVtbl;

/* ISocketFactory (15d8d8e9-a5a8-4983-98fd-6c564eaae455) */
#define TSR_IID_ISOCKETFACTORY {{0x15, 0xd8, 0xd8, 0xe9, 0xa5, 0xa8, 0x49, 0x83, 0x98, 0xfd, 0x6c, 0x56, 0x4e, 0xaa, 0xe4, 0x55}}
typedef struct ISocketFactoryVtbl {
    IUnknownVtbl base;
    tsr_status (*create)(void *self, void **out);
    tsr_status (*socket_status)(void *self, uint32_t index, SocketStatus *out);
} ISocketFactoryVtbl;

/* IThread (9dd133a3-8733-46d6-adb3-339bc2b30bc7) */
#define TSR_IID_ITHREAD {{0x9d, 0xd1, 0x33, 0xa3, 0x87, 0x33, 0x46, 0xd6, 0xad, 0xb3, 0x33, 0x9b, 0xc2, 0xb3, 0x0b, 0xc7}}
typedef struct IThreadVtbl {
    IUnknownVtbl base;
    tsr_status (*id)(void *self, uint64_t *out);
    tsr_status (*wait)(void *self);
    tsr_status (*process)(void *self, void **out);
    tsr_status (*kill)(void *self);
} IThreadVtbl;

/* IThreads (337f4e2c-d4e5-43a3-be2b-4e60c6b70801) */
#define TSR_IID_ITHREADS {{0x33, 0x7f, 0x4e, 0x2c, 0xd4, 0xe5, 0x43, 0xa3, 0xbe, 0x2b, 0x4e, 0x60, 0xc6, 0xb7, 0x08, 0x01}}
typedef struct IThreadsVtbl {
    IUnknownVtbl base;
    tsr_status (*count)(void *self, uint32_t *out);
    tsr_status (*status)(void *self, uint32_t index, ThreadStatus *out);
} IThreadsVtbl;

/* ITransition (8e4d2c6a-1b3f-4a59-a7c0-5d9e2f6b8a13) */
#define TSR_IID_ITRANSITION {{0x8e, 0x4d, 0x2c, 0x6a, 0x1b, 0x3f, 0x4a, 0x59, 0xa7, 0xc0, 0x5d, 0x9e, 0x2f, 0x6b, 0x8a, 0x13}}
typedef struct ITransitionVtbl {
    IUnknownVtbl base;
    tsr_status (*apply)(void *self, void *object);
} ITransitionVtbl;

/* ITrustControl (a92d8257-fa53-445b-bea3-f16210ca238a) */
#define TSR_IID_ITRUSTCONTROL {{0xa9, 0x2d, 0x82, 0x57, 0xfa, 0x53, 0x44, 0x5b, 0xbe, 0xa3, 0xf1, 0x62, 0x10, 0xca, 0x23, 0x8a}}
typedef struct ITrustControlVtbl {
    IUnknownVtbl base;
    tsr_status (*set)(void *self, tsr_str directory, uint32_t needs_signature);
} ITrustControlVtbl;

/* ITrustPolicy (b89d2cff-85f0-4e42-9c10-b930cc992e3e) */
#define TSR_IID_ITRUSTPOLICY {{0xb8, 0x9d, 0x2c, 0xff, 0x85, 0xf0, 0x4e, 0x42, 0x9c, 0x10, 0xb9, 0x30, 0xcc, 0x99, 0x2e, 0x3e}}
typedef struct ITrustPolicyVtbl {
    IUnknownVtbl base;
    tsr_status (*needs_signature)(void *self, tsr_str location, uint32_t *out);
    tsr_status (*exempt_directory)(void *self, uint32_t index, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*claim_control)(void *self, void **out);
} ITrustPolicyVtbl;

/* IUserProcess (9c405f6e-7d81-42a3-becf-3a4b5c6d7e8f) */
#define TSR_IID_IUSERPROCESS {{0x9c, 0x40, 0x5f, 0x6e, 0x7d, 0x81, 0x42, 0xa3, 0xbe, 0xcf, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f}}
typedef struct IUserProcessVtbl {
    IUnknownVtbl base;
    tsr_status (*wait)(void *self, int32_t *out);
    tsr_status (*kill)(void *self);
    tsr_status (*status)(void *self, ProcessStatus *out);
} IUserProcessVtbl;

/* IUserTraps (7a2e3d4c-5b6f-4081-9cad-1e2f3a4b5c6d) */
#define TSR_IID_IUSERTRAPS {{0x7a, 0x2e, 0x3d, 0x4c, 0x5b, 0x6f, 0x40, 0x81, 0x9c, 0xad, 0x1e, 0x2f, 0x3a, 0x4b, 0x5c, 0x6d}}
typedef struct IUserTrapsVtbl {
    IUnknownVtbl base;
    tsr_status (*install_ecall)(void *self, void *handler);
    tsr_status (*remove_ecall)(void *self);
    tsr_status (*add_fast_path)(void *self, uint64_t thread, uint64_t handle, void *object, tsr_bytes descriptors);
    tsr_status (*remove_fast_path)(void *self, uint64_t thread, uint64_t handle);
    tsr_status (*interrupt_at)(void *self, uint64_t thread, uint64_t time);
    tsr_status (*exchange_fp)(void *self, uint64_t thread, tsr_mut_bytes registers);
    tsr_status (*current_thread)(void *self, uint64_t *out);
    tsr_status (*run)(void *self, tsr_bytes registers, uint64_t *out);
} IUserTrapsVtbl;

/* IVmFactory (3c9e1f7a-52b8-4d06-a1e4-8b7c2d9f0e31) */
#define TSR_IID_IVMFACTORY {{0x3c, 0x9e, 0x1f, 0x7a, 0x52, 0xb8, 0x4d, 0x06, 0xa1, 0xe4, 0x8b, 0x7c, 0x2d, 0x9f, 0x0e, 0x31}}
typedef struct IVmFactoryVtbl {
    IUnknownVtbl base;
    tsr_status (*create_space)(void *self, void **out);
    tsr_status (*create_zero_mapping)(void *self, uint64_t size, void **out);
    tsr_status (*create_file_mapping)(void *self, tsr_str path, void **out);
    tsr_status (*create_view)(void *self, void *space, void **out);
    tsr_status (*status)(void *self, VmStatus *out);
} IVmFactoryVtbl;

/* IVmHooks (c7a91e54-3b2d-4f6a-9e08-5d1c2b7f4a93) */
#define TSR_IID_IVMHOOKS {{0xc7, 0xa9, 0x1e, 0x54, 0x3b, 0x2d, 0x4f, 0x6a, 0x9e, 0x08, 0x5d, 0x1c, 0x2b, 0x7f, 0x4a, 0x93}}
typedef struct IVmHooksVtbl {
    IUnknownVtbl base;
    tsr_status (*page_fault)(void *self, uint64_t view, uint64_t address, uint32_t access);
    tsr_status (*view_switched)(void *self, uint64_t from, uint64_t to);
} IVmHooksVtbl;

/* IVmImageMapper (e2b6c4a1-7d3f-4b8e-a915-6f0d2c8b3e47) */
#define TSR_IID_IVMIMAGEMAPPER {{0xe2, 0xb6, 0xc4, 0xa1, 0x7d, 0x3f, 0x4b, 0x8e, 0xa9, 0x15, 0x6f, 0x0d, 0x2c, 0x8b, 0x3e, 0x47}}
typedef struct IVmImageMapperVtbl {
    IUnknownVtbl base;
    tsr_status (*map_image)(void *self, void *space, uint64_t address, tsr_str path, MappedImage *out);
} IVmImageMapperVtbl;

/* IVmKernel (5b0c2f1e-7d4a-4c8e-9f3b-2a6d8e1c4b70) */
#define TSR_IID_IVMKERNEL {{0x5b, 0x0c, 0x2f, 0x1e, 0x7d, 0x4a, 0x4c, 0x8e, 0x9f, 0x3b, 0x2a, 0x6d, 0x8e, 0x1c, 0x4b, 0x70}}
typedef struct IVmKernelVtbl {
    IUnknownVtbl base;
    tsr_status (*install)(void *self, void *handler, FramePool *out);
    tsr_status (*remove)(void *self);
    tsr_status (*start_user_thread)(void *self, uint64_t entry, uint64_t argument, uint64_t stack, uint64_t view, void **out);
    tsr_status (*set_view)(void *self, uint64_t view);
    tsr_status (*view)(void *self, uint64_t *out);
    tsr_status (*view_users)(void *self, uint64_t view, uint32_t *out);
    tsr_status (*flush)(void *self);
} IVmKernelVtbl;

/* IVmMapping (b7d41e2c-93a8-4f6b-8c15-0e4a7d2f9b86) */
#define TSR_IID_IVMMAPPING {{0xb7, 0xd4, 0x1e, 0x2c, 0x93, 0xa8, 0x4f, 0x6b, 0x8c, 0x15, 0x0e, 0x4a, 0x7d, 0x2f, 0x9b, 0x86}}
typedef struct IVmMappingVtbl {
    IUnknownVtbl base;
    tsr_status (*size)(void *self, uint64_t *out);
    tsr_status (*read)(void *self, uint64_t offset, tsr_mut_bytes buffer, uint64_t *out);
    tsr_status (*write)(void *self, uint64_t offset, tsr_bytes data, uint64_t *out);
    tsr_status (*query_access)(void *self, uint32_t *out);
    tsr_status (*restrict_)(void *self, uint32_t protection, void **out);
    tsr_status (*share)(void *self, uint64_t offset, uint64_t size, uint32_t protection, void **out);
} IVmMappingVtbl;

/* IVmSpace (4d8b2e6a-1f7c-4a93-b0d5-6c2e9a1f3b57) */
#define TSR_IID_IVMSPACE {{0x4d, 0x8b, 0x2e, 0x6a, 0x1f, 0x7c, 0x4a, 0x93, 0xb0, 0xd5, 0x6c, 0x2e, 0x9a, 0x1f, 0x3b, 0x57}}
typedef struct IVmSpaceVtbl {
    IUnknownVtbl base;
    tsr_status (*reserve)(void *self, uint64_t address, uint64_t size, uint64_t *out);
    tsr_status (*delete)(void *self, uint64_t address, uint64_t size);
    tsr_status (*map)(void *self, uint64_t address, void *mapping, uint64_t offset, uint64_t size, uint32_t protection, uint64_t *out);
    tsr_status (*protect)(void *self, uint64_t address, uint64_t size, uint32_t protection);
    tsr_status (*cache_control)(void *self, uint64_t address, uint64_t size, uint32_t operation);
    tsr_status (*query_region)(void *self, uint64_t address, RegionStatus *out);
    tsr_status (*create_shadow)(void *self, uint64_t address, void **out);
    tsr_status (*status)(void *self, SpaceStatus *out);
    tsr_status (*check_access)(void *self, uint64_t address, uint64_t length, uint32_t access);
    tsr_status (*read_checked)(void *self, uint64_t address, tsr_mut_bytes buffer);
    tsr_status (*write_checked)(void *self, uint64_t address, tsr_bytes data);
} IVmSpaceVtbl;

/* IVmView (c6d0b2a9-8e17-4a3f-b5c8-2e9d4f1a7b63) */
#define TSR_IID_IVMVIEW {{0xc6, 0xd0, 0xb2, 0xa9, 0x8e, 0x17, 0x4a, 0x3f, 0xb5, 0xc8, 0x2e, 0x9d, 0x4f, 0x1a, 0x7b, 0x63}}
typedef struct IVmViewVtbl {
    IUnknownVtbl base;
    tsr_status (*switch_to)(void *self);
    tsr_status (*fault)(void *self, uint64_t address, uint32_t access);
    tsr_status (*set_mapping)(void *self, void *space);
    tsr_status (*get_mapping)(void *self, void **out);
    tsr_status (*start_thread)(void *self, uint64_t entry, uint64_t argument, uint64_t stack, void **out);
} IVmViewVtbl;

/* IVolume (33570b6e-fcea-4f9d-a943-d6aa23951a26) */
#define TSR_IID_IVOLUME {{0x33, 0x57, 0x0b, 0x6e, 0xfc, 0xea, 0x4f, 0x9d, 0xa9, 0x43, 0xd6, 0xaa, 0x23, 0x95, 0x1a, 0x26}}
typedef struct IVolumeVtbl {
    IUnknownVtbl base;
    tsr_status (*sync)(void *self);
    tsr_status (*unmount)(void *self);
    tsr_status (*read_only)(void *self, uint32_t *out);
} IVolumeVtbl;

#endif
