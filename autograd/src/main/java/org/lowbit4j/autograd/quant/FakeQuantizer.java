package org.lowbit4j.autograd.quant;

import java.util.Arrays;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Quantize-then-dequantize ("fake quantization") in any {@link ElementFormat}, {@link Granularity} and
 * {@link ScaleMethod}. Static use: {@link #calibrate} once (or a {@link Calibrator} over many batches), then
 * {@link #apply(double[], long[], QuantParams)}; dynamic use: {@link #apply(double[], long[])}, which computes the
 * parameters from the tensor itself on every call (per-token activation scales).
 *
 * @param format element format
 * @param granularity which elements share a scale
 * @param scaleMethod how each group's clipping range is chosen
 */
public record FakeQuantizer(ElementFormat format, Granularity granularity, ScaleMethod scaleMethod) {
    /** @throws IllegalArgumentException if any part is null */
    public FakeQuantizer {
        if (format == null || granularity == null || scaleMethod == null) {
            throw new IllegalArgumentException("format, granularity and scale method must all be given");
        }
    }

    /** @return symmetric INT-k with min-max scales per output channel (rows of {@code [out, in]}) */
    public static FakeQuantizer intPerChannel(int bits) {
        return new FakeQuantizer(new ElementFormat.Int(org.lowbit4j.autograd.formats.IntCodec.symmetric(bits)),
                new Granularity.PerChannel(0), new ScaleMethod.MinMax());
    }

    /** @return NF4 with block-wise absmax scaling, as QLoRA stores weights (without double quantization) */
    public static FakeQuantizer nf4(int blockSize) {
        Packed4Codec.checkBlockSize(blockSize);
        return new FakeQuantizer(new ElementFormat.FourBit(org.lowbit4j.autograd.formats.FourBitCodebook.NF4),
                new Granularity.Blockwise(blockSize), new ScaleMethod.MinMax());
    }

    /**
     * Computes parameters from one tensor.
     *
     * @param x values in row-major order
     * @param shape their shape
     * @return one parameter set per group
     * @throws IllegalArgumentException on a length mismatch or a non-finite value where a scale is calibrated
     */
    public QuantParams calibrate(double[] x, long[] shape) {
        var layout = checkedLayout(x.length, shape);
        double[] grouped = new double[x.length];
        for (int i = 0; i < grouped.length; i++) {
            grouped[i] = x[layout.members()[i]];
        }
        var params = new ElementFormat.GroupParams[layout.groups()];
        for (int g = 0; g < params.length; g++) {
            params[g] = scaleMethod.choose(format, grouped, layout.offsets()[g], layout.offsets()[g + 1]);
        }
        return new QuantParams(params);
    }

    Granularity.Layout checkedLayout(int length, long[] shape) {
        var layout = granularity.layout(shape);
        if (layout.members().length != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds "
                    + layout.members().length + " elements, data has " + length);
        }
        return layout;
    }

    /**
     * @param p parameters for this shape (same group count)
     * @return the quantize-dequantized values (a new array)
     * @throws IllegalArgumentException on a length or group-count mismatch
     */
    public double[] apply(double[] x, long[] shape, QuantParams p) {
        var layout = checkedLayout(x.length, shape);
        checkGroups(layout, p);
        double[] y = new double[x.length];
        for (int g = 0; g < layout.groups(); g++) {
            var gp = p.group(g);
            for (int k = layout.offsets()[g]; k < layout.offsets()[g + 1]; k++) {
                int e = layout.members()[k];
                y[e] = format.quantizeDequantize(x[e], gp);
            }
        }
        return y;
    }

    /** Dynamic quantization: {@code apply(x, shape, calibrate(x, shape))}. */
    public double[] apply(double[] x, long[] shape) {
        return apply(x, shape, calibrate(x, shape));
    }

    /**
     * @return for each element, whether it lies inside its group's representable range (the LLM-QAT mask)
     */
    public boolean[] inRange(double[] x, long[] shape, QuantParams p) {
        var layout = checkedLayout(x.length, shape);
        checkGroups(layout, p);
        boolean[] m = new boolean[x.length];
        for (int g = 0; g < layout.groups(); g++) {
            var gp = p.group(g);
            double lo = format.rangeLow(gp);
            double hi = format.rangeHigh(gp);
            for (int k = layout.offsets()[g]; k < layout.offsets()[g + 1]; k++) {
                int e = layout.members()[k];
                m[e] = x[e] >= lo && x[e] <= hi;
            }
        }
        return m;
    }

    private static void checkGroups(Granularity.Layout layout, QuantParams p) {
        if (p.size() != layout.groups()) {
            throw new IllegalArgumentException("parameters hold " + p.size() + " groups, this tensor has "
                    + layout.groups());
        }
    }

    /**
     * ND4J convenience: fake-quantizes an array of any floating type.
     *
     * @param p static parameters, or null for dynamic ones
     * @return a new C-ordered array of the same shape and data type
     */
    public INDArray apply(INDArray x, QuantParams p) {
        double[] v = values(x);
        double[] y = p == null ? apply(v, x.shape()) : apply(v, x.shape(), p);
        return toArray(y, x.shape(), x.dataType());
    }

    static double[] values(INDArray x) {
        return x.dup('c').data().asDouble();
    }

    static INDArray toArray(double[] y, long[] shape, DataType type) {
        INDArray out = shape.length == 0 ? Nd4j.scalar(y[0]) : Nd4j.create(y, shape, 'c');
        return type == DataType.DOUBLE ? out : out.castTo(type);
    }
}
