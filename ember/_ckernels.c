/* Compiled kernels for the loops NumPy cannot run at memory speed: the Winograd F(2x2, 3x3)
 * transforms of ember/ops/winograd.py; the normalizations' per-channel passes
 * (ember/ops/norm.py), fused into one or two passes over each channel; GELU, softmax, ReLU,
 * 2x2 max pooling, direct convolution and col2im; the LSTM's step loops; the optimizers'
 * updates.
 * Plain C on float32 arrays, each kernel a function of this extension module (entry points at
 * the end; ember/_native.py finds it), run without the GIL, so that ember's block threads run
 * them side by side; the products between the Winograd transforms stay BLAS's, through
 * NumPy.  The module is optional: without it (no compiler when pip built ember) the same ops
 * run on their NumPy paths.
 *
 * Winograd: the output is cut into 2x2 tiles, Th x Tw of them per image; tile
 * t = (n * Th + th) * Tw + tw reads the 4x4 input tile at row 2 th - top, column 2 tw - left
 * (zero outside the input).  A call handles the tiles t0 .. t0 + cnt - 1, walking them in
 * runs along one tile row, and a transformed array is (16, rows, cnt) with ``plane`` floats
 * between its planes, plane 4 i + j holding entry (i, j) of every tile.  The inner loops run
 * along a tile row, reading rows dealt into even and odd columns, so that every load and
 * store is contiguous.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* even[k] = row[c0 + 2k], odd[k] = row[c0 + 2k + 1] for k < m, zero outside 0 .. W - 1 or
 * where row is NULL (a row outside the input). */
static void deal(const float *row, long W, long c0, long m, float *even, float *odd)
{
    long k = 0;
    if (row) {
        for (; k < m && c0 + 2 * k < 0; k++) {
            even[k] = 0.0f;
            odd[k] = c0 + 2 * k + 1 == 0 && W > 0 ? row[0] : 0.0f;
        }
        for (; k < m && c0 + 2 * k + 1 < W; k++) {
            even[k] = row[c0 + 2 * k];
            odd[k] = row[c0 + 2 * k + 1];
        }
        if (k < m && c0 + 2 * k < W) {
            even[k] = row[c0 + 2 * k];
            odd[k++] = 0.0f;
        }
    }
    for (; k < m; k++)
        even[k] = odd[k] = 0.0f;
}

/* The next run of tiles from t along one tile row: its image, tile row and columns. */
static long run(long t, long end, long Th, long Tw, long *n, long *th, long *tw0)
{
    const long p = t % (Th * Tw);
    *n = t / (Th * Tw);
    *th = p / Tw;
    *tw0 = p % Tw;
    const long left = end - t;
    return *tw0 + left < Tw ? *tw0 + left : Tw;
}

/* V = B^T d B for each 4x4 input tile d of x (N, C, H, W). */
int wino_input(const float *restrict x, float *restrict V, long plane, long N, long C, long H,
               long W, long top, long left, long Th, long Tw, long t0, long cnt)
{
    const long m = Tw + 1;
    float *scratch = malloc(8 * m * sizeof(float));
    if (!scratch)
        return -1;
    float *e[4], *o[4];
    for (int i = 0; i < 4; i++) {
        e[i] = scratch + 2 * i * m;
        o[i] = e[i] + m;
    }
    for (long t = t0, n, th, tw0, tw1; t < t0 + cnt; t += tw1 - tw0) {
        tw1 = run(t, t0 + cnt, Th, Tw, &n, &th, &tw0);
        for (long c = 0; c < C; c++) {
            const float *img = x + (n * C + c) * H * W;
            for (int i = 0; i < 4; i++) {
                const long r = 2 * th - top + i;
                deal(r >= 0 && r < H ? img + r * W : NULL, W, -left, m, e[i], o[i]);
            }
            float *restrict v = V + c * cnt + (t - t0) - tw0;
            const float *restrict e0 = e[0], *restrict e1 = e[1], *restrict e2 = e[2],
                        *restrict e3 = e[3], *restrict o0 = o[0], *restrict o1 = o[1],
                        *restrict o2 = o[2], *restrict o3 = o[3];
            /* column j of the tile at tw: e[tw], o[tw], e[tw + 1], o[tw + 1] */
#define ROWS(a0, a1, a2, a3, r0, r1, r2, r3) \
    const float r0 = a0 - a2, r1 = a1 + a2, r2 = a2 - a1, r3 = a1 - a3;
#define STORE(i, c0, c1, c2, c3)                     \
    v[(4 * i + 0) * plane + k] = c0 - c2;            \
    v[(4 * i + 1) * plane + k] = c1 + c2;            \
    v[(4 * i + 2) * plane + k] = c2 - c1;            \
    v[(4 * i + 3) * plane + k] = c1 - c3;
#pragma GCC ivdep /* the 16 planes never overlap */
            for (long k = tw0; k < tw1; k++) {
                ROWS(e0[k], e1[k], e2[k], e3[k], a0, a1, a2, a3)
                ROWS(o0[k], o1[k], o2[k], o3[k], b0, b1, b2, b3)
                ROWS(e0[k + 1], e1[k + 1], e2[k + 1], e3[k + 1], c0, c1, c2, c3)
                ROWS(o0[k + 1], o1[k + 1], o2[k + 1], o3[k + 1], d0, d1, d2, d3)
                STORE(0, a0, b0, c0, d0)
                STORE(1, a1, b1, c1, d1)
                STORE(2, a2, b2, c2, d2)
                STORE(3, a3, b3, c3, d3)
            }
#undef ROWS
#undef STORE
        }
    }
    free(scratch);
    return 0;
}

/* y = A^T m A (+ bias) for each 4x4 tile m of M (16, O, cnt), into y (N, O, Ho, Wo); the
 * halves of tiles past an odd Ho or Wo are dropped.  bias may be NULL. */
