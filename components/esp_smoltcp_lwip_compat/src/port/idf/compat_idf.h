/* Target-only pieces of the shim shared by the files of port/idf. */
#pragma once

#include "compat_platform.h"

/** Register the socket fd range with VFS once (idempotent, thread-safe). */
void compat_vfs_ensure_registered(void);
