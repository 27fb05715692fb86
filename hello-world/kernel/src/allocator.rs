//! The global allocator: `alloc` types (`Box`, `String`, `Vec`) use kmalloc.

use core::alloc::{GlobalAlloc, Layout};
use core::cmp::max;

use crate::bindings;
use crate::c_types::c_void;

// Since Linux 6.10 the exported function is `__kmalloc_noprof`.
#[cfg(not(kernel_kmalloc_noprof))]
use bindings::__kmalloc as kmalloc;
#[cfg(kernel_kmalloc_noprof)]
use bindings::__kmalloc_noprof as kmalloc;

/// kmalloc always returns memory aligned to at least this.
const KMALLOC_MIN_ALIGN: usize = 8;

struct KernelAllocator;

unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // kmalloc aligns power-of-two sizes naturally, so a larger alignment
        // is met by asking for a power-of-two size at least that large.
        let size = if layout.align() <= KMALLOC_MIN_ALIGN {
            layout.size()
        } else {
            max(layout.size(), layout.align()).next_power_of_two()
        };
        kmalloc(size as _, bindings::BINDINGS_GFP_KERNEL) as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        bindings::kfree(ptr as *const c_void);
    }
}

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

/// Rust before 1.68 needs an explicit handler for failed allocations.
#[cfg(kernel_alloc_error_handler)]
#[alloc_error_handler]
fn alloc_error(layout: Layout) -> ! {
    panic!("memory allocation of {} bytes failed", layout.size())
}
