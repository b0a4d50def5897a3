// SHA-256's compression with the x86 SHA extensions (SHA-NI). The instructions keep the eight
// working variables in two registers, ordered {A, B, E, F} and {C, D, G, H}: sha256rnds2 does
// two rounds and returns the new {A, B, E, F}, whose old value is the new {C, D, G, H}, so the
// two registers swap roles every two rounds. sha256msg1 and sha256msg2 compute the message
// schedule four words at a time (FIPS 180-4 6.2.2, step 1):
//   W[t..t+3] = msg2(msg1(W[t-16..t-13], W[t-12..t-9]) + W[t-7..t-4], W[t-4..t-1]).
// The functions carry their own target attribute, so the rest of the library is built for the
// baseline CPU and this code runs only where has_sha_extensions() says it can.
#include "common/src/sha256_blocks.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

namespace vgpu::sha256_detail {

__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_extensions(uint32_t state[8],
                                                                         const uint8_t* blocks,
                                                                         size_t count) {
  // Message words are big-endian: reverse the bytes of each 32-bit lane.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

  // state {a, b, c, d}, {e, f, g, h} (lane 0 first) -> {f, e, b, a}, {h, g, d, c}: the
  // instructions want A in the highest lane.
  const __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  const __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  const __m128i cdab = _mm_shuffle_epi32(abcd, 0xB1);   // {b, a, d, c}
  const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);   // {h, g, f, e}
  __m128i abef = _mm_alignr_epi8(cdab, hgfe, 8);        // {f, e, b, a}
  __m128i cdgh = _mm_blend_epi16(hgfe, cdab, 0xF0);     // {h, g, d, c}

  for (; count > 0; --count, blocks += kBlockBytes) {
    const __m128i abef_before = abef;
    const __m128i cdgh_before = cdgh;
    __m128i w[4];  // the last sixteen schedule words, four per register, w[g % 4] for group g
    for (int g = 0; g < 16; ++g) {
      __m128i words;
      if (g < 4) {
        words = _mm_shuffle_epi8(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + 16 * g)), byte_swap);
      } else {
        words = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
        words = _mm_add_epi32(words, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
        words = _mm_sha256msg2_epu32(words, w[(g + 3) % 4]);
      }
      w[g % 4] = words;
      const __m128i wk = _mm_add_epi32(
          words, _mm_load_si128(reinterpret_cast<const __m128i*>(kRoundConstants + 4 * g)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                          // rounds 4g, 4g+1
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));  // 4g+2, 4g+3
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }

  // Back to {a, b, c, d}, {e, f, g, h}.
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);   // {a, b, e, f}
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);   // {g, h, c, d}
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

bool has_sha_extensions() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool sse41 = (ecx & bit_SSE4_1) != 0 && (ecx & bit_SSSE3) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  return sse41 && (ebx & bit_SHA) != 0;
}

}  // namespace vgpu::sha256_detail

#else

namespace vgpu::sha256_detail {

void compress_sha_extensions(uint32_t state[8], const uint8_t* blocks, size_t count) {
  compress_portable(state, blocks, count);
}
bool has_sha_extensions() { return false; }

}  // namespace vgpu::sha256_detail

#endif
