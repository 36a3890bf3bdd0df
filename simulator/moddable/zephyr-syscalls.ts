// Zephyr calls declared `__syscall` in the headers a port is likely to reach through mc/ffi. Zephyr's
// scripts/build/gen_syscalls.py turns each into a static inline wrapper around z_impl_<name>, so no
// symbol of that name exists to link, while the glue mcconfig generates declares every FFI function
// extern (tools/ffi.js): binding one directly fails the device's link. The emulation refuses them
// the same way (ffiSignaturesOf); a family calls them through a C wrapper in its ffi "sources"
// (boards/_zephyr-mcuboot/zephyr-natives.c). Plain functions (sys_reboot, boot_request_upgrade,
// boot_write_img_confirmed) bind directly.
export const ZEPHYR_SYSCALLS: Readonly<Record<string, string>> = Object.freeze({
  sys_rand32_get: 'include/zephyr/random/random.h',
  sys_rand_get: 'include/zephyr/random/random.h',
  sys_csrand_get: 'include/zephyr/random/random.h',
  hwinfo_get_device_id: 'include/zephyr/drivers/hwinfo.h',
  hwinfo_get_device_eui64: 'include/zephyr/drivers/hwinfo.h',
  hwinfo_get_reset_cause: 'include/zephyr/drivers/hwinfo.h',
  hwinfo_clear_reset_cause: 'include/zephyr/drivers/hwinfo.h',
  hwinfo_get_supported_reset_cause: 'include/zephyr/drivers/hwinfo.h',
  flash_read: 'include/zephyr/drivers/flash.h',
  flash_write: 'include/zephyr/drivers/flash.h',
  flash_erase: 'include/zephyr/drivers/flash.h',
  flash_get_write_block_size: 'include/zephyr/drivers/flash.h',
  k_sleep: 'include/zephyr/kernel.h',
  k_uptime_ticks: 'include/zephyr/kernel.h',
});