int wino_output(const float *restrict M, long plane, float *restrict y,
                const float *restrict bias, long O, long Ho, long Wo, long Th, long Tw, long t0,
                long cnt)
{
    float *scratch = malloc(4 * Tw * sizeof(float));
    if (!scratch)
        return -1;
    float *restrict y00 = scratch, *restrict y01 = y00 + Tw, *restrict y10 = y01 + Tw,
                    *restrict y11 = y10 + Tw;
    for (long t = t0, n, th, tw0, tw1; t < t0 + cnt; t += tw1 - tw0) {
        tw1 = run(t, t0 + cnt, Th, Tw, &n, &th, &tw0);
        const long c0 = 2 * tw0, c1 = 2 * tw1 < Wo ? 2 * tw1 : Wo;
        for (long o = 0; o < O; o++) {
            const float b = bias ? bias[o] : 0.0f;
            const float *restrict m = M + o * cnt + (t - t0) - tw0;
#pragma GCC ivdep /* the 16 planes never overlap */
            for (long k = tw0; k < tw1; k++) {
                float s[2][4];
                for (int j = 0; j < 4; j++) {
                    const float m0 = m[j * plane + k], m1 = m[(4 + j) * plane + k];
                    const float m2 = m[(8 + j) * plane + k], m3 = m[(12 + j) * plane + k];
                    s[0][j] = m0 + m1 + m2;
                    s[1][j] = m1 - m2 - m3;
                }
                y00[k] = s[0][0] + s[0][1] + s[0][2] + b;
                y01[k] = s[0][1] - s[0][2] - s[0][3] + b;
                y10[k] = s[1][0] + s[1][1] + s[1][2] + b;
                y11[k] = s[1][1] - s[1][2] - s[1][3] + b;
            }
            float *restrict row = y + ((n * O + o) * Ho + 2 * th) * Wo;
            for (long c = c0; c < c1; c++)
                row[c] = c & 1 ? y01[c >> 1] : y00[c >> 1];
            if (2 * th + 1 < Ho)
                for (long c = c0; c < c1; c++)
                    row[Wo + c] = c & 1 ? y11[c >> 1] : y10[c >> 1];
        }
    }
    free(scratch);
    return 0;
}

/* dM = A g A^T for each 2x2 tile g of the output gradient (N, O, Ho, Wo), zero past an odd
 * Ho or Wo: the gradient of the tiles' products, (16, O, cnt), from which the weight's
 * follows. */
int wino_grad(const float *restrict g, float *restrict dM, long plane, long O, long Ho, long Wo,
              long Th, long Tw, long t0, long cnt)
{
    float *scratch = malloc(4 * Tw * sizeof(float));
    if (!scratch)
        return -1;
    float *restrict e0 = scratch, *restrict o0 = e0 + Tw, *restrict e1 = o0 + Tw,
                    *restrict o1 = e1 + Tw;
    for (long t = t0, n, th, tw0, tw1; t < t0 + cnt; t += tw1 - tw0) {
        tw1 = run(t, t0 + cnt, Th, Tw, &n, &th, &tw0);
        for (long o = 0; o < O; o++) {
            const float *img = g + (n * O + o) * Ho * Wo;
            deal(img + 2 * th * Wo, Wo, 0, Tw, e0, o0);
            deal(2 * th + 1 < Ho ? img + (2 * th + 1) * Wo : NULL, Wo, 0, Tw, e1, o1);
            float *restrict dm = dM + o * cnt + (t - t0) - tw0;
#pragma GCC ivdep /* the 16 planes never overlap */
            for (long k = tw0; k < tw1; k++) {
                /* rows of A g: g0, g0 + g1, g0 - g1, -g1; then each row times A^T alike */
                const float r[4][2] = {{e0[k], o0[k]},
                                       {e0[k] + e1[k], o0[k] + o1[k]},
                                       {e0[k] - e1[k], o0[k] - o1[k]},
                                       {-e1[k], -o1[k]}};
                for (int i = 0; i < 4; i++) {
                    dm[(4 * i + 0) * plane + k] = r[i][0];
                    dm[(4 * i + 1) * plane + k] = r[i][0] + r[i][1];
                    dm[(4 * i + 2) * plane + k] = r[i][0] - r[i][1];
                    dm[(4 * i + 3) * plane + k] = -r[i][1];
                }
            }
        }
    }
    free(scratch);
    return 0;
}

/* U = G w G^T for each 3x3 kernel of w (O, C, 3, 3), into U (16, O, C); kernels are done 16 at
 * a time and their entries stored plane by plane (16 stores a cache line apart, not 16 KiB
 * apart, which would alias in the store buffer). */
