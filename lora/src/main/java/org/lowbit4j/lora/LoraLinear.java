package org.lowbit4j.lora;

import java.util.SplittableRandom;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.nn.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen linear layer plus a trainable low-rank update:
 * {@code y = x W^T + s * (dropout(x) A^T) B^T}, with W [out, in] frozen in any {@link BaseFormat},
 * A [r, in], B [out, r] and s = {@link LoraConfig#scale()}.
 *
 * <p>Parameters (the only tensors of this module): {@code lora_A} and {@code lora_B}. The base weight
 * is not a parameter, gets no gradient and no optimizer state; for an NF4 or BF16 base it stays packed
 * and is decoded tile by tile in the forward and input-gradient passes ({@link TiledFrozenLinear}).
 *
 * <p>{@link #merge()} folds the update into the weight the layer computes with (in place for a
 * dense base; for a compressed base it keeps one fp32 merged copy until {@link #unmerge()}), so a
 * merged layer runs as a plain linear.
 */
public final class LoraLinear extends Layer {
    private final FrozenWeight base;
    private final LoraConfig config;
    private final double scale;
    private final SplittableRandom dropoutRng;
    private boolean merged;
    /** For a compressed base while merged: dequantized W + s B A; null otherwise. */
    private DenseWeight mergedCompressed;

    /**
     * @param base the frozen weight [out, in]
     * @param config rank, alpha, dropout, scaling and init
     * @param seed seeds the initialisation of A, then the dropout masks
     */
    public LoraLinear(FrozenWeight base, LoraConfig config, long seed) {
        this.base = base;
        this.config = config;
        this.scale = config.scale();
        DataType dt = base instanceof DenseWeight d && d.array().dataType() == DataType.DOUBLE
                ? DataType.DOUBLE : DataType.FLOAT;
        var rng = new SplittableRandom(seed);
        int r = config.rank();
        int in = base.cols();
        double[] a = new double[r * in];
        switch (config.init()) {
            case KAIMING_UNIFORM -> {
                double bound = 1.0 / Math.sqrt(in);
                for (int i = 0; i < a.length; i++) {
                    a[i] = (2 * rng.nextDouble() - 1) * bound;
                }
            }
            case GAUSSIAN -> {
                double std = 1.0 / r;
                for (int i = 0; i < a.length; i++) {
                    a[i] = gaussian(rng) * std;
                }
            }
        }
        this.dropoutRng = rng.split();
        registerParameter("lora_A", Nd4j.create(a, new long[] {r, in}, 'c').castTo(dt));
        registerParameter("lora_B", Nd4j.zeros(dt, base.rows(), r));
    }

    private static double gaussian(SplittableRandom rng) {
        // Box-Muller on (0, 1] so that log never sees 0.
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** @return the frozen base weight */
    public FrozenWeight base() {
        return base;
    }

    /** @return the adapter configuration */
    public LoraConfig config() {
        return config;
    }

    /** @return s, the factor on B A */
    public double scale() {
        return scale;
    }

    /** @return A [r, in] (trainable) */
    public Tensor loraA() {
        return parameter("lora_A");
    }

    /** @return B [out, r] (trainable, zero at initialisation) */
    public Tensor loraB() {
        return parameter("lora_B");
    }

    /** @return whether the update is folded into the weight */
    public boolean isMerged() {
        return merged;
    }

    /**
     * @param x [..., in]
     * @return [..., out]
     */
    @Override
    public Tensor forward(Tensor x) {
        if (merged) {
            return FrozenLinear.apply(mergedCompressed != null ? mergedCompressed : base, x);
        }
        double p = config.dropout();
        INDArray mask = p > 0 && isTraining() ? dropoutMask(x, p) : null;
        // Under mixed precision the fused op cannot hand its products to the autocast policy, so its input
        // and output are rounded to the working format instead (the identity in fp32).
        Tensor xw = Autocast.castActivation(x);                                         // [..., in]
        Tensor y = new LoraLinearOp(base, scale, mask, FrozenGemm.DEFAULT_TILE_ELEMENTS).apply(xw, loraA(), loraB());
        return Autocast.castActivation(y);                                              // [..., out]
    }

    private INDArray dropoutMask(Tensor x, double p) {
        long n = x.value().length();
        double keep = 1.0 / (1.0 - p);
        double[] m = new double[Math.toIntExact(n)];
        for (int i = 0; i < m.length; i++) {
            m[i] = dropoutRng.nextDouble() < p ? 0.0 : keep;
        }
        return Nd4j.create(m, x.shape(), 'c').castTo(x.dataType());
    }

    /** @return s B A [out, in] as a new array (the adapters' data type) */
    public INDArray delta() {
        INDArray b = loraB().value();
        INDArray a = loraA().value();
        INDArray d = Nd4j.create(a.dataType(), new long[] {b.size(0), a.size(1)}, 'c');
        Gemm.gemm(b, false, a, false, d, scale, 0.0);
        return d;
    }

    /**
     * @return W + s B A [out, in] as a new array, W being the weight the forward pass uses (the
     *     dequantized NF4/BF16 weight for a compressed base); FLOAT, or DOUBLE for a DOUBLE base
     */
    public INDArray mergedWeight() {
        if (merged) {
            return (mergedCompressed != null ? mergedCompressed : base).dequantize();
        }
        INDArray w = base.dequantize();
        Gemm.gemm(loraB().value().castTo(w.dataType()), false, loraA().value().castTo(w.dataType()), false, w,
                scale, 1.0);
        return w;
    }

    /**
     * Folds s B A into the weight used by the forward pass. A dense base is updated in place;
     * a compressed base keeps its packed form and gains one fp32 merged copy.
     *
     * @throws IllegalStateException if already merged
     */
    public void merge() {
        if (merged) {
            throw new IllegalStateException("LoraLinear '" + path() + "' is already merged");
        }
        if (base instanceof DenseWeight d) {
            INDArray w = d.array();
            Gemm.gemm(loraB().value(), false, loraA().value(), false, w, scale, 1.0);
        } else {
            mergedCompressed = new DenseWeight(mergedWeight());
        }
        merged = true;
    }

    /**
     * Undoes {@link #merge()}: subtracts s B A from a dense base (exact up to fp32 rounding), or drops
     * the merged copy of a compressed base (exact).
     *
     * @throws IllegalStateException if not merged
     */
    public void unmerge() {
        if (!merged) {
            throw new IllegalStateException("LoraLinear '" + path() + "' is not merged");
        }
        if (base instanceof DenseWeight d) {
            Gemm.gemm(loraB().value(), false, loraA().value(), false, d.array(), -scale, 1.0);
        }
        mergedCompressed = null;
        merged = false;
    }

    @Override
    public String toString() {
        return "LoraLinear[" + base.rows() + "x" + base.cols() + " " + base.format() + ", r=" + config.rank()
                + ", scale " + scale + (merged ? ", merged" : "") + "]";
    }
}
