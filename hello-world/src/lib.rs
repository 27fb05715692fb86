//! A hello-world Linux kernel module in Rust.

#![no_std]

extern crate alloc;

use alloc::string::String;
use kernel::println;

struct HelloWorld {
    message: String,
}

impl kernel::KernelModule for HelloWorld {
    fn init() -> Result<Self, kernel::Error> {
        println!("Hello kernel module!");
        let mut message = String::from("My message is");
        message.push_str(" on the heap");
        Ok(HelloWorld { message })
    }
}

impl Drop for HelloWorld {
    fn drop(&mut self) {
        println!("{}", self.message);
        println!("Goodbye kernel module!");
    }
}

kernel::kernel_module!(
    HelloWorld,
    license: "GPL",
    author: "kdoctor",
    description: "Hello world kernel module in Rust"
);
