/* SPDX-License-Identifier: MIT */
/* Redis Cluster's key-to-slot function (pure), as the cluster spec gives it. */
#ifndef DLOCK_REDIS_SLOT_H
#define DLOCK_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384

/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0. */
uint16_t redis_crc16(const char *buf, size_t len);

/*
 * The slot of key: CRC16 of the text between the first '{' and the next
 * '}' when that is not empty, else of the whole key, modulo 16384.
 */
unsigned redis_key_slot(const char *key, size_t len);

#endif
