//! The socket objects: `ISocketFactory` (`/net/tcp`, `/net/udp`) and
//! `ISocket`. Each holds the stack's object as the namespace has it
//! registered, so `/net` — and the card's driver — stay loaded while any
//! socket lives. A blocking call takes one step under the stack's lock
//! (`sockets.rs`) and, when it cannot finish, sleeps on the condition the
//! stack's thread broadcasts after each poll, until its deadline.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::socket::NOW;
use interfaces::{
    Datagram, ISocket, ISocketFactory, ISocketFactoryImpl, ISocketImpl, SocketStatus,
};

use crate::{Shared, Stack};

/// What every factory and socket holds.
pub struct Held {
    pub shared: Arc<Shared>,
    /// The stack's object: `/net` stays registered while this lives.
    pub _stack: ComPtr<IUnknown>,
}

impl Held {
    /// Lets the stack's thread poll now: a socket has something to send.
    fn kick(&self) {
        let _ = self.shared.device.wake();
    }
}

/// A factory of sockets of one protocol.
#[class(ISocketFactory)]
pub struct Factory {
    pub held: Arc<Held>,
    pub protocol: u32,
}

impl ISocketFactoryImpl for Factory {
    fn create(&self) -> Result<ComPtr<ISocket>> {
        let index = {
            let mut stack = self.held.shared.stack.lock();
            let Stack { set, table, .. } = &mut *stack;
            table.create(set, self.protocol)?
        };
        Ok(Socket::object(&self.held, index))
    }

    fn socket_status(&self, index: u32) -> Result<SocketStatus> {
        let stack = self.held.shared.stack.lock();
        stack
            .table
            .nth_status(&stack.set, self.protocol, index as usize)
    }
}

/// The index of a socket that was closed.
const CLOSED: usize = usize::MAX;

/// One socket: an endpoint of the stack's table, by its index.
#[class(ISocket)]
pub struct Socket {
    held: Arc<Held>,
    index: AtomicUsize,
}

impl Socket {
    fn object(held: &Arc<Held>, index: usize) -> ComPtr<ISocket> {
        ComObject::create(Socket {
            held: held.clone(),
            index: AtomicUsize::new(index),
        })
    }

    /// The endpoint's index: `NOT_CONNECTED` once closed.
    fn index(&self) -> Result<usize> {
        match self.index.load(Ordering::Acquire) {
            CLOSED => Err(Status::NOT_CONNECTED),
            index => Ok(index),
        }
    }

    /// One step under the stack's lock, never sleeping.
    fn step<T>(&self, step: impl FnOnce(&mut Stack, usize) -> Result<T>) -> Result<T> {
        let mut stack = self.held.shared.stack.lock();
        step(&mut stack, self.index()?)
    }

    /// Takes `step` until it gives a value, sleeping between tries until
    /// the stack's thread has polled again; `TIMED_OUT` at `deadline`.
    fn wait_for<T>(
        &self,
        deadline: u64,
        mut step: impl FnMut(&mut Stack, usize) -> Result<Option<T>>,
    ) -> Result<T> {
        let shared = &self.held.shared;
        let mut stack = shared.stack.lock();
        loop {
            if let Some(value) = step(&mut stack, self.index()?)? {
                return Ok(value);
            }
            if deadline == NOW {
                return Err(Status::TIMED_OUT);
            }
            let (guard, timed_out) = shared.changed.wait_until(stack, deadline);
            stack = guard;
            if timed_out {
                return step(&mut stack, self.index()?)?.ok_or(Status::TIMED_OUT);
            }
        }
    }
}

impl ISocketImpl for Socket {
    fn bind(&self, address: u32, port: u32) -> Result<()> {
        self.step(|stack, index| stack.table.bind(&mut stack.set, index, address, port))
    }

    fn listen(&self, backlog: u32) -> Result<()> {
        self.step(|stack, index| stack.table.listen(&mut stack.set, index, backlog))
    }

    fn accept(&self, deadline: u64) -> Result<ComPtr<ISocket>> {
        let (index, requests_wait) = self.wait_for(deadline, |stack, index| {
            let accepted = stack.table.accept(&mut stack.set, index)?;
            Ok(accepted.map(|accepted| (accepted, stack.card.holds_requests())))
        })?;
        // The pool's new listening socket takes a connection request the
        // card holds at the stack's next poll: let it poll now.
        if requests_wait {
            self.held.kick();
        }
        Ok(Socket::object(&self.held, index))
    }

    fn connect(&self, address: u32, port: u32, deadline: u64) -> Result<()> {
        // A stack just loaded has no address to connect from until DHCP
        // gives it one.
        self.wait_for(deadline, |stack, _| {
            Ok((stack.configuration.address != 0).then_some(()))
        })?;
        let is_tcp = self.step(|stack, index| {
            let Stack {
                interface,
                set,
                table,
                ..
            } = stack;
            table.connect(interface, set, index, address, port)
        })?;
        if !is_tcp {
            return Ok(());
        }
        self.held.kick();
        self.wait_for(deadline, |stack, index| {
            stack.table.connect_outcome(&mut stack.set, index)
        })
    }

    fn send(&self, data: &[u8], deadline: u64) -> Result<usize> {
        let sent = self.wait_for(deadline, |stack, index| {
            stack.table.send(&mut stack.set, index, data)
        })?;
        self.held.kick();
        Ok(sent)
    }

    fn receive(&self, buffer: &mut [u8], deadline: u64) -> Result<usize> {
        let (read, tell) = self.wait_for(deadline, |stack, index| {
            stack.table.receive(&mut stack.set, index, buffer)
        })?;
        if tell {
            self.held.kick();
        }
        Ok(read)
    }

    fn send_to(&self, data: &[u8], address: u32, port: u32) -> Result<usize> {
        let sent = self.step(|stack, index| {
            stack
                .table
                .send_datagram(&mut stack.set, index, data, address, port)
        })?;
        self.held.kick();
        // A full queue drops the datagram, as a full wire would.
        Ok(sent.unwrap_or(0))
    }

    fn receive_from(&self, buffer: &mut [u8], deadline: u64) -> Result<Datagram> {
        self.wait_for(deadline, |stack, index| {
            stack.table.receive_from(&mut stack.set, index, buffer)
        })
    }

    fn shutdown(&self) -> Result<()> {
        self.step(|stack, index| stack.table.shutdown(&mut stack.set, index))?;
        self.held.kick();
        Ok(())
    }

    fn close(&self) -> Result<()> {
        let index = self.index.swap(CLOSED, Ordering::AcqRel);
        if index == CLOSED {
            return Err(Status::NOT_CONNECTED);
        }
        {
            let mut stack = self.held.shared.stack.lock();
            let Stack { set, table, .. } = &mut *stack;
            table.close(set, index);
        }
        // Whoever waits on this socket learns it is closed; the stack
        // sends what closing it needs.
        self.held.shared.changed.broadcast();
        self.held.kick();
        Ok(())
    }

    fn status(&self) -> Result<SocketStatus> {
        self.step(|stack, index| stack.table.status(&stack.set, index))
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = ISocketImpl::close(self);
    }
}