void wino_filter(const float *restrict w, float *restrict U, long O, long C)
{
    const long plane = O * C;
    for (long k0 = 0; k0 < plane; k0 += 16) {
        const int kn = plane - k0 < 16 ? (int)(plane - k0) : 16;
        float u[16][16];
        for (int q = 0; q < kn; q++) {
            const float *f = w + 9 * (k0 + q);
            float r[4][3];
            for (int j = 0; j < 3; j++) {
                r[0][j] = f[j];
                r[1][j] = 0.5f * (f[j] + f[3 + j] + f[6 + j]);
                r[2][j] = 0.5f * (f[j] - f[3 + j] + f[6 + j]);
                r[3][j] = f[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                u[4 * i + 0][q] = r[i][0];
                u[4 * i + 1][q] = 0.5f * (r[i][0] + r[i][1] + r[i][2]);
                u[4 * i + 2][q] = 0.5f * (r[i][0] - r[i][1] + r[i][2]);
                u[4 * i + 3][q] = r[i][2];
            }
        }
        for (int p = 0; p < 16; p++)
            for (int q = 0; q < kn; q++)
                U[p * plane + k0 + q] = u[p][q];
    }
}

/* dw = G^T dU G for each 4x4 entry dU (16, O, C): the weight's gradient (O, C, 3, 3). */
void wino_filter_grad(const float *restrict dU, float *restrict dw, long O, long C)
{
    const long plane = O * C;
    for (long k = 0; k < plane; k++) {
        float r[3][4];
        for (int j = 0; j < 4; j++) {
            const float u0 = dU[j * plane + k], u1 = dU[(4 + j) * plane + k];
            const float u2 = dU[(8 + j) * plane + k], u3 = dU[(12 + j) * plane + k];
            r[0][j] = u0 + 0.5f * (u1 + u2);
            r[1][j] = 0.5f * (u1 - u2);
            r[2][j] = 0.5f * (u1 + u2) + u3;
        }
        float *f = dw + 9 * k;
        for (int i = 0; i < 3; i++) {
            f[3 * i + 0] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
            f[3 * i + 1] = 0.5f * (r[i][1] - r[i][2]);
            f[3 * i + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
        }
    }
}

/* ---- normalization: x viewed as (A, M, B), statistics per m over a and b ----------------
 * Batch norm is (N, C, spatial); layer, group and instance norm are (1, rows, features).
 * Each channel's rows are summed in 16 float lanes per row and the row sums in double. */

#define LANE 16

static double row_sum(const float *restrict r, long B)
{
    float acc[LANE] = {0};
    long b = 0;
    for (; b + LANE <= B; b += LANE)
        for (int j = 0; j < LANE; j++)
            acc[j] += r[b + j];
    double s = 0.0;
    for (; b < B; b++)
        s += r[b];
    for (int j = 0; j < LANE; j++)
        s += acc[j];
    return s;
}

static double row_dot(const float *restrict r, const float *restrict q, long B)
{
    float acc[LANE] = {0};
    long b = 0;
    for (; b + LANE <= B; b += LANE)
        for (int j = 0; j < LANE; j++)
            acc[j] += r[b + j] * q[b + j];
    double s = 0.0;
    for (; b < B; b++)
        s += (double)r[b] * q[b];
    for (int j = 0; j < LANE; j++)
        s += acc[j];
    return s;
}

static double row_sqdev(const float *restrict r, long B, float mean)
{
    float acc[LANE] = {0};
    long b = 0;
    for (; b + LANE <= B; b += LANE)
        for (int j = 0; j < LANE; j++) {
            const float d = r[b + j] - mean;
            acc[j] += d * d;
        }
    double s = 0.0;
    for (; b < B; b++) {
        const double d = r[b] - mean;
        s += d * d;
    }
    for (int j = 0; j < LANE; j++)
        s += acc[j];
    return s;
}

/* xhat = (x - mean) * rstd with the biased variance var and rstd = 1 / sqrt(var + eps), for
 * every m (two passes over each channel: the mean, then the squared deviations). */
void norm_forward(const float *restrict x, float *restrict xhat, float *restrict mean,
                  float *restrict var, float *restrict rstd, long A, long M, long B, double eps)
{
    const double n = (double)A * B;
    for (long m = 0; m < M; m++) {
        double s = 0.0;
        for (long a = 0; a < A; a++)
            s += row_sum(x + (a * M + m) * B, B);
        const float mu = (float)(s / n);
        double q = 0.0;
        for (long a = 0; a < A; a++)
            q += row_sqdev(x + (a * M + m) * B, B, mu);
        const float r = (float)(1.0 / sqrt(q / n + eps));
        mean[m] = mu;
        var[m] = (float)(q / n);
        rstd[m] = r;
        for (long a = 0; a < A; a++) {
            const float *restrict src = x + (a * M + m) * B;
            float *restrict dst = xhat + (a * M + m) * B;
            for (long b = 0; b < B; b++)
                dst[b] = (src[b] - mu) * r;
        }
    }
}

/* gx = (g - mean(g) - xhat * mean(g * xhat)) * rstd: the input gradient of norm_forward. */
void norm_backward(const float *restrict g, const float *restrict xhat,
                   const float *restrict rstd, float *restrict gx, long A, long M, long B)
{
    const double n = (double)A * B;
    for (long m = 0; m < M; m++) {
        double sg = 0.0, sgx = 0.0;
        for (long a = 0; a < A; a++) {
            sg += row_sum(g + (a * M + m) * B, B);
            sgx += row_dot(g + (a * M + m) * B, xhat + (a * M + m) * B, B);
        }
        const float r = rstd[m], c0 = (float)(sg / n) * r, c1 = (float)(sgx / n) * r;
        for (long a = 0; a < A; a++) {
            const long off = (a * M + m) * B;
            const float *restrict gr = g + off, *restrict xr = xhat + off;
            float *restrict dst = gx + off;
            for (long b = 0; b < B; b++)
                dst[b] = gr[b] * r - c0 - xr[b] * c1;
        }
    }
}

/* y = x * w[m] + b[m] (w or b NULL: 1 or 0). */
void affine_forward(const float *restrict x, const float *restrict w, const float *restrict bias,
                    float *restrict y, long A, long M, long B)
{
    for (long m = 0; m < M; m++) {
        const float s = w ? w[m] : 1.0f, t = bias ? bias[m] : 0.0f;
        for (long a = 0; a < A; a++) {
            const float *restrict src = x + (a * M + m) * B;
            float *restrict dst = y + (a * M + m) * B;
            for (long b = 0; b < B; b++)
                dst[b] = src[b] * s + t;
        }
    }
}

/* gx = g * w[m], gw[m] = sum g * x, gb[m] = sum g: the gradients of affine_forward, each
 * skipped where its pointer is NULL (gx needs w). */
void affine_backward(const float *restrict g, const float *restrict x, const float *restrict w,
                     float *restrict gx, float *restrict gw, float *restrict gb, long A, long M,
                     long B)
{
    for (long m = 0; m < M; m++) {
        double sw = 0.0, sb = 0.0;
        for (long a = 0; a < A; a++) {
            const long off = (a * M + m) * B;
            if (gw)
                sw += row_dot(g + off, x + off, B);
            if (gb)
                sb += row_sum(g + off, B);
            if (gx) {
                const float s = w[m];
                const float *restrict gr = g + off;
                float *restrict dst = gx + off;
                for (long b = 0; b < B; b++)
                    dst[b] = gr[b] * s;
            }
        }
        if (gw)
            gw[m] = (float)sw;
        if (gb)
            gb[m] = (float)sb;
    }
}

/* ---- layer norm: M rows of F features, y = (x - mean) rstd w + b per row (w, b may be
 * NULL), as one op: the statistics and the affine in one call, all three gradients in one. */

void layer_norm_forward(const float *restrict x, const float *restrict w,
                        const float *restrict b, float *restrict y, float *restrict mean,
                        float *restrict rstd, long M, long F, double eps)
{
    for (long r = 0; r < M; r++) {
        const float *restrict xr = x + r * F;
        float *restrict yr = y + r * F;
        const float mu = (float)(row_sum(xr, F) / F);
        const float rs = (float)(1.0 / sqrt(row_sqdev(xr, F, mu) / F + eps));
        mean[r] = mu, rstd[r] = rs;
        if (w && b)
            for (long j = 0; j < F; j++)
                yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
        else
            for (long j = 0; j < F; j++)
                yr[j] = (w ? (xr[j] - mu) * rs * w[j] : (xr[j] - mu) * rs) + (b ? b[j] : 0.0f);
    }
}

/* With xhat = (x - mean) rstd and h = g w: gx = (h - mean(h) - xhat mean(h xhat)) rstd,
 * gw = sum over rows of g xhat, gb = sum of g; gw, gb, gx skipped where NULL, w NULL means 1.
 * Scratch: acc, 2F doubles (the column sums), tmp, 2F floats (a row's h and xhat). */
void layer_norm_backward(const float *restrict g, const float *restrict x,
                         const float *restrict w, const float *restrict mean,
                         const float *restrict rstd, float *restrict gx, float *restrict gw,
                         float *restrict gb, double *restrict acc, float *restrict tmp, long M,
                         long F)
{
    double *restrict sw = acc, *restrict sb = acc + F;
    float *restrict h = tmp, *restrict xh = tmp + F;
    for (long j = 0; j < 2 * F; j++)
        acc[j] = 0.0;
    for (long r = 0; r < M; r++) {
        const float *restrict gr = g + r * F, *restrict xr = x + r * F;
        const float mu = mean[r], rs = rstd[r];
        for (long j = 0; j < F; j++) {
            xh[j] = (xr[j] - mu) * rs;
            h[j] = w ? gr[j] * w[j] : gr[j];
        }
        if (gw || gb)
            for (long j = 0; j < F; j++) {
                sw[j] += gr[j] * xh[j];
                sb[j] += gr[j];
            }
        if (!gx)
            continue;
        const float c1 = (float)(row_sum(h, F) / F), c2 = (float)(row_dot(h, xh, F) / F);
        float *restrict dst = gx + r * F;
        for (long j = 0; j < F; j++)
            dst[j] = (h[j] - c1 - xh[j] * c2) * rs;
    }
    for (long j = 0; j < F; j++) {
        if (gw)
            gw[j] = (float)sw[j];
        if (gb)
            gb[j] = (float)sb[j];
    }
}

/* ---- GELU (erf form) --------------------------------------------------------------------
 * Phi(-|x|) = t exp(P(t) - x^2 / 2) / 2 with t = 1 / (1 + |x| / (2 sqrt 2)) and Numerical
 * Recipes' erfc polynomial P (relative error < 1.2e-7 everywhere, so both tails keep float32
 * accuracy), as ember/ops/activation.py computes it with NumPy; exp is written out below so
 * that the loops vectorize. */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WIDE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WIDE
#endif

static const float ERFC_NR[10] = {0.17087277f,  -0.82215223f, 1.48851587f, -1.13520398f,
                                  0.27886807f,  -0.18628806f, 0.09678418f, 0.37409196f,
                                  1.00002368f, -1.26551223f};

/* exp(x) to about 1e-7 relative for x <= 88 (down to 0 below -104, NaN kept): x = k ln 2 + r,
 * e^r by its Taylor series to r^7 (|r| <= ln 2 / 2), 2^k applied in two halves so that
 * results down in the subnormals come out right. */
static inline float exp_f(float x)
{
    x = x < -104.0f ? -104.0f : (x > 88.0f ? 88.0f : x);
    const float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest */
    const float r = (x - k * 0.693145751953125f) - k * 1.428606765330187e-6f;
    const float r2 = r * r; /* Estrin's scheme: short dependency chains */
    const float p = ((1.0f + r) + r2 * (0.5f + r * (1.0f / 6.0f))) +
                    (r2 * r2) * ((1.0f / 24.0f + r * (1.0f / 120.0f)) +
                                 r2 * (1.0f / 720.0f + r * (1.0f / 5040.0f)));
    const int ki = (int)k, k1 = ki >> 1, k2 = ki - k1;
    union { int i; float f; } s1 = {(k1 + 127) << 23}, s2 = {(k2 + 127) << 23};
    return p * s1.f * s2.f;
}

/* Phi(x), the standard normal distribution function. */
static inline float normal_cdf(float x)
{
    const float t = 1.0f / (1.0f + fabsf(x) * 0.35355339f);
    const float t2 = t * t, t4 = t2 * t2; /* P(t) by Estrin's scheme */
    const float a = (ERFC_NR[9] - 0.69314718f) + ERFC_NR[8] * t;
    const float b = ERFC_NR[7] + ERFC_NR[6] * t, c = ERFC_NR[5] + ERFC_NR[4] * t;
    const float d = ERFC_NR[3] + ERFC_NR[2] * t, e = ERFC_NR[1] + ERFC_NR[0] * t;
    const float p = ((a + t2 * b) + t4 * ((c + t2 * d) + t4 * e)) - 0.5f * x * x;
    const float tail = exp_f(p) * t; /* Phi(-|x|) */
    return x >= 0.0f ? 1.0f - tail : tail;
}

WIDE void gelu_forward(const float *restrict x, float *restrict y, long n)
{
    for (long i = 0; i < n; i++)
        y[i] = x[i] * normal_cdf(x[i]);
}

/* gx = g (Phi(x) + x phi(x)) */
WIDE void gelu_backward(const float *restrict g, const float *restrict x, float *restrict gx,
                        long n)
{
    for (long i = 0; i < n; i++) {
        const float v = x[i];
        gx[i] = g[i] * (normal_cdf(v) + v * 0.39894228f * exp_f(-0.5f * v * v));
    }
}

/* ---- softmax and log-softmax along the last dim of (rows, n) (ember/ops/activation.py) ---
 * Per row, as the NumPy path: s = x - max, then e^s / sum e^s or s - log sum e^s (a NaN
 * anywhere makes the sum NaN, and so the whole row, as does a row of -inf). */

WIDE void softmax_forward(const float *restrict x, float *restrict y, long rows, long n,
                          long log)
{
    for (long r = 0; r < rows; r++) {
        const float *restrict xr = x + r * n;
        float *restrict yr = y + r * n;
        float m = xr[0];
        for (long i = 1; i < n; i++)
            m = xr[i] > m ? xr[i] : m;
        for (long i = 0; i < n; i++)
            yr[i] = exp_f(xr[i] - m);
        const float sum = (float)row_sum(yr, n);
        if (log) {
            const float ls = logf(sum);
            for (long i = 0; i < n; i++)
                yr[i] = (xr[i] - m) - ls;
        } else {
            for (long i = 0; i < n; i++)
                yr[i] = yr[i] / sum;
        }
    }
}

/* softmax: gx = y (g - sum g y); log-softmax: gx = g - e^y sum g */
WIDE void softmax_backward(const float *restrict g, const float *restrict y,
                           float *restrict gx, long rows, long n, long log)
{
    for (long r = 0; r < rows; r++) {
        const float *restrict gr = g + r * n, *restrict yr = y + r * n;
        float *restrict out = gx + r * n;
        if (log) {
            const float sum = (float)row_sum(gr, n);
            for (long i = 0; i < n; i++)
                out[i] = gr[i] - exp_f(yr[i]) * sum;
        } else {
            const float dot = (float)row_dot(gr, yr, n);
            for (long i = 0; i < n; i++)
                out[i] = yr[i] * (gr[i] - dot);
        }
    }
}

/* Attention's softmax (ember/ops/attention.py), in place on (rows, n) scores: stats[2 r] and
 * stats[2 r + 1] get row r's max m and sum of exp(s - m), from which attn_weights makes the
 * same weights again, exp(s - m) / sum; a row of all -inf (a query whose keys are all
 * masked) becomes zeros, with m = 0 and sum = 1. */

WIDE void attn_softmax(float *restrict s, float *restrict stats, long rows, long n)
{
    for (long r = 0; r < rows; r++) {
        float *restrict sr = s + r * n;
        float m = sr[0];
        for (long i = 1; i < n; i++)
            m = sr[i] > m ? sr[i] : m;
        if (m == -INFINITY) {
            for (long i = 0; i < n; i++)
                sr[i] = 0.0f;
            stats[2 * r] = 0.0f;
            stats[2 * r + 1] = 1.0f;
            continue;
        }
        for (long i = 0; i < n; i++)
            sr[i] = exp_f(sr[i] - m);
        const float sum = (float)row_sum(sr, n);
        for (long i = 0; i < n; i++)
            sr[i] = sr[i] / sum;
        stats[2 * r] = m;
        stats[2 * r + 1] = sum;
    }
}

WIDE void attn_weights(float *restrict s, const float *restrict stats, long rows, long n)
{
    for (long r = 0; r < rows; r++) {
        float *restrict sr = s + r * n;
        const float m = stats[2 * r], sum = stats[2 * r + 1];
        for (long i = 0; i < n; i++)
            sr[i] = exp_f(sr[i] - m) / sum;
    }
}

/* ---- ReLU: y = max(x, 0) keeping NaN (and -0, as PyTorch does); gx = g where y > 0 or y is
 * NaN, else +0 -------------------------------------------------------------------------- */

void relu_forward(const float *restrict x, float *restrict y, long n)
{
    for (long i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward(const float *restrict g, const float *restrict y, float *restrict gx, long n)
{
    for (long i = 0; i < n; i++) {
        const float v = g[i]; /* loaded unconditionally, so that the select vectorizes */
        gx[i] = y[i] <= 0.0f ? 0.0f : v;
    }
}

/* ---- 2x2 max pooling with stride 2 (ember/ops/pool.py) ----------------------------------
 * PyTorch's rule: the window is walked row by row and an element replaces the running
 * maximum when greater or NaN, so the first maximum is reported (and the last NaN).  Indices
 * (flat within the input plane) are written where idx is not NULL. */

/* The maximum of a, b, c, d by the rule above, and in k the position (0 to 3) it came from. */
static inline float max4(float a, float b, float c, float d, int32_t *k)
{
    float v = a;
    int32_t at = 0;
    int up = b > v || b != b;
    v = up ? b : v;
    at = up ? 1 : at;
    up = c > v || c != c;
    v = up ? c : v;
    at = up ? 2 : at;
    up = d > v || d != d;
    v = up ? d : v;
    *k = up ? 3 : at;
    return v;
}

void maxpool2x2(const float *restrict x, float *restrict y, int64_t *restrict idx, long NC,
                long H, long W, long OH, long OW)
{
    for (long p = 0; p < NC; p++) {
        for (long oh = 0; oh < OH; oh++) {
            const float *restrict r0 = x + (p * H + 2 * oh) * W, *restrict r1 = r0 + W;
            float *restrict m = y + (p * OH + oh) * OW;
            int32_t k;
            if (!idx) {
                for (long ow = 0; ow < OW; ow++)
                    m[ow] = max4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &k);
                continue;
            }
            int64_t *restrict mi = idx + (p * OH + oh) * OW;
            const int32_t first = (int32_t)(2 * oh * W), across = (int32_t)W - 2;
            for (long ow = 0; ow < OW; ow++) {
                m[ow] = max4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &k);
                /* position 0..3 -> column offset 0, 1, W, W + 1 */
                mi[ow] = first + 2 * (int32_t)ow + k + (k >> 1) * across;
            }
        }
    }
}

/* gx = 0, then gx[plane p][idx] += g for every output: max pooling's input gradient. */
void maxpool_grad(const float *restrict g, const int64_t *restrict idx, float *restrict gx,
                  long NC, long in_plane, long out_plane)
{
    for (long k = 0; k < NC * in_plane; k++)
        gx[k] = 0.0f;
    for (long p = 0; p < NC; p++) {
        float *restrict dst = gx + p * in_plane;
        const float *restrict src = g + p * out_plane;
        const int64_t *restrict at = idx + p * out_plane;
        for (long o = 0; o < out_plane; o++)
            dst[at[o]] += src[o];
    }
}

/* ---- direct convolution for few input taps (ember/ops/conv_direct.py) ---------------------
 * Stride 1 on an input zero-padded beforehand, (N, C, Hp, Wp) with DIRECT_BLOCK floats of
 * slack after it.  An image's outputs are computed on the padded width: flat position
 * q = oh * Wp + ow reads x[q + i Wp + j] for tap (i, j), so every tap is one long run of
 * contiguous loads; columns ow >= OW are computed from whatever lies there and dropped.
 * Blocks of DIRECT_BLOCK outputs stay in registers across all C * kh * kw taps. */

#define DIRECT_BLOCK 64

/* eight floats as one value (a 256-bit register where there is one), loadable from any float
 * address: the accumulators below are named values, which compilers keep in registers */
typedef float v8 __attribute__((vector_size(32), aligned(4)));

WIDE void conv_direct(const float *restrict x, const float *restrict w,
                      const float *restrict bias, float *restrict y, long C, long Hp, long Wp,
                      long O, long kh, long kw, long OH, long OW, long n0, long n1)
{
    const long L = OH * Wp, taps = C * kh * kw;
    for (long n = n0; n < n1; n++) {
        for (long o = 0; o < O; o++) {
            const float b = bias ? bias[o] : 0.0f;
            const float *restrict wo = w + o * taps;
            float *restrict dst = y + (n * O + o) * OH * OW;
            for (long q0 = 0; q0 < L; q0 += DIRECT_BLOCK) {
                const v8 zero = {0};
                v8 a0 = zero + b, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                for (long c = 0; c < C; c++) {
                    const float *plane = x + ((n * C + c) * Hp) * Wp + q0;
                    for (long i = 0; i < kh; i++)
                        for (long j = 0; j < kw; j++) {
                            const v8 wv = zero + wo[(c * kh + i) * kw + j];
                            const v8 *src = (const v8 *)(plane + i * Wp + j);
                            a0 += wv * src[0];
                            a1 += wv * src[1];
                            a2 += wv * src[2];
                            a3 += wv * src[3];
                            a4 += wv * src[4];
                            a5 += wv * src[5];
                            a6 += wv * src[6];
                            a7 += wv * src[7];
                        }
                }
                float acc[DIRECT_BLOCK];
                v8 *out = (v8 *)acc;
                out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3;
                out[4] = a4, out[5] = a5, out[6] = a6, out[7] = a7;
                const long end = q0 + DIRECT_BLOCK < L ? q0 + DIRECT_BLOCK : L;
                long oh = q0 / Wp, ow = q0 % Wp;
                for (long q = q0; q < end; q++) {
                    if (ow < OW)
                        dst[oh * OW + ow] = acc[q - q0];
                    if (++ow == Wp) {
                        ow = 0;
                        oh++;
                    }
                }
            }
        }
    }
}

/* ---- col2im for 2-D convolutions (ember/ops/conv.py _conv_input) -------------------------
 * The (C, K1, K2, R, O1, N) columns of R output rows, batch last, added onto the
 * (C, P0, P1, N) padded accumulator: tap (i, j) of output (r, s) lands on row
 * r0 + i d0 + r s0, column j d1 + s s1.  One channel's accumulator stays in cache while all
 * its taps are added, where NumPy makes a pass over it per tap. */

WIDE void col2im2d(const float *restrict cols, float *restrict acc, long C, long K1, long K2,
                   long R, long O1, long N, long P0, long P1, long r0, long s0, long s1,
                   long d0, long d1)
{
    for (long c = 0; c < C; c++)
        for (long i = 0; i < K1; i++)
            for (long j = 0; j < K2; j++)
                for (long r = 0; r < R; r++) {
                    const float *restrict src = cols + (((c * K1 + i) * K2 + j) * R + r) * O1 * N;
                    float *restrict row = acc + ((c * P0 + r0 + i * d0 + r * s0) * P1 + j * d1) * N;
                    for (long s = 0; s < O1; s++) {
                        float *restrict dst = row + s * s1 * N;
                        for (long n = 0; n < N; n++)
                            dst[n] += src[s * N + n];
                    }
                }
}

/* ---- LSTM layer loops (ember/nn/modules/rnn.py) ------------------------------------------
 * One call walks every step of a layer.  Step k covers rows rows[k] .. rows[k] + sizes[k] - 1
 * of the packed arrays (steps in the order the layer walks them; batch row b of a step is
 * sequence b); gates are PyTorch's (i, f, g, o) blocks of H columns, 4H per row.  Each step's
 * recurrent product goes to the BLAS NumPy loaded: its cblas_sgemm is passed in as a pointer,
 * with 64-bit (ilp64) or 32-bit integers. */

typedef void (*sgemm32_fn)(int, int, int, int, int, int, float, const float *, int,
                           const float *, int, float, float *, int);
typedef void (*sgemm64_fn)(int, int, int, int64_t, int64_t, int64_t, float, const float *,
                           int64_t, const float *, int64_t, float, float *, int64_t);

/* c = a b + beta c, row-major, a (m, k), b (k, n) */
static void sgemm(void *fn, long ilp64, long m, long n, long k, const float *a, const float *b,
                  float beta, float *c)
{
    if (ilp64)
        ((sgemm64_fn)fn)(101, 111, 111, m, n, k, 1.0f, a, k, b, n, beta, c, n);
    else
        ((sgemm32_fn)fn)(101, 111, 111, (int)m, (int)n, (int)k, 1.0f, a, (int)k, b, (int)n, beta,
                         c, (int)n);
}

/* e^y - 1 for y in [-40, 0], to float32's relative accuracy near 0 as well: y = k ln 2 + r,
 * e^y - 1 = 2^k (e^r - 1) + 2^k - 1 with e^r - 1 = r (1 + r/2 + ... + r^6/7!) */
static inline float expm1_f(float y)
{
    y = y < -40.0f ? -40.0f : y;
    const float k = (y * 1.44269504f + 12582912.0f) - 12582912.0f;
    const float r = (y - k * 0.693145751953125f) - k * 1.428606765330187e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    union { int i; float f; } s = {((int)k + 127) << 23};
    return s.f * (p * r) + (s.f - 1.0f);
}

/* tanh x = -(e^-2|x| - 1) / (2 + e^-2|x| - 1), with the sign of x (NaN kept) */
static inline float tanh_f(float x)
{
    const float e = expm1_f(-2.0f * fabsf(x));
    return copysignf(-e / (2.0f + e), x);
}

static inline float sigmoid_f(float z) { return 1.0f / (1.0f + exp_f(-z)); }

/* One row of a step: the gates' pre-activations z (4H) become their activations; c (the
 * row's cell state) and h its new state, also stored as the step's cell, tanh(cell), output. */
static inline void lstm_cell(float *restrict z, float *restrict c, float *restrict h,
                             float *restrict cell, float *restrict tc, float *restrict out,
                             long H)
{
    for (long j = 0; j < H; j++) {
        const float i = sigmoid_f(z[j]), f = sigmoid_f(z[H + j]);
        const float g = tanh_f(z[2 * H + j]), o = sigmoid_f(z[3 * H + j]);
        const float cn = f * c[j] + i * g, t = tanh_f(cn);
        z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o;
        c[j] = cn, cell[j] = cn, tc[j] = t;
        h[j] = o * t, out[j] = o * t;
    }
}

/* gates: (rows, 4H) input projections in, activations out; hs, cs: (batch, H) states, the
 * initial ones in and the final ones out; w_t: (H, 4H), the recurrent weight transposed. */
WIDE void lstm_forward(float *gates, const float *w_t, float *hs, float *cs, float *out,
                       float *cells, float *tanh_c, const int64_t *rows, const int64_t *sizes,
                       long steps, long H, void *gemm, long ilp64)
{
    for (long k = 0; k < steps; k++) {
        const long row = rows[k], bs = sizes[k];
        float *z = gates + row * 4 * H;
        if (bs > 0)
            sgemm(gemm, ilp64, bs, 4 * H, H, hs, w_t, 1.0f, z);
        for (long b = 0; b < bs; b++) {
            const long r = (row + b) * H;
            lstm_cell(z + b * 4 * H, cs + b * H, hs + b * H, cells + r, tanh_c + r, out + r, H);
        }
    }
}

/* One row of a step backwards: dh, dc (the row's state gradients) take the output's
 * gradient g; dz gets the gates' gradients and dc the previous cell's (dh is the caller's). */
static inline void lstm_cell_grad(const float *restrict a, const float *restrict tc,
                                  const float *restrict c_prev, const float *restrict g,
                                  float *restrict dz, const float *restrict dh,
                                  float *restrict dc, long H)
{
    for (long j = 0; j < H; j++) {
        const float i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j], t = tc[j];
        const float dhj = dh[j] + g[j], dcj = dc[j] + dhj * o * (1.0f - t * t);
        dz[j] = dcj * gg * (i - i * i);
        dz[H + j] = dcj * c_prev[j] * (f - f * f);
        dz[2 * H + j] = dcj * i * (1.0f - gg * gg);
        dz[3 * H + j] = dhj * t * (o - o * o);
        dc[j] = dcj * f;
    }
}

/* The forward's steps in reverse: act, cells, tanh_c as lstm_forward left them; c0 the initial
 * cells; g_out (rows, H) the outputs' gradient; w: (4H, H) the recurrent weight; dh, dc: the
 * final states' gradients in, the initial states' out; dz: (rows, 4H) the gates' gradients. */
WIDE void lstm_backward(const float *act, const float *cells, const float *tanh_c,
                        const float *c0, const float *g_out, const float *w, float *dz,
                        float *dh, float *dc, const int64_t *rows, const int64_t *sizes,
                        long steps, long H, void *gemm, long ilp64)
{
    for (long k = steps - 1; k >= 0; k--) {
        const long row = rows[k], bs = sizes[k];
        const long prev = k > 0 ? rows[k - 1] : 0, had = k > 0 ? sizes[k - 1] : 0;
        for (long b = 0; b < bs; b++) {
            const long r = row + b;
            const float *cp = b < had ? cells + (prev + b) * H : c0 + b * H;
            lstm_cell_grad(act + r * 4 * H, tanh_c + r * H, cp, g_out + r * H, dz + r * 4 * H,
                           dh + b * H, dc + b * H, H);
        }
        if (bs > 0)
            sgemm(gemm, ilp64, bs, H, 4 * H, dz + row * 4 * H, w, 0.0f, dh);
    }
}

/* ---- Optimizer steps (ember/optim): one pass over a float32 parameter, its gradient and
 * its state, in the order of operations of the optimizers' NumPy paths (float32 arithmetic on
 * the hyperparameters rounded to float32). ---------------------------------------------------- */

/* SGD: d = g (+ wd p); buf = momentum buf + (1 - dampening) d (buf = d on the first step);
 * d = buf, or d + momentum buf with Nesterov; p -= lr d.  buf may be NULL (no momentum). */
WIDE void sgd_step(float *restrict p, const float *restrict g, float *restrict buf, long n,
                   double lr, double momentum, double dampening, double wd, long nesterov,
                   long maximize, long first)
{
    const float lr_f = (float)lr, m = (float)momentum, keep = (float)(1 - dampening);
    const float wd_f = (float)wd, sign = maximize ? -1.0f : 1.0f;
    for (long i = 0; i < n; i++) {
        float d = sign * g[i];
        if (wd != 0)
            d = d + wd_f * p[i];
        if (buf) {
            const float b = first ? d : (dampening == 0 ? buf[i] * m + d : buf[i] * m + keep * d);
            buf[i] = b;
            d = nesterov ? d + m * b : b;
        }
        p[i] = p[i] - lr_f * d;
    }
}

/* Adam (AdamW with decoupled): m += (g - m)(1 - beta1); v = beta2 v + (1 - beta2) g^2;
 * vmax = max(vmax, v) with AMSGrad (vmax not NULL; NaN kept); p -= step_size m /
 * (sqrt(v or vmax) / bc2_sqrt + eps).  Weight decay: p *= 1 - lr wd first (decoupled), else
 * g += wd p. */
WIDE void adam_step(float *restrict p, const float *restrict g, float *restrict m,
                    float *restrict v, float *restrict vmax, long n, double lr, double beta1,
                    double beta2, double eps, double wd, long decoupled, long maximize,
                    double step_size, double bc2_sqrt)
{
    const float shrink = (float)(1 - lr * wd), wd_f = (float)wd, sign = maximize ? -1.0f : 1.0f;
    const float a1 = (float)(1 - beta1), b2 = (float)beta2, a2 = (float)(1 - beta2);
    const float eps_f = (float)eps, step = (float)step_size, bc2 = (float)bc2_sqrt;
    for (long i = 0; i < n; i++) {
        float gi = sign * g[i], pi = p[i];
        if (wd != 0 && decoupled)
            pi = pi * shrink;
        else if (wd != 0)
            gi = gi + wd_f * pi;
        const float mi = m[i] + (gi - m[i]) * a1, vi = v[i] * b2 + a2 * gi * gi;
        m[i] = mi, v[i] = vi;
        float sq = vi;
        if (vmax) {
            const float old = vmax[i];
            sq = (old != old || old > vi) ? old : vi;
            vmax[i] = sq;
        }
        p[i] = pi - step * mi / (sqrtf(sq) / bc2 + eps_f);
    }
}

/* ---- Python entry points ------------------------------------------------------------------
 * Each kernel is a METH_FASTCALL function of this module, its arguments spelled by a format:
 * 'p' a pointer (a C-contiguous object with the buffer protocol, such as a NumPy array, for
 * its data; an int address; None for NULL), 'l' an integer, 'd' a float.  The GIL is released
 * while a kernel runs, so that ember's block threads run them side by side. */

typedef union {
    void *p;
    long l;
    double d;
} arg;

static int unpack(PyObject *const *args, Py_ssize_t nargs, const char *name, const char *fmt,
                  arg *a)
{
    const Py_ssize_t n = (Py_ssize_t)strlen(fmt);
    if (nargs != n) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, n, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = args[i];
        if (fmt[i] == 'l') {
            a[i].l = PyLong_AsLong(o);
            if (a[i].l == -1 && PyErr_Occurred())
                return -1;
        } else if (fmt[i] == 'd') {
            a[i].d = PyFloat_AsDouble(o);
            if (a[i].d == -1.0 && PyErr_Occurred())
                return -1;
        } else if (o == Py_None) {
            a[i].p = NULL;
        } else if (PyLong_Check(o)) {
            a[i].p = PyLong_AsVoidPtr(o);
            if (PyErr_Occurred())
                return -1;
        } else {
            Py_buffer view; /* the caller holds the object for the call: its data stays */
            if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) < 0)
                return -1;
            a[i].p = view.buf;
            PyBuffer_Release(&view);
        }
    }
    return 0;
}

