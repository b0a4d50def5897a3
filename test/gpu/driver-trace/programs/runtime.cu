// runtime.cu: the plain runtime API (built twice: static cudart, nvcc's default, and
// -cudart shared): device query, cudaMalloc, pinned memory, two streams with async copies and a
// kernel each, events (record, synchronize, elapsed time), cudaMemcpy, cudaFree.
#include <cuda_runtime.h>
#include "check.h"

__global__ void saxpy(int n, float a, const float *x, float *y)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a * x[i] + y[i];
}

int main()
{
    int count = 0, version = 0;
    CHECK_CUDA(cudaGetDeviceCount(&count));
    CHECK_CUDA(cudaDriverGetVersion(&version));
    printf("devices>0=%d driver>=13000=%d\n", count > 0, version >= 13000);
    cudaDeviceProp prop;
    CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
    printf("cc=%d.%d\n", prop.major, prop.minor);

    const int n = 1 << 20, half = n / 2;
    float *hx, *hy, *dx, *dy;
    CHECK_CUDA(cudaMallocHost(&hx, n * sizeof(float)));
    CHECK_CUDA(cudaMallocHost(&hy, n * sizeof(float)));
    for (int i = 0; i < n; i++) {
        hx[i] = (float)(i % 7);
        hy[i] = 1.0f;
    }
    CHECK_CUDA(cudaMalloc(&dx, n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&dy, n * sizeof(float)));

    cudaStream_t s[2];
    cudaEvent_t start, stop;
    for (auto &st : s)
        CHECK_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    CHECK_CUDA(cudaEventRecord(start, s[0]));
    for (int k = 0; k < 2; k++) {
        size_t off = (size_t)k * half;
        CHECK_CUDA(cudaMemcpyAsync(dx + off, hx + off, half * sizeof(float), cudaMemcpyHostToDevice, s[k]));
        CHECK_CUDA(cudaMemcpyAsync(dy + off, hy + off, half * sizeof(float), cudaMemcpyHostToDevice, s[k]));
        saxpy<<<(half + 255) / 256, 256, 0, s[k]>>>(half, 2.0f, dx + off, dy + off);
        CHECK_CUDA(cudaGetLastError());
    }
    // stop waits for both streams, through an event on the second one.
    cudaEvent_t done1;
    CHECK_CUDA(cudaEventCreateWithFlags(&done1, cudaEventDisableTiming));
    CHECK_CUDA(cudaEventRecord(done1, s[1]));
    CHECK_CUDA(cudaStreamWaitEvent(s[0], done1, 0));
    CHECK_CUDA(cudaEventRecord(stop, s[0]));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    printf("elapsed_positive=%d\n", ms > 0);

    CHECK_CUDA(cudaMemcpy(hy, dy, n * sizeof(float), cudaMemcpyDeviceToHost));
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += hy[i];
    printf("saxpy sum=%.1f\n", sum);

    for (auto &st : s)
        CHECK_CUDA(cudaStreamDestroy(st));
    CHECK_CUDA(cudaEventDestroy(start));
    CHECK_CUDA(cudaEventDestroy(stop));
    CHECK_CUDA(cudaEventDestroy(done1));
    CHECK_CUDA(cudaFree(dx));
    CHECK_CUDA(cudaFree(dy));
    CHECK_CUDA(cudaFreeHost(hx));
    CHECK_CUDA(cudaFreeHost(hy));
    printf("ok\n");
    return 0;
}
