// Wrappers for the Zephyr calls the Zephyr+MCUboot family makes through mc/ffi. sys_csrand_get and
// the hwinfo_* calls are Zephyr __syscalls: gen_syscalls.py emits them as static inline functions,
// so there is no symbol the FFI glue mcconfig generates (extern declarations, tools/ffi.js) could
// link against. Each wrapper here is a real function that calls the inline one. Buffers arrive as
// the start of an ArrayBuffer (tools/ffi.js: XS->toArrayBufferHandle ignores a view's offset), so
// a call meant for part of a buffer passes the offset and length explicitly.
// SPDX-License-Identifier: Apache-2.0
#include <stdint.h>
#include <string.h>
#include <zephyr/drivers/hwinfo.h>
#include <zephyr/random/random.h>

// Fills buffer[offset, offset + length) from the CSPRNG; 0 or a negative errno.
int32_t ota_csrand_get(uint8_t *buffer, uint32_t offset, uint32_t length)
{
	return (int32_t)sys_csrand_get(buffer + offset, length);
}

// The RESET_* bits (zephyr/drivers/hwinfo.h) of the last reset, written as a little-endian
// uint32_t into the first 4 bytes of cause; 0 or a negative errno (-ENOSYS: not supported).
int32_t ota_reset_cause(uint8_t *cause)
{
	uint32_t bits = 0;
	int rc = hwinfo_get_reset_cause(&bits);
	if (rc == 0)
		memcpy(cause, &bits, sizeof(bits));
	return (int32_t)rc;
}

// Clears the reset cause so the next boot reports only its own; 0 or a negative errno.
int32_t ota_clear_reset_cause(void)
{
	return (int32_t)hwinfo_clear_reset_cause();
}

// The unique device id into buffer[0, length): the number of bytes written, or a negative errno.
int32_t ota_device_id(uint8_t *buffer, uint32_t length)
{
	return (int32_t)hwinfo_get_device_id(buffer, length);
}
