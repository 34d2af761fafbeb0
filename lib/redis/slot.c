/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "slot.h"

uint16_t redis_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	/* Bit by bit: a key is short, and the table would be 512 bytes. */
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int bit = 0; bit < 8; bit++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1) ^ 0x1021 :
			      (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned redis_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t after = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', after);
		/* "{}" is no tag: the whole key is hashed, as Redis does. */
		if (close && close > open + 1)
			return redis_crc16(open + 1,
					   (size_t)(close - open - 1)) &
			       (CLUSTER_SLOTS - 1);
	}
	return redis_crc16(key, len) & (CLUSTER_SLOTS - 1);
}
