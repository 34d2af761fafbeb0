/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "etcd/wire.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_size(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

void base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;

	for (; n >= 3; n -= 3, p += 3) {
		*out++ = alphabet[p[0] >> 2];
		*out++ = alphabet[(p[0] & 3) << 4 | p[1] >> 4];
		*out++ = alphabet[(p[1] & 15) << 2 | p[2] >> 6];
		*out++ = alphabet[p[2] & 63];
	}
	if (n) {
		unsigned b1 = n == 2 ? p[1] : 0;

		*out++ = alphabet[p[0] >> 2];
		*out++ = alphabet[(p[0] & 3) << 4 | b1 >> 4];
		*out++ = n == 2 ? alphabet[(b1 & 15) << 2] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict: Go's encoding/json writes padded standard base64 and nothing
 * else, so anything looser (missing padding, stray bits after the last
 * byte, white space) means the reply is not what we think it is.
 */
ssize_t base64_decode(const char *in, size_t n, void *out)
{
	unsigned char *o = out;
	size_t i;

	if (n % 4)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = sextet(in[i]), b = sextet(in[i + 1]);
		int c = sextet(in[i + 2]), d = sextet(in[i + 3]);
		bool last = i + 4 == n;

		if (a < 0 || b < 0)
			return -1;
		if (last && in[i + 2] == '=' && in[i + 3] == '=') {
			if (b & 15)
				return -1;
			*o++ = (unsigned char)(a << 2 | b >> 4);
			break;
		}
		if (last && in[i + 3] == '=') {
			if (c < 0 || (c & 3))
				return -1;
			*o++ = (unsigned char)(a << 2 | b >> 4);
			*o++ = (unsigned char)((b & 15) << 4 | c >> 2);
			break;
		}
		if (c < 0 || d < 0)
			return -1;
		*o++ = (unsigned char)(a << 2 | b >> 4);
		*o++ = (unsigned char)((b & 15) << 4 | c >> 2);
		*o++ = (unsigned char)((c & 3) << 6 | d);
	}
	return o - (unsigned char *)out;
}
