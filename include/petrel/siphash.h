/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash for values an
 * attacker chooses (TCP ISNs and SYN cookies, hash tables of client-sent
 * names, server-assigned client ids). pt_siphash() takes any bytes;
 * pt_siphash_2w() is the same function on a 16-byte message given as two
 * little-endian words, without the byte loop (the TCP hot path).
 *
 * Threading: pure functions, any thread. The caller owns the key (16
 * random bytes, e.g. from getrandom()).
 */
#ifndef PETREL_SIPHASH_H
#define PETREL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
pt_siphash_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

#define PT_SIPROUND(v0, v1, v2, v3)                                           \
    do {                                                                      \
        v0 += v1; v1 = pt_siphash_rotl(v1, 13); v1 ^= v0;                     \
        v0 = pt_siphash_rotl(v0, 32);                                         \
        v2 += v3; v3 = pt_siphash_rotl(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = pt_siphash_rotl(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = pt_siphash_rotl(v1, 17); v1 ^= v2;                     \
        v2 = pt_siphash_rotl(v2, 32);                                         \
    } while (0)

static inline uint64_t
pt_siphash_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The state after the key, and the finalisation after the last block. */
#define PT_SIPHASH_INIT(key, v0, v1, v2, v3)                                  \
    do {                                                                      \
        uint64_t k0_ = pt_siphash_le64(key), k1_ = pt_siphash_le64(key + 8);  \
        v0 = k0_ ^ 0x736f6d6570736575ull;                                     \
        v1 = k1_ ^ 0x646f72616e646f6dull;                                     \
        v2 = k0_ ^ 0x6c7967656e657261ull;                                     \
        v3 = k1_ ^ 0x7465646279746573ull;                                     \
    } while (0)

#define PT_SIPHASH_BLOCK(m, v0, v1, v2, v3)                                   \
    do {                                                                      \
        v3 ^= (m);                                                            \
        PT_SIPROUND(v0, v1, v2, v3);                                          \
        PT_SIPROUND(v0, v1, v2, v3);                                          \
        v0 ^= (m);                                                            \
    } while (0)

static inline uint64_t
pt_siphash_final(uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3)
{
    v2 ^= 0xff;
    for (int r = 0; r < 4; r++)
        PT_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/** SipHash-2-4 of len bytes at data under key. */
static inline uint64_t
pt_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v0, v1, v2, v3, b = (uint64_t)len << 56;
    size_t i;

    PT_SIPHASH_INIT(key, v0, v1, v2, v3);
    for (i = 0; i + 8 <= len; i += 8)
        PT_SIPHASH_BLOCK(pt_siphash_le64(p + i), v0, v1, v2, v3);
    for (size_t j = 0; j < (len & 7); j++)
        b |= (uint64_t)p[i + j] << (8 * j);
    PT_SIPHASH_BLOCK(b, v0, v1, v2, v3);
    return pt_siphash_final(v0, v1, v2, v3);
}

/** pt_siphash() of the 16 bytes m0, m1 (little endian), without the loop. */
static inline uint64_t
pt_siphash_2w(const uint8_t key[16], uint64_t m0, uint64_t m1)
{
    uint64_t v0, v1, v2, v3;

    PT_SIPHASH_INIT(key, v0, v1, v2, v3);
    PT_SIPHASH_BLOCK(m0, v0, v1, v2, v3);
    PT_SIPHASH_BLOCK(m1, v0, v1, v2, v3);
    PT_SIPHASH_BLOCK((uint64_t)16 << 56, v0, v1, v2, v3);
    return pt_siphash_final(v0, v1, v2, v3);
}

#endif /* PETREL_SIPHASH_H */
