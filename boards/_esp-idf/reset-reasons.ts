// esp_reset_reason_t (ESP-IDF components/esp_system/include/esp_system.h) → the client's reset
// reasons. The same enum on every ESP-IDF SoC; values a SoC lacks simply never occur.
import type { ResetReason } from '../../platform/system.ts';

export const ESP_RESET_REASONS: Readonly<Record<number, ResetReason>> = Object.freeze({
  1: 'power-on', // ESP_RST_POWERON
  2: 'power-on', // ESP_RST_EXT: the reset pin
  3: 'software', // ESP_RST_SW
  4: 'panic', // ESP_RST_PANIC
  5: 'watchdog', // ESP_RST_INT_WDT
  6: 'watchdog', // ESP_RST_TASK_WDT
  7: 'watchdog', // ESP_RST_WDT
  8: 'power-on', // ESP_RST_DEEPSLEEP
  9: 'brownout', // ESP_RST_BROWNOUT
});
