/* Kernel build of the differential suite: the BSD calls are the C library's. */
#pragma once

#define DIFF_VARIANT "kernel"

/** Bring up the network side of this build (nothing to do for the kernel). */
int diff_stack_start(int argc, char **argv);
