package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Bf16;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The bf16 attention against the float64 attention on the same bf16-rounded inputs (what the BF16 autocast
 * composition computes, without the extra P and dS roundings): outputs and all three gradients within a few bf16
 * ulps of the largest value, every output a bf16 value, on each bf16 GEMM route (oneDNN's matmul primitive, the
 * gemm entry point per matrix, the widening fallback).
 */
class Bf16CausalAttentionTest {
    @AfterAll
    static void restore() {
        Gemm.useBf16Backend("auto", 0);
    }

    static INDArray randn(Random rnd, DataType type, long... shape) {
        INDArray x = Nd4j.create(type, shape);
        for (long i = 0; i < x.length(); i++) {
            x.putScalar(i, Bf16.round((float) rnd.nextGaussian()));
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(strings = {"onednn", "onednn-gemm", "fallback"})
    void matchesFloat64AttentionOnRoundedInputs(String route) {
        String described = Gemm.useBf16Backend(route, 0);
        if (!route.equals("fallback") && !described.startsWith("oneDNN")) {
            org.junit.jupiter.api.Assumptions.abort("oneDNN not installed: " + described);
        }
        Random rnd = new Random(41);
        long[] shape = {2, 9, 3, 8};
        INDArray q = randn(rnd, DataType.FLOAT, shape);
        INDArray k = randn(rnd, DataType.FLOAT, shape);
        INDArray v = randn(rnd, DataType.FLOAT, shape);
        INDArray g = randn(rnd, DataType.FLOAT, shape);
        Tensor[] in = {Tensor.parameter(q.dup()), Tensor.parameter(k.dup()), Tensor.parameter(v.dup())};
        Tensor out = new Bf16CausalAttention().apply(in);
        out.backward(g.dup());
        Tensor[] ref = {Tensor.parameter(q.castTo(DataType.DOUBLE)), Tensor.parameter(k.castTo(DataType.DOUBLE)),
            Tensor.parameter(v.castTo(DataType.DOUBLE))};
        Tensor refOut = new CausalAttention().apply(ref);
        refOut.backward(g.castTo(DataType.DOUBLE));
        assertClose("output", refOut.value(), out.value());
        for (int i = 0; i < 3; i++) {
            assertClose("gradient " + "qkv".charAt(i), ref[i].grad(), in[i].grad());
        }
    }

    /** Within 3% of the largest magnitude (P and dS carry one bf16 rounding more than the reference), all bf16 values. */
    static void assertClose(String what, INDArray want, INDArray got) {
        assertEquals(DataType.FLOAT, got.dataType());
        double scale = want.amaxNumber().doubleValue();
        assertTrue(scale > 0.1, what + " is not trivial");
        for (long i = 0; i < want.length(); i++) {
            double w = want.getDouble(i);
            float x = got.getFloat(i);
            assertEquals(Bf16.round(x), x, what + " element " + i + " is not a bf16 value");
            assertEquals(w, x, 0.03 * scale, what + " element " + i);
        }
    }

    @org.junit.jupiter.api.Test
    void rejectsGroupedHeadsAndOtherTypes() {
        Tensor q = Tensor.parameter(Nd4j.create(DataType.FLOAT, 1, 4, 4, 8));
        Tensor k = Tensor.parameter(Nd4j.create(DataType.FLOAT, 1, 4, 2, 8));
        var e = assertThrows(IllegalArgumentException.class, () -> new Bf16CausalAttention().apply(q, k, k));
        assertTrue(e.getMessage().contains("[1, 4, 2, 8]"), e.getMessage());
        Tensor d = Tensor.parameter(Nd4j.create(DataType.DOUBLE, 1, 4, 4, 8));
        assertThrows(IllegalArgumentException.class, () -> new Bf16CausalAttention().apply(d, d, d));
    }
}
