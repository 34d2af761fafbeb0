/* SPDX-License-Identifier: MIT */
/*
 * sha1_hex() against the FIPS 180 vectors and around the padding
 * boundaries (55, 56, 63, 64, 119, 120 bytes); random_hex().
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static const struct {
	const char *text;
	const char *digest;
} vectors[] = {
	{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
	{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	/* 56 bytes: the length no longer fits in the first block */
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	/* 112 bytes */
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "a49b2446a02c645bf419f995b67091253a04a259" },
	/* 64 bytes: one whole block, then a block of padding */
	{ "0123456701234567012345670123456701234567012345670123456701234567",
	  "e0c094e867ef46c350ef54a7f59dd60bed92ae83" },
	{ "The quick brown fox jumps over the lazy dog",
	  "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12" },
};

/* n times 'a', around the places where the padding changes. */
static const struct {
	size_t len;
	const char *digest;
} runs[] = {
	{ 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
	{ 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
	{ 57, "f08f24908d682555111be7ff6f004e78283d989a" },
	{ 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
	{ 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
	{ 65, "11655326c708d70319be2610e8a57d9a5b959d3b" },
	{ 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
	{ 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
	{ 127, "89d95fa32ed44a7c610b7ee38517ddf57e0bb975" },
	{ 128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0" },
	{ 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
};

static void test_sha1(void)
{
	unsigned char bytes[256];
	char out[42];
	char *a;

	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		memset(out, 'X', sizeof(out));
		sha1_hex(vectors[i].text, strlen(vectors[i].text), out);
		is_str(out, vectors[i].digest, "SHA-1 of the %zu bytes '%.20s'",
		       strlen(vectors[i].text), vectors[i].text);
		is_int(out[41], 'X', "the digest is 40 digits and a NUL");
	}

	a = malloc(1000000);
	if (!ok(a, "malloc"))
		return;
	memset(a, 'a', 1000000);
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		sha1_hex(a, runs[i].len, out);
		is_str(out, runs[i].digest, "SHA-1 of %zu times 'a'",
		       runs[i].len);
	}
	free(a);

	/* every byte value, and data that is not NUL-terminated */
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	sha1_hex(bytes, sizeof(bytes), out);
	is_str(out, "4916d6bdb7f78e6803698cab32d1586ea457dfc8",
	       "SHA-1 of the bytes 0 to 255");
	sha1_hex("abcdef", 3, out);
	is_str(out, "a9993e364706816aba3e25717850c26c9cd0d89d",
	       "only len bytes are hashed");
}

static bool all_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == strlen(s);
}

static void test_random_hex(void)
{
	struct dlock_error err = { 0, "" };
	char a[34], b[34], big[130], small[4];

	memset(a, 'X', sizeof(a));
	is_int(random_hex(a, 16, &err), 0, "random_hex(16) succeeds");
	is_int(strlen(a), 32, "16 bytes are 32 hex digits");
	ok(all_hex(a), "in lower-case hex: %s", a);
	is_int(a[33], 'X', "nothing is written past the NUL");
	is_int(random_hex(b, 16, &err), 0, "a second call succeeds");
	ok(strcmp(a, b) != 0, "two calls differ: %s %s", a, b);

	is_int(random_hex(big, 64, &err), 0, "random_hex(64), the most");
	is_int(strlen(big), 128, "64 bytes are 128 hex digits");
	ok(all_hex(big), "in lower-case hex");
	is_int(random_hex(small, 1, &err), 0, "random_hex(1)");
	is_int(strlen(small), 2, "1 byte is 2 hex digits");
	is_int(random_hex(small, 0, &err), 0, "random_hex(0)");
	is_str(small, "", "0 bytes are the empty string");

	memset(big, 'X', sizeof(big));
	is_int(random_hex(big, 65, &err), DLOCK_EUSAGE,
	       "more than 64 bytes is refused");
	is_int(big[0], 'X', "and nothing is written");
}

int main(void)
{
	test_sha1();
	test_random_hex();
	return done_testing();
}
