/*
 * The CPU's fp32 peak: each thread runs 12 independent chains of 512-bit fused multiply-adds on
 * registers only (no memory traffic), so the time measures the FMA units alone. Used in
 * bench/NOTES.md to say how close a step runs to what the cores can do.
 *
 *   gcc -O2 -mavx512f -pthread bench/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak 2
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 300000000L
#define CHAINS 12

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define FMA(a) a = _mm512_fmadd_ps(a, mul, add)

static void *run(void *out) {
  const __m512 mul = _mm512_set1_ps(1.0000001f), add = _mm512_set1_ps(1e-7f);
  __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2),
         a3 = _mm512_set1_ps(3), a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
         a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7), a8 = _mm512_set1_ps(8),
         a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
  for (long n = 0; n < ITERS; n++) {
    FMA(a0); FMA(a1); FMA(a2); FMA(a3); FMA(a4); FMA(a5);
    FMA(a6); FMA(a7); FMA(a8); FMA(a9); FMA(a10); FMA(a11);
    // Keeps the chains in registers and stops the compiler from folding the loop.
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),
                     "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  *(float *)out = _mm512_reduce_add_ps(s);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 256) {
    fprintf(stderr, "fma-peak: threads must be 1 to 256, got %s\n", argv[1]);
    return 1;
  }
  pthread_t *t = malloc(sizeof(pthread_t) * threads);
  float *sink = malloc(sizeof(float) * threads);
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &sink[i]);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  double s = now() - t0;
  double flop = (double)threads * ITERS * CHAINS * 16 * 2;
  printf("%.1f GFLOP/s fp32 with %d threads (checksum %g)\n", flop / s / 1e9, threads, sink[0]);
  free(t);
  free(sink);
  return 0;
}
