package org.lowbit4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.GradientCheck;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.quant.QuantizedTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class LoraLinearTest {
    private static INDArray randn(long seed, DataType dt, double std, long... shape) {
        var rng = new SplittableRandom(seed);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = std * (rng.nextDouble() * 2 - 1) * Math.sqrt(3);
        }
        return Nd4j.create(v, shape, 'c').castTo(dt);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    @Test
    void nf4WeightDecodesBitForBitLikeQuantizedTensor() {
        INDArray w = randn(1, DataType.FLOAT, 0.05, 70, 96);
        Nf4Weight q = Nf4Weight.quantize(w, 64);
        INDArray ref = QuantizedTensor.quantize(w, FourBitCodebook.NF4, 64, true).dequantize();
        assertArrayEquals(ref.data().asFloat(), q.dequantize().data().asFloat());
        // A tile starting mid-block (row 3 * 96 = 288 = 4.5 blocks) decodes the same rows.
        INDArray tile = Nd4j.create(DataType.FLOAT, 7, 96);
        q.decodeRows(3, 7, org.lowbit4j.autograd.formats.Segments.of(tile));
        assertArrayEquals(ref.get(NDArrayIndex.interval(3, 10), NDArrayIndex.all()).dup('c').data().asFloat(),
                tile.data().asFloat());
        assertEquals(QuantizedTensor.quantize(w, FourBitCodebook.NF4, 64, true).sizeInBytes(), q.storageBytes());
        assertThrows(IllegalArgumentException.class, () -> q.decodeRows(65, 6, org.lowbit4j.autograd.formats.Segments.of(tile)));
    }

    @Test
    void nf4StorageIsAtMostHalfAByteAndAHairPerWeight() {
        // stories15M shapes: [288, 288] and [768, 288].
        for (long[] s : new long[][] {{288, 288}, {768, 288}, {288, 768}}) {
            Nf4Weight q = Nf4Weight.quantize(randn(2, DataType.FLOAT, 0.02, s), 64);
            double bpp = (double) q.storageBytes() / q.numel();
            assertTrue(bpp <= 0.52, "NF4 bytes per weight " + bpp);
            assertTrue(bpp >= 0.5, "NF4 bytes per weight " + bpp + " cannot be below 4 bits");
        }
    }

    @Test
    void bf16WeightDecodesLikeTheScalarCodec() {
        INDArray w = randn(3, DataType.FLOAT, 1.0, 5, 33);
        Bf16Weight b = Bf16Weight.encode(w);
        float[] got = b.dequantize().data().asFloat();
        float[] src = w.data().asFloat();
        for (int i = 0; i < src.length; i++) {
            assertEquals(Bf16.decode(Bf16.encode(src[i])), got[i], 0f, "element " + i);
        }
        assertEquals(2L * 5 * 33, b.storageBytes());
    }

    @Test
    void zeroBGivesExactlyTheBaseOutput() {
        INDArray w = randn(4, DataType.FLOAT, 0.1, 24, 40);
        Tensor x = Tensor.constant(randn(5, DataType.FLOAT, 1.0, 2, 3, 40));
        for (BaseFormat f : BaseFormat.values()) {
            FrozenWeight fw = FrozenWeight.of(w, f, 64);
            var layer = new LoraLinear(fw, LoraConfig.defaults(), 7);
            INDArray expected = F.linear(x, Tensor.constant(fw.dequantize())).value();
            assertArrayEquals(expected.data().asFloat(), layer.forward(x).value().data().asFloat(), f.name());
        }
    }

    @Test
    void tiledProductMatchesOneGemmOnTheDequantizedWeight() {
        INDArray w = randn(6, DataType.FLOAT, 0.1, 50, 36);
        Nf4Weight q = Nf4Weight.quantize(w, 64);
        Tensor x = Tensor.parameter(randn(8, DataType.FLOAT, 1.0, 4, 5, 36));
        // Tiles of 7 rows (252 elements): 8 tiles, the last one partial.
        Tensor y = new TiledFrozenLinear(q, 7 * 36).apply(x);
        Tensor xr = Tensor.parameter(x.value().dup());
        Tensor yr = F.linear(xr, Tensor.constant(q.dequantize()));
        assertTrue(maxAbsDiff(y.value(), yr.value()) < 1e-5, "forward differs by " + maxAbsDiff(y.value(), yr.value()));
        INDArray seed = randn(9, DataType.FLOAT, 1.0, 4, 5, 50);
        y.backward(seed);
        yr.backward(seed);
        assertTrue(maxAbsDiff(x.grad(), xr.grad()) < 1e-5, "dx differs by " + maxAbsDiff(x.grad(), xr.grad()));
    }

    @Test
    void nf4InputGradientEqualsTheOneWithTheExplicitlyDequantizedWeight() {
        INDArray w = randn(10, DataType.FLOAT, 0.1, 48, 32);
        Nf4Weight q = Nf4Weight.quantize(w, 64);
        var cfg = LoraConfig.of(4, 8);
        var packed = new LoraLinear(q, cfg, 3);
        var dense = new LoraLinear(new DenseWeight(q.dequantize()), cfg, 3);
        INDArray b = randn(11, DataType.FLOAT, 0.1, 48, 4);
        packed.loraB().value().assign(b);
        dense.loraB().value().assign(b);
        Tensor x1 = Tensor.parameter(randn(12, DataType.FLOAT, 1.0, 3, 6, 32));
        Tensor x2 = Tensor.parameter(x1.value().dup());
        INDArray seed = randn(13, DataType.FLOAT, 1.0, 3, 6, 48);
        packed.forward(x1).backward(seed);
        dense.forward(x2).backward(seed);
        assertEquals(0.0, maxAbsDiff(x1.grad(), x2.grad()), 1e-6);
        assertEquals(0.0, maxAbsDiff(packed.loraA().grad(), dense.loraA().grad()), 1e-6);
        assertEquals(0.0, maxAbsDiff(packed.loraB().grad(), dense.loraB().grad()), 1e-6);
    }

    @Test
    void float64GradientCheckOfAandBandX() {
        INDArray w = randn(14, DataType.DOUBLE, 0.3, 6, 5);
        var layer = new LoraLinear(new DenseWeight(w), LoraConfig.of(3, 6).withInit(LoraConfig.Init.GAUSSIAN), 5);
        layer.loraB().value().assign(randn(15, DataType.DOUBLE, 0.5, 6, 3));
        Tensor x = Tensor.parameter(randn(16, DataType.DOUBLE, 1.0, 2, 4, 5));
        var r = GradientCheck.assertGradients("LoraLinear", () -> layer.forward(x), layer.loraA(), layer.loraB(), x);
        assertTrue(r.maxError() < 1e-6, r.toString());
    }

    @Test
    void frozenBaseGetsNoGradientAndOnlyAdaptersAreParameters() {
        INDArray w = randn(17, DataType.FLOAT, 0.1, 8, 6);
        INDArray before = w.dup();
        var dw = new DenseWeight(w);
        var layer = new LoraLinear(dw, LoraConfig.of(2, 4), 1);
        layer.loraB().value().assign(randn(18, DataType.FLOAT, 0.1, 8, 2));
        Tensor x = Tensor.parameter(randn(19, DataType.FLOAT, 1.0, 3, 6));
        F.sum(layer.forward(x), false).backward();
        assertFalse(dw.tensor().requiresGrad());
        assertNull(dw.tensor().grad());
        assertEquals(List.of(layer.loraA(), layer.loraB()), layer.trainableParameters());
        assertTrue(layer.loraA().grad() != null && layer.loraB().grad() != null);
        assertEquals(before, w);
    }

    @Test
    void mergeThenUnmergeRestoresTheWeightAndMergedOutputMatches() {
        INDArray w = randn(20, DataType.FLOAT, 0.1, 16, 12);
        INDArray original = w.dup();
        Tensor x = Tensor.constant(randn(21, DataType.FLOAT, 1.0, 5, 12));
        for (BaseFormat f : BaseFormat.values()) {
            var layer = new LoraLinear(FrozenWeight.of(f == BaseFormat.FP32 ? w : original, f, 64), LoraConfig.defaults(), 2);
            layer.loraB().value().assign(randn(22, DataType.FLOAT, 0.1, 16, 8));
            INDArray unmerged = layer.forward(x).value().dup();
            layer.merge();
            assertThrows(IllegalStateException.class, layer::merge);
            INDArray merged = layer.forward(x).value();
            assertTrue(maxAbsDiff(unmerged, merged) <= 1e-5, f + ": merged output differs by " + maxAbsDiff(unmerged, merged));
            layer.unmerge();
            assertTrue(maxAbsDiff(unmerged, layer.forward(x).value()) <= 1e-5, f.name());
        }
        assertTrue(maxAbsDiff(original, w) <= 1e-6, "unmerge left " + maxAbsDiff(original, w));
    }

    @Test
    void dropoutOnlyInTrainingAndScaledByKeepProbability() {
        INDArray w = randn(23, DataType.FLOAT, 0.1, 4, 1000);
        var layer = new LoraLinear(new DenseWeight(w), LoraConfig.of(1, 1).withDropout(0.5), 9);
        layer.loraA().value().assign(1.0);
        layer.loraB().value().assign(1.0);
        Tensor x = Tensor.constant(Nd4j.ones(DataType.FLOAT, 1, 1000));
        INDArray base = F.linear(x, Tensor.constant(w)).value();
        layer.eval();
        assertEquals(1000.0, layer.forward(x).value().sub(base).getDouble(0, 0), 1e-2);
        layer.train(true);
        double train = layer.forward(x).value().sub(base).getDouble(0, 0);
        // Each of 1000 inputs kept with p 0.5 and scaled by 2: mean 1000, sd ~ 31.6.
        assertTrue(Math.abs(train - 1000) < 200 && train != 1000.0, "dropout output " + train);
    }

    @Test
    void configValidatesScalesTargetsAndRoundTripsThroughJson() {
        var c = LoraConfig.defaults();
        assertEquals(2.0, c.scale());
        assertEquals(16 / Math.sqrt(8), c.withScaling(LoraConfig.Scaling.RANK_STABILIZED).scale(), 1e-15);
        assertTrue(c.targets("layers.0.attention.wq"));
        assertFalse(c.targets("output"));
        assertFalse(c.targets("layers.0.attention.wqx"));
        assertTrue(c.withTargets(List.of("layers\\.[01]\\..*")).targets("layers.1.feed_forward.w2"));
        assertFalse(c.withTargets(List.of("layers\\.[01]\\..*")).targets("layers.2.feed_forward.w2"));
        var m = new ObjectMapper();
        var custom = new LoraConfig(4, 3.5, 0.1, List.of("wq", "wv"), LoraConfig.Scaling.RANK_STABILIZED,
                LoraConfig.Init.GAUSSIAN);
        assertEquals(custom, LoraConfig.fromJson(custom.toJson(m)));
        var e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(0, 1));
        assertTrue(e.getMessage().contains("rank"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.withDropout(1.0));
        assertThrows(IllegalArgumentException.class, () -> c.withTargets(List.of()));
        var bad = custom.toJson(m).put("scaling", "HALF");
        e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.fromJson(bad));
        assertTrue(e.getMessage().contains("scaling"), e.getMessage());
    }
}
