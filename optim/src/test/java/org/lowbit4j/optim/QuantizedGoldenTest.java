package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Pins the exact numerics of the quantized AdamW steps: CRC32s of the parameters and of the saved state after
 * 12 steps, recorded from the implementation before the speed work of issue 5 (binary-search-equivalent
 * encoders, Math.max/Math.min lanes). Any change to the kernels that alters a single bit fails here.
 *
 * <p>The shapes cover rank-1 and block-wise 4-bit layouts, rows that straddle blocks, odd lengths and tails;
 * the "special" runs add +Inf, 1e30 (an infinite square), -0, a subnormal and, later, a NaN gradient, so the
 * NaN fallbacks of the vector kernels are exercised as well.
 */
class QuantizedGoldenTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({
        "8, 1, false, 0e83deaf, c83fbc91",
        "8, 2, false, 0e83deaf, c83fbc91",
        "8, 1, true,  f52c5c06, 56145cc6",
        "8, 2, true,  f52c5c06, 56145cc6",
        "8plain, 1, false, 4c1576ae, 5235e729",
        "8plain, 2, false, 4c1576ae, 5235e729",
        "8plain, 1, true,  a4697cba, cc1e077e",
        "8plain, 2, true,  a4697cba, cc1e077e",
        "4, 1, false, db8a5f2a, 9faaaa4c",
        "4, 2, false, db8a5f2a, 9faaaa4c",
        "4, 1, true,  63eb2bf6, b39f6ae1",
        "4, 2, true,  63eb2bf6, b39f6ae1",
    })
    void twelveStepsGiveTheRecordedBits(String kind, int threads, boolean special, String paramsCrc, String stateCrc)
            throws IOException {
        Random r = new Random(7);
        long[][] shapes = {{1000, 288}, {288, 768}, {64, 129}, {5000}, {288}, {3, 4099}, {77, 131}};
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            int n = (int) Arrays.stream(shapes[i]).reduce(1, (x, y) -> x * y);
            float[] v = new float[n];
            for (int k = 0; k < n; k++) {
                v[k] = (float) (r.nextGaussian() * 0.02);
            }
            ps.add(Tensor.parameter(Nd4j.create(v, shapes[i], 'c')).named("p" + i));
        }
        AdamWConfig cfg = AdamWConfig.DEFAULTS.withLr(1e-3);
        QuantConfig q = QuantConfig.DEFAULTS.withMinQuantizedSize(100);
        UpdateOptions opts = UpdateOptions.DEFAULTS.withThreads(threads);
        Optimizer o = switch (kind) {
            case "8" -> new AdamW8bit(ps, cfg, q, opts);
            case "8plain" -> new AdamW8bit(ps, cfg, q.withNonzeroSecondMoment(false), opts);
            default -> new AdamW4bit(ps, cfg, q, opts);
        };
        for (int step = 0; step < 12; step++) {
            for (Tensor t : ps) {
                int n = (int) t.value().length();
                float[] g = new float[n];
                double scale = Math.pow(10, -5 + r.nextInt(5));
                for (int k = 0; k < n; k++) {
                    g[k] = (float) (r.nextGaussian() * scale * (r.nextInt(10) == 0 ? 0 : 1));
                }
                if (special && step == 6) {
                    g[3] = Float.POSITIVE_INFINITY;
                    g[n / 2] = 1e30f;
                    g[n - 1] = -0f;
                    g[5] = 1e-40f;
                }
                if (special && step == 9) {
                    g[7] = Float.NaN;
                }
                t.setGrad(Nd4j.create(g, t.value().shape(), 'c'));
            }
            o.step();
        }
        CRC32 crc = new CRC32();
        for (Tensor t : ps) {
            for (float f : t.value().dup().data().asFloat()) {
                int b = Float.floatToRawIntBits(f);
                crc.update(new byte[] {(byte) b, (byte) (b >> 8), (byte) (b >> 16), (byte) (b >> 24)});
            }
        }
        Path file = dir.resolve("state.bin");
        o.save(file);
        CRC32 state = new CRC32();
        state.update(Files.readAllBytes(file));
        assertEquals(paramsCrc + " " + stateCrc, String.format("%08x %08x", crc.getValue(), state.getValue()),
                "CRC32 of the parameters and of the state file");
    }
}
