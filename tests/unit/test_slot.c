/* SPDX-License-Identifier: MIT */
/*
 * redis_crc16() and redis_key_slot() against the cluster spec's check
 * value and slots that Redis 7's CLUSTER KEYSLOT gave for the same keys.
 */
#include <string.h>

#include "slot.h"
#include "tap.h"

static const struct {
	const char *key;
	int slot;
} vectors[] = {
	{ "foo", 12182 },
	{ "bar", 5061 },
	{ "123456789", 12739 },
	{ "{user1000}.following", 3443 },
	{ "{user1000}.followers", 3443 },
	/* An empty tag is no tag; only the first '{' counts. */
	{ "foo{}{bar}", 8363 },
	{ "foo{{bar}}zap", 4015 },
	{ "foo{bar}{zap}", 5061 },
	{ "a{b", 13340 },
	{ "{}", 15257 },
	{ "", 0 },
	/* dlock's own keys: every key of a lock in one slot. */
	{ "dlock:{deploy}", 15335 },
	{ "dlock:{deploy}:fence", 15335 },
};

int main(void)
{
	is_int(redis_crc16("123456789", 9), 0x31C3,
	       "CRC16 of \"123456789\" is the spec's 0x31C3");
	is_int(redis_crc16("", 0), 0, "CRC16 of nothing is 0");
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		is_int((int)redis_key_slot(vectors[i].key,
					   strlen(vectors[i].key)),
		       vectors[i].slot, "slot of \"%s\"", vectors[i].key);
	is_int((int)redis_key_slot("x{deploy}y", 10),
	       (int)redis_key_slot("deploy", 6),
	       "a tag hashes like the bare name");
	return done_testing();
}
