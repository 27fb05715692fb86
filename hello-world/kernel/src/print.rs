//! Printing to the kernel log through `printk`.

use core::cmp::min;
use core::fmt::{self, Write};

use crate::bindings;
use crate::c_types::{c_char, c_int};

// Since Linux 5.15 `printk` is a macro around the `_printk` function.
#[cfg(kernel_printk_underscore)]
use bindings::_printk as printk;
#[cfg(not(kernel_printk_underscore))]
use bindings::printk;

/// `KERN_EMERG`: the log level of panic messages.
pub const KERN_EMERG: u8 = b'0';
/// `KERN_INFO`: the log level of [`println!`](crate::println).
pub const KERN_INFO: u8 = b'6';

/// Longest line printed; longer ones are cut. Lives on the kernel stack.
const LINE_MAX: usize = 256;

struct LineBuffer {
    bytes: [u8; LINE_MAX],
    len: usize,
}

impl Write for LineBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = min(s.len(), LINE_MAX - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Formats `args` and prints it as one line at `level` (`b'0'`..=`b'7'`).
pub fn print_line(level: u8, args: fmt::Arguments) {
    let mut line = LineBuffer {
        bytes: [0; LINE_MAX],
        len: 0,
    };
    let _ = line.write_fmt(args);
    // "\x01" + level is KERN_SOH + the level digit, as in KERN_INFO.
    let format = [1, level, b'%', b'.', b'*', b's', b'\n', 0];
    // SAFETY: the format is NUL-terminated and `%.*s` reads `len` bytes.
    unsafe {
        printk(
            format.as_ptr() as *const c_char,
            line.len as c_int,
            line.bytes.as_ptr() as *const c_char,
        );
    }
}

/// Prints a line to the kernel log at `KERN_INFO`, like `pr_info`.
///
/// Lines longer than 256 bytes are truncated.
#[macro_export]
macro_rules! println {
    () => {
        $crate::print::print_line($crate::print::KERN_INFO, format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::print::print_line($crate::print::KERN_INFO, format_args!($($arg)*))
    };
}
