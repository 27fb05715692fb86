/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers bindgen reads to generate bindings.rs (see Kbuild). They are
 * parsed with the C flags kbuild uses for this module, so the bindings match
 * the configuration of the target kernel.
 */
#include <linux/gfp.h>
#include <linux/printk.h>
#include <linux/slab.h>

/*
 * Macros that bindgen cannot evaluate (they contain casts) are turned into
 * constants it can see.
 */
const gfp_t BINDINGS_GFP_KERNEL = GFP_KERNEL;
