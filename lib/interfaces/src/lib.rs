//! The interfaces of Tessera's system services, declared once with the interface macro.
//!
//! Each module declares one interface (and the constants and records that go
//! with it); implementations live in their own crates (`namespace`, `heap`,
//! `romfs`, the kernel's drivers) and clients call through `com::ComPtr`.
//! The example and test components' interfaces and the private state
//! layouts live apart, in `private-interfaces`. Depends only on `com`; every
//! service and client depends on it.

#![no_std]
// The interface macro emits the unsafe glue (each item allowing it);
// nothing here is written with `unsafe` by hand.
#![deny(unsafe_code)]

pub mod console;
pub mod device;
pub mod file;
pub mod filesystem;
pub mod heap;
pub mod interpose;
pub mod ipc;
pub mod irq;
pub mod module;
pub mod mutate;
pub mod namespace;
pub mod network;
pub mod power;
pub mod process;
pub mod program;
pub mod scheduler;
pub mod service;
pub mod socket;
pub mod threads;
pub mod trust;
pub mod verifier;
pub mod vm;

pub use console::{IConsole, IConsoleImpl};
pub use device::{
    DeviceInfo, IBlockDevice, IBlockDeviceImpl, IDevice, IDeviceImpl, IEntropySource,
    IEntropySourceImpl, INetworkDevice, INetworkDeviceImpl, ReceivedFrame,
};
pub use file::{IFile, IFileImpl, IMemoryFile, IMemoryFileImpl};
pub use filesystem::{
    IDirectory, IDirectoryImpl, IFileSystem, IFileSystemImpl, IVolume, IVolumeImpl,
};
pub use heap::{HeapStatus, IHeap, IHeapImpl};
pub use interpose::{IInterpose, IInterposeImpl};
pub use ipc::{
    IEcallHandler, IEcallHandlerImpl, IEndpoint, IEndpointImpl, IProcessManager,
    IProcessManagerImpl, IUserProcess, IUserProcessImpl, IUserTraps, IUserTrapsImpl, ProcessStatus,
};
pub use irq::{IInterruptSource, IInterruptSourceImpl, IInterrupts, IInterruptsImpl};
pub use module::{ILoader, ILoaderImpl, IModule, IModuleImpl};
pub use mutate::{IMutate, IMutateImpl, ITransition, ITransitionImpl};
pub use namespace::{INamespace, INamespaceImpl};
pub use network::{INetworkStack, INetworkStackImpl, NetworkConfiguration};
pub use power::{
    IPower, IPowerImpl, IShutdown, IShutdownImpl, IShutdownListener, IShutdownListenerImpl,
};
pub use process::{
    ICondition, IConditionImpl, IMutex, IMutexImpl, IProcess, IProcessImpl, IThread, IThreadImpl,
};
pub use program::{IProgram, IProgramImpl};
pub use scheduler::{IScheduler, ISchedulerImpl, ISchedulerPolicy, ISchedulerPolicyImpl, Pick};
pub use service::{IService, IServiceImpl};
pub use socket::{
    Datagram, ISocket, ISocketFactory, ISocketFactoryImpl, ISocketImpl, SocketAddress, SocketStatus,
};
pub use threads::{IThreads, IThreadsImpl, ThreadStatus};
pub use trust::{ITrustControl, ITrustControlImpl, ITrustPolicy, ITrustPolicyImpl};
pub use verifier::{IImageVerifier, IImageVerifierImpl};
pub use vm::{
    FramePool, IVmFactory, IVmFactoryImpl, IVmHooks, IVmHooksImpl, IVmImageMapper,
    IVmImageMapperImpl, IVmKernel, IVmKernelImpl, IVmMapping, IVmMappingImpl, IVmSpace,
    IVmSpaceImpl, IVmView, IVmViewImpl, MappedImage, RegionStatus, SpaceStatus, VmStatus,
};
