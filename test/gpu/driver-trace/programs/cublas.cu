// cublas.cu: cublasSgemm, then the same product through cublasLtMatmul (heuristic-chosen
// algorithm, with a workspace). Integer-valued inputs keep both results exact.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <vector>
#include "check.h"

int main()
{
    const int n = 128;
    std::vector<float> a(n * n), b(n * n), c(n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 5);
        b[i] = (float)(i % 3);
    }
    float *da, *db, *dc;
    CHECK_CUDA(cudaMalloc(&da, n * n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&db, n * n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&dc, n * n * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(da, a.data(), n * n * sizeof(float), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(db, b.data(), n * n * sizeof(float), cudaMemcpyHostToDevice));

    cublasHandle_t h;
    CHECK_STATUS(cublasCreate(&h));
    const float one = 1.0f, zero = 0.0f;
    CHECK_STATUS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da, n, db, n, &zero, dc, n));
    CHECK_CUDA(cudaMemcpy(c.data(), dc, n * n * sizeof(float), cudaMemcpyDeviceToHost));
    double s1 = 0;
    for (float v : c)
        s1 += v;
    printf("sgemm sum=%.1f c[0]=%.1f c[last]=%.1f\n", s1, c[0], c[n * n - 1]);
    CHECK_STATUS(cublasDestroy(h));

    cublasLtHandle_t lt;
    CHECK_STATUS(cublasLtCreate(&lt));
    cublasLtMatmulDesc_t op;
    CHECK_STATUS(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasLtMatrixLayout_t la, lb, lc;
    CHECK_STATUS(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, n, n, n));
    CHECK_STATUS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, n, n, n));
    CHECK_STATUS(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, n, n, n));
    cublasLtMatmulPreference_t pref;
    CHECK_STATUS(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws_size = 4 << 20;
    CHECK_STATUS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                      &ws_size, sizeof ws_size));
    void *ws;
    CHECK_CUDA(cudaMalloc(&ws, ws_size));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    CHECK_STATUS(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &heur, &found));
    printf("lt heuristic found=%d\n", found > 0);
    CHECK_CUDA(cudaMemset(dc, 0, n * n * sizeof(float)));
    CHECK_STATUS(cublasLtMatmul(lt, op, &one, da, la, db, lb, &zero, dc, lc, dc, lc, &heur.algo, ws,
                                ws_size, 0));
    CHECK_CUDA(cudaMemcpy(c.data(), dc, n * n * sizeof(float), cudaMemcpyDeviceToHost));
    double s2 = 0;
    for (float v : c)
        s2 += v;
    printf("lt sum=%.1f same=%d\n", s2, s1 == s2);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(op);
    CHECK_STATUS(cublasLtDestroy(lt));
    cudaFree(ws);
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
    printf("ok\n");
    return 0;
}
