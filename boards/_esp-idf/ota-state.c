// Small natives for the ESP-IDF family, bound through the manifest's "ffi" section: the otadata reads
// and the one otadata write Moddable does not expose (esp_ota_get_state_partition needs pointers),
// and the random fill with an explicit offset (a pointer argument is the start of an ArrayBuffer:
// tools/ffi.js passes XS->toArrayBufferHandle, which ignores a view's byteOffset).
// SPDX-License-Identifier: Apache-2.0
#include <stdint.h>
#include <string.h>
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_flash_partitions.h"
#include "esp_random.h"
#include "esp_rom_crc.h"

static int32_t stateOf(const esp_partition_t *partition)
{
	esp_ota_img_states_t state;
	if (!partition || (ESP_OK != esp_ota_get_state_partition(partition, &state)))
		return -1;
	return (int32_t)state;
}

int32_t ota_running_state(void)
{
	return stateOf(esp_ota_get_running_partition());
}

int32_t ota_running_slot(void)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	return (int32_t)(running->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN);
}

int32_t ota_other_state(void)
{
	return stateOf(esp_ota_get_next_update_partition(NULL));
}

// Withdraws a set-but-not-booted request: erases the otadata sector whose entry is NEW and selects
// the next update partition (the running app's entry is then the active one again).
int32_t ota_clear_pending(void)
{
	const esp_partition_t *otadata = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	if (!otadata || !next)
		return ESP_ERR_NOT_FOUND;
	uint32_t slot = next->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN;
	for (int i = 0; i < 2; i++) {
		esp_ota_select_entry_t entry;
		esp_err_t err = esp_partition_read(otadata, i * otadata->erase_size, &entry, sizeof(entry));
		if (ESP_OK != err)
			return err;
		if ((0xFFFFFFFF == entry.ota_seq) || (entry.crc != esp_rom_crc32_le(UINT32_MAX, (uint8_t *)&entry.ota_seq, 4)))
			continue;
		if ((ESP_OTA_IMG_NEW == entry.ota_state) && (((entry.ota_seq - 1) % 2) == slot)) {
			err = esp_partition_erase_range(otadata, i * otadata->erase_size, otadata->erase_size);
			if (ESP_OK != err)
				return err;
		}
	}
	return ESP_OK;
}

// Fills buffer[offset, offset + length) from the hardware RNG (esp_fill_random).
void ota_fill_random(uint8_t *buffer, uint32_t offset, uint32_t length)
{
	esp_fill_random(buffer + offset, length);
}
