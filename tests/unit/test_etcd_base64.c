/* SPDX-License-Identifier: MIT */
/* base64 as the etcd gateway writes it: RFC 4648's vectors, and refusals. */
#include <stdlib.h>
#include <string.h>

#include "etcd/wire.h"
#include "tap.h"

static const struct {
	const char *plain, *coded;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	{ "dlock/deploy/694d7b1d0e5f1a03", "ZGxvY2svZGVwbG95LzY5NGQ3YjFkMGU1ZjFhMDM=" },
};

static const char *const bad[] = {
	"Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm9v\n", " Zm9v",
	"Zm-v", "Zm_v", "Zh==", "Zm9=", "Zm8=Zm8=", "Zg=a",
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		const char *p = vectors[i].plain, *want = vectors[i].coded;
		size_t n = strlen(p), cn = strlen(want);
		char *out = malloc(base64_encoded_size(n));
		unsigned char back[64];
		ssize_t got;

		is_int(base64_encoded_size(n), cn + 1, "size for %zu bytes", n);
		base64_encode(p, n, out);
		is_str(out, want, "encode \"%s\"", p);
		got = base64_decode(want, cn, back);
		is_int(got, n, "decode \"%s\": length", want);
		ok(got == (ssize_t)n && memcmp(back, p, n) == 0,
		   "decode \"%s\": bytes", want);
		free(out);
	}
	{
		unsigned char all[256], back[256];
		char coded[400];

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)(255 - i);
		base64_encode(all, sizeof(all), coded);
		ok(base64_decode(coded, strlen(coded), back) == 256 &&
		   memcmp(all, back, 256) == 0, "every byte value round trip");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned char out[16];

		is_int(base64_decode(bad[i], strlen(bad[i]), out), -1,
		       "refuses \"%s\"", bad[i]);
	}
	return done_testing();
}