#define P(i) a[i].p
#define L(i) a[i].l
#define D(i) a[i].d
#define ENTRY(name, fmt, ...)                                                    \
    static PyObject *py_##name(PyObject *self, PyObject *const *args, Py_ssize_t n) \
    {                                                                            \
        arg a[sizeof(fmt)];                                                      \
        if (unpack(args, n, #name, fmt, a) < 0)                                  \
            return NULL;                                                         \
        Py_BEGIN_ALLOW_THREADS name(__VA_ARGS__);                                \
        Py_END_ALLOW_THREADS Py_RETURN_NONE;                                     \
    }
#define INT_ENTRY(name, fmt, ...)                                                \
    static PyObject *py_##name(PyObject *self, PyObject *const *args, Py_ssize_t n) \
    {                                                                            \
        arg a[sizeof(fmt)];                                                      \
        int r;                                                                   \
        if (unpack(args, n, #name, fmt, a) < 0)                                  \
            return NULL;                                                         \
        Py_BEGIN_ALLOW_THREADS r = name(__VA_ARGS__);                            \
        Py_END_ALLOW_THREADS return PyLong_FromLong(r);                          \
    }
#define METHOD(name) {#name, (PyCFunction)(void (*)(void))py_##name, METH_FASTCALL, NULL}

INT_ENTRY(wino_input, "pplllllllllll",
      P(0), P(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11), L(12))
INT_ENTRY(wino_output, "plpplllllll",
      P(0), L(1), P(2), P(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10))
INT_ENTRY(wino_grad, "ppllllllll", P(0), P(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9))
ENTRY(wino_filter, "ppll", P(0), P(1), L(2), L(3))
ENTRY(wino_filter_grad, "ppll", P(0), P(1), L(2), L(3))
ENTRY(norm_forward, "pppppllld", P(0), P(1), P(2), P(3), P(4), L(5), L(6), L(7), D(8))
ENTRY(norm_backward, "pppplll", P(0), P(1), P(2), P(3), L(4), L(5), L(6))
ENTRY(affine_forward, "pppplll", P(0), P(1), P(2), P(3), L(4), L(5), L(6))
ENTRY(affine_backward, "pppppplll", P(0), P(1), P(2), P(3), P(4), P(5), L(6), L(7), L(8))
ENTRY(layer_norm_forward, "pppppplld", P(0), P(1), P(2), P(3), P(4), P(5), L(6), L(7), D(8))
ENTRY(layer_norm_backward, "ppppppppppll",
      P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), L(10), L(11))
ENTRY(gelu_forward, "ppl", P(0), P(1), L(2))
ENTRY(gelu_backward, "pppl", P(0), P(1), P(2), L(3))
ENTRY(softmax_forward, "pplll", P(0), P(1), L(2), L(3), L(4))
ENTRY(softmax_backward, "ppplll", P(0), P(1), P(2), L(3), L(4), L(5))
ENTRY(attn_softmax, "ppll", P(0), P(1), L(2), L(3))
ENTRY(attn_weights, "ppll", P(0), P(1), L(2), L(3))
ENTRY(relu_forward, "ppl", P(0), P(1), L(2))
ENTRY(relu_backward, "pppl", P(0), P(1), P(2), L(3))
ENTRY(maxpool2x2, "ppplllll", P(0), P(1), P(2), L(3), L(4), L(5), L(6), L(7))
ENTRY(maxpool_grad, "ppplll", P(0), P(1), P(2), L(3), L(4), L(5))
ENTRY(conv_direct, "ppppllllllllll",
      P(0), P(1), P(2), P(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11), L(12), L(13))
ENTRY(col2im2d, "pplllllllllllll",
      P(0), P(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11), L(12), L(13),
      L(14))
ENTRY(lstm_forward, "pppppppppllpl",
      P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), L(9), L(10), P(11), L(12))
ENTRY(lstm_backward, "pppppppppppllpl",
      P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10), L(11), L(12), P(13),
      L(14))
ENTRY(sgd_step, "ppplddddlll",
      P(0), P(1), P(2), L(3), D(4), D(5), D(6), D(7), L(8), L(9), L(10))
ENTRY(adam_step, "pppppldddddlldd",
      P(0), P(1), P(2), P(3), P(4), L(5), D(6), D(7), D(8), D(9), D(10), L(11), L(12), D(13),
      D(14))

static PyMethodDef methods[] = {
    METHOD(wino_input),
    METHOD(wino_output),
    METHOD(wino_grad),
    METHOD(wino_filter),
    METHOD(wino_filter_grad),
    METHOD(norm_forward),
    METHOD(norm_backward),
    METHOD(affine_forward),
    METHOD(affine_backward),
    METHOD(layer_norm_forward),
    METHOD(layer_norm_backward),
    METHOD(gelu_forward),
    METHOD(gelu_backward),
    METHOD(softmax_forward),
    METHOD(softmax_backward),
    METHOD(attn_softmax),
    METHOD(attn_weights),
    METHOD(relu_forward),
    METHOD(relu_backward),
    METHOD(maxpool2x2),
    METHOD(maxpool_grad),
    METHOD(conv_direct),
    METHOD(col2im2d),
    METHOD(lstm_forward),
    METHOD(lstm_backward),
    METHOD(sgd_step),
    METHOD(adam_step),
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckernels",
                                    "ember's compiled kernels", -1, methods};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&module); }
